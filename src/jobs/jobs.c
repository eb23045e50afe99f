#include "compat.h"

#include <stdatomic.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/jobs.h"
#include "autodev/log.h"
#include "autodev/store.h"

#define DEFAULT_LEASE_MS (5 * 60 * 1000)
#define DEFAULT_BACKOFF_BASE_MS 1000
#define DEFAULT_BACKOFF_MAX_MS (60 * 60 * 1000)

/* The claim a handler runs under (jobs.h). */
struct ad_job_lease {
    struct ad_jobs *q;
    const struct ad_job *job;
    int64_t until_ms;       /* the lease's end by q's clock, as last renewed */
};

struct handler {
    char *kind;          /* owned */
    ad_job_handler_fn *fn;
    void *ctx;
    int max_attempts;    /* 0: the queue's */
};

struct ad_jobs {
    struct ad_store *st;            /* borrowed */
    char tenant_id[AD_ID_SIZE];
    int64_t lease_ms;
    int64_t backoff_base_ms;
    int64_t backoff_max_ms;
    int max_attempts;
    char *worker;                   /* owned */
    struct handler *handlers;
    size_t nhandlers;
    size_t alloc;
    size_t next;                    /* where run_one(kind NULL) starts looking */
    int64_t (*now_ms)(void);        /* ad_now_ms; tests put a fake clock here */
    char last_run[AD_ID_SIZE];      /* the job the last run_one ran, "" for none */
};

