#!/bin/sh
test_description='PostgreSQL, two servers on one database: SSE clients on either see every event once; 50 concurrent candidate inserts with a daily limit of 5 give exactly 5'
. "$(dirname "$0")/lib.sh"
pg_skip_all

# api_on N TOKEN METHOD PATH [BODY [TYPE]]: api (server/lib.sh) against server N.
api_on() {
    cp "$TRASH/serve$1.port" "$TRASH/port" && shift && api "$@"
}

# lines N AGENT SUCCESS [INPUT EXPECTED]: N episode lines for the batch route.
lines() {
    /usr/bin/python3 -c 'import json, sys
n, agent, ok = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "true"
for i in range(n):
    e = {"agent": agent, "task_description": "task %d" % i, "success": ok}
    if not ok:
        e = {"agent": agent, "task_description": "Find the order number in this message",
             "success": False, "input": {"text": "Order number: %d shipped." % (4471 + i)},
             "expected": str(4471 + i), "error_trace": "NoSkillError: none"}
    print(json.dumps(e))' "$@"
}

test_expect_success 'setup: a PostgreSQL store, tokens, two servers without workers' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set max_skill_candidates_per_day 5 >/dev/null &&
    autodev agent add ann >/dev/null &&
    make_token agent >tok && make_token admin >admin &&
    start_serve 1 --workers 0 && start_serve 2 --workers 0
'

test_expect_success 'SSE clients on either server see each of 1,000 events written through both, once' '
    for n in 1 2; do
        ( $HTTPPY sse "http://127.0.0.1:$(cat serve$n.port)" "$(cat tok)" --clients 3 \
            --expect 1000 --ready ready$n --timeout 600 >sse$n.json ) &
    done &&
    wait_for "test -e ready1 && test -e ready2" 120 &&
    lines 250 ann true >b.jsonl &&
    for n in 1 2 1 2; do
        ( curl -s -o /dev/null -w "%{http_code}\n" \
            -H "Authorization: Bearer $(cat tok)" -H "Content-Type: application/x-ndjson" \
            --data-binary @b.jsonl "http://127.0.0.1:$(cat serve$n.port)/v1/episodes/batch" \
            >>codes ) &
    done &&
    wait &&
    test "$(sort -u codes)" = 200 && test_line_count codes 4 &&
    cat sse1.json sse2.json &&
    for n in 1 2; do
        test "$(json_get "j[\"ok\"]" <sse$n.json)" = true &&
        test "$(json_get "j[\"events\"]" <sse$n.json)" = "[1000, 1000, 1000]" || exit 1
    done &&
    test "$(json_get "[j[\"first\"], j[\"last\"]]" <sse1.json)" = \
         "$(json_get "[j[\"first\"], j[\"last\"]]" <sse2.json)" &&
    test "$(pgq "SELECT count(*) FROM events WHERE topic = '"'"'task.success'"'"'")" = 1000
'

test_expect_success 'setup: 50 INTERN agents, each with a pattern of two failures' '
    for i in $(seq 50); do
        test "$(api_on 1 "$(cat admin)" POST /v1/agents "{\"name\": \"a$i\", \"maturity\": \"INTERN\"}")" = 201 ||
            exit 1
    done &&
    for i in $(seq 50); do lines 2 a$i false || exit 1; done >fails.jsonl &&
    test "$(api_on 2 "$(cat tok)" POST /v1/episodes/batch @fails.jsonl application/x-ndjson)" = 200 &&
    test "$(pgq "SELECT count(*) FROM jobs WHERE kind = '"'"'memento.generate'"'"' AND status = '"'"'queued'"'"'")" = 50
'

# Each memento.generate job writes one candidate by synthesis, so 50 jobs run
# by 2 worker processes and both servers race 50 inserts against the limit.
test_expect_success '50 concurrent candidate inserts across processes with a daily limit of 5 give exactly 5' '
    stop_pid serve1.pid && stop_pid serve2.pid &&
    start_worker 1 --workers 4 --poll 20 && start_worker 2 --workers 4 --poll 20 &&
    start_serve 1 --workers 4 --poll 20 && start_serve 2 --workers 4 --poll 20 &&
    wait_for "test \$(pgq \"SELECT count(*) FROM jobs WHERE kind = '"'"'memento.generate'"'"' AND status IN ('"'"'queued'"'"', '"'"'running'"'"')\") = 0" 600 &&
    pgq "SELECT status, count(*) FROM jobs WHERE kind = '"'"'memento.generate'"'"' GROUP BY status ORDER BY status" >statuses &&
    cat statuses &&
    test "$(pgq "SELECT count(*) FROM skill_candidates")" = 5 &&
    test "$(autodev candidates list --limit 1000 --json | json_get "len(j)")" = 5 &&
    test "$(pgq "SELECT count(*) FROM jobs WHERE kind = '"'"'memento.generate'"'"' AND last_error LIKE '"'"'%limit%'"'"'")" = 45 &&
    for n in 1 2; do stop_pid worker$n.pid || exit 1; done &&
    stop_pid serve1.pid && stop_pid serve2.pid
'

test_done
