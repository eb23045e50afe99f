/*
 * The conformance suite (store_suite.h): AlphaEvolver's rows: tool
 * mutations (round trip, field checks naming the field, references of the
 * same tenant, the daily limit, a job's mutant index taken once, the list's
 * filters and orders, the lineage), workflow variants (round trip, the top
 * list's order and its > 0 filter) and a skill version's ancestry. Every
 * call keeps tenants apart: another tenant's id is AD_ENOTFOUND.
 *
 * Sections: helpers; names; mutations; the daily limit; lists and
 * lineage; variants; ancestry; the group's table last.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "autodev/json.h"
#include "autodev/store.h"

#include "store/store_backend.h"
#include "store_suite.h"

/* ---- helpers ------------------------------------------------------------ */

static const char code_v1[] = "def run(x):\n    return x\n";

/* A skill of tenant with its first version; ids into sid and vid. */
static void add_skill(struct fx *f, const char *tenant, const char *name, char sid[AD_ID_SIZE],
                      char vid[AD_ID_SIZE])
{
    struct ad_skill s;
    struct ad_skill_version v;
    struct ad_err err = AD_ERR_INIT;

    memset(&s, 0, sizeof(s));
    memset(&v, 0, sizeof(v));
    ad__copy_fixed(s.tenant_id, sizeof(s.tenant_id), tenant);
    s.name = (char *)name;
    s.entry_function = (char *)"run";
    ad__copy_fixed(v.semver, sizeof(v.semver), "1.0.0");
    v.code = (char *)code_v1;
    if (ad_store_skill_insert(f->st, &s, &v, &err))
        fail_msg("skill insert: %s", err.msg);
    ad__copy_fixed(sid, AD_ID_SIZE, s.id);
    ad__copy_fixed(vid, AD_ID_SIZE, v.id);
}

/* Version semver of skill sid (tenant's) with parent; its id into vid. */
static void add_version(struct fx *f, const char *sid, const char *semver, const char *parent,
                        char vid[AD_ID_SIZE])
{
    struct ad_skill_version v;
    struct ad_err err = AD_ERR_INIT;

    memset(&v, 0, sizeof(v));
    ad__copy_fixed(v.tenant_id, sizeof(v.tenant_id), f->tenant);
    ad__copy_fixed(v.skill_id, sizeof(v.skill_id), sid);
    ad__copy_fixed(v.semver, sizeof(v.semver), semver);
    ad__copy_fixed(v.parent_version_id, sizeof(v.parent_version_id), parent);
    v.code = (char *)code_v1;
    v.origin = AD_ORIGIN_ALPHA;
    if (ad_store_skill_version_insert(f->st, &v, true, &err))
        fail_msg("version insert: %s", err.msg);
    ad__copy_fixed(vid, AD_ID_SIZE, v.id);
}

/* A minimal mutation of tenant; members are borrowed string literals. */
static void fill_mutation(struct ad_tool_mutation *m, const char *tenant)
{
    ad_tool_mutation_init(m);
    ad__copy_fixed(m->tenant_id, sizeof(m->tenant_id), tenant);
    m->tool_name = (char *)"sum_list";
    m->mutated_code = (char *)"def run(x):\n    return x + 0\n";
}

