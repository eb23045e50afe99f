/*
 * Custom fitness terms (src/learn/fitness_terms.c) on a real store and the
 * real sandbox: the blend formula, registration and its refusals (nothing
 * stored), a variant's score moving as fitness.h's formula says with two
 * terms of different weights, failing and hostile terms left out with
 * their errors recorded, and another tenant's terms not applying.
 *
 * Sections: the formula; the fixture; registering; scoring; hostile terms.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>

#include <cmocka.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/bus.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "tmpdb.h"

#define EPS 1e-9

static struct ad_sandbox *sb;

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) < EPS))
        fail_msg("got %.12g, want %.12g", got, want);
}

/* ---- the formula ------------------------------------------------------------ */

static void blend_is_the_weighted_mean(void **state)
{
    static const struct {
        double builtin;
        const char *values;
        double want, wsum;
    } cases[] = {
        { 0.5, "{}", 0.5, 0 },
        { 0.5, "{\"a\": {\"value\": 0.9, \"weight\": 2}}", (0.5 + 1.8) / 3, 2 },
        { 0.4, "{\"a\": {\"value\": 1, \"weight\": 1}, \"b\": {\"value\": 0, \"weight\": 3}}",
          (0.4 + 1) / 5, 4 },
        /* An error counts in neither sum; a value outside [0, 1] is clamped. */
        { 0.5, "{\"a\": {\"error\": \"boom\", \"weight\": 9}, \"b\": {\"value\": 4,"
               " \"weight\": 1}}", (0.5 + 1) / 2, 1 },
        { 0.2, "{\"a\": {\"value\": 1, \"weight\": 0}}", 0.2, 0 },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *j = json_loads(cases[i].values, 0, NULL);
        double wsum = -1;

        assert_non_null(j);
        assert_near(ad_fitness_blend(cases[i].builtin, j, &wsum), cases[i].want);
        assert_near(wsum, cases[i].wsum);
        json_decref(j);
    }
}

/* ---- the fixture ------------------------------------------------------------ */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char other[AD_ID_SIZE];
    int events;
    char last_source[32];
};

static int on_fitness(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct fx *f = ctx;

    (void)err;
    if (ad_topic_check(ev->topic, ev->payload, NULL) < 0)
        fail_msg("variant.fitness breaks the topic table");
    f->events++;
    snprintf(f->last_source, sizeof(f->last_source), "%s",
             ad_json_str(ev->payload, "source") ? ad_json_str(ev->payload, "source") : "");
    return 0;
}

static int group_setup(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    o.slots = 2;
    o.quiet = true;
    if (ad_sandbox_new(&o, &sb, &err) < 0) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        return -1;
    }
    /* The failing terms are logged on purpose. */
    ad_log_set_level(AD_LOG_ERROR);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ad_sandbox_free(sb);
    return 0;
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "fitterm");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(f->bus, AD_TOPIC_VARIANT_FITNESS, "test", on_fitness, f,
                                      &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "globex", f->other, &err), 0);
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

static void add(struct fx *f, const char *tenant, const char *name, const char *code, double w)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_fitness_terms_add(f->st, sb, tenant, name, code, w, NULL, &err) < 0)
        fail_msg("add %s: %s", name, err.msg);
}

/* A variant of tenant scored by the proxy with execution_success: built-in score 0.5. */
static void make_variant(struct fx *f, const char *tenant, char id[AD_ID_SIZE])
{
    struct ad_workflow_variant v;
    struct ad_err err = AD_ERR_INIT;
    json_t *sig = json_pack("{s:b}", "execution_success", 1);
    double score = -1;

    ad_workflow_variant_init(&v);
    snprintf(v.tenant_id, sizeof(v.tenant_id), "%s", tenant);
    v.workflow_definition = json_pack("{s:s}", "skill", "sum_list");
    assert_int_equal(ad_variants_create(f->st, &v, &err), 0);
    snprintf(id, AD_ID_SIZE, "%s", v.id);
    json_decref(v.workflow_definition);
    assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, tenant, id, sig, &score,
                                                       &err), 0);
    json_decref(sig);
    assert_near(score, 0.5);
}

static void get_variant(struct fx *f, const char *tenant, const char *id,
                        struct ad_workflow_variant *v)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_variants_get(f->st, tenant, id, v, &err) < 0)
        fail_msg("variant %s: %s", id, err.msg);
}

