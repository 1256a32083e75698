//! Honeycomb: OpenTelemetry traces over OTLP/HTTP.

use crate::spec::{
    Anchor, Api, EnvVar, Fallback, HandMade, PyBlock, PyFile, Receiver, ReceiverKind, Secret, Spec,
};

pub const SPEC: Spec = Spec {
    name: "honeycomb",
    title: "Honeycomb",
    blurb: "traces over OpenTelemetry",
    rank: 10,
    uses_aws: false,
    secrets: &[Secret {
        var: KEY_VAR,
        what: "Honeycomb API key",
        checked: "Honeycomb key",
        find: "Honeycomb → Environment settings → API keys (an ingest key)",
        stdin_flag: "--honeycomb-key-stdin",
        local_dummy: "local",
        settings: &[(ENDPOINT_VAR, API)],
        shapes: &[
            r"\bhc[a-z]{2}k_[a-zA-Z0-9]{20,}",
            r#"(?i)x-honeycomb-team\s*[=:]\s*["']?[a-zA-Z0-9]{20,}"#,
            r#"(?i)honeycomb_api_key\s*[=:]\s*["']?[a-zA-Z0-9_]{20,}"#,
        ],
    }],
    api: Some(Api {
        default: API,
        env: API_VAR,
        toml_key: "honeycomb_api",
        flag: "honeycomb-api",
    }),
    receiver: Receiver {
        kind: ReceiverKind::Otlp,
        name: "otlp",
        serves: "OTLP/HTTP traces",
        label: "traces",
        port: 4318,
        flag: "--otlp-port",
        unit: ("trace batch", "trace batches"),
        env: &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://{host}:{port}"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=local"),
        ],
        what: "span",
        shown: "traces (Honeycomb over OTLP)",
        shown_real: ", with the mock-data span",
        arrivals: "traces",
        own_code: "mock-data",
        batched: false,
    },
    fallback_api: Some(Fallback {
        default: EU_API,
        env: EU_API_VAR,
        what: "Honeycomb EU",
    }),
    compose_services: &[],
    ports: &[],
    files: &[],
    // One release train, pinned together: the instrumentation packages require the API and
    // semantic conventions of their own release exactly, so lower bounds alone send pip
    // backtracking through every newer patch release (the versions tests/requirements.txt
    // runs; scripts/check-pins.sh resolves them).
    packages: &[
        "opentelemetry-api==1.45.1",
        "opentelemetry-sdk==1.45.1",
        "opentelemetry-exporter-otlp-proto-http==1.45.1",
        "opentelemetry-instrumentation-flask==0.66b1",
        "opentelemetry-instrumentation-requests==0.66b1",
    ],
    modules: &[
        "opentelemetry.sdk",
        "opentelemetry.exporter.otlp.proto.http",
        "opentelemetry.instrumentation.flask",
        "opentelemetry.instrumentation.requests",
    ],
    env: &[
        // No path: the exporter appends /v1/traces itself.
        EnvVar {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            value: "${OTEL_EXPORTER_OTLP_ENDPOINT:-https://api.honeycomb.io}",
            local: true,
        },
        EnvVar {
            name: "OTEL_EXPORTER_OTLP_HEADERS",
            value: "x-honeycomb-team=${HONEYCOMB_API_KEY}",
            local: false,
        },
        EnvVar {
            name: "OTEL_SERVICE_NAME",
            value: "${OTEL_SERVICE_NAME:-{service}}",
            local: false,
        },
    ],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/app/honeycomb_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../templates/app/honeycomb_setup.py"),
        },
        PyBlock {
            file: PyFile::HomeActivities,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/services/honeycomb_imports.py"),
        },
        PyBlock {
            file: PyFile::HomeActivities,
            part: "span",
            anchor: Anchor::BeforeReturn {
                class: "HomeActivities",
                method: "run",
            },
            template: include_str!("../../templates/services/honeycomb_span.py"),
        },
    ],
    hand_made: &[
        HandMade {
            file: PyFile::App,
            mentions: &["opentelemetry"],
            complete: &["FlaskInstrumentor", "set_tracer_provider"],
            flaws: &[],
        },
        HandMade {
            file: PyFile::HomeActivities,
            mentions: &["opentelemetry", "start_as_current_span", "start_span"],
            complete: &["get_tracer", "start_"],
            flaws: &[],
        },
    ],
    blocks_need_own_setup: false,
    smoke_creates: &[],
    slow_readback: false,
};

