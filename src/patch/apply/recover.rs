//! Rolling back an apply that was interrupted between its first and its last rename.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::patch::apply::backup::{
    read_manifest_file, restore, BACKUPS, JOURNAL, MANIFEST, PENDING,
};
use crate::patch::apply::error::{werr, ApplyError};
use crate::patch::apply::files::{check_inside, inside, rel, STATE_DIR, TMP};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Journal {
    pub(super) backup: String,
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
