/*
 * The background workers of 'autodev serve' and 'autodev worker': threads
 * that claim and run the queued jobs of every tenant, with leases, as
 * 'autodev jobs run' does in the foreground.
 *
 * Each worker opens its own runtime (a store handle is never shared
 * between threads) and keeps one job queue per tenant, all under one
 * worker name ("<host>:<pid>:w<N>"): the name that holds a job's lease, and
 * the one a stopping pool hands jobs back by. A round asks every tenant
 * for one job (so no tenant starves another); a round that ran none
 * sleeps poll_ms, or less when the pool is told to stop; on PostgreSQL it
 * waits on LISTEN/NOTIFY instead and wakes when a job is queued anywhere.
 *
 * Stopping: the workers finish the job they are in (none is interrupted)
 * and stop claiming. One still inside a job when the grace period ends
 * hands that job back through another handle (ad_jobs_hand_back): the job
 * is queued again at once and the worker, having lost its lease, writes
 * nothing of it. A kill -9 leaves the job running under its lease, which
 * runs out; the next worker then claims it (jobs.h).
 */
#include "compat.h"

#include <pthread.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/jobs.h"
#include "autodev/log.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

#include "server_int.h"

#define WORKERS_MAX 256
#define QUEUES_MAX 1024

struct queue {
    char tenant_id[AD_ID_SIZE];
    struct ad_jobs *q;
};

struct worker {
    struct ad_workers *pool;
    int index;
    pthread_t thread;
    int started;
    int joined;
    int done;                        /* atomic: the thread is about to return */
    char name[160];
    char busy_tenant[AD_ID_SIZE];    /* under pool->lock: the tenant of the job it runs */
    struct queue *queues;
    size_t nqueues;
};

struct ad_workers {
    struct ad_runtime_options rto;
    char *db, *sandbox, *llm;
    int n;
    int64_t lease_ms;
    int poll_ms;
    ad_server_note_fn *note;
    void *note_arg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    struct worker *w;
};

static void note(struct ad_workers *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct ad_workers *p, const char *fmt, ...)
{
    struct ad_buf b = AD_BUF_INIT;
    va_list ap;

    if (!p->note)
        return;
    va_start(ap, fmt);
    if (ad_buf_vaddf(&b, fmt, ap) == 0)
        p->note(p->note_arg, b.ptr);
    va_end(ap);
    ad_buf_release(&b);
}

static int stopping(struct ad_workers *p)
{
    return __atomic_load_n(&p->stop, __ATOMIC_RELAXED);
}

/* The worker's queue of tenant_id, made on first use. */
static struct ad_jobs *queue_for(struct worker *w, struct ad_runtime *rt, const char *tenant_id,
                                 struct ad_err *err)
{
    struct ad_jobs_options o = { 0 };
    struct ad_jobs *q = NULL;
    struct queue *grown;

    for (size_t i = 0; i < w->nqueues; i++) {
        if (!strcmp(w->queues[i].tenant_id, tenant_id))
            return w->queues[i].q;
    }
    if (w->nqueues == QUEUES_MAX) {
        ad_error(err, AD_ELIMIT, "a worker serves at most %d tenants", QUEUES_MAX);
        return NULL;
    }
    o.worker = w->name;
    o.lease_ms = w->pool->lease_ms;
    if (ad_runtime_jobs(rt, tenant_id, &o, &q, err) < 0)
        return NULL;
    grown = realloc(w->queues, (w->nqueues + 1) * sizeof(*grown));
    if (!grown) {
        ad_jobs_free(q);
        ad_error(err, AD_ENOMEM, "out of memory");
        return NULL;
    }
    w->queues = grown;
    memcpy(w->queues[w->nqueues].tenant_id, tenant_id, AD_ID_SIZE);
    w->queues[w->nqueues++].q = q;
    return q;
}

/* One line for the operator about the job that just ran. */
static void report(struct worker *w, struct ad_runtime *rt, const char *tenant_id,
                   const char *id)
{
    struct ad_job j = { 0 };
    const char *st;

    if (ad_jobs_get(ad_runtime_store(rt), tenant_id, id, &j, NULL) < 0)
        return;
    st = ad_job_status_name(j.status);
    if (j.status == AD_JOB_QUEUED)
        note(w->pool, "worker %d: job %s %s failed (attempt %d of %d), retry after %s%s%s",
             w->index, j.id, j.kind, j.attempts, j.max_attempts, j.run_after,
             j.last_error ? ": " : "", j.last_error ? j.last_error : "");
    else
        note(w->pool, "worker %d: job %s %s %s%s%s", w->index, j.id, j.kind, st ? st : "?",
             j.last_error && j.status != AD_JOB_DONE ? ": " : "",
             j.last_error && j.status != AD_JOB_DONE ? j.last_error : "");
    ad_job_release(&j);
}

