/*
 * Capability usage in SQLite. Hand-written statements: the API passes the
 * fields one by one and reads back only counts, so there is no struct for
 * a column description to bind or fill.
 */
#include "compat.h"

#include "sqlite/sqlite_int.h"

static int sqlite_capability_insert(struct ad_store *st, const char *id, const char *tenant_id,
                                    const char *agent_id, const char *capability, bool success,
                                    const char *created_at, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "INSERT INTO capability_usage"
                           " (id, tenant_id, agent_id, capability, success, created_at)"
                           " SELECT ?1, ?2, ?3, ?4, ?5, ?6"
                           " WHERE EXISTS (SELECT 1 FROM agents WHERE tenant_id = ?2 AND id = ?3)",
                        &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, capability, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 5, success ? 1 : 0);
    sqlite3_bind_text(q->stmt, 6, created_at, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "record capability use", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "capability use '%s' already exists", id);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", agent_id);
}

/* ix_capability_usage_agent: all of it with an agent, its tenant prefix without. */
static int sqlite_capability_count(struct ad_store *st, const char *tenant_id,
                                   const char *agent_id, const char *capability,
                                   const char *since, struct ad_capability_count *out,
                                   struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, agent_id ? "SELECT count(*), coalesce(sum(success), 0)"
                                      " FROM capability_usage WHERE tenant_id = ?1"
                                      " AND agent_id = ?2 AND capability = ?3"
                                      " AND created_at >= ?4"
                                    : "SELECT count(*), coalesce(sum(success), 0)"
                                      " FROM capability_usage WHERE tenant_id = ?1"
                                      " AND capability = ?3 AND created_at >= ?4",
                        &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (agent_id)
        sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, capability, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, since, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        out->uses = sqlite3_column_int64(q->stmt, 0);
        out->successes = sqlite3_column_int64(q->stmt, 1);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, "count capability uses", err);
    }
    ad__sq_put(q);
    return rc;
}

const struct ad__capability_ops ad__sqlite_capability_ops = {
    .insert = sqlite_capability_insert,
    .count = sqlite_capability_count,
};