/* Inserts a minimal mutation (no limit) of the tenant; parent may be "". */
static void add_mutation(struct fx *f, const char *tenant, const char *parent,
                         char id[AD_ID_SIZE])
{
    struct ad_tool_mutation m;
    struct ad_err err = AD_ERR_INIT;

    fill_mutation(&m, tenant);
    ad__copy_fixed(m.parent_tool_id, sizeof(m.parent_tool_id), parent);
    if (ad_store_mutation_insert(f->st, &m, 0, &err))
        fail_msg("mutation insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, m.id);
}

static int64_t mutation_rows(const struct fx *f)
{
    return sql_int(f, "SELECT count(*) FROM tool_mutations");
}

/* A minimal variant of tenant with score (NAN: none). */
static void add_variant(struct fx *f, const char *tenant, const char *agent, double score,
                        char id[AD_ID_SIZE])
{
    struct ad_workflow_variant v;
    struct ad_err err = AD_ERR_INIT;

    ad_workflow_variant_init(&v);
    ad__copy_fixed(v.tenant_id, sizeof(v.tenant_id), tenant);
    ad__copy_fixed(v.agent_id, sizeof(v.agent_id), agent);
    v.workflow_definition = json_pack("{s:s}", "skill", "sum_list");
    v.fitness_score = score;
    if (ad_store_variant_insert(f->st, &v, &err))
        fail_msg("variant insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, v.id);
    json_decref(v.workflow_definition);
}

/* ---- names -------------------------------------------------------------- */

static void test_alpha_enum_names(void **state)
{
    enum ad_mutation_status ms;
    enum ad_mutation_decision d;
    enum ad_variant_status vs;

    (void)state;
    assert_string_equal(ad_mutation_status_name(AD_MSTAT_TIMEOUT), "timeout");
    assert_null(ad_mutation_status_name((enum ad_mutation_status)6));
    assert_int_equal(ad_mutation_status_parse("PASSED", &ms), 0);
    assert_int_equal(ms, AD_MSTAT_PASSED);
    assert_int_equal(ad_mutation_status_parse("won", &ms), AD_EINVAL);
    assert_null(ad_mutation_decision_name(AD_DECISION_NONE));
    assert_string_equal(ad_mutation_decision_name(AD_DECISION_LOST), "lost");
    assert_string_equal(ad_mutation_decision_name(AD_DECISION_WON), "won");
    assert_int_equal(ad_mutation_decision_parse("won", &d), 0);
    assert_int_equal(d, AD_DECISION_WON);
    assert_int_equal(ad_mutation_decision_parse("draw", &d), AD_EINVAL);
    assert_string_equal(ad_variant_status_name(AD_VSTAT_ROLLED_BACK), "rolled_back");
    assert_int_equal(ad_variant_status_parse("promoted", &vs), 0);
    assert_int_equal(vs, AD_VSTAT_PROMOTED);
    assert_int_equal(ad_variant_status_parse("gone", &vs), AD_EINVAL);
}

/* ---- mutations ---------------------------------------------------------- */

static void test_mutation_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    char sid[AD_ID_SIZE], vid[AD_ID_SIZE], parent[AD_ID_SIZE];
    char job[AD_ID_SIZE] = "01900000-0000-7000-8000-00000000a001";

    add_skill(f, f->tenant, "sum_list", sid, vid);
    add_mutation(f, f->tenant, "", parent);
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.parent_tool_id, sizeof(m.parent_tool_id), parent);
    ad__copy_fixed(m.skill_id, sizeof(m.skill_id), sid);
    ad__copy_fixed(m.parent_skill_version_id, sizeof(m.parent_skill_version_id), vid);
    ad__copy_fixed(m.agent_id, sizeof(m.agent_id), f->agent);
    ad__copy_fixed(m.job_id, sizeof(m.job_id), job);
    m.status = AD_MSTAT_PASSED;
    m.mutant_index = 3;
    m.trigger = (char *)"latency";
    m.proposer = (char *)"offline";
    m.mutation_operator = (char *)"number";
    m.edit = (char *)"<<<<<<< SEARCH\nx\n=======\nx + 0\n>>>>>>> REPLACE\n";
    m.test_set = json_pack("[{s:i}]", "x", 1);
    m.proxy_signals = json_pack("{s:f}", "match_rate", 1.0);
    m.decision = AD_DECISION_WON;
    m.decision_reason = (char *)"faster by 20%";
    m.fitness_delta = 0.125;
    m.risk_score = 0.2;
    m.risk = json_pack("{s:s, s:f, s:[s]}", "level", "low", "score", 0.2, "reasons", "none");
    m.review_status = AD_REVIEW_PENDING;
    ad__copy_fixed(m.evaluated_at, sizeof(m.evaluated_at), "2030-01-02T03:04:05Z");
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    assert_true(ad_id_valid(m.id));
    assert_int_equal(strlen(m.created_at), 24);

    assert_int_equal(ad_store_mutation_get(f->st, f->tenant, m.id, &got, &err), 0);
    assert_string_equal(got.parent_tool_id, parent);
    assert_string_equal(got.tool_name, "sum_list");
    assert_string_equal(got.mutated_code, m.mutated_code);
    assert_int_equal(got.status, AD_MSTAT_PASSED);
    assert_null(got.execution_error);
    assert_string_equal(got.skill_id, sid);
    assert_string_equal(got.parent_skill_version_id, vid);
    assert_string_equal(got.agent_id, f->agent);
    assert_string_equal(got.job_id, job);
    assert_int_equal(got.mutant_index, 3);
    assert_string_equal(got.trigger, "latency");
    assert_string_equal(got.proposer, "offline");
    assert_string_equal(got.mutation_operator, "number");
    assert_string_equal(got.edit, m.edit);
    assert_true(json_equal(got.test_set, m.test_set));
    assert_true(json_equal(got.proxy_signals, m.proxy_signals));
    assert_int_equal(got.decision, AD_DECISION_WON);
    assert_string_equal(got.decision_reason, "faster by 20%");
    assert_true(got.fitness_delta == 0.125);
    assert_true(got.risk_score == 0.2);
    assert_true(json_equal(got.risk, m.risk));
    assert_int_equal(got.review_status, AD_REVIEW_PENDING);
    assert_null(got.reviewed_by);
    assert_string_equal(got.reviewed_at, "");
    assert_string_equal(got.promoted_version_id, "");
    assert_string_equal(got.created_at, m.created_at);
    assert_string_equal(got.evaluated_at, "2030-01-02T03:04:05.000Z");
    ad_tool_mutation_release(&got);
    json_decref(m.test_set);
    json_decref(m.proxy_signals);
    json_decref(m.risk);

    /* A bare mutation reads back with every unknown as unknown. */
    add_mutation(f, f->tenant, "", parent);
    assert_int_equal(ad_store_mutation_get(f->st, f->tenant, parent, &got, &err), 0);
    assert_int_equal(got.decision, AD_DECISION_NONE);
    assert_int_equal(got.review_status, AD_REVIEW_NONE);
    assert_true(isnan(got.fitness_delta) && isnan(got.risk_score));
    assert_null(got.test_set);
    assert_null(got.risk);
    assert_string_equal(got.job_id, "");
    ad_tool_mutation_release(&got);
}

