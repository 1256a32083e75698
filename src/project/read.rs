//! Reading a project file: regular files only, bounded, with errors a person can act on.

use std::io;
use std::path::Path;

use crate::project::error::ProjectError;

/// The largest project file o11y reads (an app.py of tens of megabytes is already far past
/// anything written by hand).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Reads a text file, with the errors a person can act on. Only regular files are read (a
/// link to a device or a pipe is refused, never waited on), and at most [`MAX_FILE`] bytes.
pub fn read_text(root: &Path, rel: &str) -> Result<Option<String>, ProjectError> {
    let path = root.join(rel);
    match crate::patch::apply::read_regular(&path, MAX_FILE) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            if e.as_bytes().starts_with(&[0xFF, 0xFE]) || e.as_bytes().starts_with(&[0xFE, 0xFF]) {
                return ProjectError::Utf16 {
                    path: rel.to_string(),
                };
            }
            match crate::patch::python::declared_encoding(e.as_bytes()) {
                Some((encoding, line)) => ProjectError::Encoding {
                    path: rel.to_string(),
                    encoding,
                    line,
                },
                None => ProjectError::Read {
                    path: rel.to_string(),
                    reason: format!(
                        "it is not UTF-8 text (byte {} is not UTF-8; a binary file, or one saved in another encoding?)",
                        e.utf8_error().valid_up_to() + 1
                    ),
                },
            }
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Err(ProjectError::Special {
            path: rel.to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(ProjectError::Read {
            path: rel.to_string(),
            reason: "permission denied".into(),
        }),
        Err(e) => Err(ProjectError::Read {
            path: rel.to_string(),
            reason: e.to_string(),
        }),
    }
}
