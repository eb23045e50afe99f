/*
 * autodev events tail: print the event outbox, and follow it.
 *
 * The store lists events forward from a sequence number only, so "the last
 * N events" is found by looking back a window from the newest sequence
 * number and doubling it until it holds N matching events (events of other
 * tenants and topics share the sequence).
 */
#include "compat.h"

#include <getopt.h>
#include <signal.h>

#include "autodev/bus.h"
#include "autodev/json.h"
#include "autodev/store.h"

#include "cli.h"

#define TAIL_DEFAULT 20

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

json_t *ad__event_json(const struct ad_event *ev)
{
    return json_pack("{s:I, s:s, s:s, s:O?, s:s}", "seq", (json_int_t)ev->seq, "id", ev->id,
                     "topic", ev->topic ? ev->topic : "", "payload", ev->payload,
                     "created_at", ev->created_at);
}

static int print_event(struct ad_ctx *ctx, const struct ad_event *ev)
{
    char *payload;

    if (ctx->json)
        return ad__print_json(ctx, ad__event_json(ev));
    payload = ev->payload ? ad_json_dumps(ev->payload) : NULL;
    fprintf(ctx->out, "%" PRId64 "  %s  %s  %s\n", ev->seq, ev->created_at,
            ev->topic ? ev->topic : "", payload ? payload : "{}");
    free(payload);
    return 0;
}

/* The newest cap events seen, oldest first from head. */
struct ring {
    struct ad_event *v;
    size_t cap;
    size_t n;
    size_t head;
};

static void ring_clear(struct ring *r)
{
    for (size_t i = 0; i < r->n; i++)
        ad_event_release(&r->v[(r->head + i) % r->cap]);
    r->n = 0;
    r->head = 0;
}

/* Takes ev over (the caller's copy is zeroed). */
static void ring_push(struct ring *r, struct ad_event *ev)
{
    if (r->n < r->cap) {
        r->v[(r->head + r->n++) % r->cap] = *ev;
    } else {
        ad_event_release(&r->v[r->head]);
        r->v[r->head] = *ev;
        r->head = (r->head + 1) % r->cap;
    }
    memset(ev, 0, sizeof(*ev));
}

/* Every matching event after since into the ring; *cursor gets the largest seq seen. */
static int fill_ring(struct ad_ctx *ctx, struct ring *r, int64_t since, const char *topic,
                     int64_t *cursor, struct ad_err *err)
{
    for (;;) {
        struct ad_event *v = NULL;
        size_t n = 0;

        if (ad_events_since(ctx->store, ctx->tenant_id, since, topic, AD_LIST_MAX, &v, &n,
                            err) < 0)
            return err->code ? err->code : AD_EIO;
        for (size_t i = 0; i < n; i++) {
            since = v[i].seq;
            ring_push(r, &v[i]);
        }
        ad_event_list_free(v, n);
        if (since > *cursor)
            *cursor = since;
        if (n < AD_LIST_MAX)
            return 0;
    }
}

/* Prints the last want events; *cursor gets where following should resume. */
static int tail_last(struct ad_ctx *ctx, const char *topic, int64_t want, int64_t *cursor)
{
    struct ad_err err = AD_ERR_INIT;
    struct ring r = { .cap = (size_t)want };
    int64_t last = 0, window = want;
    int rc = 0;

    if (ad_events_last_seq(ctx->store, ctx->tenant_id, &last, &err) < 0)
        return ad__die_err(ctx, &err);
    *cursor = last;
    r.v = calloc(r.cap, sizeof(*r.v));
    if (!r.v)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    for (;;) {
        int64_t start = last > window ? last - window : 0;

        ring_clear(&r);
        if (fill_ring(ctx, &r, start, topic, cursor, &err) < 0) {
            rc = ad__die_err(ctx, &err);
            goto out;
        }
        if ((int64_t)r.n >= want || start == 0)
            break;
        window = window > INT64_MAX / 2 ? INT64_MAX : window * 2;
    }
    for (size_t i = 0; i < r.n && rc == 0; i++)
        rc = print_event(ctx, &r.v[(r.head + i) % r.cap]);
out:
    ring_clear(&r);
    free(r.v);
    return rc;
}

/*
 * Prints events after *cursor (at most limit when limit > 0), advancing
 * *cursor. *more is 1 when a full page came back.
 */
static int print_since(struct ad_ctx *ctx, const char *topic, int64_t *cursor, int64_t limit,
                       int *more)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t printed = 0;
    int rc = 0;

    do {
        struct ad_event *v = NULL;
        size_t n = 0;
        int page = limit > 0 && limit - printed < AD_LIST_MAX ? (int)(limit - printed)
                                                              : AD_LIST_MAX;

        if (ad_events_since(ctx->store, ctx->tenant_id, *cursor, topic, page, &v, &n,
                            &err) < 0)
            return ad__die_err(ctx, &err);
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = print_event(ctx, &v[i]);
            *cursor = v[i].seq;
        }
        ad_event_list_free(v, n);
        printed += (int64_t)n;
        *more = n == (size_t)page;
    } while (rc == 0 && *more && (limit <= 0 || printed < limit));
    return rc;
}

/*
 * Installed before anything is printed, so a reader that stops us as soon
 * as it sees the first line never meets the default action. No
 * SA_RESTART: a signal must cut the sleep short.
 */
static void catch_stop_signals(void)
{
    struct sigaction sa = { 0 };

    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int follow(struct ad_ctx *ctx, const char *topic, int64_t cursor, int64_t interval_ms)
{
    int rc = 0, more = 0;

    while (!stop_requested && rc == 0) {
        struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };

        rc = print_since(ctx, topic, &cursor, 0, &more);
        fflush(ctx->out);
        if (rc == 0 && !more && !stop_requested)
            nanosleep(&ts, NULL);
    }
    return rc;
}

static int events_tail(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "since", required_argument, NULL, 's' },
        { "topic", required_argument, NULL, 't' },
        { "limit", required_argument, NULL, 'l' },
        { "follow", no_argument, NULL, 'f' },
        { "interval", required_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    const char *topic = NULL;
    int64_t since = -1, limit = 0, interval = 200, cursor = 0;
    int do_follow = 0, more = 0, rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":f", longopts)) != -1) {
        switch (c) {
        case 't': topic = optarg; break;
        case 'f': do_follow = 1; break;
        case 's':
            if (ad__parse_int(ctx, "--since", optarg, 0, INT64_MAX, &since) != 0)
                return AD_EXIT_USAGE;
            break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        case 'i':
            if (ad__parse_int(ctx, "--interval", optarg, 10, 60000, &interval) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "events tail takes no argument");
    if (topic && strcmp(topic, "*") != 0 && !ad_bus_topic_valid(topic))
        return ad__usage_error(ctx, "invalid topic '%s'", topic);
    if (topic && !strcmp(topic, "*"))
        topic = NULL;
    /* A reader on a pipe must see each event as it comes. */
    if (do_follow) {
        setvbuf(ctx->out, NULL, _IOLBF, 0);
        catch_stop_signals();
    }
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (since >= 0) {
        cursor = since;
        rc = print_since(ctx, topic, &cursor, limit, &more);
    } else {
        rc = tail_last(ctx, topic, limit > 0 ? limit : TAIL_DEFAULT, &cursor);
    }
    if (rc == 0 && do_follow)
        rc = follow(ctx, topic, cursor, interval);
    return rc;
}

int cmd_events(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "tail", events_tail },
        { NULL, NULL },
    };

    return ad__run_sub("events", subs, argc, argv, ctx);
}