/* Runs at most one job of one tenant; *ran says whether it did. */
static int run_tenant(struct worker *w, struct ad_runtime *rt, const char *tenant_id, int *ran,
                      struct ad_err *err)
{
    struct ad_jobs *q;
    int rc;

    *ran = 0;
    /* Scheduled work that is due joins the queue first: the workers are the scheduler. */
    /* Scheduled work that is due (background evolution) joins the queue first. */
    if (ad_runtime_schedule(rt, tenant_id, err) < 0)
        AD_LOG(AD_LOG_WARN, "worker %d: schedule: %s", w->index, err->msg);
    q = queue_for(w, rt, tenant_id, err);
    if (!q)
        return err->code ? err->code : AD_EINTERNAL;
    pthread_mutex_lock(&w->pool->lock);
    memcpy(w->busy_tenant, tenant_id, AD_ID_SIZE);
    pthread_mutex_unlock(&w->pool->lock);
    rc = ad_jobs_run_one(q, NULL, ran, err);
    pthread_mutex_lock(&w->pool->lock);
    w->busy_tenant[0] = '\0';
    pthread_mutex_unlock(&w->pool->lock);
    if (rc == 0 && *ran && ad_jobs_last_run(q)[0])
        report(w, rt, tenant_id, ad_jobs_last_run(q));
    return rc;
}

/* One job of each tenant that has one due. Returns how many ran. */
static int round_once(struct worker *w, struct ad_runtime *rt)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_tenant *t = NULL;
    size_t n = 0;
    int ran, total = 0;

    if (ad_runtime_tenants(rt, &t, &n, &err) < 0) {
        AD_LOG(AD_LOG_WARN, "worker %d: %s", w->index, err.msg);
        return 0;
    }
    for (size_t i = 0; i < n && !stopping(w->pool); i++) {
        ad_err_clear(&err);
        if (run_tenant(w, rt, t[i].id, &ran, &err) < 0)
            AD_LOG(AD_LOG_WARN, "worker %d: tenant %s: %s", w->index, t[i].name, err.msg);
        total += ran;
    }
    ad_tenant_list_free(t, n);
    return total;
}

/* Sleeps up to ms, or until the pool is told to stop. */
static void idle(struct ad_workers *p, int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    if (!p->stop)
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    pthread_mutex_unlock(&p->lock);
}

/*
 * An idle worker's wait for work: on a store with a wakeup (PostgreSQL's
 * LISTEN/NOTIFY) up to poll_ms in slices of 100 ms (to see a stop), back
 * at once when a job is queued, retried or handed back anywhere; on one
 * without (SQLite), or when the wait fails, the plain sleep. Either way the
 * next round polls every tenant, so a missed wakeup only costs poll_ms.
 */
