/*
 * The public store API: argument checks shared by every backend, ids and
 * timestamps, transaction nesting, then dispatch through st->ops.
 *
 * A write call outside any transaction runs in one of its own (BEGIN
 * IMMEDIATE ... COMMIT). Inside the caller's transaction it opens no
 * savepoint: every write call but the episode insert runs exactly one
 * writing statement, and SQLite undoes a failed statement by itself, so a
 * failed call leaves nothing behind and the caller's earlier work stays. A
 * savepoint per call would cost about a third of the ingest rate (SQLite
 * copies every page it touches into the sub-journal).
 *
 * The episode insert writes several rows. It checks everything it can
 * before its first write, so the failures a caller can expect (bad input,
 * unknown agent) leave nothing behind. A failure after its first write (an
 * I/O error, out of memory) marks the innermost level as broken: committing
 * it into an outer level carries the mark outwards, committing the outermost
 * level rolls it back and fails with AD_ESTATE, and rolling the level back
 * clears the mark. A half-written episode can therefore never be committed.
 * (The skill calls that write several rows, in skills.c, are rare enough to
 * afford a savepoint of their own instead.)
 *
 * Sections: open/close, transactions, tenants, agents, episodes, events, jobs.
 */
#include "compat.h"

#include "autodev/log.h"
#include "autodev/store.h"

#include "store_backend.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define WORKER_MAX 256            /* "<hostname>:<pid>" and the like */
#define IDEMPOTENCY_KEY_MAX 512
#define MAX_ATTEMPTS_MAX 10000

/* ---- argument checks ---------------------------------------------------- */

int ad__check_id(const char *what, const char *id, struct ad_err *err)
{
    if (!id || !ad_id_valid(id))
        return ad_error(err, AD_EINVAL, "invalid %s '%.64s'", what, id ? id : "");
    return 0;
}

static int check_name(const char *what, const char *name, struct ad_err *err)
{
    if (name && strlen(name) > AD_NAME_MAX)
        return ad_error(err, AD_ETOOBIG, "%s name longer than %d bytes", what, AD_NAME_MAX);
    if (!ad_name_valid(name))
        return ad_error(err, AD_EINVAL, "invalid %s name '%s'", what, name ? name : "");
    return 0;
}

/* 0 means the default page; more than AD_LIST_MAX is capped, as documented. */
int ad__resolve_limit(int limit, int *out, struct ad_err *err)
{
    if (limit < 0)
        return ad_error(err, AD_EINVAL, "invalid limit %d", limit);
    *out = limit == 0 ? AD_LIST_DEFAULT : limit > AD_LIST_MAX ? AD_LIST_MAX : limit;
    return 0;
}

/* Topics: 1..AD_TOPIC_MAX of [a-z0-9_.-], like bus.h. */
static int check_topic(const char *topic, struct ad_err *err)
{
    size_t i;

    if (!topic || !topic[0])
        return ad_error(err, AD_EINVAL, "missing topic");
    for (i = 0; topic[i]; i++) {
        char c = topic[i];
        if (i >= AD_TOPIC_MAX)
            return ad_error(err, AD_ETOOBIG, "topic longer than %d bytes", AD_TOPIC_MAX);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return ad_error(err, AD_EINVAL, "invalid topic '%s'", topic);
    }
    return 0;
}

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

int ad__new_id(char out[AD_ID_SIZE], struct ad_err *err)
{
    if (ad_id_new(out))
        return ad_error(err, AD_EIO, "cannot read the kernel's random source");
    return 0;
}

