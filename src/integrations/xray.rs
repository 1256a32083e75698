//! AWS X-Ray: the SDK's Flask middleware, a daemon container, and a `mock-data` subsegment.

use super::{Anchor, EnvVar, HandMade, Integration, PyBlock, PyFile, Spec};

pub const SPEC: Spec = Spec {
    integration: Integration::Xray,
    packages: &["aws-xray-sdk"],
    env: &[
        EnvVar {
            name: "AWS_XRAY_URL",
            value: "${AWS_XRAY_URL:-}",
        },
        EnvVar {
            name: "AWS_XRAY_DAEMON_ADDRESS",
            value: "${AWS_XRAY_DAEMON_ADDRESS:-xray-daemon:2000}",
        },
    ],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/app/xray_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../templates/app/xray_setup.py"),
        },
        PyBlock {
            file: PyFile::UserActivities,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/services/xray_imports.py"),
        },
        PyBlock {
            file: PyFile::UserActivities,
            part: "subsegment",
            anchor: Anchor::BeforeReturn {
                class: "UserActivities",
                method: "run",
            },
            template: include_str!("../../templates/services/xray_subsegment.py"),
        },
    ],
    hand_made: &[
        HandMade {
            file: PyFile::App,
            mentions: &["aws_xray_sdk", "xray_recorder"],
            complete: &["XRayMiddleware(", "xray_recorder.configure"],
            flaws: &[],
        },
        HandMade {
            file: PyFile::UserActivities,
            mentions: &["aws_xray_sdk", "xray_recorder"],
            complete: &["subsegment"],
            flaws: &[],
        },
    ],
};

/// The name of the daemon service added to the compose file.
pub const DAEMON_SERVICE: &str = "xray-daemon";

/// The daemon service, in block style at two levels of `{i}` (one indent unit) below `services:`.
/// `{e}` is the file's line ending.
pub const DAEMON_TEMPLATE: &str = "{i}xray-daemon:{e}\
{i}{i}image: \"amazon/aws-xray-daemon\"{e}\
{i}{i}environment:{e}\
{i}{i}{i}AWS_ACCESS_KEY_ID: \"${AWS_ACCESS_KEY_ID}\"{e}\
{i}{i}{i}AWS_SECRET_ACCESS_KEY: \"${AWS_SECRET_ACCESS_KEY}\"{e}\
{i}{i}{i}AWS_REGION: \"${AWS_DEFAULT_REGION}\"{e}\
{i}{i}command:{e}\
{i}{i}{i}- \"xray -o -b xray-daemon:2000\"{e}\
{i}{i}ports:{e}\
{i}{i}{i}- \"2000:2000/udp\"{e}";

/// aws/json/xray.json: the sampling rule that `init` creates.
pub const SAMPLING_RULE_TEMPLATE: &str = include_str!("../../templates/files/xray.json");
pub const SAMPLING_RULE_PATH: &str = "aws/json/xray.json";

/// An X-Ray trace id: `1-<8 hex digits of epoch seconds>-<24 random hex digits>`.
pub fn trace_id(epoch_secs: u64, random: [u8; 12]) -> String {
    let r: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("1-{epoch_secs:08x}-{r}")
}

/// A complete segment for an o11y smoke test, as the daemon's UDP datagram.
pub fn smoke_datagram(service: &str, trace_id: &str, id: [u8; 8], start: f64) -> String {
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let doc = serde_json::json!({
        "name": service,
        "id": id,
        "trace_id": trace_id,
        "start_time": start,
        "end_time": start + 0.001,
        "annotations": {"o11y_smoke": true},
        "subsegments": [{"name": "o11y-smoke", "id": format!("{:0>16}", &id[..8]), "start_time": start, "end_time": start + 0.0005}]
    });
    format!("{{\"format\": \"json\", \"version\": 1}}\n{doc}")
}

/// Sends one smoke segment to a daemon address (`host:port`); returns its trace id.
pub async fn send_smoke(daemon: &str, service: &str) -> Result<String, String> {
    let id = *uuid::Uuid::new_v4().as_bytes();
    let now = super::unix_now();
    let trace = trace_id(now.as_secs(), id[4..].try_into().expect("12 bytes"));
    let datagram = smoke_datagram(
        service,
        &trace,
        id[..8].try_into().expect("8 bytes"),
        now.as_secs_f64(),
    );
    let sock = tokio::net::UdpSocket::bind(("0.0.0.0", 0))
        .await
        .map_err(|e| e.to_string())?;
    sock.send_to(datagram.as_bytes(), daemon)
        .await
        .map_err(|e| e.to_string())?;
    Ok(trace)
}

pub fn checks() -> Vec<crate::doctor::Check> {
    use crate::doctor::{Check, Group, Outcome};
    vec![Check {
        id: "xray.daemon",
        group: Group::Project,
        title: "xray-daemon service",
        integration: Some(Integration::Xray),
        run: |c| {
            Box::pin(async move {
                let Some(inputs) = c.inputs.as_ref() else {
                    return Outcome::skip("no project found (see the project check)");
                };
                let services = match crate::patch::compose::services(&inputs.compose.text) {
                    Ok(s) => s,
                    Err(e) => {
                        return Outcome::fail(
                            format!("{}, line {}: {}", inputs.compose.path, e.line, e.what),
                            "fix the file at that line",
                        )
                    }
                };
                if !services.iter().any(|s| s.name == DAEMON_SERVICE) {
                    return Outcome::fail(
                        "there is no xray-daemon service: segments have nowhere to go",
                        "run `o11y apply` (or `o11y doctor --fix`)",
                    );
                }
                let env = crate::patch::compose::env_names(&inputs.compose.text, DAEMON_SERVICE)
                    .unwrap_or_default();
                let missing: Vec<&str> =
                    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
                        .into_iter()
                        .filter(|n| !env.iter().any(|e| e == n))
                        .collect();
                let block = daemon_block(&inputs.compose.text);
                if !block.contains("2000/udp") {
                    Outcome::fail(
                    "the xray-daemon's port 2000 is not published as UDP: the SDK sends segments over UDP",
                    "write the port as \"2000:2000/udp\" under the xray-daemon's ports",
                )
                } else if !missing.is_empty() {
                    Outcome::fail(
                        format!("the xray-daemon lacks {}", missing.join(", ")),
                        "add them as \"${VAR}\" references to its environment",
                    )
                } else {
                    Outcome::ok("present, 2000/udp, region and credentials by reference")
                }
            })
        },
    }]
}

/// The lines of the daemon service in a compose file (from its key to the next service).
fn daemon_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        match inside {
            None if line.trim_start().starts_with(&format!("{DAEMON_SERVICE}:")) => {
                inside = Some(indent)
            }
            Some(i) if !line.trim().is_empty() && indent <= i => break,
            Some(_) => {
                out.push_str(line);
                out.push('\n');
            }
            None => {}
        }
    }
    out
}
