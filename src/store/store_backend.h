/*
 * The store's backend interface (internal).
 *
 * A backend is a const struct ad_store_ops: the backend-wide operations
 * (open, close, schema version, integrity check, transaction levels) at
 * the top, then one const table of operations per entity, so that a call
 * reads st->ops->jobs->claim(...) and a second backend (PostgreSQL) can be
 * written, reviewed and tested one entity at a time. Each open store is a
 * backend-specific struct whose first member is struct ad_store, so the
 * public functions can dispatch through st->ops and a backend can cast st
 * back to its own type (SQLite's VFS, git's ref_storage_be).
 *
 * Division of labour: the public layer (store.c and one file per entity)
 * validates every argument (ids, names, size caps, ranges, UTF-8, JSON
 * types), assigns ids and timestamps, serialises JSON members once, and
 * runs each write call inside a transaction (its own, or the caller's). A
 * backend only runs its dialect's statements: it may assume its arguments
 * are valid and that a write runs inside a transaction. Tenant isolation
 * is the backend's job too: every statement it runs is limited to the
 * tenant it was given, and a reference to another row (an agent, an
 * episode, a candidate) counts only when that row is the same tenant's.
 * Each write op runs at most ONE writing statement, so that a failed op
 * leaves nothing behind without a savepoint (store.c explains why);
 * episodes->insert is the one exception and reports through *wrote whether
 * it got past its first write.
 *
 * Conventions of every op: 0 or a negative AD_E* code with detail in err;
 * JSON arguments are the compact texts the public layer made (NULL for
 * NULL); a fixed id or time field "" is NULL in the row; a since of ""
 * means ever; a list's limit is already resolved (1..AD_LIST_MAX); an
 * AD_ENOTFOUND names what is missing ("unknown agent '<id>'").
 *
 * Every op of every table is required: there are no optional ops yet, so
 * no call site tests for NULL (store.c checks the tables once, at open).
 */
#ifndef AD_STORE_BACKEND_H
#define AD_STORE_BACKEND_H

#include <jansson.h>
#include <stdint.h>

#include "autodev/error.h"
#include "autodev/settings.h"
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

/* The part of every open store that the public layer owns. */
/*
 * One tenant's settings as last read by this handle (settings.c). Every
 * failure recorded reads them (reflection), and parsing the block costs
 * more than the rest of the read: the copy is used while the backend's
 * data version says no other connection committed since, and dropped when
 * this handle writes settings or rolls a level back.
 */
struct ad__settings_cache {
    bool valid;
    char tenant_id[AD_ID_SIZE];
    int64_t version;     /* the data version read before the settings were */
    struct ad_settings s;
};

/* The part of every open store that store.c owns. */
struct ad_store {
    const struct ad_store_ops *ops;
    int tx_depth;        /* 0 outside any transaction; maintained by store.c */
    int tx_broken;       /* level holding a half-done write (store.c), 0 for none */
    int tx_lost;         /* code of the error that ended the whole transaction, 0 for none */
    int flags;           /* enum ad_store_flags as opened */
    struct ad__settings_cache settings;
    int64_t commits;     /* outermost transactions this handle committed (ad_store_changes) */
};

/* ---- one table of ops per entity ---------------------------------------- */

/*
 * Tenants and their settings (tenants.settings). insert gets id and
 * created_at set and runs inside tenant_ensure's transaction; settings_get
 * gives the whole settings object (a new reference) and settings_put
 * writes it back as the compact text settings.
 */
struct ad__tenant_ops {
    int (*find)(struct ad_store *st, const char *name, struct ad_tenant *out,
                struct ad_err *err);
    int (*insert)(struct ad_store *st, const struct ad_tenant *t, const char *settings,
                  struct ad_err *err);
    int (*settings_get)(struct ad_store *st, const char *tenant_id, json_t **out,
                        struct ad_err *err);
    int (*settings_put)(struct ad_store *st, const char *tenant_id, const char *settings,
                        const char *now, struct ad_err *err);
    /* Every tenant, by name. */
    int (*list)(struct ad_store *st, struct ad_tenant **out, size_t *n, struct ad_err *err);
};

/*
 * Agents. Exactly one of id and name is non-NULL for get. record is
 * AD_ENOTFOUND when the agent is not the tenant's.
 */
