/*
 * The conformance suite (store_suite.h): the learning rows: skill
 * candidates and their daily limit, capability usage, notifications and an
 * agent's record. Field checks name the field, every call keeps tenants
 * apart, and the daily limit holds against many handles racing on one
 * store.
 *
 * Sections: helpers, names, candidates, daily limits and the race,
 * capability usage, notifications, agent record, read-only; the group's
 * table last.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>

#include "autodev/store.h"

#include "store/store_backend.h"
#include "store_suite.h"

#define RACERS 50          /* handles racing for the daily limit */
#define RACE_LIMIT 5

static void make_agent(struct fx *f, const char *tenant, const char *name, char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), tenant);
    a.name = (char *)name;
    if (ad_store_agent_insert(f->st, &a, &err))
        fail_msg("agent insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, a.id);
}

/* An episode of agent (tenant's); score NAN for none. */
static void make_episode(struct fx *f, const char *tenant, const char *agent, bool intervention,
                         double score, char id[AD_ID_SIZE])
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;

    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    ep.task_description = (char *)"sum the list";
    ep.success = !intervention;
    ep.intervention = intervention;
    ep.constitutional_score = score;
    if (ad_store_episode_insert(f->st, &ep, &err))
        fail_msg("episode insert: %s", err.msg);
    if (id)
        ad__copy_fixed(id, AD_ID_SIZE, ep.id);
}

static int64_t candidate_rows(const struct fx *f)
{
    return sql_int(f, "SELECT count(*) FROM skill_candidates");
}

/* A minimal candidate of tenant; members are borrowed string literals. */
static void fill_candidate(struct ad_skill_candidate *c, const char *tenant, const char *name)
{
    ad_skill_candidate_init(c);
    ad__copy_fixed(c->tenant_id, sizeof(c->tenant_id), tenant);
    c->skill_name = (char *)name;
    c->generated_code = (char *)"def run(x):\n    return x\n";
}

/* Inserts a minimal candidate (no limit) with status and agent ("" for none). */
static void add_candidate(struct fx *f, const char *tenant, const char *agent, const char *name,
                          enum ad_candidate_status status, char id[AD_ID_SIZE])
{
    struct ad_skill_candidate c;
    struct ad_err err = AD_ERR_INIT;

    fill_candidate(&c, tenant, name);
    ad__copy_fixed(c.agent_id, sizeof(c.agent_id), agent);
    c.status = status;
    if (ad_store_candidate_insert(f->st, &c, 0, &err))
        fail_msg("candidate insert '%s': %s", name, err.msg);
    if (id)
        ad__copy_fixed(id, AD_ID_SIZE, c.id);
}

static void today_start(char out[AD_TIME_SIZE])
{
    char now[AD_TIME_SIZE];

    ad_time_now(now);
    snprintf(out, AD_TIME_SIZE, "%.10sT00:00:00.000Z", now);
}

/* ---- names -------------------------------------------------------------- */

static void test_enum_names(void **state)
{
    static const char *const cand[] = { "pending", "validating", "validated", "failed",
                                        "promoted", "rejected" };
    static const char *const review[] = { "pending", "approved", "rejected", "auto_approved" };
    enum ad_candidate_status cs;
    enum ad_review_status rs;
    size_t i;

    (void)state;
    for (i = 0; i < AD_ARRAY_SIZE(cand); i++) {
        assert_string_equal(ad_candidate_status_name((enum ad_candidate_status)i), cand[i]);
        assert_int_equal(ad_candidate_status_parse(cand[i], &cs), 0);
        assert_int_equal(cs, i);
    }
    assert_null(ad_candidate_status_name((enum ad_candidate_status)6));
    assert_null(ad_candidate_status_name((enum ad_candidate_status)-1));
    assert_int_equal(ad_candidate_status_parse("approved", &cs), AD_EINVAL);
    assert_int_equal(ad_candidate_status_parse(NULL, &cs), AD_EINVAL);
    for (i = 0; i < AD_ARRAY_SIZE(review); i++) {
        assert_string_equal(ad_review_status_name((enum ad_review_status)i), review[i]);
        assert_int_equal(ad_review_status_parse(review[i], &rs), 0);
        assert_int_equal(rs, i);
    }
    assert_null(ad_review_status_name(AD_REVIEW_NONE));
    assert_null(ad_review_status_name((enum ad_review_status)4));
    assert_int_equal(ad_review_status_parse("validated", &rs), AD_EINVAL);
}

/* ---- candidates --------------------------------------------------------- */

