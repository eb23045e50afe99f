/*
 * Episodes in the store: insert (with the derived error type), get, list,
 * count, and the brief view of an agent's recent failures that reflection
 * reads. The fields and the JSON form are in episode_fields.c.
 */
#include "compat.h"

#include "autodev/store.h"
#include "autodev/text.h"

#include "store_backend.h"

/*
 * How far an episode's id may be older than its created_at. Both are
 * stamped by episode_stamp, the id first, from the same wall clock, and
 * ad_id_new never goes below the clock; an hour covers a process stalled
 * between the two (a page fault storm, a stopped VM) with a wide margin.
 */
#define ID_CLOCK_SLACK_MS (3600 * 1000)

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

/*
 * The row is a shallow copy of ep whose error_type is the derived one when
 * the caller left it NULL: the caller's struct keeps only what it owns.
 */
int ad_store_episode_insert(struct ad_store *st, struct ad_episode *ep, struct ad_err *err)
{
    char type[AD_ERROR_TYPE_MAX + 1];
    struct ad__episode_json json;
    struct ad_episode row;
    int rc;

    rc = ad__check_id("tenant id", ep->tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", ep->agent_id, err);
    if (!rc)
        rc = ad__episode_validate(ep, &json, err);
    if (rc)
        return rc;
    rc = episode_stamp(ep, err);
    if (!rc) {
        row = *ep;
        if (!row.error_type && ad_text_error_type(ep->error_trace, type))
            row.error_type = type;
        rc = episode_write(st, &row, &json, err);
    }
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
    if (!rc && r->skill_version_id)
        rc = ad__check_id("skill version id", r->skill_version_id, err);
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

/* ---- recent failures ---------------------------------------------------- */

void ad_episode_brief_list_free(struct ad_episode_brief *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++) {
        free(v[i].task_description);
        free(v[i].error_type);
    }
    free(v);
}

/*
 * The smallest id a UUIDv7 made at ms can have. Ids sort by the time in
 * their first 48 bits, so "id >= floor" is a range of the index that lists
 * an agent's failures newest first, and the backend stops there instead of
 * reading every older failure to test its created_at.
 */
static void id_floor(int64_t ms, char out[AD_ID_SIZE])
{
    uint64_t t = ms > 0 ? (uint64_t)ms : 0;

    snprintf(out, AD_ID_SIZE, "%08" PRIx64 "-%04" PRIx64 "-0000-0000-000000000000",
             (t >> 16) & 0xffffffffu, t & 0xffffu);
}

/*
 * created_at >= since is the exact condition; the id floor, set
 * ID_CLOCK_SLACK_MS earlier, only narrows the index range and can never
 * drop a row that meets it.
 */
int ad_store_episode_recent_failures(struct ad_store *st, const char *tenant_id,
                                     const char *agent_id, const char *since, int limit,
                                     bool only_type, const char *error_type,
                                     struct ad_episode_brief **out, size_t *n,
                                     struct ad_err *err)
{
    char t[AD_TIME_SIZE], floor[AD_ID_SIZE] = "";
    int64_t ms = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", agent_id, err);
    if (!rc)
        rc = ad__check_since(since, t, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (!rc && only_type && error_type)
        rc = ad__check_text("error_type", error_type, AD_ERROR_TYPE_MAX, 0, err);
    if (rc)
        return rc;
    if (t[0] && ad_time_parse(t, &ms) == 0)
        id_floor(ms - ID_CLOCK_SLACK_MS, floor);
    return st->ops->episodes->recent_failures(st, tenant_id, agent_id, t, floor, limit,
                                              only_type, error_type, out, n, err);
}
