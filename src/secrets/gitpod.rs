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
    fn name(&self) -> &'static str {
        "your Gitpod variables (`gp env`) and .env"
    }
    fn after(&self) -> Option<&'static str> {
        Some("The keys are in .env for this workspace and in your Gitpod variables for the next ones; in a terminal opened before now, run `eval \"$(gp env -e)\"` to have them there too.")
    }
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

/// The current Gitpod's (Ona's) user secrets, through its CLI (`ona`, formerly `gitpod`):
/// created with `--env-var`, a secret becomes an environment variable of every environment
/// started later (a running one sees it after a restart). The value goes in a file
/// (`--value-from-file`, mode 0600 in the git-ignored `.o11y/tmp`, removed at once) when the
/// CLI's own help offers that flag, else as an argument (`--value`), where other processes of
/// this environment could read it for that moment. The values go to `.env` as well, for this
/// environment.
///
/// Commands as Gitpod documents and uses them: `user secret list --format json` (a list of
/// secrets with `id` and `name`), `user secret create --name NAME --value VALUE --env-var`,
/// `user secret update ID --value VALUE`
/// (<https://ona.com/docs/ona/configuration/secrets/overview>, gitpod-samples'
/// multirepo-via-uservar scripts).
pub struct UserSecrets {
    pub cli: PathBuf,
    pub root: PathBuf,
    pub env: DotenvStore,
}

/// The CLI of the current Gitpod: `ona`, or `gitpod` under its former name.
pub fn find_cli() -> Option<PathBuf> {
    which::which("ona").or_else(|_| which::which("gitpod")).ok()
}

/// (id, name, whether it reaches environments as a variable) of each user secret in `user
/// secret list --format json`: a list of objects (the API's Secret: `id`, `name`,
/// `environmentVariable`), or an object holding one under `secrets`.
pub fn listed_secrets(json: &str) -> Option<Vec<(String, String, bool)>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let items = v
        .as_array()
        .or_else(|| v.get("secrets").and_then(|s| s.as_array()))?;
    Some(
        items
            .iter()
            .filter_map(|s| {
                let id = s.get("id")?.as_str()?;
                let name = s.get("name")?.as_str()?;
                let var = s
                    .get("environmentVariable")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true);
                Some((id.to_string(), name.to_string(), var))
            })
            .collect(),
    )
}

impl UserSecrets {
    fn cli_name(&self) -> String {
        self.cli
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "gitpod".into())
    }

    fn listed(&self) -> Result<Vec<(String, String, bool)>, StoreError> {
        let shown = format!("{} user secret list --format json", self.cli_name());
        let out = run_tool(
            &self.cli,
            &["user", "secret", "list", "--format", "json"],
            &shown,
            None,
            None,
        )?;
        listed_secrets(&out).ok_or_else(|| StoreError::Command {
            command: shown,
            reason: "its answer is not the list of secrets o11y expects".into(),
        })
    }

    /// Whether the CLI takes a value from a file, by its own help.
    pub fn takes_value_from_file(&self) -> bool {
        std::process::Command::new(&self.cli)
            .args(["user", "secret", "create", "--help"])
            .stdin(std::process::Stdio::null())
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains("--value-from-file")
                    || String::from_utf8_lossy(&o.stderr).contains("--value-from-file")
            })
    }

    /// Whether this store can keep the keys with no value in argv, now: the CLI takes values
    /// from a file, and it may manage the user's secrets (inside an environment it acts as the
    /// environment until `gitpod login`).
    pub fn ready_and_safe(&self) -> bool {
        self.takes_value_from_file() && self.listed().is_ok()
    }

    fn set(
        &self,
        id: Option<&str>,
        name: &str,
        value: &str,
        from_file: bool,
    ) -> Result<String, StoreError> {
        let cli = self.cli_name();
        let mut args: Vec<String> = match id {
            Some(id) => vec!["user".into(), "secret".into(), "update".into(), id.into()],
            None => vec![
                "user".into(),
                "secret".into(),
                "create".into(),
                "--name".into(),
                name.into(),
            ],
        };
        let what = match id {
            Some(_) => format!("{cli} user secret update ({name})"),
            None => format!("{cli} user secret create --name {name}"),
        };
        // The file lives while the command runs, in the project's git-ignored .o11y/tmp.
        let fail = |e: &dyn std::fmt::Display| StoreError::Command {
            command: what.clone(),
            reason: e.to_string(),
        };
        let file = if from_file {
            let dir = crate::patch::apply::ensure_state_dir(&self.root)
                .map_err(|e| fail(&e))?
                .join("tmp");
            let mut f = tempfile::Builder::new()
                .prefix(".o11y-secret-")
                .tempfile_in(&dir)
                .map_err(|e| fail(&e))?;
            std::io::Write::write_all(&mut f, value.as_bytes()).map_err(|e| fail(&e))?;
            args.push("--value-from-file".into());
            args.push(f.path().display().to_string());
            Some(f)
        } else {
            args.push("--value".into());
            args.push(value.into());
            None
        };
        if id.is_none() {
            args.push("--env-var".into());
        }
        let shown = if from_file {
            format!("{what} --value-from-file (a 0600 file, removed at once)")
        } else {
            format!("{what} --value {}", mask(value))
        };
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run_tool(&self.cli, &argv, &shown, None, Some(value));
        drop(file);
        r.map(|_| shown)
    }
}