static const json_t *term_entry(const struct ad_workflow_variant *v, const char *name)
{
    return json_object_get(json_object_get(json_object_get(v->fitness_signals, "terms"),
                                           "values"), name);
}

/* ---- registering -------------------------------------------------------------- */

static int64_t count_terms(struct fx *f)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term *v = NULL;
    size_t n = 0;

    assert_int_equal(ad_fitness_terms_list(f->st, f->tenant, &v, &n, &err), 0);
    ad_fitness_term_list_free(v, n);
    return (int64_t)n;
}

static void add_list_show_remove(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t, *v = NULL;
    const char *code = "def term(signals):\n    return 0.75\n";
    size_t n = 0;

    memset(&t, 0, sizeof(t));
    assert_int_equal(ad_fitness_terms_add(f->st, sb, f->tenant, "latency_ok", code, 2.5, &t,
                                          &err), 0);
    assert_string_equal(t.name, "latency_ok");
    assert_int_equal(strlen(t.code_sha), 64);
    ad_fitness_term_release(&t);
    add(f, f->tenant, "brevity", "def term(s):\n    return 1\n", 1);
    assert_int_equal(ad_fitness_terms_list(f->st, f->tenant, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "brevity");     /* by name */
    assert_string_equal(v[1].name, "latency_ok");
    assert_string_equal(v[1].code, code);
    assert_near(v[1].weight, 2.5);
    assert_true(v[1].enabled);
    ad_fitness_term_list_free(v, n);
    assert_int_equal(ad_fitness_terms_get(f->st, f->tenant, "latency_ok", &t, &err), 0);
    assert_string_equal(t.code, code);
    ad_fitness_term_release(&t);
    /* Per tenant: the other tenant sees none, and may use the same name. */
    assert_int_equal(ad_fitness_terms_get(f->st, f->other, "latency_ok", &t, &err), AD_ENOTFOUND);
    add(f, f->other, "latency_ok", code, 1);
    assert_int_equal(ad_fitness_terms_add(f->st, sb, f->tenant, "latency_ok", code, 1, NULL,
                                          &err), AD_EEXIST);
    assert_int_equal(ad_fitness_terms_remove(f->st, f->tenant, "latency_ok", &err), 0);
    assert_int_equal(ad_fitness_terms_remove(f->st, f->tenant, "latency_ok", &err), AD_ENOTFOUND);
    assert_int_equal(count_terms(f), 1);
}

static void bad_terms_are_refused_and_nothing_stored(void **state)
{
    static const struct {
        const char *name, *code;
        double weight;
        int rc;
        const char *says;
    } cases[] = {
        { "9lives", "def term(s):\n    return 1\n", 1, AD_EINVAL, "identifier" },
        { "a-b", "def term(s):\n    return 1\n", 1, AD_EINVAL, "identifier" },
        { "ok", "def term(s):\n    return 1\n", 0, AD_EINVAL, "weight" },
        { "ok", "def term(s):\n    return 1\n", -2, AD_EINVAL, "weight" },
        { "ok", "def term(s):\n    return 1\n", NAN, AD_EINVAL, "weight" },
        { "ok", "def term(s) return 1\n", 1, AD_EINVAL, "line 1" },
        { "ok", "def score(s):\n    return 1\n", 1, AD_EINVAL, "no top-level function 'term'" },
        { "ok", "def term():\n    return 1\n", 1, AD_EINVAL, "one argument" },
        { "ok", "", 1, AD_EINVAL, "empty" },
        { "ok", "x = '\xff'\ndef term(s):\n    return 1\n", 1, AD_EINVAL, "UTF-8" },
    };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char *big = malloc(AD_FITNESS_TERM_CODE_MAX + 64);

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        int rc = ad_fitness_terms_add(f->st, sb, f->tenant, cases[i].name, cases[i].code,
                                      cases[i].weight, NULL, &err);

        if (rc != cases[i].rc || !strstr(err.msg, cases[i].says))
            fail_msg("case %zu: rc %d, message '%s' (want %d, '%s')", i, rc, err.msg,
                     cases[i].rc, cases[i].says);
    }
    /* One byte past the size cap. */
    assert_non_null(big);
    memset(big, '#', AD_FITNESS_TERM_CODE_MAX + 1);
    big[AD_FITNESS_TERM_CODE_MAX + 1] = '\0';
    assert_int_equal(ad_fitness_terms_add(f->st, sb, f->tenant, "ok", big, 1, NULL, &err),
                     AD_ETOOBIG);
    free(big);
    assert_int_equal(count_terms(f), 0);
}