/* ---- open / close ------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

int ad_store_open(const char *uri, const struct ad_store_options *opts, struct ad_store **out,
                  struct ad_err *err)
{
    struct ad_store_options o = { 0 };
    struct ad_store *st = NULL;
    const char *target = uri;
    int rc;

    *out = NULL;
    if (opts)
        o = *opts;
    if (!uri || !uri[0])
        return ad_error(err, AD_EINVAL, "missing database path");
    if (o.busy_timeout_ms < 0)
        return ad_error(err, AD_EINVAL, "invalid busy timeout %d", o.busy_timeout_ms);
    if (o.busy_timeout_ms == 0)
        o.busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS;
    if (starts_with(uri, "postgres://") || starts_with(uri, "postgresql://") ||
        starts_with(uri, "pg:"))
        return ad_error(err, AD_ENOTSUP, "postgresql support is not built in");
    if (starts_with(uri, "sqlite:"))
        target = uri + strlen("sqlite:");
    if (!target[0])
        return ad_error(err, AD_EINVAL, "missing database path in '%s'", uri);
    rc = ad__store_sqlite_ops.open(target, &o, &st, err);
    if (rc)
        return rc;
    st->tx_depth = 0;
    st->tx_broken = 0;
    st->flags = o.flags;
    *out = st;
    return 0;
}

void ad_store_free(struct ad_store *st)
{
    if (!st)
        return;
    if (st->tx_depth > 0)
        AD_LOG(AD_LOG_WARN, "store closed inside a transaction; rolling back");
    while (st->tx_depth > 0)
        ad_store_rollback(st);
    st->ops->close(st);
}

const char *ad_store_backend(const struct ad_store *st)
{
    return st->ops->name;
}

int ad_store_schema_version(struct ad_store *st, int *current, int *latest, struct ad_err *err)
{
    return st->ops->schema_version(st, current, latest, err);
}

int ad_store_check(struct ad_store *st, struct ad_err *err)
{
    return st->ops->check(st, err);
}

/* ---- transactions ------------------------------------------------------- */

int ad_store_begin(struct ad_store *st, struct ad_err *err)
{
    int rc = st->ops->begin(st, st->tx_depth + 1, err);

    if (rc)
        return rc;
    st->tx_depth++;
    return 0;
}

/*
 * A commit that fails closes its level as a rollback, so the caller's
 * "if (rc) rollback; else return commit" pattern never leaves a level open.
 */
int ad_store_commit(struct ad_store *st, struct ad_err *err)
{
    int rc;

    if (st->tx_depth == 0)
        return ad_error(err, AD_ESTATE, "no transaction to commit");
    if (st->tx_broken == st->tx_depth && st->tx_depth == 1) {
        ad_store_rollback(st);
        return ad_error(err, AD_ESTATE,
                        "transaction rolled back: a write in it failed half-way");
    }
    rc = st->ops->commit(st, st->tx_depth, err);
    if (rc) {
        st->ops->rollback(st, st->tx_depth, NULL);
        if (st->tx_broken >= st->tx_depth)
            st->tx_broken = 0;
    } else if (st->tx_broken == st->tx_depth) {
        st->tx_broken--;    /* the partial write now belongs to the outer level */
    }
    st->tx_depth--;
    return rc;
}

void ad_store_rollback(struct ad_store *st)
{
    struct ad_err e = AD_ERR_INIT;

    if (!st || st->tx_depth == 0) {
        AD_LOG(AD_LOG_WARN, "rollback outside any transaction ignored");
        return;
    }
    if (st->ops->rollback(st, st->tx_depth, &e))
        AD_LOG(AD_LOG_ERROR, "rollback at depth %d failed: %s", st->tx_depth, e.msg);
    if (st->tx_broken >= st->tx_depth)
        st->tx_broken = 0;
    st->tx_depth--;
}

int ad_store_tx_depth(const struct ad_store *st)
{
    return st->tx_depth;
}

/*
 * Starts a write call: opens a transaction when the caller has none (*own
 * is then 1 and write_end closes it). See the comment at the top.
 */
int ad__write_begin(struct ad_store *st, int *own, struct ad_err *err)
{
    int rc;

    *own = 0;
    if (st->flags & AD_STORE_READONLY)
        return ad_error(err, AD_EPERM, "the store is open read-only");
    if (st->tx_depth > 0)
        return 0;
    rc = ad_store_begin(st, err);
    if (!rc)
        *own = 1;
    return rc;
}

/* Ends it: commit or rollback of the call's own transaction, if it opened one. */
int ad__write_end(struct ad_store *st, int own, int rc, struct ad_err *err)
{
    if (!own)
        return rc;
    if (rc) {
        ad_store_rollback(st);
        return rc;
    }
    return ad_store_commit(st, err);
}

