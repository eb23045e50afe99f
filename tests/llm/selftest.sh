#!/bin/bash
# Self-test of the loopback LLM server, tests/llm/llmserver.py: starts it on
# an ephemeral port, drives cases with curl(1) and checks what it answered
# and what GET /_results recorded. Output is TAP ("ok N - ...", then "1..N");
# exits 1 if any test failed. Needs only bash, curl and /usr/bin/python3 (no
# autodev binary), so it does not use tests/cli/test-lib.sh.
#
# Usage: bash tests/llm/selftest.sh    (TEST_VERBOSE=1 shows each test's output)

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
SERVER=$HERE/llmserver.py
CASES=$HERE/cases
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/llmserver-selftest.XXXXXX") || exit 1
PIDS=

test_count=0
test_failed=0

cleanup() {
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null
    done
    if [ "$test_failed" -eq 0 ]; then
        rm -rf "$TRASH"
    fi
}
trap cleanup EXIT

if ! command -v curl >/dev/null 2>&1; then
    echo "1..0 # SKIP curl(1) is not installed"
    exit 0
fi

# No request may hang the suite (a framing bug would): every curl call gets
# a time limit, which a later --max-time in its arguments overrides.
curl() {
    command curl --max-time 20 "$@"
}

# start_server NAME [ARGS...]: starts a server, sets $BASE to its URL.
start_server() {
    name=$1
    shift
    "$PY" "$SERVER" --cases "$CASES" --port 0 --port-file "$TRASH/$name.port" "$@" \
        >"$TRASH/$name.out" 2>"$TRASH/$name.err" &
    PIDS="$PIDS $!"
    tries=100
    while [ ! -s "$TRASH/$name.port" ] && [ "$tries" -gt 0 ]; do
        sleep 0.1
        tries=$((tries - 1))
    done
    if [ ! -s "$TRASH/$name.port" ]; then
        echo "Bail out! llmserver did not start:"
        sed 's/^/# /' "$TRASH/$name.err"
        exit 1
    fi
    BASE=http://127.0.0.1:$(cat "$TRASH/$name.port")
}

test_expect_success() {
    test_count=$((test_count + 1))
    if (cd "$TRASH" && eval "$2") >"$TRASH/.out" 2>&1; then
        echo "ok $test_count - $1"
        [ -n "${TEST_VERBOSE:-}" ] && sed 's/^/#   /' "$TRASH/.out"
    else
        test_failed=$((test_failed + 1))
        echo "not ok $test_count - $1"
        sed 's/^/#   /' "$TRASH/.out"
    fi
    return 0
}

# json_check FILE EXPR: the Python expression EXPR over the JSON document j
# in FILE is true; prints the document otherwise.
json_check() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    print("json_check failed: " + sys.argv[2])
    print(json.dumps(j, indent=1)[:4000])
    sys.exit(1)
EOF
}

results() {
    curl -sS "$BASE/_results" >results.json
}

reset() {
    curl -sS -X POST "$BASE/_reset" >/dev/null
}

OA_KEY=sk-test-openai-0123456789
AN_KEY=sk-ant-test-0123456789
SUCCESS_BODY='{"model":"gpt-4o-mini","max_tokens":1024,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello."}]}'

# openai CASE BODY [CURL ARGS...]: a Chat Completions request as the client
# sends it; the reply body goes to stdout.
openai() {
    c=$1
    b=$2
    shift 2
    curl -sS "$BASE/case/$c/v1/chat/completions" -H "authorization: Bearer $OA_KEY" \
        -H 'content-type: application/json' --data-binary "$b" "$@"
}

anthropic() {
    c=$1
    b=$2
    shift 2
    curl -sS "$BASE/case/$c/v1/messages" -H "x-api-key: $AN_KEY" \
        -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \
        --data-binary "$b" "$@"
}

start_server main
MAIN=$BASE

test_expect_success 'every case file passes the linter' '
    "$PY" "$SERVER" --check "$CASES"
'

test_expect_success 'it says where it listens, and /_health answers ok' '
    grep -qx "listening ${BASE##*:}" main.out &&
    test "$(curl -sS "$BASE/_health")" = ok
'

test_expect_success 'a matching request gets the reply and no mismatch' '
    reset &&
    openai openai_success "$SUCCESS_BODY" -D hdr >body &&
    grep -qi "^x-request-id: req_openai_success_1" hdr &&
    json_check body "j[\"object\"] == \"chat.completion\" and j[\"choices\"][0][\"message\"][\"content\"] == \"Hello!\"" &&
    results &&
    json_check results.json "j[\"openai_success\"][\"consumed\"] == 1 and j[\"openai_success\"][\"total\"] == 1" &&
    json_check results.json "j[\"openai_success\"][\"mismatches\"] == []" &&
    json_check results.json "j[\"openai_success\"][\"requests\"][0][\"model\"] == \"gpt-4o-mini\""
'

