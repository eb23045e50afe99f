# Writes to /proc/sys: host sysctls kernel.core_pattern (a pipe there runs a
# program as root on every crash), kernel.modprobe, kernel.hostname,
# fs.suid_dumpable and vm.drop_caches, and sethostname(). Only ever the value
# just read back is written, never a new one, so that even a broken sandbox
# leaves the host as it was; vm.drop_caches cannot be read, so it is only
# opened. Each attempt reports "ok" (opened for writing) or the errno name.
import errno
import os
import socket


def _err(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def _write_same(path):
    try:
        with open(path, "rb") as f:
            current = f.read()
    except OSError:
        current = None
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return _err(e)
    try:
        if current:
            os.write(fd, current)
    except OSError:
        pass
    finally:
        os.close(fd)
    return "ok"


def main(arg=None):
    res = {}
    for name in ("kernel/core_pattern", "kernel/modprobe", "kernel/hostname",
                 "fs/suid_dumpable", "vm/drop_caches"):
        res[name] = _write_same("/proc/sys/" + name)
    try:
        socket.sethostname(socket.gethostname())
        res["sethostname"] = "ok"
    except OSError as e:
        res["sethostname"] = _err(e)
    return res
