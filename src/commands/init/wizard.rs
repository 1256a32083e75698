//! The wizard's state, and what its steps share.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cli::InitArgs;
use crate::report::KeyVerdict;
use crate::secrets::{Store, StoreKind};
use crate::spec::Integration;
use crate::ui::Printer;

/// Tries at a prompt before init gives up.
pub(super) const TRIES: usize = 3;

pub(super) type Verdict = KeyVerdict;

/// Where a value came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Stdin,
    Env,
    Store,
    Chain,
    Prompt,
}

impl Source {
    pub(super) fn describe(self, store: StoreKind) -> String {
        match self {
            Source::Stdin => "from stdin".into(),
            Source::Env => "from this shell's environment".into(),
            Source::Store => match store {
                StoreKind::Gitpod => "from .env or your Gitpod variables".into(),
                _ => "from .env".into(),
            },
            Source::Chain => "from your AWS profile or SSO".into(),
            Source::Prompt => "typed in".into(),
        }
    }
}

pub(super) struct Wizard<'a> {
    pub a: &'a InitArgs,
    pub out: &'a Printer,
    pub interactive: bool,
    pub store: Box<dyn Store>,
    pub stdin: BTreeMap<&'static str, String>,
    pub rt: tokio::runtime::Runtime,
    pub http: reqwest::Client,
    pub timeout: Duration,
    /// The API of each integration that has one.
    pub apis: BTreeMap<Integration, String>,
    /// The backend's service (a classic Honeycomb key's dataset).
    pub service: String,
    /// What will be stored, in order.
    pub values: Vec<(String, String)>,
}

pub(super) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Why a key cannot be right as typed: keys are printable ASCII with no spaces.
pub(super) fn odd_characters(value: &str) -> Option<String> {
    if value.chars().any(|c| c.is_whitespace()) {
        Some("it has a space in it; keys have none".into())
    } else if value.chars().any(|c| c.is_control() || !c.is_ascii()) {
        Some("it has characters no key has (invisible ones, or letters outside ASCII)".into())
    } else {
        None
    }
}

impl Wizard<'_> {
    pub(super) fn keep(&mut self, var: &str, value: String) {
        self.values.retain(|(k, _)| k != var);
        self.values.push((var.to_string(), value));
    }
}
