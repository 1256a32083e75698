"""A stand-in for the four X-Ray calls moto does not implement: CreateGroup, GetGroup,
CreateSamplingRule and GetSamplingRules, answered as AWS answers them (including
InvalidRequestException for a group or rule that already exists). Every other call
(PutTraceSegments, BatchGetTraces, CloudWatch Logs, STS) is passed on to the moto server given
by --moto, with what moto does not do for them:
- `--delay SECS`: BatchGetTraces does not return a trace until SECS after its segments were put
  (real X-Ray reads a trace back only once it has processed it; moto answers at once);
- `--page-size N`: GetSamplingRules answers N rules a page, with NextToken;
- the signature of requests signed with a key in KNOWN_SECRETS is checked, and a wrong secret
  is answered with InvalidSignatureException, as AWS's JSON services do.

Sources: the X-Ray API model (botocore data/xray/2016-04-12/service-2.json, "protocol":
"rest-json"; paginators-1.json: GetSamplingRules pages by NextToken) and its API reference
(BatchGetTraces: "UnprocessedTraceIds: Trace IDs of requests that haven't been processed").

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
ACCOUNT = "123456789012"
# Every account has the rule "Default" (priority 10000, reservoir 1, rate 5 %: the X-Ray
# developer guide, "Sampling rules"), listed by GetSamplingRules before any of the user's.
RULES = {"Default": {"SamplingRule": {
    "RuleName": "Default", "RuleARN": f"arn:aws:xray:us-east-1:{ACCOUNT}:sampling-rule/Default",
    "ResourceARN": "*", "Priority": 10000, "FixedRate": 0.05, "ReservoirSize": 1, "ServiceName": "*",
    "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1, "Attributes": {}},
    "CreatedAt": 0.0, "ModifiedAt": 0.0}}
# Access keys whose secret the stand-in knows, to check signatures as AWS does.
KNOWN_SECRETS = {"testing": "testing"}
PUT_AT = {}  # trace id -> when its segments were put
INVALID_SIGNATURE = ("The request signature we calculated does not match the signature you provided. "
                     "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")


def signature_ok(handler, raw):
    """Recomputes SigV4 with botocore for a key in KNOWN_SECRETS; True for any other key."""
    auth = handler.headers.get("Authorization", "")
    try:
        cred = auth.split("Credential=")[1].split(",")[0]
        key_id, date, region, service, _ = cred.split("/")
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        given = auth.split("Signature=")[1].strip()
    except (IndexError, ValueError):
        return False
    secret = KNOWN_SECRETS.get(key_id)
    if secret is None:
        return True
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    path = handler.path
    req = AWSRequest(method=handler.command, url="http://" + handler.headers["Host"] + path, data=raw,
                     headers={h: handler.headers[h] for h in signed if handler.headers.get(h) is not None})
    req.context["timestamp"] = handler.headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    return expected == given


class Handler(BaseHTTPRequestHandler):
    moto = ""
    delay = 0.0
    page_size = 100

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
        json_service = self.path.startswith(("/CreateGroup", "/GetGroup", "/CreateSamplingRule", "/GetSamplingRules",
                                              "/TraceSegments", "/Traces")) or \
            self.headers.get("X-Amz-Target", "").startswith("Logs_")
        if json_service and not signature_ok(self, raw):
            # The code is what the SDKs go by (aws/aws-xray-sdk-python #287: "An error occurred
            # (InvalidSignatureException) when calling the GetSamplingTargets operation: The
            # request signature we calculated does not match ...").
            return self.send(403, {"__type": "InvalidSignatureException", "message": INVALID_SIGNATURE},
                             "InvalidSignatureException")
        body = json.loads(raw or b"{}") if self.path in ("/CreateGroup", "/GetGroup", "/CreateSamplingRule", "/GetSamplingRules", "/Traces") else None
        if self.path == "/CreateGroup":
            name = body.get("GroupName")
            if not name:
                return self.invalid("GroupName is required")
            if name in GROUPS:
                # The model has no "already exists" error: CreateGroup declares only
                # InvalidRequestException (400) and ThrottledException. The message is the one
                # seen from AWS by alchemy-run/distilled (services/xray.ts: " already exists$").
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
                # As for groups: InvalidRequestException, "Sampling rule already exists"
                # (alchemy-run/distilled services/xray.ts).
                return self.invalid("Sampling rule already exists")
            rule = dict(rule, RuleARN=f"arn:aws:xray:us-east-1:{ACCOUNT}:sampling-rule/{name}")
            now = time.time()
            RULES[name] = {"SamplingRule": rule, "CreatedAt": now, "ModifiedAt": now}
            return self.send(200, {"SamplingRuleRecord": RULES[name]})
        if self.path == "/GetSamplingRules":
            records = list(RULES.values())
            start = int(body.get("NextToken") or 0)
            page = records[start:start + self.page_size]
            out = {"SamplingRuleRecords": page}
            if start + self.page_size < len(records):
                out["NextToken"] = str(start + self.page_size)
            return self.send(200, out)
        if self.path == "/Traces" and self.delay > 0:
            ids = body.get("TraceIds") or []
            pending = [t for t in ids if time.time() - PUT_AT.get(t, 0) < self.delay]
            if pending:
                # Not processed yet: nothing to return for those ids.
                return self.send(200, {"Traces": [], "UnprocessedTraceIds": pending})
        if self.path == "/TraceSegments":
            for doc in (json.loads(raw or b"{}").get("TraceSegmentDocuments") or []):
                try:
                    PUT_AT.setdefault(json.loads(doc).get("trace_id"), time.time())
                except ValueError:
                    pass
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
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args()
    Handler.moto = args.moto.rstrip("/")
    Handler.delay = args.delay
    Handler.page_size = args.page_size
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
