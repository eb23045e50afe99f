/*
 * The AlphaEvolver job (alpha.c) on a real store and the real sandbox, with
 * the offline operators as proposer: a winner must win twice, the rows say
 * why each mutant won or lost, and the engine interface runs it.
 */
#include "compat.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <cmocka.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/bus.h"
#include "autodev/engine.h"
#include "autodev/evaluate.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "tmpdb.h"

static struct ad_sandbox *sb;

/* The parent sleeps `delay` for nothing: the number operator halves or doubles it. */
static const char nap_code[] =
    "def nap(n):\n"
    "    \"\"\"Sleep a little, then double n.\"\"\"\n"
    "    import time\n"
    "    # EVOLVE-BLOCK-START\n"
    "    delay = 0.06\n"
    "    # EVOLVE-BLOCK-END\n"
    "    time.sleep(delay)\n"
    "    return n * 2\n";

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
    char version[AD_ID_SIZE];
};

static int group_setup(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    o.slots = 1;
    o.quiet = true;
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

static void run_task(struct fx *f, int n)
{
    struct ad_task t = { 0 };
    struct ad_task_outcome o;
    struct ad_err err = AD_ERR_INIT;
    json_t *in = json_pack("{s:i}", "n", n);

    memset(&o, 0, sizeof(o));
    ad_episode_init(&o.episode);
    t.tenant_id = f->tenant;
    t.agent_id = f->agent;
    t.description = "double a number after a nap";
    t.task_kind = "test.alpha";
    t.skill = "nap";
    t.input = in;
    if (ad_task_run(f->st, f->bus, sb, &t, &o, &err) < 0)
        fail_msg("task run: %s", err.msg);
    assert_true(o.episode.success);
    ad_task_outcome_release(&o);
    json_decref(in);
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_add add = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_agent a = { 0 };
    struct ad_settings s;
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "alpha");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    assert_int_equal(ad_agents_add(f->st, f->tenant, "sup", AD_SUPERVISED, &a, &err), 0);
    memcpy(f->agent, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    s.enabled = true;
    s.evolution_mutants = 5;
    s.evolution_repeats = 3;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), 0);
    add.tenant_id = f->tenant;
    add.name = "nap";
    add.entry = "nap";
    add.code = nap_code;
    add.origin = AD_ORIGIN_MANUAL;
    if (ad_catalog_add(f->st, &add, NULL, &v, &err) < 0)
        fail_msg("catalog add: %s", err.msg);
    memcpy(f->version, v.id, AD_ID_SIZE);
    ad_skill_version_release(&v);
    run_task(f, 1);
    run_task(f, 2);
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

static json_t *payload_of(const struct fx *f)
{
    return json_pack("{s:s, s:s, s:s}", "skill_version_id", f->version, "agent_id", f->agent,
                     "trigger", "latency");
}

static size_t rows_of(struct fx *f, struct ad_tool_mutation **v)
{
    struct ad_mutation_filter mf = { 0 };
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;

    mf.status = -1;
    mf.review_status = -2;
    mf.decision = -2;
    mf.limit = 100;
    if (ad_mutations_list(f->st, f->tenant, &mf, v, &n, &err) < 0)
        fail_msg("mutations list: %s", err.msg);
    return n;
}

/* The offline operators find the halved delay; it wins twice and waits for review. */
static void test_halved_delay_wins(void **state)
{
    struct fx *f = *state;
    struct ad_alpha_opts o = { 0 };
    struct ad_alpha_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation *v = NULL;
    json_t *p = payload_of(f);
    size_t n, pending = 0;

    o.tenant_id = f->tenant;
    if (ad_alpha_run(f->st, f->bus, sb, NULL, &o, p, &res, &err) < 0)
        fail_msg("alpha run: %s", err.msg);
    assert_int_equal(res.mutants, 5);
    assert_true(res.won >= 1);
    assert_true(res.best_id[0] != '\0');
    assert_false(res.promoted);
    assert_true(res.best_latency_us < res.parent_latency_us);
    n = rows_of(f, &v);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(v[i].proposer, "offline");
        assert_string_equal(v[i].parent_skill_version_id, f->version);
        assert_true(v[i].decision == AD_DECISION_WON || v[i].decision == AD_DECISION_LOST);
        assert_non_null(v[i].decision_reason);
        assert_non_null(json_object_get(v[i].proxy_signals, "evaluation"));
        assert_int_equal(json_array_size(v[i].test_set), 2);
        if (v[i].review_status == AD_REVIEW_PENDING) {
            pending++;
            assert_string_equal(v[i].id, res.best_id);
            assert_non_null(strstr(v[i].mutated_code, "delay = 0.03"));
            assert_non_null(json_object_get(v[i].proxy_signals, "reevaluation"));
        }
        /* Doubling the delay, or deleting it, can never win. */
        if (strstr(v[i].mutated_code, "delay = 0.12") || !strstr(v[i].mutated_code, "delay ="))
            assert_int_equal(v[i].decision, AD_DECISION_LOST);
    }
    assert_int_equal(pending, 1);
    ad_tool_mutation_list_free(v, n);
    json_decref(p);
}

