#!/bin/sh
test_description='PostgreSQL: LISTEN/NOTIFY wakes idle workers instead of their poll; the poll still finds jobs without a wakeup'
. "$(dirname "$0")/lib.sh"
pg_skip_all

status_of() {
    pgq "SELECT status FROM jobs WHERE id = '$1'"
}

# A worker whose poll is 60 s: only a wakeup can get it to a job sooner.
test_expect_success 'setup: a store, one worker that polls once a minute' '
    autodev init >/dev/null &&
    start_worker 1 --workers 1 --poll 60000 &&
    wait_for "grep -q \"worker running\" worker1.err" 60
'

# The worker is idle once its connection waits LISTENing (its last statement).
test_expect_success 'the idle worker LISTENs on its connection' '
    wait_for "test \"\$(pgq \"SELECT count(*) FROM pg_stat_activity WHERE usename = '"'"'autodev_owner'"'"' AND state = '"'"'idle'"'"' AND query = '"'"'LISTEN autodev_jobs'"'"'\")\" = 1" 60
'

# Well inside the 60 s poll the worker just started (the wait gives up at 40 s):
# without NOTIFY the job would sit queued until the poll.
test_expect_success 'a job queued by another process is run at once, not at the next poll' '
    autodev jobs enqueue store.check >job &&
    wait_for "test \"\$(status_of $(cat job))\" = done" 40 &&
    grep -q "job $(cat job) store.check done" worker1.err
'

test_expect_success 'a NOTIFY with no job wakes the worker for nothing, harmlessly' '
    pgq "NOTIFY autodev_jobs" &&
    autodev jobs enqueue store.check >job2 &&
    wait_for "test \"\$(status_of $(cat job2))\" = done" 40 &&
    stop_pid worker1.pid
'

# Correctness never needs the wakeup: a job inserted behind the queue code
# (no NOTIFY) is found by the poll.
test_expect_success 'without a wakeup the poll still finds the job' '
    start_worker 2 --workers 1 --poll 200 &&
    tid=$(pgq "SELECT id FROM tenants WHERE name = '"'"'default'"'"'") &&
    pgq "INSERT INTO jobs (id, tenant_id, kind, payload, status, attempts, max_attempts,
                           run_after, created_at, updated_at)
         VALUES ('"'"'00000000-0000-4000-8000-000000000001'"'"', '"'"'$tid'"'"', '"'"'store.check'"'"',
                 '"'"'{}'"'"', '"'"'queued'"'"', 0, 5, now(), now(), now())" &&
    wait_for "test \"\$(status_of 00000000-0000-4000-8000-000000000001)\" = done" 60 &&
    stop_pid worker2.pid
'

test_done
