//! Finding the project: the compose file, the backend service, its folder and files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::patch::compose;
use crate::patch::config::{self, Config};
use crate::patch::plan::{EnvFile, Inputs, Source};
use crate::patch::ParseError;
use crate::spec::Integration;
use crate::spec::PyFile;

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

/// A found project.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    /// The compose file's name, relative to `root`.
    pub compose: String,
    pub service: String,
    /// The backend's folder, relative to `root`.
    pub backend_dir: String,
    /// The module that creates the Flask app, relative to `backend_dir` (`app.py` in Cruddur).
    pub app_file: String,
    pub config: Config,
    /// Every integration o11y knows (the registry's), for reading o11y.toml and markers.
    pub known: Vec<Integration>,
}

fn candidates_line(c: &[String]) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!("; these look like compose files: {}", c.join(", "))
    }
}

/// The compose file of `dir`, as docker compose would take it there: COMPOSE_FILE (of this
/// shell, else of the folder's `.env`), then the standard names; else the file the
/// workspace starts (`docker compose -f docker-compose-gitpod.yml up` in .gitpod.yml or
/// an automations file, `dockerComposeFile` of the dev container). With where it came from.
fn find_compose(dir: &Path) -> Result<Option<(String, String)>, ProjectError> {
    let from_env = std::env::var(crate::env::COMPOSE_FILE)
        .ok()
        .map(|v| (v, "COMPOSE_FILE".to_string()))
        .or_else(|| {
            let text = read_text(dir, ".env").ok().flatten()?;
            crate::patch::envfile::parse(&text)
                .into_iter()
                .find(|(k, _)| k == crate::env::COMPOSE_FILE)
                .map(|(_, v)| (v, "COMPOSE_FILE in .env".to_string()))
        });
    if let Some((list, from)) = from_env.filter(|(v, _)| !v.trim().is_empty()) {
        let sep = std::env::var(crate::env::COMPOSE_PATH_SEPARATOR)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| ":".into());
        let first = list.split(sep.as_str()).next().unwrap_or("").trim();
        let rel = first.trim_start_matches("./").to_string();
        if rel.contains("..") || Path::new(&rel).is_absolute() {
            return Ok(None);
        }
        // Not in this folder: a parent folder may hold it.
        return Ok(dir.join(&rel).is_file().then_some((rel, from)));
    }
    if let Some(n) = COMPOSE_NAMES.iter().find(|n| dir.join(n).is_file()) {
        return Ok(Some((n.to_string(), String::new())));
    }
    Ok(started_compose(dir))
}

/// The compose file a workspace start file names: `-f FILE` / `--file FILE` of a `docker
/// compose` (or `docker-compose`) line, or the dev container's `dockerComposeFile`.
fn started_compose(dir: &Path) -> Option<(String, String)> {
    static FLAG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let flag = FLAG.get_or_init(|| {
        regex::Regex::new(r#"docker[ -]compose\b[^\n]*?(?:-f|--file)(?:\s+|=)["']?([^\s"';&|]+)"#)
            .expect("a valid pattern")
    });
    for start in [
        ".gitpod.yml",
        ".gitpod/automations.yaml",
        ".ona/automations.yaml",
        ".devcontainer/devcontainer.json",
    ] {
        let Ok(Some(text)) = read_text(dir, start) else {
            continue;
        };
        let mut named: Vec<String> = flag
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .collect();
        if start.ends_with(".json") {
            // Relative to the .devcontainer folder.
            let files: Vec<String> =
                match jsonc_parser::parse_to_value(text.as_str(), &Default::default()) {
                    Ok(Some(jsonc_parser::JsonValue::Object(o))) => {
                        match o.get("dockerComposeFile") {
                            Some(jsonc_parser::JsonValue::String(s)) => vec![s.to_string()],
                            Some(jsonc_parser::JsonValue::Array(a)) => a
                                .iter()
                                .filter_map(|x| match x {
                                    jsonc_parser::JsonValue::String(s) => Some(s.to_string()),
                                    _ => None,
                                })
                                .collect(),
                            _ => Vec::new(),
                        }
                    }
                    _ => Vec::new(),
                };
            named.extend(files.into_iter().map(|f| {
                let f = f.trim_start_matches("./").to_string();
                match f.strip_prefix("../") {
                    Some(up) => up.to_string(),
                    None => format!(".devcontainer/{f}"),
                }
            }));
        }
        for n in named {
            let rel = n.trim_start_matches("./").to_string();
            if !rel.contains("..") && !Path::new(&rel).is_absolute() && dir.join(&rel).is_file() {
                return Some((rel, format!("the one {start} starts")));
            }
        }
    }
    None
}

/// Files of `dir` that look like compose files by their name.
fn compose_candidates(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("compose") && (n.ends_with(".yml") || n.ends_with(".yaml")))
        .collect();
    out.sort();
    out
}

