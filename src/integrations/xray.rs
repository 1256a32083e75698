//! AWS X-Ray: the SDK's Flask middleware, a daemon container, and a `mock-data` subsegment.

use crate::spec::{
    Anchor, ComposeService, EnvVar, FileTemplate, HandMade, PyBlock, PyFile, Receiver,
    ReceiverKind, Spec, WorkspacePort,
};

pub const SPEC: Spec = Spec {
    name: "xray",
    title: "AWS X-Ray",
    blurb: "traces in AWS",
    rank: 20,
    uses_aws: true,
    secrets: &[],
    api: None,
    receiver: Receiver {
        kind: ReceiverKind::XrayDaemon,
        name: "xray",
        serves: "X-Ray daemon",
        label: "X-Ray",
        port: DAEMON_PORT,
        flag: "--xray-port",
        unit: ("X-Ray segment", "X-Ray segments"),
        env: &[("AWS_XRAY_DAEMON_ADDRESS", "{host}:{port}")],
        what: "segment",
        shown: "X-Ray segments",
        shown_real: ", with the mock-data subsegment",
        arrivals: "X-Ray segments",
        own_code: "mock-data",
        batched: false,
    },
    fallback_api: None,
    compose_services: &[ComposeService {
        name: DAEMON_SERVICE,
        template: DAEMON_TEMPLATE,
    }],
    ports: &[WorkspacePort {
        port: DAEMON_PORT,
        name: DAEMON_SERVICE,
        gitpod: "onOpen: ignore",
    }],
    files: &[FileTemplate {
        path: SAMPLING_RULE_PATH,
        template: SAMPLING_RULE_TEMPLATE,
    }],
    packages: &["aws-xray-sdk>=2.15.0"],
    modules: &["aws_xray_sdk"],
    env: &[
        EnvVar {
            name: "AWS_XRAY_URL",
            value: "${AWS_XRAY_URL:-}",
            local: false,
        },
        EnvVar {
            name: "AWS_XRAY_DAEMON_ADDRESS",
            value: "${AWS_XRAY_DAEMON_ADDRESS:-xray-daemon:2000}",
            local: true,
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
    blocks_need_own_setup: false,
};

/// The daemon's port, UDP for segments and TCP for the sampling rules.
pub const DAEMON_PORT: u16 = 2000;

/// The name of the daemon service added to the compose file.
pub const DAEMON_SERVICE: &str = "xray-daemon";

/// The daemon service, in block style at two levels of `{i}` (one indent unit) below `services:`.
/// `{e}` is the file's line ending. The image's ENTRYPOINT is already
/// `/xray -t 0.0.0.0:2000 -b 0.0.0.0:2000`, and compose appends each `command` item to it as
/// one argument: `-o` (local mode: no EC2 metadata look-ups). The region comes from AWS_REGION.
pub const DAEMON_TEMPLATE: &str = "{i}xray-daemon:{e}\
{i}{i}image: \"amazon/aws-xray-daemon\"{e}\
{i}{i}environment:{e}\
{i}{i}{i}AWS_ACCESS_KEY_ID: \"${AWS_ACCESS_KEY_ID}\"{e}\
{i}{i}{i}AWS_SECRET_ACCESS_KEY: \"${AWS_SECRET_ACCESS_KEY}\"{e}\
{i}{i}{i}AWS_REGION: \"${AWS_DEFAULT_REGION}\"{e}\
{i}{i}command:{e}\
{i}{i}{i}- \"-o\"{e}\
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
    let now = crate::net::unix_now();
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

/// The rule the project asks for: aws/json/xray.json, else o11y's default.
pub fn project_rule(root: Option<&std::path::Path>, service: &str) -> Result<RuleSpec, String> {
    match root.and_then(|r| std::fs::read_to_string(r.join(SAMPLING_RULE_PATH)).ok()) {
        Some(text) => RuleSpec::parse(&text),
        None => Ok(default_rule(service)),
    }
}

pub fn checks() -> Vec<crate::context::Check> {
    use crate::context::Check;
    use crate::report::{Group, Outcome};
    vec![
        Check {
            id: "xray.code",
            group: Group::Project,
            title: "X-Ray in the code",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| crate::context::code_check(c, crate::spec::Integration(&SPEC)),
        },
        Check {
            id: "xray.udp",
            group: Group::Runtime,
            title: "X-Ray daemon on 2000/udp",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    let backend_up = tokio::net::TcpStream::connect(
                        c.endpoints.backend.trim_start_matches("http://"),
                    )
                    .await
                    .is_ok();
                    if crate::context::udp_listening(DAEMON_PORT) {
                        Outcome::ok(format!("something listens on {DAEMON_PORT}/udp"))
                    } else if backend_up {
                        Outcome::fail(
                            format!("the backend runs but nothing listens on {DAEMON_PORT}/udp: segments are lost"),
                            format!(
                                "start the daemon: `{} up -d {DAEMON_SERVICE}` (its ports need \"{DAEMON_PORT}:{DAEMON_PORT}/udp\")",
                                crate::project::compose_command()
                            ),
                        )
                    } else {
                        Outcome::skip("the stack is not running")
                    }
                })
            },
        },
        Check {
            id: "xray.resources",
            group: Group::Services,
            title: "X-Ray group and rule",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    let cfg = c.aws().await;
                    if cfg.region().is_none() {
                        return Outcome::skip("no AWS region (see the credentials check)");
                    }
                    let service = c.service();
                    let rule = match project_rule(c.root(), &service) {
                        Ok(r) => r,
                        Err(e) => {
                            return Outcome::fail(
                                e,
                                "fix aws/json/xray.json (or delete it and run `o11y apply`)",
                            )
                        }
                    };
                    match provision(cfg, &service, &rule, false).await {
                Ok((notes, problems)) if problems.is_empty() => Outcome::ok(notes.join("; ")),
                Ok((_, problems)) if problems.iter().all(|p| p.starts_with("there is no")) => {
                    Outcome::fail(problems.join("; "), "run `o11y doctor --fix` (or `o11y smoke`) to create them")
                }
                Ok((_, problems)) => Outcome::warn(
                    problems.join("; "),
                    "make them match in the X-Ray console (or delete them and run `o11y doctor --fix`)",
                ),
                Err(f) => Outcome::fail(
                    f.line("AWS X-Ray", &crate::net::aws::host(cfg, "xray")),
                    crate::net::aws::hint(&f),
                ),
            }
                })
            },
        },
        Check {
            id: "xray.daemon",
            group: Group::Project,
            title: "xray-daemon service",
            integration: Some(crate::spec::Integration(&SPEC)),
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
                    // Its own environment (through merge keys), and what its env files set.
                    let mut env: Vec<String> = services
                        .iter()
                        .find(|s| s.name == DAEMON_SERVICE)
                        .map(|s| s.env.iter().map(|(n, _)| n.clone()).collect())
                        .unwrap_or_default();
                    env.extend(
                        inputs
                            .env_file_vars(DAEMON_SERVICE)
                            .into_iter()
                            .map(|(n, _, _)| n.to_string()),
                    );
                    let missing: Vec<&str> =
                        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
                            .into_iter()
                            .filter(|n| !env.iter().any(|e| e == n))
                            .collect();
                    let block = daemon_block(&inputs.compose.text);
                    let one_string = one_string_command(&block);
                    if !block.contains("2000/udp") {
                        Outcome::fail(
                    "the xray-daemon's port 2000 is not published as UDP: the SDK sends segments over UDP",
                    "write the port as \"2000:2000/udp\" under the xray-daemon's ports",
                )
                    } else if !missing.is_empty() {
                        {
                            let files: Vec<String> = inputs
                                .env_files
                                .iter()
                                .filter(|f| f.service == DAEMON_SERVICE)
                                .map(|f| f.template.clone().unwrap_or_else(|| f.path.clone()))
                                .collect();
                            Outcome::fail(
                                format!("the xray-daemon lacks {}", missing.join(", ")),
                                if files.is_empty() {
                                    "add them as \"${VAR}\" references to its environment"
                                        .to_string()
                                } else {
                                    format!(
                                        "add them to {} (the daemon's env file), or as \"${{VAR}}\" references to its environment",
                                        files.join(", ")
                                    )
                                },
                            )
                        }
                    } else if let Some(cmd) = one_string {
                        Outcome::warn(
                            format!("the xray-daemon's command `{cmd}` is one string: the image already runs /xray, and the daemon stops reading flags at that string, so -o (local mode) is ignored and it looks for EC2 metadata"),
                            "write each flag as its own item: `command: [\"-o\"]` (the region comes from AWS_REGION)",
                        )
                    } else {
                        Outcome::ok("present, 2000/udp, region and credentials by reference")
                    }
                })
            },
        },
    ]
}

