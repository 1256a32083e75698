//! The plan: every file edit that brings a project to the state the enabled integrations need,
//! computed in memory from the files' text. Nothing is written here, so a failure in any one
//! file leaves all of them untouched.

use similar::TextDiff;

use crate::patch::python::{self, Context, Want};
use crate::patch::{requirements, ManualStep};

mod compose_env;
mod model;
mod workspace;

use compose_env::fill;
pub use compose_env::HOST_GATEWAY;
use model::{join, Edit};
pub use model::{EnvFile, FileEdit, HandFound, Inputs, Plan, PlanError, Source, Target};
pub use workspace::{install_script, RELEASE_URL};

use crate::spec::{Integration, PyFile};

/// Where a hand-made setup lives: `path`, or the imported modules that hold it.
fn places(path: &str, text: &str, rule: &crate::spec::HandMade, ctx: &Context) -> String {
    let linked = python::hand_places(rule, text, ctx);
    if linked.is_empty() {
        path.to_string()
    } else {
        format!("{} (used by {path})", linked.join(", "))
    }
}

/// An integration the student switched off by hand in the app module: its setup calls are
/// commented out (`# xray_recorder.configure(...)`) and o11y's blocks for it are not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchedOff {
    pub integration: Integration,
    /// Where, for messages: `` `xray_recorder.configure` is commented out (backend-flask/app.py, line 14) ``.
    pub why: String,
}

/// The integrations switched off by hand in `inputs`' app module.
pub fn switched_off(inputs: &Inputs, known: &[Integration]) -> Vec<SwitchedOff> {
    let Some(app) = inputs
        .python
        .iter()
        .find(|(f, _)| *f == PyFile::App)
        .and_then(|(_, s)| s.as_ref())
    else {
        return Vec::new();
    };
    let ctx = Context {
        service: &inputs.service,
        linked: &inputs.linked,
        requirements: inputs.requirements.as_ref().map_or("", |r| r.text.as_str()),
        known,
    };
    known
        .iter()
        .filter_map(|i| {
            let rule = i.spec().hand_made.iter().find(|h| h.file == PyFile::App)?;
            match python::hand_state(&app.text, rule, &ctx) {
                Ok(python::HandState::Off { call, file, line }) => Some(SwitchedOff {
                    integration: *i,
                    why: format!(
                        "`{call}` is commented out ({}, line {line})",
                        file.unwrap_or_else(|| inputs.path_of(PyFile::App))
                    ),
                }),
                _ => None,
            }
        })
        .collect()
}

