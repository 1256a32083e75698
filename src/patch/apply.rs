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
/// Written before the first file of an apply is replaced, removed after the last: while it
/// exists, an apply was interrupted, and the next run rolls it back from its backup.
const JOURNAL: &str = "journal.json";
/// Where temp files wait for their rename: inside `.o11y`, which git ignores.
const TMP: &str = "tmp";
const LOCK: &str = "lock";

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
    #[error("{path} lies outside the project folder, and o11y only edits files inside it")]
    Outside { path: String },
    #[error("{path} is a link to {target}, outside the project")]
    Symlink { path: String, target: String },
    #[error("{path} is read-only")]
    ReadOnly { path: String },
    #[error("another o11y is changing this project right now (it holds {lock})")]
    Busy { lock: String },
}

impl crate::exit::Hint for ApplyError {
    fn hint(&self) -> String {
        match self {
            ApplyError::Write { .. } => {
                "check that the folder is writable and the disk is not full; files already written were put back".into()
            }
            ApplyError::NothingToUndo(_) => "`o11y undo` only undoes an `o11y apply` made in this folder".into(),
            ApplyError::ChangedSince { .. } => {
                "keep your changes and undo by hand (see `git diff`), or run `o11y undo --force` to put the old file back anyway".into()
            }
            ApplyError::BadBackup { dir, .. } => format!("restore the files with git instead, then delete {dir}"),
            ApplyError::Outside { .. } => "the backend's `build:` in the compose file points outside the project: run o11y in the folder that holds both (`--project DIR`), or move the backend inside it".into(),
            ApplyError::Symlink { .. } => "o11y edits only files inside the project: replace the link with the file itself (or make the change by hand; `o11y plan` shows it)".into(),
            ApplyError::ReadOnly { path } => format!("make it writable (`chmod u+w {path}`) if o11y may change it, then run o11y again; nothing was changed"),
            ApplyError::Busy { .. } => "wait for the other `o11y apply`, `undo` or `init` to finish, then run this again".into(),
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

/// The git-ignored folder for temp files of the project `path` is in: `.o11y/tmp` of the
/// nearest folder above that has one.
fn temp_dir_for(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .map(|a| a.join(STATE_DIR).join(TMP))
        .find(|t| t.is_dir())
}

/// Writes `contents` to `path` through a temp file and a rename, so a reader sees the old file
/// or the new one, never half of one. The temp file waits in the project's `.o11y/tmp` (git
/// ignores it, so an interrupted write leaves nothing `git add` would take, secrets included),
/// or beside `path` when that is on another file system.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), ApplyError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| werr(path, e))?;
    if let Some(tmp_dir) = temp_dir_for(path) {
        match write_via(&tmp_dir, path, contents, mode) {
            Err(TempFail::CrossDevice) => {}
            Err(TempFail::Other(e)) => return Err(e),
            Ok(()) => return Ok(()),
        }
    }
    write_via(dir, path, contents, mode).map_err(|e| match e {
        TempFail::Other(e) => e,
        TempFail::CrossDevice => werr(path, "cannot rename across file systems"),
    })
}

enum TempFail {
    CrossDevice,
    Other(ApplyError),
}

fn write_via(dir: &Path, path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), TempFail> {
    let fail = |e: ApplyError| TempFail::Other(e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".o11y-")
        .tempfile_in(dir)
        .map_err(|e| fail(werr(path, e)))?;
    tmp.write_all(contents).map_err(|e| fail(werr(path, e)))?;
    tmp.as_file().sync_all().map_err(|e| fail(werr(path, e)))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = mode.or_else(|| mode_of(path)).unwrap_or(0o644);
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
            .map_err(|e| fail(werr(path, e)))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    match tmp.persist(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::CrossesDevices => {
            Err(TempFail::CrossDevice)
        }
        Err(e) => Err(fail(werr(path, e.error))),
    }
}

/// Where a project file really gets written: itself, or the target of a link that stays inside
/// the project. A link out of the project, and a read-only file, are refused: replacing either
/// through a rename would do what the user did not ask for.
pub fn target_of(root: &Path, rel: &str) -> Result<PathBuf, ApplyError> {
    let path = root.join(rel);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return Ok(path);
    };
    let path = if meta.file_type().is_symlink() {
        let target = fs::canonicalize(&path).map_err(|_| ApplyError::Symlink {
            path: rel.to_string(),
            target: fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default(),
        })?;
        let inside = fs::canonicalize(root).is_ok_and(|r| target.starts_with(r));
        if !inside {
            return Err(ApplyError::Symlink {
                path: rel.to_string(),
                target: target.display().to_string(),
            });
        }
        target
    } else {
        path
    };
    if fs::metadata(&path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(ApplyError::ReadOnly {
            path: rel.to_string(),
        });
    }
    Ok(path)
}

/// Whether a path relative to the project stays inside it.
pub fn inside(rel: &str) -> bool {
    use std::path::Component;
    !rel.is_empty()
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn check_inside(rel: &str) -> Result<(), ApplyError> {
    if inside(rel) {
        Ok(())
    } else {
        Err(ApplyError::Outside {
            path: rel.to_string(),
        })
    }
}

/// Held while o11y changes the project's files; a second o11y waits for it a little, then
/// stops with a clear message instead of losing one of the two runs' changes.
pub struct Lock {
    _file: fs::File,
}

pub fn lock(root: &Path) -> Result<Lock, ApplyError> {
    let state = ensure_state_dir(root)?;
    let path = state.join(LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| werr(&path, e))?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            Err(_) => {
                return Err(ApplyError::Busy {
                    lock: rel(root, &path),
                })
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    backup: String,
}

/// Rolls back an apply that was interrupted (killed, power lost) between its first and its
/// last rename: every file of it is put back from its backup, and the stray temp files go.
/// Returns how many files were put back, when there was such an apply. Call with the lock held.
pub fn recover(root: &Path) -> Result<Option<usize>, ApplyError> {
    let state = root.join(STATE_DIR);
    let _ = clear_temp(&state);
    let journal = state.join(JOURNAL);
    let Ok(raw) = fs::read(&journal) else {
        return Ok(None);
    };
    let j: Journal = serde_json::from_slice(&raw).map_err(|e| ApplyError::BadBackup {
        dir: rel(root, &journal),
        reason: e.to_string(),
    })?;
    let dir = state.join(BACKUPS).join(&j.backup);
    if !inside(&j.backup) || !dir.join(MANIFEST).is_file() {
        // The journal was written after the manifest: without one, nothing was replaced yet.
        let _ = fs::remove_file(&journal);
        return Ok(Some(0));
    }
    let manifest = read_manifest(&dir)?;
    for entry in &manifest.files {
        check_inside(&entry.path)?;
        restore(root, &dir, entry)?;
    }
    let _ = fs::remove_dir_all(&dir);
    fs::remove_file(&journal).map_err(|e| werr(&journal, e))?;
    Ok(Some(manifest.files.len()))
}

fn clear_temp(state: &Path) -> std::io::Result<()> {
    for e in fs::read_dir(state.join(TMP))? {
        let _ = fs::remove_file(e?.path());
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest, ApplyError> {
    let bad = |reason: String| ApplyError::BadBackup {
        dir: dir.display().to_string(),
        reason,
    };
    let raw = fs::read(dir.join(MANIFEST)).map_err(|e| bad(e.to_string()))?;
    serde_json::from_slice(&raw).map_err(|e| bad(e.to_string()))
}

pub(crate) fn ensure_state_dir(root: &Path) -> Result<PathBuf, ApplyError> {
    let dir = root.join(STATE_DIR);
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

/// A file changed with an apply but never shown as a diff (`.env`, which may hold keys), with
/// the mode it must have. It is backed up with the rest, so `undo` puts it back too.
#[derive(Debug, Clone)]
pub struct Quiet {
    pub path: String,
    pub before: Option<String>,
    pub after: String,
    pub mode: Option<u32>,
}

/// Backs up and writes every file of `plan`. All or nothing: if one write fails, the files
/// already written are put back; if the process dies between the first and the last write,
/// the journal lets the next run put them back. One apply at a time (a lock in `.o11y`).
pub fn apply(root: &Path, plan: &Plan) -> Result<Applied, ApplyError> {
    apply_with(root, plan, &[])
}

/// [`apply`], with files that are changed quietly beside the plan's.
pub fn apply_with(root: &Path, plan: &Plan, quiet: &[Quiet]) -> Result<Applied, ApplyError> {
    struct Edit<'a> {
        path: &'a str,
        before: Option<&'a str>,
        after: &'a str,
        mode: Option<u32>,
    }
    let edits: Vec<Edit> = plan
        .edits
        .iter()
        .map(|e| Edit {
            path: &e.path,
            before: e.before.as_deref(),
            after: &e.after,
            mode: None,
        })
        .chain(
            quiet
                .iter()
                .filter(|q| q.before.as_deref() != Some(q.after.as_str()))
                .map(|q| Edit {
                    path: &q.path,
                    before: q.before.as_deref(),
                    after: &q.after,
                    mode: q.mode,
                }),
        )
        .collect();
    let _lock = lock(root)?;
    recover(root)?;
    let mut targets = Vec::new();
    for edit in &edits {
        check_inside(edit.path)?;
        targets.push(target_of(root, edit.path)?);
    }
    let state = ensure_state_dir(root)?;
    let dir = new_backup_dir(&state)?;
    let mut manifest = Manifest { files: Vec::new() };
    for (edit, path) in edits.iter().zip(&targets) {
        // Backups of quiet files keep their mode (a .env is 0600 there too).
        if let Some(before) = edit.before {
            write_atomic(
                &dir.join("before").join(edit.path),
                before.as_bytes(),
                edit.mode,
            )?;
        }
        write_atomic(
            &dir.join("after").join(edit.path),
            edit.after.as_bytes(),
            edit.mode,
        )?;
        manifest.files.push(Entry {
            path: edit.path.to_string(),
            existed: edit.before.is_some(),
            mode: edit.mode.or_else(|| mode_of(path)),
        });
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    write_atomic(&dir.join(MANIFEST), &json, None)?;
    let journal = state.join(JOURNAL);
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    write_atomic(
        &journal,
        &serde_json::to_vec(&Journal { backup: name }).expect("a journal serialises"),
        None,
    )?;

    let mut written: Vec<&Entry> = Vec::new();
    for ((edit, entry), path) in edits.iter().zip(&manifest.files).zip(&targets) {
        if let Err(e) = write_atomic(path, edit.after.as_bytes(), entry.mode) {
            for done in written {
                let _ = restore(root, &dir, done);
            }
            let _ = fs::remove_dir_all(&dir);
            let _ = fs::remove_file(&journal);
            return Err(e);
        }
        written.push(entry);
    }
    fs::remove_file(&journal).map_err(|e| werr(&journal, e))?;
    Ok(Applied {
        backup: rel(root, &dir),
        files: edits.iter().map(|e| e.path.to_string()).collect(),
    })
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn restore(root: &Path, dir: &Path, entry: &Entry) -> Result<bool, ApplyError> {
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
    let _lock = lock(root)?;
    recover(root)?;
    let dir = latest_backup(root).ok_or_else(|| {
        ApplyError::NothingToUndo(root.join(STATE_DIR).join(BACKUPS).display().to_string())
    })?;
    let manifest = read_manifest(&dir)?;
    for entry in &manifest.files {
        check_inside(&entry.path)?;
    }
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
    if latest_backup(root).is_none() {
        // Nothing of o11y's is left to undo: its state folder goes too, and the project is
        // as it was before o11y.
        let _ = fs::remove_dir_all(root.join(STATE_DIR));
    }
    Ok(undone)
}
