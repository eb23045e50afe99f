/*
 * AlphaEvolver's mutations through the owner API (src/learn/mutations.c
 * and review.c): creation under the daily limit with its usage and event,
 * saving a decision (the evaluated event and the reviewers' notification,
 * each once), a lost lease that writes nothing, and the review: approval
 * makes a new minor version with parent lineage (and a rollback to the
 * ancestor restores the old code), a lost or stale mutation is refused with
 * nothing written, a rejection needs a reason.
 *
 * Sections: fixture and helpers; create; save; leases; approve; reject.
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
    snprintf(v.tool_mutation_id, sizeof(v.tool_mutation_id), "%s", m->id);
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

static int64_t rows(struct fx *f, const char *type)
{
    struct ad_notification *v = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;

    assert_int_equal(ad_notifications_list(f->st, f->tenant, true, type, 100, &v, &n, &err), 0);
    ad_notification_list_free(v, n);
    return (int64_t)n;
}

static void get(struct fx *f, const char *id, struct ad_tool_mutation *out)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_mutations_get(f->st, f->tenant, id, out, &err) < 0)
        fail_msg("get %s: %s", id, err.msg);
}

/* ---- create ----------------------------------------------------------------- */

static void create_counts_uses_and_emits(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_capability_count uses = { 0, 0 };
    struct ad_tool_mutation m, *v = NULL;
    struct ad_mutation_filter mf = AD_MUTATION_FILTER_INIT;
    size_t n = 0;

    create(f, &m, 0);
    assert_true(ad_id_valid(m.id));
    assert_int_equal(f->seen[0], 1);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->agent,
                                                     "auto_dev.alpha_evolver", NULL, &uses,
                                                     &err), 0);
    assert_int_equal(uses.uses, 1);
    assert_int_equal(ad_mutations_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].trigger, "latency");
    ad_tool_mutation_list_free(v, n);
    assert_int_equal(f->bad, 0);
}

static void create_holds_the_daily_limit_of_the_settings(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    struct ad_settings s;

    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    s.max_mutations_per_day = 2;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), 0);
    create(f, &m, 0);
    create(f, &m, 1);
    fill(f, &m, 2);
    assert_int_equal(ad_mutations_create(f->st, f->bus, &m, NULL, &err), AD_ELIMIT);
    assert_non_null(strstr(err.msg, "max_mutations_per_day"));
    assert_string_equal(m.id, "");
    assert_int_equal(f->seen[0], 2);    /* no event for the one refused */
    assert_int_equal(ad_store_tx_depth(f->st), 0);
}

/* ---- save ------------------------------------------------------------------- */

static void save_emits_once_and_notifies_reviewers_once(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    struct ad_notification *nv = NULL;
    size_t n = 0;

    decided(f, &m, 0, true, NULL);
    assert_int_equal(f->seen[1], 1);
    assert_int_equal(rows(f, "mutation_ready"), 1);
    assert_int_equal(ad_notifications_list(f->st, f->tenant, true, "mutation_ready", 10, &nv, &n,
                                           &err), 0);
    assert_non_null(strstr(nv[0].message, "total"));
    assert_non_null(strstr(nv[0].message, "+0.250"));
    assert_non_null(strstr(nv[0].message, "risk low"));
    assert_string_equal(ad_json_str(nv[0].payload, "mutation_id"), m.id);
    ad_notification_list_free(nv, n);

    /* Saving again (an evaluation's later step) repeats neither. */
    m.execution_error = NULL;
    assert_int_equal(ad_mutations_save(f->st, f->bus, &m, NULL, &err), 0);
    assert_int_equal(f->seen[1], 1);
    assert_int_equal(rows(f, "mutation_ready"), 1);
    get(f, m.id, &got);
    assert_int_equal(got.decision, AD_DECISION_WON);
    assert_int_equal(got.review_status, AD_REVIEW_PENDING);
    ad_tool_mutation_release(&got);

    /* A lost mutation is evaluated but asks no reviewer. */
    decided(f, &m, 1, false, NULL);
    assert_int_equal(f->seen[1], 2);
    assert_int_equal(rows(f, "mutation_ready"), 1);
    assert_int_equal(f->bad, 0);
}

/* ---- leases ----------------------------------------------------------------- */

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

struct lease_run {
    struct fx *f;
    int create_rc;
};

/* The job's handler: another worker takes the job over, then this one tries to write. */
static int lost_lease_handler(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                              struct ad_err *err)
{
    struct lease_run *r = ctx;
    struct ad_job other;
    struct ad_tool_mutation m;
    struct ad_err e = AD_ERR_INIT;

    assert_int_equal(ad_store_job_claim(r->f->st, r->f->tenant, job->kind, "thief",
                                        fake_now + 600000, 1000, &other, &e), 0);
    ad_job_release(&other);
    fill(r->f, &m, 0);
    r->create_rc = ad_mutations_create(r->f->st, r->f->bus, &m, lease, err);
    return r->create_rc;
}

