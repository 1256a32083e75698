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
/// Said inside the block: its endpoints are the containers' way to this machine.
const FOR_CONTAINERS: &str = "# For the backend in docker compose: host.docker.internal is this machine as a container sees it. A backend run on this machine itself takes the lines `o11y listen` prints.";

#[derive(Debug, Error)]
pub enum DotenvError {
    #[error(".env is tracked by git, so secrets written to it would be committed")]
    Tracked,
    #[error("cannot tell whether git tracks .env: {0}")]
    Git(String),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("the value of {key} cannot be written to .env: it {why}")]
    Unwritable { key: String, why: &'static str },
}

impl crate::exit::Hint for DotenvError {
    fn hint(&self) -> String {
        match self {
            DotenvError::Tracked => "untrack it with `git rm --cached .env`, add `.env` to .gitignore, commit, then run o11y again".into(),
            DotenvError::Write { .. } => "check that the project folder is writable".into(),
            DotenvError::Unwritable { key, .. } => format!("check the value of {key} (keys have none of these characters); nothing was written"),
            DotenvError::Git(_) => "fix what git says (`git status` shows it), or make sure .env is not tracked, then run o11y again".into(),
            DotenvError::Read { path, .. } => format!("o11y leaves {path} alone: make it a readable UTF-8 text file you own (e.g. `sudo chown $USER {path}`), then run o11y again"),
        }
    }
}

/// Whether `.env` in `root` holds local mode's block: the backend talks to `o11y listen`.
pub fn in_local_mode(root: &Path) -> bool {
    fs::read_to_string(root.join(FILE)).is_ok_and(|t| t.lines().any(|l| l.trim_end() == BEGIN))
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
    out.push_str(FOR_CONTAINERS);
    out.push('\n');
    for (k, v) in lines {
        out.push_str(&format!("{k}={}\n", quoted(v).unwrap_or_default()));
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

pub use crate::patch::envfile::parse;

/// A value as a .env line holds it, so that docker compose, a shell (`set -a; . ./.env`) and
/// o11y's own reader all read the same value back: bare when it is plain; else single-quoted
/// (all three take those literally); else, when it holds a `'`, double-quoted, which only
/// works when nothing in it means something inside double quotes (`$`, `\`, `"`, a backtick).
/// Anything else has no form all three agree on, and is refused.
pub fn quoted(v: &str) -> Result<String, &'static str> {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./+:@,=%".contains(c));
    if v.chars().any(|c| c.is_control()) {
        Err("holds a line break or another control character")
    } else if plain {
        Ok(v.to_string())
    } else if !v.contains('\'') {
        Ok(format!("'{v}'"))
    } else if v.chars().any(|c| "$\\\"`".contains(c)) {
        Err("holds a ' together with one of $ \\ \" `")
    } else {
        Ok(format!("\"{v}\""))
    }
}

/// Refuses, before anything is written, a value that .env cannot hold.
pub fn check_values(values: &[(String, String)]) -> Result<(), DotenvError> {
    for (k, v) in values {
        quoted(v).map_err(|why| DotenvError::Unwritable {
            key: k.clone(),
            why,
        })?;
    }
    Ok(())
}

/// `text` with each key set to its value: a key's existing line (outside local mode's block)
/// is rewritten in place, keeping `export ` and its line ending; new keys are appended. Every
/// other line stays byte for byte.
pub fn merge_keys(text: &str, values: &[(String, String)]) -> String {
    // The line of each key that counts: the last one, as docker compose reads it.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut inside = false;
    let mut last: Vec<Option<usize>> = vec![None; values.len()];
    let keys: Vec<Option<usize>> = lines
        .iter()
        .map(|line| {
            let t = line.trim_end();
            if t == BEGIN {
                inside = true;
            } else if t == END {
                inside = false;
            }
            let body = t.trim_start();
            let bare = body.strip_prefix("export ").unwrap_or(body);
            let key = bare.split_once('=').map(|(k, _)| k.trim());
            (!inside && !body.starts_with('#'))
                .then(|| key.and_then(|k| values.iter().position(|(n, _)| n == k)))
                .flatten()
        })
        .collect();
    for (n, k) in keys.iter().enumerate() {
        if let Some(i) = k {
            last[*i] = Some(n);
        }
    }
    let mut out = String::new();
    let mut done = vec![false; values.len()];
    for (n, line) in lines.iter().enumerate() {
        let t = line.trim_end();
        let body = t.trim_start();
        match keys[n] {
            Some(i) if last[i] == Some(n) => {
                done[i] = true;
                let indent = &t[..t.len() - body.len()];
                let export = if body.starts_with("export ") {
                    "export "
                } else {
                    ""
                };
                let ending = &line[t.len()..];
                let (k, v) = &values[i];
                // Values are checked before (check_values); nothing unwritable gets here.
                let v = quoted(v).unwrap_or_default();
                out.push_str(&format!("{indent}{export}{k}={v}{ending}"));
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
            quoted(v).unwrap_or_default(),
            if crlf { "\r\n" } else { "\n" }
        ));
    }
    out
}

/// The most of `.env` or `.gitignore` o11y reads.
pub const MAX_READ: u64 = 16 * 1024 * 1024;

/// A text file, or None when it does not exist; any other failure is an error (a file that
/// cannot be read is never replaced).
fn read(root: &Path, name: &str) -> Result<Option<String>, DotenvError> {
    match crate::patch::apply::read_regular(&root.join(name), MAX_READ) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| DotenvError::Read {
                path: name.into(),
                reason: "it is not UTF-8 text".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DotenvError::Read {
            path: name.into(),
            reason: e.to_string(),
        }),
    }
}