static int kind_valid(const char *kind)
{
    size_t n = 0;

    if (!kind)
        return 0;
    for (; kind[n]; n++) {
        char c = kind[n];

        if (n >= AD_JOB_KIND_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    return n > 0;
}

/*
 * "<hostname>:<pid>:<n>". The job row names the worker that holds it, and a
 * lease is checked by that name alone, so two queues of one process (two
 * threads, each with its own store handle) must not share one: n counts the
 * queues the process has made.
 */
static char *default_worker(void)
{
    static atomic_long queues;
    char host[256] = "localhost";
    char buf[320];

    if (gethostname(host, sizeof(host) - 1) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, sizeof(buf), "%s:%ld:%ld", host, (long)getpid(),
             atomic_fetch_add(&queues, 1) + 1);
    return strdup(buf);
}

static int apply_options(struct ad_jobs *q, const struct ad_jobs_options *o, struct ad_err *err)
{
    static const struct ad_jobs_options none = { 0 };

    if (!o)
        o = &none;
    if (o->lease_ms < 0 || o->backoff_base_ms < 0 || o->backoff_max_ms < 0 ||
        o->max_attempts < 0)
        return ad_error(err, AD_EINVAL, "job queue options must not be negative");
    q->lease_ms = o->lease_ms ? o->lease_ms : DEFAULT_LEASE_MS;
    q->backoff_base_ms = o->backoff_base_ms ? o->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
    q->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    /* A cap below the base would make the "never below base / 2" promise false. */
    if (q->backoff_max_ms < q->backoff_base_ms)
        q->backoff_max_ms = q->backoff_base_ms;
    q->max_attempts = o->max_attempts ? o->max_attempts : AD_JOBS_DEFAULT_MAX_ATTEMPTS;
    q->now_ms = o->now_ms ? o->now_ms : ad_now_ms;
    q->worker = o->worker ? strdup(o->worker) : default_worker();
    if (!q->worker)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

int ad_jobs_new(struct ad_store *st, const char *tenant_id, const struct ad_jobs_options *opts,
                struct ad_jobs **out, struct ad_err *err)
{
    struct ad_jobs *q;
    int rc;

    *out = NULL;
    if (!st)
        return ad_error(err, AD_EINVAL, "job queue needs a store");
    if (!tenant_id || !tenant_id[0] || strlen(tenant_id) >= AD_ID_SIZE)
        return ad_error(err, AD_EINVAL, "invalid tenant id '%s'", tenant_id ? tenant_id : "");
    q = calloc(1, sizeof(*q));
    if (!q)
        return ad_error(err, AD_ENOMEM, "out of memory");
    q->st = st;
    snprintf(q->tenant_id, sizeof(q->tenant_id), "%s", tenant_id);
    rc = apply_options(q, opts, err);
    if (rc < 0) {
        ad_jobs_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

void ad_jobs_free(struct ad_jobs *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nhandlers; i++)
        free(q->handlers[i].kind);
    free(q->handlers);
    free(q->worker);
    free(q);
}

/*
 * The job row is built from copies the store may own and free: on AD_EEXIST
 * the store fills the struct with the existing job, so every heap member is
 * released with ad_job_release() whichever way the insert went.
 */
static struct handler *handler_find(struct ad_jobs *q, const char *kind);

static int job_fill(struct ad_jobs *q, struct ad_job *j, const char *kind,
                    const json_t *payload, const char *key, int64_t delay_ms, struct ad_err *err)
{
    struct handler *h;

    snprintf(j->tenant_id, sizeof(j->tenant_id), "%s", q->tenant_id);
    j->kind = strdup(kind);
    j->payload = payload ? json_deep_copy(payload) : json_object();
    j->idempotency_key = key ? strdup(key) : NULL;
    if (!j->kind || !j->payload || (key && !j->idempotency_key))
        return ad_error(err, AD_ENOMEM, "out of memory");
    j->status = AD_JOB_QUEUED;
    h = handler_find(q, kind);
    j->max_attempts = h && h->max_attempts ? h->max_attempts : q->max_attempts;
    ad_time_iso(q->now_ms() + delay_ms, j->run_after);
    return 0;
}

int ad_jobs_enqueue(struct ad_jobs *q, const char *kind, const json_t *payload,
                    const char *idempotency_key, int64_t delay_ms, char id_out[AD_ID_SIZE],
                    int *created, struct ad_err *err)
{
    struct ad_job j = { 0 };
    int rc;

    if (created)
        *created = 0;
    if (!kind_valid(kind))
        return ad_error(err, AD_EINVAL, "invalid job kind '%s'", kind ? kind : "(null)");
    if (payload && !json_is_object(payload))
        return ad_error(err, AD_EINVAL, "payload of job '%s' must be an object", kind);
    if (delay_ms < 0)
        return ad_error(err, AD_EINVAL, "delay of job '%s' must not be negative", kind);
    if (idempotency_key && !idempotency_key[0])
        return ad_error(err, AD_EINVAL, "idempotency key of job '%s' is empty", kind);
    rc = job_fill(q, &j, kind, payload, idempotency_key, delay_ms, err);
    if (rc < 0)
        goto out;
    rc = ad_store_job_insert(q->st, &j, err);
    if (rc == AD_EEXIST) {
        /* Already enqueued under this key: the caller gets the first job. */
        if (err)
            ad_err_clear(err);
        rc = 0;
    } else if (rc == 0 && created) {
        *created = 1;
    }
    if (rc == 0 && id_out)
        snprintf(id_out, AD_ID_SIZE, "%s", j.id);
out:
    ad_job_release(&j);
    return rc;
}

/*
 * Exponential backoff with "equal jitter": the nominal delay
 * d = base * 2^(attempt - 1), capped at backoff_max_ms, is split in a fixed
 * half and a random half, so the delay lies in [d / 2, d]. The fixed half
 * keeps a retry from coming back at once; the random half spreads the
 * retries of jobs that failed together (an outage) so they do not all
 * return together. The delay is never below base / 2.
 */
int64_t ad_jobs_backoff_ms(const struct ad_jobs *q, int attempt)
{
    int64_t d = q->backoff_base_ms;
    int64_t half;
    uint64_t r;

    if (attempt < 1)
        attempt = 1;
    /* Doubling stops at the cap, so d cannot overflow. */
    for (int i = 1; i < attempt && d < q->backoff_max_ms; i++)
        d *= 2;
    if (d > q->backoff_max_ms)
        d = q->backoff_max_ms;
    half = d / 2;
    if (ad_random(&r, sizeof(r)) < 0)
        return d;
    return half + (int64_t)(r % (uint64_t)(d - half + 1));
}

static struct handler *handler_find(struct ad_jobs *q, const char *kind)
{
    for (size_t i = 0; i < q->nhandlers; i++) {
        if (strcmp(q->handlers[i].kind, kind) == 0)
            return &q->handlers[i];
    }
    return NULL;
}

int ad_jobs_register(struct ad_jobs *q, const char *kind, ad_job_handler_fn *fn, void *ctx,
                     struct ad_err *err)
{
    struct handler *h;

    if (!kind_valid(kind))
        return ad_error(err, AD_EINVAL, "invalid job kind '%s'", kind ? kind : "(null)");
    if (!fn)
        return ad_error(err, AD_EINVAL, "job kind '%s' has no handler", kind);
    h = handler_find(q, kind);
    if (!h) {
        if (q->nhandlers == q->alloc) {
            size_t alloc = q->alloc ? q->alloc * 2 : 8;
            struct handler *v = realloc(q->handlers, alloc * sizeof(*v));

            if (!v)
                return ad_error(err, AD_ENOMEM, "out of memory");
            q->handlers = v;
            q->alloc = alloc;
        }
        h = &q->handlers[q->nhandlers];
        h->kind = strdup(kind);
        if (!h->kind)
            return ad_error(err, AD_ENOMEM, "out of memory");
        h->max_attempts = 0;
        q->nhandlers++;
    }
    h->fn = fn;
    h->ctx = ctx;
    return 0;
}

int ad_jobs_set_max_attempts(struct ad_jobs *q, const char *kind, int max_attempts,
                             struct ad_err *err)
{
    struct handler *h = kind_valid(kind) ? handler_find(q, kind) : NULL;

    if (!h)
        return ad_error(err, AD_EINVAL, "job kind '%s' is not registered", kind ? kind : "");
    if (max_attempts < 0)
        return ad_error(err, AD_EINVAL, "max attempts of job kind '%s' must not be negative",
                        kind);
    h->max_attempts = max_attempts;
    return 0;
}

/* Claims a job of kind. 1 claimed, 0 none claimable, or a negative error. */
static int claim_kind(struct ad_jobs *q, const char *kind, struct ad_job *job,
                      struct ad_err *err)
{
    int rc = ad_store_job_claim(q->st, q->tenant_id, kind, q->worker, q->now_ms(), q->lease_ms,
                                job, err);

    if (rc == AD_ENOTFOUND) {
        if (err)
            ad_err_clear(err);
        return 0;
    }
    return rc < 0 ? rc : 1;
}

/*
 * kind NULL claims only kinds with a handler, so a worker never takes a job
 * it cannot run from a worker that can. The search starts one kind further
 * on each call (round robin): a kind with a long backlog does not starve
 * the others.
 */
static int claim_any(struct ad_jobs *q, struct ad_job *job, struct ad_err *err)
{
    size_t n = q->nhandlers;

    for (size_t i = 0; i < n; i++) {
        size_t k = (q->next + i) % n;
        int rc = claim_kind(q, q->handlers[k].kind, job, err);

        if (rc != 0) {
            q->next = (k + 1) % n;
            return rc;
        }
    }
    return 0;
}

/* Maps a handler's return code to the job's next status and retry time. */
static enum ad_job_status outcome(struct ad_jobs *q, const struct ad_job *job, int rc,
                                  char retry_at[AD_TIME_SIZE])
{
    int max = job->max_attempts > 0 ? job->max_attempts : q->max_attempts;

    retry_at[0] = '\0';
    if (rc == 0)
        return AD_JOB_DONE;
    if (rc == AD_JOB_PERMANENT)
        return AD_JOB_FAILED;
    if (job->attempts >= max)
        return AD_JOB_DEAD;
    ad_time_iso(q->now_ms() + ad_jobs_backoff_ms(q, job->attempts), retry_at);
    return AD_JOB_QUEUED;
}

/* ---- leases ---------------------------------------------------------------- */

int64_t ad_job_lease_left_ms(const struct ad_job_lease *l)
{
    return l ? l->until_ms - l->q->now_ms() : INT64_MAX;
}

static int lease_renew(struct ad_job_lease *l, struct ad_store *st, struct ad_err *err)
{
    struct ad_jobs *q;
    int64_t now;
    int rc;

    if (!l)
        return 0;
    q = l->q;
    now = q->now_ms();
    rc = ad_store_job_renew(st, q->tenant_id, l->job->id, q->worker, now, q->lease_ms, NULL, err);
    if (rc == 0)
        l->until_ms = now + q->lease_ms;
    return rc;
}

int ad_jobs_heartbeat(struct ad_job_lease *l, struct ad_err *err)
{
    return lease_renew(l, l ? l->q->st : NULL, err);
}

int ad_jobs_lease_hold(struct ad_job_lease *l, struct ad_store *st, struct ad_err *err)
{
    if (l && !st)
        return ad_error(err, AD_EINVAL, "holding the lease of job %s needs a store", l->job->id);
    return lease_renew(l, st, err);
}

/* ---- running ----------------------------------------------------------------- */

/*
 * Runs a claimed job and records what happened. The handler runs outside
 * any transaction of ours: it may take minutes (an LLM call, a sandbox run)
 * and must not hold the database's write lock that long. Its writes are its
 * own; it keeps the job through the lease it is given (jobs.h), and since a
 * worker can still die between the handler and the finish, a job may run
 * again, and handlers must be idempotent.
 */
static int run_claimed(struct ad_jobs *q, struct ad_job *job, struct ad_err *err)
{
    struct handler *h = handler_find(q, job->kind);
    struct ad_job_lease lease = { q, job, 0 };
    struct ad_err herr = AD_ERR_INIT;
    char retry_at[AD_TIME_SIZE];
    enum ad_job_status status;
    const char *msg = NULL;
    int rc;

    /* The claim wrote lease_until from our clock; unreadable, it counts as run out. */
    if (ad_time_parse(job->lease_until, &lease.until_ms) < 0)
        lease.until_ms = 0;
    if (h) {
        rc = h->fn(h->ctx, job, &lease, &herr);
    } else {
        rc = ad_error(&herr, AD_JOB_PERMANENT, "no handler for job kind '%s'", job->kind);
    }
    status = outcome(q, job, rc, retry_at);
    if (rc != 0)
        msg = herr.msg[0] ? herr.msg : ad_strerror(rc);
    if (rc != 0 && rc != AD_JOB_PERMANENT)
        AD_LOG(AD_LOG_INFO, "jobs: job %s (%s) attempt %d failed: %s", job->id, job->kind,
               job->attempts, msg);
    rc = ad_store_job_finish(q->st, q->tenant_id, job->id, q->worker, status, msg,
                             retry_at[0] ? retry_at : NULL, err);
    if (rc == AD_ESTATE) {
        /* Our lease ran out and another worker holds the job now: its result counts. */
        AD_LOG(AD_LOG_WARN, "jobs: lost the lease on job %s (%s): %s", job->id, job->kind,
               err && err->msg[0] ? err->msg : ad_strerror(rc));
        if (err)
            ad_err_clear(err);
        rc = 0;
    }
    return rc;
}

int ad_jobs_run_one(struct ad_jobs *q, const char *kind, int *ran, struct ad_err *err)
{
    struct ad_job job = { 0 };
    int rc;

    *ran = 0;
    q->last_run[0] = '\0';
    if (kind && !kind_valid(kind))
        return ad_error(err, AD_EINVAL, "invalid job kind '%s'", kind);
    rc = kind ? claim_kind(q, kind, &job, err) : claim_any(q, &job, err);
    if (rc <= 0)
        goto out;
    *ran = 1;
    memcpy(q->last_run, job.id, AD_ID_SIZE);
    rc = run_claimed(q, &job, err);
out:
    ad_job_release(&job);
    return rc;
}

int ad_jobs_run_until_idle(struct ad_jobs *q, const char *kind, int max_jobs, int *count,
                           struct ad_err *err)
{
    int n = 0, ran = 1, rc = 0;

    while (ran && (max_jobs <= 0 || n < max_jobs)) {
        rc = ad_jobs_run_one(q, kind, &ran, err);
        if (rc < 0)
            break;
        n += ran;
    }
    if (count)
        *count = n;
    return rc;
}

const char *ad_jobs_last_run(const struct ad_jobs *q)
{
    return q->last_run;
}

int ad_jobs_get(struct ad_store *st, const char *tenant_id, const char *id, struct ad_job *out,
                struct ad_err *err)
{
    return ad_store_job_get(st, tenant_id, id, out, err);
}

int ad_jobs_list(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                 int limit, struct ad_job **out, size_t *n, struct ad_err *err)
{
    return ad_store_job_list(st, tenant_id, status, kind, limit, out, n, err);
}

int ad_jobs_list_before(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                        const char *before_id, int limit, struct ad_job **out, size_t *n,
                        struct ad_err *err)
{
    return ad_store_job_list_before(st, tenant_id, status, kind, before_id, limit, out, n, err);
}

int ad_jobs_status(struct ad_store *st, const char *tenant_id, const char *id,
                   enum ad_job_status *out, struct ad_err *err)
{
    return ad_store_job_status(st, tenant_id, id, out, err);
}

int ad_jobs_counts(struct ad_store *st, const char *tenant_id,
                   int64_t counts[AD_JOB_STATUS_COUNT], struct ad_err *err)
{
    return ad_store_job_counts(st, tenant_id, counts, err);
}

int ad_jobs_wait(struct ad_store *st, int timeout_ms, struct ad_err *err)
{
    return ad_store_job_wait(st, timeout_ms, err);
}

int ad_jobs_hand_back(struct ad_store *st, const char *tenant_id, const char *worker,
                      int64_t *count, struct ad_err *err)
{
    return ad_store_job_hand_back(st, tenant_id, worker,
                                  "handed back: its worker stopped before the job was done",
                                  count, err);
}
