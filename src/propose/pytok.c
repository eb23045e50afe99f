#include "compat.h"

#include <limits.h>

#include "autodev/pytok.h"

/*
 * f-strings nest (f"{f'{x}'}"); past this depth nested strings are scanned
 * as plain ones, so hostile input cannot exhaust the stack.
 */
#define FSTRING_MAX_NEST 16

struct scan {
    const char *s;
    size_t len;
    size_t pos;
    int line;
    int depth;              /* bracket depth */
    size_t pending_start;   /* where the next logical line would start */
    long cur;               /* the open logical line, -1 for none */
    struct ad_pytok *out;
    size_t tcap, lcap;
};

static const char *const ops3[] = { "**=", "//=", ">>=", "<<=", "..." };
static const char *const ops2[] = {
    "==", "!=", "<=", ">=", "<<", ">>", "**", "//", "->", ":=",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
};
static const char ops1[] = "+-*/%@&|^~<>()[]{},:;.=!";

const char *ad_tok_kind_name(enum ad_tok_kind k)
{
    switch (k) {
    case AD_TOK_WS: return "WS";
    case AD_TOK_NAME: return "NAME";
    case AD_TOK_NUMBER: return "NUMBER";
    case AD_TOK_STRING: return "STRING";
    case AD_TOK_OP: return "OP";
    case AD_TOK_COMMENT: return "COMMENT";
    case AD_TOK_NEWLINE: return "NEWLINE";
    case AD_TOK_NL: return "NL";
    case AD_TOK_ERROR: return "ERRORTOKEN";
    }
    return "?";
}

int ad_tok_significant(const struct ad_tok *t)
{
    return t->kind == AD_TOK_NAME || t->kind == AD_TOK_NUMBER || t->kind == AD_TOK_STRING ||
           t->kind == AD_TOK_OP || t->kind == AD_TOK_ERROR;
}

int ad_tok_is(const char *src, const struct ad_tok *t, const char *s)
{
    size_t n = strlen(s);

    return t->len == n && memcmp(src + t->off, s, n) == 0;
}

void ad_pytok_release(struct ad_pytok *t)
{
    if (!t)
        return;
    free(t->toks);
    free(t->lines);
    t->toks = NULL;
    t->lines = NULL;
    t->ntoks = 0;
    t->nlines = 0;
}

/* ---- character classes ---------------------------------------------------- */

