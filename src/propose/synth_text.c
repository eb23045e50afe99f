/*
 * The text search: strings made of parts taken from the input.
 *
 * Atoms are the values a program can take from the input as strings: a
 * string leaf, the k-th match of a pattern in one, either with a case
 * change, or a number leaf written out. Patterns come from three places:
 *
 *   classes    \d+, [^\W\d_]+ (letters), [A-Z]+, \w+, and runs of what is not
 *              whitespace (SX_NONSPACE: \S is not the same set in PCRE2
 *              and in Python, see synth_int.h)
 *   shapes     the outputs' own shape, run by run: digits, letters (upper,
 *              lower or capitalised when all agree), spaces, and single
 *              other characters kept as they are; a run every output has
 *              with the same text is kept literally when two or more
 *              examples agree ("INV-\d+"), and a variant with classes only
 *              is tried too
 *   labels     the text before the output on its line that every example
 *              shares ("Order number:"), then whitespace, then the value:
 *              the shape, a run of non-space or the rest of the line
 *
 * Every atom is evaluated on every example once. A dynamic program over the
 * positions reached in each example's output then finds the cheapest
 * sequence of atoms and constant characters that spells every output; the
 * state is the vector of positions, so parts must line up in all examples
 * at once. A constant letter or digit costs 1 and needs two examples that
 * agree on it; punctuation and spaces cost 0.2. After the Python re-check
 * turned the program it spells down, it spells the next best without that
 * program's atoms.
 *
 * Sections: atoms and their case changes / shapes / labels / building the
 * atoms / the dynamic program / the searches (sx_text_search,
 * sx_list_text_search).
 */
#include "compat.h"

#include <math.h>

#include "autodev/json.h"

#include "synth_int.h"

const char *const sx_classes[] = {
    "\\d", "[^\\W\\d_]", "[A-Z]", "[a-z]", "\\w", SX_SPACE, SX_NONSPACE, "[^\\r\\n]", NULL,
};

#define MAX_ATOMS 4000
#define MAX_STATES 20000
#define MAX_OUT 512              /* longer outputs are matched whole, not in parts */
#define MAX_SEARCHED (256 * 1024) /* longer strings are used whole, not searched */
#define MAX_OPS_TEXT 4096        /* longer strings get no string operations as atoms */
#define MAX_TWIN_ROUNDS 8        /* rounds past the programs turned down (twins spell one again) */

struct atom {
    int leaf;                    /* its leaf's node */
    int pat;                     /* -1: the leaf itself */
    int k;                       /* match index */
    int cs;                      /* enum sx_case, or -1 */
    int num;                     /* 0: text; 1: str(); 2+d: format(".df") */
    double cost;
    char **v;                    /* per example, NULL when it has no value */
    size_t *len;
};

struct text {
    struct sx_search *s;
    struct atom *a;
    size_t na;
    const char **y;              /* the outputs */
    size_t *ylen;
    /* memo of the dynamic program */
    size_t *keys;                /* nstates * n positions */
    double *cost;
    int *choice;                 /* atom, or -1 - bytes for a constant */
    size_t nstates, cap;
    int *slot;                   /* hash table of state indexes, -1 free */
    size_t nslot;
    bool overflow;
    /* rebuild() takes dev_choice at state dev_state (-1: none), the best choice elsewhere */
    int dev_state, dev_choice;
};

static void atoms_free(struct text *t)
{
    for (size_t i = 0; i < t->na; i++) {
        for (size_t e = 0; e < t->s->n; e++)
            free(t->a[i].v[e]);
        free(t->a[i].v);
        free(t->a[i].len);
    }
    free(t->a);
    t->a = NULL;
    t->na = 0;
}

static int atom_node(struct sx_search *s, const struct atom *a);

#define MAX_TWIN_PROBES 16

/* Whether atoms a and b answer alike on the first MAX_TWIN_PROBES of s->probes. */
static bool same_on_probes(struct sx_search *s, const struct atom *a, const struct atom *b)
{
    size_t keep = s->p->nnode, np = json_array_size(s->probes);
    int ka = atom_node(s, a), kb = ka < 0 ? -1 : atom_node(s, b);
    bool same = ka >= 0 && kb >= 0;

    for (size_t i = 0; same && i < np && i < MAX_TWIN_PROBES; i++) {
        const json_t *in = json_object_get(json_array_get(s->probes, i), "input");
        const char *why;
        json_t *va = sx_eval(s->p, ka, in, &why), *vb = sx_eval(s->p, kb, in, &why);

        same = (!va && !vb) || (va && vb && sx_equal(va, vb));
        json_decref(va);
        json_decref(vb);
    }
    sx_truncate(s->p, keep);
    return same;
}

/* Adds an atom whose values are vals (taken over); drops it when it adds nothing new. */
static int add_atom(struct text *t, const struct atom *proto, char **vals, size_t *lens)
{
    struct atom *x;
    size_t have = 0;

    for (size_t e = 0; e < t->s->n; e++)
        have += vals[e] != NULL;
    /*
     * An atom no example has a value for, or one identical to a cheaper one,
     * is dead weight; except in a pass after the Python re-check turned a
     * program down, where the twin may be the next candidate. In the search
     * for alternatives a twin is one that also answers alike on the probes:
     * a program with it instead would answer as the one it stands for.
     */
    for (size_t i = 0; have && (!t->s->nrejected || t->s->probes) && i < t->na; i++) {
        size_t e;

        for (e = 0; e < t->s->n; e++) {
            if (!vals[e] != !t->a[i].v[e])
                break;
            if (vals[e] && (lens[e] != t->a[i].len[e] || memcmp(vals[e], t->a[i].v[e], lens[e])))
                break;
        }
        if (e == t->s->n && t->s->probes && !same_on_probes(t->s, proto, &t->a[i]))
            continue;
        if (e == t->s->n) {
            /* the twin stays, as the cheaper of the two (atoms are not made in order of cost) */
            if (proto->cost < t->a[i].cost) {
                char **v = t->a[i].v;
                size_t *l = t->a[i].len;

                t->a[i] = *proto;
                t->a[i].v = v;
                t->a[i].len = l;
            }
            have = 0;
        }
    }
    if (!have || t->na == MAX_ATOMS) {
        for (size_t e = 0; e < t->s->n; e++)
            free(vals[e]);
        free(vals);
        free(lens);
        return 0;
    }
    if (t->na % 64 == 0) {
        struct atom *v = realloc(t->a, (t->na + 64) * sizeof(*v));

        if (!v)
            return -1;
        t->a = v;
    }
    x = &t->a[t->na++];
    *x = *proto;
    x->v = vals;
    x->len = lens;
    return 0;
}

