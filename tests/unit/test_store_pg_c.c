/*
 * The PostgreSQL backend's evolution runs, programs and trace (migration 9
 * mirrored), research sessions and webhooks with their deliveries, signal
 * receipts and keys (no conformance group has them) through
 * the public store API: round trips, the refusals named as on SQLite, and
 * row-level security for the application role.
 *
 * The cluster is tests/pg/pg-start's (AUTODEV_TEST_PG, AUTODEV_TEST_PG_APP,
 * which tests/run-all.sh exports); without it every test skips, saying
 * why. Each test gets a schema of its own, dropped afterwards.
 */
#include "compat.h"

#include <math.h>
#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/log.h"
#include "autodev/store.h"

#include "pg_test.h"

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
    snprintf(f->schema, sizeof(f->schema), "c_%ld_%ld", (long)getpid(), (long)random());
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

/* ---- evolution runs ------------------------------------------------------- */

static void make_run(struct ad_evolve_run *r, const char *tenant)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", tenant);
    assert_int_equal(ad_id_new(r->skill_id), 0);
    assert_int_equal(ad_id_new(r->skill_version_id), 0);
    r->params = json_pack("{s:i, s:s}", "islands", 2, "mode", "map-elites");
    r->state = strdup("running");
    r->prng = strdup("00ff");
}

static void make_program(struct ad_evolve_program *p, const char *tenant, const char *run,
                         int generation, int slot)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", tenant);
    snprintf(p->run_id, sizeof(p->run_id), "%s", run);
    p->code = strdup("def f(x):\n    return x + 1\n");
    p->code_hash = strdup("abc123");
    p->fingerprint = strdup("fe");
    p->fitness = NAN;
    p->generation = generation;
    p->slot = slot;
    p->status = strdup("elite");
}

