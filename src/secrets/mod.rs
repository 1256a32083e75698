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
mod store;

pub use store::{
    in_dotenv_anyway, mask, run_tool, scrub, Store, StoreError, StoreKind, Stored, SECRET_VARS,
};

use std::path::{Path, PathBuf};

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

#[cfg(test)]
mod tests {
    #[test]
    fn masks_all_but_four() {
        assert_eq!(super::mask("hcaik_abcdefgh1234"), "****1234");
        assert_eq!(super::mask("abc"), "****");
    }
}
