"""A stand-in for the four X-Ray calls moto does not implement: CreateGroup, GetGroup,
CreateSamplingRule and GetSamplingRules, answered as AWS answers them (including
InvalidRequestException for a group or rule that already exists). Every other X-Ray call
(PutTraceSegments, BatchGetTraces, ...) is passed on to the moto server given by --moto.

Prints the port it listens on as its first line.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GROUPS = {}
RULES = {}
ACCOUNT = "123456789012"


class Handler(BaseHTTPRequestHandler):
    moto = ""

    def log_message(self, *args):
        pass

    def send(self, status, body, error_type=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def invalid(self, message):
        self.send(400, {"__type": "InvalidRequestException", "message": message}, "InvalidRequestException")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if "Authorization" not in self.headers:
            return self.send(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
        body = json.loads(raw or b"{}") if self.path in ("/CreateGroup", "/GetGroup", "/CreateSamplingRule", "/GetSamplingRules") else None
        if self.path == "/CreateGroup":
            name = body.get("GroupName")
            if not name:
                return self.invalid("GroupName is required")
            if name in GROUPS:
                return self.invalid("Group already exists")
            GROUPS[name] = {"GroupName": name, "GroupARN": f"arn:aws:xray:us-east-1:{ACCOUNT}:group/{name}/1",
                            "FilterExpression": body.get("FilterExpression", "")}
            return self.send(200, {"Group": GROUPS[name]})
        if self.path == "/GetGroup":
            g = GROUPS.get(body.get("GroupName"))
            if g is None:
                return self.invalid("Group not found")
            return self.send(200, {"Group": g})
        if self.path == "/CreateSamplingRule":
            rule = body.get("SamplingRule") or {}
            name = rule.get("RuleName")
            if not name:
                return self.invalid("RuleName is required")
            if name in RULES:
                return self.invalid("Sampling rule already exists")
            rule = dict(rule, RuleARN=f"arn:aws:xray:us-east-1:{ACCOUNT}:sampling-rule/{name}")
            now = time.time()
            RULES[name] = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
            return self.send(200, {"SamplingRuleRecord": RULES[name]})
        if self.path == "/GetSamplingRules":
            return self.send(200, {"SamplingRuleRecords": list(RULES.values())})
        # Everything else goes to moto.
        req = urllib.request.Request(self.moto + self.path, data=raw, method="POST",
                                     headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, data, headers = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, data, headers = e.code, e.read(), e.headers
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moto", required=True)
    Handler.moto = ap.parse_args().moto.rstrip("/")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
