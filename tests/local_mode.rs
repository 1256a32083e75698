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
            &o11y::integrations::net::client(std::time::Duration::from_secs(10)).unwrap(),
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
    assert!(
        out.contains("error  rollbar  error  O11ySmokeTest"),
        "{out}"
    );
    assert!(out.contains("xray   backend-flask  └─ o11y-smoke"), "{out}");
    assert!(
        err.contains("Received: 0 trace batch(es) (0 spans), 1 X-Ray segment(s), 0 log event(s), 1 Rollbar item(s), 0 malformed"),
        "{err}"
    );
}
