/*
 * Webhooks, their deliveries and the signals' replay guard: the rows of
 * module hooks (hooks.h holds the policy). Releasing what the store filled
 * in, checks and the public calls. No row holds a secret.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

static const char *const delivery_status_names[] = {
    [AD_DELIVERY_PENDING] = "pending",
    [AD_DELIVERY_DELIVERED] = "delivered",
    [AD_DELIVERY_FAILED] = "failed",
    [AD_DELIVERY_DEAD] = "dead",
};

const struct ad__enum ad__delivery_status_enum = {
    delivery_status_names, AD_ARRAY_SIZE(delivery_status_names), "status",
};

const char *ad_delivery_status_name(enum ad_delivery_status s)
{
    return ad__enum_name(&ad__delivery_status_enum, (int)s);
}

int ad_delivery_status_parse(const char *s, enum ad_delivery_status *out)
{
    int i = ad__enum_parse(&ad__delivery_status_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_delivery_status)i;
    return 0;
}

void ad_webhook_release(struct ad_webhook *w)
{
    if (!w)
        return;
    free(w->url);
    json_decref(w->topics);
    free(w->description);
    memset(w, 0, sizeof(*w));
}

void ad_webhook_list_free(struct ad_webhook *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_webhook_release(&v[i]);
    free(v);
}

void ad_webhook_delivery_release(struct ad_webhook_delivery *d)
{
    if (!d)
        return;
    free(d->topic);
    json_decref(d->payload);
    free(d->last_error);
    memset(d, 0, sizeof(*d));
}

void ad_webhook_delivery_list_free(struct ad_webhook_delivery *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_webhook_delivery_release(&v[i]);
    free(v);
}

/* ---- webhooks ----------------------------------------------------------- */

int ad_store_webhook_insert(struct ad_store *st, struct ad_webhook *w, struct ad_err *err)
{
    char *topics = NULL;
    int rc, own;

    rc = ad__check_id("tenant id", w->tenant_id, err);
    if (!rc)
        rc = ad__check_text("url", w->url, AD_WEBHOOK_URL_MAX, 1, err);
    if (!rc)
        rc = ad__check_text("description", w->description, AD_WEBHOOK_DESC_MAX, 0, err);
    if (!rc && !json_is_array(w->topics))
        rc = ad_error(err, AD_EINVAL, "topics of a webhook must be an array");
    if (!rc)
        rc = ad__json_text("topics", w->topics, 1 << JSON_ARRAY, &topics, err);
    if (!rc)
        rc = ad__new_id(w->id, err);
    if (rc) {
        free(topics);
        return rc;
    }
    ad_time_now(w->created_at);
    w->secret_generation = 1;
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->webhooks->insert(st, w, topics, err), err);
    if (rc)
        w->id[0] = w->created_at[0] = '\0';
    free(topics);
    return rc;
}

int ad_store_webhook_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_webhook *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = ad__check_id("webhook id", id, err);
    if (rc)
        return rc;
    return st->ops->webhooks->get(st, tenant_id, id, out, err);
}

int ad_store_webhook_list(struct ad_store *st, const char *tenant_id, bool active_only, int limit,
                          struct ad_webhook **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->webhooks->list(st, tenant_id, active_only, limit, out, n, err);
}

