/*
 * Jobs (the queue's rows) on PostgreSQL, with sqlite/jobs.c's semantics:
 * insert with an idempotency key, get, the claim, finish, renewing a
 * lease, list, counts, handing a worker's jobs back. Retries, backoff and
 * dead letters are the public layer's (jobs.c): a backend only moves a row
 * from state to state under the guards below.
 *
 * The claim is one statement: its subquery picks the first claimable job
 * (queued and due, or running with an expired lease) in (run_after, id)
 * order and locks it FOR UPDATE SKIP LOCKED, so two workers never take the
 * same job and neither waits for the other's row; under READ COMMITTED a
 * row another worker changed and committed meanwhile is checked again
 * against the condition before it is locked, and skipped when it no longer
 * qualifies. renew is an UPDATE of the row: it holds the row lock to the
 * end of the caller's transaction, and a claim skips the row until then.
 *
 * Wakeups: an insert, a retry (finish back to queued) and a hand-back send
 * NOTIFY autodev_jobs in the writing transaction, so it reaches listeners
 * when (and only if) the row is committed. wait LISTENs on the handle's
 * connection (once per connection; a reconnect LISTENs again) and blocks
 * on its socket until a notification or the timeout. Idle workers wait
 * there instead of sleeping, and still poll when it times out: a job whose
 * run_after is in the future, or a notification lost with a connection,
 * is found by the poll, so the wakeup is never needed for correctness.
 */
#include "compat.h"

#include <errno.h>
#include <poll.h>

#include "pg/pg_int.h"

#define JOB_COLS                                                                     \
    "id, tenant_id, kind, payload, status, attempts, max_attempts, idempotency_key,"  \
    " ad_ts(run_after), ad_ts(lease_until), worker, last_error, ad_ts(created_at),"   \
    " ad_ts(updated_at)"

static int read_job(const PGresult *r, int i, struct ad_job *j, struct ad_err *err)
{
    int v = 0, rc;

    memset(j, 0, sizeof(*j));
    ad__pg_fixed(r, i, 0, j->id, sizeof(j->id));
    ad__pg_fixed(r, i, 1, j->tenant_id, sizeof(j->tenant_id));
    j->attempts = (int)ad__pg_i64(r, i, 5);
    j->max_attempts = (int)ad__pg_i64(r, i, 6);
    ad__pg_fixed(r, i, 8, j->run_after, sizeof(j->run_after));
    ad__pg_fixed(r, i, 9, j->lease_until, sizeof(j->lease_until));
    ad__pg_fixed(r, i, 12, j->created_at, sizeof(j->created_at));
    ad__pg_fixed(r, i, 13, j->updated_at, sizeof(j->updated_at));
    rc = ad__pg_enum(r, i, 4, &ad__job_status_enum, &v, err);
    j->status = v;
    if (!rc)
        rc = ad__pg_dup(r, i, 2, &j->kind, err);
    if (!rc)
        rc = ad__pg_json(r, i, 3, &j->payload, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 7, &j->idempotency_key, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 10, &j->worker, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 11, &j->last_error, err);
    if (rc)
        ad_job_release(j);
    return rc;
}

/* Reads the only row of r into out; AD_ENOTFOUND (unworded) when there is none. */
static int one_job(PGresult *r, struct ad_job *out, struct ad_err *err)
{
    int rc = PQntuples(r) < 1 ? AD_ENOTFOUND : read_job(r, 0, out, err);

    PQclear(r);
    return rc;
}

/*
 * One statement: the row goes in unless the key is taken (then no row, and
 * the existing job is read), and only when the tenant exists. A concurrent
 * insert of the same key waits for the other transaction and then sees its
 * row, so a key is taken once across processes.
 */
static const char q_insert[] =
    "INSERT INTO jobs (id, tenant_id, kind, payload, status, attempts, max_attempts,"
    " idempotency_key, run_after, lease_until, created_at, updated_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)"
    " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING";
/* The wakeup of idle workers; delivered at commit, dropped on rollback. */
static const char q_notify[] = "SELECT pg_notify('autodev_jobs', '')";

static int notify(struct pg_store *s, const char *tenant_id, struct ad_err *err)
{
    return ad__pg_run(s, tenant_id, q_notify, 0, NULL, NULL, "notify workers", err);
}

static const char q_by_key[] =
    "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2";

