# Rollbar: errors and messages. Initialised in an app context because Flask 2.3 removed
# before_first_request; ROLLBAR_ENDPOINT lets a local receiver stand in for api.rollbar.com.
with app.app_context():
    rollbar.init(
        os.getenv("ROLLBAR_ACCESS_TOKEN"),
        environment=os.getenv("ROLLBAR_ENVIRONMENT", "development"),
        root=os.path.dirname(os.path.realpath(__file__)),
        allow_logging_basic_config=False,
        endpoint=os.getenv("ROLLBAR_ENDPOINT") or "https://api.rollbar.com/api/1/",
    )
    got_request_exception.connect(rollbar.contrib.flask.report_exception, app)
