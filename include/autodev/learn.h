/*
 * Learning on top of episodes: capability gates, graduation, reflection
 * (failure patterns) and the Memento engine (new skills from failures).
 *
 * Gates (gate.c) decide whether an agent may use a learning capability:
 * the workspace master toggle and the capability's own toggle must be on,
 * the agent's maturity must reach the capability's level, and the daily
 * limit must not be reached. Every reason a check fails is reported, not
 * only the first. A check that cannot run (the store fails) denies.
 *
 * Graduation (graduation.c) scores an agent against the targets of the
 * next maturity level and promotes it one level when every criterion holds.
 *
 * Reflection (reflection.c) listens to task.fail. A failure of the
 * infrastructure (the model, a cost cap, the sandbox: agent.h,
 * ad_failure_is_infrastructure) is passed over. It compares a task failure
 * with the agent's recent failures (word-shingle Jaccard over the task
 * descriptions, same error type); when a group of similar failures reaches
 * the threshold and the gate allows, it queues one memento.generate job for
 * the pattern, and never a second while one is queued, running, pending or
 * under review. It runs inside the transaction that records the episode,
 * so concurrent failures are judged one after another.
 *
 * The Memento engine (memento.c) turns such a job into a skill candidate:
 * analyse the episodes, synthesize one function by example or ask the
 * model for it, validate it in the sandbox on the episodes' inputs and on
 * inputs of the task it was not made from, and leave it for a human to
 * approve (promote to the catalog) or reject.
 */
#ifndef AUTODEV_LEARN_H
#define AUTODEV_LEARN_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/learn.h belongs to module learn (layer 5), above the module including it"
#endif

#include <stdbool.h>

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/error.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/topics.h"

struct ad_bus;
struct ad_job_lease;
struct ad_llm;
struct ad_sandbox;
struct ad_sandbox_limits;

/* ---- capability gates (gate.c) ----------------------------------------- */

enum ad_capability {
    AD_CAP_MEMENTO = 0,        /* auto_dev.memento_skills: INTERN+ */
    AD_CAP_ALPHA = 1,          /* auto_dev.alpha_evolver: SUPERVISED+ */
    AD_CAP_BACKGROUND = 2,     /* auto_dev.background_evolution: AUTONOMOUS */
};

#define AD_CAP_COUNT 3

/* "auto_dev.memento_skills" ...; NULL when out of range. */
const char *ad_capability_name(enum ad_capability c);
/* "Memento-Skills", "AlphaEvolver", "Background Evolution". */
const char *ad_capability_title(enum ad_capability c);
/* The full name, or the short one ("memento_skills"). 0 or AD_EINVAL. */
int ad_capability_parse(const char *s, enum ad_capability *out);
enum ad_maturity ad_capability_min_maturity(enum ad_capability c);

#define AD_GATE_REASONS_MAX 6
#define AD_GATE_REASON_SIZE 256

struct ad_gate_decision {
    bool allowed;
    int nreasons;                               /* 0 when allowed */
    char reasons[AD_GATE_REASONS_MAX][AD_GATE_REASON_SIZE];
    enum ad_maturity maturity;                  /* the agent's */
    int64_t used_today;                         /* rows counted against the limit */
    int daily_limit;
    char day_start[AD_TIME_SIZE];               /* 00:00 UTC the count starts at */
};

/*
 * Decides whether agent_id may use cap now. Returns 0 with the decision
 * filled (allowed or not); a negative code when the check itself could not
 * run, and then d says denied with that reason (fail closed).
 */
int ad_gate_check(struct ad_store *st, const char *tenant_id, const char *agent_id,
                  enum ad_capability cap, struct ad_gate_decision *d, struct ad_err *err);
/* One line "denied: R1; R2" or "allowed" into buf. */
void ad_gate_describe(const struct ad_gate_decision *d, char *buf, size_t size);
/* Records one use of cap by the agent (capability_usage). */
int ad_gate_record_usage(struct ad_store *st, const char *tenant_id, const char *agent_id,
                         enum ad_capability cap, bool success, struct ad_err *err);

/*
 * Whether this build has the loop behind cap: all three (Memento-Skills,
 * AlphaEvolver, Background Evolution) now; a capability added before its
 * loop would say false, and its unlock notification would say so.
 */
bool ad_capability_built(enum ad_capability c);

/*
 * Changes the agent's maturity and, in the same transaction, emits
 * agent.maturity {"agent_id", "from", "to", "reason"} and writes one
 * auto_dev_capability_unlocked notification per capability the change
 * unlocks (going up only). *unlocked (may be NULL) gets how many. The
 * message says what is true: active now; unlocked but switched off (what to
 * set); or unlocked while this build does not have the loop yet.
 */
