/*
 * API tokens: made from 256 random bits, shown once, stored as their
 * SHA-256 (OpenSSL's libcrypto), compared in constant time. Module server
 * owns the api_tokens table; this file is the only one that calls the
 * store for it.
 */
#include "compat.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "autodev/clock.h"
#include "autodev/server.h"
#include "autodev/store.h"

#define TOKEN_RANDOM_BYTES 32
#define TOKEN_BODY_LEN 43          /* base64url of 32 bytes, no padding */
#define TOUCH_EVERY_MS 60000       /* last_used_at is written at most once a minute */

_Static_assert(sizeof(AD_TOKEN_PREFIX) - 1 + TOKEN_BODY_LEN + 1 == AD_TOKEN_SIZE,
               "a token fits AD_TOKEN_SIZE");

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding of n bytes into out (4n/3 rounded up characters and NUL). */
static void encode_b64url(const unsigned char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = '\0';
}

void ad_token_hash(const char *token, char out[AD_TOKEN_HASH_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        /* No digest: a hash no token has (not hex), so nothing matches it. */
        memset(out, 'x', AD_TOKEN_HASH_SIZE - 1);
        out[AD_TOKEN_HASH_SIZE - 1] = '\0';
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* The shape of a token: the prefix and 43 base64url characters. */
static int token_well_formed(const char *token)
{
    size_t plen = sizeof(AD_TOKEN_PREFIX) - 1;

    if (strncmp(token, AD_TOKEN_PREFIX, plen) != 0 || strlen(token) != plen + TOKEN_BODY_LEN)
        return 0;
    for (const char *p = token + plen; *p; p++) {
        if (!strchr(b64url, *p))
            return 0;
    }
    return 1;
}

int ad_tokens_create(struct ad_store *st, const char *tenant_id, enum ad_token_role role,
                     const char *name, char token_out[AD_TOKEN_SIZE], struct ad_api_token *row,
                     struct ad_err *err)
{
    unsigned char rnd[TOKEN_RANDOM_BYTES], tag[4];
    struct ad_api_token t;
    char defname[AD_NAME_MAX + 1];
    int rc;

    memset(&t, 0, sizeof(t));
    token_out[0] = '\0';
    if (role != AD_ROLE_ADMIN && role != AD_ROLE_REVIEWER && role != AD_ROLE_AGENT)
        return ad_error(err, AD_EINVAL, "invalid role '%s': expected admin, reviewer or agent",
                        ad_token_role_name(role) ? ad_token_role_name(role) : "?");
    if (name && !ad_name_valid(name))
        return ad_error(err, AD_EINVAL, "invalid token name '%s': expected 1..%d of A-Z, a-z, "
                        "0-9, '_', '.', '-', starting with a letter or digit", name, AD_NAME_MAX);
    if (ad_random(rnd, sizeof(rnd)) < 0 || ad_random(tag, sizeof(tag)) < 0)
        return ad_error(err, AD_EIO, "no random bytes for a token");
    if (!name) {
        snprintf(defname, sizeof(defname), "%s-%02x%02x%02x%02x", ad_token_role_name(role),
                 tag[0], tag[1], tag[2], tag[3]);
        name = defname;
    }
    memcpy(token_out, AD_TOKEN_PREFIX, sizeof(AD_TOKEN_PREFIX) - 1);
    encode_b64url(rnd, sizeof(rnd), token_out + sizeof(AD_TOKEN_PREFIX) - 1);
    memcpy(t.tenant_id, tenant_id, strnlen(tenant_id, AD_ID_SIZE - 1));
    t.name = (char *)name;        /* borrowed for the insert */
    t.role = role;
    ad_token_hash(token_out, t.token_hash);
    rc = ad_store_token_insert(st, &t, err);
    t.name = NULL;
    if (rc < 0) {
        OPENSSL_cleanse(token_out, AD_TOKEN_SIZE);
        token_out[0] = '\0';
        return rc;
    }
    OPENSSL_cleanse(rnd, sizeof(rnd));
    if (row)
        rc = ad_store_token_get(st, tenant_id, t.id, row, err);
    return rc;
}

int ad_tokens_authenticate(struct ad_store *st, const char *token, struct ad_api_token *out,
                           struct ad_err *err)
{
    char hash[AD_TOKEN_HASH_SIZE];
    struct ad_err e = AD_ERR_INIT;
    int64_t used = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!token || !token_well_formed(token))
        return ad_error(err, AD_EPERM, "malformed token (expected %s and 43 characters)",
                        AD_TOKEN_PREFIX);
    ad_token_hash(token, hash);
    rc = ad_store_token_find_hash(st, hash, out, &e);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_EPERM, "unknown token");
    if (rc < 0)
        return ad_error(err, rc, "%s", e.msg);
    /* The index found the row by hash; the comparison that decides takes constant time. */
    if (CRYPTO_memcmp(out->token_hash, hash, AD_TOKEN_HASH_SIZE - 1) != 0) {
        ad_api_token_release(out);
        return ad_error(err, AD_EPERM, "unknown token");
    }
    if (out->revoked_at[0]) {
        rc = ad_error(err, AD_EPERM, "token '%s' was revoked at %s", out->name, out->revoked_at);
        ad_api_token_release(out);
        return rc;
    }
    if (!out->last_used_at[0] || ad_time_parse(out->last_used_at, &used) < 0 ||
        ad_now_ms() - used > TOUCH_EVERY_MS) {
        /* Best effort: a busy or read-only store does not refuse the caller. */
        if (ad_store_token_touch(st, out->tenant_id, out->id, NULL) == 0)
            ad_time_now(out->last_used_at);
    }
    return 0;
}

int ad_tokens_list(struct ad_store *st, const char *tenant_id, bool with_revoked, int limit,
                   struct ad_api_token **out, size_t *n, struct ad_err *err)
{
    return ad_store_token_list(st, tenant_id, with_revoked, limit, out, n, err);
}

int ad_tokens_revoke(struct ad_store *st, const char *tenant_id, const char *id_or_name,
                     struct ad_api_token *row, struct ad_err *err)
{
    struct ad_api_token t;
    int rc = ad_store_token_get(st, tenant_id, id_or_name, &t, err);

    if (rc == 0)
        rc = ad_store_token_revoke(st, tenant_id, t.id, err);
    if (rc == AD_ESTATE)
        rc = ad_error(err, AD_ESTATE, "token '%s' is already revoked", t.name);
    if (rc == 0 && row)
        rc = ad_store_token_get(st, tenant_id, t.id, row, err);
    ad_api_token_release(&t);
    return rc;
}

int ad_tokens_active(struct ad_store *st, int64_t *count, struct ad_err *err)
{
    return ad_store_token_count_active(st, count, err);
}

json_t *ad_token_json(const struct ad_api_token *t)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "id", t->id,
                     "name", t->name ? t->name : "",
                     "role", ad_token_role_name(t->role) ? ad_token_role_name(t->role) : "?",
                     "created_at", t->created_at,
                     "last_used_at", t->last_used_at[0] ? t->last_used_at : NULL,
                     "revoked_at", t->revoked_at[0] ? t->revoked_at : NULL);
}
