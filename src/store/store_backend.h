/*
 * The store's backend interface (internal).
 *
 * A backend is a const struct ad_store_ops; each open store is a
 * backend-specific struct whose first member is struct ad_store, so the
 * public functions in store.c can dispatch through st->ops and a backend
 * can cast st back to its own type (SQLite's VFS, git's ref_storage_be).
 *
 * Division of labour: store.c validates every argument (ids, names, size
 * caps, ranges), assigns ids and timestamps, and runs each write call
 * inside a transaction (its own, or the caller's). A backend only runs its
 * dialect's statements: it may assume its arguments are valid and that a
 * write runs inside a transaction. Each write op runs at most ONE writing
 * statement, so that a failed op leaves nothing behind without a savepoint
 * (store.c explains why); episode_insert is the one exception and reports
 * through *wrote whether it got past its first write.
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

/*
 * The JSON members of an episode as the compact text the store writes,
 * made once by ad__episode_validate (which checks the caps on exactly this
 * text) and bound as is by the backend. NULL where the member is NULL.
 * Release with ad__episode_json_release.
 */
struct ad__episode_json {
    char *input;
    char *expected;
    char *output;
    char *tools_attempted;
    char *context;
    char *metadata[AD_SEGMENTS_MAX];    /* of segments[i] */
    size_t nmetadata;                   /* entries of metadata[] in use */
};

void ad__episode_json_release(struct ad__episode_json *j);

/* The part of every open store that store.c owns. */
struct ad_store {
    const struct ad_store_ops *ops;
    int tx_depth;        /* 0 outside any transaction; maintained by store.c */
    int tx_broken;       /* level holding a half-done write (store.c), 0 for none */
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
     * tenant's, both in its first writing statement. It sets *wrote to 1 once
     * that statement succeeded. The filter's limit is already resolved
     * (1..AD_LIST_MAX).
     */
    int (*episode_insert)(struct ad_store *st, const struct ad_episode *ep,
                          const struct ad__episode_json *json, int *wrote, struct ad_err *err);
    int (*episode_get)(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_episode *out, struct ad_err *err);
    int (*episode_list)(struct ad_store *st, const char *tenant_id,
                        const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                        struct ad_err *err);
    int (*episode_count)(struct ad_store *st, const char *tenant_id,
                         const struct ad_episode_filter *f, int64_t *count, struct ad_err *err);

    /*
     * Events. event_append gets id and created_at set and fills ev->seq;
     * payload is ev->payload already serialised and size-checked by store.c
     * (so it is dumped once), NULL for '{}'.
     */
    int (*event_append)(struct ad_store *st, struct ad_event *ev, const char *payload,
                        struct ad_err *err);
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
    int (*job_insert)(struct ad_store *st, struct ad_job *j, const char *payload,
                      struct ad_err *err);
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

    /* The LLM ledger. llm_call_insert gets id and created_at set. */
    int (*llm_call_insert)(struct ad_store *st, const struct ad_llm_call *c, struct ad_err *err);
    int (*llm_usage)(struct ad_store *st, const char *tenant_id, const char *since,
                     struct ad_llm_usage_row **out, size_t *n, struct ad_err *err);
    int (*llm_spent)(struct ad_store *st, const char *tenant_id, const char *since,
                     int64_t *tokens, double *usd, struct ad_err *err);

