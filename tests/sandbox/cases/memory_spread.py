# Memory spread over children: 8 children each try to hold 24 MiB at once,
# 192 MiB in all, three times a 64 MiB limit although each child alone fits
# in it. A per-process limit (RLIMIT_AS) lets all 8 through; a cgroup limit
# cannot. Counted at the end: children that got their 24 MiB and are still
# alive (held_at_end), and children already dead of SIGKILL (oom_killed).
import os
import select
import signal
import time


def main(arg=None):
    r, w = os.pipe()
    pids = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                hold = bytearray(b"\x5a") * (24 << 20)
                os.write(w, b"+%d\n" % os.getpid())
            except MemoryError:
                hold = None
            time.sleep(10)
            os._exit(0 if hold is not None else 1)
        pids.append(pid)
    os.close(w)
    got = b""
    deadline = time.monotonic() + 2.5
    while got.count(b"+") < 8 and time.monotonic() < deadline:
        ready, _, _ = select.select([r], [], [], 0.1)
        if ready:
            chunk = os.read(r, 4096)
            if not chunk:
                break   # every child is gone
            got += chunk
    holders = {int(x) for x in got.replace(b"+", b"").split()}
    held_at_end, oom_killed = 0, 0
    for pid in pids:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            held_at_end += pid in holders
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            oom_killed += 1
    return {"held_at_end": held_at_end, "oom_killed": oom_killed, "ever_held": len(holders)}
