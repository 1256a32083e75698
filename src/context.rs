//! What checks and smoke steps work with: the project, its files, the variables of this shell
//! and `.env`, the endpoints, one HTTP client and the AWS configuration, gathered once; and the
//! check type each integration and `doctor` define their checks with.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::OnceCell;

use crate::patch::plan::{plan, Inputs, Target};
use crate::project::Project;
use crate::report::{Group, Outcome};
use crate::spec::Integration;

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
    /// The API of each integration that has one.
    pub apis: BTreeMap<Integration, String>,
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
    /// Why the project's files could not be read, and what to do, when they could not.
    pub unreadable: Option<(String, String)>,
    pub enabled: Vec<Integration>,
    /// Every integration o11y knows (the registry's).
    pub all: Vec<Integration>,
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

impl Endpoints {
    /// The API of `i` (its default when none was resolved).
    pub fn api(&self, i: Integration) -> &str {
        self.apis
            .get(&i)
            .map(String::as_str)
            .or(i.spec().api.map(|a| a.default))
            .unwrap_or("")
    }
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
        use crate::net::aws;
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
        crate::spec::secret_vars(&self.all)
            .into_iter()
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

pub fn ready(o: Outcome) -> CheckFuture {
    Box::pin(async move { o })
}

pub const NO_PROJECT: &str = "no project found (see the project check)";

/// The plan for this project, restricted to `only`; None without a project.
pub fn plan_for(
    c: &Ctx,
    only: Option<Vec<Integration>>,
) -> Option<Result<crate::patch::plan::Plan, String>> {
    let inputs = c.inputs.as_ref()?;
    let target = Target {
        all: c.all.clone(),
        enabled: c.enabled.clone(),
        only,
        local: false,
        forced: Vec::new(),
        adopt: Vec::new(),
    };
    Some(
        plan(inputs, &target)
            .map_err(|e| format!("{}, line {}: {}", e.path, e.error.line, e.error.what)),
    )
}

/// Runs `f`, one such call at a time in this process. The checks run at once, and each plan or
/// code check holds a syntax tree of the module it reads (about 50 bytes for each byte of
/// it): one at a time, a doctor holds one tree, not one per integration.
pub fn one_at_a_time<T>(f: impl FnOnce() -> T) -> T {
    static PARSING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = PARSING.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

pub fn code_check(c: Arc<Ctx>, i: Integration) -> CheckFuture {
    ready(one_at_a_time(|| code_outcome(&c, i)))
}

fn code_outcome(c: &Ctx, i: Integration) -> Outcome {
    match plan_for(c, Some(vec![i])) {
        None => Outcome::skip(NO_PROJECT),
        Some(Err(e)) => Outcome::fail(e, "fix the file at that line, then run `o11y doctor` again"),
        Some(Ok(p)) => {
            let py: Vec<&str> = p
                .edits
                .iter()
                .filter(|e| e.path.ends_with(".py"))
                .map(|e| e.path.as_str())
                .collect();
            let unreachable: Vec<String> = c
                .inputs
                .iter()
                .flat_map(|inp| inp.python.iter().map(move |(f, s)| (inp.path_of(*f), s)))
                .filter_map(|(path, s)| {
                    let s = s.as_ref()?;
                    let dead = crate::patch::python::unreachable_blocks(&s.text, &c.all);
                    dead.iter().find(|b| b.integration == i).map(|b| {
                        format!(
                            "{path}, line {}",
                            crate::patch::python::line_of(&s.text, b.start)
                        )
                    })
                })
                .collect();
            let hand = p.hand.iter().find(|h| h.integration == i);
            if !unreachable.is_empty() {
                Outcome::fail(
                    format!(
                        "o11y's {} block at {} comes after a `return`, so it never runs",
                        i.title(),
                        unreachable.join(", ")
                    ),
                    format!("move the block (from its `# >>> o11y:` line to its `# <<< o11y:` line) above that `return`, or delete it and run `o11y apply` (`o11y plan --only {i}` shows the code)"),
                )
            } else if let Some(m) = p.manual.iter().find(|m| m.integration == i.name()) {
                Outcome::fail(
                    format!("{}: {}", m.file, m.reason),
                    format!("{} (`o11y plan --only {i}` shows the code)", m.place),
                )
            } else if !py.is_empty() {
                Outcome::fail(
                    format!("{} not wired into {}", i.title(), py.join(", ")),
                    "run `o11y apply` (or `o11y doctor --fix`)",
                )
            } else if let Some(h) = hand {
                match &h.warning {
                    Some(w) => Outcome::warn(
                        format!("set up by hand in {}; {w}", h.path),
                        "nothing is broken; update that code when you next touch it",
                    ),
                    None => Outcome::ok(format!("set up by hand in {}, complete", h.path)),
                }
            } else if p.notes.iter().any(|n| n.starts_with(i.title())) {
                Outcome::ok("set up by hand, complete")
            } else {
                Outcome::ok("wired in by o11y")
            }
        }
    }
}

/// A required variable: present (where from), or the Gitpod trap, or missing.
pub fn secret_present(c: &Ctx, name: &str, what: &str) -> Outcome {
    if let Some((v, from)) = c.vars.get(name).filter(|(v, _)| !v.is_empty()) {
        let dummy = c
            .all
            .iter()
            .flat_map(|i| i.spec().secrets.iter())
            .find(|s| s.var == name)
            .map(|s| s.local_dummy);
        if dummy == Some(v.as_str()) {
            return Outcome::ok(format!(
                "{name} is set ({from}) to local mode's dummy value (`o11y listen` checks no key)"
            ));
        }
        return Outcome::ok(format!(
            "{name} is set ({from}), ending in {}",
            &crate::secrets::mask(v)[4..]
        ));
    }
    if c.var("GITPOD_WORKSPACE_ID").is_some() {
        let listed = std::process::Command::new("gp")
            .args(["env"])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.starts_with(&format!("{name}=")))
            })
            .unwrap_or(false);
        if listed {
            return Outcome::fail(
                format!("{name} was set with `gp env` but is not in this shell: `gp env` only reaches workspaces started later"),
                "run `eval \"$(gp env -e)\"` in this terminal (or restart the workspace), then run `o11y doctor` again",
            );
        }
    }
    Outcome::fail(
        format!("{name} ({what}) is not set in this shell or in .env"),
        format!("run `o11y init` (it asks for it, checks it and stores it), or put `{name}=...` in the .env beside docker-compose.yml (git-ignored)"),
    )
}

