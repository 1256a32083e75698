//! Doctor's project checks: the project found, requirements, the compose wiring and Flask
//! pitfalls (the workspace start files are `workspace`'s).

use std::sync::Arc;

use regex::Regex;

use crate::context::{one_at_a_time, plan_for, ready, Check, CheckFuture, Ctx, NO_PROJECT};
use crate::report::{Group, Outcome};
use crate::spec::{PyFile, ReceiverKind, AWS_ENV};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "project.found",
            group: Group::Project,
            title: "project",
            integration: None,
            run: found,
        },
        Check {
            id: "project.requirements",
            group: Group::Project,
            title: "requirements.txt",
            integration: None,
            run: requirements,
        },
        Check {
            id: "project.compose",
            group: Group::Project,
            title: "docker-compose.yml wiring",
            integration: None,
            run: compose_env,
        },
        Check {
            id: "project.flask",
            group: Group::Project,
            title: "Flask pitfalls",
            integration: None,
            run: flask_pitfalls,
        },
    ]
}

fn found(c: Arc<Ctx>) -> CheckFuture {
    ready(match (&c.project, &c.unreadable) {
        // Found, but its files cannot be read: nothing about them can be judged.
        (Ok(_), Some((why, fix))) => Outcome::fail(why.clone(), fix.clone()),
        (Ok(p), None) => Outcome::ok(format!(
            "{} with service `{}` in {}/",
            p.compose,
            p.service,
            p.backend_shown()
        )),
        (Err(e), _) => Outcome::fail(
            e.clone(),
            "run o11y in your project folder, or pass `--project DIR`",
        ),
    })
}

fn requirements(c: Arc<Ctx>) -> CheckFuture {
    ready(match one_at_a_time(|| plan_for(&c, None)) {
        None => Outcome::skip(NO_PROJECT),
        Some(Err(e)) => Outcome::fail(e, "fix the file at that line, then run `o11y doctor` again"),
        Some(Ok(p)) => match p
            .edits
            .iter()
            .find(|e| e.path.ends_with("requirements.txt"))
        {
            None => Outcome::ok("every package the enabled integrations need is listed"),
            Some(e) => {
                let missing: Vec<&str> = e
                    .after
                    .lines()
                    .filter(|l| !e.before.as_deref().unwrap_or("").lines().any(|b| b == *l))
                    .collect();
                Outcome::fail(
                    format!("{} misses {}", e.path, missing.join(", ")),
                    "run `o11y apply` (or `o11y doctor --fix`)",
                )
            }
        },
    })
}

