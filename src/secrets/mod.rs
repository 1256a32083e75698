//! Where keys live: this shell's environment, Gitpod's user variables (`gp env`), Codespaces
//! secrets (`gh secret set`, value on stdin), and `.env` beside the compose file (docker compose
//! reads it by itself); and masking for anything shown.
//!
//! `gp env` and Codespaces secrets only reach workspaces started later, so those two stores
//! also write the values into the git-ignored `.env`: `docker compose up` and o11y's own checks
//! work in this workspace at once, and the next workspace gets them from Gitpod or GitHub.

pub mod codespaces;
pub mod dotenv;
pub mod gitpod;

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

/// A secret as it may be shown: its last four characters.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 4 {
        return "****".into();
    }
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("****{tail}")
}

/// The variables that hold keys: their values are never printed.
pub const SECRET_VARS: &[&str] = &[
    "HONEYCOMB_API_KEY",
    "ROLLBAR_ACCESS_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// `text` with every one of `secrets` (of 4 characters or more) masked.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut t = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        t = t.replace(*s, &mask(s));
    }
    t
}

/// Where o11y runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workspace {
    /// A Gitpod workspace; `gp` is its CLI (None when it is not on PATH).
    Gitpod {
        gp: Option<PathBuf>,
    },
    /// A GitHub Codespace; `gh` is GitHub's CLI.
    Codespaces {
        gh: Option<PathBuf>,
    },
    Local,
}

impl Workspace {
    /// From the variables Gitpod (GITPOD_WORKSPACE_ID) and Codespaces (CODESPACES=true) set.
    pub fn detect() -> Workspace {
        let set = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if set("GITPOD_WORKSPACE_ID").is_some() {
            Workspace::Gitpod {
                gp: which::which("gp").ok(),
            }
        } else if set("CODESPACES").as_deref() == Some("true") {
            Workspace::Codespaces {
                gh: which::which("gh").ok(),
            }
        } else {
            Workspace::Local
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Workspace::Gitpod { .. } => "in a Gitpod workspace",
            Workspace::Codespaces { .. } => "in a GitHub Codespace",
            Workspace::Local => "on this machine (not Gitpod or Codespaces)",
        }
    }

    /// The store a user here expects.
    pub fn default_store(&self) -> StoreKind {
        match self {
            Workspace::Gitpod { gp: Some(_) } => StoreKind::Gitpod,
            Workspace::Codespaces { gh: Some(_) } => StoreKind::Codespaces,
            _ => StoreKind::Dotenv,
        }
    }

