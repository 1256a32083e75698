//! AWS X-Ray: the SDK's Flask middleware, a daemon container, and a `mock-data` subsegment.

use crate::spec::{
    Anchor, ComposeService, EnvVar, FileTemplate, HandMade, PyBlock, PyFile, Receiver,
    ReceiverKind, Spec, WorkspacePort,
};

mod aws;
mod rule;
mod segment;

use aws::smoke;
pub use aws::{console_link, provision, smoke_aws};
pub use rule::{
    default_rule, group_filter, project_rule, RuleSpec, GROUP, SAMPLING_RULE_PATH,
    SAMPLING_RULE_TEMPLATE,
};
pub use segment::{send_smoke, smoke_datagram, trace_id};

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
            template: include_str!("../../../templates/app/xray_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../../templates/app/xray_setup.py"),
        },
        PyBlock {
            file: PyFile::UserActivities,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../../templates/services/xray_imports.py"),
        },
        PyBlock {
            file: PyFile::UserActivities,
            part: "subsegment",
            anchor: Anchor::BeforeReturn {
                class: "UserActivities",
                method: "run",
            },
            template: include_str!("../../../templates/services/xray_subsegment.py"),
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
    smoke_creates: &["the X-Ray group", "the sampling rule"],
    slow_readback: true,
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
