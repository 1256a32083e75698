//! The check runner: every check at once (tokio), each bounded by a timeout, results folded
//! into a report that `ui/` renders as text or JSON and that decides the exit code.

mod project;
mod runtime;
mod secrets;
mod services;
mod tools;
mod workspace;

use std::sync::Arc;
use std::time::Instant;

use crate::context::{Check, Ctx};
use crate::report::{CheckResult, Counts, Group, Outcome, Report, Status};

/// The checks of no one integration, group by group (each integration brings its own, which
/// the commands add from the registry).
pub fn generic() -> Vec<Check> {
    let mut all = tools::checks();
    all.extend(project::checks());
    all.extend(workspace::checks());
    all.extend(secrets::checks());
    all.extend(services::checks());
    all.extend(runtime::checks());
    all
}

/// Runs `checks` at once, each within the context's timeout.
pub async fn run(ctx: Arc<Ctx>, checks: Vec<Check>) -> Report {
    let started = Instant::now();
    let by_hand: Arc<Vec<crate::patch::plan::SwitchedOff>> = Arc::new(
        ctx.inputs
            .as_ref()
            .map(|inputs| crate::patch::plan::switched_off(inputs, &ctx.all))
            .unwrap_or_default(),
    );
    let mut handles = Vec::new();
    for c in checks {
        let ctx = ctx.clone();
        let by_hand = by_hand.clone();
        handles.push((c, tokio::spawn(async move {
            let t = Instant::now();
            let outcome = if let Some(i) = c.integration.filter(|i| !ctx.enabled.contains(i)) {
                match by_hand.iter().find(|s| s.integration == i) {
                    Some(s) => Outcome::skip(format!(
                        "{} is switched off by hand: {} (`o11y enable {i}` turns it back on)",
                        i.title(),
                        s.why
                    )),
                    None => Outcome::skip(format!("{} is switched off (`o11y enable {i}`)", i.title())),
                }
            } else if ctx.local && c.group == Group::Services {
                Outcome::skip("local mode: the backend talks to `o11y listen`, not this service (`o11y apply --cloud` switches back)")
            } else {
                // On its own task, so that a check that panics is a failure, never a gap.
                let run = tokio::spawn((c.run)(ctx.clone()));
                match tokio::time::timeout(ctx.timeout, run).await {
                    Ok(Ok(o)) => o,
                    Ok(Err(e)) => Outcome::fail(
                        format!("the check stopped unexpectedly ({e})"),
                        "this is a bug in o11y; please report it with the output of `o11y doctor -v`",
                    ),
                    Err(_) => Outcome::fail(
                        format!("no answer within {:.0} s", ctx.timeout.as_secs_f64()),
                        "check your network, or give it longer with `--timeout SECS`",
                    ),
                }
            };
            CheckResult {
                id: c.id,
                group: c.group,
                title: c.title,
                status: outcome.status,
                reason: outcome.reason,
                fix: outcome.fix,
                duration_ms: t.elapsed().as_millis() as u64,
            }
        })));
    }
    let mut results = Vec::new();
    for (c, h) in handles {
        results.push(h.await.unwrap_or_else(|e| {
            CheckResult {
                id: c.id,
                group: c.group,
                title: c.title,
                status: Status::Fail,
                reason: format!("the check stopped unexpectedly ({e})"),
                fix: Some(
                    "this is a bug in o11y; please report it with the output of `o11y doctor -v`"
                        .into(),
                ),
                duration_ms: 0,
            }
        }));
    }
    // A service may echo a key back (in an error body, a header dump): never print one.
    let secrets = ctx.secret_values();
    for r in &mut results {
        r.reason = crate::secrets::scrub(&r.reason, &secrets);
        r.fix = r.fix.as_ref().map(|f| crate::secrets::scrub(f, &secrets));
    }
    let mut counts = Counts::default();
    for r in &results {
        match r.status {
            Status::Ok => counts.ok += 1,
            Status::Warn => counts.warn += 1,
            Status::Fail => counts.fail += 1,
            Status::Skip => counts.skip += 1,
        }
    }
    let verdict = if counts.fail > 0 {
        Status::Fail
    } else if counts.warn > 0 {
        Status::Warn
    } else {
        Status::Ok
    };
    Report {
        schema: 1,
        verdict,
        counts,
        checks: results,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Arc<Ctx> {
        Arc::new(Ctx {
            project: Err("none".into()),
            inputs: None,
            unreadable: None,
            enabled: crate::integrations::all().to_vec(),
            all: crate::integrations::all().to_vec(),
            vars: Default::default(),
            endpoints: crate::context::Endpoints {
                apis: Default::default(),
                backend: String::new(),
                notes: Vec::new(),
            },
            http: crate::net::client(std::time::Duration::from_secs(1)).unwrap(),
            timeout: std::time::Duration::from_secs(2),
            aws: Default::default(),
            cwd: std::path::PathBuf::new(),
            local: false,
        })
    }

    #[test]
    fn a_check_that_panics_is_a_failure_not_a_gap() {
        let boom = Check {
            id: "tools.boom",
            group: Group::Tools,
            title: "boom",
            integration: None,
            run: |_| Box::pin(async { panic!("a check's bug") }),
        };
        let fine = Check {
            id: "tools.fine",
            run: |_| crate::context::ready(Outcome::ok("fine")),
            ..boom
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let report = rt.block_on(run(ctx(), vec![boom, fine]));
        assert_eq!(report.checks.len(), 2);
        assert_eq!(report.counts.fail, 1);
        assert_eq!(report.verdict, Status::Fail);
        let failed = report.checks.iter().find(|c| c.id == "tools.boom").unwrap();
        assert!(
            failed.reason.contains("stopped unexpectedly"),
            "{}",
            failed.reason
        );
        assert!(failed.fix.as_deref().unwrap().contains("bug"));
    }

    #[test]
    fn ids_are_unique_and_titled() {
        let all = crate::commands::shared::checks();
        let mut ids: Vec<&str> = all.iter().map(|c| c.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate check ids");
        assert!(all
            .iter()
            .all(|c| !c.title.is_empty() && c.id.contains('.')));
    }
}