    /// The expected tool that is missing, with what to do about it.
    pub fn missing_tool(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Workspace::Gitpod { gp: None } => Some((
                "gp",
                "Gitpod's `gp` is not on PATH, so keys go to .env only (they will not follow you to the next workspace); open a Gitpod terminal, or set them in gitpod.io → User settings → Variables",
            )),
            Workspace::Codespaces { gh: None } => Some((
                "gh",
                "GitHub's `gh` is not on PATH, so keys go to .env only (they will not follow you to the next codespace); install it (https://cli.github.com) or set them in GitHub → Settings → Codespaces → Secrets",
            )),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Gitpod user variables (`gp env`), and .env for this workspace.
    Gitpod,
    /// Codespaces user secrets (`gh secret set`), and .env for this codespace.
    Codespaces,
    /// .env beside the compose file (git-ignored, mode 0600).
    Dotenv,
    /// Show `export` lines (masked) and store nothing.
    Print,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Dotenv(#[from] dotenv::DotenvError),
    #[error("`{command}` failed: {reason}")]
    Command { command: String, reason: String },
    #[error("cannot tell which GitHub repository the Codespaces secrets are for")]
    NoRepository,
}

impl StoreError {
    pub fn hint(&self) -> String {
        match self {
            StoreError::Dotenv(e) => e.hint(),
            StoreError::Command { command, .. } if command.starts_with("gp") => {
                "check that you are logged in to Gitpod (`gp env` should list your variables), or use `--store dotenv`".into()
            }
            StoreError::Command { .. } => {
                "check `gh auth status`: setting Codespaces secrets needs a login with the `codespace:secrets` scope (`gh auth login -s codespace:secrets`; in a codespace, `unset GITHUB_TOKEN` first, as the codespace's own token cannot), or use `--store dotenv`".into()
            }
            StoreError::NoRepository => {
                "set GITHUB_REPOSITORY=owner/repo (or add an `origin` remote), or use `--store dotenv`".into()
            }
        }
    }
}

/// A failed `gp`/`gh` call after `.env` was written: say that the keys work here already.
pub(crate) fn in_dotenv_anyway(e: StoreError) -> StoreError {
    match e {
        StoreError::Command { command, reason } => StoreError::Command {
            command,
            reason: format!("{reason} (the keys are in .env, so this workspace has them; only the next ones miss them)"),
        },
        other => other,
    }
}

/// What storing did, line by line, for the person (values masked).
pub type Stored = Vec<String>;

/// One place secrets go.
pub trait Store {
    fn kind(&self) -> StoreKind;
    /// A value the store holds and can give back (Codespaces secrets cannot be read back).
    fn get(&self, name: &str) -> Option<String>;
    /// Stores every pair; returns what it did.
    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError>;
    /// What would make `put` fail, found before any key is asked for.
    fn preflight(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The store of `kind` for the project at `root`.
pub fn open(kind: StoreKind, root: &Path, ws: &Workspace) -> Box<dyn Store> {
    let env = dotenv::DotenvStore {
        root: root.to_path_buf(),
    };
    let tool = |name: &str, found: Option<&PathBuf>| {
        found
            .cloned()
            .or_else(|| which::which(name).ok())
            .unwrap_or_else(|| PathBuf::from(name))
    };
    match kind {
        StoreKind::Dotenv => Box::new(env),
        StoreKind::Print => Box::new(Print),
        StoreKind::Gitpod => {
            let gp = match ws {
                Workspace::Gitpod { gp } => tool("gp", gp.as_ref()),
                _ => tool("gp", None),
            };
            Box::new(gitpod::GitpodStore { gp, env })
        }
        StoreKind::Codespaces => {
            let gh = match ws {
                Workspace::Codespaces { gh } => tool("gh", gh.as_ref()),
                _ => tool("gh", None),
            };
            Box::new(codespaces::CodespacesStore {
                gh,
                root: root.to_path_buf(),
                env,
            })
        }
    }
}

/// `--store print`: nothing is kept; the lines to export are shown masked.
pub struct Print;

impl Store for Print {
    fn kind(&self) -> StoreKind {
        StoreKind::Print
    }
    fn get(&self, _: &str) -> Option<String> {
        None
    }
    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError> {
        Ok(values
            .iter()
            .map(|(k, v)| format!("export {k}={}", mask(v)))
            .collect())
    }
}

/// Runs a store's CLI, with `stdin` fed to it; the error never holds an argument (a value
/// may be one).
pub(crate) fn run_tool(
    program: &Path,
    args: &[&str],
    shown: &str,
    stdin: Option<&str>,
    secret: Option<&str>,
) -> Result<String, StoreError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let fail = |reason: String| StoreError::Command {
        command: shown.to_string(),
        reason,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", program.display())))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A program that exits before reading closes the pipe: its own error says why.
        if let Err(e) = pipe.write_all(text.as_bytes()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("cannot write to it: {e}")));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let mut first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        if let Some(s) = secret.filter(|s| !s.is_empty()) {
            first = first.replace(s, &mask(s));
        }
        Err(fail(format!(
            "exit {}{}",
            out.status.code().unwrap_or(-1),
            if first.is_empty() {
                String::new()
            } else {
                format!(": {first}")
            }
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_all_but_four() {
        assert_eq!(super::mask("hcaik_abcdefgh1234"), "****1234");
        assert_eq!(super::mask("abc"), "****");
    }
}