/// The daemon's command when it is written as one string that starts with the program
/// (`"xray -o -b xray-daemon:2000"`, as a list item or a plain string): the image's
/// ENTRYPOINT runs /xray already, so that string is a stray argument and every flag in it is lost.
fn one_string_command(block: &str) -> Option<String> {
    let mut in_command = false;
    for line in block.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("command:") {
            in_command = true;
            let rest = rest.trim();
            if rest.is_empty() {
                continue;
            }
            let unquote = |x: &str| x.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
            if let Some(items) = rest.strip_prefix('[') {
                // Flow list: an item with a space in it is one argument, flags and all.
                return items
                    .trim_end_matches(']')
                    .split(',')
                    .map(unquote)
                    .find(|i| i.contains(' '));
            }
            // A plain string is split into words, and the first word, the program, is a stray
            // argument that ends flag parsing.
            let cmd = unquote(rest);
            let program = cmd.split_whitespace().next().unwrap_or("");
            return (program.ends_with("xray")).then_some(cmd);
        }
        if in_command {
            match t.strip_prefix('-') {
                Some(item) => {
                    let item = item.trim().trim_matches(|c| c == '"' || c == '\'');
                    return item.contains(' ').then(|| item.to_string());
                }
                None if !t.is_empty() && !t.starts_with('#') => return None,
                None => {}
            }
        }
    }
    None
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