static void test_candidate_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c, got;
    char episode[AD_ID_SIZE], now[AD_TIME_SIZE];

    make_episode(f, f->tenant, f->agent, false, NAN, episode);
    fill_candidate(&c, f->tenant, "parse_invoice");
    ad__copy_fixed(c.agent_id, sizeof(c.agent_id), f->agent);
    ad__copy_fixed(c.source_episode_id, sizeof(c.source_episode_id), episode);
    c.skill_description = (char *)"parses invoices";
    c.failure_pattern = json_pack("{s:s, s:i}", "error", "KeyError", "count", 3);
    c.validation_result = json_pack("{s:b}", "passed", 1);
    c.status = AD_CAND_VALIDATED;
    c.fitness_score = 0.875;
    c.review_status = AD_REVIEW_APPROVED;
    c.reviewed_by = (char *)"alice";
    ad__copy_fixed(c.reviewed_at, sizeof(c.reviewed_at), "2026-11-23T10:00:00Z");
    c.reason = (char *)"looks right";
    c.risk_score = 0.25;
    ad__copy_fixed(c.validated_at, sizeof(c.validated_at), "2026-11-23T09:00:00.500Z");
    ad__copy_fixed(c.promoted_at, sizeof(c.promoted_at), "2026-11-23T11:00:00.000Z");

    ad_time_now(now);
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 5, &err), 0);
    assert_true(ad_id_valid(c.id));
    assert_int_equal(strlen(c.created_at), 24);
    assert_true(strcmp(c.created_at, now) >= 0);
    /* Times are written back in the stored 24-character form. */
    assert_string_equal(c.reviewed_at, "2026-11-23T10:00:00.000Z");

    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, c.id, &got, &err), 0);
    assert_string_equal(got.id, c.id);
    assert_string_equal(got.tenant_id, f->tenant);
    assert_string_equal(got.agent_id, f->agent);
    assert_string_equal(got.source_episode_id, episode);
    assert_string_equal(got.skill_name, "parse_invoice");
    assert_string_equal(got.skill_description, "parses invoices");
    assert_string_equal(got.generated_code, c.generated_code);
    assert_true(json_equal(got.failure_pattern, c.failure_pattern));
    assert_true(json_equal(got.validation_result, c.validation_result));
    assert_int_equal(got.status, AD_CAND_VALIDATED);
    assert_true(got.fitness_score == 0.875);
    assert_int_equal(got.review_status, AD_REVIEW_APPROVED);
    assert_string_equal(got.reviewed_by, "alice");
    assert_string_equal(got.reviewed_at, "2026-11-23T10:00:00.000Z");
    assert_string_equal(got.reason, "looks right");
    assert_true(got.risk_score == 0.25);
    assert_string_equal(got.created_at, c.created_at);
    assert_string_equal(got.validated_at, "2026-11-23T09:00:00.500Z");
    assert_string_equal(got.promoted_at, "2026-11-23T11:00:00.000Z");
    ad_skill_candidate_release(&got);
    json_decref(c.failure_pattern);
    json_decref(c.validation_result);

    /* The minimal candidate: every optional member reads back as "none". */
    fill_candidate(&c, f->tenant, "bare");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 0, &err), 0);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, c.id, &got, &err), 0);
    assert_string_equal(got.agent_id, "");
    assert_string_equal(got.source_episode_id, "");
    assert_null(got.skill_description);
    assert_null(got.failure_pattern);
    assert_null(got.validation_result);
    assert_int_equal(got.status, AD_CAND_PENDING);
    assert_true(isnan(got.fitness_score));
    assert_int_equal(got.review_status, AD_REVIEW_NONE);
    assert_null(got.reviewed_by);
    assert_string_equal(got.reviewed_at, "");
    assert_null(got.reason);
    assert_true(isnan(got.risk_score));
    assert_string_equal(got.validated_at, "");
    assert_string_equal(got.promoted_at, "");
    ad_skill_candidate_release(&got);
    assert_true(isnan(got.fitness_score));    /* release leaves an initialised struct */

    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, f->agent, &got, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill candidate");
}

