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

pub const API: &str = "https://api.rollbar.com/api/1/";
pub const TOKEN_VAR: &str = "ROLLBAR_ACCESS_TOKEN";
pub const API_VAR: &str = "O11Y_ROLLBAR_API";

/// Checks a token without recording anything. Rollbar authenticates the token, then checks its
/// scope, and only then validates the item: an item with no body is answered 401 for an unknown
/// token, 403 for a token that may not post server items, and 422 for a good token (the item
/// is invalid, so nothing is stored). 422 is therefore the answer that proves the token.
pub async fn check_token(
    client: &reqwest::Client,
    api: &str,
    token: &str,
) -> Result<(), super::net::Fault> {
    use super::net::{send, Fault};
    let (_, body) = send(
        client
            .post(format!("{}/item/", api.trim_end_matches('/')))
            .header("X-Rollbar-Access-Token", token)
            .json(&serde_json::json!({"data": {"environment": "o11y-token-check"}})),
        &[422],
    )
    .await?;
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| Fault::BadBody("the answer is not Rollbar's JSON".into()))?;
    if v.get("err").is_none() {
        return Err(Fault::BadBody("the answer has no `err` field".into()));
    }
    Ok(())
}

/// A token Rollbar knows that may not post server items (403), and the fix.
pub const WRONG_SCOPE: (&str, &str) = (
    "Rollbar says this token cannot post server items",
    "use the project's `post_server_item` token (Rollbar → Project Settings → Project Access Tokens)",
);

/// The link to an occurrence.
pub fn occurrence_link(uuid: &str) -> String {
    format!("https://rollbar.com/occurrence/uuid/?uuid={uuid}")
}

pub fn checks() -> Vec<crate::doctor::Check> {
    use crate::doctor::{Check, Group};
    vec![
        Check {
            id: "rollbar.secret",
            group: Group::Secrets,
            title: "ROLLBAR_ACCESS_TOKEN",
            integration: Some(super::Integration::Rollbar),
            run: |c| {
                Box::pin(async move {
                    crate::doctor::checks::secret_present(
                        &c,
                        TOKEN_VAR,
                        "the Rollbar post_server_item token",
                    )
                })
            },
        },
        Check {
            id: "rollbar.token",
            group: Group::Services,
            title: "Rollbar token",
            integration: Some(super::Integration::Rollbar),
            run: |c| {
                Box::pin(async move {
                    use super::net::Fault;
                    use crate::doctor::Outcome;
                    let Some(token) = c.var(TOKEN_VAR).map(str::to_string) else {
                        return Outcome::skip("no token to check (see ROLLBAR_ACCESS_TOKEN)");
                    };
                    let api = c.endpoints.rollbar_api.clone();
                    match check_token(&c.http, &api, &token).await {
                        Ok(()) => Outcome::ok("Rollbar accepts this token for server items"),
                        Err(Fault::Forbidden) => Outcome::fail(WRONG_SCOPE.0, WRONG_SCOPE.1),
                        Err(f) => Outcome::fail(
                            f.line("Rollbar", &super::net::host_of(&api)),
                            f.hint(TOKEN_VAR, API_VAR),
                        ),
                    }
                })
            },
        },
    ]
}
