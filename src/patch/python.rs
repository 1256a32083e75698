//! Python files (app.py and the services): adds and removes the blocks integrations own.
//!
//! tree-sitter-python finds where a block goes (after the imports, after `app = Flask(...)`,
//! beside the routes, inside a method); the block is inserted as whole lines between marker
//! comments, so the next run recognises it. Code a student wrote by hand is never rewritten:
//! complete hand-made setups are left alone, incomplete ones get a manual step instead.

use tree_sitter::{Node, Parser, Tree};

use super::text::{
    eol_of, insert_lines, line_number, line_start, lines_with_offsets, next_line_start,
};
use super::{ManualStep, ParseError};
use crate::integrations::{Anchor, HandMade, Integration, PyBlock, PyFile};

const BEGIN: &str = "# >>> o11y:";
const END: &str = "# <<< o11y:";

/// A block that o11y wrote earlier, found by its markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub integration: Integration,
    pub part: String,
    /// Line start of the begin marker.
    pub start: usize,
    /// Line start after the end marker (or the end of the text).
    pub end: usize,
}

/// What a file looks like for one integration, outside o11y's own blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandState {
    /// Nothing by hand.
    None,
    /// Complete and without known flaws: left as it is.
    Done,
    /// Started by hand but incomplete or flawed: the reason.
    Partial(String),
}

/// The result of patching one Python file.
#[derive(Debug, Clone, Default)]
pub struct PyOutcome {
    pub text: String,
    pub manual: Vec<ManualStep>,
    /// Integrations found complete by hand, left as they are.
    pub hand_done: Vec<Integration>,
}

/// Values the templates may use: `{service}`, `{now}`, `{result}`, `{datetime_import}`,
/// `{os_import}`.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub service: &'a str,
}

fn parser() -> Parser {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled Python grammar matches tree-sitter's ABI");
    p
}

fn parse(text: &str) -> Result<Tree, ParseError> {
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
    Ok(tree)
}

fn first_error(node: Node) -> Option<Node> {
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

/// Whether `text` parses as Python with no error node.
pub fn check(text: &str) -> Result<(), ParseError> {
    parse(text).map(|_| ())
}

/// The o11y blocks of a file.
pub fn blocks(text: &str) -> Result<Vec<Found>, ParseError> {
    let mut out = Vec::new();
    let mut open: Option<(Integration, String, usize, usize)> = None;
    for (n, (at, line)) in lines_with_offsets(text).enumerate() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix(BEGIN) {
            if let Some((_, _, _, l)) = open {
                return Err(ParseError::new(
                    l,
                    "an o11y block starts here but never ends; restore its `# <<< o11y:` line or delete the block",
                ));
            }
            let (i, part) = split_marker(rest, n + 1)?;
            open = Some((i, part, at, n + 1));
        } else if let Some(rest) = t.strip_prefix(END) {
            let (i, part) = split_marker(rest, n + 1)?;
            match open.take() {
                Some((oi, op, start, _)) if oi == i && op == part => out.push(Found {
                    integration: i,
                    part,
                    start,
                    end: at + line.len(),
                }),
                _ => {
                    return Err(ParseError::new(
                        n + 1,
                        "this o11y end marker has no matching start; delete the line or restore the block",
                    ))
                }
            }
        }
    }
    if let Some((_, _, _, l)) = open {
        return Err(ParseError::new(
            l,
            "an o11y block starts here but never ends; restore its `# <<< o11y:` line or delete the block",
        ));
    }
    Ok(out)
}

fn split_marker(rest: &str, line: usize) -> Result<(Integration, String), ParseError> {
    let mut it = rest.splitn(2, ':');
    let name = it.next().unwrap_or("");
    let part = it.next().unwrap_or("").trim().to_string();
    let i = name
        .parse::<Integration>()
        .map_err(|_| ParseError::new(line, format!("unknown o11y marker `{name}`")))?;
    Ok((i, part))
}

/// The file's code outside o11y blocks, without comments: what a student wrote.
fn hand_written(text: &str, found: &[Found]) -> String {
    let mut s = String::new();
    for (at, line) in lines_with_offsets(text) {
        if found.iter().any(|b| at >= b.start && at < b.end) {
            continue;
        }
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        s.push_str(code.split(" #").next().unwrap_or(code));
    }
    s
}

