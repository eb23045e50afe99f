/*
 * The synthesizer's program tree and its evaluator.
 *
 * sx_eval() computes what the emitted Python computes, operation for
 * operation: ints stay ints through +, - and * (an int64 overflow counts as
 * a failure, where Python would grow), / always gives a float and, between
 * two ints, the exact quotient rounded once (Python's true division; going
 * through double first is off by an ulp above 2**53), an int and a float
 * compare exactly, round() rounds half to even on the exact binary value
 * (glibc's printf does the same as Python's dtoa), sum() adds from the left
 * starting at int 0 (the plain addition of Python 3.11, Debian 12's; 3.12
 * compensates), max() and min() keep the first of equal values. Where the
 * Python would raise, the result is NULL with a reason.
 *
 * Case changes are CPython's, character for character (synth_case.c).
 *
 * Patterns run under a budget of bytes scanned (sx_scan): the search stops
 * instead of taking minutes over large inputs.
 */
#include "compat.h"

#include <assert.h>
#include <math.h>

#include "autodev/json.h"

#include "synth_int.h"

int sx_node(struct ad_synth_program *p, enum sx_kind kind, int a, int b, int n)
{
    struct sx *x;

    if (p->nnode == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct sx *v = realloc(p->node, cap * sizeof(*v));

        if (!v)
            return -1;
        p->node = v;
        p->cap = cap;
    }
    x = &p->node[p->nnode];
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    x->a = a;
    x->b = b;
    x->n = n;
    x->pat = -1;
    return (int)p->nnode++;
}

static void node_clear(struct sx *x)
{
    for (int i = 0; i < x->path.n; i++)
        free(x->path.step[i].key);
    json_decref(x->c);
    free(x->f);
    free(x->f2);
    free(x->g);
}

void sx_truncate(struct ad_synth_program *p, size_t keep)
{
    while (p->nnode > keep)
        node_clear(&p->node[--p->nnode]);
}

int sx_pattern(struct ad_synth_program *p, const char *src)
{
    PCRE2_SIZE off;
    uint32_t groups = 0;
    int errcode;
    pcre2_code *re;

    for (size_t i = 0; i < p->npat; i++)
        if (!strcmp(p->pat[i].src, src))
            return (int)i;
    if (!p->md) {
        p->md = pcre2_match_data_create(4, NULL);
        if (!p->md)
            return -1;
    }
    if (p->npat == p->patcap) {
        size_t cap = p->patcap ? p->patcap * 2 : 32;
        struct sx_pat *v = realloc(p->pat, cap * sizeof(*v));

        if (!v)
            return -1;
        p->pat = v;
        p->patcap = cap;
    }
    /* ALT_BSUX: \uhhhh as Python's re reads it (SX_SPACE spells U+180E so). */
    re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
                       PCRE2_UTF | PCRE2_UCP | PCRE2_ALT_BSUX, &errcode, &off, NULL);
    if (!re)
        return -1;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups > 1) {
        pcre2_code_free(re);
        return -1;
    }
    p->pat[p->npat].src = strdup(src);
    if (!p->pat[p->npat].src) {
        pcre2_code_free(re);
        return -1;
    }
    p->pat[p->npat].re = re;
    p->pat[p->npat].groups = (int)groups;
    return (int)p->npat++;
}

void sx_program_free(struct ad_synth_program *p)
{
    if (!p)
        return;
    sx_truncate(p, 0);
    free(p->node);
    for (size_t i = 0; i < p->npat; i++) {
        free(p->pat[i].src);
        pcre2_code_free(p->pat[i].re);
    }
    free(p->pat);
    pcre2_match_data_free(p->md);
    for (size_t i = 0; i < p->nparam; i++) {
        free(p->param[i].name);
        json_decref(p->param[i].def);
    }
    free(p->param);
    free(p);
}

/* ---- values ---- */

const json_t *sx_walk(const struct sx_path *path, const json_t *v)
{
    for (int i = 0; v && i < path->n; i++) {
        const struct sx_step *st = &path->step[i];

        if (st->key) {
            v = json_is_object(v) ? json_object_get(v, st->key) : NULL;
        } else if (json_is_array(v)) {
            long n = (long)json_array_size(v), k = st->idx < 0 ? n + st->idx : st->idx;

            v = k >= 0 && k < n ? json_array_get(v, (size_t)k) : NULL;
        } else {
            v = NULL;
        }
    }
    return v;
}

