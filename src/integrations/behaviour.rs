//! What an integration is, as behaviour: its checks, its key verdict, its smoke steps and its
//! fixes, each a plain function so that an integration is one static value.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::context::{Check, Ctx};
use crate::report::{KeyVerdict, Step};
use crate::spec::Spec;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A secret to check with its service.
pub struct KeyCheck {
    pub http: reqwest::Client,
    /// The integration's API (after overrides).
    pub api: String,
    pub secret: String,
    /// The backend's service name.
    pub service: String,
}

/// How a smoke step runs.
#[derive(Debug, Clone, Copy)]
pub struct SmokeOpts {
    /// Read the signal back where the service allows it.
    pub verify: bool,
    /// How long to wait for it to be readable.
    pub wait: Duration,
}

/// A test signal for a local receiver: the client, its host and port, the service name.
pub struct LocalTarget {
    pub http: reqwest::Client,
    pub host: String,
    pub port: u16,
    pub service: String,
}

/// One integration: its data and its behaviour.
pub struct Def {
    pub spec: &'static Spec,
    /// Its doctor checks, its code check among them.
    pub checks: fn() -> Vec<Check>,
    /// What its service says of its secret (the first of `spec.secrets`).
    pub verdict: Option<fn(KeyCheck) -> BoxFuture<KeyVerdict>>,
    /// One real test signal, read back where the service allows it.
    pub smoke: fn(Arc<Ctx>, SmokeOpts) -> BoxFuture<Step>,
    /// One test signal to its receiver in `o11y listen`: what was taken, or why not.
    pub local_smoke: fn(LocalTarget) -> BoxFuture<Result<String, String>>,
    /// What `doctor --fix` does for its failing checks.
    pub fixes: &'static [Fix],
    /// Its checks (besides `NAME.code`) that a re-apply of o11y's changes fixes.
    pub fixed_by_apply: &'static [&'static str],
}

/// A fix `doctor --fix` can make: the check it answers, and what it does (what was done, or
/// why it could not be).
pub struct Fix {
    pub check: &'static str,
    pub run: fn(Arc<Ctx>) -> BoxFuture<Result<String, String>>,
}
