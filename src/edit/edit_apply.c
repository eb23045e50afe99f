/*
 * Applying edit blocks: to a text in memory (the matching cascade) and to
 * the files of a directory (all or nothing).
 *
 * Sections:
 *   1. lines      file, search and replace texts as line views with hashes
 *   2. matching   KMP over lines under three equalities, the four steps
 *   3. output     writing the new text; keeping the file's line ends
 *   4. feedback   what a retry prompt needs when a block does not apply
 *   5. one text   ad_edit_apply_text
 *   6. paths      what a target's name may be, before and after links are followed
 *   7. planning   the targets of a set: loaded once, checked against the disk and
 *                 each other before anything is written
 *   8. writing    temporaries and backups first, then the renames, undone on failure
 *
 * Matching works on lines, never on bytes: the search is a sequence of
 * lines and a match is a run of whole lines of the file. Every step finds
 * all matches with Knuth-Morris-Pratt over lines (each comparison first
 * checks a 64-bit hash), so a search costs time linear in the file, and a
 * search found twice is reported with both places instead of being applied
 * to the first.
 */
#include "compat.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/edit.h"
#include "autodev/error.h"

#define EDIT_MAX_FILE ((size_t)16 << 20)
#define MAX_HITS 8
#define FEEDBACK_LINES 8
#define FEEDBACK_WIDTH 160

/* ---- 1. lines ------------------------------------------------------------- */

struct fline {
    const char *p;
    size_t len;      /* without "\n" and a "\r" before it */
    size_t rlen;     /* without trailing white space; 0 for a blank line */
    size_t ind;      /* leading white space, within rlen */
    uint64_t hr;     /* hash of p[0, rlen) */
    uint64_t hs;     /* hash of p[ind, rlen) */
};

struct ftext {
    struct fline *v;
    size_t n;
    int crlf;        /* the first line end is "\r\n" */
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void fline_set(struct fline *l, const char *p, size_t len)
{
    l->p = p;
    l->len = len;
    l->rlen = len;
    while (l->rlen > 0 && is_ws(p[l->rlen - 1]))
        l->rlen--;
    l->ind = 0;
    while (l->ind < l->rlen && is_ws(p[l->ind]))
        l->ind++;
    l->hr = hash(p, l->rlen);
    l->hs = hash(p + l->ind, l->rlen - l->ind);
}

static int ftext_split(const char *t, size_t len, struct ftext *out)
{
    const char *s, *end = t + len, *nl;
    size_t n = 0;

    out->n = 0;
    out->crlf = 0;
    for (s = t; s < end; s = nl + 1) {
        nl = memchr(s, '\n', (size_t)(end - s));
        n++;
        if (!nl)
            break;
    }
    out->v = malloc((n ? n : 1) * sizeof(*out->v));
    if (!out->v)
        return AD_ENOMEM;
    for (s = t; s < end; s = nl + 1) {
        size_t l;

        nl = memchr(s, '\n', (size_t)(end - s));
        l = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (nl && l > 0 && s[l - 1] == '\r') {
            l--;
            out->crlf |= out->n == 0;
        }
        fline_set(&out->v[out->n++], s, l);
        if (!nl)
            break;
    }
    return 0;
}

/* ---- 2. matching ------------------------------------------------------------ */

enum eqmode {
    EQ_EXACT,     /* the same bytes */
    EQ_RSTRIP,    /* the same but for trailing white space */
    EQ_STRIP,     /* the same but for leading and trailing white space */
};

static int line_eq(const struct fline *a, const struct fline *b, enum eqmode m)
{
    size_t n;

    switch (m) {
    case EQ_EXACT:
        return a->len == b->len && a->hr == b->hr && memcmp(a->p, b->p, a->len) == 0;
    case EQ_RSTRIP:
        return a->rlen == b->rlen && a->hr == b->hr && memcmp(a->p, b->p, a->rlen) == 0;
    case EQ_STRIP:
        n = a->rlen - a->ind;
        return n == b->rlen - b->ind && a->hs == b->hs &&
               memcmp(a->p + a->ind, b->p + b->ind, n) == 0;
    }
    return 0;
}

/* A sequence of lines, possibly a subsequence picked by idx. */
struct seq {
    const struct fline *v;
    const size_t *idx;
    size_t n;
};

static const struct fline *at(const struct seq *s, size_t i)
{
    return &s->v[s->idx ? s->idx[i] : i];
}

struct hits {
    size_t count;
    size_t pos[MAX_HITS];   /* the first matches, as indices into the haystack */
    int capped;             /* counting stopped past MAX_HITS: count is a lower bound */
};

/*
 * Every place pat occurs in hay at or after from (overlapping ones too),
 * counting only those verify accepts when it is given. Verifying costs the
 * length of pat, so with verify the count stops past MAX_HITS: a file of
 * many equal lines must not make it quadratic.
 */
static int find_all(const struct seq *hay, size_t from, const struct seq *pat, enum eqmode m,
                    int (*verify)(void *, size_t), void *ctx, struct hits *h)
{
    size_t *fail, k = 0;

    h->count = 0;
    h->capped = 0;
    if (pat->n == 0 || from >= hay->n || pat->n > hay->n - from)
        return 0;
    fail = malloc(pat->n * sizeof(*fail));
    if (!fail)
        return AD_ENOMEM;
    fail[0] = 0;
    for (size_t i = 1; i < pat->n; i++) {
        while (k > 0 && !line_eq(at(pat, i), at(pat, k), m))
            k = fail[k - 1];
        if (line_eq(at(pat, i), at(pat, k), m))
            k++;
        fail[i] = k;
    }
    k = 0;
    for (size_t i = from; i < hay->n; i++) {
        while (k > 0 && !line_eq(at(hay, i), at(pat, k), m))
            k = fail[k - 1];
        if (line_eq(at(hay, i), at(pat, k), m))
            k++;
        if (k < pat->n)
            continue;
        if (!verify || verify(ctx, i + 1 - pat->n)) {
            if (h->count < MAX_HITS)
                h->pos[h->count] = i + 1 - pat->n;
            h->count++;
        }
        if (verify && h->count > MAX_HITS) {
            h->capped = 1;
            break;
        }
        k = fail[k - 1];
    }
    free(fail);
    return 0;
}

struct actx {
    const char *text;
    size_t len;
    struct ftext f, s, r;
    const struct ad_edit_block *b;
    int elision_unpaired;   /* the search has "..." and the replace has none */
    size_t budget;          /* line checks left to the indentation step */
};

/*
 * How to build the new text: file lines [a, b) give way to the replace
 * lines, re-indented (dir +1: d prefixed, -1: d removed), with the replace
 * line rk standing for file lines [ma, mb) when elide is set.
 */
struct plan {
    size_t a, b;
    enum ad_edit_match how;
    int dir;
    const char *d;
    size_t dlen;
    int elide;
    size_t rk, ma, mb;
};

static struct seq whole(const struct ftext *t)
{
    struct seq s = { t->v, NULL, t->n };