/* ---- scoring ------------------------------------------------------------------ */

static void two_terms_move_the_score_by_the_formula(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    char id[AD_ID_SIZE];
    double score = -1, b = 0.5, want;
    const json_t *e;
    json_t *sig;

    make_variant(f, f->tenant, id);
    add(f, f->tenant, "steady", "def term(signals):\n    return 0.9\n", 2.0);
    /* It reads the variant's signals: the proxy ran successfully. */
    add(f, f->tenant, "ran",
        "def term(signals):\n"
        "    return 1.0 if signals['proxy']['execution_success'] else 0.0\n", 0.5);
    f->events = 0;
    assert_int_equal(ad_fitness_terms_apply(f->st, f->bus, sb, f->tenant, id, NULL, &score,
                                            &err), 0);
    want = (1.0 * b + 2.0 * 0.9 + 0.5 * 1.0) / (1.0 + 2.0 + 0.5);
    assert_near(score, want);
    assert_int_equal(f->events, 1);
    assert_string_equal(f->last_source, "terms");
    ad_workflow_variant_init(&v);
    get_variant(f, f->tenant, id, &v);
    assert_near(v.fitness_score, want);
    e = term_entry(&v, "steady");
    assert_near(json_number_value(json_object_get(e, "value")), 0.9);
    assert_near(json_number_value(json_object_get(e, "weight")), 2.0);
    assert_near(json_number_value(json_object_get(term_entry(&v, "ran"), "value")), 1.0);
    assert_near(json_number_value(json_object_get(json_object_get(v.fitness_signals, "terms"),
                                                  "builtin")), b);
    ad_workflow_variant_release(&v);

    /* A delayed signal moves the built-in score; the terms' values stay blended in. */
    sig = json_pack("{s:b}", "invoice_created", 1);
    assert_int_equal(ad_fitness_evaluate_delayed(f->st, f->bus, f->tenant, id, sig, &score,
                                                 &err), 0);
    json_decref(sig);
    b = 0.9;
    want = (1.0 * b + 2.0 * 0.9 + 0.5 * 1.0) / (1.0 + 2.0 + 0.5);
    assert_near(score, want);

    /* Without terms the score goes back to the built-in one. */
    assert_int_equal(ad_fitness_terms_remove(f->st, f->tenant, "steady", &err), 0);
    assert_int_equal(ad_fitness_terms_remove(f->st, f->tenant, "ran", &err), 0);
    assert_int_equal(ad_fitness_terms_apply(f->st, f->bus, sb, f->tenant, id, NULL, &score,
                                            &err), 0);
    assert_near(score, 0.9);
    ad_workflow_variant_init(&v);
    get_variant(f, f->tenant, id, &v);
    assert_null(json_object_get(v.fitness_signals, "terms"));
    ad_workflow_variant_release(&v);
}

static void another_tenants_terms_do_not_apply(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    char mine[AD_ID_SIZE], theirs[AD_ID_SIZE];
    double score = -1;

    make_variant(f, f->tenant, mine);
    make_variant(f, f->other, theirs);
    add(f, f->other, "zero", "def term(signals):\n    return 0.0\n", 10);
    f->events = 0;
    assert_int_equal(ad_fitness_terms_apply(f->st, f->bus, sb, f->tenant, mine, NULL, &score,
                                            &err), 0);
    assert_near(score, 0.5);
    assert_int_equal(f->events, 0);      /* nothing to blend: nothing written */
    ad_workflow_variant_init(&v);
    get_variant(f, f->tenant, mine, &v);
    assert_null(json_object_get(v.fitness_signals, "terms"));
    ad_workflow_variant_release(&v);
    /* The other tenant's variant does get its own term: 0.5 / 11. */
    assert_int_equal(ad_fitness_terms_apply(f->st, f->bus, sb, f->other, theirs, NULL, &score,
                                            &err), 0);
    assert_near(score, 0.5 / 11);
    /* A variant id of another tenant is not found. */
    assert_int_equal(ad_fitness_terms_apply(f->st, f->bus, sb, f->tenant, theirs, NULL, &score,
                                            &err), AD_ENOTFOUND);
}

/* ---- hostile terms ------------------------------------------------------------ */

