/*
 * The routes of module hooks: webhooks and their deliveries (admin), and
 * the signed delayed fitness signals.
 *
 * POST /v1/fitness/{variant_id}/signals takes no bearer token: the sender
 * (an invoicing or CRM system, like any webhook sender) holds the tenant's
 * signal secret and nothing else, and its signature is the credential.
 * X-Autodev-Tenant names the tenant only to pick the secret to check: a
 * wrong tenant fails the signature like a wrong secret does, and answers
 * the same 401, so the header tells an outsider nothing. The signature
 * check, the replay guard's receipt and the fitness change are one
 * transaction: a request refused at any step changes nothing.
 */
#include "compat.h"

#include "autodev/fitness.h"
#include "autodev/hooks.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/runtime.h"
#include "autodev/store.h"

#include "server_int.h"

static int hooks_of(struct ad__req *r, struct ad__res *res, struct ad_hooks **h)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_runtime_hooks(r->rt, h, &err) < 0) {
        ad__res_err(res, &err);
        return -1;
    }
    return 0;
}

int ad__h_webhook_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook *v = NULL;
    struct ad_hooks *h;
    size_t n = 0;
    json_t *arr;

    if (hooks_of(r, res, &h) < 0)
        return 0;
    if (ad_webhook_list(h, r->tok.tenant_id, &v, &n, &err) < 0)
        return ad__res_err(res, &err);
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, ad_webhook_json(&v[i])) < 0)
            arr = (json_decref(arr), NULL);
    }
    ad_webhook_list_free(v, n);
    return ad__res_json(res, 200, arr ? json_pack("{s:o}", "items", arr) : NULL);
}

/* "topics": an array of topics, or one string "T1,T2" or "*". */
static int body_topics(const json_t *body, json_t **out, struct ad_err *err)
{
    json_t *t = json_object_get(body, "topics");
    struct ad_buf b = AD_BUF_INIT;
    size_t i;
    json_t *x;
    int rc;

    if (json_is_string(t))
        return ad_hooks_topics_parse(json_string_value(t), out, err);
    if (!json_is_array(t) || json_array_size(t) == 0)
        return ad_error(err, AD_EINVAL, "field 'topics': expected a non-empty array of topics "
                        "or \"*\"");
    json_array_foreach(t, i, x) {
        if (!json_is_string(x) || strchr(json_string_value(x), ','))
            return ad_error(err, AD_EINVAL, "field 'topics': every item must be a topic");
        if ((i && ad_buf_adds(&b, ",") < 0) || ad_buf_adds(&b, json_string_value(x)) < 0) {
            ad_buf_release(&b);
            return ad_error(err, AD_ENOMEM, "out of memory");
        }
    }
    rc = ad_hooks_topics_parse(b.ptr, out, err);
    ad_buf_release(&b);
    return rc;
}

int ad__h_webhook_add(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "url", "topics", "description", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook w = { 0 };
    char secret[AD_HOOKS_SECRET_SIZE];
    const char *url = NULL, *desc = NULL;
    json_t *body = NULL, *topics = NULL, *j;
    struct ad_hooks *h;
    int rc;

    if (hooks_of(r, res, &h) < 0 || ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "url", AD_JSON_REQUIRED, AD_WEBHOOK_URL_MAX, &url, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "description", AD_JSON_NULLABLE, AD_WEBHOOK_DESC_MAX, &desc,
                             &err);
    if (rc == 0)
        rc = body_topics(body, &topics, &err);
    if (rc == 0)
        rc = ad_webhook_add(h, r->tok.tenant_id, url, topics, desc, &w, secret, &err);
    json_decref(topics);
    json_decref(body);
    if (rc < 0)
        return ad__res_err(res, &err);
    j = ad_webhook_json(&w);
    if (j && json_object_set_new(j, "secret", json_string(secret)) < 0)
        j = (json_decref(j), NULL);
    ad_webhook_release(&w);
    return ad__res_json(res, 201, j);
}

int ad__h_webhook_remove(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_hooks *h;

    if (!ad_id_valid(r->param[0]))
        return ad__res_fail(res, 404, "unknown webhook '%s'", r->param[0]);
    if (hooks_of(r, res, &h) < 0)
        return 0;
    if (ad_webhook_remove(h, r->tok.tenant_id, r->param[0], &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, json_pack("{s:s, s:b}", "id", r->param[0], "removed", 1));
}

int ad__h_delivery_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook_delivery *v = NULL;
    const char *ss = ad__query(r, "status"), *webhook = ad__query(r, "webhook");
    enum ad_delivery_status st;
    struct ad_hooks *h;
    int status = -1;
    size_t n = 0;
    json_t *arr;

    if (ss && ad_delivery_status_parse(ss, &st) < 0)
        return ad__res_fail(res, 400, "invalid status '%s': expected pending, delivered, failed "
                            "or dead", ss);
    if (ss)
        status = (int)st;
    if (webhook && !ad_id_valid(webhook))
        return ad__res_fail(res, 404, "unknown webhook '%s'", webhook);
    if (hooks_of(r, res, &h) < 0)
        return 0;
    if (ad_webhook_deliveries(h, r->tok.tenant_id, webhook, status, AD__PAGE_MAX, &v, &n,
                              &err) < 0)
        return ad__res_err(res, &err);
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, ad_webhook_delivery_json(&v[i])) < 0)
            arr = (json_decref(arr), NULL);
    }
    ad_webhook_delivery_list_free(v, n);
    return ad__res_json(res, 200, arr ? json_pack("{s:o}", "items", arr) : NULL);
}

