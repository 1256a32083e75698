//! `o11y demo`: the whole story on the bundled example, with no account and no network:
//! copy it to a scratch folder, apply week 2, start the receivers, run the backend (or send
//! smoke signals when Python and its packages are not there), and show what arrived.

use std::net::{IpAddr, Ipv4Addr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cli::{DemoArgs, Global};
use crate::error::{Failure, EXIT_ERROR, EXIT_OK};
use crate::integrations::{cloudwatch, honeycomb, rollbar, xray, Integration};
use crate::listen::{self, Arrival, Endpoints, Ports};
use crate::patch::apply;
use crate::project;
use crate::ui::Printer;

/// The example project, compiled in so `demo` works from any folder.
const EXAMPLE: &[(&str, &str)] = &[
    (
        "docker-compose.yml",
        include_str!("../../examples/cruddur/docker-compose.yml"),
    ),
    (
        ".gitpod.yml",
        include_str!("../../examples/cruddur/.gitpod.yml"),
    ),
    (
        "backend-flask/Dockerfile",
        include_str!("../../examples/cruddur/backend-flask/Dockerfile"),
    ),
    (
        "backend-flask/app.py",
        include_str!("../../examples/cruddur/backend-flask/app.py"),
    ),
    (
        "backend-flask/requirements.txt",
        include_str!("../../examples/cruddur/backend-flask/requirements.txt"),
    ),
    (
        "backend-flask/services/create_activity.py",
        include_str!("../../examples/cruddur/backend-flask/services/create_activity.py"),
    ),
    (
        "backend-flask/services/create_message.py",
        include_str!("../../examples/cruddur/backend-flask/services/create_message.py"),
    ),
    (
        "backend-flask/services/create_reply.py",
        include_str!("../../examples/cruddur/backend-flask/services/create_reply.py"),
    ),
    (
        "backend-flask/services/home_activities.py",
        include_str!("../../examples/cruddur/backend-flask/services/home_activities.py"),
    ),
    (
        "backend-flask/services/message_groups.py",
        include_str!("../../examples/cruddur/backend-flask/services/message_groups.py"),
    ),
    (
        "backend-flask/services/messages.py",
        include_str!("../../examples/cruddur/backend-flask/services/messages.py"),
    ),
    (
        "backend-flask/services/search_activities.py",
        include_str!("../../examples/cruddur/backend-flask/services/search_activities.py"),
    ),
    (
        "backend-flask/services/show_activity.py",
        include_str!("../../examples/cruddur/backend-flask/services/show_activity.py"),
    ),
    (
        "backend-flask/services/user_activities.py",
        include_str!("../../examples/cruddur/backend-flask/services/user_activities.py"),
    ),
    (
        "frontend-react-js/Dockerfile",
        include_str!("../../examples/cruddur/frontend-react-js/Dockerfile"),
    ),
];

const ROUTES: &[&str] = &[
    "/api/activities/home",
    "/api/activities/@andrewbrown",
    "/rollbar/test",
];
const IMPORTS: &str = "import flask, flask_cors, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.instrumentation.flask, opentelemetry.instrumentation.requests, aws_xray_sdk, watchtower, rollbar, blinker";

fn fail(what: impl std::fmt::Display, hint: &str) -> Failure {
    Failure::new(what.to_string(), hint)
}

fn write_example(root: &Path) -> Result<(), Failure> {
    for (rel, text) in EXAMPLE {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(root))
            .and_then(|_| std::fs::write(&path, text))
            .map_err(|e| {
                fail(
                    format!("cannot write the example to {}: {e}", path.display()),
                    "check that the temp folder is writable (TMPDIR)",
                )
            })?;
    }
    Ok(())
}

/// A Python that has the backend's packages: --python, O11Y_PYTHON, ./.venv, python3.
fn find_python(flag: Option<&PathBuf>) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    if let Some(p) = flag {
        candidates.push(p.display().to_string());
    }
    if let Ok(p) = std::env::var("O11Y_PYTHON") {
        candidates.push(p);
    }
    candidates.push(".venv/bin/python".into());
    candidates.push("python3".into());
    // A path is made absolute: the backend runs in the scratch folder.
    let mut candidates = candidates.into_iter().map(|py| {
        if py.contains('/') {
            std::path::absolute(&py)
                .map(|p| p.display().to_string())
                .unwrap_or(py)
        } else {
            py
        }
    });
    candidates.find(|py| {
        std::process::Command::new(py)
            .args(["-c", IMPORTS])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    })
}

fn free_port() -> Result<u16, Failure> {
    StdListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| {
            fail(
                format!("no free local port: {e}"),
                "close some programs and try again",
            )
        })
}

