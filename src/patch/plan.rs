//! The plan: every file edit that brings a project to the state the enabled integrations need,
//! computed in memory from the files' text. Nothing is written here, so a failure in any one
//! file leaves all of them untouched.

use serde::Serialize;
use similar::TextDiff;

use super::compose::{self, ComposeChange, ComposeError};
use super::python::{self, Context, Want};
use super::{automations, devcontainer, gitpod, requirements, ManualStep, ParseError};
use crate::spec::{EnvVar, Integration, PyFile, AWS_ENV};

pub use super::Source;

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
    /// .devcontainer/devcontainer.json, when the project has one (Codespaces, the current
    /// Gitpod).
    pub devcontainer: Option<Source>,
    /// .gitpod/automations.yaml (the current Gitpod's start tasks), when the project has one.
    pub automations: Option<Source>,
    /// Which of the files integrations create exist already.
    pub present: Vec<String>,
    pub config: Option<Source>,
    /// The module that creates the Flask app, relative to the backend folder.
    pub app_file: String,
    /// Backend modules the app module imports, followed through their own imports: where a
    /// grown project keeps its setups (`lib/honeycomb.py` with `init_honeycomb(app)`).
    pub linked: Vec<Source>,
    /// What services read with `env_file:`.
    pub env_files: Vec<EnvFile>,
}

/// A file of variables a compose service reads with `env_file:`.
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    pub service: String,
    /// As written in the compose file.
    pub path: String,
    /// The template the file is generated from, read in its place when the file itself is
    /// missing (`erb/backend-flask.env.erb` for `backend-flask.env`).
    pub template: Option<String>,
    /// Its variables: (name, value as written).
    pub vars: Vec<(String, String)>,
    /// Neither the file nor a template of it could be read: what it sets is unknown.
    pub unread: bool,
}

impl Inputs {
    /// The path of a Python file, relative to the project root.
    pub fn path_of(&self, file: PyFile) -> String {
        match file {
            PyFile::App => join(&self.backend_dir, &self.app_file),
            other => join(&self.backend_dir, other.rel_path()),
        }
    }

    /// The variables `service` gets from its env files, with the file each came from.
    pub fn env_file_vars(&self, service: &str) -> Vec<(&str, &str, &EnvFile)> {
        self.env_files
            .iter()
            .filter(|f| f.service == service)
            .flat_map(|f| f.vars.iter().map(move |(n, v)| (n.as_str(), v.as_str(), f)))
            .collect()
    }
}

impl EnvFile {
    /// The file's name for messages: the template when that is what was read.
    pub fn shown(&self) -> String {
        match &self.template {
            Some(t) => format!("{} (from {t})", self.path),
            None => self.path.clone(),
        }
    }
}

/// What to bring the project to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Every integration o11y knows, in registry order.
    pub all: Vec<Integration>,
    /// Integrations switched on; the others are taken out where o11y put them.
    pub enabled: Vec<Integration>,
    /// Restrict this run to these integrations' changes (`--only`).
    pub only: Option<Vec<Integration>>,
    /// Local mode: the backend in compose must reach `o11y listen` on the host.
    pub local: bool,
    /// Switched on even where the student switched it off by hand (`o11y enable NAME`).
    pub forced: Vec<Integration>,
    /// Whose hand-made setup in the app module is replaced by o11y's (`apply --adopt NAME`).
    pub adopt: Vec<Integration>,
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
    /// Integrations set up by hand, where, and what is worth a warning about them.
    #[serde(skip)]
    pub hand: Vec<HandFound>,
}

/// An integration found set up by hand and left alone.
#[derive(Debug, Clone)]
pub struct HandFound {
    pub integration: Integration,
    /// Where: the app module, and the modules it imports that hold the setup.
    pub path: String,
    /// A flaw that does not stop it from working.
    pub warning: Option<String>,
}

/// Where a hand-made setup lives: `path`, or the imported modules that hold it.
fn places(path: &str, text: &str, rule: &crate::spec::HandMade, ctx: &Context) -> String {
    let linked = python::hand_places(rule, text, ctx);
    if linked.is_empty() {
        path.to_string()
    } else {
        format!("{} (used by {path})", linked.join(", "))
    }
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

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, line {}: {}",
            self.path, self.error.line, self.error.what
        )
    }
}

impl crate::exit::Hint for PlanError {
    fn hint(&self) -> String {
        format!(
            "o11y changed nothing; fix {} at that line (or restore it with `git checkout -- {}`), then run o11y again",
            self.path, self.path
        )
    }
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || dir == "." {
        rel.to_string()
    } else {
        format!("{}/{rel}", dir.trim_end_matches('/'))
    }
}