static void test_candidate_update(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c, got;
    char id[AD_ID_SIZE];

    add_candidate(f, f->tenant, f->agent, "word_count", AD_CAND_PENDING, id);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, id, &c, &err), 0);

    free(c.generated_code);
    c.generated_code = strdup("def run(s):\n    return len(s.split())\n");
    free(c.skill_name);
    c.skill_name = strdup("count_words");
    c.skill_description = strdup("counts words");
    c.status = AD_CAND_PROMOTED;
    c.validation_result = json_pack("{s:i}", "tests", 4);
    c.fitness_score = -2.5;
    c.review_status = AD_REVIEW_AUTO_APPROVED;
    c.reviewed_by = strdup("policy");
    ad_time_now(c.reviewed_at);
    c.reason = strdup("low risk");
    c.risk_score = 1.0;
    ad_time_now(c.validated_at);
    ad_time_now(c.promoted_at);
    assert_int_equal(ad_store_candidate_update(f->st, &c, &err), 0);

    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, id, &got, &err), 0);
    assert_string_equal(got.skill_name, "count_words");
    assert_string_equal(got.skill_description, "counts words");
    assert_string_equal(got.generated_code, c.generated_code);
    assert_int_equal(got.status, AD_CAND_PROMOTED);
    assert_true(json_equal(got.validation_result, c.validation_result));
    assert_true(got.fitness_score == -2.5);
    assert_int_equal(got.review_status, AD_REVIEW_AUTO_APPROVED);
    assert_string_equal(got.reviewed_by, "policy");
    assert_string_equal(got.reviewed_at, c.reviewed_at);
    assert_string_equal(got.reason, "low risk");
    assert_true(got.risk_score == 1.0);
    assert_string_equal(got.validated_at, c.validated_at);
    assert_string_equal(got.promoted_at, c.promoted_at);
    assert_string_equal(got.created_at, c.created_at);    /* not an update's field */
    assert_string_equal(got.agent_id, f->agent);
    ad_skill_candidate_release(&got);

    /* Clearing: NULL and NAN and "" write NULL. */
    json_decref(c.validation_result);
    c.validation_result = NULL;
    c.fitness_score = NAN;
    c.review_status = AD_REVIEW_NONE;
    c.promoted_at[0] = '\0';
    assert_int_equal(ad_store_candidate_update(f->st, &c, &err), 0);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, id, &got, &err), 0);
    assert_null(got.validation_result);
    assert_true(isnan(got.fitness_score));
    assert_int_equal(got.review_status, AD_REVIEW_NONE);
    assert_string_equal(got.promoted_at, "");
    ad_skill_candidate_release(&got);

    /* Another tenant cannot update it; nor can an unknown id be updated. */
    ad__copy_fixed(c.tenant_id, sizeof(c.tenant_id), f->other);
    c.status = AD_CAND_REJECTED;
    assert_int_equal(ad_store_candidate_update(f->st, &c, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill candidate");
    ad__copy_fixed(c.tenant_id, sizeof(c.tenant_id), f->tenant);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, id, &got, &err), 0);
    assert_int_equal(got.status, AD_CAND_PROMOTED);
    ad_skill_candidate_release(&got);
    ad__copy_fixed(c.id, sizeof(c.id), f->agent);
    assert_int_equal(ad_store_candidate_update(f->st, &c, &err), AD_ENOTFOUND);

    /* An update's fields are checked like an insert's. */
    ad__copy_fixed(c.id, sizeof(c.id), id);
    c.risk_score = 2;
    assert_int_equal(ad_store_candidate_update(f->st, &c, &err), AD_EINVAL);
    assert_msg_has(&err, "risk_score");
    ad_skill_candidate_release(&c);
}

static void test_candidate_list(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate *v = NULL;
    struct ad_candidate_filter flt = { 0 };
    char agent2[AD_ID_SIZE], ids[6][AD_ID_SIZE];
    size_t n = 0, i;

    make_agent(f, f->tenant, "bot2", agent2);
    add_candidate(f, f->tenant, f->agent, "c0", AD_CAND_PENDING, ids[0]);
    add_candidate(f, f->tenant, agent2, "c1", AD_CAND_VALIDATED, ids[1]);
    add_candidate(f, f->tenant, f->agent, "c2", AD_CAND_FAILED, ids[2]);
    add_candidate(f, f->tenant, "", "c3", AD_CAND_VALIDATED, ids[3]);
    add_candidate(f, f->tenant, f->agent, "c4", AD_CAND_VALIDATED, ids[4]);
    add_candidate(f, f->other, f->other_agent, "x", AD_CAND_VALIDATED, ids[5]);

    /* Everything of the tenant, newest first, code included. */
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 5);
    for (i = 0; i < n; i++) {
        assert_string_equal(v[i].id, ids[4 - i]);
        assert_non_null(v[i].generated_code);
    }
    ad_skill_candidate_list_free(v, n);

    flt.agent_id = f->agent;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, ids[4]);
    assert_string_equal(v[1].id, ids[2]);
    assert_string_equal(v[2].id, ids[0]);
    ad_skill_candidate_list_free(v, n);

    flt.agent_id = NULL;
    flt.status_mask = 1u << AD_CAND_VALIDATED;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, ids[4]);
    assert_string_equal(v[1].id, ids[3]);
    assert_string_equal(v[2].id, ids[1]);
    ad_skill_candidate_list_free(v, n);

    flt.status_mask = (1u << AD_CAND_PENDING) | (1u << AD_CAND_FAILED);
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, ids[2]);
    assert_string_equal(v[1].id, ids[0]);
    ad_skill_candidate_list_free(v, n);

    flt.agent_id = f->agent;
    flt.status_mask = 1u << AD_CAND_VALIDATED;
    flt.limit = 1;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[4]);
    ad_skill_candidate_list_free(v, n);

    flt.agent_id = NULL;
    flt.status_mask = (1u << AD_CAND_PROMOTED) | (1u << AD_CAND_REJECTED);
    flt.limit = 0;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(v);

    /* Every status at once is no filter at all. */
    flt.status_mask = (1u << 6) - 1;
    flt.limit = 2;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, ids[4]);
    ad_skill_candidate_list_free(v, n);

    flt.status_mask = 1u << 6;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    assert_msg_has(&err, "status mask");
    flt.status_mask = 0;
    flt.limit = -1;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    flt.limit = 0;
    flt.agent_id = "nope";
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    assert_msg_has(&err, "agent id");

    /* The other tenant sees only its own. */
    assert_int_equal(ad_store_candidate_list(f->st, f->other, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[5]);
    ad_skill_candidate_list_free(v, n);
}

