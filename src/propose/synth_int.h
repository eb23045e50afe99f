/*
 * Inside the synthesizer: the program tree, its evaluator (synth_eval.c,
 * with Python's case mapping in synth_case.c over the tables of
 * synth_unidata.c), its Python writer (synth_emit.c), the searches
 * (synth.c, synth_text.c) and the Python re-check (synth_check.c).
 */
#ifndef AD_SYNTH_INT_H
#define AD_SYNTH_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "autodev/buf.h"
#include "autodev/synth.h"

#define SX_MAX_DEPTH 4          /* steps of a path below the input */

/*
 * Whitespace, spelled so that PCRE2 (UTF, UCP, ALT_BSUX) and Python's re
 * read the same set of characters. \s alone is not: Python's counts
 * \x1c-\x1f (str.isspace() does), PCRE2's does not and counts U+180E
 * instead, so "\S+" split "a\x1cb" in Python and not in PCRE2. The union
 * of the two, spelled out, means the same to both; its complement too.
 * Every class a pattern of the synthesizer is built from is in sx_classes
 * (synth_text.c), which tests/unit/test_synth.c runs over every code point
 * in PCRE2 and in /usr/bin/python3.
 */
#define SX_SPACE "[\\s\\x1c-\\x1f\\u180e]"
#define SX_NONSPACE "[^\\s\\x1c-\\x1f\\u180e]"

/* The classes patterns are built from, NULL-terminated (synth_text.c). */
extern const char *const sx_classes[];

struct sx_step {
    char *key;                  /* object key, or NULL for a list index */
    long idx;                   /* list index; negative counts from the end */
};

struct sx_path {
    int n;
    struct sx_step step[SX_MAX_DEPTH + 1];
};

enum sx_kind {
    SX_PATH,      /* the value at path (raises when missing), or c when missing and c != NULL */
    SX_CONST,     /* c */
    SX_NTH,       /* match n (0-based, negative from the end) of pattern pat in string a */
    SX_ALL,       /* every match of pat in string a, a list */
    SX_CASE,      /* a.lower() ... (n: enum sx_case) */
    SX_CAT,       /* string a + string b */
    SX_STR,       /* str(a) */
    SX_FMT,       /* format(a, ".<n>f") */
    SX_BIN,       /* a <op n> b */
    SX_ROUND,     /* round(a, n), or round(a) when n < 0 */
    SX_AGG,       /* n: enum sx_agg over list a, of item[f] (times item[f2]) when f is set */
    SX_FILTER,    /* [item (or item[f]) for item in a if <cond on item[g]>] */
    SX_CMP,       /* a <cmp n> b */
    SX_STROP,     /* n: enum sx_strop on string a (b, c, pat as it says) */
    SX_IF,        /* b if a else n: a a boolean test, b and n nodes; only the branch taken runs */
};

/*
 * The string operations (synth.c and synth_text.c search them, synth_eval.c runs them,
 * synth_emit.c writes them): what each gives, in the Python it is written as.
 */
enum sx_strop {
    SO_LEN,       /* len(a) */
    SO_COUNT,     /* a.count(b) */
    SO_INT,       /* int(a), a of ASCII digits (what "[0-9]+" matches) */
    SO_IN,        /* b in a */
    SO_EQ,        /* a == b */
    SO_STARTS,    /* a.startswith(b) */
    SO_ENDS,      /* a.endswith(b) */
    SO_SEARCH,    /* re.search(pat, a) is not None */
    SO_REPLACE,   /* a.replace(b, c) */
    SO_SUB,       /* re.sub(pat, c, a); pat never matches the empty string */
    SO_SUFFIX,    /* a if a.endswith(c) else a + c */
    SO_DROP,      /* a[b:] */
    SO_SPLIT,     /* a.split(c)[b - 1]: the b-th part, b an int argument */
    SO_PART,      /* a.split(c)[idx], idx in the node's cond field */
    SO_INITIALS,  /* re.sub(r"([A-Z])[a-z]+ *", r"\1", a): each capitalised word by its initial */
    SO_FIRST,     /* a[:1]: the first character, "" when a is empty */
    SO_MAP,       /* f.join(w[:k].<case>() for w in a.split(c)): every part mapped, joined back;
                   * cond = k + 8 * (case + 1), k 0: the whole part, case -1: none */
    SO_HEAD,      /* a.rsplit(c, 1)[0]: all before the last c, or a where c is missing */
    SO_TAIL,      /* a.split(c, 1)[-1]: all after the first c, or a where c is missing */
};

#define SX_MAP_COND(k, cs) ((k) + 8 * ((cs) + 1))

enum sx_case { CASE_LOWER, CASE_UPPER, CASE_TITLE, CASE_CAPITALIZE, CASE_STRIP };
enum sx_op { OP_ADD, OP_SUB, OP_MUL, OP_DIV };
enum sx_agg { AGG_SUM, AGG_LEN, AGG_MEAN, AGG_MIN, AGG_MAX };
enum sx_cmp { CMP_GT, CMP_GE, CMP_LT, CMP_LE, CMP_EQ };
enum sx_cond { COND_NONE, COND_EQ, COND_TRUTHY, COND_GT, COND_GE, COND_LT };

