/*
 * Agent sessions on PostgreSQL. A list leaves the transcript (up to 8 MiB
 * a row) in the database, as sqlite/sessions.c does.
 */
#include "compat.h"

#include "pg/pg_int.h"

#define SESSION_COLS(transcript)                                                    \
    "id, tenant_id, agent_id, task, status, " transcript ", state, episode_id,"     \
    " ad_ts(created_at), ad_ts(updated_at)"

static int read_session(const PGresult *r, int i, struct ad_agent_session *as,
                        struct ad_err *err)
{
    int v = 0, rc;

    memset(as, 0, sizeof(*as));
    ad__pg_fixed(r, i, 0, as->id, sizeof(as->id));
    ad__pg_fixed(r, i, 1, as->tenant_id, sizeof(as->tenant_id));
    ad__pg_fixed(r, i, 2, as->agent_id, sizeof(as->agent_id));
    ad__pg_fixed(r, i, 7, as->episode_id, sizeof(as->episode_id));
    ad__pg_fixed(r, i, 8, as->created_at, sizeof(as->created_at));
    ad__pg_fixed(r, i, 9, as->updated_at, sizeof(as->updated_at));
    rc = ad__pg_enum(r, i, 4, &ad__session_status_enum, &v, err);
    as->status = v;
    if (!rc)
        rc = ad__pg_dup(r, i, 3, &as->task, err);
    if (!rc)
        rc = ad__pg_json(r, i, 5, &as->transcript, err);
    if (!rc)
        rc = ad__pg_json(r, i, 6, &as->state, err);
    if (rc)
        ad_agent_session_release(as);
    return rc;
}

/* The agent, and the episode when set, must be the tenant's: otherwise no row. */
static const char q_insert[] =
    "INSERT INTO agent_sessions (id, tenant_id, agent_id, task, status, transcript, state,"
    " episode_id, created_at, updated_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10"
    " WHERE EXISTS (SELECT 1 FROM agents WHERE tenant_id = $2 AND id = $3)"
    " AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM episodes WHERE tenant_id = $2 AND id = $8))"
    " ON CONFLICT (id) DO NOTHING";
static const char q_which[] =
    "SELECT EXISTS (SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2),"
    " EXISTS (SELECT 1 FROM agent_sessions WHERE tenant_id = $1 AND id = $3)";

static int pg_session_insert(struct ad_store *st, const struct ad_agent_session *as,
                             const char *transcript, const char *state, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = {
        as->id, as->tenant_id, as->agent_id, as->task,
        ad__enum_name(&ad__session_status_enum, as->status), transcript, state,
        ad__pg_opt(as->episode_id), as->created_at, as->updated_at,
    };
    const char *w[] = { as->tenant_id, as->agent_id, as->id };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, as->tenant_id, q_insert, 10, p, &r, "insert agent session", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, as->tenant_id, q_which, 3, w, &r, "insert agent session", err);
    if (!rc) {
        if (!strcmp(PQgetvalue(r, 0, 1), "t"))
            rc = ad_error(err, AD_EEXIST, "agent session '%s' already exists", as->id);
        else if (strcmp(PQgetvalue(r, 0, 0), "t"))
            rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", as->agent_id);
        else
            rc = ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", as->episode_id);
    }
    PQclear(r);
    return rc;
}

static const char q_update[] =
    "UPDATE agent_sessions SET status = $3, transcript = $4, state = $5, episode_id = $6,"
    " updated_at = $7 WHERE tenant_id = $1 AND id = $2"
    " AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM episodes WHERE tenant_id = $1 AND id = $6))";
static const char q_exists[] = "SELECT 1 FROM agent_sessions WHERE tenant_id = $1 AND id = $2";

static int pg_session_update(struct ad_store *st, const struct ad_agent_session *as,
                             const char *transcript, const char *state, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = {
        as->tenant_id, as->id, ad__enum_name(&ad__session_status_enum, as->status), transcript,
        state, ad__pg_opt(as->episode_id), as->updated_at,
    };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, as->tenant_id, q_update, 7, p, &r, "update agent session", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, as->tenant_id, q_exists, 2, p, &r, "update agent session", err);
    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent session '%s'", as->id);
    else if (!rc)
        rc = ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", as->episode_id);
    PQclear(r);
    return rc;
}

static const char q_get[] = "SELECT " SESSION_COLS("transcript")
                            " FROM agent_sessions WHERE tenant_id = $1 AND id = $2";

static int pg_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_agent_session *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_get, 2, p, &r, "agent session", id, err);

    if (!rc)
        rc = read_session(r, 0, out, err);
    PQclear(r);
    return rc;
}

static const char q_list[] = "SELECT " SESSION_COLS("NULL::jsonb")
                             " FROM agent_sessions WHERE tenant_id = $1"
                             " AND ($2::text IS NULL OR agent_id = $2) ORDER BY id DESC LIMIT $3";

static int pg_session_list(struct ad_store *st, const char *tenant_id, const char *agent_id,
                           int limit, struct ad_agent_session **out, size_t *n,
                           struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, agent_id, ad__pg_i64_text(limit, b) };
    PGresult *r = NULL;
    struct ad_agent_session *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_list, 3, p, &r,
                                      "list agent sessions", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing agent sessions");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_session(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_agent_session_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__session_ops ad__pg_session_ops = {
    .insert = pg_session_insert,
    .update = pg_session_update,
    .get = pg_session_get,
    .list = pg_session_list,
};
