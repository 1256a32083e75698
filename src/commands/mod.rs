//! One module per command; each reads like the user's action: detect, decide, act, report.
//! What they share (the project, the plan, the check context) is in `shared`.

pub mod apply;
pub mod demo;
pub mod doctor;
pub mod init;
pub mod listen;
pub mod plan;
pub mod shared;
pub mod smoke;
pub mod toggle;
pub mod undo;

use crate::cli::{Cli, Command};
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::ui::Printer;

pub fn run(cli: Cli, out: &Printer) -> Result<ExitStatus, Failure> {
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
            clap_complete::generate(shell, &mut crate::cli::command(), "o11y", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            Ok(ExitStatus::Ok)
        }
    }
}
