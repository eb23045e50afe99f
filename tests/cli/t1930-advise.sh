#!/bin/sh
test_description='autodev advise: facts with known numbers, a suggested command that runs, --ai over the loopback model with the key masked, readiness notified once per level across job runs and workers'
. "$(dirname "$0")/test-lib.sh"

/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
export OPENAI_API_KEY=sk-test-openai-0123456789
unset AUTODEV_LLM AUTODEV_LLM_PRICES ANTHROPIC_API_KEY

# episodes AGENT N INTERVENTION SCORE: records N successful episodes.
episodes() {
    i=0
    while [ "$i" -lt "$2" ]; do
        i=$((i + 1))
        echo "{\"agent\": \"$1\", \"task_description\": \"chore $i\", \"success\": true," \
             "\"intervention\": $3, \"constitutional_score\": $4}"
    done | autodev episode add --batch >/dev/null
}

# fact KIND SUBJECT EXPR: EXPR over the fact (f) of that kind and subject in advise --json.
fact() {
    autodev advise --json ${AGENT:+--agent $AGENT} >"$TRASH/advice" &&
    /usr/bin/python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))
f = [f for f in a["facts"] if f["kind"] == sys.argv[2] and f["subject"] == sys.argv[3]]
print(eval(sys.argv[4]) if f else "none")' "$TRASH/advice" "$1" "$2" "${3:-f[0][\"severity\"]}"
}

ready_notes() {
    autodev notifications --type auto_dev_graduation_ready --json | json_get 'len(j)'
}

cat >"$TRASH/halve.py" <<'EOF'
def halve(n):
    """Half of an even number."""
    if n % 2:
        raise ValueError("odd")
    return n // 2
EOF

test_expect_success 'setup: agents at known distances from graduation, a skill that fails 6 of 10 runs' '
    autodev init >/dev/null &&
    autodev agent add ready >/dev/null && episodes ready 10 false 0.9 &&
    autodev agent add close >/dev/null && episodes close 7 false 0.9 &&
    autodev agent add far >/dev/null && episodes far 1 true 0.1 &&
    autodev agent add sup --maturity SUPERVISED >/dev/null &&
    autodev skill add "$TRASH/halve.py" --name halve --entry halve >/dev/null &&
    for n in 1 2 3 4 5 6 7 8 9 11; do
        autodev skill run halve --input "{\"n\": $n}" >/dev/null 2>&1 || :
    done
'

test_expect_success 'an empty workspace has nothing to say' '
    autodev --tenant empty settings set enabled false >/dev/null &&
    autodev --tenant empty advise >out &&
    grep -q "^advice: 0 high, 0 warn, 0 info$" out &&
    grep -q "^nothing in the store calls for action$" out
'

test_expect_success 'a skill failing 6 of its 10 runs is high, with the numbers and evolve' '
    test "$(fact skill_failure_rate halve "f[0][\"numbers\"][\"runs\"], f[0][\"numbers\"][\"failures\"], f[0][\"numbers\"][\"failure_rate\"], f[0][\"severity\"], f[0][\"command\"]")" = \
        "(10, 6, 0.6, '"'"'high'"'"', '"'"'autodev skill evolve halve'"'"')"
'

