/*
 * Jobs: the queue's rows. Status names, releasing what the store filled
 * in, argument checks and the public calls; the policy (retries, backoff,
 * dead letters) is the jobs module's (autodev/jobs.h).
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

#define WORKER_MAX 256            /* "<hostname>:<pid>" and the like */
#define IDEMPOTENCY_KEY_MAX 512
#define MAX_ATTEMPTS_MAX 10000

static const char *const job_status_names[] = {
    [AD_JOB_QUEUED] = "queued",
    [AD_JOB_RUNNING] = "running",
    [AD_JOB_DONE] = "done",
    [AD_JOB_FAILED] = "failed",
    [AD_JOB_DEAD] = "dead",
};

const struct ad__enum ad__job_status_enum = {
    job_status_names, AD_ARRAY_SIZE(job_status_names), "status",
};

const char *ad_job_status_name(enum ad_job_status s)
{
    return ad__enum_name(&ad__job_status_enum, (int)s);
}

int ad_job_status_parse(const char *s, enum ad_job_status *out)
{
    int i = ad__enum_parse(&ad__job_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_job_status)i;
    return 0;
}

void ad_job_release(struct ad_job *j)
{
    if (!j)
        return;
    free(j->kind);
    json_decref(j->payload);
    free(j->idempotency_key);
    free(j->worker);
    free(j->last_error);
    memset(j, 0, sizeof(*j));
}

void ad_job_list_free(struct ad_job *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_job_release(&v[i]);
    free(v);
}

/* ---- checks ------------------------------------------------------------- */

/* Normalises an ISO-8601 time ("" or NULL: now) to the 24-character form. */
static int normalize_time(const char *what, const char *in, char out[AD_TIME_SIZE],
                          struct ad_err *err)
{
    int64_t ms;

    if (!in || !in[0]) {
        ad_time_now(out);
        return 0;
    }
    if (ad_time_parse(in, &ms) || ms < 0)
        return ad_error(err, AD_EINVAL, "%s: invalid time '%.64s'", what, in);
    ad_time_iso(ms, out);
    return 0;
}

static int check_kind(const char *kind, struct ad_err *err)
{
    return ad__check_text("kind", kind, AD_TASK_KIND_MAX, 1, err);
}

static int check_worker(const char *worker, struct ad_err *err)
{
    return ad__check_text("worker", worker, WORKER_MAX, 1, err);
}

static int check_job(const struct ad_job *j, struct ad_err *err)
{
    int rc;

    rc = ad__check_id("tenant id", j->tenant_id, err);
    if (!rc)
        rc = check_kind(j->kind, err);
    if (!rc && j->idempotency_key)
        rc = ad__check_text("idempotency_key", j->idempotency_key, IDEMPOTENCY_KEY_MAX, 1,
                            err);
    if (!rc && (j->max_attempts < 1 || j->max_attempts > MAX_ATTEMPTS_MAX))
        rc = ad_error(err, AD_EINVAL, "max_attempts %d is out of range 1..%d", j->max_attempts,
                      MAX_ATTEMPTS_MAX);
    return rc;
}

/* ---- calls -------------------------------------------------------------- */

int ad_store_job_insert(struct ad_store *st, struct ad_job *j, struct ad_err *err)
{
    char run_after[AD_TIME_SIZE];
    char *payload = NULL;
    int rc, own;

    rc = check_job(j, err);
    if (!rc)
        rc = ad__json_text("payload", j->payload, 1 << JSON_OBJECT, &payload, err);
    if (!rc)
        rc = normalize_time("run_after", j->run_after, run_after, err);
    if (!rc)
        rc = ad__new_id(j->id, err);
    if (rc) {
        free(payload);
        return rc;
    }
    memcpy(j->run_after, run_after, AD_TIME_SIZE);
    ad_time_now(j->created_at);
    memcpy(j->updated_at, j->created_at, AD_TIME_SIZE);
    j->status = AD_JOB_QUEUED;
    j->attempts = 0;
    j->lease_until[0] = '\0';
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->jobs->insert(st, j, payload ? payload : "{}", err), err);
    if (rc && rc != AD_EEXIST)
        j->id[0] = '\0';
    free(payload);
    return rc;
}

