/*
 * The PostgreSQL data version (issue 22): the number the server's page
 * cache and the settings cache key on (ad_store_changes). A commit that
 * changed rows on another handle of this process moves it at once; one in
 * another process moves it when its notification arrives; this handle's
 * own commits are counted in *own; a reconnect of the listener moves it
 * (notifications may have been missed meanwhile); until the listener is
 * in place, and with AUTODEV_PG_DATA_VERSION=off, it says it cannot tell.
 *
 * Waits here are for an event (the listener up, a notification in), each
 * bounded at 30 s only so that a broken build fails instead of hanging;
 * nothing asserts how long anything took.
 *
 * The cluster is tests/pg/pg-start's (AUTODEV_TEST_PG, which
 * tests/run-all.sh exports); without it the tests skip, saying why. Each
 * test gets a schema of its own, dropped afterwards.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sys/wait.h>
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

static PGconn *raw_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

/* Runs sql; the number of rows it returned or changed. */
static int raw_on(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int n;

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : (int)strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return n;
}

static int raw(const char *sql)
{
    PGconn *c = raw_connect(owner_url());
    int n = raw_on(c, sql);

    PQfinish(c);
    return n;
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
    snprintf(f->schema, sizeof(f->schema), "t_v_%ld_%ld", (long)getpid(), (long)random());
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

static void pause_ms(int ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };

    nanosleep(&ts, NULL);
}

/* Waits until the store can tell (its listener is in place): the pair then. */
static void known(struct ad_store *st, int64_t *others, int64_t *own)
{
    for (int i = 0; i < 3000; i++) {
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_store_changes(st, others, own, &err);

        if (rc == 0)
            return;
        assert_int_equal(rc, AD_ENOTSUP);   /* "cannot tell (yet)", nothing else */
        ad_err_clear(&err);
        pause_ms(10);
    }
    fail_msg("the data version never became known");
}

/* Waits until *others is no longer v (or the store cannot tell): true when it moved. */
static bool moves_from(struct ad_store *st, int64_t v)
{
    for (int i = 0; i < 3000; i++) {
        struct ad_err err = AD_ERR_INIT;
        int64_t others = v, own;
        int rc = ad_store_changes(st, &others, &own, &err);

        ad_err_clear(&err);
        if (rc != 0 || others != v)
            return true;
        pause_ms(10);
    }
    return false;
}

static void add_agent(struct ad_store *st, const char *tenant, const char *name)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };

    memcpy(a.tenant_id, tenant, AD_ID_SIZE);
    a.name = (char *)name;
    a.maturity = AD_SUPERVISED;
    if (ad_store_agent_insert(st, &a, &err))
        fail_msg("agent: %s", err.msg);
}

static void test_sqlite_still_has_one(void **state)
{
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    char path[] = "/tmp/test_store_pg_version.XXXXXX";
    struct ad_store *st = NULL;
    int64_t others, own;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(ad_store_open(path, &o, &st, &err), 0);
    assert_int_equal(ad_store_changes(st, &others, &own, &err), 0);
    ad_store_free(st);
    unlink(path);
}

/* Another handle of this process: its commit moves the number at once, no wait. */
static void test_commit_on_another_handle(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    int64_t o0, own0, o1, own1, o2, own2;

    NEED_PG(f);
    known(f->a, &o0, &own0);
    add_agent(f->b, f->tenant, "by-b");
    assert_int_equal(ad_store_changes(f->a, &o1, &own1, &err), 0);
    assert_true(o1 != o0);
    assert_int_equal(own1, own0);
    /* One's own write: counted in own (and the page cache keys on both). */
    add_agent(f->a, f->tenant, "by-a");
    assert_int_equal(ad_store_changes(f->a, &o2, &own2, &err), 0);
    assert_true(own2 != own1);
    /* In a transaction too: the commit counts, for the other handle. */
    known(f->a, &o1, &own1);
    assert_int_equal(ad_store_begin(f->b, &err), 0);
    add_agent(f->b, f->tenant, "by-b-in-tx");
    assert_int_equal(ad_store_commit(f->b, &err), 0);
    assert_int_equal(ad_store_changes(f->a, &o2, &own2, &err), 0);
    assert_true(o2 != o1);
}

/*
 * Another process, writing behind the store's back with plain SQL (so only
 * the triggers' NOTIFY can tell this process): the number moves.
 */
