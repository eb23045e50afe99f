#!/bin/sh
# bench/bench_pg.sh BUILD [--quick]
#
# PostgreSQL beside SQLite in one run: starts a throwaway cluster
# (tests/pg/pg-start: unix socket, fsync off as in the tests), then
#   1. BUILD/bench/bench_pg on a SQLite file and on a PostgreSQL schema:
#      a fixture of 1,000,000 episodes made by SQL, ingest through the
#      store at that size, the recent-failures query over them, claim
#      throughput with 1, 2 and 4 workers (bench_pg.c); then, on
#      PostgreSQL, ingest and claims with and without the data version's
#      triggers (--no-triggers), to show what they cost writers;
#   2. GET /v1/skills (20 skills) under wrk against `autodev serve` on
#      each backend (2 HTTP threads, 32 connections, 10 s); on PostgreSQL
#      twice: with the data version off (AUTODEV_PG_DATA_VERSION=off: no
#      page cache, as before issue 22's listener) and on.
# A benchmark measures; it asserts nothing. BUILD must be a build with
# -Dbench=true (a release build: `meson setup build-bench --buildtype=release
# -Dbench=true`).
set -eu
build=$(cd "${1:?usage: bench/bench_pg.sh BUILD [--quick]}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
bin="$build/autodev"
args=
secs=10
if [ "${2:-}" = --quick ]; then
    args="--episodes 10000 --total 100000 --reps 200 --jobs 500"
    secs=3
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-pg.XXXXXX")
chmod 755 "$work"
pid=
trap 'test -n "$pid" && kill "$pid" 2>/dev/null; "$here/../tests/pg/pg-stop" "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
eval "$("$here/../tests/pg/pg-start" "$work/pg")"
psql=
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/psql" ] && psql="$d/psql"; done
pgurl() { # SCHEMA: the owner's URL on a new schema
    "$psql" -X -q -h "$AUTODEV_TEST_PG_DIR" -U postgres -d autodev \
        -c "CREATE SCHEMA $1 AUTHORIZATION autodev_owner" >/dev/null
    echo "$AUTODEV_TEST_PG&options=-csearch_path%3D$1"
}
echo "bench_pg: $(nproc) cores; PostgreSQL $("$psql" --version | awk '{ print $3 }'), unix socket, fsync off"

echo "== SQLite (file in $work) =="
"$build/bench/bench_pg" "$work/bench.db" $args
echo "== PostgreSQL =="
"$build/bench/bench_pg" "$(pgurl bench_store)" $args
# What the data version's triggers cost writers: without the fixture, with
# them and without them (--no-triggers), one after the other.
ab="--episodes 10000 --total 0 --reps 100 --jobs 1000"
[ "${2:-}" = --quick ] && ab="--episodes 5000 --total 0 --reps 100 --jobs 500"
echo "== PostgreSQL, writers with and without the data version's triggers =="
"$build/bench/bench_pg" "$(pgurl bench_ab_on)" $ab | grep -v '^recent'
"$build/bench/bench_pg" "$(pgurl bench_ab_off)" $ab --no-triggers | grep -v '^recent'

# GET /v1/skills on each backend.
skills() { # NAME DB [DATA_VERSION]
    export AUTODEV_HOME="$work/home-$1" AUTODEV_DB="$2"
    if [ -n "${3:-}" ]; then export AUTODEV_PG_DATA_VERSION="$3"; else unset AUTODEV_PG_DATA_VERSION; fi
    mkdir -p "$AUTODEV_HOME"
    "$bin" init >/dev/null
    for i in $(seq -w 1 20); do
        printf 'def skill_%s(text: str) -> str:\n    """Bench skill %s."""\n    return text\n' \
            "$i" "$i" >"$work/s.py"
        "$bin" skill add "$work/s.py" --name "skill_$i" --entry "skill_$i" >/dev/null
    done
    tok=$("$bin" token create --role admin --name bench 2>/dev/null)
    rm -f "$work/port"
    "$bin" serve --listen 127.0.0.1:0 --port-file "$work/port" --workers 0 --rate-limit 0 \
        --threads 2 --max-connections 1024 2>"$work/serve.err" &
    pid=$!
    for _ in $(seq 100); do test -s "$work/port" && break; sleep 0.1; done
    wrk -t2 -c32 -d"${secs}s" --latency -H "Authorization: Bearer $tok" \
        "http://127.0.0.1:$(cat "$work/port")/v1/skills" >"$work/wrk.out"
    printf 'GET /v1/skills (20 skills), %-22s %10s req/s   p50 %-9s p99 %s\n' "$1:" \
        "$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.out")" \
        "$(awk '$1 == "50%" { print $2 }' "$work/wrk.out")" \
        "$(awk '$1 == "99%" { print $2 }' "$work/wrk.out")"
    kill -TERM "$pid" && wait "$pid" || true
    pid=
}
if command -v wrk >/dev/null; then
    skills sqlite "$work/home-sqlite/autodev.db"
    skills postgres-cache-off "$(pgurl bench_http_off)" off
    skills postgres "$(pgurl bench_http)"
else
    echo "bench_pg: wrk is not installed (apt-get install wrk): no GET /v1/skills figures"
fi
