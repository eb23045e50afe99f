# Helpers for the sandbox escape-and-abuse suite, tests/sandbox/t*.sh.
#
# A script sets test_description and SB_BACKEND (linux or process), sources
# this file and then sb_setup, and writes its cases as sb_test blocks. Each
# case runs one hostile skill from cases/ through `autodev sandbox run` and
# asserts what the sandbox let it do. This file sources tests/cli/test-lib.sh,
# so the output is TAP and the script ends with test_done.
#
# Every run through sb_run also checks what must hold whatever the skill
# tried (sb_verify):
#   - the CLI exits 0 within $SB_HANG_S seconds (a hang is a failure) and
#     prints one result object with the contract's keys, this backend and
#     the isolation `sandbox check` promised;
#   - the fake API key in the CLI's environment and the secret behind the
#     CLI's inherited fd 7 appear nowhere in what it printed;
#   - no process of a sandbox uid is left on the host;
#   - the host canary (a `sleep` of root's started by sb_setup) is alive.
#
# Everything the suite makes outside its trash directory is named after a
# random token, /tmp/autodev-sbx-$SB_TOKEN[-*], and removed on exit together
# with every process it started (by pid).
#
# With $sb_user set (a test's own variable), sb_exec runs the CLI as
# $SB_USER_UID rather than root, as an ordinary user would: the payloads
# then run as that uid too, which is the case where the sandbox's own
# processes (the CLI, the supervisor) are within the payload's reach.
#
# The suite runs as root: it checks the payloads' host uids and starts
# canaries as such a uid. A supervisor claims its payload uid host-wide from
# [base, base + 1024), base first; the suite's runs use base 882000 (through
# AUTODEV_SANDBOX_UID_BASE, which also overrides it) rather than the default
# 880000, so that whatever else uses the sandbox on the machine at the same
# time (unit tests, the benchmark) neither trips the "nothing of that uid
# left" checks nor gets killed by the degraded-mode kill(-1) cases.

SB_DIR=$(cd "$(dirname "$0")" && pwd)
: "${AUTODEV_SRC:=$(cd "$SB_DIR/../.." && pwd)}"
. "$AUTODEV_SRC/tests/cli/test-lib.sh"

SB_PY=/usr/bin/python3
SB_CASES=$SB_DIR/cases
SB_UID=${AUTODEV_SANDBOX_UID_BASE:-882000}
SB_UID_RANGE=1024
# Past this many seconds a CLI run counts as hung; every case limits itself
# to a few seconds of wall time.
SB_HANG_S=${SB_HANG_S:-30}
SB_TOKEN=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
SB_HOST=/tmp/autodev-sbx-$SB_TOKEN
SB_API_KEY=sk-test-canary-$SB_TOKEN
SB_SECRET=autodev-fd-secret-$SB_TOKEN
SB_SECRET_FILE=$TRASH/secret
SB_SKIP=
SB_ISOLATION=
# The uid of the suite's runs as a user other than root (sb_user): inside
# the sandbox uid range, so that "no process of a sandbox uid left" covers
# whatever such a run leaves, and out of the way of the supervisors' own
# uids, claimed from $SB_UID up.
SB_USER_UID=$((SB_UID + 1000))
SB_USER_HOME=$SB_HOST/home-user
# A variable only the CLI's environment has; it must show nowhere inside.
SB_HOST_ENV=autodev-sbx-env-$SB_TOKEN
sb_user=

sb_cleanup() {
    if [ -f "$SB_HOST/pids" ]; then
        while read -r pid; do
            kill -9 "$pid" 2>/dev/null
        done <"$SB_HOST/pids"
    fi
    case $SB_TOKEN in
    ?*) rm -rf "$SB_HOST" /tmp/autodev-sbx-"$SB_TOKEN"-* ;;
    esac
}
trap sb_cleanup EXIT
trap 'exit 130' INT TERM