/* The atom, and the same with each case change. from[e]: the values before any change. */
static int add_with_cases(struct text *t, struct atom *proto, json_t **from, bool cases)
{
    for (int cs = -1; cs <= (cases ? CASE_STRIP : -1); cs++) {
        char **vals = calloc(t->s->n, sizeof(char *));
        size_t *lens = calloc(t->s->n, sizeof(size_t));

        if (!vals || !lens) {
            free(vals);
            free(lens);
            return -1;
        }
        for (size_t e = 0; e < t->s->n; e++) {
            if (!json_is_string(from[e]))
                continue;
            if (cs >= 0 && !sx_scan(t->s->p, json_string_length(from[e]) + 1))
                continue;
            if (cs < 0) {
                lens[e] = json_string_length(from[e]);
                vals[e] = strndup(json_string_value(from[e]), lens[e]);
            } else {
                vals[e] = sx_case(json_string_value(from[e]), json_string_length(from[e]),
                                  cs, &lens[e]);
            }
        }
        proto->cs = cs;
        if (add_atom(t, proto, vals, lens) < 0)
            return -1;
        proto->cost += cs < 0 ? 0.3 : 0;
    }
    return 0;
}

static bool string_leaf(const struct sx_search *s, size_t i)
{
    return s->leaf[i].present == (int)s->n && s->leaf[i].types == 1 << JSON_STRING;
}

/* A string leaf short enough in every example to search with patterns. */
static bool searchable(struct sx_search *s, size_t i)
{
    for (size_t e = 0; e < s->n; e++) {
        if (json_string_length(s->leaf[i].v[e]) > MAX_SEARCHED) {
            s->too_long = true;
            return false;
        }
    }
    return true;
}

/* The k-th match of pattern pat in every example's leaf i, with case changes. */
static int pattern_atoms(struct text *t, size_t li, int ln, int pat, const int *ks, size_t nk,
                         double cost, bool cases)
{
    struct sx_search *s = t->s;
    struct sx_matches *m = calloc(s->n, sizeof(*m));
    json_t **pick = calloc(s->n, sizeof(json_t *));
    int rc = 0;

    if (!m || !pick) {
        free(m);
        free(pick);
        return -1;
    }
    for (size_t e = 0; e < s->n; e++)
        sx_matches(s->p, pat, json_string_value(s->leaf[li].v[e]),
                   json_string_length(s->leaf[li].v[e]), &m[e]);
    for (size_t i = 0; rc == 0 && i < nk; i++) {
        static const double kcost[] = { 0.2, 0.5, 0.6, 0.7 };
        struct atom proto = { .leaf = ln, .pat = pat, .k = ks[i], .num = 0 };

        proto.cost = cost + (ks[i] >= 0 ? kcost[ks[i] < 3 ? ks[i] : 3] : ks[i] == -1 ? 0.3 : 0.6);
        for (size_t e = 0; e < s->n; e++) {
            struct sx_span sp;

            pick[e] = sx_match_at(&m[e], ks[i], &sp)
                          ? json_stringn(json_string_value(s->leaf[li].v[e]) + sp.off, sp.len)
                          : NULL;
        }
        rc = add_with_cases(t, &proto, pick, cases);
        for (size_t e = 0; e < s->n; e++)
            json_decref(pick[e]);
    }
    free(m);
    free(pick);
    return rc;
}

/* ---- shapes ---- */

enum run { R_DIGIT, R_LETTER, R_SPACE, R_OTHER };

struct tok {
    enum run kind;
    const char *p;
    size_t len;
};

static int tokenize(struct ad_synth_program *p, const char *s, size_t len, struct tok *out,
                    size_t max)
{
    static const char *const kinds[] = { "\\d+", "[^\\W\\d_]+", SX_SPACE "+" };
    int split = sx_pattern(p, "\\d+|[^\\W\\d_]+|" SX_SPACE "+|.");
    size_t off = 0, n = 0;
    uint32_t check = 0;     /* the first match checks the UTF-8 of the whole string */

    if (split < 0 || !sx_scan(p, len + 1))
        return -1;
    while (off < len) {
        PCRE2_SIZE *ov;
        int k;

        if (pcre2_match(p->pat[split].re, (PCRE2_SPTR)s, len, off, PCRE2_ANCHORED | check, p->md,
                        NULL) < 0 ||
            n == max)
            return -1;
        ov = pcre2_get_ovector_pointer(p->md);
        out[n].p = s + ov[0];
        out[n].len = ov[1] - ov[0];
        out[n].kind = R_OTHER;
        off = ov[1];   /* before the matches below reuse the ovector */
        check = PCRE2_NO_UTF_CHECK;
        for (k = 0; k < 3; k++) {
            int pk = sx_pattern(p, kinds[k]);

            if (pk >= 0 && pcre2_match(p->pat[pk].re, (PCRE2_SPTR)out[n].p, out[n].len, 0,
                                       PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NO_UTF_CHECK,
                                       p->md, NULL) >= 0) {
                out[n].kind = (enum run)k;
                break;
            }
        }
        n++;
    }
    return (int)n;
}

/* Regex-escapes a literal. */
static int lit(struct ad_buf *b, const char *s, size_t len)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (strchr("\\^$.|?*+()[]{}", s[i]) && s[i])
            rc = ad_buf_addch(b, '\\');
        rc = rc || ad_buf_addch(b, s[i]);
    }
    return rc;
}

static bool all_ascii(const struct tok *const *t, size_t n, int (*pred)(const struct tok *))
{
    for (size_t i = 0; i < n; i++)
        if (!pred(t[i]))
            return false;
    return true;
}

static int is_upper(const struct tok *t)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->p[i] < 'A' || t->p[i] > 'Z')
            return 0;
    return 1;
}

static int is_lower(const struct tok *t)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->p[i] < 'a' || t->p[i] > 'z')
            return 0;
    return 1;
}

static int is_capital(const struct tok *t)
{
    if (t->len < 2 || t->p[0] < 'A' || t->p[0] > 'Z')
        return 0;
    for (size_t i = 1; i < t->len; i++)
        if (t->p[i] < 'a' || t->p[i] > 'z')
            return 0;
    return 1;
}

/*
 * The shape patterns of strings: out[0] with literals where all agree (when
 * two or more examples do), out[1] with classes only. 0, 1 or 2 of them.
 */
