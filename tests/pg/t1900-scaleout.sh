#!/bin/sh
test_description='PostgreSQL scale-out: 4 autodev worker and 2 autodev serve processes on one database; 2,000 jobs each done exactly once; kill -9 of a worker mid-job'
. "$(dirname "$0")/lib.sh"
pg_skip_all

# The job kind is store.check: real work on the database (it reads the schema
# version and compares it with the binary's), done in a few milliseconds, no
# model and no sandbox, so 2,000 of them measure the queue, not the jobs.

done_count() {
    pgq "SELECT count(*) FROM jobs WHERE kind = 'store.check' AND status = 'done'"
}

test_expect_success 'setup: a PostgreSQL store, four workers and two servers on it' '
    autodev init >/dev/null &&
    test "$(pgq "SELECT count(*) FROM tenants WHERE name = '"'"'default'"'"'")" = 1 &&
    for n in 1 2 3 4; do start_worker $n --workers 2 --poll 20 || exit 1; done &&
    start_serve 1 --workers 2 --poll 20 &&
    start_serve 2 --workers 2 --poll 20
'

# The 2,000 jobs go in with one INSERT (2,000 CLI processes would take minutes
# under the sanitizers): rows exactly as ad_jobs_enqueue writes them.
test_expect_success '2,000 jobs queued at once are each done exactly once' '
    tid=$(pgq "SELECT id FROM tenants WHERE name = '"'"'default'"'"'") &&
    pgq "INSERT INTO jobs (id, tenant_id, kind, payload, status, attempts, max_attempts,
                           run_after, created_at, updated_at)
         SELECT gen_random_uuid()::text, '"'"'$tid'"'"', '"'"'store.check'"'"', '"'"'{}'"'"',
                '"'"'queued'"'"', 0, 5, now(), now(), now()
         FROM generate_series(1, 2000)" &&
    wait_for "test \$(done_count) = 2000" 900 &&
    test "$(pgq "SELECT count(*) FROM jobs WHERE attempts <> 1")" = 0 &&
    test "$(pgq "SELECT count(*) FROM jobs WHERE status <> '"'"'done'"'"'")" = 0 &&
    cat worker*.err serve*.err | sed -n "s/.*: job \([0-9a-f-]*\) store.check done$/\1/p" >ran &&
    test_line_count ran 2000 &&
    sort -u ran >ran.u && test_line_count ran.u 2000 &&
    pgq "SELECT id FROM jobs ORDER BY id" >ids && sort ran >ran.s && test_cmp ids ran.s &&
    for f in worker*.err serve*.err; do
        grep -c "store.check done" "$f" || :
    done >per-process &&
    say "jobs done per process: $(tr "\n" " " <per-process)" &&
    test "$(grep -cv "^0$" per-process)" -ge 2
'

test_expect_success 'the processes stop cleanly' '
    for n in 1 2 3 4; do stop_pid worker$n.pid || exit 1; done &&
    stop_pid serve1.pid && stop_pid serve2.pid
'

# kill -9 mid-job: a job held inside its work. A psql session takes an
# ACCESS EXCLUSIVE lock on schema_migrations, so the store.check a worker
# claims waits inside its run, with its lease taken, until the lock goes.
test_expect_success 'kill -9 of a worker mid-job: its lease expires and another worker finishes the job' '
    start_worker 1 --workers 1 --lease 2 --poll 20 &&
    wait_for "grep -q \"worker running\" worker1.err" 60 &&
    autodev jobs enqueue store.check --delay 2 >job &&
    job=$(cat job) &&
    { "$PG_PSQL" -X -q -h "$PG_HOST" -U postgres -d autodev \
        -c "BEGIN" -c "LOCK TABLE $PG_SCHEMA.schema_migrations IN ACCESS EXCLUSIVE MODE" \
        -c "SELECT pg_sleep(8)" -c "COMMIT" >/dev/null 2>&1 & } &&
    wait_for "test \"\$(pgq \"SELECT status FROM jobs WHERE id = '"'"'$job'"'"'\")\" = running" 60 &&
    w1=$(cat worker1.pid) &&
    test "$(pgq "SELECT worker FROM jobs WHERE id = '"'"'$job'"'"'")" != "" &&
    pgq "SELECT worker FROM jobs WHERE id = '"'"'$job'"'"'" | grep -q ":$w1:" &&
    kill -9 "$w1" && rm -f worker1.pid &&
    start_worker 2 --workers 1 --lease 30 --poll 20 &&
    wait_for "test \"\$(pgq \"SELECT status FROM jobs WHERE id = '"'"'$job'"'"'\")\" = done" 120 &&
    test "$(pgq "SELECT attempts FROM jobs WHERE id = '"'"'$job'"'"'")" = 2 &&
    grep -q "job $job store.check done" worker2.err &&
    ! grep -q "job $job store.check done" worker1.err &&
    stop_pid worker2.pid
'

test_done
