/* Skill executions in SQLite. */
#include "compat.h"

#include "sqlite/sqlite_int.h"

enum { J_INPUT, J_OUTPUT };

#define T struct ad_skill_execution
static const struct sq_col execution_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, skill_version_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, episode_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_JSONCOL(T, input, J_INPUT, 0),
    SQ_JSONCOL(T, output, J_OUTPUT, 0),
    SQ_COL(T, success, SQ_BOOL, 0),
    SQ_COL(T, execution_seconds, SQ_REAL, 0),
    SQ_COL(T, token_usage, SQ_INT64, 0),
    SQ_COL(T, error, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table execution_table =
    SQ_TABLE("skill execution", struct ad_skill_execution, execution_cols);

/* The version, and the agent and episode when set, must be the tenant's. */
static const struct sq_stmt execution_insert = {
    &execution_table, "INSERT INTO skill_executions ({icols}) SELECT {params}"
                      " WHERE EXISTS (SELECT 1 FROM skill_versions"
                      " WHERE tenant_id = :tenant_id AND id = :skill_version_id)"
                      " AND (:agent_id IS NULL OR EXISTS (SELECT 1 FROM agents"
                      " WHERE tenant_id = :tenant_id AND id = :agent_id))"
                      " AND (:episode_id IS NULL OR EXISTS (SELECT 1 FROM episodes"
                      " WHERE tenant_id = :tenant_id AND id = :episode_id))",
};
/* ix_skill_executions_version with a version, ix_skill_executions_tenant without. */
static const struct sq_stmt execution_list = {
    &execution_table, "SELECT {cols} FROM skill_executions WHERE tenant_id = ?1"
                      " ORDER BY id DESC LIMIT ?3",
};
static const struct sq_stmt execution_list_version = {
    &execution_table, "SELECT {cols} FROM skill_executions"
                      " WHERE tenant_id = ?1 AND skill_version_id = ?2"
                      " ORDER BY id DESC LIMIT ?3",
};

/* Why an execution insert matched nothing: the version, the agent or the episode. */
static int execution_missing(struct sqlite_store *s, const struct ad_skill_execution *x,
                             struct ad_err *err)
{
    int rc = ad__sq_exists(s, "SELECT 1 FROM skill_versions WHERE tenant_id = ?1 AND id = ?2",
                           x->tenant_id, x->skill_version_id, err);

    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", x->skill_version_id);
    if (rc == 1 && x->agent_id[0])
        rc = ad__sq_exists(s, SQ_AGENT_EXISTS, x->tenant_id, x->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", x->agent_id);
    if (rc < 0)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", x->episode_id);
}

static int sqlite_execution_insert(struct ad_store *st, const struct ad_skill_execution *x,
                                   const char *input, const char *output, struct ad_err *err)
{
    const char *const json[] = { [J_INPUT] = input, [J_OUTPUT] = output };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &execution_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, x, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert skill execution", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "skill execution '%s' already exists", x->id);
    if (rc || changed)
        return rc;
    return execution_missing(s, x, err);
}

static int sqlite_execution_list(struct ad_store *st, const char *tenant_id,
                                 const char *skill_version_id, int limit,
                                 struct ad_skill_execution **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_skill_execution *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, skill_version_id ? &execution_list_version : &execution_list, &q,
                            err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (skill_version_id)
        sqlite3_bind_text(q->stmt, 2, skill_version_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list skill executions",
                        err);
    if (rc) {
        ad_skill_execution_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__execution_ops ad__sqlite_execution_ops = {
    .insert = sqlite_execution_insert,
    .list = sqlite_execution_list,
};