    /*
     * Skills (skills.c runs the several ops of one public call inside one
     * transaction level). skill_insert writes the skill row with no current
     * version; schema is input_schema's compact text or NULL. Ids, times and
     * defaults are already set. skill_version_insert checks, in its one
     * statement, that the skill and the parent (when set) are the tenant's
     * and the parent a version of that skill: AD_ENOTFOUND naming which is
     * not. skill_set_current likewise requires version_id to be a version of
     * skill_id. Exactly one of id and name is non-NULL for skill_get, and of
     * id and semver for skill_version_get (semver goes with skill_id).
     * skill_search gets a ready FTS5 MATCH expression.
     */
    int (*skill_insert)(struct ad_store *st, const struct ad_skill *s, const char *schema,
                        struct ad_err *err);
    int (*skill_version_insert)(struct ad_store *st, const struct ad_skill_version *v,
                                struct ad_err *err);
    int (*skill_set_current)(struct ad_store *st, const char *tenant_id, const char *skill_id,
                             const char *version_id, const char *now, struct ad_err *err);
    int (*skill_update)(struct ad_store *st, const struct ad_skill *s, const char *schema,
                        struct ad_err *err);
    int (*skill_get)(struct ad_store *st, const char *tenant_id, const char *id,
                     const char *name, struct ad_skill *out, struct ad_err *err);
    int (*skill_list)(struct ad_store *st, const char *tenant_id, const char *after_name,
                      int limit, struct ad_skill **out, size_t *n, struct ad_err *err);
    int (*skill_version_get)(struct ad_store *st, const char *tenant_id, const char *id,
                             const char *skill_id, const char *semver,
                             struct ad_skill_version *out, struct ad_err *err);
    int (*skill_version_list)(struct ad_store *st, const char *tenant_id, const char *skill_id,
                              struct ad_skill_version **out, size_t *n, struct ad_err *err);
    int (*skill_search)(struct ad_store *st, const char *tenant_id, const char *match,
                        int limit, struct ad_skill_hit **out, size_t *n, struct ad_err *err);

    /*
     * Skill executions: the version, and the agent and episode when set,
     * must be the tenant's (AD_ENOTFOUND naming which is not). input and
     * output are the compact JSON texts (NULL for NULL).
     */
    int (*skill_execution_insert)(struct ad_store *st, const struct ad_skill_execution *x,
                                  const char *input, const char *output, struct ad_err *err);
    int (*skill_execution_list)(struct ad_store *st, const char *tenant_id,
                                const char *skill_version_id, int limit,
                                struct ad_skill_execution **out, size_t *n, struct ad_err *err);

    /*
     * Agent sessions: the agent, and the episode when set, must be the
     * tenant's. transcript and state are the compact JSON texts.
     */
    int (*agent_session_insert)(struct ad_store *st, const struct ad_agent_session *s,
                                const char *transcript, const char *state, struct ad_err *err);
    int (*agent_session_update)(struct ad_store *st, const struct ad_agent_session *s,
                                const char *transcript, const char *state, struct ad_err *err);
    int (*agent_session_get)(struct ad_store *st, const char *tenant_id, const char *id,
                             struct ad_agent_session *out, struct ad_err *err);
    int (*agent_session_list)(struct ad_store *st, const char *tenant_id, const char *agent_id,
                              int limit, struct ad_agent_session **out, size_t *n,
                              struct ad_err *err);

    /*
     * The learning rows (learn_rows.c). agent_record is AD_ENOTFOUND when
     * the agent is not the tenant's. candidate_insert gets id and created_at
     * set and checks, in its one statement, that the agent and the source
     * episode (when set) are the tenant's (AD_ENOTFOUND naming which);
     * learn_rows.c runs candidate_count_since and it in one transaction
     * level, which is what makes the daily limit hold. JSON arguments are
     * compact texts (NULL for NULL); a time field "" is NULL in the row; a
     * since of "" means ever. The candidate filter's limit is resolved.
     */
    int (*agent_record)(struct ad_store *st, const char *tenant_id, const char *agent_id,
                        struct ad_agent_record *out, struct ad_err *err);
    int (*candidate_insert)(struct ad_store *st, const struct ad_skill_candidate *c,
                            const char *failure_pattern, const char *validation_result,
                            struct ad_err *err);
    int (*candidate_update)(struct ad_store *st, const struct ad_skill_candidate *c,
                            const char *validation_result, struct ad_err *err);
    int (*candidate_get)(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_skill_candidate *out, struct ad_err *err);
    int (*candidate_list)(struct ad_store *st, const char *tenant_id,
                          const struct ad_candidate_filter *f, struct ad_skill_candidate **out,
                          size_t *n, struct ad_err *err);
    int (*candidate_count_since)(struct ad_store *st, const char *tenant_id, const char *since,
                                 int64_t *count, struct ad_err *err);
    int (*mutation_count_since)(struct ad_store *st, const char *tenant_id, const char *since,
                                int64_t *count, struct ad_err *err);

