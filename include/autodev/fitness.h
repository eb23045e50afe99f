/*
 * AlphaEvolver's data: fitness, workflow variants and tool mutations.
 *
 * Fitness (fitness.c) scores a variant in [0, 1] in stages, as the
 * reference FitnessService does:
 *
 *   proxy        +0.2 no syntax error, +0.3 ran successfully, +0.5 a
 *                human approved it (ad_fitness_proxy). With objectives
 *                (performance, accuracy, cost, satisfaction; each 0..1)
 *                the score is 0.5 x proxy + 0.5 x their weighted mean
 *                (ad_fitness_multi, weights from the settings).
 *   delayed      webhook signals after the fact move the score:
 *                invoice_created +0.4, crm_conversion +0.5,
 *                conversion_value v > 0 +min(0.5, v / 1000), email_bounce
 *                and error_signal minus their settings' penalty percent;
 *                clamped to [0, 1].
 *   business     revenue, cost and time saved give a value in [0, 1]
 *                that is averaged with the score.
 *   satisfaction users' feedback in [-1, 1] is recorded beside the score
 *                (mapped to [0, 1]); the score itself does not move.
 *
 *   terms        a workspace's own objectives (custom fitness terms,
 *                fitness_terms.c): Python functions term(signals) -> float
 *                run in the sandbox over the variant's signals and
 *                weighted beside the built-in score B (the score the
 *                stages above give, whose own weights sum to 1):
 *
 *                    score = (1 * B + sum_i w_i * t_i) / (1 + sum_i w_i)
 *
 *                over the enabled terms i that gave a value t_i (clamped to
 *                [0, 1]); a term that raised, timed out, broke a limit or
 *                returned no finite number is left out of both sums and its
 *                error recorded. Without terms (or none gave a value) the
 *                score is B.
 *
 * Each stage writes the variant's score (in [0, 1], kept to 9 decimals, so
 * 0.7 - 0.2 is stored as 0.5) and its fitness_signals (proxy,
 * objectives, delayed[], business_value, user_satisfaction, terms) and
 * emits variant.fitness {variant_id, fitness_score, source} in one
 * transaction.
 *
 * Module learn owns workflow_variants, tool_mutations and fitness_terms:
 * every other module and face reads and writes them through the calls
 * below.
 *
 * Mutations (mutations.c) are created and saved by the AlphaEvolver job
 * under its lease, with their events (mutation.created, .evaluated) and the
 * reviewers' notification; review.c approves (a new minor version of the
 * skill, origin alpha) and rejects them, under the rules every reviewable
 * row follows (learn.h's review queue).
 */
#ifndef AUTODEV_FITNESS_H
#define AUTODEV_FITNESS_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/fitness.h belongs to module learn (layer 5), above the module including it"
#endif

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/settings.h"
#include "autodev/store.h"

struct ad_bus;
struct ad_job_lease;
struct ad_skill_version;

/* ---- fitness: the formulas (fitness.c) --------------------------------------- */

struct ad_fitness_weights { double performance, accuracy, cost, satisfaction; };

/* The settings' fitness_weight_* percentages as fractions (pct / 100). */
void ad_fitness_weights_from_settings(const struct ad_settings *s,
                                      struct ad_fitness_weights *out);
/*
 * Reference initial proxy: +0.2 no syntax error, +0.3 execution success,
 * +0.5 user approved; clamped [0,1].
 */
double ad_fitness_proxy(bool syntax_ok, bool execution_success, bool user_approved);
/*
 * Weighted mean sum(w_i*s_i)/sum(w_i) over the 4 objectives of scores
 * {"performance","accuracy","cost","satisfaction"} (each clamped [0,1],
 * missing or not a number = 0); result [0,1]. Weights summing to 0 (or
 * less) give 0.
 */
double ad_fitness_multi(const struct ad_fitness_weights *w, const json_t *scores);
/*
 * Delayed (webhook) adjustment: invoice_created true +0.4, crm_conversion
 * true +0.5, conversion_value v>0 +min(0.5, v/1000); negatives email_bounce
 * true -pct/100, error_signal true -pct/100 from settings. conversion_success
 * is recorded with the signal but scores nothing (the reference scores
 * crm_conversion). Not clamped: the caller adds it to a score and clamps.
 */
