/*
 * What the files of the learning module share (internal to src/learn).
 */
#ifndef AD_LEARN_INT_H
#define AD_LEARN_INT_H

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/store.h"

struct ad_bus;

/* A memento.generate job is tried this often before it is dead-lettered. */
#define AD__MEMENTO_MAX_ATTEMPTS 3

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
 * The shared part of a human review, for every reviewable row (skill
 * candidates now, AlphaEvolver's mutations next): the rules a decision
 * follows and the fields it stamps. A rejection needs a reason; the
 * reviewer defaults to "unknown"; the time is now. Sets *status,
 * *reviewed_by (replacing it), reviewed_at and, for a rejection, *reason.
 */
int ad__review_stamp(enum ad_review_status decision, const char *reviewer, const char *reason,
                     enum ad_review_status *status, char **reviewed_by,
                     char reviewed_at[AD_TIME_SIZE], char **reason_out, struct ad_err *err);

#endif
