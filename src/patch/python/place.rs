//! Placement: where a block goes in a file, and how its template is filled.

use tree_sitter::Node;

use super::context::Context;
use super::markers::{blocks, wrap, Found, BEGIN, END};
use super::syntax::*;
use crate::patch::text::{eol_of, insert_lines, line_start, next_line_start};
use crate::patch::ParseError;
use crate::spec::{Anchor, Integration, PyBlock};

pub(super) struct Vars {
    service: String,
    now: String,
    datetime_import: Option<String>,
    /// `import os`, unless the code outside o11y's blocks imports it already.
    os_import: Option<String>,
    result: Option<String>,
}

impl Vars {
    pub(super) fn of(text: &str, ctx: &Context, result: Option<String>) -> Vars {
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
pub(super) fn render(template: &str, v: &Vars, base: &str, unit: &str, eol: &str) -> String {
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

/// Where `block` goes in `text`: Ok(new text), or Err(reason) when there is no safe place.
pub(super) fn place(
    text: &str,
    integration: Integration,
    block: &PyBlock,
    ctx: &Context,
) -> Result<Result<String, String>, ParseError> {
    let tree = parse(text)?;
    let root = tree.root_node();
    let found = blocks(text, ctx.known)?;
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
        Anchor::AfterAppCreated => match (app_creation(root, text), factory_app(root, text)) {
            (Some(n), _) => Ok(Ok(module_block(skip_earlier(next_line_start(text, n.end_byte()))))),
            // `def create_app(): app = Flask(__name__) ... return app`: inside the factory.
            (None, Some((func, assign))) => {
                let (base, unit) = body_indent(text, func, assign);
                let at = skip_earlier(next_line_start(text, assign.end_byte()));
                let body = render(block.template, &vars, &base, &unit, eol);
                Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)))
            }
            (None, None) if is_factory(root, text) => Ok(Err(
                "this file builds the app in a factory function that does not assign `app = Flask(...)` and return it, so o11y cannot tell the right place"
                    .into(),
            )),
            (None, None) => Ok(Err("this file has no `app = Flask(__name__)`".into())),
        },
        Anchor::BesideRoutes => {
            if app_creation(root, text).is_none() {
                let Some((func, assign)) = factory_app(root, text) else {
                    return Ok(Err("this file has no module-level `app = Flask(__name__)`".into()));
                };
                // Before the factory's `return app`, after the blocks o11y put there earlier.
                let Some(ret) = func
                    .child_by_field_name("body")
                    .and_then(|b| named_children(b).filter(|n| n.kind() != "comment").last())
                    .and_then(taken_return)
                else {
                    return Ok(Err("the app factory does not end in `return app`".into()));
                };
                let (base, unit) = body_indent(text, func, assign);
                let mut at = line_start(text, ret.start_byte());
                while let Some(b) = found.iter().find(|b| b.end == at && b.integration > integration) {
                    at = b.start;
                }
                let body = render(block.template, &vars, &base, &unit, eol);
                return Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)));
            }
            let at = top_level(root)
                .find(|n| n.kind() == "if_statement" && node_text(*n, text).contains("__name__"))
                .map_or(text.len(), |n| line_start(text, n.start_byte()));
            // Before the blocks just above that come later in o11y's order, so that switching
            // one integration off and on again gives back the same file.
            let mut at = at;
            while let Some(b) = found
                .iter()
                .find(|b| b.end == at && b.integration > integration)
            {
                at = b.start;
            }
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
            let base = crate::patch::text::indent_at(text, first.start_byte()).to_string();
            let def_indent = crate::patch::text::indent_at(text, func.start_byte()).to_string();
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
            } else if let Some(ret) = taken_return(*last) {
                let last = &ret;
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
            } else if terminates(*last) {
                return Ok(Err(format!(
                    "`{class}.{method}` ends in a statement that always returns or raises, but o11y cannot tell which `return` it takes"
                )));
            } else {
                (next_line_start(text, last.end_byte()), None)
            };
            // A return inside `with` blocks is indented deeper than the function's body.
            let base = if at < text.len() && matches!(block.anchor, Anchor::BeforeReturn { .. }) {
                let here = crate::patch::text::indent_at(text, at).to_string();
                if here.len() > base.len() { here } else { base }
            } else {
                base
            };
            let vars = Vars::of(text, ctx, result);
            let body = render(block.template, &vars, &base, &unit, eol);
            Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)))
        }
    }
}

