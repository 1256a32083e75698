"""Stand-ins for the two services that have no local form, Honeycomb's /1/auth and OTLP intake
and Rollbar's item API. They check what the real ones check (the key header and its
permissions, the dataset header of classic keys, the item's shape, the token and its scope), in
the order the real ones do, and answer in their formats; each behaviour cites its source. `--instance eu` plays Honeycomb's EU API. `--fault` makes every answer one failure instead:
delay (sleep 30 s), 401, 403, 429, 500, garbage (a body no service sends).

Prints the port it listens on as its first line.
"""

import argparse
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Honeycomb's `GET /1/auth` answers, after the three examples of its OpenAPI spec
# (docs.honeycomb.io/api/auth/list-authorizations, `get /1/auth`):
# - an environment (configuration) key: type "configuration", api_key_access with every
#   permission as a boolean, environment {name, slug};
# - a Classic key: ALSO type "configuration", events true, createDatasets false, and
#   environment {"name": "", "slug": ""} ("a Honeycomb Classic API key will return an empty
#   string for both of the environment values");
# - an ingest key: type "ingest", api_key_access holding only createDatasets.
# What decides whether a key can send is api_key_access.events, never the type.
CONFIG_ACCESS = {"events": True, "markers": True, "triggers": False, "boards": False, "queries": False,
                 "columns": False, "createDatasets": True, "slos": False, "recipients": False, "privateBoards": False}
HONEYCOMB_KEYS = {
    "test-env-ingest-key-000001": {"type": "ingest", "access": {"createDatasets": True},
                                   "team": ("Acme", "acme"), "environment": ("bootcamp", "bootcamp")},
    "test-classic-key-00000001": {"type": "configuration", "access": dict(CONFIG_ACCESS, createDatasets=False),
                                  "team": ("Acme", "acme"), "environment": ("", "")},
    # A configuration key without Send Events: it may manage, not send.
    "test-config-key-000000001": {"type": "configuration", "access": dict(CONFIG_ACCESS, events=False),
                                  "team": ("Acme", "acme"), "environment": ("bootcamp", "bootcamp")},
    # A configuration key with Send Events, as the spec's own environment example.
    "test-config-send-key-0001": {"type": "configuration", "access": dict(CONFIG_ACCESS),
                                  "team": ("Acme", "acme"), "environment": ("bootcamp", "bootcamp")},
    # An ingest key without "Create Datasets" (docs.honeycomb.io, API keys: "if an event is sent
    # to Honeycomb specifying a non-existent dataset, an event using an API key with this
    # permission will create a new dataset").
    "test-ingest-nocreate-key-1": {"type": "ingest", "access": {"createDatasets": False},
                                   "team": ("Acme", "acme"), "environment": ("bootcamp", "bootcamp")},
}
# `--instance eu` plays api.eu1.honeycomb.io: it knows only EU keys, which the US one rejects.
EU_HONEYCOMB_KEYS = {
    "test-eu-ingest-key-0000001": {"type": "ingest", "access": {"createDatasets": True},
                                   "team": ("Acme EU", "acme-eu"), "environment": ("bootcamp", "bootcamp")},
}
# Rollbar project access tokens and their scopes (docs.rollbar.com/docs/access-tokens:
# "post_server_item Can perform all POST requests to /deploy/ and /item/"; "read Can perform
# all GET requests"). A disabled token keeps its scope but is refused.
ROLLBAR_TOKENS = {
    "test-rollbar-post-server-token": "post_server_item",
    "test-rollbar-read-token": "read",
    "test-rollbar-client-token": "post_client_item",
}
ROLLBAR_DISABLED = {"test-rollbar-disabled-token"}
# Items taken, for tests to look at (GET /_standin/rollbar-items); not part of Rollbar.
ROLLBAR_ITEMS = []


def honeycomb_can_send(info):
    # An ingest key's answer has no `events` field: ingest keys exist to send.
    return info["access"].get("events", info["type"] == "ingest")