bool sx_scan(struct ad_synth_program *p, size_t bytes)
{
    if (p->spent)
        return false;
    p->scanned += bytes;
    if (p->scan_max && p->scanned > p->scan_max) {
        p->spent = true;
        return false;
    }
    return true;
}

/*
 * The next match of sp in s from *off, as Python's re.finditer steps: the
 * span of group 1 (empty when unset) or of the whole match. PCRE2 checks
 * a UTF subject from the start offset to its end on every call; after the
 * first the rest is known to be valid, so later calls skip the check, or
 * every match would scan the rest of the string again (two 250 KB inputs
 * took 39 s). After an empty match the next may not be empty at the same
 * place but may start there, as in Python 3.7 on.
 */
static bool next_match(struct ad_synth_program *p, const struct sx_pat *sp, const char *s,
                       size_t len, size_t *off, uint32_t *flags, struct sx_span *span)
{
    PCRE2_SIZE *ov;
    int g = sp->groups ? 1 : 0;

    if (*off > len || pcre2_match(sp->re, (PCRE2_SPTR)s, len, *off, *flags, p->md, NULL) < 0)
        return false;
    ov = pcre2_get_ovector_pointer(p->md);
    span->off = ov[2 * g] == PCRE2_UNSET ? 0 : ov[2 * g];
    span->len = ov[2 * g] == PCRE2_UNSET ? 0 : ov[2 * g + 1] - ov[2 * g];
    *off = ov[1];
    *flags = PCRE2_NO_UTF_CHECK | (ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART : 0);
    return true;
}

json_t *sx_findall(struct ad_synth_program *p, int pat, const char *s, size_t len)
{
    struct sx_span sp;
    size_t off = 0;
    uint32_t flags = 0;
    json_t *all;

    if (!sx_scan(p, len + 1))
        return NULL;
    all = json_array();
    while (all && next_match(p, &p->pat[pat], s, len, &off, &flags, &sp))
        if (json_array_append_new(all, json_stringn(s + sp.off, sp.len)) < 0)
            break;
    return all;
}

bool sx_matches(struct ad_synth_program *p, int pat, const char *s, size_t len,
                struct sx_matches *m)
{
    struct sx_span sp;
    size_t off = 0;
    uint32_t flags = 0;

    m->n = 0;
    if (!sx_scan(p, len + 1))
        return false;
    while (next_match(p, &p->pat[pat], s, len, &off, &flags, &sp)) {
        if (m->n < SX_KEEP)
            m->first[m->n] = sp;
        m->last[m->n % SX_KEEP] = sp;
        m->n++;
    }
    return true;
}

bool sx_match_at(const struct sx_matches *m, long k, struct sx_span *out)
{
    long n = (long)m->n, i = k < 0 ? n + k : k;

    if (i < 0 || i >= n || (i >= SX_KEEP && i < n - SX_KEEP))
        return false;
    *out = i < SX_KEEP ? m->first[i] : m->last[i % SX_KEEP];
    return true;
}

void sx_float_repr(double d, char *buf, size_t size)
{
    char dig[40];
    int prec, exp10;

    if (isnan(d)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d < 0 ? "-inf" : "inf");
        return;
    }
    /* The shortest digits that read back as d, as repr() finds them. */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(dig, sizeof(dig), "%.*e", prec - 1, d);
        if (strtod(dig, NULL) == d)
            break;
    }
    exp10 = (int)strtol(strchr(dig, 'e') + 1, NULL, 10);
    if (exp10 < -4 || exp10 >= 16) {
        /* 1e+16, 1.5e-05: mantissa without trailing zeros, two-digit exponent at least */
        char *e = strchr(dig, 'e'), mant[32];
        size_t m = (size_t)(e - dig);

        memcpy(mant, dig, m);
        mant[m] = '\0';
        if (strchr(mant, '.')) {
            while (m > 0 && mant[m - 1] == '0')
                mant[--m] = '\0';
            if (m > 0 && mant[m - 1] == '.')
                mant[--m] = '\0';
        }
        snprintf(buf, size, "%se%c%02d", mant, exp10 < 0 ? '-' : '+', abs(exp10));
        return;
    }
    snprintf(buf, size, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, d);
    if (!strchr(buf, '.')) {
        size_t l = strlen(buf);

        if (l + 2 < size)
            memcpy(buf + l, ".0", 3);
    }
}

