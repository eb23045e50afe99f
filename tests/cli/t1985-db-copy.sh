#!/bin/sh
test_description='autodev db copy between SQLite files (no PostgreSQL needed): a demo store copied whole, compared per table, the source untouched; a non-empty target, a changed row, bad input'
. "$(dirname "$0")/test-lib.sh"

# The tables of the schema this binary makes, but schema_migrations (each
# store's own history): the copy checks each of them.
NTABLES=$(autodev --home "$TRASH/count" init >/dev/null 2>&1 &&
    autodev --home "$TRASH/count" --json db status |
    json_get 'len([t for t in j["tables"] if t != "schema_migrations"])')

# The user-visible reads of the database $1, JSON with sorted keys.
reads() {
    for cmd in "skill list" "episode list --limit 1000" "candidates list" "agent list" \
               "mutations list" "jobs list"; do
        # shellcheck disable=SC2086
        AUTODEV_DB=$1 autodev --json $cmd | /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    print(json.dumps(json.loads(line), sort_keys=True))'
    done
}

test_expect_success 'a demo store copies into a new file: every table ok, the same reads' '
    autodev --home "$TRASH/demo" demo --keep >demo.out 2>demo.err &&
    src="$TRASH/demo/autodev.db" &&
    md5sum "$src" >src.md5 &&
    autodev db copy --from "$src" --to "sqlite:$TRASH/new.db" >out 2>err &&
    test ! -s err &&
    head -1 out | grep -Eq "^TABLE +ROWS +CHECKSUM +STATUS$" &&
    test "$(grep -c " ok$" out)" = "$NTABLES" &&
    ! grep -q MISMATCH out &&
    n=$(sqlite3 "$src" "SELECT count(*) FROM episodes") &&
    test "$n" -gt 40 &&
    grep -Eq "^episodes +$n +[0-9a-f]{16}  ok$" out &&
    grep -q "^$NTABLES tables, [0-9]* rows: every table matches$" out &&
    grep -q "^copied $src to sqlite:$TRASH/new.db$" out &&
    md5sum -c src.md5 >/dev/null &&
    reads "$src" >src.reads &&
    reads "$TRASH/new.db" >new.reads &&
    test_cmp src.reads new.reads &&
    test "$(wc -l <src.reads)" = 6
'

