//! What the commands share: finding the project, the integrations switched on, the plan,
//! the async runtime, the APIs and the check context.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{ApiFlags, Global};
use crate::context::{self, Ctx, Endpoints};
use crate::error::Failure;
use crate::exit::Hint;
use crate::integrations;
use crate::net;
use crate::patch::plan::{Plan, Target};
use crate::project::{self, Project};
use crate::secrets::dotenv;
use crate::spec::Integration;

/// The project o11y works on, from `--project` or the current folder upwards.
pub fn find_project(g: &Global) -> Result<Project, Failure> {
    let (start, exact) = match &g.project {
        Some(p) => (p.clone(), true),
        None => (
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            false,
        ),
    };
    // When the folder came from O11Y_PROJECT (and not the flag), say so: it is easy to forget.
    let from_env = exact
        && std::env::var_os(crate::env::PROJECT).is_some_and(|v| v == start.as_os_str())
        && !std::env::args().any(|a| a == "--project" || a.starts_with("--project="));
    let cause = |f: Failure| {
        if from_env {
            let mut f = Failure::new(
                format!("{} (the folder comes from O11Y_PROJECT)", f.message),
                "unset O11Y_PROJECT (or point it at your project) to let o11y find the project from the current folder",
            );
            f.hints
                .push("pass the folder that holds docker-compose.yml with `--project DIR`".into());
            f
        } else {
            f
        }
    };
    if exact && !start.is_dir() {
        return Err(cause(Failure::new(
            format!("{} is not a folder", start.display()),
            "pass the folder that holds docker-compose.yml with `--project DIR`",
        )));
    }
    project::detect(
        &start,
        exact,
        g.service.as_deref(),
        g.compose.as_deref(),
        integrations::all(),
    )
    .map_err(|e| cause(e.into()))
}

/// The project, found again under o11y's lock on it once an interrupted apply was put back:
/// a plan made from it sees whole files, which no other o11y changes while the lock is held.
/// Every command that writes the project's files starts here.
pub fn locked_project(
    g: &Global,
    out: &crate::ui::Printer,
) -> Result<(Project, crate::patch::apply::Lock), Failure> {
    let p = find_project(g)?;
    let lock = crate::patch::apply::lock(&p.root)?;
    recover(&p, out)?;
    Ok((find_project(g)?, lock))
}

/// Puts back the files of an apply that was interrupted (killed, power lost), saying so.
/// Call with the lock held.
pub fn recover(p: &Project, out: &crate::ui::Printer) -> Result<(), Failure> {
    match crate::patch::apply::recover(&p.root) {
        Ok(Some(r)) if r.restored > 0 || !r.kept.is_empty() => {
            out.warn(&format!(
                "An earlier `o11y apply` was interrupted: its {} file(s) were put back as they were before it.",
                r.restored
            ));
            if !r.kept.is_empty() {
                out.warn(&format!(
                    "Left as they are, since they were changed after it: {} (check them with `git diff`).",
                    r.kept.join(", ")
                ));
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::new(
            format!("an interrupted `o11y apply` could not be rolled back: {e}"),
            e.hint(),
        )),
    }
}

/// The integrations switched on: o11y.toml's list, else all of them; less those the student
/// switched off by hand in the app module.
pub fn enabled(p: &Project) -> Vec<Integration> {
    let off = switched_off(p);
    p.config
        .integrations
        .clone()
        .unwrap_or_else(|| integrations::all().to_vec())
        .into_iter()
        .filter(|i| !off.iter().any(|s| s.integration == *i))
        .collect()
}

/// The integrations the student switched off by hand (none when the files cannot be read;
/// the plan then says why).
pub fn switched_off(p: &Project) -> Vec<crate::patch::plan::SwitchedOff> {
    p.inputs()
        .map(|inputs| crate::patch::plan::switched_off(&inputs, integrations::all()))
        .unwrap_or_default()
}

/// The plan for `p` towards `enabled`.
pub fn compute_plan(
    p: &Project,
    enabled: Vec<Integration>,
    only: Option<Vec<Integration>>,
    local: bool,
    forced: &[Integration],
    adopt: &[Integration],
) -> Result<Plan, Failure> {
    let inputs = p.inputs()?;
    let target = Target {
        all: integrations::all().to_vec(),
        enabled,
        only,
        local,
        forced: forced.to_vec(),
        adopt: adopt.to_vec(),
    };
    let plan = crate::patch::plan::plan(&inputs, &target)?;
    if let Some(e) = plan
        .edits
        .iter()
        .find(|e| !crate::patch::apply::inside(&e.path))
    {
        return Err(crate::patch::apply::ApplyError::Outside {
            path: e.path.clone(),
        }
        .into());
    }
    Ok(plan)
}

/// A tokio runtime for the commands that do network work.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                format!("cannot start the async runtime: {e}"),
                "this is a bug or a resource limit; try again",
            )
        })
}

/// The APIs of this run, after flag > environment > o11y.toml > default.
pub struct Apis {
    pub apis: BTreeMap<Integration, String>,
    /// One line per override in effect, naming where it came from.
    pub notes: Vec<String>,
}

