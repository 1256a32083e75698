//! No half-applied project, ever: two o11y runs at once, a run killed half-way, a folder link
//! out of the project, special files, a full disk, and files in encodings pip and Python take.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

type Tree = BTreeMap<String, Vec<u8>>;

fn o11y(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("o11y"));
    c.arg("--project")
        .arg(dir)
        .arg("--color")
        .arg("never")
        .args(args)
        .env_remove("O11Y_PROJECT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs two commands at the same moment; both outputs, in the order given.
fn at_once(dir: &Path, a: &[&str], b: &[&str]) -> (Output, Output) {
    let first = o11y(dir, a).spawn().unwrap();
    let second = o11y(dir, b).spawn().unwrap();
    (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    )
}

/// The tree after `setup` then `a` then `b`, one after the other, on a fresh copy.
fn serial(fixture: &str, setup: &[&[&str]], a: &[&str], b: &[&str]) -> Tree {
    let dir = project(fixture);
    for s in setup {
        run_ok(dir.path(), s, 0);
    }
    run_ok(dir.path(), a, 0);
    run_ok(dir.path(), b, 0);
    tree(dir.path())
}

fn changed_files(a: &Tree, b: &Tree) -> Vec<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Two runs at once end as if one had run after the other (in either order), both succeed,
/// and neither loses the other's changes.
fn race(setup: &[&[&str]], a: &[&str], b: &[&str], rounds: usize) {
    let ab = serial("template", setup, a, b);
    let ba = serial("template", setup, b, a);
    for round in 0..rounds {
        let dir = project("template");
        for s in setup {
            run_ok(dir.path(), s, 0);
        }
        let (oa, ob) = at_once(dir.path(), a, b);
        for (o, args) in [(&oa, a), (&ob, b)] {
            assert_eq!(
                code(o),
                0,
                "round {round}: o11y {args:?} failed:\n{}{}",
                stdout(o),
                stderr(o)
            );
        }
        let got = tree(dir.path());
        assert!(
            got == ab || got == ba,
            "round {round}: {a:?} and {b:?} at once left a state neither order gives; files that differ from {a:?} then {b:?}: {:?}",
            changed_files(&got, &ab)
        );
    }
}

#[test]
fn two_applies_at_once_end_as_one_after_the_other() {
    race(
        &[],
        &["apply", "--yes", "--only", "honeycomb,xray"],
        &["apply", "--yes", "--only", "rollbar,cloudwatch"],
        6,
    );
}

#[test]
fn undo_and_disable_at_once_end_as_one_after_the_other() {
    race(
        &[&["apply", "--yes"], &["disable", "--yes", "xray"]],
        &["undo"],
        &["disable", "--yes", "rollbar"],
        6,
    );
}

#[test]
fn the_lock_is_the_project_folder_and_an_undo_does_not_release_it() {
    let dir = project("template");
    run_ok(dir.path(), &["apply", "--yes"], 0);
    // Another o11y holds the project.
    let held = fs::File::open(dir.path()).unwrap();
    held.lock().unwrap();
    let started = Instant::now();
    let o = o11y(dir.path(), &["undo"]).output().unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another o11y is changing this project"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    drop(held);
    run_ok(dir.path(), &["undo"], 0);
    assert!(!dir.path().join(".o11y").exists());
}

/// What an apply killed half-way leaves: the journal, the backup, some files new, some old.
fn interrupted(dir: &Path) -> (Tree, Tree) {
    let before = tree(dir);
    run_ok(dir, &["apply", "--yes"], 0);
    let applied = tree(dir);
    let backups = dir.join(".o11y/backups");
    let made = fs::read_dir(&backups)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let saved = tempfile::tempdir().unwrap();
    copy_dir(&made, saved.path());
    run_ok(dir, &["undo"], 0);
    let live = backups.join("0001-20990101T000000Z");
    copy_dir(saved.path(), &live);
    fs::rename(
        live.join("manifest.json"),
        live.join("manifest.pending.json"),
    )
    .unwrap();
    fs::write(
        dir.join(".o11y/journal.json"),
        r#"{"backup": "0001-20990101T000000Z"}"#,
    )
    .unwrap();
    // Half of the files were written when it died: compose and requirements, not app.py.
    for (rel, bytes) in &applied {
        if !rel.ends_with(".py") {
            let path = dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, bytes).unwrap();
        }
    }
    (before, applied)
}

#[test]
fn an_interrupted_apply_is_put_back_before_the_next_apply_plans() {
    let dir = project("template");
    let (_, applied) = interrupted(dir.path());
    let o = run_ok(dir.path(), &["apply", "--yes"], 0);
    assert!(stderr(&o).contains("was interrupted"), "{}", stderr(&o));
    assert_eq!(
        changed_files(&tree(dir.path()), &applied),
        Vec::<String>::new(),
        "{}",
        stdout(&o)
    );
    assert!(!dir.path().join(".o11y/journal.json").exists());
    // And the apply that follows is one that `undo` takes back whole.
    run_ok(dir.path(), &["undo"], 0);
    run_ok(dir.path(), &["plan"], 1);
}

