/*
 * Jobs (the queue's rows) in SQLite: insert with an idempotency key, get,
 * the atomic claim, finish, renewing a lease, list.
 */
#include "compat.h"

#include "sqlite/sqlite.h"
#include "sqlite/sqlite_int.h"

/* worker and last_error start NULL whatever the caller's struct holds. */
#define T struct ad_job
static const struct sq_col job_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, kind, SQ_TEXT, 0),
    SQ_JSONCOL(T, payload, 0, 0),
    SQ_ENUMCOL("status", T, status, &ad__job_status_enum, 0),
    SQ_COL(T, attempts, SQ_INT, 0),
    SQ_COL(T, max_attempts, SQ_INT, 0),
    SQ_COL(T, idempotency_key, SQ_TEXT, 0),
    SQ_COL(T, run_after, SQ_FIXED, 0),
    SQ_COL(T, lease_until, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, worker, SQ_TEXT, SQ_NOINSERT),
    SQ_COL(T, last_error, SQ_TEXT, SQ_NOINSERT),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table job_table = SQ_TABLE("job", struct ad_job, job_cols);

static const struct sq_stmt job_insert = {
    &job_table, "INSERT INTO jobs ({icols}) VALUES ({params})",
};
static const struct sq_stmt job_by_key = {
    &job_table, "SELECT {cols} FROM jobs WHERE tenant_id = ?1 AND idempotency_key = ?2",
};
static const struct sq_stmt job_get = {
    &job_table, "SELECT {cols} FROM jobs WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt job_list = {
    &job_table, "SELECT {cols} FROM jobs WHERE tenant_id = ?1"
                " AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR kind = ?3)"
                " AND id < ?5 ORDER BY id DESC LIMIT ?4",
};

/*
 * One statement picks and takes the job, so two workers can never claim the
 * same one: both run under the write lock, one after the other, and the
 * second no longer sees the first's job as claimable. The two kinds of
 * claimable job (queued and due; running with an expired lease) are two
 * ranges of ix_jobs_claim merged in (run_after, id) order, so a claim reads
 * a few index entries however many finished jobs the table holds.
 */
#define CLAIM_SQL(kind_clause) \
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = ?3," \
    " lease_until = ?5, updated_at = ?4" \
    " WHERE id = (SELECT id FROM (" \
    "SELECT id, run_after FROM jobs WHERE tenant_id = ?1" kind_clause \
    " AND status = 'queued' AND run_after <= ?4" \
    " UNION ALL SELECT id, run_after FROM jobs WHERE tenant_id = ?1" kind_clause \
    " AND status = 'running' AND lease_until < ?4" \
    " ORDER BY run_after, id LIMIT 1))" \
    " RETURNING {cols}"

static const struct sq_stmt job_claim = { &job_table, CLAIM_SQL("") };
static const struct sq_stmt job_claim_kind = { &job_table, CLAIM_SQL(" AND kind = ?2") };

/* Steps a statement expected to yield at most one job row, and puts it back. */
static int step_job(struct sqlite_store *s, struct stmt_slot *q, struct ad_job *out,
                    const char *what, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc == SQLITE_ROW) {
        rc = ad__sq_read_row(q->stmt, &job_table, out, err);
        /* RETURNING statements finish their write on the next step. */
        if (!rc && sqlite3_step(q->stmt) != SQLITE_DONE)
            rc = ad__sq_fail(s, sqlite3_errcode(s->db), what, err);
        if (rc)
            ad_job_release(out);
    } else if (rc == SQLITE_DONE) {
        rc = AD_ENOTFOUND;    /* the caller words the message */
    } else {
        rc = ad__sq_fail(s, rc, what, err);
    }
    ad__sq_put(q);
    return rc;
}

/*
 * The key is looked up before the insert rather than caught as a UNIQUE
 * violation: we hold the write lock, so nobody can take the key in between.
 */
static int sqlite_job_insert(struct ad_store *st, struct ad_job *j, const char *payload,
                             struct ad_err *err)
{
    const char *const json[] = { payload };
    struct sqlite_store *s = ad__sq(st);
    struct ad_job existing = { 0 };
    struct stmt_slot *q = NULL;
    int rc;

    if (j->idempotency_key) {
        rc = ad__sq_prepare(s, &job_by_key, &q, err);
        if (rc)
            return rc;
        sqlite3_bind_text(q->stmt, 1, j->tenant_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q->stmt, 2, j->idempotency_key, -1, SQLITE_STATIC);
        rc = step_job(s, q, &existing, "find job", err);
        if (rc == 0) {
            ad_error(err, AD_EEXIST, "a job with idempotency key '%s' already exists",
                     j->idempotency_key);
            ad_job_release(j);
            *j = existing;
            return AD_EEXIST;
        }
        if (rc != AD_ENOTFOUND)
            return rc;
    }
    rc = ad__sq_prepare(s, &job_insert, &q, err);
    if (!rc)
        rc = ad__sq_bind_row(s, q, j, json, err);
    if (!rc)
        return ad__sq_step_insert(s, q, j->tenant_id, "insert job", err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_job_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_job *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &job_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = step_job(s, q, out, "get job", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    return rc;
}

/* Hand-written: one column, read without the row's description (no payload decoded). */
static int sqlite_job_status(struct ad_store *st, const char *tenant_id, const char *id,
                             enum ad_job_status *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "SELECT status FROM jobs WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q->stmt, 0);

        rc = ad_job_status_parse(name, out) == 0
                 ? 0
                 : ad_error(err, AD_ECORRUPT, "job '%s' has an unknown status", id);
    } else if (rc == SQLITE_DONE) {
        rc = ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    } else {
        rc = ad__sq_fail(s, rc, "job status", err);
    }
    ad__sq_put(q);
    return rc;
}

static int sqlite_job_claim(struct ad_store *st, const char *tenant_id, const char *kind,
                            const char *worker, const char *now, const char *lease_until,
                            struct ad_job *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, kind ? &job_claim_kind : &job_claim, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (kind)
        sqlite3_bind_text(q->stmt, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 5, lease_until, -1, SQLITE_STATIC);
    rc = step_job(s, q, out, "claim job", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "no claimable job");
    return rc;
}

int ad__sqlite_explain_job_claim(struct ad_store *st, const char *kind, char **plan,
                                 struct ad_err *err)
{
    char *sql = ad__sq_expand(kind ? &job_claim_kind : &job_claim);
    int rc;

