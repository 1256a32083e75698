//! `.env` beside the compose file: keys are merged into the file without touching any other
//! line (a key already there is changed in place; a new one goes at the end), and local mode's
//! lines live in one marked block; the file is mode 0600 and git-ignored, and never written
//! while git tracks it.

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

/// KEY=value lines of a .env file (quotes and `export ` taken off).
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// A value as a .env line holds it: bare when it is plain, else single-quoted (docker compose
/// takes single-quoted values literally).
fn quoted(v: &str) -> String {
    let plain = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./+:@,=%".contains(c));
    if plain || v.contains('\'') {
        v.to_string()
    } else {
        format!("'{v}'")
    }
}

/// `text` with each key set to its value: a key's existing line (outside local mode's block)
/// is rewritten in place, keeping `export ` and its line ending; new keys are appended. Every
/// other line stays byte for byte.
pub fn merge_keys(text: &str, values: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut done = vec![false; values.len()];
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if t == BEGIN {
            inside = true;
        } else if t == END {
            inside = false;
        }
        let body = t.trim_start();
        let bare = body.strip_prefix("export ").unwrap_or(body);
        let key = bare.split_once('=').map(|(k, _)| k.trim());
        let hit = (!inside && !body.starts_with('#'))
            .then(|| key.and_then(|k| values.iter().position(|(n, _)| n == k)))
            .flatten();
        match hit {
            Some(i) if !done[i] => {
                done[i] = true;
                let indent = &t[..t.len() - body.len()];
                let export = if body.starts_with("export ") {
                    "export "
                } else {
                    ""
                };
                let ending = &line[t.len()..];
                let (k, v) = &values[i];
                out.push_str(&format!("{indent}{export}{k}={}{ending}", quoted(v)));
            }
            _ => out.push_str(line),
        }
    }
    let crlf = text.contains("\r\n");
    for (i, (k, v)) in values.iter().enumerate() {
        if done[i] {
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(if crlf { "\r\n" } else { "\n" });
        }
        out.push_str(&format!(
            "{k}={}{}",
            quoted(v),
            if crlf { "\r\n" } else { "\n" }
        ));
    }
    out
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
    let before = fs::read_to_string(root.join(FILE)).ok();
    let after = merge_block(before.as_deref().unwrap_or(""), lines);
    if before.is_none() && lines.is_empty() {
        return Ok(Written::default());
    }
    write(root, before.as_deref(), &after)
}

/// Sets keys in `.env` (mode 0600), keeping every other line.
pub fn write_keys(root: &Path, values: &[(String, String)]) -> Result<Written, DotenvError> {
    let before = fs::read_to_string(root.join(FILE)).ok();
    let after = merge_keys(before.as_deref().unwrap_or(""), values);
    write(root, before.as_deref(), &after)
}

fn write(root: &Path, before: Option<&str>, after: &str) -> Result<Written, DotenvError> {
    let path = root.join(FILE);
    if before == Some(after) {
        return Ok(Written::default());
    }
    if tracked(root) {
        return Err(DotenvError::Tracked);
    }
    let gitignore_updated = ignore(root)?;
    if let Some(old) = before {
        // The previous .env, kept (mode 0600) in o11y's git-ignored state folder.
        let werr = |e: crate::patch::apply::ApplyError| DotenvError::Write {
            path: ".o11y/env.bak".into(),
            reason: e.to_string(),
        };
        let state = crate::patch::apply::ensure_state_dir(root).map_err(werr)?;
        write_atomic(&state.join("env.bak"), old.as_bytes(), Some(0o600)).map_err(werr)?;
    }
    write_atomic(&path, after.as_bytes(), Some(0o600)).map_err(|e| DotenvError::Write {
        path: FILE.into(),
        reason: e.to_string(),
    })?;
    Ok(Written {
        changed: true,
        gitignore_updated,
    })
}

/// `.env` as a store of secrets.
pub struct DotenvStore {
    pub root: std::path::PathBuf,
}

impl super::Store for DotenvStore {
    fn kind(&self) -> super::StoreKind {
        super::StoreKind::Dotenv
    }

    fn get(&self, name: &str) -> Option<String> {
        let text = fs::read_to_string(self.root.join(FILE)).ok()?;
        parse(&merge_block(&text, &[]))
            .into_iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v)
    }

    fn put(&self, values: &[(String, String)]) -> Result<super::Stored, super::StoreError> {
        let w = write_keys(&self.root, values)?;
        let names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        let mut done = vec![if w.changed {
            format!("wrote {} to .env", names.join(", "))
        } else {
            "they are already in .env".to_string()
        }];
        if w.gitignore_updated {
            done.push("added .env to .gitignore".into());
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_changed_in_place_or_appended() {
        let v = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let user = "# mine\r\nexport HONEYCOMB_API_KEY=old\r\nOTHER=1\r\n";
        let merged = merge_keys(
            user,
            &v(&[
                ("HONEYCOMB_API_KEY", "new"),
                ("ROLLBAR_ACCESS_TOKEN", "t k"),
            ]),
        );
        assert_eq!(
            merged,
            "# mine\r\nexport HONEYCOMB_API_KEY=new\r\nOTHER=1\r\nROLLBAR_ACCESS_TOKEN='t k'\r\n"
        );
        // Lines in local mode's block are not the user's keys.
        let with_block = merge_block("A=1", &v(&[("B", "local")]));
        assert_eq!(
            merge_keys(&with_block, &v(&[("B", "real")])),
            format!("{with_block}B=real\n")
        );
        // No final newline: one is added before the new key, nothing else moves.
        assert_eq!(merge_keys("A=1", &v(&[("B", "2")])), "A=1\nB=2\n");
        assert_eq!(merge_keys("", &v(&[("B", "2")])), "B=2\n");
        let again = merge_keys(&merged, &v(&[("HONEYCOMB_API_KEY", "new")]));
        assert_eq!(again, merged);
        assert_eq!(
            parse(&merged),
            v(&[
                ("HONEYCOMB_API_KEY", "new"),
                ("OTHER", "1"),
                ("ROLLBAR_ACCESS_TOKEN", "t k")
            ])
        );
    }

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
