/*
 * The PostgreSQL backend's private header: the connection (conn.c), the
 * statement runner, the readers of result columns and the migrations.
 *
 * One libpq connection per struct ad_store, used by one thread at a time
 * (the runtime opens one store per thread). Statements are the static
 * texts of the entity files, prepared once per connection on first use
 * (keyed by the text's address) and prepared again after a reconnect.
 * Every statement runs with the tenant it is given as the transaction's
 * autodev.tenant setting, which row-level security checks (schema.c).
 */
#ifndef AD_STORE_PG_INT_H
#define AD_STORE_PG_INT_H

#include "pq_api.h"
#include <stdbool.h>

#include "autodev/store.h"

#include "store_backend.h"

struct ad__pg_migration {
    int version;
    const char *sql;
};

extern const struct ad__pg_migration ad__pg_migrations[];
extern const size_t ad__pg_nmigrations;
/* The migration that made ad_watch_tables() (schema.c): run after every later one. */
#define AD_PG_WATCH_VERSION 13

/* The tenant value that lets a statement see every tenant (store-wide reads). */
#define AD_PG_ALL_TENANTS "*"

struct pg_store {
    struct ad_store base;    /* first: the public layer sees only this */
    PGconn *conn;
    char *conninfo;
    const char **prepared;   /* prepared[i] is statement "s<i>" of this connection */
    size_t nprepared, aprepared;
    int depth;               /* levels open on the server (0: none) */
    int lost;                /* AD_E* of the error that aborted the transaction, 0 for none */
    /* autodev.tenant as last set: for the session, and locally in the open transaction. */
    char tenant_session[AD_ID_SIZE];
    char tenant_tx[AD_ID_SIZE];
    int busy_timeout_ms;
    int listening;           /* LISTEN autodev_jobs was run on this connection (jobs.c) */
    struct pg_listener *listener; /* this process's watcher of the database (conn.c) */
    int wrote;               /* the open transaction changed rows (conn.c) */
};

static inline struct pg_store *ad__pg(struct ad_store *st)
{
    return (struct pg_store *)st;
}

/*
 * Runs the static statement sql (prepared once per connection) with n text
 * parameters (NULL: SQL NULL) under tenant (NULL: whatever is set;
 * AD_PG_ALL_TENANTS: every tenant). On success *res holds the result
 * (PQclear it; res may be NULL to drop it). On failure the AD_E* code,
 * with what naming the operation in err.
 */
int ad__pg_run(struct pg_store *s, const char *tenant, const char *sql, int n,
               const char *const *params, PGresult **res, const char *what,
               struct ad_err *err);
/* Like ad__pg_run; AD_ENOTFOUND "unknown <what> '<id>'" when no row changed or came back. */
int ad__pg_run_one(struct pg_store *s, const char *tenant, const char *sql, int n,
                   const char *const *params, PGresult **res, const char *what,
                   const char *id, struct ad_err *err);

/* The same for a text made at run time: never prepared, inside a transaction (db copy). */
int ad__pg_run_text(struct pg_store *s, const char *tenant, const char *sql, int n,
                    const char *const *params, PGresult **res, const char *what,
                    struct ad_err *err);

/* Readers of column c of row r. NULL columns: NULL, "" , NAN, 0. */
const char *ad__pg_text(const PGresult *res, int r, int c);
int ad__pg_dup(const PGresult *res, int r, int c, char **out, struct ad_err *err);
void ad__pg_fixed(const PGresult *res, int r, int c, char *dst, size_t size);
int64_t ad__pg_i64(const PGresult *res, int r, int c);
double ad__pg_double(const PGresult *res, int r, int c);
/* A jsonb column as a new reference (NULL for NULL); AD_ECORRUPT/AD_ENOMEM when it does not parse. */
int ad__pg_json(const PGresult *res, int r, int c, json_t **out, struct ad_err *err);
/* An enumeration's name in the row as its value; AD_ECORRUPT naming it when unknown. */
int ad__pg_enum(const PGresult *res, int r, int c, const struct ad__enum *e, int *out,
                struct ad_err *err);

/* "" -> NULL, for optional fixed fields bound as parameters. */
static inline const char *ad__pg_opt(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Decimal text of v in buf (at least 24 bytes). */
const char *ad__pg_i64_text(int64_t v, char *buf);
/* %.17g of v, NULL for NAN (buf at least 32 bytes). */
const char *ad__pg_double_text(double v, char *buf);

/* Entity tables of pg/<entity>.c (the rest are declared in pg_ops.h). */
extern const struct ad__tenant_ops ad__pg_tenant_ops;
extern const struct ad__agent_ops ad__pg_agent_ops;
extern const struct ad__candidate_ops ad__pg_candidate_ops;
extern const struct ad__episode_ops ad__pg_episode_ops;
extern const struct ad__event_ops ad__pg_event_ops;
extern const struct ad__job_ops ad__pg_job_ops;
extern const struct ad__token_ops ad__pg_token_ops;
extern const struct ad__llm_call_ops ad__pg_llm_call_ops;
extern const struct ad__session_ops ad__pg_session_ops;
extern const struct ad__notification_ops ad__pg_notification_ops;

/* db copy's row stream (pg/copy.c). */
extern const struct ad__copy_ops ad__pg_copy_ops;

/* The ops table's table_count (pg/tables.c). */
int ad__pg_table_count(struct ad_store *st, int table, int64_t *count, struct ad_err *err);

#endif