    return s;
}

/* Steps 1 and 1b: the search lines as they are, or but for trailing white space. */
static int step_exact(struct actx *c, enum eqmode m, struct plan *pl, struct hits *h)
{
    struct seq hay = whole(&c->f), pat = whole(&c->s);
    int rc = find_all(&hay, 0, &pat, m, NULL, NULL, h);

    if (!rc && h->count == 1) {
        pl->a = h->pos[0];
        pl->b = pl->a + c->s.n;
        pl->how = AD_EDIT_MATCH_EXACT;
    }
    return rc;
}

/* The offset that turns s's indentation into f's: f = d + s (+1) or s = d + f (-1). */
static int first_offset(const struct fline *f, const struct fline *s, struct plan *pl)
{
    if (f->ind >= s->ind && memcmp(f->p + f->ind - s->ind, s->p, s->ind) == 0) {
        pl->dir = 1;
        pl->d = f->p;
        pl->dlen = f->ind - s->ind;
        return 1;
    }
    if (s->ind > f->ind && memcmp(s->p + s->ind - f->ind, f->p, f->ind) == 0) {
        pl->dir = -1;
        pl->d = s->p;
        pl->dlen = s->ind - f->ind;
        return 1;
    }
    return 0;
}

static int same_offset(const struct fline *f, const struct fline *s, const struct plan *pl)
{
    const struct fline *big = pl->dir > 0 ? f : s, *small = pl->dir > 0 ? s : f;

    return big->ind == small->ind + pl->dlen && memcmp(big->p, pl->d, pl->dlen) == 0 &&
           memcmp(big->p + pl->dlen, small->p, small->ind) == 0;
}

/* Whether the search at file line p differs only by one indentation offset. */
static int indent_offset(struct actx *c, size_t p, struct plan *pl)
{
    pl->dir = 0;
    for (size_t i = 0; i < c->s.n; i++) {
        const struct fline *s = &c->s.v[i], *f = &c->f.v[p + i];

        if (c->budget == 0)
            return 0;
        c->budget--;
        if (s->rlen == 0)
            continue;
        if (pl->dir == 0 ? !first_offset(f, s, pl) : !same_offset(f, s, pl))
            return 0;
    }
    return pl->dir != 0;
}

static int indent_verify(void *ctx, size_t pos)
{
    struct plan tmp;

    return indent_offset(ctx, pos, &tmp);
}

/*
 * Step 2: a uniform indentation offset; the replacement moves by the same.
 * Candidates come from matching with indentation ignored; checking each
 * costs the search's length, so the checks share a budget linear in the
 * sizes: a file built to make every candidate fail late gives up this step
 * instead of taking quadratic time.
 */
static int step_indent(struct actx *c, struct plan *pl, struct hits *h)
{
    struct seq hay = whole(&c->f), pat = whole(&c->s);
    int rc;

    c->budget = 64 * (c->f.n + c->s.n) + ((size_t)1 << 20);
    rc = find_all(&hay, 0, &pat, EQ_STRIP, indent_verify, c, h);
    if (!rc && h->count == 1) {
        c->budget = c->s.n;
        indent_offset(c, h->pos[0], pl);
        pl->a = h->pos[0];
        pl->b = pl->a + c->s.n;
        pl->how = AD_EDIT_MATCH_INDENT;
    }
    return rc;
}

/* The indices of the non-blank lines of t; *n of them. */
static int nonblank(const struct ftext *t, size_t **idx, size_t *n)
{
    *n = 0;
    *idx = malloc((t->n ? t->n : 1) * sizeof(**idx));
    if (!*idx)
        return AD_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].rlen > 0)
            (*idx)[(*n)++] = i;
    }
    return 0;
}

/* Step 3: blank lines ignored on both sides; the match spans first to last line. */
static int step_blank(struct actx *c, struct plan *pl, struct hits *h)
{
    size_t *fi = NULL, *si = NULL, nf, ns;
    struct seq hay, pat;
    int rc;

    h->count = 0;
    rc = nonblank(&c->f, &fi, &nf);
    if (!rc)
        rc = nonblank(&c->s, &si, &ns);
    if (rc || ns == 0)
        goto out;
    hay = (struct seq){ c->f.v, fi, nf };
    pat = (struct seq){ c->s.v, si, ns };
    rc = find_all(&hay, 0, &pat, EQ_RSTRIP, NULL, NULL, h);
    if (!rc && h->count == 1) {
        pl->a = fi[h->pos[0]];
        pl->b = fi[h->pos[0] + ns - 1] + 1;
        pl->how = AD_EDIT_MATCH_BLANKLINES;
    }
    for (size_t i = 0; !rc && i < h->count && i < MAX_HITS; i++)
        h->pos[i] = fi[h->pos[i]];
out:
    free(fi);
    free(si);
    return rc;
}

static int is_ellipsis(const struct fline *l)
{
    return l->rlen - l->ind == 3 && memcmp(l->p + l->ind, "...", 3) == 0;
}

static size_t find_ellipsis(const struct ftext *t)
{
    size_t i = 0;

    while (i < t->n && !is_ellipsis(&t->v[i]))
        i++;
    return i;
}

static int has_nonblank(const struct fline *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].rlen > 0)
            return 1;
    }
    return 0;
}

/*
 * Step 4: a search line "..." stands for lines of the file kept as they
 * are. The prefix before it must occur once; the suffix once after that.
 */
static int step_elision(struct actx *c, struct plan *pl, struct hits *h)
{
    size_t k = find_ellipsis(&c->s), rk = find_ellipsis(&c->r);
    struct seq hay = whole(&c->f), pre, suf;
    int rc;

    h->count = 0;
    if (k == c->s.n || !has_nonblank(c->s.v, k) ||
        !has_nonblank(c->s.v + k + 1, c->s.n - k - 1))
        return 0;
    if (rk == c->r.n) {
        c->elision_unpaired = 1;
        return 0;
    }
    pre = (struct seq){ c->s.v, NULL, k };
    suf = (struct seq){ c->s.v + k + 1, NULL, c->s.n - k - 1 };
    rc = find_all(&hay, 0, &pre, EQ_RSTRIP, NULL, NULL, h);
    if (rc || h->count != 1)
        return rc;
    pl->a = h->pos[0];
    pl->ma = pl->a + k;
    rc = find_all(&hay, pl->ma, &suf, EQ_RSTRIP, NULL, NULL, h);
    if (rc || h->count != 1)
        return rc;
    pl->mb = h->pos[0];
    pl->b = pl->mb + suf.n;
    pl->elide = 1;
    pl->rk = rk;
    pl->how = AD_EDIT_MATCH_ELISION;
    return 0;
}

/* The cascade; h->count says what came of it: 0 nowhere, 1 found, more ambiguous. */
static int cascade(struct actx *c, struct plan *pl, struct hits *h)
{
    int rc;

    memset(pl, 0, sizeof(*pl));
    rc = step_exact(c, EQ_EXACT, pl, h);
    if (rc || h->count)
        return rc;
    rc = step_exact(c, EQ_RSTRIP, pl, h);
    if (rc || h->count)
        return rc;
    rc = step_indent(c, pl, h);
    if (rc || h->count)
        return rc;
    rc = step_blank(c, pl, h);
    if (rc || h->count)
        return rc;
    return step_elision(c, pl, h);
}

/* ---- 3. output -------------------------------------------------------------- */

/* The bytes of file lines [a, e), line ends included. */
static int add_range(struct ad_buf *out, const struct actx *c, size_t a, size_t e)
{
    const char *s = a < c->f.n ? c->f.v[a].p : c->text + c->len;
    const char *t = e < c->f.n ? c->f.v[e].p : c->text + c->len;

    return t > s ? ad_buf_add(out, s, (size_t)(t - s)) : 0;
}

static int add_repl_line(struct ad_buf *out, const struct fline *r, const struct plan *pl,
                         const char *eol)
{
    const char *p = r->p;
    size_t n = r->len, k = 0;
    int rc = 0;

    if (r->rlen > 0 && pl->dir > 0) {
        rc = ad_buf_add(out, pl->d, pl->dlen);
    } else if (r->rlen > 0 && pl->dir < 0) {
        if (n >= pl->dlen && memcmp(p, pl->d, pl->dlen) == 0)
            k = pl->dlen;
        else
            k = r->ind < pl->dlen ? r->ind : pl->dlen;
    }
    if (!rc)
        rc = ad_buf_add(out, p + k, n - k);
    return rc ? rc : ad_buf_adds(out, eol);
}

/* A file that ended without a line end still does. */
static void keep_last_line_end(const struct actx *c, struct ad_buf *out, size_t start)
{
    if (c->len == 0 || c->text[c->len - 1] == '\n')
        return;
    if (out->len > start && out->ptr[out->len - 1] == '\n') {
        out->len--;
        if (c->f.crlf && out->len > start && out->ptr[out->len - 1] == '\r')
            out->len--;
        out->ptr[out->len] = '\0';
    }
}

