//! The checks that belong to no single integration (tools, project, secrets at large, runtime),
//! and the per-integration lists, which live with their integration.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use super::{Check, CheckFuture, Ctx, Group, Outcome};
use crate::integrations::{self, Integration, AWS_ENV};
use crate::patch::plan::{plan, Target};

pub fn generic() -> Vec<Check> {
    vec![
        Check {
            id: "tools.docker",
            group: Group::Tools,
            title: "docker",
            integration: None,
            run: docker,
        },
        Check {
            id: "tools.compose",
            group: Group::Tools,
            title: "docker compose",
            integration: None,
            run: compose_tool,
        },
        Check {
            id: "tools.python",
            group: Group::Tools,
            title: "python3",
            integration: None,
            run: python,
        },
        Check {
            id: "tools.workspace",
            group: Group::Tools,
            title: "workspace CLI (gp / gh)",
            integration: None,
            run: workspace,
        },
        Check {
            id: "project.found",
            group: Group::Project,
            title: "project",
            integration: None,
            run: found,
        },
        Check {
            id: "project.requirements",
            group: Group::Project,
            title: "requirements.txt",
            integration: None,
            run: requirements,
        },
        Check {
            id: "project.compose",
            group: Group::Project,
            title: "docker-compose.yml wiring",
            integration: None,
            run: compose_env,
        },
        Check {
            id: "project.flask",
            group: Group::Project,
            title: "Flask pitfalls",
            integration: None,
            run: flask_pitfalls,
        },
        Check {
            id: "project.workspace",
            group: Group::Project,
            title: "workspace start",
            integration: None,
            run: workspace_files,
        },
        Check {
            id: "secrets.literals",
            group: Group::Secrets,
            title: "no keys in tracked files",
            integration: None,
            run: literals,
        },
        Check {
            id: "secrets.dotenv",
            group: Group::Secrets,
            title: ".env kept out of git",
            integration: None,
            run: dotenv_tracked,
        },
        Check {
            id: "secrets.aws",
            group: Group::Secrets,
            title: "AWS credentials and region",
            integration: None,
            run: aws_credentials,
        },
        Check {
            id: "services.aws",
            group: Group::Services,
            title: "AWS identity (STS)",
            integration: None,
            run: aws_identity,
        },
        Check {
            id: "runtime.backend",
            group: Group::Runtime,
            title: "backend on 4567",
            integration: None,
            run: backend_up,
        },
        Check {
            id: "runtime.listen",
            group: Group::Runtime,
            title: "local receivers",
            integration: None,
            run: local_receivers,
        },
        Check {
            id: "runtime.xray_udp",
            group: Group::Runtime,
            title: "X-Ray daemon on 2000/udp",
            integration: None,
            run: xray_udp,
        },
    ]
}

/// The checks an integration owns.
pub fn for_integration(i: Integration) -> Vec<Check> {
    let code = Check {
        id: "",
        group: Group::Project,
        title: "",
        integration: Some(i),
        run: code_for,
    };
    let mut out = Vec::new();
    match i {
        Integration::Honeycomb => {
            out.push(Check {
                id: "honeycomb.code",
                title: "Honeycomb in the code",
                run: |c| code_check(c, Integration::Honeycomb),
                ..code
            });
            out.extend(integrations::honeycomb::checks());
        }
        Integration::Xray => {
            out.push(Check {
                id: "xray.code",
                title: "X-Ray in the code",
                run: |c| code_check(c, Integration::Xray),
                ..code
            });
            out.extend(integrations::xray::checks());
        }
        Integration::Cloudwatch => {
            out.push(Check {
                id: "cloudwatch.code",
                title: "CloudWatch Logs in the code",
                run: |c| code_check(c, Integration::Cloudwatch),
                ..code
            });
            out.extend(integrations::cloudwatch::checks());
        }
        Integration::Rollbar => {
            out.push(Check {
                id: "rollbar.code",
                title: "Rollbar in the code",
                run: |c| code_check(c, Integration::Rollbar),
                ..code
            });
            out.extend(integrations::rollbar::checks());
        }
    }
    out
}

