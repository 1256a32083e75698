//! CloudWatch Logs: a watchtower handler on the `cruddur` logger.

use super::{Anchor, EnvVar, Flaw, HandMade, Integration, PyBlock, PyFile, Spec};

pub const SPEC: Spec = Spec {
    integration: Integration::Cloudwatch,
    packages: &["watchtower"],
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
};

/// The log group the backend writes to.
pub const LOG_GROUP: &str = "cruddur";

/// Sends one smoke event to a CloudWatch Logs endpoint that takes unsigned requests (`o11y
/// listen`): creates the group and stream when missing, then PutLogEvents.
pub async fn send_smoke_local(base: &str) -> Result<(), String> {
    let client = super::smoke_client()?;
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
        "logEvents": [{"timestamp": super::unix_now().as_millis() as i64, "message": "o11y smoke test: CloudWatch Logs receives events"}]});
    super::expect_2xx(call("PutLogEvents", event).await)
        .await
        .map(|_| ())
}

/// Whether the log group exists (DescribeLogGroups by prefix).
pub async fn log_group_exists(cfg: &aws_config::SdkConfig) -> Result<bool, super::net::Fault> {
    let out = aws_sdk_cloudwatchlogs::Client::new(cfg)
        .describe_log_groups()
        .log_group_name_prefix(LOG_GROUP)
        .send()
        .await
        .map_err(|e| super::aws::fault(&e))?;
    Ok(out
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(LOG_GROUP)))
}

/// Creates the log group; "already exists" is fine.
pub async fn create_log_group(cfg: &aws_config::SdkConfig) -> Result<(), super::net::Fault> {
    use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
    match aws_sdk_cloudwatchlogs::Client::new(cfg)
        .create_log_group()
        .log_group_name(LOG_GROUP)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        Err(e) => Err(super::aws::fault(&e)),
    }
}

pub fn checks() -> Vec<crate::doctor::Check> {
    use crate::doctor::{Check, Group, Outcome};
    vec![Check {
        id: "cloudwatch.log_group",
        group: Group::Services,
        title: "log group cruddur",
        integration: Some(Integration::Cloudwatch),
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
                    Err(f) => {
                        Outcome::fail(f.line("CloudWatch Logs", "logs"), super::aws::hint(&f))
                    }
                }
            })
        },
    }]
}

/// CreateLogGroup (if missing), a new stream, PutLogEvents (checking rejectedLogEventsInfo),
/// then, when `verify`, GetLogEvents until the event is there. Returns the stream and whether
/// the event was read back.
pub async fn smoke_aws(
    cfg: &aws_config::SdkConfig,
    verify: bool,
    wait: std::time::Duration,
) -> Result<(String, bool), String> {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let err = |f: super::net::Fault| f.line("CloudWatch Logs", "logs");
    create_log_group(cfg).await.map_err(err)?;
    let client = aws_sdk_cloudwatchlogs::Client::new(cfg);
    let now = super::unix_now();
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
        Err(e) => return Err(err(super::aws::fault(&e))),
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
        .map_err(|e| err(super::aws::fault(&e)))?;
    if let Some(r) = out.rejected_log_events_info() {
        return Err(format!(
            "CloudWatch Logs answered 200 but rejected the event: {r:?}"
        ));
    }
    if !verify {
        return Ok((stream, false));
    }
    let read = super::aws::poll(wait, || async {
        let got = client
            .get_log_events()
            .log_group_name(LOG_GROUP)
            .log_stream_name(&stream)
            .start_from_head(true)
            .send()
            .await
            .map_err(|e| err(super::aws::fault(&e)))?;
        Ok::<bool, String>(
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