double ad_fitness_delayed_adjustment(const json_t *signals, const struct ad_settings *s);
/*
 * Reference business value: revenue_impact min(0.5, r/10000) + cost_savings
 * min(0.3, c/5000) + time_savings_hours min(0.2, h/100), non-positive
 * ignored, clamped [0,1].
 */
double ad_fitness_business_value(const json_t *metrics);
/* Mean of scores in [-1,1] (each clamped; NAN counts as 0) mapped to [0,1]; n == 0: 0.5. */
double ad_fitness_satisfaction(const double *scores, size_t n);
/*
 * Strict check of a delayed-signal object: known keys only
 * (invoice_created, crm_conversion, conversion_success: bool;
 * conversion_value: finite number >= 0; email_bounce, error_signal: bool),
 * else AD_EINVAL naming the key. Not an object is AD_EINVAL too.
 */
int ad_fitness_signals_check(const json_t *signals, struct ad_err *err);

/* ---- workflow variants: the owner API (fitness.c) ---------------------------- */

/*
 * Owner API of workflow_variants (learn). Every write that changes a score
 * is one transaction with its event (topic variant.fitness). create writes
 * the row (store.h's ad_store_variant_insert rules; no event: no score
 * changed yet).
 */
int ad_variants_create(struct ad_store *st, struct ad_workflow_variant *v, struct ad_err *err);
int ad_variants_get(struct ad_store *st, const char *tenant_id, const char *id,
                    struct ad_workflow_variant *out, struct ad_err *err);
/* Newest first; limit 0: 100, at most 1000. Free with ad_workflow_variant_list_free. */
int ad_variants_list(struct ad_store *st, const char *tenant_id,
                     const struct ad_variant_filter *f, struct ad_workflow_variant **out,
                     size_t *n, struct ad_err *err);
/*
 * evaluate_initial_proxy: the proxy from signals {"syntax_error": bool,
 * "execution_success": bool, "user_approved": bool} (each missing: false;
 * other keys, or a wrong type, AD_EINVAL naming it), combined with the
 * multi-objective terms when signals has "objectives": {"performance",
 * "accuracy", "cost", "satisfaction": numbers} as
 *     score = 0.5 * proxy + 0.5 * multi
 * (without objectives, score = proxy). Writes fitness_score,
 * fitness_signals.proxy {syntax_error, execution_success, user_approved,
 * score} (+ fitness_signals.objectives {the scores, "score": multi}; the
 * other members are kept), evaluation_status evaluated and
 * last_evaluated_at; event source "proxy". *score_out (may be NULL) gets
 * the score.
 */
int ad_fitness_evaluate_initial_proxy(struct ad_store *st, struct ad_bus *bus,
                                      const char *tenant_id, const char *variant_id,
                                      const json_t *signals, double *score_out,
                                      struct ad_err *err);
/*
 * evaluate_delayed: ad_fitness_signals_check, then score = clamp(current
 * (unknown: 0) + adjustment); appends {"at","signals","adjustment"} to
 * fitness_signals.delayed[] and sets last_evaluated_at; event source
 * "delayed". Bad signals are AD_EINVAL and nothing is written.
 */
int ad_fitness_evaluate_delayed(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                                const char *variant_id, const json_t *signals, double *score_out,
                                struct ad_err *err);
/*
 * business value: metrics is an object of revenue_impact, cost_savings and
 * time_savings_hours (finite numbers; other keys AD_EINVAL); bv as above,
 * stored in fitness_signals.business_value {score, metrics}, score =
 * clamp((current (unknown: 0) + bv)/2); event source "business_value".
 */
int ad_fitness_evaluate_business_value(struct ad_store *st, struct ad_bus *bus,
                                       const char *tenant_id, const char *variant_id,
                                       const json_t *metrics, double *bv_out,
                                       struct ad_err *err);
/*
 * satisfaction: ad_fitness_satisfaction of scores (each finite, else
 * AD_EINVAL), stored in fitness_signals.user_satisfaction {score,
 * feedback_count}; the score is not changed (reference); event source
 * "user_satisfaction" with the score as it is. *out gets the satisfaction.
 */
