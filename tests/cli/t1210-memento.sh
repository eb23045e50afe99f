#!/bin/sh
test_description='Memento-Skills end to end: failures, reflection, gates, the loopback model, validation, review'
. "$(dirname "$0")/test-lib.sh"

# The loopback server of tests/llm/ plays the model (memento_* cases); the
# candidates run in the real sandbox. Every agent fails the same task twice,
# "Extract the invoice id from this e-mail", for want of a skill.
/usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
    --port-file "$TRASH/port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
wait_for 'test -s "$TRASH/port"' 20 || { echo "Bail out! no llm server"; exit 1; }
port=$(cat "$TRASH/port")
base="http://127.0.0.1:$port/case"
export OPENAI_API_KEY=sk-test-openai-0123456789
unset AUTODEV_LLM AUTODEV_LLM_PRICES ANTHROPIC_API_KEY

TASK="Extract the invoice id from this e-mail"

# fail AGENT I: the agent tries the task on input I (1 or 2); it must fail.
fail() {
    case $2 in
    1) in='{"text": "Hello, please find invoice INV-2024-0042 attached."}' want='"INV-2024-0042"' ;;
    *) in='{"text": "Reminder: INV-2024-0077 is due on Friday."}' want='"INV-2024-0077"' ;;
    esac
    test_expect_code 1 autodev task run --agent "$1" --description "$TASK" --input "$in" \
        --expect "$want" >/dev/null 2>&1
}

# jobs_of AGENT [STATUS]: memento.generate jobs of the agent (any status by default).
jobs_of() {
    id=$(autodev agent show "$1" --json | json_get 'j["id"]') &&
    autodev jobs list --kind memento.generate --limit 10000 ${2:+--status $2} --json |
        json_get "len([x for x in j if x[\"payload\"][\"agent_id\"] == \"$id\"])"
}

# job_id_of AGENT: the newest memento.generate job of the agent.
job_id_of() {
    id=$(autodev agent show "$1" --json | json_get 'j["id"]') &&
    autodev jobs list --kind memento.generate --limit 10000 --json |
        json_get "[x[\"id\"] for x in j if x[\"payload\"][\"agent_id\"] == \"$id\"][0]"
}

# last_pattern AGENT EXPR: EXPR over the payload of the agent's newest memento.pattern event.
last_pattern() {
    id=$(autodev agent show "$1" --json | json_get 'j["id"]') &&
    autodev events tail --topic memento.pattern --limit 10000 --json |
        /usr/bin/python3 -c 'import json, sys
evs = [json.loads(l)["payload"] for l in sys.stdin if l.strip()]
j = [e for e in evs if e["agent_id"] == sys.argv[1]][-1]
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$id" "$2"
}

# run_jobs CASE: runs the queued jobs with the loopback model playing CASE.
run_jobs() {
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=$base/$1/v1 autodev jobs run --until-idle
}

# cand AGENT EXPR: EXPR over the agent's newest candidate (full JSON of candidates show).
cand() {
    autodev candidates list --agent "$1" --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/cid" &&
    autodev candidates show "$(cat "$TRASH/cid")" --json | json_get "$2"
}

# served CASE: requests the case got since the start.
served() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results"))
print(r.get(sys.argv[2], {}).get("consumed", 0))' "http://127.0.0.1:$port" "$1"
}

# prompt CASE I: the user message of the I-th request the case got.
prompt() {
    /usr/bin/python3 -c 'import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_results?case=" + sys.argv[2]))
print(r[sys.argv[2]]["requests"][int(sys.argv[3])]["messages"][1]["content"])' \
        "http://127.0.0.1:$port" "$1" "$2"
}

# Synthesis by example would write the invoice skill before any model is
# asked; the model's path is tested with it off, and synthesis at the end.
test_expect_success 'setup: auto-dev on, a roomy daily limit, synthesis off' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set max_skill_candidates_per_day 20 >/dev/null &&
    autodev settings set memento_synthesis false >/dev/null
'

test_expect_success 'one failure queues nothing; the second similar one queues one job' '
    autodev agent add ann --maturity INTERN >/dev/null &&
    fail ann 1 &&
    test "$(jobs_of ann)" = 0 &&
    fail ann 2 &&
    test "$(jobs_of ann queued)" = 1 &&
    test "$(last_pattern ann "j[\"decision\"]")" = queued &&
    test "$(last_pattern ann "j[\"group\"]")" = 2 &&
    test "$(last_pattern ann "j[\"error_type\"]")" = NoSkillError
