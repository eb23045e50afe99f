/*
 * Fitness (src/learn/fitness.c): the reference formulas, table-driven, and
 * the evaluations of a stored variant through the owner API: what each
 * writes to the score and the signals, the variant.fitness event of each
 * in the same transaction, the refusals that write nothing, and a delayed
 * signal that changes the ranking of the top variants.
 *
 * Sections: the formulas; the fixture; the evaluations; the ranking.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>

#include <cmocka.h>

#include "autodev/bus.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/settings.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "tmpdb.h"

#define EPS 1e-9

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) < EPS))
        fail_msg("got %.12g, want %.12g", got, want);
}

/* ---- the formulas --------------------------------------------------------- */

static void proxy_adds_the_reference_terms(void **state)
{
    static const struct {
        bool syntax_ok, ran, approved;
        double want;
    } cases[] = {
        { false, false, false, 0.0 }, { true, false, false, 0.2 }, { true, true, false, 0.5 },
        { true, true, true, 1.0 },    { false, true, false, 0.3 }, { false, false, true, 0.5 },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++)
        assert_near(ad_fitness_proxy(cases[i].syntax_ok, cases[i].ran, cases[i].approved),
                    cases[i].want);
}

static void multi_is_the_weighted_mean(void **state)
{
    static const struct {
        const char *scores;
        double want;
    } cases[] = {
        /* The reference's example with weights 0.4/0.4/0.2/0: 0.82. */
        { "{\"performance\": 0.8, \"accuracy\": 0.9, \"cost\": 0.7}", 0.82 },
        { "{}", 0.0 },
        { "{\"performance\": 2, \"accuracy\": 1, \"cost\": 1}", 1.0 },      /* clamped */
        { "{\"performance\": -1, \"accuracy\": 0.5, \"cost\": \"x\"}", 0.2 },
    };
    struct ad_fitness_weights w = { 0.4, 0.4, 0.2, 0.0 }, zero = { 0, 0, 0, 0 };
    struct ad_settings s;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *j = json_loads(cases[i].scores, 0, NULL);

        assert_non_null(j);
        assert_near(ad_fitness_multi(&w, j), cases[i].want);
        json_decref(j);
    }
    assert_near(ad_fitness_multi(&zero, NULL), 0.0);
    ad_settings_defaults(&s);
    ad_fitness_weights_from_settings(&s, &w);
    assert_near(w.performance, 0.3);
    assert_near(w.accuracy, 0.4);
    assert_near(w.cost, 0.2);
    assert_near(w.satisfaction, 0.1);
}

static void delayed_adjustment_follows_the_reference(void **state)
{
    static const struct {
        const char *signals;
        double want;
    } cases[] = {
        { "{\"invoice_created\": true}", 0.4 },
        { "{\"crm_conversion\": true}", 0.5 },
        { "{\"conversion_value\": 250}", 0.25 },
        { "{\"conversion_value\": 5000}", 0.5 },
        { "{\"conversion_value\": 0, \"conversion_success\": true}", 0.0 },
        { "{\"invoice_created\": false, \"crm_conversion\": false}", 0.0 },
        { "{\"email_bounce\": true}", -0.2 },
        { "{\"error_signal\": true, \"invoice_created\": true}", 0.2 },
        { "{\"invoice_created\": true, \"crm_conversion\": true, \"conversion_value\": 900}",
          1.4 },
    };
    struct ad_settings s;

    (void)state;
    ad_settings_defaults(&s);
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *j = json_loads(cases[i].signals, 0, NULL);

        assert_near(ad_fitness_delayed_adjustment(j, &s), cases[i].want);
        json_decref(j);
    }
    /* The penalties are the settings'. */
    s.fitness_penalty_email_bounce_pct = 50;
    s.fitness_penalty_error_signal_pct = 0;
    {
        json_t *j = json_pack("{s:b, s:b}", "email_bounce", 1, "error_signal", 1);

        assert_near(ad_fitness_delayed_adjustment(j, &s), -0.5);
        json_decref(j);
    }
}

