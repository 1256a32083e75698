//! Helpers shared by the CLI tests: the built binary, temp copies of projects, file trees.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/projects").join(name)
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temp copy of a fixture project; the folder goes when the value is dropped.
pub fn project(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("o11y-test-")
        .tempdir()
        .unwrap();
    copy_dir(&fixture(name), dir.path());
    dir
}

/// Every file under `root` (but o11y's own state folder), path → bytes.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if rel == ".o11y" || rel.ends_with("__pycache__") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Runs o11y with `args` on the project at `dir`, no colours, no terminal.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("o11y")
        .unwrap()
        .arg("--project")
        .arg(dir)
        .arg("--color")
        .arg("never")
        .args(args)
        .env_remove("O11Y_PROJECT")
        .env_remove("O11Y_TESTKIT")
        .output()
        .unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs and asserts the exit code, showing the output when it differs.
pub fn run_ok(dir: &Path, args: &[&str], expect: i32) -> Output {
    let o = run(dir, args);
    assert_eq!(
        code(&o),
        expect,
        "o11y {args:?} exited {}\nstdout:\n{}\nstderr:\n{}",
        code(&o),
        stdout(&o),
        stderr(&o)
    );
    o
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

/// In CI every tool the tests use must be there; elsewhere a missing one skips that check.
pub fn require(program: &str) -> bool {
    if have(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`{program}` is missing; .ci/run installs it"
    );
    // Said once per test binary, not at every call.
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|p| p == program) {
        say(&format!("note: `{program}` is not installed, so the checks that use it are skipped here (CI installs it and fails without it)"));
        said.push(program.to_string());
    }
    false
}

