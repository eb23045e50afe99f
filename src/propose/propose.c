/*
 * Offline mutation proposer: mutants of the EVOLVE blocks of a Python source.
 *
 * Sections, in order:
 *   options and input checks
 *   EVOLVE regions          marker comments -> line ranges
 *   sites                   every (operator, site, variant) candidate, in source order
 *   token mutations         number, compare, arith, bool -> a span and its replacement
 *   statement mutations     delete, duplicate, swap of whole logical lines
 *   edits                   the SEARCH/REPLACE text whose search part is unique
 *   selection               seeded interleaving of the operators, no-ops and duplicates dropped
 *   public API
 *
 * Every candidate becomes one change: the bytes src[a, b) replaced by repl.
 * The mutated code and the edit are both derived from that one change, so
 * applying the edit to the source yields the code by construction.
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/propose.h"
#include "autodev/pytok.h"

#define MAX_SOURCE ((size_t)16 << 20)
#define MAX_COUNT 1000
#define NOPS 7
#define SNIPPET_MAX 40
#define NUMBER_MAX 64
/* A search part never grows past this many lines; a mutant that would need more is skipped. */
#define MAX_SEARCH_LINES 60
/*
 * Bytes that uniqueness checks may scan, and bytes of mutated code that one
 * call may hand back, in all. Both bound the work on large or repetitive
 * sources (a file of one line repeated needs a whole-file scan per try);
 * past either, the call returns the mutants it has. Counted in bytes, not
 * time, so the result stays reproducible.
 */
#define SCAN_BUDGET ((uint64_t)512 << 20)
#define SCAN_CALL_COST 256     /* what a scan costs beyond its bytes */
#define OUTPUT_BUDGET ((size_t)256 << 20)

struct region {
    int first, last;    /* lines strictly between the markers, inclusive bounds */
};

struct cand {
    unsigned op;        /* index 0..NOPS-1 into the operator bits */
    unsigned variant;
    size_t site;        /* a token index or a logical line index */
};

struct cand_list {
    struct cand *v;
    size_t n, cap, next;
};

/* One candidate made concrete: src[a, b) becomes repl. */
struct change {
    size_t a, b;
    int line;
    struct ad_buf repl;
    struct ad_buf desc;
};

struct ctx {
    const char *src;
    size_t len;
    const char *path;
    struct ad_pytok tk;
    struct region *regions;
    size_t nregions;
    int whole_file;
    int crlf;           /* the first line ends with "\r\n" */
    struct cand_list groups[NOPS];
    uint64_t rng;
    uint64_t scan_left;     /* what is left of SCAN_BUDGET */
    size_t output;          /* bytes of code in the mutants so far */
    size_t unwritable;      /* changes dropped for want of a unique edit or budget */
};

const char *ad_mutation_op_name(enum ad_mutation_op op)
{
    switch (op) {
    case AD_MUT_NUMBER: return "number";
    case AD_MUT_COMPARE: return "compare";
    case AD_MUT_ARITH: return "arith";
    case AD_MUT_BOOL: return "bool";
    case AD_MUT_DELETE: return "delete";
    case AD_MUT_DUPLICATE: return "duplicate";
    case AD_MUT_SWAP: return "swap";
    case AD_MUT_ALL: return "all";
    }
    return "unknown";
}

void ad_mutants_free(struct ad_mutant *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].description);
        free(v[i].edit);
        free(v[i].code);
    }
    free(v);
}

/* ---- options and input checks --------------------------------------------- */

/*
 * Edits are applied line by line, lines ending at "\n", and the lines an
 * edit rewrites take the line end of the file's first line. With bare
 * "\r" line ends (classic Mac files) or a mix of "\n" and "\r\n" the
 * mutant and its applied edit could differ, so such sources are refused.
 */
static int check_line_ends(const char *code, size_t len, struct ad_err *err)
{
    int line = 1, crlf_line = 0, lf_line = 0;

    for (size_t i = 0; i < len; i++) {
        if (code[i] == '\r' && (i + 1 == len || code[i + 1] != '\n'))
            return ad_error(err, AD_EINVAL, "carriage return without a line feed at line %d "
                            "(only \\n and \\r\\n line ends are supported)", line);
        if (code[i] != '\n')
            continue;
        if (i > 0 && code[i - 1] == '\r')
            crlf_line = crlf_line ? crlf_line : line;
        else
            lf_line = lf_line ? lf_line : line;
        if (crlf_line && lf_line)
            return ad_error(err, AD_EINVAL, "mixed line ends: \\n at line %d, \\r\\n at "
                            "line %d", lf_line, crlf_line);
        line++;
    }
    return 0;
}

static int check_args(const char *code, size_t len, const struct ad_propose_opts *opts,
                      struct ad_mutant **out, size_t *n, struct ad_err *err)
{
    const char *nul;

    if (!opts || !out || !n || (!code && len))
        return ad_error(err, AD_EINVAL, "missing argument to propose mutants");
    if (opts->count < 1 || opts->count > MAX_COUNT)
        return ad_error(err, AD_EINVAL, "mutant count %d is out of range 1..%d", opts->count,
                        MAX_COUNT);
    if (opts->ops & ~(unsigned)AD_MUT_ALL)
        return ad_error(err, AD_EINVAL, "unknown mutation operator bits 0x%x",
                        opts->ops & ~(unsigned)AD_MUT_ALL);
    if (opts->path && (!opts->path[0] || strpbrk(opts->path, "\r\n")))
        return ad_error(err, AD_EINVAL, "invalid path '%s' for the edits", opts->path);
    if (len > MAX_SOURCE)
        return ad_error(err, AD_ETOOBIG, "source of %zu bytes exceeds the %zu-byte limit", len,
                        MAX_SOURCE);
    /* The mutants are C strings; Python refuses NUL bytes in source anyway. */
    nul = len ? memchr(code, '\0', len) : NULL;
    if (nul)
        return ad_error(err, AD_EINVAL, "source contains a nul byte at offset %zu",
                        (size_t)(nul - code));
    return check_line_ends(code, len, err);
}

