//! A fifth integration, built from a spec in this test only: its own requirement with extras,
//! variable, route, receiver and code check, through plan, apply, doctor's code check,
//! disable/enable, `listen` and undo, with the engine as the commands use it. It proves what
//! docs/ARCHITECTURE.md says adding an integration takes, at every commit; and that the four
//! real integrations' changes are the same with it present as without it.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use o11y::patch::plan::{plan, Plan, Target};
use o11y::spec::{
    Anchor, EnvVar, HandMade, Integration, PyBlock, PyFile, Receiver, ReceiverKind, Spec,
};

static CANARY: Spec = Spec {
    name: "canary",
    title: "Canary",
    blurb: "errors, for this test",
    rank: 90,
    uses_aws: false,
    secrets: &[],
    api: None,
    fallback_api: None,
    // The item protocol of Rollbar's receiver, on a receiver of its own.
    receiver: Receiver {
        kind: ReceiverKind::Rollbar,
        name: "canary",
        serves: "Canary items",
        label: "Canary",
        port: 4599,
        flag: "--canary-port",
        unit: ("Canary item", "Canary items"),
        env: &[("CANARY_ENDPOINT", "http://{host}:{port}/api/1/")],
        what: "item",
        shown: "Canary items",
        shown_real: "",
        arrivals: "Canary items",
        own_code: "",
        batched: false,
    },
    compose_services: &[],
    files: &[],
    ports: &[],
    packages: &["canary-sdk[flask]>=2.0"],
    modules: &["canary_sdk"],
    env: &[EnvVar {
        name: "CANARY_DSN",
        value: "${CANARY_DSN}",
        local: false,
    }],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: "import canary_sdk\n",
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: "canary_sdk.init(dsn=os.getenv(\"CANARY_DSN\"))\n",
        },
        PyBlock {
            file: PyFile::App,
            part: "route",
            anchor: Anchor::BesideRoutes,
            template: "@app.route(\"/canary/test\")\ndef canary_test():\n    canary_sdk.capture_message(\"Hello World!\")\n    return \"Hello World!\"\n",
        },
    ],
    hand_made: &[HandMade {
        file: PyFile::App,
        mentions: &["canary_sdk"],
        complete: &["canary_sdk.init("],
        flaws: &[],
    }],
    blocks_need_own_setup: false,
};

fn canary() -> Integration {
    Integration(&CANARY)
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
