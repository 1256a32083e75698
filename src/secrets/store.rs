//! What every store shares: the store trait and its errors, masking, and running a store's
//! command-line tool without ever showing a value.

use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use super::dotenv::{self, DotenvStore};

/// A secret as it may be shown: its last four characters.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 4 {
        return "****".into();
    }
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("****{tail}")
}

/// `text` with every one of `secrets` (of 4 characters or more) masked.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut t = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        t = t.replace(*s, &mask(s));
    }
    t
}

/// Where o11y runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Gitpod user secrets (`ona user secret`; `gp env` on Gitpod Classic), and .env for
    /// this environment.
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

impl crate::exit::Hint for StoreError {
    fn hint(&self) -> String {
        match self {
            StoreError::Dotenv(e) => e.hint(),
            StoreError::Command { command, .. }
                if command.starts_with("gitpod ") || command.starts_with("ona ") =>
            {
                "inside an environment the Gitpod CLI acts as the environment, which cannot manage your secrets: run `ona login` (or `gitpod login`) once, then run o11y again; or use `--store dotenv`".into()
            }
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
pub fn in_dotenv_anyway(e: StoreError) -> StoreError {
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
    /// Where the keys go, as a person reads it.
    fn name(&self) -> &'static str;
    /// What to know once the keys are stored: where they take effect.
    fn after(&self) -> Option<&'static str> {
        None
    }
    /// A value the store holds and can give back (Codespaces secrets cannot be read back).
    fn get(&self, name: &str) -> Option<String>;
    /// Stores every pair; returns what it did.
    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError>;
    /// What would make `put` fail, found before any key is asked for.
    fn preflight(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Runs a store's CLI, with `stdin` fed to it; the error never holds an argument (a value
/// may be one).
pub fn run_tool(
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

impl Store for DotenvStore {
    fn name(&self) -> &'static str {
        ".env (git-ignored, mode 0600)"
    }
    fn kind(&self) -> StoreKind {
        StoreKind::Dotenv
    }

    fn get(&self, name: &str) -> Option<String> {
        let bytes =
            crate::patch::apply::read_regular(&self.root.join(dotenv::FILE), dotenv::MAX_READ)
                .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        dotenv::parse(&dotenv::merge_block(&text, &[]))
            .into_iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v)
    }

    fn preflight(&self) -> Result<(), StoreError> {
        Ok(dotenv::preflight(&self.root)?)
    }

    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError> {
        let w = dotenv::write_keys(&self.root, values)?;
        let names: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        let mut done = vec![if w.changed {
            format!("wrote {} to .env", names.join(", "))
        } else {
            "they are already in .env".to_string()
        }];
        if w.gitignore_updated {
            done.push("added .env to .gitignore".into());
        }
        Ok(done)
    }
}
