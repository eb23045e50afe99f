/*
 * The synthesizer's program tree and its evaluator.
 *
 * sx_eval() computes what the emitted Python computes, operation for
 * operation: ints stay ints through +, - and * (an int64 overflow counts as
 * a failure, where Python would grow), / always gives a float, round()
 * rounds half to even on the exact binary value (glibc's printf does the
 * same as Python's dtoa), sum() adds from the left starting at int 0 (the
 * plain addition of Python 3.11, Debian 12's; 3.12 compensates), max() and
 * min() keep the first of equal values. Where the Python would raise, the
 * result is NULL with a reason.
 *
 * Case changes follow Python's rules on ASCII letters and leave other
 * characters alone, where Python would also change non-ASCII letters; a
 * program that differs on such input is caught when the sandbox runs the
 * emitted code on the examples.
 */
#include "compat.h"

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
    re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &errcode,
                       &off, NULL);
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

json_t *sx_findall(struct ad_synth_program *p, int pat, const char *s, size_t len)
{
    const struct sx_pat *sp = &p->pat[pat];
    json_t *all = json_array();
    PCRE2_SIZE off = 0;

    while (all && off <= len) {
        int rc = pcre2_match(sp->re, (PCRE2_SPTR)s, len, off, 0, p->md, NULL);
        PCRE2_SIZE *ov;
        int g;

        if (rc < 0)
            break;
        ov = pcre2_get_ovector_pointer(p->md);
        g = sp->groups ? 1 : 0;
        if (ov[2 * g] == PCRE2_UNSET)
            json_array_append_new(all, json_string(""));
        else
            json_array_append_new(all, json_stringn(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        if (ov[1] == ov[0]) {
            /* An empty match: step over one character, as Python does. */
            off = ov[1] + 1;
            while (off < len && ((unsigned char)s[off] & 0xC0) == 0x80)
                off++;
        } else {
            off = ov[1];
        }
    }
    return all;
}

static bool ascii_upper(int c) { return c >= 'A' && c <= 'Z'; }
static bool ascii_lower(int c) { return c >= 'a' && c <= 'z'; }

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

char *sx_case(const char *s, size_t len, enum sx_case c, size_t *outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    char *o;
    bool prev_cased = false;

    if (c == CASE_STRIP) {
        size_t a = 0, b = len, k;

        while (a < b && (k = space_at(u + a, b - a)) > 0)
            a += k;
        while (b > a && (k = space_before(u, b)) > 0)
            b -= k;
        *outlen = b - a;
        return strndup(s + a, b - a);
    }
    o = malloc(len + 1);
    if (!o)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int ch = u[i];
        bool cased = ascii_upper(ch) || ascii_lower(ch);

        switch (c) {
        case CASE_LOWER:
            ch = ascii_upper(ch) ? ch + 32 : ch;
            break;
        case CASE_UPPER:
            ch = ascii_lower(ch) ? ch - 32 : ch;
            break;
        case CASE_TITLE:
            if (cased)
                ch = prev_cased ? (ascii_upper(ch) ? ch + 32 : ch)
                                : (ascii_lower(ch) ? ch - 32 : ch);
            /* Non-ASCII letters are cased to Python; a byte of one is taken as such. */
            prev_cased = cased || ch >= 0x80;
            break;
        case CASE_CAPITALIZE:
            if (i == 0)
                ch = ascii_lower(ch) ? ch - 32 : ch;
            else
                ch = ascii_upper(ch) ? ch + 32 : ch;
            break;
        case CASE_STRIP:
            break;
        }
        o[i] = (char)ch;
    }
    o[len] = '\0';
    *outlen = len;
    return o;
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
        return json_real(da / db);
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

/* a <op> b on numbers (Python's comparison), or == on anything. -1: not comparable. */
static int compare(int op, const json_t *a, const json_t *b)
{
    bool ai, bi;
    int64_t x, y;
    double dx, dy;
    int c;

    if (op == CMP_EQ)
        return ad_json_equal_loose(a, b);
    if (!num(a, &ai, &x, &dx) || !num(b, &bi, &y, &dy)) {
        if (json_is_string(a) && json_is_string(b))
            c = strcmp(json_string_value(a), json_string_value(b));
        else
            return -1;
    } else if (ai && bi) {
        c = x < y ? -1 : x > y;
    } else {
        c = dx < dy ? -1 : dx > dy;
    }
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
    case SX_NTH:
    case SX_ALL: {
        json_t *all;
        long n, k;

        if (!json_is_string(a)) {
            *why = "not a string";
            break;
        }
        all = sx_findall(p, x->pat, json_string_value(a), json_string_length(a));
        if (x->kind == SX_ALL) {
            r = all;
            break;
        }
        n = (long)json_array_size(all);
        k = x->n < 0 ? n + x->n : x->n;
        if (k >= 0 && k < n)
            r = json_incref(json_array_get(all, (size_t)k));
        else
            *why = "the pattern does not match often enough";
        json_decref(all);
        break;
    }
    case SX_CASE:
        if (json_is_string(a)) {
            size_t len;
            char *s = sx_case(json_string_value(a), json_string_length(a), x->n, &len);

            r = s ? json_stringn_nocheck(s, len) : NULL;
            free(s);
        } else {
            *why = "not a string";
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
