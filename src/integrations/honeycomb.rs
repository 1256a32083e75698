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
