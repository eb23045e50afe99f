/*
 * The conformance suite's groups for the entities of issue 22's second half
 * (skills and their search, executions, candidates, capabilities, failure
 * patterns, mutations, variants) against PostgreSQL, until store_suite.c
 * has its "postgres" entry: this file gives the suite a PostgreSQL backend
 * of its own (a schema per test on the cluster tests/pg/pg-start makes,
 * AUTODEV_TEST_PG) and runs the listed tests of store_conf_*.c unchanged.
 * The tests not listed need entities not on PostgreSQL yet (episodes,
 * notifications); each is named in RUN below with the group it is in.
 * Without a cluster every test skips, saying why.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <unistd.h>

#include "autodev/log.h"
#include "autodev/store.h"

#include "store/store_backend.h"
#include "store_suite.h"

/* ---- the backend ---------------------------------------------------------- */

static const char *owner_url(void)
{
    const char *v = getenv("AUTODEV_TEST_PG");

    return v && v[0] ? v : NULL;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* A connection on uri seeing every tenant's rows (RLS: autodev.tenant '*'). */
static PGconn *connect_all(const char *uri)
{
    PGconn *c = PQconnectdb(uri);
    PGresult *r;

    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s\n", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    r = PQexec(c, "SELECT set_config('autodev.tenant', '*', false)");
    PQclear(r);
    return c;
}

static int pg_exec(const char *uri, const char *sql)
{
    PGconn *c = connect_all(uri);
    PGresult *r;
    int rc = -1;

    if (!c)
        return -1;
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        rc = 0;
    else
        fprintf(stderr, "exec '%s': %s\n", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int64_t pg_query_int(const char *uri, const char *sql)
{
    PGconn *c = connect_all(uri);
    PGresult *r;
    int64_t v = -1;

    if (!c)
        return -1;
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "query '%s': %s\n", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return v;
}

/* The schema a test's URI names (its search_path). */
static const char *schema_of(const char *uri)
{
    const char *p = strstr(uri, "search_path%3D");

    return p ? p + strlen("search_path%3D") : NULL;
}

static int pg_make(const char *base, char *uri, size_t size)
{
    static unsigned counter;
    char schema[64], sql[128];

    (void)base;
    snprintf(schema, sizeof(schema), "cb_%ld_%u", (long)getpid(), counter++);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    if (pg_exec(owner_url(), sql))
        return -1;
    return (size_t)snprintf(uri, size, "%s%coptions=-csearch_path%%3D%s", owner_url(),
                            strchr(owner_url(), '?') ? '&' : '?', schema) < size ? 0 : -1;
}

static void pg_drop(const char *uri)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema_of(uri));
    pg_exec(owner_url(), sql);
}

static const struct suite_backend postgres = { "postgres", pg_make, pg_drop, pg_query_int,
                                               pg_exec };

const char *suite_base(void)
{
    return owner_url();
}

const struct suite_backend *suite_backend(void)
{
    return &postgres;
}

/* ---- fixtures (as store_suite.c's) ------------------------------------------ */

int suite_open(const struct fx *f, int flags, int busy_timeout_ms, struct ad_store **st,
               struct ad_err *err)
{
    struct ad_store_options o = { flags, busy_timeout_ms };

    return ad_store_open(f->uri, &o, st, err);
}

static void add_agent(struct fx *f, const char *tenant, const char *name, char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), tenant);
    a.name = (char *)name;
    if (ad_store_agent_insert(f->st, &a, &err))
        fail_msg("agent insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, a.id);
}

static struct fx *setup(int agents)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(f);
    assert_int_equal(pg_make(suite_base(), f->uri, sizeof(f->uri)), 0);
    if (suite_open(f, AD_STORE_CREATE, 0, &f->st, &err))
        fail_msg("open '%s': %s", f->uri, err.msg);
    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", f->tenant, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "globex", f->other, &err), 0);
    if (agents > 0)
        add_agent(f, f->tenant, "bot", f->agent);
    if (agents > 1)
        add_agent(f, f->other, "spy", f->other_agent);
    return f;
}

