/*
 * The PostgreSQL backend against a real cluster (tests/pg/pg-start, which
 * tests/run-all.sh starts): AUTODEV_TEST_PG is the owner's URL,
 * AUTODEV_TEST_PG_APP the application role's (not the tables' owner).
 * Without them every test skips, saying why.
 *
 * Each test gets a schema of its own in the cluster's database (the URI's
 * options set search_path), dropped afterwards.
 *
 * Sections: fixture, open and migrations, row-level security, the daily
 * limit under concurrency, what is not on PostgreSQL yet, connection
 * handling; main last.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/store.h"

#include "pg_test.h"

#include "store/store_backend.h"

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    char schema[64];
    char uri[1024];       /* the owner's, on the schema */
    char app_uri[1024];   /* the application role's, on the schema */
    struct ad_store *st;
    char tenant[AD_ID_SIZE], other[AD_ID_SIZE];
};

static const char *owner_url(void)
{
    const char *v = getenv("AUTODEV_TEST_PG");

    return v && v[0] ? v : NULL;
}

static const char *app_url(void)
{
    const char *v = getenv("AUTODEV_TEST_PG_APP");

    return v && v[0] ? v : NULL;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_err err = AD_ERR_INIT;
    char sql[128];
    PGconn *c;

    assert_non_null(f);
    if (!owner_url() || !app_url()) {
        *state = f;
        return 0;
    }
    snprintf(f->schema, sizeof(f->schema), "t_%ld_%ld", (long)getpid(), (long)random());
    c = raw_connect(owner_url());
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
    raw_exec(c, sql);
    PQfinish(c);
    make_uri(f->uri, sizeof(f->uri), owner_url(), f->schema);
    make_uri(f->app_uri, sizeof(f->app_uri), app_url(), f->schema);
    if (open_store(f->uri, &f->st, &err))
        fail_msg("open: %s", err.msg);
    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", f->tenant, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "globex", f->other, &err), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char sql[128];
    PGconn *c;

    ad_store_free(f->st);
    if (f->schema[0]) {
        c = raw_connect(owner_url());
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
        raw_exec(c, sql);
        PQfinish(c);
    }
    free(f);
    return 0;
}

