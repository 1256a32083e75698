//! The integration registry, checked as ripgrep checks its flags: every integration is complete,
//! and nothing two of them declare collides. Adding an integration is its module, its templates
//! and one line in `integrations::REGISTRY`; these tests name what is missing.

mod common;

use std::collections::BTreeSet;

use o11y::integrations::{all, canary, def, Def, REGISTRY};
use o11y::spec::{Anchor, Integration, AWS_ENV, AWS_ID};

/// The registry and the test integration (`tests/fifth.rs`): what a real integration must
/// declare, the test one declares too, or the claim that it stands for a fifth proves nothing.
fn every() -> Vec<&'static Def> {
    REGISTRY.iter().copied().chain([&canary::DEF]).collect()
}

fn integrations() -> Vec<Integration> {
    every().iter().map(|d| Integration(d.spec)).collect()
}

/// The variables masked are derived from the specs: each secret, and each variable that
/// carries one in its value.
#[test]
fn secrets_and_the_variables_that_carry_them_are_masked() {
    let masked = o11y::spec::secret_vars(all());
    for v in [
        "HONEYCOMB_API_KEY",
        "ROLLBAR_ACCESS_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ] {
        assert!(masked.contains(&v), "{v} is not masked: {masked:?}");
    }
    assert!(!masked.contains(&"OTEL_SERVICE_NAME"), "{masked:?}");
}

#[test]
fn names_titles_and_ranks_are_unique_and_in_order() {
    assert!(!REGISTRY.is_empty());
    let mut names = BTreeSet::new();
    let mut last = 0;
    for d in every() {
        let s = d.spec;
        assert!(
            !s.name.is_empty() && s.name.chars().all(|c| c.is_ascii_lowercase()),
            "`{}`: names are lower-case letters (flags, markers and o11y.toml use them)",
            s.name
        );
        assert!(
            names.insert(s.name),
            "two integrations are called {}",
            s.name
        );
        assert!(
            !s.title.is_empty() && !s.blurb.is_empty(),
            "{}: title and blurb",
            s.name
        );
        assert!(s.rank > last, "{}: ranks rise in registry order", s.name);
        last = s.rank;
    }
    // The handle finds its definition; the test integration is in no command's list unless
    // O11Y_TESTKIT=canary switches it on.
    for d in REGISTRY {
        assert_eq!(def(Integration(d.spec)).spec.name, d.spec.name);
    }
    assert_eq!(all().len(), REGISTRY.len());
}

#[test]
fn environment_variables_are_unique_references() {
    let mut seen = BTreeSet::new();
    for e in integrations()
        .iter()
        .flat_map(|i| i.spec().env.iter())
        .chain(AWS_ENV.iter())
    {
        assert!(seen.insert(e.name), "{} is declared twice", e.name);
        assert!(
            e.value.contains("${"),
            "{}: compose values are ${{VAR}} references, never literal secrets",
            e.name
        );
    }
    for i in integrations() {
        for (var, _) in i.spec().receiver.env {
            let listed =
                i.spec().env.iter().any(|e| e.name == *var) || *var == "OTEL_EXPORTER_OTLP_HEADERS";
            assert!(
                listed,
                "{i}: local mode sets {var}, which the compose file does not pass on"
            );
        }
        for e in i.spec().env.iter().filter(|e| e.local) {
            assert!(
                i.spec().receiver.env.iter().any(|(v, _)| *v == e.name),
                "{i}: {} is marked for local mode but its receiver does not set it",
                e.name
            );
        }
    }
}

#[test]
fn secrets_flags_and_apis_are_unique_and_catalogued() {
    let mut flags = BTreeSet::from([AWS_ID.stdin_flag]);
    let mut vars = BTreeSet::new();
    let mut api_flags = BTreeSet::new();
    for d in every() {
        let (i, s) = (Integration(d.spec), d.spec);
        for secret in s.secrets {
            assert!(vars.insert(secret.var), "{} is asked for twice", secret.var);
            assert!(
                secret.stdin_flag.starts_with("--") && secret.stdin_flag.ends_with("-stdin"),
                "{i}: {}",
                secret.stdin_flag
            );
            assert!(
                flags.insert(secret.stdin_flag),
                "{} twice",
                secret.stdin_flag
            );
            assert!(
                o11y::env::known(secret.var),
                "{} is not in env::CATALOGUE",
                secret.var
            );
            assert!(
                o11y::spec::secret_vars(&integrations()).contains(&secret.var),
                "{} is not masked",
                secret.var
            );
            assert!(!secret.find.is_empty() && !secret.what.is_empty());
        }
        if let Some(api) = s.api {
            assert!(api.default.starts_with("https://"), "{i}: {}", api.default);
            assert!(
                o11y::env::known(api.env),
                "{} is not in env::CATALOGUE",
                api.env
            );
            assert!(api_flags.insert(api.flag), "--{} twice", api.flag);
            assert_eq!(
                api.flag,
                api.toml_key.replace('_', "-"),
                "{i}: one name for flag and key"
            );
            assert!(
                d.verdict.is_some(),
                "{i}: an API to check keys with, but no verdict"
            );
        }
        if let Some(f) = s.fallback_api {
            assert!(
                o11y::env::known(f.env),
                "{} is not in env::CATALOGUE",
                f.env
            );
        }
    }
}

