/*
 * AlphaEvolver's evaluation (src/learn/evaluate.c, testset.c) and what it
 * stands on: the harness's own timing of a skill (call_us, load_us), the
 * token usage of a recorded execution, the episodes of one skill version.
 *
 * The decision is pure and tested on sides built by hand, one test per
 * rule; the evaluation runs real code in a real sandbox (the backend
 * $AUTODEV_SANDBOX names, else auto), with skills whose speed differs by
 * far more than any machine's noise, so that no test hangs on a timing.
 *
 * Sections:
 *   fixture and helpers
 *   statistics and equality
 *   the decision (pure)
 *   the harness's timing
 *   token usage of executions
 *   the test set
 *   the evaluation in the sandbox
 *   the lease
 */
#include "compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/evaluate.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/topics.h"
#include "store/sqlite/sqlite.h"

#include "tmpdb.h"

static struct ad_sandbox *sb;

/* ---- fixture and helpers ------------------------------------------------------- */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
};

static int group_setup(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    const char *b = getenv("AUTODEV_SANDBOX");

    (void)state;
    o.slots = 1;
    o.quiet = true;
    if (b && *b && ad_sb_backend_parse(b, &o.backend, &err) < 0) {
        fprintf(stderr, "AUTODEV_SANDBOX: %s\n", err.msg);
        return -1;
    }
    if (ad_sandbox_new(&o, &sb, &err) < 0) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        return -1;
    }
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
    struct ad_agent a = { 0 };
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "evaluate");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", f->tenant);
    a.name = (char *)"bot";
    a.maturity = AD_SUPERVISED;
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

static void assert_has(const char *text, const char *substr)
{
    if (!text || !strstr(text, substr))
        fail_msg("'%s' lacks '%s'", text ? text : "(null)", substr);
}

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad JSON in a test: %s: %s", text, e.text);
    return v;
}

/* ---- statistics and equality ------------------------------------------------- */

static void test_stats(void **state)
{
    const double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, spread[] = { 1, 2, 3, 4, 100 };

    (void)state;
    assert_true(ad_stat_median(odd, 3) == 3);
    assert_true(odd[0] == 5);   /* not sorted in place */
    assert_true(ad_stat_median(even, 4) == 2.5);
    assert_true(ad_stat_mad(odd, 3) == 2);
    /* One wild value moves neither the median nor the MAD much. */
    assert_true(ad_stat_median(spread, 5) == 3);
    assert_true(ad_stat_mad(spread, 5) == 1);
    assert_true(isnan(ad_stat_median(odd, 0)));
    assert_true(isnan(ad_stat_mad(odd, 0)));
}

static void test_outputs_equal(void **state)
{
    static const struct {
        const char *a, *b;
        bool equal;
    } cases[] = {
        { "1", "1", true },
        { "1", "1.0", false },                  /* the type is kept */
        { "1", "\"1\"", false },
        { "1.5", "1.5", true },
        { "{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", true },   /* key order */
        { "{\"a\":1}", "{\"a\":1,\"b\":2}", false },
        { "[1,2]", "[2,1]", false },
        { "[1,[2,{\"x\":1.0}]]", "[1,[2,{\"x\":1}]]", false },      /* deep type change */
        { "null", "null", true },
        { "null", "false", false },
        { "true", "true", true },
        { "\"a\"", "\"a\"", true },
        { "\"a\"", "\"b\"", false },
    };
    json_t *inf;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *a = js(cases[i].a), *b = js(cases[i].b);

        if (ad_alpha_outputs_equal(a, b) != cases[i].equal ||
            ad_alpha_outputs_equal(b, a) != cases[i].equal)
            fail_msg("%s vs %s: expected %s", cases[i].a, cases[i].b,
                     cases[i].equal ? "equal" : "different");
        json_decref(a);
        json_decref(b);
    }
    /* No output equals nothing, not even no output. */
    assert_false(ad_alpha_outputs_equal(NULL, NULL));
    assert_false(ad_alpha_outputs_equal(json_null(), NULL));
    /* A real that is not finite (jansson refuses to make one; this is the check if it did not). */
    inf = json_real(1.0);
    assert_non_null(inf);
    if (json_real_set(inf, INFINITY) == 0)
        assert_false(ad_alpha_outputs_equal(inf, inf));
    json_decref(inf);
}

/* ---- the decision (pure) ---------------------------------------------------------- */

/*
 * A side as evaluated: every case stable and passed, its output the case
 * number, a latency median and MAD (us) and the same for cpu (ms).
 */
static void hand_side(struct ad_eval_side *s, size_t ncases, int repeats, double lat, double lat_mad)
{
    memset(s, 0, sizeof(*s));
    s->syntax_ok = true;
    s->execution_success = true;
    s->repeats = repeats;
    s->ncases = ncases;
    s->runs = (int)ncases * repeats;
    s->cases = calloc(ncases, sizeof(*s->cases));
    s->outputs = json_array();
    s->errors = json_array();
    assert_non_null(s->cases);
    for (size_t c = 0; c < ncases; c++) {
        s->cases[c].runs = repeats;
        s->cases[c].stable = true;
        s->cases[c].match_parent = 1;
        s->cases[c].match_expected = -1;
        json_array_append_new(s->outputs, json_integer((json_int_t)c));
    }
    s->match_parent = s->output_match_rate = 1.0;
    s->match_expected = NAN;
    s->latency_median_us = lat;
    s->latency_mad_us = lat_mad;
    s->cpu_median_ms = lat / 1000.0;
    s->cpu_mad_ms = lat_mad / 1000.0;
    s->failure_rate_mad = 0;
}

/* Case c of s failed in every repeat. */
static void fail_case(struct ad_eval_side *s, size_t c, const char *error)
{
    s->cases[c].failures = s->cases[c].runs;
    s->cases[c].stable = false;
    s->failures += s->cases[c].runs;
    s->execution_success = false;
    json_array_set_new(s->outputs, c, json_null());
    if (error)
        json_array_append_new(s->errors, json_string(error));
}

