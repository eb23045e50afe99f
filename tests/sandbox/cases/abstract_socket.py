# Connect to an abstract unix socket the test listens on in the host's
# network namespace. Abstract names have no file and no permissions: only a
# separate network namespace keeps the skill out. Input: {"name": N}.
import errno
import socket


def main(arg):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect("\0" + arg["name"])
            return {"connect": "ok", "got": s.recv(100).decode(errors="replace")}
    except OSError as e:
        return {"connect": errno.errorcode.get(e.errno, str(e.errno))
                if e.errno else type(e).__name__}
