/*
 * The agent rows. Module agent owns the agents table; the learning module
 * changes maturities through ad_agents_set_maturity (and adds the event and
 * the notifications itself), the faces add, find and list agents here.
 */
#include "compat.h"

#include "autodev/agent.h"
#include "autodev/store.h"

int ad_agents_add(struct ad_store *st, const char *tenant_id, const char *name,
                  enum ad_maturity m, struct ad_agent *out, struct ad_err *err)
{
    struct ad_agent a = { 0 };
    int rc;

    if (!tenant_id || !name)
        return ad_error(err, AD_EINVAL, "an agent needs a tenant and a name");
    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", tenant_id);
    a.name = (char *)name;
    a.maturity = m;
    rc = ad_store_agent_insert(st, &a, err);
    if (rc < 0 || !out)
        return rc;
    /* The store filled id, counters and times; the name was borrowed. */
    *out = a;
    out->name = strdup(name);
    if (!out->name)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

int ad_agents_get(struct ad_store *st, const char *tenant_id, const char *id,
                  struct ad_agent *out, struct ad_err *err)
{
    return ad_store_agent_get(st, tenant_id, id, out, err);
}

int ad_agents_find(struct ad_store *st, const char *tenant_id, const char *name,
                   struct ad_agent *out, struct ad_err *err)
{
    return ad_store_agent_get_by_name(st, tenant_id, name, out, err);
}

int ad_agents_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                   int limit, struct ad_agent **out, size_t *n, struct ad_err *err)
{
    return ad_store_agent_list(st, tenant_id, after_name, limit, out, n, err);
}

int ad_agents_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                           enum ad_maturity m, struct ad_err *err)
{
    return ad_store_agent_set_maturity(st, tenant_id, id, m, err);
}

int ad_agents_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                     struct ad_agent_record *out, struct ad_err *err)
{
    return ad_store_agent_record(st, tenant_id, agent_id, out, err);
}
