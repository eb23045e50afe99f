/* Autoresearch's sessions and iterations in SQLite. */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_research_session
#define U SQ_UPDATE
static const struct sq_col session_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, name, SQ_TEXT, 0),
    SQ_COL(T, repo_path, SQ_TEXT, 0),
    SQ_COL(T, metric_name, SQ_TEXT, 0),
    SQ_COL(T, direction, SQ_TEXT, 0),
    SQ_COL(T, status, SQ_TEXT, U),
    SQ_JSONCOL(T, budget, 0, 0),
    SQ_COL(T, baseline_metric, SQ_REAL, SQ_NAN_NULL | U),
    SQ_COL(T, best_metric, SQ_REAL, SQ_NAN_NULL | U),
    SQ_JSONCOL(T, config, 1, U),
    SQ_COL(T, worktree, SQ_TEXT, U),
    SQ_COL(T, best_commit, SQ_TEXT, U),
    SQ_COL(T, noise, SQ_REAL, SQ_NAN_NULL | U),
    SQ_JSONCOL(T, state, 2, U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, U),
};
#undef T

#define T struct ad_research_iteration
static const struct sq_col iteration_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, session_id, SQ_FIXED, 0),
    SQ_COL(T, seq, SQ_INT, 0),
    SQ_COL(T, hypothesis, SQ_TEXT, U),
    SQ_COL(T, diff, SQ_TEXT, U),
    SQ_COL(T, metric, SQ_REAL, SQ_NAN_NULL | U),
    SQ_COL(T, decision, SQ_TEXT, U),
    SQ_JSONCOL(T, gate_results, 0, U),
    SQ_COL(T, commit_sha, SQ_TEXT, U),
    SQ_COL(T, phase, SQ_TEXT, U),
    SQ_JSONCOL(T, detail, 1, U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef U
#undef T

static const struct sq_table session_table =
    SQ_TABLE("research session", struct ad_research_session, session_cols);
static const struct sq_table iteration_table =
    SQ_TABLE("research iteration", struct ad_research_iteration, iteration_cols);

static const struct sq_stmt session_insert = {
    &session_table, "INSERT INTO research_sessions ({icols}) VALUES ({params})",
};
static const struct sq_stmt session_update = {
    &session_table, "UPDATE research_sessions SET {set} WHERE tenant_id = :tenant_id"
                    " AND id = :id",
};
static const struct sq_stmt session_get = {
    &session_table, "SELECT {cols} FROM research_sessions WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt session_list = {
    &session_table, "SELECT {cols} FROM research_sessions WHERE tenant_id = ?1"
                    " ORDER BY created_at DESC, id DESC LIMIT ?2",
};
/* The session must be the tenant's: the foreign key alone accepts any tenant's. */
static const struct sq_stmt iteration_insert = {
    &iteration_table, "INSERT INTO research_iterations ({icols}) SELECT {params}"
                      " WHERE EXISTS (SELECT 1 FROM research_sessions"
                      " WHERE tenant_id = :tenant_id AND id = :session_id)",
};
static const struct sq_stmt iteration_update = {
    &iteration_table, "UPDATE research_iterations SET {set} WHERE tenant_id = :tenant_id"
                      " AND id = :id",
};
static const struct sq_stmt iteration_list = {
    &iteration_table, "SELECT {cols} FROM research_iterations WHERE tenant_id = ?1"
                      " AND session_id = ?2 ORDER BY seq LIMIT ?3",
};

static int sqlite_session_insert(struct ad_store *st, const struct ad_research_session *rs,
                                 const char *const json[3], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &session_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, rs, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_insert(s, q, rs->tenant_id, "insert research session", err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "research session '%s' already exists", rs->name);
    return rc;
}

static int sqlite_session_update(struct ad_store *st, const struct ad_research_session *rs,
                                 const char *const json[3], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &session_update, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, rs, json, err);
    if (!rc)
        return ad__sq_step_changed(s, q, "research session", rs->id, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_research_session *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &session_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get research session", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown research session '%s'", id);
    if (rc)
        ad_research_session_release(out);
    return rc;
}

static int sqlite_session_list(struct ad_store *st, const char *tenant_id, int limit,
                               struct ad_research_session **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_research_session *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &session_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 2, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list research sessions",
                        err);
    if (rc) {
        ad_research_session_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_iteration_insert(struct ad_store *st, const struct ad_research_iteration *it,
                                   const char *const json[2], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &iteration_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, it, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert research iteration", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "iteration %d of session '%s' already exists", it->seq,
                        it->session_id);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown research session '%s'", it->session_id);
}

static int sqlite_iteration_update(struct ad_store *st, const struct ad_research_iteration *it,
                                   const char *const json[2], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &iteration_update, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, it, json, err);
    if (!rc)
        return ad__sq_step_changed(s, q, "research iteration", it->id, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_iteration_list(struct ad_store *st, const char *tenant_id,
                                 const char *session_id, int limit,
                                 struct ad_research_iteration **out, size_t *n,
                                 struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_research_iteration *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &iteration_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count,
                        "list research iterations", err);
    if (rc) {
        ad_research_iteration_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__research_ops ad__sqlite_research_ops = {
    .session_insert = sqlite_session_insert,
    .session_update = sqlite_session_update,
    .session_get = sqlite_session_get,
    .session_list = sqlite_session_list,
    .iteration_insert = sqlite_iteration_insert,
    .iteration_update = sqlite_iteration_update,
    .iteration_list = sqlite_iteration_list,
};
