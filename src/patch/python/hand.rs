//! Hand-made setups: how a student's own code stands for an integration.
//!
//! Only code that runs counts: import statements alone set nothing up, nor does a plain
//! function nobody calls (`def init_rollbar():` whose decorator or call was commented out).
//! Setup calls that are commented out are the student switching something off by hand.

use super::context::Context;
use super::markers::{blocks, hand_written, Found};
use super::syntax::{named_children, node_text, parse};
use crate::patch::text::lines_with_offsets;
use crate::patch::ParseError;
use crate::spec::{HandMade, PyFile};

/// What a file looks like for one integration, outside o11y's own blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandState {
    /// Nothing by hand.
    None,
    /// Complete and without known flaws: left as it is.
    Done,
    /// Complete and working, with a flaw worth a warning (or a part the student commented
    /// out): left as it is.
    Works(String),
    /// Started by hand but incomplete or flawed: the reason.
    Partial(String),
    /// Switched off by hand: the app's setup calls are all commented out (to save spend, say),
    /// though imports may remain. The student's choice: o11y leaves it off until `enable`.
    Off {
        /// The commented-out call (`xray_recorder.configure`).
        call: String,
        /// Where: the module (None for the app module itself) and its 1-based line.
        file: Option<String>,
        line: usize,
    },
}

/// A commented-out call: the call, the module it is in (None for the file looked at), its line.
type Commented = (String, Option<String>, usize);