#[test]
fn check_ids_are_unique_and_prefixed_by_their_integration() {
    let checks = o11y::commands::shared::checks();
    let mut ids = BTreeSet::new();
    for c in &checks {
        assert!(ids.insert(c.id), "check id {} twice", c.id);
        assert!(!c.title.is_empty(), "{} has no title", c.id);
        match c.integration {
            Some(i) => assert!(
                c.id.starts_with(&format!("{}.", i.name())),
                "{} belongs to {i} and must start with `{i}.`",
                c.id
            ),
            None => {
                let group = format!("{:?}", c.group).to_lowercase();
                assert!(
                    c.id.starts_with(&format!("{group}.")),
                    "{} is in group {group} and must start with `{group}.`",
                    c.id
                )
            }
        }
    }
    // The test integration's checks are in no command's list: its own are added.
    let canary: Vec<_> = (canary::DEF.checks)();
    for c in &canary {
        assert!(ids.insert(c.id), "check id {} twice", c.id);
        assert!(
            c.id.starts_with("canary.") && !c.title.is_empty(),
            "{}",
            c.id
        );
    }
    for d in every() {
        let i = Integration(d.spec);
        let code = format!("{}.code", i.name());
        assert!(ids.contains(code.as_str()), "{i} has no {code} check");
        for f in d.fixes {
            assert!(
                ids.contains(f.check),
                "{i} fixes {}, which is no check",
                f.check
            );
        }
        for id in d.fixed_by_apply {
            assert!(ids.contains(id), "{i}: {id} is no check");
        }
    }
}

#[test]
fn every_spec_is_complete() {
    for i in integrations() {
        let s = i.spec();
        assert!(!s.packages.is_empty(), "{i}: no packages");
        assert!(!s.blocks.is_empty(), "{i}: no Python blocks");
        let mut parts = BTreeSet::new();
        for b in s.blocks {
            assert!(!b.template.trim().is_empty(), "{i}: {} is empty", b.part);
            assert!(
                parts.insert((b.file, b.part)),
                "{i}: two blocks named {} in one file",
                b.part
            );
            assert!(
                b.part.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{i}: marker part `{}`",
                b.part
            );
            // Every placeholder a template has is one the patcher fills.
            let mut rest = b.template;
            while let Some(at) = rest.find('{') {
                let close = rest[at..].find('}').map_or(rest.len(), |c| at + c + 1);
                let name = &rest[at..close];
                let code = name.contains(['(', ' ', '"', ':', '\'']) || name.len() < 3;
                assert!(
                    code || [
                        "{service}",
                        "{now}",
                        "{result}",
                        "{datetime_import}",
                        "{os_import}"
                    ]
                    .contains(&name),
                    "{i}: {} has the unknown placeholder {name}",
                    b.part
                );
                rest = &rest[close.min(rest.len())..];
            }
            if let Anchor::BodyStart { class, method } | Anchor::BeforeReturn { class, method } =
                b.anchor
            {
                assert!(!class.is_empty() && !method.is_empty());
            }
        }
        for h in s.hand_made {
            assert!(
                s.blocks.iter().any(|b| b.file == h.file),
                "{i}: a hand-made rule for a file it writes nothing to"
            );
            assert!(
                !h.complete.is_empty(),
                "{i}: a hand-made rule that is never complete"
            );
        }
        for c in s.compose_services {
            assert!(
                c.template.starts_with(&format!("{{i}}{}:", c.name)),
                "{i}: the {} service's text starts with its name",
                c.name
            );
        }
        for f in s.files {
            assert!(
                !f.path.starts_with('/') && !f.path.contains(".."),
                "{i}: {}",
                f.path
            );
            assert!(!f.template.trim().is_empty(), "{i}: {} is empty", f.path);
        }
        assert!(!s.receiver.what.is_empty() && !s.receiver.shown.is_empty());
    }
}

/// Every variable the code reads by name is in the catalogue.
#[test]
fn the_code_reads_only_catalogued_variables() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root];
    let mut read = BTreeSet::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for call in [
                "env::var(\"",
                "env::var_os(\"",
                ".var(\"",
                "env_var(\"",
                "env = \"",
            ] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let name: String = rest.chars().take_while(|c| *c != '"').collect();
                    if name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                    {
                        read.insert(name);
                    }
                }
            }
        }
    }
    assert!(read.len() >= 5, "the scan found only {read:?}");
    for name in &read {
        assert!(
            o11y::env::known(name),
            "{name} is read but not in env::CATALOGUE"
        );
    }
}

/// The versions o11y writes are the ones the tests run with the real SDKs: a pin is exactly
/// the tested version, a lower bound is at it (scripts/check-pins.sh, in CI, resolves them).
#[test]
fn written_versions_are_the_tested_ones() {
    let tested: std::collections::BTreeMap<String, String> =
        std::fs::read_to_string(common::repo().join("tests/requirements.txt"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once("=="))
            .map(|(n, v)| {
                (
                    o11y::patch::requirements::normalise(n),
                    v.trim().to_string(),
                )
            })
            .collect();
    // The real four: the test integration's package is on no index.
    for i in all() {
        for p in i.spec().packages {
            let name = o11y::patch::requirements::name_part(p);
            let version = p[name.len()..]
                .trim_start_matches(['=', '>', '~'])
                .to_string();
            assert!(
                p[name.len()..].starts_with("==") || p[name.len()..].starts_with(">="),
                "{i}: `{p}` is neither pinned nor bounded below"
            );
            assert_eq!(
                tested.get(&o11y::patch::requirements::normalise(name)),
                Some(&version),
                "{i}: `{p}` is not the version tests/requirements.txt runs"
            );
        }
    }
}
