/*
 * Synthesis by example: the search.
 *
 * The examples' inputs are walked once for their leaves: every path of
 * keys and list indexes (0, 1, -1) down to SX_MAX_DEPTH levels, with the
 * value each example has there. Candidate programs are built from those
 * leaves family by family, each with a cost, and checked on every example;
 * the cheapest that fits them all wins. Costs, lowest first:
 *
 *   1      a leaf as it is                       data["customer"]["email"]
 *   ~1.2   a match of a pattern in a string leaf  _nth(r"INV-\d+", text, 0)
 *   ~1.3   a case change on top                   name.title()
 *   2      rounding a number, len() of a list     round(total, 2)
 *   2.5    a leaf with a default for the inputs that lack it
 *   2.5-4  sum/min/max/mean over a list or a field of its items
 *   3      two numeric leaves combined            price * qty
 *   3      a comparison with a round threshold    amount > 100
 *   3-5    a list filtered by a field             [item["name"] for item in ...]
 *   4.5    a percentage                           round(a / b * 100, 1)
 *   5      a constant factor or offset            round(net * 1.2, 2)
 *   parts  a string made of several parts: the parts' costs plus 0.2 per
 *          punctuation or space character between them and 1 per letter
 *          or digit, which is allowed only when two or more examples agree
 *   8      the same constant for every input (two or more examples)
 *
 * Rounding adds 1. Ties go to the candidate found first, and the order of
 * the families above is the order they are searched in; a candidate is not
 * even tried once its cost cannot beat the best found.
 *
 * The work is bounded (synth.h): every candidate tried and every byte a
 * pattern or case change runs over is counted, and once either budget is
 * spent sx_try turns everything down and the families' loops stop; a search
 * cut short fails with AD_ELIMIT rather than hand out a program that is
 * perhaps not the simplest. With the Python re-check, ad_synth runs passes:
 * a program Python disagrees with is remembered as text and turned down in
 * the next pass, which shares the budget of the first.
 *
 * Sections: checking the examples / parameters / leaves / trying candidates
 * (sx_try, the budget) / the families / the whole search / passes and the
 * Python re-check (ad_synth).
 */
#include "compat.h"

#include <math.h>

#include "autodev/json.h"
#include "autodev/text.h"

#include "synth_int.h"

#define MAX_LEAVES 200
#define MAX_KW_PARAMS 12
#define MAX_PAIR_LEAVES 48      /* numeric leaves paired for arithmetic (quadratic) */
#define AD_SYNTH_TIE 0.05       /* alternatives this close in cost are a tie */
#define AD_SYNTH_PERTURBED_MARGIN 0.3   /* near enough to report on a perturbed input */

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

/* ---- checking the examples ---- */

/* Python keywords and the names the emitted code uses itself. */
static bool reserved(const char *s)
{
    static const char *const words[] = {
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield", "match", "case", "re", "item", "round", "sum", "len",
        "min", "max", "str", "format", "int", "float", "bool", "list", "dict", "isinstance",
        "Any", "_nth", "_dig", "_int",
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(words); i++)
        if (!strcmp(s, words[i]))
            return true;
    return false;
}

static int check_examples(const json_t *ex, struct ad_err *err)
{
    const json_t *e;
    size_t i;

    if (!json_is_array(ex))
        return ad_error(err, AD_EINVAL, "examples: expected an array of {\"input\", \"output\"}");
    if (json_array_size(ex) == 0)
        return ad_error(err, AD_EINVAL, "examples: none given");
    if (json_array_size(ex) > AD_SYNTH_MAX_EXAMPLES)
        return ad_error(err, AD_ETOOBIG, "examples: %zu given, at most %d", json_array_size(ex),
                        AD_SYNTH_MAX_EXAMPLES);
    json_array_foreach(ex, i, e) {
        if (!json_is_object(e))
            return ad_error(err, AD_EINVAL, "example %zu: expected an object", i + 1);
        if (!json_object_get(e, "input"))
            return ad_error(err, AD_EINVAL, "example %zu: no \"input\"", i + 1);
        if (!json_object_get(e, "output"))
            return ad_error(err, AD_EINVAL, "example %zu: no \"output\"", i + 1);
    }
    return 0;
}

/* Two examples with equal inputs and different outputs: no function fits. */
static int contradiction(struct sx_search *s, struct ad_synth_result *res, struct ad_err *err)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = i + 1; j < s->n; j++) {
            if (sx_equal(s->in[i], s->in[j]) &&
                !sx_equal(s->out[i], s->out[j])) {
                res->why = ad_strdupf("examples %zu and %zu have the same input but different "
                                      "outputs: no function gives both",
                                      i + 1, j + 1);
                return res->why ? ad_error(err, AD_ENOTFOUND, "%s", res->why) : oom(err);
            }
        }
    }
    return 0;
}

/* ---- parameters ---- */

static void type_hint(const json_t *const *v, size_t n, bool optional, char *out, size_t size)
{
    int types = 0;
    const char *t;

    for (size_t i = 0; i < n; i++)
        if (v[i] && !json_is_null(v[i]))
            types |= 1 << (json_is_boolean(v[i]) ? JSON_TRUE : json_typeof(v[i]));
    if (types == 1 << JSON_STRING)
        t = "str";
    else if (types == 1 << JSON_INTEGER)
        t = "int";
    else if (types && !(types & ~((1 << JSON_INTEGER) | (1 << JSON_REAL))))
        t = "float";
    else if (types == 1 << JSON_TRUE)
        t = "bool";
    else if (types == 1 << JSON_ARRAY)
        t = "list";
    else if (types == 1 << JSON_OBJECT)
        t = "dict";
    else if (!types)
        t = "None";
    else
        t = "Any";
    if (optional && strcmp(t, "Any") && strcmp(t, "None"))
        snprintf(out, size, "%s | None", t);
    else
        snprintf(out, size, "%s", t);
}

static int add_param(struct ad_synth_program *p, const char *name)
{
    struct sx_param *v = realloc(p->param, (p->nparam + 1) * sizeof(*v));

    if (!v)
        return -1;
    p->param = v;
    memset(&v[p->nparam], 0, sizeof(v[0]));
    v[p->nparam].name = strdup(name);
    return v[p->nparam++].name ? 0 : -1;
}

/* Keyword arguments when every input is an object of usable names, else one argument. */
static int choose_mode(struct sx_search *s)
{
    struct ad_synth_program *p = s->p;
    bool all_str = true, kw = true;
    const char *k;
    json_t *v;

    for (size_t i = 0; i < s->n; i++) {
        all_str &= json_is_string(s->in[i]);
        kw &= json_is_object(s->in[i]) && json_object_size(s->in[i]) > 0;
        if (kw)
            json_object_foreach((json_t *)s->in[i], k, v)
                kw &= ad_text_identifier(k, 64) && !reserved(k);
    }
    if (kw) {
        for (size_t i = 0; i < s->n; i++) {
            json_object_foreach((json_t *)s->in[i], k, v) {
                size_t j;

                for (j = 0; j < p->nparam && strcmp(p->param[j].name, k); j++)
                    ;
                if (j == p->nparam && add_param(p, k) < 0)
                    return -1;
            }
        }
        if (p->nparam <= MAX_KW_PARAMS) {
            p->mode = MODE_KW;
            return 0;
        }
        for (size_t i = 0; i < p->nparam; i++)
            free(p->param[i].name);
        p->nparam = 0;
    }
    p->mode = all_str ? MODE_TEXT : MODE_DATA;
    return add_param(p, all_str ? "text" : "data");
}

/* Types and defaults of the parameters, once the program is known. */
static int finish_params(struct sx_search *s)
{
    struct ad_synth_program *p = s->p;
    const json_t **v = calloc(s->n, sizeof(*v));
    struct sx_param *req, *opt;
    size_t nreq = 0;

    if (!v)
        return -1;
    for (size_t i = 0; i < p->nparam; i++) {
        struct sx_param *pa = &p->param[i];
        size_t present = 0;

        for (size_t e = 0; e < s->n; e++) {
            v[e] = p->mode == MODE_KW ? json_object_get(s->in[e], pa->name) : s->in[e];
            present += v[e] != NULL;
        }
        pa->optional = present < s->n;
        type_hint(v, s->n, pa->optional, pa->type, sizeof(pa->type));
    }
    for (size_t e = 0; e < s->n; e++)
        v[e] = s->out[e];
    type_hint(v, s->n, false, p->rtype, sizeof(p->rtype));
    free(v);
    /* A default the program relies on becomes the parameter's default. */
    for (size_t i = 0; p->mode == MODE_KW && i < p->nnode; i++) {
        const struct sx *x = &p->node[i];

        if (x->kind != SX_PATH || !x->c || x->path.n != 1)
            continue;
        for (size_t j = 0; j < p->nparam; j++) {
            if (!strcmp(p->param[j].name, x->path.step[0].key) && !p->param[j].def &&
                !json_is_null(x->c))
                p->param[j].def = json_incref(x->c);
        }
    }
    /* Required parameters first, as Python wants them. */
    req = malloc(p->nparam * sizeof(*req) + 1);
    if (!req)
        return -1;
    opt = req;
    for (size_t i = 0; i < p->nparam; i++)
        if (!p->param[i].optional)
            req[nreq++] = p->param[i];
    opt = req + nreq;
    for (size_t i = 0, k = 0; i < p->nparam; i++)
        if (p->param[i].optional)
            opt[k++] = p->param[i];
    memcpy(p->param, req, p->nparam * sizeof(*req));
    free(req);
    return 0;
}

/* ---- leaves ---- */

static bool path_eq(const struct sx_path *a, const struct sx_path *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        if (!a->step[i].key != !b->step[i].key)
            return false;
        if (a->step[i].key ? strcmp(a->step[i].key, b->step[i].key)
                           : a->step[i].idx != b->step[i].idx)
            return false;
    }
    return true;
}

