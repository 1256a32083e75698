//! A fifth integration, compiled into test builds only (`src/integrations/canary.rs`, feature
//! `testkit`, registered when O11Y_TESTKIT=canary): its own requirement with extras, variable,
//! route, receiver and code check, through plan, apply, doctor, disable/enable, `listen` and
//! undo, once with the engine and its own receiver alone, once through the binary. It proves
//! what docs/ARCHITECTURE.md says adding an integration takes, at every commit; and that the
//! four real integrations' changes are the same with it present as without it.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use o11y::patch::plan::{plan, Plan, Target};
use o11y::spec::{Integration, ReceiverKind};

/// The test integration (`src/integrations/canary.rs`, in test builds only).
static CANARY: &o11y::spec::Spec = &o11y::integrations::canary::SPEC;

fn canary() -> Integration {
    Integration(CANARY)
}

/// The four, and the canary after them.
fn five() -> Vec<Integration> {
    let mut all = o11y::integrations::all().to_vec();
    all.push(canary());
    all
}

fn plan_of(root: &Path, known: &[Integration], enabled: &[Integration]) -> Plan {
    let p = o11y::project::detect(root, true, None, None, known).unwrap();
    let target = Target {
        all: known.to_vec(),
        enabled: enabled.to_vec(),
        only: None,
        local: false,
        forced: Vec::new(),
        adopt: Vec::new(),
    };
    plan(&p.inputs().unwrap(), &target).unwrap()
}

fn apply(root: &Path, known: &[Integration], enabled: &[Integration]) {
    let p = plan_of(root, known, enabled);
    if !p.is_empty() {
        o11y::patch::apply::apply(root, &p).unwrap();
    }
}

