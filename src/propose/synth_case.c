/*
 * Python's str.lower(), upper(), title(), capitalize() and strip(), in C.
 *
 * CPython changes case character by character with its own Unicode
 * database: the full mappings ("ß".upper() is "SS", "İ".lower() two
 * characters, "ǆ".title() "ǅ"), title case for a letter after any character
 * that is not cased (so "日本abc".title() is "日本Abc"), the lower case of
 * the rest after a title-cased first character in capitalize() (Python 3.8
 * on), and a capital sigma that lowers to the final sigma at the end of a
 * word. This file does the same over the tables of synth_unidata.c, which
 * tests/synth/casemap.py reads off Python itself; tests/unit/test_synth.c
 * compares every assigned code point with /usr/bin/python3.
 *
 * strip() removes what str.isspace() calls whitespace, \x1c-\x1f included.
 */
#include "compat.h"

#include "synth_int.h"

/* Length of the whitespace at s (what str.isspace() calls whitespace), or 0. */
static size_t space_at(const unsigned char *s, size_t len)
{
    static const uint32_t wide[] = { 0x85,   0xA0,   0x1680, 0x2028, 0x2029,
                                     0x202F, 0x205F, 0x3000 };
    uint32_t cp;
    size_t n;

    if (!len)
        return 0;
    if (s[0] < 0x80)
        return (s[0] >= 9 && s[0] <= 13) || (s[0] >= 0x1C && s[0] <= 0x20) ? 1 : 0;
    if ((s[0] & 0xE0) == 0xC0 && len >= 2) {
        cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        n = 2;
    } else if ((s[0] & 0xF0) == 0xE0 && len >= 3) {
        cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        n = 3;
    } else {
        return 0;
    }
    if (cp >= 0x2000 && cp <= 0x200A)
        return n;
    for (size_t i = 0; i < AD_ARRAY_SIZE(wide); i++)
        if (cp == wide[i])
            return n;
    return 0;
}

/* Length of the whitespace ending at s + len, or 0. */
static size_t space_before(const unsigned char *s, size_t len)
{
    for (size_t n = 1; n <= 3 && n <= len; n++) {
        if ((s[len - n] & 0xC0) == 0x80)
            continue;
        return space_at(s + len - n, n) == n ? n : 0;
    }
    return 0;
}

/* The code point of the UTF-8 character at s and its length; 0 when malformed. */
static size_t utf8_get(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4 : 0;

    if (n == 0 || n > len)
        return 0;
    *cp = n == 1 ? s[0] : s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    return n;
}

static int utf8_put(struct ad_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return ad_buf_add(b, u, n);
}