struct sx {
    enum sx_kind kind;
    int a, b;                   /* children, -1 when absent */
    int n;                      /* index, digits, op, case, agg or cmp */
    int cond;                   /* SX_FILTER: enum sx_cond on item[g] against c */
    int pat;                    /* SX_NTH, SX_ALL: index into prog->pat */
    struct sx_path path;        /* SX_PATH */
    json_t *c;                  /* constant, default, threshold (owned) */
    char *f, *f2, *g;           /* item fields (owned) */
};

struct sx_pat {
    char *src;                  /* the pattern, as both PCRE2 and Python read it */
    pcre2_code *re;
    int groups;                 /* 0: findall gives whole matches; 1: group 1 */
};

enum sx_mode {
    MODE_KW,                    /* keyword arguments: one parameter per top-level key */
    MODE_TEXT,                  /* one string argument "text" */
    MODE_DATA,                  /* one argument "data" */
};

struct sx_param {
    char *name;
    bool optional;              /* missing from some inputs: has a default */
    json_t *def;                /* the default when optional (NULL: None) */
    char type[32];              /* Python type hint */
};

struct ad_synth_program {
    struct sx *node;
    size_t nnode, cap;
    int root;
    struct sx_pat *pat;
    size_t npat, patcap;
    pcre2_match_data *md;
    /*
     * The work budget in bytes scanned (a pattern run or a case change over
     * a string counts its length): once scanned passes scan_max, every
     * further scan fails (spent) and the search winds down. scan_max 0: no
     * limit (ad_synth_apply on a program handed out).
     */
    size_t scanned, scan_max;
    bool spent;
    enum sx_mode mode;
    struct sx_param *param;
    size_t nparam;
    char rtype[32];             /* the return type hint */
};

/* ---- the tree (synth_eval.c) ---- */

/* A new node; its index, or -1 when out of memory. */
int sx_node(struct ad_synth_program *p, enum sx_kind kind, int a, int b, int n);
/* The pattern's index (compiled once per program); -1 when it does not compile. */
int sx_pattern(struct ad_synth_program *p, const char *src);
void sx_program_free(struct ad_synth_program *p);
/* Drops the nodes from index `keep` on (those of a rejected candidate). */
void sx_truncate(struct ad_synth_program *p, size_t keep);

/*
 * The node's value on input: a new reference, or NULL when the Python
 * would raise; *why (static or NULL) then says what.
 */
json_t *sx_eval(struct ad_synth_program *p, int node, const json_t *input, const char **why);

/*
 * Python's str.lower(), upper(), title(), capitalize() and strip() on the
 * UTF-8 string s, character for character as CPython does them (full case
 * mappings and the final sigma: synth_case.c, over synth_unidata.c). Owned
 * result; NULL when out of memory or s is not UTF-8.
 */
char *sx_case(const char *s, size_t len, enum sx_case c, size_t *outlen);

/* The tables of synth_unidata.c, written by tests/synth/casemap.py. */
struct sx_case_range {
    uint32_t lo, hi;
    int kind;                   /* 0: every code point; 1: pairs, the upper one first */
    int32_t dl, du, dt;         /* deltas to lower, upper, title (kind 1: of the upper one) */
};
struct sx_case_special {
    uint32_t cp;
    uint32_t lower[3], upper[3], title[3];   /* 0-terminated when shorter */
};
extern const char sx_case_unicode[];
extern const struct sx_case_range sx_case_ranges[];
extern const size_t sx_case_nranges;
extern const struct sx_case_special sx_case_specials[];
extern const size_t sx_case_nspecials;
extern const uint32_t sx_case_cased[][2];
extern const size_t sx_case_ncased;
extern const uint32_t sx_case_ignorable[][2];
extern const size_t sx_case_nignorable;

/*
 * Equality as Python's == sees the values the emitted code returns: 1 ==
 * 1.0, an int and a float compared exactly (2**53 + 1 != 2.0**53), a
 * boolean equal only to a boolean (stricter than Python's True == 1, so a
 * program kept is right either way), lists and dicts item by item.
 */
bool sx_equal(const json_t *a, const json_t *b);

/* Counts bytes scanned against p's budget; false once it is spent. */
bool sx_scan(struct ad_synth_program *p, size_t bytes);
/*
 * Every match of pattern pat in s (Python's re.findall): group 1 or the
 * whole match, as a JSON list. NULL when the budget is spent.
 */
json_t *sx_findall(struct ad_synth_program *p, int pat, const char *s, size_t len);

/*
 * One run of pattern pat over s that keeps the spans of the first and the
 * last SX_KEEP matches and their count, without building every match: what
 * the k-th match (_nth) needs for -SX_KEEP <= k < SX_KEEP. false when the
 * budget is spent.
 */
