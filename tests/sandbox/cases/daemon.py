# Double-fork daemon: fork, setsid (leaving the process group), fork again,
# ignore SIGTERM and SIGHUP, close every inherited fd and sleep. The entry
# returns at once with the daemon's pid. Contained when no process of the
# sandbox's uid is left on the host after the run.
import os
import signal
import time


def main(arg=None):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.write(w, str(os.getpid()).encode())
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 1024)
        while True:
            time.sleep(3600)
    os.close(w)
    os.waitpid(pid, 0)
    daemon_pid = int(os.read(r, 32) or b"0")
    return {"daemon_pid": daemon_pid}
