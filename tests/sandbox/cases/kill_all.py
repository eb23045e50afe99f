# kill(-1, SIGKILL): every process we may signal, then each canary the test
# runs on the host (one as root, one as the sandbox's own uid) by its host
# pid, and every pid in /proc but ours. Reports what each kill returned.
# Input: {"canaries": [PID, ...]}.
import errno
import os
import signal


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(arg):
    me = os.getpid()
    res = {"kill(-1)": _kill(-1)}
    for pid in arg["canaries"]:
        res["canary %d" % pid] = _kill(pid)
    res["proc"] = {p: _kill(int(p)) for p in os.listdir("/proc")
                   if p.isdigit() and int(p) not in (me, 1)}
    return res