#define SX_KEEP 4
struct sx_span {
    size_t off, len;
};
struct sx_matches {
    size_t n;
    struct sx_span first[SX_KEEP], last[SX_KEEP];   /* last: match i at i % SX_KEEP */
};
bool sx_matches(struct ad_synth_program *p, int pat, const char *s, size_t len,
                struct sx_matches *m);
/* The span of match k (negative from the end); false when there is none or it was not kept. */
bool sx_match_at(const struct sx_matches *m, long k, struct sx_span *out);
/* repr() of a Python float; buf of at least 32 bytes. */
void sx_float_repr(double d, char *buf, size_t size);
/* The value at path in input, or NULL when missing (borrowed). */
const json_t *sx_walk(const struct sx_path *path, const json_t *input);

/* ---- the Python (synth_emit.c) ---- */

int sx_emit_module(struct ad_synth_program *p, const char *name, const char *description,
                   const json_t *examples, struct ad_buf *out);
/* The root's expression, as the summary line shows it. */
int sx_emit_expr(struct ad_synth_program *p, int node, struct ad_buf *out);
/* A Python string literal for s (ASCII only: other characters escaped). */
int sx_py_str(struct ad_buf *b, const char *s, size_t len, bool raw_ok);
/* A Python literal for a JSON value. */
int sx_py_value(struct ad_buf *b, const json_t *v);

/* Python's str operations of enum sx_strop on a and b (b may be NULL); NULL and *why when it raises. */
json_t *sx_strop(struct ad_synth_program *p, const struct sx *x, const json_t *a, const json_t *b,
                 const char **why);

/* ---- the text search (synth_text.c) ---- */

struct sx_search;
/* Finds the cheapest string program; 0 and *node, or AD_ENOTFOUND. */
int sx_text_search(struct sx_search *s, int *node, double *cost);
/* Lists of strings: every match of a pattern. */
int sx_list_text_search(struct sx_search *s, int *node, double *cost);

/* ---- shared by the searches (synth.c) ---- */

struct sx_leaf {
    struct sx_path path;
    const json_t **v;           /* per example, borrowed; NULL where missing */
    int types;                  /* mask of 1 << json_type over the present values */
    int present;                /* examples where present */
};

struct sx_search {
    struct ad_synth_program *p;
    size_t n;                   /* examples */
    const json_t **in, **out;   /* per example */
    struct sx_leaf *leaf;
    size_t nleaf;
    int *ln;                    /* each leaf's SX_PATH node, made once for every family */
    long considered;
    long max_candidates;        /* the budget of candidates tried */
    bool too_long;              /* a string leaf was too long to search with patterns */
    bool branch;                /* a branch of a conditional: no conditional inside it */
    /*
     * The search for alternatives (ambiguity): the inputs they are compared
     * on, a JSON array of {"input": ...}; NULL otherwise. Two atoms that
     * agree on the examples and on these are one atom to it.
     */
    const json_t *probes;
    /* programs the Python re-check turned down, as sx_emit_expr writes them */
    char *const *rejected;
    size_t nrejected;
    /* the closest miss, for the reason when nothing fits */
    int best_fits;
    double best_cost;
    struct ad_buf best_desc;
    size_t best_fail;           /* first example it gets wrong */
    char *best_got;
};

/*
 * Scores candidate node against every example: true when it fits all.
 * Misses are remembered as the closest guess when they fit the most. Once
 * the budget is spent every candidate is a miss (sx_spent).
 */
bool sx_try(struct sx_search *s, int node, double cost);
/*
 * Remembers node as the closest miss when it fits more examples (the first
 * fits) than the closest so far, or as many at a lower cost; got is what
 * it gave on the next one (NULL: it raised, why says why).
 */
void sx_miss(struct sx_search *s, int node, double cost, size_t fits, const json_t *got,
             const char *why);
/* Whether the Python re-check turned node's program down in an earlier pass. */
bool sx_rejected(struct sx_search *s, int node);
/* Whether the work budget (candidates or bytes scanned) is spent: the search winds down. */
bool sx_spent(const struct sx_search *s);

/* ---- the Python re-check (synth_check.c) ---- */

struct sx_check {
    const char *python;         /* the command's words */
    int wall_ms;
    /* when Python disagrees: the example, what Python gave (a value or the error), owned */
    size_t bad;
    char *got;
};

/*
 * Runs code's function entry in Python on every example's input, as the
 * sandbox harness calls a skill, and compares each result with the output.
 * 0 when all agree; 1 when example c->bad does not (c->got says what Python
 * gave). With err: AD_EINVAL (no command), AD_EIO (it cannot be run, or
 * fails), AD_ETIMEOUT (past c->wall_ms), AD_ETOOBIG (answers over 256 MiB),
 * AD_EINTERNAL (the module does not load: a bug of synth_emit.c), AD_ENOMEM.
 */
int sx_check_python(struct sx_check *c, const char *code, const char *entry,
                    const json_t *examples, struct ad_err *err);

#endif