#[test]
fn an_interrupted_apply_is_put_back_before_enable_disable_and_undo() {
    for args in [&["disable", "--yes", "rollbar"][..], &["undo"]] {
        let dir = project("template");
        let (before, _) = interrupted(dir.path());
        let o = run(dir.path(), args);
        assert!(
            stderr(&o).contains("was interrupted"),
            "{args:?}: {}",
            stderr(&o)
        );
        if args == ["undo"] {
            // The interrupted apply was the only one: put back, nothing else to undo.
            assert_eq!(code(&o), 2, "{}", stderr(&o));
            assert!(stderr(&o).contains("nothing to undo"), "{}", stderr(&o));
            assert_eq!(
                changed_files(&tree(dir.path()), &before),
                Vec::<String>::new()
            );
        } else {
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
    }
}

#[test]
fn a_full_disk_during_the_backup_leaves_nothing_behind() {
    if !require("sh") {
        return;
    }
    let dir = project("template");
    // app.py past the file-size limit below: writing its backup fails as on a full disk.
    let app = dir.path().join("backend-flask/app.py");
    let mut text = fs::read_to_string(&app).unwrap();
    text.push_str(&format!("# {}\n", "x".repeat(64 * 1024)));
    fs::write(&app, text).unwrap();
    let before = tree(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("o11y");
    let o = Command::new("sh")
        .arg("-c")
        // 32 blocks of 512 bytes; SIGXFSZ ignored, so the write fails with EFBIG instead.
        .arg("ulimit -f 32 && trap '' XFSZ && exec \"$0\" --project \"$1\" --color never apply --yes")
        .arg(&bin)
        .arg(dir.path())
        .env_remove("O11Y_PROJECT")
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    assert_eq!(
        changed_files(&tree(dir.path()), &before),
        Vec::<String>::new()
    );
    let left: Vec<_> = fs::read_dir(dir.path().join(".o11y/backups"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a partial backup was left: {left:?}");
    assert!(!dir.path().join(".o11y/journal.json").exists());
    // Room again: the next apply works, and its undo is whole.
    run_ok(dir.path(), &["apply", "--yes"], 0);
    run_ok(dir.path(), &["undo"], 0);
    assert_eq!(
        changed_files(&tree(dir.path()), &before),
        Vec::<String>::new()
    );
}

#[test]
fn a_folder_link_out_of_the_project_is_refused() {
    use std::os::unix::fs::symlink;
    let dir = project("template");
    let elsewhere = tempfile::tempdir().unwrap();
    let services = dir.path().join("backend-flask/services");
    copy_dir(&services, &elsewhere.path().join("services"));
    fs::remove_dir_all(&services).unwrap();
    symlink(elsewhere.path().join("services"), &services).unwrap();
    let outside = tree(elsewhere.path());
    let before = files_in(dir.path());
    for args in [
        &["apply", "--yes"][..],
        &["doctor", "--fix", "--only", "project"],
    ] {
        let o = run(dir.path(), args);
        assert_ne!(code(&o), 0, "{args:?}: {}", stdout(&o));
        assert_eq!(
            tree(elsewhere.path()),
            outside,
            "{args:?} wrote outside the project"
        );
    }
    let o = run(dir.path(), &["apply", "--yes"]);
    assert!(
        stderr(&o).contains("leads through the link backend-flask/services"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("outside the project"), "{}", stderr(&o));
    assert_eq!(files_in(dir.path()), before);
    // A link that stays inside the project is followed.
    let dir = project("template");
    let services = dir.path().join("backend-flask/services");
    fs::rename(&services, dir.path().join("backend-flask/real-services")).unwrap();
    symlink("real-services", &services).unwrap();
    run_ok(dir.path(), &["apply", "--yes"], 0);
    assert!(fs::read_to_string(
        dir.path()
            .join("backend-flask/real-services/home_activities.py")
    )
    .unwrap()
    .contains("o11y:honeycomb"));
}

/// The project's own files (links not followed), path -> bytes.
fn files_in(root: &Path) -> Tree {
    let mut out = Tree::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if rel == ".o11y" {
                continue;
            }
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Runs o11y, killing it after `limit`: a hang fails the test instead of stopping the suite.
fn bounded(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = o11y(dir, args).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "o11y {args:?} was still running after {limit:?}:\n{}{}",
                stdout(&o),
                stderr(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn links_to_devices_and_pipes_are_never_read() {
    use std::os::unix::fs::symlink;
    if !require("git") || !require("mkfifo") {
        return;
    }
    let dir = project("template");
    symlink("/dev/zero", dir.path().join("zeros")).unwrap();
    let fifo_dir = tempfile::tempdir().unwrap();
    mkfifo(&fifo_dir.path().join("pipe"));
    symlink(fifo_dir.path().join("pipe"), dir.path().join("pipe")).unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    // The key scan passes them over and ends.
    let o = bounded(
        dir.path(),
        &["doctor", "--only", "secrets.literals", "--json"],
        Duration::from_secs(60),
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checks"][0]["status"], "ok", "{report}");

    // A project file that is a pipe: named, never waited on.
    let app = dir.path().join("backend-flask/app.py");
    fs::remove_file(&app).unwrap();
    symlink(fifo_dir.path().join("pipe"), &app).unwrap();
    for args in [
        &["plan"][..],
        &["apply", "--yes"],
        &["doctor", "--only", "project"],
    ] {
        let o = bounded(dir.path(), args, Duration::from_secs(60));
        assert_ne!(code(&o), 0, "{args:?}");
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(all.contains("not a regular file"), "{args:?}: {all}");
    }
}

#[test]
fn a_byte_order_mark_on_requirements_is_read_as_pip_reads_it() {
    let dir = project("template");
    let req = dir.path().join("backend-flask/requirements.txt");
    let text = fs::read_to_string(&req).unwrap();
    fs::write(&req, format!("\u{feff}{text}")).unwrap();
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let after = fs::read_to_string(&req).unwrap();
    assert!(after.starts_with("\u{feff}flask"), "{after:?}");
    assert!(after.contains("opentelemetry-sdk"), "{after}");
    let flask = |t: &str| {
        t.lines()
            .filter(|l| l.trim_start_matches('\u{feff}').trim() == "flask")
            .count()
    };
    assert_eq!(flask(&after), 1, "{after}");
    run_ok(dir.path(), &["plan"], 0);
    let o = run_ok(
        dir.path(),
        &["doctor", "--only", "project.requirements", "--json"],
        0,
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checks"][0]["status"], "ok", "{report}");
}

#[test]
fn a_latin1_app_is_refused_for_its_encoding() {
    let dir = project("template");
    let app = dir.path().join("backend-flask/app.py");
    let mut bytes = b"# -*- coding: latin-1 -*-\n# caf\xe9\n".to_vec();
    bytes.extend(fs::read(&app).unwrap());
    fs::write(&app, bytes).unwrap();
    let before = tree(dir.path());
    let o = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("latin-1 encoding"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(err.contains("iconv"), "{err}");
    assert!(!err.contains("binary file"), "{err}");
    assert!(!err.contains("ls -l"), "{err}");
    assert_eq!(tree(dir.path()), before);
}

/// As in BrianSilenT/CuidadorApp_MonoRepo: a requirements.txt PowerShell wrote (UTF-16 LE,
/// BOM, CRLF). It is refused by name with the line that converts it, and nothing changes.
#[test]
fn a_utf16_requirements_file_is_refused_with_the_way_to_convert_it() {
    let dir = project("template");
    let req = dir.path().join("backend-flask/requirements.txt");
    let text = fs::read_to_string(&req).unwrap().replace('\n', "\r\n");
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    fs::write(&req, bytes).unwrap();
    let before = tree(dir.path());
    let o = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("requirements.txt is saved as UTF-16"), "{err}");
    assert!(err.contains("iconv -f UTF-16 -t UTF-8"), "{err}");
    assert!(!err.contains("binary file"), "{err}");
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn a_compose_file_with_a_duplicate_key_is_refused_by_apply_and_doctor() {
    let dir = project("template");
    let compose = dir.path().join("docker-compose.yml");
    let text = fs::read_to_string(&compose).unwrap();
    let text = text.replacen(
        "    build: ./backend-flask",
        "    build: ./backend-flask\n    build: ./other",
        1,
    );
    assert!(text.contains("./other"));
    fs::write(&compose, &text).unwrap();
    let line = text.lines().position(|l| l.contains("./other")).unwrap() + 1;
    let before = tree(dir.path());
    let o = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("`build` is given twice"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains(&format!("line {line}")),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(dir.path()), before);
    let o = run(dir.path(), &["doctor", "--only", "project"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    assert!(
        format!("{}{}", stdout(&o), stderr(&o)).contains("`build` is given twice"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn a_python_module_past_the_bound_is_refused_not_parsed() {
    let dir = project("template");
    let app = dir.path().join("backend-flask/app.py");
    let mut text = fs::read_to_string(&app).unwrap();
    let route =
        "\n\n@app.route('/api/generated', methods=['GET'])\ndef generated():\n    return {}, 200\n";
    while text.len() <= 2_000_000 {
        text.push_str(route);
    }
    fs::write(&app, &text).unwrap();
    let before = tree(dir.path());
    for args in [&["plan"][..], &["apply", "--yes"]] {
        let o = run(dir.path(), args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("backend-flask/app.py is too large for o11y"),
            "{}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("up to 2 MB"), "{}", stderr(&o));
    }
    assert_eq!(tree(dir.path()), before);
    let o = run(dir.path(), &["doctor", "--only", "project", "--json"]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).contains("too large for o11y"), "{}", stdout(&o));
}