# sb_test DESC CODE: test_expect_success, or a skip when $SB_SKIP says why.
sb_test() {
    if [ -n "$SB_SKIP" ]; then
        test_skip "$1" "$SB_SKIP"
    else
        test_expect_success "$1" "$2"
    fi
}

# sb_spawn CMD...: starts CMD in the background, to be killed on exit; its
# pid in $sb_pid.
sb_spawn() {
    "$@" </dev/null >/dev/null 2>&1 &
    sb_pid=$!
    echo "$sb_pid" >>"$SB_HOST/pids"
}

# sb_alive PID: PID exists and is neither a zombie nor dead.
sb_alive() {
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    case $state in
    ''|Z|X|x) echo "sb_alive: process $1 is gone (state '$state')" >&2; return 1 ;;
    esac
    return 0
}

# sb_uid_canary: starts `sleep 300` as the sandbox's uid (a host process the
# skill must not reach); its pid in $sb_pid once it runs as that uid.
sb_uid_canary() {
    sb_spawn setpriv --reuid="$SB_UID" --regid="$SB_UID" --clear-groups sleep 300
    echo "$sb_pid" >>"$SB_HOST/uid-canaries"
    wait_for "grep -q '^Uid:[[:space:]]*$SB_UID[[:space:]]' /proc/$sb_pid/status 2>/dev/null" 5
}

# sb_uid_procs: one line per host process of a sandbox uid (real or
# effective) other than the uid canaries: "PID UID STATE CMDLINE". A
# supervisor claims its payload uid from [$SB_UID, $SB_UID + $SB_UID_RANGE),
# $SB_UID first, so concurrent runs get different uids.
sb_uid_procs() {
    $SB_PY -c '
import os, sys
lo, n = int(sys.argv[1]), int(sys.argv[2])
skip = set(open(sys.argv[3]).read().split()) if os.path.exists(sys.argv[3]) else set()
for p in os.listdir("/proc"):
    if not p.isdigit() or p in skip:
        continue
    try:
        st = dict(l.split(":\t", 1) for l in open("/proc/%s/status" % p).read().splitlines() if ":\t" in l)
        cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    uids = [int(u) for u in st["Uid"].split()[:2]]
    if any(lo <= u < lo + n for u in uids):
        print(p, uids[0], st["State"].split()[0], cmd[:120])
' "$SB_UID" "$SB_UID_RANGE" "$SB_HOST/uid-canaries"
}

# sb_no_uid_left: no process of the sandbox's uid is left (waits up to 5 s
# for kills in flight to land).
sb_no_uid_left() {
    if wait_for '[ -z "$(sb_uid_procs)" ]' 5 2>/dev/null; then
        return 0
    fi
    echo "sb_no_uid_left: processes of a sandbox uid left on the host:" >&2
    sb_uid_procs >&2
    return 1
}

# sb_no_uid_files DIR...: no file owned by a sandbox uid under DIRs (but
# the home the suite made for $SB_USER_UID).
sb_no_uid_files() {
    hi=$((SB_UID + SB_UID_RANGE - 1))
    left=$(find "$@" -xdev -path "$SB_USER_HOME" -prune -o \
        -uid +$((SB_UID - 1)) -uid -$((hi + 1)) -print 2>/dev/null | head -n 20)
    if [ -n "$left" ]; then
        echo "sb_no_uid_files: files of a sandbox uid left on the host:" >&2
        echo "$left" >&2
        return 1
    fi
    return 0
}

# sb_listen KIND [ADDR]: starts a host listener (see listen.py) logging to
# $SB_HOST/KIND.log; the port (tcp, udp) or address in $sb_addr.
sb_listen() {
    sb_spawn "$SB_PY" "$SB_DIR/listen.py" "$1" "${2:-}" "$SB_HOST"
    wait_for "test -s '$SB_HOST/$1.ready'" 10 || return 1
    sb_addr=$(cat "$SB_HOST/$1.ready")
}