/// Computes the plan. The service name is also what templates call the service.
pub fn plan(inputs: &Inputs, target: &Target) -> Result<Plan, PlanError> {
    let in_scope = |i: Integration| target.only.as_ref().is_none_or(|o| o.contains(&i));
    let by_hand_off: Vec<SwitchedOff> = switched_off(inputs, &target.all);
    let left_off = |i: &Integration| {
        !target.forced.contains(i)
            && !target.adopt.contains(i)
            && by_hand_off.iter().any(|s| s.integration == *i)
    };
    let on: Vec<Integration> = target
        .all
        .iter()
        .copied()
        .filter(|i| target.enabled.contains(i) && in_scope(*i) && !left_off(i))
        .collect();
    let off: Vec<Integration> = target
        .all
        .iter()
        .copied()
        .filter(|i| !target.enabled.contains(i) && in_scope(*i))
        .collect();
    let service = inputs.service.as_str();
    let requirements_text = inputs
        .requirements
        .as_ref()
        .map(|r| r.text.as_str())
        .unwrap_or("");
    let mut plan = Plan::default();
    let mut edits: Vec<Edit> = Vec::new();

    // Python first: an integration switched off that still has hand-written code keeps its
    // packages and variables, or the backend would no longer start. One the student switched
    // off by hand keeps its packages; once o11y's own setup of it is taken out again
    // (`enable`, then `disable`), only while the student's code still imports them.
    let mut kept_by_hand: Vec<Integration> = Vec::new();
    let mut imported: Vec<Integration> = Vec::new();
    let mut exact_only: Vec<Integration> = Vec::new();
    for s in by_hand_off
        .iter()
        .filter(|s| left_off(&s.integration) && in_scope(s.integration))
    {
        // What it has in requirements.txt is the student's: o11y never added it.
        imported.push(s.integration);
        plan.notes.push(format!(
            "{} is switched off by hand: {}. o11y leaves it off; `o11y enable {}` turns it back on with o11y's setup.",
            s.integration.title(),
            s.why,
            s.integration
        ));
    }
    let mut cruddur_only: Vec<String> = Vec::new();
    let mut cruddur_integrations: Vec<Integration> = Vec::new();
    let mut app_by_hand: Vec<Integration> = Vec::new();
    for (file, source) in &inputs.python {
        let path = inputs.path_of(*file);
        let ctx = Context {
            service,
            linked: if *file == PyFile::App {
                &inputs.linked
            } else {
                &[]
            },
            requirements: requirements_text,
            known: &target.all,
        };
        let wants: Vec<Want> = on
            .iter()
            .map(|i| Want {
                integration: *i,
                blocks: i.spec().blocks,
                // Switched back on by `enable`: the commented-out setup is no setup.
                hand_made: i
                    .spec()
                    .hand_made
                    .iter()
                    .find(|h| h.file == *file)
                    .filter(|_| {
                        !(*file == PyFile::App
                            && by_hand_off.iter().any(|s| s.integration == *i)
                            && !target.adopt.contains(i))
                    }),
                adopt: *file == PyFile::App && target.adopt.contains(i),
            })
            .filter(|w| w.blocks.iter().any(|b| b.file == *file))
            .filter(|w| {
                *file == PyFile::App
                    || !(w.integration.spec().blocks_need_own_setup
                        && app_by_hand.contains(&w.integration))
            })
            .collect();
        let Some(src) = source else {
            if *file != PyFile::App {
                // Cruddur's own services: another Flask project has none, and needs none.
                if !wants.is_empty() {
                    cruddur_only.push(path);
                    cruddur_integrations.extend(wants.iter().map(|w| w.integration));
                }
                continue;
            }
            for w in &wants {
                for b in w.blocks.iter().filter(|b| b.file == *file) {
                    plan.manual.push(ManualStep {
                        file: path.clone(),
                        integration: w.integration.name().into(),
                        reason: format!("`{path}` does not exist"),
                        place: b.anchor.describe(),
                        snippet: python::snippet(b.template, "", &ctx),
                    });
                }
            }
            continue;
        };
        let err = |error| PlanError {
            path: path.clone(),
            error,
        };
        let out = python::patch(&src.text, *file, &path, &wants, &off, &ctx).map_err(err)?;
        for i in off.iter().filter(|i| !left_off(i)) {
            for rule in i.spec().hand_made.iter().filter(|h| h.file == *file) {
                let state = python::hand_state(&out.text, rule, &ctx).map_err(err)?;
                if let python::HandState::Off { .. } = state {
                    // Its setup is commented out by hand again, o11y's taken out: the lines
                    // o11y wrote for its packages go, the student's own stay.
                    if !imported.contains(i) {
                        imported.push(*i);
                        exact_only.push(*i);
                    }
                    continue;
                }
                if state != python::HandState::None && !kept_by_hand.contains(i) {
                    kept_by_hand.push(*i);
                    plan.notes.push(format!(
                        "{} was set up by hand in {}; o11y only takes out what it added, so its code, packages and variables stay. Remove them by hand to switch it off.",
                        i.title(),
                        places(&path, &out.text, rule, &ctx)
                    ));
                }
            }
        }
        if *file == PyFile::App {
            for i in on.iter().filter(|i| target.adopt.contains(i)) {
                if !out.adopted.iter().any(|(a, _)| a == i) {
                    plan.notes.push(format!(
                        "{} has no hand-made setup in {path} to replace; o11y wires it in as usual.",
                        i.title()
                    ));
                }
            }
        }
        for (i, n) in &out.adopted {
            plan.notes.push(format!(
                "{}: the hand-made setup in {path} is replaced by o11y's ({n} statement(s) taken out; `o11y undo` puts them back).",
                i.title()
            ));
        }
        for (i, warning) in out.hand_done {
            if *file == PyFile::App {
                app_by_hand.push(i);
            }
            let rule = i.spec().hand_made.iter().find(|h| h.file == *file);
            let at = rule.map_or(path.clone(), |r| places(&path, &out.text, r, &ctx));
            plan.notes.push(format!(
                "{} is already set up by hand in {at}; left as it is.",
                i.title()
            ));
            if let Some(w) = &warning {
                plan.notes.push(format!("{}: {w}.", i.title()));
            }
            plan.hand.push(HandFound {
                integration: i,
                path: at,
                warning,
            });
        }
        plan.manual.extend(out.manual);
        edits.push((path, Some(src.text.clone()), out.text));
    }
    if !cruddur_only.is_empty() {
        cruddur_integrations.sort();
        cruddur_integrations.dedup();
        let titles: Vec<&str> = cruddur_integrations.iter().map(|i| i.title()).collect();
        let cruddur_titles = match titles.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => titles.join(""),
        };
        plan.notes.push(format!(
            "{} {} not exist: what {} add there is for Cruddur's services, so this project goes without it; everything else is wired in.",
            cruddur_only.join(" and "),
            if cruddur_only.len() == 1 { "does" } else { "do" },
            cruddur_titles
        ));
    }
    // One switched off by hand keeps what it has in the compose file too: that is the student's.
    let off: Vec<Integration> = off
        .into_iter()
        .filter(|i| !kept_by_hand.contains(i) && !left_off(i))
        .collect();
    let still_on = |i: &Integration| target.enabled.contains(i) || kept_by_hand.contains(i);
    let packages_stay = |i: &Integration| still_on(i) || imported.contains(i);

    // requirements.txt
    let req_path = inputs
        .requirements
        .as_ref()
        .map(|s| s.path.clone())
        .unwrap_or_else(|| join(&inputs.backend_dir, "requirements.txt"));
    let add: Vec<&str> = on
        .iter()
        .flat_map(|i| i.spec().packages.iter().copied())
        .collect();
    let remove: Vec<&str> = off
        .iter()
        .flat_map(|i| i.spec().packages.iter().copied())
        .filter(|p| {
            !target
                .all
                .iter()
                .filter(|i| packages_stay(i))
                .any(|i| i.spec().packages.contains(p))
        })
        .collect();
    let order: Vec<&str> = target
        .all
        .iter()
        .flat_map(|i| i.spec().packages.iter().copied())
        .collect();
    let req_before = inputs.requirements.as_ref().map(|s| s.text.clone());
    let req_text = req_before.clone().unwrap_or_default();
    // o11y takes out only the lines it wrote (`blinker>=1.9.0`); the student's own line for a
    // package (`blinker==1.9.0`) stays, as their code may need it.
    let mut exact: Vec<&str> = remove.clone();
    exact.extend(
        exact_only
            .iter()
            .flat_map(|i| i.spec().packages.iter().copied())
            .filter(|p| !remove.contains(p)),
    );
    let req_after =
        requirements::patch_lines(&req_text, &add, &[], &exact, &order).map_err(|error| {
            PlanError {
                path: req_path.clone(),
                error,
            }
        })?;
    edits.push((req_path, req_before, req_after));

    let aws_needed = target.all.iter().any(|i| i.uses_aws() && still_on(i));
    if let Some(e) = compose_env::edit(
        inputs,
        target,
        &on,
        &off,
        &exact_only,
        aws_needed,
        &mut plan,
    )? {
        edits.push(e);
    }

    // The files integrations create (aws/json/xray.json), where missing.
    for f in on.iter().flat_map(|i| i.spec().files.iter()) {
        if !inputs.present.iter().any(|p| p == f.path) {
            edits.push((f.path.to_string(), None, fill(f.template, service)));
        }
    }

    workspace::edits(inputs, &on, &mut edits)?;

    // o11y.toml
    let cfg_before = inputs.config.as_ref().map(|c| c.text.clone());
    let recorded: Vec<Integration> = target
        .enabled
        .iter()
        .copied()
        .filter(|i| !left_off(i))
        .collect();
    let cfg_after =
        crate::patch::config::render(cfg_before.as_deref(), service, &recorded, &target.all)
            .map_err(|error| PlanError {
                path: crate::patch::config::FILE.to_string(),
                error,
            })?;
    edits.push((
        crate::patch::config::FILE.to_string(),
        cfg_before,
        cfg_after,
    ));

    for (path, before, after) in edits {
        if before.as_deref() == Some(after.as_str()) {
            continue;
        }
        let diff = TextDiff::from_lines(before.as_deref().unwrap_or(""), &after);
        let (mut added, mut removed) = (0, 0);
        for op in diff.iter_all_changes() {
            match op.tag() {
                similar::ChangeTag::Insert => added += 1,
                similar::ChangeTag::Delete => removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
        plan.edits.push(FileEdit {
            created: before.is_none(),
            path,
            before,
            after,
            added_lines: added,
            removed_lines: removed,
        });
    }
    Ok(plan)
}
