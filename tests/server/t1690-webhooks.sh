#!/bin/sh
test_description='webhooks: signed deliveries, retries to dead letters, replay, a slow receiver; signed fitness signals'
. "$(dirname "$0")/lib.sh"

RECV="/usr/bin/python3 $SERVER_DIR/hookrecv.py"

# receiver NAME [MODE]: a receiver in directory NAME (hookrecv.py), its pid in NAME/pid.
receiver() {
    mkdir -p "$1" && echo "${2:-ok}" >"$1/mode" &&
    { $RECV "$TRASH/$1" & echo $! >"$1/pid"; } &&
    wait_for "test -s $1/port" 30
}
url() {
    echo "http://127.0.0.1:$(cat "$1/port")/hook"
}
# count NAME EXPR: how many lines of NAME/log satisfy the Python expression EXPR over e.
count() {
    /usr/bin/python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1]) if __import__("os").path.exists(sys.argv[1]) else []:
    e = json.loads(line)
    n += bool(eval(sys.argv[2]))
print(n)' "$1/log" "$2"
}
# delivery_field ID EXPR: EXPR over the delivery ID (j) as webhook deliveries --json lists it.
delivery() {
    autodev webhook deliveries --json | json_get "[d for d in j if d[\"id\"] == \"$1\"][0]$2"
}
# sign SECRET TS FILE: the X-Autodev-Signature of FILE's bytes at TS.
sign() {
    /usr/bin/python3 -c 'import hashlib, hmac, sys
body = open(sys.argv[3], "rb").read()
print("sha256=" + hmac.new(sys.argv[1].encode(), sys.argv[2].encode() + b"." + body,
                           hashlib.sha256).hexdigest())' "$@"
}
# signal TENANT TS SIG FILE VARIANT: POST the signals; prints the status.
signal() {
    curl -s -o "$TRASH/body" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
        -H "X-Autodev-Tenant: $1" -H "X-Autodev-Timestamp: $2" -H "X-Autodev-Signature: $3" \
        --data-binary "@$4" "$(base)/v1/fitness/$5/signals"
}
score() {
    autodev ${2:+--tenant "$2"} fitness show "$1" --json | json_get 'j["fitness_score"]'
}

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

test_expect_success 'setup: a store, tokens, receivers, webhooks, the server with two workers' '
    autodev init >/dev/null &&
    autodev agent add ann >/dev/null &&
    autodev --tenant other agent add bob >/dev/null &&
    make_token admin >tok.admin && make_token agent >tok.agent &&
    receiver fast && receiver failing fail && receiver slow slow &&
    autodev webhook add "$(url fast)" --topics task.fail,webhook.test --description fast >out &&
    sed -n 1p out >fast/id && sed -n 2p out >fast/secret &&
    autodev webhook add "$(url failing)" --topics webhook.test >out &&
    sed -n 1p out >failing/id && sed -n 2p out >failing/secret &&
    autodev webhook add "$(url slow)" --topics webhook.test >out &&
    sed -n 1p out >slow/id && sed -n 2p out >slow/secret &&
    test "$(autodev webhook list --json | json_get "len(j)")" = 3 &&
    AUTODEV_WEBHOOK_BACKOFF_MS=50 AUTODEV_WEBHOOK_MAX_ATTEMPTS=3 \
        start_server --workers 2 --poll 50
'

test_expect_success 'an event is delivered signed, with its event id, once' '
    test "$(api "$(cat tok.agent)" POST /v1/episodes \
        "{\"agent\": \"ann\", \"task_description\": \"parse the file\", \"success\": false}")" = 201 &&
    wait_for "test \"\$(count fast \"e.get(\\\"topic\\\") == \\\"task.fail\\\"\")\" = 1" 60 &&
    test "$(count fast "e[\"ok\"] and e[\"topic\"] == \"task.fail\" and e[\"event_id\"] == e[\"id\"]")" = 1 &&
    test "$(count fast "e[\"data\"][\"task_description\"] == \"parse the file\"")" = 1 &&
    wait_for "autodev webhook deliveries --status delivered --json | grep -q task.fail" 30 &&
    test "$(count failing "True")" = 0
