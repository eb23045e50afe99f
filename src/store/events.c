/*
 * Events: the durable outbox behind the bus. Topics, releasing what the
 * store filled in, and the public calls. The store only holds the rows;
 * topics and their payloads are the bus's (autodev/topics.h).
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

void ad_event_release(struct ad_event *ev)
{
    if (!ev)
        return;
    free(ev->topic);
    json_decref(ev->payload);
    memset(ev, 0, sizeof(*ev));
}

void ad_event_list_free(struct ad_event *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_event_release(&v[i]);
    free(v);
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

/* A missing payload is stored as the empty object. */
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
        rc = ad__write_end(st, own,
                           st->ops->events->append(st, ev, payload ? payload : "{}", err), err);
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
    return st->ops->events->list(st, tenant_id, since_seq, topic, limit, out, n, err);
}

int ad_store_event_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                            struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *seq = 0;
    if (rc)
        return rc;
    return st->ops->events->last_seq(st, tenant_id, seq, err);
}
