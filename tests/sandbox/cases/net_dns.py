# DNS: resolve a public name, read /etc/resolv.conf, and send a DNS query by
# hand to a UDP "resolver" the test runs on the host's 127.0.0.1 (it logs
# every datagram it gets). Input: {"port": P}.
import errno
import socket
import struct


def _err(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def main(arg):
    res = {}
    try:
        res["getaddrinfo"] = sorted({a[4][0] for a in socket.getaddrinfo("example.com", 80)})
    except OSError as e:
        res["getaddrinfo"] = type(e).__name__
    try:
        with open("/etc/resolv.conf") as f:
            res["resolv.conf"] = f.read()[:200]
    except OSError as e:
        res["resolv.conf"] = _err(e)
    # A query for example.com, type A.
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    query += b"\x07example\x03com\x00" + struct.pack(">HH", 1, 1)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(query, ("127.0.0.1", arg["port"]))
            res["udp query"] = "ok"
    except OSError as e:
        res["udp query"] = _err(e)
    return res