/// The largest project file o11y reads (an app.py of tens of megabytes is already far past
/// anything written by hand).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Reads a text file, with the errors a person can act on. Only regular files are read (a
/// link to a device or a pipe is refused, never waited on), and at most [`MAX_FILE`] bytes.
pub fn read_text(root: &Path, rel: &str) -> Result<Option<String>, ProjectError> {
    let path = root.join(rel);
    match crate::patch::apply::read_regular(&path, MAX_FILE) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            if e.as_bytes().starts_with(&[0xFF, 0xFE]) || e.as_bytes().starts_with(&[0xFE, 0xFF]) {
                return ProjectError::Utf16 {
                    path: rel.to_string(),
                };
            }
            match crate::patch::python::declared_encoding(e.as_bytes()) {
                Some((encoding, line)) => ProjectError::Encoding {
                    path: rel.to_string(),
                    encoding,
                    line,
                },
                None => ProjectError::Read {
                    path: rel.to_string(),
                    reason: format!(
                        "it is not UTF-8 text (byte {} is not UTF-8; a binary file, or one saved in another encoding?)",
                        e.utf8_error().valid_up_to() + 1
                    ),
                },
            }
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Err(ProjectError::Special {
            path: rel.to_string(),
        }),
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
    compose_flag: Option<&Path>,
    known: &[Integration],
) -> Result<Project, ProjectError> {
    let mut dirs = Vec::new();
    let mut dir = Some(start);
    let (root, compose) = match compose_flag {
        // `--compose FILE`: relative to the project folder (or this one); its folder is the root.
        Some(flag) => {
            let path = start.join(flag);
            if !path.is_file() {
                return Err(ProjectError::NoSuchCompose {
                    path: flag.display().to_string(),
                    from: "--compose".into(),
                });
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let root = path.parent().unwrap_or(start).to_path_buf();
            (root, name)
        }
        None => {
            loop {
                let Some(d) = dir else {
                    let mut names = COMPOSE_NAMES.join(", ");
                    if let Ok(v) = std::env::var(crate::env::COMPOSE_FILE) {
                        names = format!("COMPOSE_FILE's {v}, {names}");
                    }
                    return Err(ProjectError::NoCompose {
                    names: format!("{names}, and a `docker compose -f FILE` in the workspace's start files"),
                    dirs: if dirs.len() > 1 {
                        format!("{} and its parent folders", dirs[0])
                    } else {
                        dirs.first().cloned().unwrap_or_default()
                    },
                    candidates: compose_candidates(start),
                });
                };
                dirs.push(d.display().to_string());
                if let Some((c, _)) = find_compose(d)? {
                    break (d.to_path_buf(), c);
                }
                dir = if exact { None } else { d.parent() };
            }
        }
    };
    let config = match read_text(&root, config::FILE)? {
        Some(t) => config::parse(&t, known).map_err(|error| ProjectError::Parse {
            path: config::FILE.into(),
            error,
        })?,
        None => Config::default(),
    };
    let text = read_text(&root, &compose)?.unwrap_or_default();
    let services = compose::services(&text).map_err(|error| {
        if error.what == compose::LEGACY {
            ProjectError::LegacyCompose {
                path: compose.clone(),
            }
        } else {
            ProjectError::Parse {
                path: compose.clone(),
                error,
            }
        }
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
                            let dir = context_dir(b);
                            root.join(&dir).join("requirements.txt").is_file()
                                && find_app(&root, &dir, s).is_some()
                        })
                    })
                    .collect();
                // Several built from backend folders (a web and a worker from one folder): the
                // one whose command runs a Flask app; a worker's `python worker.py` or
                // `celery -A tasks worker` runs a module that creates none.
                let flask = if flask.len() > 1 {
                    let running: Vec<_> = flask
                        .iter()
                        .copied()
                        .filter(|s| {
                            runs_flask(
                                &root,
                                &context_dir(s.build_context.as_deref().unwrap_or("")),
                                s,
                            ) == Some(true)
                        })
                        .collect();
                    let maybe: Vec<_> = flask
                        .iter()
                        .copied()
                        .filter(|s| {
                            runs_flask(
                                &root,
                                &context_dir(s.build_context.as_deref().unwrap_or("")),
                                s,
                            ) != Some(false)
                        })
                        .collect();
                    match (running.len(), maybe.len()) {
                        (1, _) => running,
                        (0, 1) => maybe,
                        _ if !maybe.is_empty() => maybe,
                        _ => flask,
                    }
                } else {
                    flask
                };
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
    let app_file = find_app(&root, &backend_dir, &chosen).unwrap_or_else(|| "app.py".into());
    Ok(Project {
        root,
        compose,
        service: chosen.name.clone(),
        backend_dir,
        app_file,
        config,
        known: known.to_vec(),
    })
}