/// How a student's own code stands for an integration, per its `HandMade` rule.
pub fn hand_state(text: &str, rule: &HandMade) -> Result<HandState, ParseError> {
    let found = blocks(text)?;
    let own = hand_written(text, &found);
    if !rule.mentions.iter().any(|m| own.contains(m)) {
        return Ok(HandState::None);
    }
    if let Some((_, why)) = rule.flaws.iter().find(|(p, _)| own.contains(p)) {
        return Ok(HandState::Partial(format!("the hand-made setup {why}")));
    }
    if rule.complete.iter().all(|c| own.contains(c)) {
        Ok(HandState::Done)
    } else {
        Ok(HandState::Partial(format!(
            "it was started by hand (`{}` is there) but is missing {}",
            rule.mentions
                .iter()
                .find(|m| own.contains(*m))
                .unwrap_or(&""),
            rule.complete
                .iter()
                .filter(|c| !own.contains(*c))
                .map(|c| format!("`{}`", c.trim_end_matches('(')))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// One integration's wish for this file.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    pub integration: Integration,
    pub blocks: &'a [PyBlock],
    pub hand_made: Option<&'a HandMade>,
}

/// Adds the missing blocks of `want` and removes every block of `remove`.
pub fn patch(
    text: &str,
    file: PyFile,
    path: &str,
    want: &[Want],
    remove: &[Integration],
    ctx: &Context,
) -> Result<PyOutcome, ParseError> {
    let outcome = patch_once(text, file, path, want, remove, ctx)?;
    // A second pass must find nothing to do; if it would, the file is shaped so that o11y
    // cannot tell reliably where its blocks belong, and it changes nothing.
    if outcome.text != text {
        let again = patch_once(&outcome.text, file, path, want, remove, ctx)?;
        if again.text != outcome.text {
            return Err(ParseError::new(
                1,
                "o11y cannot tell reliably where its code goes in this file; add the blocks by hand (`o11y plan --only NAME` on a copy shows them)",
            ));
        }
    }
    Ok(outcome)
}

fn patch_once(
    text: &str,
    file: PyFile,
    path: &str,
    want: &[Want],
    remove: &[Integration],
    ctx: &Context,
) -> Result<PyOutcome, ParseError> {
    parse(text)?;
    let mut out = text.to_string();
    // Take out the blocks of switched-off integrations, bottom up.
    for b in blocks(&out)?.into_iter().rev() {
        if remove.contains(&b.integration) {
            out = super::text::remove_lines(&out, b.start, b.end);
        }
    }
    let mut outcome = PyOutcome::default();
    let mut wants: Vec<&Want> = want.iter().collect();
    wants.sort_by_key(|w| w.integration);
    for w in wants {
        let state = match w.hand_made {
            Some(rule) => hand_state(&out, rule)?,
            None => HandState::None,
        };
        let present: Vec<String> = blocks(&out)?
            .into_iter()
            .filter(|b| b.integration == w.integration)
            .map(|b| b.part)
            .collect();
        let missing: Vec<&PyBlock> = w
            .blocks
            .iter()
            .filter(|b| b.file == file && !present.iter().any(|p| p == b.part))
            .collect();
        match state {
            HandState::Done => {
                outcome.hand_done.push(w.integration);
                continue;
            }
            HandState::Partial(reason) => {
                // One step for the whole integration: the student's code needs a look as a whole.
                if !missing.is_empty() {
                    let vars = Vars::of(&out, ctx, None);
                    let mut snippet = String::new();
                    for b in &missing {
                        snippet.push_str(&format!("# {}:\n", b.anchor.describe()));
                        snippet.push_str(&render(b.template, &vars, "", "    ", "\n"));
                    }
                    outcome.manual.push(ManualStep {
                        file: path.to_string(),
                        integration: w.integration.name().to_string(),
                        reason: reason.clone(),
                        place: format!(
                            "fix the hand-made {} code, or replace it with o11y's blocks below",
                            w.integration.title()
                        ),
                        snippet,
                    });
                }
                continue;
            }
            HandState::None => {}
        }
        for b in missing {
            match place(&out, w.integration, b, ctx)? {
                Ok(next) => out = next,
                Err(reason) => {
                    outcome
                        .manual
                        .push(manual(path, w.integration, b, &out, ctx, &reason))
                }
            }
        }
    }
    if out != text {
        if let Err(e) = parse(&out) {
            return Err(ParseError::new(
                e.line,
                "o11y's edit would leave this file invalid, so it was not made; please report this file",
            ));
        }
    }
    outcome.text = out;
    Ok(outcome)
}

fn manual(
    path: &str,
    integration: Integration,
    block: &PyBlock,
    text: &str,
    ctx: &Context,
    reason: &str,
) -> ManualStep {
    let vars = Vars::of(text, ctx, None);
    ManualStep {
        file: path.to_string(),
        integration: integration.name().to_string(),
        reason: reason.to_string(),
        place: block.anchor.describe(),
        snippet: render(block.template, &vars, "", "    ", "\n"),
    }
}

struct Vars {
    service: String,
    now: String,
    datetime_import: Option<String>,
    /// `import os`, unless the code outside o11y's blocks imports it already.
    os_import: Option<String>,
    result: Option<String>,
}

impl Vars {
    fn of(text: &str, ctx: &Context, result: Option<String>) -> Vars {
        let module = text
            .lines()
            .any(|l| l.trim_end() == "import datetime" || l.starts_with("import datetime "));
        let both = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("from datetime import")
                && l.contains(" datetime")
                && l.contains("timezone")
                && !l.contains(" as ")
        });
        let (now, datetime_import) = if module {
            (
                "datetime.datetime.now(datetime.timezone.utc).isoformat()",
                None,
            )
        } else if both {
            ("datetime.now(timezone.utc).isoformat()", None)
        } else {
            (
                "datetime.now(timezone.utc).isoformat()",
                Some("from datetime import datetime, timezone".to_string()),
            )
        };
        let mut outside = true;
        let imports_os = text.lines().any(|l| {
            let t = l.trim_start();
            if t.starts_with(BEGIN) {
                outside = false;
            } else if t.starts_with(END) {
                outside = true;
                return false;
            }
            outside && (l.trim_end() == "import os" || l.starts_with("import os "))
        });
        Vars {
            service: ctx.service.to_string(),
            now: now.to_string(),
            datetime_import,
            os_import: (!imports_os).then(|| "import os".to_string()),
            result,
        }
    }
}

/// Fills a template: placeholders replaced, lines whose placeholder has no value dropped,
/// indented by `base` with `unit` for each of the template's 4-space levels.
fn render(template: &str, v: &Vars, base: &str, unit: &str, eol: &str) -> String {
    let mut s = String::new();
    for line in template.trim_end_matches('\n').split('\n') {
        let mut l = line
            .replace("{service}", &v.service)
            .replace("{now}", &v.now);
        for (key, val) in [
            ("{result}", &v.result),
            ("{datetime_import}", &v.datetime_import),
            ("{os_import}", &v.os_import),
        ] {
            if l.contains(key) {
                match val {
                    Some(val) => l = l.replace(key, val),
                    None => l.clear(),
                }
            }
        }
        if l.is_empty() && line.contains('{') {
            continue;
        }
        if l.is_empty() {
            s.push_str(eol);
            continue;
        }
        let body = l.trim_start_matches(' ');
        let levels = (l.len() - body.len()) / 4;
        s.push_str(base);
        for _ in 0..levels {
            s.push_str(unit);
        }
        s.push_str(body);
        s.push_str(eol);
    }
    s
}

fn wrap(integration: Integration, part: &str, body: &str, base: &str, eol: &str) -> String {
    format!("{base}{BEGIN}{integration}:{part}{eol}{body}{base}{END}{integration}:{part}{eol}")
}

/// Where `block` goes in `text`: Ok(new text), or Err(reason) when there is no safe place.
fn place(
    text: &str,
    integration: Integration,
    block: &PyBlock,
    ctx: &Context,
) -> Result<Result<String, String>, ParseError> {
    let tree = parse(text)?;
    let root = tree.root_node();
    let found = blocks(text)?;
    let eol = eol_of(text);
    let inside = |offset: usize| found.iter().find(|b| offset >= b.start && offset < b.end);
    // Past the blocks that sit at `at` and come earlier in o11y's order.
    let skip_earlier = |mut at: usize| {
        while let Some(b) = found
            .iter()
            .find(|b| b.start == at && b.integration < integration)
        {
            at = b.end;
        }
        at
    };
    let vars = Vars::of(text, ctx, None);
    let module_block = |at: usize| {
        let body = render(block.template, &vars, "", "    ", eol);
        insert_lines(
            text,
            at,
            &wrap(integration, block.part, &body, "", eol),
            eol,
        )
    };
    match block.anchor {
        Anchor::AfterImports => {
            let app_at = app_creation(root, text).map(|n| n.start_byte());
            let last_import = top_level(root)
                .filter(|n| {
                    matches!(
                        n.kind(),
                        "import_statement" | "import_from_statement" | "future_import_statement"
                    )
                })
                .filter(|n| inside(n.start_byte()).is_none())
                .filter(|n| app_at.is_none_or(|a| n.end_byte() <= a))
                .last();
            let at = match last_import {
                Some(n) => next_line_start(text, n.end_byte()),
                None => docstring_end(root, text),
            };
            Ok(Ok(module_block(skip_earlier(at))))
        }
        Anchor::AfterAppCreated => match app_creation(root, text) {
            Some(n) => Ok(Ok(module_block(skip_earlier(next_line_start(text, n.end_byte()))))),
            None if is_factory(root, text) => Ok(Err(
                "app.py builds the app in a factory function (`create_app()`), where o11y cannot tell the right place"
                    .into(),
            )),
            None => Ok(Err("app.py has no module-level `app = Flask(__name__)`".into())),
        },
        Anchor::BesideRoutes => {
            if app_creation(root, text).is_none() {
                return Ok(Err("app.py has no module-level `app = Flask(__name__)`".into()));
            }
            let at = top_level(root)
                .find(|n| n.kind() == "if_statement" && node_text(*n, text).contains("__name__"))
                .map_or(text.len(), |n| line_start(text, n.start_byte()));
            Ok(Ok(module_block(at)))
        }
        Anchor::BodyStart { class, method } | Anchor::BeforeReturn { class, method } => {
            let Some(func) = find_method(root, text, class, method) else {
                return Ok(Err(format!("there is no `{class}.{method}` in this file")));
            };
            let Some(body) = func.child_by_field_name("body") else {
                return Ok(Err(format!("`{class}.{method}` has no body")));
            };
            let stmts: Vec<Node> = named_children(body).filter(|n| n.kind() != "comment").collect();
            let (Some(first), Some(last)) = (stmts.first(), stmts.last()) else {
                return Ok(Err(format!("`{class}.{method}` has no body")));
            };
            if first.start_position().row == func.start_position().row {
                return Ok(Err(format!("`{class}.{method}` is written on one line")));
            }
            let base = super::text::indent_at(text, first.start_byte()).to_string();
            let def_indent = super::text::indent_at(text, func.start_byte()).to_string();
            let unit = base
                .strip_prefix(def_indent.as_str())
                .filter(|u| !u.is_empty())
                .unwrap_or("    ")
                .to_string();
            let (at, result) = if matches!(block.anchor, Anchor::BodyStart { .. }) {
                let first_real = stmts
                    .iter()
                    .find(|n| !(n.kind() == "expression_statement" && is_docstring(**n)))
                    .unwrap_or(first);
                let mut at = line_start(text, first_real.start_byte());
                if let Some(b) = inside(at) {
                    at = b.start;
                }
                (skip_earlier(at), None)
            } else if last.kind() == "return_statement" {
                let mut at = line_start(text, last.start_byte());
                // Before the blocks that sit just above the return and come later in o11y's order.
                while let Some(b) = found.iter().find(|b| b.end == at && b.integration > integration) {
                    at = b.start;
                }
                let result = named_children(*last)
                    .find(|n| n.kind() != "comment")
                    .filter(|n| n.kind() == "identifier")
                    .map(|n| node_text(n, text).to_string());
                (at, result)
            } else {
                (next_line_start(text, last.end_byte()), None)
            };
            let vars = Vars::of(text, ctx, result);
            let body = render(block.template, &vars, &base, &unit, eol);
            Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)))
        }
    }
}

