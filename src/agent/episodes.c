/*
 * Episodes: recording one (the row and its outcome event in one
 * transaction) and reading them back. The episodes and episode_segments
 * tables belong to this module; others read them through these calls.
 */
#include "compat.h"

#include <jansson.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/store.h"

static json_t *outcome_payload(const struct ad_episode *ep)
{
    char type[AD_ERROR_TYPE_MAX + 1];
    json_t *p = json_object();
    int rc = 0;

    if (!p)
        return NULL;
    rc |= json_object_set_new(p, "episode_id", json_string(ep->id));
    rc |= json_object_set_new(p, "agent_id", json_string(ep->agent_id));
    rc |= json_object_set_new(p, "task_kind",
                              ep->task_kind ? json_string(ep->task_kind) : json_null());
    rc |= json_object_set_new(p, "task_description", json_string(ep->task_description));
    rc |= json_object_set_new(p, "success", json_boolean(ep->success));
    rc |= json_object_set_new(p, "error_type", ad_text_error_type(ep->error_trace, type)
                                                   ? json_string(type) : json_null());
    if (rc != 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int ad_episode_record(struct ad_store *st, struct ad_bus *bus, struct ad_episode *ep,
                      struct ad_err *err)
{
    json_t *payload = NULL;
    int depth0, rc;

    if (!st || !ep)
        return ad_error(err, AD_EINVAL, "episode record needs a store and an episode");
    depth0 = ad_store_tx_depth(st);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_episode_insert(st, ep, err);
    if (rc < 0)
        goto out;
    if (bus) {
        payload = outcome_payload(ep);
        if (!payload) {
            rc = ad_error(err, AD_ENOMEM, "out of memory");
            goto out;
        }
        rc = ad_bus_emit(bus, ep->tenant_id,
                         ep->success ? AD_TOPIC_TASK_SUCCESS : AD_TOPIC_TASK_FAIL, payload, NULL,
                         err);
        if (rc < 0)
            goto out;
    }
    rc = ad_store_commit(st, err);
out:
    if (rc < 0) {
        /* Only our own level: a failed commit may already have closed it. */
        if (ad_store_tx_depth(st) > depth0)
            ad_store_rollback(st);
        /* The row the id named is gone with the rollback. */
        ep->id[0] = '\0';
    }
    json_decref(payload);
    return rc;
}

int ad_episodes_get(struct ad_store *st, const char *tenant_id, const char *id,
                    struct ad_episode *out, struct ad_err *err)
{
    return ad_store_episode_get(st, tenant_id, id, out, err);
}

int ad_episodes_list(struct ad_store *st, const char *tenant_id,
                     const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                     struct ad_err *err)
{
    return ad_store_episode_list(st, tenant_id, f, out, n, err);
}

int ad_episodes_recent_failures(struct ad_store *st, const char *tenant_id,
                                const char *agent_id, const char *since, int limit,
                                bool only_type, const char *error_type,
                                struct ad_episode_brief **out, size_t *n, struct ad_err *err)
{
    return ad_store_episode_recent_failures(st, tenant_id, agent_id, since, limit, only_type,
                                            error_type, out, n, err);
}

int ad_episodes_count(struct ad_store *st, const char *tenant_id,
                      const struct ad_episode_filter *f, int64_t *count, struct ad_err *err)
{
    return ad_store_episode_count(st, tenant_id, f, count, err);
}

void ad_episode_batch_init(struct ad_episode_batch *b, struct ad_store *st, struct ad_bus *bus,
                           int64_t size)
{
    memset(b, 0, sizeof(*b));
    b->st = st;
    b->bus = bus;
    b->size = size > 0 ? size : 1;
}

void ad_episode_batch_abort(struct ad_episode_batch *b)
{
    if (b->pending > 0 && ad_store_tx_depth(b->st) > 0)
        ad_store_rollback(b->st);
    b->pending = 0;
}

int ad_episode_batch_flush(struct ad_episode_batch *b, struct ad_err *err)
{
    int rc;

    if (b->pending == 0)
        return 0;
    rc = ad_store_commit(b->st, err);
    if (rc < 0) {
        /* A failed commit has rolled its level back already; anything left goes too. */
        if (ad_store_tx_depth(b->st) > 0)
            ad_store_rollback(b->st);
        b->pending = 0;
        return rc;
    }
    b->committed += b->pending;
    b->pending = 0;
    return 0;
}

int ad_episode_batch_add(struct ad_episode_batch *b, struct ad_episode *ep, struct ad_err *err)
{
    int rc;

    if (b->pending == 0) {
        rc = ad_store_begin(b->st, err);
        if (rc < 0)
            return rc;
    }
    /* Counted before the record, so that a failure rolls this transaction back. */
    b->pending++;
    rc = ad_episode_record(b->st, b->bus, ep, err);
    if (rc < 0) {
        ad_episode_batch_abort(b);
        return rc;
    }
    return b->pending >= b->size ? ad_episode_batch_flush(b, err) : 0;
}
