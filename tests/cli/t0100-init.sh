#!/bin/sh
test_description='init, the home directory, missing, corrupt and foreign databases'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'init creates the home (mode 0700) and the database' '
    autodev init >out &&
    test -f "$DB" &&
    test "$(stat -c %a "$AUTODEV_HOME")" = 700 &&
    grep -q "$DB" out &&
    grep -Eq "schema version [0-9]+" out
'

test_expect_success 'init is safe to repeat and keeps the data' '
    autodev agent add keeper >/dev/null &&
    autodev init >out &&
    grep -Eq "schema version [0-9]+" out &&
    autodev agent show keeper >/dev/null
'

test_expect_success 'init --json reports the path and schema version' '
    autodev init --json >out &&
    test "$(json_get "j[\"database\"]" <out)" = "$DB" &&
    test "$(json_get "j[\"schema_version\"] > 0" <out)" = true
'

test_expect_success 'init --tenant makes that tenant too' '
    autodev --tenant acme init >/dev/null &&
    autodev --tenant acme agent list >out &&
    test ! -s out
'

test_expect_success 'a read with an unknown tenant exits 2' '
    test_expect_code 2 autodev --tenant nobody agent list 2>err &&
    test_one_error err "unknown tenant .nobody."
'

test_expect_success 'AUTODEV_TENANT selects the tenant' '
    AUTODEV_TENANT=acme autodev agent add acme-bot >/dev/null &&
    autodev --tenant acme agent show acme-bot >/dev/null &&
    test_expect_code 2 autodev agent show acme-bot 2>err
'

test_expect_success 'an invalid tenant name exits 2' '
    test_expect_code 2 autodev --tenant "no such" agent list 2>err &&
    test_one_error err "invalid tenant name"
'

test_expect_success 'a missing database says to run init' '
    test_expect_code 1 autodev --home "$TRASH/nowhere" agent list 2>err >out &&
    test_one_error err "no database at .$TRASH/nowhere/autodev.db. \(run .autodev init.\)" &&
    test ! -s out &&
    test ! -e "$TRASH/nowhere"
'

test_expect_success 'AUTODEV_HOME and --home choose the home' '
    AUTODEV_HOME="$TRASH/h2" autodev init >/dev/null &&
    test -f "$TRASH/h2/autodev.db" &&
    autodev --home "$TRASH/h3/deeper" init >/dev/null &&
    test -f "$TRASH/h3/deeper/autodev.db"
'

test_expect_success 'AUTODEV_DB chooses the database file' '
    AUTODEV_DB="$TRASH/other.db" autodev init >/dev/null &&
    test -f "$TRASH/other.db" &&
    AUTODEV_DB="$TRASH/other.db" autodev agent add elsewhere >/dev/null &&
    test_expect_code 2 autodev agent show elsewhere 2>/dev/null
'

test_expect_success 'a file of garbage is a clear error, not a crash' '
    mkdir -p junk &&
    awk "BEGIN { for (i = 0; i < 2000; i++) printf \"this is not a database %d\n\", i }" \
        >junk/autodev.db &&
    cp junk/autodev.db before &&
    test_expect_code 1 autodev --home junk agent list 2>err &&
    test_one_error err "junk/autodev.db" &&
    test_expect_code 1 autodev --home junk init 2>err &&
    test_line_count err 1 &&
    test_expect_code 1 autodev --home junk agent add x 2>err &&
    test_line_count err 1 &&
    cmp before junk/autodev.db
'

if command -v sqlite3 >/dev/null 2>&1; then
test_expect_success 'an autodev database with damaged pages fails cleanly' '
    mkdir -p damaged &&
    autodev --home damaged init >/dev/null &&
    for i in 1 2 3 4 5 6 7 8; do autodev --home damaged agent add "agent-$i" >/dev/null || exit 1; done &&
    sqlite3 damaged/autodev.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
    ps=$(sqlite3 damaged/autodev.db "PRAGMA page_size") &&
    pages=$(( $(stat -c %s damaged/autodev.db) / ps )) &&
    dd if=/dev/zero of=damaged/autodev.db bs="$ps" seek=1 count=$((pages - 1)) \
        conv=notrunc 2>/dev/null &&
    test_must_fail autodev --home damaged agent list 2>err &&
    test_line_count err 1 &&
    test_must_fail autodev --home damaged agent add late 2>err &&
    test_line_count err 1
'

test_expect_success 'a SQLite database of another program is refused and left alone' '
    sqlite3 notes.db "CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES (1);" &&
    sqlite3 notes.db .tables >before &&
    test_expect_code 1 env AUTODEV_DB="$TRASH/notes.db" "$AUTODEV_BIN" agent list 2>err &&
    test_one_error err "notes.db" &&
    test_expect_code 1 env AUTODEV_DB="$TRASH/notes.db" "$AUTODEV_BIN" init 2>err &&
    test_line_count err 1 &&
    sqlite3 notes.db .tables >after &&
    test_cmp before after
'
else
test_skip 'damaged and foreign databases' 'no sqlite3 CLI (scripts/install-deps installs it)'
fi

test_expect_success 'a home that is a file is a clear error' '
    echo file >plainfile &&
    test_expect_code 1 autodev --home plainfile init 2>err &&
    test_line_count err 1
'

test_done
