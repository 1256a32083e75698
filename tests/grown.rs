//! Grown projects and other Flask apps, after `o11y apply`: the patched app imported for real
//! with the real SDKs (one setup of each, no warnings of a second), its signals at `o11y
//! listen`, and `doctor` judging each setup where it lives. The apply/undo cycles of the same
//! fixtures are in variants.rs.

mod common;

use std::fs;
use std::process::Command;

use common::*;
use serde_json::Value;

/// What a second setup of an integration makes the SDKs log.
const TWICE: &[&str] = &[
    "Overriding of current TracerProvider is not allowed",
    "Attempting to instrument Flask app while already instrumented",
    "cannot find the current segment",
];

struct Imported {
    handlers: u64,
    statuses: Value,
    log: String,
}

/// Imports the app of a patched fixture with the test venv's SDKs, sending to `listen`.
fn import(
    dir: &std::path::Path,
    backend: &str,
    module: &str,
    paths: &[&str],
    listen: &Listen,
) -> Imported {
    let o = Command::new(python())
        .arg(repo().join("tests/support/import_app.py"))
        .arg(dir.join(backend))
        .arg(module)
        .args(paths)
        .envs(listen.env())
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env("OTEL_SERVICE_NAME", "grown")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("ROLLBAR_ACCESS_TOKEN", "test-token")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("FLASK_APP")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "the patched app did not import:\n{log}");
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}\n{log}"));
    Imported {
        handlers: v["handlers"].as_u64().unwrap(),
        statuses: v["statuses"].clone(),
        log,
    }
}

fn assert_once(i: &Imported, what: &str) {
    for bad in TWICE {
        assert!(
            !i.log.contains(bad),
            "{what}: the app logged `{bad}`:\n{}",
            i.log
        );
    }
    assert!(
        !i.log.contains("Traceback"),
        "{what}: a traceback:\n{}",
        i.log
    );
    assert_eq!(i.handlers, 1, "{what}: CloudWatch handlers:\n{}", i.log);
    for (path, status) in i.statuses.as_object().unwrap() {
        assert_eq!(status, 200, "{what}: GET {path}:\n{}", i.log);
    }
}