'

test_expect_success 'a third failure while the job is queued queues no second one' '
    fail ann 1 &&
    test "$(jobs_of ann)" = 1 &&
    test "$(last_pattern ann "j[\"decision\"]")" = open
'

test_expect_success 'the happy path: the model writes a function that validates on the failures' '
    run_jobs memento_invoice 2>err &&
    grep -q "memento: candidate .* (extract_invoice_id) validated" err &&
    test "$(served memento_invoice)" = 1 &&
    test "$(jobs_of ann done)" = 1 &&
    test "$(cand ann "j[\"status\"]")" = validated &&
    test "$(cand ann "j[\"skill_name\"]")" = extract_invoice_id &&
    test "$(cand ann "j[\"validation_result\"][\"passed\"]")" = 3 &&
    test "$(cand ann "j[\"validation_result\"][\"total\"]")" = 3 &&
    test "$(cand ann "j[\"failure_pattern\"][\"model\"]")" = gpt-4o-mini &&
    test "$(cand ann "j[\"failure_pattern\"][\"proposer\"]")" = llm &&
    test "$(cand ann "len(j[\"failure_pattern\"][\"examples\"])")" = 2 &&
    test "$(cand ann "j[\"risk\"][\"level\"]")" = LOW &&
    test "$(cand ann "j[\"risk_score\"]")" = 0.12 &&
    cand ann "j[\"generated_code\"]" >code &&
    grep -q "^def extract_invoice_id(text: str) -> str:" code &&
    grep -q "^import re" code &&
    ! grep -q "It raises ValueError" code
'

test_expect_success 'the prompt carries the task, the errors, the examples and the signature' '
    prompt memento_invoice 0 >p &&
    grep -q "^Task: Extract the invoice id from this e-mail$" p &&
    grep -q "^Error type: NoSkillError$" p &&
    grep -q "INV-2024-0042 attached" p &&
    grep -q "expected output: \"INV-2024-0077\"" p &&
    grep -q "keyword arguments: text: str\." p &&
    grep -q "Write the function .extract_invoice_id." p
'

test_expect_success 'candidates list, show and test' '
    autodev candidates list >out &&
    grep -Eq "^[0-9a-f-]{36}  validated +pending +extract_invoice_id +ann " out &&
    autodev candidates show "$(cat cid)" >out &&
    grep -q "passed 3 of 3 checks" out &&
    grep -q "^risk         LOW 0.12$" out &&
    grep -q "^  LOW       line 1     new_import: imports re$" out &&
    grep -q "def extract_invoice_id" out &&
    autodev candidates test "$(cat cid)" --input "{\"text\": \"see INV-2031-0001\"}" >out &&
    grep -q "INV-2031-0001" out &&
    test_expect_code 1 autodev candidates test "$(cat cid)" --input "{\"text\": \"nothing\"}" \
        >out 2>&1 &&
    grep -q "ValueError: no invoice id in the text" out
'

test_expect_success 'reviewers are notified of the validated candidate' '
    autodev notifications --type skill_candidate_validated --json >n &&
    test "$(json_get "j[0][\"payload\"][\"candidate_id\"]" <n)" = "$(cat cid)"
'

test_expect_success 'made from two examples, run on no other input: show, JSON and notification say so' '
    autodev candidates show "$(cat cid)" >out &&
    grep -q "^  proposer    llm$" out &&
    grep -q "^  made from   2 example(s)$" out &&
    grep -q "^  caution made from 2 examples, fewer than 3" out &&
    grep -q "^  caution run on no input it was not made from" out &&
    test "$(cand ann "len(j[\"validation_result\"][\"warnings\"])")" = 2 &&
    test "$(cand ann "j[\"validation_result\"][\"held_out\"]")" = 0 &&
    test "$(cand ann "j[\"failure_pattern\"][\"made_from\"]")" = 2 &&
    autodev notifications --type skill_candidate_validated --json >n &&
    json_get "j[0][\"message\"]" <n | grep -q "Caution: made from 2 examples, fewer than 3"
'

# fail_second AGENT I: the agent fails the task on an e-mail whose second word is the id.
fail_second() {
    case $2 in
    1) in='{"text": "Invoice INV-2024-0042 attached."}' want='"INV-2024-0042"' ;;
    *) in='{"text": "Invoice INV-2024-0077 overdue."}' want='"INV-2024-0077"' ;;
    esac
    test_expect_code 1 autodev task run --agent "$1" --description "$TASK" --input "$in" \
        --expect "$want" >/dev/null 2>&1
}

