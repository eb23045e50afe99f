#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "tmpdb.h"

/* Included for struct ad_jobs, so the tests can put a fake clock in it. */
#include "jobs/jobs.c"

/* ---- fixtures -------------------------------------------------------- */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    char tenant[AD_ID_SIZE];
    struct ad_jobs *q;
};

/* The fake clock every queue of these tests reads. */
static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

static struct ad_jobs *queue_new(struct fx *fx, const struct ad_jobs_options *o)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs *q = NULL;

    assert_int_equal(ad_jobs_new(fx->st, fx->tenant, o, &q, &err), 0);
    q->now_ms = fake_clock;
    return q;
}

static int fx_setup(void **state)
{
    struct ad_store_options opts = { .flags = AD_STORE_CREATE };
    struct ad_jobs_options jo = { .worker = "test-worker", .backoff_base_ms = 1000,
                                  .backoff_max_ms = 60000, .max_attempts = 3 };
    struct ad_err err = AD_ERR_INIT;
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    tmpdb_make(&fx->db, "jobs");
    assert_int_equal(ad_store_open(fx->db.path, &opts, &fx->st, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(fx->st, "acme", fx->tenant, &err), 0);
    fake_now = ad_now_ms();
    fx->q = queue_new(fx, &jo);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;

    ad_jobs_free(fx->q);
    ad_store_free(fx->st);
    tmpdb_remove(&fx->db);
    free(fx);
    return 0;
}

static void job_load(struct fx *fx, const char *id, struct ad_job *j)
{
    struct ad_err err = AD_ERR_INIT;

    memset(j, 0, sizeof(*j));
    assert_int_equal(ad_store_job_get(fx->st, fx->tenant, id, j, &err), 0);
}

static void enqueue(struct fx *fx, const char *kind, const json_t *payload, int64_t delay,
                    char id[AD_ID_SIZE])
{
    struct ad_err err = AD_ERR_INIT;
    int created = -1;

    assert_int_equal(ad_jobs_enqueue(fx->q, kind, payload, NULL, delay, id, &created, &err), 0);
    assert_int_equal(created, 1);
    assert_true(ad_id_valid(id));
}

static int64_t iso_ms(const char *iso)
{
    int64_t ms = 0;

    assert_int_equal(ad_time_parse(iso, &ms), 0);
    return ms;
}

/* ---- handlers --------------------------------------------------------- */

/* Counts calls; returns rc (with message msg) for every call. */
struct behaviour {
    int rc;
    const char *msg;
    int calls;
    json_t *last_payload;
    int last_attempts;
};

static int h_behave(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                    struct ad_err *err)
{
    struct behaviour *b = ctx;

    (void)lease;

    b->calls++;
    b->last_attempts = job->attempts;
    json_decref(b->last_payload);
    b->last_payload = json_deep_copy(job->payload);
    if (b->rc == 0)
        return 0;
    return b->msg ? ad_error(err, b->rc, "%s", b->msg) : b->rc;
}

/* ---- tests -------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct fx *fx = *state;
    struct ad_jobs *q = queue_new(fx, NULL), *q2;
    char pid[32];

    assert_int_equal(q->lease_ms, 5 * 60 * 1000);
    assert_int_equal(q->backoff_base_ms, 1000);
    assert_int_equal(q->backoff_max_ms, 60 * 60 * 1000);
    assert_int_equal(q->max_attempts, AD_JOBS_DEFAULT_MAX_ATTEMPTS);
    /* "<host>:<pid>:<n>": two queues of one process never share a worker name. */
    snprintf(pid, sizeof(pid), ":%ld:", (long)getpid());
    assert_non_null(strstr(q->worker, pid));
    q2 = queue_new(fx, NULL);
    assert_string_not_equal(q->worker, q2->worker);
    ad_jobs_free(q2);
    ad_jobs_free(q);
}

