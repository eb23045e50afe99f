/*
 * Notifications for humans: capabilities unlocked, candidates to review.
 * Module learn owns the notifications table; the faces list and mark them
 * through the calls here.
 */
#include "compat.h"

#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/store.h"

#include "learn_int.h"

int ad__notify(struct ad_store *st, const char *tenant_id, const char *agent_id,
               const char *type, const char *title, const char *message, const json_t *payload,
               char id_out[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_notification n = { 0 };
    int rc;

    snprintf(n.tenant_id, sizeof(n.tenant_id), "%s", tenant_id);
    snprintf(n.agent_id, sizeof(n.agent_id), "%s", agent_id ? agent_id : "");
    /* Borrowed for the insert; the store copies nothing back into them. */
    n.type = (char *)type;
    n.title = (char *)title;
    n.message = (char *)message;
    n.payload = (json_t *)payload;
    rc = ad_store_notification_insert(st, &n, err);
    if (rc == 0 && id_out)
        memcpy(id_out, n.id, AD_ID_SIZE);
    return rc;
}

int ad_notifications_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                          const char *type, int limit, struct ad_notification **out, size_t *n,
                          struct ad_err *err)
{
    return ad_store_notification_list(st, tenant_id, unread_only, type, limit, out, n, err);
}

int ad_notifications_list_before(struct ad_store *st, const char *tenant_id, bool unread_only,
                                 const char *type, const char *before_id, int limit,
                                 struct ad_notification **out, size_t *n, struct ad_err *err)
{
    return ad_store_notification_list_before(st, tenant_id, unread_only, type, before_id, limit,
                                             out, n, err);
}

int ad_notifications_mark_read(struct ad_store *st, const char *tenant_id, const char *id,
                               int64_t *count, struct ad_err *err)
{
    return ad_store_notification_mark_read(st, tenant_id, id, count, err);
}

/*
 * A notification is about a row when its payload names it: every
 * notification about a candidate carries "candidate_id" (memento.c), about
 * a mutation "mutation_id" (mutations.c). The unread ones are few (a review
 * reads them), so they are listed and matched here rather than by a query
 * of their own.
 */
int ad__notifications_read_about(struct ad_store *st, const char *tenant_id, const char *key,
                                 const char *id, struct ad_err *err)
{
    struct ad_notification *v = NULL;
    size_t n = 0;
    int rc = ad_store_notification_list(st, tenant_id, true, NULL, AD_LIST_MAX, &v, &n, err);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *about = ad_json_str(v[i].payload, key);

        if (about && !strcmp(about, id))
            rc = ad_store_notification_mark_read(st, tenant_id, v[i].id, NULL, err);
    }
    ad_notification_list_free(v, n);
    return rc;
}

int ad__notifications_read_candidate(struct ad_store *st, const char *tenant_id,
                                     const char *candidate_id, struct ad_err *err)
{
    return ad__notifications_read_about(st, tenant_id, "candidate_id", candidate_id, err);
}
