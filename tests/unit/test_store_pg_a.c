/*
 * The PostgreSQL backend's episodes, events, jobs, tokens, LLM ledger,
 * notifications and sessions beyond the conformance suite (which
 * test_store_pg_a_suite runs on PostgreSQL): many worker processes on one
 * queue, a killed worker's lease, the outbox's seq in commit order across
 * connections, the tokens (no conformance group has them), and row-level
 * security on these tables for the application role.
 *
 * The cluster is tests/pg/pg-start's (AUTODEV_TEST_PG, AUTODEV_TEST_PG_APP,
 * which tests/run-all.sh exports); without it every test skips, saying
 * why. Each test gets a schema of its own, dropped afterwards.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/log.h"
#include "autodev/store.h"

#include "pg_test.h"

#include "store/store_backend.h"

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    char schema[64];
    char uri[1024];       /* the owner's, on the schema */
    char app_uri[1024];   /* the application role's, on the schema */
    struct ad_store *st;  /* opened as the application role */
    char tenant[AD_ID_SIZE], other[AD_ID_SIZE];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_store *owner = NULL;
    struct ad_err err = AD_ERR_INIT;
    char sql[128];
    PGconn *c;

    assert_non_null(f);
    *state = f;
    if (!env("AUTODEV_TEST_PG") || !env("AUTODEV_TEST_PG_APP"))
        return 0;
    snprintf(f->schema, sizeof(f->schema), "a_%ld_%ld", (long)getpid(), (long)random());
    c = raw_connect(env("AUTODEV_TEST_PG"));
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
    raw_exec(c, sql);
    PQfinish(c);
    make_uri(f->uri, sizeof(f->uri), env("AUTODEV_TEST_PG"), f->schema);
    make_uri(f->app_uri, sizeof(f->app_uri), env("AUTODEV_TEST_PG_APP"), f->schema);
    /* The owner migrates; the application role does the rest. */
    if (open_store(f->uri, &owner, &err))
        fail_msg("open: %s", err.msg);
    ad_store_free(owner);
    if (open_store(f->app_uri, &f->st, &err))
        fail_msg("open as the application role: %s", err.msg);
    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", f->tenant, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "globex", f->other, &err), 0);
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char sql[128];
    PGconn *c;

    ad_store_free(f->st);
    if (f->schema[0]) {
        c = raw_connect(env("AUTODEV_TEST_PG"));
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
        raw_exec(c, sql);
        PQfinish(c);
    }
    free(f);
    return 0;
}

