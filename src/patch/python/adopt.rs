//! Adopting a hand-made setup (`o11y apply --adopt NAME`): the student's statements that set
//! an integration up are taken out of the app module, so that o11y's blocks take their place.
//!
//! Only what belongs to the integration goes: statements whose code names it (its package,
//! its setup calls), import statements that import nothing else, and then, until nothing more
//! changes, statements that use a name one of those defined (`LOGGER.addHandler(cw_handler)`
//! after `cw_handler = watchtower.CloudWatchLogHandler(...)`). Routes stay (a `/rollbar/test`
//! the student wrote keeps working on o11y's setup); compound statements (`with`, `if`, `try`)
//! lose only the statements of theirs that go, or go whole when none of theirs stays.

use tree_sitter::Node;

use super::markers::Found;
use super::syntax::{named_children, node_text, parse};
use crate::patch::text::{line_start, next_line_start, remove_lines};
use crate::patch::ParseError;
use crate::spec::HandMade;

/// `text` without the hand-made setup of `rule`'s integration, and how many statements went.
pub fn strip(text: &str, rule: &HandMade, found: &[Found]) -> Result<(String, usize), ParseError> {
    let tree = parse(text)?;
    let root = tree.root_node();
    let words: Vec<&str> = rule
        .mentions
        .iter()
        .chain(rule.complete.iter())
        .map(|w| w.trim_end_matches('('))
        .collect();
    let ours = |n: Node| {
        found
            .iter()
            .any(|b| n.start_byte() >= b.start && n.start_byte() < b.end)
    };
    let mut gone: Vec<(usize, usize)> = Vec::new();
    // Until nothing more goes: a statement that uses a name a removed one defined goes too.
    loop {
        let before = gone.len();
        let defined: Vec<String> = gone
            .iter()
            .flat_map(|(s, e)| names_defined(&text[*s..*e]))
            .collect();
        select(root, text, &words, &defined, &ours, &mut gone);
        if gone.len() == before {
            break;
        }
    }
    gone.sort();
    gone.dedup();
    // Whole lines, bottom up; a range inside one already taken is skipped.
    let mut out = text.to_string();
    let mut last_start = usize::MAX;
    let mut count = 0;
    for (s, e) in gone.iter().rev() {
        let start = line_start(text, *s);
        let end = next_line_start(text, e.saturating_sub(1).max(*s));
        if end > last_start {
            continue;
        }
        out = remove_lines(&out, start, end);
        last_start = start;
        count += 1;
    }
    Ok((out, count))
}

/// Adds to `gone` the statements of `block` that belong to the integration.
fn select(
    block: Node,
    text: &str,
    words: &[&str],
    defined: &[String],
    ours: &dyn Fn(Node) -> bool,
    gone: &mut Vec<(usize, usize)>,
) {
    for n in named_children(block) {
        let range = (n.start_byte(), n.end_byte());
        if n.kind() == "comment" || ours(n) || gone.contains(&range) {
            continue;
        }
        let code = code_of(node_text(n, text));
        let named = words.iter().any(|w| code.contains(w));
        let uses = defined.iter().any(|d| uses_name(&code, d));
        match n.kind() {
            "import_statement" | "import_from_statement" if import_only_of(n, text, words) => {
                gone.push(range);
            }
            "import_statement" | "import_from_statement" => {}
            "decorated_definition" if is_route(n, text) => {}
            "with_statement" | "if_statement" | "try_statement" if named || uses => {
                // Its body statements, one by one; the whole statement when all of them go.
                let bodies: Vec<Node> = body_blocks(n);
                let mut inner = Vec::new();
                for b in &bodies {
                    select(*b, text, words, defined, ours, &mut inner);
                }
                let all: usize = bodies
                    .iter()
                    .map(|b| named_children(*b).filter(|c| c.kind() != "comment").count())
                    .sum();
                let header = node_text(n, text)
                    .split(':')
                    .next()
                    .is_some_and(|h| words.iter().any(|w| h.contains(w)));
                if inner.len() >= all || header {
                    gone.push(range);
                } else {
                    for r in inner {
                        if !gone.contains(&r) {
                            gone.push(r);
                        }
                    }
                }
            }
            _ if named || uses => gone.push(range),
            _ => {}
        }
    }
}