static int write_plan(const struct actx *c, const struct plan *pl, struct ad_buf *out)
{
    const char *eol = c->f.crlf ? "\r\n" : "\n";
    size_t start = out->len;
    int rc = add_range(out, c, 0, pl->a);

    for (size_t i = 0; !rc && i < c->r.n; i++) {
        if (pl->elide && i == pl->rk)
            rc = add_range(out, c, pl->ma, pl->mb);
        else
            rc = add_repl_line(out, &c->r.v[i], pl, eol);
    }
    if (!rc)
        rc = add_range(out, c, pl->b, c->f.n);
    if (!rc)
        keep_last_line_end(c, out, start);
    return rc;
}

/* ---- 4. feedback ------------------------------------------------------------ */

static const char *path_of(const struct ad_edit_block *b)
{
    return b->path ? b->path : "the file";
}

static int quote_line(struct ad_buf *fb, size_t lineno, const struct fline *l)
{
    size_t n = l->len < FEEDBACK_WIDTH ? l->len : FEEDBACK_WIDTH;

    if (lineno)
        return ad_buf_addf(fb, "%5zu | %.*s%s\n", lineno, (int)n, l->p,
                           n < l->len ? " [...]" : "");
    return ad_buf_addf(fb, "    %.*s%s\n", (int)n, l->p, n < l->len ? " [...]" : "");
}

static const struct fline *first_nonblank(const struct ftext *t)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].rlen > 0)
            return &t->v[i];
    }
    return t->n ? &t->v[0] : NULL;
}

/* Marks the file lines that occur in the search (ignoring indentation), by hash. */
static int mark_shared(const struct actx *c, unsigned char *in)
{
    size_t cap = 16, mask;
    uint64_t *set;

    while (cap < 2 * c->s.n)
        cap *= 2;
    mask = cap - 1;
    set = calloc(cap, sizeof(*set));
    if (!set)
        return AD_ENOMEM;
    /* 0 marks an empty slot; a line hashing to 0 is simply never marked. */
    for (size_t i = 0; i < c->s.n; i++) {
        uint64_t h = c->s.v[i].hs;
        size_t k = (size_t)h & mask;

        while (c->s.v[i].rlen > 0 && h && set[k] && set[k] != h)
            k = (k + 1) & mask;
        if (c->s.v[i].rlen > 0 && h)
            set[k] = h;
    }
    for (size_t j = 0; j < c->f.n; j++) {
        uint64_t h = c->f.v[j].hs;
        size_t k = (size_t)h & mask;

        while (set[k] && set[k] != h)
            k = (k + 1) & mask;
        in[j] = c->f.v[j].rlen > 0 && h && set[k] == h;
    }
    free(set);
    return 0;
}

/* The window of w file lines sharing the most lines with the search: its start and score. */
static int closest(const struct actx *c, size_t w, size_t *best, size_t *score)
{
    unsigned char *in = malloc(c->f.n ? c->f.n : 1);
    size_t sum = 0;
    int rc;

    *best = 0;
    *score = 0;
    if (!in)
        return AD_ENOMEM;
    rc = mark_shared(c, in);
    for (size_t j = 0; !rc && j < c->f.n; j++) {
        sum += in[j];
        if (j >= w)
            sum -= in[j - w];
        if (sum > *score) {
            *score = sum;
            *best = j + 1 > w ? j + 1 - w : 0;
        }
    }
    free(in);
    return rc;
}

static int feedback_head(const struct actx *c, struct ad_buf *fb, const char *what)
{
    const struct fline *first = first_nonblank(&c->s);
    int rc = ad_buf_addf(fb, "The SEARCH part of the edit to %s starting with\n",
                         path_of(c->b));

    if (!rc && first)
        rc = quote_line(fb, 0, first);
    return rc ? rc : ad_buf_addf(fb, "%s\n", what);
}

/* Lined up with the window at file line best, the first search line that differs. */
static int first_difference(const struct actx *c, size_t best, size_t w, struct ad_buf *fb)
{
    for (size_t i = 0; i < w && i < c->s.n; i++) {
        if (line_eq(&c->f.v[best + i], &c->s.v[i], EQ_STRIP))
            continue;
        return ad_buf_addf(fb, "Line %zu of the SEARCH part differs from line %zu of the file:"
                           "\n    %.*s\n", i + 1, best + i + 1,
                           (int)(c->s.v[i].len < FEEDBACK_WIDTH ? c->s.v[i].len
                                                                : FEEDBACK_WIDTH),
                           c->s.v[i].p);
    }
    return 0;
}

static int feedback_missing(const struct actx *c, struct ad_buf *fb)
{
    size_t w = c->s.n < FEEDBACK_LINES ? c->s.n : FEEDBACK_LINES, best, score, e;
    int rc = feedback_head(c, fb, "was not found in the file.");

    if (!rc && c->elision_unpaired)
        rc = ad_buf_adds(fb, "Its SEARCH part has a \"...\" line, so its REPLACE part needs "
                         "one too, standing for the lines kept between them.\n");
    if (!rc)
        rc = closest(c, w ? w : 1, &best, &score);
    if (rc)
        return rc;
    if (score == 0)
        return ad_buf_addf(fb, "None of its lines occur in %s (ignoring indentation). Check "
                           "the file name and copy the lines to change from the file.\n",
                           path_of(c->b));
    e = best + w < c->f.n ? best + w : c->f.n;
    rc = ad_buf_addf(fb, "The most similar lines of %s are lines %zu-%zu:\n", path_of(c->b),
                     best + 1, e);
    for (size_t j = best; !rc && j < e; j++)
        rc = quote_line(fb, j + 1, &c->f.v[j]);
    if (!rc)
        rc = first_difference(c, best, e - best, fb);
    return rc ? rc : ad_buf_adds(fb, "Copy the lines to change exactly as they are in the "
                                 "file, with enough of them to be unique.\n");
}

static void hit_list(const struct hits *h, char *out, size_t size)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < h->count && i < MAX_HITS && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%zu", i ? ", " : "", h->pos[i] + 1);
    if (h->count > MAX_HITS && n < size)
        snprintf(out + n, size - n, ", ...");
}

/* ---- 5. one text ------------------------------------------------------------ */

struct apply_stats {
    int removed, added;
};

static int clamp_int(size_t n)
{
    return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

static int fail_state(struct actx *c, const struct hits *h, struct ad_buf *fb, struct ad_err *err)
{
    char list[128];
    char count[48];
    int rc;

    hit_list(h, list, sizeof(list));
    if (h->capped)
        snprintf(count, sizeof(count), "more than %d", MAX_HITS);
    else
        snprintf(count, sizeof(count), "%zu", h->count);
    rc = fb ? feedback_head(c, fb, "matches more than one place.") : 0;
    if (!rc && fb)
        ad_buf_addf(fb, "It matches %s places (lines %s): add surrounding lines to make it "
                    "unique.\n", count, list);
    return ad_error(err, AD_ESTATE, "search text matches %s places (lines %s): add surrounding "
                    "lines to make it unique", count, list);
}

static int fail_missing(struct actx *c, struct ad_buf *fb, struct ad_err *err)
{
    int rc = fb ? feedback_missing(c, fb) : 0;

    if (rc == AD_ENOMEM)
        return ad_error(err, rc, "out of memory writing feedback");
    return ad_error(err, AD_ENOTFOUND, "search text not found in '%s'%s", path_of(c->b),
                    c->elision_unpaired ? " (the replace part lacks the \"...\" line)" : "");
}

static int apply_replace(struct actx *c, struct ad_buf *out, enum ad_edit_match *how,
                         struct ad_buf *fb, struct apply_stats *st, struct ad_err *err)
{
    struct plan pl;
    struct hits h;
    int rc = cascade(c, &pl, &h);

    if (rc)
        return ad_error(err, rc, "out of memory matching the search text");
    if (h.count > 1)
        return fail_state(c, &h, fb, err);
    if (h.count == 0)
        return fail_missing(c, fb, err);
    rc = write_plan(c, &pl, out);
    if (rc)
        return ad_error(err, rc, "cannot build the new content of '%s': %s", path_of(c->b),
                        ad_strerror(rc));
    *how = pl.how;
    st->removed = clamp_int(pl.b - pl.a - (pl.elide ? pl.mb - pl.ma : 0));
    st->added = clamp_int(c->r.n - (pl.elide ? 1 : 0));
    return 0;
}

/* Same lines but for trailing white space; a blank text is no content. */
static int same_content(const struct ftext *a, const struct ftext *b)
{
    size_t na = a->n, nb = b->n;

    while (na > 0 && a->v[na - 1].rlen == 0)
        na--;
    while (nb > 0 && b->v[nb - 1].rlen == 0)
        nb--;
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        if (!line_eq(&a->v[i], &b->v[i], EQ_RSTRIP))
            return 0;
    }
    return 1;
}

