/*
 * The store's conformance suite against PostgreSQL: every group of
 * store_conf_*.c, on the cluster tests/pg/pg-start makes (AUTODEV_TEST_STORE
 * when it names a postgres URL, else AUTODEV_TEST_PG, which tests/run-all.sh
 * exports). Without a cluster every test is skipped, saying why.
 *
 * Entities not on PostgreSQL yet: at start one read op of each entity
 * table is tried on a fresh store; an AD_ENOTSUP marks the entity missing,
 * and every test that reaches it (test_store_pg_a_needs.h, generated from
 * the suite's sources) is reported SKIPPED naming it, never passed. A
 * test whose entity answers one op but not another fails, visibly.
 *
 * Also here: the suite's "postgresql" backend entry (store_suite.h).
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
#include "test_store_pg_a_needs.h"

/* ---- the backend entry -------------------------------------------------- */

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *pg_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);

    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect '%s': %s\n", url, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int pg_exec_on(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                 ? 0
                 : -1;

    if (rc)
        fprintf(stderr, "'%s': %s\n", sql, PQresultErrorMessage(r));
    PQclear(r);
    return rc;
}

/* The schema a store URI of suite_pg_make names, from its search_path option. */
static int schema_of(const char *uri, char *out, size_t size)
{
    const char *p = strstr(uri, "search_path%3D");

    if (!p)
        return -1;
    p += strlen("search_path%3D");
    return (size_t)snprintf(out, size, "%.*s", (int)strcspn(p, "&"), p) < size ? 0 : -1;
}

/* The owner's URL the store URI was made from (the URI less its options). */
static int base_of(const char *uri, char *out, size_t size)
{
    const char *p = strstr(uri, "options=-csearch_path");

    if (!p || p == uri)
        return -1;
    return (size_t)snprintf(out, size, "%.*s", (int)(p - uri - 1), uri) < size ? 0 : -1;
}

int suite_pg_make(const char *base, char *uri, size_t size)
{
    static unsigned serial;
    char schema[64], sql[128];
    PGconn *c = pg_connect(base);
    int rc;

    if (!c)
        return -1;
    snprintf(schema, sizeof(schema), "s_%ld_%u_%ld", (long)getpid(), serial++, (long)random());
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    rc = pg_exec_on(c, sql);
    PQfinish(c);
    if (rc)
        return -1;
    return (size_t)snprintf(uri, size, "%s%coptions=-csearch_path%%3D%s", base,
                            strchr(base, '?') ? '&' : '?', schema) < size
               ? 0
               : -1;
}

void suite_pg_drop(const char *uri)
{
    char base[SUITE_URI_MAX], schema[64], sql[128];
    PGconn *c;

    if (base_of(uri, base, sizeof(base)) || schema_of(uri, schema, sizeof(schema)))
        return;
    c = pg_connect(base);
    if (!c)
        return;
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
    pg_exec_on(c, sql);
    PQfinish(c);
}

/* As the owner on the store's schema, seeing every tenant (row-level security). */
static PGconn *pg_store_connect(const char *uri)
{
    PGconn *c = pg_connect(uri);

    if (c && pg_exec_on(c, "SET autodev.tenant = '*'")) {
        PQfinish(c);
        c = NULL;
    }
    return c;
}

int64_t suite_pg_query_int(const char *uri, const char *sql)
{
    PGconn *c = pg_store_connect(uri);
    PGresult *r;
    int64_t v = -1;

    if (!c)
        return -1;
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "query '%s': %s\n", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return v;
}

int suite_pg_exec(const char *uri, const char *sql)
{
    PGconn *c = pg_store_connect(uri);
    int rc;

    if (!c)
        return -1;
    rc = pg_exec_on(c, sql);
    PQfinish(c);
    return rc;
}

/* ---- which entities are on PostgreSQL ------------------------------------ */

#define NIL "01900000-0000-7000-8000-000000000000"