/// What the demo waits for, per signal.
#[derive(Default)]
struct Seen {
    trace: bool,
    xray: bool,
    log: bool,
    rollbar: bool,
}

impl Seen {
    fn all(&self) -> bool {
        self.trace && self.xray && self.log && self.rollbar
    }

    fn note(&mut self, a: &Arrival, real_app: bool) {
        match a {
            Arrival::Trace { spans, .. } => {
                self.trace |= !real_app || spans.iter().any(|s| s.name == "mock-data")
            }
            Arrival::Xray { subsegments, .. } => {
                self.xray |= !real_app || subsegments.iter().any(|s| s.name == "mock-data")
            }
            Arrival::Log { messages, .. } => {
                self.log |= !real_app || messages.iter().any(|m| m.contains("HomeActivities"))
            }
            Arrival::Rollbar { .. } => self.rollbar = true,
            Arrival::Malformed { .. } => {}
        }
    }
}

pub fn run(_g: &Global, a: &DemoArgs, out: &Printer) -> Result<u8, Failure> {
    let started = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("o11y-demo-")
        .tempdir()
        .map_err(|e| {
            fail(
                format!("cannot make a scratch folder: {e}"),
                "check that TMPDIR is writable",
            )
        })?;
    let root = scratch.path().to_path_buf();
    write_example(&root)?;
    out.say(&format!(
        "{} Copied the example Cruddur backend (week 1) to {}",
        out.bold("1/4"),
        root.display()
    ));

    let p = project::detect(&root, true, None)?;
    let plan = super::compute_plan(&p, Integration::ALL.to_vec(), None, false)?;
    let applied = apply::apply(&p.root, &plan)?;
    let added: usize = plan.edits.iter().map(|e| e.added_lines).sum();
    out.say(&format!(
        "{} Applied week 2: {} files, {added} lines (Honeycomb, X-Ray, CloudWatch Logs, Rollbar)",
        out.bold("2/4"),
        applied.files.len()
    ));

    let rt = super::runtime()?;
    let code = rt.block_on(async {
        let mut running = listen::start(IpAddr::V4(Ipv4Addr::LOCALHOST), Ports::any())
            .await
            .map_err(|e| fail(e.to_string(), &e.hint()))?;
        out.say(&format!(
            "{} Started the local receivers (traces :{}, X-Ray :{}, logs :{}, Rollbar :{})",
            out.bold("3/4"),
            running.endpoints.ports.otlp,
            running.endpoints.ports.xray,
            running.endpoints.ports.logs,
            running.endpoints.ports.rollbar
        ));
        let python = if a.smoke_only { None } else { find_python(a.python.as_ref()) };
        let real_app = python.is_some();
        let mut backend = match &python {
            Some(py) => Some(start_backend(py, &root.join(&p.backend_dir), &running.endpoints, &running.rules_served, out).await?),
            None => {
                out.say(&format!(
                    "{} Python with the backend's packages is not here, so o11y sends one test signal of each kind instead",
                    out.bold("4/4")
                ));
                out.say("    (for the real app: `python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt`, then run the demo again)");
                send_smoke(&running.endpoints).await?;
                None
            }
        };
        out.say("");
        let mut seen = Seen::default();
        let mut tally = crate::ui::listen::Tally::default();
        let deadline = Instant::now() + Duration::from_secs_f64(a.timeout);
        let mut stopped = false;
        while !seen.all() && Instant::now() < deadline {
            // The log handler sends on a timer; stopping the backend (SIGTERM) flushes it.
            if !stopped && seen.trace && seen.xray && seen.rollbar {
                if let Some(b) = backend.as_mut() {
                    stop(b).await;
                }
                stopped = true;
            }
            match tokio::time::timeout(Duration::from_millis(250), running.next()).await {
                Ok(Some(arrival)) => {
                    seen.note(&arrival, real_app);
                    tally.add(&arrival);
                    for line in out.arrival_lines(&arrival) {
                        out.data(&line);
                    }
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
        if let Some(mut b) = backend {
            stop(&mut b).await;
        }
        out.say("");
        let mark = |ok: bool| if ok { out.green("✔") } else { out.red("✖") };
        out.say(&format!("{} traces (Honeycomb over OTLP){}", mark(seen.trace), if real_app { ", with the mock-data span" } else { "" }));
        out.say(&format!("{} X-Ray segments{}", mark(seen.xray), if real_app { ", with the mock-data subsegment" } else { "" }));
        out.say(&format!("{} CloudWatch log events{}", mark(seen.log), if real_app { " (\"HomeActivities\")" } else { "" }));
        out.say(&format!("{} Rollbar items", mark(seen.rollbar)));
        if seen.all() {
            out.success(&format!(
                "Demo done in {:.1} s: {} all four signals, and o11y received them ({}).",
                started.elapsed().as_secs_f64(),
                if real_app { "the patched backend sent" } else { "o11y sent a test signal of" },
                tally.line()
            ));
            out.say("Next, in your own project: `o11y init` (it asks for your keys, checks them and wires everything in). No accounts yet? `o11y init --local` and `o11y listen`.");
            Ok::<u8, Failure>(EXIT_OK)
        } else {
            Err(Failure {
                message: format!("not every signal arrived within {} s ({})", a.timeout, tally.line()),
                hints: vec![format!(
                    "run again with `--timeout 60`; keep the scratch project with `--keep` and look at {}",
                    if real_app { "backend.log in it" } else { "the receivers' output above" }
                )],
                code: EXIT_ERROR,
            })
        }
    });
    if a.keep {
        let kept = scratch.keep();
        out.say(&format!("Kept the scratch project in {}", kept.display()));
    }
    code
}

async fn start_backend(
    py: &str,
    dir: &Path,
    e: &Endpoints,
    rules_served: &AtomicU64,
    out: &Printer,
) -> Result<tokio::process::Child, Failure> {
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("backend.log"))
        .map_err(|e| fail(e, "check that TMPDIR is writable"))?;
    let mut cmd = tokio::process::Command::new(py);
    cmd.current_dir(dir)
        .args([
            "-m",
            "flask",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .env("FLASK_APP", "app")
        .env("PYTHONUNBUFFERED", "1")
        .env("OTEL_SERVICE_NAME", crate::project::DEFAULT_SERVICE)
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("ROLLBAR_ACCESS_TOKEN", "local")
        .env_remove("AWS_PROFILE")
        .env_remove("FLASK_DEBUG")
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| fail(e, "check that TMPDIR is writable"))?,
        )
        .stderr(log)
        .kill_on_drop(true);
    for (k, v) in e.env(&e.host) {
        cmd.env(k, v);
    }
    let child = cmd.spawn().map_err(|e| {
        fail(
            format!("cannot start {py}: {e}"),
            "check your Python installation",
        )
    })?;
    out.say(&format!(
        "{} Started the patched backend with {py} on 127.0.0.1:{port}; requesting {}",
        out.bold("4/4"),
        ROUTES.join(", ")
    ));
    let client = crate::integrations::net::client(Duration::from_secs(5))?;
    let base = format!("http://127.0.0.1:{port}");
    let up = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > up {
            return Err(fail(
                "the backend did not answer within 30 s",
                &format!("look at {}", dir.join("backend.log").display()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (i, route) in ROUTES.iter().enumerate() {
        match client.get(format!("{base}{route}")).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => out.warn(&format!("GET {route} answered {}", r.status())),
            Err(e) => out.warn(&format!("GET {route} failed: {e}")),
        }
        if i == 0 {
            // The first request starts the X-Ray SDK's rule poller; until the rules arrive it
            // samples one request a second, so the next routes wait for them (at most 5 s).
            let until = Instant::now() + Duration::from_secs(5);
            while rules_served.load(Ordering::Relaxed) == 0 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Ok(child)
}

/// SIGTERM, as `docker compose stop` sends, so the log handler flushes; then wait a little.
async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

async fn send_smoke(e: &Endpoints) -> Result<(), Failure> {
    let host = &e.host;
    let p = e.ports;
    let bug = |what: &str, err: String| {
        fail(
            format!("the local {what} receiver did not take the test signal: {err}"),
            "this is a bug; please report it",
        )
    };
    honeycomb::send_smoke(
        &format!("http://{host}:{}", p.otlp),
        crate::project::DEFAULT_SERVICE,
    )
    .await
    .map_err(|err| bug("OTLP", err))?;
    xray::send_smoke(
        &format!("{host}:{}", p.xray),
        crate::project::DEFAULT_SERVICE,
    )
    .await
    .map_err(|err| bug("X-Ray", err))?;
    cloudwatch::send_smoke_local(&format!("http://{host}:{}", p.logs))
        .await
        .map_err(|err| bug("CloudWatch Logs", err))?;
    let api = format!("http://{host}:{}/api/1/", p.rollbar);
    let client = crate::integrations::net::client(std::time::Duration::from_secs(5))?;
    rollbar::send_smoke(&client, &api, "local", "development")
        .await
        .map_err(|err| bug("Rollbar", err.explain(&api).0))?;
    Ok(())
}