#define NEED_PG()                                                                          \
    do {                                                                                   \
        if (!env("AUTODEV_TEST_PG") || !env("AUTODEV_TEST_PG_APP")) {                      \
            print_message("# skipped: no PostgreSQL cluster (AUTODEV_TEST_PG unset; "      \
                          "tests/pg/pg-start could not start one)\n");                    \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

/* A raw connection as the owner on the schema, seeing every tenant. */
static PGconn *owner_conn(const struct fx *f)
{
    PGconn *c = raw_connect(f->uri);

    raw_exec(c, "SET autodev.tenant = '*'");
    return c;
}

static void new_job(struct ad_job *j, const char *tenant, const char *kind)
{
    memset(j, 0, sizeof(*j));
    ad__copy_fixed(j->tenant_id, sizeof(j->tenant_id), tenant);
    j->kind = strdup(kind);
    j->payload = json_pack("{s:s}", "k", kind);
    j->max_attempts = 3;
}

/* ---- jobs: many workers ---------------------------------------------------- */

#define NJOBS 2000
#define NWORKERS 4

/*
 * A worker process: its own store (the application role), claiming and
 * finishing until nothing is claimable and nothing is running. Writes how
 * many jobs it finished to fd.
 */
static int worker_main(const char *uri, const char *tenant, int index, int fd)
{
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    char name[32];
    int done = 0, rc = open_store(uri, &st, &err);

    snprintf(name, sizeof(name), "w%d", index);
    while (!rc) {
        struct ad_job j;
        int64_t counts[AD_JOB_STATUS_COUNT] = { 0 };

        rc = ad_store_job_claim(st, tenant, NULL, name, ad_now_ms(), 600000, &j, &err);
        if (rc == AD_ENOTFOUND) {
            rc = ad_store_job_counts(st, tenant, counts, &err);
            if (!rc && counts[AD_JOB_QUEUED] == 0 && counts[AD_JOB_RUNNING] == 0)
                break;
            continue;
        }
        if (rc)
            break;
        rc = ad_store_job_finish(st, tenant, j.id, name, AD_JOB_DONE, NULL, NULL, &err);
        done += !rc;
        ad_job_release(&j);
    }
    if (rc)
        fprintf(stderr, "worker %d: %s\n", index, err.msg);
    ad_store_free(st);
    if (write(fd, &done, sizeof(done)) != sizeof(done))
        rc = -1;
    return rc ? 1 : 0;
}

static void test_jobs_four_workers_each_once(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    pid_t pids[NWORKERS];
    int fds[2], i, status, total = 0, ok = 0;
    PGconn *c;

    NEED_PG();
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    for (i = 0; i < NJOBS; i++) {
        struct ad_job j;

        new_job(&j, f->tenant, i % 2 ? "memento.generate" : "alpha.mutate");
        assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);
        ad_job_release(&j);
    }
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(pipe(fds), 0);
    for (i = 0; i < NWORKERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(fds[0]);
            _exit(worker_main(f->app_uri, f->tenant, i, fds[1]));
        }
    }
    close(fds[1]);
    for (i = 0; i < NWORKERS; i++) {
        int done = 0;

        assert_int_equal(read(fds[0], &done, sizeof(done)), sizeof(done));
        total += done;
    }
    close(fds[0]);
    for (i = 0; i < NWORKERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    assert_int_equal(ok, NWORKERS);
    /* Each job finished once, and claimed once: nobody took a job another held. */
    assert_int_equal(total, NJOBS);
    c = owner_conn(f);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM jobs WHERE status = 'done'"), NJOBS);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM jobs WHERE attempts <> 1"), 0);
    PQfinish(c);
}

/*
 * A worker killed (SIGKILL) while it holds a job: nothing hands the job
 * back, its lease runs out, and another worker claims it (a second
 * attempt) and finishes it. Times are the claims' own, not waited for.
 */
