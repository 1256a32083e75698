//! The compose part of a plan: the backend's variables, o11y's services, and what the
//! service's env files already set.

use crate::patch::compose::{self, ComposeChange, ComposeError};
use crate::patch::plan::model::{Edit, Inputs, Plan, PlanError, Target};
use crate::patch::ManualStep;
use crate::spec::{EnvVar, Integration, AWS_ENV};

/// The `extra_hosts` entry that lets a container reach the host on Linux as on Docker Desktop.
pub const HOST_GATEWAY: &str = "host.docker.internal:host-gateway";

pub(super) fn fill(v: &str, service: &str) -> String {
    v.replace("{service}", service)
}

/// Every environment variable o11y manages, in the order they are kept in the compose file:
/// each integration's, and the shared AWS ones after the first integration that uses AWS.
fn env_order(all: &[Integration]) -> Vec<&'static EnvVar> {
    let mut order: Vec<&EnvVar> = Vec::new();
    let mut aws = false;
    for i in all {
        order.extend(i.spec().env.iter());
        if i.uses_aws() && !aws {
            order.extend(AWS_ENV.iter());
            aws = true;
        }
    }
    order
}

/// The compose file's edit (None when it has to be made by hand: then `plan.manual` says how).
/// `aws_needed`: an integration that stays on uses AWS, so the shared AWS variables stay.
pub(super) fn edit(
    inputs: &Inputs,
    target: &Target,
    on: &[Integration],
    off: &[Integration],
    exact_only: &[Integration],
    aws_needed: bool,
    plan: &mut Plan,
) -> Result<Option<Edit>, PlanError> {
    let service = inputs.service.as_str();
    let mut add_env: Vec<(String, String)> = Vec::new();
    let mut remove_env: Vec<String> = Vec::new();
    for i in on {
        add_env.extend(
            i.spec()
                .env
                .iter()
                .map(|e| (e.name.to_string(), fill(e.value, service))),
        );
    }
    let in_compose = compose::services(&inputs.compose.text)
        .ok()
        .and_then(|all| all.into_iter().find(|s| s.name == service))
        .map(|s| s.env)
        .unwrap_or_default();
    for i in off {
        // After `enable` and `disable` of one switched off by hand, only o11y's own values go.
        let own = |e: &&EnvVar| {
            !exact_only.contains(i)
                || in_compose
                    .iter()
                    .any(|(n, v)| n == e.name && *v == fill(e.value, service))
        };
        remove_env.extend(i.spec().env.iter().filter(own).map(|e| e.name.to_string()));
    }
    if on.iter().any(|i| i.uses_aws()) {
        add_env.extend(
            AWS_ENV
                .iter()
                .map(|e| (e.name.to_string(), e.value.to_string())),
        );
    } else if !aws_needed && off.iter().any(|i| i.uses_aws()) {
        remove_env.extend(AWS_ENV.iter().map(|e| e.name.to_string()));
    }
    // What the service's env files set stays theirs: an `environment:` entry of the same name
    // would take precedence over it (docker compose's order) and blank a working value.
    let from_files = inputs.env_file_vars(service);
    let mut left_to_files: Vec<&str> = Vec::new();
    add_env.retain(|(n, _)| {
        let Some((_, _, f)) = from_files.iter().find(|(v, _, _)| v == n) else {
            return true;
        };
        if !in_compose.iter().any(|(c, _)| c == n) && !left_to_files.contains(&n.as_str()) {
            left_to_files.push(f.path.as_str());
        }
        false
    });
    left_to_files.dedup();
    let unread: Vec<&str> = inputs
        .env_files
        .iter()
        .filter(|f| f.service == service && f.unread)
        .map(|f| f.path.as_str())
        .collect();
    let new_vars: Vec<&str> = add_env
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !in_compose.iter().any(|(c, _)| c == n))
        .collect();
    if !unread.is_empty() && !new_vars.is_empty() {
        plan.notes.push(format!(
            "The backend also reads {}, which o11y could not read (not there, and no template of it found); `environment:` wins over it, so check that it does not set {} before you start the stack.",
            unread.join(", "),
            new_vars.join(", ")
        ));
    }
    if !left_to_files.is_empty() {
        plan.notes.push(format!(
            "The backend gets its variables from {}; o11y adds to `environment:` only what that does not set, so nothing there is overridden.",
            left_to_files.join(", ")
        ));
    }
    // Local mode sends to `o11y listen` through `.env`, which reaches the backend only through
    // `${VAR}` references: an endpoint written out keeps the backend sending to the service.
    if target.local {
        for e in on
            .iter()
            .flat_map(|i| i.spec().env.iter())
            .filter(|e| e.local)
        {
            if let Some((_, v)) = in_compose
                .iter()
                .find(|(n, v)| n == e.name && !v.is_empty() && !v.contains('$'))
            {
                remove_env.push(e.name.to_string());
                add_env.retain(|(n, _)| n != e.name);
                add_env.push((e.name.to_string(), format!("${{{}:-{v}}}", e.name)));
                plan.notes.push(format!(
                    "{} is written out as {v} in {}, so in local mode the backend would still send there; o11y makes it \"${{{}:-{v}}}\": the same without .env, and `o11y listen` in local mode.",
                    e.name, inputs.compose.path, e.name
                ));
            } else if let Some((_, v, f)) = from_files
                .iter()
                .find(|(n, v, _)| *n == e.name && !v.is_empty() && !v.contains('$'))
            {
                if !in_compose.iter().any(|(n, _)| n == e.name) {
                    plan.notes.push(format!(
                        "Local mode cannot reach the backend's {}: {} sets it to {v}, and an env file wins over .env. Set it to the local receiver there while you work locally (`o11y listen` prints the address).",
                        e.name,
                        f.shown()
                    ));
                }
            }
        }
    }
    let order = env_order(&target.all);
    add_env.sort_by_key(|(n, _)| order.iter().position(|e| e.name == n));
    let change = ComposeChange {
        service,
        add_env,
        remove_env,
        order: order.iter().map(|e| e.name.to_string()).collect(),
        add_services: on
            .iter()
            .flat_map(|i| i.spec().compose_services.iter())
            .map(|c| (c.name, c.template))
            .collect(),
        remove_services: off
            .iter()
            .filter(|i| !exact_only.contains(i))
            .flat_map(|i| i.spec().compose_services.iter())
            .map(|c| c.name)
            .collect(),
        remove_own_services: exact_only
            .iter()
            .flat_map(|i| i.spec().compose_services.iter())
            .map(|c| (c.name, c.template))
            .collect(),
        extra_host: target.local.then_some(HOST_GATEWAY),
    };
    let compose_path = inputs.compose.path.clone();
    match compose::patch(&inputs.compose.text, &change) {
        Ok(text) => {
            return Ok(Some((
                compose_path,
                Some(inputs.compose.text.clone()),
                text,
            )))
        }
        Err(ComposeError::Parse(error)) => {
            return Err(PlanError {
                path: compose_path,
                error,
            })
        }
        Err(ComposeError::Unsafe(reason)) => {
            let mut snippet = String::from("environment:\n");
            for (n, v) in &change.add_env {
                snippet.push_str(&format!("  {n}: \"{v}\"\n"));
            }
            plan.manual.push(ManualStep {
                file: compose_path,
                integration: "all".into(),
                reason,
                place: if change.add_services.is_empty() {
                    format!("in the `environment:` of service `{service}`")
                } else {
                    format!(
                        "in the `environment:` of service `{service}` (and add the {} service)",
                        change
                            .add_services
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                },
                snippet,
            });
        }
    }

    Ok(None)
}
