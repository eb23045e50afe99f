/*
 * GET /v1/events: Server-Sent Events from the outbox (the bus's events
 * table), resumable with Last-Event-ID (an event's id on the wire is its
 * sequence number), filtered by topic.
 *
 * A stream never blocks an HTTP thread. Its content reader runs on the
 * thread that owns the connection, reads the tenant's next events with
 * that thread's runtime (ad_events_since) and writes them out; with
 * nothing to send it parks: it joins the hub's list of waiting streams and
 * suspends its connection (MHD_suspend_connection, from the reader, as
 * libmicrohttpd requires), returning 0 bytes. The hub's watcher thread
 * looks at each waiting tenant's last sequence number every WATCH_MS and
 * resumes the streams that have something new (or are due a keep-alive
 * comment, which is also how a client gone away is noticed). Park and
 * resume happen under the hub's lock, so a resume always follows its
 * suspend; a stop sets the flag under the same lock and resumes every
 * parked stream, whose reader then ends it.
 *
 * Delivery: each stream remembers the last sequence number it sent and
 * asks for what follows, so a slow reader is never skipped ahead and
 * never sent an event twice; a client that reconnects with Last-Event-ID
 * gets exactly the events after it.
 */
#include "compat.h"

#include <pthread.h>

#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/runtime.h"

#include "mhd_api.h"
#include "server_int.h"

#define WATCH_MS 100           /* how often the watcher looks for new events */
#define FETCH_MAX 500          /* events read per query */
#define TOPICS_MAX 16

struct stream {
    struct ad__hub *hub;
    struct ad_server *srv;
    struct MHD_Connection *conn;
    char tenant_id[AD_ID_SIZE];
    char *topics[TOPICS_MAX];  /* owned; none: every topic */
    int ntopics;
    int64_t last_seq;          /* the last event sent, or where the stream starts */
    int64_t checked;           /* the tenant's last seq when the watcher last resumed us */
    int64_t last_write_ns;
    struct ad_buf out;         /* written, not yet handed to libmicrohttpd */
    size_t off;
    int ping;                  /* the watcher asks for a keep-alive comment */
    struct stream *next;       /* in the hub's waiting list */
};

struct ad__hub {
    struct ad_server *srv;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int started;
    int stop;                  /* under lock (also read atomically by readers) */
    int64_t ping_ns;
    struct stream *waiting;    /* parked streams, suspended */
    int streams;               /* open */
};

/* ---- the content reader ---------------------------------------------------------------- */

static int topic_wanted(const struct stream *s, const char *topic)
{
    if (s->ntopics <= 1)
        return 1;   /* none, or the one the query already filtered by */
    for (int i = 0; i < s->ntopics; i++) {
        if (!strcmp(s->topics[i], topic))
            return 1;
    }
    return 0;
}

json_t *ad__json_event(const struct ad_event *ev)
{
    return json_pack("{s:I, s:s, s:s, s:O?, s:s}", "seq", (json_int_t)ev->seq, "id", ev->id,
                     "topic", ev->topic ? ev->topic : "", "payload", ev->payload,
                     "created_at", ev->created_at);
}

/* The events after last_seq into s->out, as SSE frames. 0, or an AD_E* code. */
static int fill(struct stream *s)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_runtime *rt;
    struct ad_event *v = NULL;
    size_t n = 0;
    int rc = ad__thread_runtime(s->srv, &rt, &err);

    if (rc == 0)
        rc = ad_events_since(ad_runtime_store(rt), s->tenant_id, s->last_seq,
                             s->ntopics == 1 ? s->topics[0] : NULL, FETCH_MAX, &v, &n, &err);
    if (rc < 0) {
        AD_LOG(AD_LOG_WARN, "event stream: %s", err.msg);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        s->last_seq = v[i].seq;
        if (topic_wanted(s, v[i].topic)) {
            json_t *j = ad__json_event(&v[i]);
            char *data = j ? ad_json_dumps(j) : NULL;

            json_decref(j);
            if (!data || ad_buf_addf(&s->out, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n",
                                     v[i].seq, v[i].topic, data) < 0) {
                free(data);
                ad_event_list_free(v, n);
                return AD_ENOMEM;
            }
            free(data);
        }
    }
    if (s->last_seq > s->checked)
        s->checked = s->last_seq;
    ad_event_list_free(v, n);
    return 0;
}