/// Whether git tracks `.env`: exit 0 yes, 1 no; outside a repository (or without git) no;
/// any other answer is an error, so secrets are never written on a guess.
fn tracked(root: &Path) -> Result<bool, DotenvError> {
    let out = match Command::new("git")
        .current_dir(root)
        .args(["ls-files", "--error-unmatch", FILE])
        .output()
    {
        Ok(o) => o,
        Err(_) => return Ok(false),
    };
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ if err.contains("not a git repository") => Ok(false),
        _ => Err(DotenvError::Git(
            err.lines()
                .next()
                .unwrap_or("git failed")
                .trim()
                .to_string(),
        )),
    }
}

/// Refuses early when `.env` could not be written: tracked by git, or unreadable.
pub fn preflight(root: &Path) -> Result<(), DotenvError> {
    read(root, FILE)?;
    read(root, ".gitignore")?;
    if tracked(root)? {
        return Err(DotenvError::Tracked);
    }
    Ok(())
}

/// Whether git ignores `.env` in `root` (any .gitignore, negations, the global excludes):
/// None without git or outside a repository.
pub fn ignored_by_git(root: &Path) -> Option<bool> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["check-ignore", "-q", FILE])
        .output()
        .ok()?;
    match out.status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// Whether `.env` is ignored: git's answer, or (without git) a line of the project's
/// .gitignore that names it.
pub fn is_ignored(root: &Path) -> bool {
    ignored_by_git(root).unwrap_or_else(|| {
        fs::read_to_string(root.join(".gitignore"))
            .unwrap_or_default()
            .lines()
            .any(|l| matches!(l.trim(), ".env" | "/.env" | "*.env" | ".env*"))
    })
}

/// Adds `.env` to the project's .gitignore unless it is ignored already.
fn ignore(root: &Path) -> Result<bool, DotenvError> {
    let path = root.join(".gitignore");
    if is_ignored(root) {
        return Ok(false);
    }
    let text = read(root, ".gitignore")?.unwrap_or_default();
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
    check_values(lines)?;
    let _lock = lock(root)?;
    let before = read(root, FILE)?;
    let after = merge_block(before.as_deref().unwrap_or(""), lines);
    if before.is_none() && lines.is_empty() {
        return Ok(Written::default());
    }
    write(root, before.as_deref(), &after)
}

/// Sets keys in `.env` (mode 0600), keeping every other line.
pub fn write_keys(root: &Path, values: &[(String, String)]) -> Result<Written, DotenvError> {
    check_values(values)?;
    let _lock = lock(root)?;
    let before = read(root, FILE)?;
    let after = merge_keys(before.as_deref().unwrap_or(""), values);
    write(root, before.as_deref(), &after)
}

/// o11y's lock on the project, taken before `.env` is read and held until it is written; it
/// also makes `.o11y/tmp`, where the temp file holding the keys waits, git-ignored.
fn lock(root: &Path) -> Result<crate::patch::apply::Lock, DotenvError> {
    let werr = |e: crate::patch::apply::ApplyError| DotenvError::Write {
        path: ".o11y".into(),
        reason: e.to_string(),
    };
    let lock = crate::patch::apply::lock(root).map_err(werr)?;
    crate::patch::apply::ensure_state_dir(root).map_err(werr)?;
    Ok(lock)
}

fn write(root: &Path, before: Option<&str>, after: &str) -> Result<Written, DotenvError> {
    if before == Some(after) {
        return Ok(Written::default());
    }
    let path = crate::patch::apply::target_of(root, FILE).map_err(|e| DotenvError::Write {
        path: FILE.into(),
        reason: format!("{e}; {}", crate::exit::Hint::hint(&e)),
    })?;
    if tracked(root)? {
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
        // A key set twice: the last line is the one docker compose reads, so that one changes.
        assert_eq!(
            merge_keys("A=1\nB=2\nA=3\n", &v(&[("A", "9")])),
            "A=1\nB=2\nA=9\n"
        );
        // Odd values survive a round trip through parse; those no .env form keeps the same
        // for docker compose and a shell are refused.
        for odd in ["it's #1", "$HOME #1", "ends in \\", "say \"hi\"", "a b", ""] {
            let text = merge_keys("", &v(&[("K", odd)]));
            assert_eq!(parse(&text), v(&[("K", odd)]), "{text}");
        }
        for refused in [
            "it's $HOME",
            "it's `cmd`",
            "it's \\",
            "line\nbreak",
            "nul\0",
        ] {
            assert!(check_values(&v(&[("K", refused)])).is_err(), "{refused:?}");
        }
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
        assert_eq!(
            with,
            format!("{user}\n{BEGIN}\n{FOR_CONTAINERS}\nA=1\n{END}\n")
        );
        let again = merge_block(&with, &[("A".into(), "2".into())]);
        assert_eq!(
            again,
            format!("{user}\n{BEGIN}\n{FOR_CONTAINERS}\nA=2\n{END}\n")
        );
        assert_eq!(merge_block(&again, &[]), format!("{user}\n"));
        assert_eq!(keys_outside_block(&again), vec!["HONEYCOMB_API_KEY", "X"]);
    }
}