/* One refusal: the call fails with code, its message names field, nothing is written. */
struct refusal {
    const char *field;
    int code;
};

static void expect_refusal(struct fx *f, struct ad_skill_candidate *c, struct refusal r)
{
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_store_candidate_insert(f->st, c, 5, &err), r.code);
    assert_msg_has(&err, r.field);
    assert_string_equal(c->id, "");
    assert_string_equal(c->created_at, "");
    assert_int_equal(candidate_rows(f), 0);
    fill_candidate(c, f->tenant, "ok_name");
}

static void test_candidate_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate c;
    char *big = malloc(AD_SKILL_CODE_MAX + 2);
    char other_episode[AD_ID_SIZE];
    json_t *wrong;

    assert_non_null(big);
    memset(big, 'a', AD_SKILL_CODE_MAX + 1);
    big[AD_SKILL_CODE_MAX + 1] = '\0';
    make_episode(f, f->other, f->other_agent, false, NAN, other_episode);
    fill_candidate(&c, f->tenant, "ok_name");

    c.skill_name = NULL;
    expect_refusal(f, &c, (struct refusal){ "skill_name", AD_EINVAL });
    c.skill_name = (char *)"";
    expect_refusal(f, &c, (struct refusal){ "skill_name", AD_EINVAL });
    big[AD_NAME_MAX + 1] = '\0';
    c.skill_name = big;
    expect_refusal(f, &c, (struct refusal){ "skill_name", AD_ETOOBIG });
    big[AD_NAME_MAX + 1] = 'a';
    c.generated_code = NULL;
    expect_refusal(f, &c, (struct refusal){ "generated_code", AD_EINVAL });
    c.generated_code = big;
    expect_refusal(f, &c, (struct refusal){ "generated_code", AD_ETOOBIG });
    c.skill_description = big;
    expect_refusal(f, &c, (struct refusal){ "skill_description", AD_ETOOBIG });
    c.skill_description = (char *)"bad \xff utf-8";
    expect_refusal(f, &c, (struct refusal){ "skill_description", AD_EINVAL });
    c.failure_pattern = wrong = json_array();
    expect_refusal(f, &c, (struct refusal){ "failure_pattern", AD_EINVAL });
    c.validation_result = wrong;
    expect_refusal(f, &c, (struct refusal){ "validation_result", AD_EINVAL });
    json_decref(wrong);
    c.risk_score = 1.5;
    expect_refusal(f, &c, (struct refusal){ "risk_score", AD_EINVAL });
    c.risk_score = -0.1;
    expect_refusal(f, &c, (struct refusal){ "risk_score", AD_EINVAL });
    c.fitness_score = INFINITY;
    expect_refusal(f, &c, (struct refusal){ "fitness_score", AD_EINVAL });
    c.reason = big;
    expect_refusal(f, &c, (struct refusal){ "reason", AD_ETOOBIG });
    c.reviewed_by = big;
    expect_refusal(f, &c, (struct refusal){ "reviewed_by", AD_ETOOBIG });
    c.status = (enum ad_candidate_status)6;
    expect_refusal(f, &c, (struct refusal){ "status", AD_EINVAL });
    c.review_status = (enum ad_review_status)4;
    expect_refusal(f, &c, (struct refusal){ "review_status", AD_EINVAL });
    ad__copy_fixed(c.reviewed_at, sizeof(c.reviewed_at), "yesterday");
    expect_refusal(f, &c, (struct refusal){ "reviewed_at", AD_EINVAL });
    ad__copy_fixed(c.validated_at, sizeof(c.validated_at), "2026-13-01T00:00:00Z");
    expect_refusal(f, &c, (struct refusal){ "validated_at", AD_EINVAL });
    ad__copy_fixed(c.tenant_id, sizeof(c.tenant_id), "acme");
    expect_refusal(f, &c, (struct refusal){ "tenant id", AD_EINVAL });
    ad__copy_fixed(c.agent_id, sizeof(c.agent_id), "bot");
    expect_refusal(f, &c, (struct refusal){ "agent id", AD_EINVAL });
    ad__copy_fixed(c.source_episode_id, sizeof(c.source_episode_id), "ep-1");
    expect_refusal(f, &c, (struct refusal){ "source episode id", AD_EINVAL });

    /* References of another tenant: refused by name, nothing written. */
    ad__copy_fixed(c.agent_id, sizeof(c.agent_id), f->other_agent);
    expect_refusal(f, &c, (struct refusal){ "unknown agent", AD_ENOTFOUND });
    ad__copy_fixed(c.agent_id, sizeof(c.agent_id), f->agent);
    ad__copy_fixed(c.source_episode_id, sizeof(c.source_episode_id), other_episode);
    expect_refusal(f, &c, (struct refusal){ "unknown episode", AD_ENOTFOUND });
    /* A tenant id that is well-formed but no tenant's. */
    ad__copy_fixed(c.tenant_id, sizeof(c.tenant_id), f->agent);
    expect_refusal(f, &c, (struct refusal){ "unknown tenant", AD_ENOTFOUND });
    free(big);
}

