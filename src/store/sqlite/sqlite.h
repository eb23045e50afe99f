/*
 * What the SQLite backend exports beyond its private parts: its ops table
 * (store.c picks it by URI scheme) and, for tests and benchmarks only, the
 * EXPLAIN QUERY PLAN of the statements whose index matters, one plan line
 * per text line. *plan is malloc'd; the caller frees it. On a store of
 * another backend they fail with AD_ENOTSUP. Tests also reach the store's
 * connection itself, to do behind its back what a failure would leave.
 */
#ifndef AD_STORE_SQLITE_H
#define AD_STORE_SQLITE_H

#include "autodev/error.h"
#include "autodev/store.h"

struct ad_store_ops;
struct sqlite3;

extern const struct ad_store_ops ad__store_sqlite_ops;

/* The store's connection, for tests only; NULL on a store of another backend. */
struct sqlite3 *ad__sqlite_db(struct ad_store *st);
/* The statement ad_store_episode_list() runs for filter f. */
int ad__sqlite_explain_episode_list(struct ad_store *st, const char *tenant_id,
                                    const struct ad_episode_filter *f, char **plan,
                                    struct ad_err *err);
/* The statement ad_store_job_claim() runs (kind NULL or not). */
int ad__sqlite_explain_job_claim(struct ad_store *st, const char *kind, char **plan,
                                 struct ad_err *err);
/* The statement ad_store_episode_recent_failures() runs. */
int ad__sqlite_explain_recent_failures(struct ad_store *st, char **plan, struct ad_err *err);
/* The statement ad_store_pattern_list() runs for filter f (its limit ignored). */
int ad__sqlite_explain_pattern_list(struct ad_store *st, const struct ad_pattern_filter *f,
                                    char **plan, struct ad_err *err);

#endif