/* ---- tenants ------------------------------------------------------------ */

int ad_store_tenant_ensure(struct ad_store *st, const char *name, char id_out[AD_ID_SIZE],
                           struct ad_err *err)
{
    struct ad_tenant t = { 0 };
    struct ad_err e = AD_ERR_INIT;
    int rc, own;

    rc = check_name("tenant", name, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->tenant_find(st, name, &t, &e);
    if (rc == AD_ENOTFOUND) {
        rc = ad__new_id(t.id, err);
        ad_time_now(t.created_at);
        t.name = (char *)name;    /* borrowed for the insert; not released below */
        if (!rc)
            rc = st->ops->tenant_insert(st, &t, "{}", err);
        t.name = NULL;
    } else if (rc) {
        ad_error(err, rc, "%s", e.msg);
    }
    if (!rc)
        ad__copy_fixed(id_out, AD_ID_SIZE, t.id);
    ad_tenant_release(&t);
    return ad__write_end(st, own, rc, err);
}

int ad_store_tenant_get(struct ad_store *st, const char *name, struct ad_tenant *out,
                        struct ad_err *err)
{
    int rc = check_name("tenant", name, err);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->tenant_find(st, name, out, err);
}

/* ---- agents ------------------------------------------------------------- */

int ad_store_agent_insert(struct ad_store *st, struct ad_agent *a, struct ad_err *err)
{
    int rc, own;

    rc = ad__check_id("tenant id", a->tenant_id, err);
    if (!rc)
        rc = check_name("agent", a->name, err);
    if (rc)
        return rc;
    if (!ad_maturity_name(a->maturity))
        return ad_error(err, AD_EINVAL, "invalid maturity %d", (int)a->maturity);
    rc = ad__new_id(a->id, err);
    if (rc)
        return rc;
    a->episode_count = a->success_count = a->failure_count = 0;
    ad_time_now(a->created_at);
    memcpy(a->updated_at, a->created_at, AD_TIME_SIZE);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->agent_insert(st, a, err), err);
    if (rc)
        a->id[0] = '\0';
    return rc;
}

int ad_store_agent_get(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_agent *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("agent id", id, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->agent_get(st, tenant_id, id, NULL, out, err);
}

int ad_store_agent_get_by_name(struct ad_store *st, const char *tenant_id, const char *name,
                               struct ad_agent *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = check_name("agent", name, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->agent_get(st, tenant_id, NULL, name, out, err);
}

int ad_store_agent_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                        int limit, struct ad_agent **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && after_name)
        rc = ad__check_text("after_name", after_name, AD_NAME_MAX, 0, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->agent_list(st, tenant_id, after_name, limit, out, n, err);
}

int ad_store_agent_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                                enum ad_maturity m, struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", id, err);
    if (rc)
        return rc;
    if (!ad_maturity_name(m))
        return ad_error(err, AD_EINVAL, "invalid maturity %d", (int)m);
    rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->agent_set_maturity(st, tenant_id, id, m, ad_time_now(now), err);
    return ad__write_end(st, own, rc, err);
}

/* ---- episodes ----------------------------------------------------------- */

/* Ids and times for the episode and its segments; cleared again on failure. */
static int episode_stamp(struct ad_episode *ep, struct ad_err *err)
{
    size_t i;
    int rc;

    rc = ad__new_id(ep->id, err);
    ad_time_now(ep->created_at);
    for (i = 0; !rc && i < ep->nsegments; i++) {
        rc = ad__new_id(ep->segments[i].id, err);
        memcpy(ep->segments[i].created_at, ep->created_at, AD_TIME_SIZE);
    }
    return rc;
}

static void episode_unstamp(struct ad_episode *ep)
{
    size_t i;

    ep->id[0] = ep->created_at[0] = '\0';
    for (i = 0; i < ep->nsegments; i++)
        ep->segments[i].id[0] = ep->segments[i].created_at[0] = '\0';
}

