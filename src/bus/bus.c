#include "compat.h"

#include "autodev/bus.h"
#include "autodev/log.h"
#include "autodev/store.h"

/*
 * One subscription. The topic's length is kept so that dispatch compares a
 * length first and only then the bytes: most subscriptions of a busy bus
 * listen to other topics, and a length mismatch rejects them in one step.
 */
struct sub {
    char *topic;         /* owned; "*" for every topic */
    size_t topic_len;
    bool all;            /* topic is "*" */
    char *name;          /* owned, for logs */
    ad_bus_handler_fn *fn;
    ad_bus_want_fn *want;    /* NULL: every event of the topic */
    void *ctx;
};

struct ad_bus {
    struct ad_store *st;  /* borrowed, may be NULL */
    struct sub *subs;
    size_t nsubs;
    size_t alloc;
    struct ad_bus_stats stats;
};

/* [a-z0-9_.-], the bytes a topic may hold. */
static const unsigned char topic_byte_ok[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Length of a valid topic, or 0 when topic is not one. */
static size_t topic_len_valid(const char *topic)
{
    size_t n = 0;

    if (!topic)
        return 0;
    while (topic[n]) {
        if (n >= AD_TOPIC_MAX || !topic_byte_ok[(unsigned char)topic[n]])
            return 0;
        n++;
    }
    return n;
}

int ad_bus_topic_valid(const char *topic)
{
    return topic_len_valid(topic) > 0;
}

int ad_bus_new(struct ad_store *st, struct ad_bus **out, struct ad_err *err)
{
    struct ad_bus *bus;

    *out = NULL;
    bus = calloc(1, sizeof(*bus));
    if (!bus)
        return ad_error(err, AD_ENOMEM, "out of memory");
    bus->st = st;
    *out = bus;
    return 0;
}

void ad_bus_free(struct ad_bus *bus)
{
    if (!bus)
        return;
    for (size_t i = 0; i < bus->nsubs; i++) {
        free(bus->subs[i].topic);
        free(bus->subs[i].name);
    }
    free(bus->subs);
    free(bus);
}

int ad_bus_subscribe(struct ad_bus *bus, const char *topic, const char *name,
                     ad_bus_handler_fn *fn, void *ctx, struct ad_err *err)
{
    return ad_bus_subscribe_when(bus, topic, name, fn, NULL, ctx, err);
}

int ad_bus_subscribe_when(struct ad_bus *bus, const char *topic, const char *name,
                          ad_bus_handler_fn *fn, ad_bus_want_fn *want, void *ctx,
                          struct ad_err *err)
{
    struct sub s = { 0 };
    bool all = topic && strcmp(topic, "*") == 0;

    if (!all && !ad_bus_topic_valid(topic))
        return ad_error(err, AD_EINVAL, "invalid topic '%s'", topic ? topic : "(null)");
    if (!fn)
        return ad_error(err, AD_EINVAL, "subscription to '%s' has no handler", topic);
    if (bus->nsubs == bus->alloc) {
        size_t alloc = bus->alloc ? bus->alloc * 2 : 8;
        struct sub *v = realloc(bus->subs, alloc * sizeof(*v));

        if (!v)
            return ad_error(err, AD_ENOMEM, "out of memory");
        bus->subs = v;
        bus->alloc = alloc;
    }
    s.topic = strdup(topic);
    s.name = strdup(name ? name : "(unnamed)");
    if (!s.topic || !s.name) {
        free(s.topic);
        free(s.name);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    s.topic_len = strlen(topic);
    s.all = all;
    s.fn = fn;
    s.want = want;
    s.ctx = ctx;
    bus->subs[bus->nsubs++] = s;
    return 0;
}

static bool sub_matches(const struct sub *s, const char *topic, size_t len)
{
    return s->all || (s->topic_len == len && memcmp(s->topic, topic, len) == 0);
}

/* The topic matches and the subscription's predicate, if any, wants the event. */
static bool sub_wants(const struct sub *s, const char *tenant_id, const char *topic, size_t len)
{
    return sub_matches(s, topic, len) && (!s->want || s->want(s->ctx, tenant_id, topic));
}

static void handler_failed(struct ad_bus *bus, const char *name, const char *topic, int rc,
                           const struct ad_err *herr)
{
    bus->stats.handler_failures++;
    AD_LOG(AD_LOG_WARN, "bus: handler '%s' failed on topic '%s': %s", name, topic,
           herr->msg[0] ? herr->msg : ad_strerror(rc));
}

/* Calls one handler with no store: nothing to isolate beyond the return code. */
static void call_plain(struct ad_bus *bus, const struct sub *s, const struct ad_bus_event *ev)
{
    struct ad_err herr;
    int rc;

    herr.code = 0;
    herr.msg[0] = '\0';
    bus->stats.delivered++;
    rc = s->fn(s->ctx, ev, &herr);
    if (rc != 0)
        handler_failed(bus, s->name, ev->topic, rc, &herr);
}

/* Rolls back levels until the depth is depth; bounded, in case a rollback fails. */
static void rollback_to(struct ad_store *st, int depth)
{
    for (int d = ad_store_tx_depth(st); d > depth; d--)
        ad_store_rollback(st);
}

/*
 * Calls one handler inside its own savepoint. A handler that fails, or that
 * leaves transactions of its own open, has its writes rolled back; the
 * event and the other handlers' writes stay. Returns an error only when the
 * store itself cannot open or release the savepoint, or when the handler
 * closed transaction levels it did not open: then the caller's transaction
 * is no longer what it was and the emit must not commit.
 */
static int call_isolated(struct ad_bus *bus, const struct sub *s, const struct ad_bus_event *ev,
                         struct ad_err *err)
{
    struct ad_err herr = AD_ERR_INIT;
    int depth, rc;

    rc = ad_store_begin(bus->st, err);
    if (rc < 0)
        return rc;
    depth = ad_store_tx_depth(bus->st);
    bus->stats.delivered++;
    rc = s->fn(s->ctx, ev, &herr);
    if (ad_store_tx_depth(bus->st) < depth)
        return ad_error(err, AD_EINTERNAL, "bus: handler '%s' closed a transaction it did "
                        "not open on topic '%s'", s->name, ev->topic);
    if (rc == 0 && ad_store_tx_depth(bus->st) > depth) {
        rc = ad_error(&herr, AD_EINTERNAL, "left %d transaction(s) open",
                      ad_store_tx_depth(bus->st) - depth);
    }
    if (rc != 0) {
        rollback_to(bus->st, depth - 1);
        handler_failed(bus, s->name, ev->topic, rc, &herr);
        return 0;
    }
    return ad_store_commit(bus->st, err);
}

/* The durable path: append, dispatch in savepoints, commit; all or nothing. */
static int emit_stored(struct ad_bus *bus, const char *tenant_id, const char *topic,
                       size_t topic_len, const json_t *payload, int64_t *seq_out,
                       struct ad_err *err)
{
    struct ad_event ev = { 0 };
    struct ad_bus_event bev;
    size_t n = bus->nsubs;
    int depth0 = ad_store_tx_depth(bus->st);
    bool any = false;
    int rc;

    if (snprintf(ev.tenant_id, sizeof(ev.tenant_id), "%s", tenant_id) >=
        (int)sizeof(ev.tenant_id))
        return ad_error(err, AD_EINVAL, "invalid tenant id '%s'", tenant_id);
    /* The store reads topic and payload and fills seq, id, created_at only. */
    ev.topic = (char *)topic;
    ev.payload = (json_t *)payload;
    /*
     * With no handler to isolate, the append is a single statement and
     * atomic on its own. A savepoint here would make SQLite copy every page
     * the insert touches into its sub-journal: measured, it cut the episode
     * record path (bench_store "record") by about a third.
     */
    for (size_t i = 0; i < n && !any; i++)
        any = sub_wants(&bus->subs[i], tenant_id, topic, topic_len);
    if (!any) {
        rc = ad_store_event_append(bus->st, &ev, err);
        if (rc == 0 && seq_out)
            *seq_out = ev.seq;
        return rc;
    }
    rc = ad_store_begin(bus->st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_event_append(bus->st, &ev, err);
    if (rc < 0)
        goto out;
    bev = (struct ad_bus_event){ tenant_id, topic, payload, ev.seq, ev.id };
    /*
     * Index, not pointer: a handler may subscribe and so move the array.
     * Subscriptions made during dispatch see the next event, not this one.
     */
    for (size_t i = 0; i < n; i++) {
        struct sub s = bus->subs[i];

        if (!sub_wants(&s, tenant_id, topic, topic_len))
            continue;
        rc = call_isolated(bus, &s, &bev, err);
        if (rc < 0)
            goto out;
    }
    rc = ad_store_commit(bus->st, err);
    if (rc == 0 && seq_out)
        *seq_out = ev.seq;
out:
    if (rc < 0)
        rollback_to(bus->st, depth0);
    return rc;
}

int ad_bus_emit(struct ad_bus *bus, const char *tenant_id, const char *topic,
                const json_t *payload, int64_t *seq_out, struct ad_err *err)
{
    size_t len = topic_len_valid(topic);
    struct ad_bus_event ev;
    size_t n;
    int rc;

    if (len == 0)
        return ad_error(err, AD_EINVAL, "invalid topic '%s'", topic ? topic : "(null)");
    if (!json_is_object(payload))
        return ad_error(err, AD_EINVAL, "payload of topic '%s' must be an object", topic);
    if (!tenant_id)
        return ad_error(err, AD_EINVAL, "event on topic '%s' has no tenant", topic);
    if (bus->st) {
        rc = emit_stored(bus, tenant_id, topic, len, payload, seq_out, err);
        if (rc == 0)
            bus->stats.emitted++;
        return rc;
    }
    /* The in-process path allocates nothing: it is the hot one. */
    ev = (struct ad_bus_event){ tenant_id, topic, payload, 0, "" };
    n = bus->nsubs;
    for (size_t i = 0; i < n; i++) {
        struct sub s = bus->subs[i];

        if (sub_wants(&s, tenant_id, topic, len))
            call_plain(bus, &s, &ev);
    }
    bus->stats.emitted++;
    if (seq_out)
        *seq_out = 0;
    return 0;
}

void ad_bus_get_stats(const struct ad_bus *bus, struct ad_bus_stats *out)
{
    *out = bus->stats;
}

int ad_events_since(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                    const char *topic, int limit, struct ad_event **out, size_t *n,
                    struct ad_err *err)
{
    return ad_store_event_list(st, tenant_id, since_seq, topic, limit, out, n, err);
}

int ad_events_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                       struct ad_err *err)
{
    return ad_store_event_last_seq(st, tenant_id, seq, err);
}