static void test_candidate_tenant_isolation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate got, *v = NULL;
    char id[AD_ID_SIZE], since[AD_TIME_SIZE];
    int64_t count = -1;
    size_t n = 0;

    add_candidate(f, f->tenant, f->agent, "mine", AD_CAND_VALIDATED, id);
    assert_int_equal(ad_store_candidate_get(f->st, f->other, id, &got, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_candidate_list(f->st, f->other, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    today_start(since);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->other, since, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->tenant, since, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->tenant, "2999-01-01T00:00:00Z",
                                                    &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->tenant, "soon", &count, &err),
                     AD_EINVAL);
}

static void test_daily_limit(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    char ids[3][AD_ID_SIZE], since[AD_TIME_SIZE], yesterday[AD_TIME_SIZE], sql[256];
    int64_t count = 0;
    int i;

    for (i = 0; i < 3; i++) {
        fill_candidate(&c, f->tenant, "limited");
        assert_int_equal(ad_store_candidate_insert(f->st, &c, 3, &err), 0);
        ad__copy_fixed(ids[i], AD_ID_SIZE, c.id);
    }
    fill_candidate(&c, f->tenant, "one_too_many");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 3, &err), AD_ELIMIT);
    today_start(since);
    assert_msg_has(&err, "daily limit reached: 3 of 3 skill candidates created since ");
    assert_msg_has(&err, since);
    assert_msg_has(&err, "max_skill_candidates_per_day");
    assert_string_equal(c.id, "");
    assert_int_equal(candidate_rows(f), 3);
    assert_int_equal(ad_store_tx_depth(f->st), 0);

    /* The limit is per tenant, and 0 means none. */
    fill_candidate(&c, f->other, "theirs");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 3, &err), 0);
    fill_candidate(&c, f->tenant, "unlimited");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 0, &err), 0);
    ad__copy_fixed(ids[2], AD_ID_SIZE, c.id);
    fill_candidate(&c, f->tenant, "still_over");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 4, &err), AD_ELIMIT);
    assert_msg_has(&err, "4 of 4");

    /* Rows of yesterday do not count against today. */
    ad_time_iso(ad_now_ms() - 24 * 3600 * 1000, yesterday);
    snprintf(sql, sizeof(sql),
             "UPDATE skill_candidates SET created_at = '%s' WHERE id IN ('%s', '%s')",
             yesterday, ids[0], ids[1]);
    sql_exec(f, sql);
    assert_int_equal(ad_store_candidate_count_since(f->st, f->tenant, since, &count, &err), 0);
    assert_int_equal(count, 2);
    fill_candidate(&c, f->tenant, "fresh_day");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 3, &err), 0);
    fill_candidate(&c, f->tenant, "over_again");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 3, &err), AD_ELIMIT);
    assert_int_equal(candidate_rows(f), 6);
}

/* Inside the caller's transaction the refusal undoes only its own level. */
static void test_daily_limit_in_transaction(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    struct ad_notification nt = { 0 };

    assert_int_equal(ad_store_begin(f->st, &err), 0);
    fill_candidate(&c, f->tenant, "first");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 1, &err), 0);
    fill_candidate(&c, f->tenant, "second");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 1, &err), AD_ELIMIT);
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), f->tenant);
    nt.type = (char *)"candidate.limit";
    nt.title = (char *)"limit reached";
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(candidate_rows(f), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM notifications"), 1);
}

/* ---- the race ----------------------------------------------------------- */

struct racer {
    const char *path;
    const char *tenant;
    pthread_barrier_t *start;
    int rc;              /* of the candidate insert */
    int open_rc;
    struct ad_err err;   /* of whichever failed */
};

/* One connection of its own, opened before the barrier so the inserts race. */
static void *racer_main(void *arg)
{
    struct ad_store_options o = { 0, 30000 };
    struct racer *r = arg;
    struct ad_store *st = NULL;
    struct ad_skill_candidate c;

    r->open_rc = ad_store_open(r->path, &o, &st, &r->err);
    pthread_barrier_wait(r->start);
    if (r->open_rc)
        return NULL;
    fill_candidate(&c, r->tenant, "racer");
    r->rc = ad_store_candidate_insert(st, &c, RACE_LIMIT, &r->err);
    ad_store_free(st);
    return NULL;
}

