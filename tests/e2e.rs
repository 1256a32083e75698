//! The real thing: the patched example backend, run with its real SDKs, talking to
//! `o11y listen`; o11y's own smoke signals; and third-party peers (oteltap, the AWS CLI)
//! on the same formats.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// The example, patched by `o11y apply`, in a temp folder.
fn patched_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    dir
}

struct Backend {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Backend {
    /// The backend with the settings the other signals need, plus `env`.
    fn start(dir: &Path, env: &[(&'static str, String)]) -> Backend {
        let mut all: Vec<(String, String)> = [
            ("FLASK_APP", "app"),
            ("OTEL_SERVICE_NAME", "backend-flask"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("ROLLBAR_ACCESS_TOKEN", "test-token"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        Backend::launch(dir, &all, false)
    }

    /// The backend with nothing in its environment but PATH, HOME and `env`.
    fn start_only(dir: &Path, env: &[(String, String)]) -> Backend {
        Backend::launch(dir, env, true)
    }

    fn launch(dir: &Path, env: &[(String, String)], clean: bool) -> Backend {
        let port = free_port();
        let log = dir.join("backend.log");
        let f = fs::File::create(&log).unwrap();
        let mut cmd = Command::new(python());
        cmd.current_dir(dir.join("backend-flask")).args([
            "-m",
            "flask",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]);
        if clean {
            cmd.env_clear()
                .env("PATH", std::env::var("PATH").unwrap())
                .env("HOME", dir);
        }
        cmd.env_remove("FLASK_DEBUG")
            .stdout(f.try_clone().unwrap())
            .stderr(f);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let b = Backend { child, port, log };
        let up = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                up.elapsed() < Duration::from_secs(40),
                "backend did not start:\n{}",
                b.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        b
    }

    fn get(&self, path: &str) -> u16 {
        o11y::net::use_one_crypto_library();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()))
        })
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as `docker compose stop` sends.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spans(v: &Value) -> Vec<Value> {
    v["spans"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_lines_listen_prints_alone_bring_all_four_signals_from_a_backend_on_this_machine() {
    let dir = patched_example();
    let mut listen = Listen::start();
    let printed = listen.printed_env();
    for name in [
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "ROLLBAR_ACCESS_TOKEN",
        "OTEL_SERVICE_NAME",
    ] {
        assert!(
            printed.iter().any(|(k, _)| k == name),
            "listen did not print {name}: {printed:?}"
        );
    }
    let backend = Backend::start_only(dir.path(), &printed);
    for route in [
        "/api/activities/home",
        "/api/activities/@andrewbrown",
        "/rollbar/test",
    ] {
        assert_eq!(backend.get(route), 200, "GET {route}\n{}", backend.log());
        if route == "/api/activities/home" {
            std::thread::sleep(Duration::from_millis(1500));
        }
    }
    let trace = listen.wait_for("a trace", 30, |v| v["signal"] == "trace");
    assert_eq!(trace["service"], "backend-flask", "{trace}");
    listen.wait_for("an X-Ray segment", 30, |v| v["signal"] == "xray");
    listen.wait_for("a log event", 30, |v| v["signal"] == "log");
    listen.wait_for("a Rollbar item", 30, |v| v["signal"] == "rollbar");
    let log = backend.log();
    assert!(!log.contains("Traceback"), "{log}");
}

#[test]
fn patched_example_sends_all_four_signals_to_listen() {
    let dir = patched_example();
    // A route that raises, to see Rollbar's exception report (the test's own addition).
    let app = dir.path().join("backend-flask/app.py");
    let mut text = fs::read_to_string(&app).unwrap();
    text.push_str("\n@app.route(\"/boom\")\ndef boom():\n  return 1 / 0\n");
    fs::write(&app, text).unwrap();

    let listen = Listen::start();
    let mut backend = Backend::start(dir.path(), &listen.env());
    for route in [
        "/api/activities/home",
        "/api/activities/@andrewbrown",
        "/rollbar/test",
    ] {
        assert_eq!(backend.get(route), 200, "GET {route}\n{}", backend.log());
        // The first request starts the X-Ray SDK's rule poller; until the rules arrive it
        // samples one request a second, so give the fetch a moment.
        if route == "/api/activities/home" {
            std::thread::sleep(Duration::from_millis(1500));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let log = backend.log();
    assert!(
        !log.contains("Traceback"),
        "the backend logged a traceback:\n{log}"
    );
    assert!(
        log.contains("HomeActivities"),
        "the cruddur logger did not log:\n{log}"
    );
    assert_eq!(backend.get("/boom"), 500);

    let trace = listen.wait_for("trace with mock-data", 30, |v| {
        v["signal"] == "trace" && spans(v).iter().any(|s| s["name"] == "mock-data")
    });
    assert_eq!(trace["service"], "backend-flask");
    let all = spans(&trace);
    let mock = all.iter().find(|s| s["name"] == "mock-data").unwrap();
    assert!(
        mock["attributes"]["app.now"]
            .as_str()
            .is_some_and(|s| s.starts_with("20")),
        "{mock}"
    );
    assert_eq!(mock["attributes"]["app.result_length"], 3);
    let server = all
        .iter()
        .find(|s| s["span_id"] == mock["parent_span_id"])
        .expect("mock-data's parent is in the same batch");
    assert_eq!(server["kind"], "server");
    assert!(
        server["name"]
            .as_str()
            .unwrap()
            .contains("/api/activities/home"),
        "{server}"
    );

    let seg = listen.wait_for("X-Ray segment with mock-data", 30, |v| {
        v["signal"] == "xray"
            && v["subsegments"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["name"] == "mock-data"))
    });
    assert_eq!(seg["name"], "backend-flask");
    assert!(seg["url"]
        .as_str()
        .unwrap()
        .ends_with("/api/activities/@andrewbrown"));
    assert_eq!(seg["status"], 200);
    let sub = seg["subsegments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "mock-data")
        .unwrap()
        .clone();
    assert!(sub["metadata"]["o11y"]["now"].is_string(), "{sub}");
    listen.wait_for("X-Ray segment of /api/activities/home", 10, |v| {
        v["signal"] == "xray"
            && v["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/api/activities/home"))
    });

    let msg = listen.wait_for("Rollbar message", 30, |v| {
        v["signal"] == "rollbar" && v["title"] == "Hello World!"
    });
    assert_eq!(msg["level"], "warning");
    let err = listen.wait_for("Rollbar exception", 30, |v| {
        v["signal"] == "rollbar" && v["exception_class"].is_string()
    });
    assert_eq!(err["exception_class"], "ZeroDivisionError");
    assert_eq!(err["level"], "error");

    // The log handler sends every 5 s, and at once when the container is stopped.
    backend.stop();
    let logs = listen.wait_for("CloudWatch log event", 30, |v| {
        v["signal"] == "log"
            && v["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x == "HomeActivities"))
    });
    assert_eq!(logs["group"], "cruddur");
    let malformed: Vec<Value> = listen
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|v| v["signal"] == "malformed")
        .cloned()
        .collect();
    assert!(
        malformed.is_empty(),
        "the real SDKs sent something the receivers call malformed: {malformed:#?}"
    );
}

#[test]
fn smoke_signals_reach_listen() {
    let listen = Listen::start();
    let p = |n: &str| listen.ports[n];
    let (otlp, xray, logs, rollbar) = (p("otlp"), p("xray"), p("logs"), p("rollbar"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (trace, segment, uuid) = rt.block_on(async {
        let trace = o11y::integrations::honeycomb::send_smoke(
            &o11y::net::client(std::time::Duration::from_secs(5)).unwrap(),
            &format!("http://127.0.0.1:{otlp}"),
            "backend-flask",
        )
        .await
        .unwrap();
        let segment =
            o11y::integrations::xray::send_smoke(&format!("127.0.0.1:{xray}"), "backend-flask")
                .await
                .unwrap();
        o11y::integrations::cloudwatch::send_smoke_local(
            &o11y::net::client(std::time::Duration::from_secs(5)).unwrap(),
            &format!("http://127.0.0.1:{logs}"),
        )
        .await
        .unwrap();
        let uuid = o11y::integrations::rollbar::send_smoke(
            &o11y::net::client(std::time::Duration::from_secs(10)).unwrap(),
            &format!("http://127.0.0.1:{rollbar}/api/1/"),
            "test-token",
            "development",
        )
        .await
        .unwrap();
        (trace, segment, uuid)
    });
    let t = listen.wait_for("smoke span", 10, |v| v["signal"] == "trace");
    assert_eq!(spans(&t)[0]["trace_id"], trace.as_str());
    assert_eq!(spans(&t)[0]["name"], "o11y smoke test");
    assert_eq!(spans(&t)[0]["attributes"]["o11y.smoke"], true);
    let s = listen.wait_for("smoke segment", 10, |v| v["signal"] == "xray");
    assert_eq!(s["trace_id"], segment.as_str());
    let l = listen.wait_for("smoke log", 10, |v| v["signal"] == "log");
    assert_eq!(l["group"], "cruddur");
    let r = listen.wait_for("smoke item", 10, |v| v["signal"] == "rollbar");
    assert_eq!(r["uuid"], uuid.as_str());
    assert_eq!(r["exception_class"], "O11ySmokeTest");
}

#[test]
fn demo_runs_the_real_backend() {
    // A relative --python, as a user types it: the demo must not lose it in the scratch folder.
    let py = std::path::PathBuf::from(python());
    let o = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .current_dir(py.parent().unwrap())
        .args([
            "--color",
            "never",
            "demo",
            "--timeout",
            "60",
            "--python",
            &format!("./{}", py.file_name().unwrap().to_string_lossy()),
        ])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "demo failed:\n{out}\n{err}");
    // The request's trace as a waterfall: the mock-data span one level down, with its bar.
    assert!(
        out.lines()
            .any(|l| l.starts_with("    mock-data") && l.contains('█') && l.contains("app.now=")),
        "{out}"
    );
    assert!(out.contains("log    cruddur  HomeActivities"), "{out}");
    assert!(out.contains("rollbar  warning  Hello World!"), "{out}");
    assert!(
        err.contains("the patched backend sent all four signals"),
        "{err}"
    );
    assert_eq!(err.matches('✔').count(), 5, "{err}");
    // The closing hint works where it is given: containers reach listen only on 0.0.0.0.
    assert!(err.contains("`o11y listen --bind 0.0.0.0`"), "{err}");
}

#[test]
fn demo_without_python_sends_smoke_signals() {
    let o = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .args(["--color", "never", "demo", "--smoke-only"])
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "demo failed:\n{out}\n{err}");
    for needle in [
        "trace  backend-flask  o11y smoke test",
        "xray   backend-flask",
        "log    cruddur",
        "rollbar  error  O11ySmokeTest",
    ] {
        assert!(out.contains(needle), "`{needle}` missing:\n{out}");
    }
    assert!(
        err.contains("o11y sent a test signal of each of the four kinds"),
        "{err}"
    );
}

fn venv_bin(name: &str) -> std::path::PathBuf {
    Path::new(&python()).parent().unwrap().join(name)
}

/// oteltap, a third-party OTLP/HTTP receiver, waiting for a span whose name matches `regex`.
fn oteltap(regex: &str) -> (Child, u16) {
    let port = free_port();
    let child = Command::new(venv_bin("oteltap"))
        .args(["--port", &port.to_string(), "--await-span", regex])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let up = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(20),
            "oteltap did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, port)
}

fn await_exit(child: &mut Child, secs: u64, what: &str) {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what}: oteltap exited with {status}");
            return;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("{what}: oteltap did not receive the span within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn oteltap_accepts_the_smoke_span() {
    let (mut tap, port) = oteltap("^o11y smoke test$");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(o11y::integrations::honeycomb::send_smoke(
        &o11y::net::client(std::time::Duration::from_secs(5)).unwrap(),
        &format!("http://127.0.0.1:{port}"),
        "backend-flask",
    ))
    .unwrap();
    await_exit(&mut tap, 20, "smoke span");
}

#[test]
fn oteltap_and_listen_read_the_same_app_spans() {
    let (mut tap, port) = oteltap("^mock-data$");
    let dir = patched_example();
    let env = vec![(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    )];
    let backend = Backend::start(dir.path(), &env);
    assert_eq!(backend.get("/api/activities/home"), 200);
    await_exit(&mut tap, 30, "the app's mock-data span");
}

#[test]
fn aws_cli_writes_and_reads_logs_through_listen() {
    let listen = Listen::start();
    let url = format!("http://127.0.0.1:{}", listen.ports["logs"]);
    let aws = |args: &[&str]| {
        let o = Command::new(venv_bin("aws"))
            .args(args)
            .args([
                "--endpoint-url",
                &url,
                "--region",
                "us-east-1",
                "--output",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    assert_eq!(
        aws(&["logs", "create-log-group", "--log-group-name", "cruddur"]).0,
        0
    );
    let (code, _, err) = aws(&["logs", "create-log-group", "--log-group-name", "cruddur"]);
    assert_ne!(code, 0);
    assert!(err.contains("ResourceAlreadyExistsException"), "{err}");
    let (code, _, err) = aws(&[
        "logs",
        "put-log-events",
        "--log-group-name",
        "cruddur",
        "--log-stream-name",
        "s1",
        "--log-events",
        "timestamp=1700000000000,message=nope",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    assert_eq!(
        aws(&[
            "logs",
            "create-log-stream",
            "--log-group-name",
            "cruddur",
            "--log-stream-name",
            "s1"
        ])
        .0,
        0
    );
    let (code, out, err) = aws(&[
        "logs",
        "put-log-events",
        "--log-group-name",
        "cruddur",
        "--log-stream-name",
        "s1",
        "--log-events",
        "timestamp=1700000000000,message=hello from the aws cli",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("nextSequenceToken"), "{out}");
    let (code, out, _) = aws(&[
        "logs",
        "get-log-events",
        "--log-group-name",
        "cruddur",
        "--log-stream-name",
        "s1",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["events"][0]["message"], "hello from the aws cli");
    assert_eq!(v["events"][0]["timestamp"], 1700000000000i64);
    let (_, out, _) = aws(&[
        "logs",
        "describe-log-streams",
        "--log-group-name",
        "cruddur",
    ]);
    assert!(out.contains("\"logStreamName\": \"s1\""), "{out}");
    listen.wait_for("the CLI's log event", 10, |v| {
        v["signal"] == "log" && v["messages"][0] == "hello from the aws cli"
    });
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn receivers_survive_a_thousand_malformed_inputs() {
    let listen = Listen::start();
    let p = |n: &str| listen.ports[n];
    let (otlp, xray, logs, rollbar) = (p("otlp"), p("xray"), p("logs"), p("rollbar"));
    let before = peak_rss_kib(listen.child.id());
    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let statuses = rt.block_on(async {
        let client = o11y::net::client(Duration::from_secs(5)).unwrap();
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        // A valid export request, to truncate.
        let valid = {
            use prost::Message;
            o11y::integrations::honeycomb::smoke_request("x", [1; 16], [2; 8], 1).encode_to_vec()
        };
        for i in 0..1000usize {
            if started.elapsed() > Duration::from_secs(60) {
                panic!("the abuse loop took over 60 s (at {i})");
            }
            let sent = match i % 8 {
                0 => {
                    let junk: Vec<u8> = (0..(i % 300)).map(|b| (b * 7 + i) as u8).collect();
                    udp.send_to(&junk, ("127.0.0.1", xray)).await.unwrap();
                    None
                }
                1 => {
                    udp.send_to(
                        b"{\"format\":\"json\",\"version\":1}\n{\"name\": truncated",
                        ("127.0.0.1", xray),
                    )
                    .await
                    .unwrap();
                    None
                }
                2 => Some(
                    client
                        .post(format!("http://127.0.0.1:{otlp}/v1/traces"))
                        .header("content-type", "application/x-protobuf")
                        .body(valid[..valid.len() * (i % 7) / 8].to_vec()),
                ),
                3 => Some(
                    client
                        .post(format!("http://127.0.0.1:{otlp}/v1/traces"))
                        .header("content-type", "application/json")
                        .body("{\"resourceSpans\": [{]"),
                ),
                4 => Some(
                    client
                        .post(format!("http://127.0.0.1:{otlp}/v1/traces"))
                        .header("content-type", "text/plain")
                        .body("hello"),
                ),
                5 => Some(
                    client
                        .post(format!("http://127.0.0.1:{logs}/"))
                        .header("x-amz-target", "Logs_20140328.PutLogEvents")
                        .body("{not json"),
                ),
                6 => Some(
                    client
                        .post(format!("http://127.0.0.1:{rollbar}/api/1/item/"))
                        .header("x-rollbar-access-token", "t")
                        .body(vec![0xffu8; i % 64]),
                ),
                _ if i % 200 == 7 => Some(
                    client
                        .post(format!("http://127.0.0.1:{otlp}/v1/traces"))
                        .header("content-type", "application/x-protobuf")
                        .body(vec![0u8; 9 * 1024 * 1024]),
                ),
                _ => Some(
                    client
                        .post(format!("http://127.0.0.1:{otlp}/v1/traces"))
                        .header("content-type", "application/x-protobuf")
                        .header("content-encoding", "gzip")
                        .body(b"not gzip".to_vec()),
                ),
            };
            if let Some(req) = sent {
                let status = match req.send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(e) => panic!("a receiver stopped answering at request {i}: {e}"),
                };
                *statuses.entry(status).or_default() += 1;
            }
        }
        // Still answering, and still right.
        o11y::integrations::honeycomb::send_smoke(
            &o11y::net::client(std::time::Duration::from_secs(5)).unwrap(),
            &format!("http://127.0.0.1:{otlp}"),
            "after-abuse",
        )
        .await
        .unwrap();
        statuses
    });
    listen.wait_for("a valid span after the abuse", 10, |v| {
        v["signal"] == "trace" && v["service"] == "after-abuse"
    });
    let after = peak_rss_kib(listen.child.id());
    eprintln!(
        "abuse: 1000 malformed inputs in {:.2} s; statuses {statuses:?}; listen peak RSS {before} KiB before, {after} KiB after",
        started.elapsed().as_secs_f64()
    );
    // A truncation that ends on a field boundary is a valid (smaller) request: 200 is right.
    assert!(
        statuses.keys().all(|s| *s == 200 || (400..500).contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&200).copied().unwrap_or(0) < 100,
        "{statuses:?}"
    );
    assert!(after < 150 * 1024, "peak memory {after} KiB");
    let malformed = listen
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|v| v["signal"] == "malformed")
        .count();
    assert!(
        malformed >= 900,
        "only {malformed} malformed inputs reported"
    );
}