static void test_enqueue_rejects_bad_input(void **state)
{
    static const char *const bad_kinds[] = {
        "", "Memento", "a b", "a/b", "x\n",
        "01234567890123456789012345678901234567890123456789012345678901234",
    };
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    json_t *arr = json_array();
    char id[AD_ID_SIZE];
    struct ad_job *v = NULL;
    size_t n = 1;

    for (size_t i = 0; i < AD_ARRAY_SIZE(bad_kinds); i++) {
        if (ad_jobs_enqueue(fx->q, bad_kinds[i], NULL, NULL, 0, id, NULL, &err) != AD_EINVAL)
            fail_msg("kind '%s' was accepted", bad_kinds[i]);
    }
    assert_int_equal(ad_jobs_enqueue(fx->q, NULL, NULL, NULL, 0, id, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_jobs_enqueue(fx->q, "ok", arr, NULL, 0, id, NULL, &err), AD_EINVAL);
    assert_string_equal(err.msg, "payload of job 'ok' must be an object");
    assert_int_equal(ad_jobs_enqueue(fx->q, "ok", NULL, NULL, -1, id, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_jobs_enqueue(fx->q, "ok", NULL, "", 0, id, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_jobs_register(fx->q, "Bad", h_behave, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_jobs_register(fx->q, "ok", NULL, NULL, &err), AD_EINVAL);
    /* The longest valid kind is fine. */
    assert_int_equal(ad_jobs_enqueue(fx->q,
                                     "0123456789012345678901234567890123456789012345678901234567890123",
                                     NULL, NULL, 0, id, NULL, &err), 0);
    assert_int_equal(ad_store_job_list(fx->st, fx->tenant, -1, NULL, 10, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_job_list_free(v, n);
    json_decref(arr);
}

static void test_enqueue_run_done(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour b = { 0 };
    json_t *p = json_pack("{s:s}", "skill", "parse");
    struct ad_job j;
    char id[AD_ID_SIZE];
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "memento.generate", h_behave, &b, &err), 0);
    enqueue(fx, "memento.generate", p, 0, id);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_QUEUED);
    assert_int_equal(j.attempts, 0);
    assert_int_equal(j.max_attempts, 3);
    assert_int_equal(iso_ms(j.run_after), fake_now);
    ad_job_release(&j);

    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.last_attempts, 1);
    assert_true(json_equal(b.last_payload, p));
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_DONE);
    assert_int_equal(j.attempts, 1);
    ad_job_release(&j);

    /* Nothing left. */
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 0);
    assert_int_equal(ad_jobs_run_one(fx->q, "memento.generate", &ran, &err), 0);
    assert_int_equal(ran, 0);
    assert_int_equal(b.calls, 1);
    json_decref(b.last_payload);
    json_decref(p);
}

static void test_null_payload_is_empty_object(void **state)
{
    struct fx *fx = *state;
    struct ad_job j;
    char id[AD_ID_SIZE];

    enqueue(fx, "k", NULL, 0, id);
    job_load(fx, id, &j);
    assert_true(json_is_object(j.payload));
    assert_int_equal(json_object_size(j.payload), 0);
    ad_job_release(&j);
}

static void test_idempotency_key(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    char id1[AD_ID_SIZE], id2[AD_ID_SIZE], id3[AD_ID_SIZE];
    struct ad_job *v = NULL;
    size_t n = 0;
    int created = -1;

    assert_int_equal(ad_jobs_enqueue(fx->q, "alpha.mutate", NULL, "skill-1:2024-01-01", 0, id1,
                                     &created, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(ad_jobs_enqueue(fx->q, "alpha.mutate", NULL, "skill-1:2024-01-01", 5000,
                                     id2, &created, &err), 0);
    assert_int_equal(created, 0);
    assert_string_equal(id1, id2);
    assert_int_equal(err.code, 0);
    assert_int_equal(ad_jobs_enqueue(fx->q, "alpha.mutate", NULL, "skill-2:2024-01-01", 0, id3,
                                     &created, &err), 0);
    assert_int_equal(created, 1);
    assert_string_not_equal(id1, id3);
    assert_int_equal(ad_store_job_list(fx->st, fx->tenant, -1, NULL, 10, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    ad_job_list_free(v, n);
}

static void test_run_after_in_future(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour b = { 0 };
    char id[AD_ID_SIZE];
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "later", h_behave, &b, &err), 0);
    enqueue(fx, "later", NULL, 60000, id);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 0);
    fake_now += 59999;
    assert_int_equal(ad_jobs_run_one(fx->q, "later", &ran, &err), 0);
    assert_int_equal(ran, 0);
    fake_now += 1;
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    assert_int_equal(b.calls, 1);
    json_decref(b.last_payload);
}

static void test_lease_expiry(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job a = { 0 }, b = { 0 }, none = { 0 }, j;
    char id[AD_ID_SIZE];

    enqueue(fx, "slow", NULL, 0, id);
    assert_int_equal(ad_store_job_claim(fx->st, fx->tenant, NULL, "w1", fake_now, 1000, &a,
                                        &err), 0);
    assert_string_equal(a.id, id);
    assert_int_equal(a.attempts, 1);
    /* Held while the lease runs. */
    assert_int_equal(ad_store_job_claim(fx->st, fx->tenant, NULL, "w2", fake_now + 999, 1000,
                                        &none, &err), AD_ENOTFOUND);
    ad_job_release(&none);
    /* Claimable again once it ran out. */
    assert_int_equal(ad_store_job_claim(fx->st, fx->tenant, NULL, "w2", fake_now + 1001, 1000,
                                        &b, &err), 0);
    assert_string_equal(b.id, id);
    assert_int_equal(b.attempts, 2);
    assert_string_equal(b.worker, "w2");
    /* The first worker's result no longer counts. */
    assert_int_equal(ad_store_job_finish(fx->st, fx->tenant, id, "w1", AD_JOB_DONE, NULL, NULL,
                                         &err), AD_ESTATE);
    assert_int_equal(ad_store_job_finish(fx->st, fx->tenant, id, "w2", AD_JOB_DONE, NULL, NULL,
                                         &err), 0);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_DONE);
    ad_job_release(&j);
    ad_job_release(&a);
    ad_job_release(&b);
}