static int is_name_start(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_newline(unsigned char c)
{
    return c == '\n' || c == '\r';
}

/* Length of the newline at p ("\r\n" counts as one), 0 when there is none. */
static size_t newline_len(const char *s, size_t len, size_t p)
{
    if (p >= len)
        return 0;
    if (s[p] == '\r' && p + 1 < len && s[p + 1] == '\n')
        return 2;
    return is_newline((unsigned char)s[p]) ? 1 : 0;
}

/* Newlines in s[a, b), counting "\r\n" once, as the line numbers do. */
static int count_lines(const char *s, size_t a, size_t b)
{
    int n = 0;

    for (size_t p = a; p < b; p++) {
        if (s[p] == '\n' || (s[p] == '\r' && (p + 1 >= b || s[p + 1] != '\n')))
            n++;
    }
    return n;
}

/* ---- strings -------------------------------------------------------------- */

/*
 * A string prefix is one to two letters from r, b, u, f (and t, Python
 * 3.14's template strings) in any case, in the combinations Python allows.
 */
static int is_string_prefix(const char *p, size_t n, int *fmt)
{
    char a, b;

    *fmt = 0;
    if (n == 0 || n > 2)
        return n == 0;
    a = (char)(p[0] | 0x20);
    b = n == 2 ? (char)(p[1] | 0x20) : 0;
    if (n == 1) {
        *fmt = a == 'f' || a == 't';
        return a == 'r' || a == 'b' || a == 'u' || a == 'f' || a == 't';
    }
    if (a == 'r') {
        a = b;
        b = 'r';
    }
    if (b != 'r')
        return 0;
    *fmt = a == 'f' || a == 't';
    return a == 'b' || a == 'f' || a == 't';
}

static size_t scan_string(const char *s, size_t len, size_t p, int fmt, int nest,
                          unsigned *flags);

/* A string nested in an f-string expression: its prefix letters lie just before p. */
static size_t scan_nested_string(const char *s, size_t len, size_t p, size_t expr_start,
                                 int nest, unsigned *flags)
{
    size_t b = p;
    int fmt = 0;

    while (b > expr_start && p - b < 2 && is_name_start((unsigned char)s[b - 1]))
        b--;
    if (b > expr_start && is_name_char((unsigned char)s[b - 1]))
        b = p;   /* the letters end a longer name: no prefix */
    if (!is_string_prefix(s + b, p - b, &fmt))
        fmt = 0;
    return scan_string(s, len, p, fmt && nest < FSTRING_MAX_NEST, nest + 1, flags);
}

static int at_close(const char *s, size_t len, size_t p, char q, int triple)
{
    if (s[p] != q)
        return 0;
    return !triple || (p + 2 < len && s[p + 1] == q && s[p + 2] == q);
}

static size_t scan_fexpr(const char *s, size_t len, size_t p, char q, int triple, int nest,
                         unsigned *flags);

/*
 * The format spec after ':' in a replacement field: literal text with
 * nested replacement fields, ending at '}' (consumed) or before the
 * string's closing quote or a newline of a single-quoted string.
 */
static size_t scan_fspec(const char *s, size_t len, size_t p, char q, int triple, int nest,
                         unsigned *flags)
{
    while (p < len) {
        unsigned char c = (unsigned char)s[p];

        if (c == '}')
            return p + 1;
        if (at_close(s, len, p, q, triple) || (!triple && is_newline(c)))
            return p;
        if (c == '{')
            p = scan_fexpr(s, len, p + 1, q, triple, nest + 1, flags);
        else
            p++;
    }
    return p;
}

/*
 * The expression of a replacement field, p just after its '{'. Returns the
 * offset after its closing '}', or where the string or line ends first.
 * Nested strings may reuse the outer quote (Python 3.12, PEP 701).
 */
static size_t scan_fexpr(const char *s, size_t len, size_t p, char q, int triple, int nest,
                         unsigned *flags)
{
    size_t start = p;
    int depth = 0;

    while (p < len) {
        unsigned char c = (unsigned char)s[p];

        if (!triple && is_newline(c))
            return p;
        if (c == '"' || c == '\'') {
            if (nest >= FSTRING_MAX_NEST && at_close(s, len, p, q, triple))
                return p;
            p = scan_nested_string(s, len, p, start, nest, flags);
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if ((c == ')' || c == ']') && depth > 0) {
            depth--;
        } else if (c == '}') {
            if (depth == 0)
                return p + 1;
            depth--;
        } else if (c == ':' && depth == 0 && !(p + 1 < len && s[p + 1] == '=')) {
            return scan_fspec(s, len, p + 1, q, triple, nest, flags);
        }
        p++;
    }
    return p;
}

/*
 * The string whose opening quote is at p (the prefix already consumed).
 * Returns the offset after the closing quote; an unterminated string ends
 * at the end of the input (triple-quoted) or before its line's newline.
 */
static size_t scan_string(const char *s, size_t len, size_t p, int fmt, int nest,
                          unsigned *flags)
{
    char q = s[p];
    int triple = p + 2 < len && s[p + 1] == q && s[p + 2] == q;

    p += triple ? 3 : 1;
    while (p < len) {
        unsigned char c = (unsigned char)s[p];

        if (at_close(s, len, p, q, triple))
            return p + (triple ? 3 : 1);
        if (c == '\\') {
            /* An escape takes the next byte, or the whole "\r\n" it precedes. */
            size_t nl = newline_len(s, len, p + 1);

            p += 1 + (nl ? nl : p + 1 < len);
            continue;
        }
        if (!triple && is_newline(c))
            break;
        if (fmt && c == '{' && p + 1 < len && s[p + 1] == '{')
            p += 2;
        else if (fmt && c == '{')
            p = scan_fexpr(s, len, p + 1, q, triple, nest, flags);
        else
            p++;
    }
    *flags |= AD_TOKF_UNTERMINATED;
    return p > len ? len : p;
}

/* ---- numbers -------------------------------------------------------------- */

static size_t scan_digits(const char *s, size_t len, size_t p, int hex)
{
    while (p < len && (is_digit((unsigned char)s[p]) || s[p] == '_' ||
                       (hex && s[p] != '\0' && strchr("abcdefABCDEF", s[p]))))
        p++;
    return p;
}

/* A number at p: 0x/0o/0b integers, decimals with fraction, exponent, 'j'. */
static size_t scan_number(const char *s, size_t len, size_t p)
{
    char x = p + 1 < len ? (char)(s[p + 1] | 0x20) : 0;

    if (s[p] == '0' && (x == 'x' || x == 'o' || x == 'b'))
        return scan_digits(s, len, p + 2, x == 'x');
    p = scan_digits(s, len, p, 0);
    if (p < len && s[p] == '.')
        p = scan_digits(s, len, p + 1, 0);
    if (p < len && (s[p] | 0x20) == 'e') {
        size_t q = p + 1;

        if (q < len && (s[q] == '+' || s[q] == '-'))
            q++;
        if (q < len && is_digit((unsigned char)s[q]))
            p = scan_digits(s, len, q, 0);
    }
    if (p < len && (s[p] | 0x20) == 'j')
        p++;
    return p;
}

/* ---- the token stream ----------------------------------------------------- */

static int push_tok(struct scan *sc, enum ad_tok_kind kind, size_t len, unsigned flags)
{
    struct ad_pytok *o = sc->out;
    struct ad_tok *t;

    if (o->ntoks == sc->tcap) {
        size_t ncap = sc->tcap ? sc->tcap * 2 : 256;
        void *p = realloc(o->toks, ncap * sizeof(*o->toks));

        if (!p)
            return AD_ENOMEM;
        o->toks = p;
        sc->tcap = ncap;
    }
    t = &o->toks[o->ntoks++];
    t->kind = kind;
    t->flags = flags;
    t->off = sc->pos;
    t->len = len;
    t->line = sc->line;
    t->depth = sc->depth;
    t->lline = sc->cur;
    sc->line += count_lines(sc->s, sc->pos, sc->pos + len);
    sc->pos += len;
    return 0;
}

/* Column of the first token of the line starting at p, tabs to multiples of 8. */
static int indent_at(const char *s, size_t len, size_t p)
{
    int col = 0;

    for (; p < len; p++) {
        if (s[p] == ' ')
            col++;
        else if (s[p] == '\t')
            col = (col / 8 + 1) * 8;
        else if (s[p] == '\f')
            col = 0;
        else
            break;
        if (col > INT_MAX / 2)
            break;
    }
    return col;
}

/* A significant token opens a logical line when none is open. */
static int open_line(struct scan *sc)
{
    struct ad_pytok *o = sc->out;
    struct ad_pyline *l;

    if (sc->cur >= 0)
        return 0;
    if (o->nlines == sc->lcap) {
        size_t ncap = sc->lcap ? sc->lcap * 2 : 64;
        void *p = realloc(o->lines, ncap * sizeof(*o->lines));

        if (!p)
            return AD_ENOMEM;
        o->lines = p;
        sc->lcap = ncap;
    }
    l = &o->lines[o->nlines];
    l->start = sc->pending_start;
    l->end = sc->len;
    l->first_line = sc->line - count_lines(sc->s, sc->pending_start, sc->pos);
    l->last_line = sc->line;
    l->indent = indent_at(sc->s, sc->len, sc->pending_start);
    l->tok_first = o->ntoks;
    l->tok_end = o->ntoks;
    sc->cur = (long)o->nlines++;
    return 0;
}

static void close_line(struct scan *sc)
{
    struct ad_pyline *l = &sc->out->lines[sc->cur];

    l->end = sc->pos;
    l->last_line = sc->line - (sc->pos > 0 && newline_len(sc->s, sc->len, sc->pos - 1) ? 1 : 0);
    l->tok_end = sc->out->ntoks;
    sc->cur = -1;
    sc->pending_start = sc->pos;
}

static int emit_newline(struct scan *sc, size_t n)
{
    int logical = sc->depth == 0 && sc->cur >= 0;
    int rc = push_tok(sc, logical ? AD_TOK_NEWLINE : AD_TOK_NL, n, 0);

    if (rc)
        return rc;
    if (logical)
        close_line(sc);
    else if (sc->cur < 0)
        sc->pending_start = sc->pos;
    return 0;
}

static size_t op_len(const char *s, size_t len, size_t p)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(ops3); i++) {
        if (p + 3 <= len && memcmp(s + p, ops3[i], 3) == 0)
            return 3;
    }
    for (size_t i = 0; i < AD_ARRAY_SIZE(ops2); i++) {
        if (p + 2 <= len && memcmp(s + p, ops2[i], 2) == 0)
            return 2;
    }
    return s[p] != '\0' && strchr(ops1, s[p]) ? 1 : 0;
}