fn text(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

#[test]
fn a_fifth_integration_goes_through_every_step() {
    let four = o11y::integrations::all().to_vec();
    let five = five();
    let dir = project("template");
    let d = dir.path();
    let original = tree(d);

    // The four's plan is the same whether the canary is known or not.
    let without = plan_of(d, &four, &four);
    let beside = plan_of(d, &five, &four);
    let shape = |p: &Plan| -> Vec<(String, String)> {
        p.edits
            .iter()
            .map(|e| (e.path.clone(), e.after.clone()))
            .collect()
    };
    assert_eq!(shape(&without), shape(&beside));
    assert_eq!(without.notes, beside.notes);

    // Apply with it: its requirement (with extras), variable, setup and route, after the four.
    apply(d, &five, &five);
    let applied = tree(d);
    let app = text(d, "backend-flask/app.py");
    assert!(app.contains("# >>> o11y:canary:setup"), "{app}");
    let rollbar_route = app.find("# >>> o11y:rollbar:route").unwrap();
    let canary_route = app.find("# >>> o11y:canary:route").unwrap();
    assert!(rollbar_route < canary_route, "{app}");
    let req = text(d, "backend-flask/requirements.txt");
    assert_eq!(req.matches("canary-sdk[flask]>=2.0").count(), 1, "{req}");
    let compose = text(d, "docker-compose.yml");
    assert!(
        compose.contains("CANARY_DSN: \"${CANARY_DSN}\""),
        "{compose}"
    );
    assert!(text(d, "o11y.toml").contains("\"canary\""));

    // A second run has nothing to do: the extra is no second line.
    assert!(plan_of(d, &five, &five).is_empty());

    // Doctor's code check knows it.
    let project = o11y::project::detect(d, true, None, None, &five).unwrap();
    let ctx = Arc::new(o11y::context::Ctx {
        inputs: Some(project.inputs().unwrap()),
        project: Ok(project),
        unreadable: None,
        enabled: five.clone(),
        all: five.clone(),
        vars: Default::default(),
        endpoints: o11y::context::Endpoints {
            apis: Default::default(),
            backend: String::new(),
            notes: Vec::new(),
        },
        http: o11y::net::client(Duration::from_secs(1)).unwrap(),
        timeout: Duration::from_secs(2),
        aws: Default::default(),
        cwd: d.to_path_buf(),
        local: false,
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome = rt.block_on(o11y::context::code_check(ctx, canary()));
    assert_eq!(outcome.status, o11y::report::Status::Ok, "{outcome:?}");
    assert_eq!(outcome.reason, "wired in by o11y");

    // Off, its lines go (the requirement with its extra too); on again, the same file as
    // before, its route after Rollbar's.
    apply(d, &five, &five[..4]);
    let off = tree(d);
    let app = text(d, "backend-flask/app.py");
    assert!(!app.contains("canary"), "{app}");
    assert!(!text(d, "backend-flask/requirements.txt").contains("canary-sdk"));
    assert!(!text(d, "docker-compose.yml").contains("CANARY_DSN"));
    apply(d, &five, &five);
    assert_eq!(
        tree(d),
        applied,
        "disable then enable of the canary differs"
    );
    // Rollbar off and on again with the canary's route beside it: same file.
    let mut no_rollbar = five.clone();
    no_rollbar.retain(|i| i.name() != "rollbar");
    apply(d, &five, &no_rollbar);
    apply(d, &five, &five);
    assert_eq!(tree(d), applied, "disable then enable of Rollbar differs");
    assert_ne!(off, applied);

    // listen binds the receivers it is given: the canary's takes an item.
    rt.block_on(async {
        let ports = o11y::listen::Ports(vec![(&CANARY.receiver, 0)]);
        let mut running = o11y::listen::start("127.0.0.1".parse().unwrap(), ports)
            .await
            .unwrap();
        let port = running.endpoints.ports.get(ReceiverKind::Rollbar);
        assert_ne!(port, 0);
        let env = running.endpoints.env("127.0.0.1", &[canary()]);
        assert_eq!(
            env,
            vec![("CANARY_ENDPOINT", format!("http://127.0.0.1:{port}/api/1/"))]
        );
        let body = serde_json::json!({"data": {"environment": "test", "level": "error",
            "body": {"message": {"body": "canary says hello"}}}});
        let status = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/api/1/item/"))
            .header("x-rollbar-access-token", "local")
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
        let arrival = tokio::time::timeout(Duration::from_secs(5), running.next())
            .await
            .unwrap()
            .unwrap();
        assert!(arrival.names("canary says hello"), "{arrival:?}");
    });

    // Undo, step by step, to the very bytes it started from.
    while o11y::patch::apply::undo(d, false).is_ok() {}
    assert_eq!(tree(d), original);
}

/// o11y, the binary, with the test integration registered (O11Y_TESTKIT=canary), on `dir`.
fn with_canary(dir: &Path, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("o11y")
        .unwrap()
        .env("O11Y_TESTKIT", "canary")
        .env_remove("O11Y_PROJECT")
        .args(["--color", "never", "--project"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The same, which must succeed.
fn canary_ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = with_canary(dir, args);
    assert!(
        o.status.success(),
        "o11y {args:?} exited {:?}\n{}\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

/// The checks of a `doctor --json` report, without their timings.
fn rows(o: &std::process::Output) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("status"), s("reason"))
        })
        .collect()
}

#[test]
fn the_binary_takes_a_fifth_integration_through_every_command() {
    let dir = project("template");
    let d = dir.path();
    let original = tree(d);
    let only = "project,secrets,honeycomb,xray,cloudwatch,rollbar";

    // Registered, it is one more choice of every command, and one more doctor row; the four's
    // rows are the same as without it.
    let help = stdout(&canary_ok(d, &["enable", "--help"]));
    assert!(
        help.contains("honeycomb, xray, cloudwatch, rollbar, canary"),
        "{help}"
    );
    let four = rows(&run(d, &["doctor", "--json", "--only", only]));
    let five = rows(&with_canary(
        d,
        &["doctor", "--json", "--only", &format!("{only},canary")],
    ));
    // The project-wide rows list its requirement and variable too, and only those.
    let theirs: Vec<(String, String, String)> = five
        .iter()
        .filter(|r| !r.0.starts_with("canary."))
        .map(|(id, status, reason)| {
            let reason = reason
                .replace(", canary-sdk[flask]>=2.0", "")
                .replace(", CANARY_DSN", "")
                .replace(", CANARY_ENDPOINT", "");
            (id.clone(), status.clone(), reason)
        })
        .collect();
    assert_eq!(theirs, four);
    assert!(
        five.iter().any(|r| r.2.contains("canary-sdk[flask]>=2.0"))
            && five.iter().any(|r| r.2.contains("CANARY_DSN")),
        "the canary's pieces are not listed: {five:?}"
    );
    assert!(
        five.iter().any(|r| r.0 == "canary.code" && r.1 == "fail"),
        "{five:?}"
    );

    // plan and apply: its requirement with extras, variable, setup and route.
    // (`plan` exits 1: there are changes to make.)
    let plan = with_canary(d, &["plan"]);
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    let plan = stdout(&plan);
    for piece in [
        "canary-sdk[flask]>=2.0",
        "CANARY_DSN",
        "@app.route(\"/canary/test\")",
    ] {
        assert!(
            plan.contains(piece),
            "{piece} missing from the plan:\n{plan}"
        );
    }
    canary_ok(d, &["apply", "--yes"]);
    let applied = tree(d);
    // The four's changes are byte for byte the same as without it: every file, once the
    // canary's own blocks and lines are taken out, is what an apply without it writes.
    let alone = project("template");
    run_ok(alone.path(), &["apply", "--yes"], 0);
    let four_applied = tree(alone.path());
    let strip = |bytes: &[u8]| -> String {
        let text = String::from_utf8_lossy(bytes);
        let mut out = Vec::new();
        let mut inside = false;
        for line in text.split('\n') {
            if line.starts_with("# >>> o11y:canary:") {
                inside = true;
            } else if line.starts_with("# <<< o11y:canary:") {
                inside = false;
            } else if !inside && !line.contains("canary-sdk") && !line.contains("CANARY_") {
                out.push(line);
            }
        }
        out.join("\n").replace(", \"canary\"", "")
    };
    assert_eq!(
        applied
            .keys()
            .filter(|p| !p.starts_with(".o11y"))
            .collect::<Vec<_>>(),
        four_applied
            .keys()
            .filter(|p| !p.starts_with(".o11y"))
            .collect::<Vec<_>>(),
        "the canary adds or drops a file"
    );
    let mut compared = 0;
    for (path, four) in four_applied.iter().filter(|(p, _)| !p.starts_with(".o11y")) {
        let five = &applied[path];
        if five != four {
            assert_eq!(strip(five), String::from_utf8_lossy(four), "{path}");
            compared += 1;
        }
    }
    assert_eq!(
        compared, 4,
        "app.py, requirements.txt, the compose file and o11y.toml"
    );
    let app = text(d, "backend-flask/app.py");
    assert!(app.contains("# >>> o11y:canary:setup"), "{app}");
    assert!(text(d, "o11y.toml").contains("\"canary\""));
    canary_ok(d, &["apply", "--yes"]);
    assert_eq!(tree(d), applied, "a second apply changed something");

    // doctor's code check, through the binary.
    let after = rows(&with_canary(d, &["doctor", "--json", "--only", "canary"]));
    assert_eq!(
        after,
        vec![(
            "canary.code".to_string(),
            "ok".to_string(),
            "wired in by o11y".to_string()
        )]
    );

    // disable and enable, by name.
    canary_ok(d, &["disable", "canary", "--yes"]);
    let app = text(d, "backend-flask/app.py");
    assert!(!app.contains("canary"), "{app}");
    assert!(!text(d, "backend-flask/requirements.txt").contains("canary-sdk"));
    canary_ok(d, &["enable", "canary", "--yes"]);
    assert_eq!(tree(d), applied, "disable then enable differs");

    // listen points the canary's variable at the receiver of its protocol, which takes its item.
    let (ports, args) = receiver_ports();
    let rollbar = ports["rollbar"];
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("o11y"))
        .env("O11Y_TESTKIT", "canary")
        .args([
            "--color",
            "never",
            "listen",
            "--exit-after",
            "1",
            "--timeout",
            "30",
        ])
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let up = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", rollbar)).is_err() {
        assert!(
            child.try_wait().unwrap().is_none() && up.elapsed() < Duration::from_secs(10),
            "listen did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let endpoint = format!("http://127.0.0.1:{rollbar}/api/1/");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(o11y::integrations::rollbar::send_smoke(
        &o11y::net::client(Duration::from_secs(10)).unwrap(),
        &endpoint,
        "local",
        "test",
    ))
    .unwrap();
    let o = child.wait_with_output().unwrap();
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("export CANARY_ENDPOINT={endpoint}")),
        "{err}"
    );
    assert!(out.contains("O11ySmokeTest"), "{out}");

    // undo, step by step, to the very bytes it started from.
    for _ in 0..10 {
        if tree(d) == original {
            break;
        }
        canary_ok(d, &["undo"]);
    }
    assert_eq!(tree(d), original);
}
