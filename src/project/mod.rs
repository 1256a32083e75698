//! Finding the project: the compose file, the backend service, its folder and files.

pub mod config;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::integrations::PyFile;
use crate::patch::compose;
use crate::patch::plan::{Inputs, Source};
use crate::patch::ParseError;
use config::Config;

/// Compose file names, in the order docker compose itself prefers them.
pub const COMPOSE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
pub const DEFAULT_SERVICE: &str = "backend-flask";
pub const GITPOD_FILE: &str = ".gitpod.yml";

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

#[derive(Debug, Error)]
pub enum ProjectError {
    #[error("no compose file found: looked for {names} in {dirs}")]
    NoCompose { names: String, dirs: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}, line {}: {}", .error.line, .error.what)]
    Parse { path: String, error: ParseError },
    #[error("there is no service `{name}` in {compose}; its services are: {list}")]
    NoSuchService {
        name: String,
        compose: String,
        list: String,
    },
    #[error("no service in {compose} builds a Flask backend (a build folder with app.py and requirements.txt); its services are: {list}")]
    NoBackend { compose: String, list: String },
    #[error("several services in {compose} look like a Flask backend: {list}")]
    SeveralBackends { compose: String, list: String },
    #[error("service `{name}` has no build folder, so o11y cannot find its app.py")]
    NoBuildDir { name: String },
}

impl ProjectError {
    pub fn hint(&self) -> String {
        match self {
            ProjectError::NoCompose { .. } => {
                "run o11y inside your project (the folder with docker-compose.yml), or pass `--project DIR`".into()
            }
            ProjectError::Read { .. } => {
                "check that the file exists and that you may read it (`ls -l`), then run o11y again".into()
            }
            ProjectError::Parse { path, .. } => format!(
                "o11y changed nothing; fix {path} at that line (or restore it with `git checkout -- {path}`), then run o11y again"
            ),
            ProjectError::NoSuchService { .. } | ProjectError::SeveralBackends { .. } => {
                "pass the backend's service name with `--service NAME`".into()
            }
            ProjectError::NoBackend { .. } => {
                "pass the backend's service name with `--service NAME`, or give it a `build:` folder holding app.py and requirements.txt".into()
            }
            ProjectError::NoBuildDir { .. } => {
                "give the service a `build: ./backend-flask` (or the folder holding app.py)".into()
            }
        }
    }
}

/// A found project.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// The compose file's name, relative to `root`.
    pub compose: String,
    pub service: String,
    /// The backend's folder, relative to `root`.
    pub backend_dir: String,
    pub config: Config,
}

fn find_compose(dir: &Path) -> Option<String> {
    COMPOSE_NAMES
        .iter()
        .find(|n| dir.join(n).is_file())
        .map(|n| n.to_string())
}

/// Reads a text file, with the errors a person can act on.
pub fn read_text(root: &Path, rel: &str) -> Result<Option<String>, ProjectError> {
    let path = root.join(rel);
    match fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ProjectError::Read {
                path: rel.to_string(),
                reason: "it is not UTF-8 text (a binary file?)".into(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(ProjectError::Read {
            path: rel.to_string(),
            reason: "permission denied".into(),
        }),
        Err(e) => Err(ProjectError::Read {
            path: rel.to_string(),
            reason: e.to_string(),
        }),
    }
}

fn context_dir(ctx: &str) -> String {
    let c = ctx.trim().trim_start_matches("./").trim_end_matches('/');
    if c == "." {
        String::new()
    } else {
        c.to_string()
    }
}

/// Finds the project from `start` (walking up to its parents unless `exact`).
pub fn detect(
    start: &Path,
    exact: bool,
    service_flag: Option<&str>,
) -> Result<Project, ProjectError> {
    let mut dirs = Vec::new();
    let mut dir = Some(start);
    let (root, compose) = loop {
        let Some(d) = dir else {
            return Err(ProjectError::NoCompose {
                names: COMPOSE_NAMES.join(", "),
                dirs: if dirs.len() > 1 {
                    format!("{} and its parent folders", dirs[0])
                } else {
                    dirs.first().cloned().unwrap_or_default()
                },
            });
        };
        dirs.push(d.display().to_string());
        if let Some(c) = find_compose(d) {
            break (d.to_path_buf(), c);
        }
        dir = if exact { None } else { d.parent() };
    };
    let config = match read_text(&root, config::FILE)? {
        Some(t) => config::parse(&t).map_err(|error| ProjectError::Parse {
            path: config::FILE.into(),
            error,
        })?,
        None => Config::default(),
    };
    let text = read_text(&root, &compose)?.unwrap_or_default();
    let services = compose::services(&text).map_err(|error| ProjectError::Parse {
        path: compose.clone(),
        error,
    })?;
    let list = services
        .iter()
        .map(|s| match &s.build_context {
            Some(b) => format!("{} (build {b})", s.name),
            None => format!("{} (image only)", s.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let wanted = service_flag.map(str::to_string).or(config.service.clone());
    let chosen = match wanted {
        Some(name) => services
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .ok_or_else(|| ProjectError::NoSuchService {
                name: name.clone(),
                compose: compose.clone(),
                list: list.clone(),
            })?,
        None => match services.iter().find(|s| s.name == DEFAULT_SERVICE) {
            Some(s) => s.clone(),
            None => {
                let flask: Vec<_> = services
                    .iter()
                    .filter(|s| {
                        s.build_context.as_ref().is_some_and(|b| {
                            let d = root.join(context_dir(b));
                            d.join("app.py").is_file() && d.join("requirements.txt").is_file()
                        })
                    })
                    .collect();
                match flask.as_slice() {
                    [one] => (*one).clone(),
                    [] => return Err(ProjectError::NoBackend { compose, list }),
                    many => {
                        return Err(ProjectError::SeveralBackends {
                            compose,
                            list: many
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        })
                    }
                }
            }
        },
    };
    let backend_dir = match &chosen.build_context {
        Some(b) => context_dir(b),
        None if root.join(DEFAULT_SERVICE).join("app.py").is_file() => DEFAULT_SERVICE.to_string(),
        None => {
            return Err(ProjectError::NoBuildDir {
                name: chosen.name.clone(),
            })
        }
    };
    Ok(Project {
        root,
        compose,
        service: chosen.name.clone(),
        backend_dir,
        config,
    })
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

fn source(root: &Path, rel: String) -> Result<Option<Source>, ProjectError> {
    Ok(read_text(root, &rel)?.map(|text| Source { path: rel, text }))
}

impl Project {
    /// Reads every file the plan looks at.
    pub fn inputs(&self) -> Result<Inputs, ProjectError> {
        let compose =
            source(&self.root, self.compose.clone())?.ok_or_else(|| ProjectError::Read {
                path: self.compose.clone(),
                reason: "it disappeared".into(),
            })?;
        let mut python = Vec::new();
        for f in [PyFile::App, PyFile::HomeActivities, PyFile::UserActivities] {
            python.push((
                f,
                source(&self.root, join(&self.backend_dir, f.rel_path()))?,
            ));
        }
        Ok(Inputs {
            compose,
            service: self.service.clone(),
            backend_dir: self.backend_dir.clone(),
            requirements: source(&self.root, join(&self.backend_dir, "requirements.txt"))?,
            python,
            gitpod: source(&self.root, GITPOD_FILE.to_string())?,
            devcontainer: source(&self.root, crate::patch::devcontainer::FILE.to_string())?,
            sampling_rule: source(
                &self.root,
                crate::integrations::xray::SAMPLING_RULE_PATH.to_string(),
            )?,
            config: source(&self.root, config::FILE.to_string())?,
        })
    }
}
