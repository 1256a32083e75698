//! What a plan is made from and what it is: the project's files as read, the target state,
//! and the edits, notes and manual steps that bring one to the other.

use serde::Serialize;

use crate::patch::{ManualStep, ParseError};
use crate::spec::{Integration, PyFile};

pub use crate::patch::Source;

/// One file's change: its path, its text before (None: created) and after.
pub(super) type Edit = (String, Option<String>, String);

/// The project's files, read by `project::`.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub compose: Source,
    pub service: String,
    /// The backend folder, relative to the project root ("" when it is the root).
    pub backend_dir: String,
    pub requirements: Option<Source>,
    pub python: Vec<(PyFile, Option<Source>)>,
    pub gitpod: Option<Source>,
    /// .devcontainer/devcontainer.json, when the project has one (Codespaces, the current
    /// Gitpod).
    pub devcontainer: Option<Source>,
    /// .gitpod/automations.yaml (the current Gitpod's start tasks), when the project has one.
    pub automations: Option<Source>,
    /// Which of the files integrations create exist already.
    pub present: Vec<String>,
    pub config: Option<Source>,
    /// The module that creates the Flask app, relative to the backend folder.
    pub app_file: String,
    /// Backend modules the app module imports, followed through their own imports: where a
    /// grown project keeps its setups (`lib/honeycomb.py` with `init_honeycomb(app)`).
    pub linked: Vec<Source>,
    /// What services read with `env_file:`.
    pub env_files: Vec<EnvFile>,
}

/// A file of variables a compose service reads with `env_file:`.
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    pub service: String,
    /// As written in the compose file.
    pub path: String,
    /// The template the file is generated from, read in its place when the file itself is
    /// missing (`erb/backend-flask.env.erb` for `backend-flask.env`).
    pub template: Option<String>,
    /// Its variables: (name, value as written).
    pub vars: Vec<(String, String)>,
    /// Neither the file nor a template of it could be read: what it sets is unknown.
    pub unread: bool,
}

impl Inputs {
    /// The path of a Python file, relative to the project root.
    pub fn path_of(&self, file: PyFile) -> String {
        match file {
            PyFile::App => join(&self.backend_dir, &self.app_file),
            other => join(&self.backend_dir, other.rel_path()),
        }
    }

    /// The variables `service` gets from its env files, with the file each came from.
    pub fn env_file_vars(&self, service: &str) -> Vec<(&str, &str, &EnvFile)> {
        self.env_files
            .iter()
            .filter(|f| f.service == service)
            .flat_map(|f| f.vars.iter().map(move |(n, v)| (n.as_str(), v.as_str(), f)))
            .collect()
    }
}

impl EnvFile {
    /// The file's name for messages: the template when that is what was read.
    pub fn shown(&self) -> String {
        match &self.template {
            Some(t) => format!("{} (from {t})", self.path),
            None => self.path.clone(),
        }
    }
}

/// What to bring the project to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Every integration o11y knows, in registry order.
    pub all: Vec<Integration>,
    /// Integrations switched on; the others are taken out where o11y put them.
    pub enabled: Vec<Integration>,
    /// Restrict this run to these integrations' changes (`--only`).
    pub only: Option<Vec<Integration>>,
    /// Local mode: the backend in compose must reach `o11y listen` on the host.
    pub local: bool,
    /// Switched on even where the student switched it off by hand (`o11y enable NAME`).
    pub forced: Vec<Integration>,
    /// Whose hand-made setup in the app module is replaced by o11y's (`apply --adopt NAME`).
    pub adopt: Vec<Integration>,
}

/// One file's change.
#[derive(Debug, Clone, Serialize)]
pub struct FileEdit {
    pub path: String,
    /// None when the file is created.
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: String,
    pub created: bool,
    pub added_lines: usize,
    pub removed_lines: usize,
}

/// Every change of one run, and what is left for the user to do by hand.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub edits: Vec<FileEdit>,
    pub manual: Vec<ManualStep>,
    /// Things found done by hand and left alone.
    pub notes: Vec<String>,
    /// Integrations set up by hand, where, and what is worth a warning about them.
    #[serde(skip)]
    pub hand: Vec<HandFound>,
}

/// An integration found set up by hand and left alone.
#[derive(Debug, Clone)]
pub struct HandFound {
    pub integration: Integration,
    /// Where: the app module, and the modules it imports that hold the setup.
    pub path: String,
    /// A flaw that does not stop it from working.
    pub warning: Option<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
}

/// A file that stops the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub path: String,
    pub error: ParseError,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, line {}: {}",
            self.path, self.error.line, self.error.what
        )
    }
}

impl crate::exit::Hint for PlanError {
    fn hint(&self) -> String {
        format!(
            "o11y changed nothing; fix {} at that line (or restore it with `git checkout -- {}`), then run o11y again",
            self.path, self.path
        )
    }
}

pub(super) fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || dir == "." {
        rel.to_string()
    } else {
        format!("{}/{rel}", dir.trim_end_matches('/'))
    }
}