static void lost_lease_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct ad_jobs_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs *q = NULL;
    struct lease_run r = { f, 0 };
    struct ad_tool_mutation *v = NULL;
    struct ad_mutation_filter mf = AD_MUTATION_FILTER_INIT;
    json_t *payload = json_object();
    char job[AD_ID_SIZE];
    size_t n = 0;
    int ran = 0;

    fake_now = ad_now_ms();
    o.now_ms = fake_clock;
    o.lease_ms = 1000;
    assert_int_equal(ad_jobs_new(f->st, f->tenant, &o, &q, &err), 0);
    assert_int_equal(ad_jobs_register(q, "test.alpha", lost_lease_handler, &r, &err), 0);
    assert_int_equal(ad_jobs_enqueue(q, "test.alpha", payload, NULL, 0, job, NULL, &err), 0);
    assert_int_equal(ad_jobs_run_one(q, "test.alpha", &ran, &err), 0);
    assert_int_equal(ran, 1);
    assert_int_equal(r.create_rc, AD_ESTATE);
    assert_int_equal(ad_mutations_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(f->seen[0], 0);
    ad_jobs_free(q);
    json_decref(payload);
}

/* ---- approve ---------------------------------------------------------------- */

static void approve_adds_a_minor_version_with_lineage(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    struct ad_skill_version made, *anc = NULL;
    struct ad_skill s;
    struct ad_skill_version cur;
    struct ad_workflow_variant v;
    char variant[AD_ID_SIZE];
    double before;
    size_t n = 0;

    decided(f, &m, 0, true, variant);
    assert_int_equal(ad_variants_get(f->st, f->tenant, variant, &v, &err), 0);
    before = v.fitness_score;
    ad_workflow_variant_release(&v);
    memset(&made, 0, sizeof(made));
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m.id, "ann", "looks right",
                                         false, &made, &err), 0);
    assert_string_equal(made.semver, "1.1.0");
    assert_string_equal(made.parent_version_id, f->v1.id);
    assert_int_equal(made.origin, AD_ORIGIN_ALPHA);
    assert_string_equal(made.origin_id, m.id);
    assert_string_equal(made.code, mutant_code);

    get(f, m.id, &got);
    assert_int_equal(got.review_status, AD_REVIEW_APPROVED);
    assert_string_equal(got.reviewed_by, "ann");
    assert_string_equal(got.reason, "looks right");
    assert_string_equal(got.promoted_version_id, made.id);
    ad_tool_mutation_release(&got);
    /* The variant is promoted, its proxy now counting the approval (+0.5). */
    assert_int_equal(ad_variants_get(f->st, f->tenant, variant, &v, &err), 0);
    assert_int_equal(v.evaluation_status, AD_VSTAT_PROMOTED);
    assert_true(fabs(v.fitness_score - (before + 0.5)) < 1e-9);
    assert_true(json_is_true(json_object_get(json_object_get(v.fitness_signals, "proxy"),
                                             "user_approved")));
    ad_workflow_variant_release(&v);
    assert_int_equal(rows(f, "mutation_ready"), 0);    /* the review answered it */
    assert_int_equal(f->seen[2], 1);

    /* The skill runs the mutant now; its ancestry leads back to 1.0.0. */
    assert_int_equal(ad_catalog_get(f->st, f->tenant, "total", NULL, &s, &cur, &err), 0);
    assert_string_equal(cur.id, made.id);
    ad_skill_release(&s);
    ad_skill_version_release(&cur);
    assert_int_equal(ad_catalog_ancestry(f->st, f->tenant, made.id, &anc, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(anc[0].semver, "1.1.0");
    assert_string_equal(anc[1].semver, "1.0.0");
    ad_skill_version_list_free(anc, n);

    /* Rolling back to the ancestor restores the old code. */
    assert_int_equal(ad_catalog_rollback(f->st, f->tenant, "total", "1.0.0", &err), 0);
    assert_int_equal(ad_catalog_get(f->st, f->tenant, "total", NULL, &s, &cur, &err), 0);
    assert_string_equal(cur.code, parent_code);
    ad_skill_release(&s);
    ad_skill_version_release(&cur);

    /* Approving twice is refused. */
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m.id, "ann", NULL, false,
                                         NULL, &err), AD_ESTATE);
    assert_non_null(strstr(err.msg, "not awaiting review"));
    ad_skill_version_release(&made);
    assert_int_equal(f->bad, 0);
}

