#!/usr/bin/python3
"""A loopback stand-in for the OpenAI and Anthropic HTTP APIs, for tests.

    llmserver.py --cases DIR [--port 0] [--port-file F] [--latency-ms N] [--verbose]
    llmserver.py --check DIR

A request to /case/NAME/REST is matched against the case file DIR/NAME.json,
REST being the provider path (/v1/chat/completions, /v1/messages). A case is
a list of exchanges consumed in order, each an expected request and a canned
reply; tests/llm/README.md describes the format. A request that does not
match is still answered with its exchange's reply, so that the client's
behaviour stays observable, and the difference is recorded for GET /_results.

Special endpoints: GET /_results (what each touched case received), POST
/_reset (forget all of it), GET /_health ("ok").

The server binds 127.0.0.1 only, speaks HTTP/1.1 with keep-alive, answers
each connection on its own thread and reads case files afresh when they
change. It never exits because of a request: whatever goes wrong while
answering one is recorded as a mismatch of its case and answered 500.

--check DIR lints every case file in DIR (format and, for SSE replies, that
each event's name agrees with its data's "type") and exits 1 on a problem.

Sections: matching (dotted paths, strict JSON equality), state (counters and
logs), replies (JSON/text/SSE, delay, truncate, drop), the handler, the
linter, main.
"""
import argparse
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 << 20
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MISSING = object()
REASONS = {529: "Site Overloaded"}

# ---------------------------------------------------------------- matching


