/*
 * Input schemas of skills, read from the entry function's signature.
 *
 * Nothing is run: the code goes through the tokenizer of src/propose,
 * which tiles any input and never fails, and the signature is read from
 * its tokens. Strings and comments are single tokens, and a statement's
 * indentation is known, so a "def" inside a string, a comment or a class
 * body is never taken for the entry.
 *
 * Sections: finding the function; constants (defaults, Literal values);
 * annotations; parameters and the schema; docstrings; the schema check.
 */
#include "compat.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>

#include "skill_py.h"
#include "autodev/buf.h"
#include "autodev/skill.h"
#include "autodev/pytok.h"
#include "autodev/text.h"

/* Nesting of annotations and constants read before giving up on them. */
#define NEST_MAX 32

/* The readers of annotations and constants answer 0, AD_ENOMEM or this. */
#define UNREAD 1

/* ---- finding the function -------------------------------------------------- */

struct pydef {
    const char *src;
    struct ad_pytok t;
    size_t line;                /* the def's logical line */
    size_t first;               /* token of "def" or "async" */
    size_t name;                /* token of the function's name */
    size_t open, close, colon;  /* tokens of '(', ')' and the ':' after them */
};

static size_t next_sig(const struct ad_pytok *t, size_t i, size_t end)
{
    while (i < end && !ad_tok_significant(&t->toks[i]))
        i++;
    return i;
}

static int tok_name_is(const struct pydef *d, size_t i, const char *s)
{
    return d->t.toks[i].kind == AD_TOK_NAME && ad_tok_is(d->src, &d->t.toks[i], s);
}

static int tok_op_is(const struct pydef *d, size_t i, const char *s)
{
    return d->t.toks[i].kind == AD_TOK_OP && ad_tok_is(d->src, &d->t.toks[i], s);
}

/*
 * 1 when logical line l is "def entry" or "async def entry" at column 0:
 * only a module-level statement starts there, so methods and nested
 * functions are never taken.
 */
static int def_named(const struct pydef *d, const struct ad_pyline *l, const char *entry,
                     size_t *name)
{
    size_t i = l->tok_first, end = l->tok_end;

    if (l->indent != 0 || i >= end)
        return 0;
    if (tok_name_is(d, i, "async"))
        i = next_sig(&d->t, i + 1, end);
    if (i >= end || !tok_name_is(d, i, "def"))
        return 0;
    i = next_sig(&d->t, i + 1, end);
    if (i >= end || !tok_name_is(d, i, entry))
        return 0;
    *name = i;
    return 1;
}

static int is_closer(const struct pydef *d, size_t i)
{
    return tok_op_is(d, i, ")") || tok_op_is(d, i, "]") || tok_op_is(d, i, "}");
}

/* The '(' after the name, its ')', and the ':' that ends the signature. */
static int read_bounds(struct pydef *d, const char *entry, struct ad_err *err)
{
    size_t end = d->t.lines[d->line].tok_end, i;
    int line = d->t.toks[d->name].line;

    i = next_sig(&d->t, d->name + 1, end);
    if (i >= end || !tok_op_is(d, i, "("))
        return ad_error(err, AD_EINVAL, "line %d: 'def %s' is not followed by '('", line, entry);
    d->open = i;
    for (i++; i < end; i++)
        if (d->t.toks[i].depth == 1 && is_closer(d, i))
            break;
    if (i >= end || !tok_op_is(d, i, ")"))
        return ad_error(err, AD_EINVAL, "line %d: the parameter list of '%s' is not closed",
                        line, entry);
    d->close = i;
    for (i++; i < end; i++)
        if (d->t.toks[i].depth == 0 && tok_op_is(d, i, ":"))
            break;
    if (i >= end)
        return ad_error(err, AD_EINVAL, "line %d: no ':' after the signature of '%s'", line,
                        entry);
    d->colon = i;
    return 0;
}

/*
 * Tokenises code and finds the entry. Python binds the name to the last
 * definition, so the last top-level def of that name is the one that runs.
 */
static int find_def(struct pydef *d, const char *code, size_t len, const char *entry,
                    struct ad_err *err)
{
    size_t found = SIZE_MAX, name = 0;
    int rc;

    memset(d, 0, sizeof(*d));
    d->src = code;
    if (!code || !entry || !entry[0])
        return ad_error(err, AD_EINVAL, "reading a signature needs code and an entry function");
    rc = ad_pytok_run(code, len, &d->t, err);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < d->t.nlines; k++) {
        if (def_named(d, &d->t.lines[k], entry, &name)) {
            found = k;
            d->name = name;
        }
    }
    if (found == SIZE_MAX)
        return ad_error(err, AD_ENOTFOUND, "no top-level function '%.128s' in the code", entry);
    d->line = found;
    d->first = d->t.lines[found].tok_first;
    return read_bounds(d, entry, err);
}

int ad__skill_signature(const char *code, size_t len, const char *entry, struct ad_buf *out,
                        struct ad_err *err)
{
    struct pydef d;
    int rc = find_def(&d, code, len, entry, err);

    if (rc == 0) {
        size_t a = d.t.toks[d.first].off, b = d.t.toks[d.colon].off + 1;

        rc = ad_buf_add(out, code + a, b - a);
        if (rc < 0)
            rc = ad_error(err, rc, "no room for the signature of '%s'", entry);
    }
    ad_pytok_release(&d.t);
    return rc;
}