static const struct ad_decide_opts latency10 = { AD_GOAL_LATENCY, 0.10, 3.0 };

static void decide(const struct ad_eval_side *p, const struct ad_eval_side *m,
                   const struct ad_decide_opts *o, struct ad_alpha_decision *d)
{
    ad_alpha_decide(p, m, o, d);
    assert_true(strlen(d->reason) > 0);
}

static void test_decide_wins_clear_gain(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    decide(&p, &m, &latency10, &d);
    assert_true(d.won);
    assert_true(fabs(d.gain - (1.0 - 3000.0 / 90000.0)) < 1e-9);
    assert_true(fabs(d.noise - 0.01) < 1e-9);
    assert_has(d.reason, "won");
    assert_has(d.reason, "latency");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_invalid_options(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;
    struct ad_decide_opts o = latency10;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    o.min_gain = -0.1;
    decide(&p, &m, &o, &d);
    assert_false(d.won);
    assert_has(d.reason, "invalid decision options");
    o = latency10;
    o.noise_k = NAN;
    decide(&p, &m, &o, &d);
    assert_false(d.won);
    o = latency10;
    o.goal = (enum ad_alpha_goal)7;
    decide(&p, &m, &o, &d);
    assert_false(d.won);
    ad_alpha_decide(&p, &m, NULL, &d);
    assert_false(d.won);
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_not_evaluated_together(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 2, 3, 3000, 100);
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "not evaluated together");
    ad_eval_side_release(&m);
    memset(&m, 0, sizeof(m));   /* no cases at all */
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    ad_eval_side_release(&p);
}

