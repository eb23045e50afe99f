#!/bin/sh
test_description='events tail: the last events, --since, --topic, --follow'
. "$(dirname "$0")/test-lib.sh"

# add_episodes N SUCCESS: N episodes of alice.
add_episodes() {
    awk -v n="$1" -v ok="$2" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "{\"agent\":\"alice\",\"task_description\":\"t%d\",\"success\":%s}\n", i, ok
    }' | autodev episode add --batch >/dev/null
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add alice >/dev/null
'

test_expect_success 'events tail on an empty outbox prints nothing' '
    autodev events tail >out &&
    test ! -s out
'

test_expect_success 'each episode emits one event' '
    add_episodes 25 true &&
    add_episodes 5 false &&
    autodev events tail --since 0 --limit 10000 >all &&
    test_line_count all 30
'

test_expect_success 'without --since, the last 20 events, oldest first' '
    autodev events tail >out &&
    test_line_count out 20 &&
    tail -n 20 all >expect &&
    test_cmp expect out
'

test_expect_success 'text lines are SEQ  TIME  TOPIC  PAYLOAD' '
    tail -n 1 all >last &&
    grep -Eq "^[0-9]+  [0-9T:.-]+Z  task\.fail  \{.*\}$" last
'

test_expect_success '--limit N prints the last N' '
    autodev events tail --limit 3 >out &&
    tail -n 3 all >expect &&
    test_cmp expect out
'

test_expect_success '--since SEQ prints the events after SEQ' '
    seq=$(sed -n 10p all | cut -d" " -f1) &&
    autodev events tail --since "$seq" >out &&
    tail -n 20 all >expect &&
    test_cmp expect out &&
    autodev events tail --since "$seq" --limit 2 >out2 &&
    test_line_count out2 2
'

test_expect_success '--topic filters, also for the last N' '
    autodev events tail --topic task.fail >out &&
    test_line_count out 5 &&
    autodev events tail --topic task.success --limit 30 >out &&
    test_line_count out 25 &&
    test_expect_code 2 autodev events tail --topic "Bad Topic" 2>err &&
    test_one_error err "invalid topic"
'

test_expect_success '--json prints one object per line' '
    autodev events tail --json --limit 2 >out &&
    test_line_count out 2 &&
    tail -n 1 out | json_get "sorted(j)" >keys &&
    echo "[\"created_at\", \"id\", \"payload\", \"seq\", \"topic\"]" >expect &&
    test_cmp expect keys &&
    tail -n 1 out | json_get "j[\"payload\"][\"success\"]" >ok &&
    echo false >expect &&
    test_cmp expect ok
'

test_expect_success 'sequence numbers increase' '
    cut -d" " -f1 all >seqs &&
    sort -n -u seqs >sorted &&
    test_cmp seqs sorted
'

test_expect_success 'bad options exit 2' '
    test_expect_code 2 autodev events tail --since -1 2>err &&
    test_one_error err "invalid --since" &&
    test_expect_code 2 autodev events tail --interval 1 2>err &&
    test_one_error err "invalid --interval" &&
    test_expect_code 2 autodev events tail now 2>err &&
    test_line_count err 1
'

test_expect_success 'events of one tenant are invisible to another' '
    autodev --tenant other agent add alice >/dev/null &&
    autodev --tenant other events tail >out &&
    test ! -s out
'

test_expect_success '--follow prints new events as they come and stops on SIGTERM' '
    last=$(tail -n 1 all | cut -d" " -f1) &&
    "$AUTODEV_BIN" events tail --follow --json --interval 50 --since "$last" >follow.out 2>follow.err &
    pid=$!
    id=$(echo "{\"agent\":\"alice\",\"task_description\":\"late\",\"success\":true}" |
         autodev episode add) &&
    wait_for "grep -q \"$id\" follow.out" 60
    seen=$?
    kill -TERM $pid
    wait $pid
    rc=$?
    cat follow.err
    test $seen = 0 &&
    test $rc = 0 &&
    test_line_count follow.out 1 &&
    test "$(json_get "j[\"payload\"][\"episode_id\"]" <follow.out)" = "$id"
'

test_expect_success '--follow stops on SIGINT with status 0' '
    "$AUTODEV_BIN" events tail --follow --interval 50 >f2.out &
    pid=$!
    wait_for "test -s f2.out" 60
    kill -INT $pid
    wait $pid
    rc=$?
    test $rc = 0 &&
    test_line_count f2.out 20
'

test_done
