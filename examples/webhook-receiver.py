"""Receives creditkit's webhooks and checks their signature: a worked example.

    WEBHOOK_SECRET=ck_whsec_... python3 examples/webhook-receiver.py 127.0.0.1:8099

creditkit signs each delivery like Stripe does: the `Creditkit-Signature` header is
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the endpoint's
secret>`. Refuse a bad or stale signature (400: creditkit retries; a forger gets
nothing), answer 2xx once handled, and drop duplicates by event id: delivery is at
least once, and a redelivery carries the same id.
"""

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()
TOLERANCE_SECONDS = 300


def verify(header: str, body: bytes) -> bool:
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [int(v) for k, v in fields if k == "t" and v.isdigit()]
    signatures = [v for k, v in fields if k == "v1"]
    if not stamps or abs(time.time() - stamps[0]) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(SECRET, f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


class Receiver(BaseHTTPRequestHandler):
    seen: set = set()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if not verify(self.headers.get("creditkit-signature", ""), body):
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in Receiver.seen:
            Receiver.seen.add(event["id"])
            # Your work here: email the customer on balance.low, sync your billing, …
            print("verified", event["type"], event["id"], flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1)
    HTTPServer((host, int(port)), Receiver).serve_forever()
