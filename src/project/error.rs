//! Why the project could not be found or read, with what to do about it.

use thiserror::Error;

use crate::patch::ParseError;

/// The compose command this machine has, for hints: `docker compose` (v2), else
/// `docker-compose` (v1) when only that is installed.
pub fn compose_command() -> &'static str {
    static FOUND: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        let v2 = std::process::Command::new("docker")
            .args(["compose", "version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !v2 && which::which("docker-compose").is_ok() {
            "docker-compose"
        } else {
            "docker compose"
        }
    })
}

fn candidates_line(c: &[String]) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!("; these look like compose files: {}", c.join(", "))
    }
}

#[derive(Debug, Error)]
pub enum ProjectError {
    #[error("no compose file found: looked for {names} in {dirs}{}", candidates_line(.candidates))]
    NoCompose {
        names: String,
        dirs: String,
        /// Other files there that look like compose files (`docker-compose-gitpod.yml`).
        candidates: Vec<String>,
    },
    #[error("the compose file {path} ({from}) does not exist")]
    NoSuchCompose { path: String, from: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot read {path}: it is not a regular file but a device, a pipe or a socket (or a link to one)")]
    Special { path: String },
    #[error("{path} is too large for o11y: {}", crate::patch::python::too_large(*.len))]
    TooLarge { path: String, len: usize },
    #[error("{path} is written in the {encoding} encoding (its coding line, line {line}, says so); o11y reads and edits UTF-8 files only")]
    Encoding {
        path: String,
        encoding: String,
        line: usize,
    },
    #[error("{path} is saved as UTF-16 (it starts with a UTF-16 byte-order mark, as PowerShell's `>` writes files); o11y reads and edits UTF-8 files only")]
    Utf16 { path: String },
    #[error("{path}, line {}: {}", .error.line, .error.what)]
    Parse { path: String, error: ParseError },
    #[error("there is no service `{name}` in {compose}; its services are: {list}")]
    NoSuchService {
        name: String,
        compose: String,
        list: String,
    },
    #[error("no service in {compose} builds a Flask backend (a build folder with requirements.txt and a Flask app module); its services are: {list}")]
    NoBackend { compose: String, list: String },
    #[error("several services in {compose} look like a Flask backend: {list}")]
    SeveralBackends { compose: String, list: String },
    #[error("{path} is in the legacy version-1 compose format: its services sit at the top level, with no `services:` section, and docker compose v2 no longer reads it")]
    LegacyCompose { path: String },
    #[error("service `{name}` has no build folder, so o11y cannot find its app.py")]
    NoBuildDir { name: String },
}

impl crate::exit::Hint for ProjectError {
    fn hint(&self) -> String {
        match self {
            ProjectError::NoCompose { candidates, .. } if !candidates.is_empty() => format!(
                "pass the one your workspace starts with `--compose FILE` (`o11y --compose {} plan`), or set COMPOSE_FILE",
                candidates[0]
            ),
            ProjectError::NoCompose { .. } => {
                "run o11y inside your project (the folder with docker-compose.yml), or pass `--project DIR`".into()
            }
            ProjectError::NoSuchCompose { .. } => {
                "check the name (`ls *compose*`), or leave --compose and COMPOSE_FILE out to let o11y look for it".into()
            }
            ProjectError::Read { .. } => {
                "check that the file exists and that you may read it (`ls -l`), then run o11y again".into()
            }
            ProjectError::TooLarge { .. } => {
                "o11y changed nothing; `o11y plan` works again once the module is smaller".into()
            }
            ProjectError::Special { .. } => {
                "o11y changed nothing; put the file itself there (not a device, pipe or socket, nor a link to one), then run o11y again".into()
            }
            ProjectError::Encoding { path, encoding, line } => format!(
                "o11y changed nothing; convert it (`iconv -f {encoding} -t utf-8 {path} > {path}.utf8 && mv {path}.utf8 {path}`) and make line {line} say `# -*- coding: utf-8 -*-` (or remove it), then run o11y again"
            ),
            ProjectError::Utf16 { path } => format!(
                "o11y changed nothing; convert it (`iconv -f UTF-16 -t UTF-8 {path} > {path}.utf8 && mv {path}.utf8 {path}`; pip reads UTF-8 the same), then run o11y again"
            ),
            ProjectError::Parse { path, .. } => format!(
                "o11y changed nothing; fix {path} at that line (or restore it with `git checkout -- {path}`), then run o11y again"
            ),
            ProjectError::NoSuchService { .. } | ProjectError::SeveralBackends { .. } => {
                "pass the backend's service name with `--service NAME`".into()
            }
            ProjectError::NoBackend { .. } => {
                "pass the backend's service name with `--service NAME`, or give it a `build:` folder holding app.py and requirements.txt".into()
            }
            ProjectError::LegacyCompose { path } => format!(
                "o11y changed nothing; move the services of {path} under a top-level `services:` key (indented one level, `links:` can go), check it with `{} config`, then run o11y again",
                compose_command()
            ),
            ProjectError::NoBuildDir { .. } => {
                "give the service a `build: ./backend-flask` (or the folder holding app.py)".into()
            }
        }
    }
}
