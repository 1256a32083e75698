//! Why a write or an undo stopped, with what to do about it.

use std::path::Path;

use thiserror::Error;

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

pub(super) fn werr(path: &Path, e: impl std::fmt::Display) -> ApplyError {
    ApplyError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