static void test_evolve_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_evolve_run r, got, *runs = NULL;
    struct ad_evolve_program p, q, *progs = NULL;
    struct ad_evolve_trace t, *lines = NULL;
    size_t n = 0;
    int64_t seq = -1;

    NEED_PG();
    make_run(&r, f->tenant);
    assert_int_equal(ad_store_evolve_run_insert(f->st, &r, &err), 0);
    assert_int_equal(ad_store_evolve_run_get(f->st, f->tenant, r.id, &got, &err), 0);
    assert_string_equal(got.state, "running");
    assert_string_equal(got.prng, "00ff");
    assert_string_equal(got.agent_id, "");
    assert_string_equal(got.best_program_id, "");
    assert_int_equal(json_integer_value(json_object_get(got.params, "islands")), 2);
    assert_string_equal(got.created_at, r.created_at);
    ad_evolve_run_release(&got);

    /* A program, then the run updated to point at it. */
    make_program(&p, f->tenant, r.id, 0, -1);
    assert_int_equal(ad_store_evolve_program_insert(f->st, &p, &err), 0);
    make_program(&q, f->tenant, r.id, 0, -1);
    assert_int_equal(ad_store_evolve_program_insert(f->st, &q, &err), AD_EEXIST);
    assert_non_null(strstr(err.msg, "generation 0, slot -1"));
    ad_evolve_program_release(&q);
    p.fitness = 0.75;
    p.children = 3;
    p.stage = 2;
    free(p.cell);
    p.cell = strdup("1,2");
    p.signals = json_pack("{s:f}", "latency", 1.5);
    assert_int_equal(ad_store_evolve_program_update(f->st, &p, &err), 0);
    assert_int_equal(ad_store_evolve_program_list(f->st, f->tenant, r.id, &progs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(progs[0].fitness == 0.75);
    assert_int_equal(progs[0].children, 3);
    assert_int_equal(progs[0].stage, 2);
    assert_string_equal(progs[0].cell, "1,2");
    assert_true(json_real_value(json_object_get(progs[0].signals, "latency")) == 1.5);
    assert_null(progs[0].features);
    ad_evolve_program_list_free(progs, n);

    snprintf(r.best_program_id, sizeof(r.best_program_id), "%s", p.id);
    r.generation = 4;
    r.evaluations = 12;
    r.tokens = 5000000000LL;
    r.usd = 0.125;
    free(r.state);
    r.state = strdup("done");
    r.reason = strdup("budget reached");
    assert_int_equal(ad_store_evolve_run_update(f->st, &r, &err), 0);
    assert_int_equal(ad_store_evolve_run_get(f->st, f->tenant, r.id, &got, &err), 0);
    assert_string_equal(got.best_program_id, p.id);
    assert_int_equal(got.generation, 4);
    assert_int_equal(got.tokens, 5000000000LL);
    assert_true(got.usd == 0.125);
    assert_string_equal(got.state, "done");
    assert_string_equal(got.reason, "budget reached");
    ad_evolve_run_release(&got);
    assert_int_equal(ad_store_evolve_run_list(f->st, f->tenant, 10, &runs, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_evolve_run_list_free(runs, n);

    /* The trace: in seq order, after a seq, a taken seq refused, the last seq. */
    assert_int_equal(ad_store_evolve_trace_last(f->st, f->tenant, r.id, &seq, &err), 0);
    assert_int_equal(seq, 0);
    for (int i = 1; i <= 3; i++) {
        memset(&t, 0, sizeof(t));
        snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", f->tenant);
        snprintf(t.run_id, sizeof(t.run_id), "%s", r.id);
        t.seq = i;
        t.kind = strdup("score");
        t.data = json_pack("{s:i}", "n", i);
        assert_int_equal(ad_store_evolve_trace_append(f->st, &t, &err), 0);
        if (i == 3) {
            assert_int_equal(ad_store_evolve_trace_append(f->st, &t, &err), AD_EEXIST);
            assert_non_null(strstr(err.msg, "trace line 3"));
        }
        ad_evolve_trace_release(&t);
    }
    assert_int_equal(ad_store_evolve_trace_last(f->st, f->tenant, r.id, &seq, &err), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(ad_store_evolve_trace_list(f->st, f->tenant, r.id, 1, 10, &lines, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(lines[0].seq, 2);
    assert_int_equal(json_integer_value(json_object_get(lines[1].data, "n")), 3);
    ad_evolve_trace_list_free(lines, n);
    ad_evolve_program_release(&p);
    ad_evolve_run_release(&r);
}

/* Another tenant's run is unknown to every op; unknown ids are named. */
static void test_evolve_refusals_and_isolation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_evolve_run r, got, *runs = NULL;
    struct ad_evolve_program p;
    struct ad_evolve_trace t;
    size_t n = 9;

    NEED_PG();
    make_run(&r, f->tenant);
    assert_int_equal(ad_store_evolve_run_insert(f->st, &r, &err), 0);

    assert_int_equal(ad_store_evolve_run_get(f->st, f->other, r.id, &got, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "unknown evolution run"));
    assert_int_equal(ad_store_evolve_run_list(f->st, f->other, 10, &runs, &n, &err), 0);
    assert_int_equal(n, 0);
    free(runs);

    make_program(&p, f->other, r.id, 0, 0);
    assert_int_equal(ad_store_evolve_program_insert(f->st, &p, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, r.id));
    ad_evolve_program_release(&p);

    memset(&t, 0, sizeof(t));
    snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", f->other);
    snprintf(t.run_id, sizeof(t.run_id), "%s", r.id);
    t.seq = 1;
    t.kind = strdup("score");
    t.data = json_object();
    assert_int_equal(ad_store_evolve_trace_append(f->st, &t, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "unknown evolution run"));
    ad_evolve_trace_release(&t);

    /* An update as the other tenant changes nothing. */
    snprintf(r.tenant_id, sizeof(r.tenant_id), "%s", f->other);
    free(r.state);
    r.state = strdup("failed");
    assert_int_equal(ad_store_evolve_run_update(f->st, &r, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_evolve_run_get(f->st, f->tenant, r.id, &got, &err), 0);
    assert_string_equal(got.state, "running");
    ad_evolve_run_release(&got);
    ad_evolve_run_release(&r);

    /* An unknown tenant. */
    make_run(&r, "t_nosuchtenant0000000000000");
    assert_true(ad_store_evolve_run_insert(f->st, &r, &err) < 0);
    ad_evolve_run_release(&r);
}

/* ---- research -------------------------------------------------------------- */

static void test_research_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_research_session s, got, dup;
    struct ad_research_iteration it, *its = NULL;
    size_t n = 0;

    NEED_PG();
    memset(&s, 0, sizeof(s));
    snprintf(s.tenant_id, sizeof(s.tenant_id), "%s", f->tenant);
    s.name = strdup("speedup");
    s.repo_path = strdup("/tmp/repo");
    s.metric_name = strdup("seconds");
    s.direction = strdup("minimize");
    s.status = strdup("pending");
    s.baseline_metric = NAN;
    s.best_metric = NAN;
    s.noise = NAN;
    s.budget = json_pack("{s:i}", "iterations", 5);
    assert_int_equal(ad_store_research_session_insert(f->st, &s, &err), 0);
    dup = s;
    memset(dup.id, 0, sizeof(dup.id));
    assert_int_equal(ad_store_research_session_insert(f->st, &dup, &err), AD_EEXIST);
    assert_non_null(strstr(err.msg, "speedup"));

    s.baseline_metric = 2.5;
    free(s.status);
    s.status = strdup("running");
    s.best_commit = strdup("deadbeef");
    assert_int_equal(ad_store_research_session_update(f->st, &s, &err), 0);
    assert_int_equal(ad_store_research_session_get(f->st, f->tenant, s.id, &got, &err), 0);
    assert_true(got.baseline_metric == 2.5);
    assert_true(isnan(got.best_metric));
    assert_string_equal(got.status, "running");
    assert_string_equal(got.best_commit, "deadbeef");
    assert_int_equal(json_integer_value(json_object_get(got.budget, "iterations")), 5);
    ad_research_session_release(&got);
    assert_int_equal(ad_store_research_session_get(f->st, f->other, s.id, &got, &err),
                     AD_ENOTFOUND);

    memset(&it, 0, sizeof(it));
    snprintf(it.tenant_id, sizeof(it.tenant_id), "%s", f->other);
    snprintf(it.session_id, sizeof(it.session_id), "%s", s.id);
    it.seq = 1;
    it.metric = NAN;
    it.decision = strdup("pending");
    assert_int_equal(ad_store_research_iteration_insert(f->st, &it, &err), AD_ENOTFOUND);
    snprintf(it.tenant_id, sizeof(it.tenant_id), "%s", f->tenant);
    memset(it.id, 0, sizeof(it.id));
    assert_int_equal(ad_store_research_iteration_insert(f->st, &it, &err), 0);
    it.metric = 2.0;
    free(it.decision);
    it.decision = strdup("kept");
    assert_int_equal(ad_store_research_iteration_update(f->st, &it, &err), 0);
    assert_int_equal(ad_store_research_iteration_list(f->st, f->tenant, s.id, &its, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(its[0].metric == 2.0);
    assert_string_equal(its[0].decision, "kept");
    ad_research_iteration_list_free(its, n);
    ad_research_iteration_release(&it);
    ad_research_session_release(&s);
}

/* ---- webhooks, deliveries, signal receipts and keys ----------------------- */

static void test_webhooks(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook w, got, *hooks = NULL;
    struct ad_webhook_delivery d, dg, *ds = NULL;
    size_t n = 9;
    int64_t gen = 0, count = -1;

    NEED_PG();
    memset(&w, 0, sizeof(w));
    snprintf(w.tenant_id, sizeof(w.tenant_id), "%s", f->tenant);
    w.url = strdup("https://example.test/hook");
    w.topics = json_pack("[s]", "skill.promoted");
    w.active = true;
    assert_int_equal(ad_store_webhook_insert(f->st, &w, &err), 0);
    assert_int_equal(ad_store_webhook_get(f->st, f->tenant, w.id, &got, &err), 0);
    assert_string_equal(got.url, "https://example.test/hook");
    assert_true(got.active);
    assert_int_equal(got.secret_generation, 1);
    assert_string_equal(json_string_value(json_array_get(got.topics, 0)), "skill.promoted");
    ad_webhook_release(&got);
    assert_int_equal(ad_store_webhook_rotate(f->st, f->tenant, w.id, &gen, &err), 0);
    assert_int_equal(gen, 2);
    assert_int_equal(ad_store_webhook_rotate(f->st, f->other, w.id, &gen, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_webhook_list(f->st, f->other, false, 10, &hooks, &n, &err), 0);
    assert_int_equal(n, 0);
    free(hooks);
    assert_int_equal(ad_store_webhook_list(f->st, f->tenant, true, 10, &hooks, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_webhook_list_free(hooks, n);

    memset(&d, 0, sizeof(d));
    snprintf(d.tenant_id, sizeof(d.tenant_id), "%s", f->tenant);
    snprintf(d.webhook_id, sizeof(d.webhook_id), "%s", w.id);
    assert_int_equal(ad_id_new(d.event_id), 0);
    d.topic = strdup("skill.promoted");
    d.payload = json_pack("{s:s}", "skill", "x");
    d.status = AD_DELIVERY_PENDING;
    assert_int_equal(ad_store_webhook_delivery_insert(f->st, &d, &err), 0);
    d.status = AD_DELIVERY_DEAD;
    d.attempts = 5;
    d.last_status_code = 503;
    d.last_error = strdup("service unavailable");
    assert_int_equal(ad_store_webhook_delivery_update(f->st, &d, &err), 0);
    assert_int_equal(ad_store_webhook_delivery_get(f->st, f->tenant, d.id, &dg, &err), 0);
    assert_int_equal(dg.status, AD_DELIVERY_DEAD);
    assert_int_equal(dg.attempts, 5);
    assert_int_equal(dg.last_status_code, 503);
    assert_string_equal(dg.last_error, "service unavailable");
    assert_string_equal(dg.delivered_at, "");
    assert_string_equal(json_string_value(json_object_get(dg.payload, "skill")), "x");
    ad_webhook_delivery_release(&dg);
    assert_int_equal(ad_store_webhook_delivery_list(f->st, f->tenant, w.id, AD_DELIVERY_DEAD, 10,
                                                    &ds, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_webhook_delivery_list_free(ds, n);
    assert_int_equal(ad_store_webhook_delivery_list(f->st, f->tenant, NULL,
                                                    AD_DELIVERY_PENDING, 10, &ds, &n, &err), 0);
    assert_int_equal(n, 0);
    free(ds);
    assert_int_equal(ad_store_webhook_delivery_get(f->st, f->other, d.id, &dg, &err),
                     AD_ENOTFOUND);

    /* Deleting the webhook keeps its deliveries. */
    assert_int_equal(ad_store_webhook_delete(f->st, f->tenant, w.id, &err), 0);
    assert_int_equal(ad_store_webhook_delete(f->st, f->tenant, w.id, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_webhook_delivery_get(f->st, f->tenant, d.id, &dg, &err), 0);
    ad_webhook_delivery_release(&dg);

    /* The replay guard: one signature once per tenant; another tenant may see it. */
    assert_int_equal(ad_store_signal_receipt_insert(f->st, f->tenant, "h1", &err), 0);
    assert_int_equal(ad_store_signal_receipt_insert(f->st, f->tenant, "h1", &err), AD_EEXIST);
    assert_non_null(strstr(err.msg, "replay"));
    assert_int_equal(ad_store_signal_receipt_insert(f->st, f->other, "h1", &err), 0);
    assert_int_equal(ad_store_signal_receipt_prune(f->st, "2000-01-01T00:00:00.000Z", &count,
                                                   &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_signal_receipt_prune(f->st, "2999-01-01T00:00:00.000Z", &count,
                                                   &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(ad_store_signal_receipt_insert(f->st, f->tenant, "h1", &err), 0);

    /* The signal secret's generation: 1 until rotated, per tenant. */
    assert_int_equal(ad_store_signal_generation(f->st, f->tenant, &gen, &err), 0);
    assert_int_equal(gen, 1);
    assert_int_equal(ad_store_signal_rotate(f->st, f->tenant, &gen, &err), 0);
    assert_int_equal(gen, 2);
    assert_int_equal(ad_store_signal_rotate(f->st, f->tenant, &gen, &err), 0);
    assert_int_equal(gen, 3);
    assert_int_equal(ad_store_signal_generation(f->st, f->other, &gen, &err), 0);
    assert_int_equal(gen, 1);
    ad_webhook_delivery_release(&d);
    ad_webhook_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_evolve_round_trip),
        T(test_evolve_refusals_and_isolation),
        T(test_research_round_trip),
        T(test_webhooks),
#undef T
    };

    ad_log_set_level(AD_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
