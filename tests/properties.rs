//! Properties of the patchers on generated input: they never panic, and a second pass over
//! their own output changes nothing. The inputs are built to contain what the patchers look
//! for (a backend service, an app, its services), and each property counts how many cases
//! reached its real check: a generator that only makes junk proves nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use o11y::integrations::all;
use o11y::patch::plan::Plan;
use o11y::patch::plan::{plan, Inputs, Source, Target};
use o11y::patch::{compose, requirements};
use o11y::spec::PyFile;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn lines_of(fragments: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(fragments), 0..max),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, final_newline)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut s = lines.join(eol);
            if final_newline && !s.is_empty() {
                s.push_str(eol);
            }
            s
        })
}

const REQ: &[&str] = &[
    "flask",
    "Flask==2.2.3",
    "flask_cors",
    "Flask-Cors>=3",
    "# comment",
    "",
    "   ",
    "-r base.txt",
    "--index-url https://pypi.org/simple",
    "rollbar ; python_version > '3.7'",
    "opentelemetry-api",
    "aws_xray_sdk",
    "requests[socks]>=2.28  # proxies",
    "watchtower==3.0.1",
    "git+https://github.com/x/y.git#egg=y",
    "-e ./local",
    "blinker",
    "not a ==== requirement",
];

const YAML: &[&str] = &[
    "services:",
    "  backend-flask:",
    "    environment:",
    "      A: \"b\"",
    "      - A=b",
    "      OTEL_SERVICE_NAME: x",
    "    build: ./backend-flask",
    "    ports:",
    "      - \"4567:4567\"",
    "  db:",
    "    image: postgres",
    "# comment",
    "",
    "x-env: &env",
    "  K: v",
    "    <<: *env",
    "version: \"3.8\"",
    "  xray-daemon:",
    "    image: amazon/aws-xray-daemon",
    "volumes:",
    "  db:",
    "    environment: [A=b]",
    "  backend-flask: {build: .}",
    "\t- tab",
    "key: 'unclosed",
];

const PY: &[&str] = &[
    "import os",
    "from flask import Flask",
    "from datetime import datetime, timedelta, timezone",
    "app = Flask(__name__)",
    "class HomeActivities:",
    "  def run():",
    "    results = []",
    "    return results",
    "class UserActivities:",
    "  def run(user_handle):",
    "    model = {}",
    "    return model",
    "if __name__ == \"__main__\":",
    "  app.run(debug=True)",
    "# comment",
    "",
    "@app.route(\"/api\")",
    "def api():",
    "  return {}",
    "def create_app():",
    "  app = Flask(__name__)",
    "  return app",
    "x = (",
    "\"\"\"doc\"\"\"",
    "import datetime",
    "    # >>> o11y:honeycomb:span",
    "    # <<< o11y:honeycomb:span",
];

fn compose_change(service: &str) -> compose::ComposeChange<'_> {
    let vars = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "AWS_XRAY_URL",
        "ROLLBAR_ACCESS_TOKEN",
    ];
    compose::ComposeChange {
        service,
        add_env: vars
            .iter()
            .map(|v| (v.to_string(), format!("${{{v}}}")))
            .collect(),
        remove_env: vec!["OLD_VAR".into()],
        order: vars.iter().map(|v| v.to_string()).collect(),
        add_services: vec![("xray-daemon", "{i}xray-daemon:{e}{i}{i}image: x{e}")],
        remove_services: Vec::new(),
        remove_own_services: Vec::new(),
        extra_host: Some("host.docker.internal:host-gateway"),
    }
}

