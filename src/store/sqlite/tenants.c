/*
 * Tenants and their settings in SQLite. The settings object is read and
 * written whole; settings.c merges the auto_dev block into it.
 */
#include "compat.h"

#include "autodev/json.h"

#include "sqlite/sqlite_int.h"

static const struct sq_col tenant_cols[] = {
    SQ_COL(struct ad_tenant, id, SQ_FIXED, 0),
    SQ_COL(struct ad_tenant, name, SQ_TEXT, 0),
    SQ_COL(struct ad_tenant, created_at, SQ_FIXED, 0),
};

static const struct sq_table tenant_table = SQ_TABLE("tenant", struct ad_tenant, tenant_cols);

static const struct sq_stmt tenant_find = {
    &tenant_table, "SELECT {cols} FROM tenants WHERE name = ?1",
};

/* settings and updated_at are not members of struct ad_tenant: bound by name. */
static const struct sq_stmt tenant_insert = {
    &tenant_table, "INSERT INTO tenants ({cols}, settings, updated_at)"
                   " VALUES ({params}, :settings, :created_at)",
};

static int sqlite_tenant_find(struct ad_store *st, const char *name, struct ad_tenant *out,
                              struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &tenant_find, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, name, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "find tenant", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant '%s'", name);
    if (rc)
        ad_tenant_release(out);
    return rc;
}

static int sqlite_tenant_insert(struct ad_store *st, const struct ad_tenant *t,
                                const char *settings, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &tenant_insert, &q, err);

    if (rc)
        return rc;
    rc = ad__sq_bind_row(s, q, t, NULL, err);
    ad__sq_bind_text(q->stmt, ":settings", settings);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (ad__sq_code(rc) == AD_EEXIST)
            rc = ad_error(err, AD_EEXIST, "tenant '%s' already exists", t->name);
        else
            rc = ad__sq_fail(s, rc, "insert tenant", err);
    }
    ad__sq_put(q);
    return rc;
}

static int sqlite_settings_get(struct ad_store *st, const char *tenant_id, json_t **out,
                               struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    const char *t;
    json_error_t jerr;
    int rc = ad__sq_get(s, "SELECT settings FROM tenants WHERE id = ?1", &q, err);

    *out = NULL;
    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        t = (const char *)sqlite3_column_text(q->stmt, 0);
        *out = t ? json_loads(t, 0, &jerr) : NULL;
        /* Out of memory (reading the column or parsing it) is not corrupt settings. */
        if (!*out && (t ? ad_json_load_code(&jerr) == AD_ENOMEM
                        : sqlite3_column_type(q->stmt, 0) != SQLITE_NULL))
            rc = ad_error(err, AD_ENOMEM, "out of memory reading the settings of tenant '%s'",
                          tenant_id);
        else
            rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    } else {
        rc = ad__sq_fail(s, rc, "read settings", err);
    }
    ad__sq_put(q);
    if (!rc && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = ad_error(err, AD_ECORRUPT, "settings of tenant '%s' are not an object", tenant_id);
    }
    return rc;
}

static int sqlite_settings_put(struct ad_store *st, const char *tenant_id, const char *settings,
                               const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE tenants SET settings = ?2, updated_at = ?3 WHERE id = ?1", &q,
                        err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, settings, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, now, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "tenant id", tenant_id, err);
}

static const struct sq_stmt tenant_list = {
    &tenant_table, "SELECT {cols} FROM tenants ORDER BY name",
};

static int sqlite_tenant_list(struct ad_store *st, struct ad_tenant **out, size_t *n,
                              struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_tenant *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &tenant_list, &q, err);

    if (rc)
        return rc;
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list tenants", err);
    if (rc) {
        ad_tenant_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__tenant_ops ad__sqlite_tenant_ops = {
    .find = sqlite_tenant_find,
    .insert = sqlite_tenant_insert,
    .settings_get = sqlite_settings_get,
    .settings_put = sqlite_settings_put,
    .list = sqlite_tenant_list,
};
