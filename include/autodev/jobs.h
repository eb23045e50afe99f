/*
 * The job queue: enqueue, claim with a lease, complete, retry with
 * exponential backoff, dead-letter; and a small worker that runs registered
 * handlers by kind.
 *
 * Module jobs owns the jobs table: every other module enqueues, reads and
 * lists jobs through the functions here, never through the store. Rows
 * live in the store (ad_store_job_*); this module owns the policy.
 * A handler returns 0 (job done), any negative AD_E* code (retry with
 * backoff until max_attempts, then dead-letter), or AD_JOB_PERMANENT to fail
 * the job for good without retrying.
 *
 * Leases. A claim holds the job for lease_ms; a job still running when its
 * lease runs out is claimable again (its worker is presumed dead). A handler
 * whose work can outlast the lease (a model call, sandbox runs) therefore
 * renews it (ad_jobs_heartbeat) before each long step, keeps each step
 * within the time left (ad_job_lease_left_ms), and writes its result only
 * in a transaction that first asserts the job is still its own
 * (ad_jobs_lease_hold): a worker that lost its lease writes nothing, so a
 * job that ran twice still has one result.
 */
#ifndef AUTODEV_JOBS_H
#define AUTODEV_JOBS_H

/* Module jobs, layer 2: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 2
#error "autodev/jobs.h belongs to module jobs (layer 2), above the module including it"
#endif

#include <jansson.h>
#include <stdint.h>

#include "autodev/error.h"
#include "autodev/store.h"

/* A handler's return value that means "do not retry". */
#define AD_JOB_PERMANENT (-1000)

#define AD_JOB_KIND_MAX 64
#define AD_JOBS_DEFAULT_MAX_ATTEMPTS 5

struct ad_jobs;

struct ad_jobs_options {
    int64_t lease_ms;          /* 0: 5 minutes */
    int64_t backoff_base_ms;   /* 0: 1000; delay = base * 2^(attempts-1), jittered */
    int64_t backoff_max_ms;    /* 0: 1 hour */
    int max_attempts;          /* 0: AD_JOBS_DEFAULT_MAX_ATTEMPTS */
    const char *worker;        /* NULL: "<hostname>:<pid>:<n>", n counting the queues of the
                                  process, so no two queues share a name (a lease is held
                                  by name) */
    int64_t (*now_ms)(void);   /* the clock of claims, leases and backoff; NULL: ad_now_ms
                                  (tests put a fake one here) */
};

/*
 * The claim a handler runs under: passed to the handler by
 * ad_jobs_run_one, valid until the handler returns. Every function taking
 * one accepts NULL (work run outside a queue holds no lease): the lease
 * then never runs out and every check passes.
 */
struct ad_job_lease;

typedef int ad_job_handler_fn(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                              struct ad_err *err);

/*
 * Milliseconds left on the lease by the queue's clock (<= 0: it ran out,
 * and another worker may have claimed the job); INT64_MAX for NULL.
 */
int64_t ad_job_lease_left_ms(const struct ad_job_lease *l);

/*
 * The heartbeat: renews the lease to the queue's full lease_ms from now, on
 * the queue's store, while the job still runs under this claim. AD_ESTATE
 * when it does not any more (the lease ran out and another worker claimed
 * the job, which then finished or still runs): the handler must stop and
 * write nothing. Store errors are returned as they are.
 */
int ad_jobs_heartbeat(struct ad_job_lease *l, struct ad_err *err);

/*
 * "The job is still mine", for a handler about to write its result: the
 * same renewal as the heartbeat, made on st, the handle of the caller's
 * open transaction, as its first write. From then to the end of that
 * transaction the job row is the caller's (no claim can take it before the
 * commit), so a result committed with this check passed is the only one:
 * AD_ESTATE means another worker has the job, and the caller rolls back.
 */
int ad_jobs_lease_hold(struct ad_job_lease *l, struct ad_store *st, struct ad_err *err);

/* The queue of one tenant. Borrows st; copies tenant_id. */
int ad_jobs_new(struct ad_store *st, const char *tenant_id, const struct ad_jobs_options *opts,
                struct ad_jobs **out, struct ad_err *err);
void ad_jobs_free(struct ad_jobs *q);

