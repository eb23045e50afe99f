#!/bin/sh
test_description='AlphaEvolver end to end: triggers, gates, the loopback model, side-by-side evaluation, review, auto-promotion, kill -9, the daily limit, the schedule'
. "$(dirname "$0")/test-lib.sh"

# The loopback server of tests/llm/ plays the model (alpha_* cases); parent
# and mutants run in the real sandbox. The parent sleeps 50 ms for nothing;
# the model's edits drop the sleep, or break the function in some way.
/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
base="http://127.0.0.1:$port/case"
export OPENAI_API_KEY=sk-test-openai-0123456789
unset AUTODEV_LLM AUTODEV_LLM_PRICES ANTHROPIC_API_KEY

cat >"$TRASH/slow_sum.py" <<'EOF'
def slow_sum(numbers):
    """Add up a list of numbers."""
    import time
    time.sleep(0.05)
    total = 0
    for x in numbers:
        total = total + x
    return total
EOF

# run_jobs CASE [ARGS]: runs the queued jobs with the loopback model playing CASE.
run_jobs() {
    case_=$1
    shift
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=$base/$case_/v1 autodev jobs run --until-idle "$@"
}

# served CASE: requests the case got since the start.
served() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results"))
print(r.get(sys.argv[2], {}).get("consumed", 0))' "http://127.0.0.1:$port" "$1"
}

# alpha_jobs [STATUS]: how many alpha.mutate jobs there are.
alpha_jobs() {
    autodev jobs list --kind alpha.mutate --limit 10000 ${1:+--status $1} --json | json_get 'len(j)'
}

# newest EXPR: EXPR over the newest mutation (mutations show --json).
newest() {
    autodev mutations list --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/mid" &&
    autodev mutations show "$(cat "$TRASH/mid")" --json | json_get "$1"
}

# sum_as AGENT N: the agent runs slow_sum on [1..N].
sum_as() {
    autodev skill run slow_sum --agent "$1" \
        --input "{\"numbers\": [$(seq -s, 1 "$2")]}" >/dev/null
}

test_expect_success 'setup: a slow skill, agents of every maturity, the thresholds of a test' '
    autodev init >/dev/null &&
    autodev skill add "$TRASH/slow_sum.py" --name slow_sum --entry slow_sum >/dev/null &&
    autodev agent add stu --maturity STUDENT >/dev/null &&
    autodev agent add int --maturity INTERN >/dev/null &&
    autodev agent add sup --maturity SUPERVISED >/dev/null &&
    autodev agent add aut --maturity AUTONOMOUS >/dev/null &&
    autodev settings set evolution_latency_ms 20 >/dev/null &&
    autodev settings set evolution_mutants 1 >/dev/null &&
    autodev settings set evolution_repeats 3 >/dev/null
'

test_expect_success 'the workspace switched off: a slow run queues nothing' '
    sum_as sup 3 &&
    test "$(alpha_jobs)" = 0
'

test_expect_success 'STUDENT and INTERN agents get no job' '
    autodev settings set enabled true >/dev/null &&
    sum_as stu 3 && sum_as int 4 &&
    test "$(alpha_jobs)" = 0
'

test_expect_success 'a slow run by a SUPERVISED agent queues one job; more runs queue no second' '
    sum_as sup 3 && sum_as sup 4 && sum_as sup 5 &&
    test "$(alpha_jobs)" = 1 &&
    autodev jobs list --kind alpha.mutate --json >jobs &&
    test "$(json_get "j[0][\"payload\"][\"trigger\"]" <jobs)" = latency &&
    test "$(json_get "j[0][\"status\"]" <jobs)" = queued
'

