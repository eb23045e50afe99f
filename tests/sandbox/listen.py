#!/usr/bin/python3
"""Host-side listeners for the sandbox escape suite.

    listen.py KIND ADDR DIR

KIND is tcp or udp (ADDR unused: an ephemeral port on 127.0.0.1), unix (ADDR
is the socket's path, made connectable by anyone, so that only isolation and
not file permissions keeps a sandbox out) or abstract (ADDR is the abstract
name, without the leading NUL). Once listening it writes DIR/KIND.ready (the
port, or the address) and then logs each connection or datagram it gets to
DIR/KIND.log, one line each, answering connections with a secret line that
a skill must never get. Runs until killed.
"""
import os
import socket
import sys

kind, addr, outdir = sys.argv[1:4]
log = open(os.path.join(outdir, kind + ".log"), "a", buffering=1)

if kind in ("tcp", "udp"):
    s = socket.socket(socket.AF_INET,
                      socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    ready = str(s.getsockname()[1])
elif kind == "unix":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(addr)
    os.chmod(addr, 0o777)
    ready = addr
elif kind == "abstract":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0" + addr)
    ready = addr
else:
    sys.exit("listen.py: unknown kind " + kind)

if kind != "udp":
    s.listen(16)
# Write the ready file atomically: the test polls for it.
tmp = os.path.join(outdir, kind + ".ready.tmp")
with open(tmp, "w") as f:
    f.write(ready + "\n")
os.rename(tmp, os.path.join(outdir, kind + ".ready"))

while True:
    if kind == "udp":
        data, peer = s.recvfrom(4096)
        log.write("datagram %d bytes from %r\n" % (len(data), peer))
        continue
    conn, peer = s.accept()
    log.write("connection from %r\n" % (peer,))
    try:
        conn.sendall(b"host-secret-listener\n")
    except OSError:
        pass
    conn.close()
