# Connect to a TCP listener the test runs on the host's 127.0.0.1, and try
# to set the loopback interface up (with the flags it has on the host, so
# nothing changes there even if it worked). In a new network namespace the
# host's listener is out of reach and lo is down. Input: {"port": P}.
import errno
import fcntl
import socket
import struct


def _err(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def main(arg):
    res = {}
    try:
        with socket.create_connection(("127.0.0.1", arg["port"]), timeout=1) as s:
            res["connect"] = "ok"
            res["got"] = s.recv(100).decode(errors="replace")
    except OSError as e:
        res["connect"] = _err(e)
    IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40
    SIOCSIFFLAGS = 0x8914
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            ifreq = struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING)
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, ifreq)
            res["lo up"] = "ok"
    except OSError as e:
        res["lo up"] = _err(e)
    return res