static void test_decide_does_not_load(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, NAN, NAN);
    m.syntax_ok = false;
    for (size_t c = 0; c < 3; c++)
        fail_case(&m, c, c ? NULL : "SyntaxError: invalid syntax");
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "does not load");
    assert_has(d.reason, "SyntaxError");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_a_failed_run_loses(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    m.cases[2].failures = 1;   /* one repeat of one case */
    m.cases[2].stable = false;
    m.failures = 1;
    m.execution_success = false;
    json_array_append_new(m.errors, json_string("ValueError: math domain error"));
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "1 of 9 runs failed");
    assert_has(d.reason, "ValueError");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_output_differs(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    json_array_set_new(p.outputs, 1, json_integer(6));
    json_array_set_new(m.outputs, 1, json_integer(7));
    m.cases[1].match_parent = 0;
    m.match_parent = m.output_match_rate = 2.0 / 3.0;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "differs from the parent's on case 1");
    assert_has(d.reason, "7, the parent's 6");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_output_unstable(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    m.cases[0].stable = false;
    m.cases[0].match_parent = 0;
    m.match_parent = m.output_match_rate = 2.0 / 3.0;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "not the same in every repeat on case 0");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_expected_differs(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    /* The parent was unstable on case 2: out of the parent match, not the expected one. */
    p.cases[2].stable = false;
    p.unstable_cases = 1;
    m.cases[2].match_parent = -1;
    m.cases[2].match_expected = 0;
    m.match_expected = 0.0;
    m.output_match_rate = 0.0;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "differs from the expected one on case 2");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_unstable_parent_case_left_out(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 3000, 100);
    p.cases[0].stable = false;
    p.unstable_cases = 1;
    m.cases[0].match_parent = -1;
    decide(&p, &m, &latency10, &d);
    assert_true(d.won);
    assert_has(d.reason, "1 case(s) where the parent was unstable left out");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_nothing_to_check(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 2, 3, 90000, 900);
    hand_side(&m, 2, 3, 3000, 100);
    for (size_t c = 0; c < 2; c++) {
        p.cases[c].stable = false;
        m.cases[c].match_parent = -1;
    }
    m.match_parent = m.output_match_rate = NAN;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "no case to check its outputs on");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_too_few_repeats(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 1, 90000, 0);
    hand_side(&m, 3, 1, 3000, 0);
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "measure no noise");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_gain_below_minimum(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    hand_side(&p, 3, 5, 100000, 100);
    hand_side(&m, 3, 5, 95000, 100);   /* 5%, far above its noise, below 10% */
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_true(fabs(d.gain - 0.05) < 1e-9);
    assert_has(d.reason, "gain 5.0%");
    assert_has(d.reason, "minimum of 10.0%");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_gain_inside_noise(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    /* A parent with jitter: 20% gain, but its passes stray 10% from each other. */
    hand_side(&p, 3, 5, 100000, 10000);
    hand_side(&m, 3, 5, 80000, 500);
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_true(fabs(d.gain - 0.20) < 1e-9);
    assert_true(fabs(d.noise - 0.10) < 1e-9);
    assert_has(d.reason, "noise 10.0%");
    /* The mutant's own jitter counts the same. */
    p.latency_mad_us = 500;
    m.latency_mad_us = 10000;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    /* With the noise at 5% the same gain clears 3 x noise. */
    m.latency_mad_us = 5000;
    decide(&p, &m, &latency10, &d);
    assert_true(d.won);
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

/*
 * The rank test: a loaded machine's wide noise (a MAD of 40% of the
 * parent's median) hides a 60% gain from k x noise, but when every one of
 * 6 or more mutant repeats beat every parent repeat, the mutant wins, and
 * says why; one repeat overlapping, too few repeats, or a gain under the
 * minimum still lose.
 */
static void test_decide_separated_wins_through_wide_noise(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;
    struct ad_decide_opts cost = { AD_GOAL_COST, 0.10, 3.0 };

    (void)state;
    hand_side(&p, 3, 7, 100000, 40000);
    hand_side(&m, 3, 7, 40000, 20000);
    p.latency_min_us = 70000, p.latency_max_us = 190000;
    m.latency_min_us = 30000, m.latency_max_us = 65000;
    decide(&p, &m, &latency10, &d);
    assert_true(d.won);
    assert_true(d.separated);
    assert_true(d.gain <= latency10.noise_k * d.noise);
    assert_has(d.reason, "won: same outputs; latency");
    assert_has(d.reason, "each of 7 mutant repeats beat each of 7 parent repeats");
    /* One mutant repeat slower than the parent's fastest: the noise decides, and it loses. */
    m.latency_max_us = 71000;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_false(d.separated);
    assert_has(d.reason, "noise 40.0%");
    /* Separated, but 5 repeats: 1 in 252 by chance is not enough alone. */
    m.latency_max_us = 65000;
    p.repeats = m.repeats = 5;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_false(d.separated);
    /* Separated with 6 repeats, but under the minimum gain. */
    p.repeats = m.repeats = 6;
    m.latency_median_us = 95000;
    decide(&p, &m, &latency10, &d);
    assert_false(d.won);
    assert_true(d.separated);
    /* Cost reads the cpu sums the same way. */
    p.cpu_min_ms = 70, p.cpu_max_ms = 190;
    m.cpu_min_ms = 30, m.cpu_max_ms = 65;
    m.cpu_median_ms = 40;
    decide(&p, &m, &cost, &d);
    assert_true(d.won);
    assert_has(d.reason, "won: same outputs; cost");
    m.cpu_max_ms = 75;
    decide(&p, &m, &cost, &d);
    assert_false(d.won);
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_decide_cost(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;
    struct ad_decide_opts o = { AD_GOAL_COST, 0.10, 3.0 };

    (void)state;
    hand_side(&p, 3, 3, 90000, 900);
    hand_side(&m, 3, 3, 90000, 900);   /* no faster */
    m.cpu_median_ms = 30;              /* but a third of the CPU */
    m.cpu_mad_ms = 1;
    decide(&p, &m, &o, &d);
    assert_true(d.won);
    assert_true(fabs(d.gain - (1.0 - 30.0 / 90.0)) < 1e-9);
    assert_has(d.reason, "cost");
    /* A parent that used no measurable CPU leaves nothing to gain on. */
    p.cpu_median_ms = 0;
    decide(&p, &m, &o, &d);
    assert_false(d.won);
    assert_has(d.reason, "no cost measured");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static const struct ad_decide_opts reliability10 = { AD_GOAL_RELIABILITY, 0.10, 3.0 };

static void test_decide_reliability(void **state)
{
    struct ad_eval_side p, m;
    struct ad_alpha_decision d;

    (void)state;
    /* The parent fails cases 1 and 2; the mutant passes case 1, still fails case 2. */
    hand_side(&p, 4, 3, 90000, 900);
    hand_side(&m, 4, 3, 90000, 900);
    fail_case(&p, 1, "KeyError: 'x'");
    fail_case(&p, 2, "KeyError: 'x'");
    fail_case(&m, 2, "KeyError: 'x'");
    for (size_t c = 1; c <= 2; c++)
        m.cases[c].match_parent = -1;
    m.cases[2].match_expected = 0;   /* judged by the failure counts, not its output */
    decide(&p, &m, &reliability10, &d);
    assert_true(d.won);
    assert_true(fabs(d.gain - 0.25) < 1e-9);   /* 6/12 - 3/12 */
    assert_has(d.reason, "reliability");

    /* A case it newly passes must give the expected output when one is known. */
    m.cases[1].match_expected = 0;
    decide(&p, &m, &reliability10, &d);
    assert_false(d.won);
    assert_has(d.reason, "expected one on case 1");
    m.cases[1].match_expected = 1;

    /* No failure where the parent had none. */
    m.cases[0].failures = 1;
    m.failures += 1;
    decide(&p, &m, &reliability10, &d);
    assert_false(d.won);
    assert_has(d.reason, "case 0, which the parent always passed");
    m.cases[0].failures = 0;
    m.failures -= 1;

    /* Not fewer failures in all. */
    fail_case(&m, 1, NULL);
    decide(&p, &m, &reliability10, &d);
    assert_false(d.won);
    assert_has(d.reason, "not fewer");

    /* Flaky failures: a gain inside the spread of the failure rates loses. */
    m.cases[1].failures = 0;
    m.failures = 3;
    p.failure_rate_mad = 0.25;
    decide(&p, &m, &reliability10, &d);
    assert_false(d.won);
    assert_has(d.reason, "noise 25.0%");
    ad_eval_side_release(&p);
    ad_eval_side_release(&m);
}

static void test_side_json(void **state)
{
    struct ad_eval_side s;
    json_t *j;
    static const char *const keys[] = {
        "syntax_error", "execution_success", "runs", "failures", "match_parent",
        "match_expected", "output_match_rate", "latency_median_us", "latency_mad_us",
        "cpu_median_ms", "output_tokens", "errors",
    };

    (void)state;
    hand_side(&s, 2, 3, 1500, 10);
    s.output_tokens = 3;
    j = ad_eval_side_json(&s);
    assert_non_null(j);
    for (size_t i = 0; i < AD_ARRAY_SIZE(keys); i++)
        if (!json_object_get(j, keys[i]))
            fail_msg("side JSON lacks %s", keys[i]);
    assert_int_equal(json_object_size(j), AD_ARRAY_SIZE(keys));
    assert_true(json_is_false(json_object_get(j, "syntax_error")));
    assert_true(json_is_null(json_object_get(j, "match_expected")));   /* NAN */
    assert_int_equal(json_integer_value(json_object_get(j, "runs")), 6);
    assert_true(json_real_value(json_object_get(j, "latency_median_us")) == 1500);
    json_decref(j);
    ad_eval_side_release(&s);
    ad_eval_side_release(NULL);
    assert_string_equal(ad_alpha_goal_name(AD_GOAL_RELIABILITY), "reliability");
}

/* ---- the harness's timing ---------------------------------------------------------- */

static void run_code(const char *code, const char *entry, const char *input,
                     struct ad_sandbox_result *r)
{
    struct ad_sandbox_spec spec;
    struct ad_err err = AD_ERR_INIT;

    memset(&spec, 0, sizeof(spec));
    spec.code = code;
    spec.entry = entry;
    spec.input_json = input;
    spec.limits.wall_ms = 10000;
    if (ad_sandbox_run(sb, &spec, r, &err) != 0)
        fail_msg("ad_sandbox_run: %s", err.msg);
}

static void test_call_us(void **state)
{
    struct ad_sandbox_result r;
    json_t *j;

    (void)state;
    /* The call alone: >= the sleep, < the whole run (which has the interpreter's start). */
    run_code("import time\nX = sum(range(200000))\n"
             "def f(x):\n    time.sleep(0.05)\n    return x\n", "f", "3", &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_true(r.call_us >= 50000);
    assert_true(r.call_us < r.wall_ms * 1000);
    assert_true(r.load_us >= 0);
    assert_true(r.load_us + r.call_us < r.wall_ms * 1000);
    /* They travel with the result's JSON form. */
    j = ad_sandbox_result_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "call_us")), r.call_us);
    json_decref(j);
    ad_sandbox_result_clear(&r);

    /*
     * A skill cannot forge them: a line it prints on stdout, or a clock it
     * replaces, changes neither; a raise still times the call.
     */
    run_code("import time\n"
             "def f(x):\n    time.sleep(0.05)\n"
             "    print('{\"ok\": true, \"output\": 1, \"call_us\": 1, \"load_us\": 1}')\n"
             "    time.perf_counter_ns = lambda: 0\n"
             "    raise ValueError('no')\n", "f", "3", &r);
    assert_int_equal(r.status, AD_SB_ERROR);
    assert_true(r.call_us >= 50000);
    ad_sandbox_result_clear(&r);

    /* A line of its own on the harness's channel: refused, and no timing kept. */
    run_code("import os\n"
             "def f(x):\n    os.write(3, b'{\"ok\":true,\"output\":1,\"call_us\":1}\\n')\n"
             "    return x\n", "f", "3", &r);
    assert_int_equal(r.status, AD_SB_ERROR);
    assert_string_equal(json_string_value(json_object_get(r.error, "type")), "BadResult");
    assert_true(r.call_us == -1 && r.load_us == -1);
    ad_sandbox_result_clear(&r);

    /* A run that never returned has no call time. */
    run_code("def f(x):\n    return x\nfoo(\n", "f", "3", &r);
    assert_int_equal(r.status, AD_SB_ERROR);
    assert_true(r.call_us == -1);
    ad_sandbox_result_clear(&r);
}

/* ---- token usage of executions ------------------------------------------------------- */

/* A catalog skill "double" (x * 2), its current version into v. */
static void add_skill(struct fx *f, struct ad_skill *s, struct ad_skill_version *v)
{
    struct ad_skill_add a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    a.tenant_id = f->tenant;
    a.name = "double";
    a.entry = "double";
    a.code = "def double(x):\n    return x * 2\n";
    a.origin = AD_ORIGIN_MANUAL;
    if (ad_catalog_add(f->st, &a, s, v, &err) < 0)
        fail_msg("catalog add: %s", err.msg);
}

/* Records an execution of v on input (text) that gave output (text; NULL: it failed). */
static void record_execution(struct fx *f, const struct ad_skill *s,
                             const struct ad_skill_version *v, const char *input,
                             const char *output, int64_t tokens, char id[AD_ID_SIZE])
{
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;
    json_t *in = input ? js(input) : NULL;

    memset(&r, 0, sizeof(r));
    r.status = output ? AD_SB_OK : AD_SB_ERROR;
    r.output = output ? js(output) : NULL;
    r.error = output ? NULL : json_pack("{s:s, s:s, s:s}", "type", "ValueError", "message",
                                        "bad", "traceback", "");
    r.wall_ms = 40;
    if (ad_skill_execution_record(f->st, f->bus, s, v, f->agent, NULL, in, &r, tokens, id,
                                  &err) < 0)
        fail_msg("record execution: %s", err.msg);
    json_decref(in);
    ad_sandbox_result_clear(&r);
}

static void test_execution_token_usage(void **state)
{
    struct fx *f = *state;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_skill_execution *xs = NULL;
    struct ad_event *ev = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0, nev = 0;
    char id[AD_ID_SIZE];

    add_skill(f, &s, &v);
    record_execution(f, &s, &v, "1", "2", 1234, id);
    record_execution(f, &s, &v, "2", "4", INT64_C(5000000000), id);   /* capped */
    record_execution(f, &s, &v, "3", "6", -7, id);                     /* taken as 0 */
    assert_int_equal(ad_skill_executions_list(f->st, f->tenant, v.id, 0, &xs, &n, &err), 0);
    assert_int_equal(n, 3);
    /* Newest first. */
    assert_int_equal(xs[0].token_usage, 0);
    assert_true(xs[1].token_usage == AD_EPISODE_TOKENS_MAX);
    assert_int_equal(xs[2].token_usage, 1234);
    ad_skill_execution_list_free(xs, n);

    assert_int_equal(ad_events_since(f->st, f->tenant, 0, AD_TOPIC_SKILL_EXECUTION, 0, &ev,
                                     &nev, &err), 0);
    assert_int_equal(nev, 3);
    assert_int_equal(json_integer_value(json_object_get(ev[0].payload, "token_usage")), 1234);
    assert_int_equal(ad_topic_check(ev[0].topic, ev[0].payload, &err), 0);
    ad_event_list_free(ev, nev);

    /* A version is required; another tenant's has none. */
    assert_int_equal(ad_skill_executions_list(f->st, f->tenant, NULL, 0, &xs, &n, &err),
                     AD_EINVAL);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
}

/* ---- the test set ---------------------------------------------------------------------- */

/* An episode of the agent that ran v (or no version) on input, with expected (NULL: none). */
static void record_episode(struct fx *f, const struct ad_skill_version *v, const char *input,
                           const char *expected, const char *output, bool success)
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;

    ad_episode_init(&ep);
    snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", f->tenant);
    snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", f->agent);
    ep.task_description = strdup("double a number");
    ep.input = input ? js(input) : NULL;
    ep.expected = expected ? js(expected) : NULL;
    ep.output = output ? js(output) : NULL;
    ep.success = success;
    if (!success)
        ep.error_trace = strdup("ValueError: bad");
    ep.skill_version_id = v ? strdup(v->id) : NULL;
    if (ad_episode_record(f->st, f->bus, &ep, &err) < 0)
        fail_msg("record episode: %s", err.msg);
    ad_episode_release(&ep);
}

static const json_t *case_get(const json_t *set, size_t i, const char *key)
{
    return json_object_get(json_array_get(set, i), key);
}

static void assert_json(const json_t *v, const char *text)
{
    json_t *want = js(text);

    if (!v || !json_equal((json_t *)v, want)) {
        char *got = v ? ad_json_dumps_flags(v, JSON_ENCODE_ANY) : NULL;

        fail_msg("got %s, expected %s", got ? got : "(nothing)", text);
    }
    json_decref(want);
}

static void test_test_set(void **state)
{
    struct fx *f = *state;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_err err = AD_ERR_INIT;
    json_t *set = NULL, *again = NULL;
    char big[AD_ALPHA_INPUT_MAX + 64], x1[AD_ID_SIZE], x2[AD_ID_SIZE], x5[AD_ID_SIZE];
    int skipped = -1;

    add_skill(f, &s, &v);
    /* Oldest first: */
    record_episode(f, &v, "{\"a\": 1, \"b\": 2}", "{\"r\": 6}", NULL, false);   /* expected */
    record_episode(f, &v, "{\"a\": 1, \"b\": 2}", "{\"r\": 999}", NULL, false); /* newer wins */
    record_episode(f, NULL, "{\"z\": 0}", "0", "0", true);                     /* another version */
    record_execution(f, &s, &v, "{\"b\": 2, \"a\": 1}", NULL, 0, x1);          /* same input */
    record_execution(f, &s, &v, "1", "2", 0, x2);
    record_execution(f, &s, &v, "1.0", "2.0", 0, x1);                          /* distinct */
    snprintf(big, sizeof(big), "\"%0*d\"", AD_ALPHA_INPUT_MAX, 7);
    record_execution(f, &s, &v, big, "1", 0, x1);                               /* skipped */
    record_execution(f, &s, &v, "1", "2", 0, x5);                               /* duplicate */
    record_episode(f, &v, "null", NULL, "0", true);

    assert_int_equal(ad_alpha_test_set(f->st, f->tenant, v.id, 10, &set, &skipped, &err), 0);
    assert_int_equal(skipped, 1);
    /* Newest first: null (episode), 1 (newest record x5), 1.0, the object. */
    assert_int_equal(json_array_size(set), 4);
    assert_json(case_get(set, 0, "input"), "null");
    assert_string_equal(json_string_value(case_get(set, 0, "source")), "episode");
    assert_json(case_get(set, 0, "parent_output"), "0");
    assert_null(case_get(set, 0, "expected"));
    assert_json(case_get(set, 1, "input"), "1");
    assert_string_equal(json_string_value(case_get(set, 1, "source_id")), x5);
    assert_json(case_get(set, 1, "parent_output"), "2");
    assert_json(case_get(set, 2, "input"), "1.0");
    assert_true(json_is_real(case_get(set, 2, "input")));
    /* The object: recorded by a failed execution, its expected from the newest episode. */
    assert_json(case_get(set, 3, "input"), "{\"a\": 1, \"b\": 2}");
    assert_json(case_get(set, 3, "expected"), "{\"r\": 999}");
    assert_string_equal(json_string_value(case_get(set, 3, "source")), "episode");
    assert_null(case_get(set, 3, "parent_output"));

    /* The same store gives the same set. */
    assert_int_equal(ad_alpha_test_set(f->st, f->tenant, v.id, 10, &again, NULL, &err), 0);
    assert_true(json_equal(set, again));
    json_decref(again);
    json_decref(set);

    /* The cap: the newest inputs. */
    assert_int_equal(ad_alpha_test_set(f->st, f->tenant, v.id, 2, &set, NULL, &err), 0);
    assert_int_equal(json_array_size(set), 2);
    assert_json(case_get(set, 0, "input"), "null");
    assert_json(case_get(set, 1, "input"), "1");
    json_decref(set);

    /* Refusals. */
    assert_int_equal(ad_alpha_test_set(f->st, f->tenant, v.id, 0, &set, NULL, &err), AD_EINVAL);
    assert_null(set);
    assert_int_equal(ad_alpha_test_set(f->st, f->tenant, "nope", 5, &set, NULL, &err), AD_EINVAL);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
}

static void test_test_set_empty_and_plan(void **state)
{
    struct fx *f = *state;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_filter flt = AD_EPISODE_FILTER_INIT;
    json_t *set = NULL;
    char *plan = NULL;
    int skipped = -1;

    add_skill(f, &s, &v);
    assert_int_equal(ad_alpha_test_set(f->st, f->tenant, v.id, 5, &set, &skipped, &err), 0);
    assert_int_equal(json_array_size(set), 0);
    assert_int_equal(skipped, 0);
    json_decref(set);
    /* A version's episodes are found by its index, not by walking the tenant's. */
    flt.skill_version_id = v.id;
    assert_int_equal(ad__sqlite_explain_episode_list(f->st, f->tenant, &flt, &plan, &err), 0);
    assert_has(plan, "ix_episodes_skill_version");
    free(plan);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
}

/* ---- the evaluation in the sandbox ------------------------------------------------------- */

/* What on_run saw: every run in order. */
struct trace {
    int n;
    struct ad_eval_run runs[512];
    char status[512][16];
    int last_done, last_total;
};

static void on_run(void *ctx, const struct ad_eval_run *run)
{
    struct trace *t = ctx;

    if (t->n < (int)AD_ARRAY_SIZE(t->runs)) {
        t->runs[t->n] = *run;
        t->runs[t->n].result = NULL;
        snprintf(t->status[t->n], sizeof(t->status[0]), "%s",
                 run->result ? ad_sb_status_name(run->result->status) : "skipped");
    }
    t->n++;
}

static void on_progress(void *ctx, int done, int total)
{
    struct trace *t = ctx;

    assert_true(done == t->last_done + 1);
    t->last_done = done;
    t->last_total = total;
}

/* The cases for inputs 1..n (no expected outputs). */
static json_t *cases_1_to(int n)
{
    json_t *set = json_array();

    for (int i = 1; i <= n; i++)
        json_array_append_new(set, json_pack("{s:i}", "input", i));
    return set;
}

static struct ad_eval_side sides[8];

/* Evaluates parent against n mutants; the sides go to sides[0] (parent) and on. */
static void evaluate(const char *parent, const char *const *mutants, size_t n, const json_t *set,
                     int repeats, int64_t wall_ms, struct trace *t)
{
    struct ad_sandbox_limits lim = { 0 };
    struct ad_eval_opts o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    lim.wall_ms = wall_ms;
    lim.cpu_ms = 20000;
    o.repeats = repeats;
    o.limits = &lim;
    o.on_run = on_run;
    o.progress = on_progress;
    o.progress_ctx = t;
    memset(t, 0, sizeof(*t));
    if (ad_alpha_evaluate(sb, "f", parent, mutants, n, set, &o, &sides[0], &sides[1], &err) < 0)
        fail_msg("ad_alpha_evaluate: %s", err.msg);
    assert_int_equal(t->last_done, t->last_total);
    assert_int_equal(t->n, t->last_total);
}

static void release_sides(void)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(sides); i++)
        ad_eval_side_release(&sides[i]);
}