/// The tracing group `init`, `smoke` and `doctor --fix` create.
pub const GROUP: &str = "Cruddur";

pub fn group_filter(service: &str) -> String {
    format!("service(\"{service}\")")
}

/// The sampling rule of aws/json/xray.json (`{"SamplingRule": {...}}`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleSpec {
    pub rule_name: String,
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub priority: i32,
    pub fixed_rate: f64,
    pub reservoir_size: i32,
    pub service_name: String,
    pub service_type: String,
    pub host: String,
    #[serde(rename = "HTTPMethod")]
    pub http_method: String,
    #[serde(rename = "URLPath")]
    pub url_path: String,
    pub version: i32,
}

impl RuleSpec {
    pub fn parse(json: &str) -> Result<RuleSpec, String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct File {
            sampling_rule: RuleSpec,
        }
        serde_json::from_str::<File>(json)
            .map(|f| f.sampling_rule)
            .map_err(|e| format!("aws/json/xray.json: {e}"))
    }

    fn to_sdk(&self) -> aws_sdk_xray::types::SamplingRule {
        aws_sdk_xray::types::SamplingRule::builder()
            .rule_name(&self.rule_name)
            .resource_arn(&self.resource_arn)
            .priority(self.priority)
            .fixed_rate(self.fixed_rate)
            .reservoir_size(self.reservoir_size)
            .service_name(&self.service_name)
            .service_type(&self.service_type)
            .host(&self.host)
            .http_method(&self.http_method)
            .url_path(&self.url_path)
            .version(self.version)
            .build()
            .expect("every required field is set")
    }

    /// What differs from the rule AWS has, field by field.
    fn differences(&self, r: &aws_sdk_xray::types::SamplingRule) -> Vec<String> {
        let mut d = Vec::new();
        let mut cmp = |name: &str, want: String, have: String| {
            if want != have {
                d.push(format!("{name} is {have}, not {want}"));
            }
        };
        cmp(
            "FixedRate",
            self.fixed_rate.to_string(),
            r.fixed_rate().to_string(),
        );
        cmp(
            "ReservoirSize",
            self.reservoir_size.to_string(),
            r.reservoir_size().to_string(),
        );
        cmp(
            "Priority",
            self.priority.to_string(),
            r.priority().to_string(),
        );
        cmp(
            "ServiceName",
            self.service_name.clone(),
            r.service_name().to_string(),
        );
        cmp("URLPath", self.url_path.clone(), r.url_path().to_string());
        d
    }
}

/// The rule o11y writes, for projects without aws/json/xray.json.
pub fn default_rule(service: &str) -> RuleSpec {
    RuleSpec::parse(&SAMPLING_RULE_TEMPLATE.replace("{service}", service))
        .expect("the template is valid")
}

type RulesError = aws_sdk_xray::error::SdkError<
    aws_sdk_xray::operation::get_sampling_rules::GetSamplingRulesError,
    aws_smithy_runtime_api::http::Response,
>;

/// Every sampling rule AWS has: GetSamplingRules answers a page at a time.
async fn all_rules(
    client: &aws_sdk_xray::Client,
) -> Result<Vec<aws_sdk_xray::types::SamplingRuleRecord>, RulesError> {
    client
        .get_sampling_rules()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
}

