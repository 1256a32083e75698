//! Properties of the patchers on generated input: they never panic, and a second pass over
//! their own output changes nothing.

use o11y::integrations::{Integration, PyFile};
use o11y::patch::plan::{plan, Inputs, Source, Target};
use o11y::patch::{compose, requirements};
use proptest::prelude::*;

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
        add_daemon: Some(("xray-daemon", "{i}xray-daemon:{e}{i}{i}image: x{e}")),
        remove_daemon: None,
        extra_host: Some("host.docker.internal:host-gateway"),
    }
}

fn inputs(app: &str, home: &str, req: &str) -> Inputs {
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
                Some(src("backend-flask/services/user_activities.py", home)),
            ),
        ],
        gitpod: Some(src(".gitpod.yml", "\nvscode:\n  extensions: []\n")),
        devcontainer: None,
        sampling_rule: None,
        config: None,
        app_file: "app.py".into(),
        linked: Vec::new(),
        env_files: Vec::new(),
    }
}

/// Applies a plan's edits to the inputs, as `apply` would to the files.
fn applied(mut i: Inputs, p: &o11y::patch::plan::Plan) -> Inputs {
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
        if e.path == "aws/json/xray.json" {
            i.sampling_rule = Some(Source {
                path: e.path.clone(),
                text: e.after.clone(),
            });
        }
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn requirements_never_panic_and_settle(text in lines_of(REQ, 12), junk in ".{0,40}") {
        let add = ["opentelemetry-api", "aws-xray-sdk", "watchtower", "rollbar"];
        let _ = requirements::patch(&junk, &add, &["blinker"]);
        if let Ok(once) = requirements::patch(&text, &add, &[]) {
            prop_assert_eq!(requirements::patch(&once, &add, &[]).unwrap(), once.clone());
            // Everything that was there is still there, in order.
            let kept: Vec<&str> = once.lines().filter(|l| text.lines().any(|t| t == *l)).collect();
            prop_assert_eq!(kept.len(), text.lines().count());
        }
    }

    #[test]
    fn compose_never_panics_and_settles(text in lines_of(YAML, 16), junk in ".{0,60}") {
        let change = compose_change("backend-flask");
        let _ = compose::patch(&junk, &change);
        if let Ok(once) = compose::patch(&text, &change) {
            prop_assert_eq!(compose::patch(&once, &change).unwrap(), once.clone());
            prop_assert!(compose::validate(&once).is_ok() || compose::validate(&text).is_err());
        }
    }

    #[test]
    fn python_plan_never_panics_and_settles(
        app in lines_of(PY, 14),
        home in lines_of(PY, 10),
        req in lines_of(REQ, 6),
    ) {
        let target = Target { enabled: Integration::ALL.to_vec(), only: None, local: false };
        let i = inputs(&app, &home, &req);
        if let Ok(first) = plan(&i, &target) {
            for e in &first.edits {
                if e.path.ends_with(".py") {
                    prop_assert!(o11y::patch::python::check(&e.after).is_ok(), "{} broke:\n{}", e.path, e.after);
                }
            }
            let second = plan(&applied(i, &first), &target).unwrap();
            prop_assert!(second.is_empty(), "second plan not empty: {:?}", second.edits.iter().map(|e| &e.path).collect::<Vec<_>>());
        }
    }
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
