#!/bin/sh
test_description='autodev research with a model: the loopback server plays it (research_* cases): a kept edit, one retry with feedback, a failed iteration, the prompt, the token/USD/spark budgets'
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

# mkrepo DIR: a repository whose obj.py prints "score: |X - 4|", X = 10 in an EVOLVE block.
mkrepo() {
    mkdir "$1" && git -C "$1" init -q &&
    printf '%s\n' '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' \
        'print("score: %d" % abs(X - 4))' >"$1/obj.py" &&
    git -C "$1" add obj.py && git -C "$1" $GIT_ID commit -qm init
}

# research CASE ARGS...: research run with the loopback model playing CASE.
research() {
    case_=$1
    shift
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=http://127.0.0.1:$port/case/$case_/v1 \
        autodev research run "$@"
}

# results CASE: what the server got for CASE, as JSON.
results() {
    $PY -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
print(json.dumps(r.get(sys.argv[2], {})))' "http://127.0.0.1:$port" "$1"
}

sid() {
    autodev research list --json | json_get 'j[0]["id"]'
}

decisions() {
    autodev research status "$1" --json | json_get '" ".join(i["decision"] for i in j["iterations"])'
}

autodev init >/dev/null || exit 1

test_expect_success 'the model edit that improves the metric is kept, its hypothesis, tokens and cost recorded' '
    mkrepo keep &&
    research research_improve --repo keep --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 1 --repeats 1 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = kept &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"best\"]" <s.json)" = 1.0 &&
    json_get "j[\"iterations\"][0][\"hypothesis\"]" <s.json | grep "^X nearer to 4 lowers" &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"proposer\"]" <s.json)" = model &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"tokens\"]" <s.json)" = 600 &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"calls\"]" <s.json)" = 1 &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    grep "^X = 5$" "$wt/obj.py" &&
    git -C "$wt" log -1 --format=%B | grep "X nearer to 4" &&
    results research_improve >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = 1 &&
    test "$(json_get "j[\"mismatches\"]" <r.json)" = "[]" &&
    report=$(dirname "$wt")/$id.report &&
    test "$(json_get "j[\"cost\"][\"tokens\"]" <"$report/report.json")" = 600 &&
    grep "^Model: 600 tokens" "$report/report.md" &&
    grep "^Stopped by: iterations" "$report/report.md"
'

test_expect_success 'the prompt carries the goal, the target file and the rules, never the key' '
    json_get "j[\"requests\"][0][\"messages\"][1][\"content\"]" <r.json >prompt &&
    grep "make the metric .score. lower" prompt &&
    grep "^Baseline: 6" prompt &&
    grep "^X = 10$" prompt &&
    grep "^- tests/$" prompt &&
    json_get "j[\"requests\"][0][\"messages\"][0][\"content\"]" <r.json | grep "exactly ONE" &&
    ! json_get "j[\"requests\"]" <r.json | grep -F "$KEY"
'

test_expect_success 'a SEARCH that does not match is retried once with the feedback, then kept' '
    mkrepo retry &&
    research research_retry --repo retry --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 1 --repeats 1 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = kept &&
    results research_retry >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = 2 &&
    test "$(json_get "j[\"mismatches\"]" <r.json)" = "[]" &&
    json_get "j[\"requests\"][1][\"messages\"][3][\"content\"]" <r.json >fb &&
    grep "^Your edit did not apply" fb &&
    grep "^    X = 11$" fb && grep "was not found in the file" fb &&
    json_get "j[\"requests\"][1][\"messages\"][2][\"content\"]" <r.json | grep "X = 11" &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"retried\"]" <s.json)" = true &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"tokens\"]" <s.json)" = 1200
'

test_expect_success 'an edit of a file that is not a target is fed back, and the file is untouched' '
    mkrepo wrong &&
    mkdir wrong/tests && echo "assert True" >wrong/tests/t.py &&
    git -C wrong add -A && git -C wrong $GIT_ID commit -qm tests &&
    research research_wrong_file --repo wrong --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 1 --repeats 1 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = kept &&
    results research_wrong_file >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = 2 &&
    json_get "j[\"requests\"][1][\"messages\"][3][\"content\"]" <r.json |
        grep "edits .tests/t.py., which is not a target file" &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    grep "^assert True$" "$wt/tests/t.py" &&
    test "$(git -C "$wt" diff --name-only HEAD~1)" = obj.py
