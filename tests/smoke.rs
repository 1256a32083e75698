//! `o11y smoke` against moto server (X-Ray segments and traces, CloudWatch Logs), the X-Ray
//! stand-in for groups and sampling rules, and the Honeycomb and Rollbar stand-ins.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::smoke_result as result;
use common::*;
use serde_json::Value;

fn smoke(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    run_clean(dir, "smoke", args, env)
}

#[test]
fn every_service_gets_a_signal_and_a_link() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);

    let o = smoke(
        dir.path(),
        &["--json", "--timeout", "15"],
        &good_env(fake.port, aws),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let h = result(&v, "honeycomb");
    assert_eq!(h["status"], "accepted");
    assert!(
        h["link"]
            .as_str()
            .unwrap()
            .starts_with("https://ui.honeycomb.io/acme/environments/bootcamp/trace?trace_id="),
        "{h}"
    );
    let x = result(&v, "xray");
    assert_eq!(x["status"], "verified", "{x}");
    let detail = x["detail"].as_str().unwrap();
    assert!(
        detail.contains("created group Cruddur") || detail.contains("group Cruddur is there"),
        "{detail}"
    );
    assert!(
        x["link"].as_str().unwrap().contains("#xray:traces/1-"),
        "{x}"
    );
    let l = result(&v, "cloudwatch");
    assert_eq!(l["status"], "verified", "{l}");
    assert!(
        l["link"]
            .as_str()
            .unwrap()
            .contains("log-groups/log-group/cruddur"),
        "{l}"
    );
    let r = result(&v, "rollbar");
    assert_eq!(r["status"], "accepted");
    assert!(
        r["link"]
            .as_str()
            .unwrap()
            .starts_with("https://rollbar.com/occurrence/uuid/?uuid="),
        "{r}"
    );
    assert!(
        !out.contains("test-env-ingest-key-000001")
            && !out.contains("test-rollbar-post-server-token"),
        "a secret was printed"
    );

    // A second run finds the group and rule already there: still fine.
    let o = smoke(
        dir.path(),
        &["--json", "--only", "xray"],
        &good_env(fake.port, aws),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{v}");
    let detail = result(&v, "xray")["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("group Cruddur is there")
            && detail.contains("sampling rule Cruddur is there"),
        "{detail}"
    );

    // doctor agrees that the group and rule are there.
    let o = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .envs(good_env(fake.port, aws))
        .args(["doctor", "--only", "xray.resources", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["checks"][0]["status"], "ok", "{v}");
}

#[test]
fn a_failing_service_is_named_and_the_rest_still_run() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let mut e = good_env(fake.port, aws);
    e.retain(|(k, _)| *k != "ROLLBAR_ACCESS_TOKEN");
    e.push(("ROLLBAR_ACCESS_TOKEN", "test-rollbar-read-token".into()));
    let o = smoke(dir.path(), &["--only", "rollbar,cloudwatch"], &e);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("✖ Rollbar"), "{out}");
    assert!(out.contains("cannot post server items"), "{out}");
    assert!(
        out.contains("fix: use the project's `post_server_item` token"),
        "{out}"
    );
    assert!(out.contains("✔ CloudWatch Logs  verified"), "{out}");
}
