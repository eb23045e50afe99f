#!/bin/sh
test_description='autodev db: status (backend, schema version, rows per table) and migrate (what it did), on SQLite and, when a cluster runs, PostgreSQL'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'db status without a database says to init and fails' '
    test_expect_code 1 autodev db status >out 2>err &&
    test_one_error err "no database at .* \(run .autodev init.\)"
'

test_expect_success 'db status: backend, current and latest version, every table counted' '
    autodev init >/dev/null &&
    autodev agent add bot >/dev/null &&
    autodev --json db status >st.json &&
    test "$(json_get "j[\"backend\"]" <st.json)" = sqlite &&
    test "$(json_get "j[\"schema_version\"][\"current\"] == j[\"schema_version\"][\"latest\"]" <st.json)" = true &&
    test "$(json_get "j[\"tables\"][\"agents\"]" <st.json)" = 1 &&
    test "$(json_get "j[\"tables\"][\"tenants\"]" <st.json)" = 1 &&
    test "$(json_get "j[\"tables\"][\"episodes\"]" <st.json)" = 0 &&
    test "$(json_get "len(j[\"tables\"])" <st.json)" = 29 &&
    autodev db status >st.txt &&
    grep -q "^backend  *sqlite$" st.txt &&
    grep -Eq "^agents +1$" st.txt
'

test_expect_success 'db migrate on a current schema has nothing to do' '
    autodev db migrate >out &&
    grep -q "is the latest: nothing to do" out
'

test_expect_success 'an older schema: status says so, migrate brings it up and says from what' '
    latest=$(json_get "j[\"schema_version\"][\"latest\"]" <st.json) &&
    sqlite3 "$DB" "DROP TABLE fitness_terms; ALTER TABLE agents DROP COLUMN tool_policy; DELETE FROM schema_migrations WHERE version IN (11, 12); PRAGMA user_version = 9;" &&
    test_expect_code 1 autodev db status >out 2>err &&
    grep -q "needs an upgrade" err &&
    autodev db migrate >out &&
    grep -q "migrated the schema from version 9 to $latest" out &&
    autodev --json db status >st2.json &&
    test "$(json_get "j[\"schema_version\"][\"current\"]" <st2.json)" = "$latest" &&
    test "$(json_get "j[\"tables\"][\"agents\"]" <st2.json)" = 1
'

test_expect_success 'db takes no stray argument' '
    test_expect_code 2 autodev db status extra >out 2>err &&
    test_one_error err "usage: autodev db status"
'

if [ -n "${AUTODEV_TEST_PG:-}" ] && command -v psql >/dev/null; then
    test_expect_success 'PostgreSQL: migrate an empty schema, then nothing to do; status counts' '
        schema=dbt_$$ &&
        psql "$AUTODEV_TEST_PG" -qc "CREATE SCHEMA $schema" &&
        uri="$AUTODEV_TEST_PG&options=-csearch_path%3D$schema" &&
        AUTODEV_DB=$uri autodev db migrate >out &&
        grep -q "migrated the schema from version 0 to" out &&
        AUTODEV_DB=$uri autodev db migrate >out &&
        grep -q "nothing to do" out &&
        AUTODEV_DB=$uri autodev agent add bot >/dev/null &&
        AUTODEV_DB=$uri autodev --json db status >pg.json &&
        test "$(json_get "j[\"backend\"]" <pg.json)" = postgresql &&
        test "$(json_get "j[\"tables\"][\"agents\"]" <pg.json)" = 1 &&
        test "$(json_get "\"database\" in j" <pg.json)" = false &&
        PGOPTIONS=--client-min-messages=warning psql "$AUTODEV_TEST_PG" -qc "DROP SCHEMA $schema CASCADE"
    '
else
    test_skip 'PostgreSQL: migrate an empty schema' 'no cluster (AUTODEV_TEST_PG unset)'
fi

test_done