static int shapes(struct ad_synth_program *p, const char *const *str, const size_t *len,
                  size_t n, size_t examples, struct ad_buf out[2])
{
    struct tok (*tk)[64] = calloc(n, sizeof(*tk));
    int nt = -1, made = 0;
    bool literal_used = false, class_used = false;
    const struct tok **col = calloc(n, sizeof(*col));

    if (!tk || !col)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int k = tokenize(p, str[i], len[i], tk[i], 64);

        if (k <= 0 || (nt >= 0 && k != nt))
            goto out;
        nt = k;
    }
    for (int j = 0; j < nt; j++) {
        bool same = true;

        for (size_t i = 0; i < n; i++) {
            col[i] = &tk[i][j];
            if (tk[i][j].kind != tk[0][j].kind)
                goto out;
            same &= tk[i][j].len == tk[0][j].len && !memcmp(tk[i][j].p, tk[0][j].p, tk[0][j].len);
        }
        if (tk[0][j].kind == R_OTHER) {
            if (!same)
                goto out;
            if (lit(&out[0], col[0]->p, col[0]->len) || lit(&out[1], col[0]->p, col[0]->len))
                goto out;
            continue;
        }
        {
            const char *cls = tk[0][j].kind == R_DIGIT   ? "\\d+"
                              : tk[0][j].kind == R_SPACE ? SX_SPACE "+"
                              : all_ascii(col, n, is_upper)   ? "[A-Z]+"
                              : all_ascii(col, n, is_lower)   ? "[a-z]+"
                              : all_ascii(col, n, is_capital) ? "[A-Z][a-z]+"
                                                              : "[^\\W\\d_]+";

            class_used = true;
            if (ad_buf_adds(&out[1], cls))
                goto out;
            if (same && examples >= 2 && tk[0][j].kind == R_LETTER) {
                literal_used = true;
                if (lit(&out[0], col[0]->p, col[0]->len))
                    goto out;
            } else if (ad_buf_adds(&out[0], cls)) {
                goto out;
            }
        }
    }
    if (class_used)
        made = literal_used && strcmp(out[0].ptr, out[1].ptr) ? 2 : 1;
out:
    free(tk);
    free(col);
    if (made == 1) {
        ad_buf_reset(&out[0]);
        ad_buf_adds(&out[0], out[1].ptr);
    }
    return made;
}

/* ---- labels ---- */

static bool word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

