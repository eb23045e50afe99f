# Writes to /etc: create a file, create /etc/ld.so.preload (the classic way
# to get code into every later process, root's included), open passwd, group
# and hosts for appending (without writing a byte). Input: {"token": T}.
import errno
import os


def _try(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _create(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def main(arg):
    t = arg["token"]
    res = {
        "create /etc/autodev-sbx": _try(lambda: _create("/etc/autodev-sbx-%s-w" % t)),
        "create /etc/ld.so.preload": _try(lambda: _create("/etc/ld.so.preload")),
    }
    for p in ("/etc/passwd", "/etc/group", "/etc/hosts"):
        res["append " + p] = _try(
            lambda p=p: os.close(os.open(p, os.O_WRONLY | os.O_APPEND)))
    return res
