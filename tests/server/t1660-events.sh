#!/bin/sh
test_description='GET /v1/events: Server-Sent Events from the outbox, many clients, resume, topics'
. "$(dirname "$0")/lib.sh"

# lines N AGENT SUCCESS: N episode lines of AGENT, JSON lines for the batch route.
lines() {
    /usr/bin/python3 -c 'import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"agent": sys.argv[2], "task_description": "task %d" % i,
                      "success": sys.argv[3] == "true"}))' "$@"
}

test_expect_success 'setup: a store, tokens, an agent, the server' '
    autodev init >/dev/null &&
    autodev agent add ann >/dev/null &&
    make_token agent >tok &&
    make_token agent other >tok.other &&
    start_server --workers 0
'

test_expect_success 'a stream starts after the newest event and sends what follows' '
    ( $HTTPPY sse "$(base)" "$(cat tok)" --clients 1 --expect 3 --ready ready1 >one.json ) &
    wait_for "test -e ready1" 60 &&
    lines 3 ann true >three.jsonl &&
    test "$(api "$(cat tok)" POST /v1/episodes/batch @three.jsonl application/x-ndjson)" = 200 &&
    wait &&
    test "$(json_get "j[\"ok\"]" <one.json)" = true &&
    test "$(json_get "j[\"events\"]" <one.json)" = "[3]"
'

test_expect_success '50 clients get all of 10,000 events, none lost or twice, in order' '
    ( $HTTPPY sse "$(base)" "$(cat tok)" --clients 50 --expect 10000 --ready ready50 \
        --timeout 600 >fifty.json ) &
    wait_for "test -e ready50" 120 &&
    lines 10000 ann true >many.jsonl &&
    test "$(api "$(cat tok)" POST /v1/episodes/batch @many.jsonl application/x-ndjson)" = 200 &&
    test "$(jbody "j[\"recorded\"]")" = 10000 &&
    wait &&
    cat fifty.json &&
    test "$(json_get "j[\"ok\"]" <fifty.json)" = true &&
    test "$(json_get "sorted(set(j[\"events\"]))" <fifty.json)" = "[10000]" &&
    test "$(json_get "j[\"clients\"]" <fifty.json)" = 50
'

test_expect_success 'the events are the outbox: the same ids as autodev events tail' '
    autodev events tail --limit 10000 --json >tail.jsonl &&
    first=$(head -n 1 tail.jsonl | json_get "j[\"seq\"]") &&
    last=$(tail -n 1 tail.jsonl | json_get "j[\"seq\"]") &&
    test "$(json_get "j[\"first\"]" <fifty.json)" = "[$first]" &&
    test "$(json_get "j[\"last\"]" <fifty.json)" = "[$last]"
'

test_expect_success 'a dropped connection resumes with Last-Event-ID: nothing lost or repeated' '
    since=$(autodev events tail --limit 1 --json | json_get "j[\"seq\"]") &&
    lines 2000 ann true >more.jsonl &&
    test "$(api "$(cat tok)" POST /v1/episodes/batch @more.jsonl application/x-ndjson)" = 200 &&
    $HTTPPY sse "$(base)" "$(cat tok)" --clients 5 --expect 2000 --since "$since" \
        --drop-after 333 >resume.json &&
    cat resume.json &&
    test "$(json_get "j[\"ok\"]" <resume.json)" = true &&
    test "$(json_get "j[\"reconnects\"]" <resume.json)" = 30
'

test_expect_success 'a topic filter sends only that topic' '
    since=$(autodev events tail --limit 1 --json | json_get "j[\"seq\"]") &&
    lines 5 ann true >ok5.jsonl && lines 4 ann false >bad4.jsonl &&
    test "$(api "$(cat tok)" POST /v1/episodes/batch @ok5.jsonl application/x-ndjson)" = 200 &&
    test "$(api "$(cat tok)" POST /v1/episodes/batch @bad4.jsonl application/x-ndjson)" = 200 &&
    $HTTPPY sse "$(base)" "$(cat tok)" --clients 2 --expect 4 --since "$since" \
        --topic task.fail >fail.json &&
    test "$(json_get "j[\"ok\"]" <fail.json)" = true
'

test_expect_success 'another tenant sees none of these events' '
    $HTTPPY sse "$(base)" "$(cat tok.other)" --clients 1 --expect 1 --since 0 --timeout 3 \
        >other.json;
    test "$(json_get "j[\"events\"]" <other.json)" = "[0]"
'

test_expect_success 'bad Last-Event-ID and topics are 400; no token is 401' '
    test "$(curl -s -o body -w "%{http_code}" -H "Authorization: Bearer $(cat tok)" \
        -H "Last-Event-ID: x1" "$(base)/v1/events")" = 400 &&
    test "$(api "$(cat tok)" GET "/v1/events?topic=BAD%20TOPIC")" = 400 &&
    test "$(api - GET /v1/events)" = 401
'

test_expect_success 'SIGTERM ends open streams and the server exits 0' '
    ( $HTTPPY sse "$(base)" "$(cat tok)" --clients 3 --expect 1000000 --ready readyx \
        --timeout 60 >ended.json ) &
    wait_for "test -e readyx" 60 &&
    stop_server &&
    wait &&
    grep -q "stream ended" ended.json
'

test_done