test_expect_success 'a function that fits only its examples fails on an input it was not made from' '
    autodev agent add sec --maturity INTERN >/dev/null &&
    echo "{\"agent\": \"sec\", \"task_description\": \"$TASK\", \"success\": true,
           \"input\": {\"text\": \"Hello, invoice INV-2024-0099 is attached.\"},
           \"output\": \"INV-2024-0099\"}" | autodev episode add >/dev/null &&
    fail_second sec 1 && fail_second sec 2 &&
    run_jobs memento_second_word 2>err &&
    test "$(cand sec "j[\"status\"]")" = failed &&
    test "$(cand sec "j[\"validation_result\"][\"summary\"]")" = "held-out 1 failed: expected \"INV-2024-0099\", got \"invoice\"" &&
    test "$(cand sec "j[\"failure_pattern\"][\"held_out\"][0][\"expected\"]")" = INV-2024-0099 &&
    test "$(cand sec "len(j[\"failure_pattern\"][\"examples\"])")" = 2 &&
    autodev candidates show "$(cat cid)" >out &&
    grep -q "^  held-out 1  {\"text\":\"Hello, invoice INV-2024-0099 is attached.\"}$" out &&
    grep -q "^  failed  held-out 1$" out &&
    prompt memento_second_word 0 >p &&
    ! grep -q "INV-2024-0099" p
'

test_expect_success 'a STUDENT agent: no job, the reason is recorded' '
    autodev agent add stu >/dev/null &&
    fail stu 1 && fail stu 2 &&
    test "$(jobs_of stu)" = 0 &&
    test "$(last_pattern stu "j[\"decision\"]")" = denied &&
    last_pattern stu "j[\"reasons\"]" >r &&
    grep -q "STUDENT" r && grep -q "INTERN" r
'

test_expect_success 'memento_skills switched off: no job, the reason names the toggle' '
    autodev settings set memento_skills false >/dev/null &&
    autodev agent add tog --maturity INTERN >/dev/null &&
    fail tog 1 && fail tog 2 &&
    autodev settings set memento_skills true >/dev/null &&
    test "$(jobs_of tog)" = 0 &&
    test "$(last_pattern tog "j[\"decision\"]")" = denied &&
    last_pattern tog "j[\"reasons\"]" >r &&
    grep -q "setting memento_skills is false" r
'

test_expect_success 'a reply with no function: a failed candidate that says so' '
    autodev agent add nof --maturity INTERN >/dev/null &&
    fail nof 1 && fail nof 2 &&
    run_jobs memento_no_function 2>err &&
    test "$(cand nof "j[\"status\"]")" = failed &&
    test "$(cand nof "j[\"validation_result\"][\"summary\"]")" = "the model'"'"'s reply holds no Python function" &&
    cand nof "j[\"generated_code\"]" >code &&
    grep -q "I am sorry" code &&
    autodev notifications --type skill_candidate_failed --json >n &&
    grep -q "$(cat cid)" n
'

test_expect_success 'a reply with a syntax error fails the load check' '
    autodev agent add syn --maturity INTERN >/dev/null &&
    fail syn 1 && fail syn 2 &&
    run_jobs memento_syntax_error 2>err &&
    test "$(cand syn "j[\"status\"]")" = failed &&
    cand syn "j[\"validation_result\"][\"summary\"]" >s &&
    grep -q "^the code does not load: SyntaxError" s &&
    test "$(cand syn "j[\"validation_result\"][\"checks\"][0][\"name\"]")" = load
'

test_expect_success 'a function that raises on the failure inputs fails with the exception' '
    autodev agent add rai --maturity INTERN >/dev/null &&
    fail rai 1 && fail rai 2 &&
    run_jobs memento_raises 2>err &&
    test "$(cand rai "j[\"status\"]")" = failed &&
    cand rai "j[\"validation_result\"][\"summary\"]" >s &&
    grep -q "^example 1 failed: KeyError" s &&
    test "$(cand rai "j[\"validation_result\"][\"passed\"]")" = 1
'

test_expect_success 'a wrong output fails with expected and got; reject, regenerate with the reason' '
    autodev agent add wro --maturity INTERN >/dev/null &&
    fail wro 1 && fail wro 2 &&
    run_jobs memento_wrong_output 2>err &&
    test "$(cand wro "j[\"status\"]")" = failed &&
    cand wro "j[\"validation_result\"][\"summary\"]" >s &&
    grep -q "expected \"INV-2024-00[47]7\", got \"" s &&
    first=$(cat cid) &&
    test_expect_code 2 autodev candidates reject "$first" >out 2>err &&
    autodev candidates reject "$first" --reason "returns the first word, not the id" >out &&
    test "$(cand wro "j[\"status\"]")" = rejected &&
    autodev candidates regenerate "$first" >out &&
    grep -q "^queued memento.generate job" out &&
    test "$(jobs_of wro queued)" = 1 &&
    run_jobs memento_invoice 2>err &&
    test "$(cand wro "j[\"status\"]")" = validated &&
    test "$(cand wro "j[\"failure_pattern\"][\"previous\"][0][\"reason\"]")" = "returns the first word, not the id" &&
    prompt memento_invoice 1 >p &&
    grep -q "^- rejected: returns the first word, not the id$" p
'

test_expect_success 'concurrent failures of one agent make exactly one job and one candidate' '
    autodev agent add con --maturity INTERN >/dev/null &&
    for i in 1 2 3 4 5 6 7 8; do
        (fail con $((i % 2 + 1)) || echo "try $i did not fail" >>bad) &
    done &&
    wait &&
    test ! -s bad &&
    test "$(autodev episode list --agent con --failed --json | json_get "len(j)")" = 8 &&
    test "$(jobs_of con)" = 1 &&
    run_jobs memento_invoice 2>err &&
    test "$(autodev candidates list --agent con --json | json_get "len(j)")" = 1
'

test_expect_success 'the daily limit: the gate says no, and a job queued before it fails for good' '
    autodev agent add lim --maturity INTERN >/dev/null &&
    fail lim 1 && fail lim 2 &&
    test "$(jobs_of lim queued)" = 1 &&
    used=$(autodev candidates list --json --limit 10000 | json_get "len(j)") &&
    autodev settings set max_skill_candidates_per_day "$used" >/dev/null &&
    run_jobs memento_invoice 2>err &&
    test "$(jobs_of lim failed)" = 1 &&
    autodev jobs list --kind memento.generate --status failed --json >j &&
    grep -q "daily limit reached: $used of $used skill candidates" j &&
    test "$(autodev candidates list --agent lim --json | json_get "len(j)")" = 0 &&
    autodev agent add lim2 --maturity INTERN >/dev/null &&
    fail lim2 1 && fail lim2 2 &&
    test "$(jobs_of lim2)" = 0 &&
    last_pattern lim2 "j[\"reasons\"]" >r &&
    grep -q "daily limit reached" r &&
    test_expect_code 1 autodev gate check lim2 memento_skills >out &&
    grep -q "daily limit reached: $used of $used" out &&
    autodev settings set max_skill_candidates_per_day 20 >/dev/null
'

test_expect_success 'offline and synthesis off: the job fails for good at once, saying why' '
    autodev agent add off --maturity INTERN >/dev/null &&
    fail off 1 && fail off 2 &&
    AUTODEV_LLM=offline autodev jobs run --until-idle >out 2>err &&
    test "$(jobs_of off failed)" = 1 &&
    autodev jobs list --kind memento.generate --status failed --json >j &&
    grep -q "synthesis by example is off (setting memento_synthesis) and the offline provider only mutates existing code" j &&
    test "$(json_get "[x[\"attempts\"] for x in j if \"offline\" in (x[\"last_error\"] or \"\")][0]" <j)" = 1 &&
    test "$(autodev candidates list --agent off --json | json_get "len(j)")" = 0
'

test_expect_success 'a model spec that cannot work fails the job for good at once' '
    autodev agent add bad --maturity INTERN >/dev/null &&
    fail bad 1 && fail bad 2 &&
    AUTODEV_LLM=nosuch:model autodev jobs run --until-idle >out 2>err &&
    test "$(jobs_of bad failed)" = 1 &&
    autodev jobs list --kind memento.generate --status failed --json >j &&
    grep -q "unknown llm provider" j
'

test_expect_success 'no model and synthesis off: the job fails for good and says what is missing' '
    autodev agent add nol --maturity INTERN >/dev/null &&
    fail nol 1 && fail nol 2 &&
    autodev jobs run --until-idle 2>err &&
    test "$(jobs_of nol failed)" = 1 &&
    autodev jobs list --kind memento.generate --status failed --json >j &&
    grep -q "synthesis by example is off (setting memento_synthesis) and no model is configured (set AUTODEV_LLM)" j &&
    test "$(autodev candidates list --agent nol --json | json_get "len(j)")" = 0
'

test_expect_success 'approve promotes it to the catalog and the task now succeeds' '
    autodev candidates list --agent ann --limit 1 --json | json_get "j[0][\"id\"]" >cid &&
    autodev candidates approve "$(cat cid)" --reviewer rita >out &&
    grep -q "^promoted extract_invoice_id 1.0.0" out &&
    test "$(cand ann "j[\"status\"]")" = promoted &&
    test "$(cand ann "j[\"review_status\"]")" = approved &&
    test "$(cand ann "j[\"reviewed_by\"]")" = rita &&
    test "$(cand ann "j[\"promoted_at\"] is not None")" = true &&
    autodev skill show extract_invoice_id --json >s &&
    test "$(json_get "j[\"versions\"][0][\"origin\"]" <s)" = memento &&
    test "$(json_get "j[\"versions\"][0][\"origin_id\"]" <s)" = "$(cat cid)" &&
    autodev task run --agent ann --description "$TASK" \
        --input "{\"text\": \"Reminder: INV-2024-0077 is due on Friday.\"}" \
        --expect "\"INV-2024-0077\"" >out &&
    grep -Eq "^skill +extract_invoice_id 1\.0\.0" out &&
    test_expect_code 2 autodev candidates approve "$(cat cid)" >out 2>err &&
    grep -q "only a validated candidate can be approved" err
'

test_expect_success 'a review reads the notifications of its candidate' '
    approved=$(cat cid) &&
    autodev candidates list --agent wro --status rejected --json | json_get "j[0][\"id\"]" >rej &&
    autodev notifications --unread --json >n &&
    ! grep -q "$approved" n &&
    ! grep -q "$(cat rej)" n &&
    autodev notifications --json >all &&
    grep -q "$approved" all && grep -q "$(cat rej)" all &&
    autodev candidates list --agent sec --limit 1 --json | json_get "j[0][\"id\"]" >sid &&
    autodev notifications --unread --json | grep -q "$(cat sid)" &&
    autodev candidates regenerate "$(cat sid)" >/dev/null &&
    ! autodev notifications --unread --json | grep -q "$(cat sid)"
'

test_expect_success 'the demo runs the whole loop with a model when synthesis is off' '
    autodev --home "$TRASH/demo" init >/dev/null &&
    autodev --home "$TRASH/demo" settings set memento_synthesis false >/dev/null &&
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=$base/memento_invoice/v1 \
        autodev --home "$TRASH/demo" demo >out 2>err &&
    grep -Eq "^  model openai:gpt-4o-mini wrote candidate [0-9a-f-]{36} \(extract_invoice_id\): validated, passed 3 of 3 checks$" out &&
    grep -q "^  approved (reviewer \"demo\"): extract_invoice_id 1.0.0 is in the catalog$" out &&
    grep -q "^  the same task on a new e-mail: succeeded with extract_invoice_id, output \"INV-2025-0103\"$" out
'

# ---- synthesis by example: a task no skill covers yet ----

ORDER="Find the order number in this message"

# fail_order AGENT I [WANT]: the agent tries the order task on message I (1 or 2).
fail_order() {
    case $2 in
    1) in='{"text": "Hi! Order number: 4471 shipped on 2024-05-02."}' want='"4471"' ;;
    *) in='{"text": "Thanks for waiting (3 items). Order number: 90210"}' want='"90210"' ;;
    esac
    test_expect_code 1 autodev task run --agent "$1" --description "$ORDER" --input "$in" \
        --expect "${3:-$want}" >/dev/null 2>&1
}