static int pg_job_insert(struct ad_store *st, struct ad_job *j, const char *payload,
                         struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char b[2][24];
    const char *p[] = {
        j->id, j->tenant_id, j->kind, payload, ad__enum_name(&ad__job_status_enum, j->status),
        ad__pg_i64_text(j->attempts, b[0]), ad__pg_i64_text(j->max_attempts, b[1]),
        j->idempotency_key, j->run_after, ad__pg_opt(j->lease_until), j->created_at,
        j->updated_at,
    };
    const char *k[] = { j->tenant_id, j->idempotency_key };
    struct ad_job existing;
    PGresult *r = NULL;
    int rc = ad__pg_run(s, j->tenant_id, q_insert, 12, p, &r, "insert job", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc ? rc : notify(s, j->tenant_id, err);
    }
    PQclear(r);
    if (!j->idempotency_key)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", j->tenant_id);
    rc = ad__pg_run(s, j->tenant_id, q_by_key, 2, k, &r, "find job", err);
    if (rc)
        return rc;
    rc = one_job(r, &existing, err);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", j->tenant_id);
    if (rc)
        return rc;
    ad_error(err, AD_EEXIST, "a job with idempotency key '%s' already exists",
             j->idempotency_key);
    ad_job_release(j);
    *j = existing;
    return AD_EEXIST;
}

static const char q_get[] = "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = $1 AND id = $2";

static int pg_job_get(struct ad_store *st, const char *tenant_id, const char *id,
                      struct ad_job *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_get, 2, p, &r, "get job", err);

    if (rc)
        return rc;
    rc = one_job(r, out, err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    return rc;
}

static const char q_status[] = "SELECT status FROM jobs WHERE tenant_id = $1 AND id = $2";

static int pg_job_status(struct ad_store *st, const char *tenant_id, const char *id,
                         enum ad_job_status *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_status, 2, p, &r, "job", id, err);

    if (!rc && ad_job_status_parse(PQgetvalue(r, 0, 0), out))
        rc = ad_error(err, AD_ECORRUPT, "job '%s' has an unknown status", id);
    PQclear(r);
    return rc;
}

#define CLAIM_SQL(kind_clause)                                                        \
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = $3,"        \
    " lease_until = $5, updated_at = $4"                                               \
    " WHERE id = (SELECT id FROM jobs WHERE tenant_id = $1" kind_clause                \
    " AND ((status = 'queued' AND run_after <= $4)"                                    \
    "  OR (status = 'running' AND lease_until < $4))"                                  \
    " ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"                          \
    " RETURNING " JOB_COLS

static const char q_claim[] = CLAIM_SQL(" AND $2::text IS NULL");
static const char q_claim_kind[] = CLAIM_SQL(" AND kind = $2");

static int pg_job_claim(struct ad_store *st, const char *tenant_id, const char *kind,
                        const char *worker, const char *now, const char *lease_until,
                        struct ad_job *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, kind, worker, now, lease_until };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, kind ? q_claim_kind : q_claim, 5, p, &r,
                        "claim job", err);

    if (rc)
        return rc;
    rc = one_job(r, out, err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "no claimable job");
    return rc;
}

static const char q_exists[] = "SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2";

/* After a guarded update changed nothing: is the job gone, or not the worker's? */
static int not_ours(struct pg_store *s, const char *tenant_id, const char *id,
                    const char *worker, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_exists, 2, p, &r, "find job", err);

    if (!rc && PQntuples(r) > 0)
        rc = ad_error(err, AD_ESTATE, "job '%s' is not running under worker '%s'", id, worker);
    else if (!rc)
        rc = ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    PQclear(r);
    return rc;
}

static const char q_finish[] =
    "UPDATE jobs SET status = $4, last_error = coalesce($5, last_error),"
    " run_after = coalesce($6::timestamptz, run_after), lease_until = NULL, worker = NULL,"
    " updated_at = $7 WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND worker = $3";

static int pg_job_finish(struct ad_store *st, const char *tenant_id, const char *id,
                         const char *worker, enum ad_job_status status, const char *error,
                         const char *run_after, const char *now, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { tenant_id, id, worker, ad_job_status_name(status), error, run_after,
                        now };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_finish, 7, p, &r, "finish job", err);
    int changed = !rc && strcmp(PQcmdTuples(r), "0");

    PQclear(r);
    if (changed && status == AD_JOB_QUEUED)
        return notify(s, tenant_id, err);
    if (rc || changed)
        return rc;
    return not_ours(s, tenant_id, id, worker, err);
}

static const char q_renew[] =
    "UPDATE jobs SET lease_until = $5, updated_at = $4"
    " WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND worker = $3";

