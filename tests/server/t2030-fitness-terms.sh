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

cat >variant.py <<'PY'
import sqlite3, sys, time, uuid
db, tenant, agent, score = sys.argv[1:5]
c = sqlite3.connect(db)
t, = c.execute("SELECT id FROM tenants WHERE name = ?", (tenant,)).fetchone()
a, = c.execute("SELECT id FROM agents WHERE tenant_id = ? AND name = ?", (t, agent)).fetchone()
vid = str(uuid.uuid4())
c.execute("INSERT INTO workflow_variants (id, tenant_id, agent_id, workflow_definition,"
          " fitness_score, evaluation_status, created_at) VALUES (?, ?, ?, '{\"skill\": \"w\"}',"
          " ?, 'evaluated', ?)", (vid, t, a, float(score),
          time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())))
c.commit()
print(vid)
PY
# sign SECRET TS FILE: the X-Autodev-Signature of FILE's body at TS.
sign() {
    /usr/bin/python3 -c 'import hashlib, hmac, sys
body = open(sys.argv[3], "rb").read()
print("sha256=" + hmac.new(sys.argv[1].encode(), sys.argv[2].encode() + b"." + body,
                           hashlib.sha256).hexdigest())' "$@"
}

test_expect_success 'a signed signal runs the terms again over the new signals' '
    autodev agent add ann >/dev/null &&
    /usr/bin/python3 variant.py "$DB" default ann 0.5 >v &&
    b=$(body name converted code "def term(signals):
    return 0.0 if \"crm_conversion\" in str(signals) else 1.0
") &&
    test "$(api "$(cat admin)" POST /v1/fitness/terms "$b")" = 201 &&
    autodev signals secret >s &&
    printf "{\"crm_conversion\": true}" >sig.json &&
    ts=$(date +%s) &&
    code=$(curl -s -o "$TRASH/body" -w "%{http_code}" -X POST \
        -H "Content-Type: application/json" -H "X-Autodev-Tenant: default" \
        -H "X-Autodev-Timestamp: $ts" -H "X-Autodev-Signature: $(sign "$(cat s)" "$ts" sig.json)" \
        --data-binary @sig.json "$(base)/v1/fitness/$(cat v)/signals") &&
    test "$code" = 200 &&
    # built-in 1.0 (the conversion), speed 1.0 and converted 0.0, weights 1, 1, 1.
    test "$(jbody "round(j[\"fitness_score\"], 6)")" = 0.666667 &&
    autodev fitness show "$(cat v)" --json >f &&
    test "$(json_get "j[\"fitness_signals\"][\"terms\"][\"values\"][\"converted\"][\"value\"]" <f)" = 0.0
'

test_expect_success 'stop' '
    stop_server
'

test_done
