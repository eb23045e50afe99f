/*
 * Pages of lists: every list route parses its limit and cursor here and
 * answers {"items", "next_cursor"} through ad__res_page.
 *
 * A cursor is opaque to clients: base64url (no padding) of the key of the
 * last item of the page before, in the order of the list:
 *
 *   AD__KEY_ID       the id (lists newest first by id: episodes, jobs,
 *                    notifications; ids are UUIDv7, so in creation order)
 *   AD__KEY_NAME     the name (lists by name: agents, skills)
 *   AD__KEY_TIME_ID  "created_at,id" (lists newest first by creation time,
 *                    ties by id: candidates, mutations, variants)
 *
 * The handler hands the decoded key down to the owning module's list call
 * (before_id, after_name, before_created_at), which starts its query
 * strictly after it: a keyset, so a page deep in a long list costs what
 * the first one does, and rows added meanwhile neither repeat nor shift
 * the pages.
 */
#include "compat.h"

#include "autodev/clock.h"
#include "autodev/store.h"

#include "server_int.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of s without padding into out (of size >= 4 * ceil(len / 3) + 1). */
static void encode(const char *s, char *out)
{
    const unsigned char *in = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = n - i;

        if (left > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (left > 2)
            v |= in[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        if (left > 1)
            out[o++] = b64url[v >> 6 & 63];
        if (left > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

/* The text of base64url s into out (size bytes with its NUL); -1 when s is no such text. */
static int decode(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *p = s[i] ? strchr(b64url, s[i]) : NULL;

        if (!p)
            return -1;
        acc = acc << 6 | (uint32_t)(p - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= size)
                return -1;
            out[o++] = (char)(acc >> bits & 0xff);
        }
    }
    /* The bits left over must be zero, so a key has exactly one cursor. */
    if (acc & ((1u << bits) - 1))
        return -1;
    out[o] = '\0';
    return strlen(out) == o && o > 0 ? 0 : -1;
}

int ad__page_parse(struct ad__req *r, struct ad__res *res, enum ad__key kind, struct ad__page *p)
{
    const char *limit = ad__query(r, "limit");
    const char *cursor = ad__query(r, "cursor");
    char *end, *comma;
    int64_t ms;
    long v;

    p->limit = AD__PAGE_DEFAULT;
    p->cursor = p->cursor_at = NULL;
    if (limit) {
        errno = 0;
        v = strtol(limit, &end, 10);
        if (!*limit || *end || errno || v < 1 || v > AD__PAGE_MAX)
            return ad__res_fail(res, 400, "invalid limit '%s': expected 1..%d", limit,
                                AD__PAGE_MAX), AD_EINVAL;
        p->limit = (int)v;
    }
    if (!cursor || !*cursor)
        return 0;
    if (strlen(cursor) > AD__CURSOR_MAX || decode(cursor, p->key, sizeof(p->key)) < 0)
        goto bad;
    switch (kind) {
    case AD__KEY_ID:
        if (!ad_id_valid(p->key))
            goto bad;
        p->cursor = p->key;
        break;
    case AD__KEY_NAME:
        if (!ad_name_valid(p->key) && !ad_skill_name_valid(p->key))
            goto bad;
        p->cursor = p->key;
        break;
    case AD__KEY_TIME_ID:
        comma = strchr(p->key, ',');
        if (!comma)
            goto bad;
        *comma = '\0';
        if (strlen(p->key) != AD_TIME_SIZE - 1 || ad_time_parse(p->key, &ms) < 0 ||
            !ad_id_valid(comma + 1))
            goto bad;
        p->cursor_at = p->key;
        p->cursor = comma + 1;
        break;
    }
    return 0;
bad:
    return ad__res_fail(res, 400, "invalid cursor '%.80s': pass the next_cursor of the page "
                        "before", cursor), AD_EINVAL;
}

int ad__page_fetch(const struct ad__page *p)
{
    return p->limit + 1;
}

size_t ad__page_len(const struct ad__page *p, size_t n)
{
    return n > (size_t)p->limit ? (size_t)p->limit : n;
}

int ad__res_page(struct ad__res *res, json_t *items, const char *next_at, const char *next)
{
    char key[AD__KEY_MAX], cur[AD__CURSOR_MAX + 1];

    if (!items)
        return ad__res_fail(res, 500, "out of memory");
    if (next) {
        snprintf(key, sizeof(key), "%s%s%s", next_at ? next_at : "", next_at ? "," : "", next);
        encode(key, cur);
    }
    return ad__res_json(res, 200, json_pack("{s:o, s:s?}", "items", items, "next_cursor",
                                            next ? cur : NULL));
}
