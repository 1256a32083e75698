//! `o11y doctor`: every check at once, one screen, a fix for each problem.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{DoctorArgs, Global};
use crate::doctor::{self, Ctx, Endpoints, Status};
use crate::error::Failure;
use crate::integrations::cloudwatch;
use crate::patch::apply;
use crate::secrets::dotenv;
use crate::ui::Printer;

pub fn context(g: &Global, a: &DoctorArgs) -> Result<Ctx, Failure> {
    let project =
        super::find_project(g).map_err(|f| format!("{} ({})", f.message, f.hints.join("; ")));
    let inputs = project.as_ref().ok().and_then(|p| p.inputs().ok());
    let enabled = project
        .as_ref()
        .map(super::enabled)
        .unwrap_or_else(|_| crate::integrations::Integration::ALL.to_vec());
    let mut vars: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
    if let Ok(p) = &project {
        let text = std::fs::read_to_string(p.root.join(dotenv::FILE)).unwrap_or_default();
        for (k, v) in dotenv::parse(&text) {
            vars.insert(k, (v, doctor::DOTENV));
        }
    }
    for (k, v) in std::env::vars() {
        vars.insert(k, (v, "in this shell"));
    }
    let apis = super::apis(project.as_ref().ok(), &a.honeycomb_api, &a.rollbar_api)?;
    let timeout = Duration::from_secs_f64(a.timeout.max(0.1));
    // Requests give up a little before the check does, so the diagnosis is the service's own.
    let http = crate::integrations::net::client(timeout.mul_f64(0.8))?;
    Ok(Ctx {
        project: project.clone(),
        inputs,
        enabled,
        vars,
        endpoints: Endpoints {
            honeycomb_api: apis.honeycomb,
            rollbar_api: apis.rollbar,
            backend: a.backend_url.clone(),
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

pub fn run(g: &Global, a: &DoctorArgs, out: &Printer) -> Result<u8, Failure> {
    let rt = super::runtime()?;
    let all = doctor::registry();
    if let Some(only) = &a.only {
        let unknown: Vec<&str> = only
            .iter()
            .map(|p| p.trim())
            .filter(|p| p.is_empty() || !all.iter().any(|c| c.id.starts_with(p)))
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
                    "give ids or their beginnings (a group such as `services`, or `honeycomb`): {}",
                    ids.join(", ")
                ),
            ));
        }
    }
    let checks: Vec<doctor::Check> = all
        .into_iter()
        .filter(|c| {
            a.only
                .as_ref()
                .is_none_or(|o| o.iter().any(|p| c.id.starts_with(p.trim())))
        })
        .collect();
    if let Ok(p) = super::find_project(g) {
        // An apply that was interrupted is rolled back before anything is judged.
        if p.root.join(apply::STATE_DIR).join("journal.json").is_file() {
            let rolled = apply::lock(&p.root).and_then(|_l| apply::recover(&p.root));
            match rolled {
                Ok(Some(n)) => out.warn(&format!(
                    "An `o11y apply` was interrupted: its {n} file(s) were put back as they were before it. Run `o11y apply` again."
                )),
                Ok(None) => {}
                Err(e) => out.warn(&format!("An interrupted `o11y apply` could not be rolled back: {e} ({})", e.hint())),
            }
        }
    }
    let ctx = Arc::new(context(g, a)?);
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
            let ctx = Arc::new(context(g, a)?);
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
    if a.json {
        out.data(&serde_json::to_string_pretty(&report).expect("a report serialises"));
    } else {
        for line in out.doctor_lines(&report) {
            out.data(&line);
        }
    }
    Ok(report.exit_code(a.strict))
}

/// Makes the fixes o11y can make; returns how many it made.
async fn fix(ctx: &Ctx, report: &doctor::Report, out: &Printer) -> usize {
    let failing = |id: &str| {
        report
            .checks
            .iter()
            .any(|c| c.id == id && c.status != Status::Ok && c.status != Status::Skip)
    };
    let mut made = 0;
    if let Ok(p) = &ctx.project {
        let code = [
            "project.requirements",
            "project.compose",
            "project.workspace",
            "xray.daemon",
            "honeycomb.code",
            "xray.code",
            "cloudwatch.code",
            "rollbar.code",
        ];
        if code.iter().any(|id| failing(id)) {
            match super::compute_plan(p, ctx.enabled.clone(), None, false) {
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
    if failing("xray.resources") {
        let service = ctx.service();
        match crate::integrations::xray::project_rule(ctx.root(), &service) {
            Ok(rule) => {
                match crate::integrations::xray::provision(ctx.aws().await, &service, &rule, true)
                    .await
                {
                    Ok((notes, _)) => {
                        out.success(&format!("fixed: {}", notes.join("; ")));
                        made += 1;
                    }
                    Err(f) => out.warn(&format!(
                        "could not create the X-Ray group and rule: {}",
                        f.line("AWS X-Ray", "xray")
                    )),
                }
            }
            Err(e) => out.warn(&format!("could not read the sampling rule: {e}")),
        }
    }
    if failing("cloudwatch.log_group") {
        match cloudwatch::create_log_group(ctx.aws().await).await {
            Ok(()) => {
                out.success("fixed: created the log group `cruddur`");
                made += 1;
            }
            Err(f) => out.warn(&format!(
                "could not create the log group: {}",
                f.line("CloudWatch Logs", "logs")
            )),
        }
    }
    made
}
