#!/usr/bin/python3
"""A/B of the whole `autodev sandbox run` command against a bare interpreter.

    bench/sandbox_cmd_ab.py BEFORE_BIN AFTER_BIN [N]

Runs a trivial skill N times (default 60) through each binary and a bare
`python3 -I -S` run of the same function, interleaved (the order rotates every
iteration) after 3 warm-up runs each; each binary gets its own AUTODEV_HOME.
Every sandbox result is checked (status ok, output 1). Prints the median of
each and its ratio to bare. Used for issue 16 item 22 (the cgroup gate):
BEFORE built at 7879d6a, AFTER at main.
"""
import os, subprocess, sys, time, tempfile, statistics, json
d = tempfile.mkdtemp()
skill = os.path.join(d, "skill.py")
open(skill, "w").write("def run(x=None):\n    return 1\n")
bins = {"before": sys.argv[1], "after": sys.argv[2]}
homes = {k: tempfile.mkdtemp() for k in bins}
N = int(sys.argv[3]) if len(sys.argv) > 3 else 60
res = {k: [] for k in ["bare"] + list(bins)}
def bare():
    subprocess.run(["/usr/bin/python3", "-I", "-S", "-c", "def run(x=None):\n    return 1\nprint(run())"], stdout=subprocess.DEVNULL, check=True)
def cmd(k):
    env = dict(os.environ, AUTODEV_HOME=homes[k])
    p = subprocess.run([bins[k], "sandbox", "run", "--code", skill, "--entry", "run"], env=env, capture_output=True, text=True)
    j = json.loads(p.stdout)
    assert j["status"] == "ok" and j["output"] == 1, p.stdout
for k in bins:
    for _ in range(3): cmd(k)
for _ in range(3): bare()
order = ["bare", "before", "after"]
for i in range(N):
    o = order[i % 3:] + order[:i % 3]
    for k in o:
        t = time.perf_counter()
        bare() if k == "bare" else cmd(k)
        res[k].append((time.perf_counter() - t) * 1000)
b = statistics.median(res["bare"])
for k in order:
    m = statistics.median(res[k])
    print("%-7s p50 %7.2f ms  %.2fx bare" % (k, m, m / b))
