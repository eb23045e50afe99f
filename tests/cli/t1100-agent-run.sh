#!/bin/sh
test_description='autodev agent run: the model-tool-model loop against the loopback LLM'
. "$(dirname "$0")/test-lib.sh"

# The loopback server of tests/llm/ plays the model; the skills run in the
# real sandbox. Each agent_* case in tests/llm/cases/ scripts one run and
# checks every request the loop sends (history, tool results).
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

# served CASE: how many requests the case got since the last reset.
served() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results"))
print(r.get(sys.argv[2], {}).get("consumed", 0))' "http://127.0.0.1:$port" "$1"
}

reset() {
    /usr/bin/python3 -c 'import urllib.request, sys
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_reset", data=b""))' \
        "http://127.0.0.1:$port"
}

# The newest episode, as JSON.
last_episode() {
    autodev episode list --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/eid" &&
    autodev episode show "$(cat "$TRASH/eid")" --json
}

with_case() {
    c=$1
    shift
    OPENAI_BASE_URL=$base/$c/v1 "$@"
}

test_expect_success 'setup: an agent and two skills' '
    autodev init >/dev/null &&
    autodev agent add bot --maturity INTERN >/dev/null &&
    cat >wc.py <<-\EOF &&
	def word_count(text: str) -> int:
	    """Count the words in a text."""
	    return len(text.split())
	EOF
    cat >boom.py <<-\EOF &&
	def explode() -> None:
	    """Always fails."""
	    raise RuntimeError("boom")
	EOF
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    autodev skill add boom.py --name explode --entry explode >/dev/null
'

test_expect_success 'agent run without a model configured says how to set one' '
    test_expect_code 2 env -u AUTODEV_LLM "$AUTODEV_BIN" agent run bot "count" 2>err &&
    test_one_error err "no llm provider configured"
'

test_expect_success 'agent run: bad usage is exit 2' '
    test_expect_code 2 autodev agent run bot 2>err &&
    test_one_error err "needs a task" &&
    test_expect_code 2 autodev agent run nobody "x" 2>err &&
    test_one_error err "unknown agent" &&
    test_expect_code 2 autodev agent run bot "x" --max-turns 0 2>err &&
    test_expect_code 2 autodev agent run bot "x" --cost-limit -1 2>err &&
    test_expect_code 2 autodev agent run bot "x" --resume 0190 2>err
'