fn code_for(_c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async { Outcome::skip("") })
}

fn ready(o: Outcome) -> CheckFuture {
    Box::pin(async move { o })
}

const NO_PROJECT: &str = "no project found (see the project check)";

fn docker(_c: Arc<Ctx>) -> CheckFuture {
    ready(match which::which("docker") {
        Ok(p) => Outcome::ok(format!("found at {}", p.display())),
        Err(_) => Outcome::fail(
            "docker is not installed: the stack cannot start",
            "install Docker (Docker Desktop, or `sudo apt-get install docker.io`), or work in Gitpod or Codespaces where it is there",
        ),
    })
}

fn compose_tool(_c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async {
        let v2 = tokio::process::Command::new("docker")
            .args(["compose", "version"])
            .output()
            .await;
        if v2.as_ref().is_ok_and(|o| o.status.success()) {
            return Outcome::ok("`docker compose` (v2) works");
        }
        if which::which("docker-compose").is_ok() {
            return Outcome::ok("`docker-compose` (v1) found");
        }
        Outcome::fail(
            "neither `docker compose` nor `docker-compose` is available",
            "install the Docker Compose plugin (`sudo apt-get install docker-compose-plugin`)",
        )
    })
}

fn python(_c: Arc<Ctx>) -> CheckFuture {
    ready(match which::which("python3") {
        Ok(p) => Outcome::ok(format!("found at {}", p.display())),
        Err(_) => Outcome::warn(
            "python3 is not installed: fine inside docker, but the backend cannot run outside it",
            "install Python 3 (`sudo apt-get install python3`) to run the backend without docker",
        ),
    })
}

fn workspace(c: Arc<Ctx>) -> CheckFuture {
    let gitpod = c.var("GITPOD_WORKSPACE_ID").is_some();
    let codespaces = c.var("CODESPACES") == Some("true");
    ready(if gitpod {
        match which::which("gp") {
            Ok(_) => Outcome::ok("Gitpod, `gp` found"),
            Err(_) => Outcome::warn(
                "this is Gitpod but `gp` is missing",
                "restart the workspace; `gp` comes with every Gitpod workspace",
            ),
        }
    } else if codespaces {
        match which::which("gh") {
            Ok(_) => Outcome::ok("Codespaces, `gh` found"),
            Err(_) => Outcome::warn(
                "this is Codespaces but `gh` is missing",
                "install the GitHub CLI (`sudo apt-get install gh`)",
            ),
        }
    } else {
        Outcome::skip("not Gitpod or Codespaces")
    })
}

fn found(c: Arc<Ctx>) -> CheckFuture {
    ready(match &c.project {
        Ok(p) => Outcome::ok(format!(
            "{} with service `{}` in {}/",
            p.compose,
            p.service,
            if p.backend_dir.is_empty() {
                "."
            } else {
                &p.backend_dir
            }
        )),
        Err(e) => Outcome::fail(
            e.clone(),
            "run o11y in your project folder, or pass `--project DIR`",
        ),
    })
}

/// The plan for this project, restricted to `only`; None without a project.
fn plan_for(
    c: &Ctx,
    only: Option<Vec<Integration>>,
) -> Option<Result<crate::patch::plan::Plan, String>> {
    let inputs = c.inputs.as_ref()?;
    let target = Target {
        enabled: c.enabled.clone(),
        only,
        local: false,
    };
    Some(
        plan(inputs, &target)
            .map_err(|e| format!("{}, line {}: {}", e.path, e.error.line, e.error.what)),
    )
}

