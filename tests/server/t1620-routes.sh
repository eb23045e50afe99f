#!/bin/sh
test_description='The routes at work: agents, episodes, skills, tasks, candidates, notifications, settings, jobs, tokens, pages, metrics'
. "$(dirname "$0")/lib.sh"

# items: the number of items of the last page.
items() {
    jbody "len(j[\"items\"])"
}

test_expect_success 'setup: a store, tokens, a skill, the server' '
    autodev init >/dev/null &&
    make_token admin >admin && make_token reviewer >rev && make_token agent >agent &&
    printf "def shout(text: str) -> str:\n    \"\"\"Shout the text.\"\"\"\n    return text.upper()\n" >v1.py &&
    printf "def shout(text: str) -> str:\n    return text.upper() + \"!\"\n" >v2.py &&
    autodev skill add v1.py --name shout --entry shout >/dev/null &&
    autodev skill add v2.py --name shout --entry shout >/dev/null &&
    start_server --workers 0
'

test_expect_success 'agents: add, list with a cursor, show by name and id, readiness, graduate' '
    for n in ann bob cid dan; do
        test "$(api "$(cat admin)" POST /v1/agents "{\"name\": \"$n\"}")" = 201 || exit 1
    done &&
    test "$(api "$(cat admin)" POST /v1/agents "{\"name\": \"ann\"}")" = 409 &&
    error_is conflict &&
    test "$(api "$(cat admin)" POST /v1/agents "{\"name\": \"eve\", \"maturity\": \"BOSS\"}")" = 422 &&
    test "$(api "$(cat admin)" POST /v1/agents "{\"name\": \"eve\", \"color\": \"red\"}")" = 422 &&
    grep -q "unknown field .color." body &&
    test "$(api "$(cat agent)" GET "/v1/agents?limit=3")" = 200 &&
    test "$(jbody "[a[\"name\"] for a in j[\"items\"]]")" = "[\"ann\", \"bob\", \"cid\"]" &&
    cur=$(jbody "j[\"next_cursor\"]") &&
    test "$(printf %s "$cur" | /usr/bin/python3 -c "import base64,sys; print(base64.urlsafe_b64decode(sys.stdin.read() + \"==\").decode())")" = cid &&
    test "$(api "$(cat agent)" GET "/v1/agents?limit=3&cursor=$cur")" = 200 &&
    test "$(jbody "[a[\"name\"] for a in j[\"items\"]]")" = "[\"dan\"]" &&
    test "$(jbody "j[\"next_cursor\"]")" = null &&
    test "$(api "$(cat agent)" GET /v1/agents/ann)" = 200 &&
    id=$(jbody "j[\"id\"]") &&
    test "$(api "$(cat agent)" GET "/v1/agents/$id")" = 200 &&
    test "$(jbody "j[\"name\"]")" = ann &&
    test "$(api "$(cat agent)" GET /v1/agents/ann/readiness)" = 200 &&
    test "$(jbody "j[\"ready\"]")" = false &&
    test "$(api "$(cat rev)" POST /v1/agents/ann/graduate)" = 409 &&
    grep -q "agent ann is not ready for INTERN" body &&
    test "$(api "$(cat agent)" GET "/v1/agents?limit=0")" = 400 &&
    test "$(api "$(cat agent)" GET "/v1/agents?cursor=a%20b")" = 400 &&
    test "$(api "$(cat agent)" GET "/v1/agents?cursor=cid")" = 400 &&
    error_is bad_request
'

test_expect_success 'episodes: one, a batch, a page after a cursor, one by id with its segments' '
    test "$(api "$(cat agent)" POST /v1/episodes "{\"agent\": \"bob\", \"task_description\": \"first\", \"success\": true, \"segments\": [{\"kind\": \"note\", \"content\": \"hello\"}]}")" = 201 &&
    first=$(jbody "j[\"id\"]") &&
    /usr/bin/python3 -c "import json
for i in range(7): print(json.dumps({\"agent\": \"bob\", \"task_description\": \"t%d\" % i, \"success\": i % 2 == 0, \"task_kind\": \"k\"}))" >seven.jsonl &&
    test "$(api "$(cat agent)" POST /v1/episodes/batch @seven.jsonl application/x-ndjson)" = 200 &&
    test "$(jbody "j[\"recorded\"]")" = 7 &&
    test "$(api "$(cat rev)" GET "/v1/episodes?agent=bob&limit=5")" = 200 &&
    test "$(items)" = 5 &&
    test "$(jbody "j[\"items\"][0][\"task_description\"]")" = t6 &&
    cursor=$(jbody "j[\"next_cursor\"]") &&
    test "$(api "$(cat rev)" GET "/v1/episodes?agent=bob&limit=5&cursor=$cursor")" = 200 &&
    test "$(jbody "[e[\"task_description\"] for e in j[\"items\"]]")" = "[\"t1\", \"t0\", \"first\"]" &&
    test "$(api "$(cat rev)" GET "/v1/episodes?success=false&kind=k")" = 200 &&
    test "$(items)" = 3 &&
    test "$(api "$(cat rev)" GET "/v1/episodes/$first")" = 200 &&
    test "$(jbody "j[\"segments\"][0][\"content\"]")" = hello &&
    test "$(api "$(cat rev)" GET /v1/episodes/nosuch)" = 404 &&
    test "$(api "$(cat rev)" GET "/v1/episodes?success=maybe")" = 400 &&
    test "$(api "$(cat rev)" GET "/v1/episodes?agent=zed")" = 404
'

test_expect_success 'skills: list, search, show a version, versions, run, roll back' '
    test "$(api "$(cat agent)" GET /v1/skills)" = 200 &&
    test "$(jbody "[s[\"name\"] for s in j[\"items\"]]")" = "[\"shout\"]" &&
    test "$(api "$(cat agent)" GET "/v1/skills/search?q=shout%20the%20text")" = 200 &&
    test "$(jbody "j[\"items\"][0][\"name\"]")" = shout &&
    test "$(jbody "j[\"items\"][0][\"score\"] > 0")" = true &&
    test "$(api "$(cat agent)" GET /v1/skills/search)" = 400 &&
    test "$(api "$(cat agent)" GET /v1/skills/shout)" = 200 &&
    test "$(jbody "j[\"version\"][\"semver\"]")" = 1.1.0 &&
    grep -q "!" body &&
    test "$(api "$(cat agent)" GET "/v1/skills/shout?version=1.0.0")" = 200 &&
    test "$(jbody "j[\"version\"][\"current\"]")" = false &&
    test "$(api "$(cat agent)" GET /v1/skills/shout/versions)" = 200 &&
    test "$(jbody "[v[\"semver\"] for v in j[\"items\"]]")" = "[\"1.0.0\", \"1.1.0\"]" &&
    test "$(api "$(cat agent)" POST /v1/skills/shout/run "{\"input\": {\"text\": \"hi\"}}")" = 200 &&
    test "$(jbody "j[\"output\"]")" = "HI!" &&
    test "$(jbody "j[\"episode_id\"]")" = null &&
    test "$(api "$(cat agent)" POST /v1/skills/shout/run "{\"input\": {\"text\": \"hi\"}, \"agent\": \"cid\", \"version\": \"1.0.0\"}")" = 200 &&
    test "$(jbody "j[\"output\"]")" = HI &&
    test "$(jbody "j[\"episode_id\"] is not None")" = true &&
    test "$(api "$(cat agent)" POST /v1/skills/shout/run "{\"input\": {\"txt\": \"hi\"}}")" = 422 &&
    test "$(api "$(cat agent)" POST /v1/skills/nosuch/run "{}")" = 404 &&
    test "$(api "$(cat rev)" POST /v1/skills/shout/rollback "{\"version\": \"1.0.0\"}")" = 200 &&
    test "$(api "$(cat agent)" GET /v1/skills/shout)" = 200 &&
    test "$(jbody "j[\"version\"][\"semver\"]")" = 1.0.0 &&
    test "$(api "$(cat rev)" POST /v1/skills/shout/rollback "{\"version\": \"9.0.0\"}")" = 404
'

test_expect_success 'a catalog page is never stale: a skill added elsewhere is there at once' '
    for i in 1 2 3 4; do
        test "$(api "$(cat agent)" GET /v1/skills)" = 200 || exit 1
    done &&
    test "$(items)" = 1 &&
    printf "def whisper(text: str) -> str:\n    return text.lower()\n" >w.py &&
    autodev skill add w.py --name whisper --entry whisper >/dev/null &&
    test "$(api "$(cat agent)" GET /v1/skills)" = 200 &&
    test "$(jbody "[s[\"name\"] for s in j[\"items\"]]")" = "[\"shout\", \"whisper\"]" &&
    test "$(api "$(cat agent)" GET /v1/skills/whisper)" = 200 &&
    test "$(api "$(cat rev)" POST /v1/skills/shout/rollback "{\"version\": \"1.1.0\"}")" = 200 &&
    for i in 1 2 3 4; do
        test "$(api "$(cat agent)" GET /v1/skills/shout)" = 200 &&
        test "$(jbody "j[\"version\"][\"semver\"]")" = 1.1.0 || exit 1
    done &&
    test "$(api "$(cat rev)" POST /v1/skills/shout/rollback "{\"version\": \"1.0.0\"}")" = 200 &&
    for i in 1 2 3 4; do
        test "$(api "$(cat agent)" GET /v1/skills/shout)" = 200 &&
        test "$(jbody "j[\"version\"][\"semver\"]")" = 1.0.0 || exit 1
    done
'

test_expect_success 'tasks: a task succeeds with a matched skill; a failed one is a recorded episode' '
    test "$(api "$(cat agent)" POST /v1/tasks/run "{\"agent\": \"dan\", \"description\": \"shout this\", \"input\": {\"text\": \"a\"}, \"expected\": \"A\"}")" = 200 &&
    test "$(jbody "j[\"success\"]")" = true &&
    test "$(jbody "j[\"skill\"]")" = shout &&
    test "$(api "$(cat agent)" POST /v1/tasks/run "{\"agent\": \"dan\", \"description\": \"shout this\", \"input\": {\"text\": \"a\"}, \"expected\": \"b\"}")" = 200 &&
    test "$(jbody "j[\"success\"]")" = false &&
    test "$(api "$(cat agent)" GET "/v1/episodes/$(jbody "j[\"episode_id\"]")")" = 200 &&
    test "$(api "$(cat agent)" POST /v1/tasks/run "{\"agent\": \"dan\", \"description\": \"x\", \"skill\": \"nosuch\"}")" = 404 &&
    test "$(api "$(cat agent)" POST /v1/tasks/run "{\"agent\": \"dan\"}")" = 422
'

test_expect_success 'settings: get; patch two keys; put replaces; bad values change nothing' '
    test "$(api "$(cat agent)" GET /v1/settings)" = 200 &&
    test "$(jbody "j[\"enabled\"]")" = false &&
    test "$(api "$(cat admin)" PATCH /v1/settings "{\"enabled\": true, \"reflection_threshold\": 3}")" = 200 &&
    test "$(autodev settings get enabled)" = true && test "$(autodev settings get reflection_threshold)" = 3 &&
    test "$(api "$(cat admin)" PATCH /v1/settings "{\"reflection_threshold\": 1000}")" = 422 &&
    grep -q "reflection_threshold" body &&
    test "$(api "$(cat admin)" PATCH /v1/settings "{\"nosuch\": 1}")" = 422 &&
    test "$(autodev settings get reflection_threshold)" = 3 &&
    test "$(api "$(cat admin)" PUT /v1/settings "{\"enabled\": true}")" = 200 &&
    test "$(autodev settings get reflection_threshold)" = 2 &&
    test "$(api "$(cat rev)" PATCH /v1/settings "{\"enabled\": false}")" = 403
'

test_expect_success 'jobs, candidates and notifications: reject with a reason, regenerate, mark read' '
    autodev agent set-maturity ann INTERN >/dev/null &&
    for i in 4471 90210; do
        printf "{\"agent\": \"ann\", \"task_description\": \"Find the order number\", \"success\": false, \"input\": {\"text\": \"Order number: $i\"}, \"expected\": \"$i\", \"error_trace\": \"NoSkillError: none\"}" |
            autodev episode add >/dev/null || exit 1
    done &&
    test "$(api "$(cat rev)" GET "/v1/jobs?kind=memento.generate&status=queued")" = 200 &&
    test "$(items)" = 1 &&
    job=$(jbody "j[\"items\"][0][\"id\"]") &&
    test "$(api "$(cat rev)" GET "/v1/jobs/$job")" = 200 &&
    test "$(jbody "j[\"kind\"]")" = memento.generate &&
    test "$(api "$(cat rev)" GET /v1/jobs/nosuch)" = 404 &&
    test "$(api "$(cat rev)" GET "/v1/jobs?status=lost")" = 400 &&
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    test "$(api "$(cat rev)" GET "/v1/candidates?status=validated&agent=ann")" = 200 &&
    test "$(items)" = 1 &&
    cid=$(jbody "j[\"items\"][0][\"id\"]") &&
    test "$(jbody "\"generated_code\" in j[\"items\"][0]")" = false &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$cid/reject" "{}")" = 422 &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$cid/reject" "{\"reason\": \"wrong shape\"}")" = 200 &&
    test "$(api "$(cat rev)" GET "/v1/candidates/$cid")" = 200 &&
    test "$(jbody "[j[\"status\"], j[\"reason\"]]")" = "[\"rejected\", \"wrong shape\"]" &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$cid/approve")" = 409 &&
    test "$(api "$(cat rev)" POST "/v1/candidates/$cid/regenerate")" = 202 &&
    test "$(jbody "j[\"kind\"]")" = memento.generate &&
    again=$(jbody "j[\"job_id\"]") &&
    test "$(api "$(cat rev)" GET "/v1/jobs/$again")" = 200 &&
    test "$(jbody "j[\"status\"]")" = queued &&
    test "$(api "$(cat rev)" GET "/v1/candidates?status=bogus")" = 400 &&
    test "$(api "$(cat rev)" GET "/v1/notifications?unread=true")" = 200 &&
    n0=$(items) && test "$n0" -ge 1 &&
    nid=$(jbody "j[\"items\"][0][\"id\"]") &&
    test "$(api "$(cat rev)" POST "/v1/notifications/$nid/read")" = 200 &&
    test "$(jbody "j[\"marked\"]")" = 1 &&
    test "$(api "$(cat rev)" POST /v1/notifications/read)" = 200 &&
    test "$(jbody "j[\"marked\"]")" = $((n0 - 1)) &&
    test "$(api "$(cat rev)" GET "/v1/notifications?unread=true")" = 200 &&
    test "$(items)" = 0 &&
    test "$(api "$(cat rev)" POST /v1/notifications/nosuch/read)" = 404 &&
    test "$(api "$(cat rev)" GET "/v1/jobs?limit=1")" = 200 &&
    test "$(jbody "j[\"items\"][0][\"id\"]")" = "$again" &&
    cur=$(jbody "j[\"next_cursor\"]") &&
    test "$(api "$(cat rev)" GET "/v1/jobs?limit=1&cursor=$cur")" = 200 &&
    test "$(jbody "[j[\"items\"][0][\"id\"], j[\"next_cursor\"]]")" = "[\"$job\", null]"
'

test_expect_success 'tokens over HTTP: an admin makes one (shown once), lists and revokes it' '
    test "$(api "$(cat admin)" POST /v1/tokens "{\"role\": \"agent\", \"name\": \"bot\"}")" = 201 &&
    grep -Eq "\"token\":\"adt_[A-Za-z0-9_-]{43}\"" body &&
    new=$(jbody "j[\"token\"]") &&
    test "$(api "$new" GET /v1/agents)" = 200 &&
    test "$(api "$(cat admin)" GET /v1/tokens)" = 200 &&
    ! grep -q "adt_" body &&
    ! grep -q "hash" body &&
    test "$(jbody "[t[\"name\"] for t in j[\"items\"] if t[\"name\"] == \"bot\"]")" = "[\"bot\"]" &&
    test "$(api "$(cat admin)" POST /v1/tokens "{\"role\": \"operator\"}")" = 422 &&
    test "$(api "$(cat admin)" DELETE /v1/tokens/bot)" = 200 &&
    test "$(jbody "j[\"revoked_at\"] is not None")" = true &&
    test "$(api "$new" GET /v1/agents)" = 401 &&
    test "$(api "$(cat admin)" DELETE /v1/tokens/bot)" = 409
'

test_expect_success 'metrics: requests by route and status, latencies, jobs, sandbox runs, model use' '
    test "$(api "$(cat admin)" GET /metrics)" = 200 &&
    grep -qi "^content-type: text/plain; version=0.0.4" headers &&
    grep -Eq "^autodev_http_requests_total\{method=\"POST\",route=\"/v1/agents\",status=\"201\"\} 4$" body &&
    grep -Eq "^autodev_http_requests_total\{method=\"POST\",route=\"/v1/agents\",status=\"409\"\} 1$" body &&
    grep -Eq "^autodev_http_requests_total\{method=\"GET\",route=\"none\",status=\"404\"\}|^autodev_http_requests_total\{method=\"GET\",route=\"/v1/episodes/\{id\}\",status=\"404\"\} 1$" body &&
    grep -Eq "^autodev_http_request_duration_seconds_bucket\{method=\"GET\",route=\"/v1/skills\",le=\"\+Inf\"\} [1-9]" body &&
    grep -Eq "^autodev_http_request_duration_seconds_count\{method=\"POST\",route=\"/v1/tasks/run\"\} 4$" body &&
    grep -Eq "^autodev_jobs\{state=\"queued\"\} 1$" body &&
    grep -Eq "^autodev_sandbox_runs_total\{status=\"ok\"\} [4-9]" body &&
    grep -q "^# TYPE autodev_llm_tokens_total counter" body &&
    grep -q "^# TYPE autodev_llm_cost_usd_total counter" body &&
    grep -q "^autodev_event_streams 0" body
'

test_expect_success 'the server stops cleanly' '
    stop_server
'

test_done
