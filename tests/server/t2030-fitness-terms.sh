#!/bin/sh
test_description='custom fitness terms over HTTP: list, add (admin, checked in the sandbox), remove; another tenant sees none'
. "$(dirname "$0")/lib.sh"

body() {
    /usr/bin/python3 -c 'import json, sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"
}

test_expect_success 'setup: tokens of two tenants, the server' '
    autodev init >/dev/null &&
    make_token admin >admin && make_token reviewer >rev && make_token agent >agent &&
    make_token admin globex >gadmin &&
    start_server --workers 0
'

test_expect_success 'POST adds a term (201) that GET lists with its code' '
    b=$(body name speed code "def term(signals):
    return 1 - signals.get(\"latency_ms\", 0) / 1000
") &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "$b")" = 201 &&
    test "$(jbody "j[\"name\"]")" = speed &&
    test "$(jbody "j[\"weight\"]")" = 1.0 &&
    test "$(jbody "len(j[\"code_sha\"])")" = 64 &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"flat\", \"code\": \"def term(s):\\n    return 0.5\\n\", \"weight\": 2.5}")" = 201 &&
    test "$(api "$(cat rev)" GET /v1/fitness/terms)" = 200 &&
    test "$(jbody "[t[\"name\"] for t in j[\"items\"]]")" = "[\"flat\", \"speed\"]" &&
    test "$(jbody "j[\"items\"][0][\"weight\"]")" = 2.5 &&
    jbody "j[\"items\"][1][\"code\"]" | grep -q "latency_ms" &&
    autodev fitness term list >out &&
    test_line_count out 3
'

test_expect_success 'a bad term is 422 with what is wrong, and nothing is stored' '
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"bad\", \"code\": \"def term(s) return 1\"}")" = 422 &&
    error_is unprocessable &&
    jbody "j[\"error\"][\"message\"]" | grep -q "line 1" &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"bad\", \"code\": \"def other(s):\\n    return 1\\n\"}")" = 422 &&
    jbody "j[\"error\"][\"message\"]" | grep -q "term" &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"b-ad\", \"code\": \"def term(s):\\n    return 1\\n\"}")" = 422 &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"bad\", \"code\": \"def term(s):\\n    return 1\\n\", \"weight\": 0}")" = 422 &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"bad\", \"code\": \"def term(s):\\n    return 1\\n\", \"colour\": 1}")" = 422 &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "{\"name\": \"flat\", \"code\": \"def term(s):\\n    return 1\\n\"}")" = 409 &&
    test "$(api "$(cat rev)" GET /v1/fitness/terms)" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 2
'

test_expect_success 'writes need the admin role; another tenant sees and removes none of them' '
    test "$(api "$(cat rev)" POST /v1/fitness/terms "{\"name\": \"x\", \"code\": \"def term(s):\\n    return 1\\n\"}")" = 403 &&
    test "$(api "$(cat agent)" DELETE /v1/fitness/terms/flat)" = 403 &&
    test "$(api "$(cat agent)" GET /v1/fitness/terms)" = 403 &&
    test "$(api "$(cat gadmin)" GET /v1/fitness/terms)" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 0 &&
    test "$(api "$(cat gadmin)" DELETE /v1/fitness/terms/flat)" = 404 &&
    test "$(api "$(cat rev)" GET /v1/fitness/terms)" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 2
'

test_expect_success 'DELETE removes a term; again is 404' '
    test "$(api "$(cat admin)" DELETE /v1/fitness/terms/flat)" = 200 &&
    test "$(jbody "j[\"removed\"]")" = true &&
    test "$(api "$(cat admin)" DELETE /v1/fitness/terms/flat)" = 404 &&
    error_is not_found &&
    test "$(api "$(cat rev)" GET /v1/fitness/terms)" = 200 &&
    test "$(jbody "[t[\"name\"] for t in j[\"items\"]]")" = "[\"speed\"]"
'

test_expect_success 'stop' '
    stop_server
'

test_done
