//! What the real services answer, and o11y's judgment of it: Honeycomb keys by their
//! permissions, Rollbar tokens proven and their refusals told apart, the xray-daemon's
//! arguments, X-Ray's processing delay and paged rules, a wrong AWS secret, the keys `init`
//! stored seen by every later command, and the reloader warning where it applies.
//! AWS is moto behind the X-Ray stand-in; Honeycomb and Rollbar are the documented stand-ins.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::smoke_result as result;
use common::*;
use serde_json::Value;

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}), exit {}\nstdout:\n{}\nstderr:\n{}",
            code(o),
            stdout(o),
            stderr(o)
        )
    })
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {v}"))
}

fn with(
    mut env: Vec<(&'static str, String)>,
    var: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    env.retain(|(k, _)| *k != var);
    env.push((var, value.to_string()));
    env
}

fn applied_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    dir
}

fn doctor_check(dir: &Path, id: &str, env: &[(&str, String)]) -> Value {
    let o = run_clean(dir, "doctor", &["--only", id, "--json"], env);
    check(&json(&o), id).clone()
}

#[test]
fn honeycomb_keys_are_judged_by_their_permissions_not_their_type() {
    let fake = fake("none");
    let dir = applied_example();
    let cases = [
        // A classic key says "configuration" and may send: a warning about its dataset.
        ("test-classic-key-00000001", "warn", "a classic key"),
        // A configuration key with Send Events sends like an ingest key.
        ("test-config-send-key-0001", "ok", "configuration key"),
        (
            "test-config-key-000000001",
            "fail",
            "lacks the Send Events permission",
        ),
        (
            "test-ingest-nocreate-key-1",
            "warn",
            "cannot create datasets",
        ),
        ("test-env-ingest-key-000001", "ok", "ingest key"),
    ];
    for (key, status, reason) in cases {
        let env = with(good_env(fake.port, 1), "HONEYCOMB_API_KEY", key);
        let c = doctor_check(dir.path(), "honeycomb.key", &env);
        assert_eq!(c["status"], status, "{key}: {c}");
        assert!(c["reason"].as_str().unwrap().contains(reason), "{key}: {c}");
        if status == "warn" {
            assert!(
                c["fix"].as_str().unwrap().contains("backend-flask"),
                "{key}: {c}"
            );
        }
    }
    // init takes the keys that can send, and refuses the one that cannot.
    for (key, exit) in [
        ("test-classic-key-00000001", 0),
        ("test-config-send-key-0001", 0),
        ("test-config-key-000000001", 2),
    ] {
        let dir = project("template");
        let env = with(good_env(fake.port, 1), "HONEYCOMB_API_KEY", key);
        let o = run_clean(
            dir.path(),
            "init",
            &[
                "--yes",
                "--only",
                "honeycomb",
                "--no-smoke",
                "--store",
                "dotenv",
            ],
            &env,
        );
        assert_eq!(code(&o), exit, "{key}\n{}", stderr(&o));
    }
}

#[test]
fn a_classic_key_sends_to_the_projects_own_service() {
    let fake = fake("none");
    let dir = project("service-name-other");
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let env = with(
        good_env(fake.port, 1),
        "HONEYCOMB_API_KEY",
        "test-classic-key-00000001",
    );
    let o = run_clean(
        dir.path(),
        "smoke",
        &["--only", "honeycomb", "--json"],
        &env,
    );
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let h = result(&json(&o), "honeycomb").clone();
    assert!(
        h["link"]
            .as_str()
            .unwrap()
            .contains("/acme/datasets/api/trace?trace_id="),
        "{h}"
    );
    let c = doctor_check(dir.path(), "honeycomb.key", &env);
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("x-honeycomb-dataset=api"),
        "{c}"
    );
    assert!(!c["fix"].as_str().unwrap().contains("backend-flask"), "{c}");
}

