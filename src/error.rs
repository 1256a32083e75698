//! The top-level error: one line of what went wrong, hints of what to do, an exit code.

use std::fmt;

use crate::patch::apply::ApplyError;
use crate::patch::plan::PlanError;
use crate::project::ProjectError;

/// Exit codes: 0 success, 1 "something to do" (`plan` with pending changes), 2 error.
pub const EXIT_OK: u8 = 0;
pub const EXIT_PENDING: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hints: Vec<String>,
    pub code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hints: vec![hint.into()],
            code: EXIT_ERROR,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ProjectError> for Failure {
    fn from(e: ProjectError) -> Self {
        Failure::new(e.to_string(), e.hint())
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        ProjectError::Parse {
            path: e.path,
            error: e.error,
        }
        .into()
    }
}

impl From<ApplyError> for Failure {
    fn from(e: ApplyError) -> Self {
        Failure::new(e.to_string(), e.hint())
    }
}
