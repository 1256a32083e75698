//! Pure text-in/text-out editors, one per kind of file, plus the plan that gathers their edits.
//! Nothing here reads or writes a file except `apply`, which owns the atomic write and the backup.

pub mod apply;
pub mod automations;
pub mod compose;
pub mod config;
pub mod devcontainer;
pub mod envfile;
pub mod gitpod;
pub mod plan;
pub mod python;
pub mod requirements;
mod text;

use thiserror::Error;

/// A file that o11y will not edit, with the line it stumbled on.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{what} (line {line})")]
pub struct ParseError {
    pub line: usize,
    pub what: String,
}

impl ParseError {
    pub fn new(line: usize, what: impl Into<String>) -> Self {
        ParseError {
            line,
            what: what.into(),
        }
    }
}

/// A change o11y cannot make safely: the snippet and where it goes, for the user to place by hand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManualStep {
    pub file: String,
    pub integration: String,
    pub reason: String,
    pub place: String,
    pub snippet: String,
}

/// A file as read from the project, path relative to the project root.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
}