int ad_agent_change_maturity(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                             const char *agent_id, enum ad_maturity to, const char *reason,
                             int *unlocked, struct ad_err *err);

/* ---- graduation (graduation.c) ------------------------------------------ */

/* The reference weights and targets. */
#define AD_READINESS_W_EPISODES 0.4
#define AD_READINESS_W_INTERVENTION 0.3
#define AD_READINESS_W_CONSTITUTIONAL 0.3

struct ad_readiness_item {
    const char *name;          /* "episodes", "intervention_rate", "constitutional" */
    double value;              /* episodes; rate 0..1; mean score 0..1 (NAN: none) */
    double target;
    const char *op;            /* ">=", "<", ">" */
    double score;              /* 0..1, what it adds to the readiness before weighting */
    double weight;
    bool met;
    char gap[160];             /* "" when met, else what is missing */
};

struct ad_readiness {
    enum ad_maturity current;
    enum ad_maturity next;     /* == current at AUTONOMOUS */
    bool at_top;
    struct ad_agent_record record;
    struct ad_readiness_item items[3];
    double score;              /* the weighted sum, 0..1 */
    bool ready;                /* every item met (never at the top) */
};

/* The agent's readiness for the next level. */
int ad_readiness_compute(struct ad_store *st, const char *tenant_id, const char *agent_id,
                         struct ad_readiness *r, struct ad_err *err);
/*
 * Promotes the agent one level when ready, recording why (the readiness in
 * the agent.maturity event) and notifying the unlocks. AD_ESTATE, with r
 * filled, when not ready or already AUTONOMOUS.
 */
int ad_agent_graduate(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                      const char *agent_id, struct ad_readiness *r, struct ad_err *err);
/* The readiness as JSON (new reference, NULL on ENOMEM). */
json_t *ad_readiness_json(const struct ad_readiness *r);

/* ---- reflection (reflection.c) ------------------------------------------ */

#define AD_MEMENTO_JOB "memento.generate"
/* A memento.generate job is tried this often before it is dead-lettered. */
#define AD_MEMENTO_MAX_ATTEMPTS 3

/* Lower-cased words of s, as word 2-shingles (a one-word text: the word). */
double ad_shingle_jaccard(const char *a, const char *b);

struct ad_reflection {
    struct ad_store *st;
    struct ad_bus *bus;
};

/*
 * What reflection does with one task.fail event (ev->payload as
 * topics.h lists it): the handler the runtime's subscription table names.
 * Writes go in the transaction that records the episode.
 */
struct ad_bus_event;
int ad_reflection_handle(struct ad_store *st, struct ad_bus *bus, const struct ad_bus_event *ev,
                         struct ad_err *err);
/*
 * Subscribes reflection to task.fail on bus, for a bus made without the
 * runtime (tests, benchmarks). r must outlive the bus; it borrows st and
 * bus. A process gets the same subscription from ad_runtime_open.
 */
int ad_reflection_attach(struct ad_reflection *r, struct ad_store *st, struct ad_bus *bus,
                         struct ad_err *err);

enum ad_reflection_action {
    AD_REFLECT_NONE = 0,       /* fewer similar failures than the threshold */
    AD_REFLECT_QUEUED,         /* a memento.generate job was queued */
    AD_REFLECT_OPEN,           /* the pattern already has a job or candidate open */
    AD_REFLECT_DENIED,         /* the gate said no; the reasons are in the event */
    AD_REFLECT_INFRASTRUCTURE, /* not the task's failure (ad_failure_is_infrastructure): no
                                  pattern, no event */
};

const char *ad_reflection_action_name(enum ad_reflection_action a);

struct ad_reflection_result {
    enum ad_reflection_action action;
    int group;                     /* similar failures, this one included */
    int threshold;
    char job_id[AD_ID_SIZE];       /* QUEUED: the new job; OPEN: the open job, if a job */
    char candidate_id[AD_ID_SIZE]; /* OPEN: the open candidate, if a candidate */
    char pattern_id[AD_ID_SIZE];   /* QUEUED: the new pattern; OPEN: the open one, when known */
};

/*
 * Reflects on one failed episode (what the task.fail handler does). Writes
 * (the job, the memento.pattern event) go in the caller's transaction.
 */
int ad_reflection_process(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                          const char *episode_id, struct ad_reflection_result *res,
                          struct ad_err *err);

/* ---- the Memento engine (memento.c) -------------------------------------- */