static void business_value_and_satisfaction(void **state)
{
    static const struct {
        const char *metrics;
        double want;
    } cases[] = {
        { "{\"revenue_impact\": 2500}", 0.25 },
        { "{\"revenue_impact\": 50000, \"cost_savings\": 10000, \"time_savings_hours\": 1000}",
          1.0 },
        { "{\"cost_savings\": 1000, \"time_savings_hours\": 10}", 0.3 },
        { "{\"revenue_impact\": -100, \"cost_savings\": 0}", 0.0 },
    };
    const double mixed[] = { 1.0, -1.0, 0.5 }, wild[] = { 5.0, NAN };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *j = json_loads(cases[i].metrics, 0, NULL);

        assert_near(ad_fitness_business_value(j), cases[i].want);
        json_decref(j);
    }
    assert_near(ad_fitness_satisfaction(NULL, 0), 0.5);
    assert_near(ad_fitness_satisfaction(mixed, 3), (0.5 / 3 + 1) / 2);
    assert_near(ad_fitness_satisfaction(wild, 2), 0.75);   /* 5 -> 1, NAN -> 0 */
}

static void signals_check_is_strict(void **state)
{
    static const struct {
        const char *signals;
        const char *names;    /* NULL: accepted */
    } cases[] = {
        { "{\"invoice_created\": true, \"conversion_value\": 12.5}", NULL },
        { "{}", NULL },
        { "{\"invoice_created\": 1}", "invoice_created" },
        { "{\"conversion_value\": -1}", "conversion_value" },
        { "{\"conversion_value\": \"9\"}", "conversion_value" },
        { "{\"revenue\": 3}", "revenue" },
        { "{\"email_bounce\": null}", "email_bounce" },
        { "[true]", "object" },
    };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *j = json_loads(cases[i].signals, 0, NULL);
        int rc = ad_fitness_signals_check(j, &err);

        if (!cases[i].names) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, AD_EINVAL);
            if (!strstr(err.msg, cases[i].names))
                fail_msg("'%s': message '%s' does not name '%s'", cases[i].signals, err.msg,
                         cases[i].names);
        }
        json_decref(j);
    }
    assert_int_equal(ad_fitness_signals_check(NULL, &err), AD_EINVAL);
}

/* ---- the fixture ---------------------------------------------------------- */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
    int events;              /* variant.fitness events seen */
    int bad;                 /* events that broke the topic table */
    char last_source[32];
    double last_score;
};

static int on_fitness(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct fx *f = ctx;
    const json_t *score = json_object_get(ev->payload, "fitness_score");

    (void)err;
    if (ad_topic_check(ev->topic, ev->payload, NULL) < 0)
        f->bad++;
    f->events++;
    snprintf(f->last_source, sizeof(f->last_source), "%s",
             ad_json_str(ev->payload, "source") ? ad_json_str(ev->payload, "source") : "");
    f->last_score = json_is_number(score) ? json_number_value(score) : NAN;
    return 0;
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "fitness");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(f->bus, AD_TOPIC_VARIANT_FITNESS, "test", on_fitness, f,
                                      &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", f->tenant);
    a.name = (char *)"bot";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    snprintf(f->agent, sizeof(f->agent), "%s", a.id);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    ad_bus_free(f->bus);
    ad_store_free(f->st);
    tmpdb_remove(&f->db);
    free(f);
    return 0;
}

/* A variant of the fixture's agent with score (NAN: none yet). */
static void make_variant(struct fx *f, double score, char id[AD_ID_SIZE])
{
    struct ad_workflow_variant v;
    struct ad_err err = AD_ERR_INIT;

    ad_workflow_variant_init(&v);
    snprintf(v.tenant_id, sizeof(v.tenant_id), "%s", f->tenant);
    snprintf(v.agent_id, sizeof(v.agent_id), "%s", f->agent);
    v.workflow_definition = json_pack("{s:s}", "skill", "sum_list");
    v.fitness_score = score;
    assert_int_equal(ad_variants_create(f->st, &v, &err), 0);
    snprintf(id, AD_ID_SIZE, "%s", v.id);
    json_decref(v.workflow_definition);
}

static void get_variant(struct fx *f, const char *id, struct ad_workflow_variant *v)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_variants_get(f->st, f->tenant, id, v, &err) < 0)
        fail_msg("variant %s: %s", id, err.msg);
}

static int64_t last_seq(struct fx *f)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t seq = 0;

    assert_int_equal(ad_events_last_seq(f->st, f->tenant, &seq, &err), 0);
    return seq;
}

/* ---- the evaluations ------------------------------------------------------ */

