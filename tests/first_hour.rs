//! A newcomer's first hour: every instruction o11y prints works as printed, every prompt shows
//! all it will change, and every run ends on a line that says what its exit code says.

mod common;

use std::fs;
use std::process::Command;

use common::*;

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}

#[test]
fn stacked_applies_are_undone_one_at_a_time_with_what_remains_said_or_all_at_once() {
    let dir = project("template");
    let before = tree(dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let applied = tree(dir.path());
    run_ok(dir.path(), &["apply", "--yes", "--local"], 0);
    let o = run_ok(dir.path(), &["undo"], 0);
    assert!(
        stderr(&o).contains("1 earlier apply remains: `o11y undo` again takes it back too, or `o11y undo --all` every one."),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(dir.path()), applied);
    run_ok(dir.path(), &["apply", "--yes", "--local"], 0);
    let o = run_ok(dir.path(), &["undo", "--all"], 0);
    assert_eq!(
        stderr(&o).matches("Undid the apply").count(),
        2,
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("remain"), "{}", stderr(&o));
    assert_eq!(tree(dir.path()), before);
    let o = run(dir.path(), &["undo", "--all"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nothing to undo"), "{}", stderr(&o));
}

#[test]
fn undo_names_the_files_it_leaves_and_why() {
    let dir = project("template");
    // What `o11y init` leaves outside any apply: the keys in .env, and .env in .gitignore.
    fs::write(
        dir.path().join(".env"),
        "HONEYCOMB_API_KEY=test-env-ingest-key-000001\n",
    )
    .unwrap();
    fs::write(dir.path().join(".gitignore"), "node_modules\n.env\n").unwrap();
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let o = run_ok(dir.path(), &["undo"], 0);
    let err = stderr(&o);
    assert!(err.contains("kept .env: it holds keys"), "{err}");
    assert!(err.contains("kept .gitignore's `.env` line"), "{err}");
    assert!(dir.path().join(".env").is_file());
}

#[test]
fn without_a_terminal_apply_shows_every_file_and_asks_for_yes() {
    let dir = project("template");
    let before = tree(dir.path());
    let o = run(dir.path(), &["apply", "--local"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    for line in [
        "change backend-flask/app.py",
        "create .env  (local mode's block; values not shown)",
        "create .gitignore  (adds .env)",
    ] {
        assert!(err.contains(line), "missing `{line}`:\n{err}");
    }
    assert!(
        err.contains("there is no terminal here to confirm"),
        "{err}"
    );
    assert!(err.contains("pass --yes"), "{err}");
    assert!(!err.contains("answer yes at the prompt"), "{err}");
    assert_eq!(tree(dir.path()), before);
    // With --yes, the list of what changed names them too.
    let o = run_ok(dir.path(), &["apply", "--local", "--yes"], 0);
    let err = stderr(&o);
    assert!(err.contains("create .env  (local mode's block"), "{err}");
    assert!(err.contains("Changed 12 file(s)"), "{err}");
}

#[test]
fn init_lists_its_changes_at_step_five_and_ends_on_a_line_that_matches_its_exit_code() {
    // Keys stored unchecked, then every test signal refused: init must not say it is done.
    let fake = fake("500");
    let aws = shared_aws();
    let dir = project("template");
    let home = tempfile::tempdir().unwrap();
    let o = clean_command(
        dir.path(),
        home.path(),
        "init",
        &["--yes", "--no-verify", "--only", "honeycomb,rollbar"],
        &good_env(fake.port, aws),
    )
    .stdin(std::process::Stdio::null())
    .output()
    .unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    assert!(last.starts_with("✖ o11y init stored the keys and changed the files, but not every test signal got through"), "{err}");
    assert!(!err.contains("o11y init is done"), "{err}");
    let five = err.find("5. The changes to your files:").expect("step 5");
    let six = err.find("6. Storing").expect("step 6");
    let seven = err.find("7. Changing the files:").expect("step 7");
    let eight = err.find("8. Sending a test signal").expect("step 8");
    assert!(five < six && six < seven && seven < eight, "{err}");
    // Neither of these creates anything in its service.
    assert!(
        err.contains("8. Sending a test signal to each service:\n"),
        "{err}"
    );
    assert!(
        err[five..six].contains("change backend-flask/app.py"),
        "{err}"
    );
    assert!(err[seven..eight].contains("Changed "), "{err}");
}

#[test]
fn doctor_only_takes_groups_as_the_screen_shows_them_and_never_calls_nothing_a_success() {
    let dir = project("template");
    let all = json(&run_clean(dir.path(), "doctor", &["--json"], &[]));
    for group in ["services", "secrets", "project"] {
        let want: Vec<&str> = all["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["group"] == group)
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        let got = json(&run_clean(
            dir.path(),
            "doctor",
            &["--only", group, "--json"],
            &[],
        ));
        let ids: Vec<&str> = got["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, want, "--only {group}");
        assert!(want.len() > 1, "{group}: {want:?}");
    }
    // Nothing to check (no keys, no region): every service check skips, and no success is said.
    let o = run_clean(dir.path(), "doctor", &["--only", "services"], &[]);
    let first = stdout(&o).lines().next().unwrap_or_default().to_string();
    assert!(first.contains("no check ran"), "{}", stdout(&o));
    assert!(!first.contains("passed"), "{first}");
}

#[test]
fn doctor_names_every_missing_aws_setting_at_once_and_the_local_dummy_as_such() {
    let dir = project("template");
    let r = json(&run_clean(
        dir.path(),
        "doctor",
        &["--only", "secrets.aws", "--json"],
        &[],
    ));
    let reason = r["checks"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("no AWS region and no AWS credentials"),
        "{reason}"
    );
    let fix = r["checks"][0]["fix"].as_str().unwrap();
    assert!(
        fix.contains("AWS_DEFAULT_REGION") && fix.contains("AWS_ACCESS_KEY_ID"),
        "{fix}"
    );
    // In local mode the dummy key is named as the dummy, not by its last four letters.
    run_ok(dir.path(), &["apply", "--yes", "--local"], 0);
    let r = json(&run_clean(
        dir.path(),
        "doctor",
        &["--only", "secrets", "--json"],
        &[],
    ));
    let text = r.to_string();
    assert!(
        text.contains("ROLLBAR_ACCESS_TOKEN is set (in .env) to local mode's dummy value"),
        "{text}"
    );
    assert!(text.contains("local mode's dummy access key"), "{text}");
    assert!(!text.contains("ending in ocal"), "{text}");
    // Not a git repository: the key scan says it read every file.
    assert!(text.contains("not a git repository"), "{text}");
}

#[test]
fn a_wrong_o11y_project_is_named_as_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .current_dir(dir.path())
        .env("O11Y_PROJECT", dir.path().join("gone"))
        .args(["--color", "never", "plan"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("the folder comes from O11Y_PROJECT"), "{err}");
    assert!(err.contains("unset O11Y_PROJECT"), "{err}");
}