/// A line in `cargo test`'s own output, not captured with a test's: what a run skipped or is
/// busy with is seen without `--nocapture`.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// The Python that has the backend's packages: $O11Y_TEST_PYTHON, else ./.venv (made from
/// tests/requirements.txt on first use, as .ci/run does).
pub fn python() -> String {
    if let Ok(p) = std::env::var("O11Y_TEST_PYTHON") {
        return p;
    }
    let root = repo();
    let venv = root.join(".venv");
    let py = venv.join("bin/python");
    let ready = venv.join(".o11y-ready");
    if ready.is_file() {
        return py.display().to_string();
    }
    // One test binary builds it; the others wait for the marker.
    let lock = root.join("target/.venv.lock");
    let _ = std::fs::create_dir_all(root.join("target"));
    if std::fs::create_dir(&lock).is_ok() {
        say("note: building the tests' Python venv in .venv from tests/requirements.txt (about 900 MB and 40 s, once)");
        let ok = |c: &mut std::process::Command| c.status().map(|s| s.success()).unwrap_or(false);
        let built = (py.is_file()
            || ok(std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)))
            && ok(std::process::Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(root.join("tests/requirements.txt")));
        if built {
            std::fs::write(&ready, "").unwrap();
        }
        let _ = std::fs::remove_dir(&lock);
        assert!(built, "could not build .venv from tests/requirements.txt");
    } else {
        for _ in 0..600 {
            if ready.is_file() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    py.display().to_string()
}

/// A helper server. It reads its stdin, which only this process holds: when the test binary
/// ends (even through a panic or a static never dropped), the server sees EOF and exits, so
/// no helper outlives the tests or keeps their output pipes open.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

const EXIT_ON_EOF: &str = "import os, sys, threading; threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()";

/// `python -c` running `script` (a path) or `module_main` after the EOF watcher.
fn python_helper(code: &str, args: &[String]) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg("-c")
        .arg(format!("{EXIT_ON_EOF}\n{code}"))
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

fn run_script(path: &Path, args: &[&str]) -> Server {
    let code = format!(
        "import runpy, sys; sys.argv = [{:?}] + sys.argv[1:]; runpy.run_path({:?}, run_name='__main__')",
        path.display().to_string(),
        path.display().to_string()
    );
    let mut child = python_helper(
        &code,
        &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Server {
        child,
        port: line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{} printed `{line}`", path.display())),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn fake(fault: &str) -> Server {
    fake_instance(fault, "us")
}

/// The Honeycomb stand-in playing the EU API (it knows only EU keys).
pub fn fake_eu() -> Server {
    fake_instance("none", "eu")
}

fn fake_instance(fault: &str, instance: &str) -> Server {
    run_script(
        &repo().join("tests/support/fake_services.py"),
        &["--fault", fault, "--instance", instance],
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn moto(auth: bool) -> Server {
    let port = free_port();
    let mut cmd = python_helper(
        "import sys; from moto.server import main; main(sys.argv[1:])",
        &[
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ],
    );
    cmd.stdout(Stdio::null());
    if auth {
        // moto's opt-in IAM mode: unknown keys are refused from the first call on.
        cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
    }
    let child = cmd.spawn().unwrap();
    let up = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, port }
}

/// The stand-in for X-Ray's group and rule calls, passing every other call to moto.
pub fn xray_standin(moto: u16) -> Server {
    run_script(
        &repo().join("tests/support/xray_standin.py"),
        &["--moto", &format!("http://127.0.0.1:{moto}")],
    )
}

/// The X-Ray stand-in with options (`--delay SECS`, `--page-size N`).
pub fn xray_standin_with(moto: u16, options: &[&str]) -> Server {
    let target = format!("http://127.0.0.1:{moto}");
    let mut args = vec!["--moto", target.as_str()];
    args.extend_from_slice(options);
    run_script(&repo().join("tests/support/xray_standin.py"), &args)
}

/// moto behind the X-Ray stand-in, one per test binary: the port to use as AWS_ENDPOINT_URL.
pub fn shared_aws() -> u16 {
    static AWS: OnceLock<(u16, std::sync::Mutex<(Server, Server)>)> = OnceLock::new();
    AWS.get_or_init(|| {
        let m = moto(false);
        let s = xray_standin(m.port);
        (s.port, std::sync::Mutex::new((m, s)))
    })
    .0
}

/// Runs `o11y COMMAND ARGS` in `dir` with a clean environment (PATH, an empty HOME, and `env`
/// only), so nothing of the machine's own keys or AWS profile leaks into a test.
pub fn run_clean(dir: &Path, command: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    clean_command(dir, home.path(), command, args, env)
        .output()
        .unwrap()
}

/// `o11y COMMAND ARGS` in `dir` with only PATH, HOME=`home` and `env` in its environment.
pub fn clean_command(
    dir: &Path,
    home: &Path,
    command: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("o11y"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", home)
        .args(["--color", "never", command])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The keys and endpoints that make every service check pass against the test servers:
/// the Honeycomb/Rollbar stand-in on `fake`, AWS (moto, or the X-Ray stand-in before it) on `aws`.
pub fn good_env(fake: u16, aws: u16) -> Vec<(&'static str, String)> {
    vec![
        ("HONEYCOMB_API_KEY", "test-env-ingest-key-000001".into()),
        (
            "ROLLBAR_ACCESS_TOKEN",
            "test-rollbar-post-server-token".into(),
        ),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{aws}")),
        ("O11Y_HONEYCOMB_API", format!("http://127.0.0.1:{fake}")),
        (
            "O11Y_ROLLBAR_API",
            format!("http://127.0.0.1:{fake}/api/1/"),
        ),
    ]
}

/// The body of `GET path` on a test server at 127.0.0.1:`port` (HTTP/1.0, no client library).
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    all.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// One service's result in `smoke --json` output.
pub fn smoke_result<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["integration"] == name)
        .unwrap_or_else(|| panic!("no result for {name} in {v}"))
}

/// A free port for each receiver of the registry, by its name (`otlp`, `rollbar`), and the
/// `--port NAME=PORT` arguments that put `o11y listen` there.
pub fn receiver_ports() -> (BTreeMap<&'static str, u16>, Vec<String>) {
    let mut ports = BTreeMap::new();
    let mut args = Vec::new();
    for r in o11y::listen::Ports::defaults(o11y::integrations::all()).receivers() {
        let p = free_port();
        ports.insert(r.name, p);
        args.push("--port".to_string());
        args.push(format!("{}={p}", r.name));
    }
    (ports, args)
}

/// `o11y listen --json` in the background, its arrivals collected as they come.
pub struct Listen {
    pub arrivals: Arc<Mutex<Vec<Value>>>,
    /// Each receiver's port, by its name.
    pub ports: BTreeMap<&'static str, u16>,
    pub child: Child,
}

impl Listen {
    pub fn start() -> Listen {
        let (ports, args) = receiver_ports();
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
            .args(["listen", "--json", "--timeout", "120"])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = arrivals.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("listen --json printed a non-JSON line `{line}`: {e}")
                });
                sink.lock().unwrap().push(v);
            }
        });
        let up = Instant::now();
        while ports
            .values()
            .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
        {
            assert!(
                up.elapsed() < Duration::from_secs(10),
                "listen did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Listen {
            child,
            arrivals,
            ports,
        }
    }

    /// The `export NAME=VALUE` lines listen printed for a backend on this machine.
    pub fn printed_env(&mut self) -> Vec<(String, String)> {
        let err = self
            .child
            .stderr
            .take()
            .expect("listen's stderr, read once");
        let (tx, rx) = std::sync::mpsc::channel();
        // Read on to the end, so listen never writes into a closed pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut out = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
            if let Some((k, v)) = line
                .trim()
                .strip_prefix("export ")
                .and_then(|l| l.split_once('='))
            {
                out.push((k.to_string(), v.to_string()));
            }
            if line.starts_with("Then use the app") {
                break;
            }
        }
        out
    }

    /// What points a backend on this machine at these receivers: each integration's
    /// receiver variables, as `o11y listen` prints them.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let all = o11y::integrations::all();
        let mut ports = o11y::listen::Ports::defaults(all);
        for (name, port) in &self.ports {
            ports.set(name, *port);
        }
        o11y::listen::Endpoints {
            host: "127.0.0.1".into(),
            ports,
        }
        .env("127.0.0.1", all)
    }

    /// Waits until `pred` holds for some arrival; returns it.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = self.arrivals.lock().unwrap().iter().find(|v| pred(v)) {
                return v.clone();
            }
            assert!(
                Instant::now() < until,
                "no {what} arrived within {secs} s; arrivals:\n{:#?}",
                self.arrivals.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command's result as snapshots show it, in the shape of uv's test harness: whether it
/// succeeded and its exit code, then stdout and stderr, each through `clean`.
pub fn snapshot_of(o: &Output, clean: impl Fn(&str) -> String) -> String {
    format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        o.status.success(),
        o.status.code().unwrap_or(-1),
        clean(&stdout(o)),
        clean(&stderr(o))
    )
}