static int emit_op(struct scan *sc, size_t n)
{
    char c = sc->s[sc->pos];
    int rc;

    rc = open_line(sc);
    if (rc == 0)
        rc = push_tok(sc, AD_TOK_OP, n, 0);
    if (n == 1 && (c == '(' || c == '[' || c == '{'))
        sc->depth++;
    else if (n == 1 && (c == ')' || c == ']' || c == '}') && sc->depth > 0)
        sc->depth--;
    return rc;
}

/* A name, or a string when the name is a prefix followed by a quote. */
static int emit_name_or_string(struct scan *sc)
{
    const char *s = sc->s;
    size_t p = sc->pos, e = p;
    unsigned flags = 0;
    int fmt = 0, rc;

    while (e < sc->len && is_name_char((unsigned char)s[e]))
        e++;
    rc = open_line(sc);
    if (rc)
        return rc;
    if (e < sc->len && (s[e] == '"' || s[e] == '\'') && is_string_prefix(s + p, e - p, &fmt)) {
        e = scan_string(s, sc->len, e, fmt, 0, &flags);
        return push_tok(sc, AD_TOK_STRING, e - p, flags);
    }
    return push_tok(sc, AD_TOK_NAME, e - p, 0);
}

static int emit_simple(struct scan *sc, enum ad_tok_kind kind, size_t n)
{
    int rc = open_line(sc);

    return rc ? rc : push_tok(sc, kind, n, 0);
}

