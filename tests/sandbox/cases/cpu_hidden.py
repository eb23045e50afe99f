# CPU hidden from a sum over /proc: with SIGCHLD ignored the kernel reaps
# each child itself, and a reaped child's time is added to no one's
# cutime. Children run one after the other, each looping for 0.4 s of CPU
# (under its own RLIMIT_CPU) and exiting; 6 of them use 2.4 s in all under
# --cpu 1. Only a cgroup's account sees them all.
import os
import signal
import time


def main(arg=None):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    done = 0
    for _ in range(6):
        pid = os.fork()
        if pid == 0:
            end = time.process_time() + 0.4
            while time.process_time() < end:
                pass
            os._exit(0)
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.01)
        done += 1
    return {"children": done}
