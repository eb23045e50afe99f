/*
 * API tokens on PostgreSQL (api_tokens). A lookup by hash runs across
 * tenants (the token is what tells the tenant), as every tenant.
 */
#include "compat.h"

#include "pg/pg_int.h"

#define TOKEN_COLS                                                                 \
    "id, tenant_id, name, token_hash, role, ad_ts(created_at), ad_ts(last_used_at)," \
    " ad_ts(revoked_at)"

static int read_token(const PGresult *r, int i, struct ad_api_token *t, struct ad_err *err)
{
    int v = 0, rc;

    memset(t, 0, sizeof(*t));
    ad__pg_fixed(r, i, 0, t->id, sizeof(t->id));
    ad__pg_fixed(r, i, 1, t->tenant_id, sizeof(t->tenant_id));
    ad__pg_fixed(r, i, 3, t->token_hash, sizeof(t->token_hash));
    ad__pg_fixed(r, i, 5, t->created_at, sizeof(t->created_at));
    ad__pg_fixed(r, i, 6, t->last_used_at, sizeof(t->last_used_at));
    ad__pg_fixed(r, i, 7, t->revoked_at, sizeof(t->revoked_at));
    rc = ad__pg_enum(r, i, 4, &ad__token_role_enum, &v, err);
    t->role = v;
    if (!rc)
        rc = ad__pg_dup(r, i, 2, &t->name, err);
    if (rc)
        ad_api_token_release(t);
    return rc;
}

/*
 * One statement; a taken name (or hash) and an unknown tenant are "no row",
 * told apart by a read, so that neither ends the caller's transaction.
 */
static const char q_insert[] =
    "INSERT INTO api_tokens (id, tenant_id, name, token_hash, role, created_at, last_used_at,"
    " revoked_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";
static const char q_tenant[] = "SELECT 1 FROM tenants WHERE id = $1";

static int pg_token_insert(struct ad_store *st, const struct ad_api_token *t, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = {
        t->id, t->tenant_id, t->name, t->token_hash,
        ad__enum_name(&ad__token_role_enum, t->role), t->created_at,
        ad__pg_opt(t->last_used_at), ad__pg_opt(t->revoked_at),
    };
    const char *tenant = t->tenant_id;
    PGresult *r = NULL;
    int rc = ad__pg_run(s, t->tenant_id, q_insert, 8, p, &r, "insert api token", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, t->tenant_id, q_tenant, 1, &tenant, &r, "insert api token", err);
    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", t->tenant_id);
    else if (!rc)
        rc = ad_error(err, AD_EEXIST, "a token named '%s' already exists", t->name);
    PQclear(r);
    return rc;
}

static int get_one(struct pg_store *s, const char *tenant, const char *sql, int n,
                   const char *const *p, struct ad_api_token *out, const char *what,
                   struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant, sql, n, p, &r, "get api token", err);

    if (!rc && PQntuples(r) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown token%s%s%s", what ? " '" : "",
                      what ? what : "", what ? "'" : "");
    else if (!rc)
        rc = read_token(r, 0, out, err);
    PQclear(r);
    return rc;
}

static const char q_by_hash[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = $1";

/* The message names no token: the hash of a guess is nobody's business. */
static int pg_token_find_hash(struct ad_store *st, const char *hash, struct ad_api_token *out,
                              struct ad_err *err)
{
    return get_one(ad__pg(st), AD_PG_ALL_TENANTS, q_by_hash, 1, &hash, out, NULL, err);
}

static const char q_by_id[] =
    "SELECT " TOKEN_COLS " FROM api_tokens WHERE tenant_id = $1 AND id = $2";
static const char q_by_name[] =
    "SELECT " TOKEN_COLS " FROM api_tokens WHERE tenant_id = $1 AND name = $2";

static int pg_token_get(struct ad_store *st, const char *tenant_id, const char *id_or_name,
                        struct ad_api_token *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id_or_name };

    return get_one(ad__pg(st), tenant_id, ad_id_valid(id_or_name) ? q_by_id : q_by_name, 2, p,
                   out, id_or_name, err);
}

static const char q_list[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE tenant_id = $1"
                             " AND revoked_at IS NULL ORDER BY name LIMIT $2";
static const char q_list_all[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE tenant_id = $1"
                                 " ORDER BY name LIMIT $2";

static int pg_token_list(struct ad_store *st, const char *tenant_id, bool with_revoked,
                         int limit, struct ad_api_token **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, ad__pg_i64_text(limit, b) };
    PGresult *r = NULL;
    struct ad_api_token *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, with_revoked ? q_list_all : q_list,
                                      2, p, &r, "list api tokens", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing api tokens");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_token(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_api_token_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static const char q_revoke[] = "UPDATE api_tokens SET revoked_at = $3"
                               " WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL";
static const char q_exists[] = "SELECT 1 FROM api_tokens WHERE tenant_id = $1 AND id = $2";

static int pg_token_revoke(struct ad_store *st, const char *tenant_id, const char *id,
                           const char *now, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { tenant_id, id, now };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_revoke, 3, p, &r, "revoke api token", err);
    int changed = !rc && strcmp(PQcmdTuples(r), "0");

    PQclear(r);
    if (rc || changed)
        return rc;
    rc = ad__pg_run(s, tenant_id, q_exists, 2, p, &r, "revoke api token", err);
    if (!rc && PQntuples(r) > 0)
        rc = ad_error(err, AD_ESTATE, "token '%s' is already revoked", id);
    else if (!rc)
        rc = ad_error(err, AD_ENOTFOUND, "unknown token '%s'", id);
    PQclear(r);
    return rc;
}

static const char q_touch[] =
    "UPDATE api_tokens SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2";

static int pg_token_touch(struct ad_store *st, const char *tenant_id, const char *id,
                          const char *now, struct ad_err *err)
{
    const char *p[] = { tenant_id, id, now };

    return ad__pg_run_one(ad__pg(st), tenant_id, q_touch, 3, p, NULL, "token", id, err);
}

static const char q_count[] = "SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL";

static int pg_token_count_active(struct ad_store *st, int64_t *count, struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), AD_PG_ALL_TENANTS, q_count, 0, NULL, &r,
                        "count api tokens", err);

    if (!rc)
        *count = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

const struct ad__token_ops ad__pg_token_ops = {
    .insert = pg_token_insert,
    .find_hash = pg_token_find_hash,
    .get = pg_token_get,
    .list = pg_token_list,
    .revoke = pg_token_revoke,
    .touch = pg_token_touch,
    .count_active = pg_token_count_active,
};
