//! Reading and writing one project file safely: atomic writes through a git-ignored temp
//! folder, the real location of a path with every link resolved and refused when it leaves
//! the project, and bounded reads of regular files only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::patch::apply::error::{werr, ApplyError};

pub const STATE_DIR: &str = ".o11y";

/// Where temp files wait for their rename: inside `.o11y`, which git ignores.
pub(super) const TMP: &str = "tmp";

pub(super) fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

#[cfg(unix)]
pub(super) fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
pub(super) fn mode_of(_path: &Path) -> Option<u32> {
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

pub(super) fn check_inside(rel: &str) -> Result<(), ApplyError> {
    if inside(rel) {
        Ok(())
    } else {
        Err(ApplyError::Outside {
            path: rel.to_string(),
        })
    }
}
