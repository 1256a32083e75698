//! `o11y listen` keeps memory bounded by what it keeps, never by what it is sent: JSON bodies
//! are measured before they are parsed, log names and empty events count against the store's
//! cap, OTLP values are counted at every depth, an idle request reserves nothing, many idle
//! connections leave room for one more, unsupported encodings are refused, and what a sender
//! chose comes out exact in `--json` and escaped on a terminal.
//!
//! The tests that measure print `hostile: <case> peak RSS <n> MB` (`benches/hostile.sh`).

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::receiver_ports;

/// The peak RSS every hostile case must stay under.
const PEAK_MB: u64 = 64;

struct Listen {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// Each receiver's port, by its name.
    ports: std::collections::BTreeMap<&'static str, u16>,
}

impl Listen {
    /// `o11y listen` started as a shell would start it: with the usual soft limit of 1,024
    /// open files.
    fn start(json: bool) -> Listen {
        let (ports, args) = receiver_ports();
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("o11y"));
        cmd.args(["--color", "never", "listen", "--timeout", "300"])
            .args(&args);
        if json {
            cmd.arg("--json");
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let mut l = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
                l.rlim_cur = 1024.min(l.rlim_max);
                libc::setrlimit(libc::RLIMIT_NOFILE, &l);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
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
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).to_string());
                buf.clear();
            }
        });
        let up = Instant::now();
        for p in ports.values().copied() {
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

    fn status_kib(&self, field: &str) -> u64 {
        fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Prints the `hostile:` line of a case and returns its peak RSS in MB.
    fn report(&self, case: &str) -> u64 {
        let peak = self.status_kib("VmHWM:") / 1024;
        let now = self.status_kib("VmRSS:") / 1024;
        eprintln!("hostile: {case} peak RSS {peak} MB (RSS after: {now} MB)");
        peak
    }

    fn wait_for(&self, what: &str) -> Option<String> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| l.contains(what)) {
                return Some(l.clone());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: the status and the body (status 0 when the
/// server closed first).
fn call(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
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
    // The server may answer before it reads a body it will not take.
    let _ = s.write_all(head.as_bytes()).and_then(|_| s.write_all(body));
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

fn logs_call(port: u16, op: &str, body: &[u8]) -> (u16, String) {
    call(
        port,
        "/",
        &[("x-amz-target", &format!("Logs_20140328.{op}"))],
        body,
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `n` copies of `item`, comma-separated.
fn many(item: &str, n: usize) -> String {
    let mut s = String::with_capacity((item.len() + 1) * n);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(item);
    }
    s
}

/// Item 8: a Rollbar item whose custom data is an array of 2.7 million empty objects (8 MB)
/// is refused before it is parsed.
#[test]
fn a_json_bomb_to_rollbar_is_refused_before_parsing() {
    let listen = Listen::start(false);
    let body = format!(
        "{{\"access_token\":\"t\",\"data\":{{\"body\":{{\"message\":{{\"body\":\"x\"}}}},\"custom\":[{}]}}}}",
        many("{}", 2_700_000)
    );
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            call(
                listen.ports["rollbar"],
                "/api/1/item/",
                &[],
                body.as_bytes(),
            )
            .0
        })
        .collect();
    let peak = listen.report("rollbar item of 2.7 M empty objects x3");
    assert_eq!(statuses, [413, 413, 413]);
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
}

/// Item 8: PutLogEvents with 2.7 million empty events.
#[test]
fn a_json_bomb_to_the_logs_api_is_refused_before_parsing() {
    let listen = Listen::start(false);
    let body = format!(
        "{{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{}]}}",
        many("{}", 2_700_000)
    );
    let answers: Vec<(u16, String)> = (0..3)
        .map(|_| logs_call(listen.ports["logs"], "PutLogEvents", body.as_bytes()))
        .collect();
    let peak = listen.report("PutLogEvents of 2.7 M empty events x3");
    for (status, body) in answers {
        assert_eq!(status, 413, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["__type"].is_string() && v["message"].is_string(), "{v}");
    }
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
}

/// Item 8: the X-Ray daemon's sampling API with 490,000 statistics documents, and
/// GetSamplingRules with an 8 MB array.
#[test]
fn a_json_bomb_to_the_sampling_api_is_refused_before_parsing() {
    let listen = Listen::start(false);
    let targets = format!(
        "{{\"SamplingStatisticsDocuments\":[{}]}}",
        many("{\"RuleName\":\"a\"}", 490_000)
    );
    let rules = format!("{{\"NextToken\":[{}]}}", many("{}", 2_700_000));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            call(
                listen.ports["xray"],
                "/SamplingTargets",
                &[],
                targets.as_bytes(),
            )
            .0,
        );
        statuses.push(
            call(
                listen.ports["xray"],
                "/GetSamplingRules",
                &[],
                rules.as_bytes(),
            )
            .0,
        );
    }
    let peak = listen.report("SamplingTargets of 490 k documents x3");
    assert_eq!(statuses, [413; 6]);
    // The documented limit of the real API: 25 documents.
    let (status, body) = call(
        listen.ports["xray"],
        "/SamplingTargets",
        &[],
        format!(
            "{{\"SamplingStatisticsDocuments\":[{}]}}",
            many("{\"RuleName\":\"a\"}", 26)
        )
        .as_bytes(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidRequestException"), "{body}");
    let (status, _) = call(
        listen.ports["xray"],
        "/SamplingTargets",
        &[],
        br#"{"SamplingStatisticsDocuments":[{"RuleName":"a"}]}"#,
    );
    assert_eq!(status, 200);
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
}

/// Item 9: names longer than CloudWatch allows are refused as CloudWatch refuses them, and
/// names and empty events count against the one cap of the store.
#[test]
fn log_names_and_empty_events_count_against_the_store_cap() {
    let listen = Listen::start(false);
    let logs = listen.ports["logs"];
    let long = "g".repeat(4 * 1024 * 1024);
    let mut refused = Vec::new();
    for i in 0..10 {
        let (status, body) = logs_call(
            logs,
            "CreateLogGroup",
            format!("{{\"logGroupName\":\"{i}{long}\"}}").as_bytes(),
        );
        refused.push((status, body.contains("InvalidParameterException")));
    }
    let (status, _) = logs_call(logs, "CreateLogGroup", br#"{"logGroupName":"g"}"#);
    assert_eq!(status, 200);
    for i in 0..10 {
        let (status, body) = logs_call(
            logs,
            "CreateLogStream",
            format!("{{\"logGroupName\":\"g\",\"logStreamName\":\"{i}{long}\"}}").as_bytes(),
        );
        refused.push((status, body.contains("InvalidParameterException")));
    }
    // 10,000 empty events (CloudWatch's most per batch) into each of 300 streams.
    let events = format!("[{}]", many("{\"timestamp\":1,\"message\":\"\"}", 10_000));
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for s in 0..300 {
        logs_call(
            logs,
            "CreateLogStream",
            format!("{{\"logGroupName\":\"g\",\"logStreamName\":\"s{s}\"}}").as_bytes(),
        );
        let (status, _) = logs_call(
            logs,
            "PutLogEvents",
            format!("{{\"logGroupName\":\"g\",\"logStreamName\":\"s{s}\",\"logEvents\":{events}}}")
                .as_bytes(),
        );
        *statuses.entry(status).or_default() += 1;
    }
    let peak = listen.report("log names of 4 MB x20, 10,000 empty events x300 streams");
    assert!(
        refused.iter().all(|r| *r == (400, true)),
        "names over 512 characters were taken: {refused:?}"
    );
    assert_eq!(statuses.get(&200), Some(&300), "{statuses:?}");
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
}

/// Item 10: four million empty values nested deeper than 64 levels, in 36 KB of gzip.
#[test]
fn deep_otlp_values_are_counted_at_every_depth() {
    fn wrap(field: u8, inner: Vec<u8>) -> Vec<u8> {
        let mut out = vec![(field << 3) | 2];
        let mut n = inner.len();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend(inner);
        out
    }
    let listen = Listen::start(false);
    // ArrayValue { values: [AnyValue {} x 4 M] }, inside AnyValue { array_value } inside
    // ArrayValue { values } ... 32 times, inside KeyValue { value }, Resource { attributes },
    // ResourceSpans { resource }, the request { resource_spans }.
    let mut v: Vec<u8> = std::iter::repeat_n([0x0au8, 0x00], 4_000_000)
        .flatten()
        .collect();
    for _ in 0..32 {
        v = wrap(1, wrap(5, v));
    }
    let body = wrap(1, wrap(1, wrap(1, wrap(2, wrap(5, v)))));
    let body = gzip(&body);
    assert!(body.len() < 64 * 1024, "{} bytes", body.len());
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            call(
                listen.ports["otlp"],
                "/v1/traces",
                &[
                    ("content-type", "application/x-protobuf"),
                    ("content-encoding", "gzip"),
                ],
                &body,
            )
            .0
        })
        .collect();
    let peak = listen.report("OTLP of 4 M empty values at depth 66 (36 KB gzip) x3");
    assert_eq!(statuses, [413, 413, 413]);
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
}

/// A minimal valid OTLP/JSON export.
const SPAN: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"after-idle"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;

/// Item 11: requests that promise 8 MB (a Content-Length, or a chunk size) and then send
/// nothing reserve nothing: another request is answered at once.
#[test]
fn an_idle_request_reserves_nothing() {
    let listen = Listen::start(false);
    let mut idle = Vec::new();
    for port in listen.ports.values().copied() {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n7fffff\r\nxx")
            .unwrap();
        idle.push(s);
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-length: 8388000\r\n\r\nxx")
            .unwrap();
        idle.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let (status, body) = call(
        listen.ports["otlp"],
        "/v1/traces",
        &[("content-type", "application/json")],
        SPAN.as_bytes(),
    );
    let took = sent.elapsed();
    let peak = listen.report("8 idle requests promising 8 MB each");
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
    drop(idle);
}

/// Item 11, past the first 64 KiB: a body that sent 70 KB of a promised 8 MB and stopped holds
/// about what it sent, so a large honest body is still taken.
#[test]
fn a_stalled_large_body_holds_what_it_sent_not_what_it_promised() {
    let listen = Listen::start(false);
    let rollbar = listen.ports["rollbar"];
    let mut idle = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(("127.0.0.1", rollbar)).unwrap();
        s.write_all(b"POST /api/1/item/ HTTP/1.1\r\nhost: x\r\ncontent-length: 8388000\r\n\r\n")
            .unwrap();
        s.write_all(&vec![b' '; 70_000]).unwrap();
        idle.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let title = "x".repeat(300_000);
    let sent = Instant::now();
    let (status, body) = call(rollbar, "/api/1/item/", &[], &rollbar_item(&title));
    assert_eq!(status, 200, "{body}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "answered after {:?}",
        sent.elapsed()
    );
    drop(idle);
}

/// Item 11: 1,024 idle connections (listen started with a soft limit of 1,024 open files)
/// and a new one is still answered.
#[test]
fn a_new_connection_is_answered_with_1024_idle_ones_open() {
    // This process needs more than 1,024 descriptors itself.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        assert!(
            l.rlim_max >= 2048,
            "the hard limit of open files is {}",
            l.rlim_max
        );
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
    }
    let listen = Listen::start(false);
    let otlp = listen.ports["otlp"];
    let idle: Vec<TcpStream> = (0..1024)
        .map(|_| TcpStream::connect(("127.0.0.1", otlp)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    let (status, body) = call(
        listen.ports["otlp"],
        "/v1/traces",
        &[("content-type", "application/json")],
        SPAN.as_bytes(),
    );
    let took = sent.elapsed();
    let peak = listen.report("1,024 idle connections");
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(2), "answered after {took:?}");
    assert!(peak < PEAK_MB, "peak RSS {peak} MB");
    drop(idle);
}

/// What a sender may put in a string to fool a terminal or a reader: C1 controls (CSI
/// U+009B, NEL U+0085), DEL, bidi overrides and isolates, line and paragraph separators.
const TRICKY: &str = "a\u{9b}31mred\u{85}b\u{7f}c\u{202e}d\u{2028}e\u{2029}f\u{61c}g\u{200e}h\u{2066}i\u{1b}[2Jj\u{7}k";

fn rollbar_item(title: &str) -> Vec<u8> {
    serde_json::json!({"access_token": "t", "data": {"body": {"message": {"body": title}}}})
        .to_string()
        .into_bytes()
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Item 12: `--json` prints every string exact (after JSON decoding) and no raw control or
/// bidi character; terminal output escapes them.
#[test]
fn json_output_is_exact_and_terminal_output_escaped() {
    let listen = Listen::start(true);
    let title = format!("json-{TRICKY}");
    assert_eq!(
        call(
            listen.ports["rollbar"],
            "/api/1/item/",
            &[],
            &rollbar_item(&title)
        )
        .0,
        200
    );
    let line = listen.wait_for("rollbar").expect("no JSON line");
    let line = line.trim_end_matches('\n');
    assert!(!line.chars().any(is_unsafe), "raw: {line:?}");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["title"].as_str(), Some(title.as_str()), "{line:?}");
    drop(listen);

    let listen = Listen::start(false);
    let title = format!("term-{TRICKY}");
    assert_eq!(
        call(
            listen.ports["rollbar"],
            "/api/1/item/",
            &[],
            &rollbar_item(&title)
        )
        .0,
        200
    );
    let line = listen.wait_for("term-").expect("no line");
    let line = line.trim_end_matches('\n');
    assert!(!line.chars().any(is_unsafe), "raw: {line:?}");
    for escaped in ["\\u{2028}", "\\u{61c}", "\\x9b", "\\x7f", "\\u{202e}"] {
        assert!(line.contains(escaped), "{escaped} missing from {line:?}");
    }
}

/// Item 13: an encoding the receivers cannot read is a 415 that names those they can.
#[test]
fn an_unsupported_content_encoding_is_a_415() {
    let listen = Listen::start(false);
    let p = |n: &str| listen.ports[n];
    let (otlp, xray, logs, rollbar) = (p("otlp"), p("xray"), p("logs"), p("rollbar"));
    for encoding in ["zstd", "br", "deflate", "compress"] {
        for (port, path, extra) in [
            (
                otlp,
                "/v1/traces",
                ("content-type", "application/x-protobuf"),
            ),
            (xray, "/SamplingTargets", ("x", "y")),
            (logs, "/", ("x-amz-target", "Logs_20140328.PutLogEvents")),
            (rollbar, "/api/1/item/", ("x", "y")),
        ] {
            let (status, body) = call(
                port,
                path,
                &[("content-encoding", encoding), extra],
                b"\x28\xb5\x2f\xfd\x00\x58\x01\x00\x00",
            );
            assert_eq!(status, 415, "{encoding} to {path}: {body}");
            assert!(
                body.contains("gzip") && body.contains("identity"),
                "{encoding} to {path}: {body}"
            );
        }
    }
    // gzip is taken by every receiver.
    let (status, body) = call(
        rollbar,
        "/api/1/item/",
        &[("content-encoding", "gzip")],
        &gzip(&rollbar_item("zipped")),
    );
    assert_eq!(status, 200, "{body}");
}
