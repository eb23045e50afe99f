/*
 * API tokens in SQLite (the api_tokens table of migration 1). A lookup by
 * hash runs down the UNIQUE index on token_hash, across tenants: the token
 * is what tells the tenant.
 */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_api_token
static const struct sq_col token_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, name, SQ_TEXT, 0),
    SQ_COL(T, token_hash, SQ_FIXED, 0),
    SQ_ENUMCOL("role", T, role, &ad__token_role_enum, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, last_used_at, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, revoked_at, SQ_FIXED, SQ_EMPTY_NULL),
};
#undef T

static const struct sq_table token_table = SQ_TABLE("api token", struct ad_api_token, token_cols);

static const struct sq_stmt token_insert = {
    &token_table, "INSERT INTO api_tokens ({icols}) VALUES ({params})",
};
static const struct sq_stmt token_by_hash = {
    &token_table, "SELECT {cols} FROM api_tokens WHERE token_hash = ?1",
};
static const struct sq_stmt token_by_id = {
    &token_table, "SELECT {cols} FROM api_tokens WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt token_by_name = {
    &token_table, "SELECT {cols} FROM api_tokens WHERE tenant_id = ?1 AND name = ?2",
};
static const struct sq_stmt token_lists[2] = {
    { &token_table, "SELECT {cols} FROM api_tokens WHERE tenant_id = ?1"
                    " AND revoked_at IS NULL ORDER BY name LIMIT ?2" },
    { &token_table, "SELECT {cols} FROM api_tokens WHERE tenant_id = ?1"
                    " ORDER BY name LIMIT ?2" },
};

static int sqlite_token_insert(struct ad_store *st, const struct ad_api_token *t,
                               struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &token_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, t, NULL, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert api token", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "a token named '%s' already exists", t->name);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", t->tenant_id);
    return rc;
}

static int get_one(struct sqlite_store *s, const struct sq_stmt *def, const char *a,
                   const char *b, struct ad_api_token *out, const char *what,
                   struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, def, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(q->stmt, 2, b, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get api token", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown token%s%s%s", what ? " '" : "",
                      what ? what : "", what ? "'" : "");
    if (rc)
        ad_api_token_release(out);
    return rc;
}

/* The message names no token: the hash of a guess is nobody's business. */
static int sqlite_token_find_hash(struct ad_store *st, const char *hash,
                                  struct ad_api_token *out, struct ad_err *err)
{
    return get_one(ad__sq(st), &token_by_hash, hash, NULL, out, NULL, err);
}

static int sqlite_token_get(struct ad_store *st, const char *tenant_id, const char *id_or_name,
                            struct ad_api_token *out, struct ad_err *err)
{
    const struct sq_stmt *def = ad_id_valid(id_or_name) ? &token_by_id : &token_by_name;

    return get_one(ad__sq(st), def, tenant_id, id_or_name, out, id_or_name, err);
}

static int sqlite_token_list(struct ad_store *st, const char *tenant_id, bool with_revoked,
                             int limit, struct ad_api_token **out, size_t *n,
                             struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_api_token *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &token_lists[with_revoked ? 1 : 0], &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 2, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list api tokens", err);
    if (rc) {
        ad_api_token_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_token_revoke(struct ad_store *st, const char *tenant_id, const char *id,
                               const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "UPDATE api_tokens SET revoked_at = ?3"
                           " WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, now, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "revoke api token", &changed, err);
    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, "SELECT 1 FROM api_tokens WHERE tenant_id = ?1 AND id = ?2",
                       tenant_id, id, err);
    if (rc == 1)
        return ad_error(err, AD_ESTATE, "token '%s' is already revoked", id);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown token '%s'", id);
    return rc;
}

static int sqlite_token_touch(struct ad_store *st, const char *tenant_id, const char *id,
                              const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE api_tokens SET last_used_at = ?3"
                           " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, now, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "token", id, err);
}

static int sqlite_token_count_active(struct ad_store *st, int64_t *count, struct ad_err *err)
{
    return ad__sq_ints(ad__sq(st), "SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL",
                       NULL, NULL, count, 1, "count api tokens", err);
}

const struct ad__token_ops ad__sqlite_token_ops = {
    .insert = sqlite_token_insert,
    .find_hash = sqlite_token_find_hash,
    .get = sqlite_token_get,
    .list = sqlite_token_list,
    .revoke = sqlite_token_revoke,
    .touch = sqlite_token_touch,
    .count_active = sqlite_token_count_active,
};