/// Whether AWS has a sampling rule of this name.
async fn rule_exists(client: &aws_sdk_xray::Client, name: &str) -> bool {
    all_rules(client).await.is_ok_and(|all| {
        all.iter()
            .filter_map(|r| r.sampling_rule())
            .any(|r| r.rule_name() == Some(name))
    })
}

/// The group and the rule, as AWS has them: (notes, problems). Creates what is missing when
/// `create`; "already exists" is fine; a different existing definition is reported, not changed.
pub async fn provision(
    cfg: &aws_config::SdkConfig,
    service: &str,
    rule: &RuleSpec,
    create: bool,
) -> Result<(Vec<String>, Vec<String>), crate::net::Fault> {
    use aws_sdk_xray::error::ProvideErrorMetadata;
    let client = aws_sdk_xray::Client::new(cfg);
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    let filter = group_filter(service);
    // Both reads at once: they do not depend on each other. The rules come in pages.
    let (group, rules) = tokio::join!(
        client.get_group().group_name(GROUP).send(),
        all_rules(&client)
    );
    let existing = match group {
        Ok(g) => g
            .group()
            .and_then(|g| g.filter_expression())
            .map(str::to_string),
        // GetGroup names a missing group only by this code (there is no NotFound code).
        Err(e) if e.code() == Some("InvalidRequestException") => None,
        Err(e) => return Err(crate::net::aws::fault(&e)),
    };
    match existing {
        Some(f) if f == filter => notes.push(format!("group {GROUP} is there ({filter})")),
        Some(f) => problems.push(format!("group {GROUP} filters `{f}`, not `{filter}`")),
        None if create => match client
            .create_group()
            .group_name(GROUP)
            .filter_expression(&filter)
            .send()
            .await
        {
            Ok(_) => notes.push(format!("created group {GROUP} ({filter})")),
            // X-Ray has no "already exists" code: InvalidRequestException covers that and
            // every malformed request, so the group is read again to tell them apart.
            Err(e)
                if e.code() == Some("InvalidRequestException")
                    && client.get_group().group_name(GROUP).send().await.is_ok() =>
            {
                notes.push(format!("group {GROUP} is there"))
            }
            Err(e) => return Err(crate::net::aws::fault(&e)),
        },
        None => problems.push(format!("there is no group {GROUP}")),
    }
    let rules = rules.map_err(|e| crate::net::aws::fault(&e))?;
    let have = rules
        .iter()
        .filter_map(|r| r.sampling_rule())
        .find(|r| r.rule_name() == Some(rule.rule_name.as_str()))
        .cloned();
    match have {
        Some(r) => {
            let diff = rule.differences(&r);
            if diff.is_empty() {
                notes.push(format!("sampling rule {} is there", rule.rule_name));
            } else {
                problems.push(format!(
                    "sampling rule {} differs from aws/json/xray.json: {}",
                    rule.rule_name,
                    diff.join(", ")
                ));
            }
        }
        None if create => match client
            .create_sampling_rule()
            .sampling_rule(rule.to_sdk())
            .send()
            .await
        {
            Ok(_) => notes.push(format!("created sampling rule {}", rule.rule_name)),
            Err(e)
                if e.code() == Some("InvalidRequestException")
                    && rule_exists(&client, &rule.rule_name).await =>
            {
                notes.push(format!("sampling rule {} is there", rule.rule_name))
            }
            Err(e) => return Err(crate::net::aws::fault(&e)),
        },
        None => problems.push(format!("there is no sampling rule {}", rule.rule_name)),
    }
    Ok((notes, problems))
}