/*
 * Enqueues kind with payload (object, borrowed), to run delay_ms from now
 * (0: now).
 * With an idempotency key already used by this tenant, nothing is enqueued:
 * id_out gets the existing job's id and *created (may be NULL) is 0.
 */
int ad_jobs_enqueue(struct ad_jobs *q, const char *kind, const json_t *payload,
                    const char *idempotency_key, int64_t delay_ms, char id_out[AD_ID_SIZE],
                    int *created, struct ad_err *err);

/* One job of the tenant; AD_ENOTFOUND when there is none of that id. */
int ad_jobs_get(struct ad_store *st, const char *tenant_id, const char *id, struct ad_job *out,
                struct ad_err *err);
/* Only the status of one job (its payload is not read). AD_ENOTFOUND when none. */
int ad_jobs_status(struct ad_store *st, const char *tenant_id, const char *id,
                   enum ad_job_status *out, struct ad_err *err);
/*
 * The tenant's jobs, newest first; status < 0 for any status, kind NULL for
 * any kind. Free with ad_job_list_free.
 */
int ad_jobs_list(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                 int limit, struct ad_job **out, size_t *n, struct ad_err *err);
/*
 * The same, from the job older than before_id (keyset paging: the id of the
 * last job of the page before; NULL: the newest).
 */
int ad_jobs_list_before(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                        const char *before_id, int limit, struct ad_job **out, size_t *n,
                        struct ad_err *err);

/* The delay before the retry that follows failed attempt number attempt (1-based). */
int64_t ad_jobs_backoff_ms(const struct ad_jobs *q, int attempt);

/* Registers the handler for kind; a second registration replaces the first. */
int ad_jobs_register(struct ad_jobs *q, const char *kind, ad_job_handler_fn *fn, void *ctx,
                     struct ad_err *err);

/*
 * How often jobs of kind (registered) that q enqueues are tried before they
 * are dead-lettered; 0: the queue's max_attempts. The count belongs to the
 * kind, so a job is tried as often whoever queues it.
 */
int ad_jobs_set_max_attempts(struct ad_jobs *q, const char *kind, int max_attempts,
                             struct ad_err *err);

/*
 * Claims one job (of kind, or of any registered kind when kind is NULL),
 * runs its handler and records the outcome. *ran is 1 when a job ran, 0 when
 * none was claimable. A job whose kind has no handler fails for good.
 * Handler failures are recorded on the job, not returned.
 */
int ad_jobs_run_one(struct ad_jobs *q, const char *kind, int *ran, struct ad_err *err);

/* The id of the job the last ad_jobs_run_one() of q ran; "" when it ran none. */
const char *ad_jobs_last_run(const struct ad_jobs *q);

/*
 * Runs jobs until none is claimable (max_jobs > 0 stops earlier). *count
 * (may be NULL) gets the number run.
 */
int ad_jobs_run_until_idle(struct ad_jobs *q, const char *kind, int max_jobs, int *count,
                           struct ad_err *err);

/* The tenant's jobs by status: counts[s] for each enum ad_job_status s (metrics). */
int ad_jobs_counts(struct ad_store *st, const char *tenant_id,
                   int64_t counts[AD_JOB_STATUS_COUNT], struct ad_err *err);

/*
 * A worker that stops before its job is done hands the job back: every job
 * of the tenant running under worker (the name of its queue) is queued
 * again, runnable now, with its lease dropped and its attempts kept, and
 * last_error saying why. Another worker claims it at once instead of
 * waiting for the lease to run out; the worker that handed it back, if it
 * is still running the handler, has lost its lease and writes nothing.
 * *count (may be NULL) gets how many jobs went back.
 */
int ad_jobs_hand_back(struct ad_store *st, const char *tenant_id, const char *worker,
                      int64_t *count, struct ad_err *err);

/*
 * An idle worker's wait: up to timeout_ms for a job of any tenant to be
 * queued, retried or handed back by any process (PostgreSQL's
 * LISTEN/NOTIFY). 1 when woken, 0 when the time ran out, AD_ENOTSUP when
 * the store has no wakeup (SQLite), and the worker sleeps its poll instead.
 * An optimisation only: jobs due later are found by polling.
 */
int ad_jobs_wait(struct ad_store *st, int timeout_ms, struct ad_err *err);

#endif
