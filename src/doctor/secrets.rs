//! Doctor's secrets checks: no key in a tracked file, `.env` out of git, AWS credentials.

use std::sync::Arc;

use regex::Regex;

use crate::context::{ready, Check, CheckFuture, Ctx, NO_PROJECT};
use crate::report::{Group, Outcome};
use crate::spec::{Integration, AWS_ID, AWS_SECRET};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "secrets.literals",
            group: Group::Secrets,
            title: "no keys in tracked files",
            integration: None,
            run: literals,
        },
        Check {
            id: "secrets.dotenv",
            group: Group::Secrets,
            title: ".env kept out of git",
            integration: None,
            run: dotenv_tracked,
        },
        Check {
            id: "secrets.aws",
            group: Group::Secrets,
            title: "AWS credentials and region",
            integration: None,
            run: aws_credentials,
        },
    ]
}

/// Key shapes that must never be in git: (what, pattern), from the secrets of every
/// integration in `all` and the AWS key pair.
pub fn key_patterns(all: &[Integration]) -> Vec<(String, Regex)> {
    all.iter()
        .flat_map(|i| i.spec().secrets.iter())
        .chain([&AWS_ID, &AWS_SECRET])
        .flat_map(|s| {
            s.shapes.iter().map(move |p| {
                let article = if s.checked.starts_with(['A', 'E', 'I', 'O', 'U']) {
                    "an"
                } else {
                    "a"
                };
                (
                    format!("{article} {}", s.checked),
                    Regex::new(p).expect("valid key pattern"),
                )
            })
        })
        .collect()
}

/// Tracked files (git ls-files), or every file when this is not a git checkout.
/// The project's files: git's tracked ones (true), or every file under the project when it is
/// not a git repository (false).
fn files(root: &std::path::Path) -> (Vec<std::path::PathBuf>, bool) {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z"])
        .output();
    if let Some(o) = out.ok().filter(|o| o.status.success()) {
        return (
            o.stdout
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| root.join(String::from_utf8_lossy(s).as_ref()))
                .collect(),
            true,
        );
    }
    let mut all = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if matches!(
                name.as_str(),
                ".git" | "node_modules" | ".venv" | "target" | ".o11y" | ".env"
            ) {
                continue;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                all.push(e.path());
            }
        }
    }
    (all, false)
}

fn literals(c: Arc<Ctx>) -> CheckFuture {
    let Some(root) = c.root().map(|r| r.to_path_buf()) else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    Box::pin(async move {
        let (found, tracked) = tokio::task::spawn_blocking(move || {
            let patterns = key_patterns(&c.all);
            let mut hits = Vec::new();
            let (files, tracked) = files(&root);
            for f in files {
                if f.file_name().is_some_and(|n| n == ".env") {
                    continue;
                }
                // Regular files only, and at most 1 MB read of each: a tracked link to
                // /dev/zero or to a FIFO is passed over, never read for ever.
                let Ok(bytes) = crate::patch::apply::read_regular(&f, 1_000_000) else {
                    continue;
                };
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                for (n, line) in text.lines().enumerate() {
                    if let Some((what, _)) = patterns.iter().find(|(_, re)| re.is_match(line)) {
                        let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
                        hits.push(format!("{what} in {rel}:{}", n + 1));
                    }
                }
            }
            (hits, tracked)
        })
        .await
        .unwrap_or_default();
        if found.is_empty() {
            Outcome::ok(if tracked {
                "no key shapes in the project's files"
            } else {
                "no key shapes in the project's files (not a git repository, so every file under the project was read)"
            })
        } else {
            Outcome::fail(
                format!("{} (value not shown)", found.join(", ")),
                "move the value into your environment or .env, put a ${VAR} reference in its place, and rotate the key: it is in git history",
            )
        }
    })
}

fn dotenv_tracked(c: Arc<Ctx>) -> CheckFuture {
    let Some(root) = c.root().map(|r| r.to_path_buf()) else {
        return ready(Outcome::skip(NO_PROJECT));
    };
    Box::pin(async move {
        if !root.join(".env").is_file() {
            return Outcome::ok("no .env file");
        }
        let tracked = tokio::process::Command::new("git")
            .current_dir(&root)
            .args(["ls-files", "--error-unmatch", ".env"])
            .output()
            .await
            .is_ok_and(|o| o.status.success());
        if tracked {
            return Outcome::fail(".env is tracked by git: its keys go to GitHub with the next push", "run `git rm --cached .env`, add `.env` to .gitignore, commit, and rotate the keys in it");
        }
        if crate::secrets::dotenv::is_ignored(&root) {
            Outcome::ok(".env exists and is git-ignored")
        } else {
            Outcome::warn(
                ".env is not in .gitignore: one `git add .` away from being committed",
                "add `.env` to .gitignore (or run `o11y doctor --fix`)",
            )
        }
    })
}

/// Why the AWS checks are skipped: every integration that uses AWS is off.
pub(super) fn aws_off(c: &Ctx) -> String {
    let titles: Vec<&str> = c
        .all
        .iter()
        .filter(|i| i.uses_aws())
        .map(|i| i.title())
        .collect();
    format!(
        "{} {} switched off",
        titles.join(" and "),
        if titles.len() == 1 { "is" } else { "are" }
    )
}

pub(super) fn aws_needed(c: &Ctx) -> bool {
    c.enabled.iter().any(|i| i.uses_aws())
}

fn aws_credentials(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !aws_needed(&c) {
            return Outcome::skip(aws_off(&c));
        }
        let cfg = c.aws().await;
        let region = cfg.region().map(|r| r.to_string());
        let creds = match cfg.credentials_provider() {
            Some(p) => {
                use aws_credential_types::provider::ProvideCredentials;
                p.provide_credentials().await.ok()
            }
            None => None,
        };
        match (region, creds) {
            // Everything missing is named at once, as the other checks do.
            (None, None) => Outcome::fail(
                "no AWS region and no AWS credentials: neither AWS_DEFAULT_REGION nor AWS_REGION nor a profile sets a region, and no keys are in the environment, a profile or SSO",
                "run `o11y init` (it asks for the region and the keys, checks them and stores them), or `export AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...`",
            ),
            (None, Some(_)) => Outcome::fail(
                "no AWS region: neither AWS_DEFAULT_REGION nor AWS_REGION nor a profile sets one",
                "run `o11y init` (it asks for the region), or `export AWS_DEFAULT_REGION=us-east-1` (your region)",
            ),
            (_, None) => Outcome::fail(
                "no AWS credentials in the environment, a profile or SSO",
                "run `o11y init` (it asks for the keys, checks them and stores them), or `export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...`",
            ),
            (Some(r), Some(k))
                if crate::spec::AWS_LOCAL
                    .iter()
                    .any(|(var, dummy)| *var == "AWS_ACCESS_KEY_ID" && *dummy == k.access_key_id()) =>
            {
                Outcome::ok(format!("region {r}, local mode's dummy access key"))
            }
            (Some(r), Some(k)) => Outcome::ok(format!(
                "region {r}, access key ending in {}",
                &crate::secrets::mask(k.access_key_id())[4..]
            )),
        }
    })
}
