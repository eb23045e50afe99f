# Inherited file descriptors: the test starts the CLI with fd 7 open on a
# secret file. List every open fd and what it points at, read any regular
# file among them, and try fd 7 directly.
import errno
import os


def main(arg=None):
    fds, reads = {}, {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            fds[fd] = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            continue    # the directory fd listdir used, closed by now
        try:
            if fd > 2 and os.path.isfile("/proc/self/fd/%d" % fd):
                reads[fd] = os.pread(fd, 200, 0).decode(errors="replace")
        except OSError as e:
            reads[fd] = errno.errorcode.get(e.errno, str(e.errno))
    try:
        os.fstat(7)
        fd7 = "open: " + os.pread(7, 200, 0).decode(errors="replace")
    except OSError as e:
        fd7 = errno.errorcode.get(e.errno, str(e.errno))
    return {"fds": fds, "reads": reads, "fd7": fd7}