/// The Flask app's module, relative to the backend folder, found as Flask and the servers
/// find it: the service's (or the Dockerfile's) `FLASK_APP`, the module a `gunicorn
/// module:app`, `flask --app X` or `python X.py` command names, Flask's own defaults
/// (`app.py`, `wsgi.py`), and last the one module that calls `Flask(__name__)`.
pub fn find_app(root: &Path, backend_dir: &str, svc: &compose::Service) -> Option<String> {
    let dir = root.join(backend_dir);
    let dockerfile_name = svc.dockerfile.as_deref().unwrap_or("Dockerfile");
    let dockerfile = read_utf8(&dir.join(dockerfile_name)).unwrap_or_default();
    let exists = |rel: &str| existing(&dir, rel);
    let from_spec = |spec: &str| module_file(&dir, spec);
    let flask_app = svc
        .env
        .iter()
        .find(|(n, _)| n == "FLASK_APP")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.contains('$'))
        .or_else(|| dockerfile_env(&dockerfile, "FLASK_APP"));
    if let Some(found) = flask_app.as_deref().and_then(from_spec) {
        return Some(follow_app(&dir, found));
    }
    let command = svc
        .command
        .clone()
        .or_else(|| dockerfile_command(&dockerfile));
    if let Some(found) = command
        .as_deref()
        .and_then(|c| app_in_command(c, &from_spec))
    {
        return Some(follow_app(&dir, found));
    }
    if let Some(found) = exists("app.py").or_else(|| exists("wsgi.py")) {
        return Some(follow_app(&dir, found));
    }
    let mut creating = Vec::new();
    python_files(&dir, "", 0, &mut creating);
    creating.retain(|rel| {
        read_utf8(&dir.join(rel)).is_some_and(|t| crate::patch::python::creates_flask_app(&t))
    });
    match creating.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// `rel` below `dir`, when it is a file there (no `..`).
fn existing(dir: &Path, rel: &str) -> Option<String> {
    let rel = rel.trim_start_matches("./");
    (!rel.contains("..") && dir.join(rel).is_file()).then(|| rel.to_string())
}

/// The file of a module a server or `FLASK_APP` names (`app`, `project.wsgi:app`, `app.py`).
fn module_file(dir: &Path, spec: &str) -> Option<String> {
    let module = spec
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(['"', '\'']);
    if module.ends_with(".py") {
        return existing(dir, module);
    }
    if module.is_empty()
        || !module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    let path = module.replace('.', "/");
    existing(dir, &format!("{path}.py")).or_else(|| existing(dir, &format!("{path}/__init__.py")))
}