#define SLOW_DOUBLE "import time\ndef f(x):\n    time.sleep(0.03)\n    return x * 2\n"
#define FAST_DOUBLE "import time\ndef f(x):\n    time.sleep(0.001)\n    return x * 2\n"

static struct trace tr;

static void test_faster_correct_mutant_wins(void **state)
{
    const char *mutants[] = { FAST_DOUBLE };
    json_t *set = cases_1_to(3);
    struct ad_alpha_decision d;

    (void)state;
    evaluate(SLOW_DOUBLE, mutants, 1, set, 3, 10000, &tr);
    assert_true(sides[0].syntax_ok && sides[0].execution_success);
    assert_true(sides[1].syntax_ok && sides[1].execution_success);
    assert_int_equal(sides[1].runs, 9);
    assert_int_equal(sides[1].failures, 0);
    assert_true(sides[0].match_parent == 1.0);   /* the parent is stable */
    assert_true(sides[1].match_parent == 1.0);
    assert_true(isnan(sides[1].match_expected));
    assert_true(sides[1].output_match_rate == 1.0);
    assert_json(sides[1].outputs, "[2, 4, 6]");
    assert_true(sides[0].latency_median_us >= 3 * 30000);
    assert_true(sides[1].latency_median_us < sides[0].latency_median_us);
    assert_int_equal(sides[1].output_tokens, 1);   /* "2" "4" "6": 3 bytes, ceil(3 / 4) */
    ad_alpha_decide(&sides[0], &sides[1], &latency10, &d);
    if (!d.won)
        fail_msg("a mutant 30x faster lost: %s", d.reason);
    assert_true(d.gain > 0.5);
    release_sides();
    json_decref(set);
}

