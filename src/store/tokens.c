/*
 * API tokens: the rows behind the server's bearer tokens (module server
 * owns them; server.h holds the policy). Releasing what the store filled
 * in, checks and the public calls. A row holds the token's SHA-256 only.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

static const char *const role_names[] = {
    [AD_ROLE_ADMIN] = "admin",
    [AD_ROLE_OPERATOR] = "operator",
    [AD_ROLE_REVIEWER] = "reviewer",
    [AD_ROLE_AGENT] = "agent",
    [AD_ROLE_VIEWER] = "viewer",
};

const struct ad__enum ad__token_role_enum = {
    role_names, AD_ARRAY_SIZE(role_names), "role",
};

const char *ad_token_role_name(enum ad_token_role r)
{
    return ad__enum_name(&ad__token_role_enum, (int)r);
}

int ad_token_role_parse(const char *s, enum ad_token_role *out)
{
    int i = ad__enum_parse(&ad__token_role_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_token_role)i;
    return 0;
}

void ad_api_token_release(struct ad_api_token *t)
{
    if (!t)
        return;
    free(t->name);
    memset(t, 0, sizeof(*t));
}

void ad_api_token_list_free(struct ad_api_token *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_api_token_release(&v[i]);
    free(v);
}

/* 64 lower-case hex digits: the only form a hash is stored and looked up in. */
static int check_hash(const char *hash, struct ad_err *err)
{
    size_t i;

    for (i = 0; hash && hash[i]; i++) {
        if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f')))
            break;
    }
    if (!hash || i != AD_TOKEN_HASH_SIZE - 1 || hash[i])
        return ad_error(err, AD_EINVAL, "invalid token hash: expected 64 lower-case hex digits");
    return 0;
}

int ad_store_token_insert(struct ad_store *st, struct ad_api_token *t, struct ad_err *err)
{
    int rc, own;

    rc = ad__check_id("tenant id", t->tenant_id, err);
    if (!rc)
        rc = ad__check_name("token", t->name, err);
    if (!rc)
        rc = check_hash(t->token_hash, err);
    if (!rc && !ad_token_role_name(t->role))
        rc = ad_error(err, AD_EINVAL, "invalid token role %d", (int)t->role);
    if (!rc)
        rc = ad__new_id(t->id, err);
    if (rc)
        return rc;
    ad_time_now(t->created_at);
    t->last_used_at[0] = t->revoked_at[0] = '\0';
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->tokens->insert(st, t, err), err);
    if (rc)
        t->id[0] = t->created_at[0] = '\0';
    return rc;
}

int ad_store_token_find_hash(struct ad_store *st, const char *hash, struct ad_api_token *out,
                             struct ad_err *err)
{
    int rc = check_hash(hash, err);

    memset(out, 0, sizeof(*out));
    if (rc)
        return rc;
    return st->ops->tokens->find_hash(st, hash, out, err);
}

int ad_store_token_get(struct ad_store *st, const char *tenant_id, const char *id_or_name,
                       struct ad_api_token *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc && !ad_id_valid(id_or_name))
        rc = ad__check_name("token", id_or_name, err);
    if (rc)
        return rc;
    return st->ops->tokens->get(st, tenant_id, id_or_name, out, err);
}

int ad_store_token_list(struct ad_store *st, const char *tenant_id, bool with_revoked, int limit,
                        struct ad_api_token **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->tokens->list(st, tenant_id, with_revoked, limit, out, n, err);
}

/* revoke and touch: one guarded UPDATE of the tenant's row. */
static int write_token(struct ad_store *st, const char *tenant_id, const char *id, int revoke,
                       struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("token id", id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    ad_time_now(now);
    rc = revoke ? st->ops->tokens->revoke(st, tenant_id, id, now, err)
                : st->ops->tokens->touch(st, tenant_id, id, now, err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_token_revoke(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_err *err)
{
    return write_token(st, tenant_id, id, 1, err);
}

int ad_store_token_touch(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_err *err)
{
    return write_token(st, tenant_id, id, 0, err);
}

int ad_store_token_count_active(struct ad_store *st, int64_t *count, struct ad_err *err)
{
    *count = 0;
    return st->ops->tokens->count_active(st, count, err);
}