static int add_leaf(struct sx_search *s, const struct sx_path *path)
{
    struct sx_leaf *l;

    for (size_t i = 0; i < s->nleaf; i++)
        if (path_eq(&s->leaf[i].path, path))
            return 0;
    if (s->nleaf == MAX_LEAVES)
        return 0;
    l = &s->leaf[s->nleaf];
    memset(l, 0, sizeof(*l));
    l->path.n = path->n;
    for (int i = 0; i < path->n; i++) {
        l->path.step[i].idx = path->step[i].idx;
        if (path->step[i].key && !(l->path.step[i].key = strdup(path->step[i].key)))
            return -1;
    }
    l->v = calloc(s->n, sizeof(*l->v));
    if (!l->v)
        return -1;
    s->nleaf++;
    for (size_t e = 0; e < s->n; e++) {
        l->v[e] = sx_walk(&l->path, s->in[e]);
        if (l->v[e]) {
            l->present++;
            l->types |= 1 << json_typeof(l->v[e]);
        }
    }
    return 0;
}

static int walk(struct sx_search *s, const json_t *v, struct sx_path *path)
{
    int rc = 0;

    if (path->n > 0 || s->p->mode != MODE_KW)
        rc = add_leaf(s, path);
    if (rc < 0 || path->n == SX_MAX_DEPTH)
        return rc;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;

        json_object_foreach((json_t *)v, k, x) {
            path->step[path->n].key = (char *)k;
            path->n++;
            rc = walk(s, x, path);
            path->n--;
            if (rc < 0)
                return rc;
        }
    } else if (json_is_array(v)) {
        static const long idx[] = { 0, 1, -1 };
        long size = (long)json_array_size(v);

        for (size_t i = 0; i < AD_ARRAY_SIZE(idx) && rc == 0; i++) {
            if (idx[i] >= size || (idx[i] < 0 && size < 2))
                continue;
            path->step[path->n].key = NULL;
            path->step[path->n].idx = idx[i];
            path->n++;
            rc = walk(s, json_array_get(v, idx[i] < 0 ? (size_t)(size + idx[i]) : (size_t)idx[i]),
                      path);
            path->n--;
        }
    }
    return rc;
}

static int leaf_node(struct sx_search *s, size_t i, const json_t *def)
{
    int k = sx_node(s->p, SX_PATH, -1, -1, 0);

    if (k < 0)
        return -1;
    s->p->node[k].path.n = s->leaf[i].path.n;
    for (int j = 0; j < s->leaf[i].path.n; j++) {
        const struct sx_step *st = &s->leaf[i].path.step[j];

        s->p->node[k].path.step[j].idx = st->idx;
        if (st->key && !(s->p->node[k].path.step[j].key = strdup(st->key)))
            return -1;
    }
    s->p->node[k].c = def ? json_incref((json_t *)def) : NULL;
    return k;
}

/* ---- trying candidates ---- */

bool sx_spent(const struct sx_search *s)
{
    return s->p->spent || s->considered >= s->max_candidates;
}

bool sx_rejected(struct sx_search *s, int node)
{
    struct ad_buf e = AD_BUF_INIT;
    bool found = false;

    if (sx_emit_expr(s->p, node, &e) < 0) {
        ad_buf_release(&e);
        return true;
    }
    for (size_t i = 0; i < s->nrejected && !found; i++)
        found = !strcmp(e.ptr, s->rejected[i]);
    ad_buf_release(&e);
    return found;
}

bool sx_try(struct sx_search *s, int node, double cost)
{
    size_t fits = 0;
    json_t *got = NULL;
    const char *why = NULL;

    if (sx_spent(s))
        return false;
    /* Examples in order; the first miss ends the run (a candidate is as close as its prefix). */
    s->considered++;
    if (s->nrejected && sx_rejected(s, node))
        return false;
    for (; fits < s->n; fits++) {
        got = sx_eval(s->p, node, s->in[fits], &why);
        if (!got || !sx_equal(got, s->out[fits]))
            break;
        json_decref(got);
        got = NULL;
    }
    if (fits == s->n)
        return true;
    /* A miss for want of budget says nothing of the candidate. */
    if (s->p->spent) {
        json_decref(got);
        return false;
    }
    sx_miss(s, node, cost, fits, got, why);
    json_decref(got);
    return false;
}

void sx_miss(struct sx_search *s, int node, double cost, size_t fits, const json_t *got,
             const char *why)
{
    if ((int)fits > s->best_fits || ((int)fits == s->best_fits && cost < s->best_cost)) {
        s->best_fits = (int)fits;
        s->best_cost = cost;
        s->best_fail = fits;
        ad_buf_reset(&s->best_desc);
        sx_emit_expr(s->p, node, &s->best_desc);
        free(s->best_got);
        s->best_got = got ? ad_json_dumps(got)
                          : ad_strdupf("an error (%s)", why ? why : "no value");
    }
}

struct best {
    int node;
    double cost;
    size_t keep;    /* nodes to keep after a rejected candidate */
};

/* Tries a candidate built since b->keep; keeps it when it fits and is cheaper. */
static void consider(struct sx_search *s, struct best *b, int node, double cost)
{
    if (node >= 0 && cost < b->cost && sx_try(s, node, cost)) {
        b->node = node;
        b->cost = cost;
        b->keep = s->p->nnode;
        return;
    }
    sx_truncate(s->p, b->keep);
}

static bool all_type(struct sx_search *s, const json_t **v, int mask)
{
    for (size_t e = 0; e < s->n; e++)
        if (!v[e] || !((1 << json_typeof(v[e])) & mask))
            return false;
    return true;
}

#define NUMBER ((1 << JSON_INTEGER) | (1 << JSON_REAL))

static bool numeric_leaf(const struct sx_search *s, size_t i)
{
    return s->leaf[i].present == (int)s->n && !(s->leaf[i].types & ~NUMBER);
}

static int with_const(struct sx_search *s, enum sx_kind kind, int a, int n, json_t *c)
{
    int k = c ? sx_node(s->p, kind, a, -1, n) : -1;

    if (k >= 0)
        s->p->node[k].c = c;
    else
        json_decref(c);
    return k;
}

/* node, then node rounded to 0..3 digits and to an int, each at cost + 1. */
static void rounded(struct sx_search *s, struct best *b, int node, double cost)
{
    size_t keep = b->keep;

    if (node < 0)
        return;
    b->keep = s->p->nnode;          /* the unrounded node is shared by the variants */
    consider(s, b, node, cost);
    for (int d = -1; d <= 3; d++) {
        if (cost + 1 + 0.05 * d >= b->cost)
            break;
        consider(s, b, sx_node(s->p, SX_ROUND, node, -1, d), cost + 1 + 0.05 * (d + 1));
    }
    if (b->keep == s->p->nnode && b->node != node && (b->node < 0 || (size_t)b->node < keep))
        sx_truncate(s->p, keep);
    if (b->node < 0 || (size_t)b->node < keep)
        b->keep = keep, sx_truncate(s->p, keep);
}

/* ---- the families ---- */

static void paths(struct sx_search *s, struct best *b, const int *ln)
{
    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        const struct sx_leaf *l = &s->leaf[i];
        const json_t *def = NULL;
        bool ok = l->present > 0 && l->present < (int)s->n;

        if (l->present == (int)s->n) {
            s->considered++;
            if (1 + 0.05 * l->path.n < b->cost && sx_try(s, ln[i], 1 + 0.05 * l->path.n)) {
                b->node = ln[i];
                b->cost = 1 + 0.05 * l->path.n;
            }
            continue;
        }
        /* A default: every input lacking the leaf has the same scalar output. */
        for (size_t e = 0; ok && e < s->n; e++) {
            if (l->v[e])
                continue;
            if (json_is_array(s->out[e]) || json_is_object(s->out[e]))
                ok = false;
            else if (!def)
                def = s->out[e];
            else
                ok = sx_equal(def, s->out[e]);
        }
        if (ok)
            consider(s, b, leaf_node(s, i, def), 2.5 + 0.05 * l->path.n);
    }
}

static void constant(struct sx_search *s, struct best *b)
{
    for (size_t e = 1; e < s->n; e++)
        if (!sx_equal(s->out[0], s->out[e]))
            return;
    if (s->n >= 2)
        consider(s, b, with_const(s, SX_CONST, -1, 0, json_deep_copy(s->out[0])), 8);
}

/* Round numbers near x: the shortest decimal forms, from 1 to 4 significant digits. */
static int nice_values(double x, double *out)
{
    int n = 0;

    for (int prec = 1; prec <= 4; prec++) {
        char tmp[64];
        double v;

        snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
        v = strtod(tmp, NULL);
        if (n == 0 || out[n - 1] != v)
            out[n++] = v;
    }
    return n;
}