test_expect_success 'a mismatching request is still answered and the differences recorded' '
    reset &&
    body=$(echo "$SUCCESS_BODY" | sed "s/gpt-4o-mini/gpt-4o/; s/1024/512/") &&
    curl -sS "$BASE/case/openai_success/v1/chat/completions" -H "x-api-key: oops" \
        -H "content-type: application/json" --data-binary "$body" -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 200 &&
    results &&
    json_check results.json "\"exchange 1: body field '"'"'model'"'"': expected \\\"gpt-4o-mini\\\", got \\\"gpt-4o\\\"\" in j[\"openai_success\"][\"mismatches\"]" &&
    json_check results.json "\"exchange 1: body field '"'"'max_tokens'"'"': expected 1024, got 512\" in j[\"openai_success\"][\"mismatches\"]" &&
    json_check results.json "any(\"header '"'"'authorization'"'"'\" in m for m in j[\"openai_success\"][\"mismatches\"])" &&
    json_check results.json "any(\"header '"'"'x-api-key'"'"' should be absent\" in m for m in j[\"openai_success\"][\"mismatches\"])"
'

test_expect_success 'body_absent, and strict types: true is not 1' '
    reset &&
    openai openai_max_completion_tokens "{\"model\":\"o3-mini\",\"max_tokens\":256,\"max_completion_tokens\":256}" >/dev/null &&
    openai openai_stream "{\"model\":\"gpt-4o-mini\",\"stream\":1,\"stream_options\":{\"include_usage\":true},\"messages\":[{},{\"content\":\"Say hello.\"}]}" >/dev/null &&
    results &&
    json_check results.json "j[\"openai_max_completion_tokens\"][\"mismatches\"] == [\"exchange 1: body field '"'"'max_tokens'"'"' should be absent, got 256\"]" &&
    json_check results.json "j[\"openai_stream\"][\"mismatches\"] == [\"exchange 1: body field '"'"'stream'"'"': expected true, got 1\"]"
'

test_expect_success 'OpenAI SSE: chunked, one data line per event, usage chunk, [DONE] last' '
    reset &&
    openai openai_stream "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},{\"role\":\"user\",\"content\":\"Say hello.\"}]}" \
        -N -D hdr >stream &&
    grep -qi "^transfer-encoding: chunked" hdr &&
    grep -qi "^content-type: text/event-stream" hdr &&
    test "$(grep -c "^data: " stream)" = 7 &&
    test "$(grep -c "^\$" stream)" = 7 &&
    test "$(grep -v "^\$" stream | tail -n1)" = "data: [DONE]" &&
    "$PY" -c "
