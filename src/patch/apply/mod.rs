//! The one place in `patch/` that touches the disk: writes a plan's files atomically (temp file
//! + rename, mode kept) after backing every one of them up, and puts them back on `undo`.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::patch::plan::Plan;

mod backup;
mod error;
mod files;
mod lock;
mod recover;

pub(crate) use backup::ensure_state_dir;
use backup::{
    backups, latest_backup, new_backup_dir, read_manifest, restore, Entry, Manifest, BACKUPS,
    JOURNAL, MANIFEST, PENDING,
};
use error::werr;
pub use error::ApplyError;
use files::{check_inside, mode_of, rel};
pub use files::{inside, read_regular, target_of, write_atomic, STATE_DIR};
pub use lock::{lock, Lock};
use recover::Journal;
pub use recover::{recover, Recovered};

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
    use backup::backup_order;

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
