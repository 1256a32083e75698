//! What checks, key checks and smoke steps find, as data for `ui/` to show and the commands
//! to turn into an exit status. Uses nothing of the crate but `spec` and `exit`.

use serde::Serialize;

use crate::exit::ExitStatus;
use crate::spec::Integration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Tools,
    Project,
    Secrets,
    Services,
    Runtime,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Tools => "Tools",
            Group::Project => "Project",
            Group::Secrets => "Secrets",
            Group::Services => "Services",
            Group::Runtime => "Runtime",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skip,
    Warn,
    Fail,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub reason: String,
    /// The exact fix, for Warn and Fail.
    pub fix: Option<String>,
}

impl Outcome {
    pub fn ok(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Ok,
            reason: reason.into(),
            fix: None,
        }
    }
    pub fn skip(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Skip,
            reason: reason.into(),
            fix: None,
        }
    }
    pub fn warn(reason: impl Into<String>, fix: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Warn,
            reason: reason.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn fail(reason: impl Into<String>, fix: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Fail,
            reason: reason.into(),
            fix: Some(fix.into()),
        }
    }
}

/// A check's result, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    pub status: Status,
    pub reason: String,
    /// Null when there is nothing to fix.
    pub fix: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

/// The whole run. `schema` versions the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub verdict: Status,
    pub counts: Counts,
    pub checks: Vec<CheckResult>,
    pub duration_ms: u64,
}

impl Report {
    /// Healthy; warnings only (an error under `--strict`); failures.
    pub fn exit_status(&self, strict: bool) -> ExitStatus {
        match self.verdict {
            Status::Fail => ExitStatus::Error,
            Status::Warn if strict => ExitStatus::Warnings,
            _ => ExitStatus::Ok,
        }
    }
}

/// What a service said of a key, in one wording for `init` (which asks again) and `doctor`
/// (which reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Good: what to tell the user, problems that do not stop it from working (why, fix),
    /// and settings that go with the key (e.g. the EU endpoint).
    Good {
        lines: Vec<String>,
        warnings: Vec<(String, String)>,
        settings: Vec<(String, String)>,
    },
    /// The service rejected it: why, and what to do.
    Wrong(String, String),
    /// The service could not be asked (network, rate limit): why, and what to do.
    Unsure(String, String),
}

impl KeyVerdict {
    pub fn good(line: impl Into<String>) -> KeyVerdict {
        KeyVerdict::Good {
            lines: vec![line.into()],
            warnings: Vec::new(),
            settings: Vec::new(),
        }
    }

    /// Every text passed through `clean` (which masks keys), should a service ever quote one.
    pub fn scrubbed(self, clean: impl Fn(&str) -> String) -> KeyVerdict {
        let clean = |t: String| clean(&t);
        match self {
            KeyVerdict::Good {
                lines,
                warnings,
                settings,
            } => KeyVerdict::Good {
                lines: lines.into_iter().map(clean).collect(),
                warnings: warnings
                    .into_iter()
                    .map(|(w, f)| (clean(w), clean(f)))
                    .collect(),
                settings,
            },
            KeyVerdict::Wrong(why, fix) => KeyVerdict::Wrong(clean(why), clean(fix)),
            KeyVerdict::Unsure(why, fix) => KeyVerdict::Unsure(clean(why), clean(fix)),
        }
    }

    /// As a doctor check's outcome.
    pub fn outcome(self) -> Outcome {
        match self {
            KeyVerdict::Good {
                lines, warnings, ..
            } if warnings.is_empty() => Outcome::ok(lines.join("; ")),
            KeyVerdict::Good {
                lines, warnings, ..
            } => {
                let (why, fix): (Vec<String>, Vec<String>) = warnings.into_iter().unzip();
                Outcome::warn(
                    format!("{}; {}", lines.join("; "), why.join("; ")),
                    fix.join("; "),
                )
            }
            KeyVerdict::Wrong(why, fix) | KeyVerdict::Unsure(why, fix) => Outcome::fail(why, fix),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmokeStatus {
    /// Sent, and read back from the service.
    Verified,
    /// Sent and accepted; the service gives no way to read it back (or `--no-verify`).
    Accepted,
    Failed,
}

/// One service's result.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    pub integration: Integration,
    pub status: SmokeStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub duration_ms: u64,
}

/// What one smoke step found.
#[derive(Debug, Clone)]
pub struct Step {
    pub status: SmokeStatus,
    pub detail: String,
    pub fix: Option<String>,
    pub link: Option<String>,
}

impl Step {
    pub fn failed(detail: impl Into<String>, fix: impl Into<String>) -> Step {
        Step {
            status: SmokeStatus::Failed,
            detail: detail.into(),
            fix: Some(fix.into()),
            link: None,
        }
    }

    pub fn accepted(detail: impl Into<String>, link: Option<String>) -> Step {
        Step {
            status: SmokeStatus::Accepted,
            detail: detail.into(),
            fix: None,
            link,
        }
    }

    pub fn verified(detail: impl Into<String>, link: Option<String>) -> Step {
        Step {
            status: SmokeStatus::Verified,
            detail: detail.into(),
            fix: None,
            link,
        }
    }
}
