//! `o11y smoke`: one real test signal per enabled service, verified where the service lets us
//! read it back, each with a link to see it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{DoctorArgs, Global, SmokeArgs};
use crate::doctor::Ctx;
use crate::error::Failure;
use crate::integrations::{cloudwatch, honeycomb, rollbar, xray, Integration};
use crate::ui::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmokeStatus {
    /// Sent, and read back from the service.
    Verified,
    /// Sent and accepted; the service gives no way to read it back (or `--no-verify`).
    Accepted,
    Failed,
}

/// One service's result.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    pub integration: Integration,
    pub status: SmokeStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub duration_ms: u64,
}

type Found = (SmokeStatus, String, Option<String>, Option<String>);

fn failed(detail: impl Into<String>, fix: impl Into<String>) -> Found {
    (SmokeStatus::Failed, detail.into(), Some(fix.into()), None)
}

async fn step(ctx: Arc<Ctx>, i: Integration, verify: bool, wait: Duration) -> SmokeResult {
    let started = Instant::now();
    let service = ctx.service();
    let (status, detail, fix, link) = if ctx.local {
        local_step(&ctx, i, &service).await
    } else {
        match i {
        Integration::Honeycomb => match ctx.var(honeycomb::KEY_VAR).map(str::to_string) {
            None => failed(
                "HONEYCOMB_API_KEY is not set",
                "run `o11y init` (it asks for the key, checks it and stores it), or put it in .env, then run `o11y smoke` again",
            ),
            Some(key) => {
                match honeycomb::check_key(&ctx.http, &ctx.endpoints.honeycomb_api, &key).await {
                    Err(f) => failed(
                        f.line(
                            "Honeycomb",
                            &crate::integrations::net::host_of(&ctx.endpoints.honeycomb_api),
                        ),
                        f.hint(honeycomb::KEY_VAR, crate::integrations::net::override_name(&ctx.endpoints.honeycomb_api, honeycomb::API, honeycomb::API_VAR)),
                    ),
                    Ok(info) if info.unusable().is_some() => {
                        let (why, fix) = info.unusable().unwrap_or_default();
                        failed(why, fix)
                    }
                    Ok(info) => {
                        let mut headers = vec![("x-honeycomb-team", key.as_str())];
                        if info.classic() {
                            headers.push(("x-honeycomb-dataset", service.as_str()));
                        }
                        match honeycomb::send_smoke_with(&info.api, &service, &headers).await {
                            Ok(trace) => (
                                SmokeStatus::Accepted,
                                format!(
                                    "span accepted ({}; an ingest key cannot read spans back)",
                                    info.describe()
                                ),
                                None,
                                Some(info.trace_link(&service, &trace)),
                            ),
                            Err(f) => failed(
                                f.line("Honeycomb", &crate::integrations::net::host_of(&info.api)),
                                f.hint(honeycomb::KEY_VAR, crate::integrations::net::override_name(&ctx.endpoints.honeycomb_api, honeycomb::API, honeycomb::API_VAR)),
                            ),
                        }
                    }
                }
            }
        },
        Integration::Rollbar => match ctx.var(rollbar::TOKEN_VAR).map(str::to_string) {
            None => failed(
                "ROLLBAR_ACCESS_TOKEN is not set",
                "run `o11y init` (it asks for the key, checks it and stores it), or put it in .env, then run `o11y smoke` again",
            ),
            Some(token) => {
                let env = ctx
                    .var("ROLLBAR_ENVIRONMENT")
                    .unwrap_or("development")
                    .to_string();
                match rollbar::send_smoke(&ctx.http, &ctx.endpoints.rollbar_api, &token, &env).await {
                    Ok(uuid) => (
                        SmokeStatus::Accepted,
                        format!("error item accepted, uuid {uuid}"),
                        None,
                        Some(rollbar::occurrence_link(&uuid)),
                    ),
                    Err(e) => {
                        let (why, fix) = e.explain(&ctx.endpoints.rollbar_api);
                        failed(
                            crate::secrets::scrub(&format!("Rollbar did not take the item: {why}"), &[&token]),
                            fix,
                        )
                    }
                }
            }
        },
        Integration::Xray | Integration::Cloudwatch => {
            let cfg = ctx.aws().await;
            match cfg.region().map(|r| r.to_string()) {
                None => failed("no AWS region", "`export AWS_DEFAULT_REGION=us-east-1` (your region), then run `o11y smoke` again"),
                Some(region) if i == Integration::Xray => {
                    match xray::project_rule(ctx.root(), &service) {
                        Err(e) => failed(e, "fix aws/json/xray.json (or delete it and run `o11y apply`)"),
                        Ok(rule) => match xray::provision(cfg, &service, &rule, true).await {
                            Err(f) => failed(format!("provisioning: {}", f.line("AWS X-Ray", "xray")), crate::integrations::aws::hint(&f)),
                            Ok((notes, problems)) => match xray::smoke_aws(cfg, &service, verify, wait).await {
                                Err(e) => failed(e, "run `o11y doctor --only services,xray` for the cause"),
                                Ok((trace, read)) => {
                                    let mut detail = if read {
                                        format!("segment read back ({trace})")
                                    } else if verify {
                                        format!("segment accepted ({trace}), not readable yet after {:.0} s: X-Ray processes a trace before it can be read; the link shows it in a minute", wait.as_secs_f64())
                                    } else {
                                        format!("segment accepted ({trace})")
                                    };
                                    for n in notes.iter().chain(problems.iter()) {
                                        detail.push_str(&format!("; {n}"));
                                    }
                                    (if read { SmokeStatus::Verified } else { SmokeStatus::Accepted }, detail, None, Some(xray::console_link(&region, &trace)))
                                }
                            },
                        },
                    }
                }
                Some(region) => match cloudwatch::smoke_aws(cfg, verify, wait).await {
                    Ok((stream, read)) => (
                        if read { SmokeStatus::Verified } else { SmokeStatus::Accepted },
                        if read {
                            format!("log event read back in cruddur/{stream}")
                        } else if verify {
                            format!("log event accepted in cruddur/{stream}, not readable yet after {:.0} s; the link shows it in a minute", wait.as_secs_f64())
                        } else {
                            format!("log event accepted in cruddur/{stream}")
                        },
                        None,
                        Some(cloudwatch::console_link(&region, &stream)),
                    ),
                    Err(e) => failed(e, "run `o11y doctor --only services,cloudwatch` for the cause"),
                },
            }
        }
    }
    };
    SmokeResult {
        integration: i,
        status,
        detail,
        fix,
        link,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// In local mode the signals go to `o11y listen` on this machine, never to the services.
async fn local_step(ctx: &Ctx, i: Integration, service: &str) -> Found {
    let ports = crate::listen::Ports::default();
    let not_running = |what: &str, port: u16, e: String| {
        failed(
            format!("`o11y listen` did not take the {what} on {port}: {e}"),
            "start the receivers in another terminal: `o11y listen --bind 0.0.0.0` (or leave local mode: `o11y apply --cloud`)",
        )
    };
    let taken = |what: String| (SmokeStatus::Accepted, what, None, None);
    match i {
        Integration::Honeycomb => {
            match honeycomb::send_smoke(&format!("http://127.0.0.1:{}", ports.otlp), service).await
            {
                Ok(trace) => taken(format!("span taken by `o11y listen` (trace {trace})")),
                Err(e) => not_running("span", ports.otlp, e),
            }
        }
        Integration::Xray => {
            // UDP has no answer: the daemon port's TCP side tells whether listen is there.
            match tokio::net::TcpStream::connect(("127.0.0.1", ports.xray)).await {
                Err(e) => not_running("segment", ports.xray, e.to_string()),
                Ok(_) => match xray::send_smoke(&format!("127.0.0.1:{}", ports.xray), service).await {
                    Ok(trace) => taken(format!("segment sent to `o11y listen` over UDP (trace {trace}); it shows in listen's output")),
                    Err(e) => not_running("segment", ports.xray, e),
                },
            }
        }
        Integration::Cloudwatch => {
            match cloudwatch::send_smoke_local(&format!("http://127.0.0.1:{}", ports.logs)).await {
                Ok(()) => taken("log event taken by `o11y listen`".into()),
                Err(e) => not_running("log event", ports.logs, e),
            }
        }
        Integration::Rollbar => {
            let api = format!("http://127.0.0.1:{}/api/1/", ports.rollbar);
            let token = ctx.var(rollbar::TOKEN_VAR).unwrap_or("local").to_string();
            match rollbar::send_smoke(&ctx.http, &api, &token, "development").await {
                Ok(uuid) => taken(format!("error item taken by `o11y listen`, uuid {uuid}")),
                Err(e) => not_running("item", ports.rollbar, e.explain(&api).0),
            }
        }
    }
}

/// Every service's smoke step at once.
pub async fn run_steps(
    ctx: Arc<Ctx>,
    wanted: &[Integration],
    verify: bool,
    wait: Duration,
) -> Vec<SmokeResult> {
    let handles: Vec<_> = wanted
        .iter()
        .map(|i| tokio::spawn(step(ctx.clone(), *i, verify, wait)))
        .collect();
    let mut r = Vec::new();
    for h in handles {
        if let Ok(x) = h.await {
            r.push(x);
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

pub fn run(g: &Global, a: &SmokeArgs, out: &Printer) -> Result<u8, Failure> {
    let rt = super::runtime()?;
    let doctor_args = DoctorArgs {
        json: a.json,
        fix: false,
        strict: false,
        timeout: a.timeout,
        only: None,
        honeycomb_api: a.honeycomb_api.clone(),
        rollbar_api: a.rollbar_api.clone(),
        backend_url: String::new(),
    };
    let ctx = Arc::new(super::doctor::context(g, &doctor_args)?);
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
        let _spin = (!a.json).then(|| {
            out.spinner("Sending a test signal to each service and reading it back (X-Ray can take a while)…")
        });
        rt.block_on(run_steps(ctx, &wanted, !a.no_verify, wait))
    };
    let failed = results
        .iter()
        .filter(|r| r.status == SmokeStatus::Failed)
        .count();
    if a.json {
        out.data(
            &serde_json::to_string_pretty(
                &serde_json::json!({"schema": 1, "ok": failed == 0, "results": results}),
            )
            .expect("results serialise"),
        );
    } else {
        for line in out.smoke_lines(&results) {
            out.data(&line);
        }
    }
    Ok(if failed == 0 { 0 } else { 2 })
}