/* 1 when the entity's probe answered AD_ENOTSUP. */
static int probe(struct ad_store *st, const char *tenant, const char *entity)
{
    const struct ad_store_ops *o = st->ops;
    struct ad_err err = AD_ERR_INIT;
    int64_t i64 = 0;
    double d = 0;
    size_t n = 0;
    void *list = NULL;
    int rc = AD_EINTERNAL;

    if (!strcmp(entity, "episodes")) {
        struct ad_episode ep;

        ad_episode_init(&ep);
        rc = o->episodes->get(st, tenant, NIL, &ep, &err);
        if (!rc)
            ad_episode_release(&ep);
    } else if (!strcmp(entity, "events")) {
        rc = o->events->last_seq(st, tenant, &i64, &err);
    } else if (!strcmp(entity, "jobs")) {
        enum ad_job_status s;

        rc = o->jobs->status(st, tenant, NIL, &s, &err);
    } else if (!strcmp(entity, "tokens")) {
        rc = o->tokens->count_active(st, &i64, &err);
    } else if (!strcmp(entity, "llm_calls")) {
        rc = o->llm_calls->spent(st, tenant, "", &i64, &d, &err);
    } else if (!strcmp(entity, "skills")) {
        rc = o->skills->list(st, tenant, NULL, 1, (struct ad_skill **)&list, &n, &err);
        if (!rc)
            ad_skill_list_free(list, n);
    } else if (!strcmp(entity, "executions")) {
        rc = o->executions->list(st, tenant, NIL, 1, (struct ad_skill_execution **)&list, &n,
                                 &err);
        if (!rc)
            ad_skill_execution_list_free(list, n);
    } else if (!strcmp(entity, "sessions")) {
        rc = o->sessions->list(st, tenant, NULL, 1, (struct ad_agent_session **)&list, &n, &err);
        if (!rc)
            ad_agent_session_list_free(list, n);
    } else if (!strcmp(entity, "candidates")) {
        struct ad_candidate_filter f = { 0 };

        f.limit = 1;
        rc = o->candidates->list(st, tenant, &f, (struct ad_skill_candidate **)&list, &n, &err);
        if (!rc)
            ad_skill_candidate_list_free(list, n);
    } else if (!strcmp(entity, "research")) {
        rc = o->research->session_list(st, tenant, 1, (struct ad_research_session **)&list, &n,
                                       &err);
        if (!rc)
            ad_research_session_list_free(list, n);
    } else if (!strcmp(entity, "capabilities")) {
        struct ad_capability_count cc;

        rc = o->capabilities->count(st, tenant, NULL, "probe", "", &cc, &err);
    } else if (!strcmp(entity, "notifications")) {
        rc = o->notifications->list(st, tenant, false, NULL, NULL, 1,
                                    (struct ad_notification **)&list, &n, &err);
        if (!rc)
            ad_notification_list_free(list, n);
    } else if (!strcmp(entity, "patterns")) {
        struct ad_pattern_filter f = { 0 };

        f.limit = 1;
        rc = o->patterns->list(st, tenant, &f, (struct ad_failure_pattern **)&list, &n, &err);
        if (!rc)
            ad_failure_pattern_list_free(list, n);
    } else if (!strcmp(entity, "mutations")) {
        struct ad_mutation_filter f = { 0 };

        f.limit = 1;
        rc = o->mutations->list(st, tenant, &f, (struct ad_tool_mutation **)&list, &n, &err);
        if (!rc)
            ad_tool_mutation_list_free(list, n);
    } else if (!strcmp(entity, "variants")) {
        struct ad_variant_filter f = { 0 };

        f.limit = 1;
        rc = o->variants->list(st, tenant, &f, (struct ad_workflow_variant **)&list, &n, &err);
        if (!rc)
            ad_workflow_variant_list_free(list, n);
    } else if (!strcmp(entity, "webhooks")) {
        rc = o->webhooks->list(st, tenant, false, 1, (struct ad_webhook **)&list, &n, &err);
        if (!rc)
            ad_webhook_list_free(list, n);
    }
    return rc == AD_ENOTSUP;
}

static const char *const entities[] = {
    "episodes", "events", "jobs", "tokens", "llm_calls", "skills", "executions", "sessions",
    "candidates", "research", "capabilities", "notifications", "patterns", "mutations",
    "variants", "webhooks",
};
static bool missing[AD_ARRAY_SIZE(entities)];

