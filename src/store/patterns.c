/*
 * Failure patterns: the rows reflection keeps about an agent's recurring
 * failures (the learn module owns them; the store only holds them). Status
 * names, releasing what the store filled in, checks and the public calls.
 */
#include "compat.h"

#include "autodev/store.h"
#include "autodev/text.h"

#include "store_backend.h"

static const char *const pattern_status_names[] = {
    [AD_PATTERN_OPEN] = "open",
    [AD_PATTERN_CANDIDATE] = "candidate",
    [AD_PATTERN_CLOSED] = "closed",
};

const struct ad__enum ad__pattern_status_enum = {
    pattern_status_names, AD_ARRAY_SIZE(pattern_status_names), "status",
};

#define PATTERN_STATUS_ALL ((1u << AD_ARRAY_SIZE(pattern_status_names)) - 1)

const char *ad_pattern_status_name(enum ad_pattern_status s)
{
    return ad__enum_name(&ad__pattern_status_enum, (int)s);
}

int ad_pattern_status_parse(const char *s, enum ad_pattern_status *out)
{
    int i = ad__enum_parse(&ad__pattern_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_pattern_status)i;
    return 0;
}

void ad_failure_pattern_release(struct ad_failure_pattern *p)
{
    if (!p)
        return;
    free(p->task);
    free(p->error_type);
    json_decref(p->episode_ids);
    json_decref(p->outcome);
    memset(p, 0, sizeof(*p));
}

void ad_failure_pattern_list_free(struct ad_failure_pattern *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_failure_pattern_release(&v[i]);
    free(v);
}

/* ---- checks ------------------------------------------------------------- */

/* An array of episode ids: what reflection grouped, so a reader can load them. */
static int check_episode_ids(const json_t *ids, char **text, struct ad_err *err)
{
    size_t i;
    json_t *v;
    int rc;

    *text = NULL;
    if (!ids)
        return ad_error(err, AD_EINVAL, "missing field 'episode_ids'");
    rc = ad__json_text("episode_ids", ids, 1 << JSON_ARRAY, text, err);
    json_array_foreach(ids, i, v) {
        if (rc)
            break;
        if (!json_is_string(v) || !ad_id_valid(json_string_value(v)))
            rc = ad_error(err, AD_EINVAL, "field 'episode_ids': item %zu is not an episode id",
                          i);
    }
    if (rc) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* What an update writes (and an insert too); on failure both texts are NULL. */
static int check_mutable(const struct ad_failure_pattern *p, char **ids, char **outcome,
                         struct ad_err *err)
{
    int rc = ad__check_id("tenant id", p->tenant_id, err);

    *ids = *outcome = NULL;
    if (!rc && !ad_pattern_status_name(p->status))
        rc = ad_error(err, AD_EINVAL, "field 'status': invalid value %d", (int)p->status);
    if (!rc)
        rc = ad__check_opt_id("job id", p->job_id, err);
    if (!rc)
        rc = ad__check_opt_id("candidate id", p->candidate_id, err);
    if (!rc)
        rc = ad__json_text("outcome", p->outcome, 1 << JSON_OBJECT, outcome, err);
    if (!rc)
        rc = check_episode_ids(p->episode_ids, ids, err);
    if (rc) {
        free(*outcome);
        *outcome = NULL;
    }
    return rc;
}

/* An insert's fields: the update's plus the agent, the task and the error type. */
static int check_insert(const struct ad_failure_pattern *p, char **ids, char **outcome,
                        struct ad_err *err)
{
    int rc = ad__check_id("agent id", p->agent_id, err);

    *ids = *outcome = NULL;
    if (!rc)
        rc = ad__check_text("task", p->task, AD_TASK_DESC_MAX, 1, err);
    if (!rc)
        rc = ad__check_error_type("error_type", p->error_type, err);
    return rc ? rc : check_mutable(p, ids, outcome, err);
}

/* ---- calls -------------------------------------------------------------- */

int ad_store_pattern_insert(struct ad_store *st, struct ad_failure_pattern *p,
                            struct ad_err *err)
{
    char *ids = NULL, *outcome = NULL;
    int rc, own;

    rc = check_insert(p, &ids, &outcome, err);
    if (!rc)
        rc = ad__new_id(p->id, err);
    if (!rc) {
        ad_time_now(p->created_at);
        memcpy(p->updated_at, p->created_at, AD_TIME_SIZE);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own, st->ops->patterns->insert(st, p, ids, outcome, err), err);
    if (rc)
        p->id[0] = p->created_at[0] = p->updated_at[0] = '\0';
    free(ids);
    free(outcome);
    return rc;
}

/* updated_at moves only when the update took: a failed one gives the old value back. */
int ad_store_pattern_update(struct ad_store *st, struct ad_failure_pattern *p,
                            struct ad_err *err)
{
    char *ids = NULL, *outcome = NULL, saved[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("pattern id", p->id, err);
    if (!rc)
        rc = check_mutable(p, &ids, &outcome, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc) {
        memcpy(saved, p->updated_at, AD_TIME_SIZE);
        ad_time_now(p->updated_at);
        rc = ad__write_end(st, own, st->ops->patterns->update(st, p, ids, outcome, err), err);
        if (rc)
            memcpy(p->updated_at, saved, AD_TIME_SIZE);
    }
    free(ids);
    free(outcome);
    return rc;
}

int ad_store_pattern_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_failure_pattern *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = ad__check_id("pattern id", id, err);
    if (rc)
        return rc;
    return st->ops->patterns->get(st, tenant_id, id, out, err);
}

int ad_store_pattern_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_pattern_filter *f, struct ad_failure_pattern **out,
                          size_t *n, struct ad_err *err)
{
    struct ad_pattern_filter r = { NULL, 0, 0, false, NULL, false };
    int rc;

    *out = NULL;
    *n = 0;
    if (f)
        r = *f;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && r.agent_id)
        rc = ad__check_id("agent id", r.agent_id, err);
    if (!rc && r.by_error_type && r.error_type)
        rc = ad__check_text("error_type", r.error_type, AD_ERROR_TYPE_MAX, 0, err);
    if (!rc && (r.status_mask & ~PATTERN_STATUS_ALL))
        rc = ad_error(err, AD_EINVAL, "invalid pattern status mask 0x%x", r.status_mask);
    if (!rc)
        rc = ad__resolve_limit(r.limit, &r.limit, err);
    if (rc)
        return rc;
    if (r.status_mask == PATTERN_STATUS_ALL)
        r.status_mask = 0;    /* every status: no filter to run */
    return st->ops->patterns->list(st, tenant_id, &r, out, n, err);
}
