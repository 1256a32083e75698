//! The Python syntax tree: parsing (bounded), and the shapes the patcher looks for in it (the
//! app's creation, an app factory, a class's method, module-level statements, imports).

use tree_sitter::{Node, Parser, Tree};

use crate::patch::text::{line_number, next_line_start};
use crate::patch::ParseError;

pub(super) fn parser() -> Parser {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled Python grammar matches tree-sitter's ABI");
    p
}

/// The largest Python module o11y parses: 2 MB, some 50,000 lines, twenty times the largest
/// hand-written Flask module we have seen. The syntax tree of a module takes about 50 bytes
/// for each byte of it, so this bound is what keeps a plan's memory near 100 MB.
pub const MAX_PARSE: usize = 2_000_000;

/// A syntax tree that gives its memory back to the system when dropped, if it was a big one:
/// a later tree is often built on another thread, whose allocator arena would otherwise grow
/// beside this one's free space.
pub(super) struct Parsed {
    tree: Option<Tree>,
    big: bool,
}

impl std::ops::Deref for Parsed {
    type Target = Tree;
    fn deref(&self) -> &Tree {
        self.tree.as_ref().expect("a tree until dropped")
    }
}

impl Drop for Parsed {
    fn drop(&mut self) {
        // The tree is freed first, then the space it held goes back.
        drop(self.tree.take());
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if self.big {
            // SAFETY: malloc_trim only releases free memory; it has no preconditions.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }
}

pub(super) fn parse(text: &str) -> Result<Parsed, ParseError> {
    if text.len() > MAX_PARSE {
        return Err(ParseError::new(1, too_large(text.len())));
    }
    if text.contains('\0') {
        return Err(ParseError::new(1, "the file holds binary data, not Python"));
    }
    let tree = parser()
        .parse(text, None)
        .ok_or_else(|| ParseError::new(1, "the Python parser gave up on this file"))?;
    if tree.root_node().has_error() {
        let line = first_error(tree.root_node()).map_or(1, |n| n.start_position().row + 1);
        return Err(ParseError::new(line, "this is not valid Python"));
    }
    Ok(Parsed {
        tree: Some(tree),
        big: text.len() > 256 * 1024,
    })
}

pub(super) fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() || child.is_error() || child.is_missing() {
            if let Some(n) = first_error(child) {
                return Some(n);
            }
        }
    }
    None
}

/// What a module past [`MAX_PARSE`] is told.
pub fn too_large(len: usize) -> String {
    format!(
        "the file is {:.1} MB, and o11y reads Python modules of up to {} MB (about 50,000 lines); split it into smaller modules, or add o11y's blocks by hand",
        len as f64 / 1e6,
        MAX_PARSE / 1_000_000
    )
}

/// Whether `text` parses as Python with no error node.
pub fn check(text: &str) -> Result<(), ParseError> {
    parse(text).map(|_| ())
}

/// The `return` a function's last statement takes: the statement itself, or the last one of
/// the `with` blocks it sits in.
pub(super) fn taken_return(last: Node) -> Option<Node> {
    match last.kind() {
        "return_statement" => Some(last),
        "with_statement" => {
            let body = last.child_by_field_name("body")?;
            let inner = named_children(body)
                .filter(|n| n.kind() != "comment")
                .last()?;
            taken_return(inner)
        }
        _ => None,
    }
}

/// Module-level statements. Column 0 is required too: tree-sitter's error recovery can hoist
/// an indented statement to the module when comments are indented oddly.
pub(super) fn top_level<'t>(root: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    named_children(root).filter(|n| n.start_position().column == 0)
}

pub(super) fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    (0..node.named_child_count()).filter_map(move |i| node.named_child(i))
}

pub(super) fn node_text<'a>(n: Node, text: &'a str) -> &'a str {
    &text[n.start_byte()..n.end_byte()]
}

pub(super) fn is_docstring(n: Node) -> bool {
    n.named_child(0).is_some_and(|c| c.kind() == "string")
}

/// Offset after a module docstring, or 0.
pub(super) fn docstring_end(root: Node, text: &str) -> usize {
    match top_level(root).find(|n| n.kind() != "comment") {
        Some(n) if n.kind() == "expression_statement" && is_docstring(n) => {
            next_line_start(text, n.end_byte())
        }
        _ => 0,
    }
}

/// The module-level `app = Flask(...)` statement.
pub(super) fn app_creation<'t>(root: Node<'t>, text: &str) -> Option<Node<'t>> {
    top_level(root).find(|n| assigns_app(*n, text))
}

/// Whether `n` is the statement `app = Flask(...)`.
pub(super) fn assigns_app(n: Node, text: &str) -> bool {
    if n.kind() != "expression_statement" {
        return false;
    }
    let Some(assign) = n.named_child(0).filter(|a| a.kind() == "assignment") else {
        return false;
    };
    let left = assign
        .child_by_field_name("left")
        .map(|l| node_text(l, text));
    let right = assign.child_by_field_name("right");
    left == Some("app")
        && right.is_some_and(|r| {
            r.kind() == "call"
                && r.child_by_field_name("function")
                    .map(|f| node_text(f, text))
                    .is_some_and(|f| f == "Flask" || f.ends_with(".Flask"))
        })
}