static void test_faster_wrong_mutant_loses(void **state)
{
    /* Faster, and wrong on the second case only. */
    const char *mutants[] = { "def f(x):\n    return 5 if x == 2 else x * 2\n" };
    json_t *set = cases_1_to(3);
    struct ad_alpha_decision d;

    (void)state;
    evaluate(SLOW_DOUBLE, mutants, 1, set, 3, 10000, &tr);
    assert_true(sides[1].execution_success);
    assert_int_equal(sides[1].cases[1].match_parent, 0);
    assert_int_equal(sides[1].cases[0].match_parent, 1);
    assert_true(fabs(sides[1].match_parent - 2.0 / 3.0) < 1e-9);
    ad_alpha_decide(&sides[0], &sides[1], &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "case 1: 5, the parent's 4");
    release_sides();
    json_decref(set);
}

static void test_expected_output_checked(void **state)
{
    /* Parent and mutant agree; the recorded expected output says both are wrong on 2. */
    const char *mutants[] = { FAST_DOUBLE };
    json_t *set = js("[{\"input\": 1, \"expected\": 2}, {\"input\": 2, \"expected\": 5},"
                     " {\"input\": 3}]");
    struct ad_alpha_decision d;

    (void)state;
    evaluate(SLOW_DOUBLE, mutants, 1, set, 3, 10000, &tr);
    assert_true(sides[1].match_parent == 1.0);
    assert_true(sides[1].match_expected == 0.5);
    assert_true(sides[1].output_match_rate == 0.5);
    assert_int_equal(sides[1].cases[2].match_expected, -1);
    ad_alpha_decide(&sides[0], &sides[1], &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "expected one on case 1");
    release_sides();
    json_decref(set);
}