import json, sys
ev = [l[6:] for l in open(\"stream\") if l.startswith(\"data: \")][:-1]
ch = [json.loads(e) for e in ev]
assert all(c[\"object\"] == \"chat.completion.chunk\" for c in ch)
assert \"\".join(c[\"choices\"][0][\"delta\"].get(\"content\") or \"\" for c in ch if c[\"choices\"]) == \"Hello world\"
assert ch[-1][\"choices\"] == [] and ch[-1][\"usage\"][\"total_tokens\"] == 22
" &&
    results && json_check results.json "j[\"openai_stream\"][\"mismatches\"] == []"
'

test_expect_success 'Anthropic SSE: event names agree with data types, in the documented order' '
    reset &&
    anthropic anthropic_stream "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"stream\":true,\"system\":\"You are terse.\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]}" \
        -N >stream &&
    "$PY" -c "
import json
blocks = open(\"stream\").read().split(\"\n\n\")
assert blocks[-1] == \"\", blocks[-1]
names = []
for b in blocks[:-1]:
    ev, data = b.split(\"\n\")
    assert ev.startswith(\"event: \") and data.startswith(\"data: \")
    assert json.loads(data[6:])[\"type\"] == ev[7:]
    names.append(ev[7:])
assert names[0] == \"message_start\" and names[-2:] == [\"message_delta\", \"message_stop\"], names
assert \"ping\" in names
" &&
    results && json_check results.json "j[\"anthropic_stream\"][\"mismatches\"] == []"
'

test_expect_success 'truncate: the full Content-Length, a short body, then the connection closes' '
    reset &&
    test_code=0 &&
    openai openai_truncated "$SUCCESS_BODY" -D hdr -o body || test_code=$? &&
    test "$test_code" = 18 &&
    test "$(wc -c <body)" = 40 &&
    len=$(tr -d "\r" <hdr | sed -n "s/^[Cc]ontent-[Ll]ength: //p") &&
    test "$len" -gt 40
'

test_expect_success 'drop: no reply at all, then the next exchange answers' '
    reset &&
    test_code=0 &&
    openai openai_connection_drop_then_ok "$SUCCESS_BODY" -o body || test_code=$? &&
    test "$test_code" = 52 &&
    openai openai_connection_drop_then_ok "$SUCCESS_BODY" >body &&
    json_check body "j[\"choices\"][0][\"message\"][\"content\"] == \"Hello!\"" &&
    results &&
    json_check results.json "j[\"openai_connection_drop_then_ok\"][\"consumed\"] == 2 and j[\"openai_connection_drop_then_ok\"][\"mismatches\"] == []"
'

test_expect_success 'retry-after headers and error bodies as the providers send them' '
    reset &&
    openai openai_429_retry_after "$SUCCESS_BODY" -D hdr -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 429 &&
    grep -qi "^retry-after: 1" hdr &&
    json_check body "j[\"error\"][\"code\"] == \"rate_limit_exceeded\" and j[\"error\"][\"param\"] is None" &&
    openai openai_429_retry_after "$SUCCESS_BODY" -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 200 &&
    anthropic anthropic_529_overloaded "{\"model\":\"claude-sonnet-4-5\"}" -D hdr -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 529 &&
    grep -qi "^request-id: req_anthropic_529_1" hdr &&
    json_check body "j[\"type\"] == \"error\" and j[\"error\"][\"type\"] == \"overloaded_error\""
'

test_expect_success 'a request past the last exchange: 500 and a mismatch' '
    reset &&
    openai openai_quota "$SUCCESS_BODY" -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 429 &&
    json_check body "j[\"error\"][\"code\"] == \"insufficient_quota\"" &&
    openai openai_quota "$SUCCESS_BODY" -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 500 &&
    json_check body "j[\"error\"][\"type\"] == \"server_error\"" &&
    results &&
    json_check results.json "j[\"openai_quota\"][\"consumed\"] == 2 and j[\"openai_quota\"][\"total\"] == 1" &&
    json_check results.json "j[\"openai_quota\"][\"mismatches\"] == [\"exchange 2: unexpected request POST /v1/chat/completions (the case has 1)\"]"
'

test_expect_success 'repeat_last answers every further request the same' '
    reset &&
    for i in 1 2 3 4; do
        openai bench_openai "{\"model\":\"m\"}" -o body -w "%{http_code}\n" || exit 1
    done >codes &&
    test "$(sort -u codes)" = 200 &&
    results &&
    json_check results.json "j[\"bench_openai\"][\"consumed\"] == 4 and j[\"bench_openai\"][\"mismatches\"] == []"
'

test_expect_success 'an unknown case: 404 and a mismatch under its name' '
    reset &&
    openai no_such_case "{}" -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 404 &&
    results &&
    json_check results.json "j[\"no_such_case\"][\"mismatches\"] == [\"unknown case '"'"'no_such_case'"'"'\"]" &&
    openai ../etc/passwd "{}" -o body -w "%{http_code}" >code &&
    test "$(cat code)" = 404
'

test_expect_success 'delay_ms holds the reply back (a client timeout fires first)' '
    reset &&
    test_code=0 &&
    openai openai_slow "$SUCCESS_BODY" --max-time 0.5 -o body || test_code=$? &&
    test "$test_code" = 28
'

test_expect_success '/_reset forgets counters and logs; /_results?case= filters' '
    openai bench_openai "{}" -o /dev/null &&
    openai openai_success "$SUCCESS_BODY" -o /dev/null &&
    curl -sS "$BASE/_results?case=bench_openai" >results.json &&
    json_check results.json "list(j) == [\"bench_openai\"]" &&
    reset && results && json_check results.json "j == {}"
'

test_expect_success 'bad requests do not hurt it: garbage, HEAD, an oversized body' '
    printf "NOT HTTP AT ALL\r\n\r\n" | curl -sS --max-time 5 telnet://127.0.0.1:${BASE##*:} >/dev/null 2>&1
    curl -sS -I "$BASE/case/bench_openai/v1/chat/completions" -o hdr &&
    grep -q "^HTTP/1.1 200" hdr &&
    head -c $((17 * 1024 * 1024)) /dev/zero >big &&
    curl -sS "$BASE/case/bench_openai/v1/chat/completions" --data-binary @big -o /dev/null -w "%{http_code}" >code &&
    test "$(cat code)" = 413 &&
    test "$(curl -sS "$BASE/_health")" = ok
'

start_server slow --latency-ms 200
test_expect_success '--latency-ms: 24 concurrent requests are all answered' '
    for i in $(seq 24); do
        curl -sS "$BASE/case/bench_openai/v1/chat/completions" --data-binary "{\"model\":\"m\",\"n\":$i}" \
            -o /dev/null -w "%{http_code}\n" &
    done >codes &&
    wait &&
    test "$(wc -l <codes)" = 24 &&
    test "$(sort -u codes)" = 200 &&
    results &&
    json_check results.json "j[\"bench_openai\"][\"consumed\"] == 24 and j[\"bench_openai\"][\"mismatches\"] == []"
'
BASE=$MAIN

echo "1..$test_count"
if [ "$test_failed" -ne 0 ]; then
    echo "# failed $test_failed of $test_count; left $TRASH for a look"
    exit 1
fi
exit 0