/* ---- EVOLVE regions ------------------------------------------------------- */

/* 1 for a START marker comment, 2 for an END one, 0 for any other comment. */
static int marker_kind(const char *src, const struct ad_tok *t)
{
    static const char start[] = "EVOLVE-BLOCK-START", end[] = "EVOLVE-BLOCK-END";
    const char *p = src + t->off + 1, *e = src + t->off + t->len;

    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if ((size_t)(e - p) >= sizeof(start) - 1 && memcmp(p, start, sizeof(start) - 1) == 0)
        return 1;
    if ((size_t)(e - p) >= sizeof(end) - 1 && memcmp(p, end, sizeof(end) - 1) == 0)
        return 2;
    return 0;
}

static int add_region(struct ctx *c, int first, int last)
{
    void *p = realloc(c->regions, (c->nregions + 1) * sizeof(*c->regions));

    if (!p)
        return AD_ENOMEM;
    c->regions = p;
    c->regions[c->nregions].first = first;
    c->regions[c->nregions].last = last;
    c->nregions++;
    return 0;
}

static int find_regions(struct ctx *c, struct ad_err *err)
{
    int open_line = 0, rc;

    for (size_t i = 0; i < c->tk.ntoks; i++) {
        const struct ad_tok *t = &c->tk.toks[i];
        int kind = t->kind == AD_TOK_COMMENT ? marker_kind(c->src, t) : 0;

        if (kind == 1 && open_line)
            return ad_error(err, AD_EINVAL, "nested EVOLVE-BLOCK-START at line %d (block open "
                            "since line %d)", t->line, open_line);
        if (kind == 2 && !open_line)
            return ad_error(err, AD_EINVAL, "EVOLVE-BLOCK-END at line %d without a start",
                            t->line);
        if (kind == 1) {
            open_line = t->line;
        } else if (kind == 2) {
            rc = add_region(c, open_line + 1, t->line - 1);
            if (rc)
                return ad_error(err, rc, "out of memory");
            open_line = 0;
        }
    }
    if (open_line)
        return ad_error(err, AD_EINVAL, "EVOLVE-BLOCK-START at line %d is never closed",
                        open_line);
    if (c->nregions == 0) {
        c->whole_file = 1;
        rc = add_region(c, 1, INT32_MAX);
        if (rc)
            return ad_error(err, rc, "out of memory");
    }
    return 0;
}

/* Index of the region holding lines first..last, -1 when none does. */
static long region_of(const struct ctx *c, int first, int last)
{
    for (size_t i = 0; i < c->nregions; i++) {
        if (first >= c->regions[i].first && last <= c->regions[i].last)
            return (long)i;
    }
    return -1;
}

/* ---- sites ---------------------------------------------------------------- */

static const char *const keywords[] = {
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
    "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with",
    "yield",
};

static int is_keyword(const char *src, const struct ad_tok *t)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(keywords); i++) {
        if (ad_tok_is(src, t, keywords[i]))
            return 1;
    }
    return 0;
}

/* The significant token before i in the same logical line, or NULL. */
static const struct ad_tok *prev_sig(const struct ctx *c, size_t i)
{
    const struct ad_tok *t = &c->tk.toks[i];

    while (i-- > 0) {
        const struct ad_tok *p = &c->tk.toks[i];

        if (p->lline != t->lline)
            return NULL;
        if (ad_tok_significant(p))
            return p;
    }
    return NULL;
}

/* The significant token after i in the same logical line, or NULL. */
static const struct ad_tok *next_sig(const struct ctx *c, size_t i)
{
    const struct ad_tok *t = &c->tk.toks[i];

    while (++i < c->tk.ntoks) {
        const struct ad_tok *p = &c->tk.toks[i];

        if (p->lline != t->lline)
            return NULL;
        if (ad_tok_significant(p))
            return p;
    }
    return NULL;
}

/*
 * An operator is binary when an operand ends just before it: a name that
 * is not a keyword, a number, a string or a closing bracket. So `-1`,
 * `return -x`, `f(*args)`, `def f(a, *, b)` and `import *` are left alone.
 */
static int is_binary(const struct ctx *c, size_t i)
{
    const struct ad_tok *p = prev_sig(c, i);

    if (!p)
        return 0;
    switch (p->kind) {
    case AD_TOK_NUMBER:
    case AD_TOK_STRING:
        return 1;
    case AD_TOK_NAME:
        return !is_keyword(c->src, p);
    case AD_TOK_OP:
        return p->len == 1 && strchr(")]}", c->src[p->off]) != NULL;
    default:
        return 0;
    }
}

static const char *const compare_ops[][3] = {
    { "<", "<=", ">" }, { ">", ">=", "<" }, { "<=", "<", ">=" }, { ">=", ">", "<=" },
    { "==", "!=", NULL }, { "!=", "==", NULL },
};

/*
 * '%' is left alone: on strings it formats, and a swap would mostly make
 * type errors rather than interesting variants.
 */
static const char *const arith_ops[][3] = {
    { "+", "-", NULL }, { "-", "+", NULL }, { "*", "/", NULL }, { "/", "*", "//" },
    { "//", "/", NULL }, { "+=", "-=", NULL }, { "-=", "+=", NULL }, { "*=", "/=", NULL },
    { "/=", "*=", NULL },
};