/// One span saying it is an o11y smoke test, as an OTLP export request.
pub fn smoke_request(
    service: &str,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    start_unix_nano: u64,
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    use opentelemetry_proto::tonic::common::v1::{
        any_value::Value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, ResourceSpans, ScopeSpans, Span};
    let kv = |k: &str, v: Value| KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    };
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        name: "o11y smoke test".into(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: start_unix_nano,
        end_time_unix_nano: start_unix_nano + 1_000_000,
        attributes: vec![
            kv("o11y.smoke", Value::BoolValue(true)),
            kv(
                "app.note",
                Value::StringValue("sent by o11y to check that traces arrive".into()),
            ),
        ],
        ..Default::default()
    };
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue(service.into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "o11y".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Sends one smoke span to an OTLP/HTTP endpoint base (no path); returns its trace id (hex).
pub async fn send_smoke(
    client: &reqwest::Client,
    base: &str,
    service: &str,
) -> Result<String, String> {
    send_smoke_with(client, base, service, &[])
        .await
        .map_err(|f| f.line("the OTLP receiver", &crate::net::host_of(base)))
}

/// Sends one smoke span with extra headers (`x-honeycomb-team`, and `x-honeycomb-dataset` for
/// classic keys). A 2xx whose body reports rejected spans (OTLP partial success) is a failure.
pub async fn send_smoke_with(
    client: &reqwest::Client,
    base: &str,
    service: &str,
    headers: &[(&str, &str)],
) -> Result<String, crate::net::Fault> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
    use prost::Message;
    let id = *uuid::Uuid::new_v4().as_bytes();
    let span_id: [u8; 8] = id[..8].try_into().expect("8 bytes");
    let req = smoke_request(
        service,
        id,
        span_id,
        crate::net::unix_now().as_nanos() as u64,
    );
    let mut r = client
        .post(format!("{}/v1/traces", base.trim_end_matches('/')))
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec());
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let (_, body) = crate::net::send_bytes(r, &[]).await?;
    if let Ok(resp) = ExportTraceServiceResponse::decode(body.as_ref()) {
        if let Some(p) = resp.partial_success.filter(|p| p.rejected_spans > 0) {
            return Err(crate::net::Fault::BadBody(format!(
                "the span was rejected: {}",
                p.error_message
            )));
        }
    }
    Ok(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// The API o11y checks keys against (and sends smoke spans to), unless overridden.
pub const API: &str = "https://api.honeycomb.io";
/// Honeycomb's EU instance.
pub const EU_API: &str = "https://api.eu1.honeycomb.io";
pub const KEY_VAR: &str = "HONEYCOMB_API_KEY";
pub const API_VAR: &str = "O11Y_HONEYCOMB_API";

/// What `/1/auth` says of a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub team: String,
    pub team_slug: String,
    /// Empty for a classic key (no environments).
    pub environment: String,
    pub environment_slug: String,
    /// `ingest` or `configuration` (classic keys say `configuration`).
    pub key_type: String,
    /// `api_key_access.events`: whether the key may send events (spans). This, not the type,
    /// decides: a configuration key with Send Events sends, and so does every classic key.
    pub events: bool,
    /// `api_key_access.createDatasets`: whether the first span of a new service may create
    /// its dataset. Absent from the answer: assumed yes.
    pub create_datasets: bool,
    /// The API that accepted it (the EU one for an EU key).
    pub api: String,
}

impl KeyInfo {
    pub fn classic(&self) -> bool {
        self.environment_slug.is_empty()
    }

    pub fn describe(&self) -> String {
        if self.classic() {
            format!(
                "team {}, a classic key (no environments: spans need a dataset)",
                self.team
            )
        } else {
            format!(
                "team {}, environment {}, {} key",
                self.team, self.environment, self.key_type
            )
        }
    }

    /// Why `/1/auth` accepted this key yet it cannot send traces, with the fix.
    pub fn unusable(&self) -> Option<(String, &'static str)> {
        (!self.events).then(|| {
            (
                format!(
                    "{}: the key lacks the Send Events permission, so it cannot send traces",
                    self.describe()
                ),
                "give the key Send Events (Honeycomb → Environment settings → API keys → the key → Edit), or create an ingest key and set HONEYCOMB_API_KEY to it",
            )
        })
    }

    /// Why the first spans of `service` may be dropped: the key cannot create its dataset.
    pub fn dataset_warning(&self, service: &str) -> Option<(String, String)> {
        (!self.create_datasets).then(|| {
            (
                format!(
                    "the key cannot create datasets: until the dataset `{service}` exists, Honeycomb drops its spans"
                ),
                format!(
                    "give the key Create Datasets (Honeycomb → Environment settings → API keys → the key → Edit), or create the dataset `{service}` in Honeycomb first"
                ),
            )
        })
    }

