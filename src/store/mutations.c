/*
 * AlphaEvolver's tool mutations: status and decision names, releasing what
 * the store filled in, checks and the public calls.
 *
 * An insert counts the tenant's mutations of today and inserts only below
 * the daily limit, in one transaction level of the call's own (BEGIN
 * IMMEDIATE outside a caller's transaction, a savepoint inside one), like
 * the candidates' (candidates.c says why that makes the limit hold). The
 * other writes run one statement and use ad__write_begin/ad__write_end.
 */
#include "compat.h"

#include <math.h>

#include "autodev/store.h"

#include "store_backend.h"

static const char *const mutation_status_names[] = {
    [AD_MSTAT_PENDING] = "pending",
    [AD_MSTAT_RUNNING] = "running",
    [AD_MSTAT_PASSED] = "passed",
    [AD_MSTAT_FAILED] = "failed",
    [AD_MSTAT_ERROR] = "error",
    [AD_MSTAT_TIMEOUT] = "timeout",
};

const struct ad__enum ad__mutation_status_enum = {
    mutation_status_names, AD_ARRAY_SIZE(mutation_status_names), "status",
};

const char *ad_mutation_status_name(enum ad_mutation_status s)
{
    return ad__enum_name(&ad__mutation_status_enum, (int)s);
}

int ad_mutation_status_parse(const char *s, enum ad_mutation_status *out)
{
    int i = ad__enum_parse(&ad__mutation_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_mutation_status)i;
    return 0;
}

static const char *const decision_names[] = {
    [AD_DECISION_LOST] = "lost",
    [AD_DECISION_WON] = "won",
};

const struct ad__enum ad__mutation_decision_enum = {
    decision_names, AD_ARRAY_SIZE(decision_names), "decision",
};

const char *ad_mutation_decision_name(enum ad_mutation_decision d)
{
    return ad__enum_name(&ad__mutation_decision_enum, (int)d);
}

int ad_mutation_decision_parse(const char *s, enum ad_mutation_decision *out)
{
    int i = ad__enum_parse(&ad__mutation_decision_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_mutation_decision)i;
    return 0;
}

void ad_tool_mutation_init(struct ad_tool_mutation *m)
{
    memset(m, 0, sizeof(*m));
    m->decision = AD_DECISION_NONE;
    m->fitness_delta = NAN;
    m->risk_score = NAN;
    m->review_status = AD_REVIEW_NONE;
}

void ad_tool_mutation_release(struct ad_tool_mutation *m)
{
    if (!m)
        return;
    free(m->tool_name);
    free(m->mutated_code);
    free(m->execution_error);
    free(m->trigger);
    free(m->proposer);
    free(m->mutation_operator);
    free(m->edit);
    json_decref(m->test_set);
    json_decref(m->proxy_signals);
    free(m->decision_reason);
    json_decref(m->risk);
    free(m->reviewed_by);
    free(m->reason);
    ad_tool_mutation_init(m);
}

void ad_tool_mutation_list_free(struct ad_tool_mutation *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_tool_mutation_release(&v[i]);
    free(v);
}

/* ---- checks ------------------------------------------------------------- */

static void free_json(char *json[AD__MJ_COUNT])
{
    for (int i = 0; i < AD__MJ_COUNT; i++) {
        free(json[i]);
        json[i] = NULL;
    }
}

/* A short word of the engine's (trigger, proposer, operator): NULL, or dotted. */
static int check_word(const char *field, const char *s, struct ad_err *err)
{
    return s ? ad__check_dotted(field, s, AD_MUTATION_WORD_MAX, err) : 0;
}

static int check_enums(const struct ad_tool_mutation *m, struct ad_err *err)
{
    if (!ad_mutation_status_name(m->status))
        return ad_error(err, AD_EINVAL, "field 'status': invalid value %d", (int)m->status);
    if (m->decision != AD_DECISION_NONE && !ad_mutation_decision_name(m->decision))
        return ad_error(err, AD_EINVAL, "field 'decision': invalid value %d", (int)m->decision);
    if (m->review_status != AD_REVIEW_NONE && !ad_review_status_name(m->review_status))
        return ad_error(err, AD_EINVAL, "field 'review_status': invalid value %d",
                        (int)m->review_status);
    return 0;
}

static int check_numbers(const struct ad_tool_mutation *m, struct ad_err *err)
{
    if (!(isnan(m->fitness_delta) || isfinite(m->fitness_delta)))
        return ad_error(err, AD_EINVAL, "field 'fitness_delta': must be finite or unknown (NAN)");
    if (!(isnan(m->risk_score) || (m->risk_score >= 0 && m->risk_score <= 1)))
        return ad_error(err, AD_EINVAL, "field 'risk_score': must be between 0 and 1");
    return 0;
}