static json_t *number_json(double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static void arithmetic(struct sx_search *s, struct best *b, const int *ln)
{
    static const double op_cost[] = { 3, 3.05, 3, 3.05 };
    size_t seen = 0;

    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        size_t seen_j = 0;

        if (!numeric_leaf(s, i) || seen++ == MAX_PAIR_LEAVES)
            continue;
        rounded(s, b, ln[i], 1 + 0.05 * s->leaf[i].path.n);
        for (size_t j = 0; j < s->nleaf && !sx_spent(s); j++) {
            if (j == i || !numeric_leaf(s, j) || seen_j++ >= MAX_PAIR_LEAVES)
                continue;
            for (int op = OP_ADD; op <= OP_DIV; op++) {
                if ((op == OP_ADD || op == OP_MUL) && j < i)
                    continue;
                if (op_cost[op] >= b->cost)
                    continue;
                rounded(s, b, sx_node(s->p, SX_BIN, ln[i], ln[j], op), op_cost[op]);
            }
            /* a / b * 100 */
            if (4.5 < b->cost) {
                int q = sx_node(s->p, SX_BIN, ln[i], ln[j], OP_DIV);
                int h = with_const(s, SX_CONST, -1, 0, json_integer(100));

                rounded(s, b, q < 0 || h < 0 ? -1 : sx_node(s->p, SX_BIN, q, h, OP_MUL), 4.5);
            }
        }
    }
    /* A constant factor or offset that every example agrees on. */
    if (s->n < 2 || 5 >= b->cost)
        return;
    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        double a, y, nv[8];
        int nn;

        if (!numeric_leaf(s, i) || !json_is_number(s->out[0]))
            continue;
        a = json_number_value(s->leaf[i].v[0]);
        y = json_number_value(s->out[0]);
        for (int op = OP_ADD; op <= OP_MUL; op += OP_MUL - OP_ADD) {
            if (op == OP_MUL && a == 0)
                continue;
            nn = nice_values(op == OP_MUL ? y / a : y - a, nv);
            for (int k = 0; k < nn; k++) {
                int c = with_const(s, SX_CONST, -1, 0, number_json(nv[k]));

                if (nv[k] == 0 || (op == OP_MUL && nv[k] == 1))
                    continue;
                rounded(s, b, c < 0 ? -1 : sx_node(s->p, SX_BIN, ln[i], c, op), 5);
            }
        }
    }
}

/* Field names every item of every example's list has, with the types they take. */
static size_t item_fields(struct sx_search *s, size_t li, const char **names, int *types,
                          size_t max)
{
    size_t n = 0;
    const json_t *first = NULL;

    for (size_t e = 0; e < s->n && !first; e++)
        if (json_array_size(s->leaf[li].v[e]))
            first = json_array_get(s->leaf[li].v[e], 0);
    if (!json_is_object(first))
        return 0;
    {
        const char *k;
        json_t *v;

        json_object_foreach((json_t *)first, k, v) {
            bool all = true;
            int t = 0;

            for (size_t e = 0; all && e < s->n; e++) {
                const json_t *it;
                size_t j;

                json_array_foreach(s->leaf[li].v[e], j, it) {
                    const json_t *x = json_object_get(it, k);

                    if (!x) {
                        all = false;
                        break;
                    }
                    t |= 1 << json_typeof(x);
                }
            }
            if (all && n < max) {
                names[n] = k;
                types[n++] = t;
            }
        }
    }
    return n;
}

static bool list_leaf(const struct sx_search *s, size_t i)
{
    return s->leaf[i].present == (int)s->n && s->leaf[i].types == 1 << JSON_ARRAY;
}

static int agg_node(struct sx_search *s, int list, int agg, const char *f, const char *f2)
{
    int k = sx_node(s->p, SX_AGG, list, -1, agg);

    if (k >= 0 && f && !(s->p->node[k].f = strdup(f)))
        return -1;
    if (k >= 0 && f2 && !(s->p->node[k].f2 = strdup(f2)))
        return -1;
    return k;
}

static void aggregates(struct sx_search *s, struct best *b, const int *ln)
{
    static const double agg_cost[] = { 2.5, 2, 3.5, 3, 3 };
    const char *names[16];
    int types[16];

    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        size_t nf;

        if (!list_leaf(s, i))
            continue;
        consider(s, b, agg_node(s, ln[i], AGG_LEN, NULL, NULL), agg_cost[AGG_LEN]);
        nf = item_fields(s, i, names, types, AD_ARRAY_SIZE(names));
        for (int agg = AGG_SUM; agg <= AGG_MAX; agg++) {
            if (agg == AGG_LEN)
                continue;
            if (nf == 0 && agg_cost[agg] < b->cost)
                rounded(s, b, agg_node(s, ln[i], agg, NULL, NULL), agg_cost[agg]);
            for (size_t f = 0; f < nf; f++) {
                if (types[f] & ~NUMBER)
                    continue;
                if (agg_cost[agg] + 0.5 < b->cost)
                    rounded(s, b, agg_node(s, ln[i], agg, names[f], NULL), agg_cost[agg] + 0.5);
                for (size_t g = f + 1; agg == AGG_SUM && g < nf; g++)
                    if (!(types[g] & ~NUMBER) && 3.5 < b->cost)
                        rounded(s, b, agg_node(s, ln[i], AGG_SUM, names[f], names[g]), 3.5);
            }
        }
    }
}

/* The roundest number t with lo < t <= hi (lo_open) or lo <= t < hi; false if none. */
static bool roundest(double lo, double hi, bool upper_closed, double *t)
{
    static const double steps[] = { 1000, 500, 100, 50, 10, 5, 1, 0.5, 0.1, 0.05, 0.01 };

    for (size_t i = 0; i < AD_ARRAY_SIZE(steps); i++) {
        double k = upper_closed ? floor(lo / steps[i]) + 1 : ceil(lo / steps[i]);
        double v = k * steps[i];

        if (upper_closed ? (v > lo && v <= hi) : (v >= lo && v < hi)) {
            *t = v;
            return true;
        }
    }
    return false;
}

static void thresholds(struct sx_search *s, struct best *b, const int *ln)
{
    for (size_t e = 0; e < s->n; e++)
        if (!json_is_boolean(s->out[e]))
            return;
    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        double tlo = INFINITY, thi = -INFINITY, flo = INFINITY, fhi = -INFINITY, t;

        if (!numeric_leaf(s, i))
            continue;
        for (size_t e = 0; e < s->n; e++) {
            double v = json_number_value(s->leaf[i].v[e]);

            if (json_is_true(s->out[e])) {
                tlo = fmin(tlo, v);
                thi = fmax(thi, v);
            } else {
                flo = fmin(flo, v);
                fhi = fmax(fhi, v);
            }
        }
        if (isinf(tlo) || isinf(flo))
            continue;
        /* true above: x > t with fhi <= t < tlo, or x >= t with fhi < t <= tlo */
        if (fhi < tlo && roundest(fhi, tlo, false, &t))
            consider(s, b, with_const(s, SX_CMP, ln[i], CMP_GT, number_json(t)), 3);
        if (fhi < tlo && roundest(fhi, tlo, true, &t))
            consider(s, b, with_const(s, SX_CMP, ln[i], CMP_GE, number_json(t)), 3.05);
        if (thi < flo && roundest(thi, flo, true, &t))
            consider(s, b, with_const(s, SX_CMP, ln[i], CMP_LT, number_json(t)), 3);
        for (size_t j = 0; j < s->nleaf && !sx_spent(s); j++) {
            if (j == i || !numeric_leaf(s, j))
                continue;
            for (int op = CMP_GT; op <= CMP_GE && 3.5 < b->cost; op++)
                consider(s, b, sx_node(s->p, SX_CMP, ln[i], ln[j], op), 3.5);
        }
    }
}

static int filter_node(struct sx_search *s, int list, const char *map, int cond,
                       const char *g, json_t *c)
{
    int k = sx_node(s->p, SX_FILTER, list, -1, 0);

    if (k < 0) {
        json_decref(c);
        return -1;
    }
    s->p->node[k].cond = cond;
    s->p->node[k].c = c;
    if ((map && !(s->p->node[k].f = strdup(map))) || (g && !(s->p->node[k].g = strdup(g))))
        return -1;
    return k;
}

/* The distinct values field g takes over every example's items (at most max). */
static size_t field_values(struct sx_search *s, size_t li, const char *g, const json_t **out,
                           size_t max)
{
    size_t n = 0;

    for (size_t e = 0; e < s->n; e++) {
        const json_t *it;
        size_t j;

        json_array_foreach(s->leaf[li].v[e], j, it) {
            const json_t *x = json_object_get(it, g);
            size_t k;

            for (k = 0; k < n && !sx_equal(out[k], x); k++)
                ;
            if (k == n && n < max)
                out[n++] = x;
        }
    }
    return n;
}

static int cmp_num(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Lists filtered by a field (outputs lists), or how many items pass (outputs counts). */
static void filters(struct sx_search *s, struct best *b, const int *ln, bool count)
{
    const char *names[16];
    int types[16];
    const json_t *vals[24];

    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        size_t nf;

        if (!list_leaf(s, i))
            continue;
        nf = item_fields(s, i, names, types, AD_ARRAY_SIZE(names));
        for (size_t m = 0; m <= nf; m++) {
            const char *map = m < nf ? names[m] : NULL;
            double base = count ? 4.5 : map ? 3.5 : 3;

            if (count && map)
                continue;
            if (!count && map)
                consider(s, b, filter_node(s, ln[i], map, COND_NONE, NULL, NULL), 3);
            for (size_t g = 0; g < nf; g++) {
                int t = types[g];

                if (t == ((1 << JSON_TRUE) | (1 << JSON_FALSE)) || t == 1 << JSON_TRUE ||
                    t == 1 << JSON_FALSE) {
                    int k = filter_node(s, ln[i], map, COND_TRUTHY, names[g], NULL);

                    consider(s, b, count ? sx_node(s->p, SX_AGG, k, -1, AGG_LEN) : k, base + 0.5);
                }
                if (!(t & ~((1 << JSON_STRING) | (1 << JSON_TRUE) | (1 << JSON_FALSE) |
                            (1 << JSON_INTEGER)))) {
                    size_t nv = field_values(s, i, names[g], vals, AD_ARRAY_SIZE(vals));

                    for (size_t v = 0; v < nv && base + 1 < b->cost; v++) {
                        int k = filter_node(s, ln[i], map, COND_EQ, names[g],
                                            json_deep_copy(vals[v]));

                        consider(s, b, count ? sx_node(s->p, SX_AGG, k, -1, AGG_LEN) : k,
                                 base + 1);
                    }
                }
                if (!(t & ~NUMBER)) {
                    double d[24], th;
                    size_t nv = field_values(s, i, names[g], vals, AD_ARRAY_SIZE(vals));

                    for (size_t v = 0; v < nv; v++)
                        d[v] = json_number_value(vals[v]);
                    qsort(d, nv, sizeof(d[0]), cmp_num);
                    for (size_t v = 0; v + 1 < nv && base + 1.5 < b->cost; v++) {
                        static const int conds[] = { COND_GT, COND_GE, COND_LT };

                        for (size_t c = 0; c < AD_ARRAY_SIZE(conds); c++) {
                            if (!roundest(d[v], d[v + 1], conds[c] == COND_GE, &th))
                                continue;
                            int k = filter_node(s, ln[i], map, conds[c], names[g],
                                                number_json(th));

                            consider(s, b, count ? sx_node(s->p, SX_AGG, k, -1, AGG_LEN) : k,
                                     base + 1.5 + 0.01 * (double)c);
                        }
                    }
                }
            }
        }
    }
}

