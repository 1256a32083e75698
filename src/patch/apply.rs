//! The one place in `patch/` that touches the disk: writes a plan's files atomically (temp file
//! + rename, mode kept) after backing every one of them up, and puts them back on `undo`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::plan::Plan;

pub const STATE_DIR: &str = ".o11y";
const BACKUPS: &str = "backups";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("there is nothing to undo: no backup in {0}")]
    NothingToUndo(String),
    #[error("{path} changed since o11y wrote it, so undo would lose those changes")]
    ChangedSince { path: String },
    #[error("the backup in {dir} is damaged: {reason}")]
    BadBackup { dir: String, reason: String },
}

impl ApplyError {
    pub fn hint(&self) -> String {
        match self {
            ApplyError::Write { .. } => {
                "check that the folder is writable and the disk is not full; files already written were put back".into()
            }
            ApplyError::NothingToUndo(_) => "`o11y undo` only undoes an `o11y apply` made in this folder".into(),
            ApplyError::ChangedSince { .. } => {
                "keep your changes and undo by hand (see `git diff`), or run `o11y undo --force` to put the old file back anyway".into()
            }
            ApplyError::BadBackup { dir, .. } => format!("restore the files with git instead, then delete {dir}"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    path: String,
    existed: bool,
    mode: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    files: Vec<Entry>,
}

/// What an apply wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub backup: String,
    pub files: Vec<String>,
}

/// What an undo restored.
#[derive(Debug, Clone, Serialize)]
pub struct Undone {
    pub backup: String,
    pub restored: Vec<String>,
    pub removed: Vec<String>,
}

fn werr(path: &Path, e: impl std::fmt::Display) -> ApplyError {
    ApplyError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Option<u32> {
    None
}

/// Writes `contents` to `path` through a temp file in the same folder and a rename, so a reader
/// sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), ApplyError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| werr(path, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".o11y-")
        .tempfile_in(dir)
        .map_err(|e| werr(path, e))?;
    tmp.write_all(contents).map_err(|e| werr(path, e))?;
    tmp.as_file().sync_all().map_err(|e| werr(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = mode.or_else(|| mode_of(path)).unwrap_or(0o644);
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
            .map_err(|e| werr(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.persist(path).map_err(|e| werr(path, e.error))?;
    Ok(())
}

pub(crate) fn ensure_state_dir(root: &Path) -> Result<PathBuf, ApplyError> {
    let dir = root.join(STATE_DIR);
    fs::create_dir_all(dir.join(BACKUPS)).map_err(|e| werr(&dir, e))?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        // Keeps the backups (which may hold a copy of .env) out of git without touching the
        // project's own .gitignore.
        write_atomic(&ignore, b"*\n", None)?;
    }
    Ok(dir)
}

fn new_backup_dir(state: &Path) -> Result<PathBuf, ApplyError> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let base = state.join(BACKUPS);
    let mut dir = base.join(&stamp);
    let mut n = 2;
    while dir.exists() {
        dir = base.join(format!("{stamp}-{n}"));
        n += 1;
    }
    fs::create_dir_all(dir.join("before")).map_err(|e| werr(&dir, e))?;
    fs::create_dir_all(dir.join("after")).map_err(|e| werr(&dir, e))?;
    Ok(dir)
}

/// Backs up and writes every file of `plan`. All or nothing: if one write fails, the files
/// already written are put back.
pub fn apply(root: &Path, plan: &Plan) -> Result<Applied, ApplyError> {
    let state = ensure_state_dir(root)?;
    let dir = new_backup_dir(&state)?;
    let mut manifest = Manifest { files: Vec::new() };
    for edit in &plan.edits {
        let path = root.join(&edit.path);
        if let Some(before) = &edit.before {
            write_atomic(
                &dir.join("before").join(&edit.path),
                before.as_bytes(),
                None,
            )?;
        }
        write_atomic(
            &dir.join("after").join(&edit.path),
            edit.after.as_bytes(),
            None,
        )?;
        manifest.files.push(Entry {
            path: edit.path.clone(),
            existed: edit.before.is_some(),
            mode: mode_of(&path),
        });
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    write_atomic(&dir.join(MANIFEST), &json, None)?;

    let mut written: Vec<&Entry> = Vec::new();
    for (edit, entry) in plan.edits.iter().zip(&manifest.files) {
        let path = root.join(&edit.path);
        if let Err(e) = write_atomic(&path, edit.after.as_bytes(), entry.mode) {
            for done in written {
                let _ = restore(root, &dir, done);
            }
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        written.push(entry);
    }
    Ok(Applied {
        backup: rel(root, &dir),
        files: plan.edits.iter().map(|e| e.path.clone()).collect(),
    })
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn restore(root: &Path, dir: &Path, entry: &Entry) -> Result<bool, ApplyError> {
    let path = root.join(&entry.path);
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

/// The most recent apply's backup, if any.
fn latest_backup(root: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join(STATE_DIR).join(BACKUPS))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Puts back every file of the last apply, byte for byte, unless one changed since (`force`
/// overrides). The backup is then retired, so a second undo goes one apply further back.
pub fn undo(root: &Path, force: bool) -> Result<Undone, ApplyError> {
    let dir = latest_backup(root).ok_or_else(|| {
        ApplyError::NothingToUndo(root.join(STATE_DIR).join(BACKUPS).display().to_string())
    })?;
    let bad = |reason: String| ApplyError::BadBackup {
        dir: dir.display().to_string(),
        reason,
    };
    let raw = fs::read(dir.join(MANIFEST)).map_err(|e| bad(e.to_string()))?;
    let manifest: Manifest = serde_json::from_slice(&raw).map_err(|e| bad(e.to_string()))?;
    if !force {
        for entry in &manifest.files {
            let now = fs::read(root.join(&entry.path)).ok();
            let written = fs::read(dir.join("after").join(&entry.path)).ok();
            if now != written {
                return Err(ApplyError::ChangedSince {
                    path: entry.path.clone(),
                });
            }
        }
    }
    let mut undone = Undone {
        backup: rel(root, &dir),
        restored: Vec::new(),
        removed: Vec::new(),
    };
    for entry in &manifest.files {
        if restore(root, &dir, entry)? {
            undone.restored.push(entry.path.clone());
        } else {
            undone.removed.push(entry.path.clone());
        }
    }
    let retired = dir.with_file_name(format!(
        "undone-{}",
        dir.file_name().unwrap_or_default().to_string_lossy()
    ));
    fs::rename(dir.join(MANIFEST), dir.join("manifest.undone.json")).map_err(|e| werr(&dir, e))?;
    let _ = fs::rename(&dir, retired);
    Ok(undone)
}
