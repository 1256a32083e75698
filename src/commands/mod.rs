//! One file per command; each reads like the user's action: detect, decide, act, report.

pub mod apply;
pub mod demo;
pub mod doctor;
pub mod init;
pub mod listen;
pub mod plan;
pub mod smoke;
pub mod toggle;
pub mod undo;

use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::{Cli, Command, Global};
use crate::error::{Failure, EXIT_OK};
use crate::integrations::Integration;
use crate::patch::plan::{Plan, Target};
use crate::project::{self, Project};
use crate::ui::Printer;

pub fn run(cli: Cli, out: &Printer) -> Result<u8, Failure> {
    let g = &cli.global;
    match cli.command {
        Command::Init(a) => init::run(g, &a, out),
        Command::Plan(a) => plan::run(g, &a, out),
        Command::Apply(a) => apply::run(g, &a, out),
        Command::Undo(a) => undo::run(g, &a, out),
        Command::Enable(a) => toggle::run(g, &a, true, out),
        Command::Disable(a) => toggle::run(g, &a, false, out),
        Command::Listen(a) => listen::run(g, &a, out),
        Command::Demo(a) => demo::run(g, &a, out),
        Command::Doctor(a) => doctor::run(g, &a, out),
        Command::Smoke(a) => smoke::run(g, &a, out),
        Command::Completions { shell } => {
            // Written at once, and a reader that stops early (`| head`) ends it quietly.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "o11y", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            Ok(EXIT_OK)
        }
    }
}

/// The project o11y works on, from `--project` or the current folder upwards.
pub fn find_project(g: &Global) -> Result<Project, Failure> {
    let (start, exact) = match &g.project {
        Some(p) => (p.clone(), true),
        None => (
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            false,
        ),
    };
    if exact && !start.is_dir() {
        return Err(Failure::new(
            format!("{} is not a folder", start.display()),
            "pass the folder that holds docker-compose.yml with `--project DIR`",
        ));
    }
    Ok(project::detect(&start, exact, g.service.as_deref())?)
}

/// The integrations switched on: o11y.toml's list, else all four.
pub fn enabled(p: &Project) -> Vec<Integration> {
    p.config
        .integrations
        .clone()
        .unwrap_or_else(|| Integration::ALL.to_vec())
}

/// The plan for `p` towards `enabled`.
pub fn compute_plan(
    p: &Project,
    enabled: Vec<Integration>,
    only: Option<Vec<Integration>>,
    local: bool,
) -> Result<Plan, Failure> {
    let inputs = p.inputs()?;
    let target = Target {
        enabled,
        only,
        local,
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

/// The Honeycomb and Rollbar APIs of this run, after flag > environment > o11y.toml > default.
pub struct Apis {
    pub honeycomb: String,
    pub rollbar: String,
    /// One line per override in effect, naming where it came from.
    pub notes: Vec<String>,
}

/// Resolves both APIs (and the Honeycomb EU fallback). Every override is named, and refused
/// when a key sent there would travel unencrypted to another machine: the same guard for
/// every command that sends a key.
pub fn apis(
    p: Option<&Project>,
    honeycomb_flag: &Option<String>,
    rollbar_flag: &Option<String>,
) -> Result<Apis, Failure> {
    use crate::integrations::{honeycomb, net, rollbar};
    let toml = p.map(|p| p.config.endpoints.clone()).unwrap_or_default();
    let mut notes = Vec::new();
    let mut one = |name: &str,
                   flag: &Option<String>,
                   flag_name: &str,
                   var: &str,
                   key: &str,
                   default: &str|
     -> Result<String, Failure> {
        let env = std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let (url, from) = match (flag, env, toml.get(key)) {
            (Some(f), _, _) => (f.clone(), format!("the {flag_name} flag")),
            (None, Some(e), _) => (e, var.to_string()),
            (None, None, Some(t)) => (t.clone(), format!("[endpoints] {key} in o11y.toml")),
            (None, None, None) => return Ok(default.to_string()),
        };
        let url = url.trim().to_string();
        net::key_may_go_to(&url).map_err(|why| {
            Failure::new(
                format!("the {name} API is set to {url} by {from}: {why}"),
                format!("use an https:// URL, or remove the override ({from})"),
            )
        })?;
        if url.trim_end_matches('/') != default.trim_end_matches('/') {
            notes.push(format!(
                "Using the {name} API {url} (from {from}), not {default}."
            ));
        }
        Ok(url)
    };
    let h = one(
        "Honeycomb",
        honeycomb_flag,
        "--honeycomb-api",
        honeycomb::API_VAR,
        "honeycomb_api",
        honeycomb::API,
    )?;
    let r = one(
        "Rollbar",
        rollbar_flag,
        "--rollbar-api",
        rollbar::API_VAR,
        "rollbar_api",
        rollbar::API,
    )?;
    if let Some(eu) = std::env::var(honeycomb::EU_API_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        net::key_may_go_to(&eu).map_err(|why| {
            Failure::new(
                format!(
                    "the Honeycomb EU API is set to {eu} by {}: {why}",
                    honeycomb::EU_API_VAR
                ),
                format!("use an https:// URL, or unset {}", honeycomb::EU_API_VAR),
            )
        })?;
        notes.push(format!(
            "Using the Honeycomb EU API {eu} (from {}) for keys the first API does not know, not {}.",
            honeycomb::EU_API_VAR,
            honeycomb::EU_API
        ));
    }
    Ok(Apis {
        honeycomb: h,
        rollbar: r,
        notes,
    })
}