static void wait_for_work(struct ad_workers *p, struct ad_runtime *rt)
{
    struct ad_err err = AD_ERR_INIT;
    int left = p->poll_ms;

    while (left > 0 && !stopping(p)) {
        int slice = left < 100 ? left : 100;
        int rc = ad_jobs_wait(ad_runtime_store(rt), slice, &err);

        if (rc == 1)
            return;
        if (rc < 0) {
            if (rc != AD_ENOTSUP)
                AD_LOG(AD_LOG_WARN, "waiting for jobs: %s", err.msg);
            idle(p, left);
            return;
        }
        left -= slice;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ad_workers *p = w->pool;
    struct ad_runtime *rt = NULL;
    struct ad_err err = AD_ERR_INIT;

    while (!stopping(p)) {
        if (!rt && ad_runtime_open(&p->rto, &rt, &err) < 0) {
            AD_LOG(AD_LOG_WARN, "worker %d: cannot open the store: %s", w->index, err.msg);
            rt = NULL;
            idle(p, p->poll_ms);
            continue;
        }
        if (round_once(w, rt) == 0)
            wait_for_work(p, rt);
    }
    for (size_t i = 0; i < w->nqueues; i++)
        ad_jobs_free(w->queues[i].q);
    free(w->queues);
    w->queues = NULL;
    w->nqueues = 0;
    ad_runtime_free(rt);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int copy_options(struct ad_workers *p, const struct ad_workers_options *o,
                        struct ad_err *err)
{
    p->rto = o->runtime;
    p->db = o->runtime.db ? strdup(o->runtime.db) : NULL;
    p->sandbox = o->runtime.sandbox ? strdup(o->runtime.sandbox) : NULL;
    p->llm = o->runtime.llm ? strdup(o->runtime.llm) : NULL;
    if (!p->db || (o->runtime.sandbox && !p->sandbox) || (o->runtime.llm && !p->llm))
        return ad_error(err, AD_ENOMEM, "out of memory");
    p->rto.db = p->db;
    p->rto.sandbox = p->sandbox;
    p->rto.llm = p->llm;
    p->rto.create = 0;
    p->rto.readonly = 0;
    p->n = o->workers;
    p->lease_ms = o->lease_ms;
    p->poll_ms = o->poll_ms > 0 ? o->poll_ms : 500;
    p->note = o->note;
    p->note_arg = o->note_arg;
    return 0;
}

int ad_workers_start(const struct ad_workers_options *o, struct ad_workers **out,
                     struct ad_err *err)
{
    struct ad_workers *p;
    char host[64] = "localhost";
    int rc;

    *out = NULL;
    if (o->workers < 1 || o->workers > WORKERS_MAX)
        return ad_error(err, AD_EINVAL, "invalid number of workers %d: expected 1..%d",
                        o->workers, WORKERS_MAX);
    if (o->lease_ms < 0)
        return ad_error(err, AD_EINVAL, "invalid lease %" PRId64 " ms", o->lease_ms);
    p = calloc(1, sizeof(*p));
    if (!p)
        return ad_error(err, AD_ENOMEM, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    rc = copy_options(p, o, err);
    if (rc == 0) {
        p->w = calloc((size_t)p->n, sizeof(*p->w));
        if (!p->w)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    gethostname(host, sizeof(host) - 1);
    for (int i = 0; rc == 0 && i < p->n; i++) {
        struct worker *w = &p->w[i];

        w->pool = p;
        w->index = i + 1;
        snprintf(w->name, sizeof(w->name), "%s:%ld:w%d", host, (long)getpid(), i + 1);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            rc = ad_error(err, AD_EIO, "cannot start worker %d", i + 1);
        else
            w->started = 1;
    }
    if (rc < 0) {
        ad_workers_stop(p, 0, NULL, NULL);
        ad_workers_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Hands back the job of each worker still inside one, through a handle of our own. */
static int hand_back(struct ad_workers *p, int *handed, struct ad_err *err)
{
    struct ad_runtime *rt = NULL;
    int rc = 0;

    for (int i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        char tenant[AD_ID_SIZE];
        int64_t count = 0;

        if (!w->started || __atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
            continue;
        pthread_mutex_lock(&p->lock);
        memcpy(tenant, w->busy_tenant, AD_ID_SIZE);
        pthread_mutex_unlock(&p->lock);
        if (!tenant[0])
            continue;
        if (!rt && (rc = ad_runtime_open(&p->rto, &rt, err)) < 0)
            break;
        rc = ad_jobs_hand_back(ad_runtime_store(rt), tenant, w->name, &count, err);
        if (rc < 0)
            break;
        if (count > 0)
            note(p, "worker %d: handed its job back to the queue (still running at the end "
                    "of the grace period)", w->index);
        *handed += (int)count;
    }
    ad_runtime_free(rt);
    return rc;
}

int ad_workers_stop(struct ad_workers *p, int64_t grace_ms, int *handed_back,
                    struct ad_err *err)
{
    int64_t deadline = ad_mono_ns() + grace_ms * 1000000;
    int handed = 0, all, rc = 0;

    if (handed_back)
        *handed_back = 0;
    if (!p)
        return 0;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    do {
        all = 1;
        for (int i = 0; i < p->n; i++) {
            if (p->w[i].started && !__atomic_load_n(&p->w[i].done, __ATOMIC_ACQUIRE))
                all = 0;
        }
        if (!all)
            usleep(10000);
    } while (!all && ad_mono_ns() < deadline);
    if (!all)
        rc = hand_back(p, &handed, err);
    for (int i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];

        if (w->started && !w->joined && __atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
            pthread_join(w->thread, NULL);
            w->joined = 1;
        }
    }
    if (handed_back)
        *handed_back = handed;
    return rc;
}

void ad_workers_free(struct ad_workers *p)
{
    if (!p)
        return;
    /* A worker still inside a handler uses p: leave it to the process's exit. */
    for (int i = 0; p->w && i < p->n; i++) {
        if (p->w[i].started && !p->w[i].joined)
            return;
    }
    free(p->w);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->db);
    free(p->sandbox);
    free(p->llm);
    free(p);
}
