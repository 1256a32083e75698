//! CloudWatch Logs: a watchtower handler on the `cruddur` logger.

use crate::spec::{Anchor, EnvVar, Flaw, HandMade, PyBlock, PyFile, Receiver, ReceiverKind, Spec};

pub const SPEC: Spec = Spec {
    name: "cloudwatch",
    title: "CloudWatch Logs",
    blurb: "logs in AWS",
    rank: 30,
    uses_aws: true,
    secrets: &[],
    api: None,
    receiver: Receiver {
        kind: ReceiverKind::Logs,
        name: "logs",
        serves: "CloudWatch Logs",
        label: "logs",
        port: 4584,
        flag: "--logs-port",
        unit: ("log event", "log events"),
        env: &[("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://{host}:{port}")],
        what: "log event",
        shown: "CloudWatch log events",
        shown_real: " (\"HomeActivities\")",
        arrivals: "CloudWatch logs",
        own_code: "HomeActivities",
        batched: true,
    },
    fallback_api: None,
    compose_services: &[],
    ports: &[],
    files: &[],
    packages: &["watchtower>=3.4.0"],
    modules: &["watchtower"],
    // Empty unless local mode points it at `o11y listen`; boto3 ignores an empty value.
    env: &[EnvVar {
        name: "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        value: "${AWS_ENDPOINT_URL_CLOUDWATCH_LOGS:-}",
        local: true,
    }],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/app/cloudwatch_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../templates/app/cloudwatch_setup.py"),
        },
        PyBlock {
            file: PyFile::HomeActivities,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/services/cloudwatch_imports.py"),
        },
        PyBlock {
            file: PyFile::HomeActivities,
            part: "log",
            anchor: Anchor::BodyStart {
                class: "HomeActivities",
                method: "run",
            },
            template: include_str!("../../templates/services/cloudwatch_log.py"),
        },
    ],
    hand_made: &[HandMade {
        file: PyFile::App,
        mentions: &["watchtower"],
        complete: &["CloudWatchLogHandler"],
        // watchtower 3.4's CloudWatchLogHandler.__init__ still takes `log_group=`: it warns
        // (DeprecationWarning) and uses it as log_group_name, so this works.
        flaws: &[Flaw {
            pattern: "log_group=",
            why: "uses watchtower's deprecated `log_group=` argument (it still works; the current name is `log_group_name=`)",
            works: true,
            from_flask: None,
        }],
    }],
    blocks_need_own_setup: true,
    smoke_creates: &["the log group"],
    slow_readback: false,
};

/// The log group the backend writes to.
pub const LOG_GROUP: &str = "cruddur";

/// Sends one smoke event to a CloudWatch Logs endpoint that takes unsigned requests (`o11y
/// listen`): creates the group and stream when missing, then PutLogEvents.
pub async fn send_smoke_local(client: &reqwest::Client, base: &str) -> Result<(), String> {
    let call = |target: &str, body: serde_json::Value| {
        client
            .post(base)
            .header("x-amz-target", format!("Logs_20140328.{target}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(body.to_string())
            .send()
    };
    // "Already exists" answers are fine here.
    let _ = call(
        "CreateLogGroup",
        serde_json::json!({"logGroupName": LOG_GROUP}),
    )
    .await;
    let _ = call(
        "CreateLogStream",
        serde_json::json!({"logGroupName": LOG_GROUP, "logStreamName": "o11y-smoke"}),
    )
    .await;
    let event = serde_json::json!({"logGroupName": LOG_GROUP, "logStreamName": "o11y-smoke",
        "logEvents": [{"timestamp": crate::net::unix_now().as_millis() as i64, "message": "o11y smoke test: CloudWatch Logs receives events"}]});
    crate::net::expect_2xx(call("PutLogEvents", event).await)
        .await
        .map(|_| ())
}

/// Whether the log group exists (DescribeLogGroups by prefix).
pub async fn log_group_exists(cfg: &aws_config::SdkConfig) -> Result<bool, crate::net::Fault> {
    let out = aws_sdk_cloudwatchlogs::Client::new(cfg)
        .describe_log_groups()
        .log_group_name_prefix(LOG_GROUP)
        .send()
        .await
        .map_err(|e| crate::net::aws::fault(&e))?;
    Ok(out
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(LOG_GROUP)))
}

/// Creates the log group; "already exists" is fine.
pub async fn create_log_group(cfg: &aws_config::SdkConfig) -> Result<(), crate::net::Fault> {
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    match aws_sdk_cloudwatchlogs::Client::new(cfg)
        .create_log_group()
        .log_group_name(LOG_GROUP)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        Err(e) => Err(crate::net::aws::fault(&e)),
    }
}

pub fn checks() -> Vec<crate::context::Check> {
    use crate::context::Check;
    use crate::report::{Group, Outcome};
    vec![
        Check {
            id: "cloudwatch.code",
            group: Group::Project,
            title: "CloudWatch Logs in the code",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| crate::context::code_check(c, crate::spec::Integration(&SPEC)),
        },
        Check {
            id: "cloudwatch.log_group",
            group: Group::Services,
            title: "log group cruddur",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    let cfg = c.aws().await;
                    if cfg.region().is_none() {
                        return Outcome::skip("no AWS region (see the credentials check)");
                    }
                    match log_group_exists(cfg).await {
                        Ok(true) => Outcome::ok("log group `cruddur` exists"),
                        Ok(false) => Outcome::fail(
                            "log group `cruddur` does not exist yet",
                            "run `o11y doctor --fix` (or start the backend: watchtower creates it)",
                        ),
                        Err(f) => Outcome::fail(
                            f.line("CloudWatch Logs", &crate::net::aws::host(cfg, "logs")),
                            crate::net::aws::hint(&f),
                        ),
                    }
                })
            },
        },
    ]
}

