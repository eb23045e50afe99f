/*
 * Agents in SQLite, and an agent's record for graduation (an aggregate
 * over its episodes, read by hand: it maps to no row).
 */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_agent
static const struct sq_col agent_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, name, SQ_TEXT, 0),
    SQ_ENUMCOL("maturity", T, maturity, &ad__maturity_enum, 0),
    SQ_COL(T, episode_count, SQ_INT64, 0),
    SQ_COL(T, success_count, SQ_INT64, 0),
    SQ_COL(T, failure_count, SQ_INT64, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, 0),
    SQ_COL(T, tool_policy, SQ_TEXT, 0),
};
#undef T

static const struct sq_table agent_table = SQ_TABLE("agent", struct ad_agent, agent_cols);

static const struct sq_stmt agent_insert = {
    &agent_table, "INSERT INTO agents ({icols}) VALUES ({params})",
};
static const struct sq_stmt agent_by_id = {
    &agent_table, "SELECT {cols} FROM agents WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt agent_by_name = {
    &agent_table, "SELECT {cols} FROM agents WHERE tenant_id = ?1 AND name = ?2",
};
static const struct sq_stmt agent_list = {
    &agent_table, "SELECT {cols} FROM agents WHERE tenant_id = ?1 AND name > ?2"
                  " ORDER BY name LIMIT ?3",
};

static int sqlite_agent_insert(struct ad_store *st, const struct ad_agent *a,
                               struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &agent_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, a, NULL, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (ad__sq_code(rc) == AD_EEXIST)
            rc = ad_error(err, AD_EEXIST, "agent '%s' already exists", a->name);
        else if (ad__sq_code(rc) == AD_ENOTFOUND)
            rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", a->tenant_id);
        else
            rc = ad__sq_fail(s, rc, "insert agent", err);
    }
    ad__sq_put(q);
    return rc;
}

static int sqlite_agent_get(struct ad_store *st, const char *tenant_id, const char *id,
                            const char *name, struct ad_agent *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, id ? &agent_by_id : &agent_by_name, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id ? id : name, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get agent", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", id ? id : name);
    if (rc)
        ad_agent_release(out);
    return rc;
}

static int sqlite_agent_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                             int limit, struct ad_agent **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_agent *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &agent_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, after_name ? after_name : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list agents", err);
    if (rc) {
        ad_agent_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_agent_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                                     enum ad_maturity m, const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE agents SET maturity = ?3, updated_at = ?4"
                           " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, ad_maturity_name(m), -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "agent", id, err);
}

static int sqlite_agent_set_tool_policy(struct ad_store *st, const char *tenant_id,
                                        const char *id, const char *policy, const char *now,
                                        struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE agents SET tool_policy = ?3, updated_at = ?4"
                           " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    if (policy)
        sqlite3_bind_text(q->stmt, 3, policy, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q->stmt, 3);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "agent", id, err);
}

/*
 * One statement over ix_episodes_agent_success, so the four numbers come
 * from one snapshot; the agents subquery tells "no episodes" from "no agent".
 */
static int sqlite_agent_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                               struct ad_agent_record *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "SELECT (SELECT count(*) FROM agents WHERE tenant_id = ?1 AND id = ?2),"
                           " count(*), coalesce(sum(intervention), 0), count(constitutional_score),"
                           " coalesce(avg(constitutional_score), 0)"
                           " FROM episodes WHERE tenant_id = ?1 AND agent_id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW && sqlite3_column_int(q->stmt, 0) == 0) {
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", agent_id);
    } else if (rc == SQLITE_ROW) {
        out->episodes = sqlite3_column_int64(q->stmt, 1);
        out->interventions = sqlite3_column_int64(q->stmt, 2);
        out->constitutional_n = sqlite3_column_int64(q->stmt, 3);
        out->constitutional_mean = sqlite3_column_double(q->stmt, 4);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, "read agent record", err);
    }
    ad__sq_put(q);
    return rc;
}

const struct ad__agent_ops ad__sqlite_agent_ops = {
    .insert = sqlite_agent_insert,
    .get = sqlite_agent_get,
    .list = sqlite_agent_list,
    .set_maturity = sqlite_agent_set_maturity,
    .set_tool_policy = sqlite_agent_set_tool_policy,
    .record = sqlite_agent_record,
};
