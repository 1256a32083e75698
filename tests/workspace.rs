//! o11y's own workspaces and release: the release workflow passes actionlint, and CI, Gitpod,
//! Codespaces and the workflow build the same way (the same script, the same requirements,
//! the README's two commands).

mod common;

use std::fs;
use std::process::Command;

use common::*;

fn read(rel: &str) -> String {
    fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The README's first two commands: the main job, and every test.
fn readme_commands() -> (String, String) {
    let readme = read("README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the README opens with a sh block");
    let mut lines = block
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty());
    (lines.next().unwrap(), lines.next().unwrap())
}

#[test]
fn the_release_workflow_passes_actionlint() {
    let venv_bin = std::path::Path::new(&python())
        .parent()
        .unwrap()
        .to_path_buf();
    let actionlint = venv_bin.join("actionlint");
    if !actionlint.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "actionlint is missing from the venv; .ci/run installs tests/requirements.txt"
        );
        say("note: actionlint is not in the venv, so the release workflow is not linted here (CI installs it and fails without it)");
        return;
    }
    let o = Command::new(actionlint)
        .current_dir(repo())
        .arg(".github/workflows/release.yml")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn every_place_builds_the_way_ci_does() {
    let (demo, test) = readme_commands();
    assert_eq!(demo, "cargo run -- demo");
    assert_eq!(test, "cargo test");
    let ci = read(".ci/run");
    let workflow = read(".github/workflows/release.yml");
    let gitpod = read(".gitpod.yml");
    let devcontainer = read(".devcontainer/devcontainer.json");
    // The release's Linux wheels come from the script CI runs.
    assert!(
        workflow.contains("bash scripts/build-dist.sh"),
        "{workflow}"
    );
    assert!(
        read("scripts/check-dist.sh").contains("scripts/build-dist.sh x86_64-unknown-linux-gnu")
    );
    assert!(ci.contains("scripts/check-dist.sh"), "{ci}");
    // The tests' Python, docker-compose and the README's commands in both workspaces.
    for (name, text) in [
        (".gitpod.yml", &gitpod),
        ("devcontainer.json", &devcontainer),
    ] {
        for must in [
            "tests/requirements.txt",
            "docker-compose",
            "cargo build",
            demo.as_str(),
        ] {
            assert!(text.contains(must), "{name} lacks `{must}`");
        }
    }
    for must in ["tests/requirements.txt", "docker-compose", test.as_str()] {
        assert!(ci.contains(must), ".ci/run lacks `{must}`");
    }
}