/* Row of table whose first entry is token t, or -1. */
static int op_row(const char *src, const struct ad_tok *t, const char *const (*table)[3],
                  size_t rows)
{
    if (t->kind != AD_TOK_OP)
        return -1;
    for (size_t r = 0; r < rows; r++) {
        if (ad_tok_is(src, t, table[r][0]))
            return (int)r;
    }
    return -1;
}

static int push_cand(struct cand_list *l, unsigned op, unsigned variant, size_t site)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        void *p = realloc(l->v, ncap * sizeof(*l->v));

        if (!p)
            return AD_ENOMEM;
        l->v = p;
        l->cap = ncap;
    }
    l->v[l->n].op = op;
    l->v[l->n].variant = variant;
    l->v[l->n].site = site;
    l->n++;
    return 0;
}

/* Operator indices: the bit positions of enum ad_mutation_op, one candidate list each. */
enum { OPI_NUMBER, OPI_COMPARE, OPI_ARITH, OPI_BOOL, OPI_DELETE, OPI_DUPLICATE, OPI_SWAP };

static int push_variants(struct ctx *c, unsigned opi, unsigned nvariants, size_t site)
{
    int rc = 0;

    for (unsigned v = 0; v < nvariants && rc == 0; v++)
        rc = push_cand(&c->groups[opi], opi, v, site);
    return rc;
}

static int token_sites(struct ctx *c, size_t i, unsigned ops)
{
    const struct ad_tok *t = &c->tk.toks[i];
    const char *s = c->src;
    int rc = 0;

    if (t->lline < 0 || region_of(c, t->line, t->line) < 0)
        return 0;
    if (t->kind == AD_TOK_NUMBER && (ops & AD_MUT_NUMBER))
        rc = push_variants(c, OPI_NUMBER, 6, i);
    if (rc == 0 && (ops & AD_MUT_COMPARE)) {
        int row = op_row(s, t, compare_ops, AD_ARRAY_SIZE(compare_ops));
        const struct ad_tok *nx = next_sig(c, i);

        if (row >= 0)
            rc = push_variants(c, OPI_COMPARE, compare_ops[row][2] ? 2 : 1, i);
        else if (ad_tok_is(s, t, "is") && t->kind == AD_TOK_NAME)
            rc = push_variants(c, OPI_COMPARE, 1, i);
        else if (ad_tok_is(s, t, "not") && nx && ad_tok_is(s, nx, "in"))
            rc = push_variants(c, OPI_COMPARE, 1, i);
    }
    if (rc == 0 && (ops & AD_MUT_ARITH)) {
        int row = op_row(s, t, arith_ops, AD_ARRAY_SIZE(arith_ops));

        if (row >= 0 && (t->len == 2 || is_binary(c, i)))
            rc = push_variants(c, OPI_ARITH, arith_ops[row][2] ? 2 : 1, i);
    }
    if (rc == 0 && (ops & AD_MUT_BOOL) && t->kind == AD_TOK_NAME &&
        (ad_tok_is(s, t, "True") || ad_tok_is(s, t, "False") || ad_tok_is(s, t, "and") ||
         ad_tok_is(s, t, "or")))
        rc = push_variants(c, OPI_BOOL, 1, i);
    return rc;
}

static const char *const compound_kw[] = {
    "def", "class", "if", "elif", "else", "for", "while", "with", "try", "except", "finally",
    "async",
};

/* 1 when the line has a ':' outside brackets (a block header or an annotation). */
static int has_top_colon(const struct ctx *c, const struct ad_pyline *l)
{
    for (size_t i = l->tok_first; i < l->tok_end; i++) {
        const struct ad_tok *t = &c->tk.toks[i];

        if (t->depth == 0 && ad_tok_is(c->src, t, ":"))
            return 1;
    }
    return 0;
}

/* The last significant token of a logical line. */
static const struct ad_tok *last_sig(const struct ctx *c, const struct ad_pyline *l)
{
    for (size_t i = l->tok_end; i > l->tok_first; i--) {
        if (ad_tok_significant(&c->tk.toks[i - 1]))
            return &c->tk.toks[i - 1];
    }
    return NULL;
}

/*
 * A simple statement: not a block header (compound keyword, decorator,
 * soft-keyword match/case with a colon, or a line ending in ':'), and not
 * a __future__ import, which must stay first.
 */
static int is_simple(const struct ctx *c, const struct ad_pyline *l)
{
    const struct ad_tok *t = &c->tk.toks[l->tok_first], *last = last_sig(c, l), *nx;
    const char *s = c->src;

    if (l->tok_first >= l->tok_end || !last || ad_tok_is(s, last, ":"))
        return 0;
    if (ad_tok_is(s, t, "@"))
        return 0;
    for (size_t i = 0; i < AD_ARRAY_SIZE(compound_kw); i++) {
        if (ad_tok_is(s, t, compound_kw[i]))
            return 0;
    }
    if ((ad_tok_is(s, t, "match") || ad_tok_is(s, t, "case")) && has_top_colon(c, l))
        return 0;
    nx = next_sig(c, l->tok_first);
    return !(ad_tok_is(s, t, "from") && nx && ad_tok_is(s, nx, "__future__"));
}

static long line_region(const struct ctx *c, size_t li)
{
    const struct ad_pyline *l = &c->tk.lines[li];

    return region_of(c, l->first_line, l->last_line);
}

static int line_sites(struct ctx *c, size_t li, unsigned ops)
{
    const struct ad_pyline *l = &c->tk.lines[li];
    long r = line_region(c, li);
    int rc = 0;

    /* Only the first statement after a byte order mark starts mid-line: left alone. */
    if (r < 0 || !is_simple(c, l) || (l->start > 0 && c->src[l->start - 1] != '\n'))
        return 0;
    if (ops & AD_MUT_DELETE)
        rc = push_cand(&c->groups[OPI_DELETE], OPI_DELETE, 0, li);
    if (rc == 0 && (ops & AD_MUT_DUPLICATE))
        rc = push_cand(&c->groups[OPI_DUPLICATE], OPI_DUPLICATE, 0, li);
    if (rc == 0 && (ops & AD_MUT_SWAP) && li + 1 < c->tk.nlines &&
        c->tk.lines[li + 1].indent == l->indent && line_region(c, li + 1) == r &&
        is_simple(c, &c->tk.lines[li + 1]))
        rc = push_cand(&c->groups[OPI_SWAP], OPI_SWAP, 0, li);
    return rc;
}

