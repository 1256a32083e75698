//! The workspace part of a plan: ports and the start task in .gitpod.yml, the dev container
//! and the current Gitpod's automations, and the install script they run.

use crate::patch::plan::model::{Edit, Inputs, PlanError};
use crate::patch::{automations, devcontainer, gitpod};
use crate::spec::Integration;

/// The release whose binary the install script falls back to: the one that wrote it.
pub const RELEASE_URL: &str = concat!(
    "https://github.com/cruddur-o11y/cruddur-o11y/releases/download/v",
    env!("CARGO_PKG_VERSION")
);

/// `bin/install-o11y`, for this version of o11y.
pub fn install_script() -> String {
    include_str!("../../../templates/workspace/install-o11y.sh")
        .replace("{version}", env!("CARGO_PKG_VERSION"))
        .replace("{release_url}", RELEASE_URL)
}

/// The workspace files' edits, after `edits` (whose new text may run the install script).
pub(super) fn edits(
    inputs: &Inputs,
    on: &[Integration],
    edits: &mut Vec<Edit>,
) -> Result<(), PlanError> {
    let service = inputs.service.as_str();
    // .gitpod.yml
    if let Some(g) = &inputs.gitpod {
        if !on.is_empty() {
            let ports: Vec<crate::spec::WorkspacePort> = on
                .iter()
                .flat_map(|i| i.spec().ports.iter().copied())
                .collect();
            let after = gitpod::patch(&g.text, service, &ports).map_err(|error| PlanError {
                path: g.path.clone(),
                error,
            })?;
            edits.push((g.path.clone(), Some(g.text.clone()), after));
        }
    }

    // .devcontainer/devcontainer.json
    if let Some(d) = &inputs.devcontainer {
        if !on.is_empty() {
            let ports: Vec<u16> = std::iter::once(gitpod::BACKEND_PORT)
                .chain(
                    on.iter()
                        .flat_map(|i| i.spec().ports.iter().map(|p| p.port)),
                )
                .collect();
            let after = devcontainer::patch(&d.text, &ports).map_err(|error| PlanError {
                path: d.path.clone(),
                error,
            })?;
            edits.push((d.path.clone(), Some(d.text.clone()), after));
        }
    }

    // .gitpod/automations.yaml: the current Gitpod's start task. Edited where it exists, and
    // created in a project set up for a cloud workspace (a .gitpod.yml or a dev container),
    // which the current Gitpod opens.
    let workspace_project = inputs.gitpod.is_some() || inputs.devcontainer.is_some();
    if !on.is_empty() && (inputs.automations.is_some() || workspace_project) {
        let path = inputs
            .automations
            .as_ref()
            .map_or(automations::FILE.to_string(), |a| a.path.clone());
        let before = inputs.automations.as_ref().map(|a| a.text.as_str());
        let after = automations::patch(before, gitpod::TASK_LINE).map_err(|error| PlanError {
            path: path.clone(),
            error,
        })?;
        edits.push((path, before.map(str::to_string), after));
    }

    // The install script the start tasks run, wherever one runs it.
    let runs_script = edits
        .iter()
        .any(|(_, _, after)| after.contains(gitpod::INSTALL_SCRIPT));
    if runs_script && !inputs.present.iter().any(|p| p == gitpod::INSTALL_SCRIPT) {
        edits.push((gitpod::INSTALL_SCRIPT.to_string(), None, install_script()));
    }
    Ok(())
}