test_expect_success '--json: every table with both sides rows and checksums' '
    autodev --json db copy --verify-only --from "$TRASH/demo/autodev.db" --to "$TRASH/new.db" >v.json &&
    test "$(json_get "j[\"ok\"]" <v.json)" = true &&
    test "$(json_get "j[\"verify_only\"]" <v.json)" = true &&
    test "$(json_get "len(j[\"tables\"])" <v.json)" = "$NTABLES" &&
    test "$(json_get "all(t[\"ok\"] and t[\"rows\"] == t[\"target_rows\"] and t[\"checksum\"] == t[\"target_checksum\"] for t in j[\"tables\"])" <v.json)" = true &&
    test "$(json_get "[t[\"rows\"] for t in j[\"tables\"] if t[\"table\"] == \"events\"][0]" <v.json)" -gt 0
'

test_expect_success 'the copy goes on where the source stopped: the next event seq, a fresh id' '
    last=$(AUTODEV_DB=$TRASH/new.db autodev --json events tail --limit 1000 | tail -1 | json_get "j[\"seq\"]") &&
    echo "{\"agent\": \"demo-agent\", \"task_description\": \"after the copy\", \"success\": true}" |
        AUTODEV_DB=$TRASH/new.db autodev episode add >id &&
    AUTODEV_DB=$TRASH/new.db autodev --json events tail --since "$last" >next &&
    test "$(head -1 next | json_get "j[\"seq\"]")" = $((last + 1)) &&
    AUTODEV_DB=$TRASH/new.db autodev --json episode list --limit 1000 | json_get "len(j)" >n &&
    test "$(cat n)" = $(( $(sqlite3 "$TRASH/demo/autodev.db" "SELECT count(*) FROM episodes") + 1 )) &&
    test "$(sqlite3 "$TRASH/new.db" "SELECT count(*) FROM episodes WHERE id = '\''$(cat id)'\''")" = 1
'

test_expect_success 'a target that holds rows is refused and left as it was' '
    md5sum "$TRASH/new.db" >new.md5 &&
    test_expect_code 2 autodev db copy --from "$TRASH/demo/autodev.db" --to "$TRASH/new.db" >out 2>err &&
    test_one_error err "the target database already holds rows \(tenants: 1\); copy into an empty database" &&
    test ! -s out &&
    md5sum -c new.md5 >/dev/null
'

test_expect_success 'a changed row is found: MISMATCH on its table, exit 1' '
    autodev db copy --from "$TRASH/demo/autodev.db" --to "$TRASH/third.db" >/dev/null &&
    sqlite3 "$TRASH/third.db" "UPDATE agents SET failure_count = failure_count + 1 WHERE name = '\''demo-agent'\''" &&
    test_expect_code 1 autodev db copy --verify-only --from "$TRASH/demo/autodev.db" --to "$TRASH/third.db" >out 2>err &&
    grep -Eq "^agents +3 +[0-9a-f]{16}  MISMATCH: the target has 3 rows, [0-9a-f]{16}$" out &&
    test "$(grep -c MISMATCH out)" = 1 &&
    test_one_error err "1 table\(s\) differ between the source and the target$" &&
    sqlite3 "$TRASH/third.db" "DELETE FROM agent_sessions; DELETE FROM capability_usage WHERE rowid IN (SELECT rowid FROM capability_usage LIMIT 1)" &&
    test_expect_code 1 autodev --json db copy --verify-only --from "$TRASH/demo/autodev.db" --to "$TRASH/third.db" >bad.json 2>/dev/null &&
    test "$(json_get "j[\"ok\"]" <bad.json)" = false &&
    test "$(json_get "sorted(t[\"table\"] for t in j[\"tables\"] if not t[\"ok\"])" <bad.json)" = "[\"agents\", \"capability_usage\"]" &&
    test "$(json_get "[t[\"rows\"] - t[\"target_rows\"] for t in j[\"tables\"] if t[\"table\"] == \"capability_usage\"][0]" <bad.json)" = 1
'

test_expect_success 'a JSON value written in another key order and spacing still compares equal' '
    autodev db copy --from "$TRASH/demo/autodev.db" --to "$TRASH/fourth.db" >/dev/null &&
    /usr/bin/python3 -c "import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = 0
for rid, text in db.execute(\"SELECT id, payload FROM events\").fetchall():
    v = json.loads(text)
    if isinstance(v, dict) and len(v) > 1:
        new = json.dumps(dict(reversed(list(v.items()))), indent=1)
        assert new != text
        db.execute(\"UPDATE events SET payload = ? WHERE id = ?\", (new, rid))
        n += 1
db.commit()
print(n)" "$TRASH/fourth.db" >n &&
    test "$(cat n)" -gt 10 &&
    autodev db copy --verify-only --from "$TRASH/demo/autodev.db" --to "$TRASH/fourth.db" >out &&
    grep -Eq "^events +[0-9]+ +[0-9a-f]{16}  ok$" out
'

test_expect_success 'bad input: clear errors, nothing written' '
    test_expect_code 2 autodev db copy --from "$TRASH/nope.db" --to "$TRASH/x.db" >out 2>err &&
    test_one_error err "no source database at .*nope.db" &&
    test ! -e "$TRASH/x.db" &&
    test_expect_code 2 autodev db copy --from "mysql://h/db" --to "$TRASH/x.db" 2>err &&
    test_one_error err "unknown database scheme .mysql. in the source" &&
    test_expect_code 2 autodev db copy --from "$TRASH/demo/autodev.db" --to "sqlite:$TRASH/demo/autodev.db" 2>err &&
    test_one_error err "the source and the target are the same database" &&
    test_expect_code 2 autodev db copy --from "$TRASH/demo/autodev.db" 2>err &&
    test_one_error err "usage: autodev db copy --from URI --to URI" &&
    test ! -e "$TRASH/x.db" &&
    md5sum -c src.md5 >/dev/null
'

test_expect_success 'a source of an older schema is refused, saying to migrate it' '
    cp "$TRASH/demo/autodev.db" old.db &&
    sqlite3 old.db "ALTER TABLE agents DROP COLUMN tool_policy; DELETE FROM schema_migrations WHERE version = 11; PRAGMA user_version = 9;" &&
    md5sum old.db >old.md5 &&
    test_expect_code 1 autodev db copy --from old.db --to "$TRASH/y.db" >out 2>err &&
    test_one_error err "source: .*needs an upgrade" &&
    md5sum -c old.md5 >/dev/null
'

test_expect_success '--progress: rows per table on stderr' '
    autodev db copy --progress --from "$TRASH/demo/autodev.db" --to "$TRASH/fifth.db" >out 2>err &&
    grep -q "^autodev: episodes: $(sqlite3 "$TRASH/demo/autodev.db" "SELECT count(*) FROM episodes") rows$" err &&
    test "$(grep -c "^autodev: [a-z_]*: [0-9]* rows$" err)" = "$NTABLES"
'

test_done