'

test_expect_success 'a receiver answering 500 is retried, then the delivery is dead' '
    autodev webhook test "$(cat failing/id)" >/dev/null &&
    wait_for "autodev webhook deliveries --status dead --json | grep -q webhook.test" 120 &&
    autodev webhook deliveries --status dead --json >dead.json &&
    json_get "j[0][\"id\"]" <dead.json >dead.id &&
    test "$(json_get "j[0][\"attempts\"]" <dead.json)" = 3 &&
    test "$(json_get "j[0][\"last_status_code\"]" <dead.json)" = 500 &&
    test "$(json_get "j[0][\"webhook_id\"]" <dead.json)" = "$(cat failing/id)" &&
    test "$(count failing "e[\"ok\"] and e[\"mode\"] == \"fail\"")" = 3 &&
    autodev webhook deliveries --status dead >out &&
    grep -q "$(cat dead.id).* dead .*3 .*500 .*webhook.test: receiver answered HTTP 500" out
'

test_expect_success 'replay delivers a dead letter once the receiver is fixed' '
    echo ok >failing/mode &&
    autodev webhook replay "$(cat dead.id)" >out &&
    grep -q "^queued 1 delivery again$" out &&
    wait_for "test \"\$(delivery $(cat dead.id) "[\\\"status\\\"]")\" = delivered" 60 &&
    test "$(count failing "e[\"ok\"] and e[\"mode\"] == \"ok\"")" = 1 &&
    test_must_fail autodev webhook replay "$(cat dead.id)" 2>err &&
    grep -q "is delivered: only failed or dead ones are replayed" err
'

test_expect_success 'a receiver that hangs does not hold up another' '
    autodev webhook test "$(cat slow/id)" >/dev/null &&
    wait_for "test \"\$(count slow \"e.get(\\\"slow\\\") == \\\"start\\\"\")\" = 1" 60 &&
    autodev webhook test "$(cat fast/id)" >/dev/null &&
    wait_for "test \"\$(count fast \"e.get(\\\"topic\\\") == \\\"webhook.test\\\"\")\" = 1" 60 &&
    test "$(count slow "e.get(\"slow\") == \"done\"")" = 0
'

