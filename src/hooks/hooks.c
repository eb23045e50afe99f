/*
 * Webhooks and signed signals (hooks.h): the owner API of the webhooks,
 * webhook_deliveries, signal_receipts and signal_keys tables, the bus
 * handler that turns events into deliveries, and the job that sends one.
 *
 * Sections: the handle and its secrets; webhooks; deliveries and replays;
 * the bus handler; sending (libcurl); the deliver job; signals; JSON.
 */
#include "compat.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/hooks.h"
#include "autodev/json.h"
#include "autodev/libcurl.h"
#include "autodev/log.h"
#include "autodev/secret.h"
#include "autodev/topics.h"

struct ad_hooks {
    struct ad_store *st;
    struct ad_bus *bus;
    char *key_file;
    unsigned char key[AD_SIGNING_KEY_SIZE];
    int have_key;
    int max_attempts;
    int64_t backoff_ms;
    int64_t connect_ms;
    int64_t timeout_ms;
};

/* ---- the handle and its secrets ------------------------------------------------------ */

/* opt, else the environment's integer in [lo, hi], else def. */
static int64_t setting(int64_t opt, const char *env, int64_t lo, int64_t hi, int64_t def)
{
    const char *s = getenv(env);
    char *end;
    long long v;

    if (opt > 0)
        return opt;
    if (!s || !*s)
        return def;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        AD_LOG(AD_LOG_WARN, "hooks: ignoring %s='%s' (expected %lld..%lld)", env, s,
               (long long)lo, (long long)hi);
        return def;
    }
    return v;
}

int ad_hooks_new(const struct ad_hooks_options *o, struct ad_hooks **out, struct ad_err *err)
{
    struct ad_hooks *h;

    *out = NULL;
    if (!o->st || !o->key_file || !*o->key_file)
        return ad_error(err, AD_EINVAL, "hooks need a store and a signing key file");
    h = calloc(1, sizeof(*h));
    if (!h || !(h->key_file = strdup(o->key_file))) {
        free(h);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    h->st = o->st;
    h->bus = o->bus;
    h->max_attempts = (int)setting(o->max_attempts, "AUTODEV_WEBHOOK_MAX_ATTEMPTS", 1, 50,
                                   AD_HOOKS_DEFAULT_MAX_ATTEMPTS);
    h->backoff_ms = setting(o->backoff_ms, "AUTODEV_WEBHOOK_BACKOFF_MS", 1,
                            AD_HOOKS_MAX_BACKOFF_MS, AD_HOOKS_DEFAULT_BACKOFF_MS);
    h->connect_ms = setting(o->connect_timeout_ms, "AUTODEV_WEBHOOK_CONNECT_TIMEOUT_MS", 1,
                            600000, AD_HOOKS_DEFAULT_CONNECT_MS);
    h->timeout_ms = setting(o->timeout_ms, "AUTODEV_WEBHOOK_TIMEOUT_MS", 1, 600000,
                            AD_HOOKS_DEFAULT_TIMEOUT_MS);
    *out = h;
    return 0;
}

void ad_hooks_free(struct ad_hooks *h)
{
    if (!h)
        return;
    OPENSSL_cleanse(h->key, sizeof(h->key));
    free(h->key_file);
    free(h);
}

int ad_hooks_max_attempts(const struct ad_hooks *h)
{
    return h->max_attempts;
}

/* secret = hex(HMAC(master, "<purpose>:<id>:<generation>")), registered for masking. */
static int derive(struct ad_hooks *h, const char *purpose, const char *id, int64_t generation,
                  char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err)
{
    char msg[128];
    int n, rc;

    if (!h->have_key) {
        rc = ad_signing_key_load(h->key_file, h->key, err);
        if (rc < 0)
            return rc;
        h->have_key = 1;
    }
    n = snprintf(msg, sizeof(msg), "%s:%s:%lld", purpose, id, (long long)generation);
    if (n < 0 || n >= (int)sizeof(msg))
        return ad_error(err, AD_EINVAL, "id too long for a secret");
    ad_hmac_sha256_hex(h->key, sizeof(h->key), msg, (size_t)n, secret);
    if (!secret[0])
        return ad_error(err, AD_ENOMEM, "out of memory");
    /* A full registry (many webhooks in one process) masks less, it does not stop delivery. */
    rc = ad_secret_add(secret);
    if (rc < 0 && rc != AD_ELIMIT)
        return ad_error(err, rc, "cannot register a derived secret");
    return 0;
}

/* ---- webhooks ------------------------------------------------------------------------- */

/* http:// or https://, a host after it, no blank or control byte. */
static int check_url(const char *url, struct ad_err *err)
{
    size_t skip;

    if (!url || !*url)
        return ad_error(err, AD_EINVAL, "no webhook url given");
    if (strlen(url) > AD_WEBHOOK_URL_MAX)
        return ad_error(err, AD_EINVAL, "webhook url longer than %d bytes", AD_WEBHOOK_URL_MAX);
    if (!strncasecmp(url, "http://", 7))
        skip = 7;
    else if (!strncasecmp(url, "https://", 8))
        skip = 8;
    else
        return ad_error(err, AD_EINVAL, "webhook url '%.80s' must start with http:// or https://",
                        url);
    if (!url[skip] || url[skip] == '/')
        return ad_error(err, AD_EINVAL, "webhook url '%.80s' has no host", url);
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return ad_error(err, AD_EINVAL, "webhook url holds a blank or control character");
    }
    return 0;
}