fn requirements(c: Arc<Ctx>) -> CheckFuture {
    ready(match plan_for(&c, None) {
        None => Outcome::skip(NO_PROJECT),
        Some(Err(e)) => Outcome::fail(e, "fix the file at that line, then run `o11y doctor` again"),
        Some(Ok(p)) => match p
            .edits
            .iter()
            .find(|e| e.path.ends_with("requirements.txt"))
        {
            None => Outcome::ok("every package the enabled integrations need is listed"),
            Some(e) => {
                let missing: Vec<&str> = e
                    .after
                    .lines()
                    .filter(|l| !e.before.as_deref().unwrap_or("").lines().any(|b| b == *l))
                    .collect();
                Outcome::fail(
                    format!("{} misses {}", e.path, missing.join(", ")),
                    "run `o11y apply` (or `o11y doctor --fix`)",
                )
            }
        },
    })
}

fn code_check(c: Arc<Ctx>, i: Integration) -> CheckFuture {
    ready(match plan_for(&c, Some(vec![i])) {
        None => Outcome::skip(NO_PROJECT),
        Some(Err(e)) => Outcome::fail(e, "fix the file at that line, then run `o11y doctor` again"),
        Some(Ok(p)) => {
            let py: Vec<&str> = p
                .edits
                .iter()
                .filter(|e| e.path.ends_with(".py"))
                .map(|e| e.path.as_str())
                .collect();
            let unreachable: Vec<String> = c
                .inputs
                .iter()
                .flat_map(|inp| inp.python.iter().map(move |(f, s)| (inp.path_of(*f), s)))
                .filter_map(|(path, s)| {
                    let s = s.as_ref()?;
                    let dead = crate::patch::python::unreachable_blocks(&s.text);
                    dead.iter().find(|b| b.integration == i).map(|b| {
                        format!(
                            "{path}, line {}",
                            crate::patch::python::line_of(&s.text, b.start)
                        )
                    })
                })
                .collect();
            let hand = p.hand.iter().find(|h| h.integration == i);
            if !unreachable.is_empty() {
                Outcome::fail(
                    format!(
                        "o11y's {} block at {} comes after a `return`, so it never runs",
                        i.title(),
                        unreachable.join(", ")
                    ),
                    format!("move the block (from its `# >>> o11y:` line to its `# <<< o11y:` line) above that `return`, or delete it and run `o11y apply` (`o11y plan --only {i}` shows the code)"),
                )
            } else if let Some(m) = p.manual.iter().find(|m| m.integration == i.name()) {
                Outcome::fail(
                    format!("{}: {}", m.file, m.reason),
                    format!("{} (`o11y plan --only {i}` shows the code)", m.place),
                )
            } else if !py.is_empty() {
                Outcome::fail(
                    format!("{} not wired into {}", i.title(), py.join(", ")),
                    "run `o11y apply` (or `o11y doctor --fix`)",
                )
            } else if let Some(h) = hand {
                match &h.warning {
                    Some(w) => Outcome::warn(
                        format!("set up by hand in {}; {w}", h.path),
                        "nothing is broken; update that code when you next touch it",
                    ),
                    None => Outcome::ok(format!("set up by hand in {}, complete", h.path)),
                }
            } else if p.notes.iter().any(|n| n.starts_with(i.title())) {
                Outcome::ok("set up by hand, complete")
            } else {
                Outcome::ok("wired in by o11y")
            }
        }
    })
}

/// The backend's variables as written in the compose file: name → value.
fn backend_env(c: &Ctx) -> Option<Result<Vec<(String, String)>, String>> {
    let inputs = c.inputs.as_ref()?;
    let names = crate::patch::compose::env_names(&inputs.compose.text, &inputs.service);
    Some(
        names
            .map_err(|e| format!("{}, line {}: {}", inputs.compose.path, e.line, e.what))
            .map(|names| {
                let text = &inputs.compose.text;
                names
                    .into_iter()
                    .map(|n| {
                        let v = text
                            .lines()
                            .map(str::trim)
                            .find_map(|l| {
                                let l = l
                                    .trim_start_matches("- ")
                                    .trim_matches('"')
                                    .trim_matches('\'');
                                l.strip_prefix(&format!("{n}:"))
                                    .or_else(|| l.strip_prefix(&format!("{n}=")))
                            })
                            .unwrap_or("")
                            .trim()
                            .trim_matches('"')
                            .trim_matches('\'')
                            .to_string();
                        (n, v)
                    })
                    .collect()
            }),
    )
}

