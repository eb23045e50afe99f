/*
 * What the files of the learning module share (internal to src/learn).
 */
#ifndef AD_LEARN_INT_H
#define AD_LEARN_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/jobs.h"
#include "autodev/store.h"

struct ad_bus;


/*
 * Queues a memento.generate job with payload (borrowed) through the job
 * queue, under idempotency key key: a second call with the same key queues
 * nothing and gives the first job's id (*created 0).
 */
int ad__memento_enqueue(struct ad_store *st, const char *tenant_id, const json_t *payload,
                        const char *key, char id_out[AD_ID_SIZE], int *created,
                        struct ad_err *err);

/*
 * Writes one notification for the reviewers (agent_id "" or NULL: none);
 * payload is borrowed. In the caller's transaction.
 */
int ad__notify(struct ad_store *st, const char *tenant_id, const char *agent_id,
               const char *type, const char *title, const char *message, const json_t *payload,
               char id_out[AD_ID_SIZE], struct ad_err *err);

/*
 * Marks read every unread notification about candidate_id (its payload's
 * "candidate_id"): a review answers them. In the caller's transaction.
 */
int ad__notifications_read_candidate(struct ad_store *st, const char *tenant_id,
                                     const char *candidate_id, struct ad_err *err);

/*
 * The shared part of a human review, for every reviewable row (skill
 * candidates now, AlphaEvolver's mutations next): the rules a decision
 * follows and the fields it stamps. A rejection needs a reason; the
 * reviewer defaults to "unknown"; the time is now. Sets *status,
 * *reviewed_by (replacing it), reviewed_at and, for a rejection, *reason.
 */
int ad__review_stamp(enum ad_review_status decision, const char *reviewer, const char *reason,
                     enum ad_review_status *status, char **reviewed_by,
                     char reviewed_at[AD_TIME_SIZE], char **reason_out, struct ad_err *err);

/*
 * Marks read every unread notification whose payload's key is id (a
 * mutation's: "mutation_id"). In the caller's transaction.
 */
int ad__notifications_read_about(struct ad_store *st, const char *tenant_id, const char *key,
                                 const char *id, struct ad_err *err);

/* ---- AlphaEvolver's rows (fitness.c) ---- */

/*
 * A reviewer approved the mutant variant v ran: its proxy gets
 * user_approved (its score the +0.5 that adds, weighed as the proxy is),
 * its evaluation_status promoted, written with a variant.fitness event.
 * ran_ok stands for execution_success when v was never scored. In the
 * caller's transaction.
 */
struct ad_workflow_variant;
int ad__variant_promote(struct ad_store *st, struct ad_bus *bus, struct ad_workflow_variant *v,
                        bool ran_ok, struct ad_err *err);

/*
 * Writes the custom terms' results on the variant (fitness.h's
 * ad_fitness_terms_apply): values {name: {"value"|"error", "weight"}}
 * (borrowed) blended with its built-in score, or, values NULL, the terms
 * dropped and the built-in score back; one transaction with its event.
 */
int ad__variant_set_terms(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                          const char *variant_id, const json_t *values, double *score_out,
                          struct ad_err *err);

/* ---- failure patterns (patterns.c) ---- */

/* A new open pattern of the agent's failures (episode_ids borrowed); its id into id_out. */
int ad__pattern_open(struct ad_store *st, const char *tenant_id, const char *agent_id,
                     const char *task, const char *error_type, const json_t *episode_ids,
                     char id_out[AD_ID_SIZE], struct ad_err *err);
/* The pattern's memento.generate job (the pattern stays open). */
int ad__pattern_set_job(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *job_id, struct ad_err *err);
/* The job wrote candidate_id: the pattern moves to "candidate". */
int ad__pattern_candidate(struct ad_store *st, const char *tenant_id, const char *id,
                          const char *candidate_id, struct ad_err *err);
/*
 * Candidate c was decided (failed validation, promoted, rejected): its
 * pattern closes with the outcome {"candidate_id", "status", "reason",
 * "proposer"}. A candidate that names no pattern gets a closed one of its
 * failures, so the outcome is where reflection looks for earlier attempts.
 */
int ad__pattern_close(struct ad_store *st, const struct ad_skill_candidate *c,
                      const char *reason, struct ad_err *err);
/* An open pattern's job ended without a candidate (failed, dead, gone): it closes. */
int ad__pattern_job_ended(struct ad_store *st, const struct ad_failure_pattern *p,
                          enum ad_job_status job_status, struct ad_err *err);
/* c is asked for again: its pattern (or a new one of its failures) opens; id into pattern_out. */
int ad__pattern_reopen(struct ad_store *st, const struct ad_skill_candidate *c,
                       char pattern_out[AD_ID_SIZE], struct ad_err *err);

#endif
