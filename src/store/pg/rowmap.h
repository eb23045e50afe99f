/*
 * Column maps for the PostgreSQL entity files of skills, executions,
 * candidates, patterns, mutations and variants: how each result column
 * (and each statement parameter, in the same order) maps to a member of
 * the entity's struct, so that one reader and one binder serve them all.
 * The statements themselves stay hand-written static texts (conn.c
 * prepares them by address); their select lists and parameters follow
 * the map's order, times read through ad_ts().
 */
#ifndef AD_STORE_PG_ROWMAP_H
#define AD_STORE_PG_ROWMAP_H

#include <stddef.h>

#include "pg/pg_int.h"

enum pgm_type {
    PGM_FIXED,   /* char[size] (id, time): NULL reads as "" */
    PGM_TEXT,    /* char *: NULL is NULL; read as a malloc'd copy */
    PGM_JSON,    /* json_t *: bound from the op's JSON texts (aux), read and parsed */
    PGM_INT,     /* int */
    PGM_INT64,   /* int64_t */
    PGM_REAL,    /* double: NAN binds as NULL */
    PGM_BOOL,    /* bool as 0/1 */
    PGM_ENUM,    /* an int-sized enum as its name in the table e */
};

enum pgm_flags {
    PGM_EMPTY_NULL = 1 << 0,   /* PGM_FIXED: "" binds as NULL */
    PGM_NAN_NULL = 1 << 1,     /* PGM_REAL: NULL reads as NAN (else as 0) */
    PGM_NULLABLE = 1 << 2,     /* PGM_ENUM: -1 is NULL */
};

struct pgm_col {
    unsigned char type;
    unsigned char flags;
    unsigned char aux;
    unsigned short size;
    size_t off;
    const struct ad__enum *e;
};

struct pgm_table {
    const char *what;          /* the row in messages */
    const struct pgm_col *cols;
    int ncols;
};

#define PGM_MEMBER(T, m) sizeof(((T *)0)->m), offsetof(T, m)
#define PGM_COL(T, m, type, flags) { type, flags, 0, PGM_MEMBER(T, m), NULL }
#define PGM_JSONCOL(T, m, aux) { PGM_JSON, 0, aux, PGM_MEMBER(T, m), NULL }
#define PGM_ENUMCOL(T, m, e, flags) { PGM_ENUM, flags, 0, PGM_MEMBER(T, m), e }
#define PGM_TABLE(what, cols) { what, cols, (int)AD_ARRAY_SIZE(cols) }

/* Room for one column's parameter text (a number). */
typedef char pgm_buf[32];

/* Reads row r, columns c0.. in the map's order, into obj (already initialised). */
int ad__pgm_read(const PGresult *res, int r, int c0, const struct pgm_table *t, void *obj,
                 struct ad_err *err);
/* p[i]: the parameter text of column i of obj (json: the op's JSON texts by aux). */
void ad__pgm_params(const struct pgm_table *t, const void *obj, const char *const *json,
                    pgm_buf *buf, const char **p);

/* Per-element init and release of an entity's struct, for ad__pgm_collect. */
struct pgm_elem {
    size_t size;
    void (*init)(void *elem);
    void (*release)(void *elem);
};

/*
 * Every row of res read into a new array (*out, *n); on failure what was
 * read is released and nothing handed back. The reader is ad__pgm_read at
 * column c0 unless row is set (it then reads the whole row itself).
 */
int ad__pgm_collect(const PGresult *res, const struct pgm_table *t, const struct pgm_elem *e,
                    int (*row)(const PGresult *res, int r, void *elem, struct ad_err *err),
                    void **out, size_t *n, struct ad_err *err);

/* Runs sql and collects its rows (see ad__pgm_collect). */
int ad__pgm_list(struct pg_store *s, const char *tenant, const char *sql, int np,
                 const char *const *params, const struct pgm_table *t,
                 const struct pgm_elem *e, void **out, size_t *n, const char *what,
                 struct ad_err *err);

/* 1 when the statement sql ($1 tenant, $2 id) finds a row, 0 when not, < 0 an error. */
int ad__pgm_exists(struct pg_store *s, const char *sql, const char *tenant_id, const char *id,
                   struct ad_err *err);

/* The text array literal ({a,b}) of the names of the mask's bits, NULL for 0. */
const char *ad__pgm_mask_array(const struct ad__enum *e, unsigned mask, char *buf, size_t size);

/* 1 when a write changed no row. */
static inline int ad__pgm_none(const PGresult *r)
{
    return !strcmp(PQcmdTuples((PGresult *)r), "0");
}

#endif
