/*
 * The SQLite backend's private header: the connection, its statement
 * cache, the column descriptions that bind and read rows, and the helpers
 * every entity file (sqlite/<entity>.c) shares. conn.c owns the connection
 * and the cache, rows.c the column descriptions.
 *
 * One connection per struct ad_store (SQLITE_OPEN_NOMUTEX: a store is used
 * by one thread at a time, see store.h). Statements are prepared once and
 * cached for the life of the connection (SQLITE_PREPARE_PERSISTENT); every
 * use ends with ad__sq_put (reset and clear_bindings), so no statement
 * holds a read snapshot or a borrowed string.
 */
#ifndef AD_STORE_SQLITE_INT_H
#define AD_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "autodev/store.h"

#include "store_backend.h"

/* ---- the connection and its statement cache (conn.c) -------------------- */

struct sq_stmt;

struct sqlite_store;

struct stmt_slot {
    struct sqlite_store *owner;  /* the connection whose cache holds it */
    const struct sq_stmt *def;   /* the description it was made from, or NULL */
    uint64_t hash;               /* of sql, for plain statements */
    char *sql;
    sqlite3_stmt *stmt;
    int *param;                  /* def's column i is parameter param[i] (0: not used) */
    int in_use;
};

struct sqlite_store {
    struct ad_store base;    /* first: the public layer sees only this */
    sqlite3 *db;
    char *path;
    /* Slots are allocated one by one: a caller's slot pointer stays valid
     * while later statements join the cache. */
    struct stmt_slot **slots;
    size_t nslots, aslots;
    /*
     * What a rollback runs, prepared at open so that a rollback never needs
     * memory (a failed one would leave SQLite inside the transaction).
     * release also ends a savepoint on commit.
     */
    sqlite3_stmt *rollback, *rollback_to, *release;
    /*
     * The AD_E* code of the failed statement after which SQLite ended the
     * whole transaction by itself (out of memory, a full disk, an I/O
     * error), noticed when the statement is put back; 0 for none, and
     * cleared when the next transaction begins.
     */
    int lost;
    /*
     * The pattern list's text for each shape of filter (agent or not, by
     * error type or not, light or not, the status mask), made on first use:
     * reflection lists patterns on every failure it reflects on.
     */
    char *pattern_lists[64];
};

static inline struct sqlite_store *ad__sq(struct ad_store *st)
{
    return (struct sqlite_store *)st;
}

/* SQLite result code -> AD_E* code; ad__sq_fail records it, what says which operation. */
int ad__sq_code(int rc);
int ad__sq_fail(struct sqlite_store *s, int rc, const char *what, struct ad_err *err);

/*
 * The cached statement for plain SQL text, marked in use until ad__sq_put.
 * A statement is never used twice at once; asking for one in use is a bug
 * (AD_EINTERNAL).
 */
int ad__sq_get(struct sqlite_store *s, const char *sql, struct stmt_slot **out,
               struct ad_err *err);
/* The same for a described statement (rows.c), found by def's address. */
int ad__sq_prepare(struct sqlite_store *s, const struct sq_stmt *def, struct stmt_slot **out,
                   struct ad_err *err);
/*
 * Puts a statement back (reset, bindings cleared). A failed statement after
 * which SQLite is no longer inside the store's transaction is noted in
 * s->lost here, the one place every cached statement passes.
 */
void ad__sq_put(struct stmt_slot *slot);
/* Runs a cached statement that returns nothing (or whose rows are ignored). */
int ad__sq_exec(struct sqlite_store *s, const char *sql, struct ad_err *err);
/* The EXPLAIN QUERY PLAN of sql, one plan row per line (malloc'd). For tests. */
int ad__sq_explain(struct ad_store *st, const char *sql, char **plan, struct ad_err *err);

/* ---- column descriptions (rows.c) --------------------------------------- */

/*
 * How a column maps to a member of the entity's struct. A column is bound
 * from the member by name (":<column>" in the statement) and read back
 * from the result column of its position in the table's list.
 */
enum sq_type {
    SQ_TEXT,     /* char *: NULL is NULL; read as a malloc'd copy */
    SQ_FIXED,    /* char[size] (id, time): read NULL as "" */
    SQ_JSON,     /* json_t *: bound from the JSON texts the op got (aux), read and parsed */
    SQ_INT,      /* int */
    SQ_INT64,    /* int64_t */
    SQ_REAL,     /* double: NAN binds as NULL */
    SQ_BOOL,     /* bool as 0/1 */
    SQ_ENUM,     /* an int-sized enum as its name in the table e */
};