fn compose_env(c: Arc<Ctx>) -> CheckFuture {
    ready(match backend_env(&c) {
        None => Outcome::skip(NO_PROJECT),
        Some(Err(e)) => Outcome::fail(e, "fix the file at that line, then run `o11y doctor` again"),
        Some(Ok(env)) => {
            let mut wanted: Vec<&str> = Vec::new();
            for i in &c.enabled {
                wanted.extend(i.spec().env.iter().map(|e| e.name));
            }
            if c.enabled.iter().any(|i| i.uses_aws()) {
                wanted.extend(AWS_ENV.iter().map(|e| e.name));
            }
            let inputs = c.inputs.as_ref();
            let from_files: Vec<(&str, &str, &crate::patch::plan::EnvFile)> = inputs
                .map(|i| i.env_file_vars(&i.service))
                .unwrap_or_default();
            let missing: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|w| {
                    !env.iter().any(|(n, _)| n == w) && !from_files.iter().any(|(n, _, _)| n == w)
                })
                .collect();
            // OTLPSpanExporter(endpoint=...) takes the URL as it is, /v1/traces included: the
            // variable then must hold the full path (the exporter appends it only to
            // OTEL_EXPORTER_OTLP_ENDPOINT read by itself).
            let endpoint_in_code = inputs.is_some_and(|i| {
                i.python
                    .iter()
                    .filter_map(|(_, s)| s.as_ref())
                    .chain(i.linked.iter())
                    .any(|s| {
                        s.text
                            .split("OTLPSpanExporter(")
                            .skip(1)
                            .any(|args| args.split(')').next().unwrap_or("").contains("endpoint"))
                    })
            });
            let literal_endpoints: Vec<String> = if c.local {
                c.enabled
                    .iter()
                    .flat_map(|i| i.spec().env.iter())
                    .filter(|e| e.local)
                    .filter_map(|e| {
                        env.iter()
                            .find(|(n, v)| n == e.name && !v.is_empty() && !v.contains('$'))
                            .map(|(n, v)| format!("{n} ({v})"))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let literal: Vec<&str> = env
                .iter()
                .filter(|(n, v)| {
                    wanted.contains(&n.as_str())
                        && !v.is_empty()
                        && !v.contains("${")
                        && is_secret_name(n)
                })
                .map(|(n, _)| n.as_str())
                .collect();
            let ends_in_path = |v: &str| v.trim_end_matches('/').ends_with("/v1/traces");
            // In the compose file itself, or in the shell or .env it takes `${...}` from.
            let from_vars = c
                .vars
                .get("OTEL_EXPORTER_OTLP_ENDPOINT")
                .filter(|(v, _)| ends_in_path(v))
                .map(|(v, _)| ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), v.clone()));
            let doubled = env
                .iter()
                .find(|(n, v)| n == "OTEL_EXPORTER_OTLP_ENDPOINT" && ends_in_path(v))
                .cloned()
                .or(from_vars)
                .filter(|_| !endpoint_in_code);
            let unset_ref = env.iter().find(|(n, v)| {
                n == "OTEL_SERVICE_NAME"
                    && v.contains("${HONEYCOMB_SERVICE_NAME}")
                    && c.var("HONEYCOMB_SERVICE_NAME").is_none()
            });
            // Every problem is named, worst first, so one run shows them all.
            let mut problems: Vec<Outcome> = Vec::new();
            if !literal.is_empty() {
                problems.push(Outcome::fail(
                    format!("{} written literally into the compose file (a secret in git)", literal.join(", ")),
                    "replace each value with a reference like \"${NAME}\", set the value in your environment or .env, and rotate the key",
                ));
            }
            if let Some((_, v)) = doubled {
                problems.push(Outcome::fail(
                    format!("OTEL_EXPORTER_OTLP_ENDPOINT is {v}: the exporter appends /v1/traces itself, so spans go to /v1/traces/v1/traces"),
                    "drop the /v1/traces from OTEL_EXPORTER_OTLP_ENDPOINT (e.g. https://api.honeycomb.io)",
                ));
            }
            if !literal_endpoints.is_empty() {
                problems.push(Outcome::warn(
                    format!("{} written out in the compose file: in local mode the backend still sends there, not to `o11y listen`", literal_endpoints.join(", ")),
                    "run `o11y apply --local` (it turns each into a \"${VAR:-value}\" reference)",
                ));
            }
            if !missing.is_empty() {
                problems.push(Outcome::fail(
                    format!("the backend lacks {}", missing.join(", ")),
                    "run `o11y apply` (or `o11y doctor --fix`)",
                ));
            }
            if unset_ref.is_some() {
                problems.push(Outcome::warn(
                    "OTEL_SERVICE_NAME is \"${HONEYCOMB_SERVICE_NAME}\", which nothing sets: spans arrive as unknown_service",
                    "set it to \"${OTEL_SERVICE_NAME:-backend-flask}\" in the compose file",
                ));
            }
            problems.sort_by_key(|p| std::cmp::Reverse(p.status));
            if problems.is_empty() {
                Outcome::ok(format!(
                    "{} variables, all as ${{VAR}} references",
                    wanted.len()
                ))
            } else {
                Outcome {
                    status: problems[0].status,
                    reason: problems
                        .iter()
                        .map(|p| p.reason.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    fix: Some(
                        problems
                            .iter()
                            .filter_map(|p| p.fix.as_deref())
                            .collect::<Vec<_>>()
                            .join("; then "),
                    ),
                }
            }
        }
    })
}

fn is_secret_name(n: &str) -> bool {
    matches!(
        n,
        "HONEYCOMB_API_KEY"
            | "ROLLBAR_ACCESS_TOKEN"
            | "AWS_ACCESS_KEY_ID"
            | "AWS_SECRET_ACCESS_KEY"
            | "OTEL_EXPORTER_OTLP_HEADERS"
    )
}

/// A workspace file that runs o11y at start must install it first: a new workspace has none.
fn workspace_files(c: Arc<Ctx>) -> CheckFuture {
    let Some(inputs) = c.inputs.as_ref() else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    let gitpod = inputs.gitpod.as_ref().filter(|g| {
        let code: String = g
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        code.contains("o11y ") && !code.contains("cruddur-o11y")
    });
    let devcontainer = inputs
        .devcontainer
        .as_ref()
        .filter(|d| crate::patch::devcontainer::runs_without_install(&d.text));
    let bad: Vec<&str> = gitpod
        .iter()
        .chain(devcontainer.iter())
        .map(|s| s.path.as_str())
        .collect();
    ready(if !bad.is_empty() {
        Outcome::warn(
            format!(
                "{} run(s) o11y at start without installing it: a new workspace has no `o11y`",
                bad.join(" and ")
            ),
            "run `o11y apply` (it adds `pip install cruddur-o11y` before `o11y doctor`)",
        )
    } else if inputs.gitpod.is_none() && inputs.devcontainer.is_none() {
        Outcome::skip("no .gitpod.yml or .devcontainer/devcontainer.json")
    } else if inputs
        .gitpod
        .iter()
        .chain(inputs.devcontainer.iter())
        .any(|s| s.text.contains("cruddur-o11y"))
    {
        Outcome::ok("the workspace installs o11y before it runs `o11y doctor`")
    } else {
        Outcome::ok("the workspace does not run o11y at start (`o11y apply` adds it)")
    })
}

fn flask_pitfalls(c: Arc<Ctx>) -> CheckFuture {
    let Some(inputs) = c.inputs.as_ref() else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    let app = inputs
        .python
        .iter()
        .find(|(f, _)| *f == integrations::PyFile::App)
        .and_then(|(_, s)| s.as_ref())
        .into_iter()
        .chain(inputs.linked.iter())
        .map(|s| s.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let app_path = inputs.path_of(integrations::PyFile::App);
    let old_flask = inputs
        .requirements
        .as_ref()
        .is_some_and(|r| crate::patch::requirements::pinned_below(&r.text, "flask", "2.3"));
    let code: String = app
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let root = c.root().map(|r| r.to_path_buf());
    let backend = inputs.backend_dir.clone();
    let compose = inputs.compose.text.clone();
    ready({
        let dockerfile = root
            .map(|r| {
                std::fs::read_to_string(r.join(&backend).join("Dockerfile")).unwrap_or_default()
            })
            .unwrap_or_default();
        let debug_env =
            Regex::new(r#"FLASK_DEBUG["']?\s*[:=]\s*["']?(1|true)"#).expect("valid regex");
        // Zero-code instrumentation: the backend is started through `opentelemetry-instrument`.
        let zero_code = c.enabled.contains(&Integration::Honeycomb)
            && (dockerfile.contains("opentelemetry-instrument")
                || compose.contains("opentelemetry-instrument"));
        if code.contains("before_first_request") && !old_flask {
            Outcome::fail(
                format!("{app_path} (or a module it imports) uses @app.before_first_request, which Flask 2.3 removed: the backend will not start"),
                "move that code into `with app.app_context():` right after `app = Flask(__name__)` (`o11y plan --only rollbar` shows it)",
            )
        } else if zero_code
            && (debug_env.is_match(&compose)
                || debug_env.is_match(&dockerfile)
                || dockerfile.contains("--debug"))
        {
            // opentelemetry.io, Python zero-code troubleshooting: "The debug mode can break
            // instrumentation from happening because it enables a reloader." In-code setup, as
            // o11y writes it, is run again by the reloader's child and is not affected.
            Outcome::warn(
                "`opentelemetry-instrument` runs Flask in debug mode with its reloader, which drops the zero-code instrumentation",
                "remove FLASK_DEBUG=1 / --debug, or add `--no-reload` to the `flask run` command",
            )
        } else if zero_code && code.contains("debug=True") && !code.contains("use_reloader=False") {
            Outcome::warn(
                "`opentelemetry-instrument` runs `app.run(debug=True)`, whose reloader drops the zero-code instrumentation",
                "write `app.run(debug=True, use_reloader=False)`",
            )
        } else {
            Outcome::ok("no removed Flask APIs, no reloader in the way")
        }
    })
}

/// Key shapes that must never be in git: (what, pattern).
pub fn key_patterns() -> Vec<(&'static str, Regex)> {
    [
        ("a Honeycomb key", r"\bhc[a-z]{2}k_[a-zA-Z0-9]{20,}"),
        (
            "a Honeycomb key",
            r#"(?i)x-honeycomb-team\s*[=:]\s*["']?[a-zA-Z0-9]{20,}"#,
        ),
        (
            "a Honeycomb key",
            r#"(?i)honeycomb_api_key\s*[=:]\s*["']?[a-zA-Z0-9_]{20,}"#,
        ),
        ("an AWS access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
        (
            "an AWS secret key",
            r#"(?i)aws_secret_access_key\s*[=:]\s*["']?[a-zA-Z0-9/+]{40}"#,
        ),
        (
            "a Rollbar token",
            r#"(?i)rollbar_access_token\s*[=:]\s*["']?[0-9a-f]{32}"#,
        ),
        (
            "a Rollbar token",
            r#"rollbar\.init\(\s*["'][0-9a-f]{32}["']"#,
        ),
    ]
    .into_iter()
    .map(|(w, p)| (w, Regex::new(p).expect("valid key pattern")))
    .collect()
}

/// Tracked files (git ls-files), or every file when this is not a git checkout.
fn files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z"])
        .output();
    if let Some(o) = out.ok().filter(|o| o.status.success()) {
        return o
            .stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| root.join(String::from_utf8_lossy(s).as_ref()))
            .collect();
    }
    let mut all = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if matches!(
                name.as_str(),
                ".git" | "node_modules" | ".venv" | "target" | ".o11y" | ".env"
            ) {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                all.push(e.path());
            }
        }
    }
    all
}