int ad_store_webhook_delete(struct ad_store *st, const char *tenant_id, const char *id,
                            struct ad_err *err)
{
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("webhook id", id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    return ad__write_end(st, own, st->ops->webhooks->remove(st, tenant_id, id, err), err);
}

int ad_store_webhook_rotate(struct ad_store *st, const char *tenant_id, const char *id,
                            int64_t *generation, struct ad_err *err)
{
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("webhook id", id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->webhooks->rotate(st, tenant_id, id, generation, err);
    return ad__write_end(st, own, rc, err);
}

/* ---- deliveries ----------------------------------------------------------- */

static int check_delivery(const struct ad_webhook_delivery *d, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", d->tenant_id, err);

    if (!rc)
        rc = ad__check_id("webhook id", d->webhook_id, err);
    if (!rc)
        rc = ad__check_text("topic", d->topic, AD_TOPIC_MAX, 1, err);
    if (!rc)
        rc = ad__check_text("last_error", d->last_error, AD_WEBHOOK_ERROR_MAX, 0, err);
    if (!rc && !ad_delivery_status_name(d->status))
        rc = ad_error(err, AD_EINVAL, "invalid delivery status %d", (int)d->status);
    if (!rc && (d->attempts < 0 || d->last_status_code < 0 || d->last_status_code > 999))
        rc = ad_error(err, AD_EINVAL, "invalid delivery attempts or status code");
    return rc;
}

int ad_store_webhook_delivery_insert(struct ad_store *st, struct ad_webhook_delivery *d,
                                     struct ad_err *err)
{
    char *payload = NULL;
    int rc, own;

    rc = check_delivery(d, err);
    if (!rc && !d->event_id[0])
        rc = ad_error(err, AD_EINVAL, "a delivery needs its event's id");
    if (!rc)
        rc = ad__json_text("payload", d->payload, 1 << JSON_OBJECT, &payload, err);
    if (!rc && !payload)
        rc = ad_error(err, AD_EINVAL, "a delivery needs its event's payload");
    if (!rc)
        rc = ad__new_id(d->id, err);
    if (rc) {
        free(payload);
        return rc;
    }
    ad_time_now(d->created_at);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->webhooks->delivery_insert(st, d, payload, err),
                           err);
    if (rc)
        d->id[0] = d->created_at[0] = '\0';
    free(payload);
    return rc;
}

int ad_store_webhook_delivery_get(struct ad_store *st, const char *tenant_id, const char *id,
                                  struct ad_webhook_delivery *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = ad__check_id("delivery id", id, err);
    if (rc)
        return rc;
    return st->ops->webhooks->delivery_get(st, tenant_id, id, out, err);
}

int ad_store_webhook_delivery_list(struct ad_store *st, const char *tenant_id,
                                   const char *webhook_id, int status, int limit,
                                   struct ad_webhook_delivery **out, size_t *n,
                                   struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && webhook_id)
        rc = ad__check_id("webhook id", webhook_id, err);
    if (!rc && status >= 0 && !ad_delivery_status_name((enum ad_delivery_status)status))
        rc = ad_error(err, AD_EINVAL, "invalid delivery status %d", status);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->webhooks->delivery_list(st, tenant_id, webhook_id, status, limit, out, n,
                                            err);
}

int ad_store_webhook_delivery_update(struct ad_store *st, const struct ad_webhook_delivery *d,
                                     struct ad_err *err)
{
    int rc, own;

    rc = check_delivery(d, err);
    if (!rc)
        rc = ad__check_id("delivery id", d->id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    return ad__write_end(st, own, st->ops->webhooks->delivery_update(st, d, err), err);
}

/* ---- signals: replay guard and secret generation ---------------------------- */

int ad_store_signal_receipt_insert(struct ad_store *st, const char *tenant_id,
                                   const char *signature_hash, struct ad_err *err)
{
    char id[AD_ID_SIZE], now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_text("signature hash", signature_hash, 128, 1, err);
    if (!rc)
        rc = ad__new_id(id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    ad_time_now(now);
    rc = st->ops->webhooks->receipt_insert(st, id, tenant_id, signature_hash, now, err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_signal_receipt_prune(struct ad_store *st, const char *before, int64_t *count,
                                  struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int64_t dummy;
    int rc, own;

    if (!before || strlen(before) >= sizeof(t))
        return ad_error(err, AD_EINVAL, "invalid time '%s'", before ? before : "");
    snprintf(t, sizeof(t), "%s", before);
    rc = ad__check_opt_time("before", t, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->webhooks->receipt_prune(st, t, count ? count : &dummy, err);
    return ad__write_end(st, own, rc, err);
}

int ad_store_signal_generation(struct ad_store *st, const char *tenant_id, int64_t *generation,
                               struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *generation = 1;
    if (rc)
        return rc;
    return st->ops->webhooks->signal_generation(st, tenant_id, generation, err);
}

int ad_store_signal_rotate(struct ad_store *st, const char *tenant_id, int64_t *generation,
                           struct ad_err *err)
{
    char id[AD_ID_SIZE], now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__new_id(id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    ad_time_now(now);
    rc = st->ops->webhooks->signal_rotate(st, id, tenant_id, now, generation, err);
    return ad__write_end(st, own, rc, err);
}