/*
 * The failure pattern of a group of episodes (ids: array of strings, the
 * newest first): {"agent_id", "task", "task_kind", "error_type", "errors":
 * [trace tails], "tools_attempted": [...], "examples": [{"episode_id",
 * "input", "expected"}], "episode_ids": [...], "suggested_name"}.
 */
int ad_memento_analyse(struct ad_store *st, const char *tenant_id, const json_t *episode_ids,
                       json_t **pattern, struct ad_err *err);
/* A catalog name from a task description: "extract_invoice_id". */
int ad_memento_suggest_name(const char *task, char *out, size_t size);
/*
 * The prompt for pattern (system and user text); previous (array of
 * {"status", "reason"}, may be NULL) are earlier attempts to do better than.
 */
int ad_memento_prompt(const json_t *pattern, const json_t *previous, struct ad_buf *system,
                      struct ad_buf *user, struct ad_err *err);

struct ad_memento_opts {
    const char *tenant_id;
    const char *model;                        /* NULL: the provider's */
    const struct ad_sandbox_limits *limits;   /* per validation run; NULL: defaults */
    const char *job_id;           /* the job being run, or NULL: makes a rerun resume */
    struct ad_job_lease *lease;   /* that job's claim (jobs.h), or NULL: renewed before each
                                     long step, bounds the model call, held by every write */
};

/*
 * Runs a memento.generate job payload {"agent_id", "episode_ids",
 * "previous"?}: gate (fail closed), analyse, propose (synthesis by example,
 * else the model), extract the function, candidate (the daily limit counted
 * in its insert), validate, notify. *out gets the candidate (release it).
 * AD_EPERM when the gate denies, AD_ELIMIT at the daily limit: nothing is
 * written then. Model and store failures are returned as they are. A reply
 * with no function still becomes a candidate, failed, with the reason.
 *
 * The pattern records "made_from" (the distinct examples the proposer
 * worked from) and "held_out": up to 5 other inputs of the same task the
 * agent recorded (same task kind, a description reflection calls alike,
 * the same input shape, an input none of the examples has), read through
 * the agent module; a success's output, or any episode's expected output,
 * is the value it must give. The proposer never sees them; validation runs
 * them, so a function that fits only its examples fails where such an
 * input exists.
 *
 * With o->lease, the lease is renewed before each long step, the model
 * call's deadline_ms is what is left of it (less a reserve for the writes),
 * and every write first holds it (ad_jobs_lease_hold): a run that lost its
 * job returns AD_ESTATE having written nothing.
 * With o->job_id, the candidate records it, and a rerun of the same job
 * (its process was killed) picks that candidate up instead of asking the
 * model again: a pending one is validated, a finished one is returned.
 */
int ad_memento_generate(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                        struct ad_llm *llm, const struct ad_memento_opts *o,
                        const json_t *payload, struct ad_skill_candidate *out,
                        struct ad_err *err);
/*
 * Validates candidate c in the sandbox: it must load (syntax, imports),
 * run on every example input of its failure pattern and every held-out
 * input, and give the expected output where one is recorded: an example
 * with an "expected" member (JSON null included: the function must return
 * None) is compared, one without (its episode recorded none) only has to
 * run. Sets c's status (validated/failed), validation_result ({"checks",
 * "passed", "total", "summary", "held_out": count, "warnings": [...]}: a
 * candidate made from fewer than 3 distinct examples, or run on no input it
 * was not made from, says so) and validated_at, and stores them with a
 * notification (the warnings in its message) and a memento.candidate event.
 */
int ad_memento_validate(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                        const struct ad_sandbox_limits *limits, struct ad_skill_candidate *c,
                        struct ad_err *err);
/* The entry function of a candidate's code: the first top-level def. */
int ad_memento_entry(const char *code, char *out, size_t size);
/* Runs candidate c on input in the sandbox (nothing is recorded). */
int ad_memento_try(struct ad_sandbox *sb, const struct ad_skill_candidate *c, const json_t *input,
                   const struct ad_sandbox_limits *limits, struct ad_sandbox_result *result,
                   struct ad_err *err);