fn compose_env(c: Arc<Ctx>) -> CheckFuture {
    ready(match crate::context::backend_env(&c) {
        None => Outcome::skip(NO_PROJECT),
        Some(Err(e)) => Outcome::fail(e, "fix the file at that line, then run `o11y doctor` again"),
        Some(Ok(env)) => {
            let mut wanted: Vec<&str> = Vec::new();
            for i in &c.enabled {
                wanted.extend(i.spec().env.iter().map(|e| e.name));
            }
            if c.enabled.iter().any(|i| i.uses_aws()) {
                wanted.extend(AWS_ENV.iter().map(|e| e.name));
            }
            let inputs = c.inputs.as_ref();
            let from_files: Vec<(&str, &str, &crate::patch::plan::EnvFile)> = inputs
                .map(|i| i.env_file_vars(&i.service))
                .unwrap_or_default();
            let missing: Vec<&str> = wanted
                .iter()
                .copied()
                .filter(|w| {
                    !env.iter().any(|(n, _)| n == w) && !from_files.iter().any(|(n, _, _)| n == w)
                })
                .collect();
            let literal_endpoints: Vec<String> = if c.local {
                c.enabled
                    .iter()
                    .flat_map(|i| i.spec().env.iter())
                    .filter(|e| e.local)
                    .filter_map(|e| {
                        env.iter()
                            .find(|(n, v)| n == e.name && !v.is_empty() && !v.contains('$'))
                            .map(|(n, v)| format!("{n} ({v})"))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let literal: Vec<&str> = env
                .iter()
                .filter(|(n, v)| {
                    wanted.contains(&n.as_str())
                        && !v.is_empty()
                        && !v.contains("${")
                        && crate::spec::secret_vars(&c.all).contains(&n.as_str())
                })
                .map(|(n, _)| n.as_str())
                .collect();
            // Every problem is named, worst first, so one run shows them all.
            let mut problems: Vec<Outcome> = Vec::new();
            if !literal.is_empty() {
                problems.push(Outcome::fail(
                    format!("{} written literally into the compose file (a secret in git)", literal.join(", ")),
                    "replace each value with a reference like \"${NAME}\", set the value in your environment or .env, and rotate the key",
                ));
            }
            if !literal_endpoints.is_empty() {
                problems.push(Outcome::warn(
                    format!("{} written out in the compose file: in local mode the backend still sends there, not to `o11y listen`", literal_endpoints.join(", ")),
                    "run `o11y apply --local` (it turns each into a \"${VAR:-value}\" reference)",
                ));
            }
            if !missing.is_empty() {
                problems.push(Outcome::fail(
                    format!("the backend lacks {}", missing.join(", ")),
                    "run `o11y apply` (or `o11y doctor --fix`)",
                ));
            }
            problems.sort_by_key(|p| std::cmp::Reverse(p.status));
            if problems.is_empty() {
                Outcome::ok(format!(
                    "{} variables, all as ${{VAR}} references",
                    wanted.len()
                ))
            } else {
                Outcome {
                    status: problems[0].status,
                    reason: problems
                        .iter()
                        .map(|p| p.reason.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    fix: Some(
                        problems
                            .iter()
                            .filter_map(|p| p.fix.as_deref())
                            .collect::<Vec<_>>()
                            .join("; then "),
                    ),
                }
            }
        }
    })
}

fn flask_pitfalls(c: Arc<Ctx>) -> CheckFuture {
    let Some(inputs) = c.inputs.as_ref() else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    let app = inputs
        .python
        .iter()
        .find(|(f, _)| *f == PyFile::App)
        .and_then(|(_, s)| s.as_ref())
        .into_iter()
        .chain(inputs.linked.iter())
        .map(|s| s.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let app_path = inputs.path_of(PyFile::App);
    let old_flask = inputs
        .requirements
        .as_ref()
        .is_some_and(|r| crate::patch::requirements::pinned_below(&r.text, "flask", "2.3"));
    let code: String = app
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let root = c.root().map(|r| r.to_path_buf());
    let backend = inputs.backend_dir.clone();
    let compose = inputs.compose.text.clone();
    ready({
        let dockerfile = root
            .map(|r| {
                crate::project::read_text(&r, &format!("{backend}/Dockerfile"))
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let debug_env =
            Regex::new(r#"FLASK_DEBUG["']?\s*[:=]\s*["']?(1|true)"#).expect("valid regex");
        // Zero-code instrumentation: the backend is started through `opentelemetry-instrument`.
        let zero_code = c
            .enabled
            .iter()
            .any(|i| i.spec().receiver.kind == ReceiverKind::Otlp)
            && (dockerfile.contains("opentelemetry-instrument")
                || compose.contains("opentelemetry-instrument"));
        if code.contains("before_first_request") && !old_flask {
            // The integrations whose hand-made setups are known to sit there can be adopted.
            let adoptable: Vec<_> = c
                .all
                .iter()
                .filter(|i| {
                    i.spec()
                        .hand_made
                        .iter()
                        .any(|h| h.flaws.iter().any(|f| f.pattern == "before_first_request"))
                })
                .collect();
            let hint = if adoptable.is_empty() {
                "move that code into `with app.app_context():` right after `app = Flask(__name__)`"
                    .to_string()
            } else {
                let titles: Vec<&str> = adoptable.iter().map(|i| i.title()).collect();
                let names: Vec<&str> = adoptable.iter().map(|i| i.name()).collect();
                format!(
                    "move that code into `with app.app_context():` right after `app = Flask(__name__)`; if it is your {} setup, `o11y apply --adopt {}` replaces it with o11y's (`o11y plan --only {}` shows it)",
                    titles.join(" or "),
                    names.join(","),
                    names.join(",")
                )
            };
            Outcome::fail(
                format!("{app_path} (or a module it imports) uses @app.before_first_request, which Flask 2.3 removed: the backend will not start"),
                hint,
            )
        } else if zero_code
            && (debug_env.is_match(&compose)
                || debug_env.is_match(&dockerfile)
                || dockerfile.contains("--debug"))
        {
            // opentelemetry.io, Python zero-code troubleshooting: "The debug mode can break
            // instrumentation from happening because it enables a reloader." In-code setup, as
            // o11y writes it, is run again by the reloader's child and is not affected.
            Outcome::warn(
                "`opentelemetry-instrument` runs Flask in debug mode with its reloader, which drops the zero-code instrumentation",
                "remove FLASK_DEBUG=1 / --debug, or add `--no-reload` to the `flask run` command",
            )
        } else if zero_code && code.contains("debug=True") && !code.contains("use_reloader=False") {
            Outcome::warn(
                "`opentelemetry-instrument` runs `app.run(debug=True)`, whose reloader drops the zero-code instrumentation",
                "write `app.run(debug=True, use_reloader=False)`",
            )
        } else {
            Outcome::ok("no removed Flask APIs, no reloader in the way")
        }
    })
}
