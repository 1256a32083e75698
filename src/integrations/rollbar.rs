//! Rollbar: error reporting and a `/rollbar/test` route.

use super::{Anchor, EnvVar, HandMade, Integration, PyBlock, PyFile, Spec};

pub const SPEC: Spec = Spec {
    integration: Integration::Rollbar,
    packages: &["blinker", "rollbar"],
    env: &[
        EnvVar {
            name: "ROLLBAR_ACCESS_TOKEN",
            value: "${ROLLBAR_ACCESS_TOKEN}",
        },
        // The SDK reads no variable for its endpoint; app.py passes this one on.
        EnvVar {
            name: "ROLLBAR_ENDPOINT",
            value: "${ROLLBAR_ENDPOINT:-https://api.rollbar.com/api/1/}",
        },
    ],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/app/rollbar_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../templates/app/rollbar_setup.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "route",
            anchor: Anchor::BesideRoutes,
            template: include_str!("../../templates/app/rollbar_route.py"),
        },
    ],
    hand_made: &[HandMade {
        file: PyFile::App,
        mentions: &["rollbar"],
        complete: &["rollbar.init", "got_request_exception"],
        flaws: &[(
            "before_first_request",
            "initialises Rollbar in `@app.before_first_request`, which Flask 2.3 removed: \
             the backend will not start on a current Flask",
        )],
    }],
};
