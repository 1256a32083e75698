//! `o11y smoke`: one real test signal per enabled service, verified where the service lets us
//! read it back, each with a link to see it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::{Global, SmokeArgs};
use crate::context::Ctx;
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::integrations::{self, LocalTarget, SmokeOpts};
use crate::report::{SmokeResult, SmokeStatus, Step};
use crate::spec::Integration;
use crate::ui::Printer;

async fn step(ctx: Arc<Ctx>, i: Integration, opts: SmokeOpts) -> SmokeResult {
    let started = Instant::now();
    let def = integrations::def(i);
    let step = if ctx.local {
        // In local mode the signals go to `o11y listen` on this machine, never to the services.
        let target = LocalTarget {
            http: ctx.http.clone(),
            host: "127.0.0.1".into(),
            port: i.spec().receiver.port,
            service: ctx.service(),
        };
        let port = target.port;
        match (def.local_smoke)(target).await {
            Ok(taken) => Step::accepted(taken, None),
            Err(e) => Step::failed(
                format!(
                    "`o11y listen` did not take the {} on {port}: {e}",
                    i.spec().receiver.what
                ),
                "start the receivers in another terminal: `o11y listen --bind 0.0.0.0` (or leave local mode: `o11y apply --cloud`)",
            ),
        }
    } else {
        (def.smoke)(ctx.clone(), opts).await
    };
    SmokeResult {
        integration: i,
        status: step.status,
        detail: step.detail,
        fix: step.fix,
        link: step.link,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// Every service's smoke step at once.
pub async fn run_steps(
    ctx: Arc<Ctx>,
    wanted: &[Integration],
    verify: bool,
    wait: Duration,
) -> Vec<SmokeResult> {
    let opts = SmokeOpts { verify, wait };
    let handles: Vec<_> = wanted
        .iter()
        .map(|i| (*i, tokio::spawn(step(ctx.clone(), *i, opts))))
        .collect();
    let mut r = Vec::new();
    for (i, h) in handles {
        match h.await {
            Ok(x) => r.push(x),
            // A step that panicked is a failure, never left out of the count.
            Err(e) => r.push(SmokeResult {
                integration: i,
                status: SmokeStatus::Failed,
                detail: format!("the {} step stopped unexpectedly ({e})", i.title()),
                fix: Some(
                    "this is a bug in o11y; please report it with the output of `o11y smoke -v`"
                        .into(),
                ),
                link: None,
                duration_ms: 0,
            }),
        }
    }
    // A service may echo a key back (in an error body, a header dump): never print one.
    let secrets = ctx.secret_values();
    let clean = |t: &str| crate::secrets::scrub(t, &secrets);
    for x in &mut r {
        x.detail = clean(&x.detail);
        x.fix = x.fix.as_deref().map(clean);
        x.link = x.link.as_deref().map(clean);
    }
    r
}

pub fn run(g: &Global, a: &SmokeArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    let rt = super::shared::runtime()?;
    let opts = super::shared::Options {
        timeout: a.timeout,
        apis: &a.apis,
        backend_url: String::new(),
    };
    let ctx = Arc::new(super::shared::context(g, &opts)?);
    for n in &ctx.endpoints.notes {
        out.say(n);
    }
    if ctx.local {
        out.say("Local mode (.env points the backend at `o11y listen`): the test signals go to the local receivers on this machine, not to the services.");
    }
    let wanted: Vec<Integration> = ctx
        .enabled
        .iter()
        .copied()
        .filter(|i| a.only.as_ref().is_none_or(|o| o.contains(i)))
        .collect();
    if wanted.is_empty() {
        return Err(Failure::new(
            "no integration to test",
            "switch one on with `o11y enable NAME`, or check `--only`",
        ));
    }
    let wait = Duration::from_secs_f64(a.timeout);
    let results = {
        let slow: Vec<&str> = wanted
            .iter()
            .filter(|i| i.spec().slow_readback)
            .map(|i| i.title())
            .collect();
        let doing = if a.no_verify {
            "Sending a test signal to each service…".to_string()
        } else if slow.is_empty() {
            "Sending a test signal to each service and reading it back…".to_string()
        } else {
            format!(
                "Sending a test signal to each service and reading it back ({} can take a while)…",
                crate::spec::and_list(&slow)
            )
        };
        let _spin = (!a.json).then(|| out.spinner(&doing));
        rt.block_on(run_steps(ctx, &wanted, !a.no_verify, wait))
    };
    let failed = results
        .iter()
        .filter(|r| r.status == SmokeStatus::Failed)
        .count();
    if a.json {
        out.json_pretty(&serde_json::json!({"schema": 1, "ok": failed == 0, "results": results}));
    } else {
        for line in out.smoke_lines(&results) {
            out.data(&line);
        }
    }
    Ok(if failed == 0 {
        ExitStatus::Ok
    } else {
        ExitStatus::Error
    })
}