int ad_webhook_add(struct ad_hooks *h, const char *tenant_id, const char *url,
                   const json_t *topics, const char *description, struct ad_webhook *out,
                   char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err)
{
    struct ad_webhook w = { 0 };
    size_t i;
    json_t *t;
    int rc = check_url(url, err);

    if (rc < 0)
        return rc;
    if (!json_is_array(topics) || json_array_size(topics) == 0)
        return ad_error(err, AD_EINVAL, "a webhook needs at least one topic (or *)");
    json_array_foreach(topics, i, t) {
        const char *s = json_string_value(t);

        if (!s || (strcmp(s, "*") && !ad_topic_find(s)))
            return ad_error(err, AD_EINVAL, "unknown topic '%s' (see the topic table, or use *)",
                            s ? s : "(not a string)");
    }
    snprintf(w.tenant_id, sizeof(w.tenant_id), "%s", tenant_id);
    w.url = (char *)url;
    w.topics = (json_t *)topics;
    w.description = (char *)description;
    w.active = true;
    rc = ad_store_webhook_insert(h->st, &w, err);
    if (rc == 0)
        rc = derive(h, "webhook", w.id, w.secret_generation, secret, err);
    if (rc < 0 && w.id[0])
        ad_store_webhook_delete(h->st, tenant_id, w.id, NULL);
    if (rc == 0 && out)
        rc = ad_store_webhook_get(h->st, tenant_id, w.id, out, err);
    return rc;
}

int ad_webhook_get(struct ad_hooks *h, const char *tenant_id, const char *id,
                   struct ad_webhook *out, struct ad_err *err)
{
    return ad_store_webhook_get(h->st, tenant_id, id, out, err);
}

int ad_webhook_list(struct ad_hooks *h, const char *tenant_id, struct ad_webhook **out,
                    size_t *n, struct ad_err *err)
{
    return ad_store_webhook_list(h->st, tenant_id, false, AD_LIST_MAX, out, n, err);
}

int ad_webhook_remove(struct ad_hooks *h, const char *tenant_id, const char *id,
                      struct ad_err *err)
{
    return ad_store_webhook_delete(h->st, tenant_id, id, err);
}

int ad_webhook_secret(struct ad_hooks *h, const char *tenant_id, const char *id, int rotate,
                      char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err)
{
    struct ad_webhook w = { 0 };
    int64_t gen = 0;
    int rc;

    if (rotate)
        rc = ad_store_webhook_rotate(h->st, tenant_id, id, &gen, err);
    else
        rc = ad_store_webhook_get(h->st, tenant_id, id, &w, err);
    if (rc == 0)
        rc = derive(h, "webhook", id, rotate ? gen : w.secret_generation, secret, err);
    ad_webhook_release(&w);
    return rc;
}

int ad_webhook_test(struct ad_hooks *h, const char *tenant_id, const char *id,
                    struct ad_err *err)
{
    struct ad_webhook w = { 0 };
    json_t *p;
    int rc;

