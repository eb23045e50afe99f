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