/// A compose file with a `backend-flask` service, in the shapes real files take: keys in any
/// order, map or list environment (or none, or one from a merge key), comments and blank
/// lines anywhere, 2 or 4 spaces, other services around it.
fn compose_file() -> impl Strategy<Value = String> {
    let env = prop_oneof![
        Just(None),
        Just(Some(
            "environment:\n  A: \"b\"\n  OTEL_SERVICE_NAME: x".to_string()
        )),
        Just(Some("environment:\n  - A=b\n  - OLD_VAR=1".to_string())),
        Just(Some("environment:\n  <<: *env\n  K2: v".to_string())),
        Just(Some("environment:".to_string())),
    ];
    let extra = prop::sample::subsequence(
        vec![
            "build: ./backend-flask",
            "ports:\n  - \"4567:4567\"",
            "env_file:\n  - backend-flask.env",
            "extra_hosts:\n  - \"a:1.2.3.4\"",
            "# a comment",
            "volumes:\n  - ./backend-flask:/backend-flask",
        ],
        0..6,
    );
    (
        env,
        extra,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(env, mut keys, four, crlf, db_first, anchor, daemon)| {
            let unit = if four { "    " } else { "  " };
            if let Some(e) = env {
                keys.insert(keys.len() / 2, Box::leak(e.into_boxed_str()));
            }
            if keys.is_empty() {
                keys.push("build: .");
            }
            let indent = |text: &str, levels: usize| -> String {
                text.lines()
                    .map(|l| {
                        let body = l.trim_start_matches(' ');
                        let own = (l.len() - body.len()) / 2;
                        format!("{}{body}", unit.repeat(levels + own))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let mut out = String::new();
            if anchor {
                out.push_str(&format!("x-env: &env\n{unit}K: v\n\n"));
            }
            out.push_str("services:\n");
            let db = format!("{unit}db:\n{}\n", indent("image: postgres", 2));
            if db_first {
                out.push_str(&db);
            }
            out.push_str(&format!("{unit}backend-flask:\n"));
            for k in &keys {
                out.push_str(&indent(k, 2));
                out.push('\n');
            }
            if !db_first {
                out.push_str(&db);
            }
            if daemon {
                out.push_str(&format!(
                    "{unit}xray-daemon:\n{}\n",
                    indent("image: amazon/aws-xray-daemon", 2)
                ));
            }
            if crlf {
                out = out.replace('\n', "\r\n");
            }
            out
        })
}

/// app.py as students write it: imports, `app = Flask(__name__)` at module level or in a
/// factory, routes, maybe a main guard; 2 or 4 spaces.
fn app_file() -> impl Strategy<Value = String> {
    (
        prop::sample::subsequence(
            vec![
                "import os",
                "from flask import request",
                "import datetime",
                "from datetime import datetime, timezone",
            ],
            0..4,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0..3usize,
    )
        .prop_map(|(imports, factory, guard, four, routes)| {
            let u = if four { "    " } else { "  " };
            let mut s = String::from("from flask import Flask\n");
            for i in imports {
                s.push_str(i);
                s.push('\n');
            }
            s.push('\n');
            let route = |n: usize, base: &str| {
                format!("{base}@app.route(\"/r{n}\")\n{base}def r{n}():\n{base}{u}return {{}}\n\n")
            };
            if factory {
                s.push_str(&format!("def create_app():\n{u}app = Flask(__name__)\n"));
                for n in 0..routes {
                    s.push_str(&route(n, u));
                }
                s.push_str(&format!("{u}return app\n"));
            } else {
                s.push_str("app = Flask(__name__)\n\n");
                for n in 0..routes {
                    s.push_str(&route(n, ""));
                }
            }
            if guard {
                s.push_str(&format!("\nif __name__ == \"__main__\":\n{u}app.run()\n"));
            }
            s
        })
}

/// A Cruddur service module: the class, its `run`, a result, and the return at the end, in
/// a `with` block, or not at all.
fn service_file(class: &'static str) -> impl Strategy<Value = String> {
    (any::<bool>(), 0..3usize, any::<bool>()).prop_map(move |(four, shape, docstring)| {
        let u = if four { "    " } else { "  " };
        let mut s = format!("from datetime import datetime, timedelta, timezone\n\nclass {class}:\n{u}def run(user_handle=None):\n");
        if docstring {
            s.push_str(&format!("{u}{u}\"\"\"The activities.\"\"\"\n"));
        }
        match shape {
            0 => s.push_str(&format!("{u}{u}results = []\n{u}{u}return results\n")),
            1 => s.push_str(&format!("{u}{u}with open(\"/dev/null\") as f:\n{u}{u}{u}results = []\n{u}{u}{u}return results\n")),
            _ => s.push_str(&format!("{u}{u}results = []\n{u}{u}print(results)\n")),
        }
        s
    })
}

fn inputs(app: &str, home: &str, user: &str, req: &str) -> Inputs {
    let src = |path: &str, text: &str| Source {
        path: path.into(),
        text: text.into(),
    };
    Inputs {
        compose: src(
            "docker-compose.yml",
            "services:\n  backend-flask:\n    build: ./backend-flask\n",
        ),
        service: "backend-flask".into(),
        backend_dir: "backend-flask".into(),
        requirements: Some(src("backend-flask/requirements.txt", req)),
        python: vec![
            (PyFile::App, Some(src("backend-flask/app.py", app))),
            (
                PyFile::HomeActivities,
                Some(src("backend-flask/services/home_activities.py", home)),
            ),
            (
                PyFile::UserActivities,
                Some(src("backend-flask/services/user_activities.py", user)),
            ),
        ],
        gitpod: Some(src(".gitpod.yml", "\nvscode:\n  extensions: []\n")),
        devcontainer: None,
        automations: None,
        present: Vec::new(),
        config: None,
        app_file: "app.py".into(),
        linked: Vec::new(),
        env_files: Vec::new(),
    }
}

/// Applies a plan's edits to the inputs, as `apply` would to the files.
fn applied(mut i: Inputs, p: &Plan) -> Inputs {
    for e in &p.edits {
        let set = |s: &mut Option<Source>| {
            if let Some(s) = s.as_mut().filter(|s| s.path == e.path) {
                s.text = e.after.clone();
            }
        };
        if i.compose.path == e.path {
            i.compose.text = e.after.clone();
        }
        set(&mut i.requirements);
        set(&mut i.gitpod);
        for (_, s) in i.python.iter_mut() {
            set(s);
        }
        if e.path == "o11y.toml" {
            i.config = Some(Source {
                path: e.path.clone(),
                text: e.after.clone(),
            });
        }
        if e.path.ends_with("automations.yaml") {
            i.automations = Some(Source {
                path: e.path.clone(),
                text: e.after.clone(),
            });
        }
        if e.created && !i.present.contains(&e.path) {
            i.present.push(e.path.clone());
        }
    }
    i
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn requirements_never_panic_and_settle() {
    let settled = AtomicUsize::new(0);
    let add = ["opentelemetry-api", "aws-xray-sdk", "watchtower", "rollbar"];
    runner(1000)
        .run(&(lines_of(REQ, 12), ".{0,40}"), |(text, junk)| {
            let _ = requirements::patch(&junk, &add, &["blinker"]);
            if let Ok(once) = requirements::patch(&text, &add, &[]) {
                prop_assert_eq!(requirements::patch(&once, &add, &[]).unwrap(), once.clone());
                // Everything that was there is still there, in order.
                let kept: Vec<&str> = once
                    .lines()
                    .filter(|l| text.lines().any(|t| t == *l))
                    .collect();
                prop_assert_eq!(kept.len(), text.lines().count());
                settled.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    let n = settled.into_inner();
    eprintln!("requirements: {n} of 1000 cases reached the check");
    assert!(n >= 300, "only {n} of 1000 cases reached the check");
}

#[test]
fn compose_never_panics_and_settles() {
    let settled = AtomicUsize::new(0);
    let change = compose_change("backend-flask");
    runner(1000)
        .run(
            &(compose_file(), lines_of(YAML, 16), ".{0,60}"),
            |(text, junk_lines, junk)| {
                let _ = compose::patch(&junk, &change);
                let _ = compose::patch(&junk_lines, &change);
                if let Ok(once) = compose::patch(&text, &change) {
                    prop_assert_eq!(compose::patch(&once, &change).unwrap(), once.clone());
                    prop_assert!(compose::validate(&once).is_ok(), "{}", once);
                    let svc = compose::services(&once).unwrap();
                    prop_assert!(svc.iter().any(|s| s.name == "xray-daemon"), "{}", once);
                    settled.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            },
        )
        .unwrap();
    let n = settled.into_inner();
    eprintln!("compose: {n} of 1000 cases reached the check");
    assert!(n >= 500, "only {n} of 1000 compose files reached the check");
}

#[test]
fn python_plan_never_panics_and_settles() {
    let settled = AtomicUsize::new(0);
    let target = Target {
        all: all().to_vec(),
        enabled: all().to_vec(),
        only: None,
        local: false,
        forced: Vec::new(),
        adopt: Vec::new(),
    };
    let strategy = (
        app_file(),
        service_file("HomeActivities"),
        service_file("UserActivities"),
        lines_of(REQ, 6),
        lines_of(PY, 14),
    );
    runner(400)
        .run(&strategy, |(app, home, user, req, junk)| {
            let _ = plan(&inputs(&junk, &junk, &junk, &req), &target);
            let i = inputs(&app, &home, &user, &req);
            if let Ok(first) = plan(&i, &target) {
                for e in &first.edits {
                    if e.path.ends_with(".py") {
                        prop_assert!(
                            o11y::patch::python::check(&e.after).is_ok(),
                            "{} broke:\n{}",
                            e.path,
                            e.after
                        );
                        let dead = o11y::patch::python::unreachable_blocks(&e.after, all());
                        prop_assert!(
                            dead.is_empty(),
                            "{} has a block after a return:\n{}",
                            e.path,
                            e.after
                        );
                    }
                }
                let second = plan(&applied(i, &first), &target).unwrap();
                prop_assert!(
                    second.is_empty(),
                    "second plan not empty: {:?}",
                    second.edits.iter().map(|e| &e.path).collect::<Vec<_>>()
                );
                settled.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    let n = settled.into_inner();
    eprintln!("python plan: {n} of 400 cases reached the check");
    assert!(n >= 300, "only {n} of 400 projects reached the check");
}

/// Values as keys really look, and the characters that break a naive .env: quotes, `$`,
/// backslashes, backticks, `#`, spaces, line breaks, other control characters, non-ASCII.
fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9/+=_-]{0,40}",
        "[ -~]{0,24}",
        "[a-z'\"$`\\\\# \\n\\r\\t\\x00\\x1bé→]{0,16}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Every value .env takes reads back the same through o11y's reader and through a shell
    /// (`set -a; . ./.env`); every other value is refused before anything is written.
    #[test]
    fn dotenv_values_round_trip_or_are_refused(values in prop::collection::vec(env_value(), 1..12)) {
        use o11y::secrets::dotenv;
        let named: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(n, v)| (format!("K{n}"), v.clone()))
            .collect();
        let taken: Vec<(String, String)> = named
            .iter()
            .filter(|(_, v)| dotenv::quoted(v).is_ok())
            .cloned()
            .collect();
        for (k, v) in &named {
            let refused = dotenv::quoted(v).is_err();
            prop_assert_eq!(refused, dotenv::check_values(&[(k.clone(), v.clone())]).is_err());
            if v.chars().any(|c| c.is_control()) {
                prop_assert!(refused, "{:?} was taken", v);
            }
        }
        let text = dotenv::merge_keys("# mine\n", &taken);
        let read: Vec<(String, String)> = dotenv::parse(&text);
        prop_assert_eq!(&read, &taken);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), &text).unwrap();
        let script = format!(
            "set -a; . ./.env; printf '%s\\000' {}",
            taken.iter().map(|(k, _)| format!("\"${k}\"")).collect::<Vec<_>>().join(" ")
        );
        let out = std::process::Command::new("sh")
            .current_dir(dir.path())
            .args(["-c", &script])
            .output()
            .unwrap();
        prop_assert!(out.status.success(), "sh: {}", String::from_utf8_lossy(&out.stderr));
        let from_sh: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|_| !taken.is_empty())
            .map(str::to_string)
            .collect();
        let expect: Vec<String> = taken.iter().map(|(_, v)| v.clone()).chain(std::iter::once(String::new())).collect();
        if !taken.is_empty() {
            prop_assert_eq!(from_sh, expect, "{}", text);
        }
        prop_assert!(!dir.path().join("pwned").exists());
    }
}
