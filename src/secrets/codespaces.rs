//! Codespaces user secrets: `gh secret set NAME --app codespaces --user --repos OWNER/REPO`,
//! with the value on stdin (never in argv, where other processes could read it). A secret
//! reaches codespaces started (or restarted) later, and cannot be read back, so the values go
//! to `.env` too, for this codespace.

use std::path::PathBuf;

use super::dotenv::DotenvStore;
use super::store::{mask, run_tool, Store, StoreError, StoreKind, Stored};

pub struct CodespacesStore {
    pub gh: PathBuf,
    pub root: PathBuf,
    pub env: DotenvStore,
}

/// OWNER/REPO from a git remote URL (https or ssh form).
pub fn repo_of_remote(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/').trim_end_matches(".git");
    let path = url
        .split_once("github.com/")
        .or_else(|| url.split_once("github.com:"))?
        .1;
    let mut parts = path.split('/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !repo.is_empty() && parts.next().is_none())
        .then(|| format!("{owner}/{repo}"))
}

impl CodespacesStore {
    /// The repository: GITHUB_REPOSITORY (Codespaces sets it), else the `origin` remote.
    pub fn repository(&self) -> Option<String> {
        if let Ok(r) = std::env::var(crate::env::GITHUB_REPOSITORY) {
            if r.contains('/') {
                return Some(r);
            }
        }
        let out = std::process::Command::new("git")
            .current_dir(&self.root)
            .args(["remote", "get-url", "origin"])
            .output()
            .ok()?;
        repo_of_remote(&String::from_utf8_lossy(&out.stdout))
    }
}

impl Store for CodespacesStore {
    fn name(&self) -> &'static str {
        "your Codespaces secrets (`gh secret set`) and .env"
    }
    fn after(&self) -> Option<&'static str> {
        Some("The keys are in .env for this codespace and in your Codespaces secrets for the next ones (or after a restart).")
    }
    fn kind(&self) -> StoreKind {
        StoreKind::Codespaces
    }

    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name)
    }

    fn preflight(&self) -> Result<(), StoreError> {
        self.repository().ok_or(StoreError::NoRepository)?;
        self.env.preflight()
    }

    /// `.env` first, so this codespace has the keys even when `gh` fails.
    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError> {
        let repo = self.repository().ok_or(StoreError::NoRepository)?;
        let mut done = self.env.put(values)?;
        for (k, v) in values {
            let args = [
                "secret",
                "set",
                k.as_str(),
                "--app",
                "codespaces",
                "--user",
                "--repos",
                repo.as_str(),
            ];
            run_tool(
                &self.gh,
                &args,
                &format!("gh {}", args.join(" ")),
                Some(v),
                Some(v),
            )
            .map_err(super::store::in_dotenv_anyway)?;
            done.push(format!(
                "gh secret set {k} (value {}) for codespaces of {repo}",
                mask(v)
            ));
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::repo_of_remote;

    #[test]
    fn repository_from_remote_urls() {
        assert_eq!(
            repo_of_remote("https://github.com/ann/aws-bootcamp-cruddur-2023.git\n").as_deref(),
            Some("ann/aws-bootcamp-cruddur-2023")
        );
        assert_eq!(
            repo_of_remote("git@github.com:ann/cruddur.git").as_deref(),
            Some("ann/cruddur")
        );
        assert_eq!(repo_of_remote("https://gitlab.com/ann/cruddur"), None);
        assert_eq!(repo_of_remote(""), None);
    }
}