    *plan = NULL;
    if (!sql)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad__sq_explain(st, sql, plan, err);
    free(sql);
    return rc;
}

/* Hand-written: a state transition guarded by the worker, not a row written back. */
static int sqlite_job_finish(struct ad_store *st, const char *tenant_id, const char *id,
                             const char *worker, enum ad_job_status status, const char *error,
                             const char *run_after, const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "UPDATE jobs SET status = ?4, last_error = coalesce(?5, last_error),"
                           " run_after = coalesce(?6, run_after), lease_until = NULL,"
                           " worker = NULL, updated_at = ?7"
                           " WHERE tenant_id = ?1 AND id = ?2 AND status = 'running'"
                           " AND worker = ?3", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, ad_job_status_name(status), -1, SQLITE_STATIC);
    if (error)
        sqlite3_bind_text(q->stmt, 5, error, -1, SQLITE_STATIC);
    if (run_after)
        sqlite3_bind_text(q->stmt, 6, run_after, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 7, now, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "finish job", &changed, err);
    if (rc || changed)
        return rc;
    /* Nothing matched: say whether the job is gone or just not ours. */
    rc = ad__sq_exists(s, "SELECT 1 FROM jobs WHERE tenant_id = ?1 AND id = ?2", tenant_id, id,
                       err);
    if (rc == 1)
        return ad_error(err, AD_ESTATE, "job '%s' is not running under worker '%s'", id, worker);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    return rc;
}

/*
 * Hand-written, guarded like finish. The UPDATE takes SQLite's write lock,
 * held to the end of the caller's transaction: a claim by another worker
 * (itself an UPDATE) waits for it and then sees the renewed lease.
 */
static int sqlite_job_renew(struct ad_store *st, const char *tenant_id, const char *id,
                            const char *worker, const char *now, const char *lease_until,
                            struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "UPDATE jobs SET lease_until = ?5, updated_at = ?4"
                           " WHERE tenant_id = ?1 AND id = ?2 AND status = 'running'"
                           " AND worker = ?3", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 5, lease_until, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "renew job lease", &changed, err);
    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, "SELECT 1 FROM jobs WHERE tenant_id = ?1 AND id = ?2", tenant_id, id,
                       err);
    if (rc == 1)
        return ad_error(err, AD_ESTATE, "job '%s' is not running under worker '%s'", id, worker);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    return rc;
}

/*
 * Keyset paging is "id < ?5" always, so the tenant's id index serves it as
 * a range: without a key, ?5 is AD__SQ_ID_TOP, above every id.
 */
static int sqlite_job_list(struct ad_store *st, const char *tenant_id, int status,
                           const char *kind, const char *before_id, int limit,
                           struct ad_job **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_job *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &job_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (status >= 0)
        sqlite3_bind_text(q->stmt, 2, ad_job_status_name((enum ad_job_status)status), -1,
                          SQLITE_STATIC);
    if (kind)
        sqlite3_bind_text(q->stmt, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 4, limit);
    sqlite3_bind_text(q->stmt, 5, before_id ? before_id : AD__SQ_ID_TOP, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list jobs", err);
    if (rc) {
        ad_job_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* Down ix_jobs_claim (tenant_id, status, ...): one range per status. */
static int sqlite_job_counts(struct ad_store *st, const char *tenant_id, int64_t *counts,
                             struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "SELECT status, count(*) FROM jobs WHERE tenant_id = ?1"
                           " GROUP BY status", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q->stmt)) == SQLITE_ROW) {
        int i = ad__enum_parse(&ad__job_status_enum,
                               (const char *)sqlite3_column_text(q->stmt, 0));

        if (i >= 0 && i < AD_JOB_STATUS_COUNT)
            counts[i] = sqlite3_column_int64(q->stmt, 1);
    }
    rc = rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, "count jobs", err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_job_hand_back(struct ad_store *st, const char *tenant_id, const char *worker,
                                const char *note, const char *now, int64_t *count,
                                struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE jobs SET status = 'queued', run_after = ?4,"
                           " lease_until = NULL, worker = NULL, last_error = ?3, updated_at = ?4"
                           " WHERE tenant_id = ?1 AND status = 'running' AND worker = ?2",
                        &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, worker, -1, SQLITE_STATIC);
    if (note)
        sqlite3_bind_text(q->stmt, 3, note, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_DONE) {
        *count = sqlite3_changes(s->db);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, "hand jobs back", err);
    }
    ad__sq_put(q);
    return rc;
}

const struct ad__job_ops ad__sqlite_job_ops = {
    .insert = sqlite_job_insert,
    .get = sqlite_job_get,
    .status = sqlite_job_status,
    .claim = sqlite_job_claim,
    .finish = sqlite_job_finish,
    .renew = sqlite_job_renew,
    .list = sqlite_job_list,
    .counts = sqlite_job_counts,
    .hand_back = sqlite_job_hand_back,
};
