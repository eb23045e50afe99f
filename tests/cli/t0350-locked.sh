#!/bin/sh
test_description='a locked database: wait for the busy timeout, then fail clearly'
. "$(dirname "$0")/test-lib.sh"

if ! command -v sqlite3 >/dev/null 2>&1; then
    test_skip 'a locked database' 'no sqlite3 CLI (scripts/install-deps installs it)'
    test_done
fi

# hold_lock: take the write lock with the sqlite3 CLI until the file
# "holding" goes away; returns once the lock is held.
hold_lock() {
    touch holding || return 1
    { echo "BEGIN IMMEDIATE;"; echo "SELECT 1;";
      while [ -e holding ]; do sleep 0.05; done; echo "ROLLBACK;"; } |
        sqlite3 -cmd ".timeout 10000" "$DB" >/dev/null 2>&1 &
    holder=$!
    # The lock is held once a second writer is refused at once. The holder
    # waits out that probe's own brief lock (.timeout), or it could lose the
    # race, fail its BEGIN and never hold the lock at all.
    wait_for "! sqlite3 -cmd \".timeout 0\" \"\$DB\" \"BEGIN IMMEDIATE; ROLLBACK;\" >/dev/null 2>&1" 30
}

release_lock() {
    rm -f holding
    wait $holder 2>/dev/null
    return 0
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add alice >/dev/null
'

test_expect_success 'a write on a locked database exits 1 saying it is locked' '
    hold_lock &&
    test_expect_code 1 env AUTODEV_BUSY_TIMEOUT_MS=200 "$AUTODEV_BIN" agent add bob >out 2>err
    rc=$?
    release_lock
    test $rc = 0 &&
    test_one_error err "database is locked" &&
    test ! -s out
'

test_expect_success 'nothing was written by the refused command' '
    test_expect_code 2 autodev agent show bob 2>/dev/null
'

test_expect_success 'an episode batch on a locked database fails cleanly' '
    hold_lock &&
    echo "{\"agent\": \"alice\", \"task_description\": \"x\", \"success\": true}" >one.jsonl &&
    test_expect_code 1 env AUTODEV_BUSY_TIMEOUT_MS=200 "$AUTODEV_BIN" episode add --batch \
        <one.jsonl 2>err
    rc=$?
    release_lock
    test $rc = 0 &&
    test_one_error err "locked" &&
    test "$(episode_count)" = 0
'

test_expect_success 'a write waits for a lock released within the busy timeout' '
    hold_lock || exit 1
    { sleep 0.3; rm -f holding; } &
    env AUTODEV_BUSY_TIMEOUT_MS=30000 "$AUTODEV_BIN" agent add carol >out 2>err
    rc=$?
    release_lock
    test $rc = 0 &&
    autodev agent show carol >/dev/null
'

test_expect_success 'a bad AUTODEV_BUSY_TIMEOUT_MS is a usage error' '
    test_expect_code 2 env AUTODEV_BUSY_TIMEOUT_MS=soon "$AUTODEV_BIN" agent list 2>err &&
    test_one_error err "AUTODEV_BUSY_TIMEOUT_MS"
'

test_done