static int find_sites(struct ctx *c, unsigned ops)
{
    int rc = 0;

    for (size_t i = 0; i < c->tk.ntoks && rc == 0; i++)
        rc = token_sites(c, i, ops);
    for (size_t li = 0; li < c->tk.nlines && rc == 0; li++)
        rc = line_sites(c, li, ops);
    return rc;
}

/* ---- token mutations ------------------------------------------------------ */

static int int_variant(unsigned long long v, unsigned variant, unsigned long long *nv)
{
    switch (variant) {
    case 0: *nv = v + 1; return 0;
    case 1: *nv = v - 1; return v > 0 ? 0 : 1;
    case 2: *nv = v * 2; return 0;
    case 3: *nv = v / 2; return 0;
    case 4: *nv = v == 0; return v <= 1 ? 0 : 1;   /* 0 <-> 1 */
    default: return 1;
    }
}

static int float_variant(double v, unsigned variant, double *nv)
{
    static const double factors[] = { 0.5, 1.1, 0.9, 2.0 };

    if (variant < AD_ARRAY_SIZE(factors)) {
        *nv = v * factors[variant];
        return 0;
    }
    /* Scaling zero gives zero: a zero weight is moved to small and to unit values. */
    if (v != 0.0 || variant > 5)
        return 1;
    *nv = variant == 4 ? 0.1 : 1.0;
    return 0;
}

static int add_binary(struct ad_buf *b, unsigned long long v, char x)
{
    char digits[65];
    int n = 0;

    do {
        digits[n++] = (char)('0' + (v & 1));
        v >>= 1;
    } while (v);
    if (ad_buf_addch(b, '0') || ad_buf_addch(b, x))
        return AD_ENOMEM;
    while (n > 0) {
        if (ad_buf_addch(b, digits[--n]))
            return AD_ENOMEM;
    }
    return 0;
}

/* An integer literal in the base (and letter case) of the original. */
static int format_int(struct ad_buf *b, unsigned long long v, int base, const char *orig,
                      size_t olen)
{
    int upper = 0;

    if (base == 10)
        return ad_buf_addf(b, "%llu", v);
    if (base == 2)
        return add_binary(b, v, orig[1]);
    if (base == 8)
        return ad_buf_addf(b, "0%c%llo", orig[1], v);
    for (size_t i = 2; i < olen; i++)
        upper |= orig[i] >= 'A' && orig[i] <= 'F';
    return ad_buf_addf(b, upper ? "0%c%llX" : "0%c%llx", orig[1], v);
}

/* A float literal that stays one: "2" becomes "2.0"; inf and nan are refused. */
static int format_float(struct ad_buf *b, double v)
{
    char tmp[64];

    if (!isfinite(v))
        return 1;
    snprintf(tmp, sizeof(tmp), "%.12g", v);
    if (ad_buf_adds(b, tmp))
        return AD_ENOMEM;
    if (!strpbrk(tmp, ".e") && ad_buf_adds(b, ".0"))
        return AD_ENOMEM;
    return 0;
}

/*
 * The literal's value without underscores. Returns 1 for a form not
 * mutated (imaginary, malformed, too long, too big), else *base is 0 for
 * a float (*d) or the integer base (*u).
 */
static int parse_number(const char *p, size_t n, int *base, unsigned long long *u, double *d)
{
    char clean[NUMBER_MAX + 1], *end;
    size_t k = 0, skip = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] != '_' && k < NUMBER_MAX)
            clean[k++] = p[i];
    }
    if (n > NUMBER_MAX || k == 0 || (clean[k - 1] | 0x20) == 'j')
        return 1;
    clean[k] = '\0';
    *base = 10;
    if (k > 2 && clean[0] == '0' && strchr("xXoObB", clean[1])) {
        *base = (clean[1] | 0x20) == 'x' ? 16 : (clean[1] | 0x20) == 'o' ? 8 : 2;
        skip = 2;
    } else if (strpbrk(clean, ".eE")) {
        *base = 0;
    }
    errno = 0;
    if (*base == 0)
        *d = strtod(clean, &end);
    else
        *u = strtoull(clean + skip, &end, *base);
    if (errno || *end || clean[skip] == '-' || clean[skip] == '+')
        return 1;
    return *base && *u > ((unsigned long long)1 << 62) ? 1 : 0;
}

static int mutate_number(const struct ctx *c, const struct ad_tok *t, unsigned variant,
                         struct change *ch)
{
    const char *p = c->src + t->off;
    unsigned long long u = 0, nu;
    double d = 0, nd;
    int base, rc;

    if (parse_number(p, t->len, &base, &u, &d))
        return 1;
    if (base == 0)
        rc = float_variant(d, variant, &nd) ? 1 : format_float(&ch->repl, nd);
    else
        rc = int_variant(u, variant, &nu) ? 1 : format_int(&ch->repl, nu, base, p, t->len);
    if (rc)
        return rc;
    return ad_buf_addf(&ch->desc, "number: %.*s -> %s at line %d", (int)t->len, p,
                       ch->repl.ptr, t->line);
}

