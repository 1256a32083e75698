//! The check runner: every check at once (tokio), each bounded by a timeout, results folded
//! into a report that `ui/` renders as text or JSON and that decides the exit code.

pub mod checks;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::OnceCell;

use crate::integrations::Integration;
use crate::patch::plan::Inputs;
use crate::project::Project;

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

pub type CheckFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One check: an id (stable, for JSON and `--only`), its group, a title, and what it runs.
#[derive(Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    pub group: Group,
    pub title: &'static str,
    /// The integration it belongs to; skipped when that integration is off.
    pub integration: Option<Integration>,
    pub run: fn(Arc<Ctx>) -> CheckFuture,
}

/// Endpoints of the services, after flag > env > o11y.toml > default.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub honeycomb_api: String,
    pub rollbar_api: String,
    /// Where the backend answers when the stack is up.
    pub backend: String,
    /// The overrides in effect, each naming where it came from.
    pub notes: Vec<String>,
}

/// Where a variable read from `.env` came from, in [`Ctx::vars`].
pub const DOTENV: &str = "in .env";

/// Everything the checks look at, gathered once.
pub struct Ctx {
    pub project: Result<Project, String>,
    pub inputs: Option<Inputs>,
    pub enabled: Vec<Integration>,
    /// Variables of this shell, and of `.env` beside the compose file (which docker compose
    /// reads): (value, where it came from).
    pub vars: BTreeMap<String, (String, &'static str)>,
    pub endpoints: Endpoints,
    pub http: reqwest::Client,
    pub timeout: Duration,
    pub aws: OnceCell<aws_config::SdkConfig>,
    pub cwd: PathBuf,
    /// Local mode (`apply --local`): the backend talks to `o11y listen`, not the services.
    pub local: bool,
}

impl Ctx {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The AWS configuration: the SDK's own chain, and the keys and region `init` stored in
    /// `.env` where this shell sets none (an `AWS_PROFILE` or keys set in the shell win).
    pub async fn aws(&self) -> &aws_config::SdkConfig {
        use crate::integrations::aws;
        self.aws
            .get_or_init(|| async {
                let from_env_file = |name: &str| {
                    self.vars
                        .get(name)
                        .filter(|(v, from)| *from == DOTENV && !v.is_empty())
                        .map(|(v, _)| v.clone())
                };
                let shell_has = |name: &str| {
                    self.vars
                        .get(name)
                        .is_some_and(|(v, from)| *from != DOTENV && !v.is_empty())
                };
                let keys = if shell_has("AWS_ACCESS_KEY_ID") || shell_has("AWS_PROFILE") {
                    None
                } else {
                    match (
                        from_env_file("AWS_ACCESS_KEY_ID"),
                        from_env_file("AWS_SECRET_ACCESS_KEY"),
                    ) {
                        (Some(id), Some(secret)) => Some(aws::Keys {
                            id,
                            secret,
                            token: from_env_file("AWS_SESSION_TOKEN"),
                        }),
                        _ => None,
                    }
                };
                let region = if aws::REGION_VARS.iter().any(|v| shell_has(v)) {
                    None
                } else {
                    aws::REGION_VARS.iter().find_map(|v| from_env_file(v))
                };
                let timeout = self.timeout.mul_f64(0.8);
                let cfg = aws::config_with(timeout, keys.as_ref(), None).await;
                match region {
                    // A profile's own region wins over .env's.
                    Some(r) if cfg.region().is_none() => {
                        aws::config_with(timeout, keys.as_ref(), Some(&r)).await
                    }
                    _ => cfg,
                }
            })
            .await
    }

    /// Every key value o11y knows of in this run, to be masked in any text from outside.
    pub fn secret_values(&self) -> Vec<&str> {
        // Real keys are long; a short value (local mode's dummy `local`) is no secret, and
        // masking it would mangle ordinary words.
        crate::secrets::SECRET_VARS
            .iter()
            .filter_map(|n| self.var(n))
            .filter(|v| v.len() >= 8)
            .collect()
    }

    /// The backend's service name: the project's, else the bootcamp's default.
    pub fn service(&self) -> String {
        self.project
            .as_ref()
            .map(|p| p.service.clone())
            .unwrap_or_else(|_| crate::project::DEFAULT_SERVICE.into())
    }

    pub fn root(&self) -> Option<&std::path::Path> {
        self.project.as_ref().ok().map(|p| p.root.as_path())
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
    /// 0 healthy, 1 warnings only (with `strict`), 2 failures.
    pub fn exit_code(&self, strict: bool) -> u8 {
        match self.verdict {
            Status::Fail => 2,
            Status::Warn if strict => 1,
            _ => 0,
        }
    }
}

/// Every check, in the order they are shown.
pub fn registry() -> Vec<Check> {
    let mut all = checks::generic();
    for i in Integration::ALL {
        all.extend(checks::for_integration(i));
    }
    all.sort_by_key(|c| c.group);
    all
}

/// Runs `checks` at once, each within the context's timeout.
pub async fn run(ctx: Arc<Ctx>, checks: Vec<Check>) -> Report {
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in checks {
        let ctx = ctx.clone();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let outcome = if let Some(i) = c.integration.filter(|i| !ctx.enabled.contains(i)) {
                Outcome::skip(format!("{} is switched off (`o11y enable {i}`)", i.title()))
            } else if ctx.local && c.group == Group::Services {
                Outcome::skip("local mode: the backend talks to `o11y listen`, not this service (`o11y apply --cloud` switches back)")
            } else {
                match tokio::time::timeout(ctx.timeout, (c.run)(ctx.clone())).await {
                    Ok(o) => o,
                    Err(_) => Outcome::fail(
                        format!("no answer within {:.0} s", ctx.timeout.as_secs_f64()),
                        "check your network, or give it longer with `--timeout SECS`",
                    ),
                }
            };
            CheckResult {
                id: c.id,
                group: c.group,
                title: c.title,
                status: outcome.status,
                reason: outcome.reason,
                fix: outcome.fix,
                duration_ms: t.elapsed().as_millis() as u64,
            }
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        if let Ok(r) = h.await {
            results.push(r);
        }
    }
    // A service may echo a key back (in an error body, a header dump): never print one.
    let secrets = ctx.secret_values();
    for r in &mut results {
        r.reason = crate::secrets::scrub(&r.reason, &secrets);
        r.fix = r.fix.as_ref().map(|f| crate::secrets::scrub(f, &secrets));
    }
    let mut counts = Counts::default();
    for r in &results {
        match r.status {
            Status::Ok => counts.ok += 1,
            Status::Warn => counts.warn += 1,
            Status::Fail => counts.fail += 1,
            Status::Skip => counts.skip += 1,
        }
    }
    let verdict = if counts.fail > 0 {
        Status::Fail
    } else if counts.warn > 0 {
        Status::Warn
    } else {
        Status::Ok
    };
    Report {
        schema: 1,
        verdict,
        counts,
        checks: results,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_titled() {
        let all = super::registry();
        let mut ids: Vec<&str> = all.iter().map(|c| c.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate check ids");
        assert!(all
            .iter()
            .all(|c| !c.title.is_empty() && c.id.contains('.')));
    }
}
