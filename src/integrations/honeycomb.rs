//! Honeycomb: OpenTelemetry traces over OTLP/HTTP.

use super::{Anchor, EnvVar, HandMade, Integration, PyBlock, PyFile, Spec};

pub const SPEC: Spec = Spec {
    integration: Integration::Honeycomb,
    packages: &[
        "opentelemetry-api",
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-instrumentation-flask",
        "opentelemetry-instrumentation-requests",
    ],
    env: &[
        // No path: the exporter appends /v1/traces itself.
        EnvVar {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            value: "${OTEL_EXPORTER_OTLP_ENDPOINT:-https://api.honeycomb.io}",
        },
        EnvVar {
            name: "OTEL_EXPORTER_OTLP_HEADERS",
            value: "x-honeycomb-team=${HONEYCOMB_API_KEY}",
        },
        EnvVar {
            name: "OTEL_SERVICE_NAME",
            value: "${OTEL_SERVICE_NAME:-{service}}",
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
pub async fn send_smoke(base: &str, service: &str) -> Result<String, String> {
    use prost::Message;
    let id = *uuid::Uuid::new_v4().as_bytes();
    let span_id: [u8; 8] = id[..8].try_into().expect("8 bytes");
    let req = smoke_request(service, id, span_id, super::unix_now().as_nanos() as u64);
    let client = super::smoke_client()?;
    super::expect_2xx(
        client
            .post(format!("{}/v1/traces", base.trim_end_matches('/')))
            .header("content-type", "application/x-protobuf")
            .body(req.encode_to_vec())
            .send()
            .await,
    )
    .await?;
    Ok(id.iter().map(|b| format!("{b:02x}")).collect())
}
