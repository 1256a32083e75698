//! Python files (app.py and the services): adds and removes the blocks integrations own.
//!
//! tree-sitter-python finds where a block goes (after the imports, after `app = Flask(...)`,
//! beside the routes, inside a method); the block is inserted as whole lines between marker
//! comments, so the next run recognises it. Code a student wrote by hand is never rewritten:
//! complete hand-made setups are left alone, incomplete ones get a manual step instead.

mod adopt;
mod context;
mod hand;
mod markers;
mod place;
mod syntax;

pub use context::Context;
pub use hand::{hand_places, hand_state, HandState};
pub use markers::{blocks, Found};
pub use place::unreachable_blocks;
pub use syntax::{
    check, creates_flask_app, declared_encoding, imports, line_of, too_large, Import, MAX_PARSE,
};

use markers::hand_written;
use place::{place, render, Vars};
use syntax::parse;

use super::{ManualStep, ParseError};
use crate::spec::{HandMade, Integration, PyBlock, PyFile};

/// The result of patching one Python file.
#[derive(Debug, Clone, Default)]
pub struct PyOutcome {
    pub text: String,
    pub manual: Vec<ManualStep>,
    /// Integrations found complete by hand, left as they are.
    pub hand_done: Vec<(Integration, Option<String>)>,
    /// Integrations whose hand-made setup was taken out for o11y's, with how many statements.
    pub adopted: Vec<(Integration, usize)>,
}

/// One integration's wish for this file.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    pub integration: Integration,
    pub blocks: &'a [PyBlock],
    pub hand_made: Option<&'a HandMade>,
    /// Replace the student's hand-made setup of it with o11y's blocks (`apply --adopt`).
    pub adopt: bool,
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
    for b in blocks(&out, ctx.known)?.into_iter().rev() {
        if remove.contains(&b.integration) {
            out = super::text::remove_lines(&out, b.start, b.end);
        }
    }
    let mut outcome = PyOutcome::default();
    let mut wants: Vec<&Want> = want.iter().collect();
    wants.sort_by_key(|w| w.integration);
    for w in wants {
        let mut state = match w.hand_made {
            Some(rule) => hand_state(&out, rule, ctx)?,
            None => HandState::None,
        };
        if let (true, Some(rule)) = (w.adopt, w.hand_made) {
            if state != HandState::None {
                let (stripped, n) = adopt::strip(&out, rule, &blocks(&out, ctx.known)?)?;
                out = stripped;
                outcome.adopted.push((w.integration, n));
                state = HandState::None;
            }
        }
        let present: Vec<String> = blocks(&out, ctx.known)?
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
                outcome.hand_done.push((w.integration, None));
                continue;
            }
            HandState::Works(warning) => {
                outcome.hand_done.push((w.integration, Some(warning)));
                continue;
            }
            HandState::Partial(reason) => {
                // One step for the whole integration: the student's code needs a look as a whole.
                if !missing.is_empty() {
                    let vars = Vars::of(&out, ctx, None);
                    let mut snippet = String::new();
                    for b in missing
                        .iter()
                        .filter(|b| !route_taken(b.template, &out, ctx))
                    {
                        snippet.push_str(&format!("# {}:\n", b.anchor.describe()));
                        snippet.push_str(&render(b.template, &vars, "", "    ", "\n"));
                    }
                    outcome.manual.push(ManualStep {
                        file: path.to_string(),
                        integration: w.integration.name().to_string(),
                        reason: reason.clone(),
                        place: if file == PyFile::App {
                            format!(
                                "fix the hand-made {} code, or have `o11y apply --adopt {}` replace it with o11y's blocks below",
                                w.integration.title(),
                                w.integration
                            )
                        } else {
                            format!(
                                "fix the hand-made {} code, or replace it with o11y's blocks below",
                                w.integration.title()
                            )
                        },
                        snippet,
                    });
                }
                continue;
            }
            // Left off by the student; `enable` passes no rule, so it never gets here.
            HandState::Off { .. } => continue,
            HandState::None => {}
        }
        // All of an integration's blocks in this file, or none: imports without the setup
        // they are for would be a half-made change.
        let before = out.clone();
        let mut failed: Option<(&PyBlock, String)> = None;
        for b in &missing {
            if route_taken(b.template, &out, ctx) {
                continue;
            }
            match place(&out, w.integration, b, ctx)? {
                Ok(next) => out = next,
                Err(reason) => {
                    failed = Some((b, reason));
                    break;
                }
            }
        }
        if let Some((b, reason)) = failed {
            out = before;
            let mut step = manual(path, w.integration, b, &out, ctx, &reason);
            if missing.len() > 1 {
                let vars = Vars::of(&out, ctx, None);
                step.snippet.clear();
                for m in missing
                    .iter()
                    .filter(|m| !route_taken(m.template, &out, ctx))
                {
                    step.snippet
                        .push_str(&format!("# {}:\n", m.anchor.describe()));
                    step.snippet
                        .push_str(&render(m.template, &vars, "", "    ", "\n"));
                }
                step.place = format!(
                    "all of o11y's {} code below, by hand (o11y added none of it here, so that no part is left without the rest)",
                    w.integration.title()
                );
            }
            outcome.manual.push(step);
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

/// Whether a block that adds a route (`@app.route("/rollbar/test")`) would add one the app
/// has already: Flask refuses to start with two views of one name, and a second route for a
/// path is never reached.
/// The paths of the routes a text adds (`@app.route("/rollbar/test")`).
pub fn routes(t: &str) -> Vec<String> {
    t.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix('@')?;
            let at = rest.find(".route(")? + ".route(".len();
            let arg = rest[at..].trim_start();
            let quote = arg.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let inner = &arg[1..];
            Some(inner[..inner.find(quote)?].to_string())
        })
        .collect()
}

fn route_taken(template: &str, text: &str, ctx: &Context) -> bool {
    let wanted = routes(template);
    if wanted.is_empty() {
        return false;
    }
    let own = hand_written(text, &blocks(text, ctx.known).unwrap_or_default());
    let mut have = routes(&own.replace('@', "\n@"));
    for s in ctx.linked {
        have.extend(routes(&s.text));
    }
    wanted.iter().any(|w| have.contains(w))
}

/// A block as a student would paste it by hand: placeholders filled as for `text`.
pub fn snippet(template: &str, text: &str, ctx: &Context) -> String {
    render(template, &Vars::of(text, ctx, None), "", "    ", "\n")
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