/* ---- constants --------------------------------------------------------------- */

/* A run of significant tokens: the part of a signature being read. */
struct seq {
    const char *src;
    const struct ad_tok *toks;
    const size_t *ix;   /* indices of the significant tokens, in order */
    size_t i, end;      /* cursor and bound, in ix */
};

static const struct ad_tok *tk(const struct seq *s, size_t i)
{
    return &s->toks[s->ix[i]];
}

static int at_op(const struct seq *s, size_t i, const char *op)
{
    return i < s->end && tk(s, i)->kind == AD_TOK_OP && ad_tok_is(s->src, tk(s, i), op);
}

static int at_kind(const struct seq *s, size_t i, enum ad_tok_kind k)
{
    return i < s->end && tk(s, i)->kind == k;
}

static int at_name(const struct seq *s, size_t i, const char *name)
{
    return at_kind(s, i, AD_TOK_NAME) && ad_tok_is(s->src, tk(s, i), name);
}

static int add_utf8(struct ad_buf *b, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return UNREAD;   /* JSON text and C strings hold neither NUL nor lone surrogates */
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return ad_buf_add(b, u, n);
}

/* The code point of the n hex digits at p, or ULONG_MAX. */
static unsigned long hex_digits(const char *p, size_t avail, size_t n)
{
    unsigned long v = 0;

    if (avail < n)
        return ULONG_MAX;
    for (size_t k = 0; k < n; k++) {
        char c = p[k];
        int d = c >= '0' && c <= '9' ? c - '0'
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;

        if (d < 0)
            return ULONG_MAX;
        v = v * 16 + (unsigned long)d;
    }
    return v;
}

static char simple_escape(char e)
{
    switch (e) {
    case '\\': return '\\';
    case '\'': return '\'';
    case '"': return '"';
    case 'a': return '\a';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    }
    return 0;
}

/* The escape after a backslash at body[*i - 1]; *i moves past it. */
static int add_escape(const char *body, size_t blen, size_t *i, struct ad_buf *b)
{
    char e = body[*i], c = simple_escape(e);
    size_t n;

    (*i)++;
    if (c)
        return ad_buf_addch(b, c);
    if (e == '\n')
        return 0;
    if (e == '\r') {
        *i += *i < blen && body[*i] == '\n';
        return 0;
    }
    if (e >= '0' && e <= '7') {
        unsigned long cp = (unsigned long)(e - '0');

        for (n = 0; n < 2 && *i < blen && body[*i] >= '0' && body[*i] <= '7'; n++)
            cp = cp * 8 + (unsigned long)(body[(*i)++] - '0');
        return add_utf8(b, cp);
    }
    n = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (n) {
        unsigned long cp = hex_digits(body + *i, blen - *i, n);

        *i += n;
        return cp == ULONG_MAX ? UNREAD : add_utf8(b, cp);
    }
    if (e == 'N')
        return UNREAD;   /* \N{NAME} needs Unicode's name table */
    /* Python keeps an unknown escape as it is written. */
    return ad_buf_addch(b, '\\') || ad_buf_addch(b, e) ? AD_ENOMEM : 0;
}

/* 1 when a string token's prefix makes a str (none, u, r): not bytes nor f-strings. */
static int str_prefix(const char *p, size_t n, size_t *k, int *raw)
{
    *raw = 0;
    for (*k = 0; *k < n && p[*k] != '"' && p[*k] != '\''; (*k)++) {
        char c = (char)(p[*k] | 0x20);

        if (c == 'r')
            *raw = 1;
        else if (c != 'u')
            return 0;
    }
    return *k < n;
}

/* The text between the quotes of a str literal token; 0 when it is not one. */
static int string_body(const char *p, size_t n, unsigned flags, const char **body,
                       size_t *blen, int *raw)
{
    size_t k, q;

    if ((flags & AD_TOKF_UNTERMINATED) || !str_prefix(p, n, &k, raw))
        return 0;
    q = n - k >= 6 && p[k + 1] == p[k] && p[k + 2] == p[k] ? 3 : 1;
    if (n - k < 2 * q)
        return 0;
    *body = p + k + q;
    *blen = n - k - 2 * q;
    return 1;
}

/*
 * The value of one str literal token, into b: Python's escapes, and its
 * newlines as Python reads them ("\r\n" and "\r" are "\n").
 */
static int string_value(const char *p, size_t n, unsigned flags, struct ad_buf *b)
{
    const char *body;
    size_t i;
    int raw, rc = 0;

    if (!string_body(p, n, flags, &body, &n, &raw))
        return UNREAD;
    for (i = 0; rc == 0 && i < n;) {
        if (body[i] == '\r') {
            rc = ad_buf_addch(b, '\n');
            i += i + 1 < n && body[i + 1] == '\n' ? 2 : 1;
        } else if (body[i] == '\\' && !raw && i + 1 < n) {
            i++;
            rc = add_escape(body, n, &i, b);
        } else {
            rc = ad_buf_addch(b, body[i++]);
        }
    }
    if (rc == 0 && (!ad_utf8_valid(b->ptr, b->len) || memchr(b->ptr, '\0', b->len)))
        rc = UNREAD;
    return rc == AD_ETOOBIG ? UNREAD : rc;
}