class Handler(BaseHTTPRequestHandler):
    fault = "none"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def faulted(self):
        f = self.fault
        if f.startswith("slow"):
            # slowNNN: answer normally after NNN ms.
            time.sleep(int(f[4:]) / 1000)
            return False
        if f == "none":
            return False
        if f == "delay":
            time.sleep(30)
            self.send(200, {})
        elif f == "garbage":
            self.send(200, b"<html>hello from a captive portal</html>", "text/html")
        elif f == "429":
            # Honeycomb sends Retry-After (its spec's 429 on /1/auth); Rollbar's SDKs read
            # x-rate-limit-remaining-seconds (rollbar.js src/server/transport.js).
            self.send(429, {"error": "Rate Limited", "err": 1, "message": "rate limited"},
                      headers=[("retry-after", "30"), ("x-rate-limit-remaining", "0"), ("x-rate-limit-remaining-seconds", "30")])
        else:
            self.send(int(f), {"error": "fault " + f, "err": 1, "message": "fault " + f})
        return True

    def do_GET(self):
        if self.faulted():
            return
        if self.path == "/1/auth":
            key = self.headers.get("X-Honeycomb-Team")
            if not key:
                return self.send(401, {"error": "missing API key"})
            info = HONEYCOMB_KEYS.get(key)
            if not info:
                # The spec's 401 example, and docs.honeycomb.io/api/errors ("Some V1 endpoints
                # return a simpler legacy format with only an error field").
                return self.send(401, {"error": "unknown API key - check your credentials"})
            return self.send(200, {
                "id": "k1", "type": info["type"],
                "api_key_access": info["access"],
                "team": {"name": info["team"][0], "slug": info["team"][1]},
                "environment": {"name": info["environment"][0], "slug": info["environment"][1]},
            })
        if self.path == "/_standin/rollbar-items":
            return self.send(200, ROLLBAR_ITEMS)
        self.send(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.faulted():
            return
        if self.path == "/GetGroup":
            return self.send(200, {"Group": {"GroupName": "Cruddur", "FilterExpression": 'service("backend-flask")'}})
        if self.path == "/GetSamplingRules":
            rule = {"RuleName": "Cruddur", "ResourceARN": "*", "Priority": 9000, "FixedRate": 0.1, "ReservoirSize": 5,
                    "ServiceName": "backend-flask", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1}
            return self.send(200, {"SamplingRuleRecords": [{"SamplingRule": rule}]})
        target = self.headers.get("X-Amz-Target", "")
        if target == "Logs_20140328.DescribeLogGroups":
            return self.send(200, {"logGroups": [{"logGroupName": "cruddur", "arn": "arn:aws:logs:us-east-1:123456789012:log-group:cruddur:*"}]}, "application/x-amz-json-1.1")
        if b"Action=GetCallerIdentity" in raw:
            xml = ("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
                   "<Arn>arn:aws:iam::123456789012:user/bench</Arn><UserId>AIDBENCH</UserId><Account>123456789012</Account>"
                   "</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>")
            return self.send(200, xml.encode(), "text/xml")
        if self.path == "/v1/traces":
            key = self.headers.get("x-honeycomb-team")
            info = HONEYCOMB_KEYS.get(key)
            # honeycombio/husky otlp/errors.go: a missing key or dataset header is 401 with
            # {"message": ...}; an unknown key is 401 as on every other endpoint.
            if not key:
                return self.send(401, {"message": "missing 'x-honeycomb-team' header"})
            if info is None:
                return self.send(401, {"message": "unknown API key - check your credentials"})
            if not honeycomb_can_send(info):
                # docs.honeycomb.io/api/errors: "403 Forbidden The API key does not have
                # permission for this operation."
                return self.send(403, {"message": "the API key does not have permission for this operation"})
            if self.headers.get("content-type") != "application/x-protobuf" or not raw:
                return self.send(400, {"message": "expected a protobuf ExportTraceServiceRequest"})
            # husky otlp/common.go: `if ri.hasClassicKey() && len(ri.Dataset) == 0 { return
            # ErrMissingDatasetHeader }`, answered 401.
            if not info["environment"][1] and not self.headers.get("x-honeycomb-dataset"):
                return self.send(401, {"message": "missing 'x-honeycomb-dataset' header"})
            return self.send(200, b"", "application/x-protobuf")
        if self.path in ("/api/1/item/", "/api/1/item"):
            return self.rollbar_item(raw)
        self.send(404, {"err": 1, "message": "not found"})


    def rollbar_item(self, raw):
        # Rollbar's POST /api/1/item/ (rollbar/docs api/items_post.md): errors are
        # {"err": 1, "message": ...}; success is {"err": 0, "result": {"uuid": ..., "id": null}}.
        try:
            payload = json.loads(raw)
        except ValueError:
            # "400 Bad request. No JSON payload was found, or it could not be decoded."
            return self.send(400, {"err": 1, "message": "No JSON payload was found, or it could not be decoded."})
        if not isinstance(payload, dict):
            return self.send(400, {"err": 1, "message": "No JSON payload was found, or it could not be decoded."})
        token = self.headers.get("X-Rollbar-Access-Token") or payload.get("access_token")
        # The schema is checked before the token is looked up: a missing token and a malformed
        # item are both 422 whatever the token (rollbar/rollbar-gem #971: "Invalid format.
        # access_token is missing and it is required."; rollbar/pyrollbar #296: "Invalid format.
        # data.body should be object ...").
        if not token:
            return self.send(422, {"err": 1, "message": "Invalid format. access_token is missing and it is required."})
        data = payload.get("data")
        body = data.get("body") if isinstance(data, dict) else None
        kinds = [k for k in ("trace", "trace_chain", "message", "crash_report") if isinstance(body, dict) and k in body]
        if not isinstance(data, dict) or not isinstance(body, dict) or len(kinds) != 1:
            return self.send(422, {"err": 1, "message": "Invalid format. data.body should be object. data.body must have exactly one of the properties: 'trace', 'trace_chain', 'message', or 'crash_report'."})
        # Then the token: every refusal is 403, told apart only by the message ("403 Access
        # denied ... The response will contain a `message` key explaining the problem").
        if token in ROLLBAR_DISABLED:
            # jonnerd154/StargateProject-software #103 (pyrollbar's log of Rollbar's answer).
            return self.send(403, {"err": 1, "message": "insufficient privileges: The access token is disabled."})
        scope = ROLLBAR_TOKENS.get(token)
        if scope is None:
            # rollbar/rollbar-php #421: the token itself is appended to the message.
            return self.send(403, {"err": 1, "message": "access token not found: " + token})
        if scope != "post_server_item":
            # Mixbook/rollbar.dart #5.
            return self.send(403, {"err": 1, "message": "insufficient privileges: post_server_item scope is required but the access token only has " + scope + "."})
        ROLLBAR_ITEMS.append(data)
        return self.send(200, {"err": 0, "result": {"id": None, "uuid": data.get("uuid") or str(uuid.uuid4())}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fault", default="none")
    ap.add_argument("--instance", default="us", choices=["us", "eu"])
    args = ap.parse_args()
    Handler.fault = args.fault
    if args.instance == "eu":
        HONEYCOMB_KEYS.clear()
        HONEYCOMB_KEYS.update(EU_HONEYCOMB_KEYS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