int ad_store_episode_insert(struct ad_store *st, struct ad_episode *ep, struct ad_err *err)
{
    struct ad__episode_json json;
    int rc, own = 0, wrote = 0;

    rc = ad__check_id("tenant id", ep->tenant_id, err);
    if (!rc)
        rc = ad__check_id("agent id", ep->agent_id, err);
    if (rc)
        return rc;
    rc = ad__episode_validate(ep, &json, err);
    if (rc)
        return rc;
    rc = episode_stamp(ep, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (!rc) {
        rc = st->ops->episode_insert(st, ep, &json, &wrote, err);
        if (rc && wrote && !own)
            st->tx_broken = st->tx_depth;   /* see the comment at the top */
        rc = ad__write_end(st, own, rc, err);
    }
    ad__episode_json_release(&json);
    if (rc)
        episode_unstamp(ep);
    return rc;
}

int ad_store_episode_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_episode *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("episode id", id, err);
    if (rc)
        return rc;
    ad_episode_init(out);
    return st->ops->episode_get(st, tenant_id, id, out, err);
}

/* Checks f and copies it into *r with the limit resolved. */
static int resolve_filter(const struct ad_episode_filter *f, struct ad_episode_filter *r,
                          int need_limit, struct ad_err *err)
{
    static const struct ad_episode_filter none = AD_EPISODE_FILTER_INIT;
    int rc = 0;

    *r = f ? *f : none;
    if (r->agent_id)
        rc = ad__check_id("agent id", r->agent_id, err);
    if (!rc && r->before_id && need_limit)
        rc = ad__check_id("before id", r->before_id, err);
    if (!rc && r->task_kind)
        rc = ad__check_text("task_kind", r->task_kind, AD_TASK_KIND_MAX, 1, err);
    if (!rc && (r->success < -1 || r->success > 1))
        rc = ad_error(err, AD_EINVAL, "invalid success filter %d", r->success);
    if (!rc && need_limit)
        rc = ad__resolve_limit(r->limit, &r->limit, err);
    if (!need_limit) {
        r->before_id = NULL;
        r->limit = 0;
    }
    return rc;
}

int ad_store_episode_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                          struct ad_err *err)
{
    struct ad_episode_filter r;
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = resolve_filter(f, &r, 1, err);
    if (rc)
        return rc;
    return st->ops->episode_list(st, tenant_id, &r, out, n, err);
}

int ad_store_episode_count(struct ad_store *st, const char *tenant_id,
                           const struct ad_episode_filter *f, int64_t *count, struct ad_err *err)
{
    struct ad_episode_filter r;
    int rc;

    *count = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = resolve_filter(f, &r, 0, err);
    if (rc)
        return rc;
    return st->ops->episode_count(st, tenant_id, &r, count, err);
}

/* ---- events ------------------------------------------------------------- */

int ad_store_event_append(struct ad_store *st, struct ad_event *ev, struct ad_err *err)
{
    char *payload = NULL;
    int rc, own;

    rc = ad__check_id("tenant id", ev->tenant_id, err);
    if (!rc)
        rc = check_topic(ev->topic, err);
    if (!rc)
        rc = ad__json_text("payload", ev->payload, 1 << JSON_OBJECT, &payload, err);
    if (!rc)
        rc = ad__new_id(ev->id, err);
    if (!rc) {
        ad_time_now(ev->created_at);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own, st->ops->event_append(st, ev, payload, err), err);
    if (rc) {
        ev->id[0] = ev->created_at[0] = '\0';
        ev->seq = 0;
    }
    free(payload);
    return rc;
}

int ad_store_event_list(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                        const char *topic, int limit, struct ad_event **out, size_t *n,
                        struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && topic)
        rc = check_topic(topic, err);
    if (!rc && since_seq < 0)
        rc = ad_error(err, AD_EINVAL, "invalid sequence number %" PRId64, since_seq);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->event_list(st, tenant_id, since_seq, topic, limit, out, n, err);
}

int ad_store_event_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                            struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *seq = 0;
    if (rc)
        return rc;
    return st->ops->event_last_seq(st, tenant_id, seq, err);
}

/* ---- jobs --------------------------------------------------------------- */

