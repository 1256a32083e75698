//! `apply --local` / `--cloud` and the `listen` command's own behaviour.

mod common;

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn local_mode_writes_env_and_extra_hosts_and_cloud_takes_it_back() {
    let p = project("template");
    let d = p.path();
    git(d, &["init", "-q", "."]);
    fs::write(
        d.join(".env"),
        "# mine\nHONEYCOMB_API_KEY=hcaik_fake_value_for_tests\n",
    )
    .unwrap();
    let o = run_ok(d, &["apply", "--yes", "--local"], 0);
    let err = stderr(&o);
    assert!(err.contains("o11y listen --bind 0.0.0.0"), "{err}");
    assert!(
        !err.contains("hcaik_fake_value_for_tests"),
        "a key was printed:\n{err}"
    );

    let env = fs::read_to_string(d.join(".env")).unwrap();
    assert!(
        env.starts_with("# mine\nHONEYCOMB_API_KEY=hcaik_fake_value_for_tests\n"),
        "{env}"
    );
    for line in [
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://host.docker.internal:4318",
        "AWS_XRAY_DAEMON_ADDRESS=host.docker.internal:2000",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://host.docker.internal:4584",
        "ROLLBAR_ENDPOINT=http://host.docker.internal:4585/api/1/",
        "AWS_ACCESS_KEY_ID=local",
    ] {
        assert!(
            env.lines().any(|l| l == line),
            "`{line}` missing from .env:\n{env}"
        );
    }
    // The user's own key is kept, not shadowed by a dummy.
    assert_eq!(env.matches("HONEYCOMB_API_KEY=").count(), 1, "{env}");
    let mode = fs::metadata(d.join(".env")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(fs::read_to_string(d.join(".gitignore"))
        .unwrap()
        .lines()
        .any(|l| l == ".env"));

    let compose = fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains("    extra_hosts:\n      - \"host.docker.internal:host-gateway\"\n"),
        "{compose}"
    );
    if require("docker-compose") {
        let o = Command::new("docker-compose")
            .current_dir(d)
            .args(["config", "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // Twice changes nothing.
    let before = tree(d);
    run_ok(d, &["apply", "--yes", "--local"], 0);
    assert_eq!(tree(d), before);

    run_ok(d, &["apply", "--yes", "--cloud"], 0);
    assert_eq!(
        fs::read_to_string(d.join(".env")).unwrap(),
        "# mine\nHONEYCOMB_API_KEY=hcaik_fake_value_for_tests\n"
    );
}

#[test]
fn undo_takes_local_mode_out_and_cloud_only_switches_endpoints() {
    let p = project("template");
    let d = p.path();
    fs::write(d.join(".env"), "# mine\nDB=x\n").unwrap();
    let before = tree(d);
    run_ok(d, &["apply", "--yes", "--local"], 0);
    assert!(fs::read_to_string(d.join(".env"))
        .unwrap()
        .contains("o11y local mode"));
    // One undo puts back every file local mode touched, .env and .gitignore included.
    run_ok(d, &["undo"], 0);
    assert_eq!(tree(d), before);
    assert!(!d.join(".o11y").exists(), "o11y's state folder stayed");
    // --cloud after that switches endpoints and nothing else: no diff, no prompt.
    let o = run_ok(d, &["apply", "--cloud"], 0);
    assert!(stderr(&o).contains("Not in local mode"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("+++"), "{}", stdout(&o));
    assert_eq!(tree(d), before);
}

#[test]
fn tracked_env_is_refused() {
    let p = project("template");
    let d = p.path();
    git(d, &["init", "-q", "."]);
    fs::write(d.join(".env"), "A=1\n").unwrap();
    git(d, &["add", ".env"]);
    git(d, &["commit", "-qm", "env"]);
    let o = run(d, &["apply", "--yes", "--local"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(".env is tracked by git"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("git rm --cached .env"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(d.join(".env")).unwrap(), "A=1\n");
}

#[test]
fn listen_names_a_taken_port_and_its_flag() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let o = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .args([
            "--color",
            "never",
            "listen",
            "--timeout",
            "1",
            "--rollbar-port",
            &port,
        ])
        .args(["--otlp-port", "0", "--xray-port", "0", "--logs-port", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("port {port} (Rollbar) on 127.0.0.1 is taken")),
        "{err}"
    );
    assert!(err.contains("--rollbar-port PORT"), "{err}");
}

#[test]
fn listen_stops_after_n_arrivals_with_a_summary() {
    let ports: Vec<String> = (0..4)
        .map(|_| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
                .to_string()
        })
        .collect();
    let child = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .args([
            "--color",
            "never",
            "listen",
            "--exit-after",
            "2",
            "--timeout",
            "30",
        ])
        .args([
            "--otlp-port",
            &ports[0],
            "--xray-port",
            &ports[1],
            "--logs-port",
            &ports[2],
            "--rollbar-port",
            &ports[3],
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", ports[3].parse::<u16>().unwrap())).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        o11y::integrations::rollbar::send_smoke(
            &o11y::net::client(std::time::Duration::from_secs(10)).unwrap(),
            &format!("http://127.0.0.1:{}/api/1/", ports[3]),
            "t",
            "dev",
        )
        .await
        .unwrap();
        o11y::integrations::xray::send_smoke(&format!("127.0.0.1:{}", ports[1]), "backend-flask")
            .await
            .unwrap();
    });
    let o = child.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(out.contains("rollbar  error  O11ySmokeTest"), "{out}");
    assert!(out.contains("xray   backend-flask  1.0 ms"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("  o11y-smoke ") && l.contains('█')),
        "{out}"
    );
    assert!(
        err.contains("Received: 0 trace batches (0 spans), 1 X-Ray segment, 0 log events, 1 Rollbar item, 0 malformed"),
        "{err}"
    );
}

#[test]
fn in_local_mode_doctor_and_smoke_use_the_local_receivers() {
    let p = project("template");
    let d = p.path();
    let o = run_clean(d, "init", &["--local", "--yes"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let only = "services,runtime.listen,honeycomb.key,rollbar.token,xray.resources";
    // No receivers yet: doctor says so, and asks no real service anything.
    let o = run_clean(d, "doctor", &["--only", only, "--json"], &[]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(stderr(&o).contains("Local mode"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for c in v["checks"].as_array().unwrap() {
        match c["id"].as_str().unwrap() {
            "runtime.listen" => {
                assert_eq!(c["status"], "fail", "{c}");
                assert!(
                    c["fix"]
                        .as_str()
                        .unwrap()
                        .contains("o11y listen --bind 0.0.0.0"),
                    "{c}"
                );
            }
            _ => {
                assert_eq!(c["status"], "skip", "{c}");
                assert!(c["reason"].as_str().unwrap().contains("local mode"), "{c}");
            }
        }
    }
    // With `o11y listen` on its own ports, both pass, and the signals arrive there.
    let mut listen = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .args(["listen", "--json", "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", 4585)).is_err() {
        assert!(
            up.elapsed() < std::time::Duration::from_secs(10),
            "listen did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = run_clean(d, "doctor", &["--only", only, "--json"], &[]);
    let doctor = stdout(&o);
    let s = run_clean(d, "smoke", &["--json"], &[]);
    let _ = listen.kill();
    let got = listen.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{doctor}");
    assert_eq!(code(&s), 0, "{}\n{}", stdout(&s), stderr(&s));
    assert!(stderr(&s).contains("Local mode"), "{}", stderr(&s));
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    for r in v["results"].as_array().unwrap() {
        assert!(r["detail"].as_str().unwrap().contains("o11y listen"), "{r}");
    }
    let arrivals = String::from_utf8_lossy(&got.stdout);
    for signal in ["\"trace\"", "\"xray\"", "\"log\"", "\"rollbar\""] {
        assert!(
            arrivals.contains(signal),
            "no {signal} arrived:\n{arrivals}"
        );
    }
}

#[test]
fn demo_makes_its_own_venv_or_says_why_it_cannot() {
    // No Python here has the backend's packages, and pip's index does not answer.
    let cwd = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let env = vec![
        ("XDG_CACHE_HOME", cache.path().display().to_string()),
        ("PIP_INDEX_URL", "http://127.0.0.1:9/simple".to_string()),
        ("PIP_RETRIES", "0".to_string()),
        ("PIP_TIMEOUT", "2".to_string()),
        ("PIP_NO_CACHE_DIR", "1".to_string()),
    ];
    let o = run_clean(cwd.path(), "demo", &["--timeout", "20"], &env);
    let err = stderr(&o);
    assert_eq!(code(&o), 0, "{err}");
    assert!(err.contains("making the demo's own venv in"), "{err}");
    assert!(
        err.contains(&cache.path().join("o11y/demo-venv").display().to_string()),
        "{err}"
    );
    assert!(err.contains("pip cannot reach its package index"), "{err}");
    assert!(err.contains("--no-install"), "{err}");
    // A venv that could not be filled is not kept as if it were ready.
    assert!(!cache.path().join("o11y/demo-venv").exists());
    // The demo still shows every signal, from o11y's own test signals.
    assert!(err.contains("Demo done"), "{err}");
    // --no-install makes nothing.
    let o = run_clean(
        cwd.path(),
        "demo",
        &["--no-install", "--timeout", "20"],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("making the demo's own venv"),
        "{}",
        stderr(&o)
    );
}