/// A file's text, when it is a regular UTF-8 file of at most [`MAX_FILE`] bytes.
fn read_utf8(path: &Path) -> Option<String> {
    crate::patch::apply::read_regular(path, MAX_FILE)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Whether `svc`'s command (its own, else its Dockerfile's) runs a Flask app: `flask run`, or a
/// server or `python` running a module that calls `Flask(...)`; None when it says nothing.
fn runs_flask(root: &Path, backend_dir: &str, svc: &compose::Service) -> Option<bool> {
    let dir = root.join(backend_dir);
    let dockerfile =
        read_utf8(&dir.join(svc.dockerfile.as_deref().unwrap_or("Dockerfile"))).unwrap_or_default();
    let command = svc
        .command
        .clone()
        .or_else(|| dockerfile_command(&dockerfile))?;
    let words: Vec<&str> = command.split_whitespace().collect();
    if words
        .windows(2)
        .any(|w| w[0].ends_with("flask") && w[1] == "run")
    {
        return Some(true);
    }
    let from_spec = |spec: &str| module_file(&dir, spec);
    let module = app_in_command(&command, &from_spec)?;
    let text = read_utf8(&dir.join(follow_app(&dir, module)))?;
    Some(crate::patch::python::creates_flask_app(&text))
}

/// The module that creates the app `rel` serves: `rel` itself when it calls `Flask(...)`,
/// else the backend module it imports the app (or its factory) from, followed up to three
/// steps (`manage.py`: `from project import app` → `project/__init__.py`).
fn follow_app(dir: &Path, rel: String) -> String {
    let read = |rel: &str| read_utf8(&dir.join(rel));
    let mut at = rel.clone();
    for _ in 0..3 {
        let Some(text) = read(&at) else {
            return rel;
        };
        if crate::patch::python::creates_flask_app(&text) {
            return at;
        }
        let package = Path::new(&at)
            .parent()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let next = crate::patch::python::imports(&text)
            .into_iter()
            .find_map(|i| {
                if !i.names.iter().any(|n| n == "app" || n == "create_app") {
                    return None;
                }
                // Relative imports start from the module's package, one folder up for each
                // further dot; absolute ones from the backend folder.
                let mut base = PathBuf::from(if i.dots == 0 { "" } else { package.as_str() });
                for _ in 1..i.dots.max(1) {
                    base.pop();
                }
                let path = base.join(i.module.replace('.', "/"));
                let path = path.to_string_lossy().trim_start_matches('/').to_string();
                [format!("{path}.py"), format!("{path}/__init__.py")]
                    .into_iter()
                    .find(|c| !c.contains("..") && dir.join(c).is_file())
            });
        match next {
            Some(n) => at = n,
            None => return rel,
        }
    }
    if read(&at).is_some_and(|t| crate::patch::python::creates_flask_app(&t)) {
        at
    } else {
        rel
    }
}

/// `.py` files below `dir`, three levels at most, skipping virtualenvs, tests and hidden folders.
fn python_files(base: &Path, rel: &str, depth: usize, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(base.join(rel)) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            let skip = name.starts_with('.')
                || matches!(
                    name.as_str(),
                    "venv"
                        | "env"
                        | "node_modules"
                        | "__pycache__"
                        | "tests"
                        | "test"
                        | "site-packages"
                );
            if depth < 3 && !skip {
                python_files(base, &path, depth + 1, out);
            }
        } else if kind.is_file() && name.ends_with(".py") && out.len() < 500 {
            out.push(path);
        }
    }
}

/// `ENV NAME=value` or `ENV NAME value` in a Dockerfile (the last one wins).
fn dockerfile_env(dockerfile: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in dockerfile.lines() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix("ENV ").or_else(|| t.strip_prefix("env ")) else {
            continue;
        };
        for item in rest.split_whitespace() {
            if let Some(v) = item.strip_prefix(&format!("{name}=")) {
                found = Some(v.trim_matches(['"', '\'']).to_string());
            }
        }
        if let Some(v) = rest.trim().strip_prefix(&format!("{name} ")) {
            found = Some(v.trim().trim_matches(['"', '\'']).to_string());
        }
    }
    found
}

