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

/// A Rollbar item: level error, a synthetic exception with a stack, saying it is a smoke test.
pub fn smoke_item(environment: &str, uuid: &str) -> serde_json::Value {
    serde_json::json!({
        "data": {
            "environment": environment,
            "level": "error",
            "uuid": uuid,
            "platform": "o11y",
            "language": "python",
            "framework": "flask",
            "body": {"trace": {
                "frames": [
                    {"filename": "o11y/smoke.py", "lineno": 1, "method": "smoke"},
                    {"filename": "o11y/smoke.py", "lineno": 2, "method": "raise_test_error"}
                ],
                "exception": {"class": "O11ySmokeTest", "message": "a test error sent by o11y to check that Rollbar receives errors"}
            }},
            "notifier": {"name": "o11y", "version": env!("CARGO_PKG_VERSION")}
        }
    })
}

/// Sends one smoke item to an API base (`.../api/1/`); returns the uuid Rollbar answered with.
pub async fn send_smoke(base: &str, token: &str, environment: &str) -> Result<String, String> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let client = super::smoke_client()?;
    let body = super::expect_2xx(
        client
            .post(format!("{}/item/", base.trim_end_matches('/')))
            .header("x-rollbar-access-token", token)
            .json(&smoke_item(environment, &uuid))
            .send()
            .await,
    )
    .await?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|_| "the answer is not Rollbar's JSON".to_string())?;
    v["result"]["uuid"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "the answer has no result.uuid".to_string())
}
