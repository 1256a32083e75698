//! Where keys live: this shell's environment, the current Gitpod's user secrets (`gitpod user
//! secret`), Gitpod Classic's user variables (`gp env`), Codespaces
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

pub use store::{in_dotenv_anyway, mask, run_tool, scrub, Store, StoreError, StoreKind, Stored};

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workspace {
    /// An environment of the current Gitpod (Ona, a dev container); `gitpod` is its CLI.
    Gitpod {
        cli: Option<PathBuf>,
    },
    /// A Gitpod Classic workspace (sunset, but some still use one); `gp` is its CLI.
    GitpodClassic {
        gp: Option<PathBuf>,
    },
    /// A GitHub Codespace; `gh` is GitHub's CLI.
    Codespaces {
        gh: Option<PathBuf>,
    },
    Local,
}

impl Workspace {
    /// From this process's environment.
    pub fn detect() -> Workspace {
        Workspace::from_vars(|k| std::env::var(k).ok())
    }

    /// From the variables each workspace sets: GITPOD_ENVIRONMENT_ID (the current Gitpod),
    /// GITPOD_WORKSPACE_ID (Gitpod Classic), CODESPACES=true (Codespaces).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Workspace {
        let set = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if set(crate::env::GITPOD_ENVIRONMENT_ID).is_some() {
            Workspace::Gitpod {
                cli: gitpod::find_cli(),
            }
        } else if set(crate::env::GITPOD_WORKSPACE_ID).is_some() {
            Workspace::GitpodClassic {
                gp: which::which("gp").ok(),
            }
        } else if set(crate::env::CODESPACES).as_deref() == Some("true") {
            Workspace::Codespaces {
                gh: which::which("gh").ok(),
            }
        } else {
            Workspace::Local
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Workspace::Gitpod { .. } => "in a Gitpod environment (the current Gitpod, Ona)",
            Workspace::GitpodClassic { .. } => "in a Gitpod Classic workspace",
            Workspace::Codespaces { .. } => "in a GitHub Codespace",
            Workspace::Local => "on this machine (not Gitpod or Codespaces)",
        }
    }

    /// The workspace's CLI and whether it was found.
    pub fn tool(&self) -> Option<(&'static str, bool)> {
        match self {
            Workspace::Gitpod { cli } => Some(("ona", cli.is_some())),
            Workspace::GitpodClassic { gp } => Some(("gp", gp.is_some())),
            Workspace::Codespaces { gh } => Some(("gh", gh.is_some())),
            Workspace::Local => None,
        }
    }

    /// The store a user here expects. In the current Gitpod, its user secrets when its CLI can
    /// take the values without putting them in argv and may manage the user's secrets
    /// (`gitpod login` done); else `.env`, with `--store gitpod` to choose them anyway.
    pub fn default_store(&self, root: &Path) -> StoreKind {
        match self {
            Workspace::Gitpod { cli: Some(cli) } => {
                let store = gitpod::UserSecrets {
                    cli: cli.clone(),
                    root: root.to_path_buf(),
                    env: dotenv::DotenvStore {
                        root: root.to_path_buf(),
                    },
                };
                if store.ready_and_safe() {
                    StoreKind::Gitpod
                } else {
                    StoreKind::Dotenv
                }
            }
            Workspace::GitpodClassic { gp: Some(_) } => StoreKind::Gitpod,
            Workspace::Codespaces { gh: Some(_) } => StoreKind::Codespaces,
            _ => StoreKind::Dotenv,
        }
    }

    /// The expected tool that is missing, with what to do about it.
    pub fn missing_tool(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Workspace::Gitpod { cli: None } => Some((
                "ona",
                "the Gitpod CLI (`ona`, formerly `gitpod`) is not on PATH, so keys go to .env only (they will not follow you to your next environment); install it (https://ona.com/docs/ona/integrations/cli), or add them as user secrets in the Gitpod dashboard (Settings, Secrets)",
            )),
            Workspace::GitpodClassic { gp: None } => Some((
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
        StoreKind::Gitpod => match ws {
            // The Gitpod at hand picks the CLI; elsewhere, the one that is installed.
            Workspace::GitpodClassic { gp } => Box::new(gitpod::GitpodStore {
                gp: tool("gp", gp.as_ref()),
                env,
            }),
            Workspace::Gitpod { cli } => Box::new(gitpod::UserSecrets {
                cli: cli.clone().unwrap_or_else(|| tool("ona", None)),
                root: root.to_path_buf(),
                env,
            }),
            _ => match gitpod::find_cli().filter(|_| which::which("gp").is_err()) {
                Some(cli) => Box::new(gitpod::UserSecrets {
                    cli,
                    root: root.to_path_buf(),
                    env,
                }),
                None => Box::new(gitpod::GitpodStore {
                    gp: tool("gp", None),
                    env,
                }),
            },
        },
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
    fn name(&self) -> &'static str {
        "nowhere (--store print shows them)"
    }
    fn after(&self) -> Option<&'static str> {
        Some("The keys are in no file: in the terminal where you run docker compose, run `eval \"$(o11y init --store print --reveal --yes --no-smoke)\"` first.")
    }
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
