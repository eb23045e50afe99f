#!/bin/sh
# bench/bench_http.sh AUTODEV [SECONDS | --quick] [CONNECTIONS]
#
# The HTTP server under wrk on loopback: GET /v1/skills (a page of 20
# skills, served from the page cache after the first request), GET
# /v1/episodes (a page of 20, which no cache serves) and POST /v1/episodes
# (one episode a request), requests a second and p50/p99 latency; then
# `autodev episode add` through the CLI (a process per episode) for
# comparison. A benchmark measures, it asserts nothing.
# wrk and the server share the machine's cores, as a client on the same
# host would.
set -eu
bin=${1:?usage: bench/bench_http.sh AUTODEV [SECONDS | --quick] [CONNECTIONS]}
secs=${2:-10}
[ "$secs" = --quick ] && secs=3
conns=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "bench_http: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

home=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
export AUTODEV_HOME="$home"
unset AUTODEV_DB AUTODEV_TENANT AUTODEV_LLM
pid=
trap 'test -n "$pid" && kill "$pid" 2>/dev/null; rm -rf "$home"' EXIT

"$bin" init >/dev/null
"$bin" agent add bench-agent >/dev/null
/usr/bin/python3 -c 'import json
for i in range(100):
    print(json.dumps({"agent": "bench-agent", "task_description": "seed %d" % i, "success": True}))' |
    "$bin" episode add --batch >/dev/null
for i in $(seq -w 1 20); do
    printf 'def skill_%s(text: str) -> str:\n    """Bench skill %s: returns the text."""\n    return text\n' \
        "$i" "$i" >"$home/s.py"
    "$bin" skill add "$home/s.py" --name "skill_$i" --entry "skill_$i" >/dev/null
done
tok=$("$bin" token create --role admin --name bench 2>/dev/null)

"$bin" serve --listen 127.0.0.1:0 --port-file "$home/port" --workers 0 --rate-limit 0 \
    --threads 2 --max-connections 1024 2>"$home/serve.err" &
pid=$!
for _ in $(seq 100); do test -s "$home/port" && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$home/port")"

# run NAME WRK-ARGS...: one wrk run; prints "NAME  req/s  p50  p99".
run() {
    name=$1
    shift
    wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $tok" "$@" >"$home/wrk.out"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$home/wrk.out")
    p50=$(awk '$1 == "50%" { print $2 }' "$home/wrk.out")
    p99=$(awk '$1 == "99%" { print $2 }' "$home/wrk.out")
    errs=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$home/wrk.out")
    printf '%-34s %10s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$rps" "$p50" "$p99" \
        "${errs:-0}"
}

echo "bench_http: wrk -t2 -c$conns -d${secs}s on loopback, 2 HTTP threads"
run "GET /v1/skills (20 skills)" "$base/v1/skills"
run "GET /v1/episodes?limit=20 (no cache)" "$base/v1/episodes?limit=20"
run "POST /v1/episodes" -s "$here/bench_http.lua" "$base/v1/episodes"
kill -TERM "$pid" && wait "$pid" || true
pid=
recorded=$("$bin" episode list --limit 10000 --json | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
echo "bench_http: episodes in the store after the POST run: $recorded (at most 10000 counted)"

# The CLI for comparison: one process per episode, as a script would call it.
n=300
start=$(date +%s%N)
i=0
while [ "$i" -lt "$n" ]; do
    echo '{"agent": "bench-agent", "task_description": "cli task", "success": true}' |
        "$bin" episode add >/dev/null
    i=$((i + 1))
done
end=$(date +%s%N)
printf '%-34s %10s episodes/s (%d processes)\n' "autodev episode add (CLI)" \
    "$(/usr/bin/python3 -c "print('%.1f' % ($n / (($end - $start) / 1e9)))")" "$n"