/* A backslash: a line continuation when a newline follows, else an error byte. */
static int emit_backslash(struct scan *sc)
{
    size_t nl = newline_len(sc->s, sc->len, sc->pos + 1);

    if (nl)
        return push_tok(sc, AD_TOK_WS, 1 + nl, 0);
    return emit_simple(sc, AD_TOK_ERROR, 1);
}

static int scan_one(struct scan *sc)
{
    const char *s = sc->s;
    size_t p = sc->pos, e, nl;
    unsigned char c = (unsigned char)s[p];
    unsigned flags = 0;

    if (c == ' ' || c == '\t' || c == '\f') {
        for (e = p; e < sc->len && (s[e] == ' ' || s[e] == '\t' || s[e] == '\f'); e++)
            ;
        return push_tok(sc, AD_TOK_WS, e - p, 0);
    }
    nl = newline_len(s, sc->len, p);
    if (nl)
        return emit_newline(sc, nl);
    if (c == '#') {
        for (e = p; e < sc->len && !is_newline((unsigned char)s[e]); e++)
            ;
        return push_tok(sc, AD_TOK_COMMENT, e - p, 0);
    }
    if (c == '\\')
        return emit_backslash(sc);
    if (is_digit(c) || (c == '.' && p + 1 < sc->len && is_digit((unsigned char)s[p + 1])))
        return emit_simple(sc, AD_TOK_NUMBER, scan_number(s, sc->len, p) - p);
    if (is_name_start(c))
        return emit_name_or_string(sc);
    if (c == '"' || c == '\'') {
        int rc = open_line(sc);

        e = scan_string(s, sc->len, p, 0, 0, &flags);
        return rc ? rc : push_tok(sc, AD_TOK_STRING, e - p, flags);
    }
    e = op_len(s, sc->len, p);
    if (e)
        return emit_op(sc, e);
    return emit_simple(sc, AD_TOK_ERROR, 1);
}

int ad_pytok_run(const char *src, size_t len, struct ad_pytok *out, struct ad_err *err)
{
    struct scan sc = { src, len, 0, 1, 0, 0, -1, out, 0, 0 };
    int rc = 0;

    out->toks = NULL;
    out->lines = NULL;
    out->ntoks = 0;
    out->nlines = 0;
    if (len > (size_t)INT_MAX)
        return ad_error(err, AD_ETOOBIG, "source of %zu bytes is too big to tokenise", len);
    /* A UTF-8 byte order mark is not part of the first statement. */
    if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0) {
        rc = push_tok(&sc, AD_TOK_WS, 3, 0);
        sc.pending_start = 3;
    }
    while (rc == 0 && sc.pos < len)
        rc = scan_one(&sc);
    if (rc == 0 && sc.cur >= 0)
        close_line(&sc);
    if (rc) {
        ad_pytok_release(out);
        return ad_error(err, rc, "out of memory tokenising python source");
    }
    return 0;
}