static int apply_create(struct actx *c, struct ad_buf *out, enum ad_edit_match *how,
                        struct ad_buf *fb, struct apply_stats *st, struct ad_err *err)
{
    const char *repl = c->b->replace;
    size_t rlen = strlen(repl);
    int rc;

    if (c->b->kind == AD_EDIT_NEW_FILE && c->text && has_nonblank(c->f.v, c->f.n) &&
        !same_content(&c->f, &c->r)) {
        if (fb)
            ad_buf_addf(fb, "%s already exists with other content. To change it, use a "
                        "SEARCH/REPLACE block whose SEARCH part copies the lines to change.\n",
                        path_of(c->b));
        return ad_error(err, AD_EEXIST, "'%s' already exists with different content",
                        path_of(c->b));
    }
    if (c->b->kind == AD_EDIT_NEW_FILE && c->text && has_nonblank(c->f.v, c->f.n))
        rc = ad_buf_add(out, c->text, c->len);   /* already there: nothing changes */
    else
        rc = ad_buf_add(out, repl, rlen);
    if (rc)
        return ad_error(err, rc, "cannot build the new content of '%s': %s", path_of(c->b),
                        ad_strerror(rc));
    *how = AD_EDIT_MATCH_CREATE;
    st->removed = c->b->kind == AD_EDIT_WHOLE_FILE ? clamp_int(c->f.n) : 0;
    st->added = c->b->kind == AD_EDIT_WHOLE_FILE || !has_nonblank(c->f.v, c->f.n)
                    ? clamp_int(c->r.n) : 0;
    return 0;
}

static int apply_kind(struct actx *c, struct ad_buf *out, enum ad_edit_match *how,
                      struct ad_buf *fb, struct apply_stats *st, struct ad_err *err)
{
    const struct ad_edit_block *b = c->b;

    if (b->kind == AD_EDIT_NEW_FILE || b->kind == AD_EDIT_WHOLE_FILE)
        return apply_create(c, out, how, fb, st, err);
    if (b->kind != AD_EDIT_REPLACE)
        return ad_error(err, AD_EINVAL, "unknown edit kind %d", (int)b->kind);
    if (!b->search[0])
        return ad_error(err, AD_EINVAL, "empty search text in the edit at line %d of the reply",
                        b->line);
    if (!c->text) {
        if (fb)
            ad_buf_addf(fb, "%s does not exist. To create it, use a block with an empty "
                        "SEARCH part.\n", path_of(b));
        return ad_error(err, AD_ENOTFOUND, "'%s' does not exist", path_of(b));
    }
    return apply_replace(c, out, how, fb, st, err);
}

static int apply_block(const char *text, size_t len, const struct ad_edit_block *b,
                       struct ad_buf *out, enum ad_edit_match *how, struct ad_buf *fb,
                       struct apply_stats *st, struct ad_err *err)
{
    struct actx c;
    size_t old = out->len, fb_old = fb ? fb->len : 0;
    int rc;

    memset(&c, 0, sizeof(c));
    c.text = text;
    c.len = text ? len : 0;
    c.b = b;
    *how = AD_EDIT_MATCH_NONE;
    st->removed = st->added = 0;
    if (!b || !b->search || !b->replace)
        return ad_error(err, AD_EINVAL, "edit block without search or replace text");
    rc = ftext_split(text ? text : "", c.len, &c.f);
    if (!rc)
        rc = ftext_split(b->search, strlen(b->search), &c.s);
    if (!rc)
        rc = ftext_split(b->replace, strlen(b->replace), &c.r);
    if (rc)
        rc = ad_error(err, rc, "out of memory splitting lines");
    else
        rc = apply_kind(&c, out, how, fb, st, err);
    if (rc) {
        out->len = old;
        if (out->alloc)
            out->ptr[old] = '\0';
        *how = AD_EDIT_MATCH_NONE;
    } else if (fb) {
        fb->len = fb_old;
        if (fb->alloc)
            fb->ptr[fb_old] = '\0';
    }
    free(c.f.v);
    free(c.s.v);
    free(c.r.v);
    return rc;
}

int ad_edit_apply_text(const char *text, size_t len, const struct ad_edit_block *b,
                       struct ad_buf *out, enum ad_edit_match *how, struct ad_buf *feedback,
                       struct ad_err *err)
{
    struct apply_stats st;
    enum ad_edit_match h;

    return apply_block(text, len, b, out, how ? how : &h, feedback, &st, err);
}

/* ---- 6. paths --------------------------------------------------------------- */

/*
 * Where version control systems keep their own state. Their configuration
 * runs commands (git's core.fsmonitor and hooks, the [hooks] of an hgrc,
 * jj's and pijul's configs, fossil's settings), so an edit written there
 * runs the writer's code at the next "git status". Lower case: compared
 * after fold_name. "git~1" is the short name Windows gives ".git".
 */
static const char *const vcs_names[] = {
    ".git", "git~1", ".hg", ".svn", ".bzr", "_darcs", "cvs", ".jj", ".pijul", "_fossil_",
    ".fslckout",
};

#define FOLD_MAX 16          /* longer than every name of vcs_names */
#define TEMP_NAME_MAX 242    /* ".<200 bytes of the name>.autodev-<pid>-<n>" */

/* U+200C-200F, U+202A-202E, U+206A-206F: the code points HFS+ leaves out of a name. */
static int hfs_ignored(unsigned cp)
{
    return (cp >= 0x200c && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x206a && cp <= 0x206f);
}

/*
 * A code point at u[0, n) that a lenient file system does not keep as it
 * is: returns its length in bytes and sets *c to the ASCII letter it folds
 * to (U+017F, long s, is "s" to Unicode case folding; the other letter
 * folding to ASCII, U+212A Kelvin, is in no name of vcs_names) or to 0 when
 * it is left out (the ones HFS+ ignores, and U+FEFF); returns 0 for
 * anything else.
 */
static size_t special_cp(const unsigned char *u, size_t n, char *c)
{
    unsigned cp;

    if (n >= 2 && u[0] == 0xc5 && u[1] == 0xbf) {
        *c = 's';
        return 2;
    }
    if (n < 3 || (u[0] != 0xe2 && u[0] != 0xef) || (u[1] & 0xc0) != 0x80 ||
        (u[2] & 0xc0) != 0x80)
        return 0;
    cp = (unsigned)(u[0] & 0x0f) << 12 | (unsigned)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
    *c = 0;
    return cp == 0xfeff || hfs_ignored(cp) ? 3 : 0;
}

/*
 * The name p[0, n) has on the most lenient file system that could hold the
 * tree: ASCII case folded (vfat, NTFS, HFS+, APFS, ext4 casefold), with
 * special_cp's code points folded or left out, cut at a ':' (an NTFS
 * stream: ".git::$INDEX_ALLOCATION"), trailing dots and spaces dropped (as
 * Win32 does). Look-alike letters of other scripts (Cyrillic "і") are
 * other bytes and another file on every file system, so they stay as they
 * are. Returns 0 when the folded name does not fit out: then it is no name
 * of vcs_names.
 */