fn literals(c: Arc<Ctx>) -> CheckFuture {
    let Some(root) = c.root().map(|r| r.to_path_buf()) else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    Box::pin(async move {
        let found = tokio::task::spawn_blocking(move || {
            let patterns = key_patterns();
            let mut hits = Vec::new();
            for f in files(&root) {
                let Ok(meta) = std::fs::metadata(&f) else {
                    continue;
                };
                if meta.len() > 1_000_000 || f.file_name().is_some_and(|n| n == ".env") {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&f) else {
                    continue;
                };
                for (n, line) in text.lines().enumerate() {
                    if let Some((what, _)) = patterns.iter().find(|(_, re)| re.is_match(line)) {
                        let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
                        hits.push(format!("{what} in {rel}:{}", n + 1));
                    }
                }
            }
            hits
        })
        .await
        .unwrap_or_default();
        if found.is_empty() {
            Outcome::ok("no key shapes in the project's files")
        } else {
            Outcome::fail(
                format!("{} (value not shown)", found.join(", ")),
                "move the value into your environment or .env, put a ${VAR} reference in its place, and rotate the key: it is in git history",
            )
        }
    })
}

fn dotenv_tracked(c: Arc<Ctx>) -> CheckFuture {
    let Some(root) = c.root().map(|r| r.to_path_buf()) else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    Box::pin(async move {
        if !root.join(".env").is_file() {
            return Outcome::ok("no .env file");
        }
        let tracked = tokio::process::Command::new("git")
            .current_dir(&root)
            .args(["ls-files", "--error-unmatch", ".env"])
            .output()
            .await
            .is_ok_and(|o| o.status.success());
        if tracked {
            return Outcome::fail(".env is tracked by git: its keys go to GitHub with the next push", "run `git rm --cached .env`, add `.env` to .gitignore, commit, and rotate the keys in it");
        }
        if crate::secrets::dotenv::is_ignored(&root) {
            Outcome::ok(".env exists and is git-ignored")
        } else {
            Outcome::warn(
                ".env is not in .gitignore: one `git add .` away from being committed",
                "add `.env` to .gitignore (or run `o11y doctor --fix`)",
            )
        }
    })
}

