/*
 * The advisor (src/learn/advise.c) over mutations and variants made
 * through learn's API with known numbers: the acceptance rate, a fitness
 * plateau, the cost per accepted improvement and a daily limit near its
 * end; and the readiness notification written once per level.
 * The fixture and its helpers are test_mutations.c's.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>

#include <cmocka.h>

#include "autodev/advise.h"
#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "tmpdb.h"

static const char parent_code[] =
    "def total(items: list) -> int:\n"
    "    \"\"\"Add the items up.\"\"\"\n"
    "    s = 0\n"
    "    for x in items:\n"
    "        s = s + x\n"
    "    return s\n";

static const char mutant_code[] =
    "def total(items: list) -> int:\n"
    "    \"\"\"Add the items up.\"\"\"\n"
    "    return sum(items)\n";

/* ---- fixture and helpers ---------------------------------------------------- */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
    struct ad_skill skill;
    struct ad_skill_version v1;
    int seen[5];               /* mutation.created/.evaluated/.approved/.rejected, variant.fitness */
    int bad;                   /* events that broke the topic table */
};

static const char *const topics[] = {
    AD_TOPIC_MUTATION_CREATED, AD_TOPIC_MUTATION_EVALUATED, AD_TOPIC_MUTATION_APPROVED,
    AD_TOPIC_MUTATION_REJECTED, AD_TOPIC_VARIANT_FITNESS,
};

static int on_any(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct fx *f = ctx;

    (void)err;
    if (ad_topic_check(ev->topic, ev->payload, NULL) < 0)
        f->bad++;
    for (size_t i = 0; i < AD_ARRAY_SIZE(topics); i++) {
        if (!strcmp(ev->topic, topics[i]))
            f->seen[i]++;
    }
    return 0;
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_add add = { 0 };
    struct ad_agent a = { 0 };
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "mutations");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(f->bus, "*", "test", on_any, f, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", f->tenant);
    a.name = (char *)"bot";
    a.maturity = AD_SUPERVISED;
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    snprintf(f->agent, sizeof(f->agent), "%s", a.id);
    add.tenant_id = f->tenant;
    add.name = "total";
    add.entry = "total";
    add.code = parent_code;
    assert_int_equal(ad_catalog_add(f->st, &add, &f->skill, &f->v1, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    ad_skill_release(&f->skill);
    ad_skill_version_release(&f->v1);
    ad_bus_free(f->bus);
    ad_store_free(f->st);
    tmpdb_remove(&f->db);
    free(f);
    return 0;
}

/* A mutant of the skill's 1.0.0 as the engine fills it; members borrowed. */
static void fill(struct fx *f, struct ad_tool_mutation *m, int index)
{
    ad_tool_mutation_init(m);
    snprintf(m->tenant_id, sizeof(m->tenant_id), "%s", f->tenant);
    snprintf(m->skill_id, sizeof(m->skill_id), "%s", f->skill.id);
    snprintf(m->parent_skill_version_id, sizeof(m->parent_skill_version_id), "%s", f->v1.id);
    snprintf(m->agent_id, sizeof(m->agent_id), "%s", f->agent);
    m->tool_name = (char *)"total";
    m->mutated_code = (char *)mutant_code;
    m->mutant_index = index;
    m->trigger = (char *)"latency";
    m->proposer = (char *)"offline";
    m->mutation_operator = (char *)"llm";
}

static void create(struct fx *f, struct ad_tool_mutation *m, int index)
{
    struct ad_err err = AD_ERR_INIT;

    fill(f, m, index);
    if (ad_mutations_create(f->st, f->bus, m, NULL, &err) < 0)
        fail_msg("create: %s", err.msg);
}

/* Creates a mutant, its variant, and saves it WON (or LOST) waiting for review. */
static void decided(struct fx *f, struct ad_tool_mutation *m, int index, bool won,
                    char variant[AD_ID_SIZE])
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    json_t *sig;

    create(f, m, index);
    ad_workflow_variant_init(&v);
    snprintf(v.tenant_id, sizeof(v.tenant_id), "%s", f->tenant);
    snprintf(v.tool_mutation_id, sizeof(v.tool_mutation_id), "%.*s", (int)sizeof(v.tool_mutation_id) - 1, m->id);
    snprintf(v.agent_id, sizeof(v.agent_id), "%s", f->agent);
    v.workflow_definition = json_pack("{s:s}", "skill", "total");
    assert_int_equal(ad_variants_create(f->st, &v, &err), 0);
    json_decref(v.workflow_definition);
    sig = json_pack("{s:b}", "execution_success", 1);
    assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, f->tenant, v.id, sig,
                                                       NULL, &err), 0);
    json_decref(sig);
    if (variant)
        snprintf(variant, AD_ID_SIZE, "%s", v.id);
    m->status = AD_MSTAT_PASSED;
    m->decision = won ? AD_DECISION_WON : AD_DECISION_LOST;
    m->decision_reason = (char *)(won ? "median latency down 40%, outputs equal"
                                      : "outputs differ on 2 of 20 inputs");
    m->fitness_delta = won ? 0.25 : -0.1;
    m->risk = json_pack("{s:s, s:f, s:[]}", "level", "low", "score", 0.1, "reasons");
    m->review_status = won ? AD_REVIEW_PENDING : AD_REVIEW_NONE;
    if (ad_mutations_save(f->st, f->bus, m, NULL, &err) < 0)
        fail_msg("save: %s", err.msg);
    json_decref(m->risk);
    m->risk = NULL;
}

