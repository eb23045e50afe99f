#!/bin/sh
test_description='PostgreSQL: db copy of a demo store SQLite -> PostgreSQL -> a new SQLite file, equal on all three; the outbox and ids go on; refusals, a changed row, the app role, no password printed'
. "$(dirname "$0")/lib.sh"

# The tables of the schema this binary makes, but schema_migrations (each
# store's own history): the copy checks each of them.
NTABLES=$(autodev --home "$TRASH/count" init >/dev/null 2>&1 &&
    autodev --home "$TRASH/count" --json db status |
    json_get 'len([t for t in j["tables"] if t != "schema_migrations"])')
pg_skip_all

SRC=$TRASH/src.db
BACK=$TRASH/back.db
PGURI=$AUTODEV_DB

# The user-visible reads of database $1, JSON with sorted keys.
reads() {
    for cmd in "skill list" "episode list --limit 1000" "candidates list" "agent list" \
               "mutations list" "jobs list" "--tenant acme agent list" \
               "--tenant acme episode list"; do
        # shellcheck disable=SC2086
        AUTODEV_DB=$1 autodev --json $cmd | /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    print(json.dumps(json.loads(line), sort_keys=True))'
    done
}

# table -> checksum of side $2 ("checksum" or "target_checksum") of a copy's --json.
sums() {
    /usr/bin/python3 -c 'import json, sys
j = json.load(sys.stdin)
for t in j["tables"]:
    print(t["table"], t["rows"] if sys.argv[1] == "checksum" else t["target_rows"], t[sys.argv[1]])' "$1"
}

test_expect_success 'setup: a demo store, and a second tenant in it' '
    autodev --home "$TRASH/demo" demo --keep >demo.out 2>demo.err &&
    cp "$TRASH/demo/autodev.db" "$SRC" &&
    AUTODEV_DB=$SRC autodev --tenant acme agent add acme-bot >/dev/null &&
    echo "{\"agent\": \"acme-bot\", \"task_description\": \"acme work\", \"success\": false, \"error_trace\": \"ValueError: x\", \"input\": {\"b\": 1.5, \"a\": [1, 2.25, null]}}" |
        AUTODEV_DB=$SRC autodev --tenant acme episode add >/dev/null &&
    md5sum "$SRC" >src.md5
'

