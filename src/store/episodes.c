/*
 * Episodes in the store: insert, get, list, count. The fields and the JSON
 * form are in episode_fields.c.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

/* Ids and times for the episode and its segments; cleared again on failure. */
static int episode_stamp(struct ad_episode *ep, struct ad_err *err)
{
    size_t i;
    int rc;

    rc = ad__new_id(ep->id, err);
    ad_time_now(ep->created_at);
    for (i = 0; !rc && i < ep->nsegments; i++) {
        rc = ad__new_id(ep->segments[i].id, err);
        memcpy(ep->segments[i].created_at, ep->created_at, AD_TIME_SIZE);
    }
    return rc;
}

static void episode_unstamp(struct ad_episode *ep)
{
    size_t i;

    ep->id[0] = ep->created_at[0] = '\0';
    for (i = 0; i < ep->nsegments; i++)
        ep->segments[i].id[0] = ep->segments[i].created_at[0] = '\0';
}

/* Runs the insert in the caller's transaction or one of its own; see store.c. */
static int episode_write(struct ad_store *st, const struct ad_episode *row,
                         const struct ad__episode_json *json, struct ad_err *err)
{
    int rc, own = 0, wrote = 0;

    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->episodes->insert(st, row, json, &wrote, err);
    if (rc && wrote && !own)
        st->tx_broken = st->tx_depth;   /* see the comment at the top of store.c */
    return ad__write_end(st, own, rc, err);
}

int ad_store_episode_insert(struct ad_store *st, struct ad_episode *ep, struct ad_err *err)
{
    struct ad__episode_json json;
    int rc;

    rc = ad__check_id("tenant id", ep->tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", ep->agent_id, err);
    if (!rc)
        rc = ad__episode_validate(ep, &json, err);
    if (rc)
        return rc;
    rc = episode_stamp(ep, err);
    if (!rc)
        rc = episode_write(st, ep, &json, err);
    ad__episode_json_release(&json);
    if (rc)
        episode_unstamp(ep);
    return rc;
}

int ad_store_episode_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_episode *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("episode id", id, err);
    if (rc)
        return rc;
    ad_episode_init(out);
    return st->ops->episodes->get(st, tenant_id, id, out, err);
}

/* Checks f and copies it into *r with the limit resolved. */
static int resolve_filter(const struct ad_episode_filter *f, struct ad_episode_filter *r,
                          int need_limit, struct ad_err *err)
{
    static const struct ad_episode_filter none = AD_EPISODE_FILTER_INIT;
    int rc = 0;

    *r = f ? *f : none;
    if (r->agent_id)
        rc = ad__check_id("agent id", r->agent_id, err);
    if (!rc && r->before_id && need_limit)
        rc = ad__check_id("before id", r->before_id, err);
    if (!rc && r->task_kind)
        rc = ad__check_text("task_kind", r->task_kind, AD_TASK_KIND_MAX, 1, err);
    if (!rc && (r->success < -1 || r->success > 1))
        rc = ad_error(err, AD_EINVAL, "invalid success filter %d", r->success);
    if (!rc && need_limit)
        rc = ad__resolve_limit(r->limit, &r->limit, err);
    if (!need_limit) {
        r->before_id = NULL;
        r->limit = 0;
    }
    return rc;
}

int ad_store_episode_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                          struct ad_err *err)
{
    struct ad_episode_filter r;
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = resolve_filter(f, &r, 1, err);
    if (rc)
        return rc;
    return st->ops->episodes->list(st, tenant_id, &r, out, n, err);
}

int ad_store_episode_count(struct ad_store *st, const char *tenant_id,
                           const struct ad_episode_filter *f, int64_t *count, struct ad_err *err)
{
    struct ad_episode_filter r;
    int rc;

    *count = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = resolve_filter(f, &r, 0, err);
    if (rc)
        return rc;
    return st->ops->episodes->count(st, tenant_id, &r, count, err);
}
