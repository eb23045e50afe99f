/* Agent sessions in SQLite. A list leaves the transcript (up to 8 MiB a row) in the database. */
#include "compat.h"

#include "sqlite/sqlite_int.h"

enum { J_TRANSCRIPT, J_STATE };

#define T struct ad_agent_session
static const struct sq_col session_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, 0),
    SQ_COL(T, task, SQ_TEXT, 0),
    SQ_ENUMCOL("status", T, status, &ad__session_status_enum, SQ_UPDATE),
    SQ_JSONCOL(T, transcript, J_TRANSCRIPT, SQ_HEAVY | SQ_UPDATE),
    SQ_JSONCOL(T, state, J_STATE, SQ_UPDATE),
    SQ_COL(T, episode_id, SQ_FIXED, SQ_EMPTY_NULL | SQ_UPDATE),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, SQ_UPDATE),
};
#undef T

static const struct sq_table session_table =
    SQ_TABLE("agent session", struct ad_agent_session, session_cols);

/* The agent, and the episode when set, must be the tenant's. */
static const struct sq_stmt session_insert = {
    &session_table, "INSERT INTO agent_sessions ({icols}) SELECT {params}"
                    " WHERE EXISTS (SELECT 1 FROM agents"
                    " WHERE tenant_id = :tenant_id AND id = :agent_id)"
                    " AND (:episode_id IS NULL OR EXISTS (SELECT 1 FROM episodes"
                    " WHERE tenant_id = :tenant_id AND id = :episode_id))",
};
static const struct sq_stmt session_update = {
    &session_table, "UPDATE agent_sessions SET {set} WHERE tenant_id = :tenant_id AND id = :id"
                    " AND (:episode_id IS NULL OR EXISTS (SELECT 1 FROM episodes"
                    " WHERE tenant_id = :tenant_id AND id = :episode_id))",
};
static const struct sq_stmt session_get = {
    &session_table, "SELECT {cols} FROM agent_sessions WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt session_list = {
    &session_table, "SELECT {light} FROM agent_sessions WHERE tenant_id = ?1"
                    " ORDER BY id DESC LIMIT ?3",
};
static const struct sq_stmt session_list_agent = {
    &session_table, "SELECT {light} FROM agent_sessions WHERE tenant_id = ?1 AND agent_id = ?2"
                    " ORDER BY id DESC LIMIT ?3",
};

/* Binds s with its two JSON texts and runs the conditional write. */
static int write_session(struct sqlite_store *s, const struct sq_stmt *def,
                         const struct ad_agent_session *as, const char *transcript,
                         const char *state, int *changed, const char *what, struct ad_err *err)
{
    const char *const json[] = { [J_TRANSCRIPT] = transcript, [J_STATE] = state };
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, def, &q, err);

    *changed = 0;
    if (!rc)
        rc = ad__sq_bind_row(s, q, as, json, err);
    if (!rc)
        return ad__sq_step_cond(s, q, what, changed, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_session_insert(struct ad_store *st, const struct ad_agent_session *as,
                                 const char *transcript, const char *state, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int changed;
    int rc = write_session(s, &session_insert, as, transcript, state, &changed,
                           "insert agent session", err);

    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "agent session '%s' already exists", as->id);
    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, SQ_AGENT_EXISTS, as->tenant_id, as->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", as->agent_id);
    return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", as->episode_id);
}

static int sqlite_session_update(struct ad_store *st, const struct ad_agent_session *as,
                                 const char *transcript, const char *state, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int changed;
    int rc = write_session(s, &session_update, as, transcript, state, &changed,
                           "update agent session", err);

    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, "SELECT 1 FROM agent_sessions WHERE tenant_id = ?1 AND id = ?2",
                       as->tenant_id, as->id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent session '%s'", as->id);
    return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", as->episode_id);
}

static int sqlite_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_agent_session *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &session_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get agent session", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent session '%s'", id);
    if (rc)
        ad_agent_session_release(out);
    return rc;
}

static int sqlite_session_list(struct ad_store *st, const char *tenant_id, const char *agent_id,
                               int limit, struct ad_agent_session **out, size_t *n,
                               struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_agent_session *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, agent_id ? &session_list_agent : &session_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (agent_id)
        sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list agent sessions", err);
    if (rc) {
        ad_agent_session_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__session_ops ad__sqlite_session_ops = {
    .insert = sqlite_session_insert,
    .update = sqlite_session_update,
    .get = sqlite_session_get,
    .list = sqlite_session_list,
};