test_expect_success 'synthesis on, no model: the skill is synthesized, validated, costs nothing' '
    autodev settings set memento_synthesis true >/dev/null &&
    autodev agent add byex --maturity INTERN >/dev/null &&
    fail_order byex 1 && fail_order byex 2 &&
    before=$(served memento_invoice) &&
    autodev jobs run --until-idle 2>err &&
    grep -q "memento: candidate .* (find_order_number) validated: passed 3 of 3 checks" err &&
    test "$(served memento_invoice)" = "$before" &&
    test "$(jobs_of byex done)" = 1 &&
    test "$(cand byex "j[\"status\"]")" = validated &&
    test "$(cand byex "j[\"failure_pattern\"][\"proposer\"]")" = synth &&
    test "$(cand byex "j[\"failure_pattern\"][\"tokens\"]")" = 0 &&
    cand byex "j[\"failure_pattern\"][\"synth_summary\"]" >sum &&
    grep -q "Order number:" sum &&
    cand byex "j[\"generated_code\"]" >code &&
    grep -q "^def find_order_number(text: str) -> str:" code &&
    grep -q "^    \"\"\"Find the order number in this message$" code &&
    autodev candidates test "$(cat "$TRASH/cid")" \
        --input "{\"text\": \"Order number: 31337 (2 boxes)\"}" >out &&
    grep -q "31337" out