struct ad__agent_ops {
    int (*insert)(struct ad_store *st, const struct ad_agent *a, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id, const char *name,
               struct ad_agent *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const char *after_name, int limit,
                struct ad_agent **out, size_t *n, struct ad_err *err);
    int (*set_maturity)(struct ad_store *st, const char *tenant_id, const char *id,
                        enum ad_maturity m, const char *now, struct ad_err *err);
    int (*set_tool_policy)(struct ad_store *st, const char *tenant_id, const char *id,
                           const char *policy, const char *now, struct ad_err *err);
    int (*record)(struct ad_store *st, const char *tenant_id, const char *agent_id,
                  struct ad_agent_record *out, struct ad_err *err);
};

/*
 * Episodes. insert gets ids, created_at and error_type already set; it
 * bumps the agent's counters and returns AD_ENOTFOUND when the agent is
 * not the tenant's, both in its first writing statement, and sets *wrote
 * to 1 once that statement succeeded. recent_failures reads only the
 * brief's columns of the agent's failed episodes with id >= id_floor and
 * created_at >= since, newest first (episodes.c says why both bounds).
 */
struct ad__episode_ops {
    int (*insert)(struct ad_store *st, const struct ad_episode *ep,
                  const struct ad__episode_json *json, int *wrote, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_episode *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const struct ad_episode_filter *f,
                struct ad_episode **out, size_t *n, struct ad_err *err);
    int (*count)(struct ad_store *st, const char *tenant_id, const struct ad_episode_filter *f,
                 int64_t *count, struct ad_err *err);
    int (*recent_failures)(struct ad_store *st, const char *tenant_id, const char *agent_id,
                           const char *since, const char *id_floor, int limit, bool only_type,
                           const char *error_type, struct ad_episode_brief **out, size_t *n,
                           struct ad_err *err);
};

/*
 * Events. append gets id and created_at set and fills ev->seq: a number
 * larger than every seq committed before (so it must be assigned under the
 * write lock, in commit order); payload is never NULL.
 */
struct ad__event_ops {
    int (*append)(struct ad_store *st, struct ad_event *ev, const char *payload,
                  struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                const char *topic, int limit, struct ad_event **out, size_t *n,
                struct ad_err *err);
    int (*last_seq)(struct ad_store *st, const char *tenant_id, int64_t *seq,
                    struct ad_err *err);
};

/*
 * Jobs. insert gets id, times, status and run_after set (payload never
 * NULL); with a taken idempotency key it fills *j with the existing job and
 * returns AD_EEXIST. Times are ISO-8601 text (clock.h), which sorts in time
 * order. claim must take the job in one statement, so two workers never
 * get the same one.
 */
struct ad__job_ops {
    int (*insert)(struct ad_store *st, struct ad_job *j, const char *payload,
                  struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id, struct ad_job *out,
               struct ad_err *err);
    /* The status column alone: no payload read or decoded. */
    int (*status)(struct ad_store *st, const char *tenant_id, const char *id,
                  enum ad_job_status *out, struct ad_err *err);
    int (*claim)(struct ad_store *st, const char *tenant_id, const char *kind,
                 const char *worker, const char *now, const char *lease_until,
                 struct ad_job *out, struct ad_err *err);
    int (*finish)(struct ad_store *st, const char *tenant_id, const char *id,
                  const char *worker, enum ad_job_status status, const char *error,
                  const char *run_after, const char *now, struct ad_err *err);
    /*
     * lease_until of a job running under worker, and only then (a guarded
     * update like finish: AD_ESTATE when it runs under someone else or not at
     * all, AD_ENOTFOUND when there is no such job). It must lock the row for
     * the rest of the caller's transaction, so no claim can take the job
     * before that transaction ends.
     */
    int (*renew)(struct ad_store *st, const char *tenant_id, const char *id,
                 const char *worker, const char *now, const char *lease_until,
                 struct ad_err *err);
    /* before_id: newest first from the row older than it (NULL: the newest). */
    int (*list)(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                const char *before_id,
                int limit, struct ad_job **out, size_t *n, struct ad_err *err);
    /* counts[s]: the tenant's jobs of status s. */
    int (*counts)(struct ad_store *st, const char *tenant_id, int64_t *counts,
                  struct ad_err *err);
    /* Every job of the tenant running under worker: queued, run_after now, no lease. */
    int (*hand_back)(struct ad_store *st, const char *tenant_id, const char *worker,
                     const char *note, const char *now, int64_t *count, struct ad_err *err);
    /*
     * Optional (NULL: the backend has no wakeup, and idle workers poll):
     * waits up to timeout_ms for a sign that a job may have become
     * claimable (an insert, a retry, a hand-back committed by any process);
     * 1 when one came, 0 when the time ran out. Only an optimisation: a
     * wakeup may be spurious or missed, so the caller still polls.
     */
    int (*wait)(struct ad_store *st, int timeout_ms, struct ad_err *err);
};

