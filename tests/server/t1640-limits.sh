#!/bin/sh
test_description='Limits and bad input: body and header caps, slow clients, the connection cap, rate limits, bad JSON, types and tokens'
. "$(dirname "$0")/lib.sh"

# counts: episodes and agents of the tenant, the proof that nothing changed.
counts() {
    echo "$(episode_count) $(autodev agent list --json | json_get "len(j)")"
}

test_expect_success 'setup: a store, tokens, the server with small limits' '
    autodev init >/dev/null &&
    autodev agent add ann >/dev/null &&
    make_token admin >admin && make_token agent >agent && make_token reviewer >rev &&
    make_token agent >limited &&
    start_server --workers 0 --max-body 4096 --max-header 8192 --timeout 2 \
        --max-connections 16 &&
    counts >before
'

test_expect_success 'a body over the cap is 413 before it is read, and nothing is recorded' '
    /usr/bin/python3 -c "import json; print(json.dumps({\"agent\": \"ann\", \"task_description\": \"x\" * 5000, \"success\": True}))" >big.json &&
    test "$(api "$(cat agent)" POST /v1/episodes @big.json)" = 413 &&
    error_is payload_too_large &&
    grep -q "over the 4096-byte limit" body &&
    code=$(curl -s -o body -w "%{http_code}" -H "Authorization: Bearer $(cat agent)" \
        -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" \
        --data-binary @big.json "$(base)/v1/episodes") &&
    test "$code" = 413 &&
    error_is payload_too_large &&
    counts >now && test_cmp before now
'

test_expect_success 'headers over the cap are refused (431, in JSON) and the connection closed' '
    big=$(head -c 20000 /dev/zero | tr "\0" a) &&
    code=$(curl -s -o body -D headers -w "%{http_code}" -H "X-Padding: $big" "$(base)/v1/health") &&
    test "$code" = 431 &&
    error_is header_too_large &&
    grep -q "over the 8192-byte limit" body &&
    grep -qi "^connection: close" headers &&
    small=$(head -c 7000 /dev/zero | tr "\0" a) &&
    test "$(curl -s -o body -w "%{http_code}" -H "X-Padding: $small" "$(base)/v1/health")" = 200
'

test_expect_success 'malformed JSON is 400, JSON without what is needed 422, wrong type 415' '
    test "$(api "$(cat agent)" POST /v1/episodes "{\"agent\": \"ann\",")" = 400 &&
    error_is bad_request &&
    grep -q "invalid json" body &&
    test "$(api "$(cat agent)" POST /v1/episodes "[1, 2]")" = 400 &&
    test "$(api "$(cat agent)" POST /v1/episodes "{\"agent\": \"ann\", \"success\": true}")" = 422 &&
    error_is unprocessable &&
    grep -q "task_description" body &&
    test "$(api "$(cat agent)" POST /v1/episodes "{\"agent\": \"ann\", \"task_description\": \"t\", \"success\": \"yes\"}")" = 422 &&
    test "$(api "$(cat agent)" POST /v1/episodes "{\"agent\": \"bob\", \"task_description\": \"t\", \"success\": true}")" = 404 &&
    test "$(api "$(cat agent)" POST /v1/episodes "{}" text/plain)" = 415 &&
    error_is unsupported_media_type &&
    printf "{\"agent\": \"ann\", \"task_description\": \"t\", \"success\": true}\n" >one.jsonl &&
    test "$(api "$(cat agent)" POST /v1/episodes/batch @one.jsonl application/json)" = 415 &&
    counts >now && test_cmp before now
'

test_expect_success 'a batch with bad lines records nothing and names every bad line' '
    { printf "{\"agent\": \"ann\", \"task_description\": \"a\", \"success\": true}\n" &&
      printf "{\"agent\": \"ann\", \"success\": true}\n" &&
      printf "\n" &&
      printf "not json\n" &&
      printf "{\"agent\": \"nobody\", \"task_description\": \"b\", \"success\": false}\n"; } >bad.jsonl &&
    test "$(api "$(cat agent)" POST /v1/episodes/batch @bad.jsonl application/x-ndjson)" = 422 &&
    error_is unprocessable &&
    test "$(jbody "[l[\"line\"] for l in j[\"error\"][\"lines\"]]")" = "[2, 4, 5]" &&
    grep -q "3 of 4 lines are invalid, nothing was recorded; line 2: missing field" body &&
    test "$(jbody "j[\"error\"][\"lines\"][2][\"code\"]")" = not_found &&
    counts >now && test_cmp before now
'

test_expect_success 'no token, a malformed, unknown or revoked one: 401, nothing changed, no token in the log' '
    test "$(api - POST /v1/agents "{\"name\": \"eve\"}")" = 401 &&
    error_is unauthorized &&
    test "$(api adt_short POST /v1/agents "{\"name\": \"eve\"}")" = 401 &&
    fake=adt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA &&
    test "$(api $fake POST /v1/agents "{\"name\": \"eve\"}")" = 401 &&
    grep -q "unknown token" body &&
    autodev token create --role admin --name gone >gone 2>/dev/null &&
    test "$(api "$(cat gone)" GET /v1/agents)" = 200 &&
    autodev token revoke gone >/dev/null &&
    test "$(api "$(cat gone)" POST /v1/agents "{\"name\": \"eve\"}")" = 401 &&
    grep -q "token .gone. was revoked" body &&
    counts >now && test_cmp before now &&
    ! grep -q "$fake" serve.err &&
    ! grep -q "$(cat gone)" serve.err &&
    grep -q "auth: no bearer token from 127.0.0.1 for POST /v1/agents" serve.err &&
    grep -q "auth: unknown token, from 127.0.0.1 for POST /v1/agents" serve.err &&
    grep -q "auth: token .gone. was revoked at .*, from 127.0.0.1 for POST /v1/agents" serve.err
'

test_expect_success 'a role that may not: 403, nothing changed' '
    test "$(api "$(cat agent)" POST /v1/agents "{\"name\": \"eve\"}")" = 403 &&
    error_is forbidden &&
    test "$(api "$(cat rev)" POST /v1/episodes "{\"agent\": \"ann\", \"task_description\": \"t\", \"success\": true}")" = 403 &&
    counts >now && test_cmp before now
'

test_expect_success 'over the rate limit: 429 with Retry-After, for that token alone' '
    stop_server &&
    start_server --workers 0 --rate-limit 5 --burst 5 --max-connections 16 --timeout 6 &&
    for i in 1 2 3 4 5; do
        test "$(api "$(cat limited)" GET /v1/agents)" = 200 || exit 1
    done &&
    test "$(api "$(cat limited)" GET /v1/agents)" = 429 &&
    error_is rate_limited &&
    grep -Eiq "^retry-after: [1-9]" headers &&
    wait=$(grep -i "^retry-after:" headers | tr -dc 0-9) &&
    test "$(api "$(cat rev)" GET /v1/agents)" = 200 &&
    sleep "$wait" &&
    test "$(api "$(cat limited)" GET /v1/agents)" = 200
'

test_expect_success 'slow clients (slowloris) are closed by the idle timeout and block no one' '
    $HTTPPY slow "$(base)" --connections 8 --wait 30 >slow.json &&
    test "$(json_get "j[\"answered\"]" <slow.json)" = true &&
    test "$(json_get "j[\"closed\"]" <slow.json)" = 8
'

test_expect_success 'past the connection cap: 503 overloaded in JSON with Retry-After; freed, served again' '
    $HTTPPY cap "$(base)" --connections 16 --extra 3 >cap.json &&
    test "$(json_get "j[\"status\"]" <cap.json)" = 503 &&
    test "$(json_get "j[\"body\"][\"error\"][\"code\"]" <cap.json)" = overloaded &&
    json_get "j[\"body\"][\"error\"][\"message\"]" <cap.json | grep -q "cap of 16 connections" &&
    test "$(json_get "j[\"retry_after\"]" <cap.json)" = 1 &&
    test "$(json_get "j[\"connection\"]" <cap.json)" = close &&
    test "$(json_get "j[\"statuses\"]" <cap.json)" = "[503, 503, 503]" &&
    test "$(json_get "j[\"after\"]" <cap.json)" = 200
'

test_expect_success 'unknown paths are 404 and unknown methods 405, as JSON errors' '
    test "$(api "$(cat admin)" GET /v1/nothing)" = 404 &&
    error_is not_found &&
    test "$(api "$(cat admin)" DELETE /v1/agents)" = 405 &&
    error_is method_not_allowed &&
    grep -q "DELETE is not a method of /v1/agents" body
'

test_expect_success 'the server is still well, and stops cleanly' '
    test "$(api - GET /v1/health)" = 200 &&
    stop_server
'

test_done