/* The text before each output on its line, shared by all examples: a label; "" if none. */
static int label_of(struct text *t, size_t li, struct ad_buf *label)
{
    struct sx_search *s = t->s;
    const char *p1 = NULL;
    size_t common = SIZE_MAX, pre1 = 0;
    bool letter = false;

    for (size_t e = 0; e < s->n; e++) {
        const char *in = json_string_value(s->leaf[li].v[e]);
        size_t inlen = json_string_length(s->leaf[li].v[e]);
        const char *at, *line;
        size_t pre, k;

        if (!sx_scan(s->p, inlen + 1))
            return 0;
        at = t->ylen[e] ? memmem(in, inlen, t->y[e], t->ylen[e]) : NULL;

        if (!at)
            return 0;
        for (line = at; line > in && line[-1] != '\n'; line--)
            ;
        pre = (size_t)(at - line);
        if (e == 0) {
            p1 = line;
            pre1 = pre;
            common = pre;
            continue;
        }
        for (k = 0; k < common && k < pre && p1[pre1 - 1 - k] == line[pre - 1 - k]; k++)
            ;
        common = k;
    }
    if (!p1 || common == 0)
        return 0;
    {
        const char *start = p1 + pre1 - common, *end = p1 + pre1;
        int words = 0;

        /* Whole characters and whole words only. */
        while (start < end && ((unsigned char)*start & 0xC0) == 0x80)
            start++;
        if (start > p1 && word_byte((unsigned char)start[-1]))
            while (start < end && word_byte((unsigned char)*start))
                start++;
        /* At most three words, and two for a single example. */
        for (const char *q = end; q > start; q--) {
            if (word_byte((unsigned char)q[-1]) && (q == end || !word_byte((unsigned char)*q)))
                if (++words > (s->n >= 2 ? 3 : 2)) {
                    while (q < end && word_byte((unsigned char)*q))
                        q++;
                    start = q;
                    while (start < end && !word_byte((unsigned char)*start))
                        start++;
                    break;
                }
        }
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        for (const char *q = start; q < end; q++)
            letter |= (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z');
        if (!letter)
            return 0;
        return lit(label, start, (size_t)(end - start)) ? -1 : 1;
    }
}

/* ---- atoms ---- */

/* ---- string operations as atoms ---- */

static const char *const seps[] = { " ", ",", ".", "/", "_", "-", "=", "|", ":", ";", "<",
                                    ">", "(", ")", "@", "#", "= ", ", " };

/* The atom of node's value in each example (a string; none where it raises). */
static int node_atom(struct text *t, int node, double cost, bool cases)
{
    struct sx_search *s = t->s;
    struct atom proto = { .leaf = node, .pat = -1, .cost = cost };
    json_t **v;
    int rc;

    if (node < 0)
        return 0;       /* out of memory shows as a missing atom, not a failure */
    v = calloc(s->n, sizeof(json_t *));
    if (!v)
        return -1;
    for (size_t e = 0; e < s->n; e++) {
        const char *why;
        json_t *x = sx_eval(s->p, node, s->in[e], &why);

        if (x && !json_is_string(x)) {
            json_decref(x);
            x = NULL;
        }
        v[e] = x;
    }
    rc = add_with_cases(t, &proto, v, cases);
    for (size_t e = 0; e < s->n; e++)
        json_decref(v[e]);
    free(v);
    return rc;
}

static int op_node(struct sx_search *s, int a, int b, int op, const char *c, int cond)
{
    int k = sx_node(s->p, SX_STROP, a, b, op);

    if (k < 0)
        return -1;
    s->p->node[k].cond = cond;
    if (c && !(s->p->node[k].c = json_string(c)))
        return -1;
    return k;
}

static int pat_op_node(struct sx_search *s, int a, int op, const char *re, const char *c)
{
    int pat = sx_pattern(s->p, re), k = pat < 0 ? -1 : op_node(s, a, -1, op, c, 0);

    if (k >= 0)
        s->p->node[k].pat = pat;
    return k;
}

/* Whether every example's leaf value (all: every one; else some) holds c, and no output does. */
static bool in_leaf(struct sx_search *s, size_t li, const char *c, bool all)
{
    size_t have = 0;

    for (size_t e = 0; e < s->n; e++)
        have += strstr(json_string_value(s->leaf[li].v[e]), c) != NULL;
    return all ? have == s->n : have > 0;
}

static bool in_outputs(struct sx_search *s, const char *c)
{
    for (size_t e = 0; e < s->n; e++)
        if (strstr(json_string_value(s->out[e]), c))
            return true;
    return false;
}

/* Whether some example's leaf value has a capitalised word ("[A-Z][a-z]"), which SO_INITIALS shortens. */
static bool capital_word(struct sx_search *s, size_t li)
{
    for (size_t e = 0; e < s->n; e++) {
        const char *v = json_string_value(s->leaf[li].v[e]);

        for (size_t i = 0; v && v[i] && v[i + 1]; i++)
            if (v[i] >= 'A' && v[i] <= 'Z' && v[i + 1] >= 'a' && v[i + 1] <= 'z')
                return true;
    }
    return false;
}

/*
 * Every part between separators mapped alike and joined back, maybe with
 * another separator: "".join(w[:1].upper() for w in text.split(" ")). Kept
 * only where the result is within every example's output: a part of it.
 */
static int map_atoms(struct text *t, size_t li, int ln)
{
    static const struct {
        int k, cs;
    } maps[] = {
        { 1, -1 }, { 0, CASE_CAPITALIZE }, { 0, CASE_UPPER }, { 0, CASE_LOWER },
        { 1, CASE_UPPER }, { 1, CASE_LOWER }, { 0, CASE_STRIP }, { 0, -1 },
    };
    static const char *const joins[] = { "", " ", ".", ". ", ",", ", ", "-", "_", "/", ";", "|" };
    struct sx_search *s = t->s;

    for (size_t k = 0; k < AD_ARRAY_SIZE(seps); k++) {
        if (!in_leaf(s, li, seps[k], false))
            continue;
        for (size_t m = 0; m < AD_ARRAY_SIZE(maps); m++) {
            for (size_t j = 0; j < AD_ARRAY_SIZE(joins); j++) {
                size_t keep = s->p->nnode, e;
                int node;

                /* the parts as they are, joined otherwise: a replacement, made elsewhere */
                if ((maps[m].k == 0 && maps[m].cs < 0 && !strcmp(joins[j], seps[k])) ||
                    (*joins[j] && !in_outputs(s, joins[j])))
                    continue;
                node = op_node(s, ln, -1, SO_MAP, seps[k], SX_MAP_COND(maps[m].k, maps[m].cs));
                if (node < 0 || !(s->p->node[node].f = strdup(joins[j])))
                    return -1;
                for (e = 0; e < s->n; e++) {
                    const char *why;
                    json_t *v = sx_eval(s->p, node, s->in[e], &why);
                    bool in = v && json_is_string(v) && json_string_length(v) > 0 &&
                              memmem(t->y[e], t->ylen[e], json_string_value(v),
                                     json_string_length(v));

                    json_decref(v);
                    if (!in)
                        break;
                }
                if (e < s->n) {
                    sx_truncate(s->p, keep);
                    continue;
                }
                if (node_atom(t, node, 1.6 + 0.02 * (double)(m + j), false) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

#define MAX_RUNS 4
#define MAX_RUN 4

static bool punct_char(unsigned char c)
{
    return c > ' ' && c < 0x7f &&
           !((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
}

/*
 * Separators of two to four characters that no single one spells: runs of
 * punctuation that every value of leaf li holds ("=//", " - "), at most
 * MAX_RUNS, the first of each value's runs first.
 */
static size_t punct_runs(struct sx_search *s, size_t li, char (*runs)[MAX_RUN + 1])
{
    const char *v = json_string_value(s->leaf[li].v[0]);
    size_t len = json_string_length(s->leaf[li].v[0]), n = 0, i = 0;

    while (i < len && n < MAX_RUNS) {
        size_t j = i, punct = 0;
        bool dup = false;

        while (j < len && (v[j] == ' ' || punct_char((unsigned char)v[j]))) {
            punct += v[j] != ' ';
            j++;
        }
        if (j - i < 2 || j - i > MAX_RUN || !punct) {
            i = j > i ? j : i + 1;
            continue;
        }
        memcpy(runs[n], v + i, j - i);
        runs[n][j - i] = '\0';
        for (size_t k = 0; k < AD_ARRAY_SIZE(seps) && !dup; k++)
            dup = !strcmp(seps[k], runs[n]);
        for (size_t k = 0; k < n && !dup; k++)
            dup = !strcmp(runs[k], runs[n]);
        if (!dup && in_leaf(s, li, runs[n], true))
            n++;
        i = j;
    }
    return n;
}

/* Parts between separators, deletions and replacements, a suffix ensured, an int argument's position. */
static int strop_atoms(struct text *t, size_t li, const int *ln_of_leaf)
{
    static const struct {
        const char *re, *with;
    } subs[] = {
        { "[0-9]+", "" }, { "[^0-9]+", "" }, { "<[^<>]*>", "" }, { SX_SPACE "+", " " },
    };
    static const int parts[] = { 0, 1, -1 };
    struct sx_search *s = t->s;
    int ln = ln_of_leaf[li], rc = 0;

    /* Cell-sized values only: on a long text each operation would be another whole scan. */
    for (size_t e = 0; e < s->n; e++)
        if (json_string_length(s->leaf[li].v[e]) > MAX_OPS_TEXT)
            return 0;
    bool words = capital_word(s, li);

    char runs[MAX_RUNS][MAX_RUN + 1];
    size_t nruns = punct_runs(s, li, runs);

    for (size_t k = 0; rc == 0 && k < AD_ARRAY_SIZE(seps) + nruns; k++) {
        const char *sep = k < AD_ARRAY_SIZE(seps) ? seps[k] : runs[k - AD_ARRAY_SIZE(seps)];
        /*
         * In every value: any part. In some: the first or the last, which
         * is the whole value where the separator is missing, as Python's
         * split gives it.
         */
        bool all = in_leaf(s, li, sep, true);

        if (!all && !in_leaf(s, li, sep, false))
            continue;
        /* all before the last separator, all after the first ("a table.xls" -> "a table") */
        if (rc == 0)
            rc = node_atom(t, op_node(s, ln, -1, SO_HEAD, sep, 0), 1.3, true);
        if (rc == 0)
            rc = node_atom(t, op_node(s, ln, -1, SO_TAIL, sep, 0), 1.35, true);
        for (size_t j = 0; rc == 0 && j < AD_ARRAY_SIZE(parts); j++) {
            int part;

            if (!all && parts[j] == 1)
                continue;
            part = op_node(s, ln, -1, SO_PART, sep, parts[j]);

            rc = node_atom(t, part, 1.15 + 0.1 * (double)j, true);
            /* the part's capitalised words by their initials ("New York" -> "NY") */
            if (rc == 0 && words && part >= 0)
                rc = node_atom(t, op_node(s, part, -1, SO_INITIALS, NULL, 0),
                               1.65 + 0.1 * (double)j, false);
        }
    }
    if (rc == 0)
        rc = map_atoms(t, li, ln);
    if (rc == 0 && words)
        rc = node_atom(t, op_node(s, ln, -1, SO_INITIALS, NULL, 0), 1.5, false);
    /* the first letter (of a first name, before a surname) */
    if (rc == 0)
        rc = node_atom(t, op_node(s, ln, -1, SO_FIRST, NULL, 0), 1.3, true);
    for (size_t k = 0; rc == 0 && k < AD_ARRAY_SIZE(subs); k++)
        rc = node_atom(t, pat_op_node(s, ln, SO_SUB, subs[k].re, subs[k].with), 1.6, true);
    for (size_t k = 0; rc == 0 && k < AD_ARRAY_SIZE(seps) - 2; k++) {
        int old;

        if (!in_leaf(s, li, seps[k], false) || in_outputs(s, seps[k]))
            continue;
        old = sx_node(s->p, SX_CONST, -1, -1, 0);
        if (old >= 0 && !(s->p->node[old].c = json_string(seps[k])))
            return -1;
        rc = node_atom(t, old < 0 ? -1 : op_node(s, ln, old, SO_REPLACE, "", 0), 1.5, true);
        for (size_t d = 0; rc == 0 && d < AD_ARRAY_SIZE(seps) - 2; d++)
            if (d != k && in_outputs(s, seps[d]) && !in_leaf(s, li, seps[d], false))
                rc = node_atom(t, op_node(s, ln, old, SO_REPLACE, seps[d], 0), 1.6, false);
    }
    for (size_t j = 0; rc == 0 && j < s->nleaf; j++) {
        const struct sx_leaf *l = &s->leaf[j];

        if (j == li || l->present != (int)s->n)
            continue;
        if (l->types == 1 << JSON_STRING)
            rc = node_atom(t, op_node(s, ln, ln_of_leaf[j], SO_REPLACE, "", 0), 1.7, true);
        else if (l->types == 1 << JSON_INTEGER) {
            rc = node_atom(t, op_node(s, ln, ln_of_leaf[j], SO_DROP, NULL, 0), 1.5, true);
            for (size_t k = 0; rc == 0 && k < AD_ARRAY_SIZE(seps); k++)
                if (in_leaf(s, li, seps[k], true))
                    rc = node_atom(t, op_node(s, ln, ln_of_leaf[j], SO_SPLIT, seps[k], 0), 1.6,
                                   true);
        }
    }
    /* a suffix every output ends with, which some values have and some lack */
    if (rc == 0 && s->n >= 2) {
        size_t n = t->ylen[0], have = 0;

        for (size_t e = 1; e < s->n; e++) {
            size_t m = 0;

            while (m < n && m < t->ylen[e] &&
                   t->y[0][t->ylen[0] - 1 - m] == t->y[e][t->ylen[e] - 1 - m])
                m++;
            n = m;
        }
        while (n > 0 && ((unsigned char)t->y[0][t->ylen[0] - n] & 0xc0) == 0x80)
            n--;
        if (n >= 2 && n < 64) {
            char suf[64];

            memcpy(suf, t->y[0] + t->ylen[0] - n, n);
            suf[n] = '\0';
            for (size_t e = 0; e < s->n; e++) {
                const char *v = json_string_value(s->leaf[li].v[e]);
                size_t vl = json_string_length(s->leaf[li].v[e]);

                have += vl >= n && !memcmp(v + vl - n, suf, n);
            }
            if (have > 0 && have < s->n)
                rc = node_atom(t, op_node(s, ln, -1, SO_SUFFIX, suf, 0), 2, false);
        }
    }
    return rc;
}

static int build_atoms(struct text *t, const int *ln_of_leaf, bool parts)
{
    static const struct {
        const char *re;
        double cost;
    } classes[] = {
        { "\\d+", 1.0 }, { "[^\\W\\d_]+", 1.05 }, { "[A-Z]+", 1.1 },
        { "\\w+", 1.1 }, { SX_NONSPACE "+", 1.15 },
    };
    /* Match indexes; sx_matches keeps the first and last SX_KEEP, which covers them. */
    static const int all_k[] = { 0, -1, 1, 2, 3, -2 };
    static const int few_k[] = { 0, -1, 1 };
    struct sx_search *s = t->s;
    struct ad_buf shape[2] = { AD_BUF_INIT, AD_BUF_INIT };
    int nshape, rc = 0;

    nshape = shapes(s->p, t->y, t->ylen, s->n, s->n, shape);
    for (size_t i = 0; rc == 0 && i < s->nleaf && !sx_spent(s); i++) {
        int ln = ln_of_leaf[i];

        if (string_leaf(s, i)) {
            struct atom proto = { .leaf = ln, .pat = -1, .cost = 1 };
            json_t **v = calloc(s->n, sizeof(json_t *));
            struct ad_buf label = AD_BUF_INIT;

            if (!v)
                return -1;
            for (size_t e = 0; e < s->n; e++)
                v[e] = (json_t *)s->leaf[i].v[e];
            rc = add_with_cases(t, &proto, v, true);
            free(v);
            if (!searchable(s, i))
                continue;
            for (int k = 0; rc == 0 && k < nshape; k++) {
                int pat = sx_pattern(s->p, shape[k].ptr);

                if (pat >= 0)
                    rc = pattern_atoms(t, i, ln, pat, few_k, AD_ARRAY_SIZE(few_k),
                                       k == 0 && nshape == 2 ? 0.85 : 0.9, false);
            }
            if (rc == 0 && label_of(t, i, &label) > 0) {
                const char *vals[] = { nshape ? shape[nshape - 1].ptr : NULL, SX_NONSPACE "+",
                                       "[^\\r\\n]+" };

                for (size_t k = 0; rc == 0 && k < AD_ARRAY_SIZE(vals); k++) {
                    char *re = vals[k] ? ad_strdupf("%s" SX_SPACE "*(%s)", label.ptr, vals[k])
                                       : NULL;
                    int pat = re ? sx_pattern(s->p, re) : -1;

                    if (pat >= 0)
                        rc = pattern_atoms(t, i, ln, pat, few_k, 1, 1.05 + 0.05 * (double)k,
                                           k == 2);
                    free(re);
                }
            }
            ad_buf_release(&label);
            if (rc == 0)
                rc = strop_atoms(t, i, ln_of_leaf);
            for (size_t c = 0; parts && rc == 0 && c < AD_ARRAY_SIZE(classes); c++) {
                int pat = sx_pattern(s->p, classes[c].re);

                if (pat >= 0)
                    rc = pattern_atoms(t, i, ln, pat, all_k, AD_ARRAY_SIZE(all_k),
                                       classes[c].cost, true);
            }
        } else if (s->leaf[i].present == (int)s->n && !(s->leaf[i].types & ~((1 << JSON_INTEGER) |
                                                                             (1 << JSON_REAL)))) {
            /* Numbers written out: str() for ints, format(".Nf") for any. */
            for (int num = 1; rc == 0 && num <= 4; num++) {
                char **vals = calloc(s->n, sizeof(char *));
                size_t *lens = calloc(s->n, sizeof(size_t));
                struct atom proto = { .leaf = ln, .pat = -1, .cs = -1, .num = num };

                if (!vals || !lens) {
                    free(vals);
                    free(lens);
                    return -1;
                }
                proto.cost = num == 1 ? 1.1 : 1.3;
                for (size_t e = 0; e < s->n; e++) {
                    const json_t *x = s->leaf[i].v[e];

                    if (num == 1 && json_is_integer(x))
                        vals[e] = ad_strdupf("%" JSON_INTEGER_FORMAT, json_integer_value(x));
                    else if (num > 1)
                        vals[e] = ad_strdupf("%.*f", num - 2, json_number_value(x));
                    lens[e] = vals[e] ? strlen(vals[e]) : 0;
                }
                rc = add_atom(t, &proto, vals, lens);
            }
        }
    }
    ad_buf_release(&shape[0]);
    ad_buf_release(&shape[1]);
    return rc;
}

/* The atom's node, made now that it is used. */
static int atom_node(struct sx_search *s, const struct atom *a)
{
    int k = a->leaf;

    if (a->num == 1)
        return sx_node(s->p, SX_STR, k, -1, 0);
    if (a->num > 1)
        return sx_node(s->p, SX_FMT, k, -1, a->num - 2);
    if (a->pat >= 0) {
        k = sx_node(s->p, SX_NTH, k, -1, a->k);
        if (k < 0)
            return -1;
        s->p->node[k].pat = a->pat;
    }
    return a->cs >= 0 ? sx_node(s->p, SX_CASE, k, -1, a->cs) : k;
}

/* ---- the dynamic program ---- */

static size_t hash_pos(const size_t *pos, size_t n)
{
    size_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ pos[i]) * 1099511628211ULL;
    return h;
}

/* The state's index (new ones start unsolved); -1 when the table is full. */
static int state(struct text *t, const size_t *pos, bool *fresh)
{
    size_t n = t->s->n, h = hash_pos(pos, n) & (t->nslot - 1);

    *fresh = false;
    while (t->slot[h] >= 0) {
        if (!memcmp(&t->keys[(size_t)t->slot[h] * n], pos, n * sizeof(size_t)))
            return t->slot[h];
        h = (h + 1) & (t->nslot - 1);
    }
    if (t->nstates == MAX_STATES) {
        t->overflow = true;
        return -1;
    }
    memcpy(&t->keys[t->nstates * n], pos, n * sizeof(size_t));
    t->cost[t->nstates] = NAN;
    t->choice[t->nstates] = 0;
    t->slot[h] = (int)t->nstates;
    *fresh = true;
    return (int)t->nstates++;
}

static size_t char_len(const char *p)
{
    unsigned char c = (unsigned char)*p;

    return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
}

static bool alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

/* The cheapest way to spell every output from pos on; INFINITY when there is none. */
static double best_from(struct text *t, const size_t *pos, int depth)
{
    size_t n = t->s->n, *next;
    bool fresh, done = true;
    double best = INFINITY;
    int st, choice = 0;

    for (size_t e = 0; e < n; e++)
        done &= pos[e] == t->ylen[e];
    if (done)
        return 0;
    st = state(t, pos, &fresh);
    if (st < 0 || depth > MAX_OUT)
        return INFINITY;
    if (!fresh)
        return isnan(t->cost[st]) ? INFINITY : t->cost[st];
    next = malloc(n * sizeof(size_t));
    if (!next)
        return INFINITY;
    for (size_t i = 0; i < t->na; i++) {
        const struct atom *a = &t->a[i];
        size_t e;
        double c;

        if (a->cost >= best)
            continue;
        for (e = 0; e < n; e++) {
            if (!a->v[e] || !a->len[e] || a->len[e] > t->ylen[e] - pos[e] ||
                memcmp(t->y[e] + pos[e], a->v[e], a->len[e]))
                break;
            next[e] = pos[e] + a->len[e];
        }
        if (e < n)
            continue;
        c = a->cost + best_from(t, next, depth + 1);
        if (c < best) {
            best = c;
            choice = (int)i;
        }
    }
    /* One constant character, the same in every output. */
    {
        size_t cl = pos[0] < t->ylen[0] ? char_len(t->y[0] + pos[0]) : 0, e;
        bool letter = cl && alnum((unsigned char)t->y[0][pos[0]]);
        double cc = letter ? 1 : 0.2;

        for (e = 0; cl && e < n; e++) {
            if (cl > t->ylen[e] - pos[e] || memcmp(t->y[e] + pos[e], t->y[0] + pos[0], cl))
                break;
            next[e] = pos[e] + cl;
        }
        if (cl && e == n && !(letter && n < 2) && cc < best) {
            double c = cc + best_from(t, next, depth + 1);

            if (c < best) {
                best = c;
                choice = -1 - (int)cl;
            }
        }
    }
    free(next);
    /* The table may have moved while recursing; index it again. */
    t->cost[st] = best;
    t->choice[st] = choice;
    return best;
}

/* Builds the program the dynamic program chose: parts joined with +; the atoms used in picked. */
static int rebuild(struct text *t, int *node, int *atoms_used, int *picked)
{
    struct sx_search *s = t->s;
    size_t n = s->n, *pos = calloc(n, sizeof(size_t));
    struct ad_buf lit_buf = AD_BUF_INIT;
    int acc = -1, rc = 0;

    *atoms_used = 0;
    if (!pos)
        return -1;
    for (;;) {
        bool done = true, fresh;
        int st, part = -1, choice = 0;

        for (size_t e = 0; e < n; e++)
            done &= pos[e] == t->ylen[e];
        if (!done) {
            st = state(t, pos, &fresh);
            if (st < 0 || fresh) {
                rc = -1;
                break;
            }
            choice = st == t->dev_state ? t->dev_choice : t->choice[st];
            if (choice < 0) {
                size_t cl = (size_t)(-1 - choice);

                rc = ad_buf_add(&lit_buf, t->y[0] + pos[0], cl);
                for (size_t e = 0; e < n; e++)
                    pos[e] += cl;
                if (rc)
                    break;
                continue;
            }
        }
        if (lit_buf.len) {
            int c = sx_node(s->p, SX_CONST, -1, -1, 0);

            if (c < 0 || !(s->p->node[c].c = json_stringn(lit_buf.ptr, lit_buf.len))) {
                rc = -1;
                break;
            }
            ad_buf_reset(&lit_buf);
            acc = acc < 0 ? c : sx_node(s->p, SX_CAT, acc, c, 0);
        }
        if (done)
            break;
        part = atom_node(s, &t->a[choice]);
        if (part < 0) {
            rc = -1;
            break;
        }
        if (*atoms_used <= MAX_OUT)
            picked[*atoms_used] = choice;
        (*atoms_used)++;
        for (size_t e = 0; e < n; e++)
            pos[e] += t->a[choice].len[e];
        acc = acc < 0 ? part : sx_node(s->p, SX_CAT, acc, part, 0);
        if (acc < 0) {
            rc = -1;
            break;
        }
    }
    free(pos);
    ad_buf_release(&lit_buf);
    *node = acc;
    return rc;
}

/*
 * Each atom alone, against the whole outputs: the closest miss for the
 * reason. Read off the atoms' values, which hold what the program would
 * give: evaluating each atom again would run its pattern over every input
 * once more.
 */
static void whole_misses(struct text *t)
{
    struct sx_search *s = t->s;
    size_t keep = s->p->nnode;

    for (size_t i = 0; i < t->na; i++) {
        const struct atom *a = &t->a[i];
        size_t fits = 0;

        for (; fits < s->n; fits++)
            if (!a->v[fits] || a->len[fits] != t->ylen[fits] ||
                memcmp(a->v[fits], t->y[fits], a->len[fits]))
                break;
        if (fits < s->n && ((int)fits > s->best_fits ||
                            ((int)fits == s->best_fits && a->cost < s->best_cost))) {
            int k = atom_node(s, a);
            json_t *got = a->v[fits] ? json_stringn(a->v[fits], a->len[fits]) : NULL;

            if (k >= 0)
                sx_miss(s, k, a->cost, fits, got,
                        a->pat >= 0 ? "the pattern does not match often enough" : NULL);
            json_decref(got);
            sx_truncate(s->p, keep);
        }
    }
}

/*
 * The search for alternatives: the programs one step off the best path
 * (at one state on it another atom or constant, then the best from there),
 * cheapest first. A step off the path is what tells a twin spelling from
 * a program that derives a part otherwise, which dropping the best path's
 * atoms would not reach.
 */
struct dev {
    int st, choice;
    double cost;
};

static int cmp_dev(const void *a, const void *b)
{
    const struct dev *x = a, *y = b;

    return (x->cost > y->cost) - (x->cost < y->cost);
}

static int deviations(struct text *t, double best, struct dev **out, size_t *nout)
{
    size_t n = t->s->n, *pos = calloc(n, sizeof(size_t)), *next = malloc(n * sizeof(size_t));
    size_t cap = 0;
    int rc = 0;

    *out = NULL;
    *nout = 0;
    for (; pos && next;) {
        bool done = true, fresh;
        int st, chosen;
        double prefix;

        for (size_t e = 0; e < n; e++)
            done &= pos[e] == t->ylen[e];
        if (done)
            break;
        st = state(t, pos, &fresh);
        if (st < 0 || fresh)
            break;
        prefix = best - t->cost[st];
        chosen = t->choice[st];
        for (size_t i = 0; i <= t->na; i++) {
            int choice;
            double ec, c;
            size_t e;

            if (i < t->na) {
                const struct atom *a = &t->a[i];

                if ((int)i == chosen || isinf(a->cost))
                    continue;
                for (e = 0; e < n; e++) {
                    if (!a->v[e] || !a->len[e] || a->len[e] > t->ylen[e] - pos[e] ||
                        memcmp(t->y[e] + pos[e], a->v[e], a->len[e]))
                        break;
                    next[e] = pos[e] + a->len[e];
                }
                if (e < n)
                    continue;
                choice = (int)i;
                ec = a->cost;
            } else {
                size_t cl = char_len(t->y[0] + pos[0]);
                bool letter = alnum((unsigned char)t->y[0][pos[0]]);

                if (chosen < 0 || (letter && n < 2))
                    continue;
                for (e = 0; e < n; e++) {
                    if (cl > t->ylen[e] - pos[e] || memcmp(t->y[e] + pos[e], t->y[0] + pos[0], cl))
                        break;
                    next[e] = pos[e] + cl;
                }
                if (e < n)
                    continue;
                choice = -1 - (int)cl;
                ec = letter ? 1 : 0.2;
            }
            c = prefix + ec + best_from(t, next, 0);
            if (isinf(c))
                continue;
            if (*nout == cap) {
                struct dev *v = realloc(*out, (cap = cap ? cap * 2 : 32) * sizeof(*v));

                if (!v) {
                    rc = -1;
                    goto out;
                }
                *out = v;
            }
            (*out)[(*nout)++] = (struct dev){ st, choice, c };
        }
        if (chosen < 0) {
            for (size_t e = 0; e < n; e++)
                pos[e] += (size_t)(-1 - chosen);
        } else {
            for (size_t e = 0; e < n; e++)
                pos[e] += t->a[chosen].len[e];
        }
    }
    if (!pos || !next)
        rc = -1;
    else if (*nout)
        qsort(*out, *nout, sizeof(**out), cmp_dev);
out:
    free(pos);
    free(next);
    return rc;
}

/* The cheapest program one step off the best path that is not turned down; -1 when none. */
static int next_best(struct text *t, double best, int *node, double *cost)
{
    struct sx_search *s = t->s;
    struct dev *d;
    size_t nd;
    int used, picked[MAX_OUT + 1], rc = -1;

    if (deviations(t, best, &d, &nd) < 0)
        return -1;
    for (size_t i = 0; i < nd && rc < 0; i++) {
        size_t keep = s->p->nnode;

        if (d[i].cost > best + AD_SYNTH_ALT_MARGIN)
            break;
        t->dev_state = d[i].st;
        t->dev_choice = d[i].choice;
        if (rebuild(t, node, &used, picked) == 0 && *node >= 0 && used > 0 &&
            !sx_rejected(s, *node)) {
            *cost = d[i].cost;
            rc = 0;
        } else {
            sx_truncate(s->p, keep);
        }
    }
    t->dev_state = -1;
    free(d);
    return rc;
}

static int text_init(struct text *t, struct sx_search *s)
{
    memset(t, 0, sizeof(*t));
    t->s = s;
    t->dev_state = -1;
    t->y = calloc(s->n, sizeof(char *));
    t->ylen = calloc(s->n, sizeof(size_t));
    return t->y && t->ylen ? 0 : -1;
}

static void text_release(struct text *t)
{
    atoms_free(t);
    free(t->y);
    free(t->ylen);
    free(t->keys);
    free(t->cost);
    free(t->choice);
    free(t->slot);
}

int sx_text_search(struct sx_search *s, int *node, double *cost)
{
    struct text t;
    size_t *pos = NULL, maxlen = 0;
    int used = 0, rc = AD_ENOTFOUND, picked[MAX_OUT + 1];
    double c;

    *node = -1;
    if (text_init(&t, s) < 0)
        return -1;
    for (size_t e = 0; e < s->n; e++) {
        t.y[e] = json_string_value(s->out[e]);
        t.ylen[e] = json_string_length(s->out[e]);
        if (t.ylen[e] > maxlen)
            maxlen = t.ylen[e];
    }
    if (build_atoms(&t, s->ln, maxlen <= MAX_OUT) < 0) {
        rc = -1;
        goto out;
    }
    s->considered += (long)t.na;
    whole_misses(&t);
    t.cap = MAX_STATES;
    t.nslot = 1 << 16;
    t.keys = malloc(t.cap * s->n * sizeof(size_t));
    t.cost = malloc(t.cap * sizeof(double));
    t.choice = malloc(t.cap * sizeof(int));
    t.slot = malloc(t.nslot * sizeof(int));
    pos = calloc(s->n, sizeof(size_t));
    if (!t.keys || !t.cost || !t.choice || !t.slot || !pos) {
        rc = -1;
        goto out;
    }
    memset(t.slot, 0xff, t.nslot * sizeof(int));
    if (maxlen > MAX_OUT) {
        /* Too long to take apart: only an atom that is the whole output will do. */
        for (size_t i = 0; i < t.na && *node < 0; i++) {
            size_t e;

            for (e = 0; e < s->n; e++)
                if (!t.a[i].v[e] || t.a[i].len[e] != t.ylen[e] ||
                    memcmp(t.a[i].v[e], t.y[e], t.ylen[e]))
                    break;
            if (e == s->n && (*node = atom_node(s, &t.a[i])) >= 0) {
                *cost = t.a[i].cost;
                rc = 0;
            }
        }
        goto out;
    }
    for (int round = 0;; round++) {
        size_t keep = s->p->nnode;

        c = best_from(&t, pos, 0);
        if (isinf(c))
            goto out;
        if (rebuild(&t, node, &used, picked) < 0) {
            rc = -1;
            goto out;
        }
        if (used == 0 || *node < 0) {
            *node = -1;    /* constants alone: the constant family's business */
            goto out;
        }
        if (!s->nrejected || round >= (int)s->nrejected + MAX_TWIN_ROUNDS ||
            !sx_rejected(s, *node))
            break;
        /* The search for alternatives: a step off the best path first. */
        if (round == 0 && s->probes) {
            sx_truncate(s->p, keep);
            if (next_best(&t, c, node, &c) == 0)
                break;
            if (rebuild(&t, node, &used, picked) < 0) {
                rc = -1;
                goto out;
            }
        }
        /*
         * Python disagreed with this very program in an earlier pass (or it
         * was found before, in the search for alternatives): the next best
         * spelling is one without its atoms. Atoms that spell the same
         * program twice are each a round, so there are a few more rounds
         * than programs turned down.
         */
        for (int k = 0; k < used && k <= MAX_OUT; k++)
            t.a[picked[k]].cost = INFINITY;
        sx_truncate(s->p, keep);
        t.nstates = 0;
        memset(t.slot, 0xff, t.nslot * sizeof(int));
    }
    *cost = c;
    rc = sx_try(s, *node, c) ? 0 : AD_ENOTFOUND;
out:
    free(pos);
    text_release(&t);
    return rc;
}

int sx_list_text_search(struct sx_search *s, int *node, double *cost)
{
    static const char *const classes[] = { "\\d+", "[^\\W\\d_]+", "\\w+", SX_NONSPACE "+" };
    struct ad_buf shape[2] = { AD_BUF_INIT, AD_BUF_INIT };
    const char **items = NULL;
    size_t *lens = NULL, nitems = 0, keep = s->p->nnode;
    int nshape = 0, rc = AD_ENOTFOUND;
    double best = INFINITY;

    *node = -1;
    for (size_t e = 0; e < s->n; e++) {
        const json_t *v;
        size_t i;

        json_array_foreach(s->out[e], i, v)
            if (!json_is_string(v))
                return AD_ENOTFOUND;
        nitems += json_array_size(s->out[e]);
    }
    items = calloc(nitems + 1, sizeof(char *));
    lens = calloc(nitems + 1, sizeof(size_t));
    if (!items || !lens) {
        rc = -1;
        goto out;
    }
    nitems = 0;
    for (size_t e = 0; e < s->n; e++) {
        const json_t *v;
        size_t i;

        json_array_foreach(s->out[e], i, v) {
            items[nitems] = json_string_value(v);
            lens[nitems++] = json_string_length(v);
        }
    }
    if (nitems)
        nshape = shapes(s->p, items, lens, nitems, nitems, shape);
    keep = s->p->nnode;
    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        if (!string_leaf(s, i) || !searchable(s, i))
            continue;
        for (size_t c = 0; c < AD_ARRAY_SIZE(classes) + (size_t)nshape; c++) {
            const char *re = c < (size_t)nshape ? shape[c].ptr : classes[c - (size_t)nshape];
            double cost_c = 2 + 0.05 * (double)c;
            int pat = sx_pattern(s->p, re), k;

            if (pat < 0 || cost_c >= best)
                continue;
            k = sx_node(s->p, SX_ALL, s->ln[i], -1, 0);
            if (k < 0) {
                rc = -1;
                goto out;
            }
            s->p->node[k].pat = pat;
            if (sx_try(s, k, cost_c)) {
                *node = k;
                best = cost_c;
                keep = s->p->nnode;
                rc = 0;
            } else {
                sx_truncate(s->p, keep);
            }
        }
    }
    *cost = best;
out:
    ad_buf_release(&shape[0]);
    ad_buf_release(&shape[1]);
    free(items);
    free(lens);
    return rc;
}
