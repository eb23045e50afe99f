/*
 * Capability usage: one row per use of a capability (web search, file
 * write, ...) by an agent, and the counts that graduation and gates read.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

int ad_store_capability_usage_insert(struct ad_store *st, const char *tenant_id,
                                     const char *agent_id, const char *capability, bool success,
                                     struct ad_err *err)
{
    char id[AD_ID_SIZE], now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", agent_id, err);
    if (!rc)
        rc = ad__check_dotted("capability", capability, AD_CAPABILITY_MAX, err);
    if (!rc)
        rc = ad__new_id(id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->capabilities->insert(st, id, tenant_id, agent_id, capability, success,
                                       ad_time_now(now), err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_capability_usage_count(struct ad_store *st, const char *tenant_id,
                                    const char *agent_id, const char *capability,
                                    const char *since, struct ad_capability_count *out,
                                    struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc && agent_id)
        rc = ad__check_id("agent id", agent_id, err);
    if (!rc)
        rc = ad__check_dotted("capability", capability, AD_CAPABILITY_MAX, err);
    if (!rc)
        rc = ad__check_since(since, t, err);
    if (rc)
        return rc;
    return st->ops->capabilities->count(st, tenant_id, agent_id, capability, t, out, err);
}
