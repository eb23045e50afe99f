#!/bin/sh
test_description='Workers and crashes: kill -9 of serve while jobs run, restart, every job done once; a clean stop lets jobs finish or hands them back'
. "$(dirname "$0")/lib.sh"

unset AUTODEV_LLM
ORDER="Find the order number in this message"
TASK="Extract the invoice id from this e-mail"

# order_failures AGENT: two failed order tasks of AGENT (synthesis writes their skill).
order_failures() {
    printf '{"agent": "%s", "task_description": "%s", "success": false, "input": {"text": "Order number: 4471 shipped."}, "expected": "4471", "error_trace": "NoSkillError: none"}' \
        "$1" "$ORDER" | autodev episode add >/dev/null &&
    printf '{"agent": "%s", "task_description": "%s", "success": false, "input": {"text": "Thanks. Order number: 90210"}, "expected": "90210", "error_trace": "NoSkillError: none"}' \
        "$1" "$ORDER" | autodev episode add >/dev/null
}

# invoice_failures AGENT: two failed invoice tasks (a model writes their skill).
invoice_failures() {
    printf '{"agent": "%s", "task_description": "%s", "success": false, "input": {"text": "Hello, please find invoice INV-2024-0042 attached."}, "expected": "INV-2024-0042", "error_trace": "NoSkillError: none"}' \
        "$1" "$TASK" | autodev episode add >/dev/null &&
    printf '{"agent": "%s", "task_description": "%s", "success": false, "input": {"text": "Reminder: INV-2024-0077 is due on Friday."}, "expected": "INV-2024-0077", "error_trace": "NoSkillError: none"}' \
        "$1" "$TASK" | autodev episode add >/dev/null
}

# count STATUS: jobs of that status.
count() {
    autodev jobs list --limit 10000 --status "$1" --json | json_get "len(j)"
}

test_expect_success 'setup: six patterns to write skills for, and thirty integrity checks' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set max_skill_candidates_per_day 20 >/dev/null &&
    for a in a1 a2 a3 a4 a5 a6; do
        autodev agent add $a --maturity INTERN >/dev/null && order_failures $a || exit 1
    done &&
    for i in $(seq 30); do autodev jobs enqueue store.check >/dev/null || exit 1; done &&
    test "$(count queued)" = 36
'

test_expect_success 'kill -9 of serve while its workers run jobs' '
    start_server --workers 2 --lease 3 --poll 20 &&
    wait_for "test \$(count done) -ge 2" 120 &&
    stop_server KILL &&
    done_at_kill=$(count done) &&
    echo "$done_at_kill" >done_at_kill &&
    test "$done_at_kill" -lt 36
'

test_expect_success 'restarted, the workers finish every job; each exactly once' '
    start_server --workers 2 --lease 3 --poll 20 &&
    wait_for "test \$(count done) = 36" 300 &&
    test "$(count failed)" = 0 && test "$(count dead)" = 0 &&
    test "$(count queued)" = 0 && test "$(count running)" = 0 &&
    for a in a1 a2 a3 a4 a5 a6; do
        test "$(autodev candidates list --agent $a --json | json_get "len(j)")" = 1 || exit 1
    done &&
    autodev jobs list --limit 10000 --json >jobs.json &&
    test "$(json_get "max(x[\"attempts\"] for x in j)" <jobs.json)" -le 2 &&
    test "$(json_get "sum(x[\"attempts\"] == 1 for x in j)" <jobs.json)" -ge "$(cat done_at_kill)" &&
    stop_server
'

test_expect_success 'the store passes its integrity check after the crash' '
    autodev jobs enqueue store.check >j &&
    autodev jobs run --kind store.check >out &&
    grep -q "^$(cat j)  store.check  done" out
'

# ---- a clean stop: running jobs finish, or go back to the queue ----

test_expect_success 'setup: a loopback model that answers slowly, and a model-written pattern' '
    autodev settings set memento_synthesis false >/dev/null &&
    /usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
        --port-file "$TRASH/llmport" --latency-ms 60000 >/dev/null 2>&1 &
    echo $! >llmpid &&
    wait_for "test -s \"$TRASH/llmport\"" 20 &&
    autodev agent add slow --maturity INTERN >/dev/null &&
    invoice_failures slow &&
    test "$(count queued)" = 1
'

test_expect_success 'SIGTERM with a job still running past the grace: it goes back to the queue, exit 0' '
    OPENAI_API_KEY=sk-test-0123456789 AUTODEV_LLM=openai:gpt-4o-mini \
    OPENAI_BASE_URL="http://127.0.0.1:$(cat llmport)/case/memento_invoice/v1" \
        start_server --workers 1 --grace 1 --poll 20 &&
    wait_for "test \$(count running) = 1" 60 &&
    stop_server &&
    grep -q "handed 1 running job back to the queue" serve.err &&
    test "$(count queued)" = 1 && test "$(count running)" = 0 &&
    autodev jobs list --status queued --json | json_get "j[0][\"last_error\"]" >why &&
    grep -q "handed back" why &&
    kill "$(cat llmpid)"
'

test_expect_success 'the job handed back runs to its end under the next worker, once' '
    /usr/bin/python3 "$AUTODEV_SRC/tests/llm/llmserver.py" --cases "$AUTODEV_SRC/tests/llm/cases" \
        --port-file "$TRASH/llmport2" --latency-ms 1500 >/dev/null 2>&1 &
    echo $! >llmpid2 &&
    wait_for "test -s \"$TRASH/llmport2\"" 20 &&
    OPENAI_API_KEY=sk-test-0123456789 AUTODEV_LLM=openai:gpt-4o-mini \
    OPENAI_BASE_URL="http://127.0.0.1:$(cat llmport2)/case/memento_invoice/v1" \
        start_server --workers 1 --grace 60 --poll 20 &&
    wait_for "test \$(count running) = 1" 60 &&
    stop_server &&
    ! grep -q "handed" serve.err &&
    test "$(count queued)" = 0 &&
    test "$(autodev candidates list --agent slow --json | json_get "len(j)")" = 1 &&
    test "$(autodev candidates list --agent slow --json | json_get "j[0][\"status\"]")" = validated &&
    kill "$(cat llmpid2)"
'

test_done