/* Python's round(x, digits) on a float: correctly rounded, half to even. */
static double round_digits(double d, int digits)
{
    char tmp[400];

    if (!isfinite(d) || digits > 22)
        return d;
    snprintf(tmp, sizeof(tmp), "%.*f", digits, d);
    return strtod(tmp, NULL);
}

static bool num(const json_t *v, bool *isint, int64_t *i, double *d)
{
    if (json_is_integer(v)) {
        *isint = true;
        *i = json_integer_value(v);
        *d = (double)*i;
        return true;
    }
    if (json_is_real(v)) {
        *isint = false;
        *d = json_real_value(v);
        return true;
    }
    return false;
}

/*
 * Python's int / int: the exact quotient rounded once, to nearest, ties to
 * even. Operands up to 2**53 are exact doubles and one IEEE division rounds
 * once; above, the quotient is taken to 64 significant bits in 128-bit
 * integers with a sticky bit for the rest, which the conversion to double
 * then rounds once.
 */
static double int_div(int64_t a, int64_t b)
{
    bool neg = (a < 0) != (b < 0);
    uint64_t n = a < 0 ? -(uint64_t)a : (uint64_t)a, d = b < 0 ? -(uint64_t)b : (uint64_t)b;
    unsigned __int128 q, r, num;
    int lead, top, shift;
    uint64_t m;
    double v;

    if (n <= (UINT64_C(1) << 53) && d <= (UINT64_C(1) << 53))
        return (double)a / (double)b;
    if (n == 0)
        return neg ? -0.0 : 0.0;
    lead = __builtin_clzll(n);
    num = (unsigned __int128)n << (64 + lead);          /* top bit at 127 */
    q = num / d;                                        /* at least 2**63: 64 bits or more */
    r = num % d;
    top = q >> 64 ? 127 - __builtin_clzll((uint64_t)(q >> 64)) : 63 - __builtin_clzll((uint64_t)q);
    shift = top - 63;
    m = (uint64_t)(q >> shift);
    if (r != 0 || (q & ((((unsigned __int128)1) << shift) - 1)) != 0)
        m |= 1;                                         /* sticky: below the rounding bit */
    v = ldexp((double)m, shift - 64 - lead);
    return neg ? -v : v;
}

/* -1, 0 or 1 as Python compares the int i with the float d, exactly; 2 when d is NaN. */
static int cmp_int_real(int64_t i, double d)
{
    double t;
    int64_t ti;

    if (isnan(d))
        return 2;
    if (d >= 0x1p63)
        return -1;
    if (d < -0x1p63)
        return 1;
    t = trunc(d);
    ti = (int64_t)t;
    if (i != ti)
        return i < ti ? -1 : 1;
    return d > t ? -1 : d < t ? 1 : 0;
}

static json_t *arith(int op, const json_t *x, const json_t *y, const char **why)
{
    bool xi, yi;
    int64_t a, b, r;
    double da, db;

    if (!num(x, &xi, &a, &da) || !num(y, &yi, &b, &db)) {
        *why = "an operand is not a number";
        return NULL;
    }
    if (op == OP_DIV) {
        if (db == 0) {
            *why = "division by zero";
            return NULL;
        }
        return json_real(xi && yi ? int_div(a, b) : da / db);
    }
    if (xi && yi) {
        bool over = op == OP_ADD   ? __builtin_add_overflow(a, b, &r)
                    : op == OP_SUB ? __builtin_sub_overflow(a, b, &r)
                                   : __builtin_mul_overflow(a, b, &r);

        if (over) {
            *why = "integer overflow";
            return NULL;
        }
        return json_integer(r);
    }
    da = op == OP_ADD ? da + db : op == OP_SUB ? da - db : da * db;
    if (!isfinite(da)) {
        *why = "the result is not finite";
        return NULL;
    }
    return json_real(da);
}

/* Python's truth value of a JSON value. */
static bool truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE:
        return true;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return false;
    }
}