/* ---- string operations: numbers and booleans from strings ---- */

static bool str_leaf(const struct sx_search *s, size_t i)
{
    return s->leaf[i].present == (int)s->n && s->leaf[i].types == 1 << JSON_STRING;
}

static int strop_node(struct sx_search *s, int a, int b, int op, json_t *c, int pat)
{
    int k = sx_node(s->p, SX_STROP, a, b, op);

    if (k < 0) {
        json_decref(c);
        return -1;
    }
    s->p->node[k].c = c;
    s->p->node[k].pat = pat;
    return k;
}

/* len(), .count() of another field, the count of words or numbers, int() of a number's digits. */
static void string_numbers(struct sx_search *s, struct best *b, const int *ln)
{
    static const char *const counted[] = { SX_NONSPACE "+", "\\w+", "[0-9]+" };
    int digits = sx_pattern(s->p, "[0-9]+");

    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        if (!str_leaf(s, i))
            continue;
        for (long k = 0; k <= 1 && digits >= 0; k++) {
            int m = sx_node(s->p, SX_NTH, ln[i], -1, (int)-k);

            if (m >= 0)
                s->p->node[m].pat = digits;
            consider(s, b, m < 0 ? -1 : strop_node(s, m, -1, SO_INT, NULL, -1), 2 + 0.3 * k);
        }
        consider(s, b, strop_node(s, ln[i], -1, SO_LEN, NULL, -1), 2.2);
        for (size_t c = 0; c < AD_ARRAY_SIZE(counted) && 2.6 < b->cost; c++) {
            int pat = sx_pattern(s->p, counted[c]);
            int all = pat < 0 ? -1 : sx_node(s->p, SX_ALL, ln[i], -1, 0);

            if (all >= 0)
                s->p->node[all].pat = pat;
            consider(s, b, all < 0 ? -1 : sx_node(s->p, SX_AGG, all, -1, AGG_LEN),
                     2.6 + 0.05 * (double)c);
        }
        for (size_t j = 0; j < s->nleaf && 2.8 < b->cost; j++)
            if (j != i && str_leaf(s, j))
                consider(s, b, strop_node(s, ln[i], ln[j], SO_COUNT, NULL, -1), 2.8);
    }
}

/* Another field in, equal to, at the start or end of a string; a digit in it. */
static void string_bools(struct sx_search *s, struct best *b, const int *ln)
{
    int digit = sx_pattern(s->p, "[0-9]");

    for (size_t e = 0; e < s->n; e++)
        if (!json_is_boolean(s->out[e]))
            return;
    for (size_t i = 0; i < s->nleaf && !sx_spent(s); i++) {
        if (!str_leaf(s, i))
            continue;
        if (digit >= 0)
            consider(s, b, strop_node(s, ln[i], -1, SO_SEARCH, NULL, digit), 2.5);
        for (size_t j = 0; j < s->nleaf && 2.5 < b->cost; j++) {
            if (j == i || !str_leaf(s, j))
                continue;
            consider(s, b, strop_node(s, ln[i], ln[j], SO_IN, NULL, -1), 2.5);
            if (j > i)
                consider(s, b, strop_node(s, ln[i], ln[j], SO_EQ, NULL, -1), 2.5);
            consider(s, b, strop_node(s, ln[i], ln[j], SO_STARTS, NULL, -1), 2.7);
            consider(s, b, strop_node(s, ln[i], ln[j], SO_ENDS, NULL, -1), 2.7);
        }
    }
}

/* ---- the whole search ---- */

static void search_release(struct sx_search *s)
{
    for (size_t i = 0; i < s->nleaf; i++) {
        for (int j = 0; j < s->leaf[i].path.n; j++)
            free(s->leaf[i].path.step[j].key);
        free(s->leaf[i].v);
    }
    free(s->leaf);
    free(s->ln);
    free(s->in);
    free(s->out);
    ad_buf_release(&s->best_desc);
    free(s->best_got);
}

static const char *type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_ARRAY:
        return "a list";
    case JSON_OBJECT:
        return "an object";
    default:
        return "null";
    }
}

/* Why nothing fits: the closest candidate and where it broke, or what is missing. */
static char *explain(struct sx_search *s)
{
    char *want;
    char *msg;

    for (size_t e = 1; e < s->n; e++) {
        if (strcmp(type_word(s->out[0]), type_word(s->out[e])))
            return ad_strdupf("the outputs are of different kinds (%s in example 1, %s in "
                              "example %zu)",
                              type_word(s->out[0]), type_word(s->out[e]), e + 1);
    }
    if (s->best_fits <= 0 || s->best_fail >= s->n) {
        char *o = ad_json_dumps(s->out[0]);

        msg = ad_strdupf("nothing in the language turns example 1's input into %.120s "
                         "(%ld candidates tried; the output must come from the input's "
                         "fields, matches and numbers, not from constants seen once%s)",
                         o ? o : "its output", s->considered,
                         s->too_long ? "; strings over 256 KiB are used whole, never searched"
                                     : "");
        free(o);
        return msg;
    }
    want = ad_json_dumps(s->out[s->best_fail]);
    msg = ad_strdupf("none of %ld candidate programs fits all %zu examples; the closest, "
                     "%.200s, fits the first %d but example %zu breaks it: it gives %.160s where "
                     "%.120s is expected",
                     s->considered, s->n, s->best_desc.ptr, s->best_fits, s->best_fail + 1,
                     s->best_got ? s->best_got : "an error", want ? want : "?");
    free(want);
    return msg;
}

/* Every family but the conditionals, over the leaves' nodes s->ln. */
static void families(struct sx_search *s, struct best *b)
{
    const int *ln = s->ln;
    int kind = json_typeof(s->out[0]);
    bool numbers = all_type(s, s->out, NUMBER), lists = all_type(s, s->out, 1 << JSON_ARRAY);
    int node;
    double cost;

    paths(s, b, ln);
    if (numbers) {
        aggregates(s, b, ln);
        arithmetic(s, b, ln);
        filters(s, b, ln, true);
        string_numbers(s, b, ln);
    }
    if (kind == JSON_TRUE || kind == JSON_FALSE) {
        thresholds(s, b, ln);
        string_bools(s, b, ln);
    }
    if (lists) {
        if (sx_list_text_search(s, &node, &cost) == 0 && cost < b->cost) {
            b->node = node;
            b->cost = cost;
            b->keep = s->p->nnode;
        }
        sx_truncate(s->p, b->keep);
        filters(s, b, ln, false);
    }
    if (all_type(s, s->out, 1 << JSON_STRING)) {
        if (sx_text_search(s, &node, &cost) == 0 && cost < b->cost) {
            b->node = node;
            b->cost = cost;
            b->keep = s->p->nnode;
        }
        sx_truncate(s->p, b->keep);
    }
    constant(s, b);
}

/*
 * ---- conditionals: b if test else c ----
 *
 * Where no single program fits, the examples are split by a test from a
 * small general set, and each side is fitted by the families above on its
 * own examples: "b if test else c". The tests, on a string field x (or two,
 * x and y), cheapest first:
 *
 *   1      x == ""   x == y
 *   1.05   y in x
 *   1.1    re.search("[0-9]", x) is not None            (a digit)
 *   1.2    re.search("^[0-9]+$", x) is not None         (all digits)
 *   1.2    x.startswith(y)   x.endswith(y)
 *   1.3    x == "c"          c a whole value two examples share
 *   1.3+   "c" in x          c a run of letters and digits in two examples' x,
 *   1.4+   x.startswith("c"), x.endswith("c")  or one punctuation character
 *
 * (+ 0.02 per character of c). A conditional costs its test and both
 * branches, and is looked for only when nothing simpler fits, so it never
 * beats a plain program. Every test that splits the examples alike is a
 * candidate of its own, so the ambiguity report sees the others (another
 * test, the same split, other answers on the probes).
 */

#define COND_MIN_EXAMPLES 3     /* two examples split 1/1: any two programs would do */
#define COND_MAX_EXAMPLES 8     /* splits are subsets of the examples */
#define COND_MAX_CONSTS 24      /* constants tried per string field */
#define COND_MAX_TESTS 256
#define COND_PER_MASK 4         /* tests kept per split */
#define COND_MAX_LEAVES 12      /* string fields tests are made of */
#define COND_MAX_SPLITS 16      /* splits whose sides are searched, the cheapest tests' first */
/*
 * The sides' searches begun at most while their work (candidates, bytes
 * scanned) is within COND_WORK times the plain search's: a conditional
 * never costs much more than the search that found nothing.
 */
#define COND_WORK 3

struct cond_test {
    int node;
    double cost;
    unsigned mask;              /* bit e: the test holds on example e */
};

struct cond_fit {
    unsigned mask;              /* the examples fitted */
    int node;                   /* the cheapest program for them, or -1 */
    double cost;
};

