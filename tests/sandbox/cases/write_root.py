# Writes to / and /usr: create files and a directory there, open an existing
# binary for writing (without writing a byte), chmod it to the mode it
# already has. Each attempt reports "ok" or the errno name; the test also
# checks that nothing appeared on the host. Input: {"token": T}.
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
    res = {}
    for d in ("/", "/usr", "/usr/bin", "/usr/lib", "/bin", "/lib"):
        p = os.path.join(d, "autodev-sbx-%s-w" % t)
        res["create " + p] = _try(lambda p=p: _create(p))
    res["mkdir /usr/autodev-sbx"] = _try(lambda: os.mkdir("/usr/autodev-sbx-%s-d" % t))
    res["open /usr/bin/env for writing"] = _try(
        lambda: os.close(os.open("/usr/bin/env", os.O_WRONLY | os.O_APPEND)))
    mode = os.stat("/usr/bin/env").st_mode & 0o7777
    res["chmod /usr/bin/env"] = _try(lambda: os.chmod("/usr/bin/env", mode))
    return res
