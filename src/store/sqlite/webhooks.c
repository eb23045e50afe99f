/*
 * Webhooks, their deliveries and the signals' replay guard in SQLite (the
 * tables of migration 8). A receipt's UNIQUE (tenant_id, signature_hash)
 * is the replay guard itself: a second insert of one signature fails.
 */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_webhook
static const struct sq_col webhook_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, url, SQ_TEXT, 0),
    SQ_JSONCOL(T, topics, 0, 0),
    SQ_COL(T, active, SQ_BOOL, 0),
    SQ_COL(T, secret_generation, SQ_INT64, 0),
    SQ_COL(T, description, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table webhook_table = SQ_TABLE("webhook", struct ad_webhook, webhook_cols);

#define U SQ_UPDATE
#define D struct ad_webhook_delivery
static const struct sq_col delivery_cols[] = {
    SQ_COL(D, id, SQ_FIXED, 0),
    SQ_COL(D, tenant_id, SQ_FIXED, 0),
    SQ_COL(D, webhook_id, SQ_FIXED, 0),
    SQ_COL(D, event_id, SQ_FIXED, 0),
    SQ_COL(D, topic, SQ_TEXT, 0),
    SQ_JSONCOL(D, payload, 0, 0),
    SQ_ENUMCOL("status", D, status, &ad__delivery_status_enum, U),
    SQ_COL(D, attempts, SQ_INT, U),
    SQ_COL(D, last_status_code, SQ_INT, U),
    SQ_COL(D, last_error, SQ_TEXT, U),
    SQ_COL(D, next_attempt_at, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(D, created_at, SQ_FIXED, 0),
    SQ_COL(D, delivered_at, SQ_FIXED, SQ_EMPTY_NULL | U),
};
#undef D
#undef U

static const struct sq_table delivery_table =
    SQ_TABLE("webhook delivery", struct ad_webhook_delivery, delivery_cols);

static const struct sq_stmt webhook_insert = {
    &webhook_table, "INSERT INTO webhooks ({icols}) VALUES ({params})",
};
static const struct sq_stmt webhook_by_id = {
    &webhook_table, "SELECT {cols} FROM webhooks WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt webhook_lists[2] = {
    { &webhook_table, "SELECT {cols} FROM webhooks WHERE tenant_id = ?1 ORDER BY id LIMIT ?2" },
    { &webhook_table, "SELECT {cols} FROM webhooks WHERE tenant_id = ?1 AND active = 1"
                      " ORDER BY id LIMIT ?2" },
};
static const struct sq_stmt delivery_insert = {
    &delivery_table, "INSERT INTO webhook_deliveries ({icols}) VALUES ({params})",
};
static const struct sq_stmt delivery_by_id = {
    &delivery_table, "SELECT {cols} FROM webhook_deliveries WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt delivery_update = {
    &delivery_table, "UPDATE webhook_deliveries SET {set}"
                     " WHERE tenant_id = :tenant_id AND id = :id",
};

/* Newest first; ?2 the webhook, ?3 the status, either NULL for any. */
static const struct sq_stmt delivery_list = {
    &delivery_table, "SELECT {cols} FROM webhook_deliveries WHERE tenant_id = ?1"
                     " AND (?2 IS NULL OR webhook_id = ?2) AND (?3 IS NULL OR status = ?3)"
                     " ORDER BY id DESC LIMIT ?4",
};

static int sqlite_webhook_insert(struct ad_store *st, const struct ad_webhook *w,
                                 const char *topics, struct ad_err *err)
{
    const char *const json[] = { topics };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &webhook_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, w, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    return ad__sq_step_insert(s, q, w->tenant_id, "insert webhook", err);
}

static int sqlite_webhook_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_webhook *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &webhook_by_id, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get webhook", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown webhook '%s'", id);
    if (rc)
        ad_webhook_release(out);
    return rc;
}

