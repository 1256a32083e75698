//! `o11y doctor`: every check at once, one screen, a fix for each problem.

use std::sync::Arc;

use crate::cli::{DoctorArgs, Global};
use crate::context::{Check, Ctx};
use crate::doctor;
use crate::error::Failure;
use crate::exit::{ExitStatus, Hint};
use crate::integrations;
use crate::patch::apply;
use crate::project::Project;
use crate::report::{Report, Status};
use crate::ui::Printer;

fn options(a: &DoctorArgs) -> super::shared::Options<'_> {
    super::shared::Options {
        timeout: a.timeout,
        apis: &a.apis,
        backend_url: a.backend_url.clone(),
    }
}

pub fn run(g: &Global, a: &DoctorArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    let rt = super::shared::runtime()?;
    let all = super::shared::checks();
    // A word of --only picks a group as the screen shows it (`services`: every check under
    // "Services"), or the checks whose id starts with it (`honeycomb`, `rollbar.token`).
    let picks = |c: &Check, p: &str| {
        let p = p.trim();
        !p.is_empty() && (c.id.starts_with(p) || c.group.title().eq_ignore_ascii_case(p))
    };
    if let Some(only) = &a.only {
        let unknown: Vec<&str> = only
            .iter()
            .map(|p| p.trim())
            .filter(|p| !all.iter().any(|c| picks(c, p)))
            .collect();
        if !unknown.is_empty() {
            let ids: Vec<&str> = all.iter().map(|c| c.id).collect();
            return Err(Failure::new(
                format!(
                    "no check's id starts with {}",
                    unknown
                        .iter()
                        .map(|u| format!("`{u}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "give ids or their beginnings (a group such as `services`, or `{}`): {}",
                    integrations::all()[0],
                    ids.join(", ")
                ),
            ));
        }
    }
    let checks: Vec<Check> = all
        .into_iter()
        .filter(|c| {
            a.only
                .as_ref()
                .is_none_or(|o| o.iter().any(|p| picks(c, p)))
        })
        .collect();
    if let Ok(p) = super::shared::find_project(g) {
        // An apply that was interrupted is rolled back before anything is judged.
        if p.root.join(apply::STATE_DIR).join("journal.json").is_file() {
            match apply::lock(&p.root) {
                Ok(_lock) => {
                    if let Err(f) = super::shared::recover(&p, out) {
                        out.warn(&format!("{} ({})", f.message, f.hints.join("; ")));
                    }
                }
                Err(e) => out.warn(&format!(
                    "An interrupted `o11y apply` could not be rolled back: {e} ({})",
                    e.hint()
                )),
            }
        }
    }
    let ctx = Arc::new(super::shared::context(g, &options(a))?);
    for n in &ctx.endpoints.notes {
        out.say(n);
    }
    if ctx.local {
        out.say("Local mode (.env points the backend at `o11y listen`): the local receivers are checked instead of the real services.");
    }
    let mut report = rt.block_on(doctor::run(ctx.clone(), checks.clone()));
    if a.fix && report.verdict != Status::Ok {
        let fixed = rt.block_on(fix(&ctx, &report, out));
        if fixed > 0 {
            let ctx = Arc::new(super::shared::context(g, &options(a))?);
            report = rt.block_on(doctor::run(ctx, checks));
            let left = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .count();
            if left > 0 {
                out.say(&format!(
                    "{left} problem(s) need you: o11y cannot fix them by itself (see below)."
                ));
            }
        } else {
            out.say("Nothing here is something o11y can fix by itself; the fixes below are yours to make.");
        }
    }
    // A check past its timeout may still be reading on a blocking thread: the answer is in,
    // so the run ends without waiting for it.
    rt.shutdown_background();
    if a.json {
        out.json_pretty(&report);
    } else {
        for line in out.doctor_lines(&report) {
            out.data(&line);
        }
    }
    Ok(report.exit_status(a.strict))
}

/// Makes the fixes o11y can make; returns how many it made.
async fn fix(ctx: &Arc<Ctx>, report: &Report, out: &Printer) -> usize {
    let failing = |id: &str| {
        report
            .checks
            .iter()
            .any(|c| c.id == id && c.status != Status::Ok && c.status != Status::Skip)
    };
    let mut made = 0;
    if let Ok(p) = &ctx.project {
        // What a re-apply of o11y's changes fixes.
        let mut code: Vec<String> = [
            "project.requirements",
            "project.compose",
            "project.workspace",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for d in integrations::defs() {
            code.push(format!("{}.code", d.spec.name));
            code.extend(d.fixed_by_apply.iter().map(|s| s.to_string()));
        }
        if code.iter().any(|id| failing(id)) {
            // Planned under the lock, so that what is written is what was planned from.
            let _lock = apply::lock(&p.root);
            match super::shared::compute_plan(p, ctx.enabled.clone(), None, false, &[], &[]) {
                Ok(plan) if !plan.is_empty() => match apply::apply(&p.root, &plan) {
                    Ok(a) => {
                        out.success(&format!(
                            "fixed: re-applied o11y's changes to {} file(s) (backup in {})",
                            a.files.len(),
                            a.backup
                        ));
                        made += 1;
                    }
                    Err(e) => out.warn(&format!("could not re-apply the changes: {e}")),
                },
                Ok(_) => {}
                Err(f) => out.warn(&format!("could not re-apply the changes: {}", f.message)),
            }
        }
        if failing("project.urls") {
            match workspace_urls(p, out) {
                Ok(Some(done)) => {
                    out.success(&format!("fixed: {done}"));
                    made += 1;
                }
                Ok(None) => {}
                Err(e) => out.warn(&format!("could not fix the workspace URLs: {e}")),
            }
        }
        if failing("secrets.dotenv")
            && !report
                .checks
                .iter()
                .any(|c| c.id == "secrets.dotenv" && c.status == Status::Fail)
        {
            let gi = p.root.join(".gitignore");
            let mut text = std::fs::read_to_string(&gi).unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(".env\n");
            if apply::write_atomic(&gi, text.as_bytes(), None).is_ok() {
                out.success("fixed: added .env to .gitignore");
                made += 1;
            }
        }
    }
    for d in integrations::defs() {
        for f in d.fixes.iter().filter(|f| failing(f.check)) {
            match (f.run)(ctx.clone()).await {
                Ok(done) => {
                    out.success(&format!("fixed: {done}"));
                    made += 1;
                }
                Err(e) => out.warn(&e),
            }
        }
    }
    made
}

/// In the current Gitpod: the compose file's Classic URLs become defaults that `.env`
/// overrides, and `.env` gets this environment's port URLs. Shown and confirmed first, never
/// made silently; backed up as an apply, so `o11y undo` takes it back.
fn workspace_urls(p: &Project, out: &Printer) -> Result<Option<String>, String> {
    use crate::patch::compose;
    use crate::secrets::dotenv;
    let cli = crate::secrets::gitpod::find_cli()
        .ok_or("the Gitpod CLI (`ona`, formerly `gitpod`) is not on PATH, so this environment's port URLs cannot be read")?;
    let _lock = apply::lock(&p.root).map_err(|e| e.to_string())?;
    let before = crate::project::read_text(&p.root, &p.compose)
        .map_err(|e| e.to_string())?
        .ok_or("the compose file disappeared")?;
    let urls = compose::classic_urls(&before);
    if urls.is_empty() {
        return Ok(None);
    }
    let mut ports: Vec<(u16, String)> = Vec::new();
    for u in &urls {
        if !ports.iter().any(|(p, _)| *p == u.port) {
            let label = if u.var.contains("FRONTEND") {
                "frontend"
            } else {
                "backend"
            };
            ports.push((u.port, label.to_string()));
        }
    }
    // Ports are only listed now; one not open yet is opened once the change is confirmed.
    let open = crate::secrets::gitpod::open_ports(&cli).map_err(|e| e.to_string())?;
    let url_of = |open: &[(u16, String)], port: u16| {
        open.iter()
            .find(|(p, _)| *p == port)
            .map(|(_, u)| u.clone())
    };
    dotenv::preflight(&p.root).map_err(|e| format!("{e} ({})", e.hint()))?;
    let env_before =
        crate::patch::apply::read_regular(&p.root.join(dotenv::FILE), dotenv::MAX_READ)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
    let after = compose::overridable_urls(&before);
    let mut plan = crate::patch::plan::Plan::default();
    if after != before {
        plan.edits.push(crate::patch::plan::FileEdit {
            path: p.compose.clone(),
            before: Some(before.clone()),
            after,
            created: false,
            added_lines: urls.len(),
            removed_lines: urls.len(),
        });
    }
    out.diff(&plan);
    for u in &urls {
        match url_of(&open, u.port) {
            Some(url) => out.say(&format!("  .env: {}={url}", u.var)),
            None => out.say(&format!(
                "  .env: {}=(the URL of port {}, which is opened first)",
                u.var, u.port
            )),
        }
    }
    if !out.confirm("Make these changes (`o11y undo` takes them back)?") {
        return Err("not confirmed (no terminal, or answered no): nothing was changed; run `o11y doctor --fix` in a terminal to confirm".into());
    }
    let mut open = open;
    let missing: Vec<&(u16, String)> = ports
        .iter()
        .filter(|(port, _)| url_of(&open, *port).is_none())
        .collect();
    if !missing.is_empty() {
        for (port, label) in missing {
            crate::secrets::gitpod::open_port(&cli, *port, label).map_err(|e| e.to_string())?;
        }
        open = crate::secrets::gitpod::open_ports(&cli).map_err(|e| e.to_string())?;
    }
    let mut values: Vec<(String, String)> = Vec::new();
    for u in &urls {
        let url = url_of(&open, u.port)
            .ok_or_else(|| format!("port {} is not listed, even after opening it", u.port))?;
        values.push((u.var.clone(), url));
    }
    let env_after = dotenv::merge_keys(env_before.as_deref().unwrap_or(""), &values);
    let quiet = [apply::Quiet {
        path: dotenv::FILE.into(),
        before: env_before.clone(),
        after: env_after.clone(),
        mode: Some(0o600),
    }];
    if plan.edits.is_empty() && env_before.as_deref() == Some(env_after.as_str()) {
        return Ok(None);
    }
    let applied = apply::apply_with(&p.root, &plan, &quiet).map_err(|e| e.to_string())?;
    Ok(Some(format!(
        "the backend's URLs come from .env, with this environment's port URLs (backup in {})",
        applied.backup
    )))
}
