#!/bin/sh
test_description='The server tenant matrix on PostgreSQL (t1630 with AUTODEV_DB at the cluster; fixtures read and written through psql): every documented route is served, every role x route pair as the table says, another tenant sees nothing (mutations and variants too)'
. "$(dirname "$0")/lib.sh"
pg_skip_all
SERVER_DIR=$PG_DIR/../server

MATRIX="/usr/bin/python3 $SERVER_DIR/matrix.py"
ORDER="Find the order number in this message SECRET-TASK"

# failure I: an episode of a failed order task on message I, for the CLI.
failure() {
    case $1 in
    1) in='{"text": "Hi! Order number: 4471 shipped."}' want='"4471"' ;;
    *) in='{"text": "Thanks. Order number: 90210"}' want='"90210"' ;;
    esac
    printf '{"agent": "annsecret", "task_description": "%s", "success": false, "input": %s, "expected": %s, "error_trace": "NoSkillError: none"}' \
        "$ORDER" "$in" "$want"
}

test_expect_success 'setup: tenant A with an agent, episodes, a skill, a candidate, a notification, a job' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev agent add annsecret --maturity INTERN >/dev/null &&
    failure 1 | autodev episode add >/dev/null &&
    failure 2 | autodev episode add >/dev/null &&
    autodev jobs run --until-idle >/dev/null 2>&1 &&
    printf "def secret_skill(text: str) -> str:\n    return text.upper()\n" >s.py &&
    autodev skill add s.py --name secret_skill --entry secret_skill >/dev/null &&
    /usr/bin/python3 "$SERVER_DIR/mutant.py" "$PG_SUPER_URL" secret_skill won pending s.py - annsecret yes >mut &&
    make_token admin >a.admin && make_token reviewer >a.rev && make_token agent >a.agent &&
    make_token admin other >b.admin &&
    $MATRIX fixture "$PG_SUPER_URL" annsecret secret_skill >fixture.json &&
    test "$(json_get "len(j[\"secrets\"])" <fixture.json)" = 12 &&
    test "$(json_get "None in j[\"secrets\"]" <fixture.json)" = false &&
    test "$(pgq "SELECT count(*) FROM tool_mutations")" = 1 &&
    ! test -e "$DB" &&
    start_server --workers 0
'

test_expect_success 'every route of the OpenAPI document is served' '
    $MATRIX routes "$(base)" >routes.json &&
    test "$(json_get "j[\"ok\"]" <routes.json)" = true &&
    test "$(json_get "j[\"checked\"]" <routes.json)" -ge 35
'

test_expect_success 'tenant B with A ids and names: 404 everywhere, none of A data' '
    for i in 1 2 3 4; do
        test "$(api "$(cat a.agent)" GET /v1/skills/secret_skill)" = 200 &&
        test "$(api "$(cat a.agent)" GET /v1/skills)" = 200 || exit 1
    done &&
    test "$(api "$(cat b.admin)" GET /v1/skills)" = 200 &&
    test "$(jbody "j[\"items\"]")" = "[]" &&
    $MATRIX tenants "$(base)" "$(cat b.admin)" fixture.json >tenants.json ||
    { cat tenants.json; false; } &&
    test "$(json_get "j[\"ok\"]" <tenants.json)" = true &&
    test "$(json_get "j[\"checked\"]" <tenants.json)" -ge 40
'

test_expect_success 'and nothing of A changed: its candidate, notification, token and skill stay' '
    cid=$(json_get "j[\"candidate\"]" <fixture.json) &&
    test "$(autodev candidates show "$cid" --json | json_get "j[\"status\"]")" = validated &&
    test "$(autodev notifications --json | json_get "len([n for n in j if not n[\"read\"]])")" -ge 1 &&
    test "$(autodev token list --json | json_get "len(j)")" = 3 &&
    test "$(autodev mutations show "$(cut -d" " -f1 mut)" --json | json_get "j[\"review_status\"]")" = pending &&
    test "$(autodev jobs list --json | json_get "len([x for x in j if x[\"kind\"] == \"alpha.mutate\"])")" = 0 &&
    test "$(autodev skill show secret_skill --json | json_get "j[\"skill\"][\"version\"]")" = 1.0.0 &&
    test "$(autodev --tenant other episode list --json | json_get "len(j)")" = 0
'

test_expect_success 'role x route: allowed roles pass, the others get 403, no token 401' '
    $MATRIX roles "$(base)" "$(cat a.admin)" "$(cat a.rev)" "$(cat a.agent)" >roles.json ||
    { cat roles.json; false; } &&
    test "$(json_get "j[\"ok\"]" <roles.json)" = true &&
    test "$(json_get "j[\"checked\"]" <roles.json)" -ge 130
'

test_expect_success 'the roles of the README table hold: a reviewer reviews, an agent works' '
    api "$(cat a.admin)" GET /v1/openapi.json >/dev/null &&
    test "$(jbody "j[\"paths\"][\"/v1/candidates/{id}/approve\"][\"post\"][\"x-roles\"]")" = "[\"admin\", \"reviewer\"]" &&
    test "$(jbody "j[\"paths\"][\"/v1/episodes\"][\"post\"][\"x-roles\"]")" = "[\"admin\", \"agent\"]" &&
    test "$(jbody "j[\"paths\"][\"/v1/settings\"][\"put\"][\"x-roles\"]")" = "[\"admin\"]" &&
    test "$(jbody "j[\"paths\"][\"/v1/episodes\"][\"get\"][\"x-roles\"]")" = "[\"admin\", \"reviewer\", \"agent\"]"
'

test_expect_success 'A sees its own through the same routes' '
    test "$(api "$(cat a.rev)" GET "/v1/candidates/$(json_get "j[\"candidate\"]" <fixture.json)")" = 200 &&
    test "$(api "$(cat a.agent)" GET /v1/agents/annsecret)" = 200 &&
    test "$(jbody "j[\"failure_count\"]")" = 2 &&
    stop_server
'

test_done
