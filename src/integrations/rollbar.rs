//! Rollbar: error reporting and a `/rollbar/test` route.

use crate::spec::{
    Anchor, Api, EnvVar, Flaw, HandMade, PyBlock, PyFile, Receiver, ReceiverKind, Secret, Spec,
};

pub const SPEC: Spec = Spec {
    name: "rollbar",
    title: "Rollbar",
    blurb: "errors",
    rank: 40,
    uses_aws: false,
    secrets: &[Secret {
        var: TOKEN_VAR,
        what: "Rollbar access token",
        checked: "Rollbar token",
        find: "Rollbar → Project settings → Project access tokens (the post_server_item one)",
        stdin_flag: "--rollbar-token-stdin",
        local_dummy: "local",
        settings: &[],
        shapes: &[
            r#"(?i)rollbar_access_token\s*[=:]\s*["']?[0-9a-f]{32}"#,
            r#"rollbar\.init\(\s*["'][0-9a-f]{32}["']"#,
        ],
    }],
    api: Some(Api {
        default: API,
        env: API_VAR,
        toml_key: "rollbar_api",
        flag: "rollbar-api",
    }),
    receiver: Receiver {
        kind: ReceiverKind::Rollbar,
        name: "rollbar",
        serves: "Rollbar",
        label: "Rollbar",
        port: 4585,
        flag: "--rollbar-port",
        unit: ("Rollbar item", "Rollbar items"),
        env: &[("ROLLBAR_ENDPOINT", "http://{host}:{port}/api/1/")],
        what: "item",
        shown: "Rollbar items",
        shown_real: "",
        arrivals: "Rollbar items",
        own_code: "",
        batched: false,
    },
    fallback_api: None,
    compose_services: &[],
    ports: &[],
    files: &[],
    packages: &["blinker>=1.9.0", "rollbar>=1.5.0"],
    modules: &["rollbar", "blinker"],
    env: &[
        EnvVar {
            name: "ROLLBAR_ACCESS_TOKEN",
            value: "${ROLLBAR_ACCESS_TOKEN}",
            local: false,
        },
        // The SDK reads no variable for its endpoint; app.py passes this one on.
        EnvVar {
            name: "ROLLBAR_ENDPOINT",
            value: "${ROLLBAR_ENDPOINT:-https://api.rollbar.com/api/1/}",
            local: true,
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
        flaws: &[Flaw {
            pattern: "before_first_request",
            why: "initialises Rollbar in `@app.before_first_request`, which Flask 2.3 removed: \
                  the backend will not start on a current Flask",
            works: false,
            from_flask: Some("2.3"),
        }],
    }],
    blocks_need_own_setup: false,
    smoke_creates: &[],
    slow_readback: false,
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

/// The item the key check posts: level `debug`, one fingerprint, so every check folds into one
/// Rollbar item ("o11y token check") instead of adding one per run.
pub fn token_check_item(environment: &str) -> serde_json::Value {
    serde_json::json!({
        "data": {
            "environment": environment,
            "level": "debug",
            "title": TOKEN_CHECK_TITLE,
            "fingerprint": "o11y-token-check",
            "platform": "o11y",
            "language": "python",
            "body": {"message": {"body": "o11y checked that this token can post server items"}},
            "notifier": {"name": "o11y", "version": env!("CARGO_PKG_VERSION")}
        }
    })
}

pub const TOKEN_CHECK_TITLE: &str = "o11y token check";

/// Why Rollbar refused a token. It answers all of these with 403 and tells them apart only by
/// the message (docs.rollbar.com/reference/response-codes; the notifiers surface that message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// "access token not found": no project has this token.
    Unknown,
    /// "The access token is disabled".
    Disabled,
    /// "... post_server_item scope is required ...": a read (or client) token.
    Scope,
    /// Any other 403, with Rollbar's message.
    Other(String),
}