/// Whether some socket listens on UDP `port` (from /proc/net/udp and udp6).
pub fn udp_listening(port: u16) -> bool {
    let hex = format!(":{port:04X}");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|local| local.ends_with(&hex))
            })
    })
}

/// The backend's variables as written in the compose file: name → value.
pub fn backend_env(c: &Ctx) -> Option<Result<Vec<(String, String)>, String>> {
    let inputs = c.inputs.as_ref()?;
    let names = crate::patch::compose::env_names(&inputs.compose.text, &inputs.service);
    Some(
        names
            .map_err(|e| format!("{}, line {}: {}", inputs.compose.path, e.line, e.what))
            .map(|names| {
                let text = &inputs.compose.text;
                names
                    .into_iter()
                    .map(|n| {
                        let v = text
                            .lines()
                            .map(str::trim)
                            .find_map(|l| {
                                let l = l
                                    .trim_start_matches("- ")
                                    .trim_matches('"')
                                    .trim_matches('\'');
                                l.strip_prefix(&format!("{n}:"))
                                    .or_else(|| l.strip_prefix(&format!("{n}=")))
                            })
                            .unwrap_or("")
                            .trim()
                            .trim_matches('"')
                            .trim_matches('\'')
                            .to_string();
                        (n, v)
                    })
                    .collect()
            }),
    )
}