/// Module-level statements. Column 0 is required too: tree-sitter's error recovery can hoist
/// an indented statement to the module when comments are indented oddly.
fn top_level<'t>(root: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    named_children(root).filter(|n| n.start_position().column == 0)
}

fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    (0..node.named_child_count()).filter_map(move |i| node.named_child(i))
}

fn node_text<'a>(n: Node, text: &'a str) -> &'a str {
    &text[n.start_byte()..n.end_byte()]
}

fn is_docstring(n: Node) -> bool {
    n.named_child(0).is_some_and(|c| c.kind() == "string")
}

/// Offset after a module docstring, or 0.
fn docstring_end(root: Node, text: &str) -> usize {
    match top_level(root).find(|n| n.kind() != "comment") {
        Some(n) if n.kind() == "expression_statement" && is_docstring(n) => {
            next_line_start(text, n.end_byte())
        }
        _ => 0,
    }
}

/// The module-level `app = Flask(...)` statement.
fn app_creation<'t>(root: Node<'t>, text: &str) -> Option<Node<'t>> {
    top_level(root).find(|n| {
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
    })
}

fn is_factory(root: Node, text: &str) -> bool {
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

fn find_method<'t>(root: Node<'t>, text: &str, class: &str, method: &str) -> Option<Node<'t>> {
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