struct cond {
    struct sx_search *s;
    struct cond_test t[COND_MAX_TESTS];
    size_t nt;
    struct cond_fit *fit;
    size_t nfit;
};

/* Keeps the test built since keep when it splits the examples (and its split has room). */
static int cond_add(struct cond *c, int node, double cost, size_t keep)
{
    struct sx_search *s = c->s;
    unsigned mask = 0, all = (1u << s->n) - 1;
    size_t same = 0;

    if (node < 0)
        return -1;
    if (c->nt == COND_MAX_TESTS)
        goto drop;
    for (size_t e = 0; e < s->n; e++) {
        const char *why;
        json_t *v = sx_eval(s->p, node, s->in[e], &why);
        bool ok = v && json_is_boolean(v);

        if (ok && json_is_true(v))
            mask |= 1u << e;
        json_decref(v);
        if (!ok)
            goto drop;
    }
    s->considered++;
    for (size_t i = 0; i < c->nt; i++)
        same += c->t[i].mask == mask;
    if (mask == 0 || mask == all || same >= COND_PER_MASK || c->nt == COND_MAX_TESTS)
        goto drop;
    c->t[c->nt++] = (struct cond_test){ node, cost, mask };
    return 0;
drop:
    sx_truncate(s->p, keep);
    return 0;
}

static int const_node(struct sx_search *s, const char *v, size_t len)
{
    json_t *c = json_stringn(v, len);
    int k = c ? sx_node(s->p, SX_CONST, -1, -1, 0) : -1;

    if (k >= 0)
        s->p->node[k].c = c;
    else
        json_decref(c);
    return k;
}

/* A test op(x, constant): SO_EQ, SO_IN, SO_STARTS or SO_ENDS. */
static int cond_const_test(struct cond *c, int x, int op, const char *v, size_t len, double cost)
{
    size_t keep = c->s->p->nnode;
    int k = const_node(c->s, v, len);

    return cond_add(c, k < 0 ? -1 : strop_node(c->s, x, k, op, NULL, -1), cost, keep);
}

/* A test op(x, y) of two string fields. */
static int cond_pair(struct cond *c, int x, int y, int op, double cost)
{
    size_t keep = c->s->p->nnode;

    return cond_add(c, strop_node(c->s, x, y, op, NULL, -1), cost, keep);
}

/* A letter or digit (ASCII), or a byte of a character beyond ASCII. */
static bool word_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch >= 0x80;
}

static bool has_word_char(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (word_char((unsigned char)v[i]))
            return true;
    return false;
}

/* How many examples' value of leaf li contains (or, whole, equals) v. */
static size_t holders(struct sx_search *s, size_t li, const char *v, size_t len, bool whole)
{
    size_t n = 0;

    for (size_t e = 0; e < s->n; e++) {
        const char *x = json_string_value(s->leaf[li].v[e]);
        size_t xl = json_string_length(s->leaf[li].v[e]);

        n += whole ? xl == len && !memcmp(x, v, len) : len <= xl && memmem(x, xl, v, len) != NULL;
    }
    return n;
}

/*
 * Constants from leaf li's values: runs of letters and digits that two or
 * more examples hold (one example's word is no rule) and single punctuation
 * characters; whole values for equality.
 */
static int cond_consts(struct cond *c, size_t li, int x)
{
    struct sx_search *s = c->s;
    const char *seen[COND_MAX_CONSTS];
    size_t seenlen[COND_MAX_CONSTS], nseen = 0;

    for (size_t e = 0; e < s->n && !sx_spent(s); e++) {
        const char *v = json_string_value(s->leaf[li].v[e]);
        size_t len = json_string_length(s->leaf[li].v[e]), i = 0;

        if (len && (!has_word_char(v, len) || holders(s, li, v, len, true) >= 2)) {
            bool dup = false;

            for (size_t k = 0; k < e && !dup; k++)
                dup = sx_equal(s->leaf[li].v[k], s->leaf[li].v[e]);
            if (!dup && cond_const_test(c, x, SO_EQ, v, len, 1.3) < 0)
                return -1;
        }
        while (i < len && nseen < COND_MAX_CONSTS) {
            size_t j = i + 1;
            bool dup = false;
            double extra;

            if (word_char((unsigned char)v[i]))
                while (j < len && word_char((unsigned char)v[j]))
                    j++;
            else if (v[i] == ' ' || (unsigned char)v[i] < 0x20)
                goto next;
            if (word_char((unsigned char)v[i]) && holders(s, li, v + i, j - i, false) < 2)
                goto next;
            for (size_t k = 0; k < nseen && !dup; k++)
                dup = seenlen[k] == j - i && !memcmp(seen[k], v + i, j - i);
            if (dup)
                goto next;
            seen[nseen] = v + i;
            seenlen[nseen++] = j - i;
            extra = 0.02 * (double)(j - i);
            if (cond_const_test(c, x, SO_IN, v + i, j - i, 1.3 + extra) < 0 ||
                cond_const_test(c, x, SO_STARTS, v + i, j - i, 1.4 + extra) < 0 ||
                cond_const_test(c, x, SO_ENDS, v + i, j - i, 1.4 + extra) < 0)
                return -1;
next:
            i = j;
        }
    }
    return 0;
}

static int cond_tests(struct cond *c)
{
    static const char *const classes[] = { "[0-9]", "^[0-9]+$" };
    struct sx_search *s = c->s;
    const int *ln = s->ln;

    size_t used = 0;

    for (size_t i = 0; i < s->nleaf && used < COND_MAX_LEAVES && !sx_spent(s); i++) {
        if (!str_leaf(s, i))
            continue;
        used++;
        if (cond_const_test(c, ln[i], SO_EQ, "", 0, 1.0) < 0)
            return -1;
        for (size_t j = 0, other = 0; j < s->nleaf && other < COND_MAX_LEAVES; j++) {
            if (j == i || !str_leaf(s, j))
                continue;
            other++;
            if ((j > i && cond_pair(c, ln[i], ln[j], SO_EQ, 1.0) < 0) ||
                cond_pair(c, ln[i], ln[j], SO_IN, 1.05) < 0 ||
                cond_pair(c, ln[i], ln[j], SO_STARTS, 1.2) < 0 ||
                cond_pair(c, ln[i], ln[j], SO_ENDS, 1.2) < 0)
                return -1;
        }
        for (size_t k = 0; k < AD_ARRAY_SIZE(classes); k++) {
            size_t keep = s->p->nnode;
            int pat = sx_pattern(s->p, classes[k]);

            if (pat < 0)
                return -1;
            if (cond_add(c, strop_node(s, ln[i], -1, SO_SEARCH, NULL, pat), 1.1 + 0.1 * (double)k,
                         keep) < 0)
                return -1;
        }
        if (cond_consts(c, i, ln[i]) < 0)
            return -1;
    }
    return 0;
}

/* The cheapest program for the examples of mask, searched once per mask. */
static const struct cond_fit *cond_fit(struct cond *c, unsigned mask)
{
    struct sx_search *s = c->s, sub = { 0 };
    struct best b = { -1, INFINITY, 0 };
    struct cond_fit *f;
    size_t k = 0;
    bool ok = false;

    for (size_t i = 0; i < c->nfit; i++)
        if (c->fit[i].mask == mask)
            return &c->fit[i];
    f = &c->fit[c->nfit];
    *f = (struct cond_fit){ mask, -1, INFINITY };
    sub.p = s->p;
    sub.n = (size_t)__builtin_popcount(mask);
    sub.in = calloc(sub.n, sizeof(*sub.in));
    sub.out = calloc(sub.n, sizeof(*sub.out));
    sub.leaf = calloc(s->nleaf ? s->nleaf : 1, sizeof(*sub.leaf));
    if (!sub.in || !sub.out || !sub.leaf)
        goto out;
    for (size_t e = 0; e < s->n; e++) {
        if (mask & 1u << e) {
            sub.in[k] = s->in[e];
            sub.out[k++] = s->out[e];
        }
    }
    for (size_t i = 0; i < s->nleaf; i++) {
        struct sx_leaf *l = &sub.leaf[i];

        l->path = s->leaf[i].path;      /* borrowed */
        if (!(l->v = calloc(sub.n, sizeof(*l->v))))
            goto out;
        sub.nleaf = i + 1;
        k = 0;
        for (size_t e = 0; e < s->n; e++) {
            if (!(mask & 1u << e))
                continue;
            if ((l->v[k] = s->leaf[i].v[e])) {
                l->present++;
                l->types |= 1 << json_typeof(l->v[k]);
            }
            k++;
        }
    }
    sub.ln = s->ln;
    sub.max_candidates = s->max_candidates - s->considered;
    sub.branch = true;
    sub.best_fits = -1;
    sub.best_cost = INFINITY;
    sub.best_desc = (struct ad_buf)AD_BUF_INIT;
    b.keep = s->p->nnode;
    families(&sub, &b);
    s->considered += sub.considered;
    /*
     * One side whose outputs are all one string (or number, or list) says
     * nothing of how to make it, unless a field holds it as it is: a pattern
     * or a part fitted to it only spells that value out again.
     */
    if (b.node >= 0 && sub.n >= 2 && !json_is_boolean(sub.out[0]) &&
        s->p->node[b.node].kind != SX_PATH) {
        bool same = true;

        for (size_t e = 1; e < sub.n && same; e++)
            same = sx_equal(sub.out[0], sub.out[e]);
        if (same)
            b.node = -1;
    }
    f->node = b.node;
    f->cost = b.cost;
    c->nfit++;
    ok = true;
out:
    for (size_t i = 0; i < sub.nleaf; i++)
        free(sub.leaf[i].v);
    free(sub.leaf);
    free(sub.in);
    free(sub.out);
    ad_buf_release(&sub.best_desc);
    free(sub.best_got);
    return ok ? f : NULL;
}