    /// The headers line a classic key needs in docker-compose.yml.
    pub fn classic_headers(service: &str) -> String {
        format!(
            "OTEL_EXPORTER_OTLP_HEADERS=\"x-honeycomb-team=${{HONEYCOMB_API_KEY}},x-honeycomb-dataset={service}\""
        )
    }

    /// Whether another API than `asked` accepted the key (the EU one).
    pub fn elsewhere_than(&self, asked: &str) -> bool {
        self.api.trim_end_matches('/') != asked.trim_end_matches('/')
    }

    /// Where a trace shows up in Honeycomb's UI; a classic key's spans are in `dataset`.
    pub fn trace_link(&self, dataset: &str, trace_id: &str) -> String {
        let ui = if self.api.contains("eu1") {
            "https://ui.eu1.honeycomb.io"
        } else {
            "https://ui.honeycomb.io"
        };
        if self.classic() {
            format!(
                "{ui}/{}/datasets/{dataset}/trace?trace_id={trace_id}",
                self.team_slug
            )
        } else {
            format!(
                "{ui}/{}/environments/{}/trace?trace_id={trace_id}",
                self.team_slug, self.environment_slug
            )
        }
    }
}

async fn auth(
    client: &reqwest::Client,
    api: &str,
    key: &str,
) -> Result<KeyInfo, crate::net::Fault> {
    use crate::net::{send, Fault};
    let (_, body) = send(
        client
            .get(format!("{}/1/auth", api.trim_end_matches('/')))
            .header("X-Honeycomb-Team", key),
        &[],
    )
    .await?;
    let v: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| Fault::BadBody("the answer to /1/auth is not JSON".into()))?;
    let s = |p: &str| {
        v.pointer(p)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    if v.pointer("/team/slug").is_none() {
        return Err(Fault::BadBody("the answer to /1/auth has no team".into()));
    }
    let flag = |name: &str| {
        v.pointer(&format!("/api_key_access/{name}"))
            .and_then(|x| x.as_bool())
    };
    let key_type = s("/type");
    Ok(KeyInfo {
        team: s("/team/name"),
        team_slug: s("/team/slug"),
        environment: s("/environment/name"),
        environment_slug: s("/environment/slug"),
        // An answer without `api_key_access` (older API versions): an ingest key sends.
        events: flag("events").unwrap_or(key_type == "ingest"),
        create_datasets: flag("createDatasets").unwrap_or(true),
        key_type,
        api: api.to_string(),
    })
}

/// Overrides the EU API (for tests; by default it is tried only after Honeycomb's own US API).
pub const EU_API_VAR: &str = "O11Y_HONEYCOMB_EU_API";

/// The API to try when `api` rejects a key: the EU one, when `api` is Honeycomb's own US API
/// (not an override), or `O11Y_HONEYCOMB_EU_API` when set.
pub fn eu_fallback(api: &str) -> Option<String> {
    std::env::var(EU_API_VAR)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| (api.trim_end_matches('/') == API).then(|| EU_API.to_string()))
}

/// Checks a key with `GET /1/auth`. A key `api` rejects is tried on the EU API ([`eu_fallback`]).
pub async fn check_key(
    client: &reqwest::Client,
    api: &str,
    key: &str,
) -> Result<KeyInfo, crate::net::Fault> {
    let eu = eu_fallback(api).filter(|eu| crate::net::key_may_go_to(eu).is_ok());
    match (auth(client, api, key).await, eu) {
        (Err(crate::net::Fault::Unauthorized), Some(eu)) => auth(client, &eu, key)
            .await
            .map_err(|_| crate::net::Fault::Unauthorized),
        (other, _) => other,
    }
}