/// A required variable: present (where from), or the Gitpod trap, or missing.
pub fn secret_present(c: &Ctx, name: &str, what: &str) -> Outcome {
    if let Some((v, from)) = c.vars.get(name).filter(|(v, _)| !v.is_empty()) {
        return Outcome::ok(format!(
            "{name} is set ({from}), ending in {}",
            &crate::secrets::mask(v)[4..]
        ));
    }
    if c.var("GITPOD_WORKSPACE_ID").is_some() {
        let listed = std::process::Command::new("gp")
            .args(["env"])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.starts_with(&format!("{name}=")))
            })
            .unwrap_or(false);
        if listed {
            return Outcome::fail(
                format!("{name} was set with `gp env` but is not in this shell: `gp env` only reaches workspaces started later"),
                "run `eval \"$(gp env -e)\"` in this terminal (or restart the workspace), then run `o11y doctor` again",
            );
        }
    }
    Outcome::fail(
        format!("{name} ({what}) is not set in this shell or in .env"),
        format!("run `o11y init` (it asks for it, checks it and stores it), or put `{name}=...` in the .env beside docker-compose.yml (git-ignored)"),
    )
}

fn aws_needed(c: &Ctx) -> bool {
    c.enabled.iter().any(|i| i.uses_aws())
}