static void test_identical_code_loses(void **state)
{
    const char *mutants[] = { SLOW_DOUBLE };
    json_t *set = cases_1_to(3);
    struct ad_alpha_decision d;

    (void)state;
    evaluate(SLOW_DOUBLE, mutants, 1, set, 5, 10000, &tr);
    ad_alpha_decide(&sides[0], &sides[1], &latency10, &d);
    if (d.won)
        fail_msg("the same code won against itself: %s", d.reason);
    assert_true(isfinite(d.gain) && isfinite(d.noise));
    assert_true(d.gain < latency10.min_gain || d.gain <= latency10.noise_k * d.noise);
    release_sides();
    json_decref(set);
}

static void test_unstable_outputs(void **state)
{
    /* A parent whose output changes from run to run, a mutant likewise. */
    const char *random = "import random\ndef f(x):\n    return x + random.random()\n";
    const char *mutants[] = { random, FAST_DOUBLE };
    json_t *set = cases_1_to(2);
    struct ad_alpha_decision d;

    (void)state;
    evaluate(random, mutants, 2, set, 3, 10000, &tr);
    /* The parent against itself: stable on no case. */
    assert_true(sides[0].execution_success);
    assert_true(sides[0].match_parent == 0.0);
    assert_int_equal(sides[0].unstable_cases, 2);
    for (int m = 1; m <= 2; m++)
        for (int c = 0; c < 2; c++)
            assert_int_equal(sides[m].cases[c].match_parent, -1);
    assert_false(sides[1].cases[0].stable);
    assert_true(sides[2].cases[0].stable);
    /* Nothing shows the mutant right: no stable parent case, no expected output. */
    ad_alpha_decide(&sides[0], &sides[2], &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "no case to check");
    release_sides();
    json_decref(set);
}

