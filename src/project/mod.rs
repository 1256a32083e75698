//! Finding the project: the compose file, the backend service, its folder and files.

use std::path::{Path, PathBuf};

use crate::patch::compose;
use crate::patch::config::{self, Config};
use crate::patch::plan::{EnvFile, Inputs, Source};
use crate::spec::Integration;
use crate::spec::PyFile;

mod app;
mod discover;
mod error;
mod read;

pub use app::find_app;
use app::runs_flask;
pub use discover::COMPOSE_NAMES;
use discover::{compose_candidates, find_compose};
pub use error::{compose_command, ProjectError};
pub use read::{read_text, MAX_FILE};

pub const DEFAULT_SERVICE: &str = "backend-flask";
pub const GITPOD_FILE: &str = ".gitpod.yml";

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