/* Adjacent string literals are one value in Python ("a" "b" is "ab"). */
static int const_string(struct seq *s, json_t **out)
{
    struct ad_buf b = AD_BUF_INIT;
    int rc = 0;

    while (rc == 0 && at_kind(s, s->i, AD_TOK_STRING)) {
        const struct ad_tok *t = tk(s, s->i++);

        rc = string_value(s->src + t->off, t->len, t->flags, &b);
    }
    if (rc == 0) {
        *out = json_stringn(b.ptr, b.len);
        rc = *out ? 0 : AD_ENOMEM;
    }
    ad_buf_release(&b);
    return rc;
}

static int integer_value(const char *digits, int base, int neg, json_t **out)
{
    unsigned long long u;
    char *e;

    errno = 0;
    u = strtoull(digits, &e, base);
    if (errno || *e || e == digits || u > (unsigned long long)LLONG_MAX + (neg ? 1 : 0))
        return UNREAD;
    if (neg)
        *out = json_integer(u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                                   : -(long long)u);
    else
        *out = json_integer((long long)u);
    return *out ? 0 : AD_ENOMEM;
}

/* A number literal: ints of any base, floats; complex and huge numbers are not JSON. */
static int number_value(const char *p, size_t n, int neg, json_t **out)
{
    char buf[80];
    size_t k = 0;
    double d;
    char *e;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '_')
            continue;
        if (k + 1 >= sizeof(buf))
            return UNREAD;
        buf[k++] = p[i];
    }
    buf[k] = '\0';
    if (k == 0 || (buf[k - 1] | 0x20) == 'j')
        return UNREAD;
    if (buf[0] == '0' && k > 2 && strchr("xXoObB", buf[1]))
        return integer_value(buf + 2, (buf[1] | 0x20) == 'x' ? 16 : (buf[1] | 0x20) == 'o' ? 8 : 2,
                             neg, out);
    if (!strpbrk(buf, ".eE"))
        return integer_value(buf, 10, neg, out);
    errno = 0;
    d = strtod(buf, &e);
    if (*e || !isfinite(d))
        return UNREAD;
    *out = json_real(neg ? -d : d);
    return *out ? 0 : AD_ENOMEM;
}

static int const_value(struct seq *s, int nest, json_t **out);

/* Elements of a list or tuple up to the closer, s->i after the opener. */
static int const_items(struct seq *s, int nest, const char *close, json_t *arr)
{
    while (!at_op(s, s->i, close)) {
        json_t *v = NULL;
        int rc = const_value(s, nest, &v);

        if (rc)
            return rc;
        if (json_array_append_new(arr, v))
            return AD_ENOMEM;
        if (at_op(s, s->i, ","))
            s->i++;
        else if (!at_op(s, s->i, close))
            return UNREAD;
    }
    s->i++;
    return 0;
}

/* A dict display with str keys, s->i after the '{'. */
static int const_dict(struct seq *s, int nest, json_t *obj)
{
    while (!at_op(s, s->i, "}")) {
        json_t *k = NULL, *v = NULL;
        int rc = const_value(s, nest, &k);

        if (rc == 0 && (!json_is_string(k) || !at_op(s, s->i, ":")))
            rc = UNREAD;
        if (rc == 0) {
            s->i++;
            rc = const_value(s, nest, &v);
        }
        if (rc == 0 && json_object_set_new(obj, json_string_value(k), v))
            rc = AD_ENOMEM;
        json_decref(k);
        if (rc)
            return rc;
        if (at_op(s, s->i, ","))
            s->i++;
        else if (!at_op(s, s->i, "}"))
            return UNREAD;
    }
    s->i++;
    return 0;
}