struct cond_cand {
    size_t test;
    double cost;
};

static int cmp_test(const void *a, const void *b)
{
    const struct cond_test *x = a, *y = b;

    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;   /* the order they were made in */
}

static int cmp_cand(const void *a, const void *b)
{
    const struct cond_cand *x = a, *y = b;

    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    return x->test < y->test ? -1 : x->test > y->test;
}

static int conditionals(struct sx_search *s, struct best *b)
{
    struct cond *c;
    struct cond_cand *cand = NULL;
    size_t ncand = 0, keep;
    unsigned all = (1u << s->n) - 1;
    long start = s->considered;
    size_t scanned = s->p->scanned;
    int rc = 0;

    if (s->branch || s->n < COND_MIN_EXAMPLES || s->n > COND_MAX_EXAMPLES)
        return 0;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->s = s;
    c->fit = calloc((size_t)1 << s->n, sizeof(*c->fit));
    cand = calloc(COND_MAX_TESTS, sizeof(*cand));
    if (!c->fit || !cand || cond_tests(c) < 0) {
        rc = -1;
        goto out;
    }
    qsort(c->t, c->nt, sizeof(c->t[0]), cmp_test);
    for (size_t i = 0; i < c->nt && !sx_spent(s); i++) {
        const struct cond_fit *yes, *no;
        bool known = false;

        for (size_t k = 0; k < c->nfit && !known; k++)
            known = c->fit[k].mask == c->t[i].mask;
        if (!known && (c->nfit + 2 > 2 * COND_MAX_SPLITS ||
                       s->considered - start > COND_WORK * (start + 100) ||
                       s->p->scanned - scanned > COND_WORK * (scanned + 4096)))
            continue;
        yes = cond_fit(c, c->t[i].mask);
        no = yes ? cond_fit(c, all & ~c->t[i].mask) : NULL;
        if (!yes || !no) {
            rc = -1;
            goto out;
        }
        if (yes->node >= 0 && no->node >= 0)
            cand[ncand++] = (struct cond_cand){ i, c->t[i].cost + yes->cost + no->cost };
    }
    qsort(cand, ncand, sizeof(*cand), cmp_cand);
    keep = s->p->nnode;
    for (size_t i = 0; i < ncand && !sx_spent(s); i++) {
        const struct cond_test *t = &c->t[cand[i].test];
        const struct cond_fit *yes = cond_fit(c, t->mask), *no = cond_fit(c, all & ~t->mask);
        int k = sx_node(s->p, SX_IF, t->node, yes->node, no->node);

        if (k < 0) {
            rc = -1;
            goto out;
        }
        if (sx_try(s, k, cand[i].cost)) {
            b->node = k;
            b->cost = cand[i].cost;
            b->keep = s->p->nnode;
            break;
        }
        sx_truncate(s->p, keep);
    }
out:
    free(cand);
    free(c->fit);
    free(c);
    return rc;
}

static int search(struct sx_search *s, struct best *b)
{
    int *ln = s->ln = calloc(s->nleaf ? s->nleaf : 1, sizeof(int));

    if (!ln)
        return -1;
    for (size_t i = 0; i < s->nleaf; i++)
        if ((ln[i] = leaf_node(s, i, NULL)) < 0)
            return -1;
    b->keep = s->p->nnode;
    families(s, b);
    /* Only where no single program fits: so a conditional never beats one that does. */
    if (b->node < 0 && !sx_spent(s))
        return conditionals(s, b);
    return 0;
}

/* ---- passes and the Python re-check ---- */

/* What the passes of one call share: the work done so far and the programs turned down. */
struct pass {
    long max_candidates;
    size_t max_scan;
    long considered;
    size_t scanned;
    char *rejected[AD_SYNTH_MAX_CHECKS + AD_SYNTH_ALT_PASSES + 1];
    size_t nrejected;
    double cost;                /* the cost of the program a pass found */
    const json_t *probes;       /* the search for alternatives: what they are compared on */
};

/* AD_ELIMIT, saying which budget the search reached and what it had done. */
static int budget_reached(struct sx_search *s, const struct pass *ps,
                          struct ad_synth_result *res, struct ad_err *err)
{
    char size[32];

    if (ps->max_scan % ((size_t)1 << 20) == 0)
        snprintf(size, sizeof(size), "%zu MiB", ps->max_scan >> 20);
    else
        snprintf(size, sizeof(size), "%zu bytes", ps->max_scan);
    if (s->considered >= s->max_candidates)
        res->why = ad_strdupf("budget reached: %ld candidate programs tried, the most one call "
                              "may try (%zu bytes scanned); the examples are too many or too "
                              "varied for synthesis by example",
                              ps->considered, ps->scanned);
    else
        res->why = ad_strdupf("budget reached: %s scanned by patterns and case changes over "
                              "the examples' strings, the most one call may scan (%ld "
                              "candidate programs tried); the examples are too long for "
                              "synthesis by example",
                              size, ps->considered);
    return res->why ? ad_error(err, AD_ELIMIT, "%s", res->why) : oom(err);
}

/* The winner once more, end to end, as ad_synth_apply() will run it; then its module. */
static int finish(struct sx_search *s, int node, const char *name, const char *description,
                  const json_t *examples, struct ad_synth_result *res, struct ad_err *err)
{
    struct ad_buf code = AD_BUF_INIT, sum = AD_BUF_INIT;
    const char *why;
    char *desc = NULL;
    int rc = 0;

    for (size_t i = 0; i < s->n; i++) {
        json_t *got = sx_eval(s->p, node, s->in[i], &why);
        bool ok = got && sx_equal(got, s->out[i]);

        json_decref(got);
        if (!ok)
            return ad_error(err, AD_EINTERNAL, "internal: the chosen program does not fit "
                                               "example %zu", i + 1);
    }
    s->p->root = node;
    if (finish_params(s) < 0 || sx_emit_expr(s->p, node, &sum) < 0) {
        rc = oom(err);
        goto out;
    }
    desc = description && *description ? strdup(description) : ad_strdupf("Return %s.", sum.ptr);
    if (!desc || sx_emit_module(s->p, name, desc, examples, &code) < 0) {
        rc = oom(err);
        goto out;
    }
    res->code = ad_buf_detach(&code, NULL);
    res->summary = ad_buf_detach(&sum, NULL);
    res->entry = strdup(name);
    if (!res->code || !res->summary || !res->entry)
        rc = oom(err);
out:
    free(desc);
    ad_buf_release(&code);
    ad_buf_release(&sum);
    return rc;
}

/* One search within what is left of the budget: the program in res, or why there is none. */
static int synth_pass(const json_t *examples, const struct ad_synth_opts *o, const char *name,
                      struct pass *ps, struct ad_synth_result *res, struct ad_err *err)
{
    struct sx_search s = { 0 };
    struct best b = { -1, INFINITY, 0 };
    struct sx_path root = { 0 };
    size_t i;
    int rc;

    s.n = json_array_size(examples);
    res->examples = (int)s.n;
    s.p = calloc(1, sizeof(*s.p));
    s.in = calloc(s.n, sizeof(*s.in));
    s.out = calloc(s.n, sizeof(*s.out));
    s.leaf = calloc(MAX_LEAVES, sizeof(*s.leaf));
    s.best_fits = -1;
    s.best_cost = INFINITY;
    s.best_desc = (struct ad_buf)AD_BUF_INIT;
    s.max_candidates = ps->max_candidates - ps->considered;
    s.rejected = ps->rejected;
    s.nrejected = ps->nrejected;
    s.probes = ps->probes;
    if (!s.p || !s.in || !s.out || !s.leaf) {
        rc = oom(err);
        goto out;
    }
    if (ps->scanned >= ps->max_scan)
        s.p->spent = true;
    else
        s.p->scan_max = ps->max_scan - ps->scanned;
    for (i = 0; i < s.n; i++) {
        s.in[i] = json_object_get(json_array_get(examples, i), "input");
        s.out[i] = json_object_get(json_array_get(examples, i), "output");
    }
    rc = contradiction(&s, res, err);
    if (rc < 0)
        goto out;
    /* An example given twice is one example: repeats must not pass for agreement. */
    for (size_t e = i = 0; e < s.n; e++) {
        size_t j;

        for (j = 0; j < i && !(sx_equal(s.in[j], s.in[e]) && sx_equal(s.out[j], s.out[e])); j++)
            ;
        if (j == i) {
            s.in[i] = s.in[e];
            s.out[i++] = s.out[e];
        }
    }
    s.n = i;
    res->examples = (int)s.n;
    if (choose_mode(&s) < 0) {
        rc = oom(err);
        goto out;
    }
    for (i = 0; i < s.n; i++) {
        if (walk(&s, s.in[i], &root) < 0) {
            rc = oom(err);
            goto out;
        }
    }
    rc = search(&s, &b) < 0 ? oom(err) : 0;
    ps->considered += s.considered;
    ps->scanned += s.p->scanned;
    if (rc < 0)
        goto out;
    /* A search cut short has not ranked every candidate: its best is not the simplest. */
    if (sx_spent(&s)) {
        rc = budget_reached(&s, ps, res, err);
        goto out;
    }
    if (b.node < 0) {
        res->why = explain(&s);
        rc = res->why ? ad_error(err, AD_ENOTFOUND, "%s", res->why) : oom(err);
        goto out;
    }
    rc = finish(&s, b.node, name, o->description, examples, res, err);
    ps->cost = b.cost;
    if (rc == 0) {
        s.p->scan_max = 0;      /* ad_synth_apply() has no budget */
        res->prog = s.p;
        s.p = NULL;
    }
out:
    sx_program_free(s.p);
    search_release(&s);
    return rc;
}

