"""Stand-ins for the two services that have no local form, Honeycomb's /1/auth and Rollbar's
item API. They check what the real ones check (the key header, the token and its scope, the
item's shape) and answer in their formats. `--instance eu` plays Honeycomb's EU API. `--fault` makes every answer one failure instead:
delay (sleep 30 s), 401, 403, 429, 500, garbage (a body no service sends).

Prints the port it listens on as its first line.
"""

import argparse
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HONEYCOMB_KEYS = {
    "test-env-ingest-key-000001": {"type": "ingest", "team": ("Acme", "acme"), "environment": ("bootcamp", "bootcamp")},
    "test-classic-key-00000001": {"type": "ingest", "team": ("Acme", "acme"), "environment": ("", "")},
    "test-config-key-000000001": {"type": "configuration", "team": ("Acme", "acme"), "environment": ("bootcamp", "bootcamp")},
}
# `--instance eu` plays api.eu1.honeycomb.io: it knows only EU keys, which the US one rejects.
EU_HONEYCOMB_KEYS = {
    "test-eu-ingest-key-0000001": {"type": "ingest", "team": ("Acme EU", "acme-eu"), "environment": ("bootcamp", "bootcamp")},
}
ROLLBAR_TOKENS = {"test-rollbar-post-server-token": "post_server_item", "test-rollbar-read-token": "read"}


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
            self.send(429, {"error": "rate limited"}, headers=[("retry-after", "30")])
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
                return self.send(401, {"error": "unknown API key - check your credentials"})
            return self.send(200, {
                "id": "k1", "type": info["type"],
                "api_key_access": {"events": True, "markers": False, "createDatasets": True},
                "team": {"name": info["team"][0], "slug": info["team"][1]},
                "environment": {"name": info["environment"][0], "slug": info["environment"][1]},
            })
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
            if info is None:
                return self.send(401, {"error": "unknown API key - check your credentials"})
            if self.headers.get("content-type") != "application/x-protobuf" or not raw:
                return self.send(400, {"error": "expected a protobuf ExportTraceServiceRequest"})
            if not info["environment"][1] and not self.headers.get("x-honeycomb-dataset"):
                return self.send(400, {"error": "a classic key needs the x-honeycomb-dataset header"})
            return self.send(200, b"", "application/x-protobuf")
        if self.path in ("/api/1/item/", "/api/1/item"):
            try:
                payload = json.loads(raw)
            except ValueError:
                return self.send(400, {"err": 1, "message": "Invalid JSON in request body"})
            token = self.headers.get("X-Rollbar-Access-Token") or payload.get("access_token")
            scope = ROLLBAR_TOKENS.get(token)
            if scope is None:
                return self.send(401, {"err": 1, "message": "invalid access token"})
            if scope != "post_server_item":
                return self.send(403, {"err": 1, "message": "insufficient privileges: post_server_item scope is required but the access token only has read."})
            data = payload.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("body"), dict):
                return self.send(422, {"err": 1, "message": "Invalid format. data.body is required."})
            return self.send(200, {"err": 0, "result": {"id": None, "uuid": data.get("uuid") or str(uuid.uuid4())}})
        self.send(404, {"err": 1, "message": "not found"})


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