static void failing_and_hostile_terms_are_left_out(void **state)
{
    static const struct {
        const char *name, *code, *says;
    } bad[] = {
        { "raises", "def term(s):\n    raise ValueError('boom')\n", "ValueError: boom" },
        { "hangs", "def term(s):\n    while True:\n        pass\n", "timeout" },
        { "reads", "def term(s):\n    return float(open(s['path']).read(1) != '')\n",
          "Error" },
        { "dials", "import socket\n"
                   "def term(s):\n"
                   "    socket.create_connection(('1.1.1.1', 80), timeout=1)\n"
                   "    return 1.0\n", "Error" },
        { "forks", "import os\n"
                   "def term(s):\n"
                   "    while True:\n"
                   "        os.fork()\n", "" },
        { "shouts", "def term(s):\n    print('x' * (8 << 20))\n    return 1.0\n",
          "output_limit" },
        { "words", "def term(s):\n    return 'high'\n", "not a number" },
        { "nan", "def term(s):\n    return float('nan')\n", "not a finite number" },
        { "exits", "import os\ndef term(s):\n    os._exit(0)\n", "NoResult" },
    };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_limits l = { 0 };
    struct ad_workflow_variant v;
    char id[AD_ID_SIZE];
    double score = -1, want;

    make_variant(f, f->tenant, id);
    /* The terms get the host path of the store: they must not be able to read it. */
    ad_workflow_variant_init(&v);
    get_variant(f, f->tenant, id, &v);
    json_object_set_new(v.fitness_signals, "path", json_string(f->db.path));
    assert_int_equal(ad_store_variant_update(f->st, &v, &err), 0);
    ad_workflow_variant_release(&v);

    add(f, f->tenant, "good", "def term(s):\n    return 0.25\n", 1.0);
    add(f, f->tenant, "big", "def term(s):\n    return 7\n", 0.5);
    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++)
        add(f, f->tenant, bad[i].name, bad[i].code, 3.0);
    l.wall_ms = 3000;
    assert_int_equal(ad_fitness_terms_apply(f->st, f->bus, sb, f->tenant, id, &l, &score, &err),
                     0);
    /* Only good (0.25, weight 1) and big (7 clamped to 1, weight 0.5) count. */
    want = (0.5 + 1.0 * 0.25 + 0.5 * 1.0) / (1.0 + 1.0 + 0.5);
    assert_near(score, want);
    ad_workflow_variant_init(&v);
    get_variant(f, f->tenant, id, &v);
    assert_near(v.fitness_score, want);
    assert_near(json_number_value(json_object_get(term_entry(&v, "big"), "value")), 1.0);
    assert_near(json_number_value(json_object_get(term_entry(&v, "big"), "clamped_from")), 7.0);
    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        const json_t *e = term_entry(&v, bad[i].name);
        const char *why = ad_json_str(e, "error");

        if (!why || json_object_get(e, "value") || !strstr(why, bad[i].says))
            fail_msg("term %s: %s (want an error saying '%s')", bad[i].name,
                     e ? json_dumps(e, 0) : "no entry", bad[i].says);
    }
    ad_workflow_variant_release(&v);
}

/* `term test`'s call: one term, one run, its value or its error. */
static void run_reports_value_or_error(void **state)
{
    struct ad_fitness_term t[2];
    struct ad_err err = AD_ERR_INIT;
    json_t *sig = json_pack("{s:f}", "latency_ms", 250.0), *out = NULL;

    (void)state;
    memset(t, 0, sizeof(t));
    t[0].name = (char *)"speed";
    t[0].code = (char *)"def term(s):\n    return max(0.0, 1 - s['latency_ms'] / 1000)\n";
    t[1].name = (char *)"missing";
    t[1].code = (char *)"def term(s):\n    return s['nope']\n";
    assert_int_equal(ad_fitness_terms_run(sb, t, 2, sig, NULL, &out, &err), 0);
    assert_near(json_number_value(json_object_get(json_object_get(out, "speed"), "value")),
                0.75);
    assert_non_null(strstr(ad_json_str(json_object_get(out, "missing"), "error"), "KeyError"));
    json_decref(out);
    json_decref(sig);
}

/* ---- AlphaEvolver scores with the terms ------------------------------------- */

/* The parent sleeps `delay` for nothing: the offline number operator halves or doubles it. */
static const char nap_code[] =
    "def nap(n):\n"
    "    \"\"\"Sleep a little, then double n.\"\"\"\n"
    "    import time\n"
    "    # EVOLVE-BLOCK-START\n"
    "    delay = 0.06\n"
    "    # EVOLVE-BLOCK-END\n"
    "    time.sleep(delay)\n"
    "    return n * 2\n";