# sb_log_empty KIND: the KIND listener got nothing.
sb_log_empty() {
    if [ -s "$SB_HOST/$1.log" ]; then
        echo "sb_log_empty: the host's $1 listener was reached:" >&2
        cat "$SB_HOST/$1.log" >&2
        return 1
    fi
    return 0
}

# sb_exec CASE OUT [OPTION...]: runs cases/CASE.py (entry main) with this
# script's backend and --timeout 3 unless an OPTION sets one, the fake API
# keys and $SB_HOST_ENV in the environment and fd 7 open on the secret file.
# Leaves the result in OUT.json, the CLI's stderr in OUT.err and its exit
# code in OUT.rc. With $sb_user set the CLI runs as $SB_USER_UID (setpriv,
# no groups, its own HOME), as an ordinary user would run it.
sb_exec() {
    sb_case=$1
    sb_out=$2
    shift 2
    case " $* " in
    *" --timeout "*) ;;
    *) set -- --timeout 3 "$@" ;;
    esac
    if [ -n "$sb_user" ]; then
        set -- setpriv --reuid="$SB_USER_UID" --regid="$SB_USER_UID" --clear-groups \
            env HOME="$SB_USER_HOME" "$AUTODEV_BIN" sandbox run "$@"
    else
        set -- "$AUTODEV_BIN" sandbox run "$@"
    fi
    AUTODEV_SANDBOX_UID_BASE=$SB_UID OPENAI_API_KEY=$SB_API_KEY ANTHROPIC_API_KEY=$SB_API_KEY \
        AUTODEV_SBX_HOST_ENV=$SB_HOST_ENV timeout -k 5 "$SB_HANG_S" "$@" \
        --code "$SB_CASES/$sb_case.py" --entry main --backend "$SB_BACKEND" \
        >"$sb_out.json" 2>"$sb_out.err" 7<"$SB_SECRET_FILE"
    echo $? >"$sb_out.rc"
}

# sb_verify OUT: the checks every run must pass (see the top of this file).
sb_verify() {
    rc=$(cat "$1.rc")
    case $rc in
    0) ;;
    124|137)
        echo "sb_verify: $1: the CLI hung (killed after ${SB_HANG_S}s)" >&2
        return 1 ;;
    *)
        echo "sb_verify: $1: the CLI exited with $rc; stderr:" >&2
        cat "$1.err" >&2
        return 1 ;;
    esac
    $SB_PY - "$1" "$SB_BACKEND" "$SB_ISOLATION" "$SB_API_KEY" "$SB_SECRET" "$SB_HOST_ENV" <<'EOF' || return 1
import json, sys
out, backend, isolation, key, secret, hostenv = sys.argv[1:7]
raw = open(out + ".json", "rb").read()
err = open(out + ".err", "rb").read()
problems = []
for name, text in (("result", raw), ("CLI stderr", err)):
    for what, s in (("the API key", key), ("the fd 7 secret", secret),
                    ("the CLI's own environment", hostenv)):
        if s.encode() in text:
            problems.append("%s leaked into the %s" % (what, name))
try:
    j = json.loads(raw)
except ValueError as e:
    problems.append("stdout is not one JSON document: %s: %r" % (e, raw[:300]))
    j = None
if j is not None:
    keys = {"status", "exit_code", "signal", "wall_ms", "cpu_ms", "max_rss_kb", "output",
            "error", "stdout", "stderr", "truncated", "isolation", "backend", "execution_id"}
    statuses = {"ok", "error", "timeout", "cpu_limit", "oom", "signal", "output_limit",
                "sandbox_error"}
    if not isinstance(j, dict):
        problems.append("the result is not an object")
    else:
        if keys - set(j):
            problems.append("keys missing: %s" % sorted(keys - set(j)))
        if j.get("status") not in statuses:
            problems.append("status %r is not one of the contract's" % j.get("status"))
        if j.get("backend") != backend:
            problems.append("backend %r, expected %r" % (j.get("backend"), backend))
        if j.get("isolation") != isolation:
            problems.append("isolation %r, expected %r" % (j.get("isolation"), isolation))
        for s in ("stdout", "stderr"):
            if len((j.get(s) or "").encode()) > 64 * 1024:
                problems.append("%s is over 64 KiB" % s)
