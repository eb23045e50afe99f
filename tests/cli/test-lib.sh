# A small test library for autodev's black-box CLI tests, after git's
# t/test-lib.sh. A script sets test_description, sources this file, runs
# test_expect_success blocks and ends with test_done.
#
# Each script gets its own temporary directory (the current directory while
# tests run, also $HOME and $AUTODEV_HOME), removed at the end when every
# test passed and kept for a look otherwise. Output is TAP: "ok N - desc" or
# "not ok N - desc", then the plan "1..N". test_done exits 1 if any failed.
#
# The binary: $AUTODEV_BIN (set by tests/run-all.sh), else
# $AUTODEV_SRC/build-asan/autodev, else build-asan/ beside this directory.

set -u

TEST_LIB_DIR=$(cd "$(dirname "$0")" && pwd)
: "${AUTODEV_SRC:=$(cd "$TEST_LIB_DIR/../.." && pwd)}"
: "${AUTODEV_BIN:=$AUTODEV_SRC/build-asan/autodev}"
export AUTODEV_SRC AUTODEV_BIN

if [ ! -x "$AUTODEV_BIN" ]; then
    echo "Bail out! no autodev binary at '$AUTODEV_BIN' (set AUTODEV_BIN)"
    exit 1
fi

# A sanitizer report must fail the command that produced it, loudly.
: "${ASAN_OPTIONS:=abort_on_error=0:detect_leaks=1:exitcode=99}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1:exitcode=98}"
export ASAN_OPTIONS UBSAN_OPTIONS

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/autodev-test.XXXXXX") || exit 1
HOME=$TRASH/home
AUTODEV_HOME=$TRASH/home/autodev
TMPDIR=$TRASH/tmp
mkdir -p "$HOME" "$TMPDIR"
export HOME AUTODEV_HOME TMPDIR
unset AUTODEV_DB AUTODEV_TENANT AUTODEV_LOG AUTODEV_BUSY_TIMEOUT_MS
DB=$AUTODEV_HOME/autodev.db
cd "$TRASH" || exit 1

test_count=0
test_failed=0
test_verbose=${TEST_VERBOSE:-}

autodev() {
    "$AUTODEV_BIN" "$@"
}

say() {
    echo "# $*"
}

# Runs the shell code of a test in a subshell, so a failing command inside
# it ends that test only. The code runs with "set -e"-like chaining left to
# the test: write "a && b && c" as git's tests do.
test_run_() {
    (
        cd "$TRASH" || exit 1
        eval "$1"
    ) >"$TRASH/.out" 2>&1
}

test_expect_success() {
    test_count=$((test_count + 1))
    if test_run_ "$2"; then
        echo "ok $test_count - $1"
        [ -n "$test_verbose" ] && sed 's/^/#   /' "$TRASH/.out"
    else
        test_failed=$((test_failed + 1))
        echo "not ok $test_count - $1"
        sed 's/^/#   /' "$TRASH/.out"
    fi
    return 0
}

test_skip() {
    test_count=$((test_count + 1))
    echo "ok $test_count - $1 # SKIP $2"
}

# test_must_fail CMD...: CMD must exit 1 or 2 (a handled failure), not 0,
# not a signal, not a sanitizer report.
test_must_fail() {
    "$@"
    rc=$?
    case $rc in
    1|2) return 0 ;;
    0) echo "test_must_fail: '$*' succeeded" >&2 ;;
    *) echo "test_must_fail: '$*' exited with $rc (a crash?)" >&2 ;;
    esac
    return 1
}

# test_expect_code N CMD...: CMD must exit with status N.
test_expect_code() {
    want=$1
    shift
    "$@"
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "test_expect_code: '$*' exited with $rc, expected $want" >&2
        return 1
    fi
    return 0
}

test_cmp() {
    diff -u "$1" "$2"
}

# test_line_count FILE N: FILE has exactly N lines.
test_line_count() {
    n=$(wc -l <"$1")
    if [ "$n" -ne "$2" ]; then
        echo "test_line_count: '$1' has $n lines, expected $2:" >&2
        cat "$1" >&2
        return 1
    fi
    return 0
}

# test_one_error FILE PATTERN: FILE (a stderr capture) is one "autodev: " line
# matching the extended regular expression PATTERN.
test_one_error() {
    test_line_count "$1" 1 || return 1
    if ! grep -Eq "^autodev: .*$2" "$1"; then
        echo "test_one_error: expected 'autodev: ...$2', got:" >&2
        cat "$1" >&2
        return 1
    fi
    return 0
}

# json_get EXPR < JSON: prints the Python expression EXPR over the document j.
json_get() {
    /usr/bin/python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1"
}

# The number of episodes in the tenant, through the CLI.
episode_count() {
    autodev episode list --limit 10000 --json "$@" | json_get 'len(j)'
}

# Waits up to $2 seconds (default 30) for the shell condition $1 to hold.
wait_for() {
    tries=$(( ${2:-30} * 10 ))
    while [ "$tries" -gt 0 ]; do
        if eval "$1"; then
            return 0
        fi
        sleep 0.1
        tries=$((tries - 1))
    done
    echo "wait_for: timed out waiting for: $1" >&2
    return 1
}

test_done() {
    echo "1..$test_count"
    if [ "$test_failed" -eq 0 ]; then
        cd / && rm -rf "$TRASH"
        exit 0
    fi
    echo "# failed $test_failed of $test_count; left $TRASH for a look"
    exit 1
}
