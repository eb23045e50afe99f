/*
 * The store's backend interface (internal).
 *
 * A backend is a const struct ad_store_ops; each open store is a
 * backend-specific struct whose first member is struct ad_store, so the
 * public functions in store.c can dispatch through st->ops and a backend
 * can cast st back to its own type (SQLite's VFS, git's ref_storage_be).
 *
 * Division of labour: store.c validates every argument (ids, names, size
 * caps, ranges), assigns ids and timestamps, and wraps each write in a
 * transaction level (BEGIN or a savepoint) so a failed call leaves nothing
 * behind. A backend only runs its dialect's statements: it may assume its
 * arguments are valid and that a write runs inside a transaction.
 *
 * Every op returns 0 or a negative AD_E* code with detail in err.
 */
#ifndef AD_STORE_BACKEND_H
#define AD_STORE_BACKEND_H

#include <jansson.h>
#include <stdint.h>

#include "autodev/error.h"
#include "autodev/store.h"

struct ad_store_ops;

/* The part of every open store that store.c owns. */
struct ad_store {
    const struct ad_store_ops *ops;
    int tx_depth;        /* 0 outside any transaction; maintained by store.c */
    int flags;           /* enum ad_store_flags as opened */
};

struct ad_store_ops {
    const char *name;

    /* target is the uri without its scheme. On success *out is a new store. */
    int (*open)(const char *target, const struct ad_store_options *opts, struct ad_store **out,
                struct ad_err *err);
    void (*close)(struct ad_store *st);
    int (*schema_version)(struct ad_store *st, int *current, int *latest, struct ad_err *err);
    int (*check)(struct ad_store *st, struct ad_err *err);

    /*
     * Transaction levels. depth is the level being opened or closed: 1 is
     * the outermost transaction, deeper levels are savepoints. rollback must
     * leave the level closed whatever happens; its error is only logged.
     */
    int (*begin)(struct ad_store *st, int depth, struct ad_err *err);
    int (*commit)(struct ad_store *st, int depth, struct ad_err *err);
    int (*rollback)(struct ad_store *st, int depth, struct ad_err *err);

    /* Tenants. tenant_ensure runs inside a transaction; t carries id and times. */
    int (*tenant_find)(struct ad_store *st, const char *name, struct ad_tenant *out,
                       struct ad_err *err);
    int (*tenant_insert)(struct ad_store *st, const struct ad_tenant *t,
                         const char *settings_json, struct ad_err *err);
    /* The tenant's whole settings object (new reference). */
    int (*settings_get)(struct ad_store *st, const char *tenant_id, json_t **out,
                        struct ad_err *err);
    int (*settings_put)(struct ad_store *st, const char *tenant_id, const json_t *settings,
                        const char *now, struct ad_err *err);

    /* Agents. Exactly one of id and name is non-NULL for agent_get. */
    int (*agent_insert)(struct ad_store *st, const struct ad_agent *a, struct ad_err *err);
    int (*agent_get)(struct ad_store *st, const char *tenant_id, const char *id,
                     const char *name, struct ad_agent *out, struct ad_err *err);
    int (*agent_list)(struct ad_store *st, const char *tenant_id, const char *after_name,
                      int limit, struct ad_agent **out, size_t *n, struct ad_err *err);
    int (*agent_set_maturity)(struct ad_store *st, const char *tenant_id, const char *id,
                              enum ad_maturity m, const char *now, struct ad_err *err);

    /*
     * Episodes. episode_insert gets ids and created_at already set; it bumps
     * the agent's counters and returns AD_ENOTFOUND when the agent is not the
     * tenant's. The filter's limit is already resolved (1..AD_LIST_MAX).
     */
    int (*episode_insert)(struct ad_store *st, const struct ad_episode *ep, struct ad_err *err);
    int (*episode_get)(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_episode *out, struct ad_err *err);
    int (*episode_list)(struct ad_store *st, const char *tenant_id,
                        const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                        struct ad_err *err);
    int (*episode_count)(struct ad_store *st, const char *tenant_id,
                         const struct ad_episode_filter *f, int64_t *count, struct ad_err *err);

    /* Events. event_append gets id and created_at set and fills ev->seq. */
    int (*event_append)(struct ad_store *st, struct ad_event *ev, struct ad_err *err);
    int (*event_list)(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                      const char *topic, int limit, struct ad_event **out, size_t *n,
                      struct ad_err *err);
    int (*event_last_seq)(struct ad_store *st, const char *tenant_id, int64_t *seq,
                          struct ad_err *err);

    /*
     * Jobs. job_insert gets id, times and run_after set; with a taken
     * idempotency key it fills *j with the existing job and returns
     * AD_EEXIST. Times are ISO-8601 text (clock.h), which sorts in time order.
     */
    int (*job_insert)(struct ad_store *st, struct ad_job *j, struct ad_err *err);
    int (*job_get)(struct ad_store *st, const char *tenant_id, const char *id,
                   struct ad_job *out, struct ad_err *err);
    int (*job_claim)(struct ad_store *st, const char *tenant_id, const char *kind,
                     const char *worker, const char *now, const char *lease_until,
                     struct ad_job *out, struct ad_err *err);
    int (*job_finish)(struct ad_store *st, const char *tenant_id, const char *id,
                      const char *worker, enum ad_job_status status, const char *error,
                      const char *run_after, const char *now, struct ad_err *err);
    int (*job_list)(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                    int limit, struct ad_job **out, size_t *n, struct ad_err *err);
};

extern const struct ad_store_ops ad__store_sqlite_ops;

/*
 * SQLite only, for tests and benchmarks: the EXPLAIN QUERY PLAN of the
 * statement ad_store_episode_list() runs for filter f, one plan line per
 * text line. *plan is malloc'd; the caller frees it.
 */
int ad__sqlite_explain_episode_list(struct ad_store *st, const char *tenant_id,
                                    const struct ad_episode_filter *f, char **plan,
                                    struct ad_err *err);

/* Shared by store.c and episode.c: checks every field of ep against store.h's caps. */
int ad__episode_validate(const struct ad_episode *ep, struct ad_err *err);

/* Copies src into a fixed-size field, truncating only what cannot be valid anyway. */
void ad__copy_fixed(char *dst, size_t size, const char *src);

#endif
