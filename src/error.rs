//! The top-level error: one line of what went wrong, hints of what to do, an exit code.

use std::fmt;

use crate::exit::{ExitStatus, Hint};

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hints: Vec<String>,
    pub status: ExitStatus,
}

impl Failure {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hints: vec![hint.into()],
            status: ExitStatus::Error,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every error that says what to do becomes a failure with `?`.
impl<E: Hint> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::new(e.to_string(), e.hint())
    }
}