/* Runs n racers, racer i for tenants[i % ntenants]; ok[t] gets tenant t's successes. */
static void race(struct fx *f, const char *const *tenants, int ntenants, int n, int *ok)
{
    pthread_barrier_t start;
    pthread_t th[RACERS];
    struct racer r[RACERS];
    int i;

    assert_true(n <= RACERS);
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
    for (i = 0; i < n; i++) {
        r[i] = (struct racer){ f->uri, tenants[i % ntenants], &start, 0, 0, AD_ERR_INIT };
        assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
    }
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    memset(ok, 0, sizeof(*ok) * (size_t)ntenants);
    for (i = 0; i < n; i++) {
        if (r[i].open_rc)
            fail_msg("racer %d: open failed: %s", i, r[i].err.msg);
        if (r[i].rc == 0)
            ok[i % ntenants]++;
        else if (r[i].rc != AD_ELIMIT)
            fail_msg("racer %d: %s (%d)", i, r[i].err.msg, r[i].rc);
        else if (!strstr(r[i].err.msg, "daily limit reached: 5 of 5"))
            fail_msg("racer %d: message '%s'", i, r[i].err.msg);
    }
}

static void test_daily_limit_race(void **state)
{
    struct fx *f = *state;
    const char *tenants[1] = { f->tenant };
    int ok = 0;

    race(f, tenants, 1, RACERS, &ok);
    assert_int_equal(ok, RACE_LIMIT);
    assert_int_equal(candidate_rows(f), RACE_LIMIT);
}

static void test_daily_limit_race_two_tenants(void **state)
{
    struct fx *f = *state;
    const char *tenants[2] = { f->tenant, f->other };
    int ok[2] = { 0, 0 };
    char sql[160];

    race(f, tenants, 2, RACERS, ok);
    assert_int_equal(ok[0], RACE_LIMIT);
    assert_int_equal(ok[1], RACE_LIMIT);
    assert_int_equal(candidate_rows(f), 2 * RACE_LIMIT);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM skill_candidates WHERE tenant_id = '%s'",
             f->other);
    assert_int_equal(sql_int(f, sql), RACE_LIMIT);
}

/* ---- capability usage --------------------------------------------------- */

static void test_capability_usage(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_capability_count cc;
    char agent2[AD_ID_SIZE], since[AD_TIME_SIZE];

    make_agent(f, f->tenant, "bot2", agent2);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent, "web.search",
                                                      true, &err), 0);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent, "web.search",
                                                      false, &err), 0);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent, "web.search",
                                                      true, &err), 0);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, agent2, "web.search",
                                                      true, &err), 0);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent, "file_write",
                                                      false, &err), 0);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->other, f->other_agent,
                                                      "web.search", true, &err), 0);

    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->agent, "web.search",
                                                     NULL, &cc, &err), 0);
    assert_int_equal(cc.uses, 3);
    assert_int_equal(cc.successes, 2);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, NULL, "web.search", NULL,
                                                     &cc, &err), 0);
    assert_int_equal(cc.uses, 4);
    assert_int_equal(cc.successes, 3);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->agent, "file_write",
                                                     NULL, &cc, &err), 0);
    assert_int_equal(cc.uses, 1);
    assert_int_equal(cc.successes, 0);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->agent, "shell",
                                                     NULL, &cc, &err), 0);
    assert_int_equal(cc.uses, 0);
    today_start(since);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, NULL, "web.search", since,
                                                     &cc, &err), 0);
    assert_int_equal(cc.uses, 4);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, NULL, "web.search",
                                                     "2999-01-01T00:00:00Z", &cc, &err), 0);
    assert_int_equal(cc.uses, 0);
    assert_int_equal(cc.successes, 0);
    /* Another tenant's agent counts nothing here. */
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->other_agent,
                                                     "web.search", NULL, &cc, &err), 0);
    assert_int_equal(cc.uses, 0);

    /* Refusals. */
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->other_agent,
                                                      "web.search", true, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent");
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent, "Web-Search",
                                                      true, &err), AD_EINVAL);
    assert_msg_has(&err, "capability");
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent, "", true,
                                                      &err), AD_EINVAL);
    assert_msg_has(&err, "capability");
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, f->agent,
                                                      "a123456789012345678901234567890123456789"
                                                      "0123456789012345678901234", true, &err),
                     AD_ETOOBIG);
    assert_int_equal(ad_store_capability_usage_insert(f->st, f->tenant, NULL, "x", true, &err),
                     AD_EINVAL);
    assert_msg_has(&err, "agent id");
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, NULL, "web.search",
                                                     "later", &cc, &err), AD_EINVAL);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM capability_usage"), 6);
}

/* ---- notifications ------------------------------------------------------ */

