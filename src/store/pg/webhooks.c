/*
 * Webhooks, their deliveries and the signals' replay guard on PostgreSQL
 * (migration 8). Each write is one statement that changes no row when
 * refused (an unknown tenant, a taken id, a signature seen before); a read
 * afterwards names why. A receipt's UNIQUE (tenant_id, signature_hash) is
 * the replay guard itself.
 */
#include "compat.h"

#include "pg/rowmap.h"

#define T struct ad_webhook
static const struct pgm_col webhook_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, url, PGM_TEXT, 0),
    PGM_JSONCOL(T, topics, 0),
    PGM_COL(T, active, PGM_BOOL, 0),
    PGM_COL(T, secret_generation, PGM_INT64, 0),
    PGM_COL(T, description, PGM_TEXT, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
};
#undef T

#define D struct ad_webhook_delivery
static const struct pgm_col delivery_cols[] = {
    PGM_COL(D, id, PGM_FIXED, 0),
    PGM_COL(D, tenant_id, PGM_FIXED, 0),
    PGM_COL(D, webhook_id, PGM_FIXED, 0),
    PGM_COL(D, event_id, PGM_FIXED, 0),
    PGM_COL(D, topic, PGM_TEXT, 0),
    PGM_JSONCOL(D, payload, 0),
    PGM_ENUMCOL(D, status, &ad__delivery_status_enum, 0),
    PGM_COL(D, attempts, PGM_INT, 0),
    PGM_COL(D, last_status_code, PGM_INT, 0),
    PGM_COL(D, last_error, PGM_TEXT, 0),
    PGM_COL(D, next_attempt_at, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(D, created_at, PGM_FIXED, 0),
    PGM_COL(D, delivered_at, PGM_FIXED, PGM_EMPTY_NULL),
};
#undef D

static const struct pgm_table webhook_table = PGM_TABLE("webhook", webhook_cols);
static const struct pgm_table delivery_table = PGM_TABLE("webhook delivery", delivery_cols);

static void webhook_init(void *e)
{
    memset(e, 0, sizeof(struct ad_webhook));
}

static void webhook_release(void *e)
{
    ad_webhook_release(e);
}

static void delivery_init(void *e)
{
    memset(e, 0, sizeof(struct ad_webhook_delivery));
}

static void delivery_release(void *e)
{
    ad_webhook_delivery_release(e);
}

static const struct pgm_elem webhook_elem = {
    sizeof(struct ad_webhook), webhook_init, webhook_release,
};
static const struct pgm_elem delivery_elem = {
    sizeof(struct ad_webhook_delivery), delivery_init, delivery_release,
};

#define WEBHOOK_COLS                                                                     \
    "id, tenant_id, url, topics, active, secret_generation, description, ad_ts(created_at)"
#define DELIVERY_COLS                                                                    \
    "id, tenant_id, webhook_id, event_id, topic, payload, status, attempts,"             \
    " last_status_code, last_error, ad_ts(next_attempt_at), ad_ts(created_at),"          \
    " ad_ts(delivered_at)"

static const char q_tenant[] = "SELECT 1 FROM tenants WHERE id = $1";

/* After an insert that changed no row: the tenant unknown, else what (a taken id) exists. */
static int refused(struct pg_store *s, const char *tenant, const char *what, const char *id,
                   struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant, q_tenant, 1, &tenant, &r, what, err);

    if (!rc)
        rc = PQntuples(r) > 0 ? ad_error(err, AD_EEXIST, "%s '%s' already exists", what, id)
                              : ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant);
    PQclear(r);
    return rc;
}

static const char q_webhook_insert[] =
    "INSERT INTO webhooks (id, tenant_id, url, topics, active, secret_generation, description,"
    " created_at) SELECT $1, $2, $3, $4::jsonb, $5::int, $6::bigint, $7, $8::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";