/// Whether running `n` always ends in a `return` or `raise`, so nothing after it in its block
/// runs.
pub(super) fn terminates(n: Node) -> bool {
    let last_of = |body: Option<Node>| {
        body.and_then(|b| named_children(b).filter(|c| c.kind() != "comment").last())
            .is_some_and(terminates)
    };
    match n.kind() {
        "return_statement" | "raise_statement" => true,
        "with_statement" => last_of(n.child_by_field_name("body")),
        "if_statement" => {
            let mut has_else = false;
            let mut all = last_of(n.child_by_field_name("consequence"));
            for c in named_children(n) {
                match c.kind() {
                    "elif_clause" => all &= last_of(c.child_by_field_name("consequence")),
                    "else_clause" => {
                        has_else = true;
                        all &= last_of(c.child_by_field_name("body"));
                    }
                    _ => {}
                }
            }
            has_else && all
        }
        "try_statement" => {
            let mut all = last_of(n.child_by_field_name("body"));
            for c in named_children(n) {
                match c.kind() {
                    "except_clause" | "except_group_clause" => {
                        all &= named_children(c)
                            .filter(|x| x.kind() == "block")
                            .last()
                            .is_some_and(|b| last_of(Some(b)));
                    }
                    "else_clause" => all &= last_of(c.child_by_field_name("body")),
                    _ => {}
                }
            }
            all
        }
        _ => false,
    }
}

/// The o11y blocks that can never run: they follow, in the same block of code, a statement
/// that always returns or raises.
pub fn unreachable_blocks(text: &str, known: &[Integration]) -> Vec<Found> {
    let (Ok(tree), Ok(found)) = (parse(text), blocks(text, known)) else {
        return Vec::new();
    };
    let mut out: Vec<Found> = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.kind() == "block" {
            let stmts: Vec<Node> = named_children(n)
                .filter(|c| c.kind() != "comment")
                .collect();
            if let Some(end) = stmts.iter().find(|s| terminates(**s)).map(|s| s.end_byte()) {
                // An o11y block whose code is part of this block, after that statement.
                for b in &found {
                    let later_here = stmts
                        .iter()
                        .any(|s| s.start_byte() >= b.start && s.start_byte() < b.end);
                    if b.start >= end && later_here && !out.contains(b) {
                        out.push(b.clone());
                    }
                }
            }
        }
        stack.extend(named_children(n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PyFile, Spec};

    /// Two integrations that each add a route beside the others, ranked 1 and 2.
    fn route_spec(name: &'static str, rank: u16, template: &'static str) -> &'static Spec {
        let base = crate::integrations::all()[0].spec();
        Box::leak(Box::new(Spec {
            name,
            rank,
            blocks: Box::leak(Box::new([PyBlock {
                file: PyFile::App,
                part: "route",
                anchor: Anchor::BesideRoutes,
                template,
            }])),
            hand_made: &[],
            ..*base
        }))
    }

    #[test]
    fn a_route_block_goes_before_the_later_integrations_routes() {
        let first = Integration(route_spec(
            "first",
            1,
            "@app.route(\"/first\")\ndef first():\n    return \"\"\n",
        ));
        let second = Integration(route_spec(
            "second",
            2,
            "@app.route(\"/second\")\ndef second():\n    return \"\"\n",
        ));
        let known = [first, second];
        let ctx = Context {
            service: "backend-flask",
            known: &known,
            ..Default::default()
        };
        let app = "from flask import Flask\napp = Flask(__name__)\n";
        // Added in rank order, and again with only the first missing (disable, then enable).
        let both = place(app, first, &first.spec().blocks[0], &ctx)
            .unwrap()
            .unwrap();
        let both = place(&both, second, &second.spec().blocks[0], &ctx)
            .unwrap()
            .unwrap();
        let only_second = place(app, second, &second.spec().blocks[0], &ctx)
            .unwrap()
            .unwrap();
        let again = place(&only_second, first, &first.spec().blocks[0], &ctx)
            .unwrap()
            .unwrap();
        assert_eq!(again, both);
        assert!(both.find("o11y:first:route").unwrap() < both.find("o11y:second:route").unwrap());
    }
}
