#!/bin/sh
test_description='jobs enqueue, list and run'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup' '
    autodev init >/dev/null
'

test_expect_success 'jobs list on an empty queue prints nothing' '
    autodev jobs list >out &&
    test ! -s out
'

test_expect_success 'jobs enqueue prints the new id and the job is queued' '
    autodev jobs enqueue store.check >id &&
    test "$(wc -c <id)" = 37 &&
    autodev jobs list --json >out &&
    test "$(json_get "len(j)" <out)" = 1 &&
    test "$(json_get "j[0][\"status\"]" <out)" = queued &&
    test "$(json_get "j[0][\"kind\"]" <out)" = store.check &&
    test "$(json_get "j[0][\"id\"]" <out)" = "$(cat id)"
'

test_expect_success 'an idempotency key enqueues once' '
    autodev jobs enqueue store.check --key nightly --json >a &&
    autodev jobs enqueue store.check --key nightly --json >b &&
    test "$(json_get "j[\"created\"]" <a)" = true &&
    test "$(json_get "j[\"created\"]" <b)" = false &&
    test "$(json_get "j[\"id\"]" <a)" = "$(json_get "j[\"id\"]" <b)" &&
    autodev jobs enqueue store.check --key nightly >c &&
    grep -q "already queued" c &&
    autodev jobs list --json >out &&
    test "$(json_get "len(j)" <out)" = 2
'

test_expect_success 'jobs run runs one job and reports it done' '
    autodev jobs run >out &&
    test_line_count out 1 &&
    grep -q "store.check  done" out &&
    autodev jobs list --status done --json >done &&
    test "$(json_get "len(j)" <done)" = 1 &&
    test "$(json_get "j[0][\"attempts\"]" <done)" = 1 &&
    autodev jobs list --status queued --json >queued &&
    test "$(json_get "len(j)" <queued)" = 1
'

test_expect_success 'jobs run --until-idle runs the rest' '
    autodev jobs enqueue store.check --payload "{\"why\": \"test\"}" >/dev/null &&
    autodev jobs enqueue store.check >/dev/null &&
    autodev jobs run --until-idle >out &&
    grep -q "^ran 3 jobs$" out &&
    autodev jobs list --status queued >q &&
    test ! -s q &&
    autodev jobs run >out &&
    grep -q "^no job to run$" out
'

