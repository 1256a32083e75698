//! `o11y apply`: makes the planned changes, all or nothing, with a backup for `undo`.

use crate::cli::{ApplyArgs, Global};
use crate::error::Failure;
use crate::exit::{ExitStatus, Hint};
use crate::integrations;
use crate::listen;
use crate::patch::apply;
use crate::patch::plan::Plan;
use crate::project::Project;
use crate::secrets::dotenv;
use crate::spec::Integration;
use crate::ui::Printer;

pub fn run(g: &Global, a: &ApplyArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    if a.cloud {
        let (p, _lock) = super::shared::locked_project(g, out)?;
        // Only the endpoints switch back; the code changes stay as they are.
        let w = dotenv::write_block(&p.root, &[])?;
        if w.changed {
            out.success("Left local mode: o11y's local block is out of .env; the backend talks to the real services again.");
        } else {
            out.success("Not in local mode: .env has no o11y local block.");
        }
        return Ok(ExitStatus::Ok);
    }
    let (p, _lock) = super::shared::locked_project(g, out)?;
    let quiet = if a.local {
        local_mode_files(&p)?
    } else {
        Vec::new()
    };
    // `--adopt all` takes every integration switched on; one named is switched on too.
    let mut enabled = super::shared::enabled(&p);
    let adopt = crate::cli::Adopt::resolve(&a.adopt, &enabled);
    for i in &adopt {
        if !enabled.contains(i) {
            enabled.push(*i);
        }
    }
    enabled.sort();
    let plan = super::shared::compute_plan(&p, enabled, a.only.clone(), a.local, &[], &adopt)?;
    let code = execute_with(&p, &plan, &quiet, a.yes, a.json, out)?;
    if a.local {
        say_local_mode(&quiet, &super::shared::enabled(&p), out);
    } else if !plan.is_empty() {
        let enabled = super::shared::enabled(&p);
        let mut keys: Vec<&str> = enabled
            .iter()
            .flat_map(|i| i.spec().secrets.iter().map(|s| s.var))
            .collect();
        if enabled.iter().any(|i| i.uses_aws()) {
            keys.push("AWS credentials and region");
        }
        out.say(&format!(
            "Next: set your keys ({}) with `o11y init` (or in .env); `o11y doctor` checks them and `o11y smoke` sends a test signal to each service. Then `{} up` and open /api/activities/home. No account yet? `o11y apply --local`.",
            keys.join(", "),
            crate::project::compose_command()
        ));
    }
    Ok(code)
}

/// The `.env` lines of local mode, for a backend in compose reaching `o11y listen` on the host.
/// Dummy credentials only for keys the user's own `.env` lines do not set.
pub fn local_env(existing: &str) -> Vec<(String, String)> {
    let endpoints = listen::Endpoints {
        host: "host.docker.internal".into(),
        ports: listen::Ports::defaults(integrations::all()),
    };
    let mut lines: Vec<(String, String)> = endpoints
        .env("host.docker.internal", integrations::all())
        .into_iter()
        .filter(|(k, _)| *k != "OTEL_EXPORTER_OTLP_HEADERS")
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let own = dotenv::keys_outside_block(existing);
    for (k, v) in integrations::local_dummies() {
        if !own.iter().any(|o| o == k) {
            lines.push((k.to_string(), v.to_string()));
        }
    }
    lines
}

/// What local mode changes beside the plan: its block in `.env` (mode 0600) and `.env` in
/// .gitignore when git does not ignore it yet. Part of the apply's backup, so `undo` puts
/// them back too. Refused first, before any file changes, when `.env` cannot be written.
pub fn local_mode_files(p: &Project) -> Result<Vec<apply::Quiet>, Failure> {
    let refuse =
        |e: dotenv::DotenvError| Failure::new(format!("{e}; nothing was changed"), e.hint());
    dotenv::preflight(&p.root).map_err(refuse)?;
    let env_path = p.root.join(dotenv::FILE);
    let before = match std::fs::read_to_string(&env_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(refuse(dotenv::DotenvError::Read {
                path: dotenv::FILE.into(),
                reason: e.to_string(),
            }))
        }
    };
    let existing = before.clone().unwrap_or_default();
    let lines = local_env(&existing);
    dotenv::check_values(&lines).map_err(refuse)?;
    let mut quiet = vec![apply::Quiet {
        path: dotenv::FILE.into(),
        before,
        after: dotenv::merge_block(&existing, &lines),
        mode: Some(0o600),
    }];
    if !dotenv::is_ignored(&p.root) {
        let gi = std::fs::read_to_string(p.root.join(".gitignore")).ok();
        let mut after = gi.clone().unwrap_or_default();
        if !after.is_empty() && !after.ends_with('\n') {
            after.push('\n');
        }
        after.push_str(".env\n");
        quiet.push(apply::Quiet {
            path: ".gitignore".into(),
            before: gi,
            after,
            mode: None,
        });
    }
    Ok(quiet)
}

