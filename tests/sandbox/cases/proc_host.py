# What /proc shows a payload of its own and of pid 1 (the sandbox's init):
# command lines, environments, names, links, mounts. The CLI that made the
# sandbox ran with host paths and options in its argv (--code, --entry,
# --input) and a variable of its own in its environment; none of that may
# show here. Every file is read in full, or the errno name.
import errno
import os


def _err(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read(1 << 20).replace(b"\0", b"\n").decode(errors="replace")
    except OSError as e:
        return _err(e)


def _link(path):
    try:
        return os.readlink(path)
    except OSError as e:
        return _err(e)


def main(arg=None):
    res = {}
    for pid in ("1", "self"):
        for f in ("cmdline", "environ", "comm", "status", "stat", "mountinfo", "cgroup", "maps"):
            res["%s/%s" % (pid, f)] = _read("/proc/%s/%s" % (pid, f))
        for f in ("exe", "cwd", "root"):
            res["%s/%s" % (pid, f)] = _link("/proc/%s/%s" % (pid, f))
    return res
