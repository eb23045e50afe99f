# Two runs at once, started by the test: "hold" writes a marker file into
# /tmp, its cwd and $TMPDIR and stays alive for hold_s seconds; "probe" looks
# for that marker for probe_s seconds (in /tmp, its cwd, the cwd's parent,
# $TMPDIR and /dev/shm), then SIGKILLs every process of its own uid it can
# see that is neither itself nor an ancestor. Both report wall-clock times,
# so the test can check that the probe ran while the holder was alive.
# Input: {"mode": "hold"|"probe", "token": T, "hold_s": S, "probe_s": S}.
import os
import signal
import time


def _ancestors():
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
    out.add(1)
    return out


def _hold(arg, marker):
    written = []
    for d in {"/tmp", os.getcwd(), os.environ.get("TMPDIR", "/tmp")}:
        try:
            with open(os.path.join(d, marker), "w") as f:
                f.write(str(os.getpid()))
            written.append(d)
        except OSError:
            pass
    t_marker = time.time()
    time.sleep(arg["hold_s"])
    return {"pid": os.getpid(), "written": written, "t_marker": t_marker, "t_end": time.time()}


def _probe(arg, marker):
    t_start = time.time()
    cwd = os.getcwd()
    dirs = {"/tmp", cwd, os.path.dirname(cwd), os.environ.get("TMPDIR", "/tmp"), "/dev/shm"}
    saw = []
    while not saw and time.time() < t_start + arg["probe_s"]:
        for d in dirs:
            try:
                for sub in [d] + [os.path.join(d, e) for e in os.listdir(d)]:
                    if os.path.exists(os.path.join(sub, marker)):
                        saw.append(os.path.join(sub, marker))
            except OSError:
                pass
        time.sleep(0.05)
    mine, skip = os.getuid(), _ancestors()
    seen, killed = [], []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in skip:
            continue
        try:
            with open("/proc/%s/status" % p) as f:
                uid = int([l for l in f if l.startswith("Uid:")][0].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        seen.append(int(p))
        if uid == mine:
            try:
                os.kill(int(p), signal.SIGKILL)
                killed.append([int(p), cmd[:100]])
            except OSError:
                pass
    return {"saw": saw, "pids_seen": sorted(seen), "killed": killed,
            "t_start": t_start, "t_end": time.time()}


def main(arg):
    marker = "autodev-sbx-%s-conc" % arg["token"]
    return _hold(arg, marker) if arg["mode"] == "hold" else _probe(arg, marker)