/// What Honeycomb says of `key`, for a backend whose service (and classic dataset) is `service`.
pub async fn verdict(
    http: &reqwest::Client,
    api: &str,
    key: &str,
    service: &str,
) -> crate::report::KeyVerdict {
    use crate::net::{host_of, Fault};
    use crate::report::KeyVerdict;
    match check_key(http, api, key).await {
        Ok(info) => {
            if let Some((why, fix)) = info.unusable() {
                return KeyVerdict::Wrong(why, fix.into());
            }
            let mut lines = vec![info.describe()];
            let mut warnings = Vec::new();
            let mut settings = Vec::new();
            if info.elsewhere_than(api) {
                lines.push(format!(
                    "This is a Honeycomb EU key: using {} (OTEL_EXPORTER_OTLP_ENDPOINT goes with it).",
                    host_of(&info.api)
                ));
                settings.push((ENDPOINT_VAR.to_string(), info.api.clone()));
            }
            if info.classic() {
                warnings.push((
                    format!("a classic key sends only with a dataset, and the backend's headers name none (its spans would go to `{service}` only with `x-honeycomb-dataset`)"),
                    format!("add the dataset to docker-compose.yml: {} (o11y smoke adds it by itself)", KeyInfo::classic_headers(service)),
                ));
            }
            warnings.extend(info.dataset_warning(service));
            KeyVerdict::Good {
                lines,
                warnings,
                settings,
            }
        }
        Err(Fault::Unauthorized) => KeyVerdict::Wrong(
            "Honeycomb does not know this key".into(),
            "copy the key again (Honeycomb → Environment settings → API keys); paste it whole, with no spaces".into(),
        ),
        Err(f) => KeyVerdict::Unsure(
            f.line("Honeycomb", &host_of(api)),
            f.hint(KEY_VAR, crate::net::override_name(api, API, API_VAR)),
        ),
    }
}

/// The variable the backend's OTLP exporter reads its endpoint from.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

