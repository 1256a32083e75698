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
/// The manifest of an apply still under way: renamed to [`MANIFEST`] once every file is
/// written, so `undo` only ever sees whole applies.
const PENDING: &str = "manifest.pending.json";
/// Written before the first file of an apply is replaced, removed after the last: while it
/// exists, an apply was interrupted, and the next run rolls it back from its backup.
const JOURNAL: &str = "journal.json";
/// Where temp files wait for their rename: inside `.o11y`, which git ignores.
const TMP: &str = "tmp";

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
    #[error("another o11y is changing this project right now (it holds the lock on {lock})")]
    Busy { lock: String },
    #[error("{path} changed while o11y was working on it (another program or editor wrote it); nothing was changed")]
    Stale { path: String },
    #[error("cannot write {path} ({reason}), and not every file could be put back yet")]
    HalfRolledBack { path: String, reason: String },
    #[error("{path} leads through the link {link} to {target}, outside the project")]
    LinkedDir {
        path: String,
        link: String,
        target: String,
    },
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
            ApplyError::HalfRolledBack { .. } => "free some space (or make the folder writable), then run any o11y command: it first puts every file back from the backup in .o11y".into(),
            ApplyError::Stale { .. } => "save and close the file in your editor, then run the same o11y command again: it plans from the file as it is now".into(),
            ApplyError::LinkedDir { link, .. } => format!("o11y edits only files inside the project: replace the link `{link}` with the folder itself (or make the change by hand; `o11y plan` shows it)"),
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
    /// Earlier applies that still have a backup, which another `undo` takes back.
    pub remaining: usize,
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

/// Where a project file really gets written: its real location, every link on the way
/// resolved (the file itself, or a folder above it). A location outside the project (a file
/// link, or a folder link such as `services -> /elsewhere`), and a read-only file, are refused:
/// replacing either through a rename would do what the user did not ask for.
pub fn target_of(root: &Path, rel: &str) -> Result<PathBuf, ApplyError> {
    let path = root.join(rel);
    let real_root = fs::canonicalize(root).map_err(|e| werr(root, e))?;
    // The deepest part of the path that exists; what is below it gets created there.
    let mut existing = path.clone();
    let mut missing = Vec::new();
    while fs::symlink_metadata(&existing).is_err() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let link_to = |p: &Path| {
        fs::canonicalize(p)
            .or_else(|_| fs::read_link(p))
            .map(|t| t.display().to_string())
            .unwrap_or_default()
    };
    let real = match fs::canonicalize(&existing) {
        Ok(r) if r.starts_with(&real_root) => r,
        // A dangling link, or one that leads out: name the link itself.
        _ => {
            let mut prefix = root.to_path_buf();
            for part in Path::new(rel).components() {
                prefix.push(part);
                if fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink()) {
                    let link = self::rel(root, &prefix);
                    return Err(if prefix == path {
                        ApplyError::Symlink {
                            path: rel.to_string(),
                            target: link_to(&prefix),
                        }
                    } else {
                        ApplyError::LinkedDir {
                            path: rel.to_string(),
                            target: link_to(&prefix),
                            link,
                        }
                    });
                }
            }
            return Err(ApplyError::Outside {
                path: rel.to_string(),
            });
        }
    };
    let real = missing.iter().rev().fold(real, |p, n| p.join(n));
    if fs::metadata(&real).is_ok_and(|m| m.permissions().readonly()) {
        return Err(ApplyError::ReadOnly {
            path: rel.to_string(),
        });
    }
    Ok(real)
}

/// Reads the regular file at `path` (links followed), at most `max` bytes. A device, a pipe
/// or a socket is refused without waiting on it (`/dev/zero` never ends, a FIFO blocks its
/// reader), and the bound holds on the bytes read, not on the size the file reports.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading waits for a writer; non-blocking, it returns at once.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a folder, not a file",
        ));
    }
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file but a device, a pipe or a socket",
        ));
    }
    let mut out = Vec::with_capacity(meta.len().min(max) as usize);
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it is larger than {} MB", max / 1_000_000),
        ));
    }
    Ok(out)
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