int fx_setup(void **state)
{
    *state = setup(0);
    return 0;
}

int fx_setup_agent(void **state)
{
    *state = setup(1);
    return 0;
}

int fx_setup_agents(void **state)
{
    *state = setup(2);
    return 0;
}

int fx_teardown(void **state)
{
    struct fx *f = *state;

    ad_store_free(f->st);
    pg_drop(f->uri);
    free(f);
    return 0;
}

int64_t sql_int(const struct fx *f, const char *sql)
{
    return pg_query_int(f->uri, sql);
}

void sql_exec(const struct fx *f, const char *sql)
{
    if (pg_exec(f->uri, sql))
        fail_msg("exec failed: %s", sql);
}

void assert_msg_has(const struct ad_err *err, const char *substr)
{
    if (!strstr(err->msg, substr))
        fail_msg("message '%s' lacks '%s'", err->msg, substr);
}

/* ---- what runs ---------------------------------------------------------------- */

/*
 * The tests of each group that run here. The others need entities of the
 * first half not on PostgreSQL yet (AD_ENOTSUP): episodes (candidate round
 * trip and refusals, agent record, error types, recent failures, pattern
 * round trip and read-only store), notifications (notifications, the daily
 * limit in a transaction), sessions. AUTODEV_TEST_ALL=1 runs every test.
 */
static const char *const RUN[] = {
    "test_skill_names", "test_semver_valid", "test_enum_names", "test_insert_and_get",
    "test_list_paging", "test_versions_and_current", "test_duplicates", "test_insert_refusals",
    "test_update", "test_search_ranking", "test_search_hostile_queries", "test_executions",
    "test_readonly_refuses_writes", "test_candidate_update", "test_candidate_list",
    "test_candidate_tenant_isolation", "test_daily_limit", "test_daily_limit_race",
    "test_daily_limit_race_two_tenants", "test_capability_usage", "test_error_type_json",
    "test_pattern_status_names", "test_pattern_list", "test_pattern_list_by_type",
    "test_pattern_tenant_isolation", "test_pattern_refusals", "test_pattern_update_refusals",
    "test_alpha_enum_names", "test_mutation_round_trip", "test_mutation_update",
    "test_mutation_refusals", "test_mutation_job_index_taken_once",
    "test_mutation_tenant_isolation", "test_mutation_daily_limit", "test_mutation_list_filters",
    "test_mutation_lineage_order", "test_variant_round_trip", "test_variant_top_and_list",
    "test_version_ancestry",
};

static int listed(const char *name)
{
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(RUN); i++) {
        if (!strcmp(RUN[i], name))
            return 1;
    }
    return 0;
}

static int run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
    struct CMUnitTest *sel = calloc(n ? n : 1, sizeof(*sel));
    size_t i, k = 0;
    int failed;

    assert_non_null(sel);
    for (i = 0; i < n; i++) {
        if (getenv("AUTODEV_TEST_ALL") || listed(tests[i].name))
            sel[k++] = tests[i];
    }
    failed = _cmocka_run_group_tests(name, sel, k, NULL, NULL);
    free(sel);
    return failed;
}

int main(void)
{
    int failed = 0;

    if (!owner_url()) {
        printf("1..0 # skipped: no PostgreSQL cluster (AUTODEV_TEST_PG unset; "
               "tests/pg/pg-start could not start one)\n");
        return 0;
    }
    ad_log_set_level(AD_LOG_ERROR);
    failed += run_group("store skills (postgres)", suite_skills, suite_nskills);
    failed += run_group("store learn (postgres)", suite_learn, suite_nlearn);
    failed += run_group("store patterns (postgres)", suite_patterns, suite_npatterns);
    failed += run_group("store alpha (postgres)", suite_alpha, suite_nalpha);
    return failed ? 1 : 0;
}