/* `is` <-> `is not`, `not in` -> `in`; the span may cover two tokens. */
static int mutate_identity(const struct ctx *c, size_t i, struct change *ch)
{
    const struct ad_tok *t = &c->tk.toks[i], *nx = next_sig(c, i);
    const char *s = c->src;

    if (ad_tok_is(s, t, "is") && nx && ad_tok_is(s, nx, "not")) {
        ch->b = nx->off + nx->len;
        return ad_buf_adds(&ch->repl, "is");
    }
    if (ad_tok_is(s, t, "not")) {
        if (!nx)
            return 1;
        ch->b = nx->off + nx->len;
        return ad_buf_adds(&ch->repl, "in");
    }
    return ad_buf_adds(&ch->repl, "is not");
}

static int mutate_token(const struct ctx *c, const struct cand *cd, struct change *ch)
{
    const struct ad_tok *t = &c->tk.toks[cd->site];
    const char *s = c->src;
    int row, rc;

    ch->a = t->off;
    ch->b = t->off + t->len;
    ch->line = t->line;
    switch (cd->op) {
    case OPI_NUMBER:
        return mutate_number(c, t, cd->variant, ch);
    case OPI_COMPARE:
        row = op_row(s, t, compare_ops, AD_ARRAY_SIZE(compare_ops));
        rc = row >= 0 ? ad_buf_adds(&ch->repl, compare_ops[row][1 + cd->variant])
                      : mutate_identity(c, cd->site, ch);
        break;
    case OPI_ARITH:
        row = op_row(s, t, arith_ops, AD_ARRAY_SIZE(arith_ops));
        rc = ad_buf_adds(&ch->repl, arith_ops[row][1 + cd->variant]);
        break;
    default:   /* OPI_BOOL */
        rc = ad_buf_adds(&ch->repl, ad_tok_is(s, t, "True") ? "False"
                                    : ad_tok_is(s, t, "False") ? "True"
                                    : ad_tok_is(s, t, "and") ? "or" : "and");
        break;
    }
    if (rc)
        return rc;
    /* A two-token span ("is not", "not in") may hold a line break: named, not quoted. */
    if (ch->b > t->off + t->len)
        return ad_buf_addf(&ch->desc, "compare: '%s' -> '%s' at line %d",
                           ad_tok_is(s, t, "is") ? "is not" : "not in", ch->repl.ptr, t->line);
    return ad_buf_addf(&ch->desc, "%s: '%.*s' -> '%s' at line %d",
                       ad_mutation_op_name(1u << cd->op), (int)t->len, s + t->off, ch->repl.ptr,
                       t->line);
}

/* ---- statement mutations -------------------------------------------------- */

/* Bytes of the newline ending s[a, b): 0, 1 ("\n" or "\r") or 2 ("\r\n"). */
static size_t trailing_nl(const char *s, size_t a, size_t b)
{
    if (b > a + 1 && s[b - 2] == '\r' && s[b - 1] == '\n')
        return 2;
    return b > a && (s[b - 1] == '\n' || s[b - 1] == '\r') ? 1 : 0;
}

/*
 * The statement's first line, trimmed and cut to SNIPPET_MAX bytes, with
 * control and non-ASCII bytes as '?' so descriptions stay one clean line.
 */
static int add_snippet(struct ad_buf *b, const char *s, const struct ad_pyline *l,
                       const struct ad_tok *first)
{
    size_t p = first->off, n = 0;
    int rc = ad_buf_addch(b, '\'');

    for (; rc == 0 && p < l->end && s[p] != '\n' && s[p] != '\r' && n < SNIPPET_MAX; p++, n++) {
        unsigned char ch = (unsigned char)s[p];

        rc = ad_buf_addch(b, ch < 0x20 || ch >= 0x7f ? '?' : (char)ch);
    }
    while (rc == 0 && b->len > 1 && b->ptr[b->len - 1] == ' ') {
        b->len--;
        b->ptr[b->len] = '\0';
    }
    if (rc == 0 && n == SNIPPET_MAX && p < l->end && s[p] != '\n' && s[p] != '\r')
        rc = ad_buf_adds(b, "...");
    return rc ? rc : ad_buf_addch(b, '\'');
}

/* The only statement of its block: removing it would leave the block empty. */
static int alone_in_block(const struct ctx *c, size_t li)
{
    const struct ad_pyline *l = &c->tk.lines[li];

    if (l->indent == 0)
        return 0;
    return (li == 0 || c->tk.lines[li - 1].indent < l->indent) &&
           (li + 1 == c->tk.nlines || c->tk.lines[li + 1].indent < l->indent);
}

static int mutate_delete(const struct ctx *c, size_t li, struct change *ch)
{
    const struct ad_pyline *l = &c->tk.lines[li];
    const char *s = c->src;
    size_t ws = l->start, nl = trailing_nl(s, l->start, l->end);
    int pass = alone_in_block(c, li), rc = 0;

    if (pass) {
        while (ws < l->end && (s[ws] == ' ' || s[ws] == '\t' || s[ws] == '\f'))
            ws++;
        rc = ad_buf_add(&ch->repl, s + l->start, ws - l->start);
        if (rc == 0)
            rc = ad_buf_adds(&ch->repl, "pass");
        if (rc == 0)
            rc = ad_buf_add(&ch->repl, s + l->end - nl, nl);
    }
    if (rc == 0)
        rc = ad_buf_adds(&ch->desc, "delete: ");
    if (rc == 0)
        rc = add_snippet(&ch->desc, s, l, &c->tk.toks[l->tok_first]);
    if (rc == 0)
        rc = ad_buf_addf(&ch->desc, " at line %d%s", l->first_line,
                         pass ? " (replaced by pass)" : "");
    return rc;
}