/// Held while o11y reads and changes the project's files; a second o11y waits for it a
/// little, then stops with a clear message instead of losing one of the two runs' changes.
///
/// The lock is on the project folder itself (on Unix), which no o11y command deletes, so it
/// outlives an `undo` that removes `.o11y`. Within one process it is re-entrant: a command
/// takes it before it reads the files it plans from, and the writes it calls take it again.
pub struct Lock {
    key: PathBuf,
}

struct Held {
    key: PathBuf,
    count: usize,
    _file: fs::File,
}

static HELD: std::sync::Mutex<Vec<Held>> = std::sync::Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<Held>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Lock {
    fn drop(&mut self) {
        let mut held = held();
        if let Some(i) = held.iter().position(|h| h.key == self.key) {
            held[i].count -= 1;
            if held[i].count == 0 {
                held.remove(i);
            }
        }
    }
}

/// The file whose lock stands for the project's.
#[cfg(unix)]
fn lock_file(root: &Path) -> Result<(fs::File, String), ApplyError> {
    let file = fs::File::open(root).map_err(|e| werr(root, e))?;
    Ok((file, format!("the folder {}", root.display())))
}

/// Elsewhere a folder cannot be opened as a file: a lock file in `.o11y`, which Windows does
/// not let anyone delete while it is open.
#[cfg(not(unix))]
fn lock_file(root: &Path) -> Result<(fs::File, String), ApplyError> {
    let state = ensure_state_dir(root)?;
    let path = state.join("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| werr(&path, e))?;
    Ok((file, rel(root, &path)))
}

pub fn lock(root: &Path) -> Result<Lock, ApplyError> {
    let key = fs::canonicalize(root).map_err(|e| werr(root, e))?;
    if let Some(h) = held().iter_mut().find(|h| h.key == key) {
        h.count += 1;
        return Ok(Lock { key });
    }
    let (file, shown) = lock_file(&key)?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            Err(_) => return Err(ApplyError::Busy { lock: shown }),
        }
    }
    held().push(Held {
        key: key.clone(),
        count: 1,
        _file: file,
    });
    Ok(Lock { key })
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    backup: String,
}

/// Rolls back an apply that was interrupted (killed, power lost) between its first and its
/// last rename: every file of it is put back from its backup, and the stray temp files go.
/// Returns how many files were put back, when there was such an apply. Call with the lock held.
pub fn recover(root: &Path) -> Result<Option<Recovered>, ApplyError> {
    let state = root.join(STATE_DIR);
    let _ = clear_temp(&state);
    let journal = state.join(JOURNAL);
    let Ok(raw) = fs::read(&journal) else {
        sweep_partial(&state);
        return Ok(None);
    };
    let j: Journal = serde_json::from_slice(&raw).map_err(|e| ApplyError::BadBackup {
        dir: rel(root, &journal),
        reason: e.to_string(),
    })?;
    let dir = state.join(BACKUPS).join(&j.backup);
    let manifest = [PENDING, MANIFEST]
        .iter()
        .map(|m| dir.join(m))
        .find(|m| m.is_file());
    let Some(manifest) = manifest.filter(|_| inside(&j.backup)) else {
        // The journal is written after the manifest: without one, nothing was replaced yet.
        let _ = fs::remove_file(&journal);
        sweep_partial(&state);
        return Ok(Some(Recovered::default()));
    };
    let committed = manifest.ends_with(MANIFEST);
    let manifest = read_manifest_file(&dir, &manifest)?;
    let whole = manifest.files.iter().all(|e| {
        fs::read(root.join(&e.path)).ok() == fs::read(dir.join("after").join(&e.path)).ok()
    });
    if committed && whole {
        // Every file was written and the manifest committed: only the journal's removal was
        // missed. The apply is whole; `undo` takes it back.
        fs::remove_file(&journal).map_err(|e| werr(&journal, e))?;
        return Ok(None);
    }
    let mut done = Recovered::default();
    for entry in &manifest.files {
        check_inside(&entry.path)?;
        // Only what o11y left there goes back: o11y's `after`, or the `before` not yet
        // replaced. A file someone changed since is theirs, and stays.
        let now = fs::read(root.join(&entry.path)).ok();
        let after = fs::read(dir.join("after").join(&entry.path)).ok();
        let before = fs::read(dir.join("before").join(&entry.path)).ok();
        let ours = now == after || now == before || (now.is_none() && !entry.existed);
        if ours {
            restore(root, &dir, entry)?;
            done.restored += 1;
        } else {
            done.kept.push(entry.path.clone());
        }
    }
    let _ = fs::remove_dir_all(&dir);
    fs::remove_file(&journal).map_err(|e| werr(&journal, e))?;
    sweep_partial(&state);
    Ok(Some(done))
}

