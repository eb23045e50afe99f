/*
 * Memento's skill candidates, and the count of AlphaEvolver's mutants
 * that its daily limit reads: status names, releasing what the store
 * filled in, checks and the public calls.
 *
 * A candidate insert counts the tenant's candidates of today and inserts
 * only below the daily limit. Both run in one transaction level of the
 * call's own: outside a caller's transaction that is BEGIN IMMEDIATE, which
 * takes the write lock before the count, so two processes cannot both
 * count four of five and both insert; inside one it is a savepoint in a
 * transaction that already holds the lock. The other writes run one
 * statement and use ad__write_begin/ad__write_end.
 */
#include "compat.h"

#include <math.h>

#include "autodev/store.h"

#include "store_backend.h"

static const char *const candidate_status_names[] = {
    [AD_CAND_PENDING] = "pending",
    [AD_CAND_VALIDATING] = "validating",
    [AD_CAND_VALIDATED] = "validated",
    [AD_CAND_FAILED] = "failed",
    [AD_CAND_PROMOTED] = "promoted",
    [AD_CAND_REJECTED] = "rejected",
};

const struct ad__enum ad__candidate_status_enum = {
    candidate_status_names, AD_ARRAY_SIZE(candidate_status_names), "status",
};

const char *ad_candidate_status_name(enum ad_candidate_status s)
{
    return ad__enum_name(&ad__candidate_status_enum, (int)s);
}

int ad_candidate_status_parse(const char *s, enum ad_candidate_status *out)
{
    int i = ad__enum_parse(&ad__candidate_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_candidate_status)i;
    return 0;
}

static const char *const review_status_names[] = {
    [AD_REVIEW_PENDING] = "pending",
    [AD_REVIEW_APPROVED] = "approved",
    [AD_REVIEW_REJECTED] = "rejected",
    [AD_REVIEW_AUTO_APPROVED] = "auto_approved",
};

const struct ad__enum ad__review_status_enum = {
    review_status_names, AD_ARRAY_SIZE(review_status_names), "review status",
};

const char *ad_review_status_name(enum ad_review_status s)
{
    return ad__enum_name(&ad__review_status_enum, (int)s);
}

int ad_review_status_parse(const char *s, enum ad_review_status *out)
{
    int i = ad__enum_parse(&ad__review_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_review_status)i;
    return 0;
}

void ad_skill_candidate_init(struct ad_skill_candidate *c)
{
    memset(c, 0, sizeof(*c));
    c->fitness_score = NAN;
    c->risk_score = NAN;
    c->review_status = AD_REVIEW_NONE;
}

void ad_skill_candidate_release(struct ad_skill_candidate *c)
{
    if (!c)
        return;
    free(c->skill_name);
    free(c->skill_description);
    free(c->generated_code);
    json_decref(c->failure_pattern);
    json_decref(c->validation_result);
    free(c->reviewed_by);
    free(c->reason);
    ad_skill_candidate_init(c);
}

void ad_skill_candidate_list_free(struct ad_skill_candidate *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_skill_candidate_release(&v[i]);
    free(v);
}

/*
 * The fields an update writes (row is the caller's candidate with its
 * times normalised); *result gets validation_result's compact text.
 */
static int check_candidate_fields(struct ad_skill_candidate *row, char **result,
                                  struct ad_err *err)
{
    int rc = ad__check_id("tenant id", row->tenant_id, err);

    if (!rc)
        rc = ad__check_text("skill_name", row->skill_name, AD_NAME_MAX, 1, err);
    if (!rc)
        rc = ad__check_text("skill_description", row->skill_description, AD_SKILL_DESC_MAX, 0,
                            err);
    if (!rc)
        rc = ad__check_text("generated_code", row->generated_code, AD_SKILL_CODE_MAX, 1, err);
    if (!rc && !ad_candidate_status_name(row->status))
        rc = ad_error(err, AD_EINVAL, "field 'status': invalid value %d", (int)row->status);
    if (!rc && row->review_status != AD_REVIEW_NONE && !ad_review_status_name(row->review_status))
        rc = ad_error(err, AD_EINVAL, "field 'review_status': invalid value %d",
                      (int)row->review_status);
    if (!rc && !(isnan(row->fitness_score) || isfinite(row->fitness_score)))
        rc = ad_error(err, AD_EINVAL, "field 'fitness_score': must be finite or unknown (NAN)");
    if (!rc && !(isnan(row->risk_score) || (row->risk_score >= 0 && row->risk_score <= 1)))
        rc = ad_error(err, AD_EINVAL, "field 'risk_score': must be between 0 and 1");
    if (!rc)
        rc = ad__check_text("reviewed_by", row->reviewed_by, AD_NAME_MAX, 0, err);
    if (!rc)
        rc = ad__check_text("reason", row->reason, AD_REASON_MAX, 0, err);
    if (!rc)
        rc = ad__check_opt_time("reviewed_at", row->reviewed_at, err);
    if (!rc)
        rc = ad__check_opt_time("validated_at", row->validated_at, err);
    if (!rc)
        rc = ad__check_opt_time("promoted_at", row->promoted_at, err);
    if (!rc)
        rc = ad__json_text("validation_result", row->validation_result, 1 << JSON_OBJECT, result,
                           err);
    return rc;
}