static void test_nan_and_type_change_lose(void **state)
{
    const char *mutants[] = {
        "def f(x):\n    return float('nan')\n",
        "def f(x):\n    return float(x * 2)\n",      /* 2.0 where the parent gives 2 */
    };
    json_t *set = cases_1_to(2);
    struct ad_alpha_decision d;

    (void)state;
    evaluate(SLOW_DOUBLE, mutants, 2, set, 3, 10000, &tr);
    /* NaN: the harness refuses it, so every run failed. */
    assert_false(sides[1].execution_success);
    assert_int_equal(sides[1].failures, 6);
    assert_has(json_string_value(json_array_get(sides[1].errors, 0)), "not JSON");
    ad_alpha_decide(&sides[0], &sides[1], &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "6 of 6 runs failed");
    /* The type change: ran fine, but 2.0 is not 2. */
    assert_true(sides[2].execution_success);
    assert_true(sides[2].match_parent == 0.0);
    ad_alpha_decide(&sides[0], &sides[2], &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "case 0: 2.0, the parent's 2");
    release_sides();
    json_decref(set);
}

static void test_syntax_error_not_run(void **state)
{
    const char *mutants[] = {
        "def f(x)\n    return x * 2\n",          /* no colon */
        "def g(x):\n    return x * 2\n",         /* no entry f */
    };
    json_t *set = cases_1_to(2);
    struct ad_alpha_decision d;

    (void)state;
    evaluate(FAST_DOUBLE, mutants, 2, set, 3, 10000, &tr);
    for (int m = 1; m <= 2; m++) {
        assert_false(sides[m].syntax_ok);
        assert_false(sides[m].execution_success);
        assert_int_equal(sides[m].runs, 6);
        assert_int_equal(sides[m].failures, 6);
        assert_true(isnan(sides[m].latency_median_us));
        ad_alpha_decide(&sides[0], &sides[m], &latency10, &d);
        assert_false(d.won);
        assert_has(d.reason, "does not load");
    }
    assert_has(json_string_value(json_array_get(sides[1].errors, 0)), "SyntaxError");
    assert_has(json_string_value(json_array_get(sides[2].errors, 0)), "entry 'f'");
    /* Each was loaded once and never run on a case. */
    for (int i = 0; i < tr.n; i++)
        if (tr.runs[i].side > 0 && tr.runs[i].case_index >= 0 && !tr.runs[i].skipped)
            fail_msg("run %d of mutant %d ran", i, tr.runs[i].side);
    assert_true(sides[0].execution_success);
    release_sides();
    json_decref(set);
}

static void test_interleaved_and_rotated(void **state)
{
    const char *mutants[] = { "def f(x):\n    return x + x\n", "def f(x):\n    return 2 * x\n" };
    json_t *set = cases_1_to(2);
    int i = 0;

    (void)state;
    evaluate("def f(x):\n    return x * 2\n", mutants, 2, set, 4, 10000, &tr);
    assert_int_equal(tr.n, 3 + 3 * 2 * 4);
    /* First the load checks, one per side. */
    for (; i < 3; i++) {
        assert_int_equal(tr.runs[i].case_index, -1);
        assert_int_equal(tr.runs[i].side, i);
    }
    /* Then for each repeat, for each case, every side: ABC, BCA, CAB, ABC. */
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 2; c++)
            for (int j = 0; j < 3; j++, i++) {
                assert_int_equal(tr.runs[i].repeat, r);
                assert_int_equal(tr.runs[i].case_index, c);
                assert_int_equal(tr.runs[i].side, (r + j) % 3);
                assert_false(tr.runs[i].skipped);
                assert_string_equal(tr.status[i], "ok");
            }
    release_sides();
    json_decref(set);
}

static void test_endless_loop_stopped(void **state)
{
    const char *mutants[] = { "def f(x):\n    while True:\n        pass\n" };
    json_t *set = cases_1_to(2);
    struct ad_alpha_decision d;
    int timeouts = 0, skipped = 0;

    (void)state;
    evaluate(FAST_DOUBLE, mutants, 1, set, 3, 1500, &tr);
    assert_int_equal(sides[1].failures, 6);
    assert_has(json_string_value(json_array_get(sides[1].errors, 0)), "TimeoutError");
    for (int i = 0; i < tr.n; i++)
        if (tr.runs[i].side == 1 && tr.runs[i].case_index >= 0) {
            timeouts += strcmp(tr.status[i], "timeout") == 0;
            skipped += tr.runs[i].skipped;
        }
    /* Stopped by the deadline once per case; not run there again. */
    assert_int_equal(timeouts, 2);
    assert_int_equal(skipped, 4);
    /* The evaluation went on: the parent ran every case. */
    assert_true(sides[0].execution_success);
    assert_int_equal(sides[0].failures, 0);
    ad_alpha_decide(&sides[0], &sides[1], &latency10, &d);
    assert_false(d.won);
    assert_has(d.reason, "TimeoutError");
    release_sides();
    json_decref(set);
}

