/* Agents on PostgreSQL, every statement as the agent's tenant. */
#include "compat.h"

#include "pg/pg_int.h"

#define AGENT_COLS                                                              \
    "id, tenant_id, name, maturity, episode_count, success_count, failure_count," \
    " ad_ts(created_at), ad_ts(updated_at), tool_policy"

static int read_agent(const PGresult *r, int i, struct ad_agent *a, struct ad_err *err)
{
    int m = 0, rc;

    ad__pg_fixed(r, i, 0, a->id, sizeof(a->id));
    ad__pg_fixed(r, i, 1, a->tenant_id, sizeof(a->tenant_id));
    a->episode_count = ad__pg_i64(r, i, 4);
    a->success_count = ad__pg_i64(r, i, 5);
    a->failure_count = ad__pg_i64(r, i, 6);
    ad__pg_fixed(r, i, 7, a->created_at, sizeof(a->created_at));
    ad__pg_fixed(r, i, 8, a->updated_at, sizeof(a->updated_at));
    rc = ad__pg_enum(r, i, 3, &ad__maturity_enum, &m, err);
    a->maturity = m;
    if (!rc)
        rc = ad__pg_dup(r, i, 2, &a->name, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 9, &a->tool_policy, err);
    return rc;
}

static const char q_insert[] =
    "INSERT INTO agents (id, tenant_id, name, maturity, episode_count, success_count,"
    " failure_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT DO NOTHING";

static int pg_agent_insert(struct ad_store *st, const struct ad_agent *a, struct ad_err *err)
{
    char b[3][24];
    const char *p[] = {
        a->id, a->tenant_id, a->name, ad__enum_name(&ad__maturity_enum, a->maturity),
        ad__pg_i64_text(a->episode_count, b[0]), ad__pg_i64_text(a->success_count, b[1]),
        ad__pg_i64_text(a->failure_count, b[2]), a->created_at, a->updated_at,
    };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), a->tenant_id, q_insert, 9, p, &r, "insert agent", err);

    if (!rc && !strcmp(PQcmdTuples(r), "0"))
        rc = ad_error(err, AD_EEXIST, "agent '%s' already exists", a->name);
    PQclear(r);
    return rc;
}

static const char q_get_id[] = "SELECT " AGENT_COLS " FROM agents WHERE tenant_id = $1 AND id = $2";
static const char q_get_name[] =
    "SELECT " AGENT_COLS " FROM agents WHERE tenant_id = $1 AND name = $2";

static int pg_agent_get(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *name, struct ad_agent *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id ? id : name };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, id ? q_get_id : q_get_name, 2, p, &r,
                            "agent", p[1], err);

    if (!rc)
        rc = read_agent(r, 0, out, err);
    PQclear(r);
    return rc;
}

static const char q_list[] = "SELECT " AGENT_COLS " FROM agents WHERE tenant_id = $1"
                             " AND name COLLATE \"C\" > coalesce($2, '') ORDER BY name COLLATE \"C\" LIMIT $3";

static int pg_agent_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                         int limit, struct ad_agent **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, after_name, ad__pg_i64_text(limit, b) };
    PGresult *r = NULL;
    struct ad_agent *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_list, 3, p, &r, "list agents",
                                      err);

    if (!rc) {
        count = PQntuples(r);
        v = calloc(count ? count : 1, sizeof(*v));
        if (!v)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing agents");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_agent(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_agent_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static const char q_maturity[] =
    "UPDATE agents SET maturity = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";

static int pg_agent_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                                 enum ad_maturity m, const char *now, struct ad_err *err)
{
    const char *p[] = { tenant_id, id, ad__enum_name(&ad__maturity_enum, m), now };

    return ad__pg_run_one(ad__pg(st), tenant_id, q_maturity, 4, p, NULL, "agent", id, err);
}

static const char q_tool_policy[] =
    "UPDATE agents SET tool_policy = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";

static int pg_agent_set_tool_policy(struct ad_store *st, const char *tenant_id, const char *id,
                                    const char *policy, const char *now, struct ad_err *err)
{
    const char *p[] = { tenant_id, id, policy, now };

    return ad__pg_run_one(ad__pg(st), tenant_id, q_tool_policy, 4, p, NULL, "agent", id, err);
}

static const char q_record[] =
    "SELECT (SELECT count(*) FROM agents WHERE tenant_id = $1 AND id = $2),"
    " count(*), coalesce(sum(intervention), 0), count(constitutional_score),"
    " coalesce(avg(constitutional_score), 0)"
    " FROM episodes WHERE tenant_id = $1 AND agent_id = $2";

static int pg_agent_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                           struct ad_agent_record *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, agent_id };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_record, 2, p, &r, "agent record", err);

    if (!rc && ad__pg_i64(r, 0, 0) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", agent_id);
    if (!rc) {
        out->episodes = ad__pg_i64(r, 0, 1);
        out->interventions = ad__pg_i64(r, 0, 2);
        out->constitutional_n = ad__pg_i64(r, 0, 3);
        out->constitutional_mean = ad__pg_double(r, 0, 4);
    }
    PQclear(r);
    return rc;
}

const struct ad__agent_ops ad__pg_agent_ops = {
    .insert = pg_agent_insert,
    .get = pg_agent_get,
    .list = pg_agent_list,
    .set_maturity = pg_agent_set_maturity,
    .set_tool_policy = pg_agent_set_tool_policy,
    .record = pg_agent_record,
};