static int mutate_duplicate(const struct ctx *c, size_t li, struct change *ch)
{
    const struct ad_pyline *l = &c->tk.lines[li];
    const char *s = c->src;
    size_t n = l->end - l->start;
    int rc;

    rc = ad_buf_add(&ch->repl, s + l->start, n);
    /* A last line without its newline needs one, in the file's style, between the copies. */
    if (rc == 0 && trailing_nl(s, l->start, l->end) == 0)
        rc = ad_buf_adds(&ch->repl, c->crlf ? "\r\n" : "\n");
    if (rc == 0)
        rc = ad_buf_add(&ch->repl, s + l->start, n);
    if (rc == 0)
        rc = ad_buf_adds(&ch->desc, "duplicate: ");
    if (rc == 0)
        rc = add_snippet(&ch->desc, s, l, &c->tk.toks[l->tok_first]);
    return rc ? rc : ad_buf_addf(&ch->desc, " at line %d", l->first_line);
}

/*
 * Swaps two adjacent statements; the newlines ending each stay where they
 * were, and so do the blank and comment lines between them.
 */
static int mutate_swap(const struct ctx *c, size_t li, struct change *ch)
{
    const struct ad_pyline *l1 = &c->tk.lines[li], *l2 = &c->tk.lines[li + 1];
    const char *s = c->src;
    size_t n1 = trailing_nl(s, l1->start, l1->end), n2 = trailing_nl(s, l2->start, l2->end);
    int rc;

    ch->b = l2->end;
    rc = ad_buf_add(&ch->repl, s + l2->start, l2->end - l2->start - n2);
    if (rc == 0)
        rc = ad_buf_add(&ch->repl, s + l1->end - n1, n1);
    if (rc == 0)
        rc = ad_buf_add(&ch->repl, s + l1->end, l2->start - l1->end);
    if (rc == 0)
        rc = ad_buf_add(&ch->repl, s + l1->start, l1->end - l1->start - n1);
    if (rc == 0)
        rc = ad_buf_add(&ch->repl, s + l2->end - n2, n2);
    if (rc == 0)
        rc = ad_buf_adds(&ch->desc, "swap: ");
    if (rc == 0)
        rc = add_snippet(&ch->desc, s, l1, &c->tk.toks[l1->tok_first]);
    if (rc == 0)
        rc = ad_buf_adds(&ch->desc, " <-> ");
    if (rc == 0)
        rc = add_snippet(&ch->desc, s, l2, &c->tk.toks[l2->tok_first]);
    return rc ? rc : ad_buf_addf(&ch->desc, " at lines %d and %d", l1->first_line,
                                 l2->first_line);
}

/* Fills ch for candidate cd: 0, 1 when the variant does not apply, or an error. */
static int materialize(const struct ctx *c, const struct cand *cd, struct change *ch)
{
    const struct ad_pyline *l;

    if (cd->op < OPI_DELETE)
        return mutate_token(c, cd, ch);
    l = &c->tk.lines[cd->site];
    ch->a = l->start;
    ch->b = l->end;
    ch->line = l->first_line;
    if (cd->op == OPI_DELETE)
        return mutate_delete(c, cd->site, ch);
    if (cd->op == OPI_DUPLICATE)
        return mutate_duplicate(c, cd->site, ch);
    return mutate_swap(c, cd->site, ch);
}

/* ---- edits ---------------------------------------------------------------- */

static size_t line_start(const char *s, size_t p)
{
    while (p > 0 && s[p - 1] != '\n')
        p--;
    return p;
}

static size_t line_end(const char *s, size_t len, size_t p)
{
    const char *nl = p < len ? memchr(s + p, '\n', len - p) : NULL;

    return nl ? (size_t)(nl - s) + 1 : len;
}

/*
 * 1 when needle occurs exactly once in the source, 0 when not, -1 when the
 * scan budget is spent. Plain substring occurrences count, overlapping
 * ones too: a search that is unique this way is unique however an applier
 * aligns it to lines. A file's last line without its newline still matches
 * a search line, so it counts as well.
 */
static int occurs_once(struct ctx *c, const char *needle, size_t n)
{
    const char *s = c->src, *p = s, *end = s + c->len, *hit;
    size_t k = n > 1 && needle[n - 2] == '\r' ? n - 2 : n - 1;   /* without its line end */
    int count = 0;

    if (n > 1 && needle[n - 1] == '\n' && c->len >= k && s[c->len - 1] != '\n' &&
        memcmp(end - k, needle, k) == 0)
        count++;
    while (count < 2 && p < end) {
        if (c->scan_left < (uint64_t)(end - p) + SCAN_CALL_COST)
            return -1;
        hit = memmem(p, (size_t)(end - p), needle, n);
        c->scan_left -= (uint64_t)((hit ? hit + n : end) - p) + SCAN_CALL_COST;
        if (!hit)
            break;
        count++;
        p = hit + 1;
    }
    return count == 1;
}

/*
 * A line an edit parser would take for a marker or a fence; such lines
 * cannot travel inside a SEARCH/REPLACE block, so the mutant is skipped.
 */
static int looks_like_marker(const char *p, size_t n)
{
    size_t k = 0;

    while (k < n && (p[k] == ' ' || p[k] == '\t'))
        k++;
    if (n - k >= 3 && (memcmp(p + k, "```", 3) == 0 || memcmp(p + k, "~~~", 3) == 0))
        return 1;
    if (n - k >= 5 && p[k] != '\0' && strchr("<=>", p[k]))
        return p[k + 1] == p[k] && p[k + 2] == p[k] && p[k + 3] == p[k] && p[k + 4] == p[k];
    return 0;
}

static int has_marker_line(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - p) : n;

        if (looks_like_marker(p + i, e - i))
            return 1;
        i = e + 1;
    }
    return 0;
}

/* White space as an edit parser sees it, vertical tab and form feed included. */
static int all_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strchr(" \t\f\v\r\n", p[i]) || p[i] == '\0')
            return 0;
    }
    return 1;
}