#[test]
fn rollbar_tokens_are_proven_and_each_refusal_is_named() {
    let fake = fake("none");
    let dir = applied_example();
    let cases = [
        (
            "test-rollbar-post-server-token",
            "ok",
            "it can post server items",
        ),
        (
            "0000000000000000000000000000dead",
            "fail",
            "does not know this token",
        ),
        ("test-rollbar-disabled-token", "fail", "it is disabled"),
        (
            "test-rollbar-read-token",
            "fail",
            "cannot post server items",
        ),
        (
            "test-rollbar-client-token",
            "fail",
            "cannot post server items",
        ),
    ];
    for (token, status, reason) in cases {
        let env = with(good_env(fake.port, 1), "ROLLBAR_ACCESS_TOKEN", token);
        let o = run_clean(
            dir.path(),
            "doctor",
            &["--only", "rollbar.token", "--json"],
            &env,
        );
        let c = check(&json(&o), "rollbar.token").clone();
        assert_eq!(c["status"], status, "{token}: {c}");
        assert!(
            c["reason"].as_str().unwrap().contains(reason),
            "{token}: {c}"
        );
        // Rollbar quotes an unknown token in its message: o11y never shows it.
        assert!(!stdout(&o).contains(token), "the token was printed: {c}");
    }
    // The good token was proven by one real item, of level debug and titled as the README says.
    let items: Value =
        serde_json::from_str(&http_get(fake.port, "/_standin/rollbar-items")).unwrap();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["level"], "debug");
    assert_eq!(items[0]["title"], "o11y token check");

    // smoke names the refusal the same way.
    let env = with(
        good_env(fake.port, 1),
        "ROLLBAR_ACCESS_TOKEN",
        "test-rollbar-disabled-token",
    );
    let o = run_clean(dir.path(), "smoke", &["--only", "rollbar", "--json"], &env);
    assert_eq!(code(&o), 2);
    let r = result(&json(&o), "rollbar").clone();
    assert!(
        r["detail"].as_str().unwrap().contains("it is disabled"),
        "{r}"
    );
}

#[test]
fn the_xray_daemon_gets_its_flags_as_separate_arguments() {
    let dir = applied_example();
    let compose = fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains("    command:\n      - \"-o\"\n"),
        "{compose}"
    );
    assert!(!compose.contains("xray -o"), "{compose}");
    let c = doctor_check(dir.path(), "xray.daemon", &[]);
    assert_eq!(c["status"], "ok", "{c}");

    // The one-string form the bootcamp wrote by hand, as a list item and as a plain string.
    for old in [
        "    command:\n      - \"xray -o -b xray-daemon:2000\"\n",
        "    command: xray -o -b xray-daemon:2000\n",
        "    command: [\"xray -o -b xray-daemon:2000\"]\n",
    ] {
        let text = compose.replace("    command:\n      - \"-o\"\n", old);
        fs::write(dir.path().join("docker-compose.yml"), &text).unwrap();
        let c = doctor_check(dir.path(), "xray.daemon", &[]);
        assert_eq!(c["status"], "warn", "{old}: {c}");
        assert!(
            c["reason"].as_str().unwrap().contains("is one string"),
            "{c}"
        );
        assert!(
            c["fix"].as_str().unwrap().contains("command: [\"-o\"]"),
            "{c}"
        );
    }
}

#[test]
fn xray_read_back_waits_for_processing_and_says_when_it_gave_up() {
    let fake = fake("none");
    let moto = moto(false);
    let dir = applied_example();
    // Traces become readable 2 s after they were put: the read-back polls until then.
    let slow = xray_standin_with(moto.port, &["--delay", "2"]);
    let o = run_clean(
        dir.path(),
        "smoke",
        &["--only", "xray", "--json"],
        &good_env(fake.port, slow.port),
    );
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let x = result(&json(&o), "xray").clone();
    assert_eq!(x["status"], "verified", "{x}");

    // Past the bound (`--timeout`), the segment is reported accepted, with its link.
    let slower = xray_standin_with(moto.port, &["--delay", "600"]);
    let o = run_clean(
        dir.path(),
        "smoke",
        &["--only", "xray", "--json", "--timeout", "2"],
        &good_env(fake.port, slower.port),
    );
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let x = result(&json(&o), "xray").clone();
    assert_eq!(x["status"], "accepted", "{x}");
    assert!(
        x["detail"].as_str().unwrap().contains("not readable yet"),
        "{x}"
    );
    assert!(
        x["link"].as_str().unwrap().contains("#xray:traces/1-"),
        "{x}"
    );
}

