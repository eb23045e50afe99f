#!/usr/bin/python3
"""Talks raw newline-delimited JSON-RPC to 'autodev mcp', one line at a time.

    rawrpc.py [autodev mcp options...] < SCRIPT

Each line of SCRIPT is sent as is (a line "@BIG N" sends a line of N bytes
that is not JSON); after each line that carries an "id" (or is not valid
JSON, or is @BIG), the script waits for one answer line and prints it.
Notifications get no answer: the next request's answer must be the next
line. At the end of input stdin is closed; the exit status, then every
line the server wrote to stdout after that, are printed, so a stray line
shows up. stdout of the server must be JSON-RPC only: each answer line is
checked to be a JSON object with "jsonrpc": "2.0" (or an array of them).
"""
import json
import os
import subprocess
import sys

bin_ = os.environ["AUTODEV_BIN"]
p = subprocess.Popen([bin_, "mcp"] + sys.argv[1:], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=open("mcp.err", "wb"))


def expect_answer(line):
    if line.startswith("@BIG"):
        return True
    try:
        j = json.loads(line)
    except ValueError:
        return True
    if isinstance(j, list):
        return any(isinstance(x, dict) and "id" in x for x in j)
    return isinstance(j, dict) and "id" in j and "method" in j


def check(out):
    j = json.loads(out)
    for m in j if isinstance(j, list) else [j]:
        if not isinstance(m, dict) or m.get("jsonrpc") != "2.0":
            raise SystemExit("not a JSON-RPC message on stdout: %r" % out)


for raw in sys.stdin:
    line = raw.rstrip("\n")
    if line.startswith("@BIG"):
        data = b"x" * int(line.split()[1]) + b"\n"
    else:
        data = (line + "\n").encode()
    p.stdin.write(data)
    p.stdin.flush()
    if expect_answer(line):
        out = p.stdout.readline().decode()
        if not out:
            raise SystemExit("the server closed its output")
        check(out)
        sys.stdout.write(out)
        sys.stdout.flush()
p.stdin.close()
rest = p.stdout.read().decode()
rc = p.wait()
print("exit %d" % rc)
sys.stdout.write(rest)