enum sq_flags {
    SQ_EMPTY_NULL = 1 << 0,  /* SQ_FIXED: "" (none) is NULL in the row */
    SQ_NAN_NULL = 1 << 1,    /* SQ_REAL: NULL reads as NAN (else as 0) */
    SQ_NULLABLE = 1 << 2,    /* SQ_ENUM: -1 is NULL */
    SQ_HEAVY = 1 << 3,       /* left out of {light} lists: it reads as NULL there */
    SQ_NOINSERT = 1 << 4,    /* left out of {icols}/{params}: the row's default */
    SQ_UPDATE = 1 << 5,      /* written by {set} */
};

struct sq_col {
    const char *name;
    unsigned char type;      /* enum sq_type */
    unsigned char flags;     /* enum sq_flags */
    unsigned char aux;       /* SQ_JSON: index of its text among the op's JSON texts */
    unsigned short size;     /* sizeof the member */
    size_t off;              /* offsetof the member */
    const struct ad__enum *e;
};

/* The columns of a table as one struct holds them, in the order lists give them. */
struct sq_table {
    const char *what;        /* the row in messages: "skill candidate" */
    const struct sq_col *cols;
    size_t ncols;
    size_t size;             /* sizeof the struct, for result arrays */
};

#define SQ_MEMBER(T, m) sizeof(((T *)0)->m), offsetof(T, m)
/* A column named like its member, of a type without extras. */
#define SQ_COL(T, m, type, flags) { #m, type, flags, 0, SQ_MEMBER(T, m), NULL }
#define SQ_NAMED(name, T, m, type, flags) { name, type, flags, 0, SQ_MEMBER(T, m), NULL }
#define SQ_JSONCOL(T, m, aux, flags) { #m, SQ_JSON, flags, aux, SQ_MEMBER(T, m), NULL }
#define SQ_ENUMCOL(name, T, m, e, flags) { name, SQ_ENUM, flags, 0, SQ_MEMBER(T, m), e }
#define SQ_TABLE(what, T, cols) { what, cols, AD_ARRAY_SIZE(cols), sizeof(T) }

/*
 * A statement made from a table's columns. sql is a template whose
 * placeholders the cache expands once per connection:
 *   {cols}    every column, in order ("id, tenant_id, ...")
 *   {k.cols}  the same with a prefix ("k.id, k.tenant_id, ...")
 *   {light}   every column, SQ_HEAVY ones as NULL
 *   {icols}   the inserted columns; {params} their parameters (":id, ...")
 *   {set}     "col = :col" for the SQ_UPDATE columns
 * Parameters ":<column>" are bound from the row; any other parameter is
 * the caller's to bind (by name, or ?N in statements without names: a
 * statement mixing both would number them by first appearance). A template
 * holds no other braces.
 */
struct sq_stmt {
    const struct sq_table *table;
    const char *sql;
};

/* Expands def's template into a new string (conn.c prepares it); NULL on ENOMEM. */
char *ad__sq_expand(const struct sq_stmt *def);
/* Fills slot->param for def's columns; AD_ENOMEM or 0. */
int ad__sq_map_params(struct stmt_slot *slot, struct ad_err *err);

/* Binds row's columns to the statement's ":<column>" parameters. json: the op's JSON texts. */
int ad__sq_bind_row(struct sqlite_store *s, struct stmt_slot *q, const void *row,
                    const char *const *json, struct ad_err *err);
/* Reads the current result row (columns in the table's order, from 0) into row. */
int ad__sq_read_row(sqlite3_stmt *q, const struct sq_table *t, void *row, struct ad_err *err);

/* Binds text, NULL or an integer to a named parameter that may be absent. */
void ad__sq_bind_text(sqlite3_stmt *q, const char *name, const char *v);
void ad__sq_bind_int(sqlite3_stmt *q, const char *name, int64_t v);

/* Fills one element of a result array from the current row. */
typedef int ad__sq_row_fn(sqlite3_stmt *q, void *elem, struct ad_err *err);