static ssize_t copy_out(struct stream *s, char *buf, size_t max)
{
    size_t n = s->out.len - s->off;

    if (n > max)
        n = max;
    memcpy(buf, s->out.ptr + s->off, n);
    s->off += n;
    if (s->off == s->out.len) {
        ad_buf_reset(&s->out);
        s->off = 0;
    }
    s->last_write_ns = ad_mono_ns();
    return (ssize_t)n;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    struct ad__hub *h = s->hub;

    (void)pos;
    if (s->off < s->out.len)
        return copy_out(s, buf, max);
    if (__atomic_load_n(&h->stop, __ATOMIC_RELAXED))
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (fill(s) < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (s->out.len == 0 && s->ping) {
        s->ping = 0;
        ad_buf_adds(&s->out, ": keep-alive\n\n");
    }
    if (s->out.len > 0)
        return copy_out(s, buf, max);
    /* Nothing to say: park until the watcher has news for us. */
    pthread_mutex_lock(&h->lock);
    if (h->stop) {
        pthread_mutex_unlock(&h->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    s->next = h->waiting;
    h->waiting = s;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void stream_free(struct stream *s)
{
    for (int i = 0; i < s->ntopics; i++)
        free(s->topics[i]);
    ad_buf_release(&s->out);
    free(s);
}

/* libmicrohttpd is done with the response: the connection closed. */
static void sse_free(void *cls)
{
    struct stream *s = cls;
    struct ad__hub *h = s->hub;

    pthread_mutex_lock(&h->lock);
    /* A parked stream is suspended and cannot be closed; unlinking is only prudence. */
    for (struct stream **pp = &h->waiting; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    h->streams--;
    pthread_mutex_unlock(&h->lock);
    stream_free(s);
}

/* ---- the watcher ------------------------------------------------------------------------ */

#define TENANTS_PER_TICK 64

struct tick {
    char tenant[TENANTS_PER_TICK][AD_ID_SIZE];
    int64_t last[TENANTS_PER_TICK];
    int n;
};

/* The tenant's last seq, read once per tick; -1 when it cannot be read. */
static int64_t tenant_last(struct ad_runtime *rt, struct tick *t, const char *tenant)
{
    int64_t seq = -1;

    for (int i = 0; i < t->n; i++) {
        if (!strcmp(t->tenant[i], tenant))
            return t->last[i];
    }
    if (ad_events_last_seq(ad_runtime_store(rt), tenant, &seq, NULL) < 0)
        seq = -1;
    if (t->n < TENANTS_PER_TICK) {
        memcpy(t->tenant[t->n], tenant, AD_ID_SIZE);
        t->last[t->n++] = seq;
    }
    return seq;
}

/* One look at the parked streams, under the lock: resume those with news or due a ping. */
static void watch_once(struct ad__hub *h, struct ad_runtime *rt)
{
    struct tick t = { .n = 0 };
    int64_t now = ad_mono_ns();
    struct stream **pp = &h->waiting;

    while (*pp) {
        struct stream *s = *pp;
        int64_t last = rt ? tenant_last(rt, &t, s->tenant_id) : -1;
        int news = last > s->checked, ping = now - s->last_write_ns >= h->ping_ns;

        if (!news && !ping) {
            pp = &s->next;
            continue;
        }
        if (news)
            s->checked = last;
        s->ping = ping;
        *pp = s->next;
        s->next = NULL;
        MHD_resume_connection(s->conn);
    }
}

static void *watcher(void *arg)
{
    struct ad__hub *h = arg;
    struct ad_runtime *rt = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct timespec ts;

    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WATCH_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->cond, &h->lock, &ts);
        if (h->stop || !h->waiting)
            continue;
        /* The watcher's own runtime: a store handle is never shared between threads. */
        if (!rt && ad_runtime_open(ad__server_runtime_options(h->srv), &rt, &err) < 0) {
            AD_LOG(AD_LOG_WARN, "event streams: cannot open the store: %s", err.msg);
            rt = NULL;
        }
        watch_once(h, rt);
    }
    pthread_mutex_unlock(&h->lock);
    ad_runtime_free(rt);
    return NULL;
}

int ad__hub_start(struct ad_server *srv, int ping_s, struct ad__hub **out, struct ad_err *err)
{
    struct ad__hub *h = calloc(1, sizeof(*h));

    *out = NULL;
    if (!h)
        return ad_error(err, AD_ENOMEM, "out of memory");
    h->srv = srv;
    h->ping_ns = (int64_t)ping_s * 1000000000;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    if (pthread_create(&h->thread, NULL, watcher, h) != 0) {
        ad__hub_free(h);
        return ad_error(err, AD_EIO, "cannot start the event streams' watcher");
    }
    h->started = 1;
    *out = h;
    return 0;
}

void ad__hub_stop(struct ad__hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
    while (h->waiting) {
        struct stream *s = h->waiting;

        h->waiting = s->next;
        s->next = NULL;
        MHD_resume_connection(s->conn);
    }
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (h->started) {
        pthread_join(h->thread, NULL);
        h->started = 0;
    }
}

void ad__hub_free(struct ad__hub *h)
{
    if (!h)
        return;
    ad__hub_stop(h);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int ad__hub_streams(struct ad__hub *h)
{
    int n;

    if (!h)
        return 0;
    pthread_mutex_lock(&h->lock);
    n = h->streams;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* ---- the route ------------------------------------------------------------------------- */

/* "a,b" into s->topics; each must be a valid topic name. */
static int parse_topics(struct stream *s, const char *list, struct ad__res *res)
{
    const char *p = list;

    while (p && *p) {
        size_t len = strcspn(p, ",");
        char *t = strndup(p, len);

        if (!t)
            return ad__res_fail(res, 500, "out of memory"), AD_ENOMEM;
        if (s->ntopics == TOPICS_MAX || !ad_bus_topic_valid(t) || !strcmp(t, "*")) {
            ad__res_fail(res, 400, "invalid topic '%s' (at most %d topics of [a-z0-9_.-])", t,
                         TOPICS_MAX);
            free(t);
            return AD_EINVAL;
        }
        s->topics[s->ntopics++] = t;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Where the stream starts: after Last-Event-ID (or ?since=), else after the newest event. */
static int start_seq(struct ad__req *r, struct ad__res *res, int64_t *seq)
{
    const char *v = ad__header(r, "Last-Event-ID");
    struct ad_err err = AD_ERR_INIT;
    char *end;

    if (!v || !*v)
        v = ad__query(r, "since");
    if (v && *v) {
        errno = 0;
        *seq = strtoll(v, &end, 10);
        if (*end || errno || *seq < 0)
            return ad__res_fail(res, 400, "invalid event id '%s': expected a sequence number",
                                v), AD_EINVAL;
        return 0;
    }
    if (ad_events_last_seq(r->st, r->tok.tenant_id, seq, &err) < 0)
        return ad__res_err(res, &err), err.code;
    return 0;
}

int ad__h_events(struct ad__req *r, struct ad__res *res)
{
    struct ad__hub *h = ad__server_hub(r->srv);
    struct MHD_Response *resp;
    struct stream *s = calloc(1, sizeof(*s));

    if (!s)
        return ad__res_fail(res, 500, "out of memory");
    s->hub = h;
    s->srv = r->srv;
    s->conn = r->conn;
    memcpy(s->tenant_id, r->tok.tenant_id, AD_ID_SIZE);
    ad_buf_init(&s->out, 64u << 20);
    if (parse_topics(s, ad__query(r, "topic"), res) < 0 || start_seq(r, res, &s->last_seq) < 0) {
        stream_free(s);
        return 0;
    }
    s->checked = s->last_seq;
    s->last_write_ns = ad_mono_ns();
    /* A client told how long to wait before it reconnects (and that the stream is open). */
    ad_buf_adds(&s->out, "retry: 2000\n: autodev event stream\n\n");
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, sse_read, s,
                                             sse_free);
    if (!resp) {
        stream_free(s);
        return ad__res_fail(res, 500, "out of memory");
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    pthread_mutex_lock(&h->lock);
    h->streams++;
    pthread_mutex_unlock(&h->lock);
    if (MHD_queue_response(r->conn, 200, resp) != MHD_YES) {
        MHD_destroy_response(resp);   /* frees s through sse_free */
        return ad__res_fail(res, 500, "cannot start the event stream");
    }
    MHD_destroy_response(resp);
    res->queued = 1;
    ad__req_streaming(r);
    return 0;
}
