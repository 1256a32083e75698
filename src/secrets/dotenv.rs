//! `.env` beside the compose file: o11y's lines live in one marked block, merged into the file
//! without touching any other line; the file is mode 0600 and git-ignored.

use std::fs;
use std::path::Path;
use std::process::Command;

use thiserror::Error;

use crate::patch::apply::write_atomic;

pub const FILE: &str = ".env";
const BEGIN: &str =
    "# >>> o11y local mode: signals go to `o11y listen` (`o11y apply --cloud` removes this block)";
const END: &str = "# <<< o11y local mode";

#[derive(Debug, Error)]
pub enum DotenvError {
    #[error(".env is tracked by git, so secrets written to it would be committed")]
    Tracked,
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

impl DotenvError {
    pub fn hint(&self) -> String {
        match self {
            DotenvError::Tracked => "untrack it with `git rm --cached .env`, add `.env` to .gitignore, commit, then run o11y again".into(),
            DotenvError::Write { .. } => "check that the project folder is writable".into(),
        }
    }
}

/// `text` with o11y's block set to `lines` (or removed when `lines` is empty). Lines outside
/// the block stay byte for byte.
pub fn merge_block(text: &str, lines: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if t == BEGIN {
            inside = true;
            continue;
        }
        if inside {
            if t == END {
                inside = false;
            }
            continue;
        }
        out.push_str(line);
    }
    if lines.is_empty() {
        return out;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(BEGIN);
    out.push('\n');
    for (k, v) in lines {
        out.push_str(&format!("{k}={v}\n"));
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The keys set in `.env` text outside o11y's block.
pub fn keys_outside_block(text: &str) -> Vec<String> {
    merge_block(text, &[])
        .lines()
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("export ");
            if l.starts_with('#') {
                return None;
            }
            l.split_once('=').map(|(k, _)| k.trim().to_string())
        })
        .collect()
}

fn tracked(root: &Path) -> bool {
    Command::new("git")
        .current_dir(root)
        .args(["ls-files", "--error-unmatch", FILE])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Adds `.env` to the project's .gitignore when nothing there ignores it already.
fn ignore(root: &Path) -> Result<bool, DotenvError> {
    let path = root.join(".gitignore");
    let text = fs::read_to_string(&path).unwrap_or_default();
    if text
        .lines()
        .any(|l| matches!(l.trim(), ".env" | "/.env" | "*.env" | ".env*"))
    {
        return Ok(false);
    }
    let mut new = text.clone();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(".env\n");
    write_atomic(&path, new.as_bytes(), None).map_err(|e| DotenvError::Write {
        path: ".gitignore".into(),
        reason: e.to_string(),
    })?;
    Ok(true)
}

/// What writing `.env` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Written {
    pub changed: bool,
    pub gitignore_updated: bool,
}

/// Sets o11y's block in `.env` (mode 0600), keeping every other line.
pub fn write_block(root: &Path, lines: &[(String, String)]) -> Result<Written, DotenvError> {
    let path = root.join(FILE);
    let before = fs::read_to_string(&path).ok();
    let after = merge_block(before.as_deref().unwrap_or(""), lines);
    if before.as_deref() == Some(after.as_str()) || (before.is_none() && lines.is_empty()) {
        return Ok(Written::default());
    }
    if tracked(root) {
        return Err(DotenvError::Tracked);
    }
    let gitignore_updated = ignore(root)?;
    write_atomic(&path, after.as_bytes(), Some(0o600)).map_err(|e| DotenvError::Write {
        path: FILE.into(),
        reason: e.to_string(),
    })?;
    Ok(Written {
        changed: true,
        gitignore_updated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_merged_and_removed_leaving_other_lines() {
        let user = "# mine\nHONEYCOMB_API_KEY=abc\nexport X=1";
        let with = merge_block(user, &[("A".into(), "1".into())]);
        assert_eq!(with, format!("{user}\n{BEGIN}\nA=1\n{END}\n"));
        let again = merge_block(&with, &[("A".into(), "2".into())]);
        assert_eq!(again, format!("{user}\n{BEGIN}\nA=2\n{END}\n"));
        assert_eq!(merge_block(&again, &[]), format!("{user}\n"));
        assert_eq!(keys_outside_block(&again), vec!["HONEYCOMB_API_KEY", "X"]);
    }
}