/*
 * The fields an update writes (row is the caller's mutation with its times
 * normalised); json[] gets the compact texts of proxy_signals and risk.
 */
static int check_mutable(struct ad_tool_mutation *row, char *json[AD__MJ_COUNT],
                         struct ad_err *err)
{
    int rc = ad__check_id("tenant id", row->tenant_id, err);

    if (!rc)
        rc = check_enums(row, err);
    if (!rc)
        rc = check_numbers(row, err);
    if (!rc)
        rc = ad__check_text("execution_error", row->execution_error, AD_ERROR_TRACE_MAX, 0,
                            err);
    if (!rc)
        rc = ad__check_text("decision_reason", row->decision_reason, AD_REASON_MAX, 0, err);
    if (!rc)
        rc = ad__check_text("reviewed_by", row->reviewed_by, AD_NAME_MAX, 0, err);
    if (!rc)
        rc = ad__check_text("reason", row->reason, AD_REASON_MAX, 0, err);
    if (!rc)
        rc = ad__check_opt_id("promoted version id", row->promoted_version_id, err);
    if (!rc)
        rc = ad__check_opt_time("reviewed_at", row->reviewed_at, err);
    if (!rc)
        rc = ad__check_opt_time("evaluated_at", row->evaluated_at, err);
    if (!rc)
        rc = ad__json_text("proxy_signals", row->proxy_signals, 1 << JSON_OBJECT,
                           &json[AD__MJ_PROXY], err);
    if (!rc)
        rc = ad__json_text("risk", row->risk, 1 << JSON_OBJECT, &json[AD__MJ_RISK], err);
    if (rc)
        free_json(json);
    return rc;
}

/* The fields only an insert writes. */
static int check_fixed(const struct ad_tool_mutation *m, char *json[AD__MJ_COUNT],
                       struct ad_err *err)
{
    int rc = ad__check_text("tool_name", m->tool_name, AD_NAME_MAX, 1, err);

    if (!rc)
        rc = ad__check_text("mutated_code", m->mutated_code, AD_SKILL_CODE_MAX, 1, err);
    if (!rc)
        rc = ad__check_text("edit", m->edit, AD_SKILL_CODE_MAX, 0, err);
    if (!rc)
        rc = ad__check_opt_id("parent mutation id", m->parent_tool_id, err);
    if (!rc)
        rc = ad__check_opt_id("skill id", m->skill_id, err);
    if (!rc)
        rc = ad__check_opt_id("parent skill version id", m->parent_skill_version_id, err);
    if (!rc)
        rc = ad__check_opt_id("agent id", m->agent_id, err);
    if (!rc)
        rc = ad__check_opt_id("job id", m->job_id, err);
    if (!rc && (m->mutant_index < 0 || m->mutant_index > AD_MUTANT_INDEX_MAX))
        rc = ad_error(err, AD_EINVAL, "field 'mutant_index': %d is out of range 0..%d",
                      m->mutant_index, AD_MUTANT_INDEX_MAX);
    if (!rc)
        rc = check_word("trigger", m->trigger, err);
    if (!rc)
        rc = check_word("proposer", m->proposer, err);
    if (!rc)
        rc = check_word("mutation_operator", m->mutation_operator, err);
    if (!rc)
        rc = ad__json_text("test_set", m->test_set, 1 << JSON_ARRAY, &json[AD__MJ_TEST_SET], err);
    return rc;
}

/* ---- the calls ---------------------------------------------------------- */

/* The count and the insert, in the level ad_store_mutation_insert opened. */
static int mutation_insert_rows(struct ad_store *st, const struct ad_tool_mutation *m,
                                int daily_limit, const char *const json[AD__MJ_COUNT],
                                struct ad_err *err)
{
    char since[AD_TIME_SIZE];
    int64_t count = 0;
    int rc;

    if (daily_limit > 0) {
        ad_time_day_start(m->created_at, since);
        rc = st->ops->candidates->mutation_count_since(st, m->tenant_id, since, &count, err);
        if (rc)
            return rc;
        if (count >= daily_limit)
            return ad_error(err, AD_ELIMIT,
                            "daily limit reached: %" PRId64 " of %d mutations created since %s"
                            " (setting max_mutations_per_day)", count, daily_limit, since);
    }
    return st->ops->mutations->insert(st, m, json, err);
}