static int sqlite_webhook_list(struct ad_store *st, const char *tenant_id, bool active_only,
                               int limit, struct ad_webhook **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_webhook *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &webhook_lists[active_only ? 1 : 0], &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 2, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list webhooks", err);
    if (rc) {
        ad_webhook_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_webhook_remove(struct ad_store *st, const char *tenant_id, const char *id,
                                 struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "DELETE FROM webhooks WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "webhook", id, err);
}

static int sqlite_webhook_rotate(struct ad_store *st, const char *tenant_id, const char *id,
                                 int64_t *generation, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE webhooks SET secret_generation = secret_generation + 1"
                           " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_changed(s, q, "webhook", id, err);
    if (rc)
        return rc;
    return ad__sq_ints(s, "SELECT secret_generation FROM webhooks WHERE tenant_id = ?1"
                          " AND id = ?2", tenant_id, id, generation, 1, "rotate webhook", err);
}

static int sqlite_delivery_insert(struct ad_store *st, const struct ad_webhook_delivery *d,
                                  const char *payload, struct ad_err *err)
{
    const char *const json[] = { payload };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &delivery_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, d, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    return ad__sq_step_insert(s, q, d->tenant_id, "insert webhook delivery", err);
}

static int sqlite_delivery_get(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_webhook_delivery *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &delivery_by_id, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get webhook delivery", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown delivery '%s'", id);
    if (rc)
        ad_webhook_delivery_release(out);
    return rc;
}

static int sqlite_delivery_list(struct ad_store *st, const char *tenant_id,
                                const char *webhook_id, int status, int limit,
                                struct ad_webhook_delivery **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_webhook_delivery *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &delivery_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (webhook_id)
        sqlite3_bind_text(q->stmt, 2, webhook_id, -1, SQLITE_STATIC);
    if (status >= 0)
        sqlite3_bind_text(q->stmt, 3, ad__enum_name(&ad__delivery_status_enum, status), -1,
                          SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 4, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list webhook deliveries",
                        err);
    if (rc) {
        ad_webhook_delivery_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_delivery_update(struct ad_store *st, const struct ad_webhook_delivery *d,
                                  struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &delivery_update, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, d, NULL, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    return ad__sq_step_changed(s, q, "delivery", d->id, err);
}

static int sqlite_receipt_insert(struct ad_store *st, const char *id, const char *tenant_id,
                                 const char *hash, const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "INSERT INTO signal_receipts (id, tenant_id, signature_hash,"
                           " received_at) VALUES (?1, ?2, ?3, ?4)", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "insert signal receipt", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "this signature was seen before (a replay)");
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    return rc;
}

static int sqlite_receipt_prune(struct ad_store *st, const char *before, int64_t *count,
                                struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "DELETE FROM signal_receipts WHERE received_at < ?1", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, before, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_DONE) {
        *count = sqlite3_changes(s->db);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, "prune signal receipts", err);
    }
    ad__sq_put(q);
    return rc;
}

static int sqlite_signal_generation(struct ad_store *st, const char *tenant_id,
                                    int64_t *generation, struct ad_err *err)
{
    int64_t v[2] = { 0, 0 };
    int rc = ad__sq_ints(ad__sq(st), "SELECT count(*), coalesce(max(generation), 1)"
                                     " FROM signal_keys WHERE tenant_id = ?1",
                         tenant_id, NULL, v, 2, "get signal generation", err);

    if (rc == 0)
        *generation = v[1];
    return rc;
}

static int sqlite_signal_rotate(struct ad_store *st, const char *id, const char *tenant_id,
                                const char *now, int64_t *generation, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "INSERT INTO signal_keys (id, tenant_id, generation, created_at)"
                           " VALUES (?1, ?2, 2, ?3) ON CONFLICT (tenant_id)"
                           " DO UPDATE SET generation = generation + 1", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, now, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "rotate signal secret", &changed, err);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    if (rc)
        return rc;
    return sqlite_signal_generation(st, tenant_id, generation, err);
}

const struct ad__webhook_ops ad__sqlite_webhook_ops = {
    .insert = sqlite_webhook_insert,
    .get = sqlite_webhook_get,
    .list = sqlite_webhook_list,
    .remove = sqlite_webhook_remove,
    .rotate = sqlite_webhook_rotate,
    .delivery_insert = sqlite_delivery_insert,
    .delivery_get = sqlite_delivery_get,
    .delivery_list = sqlite_delivery_list,
    .delivery_update = sqlite_delivery_update,
    .receipt_insert = sqlite_receipt_insert,
    .receipt_prune = sqlite_receipt_prune,
    .signal_generation = sqlite_signal_generation,
    .signal_rotate = sqlite_signal_rotate,
};
