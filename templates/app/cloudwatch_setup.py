# CloudWatch Logs: the "cruddur" logger writes to log group "cruddur", sends every 5 s
# and flushes when the container is stopped (docker sends SIGTERM).
LOGGER = logging.getLogger("cruddur")
LOGGER.setLevel(logging.DEBUG)
LOGGER.addHandler(logging.StreamHandler())
try:
    cw_handler = watchtower.CloudWatchLogHandler(log_group_name="cruddur", send_interval=5)
    LOGGER.addHandler(cw_handler)

    def flush_logs_and_exit(signum, frame):
        cw_handler.flush()
        sys.exit(0)

    signal.signal(signal.SIGTERM, flush_logs_and_exit)
except Exception as error:  # a missing region or credentials must not stop the backend
    LOGGER.warning("CloudWatch logging is off: %s (run `o11y doctor`)", error)