if problems:
    for p in problems:
        print("sb_verify: %s: %s" % (out, p), file=sys.stderr)
    sys.exit(1)
EOF
    sb_no_uid_left || return 1
    sb_alive "$SB_CANARY" || { echo "sb_verify: $1: the host canary died" >&2; return 1; }
}

# sb_run CASE [--as OUT] [OPTION...]: sb_exec, then sb_verify. OUT defaults
# to CASE.
sb_run() {
    sb_c=$1
    shift
    sb_o=$sb_c
    if [ "${1:-}" = --as ]; then
        sb_o=$2
        shift 2
    fi
    sb_exec "$sb_c" "$sb_o" "$@"
    sb_verify "$sb_o"
}

# sb_check OUT PYEXPR [ARG...]: the Python expression holds over the result
# of OUT, where j is the result, o its output, err its error ({} when null),
# a the list of ARGs and E the errno module. On failure prints the
# expression and the result's gist.
sb_check() {
    $SB_PY - "$@" <<'EOF'
import errno as E, json, sys
out, expr, a = sys.argv[1], sys.argv[2], sys.argv[3:]
j = json.load(open(out + ".json"))
o = j.get("output")
err = j.get("error") or {}
try:
    ok = eval(expr)
except Exception as e:
    ok = False
    print("sb_check: %s: %s raised %s: %s" % (out, expr, type(e).__name__, e), file=sys.stderr)
if not ok:
    print("sb_check: %s: false: %s" % (out, expr), file=sys.stderr)
    gist = {k: j.get(k) for k in ("status", "exit_code", "signal", "wall_ms", "truncated",
                                  "output", "error")}
    print("  result: " + json.dumps(gist)[:3000], file=sys.stderr)
    print("  stderr: " + (j.get("stderr") or "")[-600:], file=sys.stderr)
    sys.exit(1)
EOF
}

# sb_get OUT PYEXPR [ARG...]: prints the expression (names as in sb_check).
sb_get() {
    $SB_PY - "$@" <<'EOF'
import errno as E, json, sys
out, expr, a = sys.argv[1], sys.argv[2], sys.argv[3:]
j = json.load(open(out + ".json"))
o = j.get("output")
err = j.get("error") or {}
v = eval(expr)
print(json.dumps(v) if not isinstance(v, str) else v)
EOF
}

# sb_setup: the shared fixtures, and $SB_SKIP when the suite cannot run
# here. Call once, after setting SB_BACKEND.
sb_setup() {
    mkdir -m 0755 "$SB_HOST" || exit 1
    : >"$SB_HOST/pids"
    : >"$SB_HOST/uid-canaries"
    (umask 077 && echo "$SB_SECRET" >"$SB_SECRET_FILE")
    sb_spawn sleep 300
    SB_CANARY=$sb_pid
    if [ "$(id -u)" != 0 ]; then
        SB_SKIP="needs root (checks the payload's host uid $SB_UID)"
        return
    fi
    if ! command -v setpriv >/dev/null; then
        SB_SKIP="needs setpriv (util-linux)"
        return
    fi
    mkdir -m 0700 "$SB_USER_HOME" && chown "$SB_USER_UID:$SB_USER_UID" "$SB_USER_HOME"
}

# sb_sysctls: the host sysctls the sysctl case goes for, "name: value".
sb_sysctls() {
    for f in kernel/core_pattern kernel/modprobe kernel/hostname fs/suid_dumpable; do
        if [ -r "/proc/sys/$f" ]; then
            echo "$f: $(cat "/proc/sys/$f")"
        fi
    done
}

# sb_uid_running: some process of the sandbox's uid runs on the host.
sb_uid_running() {
    [ -n "$(sb_uid_procs)" ]
}
