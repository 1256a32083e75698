//! The project lock: one o11y at a time changes a project's files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::patch::apply::error::{werr, ApplyError};

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
    let state = crate::patch::apply::backup::ensure_state_dir(root)?;
    let path = state.join("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| werr(&path, e))?;
    Ok((file, crate::patch::apply::files::rel(root, &path)))
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