static void test_bad_arguments(void **state)
{
    struct ad_eval_opts o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    json_t *empty = json_array(), *noinput = js("[{\"expected\": 1}]"), *set = cases_1_to(1);
    const char *mutants[] = { FAST_DOUBLE };

    (void)state;
    o.repeats = 3;
    assert_int_equal(ad_alpha_evaluate(sb, "f", FAST_DOUBLE, mutants, 1, empty, &o, &sides[0],
                                       &sides[1], &err), AD_EINVAL);
    assert_has(err.msg, "empty");
    assert_int_equal(ad_alpha_evaluate(sb, "f", FAST_DOUBLE, mutants, 1, noinput, &o, &sides[0],
                                       &sides[1], &err), AD_EINVAL);
    assert_has(err.msg, "\"input\"");
    assert_int_equal(ad_alpha_evaluate(sb, "f x", FAST_DOUBLE, mutants, 1, set, &o, &sides[0],
                                       &sides[1], &err), AD_EINVAL);
    o.repeats = 0;
    assert_int_equal(ad_alpha_evaluate(sb, "f", FAST_DOUBLE, mutants, 1, set, &o, &sides[0],
                                       &sides[1], &err), AD_EINVAL);
    release_sides();
    json_decref(empty);
    json_decref(noinput);
    json_decref(set);
}

/* ---- the lease ------------------------------------------------------------------------ */

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

struct lease_case {
    struct fx *f;
    bool steal;          /* another worker takes the job before the evaluation */
    int rc;
    struct ad_err err;
};

static int h_evaluate(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                      struct ad_err *err)
{
    struct lease_case *lc = ctx;
    struct ad_eval_opts o = { 0 };
    json_t *set = cases_1_to(2);   /* 14 runs: one renewal after 8 */
    const char *mutants[] = { FAST_DOUBLE };

    if (lc->steal) {
        struct ad_job stolen = { 0 };

        fake_now += 10 * 60 * 1000 + 1;   /* past the lease */
        assert_int_equal(ad_store_job_claim(lc->f->st, lc->f->tenant, job->kind, "thief",
                                            fake_now, 60000, &stolen, err), 0);
        ad_job_release(&stolen);
    }
    o.repeats = 3;
    o.lease = lease;
    lc->rc = ad_alpha_evaluate(sb, "f", FAST_DOUBLE, mutants, 1, set, &o, &sides[0], &sides[1],
                               &lc->err);
    json_decref(set);
    release_sides();
    return 0;
}

static void run_with_lease(struct fx *f, struct lease_case *lc, int64_t lease_ms)
{
    struct ad_jobs_options jo = { 0 };
    struct ad_jobs *q = NULL;
    struct ad_err err = AD_ERR_INIT;
    json_t *payload = json_object();
    char id[AD_ID_SIZE];
    int ran = 0;

    fake_now = ad_now_ms();
    jo.lease_ms = lease_ms;
    jo.now_ms = fake_clock;
    lc->f = f;
    assert_int_equal(ad_jobs_new(f->st, f->tenant, &jo, &q, &err), 0);
    assert_int_equal(ad_jobs_register(q, "alpha.test", h_evaluate, lc, &err), 0);
    assert_int_equal(ad_jobs_enqueue(q, "alpha.test", payload, NULL, 0, id, NULL, &err), 0);
    ad_log_set_level(AD_LOG_ERROR);   /* the queue warns of the job it lost */
    assert_int_equal(ad_jobs_run_one(q, NULL, &ran, &err), 0);
    ad_log_set_level(AD_LOG_WARN);
    assert_int_equal(ran, 1);
    ad_jobs_free(q);
    json_decref(payload);
}

static void test_lease_lost_stops(void **state)
{
    struct lease_case lc = { 0 };

    lc.steal = true;
    run_with_lease(*state, &lc, 10 * 60 * 1000);
    assert_int_equal(lc.rc, AD_ESTATE);
    assert_has(lc.err.msg, "lease");
}

static void test_lease_too_short(void **state)
{
    struct lease_case lc = { 0 };

    run_with_lease(*state, &lc, 1000);   /* a fifth kept back leaves 800 ms: too little */
    assert_int_equal(lc.rc, AD_ETIMEOUT);
    assert_has(lc.err.msg, "too little for another run");
}

static void test_lease_held(void **state)
{
    struct lease_case lc = { 0 };

    run_with_lease(*state, &lc, 10 * 60 * 1000);
    if (lc.rc != 0)
        fail_msg("evaluation under a lease: %s", lc.err.msg);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_outputs_equal),
        cmocka_unit_test(test_decide_wins_clear_gain),
        cmocka_unit_test(test_decide_invalid_options),
        cmocka_unit_test(test_decide_not_evaluated_together),
        cmocka_unit_test(test_decide_does_not_load),
        cmocka_unit_test(test_decide_a_failed_run_loses),
        cmocka_unit_test(test_decide_output_differs),
        cmocka_unit_test(test_decide_output_unstable),
        cmocka_unit_test(test_decide_expected_differs),
        cmocka_unit_test(test_decide_unstable_parent_case_left_out),
        cmocka_unit_test(test_decide_nothing_to_check),
        cmocka_unit_test(test_decide_too_few_repeats),
        cmocka_unit_test(test_decide_gain_below_minimum),
        cmocka_unit_test(test_decide_gain_inside_noise),
        cmocka_unit_test(test_decide_separated_wins_through_wide_noise),
        cmocka_unit_test(test_decide_cost),
        cmocka_unit_test(test_decide_reliability),
        cmocka_unit_test(test_side_json),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_call_us),
        cmocka_unit_test_setup_teardown(test_execution_token_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_test_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_test_set_empty_and_plan, setup, teardown),
        cmocka_unit_test(test_faster_correct_mutant_wins),
        cmocka_unit_test(test_faster_wrong_mutant_loses),
        cmocka_unit_test(test_expected_output_checked),
        cmocka_unit_test(test_identical_code_loses),
        cmocka_unit_test(test_unstable_outputs),
        cmocka_unit_test(test_nan_and_type_change_lose),
        cmocka_unit_test(test_syntax_error_not_run),
        cmocka_unit_test(test_interleaved_and_rotated),
        cmocka_unit_test(test_endless_loop_stopped),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test_setup_teardown(test_lease_lost_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_too_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_held, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("decide", pure, NULL, NULL);

    return rc | cmocka_run_group_tests_name("evaluate", real, group_setup, group_teardown);
}
