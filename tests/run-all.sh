#!/bin/sh
# Runs every test of autodev and prints one closing line:
#   N passed, N failed[, N skipped]
#
# Usage: tests/run-all.sh BUILD_DIR
#
# Unit tests are cmocka binaries run with TAP output; CLI tests are shell
# scripts over tests/cli/test-lib.sh, which also speak TAP. A line "ok N -"
# counts as passed, "not ok N -" as failed, "ok N - ... # SKIP" (and
# cmocka's "not ok N # SKIP") as skipped.
# A program that exits non-zero without reporting a failure (a crash, a
# sanitizer report, a script error) counts as one more failure.
set -u
build=${1:?usage: tests/run-all.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)

export AUTODEV_BIN="$build/autodev"
export AUTODEV_BUILD="$build"
export AUTODEV_SRC="$top"
export CMOCKA_MESSAGE_OUTPUT=TAP
# Sanitizer reports must fail the run; keep them readable.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}"
# Never let a developer's environment leak into tests.
unset AUTODEV_HOME AUTODEV_DB AUTODEV_TENANT OPENAI_API_KEY ANTHROPIC_API_KEY

passed=0
failed=0
skipped=0
log=$(mktemp)
# A throwaway PostgreSQL cluster for the PostgreSQL tests (tests/pg/pg-start),
# started once and stopped at the end; when it cannot start, those tests skip
# and say why.
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/autodev-pg.XXXXXX")
trap 'rm -f "$log"; "$top/tests/pg/pg-stop" "$pgdir"' EXIT
if pgenv=$("$top/tests/pg/pg-start" "$pgdir" 2>"$log"); then
    eval "$pgenv"
    export AUTODEV_TEST_PG AUTODEV_TEST_PG_APP
else
    echo "# PostgreSQL tests will skip: $(tail -n 3 "$log" | tr '\n' ' ')"
fi

run_one() {
    name=$1
    shift
    echo "# $name"
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    # cmocka reports a skipped test as "not ok N # SKIP", TAP scripts as
    # "ok N # SKIP": both are skips, neither a pass nor a failure.
    p=$(grep -cE '^ok [0-9]+' "$log" | head -n1)
    s=$(grep -cE '^(not )?ok [0-9]+.*# *(SKIP|skip)' "$log" | head -n1)
    sp=$(grep -cE '^ok [0-9]+.*# *(SKIP|skip)' "$log" | head -n1)
    f=$(grep -E '^not ok [0-9]+' "$log" | grep -cvE '# *(SKIP|skip)' | head -n1)
    p=$((p - sp))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name exited with status $rc without reporting a failure"
        f=1
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
        echo "not ok - $name ran no test"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}

for t in "$build"/tests/unit/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done

# Allocation-failure injection: one TAP line per operation and mode (tests/fault).
for t in "$build"/tests/fault/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    run_one "fault/$(basename "$t")" "$t"
done

# Fuzz drivers built without libFuzzer replay the stored corpus.
for t in "$build"/fuzz/fuzz_*_replay; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    name=$(basename "$t" _replay)
    run_one "fuzz/$name" "$t" "$top/fuzz/corpus/${name#fuzz_}"
done

for t in "$top"/tests/cli/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "cli/$(basename "$t")" sh "$t"
done

# The HTTP server, started for real on an ephemeral loopback port (tests/server/lib.sh).
for t in "$top"/tests/server/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "server/$(basename "$t")" sh "$t"
done

# PostgreSQL scale-out and the server against PostgreSQL (tests/pg/lib.sh): each
# script skips, saying why, when the throwaway cluster above could not start.
if [ -z "${AUTODEV_TEST_PG:-}" ]; then
    echo "# pg/*: skipped: no PostgreSQL cluster (tests/pg/pg-start failed, see above)"
fi
for t in "$top"/tests/pg/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "pg/$(basename "$t")" sh "$t"
done

# The review web UI in headless Chromium (tests/browser): each script skips,
# saying why, when chromium or node cannot run.
for t in "$top"/tests/browser/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "browser/$(basename "$t")" sh "$t"
done

for t in "$top"/tests/sandbox/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "sandbox/$(basename "$t")" sh "$t"
done

# The MCP server on stdio: raw protocol lines, and the official TypeScript SDK's
# client (t1961 runs npm ci when tests/mcp/node_modules is missing, and skips,
# saying why, only when node cannot run).
for t in "$top"/tests/mcp/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "mcp/$(basename "$t")" sh "$t"
done

# skill export against the Agent Skills reference validator, npm skills-ref
# (t2041 runs npm ci when tests/skills-ref/node_modules is missing, and skips,
# saying why, only when node or npm cannot run).
for t in "$top"/tests/skills-ref/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    run_one "skills-ref/$(basename "$t")" sh "$t"
done

# The loopback LLM server checks itself before the llm tests lean on it.
run_one "llm/selftest.sh" bash "$top/tests/llm/selftest.sh"

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