test_expect_success 'the ready agent is high with every criterion met; the close one shows its gaps' '
    test "$(fact graduation_ready ready "f[0][\"numbers\"][\"ready\"], f[0][\"numbers\"][\"episodes\"], f[0][\"command\"]")" = \
        "(True, 10, '"'"'autodev agent graduate ready'"'"')" &&
    test "$(fact graduation_close close "round(f[0][\"numbers\"][\"score\"], 2), f[0][\"severity\"]")" = "(0.88, '"'"'info'"'"')" &&
    fact graduation_close close "f[0][\"summary\"]" | grep -q "3 more episodes (7 of 10)" &&
    test "$(fact graduation_close far)" = none &&
    test "$(fact graduation_ready far)" = none
'

test_expect_success '--agent narrows to the agent and shows its readiness even when far' '
    test "$(AGENT=far fact graduation_close far "f[0][\"numbers\"][\"episodes\"]")" = 1 &&
    test "$(AGENT=far fact graduation_ready ready)" = none &&
    test "$(json_get "j[\"agent\"]" <"$TRASH/advice")" = far &&
    test_expect_code 2 autodev advise --agent nobody 2>err &&
    test_one_error err "unknown agent '"'"'nobody'"'"'"
'

test_expect_success 'gates closed to a SUPERVISED agent: the reasons, and a command that runs' '
    test "$(fact gate_blocked auto_dev.alpha_evolver "f[0][\"numbers\"][\"agents_blocked\"], f[0][\"numbers\"][\"agents\"], f[0][\"command\"]")" = \
        "(1, ['"'"'sup'"'"'], '"'"'autodev settings set enabled true'"'"')" &&
    fact gate_blocked auto_dev.alpha_evolver "\"; \".join(f[0][\"numbers\"][\"reasons\"])" |
        grep -q "auto-dev is disabled" &&
    cmd=$(fact gate_blocked auto_dev.alpha_evolver "f[0][\"command\"]") &&
    autodev ${cmd#autodev } >/dev/null &&
    test "$(autodev settings get enabled)" = true &&
    test "$(fact gate_blocked auto_dev.alpha_evolver)" = none &&
    autodev settings set alpha_evolver false >/dev/null &&
    cmd=$(fact gate_blocked auto_dev.alpha_evolver "f[0][\"command\"]") &&
    test "$cmd" = "autodev settings set alpha_evolver true" &&
    autodev ${cmd#autodev } >/dev/null &&
    test "$(fact gate_blocked auto_dev.alpha_evolver)" = none
'

test_expect_success 'text output: one block per fact, the most urgent first' '
    autodev advise >out &&
    head -1 out | grep -Eq "^advice: [0-9]+ high, [0-9]+ warn, [0-9]+ info$" &&
    grep -q "^\[high\] skill_failure_rate: halve$" out &&
    grep -q "^    try: autodev agent graduate ready$" out &&
    first=$(grep -n "^\[" out | head -1) && echo "$first" | grep -q "\[high\]"
'

test_expect_success '--ai without a model: the facts, then a clear error' '
    test_expect_code 2 autodev advise --ai >out 2>err &&
    grep -q "^\[high\] skill_failure_rate: halve$" out &&
    test_one_error err "no llm provider configured: set AUTODEV_LLM.*"
'

test_expect_success '--ai: the facts are in the prompt, the summary printed, the echoed key masked' '
    autodev settings set llm_daily_token_cap 600 >/dev/null &&
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=http://127.0.0.1:$port/case/advise_summary/v1 \
        autodev advise --ai >out 2>err &&
    grep -q "^\[high\] skill_failure_rate: halve$" out &&
    grep -q "ADVISOR SUMMARY: graduate ready now" out &&
    ! grep -q "sk-test-openai-0123456789" out &&
    grep -q "Key seen: \[secret\]" out &&
    /usr/bin/python3 -c "import json, sys, urllib.request
r = json.load(urllib.request.urlopen(\"http://127.0.0.1:$port/_results?case=advise_summary\"))
req = r[\"advise_summary\"][\"requests\"][0]
user = req[\"messages\"][1][\"content\"]
assert \"skill_failure_rate\" in user and \"autodev skill evolve halve\" in user, user
assert \"sk-test\" not in json.dumps(req), \"a key in the prompt\"
"
'

test_expect_success 'the call counts: tokens near the daily cap, and the cost with nothing accepted' '
    test "$(fact limit_hit llm_daily_token_cap "f[0][\"numbers\"][\"used_today\"], f[0][\"numbers\"][\"limit\"], f[0][\"severity\"]")" = \
        "(500, 600, '"'"'warn'"'"')" &&
    test "$(fact cost_per_improvement tenant "f[0][\"numbers\"][\"llm_calls\"], f[0][\"numbers\"][\"tokens\"], f[0][\"numbers\"][\"accepted_improvements\"], f[0][\"numbers\"][\"cost_per_improvement_usd\"]")" = \
        "(1, 500, 0, None)"
'

test_expect_success 'readiness: the job notifies the ready agent once' '
    test "$(ready_notes)" = 0 &&
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    test "$(autodev jobs list --kind advise.readiness --json | json_get "len(j)")" = 1 &&
    test "$(ready_notes)" = 1 &&
    autodev notifications --type auto_dev_graduation_ready --json >n &&
    test "$(json_get "j[0][\"agent\"], j[0][\"payload\"][\"level\"]" <n)" = "('"'"'ready'"'"', '"'"'INTERN'"'"')"
'

test_expect_success 'a second run in the period queues nothing; a second job notifies nothing' '
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    test "$(autodev jobs list --kind advise.readiness --json | json_get "len(j)")" = 1 &&
    autodev jobs enqueue advise.readiness --key again >/dev/null &&
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    test "$(ready_notes)" = 1
'

test_expect_success 'two workers at once: still one notification' '
    autodev agent add twin >/dev/null && episodes twin 10 false 0.9 &&
    autodev jobs enqueue advise.readiness --key w1 >/dev/null &&
    autodev jobs enqueue advise.readiness --key w2 >/dev/null &&
    autodev jobs enqueue advise.readiness --key w3 >/dev/null &&
    { autodev jobs run --until-idle >/dev/null 2>&1 & p1=$!; } &&
    { autodev jobs run --until-idle >/dev/null 2>&1 & p2=$!; } &&
    wait $p1 && wait $p2 &&
    test "$(autodev jobs list --kind advise.readiness --status done --json | json_get "len(j)")" = 5 &&
    test "$(ready_notes)" = 2 &&
    autodev notifications --type auto_dev_graduation_ready --json |
        json_get "sorted(n[\"agent\"] for n in j)" >names &&
    test "$(cat names)" = '"'"'["ready", "twin"]'"'"'
'

test_expect_success 'after graduation, readiness for the next level notifies again' '
    autodev agent graduate ready >/dev/null &&
    episodes ready 15 false 0.9 &&
    autodev jobs enqueue advise.readiness --key next >/dev/null &&
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    test "$(ready_notes)" = 3 &&
    autodev notifications --type auto_dev_graduation_ready --json |
        json_get "[n[\"payload\"][\"level\"] for n in j if n[\"agent\"] == \"ready\"]" >levels &&
    test "$(cat levels)" = '"'"'["SUPERVISED", "INTERN"]'"'"'
'

test_expect_success 'advise --help' '
    autodev advise --help >out &&
    grep -q "autodev advise \[--agent NAME\] \[--ai\]" out
'

test_done