fn aws_credentials(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !aws_needed(&c) {
            return Outcome::skip("X-Ray and CloudWatch Logs are switched off");
        }
        let cfg = c.aws().await;
        let region = cfg.region().map(|r| r.to_string());
        let creds = match cfg.credentials_provider() {
            Some(p) => {
                use aws_credential_types::provider::ProvideCredentials;
                p.provide_credentials().await.ok()
            }
            None => None,
        };
        match (region, creds) {
            (None, _) => Outcome::fail(
                "no AWS region: neither AWS_DEFAULT_REGION nor AWS_REGION nor a profile sets one",
                "run `o11y init` (it asks for the region), or `export AWS_DEFAULT_REGION=us-east-1` (your region)",
            ),
            (_, None) => Outcome::fail(
                "no AWS credentials in the environment, a profile or SSO",
                "run `o11y init` (it asks for the keys, checks them and stores them), or `export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...`",
            ),
            (Some(r), Some(k)) => Outcome::ok(format!(
                "region {r}, access key ending in {}",
                &crate::secrets::mask(k.access_key_id())[4..]
            )),
        }
    })
}

fn aws_identity(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !aws_needed(&c) {
            return Outcome::skip("X-Ray and CloudWatch Logs are switched off");
        }
        let cfg = c.aws().await;
        if cfg.region().is_none() {
            return Outcome::skip("no AWS region (see the credentials check)");
        }
        match integrations::aws::identity(cfg).await {
            Ok(id) => Outcome::ok(id.describe()),
            Err(f) => Outcome::fail(f.line("AWS STS", "sts"), integrations::aws::hint(&f)),
        }
    })
}