def lookup(doc, path):
    """The value at a dotted path ("messages.0.role"), or MISSING."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict):
            if part not in cur:
                return MISSING
            cur = cur[part]
        elif isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                return MISSING
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


def same(a, b):
    """JSON equality that keeps true apart from 1 (Python's == does not)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def show(v):
    if v is MISSING:
        return "<missing>"
    text = json.dumps(v, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def check_headers(expect, headers):
    out = []
    for name, want in (expect.get("headers") or {}).items():
        got = headers.get(name.lower(), MISSING)
        if got is MISSING or got != str(want):
            out.append("header '%s': expected %s, got %s"
                       % (name.lower(), show(str(want)), show(got)))
    for name in expect.get("headers_present") or []:
        if name.lower() not in headers:
            out.append("header '%s' is missing" % name.lower())
    for name in expect.get("headers_absent") or []:
        if name.lower() in headers:
            out.append("header '%s' should be absent, got %s"
                       % (name.lower(), show(headers[name.lower()])))
    return out


def check_body(expect, body, parsed_ok):
    fields = expect.get("body") or {}
    absent = expect.get("body_absent") or []
    if not fields and not absent:
        return []
    if not parsed_ok:
        return ["body is not JSON: %s" % show(body)]
    out = []
    for path, want in fields.items():
        got = lookup(body, path)
        if got is MISSING or not same(got, want):
            out.append("body field '%s': expected %s, got %s" % (path, show(want), show(got)))
    for path in absent:
        got = lookup(body, path)
        if got is not MISSING:
            out.append("body field '%s' should be absent, got %s" % (path, show(got)))
    return out


def check_request(expect, req):
    """Every way req differs from expect, as messages without the exchange prefix."""
    out = []
    method = expect.get("method")
    if method is not None and method != req["method"]:
        out.append("method: expected %s, got %s" % (show(method), show(req["method"])))
    path = expect.get("path")
    if path is not None:
        got = req["rest"] if "?" in path else req["rest"].split("?", 1)[0]
        if got != path:
            out.append("path: expected %s, got %s" % (show(path), show(got)))
    out.extend(check_headers(expect, req["headers"]))
    out.extend(check_body(expect, req["body"], req["json"]))
    return out

# ---------------------------------------------------------------- state


class State:
    """Per-case counters and logs, and a cache of parsed case files."""

    def __init__(self, cases_dir):
        self.dir = cases_dir
        self.lock = threading.Lock()
        self.cases = {}
        self.files = {}

    def entry(self, name):
        e = self.cases.get(name)
        if e is None:
            e = {"consumed": 0, "total": 0, "mismatches": [], "requests": [], "calls": []}
            self.cases[name] = e
        return e

    def load(self, name):
        """The case's parsed file, or raises OSError / ValueError."""
        path = os.path.join(self.dir, name + ".json")
        st = os.stat(path)
        key = (st.st_mtime_ns, st.st_size)
        with self.lock:
            hit = self.files.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
        with open(path, encoding="utf-8") as f:
            case = json.load(f)
        problems = lint_case(case)
        if problems:
            raise ValueError("; ".join(problems))
        with self.lock:
            self.files[name] = (key, case)
        return case

    def take(self, name, total, req):
        """Logs req under name and returns its 0-based exchange index."""
        with self.lock:
            e = self.entry(name)
            e["total"] = total
            idx = e["consumed"]
            e["consumed"] += 1
            e["requests"].append(req["body"])
            e["calls"].append({"method": req["method"], "path": req["rest"],
                               "headers": req["headers"]})
            return idx

    def mismatch(self, name, msgs):
        if not msgs:
            return
        with self.lock:
            self.entry(name)["mismatches"].extend(msgs)

    def results(self, only=None):
        with self.lock:
            names = sorted(self.cases) if only is None else [n for n in only if n in self.cases]
            return json.loads(json.dumps({n: self.cases[n] for n in names}))

    def reset(self):
        with self.lock:
            self.cases.clear()

# ---------------------------------------------------------------- replies


def openai_error(message, etype, code):
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


def sse_piece(ev):
    """One SSE event as bytes: "event: NAME\\ndata: JSON\\n\\n", or "raw" verbatim."""
    if "raw" in ev:
        return ev["raw"].encode("utf-8")
    lines = []
    if ev.get("event") is not None:
        lines.append("event: %s" % ev["event"])
    data = ev.get("data")
    if isinstance(data, str):
        text = data
    else:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for line in text.split("\n"):
        lines.append("data: %s" % line)
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmserver/1"
    # An idle keep-alive connection gives its thread back after this long.
    timeout = 300

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("llmserver: %s\n" % (fmt % args))

    # ------------------------------------------------------------ plumbing

    def read_body(self):
        """The request body as bytes; None when the request cannot be read."""
        te = (self.headers.get("transfer-encoding") or "").lower()
        if "chunked" in te:
            return self.read_chunked()
        length = self.headers.get("content-length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            return None
        if n < 0:
            return None
        if n > MAX_BODY:
            self.drain(n)
            return None
        return self.rfile.read(n)

    def drain(self, n):
        """Reads and drops n bytes, so that the client sees the 413, not a reset."""
        while n > 0:
            got = self.rfile.read(min(n, 1 << 20))
            if not got:
                return
            n -= len(got)

    def handle_expect_100(self):
        # Refuse an oversized body before the client sends it (libcurl asks
        # with "Expect: 100-continue" for large uploads).
        try:
            n = int(self.headers.get("content-length", "0"))
        except ValueError:
            n = 0
        if n > MAX_BODY:
            self.close_connection = True
            self.send_plain(413, openai_error("llmserver: body over 16 MiB",
                                              "invalid_request_error", "body"))
            return False
        return super().handle_expect_100()

    def read_chunked(self):
        parts = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                n = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return None
            if n == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            size += n
            if size > MAX_BODY:
                return None
            parts.append(self.rfile.read(n))
            self.rfile.readline(1024)

    def header_dict(self):
        out = {}
        for name, value in self.headers.items():
            key = name.lower()
            out[key] = value if key not in out else out[key] + ", " + value
        return out

    def send_plain(self, status, body, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status, REASONS.get(status))
        names = {k.lower() for k in (headers or {})}
        if "content-type" not in names:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # ------------------------------------------------------------ dispatch

    def handle_any(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            # The client went away (a timeout test): nothing to answer.
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any

    def route(self):
        raw = self.read_body()
        if raw is None:
            self.close_connection = True
            self.send_plain(413, openai_error("llmserver: unreadable or oversized body",
                                              "invalid_request_error", "body"))
            return
        path = self.path.split("?", 1)[0]
        if path == "/_health":
            self.send_plain(200, b"ok", "text/plain; charset=utf-8")
        elif path == "/_results" and self.command in ("GET", "HEAD"):
            q = self.path.split("?", 1)[1] if "?" in self.path else ""
            only = [v for k, _, v in (p.partition("=") for p in q.split("&")) if k == "case"]
            self.send_plain(200, self.server.state.results(only or None))
        elif path == "/_reset" and self.command == "POST":
            self.server.state.reset()
            self.send_plain(200, {"reset": True})
        elif path.startswith("/case/"):
            self.serve_case(raw)
        else:
            msg = "no route for %s %s" % (self.command, self.path)
            self.server.state.mismatch("_unrouted", [msg])
            self.send_plain(404, openai_error("llmserver: no route for %s" % path,
                                              "invalid_request_error", "unknown_route"))

    def case_request(self, raw, rest):
        text = raw.decode("utf-8", errors="replace")
        try:
            body, ok = json.loads(text), True
        except ValueError:
            body, ok = text, False
        return {"method": self.command, "rest": rest, "headers": self.header_dict(),
                "body": body, "json": ok}

    def serve_case(self, raw):
        tail = self.path[len("/case/"):]
        name, slash, rest = tail.partition("/")
        rest = "/" + rest if slash else "/"
        req = self.case_request(raw, rest)
        state = self.server.state
        if not NAME_RE.match(name):
            state.mismatch("_unrouted", ["bad case name %s" % show(name)])
            self.send_plain(404, openai_error("llmserver: bad case name", "invalid_request_error",
                                              "unknown_case"))
            return
        try:
            case = state.load(name)
        except FileNotFoundError:
            state.take(name, 0, req)
            state.mismatch(name, ["unknown case '%s'" % name])
            self.send_plain(404, openai_error("llmserver: unknown case '%s'" % name,
                                              "invalid_request_error", "unknown_case"))
            return
        except (OSError, ValueError) as e:
            state.take(name, 0, req)
            state.mismatch(name, ["case file: %s" % e])
            self.send_plain(500, openai_error("llmserver: bad case file: %s" % e,
                                              "server_error", "bad_case"))
            return
        self.answer(name, case, req)

    def answer(self, name, case, req):
        state = self.server.state
        exchanges = case["exchanges"]
        idx = state.take(name, len(exchanges), req)
        if idx >= len(exchanges) and case.get("repeat_last"):
            idx_used = len(exchanges) - 1
        else:
            idx_used = idx
        if idx_used >= len(exchanges):
            state.mismatch(name, ["exchange %d: unexpected request %s %s (the case has %d)" % (
                idx + 1, req["method"], req["rest"], len(exchanges))])
            self.send_plain(500, openai_error(
                "llmserver: case '%s' has no exchange %d" % (name, idx + 1),
                "server_error", "exhausted"))
            return
        ex = exchanges[idx_used]
        msgs = check_request(ex.get("expect") or {}, req)
        state.mismatch(name, ["exchange %d: %s" % (idx + 1, m) for m in msgs])
        self.send_case_reply(ex.get("reply") or {})

    # ------------------------------------------------------------ replies

    def send_case_reply(self, reply):
        delay = self.server.latency_ms + int(reply.get("delay_ms", 0))
        if delay > 0:
            time.sleep(delay / 1000.0)
        if reply.get("drop"):
            self.drop()
            return
        if "sse" in reply:
            self.send_sse(reply)
            return
        if "json" in reply:
            data = json.dumps(reply["json"], ensure_ascii=False).encode("utf-8")
            ctype = "application/json"
        else:
            data = str(reply.get("text", "")).encode("utf-8")
            ctype = "text/plain; charset=utf-8"
        status = int(reply.get("status", 200))
        cut = reply.get("truncate")
        if cut is None or self.command == "HEAD":
            self.send_plain(status, data, ctype, reply.get("headers"))
            return
        # Announce the whole body, send the start of it, then hang up: the
        # client sees a short read, as with a connection lost mid-reply.
        self.close_connection = True
        self.send_response(status, REASONS.get(status))
        self.send_reply_headers(reply, ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:int(cut)])

    def send_reply_headers(self, reply, ctype):
        headers = reply.get("headers") or {}
        if "content-type" not in {k.lower() for k in headers}:
            self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, str(v))

    def drop(self):
        """Closes the connection without a byte of reply."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_sse(self, reply):
        """Streams the events, one write each; chunked unless "framing" is "close"."""
        status = int(reply.get("status", 200))
        chunked = reply.get("framing", "chunked") != "close"
        self.send_response(status, REASONS.get(status))
        self.send_reply_headers(reply, "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            return
        left = reply.get("truncate")
        for ev in reply["sse"]:
            if ev.get("delay_ms"):
                time.sleep(int(ev["delay_ms"]) / 1000.0)
            piece = sse_piece(ev)
            if left is not None:
                piece = piece[:left]
                left -= len(piece)
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if left is not None and left <= 0:
                # Cut mid-stream: no terminating chunk, the connection closes.
                self.close_connection = True
                return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Benchmarks open many connections at once; the default backlog is 5.
    request_queue_size = 256

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name, which can stall on
        # a machine without DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        # One request's failure must not end the server; say so briefly.
        sys.stderr.write("llmserver: error answering %r: %r\n"
                         % (client_address, sys.exc_info()[1]))

# ---------------------------------------------------------------- linter


REPLY_KINDS = ("json", "text", "sse")
EXPECT_KEYS = {"method", "path", "headers", "headers_present", "headers_absent", "body",
               "body_absent"}
REPLY_KEYS = {"status", "headers", "json", "text", "sse", "delay_ms", "truncate", "drop", "framing"}


def lint_sse(where, events):
    out = []
    if not isinstance(events, list):
        return ["%s: sse is not a list" % where]
    for j, ev in enumerate(events):
        w = "%s event %d" % (where, j + 1)
        if not isinstance(ev, dict) or ("data" not in ev and "raw" not in ev):
            out.append("%s: needs \"data\" or \"raw\"" % w)
            continue
        data = ev.get("data")
        # Anthropic names each event after its data's type; a typo here
        # would test the client against a stream no server sends.
        if ev.get("event") and isinstance(data, dict) and data.get("type") != ev["event"]:
            out.append("%s: event %s but data type %s" % (w, ev["event"], show(data.get("type"))))
    return out


def lint_exchange(where, ex):
    out = []
    if not isinstance(ex, dict):
        return ["%s: not an object" % where]
    expect = ex.get("expect") or {}
    reply = ex.get("reply")
    if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
        out.append("%s: unknown expect keys %s" % (where, sorted(set(expect) - EXPECT_KEYS)))
    if not isinstance(reply, dict):
        return out + ["%s: no reply" % where]
    if set(reply) - REPLY_KEYS:
        out.append("%s: unknown reply keys %s" % (where, sorted(set(reply) - REPLY_KEYS)))
    kinds = [k for k in REPLY_KINDS if k in reply]
    if len(kinds) > 1 or (not kinds and not reply.get("drop")):
        out.append("%s: reply needs exactly one of json, text, sse (or drop)" % where)
    if "sse" in reply:
        out.extend(lint_sse(where, reply["sse"]))
    return out


def lint_case(case):
    if not isinstance(case, dict):
        return ["not an object"]
    out = []
    if not isinstance(case.get("description"), str) or not case["description"]:
        out.append("no description")
    exchanges = case.get("exchanges")
    if not isinstance(exchanges, list) or not exchanges:
        return out + ["no exchanges"]
    for i, ex in enumerate(exchanges):
        out.extend(lint_exchange("exchange %d" % (i + 1), ex))
    return out


def check_dir(cases_dir):
    bad = 0
    names = sorted(n for n in os.listdir(cases_dir) if n.endswith(".json"))
    for n in names:
        try:
            with open(os.path.join(cases_dir, n), encoding="utf-8") as f:
                problems = lint_case(json.load(f))
        except (OSError, ValueError) as e:
            problems = [str(e)]
        for p in problems:
            print("%s: %s" % (n, p))
        bad += bool(problems)
    print("%d case files, %d with problems" % (len(names), bad))
    return 1 if bad else 0

# ---------------------------------------------------------------- main


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="loopback OpenAI/Anthropic test server")
    ap.add_argument("--cases", help="directory of NAME.json case files")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--port-file", help="write the chosen port here (atomically)")
    ap.add_argument("--latency-ms", type=int, default=0, help="delay added to every case reply")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    ap.add_argument("--check", metavar="DIR", help="lint the case files in DIR and exit")
    args = ap.parse_args()
    if args.check:
        return check_dir(args.check)
    if not args.cases or not os.path.isdir(args.cases):
        ap.error("--cases DIR is required and must be a directory")
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args.cases)
    srv.latency_ms = max(0, args.latency_ms)
    srv.verbose = args.verbose
    port = srv.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("listening %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
