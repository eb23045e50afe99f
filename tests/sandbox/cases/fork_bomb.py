# Fork bomb: fork until the kernel refuses, while every child forks twice
# more and then sleeps, so the tree races to the pids limit. Contained when
# fork fails with EAGAIN below the limit and nothing is left after the run.
# (Capped at 500 forks so that a broken sandbox slows the host rather than
# takes it down.)
import errno
import os
import time


def _child():
    # Drop the sandbox's pipes: this case is about processes, not about
    # holding the output open (the daemon case does that).
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 1024)
    for _ in range(2):
        try:
            if os.fork() == 0:
                break
        except OSError:
            pass
    time.sleep(30)
    os._exit(0)


def main(arg=None):
    forked, err = 0, None
    for _ in range(500):
        try:
            pid = os.fork()
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
            break
        if pid == 0:
            _child()
        forked += 1
    return {"forked": forked, "errno": err}