/*
 * API tokens (the server's). find_hash looks in every tenant; get takes
 * an id or a name; revoke is AD_ESTATE for a token already revoked.
 */
struct ad__token_ops {
    int (*insert)(struct ad_store *st, const struct ad_api_token *t, struct ad_err *err);
    int (*find_hash)(struct ad_store *st, const char *hash, struct ad_api_token *out,
                     struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id_or_name,
               struct ad_api_token *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, bool with_revoked, int limit,
                struct ad_api_token **out, size_t *n, struct ad_err *err);
    int (*revoke)(struct ad_store *st, const char *tenant_id, const char *id, const char *now,
                  struct ad_err *err);
    int (*touch)(struct ad_store *st, const char *tenant_id, const char *id, const char *now,
                 struct ad_err *err);
    int (*count_active)(struct ad_store *st, int64_t *count, struct ad_err *err);
};

extern const struct ad__enum ad__token_role_enum;

/* A workspace's fitness terms (learn's); names are checked by store.c. */
struct ad__fitness_term_ops {
    int (*insert)(struct ad_store *st, const struct ad_fitness_term *t, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *name,
               struct ad_fitness_term *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, bool enabled_only, int limit,
                struct ad_fitness_term **out, size_t *n, struct ad_err *err);
    int (*del)(struct ad_store *st, const char *tenant_id, const char *name, struct ad_err *err);
};

/*
 * Webhooks, their deliveries and the signals' replay guard (module hooks).
 * delivery_list: webhook_id NULL any, status < 0 any. receipt_insert is
 * AD_EEXIST for a signature seen before.
 */
struct ad__webhook_ops {
    int (*insert)(struct ad_store *st, const struct ad_webhook *w, const char *topics,
                  struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_webhook *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, bool active_only, int limit,
                struct ad_webhook **out, size_t *n, struct ad_err *err);
    int (*remove)(struct ad_store *st, const char *tenant_id, const char *id,
                  struct ad_err *err);
    int (*rotate)(struct ad_store *st, const char *tenant_id, const char *id,
                  int64_t *generation, struct ad_err *err);
    int (*delivery_insert)(struct ad_store *st, const struct ad_webhook_delivery *d,
                           const char *payload, struct ad_err *err);
    int (*delivery_get)(struct ad_store *st, const char *tenant_id, const char *id,
                        struct ad_webhook_delivery *out, struct ad_err *err);
    int (*delivery_list)(struct ad_store *st, const char *tenant_id, const char *webhook_id,
                         int status, int limit, struct ad_webhook_delivery **out, size_t *n,
                         struct ad_err *err);
    int (*delivery_update)(struct ad_store *st, const struct ad_webhook_delivery *d,
                           struct ad_err *err);
    int (*receipt_insert)(struct ad_store *st, const char *id, const char *tenant_id,
                          const char *hash, const char *now, struct ad_err *err);
    int (*receipt_prune)(struct ad_store *st, const char *before, int64_t *count,
                         struct ad_err *err);
    int (*signal_generation)(struct ad_store *st, const char *tenant_id, int64_t *generation,
                             struct ad_err *err);
    int (*signal_rotate)(struct ad_store *st, const char *id, const char *tenant_id,
                         const char *now, int64_t *generation, struct ad_err *err);
};

extern const struct ad__enum ad__delivery_status_enum;

/* The LLM ledger. insert gets id and created_at set. */
struct ad__llm_call_ops {
    int (*insert)(struct ad_store *st, const struct ad_llm_call *c, struct ad_err *err);
    int (*usage)(struct ad_store *st, const char *tenant_id, const char *since,
                 struct ad_llm_usage_row **out, size_t *n, struct ad_err *err);
    int (*spent)(struct ad_store *st, const char *tenant_id, const char *since,
                 int64_t *tokens, double *usd, struct ad_err *err);
};

/*
 * Skills, their versions and the search (skills.c runs the several ops of
 * one public call inside one transaction level). insert writes the skill
 * row with no current version; schema is input_schema's compact text. Ids,
 * times and defaults are already set. version_insert checks, in its one
 * statement, that the skill and the parent (when set) are the tenant's and
 * the parent a version of that skill: AD_ENOTFOUND naming which is not.
 * set_current likewise requires version_id to be a version of skill_id.
 * Exactly one of id and name is non-NULL for get, and of id and semver for
 * version_get (semver goes with skill_id). search gets a ready FTS5 MATCH
 * expression (a backend without FTS5 gets the words, OR-ed, quoted).
 */
