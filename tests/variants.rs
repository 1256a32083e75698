//! Every project variant through the whole cycle: plan (snapshot), apply, apply again (no
//! change), the patched files valid for docker-compose and Python, disable + enable of each
//! integration (same as apply), and undo back to the original bytes.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

/// The compose file o11y took for the project, as its project line names it.
fn compose_file(dir: &Path) -> String {
    let o = run(dir, &["plan"]);
    let err = stderr(&o);
    let at = err
        .find("(compose file ")
        .unwrap_or_else(|| panic!("no project line in:\n{err}"))
        + "(compose file ".len();
    err[at..].split(',').next().unwrap().to_string()
}

fn check_compose(dir: &Path) {
    if !require("docker-compose") {
        return;
    }
    // Env files a project generates (and git-ignores) exist in a real checkout; empty ones
    // stand in for them in a copy.
    let copy = tempfile::tempdir().unwrap();
    for (path, bytes) in tree(dir) {
        let to = copy.path().join(&path);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::write(to, bytes).unwrap();
    }
    let text = fs::read_to_string(dir.join(compose_file(dir))).unwrap();
    for line in text.lines() {
        let item = line.trim().trim_start_matches("- ").trim_matches('"');
        if item.ends_with(".env") && !item.contains(' ') && !copy.path().join(item).exists() {
            fs::write(copy.path().join(item), "").unwrap();
        }
    }
    // Variables the project's own .env would set (`${FLASK_HOST_PORT}:5000`) get a stand-in.
    let vars: Vec<String> = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
        .unwrap()
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect();
    let dir = copy.path();
    let o = Command::new("docker-compose")
        .current_dir(dir)
        .envs(vars.iter().map(|v| (v.as_str(), "1")))
        .arg("-f")
        .arg(compose_file(dir))
        .args(["config", "-q"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "docker-compose config rejects the patched file:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn check_python(dir: &Path) {
    let cache = tempfile::tempdir().unwrap();
    for (path, _) in tree(dir).iter().filter(|(p, _)| p.ends_with(".py")) {
        let o = Command::new("python3")
            .env("PYTHONPYCACHEPREFIX", cache.path())
            .args(["-m", "py_compile"])
            .arg(dir.join(path))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{path} does not compile:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

fn cycle(name: &str) {
    let dir = project(name);
    let d = dir.path();
    let original = tree(d);

    let plan = run_ok(d, &["plan"], 1);
    let shown = snapshot_of(&plan, |t| t.replace(&d.display().to_string(), "[PROJECT]"));
    insta::assert_snapshot!(format!("{name}-plan"), shown);
    assert_eq!(tree(d), original, "plan wrote something");

    run_ok(d, &["apply", "--yes"], 0);
    let applied = tree(d);
    assert_ne!(applied, original);
    run_ok(d, &["plan"], 0);
    run_ok(d, &["apply", "--yes"], 0);
    assert_eq!(tree(d), applied, "a second apply changed something");
    check_compose(d);
    check_python(d);

    run_ok(d, &["undo"], 0);
    assert_eq!(tree(d), original, "undo did not restore the original bytes");

    run_ok(d, &["apply", "--yes"], 0);
    assert_eq!(tree(d), applied);
    let mut applied = applied;
    let mut steps = 1;
    for i in ["honeycomb", "xray", "cloudwatch", "rollbar"] {
        if stderr(&plan).contains(&format!("`o11y enable {i}` turns it back on")) {
            // Switched off by hand: left off by apply; `enable` adds o11y's setup, `disable`
            // takes exactly that out again.
            run_ok(d, &["enable", i, "--yes"], 0);
            let on = tree(d);
            assert!(
                on.values()
                    .any(|t| String::from_utf8_lossy(t).contains(&format!("# >>> o11y:{i}:setup"))),
                "enable {i} added no setup"
            );
            check_python(d);
            check_compose(d);
            run_ok(d, &["apply", "--yes"], 0);
            assert_eq!(tree(d), on, "apply after enable {i} changed something");
            run_ok(d, &["disable", i, "--yes"], 0);
            // Files an integration creates (X-Ray's sampling rule) stay, as after any disable.
            let after = tree(d);
            let differ: Vec<&String> = after
                .keys()
                .chain(applied.keys())
                .filter(|k| after.get(*k) != applied.get(*k))
                .filter(|k| k.as_str() != "aws/json/xray.json")
                .collect();
            assert!(differ.is_empty(), "enable + disable {i} changed {differ:?}");
            applied = after;
            steps += 2;
            continue;
        }
        run_ok(d, &["disable", i, "--yes"], 0);
        let off = tree(d);
        check_python(d);
        check_compose(d);
        run_ok(d, &["enable", i, "--yes"], 0);
        assert_eq!(tree(d), applied, "disable + enable {i} differs from apply");
        // A no-op disable (done-by-hand integrations) writes nothing and leaves no backup.
        steps += if off == applied { 0 } else { 2 };
    }
    for _ in 0..steps {
        run_ok(d, &["undo"], 0);
    }
    assert_eq!(
        tree(d),
        original,
        "undoing every step did not restore the original"
    );
    let o = run_ok(d, &["undo"], 2);
    assert!(stderr(&o).contains("nothing to undo"), "{}", stderr(&o));
}

macro_rules! variants {
    ($($test:ident => $dir:literal),* $(,)?) => {
        $( #[test] fn $test() { cycle($dir); } )*

        #[test]
        fn every_fixture_has_a_test() {
            let listed = [$($dir),*];
            for entry in fs::read_dir(repo().join("tests/fixtures/projects")).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().to_string();
                // Tested on its own: o11y refuses it.
                if name == "legacy-v1" {
                    continue;
                }
                assert!(listed.contains(&name.as_str()), "fixture {name} has no test");
            }
        }
    };
}

variants! {
    anchors => "anchors",
    app_factory => "app-factory",
    build_context_map => "build-context-map",
    codespaces => "codespaces",
    comments_everywhere => "comments-everywhere",
    compose_yaml => "compose-yaml",
    crlf => "crlf",
    four_space => "four-space",
    gitpod_with_ports => "gitpod-with-ports",
    honeycomb_by_hand => "honeycomb-by-hand",
    list_env => "list-env",
    main_guard => "main-guard",
    no_environment => "no-environment",
    no_final_newline => "no-final-newline",
    pinned_requirements => "pinned-requirements",
    requirements_options => "requirements-options",
    service_name_other => "service-name-other",
    template => "template",
    week2_template => "week2-template",
    xray_commented_out => "xray-commented-out",
    grown_week10 => "grown-week10",
    leftover_import => "leftover-import",
    switched_off => "switched-off",
    helper_call_commented => "helper-call-commented",
    helper_imported_by_routes => "helper-imported-by-routes",
    rollbar_never_called => "rollbar-never-called",
    other_compose_name => "other-compose-name",
    app_elsewhere => "app-elsewhere",
    several_services => "several-services",
    helper_never_imported => "helper-never-imported",
    server_py => "server-py",
    gunicorn_module => "gunicorn-module",
    package_factory => "package-factory",
    merge_keys => "merge-keys",
    return_in_with => "return-in-with",
    literal_endpoint => "literal-endpoint",
    old_flask => "old-flask",
}

/// The legacy v1 compose format is named as such, with what to do, and nothing is written.
#[test]
fn legacy_v1_compose_is_named() {
    let dir = project("legacy-v1");
    let before = tree(dir.path());
    let o = run_ok(dir.path(), &["plan"], 2);
    let err = stderr(&o);
    assert!(err.contains("legacy version-1 compose format"), "{err}");
    assert!(err.contains("under a top-level `services:` key"), "{err}");
    assert!(!err.contains("line 1"), "{err}");
    assert_eq!(tree(dir.path()), before);
}