test_expect_success 'two turns: a tool call run in the sandbox, then the answer' '
    with_case agent_two_turn autodev agent run bot \
        "How many words are in '\''the quick brown fox'\''?" >out &&
    case_ok agent_two_turn 3 &&
    grep -q "^session " out &&
    grep -q "^\[1\] tool call   word_count" out &&
    grep -q "^\[1\] tool result word_count 4" out &&
    grep -q "^\[2\] response    There are 4 words." out &&
    grep -q "^self-check passed (confidence 0.90): the answer fits the task$" out &&
    grep -q "^done: succeeded, answer after 2 turns, 368 tokens" out &&
    last_episode >ep.json &&
    test "$(json_get "j[\"success\"]" <ep.json)" = true &&
    test "$(json_get "j[\"task_kind\"]" <ep.json)" = agent.run &&
    test "$(json_get "j[\"tools_attempted\"]" <ep.json)" = "[\"word_count\"]" &&
    test "$(json_get "j[\"token_usage\"]" <ep.json)" = 368 &&
    test "$(json_get "j[\"context\"][\"confidence\"]" <ep.json)" = 0.9 &&
    test "$(json_get "j[\"output\"][\"answer\"]" <ep.json)" = "There are 4 words." &&
    test "$(json_get "j[\"intervention\"]" <ep.json)" = false
'

test_expect_success 'the run left progress, execution and outcome events' '
    autodev events tail --limit 10000 --json >ev.json &&
    /usr/bin/python3 -c "import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
topics = set(e[\"topic\"] for e in ev)
kinds = sorted(set(e[\"payload\"][\"kind\"] for e in ev if e[\"topic\"] == \"agent.progress\"))
assert {\"agent.progress\", \"skill.execution\", \"task.success\"} <= topics, topics
assert kinds == [\"cost\", \"done\", \"response\", \"self_check\", \"thinking\", \"tool_call\", \"tool_result\"], kinds
" ev.json
'

test_expect_success 'the turn limit stops a model that never answers' '
    test_expect_code 1 with_case agent_turn_limit autodev agent run bot "loop" \
        --max-turns 3 >out &&
    case_ok agent_turn_limit 3 &&
    grep -q "^warning: one model turn left of 3" out &&
    grep -q "^done: failed, max_turns after 3 turns" out &&
    grep -q "^reason: TurnLimitReached" out &&
    last_episode >ep.json &&
    test "$(json_get "j[\"success\"]" <ep.json)" = false &&
    test "$(json_get "j[\"context\"][\"stop_reason\"]" <ep.json)" = max_turns
'

test_expect_success 'the cost limit stops the run once spent' '
    test_expect_code 1 with_case agent_cost_limit autodev agent run bot "spend" \
        --cost-limit 0.25 >out &&
    case_ok agent_cost_limit 2 &&
    grep -q "^done: failed, cost_limit after 2 turns, 2000000 tokens, \$0.300000" out &&
    grep -q "^reason: CostLimitReached: spent \$0.300000 of the \$0.250000 limit" out
'

test_expect_success 'a tool that crashes every time trips the breaker' '
    test_expect_code 1 with_case agent_tool_crash autodev agent run bot "blow up" \
        --max-turns 10 >out &&
    case_ok agent_tool_crash 3 &&
    test "$(grep -c "^\[[0-9]\] tool error  explode" out)" = 3 &&
    grep -q "^done: failed, tool_breaker after 3 turns" out &&
    grep -q "^reason: ToolBreakerOpen: tool .explode. failed 3 times in a row; last error: .*RuntimeError: boom" out
'

test_expect_success 'malformed tool arguments and unknown tools get error results, no crash' '
    with_case agent_bad_arguments autodev agent run bot "count words" >out &&
    case_ok agent_bad_arguments 3 &&
    request agent_bad_arguments 1 >req.json &&
    json_get "[json.loads(m[\"content\"].split(\"<<<TOOL_OUTPUT\n\")[1].rsplit(\"\nTOOL_OUTPUT>>>\")[0]) for m in j[\"messages\"][3:6]]" <req.json >results &&
    grep -q "the arguments are not valid JSON" results &&
    grep -q "the arguments must be a JSON object, not an array" results &&
    grep -q "unknown tool .no_such_tool.; the tools are: explode word_count record_outcome" results &&
    grep -q "^done: succeeded, answer after 2 turns" out
'

test_expect_success 'provider fallback: 5xx from the first provider, the answer from the next' '
    reset &&
    OPENAI_BASE_URL=$base/openai_500_then_fallback/v1 \
    ANTHROPIC_BASE_URL=$base/anthropic_after_fallback ANTHROPIC_API_KEY=sk-ant-test-0123456789 \
    AUTODEV_LLM="openai:gpt-4o-mini,anthropic:claude-sonnet-4-5" \
        autodev agent run bot "Say hello." >out &&
    grep -q "^\[1\] response    Hello from the fallback." out &&
    grep -q "^done: succeeded, answer after 1 turn, " out &&
    grep -q "^self-check passed (confidence 0.80): it says hello$" out &&
    test "$(served openai_500_then_fallback)" = 6 &&
    test "$(served anthropic_after_fallback)" = 2
'

test_expect_success 'at most 16 tool calls of one reply run; the rest get an error result' '
    with_case agent_many_calls autodev agent run bot "count a lot" >out &&
    case_ok agent_many_calls 3 &&
    test "$(grep -c "^\[1\] tool result word_count 1" out)" = 16 &&
    grep -q "^\[1\] tool error  word_count \"not run: more than 16 tool calls in one reply\"" out &&
    grep -q "^done: succeeded, answer after 2 turns" out
'

test_expect_success 'record_outcome ends the run with the reason given' '
    test_expect_code 1 with_case agent_outcome autodev agent run bot "read the PDF" >out &&
    case_ok agent_outcome 1 &&
    grep -q "^reason: OutcomeFailure: no skill parses PDF files" out
'

test_expect_success 'a run killed with SIGKILL resumes from its transcript' '
    (OPENAI_BASE_URL=$base/agent_resume/v1 exec "$AUTODEV_BIN" agent run bot \
        "How many words are in one two three?" >run.out 2>&1) &
    pid=$! &&
    wait_for "grep -q \"tool result word_count 3\" run.out && grep -q \"^\[2\] thinking\" run.out" 30 &&
    kill -9 $pid && { wait $pid; true; } &&
    session=$(sed -n "s/^session //p" run.out) &&
    autodev agent sessions bot --json >s.json &&
    test "$(json_get "[s[\"status\"] for s in j if s[\"id\"] == \"$session\"]" <s.json)" = "[\"running\"]" &&
    with_case agent_resume autodev agent run bot --resume "$session" >out &&
    case_ok agent_resume 4 &&
    grep -q "^\[2\] response    Three words." out &&
    ! grep -q "tool call" out &&
    grep -q "^done: succeeded, answer after 2 turns" out &&
    autodev agent sessions bot --json >s.json &&
    test "$(json_get "[s[\"status\"] for s in j if s[\"id\"] == \"$session\"]" <s.json)" = "[\"done\"]"
'

test_expect_success 'a finished session cannot be resumed' '
    session=$(autodev agent sessions bot --json | json_get "[s[\"id\"] for s in j if s[\"status\"] == \"done\"][0]") &&
    test_expect_code 1 autodev agent run bot --resume "$session" 2>err &&
    test_one_error err "has finished"
'

test_expect_success 'a stopped session resumed with a higher limit counts as an intervention' '
    session=$(autodev agent sessions bot --json |
              json_get "[s[\"id\"] for s in j if s[\"state\"].get(\"stop_reason\") == \"max_turns\"][0]") &&
    test_expect_code 1 with_case agent_turn_limit autodev agent run bot --resume "$session" \
        --max-turns 4 >out &&
    grep -q "^done: failed, max_turns after 4 turns" out &&
    last_episode >ep.json &&
    test "$(json_get "j[\"intervention\"]" <ep.json)" = true
'

test_expect_success 'a key the model echoes is masked in what the loop prints, runs and stores' '
    with_case agent_echo_key autodev agent run bot "count my key" >out &&
    case_ok agent_echo_key 3 &&
    grep -q "^\[1\] tool call   word_count {\"text\": \"\[secret\] and more\"}" out &&
    grep -q "^\[1\] tool result word_count 3" out &&
    grep -q "^\[2\] response    The key \[secret\] has 3 words\.$" out &&
    ! grep -qi 0123456789 out &&
    last_episode >ep.json &&
    test "$(json_get "j[\"output\"][\"answer\"]" <ep.json)" = "The key [secret] has 3 words." &&
    ! grep -qi 0123456789 "$DB" "$DB-wal" 2>/dev/null
'

test_expect_success 'agent run --timeout stops a run whose model stalls; --resume goes on' '
    reset &&
    test_expect_code 1 with_case agent_stall autodev agent run bot "stall" --timeout 2 >out &&
    case_ok agent_stall 1 &&
    grep -q "^done: failed, deadline after 0 turns" out &&
    grep -q "^reason: DeadlineReached: the run.s 2000 ms deadline passed" out &&
    session=$(sed -n "s/^session //p" out) &&
    autodev agent sessions bot --json >s.json &&
    test "$(json_get "[s[\"status\"] for s in j if s[\"id\"] == \"$session\"]" <s.json)" = "[\"stopped\"]" &&
    with_case agent_after_deadline autodev agent run bot --resume "$session" >out &&
    case_ok agent_after_deadline 2 &&
    grep -q "^\[1\] response    Resumed\.$" out &&
    grep -q "^done: succeeded, answer after 1 turn" out
'

test_expect_success 'agent run: --timeout and --tool-timeout take whole seconds' '
    test_expect_code 2 autodev agent run bot "x" --timeout 0 2>err &&
    test_one_error err "--timeout" &&
    test_expect_code 2 autodev agent run bot "x" --tool-timeout 0 2>err &&
    test_one_error err "--tool-timeout"
'

test_expect_success '--json prints one JSON object per progress event' '
    reset &&
    with_case agent_two_turn autodev agent run bot "How many words?" --json >out 2>/dev/null;
    test "$(head -1 out | json_get "j[\"event\"]")" = thinking &&
    test "$(tail -1 out | json_get "j[\"event\"]")" = done
'

test_done