struct ad__skill_ops {
    int (*insert)(struct ad_store *st, const struct ad_skill *s, const char *schema,
                  struct ad_err *err);
    int (*version_insert)(struct ad_store *st, const struct ad_skill_version *v,
                          struct ad_err *err);
    int (*set_current)(struct ad_store *st, const char *tenant_id, const char *skill_id,
                       const char *version_id, const char *now, struct ad_err *err);
    int (*update)(struct ad_store *st, const struct ad_skill *s, const char *schema,
                  struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id, const char *name,
               struct ad_skill *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const char *after_name, int limit,
                struct ad_skill **out, size_t *n, struct ad_err *err);
    int (*version_get)(struct ad_store *st, const char *tenant_id, const char *id,
                       const char *skill_id, const char *semver, struct ad_skill_version *out,
                       struct ad_err *err);
    int (*version_list)(struct ad_store *st, const char *tenant_id, const char *skill_id,
                        struct ad_skill_version **out, size_t *n, struct ad_err *err);
    /* version_id and its ancestors, newest first, at most AD_LINEAGE_MAX; none: AD_ENOTFOUND. */
    int (*version_ancestry)(struct ad_store *st, const char *tenant_id, const char *version_id,
                            struct ad_skill_version **out, size_t *n, struct ad_err *err);
    int (*search)(struct ad_store *st, const char *tenant_id, const char *match, int limit,
                  struct ad_skill_hit **out, size_t *n, struct ad_err *err);
};

/*
 * Skill executions: the version, and the agent and episode when set, must
 * be the tenant's (AD_ENOTFOUND naming which is not).
 */
struct ad__execution_ops {
    int (*insert)(struct ad_store *st, const struct ad_skill_execution *x, const char *input,
                  const char *output, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const char *skill_version_id,
                int limit, struct ad_skill_execution **out, size_t *n, struct ad_err *err);
};

/*
 * Agent sessions: the agent, and the episode when set, must be the
 * tenant's. list leaves the transcript out (NULL).
 */
struct ad__session_ops {
    int (*insert)(struct ad_store *st, const struct ad_agent_session *s, const char *transcript,
                  const char *state, struct ad_err *err);
    int (*update)(struct ad_store *st, const struct ad_agent_session *s, const char *transcript,
                  const char *state, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_agent_session *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const char *agent_id, int limit,
                struct ad_agent_session **out, size_t *n, struct ad_err *err);
};

/*
 * Skill candidates and AlphaEvolver's mutation counts. insert gets id and
 * created_at set and checks, in its one statement, that the agent and the
 * source episode (when set) are the tenant's (AD_ENOTFOUND naming which);
 * candidates.c runs count_since and insert in one transaction level, which
 * is what makes the daily limit hold. The filter's status_mask is 0 for
 * every status.
 */
struct ad__candidate_ops {
    int (*insert)(struct ad_store *st, const struct ad_skill_candidate *c,
                  const char *failure_pattern, const char *validation_result,
                  struct ad_err *err);
    int (*update)(struct ad_store *st, const struct ad_skill_candidate *c,
                  const char *validation_result, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_skill_candidate *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const struct ad_candidate_filter *f,
                struct ad_skill_candidate **out, size_t *n, struct ad_err *err);
    int (*count_since)(struct ad_store *st, const char *tenant_id, const char *since,
                       int64_t *count, struct ad_err *err);
    int (*mutation_count_since)(struct ad_store *st, const char *tenant_id, const char *since,
                                int64_t *count, struct ad_err *err);
};

/*
 * Research sessions and iterations (Autoresearch). The JSON texts are the
 * public layer's: budget, config, state of a session; gate_results, detail
 * of an iteration. iteration insert checks the session is the tenant's.
 */
struct ad__research_ops {
    int (*session_insert)(struct ad_store *st, const struct ad_research_session *s,
                          const char *const json[3], struct ad_err *err);
    int (*session_update)(struct ad_store *st, const struct ad_research_session *s,
                          const char *const json[3], struct ad_err *err);
    int (*session_get)(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_research_session *out, struct ad_err *err);
    int (*session_list)(struct ad_store *st, const char *tenant_id, int limit,
                        struct ad_research_session **out, size_t *n, struct ad_err *err);
    int (*iteration_insert)(struct ad_store *st, const struct ad_research_iteration *it,
                            const char *const json[2], struct ad_err *err);
    int (*iteration_update)(struct ad_store *st, const struct ad_research_iteration *it,
                            const char *const json[2], struct ad_err *err);
    int (*iteration_list)(struct ad_store *st, const char *tenant_id, const char *session_id,
                          int limit, struct ad_research_iteration **out, size_t *n,
                          struct ad_err *err);
};

