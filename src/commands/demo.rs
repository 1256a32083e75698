//! `o11y demo`: the whole story on the bundled example, with no account and no network:
//! copy it to a scratch folder, apply week 2, start the receivers, run the backend (or send
//! smoke signals when Python and its packages are not there), and show what arrived.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cli::{DemoArgs, Global};
use crate::error::Failure;
use crate::exit::{ExitStatus, Hint};
use crate::integrations;
use crate::listen::{self, Arrival, Endpoints, Ports};
use crate::patch::apply;
use crate::project;
use crate::spec::Integration;
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

/// The routes the demo calls: the example's own, then those the integrations add
/// (`/rollbar/test`).
fn routes() -> Vec<String> {
    let mut out = vec![
        "/api/activities/home".to_string(),
        "/api/activities/@andrewbrown".to_string(),
    ];
    for i in integrations::all() {
        for b in i.spec().blocks {
            out.extend(crate::patch::python::routes(b.template));
        }
    }
    out
}
/// What the patched example imports: its own modules, and every integration's.
fn imports() -> String {
    let mut modules = vec!["flask", "flask_cors"];
    modules.extend(
        integrations::all()
            .iter()
            .flat_map(|i| i.spec().modules.iter()),
    );
    format!("import {}", modules.join(", "))
}

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

/// Where the demo keeps its own venv: `$XDG_CACHE_HOME/o11y/demo-venv`, else
/// `~/.cache/o11y/demo-venv`.
pub fn venv_dir() -> Option<PathBuf> {
    let cache = std::env::var_os(crate::env::XDG_CACHE_HOME)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os(crate::env::HOME).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("o11y").join("demo-venv"))
}

/// Whether `py` can import everything the patched backend imports.
fn has_packages(py: &str) -> bool {
    std::process::Command::new(py)
        .args(["-c", &imports()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Makes the demo's venv from the patched backend's own requirements, with a progress line
/// per package pip fetches. Err(why, what to do) when it cannot.
async fn make_venv(
    venv: &Path,
    requirements: &Path,
    out: &Printer,
) -> Result<String, (String, String)> {
    use tokio::io::AsyncBufReadExt;
    let python = venv.join("bin/python").display().to_string();
    let base = ["python3", "python"]
        .into_iter()
        .find(|p| which::which(p).is_ok())
        .ok_or_else(|| {
            (
                "there is no python3 on PATH to make a venv with".to_string(),
                "install Python 3 (e.g. `sudo apt-get install python3-venv`), or pass `--python PATH`".to_string(),
            )
        })?;
    if let Some(parent) = venv.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let made = tokio::process::Command::new(base)
        .args(["-m", "venv", "--clear"])
        .arg(venv)
        .output()
        .await
        .map_err(|e| {
            (
                format!("cannot run {base}: {e}"),
                "pass `--python PATH`".to_string(),
            )
        })?;
    if !made.status.success() {
        return Err((
            format!(
                "`{base} -m venv` failed: {}",
                String::from_utf8_lossy(&made.stderr).lines().last().unwrap_or("")
            ),
            "install the venv module (`sudo apt-get install python3-venv`), or pass `--python PATH`".into(),
        ));
    }
    let bar = out.progress("Installing the backend's packages into the demo's venv");
    let mut pip = tokio::process::Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "-r",
        ])
        .arg(requirements)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            (
                format!("cannot run pip: {e}"),
                "pass `--python PATH`".to_string(),
            )
        })?;
    let stdout = pip.stdout.take().expect("piped");
    let stderr = pip.stderr.take().expect("piped");
    let errors = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut all = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            all.push(l);
        }
        all
    });
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Ok(Some(l)) = lines.next_line().await {
        if let Some(what) = l.strip_prefix("Collecting ") {
            bar.note(&format!(
                "fetching {}",
                what.split_whitespace().next().unwrap_or(what)
            ));
        } else if l.starts_with("Installing collected packages") {
            bar.note("installing");
        }
    }
    let status = pip
        .wait()
        .await
        .map_err(|e| (e.to_string(), String::new()))?;
    let errors = errors.await.unwrap_or_default();
    drop(bar);
    if status.success() && has_packages(&python) {
        return Ok(python);
    }
    let text = errors.join("\n");
    let offline = [
        "Failed to establish a new connection",
        "Could not find a version that satisfies",
        "No matching distribution found",
        "Name or service not known",
        "Temporary failure in name resolution",
        "Connection refused",
    ]
    .iter()
    .any(|m| text.contains(m));
    // A half-made venv is no cache: the next run starts over.
    let _ = std::fs::remove_dir_all(venv);
    Err(if offline {
        (
            "pip cannot reach its package index, so the backend's packages could not be installed".into(),
            "check your network (or pip's index settings: PIP_INDEX_URL, ~/.config/pip/pip.conf), or run with `--python PATH` (a Python that has them) or `--no-install`".into(),
        )
    } else {
        (
            format!(
                "pip could not install the backend's packages: {}",
                text.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no message")
            ),
            "run with `--python PATH` (a Python that has them) or `--no-install`".into(),
        )
    })
}

