/* A workspace's fitness terms on PostgreSQL (fitness_terms, migration 12). */
#include "compat.h"

#include "pg/pg_int.h"
#include "pg/pg_ops.h"

#define TERM_COLS                                                                  \
    "id, tenant_id, name, code, code_sha, weight, enabled, ad_ts(created_at),"     \
    " ad_ts(updated_at)"

static int read_term(const PGresult *r, int i, struct ad_fitness_term *t, struct ad_err *err)
{
    int rc;

    memset(t, 0, sizeof(*t));
    ad__pg_fixed(r, i, 0, t->id, sizeof(t->id));
    ad__pg_fixed(r, i, 1, t->tenant_id, sizeof(t->tenant_id));
    ad__pg_fixed(r, i, 4, t->code_sha, sizeof(t->code_sha));
    t->weight = ad__pg_double(r, i, 5);
    t->enabled = ad__pg_i64(r, i, 6) != 0;
    ad__pg_fixed(r, i, 7, t->created_at, sizeof(t->created_at));
    ad__pg_fixed(r, i, 8, t->updated_at, sizeof(t->updated_at));
    rc = ad__pg_dup(r, i, 2, &t->name, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 3, &t->code, err);
    if (rc)
        ad_fitness_term_release(t);
    return rc;
}

/*
 * One statement; a taken name and an unknown tenant are "no row", told
 * apart by a read, so that neither ends the caller's transaction.
 */
static const char q_insert[] =
    "INSERT INTO fitness_terms (id, tenant_id, name, code, code_sha, weight, enabled,"
    " created_at, updated_at) SELECT $1, $2, $3, $4, $5, $6::double precision, $7::integer,"
    " $8::timestamptz, $9::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";
static const char q_tenant[] = "SELECT 1 FROM tenants WHERE id = $1";

static int pg_term_insert(struct ad_store *st, const struct ad_fitness_term *t,
                          struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char wb[32];
    const char *p[] = {
        t->id, t->tenant_id, t->name, t->code, t->code_sha,
        ad__pg_double_text(t->weight, wb), t->enabled ? "1" : "0", t->created_at,
        t->updated_at,
    };
    const char *tenant = t->tenant_id;
    PGresult *r = NULL;
    int rc = ad__pg_run(s, t->tenant_id, q_insert, 9, p, &r, "insert fitness term", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, t->tenant_id, q_tenant, 1, &tenant, &r, "insert fitness term", err);
    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", t->tenant_id);
    else if (!rc)
        rc = ad_error(err, AD_EEXIST, "a fitness term named '%s' already exists", t->name);
    PQclear(r);
    return rc;
}

static const char q_by_name[] =
    "SELECT " TERM_COLS " FROM fitness_terms WHERE tenant_id = $1 AND name = $2";

static int pg_term_get(struct ad_store *st, const char *tenant_id, const char *name,
                       struct ad_fitness_term *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, name };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_by_name, 2, p, &r, "get fitness term", err);

    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown fitness term '%s'", name);
    else if (!rc)
        rc = read_term(r, 0, out, err);
    PQclear(r);
    return rc;
}

static const char q_list[] = "SELECT " TERM_COLS " FROM fitness_terms WHERE tenant_id = $1"
                             " ORDER BY name LIMIT $2";
static const char q_list_enabled[] = "SELECT " TERM_COLS " FROM fitness_terms"
                                     " WHERE tenant_id = $1 AND enabled = 1"
                                     " ORDER BY name LIMIT $2";

static int pg_term_list(struct ad_store *st, const char *tenant_id, bool enabled_only,
                        int limit, struct ad_fitness_term **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, ad__pg_i64_text(limit, b) };
    PGresult *r = NULL;
    struct ad_fitness_term *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id,
                                      enabled_only ? q_list_enabled : q_list, 2, p, &r,
                                      "list fitness terms", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing fitness terms");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_term(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_fitness_term_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static const char q_delete[] = "DELETE FROM fitness_terms WHERE tenant_id = $1 AND name = $2";

static int pg_term_del(struct ad_store *st, const char *tenant_id, const char *name,
                       struct ad_err *err)
{
    const char *p[] = { tenant_id, name };

    return ad__pg_run_one(ad__pg(st), tenant_id, q_delete, 2, p, NULL, "fitness term", name,
                          err);
}

const struct ad__fitness_term_ops ad__pg_fitness_term_ops = {
    .insert = pg_term_insert,
    .get = pg_term_get,
    .list = pg_term_list,
    .del = pg_term_del,
};