/* Capability usage: the agent must be the tenant's. count: agent_id NULL counts all. */
struct ad__capability_ops {
    int (*insert)(struct ad_store *st, const char *id, const char *tenant_id,
                  const char *agent_id, const char *capability, bool success,
                  const char *created_at, struct ad_err *err);
    int (*count)(struct ad_store *st, const char *tenant_id, const char *agent_id,
                 const char *capability, const char *since, struct ad_capability_count *out,
                 struct ad_err *err);
};

/*
 * Notifications: insert gets id and created_at set (message never NULL);
 * the agent, when set, must be the tenant's. mark_read with id NULL marks
 * every unread one; a read one keeps its read_at.
 */
struct ad__notification_ops {
    int (*insert)(struct ad_store *st, const struct ad_notification *nt, const char *payload,
                  struct ad_err *err);
    /* before_id: newest first from the row older than it (NULL: the newest). */
    int (*list)(struct ad_store *st, const char *tenant_id, bool unread_only, const char *type,
                const char *before_id,
                int limit, struct ad_notification **out, size_t *n, struct ad_err *err);
    int (*mark_read)(struct ad_store *st, const char *tenant_id, const char *id,
                     const char *now, int64_t *count, struct ad_err *err);
};

/*
 * Failure patterns. insert gets id and both times set; the agent, and the
 * candidate when set, must be the tenant's (AD_ENOTFOUND naming which), and
 * update checks the candidate the same way. The filter's status_mask is 0
 * for every status.
 */
struct ad__pattern_ops {
    int (*insert)(struct ad_store *st, const struct ad_failure_pattern *p,
                  const char *episode_ids, const char *outcome, struct ad_err *err);
    int (*update)(struct ad_store *st, const struct ad_failure_pattern *p,
                  const char *episode_ids, const char *outcome, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_failure_pattern *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const struct ad_pattern_filter *f,
                struct ad_failure_pattern **out, size_t *n, struct ad_err *err);
};

/*
 * AlphaEvolver's tool mutations. insert gets id and created_at set and
 * checks, in its one statement, that every reference set (agent, skill,
 * parent version of that skill, parent mutation, promoted version) is the
 * tenant's, AD_ENOTFOUND naming which is not; a taken (tenant, job_id,
 * mutant_index) is AD_EEXIST. mutations.c runs the daily count
 * (candidates->mutation_count_since) and insert in one level. update
 * checks the promoted version the same way. json holds the compact texts
 * of test_set, proxy_signals and risk (AD__MJ_*; NULL for NULL; update
 * ignores test_set). The filter's limit is resolved; lineage climbs at
 * most AD_LINEAGE_MAX rows.
 */
enum { AD__MJ_TEST_SET, AD__MJ_PROXY, AD__MJ_RISK, AD__MJ_COUNT };

struct ad__mutation_ops {
    int (*insert)(struct ad_store *st, const struct ad_tool_mutation *m,
                  const char *const json[AD__MJ_COUNT], struct ad_err *err);
    int (*update)(struct ad_store *st, const struct ad_tool_mutation *m,
                  const char *const json[AD__MJ_COUNT], struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_tool_mutation *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const struct ad_mutation_filter *f,
                struct ad_tool_mutation **out, size_t *n, struct ad_err *err);
    int (*lineage)(struct ad_store *st, const char *tenant_id, const char *id,
                   struct ad_tool_mutation **out, size_t *n, struct ad_err *err);
};

/*
 * Workflow variants. insert gets id and created_at set and checks the
 * parent variant, agent, mutation and skill version (when set) are the
 * tenant's, AD_ENOTFOUND naming which. definition and signals are the
 * compact texts (signals NULL for NULL; update ignores definition). top
 * reads fitness_score > 0 best first, ties older first; agent_id NULL: any.
 */
struct ad__variant_ops {
    int (*insert)(struct ad_store *st, const struct ad_workflow_variant *v,
                  const char *definition, const char *signals, struct ad_err *err);
    int (*update)(struct ad_store *st, const struct ad_workflow_variant *v,
                  const char *signals, struct ad_err *err);
    int (*get)(struct ad_store *st, const char *tenant_id, const char *id,
               struct ad_workflow_variant *out, struct ad_err *err);
    int (*list)(struct ad_store *st, const char *tenant_id, const struct ad_variant_filter *f,
                struct ad_workflow_variant **out, size_t *n, struct ad_err *err);
    int (*top)(struct ad_store *st, const char *tenant_id, const char *agent_id, int limit,
               struct ad_workflow_variant **out, size_t *n, struct ad_err *err);
};