'

test_expect_success 'a rejected synthesized skill is regenerated by the model, not synthesized again' '
    autodev candidates reject "$(cat "$TRASH/cid")" --reason "numbers may carry letters" >/dev/null &&
    autodev candidates regenerate "$(cat "$TRASH/cid")" >/dev/null &&
    before=$(served memento_invoice) &&
    run_jobs memento_invoice 2>err &&
    test "$(served memento_invoice)" = $((before + 1)) &&
    test "$(cand byex "j[\"failure_pattern\"][\"proposer\"]")" = llm &&
    test "$(cand byex "j[\"failure_pattern\"][\"synth_why\"]")" = "a synthesized candidate of this pattern was turned down before"
'

test_expect_success 'when no program fits the examples the model is asked' '
    autodev agent add odd --maturity INTERN >/dev/null &&
    fail_order odd 1 "\"blue\"" && fail_order odd 2 "\"seven\"" &&
    before=$(served memento_invoice) &&
    run_jobs memento_invoice 2>err &&
    test "$(served memento_invoice)" = $((before + 1)) &&
    test "$(cand odd "j[\"failure_pattern\"][\"proposer\"]")" = llm &&
    cand odd "j[\"failure_pattern\"][\"synth_why\"]" >why &&
    grep -q "candidate" why
