//! The plan: every file edit that brings a project to the state the enabled integrations need,
//! computed in memory from the files' text. Nothing is written here, so a failure in any one
//! file leaves all of them untouched.

use serde::Serialize;
use similar::TextDiff;

use super::compose::{self, ComposeChange, ComposeError};
use super::python::{self, Context, Want};
use super::{devcontainer, gitpod, requirements, ManualStep, ParseError};
use crate::integrations::{xray, EnvVar, Integration, PyFile, AWS_ENV};

/// A file as read from the project, path relative to the project root.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// The project's files, read by `project::`.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub compose: Source,
    pub service: String,
    /// The backend folder, relative to the project root ("" when it is the root).
    pub backend_dir: String,
    pub requirements: Option<Source>,
    pub python: Vec<(PyFile, Option<Source>)>,
    pub gitpod: Option<Source>,
    /// .devcontainer/devcontainer.json, when the project has one (Codespaces).
    pub devcontainer: Option<Source>,
    pub sampling_rule: Option<Source>,
    pub config: Option<Source>,
}

/// What to bring the project to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Integrations switched on; the others are taken out where o11y put them.
    pub enabled: Vec<Integration>,
    /// Restrict this run to these integrations' changes (`--only`).
    pub only: Option<Vec<Integration>>,
    /// Local mode: the backend in compose must reach `o11y listen` on the host.
    pub local: bool,
}

/// The `extra_hosts` entry that lets a container reach the host on Linux as on Docker Desktop.
pub const HOST_GATEWAY: &str = "host.docker.internal:host-gateway";

/// One file's change.
#[derive(Debug, Clone, Serialize)]
pub struct FileEdit {
    pub path: String,
    /// None when the file is created.
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: String,
    pub created: bool,
    pub added_lines: usize,
    pub removed_lines: usize,
}

/// Every change of one run, and what is left for the user to do by hand.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub edits: Vec<FileEdit>,
    pub manual: Vec<ManualStep>,
    /// Things found done by hand and left alone.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
}

/// A file that stops the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub path: String,
    pub error: ParseError,
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || dir == "." {
        rel.to_string()
    } else {
        format!("{}/{rel}", dir.trim_end_matches('/'))
    }
}

fn fill(v: &str, service: &str) -> String {
    v.replace("{service}", service)
}

/// Every environment variable o11y manages, in the order they are kept in the compose file.
fn env_order() -> Vec<&'static EnvVar> {
    let mut order: Vec<&EnvVar> = Vec::new();
    for i in Integration::ALL {
        order.extend(i.spec().env.iter());
        if i == Integration::Xray {
            order.extend(AWS_ENV.iter());
        }
    }
    order
}

