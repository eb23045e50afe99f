/* Capability usage on PostgreSQL: the fields one by one in, counts out. */
#include "compat.h"

#include "pg/rowmap.h"

static const char q_insert[] =
    "INSERT INTO capability_usage (id, tenant_id, agent_id, capability, success, created_at)"
    " SELECT $1, $2, $3, $4, $5::int, $6::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM agents WHERE tenant_id = $2 AND id = $3)"
    " ON CONFLICT DO NOTHING";
static const char q_agent_exists[] = "SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2";

static int pg_capability_insert(struct ad_store *st, const char *id, const char *tenant_id,
                                const char *agent_id, const char *capability, bool success,
                                const char *created_at, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { id, tenant_id, agent_id, capability, success ? "1" : "0", created_at };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_insert, 6, p, &r, "record capability use", err);

    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_agent_exists, tenant_id, agent_id, err);
    if (rc < 0)
        return rc;
    return rc ? ad_error(err, AD_EEXIST, "capability use '%s' already exists", id)
              : ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", agent_id);
}

/* ix_capability_usage_agent: all of it with an agent, its tenant prefix without. */
static const char q_count_agent[] =
    "SELECT count(*), coalesce(sum(success), 0) FROM capability_usage"
    " WHERE tenant_id = $1 AND agent_id = $4 AND capability = $2 AND created_at >= $3";
static const char q_count[] =
    "SELECT count(*), coalesce(sum(success), 0) FROM capability_usage"
    " WHERE tenant_id = $1 AND capability = $2 AND created_at >= $3";

static int pg_capability_count(struct ad_store *st, const char *tenant_id, const char *agent_id,
                               const char *capability, const char *since,
                               struct ad_capability_count *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, capability, since && since[0] ? since : "-infinity",
                        agent_id };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, agent_id ? q_count_agent : q_count,
                        agent_id ? 4 : 3, p, &r, "count capability uses", err);

    if (!rc) {
        out->uses = ad__pg_i64(r, 0, 0);
        out->successes = ad__pg_i64(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

const struct ad__capability_ops ad__pg_capability_ops = {
    .insert = pg_capability_insert,
    .count = pg_capability_count,
};
