#!/bin/sh
test_description='kill -9 in the middle of episode add --batch loses only the open batch'
. "$(dirname "$0")/test-lib.sh"

if ! command -v sqlite3 >/dev/null 2>&1; then
    test_skip 'kill -9 during a batch' 'no sqlite3 CLI (scripts/install-deps installs it)'
    test_done
fi

sql() {
    sqlite3 -cmd ".timeout 5000" "$DB" "$1" 2>/dev/null
}

episodes() {
    sql "SELECT count(*) FROM episodes"
}

outcome_events() {
    sql "SELECT count(*) FROM events WHERE topic IN ('task.fail', 'task.success')"
}

# 200000 JSON lines, slowly: a pause every 250 lines, so that autodev is
# caught with a transaction open.
cat >producer.py <<\EOF
import sys, time
for i in range(200000):
    sys.stdout.write('{"agent":"alice","task_description":"task %d","success":%s}\n'
                     % (i, "true" if i % 4 else "false"))
    if i % 250 == 249:
        sys.stdout.flush()
        time.sleep(0.02)
EOF

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add alice >/dev/null
'

# kill_round THRESHOLD: start a batch, kill -9 it once THRESHOLD episodes are in.
kill_round() {
    rm -f pipe
    mkfifo pipe || return 1
    python3 producer.py >pipe 2>/dev/null &
    prod=$!
    "$AUTODEV_BIN" episode add --batch --batch-size 1000 <pipe >out 2>err &
    pid=$!
    wait_for "test \"\$(episodes)\" -ge $1" 60
    ok=$?
    kill -9 $pid 2>/dev/null
    wait $pid
    rc=$?
    kill $prod 2>/dev/null
    wait $prod 2>/dev/null
    echo "round to $1: autodev exit $rc, $(episodes) episodes"
    cat err
    test $ok = 0 && test $rc = 137
}

test_expect_success 'kill -9 mid-batch, three times' '
    kill_round 3000 &&
    kill_round $(( $(episodes) + 2500 )) &&
    kill_round $(( $(episodes) + 2500 ))
'

test_expect_success 'the database is consistent after the kills' '
    test "$(sql "PRAGMA integrity_check")" = ok &&
    test "$(sql "PRAGMA foreign_key_check")" = ""
'

test_expect_success 'only whole batches of 1000 were kept' '
    n=$(episodes) &&
    echo "$n episodes" &&
    test "$n" -gt 0 &&
    test $((n % 1000)) = 0
'

test_expect_success 'each kept episode has its event and its agent counter' '
    n=$(episodes) &&
    test "$(outcome_events)" = "$n" &&
    autodev agent show alice --json >out &&
    test "$(json_get "j[\"episode_count\"]" <out)" = "$n"
'

test_expect_success 'autodev carries on after the kills' '
    n=$(episodes) &&
    python3 producer.py 2>/dev/null | head -n 1500 | autodev episode add --batch >out &&
    grep -q "^1500 episodes recorded$" out &&
    test "$(episodes)" = $((n + 1500))
'

test_done