static void notify(struct fx *f, const char *tenant, const char *agent, const char *type,
                   const char *title, char id[AD_ID_SIZE])
{
    struct ad_notification nt = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), tenant);
    ad__copy_fixed(nt.agent_id, sizeof(nt.agent_id), agent);
    nt.type = (char *)type;
    nt.title = (char *)title;
    if (ad_store_notification_insert(f->st, &nt, &err))
        fail_msg("notification insert: %s", err.msg);
    if (id)
        ad__copy_fixed(id, AD_ID_SIZE, nt.id);
}

static void test_notifications(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_notification nt = { 0 }, *v = NULL;
    char ids[4][AD_ID_SIZE], other_id[AD_ID_SIZE], first_read[AD_TIME_SIZE];
    int64_t count = -1;
    size_t n = 0;

    /* Every field round-trips. */
    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), f->tenant);
    ad__copy_fixed(nt.agent_id, sizeof(nt.agent_id), f->agent);
    nt.type = (char *)"candidate.validated";
    nt.title = (char *)"a skill awaits review";
    nt.message = (char *)"parse_invoice passed 4 of 4 tests";
    nt.payload = json_pack("{s:s}", "candidate_id", "x");
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), 0);
    ad__copy_fixed(ids[0], AD_ID_SIZE, nt.id);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, NULL, 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, nt.id);
    assert_string_equal(v[0].tenant_id, f->tenant);
    assert_string_equal(v[0].agent_id, f->agent);
    assert_string_equal(v[0].type, "candidate.validated");
    assert_string_equal(v[0].title, "a skill awaits review");
    assert_string_equal(v[0].message, "parse_invoice passed 4 of 4 tests");
    assert_true(json_equal(v[0].payload, nt.payload));
    assert_string_equal(v[0].read_at, "");
    assert_string_equal(v[0].created_at, nt.created_at);
    ad_notification_list_free(v, n);
    json_decref(nt.payload);

    notify(f, f->tenant, "", "graduation", "bot is ready", ids[1]);
    notify(f, f->tenant, f->agent, "candidate.validated", "another one", ids[2]);
    notify(f, f->tenant, "", "budget", "llm budget at 80%", ids[3]);
    notify(f, f->other, f->other_agent, "budget", "theirs", other_id);

    /* Newest first; a NULL message reads back as "". */
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, NULL, 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].id, ids[3]);
    assert_string_equal(v[3].id, ids[0]);
    assert_string_equal(v[0].message, "");
    assert_null(v[0].payload);
    assert_string_equal(v[0].agent_id, "");
    ad_notification_list_free(v, n);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, "candidate.validated",
                                                1, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[2]);
    ad_notification_list_free(v, n);

    /* Marking one read: once counts 1, again counts 0 and keeps the first read_at. */
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, ids[2], &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, "candidate.validated",
                                                0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(strlen(v[0].read_at), 24);
    ad__copy_fixed(first_read, sizeof(first_read), v[0].read_at);
    assert_string_equal(v[1].read_at, "");
    ad_notification_list_free(v, n);
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, ids[2], &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, "candidate.validated",
                                                1, &v, &n, &err), 0);
    assert_string_equal(v[0].read_at, first_read);
    ad_notification_list_free(v, n);

    assert_int_equal(ad_store_notification_list(f->st, f->tenant, true, NULL, 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, ids[3]);
    assert_string_equal(v[1].id, ids[1]);
    assert_string_equal(v[2].id, ids[0]);
    ad_notification_list_free(v, n);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, true, "candidate.validated", 0,
                                                &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[0]);
    ad_notification_list_free(v, n);

    /* Unknown ids, and another tenant's, are not found; nothing of theirs changes. */
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, other_id, &count, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown notification");
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, f->agent, &count, &err),
                     AD_ENOTFOUND);

    /* All unread at once. */
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, true, NULL, 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_notification_list(f->st, f->other, true, NULL, 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, other_id);
    ad_notification_list_free(v, n);
}

static void test_notification_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_notification nt = { 0 }, *v = NULL;
    char *big = malloc(AD_NOTIFY_MESSAGE_MAX + 2);
    size_t n = 0;

    assert_non_null(big);
    memset(big, 'm', AD_NOTIFY_MESSAGE_MAX + 1);
    big[AD_NOTIFY_MESSAGE_MAX + 1] = '\0';
    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), f->tenant);
    nt.type = (char *)"Bad Type";
    nt.title = (char *)"t";
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_EINVAL);
    assert_msg_has(&err, "'type'");
    nt.type = NULL;
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_EINVAL);
    assert_msg_has(&err, "'type'");
    nt.type = (char *)"ok";
    nt.title = NULL;
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_EINVAL);
    assert_msg_has(&err, "'title'");
    big[AD_NOTIFY_TITLE_MAX + 1] = '\0';
    nt.title = big;
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_ETOOBIG);
    assert_msg_has(&err, "'title'");
    big[AD_NOTIFY_TITLE_MAX + 1] = 'm';
    nt.title = (char *)"t";
    nt.message = big;
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_ETOOBIG);
    assert_msg_has(&err, "'message'");
    nt.message = NULL;
    nt.payload = json_array();
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_EINVAL);
    assert_msg_has(&err, "'payload'");
    json_decref(nt.payload);
    nt.payload = NULL;
    ad__copy_fixed(nt.agent_id, sizeof(nt.agent_id), f->other_agent);
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent");
    assert_string_equal(nt.id, "");
    nt.agent_id[0] = '\0';
    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), f->agent);
    assert_int_equal(ad_store_notification_insert(f->st, &nt, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown tenant");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM notifications"), 0);
    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, "No", 0, &v, &n, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_notification_mark_read(f->st, f->tenant, "x", NULL, &err),
                     AD_EINVAL);
    assert_msg_has(&err, "notification id");
    free(big);
}

