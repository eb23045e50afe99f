# Writes to cgroupfs: find our cgroup(s) from /proc/self/cgroup and try to
# raise our own limits (writing the value already there, never a new one),
# make a child cgroup, and move ourselves into the root cgroup, where no
# limit applies. Each attempt reports "ok" or the errno name; the test checks
# the host for the directory. Input: {"token": T}.
import errno
import os


def _try(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _write_same(path):
    with open(path, "rb") as f:
        current = f.read()
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, current)
    finally:
        os.close(fd)


def _write(path, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def main(arg):
    t = arg["token"]
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().split("\n")
    except OSError:
        lines = []
    dirs = set()
    for line in filter(None, lines):
        _, ctrls, path = line.split(":", 2)
        path = path.lstrip("/")
        if ctrls == "":
            dirs.add(os.path.join("/sys/fs/cgroup", path))
            dirs.add(os.path.join("/sys/fs/cgroup/unified", path))
        for c in ctrls.split(","):
            if c:
                dirs.add(os.path.join("/sys/fs/cgroup", c.replace("name=", ""), path))
    res = {}
    pid = str(os.getpid()).encode()
    for d in sorted(dirs):
        res["mkdir " + d] = _try(lambda d=d: os.mkdir(os.path.join(d, "autodev-sbx-" + t)))
        for name in ("memory.max", "memory.swap.max", "memory.limit_in_bytes",
                     "memory.memsw.limit_in_bytes", "pids.max"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                res["rewrite " + p] = _try(lambda p=p: _write_same(p))
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory",
                 "/sys/fs/cgroup/pids"):
        p = root + "/cgroup.procs"
        res["join " + p] = _try(lambda p=p: _write(p, pid))
    return res
