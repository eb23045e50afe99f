#!/usr/bin/python3
"""The server tests' Python client, for what curl does not do well.

    client.py sse BASE TOKEN --clients N --expect M [--topic T] [--drop-after K]
                [--since S] [--ready FILE] [--timeout SECONDS]
        N event-stream clients; each reads until it has M events (of topic T
        when given), checks their ids strictly increase with no gap in what
        the server sends, and prints one JSON summary line:
        {"clients", "events": [per client], "reconnects", "first", "last",
         "ok": bool, "problems": [...]}.
        With --drop-after K a client closes its connection after every K
        events and reconnects with Last-Event-ID. --ready FILE is written
        once every client has its stream open.

    client.py slow BASE --connections N --wait SECONDS
        N clients that send half a request line and then nothing (slowloris);
        prints {"closed": how many the server closed within SECONDS, "answered":
        whether a normal request was answered while they hung}.

    client.py cap BASE --connections N [--extra K]
        Holds N idle connections open, then makes K (default 1) more requests
        on connections of their own, each held open; prints {"refused": whether
        the first got no answer, "status", "body", "retry_after", "connection":
        of the first's answer (null when none), "statuses": of all K,
        "after": the status of a request made once all are closed}.
"""

import argparse
import http.client
import json
import socket
import sys
import threading
import time
from urllib.parse import urlparse


def hostport(base):
    u = urlparse(base)
    return u.hostname, u.port


class Stream:
    """One SSE connection: yields (id, event, data) tuples."""

    def __init__(self, base, token, last_id=None, topic=None, since=None, timeout=60):
        host, port = hostport(base)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        path = "/v1/events"
        q = []
        if topic:
            q.append("topic=" + topic)
        if since is not None:
            q.append("since=%d" % since)
        if q:
            path += "?" + "&".join(q)
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        if self.resp.status != 200:
            raise RuntimeError("status %d: %s" % (self.resp.status, self.resp.read()[:300]))

    def events(self):
        ev = {}
        while True:
            line = self.resp.readline()
            if not line:
                return
            line = line.decode("utf-8").rstrip("\n")
            if line == "":
                if "id" in ev:
                    yield int(ev["id"]), ev.get("event"), ev.get("data")
                ev = {}
            elif line.startswith(":"):
                continue
            else:
                k, _, v = line.partition(":")
                ev[k] = v[1:] if v.startswith(" ") else v

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def sse(args):
    n = args.clients
    results = [None] * n
    opened = threading.Barrier(n + 1)
    problems = []
    lock = threading.Lock()

    def client(i):
        got, reconnects, last = [], 0, None
        try:
            s = Stream(args.base, args.token, topic=args.topic, since=args.since,
                       timeout=args.timeout)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            with lock:
                problems.append("client %d: %s" % (i, e))
            opened.abort()
            return
        try:
            opened.wait()
        except threading.BrokenBarrierError:
            return
        try:
            while len(got) < args.expect:
                dropped = False
                for seq, event, data in s.events():
                    d = json.loads(data)
                    if d["seq"] != seq or (args.topic and event != args.topic):
                        with lock:
                            problems.append("client %d: bad frame %d %s" % (i, seq, event))
                    got.append(seq)
                    last = seq
                    if len(got) >= args.expect:
                        break
                    if args.drop_after and len(got) % args.drop_after == 0:
                        dropped = True
                        break
                s.close()
                if len(got) >= args.expect:
                    break
                if not dropped:
                    with lock:
                        problems.append("client %d: stream ended after %d" % (i, len(got)))
                    break
                reconnects += 1
                s = Stream(args.base, args.token, last_id=last, topic=args.topic,
                           timeout=args.timeout)
        except Exception as e:  # noqa: BLE001
            with lock:
                problems.append("client %d: %s after %d events" % (i, e, len(got)))
        results[i] = (got, reconnects)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    try:
        opened.wait()
        if args.ready:
            with open(args.ready + ".tmp", "w") as f:
                f.write("ready\n")
            import os
            os.rename(args.ready + ".tmp", args.ready)
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join()
    counts, recon, firsts, lasts = [], 0, set(), set()
    ref = None
    for i, r in enumerate(results):
        if r is None:
            counts.append(0)
            continue
        got, rc = r
        counts.append(len(got))
        recon += rc
        if any(b <= a for a, b in zip(got, got[1:])):
            problems.append("client %d: ids not strictly increasing (duplicate or reorder)" % i)
        if len(set(got)) != len(got):
            problems.append("client %d: duplicates" % i)
        if ref is None:
            ref = got
        elif got != ref:
            problems.append("client %d: a different sequence of events than client 0" % i)
        if got:
            firsts.add(got[0])
            lasts.add(got[-1])
    ok = not problems and all(c == args.expect for c in counts)
    print(json.dumps({"clients": n, "events": counts, "reconnects": recon,
                      "first": sorted(firsts), "last": sorted(lasts), "ok": ok,
                      "problems": problems[:20]}))
    return 0 if ok else 1


def slow(args):
    host, port = hostport(args.base)
    socks = []
    for _ in range(args.connections):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /v1/health HT")
        socks.append(s)
    # A normal client is answered while the slow ones hang.
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", "/v1/health")
    answered = c.getresponse().status == 200
    c.close()
    deadline = time.time() + args.wait
    closed = 0
    for s in socks:
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            data = s.recv(4096)
            # The server closed it (EOF), maybe after an error answer.
            while data:
                data = s.recv(4096)
            closed += 1
        except (socket.timeout, TimeoutError):
            pass
        except OSError:
            closed += 1
        s.close()
    print(json.dumps({"closed": closed, "answered": answered}))
    return 0


def one_request(host, port, timeout=10, full=False):
    """The status of GET /v1/health, or None when no answer came within timeout.
    With full: (status, body, Retry-After, Connection header, the open connection)."""
    try:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
        c.request("GET", "/v1/health")
        r = c.getresponse()
        if full:
            return (r.status, r.read().decode("utf-8", "replace"), r.getheader("Retry-After"),
                    r.getheader("Connection"), c)
        status = r.status
        c.close()
        return status
    except (OSError, http.client.HTTPException):
        return (None, None, None, None, None) if full else None


def cap(args):
    host, port = hostport(args.base)
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(args.connections)]
    # Each idle one is surely accepted (counted) before the next request comes.
    time.sleep(0.5)
    answers = [one_request(host, port, timeout=5, full=True) for _ in range(args.extra)]
    status, body, retry, conn, _ = answers[0]
    for s in socks:
        s.close()
    for a in answers:
        if a[4] is not None:
            a[4].close()
    after = None
    for _ in range(50):
        after = one_request(host, port)
        if after == 200:
            break
        time.sleep(0.1)
    print(json.dumps({"refused": status is None, "status": status,
                      "body": json.loads(body) if body else None, "retry_after": retry,
                      "connection": conn, "statuses": [a[0] for a in answers],
                      "after": after}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sse")
    p.add_argument("base")
    p.add_argument("token")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--topic")
    p.add_argument("--since", type=int)
    p.add_argument("--drop-after", type=int, default=0)
    p.add_argument("--ready")
    p.add_argument("--timeout", type=float, default=120)
    p = sub.add_parser("slow")
    p.add_argument("base")
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--wait", type=float, default=30)
    p = sub.add_parser("cap")
    p.add_argument("base")
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--extra", type=int, default=1)
    args = ap.parse_args()
    return {"sse": sse, "slow": slow, "cap": cap}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