/* ---- agent record ------------------------------------------------------- */

static void test_agent_record(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent_record r;
    char agent2[AD_ID_SIZE];

    make_agent(f, f->tenant, "bot2", agent2);
    assert_int_equal(ad_store_agent_record(f->st, f->tenant, f->agent, &r, &err), 0);
    assert_int_equal(r.episodes, 0);
    assert_int_equal(r.interventions, 0);
    assert_int_equal(r.constitutional_n, 0);
    assert_true(r.constitutional_mean == 0);

    make_episode(f, f->tenant, f->agent, true, 0.5, NULL);
    make_episode(f, f->tenant, f->agent, false, 1.0, NULL);
    make_episode(f, f->tenant, f->agent, true, NAN, NULL);
    make_episode(f, f->tenant, f->agent, false, NAN, NULL);
    make_episode(f, f->tenant, f->agent, false, 0.0, NULL);
    make_episode(f, f->tenant, agent2, true, 0.1, NULL);
    make_episode(f, f->other, f->other_agent, true, 0.9, NULL);

    assert_int_equal(ad_store_agent_record(f->st, f->tenant, f->agent, &r, &err), 0);
    assert_int_equal(r.episodes, 5);
    assert_int_equal(r.interventions, 2);
    assert_int_equal(r.constitutional_n, 3);
    assert_true(fabs(r.constitutional_mean - 0.5) < 1e-12);
    assert_int_equal(ad_store_agent_record(f->st, f->tenant, agent2, &r, &err), 0);
    assert_int_equal(r.episodes, 1);
    assert_int_equal(r.interventions, 1);
    assert_int_equal(r.constitutional_n, 1);
    assert_true(fabs(r.constitutional_mean - 0.1) < 1e-12);

    assert_int_equal(ad_store_agent_record(f->st, f->tenant, f->other_agent, &r, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent");
    assert_int_equal(r.episodes, 0);
    assert_int_equal(ad_store_agent_record(f->st, f->other, f->agent, &r, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_agent_record(f->st, f->tenant, "bot", &r, &err), AD_EINVAL);
    assert_msg_has(&err, "agent id");
}

/* ---- read-only ---------------------------------------------------------- */

static void test_readonly_refuses_writes(void **state)
{
    struct fx *f = *state;
    struct ad_store_options o = { AD_STORE_READONLY, 0 };
    struct ad_store *ro = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    struct ad_notification nt = { 0 };
    int64_t count;

    assert_int_equal(ad_store_open(f->uri, &o, &ro, &err), 0);
    fill_candidate(&c, f->tenant, "nope");
    assert_int_equal(ad_store_candidate_insert(ro, &c, 5, &err), AD_EPERM);
    assert_int_equal(ad_store_capability_usage_insert(ro, f->tenant, f->agent, "x", true, &err),
                     AD_EPERM);
    ad__copy_fixed(nt.tenant_id, sizeof(nt.tenant_id), f->tenant);
    nt.type = (char *)"x";
    nt.title = (char *)"x";
    assert_int_equal(ad_store_notification_insert(ro, &nt, &err), AD_EPERM);
    assert_int_equal(ad_store_notification_mark_read(ro, f->tenant, NULL, &count, &err),
                     AD_EPERM);
    assert_int_equal(ad_store_candidate_count_since(ro, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 0);
    ad_store_free(ro);
}

/* ---- the group ---------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agents, fx_teardown)
const struct CMUnitTest suite_learn[] = {
    cmocka_unit_test(test_enum_names),
    T(test_candidate_round_trip),
    T(test_candidate_update),
    T(test_candidate_list),
    T(test_candidate_refusals),
    T(test_candidate_tenant_isolation),
    T(test_daily_limit),
    T(test_daily_limit_in_transaction),
    T(test_daily_limit_race),
    T(test_daily_limit_race_two_tenants),
    T(test_capability_usage),
    T(test_notifications),
    T(test_notification_refusals),
    T(test_agent_record),
    T(test_readonly_refuses_writes),
};
#undef T

const size_t suite_nlearn = AD_ARRAY_SIZE(suite_learn);