/// A Python that has the backend's packages: --python, O11Y_PYTHON, ./.venv, the demo's own
/// venv, python3.
fn find_python(flag: Option<&PathBuf>) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    if let Some(p) = flag {
        candidates.push(p.display().to_string());
    }
    if let Ok(p) = std::env::var(crate::env::PYTHON) {
        candidates.push(p);
    }
    candidates.push(".venv/bin/python".into());
    if let Some(v) = venv_dir() {
        candidates.push(v.join("bin/python").display().to_string());
    }
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
    candidates.find(|py| has_packages(py))
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

/// What the demo waits for: a signal of each integration (from the real backend, one that
/// shows its own code ran).
struct Seen(BTreeMap<Integration, bool>);

impl Seen {
    fn new() -> Seen {
        Seen(integrations::all().iter().map(|i| (*i, false)).collect())
    }

    fn all(&self) -> bool {
        self.0.values().all(|v| *v)
    }

    /// All but the ones that may arrive only when the backend stops (CloudWatch's batch).
    fn all_but_batched(&self) -> bool {
        self.0.iter().all(|(i, v)| *v || i.spec().receiver.batched)
    }

    fn note(&mut self, a: &Arrival, real_app: bool) {
        let Some(kind) = a.receiver() else { return };
        for (i, seen) in self.0.iter_mut() {
            if i.spec().receiver.kind == kind {
                *seen |= !real_app || a.names(i.spec().receiver.own_code);
            }
        }
    }
}