/* A handler so slow that its lease runs out and another worker takes the job. */
static int h_lose_lease(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                        struct ad_err *err)
{
    struct fx *fx = ctx;
    struct ad_job stolen = { 0 };
    int rc = ad_store_job_claim(fx->st, fx->tenant, job->kind, "thief",
                                fake_now + fx->q->lease_ms + 1, 1000, &stolen, err);

    ad_job_release(&stolen);
    (void)lease;
    return rc;
}

static void test_lost_lease_is_not_an_error(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j;
    char id[AD_ID_SIZE];
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "slow", h_lose_lease, fx, &err), 0);
    enqueue(fx, "slow", NULL, 0, id);
    ad_log_set_level(AD_LOG_ERROR);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    ad_log_set_level(AD_LOG_WARN);
    assert_int_equal(ran, 1);
    assert_int_equal(err.code, 0);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_RUNNING);
    assert_string_equal(j.worker, "thief");
    ad_job_release(&j);
}

/* ---- leases: the heartbeat and "still mine" ------------------------------ */

/* A second worker on its own store handle, sharing the fake clock. */
struct rival {
    struct ad_store *st;
    struct ad_jobs *q;
    struct behaviour b;
};

static void rival_open(struct fx *fx, struct rival *r, const char *kind)
{
    struct ad_jobs_options o = { .worker = "rival", .now_ms = fake_clock };
    struct ad_store_options so = { 0 };
    struct ad_err err = AD_ERR_INIT;

    memset(r, 0, sizeof(*r));
    assert_int_equal(ad_store_open(fx->db.path, &so, &r->st, &err), 0);
    assert_int_equal(ad_jobs_new(r->st, fx->tenant, &o, &r->q, &err), 0);
    assert_int_equal(ad_jobs_register(r->q, kind, h_behave, &r->b, &err), 0);
}

static void rival_close(struct rival *r)
{
    json_decref(r->b.last_payload);
    ad_jobs_free(r->q);
    ad_store_free(r->st);
}

/* What a long handler saw of its lease. */
struct long_work {
    struct fx *fx;
    struct rival *rival;
    int rival_ran;          /* did the rival claim the job in the middle? */
    int64_t left_at_start, left_after_beat;
    int beat_rc, hold_rc;
    int wrote;              /* the "result" committed */
};

/*
 * Works for most of its lease, renews it, works on past where the first
 * lease would have ended; the rival tries to claim the job then.
 */
static int h_long_with_heartbeat(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                                 struct ad_err *err)
{
    struct long_work *w = ctx;
    int64_t lease_ms = w->fx->q->lease_ms;

    (void)job;
    w->left_at_start = ad_job_lease_left_ms(lease);
    fake_now += lease_ms - 10;
    w->beat_rc = ad_jobs_heartbeat(lease, err);
    w->left_after_beat = ad_job_lease_left_ms(lease);
    fake_now += 20;   /* past the first lease, inside the renewed one */
    assert_int_equal(ad_jobs_run_one(w->rival->q, NULL, &w->rival_ran, err), 0);
    return w->beat_rc;
}

