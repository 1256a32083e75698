"""Imports a patched Flask backend for real and serves a few requests through Flask's test
client, as the container would: the backend folder is the working directory and on sys.path.

Usage: import_app.py BACKEND_DIR MODULE [PATH ...]

Prints one JSON line: the number of watchtower handlers on all loggers, and each path's
status. Everything the SDKs log goes to stderr, for the caller to search for the warnings
that a second setup produces ("Overriding of current TracerProvider is not allowed",
"Attempting to instrument Flask app while already instrumented", "cannot find the current
segment").
"""
import importlib
import json
import logging
import os
import sys
import time
import warnings

backend, module, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
os.chdir(backend)
sys.path.insert(0, os.getcwd())
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
logging.captureWarnings(True)
warnings.simplefilter("default")

mod = importlib.import_module(module)
app = getattr(mod, "app", None)
if app is None and hasattr(mod, "create_app"):
    app = mod.create_app()

import watchtower  # noqa: E402

loggers = [logging.getLogger()] + [
    logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
]
handlers = sum(isinstance(h, watchtower.CloudWatchLogHandler) for lg in loggers for h in lg.handlers)

client = app.test_client()
statuses = {}
for path in paths:
    statuses[path] = client.get(path).status_code
time.sleep(0.5)
print(json.dumps({"handlers": handlers, "statuses": statuses}), flush=True)
