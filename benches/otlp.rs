//! Load on the OTLP/HTTP receiver: batches of 512 spans from concurrent connections on
//! loopback, against `o11y listen` and against PyPI's oteltap on the same load.
//! Run with `cargo bench --bench otlp` (oteltap from ./.venv or $O11Y_TEST_PYTHON's folder).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

const SPANS_PER_BATCH: usize = 512;
const CONNECTIONS: usize = 8;
const BATCHES_PER_CONNECTION: usize = 200;

mod support;

use support::{free_port, wait_up};

fn batch() -> Vec<u8> {
    let one = o11y::integrations::honeycomb::smoke_request(
        "bench",
        [7; 16],
        [9; 8],
        1_700_000_000_000_000_000,
    );
    let mut req: ExportTraceServiceRequest = one.clone();
    let spans = &mut req.resource_spans[0].scope_spans[0].spans;
    let template = spans[0].clone();
    spans.clear();
    for i in 0..SPANS_PER_BATCH {
        let mut s = template.clone();
        s.span_id = (i as u64 + 1).to_be_bytes().to_vec();
        s.name = format!("GET /api/activities/{i}");
        spans.push(s);
    }
    req.encode_to_vec()
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn load(name: &str, mut child: Child, port: u16, body: &[u8]) {
    wait_up(port);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let started = Instant::now();
    let mut latencies: Vec<f64> = rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let url = url.clone();
            let body = body.to_vec();
            tasks.push(tokio::spawn(async move {
                o11y::net::use_one_crypto_library();
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .unwrap();
                let mut lat = Vec::with_capacity(BATCHES_PER_CONNECTION);
                for _ in 0..BATCHES_PER_CONNECTION {
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("request");
                    assert!(r.status().is_success(), "status {}", r.status());
                    let _ = r.bytes().await;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let secs = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let spans = (CONNECTIONS * BATCHES_PER_CONNECTION * SPANS_PER_BATCH) as f64;
    println!(
        "{name:<14} {:>9.0} spans/s   p50 {:>7.2} ms   p99 {:>7.2} ms   peak RSS {:>7} KiB   ({} batches of {SPANS_PER_BATCH} in {secs:.2} s, {CONNECTIONS} connections)",
        spans / secs,
        pct(0.50),
        pct(0.99),
        peak_rss_kib(child.id()),
        CONNECTIONS * BATCHES_PER_CONNECTION
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn oteltap() -> Option<PathBuf> {
    let from_env = std::env::var("O11Y_TEST_PYTHON")
        .ok()
        .map(|p| PathBuf::from(p).with_file_name("oteltap"));
    let local = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/oteltap"));
    from_env.into_iter().chain([local]).find(|p| p.is_file())
}

fn main() {
    let body = batch();
    println!(
        "batch: {SPANS_PER_BATCH} spans, {} bytes of protobuf",
        body.len()
    );
    let port = free_port();
    let o11y = Command::new(env!("CARGO_BIN_EXE_o11y"))
        .args(["listen", "--json", "--otlp-port", &port.to_string()])
        .args([
            "--xray-port",
            &free_port().to_string(),
            "--logs-port",
            &free_port().to_string(),
            "--rollbar-port",
            &free_port().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    load("o11y listen", o11y, port, &body);
    match oteltap() {
        Some(bin) => {
            let port = free_port();
            let tap = Command::new(bin)
                .args(["--port", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            load("oteltap", tap, port, &body);
        }
        None => println!("oteltap not found (make .venv from tests/requirements.txt); skipped"),
    }
}
