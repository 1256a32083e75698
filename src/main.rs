use std::process::ExitCode;

use o11y::{cli, commands, ui};

fn main() -> ExitCode {
    let cli = cli::parse();
    let g = &cli.global;
    let out = ui::Printer::new(g.color, g.quiet, g.verbose);
    match commands::run(cli, &out) {
        Ok(status) => ExitCode::from(status.code()),
        Err(failure) => {
            out.failure(&failure);
            ExitCode::from(failure.status.code())
        }
    }
}