/* "(x)" is x; "()" and "(x,)" are tuples, JSON arrays. */
static int const_paren(struct seq *s, int nest, json_t **out)
{
    json_t *first = NULL, *arr;
    int rc;

    if (at_op(s, s->i, ")")) {
        s->i++;
        *out = json_array();
        return *out ? 0 : AD_ENOMEM;
    }
    rc = const_value(s, nest, &first);
    if (rc)
        return rc;
    if (at_op(s, s->i, ")")) {
        s->i++;
        *out = first;
        return 0;
    }
    if (!at_op(s, s->i, ",")) {
        json_decref(first);
        return UNREAD;
    }
    s->i++;
    arr = json_array();
    if (!arr || json_array_append_new(arr, first)) {
        json_decref(arr);
        return AD_ENOMEM;
    }
    rc = const_items(s, nest, ")", arr);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

static int const_container(struct seq *s, int nest, json_t **out)
{
    json_t *c;
    int rc;

    if (at_op(s, s->i, "(")) {
        s->i++;
        return const_paren(s, nest, out);
    }
    c = at_op(s, s->i, "[") ? json_array() : json_object();
    if (!c)
        return AD_ENOMEM;
    rc = at_op(s, s->i++, "[") ? const_items(s, nest, "]", c) : const_dict(s, nest, c);
    if (rc)
        json_decref(c);
    else
        *out = c;
    return rc;
}

/*
 * A constant expression at s->i as JSON: numbers, strings, True, False,
 * None, and lists, tuples and str-keyed dicts of those. UNREAD for
 * anything else (a call, a name, a set), which is then no JSON default.
 */
static int const_value(struct seq *s, int nest, json_t **out)
{
    const struct ad_tok *t;
    int neg = 0;

    if (nest > NEST_MAX || s->i >= s->end)
        return UNREAD;
    if (at_op(s, s->i, "-") || at_op(s, s->i, "+")) {
        neg = at_op(s, s->i, "-");
        if (!at_kind(s, s->i + 1, AD_TOK_NUMBER))
            return UNREAD;
        s->i++;
    }
    t = tk(s, s->i);
    if (t->kind == AD_TOK_NUMBER) {
        s->i++;
        return number_value(s->src + t->off, t->len, neg, out);
    }
    if (t->kind == AD_TOK_STRING)
        return const_string(s, out);
    if (at_name(s, s->i, "True") || at_name(s, s->i, "False") || at_name(s, s->i, "None")) {
        *out = at_name(s, s->i, "None") ? json_null() : json_boolean(at_name(s, s->i, "True"));
        s->i++;
        return 0;
    }
    if (at_op(s, s->i, "[") || at_op(s, s->i, "(") || at_op(s, s->i, "{"))
        return const_container(s, nest + 1, out);
    return UNREAD;
}

/* ---- annotations ------------------------------------------------------------- */

enum ann_kind {
    K_UNKNOWN, K_ANY, K_NULL, K_STRING, K_INTEGER, K_NUMBER, K_BOOLEAN, K_ARRAY, K_TUPLE,
    K_OBJECT, K_OPTIONAL, K_UNION, K_LITERAL, K_ANNOTATED,
};

static const struct {
    const char *name;
    enum ann_kind kind;
} ann_names[] = {
    { "str", K_STRING }, { "int", K_INTEGER }, { "float", K_NUMBER }, { "bool", K_BOOLEAN },
    { "list", K_ARRAY }, { "List", K_ARRAY }, { "Sequence", K_ARRAY },
    { "MutableSequence", K_ARRAY }, { "Iterable", K_ARRAY }, { "Collection", K_ARRAY },
    { "set", K_ARRAY }, { "Set", K_ARRAY }, { "frozenset", K_ARRAY }, { "FrozenSet", K_ARRAY },
    { "tuple", K_TUPLE }, { "Tuple", K_TUPLE },
    { "dict", K_OBJECT }, { "Dict", K_OBJECT }, { "Mapping", K_OBJECT },
    { "MutableMapping", K_OBJECT },
    { "Optional", K_OPTIONAL }, { "Union", K_UNION }, { "Literal", K_LITERAL },
    { "Annotated", K_ANNOTATED }, { "Any", K_ANY }, { "object", K_ANY },
    { "None", K_NULL }, { "NoneType", K_NULL },
};

/* Module prefixes under which the names above keep their meaning. */
static const char *const ann_modules[] = {
    "typing", "typing_extensions", "t", "collections.abc", "builtins", "types",
};

static enum ann_kind ann_lookup(const char *src, const struct ad_tok *t)
{
    for (size_t k = 0; k < AD_ARRAY_SIZE(ann_names); k++)
        if (ad_tok_is(src, t, ann_names[k].name))
            return ann_names[k].kind;
    return K_UNKNOWN;
}

/* A dotted name at s->i ("typing.List"); its last part decides, under a known module. */
static enum ann_kind ann_name(struct seq *s)
{
    size_t first = s->i, last = s->i;
    const struct ad_tok *a, *z;

    while (at_op(s, last + 1, ".") && at_kind(s, last + 2, AD_TOK_NAME))
        last += 2;
    s->i = last + 1;
    if (last == first)
        return ann_lookup(s->src, tk(s, last));
    a = tk(s, first);
    z = tk(s, last - 2);
    for (size_t k = 0; k < AD_ARRAY_SIZE(ann_modules); k++) {
        size_t n = strlen(ann_modules[k]);

        /* The tokens between are names and dots only, so the text is the dotted path. */
        if (z->off + z->len - a->off == n && memcmp(s->src + a->off, ann_modules[k], n) == 0)
            return ann_lookup(s->src, tk(s, last));
    }
    return K_UNKNOWN;
}

static json_t *type_schema(const char *type)
{
    return type ? json_pack("{ss}", "type", type) : json_object();
}

/* The schema of X that also takes null (Optional[X], X | None). */
static int nullable(json_t *x)
{
    json_t *type = json_object_get(x, "type"), *arr;

    if (json_object_size(x) == 0)
        return 0;
    if (json_is_string(type)) {
        if (strcmp(json_string_value(type), "null") == 0)
            return 0;
        arr = json_pack("[Os]", type, "null");
        return !arr || json_object_set_new(x, "type", arr) ? AD_ENOMEM : 0;
    }
    if (json_is_array(type)) {
        for (size_t k = 0; k < json_array_size(type); k++) {
            const char *t = json_string_value(json_array_get(type, k));

            if (t && strcmp(t, "null") == 0)
                return 0;
        }
        return json_array_append_new(type, json_string("null")) ? AD_ENOMEM : 0;
    }
    if (json_is_array(json_object_get(x, "enum"))) {
        json_t *en = json_object_get(x, "enum");

        for (size_t k = 0; k < json_array_size(en); k++)
            if (json_is_null(json_array_get(en, k)))
                return 0;
        return json_array_append_new(en, json_null()) ? AD_ENOMEM : 0;
    }
    if (json_is_array(json_object_get(x, "anyOf")))
        return json_array_append_new(json_object_get(x, "anyOf"), type_schema("null"))
                   ? AD_ENOMEM : 0;
    arr = json_pack("[O{ss}]", x, "type", "null");
    if (!arr)
        return AD_ENOMEM;
    json_object_clear(x);
    return json_object_set_new(x, "anyOf", arr) ? AD_ENOMEM : 0;
}

static int only_type(const json_t *m)
{
    return json_object_size(m) == 1 && json_is_string(json_object_get(m, "type"));
}

/*
 * The schema of a union: Any among the members takes everything; plain
 * types merge into one "type" list; anything richer becomes anyOf.
 */
static int union_schema(json_t *members, json_t **out)
{
    json_t *types = json_array(), *res = NULL, *m;
    size_t k, plain = 0, nulls = 0, n = json_array_size(members);
    int rc = 0;

    if (!types)
        return AD_ENOMEM;
    json_array_foreach(members, k, m) {
        if (json_object_size(m) == 0) {
            json_decref(types);
            *out = json_object();
            return *out ? 0 : AD_ENOMEM;
        }
        plain += only_type(m);
        nulls += only_type(m) && strcmp(json_string_value(json_object_get(m, "type")), "null") == 0;
    }
    if (plain == n) {
        json_array_foreach(members, k, m) {
            json_t *t = json_object_get(m, "type");
            int seen = 0;

            for (size_t j = 0; j < json_array_size(types); j++)
                seen |= json_equal(json_array_get(types, j), t);
            if (!seen && json_array_append(types, t))
                rc = AD_ENOMEM;
        }
        res = json_array_size(types) == 1 ? json_pack("{sO}", "type", json_array_get(types, 0))
                                          : json_pack("{sO}", "type", types);
    } else if (n - nulls == 1) {
        json_array_foreach(members, k, m)
            if (!only_type(m) || strcmp(json_string_value(json_object_get(m, "type")), "null"))
                res = json_deep_copy(m);
        rc = res && nulls ? nullable(res) : 0;
    } else {
        res = json_pack("{sO}", "anyOf", members);
    }
    json_decref(types);
    if (!res || rc) {
        json_decref(res);
        return AD_ENOMEM;
    }
    *out = res;
    return 0;
}

static int type_union(struct seq *s, int nest, json_t **out);

/* Skips to after the closer of the bracket whose opener is at s->i - 1. */
static int skip_brackets(struct seq *s)
{
    int depth = tk(s, s->i - 1)->depth;

    for (; s->i < s->end; s->i++) {
        const struct ad_tok *t = tk(s, s->i);

        if (t->depth == depth + 1 && t->kind == AD_TOK_OP &&
            (ad_tok_is(s->src, t, "]") || ad_tok_is(s->src, t, ")") ||
             ad_tok_is(s->src, t, "}"))) {
            s->i++;
            return 0;
        }
    }
    return UNREAD;
}

/* "T, T, ...]" after '[' into arr; "..." (tuple[int, ...]) reads as null. */
static int type_args(struct seq *s, int nest, json_t *arr)
{
    while (!at_op(s, s->i, "]")) {
        json_t *m = NULL;
        int rc = 0;

        if (at_op(s, s->i, "...")) {
            s->i++;
            m = json_null();
        } else {
            rc = type_union(s, nest, &m);
        }
        if (rc)
            return rc;
        if (json_array_append_new(arr, m))
            return AD_ENOMEM;
        if (at_op(s, s->i, ","))
            s->i++;
        else if (!at_op(s, s->i, "]"))
            return UNREAD;
    }
    s->i++;
    return 0;
}

/* "Literal[...]": the values, s->i after '['. */
static int literal_args(struct seq *s, int nest, json_t **out)
{
    json_t *vals = json_array();
    int rc;

    if (!vals)
        return AD_ENOMEM;
    rc = const_items(s, nest, "]", vals);
    if (rc == 0 && json_array_size(vals) == 0)
        rc = UNREAD;
    if (rc == 0) {
        *out = json_object();
        if (!*out || json_object_set(*out, "enum", vals)) {
            json_decref(*out);
            rc = AD_ENOMEM;
        }
    }
    json_decref(vals);
    return rc;
}

static int set_sub(json_t *schema, const char *key, json_t *sub)
{
    if (!json_is_object(sub) || json_object_size(sub) == 0)
        return 0;
    return json_object_set(schema, key, sub) ? AD_ENOMEM : 0;
}

/* The schema of a generic X[args], s->i after '['. */
static int generic_schema(struct seq *s, int nest, enum ann_kind kind, json_t **out)
{
    json_t *args, *res = NULL;
    size_t n;
    int rc;

    if (kind == K_LITERAL)
        return literal_args(s, nest, out);
    if (kind == K_ANNOTATED) {
        /* Annotated[X, anything]: X, and the metadata after it is no type. */
        size_t open = s->i - 1;

        rc = type_union(s, nest, out);
        if (rc == 0 && !at_op(s, s->i, ",") && !at_op(s, s->i, "]")) {
            json_decref(*out);
            rc = UNREAD;
        }
        s->i = open + 1;
        if (rc == 0 && skip_brackets(s)) {
            json_decref(*out);
            rc = UNREAD;
        }
        return rc;
    }
    args = json_array();
    if (!args)
        return AD_ENOMEM;
    rc = type_args(s, nest, args);
    n = json_array_size(args);
    if (rc == 0 && n == 0)
        rc = UNREAD;
    if (rc == 0 && (kind == K_ARRAY || kind == K_TUPLE)) {
        res = type_schema("array");
        /* tuple[X, ...] and list[X] hold X; tuple[X, Y] is positional: no one items schema. */
        if (res && (n == 1 || (kind == K_TUPLE && n == 2 && json_is_null(json_array_get(args, 1)))))
            rc = set_sub(res, "items", json_array_get(args, 0));
    } else if (rc == 0 && kind == K_OBJECT) {
        res = type_schema("object");
        if (res && n == 2)
            rc = set_sub(res, "additionalProperties", json_array_get(args, 1));
    } else if (rc == 0 && kind == K_OPTIONAL && json_is_object(json_array_get(args, 0))) {
        res = json_deep_copy(json_array_get(args, 0));
        if (n != 1)
            rc = UNREAD;
        else if (res)
            rc = nullable(res);
    } else if (rc == 0 && kind == K_UNION) {
        for (size_t k = 0; k < n; k++)
            if (!json_is_object(json_array_get(args, k)))
                rc = UNREAD;
        if (rc == 0)
            rc = union_schema(args, &res);
    } else if (rc == 0) {
        res = json_object();   /* int[...], a user's generic: nothing we know */
    }
    json_decref(args);
    if (rc == 0 && !res)
        rc = AD_ENOMEM;
    if (rc)
        json_decref(res);
    else
        *out = res;
    return rc;
}

static const char *const kind_types[] = {
    [K_NULL] = "null", [K_STRING] = "string", [K_INTEGER] = "integer",
    [K_NUMBER] = "number", [K_BOOLEAN] = "boolean", [K_ARRAY] = "array",
    [K_TUPLE] = "array", [K_OBJECT] = "object",
};

/* One operand of '|': a name, a generic, None, or a string (a forward reference). */
static int type_primary(struct seq *s, int nest, json_t **out)
{
    enum ann_kind kind;

    if (nest > NEST_MAX || s->i >= s->end)
        return UNREAD;
    if (at_kind(s, s->i, AD_TOK_STRING)) {
        /* A forward reference names a class we cannot see. */
        s->i++;
        *out = json_object();
        return *out ? 0 : AD_ENOMEM;
    }
    if (!at_kind(s, s->i, AD_TOK_NAME))
        return UNREAD;
    kind = ann_name(s);
    if (at_op(s, s->i, "[")) {
        s->i++;
        if (kind == K_UNKNOWN || kind == K_ANY || kind <= K_BOOLEAN) {
            if (skip_brackets(s))
                return UNREAD;
            *out = json_object();
            return *out ? 0 : AD_ENOMEM;
        }
        return generic_schema(s, nest + 1, kind, out);
    }
    if (kind == K_OPTIONAL || kind == K_UNION || kind == K_LITERAL || kind == K_ANNOTATED)
        return UNREAD;
    *out = type_schema(kind < AD_ARRAY_SIZE(kind_types) ? kind_types[kind] : NULL);
    return *out ? 0 : AD_ENOMEM;
}

static int type_union(struct seq *s, int nest, json_t **out)
{
    json_t *members = json_array(), *m = NULL;
    int rc;

    if (!members)
        return AD_ENOMEM;
    for (;;) {
        rc = type_primary(s, nest + 1, &m);
        if (rc == 0 && json_array_append_new(members, m))
            rc = AD_ENOMEM;
        if (rc || !at_op(s, s->i, "|"))
            break;
        s->i++;
    }
    if (rc == 0 && json_array_size(members) == 1)
        *out = json_incref(json_array_get(members, 0));
    else if (rc == 0)
        rc = union_schema(members, out);
    json_decref(members);
    return rc;
}

/* The schema of the annotation in tokens [a, b); one we cannot read is {}. */
static int annotation(const struct seq *whole, size_t a, size_t b, json_t **out)
{
    struct seq s = *whole;
    int rc;

    s.i = a;
    s.end = b;
    *out = NULL;
    rc = type_union(&s, 0, out);
    if (rc == 0 && s.i != b)
        rc = UNREAD;
    if (rc == UNREAD || rc == 0) {
        if (rc == UNREAD || !json_is_object(*out)) {
            json_decref(*out);
            *out = json_object();
        }
        return *out ? 0 : AD_ENOMEM;
    }
    return rc;
}

/* ---- parameters and the schema ----------------------------------------------- */

struct params {
    json_t *props;
    json_t *required;
    int extra;          /* **kwargs seen: additionalProperties true */
    int count;          /* parameters read, markers included */
    const char *entry;
};

static int param_error(const struct seq *s, size_t a, size_t b, const char *what,
                       struct ad_err *err)
{
    const struct ad_tok *x = tk(s, a), *y = tk(s, b - 1);
    size_t n = y->off + y->len - x->off;

    return ad_error(err, AD_EINVAL, "line %d: %s '%.*s%s'", x->line, what,
                    (int)(n > 60 ? 60 : n), s->src + x->off, n > 60 ? "..." : "");
}

/* The first '=' at the parameter's own level in [a, b), or b. */
static size_t find_default(const struct seq *s, size_t a, size_t b)
{
    for (size_t k = a; k < b; k++)
        if (tk(s, k)->depth == 1 && at_op(s, k, "="))
            return k;
    return b;
}

/* A constant default copied into the property; None also lets null in (PEP 484's old rule). */
static int add_default(const struct seq *whole, size_t a, size_t b, json_t *prop)
{
    struct seq s = *whole;
    json_t *v = NULL;
    int rc;

    s.i = a;
    s.end = b;
    rc = const_value(&s, 0, &v);
    if (rc == 0 && s.i != b)
        rc = UNREAD;
    if (rc) {
        json_decref(v);
        return rc == UNREAD ? 0 : rc;
    }
    if (json_is_null(v) && (rc = nullable(prop)) != 0) {
        json_decref(v);
        return rc;
    }
    return json_object_set_new(prop, "default", v) ? AD_ENOMEM : 0;
}

static int named_param(const struct seq *s, size_t a, size_t b, struct params *ps,
                       struct ad_err *err)
{
    const struct ad_tok *t = tk(s, a);
    size_t eq = find_default(s, a + 1, b);
    int annotated = at_op(s, a + 1, ":");
    json_t *prop = NULL;
    char *name;
    int rc;

    /* NAME, NAME: ANNOTATION, NAME = DEFAULT or NAME: ANNOTATION = DEFAULT, none empty. */
    if ((!annotated && eq != a + 1) || (annotated && eq == a + 2) || (eq < b && eq + 1 == b))
        return param_error(s, a, b, "cannot read parameter", err);
    if (!ad_utf8_valid(s->src + t->off, t->len))
        return param_error(s, a, b, "parameter name is not valid UTF-8 in", err);
    if (ps->count == 1 && ad_tok_is(s->src, t, "self"))
        return 0;
    name = strndup(s->src + t->off, t->len);
    if (!name)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = json_object_get(ps->props, name) ? AD_EINVAL : 0;
    if (rc)
        param_error(s, a, b, "duplicate parameter", err);
    else if (annotated)
        rc = annotation(s, a + 2, eq, &prop);
    else
        rc = (prop = json_object()) ? 0 : AD_ENOMEM;
    if (rc == 0 && eq < b)
        rc = add_default(s, eq + 1, b, prop);
    if (rc == 0 && eq == b && json_array_append_new(ps->required, json_string(name)))
        rc = AD_ENOMEM;
    if (rc == 0 && json_object_set(ps->props, name, prop))
        rc = AD_ENOMEM;
    json_decref(prop);
    free(name);
    return rc == AD_ENOMEM ? ad_error(err, rc, "out of memory") : rc;
}

/* One parameter, tokens [a, b) between commas. */
static int read_param(const struct seq *s, size_t a, size_t b, struct params *ps,
                      struct ad_err *err)
{
    int star = at_op(s, a, "*"), star2 = at_op(s, a, "**");

    ps->count++;
    if (at_op(s, a, "/") && b == a + 1)
        return 0;   /* positional-only marker */
    if (star && b == a + 1)
        return 0;   /* keyword-only marker */
    if (star || star2) {
        /* "*args" or "**kwargs", maybe annotated: nothing the caller passes by name. */
        if (!at_kind(s, a + 1, AD_TOK_NAME) ||
            (b != a + 2 && !(at_op(s, a + 2, ":") && a + 3 < b)))
            return param_error(s, a, b, "cannot read parameter", err);
        ps->extra |= star2;
        return 0;
    }
    if (!at_kind(s, a, AD_TOK_NAME))
        return param_error(s, a, b, "cannot read parameter", err);
    return named_param(s, a, b, ps, err);
}

/* The significant tokens between the parentheses, split at the commas of their level. */
static int read_params(const struct pydef *d, size_t *ix, struct params *ps, struct ad_err *err)
{
    struct seq s = { d->src, d->t.toks, ix, 0, 0 };
    size_t a = 0;
    int rc = 0;

    for (size_t k = d->open + 1; k < d->close; k++)
        if (ad_tok_significant(&d->t.toks[k]))
            ix[s.end++] = k;
    for (size_t j = 0; rc == 0 && j <= s.end; j++) {
        if (j < s.end && !(tk(&s, j)->depth == 1 && at_op(&s, j, ",")))
            continue;
        if (a == j && j < s.end)
            return ad_error(err, AD_EINVAL, "line %d: empty parameter in the signature of '%s'",
                            tk(&s, j)->line, ps->entry);
        if (a < j)
            rc = read_param(&s, a, j, ps, err);
        a = j + 1;
    }
    return rc;
}

int ad_skill_schema_derive(const char *code, size_t len, const char *entry, json_t **out,
                           struct ad_err *err)
{
    struct params ps = { json_object(), json_array(), 0, 0, entry };
    struct pydef d;
    size_t *ix = NULL;
    int rc;

    *out = NULL;
    rc = find_def(&d, code, len, entry, err);
    if (rc == 0 && (!ps.props || !ps.required))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0) {
        ix = malloc((d.close - d.open + 1) * sizeof(*ix));
        rc = ix ? read_params(&d, ix, &ps, err) : ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (rc == 0) {
        *out = json_pack("{sssOsOsb}", "type", "object", "properties", ps.props, "required",
                         ps.required, "additionalProperties", ps.extra);
        if (!*out)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    free(ix);
    json_decref(ps.props);
    json_decref(ps.required);
    ad_pytok_release(&d.t);
    return rc;
}

/* ---- docstrings -------------------------------------------------------------- */

/* The first non-blank line of text, trimmed, as a new string; NULL when none. */
static int first_line(const char *text, size_t n, char **out)
{
    size_t i = 0;

    while (i < n) {
        size_t e = i, a, z;

        while (e < n && text[e] != '\n')
            e++;
        for (a = i; a < e && strchr(" \t\f\v\r", text[a]); a++)
            ;
        for (z = e; z > a && strchr(" \t\f\v\r", text[z - 1]); z--)
            ;
        if (z > a) {
            *out = strndup(text + a, z - a);
            return *out ? 0 : AD_ENOMEM;
        }
        i = e + 1;
    }
    return 0;
}

/*
 * The docstring of the statement in tokens [i, end) when it is only a str
 * literal (Python's rule): its first line into *out.
 */
static int statement_doc(const struct pydef *d, size_t i, size_t end, char **out)
{
    const struct ad_tok *t;
    struct ad_buf b = AD_BUF_INIT;
    const char *body;
    size_t j, blen;
    int raw, rc;

    i = next_sig(&d->t, i, end);
    if (i >= end || d->t.toks[i].kind != AD_TOK_STRING)
        return 0;
    for (j = next_sig(&d->t, i + 1, end); j < end; j = next_sig(&d->t, j + 1, end)) {
        if (tok_op_is(d, j, ";"))
            break;
        if (d->t.toks[j].kind != AD_TOK_STRING)
            return 0;
    }
    t = &d->t.toks[i];
    if (!string_body(d->src + t->off, t->len, t->flags, &body, &blen, &raw))
        return 0;
    rc = string_value(d->src + t->off, t->len, t->flags, &b);
    if (rc == UNREAD) {
        /* A "\N{...}" or an odd escape: the text as written still reads well. */
        ad_buf_reset(&b);
        rc = ad_utf8_valid(body, blen) && !memchr(body, '\0', blen)
                 ? ad_buf_add(&b, body, blen) : UNREAD;
    }
    if (rc == 0)
        rc = first_line(b.ptr, b.len, out);
    ad_buf_release(&b);
    return rc < 0 ? AD_ENOMEM : 0;
}

/* The entry's docstring: the first statement of its body, on the def's line or the next. */
static int function_doc(const struct pydef *d, char **out)
{
    const struct ad_pyline *l = &d->t.lines[d->line];
    size_t i = next_sig(&d->t, d->colon + 1, l->tok_end);

    if (i < l->tok_end)
        return statement_doc(d, i, l->tok_end, out);
    if (d->line + 1 < d->t.nlines && l[1].indent > 0)
        return statement_doc(d, l[1].tok_first, l[1].tok_end, out);
    return 0;
}

int ad_skill_docstring(const char *code, size_t len, const char *entry, char **out,
                       struct ad_err *err)
{
    struct pydef d;
    int rc = 0;

    *out = NULL;
    if (!code)
        return ad_error(err, AD_EINVAL, "no code to read a docstring from");
    if (entry && entry[0]) {
        struct ad_err ignored = AD_ERR_INIT;

        rc = find_def(&d, code, len, entry, &ignored);
        if (rc == 0)
            rc = function_doc(&d, out);
        ad_pytok_release(&d.t);
        /* A missing or unreadable entry still leaves the module's docstring. */
        if (rc != AD_ENOMEM)
            rc = 0;
    }
    if (rc == 0 && !*out) {
        rc = ad_pytok_run(code, len, &d.t, err);
        d.src = code;
        if (rc == 0 && d.t.nlines > 0 && d.t.lines[0].indent == 0)
            rc = statement_doc(&d, d.t.lines[0].tok_first, d.t.lines[0].tok_end, out);
        ad_pytok_release(&d.t);
    }
    return rc == AD_ENOMEM ? ad_error(err, rc, "out of memory reading a docstring") : rc;
}

/* ---- the schema check -------------------------------------------------------- */

int ad_skill_schema_check(const json_t *schema, struct ad_err *err)
{
    const json_t *type, *props, *req, *v;
    const char *k;
    size_t i;

    if (!json_is_object(schema))
        return ad_error(err, AD_EINVAL, "input schema is not a JSON object");
    type = json_object_get(schema, "type");
    if (!json_is_string(type) || strcmp(json_string_value(type), "object") != 0)
        return ad_error(err, AD_EINVAL, "input schema: \"type\" must be \"object\"");
    props = json_object_get(schema, "properties");
    if (props && !json_is_object(props))
        return ad_error(err, AD_EINVAL, "input schema: \"properties\" must be an object");
    json_object_foreach((json_t *)props, k, v) {
        if (!json_is_object(v))
            return ad_error(err, AD_EINVAL, "input schema: property '%.64s' is not an object",
                            k);
    }
    req = json_object_get(schema, "required");
    if (req && !json_is_array(req))
        return ad_error(err, AD_EINVAL, "input schema: \"required\" must be an array");
    json_array_foreach(req, i, v) {
        if (!json_is_string(v))
            return ad_error(err, AD_EINVAL, "input schema: \"required\"[%zu] is not a string",
                            i);
    }
    return 0;
}