static int probe_all(void)
{
    struct fx f = { { 0 } };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    size_t i;

    if (suite_backend()->make(suite_base(), f.uri, sizeof(f.uri)))
        return -1;
    if (ad_store_open(f.uri, &o, &f.st, &err) ||
        ad_store_tenant_ensure(f.st, "acme", f.tenant, &err)) {
        fprintf(stderr, "probe store: %s\n", err.msg);
        ad_store_free(f.st);
        suite_backend()->drop(f.uri);
        return -1;
    }
    for (i = 0; i < AD_ARRAY_SIZE(entities); i++) {
        missing[i] = probe(f.st, f.tenant, entities[i]);
        if (missing[i])
            fprintf(stderr, "# not on PostgreSQL yet: %s\n", entities[i]);
    }
    ad_store_free(f.st);
    suite_backend()->drop(f.uri);
    return 0;
}

/* The first entity test reaches that is missing, or NULL. */
static const char *missing_need(const char *group, const char *test)
{
    size_t i, j;

    for (i = 0; i < AD_ARRAY_SIZE(needs); i++) {
        if (strcmp(needs[i].group, group) || strcmp(needs[i].test, test))
            continue;
        for (j = 0; j < AD_ARRAY_SIZE(entities); j++) {
            const char *p = strstr(needs[i].entities, entities[j]);
            size_t len = strlen(entities[j]);

            /* Whole words of the space-separated list. */
            while (p && ((p > needs[i].entities && p[-1] != ' ') || (p[len] && p[len] != ' ')))
                p = strstr(p + 1, entities[j]);
            if (p && missing[j])
                return entities[j];
        }
    }
    return NULL;
}

/* ---- running a group with the skips -------------------------------------- */

static const char *skip_reason;

/* state is the reason (initial_state, which no fixture replaced). */
static void skipped(void **state)
{
    print_message("# skipped: %s\n", (const char *)*state);
    skip();
}

static int no_fixture(void **state)
{
    (void)state;
    return 0;
}

static int run_group(const char *title, const char *group, const struct CMUnitTest *tests,
                     size_t n)
{
    struct CMUnitTest *v = calloc(n ? n : 1, sizeof(*v));
    char **why = calloc(n ? n : 1, sizeof(*why));
    size_t i;
    int rc;

    assert_non_null(v);
    assert_non_null(why);
    for (i = 0; i < n; i++) {
        const char *need = skip_reason ? NULL : missing_need(group, tests[i].name);

        v[i] = tests[i];
        if (need && asprintf(&why[i], "%s are not on PostgreSQL yet (AD_ENOTSUP)", need) < 0)
            fail_msg("out of memory");
        if (skip_reason || need) {
            v[i].test_func = skipped;
            v[i].setup_func = no_fixture;
            v[i].teardown_func = no_fixture;
            v[i].initial_state = need ? why[i] : (void *)skip_reason;
        }
    }
    rc = _cmocka_run_group_tests(title, v, n, NULL, NULL);
    for (i = 0; i < n; i++)
        free(why[i]);
    free(why);
    free(v);
    return rc;
}

int main(void)
{
    const char *store = getenv("AUTODEV_TEST_STORE");
    const char *pg = getenv("AUTODEV_TEST_PG");
    int failed = 0;

    if (!store || strncmp(store, "postgres", 8)) {
        if (pg && pg[0])
            setenv("AUTODEV_TEST_STORE", pg, 1);
        else
            skip_reason = "no PostgreSQL cluster (AUTODEV_TEST_PG unset; tests/pg/pg-start"
                          " could not start one)";
    }
    if (!skip_reason && (!suite_backend() || probe_all())) {
        fprintf(stderr, "test_store_pg_a_suite: cannot make a store on '%s'\n", suite_base());
        return 1;
    }
    ad_log_set_level(AD_LOG_ERROR);
    failed += run_group("store core (postgresql)", "core", suite_core, suite_ncore);
    failed += run_group("store skills (postgresql)", "skills", suite_skills, suite_nskills);
    failed += run_group("store learn (postgresql)", "learn", suite_learn, suite_nlearn);
    failed += run_group("store patterns (postgresql)", "patterns", suite_patterns,
                        suite_npatterns);
    failed += run_group("store alpha (postgresql)", "alpha", suite_alpha, suite_nalpha);
    failed += run_group("store fitness terms (postgresql)", "terms", suite_terms, suite_nterms);
    return failed ? 1 : 0;
}