int ad_store_job_get(struct ad_store *st, const char *tenant_id, const char *id,
                     struct ad_job *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("job id", id, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->jobs->get(st, tenant_id, id, out, err);
}

int ad_store_job_status(struct ad_store *st, const char *tenant_id, const char *id,
                        enum ad_job_status *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("job id", id, err);
    if (rc)
        return rc;
    return st->ops->jobs->status(st, tenant_id, id, out, err);
}

int ad_store_job_claim(struct ad_store *st, const char *tenant_id, const char *kind,
                       const char *worker, int64_t now_ms, int64_t lease_ms, struct ad_job *out,
                       struct ad_err *err)
{
    char now[AD_TIME_SIZE], lease_until[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && kind)
        rc = check_kind(kind, err);
    if (!rc)
        rc = check_worker(worker, err);
    if (rc)
        return rc;
    if (now_ms < 0 || lease_ms <= 0 || lease_ms > INT64_MAX / 2 - now_ms)
        return ad_error(err, AD_EINVAL, "invalid claim time %" PRId64 " + %" PRId64, now_ms,
                        lease_ms);
    ad_time_iso(now_ms, now);
    ad_time_iso(now_ms + lease_ms, lease_until);
    memset(out, 0, sizeof(*out));
    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->jobs->claim(st, tenant_id, kind, worker, now, lease_until, out, err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_job_finish(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *worker, enum ad_job_status status, const char *error,
                        const char *retry_at, struct ad_err *err)
{
    char now[AD_TIME_SIZE], run_after[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("job id", id, err);
    if (!rc)
        rc = check_worker(worker, err);
    if (!rc && error)
        rc = ad__check_text("error", error, AD_ERROR_TRACE_MAX, 0, err);
    if (!rc && (status == AD_JOB_RUNNING || !ad_job_status_name(status)))
        rc = ad_error(err, AD_EINVAL, "invalid final job status %d", (int)status);
    if (!rc && status == AD_JOB_QUEUED)
        rc = normalize_time("retry_at", retry_at, run_after, err);
    if (rc)
        return rc;
    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->jobs->finish(st, tenant_id, id, worker, status, error,
                               status == AD_JOB_QUEUED ? run_after : NULL, ad_time_now(now),
                               err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_job_renew(struct ad_store *st, const char *tenant_id, const char *id,
                       const char *worker, int64_t now_ms, int64_t lease_ms,
                       char lease_until[AD_TIME_SIZE], struct ad_err *err)
{
    char now[AD_TIME_SIZE], until[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("job id", id, err);
    if (!rc)
        rc = check_worker(worker, err);
    if (rc)
        return rc;
    if (now_ms < 0 || lease_ms <= 0 || lease_ms > INT64_MAX / 2 - now_ms)
        return ad_error(err, AD_EINVAL, "invalid lease time %" PRId64 " + %" PRId64, now_ms,
                        lease_ms);
    ad_time_iso(now_ms, now);
    ad_time_iso(now_ms + lease_ms, until);
    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = ad__write_end(st, own, st->ops->jobs->renew(st, tenant_id, id, worker, now, until, err),
                       err);
    if (rc == 0 && lease_until)
        memcpy(lease_until, until, AD_TIME_SIZE);
    return rc;
}

int ad_store_job_list(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                      int limit, struct ad_job **out, size_t *n, struct ad_err *err)
{
    return ad_store_job_list_before(st, tenant_id, status, kind, NULL, limit, out, n, err);
}

int ad_store_job_list_before(struct ad_store *st, const char *tenant_id, int status,
                             const char *kind, const char *before_id, int limit,
                             struct ad_job **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && kind)
        rc = check_kind(kind, err);
    if (!rc && status >= 0 && !ad_job_status_name((enum ad_job_status)status))
        rc = ad_error(err, AD_EINVAL, "invalid job status %d", status);
    if (!rc && before_id)
        rc = ad__check_id("before id", before_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->jobs->list(st, tenant_id, status < 0 ? -1 : status, kind, before_id, limit,
                               out, n, err);
}

int ad_store_job_counts(struct ad_store *st, const char *tenant_id,
                        int64_t counts[AD_JOB_STATUS_COUNT], struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(counts, 0, sizeof(int64_t) * AD_JOB_STATUS_COUNT);
    if (rc)
        return rc;
    return st->ops->jobs->counts(st, tenant_id, counts, err);
}

int ad_store_job_wait(struct ad_store *st, int timeout_ms, struct ad_err *err)
{
    if (timeout_ms < 0 || timeout_ms > 3600000)
        return ad_error(err, AD_EINVAL, "invalid wait of %d ms: expected 0..3600000",
                        timeout_ms);
    if (!st->ops->jobs->wait)
        return ad_error(err, AD_ENOTSUP, "the %s store has no job wakeup; poll instead",
                        st->ops->name);
    if (ad_store_tx_depth(st) > 0)
        return ad_error(err, AD_ESTATE, "cannot wait for jobs inside a transaction");
    return st->ops->jobs->wait(st, timeout_ms, err);
}

int ad_store_job_hand_back(struct ad_store *st, const char *tenant_id, const char *worker,
                           const char *note, int64_t *count, struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int64_t ignored = 0;
    int rc, own;

    if (!count)
        count = &ignored;
    *count = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = check_worker(worker, err);
    if (!rc && note)
        rc = ad__check_text("note", note, AD_ERROR_TRACE_MAX, 0, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->jobs->hand_back(st, tenant_id, worker, note, ad_time_now(now), count, err);
    rc = ad__write_end(st, own, rc, err);
    if (rc)
        *count = 0;
    return rc;
}