/// The blocks a compound statement runs.
fn body_blocks(n: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        for c in named_children(x) {
            match c.kind() {
                "block" => out.push(c),
                "elif_clause"
                | "else_clause"
                | "except_clause"
                | "finally_clause"
                | "except_group_clause" => stack.push(c),
                _ => {}
            }
        }
    }
    out
}

/// Code without comments.
fn code_of(s: &str) -> String {
    s.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A route: a definition decorated with `@<something>.route(`.
fn is_route(n: Node, text: &str) -> bool {
    named_children(n)
        .filter(|c| c.kind() == "decorator")
        .any(|d| node_text(d, text).contains(".route("))
}

/// An import whose every imported module or name is of the integration
/// (`import rollbar`, `from flask import got_request_exception`), not one that also brings
/// something else (`from flask import Flask, got_request_exception`).
fn import_only_of(n: Node, text: &str, words: &[&str]) -> bool {
    let of = |s: &str| words.iter().any(|w| s.contains(w));
    let module = n
        .child_by_field_name("module_name")
        .map(|m| node_text(m, text));
    let mut names = Vec::new();
    let mut cursor = n.walk();
    for c in n.children_by_field_name("name", &mut cursor) {
        names.push(node_text(c, text));
    }
    if names.is_empty() {
        return false;
    }
    module.is_some_and(of) || names.iter().all(|s| of(s))
}

/// The names a removed statement defined: what it assigns or defines at its top.
fn names_defined(stmt: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in stmt.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("def ") {
            if let Some(name) = rest.split('(').next() {
                out.push(name.trim().to_string());
            }
        } else if let Some((left, right)) = t.split_once('=') {
            if right.starts_with('=') || left.ends_with(['!', '<', '>', '=']) {
                continue;
            }
            for name in left.split(',') {
                let name = name.trim();
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

/// Whether `code` uses `name` as a whole word.
fn uses_name(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after) && before != Some('.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::all;

    fn rule(name: &str) -> &'static HandMade {
        all()
            .iter()
            .find(|i| i.name() == name)
            .unwrap()
            .spec()
            .hand_made
            .iter()
            .find(|h| h.file == crate::spec::PyFile::App)
            .unwrap()
    }

    #[test]
    fn a_before_first_request_rollbar_goes_and_the_route_stays() {
        let app = "from flask import Flask\nimport os\nimport rollbar\nimport rollbar.contrib.flask\nfrom flask import got_request_exception\n\napp = Flask(__name__)\nrollbar_access_token = os.getenv('ROLLBAR_ACCESS_TOKEN')\n@app.before_first_request\ndef init_rollbar():\n    rollbar.init(rollbar_access_token, 'production')\n    got_request_exception.connect(rollbar.contrib.flask.report_exception, app)\n\n@app.route('/rollbar/test')\ndef rollbar_test():\n    rollbar.report_message('Hello World!', 'warning')\n    return 'Hello World!'\n";
        let (out, n) = strip(app, rule("rollbar"), &[]).unwrap();
        assert_eq!(
            out,
            "from flask import Flask\nimport os\n\napp = Flask(__name__)\n\n@app.route('/rollbar/test')\ndef rollbar_test():\n    rollbar.report_message('Hello World!', 'warning')\n    return 'Hello World!'\n"
        );
        assert_eq!(n, 5);
    }

    #[test]
    fn what_uses_a_removed_name_goes_and_the_rest_of_a_with_block_stays() {
        let app = "import logging\nimport watchtower\nLOGGER = logging.getLogger(__name__)\ncw_handler = watchtower.CloudWatchLogHandler(log_group='cruddur')\nLOGGER.addHandler(cw_handler)\nwith app.app_context():\n    init_cors(app)\n    LOGGER.addHandler(cw_handler)\n";
        let (out, _) = strip(app, rule("cloudwatch"), &[]).unwrap();
        assert_eq!(
            out,
            "import logging\nLOGGER = logging.getLogger(__name__)\nwith app.app_context():\n    init_cors(app)\n"
        );
    }
}
