# Read other processes' environments: the parent's (the supervisor or the
# sandbox's init), pid 1's, and every /proc/*/environ and cmdline readable.
# The test puts a fake API key in the CLI's environment and checks that it
# appears nowhere in the result; here we return everything we could read.
import errno
import os


def _read(p):
    try:
        with open(p, "rb") as f:
            return f.read(4096).replace(b"\0", b"\n").decode(errors="replace")
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(arg=None):
    me = os.getpid()
    res = {"ppid environ": _read("/proc/%d/environ" % os.getppid()),
           "pid 1 environ": _read("/proc/1/environ"),
           "others": {}}
    for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
        if pid != me:
            res["others"][pid] = (_read("/proc/%d/environ" % pid)
                                  + "\n" + _read("/proc/%d/cmdline" % pid))
    return res