int ad_store_mutation_insert(struct ad_store *st, struct ad_tool_mutation *m, int daily_limit,
                             struct ad_err *err)
{
    char *json[AD__MJ_COUNT] = { NULL };
    int rc;

    rc = check_mutable(m, json, err);
    if (!rc && (rc = check_fixed(m, json, err)) != 0)
        free_json(json);
    if (!rc)
        rc = ad__new_id(m->id, err);
    if (!rc)
        rc = ad__level_begin(st, err);
    if (!rc) {
        /* Stamped under the write lock, so the day counted is the row's day. */
        ad_time_now(m->created_at);
        rc = mutation_insert_rows(st, m, daily_limit, (const char *const *)json, err);
        rc = ad__level_end(st, rc, err);
    }
    if (rc)
        m->id[0] = m->created_at[0] = '\0';
    free_json(json);
    return rc;
}

int ad_store_mutation_update(struct ad_store *st, const struct ad_tool_mutation *m,
                             struct ad_err *err)
{
    struct ad_tool_mutation row = *m;    /* members borrowed; times normalised here */
    char *json[AD__MJ_COUNT] = { NULL };
    int rc, own;

    rc = ad__check_id("mutation id", m->id, err);
    if (!rc)
        rc = check_mutable(&row, json, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->mutations->update(st, &row, (const char *const *)json, err),
                           err);
    free_json(json);
    return rc;
}

int ad_store_mutation_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_tool_mutation *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    ad_tool_mutation_init(out);
    if (!rc)
        rc = ad__check_id("mutation id", id, err);
    if (rc)
        return rc;
    return st->ops->mutations->get(st, tenant_id, id, out, err);
}

/* 0 gives the default page, more than the maximum is capped (like ad__resolve_limit). */
static int mutation_limit(int limit, int *out, struct ad_err *err)
{
    if (limit < 0)
        return ad_error(err, AD_EINVAL, "invalid limit %d", limit);
    *out = limit == 0 ? AD_MUTATION_LIST_DEFAULT
                      : limit > AD_MUTATION_LIST_MAX ? AD_MUTATION_LIST_MAX : limit;
    return 0;
}

static int check_filter(struct ad_mutation_filter *r, struct ad_err *err)
{
    int rc = 0;

    if (r->skill_id)
        rc = ad__check_id("skill id", r->skill_id, err);
    if (!rc && r->job_id)
        rc = ad__check_id("job id", r->job_id, err);
    if (!rc && r->agent_id)
        rc = ad__check_id("agent id", r->agent_id, err);
    if (!rc && r->parent_skill_version_id)
        rc = ad__check_id("parent skill version id", r->parent_skill_version_id, err);
    if (!rc && r->status != -1 && !ad_mutation_status_name((enum ad_mutation_status)r->status))
        rc = ad_error(err, AD_EINVAL, "invalid mutation status filter %d", r->status);
    if (!rc && r->review_status != -2 && r->review_status != AD_REVIEW_NONE &&
        !ad_review_status_name((enum ad_review_status)r->review_status))
        rc = ad_error(err, AD_EINVAL, "invalid review status filter %d", r->review_status);
    if (!rc && (r->decision < -2 || r->decision > AD_DECISION_WON))
        rc = ad_error(err, AD_EINVAL, "invalid decision filter %d", r->decision);
    if (!rc)
        rc = ad__check_keyset(r->before_created_at, r->before_id, err);
    if (!rc && r->job_id && r->before_id)
        rc = ad_error(err, AD_EINVAL, "a job's mutations are listed whole: no keyset");
    if (!rc)
        rc = mutation_limit(r->limit, &r->limit, err);
    return rc;
}

int ad_store_mutation_list(struct ad_store *st, const char *tenant_id,
                           const struct ad_mutation_filter *f, struct ad_tool_mutation **out,
                           size_t *n, struct ad_err *err)
{
    struct ad_mutation_filter r = AD_MUTATION_FILTER_INIT;
    int rc;

    *out = NULL;
    *n = 0;
    if (f)
        r = *f;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = check_filter(&r, err);
    if (rc)
        return rc;
    return st->ops->mutations->list(st, tenant_id, &r, out, n, err);
}

int ad_store_mutation_lineage(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_tool_mutation **out, size_t *n, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *out = NULL;
    *n = 0;
    if (!rc)
        rc = ad__check_id("mutation id", id, err);
    if (rc)
        return rc;
    return st->ops->mutations->lineage(st, tenant_id, id, out, n, err);
}
