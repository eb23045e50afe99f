/*
 * Agents: the maturity names, releasing what the store filled in, and the
 * public calls, including an agent's record for graduation. The episode
 * counters are the episode insert's to move (episodes.c).
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

static const char *const maturity_names[] = {
    [AD_STUDENT] = "STUDENT",
    [AD_INTERN] = "INTERN",
    [AD_SUPERVISED] = "SUPERVISED",
    [AD_AUTONOMOUS] = "AUTONOMOUS",
};

const struct ad__enum ad__maturity_enum = {
    maturity_names, AD_ARRAY_SIZE(maturity_names), "maturity",
};

const char *ad_maturity_name(enum ad_maturity m)
{
    return ad__enum_name(&ad__maturity_enum, (int)m);
}

int ad_maturity_parse(const char *s, enum ad_maturity *out)
{
    int i = ad__enum_parse(&ad__maturity_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_maturity)i;
    return 0;
}

void ad_agent_release(struct ad_agent *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->tool_policy);
    memset(a, 0, sizeof(*a));
}

void ad_agent_list_free(struct ad_agent *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_agent_release(&v[i]);
    free(v);
}

int ad_store_agent_insert(struct ad_store *st, struct ad_agent *a, struct ad_err *err)
{
    int rc, own;

    rc = ad__check_id("tenant id", a->tenant_id, err);
    if (!rc)
        rc = ad__check_name("agent", a->name, err);
    if (rc)
        return rc;
    if (!ad_maturity_name(a->maturity))
        return ad_error(err, AD_EINVAL, "invalid maturity %d", (int)a->maturity);
    rc = ad__new_id(a->id, err);
    if (rc)
        return rc;
    a->episode_count = a->success_count = a->failure_count = 0;
    ad_time_now(a->created_at);
    memcpy(a->updated_at, a->created_at, AD_TIME_SIZE);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->agents->insert(st, a, err), err);
    if (rc)
        a->id[0] = '\0';
    return rc;
}

int ad_store_agent_get(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_agent *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("agent id", id, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->agents->get(st, tenant_id, id, NULL, out, err);
}

int ad_store_agent_get_by_name(struct ad_store *st, const char *tenant_id, const char *name,
                               struct ad_agent *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_name("agent", name, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->agents->get(st, tenant_id, NULL, name, out, err);
}

int ad_store_agent_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                        int limit, struct ad_agent **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && after_name)
        rc = ad__check_text("after_name", after_name, AD_NAME_MAX, 0, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->agents->list(st, tenant_id, after_name, limit, out, n, err);
}

int ad_store_agent_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                                enum ad_maturity m, struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", id, err);
    if (rc)
        return rc;
    if (!ad_maturity_name(m))
        return ad_error(err, AD_EINVAL, "invalid maturity %d", (int)m);
    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->agents->set_maturity(st, tenant_id, id, m, ad_time_now(now), err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_agent_set_tool_policy(struct ad_store *st, const char *tenant_id, const char *id,
                                   const char *policy, struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", id, err);
    if (rc)
        return rc;
    if (policy && strlen(policy) > 64 * 1024)
        return ad_error(err, AD_EINVAL, "a tool policy is at most 64 KiB");
    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->agents->set_tool_policy(st, tenant_id, id, policy, ad_time_now(now), err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_agent_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                          struct ad_agent_record *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = ad__check_id("agent id", agent_id, err);
    if (rc)
        return rc;
    return st->ops->agents->record(st, tenant_id, agent_id, out, err);
}
