//! Hand-made setups: how a student's own code stands for an integration.

use super::context::Context;
use super::markers::{blocks, hand_written};
use super::syntax::{named_children, node_text, parse};
use crate::patch::ParseError;
use crate::spec::{HandMade, PyFile};

/// What a file looks like for one integration, outside o11y's own blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandState {
    /// Nothing by hand.
    None,
    /// Complete and without known flaws: left as it is.
    Done,
    /// Complete and working, with a flaw worth a warning: left as it is.
    Works(String),
    /// Started by hand but incomplete or flawed: the reason.
    Partial(String),
}

/// How a student's own code stands for an integration, per its `HandMade` rule. For the app
/// module, the backend modules it imports count too (`ctx.linked`): a setup that lives in
/// `lib/honeycomb.py` and is called from app.py is the student's setup all the same.
pub fn hand_state(text: &str, rule: &HandMade, ctx: &Context) -> Result<HandState, ParseError> {
    let found = blocks(text, ctx.known)?;
    let own = hand_written(text, &found);
    let others: Vec<String> = if rule.file == PyFile::App {
        active_linked(text, ctx)
    } else {
        Vec::new()
    };
    let anywhere = |needle: &str| own.contains(needle) || others.iter().any(|o| o.contains(needle));
    // In another module, a mere mention (a `trace.get_tracer` in some service) is no setup;
    // one of the setup's own calls is.
    let touched = rule.mentions.iter().any(|m| own.contains(m))
        || rule
            .complete
            .iter()
            .any(|c| others.iter().any(|o| o.contains(c)));
    if !touched {
        return Ok(HandState::None);
    }
    let flaw = |works: bool| {
        rule.flaws.iter().find(|f| {
            f.works == works
                && anywhere(f.pattern)
                && !f.from_flask.is_some_and(|v| ctx.flask_below(v))
        })
    };
    if let Some(f) = flaw(false) {
        return Ok(HandState::Partial(format!("the hand-made setup {}", f.why)));
    }
    if rule.complete.iter().all(|c| anywhere(c)) {
        Ok(match flaw(true) {
            Some(f) => HandState::Works(format!("the hand-made setup {}", f.why)),
            None => HandState::Done,
        })
    } else {
        Ok(HandState::Partial(format!(
            "it was started by hand (`{}` is there) but is missing {}",
            rule.mentions
                .iter()
                .chain(rule.complete.iter())
                .find(|m| anywhere(m))
                .unwrap_or(&""),
            rule.complete
                .iter()
                .filter(|c| !anywhere(c))
                .map(|c| format!("`{}`", c.trim_end_matches('(')))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// The code of each linked module that runs: its module-level statements, and the bodies of
/// its plain functions only where the app or another module calls them (`init_xray(app)`; a
/// setup function nobody calls, or whose call is commented out, sets nothing up).
pub(super) fn active_linked(app: &str, ctx: &Context) -> Vec<String> {
    let texts: Vec<String> = std::iter::once(hand_written(
        app,
        &blocks(app, ctx.known).unwrap_or_default(),
    ))
    .chain(ctx.linked.iter().map(|s| hand_written(&s.text, &[])))
    .collect();
    let calls = |name: &str| -> usize {
        let call = format!("{name}(");
        let def = format!("def {name}(");
        texts
            .iter()
            .map(|t| t.matches(&call).count() - t.matches(&def).count())
            .sum()
    };
    ctx.linked
        .iter()
        .map(|s| {
            let Ok(tree) = parse(&s.text) else {
                return hand_written(&s.text, &[]);
            };
            let mut kept = String::new();
            for n in named_children(tree.root_node()) {
                if n.kind() == "function_definition" {
                    let called = n
                        .child_by_field_name("name")
                        .is_some_and(|name| calls(node_text(name, &s.text)) > 0);
                    if !called {
                        continue;
                    }
                }
                kept.push_str(node_text(n, &s.text));
                kept.push('\n');
            }
            hand_written(&kept, &[])
        })
        .collect()
}

/// The linked modules where a hand-made setup of `rule` lives (those whose running code holds
/// one of its setup calls), for messages.
pub fn hand_places<'a>(rule: &HandMade, app: &str, ctx: &'a Context) -> Vec<&'a str> {
    if rule.file != PyFile::App {
        return Vec::new();
    }
    ctx.linked
        .iter()
        .zip(active_linked(app, ctx))
        .filter(|(_, own)| rule.complete.iter().any(|c| own.contains(c)))
        .map(|(s, _)| s.path.as_str())
        .collect()
}