/// CreateLogGroup (if missing), a new stream, PutLogEvents (checking rejectedLogEventsInfo),
/// then, when `verify`, GetLogEvents until the event is there. Returns the stream and whether
/// the event was read back.
pub async fn smoke_aws(
    cfg: &aws_config::SdkConfig,
    verify: bool,
    wait: std::time::Duration,
) -> Result<(String, bool), (String, String)> {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    // One wording for one fault: the host as it is, and the fix every service gets.
    let err = |f: crate::net::Fault| {
        (
            f.line("CloudWatch Logs", &crate::net::aws::host(cfg, "logs")),
            crate::net::aws::hint(&f),
        )
    };
    create_log_group(cfg).await.map_err(err)?;
    let client = aws_sdk_cloudwatchlogs::Client::new(cfg);
    let now = crate::net::unix_now();
    let stream = format!("o11y-smoke-{}", now.as_secs());
    match client
        .create_log_stream()
        .log_group_name(LOG_GROUP)
        .log_stream_name(&stream)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata::code(&e)
                == Some("ResourceAlreadyExistsException") => {}
        Err(e) => return Err(err(crate::net::aws::fault(&e))),
    }
    let message = format!("o11y smoke test {}", uuid::Uuid::new_v4());
    let event = InputLogEvent::builder()
        .timestamp(now.as_millis() as i64)
        .message(&message)
        .build()
        .expect("timestamp and message are set");
    let out = client
        .put_log_events()
        .log_group_name(LOG_GROUP)
        .log_stream_name(&stream)
        .log_events(event)
        .send()
        .await
        .map_err(|e| err(crate::net::aws::fault(&e)))?;
    if let Some(r) = out.rejected_log_events_info() {
        return Err((
            format!("CloudWatch Logs answered 200 but rejected the event: {r:?}"),
            "check this machine's clock (`date`): CloudWatch rejects events too far from its own time".into(),
        ));
    }
    if !verify {
        return Ok((stream, false));
    }
    let read = crate::net::aws::poll(wait, || async {
        let got = client
            .get_log_events()
            .log_group_name(LOG_GROUP)
            .log_stream_name(&stream)
            .start_from_head(true)
            .send()
            .await
            .map_err(|e| err(crate::net::aws::fault(&e)))?;
        Ok::<bool, (String, String)>(
            got.events()
                .iter()
                .any(|e| e.message() == Some(message.as_str())),
        )
    })
    .await?;
    Ok((stream, read))
}

pub fn console_link(region: &str, stream: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{LOG_GROUP}/log-events/{}",
        stream.replace('/', "$252F")
    )
}

pub static DEF: super::behaviour::Def = super::behaviour::Def {
    spec: &SPEC,
    checks,
    fixes: &[super::behaviour::Fix {
        check: "cloudwatch.log_group",
        run: |ctx| {
            Box::pin(async move {
                let cfg = ctx.aws().await;
                create_log_group(cfg)
                    .await
                    .map(|()| "created the log group `cruddur`".to_string())
                    .map_err(|f| {
                        format!(
                            "could not create the log group: {}",
                            f.line("CloudWatch Logs", &crate::net::aws::host(cfg, "logs"))
                        )
                    })
            })
        },
    }],
    fixed_by_apply: &[],
    verdict: None,
    smoke: |ctx, o| Box::pin(smoke(ctx, o)),
    local_smoke: |t| {
        Box::pin(async move {
            send_smoke_local(&t.http, &format!("http://{}:{}", t.host, t.port))
                .await
                .map(|()| "log event taken by `o11y listen`".to_string())
        })
    },
};

/// A log event to the `cruddur` group, read back.
async fn smoke(
    ctx: std::sync::Arc<crate::context::Ctx>,
    o: super::behaviour::SmokeOpts,
) -> crate::report::Step {
    use crate::report::Step;
    let cfg = ctx.aws().await;
    let Some(region) = cfg.region().map(|r| r.to_string()) else {
        return Step::failed(
            "no AWS region",
            "`export AWS_DEFAULT_REGION=us-east-1` (your region), then run `o11y smoke` again",
        );
    };
    match smoke_aws(cfg, o.verify, o.wait).await {
        Ok((stream, read)) => {
            let link = Some(console_link(&region, &stream));
            if read {
                Step::verified(format!("log event read back in cruddur/{stream}"), link)
            } else if o.verify {
                Step::accepted(format!("log event accepted in cruddur/{stream}, not readable yet after {:.0} s; the link shows it in a minute", o.wait.as_secs_f64()), link)
            } else {
                Step::accepted(format!("log event accepted in cruddur/{stream}"), link)
            }
        }
        Err((what, fix)) => Step::failed(what, fix),
    }
}
