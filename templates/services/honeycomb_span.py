with tracer.start_as_current_span("mock-data") as span:
    span.set_attribute("app.now", {now})
    if isinstance({result}, list):
        span.set_attribute("app.result_length", len({result}))