/// What local mode did, and how to use it.
pub fn say_local_mode(quiet: &[apply::Quiet], enabled: &[Integration], out: &Printer) {
    let changed = quiet
        .iter()
        .any(|q| q.before.as_deref() != Some(q.after.as_str()));
    out.success(if changed {
        "Local mode: .env points the backend at `o11y listen` on this machine (dummy keys, nothing leaves it); `o11y undo` takes it out again."
    } else {
        "Local mode is already set in .env."
    });
    out.say("Next: in one terminal `o11y listen --bind 0.0.0.0` (containers reach it through host.docker.internal),");
    // The containers whose ports `listen` takes (the X-Ray daemon's) stay down.
    let containers: Vec<(&str, Vec<u16>)> = enabled
        .iter()
        .flat_map(|i| {
            i.spec().compose_services.iter().map(move |c| {
                let ports = i
                    .spec()
                    .ports
                    .iter()
                    .filter(|p| p.name == c.name)
                    .map(|p| p.port)
                    .collect();
                (c.name, ports)
            })
        })
        .collect();
    if containers.is_empty() {
        out.say(&format!(
            "      in another `{} up`,",
            crate::project::compose_command()
        ));
    } else {
        let scale: Vec<String> = containers
            .iter()
            .map(|(n, _)| format!("--scale {n}=0"))
            .collect();
        let why: Vec<String> = containers
            .iter()
            .flat_map(|(n, ports)| ports.iter().map(move |p| format!("the {n}'s port {p}")))
            .collect();
        out.say(&format!(
            "      in another `{} up {}` (listen takes {}),",
            crate::project::compose_command(),
            scale.join(" "),
            why.join(" and ")
        ));
    }
    out.say("      then open /api/activities/home. `o11y apply --cloud` switches back to the real services.");
}

/// Shows, confirms and writes a plan. Shared by `apply`, `enable` and `disable`.
pub fn execute(
    p: &Project,
    plan: &Plan,
    yes: bool,
    json: bool,
    out: &Printer,
) -> Result<ExitStatus, Failure> {
    execute_with(p, plan, &[], yes, json, out)
}

/// [`execute`], with files changed quietly beside the plan's (never shown as a diff).
pub fn execute_with(
    p: &Project,
    plan: &Plan,
    quiet: &[apply::Quiet],
    yes: bool,
    json: bool,
    out: &Printer,
) -> Result<ExitStatus, Failure> {
    out.notes(plan);
    let quiet_changes = quiet
        .iter()
        .any(|q| q.before.as_deref() != Some(q.after.as_str()));
    if plan.is_empty() && !quiet_changes {
        out.manual(&plan.manual);
        if json {
            out.data(r#"{"applied":false,"files":[]}"#);
        }
        out.success("Nothing to do: the project is already in the wanted state.");
        return Ok(ExitStatus::Ok);
    }
    if !yes {
        out.diff(plan);
        out.summary(plan);
        out.quiet_summary(quiet);
        if !crate::ui::interactive() {
            return Err(Failure::new(
                "nothing was changed: there is no terminal here to confirm the changes on",
                "pass --yes to make them without asking (for scripts and CI); `o11y plan` shows them",
            ));
        }
        if !out.confirm("Apply these changes?") {
            return Err(Failure::new(
                "nothing was changed: the changes were not confirmed",
                "answer yes at the prompt, or run `o11y apply --yes` (for scripts and CI)",
            ));
        }
    }
    write(p, plan, quiet, yes, json, out)
}

/// Writes a plan that was shown and confirmed (or `--yes`), and says what it did.
pub fn write(
    p: &Project,
    plan: &Plan,
    quiet: &[apply::Quiet],
    list: bool,
    json: bool,
    out: &Printer,
) -> Result<ExitStatus, Failure> {
    let applied = apply::apply_with(&p.root, plan, quiet)?;
    if json {
        out.data(&serde_json::json!({"applied": true, "backup": applied.backup, "files": applied.files, "manual": plan.manual}).to_string());
    }
    if list {
        out.summary(plan);
        out.quiet_summary(quiet);
    }
    out.success(&format!(
        "Changed {} file(s); the old versions are in {} (`o11y undo` puts them back).",
        applied.files.len(),
        applied.backup
    ));
    out.manual(&plan.manual);
    Ok(ExitStatus::Ok)
}