/* Widens [*la, *lb) by one line above, else below; 0 when it cannot grow. */
static int widen(const char *s, size_t len, size_t *la, size_t *lb, int above)
{
    if (above && *la > 0) {
        *la = line_start(s, *la - 1);
        return 1;
    }
    if (*lb < len) {
        *lb = line_end(s, len, *lb);
        return 1;
    }
    if (*la > 0) {
        *la = line_start(s, *la - 1);
        return 1;
    }
    return 0;
}

static int count_nl(const char *p, size_t n)
{
    int k = 0;

    for (const char *e = p + n; p < e; p++)
        k += *p == '\n';
    return k;
}

/*
 * Widens [*la, *lb) from the changed lines until the search is unique and
 * not all blank (an all-blank search reads as "create a new file").
 * Returns 0, 1 when no window of MAX_SEARCH_LINES lines will do, 2 when the
 * scan budget is spent.
 */
static int unique_window(struct ctx *c, size_t *la, size_t *lb)
{
    const char *s = c->src;
    int above = 1, lines = count_nl(s + *la, *lb - *la), once;

    for (;;) {
        once = all_blank(s + *la, *lb - *la) ? 0 : occurs_once(c, s + *la, *lb - *la);
        if (once != 0)
            return once < 0 ? 2 : 0;
        if (lines >= MAX_SEARCH_LINES || !widen(s, c->len, la, lb, above))
            return 1;
        above = !above;
        lines++;
    }
}

/*
 * One side of the block, a line per line. A search that runs to the end of
 * a file without a final newline is the file's last lines: both sides get
 * a newline to close their last line, so an empty replacement becomes one
 * empty line, as the text it stands for splits into.
 */
static int add_part(struct ad_buf *b, const char *p, size_t n, int at_eof_no_nl)
{
    int rc = ad_buf_add(b, p, n);

    if (rc == 0 && at_eof_no_nl)
        rc = ad_buf_addch(b, '\n');
    return rc;
}

/*
 * The SEARCH/REPLACE reply for ch: the changed lines plus neighbours, one
 * above then one below in turn, until the search occurs once in the file.
 * Returns 1 when the block cannot be written (no unique window, a
 * marker-like line), 2 when the scan budget is spent.
 */
static int build_edit(struct ctx *c, const struct change *ch, struct ad_buf *out)
{
    const char *s = c->src;
    size_t la = line_start(s, ch->a), lb = line_end(s, c->len, ch->b - 1);
    struct ad_buf repl = AD_BUF_INIT;
    int open_end, rc;

    rc = unique_window(c, &la, &lb);
    if (rc)
        return rc;
    open_end = lb == c->len && lb > la && s[lb - 1] != '\n';
    rc = ad_buf_add(&repl, s + la, ch->a - la);
    if (rc == 0)
        rc = ad_buf_add(&repl, ch->repl.ptr, ch->repl.len);
    if (rc == 0)
        rc = ad_buf_add(&repl, s + ch->b, lb - ch->b);
    if (rc == 0 && (has_marker_line(s + la, lb - la) || has_marker_line(repl.ptr, repl.len)))
        rc = 1;
    /* Whole lines in, whole lines out: a replacement must end where a line does. */
    if (rc == 0 && !open_end && repl.len > 0 && repl.ptr[repl.len - 1] != '\n')
        rc = 1;
    if (rc == 0)
        rc = ad_buf_addf(out, "%s\n```python\n<<<<<<< SEARCH\n", c->path);
    if (rc == 0)
        rc = add_part(out, s + la, lb - la, open_end);
    if (rc == 0)
        rc = ad_buf_adds(out, "=======\n");
    if (rc == 0)
        rc = add_part(out, repl.ptr, repl.len, open_end);
    if (rc == 0)
        rc = ad_buf_adds(out, ">>>>>>> REPLACE\n```\n");
    ad_buf_release(&repl);
    return rc;
}

/* ---- selection ------------------------------------------------------------ */

/* splitmix64: tiny, seedable with any value, identical on every platform. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *state, size_t n)
{
    return (size_t)(rng_next(state) % (uint64_t)n);
}

static void shuffle(struct cand_list *l, uint64_t *state)
{
    for (size_t i = l->n; i > 1; i--) {
        size_t j = rng_below(state, i);
        struct cand tmp = l->v[i - 1];

        l->v[i - 1] = l->v[j];
        l->v[j] = tmp;
    }
}

/*
 * The next candidate: an operator chosen uniformly among those with
 * candidates left, then that operator's next shuffled candidate. Operators
 * get an even share however many sites each has (a numeric-heavy skill is
 * not all number mutants). NULL when every list is spent.
 */
static const struct cand *next_cand(struct ctx *c)
{
    unsigned live[NOPS], nlive = 0;
    struct cand_list *l;

    for (unsigned i = 0; i < NOPS; i++) {
        if (c->groups[i].next < c->groups[i].n)
            live[nlive++] = i;
    }
    if (nlive == 0)
        return NULL;
    l = &c->groups[live[rng_below(&c->rng, nlive)]];
    return &l->v[l->next++];
}

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    return h;
}

struct picked {
    struct ad_mutant *v;
    uint64_t *hash;
    size_t *len;
    size_t n;
};

static int seen(const struct picked *pk, uint64_t h, const char *code, size_t len)
{
    for (size_t i = 0; i < pk->n; i++) {
        if (pk->hash[i] == h && pk->len[i] == len && memcmp(pk->v[i].code, code, len) == 0)
            return 1;
    }
    return 0;
}

