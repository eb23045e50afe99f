/* Skill executions on PostgreSQL. */
#include "compat.h"

#include "pg/rowmap.h"

enum { J_INPUT, J_OUTPUT };

#define T struct ad_skill_execution
static const struct pgm_col execution_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, skill_version_id, PGM_FIXED, 0),
    PGM_COL(T, agent_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, episode_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_JSONCOL(T, input, J_INPUT),
    PGM_JSONCOL(T, output, J_OUTPUT),
    PGM_COL(T, success, PGM_BOOL, 0),
    PGM_COL(T, execution_seconds, PGM_REAL, 0),
    PGM_COL(T, token_usage, PGM_INT64, 0),
    PGM_COL(T, error, PGM_TEXT, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
};
#undef T

static const struct pgm_table execution_table = PGM_TABLE("skill execution", execution_cols);

#define EXECUTION_COLS                                                                  \
    "id, tenant_id, skill_version_id, agent_id, episode_id, input, output, success,"    \
    " execution_seconds, token_usage, error, ad_ts(created_at)"

static void execution_init(void *e)
{
    memset(e, 0, sizeof(struct ad_skill_execution));
}

static void execution_release(void *e)
{
    ad_skill_execution_release(e);
}

static const struct pgm_elem execution_elem = {
    sizeof(struct ad_skill_execution), execution_init, execution_release,
};

/* The version, and the agent and episode when set, must be the tenant's. */
static const char q_insert[] =
    "INSERT INTO skill_executions (id, tenant_id, skill_version_id, agent_id, episode_id,"
    " input, output, success, execution_seconds, token_usage, error, created_at)"
    " SELECT $1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::int, $9::float8, $10::bigint, $11,"
    " $12::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM skill_versions WHERE tenant_id = $2 AND id = $3)"
    " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM agents WHERE tenant_id = $2 AND id = $4))"
    " AND ($5::text IS NULL OR EXISTS"
    "  (SELECT 1 FROM episodes WHERE tenant_id = $2 AND id = $5))"
    " ON CONFLICT DO NOTHING";
static const char q_version_exists[] =
    "SELECT 1 FROM skill_versions WHERE tenant_id = $1 AND id = $2";
static const char q_agent_exists[] = "SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2";
static const char q_episode_exists[] = "SELECT 1 FROM episodes WHERE tenant_id = $1 AND id = $2";

static int pg_execution_insert(struct ad_store *st, const struct ad_skill_execution *x,
                               const char *input, const char *output, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *json[] = { [J_INPUT] = input, [J_OUTPUT] = output };
    const char *p[12];
    pgm_buf b[12];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&execution_table, x, json, b, p);
    rc = ad__pg_run(s, x->tenant_id, q_insert, 12, p, &r, "insert skill execution", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_version_exists, x->tenant_id, x->skill_version_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", x->skill_version_id);
    if (rc == 1 && x->agent_id[0])
        rc = ad__pgm_exists(s, q_agent_exists, x->tenant_id, x->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", x->agent_id);
    if (rc == 1 && x->episode_id[0])
        rc = ad__pgm_exists(s, q_episode_exists, x->tenant_id, x->episode_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", x->episode_id);
    if (rc < 0)
        return rc;
    return ad_error(err, AD_EEXIST, "skill execution '%s' already exists", x->id);
}

static const char q_list[] =
    "SELECT " EXECUTION_COLS " FROM skill_executions WHERE tenant_id = $1"
    " ORDER BY id DESC LIMIT $2";
static const char q_list_version[] =
    "SELECT " EXECUTION_COLS " FROM skill_executions"
    " WHERE tenant_id = $1 AND skill_version_id = $3 ORDER BY id DESC LIMIT $2";

static int pg_execution_list(struct ad_store *st, const char *tenant_id,
                             const char *skill_version_id, int limit,
                             struct ad_skill_execution **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, ad__pg_i64_text(limit, b), skill_version_id };

    return ad__pgm_list(ad__pg(st), tenant_id, skill_version_id ? q_list_version : q_list,
                        skill_version_id ? 3 : 2, p, &execution_table, &execution_elem,
                        (void **)out, n, "list skill executions", err);
}

const struct ad__execution_ops ad__pg_execution_ops = {
    .insert = pg_execution_insert,
    .list = pg_execution_list,
};
