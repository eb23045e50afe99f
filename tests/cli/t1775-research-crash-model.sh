#!/bin/sh
test_description='autodev research with a model: kill -9 after a paid reply (AUTODEV_CRASH_AT), then resume: the stored reply is used, the model is not called again (the loopback server counts the calls), its tokens counted once, the report that of an uninterrupted run'
. "$(dirname "$0")/test-lib.sh"

PY=/usr/bin/python3
GIT_ID="-c user.name=t -c user.email=t@t.invalid"
KEY=sk-test-openai-0123456789

$PY "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
export OPENAI_API_KEY=$KEY
unset AUTODEV_LLM AUTODEV_LLM_PRICES ANTHROPIC_API_KEY

mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
        'print("score: %d" % abs(X - 4))' >"$1/obj.py" &&
    git -C "$1" add obj.py && git -C "$1" $GIT_ID commit -qm init
}

# with CASE CMD...: CMD with the loopback model playing CASE.
with() {
    case_=$1
    shift
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=http://127.0.0.1:$port/case/$case_/v1 "$@"
}

# research CASE DIR: one iteration of a session on DIR.
research() {
    with "$1" "$AUTODEV_BIN" research run --repo "$2" --file obj.py --cmd "$PY obj.py" \
        --no-sandbox --metric score --iterations 1 --repeats 1
}

results() {
    $PY -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
print(json.dumps(r.get(sys.argv[2], {})))' "http://127.0.0.1:$port" "$1"
}

reset_server() {
    $PY -c 'import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_reset", data=b"", method="POST"))' \
        "http://127.0.0.1:$port"
}

sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

# norm ID: the session's report without ids, commits and paths.
norm() {
    wt=$(autodev research status $1 --json | json_get "j[\"worktree\"]") &&
    $PY - "$(dirname "$wt")/$1.report" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1] + "/report.json"))
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("session_id", "repo", "commit", "ms")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
print(json.dumps(strip(r), sort_keys=True, indent=1))
EOF
}

autodev init >/dev/null || exit 1

# crash CASE DIR POINT CALLS: the session killed at POINT, resumed; the server saw CALLS calls.
crash() {
    reset_server &&
    mkrepo "$2" &&
    { AUTODEV_CRASH_AT="$3" research "$1" "$2" >crash.out 2>&1; st=$?; } ;
    test "$st" = 137 || { echo "# not killed: exit status $st"; cat crash.out; return 1; }
    id=$(sid) &&
    results "$1" >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = "$4" &&
    with "$1" autodev research resume $id >resume.out &&
    results "$1" >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = "$4" &&
    test "$(json_get "j[\"mismatches\"]" <r.json)" = "[]" &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"status\"]" <s.json)" = completed &&
    test "$(json_get "len(j[\"iterations\"])" <s.json)" = 1 &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"calls\"]" <s.json)" = "$4" &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"replayed\"]" <s.json)" = "$4" &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    test -z "$(git -C "$wt" status --porcelain)" &&
    test "$(git -C "$wt" rev-parse HEAD)" = "$(json_get "j[\"best_commit\"]" <s.json)"
}

test_expect_success 'uninterrupted runs: the reports to compare with' '
    mkrepo ref1 && research research_improve ref1 >/dev/null &&
    norm $(sid) >improve.norm &&
    grep "\"tokens\": 600" improve.norm &&
    reset_server &&
    mkrepo ref2 && research research_retry ref2 >/dev/null &&
    norm $(sid) >retry.norm &&
    grep "\"tokens\": 1200" retry.norm
'

test_expect_success 'killed after the paid reply is stored, before the edit: no second call' '
    crash research_improve m1 research.edit.replied 1 &&
    norm $id >m1.norm && test_cmp improve.norm m1.norm
'

test_expect_success 'killed with the model edit applied, before its row: no second call' '
    crash research_improve m2 research.edit.applied 1 &&
    norm $id >m2.norm && test_cmp improve.norm m2.norm
'

test_expect_success 'killed after the retry reply: neither call is made again, both counted once' '
    crash research_retry m3 research.edit.replied:2 2 &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"tokens\"]" <s.json)" = 1200 &&
    norm $id >m3.norm && test_cmp retry.norm m3.norm
'

test_expect_success 'killed after the first reply of a retry: only the retry is asked' '
    crash_first() {
        reset_server && mkrepo m4 &&
        { AUTODEV_CRASH_AT=research.edit.replied research research_retry m4 >/dev/null 2>&1;
          test $? = 137; } &&
        id=$(sid) &&
        test "$(results research_retry | json_get "j[\"consumed\"]")" = 1 &&
        with research_retry autodev research resume $id >/dev/null &&
        results research_retry >r.json &&
        test "$(json_get "j[\"consumed\"]" <r.json)" = 2 &&
        test "$(json_get "j[\"mismatches\"]" <r.json)" = "[]"
    } &&
    crash_first &&
    norm $id >m4.norm && test_cmp retry.norm m4.norm
'

test_done