/*
 * Evolution research runs, programs and trace (evolve.h). The JSON texts
 * are the public layer's: run {params}, program {features, signals},
 * trace {data}.
 */
struct ad__evolve_ops {
    int (*run_insert)(struct ad_store *st, const struct ad_evolve_run *r, const char *const json[1],
                      struct ad_err *err);
    int (*run_update)(struct ad_store *st, const struct ad_evolve_run *r, const char *const json[1],
                      struct ad_err *err);
    int (*run_get)(struct ad_store *st, const char *tenant_id, const char *id,
                   struct ad_evolve_run *out, struct ad_err *err);
    int (*run_list)(struct ad_store *st, const char *tenant_id, int limit,
                    struct ad_evolve_run **out, size_t *n, struct ad_err *err);
    int (*program_insert)(struct ad_store *st, const struct ad_evolve_program *p,
                          const char *const json[2], struct ad_err *err);
    int (*program_update)(struct ad_store *st, const struct ad_evolve_program *p,
                          const char *const json[2], struct ad_err *err);
    int (*program_list)(struct ad_store *st, const char *tenant_id, const char *run_id,
                        struct ad_evolve_program **out, size_t *n, struct ad_err *err);
    int (*trace_append)(struct ad_store *st, const struct ad_evolve_trace *t,
                        const char *const json[1], struct ad_err *err);
    int (*trace_list)(struct ad_store *st, const char *tenant_id, const char *run_id,
                      int64_t after_seq, int limit, struct ad_evolve_trace **out, size_t *n,
                      struct ad_err *err);
    int (*trace_last)(struct ad_store *st, const char *tenant_id, const char *run_id,
                      int64_t *seq, struct ad_err *err);
};

/* ---- db copy: a backend-neutral row stream per table (copy.c) ---------- */

/*
 * What a column holds, as the backend gives it. A backend without a type
 * of its own for JSON or times (SQLite: TEXT) says TEXT, and copy.c's
 * table of the schema's JSON and time columns says which they are.
 */
enum ad__col_kind {
    AD__COL_INT,
    AD__COL_REAL,
    AD__COL_TEXT,
    AD__COL_BLOB,
    AD__COL_JSON,     /* JSON text (PostgreSQL jsonb) */
    AD__COL_TIME,     /* the store's 24-character UTC form (clock.h); timestamptz */
};

#define AD__COL_NAME_MAX 64

struct ad__col {
    char name[AD__COL_NAME_MAX];
    enum ad__col_kind kind;
    char ref[AD__COL_NAME_MAX];   /* the table a foreign key points at, "" for none */
};

/*
 * One value of a row: null, or of the column's kind (i for INT, r for
 * REAL, s/len for the others, not NUL-terminated for BLOB). Borrowed: valid
 * only during the call it is passed to.
 */
struct ad__val {
    bool null;
    enum ad__col_kind kind;   /* of the value as read: INT, REAL, TEXT or BLOB, or the column's */
    int64_t i;
    double r;
    const char *s;
    size_t len;
};

typedef int (*ad__row_fn)(void *arg, const struct ad__val *row, struct ad_err *err);

/*
 * The copy's operations (autodev db copy). Tables are AD__STORE_TABLES
 * indexes; every op sees every tenant's rows.
 *
 * columns: the table's columns in their order, with their kinds and
 * foreign keys (*cols malloc'd, the caller frees). read_begin/read_end
 * hold one consistent snapshot for the scans of a store opened read-only.
 * scan: every row of the table, ordered by the first column (bytewise for
 * text), each passed to fn as one value per column of cols (the caller's
 * list: names must be the table's); fn's error stops the scan.
 *
 * Inside the caller's transaction (ad__level_begin): write_begin readies
 * it (PostgreSQL: autodev.tenant '*'); insert adds nrows rows of cols
 * (values row-major, nrows * ncols) as they are, ids and times included;
 * set writes column col of the row whose first column is key; finish
 * moves what counts on from the
 * copied rows (PostgreSQL: events_seq past the largest events.seq).
 */
/* A quoted identifier into b (AD_EINVAL for a name holding a quote), and the head of a
 * copy's insert, `INSERT INTO "table" ("c1", ...) VALUES `, for both backends (copy.c). */
struct ad_buf;
int ad__copy_ident(struct ad_buf *b, const char *name);
int ad__copy_insert_head(struct ad_buf *b, const char *table, const struct ad__col *cols,
                         size_t ncols);

