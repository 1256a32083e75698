//! The backups in `.o11y/backups`: one numbered folder per apply, with each file before and
//! after and a manifest, read back by `undo` and by the recovery of an interrupted apply.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::patch::apply::error::{werr, ApplyError};
use crate::patch::apply::files::{check_inside, target_of, write_atomic, STATE_DIR, TMP};

pub(super) const BACKUPS: &str = "backups";

pub(super) const MANIFEST: &str = "manifest.json";

/// The manifest of an apply still under way: renamed to [`MANIFEST`] once every file is
/// written, so `undo` only ever sees whole applies.
pub(super) const PENDING: &str = "manifest.pending.json";

/// Written before the first file of an apply is replaced, removed after the last: while it
/// exists, an apply was interrupted, and the next run rolls it back from its backup.
pub(super) const JOURNAL: &str = "journal.json";

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Entry {
    pub(super) path: String,
    pub(super) existed: bool,
    pub(super) mode: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub(super) files: Vec<Entry>,
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest, ApplyError> {
    read_manifest_file(dir, &dir.join(MANIFEST))
}

pub(super) fn read_manifest_file(dir: &Path, file: &Path) -> Result<Manifest, ApplyError> {
    let bad = |reason: String| ApplyError::BadBackup {
        dir: dir.display().to_string(),
        reason,
    };
    let raw = fs::read(file).map_err(|e| bad(e.to_string()))?;
    serde_json::from_slice(&raw).map_err(|e| bad(e.to_string()))
}

pub(crate) fn ensure_state_dir(root: &Path) -> Result<PathBuf, ApplyError> {
    let dir = root.join(STATE_DIR);
    if fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
        // Backups hold copies of .env: they stay inside the project or nowhere.
        target_of(root, STATE_DIR)?;
    }
    fs::create_dir_all(dir.join(BACKUPS)).map_err(|e| werr(&dir, e))?;
    fs::create_dir_all(dir.join(TMP)).map_err(|e| werr(&dir, e))?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        // Keeps the backups (which may hold a copy of .env) out of git without touching the
        // project's own .gitignore.
        write_atomic(&ignore, b"*\n", None)?;
    }
    Ok(dir)
}

/// Where a backup stands among the others: by its sequence number, never by its name as text
/// (`-10` would sort before `-9`). Names are `SEQ-STAMP`; older ones, `STAMP` or `STAMP-N`,
/// come before every numbered one, in the order of their stamp and N.
pub(super) fn backup_order(name: &str) -> (u64, String, u64) {
    let (head, tail) = name.split_once('-').unwrap_or((name, ""));
    let legacy = head.len() == 16 && head.as_bytes()[8] == b'T';
    match (legacy, head.parse::<u64>()) {
        (false, Ok(seq)) => (seq, tail.to_string(), 0),
        _ => (0, head.to_string(), tail.parse().unwrap_or(1)),
    }
}

pub(super) fn new_backup_dir(state: &Path) -> Result<PathBuf, ApplyError> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let base = state.join(BACKUPS);
    let last = fs::read_dir(&base)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            backup_order(name.trim_start_matches("undone-")).0
        })
        .max()
        .unwrap_or(0);
    let mut seq = last + 1;
    let mut dir = base.join(format!("{seq:04}-{stamp}"));
    while dir.exists() {
        seq += 1;
        dir = base.join(format!("{seq:04}-{stamp}"));
    }
    fs::create_dir_all(dir.join("before")).map_err(|e| werr(&dir, e))?;
    fs::create_dir_all(dir.join("after")).map_err(|e| werr(&dir, e))?;
    Ok(dir)
}

pub(super) fn restore(root: &Path, dir: &Path, entry: &Entry) -> Result<bool, ApplyError> {
    check_inside(&entry.path)?;
    let path = target_of(root, &entry.path)?;
    if entry.existed {
        let before =
            fs::read(dir.join("before").join(&entry.path)).map_err(|e| ApplyError::BadBackup {
                dir: dir.display().to_string(),
                reason: format!("{}: {e}", entry.path),
            })?;
        write_atomic(&path, &before, entry.mode)?;
        Ok(true)
    } else {
        if path.exists() {
            fs::remove_file(&path).map_err(|e| werr(&path, e))?;
        }
        // Folders o11y created for the file (aws/json) go too when left empty.
        let mut parent = path.parent();
        while let Some(p) = parent {
            if p == root || fs::remove_dir(p).is_err() {
                break;
            }
            parent = p.parent();
        }
        Ok(false)
    }
}

/// The backups of whole applies not undone yet, oldest first.
pub(super) fn backups(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join(STATE_DIR).join(BACKUPS))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).is_file())
        .collect();
    dirs.sort_by_key(|p| backup_order(&p.file_name().unwrap_or_default().to_string_lossy()));
    dirs
}

/// The most recent apply's backup, if any.
pub(super) fn latest_backup(root: &Path) -> Option<PathBuf> {
    backups(root).pop()
}