/*
 * Steps q to the end, one array element per row, with fn (or, fn NULL, the
 * table of q's description), then puts q back. On failure *out still holds
 * the *n elements filled so far (zeroed past them) for the caller to free.
 */
int ad__sq_collect(struct sqlite_store *s, struct stmt_slot *q, size_t elem, ad__sq_row_fn *fn,
                   void **out, size_t *n, const char *what, struct ad_err *err);
/*
 * Steps q, a query for at most one row, into out (fn, or q's table) and
 * puts q back. No row is AD_ENOTFOUND with no message: the caller names
 * what is missing.
 */
int ad__sq_step_one(struct sqlite_store *s, struct stmt_slot *q, ad__sq_row_fn *fn, void *out,
                    const char *what, struct ad_err *err);
/* Runs a write, puts q back, and requires that it changed a row: else "unknown <what> '<id>'". */
int ad__sq_step_changed(struct sqlite_store *s, struct stmt_slot *q, const char *what,
                        const char *id, struct ad_err *err);
/*
 * Steps a conditional write (INSERT ... SELECT ... WHERE, UPDATE ... AND
 * EXISTS) and puts q back; *changed says whether its condition held. A
 * taken unique key is AD_EEXIST without a message: the caller words it.
 */
int ad__sq_step_cond(struct sqlite_store *s, struct stmt_slot *q, const char *what,
                     int *changed, struct ad_err *err);
/* Steps an insert whose only unchecked reference is the tenant, and puts q back. */
int ad__sq_step_insert(struct sqlite_store *s, struct stmt_slot *q, const char *tenant_id,
                       const char *what, struct ad_err *err);
/* Runs a query with ?1 and ?2 bound to a and b whose one row holds integers; out[i] = column i. */
int ad__sq_ints(struct sqlite_store *s, const char *sql, const char *a, const char *b,
                int64_t *out, int n, const char *what, struct ad_err *err);
/* 1 if sql (?1 tenant, ?2 id) finds a row, 0 if not, or a negative error. */
int ad__sq_exists(struct sqlite_store *s, const char *sql, const char *tenant_id,
                  const char *id, struct ad_err *err);

/* Existence checks that say which referenced row a conditional write lacked. */
/*
 * A key above every id (UUIDv7 text is [0-9a-f-]): "id < AD__SQ_ID_TOP" is
 * a keyset condition that holds for every row, so one statement serves a
 * list's first page and its next ones as an index range.
 */
#define AD__SQ_ID_TOP "~"

#define SQ_AGENT_EXISTS "SELECT 1 FROM agents WHERE tenant_id = ?1 AND id = ?2"

/* ---- the entity tables (one file each) ---------------------------------- */

/* db copy's row stream (sqlite/copy.c). */
extern const struct ad__copy_ops ad__sqlite_copy_ops;
extern const struct ad__tenant_ops ad__sqlite_tenant_ops;
extern const struct ad__agent_ops ad__sqlite_agent_ops;
extern const struct ad__episode_ops ad__sqlite_episode_ops;
extern const struct ad__event_ops ad__sqlite_event_ops;
extern const struct ad__job_ops ad__sqlite_job_ops;
extern const struct ad__token_ops ad__sqlite_token_ops;
extern const struct ad__llm_call_ops ad__sqlite_llm_call_ops;
extern const struct ad__skill_ops ad__sqlite_skill_ops;
extern const struct ad__execution_ops ad__sqlite_execution_ops;
extern const struct ad__session_ops ad__sqlite_session_ops;
extern const struct ad__candidate_ops ad__sqlite_candidate_ops;
extern const struct ad__research_ops ad__sqlite_research_ops;
extern const struct ad__capability_ops ad__sqlite_capability_ops;
extern const struct ad__notification_ops ad__sqlite_notification_ops;
extern const struct ad__pattern_ops ad__sqlite_pattern_ops;
extern const struct ad__mutation_ops ad__sqlite_mutation_ops;
extern const struct ad__variant_ops ad__sqlite_variant_ops;
extern const struct ad__webhook_ops ad__sqlite_webhook_ops;
extern const struct ad__evolve_ops ad__sqlite_evolve_ops;
extern const struct ad__fitness_term_ops ad__sqlite_fitness_term_ops;

/* The ops table's table_count (sqlite/tables.c). */
int ad__sq_table_count(struct ad_store *st, int table, int64_t *count, struct ad_err *err);

#endif