struct ad__copy_ops {
    int (*columns)(struct ad_store *st, int table, struct ad__col **cols, size_t *n,
                   struct ad_err *err);
    int (*read_begin)(struct ad_store *st, struct ad_err *err);
    void (*read_end)(struct ad_store *st);
    int (*scan)(struct ad_store *st, int table, const struct ad__col *cols, size_t ncols,
                ad__row_fn fn, void *arg, struct ad_err *err);
    int (*write_begin)(struct ad_store *st, struct ad_err *err);
    int (*insert)(struct ad_store *st, int table, const struct ad__col *cols, size_t ncols,
                  const struct ad__val *rows, size_t nrows, struct ad_err *err);
    int (*set)(struct ad_store *st, int table, const struct ad__col *key,
               const struct ad__val *keyval, const struct ad__col *col,
               const struct ad__val *val, struct ad_err *err);
    int (*finish)(struct ad_store *st, struct ad_err *err);
};

/* ---- the backend -------------------------------------------------------- */

/*
 * Every table of the schema, each after the tables it references, as
 * X(name) entries: `autodev db status` counts them (ad_store_table_count).
 */
#define AD__STORE_TABLES(X)                                                         \
    X(schema_migrations) X(tenants) X(api_tokens) X(agents) X(episodes)             \
    X(episode_segments) X(skills) X(skill_versions) X(skill_executions)             \
    X(skill_candidates) X(tool_mutations) X(workflow_variants) X(capability_usage)  \
    X(notifications) X(events) X(jobs) X(llm_calls) X(research_sessions)            \
    X(research_iterations) X(agent_sessions) X(failure_patterns) X(webhooks)        \
    X(webhook_deliveries) X(signal_receipts) X(signal_keys) X(evolve_runs)          \
    X(evolve_programs) X(evolve_trace) X(fitness_terms)

/* The count statement of each table, in AD__STORE_TABLES' order (tables.c). */
extern const char *const ad__store_count_sql[];

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
     * the outermost transaction, which takes the database's write lock at
     * once; deeper levels are savepoints. rollback must leave the level
     * closed whatever happens, and must not need memory to do it (SQLite's
     * statements for it are prepared at open); its error is only logged.
     * begin at depth 1 first ends a transaction the backend still holds
     * because a rollback could not run, so that one failed rollback cannot
     * wedge the store.
     *
     * tx_lost, called at depth > 0 only, is 0 while the backend still holds
     * the outermost transaction. A backend that can end the whole
     * transaction by itself after an error (SQLite does on out of memory, a
     * full disk, an I/O error, and in some busy cases) returns, once it
     * has, the AD_E* code of the error that did it (AD_EIO when it cannot
     * tell). store.c then stops every begin, write and commit until the
     * outermost level is closed; begin at depth > 1 must still refuse to
     * open a savepoint outside a transaction, which would start a new one.
     */
    int (*begin)(struct ad_store *st, int depth, struct ad_err *err);
    int (*commit)(struct ad_store *st, int depth, struct ad_err *err);
    int (*rollback)(struct ad_store *st, int depth, struct ad_err *err);
    int (*tx_lost)(struct ad_store *st);
    /*
     * A number that changes whenever another connection commits to the
     * database (SQLite's PRAGMA data_version; this handle's own commits do
     * not change it). AD_ENOTSUP from a backend that cannot tell: nothing
     * is cached then.
     */
    int (*data_version)(struct ad_store *st, int64_t *out, struct ad_err *err);
    /* The rows of table AD__STORE_TABLES' entry i, every tenant's (tables.c). */
    int (*table_count)(struct ad_store *st, int table, int64_t *count, struct ad_err *err);

    const struct ad__tenant_ops *tenants;
    const struct ad__agent_ops *agents;
    const struct ad__episode_ops *episodes;
    const struct ad__event_ops *events;
    const struct ad__job_ops *jobs;
    const struct ad__token_ops *tokens;
    const struct ad__llm_call_ops *llm_calls;
    const struct ad__skill_ops *skills;
    const struct ad__execution_ops *executions;
    const struct ad__session_ops *sessions;
    const struct ad__candidate_ops *candidates;
    const struct ad__research_ops *research;
    const struct ad__capability_ops *capabilities;
    const struct ad__notification_ops *notifications;
    const struct ad__pattern_ops *patterns;
    const struct ad__mutation_ops *mutations;
    const struct ad__variant_ops *variants;
    const struct ad__webhook_ops *webhooks;
    const struct ad__evolve_ops *evolve;
    const struct ad__fitness_term_ops *fitness_terms;
    const struct ad__copy_ops *copy;      /* db copy (copy.c) */
};