/* Whether cp falls in one of n sorted, disjoint runs [lo, hi]. */
static bool in_runs(const uint32_t (*r)[2], size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (cp < r[mid][0])
            hi = mid;
        else if (cp > r[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static bool is_cased(uint32_t cp)
{
    return in_runs(sx_case_cased, sx_case_ncased, cp);
}

static bool is_ignorable(uint32_t cp)
{
    return in_runs(sx_case_ignorable, sx_case_nignorable, cp);
}

enum { MAP_LOWER, MAP_UPPER, MAP_TITLE };

/* CPython's full mapping of cp (_PyUnicode_ToLowerFull and its kin) into out; its length. */
static int map_full(uint32_t cp, int which, uint32_t out[3])
{
    size_t lo = 0, hi = sx_case_nspecials;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sx_case_special *sp = &sx_case_specials[mid];

        if (cp < sp->cp) {
            hi = mid;
        } else if (cp > sp->cp) {
            lo = mid + 1;
        } else {
            const uint32_t *m = which == MAP_LOWER ? sp->lower
                                : which == MAP_UPPER ? sp->upper : sp->title;
            int n = 0;

            while (n < 3 && m[n])
                out[n] = m[n], n++;
            return n;
        }
    }
    lo = 0;
    hi = sx_case_nranges;
    out[0] = cp;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sx_case_range *r = &sx_case_ranges[mid];

        if (cp < r->lo) {
            hi = mid;
        } else if (cp > r->hi) {
            lo = mid + 1;
        } else {
            int32_t d = which == MAP_LOWER ? r->dl : which == MAP_UPPER ? r->du : r->dt;

            /* Pairs: the upper one maps by the deltas, the lower one by their mirror. */
            if (r->kind == 1 && (cp - r->lo) % 2 == 1)
                d = which == MAP_LOWER ? 0 : -1;
            out[0] = (uint32_t)((int32_t)cp + d);
            break;
        }
    }
    return 1;
}

/*
 * A capital sigma lowers to the final sigma after a cased character (case-
 * ignorable ones skipped) and not before one: CPython's handle_capital_sigma.
 */
static uint32_t sigma(const uint32_t *cp, size_t n, size_t i)
{
    size_t j = i;
    bool final;

    while (j > 0 && is_ignorable(cp[j - 1]))
        j--;
    final = j > 0 && is_cased(cp[j - 1]);
    if (final) {
        for (j = i + 1; j < n && is_ignorable(cp[j]); j++)
            ;
        final = j == n || !is_cased(cp[j]);
    }
    return final ? 0x3C2 : 0x3C3;
}

static int map_lower(const uint32_t *cp, size_t n, size_t i, uint32_t out[3])
{
    if (cp[i] == 0x3A3) {
        out[0] = sigma(cp, n, i);
        return 1;
    }
    return map_full(cp[i], MAP_LOWER, out);
}

/* The case change c of n code points, appended to b as UTF-8 (CPython's do_lower ... do_title). */
static int case_cps(const uint32_t *cp, size_t n, enum sx_case c, struct ad_buf *b)
{
    bool prev_cased = false;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint32_t m[3];
        int k;

        switch (c) {
        case CASE_LOWER:
            k = map_lower(cp, n, i, m);
            break;
        case CASE_UPPER:
            k = map_full(cp[i], MAP_UPPER, m);
            break;
        case CASE_TITLE:
            k = prev_cased ? map_lower(cp, n, i, m) : map_full(cp[i], MAP_TITLE, m);
            prev_cased = is_cased(cp[i]);
            break;
        default:    /* CASE_CAPITALIZE: the first title-cased (Python 3.8 on), the rest lowered */
            k = i == 0 ? map_full(cp[i], MAP_TITLE, m) : map_lower(cp, n, i, m);
            break;
        }
        for (int j = 0; rc == 0 && j < k; j++)
            rc = utf8_put(b, m[j]);
    }
    return rc;
}

/* ASCII only: the same rules, byte by byte, without the tables. */
static void case_ascii(const char *s, size_t len, enum sx_case c, char *o)
{
    bool prev_cased = false;

    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)s[i];
        bool up = ch >= 'A' && ch <= 'Z', low = ch >= 'a' && ch <= 'z';
        bool to_upper = c == CASE_UPPER || (c == CASE_TITLE && !prev_cased) ||
                        (c == CASE_CAPITALIZE && i == 0);

        if (to_upper && low)
            ch -= 32;
        else if (!to_upper && up)
            ch += 32;
        prev_cased = up || low;
        o[i] = (char)ch;
    }
}

char *sx_case(const char *s, size_t len, enum sx_case c, size_t *outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    struct ad_buf b = AD_BUF_INIT;
    uint32_t *cp = NULL;
    size_t n = 0, i;
    char *o;

    if (c == CASE_STRIP) {
        size_t a = 0, e = len, k;

        while (a < e && (k = space_at(u + a, e - a)) > 0)
            a += k;
        while (e > a && (k = space_before(u, e)) > 0)
            e -= k;
        *outlen = e - a;
        return strndup(s + a, e - a);
    }
    for (i = 0; i < len && u[i] < 0x80; i++)
        ;
    if (i == len) {
        o = malloc(len + 1);
        if (!o)
            return NULL;
        case_ascii(s, len, c, o);
        o[len] = '\0';
        *outlen = len;
        return o;
    }
    /* Decoded first: the final sigma looks both ways. */
    cp = malloc((len + 1) * sizeof(*cp));
    if (!cp)
        return NULL;
    for (i = 0; i < len; ) {
        size_t k = utf8_get(u + i, len - i, &cp[n]);

        if (k == 0) {
            free(cp);
            return NULL;
        }
        i += k;
        n++;
    }
    b.max = SIZE_MAX / 2;
    if (case_cps(cp, n, c, &b) < 0) {
        free(cp);
        ad_buf_release(&b);
        return NULL;
    }
    free(cp);
    return ad_buf_detach(&b, outlen);
}
