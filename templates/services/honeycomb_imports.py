{datetime_import}
from opentelemetry import trace

tracer = trace.get_tracer("home.activities")