fn doctor_codes(dir: &std::path::Path) -> Vec<(String, String, String)> {
    // The project's own checks: nothing here asks a service.
    let o = run(
        dir,
        &[
            "doctor",
            "--json",
            "--only",
            "project,honeycomb.code,xray.code,xray.daemon,cloudwatch.code,rollbar.code",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn status_of<'a>(checks: &'a [(String, String, String)], id: &str) -> (&'a str, &'a str) {
    checks
        .iter()
        .find(|(i, _, _)| i == id)
        .map(|(_, s, r)| (s.as_str(), r.as_str()))
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

#[test]
fn week10_setups_in_lib_are_left_alone_and_run_once() {
    let dir = project("grown-week10");
    let d = dir.path();
    let app_before = fs::read_to_string(d.join("backend-flask/app.py")).unwrap();
    let lib_before = tree(&d.join("backend-flask/lib"));
    let o = run_ok(d, &["apply", "--yes"], 0);
    for i in ["Honeycomb", "AWS X-Ray", "CloudWatch Logs", "Rollbar"] {
        assert!(
            stderr(&o).contains(&format!(
                "{i} is already set up by hand in backend-flask/lib/"
            )),
            "{}",
            stderr(&o)
        );
    }
    // Nothing of o11y's in app.py or lib/: the student's setup is the only one.
    assert_eq!(
        fs::read_to_string(d.join("backend-flask/app.py")).unwrap(),
        app_before
    );
    assert_eq!(tree(&d.join("backend-flask/lib")), lib_before);

    // No variable the env file (through its erb template) sets is shadowed by `environment:`.
    let compose = fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    let erb = fs::read_to_string(d.join("erb/backend-flask.env.erb")).unwrap();
    let backend: String = compose
        .split("\n  frontend-react-js:")
        .next()
        .unwrap()
        .to_string();
    let mut checked = 0;
    for line in erb.lines() {
        if let Some((name, _)) = line.split_once('=') {
            assert!(
                !backend.contains(&format!("{name}:")) && !backend.contains(&format!("- {name}=")),
                "{name} is set by the env file and now also in environment:\n{backend}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "the erb template has only {checked} variables"
    );

    let listen = Listen::start();
    let i = import(
        d,
        "backend-flask",
        "app",
        &[
            "/api/activities/home",
            "/api/activities/@andrewbrown",
            "/api/health-check",
        ],
        &listen,
    );
    assert_once(&i, "grown-week10");
    listen.wait_for("a span of the student's own setup", 30, |v| {
        v["signal"] == "trace"
            && v["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["kind"] == "server"))
    });

    // doctor judges the setups where they live, and reads the env file for the daemon.
    let checks = doctor_codes(d);
    for id in ["honeycomb.code", "xray.code", "rollbar.code"] {
        let (s, r) = status_of(&checks, id);
        assert_eq!(s, "ok", "{id}: {r}");
        assert!(r.contains("lib/"), "{id}: {r}");
    }
    let (s, r) = status_of(&checks, "cloudwatch.code");
    assert_eq!(s, "warn", "{r}");
    assert!(r.contains("log_group="), "{r}");
    let (s, r) = status_of(&checks, "project.compose");
    assert_ne!(s, "fail", "{r}");
    let (_, r) = status_of(&checks, "xray.daemon");
    assert!(!r.contains("AWS_ACCESS_KEY_ID"), "{r}");
}

#[test]
fn other_flask_apps_are_patched_where_the_app_lives() {
    let listen = Listen::start();
    for (fixture, backend, module, file) in [
        ("server-py", "api", "server", "api/server.py"),
        ("gunicorn-module", "web", "hello", "web/hello.py"),
        (
            "package-factory",
            "backend",
            "project",
            "backend/project/__init__.py",
        ),
        ("merge-keys", "backend-flask", "app", "backend-flask/app.py"),
        (
            "return-in-with",
            "backend-flask",
            "app",
            "backend-flask/app.py",
        ),
        (
            "literal-endpoint",
            "backend-flask",
            "app",
            "backend-flask/app.py",
        ),
        (
            "app-factory",
            "backend-flask",
            "app",
            "backend-flask/app.py",
        ),
    ] {
        let dir = project(fixture);
        let d = dir.path();
        let o = run_ok(d, &["apply", "--yes"], 0);
        let text = fs::read_to_string(d.join(file)).unwrap();
        assert!(
            text.contains("# >>> o11y:"),
            "{fixture}: {file} was not patched:\n{}",
            stderr(&o)
        );
        assert!(
            !stderr(&o).contains('{'),
            "{fixture}: a placeholder in:\n{}",
            stderr(&o)
        );
        let cruddur = d
            .join(backend)
            .join("services/user_activities.py")
            .is_file();
        let mut paths = vec!["/rollbar/test"];
        if cruddur {
            paths.extend(["/api/activities/home", "/api/activities/@andrewbrown"]);
        }
        let i = import(d, backend, module, &paths, &listen);
        assert_once(&i, fixture);
        let checks = doctor_codes(d);
        for id in [
            "honeycomb.code",
            "xray.code",
            "cloudwatch.code",
            "rollbar.code",
        ] {
            let (s, r) = status_of(&checks, id);
            assert_eq!(s, "ok", "{fixture} {id}: {r}");
        }
    }
    listen.wait_for("the rollbar route's message", 30, |v| {
        v["signal"] == "rollbar" && v["title"] == "Hello World!"
    });
    listen.wait_for("the subsegment placed inside `with`", 30, |v| {
        v["signal"] == "xray"
            && v["subsegments"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x["name"] == "mock-data"))
    });
}

#[test]
fn old_flask_pins_and_endpoints_in_code_are_no_failures() {
    let dir = project("old-flask");
    let d = dir.path();
    run_ok(d, &["apply", "--yes"], 0);
    let checks = doctor_codes(d);
    for id in [
        "honeycomb.code",
        "rollbar.code",
        "xray.code",
        "project.flask",
        "project.compose",
    ] {
        let (s, r) = status_of(&checks, id);
        assert_ne!(s, "fail", "{id}: {r}");
    }
    let (s, r) = status_of(&checks, "cloudwatch.code");
    assert_eq!(s, "warn", "{r}");

    // The same project on a current Flask: before_first_request is a failure again.
    let req = d.join("backend-flask/requirements.txt");
    let text = fs::read_to_string(&req)
        .unwrap()
        .replace("Flask==2.2.5", "Flask==3.1.3");
    fs::write(&req, text).unwrap();
    let checks = doctor_codes(d);
    let (s, r) = status_of(&checks, "rollbar.code");
    assert_eq!(s, "fail", "{r}");
    assert!(r.contains("before_first_request"), "{r}");
    let (s, _) = status_of(&checks, "project.flask");
    assert_eq!(s, "fail");
}

#[test]
fn a_block_after_the_return_is_reported() {
    let dir = project("return-in-with");
    let d = dir.path();
    run_ok(d, &["apply", "--yes"], 0);
    assert_eq!(status_of(&doctor_codes(d), "xray.code").0, "ok");
    // Move o11y's subsegment block out of the `with`, after the return, as an older o11y did.
    let path = d.join("backend-flask/services/user_activities.py");
    let text = fs::read_to_string(&path).unwrap();
    let start = text.find("      # >>> o11y:xray:subsegment").unwrap();
    let end =
        text.find("# <<< o11y:xray:subsegment\n").unwrap() + "# <<< o11y:xray:subsegment\n".len();
    let block: String = text[start..end]
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let moved = format!("{}{}{block}", &text[..start], &text[end..]);
    fs::write(&path, moved).unwrap();
    let checks = doctor_codes(d);
    let (s, r) = status_of(&checks, "xray.code");
    assert_eq!(s, "fail", "{r}");
    assert!(r.contains("never runs"), "{r}");
}

#[test]
fn local_mode_turns_a_literal_endpoint_into_a_reference() {
    let dir = project("literal-endpoint");
    let d = dir.path();
    run_ok(d, &["apply", "--yes"], 0);
    let compose = fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    assert!(compose.contains("OTEL_EXPORTER_OTLP_ENDPOINT: \"https://api.honeycomb.io\""));
    let o = run_ok(d, &["apply", "--local", "--yes"], 0);
    assert!(
        stderr(&o).contains("would still send there"),
        "{}",
        stderr(&o)
    );
    let compose = fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains("OTEL_EXPORTER_OTLP_ENDPOINT: \"${OTEL_EXPORTER_OTLP_ENDPOINT:-https://api.honeycomb.io}\""),
        "{compose}"
    );
    // Without .env the value is what it was; with local mode's .env, compose gives listen's.
    if require("docker-compose") {
        let o = Command::new("docker-compose")
            .current_dir(d)
            .args(["config"])
            .output()
            .unwrap();
        let config = String::from_utf8_lossy(&o.stdout);
        assert!(
            config.contains("OTEL_EXPORTER_OTLP_ENDPOINT: http://host.docker.internal:4318"),
            "{config}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    run_ok(d, &["apply", "--local", "--yes"], 0);
    assert_eq!(
        fs::read_to_string(d.join("docker-compose.yml")).unwrap(),
        compose,
        "a second apply --local changed the compose file"
    );
}

#[test]
fn a_service_from_a_merge_key_keeps_its_inherited_environment() {
    let dir = project("merge-keys");
    let d = dir.path();
    run_ok(d, &["apply", "--yes"], 0);
    let compose = fs::read_to_string(d.join("docker-compose.yml")).unwrap();
    let backend = compose.split("\n  backend-flask:\n").nth(1).unwrap();
    let env = backend.split("<<: *default-app").next().unwrap();
    // The service's own `environment:` replaces the anchor's as a whole, so it carries both.
    for name in ["FRONTEND_URL", "BACKEND_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"] {
        assert!(
            env.contains(&format!("{name}:")),
            "{name} missing:\n{compose}"
        );
    }
    if require("docker-compose") {
        let o = Command::new("docker-compose")
            .current_dir(d)
            .arg("config")
            .env("GITPOD_WORKSPACE_ID", "ws")
            .env("GITPOD_WORKSPACE_CLUSTER_HOST", "gitpod.io")
            .output()
            .unwrap();
        let config = String::from_utf8_lossy(&o.stdout);
        assert!(
            config.contains("FRONTEND_URL: https://3000-ws.gitpod.io"),
            "{config}"
        );
    }
    run_ok(d, &["apply", "--yes"], 0);
    assert_eq!(
        fs::read_to_string(d.join("docker-compose.yml")).unwrap(),
        compose
    );
}

#[test]
fn a_lib_setup_that_app_never_calls_is_no_setup() {
    let dir = project("grown-week10");
    let d = dir.path();
    let app = d.join("backend-flask/app.py");
    let text = fs::read_to_string(&app).unwrap();
    assert!(text.contains("\ninit_xray(app)"), "{text}");
    // Import and call commented out: the helper is no setup at all.
    let text = text
        .replace("\ninit_xray(app)", "\n# init_xray(app)")
        .replace(
            "from lib.xray import init_xray",
            "# from lib.xray import init_xray",
        );
    fs::write(&app, text).unwrap();
    let o = run_ok(d, &["apply", "--yes"], 0);
    assert!(
        !stderr(&o).contains("AWS X-Ray is already set up by hand in backend-flask/lib/"),
        "{}",
        stderr(&o)
    );
    let patched = fs::read_to_string(&app).unwrap();
    assert!(patched.contains("# >>> o11y:xray:setup"), "{patched}");
    assert!(!patched.contains("# >>> o11y:honeycomb:setup"), "{patched}");
    let listen = Listen::start();
    let i = import(
        d,
        "backend-flask",
        "app",
        &["/api/activities/@andrewbrown"],
        &listen,
    );
    assert_once(&i, "grown-week10 with X-Ray switched off by hand");
    listen.wait_for("a segment from o11y's X-Ray setup", 30, |v| {
        v["signal"] == "xray"
    });
}

#[test]
fn an_env_file_o11y_cannot_read_is_named() {
    let dir = project("grown-week10");
    let d = dir.path();
    fs::remove_dir_all(d.join("erb")).unwrap();
    let o = run_ok(d, &["plan"], 1);
    assert!(
        stderr(&o).contains("The backend also reads backend-flask.env, which o11y could not read"),
        "{}",
        stderr(&o)
    );
    // With the generated file there, its variables are read from it instead.
    fs::write(
        d.join("backend-flask.env"),
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://api.honeycomb.io\nAWS_DEFAULT_REGION=us-east-1\n",
    )
    .unwrap();
    let o = run_ok(d, &["plan"], 1);
    assert!(!stderr(&o).contains("could not read"), "{}", stderr(&o));
    let diff = stdout(&o);
    assert!(!diff.contains("+      AWS_DEFAULT_REGION:"), "{diff}");
    assert!(diff.contains("+      AWS_ACCESS_KEY_ID:"), "{diff}");
}

/// The shapes found on real bootcamp repositories (each fixture's VARIANT.md names its source):
/// `doctor` after `o11y apply`, as a student would run them. Nothing switched off by hand is
/// a failure; it is a skip that names the command that turns it back on.
#[test]
fn doctor_after_apply_on_real_shapes() {
    let time = regex::Regex::new(r"\(\d+\.\d s\)").unwrap();
    for name in [
        "leftover-import",
        "switched-off",
        "helper-call-commented",
        "helper-imported-by-routes",
        "rollbar-never-called",
        "other-compose-name",
        "app-elsewhere",
        "several-services",
        "helper-never-imported",
    ] {
        let dir = project(name);
        let d = dir.path();
        run_ok(d, &["apply", "--yes"], 0);
        let o = run_clean(
            d,
            "doctor",
            &[
                "--only",
                "project,honeycomb.code,xray.code,xray.daemon,cloudwatch.code,rollbar.code",
            ],
            &[],
        );
        let shown = snapshot_of(&o, |t| t.replace(&d.display().to_string(), "[PROJECT]"));
        let shown = time.replace_all(&shown, "([time])").to_string();
        insta::assert_snapshot!(format!("{name}-doctor"), shown);
        for (id, status, reason) in doctor_codes(d) {
            if reason.contains("switched off by hand") {
                assert_eq!(status, "skip", "{name}: {id} {reason}");
                assert!(reason.contains("o11y enable"), "{name}: {id} {reason}");
            }
        }
    }
}

/// `apply --adopt rollbar` on the instructor's week-2 Rollbar setup (`@app.before_first_request`,
/// which Flask 2.3 removed): plain `apply` only names the step; with the flag the student's
/// lines go, o11y's come, the backend starts on today's Flask and its errors reach Rollbar;
/// `undo` gives back the very bytes.
#[test]
fn adopt_replaces_a_broken_rollbar_setup() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let d = dir.path();
    let app = d.join("backend-flask/app.py");
    let text = fs::read_to_string(&app).unwrap();
    // As in omenking/aws-bootcamp-cruddur-2023 (branch week-9-again), app.py.
    let student =
        "import rollbar\nimport rollbar.contrib.flask\nfrom flask import got_request_exception\n";
    let setup = "rollbar_access_token = os.getenv('ROLLBAR_ACCESS_TOKEN')\n@app.before_first_request\ndef init_rollbar():\n    \"\"\"init rollbar module\"\"\"\n    rollbar.init(\n        # access token\n        rollbar_access_token,\n        # environment name\n        'production',\n        # server root directory, makes tracebacks prettier\n        root=os.path.dirname(os.path.realpath(__file__)),\n        # flask already sets up logging\n        allow_logging_basic_config=False)\n\n    # send exceptions from `app` to rollbar, using flask's signal system.\n    got_request_exception.connect(rollbar.contrib.flask.report_exception, app)\n";
    let text = format!("{student}{text}").replacen(
        "app = Flask(__name__)\n",
        &format!("app = Flask(__name__)\n{setup}"),
        1,
    );
    fs::write(&app, &text).unwrap();
    let original = tree(d);

    let o = run_ok(d, &["plan", "--only", "rollbar"], 1);
    assert!(
        stderr(&o).contains("`o11y apply --adopt rollbar`"),
        "{}",
        stderr(&o)
    );
    let o = run_ok(d, &["apply", "--adopt", "rollbar", "--yes"], 0);
    assert!(
        stderr(&o)
            .contains("Rollbar: the hand-made setup in backend-flask/app.py is replaced by o11y's"),
        "{}",
        stderr(&o)
    );
    let patched = fs::read_to_string(&app).unwrap();
    assert!(!patched.contains("@app.before_first_request"), "{patched}");
    assert!(!patched.contains("rollbar_access_token"), "{patched}");
    assert!(patched.contains("# >>> o11y:rollbar:setup"), "{patched}");
    // A second run changes nothing, with the flag or without.
    let applied = tree(d);
    run_ok(d, &["apply", "--yes"], 0);
    run_ok(d, &["apply", "--adopt", "rollbar", "--yes"], 0);
    assert_eq!(tree(d), applied);
    let checks = doctor_codes(d);
    for id in ["rollbar.code", "project.flask"] {
        let (s, r) = status_of(&checks, id);
        assert_eq!(s, "ok", "{id}: {r}");
    }

    let listen = Listen::start();
    let i = import(d, "backend-flask", "app", &["/rollbar/test"], &listen);
    assert_once(&i, "the adopted Rollbar setup");
    listen.wait_for("the rollbar route's message", 30, |v| {
        v["signal"] == "rollbar" && v["title"] == "Hello World!"
    });

    run_ok(d, &["undo"], 0);
    assert_eq!(
        tree(d),
        original,
        "undo did not give back the student's lines"
    );
}

/// A project with no docker-compose.yml: the file the workspace starts is found, and without
/// one the candidates are named with `--compose FILE`; COMPOSE_FILE and `--compose` choose.
#[test]
fn the_compose_file_the_workspace_starts_is_found() {
    let dir = project("other-compose-name");
    let d = dir.path();
    let o = run_ok(d, &["plan"], 1);
    assert!(
        stderr(&o).contains("(compose file docker-compose-gitpod.yml,"),
        "{}",
        stderr(&o)
    );
    fs::remove_file(d.join(".gitpod.yml")).unwrap();
    let o = run_ok(d, &["plan"], 2);
    let err = stderr(&o);
    assert!(
        err.contains("these look like compose files: docker-compose-gitpod.yml, docker-compose-local.yml, docker-compose-nginx.yml"),
        "{err}"
    );
    assert!(err.contains("--compose FILE"), "{err}");
    let o = run_ok(d, &["--compose", "docker-compose-local.yml", "plan"], 1);
    assert!(
        stderr(&o).contains("(compose file docker-compose-local.yml,"),
        "{}",
        stderr(&o)
    );
    let o = run_clean(
        d,
        "plan",
        &[],
        &[("COMPOSE_FILE", "docker-compose-nginx.yml:other.yml".into())],
    );
    assert!(
        stderr(&o).contains("(compose file docker-compose-nginx.yml, backend service `api`"),
        "{}",
        stderr(&o)
    );
    let o = run_ok(d, &["--compose", "nope.yml", "plan"], 2);
    assert!(
        stderr(&o).contains("nope.yml (--compose) does not exist"),
        "{}",
        stderr(&o)
    );
}

/// Several services built from the backend's folder, one Flask app: the one whose command runs
/// it is the backend; two that both run one are refused with their names.
#[test]
fn of_a_web_and_a_worker_the_web_is_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("examples/cruddur"), dir.path());
    let d = dir.path();
    let compose = d.join("docker-compose.yml");
    let text = fs::read_to_string(&compose).unwrap().replacen(
        "  backend-flask:\n",
        "  worker:\n    build: ./backend-flask\n    command: celery -A tasks worker\n  web:\n    command: python3 -m flask run --host=0.0.0.0 --port=4567\n",
        1,
    );
    fs::write(&compose, &text).unwrap();
    fs::write(
        d.join("backend-flask/tasks.py"),
        "from celery import Celery\n\napp = Celery('tasks')\n",
    )
    .unwrap();
    let o = run_ok(d, &["plan"], 1);
    assert!(
        stderr(&o).contains("backend service `web` in backend-flask/"),
        "{}",
        stderr(&o)
    );
    // A second service that runs the Flask app too: o11y cannot tell, and says which.
    fs::write(
        &compose,
        text.replace(
            "command: celery -A tasks worker",
            "command: gunicorn app:app",
        ),
    )
    .unwrap();
    let o = run_ok(d, &["plan"], 2);
    assert!(
        stderr(&o).contains(
            "several services in docker-compose.yml look like a Flask backend: worker, web"
        ),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--service NAME"), "{}", stderr(&o));
}