/// How a student's own code stands for an integration, per its `HandMade` rule. For the app
/// module, the backend modules it imports count too (`ctx.linked`): a setup that lives in
/// `lib/honeycomb.py` and is called from app.py is the student's setup all the same.
pub fn hand_state(text: &str, rule: &HandMade, ctx: &Context) -> Result<HandState, ParseError> {
    let found = blocks(text, ctx.known)?;
    // Once o11y's own blocks for it are in the file, they are its setup.
    if owner(rule, ctx).is_some_and(|i| found.iter().any(|b| b.integration == i)) {
        return Ok(HandState::None);
    }
    let app = rule.file == PyFile::App;
    let linked: &[crate::patch::Source] = if app { ctx.linked } else { &[] };
    let (code, others) = running(text, &found, linked);
    let live = |needle: &str| code.contains(needle) || others.iter().any(|o| o.contains(needle));
    // In another module, a mere mention (a `trace.get_tracer` in some service) is no setup;
    // one of the setup's own calls is.
    let touched = rule
        .mentions
        .iter()
        .chain(rule.complete.iter())
        .any(|m| code.contains(m))
        || rule
            .complete
            .iter()
            .any(|c| others.iter().any(|o| o.contains(c)));
    let missing: Vec<String> = rule
        .complete
        .iter()
        .filter(|c| !live(c))
        .map(|c| c.to_string())
        .collect();
    // The setup's calls commented out.
    if missing.len() == rule.complete.len() {
        let mut calls = missing.clone();
        if app {
            calls.extend(setup_helpers(rule.complete, linked));
        }
        if let Some((call, file, line)) = commented_call(text, &found, linked, &calls) {
            if !app {
                // In a service, the student's span or subsegment commented out is no setup:
                // o11y's blocks go in as into a fresh file.
                return Ok(HandState::None);
            }
            return Ok(HandState::Off { call, file, line });
        }
    }
    if !touched {
        return Ok(HandState::None);
    }
    let flaw = |works: bool| {
        rule.flaws.iter().find(|f| {
            f.works == works && live(f.pattern) && !f.from_flask.is_some_and(|v| ctx.flask_below(v))
        })
    };
    if let Some(f) = flaw(false) {
        return Ok(HandState::Partial(format!("the hand-made setup {}", f.why)));
    }
    if missing.is_empty() {
        return Ok(match flaw(true) {
            Some(f) => HandState::Works(format!("the hand-made setup {}", f.why)),
            None => HandState::Done,
        });
    }
    // Every missing call commented out: a part the student switched off on purpose
    // (`# FlaskInstrumentor().instrument_app(app) - DISABLED ...`).
    let commented: Vec<Commented> = missing
        .iter()
        .filter_map(|m| {
            let mut calls = vec![m.clone()];
            if app {
                calls.extend(setup_helpers(&[m.as_str()], linked));
            }
            commented_call(text, &found, linked, &calls)
        })
        .collect();
    if commented.len() == missing.len() {
        if !app {
            return Ok(HandState::None);
        }
        let list: Vec<String> = commented
            .iter()
            .map(|(call, file, line)| match file {
                Some(f) => format!("`{call}` ({f}, line {line})"),
                None => format!("`{call}` (line {line})"),
            })
            .collect();
        return Ok(HandState::Works(format!(
            "the hand-made setup has {} commented out, so that part of it is off",
            list.join(" and ")
        )));
    }
    Ok(HandState::Partial(format!(
        "it was started by hand (`{}` is there) but is missing {}",
        rule.mentions
            .iter()
            .chain(rule.complete.iter())
            .find(|m| live(m))
            .unwrap_or(&""),
        missing
            .iter()
            .map(|c| format!("`{}`", c.trim_end_matches('(')))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The code that runs, without comments: of `text` (outside o11y's `found` blocks) and of each
/// linked module. Import statements are left out, and so are plain functions that neither
/// module calls (a decorated one, a route or a hook, is Flask's to call).
fn running(text: &str, found: &[Found], linked: &[crate::patch::Source]) -> (String, Vec<String>) {
    let all: Vec<String> = std::iter::once(hand_written(text, found))
        .chain(linked.iter().map(|s| hand_written(&s.text, &[])))
        .collect();
    let called = |name: &str| -> bool {
        let call = format!("{name}(");
        let def = format!("def {name}(");
        all.iter()
            .map(|t| t.matches(&call).count() - t.matches(&def).count())
            .sum::<usize>()
            > 0
    };
    let own = hand_written(&blank_idle(text, &called), found);
    let others = linked
        .iter()
        .map(|s| hand_written(&blank_idle(&s.text, &called), &[]))
        .collect();
    (own, others)
}

/// The integration a rule belongs to.
fn owner(rule: &HandMade, ctx: &Context) -> Option<crate::spec::Integration> {
    ctx.known
        .iter()
        .copied()
        .find(|i| i.spec().hand_made.iter().any(|h| std::ptr::eq(h, rule)))
}

/// `text` with its import statements and uncalled plain functions blanked (line breaks kept,
/// so offsets still hold). A file that does not parse is returned as it is.
fn blank_idle(text: &str, called: &dyn Fn(&str) -> bool) -> String {
    let Ok(tree) = parse(text) else {
        return text.to_string();
    };
    let mut out = text.as_bytes().to_vec();
    let mut blank = |from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    };
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        let idle = match n.kind() {
            "import_statement" | "import_from_statement" | "future_import_statement" => true,
            // A method is its class's to call; a plain function of the module must be called.
            "function_definition" => {
                n.parent()
                    .is_none_or(|p| p.kind() != "decorated_definition")
                    && !in_class(n)
                    && n.child_by_field_name("name")
                        .is_some_and(|name| !called(node_text(name, text)))
            }
            _ => false,
        };
        if idle {
            blank(n.start_byte(), n.end_byte());
        } else {
            stack.extend(named_children(n));
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

fn in_class(n: tree_sitter::Node) -> bool {
    let mut at = n.parent();
    while let Some(p) = at {
        if p.kind() == "class_definition" {
            return true;
        }
        at = p.parent();
    }
    false
}

/// The first commented-out line (outside o11y's blocks) of `text`, then of the linked modules,
/// that calls one of `calls`. A call is the name, then only name characters or dots, then `(`;
/// so prose that merely names it (`# FlaskInstrumentor traces each request`) is no call.
fn commented_call(
    text: &str,
    found: &[Found],
    linked: &[crate::patch::Source],
    calls: &[String],
) -> Option<Commented> {
    let sources = std::iter::once((None, text, found)).chain(
        linked
            .iter()
            .map(|s| (Some(s.path.clone()), s.text.as_str(), &[][..])),
    );
    for (file, text, found) in sources {
        for (n, (at, line)) in lines_with_offsets(text).enumerate() {
            if found.iter().any(|b| at >= b.start && at < b.end) {
                continue;
            }
            let Some(body) = line.trim_start().strip_prefix('#') else {
                continue;
            };
            for c in calls {
                let name = c.trim_end_matches('(');
                for (i, _) in body.match_indices(name) {
                    let tail = body[i + name.len()..].trim_start_matches(|ch: char| {
                        ch.is_alphanumeric() || ch == '_' || ch == '.'
                    });
                    if tail.starts_with('(') {
                        return Some((name.to_string(), file, n + 1));
                    }
                }
            }
        }
    }
    None
}

/// The functions of the linked modules that hold one of the `complete` setup calls
/// (`init_rollbar` in `lib/rollbar.py`): a commented-out call of one is a setup switched off.
fn setup_helpers(complete: &[&str], linked: &[crate::patch::Source]) -> Vec<String> {
    let mut out = Vec::new();
    for s in linked {
        let Ok(tree) = parse(&s.text) else { continue };
        for n in named_children(tree.root_node()) {
            let f = if n.kind() == "decorated_definition" {
                n.child_by_field_name("definition")
            } else {
                Some(n)
            };
            let Some(f) = f.filter(|f| f.kind() == "function_definition") else {
                continue;
            };
            let body = hand_written(node_text(f, &s.text), &[]);
            if complete.iter().any(|c| body.contains(c)) {
                if let Some(name) = f.child_by_field_name("name") {
                    out.push(node_text(name, &s.text).to_string());
                }
            }
        }
    }
    out
}

/// The linked modules where a hand-made setup of `rule` lives (those whose running code holds
/// one of its setup calls), for messages.
pub fn hand_places<'a>(rule: &HandMade, app: &str, ctx: &'a Context) -> Vec<&'a str> {
    if rule.file != PyFile::App {
        return Vec::new();
    }
    let found = blocks(app, ctx.known).unwrap_or_default();
    let (_, others) = running(app, &found, ctx.linked);
    ctx.linked
        .iter()
        .zip(others)
        .filter(|(_, own)| rule.complete.iter().any(|c| own.contains(c)))
        .map(|(s, _)| s.path.as_str())
        .collect()
}