static void initial_proxy_scores_and_records(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    char id[AD_ID_SIZE];
    double score = -1;
    json_t *sig;

    make_variant(f, NAN, id);
    sig = json_pack("{s:b, s:b, s:b}", "syntax_error", 0, "execution_success", 1,
                    "user_approved", 0);
    assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, f->tenant, id, sig, &score,
                                                       &err), 0);
    json_decref(sig);
    assert_near(score, 0.5);
    get_variant(f, id, &v);
    assert_near(v.fitness_score, 0.5);
    assert_int_equal(v.evaluation_status, AD_VSTAT_EVALUATED);
    assert_int_equal(strlen(v.last_evaluated_at), 24);
    assert_true(json_is_true(json_object_get(json_object_get(v.fitness_signals, "proxy"),
                                             "execution_success")));
    assert_near(json_real_value(json_object_get(json_object_get(v.fitness_signals, "proxy"),
                                                "score")), 0.5);
    ad_workflow_variant_release(&v);
    assert_int_equal(f->events, 1);
    assert_string_equal(f->last_source, "proxy");
    assert_near(f->last_score, 0.5);

    /* With objectives: 0.5 x proxy + 0.5 x the weighted mean (30/40/20/10). */
    sig = json_pack("{s:b, s:{s:f, s:f, s:f, s:f}}", "execution_success", 1, "objectives",
                    "performance", 1.0, "accuracy", 1.0, "cost", 0.5, "satisfaction", 0.0);
    assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, f->tenant, id, sig, &score,
                                                       &err), 0);
    json_decref(sig);
    assert_near(score, 0.5 * 0.5 + 0.5 * (0.3 + 0.4 + 0.1));
    get_variant(f, id, &v);
    assert_near(json_real_value(json_object_get(json_object_get(v.fitness_signals, "objectives"),
                                                "score")), 0.8);
    ad_workflow_variant_release(&v);
    assert_int_equal(f->bad, 0);
}

/* A refused evaluation writes nothing: no score, no signals, no event. */
static void refusals_write_nothing(void **state)
{
    static const char *const bad_proxy[] = {
        "{\"syntax_error\": \"no\"}",
        "{\"user_aproved\": true}",
        "{\"objectives\": {\"speed\": 1}}",
        "{\"objectives\": {\"accuracy\": \"high\"}}",
        "[]",
    };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    char id[AD_ID_SIZE];
    const double inf[] = { INFINITY };
    int64_t seq;
    json_t *j;

    make_variant(f, 0.4, id);
    seq = last_seq(f);
    for (size_t i = 0; i < AD_ARRAY_SIZE(bad_proxy); i++) {
        j = json_loads(bad_proxy[i], 0, NULL);
        assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, f->tenant, id, j, NULL,
                                                           &err), AD_EINVAL);
        json_decref(j);
    }
    j = json_pack("{s:i}", "invoice_created", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, id, j, NULL, &err),
                     AD_EINVAL);
    assert_non_null(strstr(err.msg, "invoice_created"));
    json_decref(j);
    j = json_pack("{s:f}", "revenue", 10.0);
    assert_int_equal(ad_fitness_evaluate_business_value(f->st, f->bus, f->tenant, id, j, NULL,
                                                        &err), AD_EINVAL);
    json_decref(j);
    assert_int_equal(ad_fitness_evaluate_user_satisfaction(f->st, f->bus, f->tenant, id, inf, 1,
                                                           NULL, &err), AD_EINVAL);
    /* An unknown variant, or another tenant's, is not found. */
    j = json_pack("{s:b}", "invoice_created", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant,
                                                 "01900000-0000-7000-8000-00000000dead", j, NULL,
                                                 &err), AD_ENOTFOUND);
    json_decref(j);

    get_variant(f, id, &v);
    assert_near(v.fitness_score, 0.4);
    assert_null(v.fitness_signals);
    assert_int_equal(v.evaluation_status, AD_VSTAT_PENDING);
    ad_workflow_variant_release(&v);
    assert_int_equal(last_seq(f), seq);
    assert_int_equal(f->events, 0);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
}

