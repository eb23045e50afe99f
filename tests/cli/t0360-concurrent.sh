#!/bin/sh
test_description='concurrent writers wait their turn: ten batch imports at once all succeed'
. "$(dirname "$0")/test-lib.sh"

# Ten real processes import 2000 episodes each, in transactions of 100, at
# the same moment, with the default busy wait: every one must exit 0 and
# the store must hold exactly 20000 episodes. The old fixed 5 s timeout
# lost one to three of the ten to "database is locked" on this machine.
WRITERS=10
EACH=2000

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add writer >/dev/null &&
    /usr/bin/python3 -c "import json, sys
for w in range($WRITERS):
    with open(\"w%d.jsonl\" % w, \"w\") as f:
        for i in range($EACH):
            f.write(json.dumps({\"agent\": \"writer\", \"task_description\": \"writer %d task %d\" % (w, i),
                                \"success\": i % 3 != 0, \"error_trace\": None if i % 3 else \"ValueError: %d\" % i}) + \"\\n\")
"
'

test_expect_success 'ten concurrent episode add --batch writers all succeed' '
    w=0 &&
    while [ $w -lt $WRITERS ]; do
        { "$AUTODEV_BIN" episode add --batch --batch-size 100 --file w$w.jsonl >out.$w 2>err.$w
          echo $? >rc.$w; } &
        w=$((w + 1))
    done &&
    wait &&
    w=0 &&
    while [ $w -lt $WRITERS ]; do
        test "$(cat rc.$w)" = 0 || { echo "writer $w exited $(cat rc.$w):"; cat err.$w; exit 1; }
        test "$(cat out.$w)" = "$EACH episodes recorded" || exit 1
        test ! -s err.$w || exit 1
        w=$((w + 1))
    done
'

test_expect_success 'the count is exact and the database intact' '
    autodev agent show writer --json >a &&
    test "$(json_get "j[\"episode_count\"]" <a)" = $((WRITERS * EACH)) &&
    test "$(json_get "j[\"failure_count\"]" <a)" = $((WRITERS * ((EACH + 2) / 3))) &&
    test "$(sqlite3 "$DB" "SELECT count(*) FROM episodes")" = $((WRITERS * EACH)) &&
    test "$(sqlite3 "$DB" "SELECT count(DISTINCT task_description) FROM episodes")" = \
        $((WRITERS * EACH)) &&
    test "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok
'

test_expect_success 'the default busy wait is stated where users look' '
    grep -q "AUTODEV_BUSY_TIMEOUT_MS" "$AUTODEV_SRC/docs/autodev.1" &&
    grep -q "default 60000" "$AUTODEV_SRC/docs/autodev.1" &&
    grep -q "AUTODEV_BUSY_TIMEOUT_MS" "$AUTODEV_SRC/README.md"
'

test_done