/*
 * The found program's module run by Python on every example. 0 when it
 * agrees; 1 when it does not, the program then turned down for the next
 * pass (res released, why in ps); AD_ENOTFOUND once AD_SYNTH_MAX_CHECKS
 * programs were; the errors of sx_check_python().
 */
static int recheck(const json_t *examples, const struct ad_synth_opts *o, struct pass *ps,
                   struct ad_synth_result *res, struct ad_err *err)
{
    struct sx_check c = { o->python, o->python_ms > 0 ? o->python_ms : AD_SYNTH_PYTHON_MS, 0,
                          NULL };
    const json_t *ex;
    char *want = NULL;
    int rc;

    rc = sx_check_python(&c, res->code, res->entry, examples, err);
    res->checks++;
    if (rc <= 0)
        return rc;
    ex = json_array_get(examples, c.bad);
    want = ad_json_dumps(json_object_get(ex, "output"));
    free(res->why);
    res->why = ad_strdupf("%s%s gives %.160s in Python on example %zu, where the C evaluation "
                          "that chose it gives the expected %.120s",
                          ps->nrejected + 1 < AD_SYNTH_MAX_CHECKS
                              ? ""
                              : "every program found disagreed with Python; the last, ",
                          res->summary, c.got ? c.got : "an error", c.bad + 1,
                          want ? want : "?");
    free(want);
    free(c.got);
    if (!res->why)
        return oom(err);
    if (ps->nrejected + 1 == AD_SYNTH_MAX_CHECKS) {
        /* A failure hands out no program: only the reason and the counts stay. */
        free(res->code);
        free(res->entry);
        free(res->summary);
        sx_program_free(res->prog);
        res->code = res->entry = res->summary = NULL;
        res->prog = NULL;
        return ad_error(err, AD_ENOTFOUND, "%s", res->why);
    }
    ps->rejected[ps->nrejected++] = res->summary;
    res->summary = NULL;
    return 1;
}

/* ---- ambiguity: programs as cheap that answer otherwise ---- */

/* Appends v (a new reference) to probes unless an example or a probe already has that input. */
static int add_probe(json_t *probes, const json_t *examples, json_t *v, bool perturbed)
{
    const json_t *x;
    size_t i;

    if (!v)
        return -1;
    if (json_array_size(probes) >= AD_SYNTH_MAX_PROBES)
        goto drop;
    json_array_foreach(examples, i, x)
        if (sx_equal(json_object_get(x, "input"), v))
            goto drop;
    json_array_foreach(probes, i, x)
        if (sx_equal(json_object_get(x, "input"), v))
            goto drop;
    return json_array_append_new(probes, json_pack("{s:o, s:b}", "input", v, "perturbed",
                                                   perturbed));
drop:
    json_decref(v);
    return 0;
}

/* s with its first word dropped, its last word dropped, its digits changed (each NULL if none). */
static int perturb_string(const char *s, size_t len, json_t **out)
{
    const char *sp = memchr(s, ' ', len), *last = NULL;
    char *d;
    bool digits = false;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ' ')
            last = s + i;
    out[0] = sp && sp + 1 < s + len ? json_stringn(sp + 1, len - (size_t)(sp + 1 - s)) : NULL;
    out[1] = last && last > s ? json_stringn(s, (size_t)(last - s)) : NULL;
    out[2] = NULL;
    d = malloc(len + 1);
    if (!d)
        return -1;
    memcpy(d, s, len);
    for (size_t i = 0; i < len; i++) {
        if (d[i] >= '0' && d[i] <= '9') {
            d[i] = (char)('0' + (d[i] - '0' + 5) % 10);
            digits = true;
        }
    }
    if (digits)
        out[2] = json_stringn(d, len);
    free(d);
    return 0;
}

/*
 * The inputs to look for disagreement on: the caller's probes, then the
 * examples' inputs perturbed (a string, or each string field of an object,
 * with a word dropped or its digits changed; an object with one field
 * taken from another example).
 */
static json_t *probe_inputs(const json_t *examples, const json_t *given)
{
    json_t *probes = json_array(), *v;
    const json_t *ex, *ex2;
    size_t i, j;
    int rc = 0;

    if (!probes)
        return NULL;
    json_array_foreach(given, i, v)
        rc |= add_probe(probes, examples, json_incref(v), false);
    json_array_foreach(given ? NULL : examples, i, ex) {
        const json_t *in = json_object_get(ex, "input");
        json_t *p[3];

        if (json_is_string(in)) {
            rc |= perturb_string(json_string_value(in), json_string_length(in), p);
            for (int k = 0; k < 3; k++)
                if (p[k])
                    rc |= add_probe(probes, examples, p[k], true);
        } else if (json_is_object(in)) {
            const char *key;
            json_t *fv;

            json_object_foreach((json_t *)in, key, fv) {
                if (!json_is_string(fv))
                    continue;
                rc |= perturb_string(json_string_value(fv), json_string_length(fv), p);
                for (int k = 0; k < 3; k++) {
                    json_t *c = p[k] ? json_copy((json_t *)in) : NULL;

                    if (c)
                        json_object_set_new(c, key, p[k]);
                    else
                        json_decref(p[k]);
                    if (c)
                        rc |= add_probe(probes, examples, c, true);
                }
            }
            json_array_foreach(examples, j, ex2) {
                const json_t *in2 = json_object_get(ex2, "input");

                if (j == i || !json_is_object(in2))
                    continue;
                json_object_foreach((json_t *)in, key, fv) {
                    const json_t *other = json_object_get(in2, key);
                    json_t *c;

                    if (!other || sx_equal(other, fv))
                        continue;
                    c = json_copy((json_t *)in);
                    if (c)
                        json_object_set(c, key, (json_t *)other);
                    rc |= add_probe(probes, examples, c, true);
                }
            }
        }
    }
    if (rc) {
        json_decref(probes);
        return NULL;
    }
    return probes;
}

/* A program's answer on input: the value, or {"error": why}. */
static json_t *answer(struct ad_synth_program *p, const json_t *input)
{
    const char *why = NULL;
    json_t *v = sx_eval(p, p->root, input, &why);

    return v ? v : json_pack("{s:s}", "error", why ? why : "it raises");
}

static bool is_error(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, "error");
}

struct alt {
    struct ad_synth_result *r;  /* alt[0]: the chosen program (res); else own */
    struct ad_synth_result own;
    double cost;
    json_t *answers;            /* per probe */
    int raises;                 /* the caller's probes it raises on */
};

/* Whether b gives a value on probe i where a raises or gives another. */
static bool parts(const struct alt *a, const struct alt *b, size_t i)
{
    const json_t *x = json_array_get(a->answers, i), *y = json_array_get(b->answers, i);

    return !is_error(y) && (is_error(x) || !sx_equal(x, y));
}

static bool caller_probe(const json_t *probes, size_t i)
{
    return !json_is_true(json_object_get(json_array_get(probes, i), "perturbed"));
}

/*
 * parts() where it counts: on a caller's probe, or on an input made up by
 * perturbing an example only for an alternative within
 * AD_SYNTH_PERTURBED_MARGIN (a made-up input may be one the task never
 * sees: only a near tie is worth saying there).
 */
static bool parts_on(const json_t *probes, const struct alt *a, const struct alt *b, size_t i)
{
    return parts(a, b, i) &&
           (caller_probe(probes, i) || b->cost - a->cost <= AD_SYNTH_PERTURBED_MARGIN);
}

/* The answers of a's program on every probe; false when out of memory. */
static bool answer_all(struct alt *a, const json_t *probes)
{
    a->answers = json_array();
    a->raises = 0;
    for (size_t i = 0; a->answers && i < json_array_size(probes); i++) {
        json_t *v = answer(a->r->prog, json_object_get(json_array_get(probes, i), "input"));

        if (!v || json_array_append_new(a->answers, v) < 0)
            return false;
        a->raises += is_error(v) && caller_probe(probes, i);
    }
    return a->answers != NULL;
}

/*
 * res->ambiguity from the alternatives alt[1..n] to alt[0]: the probe
 * where the most of them give another value, and those. 0, or -1 when out
 * of memory.
 */
static int report(struct ad_synth_result *res, const json_t *probes, const struct alt *alt,
                  size_t n)
{
    size_t best = 0, most = 0, i;
    json_t *names, *answers, *pr;
    double gap = INFINITY;

    for (i = 0; i < json_array_size(probes); i++) {
        size_t k = 0;

        for (size_t a = 1; a < n; a++)
            k += parts_on(probes, &alt[0], &alt[a], i);
        if (k > most) {
            most = k;
            best = i;
        }
    }
    if (!most)
        return 0;
    names = json_array();
    answers = json_array();
    if (!names || !answers)
        goto oom;
    for (size_t a = 1; a < n; a++) {
        if (!parts_on(probes, &alt[0], &alt[a], best))
            continue;
        if (json_array_append_new(names, json_string(alt[a].r->summary)) < 0 ||
            json_array_append(answers, json_array_get(alt[a].answers, best)) < 0)
            goto oom;
        gap = fmin(gap, alt[a].cost - alt[0].cost);
    }
    pr = json_array_get(probes, best);
    res->ambiguity = json_pack("{s:s, s:O, s:O, s:o, s:o, s:f, s:s}", "program", res->summary,
                               "input", json_object_get(pr, "input"), "answer",
                               json_array_get(alt[0].answers, best), "alternatives", names,
                               "answers", answers, "cost_gap",
                               gap < 0 ? 0.0 : round(gap * 100) / 100, "from",
                               caller_probe(probes, best) ? "probe" : "perturbed");
    return res->ambiguity ? 0 : -1;
oom:
    json_decref(names);
    json_decref(answers);
    return -1;
}