static size_t fold_name(const char *p, size_t n, char out[FOLD_MAX])
{
    const unsigned char *u = (const unsigned char *)p;
    size_t k = 0;

    for (size_t i = 0; i < n && u[i] != ':';) {
        char c = (char)u[i];
        size_t len = special_cp(u + i, n - i, &c);

        i += len ? len : 1;
        if (len && !c)
            continue;
        if (k == FOLD_MAX)
            return 0;
        out[k++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    while (k > 0 && (out[k - 1] == '.' || out[k - 1] == ' '))
        k--;
    return k;
}

/* The name of vcs_names that p[0, n) folds to, or NULL. */
static const char *vcs_name(const char *p, size_t n)
{
    char f[FOLD_MAX];
    size_t k = fold_name(p, n, f);

    for (size_t i = 0; i < AD_ARRAY_SIZE(vcs_names) && k > 0; i++) {
        if (strlen(vcs_names[i]) == k && memcmp(vcs_names[i], f, k) == 0)
            return vcs_names[i];
    }
    return NULL;
}

/*
 * The first component of path that names version control metadata, or
 * NULL. A backslash separates too: it does on Windows, where the tree may
 * be checked out next.
 */
static const char *vcs_in(const char *path)
{
    while (*path) {
        size_t n = strcspn(path, "/\\");
        const char *name = vcs_name(path, n);

        if (name)
            return name;
        path += n;
        path += *path != '\0';
    }
    return NULL;
}

/*
 * Checks rel by its spelling and puts its plain form in out ("." and empty
 * components dropped). A ".." is refused even where it would climb back
 * in: the rule is about the form, so no resolution can get it wrong.
 */
static int norm_rel(const char *rel, struct ad_buf *out, struct ad_err *err)
{
    const char *s = rel, *vcs;

    if (!rel[0])
        return ad_error(err, AD_EINVAL, "empty file path");
    if (rel[0] == '/')
        return ad_error(err, AD_EPERM, "path '%s' is absolute", rel);
    if (rel[strlen(rel) - 1] == '/')
        return ad_error(err, AD_EINVAL, "path '%s' names a directory", rel);
    for (const char *p = rel; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return ad_error(err, AD_EINVAL, "path '%s' has a control character", rel);
    }
    vcs = vcs_in(rel);
    if (vcs)
        return ad_error(err, AD_EPERM, "path '%s' is version control metadata ('%s')", rel,
                        vcs);
    while (*s) {
        size_t n = strcspn(s, "/");

        if (n == 2 && s[0] == '.' && s[1] == '.')
            return ad_error(err, AD_EPERM, "path '%s' contains '..'", rel);
        if (n > NAME_MAX)
            return ad_error(err, AD_ETOOBIG, "path '%s' has a name longer than %d bytes", rel,
                            NAME_MAX);
        if (n > 0 && !(n == 1 && s[0] == '.') &&
            ((out->len && ad_buf_addch(out, '/')) || ad_buf_add(out, s, n)))
            return ad_error(err, AD_ENOMEM, "out of memory");
        s += n;
        s += *s == '/';
    }
    if (out->len == 0)
        return ad_error(err, AD_EINVAL, "path '%s' names the repository itself", rel);
    return 0;
}

int ad_edit_check_path(const char *path, struct ad_err *err)
{
    struct ad_buf b = AD_BUF_INIT;
    int rc;

    if (!path)
        return ad_error(err, AD_EINVAL, "no file path");
    rc = norm_rel(path, &b, err);
    ad_buf_release(&b);
    return rc;
}

static int inside(const char *root, const char *real)
{
    size_t n = strlen(root);

    if (n == 1 && root[0] == '/')
        return 1;
    return strncmp(real, root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/*
 * The deepest existing ancestor of full (itself if it exists), resolved;
 * *keep is how much of full it covers. A name that exists but does not
 * resolve is a broken symbolic link, refused.
 */
static int resolve_existing(char *full, const char *rel, char **real, size_t *keep,
                            struct ad_err *err)
{
    size_t n = strlen(full);
    struct stat st;

    for (;;) {
        char *slash;

        *real = realpath(full, NULL);
        if (*real)
            break;
        if (errno == ENOMEM)
            return ad_error(err, AD_ENOMEM, "out of memory resolving '%s'", rel);
        if (errno == ENAMETOOLONG)
            return ad_error(err, AD_ETOOBIG, "path '%s' is too long", rel);
        if (errno == EACCES)
            return ad_error(err, AD_EPERM, "cannot resolve '%s': %s", rel, strerror(errno));
        if (errno != ENOENT && errno != ENOTDIR)
            return ad_error(err, AD_EIO, "cannot resolve '%s': %s", rel, strerror(errno));
        if (lstat(full, &st) == 0)
            return ad_error(err, AD_EPERM, "path '%s' goes through a broken symbolic link", rel);
        slash = strrchr(full, '/');
        if (!slash || slash == full)
            return ad_error(err, AD_EIO, "cannot resolve '%s'", rel);
        *slash = '\0';
        n = (size_t)(slash - full);
    }
    *keep = n;
    return 0;
}

/*
 * What the path the write reaches must satisfy once links are followed:
 * inside the root, no metadata name below it (a link called "cfg" may lead
 * into .git), and room for the name of a temporary beside it.
 */
static int check_real(const char *rootreal, const char *real, const char *rel,
                      struct ad_err *err)
{
    size_t rootlen = strlen(rootreal), dirlen = (size_t)(strrchr(real, '/') - real);
    const char *vcs;

    if (!inside(rootreal, real))
        return ad_error(err, AD_EPERM, "path '%s' resolves outside the repository", rel);
    vcs = vcs_in(real + rootlen);
    if (vcs)
        return ad_error(err, AD_EPERM, "path '%s' resolves into version control metadata "
                        "('%s')", rel, vcs);
    if (strlen(real) >= PATH_MAX || dirlen + 1 + TEMP_NAME_MAX >= PATH_MAX)
        return ad_error(err, AD_ETOOBIG, "path '%s' is too long", rel);
    return 0;
}

/*
 * The absolute target of plain (rel in plain form) under rootreal; *have is
 * how much of it exists. Messages name rel, as the block wrote it.
 */
static int resolve(const char *rootreal, const char *plain, const char *rel, char **out,
                   size_t *have, struct ad_err *err)
{
    struct ad_buf full = AD_BUF_INIT, res = AD_BUF_INIT;
    char *real = NULL;
    size_t keep = 0, flen;
    struct stat st;
    int rc;

    if (strlen(rootreal) + 1 + strlen(plain) >= PATH_MAX)
        return ad_error(err, AD_ETOOBIG, "path '%s' is too long", rel);
    rc = ad_buf_addf(&full, "%s/%s", rootreal, plain);
    if (!rc)
        rc = ad_buf_add(&res, full.ptr, full.len);   /* resolve_existing cuts full */
    if (rc) {
        rc = ad_error(err, rc, "out of memory");
        goto out;
    }
    flen = full.len;
    rc = resolve_existing(full.ptr, rel, &real, &keep, err);
    if (rc)
        goto out;
    if (keep < flen && (stat(real, &st) != 0 || !S_ISDIR(st.st_mode))) {
        rc = ad_error(err, AD_EINVAL, "path '%s' goes through something that is not a "
                      "directory", rel);
        goto out;
    }
    /* The resolved ancestor, then the part of the name that does not exist yet. */
    ad_buf_reset(&full);
    *have = strlen(real);
    rc = ad_buf_adds(&full, real);
    if (!rc)
        rc = ad_buf_add(&full, res.ptr + keep, flen - keep);
    if (rc)
        rc = ad_error(err, rc, "out of memory");
    else
        rc = check_real(rootreal, full.ptr, rel, err);
    if (!rc)
        *out = ad_buf_detach(&full, NULL);
out:
    free(real);
    ad_buf_release(&full);
    ad_buf_release(&res);
    return rc;
}

/* ---- 7. planning ------------------------------------------------------------ */

struct fstate {
    char *real;          /* owned; resolved absolute path of the target */
    const char *rel;     /* the path of the first block naming it (the set owns it) */
    int block;           /* that block, from 1 */
    size_t have;         /* how much of real exists; apply makes the rest */
    int existed;         /* on disk before */
    int present;         /* exists in the new state */
    struct stat st;      /* as read, when it existed */
    struct ad_buf orig, cur;
    char *tmp;           /* owned; the new content, written beside real */
    char *bak;           /* owned; the old content kept beside real (a link or a copy) */
    int placed;          /* renamed into place: a failure later takes it back */
};

/*
 * One ad_edit_apply_dir call. before_rename is for tests and is never set
 * by the library: called before the rename that puts the k-th file in
 * place (k from 0), it may change the tree so that the real rename fails,
 * which exercises the undo on a real file system.
 */
struct apply_ctx {
    char *rootreal;      /* owned */
    struct fstate *v;
    size_t n, cap;
    char **made;         /* owned; the directories made for the write, in order */
    size_t nmade, capmade;
    int failed_block;    /* the block whose file could not be written, from 1 */
    void (*before_rename)(void *arg, const struct fstate *fs, size_t k);
    void *hook_arg;
};

static void fstate_release(struct fstate *fs)
{
    if (fs->tmp)
        unlink(fs->tmp);
    if (fs->bak && !fs->placed)
        unlink(fs->bak);
    free(fs->tmp);
    free(fs->bak);
    free(fs->real);
    ad_buf_release(&fs->orig);
    ad_buf_release(&fs->cur);
    memset(fs, 0, sizeof(*fs));
}

static void ctx_release(struct apply_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        fstate_release(&c->v[i]);
    free(c->v);
    for (size_t i = 0; i < c->nmade; i++)
        free(c->made[i]);
    free(c->made);
    free(c->rootreal);
}

/*
 * Whether dir[0, dlen) holds name: on disk, or as a target of this apply
 * or a folder of one (names compared folding case, as a lenient file
 * system would).
 */
static int has_entry(const struct apply_ctx *c, const char *dir, size_t dlen, const char *name)
{
    char path[PATH_MAX + 16];
    struct stat st;
    size_t n = strlen(name);

    for (size_t i = 0; i < c->n; i++) {
        const char *r = c->v[i].real;

        if (strncmp(r, dir, dlen) == 0 && r[dlen] == '/' &&
            strncasecmp(r + dlen + 1, name, n) == 0 &&
            (r[dlen + 1 + n] == '\0' || r[dlen + 1 + n] == '/'))
            return 1;
    }
    if (dlen + 1 + n >= sizeof(path))
        return 0;
    memcpy(path, dir, dlen);
    path[dlen] = '/';
    memcpy(path + dlen + 1, name, n + 1);
    return lstat(path, &st) == 0;
}

/*
 * Whether git takes dir for a repository's own folder: a HEAD with objects
 * and refs, or with a commondir (a worktree's folder), on disk or made by
 * this apply. This is how git itself tells a bare repository, a worktree's
 * folder and the target of a ".git" file, none of which has a telling name.
 */
static int is_git_dir(const struct apply_ctx *c, const char *dir, size_t dlen)
{
    return has_entry(c, dir, dlen, "HEAD") &&
           (has_entry(c, dir, dlen, "commondir") ||
            (has_entry(c, dir, dlen, "objects") && has_entry(c, dir, dlen, "refs")));
}

/* Where a path below rootreal starts in it, past the slash. */
static size_t below(const char *rootreal)
{
    size_t n = strlen(rootreal);

    return n == 1 ? 1 : n + 1;
}

/* Refuses fs when a folder on its way, from the root down, is (or becomes) a git folder. */
static int check_git_dirs(const struct apply_ctx *c, const struct fstate *fs,
                          struct ad_err *err)
{
    size_t off = below(c->rootreal), d = strlen(c->rootreal);

    for (;;) {
        const char *next = strchr(fs->real + d + 1, '/');

        if (is_git_dir(c, fs->real, d)) {
            if (d < off)
                return ad_error(err, AD_EPERM, "path '%s' is version control metadata (the "
                                "repository itself would be a git folder)", fs->rel);
            return ad_error(err, AD_EPERM, "path '%s' is version control metadata ('%.*s' "
                            "is or would be a git folder)", fs->rel, (int)(d - off),
                            fs->real + off);
        }
        if (!next)
            return 0;
        d = (size_t)(next - fs->real);
    }
}

/*
 * A target may not be a folder of another target, nor have one as its
 * folder: the renames of a file d and of d/x cannot both succeed, so this
 * is refused before either is tried.
 */
static int check_clash(const struct apply_ctx *c, const struct fstate *fs, struct ad_err *err)
{
    size_t n = strlen(fs->real);

    for (size_t i = 0; i < c->n; i++) {
        const struct fstate *o = &c->v[i];
        size_t m = strlen(o->real);

        if (o == fs)
            continue;
        if (m > n && strncmp(o->real, fs->real, n) == 0 && o->real[n] == '/')
            return ad_error(err, AD_EINVAL, "'%s' would be a file, but edit %d writes '%s' "
                            "inside it", fs->rel, o->block, o->rel);
        if (n > m && strncmp(fs->real, o->real, m) == 0 && fs->real[m] == '/')
            return ad_error(err, AD_EINVAL, "'%s' would be inside '%s', which edit %d makes "
                            "a file", fs->rel, o->rel, o->block);
    }
    return 0;
}

static int access_error(const char *what, const char *rel, int e, struct ad_err *err)
{
    if (e == EACCES || e == EPERM || e == EROFS)
        return ad_error(err, AD_EPERM, "cannot write %s '%s': %s", what, rel, strerror(e));
    return ad_error(err, AD_EIO, "cannot check %s '%s': %s", what, rel, strerror(e));
}

/*
 * The caller may write what the rename replaces: the file itself (a file
 * its owner made read-only stays as it is; a rename would replace it all
 * the same) and the folder that is to hold it, the deepest one that exists
 * (the others are made in it).
 */
static int check_writable(const struct fstate *fs, struct ad_err *err)
{
    char dir[PATH_MAX];
    size_t n = fs->existed ? (size_t)(strrchr(fs->real, '/') - fs->real) : fs->have;

    if (fs->existed && faccessat(AT_FDCWD, fs->real, W_OK, AT_EACCESS) != 0)
        return access_error("the file", fs->rel, errno, err);
    if (n == 0)
        n = 1;   /* a file right under "/" */
    if (n >= sizeof(dir))
        return ad_error(err, AD_ETOOBIG, "path '%s' is too long", fs->rel);
    memcpy(dir, fs->real, n);
    dir[n] = '\0';
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0)
        return access_error("in the folder of", fs->rel, errno, err);
    return 0;
}

static int read_all(int fd, struct ad_buf *b, const char *rel, struct ad_err *err)
{
    char chunk[65536];
    int rc;

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ad_error(err, AD_EIO, "cannot read '%s': %s", rel, strerror(errno));
        if (n == 0)
            return 0;
        rc = ad_buf_add(b, chunk, (size_t)n);
        if (rc == AD_ETOOBIG)
            return ad_error(err, AD_ETOOBIG, "'%s' is larger than 16 MiB", rel);
        if (rc)
            return ad_error(err, rc, "out of memory reading '%s'", rel);
    }
}

static int load_file(struct fstate *fs, struct ad_err *err)
{
    const char *rel = fs->rel;
    int fd, rc;

    ad_buf_init(&fs->orig, EDIT_MAX_FILE);
    ad_buf_init(&fs->cur, EDIT_MAX_FILE);
    if (lstat(fs->real, &fs->st) != 0) {
        if (errno == ENOENT)
            return 0;
        return ad_error(err, AD_EIO, "cannot stat '%s': %s", rel, strerror(errno));
    }
    if (!S_ISREG(fs->st.st_mode))
        return ad_error(err, AD_EINVAL, "'%s' is not a regular file", rel);
    if ((uint64_t)fs->st.st_size > EDIT_MAX_FILE)
        return ad_error(err, AD_ETOOBIG, "'%s' is larger than 16 MiB", rel);
    fd = open(fs->real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ad_error(err, AD_EIO, "cannot open '%s': %s", rel, strerror(errno));
    rc = read_all(fd, &fs->orig, rel, err);
    close(fd);
    if (!rc && ad_buf_add(&fs->cur, fs->orig.ptr, fs->orig.len))
        rc = ad_error(err, AD_ENOMEM, "out of memory reading '%s'", rel);
    fs->existed = fs->present = !rc;
    return rc;
}

/* Everything about a new target that can be known before anything is written. */
static int check_target(struct apply_ctx *c, struct fstate *fs, struct ad_err *err)
{
    int rc = check_git_dirs(c, fs, err);

    if (!rc)
        rc = check_clash(c, fs, err);
    if (!rc)
        rc = load_file(fs, err);
    if (!rc)
        rc = check_writable(fs, err);
    return rc;
}

/*
 * The state of the file that rel (in plain form) names, checked and loaded
 * on first use; a target that fails a check is dropped again.
 */
static int file_for(struct apply_ctx *c, const char *plain, const char *rel, int block,
                    struct fstate **out, struct ad_err *err)
{
    char *real = NULL;
    size_t have = 0;
    int rc = resolve(c->rootreal, plain, rel, &real, &have, err);

    if (rc)
        return rc;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].real, real) == 0) {
            free(real);
            *out = &c->v[i];
            return 0;
        }
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct fstate *v = realloc(c->v, ncap * sizeof(*v));

        if (!v) {
            free(real);
            return ad_error(err, AD_ENOMEM, "out of memory");
        }
        c->v = v;
        c->cap = ncap;
    }
    *out = &c->v[c->n++];
    memset(*out, 0, sizeof(**out));
    (*out)->real = real;
    (*out)->rel = rel;
    (*out)->block = block;
    (*out)->have = have;
    rc = check_target(c, *out, err);
    if (rc)
        fstate_release(&c->v[--c->n]);
    return rc;
}