impl Refusal {
    pub fn from_message(message: &str) -> Refusal {
        let m = message.to_ascii_lowercase();
        if m.contains("scope") {
            Refusal::Scope
        } else if m.contains("disabled") {
            Refusal::Disabled
        } else if m.contains("not found") || m.contains("invalid access token") {
            Refusal::Unknown
        } else {
            Refusal::Other(message.chars().take(200).collect())
        }
    }

    /// What happened, and what to do.
    pub fn explain(&self) -> (String, String) {
        match self {
            Refusal::Unknown => (
                "Rollbar does not know this token (access token not found)".into(),
                "copy the post_server_item token again (Rollbar → Project Settings → Project Access Tokens); paste it whole".into(),
            ),
            Refusal::Disabled => (
                "Rollbar knows this token, but it is disabled".into(),
                "enable it again, or use another post_server_item token (Rollbar → Project Settings → Project Access Tokens)".into(),
            ),
            Refusal::Scope => (
                WRONG_SCOPE.0.into(),
                WRONG_SCOPE.1.into(),
            ),
            Refusal::Other(m) => (
                format!("Rollbar refused the token (403): {m}"),
                "check the token in Rollbar → Project Settings → Project Access Tokens".into(),
            ),
        }
    }
}

/// What went wrong posting an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// Rollbar answered 403: the token is refused, and why.
    Refused(Refusal),
    /// Anything else: the network, a rate limit, an answer Rollbar does not send.
    Fault(crate::net::Fault),
}

impl PostError {
    /// One line of what happened at `api`, and the fix.
    pub fn explain(&self, api: &str) -> (String, String) {
        match self {
            PostError::Refused(r) => r.explain(),
            PostError::Fault(f) => (
                f.line("Rollbar", &crate::net::host_of(api)),
                f.hint(TOKEN_VAR, crate::net::override_name(api, API, API_VAR)),
            ),
        }
    }
}

/// Posts one item to an API base (`.../api/1/`); returns the uuid Rollbar answered with.
/// Rollbar answers a stored item with `{"err": 0, "result": {"uuid": ...}}`.
pub async fn post_item(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    item: &serde_json::Value,
) -> Result<String, PostError> {
    use crate::net::{send, Fault};
    let (status, body) = send(
        client
            .post(format!("{}/item/", api.trim_end_matches('/')))
            .header("X-Rollbar-Access-Token", token)
            .json(item),
        &[403],
    )
    .await
    .map_err(PostError::Fault)?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
        PostError::Fault(Fault::BadBody(format!(
            "the answer ({status}) is not Rollbar's JSON"
        )))
    })?;
    if status == 403 {
        let message = v["message"].as_str().unwrap_or_default();
        return Err(PostError::Refused(Refusal::from_message(message)));
    }
    v["result"]["uuid"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| PostError::Fault(Fault::BadBody("the answer has no result.uuid".into())))
}

/// Sends one smoke item; returns the uuid Rollbar answered with.
pub async fn send_smoke(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    environment: &str,
) -> Result<String, PostError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    post_item(client, api, token, &smoke_item(environment, &uuid)).await
}

pub const API: &str = "https://api.rollbar.com/api/1/";
pub const TOKEN_VAR: &str = "ROLLBAR_ACCESS_TOKEN";
pub const API_VAR: &str = "O11Y_ROLLBAR_API";

/// Proves a token by posting one `debug` item titled "o11y token check" (folded into one
/// Rollbar item by its fingerprint). Nothing less proves it: Rollbar validates an item's shape
/// before it looks the token up, so an invalid item gets 422 whatever the token, and 422 says
/// nothing about the token.
pub async fn check_token(
    client: &reqwest::Client,
    api: &str,
    token: &str,
) -> Result<String, PostError> {
    post_item(client, api, token, &token_check_item("o11y")).await
}

