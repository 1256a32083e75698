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
            clap_complete::generate(shell, &mut Cli::command(), "o11y", &mut std::io::stdout());
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
    Ok(crate::patch::plan::plan(&inputs, &target)?)
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