fn backend_up(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        let url = format!(
            "{}/api/activities/home",
            c.endpoints.backend.trim_end_matches('/')
        );
        match integrations::net::send(c.http.get(&url).timeout(Duration::from_secs(3)), &[]).await {
            Ok(_) => Outcome::ok(format!("{url} answers 200")),
            Err(integrations::net::Fault::Refused) => Outcome::skip(format!(
                "the stack is not running (`{} up` starts it)",
                crate::project::compose_command()
            )),
            Err(f) => Outcome::fail(
                f.line("the backend", &integrations::net::host_of(&url)),
                format!(
                    "look at the backend's log: `{} logs {}`",
                    crate::project::compose_command(),
                    c.service()
                ),
            ),
        }
    })
}

/// Whether some socket listens on UDP `port` (from /proc/net/udp and udp6).
pub fn udp_listening(port: u16) -> bool {
    let hex = format!(":{port:04X}");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|local| local.ends_with(&hex))
            })
    })
}

/// In local mode, whether `o11y listen` answers on each of its ports on this machine.
fn local_receivers(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !c.local {
            return Outcome::skip("not in local mode");
        }
        let p = crate::listen::Ports::default();
        let mut silent = Vec::new();
        for (what, port) in [
            ("traces", p.otlp),
            ("X-Ray", p.xray),
            ("logs", p.logs),
            ("Rollbar", p.rollbar),
        ] {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                silent.push(format!("{what} on {port}"));
            }
        }
        if silent.is_empty() {
            Outcome::ok("`o11y listen` answers on 4318, 2000, 4584 and 4585")
        } else {
            Outcome::fail(
                format!("local mode, but nothing answers for {}", silent.join(", ")),
                "start the receivers in another terminal: `o11y listen --bind 0.0.0.0` (or leave local mode: `o11y apply --cloud`)",
            )
        }
    })
}

fn xray_udp(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !c.enabled.contains(&Integration::Xray) {
            return Outcome::skip("X-Ray is switched off");
        }
        let backend_up =
            tokio::net::TcpStream::connect(c.endpoints.backend.trim_start_matches("http://"))
                .await
                .is_ok();
        if udp_listening(2000) {
            Outcome::ok("something listens on 2000/udp")
        } else if backend_up {
            Outcome::fail(
                "the backend runs but nothing listens on 2000/udp: segments are lost",
                format!(
                    "start the daemon: `{} up -d xray-daemon` (its ports need \"2000:2000/udp\")",
                    crate::project::compose_command()
                ),
            )
        } else {
            Outcome::skip("the stack is not running")
        }
    })
}
