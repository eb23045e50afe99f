#!/usr/bin/python3
"""A webhook receiver for the server tests, standard library only.

    hookrecv.py DIR

listens on an ephemeral loopback port (written to DIR/port) and, for each
POST, verifies the autodev signature with the secret in DIR/secret (read
per request, so it may be written after the receiver starts) and appends a
JSON line to DIR/log: {"ok", "why", "event_id", "id", "topic", "data"}.
DIR/mode says how to answer: "ok" (200, the default), "fail" (500) or
"slow" (log {"slow": "start"}, sleep 30 s, log {"slow": "done"}, 200).
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOCK = threading.Lock()


def read(name, default=""):
    try:
        with open(os.path.join(DIR, name)) as f:
            return f.read().strip()
    except OSError:
        return default


def log(entry):
    with LOCK, open(os.path.join(DIR, "log"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def verify(secret, ts, sig, body):
    if not ts or not sig:
        return False, "missing header"
    if abs(time.time() - int(ts)) > 300:
        return False, "stale timestamp"
    want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return False, "bad signature"
    return True, ""


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok, why = verify(read("secret"), self.headers.get("X-Autodev-Timestamp"),
                         self.headers.get("X-Autodev-Signature"), body)
        j = json.loads(body or b"{}")
        mode = read("mode", "ok")
        log({"ok": ok, "why": why, "event_id": self.headers.get("X-Autodev-Event-Id"),
             "id": j.get("id"), "topic": j.get("topic"), "data": j.get("data"), "mode": mode})
        if mode == "slow":
            log({"slow": "start"})
            time.sleep(30)
            log({"slow": "done"})
        self.send_response(500 if mode == "fail" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
srv.serve_forever()
