/*
 * Tenants and their settings on PostgreSQL. Finding a tenant by name and
 * listing them are store-wide reads (AD_PG_ALL_TENANTS); everything else
 * runs as the tenant itself, so row-level security allows only its row.
 */
#include "compat.h"

#include "autodev/json.h"

#include "pg/pg_int.h"

#define TENANT_COLS "id, name, ad_ts(created_at)"

static int read_tenant(const PGresult *r, int i, struct ad_tenant *t, struct ad_err *err)
{
    ad__pg_fixed(r, i, 0, t->id, sizeof(t->id));
    ad__pg_fixed(r, i, 2, t->created_at, sizeof(t->created_at));
    return ad__pg_dup(r, i, 1, &t->name, err);
}

static const char q_find[] = "SELECT " TENANT_COLS " FROM tenants WHERE name = $1";

static int pg_tenant_find(struct ad_store *st, const char *name, struct ad_tenant *out,
                          struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), AD_PG_ALL_TENANTS, q_find, 1, &name, &r, "find tenant", err);

    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant '%s'", name);
    if (!rc)
        rc = read_tenant(r, 0, out, err);
    PQclear(r);
    return rc;
}

/* A taken name is no error on the server (which would abort the caller's transaction). */
static const char q_insert[] =
    "INSERT INTO tenants (id, name, settings, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING";

static int pg_tenant_insert(struct ad_store *st, const struct ad_tenant *t,
                            const char *settings, struct ad_err *err)
{
    const char *p[] = { t->id, t->name, settings, t->created_at };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), t->id, q_insert, 4, p, &r, "insert tenant", err);

    if (!rc && !strcmp(PQcmdTuples(r), "0"))
        rc = ad_error(err, AD_EEXIST, "tenant '%s' already exists", t->name);
    PQclear(r);
    return rc;
}

static const char q_settings_get[] = "SELECT settings FROM tenants WHERE id = $1";

static int pg_settings_get(struct ad_store *st, const char *tenant_id, json_t **out,
                           struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_settings_get, 1, &tenant_id, &r,
                        "read settings", err);

    *out = NULL;
    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    if (!rc)
        rc = ad__pg_json(r, 0, 0, out, err);
    PQclear(r);
    if (!rc && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = ad_error(err, AD_ECORRUPT, "settings of tenant '%s' are not an object", tenant_id);
    }
    return rc;
}

static const char q_settings_put[] =
    "UPDATE tenants SET settings = $2, updated_at = $3 WHERE id = $1";

static int pg_settings_put(struct ad_store *st, const char *tenant_id, const char *settings,
                           const char *now, struct ad_err *err)
{
    const char *p[] = { tenant_id, settings, now };

    return ad__pg_run_one(ad__pg(st), tenant_id, q_settings_put, 3, p, NULL, "tenant id",
                          tenant_id, err);
}

static const char q_list[] = "SELECT " TENANT_COLS " FROM tenants ORDER BY name";

static int pg_tenant_list(struct ad_store *st, struct ad_tenant **out, size_t *n,
                          struct ad_err *err)
{
    PGresult *r = NULL;
    struct ad_tenant *v = NULL;
    int i, count = 0, rc;

    rc = ad__pg_run(ad__pg(st), AD_PG_ALL_TENANTS, q_list, 0, NULL, &r, "list tenants", err);
    if (!rc) {
        count = PQntuples(r);
        v = calloc(count ? count : 1, sizeof(*v));
        if (!v)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing tenants");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_tenant(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_tenant_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__tenant_ops ad__pg_tenant_ops = {
    .find = pg_tenant_find,
    .insert = pg_tenant_insert,
    .settings_get = pg_settings_get,
    .settings_put = pg_settings_put,
    .list = pg_tenant_list,
};
