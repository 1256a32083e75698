//! `o11y doctor` against real parts where they exist (moto server for STS and CloudWatch
//! Logs) and stand-ins that check what the real services check (tests/support/fake_services.py
//! for Honeycomb and Rollbar): three states of the example, and every network fault.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const HONEYCOMB_KEY: &str = "test-env-ingest-key-000001";

/// Runs doctor in `dir` with a clean environment: the keys, the endpoints, nothing else.
fn doctor(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    run_clean(dir, "doctor", args, env)
}

/// Output made stable: times, ports and paths replaced.
fn stable(s: &str, dir: &Path) -> String {
    let s = s.replace(&dir.display().to_string(), "[PROJECT]");
    let re = |p: &str| regex::Regex::new(p).unwrap();
    let s = re(r"\(\d+\.\d s\)").replace_all(&s, "([time])").to_string();
    let s = re(r#""duration_ms": \d+"#)
        .replace_all(&s, "\"duration_ms\": \"[ms]\"")
        .to_string();
    re(r"127\.0\.0\.1:\d+")
        .replace_all(&s, "127.0.0.1:[port]")
        .to_string()
}

/// Everything but the Tools and Runtime groups, which depend on the machine.
const STABLE_CHECKS: &str = "project,secrets,services,honeycomb,xray,cloudwatch,rollbar";

#[test]
fn three_states_of_the_example() {
    let fake = fake("none");
    let moto = shared_aws();
    let env = good_env(fake.port, moto);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let d = dir.path();

    // Week 1: nothing wired; no log group yet.
    let o = doctor(d, &["--only", STABLE_CHECKS], &env);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("week1", snapshot_of(&o, |t| stable(t, d)));

    // After apply (and --fix for the log group): healthy.
    run_ok(d, &["apply", "--yes"], 0);
    let o = doctor(d, &["--only", STABLE_CHECKS, "--fix"], &env);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("fixed: created the log group `cruddur`"));
    insta::assert_snapshot!("applied", snapshot_of(&o, |t| stable(t, d)));
    let o = doctor(d, &["--only", STABLE_CHECKS, "--json"], &env);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("applied-json", snapshot_of(&o, |t| stable(t, d)));

    // One thing broken by hand: the daemon's port published without /udp.
    let compose = d.join("docker-compose.yml");
    let text = fs::read_to_string(&compose).unwrap();
    fs::write(&compose, text.replace("\"2000:2000/udp\"", "\"2000:2000\"")).unwrap();
    let o = doctor(d, &["--only", STABLE_CHECKS], &env);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("broken", snapshot_of(&o, |t| stable(t, d)));
    let o = doctor(d, &["--only", STABLE_CHECKS, "--json"], &env);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    let failing: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failing, vec!["xray.daemon"]);
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {v}"))
}