#define NEED_PG()                                                                          \
    do {                                                                                   \
        if (!owner_url() || !app_url()) {                                                  \
            fprintf(stderr, "# skipped: no PostgreSQL cluster (AUTODEV_TEST_PG unset; "    \
                            "tests/pg/pg-start could not start one)\n");                  \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

static void add_agent(struct ad_store *st, const char *tenant, const char *name,
                      char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), tenant);
    a.name = (char *)name;
    if (ad_store_agent_insert(st, &a, &err))
        fail_msg("agent insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, a.id);
}

/* ---- open and migrations -------------------------------------------------- */

static void test_open_migrates_once(void **state)
{
    struct fx *f = *state;
    struct ad_store *again = NULL;
    struct ad_err err = AD_ERR_INIT;
    int current = 0, latest = 0;
    char sql[160];
    PGconn *c;

    NEED_PG();
    assert_string_equal(ad_store_backend(f->st), "postgresql");
    assert_int_equal(ad_store_schema_version(f->st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    assert_int_equal(latest, 13);
    assert_int_equal(open_store(f->uri, &again, &err), 0);
    ad_store_free(again);
    c = raw_connect(owner_url());
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_migrations", f->schema);
    assert_int_equal(raw_int(c, sql), 11);   /* 1-5, 7-9, 11, 12, 13: once each */
    PQfinish(c);
}

/* Eight processes open one empty schema at once: each sees it migrated, once. */
static void test_concurrent_first_open(void **state)
{
    char schema[64], uri[1024], sql[160];
    pid_t pids[8];
    int i, status, ok = 0;
    PGconn *c;

    NEED_PG();
    (void)state;
    snprintf(schema, sizeof(schema), "race_%ld", (long)getpid());
    c = raw_connect(owner_url());
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    raw_exec(c, sql);
    make_uri(uri, sizeof(uri), owner_url(), schema);
    for (i = 0; i < 8; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct ad_store *st = NULL;
            struct ad_err err = AD_ERR_INIT;
            int rc = open_store(uri, &st, &err);

            if (rc)
                fprintf(stderr, "open: %s\n", err.msg);
            ad_store_free(st);
            _exit(rc ? 1 : 0);
        }
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    assert_int_equal(ok, 8);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.schema_migrations", schema);
    assert_int_equal(raw_int(c, sql), 11);   /* every migration once: 1-5, 7-9, 11-13 */
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
    raw_exec(c, sql);
    PQfinish(c);
}

/* ---- row-level security ------------------------------------------------------ */

static void test_rls_wrong_tenant_sees_nothing(void **state)
{
    struct fx *f = *state;
    char agent[AD_ID_SIZE], sql[256];
    PGconn *c;

    NEED_PG();
    add_agent(f->st, f->tenant, "bot", agent);
    c = raw_connect(f->app_uri);
    /* The application role owns nothing: RLS is not its to bypass. */
    assert_int_equal(raw_int(c, "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"),
                     0);
    /* No tenant set: nothing, not everything. */
    assert_int_equal(raw_int(c, "SELECT count(*) FROM agents"), 0);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM tenants"), 0);
    snprintf(sql, sizeof(sql), "SELECT set_config('autodev.tenant', '%s', false)", f->other);
    raw_exec(c, sql);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM agents"), 0);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM agents WHERE id = '%s'", agent);
    assert_int_equal(raw_int(c, sql), 0);
    /* Nor can it write a row of another tenant. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO agents (id, tenant_id, name, created_at, updated_at)"
             " VALUES ('x', '%s', 'spy', now(), now())", f->tenant);
    {
        PGresult *r = PQexec(c, sql);

        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
        PQclear(r);
    }
    snprintf(sql, sizeof(sql), "SELECT set_config('autodev.tenant', '%s', false)", f->tenant);
    raw_exec(c, sql);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM agents"), 1);
    PQfinish(c);
}

/* fitness_terms (migration 12) has the policy every tenant table has. */
static void test_rls_fitness_terms(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t;
    char sql[512];
    PGconn *c;

    NEED_PG();
    memset(&t, 0, sizeof(t));
    ad__copy_fixed(t.tenant_id, sizeof(t.tenant_id), f->tenant);
    t.name = (char *)"speed";
    t.code = (char *)"def term(s):\n    return 1\n";
    memset(t.code_sha, 'a', 64);
    t.weight = 1;
    t.enabled = true;
    assert_int_equal(ad_store_fitness_term_insert(f->st, &t, &err), 0);
    c = raw_connect(f->app_uri);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM pg_class"
                                " WHERE oid = 'fitness_terms'::regclass"
                                " AND relrowsecurity AND relforcerowsecurity"), 1);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM fitness_terms"), 0);
    snprintf(sql, sizeof(sql), "SELECT set_config('autodev.tenant', '%s', false)", f->other);
    raw_exec(c, sql);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM fitness_terms"), 0);
    snprintf(sql, sizeof(sql),
             "INSERT INTO fitness_terms (id, tenant_id, name, code, code_sha, weight,"
             " created_at, updated_at) VALUES ('x', '%s', 'spy', 'def term(s): return 0', 'x',"
             " 1, now(), now())", f->tenant);
    {
        PGresult *r = PQexec(c, sql);

        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
        PQclear(r);
    }
    snprintf(sql, sizeof(sql), "SELECT set_config('autodev.tenant', '%s', false)", f->tenant);
    raw_exec(c, sql);
    assert_int_equal(raw_int(c, "SELECT count(*) FROM fitness_terms"), 1);
    PQfinish(c);
}

/* The store opened as the application role works, each tenant seeing its own. */
static void test_app_role_store(void **state)
{
    struct fx *f = *state;
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    char agent[AD_ID_SIZE], t[AD_ID_SIZE];

    NEED_PG();
    if (open_store(f->app_uri, &st, &err))
        fail_msg("open as app: %s", err.msg);
    assert_int_equal(ad_store_tenant_ensure(st, "acme", t, &err), 0);
    assert_string_equal(t, f->tenant);
    add_agent(st, f->tenant, "bot", agent);
    assert_int_equal(ad_store_agent_get(st, f->tenant, agent, &a, &err), 0);
    assert_string_equal(a.name, "bot");
    ad_agent_release(&a);
    assert_int_equal(ad_store_agent_get(st, f->other, agent, &a, &err), AD_ENOTFOUND);
    /* A taken name inside a transaction leaves the transaction usable. */
    assert_int_equal(ad_store_begin(st, &err), 0);
    memset(&a, 0, sizeof(a));
    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"bot";
    assert_int_equal(ad_store_agent_insert(st, &a, &err), AD_EEXIST);
    a.name = (char *)"bot2";
    assert_int_equal(ad_store_agent_insert(st, &a, &err), 0);
    assert_int_equal(ad_store_commit(st, &err), 0);
    assert_int_equal(ad_store_agent_get_by_name(st, f->tenant, "bot2", &a, &err), 0);
    ad_agent_release(&a);
    ad_store_free(st);
}

/* ---- the daily limit under concurrency ---------------------------------------- */

#define WRITERS 50
#define LIMIT 5

static void test_daily_limit_concurrent(void **state)
{
    struct fx *f = *state;
    char agent[AD_ID_SIZE], since[AD_TIME_SIZE];
    struct ad_err err = AD_ERR_INIT;
    pid_t pids[WRITERS];
    int i, status, made = 0, limited = 0;
    int64_t count = -1;

    NEED_PG();
    add_agent(f->st, f->tenant, "bot", agent);
    for (i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct ad_store *st = NULL;
            struct ad_skill_candidate c;
            struct ad_err e = AD_ERR_INIT;
            int rc = open_store(f->app_uri, &st, &e);

            ad_skill_candidate_init(&c);
            ad__copy_fixed(c.tenant_id, sizeof(c.tenant_id), f->tenant);
            ad__copy_fixed(c.agent_id, sizeof(c.agent_id), agent);
            c.skill_name = (char *)"fix_it";
            c.generated_code = (char *)"def fix_it(): pass";
            if (!rc)
                rc = ad_store_candidate_insert(st, &c, LIMIT, &e);
            if (rc && rc != AD_ELIMIT)
                fprintf(stderr, "writer: %s\n", e.msg);
            ad_store_free(st);
            _exit(rc == 0 ? 0 : rc == AD_ELIMIT ? 2 : 1);
        }
    }
    for (i = 0; i < WRITERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        made += WEXITSTATUS(status) == 0;
        limited += WEXITSTATUS(status) == 2;
    }
    assert_int_equal(made, LIMIT);
    assert_int_equal(limited, WRITERS - LIMIT);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, LIMIT);
    (void)since;
}