    if (!h->bus)
        return ad_error(err, AD_EINVAL, "hooks have no bus to send a test event on");
    rc = ad_store_webhook_get(h->st, tenant_id, id, &w, err);
    ad_webhook_release(&w);
    if (rc < 0)
        return rc;
    p = json_pack("{s:s}", "webhook_id", id);
    if (!p)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_bus_emit(h->bus, tenant_id, AD_TOPIC_WEBHOOK_TEST, p, NULL, err);
    json_decref(p);
    return rc;
}

/* ---- deliveries and replays ------------------------------------------------------------ */

int ad_webhook_deliveries(struct ad_hooks *h, const char *tenant_id, const char *webhook_id,
                          int status, int limit, struct ad_webhook_delivery **out, size_t *n,
                          struct ad_err *err)
{
    return ad_store_webhook_delivery_list(h->st, tenant_id, webhook_id, status, limit, out, n,
                                          err);
}

int ad_webhook_delivery_get(struct ad_hooks *h, const char *tenant_id, const char *id,
                            struct ad_webhook_delivery *out, struct ad_err *err)
{
    return ad_store_webhook_delivery_get(h->st, tenant_id, id, out, err);
}

/* Queues the job that makes the delivery's next attempt, delay_ms from now. */
static int enqueue(struct ad_hooks *h, const struct ad_webhook_delivery *d, int64_t delay_ms,
                   struct ad_err *err)
{
    struct ad_jobs *q = NULL;
    json_t *p = json_pack("{s:s}", "delivery_id", d->id);
    int rc;

    if (!p)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_jobs_new(h->st, d->tenant_id, NULL, &q, err);
    if (rc == 0)
        rc = ad_jobs_enqueue(q, AD_WEBHOOK_JOB, p, NULL, delay_ms, NULL, NULL, err);
    ad_jobs_free(q);
    json_decref(p);
    return rc;
}

/* Pending from attempt 1, and its job, in one transaction. */
static int requeue(struct ad_hooks *h, struct ad_webhook_delivery *d, struct ad_err *err)
{
    int rc = ad_store_begin(h->st, err);

    if (rc < 0)
        return rc;
    d->status = AD_DELIVERY_PENDING;
    d->attempts = 0;
    d->next_attempt_at[0] = '\0';
    ad_time_now(d->next_attempt_at);
    rc = ad_store_webhook_delivery_update(h->st, d, err);
    if (rc == 0)
        rc = enqueue(h, d, 0, err);
    if (rc == 0)
        return ad_store_commit(h->st, err);
    ad_store_rollback(h->st);
    return rc;
}

int ad_webhook_replay(struct ad_hooks *h, const char *tenant_id, const char *id,
                      struct ad_webhook_delivery *out, struct ad_err *err)
{
    struct ad_webhook_delivery d = { 0 };
    int rc = ad_store_webhook_delivery_get(h->st, tenant_id, id, &d, err);

    if (rc == 0 && (d.status == AD_DELIVERY_DELIVERED || d.status == AD_DELIVERY_PENDING))
        rc = ad_error(err, AD_ESTATE, "delivery '%s' is %s: only failed or dead ones are "
                      "replayed", id, ad_delivery_status_name(d.status));
    if (rc == 0)
        rc = requeue(h, &d, err);
    if (rc == 0 && out)
        *out = d;
    else
        ad_webhook_delivery_release(&d);
    return rc;
}

int ad_webhook_replay_dead(struct ad_hooks *h, const char *tenant_id, const char *webhook_id,
                           int *count, struct ad_err *err)
{
    struct ad_webhook_delivery *v = NULL;
    size_t n = 0;
    int rc = ad_store_webhook_delivery_list(h->st, tenant_id, webhook_id, AD_DELIVERY_DEAD,
                                            AD_LIST_MAX, &v, &n, err);

    *count = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = requeue(h, &v[i], err);
        if (rc == 0)
            (*count)++;
    }
    ad_webhook_delivery_list_free(v, n);
    return rc;
}

/* ---- the bus handler ------------------------------------------------------------------ */

/* A webhook.test event goes to the webhook it names only. */
static int wants(const struct ad_webhook *w, const struct ad_bus_event *ev)
{
    if (!strcmp(ev->topic, AD_TOPIC_WEBHOOK_TEST)) {
        const char *id = ad_json_str(ev->payload, "webhook_id");

        return id && !strcmp(id, w->id);
    }
    return ad_hooks_topics_match(w->topics, ev->topic);
}

