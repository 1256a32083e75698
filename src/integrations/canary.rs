//! A fifth integration for the tests alone (feature `testkit`, and O11Y_TESTKIT=canary): its
//! own requirement with extras, variable, route and code check, and a receiver of its own
//! name that speaks Rollbar's item API. `tests/fifth.rs` runs it through the real binary, so
//! that what docs/ARCHITECTURE.md says an integration takes is checked at every commit.

use crate::spec::{Anchor, EnvVar, HandMade, PyBlock, PyFile, Receiver, ReceiverKind, Spec};

pub const SPEC: Spec = Spec {
    name: "canary",
    title: "Canary",
    blurb: "errors, for the tests",
    rank: 90,
    uses_aws: false,
    secrets: &[],
    api: None,
    fallback_api: None,
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
    env: &[
        EnvVar {
            name: "CANARY_DSN",
            value: "${CANARY_DSN}",
            local: false,
        },
        // Where its items go: the service's own, or in local mode `listen`'s receiver.
        EnvVar {
            name: "CANARY_ENDPOINT",
            value: "${CANARY_ENDPOINT:-https://canary.invalid/api/1/}",
            local: true,
        },
    ],
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
            template: "canary_sdk.init(dsn=os.getenv(\"CANARY_DSN\"), endpoint=os.getenv(\"CANARY_ENDPOINT\"))\n",
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
    smoke_creates: &[],
    slow_readback: false,
};

pub fn checks() -> Vec<crate::context::Check> {
    vec![crate::context::Check {
        id: "canary.code",
        group: crate::report::Group::Project,
        title: "Canary in the code",
        integration: Some(crate::spec::Integration(&SPEC)),
        run: |c| crate::context::code_check(c, crate::spec::Integration(&SPEC)),
    }]
}

pub static DEF: super::behaviour::Def = super::behaviour::Def {
    spec: &SPEC,
    checks,
    verdict: None,
    smoke: |_, _| {
        Box::pin(async {
            crate::report::Step::failed(
                "the canary has no cloud service",
                "use `o11y smoke --local` with `o11y listen`",
            )
        })
    },
    // An item in Rollbar's protocol, which its receiver speaks.
    local_smoke: |t| (super::rollbar::DEF.local_smoke)(t),
    fixes: &[],
    fixed_by_apply: &[],
};