int ad__h_delivery_replay(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook_delivery d = { 0 };
    struct ad_hooks *h;
    json_t *j;

    if (!ad_id_valid(r->param[0]))
        return ad__res_fail(res, 404, "unknown delivery '%s'", r->param[0]);
    if (hooks_of(r, res, &h) < 0)
        return 0;
    if (ad_webhook_replay(h, r->tok.tenant_id, r->param[0], &d, &err) < 0)
        return ad__res_err(res, &err);
    j = ad_webhook_delivery_json(&d);
    ad_webhook_delivery_release(&d);
    return ad__res_json(res, 202, j);
}

/* 401 with a code that says which check failed; the message says how. */
static int refuse(struct ad__res *res, const char *msg)
{
    const char *code = strstr(msg, "replay") ? "replayed_signature"
                       : strstr(msg, "tolerance") ? "stale_timestamp"
                       : strstr(msg, "missing") ? "missing_signature"
                       : "invalid_signature";

    return ad__res_json(res, 401, json_pack("{s:{s:s, s:s}}", "error", "code", code,
                                            "message", msg));
}

/* Verify, parse, apply; the caller's transaction is open and rolled back on failure. */
static int apply_signals(struct ad__req *r, struct ad__res *res, struct ad_hooks *h,
                         const char *tenant_id, double *score)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *signals = NULL;
    int rc;

    rc = ad_signals_verify(h, tenant_id, ad__header(r, "X-Autodev-Timestamp"),
                           ad__header(r, "X-Autodev-Signature"), r->body.ptr ? r->body.ptr : "",
                           r->body.len, &err);
    if (rc == AD_EPERM)
        return refuse(res, err.msg), rc;
    if (rc < 0)
        return ad__res_err(res, &err), rc;
    if (ad__body_object(r, res, 0, &signals) < 0)
        return AD_EINVAL;
    rc = ad_fitness_evaluate_delayed(r->st, r->bus, tenant_id, r->param[0], signals, score,
                                     &err);
    json_decref(signals);
    if (rc < 0)
        ad__res_err(res, &err);
    return rc;
}

int ad__h_signals(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    const char *tenant = ad__header(r, "X-Autodev-Tenant");
    char tenant_id[AD_ID_SIZE];
    struct ad_hooks *h;
    double score = 0;
    int rc;

    if (!tenant || !*tenant)
        return refuse(res, "missing X-Autodev-Tenant header (the tenant whose secret signed)");
    rc = ad_runtime_tenant(r->rt, tenant, 0, tenant_id, &err);
    /* An unknown tenant reads like a bad signature: the header proves nothing by itself. */
    if (rc == AD_ENOTFOUND || rc == AD_EINVAL)
        return refuse(res, "signature does not match");
    if (rc < 0)
        return ad__res_err(res, &err);
    if (!ad_id_valid(r->param[0]))
        return ad__res_fail(res, 404, "unknown variant '%s'", r->param[0]);
    if (hooks_of(r, res, &h) < 0)
        return 0;
    if (ad_store_begin(r->st, &err) < 0)
        return ad__res_err(res, &err);
    rc = apply_signals(r, res, h, tenant_id, &score);
    if (rc < 0) {
        ad_store_rollback(r->st);
        return 0;
    }
    if (ad_store_commit(r->st, &err) < 0)
        return ad__res_err(res, &err);
    /* The signal is in; terms that cannot run leave the score their last values gave. */
    if (ad_runtime_fitness_terms_apply(r->rt, r->st, r->bus, tenant_id, r->param[0], &score,
                                       &err) < 0) {
        AD_LOG(AD_LOG_WARN, "signals: fitness terms of variant %s not run: %s", r->param[0],
               err.msg);
        return ad__res_json(res, 200, json_pack("{s:s, s:f, s:s}", "variant_id", r->param[0],
                                                "fitness_score", score, "terms_error",
                                                err.msg));
    }
    return ad__res_json(res, 200, json_pack("{s:s, s:f}", "variant_id", r->param[0],
                                            "fitness_score", score));
}