static void test_mutation_update(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, got;
    char sid[AD_ID_SIZE], vid[AD_ID_SIZE], v2[AD_ID_SIZE], theirs_s[AD_ID_SIZE];
    char theirs_v[AD_ID_SIZE], id[AD_ID_SIZE];

    add_skill(f, f->tenant, "sum_list", sid, vid);
    add_version(f, sid, "1.1.0", vid, v2);
    add_skill(f, f->other, "sum_list", theirs_s, theirs_v);
    add_mutation(f, f->tenant, "", id);
    assert_int_equal(ad_store_mutation_get(f->st, f->tenant, id, &m, &err), 0);
    m.status = AD_MSTAT_FAILED;
    m.execution_error = strdup("ValueError: no");
    m.proxy_signals = json_pack("{s:i}", "runs", 5);
    m.decision = AD_DECISION_LOST;
    m.decision_reason = strdup("outputs differ");
    m.fitness_delta = -0.5;
    m.risk_score = 1;
    m.risk = json_pack("{s:s}", "level", "high");
    m.review_status = AD_REVIEW_APPROVED;
    m.reviewed_by = strdup("ann");
    ad__copy_fixed(m.reviewed_at, sizeof(m.reviewed_at), "2030-01-01T00:00:00Z");
    m.reason = strdup("fine");
    ad__copy_fixed(m.promoted_version_id, sizeof(m.promoted_version_id), v2);
    ad__copy_fixed(m.evaluated_at, sizeof(m.evaluated_at), "2030-01-01T00:00:01Z");
    /* The fields an update does not write stay as inserted. */
    free(m.tool_name);
    m.tool_name = strdup("renamed");
    assert_int_equal(ad_store_mutation_update(f->st, &m, &err), 0);
    assert_int_equal(ad_store_mutation_get(f->st, f->tenant, id, &got, &err), 0);
    assert_int_equal(got.status, AD_MSTAT_FAILED);
    assert_string_equal(got.execution_error, "ValueError: no");
    assert_true(json_equal(got.proxy_signals, m.proxy_signals));
    assert_int_equal(got.decision, AD_DECISION_LOST);
    assert_string_equal(got.decision_reason, "outputs differ");
    assert_true(got.fitness_delta == -0.5);
    assert_true(got.risk_score == 1);
    assert_string_equal(ad_json_str(got.risk, "level"), "high");
    assert_int_equal(got.review_status, AD_REVIEW_APPROVED);
    assert_string_equal(got.reviewed_by, "ann");
    assert_string_equal(got.reviewed_at, "2030-01-01T00:00:00.000Z");
    assert_string_equal(got.reason, "fine");
    assert_string_equal(got.promoted_version_id, v2);
    assert_string_equal(got.evaluated_at, "2030-01-01T00:00:01.000Z");
    assert_string_equal(got.tool_name, "sum_list");
    ad_tool_mutation_release(&got);

    /* Another tenant's version cannot be the promoted one; nothing changes. */
    ad__copy_fixed(m.promoted_version_id, sizeof(m.promoted_version_id), theirs_v);
    m.status = AD_MSTAT_PASSED;
    assert_int_equal(ad_store_mutation_update(f->st, &m, &err), AD_ENOTFOUND);
    assert_msg_has(&err, theirs_v);
    assert_int_equal(ad_store_mutation_get(f->st, f->tenant, id, &got, &err), 0);
    assert_int_equal(got.status, AD_MSTAT_FAILED);
    ad_tool_mutation_release(&got);
    /* Nor can the other tenant update ours. */
    ad__copy_fixed(m.promoted_version_id, sizeof(m.promoted_version_id), "");
    ad__copy_fixed(m.tenant_id, sizeof(m.tenant_id), f->other);
    assert_int_equal(ad_store_mutation_update(f->st, &m, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown mutation");
    ad_tool_mutation_release(&m);
}

struct refusal {
    int code;
    const char *msg;
};

static void expect_refusal(struct fx *f, struct ad_tool_mutation *m, struct refusal r)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t before = mutation_rows(f);

    assert_int_equal(ad_store_mutation_insert(f->st, m, 0, &err), r.code);
    assert_msg_has(&err, r.msg);
    assert_string_equal(m->id, "");
    assert_int_equal(mutation_rows(f), before);
}

static void test_mutation_refusals(void **state)
{
    static char big[AD_SKILL_CODE_MAX + 2];
    struct fx *f = *state;
    struct ad_tool_mutation m;
    char sid[AD_ID_SIZE], vid[AD_ID_SIZE], other_sid[AD_ID_SIZE], other_vid[AD_ID_SIZE];
    char theirs_s[AD_ID_SIZE], theirs_v[AD_ID_SIZE], theirs_m[AD_ID_SIZE];

    add_skill(f, f->tenant, "sum_list", sid, vid);
    add_skill(f, f->tenant, "other_skill", other_sid, other_vid);
    add_skill(f, f->other, "sum_list", theirs_s, theirs_v);
    add_mutation(f, f->other, "", theirs_m);

    fill_mutation(&m, f->tenant);
    m.tool_name = NULL;
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "tool_name" });
    fill_mutation(&m, f->tenant);
    memset(big, 'x', sizeof(big) - 1);
    m.mutated_code = big;
    expect_refusal(f, &m, (struct refusal){ AD_ETOOBIG, "mutated_code" });
    fill_mutation(&m, f->tenant);
    m.trigger = (char *)"Latency!";
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "trigger" });
    fill_mutation(&m, f->tenant);
    m.mutant_index = -1;
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "mutant_index" });
    fill_mutation(&m, f->tenant);
    m.risk_score = 1.5;
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "risk_score" });
    fill_mutation(&m, f->tenant);
    m.fitness_delta = INFINITY;
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "fitness_delta" });
    fill_mutation(&m, f->tenant);
    m.test_set = json_object();
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "test_set" });
    json_decref(m.test_set);
    fill_mutation(&m, f->tenant);
    m.risk = json_array();
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "risk" });
    json_decref(m.risk);
    fill_mutation(&m, f->tenant);
    m.decision = (enum ad_mutation_decision)7;
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "decision" });
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.job_id, sizeof(m.job_id), "job-1");
    expect_refusal(f, &m, (struct refusal){ AD_EINVAL, "job id" });

    /* References of another tenant, or a version of another skill. */
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.agent_id, sizeof(m.agent_id), f->other_agent);
    expect_refusal(f, &m, (struct refusal){ AD_ENOTFOUND, "unknown agent" });
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.skill_id, sizeof(m.skill_id), theirs_s);
    expect_refusal(f, &m, (struct refusal){ AD_ENOTFOUND, "unknown skill" });
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.parent_tool_id, sizeof(m.parent_tool_id), theirs_m);
    expect_refusal(f, &m, (struct refusal){ AD_ENOTFOUND, "unknown parent mutation" });
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.parent_skill_version_id, sizeof(m.parent_skill_version_id), theirs_v);
    expect_refusal(f, &m, (struct refusal){ AD_ENOTFOUND, "unknown skill version" });
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.skill_id, sizeof(m.skill_id), sid);
    ad__copy_fixed(m.parent_skill_version_id, sizeof(m.parent_skill_version_id), other_vid);
    expect_refusal(f, &m, (struct refusal){ AD_ENOTFOUND, "is not a version of skill" });
}

