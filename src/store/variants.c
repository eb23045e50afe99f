/*
 * AlphaEvolver's workflow variants (the scored runs of a mutant, or of its
 * parent): status names, releasing what the store filled in, checks and
 * the public calls. Every write runs one statement.
 */
#include "compat.h"

#include <math.h>

#include "autodev/store.h"

#include "store_backend.h"

static const char *const variant_status_names[] = {
    [AD_VSTAT_PENDING] = "pending",
    [AD_VSTAT_EVALUATING] = "evaluating",
    [AD_VSTAT_EVALUATED] = "evaluated",
    [AD_VSTAT_FAILED] = "failed",
    [AD_VSTAT_PROMOTED] = "promoted",
    [AD_VSTAT_REJECTED] = "rejected",
    [AD_VSTAT_ROLLED_BACK] = "rolled_back",
};

const struct ad__enum ad__variant_status_enum = {
    variant_status_names, AD_ARRAY_SIZE(variant_status_names), "evaluation status",
};

const char *ad_variant_status_name(enum ad_variant_status s)
{
    return ad__enum_name(&ad__variant_status_enum, (int)s);
}

int ad_variant_status_parse(const char *s, enum ad_variant_status *out)
{
    int i = ad__enum_parse(&ad__variant_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_variant_status)i;
    return 0;
}

void ad_workflow_variant_init(struct ad_workflow_variant *v)
{
    memset(v, 0, sizeof(*v));
    v->fitness_score = NAN;
    v->risk_score = NAN;
    v->review_status = AD_REVIEW_NONE;
}

void ad_workflow_variant_release(struct ad_workflow_variant *v)
{
    if (!v)
        return;
    json_decref(v->workflow_definition);
    json_decref(v->fitness_signals);
    free(v->reviewed_by);
    free(v->reason);
    ad_workflow_variant_init(v);
}

void ad_workflow_variant_list_free(struct ad_workflow_variant *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_workflow_variant_release(&v[i]);
    free(v);
}

/* ---- checks ------------------------------------------------------------- */

/* The fields an update writes; *signals gets fitness_signals' compact text. */
static int check_mutable(struct ad_workflow_variant *row, char **signals, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", row->tenant_id, err);

    if (!rc && !ad_variant_status_name(row->evaluation_status))
        rc = ad_error(err, AD_EINVAL, "field 'evaluation_status': invalid value %d",
                      (int)row->evaluation_status);
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
        rc = ad__check_opt_time("last_evaluated_at", row->last_evaluated_at, err);
    if (!rc)
        rc = ad__json_text("fitness_signals", row->fitness_signals, 1 << JSON_OBJECT, signals,
                           err);
    return rc;
}

/* An insert's fields: the update's plus the references and the definition. */
static int check_insert(struct ad_workflow_variant *row, char **definition, char **signals,
                        struct ad_err *err)
{
    int rc = check_mutable(row, signals, err);

    *definition = NULL;
    if (!rc)
        rc = ad__check_opt_id("parent variant id", row->parent_variant_id, err);
    if (!rc)
        rc = ad__check_opt_id("agent id", row->agent_id, err);
    if (!rc)
        rc = ad__check_opt_id("tool mutation id", row->tool_mutation_id, err);
    if (!rc)
        rc = ad__check_opt_id("skill version id", row->skill_version_id, err);
    if (!rc)
        rc = ad__check_opt_id("job id", row->job_id, err);
    if (!rc && !row->workflow_definition)
        rc = ad_error(err, AD_EINVAL, "missing field 'workflow_definition'");
    if (!rc)
        rc = ad__json_text("workflow_definition", row->workflow_definition, 1 << JSON_OBJECT,
                           definition, err);
    if (rc) {
        free(*signals);
        *signals = NULL;
    }
    return rc;
}

/* ---- the calls ---------------------------------------------------------- */

int ad_store_variant_insert(struct ad_store *st, struct ad_workflow_variant *v,
                            struct ad_err *err)
{
    char *definition = NULL, *signals = NULL;
    int rc, own;

    rc = check_insert(v, &definition, &signals, err);
    if (!rc)
        rc = ad__new_id(v->id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc) {
        ad_time_now(v->created_at);
        rc = ad__write_end(st, own, st->ops->variants->insert(st, v, definition, signals, err),
                           err);
    }
    if (rc)
        v->id[0] = v->created_at[0] = '\0';
    free(definition);
    free(signals);
    return rc;
}

int ad_store_variant_update(struct ad_store *st, const struct ad_workflow_variant *v,
                            struct ad_err *err)
{
    struct ad_workflow_variant row = *v;    /* members borrowed; times normalised here */
    char *signals = NULL;
    int rc, own;

    rc = ad__check_id("variant id", v->id, err);
    if (!rc)
        rc = check_mutable(&row, &signals, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->variants->update(st, &row, signals, err), err);
    free(signals);
    return rc;
}

int ad_store_variant_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_workflow_variant *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    ad_workflow_variant_init(out);
    if (!rc)
        rc = ad__check_id("variant id", id, err);
    if (rc)
        return rc;
    return st->ops->variants->get(st, tenant_id, id, out, err);
}

/* 0 gives the default page, more than the maximum is capped. */
static int variant_limit(int limit, int *out, struct ad_err *err)
{
    if (limit < 0)
        return ad_error(err, AD_EINVAL, "invalid limit %d", limit);
    *out = limit == 0 ? AD_MUTATION_LIST_DEFAULT
                      : limit > AD_MUTATION_LIST_MAX ? AD_MUTATION_LIST_MAX : limit;
    return 0;
}

int ad_store_variant_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_variant_filter *f, struct ad_workflow_variant **out,
                          size_t *n, struct ad_err *err)
{
    struct ad_variant_filter r = { NULL, NULL, NULL, NULL, 0, NULL, NULL };
    int rc;

    *out = NULL;
    *n = 0;
    if (f)
        r = *f;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && r.agent_id)
        rc = ad__check_id("agent id", r.agent_id, err);
    if (!rc && r.tool_mutation_id)
        rc = ad__check_id("tool mutation id", r.tool_mutation_id, err);
    if (!rc && r.skill_version_id)
        rc = ad__check_id("skill version id", r.skill_version_id, err);
    if (!rc && r.job_id)
        rc = ad__check_id("job id", r.job_id, err);
    if (!rc)
        rc = ad__check_keyset(r.before_created_at, r.before_id, err);
    if (!rc)
        rc = variant_limit(r.limit, &r.limit, err);
    if (rc)
        return rc;
    return st->ops->variants->list(st, tenant_id, &r, out, n, err);
}

int ad_store_variant_top(struct ad_store *st, const char *tenant_id, const char *agent_id,
                         int limit, struct ad_workflow_variant **out, size_t *n,
                         struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *out = NULL;
    *n = 0;
    if (!rc && agent_id)
        rc = ad__check_id("agent id", agent_id, err);
    if (!rc)
        rc = variant_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->variants->top(st, tenant_id, agent_id, limit, out, n, err);
}