/*
 * Of the programs as cheap, one that raises on fewer of the caller's
 * probes than the chosen one (an input the caller says is real is one the
 * function must take): the chosen one, with o->python, once Python agrees
 * with it on the examples. Swaps it into res and alt[0]; 0 or an error.
 */
static int prefer_total(const json_t *examples, const struct ad_synth_opts *o,
                        struct ad_synth_result *res, struct alt *alt, size_t n,
                        struct ad_err *err)
{
    size_t k = 0;

    for (size_t a = 1; a < n; a++)
        if (alt[a].raises < (k ? alt[k].raises : alt[0].raises))
            k = a;
    if (!k)
        return 0;
    if (o->python) {
        struct sx_check c = { o->python, o->python_ms > 0 ? o->python_ms : AD_SYNTH_PYTHON_MS,
                              0, NULL };
        int rc = sx_check_python(&c, alt[k].r->code, alt[k].r->entry, examples, err);

        free(c.got);
        res->checks++;
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    {
        struct ad_synth_result tmp = *res;
        struct alt t = alt[0];

        *res = alt[k].own;
        res->examples = tmp.examples;
        res->considered = tmp.considered;
        res->scanned = tmp.scanned;
        res->checks = tmp.checks;
        alt[k].own = tmp;
        alt[0].cost = alt[k].cost;
        alt[0].answers = alt[k].answers;
        alt[0].raises = alt[k].raises;
        alt[k].cost = t.cost;
        alt[k].answers = t.answers;
        alt[k].raises = t.raises;
    }
    return 0;
}

/*
 * Searches again without the program found (and without each alternative
 * once seen) for programs that fit every example at a cost within
 * AD_SYNTH_ALT_MARGIN, keeps those that give another value on a probe,
 * prefers one that raises on fewer of the caller's probes, and reports the
 * rest. With o->refuse_ties, a guess the examples cannot decide fails the
 * call: the program raises on a caller's probe where another as cheap
 * answers, or one of the same cost gives another value there.
 */
static int ambiguity(const json_t *examples, const struct ad_synth_opts *o, const char *name,
                     const struct pass *ps, struct ad_synth_result *res, struct ad_err *err)
{
    struct ad_synth_opts ao = *o;
    struct pass ap = { 0 };
    struct alt alt[AD_SYNTH_ALT_MAX + 1];
    const json_t *given = json_array_size(o->probes) ? o->probes : NULL;
    json_t *probes = probe_inputs(examples, given);
    size_t n = 1, i;
    bool undecided = false;
    int rc = 0;

    memset(alt, 0, sizeof(alt));
    alt[0].r = res;
    alt[0].cost = ps->cost;
    if (!probes) {
        rc = oom(err);
        goto out;
    }
    if (!json_array_size(probes) || !res->prog)
        goto out;
    if (!answer_all(&alt[0], probes)) {
        rc = oom(err);
        goto out;
    }
    ao.python = NULL;
    /*
     * The caller's probes steer the search for alternatives (twins by their
     * answers there, a step off the cheapest path); perturbed inputs do
     * not: on them near every alternative parts somewhere, and the report
     * would fire on most answers.
     */
    ap.probes = given ? probes : NULL;
    ap.max_candidates = ps->max_candidates;
    ap.max_scan = ps->max_scan;
    for (i = 0; i < ps->nrejected; i++)
        if (!(ap.rejected[ap.nrejected++] = strdup(ps->rejected[i]))) {
            rc = oom(err);
            goto out;
        }
    if (!(ap.rejected[ap.nrejected++] = strdup(res->summary))) {
        rc = oom(err);
        goto out;
    }
    for (int pass = 0; pass < (given ? AD_SYNTH_ALT_PASSES : AD_SYNTH_ALT_PASSES_PERTURBED) &&
                       n <= AD_SYNTH_ALT_MAX;
         pass++) {
        struct ad_err xerr = AD_ERR_INIT;
        struct alt *a = &alt[n];
        bool differs = false;

        memset(a, 0, sizeof(*a));
        a->r = &a->own;
        rc = synth_pass(examples, &ao, name, &ap, a->r, &xerr);
        if (rc == AD_ENOMEM) {
            ad_synth_result_release(a->r);
            rc = oom(err);
            goto out;
        }
        rc = 0;
        if (!a->r->prog || ap.cost > ps->cost + AD_SYNTH_ALT_MARGIN) {
            ad_synth_result_release(a->r);
            break;
        }
        a->cost = ap.cost;
        if (!answer_all(a, probes) || ap.nrejected == AD_ARRAY_SIZE(ap.rejected) ||
            !(ap.rejected[ap.nrejected++] = strdup(a->r->summary))) {
            json_decref(a->answers);
            ad_synth_result_release(a->r);
            rc = oom(err);
            goto out;
        }
        for (i = 0; i < json_array_size(probes); i++)
            differs |= parts_on(probes, &alt[0], a, i);
        if (differs) {
            n++;
        } else {
            json_decref(a->answers);
            ad_synth_result_release(a->r);
        }
        if (ap.nrejected == AD_ARRAY_SIZE(ap.rejected))
            break;
    }
    if (given && alt[0].raises && (rc = prefer_total(examples, o, res, alt, n, err)) < 0)
        goto out;
    if (n > 1 && report(res, probes, alt, n) < 0) {
        rc = oom(err);
        goto out;
    }
    for (size_t a = 1; a < n; a++)
        for (i = 0; i < json_array_size(probes); i++)
            undecided |= caller_probe(probes, i) && parts(&alt[0], &alt[a], i) &&
                         (is_error(json_array_get(alt[0].answers, i)) ||
                          alt[a].cost - alt[0].cost <= AD_SYNTH_TIE);
    if (o->refuse_ties && undecided) {
        char *in = ad_json_dumps(json_object_get(res->ambiguity, "input"));

        res->why = ad_strdupf("the examples cannot decide: %.200s and %.200s fit them as well "
                              "but answer otherwise on %.160s",
                              res->summary,
                              json_string_value(json_array_get(
                                  json_object_get(res->ambiguity, "alternatives"), 0)),
                              in ? in : "another input");
        free(in);
        free(res->code);
        free(res->entry);
        free(res->summary);
        sx_program_free(res->prog);
        res->code = res->entry = res->summary = NULL;
        res->prog = NULL;
        rc = res->why ? ad_error(err, AD_ENOTFOUND, "%s", res->why) : oom(err);
    }
out:
    json_decref(alt[0].answers);
    for (i = 1; i < n; i++) {
        json_decref(alt[i].answers);
        ad_synth_result_release(alt[i].r);
    }
    for (i = 0; i < ap.nrejected; i++)
        free(ap.rejected[i]);
    json_decref(probes);
    return rc;
}

int ad_synth(const json_t *examples, const struct ad_synth_opts *o, struct ad_synth_result *res,
             struct ad_err *err)
{
    struct ad_synth_opts none = { 0 };
    struct pass ps = { 0 };
    const char *name;
    char *disagreed = NULL;
    bool pass_failed = false;
    int rc, checks = 0;

    memset(res, 0, sizeof(*res));
    o = o ? o : &none;
    name = o->name ? o->name : "transform";
    rc = check_examples(examples, err);
    if (rc < 0)
        return rc;
    if (!ad_text_identifier(name, 100) || reserved(name) || name[0] == '_')
        return ad_error(err, AD_EINVAL, "function name '%.100s': expected a Python identifier "
                                        "(letters, digits, _; not a keyword, not starting with _)",
                        name);
    if (o->python && !o->python[strspn(o->python, " \t")])
        return ad_error(err, AD_EINVAL, "the python command of the re-check is empty");
    ps.max_candidates = o->max_candidates > 0 ? o->max_candidates : AD_SYNTH_MAX_CANDIDATES;
    ps.max_scan = o->max_scan > 0 ? o->max_scan : AD_SYNTH_MAX_SCAN;
    for (;;) {
        rc = synth_pass(examples, o, name, &ps, res, err);
        res->considered = ps.considered;
        res->scanned = ps.scanned;
        res->checks = checks;
        if (rc != 0 || !o->python) {
            pass_failed = rc != 0;
            break;
        }
        rc = recheck(examples, o, &ps, res, err);
        checks = res->checks;
        if (rc <= 0)
            break;
        /* Turned down: the next pass searches again without it, within what is left. */
        free(disagreed);
        disagreed = res->why;
        res->why = NULL;
        ad_synth_result_release(res);
    }
    /* A search that ends without a program after a disagreement says both. */
    if (pass_failed && (rc == AD_ENOTFOUND || rc == AD_ELIMIT) && disagreed && res->why) {
        char *both = ad_strdupf("%s; without it: %s", disagreed, res->why);

        if (both) {
            free(res->why);
            res->why = both;
            ad_error(err, rc, "%s", both);
        }
    }
    free(disagreed);
    if (rc == 0)
        rc = ambiguity(examples, o, name, &ps, res, err);
    for (size_t i = 0; i < ps.nrejected; i++)
        free(ps.rejected[i]);
    return rc;
}

int ad_synth_apply(const struct ad_synth_result *res, const json_t *input, json_t **out,
                   struct ad_err *err)
{
    const char *why = NULL;

    *out = NULL;
    if (!res || !res->prog)
        return ad_error(err, AD_EINVAL, "no synthesized program to apply");
    /* Keyword mode: the harness passes an object of the right keys as arguments. */
    *out = sx_eval(res->prog, res->prog->root, input, &why);
    if (!*out)
        return ad_error(err, AD_ENOTFOUND, "the program raises on this input: %s",
                        why ? why : "no value");
    return 0;
}

void ad_synth_result_release(struct ad_synth_result *res)
{
    if (!res)
        return;
    free(res->code);
    free(res->entry);
    free(res->summary);
    free(res->why);
    sx_program_free(res->prog);
    json_decref(res->ambiguity);
    memset(res, 0, sizeof(*res));
}
