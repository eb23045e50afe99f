/*
 * Events (the durable outbox) on PostgreSQL.
 *
 * seq must be commit order, so that a reader resuming after the last seq
 * it saw never misses a late commit (sqlite/events.c). A sequence hands
 * numbers out at nextval time, not at commit, so append first takes a
 * transaction-scoped advisory lock, one key for the whole outbox, and only
 * then draws the number: the lock is held until the appending transaction
 * ends, so whoever draws later commits later. A rolled-back append leaves a
 * gap in the numbers, never a reordering. The lock serialises the
 * transactions that append events, as SQLite's write lock does.
 */
#include "compat.h"

#include "pg/pg_int.h"

#define EVENT_COLS "seq, id, tenant_id, topic, payload, ad_ts(created_at)"

static int read_event(const PGresult *r, int i, struct ad_event *ev, struct ad_err *err)
{
    int rc;

    memset(ev, 0, sizeof(*ev));
    ev->seq = ad__pg_i64(r, i, 0);
    ad__pg_fixed(r, i, 1, ev->id, sizeof(ev->id));
    ad__pg_fixed(r, i, 2, ev->tenant_id, sizeof(ev->tenant_id));
    ad__pg_fixed(r, i, 5, ev->created_at, sizeof(ev->created_at));
    rc = ad__pg_dup(r, i, 3, &ev->topic, err);
    if (!rc)
        rc = ad__pg_json(r, i, 4, &ev->payload, err);
    return rc;
}

static const char q_lock[] = "SELECT pg_advisory_xact_lock(hashtext('autodev.events.seq'))";
/* The tenant must exist: no row (not a foreign-key error, which would end the transaction). */
static const char q_insert[] =
    "INSERT INTO events (id, tenant_id, seq, topic, payload, created_at)"
    " SELECT $1, $2, nextval('events_seq'), $3, $4, $5"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) RETURNING seq";

static int pg_event_append(struct ad_store *st, struct ad_event *ev, const char *payload,
                           struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { ev->id, ev->tenant_id, ev->topic, payload, ev->created_at };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, ev->tenant_id, q_lock, 0, NULL, NULL, "lock the event sequence",
                        err);

    if (!rc)
        rc = ad__pg_run(s, ev->tenant_id, q_insert, 5, p, &r, "append event", err);
    if (!rc && PQntuples(r) != 1)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", ev->tenant_id);
    ev->seq = rc ? 0 : ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static const char q_list[] = "SELECT " EVENT_COLS " FROM events WHERE tenant_id = $1 AND seq > $2"
                             " AND ($3::text IS NULL OR topic = $3) ORDER BY seq LIMIT $4";

static int pg_event_list(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                         const char *topic, int limit, struct ad_event **out, size_t *n,
                         struct ad_err *err)
{
    char b[2][24];
    const char *p[] = { tenant_id, ad__pg_i64_text(since_seq, b[0]), topic,
                        ad__pg_i64_text(limit, b[1]) };
    PGresult *r = NULL;
    struct ad_event *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_list, 4, p, &r, "list events",
                                      err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing events");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_event(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_event_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static const char q_last[] = "SELECT coalesce(max(seq), 0) FROM events WHERE tenant_id = $1";

static int pg_event_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                             struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_last, 1, &tenant_id, &r, "last event", err);

    if (!rc)
        *seq = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

const struct ad__event_ops ad__pg_event_ops = {
    .append = pg_event_append,
    .list = pg_event_list,
    .last_seq = pg_event_last_seq,
};