static int pg_webhook_insert(struct ad_store *st, const struct ad_webhook *w, const char *topics,
                             struct ad_err *err)
{
    const char *const json[] = { topics };
    struct pg_store *s = ad__pg(st);
    const char *p[8];
    pgm_buf b[8];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&webhook_table, w, json, b, p);
    rc = ad__pg_run(s, w->tenant_id, q_webhook_insert, 8, p, &r, "insert webhook", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return refused(s, w->tenant_id, "webhook", w->id, err);
}

static const char q_webhook_get[] =
    "SELECT " WEBHOOK_COLS " FROM webhooks WHERE tenant_id = $1 AND id = $2";

static int pg_webhook_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_webhook *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_webhook_get, 2, p, &r, "webhook", id, err);

    webhook_init(out);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &webhook_table, out, err);
    PQclear(r);
    if (rc)
        ad_webhook_release(out);
    return rc;
}

static const char q_webhook_list[] =
    "SELECT " WEBHOOK_COLS " FROM webhooks WHERE tenant_id = $1"
    " AND ($3::int = 0 OR active = 1) ORDER BY id LIMIT $2";

static int pg_webhook_list(struct ad_store *st, const char *tenant_id, bool active_only,
                           int limit, struct ad_webhook **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, ad__pg_i64_text(limit, b), active_only ? "1" : "0" };

    return ad__pgm_list(ad__pg(st), tenant_id, q_webhook_list, 3, p, &webhook_table,
                        &webhook_elem, (void **)out, n, "list webhooks", err);
}

static const char q_webhook_remove[] = "DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2";

static int pg_webhook_remove(struct ad_store *st, const char *tenant_id, const char *id,
                             struct ad_err *err)
{
    const char *p[] = { tenant_id, id };

    return ad__pg_run_one(ad__pg(st), tenant_id, q_webhook_remove, 2, p, NULL, "webhook", id,
                          err);
}

static const char q_webhook_rotate[] =
    "UPDATE webhooks SET secret_generation = secret_generation + 1"
    " WHERE tenant_id = $1 AND id = $2 RETURNING secret_generation";

static int pg_webhook_rotate(struct ad_store *st, const char *tenant_id, const char *id,
                             int64_t *generation, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_webhook_rotate, 2, p, &r, "webhook", id,
                            err);

    if (!rc)
        *generation = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static const char q_delivery_insert[] =
    "INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_id, topic, payload,"
    " status, attempts, last_status_code, last_error, next_attempt_at, created_at,"
    " delivered_at) SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8::int, $9::int, $10,"
    " $11::timestamptz, $12::timestamptz, $13::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";

static int pg_delivery_insert(struct ad_store *st, const struct ad_webhook_delivery *d,
                              const char *payload, struct ad_err *err)
{
    const char *const json[] = { payload };
    struct pg_store *s = ad__pg(st);
    const char *p[13];
    pgm_buf b[13];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&delivery_table, d, json, b, p);
    rc = ad__pg_run(s, d->tenant_id, q_delivery_insert, 13, p, &r, "insert webhook delivery",
                    err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return refused(s, d->tenant_id, "delivery", d->id, err);
}

static const char q_delivery_get[] =
    "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2";

static int pg_delivery_get(struct ad_store *st, const char *tenant_id, const char *id,
                           struct ad_webhook_delivery *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_delivery_get, 2, p, &r, "delivery", id,
                            err);

    delivery_init(out);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &delivery_table, out, err);
    PQclear(r);
    if (rc)
        ad_webhook_delivery_release(out);
    return rc;
}

/* Newest first; $2 the webhook, $3 the status, either NULL for any. */
static const char q_delivery_list[] =
    "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE tenant_id = $1"
    " AND ($2::text IS NULL OR webhook_id = $2) AND ($3::text IS NULL OR status = $3)"
    " ORDER BY id DESC LIMIT $4";

static int pg_delivery_list(struct ad_store *st, const char *tenant_id, const char *webhook_id,
                            int status, int limit, struct ad_webhook_delivery **out, size_t *n,
                            struct ad_err *err)
{
    char b[24];
    const char *p[] = {
        tenant_id, webhook_id,
        status >= 0 ? ad__enum_name(&ad__delivery_status_enum, status) : NULL,
        ad__pg_i64_text(limit, b),
    };