pub fn checks() -> Vec<crate::context::Check> {
    use crate::context::Check;
    use crate::report::Group;
    vec![
        Check {
            id: "honeycomb.code",
            group: Group::Project,
            title: "Honeycomb in the code",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| crate::context::code_check(c, crate::spec::Integration(&SPEC)),
        },
        Check {
            id: "honeycomb.env",
            group: Group::Project,
            title: "OTLP variables",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    use crate::report::Outcome;
                    let env = match crate::context::backend_env(&c) {
                        None => return Outcome::skip(crate::context::NO_PROJECT),
                        Some(Err(e)) => {
                            return Outcome::skip(format!("{e} (see the compose check)"))
                        }
                        Some(Ok(env)) => env,
                    };
                    if !env
                        .iter()
                        .any(|(n, _)| SPEC.env.iter().any(|e| e.name == n))
                    {
                        return Outcome::skip("no OTLP variables yet (see the compose check)");
                    }
                    let problems = otlp_env(&c, &env);
                    match problems.first() {
                        None => Outcome::ok(
                            "the exporter's endpoint and service name are as it reads them",
                        ),
                        Some(first) => Outcome {
                            status: first.status,
                            reason: problems
                                .iter()
                                .map(|p| p.reason.as_str())
                                .collect::<Vec<_>>()
                                .join("; "),
                            fix: Some(
                                problems
                                    .iter()
                                    .filter_map(|p| p.fix.as_deref())
                                    .collect::<Vec<_>>()
                                    .join("; then "),
                            ),
                        },
                    }
                })
            },
        },
        Check {
            id: "honeycomb.secret",
            group: Group::Secrets,
            title: "HONEYCOMB_API_KEY",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    crate::context::secret_present(&c, KEY_VAR, "the Honeycomb API key")
                })
            },
        },
        Check {
            id: "honeycomb.key",
            group: Group::Services,
            title: "Honeycomb key",
            integration: Some(crate::spec::Integration(&SPEC)),
            run: |c| {
                Box::pin(async move {
                    use crate::report::Outcome;
                    let Some(key) = c.var(KEY_VAR).map(str::to_string) else {
                        return Outcome::skip("no key to check (see HONEYCOMB_API_KEY)");
                    };
                    let api = c.endpoints.api(crate::spec::Integration(&SPEC)).to_string();
                    let mut v = verdict(&c.http, &api, &key, &c.service())
                        .await
                        .scrubbed(|t| crate::secrets::scrub(t, &[&key]));
                    if let crate::report::KeyVerdict::Good {
                        settings, warnings, ..
                    } = &mut v
                    {
                        // The EU endpoint is only a problem where the backend does not use it yet.
                        for (var, value) in settings.iter() {
                            if c.var(var).map(|v| v.trim_end_matches('/'))
                                != Some(value.trim_end_matches('/'))
                            {
                                warnings.push((
                                    "this is a Honeycomb EU key".into(),
                                    format!("send traces to the EU: {var}={value} (in .env)"),
                                ));
                            }
                        }
                    }
                    v.outcome()
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
    verdict: Some(|k| {
        Box::pin(async move { verdict(&k.http, &k.api, &k.secret, &k.service).await })
    }),
    smoke: |ctx, _| Box::pin(smoke(ctx)),
    local_smoke: |t| {
        Box::pin(async move {
            send_smoke(
                &t.http,
                &format!("http://{}:{}", t.host, t.port),
                &t.service,
            )
            .await
            .map(|trace| format!("span taken by `o11y listen` (trace {trace})"))
        })
    },
};

/// A span to Honeycomb with the stored key (and the dataset header a classic key needs).
async fn smoke(ctx: std::sync::Arc<crate::context::Ctx>) -> crate::report::Step {
    use crate::report::Step;
    let service = ctx.service();
    let api = ctx
        .endpoints
        .api(crate::spec::Integration(&SPEC))
        .to_string();
    let Some(key) = ctx.var(KEY_VAR).map(str::to_string) else {
        return Step::failed(
            "HONEYCOMB_API_KEY is not set",
            "run `o11y init` (it asks for the key, checks it and stores it), or put it in .env, then run `o11y smoke` again",
        );
    };
    let hint =
        |f: &crate::net::Fault| f.hint(KEY_VAR, crate::net::override_name(&api, API, API_VAR));
    match check_key(&ctx.http, &api, &key).await {
        Err(f) => Step::failed(f.line("Honeycomb", &crate::net::host_of(&api)), hint(&f)),
        Ok(info) => {
            if let Some((why, fix)) = info.unusable() {
                return Step::failed(why, fix);
            }
            let mut headers = vec![("x-honeycomb-team", key.as_str())];
            if info.classic() {
                headers.push(("x-honeycomb-dataset", service.as_str()));
            }
            match send_smoke_with(&ctx.http, &info.api, &service, &headers).await {
                Ok(trace) => Step::accepted(
                    format!(
                        "span accepted ({}; an ingest key cannot read spans back)",
                        info.describe()
                    ),
                    Some(info.trace_link(&service, &trace)),
                ),
                Err(f) => Step::failed(
                    f.line("Honeycomb", &crate::net::host_of(&info.api)),
                    hint(&f),
                ),
            }
        }
    }
}

/// The OTLP variables' usual mistakes: an endpoint that ends in `/v1/traces` (the exporter
/// appends it itself, unless the code passes the endpoint), and a service name taken from
/// `${HONEYCOMB_SERVICE_NAME}`, which nothing sets.
fn otlp_env(c: &crate::context::Ctx, env: &[(String, String)]) -> Vec<crate::report::Outcome> {
    use crate::report::Outcome;
    // OTLPSpanExporter(endpoint=...) takes the URL as it is, /v1/traces included: the
    // variable then must hold the full path (the exporter appends it only to
    // OTEL_EXPORTER_OTLP_ENDPOINT read by itself).
    let endpoint_in_code = c.inputs.as_ref().is_some_and(|i| {
        i.python
            .iter()
            .filter_map(|(_, s)| s.as_ref())
            .chain(i.linked.iter())
            .any(|s| {
                s.text
                    .split("OTLPSpanExporter(")
                    .skip(1)
                    .any(|args| args.split(')').next().unwrap_or("").contains("endpoint"))
            })
    });
    let ends_in_path = |v: &str| v.trim_end_matches('/').ends_with("/v1/traces");
    // In the compose file itself, or in the shell or .env it takes `${...}` from.
    let from_vars = c
        .vars
        .get("OTEL_EXPORTER_OTLP_ENDPOINT")
        .filter(|(v, _)| ends_in_path(v))
        .map(|(v, _)| ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), v.clone()));
    let doubled = env
        .iter()
        .find(|(n, v)| n == "OTEL_EXPORTER_OTLP_ENDPOINT" && ends_in_path(v))
        .cloned()
        .or(from_vars)
        .filter(|_| !endpoint_in_code);
    let unset_ref = env.iter().any(|(n, v)| {
        n == "OTEL_SERVICE_NAME"
            && v.contains("${HONEYCOMB_SERVICE_NAME}")
            && c.var("HONEYCOMB_SERVICE_NAME").is_none()
    });
    let mut out = Vec::new();
    if let Some((_, v)) = doubled {
        out.push(Outcome::fail(
            format!("OTEL_EXPORTER_OTLP_ENDPOINT is {v}: the exporter appends /v1/traces itself, so spans go to /v1/traces/v1/traces"),
            "drop the /v1/traces from OTEL_EXPORTER_OTLP_ENDPOINT (e.g. https://api.honeycomb.io)",
        ));
    }
    if unset_ref {
        out.push(Outcome::warn(
            "OTEL_SERVICE_NAME is \"${HONEYCOMB_SERVICE_NAME}\", which nothing sets: spans arrive as unknown_service",
            "set it to \"${OTEL_SERVICE_NAME:-backend-flask}\" in the compose file",
        ));
    }
    out
}