static void test_heartbeat_keeps_the_job(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct rival r;
    struct long_work w = { fx, &r, -1, 0, 0, -1, -1, 0 };
    struct ad_job j;
    char id[AD_ID_SIZE];
    int ran = -1;

    rival_open(fx, &r, "long");
    assert_int_equal(ad_jobs_register(fx->q, "long", h_long_with_heartbeat, &w, &err), 0);
    enqueue(fx, "long", NULL, 0, id);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    assert_int_equal(w.beat_rc, 0);
    assert_int_equal(w.left_at_start, fx->q->lease_ms);
    assert_int_equal(w.left_after_beat, fx->q->lease_ms);
    /* The renewed lease held: the rival found nothing to claim and ran nothing. */
    assert_int_equal(w.rival_ran, 0);
    assert_int_equal(r.b.calls, 0);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_DONE);
    assert_int_equal(j.attempts, 1);
    ad_job_release(&j);
    rival_close(&r);
}

/*
 * Never renews: the rival claims the job past the lease and finishes it.
 * Then the handler's heartbeat and its "still mine" check both say it is
 * not its job any more, and its result, checked in its transaction, is
 * rolled back.
 */
static int h_long_without_heartbeat(void *ctx, const struct ad_job *job,
                                    struct ad_job_lease *lease, struct ad_err *err)
{
    struct long_work *w = ctx;
    struct ad_store *st = w->fx->st;

    (void)job;
    fake_now += w->fx->q->lease_ms + 1;
    assert_true(ad_job_lease_left_ms(lease) < 0);
    assert_int_equal(ad_jobs_run_one(w->rival->q, NULL, &w->rival_ran, err), 0);
    w->beat_rc = ad_jobs_heartbeat(lease, err);
    assert_int_equal(ad_store_begin(st, err), 0);
    w->hold_rc = ad_jobs_lease_hold(lease, st, err);
    if (w->hold_rc == 0) {
        w->wrote = 1;
        assert_int_equal(ad_store_commit(st, err), 0);
        return 0;
    }
    ad_store_rollback(st);
    return w->hold_rc;
}

static void test_lost_lease_writes_nothing(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct rival r;
    struct long_work w = { fx, &r, -1, 0, 0, -1, -1, 0 };
    struct ad_job j;
    char id[AD_ID_SIZE];
    int ran = -1;

    rival_open(fx, &r, "long");
    assert_int_equal(ad_jobs_register(fx->q, "long", h_long_without_heartbeat, &w, &err), 0);
    enqueue(fx, "long", NULL, 0, id);
    ad_log_set_level(AD_LOG_ERROR);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    ad_log_set_level(AD_LOG_WARN);
    assert_int_equal(ran, 1);
    assert_int_equal(w.rival_ran, 1);
    assert_int_equal(r.b.calls, 1);
    assert_int_equal(w.beat_rc, AD_ESTATE);
    assert_int_equal(w.hold_rc, AD_ESTATE);
    assert_int_equal(w.wrote, 0);
    assert_int_equal(ad_store_tx_depth(fx->st), 0);
    /* The rival's outcome stands; the loser's return code changed nothing. */
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_DONE);
    assert_int_equal(j.attempts, 2);
    assert_null(j.last_error);
    ad_job_release(&j);
    rival_close(&r);
}

/* Outside a queue there is no lease: it never runs out and every check passes. */
static void test_no_lease(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;

    assert_true(ad_job_lease_left_ms(NULL) == INT64_MAX);
    assert_int_equal(ad_jobs_heartbeat(NULL, &err), 0);
    assert_int_equal(ad_jobs_lease_hold(NULL, fx->st, &err), 0);
    assert_int_equal(ad_jobs_lease_hold(NULL, NULL, &err), 0);
}

/* A kind's own number of attempts, whoever enqueues it through the queue. */
static void test_kind_max_attempts(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour b = { 0 };
    struct ad_job j;
    char id[AD_ID_SIZE];

    assert_int_equal(ad_jobs_set_max_attempts(fx->q, "fussy", 2, &err), AD_EINVAL);
    assert_int_equal(ad_jobs_register(fx->q, "fussy", h_behave, &b, &err), 0);
    assert_int_equal(ad_jobs_register(fx->q, "plain", h_behave, &b, &err), 0);
    assert_int_equal(ad_jobs_set_max_attempts(fx->q, "fussy", -1, &err), AD_EINVAL);
    assert_int_equal(ad_jobs_set_max_attempts(fx->q, "fussy", 2, &err), 0);
    enqueue(fx, "fussy", NULL, 0, id);
    job_load(fx, id, &j);
    assert_int_equal(j.max_attempts, 2);
    ad_job_release(&j);
    enqueue(fx, "plain", NULL, 0, id);
    job_load(fx, id, &j);
    assert_int_equal(j.max_attempts, fx->q->max_attempts);
    ad_job_release(&j);
}

