/* Notifications on PostgreSQL, with sqlite/notifications.c's semantics. */
#include "compat.h"

#include "pg/pg_int.h"

#define NOTE_COLS                                                                  \
    "id, tenant_id, agent_id, type, title, message, payload, ad_ts(read_at),"      \
    " ad_ts(created_at)"

static int read_note(const PGresult *r, int i, struct ad_notification *nt, struct ad_err *err)
{
    int rc;

    memset(nt, 0, sizeof(*nt));
    ad__pg_fixed(r, i, 0, nt->id, sizeof(nt->id));
    ad__pg_fixed(r, i, 1, nt->tenant_id, sizeof(nt->tenant_id));
    ad__pg_fixed(r, i, 2, nt->agent_id, sizeof(nt->agent_id));
    ad__pg_fixed(r, i, 7, nt->read_at, sizeof(nt->read_at));
    ad__pg_fixed(r, i, 8, nt->created_at, sizeof(nt->created_at));
    rc = ad__pg_dup(r, i, 3, &nt->type, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 4, &nt->title, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 5, &nt->message, err);
    if (!rc)
        rc = ad__pg_json(r, i, 6, &nt->payload, err);
    if (rc)
        ad_notification_release(nt);
    return rc;
}

/*
 * One statement: the row goes in only when the tenant exists and the agent
 * (when set) is the tenant's; otherwise no row, and a read says which.
 */
static const char q_insert[] =
    "INSERT INTO notifications (id, tenant_id, agent_id, type, title, message, payload,"
    " read_at, created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)"
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM agents WHERE tenant_id = $2 AND id = $3))";
static const char q_tenant[] = "SELECT 1 FROM tenants WHERE id = $1";

static int pg_notification_insert(struct ad_store *st, const struct ad_notification *nt,
                                  const char *payload, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = {
        nt->id, nt->tenant_id, ad__pg_opt(nt->agent_id), nt->type, nt->title,
        nt->message ? nt->message : "", payload, ad__pg_opt(nt->read_at), nt->created_at,
    };
    const char *tenant = nt->tenant_id;
    PGresult *r = NULL;
    int rc = ad__pg_run(s, nt->tenant_id, q_insert, 9, p, &r, "insert notification", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, nt->tenant_id, q_tenant, 1, &tenant, &r, "insert notification", err);
    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", nt->tenant_id);
    else if (!rc)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", nt->agent_id);
    PQclear(r);
    return rc;
}

/* Newest first down ix_notifications_tenant; the filters are checked on the way. */
static const char q_list[] =
    "SELECT " NOTE_COLS " FROM notifications WHERE tenant_id = $1"
    " AND ($2::text IS NULL OR type = $2) AND (NOT $5::boolean OR read_at IS NULL)"
    " AND ($4::text IS NULL OR id < $4) ORDER BY id DESC LIMIT $3";

static int pg_notification_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                                const char *type, const char *before_id, int limit,
                                struct ad_notification **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, type, ad__pg_i64_text(limit, b), before_id,
                        unread_only ? "true" : "false" };
    PGresult *r = NULL;
    struct ad_notification *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_list, 5, p, &r,
                                      "list notifications", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing notifications");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_note(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_notification_list_free(v, v ? (size_t)count : 0);
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
static const char q_mark_one[] = "UPDATE notifications SET read_at = $3"
                                 " WHERE tenant_id = $1 AND id = $2 AND read_at IS NULL";
static const char q_mark_all[] = "UPDATE notifications SET read_at = $2"
                                 " WHERE tenant_id = $1 AND read_at IS NULL";
static const char q_exists[] = "SELECT 1 FROM notifications WHERE tenant_id = $1 AND id = $2";

static int pg_notification_mark_read(struct ad_store *st, const char *tenant_id,
                                     const char *id, const char *now, int64_t *count,
                                     struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *one[] = { tenant_id, id, now };
    const char *all[] = { tenant_id, now };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, id ? q_mark_one : q_mark_all, id ? 3 : 2, id ? one : all,
                        &r, "mark notifications read", err);

    if (rc)
        return rc;
    *count = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (*count > 0 || !id)
        return 0;
    rc = ad__pg_run(s, tenant_id, q_exists, 2, one, &r, "mark notifications read", err);
    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown notification '%s'", id);
    PQclear(r);
    return rc;
}

const struct ad__notification_ops ad__pg_notification_ops = {
    .insert = pg_notification_insert,
    .list = pg_notification_list,
    .mark_read = pg_notification_mark_read,
};