/* An insert's fields: the update's plus the references and failure_pattern. */
static int check_candidate_insert(struct ad_skill_candidate *row, char **pattern, char **result,
                                  struct ad_err *err)
{
    int rc = check_candidate_fields(row, result, err);

    *pattern = NULL;
    if (!rc)
        rc = ad__check_opt_id("agent id", row->agent_id, err);
    if (!rc)
        rc = ad__check_opt_id("source episode id", row->source_episode_id, err);
    if (!rc)
        rc = ad__json_text("failure_pattern", row->failure_pattern, 1 << JSON_OBJECT, pattern,
                           err);
    if (rc) {
        free(*result);
        *result = NULL;
    }
    return rc;
}

/* The count and the insert, in the level ad_store_candidate_insert opened. */
static int candidate_insert_rows(struct ad_store *st, const struct ad_skill_candidate *c,
                                 int daily_limit, const char *pattern, const char *result,
                                 struct ad_err *err)
{
    char since[AD_TIME_SIZE];
    int64_t count = 0;
    int rc;

    if (daily_limit > 0) {
        ad_time_day_start(c->created_at, since);
        rc = st->ops->candidates->count_since(st, c->tenant_id, since, &count, err);
        if (rc)
            return rc;
        if (count >= daily_limit)
            return ad_error(err, AD_ELIMIT,
                            "daily limit reached: %" PRId64 " of %d skill candidates created "
                            "since %s (setting max_skill_candidates_per_day)",
                            count, daily_limit, since);
    }
    return st->ops->candidates->insert(st, c, pattern, result, err);
}

int ad_store_candidate_insert(struct ad_store *st, struct ad_skill_candidate *c, int daily_limit,
                              struct ad_err *err)
{
    char *pattern = NULL, *result = NULL;
    int rc;

    rc = check_candidate_insert(c, &pattern, &result, err);
    if (!rc)
        rc = ad__new_id(c->id, err);
    if (!rc)
        rc = ad__level_begin(st, err);
    if (!rc) {
        /* Stamped under the write lock, so the day counted is the row's day. */
        ad_time_now(c->created_at);
        rc = candidate_insert_rows(st, c, daily_limit, pattern, result, err);
        rc = ad__level_end(st, rc, err);
    }
    if (rc)
        c->id[0] = c->created_at[0] = '\0';
    free(pattern);
    free(result);
    return rc;
}

int ad_store_candidate_update(struct ad_store *st, const struct ad_skill_candidate *c,
                              struct ad_err *err)
{
    struct ad_skill_candidate row = *c;    /* members borrowed; times normalised here */
    char *result = NULL;
    int rc, own;

    rc = ad__check_id("candidate id", c->id, err);
    if (!rc)
        rc = check_candidate_fields(&row, &result, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->candidates->update(st, &row, result, err), err);
    free(result);
    return rc;
}

int ad_store_candidate_get(struct ad_store *st, const char *tenant_id, const char *id,
                           struct ad_skill_candidate *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    ad_skill_candidate_init(out);
    if (!rc)
        rc = ad__check_id("candidate id", id, err);
    if (rc)
        return rc;
    return st->ops->candidates->get(st, tenant_id, id, out, err);
}

#define CAND_STATUS_ALL ((1u << AD_ARRAY_SIZE(candidate_status_names)) - 1)

int ad_store_candidate_list(struct ad_store *st, const char *tenant_id,
                            const struct ad_candidate_filter *f, struct ad_skill_candidate **out,
                            size_t *n, struct ad_err *err)
{
    struct ad_candidate_filter r = { NULL, 0, 0, NULL, NULL };
    int rc;

    *out = NULL;
    *n = 0;
    if (f)
        r = *f;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && r.agent_id)
        rc = ad__check_id("agent id", r.agent_id, err);
    if (!rc)
        rc = ad__check_keyset(r.before_created_at, r.before_id, err);
    if (!rc && (r.status_mask & ~CAND_STATUS_ALL))
        rc = ad_error(err, AD_EINVAL, "invalid candidate status mask 0x%x", r.status_mask);
    if (!rc)
        rc = ad__resolve_limit(r.limit, &r.limit, err);
    if (rc)
        return rc;
    if (r.status_mask == CAND_STATUS_ALL)
        r.status_mask = 0;    /* every status: no filter to run */
    return st->ops->candidates->list(st, tenant_id, &r, out, n, err);
}

typedef int count_op(struct ad_store *st, const char *tenant_id, const char *since,
                     int64_t *count, struct ad_err *err);

/* Checks the arguments of a count of rows since a time, then runs op. */
static int count_rows_since(struct ad_store *st, count_op *op, const char *tenant_id,
                            const char *since, int64_t *count, struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int rc = ad__check_id("tenant id", tenant_id, err);

    *count = 0;
    if (!rc)
        rc = ad__check_since(since, t, err);
    if (rc)
        return rc;
    return op(st, tenant_id, t, count, err);
}

int ad_store_candidate_count_since(struct ad_store *st, const char *tenant_id, const char *since,
                                   int64_t *count, struct ad_err *err)
{
    return count_rows_since(st, st->ops->candidates->count_since, tenant_id, since, count, err);
}

int ad_store_mutation_count_since(struct ad_store *st, const char *tenant_id, const char *since,
                                  int64_t *count, struct ad_err *err)
{
    return count_rows_since(st, st->ops->candidates->mutation_count_since, tenant_id, since,
                            count, err);
}