static void test_mutation_job_index_taken_once(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    const char *job = "01900000-0000-7000-8000-00000000a002";

    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.job_id, sizeof(m.job_id), job);
    m.mutant_index = 0;
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    fill_mutation(&m, f->tenant);
    ad__copy_fixed(m.job_id, sizeof(m.job_id), job);
    m.mutant_index = 0;
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), AD_EEXIST);
    assert_msg_has(&err, "mutant 0 of job");
    assert_string_equal(m.id, "");
    m.mutant_index = 1;
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    /* Another tenant's job of the same id is its own; no job never collides. */
    fill_mutation(&m, f->other);
    ad__copy_fixed(m.job_id, sizeof(m.job_id), job);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    fill_mutation(&m, f->tenant);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    fill_mutation(&m, f->tenant);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    assert_int_equal(mutation_rows(f), 5);
}

static void test_mutation_tenant_isolation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation got, *v = NULL;
    struct ad_mutation_filter mf = AD_MUTATION_FILTER_INIT;
    char id[AD_ID_SIZE];
    size_t n = 0;

    add_mutation(f, f->tenant, "", id);
    assert_int_equal(ad_store_mutation_get(f->st, f->other, id, &got, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown mutation");
    assert_int_equal(ad_store_mutation_lineage(f->st, f->other, id, &v, &n, &err),
                     AD_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_int_equal(ad_store_mutation_list(f->st, f->other, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(ad_store_mutation_get(f->st, f->tenant, "not-an-id", &got, &err),
                     AD_EINVAL);
}

/* ---- the daily limit ---------------------------------------------------- */

static void test_mutation_daily_limit(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    char ids[2][AD_ID_SIZE], yesterday[AD_TIME_SIZE], sql[256];
    int64_t count = 0;

    for (int i = 0; i < 2; i++) {
        fill_mutation(&m, f->tenant);
        assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), 0);
        ad__copy_fixed(ids[i], AD_ID_SIZE, m.id);
    }
    fill_mutation(&m, f->tenant);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), AD_ELIMIT);
    assert_msg_has(&err, "daily limit reached: 2 of 2 mutations");
    assert_msg_has(&err, "max_mutations_per_day");
    assert_string_equal(m.id, "");
    assert_int_equal(mutation_rows(f), 2);
    assert_int_equal(ad_store_mutation_count_since(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 2);

    /* Per tenant; 0 is no limit; yesterday's rows do not count. */
    fill_mutation(&m, f->other);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), 0);
    fill_mutation(&m, f->tenant);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
    ad_time_iso(ad_now_ms() - 24 * 3600 * 1000, yesterday);
    snprintf(sql, sizeof(sql), "UPDATE tool_mutations SET created_at = '%s' WHERE id IN"
             " ('%s', '%s')", yesterday, ids[0], ids[1]);
    sql_exec(f, sql);
    fill_mutation(&m, f->tenant);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), 0);
    fill_mutation(&m, f->tenant);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), AD_ELIMIT);

    /* Inside the caller's transaction a refusal undoes only its own level. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    fill_mutation(&m, f->other);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), 0);
    fill_mutation(&m, f->other);
    assert_int_equal(ad_store_mutation_insert(f->st, &m, 2, &err), AD_ELIMIT);
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(mutation_rows(f), 6);
}

/* ---- lists and lineage -------------------------------------------------- */

