//! Bad input: a clear error naming the file (and line), exit 2, and not one byte changed.

mod common;

use std::fs;

use common::*;

fn assert_refused(dir: &std::path::Path, args: &[&str], needles: &[&str]) -> String {
    let before = tree(dir);
    let o = run(dir, args);
    let err = stderr(&o);
    assert_eq!(
        code(&o),
        2,
        "expected exit 2 for {args:?}, got {}:\n{err}",
        code(&o)
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks `{n}`:\n{err}");
    }
    assert!(err.contains("hint:"), "no hint in:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(tree(dir), before, "files changed after an error");
    assert!(
        !dir.join(".o11y").exists(),
        "a backup folder was made for nothing"
    );
    err
}

#[test]
fn unparseable_yaml_names_file_and_line() {
    let p = project("template");
    let f = p.path().join("docker-compose.yml");
    let text = fs::read_to_string(&f).unwrap();
    fs::write(
        &f,
        text.replacen(
            "    build: ./backend-flask",
            "    build: [./backend-flask\n  oops: {",
            1,
        ),
    )
    .unwrap();
    for args in [&["plan"][..], &["apply", "--yes"]] {
        assert_refused(p.path(), args, &["docker-compose.yml", "line "]);
    }
}

#[test]
fn binary_app_py_is_refused() {
    let p = project("template");
    fs::write(
        p.path().join("backend-flask/app.py"),
        b"\x7fELF\x02\x01\x01\0\0\0\xff\xfe",
    )
    .unwrap();
    assert_refused(
        p.path(),
        &["apply", "--yes"],
        &["backend-flask/app.py", "not UTF-8"],
    );
}

#[test]
fn nul_bytes_in_requirements_are_refused() {
    let p = project("template");
    fs::write(
        p.path().join("backend-flask/requirements.txt"),
        "flask\n\0\0\0\n",
    )
    .unwrap();
    assert_refused(
        p.path(),
        &["apply", "--yes"],
        &["requirements.txt", "line 2"],
    );
}

#[test]
fn unreadable_file_is_refused() {
    let p = project("template");
    let f = p.path().join("backend-flask/requirements.txt");
    fs::remove_file(&f).unwrap();
    // A folder where a file should be cannot be read, even by root.
    fs::create_dir(&f).unwrap();
    assert_refused(
        p.path(),
        &["apply", "--yes"],
        &["backend-flask/requirements.txt", "cannot read"],
    );
}

#[test]
fn python_syntax_error_names_line() {
    let p = project("template");
    let f = p.path().join("backend-flask/services/home_activities.py");
    let text = fs::read_to_string(&f).unwrap();
    fs::write(&f, format!("{text}\ndef broken(:\n")).unwrap();
    let line = text.lines().count() + 2;
    assert_refused(
        p.path(),
        &["apply", "--yes"],
        &[
            "services/home_activities.py",
            &format!("line {line}"),
            "not valid Python",
        ],
    );
}

#[test]
fn bad_requirement_line_is_named() {
    let p = project("template");
    fs::write(
        p.path().join("backend-flask/requirements.txt"),
        "flask\nflask-cors ==== 1\n",
    )
    .unwrap();
    assert_refused(p.path(), &["plan"], &["requirements.txt, line 2"]);
}

#[test]
fn missing_backend_service_lists_services() {
    let p = project("template");
    fs::write(
        p.path().join("docker-compose.yml"),
        "services:\n  db:\n    image: postgres:13-alpine\n  web:\n    build: ./frontend-react-js\n",
    )
    .unwrap();
    assert_refused(
        p.path(),
        &["apply", "--yes"],
        &[
            "db (image only)",
            "web (build ./frontend-react-js)",
            "--service",
        ],
    );
}

#[test]
fn unknown_service_flag_lists_services() {
    let p = project("template");
    assert_refused(
        p.path(),
        &["--service", "api", "plan"],
        &["no service `api`", "backend-flask (build ./backend-flask)"],
    );
}

#[test]
fn two_flask_services_need_a_choice() {
    let p = project("service-name-other");
    let d = p.path();
    copy_dir(&d.join("backend-flask"), &d.join("backend-two"));
    let f = d.join("docker-compose.yml");
    let text = fs::read_to_string(&f).unwrap();
    fs::write(
        &f,
        text.replacen(
            "services:\n",
            "services:\n  api2:\n    build: ./backend-two\n",
            1,
        ),
    )
    .unwrap();
    assert_refused(d, &["plan"], &["several services", "api2, api"]);
    // Naming one works.
    run_ok(d, &["--service", "api2", "plan"], 1);
}

#[test]
fn no_compose_file_says_where_it_looked() {
    let d = tempfile::tempdir().unwrap();
    let err = assert_refused(
        d.path(),
        &["plan"],
        &["no compose file found", "docker-compose.yml"],
    );
    assert!(err.contains(&d.path().display().to_string()));
}

#[test]
fn broken_o11y_marker_is_refused() {
    let p = project("template");
    run_ok(p.path(), &["apply", "--yes"], 0);
    fs::remove_dir_all(p.path().join(".o11y")).unwrap();
    let f = p.path().join("backend-flask/app.py");
    let text = fs::read_to_string(&f).unwrap();
    fs::write(&f, text.replacen("# <<< o11y:xray:setup\n", "", 1)).unwrap();
    assert_refused(
        p.path(),
        &["apply", "--yes"],
        &["backend-flask/app.py", "never ends"],
    );
}

#[test]
fn bad_o11y_toml_is_refused() {
    let p = project("template");
    fs::write(
        p.path().join("o11y.toml"),
        "service = \"backend-flask\"\nintegrations = [\"honeycomb\", \"newrelic\"]\n",
    )
    .unwrap();
    assert_refused(p.path(), &["plan"], &["o11y.toml, line 2", "newrelic"]);
}

#[test]
fn apply_without_yes_and_without_terminal_changes_nothing() {
    let p = project("template");
    assert_refused(
        p.path(),
        &["apply"],
        &["no terminal here to confirm", "--yes"],
    );
}

#[test]
fn undo_refuses_to_clobber_later_edits() {
    let p = project("template");
    run_ok(p.path(), &["apply", "--yes"], 0);
    let f = p.path().join("backend-flask/requirements.txt");
    let edited = format!("{}requests\n", fs::read_to_string(&f).unwrap());
    fs::write(&f, &edited).unwrap();
    let o = run_ok(p.path(), &["undo"], 2);
    assert!(
        stderr(&o).contains("requirements.txt changed since"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), edited);
    run_ok(p.path(), &["undo", "--force"], 0);
    assert_eq!(tree(p.path()), tree(&fixture("template")));
}

#[test]
fn unknown_integration_name_is_a_usage_error() {
    let p = project("template");
    let o = run(p.path(), &["disable", "datadog"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("datadog"));
    let o = run(p.path(), &["plan", "--only", "honeycomb,newrelic"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("possible values: honeycomb, xray, cloudwatch, rollbar"),
        "{}",
        stderr(&o)
    );
    // A valid list works (and is not taken for one value).
    let o = run(p.path(), &["plan", "--only", "honeycomb,rollbar"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("opentelemetry-api") && !stdout(&o).contains("watchtower"),
        "{}",
        stdout(&o)
    );
}