bool sx_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        if (json_is_integer(a))
            return cmp_int_real(json_integer_value(a), json_real_value(b)) == 0;
        if (json_is_integer(b))
            return cmp_int_real(json_integer_value(b), json_real_value(a)) == 0;
        return json_real_value(a) == json_real_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        size_t n = json_array_size(a);

        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!sx_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;

        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, v)
            if (!sx_equal(v, json_object_get(b, k)))
                return false;
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

/*
 * a <op> b on numbers (Python's comparison: an int and a float exactly, a
 * NaN never ordered), on two strings, or == on anything. -1: not comparable.
 */
static int compare(int op, const json_t *a, const json_t *b)
{
    bool ai = false, bi = false;
    int64_t x = 0, y = 0;
    double dx = 0, dy = 0;
    int c;

    if (op == CMP_EQ)
        return sx_equal(a, b);
    if (!num(a, &ai, &x, &dx) || !num(b, &bi, &y, &dy)) {
        if (json_is_string(a) && json_is_string(b)) {
            /* UTF-8 bytes sort as the code points do; a NUL is a character, as in Python. */
            size_t la = json_string_length(a), lb = json_string_length(b);

            c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
            c = c ? (c > 0) - (c < 0) : (la > lb) - (la < lb);
        } else {
            return -1;
        }
    } else if (ai && bi) {
        c = x < y ? -1 : x > y;
    } else if (ai) {
        c = cmp_int_real(x, dy);
    } else if (bi) {
        c = cmp_int_real(y, dx);
        c = c == 2 ? 2 : -c;
    } else {
        c = isnan(dx) || isnan(dy) ? 2 : dx < dy ? -1 : dx > dy;
    }
    if (c == 2)
        return 0;      /* NaN: every order comparison is false */
    switch (op) {
    case CMP_GT:
        return c > 0;
    case CMP_GE:
        return c >= 0;
    case CMP_LT:
        return c < 0;
    default:
        return c <= 0;
    }
}

static json_t *item_field(const json_t *item, const char *f, const char **why)
{
    json_t *v = json_is_object(item) ? json_object_get(item, f) : NULL;

    if (!v)
        *why = "an item lacks the field";
    return v;
}

static json_t *aggregate(const struct sx *x, const json_t *list, const char **why)
{
    json_t *acc = NULL, *v, *best = NULL;
    size_t i, n;

    if (!json_is_array(list)) {
        *why = "not a list";
        return NULL;
    }
    n = json_array_size(list);
    if (x->n == AGG_LEN)
        return json_integer((json_int_t)n);
    if (n == 0 && x->n != AGG_SUM) {
        *why = x->n == AGG_MEAN ? "division by zero (empty list)" : "an empty list";
        return NULL;
    }
    acc = json_integer(0);
    json_array_foreach(list, i, v) {
        json_t *term;

        if (x->f) {
            v = item_field(v, x->f, why);
            if (!v)
                goto fail;
        }
        if (x->f2) {
            json_t *w = item_field(json_array_get(list, i), x->f2, why);

            term = w ? arith(OP_MUL, v, w, why) : NULL;
        } else {
            term = json_is_number(v) ? json_incref(v) : NULL;
            if (!term)
                *why = "an item is not a number";
        }
        if (!term)
            goto fail;
        if (x->n == AGG_MIN || x->n == AGG_MAX) {
            if (!best || compare(x->n == AGG_MAX ? CMP_GT : CMP_LT, term, best) == 1) {
                json_decref(best);
                best = term;
            } else {
                json_decref(term);
            }
        } else {
            json_t *sum = arith(OP_ADD, acc, term, why);

            json_decref(term);
            json_decref(acc);
            acc = sum;
            if (!acc)
                goto fail;
        }
    }
    if (x->n == AGG_MIN || x->n == AGG_MAX) {
        json_decref(acc);
        return best;
    }
    if (x->n == AGG_MEAN) {
        json_t *len = json_integer((json_int_t)n), *mean = arith(OP_DIV, acc, len, why);

        json_decref(len);
        json_decref(acc);
        return mean;
    }
    return acc;
fail:
    json_decref(acc);
    json_decref(best);
    return NULL;
}