test_expect_success 'SQLite -> PostgreSQL: every table ok, the source untouched' '
    autodev --json db copy --from "$SRC" --to "$PGURI" >to-pg.json 2>err &&
    test "$(json_get "j[\"ok\"]" <to-pg.json)" = true &&
    test "$(json_get "sum(1 for t in j[\"tables\"] if t[\"ok\"])" <to-pg.json)" = "$NTABLES" &&
    test "$(pgq "SELECT count(*) FROM tenants")" = 2 &&
    test "$(pgq "SELECT count(*) FROM episodes")" = "$(sqlite3 "$SRC" "SELECT count(*) FROM episodes")" &&
    md5sum -c src.md5 >/dev/null
'

test_expect_success 'PostgreSQL -> a new SQLite file: the same counts and checksums on all three' '
    autodev --json db copy --from "$PGURI" --to "$BACK" >to-back.json &&
    test "$(json_get "j[\"ok\"]" <to-back.json)" = true &&
    sums checksum <to-pg.json >a &&
    sums target_checksum <to-pg.json >b &&
    sums target_checksum <to-back.json >c &&
    test_cmp a b &&
    test_cmp a c &&
    test "$(grep -c . a)" = "$NTABLES" &&
    grep -q "^episodes [0-9]* [0-9a-f]\{64\}$" a &&
    autodev db copy --verify-only --from "$SRC" --to "$BACK" >out &&
    test "$(grep -c " ok$" out)" = "$NTABLES"
'

test_expect_success 'the reads agree on all three (JSON key order aside)' '
    reads "$SRC" >src.reads &&
    reads "$PGURI" >pg.reads &&
    reads "$BACK" >back.reads &&
    test "$(wc -l <src.reads)" = 8 &&
    test_cmp src.reads pg.reads &&
    test_cmp src.reads back.reads &&
    grep -q acme-bot src.reads &&
    test "$(pgq "SELECT input->>'"'"'b'"'"' FROM episodes WHERE task_description = '"'"'acme work'"'"'")" = 1.5 &&
    test "$(pgq "SELECT ad_ts(created_at) FROM episodes ORDER BY id LIMIT 1")" = \
         "$(sqlite3 "$SRC" "SELECT created_at FROM episodes ORDER BY id LIMIT 1")"
'

test_expect_success 'a target that holds rows is refused and left as it was' '
    before=$(pgq "SELECT count(*) FROM events") &&
    test_expect_code 2 autodev db copy --from "$SRC" --to "$PGURI" >out 2>err &&
    test_one_error err "the target database already holds rows" &&
    test "$(pgq "SELECT count(*) FROM events")" = "$before"
'

test_expect_success 'a row changed in PostgreSQL is found: MISMATCH on its table, exit 1' '
    pgq "UPDATE agents SET failure_count = failure_count + 1 WHERE name = '"'"'demo-agent'"'"'" &&
    test_expect_code 1 autodev db copy --verify-only --from "$SRC" --to "$PGURI" >out 2>err &&
    grep -Eq "^agents +[0-9]+ +[0-9a-f]{16}  MISMATCH: " out &&
    test "$(grep -c MISMATCH out)" = 1 &&
    test_one_error err "1 table\(s\) differ" &&
    pgq "UPDATE agents SET failure_count = failure_count - 1 WHERE name = '"'"'demo-agent'"'"'" &&
    autodev db copy --verify-only --from "$SRC" --to "$PGURI" >out
'

test_expect_success 'after the copy PostgreSQL goes on: the next seq, fresh ids, no conflict' '
    last=$(pgq "SELECT max(seq) FROM events") &&
    test "$last" = "$(sqlite3 "$SRC" "SELECT max(seq) FROM events")" &&
    autodev agent add after-copy >/dev/null &&
    echo "{\"agent\": \"after-copy\", \"task_description\": \"new\", \"success\": true}" |
        autodev episode add >id &&
    autodev --json events tail --since "$last" >next &&
    test "$(head -1 next | json_get "j[\"seq\"]")" = $((last + 1)) &&
    test "$(pgq "SELECT count(*) FROM episodes WHERE id = '"'"'$(cat id)'"'"'")" = 1 &&
    test "$(pgq "SELECT count(*) FROM events WHERE seq <= $last")" = "$last"
'

test_expect_success 'the application role (not the owner) copies every tenant into a schema the owner migrated' '
    app=${PG_SCHEMA}_app &&
    pgq "CREATE SCHEMA $app AUTHORIZATION autodev_owner; GRANT USAGE ON SCHEMA $app TO autodev_app" &&
    owner_uri="$AUTODEV_TEST_PG&options=-csearch_path%3D$app" &&
    app_uri="$AUTODEV_TEST_PG_APP&options=-csearch_path%3D$app" &&
    AUTODEV_DB=$owner_uri autodev db migrate >/dev/null &&
    autodev db copy --from "$BACK" --to "$app_uri" >out 2>err &&
    test "$(grep -c " ok$" out)" = "$NTABLES" &&
    test "$(pgq "SELECT count(*) FROM $app.tenants")" = 2 &&
    test "$(pgq "SELECT count(*) FROM $app.agents a JOIN $app.tenants t ON t.id = a.tenant_id WHERE t.name = '"'"'acme'"'"'")" = 1 &&
    pgq "DROP SCHEMA $app CASCADE"
'

test_expect_success 'a password in the uri is never printed' '
    host=$(printf "%s" "$PGURI" | sed -n "s/.*[?&]host=\([^&]*\).*/\1/p") &&
    uri="postgresql://autodev_owner:s3cretpw@/autodev?host=$host&options=-csearch_path%3D$PG_SCHEMA&password=s3cretpw" &&
    autodev db copy --verify-only --from "$BACK" --to "$uri" >out 2>err || true &&
    autodev --json db copy --verify-only --from "$BACK" --to "$uri" >out.json 2>>err || true &&
    test -s out &&
    ! grep -q s3cretpw out out.json err &&
    grep -q "autodev_owner:\*\*\*@" out.json
'

test_expect_success 'an unreachable server: a clear error, nothing written to the source' '
    test_expect_code 1 autodev db copy --from "$SRC" --to "postgresql://autodev_owner@127.0.0.1:1/autodev?connect_timeout=2" >out 2>err &&
    head -1 err | grep -q "^autodev: target: cannot connect to PostgreSQL database .autodev.: connection to server at \"127.0.0.1\", port 1 failed" &&
    md5sum -c src.md5 >/dev/null
'

test_done