'

test_expect_success 'no program fits and no model: the job fails for good with the reason' '
    autodev agent add odd2 --maturity INTERN >/dev/null &&
    fail_order odd2 1 "\"blue\"" && fail_order odd2 2 "\"seven\"" &&
    autodev jobs run --until-idle 2>err &&
    test "$(jobs_of odd2 failed)" = 1 &&
    autodev jobs list --kind memento.generate --status failed --json >j &&
    grep -q "synthesis by example found no skill ([^)]*candidate" j &&
    grep -q "and no model is configured (set AUTODEV_LLM)" j
'

test_expect_success 'offline: Memento runs on synthesis by example alone, with no model' '
    autodev agent add offs --maturity INTERN >/dev/null &&
    fail_order offs 1 && fail_order offs 2 &&
    AUTODEV_LLM=offline autodev jobs run --until-idle 2>err &&
    test "$(jobs_of offs done)" = 1 &&
    test "$(cand offs "j[\"status\"]")" = validated &&
    test "$(cand offs "j[\"failure_pattern\"][\"proposer\"]")" = synth
'

# episode_fail AGENT TRACE: an outside agent records a failure of the invoice task.
episode_fail() {
    printf "{\"agent\": \"%s\", \"task_description\": \"%s\", \"success\": false, \"error_trace\": \"%s\"}" \
        "$1" "$TASK" "$2" | autodev episode add >/dev/null
}

test_expect_success 'failures of the infrastructure are no skill gap: no job, however often' '
    autodev agent add inf --maturity INTERN >/dev/null &&
    for t in "InfrastructureError: the vector store is down" "LLMError: openai: HTTP 503" \
             "SandboxError: the sandbox failed" "CostLimitReached: spent \$0.6 of \$0.5"; do
        episode_fail inf "$t" && episode_fail inf "$t" || return 1
    done &&
    test "$(jobs_of inf)" = 0 &&
    episode_fail inf "KeyError: total" &&
    episode_fail inf "KeyError: total" &&
    test "$(jobs_of inf queued)" = 1
'

test_done