/// Computes the plan. The service name is also what templates call the service.
pub fn plan(inputs: &Inputs, target: &Target) -> Result<Plan, PlanError> {
    let in_scope = |i: Integration| target.only.as_ref().is_none_or(|o| o.contains(&i));
    let on: Vec<Integration> = Integration::ALL
        .into_iter()
        .filter(|i| target.enabled.contains(i) && in_scope(*i))
        .collect();
    let off: Vec<Integration> = Integration::ALL
        .into_iter()
        .filter(|i| !target.enabled.contains(i) && in_scope(*i))
        .collect();
    let service = inputs.service.as_str();
    let ctx = Context { service };
    let mut plan = Plan::default();
    let mut edits: Vec<(String, Option<String>, String)> = Vec::new();

    // Python first: an integration switched off that still has hand-written code keeps its
    // packages and variables, or the backend would no longer start.
    let mut kept_by_hand: Vec<Integration> = Vec::new();
    for (file, source) in &inputs.python {
        let path = join(&inputs.backend_dir, file.rel_path());
        let wants: Vec<Want> = on
            .iter()
            .map(|i| Want {
                integration: *i,
                blocks: i.spec().blocks,
                hand_made: i.spec().hand_made.iter().find(|h| h.file == *file),
            })
            .filter(|w| w.blocks.iter().any(|b| b.file == *file))
            .collect();
        let Some(src) = source else {
            for w in &wants {
                for b in w.blocks.iter().filter(|b| b.file == *file) {
                    plan.manual.push(ManualStep {
                        file: path.clone(),
                        integration: w.integration.name().into(),
                        reason: format!("`{path}` does not exist"),
                        place: b.anchor.describe(),
                        snippet: b.template.replace("{service}", service),
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
        for i in &off {
            for rule in i.spec().hand_made.iter().filter(|h| h.file == *file) {
                if python::hand_state(&out.text, rule).map_err(err)? != python::HandState::None
                    && !kept_by_hand.contains(i)
                {
                    kept_by_hand.push(*i);
                    plan.notes.push(format!(
                        "{} was set up by hand in {path}; o11y only takes out what it added, so its code, packages and variables stay. Remove them by hand to switch it off.",
                        i.title()
                    ));
                }
            }
        }
        for i in out.hand_done {
            plan.notes.push(format!(
                "{} is already set up by hand in {path}; left as it is.",
                i.title()
            ));
        }
        plan.manual.extend(out.manual);
        edits.push((path, Some(src.text.clone()), out.text));
    }
    let off: Vec<Integration> = off
        .into_iter()
        .filter(|i| !kept_by_hand.contains(i))
        .collect();
    let still_on = |i: &Integration| target.enabled.contains(i) || kept_by_hand.contains(i);

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
            !Integration::ALL
                .iter()
                .filter(|i| still_on(i))
                .any(|i| i.spec().packages.contains(p))
        })
        .collect();
    let order: Vec<&str> = Integration::ALL
        .iter()
        .flat_map(|i| i.spec().packages.iter().copied())
        .collect();
    let req_before = inputs.requirements.as_ref().map(|s| s.text.clone());
    let req_text = req_before.clone().unwrap_or_default();
    let req_after =
        requirements::patch_ordered(&req_text, &add, &remove, &order).map_err(|error| {
            PlanError {
                path: req_path.clone(),
                error,
            }
        })?;
    edits.push((req_path, req_before, req_after));

    // docker-compose.yml
    let mut add_env: Vec<(String, String)> = Vec::new();
    let mut remove_env: Vec<String> = Vec::new();
    for i in &on {
        add_env.extend(
            i.spec()
                .env
                .iter()
                .map(|e| (e.name.to_string(), fill(e.value, service))),
        );
    }
    for i in &off {
        remove_env.extend(i.spec().env.iter().map(|e| e.name.to_string()));
    }
    let aws_needed = Integration::ALL.iter().any(|i| i.uses_aws() && still_on(i));
    if on.iter().any(|i| i.uses_aws()) {
        add_env.extend(
            AWS_ENV
                .iter()
                .map(|e| (e.name.to_string(), e.value.to_string())),
        );
    } else if !aws_needed && off.iter().any(|i| i.uses_aws()) {
        remove_env.extend(AWS_ENV.iter().map(|e| e.name.to_string()));
    }
    let order = env_order();
    add_env.sort_by_key(|(n, _)| order.iter().position(|e| e.name == n));
    let change = ComposeChange {
        service,
        add_env,
        remove_env,
        order: order.iter().map(|e| e.name.to_string()).collect(),
        add_daemon: on
            .contains(&Integration::Xray)
            .then_some((xray::DAEMON_SERVICE, xray::DAEMON_TEMPLATE)),
        remove_daemon: off
            .contains(&Integration::Xray)
            .then_some(xray::DAEMON_SERVICE),
        extra_host: target.local.then_some(HOST_GATEWAY),
    };
    let compose_path = inputs.compose.path.clone();
    match compose::patch(&inputs.compose.text, &change) {
        Ok(text) => edits.push((compose_path, Some(inputs.compose.text.clone()), text)),
        Err(ComposeError::Parse(error)) => {
            return Err(PlanError {
                path: compose_path,
                error,
            })
        }
        Err(ComposeError::Unsafe(reason)) => {
            let mut snippet = String::from("environment:\n");
            for (n, v) in &change.add_env {
                snippet.push_str(&format!("  {n}: \"{v}\"\n"));
            }
            plan.manual.push(ManualStep {
                file: compose_path,
                integration: "all".into(),
                reason,
                place: format!("in the `environment:` of service `{service}` (and add the `xray-daemon` service)"),
                snippet,
            });
        }
    }

    // aws/json/xray.json
    if on.contains(&Integration::Xray) && inputs.sampling_rule.is_none() {
        edits.push((
            xray::SAMPLING_RULE_PATH.to_string(),
            None,
            fill(xray::SAMPLING_RULE_TEMPLATE, service),
        ));
    }

    // .gitpod.yml
    if let Some(g) = &inputs.gitpod {
        if !on.is_empty() {
            let after = gitpod::patch(&g.text, service).map_err(|error| PlanError {
                path: g.path.clone(),
                error,
            })?;
            edits.push((g.path.clone(), Some(g.text.clone()), after));
        }
    }

    // .devcontainer/devcontainer.json
    if let Some(d) = &inputs.devcontainer {
        if !on.is_empty() {
            let after = devcontainer::patch(&d.text).map_err(|error| PlanError {
                path: d.path.clone(),
                error,
            })?;
            edits.push((d.path.clone(), Some(d.text.clone()), after));
        }
    }

    // o11y.toml
    let cfg_before = inputs.config.as_ref().map(|c| c.text.clone());
    let cfg_after = crate::project::config::render(cfg_before.as_deref(), service, &target.enabled)
        .map_err(|error| PlanError {
            path: crate::project::config::FILE.to_string(),
            error,
        })?;
    edits.push((
        crate::project::config::FILE.to_string(),
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
