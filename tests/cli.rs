//! What the command line says for help and for wrong input: snapshots of stdout, stderr and the
//! exit code, so a change to any of them shows in review.

mod common;

use common::*;

fn shown(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(dir, args);
    snapshot_of(&o, |t| t.replace(&dir.display().to_string(), "[DIR]"))
}

#[test]
fn help() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("help", &["--help"][..]),
        ("init-help", &["init", "--help"]),
        ("doctor-help", &["doctor", "--help"]),
        ("smoke-help", &["smoke", "--help"]),
        ("apply-help", &["apply", "--help"]),
        ("listen-help", &["listen", "--help"]),
    ] {
        insta::assert_snapshot!(name, shown(dir.path(), args));
    }
}

#[test]
fn wrong_input() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("no-project", &["plan"][..]),
        ("unknown-integration", &["enable", "datadog"]),
        ("unknown-only", &["plan", "--only", "honeycomb,datadog"]),
        ("bad-timeout", &["doctor", "--timeout=0"]),
        ("unknown-command", &["deploy"]),
        ("unknown-receiver", &["listen", "--port", "sentry=9000"]),
        ("bad-port", &["listen", "--port", "otlp=99999"]),
        ("adopt-unknown", &["apply", "--adopt", "datadog"]),
    ] {
        insta::assert_snapshot!(name, shown(dir.path(), args));
    }
    let p = project("template");
    insta::assert_snapshot!(
        "unknown-check",
        shown(p.path(), &["doctor", "--only", "nosuch"])
    );
}