/* ---- the public layer's shared helpers (store.c) ------------------------ */

/*
 * Checks every field of ep against store.h's caps. With json non-NULL it
 * also fills *json with the members' text (released again on failure).
 */
int ad__episode_validate(const struct ad_episode *ep, struct ad__episode_json *json,
                         struct ad_err *err);

/*
 * ad__check_id refuses a NULL or malformed id naming what; ad__check_opt_id
 * also takes "" (none). ad__new_id makes a UUIDv7. ad__resolve_limit maps 0
 * to AD_LIST_DEFAULT and caps at AD_LIST_MAX.
 */
int ad__check_id(const char *what, const char *id, struct ad_err *err);
int ad__check_opt_id(const char *what, const char *id, struct ad_err *err);
/* A tenant or agent name (ad_name_valid), AD_ETOOBIG past AD_NAME_MAX. */
int ad__check_name(const char *what, const char *name, struct ad_err *err);
int ad__new_id(char out[AD_ID_SIZE], struct ad_err *err);
int ad__resolve_limit(int limit, int *out, struct ad_err *err);
/*
 * A keyset of a newest-first list (created_at, id of the last row of the
 * page before): both NULL, or both well formed; else AD_EINVAL.
 */
int ad__check_keyset(const char *created_at, const char *id, struct ad_err *err);

/*
 * A write call that runs ONE writing statement: ad__write_begin opens a
 * transaction when the caller has none (*own is then 1), ad__write_end
 * commits or rolls it back; inside the caller's transaction neither does
 * anything (store.c's top comment says why no savepoint).
 *
 * A call that runs several: ad__level_begin opens a level of its own (a
 * transaction, or a savepoint inside the caller's), ad__level_end commits
 * it on rc == 0 and rolls it back otherwise, so a failure undoes exactly
 * that call. Both refuse a store opened read-only with AD_EPERM.
 */
int ad__write_begin(struct ad_store *st, int *own, struct ad_err *err);
int ad__write_end(struct ad_store *st, int own, int rc, struct ad_err *err);
int ad__level_begin(struct ad_store *st, struct ad_err *err);
int ad__level_end(struct ad_store *st, int rc, struct ad_err *err);

/*
 * The name table of one of the store's enumerations, shared by the public
 * layer (ad_<enum>_name/_parse) and the backends (the text in the row).
 * label names the value in messages ("status", "maturity").
 */
struct ad__enum {
    const char *const *names;
    size_t n;
    const char *label;
};

extern const struct ad__enum ad__maturity_enum;
extern const struct ad__enum ad__job_status_enum;
extern const struct ad__enum ad__origin_enum;
extern const struct ad__enum ad__session_status_enum;
extern const struct ad__enum ad__candidate_status_enum;
extern const struct ad__enum ad__review_status_enum;
extern const struct ad__enum ad__pattern_status_enum;
extern const struct ad__enum ad__mutation_status_enum;
extern const struct ad__enum ad__mutation_decision_enum;
extern const struct ad__enum ad__variant_status_enum;

/* names[v], NULL out of range; the index of s (case-insensitive), or -1 (also for NULL). */
const char *ad__enum_name(const struct ad__enum *e, int v);
int ad__enum_parse(const struct ad__enum *e, const char *s);

/* Copies src (NULL: "") into a fixed-size field; callers pass validated values. */
void ad__copy_fixed(char *dst, size_t size, const char *src);

/*
 * Length of v's compact JSON text, the form the store writes, without
 * making it; AD_ENOMEM (naming field) when jansson cannot measure it. Every
 * JSON text the store writes is made with ad_json_dumps / ad_json_dump
 * (autodev/json.h), never json_dumps(), which can drop an object's key when
 * memory runs out and still succeed.
 */
int ad__json_text_size(const char *field, const json_t *v, size_t *size, struct ad_err *err);
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
/* 1..max of [a-z0-9_.]: capabilities, notification types. */
int ad__check_dotted(const char *field, const char *s, size_t max, struct ad_err *err);
/* An error type: NULL, or a dotted identifier of at most AD_ERROR_TYPE_MAX bytes. */
int ad__check_error_type(const char *field, const char *s, struct ad_err *err);
/*
 * Times. ad__check_opt_time: "" (none) stays "", anything else must be
 * ISO-8601 UTC and is rewritten in place in the stored 24-character form.
 * ad__check_since: NULL (ever) gives "", else the stored form.
 */
int ad__check_opt_time(const char *field, char t[AD_TIME_SIZE], struct ad_err *err);
int ad__check_since(const char *since, char out[AD_TIME_SIZE], struct ad_err *err);

#endif
