# Honeycomb: traces over OTLP/HTTP. The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (no path:
# it appends /v1/traces itself), OTEL_EXPORTER_OTLP_HEADERS and OTEL_SERVICE_NAME.
provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
FlaskInstrumentor().instrument_app(app)
RequestsInstrumentor().instrument()
