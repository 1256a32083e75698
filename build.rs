//! Names the commit o11y was built from, for `o11y --version`: git's answer in a checkout,
//! the sha1 cargo records in a packaged crate (`.cargo_vcs_info.json`), or `O11Y_COMMIT`.

use std::path::Path;
use std::process::Command;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&dir);
    println!("cargo:rerun-if-env-changed=O11Y_COMMIT");
    let commit = std::env::var("O11Y_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| from_git(dir))
        .or_else(|| from_vcs_info(dir))
        .unwrap_or_else(|| "unknown commit".into());
    println!("cargo:rustc-env=O11Y_COMMIT={commit}");
}

fn from_git(dir: &Path) -> Option<String> {
    let git = dir.join(".git");
    if !git.exists() {
        return None;
    }
    // Built again when HEAD moves (a commit, a checkout).
    println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed={}", git.join(r).display());
        }
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

fn from_vcs_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let sha = text.split("\"sha1\"").nth(1)?.split('"').nth(1)?;
    Some(sha.chars().take(12).collect())
}