static int check_kind(const char *kind, struct ad_err *err)
{
    return ad__check_text("kind", kind, AD_TASK_KIND_MAX, 1, err);
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
        rc = ad__write_end(st, own, st->ops->job_insert(st, j, payload, err), err);
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
    return st->ops->job_get(st, tenant_id, id, out, err);
}

static int check_worker(const char *worker, struct ad_err *err)
{
    return ad__check_text("worker", worker, WORKER_MAX, 1, err);
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
    rc = st->ops->job_claim(st, tenant_id, kind, worker, now, lease_until, out, err);
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
    rc = st->ops->job_finish(st, tenant_id, id, worker, status, error,
                             status == AD_JOB_QUEUED ? run_after : NULL, ad_time_now(now), err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_job_list(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                      int limit, struct ad_job **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && kind)
        rc = check_kind(kind, err);
    if (!rc && status >= 0 && !ad_job_status_name((enum ad_job_status)status))
        rc = ad_error(err, AD_EINVAL, "invalid job status %d", status);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->job_list(st, tenant_id, status < 0 ? -1 : status, kind, limit, out, n, err);
}

/* ---- LLM calls ---------------------------------------------------------- */

int ad_store_llm_call_insert(struct ad_store *st, struct ad_llm_call *c, struct ad_err *err)
{
    char errbuf[1001];
    const char *saved = c->error;
    int rc, own;

    rc = ad__check_id("tenant id", c->tenant_id, err);
    if (!rc)
        rc = ad__check_text("provider", c->provider, 64, 1, err);
    if (!rc)
        rc = ad__check_text("model", c->model, 256, 1, err);
    if (!rc)
        rc = ad__check_text("purpose", c->purpose, 64, 0, err);
    if (!rc)
        rc = ad__check_text("request id", c->request_id, 256, 0, err);
    if (!rc && (c->prompt_tokens < 0 || c->completion_tokens < 0 || c->latency_ms < 0 ||
                !(c->cost_usd >= 0)))
        rc = ad_error(err, AD_EINVAL, "llm call counters must not be negative");
    if (rc)
        return rc;
    /* An error text is a diagnostic: keep its head rather than refuse the row. */
    if (c->error && strlen(c->error) >= sizeof(errbuf)) {
        ad__copy_fixed(errbuf, sizeof(errbuf), c->error);
        c->error = errbuf;
    }
    rc = ad__new_id(c->id, err);
    if (!rc) {
        ad_time_now(c->created_at);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own, st->ops->llm_call_insert(st, c, err), err);
    c->error = saved;
    if (rc)
        c->id[0] = c->created_at[0] = '\0';
    return rc;
}

void ad_llm_usage_rows_free(struct ad_llm_usage_row *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++) {
        free(v[i].provider);
        free(v[i].model);
        free(v[i].purpose);
    }
    free(v);
}

/* since in the stored form (text order is time order); "" for NULL. */
static int check_since(const char *since, char out[AD_TIME_SIZE], struct ad_err *err)
{
    int64_t ms;

    out[0] = '\0';
    if (!since)
        return 0;
    if (ad_time_parse(since, &ms))
        return ad_error(err, AD_EINVAL, "invalid time '%s' (want ISO-8601 UTC)", since);
    ad_time_iso(ms, out);
    return 0;
}

static int check_tenant_since(const char *tenant_id, const char *since, char t[AD_TIME_SIZE],
                              struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    return rc ? rc : check_since(since, t, err);
}

int ad_store_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                       struct ad_llm_usage_row **out, size_t *n, struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int rc = check_tenant_since(tenant_id, since, t, err);

    *out = NULL;
    *n = 0;
    return rc ? rc : st->ops->llm_usage(st, tenant_id, t, out, n, err);
}

int ad_store_llm_spent(struct ad_store *st, const char *tenant_id, const char *since,
                       int64_t *tokens, double *usd, struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int rc = check_tenant_since(tenant_id, since, t, err);

    *tokens = 0;
    *usd = 0;
    return rc ? rc : st->ops->llm_spent(st, tenant_id, t, tokens, usd, err);
}

const char *ad__enum_name(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

int ad__enum_parse(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++) {
        if (names[i] && !strcasecmp(s, names[i]))
            return (int)i;
    }
    return -1;
}
