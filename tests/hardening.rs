//! o11y as a hostile or unlucky user meets it: `listen` under hostile requests in parallel,
//! keys and plain HTTP, files outside the project, interrupted and concurrent runs, symlinks
//! and read-only files, `.env` values, `.gitignore` negations, unknown check ids.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use prost::Message;

/// `o11y listen` in terminal mode (where spans are drawn as trees), its lines collected.
struct Listen {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    ports: [u16; 4],
}

impl Listen {
    fn start() -> Listen {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
            .args(["--color", "never", "listen", "--timeout", "300"])
            .args(["--otlp-port", &ports[0].to_string()])
            .args(["--xray-port", &ports[1].to_string()])
            .args(["--logs-port", &ports[2].to_string()])
            .args(["--rollbar-port", &ports[3].to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            while r
                .read_until(b'\n', &mut buf)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                let line = String::from_utf8_lossy(&buf).to_string();
                sink.lock().unwrap().push((Instant::now(), line));
                buf.clear();
            }
        });
        let up = Instant::now();
        for p in ports {
            while TcpStream::connect(("127.0.0.1", p)).is_err() {
                assert!(
                    up.elapsed() < Duration::from_secs(10),
                    "listen did not start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Listen {
            child,
            lines,
            ports,
        }
    }

    fn peak_rss_kib(&self) -> u64 {
        fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection; the status, or 0 when the server closed first.
fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if s.write_all(head.as_bytes()).is_err() || s.write_all(body).is_err() {
        // The server may answer (413) before it reads a body it will not take.
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// An export request of `spans`, each a `(id, parent)` pair, in a trace of the service's own.
fn export(service: &str, spans: &[(u64, Option<u64>)]) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    let spans = spans
        .iter()
        .map(|(id, parent)| Span {
            trace_id: service.bytes().cycle().take(16).collect(),
            span_id: id.to_be_bytes().to_vec(),
            parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
            name: format!("span {id}"),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn listen_holds_up_against_a_thousand_hostile_requests_at_once() {
    let listen = Listen::start();
    let [otlp, _xray, logs, rollbar] = listen.ports;
    // 4 million empty spans: 8 MB of protobuf, a few kilobytes of gzip.
    let bomb = {
        let scope: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], 4_000_000)
            .flatten()
            .collect();
        let wrap = |field: u8, inner: Vec<u8>| {
            let mut out = vec![field];
            let mut n = inner.len();
            while n >= 0x80 {
                out.push((n as u8) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
            out.extend(inner);
            out
        };
        Arc::new(gzip(&wrap(0x0a, wrap(0x12, scope))))
    };
    assert!(bomb.len() < 64 * 1024, "the bomb is {} bytes", bomb.len());
    // Shared ids, a span its own parent, a cycle, and a deep chain.
    let mut tricky = vec![(1, None), (1, Some(1)), (2, Some(3)), (3, Some(2))];
    tricky.extend((10..210).map(|n| (n, (n > 10).then(|| n - 1))));
    let tricky = Arc::new(export("tricky", &tricky));
    let escape = br#"{"data": {"environment": "x", "level": "error", "body": {"message": {"body": "\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2J\n12:00:00 trace  forged"}}}}"#;
    let big_logs = {
        let event = format!(
            "{{\"timestamp\": 1, \"message\": \"{}\"}}",
            "x".repeat(250_000)
        );
        format!(
            "{{\"logGroupName\": \"g\", \"logStreamName\": \"s\", \"logEvents\": [{}]}}",
            vec![event; 8].join(",")
        )
    };
    let big_logs = Arc::new(big_logs.into_bytes());
    post(
        logs,
        "/",
        &[("x-amz-target", "Logs_20140328.CreateLogGroup")],
        br#"{"logGroupName": "g"}"#,
    );
    post(
        logs,
        "/",
        &[("x-amz-target", "Logs_20140328.CreateLogStream")],
        br#"{"logGroupName": "g", "logStreamName": "s"}"#,
    );
    // Slow clients: half-sent headers, held open through the whole run.
    let slow: Vec<TcpStream> = (0..200)
        .filter_map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", otlp)).ok()?;
            s.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\n")
                .ok()?;
            Some(s)
        })
        .collect();

    let started = Instant::now();
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let threads: Vec<_> = (0..40)
        .map(|t| {
            let (bomb, tricky, big_logs, statuses) = (
                bomb.clone(),
                tricky.clone(),
                big_logs.clone(),
                statuses.clone(),
            );
            std::thread::spawn(move || {
                for i in 0..25 {
                    let status = match (t * 25 + i) % 5 {
                        0 => post(
                            otlp,
                            "/v1/traces",
                            &[
                                ("content-type", "application/x-protobuf"),
                                ("content-encoding", "gzip"),
                            ],
                            &bomb,
                        ),
                        1 => post(
                            otlp,
                            "/v1/traces",
                            &[("content-type", "application/x-protobuf")],
                            &tricky,
                        ),
                        2 => post(
                            rollbar,
                            "/api/1/item/",
                            &[("x-rollbar-access-token", "t")],
                            escape,
                        ),
                        3 => post(
                            logs,
                            "/",
                            &[("x-amz-target", "Logs_20140328.PutLogEvents")],
                            &big_logs,
                        ),
                        _ => post(
                            otlp,
                            "/v1/traces",
                            &[("content-type", "application/json")],
                            format!("{{\"resourceSpans\":[{}]}}", vec!["{}"; 300_000].join(","))
                                .as_bytes(),
                        ),
                    };
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let took = started.elapsed();
    let statuses = statuses.lock().unwrap().clone();
    // Answered, every one: nothing was dropped on the floor or crashed a receiver.
    assert!(!statuses.contains_key(&0), "{statuses:?}");
    assert!(
        statuses.keys().all(|s| *s < 500 || *s == 503),
        "{statuses:?}"
    );

    // Still answering, and quickly: a valid span is printed within a second.
    let sent = Instant::now();
    assert_eq!(
        post(
            otlp,
            "/v1/traces",
            &[("content-type", "application/x-protobuf")],
            &export("after-hostile", &[(99, None)]),
        ),
        200
    );
    let mut seen = None;
    while sent.elapsed() < Duration::from_secs(5) && seen.is_none() {
        seen = listen
            .lines
            .lock()
            .unwrap()
            .iter()
            .find(|(_, l)| l.contains("after-hostile"))
            .map(|(t, _)| t.duration_since(sent));
        std::thread::sleep(Duration::from_millis(20));
    }
    let peak = listen.peak_rss_kib();
    drop(slow);
    eprintln!(
        "hostile: 1000 requests from 40 threads in {:.2} s, statuses {statuses:?}; peak RSS {peak} KiB; a valid span printed after {seen:?}",
        took.as_secs_f64()
    );
    let seen = seen.expect("the valid span was never printed");
    assert!(seen < Duration::from_secs(1), "printed after {seen:?}");
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB");
    let lines = listen.lines.lock().unwrap();
    assert!(
        lines.iter().all(|(_, l)| !l.contains('\x1b')),
        "an escape sequence reached the terminal"
    );
    assert!(
        !lines
            .iter()
            .any(|(_, l)| l.starts_with("12:00:00 trace  forged")),
        "a forged line was printed"
    );
    assert!(
        lines.iter().any(|(_, l)| l.contains("tricky")),
        "the tricky trace was not drawn"
    );
}

#[test]
fn keys_never_go_over_plain_http_to_another_machine() {
    let dir = project("template");
    for url in [
        "http://api.example.com",
        "HTTP://api.example.com",
        "Http://api.example.com",
        "http:/api.example.com",
        "http:\\\\api.example.com",
        " http://api.example.com",
    ] {
        for (command, args) in [
            ("doctor", vec!["--only", "honeycomb.key"]),
            ("smoke", vec!["--only", "honeycomb"]),
            ("init", vec!["--yes", "--only", "honeycomb"]),
        ] {
            let env = vec![
                (
                    "HONEYCOMB_API_KEY",
                    "test-env-ingest-key-000001".to_string(),
                ),
                ("O11Y_HONEYCOMB_API", url.to_string()),
            ];
            let o = run_clean(dir.path(), command, &args, &env);
            assert_eq!(code(&o), 2, "{command} with {url:?}: {}", stderr(&o));
            assert!(
                stderr(&o).contains("would travel unencrypted")
                    && stderr(&o).contains("O11Y_HONEYCOMB_API"),
                "{command} with {url:?}: {}",
                stderr(&o)
            );
        }
    }
    // The EU fallback and o11y.toml's [endpoints] get the same guard, and name themselves.
    let o = run_clean(
        dir.path(),
        "doctor",
        &["--only", "honeycomb.key"],
        &[("O11Y_HONEYCOMB_EU_API", "http://eu.example.com".into())],
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("O11Y_HONEYCOMB_EU_API"),
        "{}",
        stderr(&o)
    );
    fs::write(
        dir.path().join("o11y.toml"),
        "[endpoints]\nrollbar_api = \"http://rollbar.example.com/api/1/\"\n",
    )
    .unwrap();
    let o = run_clean(dir.path(), "smoke", &["--only", "rollbar"], &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[endpoints] rollbar_api in o11y.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_redirect_never_carries_a_key_to_another_host() {
    // A server that redirects every request to a second one, which records what it got.
    let catcher = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let catcher_port = catcher.local_addr().unwrap().port();
    let caught = Arc::new(Mutex::new(String::new()));
    let c = caught.clone();
    std::thread::spawn(move || {
        for s in catcher.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            c.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    let redirector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = redirector.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in redirector.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://localhost:{catcher_port}/1/auth\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    let dir = project("template");
    let env = vec![
        (
            "HONEYCOMB_API_KEY",
            "test-env-ingest-key-000001".to_string(),
        ),
        ("O11Y_HONEYCOMB_API", format!("http://127.0.0.1:{port}")),
    ];
    let o = run_clean(
        dir.path(),
        "doctor",
        &["--only", "honeycomb.key", "--json"],
        &env,
    );
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !caught
            .lock()
            .unwrap()
            .to_ascii_lowercase()
            .contains("x-honeycomb-team"),
        "the key went to another origin"
    );
}

#[test]
fn a_key_echoed_by_a_service_is_masked() {
    // A Rollbar stand-in that quotes the token back, as Rollbar does for an unknown one.
    let fake = fake("none");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let token = "0123456789abcdef0123456789abcdef";
    let mut env = good_env(fake.port, 1);
    env.retain(|(k, _)| *k != "ROLLBAR_ACCESS_TOKEN");
    env.push(("ROLLBAR_ACCESS_TOKEN", token.into()));
    for (command, args) in [
        ("smoke", vec!["--only", "rollbar", "--json"]),
        ("smoke", vec!["--only", "rollbar"]),
        ("doctor", vec!["--only", "rollbar.token", "--json"]),
    ] {
        let o = run_clean(dir.path(), command, &args, &env);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            !all.contains(token),
            "{command} {args:?} printed the token:\n{all}"
        );
        assert!(all.contains("does not know this token"), "{all}");
    }
}

#[test]
fn nothing_is_written_outside_the_project() {
    let outer = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), &outer.path().join("app"));
    let backend = outer.path().join("app/backend-flask");
    fs::rename(&backend, outer.path().join("backend-flask")).unwrap();
    let compose = outer.path().join("app/docker-compose.yml");
    let text = fs::read_to_string(&compose)
        .unwrap()
        .replace("build: ./backend-flask", "build: ../backend-flask");
    fs::write(&compose, text).unwrap();
    let before = tree(outer.path());
    let o = run(&outer.path().join("app"), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("outside the project"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--project"), "{}", stderr(&o));
    let mut after = tree(outer.path());
    after.retain(|k, _| !k.starts_with("app/.o11y"));
    assert_eq!(after, before);
}

#[test]
fn an_interrupted_apply_is_rolled_back_and_leaves_no_temp_file() {
    let dir = project("template");
    let before = tree(dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let applied = tree(dir.path());
    // What an apply killed half-way leaves: some files new, some old, the journal, a temp file.
    let backups = dir.path().join(".o11y/backups");
    let made = fs::read_dir(&backups)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&made, saved.path());
    run_ok(dir.path(), &["undo"], 0);
    assert!(
        !dir.path().join(".o11y").exists(),
        "undo left o11y's state folder"
    );
    let live = backups.join("20990101T000000Z");
    copy_dir(saved.path(), &live);
    fs::create_dir_all(dir.path().join(".o11y/tmp")).unwrap();
    fs::write(
        dir.path().join(".o11y/journal.json"),
        r#"{"backup": "20990101T000000Z"}"#,
    )
    .unwrap();
    for (rel, bytes) in applied.iter().take(3) {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    fs::write(dir.path().join(".o11y/tmp/.o11y-stray"), "half").unwrap();
    // The next run puts everything back first.
    let o = run(dir.path(), &["doctor", "--only", "project.found"]);
    assert!(stderr(&o).contains("was interrupted"), "{}", stderr(&o));
    assert_eq!(tree(dir.path()), before);
    assert!(!dir.path().join(".o11y/journal.json").exists());
    assert!(!dir.path().join(".o11y/tmp/.o11y-stray").exists());
    // And nothing of o11y's temp files is ever where git would see it.
    run_ok(dir.path(), &["apply", "--yes"], 0);
    assert!(tree(dir.path()).keys().all(|k| !Path::new(k)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(".o11y-")));
}

#[test]
fn two_applies_at_once_do_not_lose_changes() {
    let dir = project("template");
    // Another o11y holds the lock: the project folder itself.
    let lock = fs::File::open(dir.path()).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let o = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another o11y is changing this project"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    drop(lock);
    run_ok(dir.path(), &["apply", "--yes"], 0);
}

#[test]
fn links_and_read_only_files_are_refused_not_replaced() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = project("template");
    let outside = tempfile::tempdir().unwrap();
    let req = dir.path().join("backend-flask/requirements.txt");
    fs::copy(&req, outside.path().join("requirements.txt")).unwrap();
    fs::remove_file(&req).unwrap();
    symlink(outside.path().join("requirements.txt"), &req).unwrap();
    let o = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("is a link to"), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&req).unwrap().file_type().is_symlink());

    let dir = project("template");
    let app = dir.path().join("backend-flask/app.py");
    fs::set_permissions(&app, fs::Permissions::from_mode(0o444)).unwrap();
    let before = tree(dir.path());
    let o = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("is read-only"), "{}", stderr(&o));
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn dotenv_values_mean_the_same_to_a_shell_or_are_refused() {
    let dir = project("template");
    let env = |v: &str| {
        let mut e = good_env(1, 1);
        e.retain(|(k, _)| *k != "ROLLBAR_ACCESS_TOKEN");
        e.push(("ROLLBAR_ACCESS_TOKEN", v.to_string()));
        e
    };
    // A value with ' and a backtick: refused, not written so that `. ./.env` runs a command.
    let o = run_clean(
        dir.path(),
        "init",
        &["--yes", "--no-verify", "--no-smoke", "--store", "dotenv"],
        &env("it's`touch pwned`"),
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot be written to .env"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join(".env").exists());
    // One with a ' alone is written, and a shell reads it back exactly.
    let o = run_clean(
        dir.path(),
        "init",
        &["--yes", "--no-verify", "--no-smoke", "--store", "dotenv"],
        &env("it's a token"),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let sh = Command::new("sh")
        .current_dir(dir.path())
        .args([
            "-c",
            "set -a; . ./.env; printf %s \"$ROLLBAR_ACCESS_TOKEN\"",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sh.stdout), "it's a token");
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn a_gitignore_negation_is_seen_through_git() {
    let dir = project("template");
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    fs::write(dir.path().join(".gitignore"), ".env\n!.env\n").unwrap();
    fs::write(dir.path().join(".env"), "A=1\n").unwrap();
    let o = run(
        dir.path(),
        &["doctor", "--only", "secrets.dotenv", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checks"][0]["status"], "warn", "{v}");
    let o = run_clean(
        dir.path(),
        "init",
        &[
            "--yes",
            "--no-verify",
            "--no-smoke",
            "--store",
            "dotenv",
            "--only",
            "rollbar",
        ],
        &[("ROLLBAR_ACCESS_TOKEN", "abc".into())],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ignored = git(&["check-ignore", "-q", ".env"]);
    assert!(ignored.status.success(), ".env is not ignored after init");
}

#[test]
fn an_unknown_check_id_is_an_error_and_local_mode_checks_its_store_first() {
    let dir = project("template");
    let o = run(dir.path(), &["doctor", "--only", "no.such.check"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("no.such.check"), "{}", stderr(&o));
    assert!(stderr(&o).contains("honeycomb.key"), "{}", stderr(&o));
    // A .env that cannot be read: apply --local changes nothing.
    fs::create_dir(dir.path().join(".env")).unwrap();
    let before = tree(dir.path());
    let o = run(dir.path(), &["apply", "--local", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn dotenv_values_mean_the_same_to_docker_compose() {
    if !require("docker-compose") {
        return;
    }
    use o11y::secrets::dotenv;
    let values = [
        "a b $HOME #x",
        "it's",
        "plain/+=x",
        "back\\slash \"q\"",
        "`not run`",
        "é → ü",
    ];
    let named: Vec<(String, String)> = values
        .iter()
        .enumerate()
        .map(|(n, v)| (format!("K{n}"), v.to_string()))
        .collect();
    dotenv::check_values(&named).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".env"), dotenv::merge_keys("", &named)).unwrap();
    let mut compose = String::from("services:\n  a:\n    image: x\n    environment:\n");
    for (k, _) in &named {
        compose.push_str(&format!("      {k}: ${{{k}}}\n"));
    }
    fs::write(dir.path().join("docker-compose.yml"), compose).unwrap();
    let o = Command::new("docker-compose")
        .current_dir(dir.path())
        .arg("config")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for (k, v) in &named {
        let line = out
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{k}: ")))
            .unwrap_or_else(|| panic!("{k} missing:\n{out}"));
        // YAML's single quotes double a ', and compose writes a literal $ as $$.
        let read = match line.strip_prefix('\'').and_then(|l| l.strip_suffix('\'')) {
            Some(inner) => inner.replace("''", "'"),
            None => line.to_string(),
        }
        .replace("$$", "$");
        assert_eq!(&read, v, "{k}");
    }
}

#[test]
fn output_piped_into_head_ends_quietly() {
    for shell in ["fish", "zsh", "bash"] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
            .args(["completions", shell])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A reader that is gone before o11y writes (`| head -0`, or `head` done early).
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{shell}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    }
}

#[test]
fn one_fault_has_one_diagnosis_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let env = vec![
        (
            "ROLLBAR_ACCESS_TOKEN",
            "0123456789abcdef0123456789abcdef".to_string(),
        ),
        (
            "O11Y_ROLLBAR_API",
            "https://o11y-test.invalid/api/1/".to_string(),
        ),
    ];
    let o = run_clean(
        dir.path(),
        "doctor",
        &["--only", "rollbar.token", "--json"],
        &env,
    );
    let d = stdout(&o);
    let o = run_clean(dir.path(), "smoke", &["--only", "rollbar", "--json"], &env);
    let s = stdout(&o);
    for (what, text) in [("doctor", &d), ("smoke", &s)] {
        assert!(
            text.contains("o11y-test.invalid cannot be resolved (DNS)"),
            "{what}: {text}"
        );
        assert!(
            text.contains("the host name in `O11Y_ROLLBAR_API`"),
            "{what}: {text}"
        );
        assert!(!text.contains("error sending request"), "{what}: {text}");
    }
    // AWS too: the same host and the same fix in init, doctor and smoke, for every service.
    let aws = vec![
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTONLY1".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", "https://aws-test.invalid".to_string()),
    ];
    let i = run_clean(
        dir.path(),
        "init",
        &[
            "--yes",
            "--only",
            "xray,cloudwatch",
            "--no-smoke",
            "--store",
            "print",
        ],
        &aws,
    );
    let i = format!("{}{}", stdout(&i), stderr(&i));
    let o = run_clean(
        dir.path(),
        "doctor",
        &[
            "--only",
            "services.aws,xray.resources,cloudwatch.log_group",
            "--json",
        ],
        &aws,
    );
    let d = stdout(&o);
    let o = run_clean(
        dir.path(),
        "smoke",
        &["--only", "xray,cloudwatch", "--json"],
        &aws,
    );
    let s = stdout(&o);
    for (what, text) in [("init", &i), ("doctor", &d), ("smoke", &s)] {
        assert!(
            text.contains("aws-test.invalid cannot be resolved (DNS)"),
            "{what}: {text}"
        );
        assert!(
            text.contains("the host name in `AWS_ENDPOINT_URL`"),
            "{what}: {text}"
        );
        for never in [
            "provisioning:",
            "for the cause",
            "sts cannot",
            "xray cannot",
            "logs cannot",
        ] {
            assert!(!text.contains(never), "{what} says `{never}`: {text}");
        }
    }
    // Without an override, no setting is blamed.
    let hint = o11y::net::Fault::Dns.hint("K", "");
    assert!(!hint.contains('`') || !hint.contains("O11Y_"), "{hint}");
}

#[test]
fn a_slow_client_is_let_go() {
    let listen = Listen::start();
    let otlp = listen.ports[0];
    // Half a request, and then nothing: the receiver closes it after its header timeout.
    let mut s = TcpStream::connect(("127.0.0.1", otlp)).unwrap();
    s.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "held for {took:?}");
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
}

/// A project whose files cannot be read fails the project check: doctor cannot show ✔ for
/// what it could not read.
#[test]
fn unreadable_project_files_fail_doctor() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project("template");
    let d = dir.path();
    let app = d.join("backend-flask/app.py");
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&app).is_ok() {
        // Running as root: permissions do not stop reads; a file that is not UTF-8 does.
        std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(&app, b"\xff\xfe not utf-8").unwrap();
    }
    let o = run(d, &["doctor", "--only", "project", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let found = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "project.found")
        .unwrap()
        .clone();
    assert_eq!(found["status"], "fail", "{found}");
    assert!(
        found["reason"].as_str().unwrap().contains("app.py"),
        "{found}"
    );
    assert_eq!(code(&o), 2);
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o644)).unwrap();
}