int ad_hooks_wanted(struct ad_hooks *h, const char *tenant_id)
{
    struct ad_webhook *v = NULL;
    size_t n = 0;
    int rc = ad_store_webhook_list(h->st, tenant_id, true, 1, &v, &n, NULL);

    ad_webhook_list_free(v, n);
    return rc < 0 || n > 0;
}

int ad_hooks_on_event(struct ad_hooks *h, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct ad_webhook *v = NULL;
    size_t n = 0;
    int rc;

    if (!ev->id || !ev->id[0])
        return 0;   /* no outbox, no delivery: nothing durable to point at */
    rc = ad_store_webhook_list(h->st, ev->tenant_id, true, AD_LIST_MAX, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ad_webhook_delivery d = { 0 };

        if (!wants(&v[i], ev))
            continue;
        snprintf(d.tenant_id, sizeof(d.tenant_id), "%s", ev->tenant_id);
        snprintf(d.webhook_id, sizeof(d.webhook_id), "%s", v[i].id);
        snprintf(d.event_id, sizeof(d.event_id), "%s", ev->id);
        d.topic = (char *)ev->topic;
        d.payload = (json_t *)ev->payload;
        d.status = AD_DELIVERY_PENDING;
        ad_time_now(d.next_attempt_at);
        rc = ad_store_webhook_delivery_insert(h->st, &d, err);
        if (rc == 0)
            rc = enqueue(h, &d, 0, err);
    }
    ad_webhook_list_free(v, n);
    return rc;
}

/* ---- sending (libcurl) ---------------------------------------------------------------- */

/* The answer's body is counted and dropped; past the cap the transfer stops. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    size_t *seen = arg;

    (void)p;
    *seen += size * nmemb;
    return *seen > AD_HOOKS_BODY_CAP ? 0 : size * nmemb;
}

struct outcome {
    long status;                 /* the HTTP status, 0 without an answer */
    char error[AD_WEBHOOK_ERROR_MAX + 1];
};

/* Keeps printable ASCII of an error for the row: it may echo the receiver's words. */
static void set_error(struct outcome *o, const char *fmt, const char *s)
{
    size_t i;

    snprintf(o->error, sizeof(o->error), fmt, s);
    for (i = 0; o->error[i]; i++) {
        if ((unsigned char)o->error[i] < ' ' || (unsigned char)o->error[i] > '~')
            o->error[i] = '?';
    }
    ad_secret_redact(o->error);
}

static int post(struct ad_hooks *h, const char *url, const char *body, size_t len,
                struct curl_slist *hl, struct outcome *o)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    size_t seen = 0;
    CURLcode c = CURLE_OK;
    CURL *e;

    if (!(e = curl_easy_init())) {
        set_error(o, "%s", "cannot start libcurl");
        return -1;
    }
#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(e, opt, val); } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTPHEADER, hl);
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_ms);
    SET(CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &seen);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_USERAGENT, "autodev-webhook/0.1");
#undef SET
    if (c == CURLE_OK)
        c = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &o->status);
    curl_easy_cleanup(e);
    /* A 2xx whose body passed the cap was still accepted by the receiver. */
    if (c == CURLE_WRITE_ERROR && o->status >= 200 && o->status < 300)
        c = CURLE_OK;
    if (c != CURLE_OK) {
        set_error(o, "%s", errbuf[0] ? errbuf : curl_easy_strerror(c));
        return -1;
    }
    if (o->status < 200 || o->status > 299) {
        char what[32];

        snprintf(what, sizeof(what), "%ld", o->status);
        set_error(o, "receiver answered HTTP %s", what);
        return -1;
    }
    return 0;
}

/* The body of delivery d: {"id", "topic", "created_at", "tenant_id", "data"}. */
static char *delivery_body(const struct ad_webhook_delivery *d)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", d->event_id, "topic", d->topic,
                          "created_at", d->created_at, "tenant_id", d->tenant_id,
                          "data", d->payload);
    char *s = j ? ad_json_dumps(j) : NULL;

    json_decref(j);
    return s;
}

