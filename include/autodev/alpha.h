/*
 * AlphaEvolver: existing skills made faster, cheaper or steadier, never
 * different.
 *
 *   trigger    skill.execution: latency over evolution_latency_ms, tokens
 *              over evolution_tokens, or a failure (evolution_on_failure)
 *              -> gate auto_dev.alpha_evolver (SUPERVISED+, toggles, the
 *              daily mutation limit) -> one alpha.mutate job for that skill
 *              version, never a second while one is queued or running.
 *              AUTONOMOUS agents with background_evolution on also get the
 *              alpha.background schedule: their most-used skills, every
 *              evolution_background_hours, run by the worker itself.
 *   test set   the version's recorded inputs (executions and episodes,
 *              with expected outputs where episodes carry them), kept in
 *              every mutation row so a review can replay it.
 *   propose    the model, with a goal prompt chosen by the trigger, asked
 *              for evolution_mutants SEARCH/REPLACE edits at once; or the
 *              offline mutation operators on EVOLVE blocks when no model
 *              writes code. One tool_mutations row per mutant, with its
 *              patch risk, before anything runs.
 *   evaluate   parent and mutants side by side in the sandbox, interleaved,
 *              evolution_repeats times, each run with a hard deadline.
 *   decide     correctness first (every output equal to the parent's and
 *              to the expected ones), then a gain beyond both
 *              evolution_min_gain_pct and evolution_noise_k times the noise
 *              floor the parent's own repeats show. A winner is evaluated
 *              once more and loses if its gain does not reproduce.
 *   fitness    a workflow_variants row for the parent and each mutant, the
 *              reference proxy plus the multi-objective terms.
 *   review     the best winner waits for a human (mutations approve), or is
 *              promoted at once for an AUTONOMOUS agent with
 *              background_evolution on when its risk is below HIGH.
 *
 * Every step is written before the next starts: a job killed anywhere is
 * run again by the queue and finishes from its rows, with no second model
 * call and no second row. Each step is logged at level info.
 */
#ifndef AUTODEV_ALPHA_H
#define AUTODEV_ALPHA_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/alpha.h belongs to module learn (layer 5), above the module including it"
#endif

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/store.h"

struct ad_bus;
struct ad_bus_event;
struct ad_job_lease;
struct ad_jobs;
struct ad_llm;
struct ad_sandbox;
struct ad_sandbox_limits;

#define AD_ALPHA_JOB "alpha.mutate"
#define AD_ALPHA_BACKGROUND_JOB "alpha.background"
#define AD_ALPHA_MAX_ATTEMPTS 3

/* Why a job was queued: the payload's "trigger". */
enum ad_alpha_trigger {
    AD_TRIGGER_LATENCY = 0,
    AD_TRIGGER_TOKENS,
    AD_TRIGGER_FAILURE,
    AD_TRIGGER_BACKGROUND,
    AD_TRIGGER_MANUAL,
};

/* "latency", "tokens", "failure", "background", "manual". */
const char *ad_alpha_trigger_name(enum ad_alpha_trigger t);
int ad_alpha_trigger_parse(const char *s, enum ad_alpha_trigger *out);

/*
 * The skill.execution handler. It runs inside the transaction that records
 * the execution, so two executions at once are judged one after the other
 * and the "one open job per skill version" rule holds. A denied gate is no
 * error: nothing is queued. *queued (may be NULL) is 1 when a job was.
 */
int ad_alpha_on_execution(struct ad_store *st, const struct ad_bus_event *ev, int *queued,
                          struct ad_err *err);

/*
 * Queues an alpha.mutate job for skill version_id by hand ("manual"; the
 * gate is asked for agent_id when one is given). AD_EEXIST with the open
 * job's id in job_id when one is already queued or running for it.
 */
int ad_alpha_enqueue(struct ad_store *st, const char *tenant_id, const char *version_id,
                     const char *agent_id, enum ad_alpha_trigger trigger,
                     char job_id[AD_ID_SIZE], struct ad_err *err);

struct ad_eval_opts;
struct ad_eval_side;

/* ad_alpha_evaluate's contract (evaluate.h), with a context first. */
typedef int ad_alpha_evaluate_fn(void *ctx, struct ad_sandbox *sb, const char *entry,
                                 const char *parent_code, const char *const *mutant_codes,
                                 size_t nmutants, const json_t *test_set,
                                 const struct ad_eval_opts *o, struct ad_eval_side *parent_out,
                                 struct ad_eval_side *mutants_out, struct ad_err *err);

struct ad_alpha_opts {
    const char *tenant_id;
    const char *job_id;                     /* NULL: not run by a queue (no resume) */
    const char *model;                      /* NULL: the chain's default */
    const struct ad_sandbox_limits *limits; /* NULL: the sandbox defaults */
    struct ad_job_lease *lease;             /* NULL: none */
    /* For tests: called in place of ad_alpha_evaluate; NULL: the real one. */
    ad_alpha_evaluate_fn *evaluate;
    void *evaluate_ctx;
};

/* What one job did, for the face that ran it. */
struct ad_alpha_result {
    int mutants;                 /* rows of the job */
    int won;                     /* mutants that won (after re-evaluation) */
    char best_id[AD_ID_SIZE];    /* the winner under review or promoted; "" none */
    bool promoted;               /* the winner was promoted automatically */
    char promoted_semver[AD_SEMVER_SIZE];
    double parent_latency_us;    /* median of the parent's repeats */
    double best_latency_us;      /* the winner's; NAN when none */
    char summary[512];
};

/*
 * The alpha.mutate job: payload {"skill_version_id", "agent_id"?,
 * "trigger", "execution_id"?}. The gate is asked again first (fail closed).
 */
int ad_alpha_run(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                 struct ad_llm *llm, const struct ad_alpha_opts *o, const json_t *payload,
                 struct ad_alpha_result *out, struct ad_err *err);

/*
 * The alpha.background job: for every AUTONOMOUS agent the background gate
 * allows, an alpha.mutate job for each of its evolution_background_skills
 * most-used skill versions; then the next run is queued
 * evolution_background_hours later. *queued gets the jobs queued.
 */
int ad_alpha_background(struct ad_store *st, const char *tenant_id, int *queued,
                        struct ad_err *err);

/*
 * Puts the tenant's next alpha.background run in the queue when
 * background evolution is on and none is queued for the current period
 * (an idempotency key per period: workers calling it at once queue one).
 */
int ad_alpha_schedule(struct ad_store *st, const char *tenant_id, struct ad_err *err);

/* Whether a failed job of this error code can succeed by running again. */
int ad_alpha_job_outcome(int rc);

#endif
