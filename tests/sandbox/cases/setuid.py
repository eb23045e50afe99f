# Setuid binaries: run /usr/bin/su (setuid root, found through the /usr the
# sandbox mounts) and, while it waits for a password on a pipe, read its
# uids from /proc: with no_new_privs and nosuid the effective uid must stay
# ours. Also report NoNewPrivs and the mount flags of /usr.
import os
import subprocess
import time


def _uids(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            st = dict(l.split(":\t", 1) for l in f.read().splitlines() if ":\t" in l)
    except OSError:
        return None
    if st.get("Name", "").strip() != "su":
        return None     # not exec'd yet
    return [int(x) for x in st["Uid"].split()]


def main(arg=None):
    res = {"uid": os.getuid()}
    try:
        p = subprocess.Popen(["/usr/bin/su", "root", "-c", "id -u"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        res["su"] = "exec failed: %s" % e
    else:
        seen = None
        deadline = time.monotonic() + 1.5
        while seen is None and p.poll() is None and time.monotonic() < deadline:
            seen = _uids(p.pid)
            time.sleep(0.01)
        p.stdin.close()
        out = p.stdout.read().decode(errors="replace")
        res["su"] = {"uids": seen, "exit": p.wait(), "output": out[-200:]}
    with open("/proc/self/status") as f:
        res["NoNewPrivs"] = [l.split()[1] for l in f if l.startswith("NoNewPrivs:")][0]
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/usr":
                res["/usr mount options"] = fields[5]
    return res