/* Signs and POSTs d to w; o says how it went. */
static int send_one(struct ad_hooks *h, const struct ad_webhook *w,
                    const struct ad_webhook_delivery *d, struct outcome *o, struct ad_err *err)
{
    char secret[AD_HOOKS_SECRET_SIZE], sig[AD_HOOKS_SIGNATURE_SIZE], line[160];
    struct curl_slist *hl = NULL;
    int64_t ts = ad_now_ms() / 1000;
    char *body;
    int rc = ad_curl_load(err);

    if (rc == 0)
        rc = derive(h, "webhook", w->id, w->secret_generation, secret, err);
    if (rc < 0)
        return rc;
    body = delivery_body(d);
    if (!body)
        return ad_error(err, AD_ENOMEM, "out of memory");
    ad_hooks_sign(secret, ts, body, strlen(body), sig);
    OPENSSL_cleanse(secret, sizeof(secret));
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = hl ? curl_slist_append(hl, "Expect:") : NULL;
    snprintf(line, sizeof(line), "X-Autodev-Timestamp: %lld", (long long)ts);
    hl = hl ? curl_slist_append(hl, line) : NULL;
    snprintf(line, sizeof(line), "X-Autodev-Signature: %s", sig);
    hl = hl ? curl_slist_append(hl, line) : NULL;
    snprintf(line, sizeof(line), "X-Autodev-Event-Id: %s", d->event_id);
    hl = hl ? curl_slist_append(hl, line) : NULL;
    if (!hl) {
        free(body);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    post(h, w->url, body, strlen(body), hl, o);
    curl_slist_free_all(hl);
    free(body);
    return 0;
}

/* ---- the deliver job ------------------------------------------------------------------- */

/*
 * The delay before the attempt after failed attempt n (1-based): base *
 * 2^(n-1), capped, with "equal jitter" (half fixed, half random) so that
 * receivers failing together do not come back together.
 */
static int64_t backoff(const struct ad_hooks *h, int n)
{
    int64_t d = h->backoff_ms;
    uint64_t r = 0;

    for (int i = 1; i < n && d < AD_HOOKS_MAX_BACKOFF_MS; i++)
        d *= 2;
    if (d > AD_HOOKS_MAX_BACKOFF_MS)
        d = AD_HOOKS_MAX_BACKOFF_MS;
    if (d < 2 || ad_random(&r, sizeof(r)) < 0)
        return d;
    return d / 2 + (int64_t)(r % (uint64_t)(d - d / 2 + 1));
}

/* Writes the attempt's result (and the next attempt's job) while the job is still ours. */
static int record(struct ad_hooks *h, struct ad_webhook_delivery *d, struct ad_job_lease *lease,
                  int64_t delay_ms, struct ad_err *err)
{
    int rc = ad_store_begin(h->st, err);

    if (rc < 0)
        return rc;
    rc = ad_jobs_lease_hold(lease, h->st, err);
    if (rc == 0)
        rc = ad_store_webhook_delivery_update(h->st, d, err);
    if (rc == 0 && d->status == AD_DELIVERY_PENDING)
        rc = enqueue(h, d, delay_ms, err);
    if (rc == 0)
        return ad_store_commit(h->st, err);
    ad_store_rollback(h->st);
    return rc;
}

/* A delivery whose webhook went away or was switched off: failed, nothing sent. */
static int give_up(struct ad_hooks *h, struct ad_webhook_delivery *d, struct ad_job_lease *lease,
                   const char *why, struct ad_err *err)
{
    d->status = AD_DELIVERY_FAILED;
    d->next_attempt_at[0] = '\0';
    free(d->last_error);
    d->last_error = strdup(why);
    return record(h, d, lease, 0, err);
}

int ad_hooks_deliver(struct ad_hooks *h, const struct ad_job *job, struct ad_job_lease *lease,
                     struct ad_err *err)
{
    struct ad_webhook_delivery d = { 0 };
    struct ad_webhook w = { 0 };
    struct outcome o = { 0 };
    const char *id = ad_json_str(job->payload, "delivery_id");
    int64_t delay = 0;
    int rc;

    if (!id || !ad_id_valid(id))
        return ad_error(err, AD_JOB_PERMANENT, "webhook job without a valid delivery_id");
    rc = ad_store_webhook_delivery_get(h->st, job->tenant_id, id, &d, err);
    if (rc == AD_ENOTFOUND)
        return AD_JOB_PERMANENT;
    if (rc < 0 || d.status != AD_DELIVERY_PENDING)
        goto out;   /* a job queued twice (a replay raced it): the row says it is done */
    rc = ad_store_webhook_get(h->st, job->tenant_id, d.webhook_id, &w, err);
    if (rc == AD_ENOTFOUND) {
        ad_err_clear(err);
        rc = give_up(h, &d, lease, "webhook removed", err);
        goto out;
    }
    if (rc == 0 && !w.active) {
        rc = give_up(h, &d, lease, "webhook disabled", err);
        goto out;
    }
    if (rc == 0)
        rc = send_one(h, &w, &d, &o, err);
    if (rc < 0)
        goto out;
    d.attempts++;
    d.last_status_code = (int)(o.status >= 0 && o.status <= 999 ? o.status : 0);
    free(d.last_error);
    d.last_error = o.error[0] ? strdup(o.error) : NULL;
    if (!o.error[0]) {
        d.status = AD_DELIVERY_DELIVERED;
        ad_time_now(d.delivered_at);
        d.next_attempt_at[0] = '\0';
    } else if (d.attempts >= h->max_attempts) {
        d.status = AD_DELIVERY_DEAD;
        d.next_attempt_at[0] = '\0';
    } else {
        delay = backoff(h, d.attempts);
        ad_time_iso(ad_now_ms() + delay, d.next_attempt_at);
    }
    rc = record(h, &d, lease, delay, err);
out:
    ad_webhook_release(&w);
    ad_webhook_delivery_release(&d);
    return rc;
}

/* ---- signals ------------------------------------------------------------------------- */

int ad_signals_secret(struct ad_hooks *h, const char *tenant_id, int rotate,
                      char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err)
{
    int64_t gen = 1;
    int rc = rotate ? ad_store_signal_rotate(h->st, tenant_id, &gen, err)
                    : ad_store_signal_generation(h->st, tenant_id, &gen, err);

    if (rc == 0)
        rc = derive(h, "signals", tenant_id, gen, secret, err);
    return rc;
}

int ad_signals_verify(struct ad_hooks *h, const char *tenant_id, const char *ts_header,
                      const char *sig_header, const void *body, size_t len,
                      struct ad_err *err)
{
    char secret[AD_HOOKS_SECRET_SIZE], hash[AD_HOOKS_SECRET_SIZE], before[AD_TIME_SIZE];
    int64_t now_ms = ad_now_ms();
    int rc = ad_signals_secret(h, tenant_id, 0, secret, err);

    if (rc < 0)
        return rc;
    rc = ad_hooks_verify(secret, ts_header, sig_header, body, len, now_ms / 1000, err);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc < 0)
        return rc;
    /* A signature verifies for at most twice the tolerance: older receipts can go. */
    ad_time_iso(now_ms - 2000LL * AD_HOOKS_TOLERANCE_S, before);
    rc = ad_store_signal_receipt_prune(h->st, before, NULL, err);
    if (rc < 0)
        return rc;
    /* The guard keeps a hash of the signature, not the signature. */
    ad_hmac_sha256_hex("receipt", 7, sig_header, strlen(sig_header), hash);
    rc = ad_store_signal_receipt_insert(h->st, tenant_id, hash, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EPERM, "replayed signature: this request was received before");
    return rc;
}

/* ---- JSON ------------------------------------------------------------------------------ */

json_t *ad_webhook_json(const struct ad_webhook *w)
{
    return json_pack("{s:s, s:s, s:O, s:b, s:I, s:s?, s:s}", "id", w->id, "url", w->url,
                     "topics", w->topics, "active", w->active,
                     "secret_generation", (json_int_t)w->secret_generation,
                     "description", w->description, "created_at", w->created_at);
}

json_t *ad_webhook_delivery_json(const struct ad_webhook_delivery *d)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s?, s:s?, s:s, s:s?}",
                     "id", d->id, "webhook_id", d->webhook_id, "event_id", d->event_id,
                     "topic", d->topic, "status", ad_delivery_status_name(d->status),
                     "attempts", d->attempts, "last_status_code", d->last_status_code,
                     "last_error", d->last_error,
                     "next_attempt_at", d->next_attempt_at[0] ? d->next_attempt_at : NULL,
                     "created_at", d->created_at,
                     "delivered_at", d->delivered_at[0] ? d->delivered_at : NULL);
}