/*
 * Runs one memento.generate job (what the runtime's job handler does): the
 * job's payload through ad_memento_generate with the job's id and lease, so
 * a rerun resumes and a worker that lost the job writes nothing. *out gets
 * the candidate (release it). Returns 0, or what the job layer should do
 * with the failure, every code classified:
 *
 *   AD_JOB_PERMANENT (fails at once: retrying gives the same answer)
 *     AD_EPERM      the gate is closed; or every model breaker is open
 *     AD_ELIMIT     today's candidates are made; or a daily model cap is reached
 *     AD_EINVAL     a damaged payload; a request the model refused as malformed
 *     AD_ENOTFOUND  synthesis found no skill and no model can write one (none
 *                   configured, or only the offline provider, which mutates
 *                   code and has none here); the episodes are gone
 *     AD_ETOOBIG    a size cap was reached
 *     AD_ENOTSUP    the provider cannot do this
 *     AD_EEXIST     a unique key is taken
 *     AD_ECORRUPT   the database is damaged
 *     AD_EINTERNAL  a bug
 *   returned as they are (retried with backoff, then dead-lettered)
 *     AD_ETIMEOUT   the model or a sandbox run ran out of time (the model call
 *                   has a deadline inside the job's lease)
 *     AD_EIO        network, provider or disk failure
 *     AD_EBUSY      the database was locked
 *     AD_ENOMEM     out of memory
 *     AD_ESTATE     the lease was lost: another worker has the job, and the
 *                   job layer records nothing of this run
 *
 * Synthesis failures that retrying cannot change are one of the permanent
 * codes (AD_ELIMIT, AD_EPERM, AD_EINVAL, AD_ENOTFOUND, AD_ETOOBIG,
 * AD_ENOTSUP); a synthesis that may succeed next time is AD_ETIMEOUT,
 * AD_EIO or AD_EBUSY.
 */
/*
 * The table above as a function: AD_JOB_PERMANENT for a permanent code, rc
 * otherwise. For what a memento job meets before ad_memento_run_job (the
 * runtime building its sandbox and model), so every error of the job is
 * classified the same way.
 */
int ad_memento_job_outcome(int rc);
int ad_memento_run_job(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                       struct ad_llm *llm, const struct ad_job *job, struct ad_job_lease *lease,
                       struct ad_skill_candidate *out, struct ad_err *err);

/* ---- the review queue (review.c) -------------------------------------------- */

/*
 * What humans decide about what the loops produced. Skill candidates now;
 * AlphaEvolver's mutations will share the rules (review.c says which).
 * Module learn owns skill_candidates: read them here. Each decision
 * (approve, reject, regenerate) marks read, in its transaction, the
 * notifications about the candidate: the review answered them.
 */
int ad_candidates_get(struct ad_store *st, const char *tenant_id, const char *id,
                      struct ad_skill_candidate *out, struct ad_err *err);
/* Newest first; generated_code is loaded too. Free with ad_skill_candidate_list_free. */
int ad_candidates_list(struct ad_store *st, const char *tenant_id,
                       const struct ad_candidate_filter *f, struct ad_skill_candidate **out,
                       size_t *n, struct ad_err *err);
/*
 * Approves a validated candidate: adds it to the catalog (1.0.0, or the
 * next major version of an existing skill of that name), origin memento,
 * and marks it promoted and approved by reviewer, in one transaction.
 * skill and version (either may be NULL) get what was added.
 * AD_ESTATE for a candidate that is not validated.
 */
int ad_memento_approve(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                       const char *candidate_id, const char *reviewer, struct ad_skill *skill,
                       struct ad_skill_version *version, struct ad_err *err);
/* Rejects a candidate that is not promoted; reason is required. */
int ad_memento_reject(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                      const char *candidate_id, const char *reviewer, const char *reason,
                      struct ad_err *err);
/*
 * Queues a new memento.generate job for the pattern of a failed or rejected
 * candidate, with its reason as "previous". AD_ESTATE for any other state.
 * Asking twice for one candidate queues one job (its id both times).
 */
int ad_memento_regenerate(struct ad_store *st, const char *tenant_id, const char *candidate_id,
                          char job_id[AD_ID_SIZE], struct ad_err *err);


/* ---- notifications (notifications.c) ------------------------------------------ */

/*
 * Module learn owns the notifications table. Newest first; unread_only
 * skips the read ones; type NULL: any. Free with ad_notification_list_free.
 */
int ad_notifications_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                          const char *type, int limit, struct ad_notification **out, size_t *n,
                          struct ad_err *err);
/*
 * The same, from the notification older than before_id (keyset paging: the
 * id of the last one of the page before; NULL: the newest).
 */
int ad_notifications_list_before(struct ad_store *st, const char *tenant_id, bool unread_only,
                                 const char *type, const char *before_id, int limit,
                                 struct ad_notification **out, size_t *n, struct ad_err *err);
/* Marks one (id) or every unread one (id NULL) read; *count gets how many. */
int ad_notifications_mark_read(struct ad_store *st, const char *tenant_id, const char *id,
                               int64_t *count, struct ad_err *err);

#endif
