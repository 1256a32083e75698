//! `o11y plan`: the diff of every change still to make; nothing is written.

use crate::cli::{Global, PlanArgs};
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::ui::Printer;

pub fn run(g: &Global, a: &PlanArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    let p = super::shared::find_project(g)?;
    let plan = super::shared::compute_plan(
        &p,
        super::shared::enabled(&p),
        a.only.clone(),
        false,
        &[],
        &[],
    )?;
    if a.json {
        out.json_pretty(&plan);
        return Ok(if plan.is_empty() {
            ExitStatus::Ok
        } else {
            ExitStatus::Pending
        });
    }
    out.say(&format!(
        "Project {} (compose file {}, backend service `{}` in {}/)",
        p.root.display(),
        p.compose,
        p.service,
        p.backend_shown()
    ));
    out.notes(&plan);
    if plan.is_empty() {
        out.manual(&plan.manual);
        out.success("Nothing to do: every enabled integration is wired in.");
        return Ok(ExitStatus::Ok);
    }
    out.diff(&plan);
    out.say("");
    out.summary(&plan);
    out.manual(&plan.manual);
    out.say(&format!(
        "{} file(s) to change. Run `o11y apply` to make these changes (backed up first; `o11y undo` reverts them).",
        plan.edits.len()
    ));
    Ok(ExitStatus::Pending)
}
