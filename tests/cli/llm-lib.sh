# The loopback model of tests/llm/ for the agent-loop tests (sourced after
# test-lib.sh): starts tests/llm/llmserver.py on every case, points the
# openai provider at it, and gives helpers over its /_results log.
/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
base="http://127.0.0.1:$port/case"
export OPENAI_API_KEY=sk-test-openai-0123456789 AUTODEV_LLM=openai:gpt-4o-mini
unset AUTODEV_LLM_PRICES ANTHROPIC_API_KEY

# case_ok CASE N: the case got exactly N requests, each as expected.
case_ok() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
c = r.get(sys.argv[2], {})
ok = c.get("consumed") == int(sys.argv[3]) and not c.get("mismatches")
if not ok:
    print("case %s: consumed %s, want %s; mismatches %s" % (sys.argv[2], c.get("consumed"),
          sys.argv[3], c.get("mismatches")), file=sys.stderr)
sys.exit(0 if ok else 1)' "http://127.0.0.1:$port" "$1" "$2"
}

# request CASE I: the I-th request body (0-based) the case received.
request() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
print(json.dumps(r[sys.argv[2]]["requests"][int(sys.argv[3])]))' "http://127.0.0.1:$port" "$1" "$2"
}

reset_llm() {
    /usr/bin/python3 -c 'import urllib.request, sys
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_reset", data=b""))' \
        "http://127.0.0.1:$port"
}

with_case() {
    c=$1
    shift
    OPENAI_BASE_URL=$base/$c/v1 "$@"
}

# The session of the newest run, with its transcript, as JSON.
last_session() {
    autodev agent sessions bot --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/sid" &&
    autodev agent sessions bot --show "$(cat "$TRASH/sid")" --json
}