static json_t *filter(const struct sx *x, const json_t *list, const char **why)
{
    json_t *out, *item;
    size_t i;

    if (!json_is_array(list)) {
        *why = "not a list";
        return NULL;
    }
    out = json_array();
    json_array_foreach(list, i, item) {
        bool keep = true;

        if (x->cond != COND_NONE) {
            json_t *v = item_field(item, x->g, why);
            int r;

            if (!v)
                goto fail;
            switch (x->cond) {
            case COND_TRUTHY:
                r = truthy(v);
                break;
            case COND_EQ:
                r = compare(CMP_EQ, v, x->c);
                break;
            default:
                r = compare(x->cond == COND_GT ? CMP_GT : x->cond == COND_GE ? CMP_GE : CMP_LT,
                            v, x->c);
                break;
            }
            if (r < 0) {
                *why = "an item's field cannot be compared";
                goto fail;
            }
            keep = r;
        }
        if (!keep)
            continue;
        if (x->f) {
            item = item_field(item, x->f, why);
            if (!item)
                goto fail;
        }
        json_array_append(out, item);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* ---- the string operations (enum sx_strop) ---- */

/* Code points of the UTF-8 string s: what Python's len() counts. */
static size_t cp_count(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* The byte offset of code point k (k <= cp_count). */
static size_t cp_offset(const char *s, size_t len, size_t k)
{
    size_t i = 0;

    for (; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && k-- == 0)
            break;
    return i;
}

/* Non-overlapping occurrences of needle, as str.count() counts them (an empty one: len + 1). */
static size_t occurrences(const char *s, size_t len, const char *nd, size_t nlen)
{
    size_t n = 0;

    if (nlen == 0)
        return cp_count(s, len) + 1;
    for (size_t i = 0; i + nlen <= len;) {
        if (!memcmp(s + i, nd, nlen)) {
            n++;
            i += nlen;
        } else {
            i++;
        }
    }
    return n;
}

/* a.replace(old, new); an empty old puts new around every code point, as Python does. */
static json_t *replace(const char *s, size_t len, const char *old, size_t olen, const char *nw,
                       size_t nlen)
{
    struct ad_buf b = AD_BUF_INIT;
    json_t *r = NULL;
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0;) {
        if (olen == 0) {
            size_t j = i + 1;

            while (j < len && ((unsigned char)s[j] & 0xc0) == 0x80)
                j++;
            rc = ad_buf_add(&b, nw, nlen) || ad_buf_add(&b, s + i, j - i);
            i = j;
        } else if (i + olen <= len && !memcmp(s + i, old, olen)) {
            rc = ad_buf_add(&b, nw, nlen);
            i += olen;
        } else {
            rc = ad_buf_add(&b, s + i, 1);
            i++;
        }
    }
    if (rc == 0 && olen == 0)
        rc = ad_buf_add(&b, nw, nlen);
    if (rc == 0)
        r = json_stringn_nocheck(b.ptr ? b.ptr : "", b.len);
    ad_buf_release(&b);
    return r;
}

/* Part k (negative from the end) of s.split(sep); false when there is none. */
static bool split_part(const char *s, size_t len, const char *sep, size_t slen, long k,
                       struct sx_span *out)
{
    size_t parts = occurrences(s, len, sep, slen) + 1, start = 0, i = 0, n = 0;

    if (k < 0)
        k += (long)parts;
    if (k < 0 || (size_t)k >= parts)
        return false;
    for (;;) {
        size_t end = len;

        while (i + slen <= len && memcmp(s + i, sep, slen))
            i++;
        if (i + slen <= len)
            end = i;
        if (n == (size_t)k) {
            out->off = start;
            out->len = end - start;
            return true;
        }
        i = start = end + slen;
        n++;
    }
}

json_t *sx_strop(struct ad_synth_program *p, const struct sx *x, const json_t *a, const json_t *b,
                 const char **why)
{
    const char *s = json_string_value(a), *t = json_string_value(b);
    size_t len = json_string_length(a), tlen = json_string_length(b);
    const char *c = json_string_value(x->c);
    size_t clen = json_string_length(x->c);
    struct sx_span sp;

    if (!s) {
        *why = "not a string";
        return NULL;
    }
    if (!sx_scan(p, len + 1)) {
        *why = "the budget of bytes scanned is spent";
        return NULL;
    }
    switch (x->n) {
    case SO_LEN:
        return json_integer((json_int_t)cp_count(s, len));
    case SO_INT: {
        json_int_t v = 0;
        size_t z = 0;

        if (len == 0 || strspn(s, "0123456789") != len) {
            *why = "not an integer";
            return NULL;
        }
        /* Python's int() reads leading zeros; past 18 digits the emitted _int() raises too. */
        while (z + 1 < len && s[z] == '0')
            z++;
        if (len - z > 18) {
            *why = "a number too large (18 digits at most)";
            return NULL;
        }
        for (size_t i = z; i < len; i++)
            v = v * 10 + (s[i] - '0');
        return json_integer(v);
    }
    case SO_SEARCH: {
        size_t off = 0;
        uint32_t flags = 0;

        return json_boolean(next_match(p, &p->pat[x->pat], s, len, &off, &flags, &sp));
    }
    case SO_SUB: {
        struct ad_buf o = AD_BUF_INIT;
        size_t off = 0, done = 0;
        uint32_t flags = 0;
        json_t *r = NULL;
        int rc = 0;

        while (rc == 0 && next_match(p, &p->pat[x->pat], s, len, &off, &flags, &sp)) {
            if (sp.len == 0) {
                ad_buf_release(&o);
                *why = "internal: a deletion pattern matched the empty string";
                return NULL;
            }
            rc = ad_buf_add(&o, s + done, sp.off - done) || ad_buf_add(&o, c, clen);
            done = sp.off + sp.len;
        }
        rc = rc || ad_buf_add(&o, s + done, len - done);
        if (rc == 0)
            r = json_stringn_nocheck(o.ptr ? o.ptr : "", o.len);
        ad_buf_release(&o);
        return r;
    }
    case SO_HEAD:
    case SO_TAIL: {
        const char *hit = NULL;

        if (clen == 0) {
            *why = "empty separator";
            return NULL;
        }
        if (x->n == SO_TAIL) {
            hit = clen <= len ? memmem(s, len, c, clen) : NULL;
            return hit ? json_stringn_nocheck(hit + clen, len - (size_t)(hit - s) - clen)
                       : json_incref((json_t *)a);
        }
        /* rsplit finds the rightmost occurrence ("aa" in "aaa" at 1) */
        for (size_t i = len >= clen ? len - clen + 1 : 0; i-- > 0 && !hit;)
            if (!memcmp(s + i, c, clen))
                hit = s + i;
        return hit ? json_stringn_nocheck(s, (size_t)(hit - s)) : json_incref((json_t *)a);
    }
    case SO_MAP: {
        struct ad_buf o = AD_BUF_INIT;
        const char *sep = x->f ? x->f : "";
        size_t start = 0, k = (size_t)(x->cond % 8);
        int cs = x->cond / 8 - 1, rc = 0;
        json_t *r = NULL;

        if (clen == 0) {
            *why = "empty separator";
            return NULL;
        }
        for (bool first = true; rc == 0; first = false) {
            const char *hit = start < len ? memmem(s + start, len - start, c, clen) : NULL;
            size_t end = hit ? (size_t)(hit - s) : len, wl = end - start;

            if (k > 0)
                wl = cp_offset(s + start, wl, k);
            rc = !first && ad_buf_adds(&o, sep);
            if (rc == 0 && cs >= 0 && wl > 0) {
                size_t cl;
                char *cw = sx_case(s + start, wl, (enum sx_case)cs, &cl);

                rc = !cw || ad_buf_add(&o, cw, cl);
                free(cw);
            } else if (rc == 0) {
                rc = ad_buf_add(&o, s + start, wl);
            }
            if (!hit)
                break;
            start = end + clen;
        }
        if (rc == 0)
            r = json_stringn_nocheck(o.ptr ? o.ptr : "", o.len);
        ad_buf_release(&o);
        return r;
    }
    case SO_SUFFIX:
        if (len >= clen && !memcmp(s + len - clen, c, clen))
            return json_incref((json_t *)a);
        {
            char *cat = malloc(len + clen + 1);
            json_t *r;

            if (!cat)
                return NULL;
            memcpy(cat, s, len);
            memcpy(cat + len, c, clen);
            r = json_stringn_nocheck(cat, len + clen);
            free(cat);
            return r;
        }
    case SO_INITIALS: {
        /*
         * re.sub(r"([A-Z])[a-z]+ *", r"\1", a): the pattern starts with an ASCII
         * capital, which no byte of a multi-byte UTF-8 character is, so a scan by
         * bytes finds the matches Python finds by characters.
         */
        struct ad_buf o = AD_BUF_INIT;
        size_t i = 0;
        json_t *r = NULL;
        int rc = 0;

        while (rc == 0 && i < len) {
            if (s[i] >= 'A' && s[i] <= 'Z' && i + 1 < len && s[i + 1] >= 'a' && s[i + 1] <= 'z') {
                rc = ad_buf_addch(&o, s[i]);
                i++;
                while (i < len && s[i] >= 'a' && s[i] <= 'z')
                    i++;
                while (i < len && s[i] == ' ')
                    i++;
            } else
                rc = ad_buf_addch(&o, s[i++]);
        }
        if (rc == 0)
            r = json_stringn_nocheck(o.ptr ? o.ptr : "", o.len);
        ad_buf_release(&o);
        return r;
    }
    case SO_FIRST: {
        /* one code point of valid UTF-8: the lead byte says how many bytes */
        size_t n = len == 0 ? 0 : (unsigned char)s[0] < 0x80 ? 1 : (unsigned char)s[0] < 0xe0 ? 2
                               : (unsigned char)s[0] < 0xf0 ? 3 : 4;

        return json_stringn_nocheck(s, n < len ? n : len);
    }
    case SO_PART:
        if (!split_part(s, len, c, clen, x->cond, &sp)) {
            *why = "list index out of range";
            return NULL;
        }
        return json_stringn_nocheck(s + sp.off, sp.len);
    default:
        break;
    }
    if (x->n == SO_DROP || x->n == SO_SPLIT) {
        json_int_t k;

        if (!json_is_integer(b)) {
            *why = "not an integer";
            return NULL;
        }
        k = json_integer_value(b);
        if (x->n == SO_DROP) {
            size_t n = cp_count(s, len), from;

            /* Python clamps a slice start: a negative one counts from the end. */
            if (k < 0)
                from = (size_t)-k >= n ? 0 : n - (size_t)-k;
            else
                from = (size_t)k > n ? n : (size_t)k;
            from = cp_offset(s, len, from);
            return json_stringn_nocheck(s + from, len - from);
        }
        if (clen == 0) {
            *why = "empty separator";
            return NULL;
        }
        if (k - 1 < -(json_int_t)len - 1 || k - 1 > (json_int_t)len ||
            !split_part(s, len, c, clen, (long)(k - 1), &sp)) {
            *why = "list index out of range";
            return NULL;
        }
        return json_stringn_nocheck(s + sp.off, sp.len);
    }
    if (!t) {
        *why = "not a string";
        return NULL;
    }
    switch (x->n) {
    case SO_COUNT:
        return json_integer((json_int_t)occurrences(s, len, t, tlen));
    case SO_IN:
        return json_boolean(tlen == 0 || memmem(s, len, t, tlen) != NULL);
    case SO_EQ:
        return json_boolean(len == tlen && !memcmp(s, t, len));
    case SO_STARTS:
        return json_boolean(tlen <= len && !memcmp(s, t, tlen));
    case SO_ENDS:
        return json_boolean(tlen <= len && !memcmp(s + len - tlen, t, tlen));
    case SO_REPLACE:
        return replace(s, len, t, tlen, c ? c : "", clen);
    default:
        *why = "internal: unknown string operation";
        return NULL;
    }
}

json_t *sx_eval(struct ad_synth_program *p, int node, const json_t *input, const char **why)
{
    const struct sx *x = &p->node[node];
    json_t *a = NULL, *b = NULL, *r = NULL;

    *why = NULL;
    switch (x->kind) {
    case SX_PATH: {
        const json_t *v = sx_walk(&x->path, input);

        if (!v && x->c)
            return json_incref(x->c);
        if (!v)
            *why = "a key or index is missing";
        return v ? json_incref((json_t *)v) : NULL;
    }
    case SX_CONST:
        return json_incref(x->c);
    case SX_IF:
        /* Python's conditional expression: the test, then only the branch it picks. */
        if (!(a = sx_eval(p, x->a, input, why)))
            return NULL;
        if (!json_is_boolean(a)) {
            json_decref(a);
            *why = "internal: a condition that is not a boolean";
            return NULL;
        }
        r = sx_eval(p, json_is_true(a) ? x->b : x->n, input, why);
        json_decref(a);
        return r;
    default:
        break;
    }
    if (x->a >= 0 && !(a = sx_eval(p, x->a, input, why)))
        return NULL;
    if (x->b >= 0 && !(b = sx_eval(p, x->b, input, why))) {
        json_decref(a);
        return NULL;
    }
    switch (x->kind) {
    case SX_NTH: {
        struct sx_matches m;
        struct sx_span sp;

        /* The atoms use |k| <= SX_KEEP: one run keeps what they need. */
        assert(x->n < SX_KEEP && x->n >= -SX_KEEP);
        if (!json_is_string(a))
            *why = "not a string";
        else if (!sx_matches(p, x->pat, json_string_value(a), json_string_length(a), &m))
            *why = "the budget of bytes scanned is spent";
        else if (!sx_match_at(&m, x->n, &sp))
            *why = "the pattern does not match often enough";
        else
            r = json_stringn(json_string_value(a) + sp.off, sp.len);
        break;
    }
    case SX_ALL:
        if (!json_is_string(a)) {
            *why = "not a string";
            break;
        }
        r = sx_findall(p, x->pat, json_string_value(a), json_string_length(a));
        if (!r)
            *why = p->spent ? "the budget of bytes scanned is spent" : NULL;
        break;
    case SX_CASE:
        if (!json_is_string(a)) {
            *why = "not a string";
        } else if (!sx_scan(p, json_string_length(a) + 1)) {
            *why = "the budget of bytes scanned is spent";
        } else {
            size_t len;
            char *s = sx_case(json_string_value(a), json_string_length(a), x->n, &len);

            r = s ? json_stringn_nocheck(s, len) : NULL;
            free(s);
        }
        break;
    case SX_CAT:
        if (json_is_string(a) && json_is_string(b)) {
            struct ad_buf s = AD_BUF_INIT;

            if (ad_buf_add(&s, json_string_value(a), json_string_length(a)) == 0 &&
                ad_buf_add(&s, json_string_value(b), json_string_length(b)) == 0)
                r = json_stringn_nocheck(s.ptr, s.len);
            ad_buf_release(&s);
        } else {
            *why = "not a string";
        }
        break;
    case SX_STR:
    case SX_FMT: {
        char buf[400];

        if (json_is_integer(a) && x->kind == SX_STR)
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(a));
        else if (json_is_real(a) && x->kind == SX_STR)
            sx_float_repr(json_real_value(a), buf, sizeof(buf));
        else if (json_is_number(a) && x->kind == SX_FMT && isfinite(json_number_value(a)))
            snprintf(buf, sizeof(buf), "%.*f", x->n, json_number_value(a));
        else if (json_is_string(a) && x->kind == SX_STR)
            snprintf(buf, sizeof(buf), "%s", json_string_value(a));
        else {
            *why = "not a number";
            break;
        }
        r = json_string(buf);
        break;
    }
    case SX_BIN:
        r = arith(x->n, a, b, why);
        break;
    case SX_ROUND: {
        bool isint;
        int64_t i;
        double d;

        if (!num(a, &isint, &i, &d)) {
            *why = "not a number";
        } else if (isint) {
            r = json_incref(a);
        } else if (x->n < 0) {
            d = nearbyint(d);   /* half to even under the default rounding mode */
            if (isfinite(d) && fabs(d) < 9.2e18)
                r = json_integer((json_int_t)d);
            else
                *why = "cannot round to an integer";
        } else {
            r = json_real(round_digits(d, x->n));
        }
        break;
    }
    case SX_AGG:
        r = aggregate(x, a, why);
        break;
    case SX_FILTER:
        r = filter(x, a, why);
        break;
    case SX_STROP:
        r = sx_strop(p, x, a, b, why);
        break;
    case SX_CMP: {
        int c = compare(x->n, a, b ? b : x->c);

        if (c < 0)
            *why = "the values cannot be compared";
        else
            r = json_boolean(c);
        break;
    }
    default:
        *why = "internal: unknown node";
        break;
    }
    json_decref(a);
    json_decref(b);
    if (!r && !*why)
        *why = "out of memory";
    return r;
}