static int pg_job_renew(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *worker, const char *now, const char *lease_until,
                        struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { tenant_id, id, worker, now, lease_until };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_renew, 5, p, &r, "renew job lease", err);
    int changed = !rc && strcmp(PQcmdTuples(r), "0");

    PQclear(r);
    if (rc || changed)
        return rc;
    return not_ours(s, tenant_id, id, worker, err);
}

/* Newest first down ix_jobs_tenant (tenant_id, id); the filters are checked on the way. */
static const char q_list[] =
    "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = $1"
    " AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)"
    " AND ($5::text IS NULL OR id < $5) ORDER BY id DESC LIMIT $4";

static int pg_job_list(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                       const char *before_id, int limit, struct ad_job **out, size_t *n,
                       struct ad_err *err)
{
    char b[24];
    const char *p[] = {
        tenant_id, status >= 0 ? ad_job_status_name((enum ad_job_status)status) : NULL, kind,
        ad__pg_i64_text(limit, b), before_id,
    };
    PGresult *r = NULL;
    struct ad_job *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_list, 5, p, &r, "list jobs",
                                      err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing jobs");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_job(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_job_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static const char q_counts[] =
    "SELECT status, count(*) FROM jobs WHERE tenant_id = $1 GROUP BY status";

static int pg_job_counts(struct ad_store *st, const char *tenant_id, int64_t *counts,
                         struct ad_err *err)
{
    PGresult *r = NULL;
    int i, rc = ad__pg_run(ad__pg(st), tenant_id, q_counts, 1, &tenant_id, &r, "count jobs",
                           err);

    for (i = 0; !rc && i < PQntuples(r); i++) {
        int s = ad__enum_parse(&ad__job_status_enum, ad__pg_text(r, i, 0));

        if (s >= 0 && s < AD_JOB_STATUS_COUNT)
            counts[s] = ad__pg_i64(r, i, 1);
    }
    PQclear(r);
    return rc;
}

static const char q_hand_back[] =
    "UPDATE jobs SET status = 'queued', run_after = $4, lease_until = NULL, worker = NULL,"
    " last_error = $3, updated_at = $4"
    " WHERE tenant_id = $1 AND status = 'running' AND worker = $2";

static int pg_job_hand_back(struct ad_store *st, const char *tenant_id, const char *worker,
                            const char *note, const char *now, int64_t *count,
                            struct ad_err *err)
{
    const char *p[] = { tenant_id, worker, note, now };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_hand_back, 4, p, &r, "hand jobs back", err);

    if (!rc)
        *count = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (!rc && *count > 0)
        rc = notify(ad__pg(st), tenant_id, err);
    return rc;
}

/* Drains the notifications libpq has read; 1 when there was one. */
static int drain(PGconn *c)
{
    PGnotify *n;
    int got = 0;

    while ((n = PQnotifies(c)) != NULL) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

static int pg_job_wait(struct ad_store *st, int timeout_ms, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    struct pollfd pfd;
    int rc;

    if (s->depth > 0)
        return ad_error(err, AD_ESTATE, "cannot wait for jobs inside a transaction");
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
        return ad_error(err, AD_EIO, "no connection to PostgreSQL to wait on");
    if (!s->listening) {
        PGresult *r = PQexec(s->conn, "LISTEN autodev_jobs");
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

        PQclear(r);
        if (!ok)
            return ad_error(err, AD_EIO, "LISTEN autodev_jobs: %s", PQerrorMessage(s->conn));
        s->listening = 1;
    }
    /* What arrived with earlier results first: those are already read. */
    if (!PQconsumeInput(s->conn))
        return ad_error(err, AD_EIO, "waiting for jobs: %s", PQerrorMessage(s->conn));
    if (drain(s->conn))
        return 1;
    pfd.fd = PQsocket(s->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0)
        return ad_error(err, AD_EIO, "no socket to wait for jobs on");
    rc = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (rc < 0 && errno != EINTR)
        return ad_error(err, AD_EIO, "waiting for jobs: %s", strerror(errno));
    if (rc <= 0)
        return 0;
    if (!PQconsumeInput(s->conn))
        return ad_error(err, AD_EIO, "waiting for jobs: %s", PQerrorMessage(s->conn));
    return drain(s->conn);
}

const struct ad__job_ops ad__pg_job_ops = {
    .insert = pg_job_insert,
    .get = pg_job_get,
    .status = pg_job_status,
    .claim = pg_job_claim,
    .finish = pg_job_finish,
    .renew = pg_job_renew,
    .list = pg_job_list,
    .counts = pg_job_counts,
    .hand_back = pg_job_hand_back,
    .wait = pg_job_wait,
};