/// What Rollbar says of `token`, in the words `init` and `doctor` share.
pub async fn verdict(
    client: &reqwest::Client,
    api: &str,
    token: &str,
) -> crate::report::KeyVerdict {
    use crate::report::KeyVerdict;
    match check_token(client, api, token).await {
        Ok(_) => KeyVerdict::good(format!(
            "it can post server items (it posted a debug item \"{TOKEN_CHECK_TITLE}\")"
        )),
        Err(e @ PostError::Refused(_)) => {
            let (why, fix) = e.explain(api);
            KeyVerdict::Wrong(why, fix)
        }
        Err(e) => {
            let (why, fix) = e.explain(api);
            KeyVerdict::Unsure(why, fix)
        }
    }
}

/// A token Rollbar knows that may not post server items (403), and the fix.
pub const WRONG_SCOPE: (&str, &str) = (
    "Rollbar says this token cannot post server items (post_server_item scope is required)",
    "use the project's `post_server_item` token (Rollbar → Project Settings → Project Access Tokens)",
);

/// The link to an occurrence.
pub fn occurrence_link(uuid: &str) -> String {
    format!("https://rollbar.com/occurrence/uuid/?uuid={uuid}")
}

pub fn checks() -> Vec<crate::context::Check> {
    use crate::context::Check;
    use crate::report::Group;
    vec![
        Check {
            id: "rollbar.code",
            group: Group::Project,
            title: "Rollbar in the code",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| crate::context::code_check(c, crate::spec::Integration(&SPEC)),
        },
        Check {
            id: "rollbar.secret",
            group: Group::Secrets,
            title: "ROLLBAR_ACCESS_TOKEN",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    crate::context::secret_present(
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
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    use crate::report::Outcome;
                    let Some(token) = c.var(TOKEN_VAR).map(str::to_string) else {
                        return Outcome::skip("no token to check (see ROLLBAR_ACCESS_TOKEN)");
                    };
                    verdict(
                        &c.http,
                        c.endpoints.api(crate::spec::Integration(&SPEC)),
                        &token,
                    )
                    .await
                    .scrubbed(|t| crate::secrets::scrub(t, &[&token]))
                    .outcome()
                })
            },
        },
    ]
}

pub static DEF: super::behaviour::Def = super::behaviour::Def {
    spec: &SPEC,
    checks,
    fixes: &[],
    fixed_by_apply: &[],
    verdict: Some(|k| Box::pin(async move { verdict(&k.http, &k.api, &k.secret).await })),
    smoke: |ctx, _| Box::pin(smoke(ctx)),
    local_smoke: |t| {
        Box::pin(async move {
            let api = format!("http://{}:{}/api/1/", t.host, t.port);
            send_smoke(&t.http, &api, "local", "development")
                .await
                .map(|uuid| format!("error item taken by `o11y listen`, uuid {uuid}"))
                .map_err(|e| e.explain(&api).0)
        })
    },
};

/// An error item to Rollbar with the stored token.
async fn smoke(ctx: std::sync::Arc<crate::context::Ctx>) -> crate::report::Step {
    use crate::report::Step;
    let Some(token) = ctx.var(TOKEN_VAR).map(str::to_string) else {
        return Step::failed(
            "ROLLBAR_ACCESS_TOKEN is not set",
            "run `o11y init` (it asks for the key, checks it and stores it), or put it in .env, then run `o11y smoke` again",
        );
    };
    let api = ctx
        .endpoints
        .api(crate::spec::Integration(&SPEC))
        .to_string();
    let env = ctx
        .var("ROLLBAR_ENVIRONMENT")
        .unwrap_or("development")
        .to_string();
    match send_smoke(&ctx.http, &api, &token, &env).await {
        Ok(uuid) => Step::accepted(
            format!("error item accepted, uuid {uuid}"),
            Some(occurrence_link(&uuid)),
        ),
        Err(e) => {
            let (why, fix) = e.explain(&api);
            Step::failed(
                crate::secrets::scrub(&format!("Rollbar did not take the item: {why}"), &[&token]),
                fix,
            )
        }
    }
}