test_expect_success 'jobs run --max and --json' '
    for i in 1 2 3; do autodev jobs enqueue store.check >/dev/null || exit 1; done &&
    autodev jobs run --until-idle --max 2 --json >out &&
    test "$(json_get "j[\"ran\"]" <out)" = 2 &&
    test "$(json_get "[x[\"status\"] for x in j[\"jobs\"]]" <out)" = "[\"done\", \"done\"]" &&
    autodev jobs run --kind store.check --json >out &&
    test "$(json_get "j[\"ran\"]" <out)" = 1
'

test_expect_success 'a delayed job waits' '
    autodev jobs enqueue store.check --delay 3600 >id &&
    autodev jobs run --until-idle >out &&
    grep -q "^no job to run$" out &&
    autodev jobs list --status queued --json >q &&
    test "$(json_get "j[0][\"id\"]" <q)" = "$(cat id)"
'

test_expect_success '--delay counts from now: an hour, not an hour past the epoch twice' '
    autodev --tenant delayed jobs enqueue store.check --delay 3600 --json >id &&
    autodev --tenant delayed jobs list --status queued --json >q &&
    id=$(json_get "j[\"id\"]" <id) &&
    after=$(json_get "[x[\"run_after\"] for x in j if x[\"id\"] == \"$id\"][0]" <q) &&
    now=$(date -u +%s) &&
    t=$(date -u -d "$after" +%s) &&
    test $((t - now)) -gt 3500 &&
    test $((t - now)) -lt 3700
'

test_expect_success 'a kind nothing runs is refused, naming the kinds there are' '
    autodev jobs list --json >before &&
    test_expect_code 2 autodev jobs enqueue later.kind 2>err &&
    test_one_error err "unknown job kind .later.kind. \(the kinds are store\.check, memento\.generate, alpha\.mutate, alpha\.background, webhook\.deliver, advise\.readiness, evolve\.generation\)$" &&
    autodev jobs list --json >after &&
    test_cmp before after &&
    test_expect_code 2 autodev jobs run --kind later.kind 2>err &&
    test_one_error err "unknown job kind .later.kind." &&
    autodev jobs enqueue store.check --delay 3600 >/dev/null &&
    autodev jobs run --until-idle >out &&
    grep -q "^no job to run$" out
'

test_expect_success 'bad input exits 2' '
    test_expect_code 2 autodev jobs enqueue store.check --payload "{nope" 2>err &&
    test_one_error err "payload" &&
    test_expect_code 2 autodev jobs enqueue store.check --payload "[1]" 2>err &&
    test_one_error err "expected a JSON object" &&
    test_expect_code 2 autodev jobs enqueue 2>err &&
    test_one_error err "usage" &&
    test_expect_code 2 autodev jobs enqueue store.check --delay -5 2>err &&
    test_one_error err "invalid --delay" &&
    test_expect_code 2 autodev jobs list --status sleeping 2>err &&
    test_one_error err "invalid status .sleeping." &&
    test_expect_code 2 autodev jobs run --max 2 2>err &&
    test_one_error err "needs --until-idle"
'

test_expect_success 'jobs list text shows status and kind' '
    autodev jobs list --limit 1 >out &&
    test_line_count out 2 &&
    head -n1 out | grep -Eq "^ID +STATUS +KIND +TRIES +UPDATED +NOTE$" &&
    grep -Eq "^[0-9a-f-]{36}  queued  +store\.check" out
'

test_expect_success 'jobs belong to one tenant' '
    autodev --tenant other jobs enqueue store.check >/dev/null &&
    autodev --tenant other jobs list --json >o &&
    test "$(json_get "len(j)" <o)" = 1 &&
    autodev jobs list --limit 100 --json >d &&
    test "$(json_get "len(j)" <d)" = 9
'

gen_episodes() {
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
        printf "{\"agent\":\"alice\",\"task_description\":\"task %d, padded to fill pages\",\"success\":true}\n", i }'
}

# A leaf page of the episodes table, where a damaged page breaks no open.
episode_leaf_page() {
    sqlite3 "$1" "SELECT pageno FROM dbstat WHERE name = 'episodes' AND pagetype = 'leaf'
                  ORDER BY pageno LIMIT 1 OFFSET 2" 2>/dev/null
}

test_expect_success 'a kind is tried as often as its owner says, whoever queues it' '
    autodev --home att init >/dev/null &&
    autodev --home att jobs enqueue memento.generate --payload "{\"agent_id\": \"x\"}" \
        --json >out &&
    id=$(json_get "j[\"id\"]" <out) &&
    autodev --home att jobs enqueue store.check >/dev/null &&
    autodev --home att jobs list --json >j &&
    test "$(json_get "[x[\"max_attempts\"] for x in j if x[\"id\"] == \"$id\"][0]" <j)" = 3 &&
    test "$(json_get "[x[\"max_attempts\"] for x in j if x[\"kind\"] == \"store.check\"][0]" <j)" = 5 &&
    autodev help jobs >help &&
    grep -q "3 attempts" help && grep -q "synthesis by" help
'

if command -v sqlite3 >/dev/null 2>&1 &&
   sqlite3 :memory: "SELECT count(*) FROM dbstat" >/dev/null 2>&1; then
test_expect_success 'store.check fails for good on a damaged database' '
    autodev --home cor init >/dev/null &&
    autodev --home cor agent add alice >/dev/null &&
    gen_episodes 300 | autodev --home cor episode add --batch >/dev/null &&
    sqlite3 cor/autodev.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
    page=$(episode_leaf_page cor/autodev.db) &&
    test -n "$page" &&
    ps=$(sqlite3 cor/autodev.db "PRAGMA page_size") &&
    dd if=/dev/zero of=cor/autodev.db bs="$ps" seek=$((page - 1)) count=1 conv=notrunc \
        2>/dev/null &&
    autodev --home cor jobs enqueue store.check >/dev/null &&
    autodev --home cor jobs run >out &&
    grep -q "store.check  failed: " out &&
    test_line_count out 1 &&
    autodev --home cor jobs list --json >j &&
    test "$(json_get "j[0][\"status\"]" <j)" = failed &&
    test "$(json_get "j[0][\"attempts\"]" <j)" = 1 &&
    test_expect_code 1 autodev --home cor episode list --limit 1000 2>err &&
    test_line_count err 1
'
else
test_skip 'store.check fails for good on a damaged database' 'no sqlite3 CLI with dbstat'
fi

test_done