int ad_fitness_evaluate_user_satisfaction(struct ad_store *st, struct ad_bus *bus,
                                          const char *tenant_id, const char *variant_id,
                                          const double *scores, size_t n, double *out,
                                          struct ad_err *err);
/* fitness_score > 0, best first (ties: older first); agent_id NULL: any; limit 0: 100. */
int ad_fitness_top_variants(struct ad_store *st, const char *tenant_id, const char *agent_id,
                            int limit, struct ad_workflow_variant **out, size_t *n,
                            struct ad_err *err);

/* ---- custom fitness terms (fitness_terms.c) --------------------------------- */

struct ad_sandbox;
struct ad_sandbox_limits;

/* At most this many terms per tenant. */
#define AD_FITNESS_TERMS_MAX 32
/* A term run's wall-clock limit (all of a tenant's terms in one run; each alone on a retry). */
#define AD_FITNESS_TERM_WALL_MS 5000
/* A term run's memory and output limits. */
#define AD_FITNESS_TERM_MEMORY (128LL << 20)
#define AD_FITNESS_TERM_OUTPUT (64LL << 10)

/*
 * The blend (the formula above): builtin B in [0, 1] and values, an object
 * of the terms' results {name: {"value": t, "weight": w} or {"error": text,
 * "weight": w}}; only members with a number value and a weight > 0 count.
 * *weight_sum (may be NULL) gets sum w_i of those. Result in [0, 1].
 */
double ad_fitness_blend(double builtin, const json_t *values, double *weight_sum);

/*
 * Checks code as a term without running it: it parses and compiles as
 * Python (in the sandbox: ast.parse and compile, nothing of it executed)
 * and defines a top-level function term taking one argument; and it is at
 * most AD_FITNESS_TERM_CODE_MAX bytes of UTF-8. AD_EINVAL (AD_ETOOBIG for
 * the size) with what is wrong ("line 3: invalid syntax"); a sandbox that
 * cannot run the check is its error (fail closed).
 */
int ad_fitness_term_check(struct ad_sandbox *sb, const char *code, struct ad_err *err);
/*
 * Registers a term for tenant: name a Python identifier, weight in (0,
 * AD_FITNESS_TERM_WEIGHT_MAX], code checked as above; enabled. Nothing is
 * stored on any error; AD_EEXIST when the tenant has a term of that name,
 * AD_ELIMIT past AD_FITNESS_TERMS_MAX. out (may be NULL) gets the row
 * (release it with ad_fitness_term_release).
 */
int ad_fitness_terms_add(struct ad_store *st, struct ad_sandbox *sb, const char *tenant_id,
                         const char *name, const char *code, double weight,
                         struct ad_fitness_term *out, struct ad_err *err);
/* The tenant's terms by name. Free with ad_fitness_term_list_free. */
int ad_fitness_terms_list(struct ad_store *st, const char *tenant_id,
                          struct ad_fitness_term **out, size_t *n, struct ad_err *err);
int ad_fitness_terms_get(struct ad_store *st, const char *tenant_id, const char *name,
                         struct ad_fitness_term *out, struct ad_err *err);
/* Removes the term; scores already written keep its last value until rescored. */
int ad_fitness_terms_remove(struct ad_store *st, const char *tenant_id, const char *name,
                            struct ad_err *err);
/*
 * Runs terms[0..n) over signals (a JSON object, borrowed; each term gets a
 * copy of its own) in the sandbox: all of them in one run, and when that
 * run fails as a whole (a term hung, exited, printed past the output cap,
 * ran out of memory), each term alone, so the failure is its own. limits
 * NULL: AD_FITNESS_TERM_WALL_MS, _MEMORY, _OUTPUT, 16 pids, network off.
 * *out (new reference) is {name: {"value": t} | {"error": text}} with t
 * the term's number clamped to [0, 1] (and "clamped_from": the number when
 * it was outside). A term's failure is never this call's error: only
 * AD_ENOMEM or bad arguments are.
 */
int ad_fitness_terms_run(struct ad_sandbox *sb, const struct ad_fitness_term *terms, size_t n,
                         const json_t *signals, const struct ad_sandbox_limits *limits,
                         json_t **out, struct ad_err *err);
