# Thread bomb: start threads until the kernel refuses. Threads are tasks, so
# the pids limit (cgroup pids.max, or RLIMIT_NPROC) must stop them. Small
# stacks make sure it is the task count, not the address space, that runs out.
import threading
import time


def main(arg=None):
    threading.stack_size(256 * 1024)
    started, err = 0, None
    for _ in range(2000):
        t = threading.Thread(target=time.sleep, args=(30,), daemon=True)
        try:
            t.start()
        except RuntimeError as e:
            err = type(e).__name__ + ": " + str(e)
            break
        started += 1
    return {"threads": started, "error": err}
