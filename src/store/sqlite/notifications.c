/* Notifications in SQLite. */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_notification
static const struct sq_col notification_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, type, SQ_TEXT, 0),
    SQ_COL(T, title, SQ_TEXT, 0),
    SQ_COL(T, message, SQ_TEXT, 0),
    SQ_JSONCOL(T, payload, 0, 0),
    SQ_COL(T, read_at, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table notification_table =
    SQ_TABLE("notification", struct ad_notification, notification_cols);

/* The agent, when set, must be the tenant's. */
static const struct sq_stmt notification_insert = {
    &notification_table, "INSERT INTO notifications ({icols}) SELECT {params}"
                         " WHERE :agent_id IS NULL OR EXISTS (SELECT 1 FROM agents"
                         " WHERE tenant_id = :tenant_id AND id = :agent_id)",
};

/* Newest first down ix_notifications_tenant; the filters are checked on the way. */
#define LIST_SQL(where) \
    "SELECT {cols} FROM notifications WHERE tenant_id = ?1" where \
    " AND id < ?4 ORDER BY id DESC LIMIT ?3"

static const struct sq_stmt notification_lists[2][2] = {
    { { &notification_table, LIST_SQL("") },
      { &notification_table, LIST_SQL(" AND type = ?2") } },
    { { &notification_table, LIST_SQL(" AND read_at IS NULL") },
      { &notification_table, LIST_SQL(" AND read_at IS NULL AND type = ?2") } },
};

static int sqlite_notification_insert(struct ad_store *st, const struct ad_notification *nt,
                                      const char *payload, struct ad_err *err)
{
    const char *const json[] = { payload };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &notification_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, nt, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert notification", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "notification '%s' already exists", nt->id);
    if (rc == AD_ENOTFOUND)    /* the tenant: the WHERE checks the agent */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", nt->tenant_id);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", nt->agent_id);
}

/* Keyset paging as the jobs' (sqlite/jobs.c): "id < ?4", AD__SQ_ID_TOP without a key. */
static int sqlite_notification_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                                    const char *type, const char *before_id, int limit,
                                    struct ad_notification **out, size_t *n,
                                    struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_notification *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &notification_lists[unread_only ? 1 : 0][type ? 1 : 0], &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (type)
        sqlite3_bind_text(q->stmt, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    sqlite3_bind_text(q->stmt, 4, before_id ? before_id : AD__SQ_ID_TOP, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list notifications", err);
    if (rc) {
        ad_notification_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/*
 * Only unread rows are written, so a second mark keeps the first read_at
 * and counts 0; for one id, "no row changed" then asks whether it exists.
 */
static int sqlite_notification_mark_read(struct ad_store *st, const char *tenant_id,
                                         const char *id, const char *now, int64_t *count,
                                         struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, id ? "UPDATE notifications SET read_at = ?3"
                                " WHERE tenant_id = ?1 AND id = ?2 AND read_at IS NULL"
                              : "UPDATE notifications SET read_at = ?3"
                                " WHERE tenant_id = ?1 AND read_at IS NULL", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (id)
        sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, now, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_DONE)
        *count = sqlite3_changes(s->db);
    else
        rc = ad__sq_fail(s, rc, "mark notifications read", err);
    ad__sq_put(q);
    if (rc != SQLITE_DONE)
        return rc;
    if (*count > 0 || !id)
        return 0;
    rc = ad__sq_exists(s, "SELECT 1 FROM notifications WHERE tenant_id = ?1 AND id = ?2",
                       tenant_id, id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown notification '%s'", id);
    return rc < 0 ? rc : 0;
}

const struct ad__notification_ops ad__sqlite_notification_ops = {
    .insert = sqlite_notification_insert,
    .list = sqlite_notification_list,
    .mark_read = sqlite_notification_mark_read,
};