/// The Dockerfile's ENTRYPOINT and CMD, as one line of words.
fn dockerfile_command(dockerfile: &str) -> Option<String> {
    let words = |rest: &str| -> String {
        let rest = rest.trim();
        match serde_json::from_str::<Vec<String>>(rest) {
            Ok(list) => list.join(" "),
            Err(_) => rest.to_string(),
        }
    };
    let (mut entry, mut cmd) = (None, None);
    for line in dockerfile.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("CMD ") {
            cmd = Some(words(rest));
        } else if let Some(rest) = t.strip_prefix("ENTRYPOINT ") {
            entry = Some(words(rest));
        }
    }
    match (entry, cmd) {
        (Some(e), Some(c)) => Some(format!("{e} {c}")),
        (e, c) => e.or(c),
    }
}

/// The app module a command line names.
fn app_in_command(command: &str, from_spec: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let w = w.trim_matches(['"', '\'']);
        if let Some(v) = w.strip_prefix("--app=") {
            return from_spec(v);
        }
        if w == "--app" || w == "-A" {
            return words.get(i + 1).and_then(|v| from_spec(v));
        }
        // `gunicorn module:app` (uvicorn, hypercorn and waitress-serve alike).
        if let Some((module, attr)) = w.split_once(':') {
            let ident = |s: &str| {
                s.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            };
            if ident(module) && ident(attr) && !w.contains('/') {
                if let Some(found) = from_spec(w) {
                    return Some(found);
                }
            }
        }
        if w.ends_with(".py") && i > 0 && words[..i].iter().any(|p| p.contains("python")) {
            return from_spec(w);
        }
    }
    None
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
    /// The backend's folder as messages show it (`.` for the project root).
    pub fn backend_shown(&self) -> &str {
        if self.backend_dir.is_empty() {
            "."
        } else {
            &self.backend_dir
        }
    }

    /// The app module's path, relative to the project root.
    pub fn app_path(&self) -> String {
        join(&self.backend_dir, &self.app_file)
    }

    /// Reads every file the plan looks at.
    pub fn inputs(&self) -> Result<Inputs, ProjectError> {
        let compose =
            source(&self.root, self.compose.clone())?.ok_or_else(|| ProjectError::Read {
                path: self.compose.clone(),
                reason: "it disappeared".into(),
            })?;
        let mut python = Vec::new();
        for f in [PyFile::App, PyFile::HomeActivities, PyFile::UserActivities] {
            let rel = match f {
                PyFile::App => self.app_file.as_str(),
                other => other.rel_path(),
            };
            let src = source(&self.root, join(&self.backend_dir, rel))?;
            if let Some(s) = src
                .as_ref()
                .filter(|s| s.text.len() > crate::patch::python::MAX_PARSE)
            {
                return Err(ProjectError::TooLarge {
                    path: s.path.clone(),
                    len: s.text.len(),
                });
            }
            python.push((f, src));
        }
        let own: Vec<String> = python
            .iter()
            .filter_map(|(_, s)| s.as_ref().map(|s| s.path.clone()))
            .collect();
        let linked = match python.first().and_then(|(_, s)| s.as_ref()) {
            Some(app) => self.linked(app, &own),
            None => Vec::new(),
        };
        let env_files = self.env_files(&compose.text);
        Ok(Inputs {
            compose,
            service: self.service.clone(),
            backend_dir: self.backend_dir.clone(),
            requirements: source(&self.root, join(&self.backend_dir, "requirements.txt"))?,
            python,
            gitpod: source(&self.root, GITPOD_FILE.to_string())?,
            devcontainer: source(&self.root, crate::patch::devcontainer::FILE.to_string())?,
            automations: {
                let mut found = None;
                for f in crate::patch::automations::FILES {
                    if let Some(s) = source(&self.root, f.to_string())? {
                        found = Some(s);
                        break;
                    }
                }
                found
            },
            present: self
                .known
                .iter()
                .flat_map(|i| i.spec().files.iter())
                .map(|f| f.path)
                .chain([crate::patch::gitpod::INSTALL_SCRIPT])
                .filter(|f| self.root.join(f).is_file())
                .map(|f| f.to_string())
                .collect(),
            config: source(&self.root, config::FILE.to_string())?,
            app_file: self.app_file.clone(),
            linked,
            env_files,
        })
    }

    /// The backend's own modules that `app` imports, and theirs in turn (at most 64 files of
    /// 1 MB each), leaving out `skip` (the files read already). Imports that are not files of
    /// the backend (packages, the standard library) are not followed.
    fn linked(&self, app: &Source, skip: &[String]) -> Vec<Source> {
        const MAX_FILES: usize = 64;
        const MAX_BYTES: u64 = 1 << 20;
        let backend = self.root.join(&self.backend_dir);
        let mut seen: Vec<String> = skip.to_vec();
        let mut out: Vec<Source> = Vec::new();
        let mut queue: Vec<(String, String)> = vec![(app.path.clone(), app.text.clone())];
        while let Some((path, text)) = queue.pop() {
            // The folder of the importing module, relative to the backend folder.
            let rel = path
                .strip_prefix(&self.backend_dir)
                .unwrap_or(&path)
                .trim_start_matches('/');
            let here = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for imp in crate::patch::python::imports(&text) {
                let base = if imp.dots == 0 {
                    String::new()
                } else {
                    let mut parts: Vec<&str> = here.split('/').filter(|p| !p.is_empty()).collect();
                    for _ in 1..imp.dots {
                        parts.pop();
                    }
                    parts.join("/")
                };
                let module = imp.module.replace('.', "/");
                let stem = [base.as_str(), module.as_str()]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/");
                let mut candidates = Vec::new();
                if !stem.is_empty() {
                    candidates.push(format!("{stem}.py"));
                    candidates.push(format!("{stem}/__init__.py"));
                }
                for n in &imp.names {
                    let prefix = if stem.is_empty() {
                        String::new()
                    } else {
                        format!("{stem}/")
                    };
                    candidates.push(format!("{prefix}{n}.py"));
                }
                for c in candidates {
                    if out.len() >= MAX_FILES || c.contains("..") {
                        break;
                    }
                    let full = join(&self.backend_dir, &c);
                    if seen.contains(&full) {
                        continue;
                    }
                    let file = backend.join(&c);
                    if !file.is_file() || file.metadata().map_or(true, |m| m.len() > MAX_BYTES) {
                        continue;
                    }
                    seen.push(full.clone());
                    if let Ok(Some(text)) = read_text(&self.root, &full) {
                        queue.push((full.clone(), text.clone()));
                        out.push(Source { path: full, text });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// The env files of every service, each read from disk, or from the template it is
    /// generated from when it does not exist yet.
    fn env_files(&self, compose: &str) -> Vec<EnvFile> {
        let Ok(services) = compose::services(compose) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for svc in services {
            for path in &svc.env_files {
                let rel = path.trim_start_matches("./").to_string();
                if rel.contains("..") || rel.starts_with('/') {
                    continue;
                }
                let mut file = EnvFile {
                    service: svc.name.clone(),
                    path: path.clone(),
                    ..EnvFile::default()
                };
                let text = match read_text(&self.root, &rel) {
                    Ok(Some(t)) => Some(t),
                    _ => env_template(&self.root, &rel).and_then(|t| {
                        let text = read_text(&self.root, &t).ok().flatten();
                        file.template = Some(t);
                        text
                    }),
                };
                file.unread = text.is_none();
                if let Some(text) = text {
                    file.vars = crate::patch::envfile::parse(&text)
                        .into_iter()
                        .filter(|(k, _)| {
                            !k.is_empty()
                                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        })
                        .collect();
                }
                out.push(file);
            }
        }
        out
    }
}

/// The template a missing env file is generated from: `erb/NAME.erb` (the bootcamp's
/// `bin/backend/generate-env`), or `NAME.erb`, `.example`, `.template`, `.sample` beside it.
fn env_template(root: &Path, rel: &str) -> Option<String> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    [
        format!("erb/{name}.erb"),
        format!("{rel}.erb"),
        format!("{rel}.example"),
        format!("{rel}.template"),
        format!("{rel}.sample"),
    ]
    .into_iter()
    .find(|c| root.join(c).is_file())
}
