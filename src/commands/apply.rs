//! `o11y apply`: makes the planned changes, all or nothing, with a backup for `undo`.

use crate::cli::{ApplyArgs, Global};
use crate::error::{Failure, EXIT_OK};
use crate::listen;
use crate::patch::apply;
use crate::patch::plan::Plan;
use crate::project::Project;
use crate::secrets::dotenv;
use crate::ui::Printer;

pub fn run(g: &Global, a: &ApplyArgs, out: &Printer) -> Result<u8, Failure> {
    let p = super::find_project(g)?;
    if a.local {
        // Local mode ends in .env: find out first whether it can be written, before any file
        // is changed.
        dotenv::preflight(&p.root)
            .map_err(|e| Failure::new(format!("{e}; nothing was changed"), e.hint()))?;
    }
    let plan = super::compute_plan(&p, super::enabled(&p), a.only.clone(), a.local)?;
    let code = execute(&p, &plan, a.yes, a.json, out)?;
    if !a.local && !a.cloud && !plan.is_empty() {
        let aws = super::enabled(&p).iter().any(|i| i.uses_aws());
        out.say(&format!(
            "Next: set your keys ({}) with `o11y init` (or in .env); `o11y doctor` checks them and `o11y smoke` sends a test signal to each service. Then `docker compose up` and open /api/activities/home. No account yet? `o11y apply --local`.",
            if aws {
                "HONEYCOMB_API_KEY, ROLLBAR_ACCESS_TOKEN, AWS credentials and region"
            } else {
                "HONEYCOMB_API_KEY, ROLLBAR_ACCESS_TOKEN"
            }
        ));
    }
    if a.local {
        local_mode(&p, out)?;
    } else if a.cloud {
        let w =
            dotenv::write_block(&p.root, &[]).map_err(|e| Failure::new(e.to_string(), e.hint()))?;
        if w.changed {
            out.success("Left local mode: o11y's local block is out of .env; the backend talks to the real services again.");
        } else {
            out.success("Not in local mode: .env has no o11y local block.");
        }
    }
    Ok(code)
}

/// The `.env` lines of local mode, for a backend in compose reaching `o11y listen` on the host.
/// Dummy credentials only for keys the user's own `.env` lines do not set.
pub fn local_env(existing: &str) -> Vec<(String, String)> {
    let endpoints = listen::Endpoints {
        host: "host.docker.internal".into(),
        ports: listen::Ports::default(),
    };
    let mut lines: Vec<(String, String)> = endpoints
        .env("host.docker.internal")
        .into_iter()
        .filter(|(k, _)| *k != "OTEL_EXPORTER_OTLP_HEADERS")
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let own = dotenv::keys_outside_block(existing);
    for (k, v) in [
        ("HONEYCOMB_API_KEY", "local"),
        ("ROLLBAR_ACCESS_TOKEN", "local"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ] {
        if !own.iter().any(|o| o == k) {
            lines.push((k.to_string(), v.to_string()));
        }
    }
    lines
}

pub fn local_mode(p: &Project, out: &Printer) -> Result<(), Failure> {
    let existing = std::fs::read_to_string(p.root.join(dotenv::FILE)).unwrap_or_default();
    let w = dotenv::write_block(&p.root, &local_env(&existing))
        .map_err(|e| Failure::new(e.to_string(), e.hint()))?;
    if w.gitignore_updated {
        out.say("  added .env to .gitignore");
    }
    out.success(if w.changed {
        "Local mode: .env points the backend at `o11y listen` on this machine (dummy keys, nothing leaves it)."
    } else {
        "Local mode is already set in .env."
    });
    out.say("Next: in one terminal `o11y listen --bind 0.0.0.0` (containers reach it through host.docker.internal),");
    out.say("      in another `docker compose up --scale xray-daemon=0` (listen takes the daemon's port 2000),");
    out.say("      then open /api/activities/home. `o11y apply --cloud` switches back to the real services.");
    Ok(())
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
    Ok(EXIT_OK)
}