#[test]
fn sampling_rules_are_read_on_every_page() {
    let fake = fake("none");
    let moto = moto(false);
    // One rule a page: AWS's own "Default" rule comes first, Cruddur on the second page.
    let paged = xray_standin_with(moto.port, &["--page-size", "1"]);
    let dir = applied_example();
    let env = good_env(fake.port, paged.port);
    let o = run_clean(dir.path(), "smoke", &["--only", "xray", "--json"], &env);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let c = doctor_check(dir.path(), "xray.resources", &env);
    assert_eq!(c["status"], "ok", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("sampling rule Cruddur is there"),
        "{c}"
    );
}

#[test]
fn a_wrong_aws_secret_is_named_as_wrong_keys() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = applied_example();
    let env = with(
        good_env(fake.port, aws),
        "AWS_SECRET_ACCESS_KEY",
        "not-the-secret",
    );
    let c = doctor_check(dir.path(), "xray.resources", &env);
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["reason"].as_str().unwrap().contains("rejected the key"),
        "{c}"
    );
    assert!(
        c["fix"].as_str().unwrap().contains("AWS_SECRET_ACCESS_KEY"),
        "{c}"
    );
    let o = run_clean(
        dir.path(),
        "smoke",
        &["--only", "cloudwatch", "--json"],
        &env,
    );
    let r = result(&json(&o), "cloudwatch").clone();
    assert_eq!(r["status"], "failed", "{r}");
    assert!(
        r["detail"].as_str().unwrap().contains("rejected the key"),
        "{r}"
    );
}

#[test]
fn keys_stored_by_init_serve_doctor_and_smoke_in_a_new_shell() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    let o = run_clean(
        dir.path(),
        "init",
        &["--yes", "--store", "dotenv"],
        &good_env(fake.port, aws),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A new shell: the endpoints of the test servers, and not one key.
    let bare: Vec<(&str, String)> = good_env(fake.port, aws)
        .into_iter()
        .filter(|(k, _)| k.starts_with("O11Y_") || *k == "AWS_ENDPOINT_URL")
        .collect();
    let o = run_clean(
        dir.path(),
        "doctor",
        &[
            "--only",
            "project,secrets,services,honeycomb,xray,cloudwatch,rollbar",
            "--json",
        ],
        &bare,
    );
    let v = json(&o);
    assert_eq!(code(&o), 0, "{v:#}");
    assert_eq!(check(&v, "services.aws")["status"], "ok", "{v:#}");
    let o = run_clean(dir.path(), "smoke", &["--json"], &bare);
    let v = json(&o);
    assert_eq!(code(&o), 0, "{v:#}");
    for (name, status) in [
        ("honeycomb", "accepted"),
        ("xray", "verified"),
        ("cloudwatch", "verified"),
        ("rollbar", "accepted"),
    ] {
        assert_eq!(result(&v, name)["status"], status, "{name}: {v:#}");
    }
    // A profile the user chose wins over .env: this one does not exist, and doctor says so
    // instead of quietly using the keys in .env.
    let mut chosen = bare.clone();
    chosen.push(("AWS_PROFILE", "o11y-test-no-such-profile".into()));
    let c = doctor_check(dir.path(), "services.aws", &chosen);
    assert_eq!(c["status"], "fail", "{c}");
}

#[test]
fn the_reloader_warning_is_for_zero_code_instrumentation_only() {
    let dir = applied_example();
    let compose_path = dir.path().join("docker-compose.yml");
    let compose = fs::read_to_string(&compose_path).unwrap();
    let debug = compose.replacen(
        "    environment:\n",
        "    environment:\n      FLASK_DEBUG: \"1\"\n",
        1,
    );
    assert_ne!(debug, compose);
    fs::write(&compose_path, &debug).unwrap();
    // In-code instrumentation, as o11y writes it, is run again by the reloader's child.
    let c = doctor_check(dir.path(), "project.flask", &[]);
    assert_eq!(c["status"], "ok", "{c}");
    // `opentelemetry-instrument` loses its instrumentation to the reloader.
    let dockerfile = dir.path().join("backend-flask/Dockerfile");
    let text = fs::read_to_string(&dockerfile).unwrap().replace(
        "CMD [ \"python3\", \"-m\" , \"flask\", \"run\"",
        "CMD [ \"opentelemetry-instrument\", \"python3\", \"-m\" , \"flask\", \"run\"",
    );
    assert!(text.contains("opentelemetry-instrument"));
    fs::write(&dockerfile, text).unwrap();
    let c = doctor_check(dir.path(), "project.flask", &[]);
    assert_eq!(c["status"], "warn", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("opentelemetry-instrument"),
        "{c}"
    );
}
