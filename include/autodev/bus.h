/*
 * The event bus: topics, subscriptions, dispatch with handler isolation,
 * and a durable outbox.
 *
 * ad_bus_emit() first appends the event to the store's events table (when
 * the bus has a store), then calls every handler subscribed to the topic
 * (and every "*" handler) in subscription order. A failing handler does not
 * stop the others: its failure is logged with the topic and the handler's
 * name and counted. With a store, each handler runs inside its own
 * savepoint, so a handler that fails leaves none of its writes behind while
 * the event itself and the other handlers' work stay.
 *
 * Dispatch is synchronous and in-process. Readers in other processes follow
 * the events table by sequence number (ad_events_since).
 *
 * Module bus owns the events table: other modules read the outbox through
 * ad_events_since / ad_events_last_seq, never through the store. Topics and
 * their payload keys are listed in autodev/topics.h.
 */
#ifndef AUTODEV_BUS_H
#define AUTODEV_BUS_H

/* Module bus, layer 2: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 2
#error "autodev/bus.h belongs to module bus (layer 2), above the module including it"
#endif

#include <jansson.h>
#include <stdint.h>

#include "autodev/error.h"
#include "autodev/topics.h"


struct ad_bus;
struct ad_event;
struct ad_store;

/* What a handler sees; all pointers are borrowed for the call only. */
struct ad_bus_event {
    const char *tenant_id;
    const char *topic;
    const json_t *payload;
    int64_t seq;             /* outbox sequence, 0 when the bus has no store */
    const char *id;          /* event id, "" when the bus has no store */
};

/* Returns 0, or a negative AD_E* code with detail in err, for a failure. */
typedef int ad_bus_handler_fn(void *ctx, const struct ad_bus_event *ev, struct ad_err *err);

struct ad_bus_stats {
    uint64_t emitted;
    uint64_t delivered;          /* handler calls */
    uint64_t handler_failures;
};

/* st may be NULL: dispatch only, nothing durable. The bus borrows st. */
int ad_bus_new(struct ad_store *st, struct ad_bus **out, struct ad_err *err);
void ad_bus_free(struct ad_bus *bus);

/* Topics: 1..AD_TOPIC_MAX of [a-z0-9_.-]; "*" subscribes to every topic. */
int ad_bus_topic_valid(const char *topic);

/*
 * Subscribes fn under name (used in logs). ctx is passed back to fn.
 * name and topic are copied.
 */
int ad_bus_subscribe(struct ad_bus *bus, const char *topic, const char *name,
                     ad_bus_handler_fn *fn, void *ctx, struct ad_err *err);

/*
 * Whether a subscription wants an event of tenant_id on topic, asked
 * before its handler is: 0 skips the handler, and when no subscription
 * wants the event, the append runs without a savepoint (the fast path).
 * For a "*" subscriber that most events do not concern (the webhooks of a
 * tenant that has none), this keeps the cost of dispatch off every event.
 */
typedef int ad_bus_want_fn(void *ctx, const char *tenant_id, const char *topic);

/* ad_bus_subscribe with a want predicate (NULL: every event of the topic). */
int ad_bus_subscribe_when(struct ad_bus *bus, const char *topic, const char *name,
                          ad_bus_handler_fn *fn, ad_bus_want_fn *want, void *ctx,
                          struct ad_err *err);

/*
 * Emits payload (an object, borrowed) on topic for tenant_id. Fails only if
 * the topic is invalid or the outbox append fails; handler failures are
 * logged and counted, not returned. *seq_out (may be NULL) gets the
 * outbox sequence.
 */
int ad_bus_emit(struct ad_bus *bus, const char *tenant_id, const char *topic,
                const json_t *payload, int64_t *seq_out, struct ad_err *err);

void ad_bus_get_stats(const struct ad_bus *bus, struct ad_bus_stats *out);

/*
 * The tenant's events with seq > since_seq, in seq order, at most limit
 * (0: AD_LIST_DEFAULT); topic NULL for every topic. Free with
 * ad_event_list_free.
 */
int ad_events_since(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                    const char *topic, int limit, struct ad_event **out, size_t *n,
                    struct ad_err *err);
/* The tenant's largest seq, 0 when it has no event. */
int ad_events_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                       struct ad_err *err);

#endif