pub fn run(_g: &Global, a: &DemoArgs, out: &Printer) -> Result<ExitStatus, Failure> {
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

    let p = project::detect(&root, true, None, None, integrations::all())?;
    let plan =
        super::shared::compute_plan(&p, integrations::all().to_vec(), None, false, &[], &[])?;
    let applied = apply::apply(&p.root, &plan)?;
    let added: usize = plan.edits.iter().map(|e| e.added_lines).sum();
    out.say(&format!(
        "{} Applied week 2: {} files, {added} lines ({})",
        out.bold("2/4"),
        applied.files.len(),
        integrations::all()
            .iter()
            .map(|i| i.title())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let rt = super::shared::runtime()?;
    let code = rt.block_on(async {
        let mut running = listen::start(IpAddr::V4(Ipv4Addr::LOCALHOST), Ports::any(integrations::all()))
            .await
            .map_err(|e| fail(e.to_string(), &e.hint()))?;
        out.say(&format!(
            "{} Started the local receivers ({})",
            out.bold("3/4"),
            running
                .endpoints
                .ports
                .0
                .iter()
                .map(|(r, p)| format!("{} :{p}", r.label))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let mut python = if a.smoke_only { None } else { find_python(a.python.as_ref()) };
        if python.is_none() && !a.smoke_only && !a.no_install && a.python.is_none() {
            if let Some(venv) = venv_dir() {
                out.say(&format!(
                    "    No Python here has the backend's packages: making the demo's own venv in {} (once; later runs reuse it)",
                    venv.display()
                ));
                match make_venv(&venv, &root.join(&p.backend_dir).join("requirements.txt"), out).await {
                    Ok(py) => python = Some(py),
                    Err((why, fix)) => {
                        out.warn(&format!("{why}."));
                        out.say(&format!("    {fix}"));
                    }
                }
            }
        }
        let real_app = python.is_some();
        let mut backend = match &python {
            Some(py) => Some(start_backend(py, &root.join(&p.backend_dir), &running.endpoints, &running.rules_served, out).await?),
            None => {
                out.say(&format!(
                    "{} Without a Python that has the backend's packages, o11y sends one test signal of each kind instead",
                    out.bold("4/4")
                ));
                if !a.smoke_only {
                    out.say("    (for the real backend: run the demo again without `--no-install`, or with `--python PATH`)");
                }
                send_smoke(&running.endpoints).await?;
                None
            }
        };
        out.say("");
        let mut seen = Seen::new();
        let mut tally = crate::ui::listen::Tally::default();
        let mut traces = crate::ui::listen::Traces::default();
        let draw = |arrivals: Vec<Arrival>| {
            for a in arrivals {
                for line in out.arrival_lines(&a) {
                    out.data(&line);
                }
            }
        };
        let deadline = Instant::now() + Duration::from_secs_f64(a.timeout);
        let mut stopped = false;
        while !seen.all() && Instant::now() < deadline {
            // The log handler sends on a timer; stopping the backend (SIGTERM) flushes it.
            if !stopped && seen.all_but_batched() {
                if let Some(b) = backend.as_mut() {
                    stop(b).await;
                }
                stopped = true;
            }
            match tokio::time::timeout(Duration::from_millis(250), running.next()).await {
                Ok(Some(arrival)) => {
                    seen.note(&arrival, real_app);
                    tally.add(&arrival);
                    let (now, pushed) = traces.add(arrival);
                    draw(pushed);
                    draw(now.into_iter().collect());
                }
                Ok(None) => break,
                Err(_) => {}
            }
            draw(traces.due());
        }
        draw(traces.all());
        if let Some(mut b) = backend {
            stop(&mut b).await;
        }
        out.say("");
        let mark = |ok: bool| if ok { out.green("✔") } else { out.red("✖") };
        for (i, ok) in &seen.0 {
            let r = i.spec().receiver;
            out.say(&format!(
                "{} {}{}",
                mark(*ok),
                r.shown,
                if real_app { r.shown_real } else { "" }
            ));
        }
        if seen.all() {
            out.success(&format!(
                "Demo done in {:.1} s: {}, and o11y received them ({}).",
                started.elapsed().as_secs_f64(),
                if real_app { "the patched backend sent all four signals" } else { "o11y sent a test signal of each of the four kinds" },
                tally.line(&running.endpoints.ports)
            ));
            out.say("Next, in your own project: `o11y init` (it asks for your keys, checks them and wires everything in). No accounts yet? `o11y init --local`, then `o11y listen --bind 0.0.0.0` (containers reach this machine through host.docker.internal, which 127.0.0.1 does not answer).");
            Ok::<ExitStatus, Failure>(ExitStatus::Ok)
        } else {
            Err(Failure {
                message: format!("not every signal arrived within {} s ({})", a.timeout, tally.line(&running.endpoints.ports)),
                hints: vec![format!(
                    "run again with `--timeout 60`; keep the scratch project with `--keep` and look at {}",
                    if real_app { "backend.log in it" } else { "the receivers' output above" }
                )],
                status: ExitStatus::Error,
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
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env_remove("AWS_PROFILE")
        .env_remove("FLASK_DEBUG")
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| fail(e, "check that TMPDIR is writable"))?,
        )
        .stderr(log)
        .kill_on_drop(true);
    for (k, v) in integrations::host_env(e) {
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
        routes().join(", ")
    ));
    let client = crate::net::client(Duration::from_secs(5)).map_err(super::shared::bug)?;
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
    for (i, route) in routes().iter().enumerate() {
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
    let http = crate::net::client(Duration::from_secs(5)).map_err(super::shared::bug)?;
    for i in integrations::all() {
        let kind = i.spec().receiver.kind;
        let target = integrations::LocalTarget {
            http: http.clone(),
            host: e.host.clone(),
            port: e.ports.get(kind),
            service: crate::project::DEFAULT_SERVICE.into(),
        };
        (integrations::def(*i).local_smoke)(target)
            .await
            .map_err(|err| {
                fail(
                    format!(
                        "the local {} receiver did not take the test signal: {err}",
                        i.spec().receiver.name
                    ),
                    "this is a bug; please report it",
                )
            })?;
    }
    Ok(())
}