static int make_code(const struct ctx *c, const struct change *ch, struct ad_buf *code)
{
    int rc = ad_buf_add(code, c->src, ch->a);

    if (rc == 0)
        rc = ad_buf_add(code, ch->repl.ptr, ch->repl.len);
    if (rc == 0)
        rc = ad_buf_add(code, c->src + ch->b, c->len - ch->b);
    return rc;
}

/*
 * Turns a change into the next mutant; 1 when it is a no-op, a duplicate
 * or unwritable, 2 when a budget is spent.
 */
static int accept(struct ctx *c, const struct cand *cd, struct change *ch,
                  struct picked *pk)
{
    struct ad_buf code = AD_BUF_INIT, edit = AD_BUF_INIT;
    struct ad_mutant *m = &pk->v[pk->n];
    uint64_t h;
    int rc;

    if (ch->b - ch->a == ch->repl.len && memcmp(c->src + ch->a, ch->repl.ptr, ch->repl.len) == 0)
        return 1;
    if (c->len - (ch->b - ch->a) + ch->repl.len > OUTPUT_BUDGET - c->output)
        return 2;
    /* The edit first: it is what fails on repetitive sources, and it costs less. */
    rc = build_edit(c, ch, &edit);
    c->unwritable += rc > 0;
    if (rc == 0 && c->scan_left < c->len)
        rc = 2;
    if (rc == 0) {
        c->scan_left -= c->len;
        rc = make_code(c, ch, &code);
    }
    h = rc ? 0 : fnv1a(code.ptr, code.len);
    if (rc == 0 && seen(pk, h, code.ptr, code.len))
        rc = 1;
    if (rc == 0) {
        pk->hash[pk->n] = h;
        pk->len[pk->n] = code.len;
        c->output += code.len;
        m->op = (enum ad_mutation_op)(1u << cd->op);
        m->line = ch->line;
        m->code = ad_buf_detach(&code, NULL);
        m->edit = ad_buf_detach(&edit, NULL);
        m->description = ad_buf_detach(&ch->desc, NULL);
        if (!m->code || !m->edit || !m->description)
            rc = AD_ENOMEM;
        pk->n++;
    }
    ad_buf_release(&code);
    ad_buf_release(&edit);
    return rc;
}

static int pick(struct ctx *c, int count, struct picked *pk)
{
    const struct cand *cd;
    struct change ch;
    int rc = 0;

    for (unsigned i = 0; i < NOPS; i++)
        shuffle(&c->groups[i], &c->rng);
    while (rc >= 0 && pk->n < (size_t)count) {
        cd = next_cand(c);
        if (!cd)
            break;
        memset(&ch, 0, sizeof(ch));
        ad_buf_init(&ch.repl, AD_BUF_DEFAULT_MAX);
        ad_buf_init(&ch.desc, AD_BUF_DEFAULT_MAX);
        rc = materialize(c, cd, &ch);
        if (rc == 0)
            rc = accept(c, cd, &ch, pk);
        ad_buf_release(&ch.repl);
        ad_buf_release(&ch.desc);
        if (rc == 2)
            break;
    }
    return rc < 0 ? rc : 0;
}

/* ---- public API ----------------------------------------------------------- */

static int first_line_crlf(const char *s, size_t len)
{
    const char *nl = len ? memchr(s, '\n', len) : NULL;

    return nl && nl > s && nl[-1] == '\r';
}

static void ctx_release(struct ctx *c)
{
    ad_pytok_release(&c->tk);
    free(c->regions);
    for (unsigned i = 0; i < NOPS; i++)
        free(c->groups[i].v);
}

static int picked_init(struct picked *pk, int count)
{
    pk->n = 0;
    pk->v = calloc((size_t)count, sizeof(*pk->v));
    pk->hash = calloc((size_t)count, sizeof(*pk->hash));
    pk->len = calloc((size_t)count, sizeof(*pk->len));
    return pk->v && pk->hash && pk->len ? 0 : AD_ENOMEM;
}

/* Why nothing came out: no site at all, or sites whose edits could not be written. */
static int none_found(const struct ctx *c, struct ad_err *err)
{
    const char *where = c->whole_file ? "file" : "EVOLVE blocks";

    if (c->unwritable == 0)
        return ad_error(err, AD_ENOTFOUND, "no mutation sites in the %s", where);
    return ad_error(err, AD_ENOTFOUND, "no mutation in the %s can be written as an edit (no "
                    "unique search within %d lines, or a line that reads as a marker)", where,
                    MAX_SEARCH_LINES);
}

int ad_propose_mutants(const char *code, size_t len, const struct ad_propose_opts *opts,
                       struct ad_mutant **out, size_t *n, struct ad_err *err)
{
    struct ctx c = { 0 };
    struct picked pk = { 0 };
    int rc;

    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    rc = check_args(code, len, opts, out, n, err);
    if (rc)
        return rc;
    c.src = len ? code : "";
    c.len = len;
    c.path = opts->path ? opts->path : "skill.py";
    c.rng = opts->seed;
    c.scan_left = SCAN_BUDGET;
    c.crlf = first_line_crlf(c.src, len);
    rc = ad_pytok_run(c.src, len, &c.tk, err);
    if (rc == 0)
        rc = find_regions(&c, err);
    if (rc)
        goto out;
    rc = find_sites(&c, opts->ops ? opts->ops : (unsigned)AD_MUT_ALL);
    if (rc == 0)
        rc = picked_init(&pk, opts->count);
    if (rc == 0)
        rc = pick(&c, opts->count, &pk);
    if (rc)
        rc = ad_error(err, rc, "out of memory proposing mutants");
    else if (pk.n == 0)
        rc = none_found(&c, err);
    if (rc)
        goto out;
    *out = pk.v;
    *n = pk.n;
    pk.v = NULL;
out:
    ad_mutants_free(pk.v, pk.n);
    free(pk.hash);
    free(pk.len);
    ctx_release(&c);
    return rc;
}