/// An app factory: a module-level function whose body assigns `app = Flask(...)` and ends in
/// `return app`; with that assignment.
pub(super) fn factory_app<'t>(root: Node<'t>, text: &str) -> Option<(Node<'t>, Node<'t>)> {
    top_level(root).find_map(|n| {
        let f = if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")?
        } else {
            n
        };
        if f.kind() != "function_definition" {
            return None;
        }
        let body = f.child_by_field_name("body")?;
        let stmts: Vec<Node> = named_children(body)
            .filter(|c| c.kind() != "comment")
            .collect();
        if stmts.first()?.start_position().row == f.start_position().row {
            return None;
        }
        let assign = stmts.iter().copied().find(|s| assigns_app(*s, text))?;
        let ret = taken_return(*stmts.last()?)?;
        let returns_app = named_children(ret)
            .find(|c| c.kind() != "comment")
            .is_some_and(|c| node_text(c, text) == "app");
        returns_app.then_some((f, assign))
    })
}

/// The indentation of a statement in a function's body, and one indentation unit of the file.
pub(super) fn body_indent(text: &str, func: Node, stmt: Node) -> (String, String) {
    let base = crate::patch::text::indent_at(text, stmt.start_byte()).to_string();
    let def_indent = crate::patch::text::indent_at(text, func.start_byte()).to_string();
    let unit = base
        .strip_prefix(def_indent.as_str())
        .filter(|u| !u.is_empty())
        .unwrap_or("    ")
        .to_string();
    (base, unit)
}

pub(super) fn is_factory(root: Node, text: &str) -> bool {
    top_level(root).any(|n| {
        let f = if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")
        } else {
            Some(n)
        };
        f.is_some_and(|f| {
            f.kind() == "function_definition" && node_text(f, text).contains("Flask(")
        })
    })
}

pub(super) fn find_method<'t>(
    root: Node<'t>,
    text: &str,
    class: &str,
    method: &str,
) -> Option<Node<'t>> {
    let unwrap = |n: Node<'t>| {
        if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")
        } else {
            Some(n)
        }
    };
    let named = |n: &Node, name: &str| {
        n.child_by_field_name("name")
            .is_some_and(|x| node_text(x, text) == name)
    };
    let cls = top_level(root)
        .filter_map(unwrap)
        .find(|n| n.kind() == "class_definition" && named(n, class))?;
    let body = cls.child_by_field_name("body")?;
    named_children(body)
        .filter_map(unwrap)
        .find(|n| n.kind() == "function_definition" && named(n, method))
}

/// 1-based line of an offset, for messages.
pub fn line_of(text: &str, offset: usize) -> usize {
    line_number(text, offset)
}

/// A module-level or nested import: how many leading dots (0 for absolute), the module path,
/// and the names imported from it (`from m import a, b`; empty for `import m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub dots: usize,
    pub module: String,
    pub names: Vec<String>,
}

/// Every import statement of a file, in order. A file that does not parse has none.
pub fn imports(text: &str) -> Vec<Import> {
    let Ok(tree) = parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "import_statement" => {
                for c in named_children(n) {
                    let name = match c.kind() {
                        "aliased_import" => c.child_by_field_name("name"),
                        "dotted_name" => Some(c),
                        _ => None,
                    };
                    if let Some(name) = name {
                        out.push((
                            n.start_byte(),
                            Import {
                                dots: 0,
                                module: node_text(name, text).to_string(),
                                names: Vec::new(),
                            },
                        ));
                    }
                }
            }
            "import_from_statement" => {
                let Some(m) = n.child_by_field_name("module_name") else {
                    continue;
                };
                let raw = node_text(m, text);
                let dots = raw.chars().take_while(|c| *c == '.').count();
                let module = raw[dots..].trim().to_string();
                let mut names = Vec::new();
                let mut cursor = n.walk();
                for c in n.children_by_field_name("name", &mut cursor) {
                    let c = if c.kind() == "aliased_import" {
                        c.child_by_field_name("name").unwrap_or(c)
                    } else {
                        c
                    };
                    names.push(node_text(c, text).to_string());
                }
                out.push((
                    n.start_byte(),
                    Import {
                        dots,
                        module,
                        names,
                    },
                ));
            }
            _ => stack.extend(named_children(n)),
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, i)| i).collect()
}

/// Whether the file creates a Flask app with `Flask(__name__)` anywhere (module level or in a
/// factory function).
pub fn creates_flask_app(text: &str) -> bool {
    text.lines().any(|l| {
        let code = l.split('#').next().unwrap_or("");
        code.contains("Flask(__name__")
    })
}

/// The encoding a Python file declares other than UTF-8, and the line that declares it: a
/// PEP 263 coding line (`# -*- coding: latin-1 -*-`) on line 1 or 2.
pub fn declared_encoding(bytes: &[u8]) -> Option<(String, usize)> {
    static CODING: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let re = CODING.get_or_init(|| {
        regex::bytes::Regex::new(r"^[ \t\x0c]*#.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)")
            .expect("a valid pattern")
    });
    for (n, line) in bytes.split(|b| *b == b'\n').take(2).enumerate() {
        if let Some(c) = re.captures(line) {
            let name = String::from_utf8_lossy(&c[1])
                .to_ascii_lowercase()
                .replace('_', "-");
            return (!matches!(name.as_str(), "utf-8" | "utf8" | "utf-8-sig"))
                .then_some((name, n + 1));
        }
    }
    None
}

#[cfg(test)]
mod encoding_tests {
    use super::declared_encoding;

    #[test]
    fn a_coding_line_on_line_one_or_two_names_the_encoding() {
        assert_eq!(
            declared_encoding(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n"),
            Some(("latin-1".into(), 1))
        );
        assert_eq!(
            declared_encoding(b"#!/usr/bin/env python\n# vim: set fileencoding=ISO_8859_1 :\n"),
            Some(("iso-8859-1".into(), 2))
        );
        assert_eq!(declared_encoding(b"# coding: utf-8\n"), None);
        // Python reads a coding line on lines 1 and 2 only.
        assert_eq!(declared_encoding(b"\n\n# coding: latin-1\n"), None);
    }
}
