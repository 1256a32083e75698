//! `o11y init --yes` without a terminal, keys in the environment, on a fresh copy of the
//! example: the whole run (3 key checks, .env, apply, provisioning and 4 smoke signals), the
//! same without the smoke step, and a second run on a project that is already set up.
//! Honeycomb and Rollbar are the test stand-ins, AWS is moto server behind the X-Ray stand-in.
//! Run with `cargo bench --bench init` (needs .venv from tests/requirements.txt).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const RUNS: usize = 15;

mod support;

use support::{copy_dir, venv};

fn stats(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<44} median {:>7.1} ms   p95 {:>7.1} ms   ({} runs)",
        p(0.5),
        p(0.95),
        ms.len()
    );
}

fn main() {
    let py = venv();
    if !py.is_file() {
        println!("no .venv (make it from tests/requirements.txt); skipped");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scripts = repo.join("tests/support");
    let fake = support::script(&py, &[scripts.join("fake_services.py").to_str().unwrap()]);
    let (_moto, moto_port) = support::moto(&py);
    let standin = support::script(
        &py,
        &[
            scripts.join("xray_standin.py").to_str().unwrap(),
            "--moto",
            &format!("http://127.0.0.1:{moto_port}"),
        ],
    );
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
        (
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", standin.1),
        ),
        ("O11Y_HONEYCOMB_API", format!("http://127.0.0.1:{}", fake.1)),
        (
            "O11Y_ROLLBAR_API",
            format!("http://127.0.0.1:{}/api/1/", fake.1),
        ),
    ];
    let home = tempfile::tempdir().unwrap();
    let run = |dir: &Path, extra: &[&str]| -> f64 {
        let started = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_o11y"))
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", home.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["init", "--yes", "-q"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert!(
            o.status.success(),
            "init failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        ms
    };
    let (mut full, mut no_smoke, mut again) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&repo.join("examples/cruddur"), dir.path());
        full.push(run(dir.path(), &[]));
        again.push(run(dir.path(), &["--no-smoke"]));
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&repo.join("examples/cruddur"), dir.path());
        no_smoke.push(run(dir.path(), &["--no-smoke"]));
    }
    println!("o11y init --yes, keys in the environment, local stand-ins and moto:");
    stats("checks + store + apply + provision + smoke", full);
    stats("checks + store + apply (--no-smoke)", no_smoke);
    stats("second run, nothing to change (--no-smoke)", again);
}