/* The fact of kind about subject in advice, or NULL. */
static const json_t *fact(const json_t *advice, const char *kind, const char *subject)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(advice, "facts"), i, f) {
        if (!strcmp(ad_json_str(f, "kind"), kind) && !strcmp(ad_json_str(f, "subject"), subject))
            return f;
    }
    return NULL;
}

static double num(const json_t *f, const char *key)
{
    return json_number_value(json_object_get(json_object_get(f, "numbers"), key));
}

/* A variant of version 1.0.0 scored by the proxy with these signals. */
static void scored_variant(struct fx *f, bool success, bool approved)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    json_t *sig;

    ad_workflow_variant_init(&v);
    snprintf(v.tenant_id, sizeof(v.tenant_id), "%s", f->tenant);
    snprintf(v.skill_version_id, sizeof(v.skill_version_id), "%s", f->v1.id);
    snprintf(v.agent_id, sizeof(v.agent_id), "%s", f->agent);
    v.workflow_definition = json_pack("{s:s}", "skill", "total");
    assert_int_equal(ad_variants_create(f->st, &v, &err), 0);
    json_decref(v.workflow_definition);
    sig = json_pack("{s:b, s:b}", "execution_success", success, "user_approved", approved);
    assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, f->tenant, v.id, sig,
                                                       NULL, &err), 0);
    json_decref(sig);
}

static void acceptance_plateau_cost_limit(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m[4];
    struct ad_settings s;
    const json_t *x;
    json_t *advice = NULL;

    assert_int_equal(ad_settings_update(f->st, f->tenant, "max_mutations_per_day", "5", &s,
                                        &err), 0);
    /* 4 mutants: 2 won (one approved, one waiting), 2 lost. */
    for (int i = 0; i < 4; i++) {
        decided(f, &m[i], i, i < 2, NULL);
    }
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m[0].id, "ann", NULL, false,
                                         NULL, &err), 0);
    /* One gain (0.4 -> 0.6), then six variants that gain nothing. */
    scored_variant(f, false, false);
    scored_variant(f, true, false);
    for (int i = 0; i < 6; i++)
        scored_variant(f, true, false);
    assert_int_equal(ad_advise(f->st, f->tenant, NULL, &advice, &err), 0);

    x = fact(advice, "mutation_acceptance", "tenant");
    assert_non_null(x);
    assert_int_equal((int)num(x, "mutations"), 4);
    assert_int_equal((int)num(x, "evaluated"), 4);
    assert_int_equal((int)num(x, "won"), 2);
    assert_int_equal((int)num(x, "accepted"), 1);
    assert_int_equal((int)num(x, "pending_review"), 1);
    assert_true(fabs(num(x, "acceptance_rate") - 0.25) < 1e-9);
    assert_string_equal(ad_json_str(x, "severity"), "warn");
    assert_string_equal(ad_json_str(x, "command"), "autodev mutations list --review pending");

    x = fact(advice, "fitness_plateau", "total");
    assert_non_null(x);
    /* The 4 mutants' variants carry no skill version: only the 8 of 1.0.0 count. */
    assert_int_equal((int)num(x, "variants"), 8);
    assert_int_equal((int)num(x, "since_gain"), 6);
    assert_true(num(x, "best_fitness") > num(x, "first_fitness"));

    x = fact(advice, "cost_per_improvement", "tenant");
    assert_non_null(x);
    assert_int_equal((int)num(x, "accepted_improvements"), 1);
    assert_int_equal((int)num(x, "accepted_mutations"), 1);
    assert_int_equal((int)num(x, "llm_calls"), 0);
    assert_true(fabs(num(x, "cost_per_improvement_usd")) < 1e-12);

    x = fact(advice, "limit_hit", "max_mutations_per_day");
    assert_non_null(x);
    assert_int_equal((int)num(x, "used_today"), 4);
    assert_int_equal((int)num(x, "limit"), 5);
    assert_string_equal(ad_json_str(x, "severity"), "warn");
    assert_string_equal(ad_json_str(x, "command"),
                        "autodev settings set max_mutations_per_day 10");
    /* m's members are borrowed (fill): nothing to release. */
    json_decref(advice);
}

static void no_plateau_while_it_gains(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    json_t *advice = NULL;

    scored_variant(f, false, false);
    for (int i = 0; i < 4; i++)
        scored_variant(f, true, false);
    scored_variant(f, true, true);
    assert_int_equal(ad_advise(f->st, f->tenant, NULL, &advice, &err), 0);
    assert_null(fact(advice, "fitness_plateau", "total"));
    assert_null(fact(advice, "mutation_acceptance", "tenant"));
    json_decref(advice);
}

static void readiness_once_per_level(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    int notified = -1;

    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", f->tenant);
    a.name = (char *)"eager";
    a.maturity = AD_STUDENT;
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    for (int i = 0; i < 10; i++) {
        struct ad_episode ep;

        ad_episode_init(&ep);

        snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", f->tenant);
        snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", a.id);
        ep.task_description = (char *)"chore";
        ep.success = true;
        ep.constitutional_score = 0.9;
        if (ad_episode_record(f->st, f->bus, &ep, &err) < 0)
            fail_msg("episode: %s", err.msg);
    }
    assert_int_equal(ad_advise_readiness_notify(f->st, f->bus, f->tenant, &notified, &err), 0);
    assert_int_equal(notified, 1);
    assert_int_equal(ad_advise_readiness_notify(f->st, f->bus, f->tenant, &notified, &err), 0);
    assert_int_equal(notified, 0);
    assert_int_equal(ad_advise_schedule(f->st, f->tenant, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(acceptance_plateau_cost_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(no_plateau_while_it_gains, setup, teardown),
        cmocka_unit_test_setup_teardown(readiness_once_per_level, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