    return ad__pgm_list(ad__pg(st), tenant_id, q_delivery_list, 4, p, &delivery_table,
                        &delivery_elem, (void **)out, n, "list webhook deliveries", err);
}

static const char q_delivery_update[] =
    "UPDATE webhook_deliveries SET status = $3, attempts = $4::int,"
    " last_status_code = $5::int, last_error = $6, next_attempt_at = $7::timestamptz,"
    " delivered_at = $8::timestamptz WHERE tenant_id = $1 AND id = $2";

static int pg_delivery_update(struct ad_store *st, const struct ad_webhook_delivery *d,
                              struct ad_err *err)
{
    const char *a[13];
    pgm_buf b[13];

    ad__pgm_params(&delivery_table, d, NULL, b, a);
    {
        const char *p[] = { a[1], a[0], a[6], a[7], a[8], a[9], a[10], a[12] };

        return ad__pg_run_one(ad__pg(st), d->tenant_id, q_delivery_update, 8, p, NULL,
                              "delivery", d->id, err);
    }
}

static const char q_receipt_insert[] =
    "INSERT INTO signal_receipts (id, tenant_id, signature_hash, received_at)"
    " SELECT $1, $2, $3, $4::timestamptz WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)"
    " ON CONFLICT DO NOTHING";

static int pg_receipt_insert(struct ad_store *st, const char *id, const char *tenant_id,
                             const char *hash, const char *now, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { id, tenant_id, hash, now };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_receipt_insert, 4, p, &r, "insert signal receipt", err);

    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    r = NULL;
    rc = ad__pg_run(s, tenant_id, q_tenant, 1, &tenant_id, &r, "insert signal receipt", err);
    if (!rc)
        rc = PQntuples(r) > 0
                 ? ad_error(err, AD_EEXIST, "this signature was seen before (a replay)")
                 : ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    PQclear(r);
    return rc;
}

/* Every tenant's receipts: the prune is store-wide. */
static const char q_receipt_prune[] =
    "DELETE FROM signal_receipts WHERE received_at < $1::timestamptz";

static int pg_receipt_prune(struct ad_store *st, const char *before, int64_t *count,
                            struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), AD_PG_ALL_TENANTS, q_receipt_prune, 1, &before, &r,
                        "prune signal receipts", err);

    if (!rc)
        *count = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

static const char q_signal_generation[] =
    "SELECT coalesce(max(generation), 1) FROM signal_keys WHERE tenant_id = $1";

static int pg_signal_generation(struct ad_store *st, const char *tenant_id, int64_t *generation,
                                struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_signal_generation, 1, &tenant_id, &r,
                        "get signal generation", err);

    if (!rc)
        *generation = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static const char q_signal_rotate[] =
    "INSERT INTO signal_keys (id, tenant_id, generation, created_at)"
    " SELECT $1, $2, 2, $3::timestamptz WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)"
    " ON CONFLICT (tenant_id) DO UPDATE SET generation = signal_keys.generation + 1"
    " RETURNING generation";

static int pg_signal_rotate(struct ad_store *st, const char *id, const char *tenant_id,
                            const char *now, int64_t *generation, struct ad_err *err)
{
    const char *p[] = { id, tenant_id, now };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_signal_rotate, 3, p, &r,
                        "rotate signal secret", err);

    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    else if (!rc)
        *generation = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

const struct ad__webhook_ops ad__pg_webhook_ops = {
    .insert = pg_webhook_insert,
    .get = pg_webhook_get,
    .list = pg_webhook_list,
    .remove = pg_webhook_remove,
    .rotate = pg_webhook_rotate,
    .delivery_insert = pg_delivery_insert,
    .delivery_get = pg_delivery_get,
    .delivery_list = pg_delivery_list,
    .delivery_update = pg_delivery_update,
    .receipt_insert = pg_receipt_insert,
    .receipt_prune = pg_receipt_prune,
    .signal_generation = pg_signal_generation,
    .signal_rotate = pg_signal_rotate,
};