/// Resolves every integration's API (and a fallback API, like Honeycomb's EU one). Every
/// override is named, and refused when a key sent there would travel unencrypted to another
/// machine: the same guard for every command that sends a key.
pub fn apis(p: Option<&Project>, flags: &ApiFlags) -> Result<Apis, Failure> {
    let toml = p.map(|p| p.config.endpoints.clone()).unwrap_or_default();
    let mut out = Apis {
        apis: BTreeMap::new(),
        notes: Vec::new(),
    };
    for i in integrations::all() {
        let spec = i.spec();
        let Some(api) = spec.api else { continue };
        let env = std::env::var(api.env).ok().filter(|v| !v.trim().is_empty());
        let (url, from) = match (flags.0.get(i), env, toml.get(api.toml_key)) {
            (Some(f), _, _) => (f.clone(), format!("the {} flag", api.flag())),
            (None, Some(e), _) => (e, api.env.to_string()),
            (None, None, Some(t)) => (
                t.clone(),
                format!("[endpoints] {} in o11y.toml", api.toml_key),
            ),
            (None, None, None) => {
                out.apis.insert(*i, api.default.to_string());
                continue;
            }
        };
        let url = url.trim().to_string();
        net::key_may_go_to(&url).map_err(|why| {
            Failure::new(
                format!("the {} API is set to {url} by {from}: {why}", spec.title),
                format!("use an https:// URL, or remove the override ({from})"),
            )
        })?;
        if url.trim_end_matches('/') != api.default.trim_end_matches('/') {
            out.notes.push(format!(
                "Using the {} API {url} (from {from}), not {}.",
                spec.title, api.default
            ));
        }
        out.apis.insert(*i, url);
    }
    for i in integrations::all() {
        let spec = i.spec();
        let Some(fallback) = spec.fallback_api else {
            continue;
        };
        let Some(url) = std::env::var(fallback.env)
            .ok()
            .filter(|v| !v.trim().is_empty())
        else {
            continue;
        };
        net::key_may_go_to(&url).map_err(|why| {
            Failure::new(
                format!(
                    "the {} fallback API is set to {url} by {}: {why}",
                    spec.title, fallback.env
                ),
                format!("use an https:// URL, or unset {}", fallback.env),
            )
        })?;
        out.notes.push(format!(
            "Using the {} API {url} (from {}) for keys the first API does not know, not {}.",
            fallback.what, fallback.env, fallback.default
        ));
    }
    Ok(out)
}

/// What a command gives the check and smoke context.
pub struct Options<'a> {
    pub timeout: f64,
    pub apis: &'a ApiFlags,
    pub backend_url: String,
}

/// The context checks and smoke steps run in: the project (or why there is none), its files,
/// the variables of this shell and `.env`, the endpoints, one HTTP client.
pub fn context(g: &Global, o: &Options) -> Result<Ctx, Failure> {
    let project = find_project(g).map_err(|f| format!("{} ({})", f.message, f.hints.join("; ")));
    // A project whose files cannot be read is no project to check: the project check fails.
    let (inputs, unreadable) = match project.as_ref().ok().map(|p| p.inputs()) {
        Some(Ok(i)) => (Some(i), None),
        Some(Err(e)) => (None, Some((e.to_string(), e.hint()))),
        None => (None, None),
    };
    let enabled = project
        .as_ref()
        .map(enabled)
        .unwrap_or_else(|_| integrations::all().to_vec());
    let mut vars: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
    if let Ok(p) = &project {
        let text = crate::patch::apply::read_regular(&p.root.join(dotenv::FILE), dotenv::MAX_READ)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        for (k, v) in dotenv::parse(&text) {
            vars.insert(k, (v, context::DOTENV));
        }
    }
    for (k, v) in std::env::vars() {
        vars.insert(k, (v, "in this shell"));
    }
    let apis = apis(project.as_ref().ok(), o.apis)?;
    let timeout = Duration::from_secs_f64(o.timeout.max(0.1));
    // Requests give up a little before the check does, so the diagnosis is the service's own.
    let http = net::client(timeout.mul_f64(0.8)).map_err(bug)?;
    Ok(Ctx {
        project: project.clone(),
        inputs,
        unreadable,
        enabled,
        all: integrations::all().to_vec(),
        vars,
        endpoints: Endpoints {
            apis: apis.apis,
            backend: o.backend_url.clone(),
            notes: apis.notes,
        },
        http,
        timeout,
        aws: Default::default(),
        cwd: std::env::current_dir().unwrap_or_default(),
        local: project
            .as_ref()
            .is_ok_and(|p| dotenv::in_local_mode(&p.root)),
    })
}

/// A failure that only a bug in o11y explains.
pub fn bug(what: String) -> Failure {
    Failure::new(what, "this is a bug; please report it")
}

/// Every check, in the order they are shown: the generic ones and each integration's own,
/// group by group.
pub fn checks() -> Vec<crate::context::Check> {
    let mut all = crate::doctor::generic();
    for d in integrations::defs() {
        all.extend((d.checks)());
    }
    all.sort_by_key(|c| c.group);
    all
}
