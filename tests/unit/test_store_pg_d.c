/*
 * The job wakeup of issue 22 (ad_store_job_wait): on PostgreSQL an insert,
 * a retry and a hand-back committed on one connection wake a waiter on
 * another (LISTEN/NOTIFY); a rolled-back insert wakes nobody; SQLite has no
 * wakeup and says so (its workers poll).
 *
 * The cluster is tests/pg/pg-start's (AUTODEV_TEST_PG, which
 * tests/run-all.sh exports); without it the PostgreSQL tests skip, saying
 * why. Each test gets a schema of its own, dropped afterwards.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/store.h"

struct fx {
    char schema[64];
    char uri[1024];
    struct ad_store *a, *b;   /* two handles: two connections */
    char tenant[AD_ID_SIZE];
};

static const char *owner_url(void)
{
    const char *v = getenv("AUTODEV_TEST_PG");

    return v && v[0] ? v : NULL;
}

static void raw(const char *sql)
{
    PGconn *c = PQconnectdb(owner_url());
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    char sql[128];

    assert_non_null(f);
    *state = f;
    if (!owner_url())
        return 0;
    snprintf(f->schema, sizeof(f->schema), "t_d_%ld_%ld", (long)getpid(), (long)random());
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
    raw(sql);
    assert_true((size_t)snprintf(f->uri, sizeof(f->uri), "%s%coptions=-csearch_path%%3D%s",
                                 owner_url(), strchr(owner_url(), '?') ? '&' : '?',
                                 f->schema) < sizeof(f->uri));
    if (ad_store_open(f->uri, &o, &f->a, &err) || ad_store_open(f->uri, &o, &f->b, &err))
        fail_msg("open: %s", err.msg);
    assert_int_equal(ad_store_tenant_ensure(f->a, "acme", f->tenant, &err), 0);
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char sql[128];

    ad_store_free(f->a);
    ad_store_free(f->b);
    if (f->schema[0]) {
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
        raw(sql);
    }
    free(f);
    return 0;
}

#define NEED_PG(f)                                                                       \
    do {                                                                                 \
        if (!(f)->a) {                                                                   \
            fprintf(stderr, "# skipped: no PostgreSQL cluster (AUTODEV_TEST_PG unset; "  \
                            "tests/run-all.sh starts one)\n");                           \
            skip();                                                                      \
        }                                                                                \
    } while (0)

static void enqueue(struct ad_store *st, const char *tenant, char id[AD_ID_SIZE])
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j = { 0 };

    memcpy(j.tenant_id, tenant, AD_ID_SIZE);
    j.kind = strdup("store.check");
    j.payload = json_object();
    j.max_attempts = 5;
    if (ad_store_job_insert(st, &j, &err))
        fail_msg("insert: %s", err.msg);
    if (id)
        memcpy(id, j.id, AD_ID_SIZE);
    ad_job_release(&j);
}

/* Waits for the wakeup (at most 30 s, never timed: it returns when woken). */
static int woken(struct ad_store *st)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_store_job_wait(st, 30000, &err);

    if (rc < 0)
        fail_msg("wait: %s", err.msg);
    return rc;
}

static void test_sqlite_has_no_wakeup(void **state)
{
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    char path[] = "/tmp/test_store_pg_d.XXXXXX";
    struct ad_store *st = NULL;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(ad_store_open(path, &o, &st, &err), 0);
    assert_int_equal(ad_store_job_wait(st, 10, &err), AD_ENOTSUP);
    assert_non_null(strstr(err.msg, "poll instead"));
    ad_err_clear(&err);
    assert_int_equal(ad_store_job_wait(st, -1, &err), AD_EINVAL);
    ad_store_free(st);
    unlink(path);
}

static void test_insert_wakes_another_connection(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;

    NEED_PG(f);
    /* The first wait LISTENs; nothing is pending yet. */
    assert_int_equal(ad_store_job_wait(f->a, 0, &err), 0);
    enqueue(f->b, f->tenant, NULL);
    assert_int_equal(woken(f->a), 1);
    /* Drained: a second wait has nothing pending. */
    assert_int_equal(ad_store_job_wait(f->a, 0, &err), 0);
}

static void test_retry_and_hand_back_wake(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j = { 0 };
    char id[AD_ID_SIZE];
    int64_t n = 0;

    NEED_PG(f);
    enqueue(f->b, f->tenant, id);
    assert_int_equal(ad_store_job_claim(f->b, f->tenant, NULL, "w1", ad_now_ms(), 60000, &j,
                                        &err), 0);
    ad_job_release(&j);
    assert_int_equal(ad_store_job_wait(f->a, 0, &err), 0);   /* LISTEN */
    (void)ad_store_job_wait(f->a, 0, &err);                  /* drop the insert's */
    assert_int_equal(ad_store_job_finish(f->b, f->tenant, id, "w1", AD_JOB_QUEUED, "flaky",
                                         NULL, &err), 0);
    assert_int_equal(woken(f->a), 1);
    assert_int_equal(ad_store_job_claim(f->b, f->tenant, NULL, "w2", ad_now_ms(), 60000, &j,
                                        &err), 0);
    ad_job_release(&j);
    assert_int_equal(ad_store_job_hand_back(f->b, f->tenant, "w2", "stopping", &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(woken(f->a), 1);
}

static void test_rollback_wakes_nobody(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;

    NEED_PG(f);
    assert_int_equal(ad_store_job_wait(f->a, 0, &err), 0);   /* LISTEN */
    assert_int_equal(ad_store_begin(f->b, &err), 0);
    enqueue(f->b, f->tenant, NULL);
    /* Inside a transaction a handle does not wait. */
    assert_int_equal(ad_store_job_wait(f->b, 0, &err), AD_ESTATE);
    ad_store_rollback(f->b);
    /* A committed insert after the rollback: the first wakeup is the commit's. */
    enqueue(f->b, f->tenant, NULL);
    assert_int_equal(woken(f->a), 1);
    assert_int_equal(ad_store_job_wait(f->a, 0, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_has_no_wakeup),
        cmocka_unit_test_setup_teardown(test_insert_wakes_another_connection, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_retry_and_hand_back_wake, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_wakes_nobody, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