#[test]
fn every_network_fault_is_named_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let closed = free_port();
    let cases: &[(&str, &str, &str, &str)] = &[
        // fault, Honeycomb's reason, Rollbar's reason, STS's reason
        (
            "delay",
            "did not answer in time",
            "did not answer in time",
            "did not answer in time",
        ),
        (
            "refuse",
            "refused the connection",
            "refused the connection",
            "refused the connection",
        ),
        (
            "401",
            "Honeycomb does not know this key",
            "Rollbar rejected the key",
            "AWS STS rejected the key",
        ),
        (
            "403",
            "does not allow this with it",
            "Rollbar refused the token (403)",
            "does not allow this with it",
        ),
        (
            "429",
            "rate-limiting this key (429), retry after 30 s",
            "rate-limiting this key (429), retry after 30 s",
            "rate-limiting",
        ),
        (
            "500",
            "had an error of its own (500)",
            "had an error of its own (500)",
            "had an error of its own (500)",
        ),
        (
            "garbage",
            "answered, but not as Honeycomb does",
            "answered, but not as Rollbar does",
            "not as AWS STS does",
        ),
    ];
    // Faults of the address itself, for the two HTTP services.
    let tls = fake("none");
    for (what, api, want) in [
        (
            "404",
            format!("http://127.0.0.1:{}/not-the-api", tls.port),
            "is not Honeycomb's API",
        ),
        (
            "dns",
            "https://o11y-test.invalid".to_string(),
            "cannot be resolved (DNS)",
        ),
        (
            "tls",
            format!("https://127.0.0.1:{}", tls.port),
            "TLS handshake",
        ),
    ] {
        let env = vec![
            ("HONEYCOMB_API_KEY", HONEYCOMB_KEY.to_string()),
            ("O11Y_HONEYCOMB_API", api.clone()),
        ];
        let o = doctor(
            dir.path(),
            &["--only", "honeycomb.key", "--timeout", "3", "--json"],
            &env,
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let c = check(&v, "honeycomb.key");
        assert_eq!(c["status"], "fail", "{what}: {c}");
        assert!(
            c["reason"].as_str().unwrap().contains(want),
            "{what}: `{}` lacks `{want}`",
            c["reason"]
        );
    }
    for (fault, honeycomb, rollbar, sts) in cases {
        let server = (*fault != "refuse").then(|| fake(fault));
        let port = server.as_ref().map_or(closed, |s| s.port);
        let mut env = good_env(port, port);
        env.retain(|(k, _)| !k.starts_with("O11Y_") && *k != "AWS_ENDPOINT_URL");
        env.push(("O11Y_HONEYCOMB_API", format!("http://127.0.0.1:{port}")));
        env.push((
            "O11Y_ROLLBAR_API",
            format!("http://127.0.0.1:{port}/api/1/"),
        ));
        env.push(("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")));
        let started = Instant::now();
        let o = doctor(
            dir.path(),
            &[
                "--only",
                "honeycomb.key,rollbar.token,services.aws",
                "--timeout",
                "1",
                "--json",
            ],
            &env,
        );
        let took = started.elapsed();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{fault}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(
            took < Duration::from_secs(4),
            "{fault}: doctor took {took:?} with a 1 s timeout"
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        for (id, want) in [
            ("honeycomb.key", honeycomb),
            ("rollbar.token", rollbar),
            ("services.aws", sts),
        ] {
            let c = check(&v, id);
            assert_eq!(c["status"], "fail", "{fault} {id}: {c}");
            assert!(
                c["reason"].as_str().unwrap().contains(want),
                "{fault} {id}: `{}` lacks `{want}`",
                c["reason"]
            );
            assert!(
                c["fix"].as_str().is_some_and(|f| !f.is_empty()),
                "{fault} {id}: no fix"
            );
        }
    }
}

#[test]
fn wrong_keys_are_told_apart() {
    let fake = fake("none");
    let moto_auth = moto(true);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let cases = [
        (
            "HONEYCOMB_API_KEY",
            "not-a-real-key-0000000000",
            "honeycomb.key",
            "fail",
            "Honeycomb does not know this key",
        ),
        (
            "HONEYCOMB_API_KEY",
            "test-classic-key-00000001",
            "honeycomb.key",
            "warn",
            "a classic key",
        ),
        (
            "HONEYCOMB_API_KEY",
            "test-config-key-000000001",
            "honeycomb.key",
            "fail",
            "lacks the Send Events permission",
        ),
        (
            "ROLLBAR_ACCESS_TOKEN",
            "test-rollbar-read-token",
            "rollbar.token",
            "fail",
            "cannot post server items",
        ),
        (
            "ROLLBAR_ACCESS_TOKEN",
            "0000000000000000000000000000dead",
            "rollbar.token",
            "fail",
            "Rollbar does not know this token",
        ),
    ];
    for (var, value, id, status, reason) in cases {
        let mut env = good_env(fake.port, moto_auth.port);
        env.retain(|(k, _)| *k != var);
        env.push((var, value.to_string()));
        let o = doctor(dir.path(), &["--only", id, "--json"], &env);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let c = check(&v, id);
        assert_eq!(c["status"], status, "{value}: {c}");
        assert!(
            c["reason"].as_str().unwrap().contains(reason),
            "{value}: {c}"
        );
        assert!(
            !o.stdout.windows(value.len()).any(|w| w == value.as_bytes()),
            "the secret was printed"
        );
    }
    // moto in IAM mode refuses keys it does not know, as AWS does.
    let o = doctor(
        dir.path(),
        &["--only", "services.aws", "--json"],
        &good_env(fake.port, moto_auth.port),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = check(&v, "services.aws");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("AWS STS rejected the key"),
        "{c}"
    );
    assert!(
        c["fix"].as_str().unwrap().contains("AWS_ACCESS_KEY_ID"),
        "{c}"
    );
}