impl Store for UserSecrets {
    fn kind(&self) -> StoreKind {
        StoreKind::Gitpod
    }

    fn name(&self) -> &'static str {
        "your Gitpod user secrets and .env"
    }

    fn after(&self) -> Option<&'static str> {
        Some("The keys are in .env for this environment and in your Gitpod user secrets, which every environment you start from now on gets as variables. Environments running now (this one included) see them only after a restart; until then .env serves this one.")
    }

    /// A user secret cannot be read back through the CLI; an environment started after it was
    /// set has it as a variable, which o11y reads from the environment anyway.
    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name)
    }

    fn preflight(&self) -> Result<(), StoreError> {
        self.env.preflight()?;
        self.listed().map(|_| ())
    }

    /// `.env` first, so this environment has the keys even when the CLI fails.
    fn put(&self, values: &[(String, String)]) -> Result<Stored, StoreError> {
        let mut done = self.env.put(values)?;
        let listed = self.listed().map_err(super::store::in_dotenv_anyway)?;
        let from_file = self.takes_value_from_file();
        for (k, v) in values {
            let found = listed.iter().find(|(_, name, _)| name == k);
            let shown = self
                .set(found.map(|(id, _, _)| id.as_str()), k, v, from_file)
                .map_err(super::store::in_dotenv_anyway)?;
            done.push(match found {
                // Updating keeps how the secret is mounted: a file is no variable.
                Some((_, _, false)) => format!(
                    "{shown}: but this secret is mounted as a file, not as the variable {k}, so the backend will not see it; delete it in the Gitpod dashboard (Settings, Secrets) and run `o11y init --store gitpod` again"
                ),
                _ => format!("{shown}: a variable in every environment you start from now on"),
            });
        }
        Ok(done)
    }
}

fn cli_name(cli: &std::path::Path) -> String {
    cli.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "ona".into())
}

/// This environment's open ports and their URLs, from `environment port list --format json`
/// (a list of objects with `port` and `url`, as Gitpod's API and scripts give them).
pub fn open_ports(cli: &std::path::Path) -> Result<Vec<(u16, String)>, StoreError> {
    let shown = format!("{} environment port list --format json", cli_name(cli));
    let out = run_tool(
        cli,
        &["environment", "port", "list", "--format", "json"],
        &shown,
        None,
        None,
    )?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|_| StoreError::Command {
        command: shown.clone(),
        reason: "its answer is not the list of ports o11y expects".into(),
    })?;
    Ok(v.as_array()
        .or_else(|| v.get("ports").and_then(|p| p.as_array()))
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = p.get("port")?.as_u64()?;
            let url = p.get("url")?.as_str()?;
            Some((
                u16::try_from(port).ok()?,
                url.trim_end_matches('/').to_string(),
            ))
        })
        .collect())
}

/// Opens `port` of this environment under `label` (`environment port open PORT --name NAME`,
/// <https://ona.com/docs/ona/integrations/ports>).
pub fn open_port(cli: &std::path::Path, port: u16, label: &str) -> Result<(), StoreError> {
    let p = port.to_string();
    run_tool(
        cli,
        &["environment", "port", "open", &p, "--name", label],
        &format!("{} environment port open {p} --name {label}", cli_name(cli)),
        None,
        None,
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::listed_secrets;

    #[test]
    fn secrets_are_read_from_a_list_or_an_object() {
        let list =
            r#"[{"id": "a1", "name": "HONEYCOMB_API_KEY", "scope": "user"}, {"name": "NO_ID"}]"#;
        assert_eq!(
            listed_secrets(list).unwrap(),
            vec![("a1".to_string(), "HONEYCOMB_API_KEY".to_string(), true)]
        );
        let file = r#"[{"id": "f1", "name": "ROLLBAR_ACCESS_TOKEN", "environmentVariable": false, "filePath": "/run/token"}]"#;
        assert!(!listed_secrets(file).unwrap()[0].2);
        let wrapped = r#"{"secrets": [{"id": "b2", "name": "X"}]}"#;
        assert_eq!(listed_secrets(wrapped).unwrap().len(), 1);
        assert!(listed_secrets("not json").is_none());
        assert!(listed_secrets(r#"{"error": "unauthenticated"}"#).is_none());
    }
}
