#!/bin/sh
test_description='Patch risk of Memento candidates: scored on insert, shown in candidates show and JSON, a CRITICAL one cautioned'
. "$(dirname "$0")/test-lib.sh"

# The loopback server of tests/llm/ plays the model: memento_subprocess
# writes a working extract_invoice_id that also imports subprocess,
# memento_invoice the same function without it.
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

# fail AGENT I: the agent fails the task on input I (1 or 2).
fail() {
    case $2 in
    1) in='{"text": "Hello, please find invoice INV-2024-0042 attached."}' want='"INV-2024-0042"' ;;
    *) in='{"text": "Reminder: INV-2024-0077 is due on Friday."}' want='"INV-2024-0077"' ;;
    esac
    test_expect_code 1 autodev task run --agent "$1" --description "$TASK" --input "$in" \
        --expect "$want" >/dev/null 2>&1
}

# run_jobs CASE: runs the queued jobs with the loopback model playing CASE.
run_jobs() {
    AUTODEV_LLM=openai:gpt-4o-mini OPENAI_BASE_URL=$base/$1/v1 autodev jobs run --until-idle
}

# cand AGENT EXPR: EXPR over the agent's newest candidate (its id into cid).
cand() {
    autodev candidates list --agent "$1" --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/cid" &&
    autodev candidates show "$(cat "$TRASH/cid")" --json | json_get "$2"
}

test_expect_success 'setup: auto-dev on, the model writes the candidates' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set max_skill_candidates_per_day 20 >/dev/null &&
    autodev settings set memento_synthesis false >/dev/null &&
    autodev agent add ann --maturity INTERN >/dev/null &&
    fail ann 1 && fail ann 2 &&
    run_jobs memento_subprocess 2>err &&
    test "$(cand ann "j[\"status\"]")" = validated
'

test_expect_success 'import subprocess: CRITICAL in the JSON, the score in its tier' '
    test "$(cand ann "j[\"risk\"][\"level\"]")" = CRITICAL &&
    test "$(cand ann "j[\"risk_score\"] >= 0.75 and j[\"risk_score\"] <= 1")" = true &&
    test "$(cand ann "j[\"risk\"][\"score\"] == j[\"risk_score\"]")" = true &&
    test "$(cand ann "j[\"validation_result\"][\"risk\"] == j[\"risk\"]")" = true &&
    test "$(cand ann "j[\"risk\"][\"reasons\"][0][\"rule\"]")" = new_import &&
    test "$(cand ann "j[\"risk\"][\"reasons\"][0][\"detail\"]")" = "imports subprocess: runs programs" &&
    test "$(cand ann "j[\"risk\"][\"reasons\"][0][\"line\"]")" = 2 &&
    test "$(cand ann "j[\"risk\"][\"reasons\"][0][\"level\"]")" = CRITICAL &&
    test "$(cand ann "[r[\"detail\"] for r in j[\"risk\"][\"reasons\"]][1]")" = "imports re"
'

test_expect_success 'candidates show: the risk line, one line per reason, the caution' '
    autodev candidates show "$(cat cid)" >out &&
    grep -Eq "^risk +CRITICAL 0\.(7[5-9]|[89][0-9])$" out &&
    grep -q "^  CRITICAL  line 2     new_import: imports subprocess: runs programs$" out &&
    grep -q "^  LOW       line 1     new_import: imports re$" out &&
    grep -q "^  caution patch risk CRITICAL: imports subprocess: runs programs (line 2)" out &&
    test "$(cand ann "[w for w in j[\"validation_result\"][\"warnings\"] if w.startswith(\"patch risk CRITICAL\")] != []")" = true
'

test_expect_success 'the reviewer is notified of the caution' '
    autodev notifications --type skill_candidate_validated --json >n &&
    json_get "j[0][\"message\"]" <n | grep -q "patch risk CRITICAL: imports subprocess"
'

test_expect_success 'candidates list --json carries the risk score' '
    autodev candidates list --agent ann --json >l &&
    test "$(json_get "j[0][\"risk_score\"] >= 0.75" <l)" = true
'

test_expect_success 'a regenerated candidate is scored again: without subprocess, LOW and no caution' '
    autodev candidates reject "$(cat cid)" --reason "no subprocess in a skill" >/dev/null &&
    first=$(cat cid) &&
    autodev candidates regenerate "$first" >/dev/null &&
    run_jobs memento_invoice 2>err &&
    test "$(cand ann "j[\"id\"] != \"$first\"")" = true &&
    test "$(cand ann "j[\"status\"]")" = validated &&
    test "$(cand ann "j[\"risk\"][\"level\"]")" = LOW &&
    test "$(cand ann "j[\"risk_score\"] < 0.25")" = true &&
    test "$(cand ann "[r[\"detail\"] for r in j[\"risk\"][\"reasons\"]]")" = "[\"imports re\"]" &&
    autodev candidates show "$(cat cid)" >out &&
    grep -Eq "^risk +LOW 0\.[0-2][0-9]$" out &&
    ! grep -q "patch risk" out
'

test_expect_success 'a reply with no function is still scored' '
    autodev agent add nof --maturity INTERN >/dev/null &&
    fail nof 1 && fail nof 2 &&
    run_jobs memento_no_function 2>err &&
    test "$(cand nof "j[\"status\"]")" = failed &&
    test "$(cand nof "j[\"risk_score\"] is not None")" = true &&
    test "$(cand nof "j[\"risk\"][\"level\"] in (\"LOW\", \"MEDIUM\", \"HIGH\", \"CRITICAL\")")" = true &&
    autodev candidates show "$(cat cid)" >out &&
    grep -Eq "^risk +(LOW|MEDIUM|HIGH|CRITICAL) [01]\.[0-9][0-9]$" out
'

test_done