static void test_retry_with_backoff(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour b = { .rc = AD_EIO, .msg = "upstream 503" };
    struct ad_job j;
    char id[AD_ID_SIZE];
    int64_t due;
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "flaky", h_behave, &b, &err), 0);
    enqueue(fx, "flaky", NULL, 0, id);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_QUEUED);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.last_error, "upstream 503");
    due = iso_ms(j.run_after);
    /* First retry: base 1000 ms, equal jitter -> [500, 1000]. */
    assert_true(due >= fake_now + 500);
    assert_true(due <= fake_now + 1000);
    ad_job_release(&j);

    fake_now = due - 1;
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 0);
    fake_now = due;
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_QUEUED);
    assert_int_equal(j.attempts, 2);
    /* Second retry: [1000, 2000]. */
    assert_true(iso_ms(j.run_after) >= fake_now + 1000);
    assert_true(iso_ms(j.run_after) <= fake_now + 2000);
    ad_job_release(&j);

    /* A handler failing without a message records the code's text. */
    b.msg = NULL;
    fake_now += 2000;
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    job_load(fx, id, &j);
    assert_string_equal(j.last_error, ad_strerror(AD_EIO));
    ad_job_release(&j);
    json_decref(b.last_payload);
}

static void test_dead_letter_after_max_attempts(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs_options o = { .worker = "w", .max_attempts = 2 };
    struct behaviour b = { .rc = AD_ETIMEOUT, .msg = "took too long" };
    struct ad_jobs *q = queue_new(fx, &o);
    struct ad_job j;
    char id[AD_ID_SIZE];
    int ran = -1, count = -1;

    assert_int_equal(ad_jobs_register(q, "doomed", h_behave, &b, &err), 0);
    assert_int_equal(ad_jobs_enqueue(q, "doomed", NULL, NULL, 0, id, NULL, &err), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ad_jobs_run_one(q, NULL, &ran, &err), 0);
        assert_int_equal(ran, 1);
        fake_now += 60 * 60 * 1000;
    }
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_DEAD);
    assert_int_equal(j.attempts, 2);
    assert_string_equal(j.last_error, "took too long");
    ad_job_release(&j);
    assert_int_equal(ad_jobs_run_until_idle(q, NULL, 0, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(b.calls, 2);
    ad_jobs_free(q);
    json_decref(b.last_payload);
}

static void test_permanent_failure(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour b = { .rc = AD_JOB_PERMANENT, .msg = "skill was deleted" };
    struct ad_job j;
    char id[AD_ID_SIZE];
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "once", h_behave, &b, &err), 0);
    enqueue(fx, "once", NULL, 0, id);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    job_load(fx, id, &j);
    assert_int_equal(j.status, AD_JOB_FAILED);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.last_error, "skill was deleted");
    ad_job_release(&j);
    fake_now += 24 * 60 * 60 * 1000;
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 0);
    json_decref(b.last_payload);
}

static void test_unregistered_kind(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour b = { 0 };
    struct ad_job j;
    char orphan[AD_ID_SIZE], mine[AD_ID_SIZE];
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "mine", h_behave, &b, &err), 0);
    enqueue(fx, "orphan", NULL, 0, orphan);
    enqueue(fx, "mine", NULL, 0, mine);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 1);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(ran, 0);
    job_load(fx, orphan, &j);
    assert_int_equal(j.status, AD_JOB_QUEUED);
    ad_job_release(&j);

    /* Asked for by kind, a job nobody can run fails for good. */
    assert_int_equal(ad_jobs_run_one(fx->q, "orphan", &ran, &err), 0);
    assert_int_equal(ran, 1);
    job_load(fx, orphan, &j);
    assert_int_equal(j.status, AD_JOB_FAILED);
    assert_string_equal(j.last_error, "no handler for job kind 'orphan'");
    ad_job_release(&j);
    json_decref(b.last_payload);
}

