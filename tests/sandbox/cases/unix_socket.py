# Connect to a unix socket the test listens on in the host's /tmp (the
# socket is connectable by anyone: only isolation keeps the skill out).
# Input: {"path": P}.
import errno
import socket


def main(arg):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(arg["path"])
            return {"connect": "ok", "got": s.recv(100).decode(errors="replace")}
    except OSError as e:
        return {"connect": errno.errorcode.get(e.errno, str(e.errno))
                if e.errno else type(e).__name__}
