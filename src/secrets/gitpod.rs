//! Gitpod user variables: `gp env NAME=value` keeps a value for every later workspace of this
//! repository. `gp env` takes the value only as an argument (it has no stdin form), so it is
//! briefly visible to other processes of this workspace; the workspace is the user's own.
//! The current workspace does not see the new values (`eval "$(gp env -e)"` loads them into a
//! shell), so the values go to `.env` too, where docker compose and o11y find them at once.

use std::path::PathBuf;

use super::dotenv::DotenvStore;
use super::store::{mask, run_tool, Store, StoreError, StoreKind, Stored};

pub struct GitpodStore {
    pub gp: PathBuf,
    pub env: DotenvStore,
}

impl GitpodStore {
    /// NAME=value lines of `gp env`.
    fn listed(&self) -> Vec<(String, String)> {
        run_tool(&self.gp, &["env"], "gp env", None, None)
            .map(|out| super::dotenv::parse(&out))
            .unwrap_or_default()
    }
}

impl Store for GitpodStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Gitpod
    }

    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name).or_else(|| {
            self.listed()
                .into_iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v)
        })
    }

    fn preflight(&self) -> Result<(), StoreError> {
        self.env.preflight()
    }

    /// `.env` first, so this workspace has the keys even when `gp` fails.
    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError> {
        let mut done = self.env.put(values)?;
        let listed = self.listed();
        for (k, v) in values {
            if listed.iter().any(|(lk, lv)| lk == k && lv == v) {
                done.push(format!("{k} is already in your Gitpod variables"));
                continue;
            }
            run_tool(
                &self.gp,
                &["env", &format!("{k}={v}")],
                &format!("gp env {k}={}", mask(v)),
                None,
                Some(v),
            )
            .map_err(super::store::in_dotenv_anyway)?;
            done.push(format!("gp env {k}={} (for your next workspaces)", mask(v)));
        }
        Ok(done)
    }
}
