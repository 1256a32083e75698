//! How o11y ends: one status per outcome, the number the shell sees, and the trait every error
//! implements to say what to do about it. A leaf: nothing here uses the rest of the crate.

/// What a run of o11y ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done, or nothing to do.
    Ok,
    /// `plan`: changes are pending.
    Pending,
    /// `doctor --strict`: warnings and no failures.
    Warnings,
    /// An error, a failed check or a failed smoke step.
    Error,
    /// Stopped with Ctrl-C.
    Interrupted,
}

impl ExitStatus {
    /// The process's exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Pending | ExitStatus::Warnings => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// An error that tells the user what to do next. Every error that can end a command has one;
/// `error::Failure` takes any of them with `?`.
pub trait Hint: std::fmt::Display {
    fn hint(&self) -> String;
}
