# CPU spread over 8 children: each loops until its own RLIMIT_CPU would
# stop it, while the entry waits for them all. Run with --cpu 1 and a
# longer --timeout: the limit is for the whole run, so the run must end at
# about one second of CPU in all, with status cpu_limit, not at 8.
import os


def main(arg=None):
    kids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            while True:
                pass
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    return {"children": len(kids)}
