//! Doctor's tools checks: docker, docker compose, python, the workspace's own tools.

use std::sync::Arc;

use crate::context::{ready, Check, CheckFuture, Ctx};
use crate::report::{Group, Outcome};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "tools.docker",
            group: Group::Tools,
            title: "docker",
            integration: None,
            run: docker,
        },
        Check {
            id: "tools.compose",
            group: Group::Tools,
            title: "docker compose",
            integration: None,
            run: compose_tool,
        },
        Check {
            id: "tools.python",
            group: Group::Tools,
            title: "python3",
            integration: None,
            run: python,
        },
        Check {
            id: "tools.workspace",
            group: Group::Tools,
            title: "workspace CLI (gitpod / gp / gh)",
            integration: None,
            run: workspace,
        },
    ]
}

fn docker(_c: Arc<Ctx>) -> CheckFuture {
    ready(match which::which("docker") {
        Ok(p) => Outcome::ok(format!("found at {}", p.display())),
        Err(_) => Outcome::fail(
            "docker is not installed: the stack cannot start",
            "install Docker (Docker Desktop, or `sudo apt-get install docker.io`), or work in Gitpod or Codespaces where it is there",
        ),
    })
}

fn compose_tool(_c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async {
        let v2 = tokio::process::Command::new("docker")
            .args(["compose", "version"])
            .output()
            .await;
        if v2.as_ref().is_ok_and(|o| o.status.success()) {
            return Outcome::ok("`docker compose` (v2) works");
        }
        if which::which("docker-compose").is_ok() {
            return Outcome::ok("`docker-compose` (v1) found");
        }
        Outcome::fail(
            "neither `docker compose` nor `docker-compose` is available",
            "install the Docker Compose plugin (`sudo apt-get install docker-compose-plugin`)",
        )
    })
}

fn python(_c: Arc<Ctx>) -> CheckFuture {
    ready(match which::which("python3") {
        Ok(p) => Outcome::ok(format!("found at {}", p.display())),
        Err(_) => Outcome::warn(
            "python3 is not installed: fine inside docker, but the backend cannot run outside it",
            "install Python 3 (`sudo apt-get install python3`) to run the backend without docker",
        ),
    })
}

fn workspace(c: Arc<Ctx>) -> CheckFuture {
    use crate::secrets::Workspace;
    let ws = Workspace::from_vars(|k| c.var(k).map(str::to_string));
    let here = ws.describe().trim_start_matches("in ").to_string();
    ready(match ws.tool() {
        None => Outcome::skip("not Gitpod or Codespaces"),
        Some((tool, true)) => Outcome::ok(format!("{here}, `{tool}` found")),
        Some((tool, false)) => Outcome::warn(
            format!("{here}, but `{tool}` is not on PATH"),
            ws.missing_tool()
                .map_or(String::new(), |(_, what)| what.to_string()),
        ),
    })
}