static void delayed_business_and_satisfaction(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    char id[AD_ID_SIZE];
    const double feedback[] = { 1.0, 0.0 };
    double score = -1, bv = -1, sat = -1;
    json_t *j, *delayed;

    make_variant(f, 0.5, id);
    j = json_pack("{s:b, s:f}", "invoice_created", 1, "conversion_value", 100.0);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, id, j, &score, &err),
                     0);
    json_decref(j);
    assert_near(score, 1.0);    /* 0.5 + 0.4 + 0.1, at the top */
    j = json_pack("{s:b, s:b}", "email_bounce", 1, "error_signal", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, id, j, &score, &err),
                     0);
    json_decref(j);
    assert_near(score, 0.6);
    get_variant(f, id, &v);
    delayed = json_object_get(v.fitness_signals, "delayed");
    assert_int_equal(json_array_size(delayed), 2);
    assert_near(json_real_value(json_object_get(json_array_get(delayed, 1), "adjustment")),
                -0.4);
    assert_true(json_is_true(json_object_get(
        json_object_get(json_array_get(delayed, 0), "signals"), "invoice_created")));
    assert_non_null(ad_json_str(json_array_get(delayed, 0), "at"));
    ad_workflow_variant_release(&v);
    assert_string_equal(f->last_source, "delayed");

    j = json_pack("{s:f}", "revenue_impact", 2000.0);
    assert_int_equal(ad_fitness_evaluate_business_value(f->st, f->bus, f->tenant, id, j, &bv,
                                                        &err), 0);
    json_decref(j);
    assert_near(bv, 0.2);
    get_variant(f, id, &v);
    assert_near(v.fitness_score, 0.4);    /* (0.6 + 0.2) / 2 */
    assert_near(json_real_value(json_object_get(json_object_get(v.fitness_signals,
                                                                "business_value"), "score")),
                0.2);
    ad_workflow_variant_release(&v);
    assert_string_equal(f->last_source, "business_value");

    assert_int_equal(ad_fitness_evaluate_user_satisfaction(f->st, f->bus, f->tenant, id,
                                                           feedback, 2, &sat, &err), 0);
    assert_near(sat, 0.75);
    get_variant(f, id, &v);
    assert_near(v.fitness_score, 0.4);    /* satisfaction does not move the score */
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(v.fitness_signals, "user_satisfaction"),
                         "feedback_count")), 2);
    /* Every stage kept what the others wrote. */
    assert_non_null(json_object_get(v.fitness_signals, "delayed"));
    assert_non_null(json_object_get(v.fitness_signals, "business_value"));
    ad_workflow_variant_release(&v);
    assert_string_equal(f->last_source, "user_satisfaction");
    assert_int_equal(f->events, 4);
    assert_int_equal(f->bad, 0);
}

/* ---- the ranking ------------------------------------------------------------ */

static void delayed_signal_changes_the_ranking(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant *top = NULL;
    char a[AD_ID_SIZE], b[AD_ID_SIZE], none[AD_ID_SIZE];
    size_t n = 0;
    json_t *j;

    make_variant(f, 0.7, a);
    make_variant(f, 0.5, b);
    make_variant(f, NAN, none);
    assert_int_equal(ad_fitness_top_variants(f->st, f->tenant, NULL, 10, &top, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(top[0].id, a);
    ad_workflow_variant_list_free(top, n);

    j = json_pack("{s:b}", "crm_conversion", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, b, j, NULL, &err), 0);
    json_decref(j);
    j = json_pack("{s:b}", "error_signal", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, a, j, NULL, &err), 0);
    json_decref(j);
    assert_int_equal(ad_fitness_top_variants(f->st, f->tenant, f->agent, 10, &top, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(top[0].id, b);
    assert_near(top[0].fitness_score, 1.0);
    assert_string_equal(top[1].id, a);
    assert_near(top[1].fitness_score, 0.5);
    ad_workflow_variant_list_free(top, n);

    /* A variant with no score yet starts from 0; one driven to 0 leaves the top. */
    j = json_pack("{s:b}", "email_bounce", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, none, j, NULL, &err),
                     0);
    json_decref(j);
    assert_int_equal(ad_fitness_top_variants(f->st, f->tenant, NULL, 10, &top, &n, &err), 0);
    assert_int_equal(n, 2);
    ad_workflow_variant_list_free(top, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proxy_adds_the_reference_terms),
        cmocka_unit_test(multi_is_the_weighted_mean),
        cmocka_unit_test(delayed_adjustment_follows_the_reference),
        cmocka_unit_test(business_value_and_satisfaction),
        cmocka_unit_test(signals_check_is_strict),
        cmocka_unit_test_setup_teardown(initial_proxy_scores_and_records, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(delayed_business_and_satisfaction, setup, teardown),
        cmocka_unit_test_setup_teardown(delayed_signal_changes_the_ranking, setup, teardown),
    };

    return cmocka_run_group_tests_name("fitness", tests, NULL, NULL);
}
