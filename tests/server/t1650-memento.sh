#!/bin/sh
test_description='The Memento loop over HTTP: an agent posts failures, a worker writes the skill, a reviewer approves, the next task succeeds'
. "$(dirname "$0")/lib.sh"

# No model: synthesis by example writes the skill from the failures' inputs
# and expected outputs (as in tests/cli/t1210-memento.sh), so nothing here
# needs the network.
unset AUTODEV_LLM
ORDER="Find the order number in this message"

# failure I: the episode an outside agent posts after failing the task on message I.
failure() {
    case $1 in
    1) in='{"text": "Hi! Order number: 4471 shipped on 2024-05-02."}' want='"4471"' ;;
    *) in='{"text": "Thanks for waiting (3 items). Order number: 90210"}' want='"90210"' ;;
    esac
    printf '{"agent": "ann", "task_description": "%s", "success": false, "input": %s, "expected": %s, "error_trace": "NoSkillError: no skill matches the task"}' \
        "$ORDER" "$in" "$want"
}

test_expect_success 'setup: a store, three tokens, the server with one worker' '
    autodev init >/dev/null &&
    make_token admin >admin && make_token reviewer >rev && make_token agent >agent &&
    start_server --workers 1 --poll 50
'

test_expect_success 'the admin turns auto-dev on and adds an INTERN agent, over HTTP' '
    test "$(api "$(cat admin)" PATCH /v1/settings "{\"enabled\": true}")" = 200 &&
    test "$(jbody "j[\"enabled\"]")" = true &&
    test "$(jbody "j[\"memento_synthesis\"]")" = true &&
    test "$(api "$(cat admin)" POST /v1/agents "{\"name\": \"ann\", \"maturity\": \"INTERN\"}")" = 201 &&
    test "$(jbody "j[\"maturity\"]")" = INTERN
'

test_expect_success 'the agent posts two similar failures; the second queues a generation job' '
    test "$(api "$(cat agent)" POST /v1/episodes "$(failure 1)")" = 201 &&
    test "$(api "$(cat agent)" POST /v1/episodes "$(failure 2)")" = 201 &&
    test "$(api "$(cat agent)" GET "/v1/episodes?agent=ann&success=false")" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 2 &&
    test "$(api "$(cat agent)" GET "/v1/jobs?kind=memento.generate")" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 1
'

test_expect_success 'the worker runs the job: a validated candidate waits for review' '
    wait_for "api \"\$(cat rev)\" GET \"/v1/candidates?agent=ann&status=validated\" >/dev/null &&
              test \"\$(jbody \"len(j[\\\"items\\\"])\")\" = 1" 120 &&
    jbody "j[\"items\"][0][\"id\"]" >cid &&
    test "$(jbody "j[\"items\"][0][\"skill_name\"]")" = find_order_number &&
    test "$(api "$(cat agent)" GET "/v1/jobs?kind=memento.generate&status=done")" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 1 &&
    grep -q "worker 1: job .* memento.generate done" "$TRASH/serve.err"
'

test_expect_success 'the reviewer reads it, tries it and is told about it' '
    test "$(api "$(cat rev)" GET "/v1/candidates/$(cat cid)")" = 200 &&
    jbody "j[\"generated_code\"]" >code &&
    grep -q "^def find_order_number(text: str) -> str:" code &&
    test "$(jbody "j[\"validation_result\"][\"passed\"]")" = 3 &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$(cat cid)/test" "{\"input\": {\"text\": \"Order number: 123\"}}")" = 200 &&
    test "$(jbody "j[\"output\"]")" = 123 &&
    test "$(api "$(cat rev)" GET "/v1/notifications?type=skill_candidate_validated")" = 200 &&
    test "$(jbody "j[\"items\"][0][\"payload\"][\"candidate_id\"]")" = "$(cat cid)"
'

test_expect_success 'an agent may not approve; the reviewer does, signed with the token name' '
    test "$(api "$(cat agent)" POST "/v1/candidates/$(cat cid)/approve")" = 403 &&
    error_is forbidden &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$(cat cid)/approve")" = 200 &&
    test "$(jbody "j[\"skill\"]")" = find_order_number &&
    test "$(jbody "j[\"semver\"]")" = 1.0.0 &&
    name=$(autodev token list --json | json_get "[t[\"name\"] for t in j if t[\"role\"] == \"reviewer\"][0]") &&
    test "$(jbody "j[\"reviewed_by\"]")" = "$name" &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$(cat cid)/approve")" = 409 &&
    error_is conflict
'

test_expect_success 'the skill is in the catalog, and the agent next task succeeds with it' '
    test "$(api "$(cat agent)" GET /v1/skills/find_order_number)" = 200 &&
    test "$(jbody "j[\"version\"][\"semver\"]")" = 1.0.0 &&
    test "$(jbody "j[\"version\"][\"origin\"]")" = memento &&
    test "$(api "$(cat agent)" POST /v1/tasks/run "{\"agent\": \"ann\", \"description\": \"$ORDER\", \"input\": {\"text\": \"Your parcel: Order number: 5150 is on its way\"}, \"expected\": \"5150\"}")" = 200 &&
    test "$(jbody "j[\"success\"]")" = true &&
    test "$(jbody "j[\"skill\"]")" = find_order_number &&
    test "$(jbody "j[\"output\"]")" = 5150 &&
    test "$(api "$(cat agent)" GET "/v1/episodes/$(jbody "j[\"episode_id\"]")")" = 200 &&
    test "$(jbody "j[\"success\"]")" = true
'

test_expect_success 'the server stops cleanly and the store is consistent' '
    stop_server &&
    autodev jobs enqueue store.check >/dev/null &&
    autodev jobs run --kind store.check >out &&
    grep -q "store.check  done" out
'

test_done
