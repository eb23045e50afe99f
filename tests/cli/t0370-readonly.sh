#!/bin/sh
test_description='read commands open the database read-only: never create, migrate or adopt; work in a read-only home'
. "$(dirname "$0")/test-lib.sh"

# ---- item 24: a read never turns a file into a database ---------------------

# untouched FILE CMD...: CMD exits 1 with one error line and FILE keeps every byte.
untouched() {
    f=$1
    shift
    cp "$f" "$TRASH/before" &&
    ls -a "$(dirname "$f")" >"$TRASH/files.before" &&
    test_expect_code 1 env AUTODEV_DB="$f" "$AUTODEV_BIN" "$@" >"$TRASH/out" 2>"$TRASH/err" &&
    test_line_count "$TRASH/err" 1 &&
    test ! -s "$TRASH/out" &&
    cmp "$TRASH/before" "$f" &&
    ls -a "$(dirname "$f")" >"$TRASH/files.after" &&
    test_cmp "$TRASH/files.before" "$TRASH/files.after"
}

test_expect_success 'an empty file named by AUTODEV_DB is refused by every read and left as it is' '
    mkdir e && : >e/empty.db &&
    for cmd in "agent list" "episode list" "skill list" "settings list" "events tail" \
               "jobs list" "notifications" "candidates list" "agent sessions" "llm usage"; do
        untouched e/empty.db $cmd || return 1
        grep -q "^autodev: .*e/empty.db. is empty, not an autodev database (run .autodev init. to make a database of it)$" err || return 1
    done &&
    test ! -s e/empty.db
'

test_expect_success 'a foreign file is refused by a read, byte for byte untouched' '
    mkdir f &&
    printf "not a database\n%.0s" $(seq 1 300) >f/notes.txt &&
    untouched f/notes.txt agent list &&
    if command -v sqlite3 >/dev/null 2>&1; then
        sqlite3 f/other.db "CREATE TABLE t(x); INSERT INTO t VALUES (1);" &&
        untouched f/other.db episode list &&
        grep -q "not an autodev database" err
    fi
'

test_expect_success 'an older schema is not migrated by a read' '
    command -v sqlite3 >/dev/null 2>&1 || return 0
    mkdir old &&
    AUTODEV_DB="$TRASH/old/a.db" autodev init >/dev/null &&
    sqlite3 old/a.db "PRAGMA user_version = 1" &&
    cp old/a.db before &&
    test_expect_code 1 env AUTODEV_DB="$TRASH/old/a.db" "$AUTODEV_BIN" agent list 2>err &&
    test_one_error err "has schema version 1 and needs an upgrade .* \(run .autodev init. to upgrade it\)$" &&
    cmp before old/a.db &&
    test "$(sqlite3 old/a.db "PRAGMA user_version")" = 1
'

# ---- item 21: a read-only home ---------------------------------------------

# as_nobody CMD...: CMD as an unprivileged uid (root ignores file modes).
NOBODY=65534
as_nobody() {
    setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
        env HOME="$RO" AUTODEV_HOME="$RO/home" "$AUTODEV_BIN" "$@"
}

RO=$TRASH/ro
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1; then
    test_skip 'a read-only home' 'needs root and setpriv to run as another uid'
    test_done
fi

test_expect_success 'setup: a home with data, then read-only to its reader' '
    mkdir -p "$RO" &&
    AUTODEV_HOME="$RO/home" autodev init >/dev/null &&
    AUTODEV_HOME="$RO/home" autodev agent add reader >/dev/null &&
    echo "{\"agent\": \"reader\", \"task_description\": \"read me\", \"success\": true}" |
        AUTODEV_HOME="$RO/home" autodev episode add >id &&
    AUTODEV_HOME="$RO/home" autodev jobs enqueue store.check >/dev/null &&
    chmod 0711 "$TRASH" &&
    chmod 0555 "$RO" &&
    chmod 0444 "$RO"/home/* &&
    chmod 0555 "$RO/home" &&
    ls -la "$RO/home" >listing &&
    ! grep -q -- "-wal\|-shm" listing &&
    (cd "$RO/home" && sha256sum autodev.db) >sum
'

test_expect_success 'every read command works in the read-only home' '
    as_nobody agent list >out && grep -q "^reader " out &&
    as_nobody agent show reader --json >out &&
    test "$(json_get "j[\"episode_count\"]" <out)" = 1 &&
    as_nobody episode list >out && grep -q "read me" out &&
    as_nobody episode show "$(cat id)" >out && grep -q "read me" out &&
    as_nobody events tail >out && grep -q "task.success" out &&
    as_nobody jobs list >out && grep -q "store.check" out &&
    as_nobody settings list >/dev/null &&
    as_nobody settings get enabled >out && test "$(cat out)" = false &&
    as_nobody skill list >/dev/null &&
    as_nobody notifications >/dev/null &&
    as_nobody agent readiness reader >/dev/null &&
    test_expect_code 1 as_nobody gate check reader memento_skills >out &&
    grep -q "^denied" out
'

test_expect_success 'a write in the read-only home fails clearly; nothing changes' '
    test_expect_code 1 as_nobody agent add writer 2>err &&
    test_line_count err 1 &&
    grep -q "^autodev: " err &&
    (cd "$RO/home" && sha256sum -c "$TRASH/sum") >/dev/null &&
    ls -la "$RO/home" >listing2 &&
    test_cmp listing listing2
'

test_expect_success 'a write-ahead log the reader cannot use is refused, not misread' '
    command -v sqlite3 >/dev/null 2>&1 || return 0
    mkdir "$TRASH/ro2" &&
    AUTODEV_HOME="$TRASH/ro2" autodev init >/dev/null &&
    AUTODEV_HOME="$TRASH/ro2" autodev agent add before >/dev/null &&
    sqlite3 "$TRASH/ro2/autodev.db" ".dbconfig no_ckpt_on_close on" \
        "UPDATE agents SET name = '"'"'after'"'"'" >/dev/null &&
    rm -f "$TRASH/ro2/autodev.db-shm" &&
    test -s "$TRASH/ro2/autodev.db-wal" &&
    chmod 0444 "$TRASH"/ro2/* && chmod 0555 "$TRASH/ro2" &&
    test_expect_code 1 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
        env AUTODEV_HOME="$TRASH/ro2" "$AUTODEV_BIN" agent list >out 2>err &&
    test_one_error err "write-ahead log holds transactions" &&
    test ! -s out &&
    chmod 0755 "$TRASH/ro2"
'

# Let test_done remove what it must.
chmod -R u+w "$RO" "$TRASH/ro2" 2>/dev/null
test_done