/* An evaluation whose second run of the winners finds them as slow as the parent. */
struct flaky {
    int calls;
};

static int flaky_evaluate(void *ctx, struct ad_sandbox *s, const char *entry,
                          const char *parent_code, const char *const *mutant_codes,
                          size_t nmutants, const json_t *test_set, const struct ad_eval_opts *o,
                          struct ad_eval_side *parent_out, struct ad_eval_side *mutants_out,
                          struct ad_err *err)
{
    struct flaky *fl = ctx;
    const char **codes = calloc(nmutants, sizeof(*codes));
    int rc;

    assert_non_null(codes);
    /* The first time the mutants run as proposed; after that the gain is gone. */
    for (size_t i = 0; i < nmutants; i++)
        codes[i] = fl->calls == 0 ? mutant_codes[i] : parent_code;
    fl->calls++;
    rc = ad_alpha_evaluate(s, entry, parent_code, codes, nmutants, test_set, o, parent_out,
                           mutants_out, err);
    free(codes);
    return rc;
}

static void test_gain_that_does_not_reproduce_loses(void **state)
{
    struct fx *f = *state;
    struct ad_alpha_opts o = { 0 };
    struct ad_alpha_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation *v = NULL;
    struct flaky fl = { 0 };
    json_t *p = payload_of(f);
    size_t n, reproduced_not = 0;

    o.tenant_id = f->tenant;
    o.evaluate = flaky_evaluate;
    o.evaluate_ctx = &fl;
    if (ad_alpha_run(f->st, f->bus, sb, NULL, &o, p, &res, &err) < 0)
        fail_msg("alpha run: %s", err.msg);
    assert_int_equal(fl.calls, 2);
    assert_int_equal(res.won, 0);
    assert_string_equal(res.best_id, "");
    n = rows_of(f, &v);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].decision, AD_DECISION_LOST);
        assert_int_equal(v[i].review_status, AD_REVIEW_NONE);
        if (strstr(v[i].decision_reason, "did not reproduce")) {
            reproduced_not++;
            assert_non_null(json_object_get(v[i].proxy_signals, "reevaluation"));
        }
    }
    assert_true(reproduced_not >= 1);
    ad_tool_mutation_list_free(v, n);
    json_decref(p);
}

/* A version that is no longer current is not evolved; a damaged payload is refused. */
static void test_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_alpha_opts o = { 0 };
    struct ad_alpha_result res;
    struct ad_err err = AD_ERR_INIT;
    json_t *bad = json_pack("{s:s}", "skill_version_id", "not-an-id");
    json_t *trig = json_pack("{s:s, s:s}", "skill_version_id", f->version, "trigger", "moon");

    o.tenant_id = f->tenant;
    assert_int_equal(ad_alpha_run(f->st, f->bus, sb, NULL, &o, bad, &res, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "skill_version_id"));
    assert_int_equal(ad_alpha_run(f->st, f->bus, sb, NULL, &o, trig, &res, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "moon"));
    assert_int_equal(ad_alpha_job_outcome(AD_EINVAL), AD_JOB_PERMANENT);
    assert_int_equal(ad_alpha_job_outcome(AD_EBUSY), AD_EBUSY);
    json_decref(bad);
    json_decref(trig);
}

/* Both loops behind the one interface, found by name, kind and topic. */
static void test_engines(void **state)
{
    const struct ad_learning_engine *const *e = ad_learning_engines();
    size_t n = 0;

    (void)state;
    for (; e[n]; n++) {
        assert_non_null(e[n]->analyse);
        assert_non_null(e[n]->run);
        assert_non_null(e[n]->promote);
        assert_non_null(e[n]->reject);
        assert_non_null(e[n]->job_outcome);
        assert_ptr_equal(ad_learning_engine_for_kind(e[n]->job_kind), e[n]);
        assert_ptr_equal(ad_learning_engine_find(e[n]->name), e[n]);
    }
    assert_int_equal(n, 2);
    assert_string_equal(ad_learning_engine_find("alpha.mutate")->name, "alpha");
    assert_string_equal(ad_learning_engine_find("task.fail")->name, "memento");
    assert_null(ad_learning_engine_find("nothing"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engines),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_halved_delay_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gain_that_does_not_reproduce_loses, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