test_expect_success 'a faster mutant with identical outputs wins twice and waits for review' '
    run_jobs alpha_faster >out 2>err &&
    test "$(served alpha_faster)" = 1 &&
    test "$(alpha_jobs done)" = 1 &&
    test "$(newest "j[\"decision\"]")" = won &&
    test "$(newest "j[\"review_status\"]")" = pending &&
    test "$(newest "j[\"status\"]")" = passed &&
    test "$(newest "j[\"proposer\"]")" = llm &&
    test "$(newest "j[\"trigger\"]")" = latency &&
    test "$(newest "len(j[\"test_set\"])")" = 3 &&
    test "$(newest "j[\"proxy_signals\"][\"evaluation\"][\"mutant\"][\"output_match_rate\"]")" = 1.0 &&
    test "$(newest "j[\"proxy_signals\"][\"reevaluation\"][\"won\"]")" = true &&
    test "$(newest "j[\"proxy_signals\"][\"evaluation\"][\"parent\"][\"runs\"]")" = 9 &&
    test "$(newest "j[\"fitness_delta\"] > 0")" = true &&
    newest "j[\"risk\"][\"level\"]" | grep -Eq "^(LOW|MEDIUM)$" &&
    autodev notifications --json >n &&
    json_get "[x[\"type\"] for x in j]" <n | grep -q mutation_ready
'

test_expect_success 'the prompt carries the goal, the code and recorded inputs, never the key' '
    /usr/bin/python3 -c "import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + \"/_results?case=alpha_faster\"))
print(r[\"alpha_faster\"][\"requests\"][0][\"messages\"][1][\"content\"])" "http://127.0.0.1:$port" >p &&
    grep -q "It is slow: make it faster" p &&
    grep -q "time.sleep(0.05)" p &&
    grep -q "\"numbers\"" p &&
    ! grep -q "sk-test-openai" p
'

test_expect_success 'approve: a new minor version with its lineage; rollback restores the parent' '
    autodev skill run slow_sum --input "{\"numbers\": [1, 2, 3]}" --json >before &&
    autodev mutations approve "$(cat "$TRASH/mid")" --reviewer ann >out &&
    autodev skill show slow_sum --json >show &&
    test "$(json_get "j[\"skill\"][\"version\"]" <show)" = 1.1.0 &&
    autodev skill run slow_sum --input "{\"numbers\": [1, 2, 3]}" --json >after &&
    test "$(json_get "j[\"output\"]" <after)" = "$(json_get "j[\"output\"]" <before)" &&
    autodev lineage slow_sum --json >lin &&
    json_get "[v[\"semver\"] for v in j[\"versions\"]]" <lin | grep -q "1.1.0.*1.0.0" &&
    autodev skill rollback slow_sum --to 1.0.0 >/dev/null &&
    autodev skill show slow_sum --json >show &&
    test "$(json_get "j[\"skill\"][\"version\"]" <show)" = 1.0.0 &&
    json_get "j[\"version\"][\"code\"]" <show | grep -q "time.sleep(0.05)" &&
    autodev skill run slow_sum --input "{\"numbers\": [1, 2, 3]}" --json >again &&
    test "$(json_get "j[\"output\"]" <again)" = "$(json_get "j[\"output\"]" <before)"
'

# start_worker CASE: a `jobs run --lease 10` in the background, its pid in $TRASH/wpid.
start_worker() {
    (AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=$base/$1/v1 \
        exec "$AUTODEV_BIN" jobs run --lease 10 >/dev/null 2>&1) &
    echo $! >"$TRASH/wpid"
}

# evolve CASE AGENT: queues a job by hand for the agent and runs it with CASE.
evolve() {
    autodev skill evolve slow_sum --agent "$2" >/dev/null &&
    run_jobs "$1" >out 2>err
}

test_expect_success 'a faster but wrong mutant loses, naming the mismatch' '
    evolve alpha_wrong sup &&
    test "$(newest "j[\"decision\"]")" = lost &&
    newest "j[\"decision_reason\"]" | grep -qi "output" &&
    test "$(newest "j[\"review_status\"]")" = null &&
    test "$(newest "j[\"status\"]")" = failed
'

test_expect_success 'a whole function for an answer replaces the parent function, and can win' '
    evolve alpha_whole sup &&
    test "$(newest "j[\"decision\"]")" = won &&
    ! newest "j[\"mutated_code\"]" | grep -q "sleep" &&
    newest "j[\"mutated_code\"]" | grep -q "^def slow_sum(numbers):" &&
    autodev mutations reject "$(cat "$TRASH/mid")" --reason "not now" >/dev/null
'

test_expect_success 'a mutant that returns NaN loses; so does one that returns 6.0 for 6' '
    evolve alpha_nan sup &&
    test "$(newest "j[\"decision\"]")" = lost &&
    evolve alpha_type sup &&
    test "$(newest "j[\"decision\"]")" = lost &&
    newest "j[\"proxy_signals\"][\"evaluation\"][\"mutant\"][\"match_parent\"]" | grep -q "^0"
'

test_expect_success 'a reply with no edit in it fails the job for good, saying why, with no row' '
    rows=$(autodev mutations list --limit 1000 --json | json_get "len(j)") &&
    evolve alpha_garbage sup &&
    autodev jobs list --kind alpha.mutate --limit 1 --json >j &&
    test "$(json_get "j[0][\"status\"]" <j)" = failed &&
    json_get "j[0][\"last_error\"]" <j | grep -q "no usable mutant" &&
    test "$(autodev mutations list --limit 1000 --json | json_get "len(j)")" = "$rows"
'

test_expect_success 'CRITICAL risk is never promoted automatically, even for an AUTONOMOUS agent' '
    autodev settings set background_evolution true >/dev/null &&
    evolve alpha_subprocess aut &&
    test "$(newest "j[\"decision\"]")" = won &&
    test "$(newest "j[\"risk\"][\"level\"]")" = CRITICAL &&
    test "$(newest "j[\"review_status\"]")" = pending &&
    autodev skill show slow_sum --json >show &&
    test "$(json_get "j[\"skill\"][\"version\"]" <show)" = 1.0.0
'

test_expect_success 'a low-risk winner of an AUTONOMOUS agent with background evolution is promoted' '
    autodev mutations reject "$(cat "$TRASH/mid")" --reason "imports subprocess" >/dev/null &&
    evolve alpha_faster aut &&
    test "$(newest "j[\"review_status\"]")" = auto_approved &&
    autodev skill show slow_sum --json >show &&
    test "$(json_get "j[\"skill\"][\"version\"]" <show)" = 1.2.0 &&
    ! json_get "j[\"version\"][\"code\"]" <show | grep -q "time.sleep"
'

test_expect_success 'mutants of a version AlphaEvolver made name its mutation as their parent' '
    promoted=$(autodev mutations list --review auto_approved --limit 1 --json | json_get "j[0][\"id\"]") &&
    evolve alpha_whole sup &&
    test "$(newest "j[\"parent_skill_version_id\"]")" = "$(autodev skill show slow_sum --json | json_get "j[\"version\"][\"id\"]")" &&
    test "$(newest "j[\"parent_mutation_id\"]")" = "$promoted" &&
    autodev lineage "$(cat "$TRASH/mid")" --json >lin &&
    grep -q "$promoted" lin
'

test_expect_success 'kill -9 in the middle of a job, then a rerun: one row per mutant, no second model call' '
    autodev skill rollback slow_sum --to 1.0.0 >/dev/null &&
    autodev settings set evolution_mutants 2 >/dev/null &&
    autodev settings set evolution_repeats 6 >/dev/null &&
    autodev skill evolve slow_sum --agent sup >/dev/null &&
    before=$(autodev mutations list --limit 1000 --json | json_get "len(j)") &&
    start_worker alpha_two &&
    pid=$(cat "$TRASH/wpid") &&
    wait_for "test \$(autodev mutations list --limit 1000 --json | json_get \"len(j)\") -gt $before" 30 &&
    kill -9 $pid && { wait $pid; true; } &&
    test "$(autodev jobs list --kind alpha.mutate --limit 1 --json | json_get "j[0][\"status\"]")" = running &&
    sleep 11 &&
    run_jobs alpha_two &&
    test "$(served alpha_two)" = 2 &&
    test "$(autodev mutations list --limit 1000 --json | json_get "len(j)")" = $((before + 2)) &&
    autodev jobs list --kind alpha.mutate --limit 1 --json >j &&
    test "$(json_get "j[0][\"status\"]" <j)" = done &&
    test "$(json_get "j[0][\"attempts\"]" <j)" = 2 &&
    autodev mutations list --limit 2 --json >m &&
    test "$(json_get "len([x for x in j if x[\"decision\"]])" <m)" = 2
'

test_expect_success 'the daily mutation limit holds for 50 concurrent triggers' '
    autodev settings set evolution_mutants 1 >/dev/null &&
    autodev settings set evolution_repeats 3 >/dev/null &&
    autodev settings set background_evolution false >/dev/null &&
    today=$(autodev mutations list --limit 1000 --json | json_get "len(j)") &&
    autodev settings set max_mutations_per_day $((today + 3)) >/dev/null &&
    for i in $(seq 1 50); do
        sed "s/def slow_sum/def s$i/" "$TRASH/slow_sum.py" >"$TRASH/s$i.py" &&
        autodev skill add "$TRASH/s$i.py" --name "s$i" --entry "s$i" >/dev/null || return 1
    done &&
    for i in $(seq 1 50); do
        autodev skill run "s$i" --agent sup --input "{\"numbers\": [$i]}" >/dev/null &
    done &&
    wait &&
    test "$(alpha_jobs queued)" = 50 &&
    (autodev jobs run --until-idle >w1 2>&1 &
     autodev jobs run --until-idle >w2 2>&1 &
     autodev jobs run --until-idle >w3 2>&1 &
     wait) &&
    test "$(autodev mutations list --limit 1000 --json | json_get "len(j)")" = $((today + 3)) &&
    test "$(alpha_jobs queued)" = 0 &&
    autodev jobs list --kind alpha.mutate --status failed --limit 1000 --json >f &&
    json_get "j[0][\"last_error\"]" <f | grep -q "limit"
'

test_expect_success 'the background schedule: one run per period, queuing the most-used skills' '
    autodev settings set max_mutations_per_day 50 >/dev/null &&
    autodev settings set evolution_latency_ms 3600000 >/dev/null &&
    sum_as aut 3 && sum_as aut 4 &&
    test "$(alpha_jobs queued)" = 0 &&
    autodev settings set background_evolution true >/dev/null &&
    autodev settings set evolution_background_hours 1 >/dev/null &&
    bg0=$(autodev jobs list --kind alpha.background --limit 1000 --json | json_get "len(j)") &&
    autodev jobs run --kind alpha.background >out &&
    grep -q "alpha.background  done" out &&
    autodev jobs list --kind alpha.background --limit 1000 --json >bg &&
    test "$(json_get "len(j)" <bg)" = $((bg0 + 2)) &&
    test "$(json_get "j[0][\"status\"]" <bg)" = queued &&
    autodev jobs list --kind alpha.mutate --status queued --json >q &&
    test "$(json_get "len(j)" <q)" = 1 &&
    test "$(json_get "j[0][\"payload\"][\"trigger\"]" <q)" = background &&
    autodev jobs run --kind alpha.background >out &&
    grep -q "no job to run" out &&
    test "$(autodev jobs list --kind alpha.background --limit 1000 --json | json_get "len(j)")" = $((bg0 + 2))
'

test_expect_success 'bad requests get clear errors and change nothing' '
    test_expect_code 2 autodev skill evolve no_such_skill >out 2>err &&
    grep -q "no_such_skill" err &&
    test_expect_code 2 autodev skill evolve slow_sum --agent nobody >out 2>err &&
    test_expect_code 2 autodev jobs run --lease 0 >out 2>err &&
    autodev skill evolve slow_sum --agent stu >out 2>err;
    test $? -ne 0 && grep -q "STUDENT" err
'

test_done