static void run_nap(struct fx *f, const char *agent, int n)
{
    struct ad_task t = { 0 };
    struct ad_task_outcome o;
    struct ad_err err = AD_ERR_INIT;
    json_t *in = json_pack("{s:i}", "n", n);

    memset(&o, 0, sizeof(o));
    ad_episode_init(&o.episode);
    t.tenant_id = f->tenant;
    t.agent_id = agent;
    t.description = "double a number after a nap";
    t.task_kind = "test.alpha";
    t.skill = "nap";
    t.input = in;
    if (ad_task_run(f->st, f->bus, sb, &t, &o, &err) < 0)
        fail_msg("task run: %s", err.msg);
    ad_task_outcome_release(&o);
    json_decref(in);
}

/*
 * A term that gives every variant 1 with weight 100 lifts every score the
 * job writes by the formula, and wins nothing: the mutants that double the
 * delay still lose and one winner alone waits for review.
 */
static void alpha_scores_with_terms_and_decides_without(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_add sa = { 0 };
    struct ad_skill_version ver = { 0 };
    struct ad_agent a = { 0 };
    struct ad_settings s;
    struct ad_alpha_opts o = { 0 };
    struct ad_alpha_result res;
    struct ad_mutation_filter mf = { 0 };
    struct ad_variant_filter vf = { 0 };
    struct ad_tool_mutation *m = NULL;
    struct ad_workflow_variant *v = NULL;
    size_t nm = 0, nv = 0, pending = 0;
    json_t *p;

    assert_int_equal(ad_agents_add(f->st, f->tenant, "sup", AD_SUPERVISED, &a, &err), 0);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    s.enabled = true;
    s.evolution_mutants = 5;
    s.evolution_repeats = 3;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), 0);
    sa.tenant_id = f->tenant;
    sa.name = "nap";
    sa.entry = "nap";
    sa.code = nap_code;
    sa.origin = AD_ORIGIN_MANUAL;
    if (ad_catalog_add(f->st, &sa, NULL, &ver, &err) < 0)
        fail_msg("catalog add: %s", err.msg);
    run_nap(f, a.id, 1);
    run_nap(f, a.id, 2);
    add(f, f->tenant, "one", "def term(signals):\n    return 1.0\n", 100);
    p = json_pack("{s:s, s:s, s:s}", "skill_version_id", ver.id, "agent_id", a.id, "trigger",
                  "latency");
    o.tenant_id = f->tenant;
    if (ad_alpha_run(f->st, f->bus, sb, NULL, &o, p, &res, &err) < 0)
        fail_msg("alpha run: %s", err.msg);
    json_decref(p);

    vf.limit = 100;
    assert_int_equal(ad_variants_list(f->st, f->tenant, &vf, &v, &nv, &err), 0);
    assert_true(nv >= 2);
    for (size_t i = 0; i < nv; i++) {
        const json_t *terms = json_object_get(v[i].fitness_signals, "terms");
        double b = json_number_value(json_object_get(terms, "builtin"));

        assert_non_null(terms);
        assert_near(json_number_value(json_object_get(term_entry(&v[i], "one"), "value")), 1.0);
        assert_near(v[i].fitness_score, round((b + 100.0) / 101.0 * 1e9) / 1e9);
    }
    ad_workflow_variant_list_free(v, nv);

    mf.status = -1;
    mf.review_status = -2;
    mf.decision = -2;
    mf.limit = 100;
    assert_int_equal(ad_mutations_list(f->st, f->tenant, &mf, &m, &nm, &err), 0);
    assert_int_equal(nm, 5);
    for (size_t i = 0; i < nm; i++) {
        pending += m[i].review_status == AD_REVIEW_PENDING;
        if (strstr(m[i].mutated_code, "delay = 0.12") || !strstr(m[i].mutated_code, "delay ="))
            assert_int_equal(m[i].decision, AD_DECISION_LOST);
    }
    assert_int_equal(pending, 1);
    assert_false(res.promoted);
    ad_tool_mutation_list_free(m, nm);
    ad_skill_version_release(&ver);
    ad_agent_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blend_is_the_weighted_mean),
        cmocka_unit_test_setup_teardown(add_list_show_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_terms_are_refused_and_nothing_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(two_terms_move_the_score_by_the_formula, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(another_tenants_terms_do_not_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_and_hostile_terms_are_left_out, setup,
                                        teardown),
        cmocka_unit_test(run_reports_value_or_error),
        cmocka_unit_test_setup_teardown(alpha_scores_with_terms_and_decides_without, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
