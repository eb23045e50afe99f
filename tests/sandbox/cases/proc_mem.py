# /proc/PID/mem: open pid 1's, our parent's and the host canary's memory
# (the canary runs as the sandbox's own uid) for reading and writing, and
# read the first mapped page. Nothing is ever written. Each attempt reports
# "read N bytes" or the errno name. Input: {"canary": PID}.
import errno
import os


def _err(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def _peek(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            start = int(f.readline().split("-")[0], 16)
    except (OSError, ValueError) as e:
        start = None
        maps = _err(e) if isinstance(e, OSError) else "no maps"
    else:
        maps = "ok"
    try:
        fd = os.open("/proc/%d/mem" % pid, os.O_RDWR)
        mode = "rw"
    except OSError:
        try:
            fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
            mode = "ro"
        except OSError as e:
            return {"maps": maps, "mem": _err(e)}
    try:
        data = os.pread(fd, 4096, start or 0x400000)
        return {"maps": maps, "mem": "read %d bytes (%s)" % (len(data), mode)}
    except OSError as e:
        return {"maps": maps, "mem": "opened %s, read %s" % (mode, _err(e))}
    finally:
        os.close(fd)


def main(arg):
    return {"pid 1": _peek(1), "parent": _peek(os.getppid()),
            "canary": _peek(arg["canary"])}
