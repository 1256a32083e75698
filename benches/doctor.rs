//! `doctor` with every remote check answered by local servers that each wait 300 ms: the run
//! must take no longer than 1.2× its slowest single check, since the checks run at once. Also
//! `doctor`'s wall time and peak memory beside `aws sts get-caller-identity` on moto server.
//! Run with `cargo bench --bench doctor` (needs .venv from tests/requirements.txt).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const REMOTE: &[&str] = &[
    "honeycomb.key",
    "rollbar.token",
    "services.aws",
    "cloudwatch.log_group",
    "xray.resources",
];

mod support;

use support::{copy_dir, venv};

/// (wall seconds, peak RSS KiB) of a command, through GNU time.
fn measure(cmd: &mut Command) -> (f64, u64, String) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let started = Instant::now();
    let o = cmd.output().unwrap();
    let wall = started.elapsed().as_secs_f64();
    let _ = out;
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let rss = err
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (wall, rss, String::from_utf8_lossy(&o.stdout).to_string())
}

fn main() {
    let py = venv();
    if !py.is_file() {
        println!("no .venv (make it from tests/requirements.txt); skipped");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (_fake, port) = support::script(
        &py,
        &[
            repo.join("tests/support/fake_services.py")
                .to_str()
                .unwrap(),
            "--fault",
            "slow300",
        ],
    );
    let (moto, moto_port) = support::moto(&py);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo.join("examples/cruddur"), dir.path());
    let o11y = env!("CARGO_BIN_EXE_o11y");
    assert!(Command::new(o11y)
        .arg("--project")
        .arg(dir.path())
        .args(["apply", "--yes", "-q"])
        .status()
        .unwrap()
        .success());
    let env = [
        (
            "HONEYCOMB_API_KEY",
            "test-env-ingest-key-000001".to_string(),
        ),
        (
            "ROLLBAR_ACCESS_TOKEN",
            "test-rollbar-post-server-token".into(),
        ),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("O11Y_HONEYCOMB_API", format!("http://127.0.0.1:{port}")),
        (
            "O11Y_ROLLBAR_API",
            format!("http://127.0.0.1:{port}/api/1/"),
        ),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
    ];
    let doctor = |only: &str| {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "MAXRSS %M", o11y, "doctor", "--json", "--only", only])
            .current_dir(dir.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        c
    };
    // Warm-up (first TLS/DNS-free connections, page cache).
    let _ = doctor(&REMOTE.join(",")).output();
    let mut slowest = (0.0f64, "");
    for id in REMOTE {
        let (wall, _, out) = measure(&mut doctor(id));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let ms = v["checks"][0]["duration_ms"].as_u64().unwrap_or(0);
        println!(
            "  {id:<22} check {ms:>4} ms, process {:>4.0} ms",
            wall * 1000.0
        );
        if wall > slowest.0 {
            slowest = (wall, id);
        }
    }
    let mut runs = Vec::new();
    let mut rss = 0;
    for _ in 0..5 {
        let (wall, r, _) = measure(&mut doctor(&REMOTE.join(",")));
        runs.push(wall);
        rss = rss.max(r);
    }
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = runs[runs.len() / 2];
    println!(
        "doctor, {} remote checks at once: median {:.0} ms over 5 runs; slowest single check ({}) {:.0} ms; ratio {:.2} (limit 1.20); peak RSS {} KiB",
        REMOTE.len(),
        median * 1000.0,
        slowest.1,
        slowest.0 * 1000.0,
        median / slowest.0,
        rss
    );
    let (full, full_rss, _) = measure(&mut doctor(
        "tools,project,secrets,services,runtime,honeycomb,xray,cloudwatch,rollbar",
    ));
    println!(
        "doctor, every check (fake services at 300 ms): {:.0} ms, peak RSS {} KiB",
        full * 1000.0,
        full_rss
    );

    // The same identity check: o11y doctor's STS check and the AWS CLI, on moto.
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    let mut o11y_sts = Command::new("/usr/bin/time");
    o11y_sts
        .args([
            "-f",
            "MAXRSS %M",
            o11y,
            "doctor",
            "--json",
            "--only",
            "services.aws",
        ])
        .current_dir(dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_ENDPOINT_URL", &moto_url);
    let mut cli = Command::new("/usr/bin/time");
    cli.args(["-f", "MAXRSS %M"])
        .arg(py.with_file_name("aws"))
        .args([
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            &moto_url,
            "--region",
            "us-east-1",
        ])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut a = Vec::new();
    let mut b = Vec::new();
    let (mut ra, mut rb) = (0, 0);
    for _ in 0..5 {
        let (w, r, _) = measure(&mut o11y_sts);
        a.push(w);
        ra = ra.max(r);
        let (w, r, _) = measure(&mut cli);
        b.push(w);
        rb = rb.max(r);
    }
    a.sort_by(|x, y| x.partial_cmp(y).unwrap());
    b.sort_by(|x, y| x.partial_cmp(y).unwrap());
    println!(
        "STS identity on moto: o11y doctor --only services.aws {:.0} ms, {} KiB; aws sts get-caller-identity {:.0} ms, {} KiB (medians of 5, peak RSS)",
        a[2] * 1000.0,
        ra,
        b[2] * 1000.0,
        rb
    );
    drop(moto);
}
