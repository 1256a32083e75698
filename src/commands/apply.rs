//! `o11y apply`: makes the planned changes, all or nothing, with a backup for `undo`.

use crate::cli::{ApplyArgs, Global};
use crate::error::{Failure, EXIT_OK};
use crate::integrations::Integration;
use crate::patch::apply;
use crate::patch::plan::Plan;
use crate::project::Project;
use crate::ui::Printer;

pub fn run(g: &Global, a: &ApplyArgs, out: &Printer) -> Result<u8, Failure> {
    let p = super::find_project(g)?;
    let plan = super::compute_plan(&p, super::enabled(&p), a.only.clone())?;
    execute(&p, &plan, a.yes, a.json, out)
}

/// Shows, confirms and writes a plan. Shared by `apply`, `enable` and `disable`.
pub fn execute(
    p: &Project,
    plan: &Plan,
    yes: bool,
    json: bool,
    out: &Printer,
) -> Result<u8, Failure> {
    out.notes(plan);
    if plan.is_empty() {
        out.manual(&plan.manual);
        if json {
            out.data(r#"{"applied":false,"files":[]}"#);
        }
        out.success("Nothing to do: the project is already in the wanted state.");
        return Ok(EXIT_OK);
    }
    if !yes {
        out.diff(plan);
        out.summary(plan);
        if !out.confirm("Apply these changes?") {
            return Err(Failure::new(
                "nothing was changed: the changes were not confirmed",
                "answer yes at the prompt, or run `o11y apply --yes` (for scripts and CI)",
            ));
        }
    }
    let applied = apply::apply(&p.root, plan)?;
    if json {
        out.data(&serde_json::json!({"applied": true, "backup": applied.backup, "files": applied.files, "manual": plan.manual}).to_string());
    }
    out.summary(plan);
    out.success(&format!(
        "Changed {} file(s); the old versions are in {} (`o11y undo` puts them back).",
        applied.files.len(),
        applied.backup
    ));
    out.manual(&plan.manual);
    let aws = crate::commands::enabled(p)
        .iter()
        .any(|i: &Integration| i.uses_aws());
    out.say(&format!(
        "Next: set your keys ({}), then `docker compose up` and open /api/activities/home.",
        if aws {
            "HONEYCOMB_API_KEY, ROLLBAR_ACCESS_TOKEN, AWS credentials and region"
        } else {
            "HONEYCOMB_API_KEY, ROLLBAR_ACCESS_TOKEN"
        }
    ));
    Ok(EXIT_OK)
}