    /* Capability usage: the agent must be the tenant's (AD_ENOTFOUND). agent_id NULL counts all. */
    int (*capability_usage_insert)(struct ad_store *st, const char *id, const char *tenant_id,
                                   const char *agent_id, const char *capability, bool success,
                                   const char *created_at, struct ad_err *err);
    int (*capability_usage_count)(struct ad_store *st, const char *tenant_id,
                                  const char *agent_id, const char *capability,
                                  const char *since, struct ad_capability_count *out,
                                  struct ad_err *err);

    /*
     * Notifications: notification_insert gets id and created_at set; the
     * agent, when set, must be the tenant's. notification_mark_read with id
     * NULL marks every unread one; a read one keeps its read_at.
     */
    int (*notification_insert)(struct ad_store *st, const struct ad_notification *nt,
                               const char *payload, struct ad_err *err);
    int (*notification_list)(struct ad_store *st, const char *tenant_id, bool unread_only,
                             const char *type, int limit, struct ad_notification **out,
                             size_t *n, struct ad_err *err);
    int (*notification_mark_read)(struct ad_store *st, const char *tenant_id, const char *id,
                                  const char *now, int64_t *count, struct ad_err *err);
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
/* Likewise for the statement ad_store_job_claim() runs (kind NULL or not). */
int ad__sqlite_explain_job_claim(struct ad_store *st, const char *kind, char **plan,
                                 struct ad_err *err);

/*
 * Checks every field of ep against store.h's caps. With json non-NULL it
 * also fills *json with the members' text (released again on failure).
 */
int ad__episode_validate(const struct ad_episode *ep, struct ad__episode_json *json,
                         struct ad_err *err);

/*
 * store.c's helpers for the other files of the public layer (skills.c):
 * ad__check_id refuses a NULL or malformed id naming what; ad__new_id makes
 * a UUIDv7; ad__resolve_limit maps 0 to AD_LIST_DEFAULT and caps at
 * AD_LIST_MAX; ad__write_begin/ad__write_end wrap a write call that runs ONE
 * writing statement in the caller's transaction or one of its own (store.c's
 * top comment says why no savepoint).
 */
int ad__check_id(const char *what, const char *id, struct ad_err *err);
int ad__new_id(char out[AD_ID_SIZE], struct ad_err *err);
int ad__resolve_limit(int limit, int *out, struct ad_err *err);
int ad__write_begin(struct ad_store *st, int *own, struct ad_err *err);
int ad__write_end(struct ad_store *st, int own, int rc, struct ad_err *err);

/*
 * The name tables of the store's enumerations: ad__enum_name gives names[v]
 * (NULL out of range); ad__enum_parse the index of s, case-insensitive, or
 * -1 (also for a NULL s).
 */
const char *ad__enum_name(const char *const *names, size_t n, int v);
int ad__enum_parse(const char *const *names, size_t n, const char *s);

/* Copies src (NULL: "") into a fixed-size field; callers pass validated values. */
void ad__copy_fixed(char *dst, size_t size, const char *src);

/* Length of v's compact JSON text, the form the store writes. */
size_t ad__json_text_size(const json_t *v);
/*
 * Field checks that name the field in their message: s may be NULL unless
 * required (then also non-empty); longer than max is AD_ETOOBIG; not UTF-8
 * is AD_EINVAL. ad__check_json: v may be NULL; types is 0 (any) or a mask
 * of (1 << JSON_OBJECT) / (1 << JSON_ARRAY); over AD_JSON_FIELD_MAX is
 * AD_ETOOBIG. ad__json_text does the same and, when text is non-NULL, hands
 * back the compact text (malloc'd; NULL for a NULL v).
 */
int ad__check_text(const char *field, const char *s, size_t max, int required,
                   struct ad_err *err);
int ad__check_json(const char *field, const json_t *v, int types, struct ad_err *err);
int ad__json_text(const char *field, const json_t *v, int types, char **text,
                  struct ad_err *err);

#endif
