/*
 * Inside the synthesizer: the program tree, its evaluator (synth_eval.c),
 * its Python writer (synth_emit.c) and the searches (synth.c, synth_text.c).
 */
#ifndef AD_SYNTH_INT_H
#define AD_SYNTH_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "autodev/buf.h"
#include "autodev/synth.h"

#define SX_MAX_DEPTH 4          /* steps of a path below the input */

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
};

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

/* Python's str.lower() ... on ASCII letters; other bytes are kept. Owned result. */
char *sx_case(const char *s, size_t len, enum sx_case c, size_t *outlen);
/* Every match of pattern i in s: group 1 or the whole match, as a JSON list. */
json_t *sx_findall(struct ad_synth_program *p, int pat, const char *s, size_t len);
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
    bool too_long;              /* a string leaf was too long to search with patterns */
    /* the closest miss, for the reason when nothing fits */
    int best_fits;
    double best_cost;
    struct ad_buf best_desc;
    size_t best_fail;           /* first example it gets wrong */
    char *best_got;
};

/*
 * Scores candidate node against every example: true when it fits all.
 * Misses are remembered as the closest guess when they fit the most.
 */
bool sx_try(struct sx_search *s, int node, double cost);

#endif
