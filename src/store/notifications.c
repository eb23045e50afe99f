/*
 * Notifications for the people who review: releasing what the store
 * filled in, checks and the public calls.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

void ad_notification_release(struct ad_notification *n)
{
    if (!n)
        return;
    free(n->type);
    free(n->title);
    free(n->message);
    json_decref(n->payload);
    memset(n, 0, sizeof(*n));
}

void ad_notification_list_free(struct ad_notification *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_notification_release(&v[i]);
    free(v);
}

static int check_notification(const struct ad_notification *n, char **payload,
                              struct ad_err *err)
{
    int rc = ad__check_id("tenant id", n->tenant_id, err);

    *payload = NULL;
    if (!rc)
        rc = ad__check_opt_id("agent id", n->agent_id, err);
    if (!rc)
        rc = ad__check_dotted("type", n->type, AD_NOTIFY_TYPE_MAX, err);
    if (!rc)
        rc = ad__check_text("title", n->title, AD_NOTIFY_TITLE_MAX, 1, err);
    if (!rc)
        rc = ad__check_text("message", n->message, AD_NOTIFY_MESSAGE_MAX, 0, err);
    if (!rc)
        rc = ad__json_text("payload", n->payload, 1 << JSON_OBJECT, payload, err);
    return rc;
}

int ad_store_notification_insert(struct ad_store *st, struct ad_notification *n,
                                 struct ad_err *err)
{
    struct ad_notification row;
    char *payload = NULL;
    int rc, own;

    rc = check_notification(n, &payload, err);
    if (!rc)
        rc = ad__new_id(n->id, err);
    if (!rc) {
        ad_time_now(n->created_at);
        n->read_at[0] = '\0';
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc) {
        row = *n;
        if (!row.message)
            row.message = (char *)"";    /* the column's "none"; n keeps NULL */
        rc = ad__write_end(st, own, st->ops->notifications->insert(st, &row, payload, err), err);
    }
    if (rc)
        n->id[0] = n->created_at[0] = '\0';
    free(payload);
    return rc;
}

int ad_store_notification_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                               const char *type, int limit, struct ad_notification **out,
                               size_t *n, struct ad_err *err)
{
    return ad_store_notification_list_before(st, tenant_id, unread_only, type, NULL, limit, out,
                                             n, err);
}

int ad_store_notification_list_before(struct ad_store *st, const char *tenant_id,
                                      bool unread_only, const char *type, const char *before_id,
                                      int limit, struct ad_notification **out, size_t *n,
                                      struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && type)
        rc = ad__check_dotted("type", type, AD_NOTIFY_TYPE_MAX, err);
    if (!rc && before_id)
        rc = ad__check_id("before id", before_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->notifications->list(st, tenant_id, unread_only, type, before_id, limit, out,
                                        n, err);
}

int ad_store_notification_mark_read(struct ad_store *st, const char *tenant_id, const char *id,
                                    int64_t *count, struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int64_t ignored = 0;
    int rc, own;

    if (!count)
        count = &ignored;
    *count = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && id)
        rc = ad__check_id("notification id", id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->notifications->mark_read(st, tenant_id, id, ad_time_now(now), count, err);
    rc = ad__write_end(st, own, rc, err);
    if (rc)
        *count = 0;
    return rc;
}