#[test]
fn literal_keys_and_tracked_env_are_found() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let d = dir.path();
    run_ok(d, &["apply", "--yes"], 0);
    // Key shapes built at run time, so this file holds none.
    let aws_key = format!("AKIA{}", "Q".repeat(16));
    let rollbar = "ab".repeat(16);
    let compose = d.join("docker-compose.yml");
    let text = fs::read_to_string(&compose).unwrap();
    fs::write(
        &compose,
        text.replace("\"${ROLLBAR_ACCESS_TOKEN}\"", &format!("\"{rollbar}\"")),
    )
    .unwrap();
    fs::write(
        d.join("backend-flask/settings.py"),
        format!("KEY = \"{aws_key}\"\n"),
    )
    .unwrap();
    fs::write(d.join(".env"), "HONEYCOMB_API_KEY=x\n").unwrap();
    for args in [
        &["init", "-q", "."][..],
        &["add", "-A"],
        &[
            "-c",
            "user.email=t@e.x",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "x",
        ],
    ] {
        assert!(Command::new("git")
            .current_dir(d)
            .args(args)
            .status()
            .unwrap()
            .success());
    }
    let o = doctor(
        d,
        &[
            "--only",
            "secrets.literals,secrets.dotenv,project.compose",
            "--json",
        ],
        &[],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        !out.contains(&aws_key) && !out.contains(&rollbar),
        "a key was printed:\n{out}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let lit = check(&v, "secrets.literals")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        lit.contains("an AWS access key id in backend-flask/settings.py:1"),
        "{lit}"
    );
    assert!(
        lit.contains("a Rollbar token in docker-compose.yml"),
        "{lit}"
    );
    assert!(check(&v, "secrets.dotenv")["reason"]
        .as_str()
        .unwrap()
        .contains(".env is tracked by git"));
    assert!(check(&v, "project.compose")["reason"]
        .as_str()
        .unwrap()
        .contains("ROLLBAR_ACCESS_TOKEN written literally"));
}

#[test]
fn gitpod_trap_is_named() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    // A `gp` of our own that lists the key, as `gp env` does after `gp env NAME=value`.
    let bin = tempfile::tempdir().unwrap();
    let gp = bin.path().join("gp");
    fs::write(
        &gp,
        "#!/bin/sh\n[ \"$1\" = env ] && echo 'HONEYCOMB_API_KEY=stored-in-gitpod-0001'\n",
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut fs::metadata(&gp).unwrap().permissions(),
        0o755,
    );
    fs::set_permissions(&gp, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let o = doctor(
        dir.path(),
        &["--only", "honeycomb.secret,tools.workspace", "--json"],
        &[("GITPOD_WORKSPACE_ID", "ws-1".into()), ("PATH", path)],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = check(&v, "honeycomb.secret");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("set with `gp env` but is not in this shell"),
        "{c}"
    );
    assert!(
        c["fix"].as_str().unwrap().contains("eval \"$(gp env -e)\""),
        "{c}"
    );
    assert_eq!(check(&v, "tools.workspace")["status"], "ok");
}

#[test]
fn the_bootcamps_hand_made_week2_is_diagnosed() {
    let p = project("week2-template");
    let d = p.path();
    let o = doctor(
        d,
        &["--only", "project,rollbar.code,xray.daemon", "--json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let flask = check(&v, "project.flask");
    assert_eq!(flask["status"], "fail");
    assert!(
        flask["reason"]
            .as_str()
            .unwrap()
            .contains("before_first_request"),
        "{flask}"
    );
    assert!(check(&v, "xray.daemon")["reason"]
        .as_str()
        .unwrap()
        .contains("not published as UDP"));
    let compose = check(&v, "project.compose");
    assert_eq!(compose["status"], "fail", "{compose}");
    let reason = compose["reason"].as_str().unwrap();
    assert!(
        reason.contains("lacks AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, ROLLBAR_ENDPOINT"),
        "{compose}"
    );
    let otlp = check(&v, "honeycomb.env");
    assert_eq!(otlp["status"], "warn", "{otlp}");
    assert!(
        otlp["reason"]
            .as_str()
            .unwrap()
            .contains("HONEYCOMB_SERVICE_NAME"),
        "{otlp}"
    );
    assert!(check(&v, "rollbar.code")["reason"]
        .as_str()
        .unwrap()
        .contains("Flask 2.3 removed"));

    // The OTLP endpoint with the path written in, from .env: the exporter doubles it.
    fs::write(
        d.join(".env"),
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://api.honeycomb.io/v1/traces\n",
    )
    .unwrap();
    let o = doctor(d, &["--only", "honeycomb.env", "--json"], &[]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = check(&v, "honeycomb.env");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("/v1/traces/v1/traces"),
        "{c}"
    );
    assert!(
        c["fix"].as_str().unwrap().contains("drop the /v1/traces"),
        "{c}"
    );
}