static int apply_one(struct apply_ctx *c, const char *path, int block,
                     const struct ad_edit_block *b, struct ad_edit_outcome *o,
                     struct ad_buf *fb, struct ad_err *err)
{
    struct ad_buf nb, plain = AD_BUF_INIT;
    struct apply_stats st = { 0, 0 };
    struct fstate *fs = NULL;
    int rc;

    if (!path)
        return ad_error(err, AD_EINVAL, "the edit at line %d names no file", b->line);
    rc = norm_rel(path, &plain, err);
    if (!rc)
        rc = file_for(c, plain.ptr, path, block, &fs, err);
    ad_buf_release(&plain);
    if (rc)
        return rc;
    ad_buf_init(&nb, EDIT_MAX_FILE);
    rc = apply_block(fs->present ? fs->cur.ptr : NULL, fs->cur.len, b, &nb, &o->how, fb,
                     &st, err);
    if (rc == AD_ETOOBIG)
        rc = ad_error(err, rc, "the new content of '%s' is larger than 16 MiB", path);
    if (!rc) {
        ad_buf_release(&fs->cur);
        fs->cur = nb;
        fs->present = 1;
        o->lines_removed = st.removed;
        o->lines_added = st.added;
    } else {
        ad_buf_release(&nb);
    }
    return rc;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Fills outcome i; keeps the first failure in err. */
static int record(struct ad_edit_outcome *o, const char *path, int rc, const struct ad_err *e,
                  struct ad_buf *fb)
{
    o->code = rc;
    o->path = dup_or_empty(path);
    o->message = dup_or_empty(rc ? e->msg : "");
    o->feedback = ad_buf_detach(fb, NULL);
    if (rc)
        o->lines_removed = o->lines_added = 0;
    return o->path && o->message && o->feedback ? 0 : AD_ENOMEM;
}

/* ---- 8. writing ------------------------------------------------------------- */

/*
 * Creates the missing directories on the way to fs->real and notes each
 * one in c->made so that a failure later can take them away again. The
 * note is allocated before the mkdir, so running out of memory never
 * leaves a directory that nobody remembers.
 */
static int make_dirs(struct apply_ctx *c, const struct fstate *fs, struct ad_err *err)
{
    char *p = strdup(fs->real);
    int rc = 0;

    if (!p)
        return ad_error(err, AD_ENOMEM, "out of memory");
    /* p[have] is the slash after the deepest folder that exists, or the end. */
    for (char *s = strchr(p + fs->have + (p[fs->have] == '/'), '/'); s && !rc;
         s = strchr(s + 1, '/')) {
        char *note;

        if (c->nmade == c->capmade) {
            size_t ncap = c->capmade ? c->capmade * 2 : 8;
            char **v = realloc(c->made, ncap * sizeof(*v));

            if (!v) {
                rc = ad_error(err, AD_ENOMEM, "out of memory");
                break;
            }
            c->made = v;
            c->capmade = ncap;
        }
        *s = '\0';
        note = strdup(p);
        if (!note) {
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        } else if (mkdir(p, 0777) == 0) {
            c->made[c->nmade++] = note;
        } else {
            if (errno != EEXIST)
                rc = ad_error(err, AD_EIO, "cannot create a directory for '%s': %s", fs->rel,
                              strerror(errno));
            free(note);
        }
        *s = '/';
    }
    free(p);
    return rc;
}

/* Removes the directories make_dirs created, deepest first. */
static void unmake_dirs(struct apply_ctx *c)
{
    while (c->nmade > 0) {
        char *d = c->made[--c->nmade];

        rmdir(d);
        free(d);
    }
}

static int write_fd(int fd, const struct ad_buf *b)
{
    size_t off = 0;

    while (off < b->len) {
        ssize_t n = write(fd, b->ptr + off, b->len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

enum side_kind { SIDE_FILE, SIDE_LINK };

/*
 * Makes a new name beside fs->real, ".<name>.autodev-<pid>-<n>": a new file
 * open for writing in *fd (SIDE_FILE, mode 0666 before the umask, as any new
 * file), or a hard link to fs->real (SIDE_LINK). The name goes to *out.
 * Returns -1 with errno when the file system says no.
 */
static int side_make(const struct fstate *fs, enum side_kind kind, char **out, int *fd)
{
    static unsigned counter;
    struct ad_buf name = AD_BUF_INIT;
    const char *slash = strrchr(fs->real, '/');
    int rc = -1;

    for (int tries = 0; tries < 100; tries++) {
        ad_buf_reset(&name);
        if (ad_buf_addf(&name, "%.*s/.%.200s.autodev-%ld-%u", (int)(slash - fs->real),
                        fs->real, slash + 1, (long)getpid(),
                        __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED)) != 0) {
            errno = ENOMEM;
            break;
        }
        if (kind == SIDE_FILE) {
            *fd = open(name.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
            rc = *fd >= 0 ? 0 : -1;
        } else {
            rc = link(fs->real, name.ptr);
        }
        if (rc == 0 || errno != EEXIST)
            break;
    }
    if (rc == 0)
        *out = ad_buf_detach(&name, NULL);
    ad_buf_release(&name);
    if (rc == 0 && !*out) {
        errno = ENOMEM;
        return -1;
    }
    return rc;
}

/* Writes content to a new file beside fs->real, with mode when keep_mode; its name to *out. */
static int write_beside(const struct fstate *fs, const struct ad_buf *content, int keep_mode,
                        char **out, struct ad_err *err)
{
    int fd = -1, rc = 0;

    if (side_make(fs, SIDE_FILE, out, &fd) != 0)
        return ad_error(err, errno == ENOMEM ? AD_ENOMEM : AD_EIO, "cannot create a file "
                        "beside '%s': %s", fs->rel, strerror(errno));
    if (write_fd(fd, content) != 0 || (keep_mode && fchmod(fd, fs->st.st_mode & 07777) != 0))
        rc = ad_error(err, AD_EIO, "cannot write beside '%s': %s", fs->rel, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = ad_error(err, AD_EIO, "cannot write beside '%s': %s", fs->rel, strerror(errno));
    return rc;
}

/*
 * Keeps the old content of an existing target beside it, so that undoing
 * is one rename: a hard link (the very file: bytes, mode, owner, times), or
 * a copy of what was read where the file system has no hard links. Then
 * the file must still be the one that was read: another writer's change
 * since is not overwritten.
 */
static int keep_old(struct fstate *fs, struct ad_err *err)
{
    struct stat now;
    int rc = 0;

    if (side_make(fs, SIDE_LINK, &fs->bak, NULL) != 0) {
        if (errno == ENOMEM)
            return ad_error(err, AD_ENOMEM, "out of memory");
        if (errno != EPERM && errno != ENOTSUP && errno != EMLINK && errno != ENOSYS)
            return ad_error(err, AD_EIO, "cannot keep the old '%s': %s", fs->rel,
                            strerror(errno));
        rc = write_beside(fs, &fs->orig, 1, &fs->bak, err);
    }
    if (rc)
        return rc;
    if (lstat(fs->real, &now) != 0 || now.st_dev != fs->st.st_dev ||
        now.st_ino != fs->st.st_ino || now.st_size != fs->st.st_size ||
        now.st_mtim.tv_sec != fs->st.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != fs->st.st_mtim.tv_nsec)
        return ad_error(err, AD_ESTATE, "'%s' changed while the edits were computed", fs->rel);
    return 0;
}

static int changed(const struct fstate *fs)
{
    return fs->present && (!fs->existed || fs->cur.len != fs->orig.len ||
                           memcmp(fs->cur.ptr, fs->orig.ptr, fs->cur.len) != 0);
}

/* One file's part of the preparation: its folders, its new content, its old one kept. */
static int prepare_one(struct apply_ctx *c, struct fstate *fs, struct ad_err *err)
{
    struct stat st;
    int rc = make_dirs(c, fs, err);

    if (!rc)
        rc = write_beside(fs, &fs->cur, fs->existed, &fs->tmp, err);
    if (!rc && fs->existed)
        rc = keep_old(fs, err);
    else if (!rc && lstat(fs->real, &st) == 0)
        rc = ad_error(err, AD_ESTATE, "'%s' appeared while the edits were computed", fs->rel);
    return rc;
}

/*
 * Takes back whatever prepare or commit did: the files put in place (the
 * old ones renamed back from their backups, the new ones removed), then
 * the temporaries, the backups and the folders made. Renames, unlinks and
 * rmdir only: nothing here allocates or needs room on the disk. A file
 * that cannot be put back keeps its backup, and the message says where.
 */
static void undo(struct apply_ctx *c, struct ad_err *err)
{
    char first[sizeof(err->msg)];

    memcpy(first, err->msg, sizeof(first));
    for (size_t i = c->n; i-- > 0;) {
        struct fstate *fs = &c->v[i];
        int e;

        if (!fs->placed)
            continue;
        if ((fs->existed ? rename(fs->bak, fs->real) : unlink(fs->real)) == 0) {
            fs->placed = 0;
            free(fs->bak);
            fs->bak = NULL;
            continue;
        }
        e = errno;
        ad_error(err, AD_EIO, "%s; and '%s' could not be put back (%s): the old content is "
                 "'%s'", first, fs->rel, strerror(e), fs->bak ? fs->bak : "gone");
    }
    for (size_t i = 0; i < c->n; i++) {
        struct fstate *fs = &c->v[i];

        if (fs->tmp)
            unlink(fs->tmp);
        free(fs->tmp);
        fs->tmp = NULL;
        if (fs->bak && !fs->placed) {
            unlink(fs->bak);
            free(fs->bak);
            fs->bak = NULL;
        }
    }
    unmake_dirs(c);
}

/* Puts fs in place; a new file never replaces one that appeared since it was checked. */
static int place(const struct fstate *fs)
{
    if (fs->existed)
        return rename(fs->tmp, fs->real);
    if (renameat2(AT_FDCWD, fs->tmp, AT_FDCWD, fs->real, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    return rename(fs->tmp, fs->real);   /* a file system without RENAME_NOREPLACE */
}

/*
 * Writes every changed file, all or nothing. First every file is prepared
 * (folders, the new content in a temporary, the old content kept), which
 * is where a full disk or a missing permission shows; then the renames,
 * and when one of them fails anyway (a race, a file system that changed
 * its mind) the ones done are undone, so the tree is as it was.
 */
static int write_all(struct apply_ctx *c, size_t *nchanged, struct ad_err *err)
{
    size_t k = 0;
    int rc = 0;

    for (size_t i = 0; i < c->n && !rc; i++) {
        if (changed(&c->v[i]))
            rc = prepare_one(c, &c->v[i], err);
        if (rc)
            c->failed_block = c->v[i].block;
    }
    for (size_t i = 0; i < c->n && !rc; i++) {
        struct fstate *fs = &c->v[i];

        if (!fs->tmp)
            continue;
        if (c->before_rename)
            c->before_rename(c->hook_arg, fs, k);
        if (place(fs) != 0) {
            rc = ad_error(err, AD_EIO, "cannot put '%s' in place: %s", fs->rel,
                          strerror(errno));
            c->failed_block = fs->block;
            break;
        }
        fs->placed = 1;
        free(fs->tmp);
        fs->tmp = NULL;
        k++;
    }
    if (rc) {
        undo(c, err);
        return rc;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].bak)
            unlink(c->v[i].bak);
    }
    *nchanged = k;
    return 0;
}

static int apply_all(struct apply_ctx *c, const struct ad_edit_set *s, const char *default_path,
                     struct ad_edit_report *rep, struct ad_err *err)
{
    int first = 0;

    for (size_t i = 0; i < s->n; i++) {
        const struct ad_edit_block *b = &s->v[i];
        const char *path = b->path ? b->path : default_path;
        struct ad_err e = AD_ERR_INIT;
        struct ad_buf fb = AD_BUF_INIT;
        int rc = apply_one(c, path, (int)i + 1, b, &rep->v[i], &fb, &e);

        rep->n++;
        if (record(&rep->v[i], path, rc, &e, &fb) != 0)
            return ad_error(err, AD_ENOMEM, "out of memory");
        if (rc && !first) {
            first = rc;
            *err = e;
            ad_error_prefix(err, "edit %zu of %zu (%s, line %d)", i + 1, s->n,
                            path ? path : "no file", b->line);
        }
    }
    return first;
}

/* A write that failed is the failure of the block whose file it was. */
static void blame(const struct ad_edit_set *s, int block, struct ad_edit_report *rep,
                  struct ad_err *err)
{
    struct ad_edit_outcome *o = &rep->v[block - 1];
    char *msg;

    ad_error_prefix(err, "edit %d of %zu (%s, line %d)", block, s->n, o->path,
                    s->v[block - 1].line);
    msg = strdup(err->msg);
    if (!msg)
        return;
    o->code = err->code;
    free(o->message);
    o->message = msg;
}

/* Refuses a root that lies in a git folder (given as .git/hooks, say), by what is on disk. */
static int check_root(struct apply_ctx *c, const char *root, struct ad_err *err)
{
    for (size_t d = strlen(c->rootreal); d > 0;) {
        if (is_git_dir(c, c->rootreal, d))
            return ad_error(err, AD_EPERM, "repository '%s' is inside a git folder ('%.*s')",
                            root, (int)d, c->rootreal);
        while (d > 0 && c->rootreal[--d] != '/')
            ;
    }
    return 0;
}

static int apply_dir(struct apply_ctx *c, const char *root, const struct ad_edit_set *s,
                     const char *default_path, int flags, struct ad_edit_report *rep,
                     struct ad_err *err)
{
    struct stat st;
    int rc = 0;

    memset(rep, 0, sizeof(*rep));
    c->rootreal = realpath(root, NULL);
    if (!c->rootreal && errno == ENOMEM)
        return ad_error(err, AD_ENOMEM, "out of memory resolving '%s'", root);
    if (!c->rootreal || stat(c->rootreal, &st) != 0 || !S_ISDIR(st.st_mode))
        return ad_error(err, AD_ENOTFOUND, "repository '%s' is not a directory", root);
    rc = check_root(c, root, err);
    if (rc)
        return rc;
    rep->v = calloc(s->n ? s->n : 1, sizeof(*rep->v));
    if (!rep->v)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = apply_all(c, s, default_path, rep, err);
    if (!rc && !(flags & AD_EDIT_DRY_RUN))
        rc = write_all(c, &rep->files_changed, err);
    if (rc && c->failed_block)
        blame(s, c->failed_block, rep, err);
    return rc;
}

int ad_edit_apply_dir(const char *root, const struct ad_edit_set *s, const char *default_path,
                      int flags, struct ad_edit_report *rep, struct ad_err *err)
{
    struct apply_ctx c;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = apply_dir(&c, root, s, default_path, flags, rep, err);
    ctx_release(&c);
    return rc;
}

void ad_edit_report_release(struct ad_edit_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].message);
        free(r->v[i].feedback);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}