static void test_commit_in_another_process(void **state)
{
    struct fx *f = *state;
    int64_t o0, own0;
    int status = -1;
    pid_t pid;

    NEED_PG(f);
    known(f->a, &o0, &own0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        PGconn *c = PQconnectdb(f->uri);
        char sql[256];
        PGresult *r;
        int ok;

        snprintf(sql, sizeof(sql),
                 "SET autodev.tenant = '%s'; UPDATE tenants SET updated_at = now()"
                 " WHERE id = '%s'",
                 f->tenant, f->tenant);
        r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdTuples(r), "1");
        PQclear(r);
        PQfinish(c);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(moves_from(f->a, o0));
}

/*
 * The listener's connection is killed (as by a server restart): what came
 * meanwhile is unknown, so once it listens again the number is new.
 */
static void test_listener_reconnect_moves_it(void **state)
{
    struct fx *f = *state;
    int64_t o0, own0, o1, own1;
    char sql[256];
    PGconn *c;

    NEED_PG(f);
    known(f->a, &o0, &own0);
    c = raw_connect(owner_url());
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE application_name = 'autodev listener %s'",
             f->schema);
    assert_int_equal(raw_on(c, sql), 1);
    assert_true(moves_from(f->a, o0));
    known(f->a, &o1, &own1);
    assert_true(o1 != o0);
    /* Listening again: a commit elsewhere is seen once more. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
             " 'autodev listener %s' AND query = 'LISTEN autodev_data'",
             f->schema);
    assert_int_equal(raw_on(c, sql), 1);
    snprintf(sql, sizeof(sql),
             "SET autodev.tenant = '%s'; UPDATE %s.tenants SET updated_at = now()"
             " WHERE id = '%s'",
             f->tenant, f->schema, f->tenant);
    assert_int_equal(raw_on(c, sql), 1);
    assert_true(moves_from(f->a, o1));
    PQfinish(c);
}

/*
 * A child of fork() (whose parent's listener is running) gets a listener of
 * its own: it sees a commit made after it looked, and closes cleanly.
 */
static void test_forked_child_listens_for_itself(void **state)
{
    struct fx *f = *state;
    int64_t o0, own0;
    int status = -1, ready[2], go[2];
    char sql[256], byte = 0;
    pid_t pid;

    NEED_PG(f);
    known(f->a, &o0, &own0);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ad_err err = AD_ERR_INIT;
        struct ad_store_options o = { 0, 0 };
        struct ad_store *st = NULL;
        int64_t c0 = 0, cown;
        bool ok = ad_store_open(f->uri, &o, &st, &err) == 0;

        for (int i = 0; ok && i < 3000 && ad_store_changes(st, &c0, &cown, &err) != 0; i++)
            pause_ms(10);
        ok = ok && ad_store_changes(st, &c0, &cown, &err) == 0;
        ok = write(ready[1], &byte, 1) == 1 && ok;
        ok = read(go[0], &byte, 1) == 1 && ok;
        ok = ok && moves_from(st, c0);
        ad_store_free(st);
        _exit(ok ? 0 : 1);   /* the parent's handles are the parent's to close */
    }
    assert_int_equal(read(ready[0], &byte, 1), 1);
    snprintf(sql, sizeof(sql),
             "SET autodev.tenant = '%s'; UPDATE %s.tenants SET updated_at = now()"
             " WHERE id = '%s'",
             f->tenant, f->schema, f->tenant);
    assert_int_equal(raw(sql), 1);
    assert_int_equal(write(go[1], &byte, 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
}

/* Off by the environment (a pooler in transaction mode): cannot tell, so nothing is cached. */
static void test_off(void **state)
{
    struct fx *f = *state;
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    char uri[1100];
    int64_t others, own;

    NEED_PG(f);
    /* Another conninfo, so another listener, made while the variable is set. */
    snprintf(uri, sizeof(uri), "%s&application_name=off_test", f->uri);
    setenv("AUTODEV_PG_DATA_VERSION", "off", 1);
    assert_int_equal(ad_store_open(uri, &o, &st, &err), 0);
    unsetenv("AUTODEV_PG_DATA_VERSION");
    assert_int_equal(ad_store_changes(st, &others, &own, &err), AD_ENOTSUP);
    assert_non_null(strstr(err.msg, "AUTODEV_PG_DATA_VERSION=off"));
    ad_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_still_has_one),
        cmocka_unit_test_setup_teardown(test_commit_on_another_handle, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_commit_in_another_process, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_listener_reconnect_moves_it, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_forked_child_listens_for_itself, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_off, fx_setup, fx_teardown),
    };

    srandom((unsigned)getpid());
    return cmocka_run_group_tests(tests, NULL, NULL);
}
