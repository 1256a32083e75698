//! Doctor's workspace checks: the start files install o11y before they run it, and that install
//! works here; and, in the current Gitpod, the backend's URLs.

use std::sync::Arc;

use crate::context::{ready, Check, CheckFuture, Ctx, NO_PROJECT};
use crate::patch::{automations, devcontainer, gitpod, Source};
use crate::report::{Group, Outcome};
use crate::secrets::Workspace;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "project.workspace",
            group: Group::Project,
            title: "workspace start",
            integration: None,
            run: start_files,
        },
        Check {
            id: "project.urls",
            group: Group::Project,
            title: "workspace URLs",
            integration: None,
            run: urls,
        },
    ]
}

/// The package index's JSON API, which answers 404 for a project or release it does not have
/// (<https://docs.pypi.org/api/json/>).
pub const PYPI_API: &str = "https://pypi.org";

fn workspace(c: &Ctx) -> Workspace {
    Workspace::from_vars(|k| c.var(k).map(str::to_string))
}

/// The release target of this machine, as the release names its downloads.
fn target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-gnu"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-gnu"),
        ("macos", "x86_64") => Some("x86_64-apple-darwin"),
        ("macos", "aarch64") => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

/// Each start file runs o11y only after installing it, and that install can work here.
fn start_files(c: Arc<Ctx>) -> CheckFuture {
    let Some(inputs) = c.inputs.as_ref() else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    let files: Vec<(&Source, bool)> = [
        inputs.gitpod.as_ref().map(|s| {
            let code: String = s
                .text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n");
            (s, code.contains("o11y ") && !gitpod::installs_o11y(&code))
        }),
        inputs
            .devcontainer
            .as_ref()
            .map(|s| (s, devcontainer::runs_without_install(&s.text))),
        inputs
            .automations
            .as_ref()
            .map(|s| (s, automations::runs_without_install(&s.text))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if files.is_empty() {
        return ready(Outcome::skip(
            "no .gitpod.yml, dev container or automations file",
        ));
    }
    let bad: Vec<&str> = files
        .iter()
        .filter(|(_, bad)| *bad)
        .map(|(s, _)| s.path.as_str())
        .collect();
    if !bad.is_empty() {
        return ready(Outcome::warn(
            format!(
                "{} {} o11y at start without installing it: a new workspace has no `o11y`",
                bad.join(" and "),
                if bad.len() == 1 { "runs" } else { "run" }
            ),
            format!(
                "run `o11y apply` (its start tasks run `sh {}`, which installs o11y first)",
                gitpod::INSTALL_SCRIPT
            ),
        ));
    }
    let runs: Vec<&str> = files
        .iter()
        .filter(|(s, _)| s.text.contains(gitpod::INSTALL_SCRIPT))
        .map(|(s, _)| s.path.as_str())
        .collect();
    if runs.is_empty() {
        return ready(Outcome::ok(
            "the workspace does not run o11y at start (`o11y apply` adds it)",
        ));
    }
    if !inputs.present.iter().any(|p| p == gitpod::INSTALL_SCRIPT) {
        return ready(Outcome::fail(
            format!(
                "{} {} {}, which is missing",
                runs.join(" and "),
                if runs.len() == 1 { "runs" } else { "run" },
                gitpod::INSTALL_SCRIPT
            ),
            "run `o11y apply` (it writes the script back)",
        ));
    }
    if workspace(&c) == Workspace::Local {
        let (files, verb) = match runs.as_slice() {
            [one] => (one.to_string(), "installs"),
            many => (many.join(" and "), "install"),
        };
        return ready(Outcome::ok(format!(
            "{files} {verb} o11y before running it (whether that install works is checked in Gitpod or Codespaces, where it runs)"
        )));
    }
    Box::pin(async move { install_works(&c).await })
}

/// Whether the install step of the start task can get o11y here: this version on PyPI, else
/// the release's binary for this machine.
async fn install_works(c: &Ctx) -> Outcome {
    let version = env!("CARGO_PKG_VERSION");
    let pypi = c
        .var(crate::env::PYPI_API)
        .unwrap_or(PYPI_API)
        .trim_end_matches('/')
        .to_string();
    let release = c
        .var(crate::env::RELEASE_URL)
        .unwrap_or(crate::patch::plan::RELEASE_URL)
        .trim_end_matches('/')
        .to_string();
    let on_pypi = crate::net::send(
        c.http
            .get(format!("{pypi}/pypi/cruddur-o11y/{version}/json")),
        &[404],
    )
    .await;
    match on_pypi {
        Ok((200..=299, _)) => {
            return Outcome::ok(format!(
                "the start task installs o11y here: cruddur-o11y {version} is on PyPI"
            ))
        }
        Ok(_) => {}
        Err(f) => {
            return Outcome::warn(
                format!(
                    "cannot tell whether the start task can install o11y: {}",
                    f.line("PyPI", &crate::net::host_of(&pypi))
                ),
                f.hint("", crate::env::PYPI_API),
            )
        }
    }
    let Some(target) = target() else {
        return Outcome::warn(
            format!("the start task cannot install o11y here: cruddur-o11y {version} is not on PyPI, and the release has no binary for this machine ({} {})", std::env::consts::OS, std::env::consts::ARCH),
            format!("install o11y in the workspace yourself (`cargo install cruddur-o11y --version {version}`), or from source"),
        );
    };
    let name = format!("o11y-{version}-{target}.tar.gz");
    let asset = crate::net::send(c.http.get(format!("{release}/{name}.sha256")), &[404]).await;
    match asset {
        Ok((200..=299, _)) => Outcome::ok(format!(
            "the start task installs o11y here from the release's {name} (checked against its .sha256); cruddur-o11y {version} is not on PyPI yet"
        )),
        Ok(_) => Outcome::warn(
            format!("the start task cannot install o11y here: cruddur-o11y {version} is not on PyPI, and {release} has no {name}; a new workspace starts without o11y"),
            "until that release is published, build o11y from source in the workspace (`git clone` o11y's repository, then `cargo install --path .`; README: Install)",
        ),
        Err(f) => Outcome::warn(
            format!(
                "cruddur-o11y {version} is not on PyPI, and whether the release's {name} can be fetched is unknown: {}",
                f.line("the release", &crate::net::host_of(&release))
            ),
            f.hint("", crate::env::RELEASE_URL),
        ),
    }
}

/// In the current Gitpod, the backend's URLs the Cruddur compose file builds from Gitpod
/// Classic's variables come out empty.
fn urls(c: Arc<Ctx>) -> CheckFuture {
    let Some(inputs) = c.inputs.as_ref() else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    let ws = workspace(&c);
    let classic = crate::patch::compose::classic_urls(&inputs.compose.text);
    ready(if !matches!(ws, Workspace::Gitpod { .. }) {
        Outcome::skip("not the current Gitpod")
    } else if classic.is_empty() {
        Outcome::ok("no URL in the compose file is built from Gitpod Classic's variables")
    } else {
        let unset: Vec<&str> = classic
            .iter()
            .filter(|u| !u.overridable || c.var(&u.var).is_none())
            .map(|u| u.var.as_str())
            .collect();
        if unset.is_empty() {
            Outcome::ok(format!(
                "{} come from .env (this environment's port URLs)",
                classic
                    .iter()
                    .map(|u| u.var.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else {
            Outcome::warn(
                format!(
                    "{} in {} are built from GITPOD_WORKSPACE_ID and GITPOD_WORKSPACE_CLUSTER_HOST, which only Gitpod Classic sets: here they come out as `https://PORT-.`, so the backend's CORS refuses the frontend and X-Ray names its segments after an empty host",
                    unset.join(", "),
                    inputs.compose.path
                ),
                "run `o11y doctor --fix --only project.urls`: it shows the change and asks first, then puts this environment's port URLs (`ona environment port list`) into .env and lets the compose file take them from there (Gitpod Classic keeps its own)",
            )
        }
    })
}
