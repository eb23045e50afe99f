# What a payload can learn from the processes it can name in /proc: its
# parent (the supervisor), the parent's parent (the process that made the
# sandbox: the CLI), and every other entry. For each ancestor: its environ
# and cmdline, and whether its memory opens; for all: which pids' environ
# holds an OPENAI_API_KEY variable. Run as the CLI's own uid (not root) the
# ancestors are the payload's uid too, so only their being non-dumpable and
# scrubbed keeps them closed.
import errno
import os


def _err(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def _read(path, n=65536):
    try:
        with open(path, "rb") as f:
            return f.read(n).replace(b"\0", b"\n").decode(errors="replace")
    except OSError as e:
        return _err(e)


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _mem(pid):
    try:
        fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    except OSError as e:
        return _err(e)
    os.close(fd)
    return "opened"


def _about(pid):
    return {"pid": pid, "environ": _read("/proc/%d/environ" % pid),
            "cmdline": _read("/proc/%d/cmdline" % pid), "mem": _mem(pid)}


def main(arg=None):
    sup = os.getppid()
    cli = _ppid(sup)
    key_in = []
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != os.getpid():
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    if b"OPENAI_API_KEY=" in f.read():
                        key_in.append(int(p))
            except OSError:
                pass
    return {"supervisor": _about(sup), "cli": _about(cli), "key_in": sorted(key_in)}