static void test_jobs_killed_worker_lease_expires(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j, c;
    int64_t t0;
    int ready[2], status;
    char id[AD_ID_SIZE] = "";
    pid_t pid;

    NEED_PG();
    new_job(&j, f->tenant, "memento.generate");
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);
    ad_job_release(&j);
    /* After the insert: the job is due from the insert's millisecond (run_after), and a
       claim "now" from before it found nothing when the clock had ticked in between. */
    t0 = ad_now_ms();
    assert_int_equal(pipe(ready), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ad_store *st = NULL;
        struct ad_job mine;

        close(ready[0]);
        if (open_store(f->app_uri, &st, &err) ||
            ad_store_job_claim(st, f->tenant, NULL, "doomed", t0, 1000, &mine, &err))
            _exit(1);
        if (write(ready[1], mine.id, sizeof(mine.id)) != sizeof(mine.id))
            _exit(1);
        for (;;)
            pause();   /* mid-job, until killed */
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], id, sizeof(id)), sizeof(id));
    close(ready[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    /* Still leased: nobody else gets it. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "heir", t0 + 500, 60000, &c, &err),
                     AD_ENOTFOUND);
    /* The lease ran out: the heir takes it, on its second attempt, and finishes it. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "heir", t0 + 2000, 60000, &c,
                                        &err), 0);
    assert_string_equal(c.id, id);
    assert_int_equal(c.attempts, 2);
    assert_string_equal(c.worker, "heir");
    ad_job_release(&c);
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, id, "doomed", AD_JOB_DONE, NULL, NULL,
                                         &err), AD_ESTATE);
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, id, "heir", AD_JOB_DONE, NULL, NULL,
                                         &err), 0);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, id, &c, &err), 0);
    assert_int_equal(c.status, AD_JOB_DONE);
    assert_null(c.worker);
    ad_job_release(&c);
}

/* ---- events: seq is commit order across connections ---------------------- */

/* Waits (without a deadline of its own: the test runner's) until pid waits on a lock or exits. */
static int blocked_or_gone(PGconn *c, pid_t pid)
{
    int status;

    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return 0;
        if (raw_int(c, "SELECT count(*) FROM pg_locks WHERE NOT granted") > 0)
            return 1;
        usleep(10000);
    }
}

static void append(struct ad_store *st, const char *tenant, int64_t *seq)
{
    struct ad_event ev = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(ev.tenant_id, sizeof(ev.tenant_id), tenant);
    ev.topic = (char *)"task.fail";
    ev.payload = json_pack("{s:i}", "n", 1);
    if (ad_store_event_append(st, &ev, &err))
        fail_msg("append: %s", err.msg);
    *seq = ev.seq;
    json_decref(ev.payload);
}

/*
 * While one transaction holds an appended event uncommitted, another
 * process's append waits rather than committing a larger seq first (a
 * reader resuming after that seq would never see the smaller one); once
 * the first commits, the second gets a larger seq.
 */
static void test_event_seq_is_commit_order(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    int64_t mine = 0, theirs = 0;
    int out[2], status;
    pid_t pid;
    PGconn *c;

    NEED_PG();
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    append(f->st, f->tenant, &mine);
    assert_int_equal(pipe(out), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ad_store *st = NULL;
        int64_t seq = 0;

        close(out[0]);
        if (open_store(f->app_uri, &st, &err))
            _exit(1);
        append(st, f->other, &seq);
        ad_store_free(st);
        _exit(write(out[1], &seq, sizeof(seq)) == sizeof(seq) ? 0 : 1);
    }
    close(out[1]);
    c = owner_conn(f);
    assert_int_equal(blocked_or_gone(c, pid), 1);
    /* Nothing past the open append is visible to a reader yet. */
    assert_int_equal(raw_int(c, "SELECT count(*) FROM events"), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(read(out[0], &theirs, sizeof(theirs)), sizeof(theirs));
    close(out[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(theirs > mine);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM events"), 2);
    PQfinish(c);
}

/* ---- tokens ---------------------------------------------------------------- */

/* name is the caller's (t is never released). */
static void new_token(struct ad_api_token *t, const char *tenant, const char *name, char hex)
{
    memset(t, 0, sizeof(*t));
    ad__copy_fixed(t->tenant_id, sizeof(t->tenant_id), tenant);
    t->name = (char *)name;
    memset(t->token_hash, hex, AD_TOKEN_HASH_SIZE - 1);
    t->role = AD_ROLE_OPERATOR;
}

static void test_tokens(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token t, u, got, *v = NULL;
    int64_t count = -1;
    size_t n = 0;

    NEED_PG();
    new_token(&t, f->tenant, "ci", 'a');
    assert_int_equal(ad_store_token_insert(f->st, &t, &err), 0);
    new_token(&u, f->other, "ops", 'b');
    u.role = AD_ROLE_ADMIN;
    assert_int_equal(ad_store_token_insert(f->st, &u, &err), 0);

    /* The hash finds the token whatever its tenant. */
    assert_int_equal(ad_store_token_find_hash(f->st, u.token_hash, &got, &err), 0);
    assert_string_equal(got.id, u.id);
    assert_string_equal(got.tenant_id, f->other);
    assert_int_equal(got.role, AD_ROLE_ADMIN);
    assert_string_equal(got.last_used_at, "");
    ad_api_token_release(&got);
    {
        char none[AD_TOKEN_HASH_SIZE];

        memset(none, 'c', sizeof(none) - 1);
        none[sizeof(none) - 1] = '\0';
        assert_int_equal(ad_store_token_find_hash(f->st, none, &got, &err), AD_ENOTFOUND);
        assert_null(strstr(err.msg, none));
    }
    /* By id and by name, the tenant's only. */
    assert_int_equal(ad_store_token_get(f->st, f->tenant, "ci", &got, &err), 0);
    assert_string_equal(got.id, t.id);
    assert_string_equal(got.name, "ci");
    ad_api_token_release(&got);
    assert_int_equal(ad_store_token_get(f->st, f->tenant, t.id, &got, &err), 0);
    ad_api_token_release(&got);
    assert_int_equal(ad_store_token_get(f->st, f->tenant, u.id, &got, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_token_get(f->st, f->other, "ci", &got, &err), AD_ENOTFOUND);

    /* A taken name is refused inside a transaction, which goes on. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    new_token(&got, f->tenant, "ci", 'd');
    assert_int_equal(ad_store_token_insert(f->st, &got, &err), AD_EEXIST);
    if (!strstr(err.msg, "'ci'"))
        fail_msg("message '%s'", err.msg);
    new_token(&got, f->tenant, "deploy", 'e');
    assert_int_equal(ad_store_token_insert(f->st, &got, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    new_token(&got, f->tenant, "other", 'a');
    assert_int_equal(ad_store_token_insert(f->st, &got, &err), AD_EEXIST);
    new_token(&got, f->tenant, "ghost", 'f');
    ad__copy_fixed(got.tenant_id, sizeof(got.tenant_id), "01900000-0000-7000-8000-0000000000ff");
    assert_int_equal(ad_store_token_insert(f->st, &got, &err), AD_ENOTFOUND);
    if (!strstr(err.msg, "unknown tenant"))
        fail_msg("message '%s'", err.msg);

    /* touch, revoke (twice: a state error), count and list. */
    assert_int_equal(ad_store_token_touch(f->st, f->tenant, t.id, &err), 0);
    assert_int_equal(ad_store_token_touch(f->st, f->other, t.id, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_token_count_active(f->st, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_int_equal(ad_store_token_revoke(f->st, f->tenant, t.id, &err), 0);
    assert_int_equal(ad_store_token_revoke(f->st, f->tenant, t.id, &err), AD_ESTATE);
    assert_int_equal(ad_store_token_revoke(f->st, f->other, t.id, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_token_count_active(f->st, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(ad_store_token_get(f->st, f->tenant, t.id, &got, &err), 0);
    assert_int_equal(strlen(got.last_used_at), AD_TIME_SIZE - 1);
    assert_int_equal(strlen(got.revoked_at), AD_TIME_SIZE - 1);
    ad_api_token_release(&got);
    assert_int_equal(ad_store_token_list(f->st, f->tenant, false, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "deploy");
    ad_api_token_list_free(v, n);
    assert_int_equal(ad_store_token_list(f->st, f->tenant, true, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "ci");
    assert_string_equal(v[1].name, "deploy");
    ad_api_token_list_free(v, n);
}

/* ---- row-level security on these tables ------------------------------------ */

/* The application role, with another tenant's setting, sees none of the rows written here. */
static void test_rls_hides_these_tables(void **state)
{
    static const char *const tables[] = {
        "episodes", "episode_segments", "events", "jobs", "api_tokens", "llm_calls",
        "notifications", "agent_sessions",
    };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j;
    struct ad_api_token t;
    struct ad_notification nt = { 0 };
    struct ad_llm_call call = { 0 };
    int64_t seq;
    char sql[256];
    size_t i;
    PGconn *c;

    NEED_PG();
    new_job(&j, f->tenant, "memento.generate");
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);
    ad_job_release(&j);
    new_token(&t, f->tenant, "ci", 'a');
    assert_int_equal(ad_store_token_insert(f->st, &t, &err), 0);
    append(f->st, f->tenant, &seq);
    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), f->tenant);
    nt.type = (char *)"note";
    nt.title = (char *)"hello";
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), 0);
    ad__copy_fixed(call.tenant_id, sizeof(call.tenant_id), f->tenant);
    call.provider = "openai";
    call.model = "m";
    call.ok = 1;
    assert_int_equal(ad_store_llm_call_insert(f->st, &call, &err), 0);

    c = raw_connect(f->app_uri);
    snprintf(sql, sizeof(sql), "SELECT set_config('autodev.tenant', '%s', false)", f->other);
    raw_exec(c, sql);
    for (i = 0; i < AD_ARRAY_SIZE(tables); i++) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        if (raw_int(c, sql) != 0)
            fail_msg("%s: another tenant sees rows", tables[i]);
    }
    snprintf(sql, sizeof(sql), "SELECT set_config('autodev.tenant', '%s', false)", f->tenant);
    raw_exec(c, sql);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM api_tokens"), 1);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM events"), 1);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM notifications"), 1);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM llm_calls"), 1);
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_jobs_four_workers_each_once),
        T(test_jobs_killed_worker_lease_expires),
        T(test_event_seq_is_commit_order),
        T(test_tokens),
        T(test_rls_hides_these_tables),
#undef T
    };

    ad_log_set_level(AD_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
