{os_import}
import rollbar
import rollbar.contrib.flask
from flask import got_request_exception
