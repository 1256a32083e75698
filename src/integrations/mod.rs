//! One module per service. Each owns its environment variables, its requirements, and the Python
//! blocks it adds to the backend; `patch/` applies them without knowing which service they are for.

pub mod aws;
pub mod cloudwatch;
pub mod honeycomb;
pub mod net;
pub mod rollbar;
pub mod xray;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The four services o11y wires in, in the order their pieces appear in every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Integration {
    Honeycomb,
    Xray,
    Cloudwatch,
    Rollbar,
}

impl Integration {
    pub const ALL: [Integration; 4] = [
        Integration::Honeycomb,
        Integration::Xray,
        Integration::Cloudwatch,
        Integration::Rollbar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Integration::Honeycomb => "honeycomb",
            Integration::Xray => "xray",
            Integration::Cloudwatch => "cloudwatch",
            Integration::Rollbar => "rollbar",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Integration::Honeycomb => "Honeycomb",
            Integration::Xray => "AWS X-Ray",
            Integration::Cloudwatch => "CloudWatch Logs",
            Integration::Rollbar => "Rollbar",
        }
    }

    pub fn spec(self) -> &'static Spec {
        match self {
            Integration::Honeycomb => &honeycomb::SPEC,
            Integration::Xray => &xray::SPEC,
            Integration::Cloudwatch => &cloudwatch::SPEC,
            Integration::Rollbar => &rollbar::SPEC,
        }
    }

    /// Whether this integration talks to AWS and so needs the shared AWS credentials and region.
    pub fn uses_aws(self) -> bool {
        matches!(self, Integration::Xray | Integration::Cloudwatch)
    }
}

impl fmt::Display for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Integration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Integration::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "`{s}` is not an integration; choose from honeycomb, xray, cloudwatch, rollbar"
                )
            })
    }
}

/// An environment variable of the backend service. `value` is always a `${VAR}` reference,
/// so that secrets stay in the environment or `.env` and never land in docker-compose.yml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub value: &'static str,
    /// Local mode points it at `o11y listen` (through `.env`), so its value in the compose
    /// file must be a `${VAR}` reference for that to reach the backend.
    pub local: bool,
}

/// The Python files o11y edits, relative to the backend's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PyFile {
    App,
    HomeActivities,
    UserActivities,
}

impl PyFile {
    pub fn rel_path(self) -> &'static str {
        match self {
            PyFile::App => "app.py",
            PyFile::HomeActivities => "services/home_activities.py",
            PyFile::UserActivities => "services/user_activities.py",
        }
    }
}

/// Where a block goes in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// After the last module-level import.
    AfterImports,
    /// Right after `app = Flask(__name__)`.
    AfterAppCreated,
    /// Before `if __name__ == "__main__":`, or at the end of the file.
    BesideRoutes,
    /// First statement of a method (`Class.method`).
    BodyStart {
        class: &'static str,
        method: &'static str,
    },
    /// Before the final `return` of a method.
    BeforeReturn {
        class: &'static str,
        method: &'static str,
    },
}

impl Anchor {
    /// Where to put the block, in words, for a student doing it by hand.
    pub fn describe(self) -> String {
        match self {
            Anchor::AfterImports => "after the imports at the top".into(),
            Anchor::AfterAppCreated => "right after `app = Flask(__name__)`".into(),
            Anchor::BesideRoutes => "next to your other routes".into(),
            Anchor::BodyStart { class, method } => {
                format!("at the start of `{class}.{method}`")
            }
            Anchor::BeforeReturn { class, method } => {
                format!("just before the final `return` of `{class}.{method}`")
            }
        }
    }
}

/// A block of Python that one integration owns. It is written between marker comments
/// (`# >>> o11y:<integration>:<part>` … `# <<< o11y:<integration>:<part>`) so a later run can
/// recognise it, leave it alone, or take it out again.
#[derive(Debug, Clone, Copy)]
pub struct PyBlock {
    pub file: PyFile,
    pub part: &'static str,
    pub anchor: Anchor,
    pub template: &'static str,
}

/// How to tell that a student already did an integration by hand in one file.
#[derive(Debug, Clone, Copy)]
pub struct HandMade {
    pub file: PyFile,
    /// Seen anywhere outside o11y's blocks (comments ignored): the integration was touched by hand.
    pub mentions: &'static [&'static str],
    /// All seen: the hand-made setup is complete and o11y leaves the file alone for it.
    pub complete: &'static [&'static str],
    /// Known flaws of hand-made setups.
    pub flaws: &'static [Flaw],
}

/// A known flaw of a hand-made setup: seen in its code, it is described by `why`.
#[derive(Debug, Clone, Copy)]
pub struct Flaw {
    pub pattern: &'static str,
    pub why: &'static str,
    /// The setup works all the same (a deprecated argument): a warning, not a missing step.
    pub works: bool,
    /// Only a flaw on Flask from this version on: a project that pins Flask below it is fine.
    pub from_flask: Option<&'static str>,
}

/// Everything `patch/` needs to know about one integration.
#[derive(Debug)]
pub struct Spec {
    pub integration: Integration,
    pub packages: &'static [&'static str],
    pub env: &'static [EnvVar],
    pub blocks: &'static [PyBlock],
    pub hand_made: &'static [HandMade],
    /// Its blocks outside the app module use what its own app setup creates (CloudWatch's
    /// "cruddur" logger), so they are left out where the app's setup is a hand-made one.
    pub blocks_need_own_setup: bool,
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

    /// Every text with `secrets` masked, should a service ever quote one.
    pub fn scrubbed(self, secrets: &[&str]) -> KeyVerdict {
        let clean = |t: String| crate::secrets::scrub(&t, secrets);
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
    pub fn outcome(self) -> crate::doctor::Outcome {
        use crate::doctor::Outcome;
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

/// AWS credentials and region, shared by every integration for which `uses_aws` holds.
pub const AWS_ENV: &[EnvVar] = &[
    EnvVar {
        name: "AWS_DEFAULT_REGION",
        value: "${AWS_DEFAULT_REGION}",
        local: false,
    },
    EnvVar {
        name: "AWS_ACCESS_KEY_ID",
        value: "${AWS_ACCESS_KEY_ID}",
        local: false,
    },
    EnvVar {
        name: "AWS_SECRET_ACCESS_KEY",
        value: "${AWS_SECRET_ACCESS_KEY}",
        local: false,
    },
];

/// A client for the smoke steps: short timeouts, no proxy surprises.
pub(crate) fn smoke_client() -> Result<reqwest::Client, String> {
    net::use_one_crypto_library();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())
}

pub(crate) async fn expect_2xx(
    r: Result<reqwest::Response, reqwest::Error>,
) -> Result<String, String> {
    match r {
        Ok(r) if r.status().is_success() => Ok(r.text().await.unwrap_or_default()),
        Ok(r) => {
            let status = r.status();
            Err(format!(
                "answered {status}: {}",
                r.text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