/// What [`recover`] did: files put back, and files left as someone changed them since.
#[derive(Debug, Default)]
pub struct Recovered {
    pub restored: usize,
    pub kept: Vec<String>,
}

/// Removes backup folders of applies that never got as far as replacing a file (no journal
/// names them, and they have no finished manifest): they would only confuse `undo`.
fn sweep_partial(state: &Path) {
    for e in fs::read_dir(state.join(BACKUPS))
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("undone-") && p.is_dir() && !p.join(MANIFEST).is_file() {
            let _ = fs::remove_dir_all(&p);
        }
    }
}

fn clear_temp(state: &Path) -> std::io::Result<()> {
    for e in fs::read_dir(state.join(TMP))? {
        let _ = fs::remove_file(e?.path());
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest, ApplyError> {
    read_manifest_file(dir, &dir.join(MANIFEST))
}

fn read_manifest_file(dir: &Path, file: &Path) -> Result<Manifest, ApplyError> {
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
fn backup_order(name: &str) -> (u64, String, u64) {
    let (head, tail) = name.split_once('-').unwrap_or((name, ""));
    let legacy = head.len() == 16 && head.as_bytes()[8] == b'T';
    match (legacy, head.parse::<u64>()) {
        (false, Ok(seq)) => (seq, tail.to_string(), 0),
        _ => (0, head.to_string(), tail.parse().unwrap_or(1)),
    }
}

fn new_backup_dir(state: &Path) -> Result<PathBuf, ApplyError> {
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
    // The plan was made from these files: if one is not what it was then, the plan is stale.
    for (edit, path) in edits.iter().zip(&targets) {
        unchanged(edit.path, path, edit.before)?;
    }
    let state = ensure_state_dir(root)?;
    let dir = new_backup_dir(&state)?;
    let journal = state.join(JOURNAL);
    let backed_up = (|| {
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
        write_atomic(&dir.join(PENDING), &json, None)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        write_atomic(
            &journal,
            &serde_json::to_vec(&Journal { backup: name }).expect("a journal serialises"),
            None,
        )?;
        Ok(manifest)
    })();
    let manifest = match backed_up {
        Ok(m) => m,
        Err(e) => {
            // Disk full, say: no half backup is left for `undo` to trip over.
            let _ = fs::remove_file(&journal);
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
    };

    let mut written: Vec<&Entry> = Vec::new();
    for ((edit, entry), path) in edits.iter().zip(&manifest.files).zip(&targets) {
        let wrote = unchanged(edit.path, path, edit.before)
            .and_then(|()| write_atomic(path, edit.after.as_bytes(), entry.mode));
        if let Err(e) = wrote {
            let put_back = written.iter().all(|done| restore(root, &dir, done).is_ok());
            if !put_back {
                // The backup and the journal stay: the next run finishes putting files back.
                return Err(ApplyError::HalfRolledBack {
                    path: edit.path.to_string(),
                    reason: e.to_string(),
                });
            }
            let _ = fs::remove_dir_all(&dir);
            let _ = fs::remove_file(&journal);
            return Err(e);
        }
        written.push(entry);
    }
    fs::rename(dir.join(PENDING), dir.join(MANIFEST)).map_err(|e| werr(&dir, e))?;
    fs::remove_file(&journal).map_err(|e| werr(&journal, e))?;
    Ok(Applied {
        backup: rel(root, &dir),
        files: edits.iter().map(|e| e.path.to_string()).collect(),
    })
}

/// Whether the file at `path` still holds `before` (`None`: it must not exist).
fn unchanged(rel: &str, path: &Path, before: Option<&str>) -> Result<(), ApplyError> {
    let now = match fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(werr(path, e)),
    };
    if now.as_deref() == before.map(str::as_bytes) {
        Ok(())
    } else {
        Err(ApplyError::Stale {
            path: rel.to_string(),
        })
    }
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

/// The backups of whole applies not undone yet, oldest first.
fn backups(root: &Path) -> Vec<PathBuf> {
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
fn latest_backup(root: &Path) -> Option<PathBuf> {
    backups(root).pop()
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
        remaining: 0,
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
    undone.remaining = backups(root).len();
    if undone.remaining == 0 {
        // Nothing of o11y's is left to undo: its state folder goes too, and the project is
        // as it was before o11y.
        let _ = fs::remove_dir_all(root.join(STATE_DIR));
    }
    Ok(undone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::plan::FileEdit;

    fn plan_of(path: &str, before: Option<&str>, after: &str) -> Plan {
        Plan {
            edits: vec![FileEdit {
                path: path.into(),
                before: before.map(str::to_string),
                after: after.into(),
                created: before.is_none(),
                added_lines: 1,
                removed_lines: 0,
            }],
            ..Plan::default()
        }
    }

    fn backups(root: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(root.join(STATE_DIR).join(BACKUPS))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn undo_goes_back_one_apply_at_a_time_past_ten_in_one_second() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        fs::write(&file, "0\n").unwrap();
        for n in 1..=25 {
            let before = fs::read_to_string(&file).unwrap();
            apply(
                dir.path(),
                &plan_of("f.txt", Some(&before), &format!("{before}{n}\n")),
            )
            .unwrap();
        }
        for n in (1..=25).rev() {
            let want: String = (0..n).map(|i| format!("{i}\n")).collect();
            undo(dir.path(), false).unwrap();
            assert_eq!(
                fs::read_to_string(&file).unwrap(),
                want,
                "after undoing apply {n}"
            );
        }
        assert!(matches!(
            undo(dir.path(), false),
            Err(ApplyError::NothingToUndo(_))
        ));
    }

    #[test]
    fn backups_are_ordered_by_sequence_not_text() {
        let mut names = vec![
            "0010-20990101T000000Z",
            "0009-20990101T000000Z",
            "20990101T000000Z-10",
            "20990101T000000Z-9",
            "20990101T000000Z",
        ];
        names.sort_by_key(|n| backup_order(n));
        assert_eq!(
            names,
            [
                "20990101T000000Z",
                "20990101T000000Z-9",
                "20990101T000000Z-10",
                "0009-20990101T000000Z",
                "0010-20990101T000000Z"
            ]
        );
    }

    #[test]
    fn a_file_changed_since_the_plan_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        fs::write(&file, "planned from\n").unwrap();
        let plan = plan_of("f.txt", Some("planned from\n"), "o11y's\n");
        fs::write(&file, "changed meanwhile\n").unwrap();
        let e = apply(dir.path(), &plan).unwrap_err();
        assert!(matches!(e, ApplyError::Stale { .. }), "{e}");
        assert!(e.to_string().contains("nothing was changed"), "{e}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "changed meanwhile\n");
        assert!(backups(dir.path()).is_empty(), "{:?}", backups(dir.path()));
        // A file the plan creates must still be missing.
        fs::write(dir.path().join("new.txt"), "someone else's").unwrap();
        let e = apply(dir.path(), &plan_of("new.txt", None, "o11y's")).unwrap_err();
        assert!(matches!(e, ApplyError::Stale { .. }), "{e}");
    }

    #[test]
    fn an_orphan_backup_never_makes_undo_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        fs::write(&file, "a\n").unwrap();
        apply(dir.path(), &plan_of("f.txt", Some("a\n"), "b\n")).unwrap();
        // What an apply that died while writing its backup leaves: a newer folder, half full,
        // with no journal naming it.
        let orphan = dir.path().join(".o11y/backups/9999-20990101T000000Z");
        fs::create_dir_all(orphan.join("before")).unwrap();
        fs::write(orphan.join("before/f.txt"), "zzz").unwrap();
        fs::write(orphan.join(PENDING), r#"{"files":[]}"#).unwrap();
        let undone = undo(dir.path(), false).unwrap();
        assert_eq!(undone.restored, ["f.txt"]);
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\n");
        assert!(!orphan.exists(), "the orphan backup was left");
    }

    fn two_files_applied(dir: &Path) -> String {
        fs::write(dir.join("a.txt"), "a0").unwrap();
        fs::write(dir.join("b.txt"), "b0").unwrap();
        let mut plan = plan_of("a.txt", Some("a0"), "a1");
        plan.edits.extend(plan_of("b.txt", Some("b0"), "b1").edits);
        apply(dir, &plan).unwrap();
        backups(dir).pop().unwrap()
    }

    #[test]
    fn recovery_puts_back_only_what_o11y_left_and_keeps_later_edits() {
        let dir = tempfile::tempdir().unwrap();
        let name = two_files_applied(dir.path());
        // Killed before the manifest was committed; then someone edits b.txt.
        let b = dir.path().join(STATE_DIR).join(BACKUPS).join(&name);
        fs::rename(b.join(MANIFEST), b.join(PENDING)).unwrap();
        fs::write(
            dir.path().join(STATE_DIR).join(JOURNAL),
            format!(r#"{{"backup": "{name}"}}"#),
        )
        .unwrap();
        fs::write(dir.path().join("b.txt"), "mine").unwrap();
        let r = recover(dir.path()).unwrap().unwrap();
        assert_eq!((r.restored, r.kept), (1, vec!["b.txt".to_string()]));
        assert_eq!(fs::read_to_string(dir.path().join("a.txt")).unwrap(), "a0");
        assert_eq!(
            fs::read_to_string(dir.path().join("b.txt")).unwrap(),
            "mine"
        );
        assert!(!dir.path().join(STATE_DIR).join(JOURNAL).exists());
    }

    #[test]
    fn a_whole_apply_whose_journal_stayed_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let name = two_files_applied(dir.path());
        fs::write(
            dir.path().join(STATE_DIR).join(JOURNAL),
            format!(r#"{{"backup": "{name}"}}"#),
        )
        .unwrap();
        assert!(recover(dir.path()).unwrap().is_none());
        assert_eq!(fs::read_to_string(dir.path().join("a.txt")).unwrap(), "a1");
        undo(dir.path(), false).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("b.txt")).unwrap(), "b0");
    }

    #[test]
    fn the_lock_is_reentrant_within_a_process_and_outlives_the_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let outer = lock(dir.path()).unwrap();
        let inner = lock(dir.path()).unwrap();
        drop(inner);
        fs::create_dir_all(dir.path().join(STATE_DIR)).unwrap();
        fs::remove_dir_all(dir.path().join(STATE_DIR)).unwrap();
        // Another process (another open file description) cannot take it meanwhile.
        let other = fs::File::open(dir.path()).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(outer);
        other.try_lock().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_and_reads_are_bounded_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = read_regular(&fifo, 1024).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 2048]).unwrap();
        assert_eq!(
            read_regular(&big, 1024).unwrap_err().kind(),
            std::io::ErrorKind::FileTooLarge
        );
        assert_eq!(read_regular(&big, 2048).unwrap().len(), 2048);
    }
}