static void test_mutation_list_filters(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_mutation_filter mf = AD_MUTATION_FILTER_INIT;
    struct ad_tool_mutation m, *v = NULL;
    char sid[AD_ID_SIZE], vid[AD_ID_SIZE], ids[4][AD_ID_SIZE];
    const char *job = "01900000-0000-7000-8000-00000000a003";
    size_t n = 0;

    add_skill(f, f->tenant, "sum_list", sid, vid);
    /* A job's three mutants inserted out of index order, and one other. */
    for (int i = 0; i < 3; i++) {
        static const int order[] = { 2, 0, 1 };

        fill_mutation(&m, f->tenant);
        ad__copy_fixed(m.job_id, sizeof(m.job_id), job);
        ad__copy_fixed(m.skill_id, sizeof(m.skill_id), sid);
        m.mutant_index = order[i];
        m.status = i == 0 ? AD_MSTAT_PASSED : AD_MSTAT_FAILED;
        m.decision = i == 0 ? AD_DECISION_WON : i == 1 ? AD_DECISION_LOST : AD_DECISION_NONE;
        m.review_status = i == 0 ? AD_REVIEW_PENDING : AD_REVIEW_NONE;
        assert_int_equal(ad_store_mutation_insert(f->st, &m, 0, &err), 0);
        ad__copy_fixed(ids[i], AD_ID_SIZE, m.id);
    }
    add_mutation(f, f->tenant, "", ids[3]);

    mf.job_id = job;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].mutant_index, (int)i);
    ad_tool_mutation_list_free(v, n);

    mf = (struct ad_mutation_filter)AD_MUTATION_FILTER_INIT;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].id, ids[3]);    /* newest first */
    assert_string_equal(v[3].id, ids[0]);
    ad_tool_mutation_list_free(v, n);

    mf.skill_id = sid;
    mf.status = AD_MSTAT_FAILED;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    ad_tool_mutation_list_free(v, n);

    mf = (struct ad_mutation_filter)AD_MUTATION_FILTER_INIT;
    mf.review_status = AD_REVIEW_PENDING;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[0]);
    ad_tool_mutation_list_free(v, n);
    mf.review_status = AD_REVIEW_NONE;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    ad_tool_mutation_list_free(v, n);

    mf = (struct ad_mutation_filter)AD_MUTATION_FILTER_INIT;
    mf.decision = AD_DECISION_LOST;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[1]);
    ad_tool_mutation_list_free(v, n);
    mf.decision = AD_DECISION_NONE;
    mf.limit = 1;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[3]);
    ad_tool_mutation_list_free(v, n);

    mf.decision = 5;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), AD_EINVAL);
    mf.decision = -2;
    mf.parent_skill_version_id = vid;
    assert_int_equal(ad_store_mutation_list(f->st, f->tenant, &mf, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    free(v);
}

static void test_mutation_lineage_order(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation *v = NULL;
    char a[AD_ID_SIZE], b[AD_ID_SIZE], c[AD_ID_SIZE], side[AD_ID_SIZE];
    size_t n = 0;

    add_mutation(f, f->tenant, "", a);
    add_mutation(f, f->tenant, a, b);
    add_mutation(f, f->tenant, b, c);
    add_mutation(f, f->tenant, a, side);
    assert_int_equal(ad_store_mutation_lineage(f->st, f->tenant, c, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, c);
    assert_string_equal(v[1].id, b);
    assert_string_equal(v[2].id, a);
    assert_string_equal(v[2].parent_tool_id, "");
    assert_string_equal(v[0].tool_name, "sum_list");
    ad_tool_mutation_list_free(v, n);
    assert_int_equal(ad_store_mutation_lineage(f->st, f->tenant, a, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_tool_mutation_list_free(v, n);
    assert_int_equal(ad_store_mutation_lineage(f->st, f->tenant,
                                               "01900000-0000-7000-8000-00000000ffff", &v, &n,
                                               &err), AD_ENOTFOUND);
}

/* ---- variants ----------------------------------------------------------- */

static void test_variant_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v, got;
    char sid[AD_ID_SIZE], vid[AD_ID_SIZE], mid[AD_ID_SIZE], parent[AD_ID_SIZE];
    const char *job = "01900000-0000-7000-8000-00000000a004";

    add_skill(f, f->tenant, "sum_list", sid, vid);
    add_mutation(f, f->tenant, "", mid);
    add_variant(f, f->tenant, f->agent, NAN, parent);
    ad_workflow_variant_init(&v);
    ad__copy_fixed(v.tenant_id, sizeof(v.tenant_id), f->tenant);
    ad__copy_fixed(v.parent_variant_id, sizeof(v.parent_variant_id), parent);
    ad__copy_fixed(v.agent_id, sizeof(v.agent_id), f->agent);
    ad__copy_fixed(v.tool_mutation_id, sizeof(v.tool_mutation_id), mid);
    ad__copy_fixed(v.skill_version_id, sizeof(v.skill_version_id), vid);
    ad__copy_fixed(v.job_id, sizeof(v.job_id), job);
    v.workflow_definition = json_pack("{s:s}", "skill", "sum_list");
    v.fitness_score = 0.75;
    v.fitness_signals = json_pack("{s:{s:f}}", "proxy", "score", 0.5);
    v.evaluation_status = AD_VSTAT_EVALUATED;
    v.risk_score = 0.1;
    assert_int_equal(ad_store_variant_insert(f->st, &v, &err), 0);
    assert_int_equal(ad_store_variant_get(f->st, f->tenant, v.id, &got, &err), 0);
    assert_string_equal(got.parent_variant_id, parent);
    assert_string_equal(got.tool_mutation_id, mid);
    assert_string_equal(got.skill_version_id, vid);
    assert_string_equal(got.job_id, job);
    assert_true(json_equal(got.workflow_definition, v.workflow_definition));
    assert_true(got.fitness_score == 0.75);
    assert_true(json_equal(got.fitness_signals, v.fitness_signals));
    assert_int_equal(got.evaluation_status, AD_VSTAT_EVALUATED);
    assert_int_equal(got.review_status, AD_REVIEW_NONE);
    assert_true(got.risk_score == 0.1);
    assert_string_equal(got.last_evaluated_at, "");

    /* The update writes its fields; the other tenant sees nothing. */
    got.fitness_score = 0.9;
    got.evaluation_status = AD_VSTAT_PROMOTED;
    ad__copy_fixed(got.last_evaluated_at, sizeof(got.last_evaluated_at), "2030-01-01T00:00:00Z");
    assert_int_equal(ad_store_variant_update(f->st, &got, &err), 0);
    ad_workflow_variant_release(&got);
    assert_int_equal(ad_store_variant_get(f->st, f->tenant, v.id, &got, &err), 0);
    assert_true(got.fitness_score == 0.9);
    assert_int_equal(got.evaluation_status, AD_VSTAT_PROMOTED);
    assert_string_equal(got.last_evaluated_at, "2030-01-01T00:00:00.000Z");
    ad__copy_fixed(got.tenant_id, sizeof(got.tenant_id), f->other);
    assert_int_equal(ad_store_variant_update(f->st, &got, &err), AD_ENOTFOUND);
    ad_workflow_variant_release(&got);
    assert_int_equal(ad_store_variant_get(f->st, f->other, v.id, &got, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown variant");

    /* References of another tenant; a definition is required and an object. */
    ad__copy_fixed(v.agent_id, sizeof(v.agent_id), f->other_agent);
    assert_int_equal(ad_store_variant_insert(f->st, &v, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent");
    ad__copy_fixed(v.agent_id, sizeof(v.agent_id), "");
    json_decref(v.workflow_definition);
    v.workflow_definition = NULL;
    assert_int_equal(ad_store_variant_insert(f->st, &v, &err), AD_EINVAL);
    assert_msg_has(&err, "workflow_definition");
    v.workflow_definition = json_array();
    assert_int_equal(ad_store_variant_insert(f->st, &v, &err), AD_EINVAL);
    json_decref(v.workflow_definition);
    json_decref(v.fitness_signals);
}

static void test_variant_top_and_list(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant *v = NULL;
    struct ad_variant_filter vf = { NULL, NULL, NULL, NULL, 0 };
    char other_agent[AD_ID_SIZE], ids[6][AD_ID_SIZE], theirs[AD_ID_SIZE];
    size_t n = 0;
    struct ad_agent a = { 0 };

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"second";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    ad__copy_fixed(other_agent, AD_ID_SIZE, a.id);
    add_variant(f, f->tenant, f->agent, 0.5, ids[0]);
    add_variant(f, f->tenant, f->agent, 0.9, ids[1]);
    add_variant(f, f->tenant, other_agent, 0.5, ids[2]);
    add_variant(f, f->tenant, f->agent, 0, ids[3]);
    add_variant(f, f->tenant, f->agent, NAN, ids[4]);
    add_variant(f, f->tenant, f->agent, -0.2, ids[5]);
    add_variant(f, f->other, f->other_agent, 1.0, theirs);

    assert_int_equal(ad_store_variant_top(f->st, f->tenant, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, ids[1]);
    assert_string_equal(v[1].id, ids[0]);    /* a tie: the older first */
    assert_string_equal(v[2].id, ids[2]);
    ad_workflow_variant_list_free(v, n);
    assert_int_equal(ad_store_variant_top(f->st, f->tenant, other_agent, 10, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[2]);
    ad_workflow_variant_list_free(v, n);
    assert_int_equal(ad_store_variant_top(f->st, f->tenant, NULL, 1, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_workflow_variant_list_free(v, n);

    assert_int_equal(ad_store_variant_list(f->st, f->tenant, &vf, &v, &n, &err), 0);
    assert_int_equal(n, 6);
    assert_string_equal(v[0].id, ids[5]);    /* newest first */
    ad_workflow_variant_list_free(v, n);
    vf.agent_id = other_agent;
    assert_int_equal(ad_store_variant_list(f->st, f->tenant, &vf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_workflow_variant_list_free(v, n);
    assert_int_equal(ad_store_variant_list(f->st, f->other, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, theirs);
    ad_workflow_variant_list_free(v, n);
}

/* ---- ancestry ----------------------------------------------------------- */

static void test_version_ancestry(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_version *v = NULL;
    char sid[AD_ID_SIZE], v1[AD_ID_SIZE], v2[AD_ID_SIZE], v3[AD_ID_SIZE], side[AD_ID_SIZE];
    size_t n = 0;

    add_skill(f, f->tenant, "sum_list", sid, v1);
    add_version(f, sid, "1.1.0", v1, v2);
    add_version(f, sid, "1.2.0", v2, v3);
    add_version(f, sid, "2.0.0", v1, side);
    assert_int_equal(ad_store_skill_version_ancestry(f->st, f->tenant, v3, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].semver, "1.2.0");
    assert_string_equal(v[1].semver, "1.1.0");
    assert_string_equal(v[2].semver, "1.0.0");
    assert_string_equal(v[2].code, code_v1);
    ad_skill_version_list_free(v, n);
    assert_int_equal(ad_store_skill_version_ancestry(f->st, f->other, v3, &v, &n, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill version");
}

/* ---- the group ---------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agents, fx_teardown)
const struct CMUnitTest suite_alpha[] = {
    cmocka_unit_test(test_alpha_enum_names),
    T(test_mutation_round_trip),
    T(test_mutation_update),
    T(test_mutation_refusals),
    T(test_mutation_job_index_taken_once),
    T(test_mutation_tenant_isolation),
    T(test_mutation_daily_limit),
    T(test_mutation_list_filters),
    T(test_mutation_lineage_order),
    T(test_variant_round_trip),
    T(test_variant_top_and_list),
    T(test_version_ancestry),
};
#undef T

const size_t suite_nalpha = AD_ARRAY_SIZE(suite_alpha);