/// PutTraceSegments with one complete segment (checking UnprocessedTraceSegments), then, when
/// `verify`, BatchGetTraces until the trace is there (at most `wait`). Returns the trace id and
/// whether it was read back.
pub async fn smoke_aws(
    cfg: &aws_config::SdkConfig,
    service: &str,
    verify: bool,
    wait: std::time::Duration,
) -> Result<(String, bool), String> {
    let client = aws_sdk_xray::Client::new(cfg);
    let id = *uuid::Uuid::new_v4().as_bytes();
    let now = crate::net::unix_now();
    let trace = trace_id(now.as_secs(), id[4..].try_into().expect("12 bytes"));
    let datagram = smoke_datagram(
        service,
        &trace,
        id[..8].try_into().expect("8 bytes"),
        now.as_secs_f64(),
    );
    let doc = datagram
        .split_once('\n')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let out = client
        .put_trace_segments()
        .trace_segment_documents(doc)
        .send()
        .await
        .map_err(|e| {
            crate::net::aws::fault(&e).line("AWS X-Ray", &crate::net::aws::host(cfg, "xray"))
        })?;
    if let Some(u) = out.unprocessed_trace_segments().first() {
        return Err(format!(
            "X-Ray answered 200 but did not take the segment: {} {}",
            u.error_code().unwrap_or(""),
            u.message().unwrap_or("")
        ));
    }
    if !verify {
        return Ok((trace, false));
    }
    // Real X-Ray makes a trace readable only after processing it, seconds later.
    let read = crate::net::aws::poll(wait, || async {
        let got = client
            .batch_get_traces()
            .trace_ids(&trace)
            .send()
            .await
            .map_err(|e| {
                crate::net::aws::fault(&e).line("AWS X-Ray", &crate::net::aws::host(cfg, "xray"))
            })?;
        Ok::<bool, String>(got.traces().iter().any(|t| t.id() == Some(trace.as_str())))
    })
    .await?;
    Ok((trace, read))
}

pub fn console_link(region: &str, trace: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#xray:traces/{trace}")
}

pub static DEF: super::behaviour::Def = super::behaviour::Def {
    spec: &SPEC,
    checks,
    fixes: &[super::behaviour::Fix {
        check: "xray.resources",
        run: |ctx| {
            Box::pin(async move {
                let service = ctx.service();
                let rule = project_rule(ctx.root(), &service)
                    .map_err(|e| format!("could not read the sampling rule: {e}"))?;
                let cfg = ctx.aws().await;
                provision(cfg, &service, &rule, true)
                    .await
                    .map(|(notes, _)| notes.join("; "))
                    .map_err(|f| {
                        format!(
                            "could not create the X-Ray group and rule: {}",
                            f.line("AWS X-Ray", &crate::net::aws::host(cfg, "xray"))
                        )
                    })
            })
        },
    }],
    fixed_by_apply: &["xray.daemon"],
    verdict: None,
    smoke: |ctx, o| Box::pin(smoke(ctx, o)),
    local_smoke: |t| {
        Box::pin(async move {
            // UDP has no answer: the daemon port's TCP side tells whether listen is there.
            tokio::net::TcpStream::connect((t.host.as_str(), t.port))
                .await
                .map_err(|e| e.to_string())?;
            send_smoke(&format!("{}:{}", t.host, t.port), &t.service)
                .await
                .map(|trace| format!("segment sent to `o11y listen` over UDP (trace {trace}); it shows in listen's output"))
        })
    },
};

/// The group and rule provisioned, then a segment sent through the API and read back.
async fn smoke(
    ctx: std::sync::Arc<crate::context::Ctx>,
    o: super::behaviour::SmokeOpts,
) -> crate::report::Step {
    use crate::report::Step;
    let service = ctx.service();
    let cfg = ctx.aws().await;
    let Some(region) = cfg.region().map(|r| r.to_string()) else {
        return Step::failed(
            "no AWS region",
            "`export AWS_DEFAULT_REGION=us-east-1` (your region), then run `o11y smoke` again",
        );
    };
    let rule = match project_rule(ctx.root(), &service) {
        Err(e) => {
            return Step::failed(
                e,
                "fix aws/json/xray.json (or delete it and run `o11y apply`)",
            )
        }
        Ok(rule) => rule,
    };
    let (notes, problems) = match provision(cfg, &service, &rule, true).await {
        Err(f) => {
            return Step::failed(
                f.line("AWS X-Ray", &crate::net::aws::host(cfg, "xray")),
                crate::net::aws::hint(&f),
            )
        }
        Ok(found) => found,
    };
    match smoke_aws(cfg, &service, o.verify, o.wait).await {
        Err(e) => Step::failed(e, "run `o11y doctor --only services,xray` for the cause"),
        Ok((trace, read)) => {
            let mut detail = if read {
                format!("segment read back ({trace})")
            } else if o.verify {
                format!("segment accepted ({trace}), not readable yet after {:.0} s: X-Ray processes a trace before it can be read; the link shows it in a minute", o.wait.as_secs_f64())
            } else {
                format!("segment accepted ({trace})")
            };
            for n in notes.iter().chain(problems.iter()) {
                detail.push_str(&format!("; {n}"));
            }
            let link = Some(console_link(&region, &trace));
            if read {
                Step::verified(detail, link)
            } else {
                Step::accepted(detail, link)
            }
        }
    }
}