'

test_expect_success 'a second failure to apply is a failed iteration; the worktree is untouched' '
    mkrepo twice &&
    research research_fail_twice --repo twice --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 1 --repeats 1 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = crashed &&
    grep "^#1 crashed .*did not apply after a retry" out &&
    results research_fail_twice >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = 2 &&
    autodev research status $id --json >s.json &&
    test "$(json_get "j[\"iterations\"][0][\"detail\"][\"tokens\"]" <s.json)" = 1200 &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    cmp twice/obj.py "$wt/obj.py" &&
    test -z "$(git -C "$wt" status --porcelain)"
'

test_expect_success 'a token budget stops the loop at an iteration boundary; the next prompt holds history, best and dead ends' '
    mkrepo budget &&
    research research_budget --repo budget --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 10 --repeats 1 --token-budget 1000 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = "reverted reverted" &&
    autodev research status $id --json >s.json &&
    wt=$(json_get "j[\"worktree\"]" <s.json) &&
    report=$(dirname "$wt")/$id.report &&
    test "$(json_get "j[\"stopped_by\"]" <"$report/report.json")" = token_budget &&
    test "$(json_get "j[\"cost\"][\"tokens\"]" <"$report/report.json")" = 1200 &&
    grep "^Stopped by: token_budget" "$report/report.md" &&
    results research_budget >r.json &&
    test "$(json_get "j[\"consumed\"]" <r.json)" = 2 &&
    json_get "j[\"requests\"][1][\"messages\"][1][\"content\"]" <r.json >prompt2 &&
    grep "^#1 reverted score=6: a comment changes nothing" prompt2 &&
    grep "Best so far: 6" prompt2 &&
    sed -n "/^Dead ends/,\$p" prompt2 | grep "^- a comment changes nothing" &&
    ! json_get "j[\"requests\"]" <r.json | grep -F "$KEY"
'

test_expect_success 'a USD budget and the spark budget stop the loop too' '
    mkrepo usd &&
    research research_budget --repo usd --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 10 --repeats 1 --usd-budget 0.0000001 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = reverted &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    test "$(json_get "j[\"stopped_by\"]" <"$(dirname "$wt")/$id.report/report.json")" = usd_budget &&
    mkrepo spark &&
    research research_budget --repo spark --file obj.py --cmd "$PY obj.py" --metric score \
        --iterations 10 --repeats 1 --spark-budget 10 --spark-per-iteration 4 >out &&
    id=$(sid) &&
    test "$(decisions $id)" = "reverted reverted" &&
    wt=$(autodev research status $id --json | json_get "j[\"worktree\"]") &&
    report=$(dirname "$wt")/$id.report &&
    test "$(json_get "j[\"stopped_by\"]" <"$report/report.json")" = spark_budget &&
    test "$(json_get "j[\"cost\"][\"spark_consumed\"]" <"$report/report.json")" = 8 &&
    grep "^Spark: 8 consumed of 10" "$report/report.md"
'

test_expect_success 'without a model (or only offline) the offline mutator edits; bad budgets are usage errors' '
    mkrepo off &&
    AUTODEV_LLM=offline autodev research run --repo off --file obj.py --cmd "$PY obj.py" \
        --metric score --iterations 1 --repeats 1 >out &&
    test "$(autodev research status $(sid) --json | json_get "j[\"iterations\"][0][\"detail\"][\"proposer\"]")" = offline &&
    test_expect_code 2 autodev research run --repo off --file obj.py --cmd "$PY obj.py" \
        --metric score --token-budget -1 &&
    test_expect_code 2 autodev research run --repo off --file obj.py --cmd "$PY obj.py" \
        --metric score --usd-budget abc
'

test_done