test_expect_success 'admin routes: list, add (with its secret), deliveries, replay, remove' '
    test "$(api "$(cat tok.admin)" GET /v1/webhooks)" = 200 &&
    test "$(jbody "len(j[\"items\"])")" = 3 &&
    ! grep -q "$(cat fast/secret)" body &&
    test "$(api "$(cat tok.agent)" GET /v1/webhooks)" = 403 &&
    test "$(api "$(cat tok.admin)" POST /v1/webhooks \
        "{\"url\": \"http://127.0.0.1:9/x\", \"topics\": [\"variant.fitness\"]}")" = 201 &&
    jbody "j[\"id\"]" >api.id && test "$(jbody "len(j[\"secret\"])")" = 64 &&
    test "$(api "$(cat tok.admin)" POST /v1/webhooks \
        "{\"url\": \"file:///etc/passwd\", \"topics\": \"*\"}")" = 422 &&
    test "$(api "$(cat tok.admin)" POST /v1/webhooks \
        "{\"url\": \"http://x/\", \"topics\": [\"no.such\"]}")" = 422 &&
    test "$(api "$(cat tok.admin)" GET "/v1/webhooks/deliveries?status=delivered&webhook=$(cat failing/id)")" = 200 &&
    test "$(jbody "[d[\"id\"] for d in j[\"items\"]]")" = "[\"$(cat dead.id)\"]" &&
    test "$(api "$(cat tok.admin)" GET "/v1/webhooks/deliveries?status=nope")" = 400 &&
    test "$(api "$(cat tok.admin)" POST "/v1/webhooks/deliveries/$(cat dead.id)/replay" "{}")" = 409 &&
    test "$(api "$(cat tok.admin)" DELETE "/v1/webhooks/$(cat api.id)")" = 200 &&
    test "$(api "$(cat tok.admin)" DELETE "/v1/webhooks/$(cat api.id)")" = 404 &&
    test "$(autodev webhook list --json | json_get "len(j)")" = 3
'

test_expect_success 'signals: a valid signed signal changes the fitness, once' '
    /usr/bin/python3 variant.py "$DB" default ann 0.5 >v &&
    /usr/bin/python3 variant.py "$DB" other bob 0.5 >v.other &&
    autodev signals secret >s && test "$(wc -c <s)" = 65 &&
    autodev --tenant other signals secret >s.other &&
    ! cmp -s s s.other &&
    printf "{\"crm_conversion\": true}" >sig.json &&
    ts=$(date +%s) && echo "$ts" >ts &&
    sign "$(cat s)" "$ts" sig.json >sig &&
    test "$(signal default "$ts" "$(cat sig)" sig.json "$(cat v)")" = 200 &&
    test "$(jbody "j[\"fitness_score\"]")" = 1.0 &&
    test "$(score "$(cat v)")" = 1.0
'

test_expect_success 'signals: tampered, stale, replayed, unsigned or of another tenant: 401, nothing changes' '
    /usr/bin/python3 variant.py "$DB" default ann 0.5 >v2 &&
    printf "{\"crm_conversion\": true} " >tampered.json &&
    test "$(signal default "$(cat ts)" "$(cat sig)" tampered.json "$(cat v2)")" = 401 &&
    error_is invalid_signature &&
    old=$(( $(date +%s) - 301 )) &&
    sign "$(cat s)" "$old" sig.json >sig.old &&
    test "$(signal default "$old" "$(cat sig.old)" sig.json "$(cat v2)")" = 401 &&
    error_is stale_timestamp &&
    test "$(signal default "$(cat ts)" "$(cat sig)" sig.json "$(cat v)")" = 401 &&
    error_is replayed_signature &&
    test "$(signal default "" "" sig.json "$(cat v2)")" = 401 &&
    error_is missing_signature &&
    ts=$(date +%s) && sign "$(cat s)" "$ts" sig.json >sig2 &&
    test "$(signal other "$ts" "$(cat sig2)" sig.json "$(cat v.other)")" = 401 &&
    test "$(signal nosuch "$ts" "$(cat sig2)" sig.json "$(cat v2)")" = 401 &&
    error_is invalid_signature &&
    test "$(score "$(cat v2)")" = 0.5 && test "$(score "$(cat v)")" = 1.0 &&
    test "$(score "$(cat v.other)" other)" = 0.5
'

test_expect_success 'signals: another tenant'"'"'s variant is 404, bad JSON 400, a bad signal 422' '
    # A body not signed before: sig.json signed again within the second of the
    # accepted signal above is the same signature, and rightly a replay (401).
    printf "{\"crm_conversion\": false}" >fresh.json &&
    ts=$(date +%s) && sign "$(cat s)" "$ts" fresh.json >sig3 &&
    test "$(signal default "$ts" "$(cat sig3)" fresh.json "$(cat v.other)")" = 404 &&
    printf "{not json" >bad.json && sign "$(cat s)" "$ts" bad.json >sig4 &&
    test "$(signal default "$ts" "$(cat sig4)" bad.json "$(cat v2)")" = 400 &&
    printf "{\"refund\": true}" >unknown.json && sign "$(cat s)" "$ts" unknown.json >sig5 &&
    test "$(signal default "$ts" "$(cat sig5)" unknown.json "$(cat v2)")" = 422 &&
    test "$(score "$(cat v2)")" = 0.5 && test "$(score "$(cat v.other)" other)" = 0.5
'

test_expect_success 'no secret is in the store, its journal or the server log' '
    for f in "$DB" "$DB-wal"; do
        test -e "$f" || continue
        for s in "$(cat fast/secret)" "$(cat failing/secret)" "$(cat s)" "$(cat s.other)"; do
            ! grep -q "$s" "$f" || return 1
        done
    done &&
    ! grep -q "$(cat fast/secret)" "$TRASH/serve.err" &&
    test "$(stat -c %a "$(dirname "$DB")/signing.key")" = 600
'

test_expect_success 'cleanup: the server and the receivers stop' '
    stop_server &&
    for r in fast failing slow; do kill "$(cat $r/pid)"; done
'

test_done
