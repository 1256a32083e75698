//! Helpers shared by the CLI tests: the built binary, temp copies of projects, file trees.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/projects").join(name)
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temp copy of a fixture project; the folder goes when the value is dropped.
pub fn project(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("o11y-test-")
        .tempdir()
        .unwrap();
    copy_dir(&fixture(name), dir.path());
    dir
}

/// Every file under `root` (but o11y's own state folder), path → bytes.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if rel == ".o11y" || rel.ends_with("__pycache__") {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Runs o11y with `args` on the project at `dir`, no colours, no terminal.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("o11y")
        .unwrap()
        .arg("--project")
        .arg(dir)
        .arg("--color")
        .arg("never")
        .args(args)
        .env_remove("O11Y_PROJECT")
        .output()
        .unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs and asserts the exit code, showing the output when it differs.
pub fn run_ok(dir: &Path, args: &[&str], expect: i32) -> Output {
    let o = run(dir, args);
    assert_eq!(
        code(&o),
        expect,
        "o11y {args:?} exited {}\nstdout:\n{}\nstderr:\n{}",
        code(&o),
        stdout(&o),
        stderr(&o)
    );
    o
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

/// In CI every tool the tests use must be there; elsewhere a missing one skips that check.
pub fn require(program: &str) -> bool {
    if have(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`{program}` is missing; .ci/run installs it"
    );
    eprintln!("skipping the {program} check: not installed (CI installs it)");
    false
}

/// The Python that has the backend's packages: $O11Y_TEST_PYTHON, else ./.venv (made from
/// tests/requirements.txt on first use, as .ci/run does).
pub fn python() -> String {
    if let Ok(p) = std::env::var("O11Y_TEST_PYTHON") {
        return p;
    }
    let root = repo();
    let venv = root.join(".venv");
    let py = venv.join("bin/python");
    let ready = venv.join(".o11y-ready");
    if ready.is_file() {
        return py.display().to_string();
    }
    // One test binary builds it; the others wait for the marker.
    let lock = root.join("target/.venv.lock");
    let _ = std::fs::create_dir_all(root.join("target"));
    if std::fs::create_dir(&lock).is_ok() {
        let ok = |c: &mut std::process::Command| c.status().map(|s| s.success()).unwrap_or(false);
        let built = (py.is_file()
            || ok(std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)))
            && ok(std::process::Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(root.join("tests/requirements.txt")));
        if built {
            std::fs::write(&ready, "").unwrap();
        }
        let _ = std::fs::remove_dir(&lock);
        assert!(built, "could not build .venv from tests/requirements.txt");
    } else {
        for _ in 0..600 {
            if ready.is_file() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    py.display().to_string()
}