static void test_register_replaces(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour first = { 0 }, second = { 0 };
    char id[AD_ID_SIZE];
    int ran = -1;

    assert_int_equal(ad_jobs_register(fx->q, "k", h_behave, &first, &err), 0);
    assert_int_equal(ad_jobs_register(fx->q, "k", h_behave, &second, &err), 0);
    assert_int_equal(fx->q->nhandlers, 1);
    enqueue(fx, "k", NULL, 0, id);
    assert_int_equal(ad_jobs_run_one(fx->q, NULL, &ran, &err), 0);
    assert_int_equal(first.calls, 0);
    assert_int_equal(second.calls, 1);
    json_decref(second.last_payload);
}

static void test_backoff_bounds(void **state)
{
    static const struct {
        int attempt;
        int64_t lo, hi;
    } cases[] = {
        { 0, 500, 1000 },       /* below 1 counts as 1 */
        { 1, 500, 1000 },
        { 2, 1000, 2000 },
        { 3, 2000, 4000 },
        { 4, 4000, 8000 },
        { 5, 5000, 10000 },     /* capped at 10 s */
        { 6, 5000, 10000 },
        { 62, 5000, 10000 },
        { 1000, 5000, 10000 },  /* no overflow */
    };
    struct fx *fx = *state;
    struct ad_jobs_options o = { .backoff_base_ms = 1000, .backoff_max_ms = 10000 };
    struct ad_jobs *q = queue_new(fx, &o);

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        int64_t min = INT64_MAX, max = INT64_MIN;

        for (int k = 0; k < 500; k++) {
            int64_t d = ad_jobs_backoff_ms(q, cases[i].attempt);

            min = d < min ? d : min;
            max = d > max ? d : max;
        }
        if (min < cases[i].lo || max > cases[i].hi)
            fail_msg("attempt %d: [%" PRId64 ", %" PRId64 "] outside [%" PRId64 ", %" PRId64 "]",
                     cases[i].attempt, min, max, cases[i].lo, cases[i].hi);
        /* Jittered: 500 draws from >= 501 values are not all one value. */
        if (min == max)
            fail_msg("attempt %d: no jitter", cases[i].attempt);
    }
    ad_jobs_free(q);
}

static void test_backoff_cap_below_base(void **state)
{
    struct fx *fx = *state;
    struct ad_jobs_options o = { .backoff_base_ms = 4000, .backoff_max_ms = 100 };
    struct ad_jobs *q = queue_new(fx, &o);

    for (int k = 0; k < 100; k++) {
        int64_t d = ad_jobs_backoff_ms(q, 1 + k % 5);

        assert_true(d >= 2000 && d <= 4000);
    }
    ad_jobs_free(q);
}

static void test_run_until_idle(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct behaviour a = { 0 }, b = { 0 };
    char id[AD_ID_SIZE];
    int count = -1;

    assert_int_equal(ad_jobs_register(fx->q, "a", h_behave, &a, &err), 0);
    assert_int_equal(ad_jobs_register(fx->q, "b", h_behave, &b, &err), 0);
    for (int i = 0; i < 5; i++)
        enqueue(fx, "a", NULL, 0, id);
    for (int i = 0; i < 3; i++)
        enqueue(fx, "b", NULL, 0, id);
    enqueue(fx, "c", NULL, 0, id);

    assert_int_equal(ad_jobs_run_until_idle(fx->q, NULL, 2, &count, &err), 0);
    assert_int_equal(count, 2);
    /* Round robin: one of each kind first. */
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(ad_jobs_run_until_idle(fx->q, "b", 0, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(ad_jobs_run_until_idle(fx->q, NULL, 0, &count, &err), 0);
    assert_int_equal(count, 4);
    assert_int_equal(a.calls, 5);
    assert_int_equal(b.calls, 3);
    assert_int_equal(ad_jobs_run_until_idle(fx->q, NULL, 0, NULL, &err), 0);
    json_decref(a.last_payload);
    json_decref(b.last_payload);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_enqueue_rejects_bad_input),
        T(test_enqueue_run_done),
        T(test_null_payload_is_empty_object),
        T(test_idempotency_key),
        T(test_run_after_in_future),
        T(test_lease_expiry),
        T(test_lost_lease_is_not_an_error),
        T(test_heartbeat_keeps_the_job),
        T(test_lost_lease_writes_nothing),
        T(test_no_lease),
        T(test_kind_max_attempts),
        T(test_retry_with_backoff),
        T(test_dead_letter_after_max_attempts),
        T(test_permanent_failure),
        T(test_unregistered_kind),
        T(test_register_replaces),
        T(test_backoff_bounds),
        T(test_backoff_cap_below_base),
        T(test_run_until_idle),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