/// The release whose binary the install script falls back to: the one that wrote it.
pub const RELEASE_URL: &str = concat!(
    "https://github.com/cruddur-o11y/cruddur-o11y/releases/download/v",
    env!("CARGO_PKG_VERSION")
);

/// `bin/install-o11y`, for this version of o11y.
pub fn install_script() -> String {
    include_str!("../../templates/workspace/install-o11y.sh")
        .replace("{version}", env!("CARGO_PKG_VERSION"))
        .replace("{release_url}", RELEASE_URL)
}

fn fill(v: &str, service: &str) -> String {
    v.replace("{service}", service)
}

/// Every environment variable o11y manages, in the order they are kept in the compose file:
/// each integration's, and the shared AWS ones after the first integration that uses AWS.
fn env_order(all: &[Integration]) -> Vec<&'static EnvVar> {
    let mut order: Vec<&EnvVar> = Vec::new();
    let mut aws = false;
    for i in all {
        order.extend(i.spec().env.iter());
        if i.uses_aws() && !aws {
            order.extend(AWS_ENV.iter());
            aws = true;
        }
    }
    order
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
    let mut edits: Vec<(String, Option<String>, String)> = Vec::new();

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
    let in_compose = compose::services(&inputs.compose.text)
        .ok()
        .and_then(|all| all.into_iter().find(|s| s.name == service))
        .map(|s| s.env)
        .unwrap_or_default();
    for i in &off {
        // After `enable` and `disable` of one switched off by hand, only o11y's own values go.
        let own = |e: &&EnvVar| {
            !exact_only.contains(i)
                || in_compose
                    .iter()
                    .any(|(n, v)| n == e.name && *v == fill(e.value, service))
        };
        remove_env.extend(i.spec().env.iter().filter(own).map(|e| e.name.to_string()));
    }
    let aws_needed = target.all.iter().any(|i| i.uses_aws() && still_on(i));
    if on.iter().any(|i| i.uses_aws()) {
        add_env.extend(
            AWS_ENV
                .iter()
                .map(|e| (e.name.to_string(), e.value.to_string())),
        );
    } else if !aws_needed && off.iter().any(|i| i.uses_aws()) {
        remove_env.extend(AWS_ENV.iter().map(|e| e.name.to_string()));
    }
    // What the service's env files set stays theirs: an `environment:` entry of the same name
    // would take precedence over it (docker compose's order) and blank a working value.
    let from_files = inputs.env_file_vars(service);
    let mut left_to_files: Vec<&str> = Vec::new();
    add_env.retain(|(n, _)| {
        let Some((_, _, f)) = from_files.iter().find(|(v, _, _)| v == n) else {
            return true;
        };
        if !in_compose.iter().any(|(c, _)| c == n) && !left_to_files.contains(&n.as_str()) {
            left_to_files.push(f.path.as_str());
        }
        false
    });
    left_to_files.dedup();
    let unread: Vec<&str> = inputs
        .env_files
        .iter()
        .filter(|f| f.service == service && f.unread)
        .map(|f| f.path.as_str())
        .collect();
    let new_vars: Vec<&str> = add_env
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !in_compose.iter().any(|(c, _)| c == n))
        .collect();
    if !unread.is_empty() && !new_vars.is_empty() {
        plan.notes.push(format!(
            "The backend also reads {}, which o11y could not read (not there, and no template of it found); `environment:` wins over it, so check that it does not set {} before you start the stack.",
            unread.join(", "),
            new_vars.join(", ")
        ));
    }
    if !left_to_files.is_empty() {
        plan.notes.push(format!(
            "The backend gets its variables from {}; o11y adds to `environment:` only what that does not set, so nothing there is overridden.",
            left_to_files.join(", ")
        ));
    }
    // Local mode sends to `o11y listen` through `.env`, which reaches the backend only through
    // `${VAR}` references: an endpoint written out keeps the backend sending to the service.
    if target.local {
        for e in on
            .iter()
            .flat_map(|i| i.spec().env.iter())
            .filter(|e| e.local)
        {
            if let Some((_, v)) = in_compose
                .iter()
                .find(|(n, v)| n == e.name && !v.is_empty() && !v.contains('$'))
            {
                remove_env.push(e.name.to_string());
                add_env.retain(|(n, _)| n != e.name);
                add_env.push((e.name.to_string(), format!("${{{}:-{v}}}", e.name)));
                plan.notes.push(format!(
                    "{} is written out as {v} in {}, so in local mode the backend would still send there; o11y makes it \"${{{}:-{v}}}\": the same without .env, and `o11y listen` in local mode.",
                    e.name, inputs.compose.path, e.name
                ));
            } else if let Some((_, v, f)) = from_files
                .iter()
                .find(|(n, v, _)| *n == e.name && !v.is_empty() && !v.contains('$'))
            {
                if !in_compose.iter().any(|(n, _)| n == e.name) {
                    plan.notes.push(format!(
                        "Local mode cannot reach the backend's {}: {} sets it to {v}, and an env file wins over .env. Set it to the local receiver there while you work locally (`o11y listen` prints the address).",
                        e.name,
                        f.shown()
                    ));
                }
            }
        }
    }
    let order = env_order(&target.all);
    add_env.sort_by_key(|(n, _)| order.iter().position(|e| e.name == n));
    let change = ComposeChange {
        service,
        add_env,
        remove_env,
        order: order.iter().map(|e| e.name.to_string()).collect(),
        add_services: on
            .iter()
            .flat_map(|i| i.spec().compose_services.iter())
            .map(|c| (c.name, c.template))
            .collect(),
        remove_services: off
            .iter()
            .filter(|i| !exact_only.contains(i))
            .flat_map(|i| i.spec().compose_services.iter())
            .map(|c| c.name)
            .collect(),
        remove_own_services: exact_only
            .iter()
            .flat_map(|i| i.spec().compose_services.iter())
            .map(|c| (c.name, c.template))
            .collect(),
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
                place: if change.add_services.is_empty() {
                    format!("in the `environment:` of service `{service}`")
                } else {
                    format!(
                        "in the `environment:` of service `{service}` (and add the {} service)",
                        change
                            .add_services
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                },
                snippet,
            });
        }
    }

    // The files integrations create (aws/json/xray.json), where missing.
    for f in on.iter().flat_map(|i| i.spec().files.iter()) {
        if !inputs.present.iter().any(|p| p == f.path) {
            edits.push((f.path.to_string(), None, fill(f.template, service)));
        }
    }

    // .gitpod.yml
    if let Some(g) = &inputs.gitpod {
        if !on.is_empty() {
            let ports: Vec<crate::spec::WorkspacePort> = on
                .iter()
                .flat_map(|i| i.spec().ports.iter().copied())
                .collect();
            let after = gitpod::patch(&g.text, service, &ports).map_err(|error| PlanError {
                path: g.path.clone(),
                error,
            })?;
            edits.push((g.path.clone(), Some(g.text.clone()), after));
        }
    }

    // .devcontainer/devcontainer.json
    if let Some(d) = &inputs.devcontainer {
        if !on.is_empty() {
            let ports: Vec<u16> = std::iter::once(gitpod::BACKEND_PORT)
                .chain(
                    on.iter()
                        .flat_map(|i| i.spec().ports.iter().map(|p| p.port)),
                )
                .collect();
            let after = devcontainer::patch(&d.text, &ports).map_err(|error| PlanError {
                path: d.path.clone(),
                error,
            })?;
            edits.push((d.path.clone(), Some(d.text.clone()), after));
        }
    }

    // .gitpod/automations.yaml: the current Gitpod's start task. Edited where it exists, and
    // created in a project set up for a cloud workspace (a .gitpod.yml or a dev container),
    // which the current Gitpod opens.
    let workspace_project = inputs.gitpod.is_some() || inputs.devcontainer.is_some();
    if !on.is_empty() && (inputs.automations.is_some() || workspace_project) {
        let path = inputs
            .automations
            .as_ref()
            .map_or(automations::FILE.to_string(), |a| a.path.clone());
        let before = inputs.automations.as_ref().map(|a| a.text.as_str());
        let after = automations::patch(before, gitpod::TASK_LINE).map_err(|error| PlanError {
            path: path.clone(),
            error,
        })?;
        edits.push((path, before.map(str::to_string), after));
    }

    // The install script the start tasks run, wherever one runs it.
    let runs_script = edits
        .iter()
        .any(|(_, _, after)| after.contains(gitpod::INSTALL_SCRIPT));
    if runs_script && !inputs.present.iter().any(|p| p == gitpod::INSTALL_SCRIPT) {
        edits.push((gitpod::INSTALL_SCRIPT.to_string(), None, install_script()));
    }

    // o11y.toml
    let cfg_before = inputs.config.as_ref().map(|c| c.text.clone());
    let recorded: Vec<Integration> = target
        .enabled
        .iter()
        .copied()
        .filter(|i| !left_off(i))
        .collect();
    let cfg_after = super::config::render(cfg_before.as_deref(), service, &recorded, &target.all)
        .map_err(|error| PlanError {
        path: super::config::FILE.to_string(),
        error,
    })?;
    edits.push((super::config::FILE.to_string(), cfg_before, cfg_after));

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