static void approve_refuses_a_lost_mutation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    struct ad_skill_version *vs = NULL;
    size_t n = 0;

    decided(f, &m, 0, false, NULL);
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m.id, "ann", NULL, false,
                                         NULL, &err), AD_ESTATE);
    assert_non_null(strstr(err.msg, "lost"));
    /* Automatic approval does not take a loser either. */
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m.id, NULL, NULL, true, NULL,
                                         &err), AD_ESTATE);
    get(f, m.id, &got);
    assert_int_equal(got.review_status, AD_REVIEW_NONE);
    assert_string_equal(got.promoted_version_id, "");
    ad_tool_mutation_release(&got);
    assert_int_equal(ad_catalog_versions(f->st, f->tenant, f->skill.id, &vs, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_skill_version_list_free(vs, n);
    assert_int_equal(f->seen[2], 0);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
}

static void approve_refuses_a_stale_parent(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation a, b, got;
    struct ad_skill_version *vs = NULL;
    size_t n = 0;

    decided(f, &a, 0, true, NULL);
    decided(f, &b, 1, true, NULL);
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, a.id, "ann", NULL, false,
                                         NULL, &err), 0);
    /* b was made from 1.0.0 too; the skill is at 1.1.0 now. */
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, b.id, "ann", NULL, false,
                                         NULL, &err), AD_ECONFLICT);
    assert_non_null(strstr(err.msg, "the skill moved on: current 1.1.0, mutation made from "
                                    "1.0.0"));
    get(f, b.id, &got);
    assert_int_equal(got.review_status, AD_REVIEW_PENDING);
    ad_tool_mutation_release(&got);
    assert_int_equal(ad_catalog_versions(f->st, f->tenant, f->skill.id, &vs, &n, &err), 0);
    assert_int_equal(n, 2);
    ad_skill_version_list_free(vs, n);
    assert_int_equal(f->seen[2], 1);
}

static void automatic_approval_names_autodev(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    struct ad_skill_version made;

    decided(f, &m, 0, true, NULL);
    /* The engine may approve before queueing for review: review none is fine too. */
    m.review_status = AD_REVIEW_NONE;
    assert_int_equal(ad_mutations_save(f->st, f->bus, &m, NULL, &err), 0);
    memset(&made, 0, sizeof(made));
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m.id, "ignored", NULL, true,
                                         &made, &err), 0);
    get(f, m.id, &got);
    assert_int_equal(got.review_status, AD_REVIEW_AUTO_APPROVED);
    assert_string_equal(got.reviewed_by, "autodev");
    ad_tool_mutation_release(&got);
    assert_string_equal(made.semver, "1.1.0");
    ad_skill_version_release(&made);
}

/* ---- reject ----------------------------------------------------------------- */

static void reject_needs_a_reason(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    struct ad_workflow_variant v;
    char variant[AD_ID_SIZE], other[AD_ID_SIZE];

    decided(f, &m, 0, true, variant);
    assert_int_equal(ad_mutation_reject(f->st, f->bus, f->tenant, m.id, "ann", "", &err),
                     AD_EINVAL);
    assert_non_null(strstr(err.msg, "needs a reason"));
    assert_int_equal(ad_mutation_reject(f->st, f->bus, f->tenant, m.id, "ann", NULL, &err),
                     AD_EINVAL);
    get(f, m.id, &got);
    assert_int_equal(got.review_status, AD_REVIEW_PENDING);
    ad_tool_mutation_release(&got);

    assert_int_equal(ad_mutation_reject(f->st, f->bus, f->tenant, m.id, "ann",
                                        "changes rounding", &err), 0);
    get(f, m.id, &got);
    assert_int_equal(got.review_status, AD_REVIEW_REJECTED);
    assert_string_equal(got.reason, "changes rounding");
    assert_string_equal(got.reviewed_by, "ann");
    ad_tool_mutation_release(&got);
    assert_int_equal(ad_variants_get(f->st, f->tenant, variant, &v, &err), 0);
    assert_int_equal(v.evaluation_status, AD_VSTAT_REJECTED);
    ad_workflow_variant_release(&v);
    assert_int_equal(rows(f, "mutation_ready"), 0);
    assert_int_equal(f->seen[3], 1);
    /* Decided once: neither a second rejection nor an approval now. */
    assert_int_equal(ad_mutation_reject(f->st, f->bus, f->tenant, m.id, "bob", "again", &err),
                     AD_ESTATE);
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, m.id, "bob", NULL, false,
                                         NULL, &err), AD_ESTATE);
    /* Another tenant's id is not found. */
    assert_int_equal(ad_store_tenant_ensure(f->st, "other", other, &err), 0);
    assert_int_equal(ad_mutation_reject(f->st, f->bus, other, m.id, "bob", "x", &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_mutation_approve(f->st, f->bus, other, m.id, "bob", NULL, false, NULL,
                                         &err), AD_ENOTFOUND);
    assert_int_equal(f->bad, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(create_counts_uses_and_emits),
        T(create_holds_the_daily_limit_of_the_settings),
        T(save_emits_once_and_notifies_reviewers_once),
        T(lost_lease_writes_nothing),
        T(approve_adds_a_minor_version_with_lineage),
        T(approve_refuses_a_lost_mutation),
        T(approve_refuses_a_stale_parent),
        T(automatic_approval_names_autodev),
        T(reject_needs_a_reason),
    };
#undef T

    return cmocka_run_group_tests_name("mutations", tests, NULL, NULL);
}