/*
 * (Re)scores a variant with the tenant's enabled terms: runs them over the
 * variant's fitness_signals (without its "terms" member) outside any
 * transaction of its own, then in one transaction reads the variant again
 * and writes fitness_signals.terms {"builtin": B, "values": {name:
 * {"value"|"error", "weight"}}, "weight_sum", "score", "at"}, the score by
 * the formula above and a variant.fitness event (source "terms"). Each
 * failed term is logged (warn) with its error. With no enabled term, a
 * variant that had terms blended in goes back to B; one that had none is
 * not written. The built-in stages keep B in signals.terms.builtin and
 * blend it with the values last recorded, so every score written follows
 * the formula. Terms only move the score: review and the promotion gates
 * stay as they are. *score_out (may be NULL) gets the score.
 */
int ad_fitness_terms_apply(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                           const char *tenant_id, const char *variant_id,
                           const struct ad_sandbox_limits *limits, double *score_out,
                           struct ad_err *err);

/* ---- tool mutations: the owner API (mutations.c, review.c) ------------------- */

/*
 * One transaction: ad_jobs_lease_hold(lease) (NULL: none), the insert with
 * the daily limit (settings max_mutations_per_day, read inside: AD_ELIMIT
 * and nothing written past it), one use of auto_dev.alpha_evolver recorded
 * for m->agent_id when set (capability_usage, success: the mutant was
 * written), and event mutation.created. m gets its id and created_at.
 */
int ad_mutations_create(struct ad_store *st, struct ad_bus *bus, struct ad_tool_mutation *m,
                        struct ad_job_lease *lease, struct ad_err *err);
/*
 * One transaction: lease hold, the update of m's mutable fields; when
 * m->decision was just set (the stored row has none), event
 * mutation.evaluated; when m->review_status becomes PENDING with decision
 * WON, a reviewer notification (type "mutation_ready", payload
 * {"mutation_id", "skill", "fitness_delta", "risk_level"}) whose message
 * names the skill, the gain and the risk level.
 */
int ad_mutations_save(struct ad_store *st, struct ad_bus *bus, const struct ad_tool_mutation *m,
                      struct ad_job_lease *lease, struct ad_err *err);
int ad_mutations_get(struct ad_store *st, const char *tenant_id, const char *id,
                     struct ad_tool_mutation *out, struct ad_err *err);
/* See ad_store_mutation_list. Free with ad_tool_mutation_list_free. */
int ad_mutations_list(struct ad_store *st, const char *tenant_id,
                      const struct ad_mutation_filter *f, struct ad_tool_mutation **out,
                      size_t *n, struct ad_err *err);
/* The mutation and its ancestors by parent_tool_id, out[0] = id itself. */
int ad_mutations_lineage(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_tool_mutation **out, size_t *n, struct ad_err *err);
/*
 * Review (review.c: ad__review_stamp, the notifications about the mutation
 * read, the events in the same transaction).
 *
 * approve: only a mutation with decision WON whose review_status is
 * PENDING (automatic: PENDING or none yet), else AD_ESTATE; AD_ECONFLICT
 * when the skill's current version is no longer the mutation's
 * parent_skill_version_id ("the skill moved on: current X, mutation made
 * from Y"). Otherwise adds a new MINOR version via ad_catalog_add (origin
 * alpha, origin_id = the mutation's id, parent = the current version, the
 * skill's entry, description and input schema kept), sets review approved
 * by reviewer (automatic: auto_approved by "autodev") and
 * promoted_version_id, marks the mutation's variants (tool_mutation_id =
 * its id) promoted with their proxy recomputed with user_approved true
 * (each a variant.fitness event), and emits mutation.approved.
 * *version_out (may be NULL) gets the new version. The caller decides
 * whether a mutation is eligible for automatic approval.
 */
int ad_mutation_approve(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                        const char *id, const char *reviewer, const char *reason,
                        bool automatic, struct ad_skill_version *version_out,
                        struct ad_err *err);
/*
 * reject: a reason is required (AD_EINVAL); only a mutation whose review is
 * PENDING (else AD_ESTATE). Marks it rejected by reviewer with the reason,
 * its variants rejected, and emits mutation.rejected.
 */
int ad_mutation_reject(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                       const char *id, const char *reviewer, const char *reason,
                       struct ad_err *err);

#endif