/* ---- connection handling ------------------------------------------------------ */

static void test_unreachable_is_clear(void **state)
{
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    assert_int_equal(open_store("postgresql:///autodev?host=/nonexistent-autodev-dir&"
                                "connect_timeout=2", &st, &err), AD_EIO);
    assert_null(st);
    if (!strstr(err.msg, "cannot connect to PostgreSQL"))
        fail_msg("message '%s'", err.msg);
}

/* The server ends the store's session (as a restart does): the next call reconnects. */
static void test_reconnects(void **state)
{
    struct fx *f = *state;
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;
    char agent[AD_ID_SIZE], sql[256];
    PGconn *c;

    NEED_PG();
    add_agent(f->st, f->tenant, "bot", agent);
    c = raw_connect(owner_url());
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE pid <> pg_backend_pid() AND usename = 'autodev_owner'"
             " AND datname = current_database() AND backend_type = 'client backend'");
    assert_true(raw_int(c, sql) >= 1);
    PQfinish(c);
    if (ad_store_agent_get(f->st, f->tenant, agent, &a, &err))
        fail_msg("after the session ended: %s", err.msg);
    ad_agent_release(&a);
    /* And a write, in a transaction of its own. */
    add_agent(f->st, f->tenant, "bot2", agent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrates_once, fx_setup, fx_teardown),
        cmocka_unit_test(test_concurrent_first_open),
        cmocka_unit_test_setup_teardown(test_rls_wrong_tenant_sees_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_rls_fitness_terms, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_app_role_store, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_daily_limit_concurrent, fx_setup, fx_teardown),
        cmocka_unit_test(test_unreachable_is_clear),
        cmocka_unit_test_setup_teardown(test_reconnects, fx_setup, fx_teardown),
    };

    srandom((unsigned)getpid());
    return cmocka_run_group_tests_name("store_pg", tests, NULL, NULL);
}
