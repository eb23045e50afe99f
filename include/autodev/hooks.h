/*
 * Hooks: outgoing webhooks and signed incoming fitness signals.
 *
 * Module hooks owns the webhooks, webhook_deliveries, signal_receipts and
 * signal_keys tables: every other module and face goes through the calls
 * here, never through the store.
 *
 * Signature scheme (both directions, one implementation). A signed
 * request carries
 *     X-Autodev-Timestamp: <unix seconds>
 *     X-Autodev-Signature: sha256=<lower-case hex of HMAC-SHA256(secret,
 *                          timestamp + "." + body)>
 * The receiver compares in constant time, accepts a timestamp within
 * AD_HOOKS_TOLERANCE_S of its clock either way, and refuses a signature it
 * saw before (the replay guard keeps each one for twice the tolerance:
 * the longest it can verify).
 *
 * No secret is stored. Each process reads a 32-byte master key from a key
 * file (created atomically, mode 0600, on first use; refused when another
 * user owns it or group or others may read it). A webhook's secret is
 *     hex(HMAC-SHA256(master, "webhook:" + webhook_id + ":" + generation))
 * and a tenant's signal secret
 *     hex(HMAC-SHA256(master, "signals:" + tenant_id + ":" + generation));
 * the generations (not secret) are in the store, so rotating a secret is
 * a counter going up. Every process sharing a database (serve, worker,
 * the command line) must therefore read the same key file. Derived
 * secrets are registered with autodev/secret.h so they never reach a log.
 *
 * Delivery. The runtime subscribes ad_hooks_on_event to every topic: for
 * each active webhook of the event's tenant whose topics match, a
 * delivery row and a webhook.deliver job are written inside the event's
 * own transaction (an event without its deliveries is never committed, so
 * delivery is at least once). One job sends one delivery, so a slow or
 * failing receiver holds one worker for at most the request timeout and
 * never the bus or another receiver. A job POSTs the JSON
 *     {"id", "topic", "created_at", "tenant_id", "data"}
 * signed as above with X-Autodev-Event-Id, over http or https only,
 * without following redirects, with connect and total timeouts; the
 * answer's body is read up to 64 KiB and dropped. 2xx is delivered;
 * anything else is retried by a new job after an exponential, jittered
 * backoff until max_attempts, after which the delivery is dead (the dead
 * letters, which can be listed and replayed). A webhook removed or
 * disabled meanwhile fails its pending deliveries.
 *
 * Thread model: a struct ad_hooks belongs to the thread of its store.
 * Errors: 0 or a negative AD_E* code with detail in err.
 */
#ifndef AUTODEV_HOOKS_H
#define AUTODEV_HOOKS_H

/* Module hooks, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/hooks.h belongs to module hooks (layer 3), above the module including it"
#endif

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "autodev/bus.h"
#include "autodev/error.h"
#include "autodev/jobs.h"
#include "autodev/store.h"

#define AD_WEBHOOK_JOB "webhook.deliver"
#define AD_SIGNING_KEY_SIZE 32
#define AD_SIGNING_KEY_NAME "signing.key"     /* beside the database, by default */
#define AD_HOOKS_SECRET_SIZE 65               /* 64 lower-case hex digits and NUL */
#define AD_HOOKS_SIGNATURE_SIZE 72            /* "sha256=", 64 hex digits, NUL */
#define AD_HOOKS_TOLERANCE_S 300
#define AD_HOOKS_BODY_CAP (64 * 1024)         /* of a receiver's answer, read and dropped */

/* Defaults of struct ad_hooks_options (0 takes the environment, then these). */
#define AD_HOOKS_DEFAULT_MAX_ATTEMPTS 8       /* $AUTODEV_WEBHOOK_MAX_ATTEMPTS */
#define AD_HOOKS_DEFAULT_BACKOFF_MS 2000      /* $AUTODEV_WEBHOOK_BACKOFF_MS: first retry */
#define AD_HOOKS_MAX_BACKOFF_MS 3600000       /* one hour */
#define AD_HOOKS_DEFAULT_CONNECT_MS 5000      /* $AUTODEV_WEBHOOK_CONNECT_TIMEOUT_MS */
#define AD_HOOKS_DEFAULT_TIMEOUT_MS 10000     /* $AUTODEV_WEBHOOK_TIMEOUT_MS */

/* ---- signing (sign.c): no store, no state ---------------------------------------- */

/* out = lower-case hex of HMAC-SHA256(key, msg). */
void ad_hmac_sha256_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        char out[AD_HOOKS_SECRET_SIZE]);
/* out = "sha256=" + hex HMAC-SHA256(secret, "<ts>." + body). */
void ad_hooks_sign(const char *secret, int64_t ts, const void *body, size_t len,
                   char out[AD_HOOKS_SIGNATURE_SIZE]);
/*
 * Verifies the two header values (either may be NULL: missing) over body
 * at now_s. AD_EPERM naming what is wrong (missing or malformed header,
 * timestamp outside the tolerance, signature mismatch), else 0. The
 * comparison is constant time.
 */
int ad_hooks_verify(const char *secret, const char *ts_header, const char *sig_header,
                    const void *body, size_t len, int64_t now_s, struct ad_err *err);

/*
 * The master key in path: read it, or create it (32 random bytes, mode
 * 0600, atomically: a process racing another ends with the same key) when
 * missing. AD_EPERM when the file is not a regular file, another user owns
 * it, group or others may read or write it, or it is not 32 bytes.
 */
int ad_signing_key_load(const char *path, unsigned char key[AD_SIGNING_KEY_SIZE],
                        struct ad_err *err);

/* Whether a webhook with topics (an array of topics, or ["*"]) wants topic. */
int ad_hooks_topics_match(const json_t *topics, const char *topic);
/*
 * "T1,T2" or "*" into a new array (*out, owned by the caller). Each topic
 * must be one of the topic table's (topics.h); AD_EINVAL naming the one
 * that is not.
 */
int ad_hooks_topics_parse(const char *csv, json_t **out, struct ad_err *err);

/* ---- the hooks of a process (hooks.c) ------------------------------------------- */

struct ad_hooks;

struct ad_hooks_options {
    struct ad_store *st;          /* borrowed, required */
    struct ad_bus *bus;           /* borrowed; required for ad_webhook_test */
    const char *key_file;         /* the master key's path, required (copied) */
    int max_attempts;             /* 0: $AUTODEV_WEBHOOK_MAX_ATTEMPTS, else the default */
    int64_t backoff_ms;           /* 0: $AUTODEV_WEBHOOK_BACKOFF_MS, else the default */
    int64_t connect_timeout_ms;   /* 0: $AUTODEV_WEBHOOK_CONNECT_TIMEOUT_MS, else default */
    int64_t timeout_ms;           /* 0: $AUTODEV_WEBHOOK_TIMEOUT_MS, else the default */
};

/* The key file is read on first need, not here. Free with ad_hooks_free. */
int ad_hooks_new(const struct ad_hooks_options *o, struct ad_hooks **out, struct ad_err *err);
void ad_hooks_free(struct ad_hooks *h);

/*
 * Adds a webhook of tenant_id (url http:// or https://; topics as
 * ad_hooks_topics_parse gives; description may be NULL). *out (may be
 * NULL) gets the row, secret its signing secret: the one time a face
 * shows it without being asked.
 */
int ad_webhook_add(struct ad_hooks *h, const char *tenant_id, const char *url,
                   const json_t *topics, const char *description, struct ad_webhook *out,
                   char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err);
int ad_webhook_get(struct ad_hooks *h, const char *tenant_id, const char *id,
                   struct ad_webhook *out, struct ad_err *err);
/* Oldest first. Free with ad_webhook_list_free. */
int ad_webhook_list(struct ad_hooks *h, const char *tenant_id, struct ad_webhook **out,
                    size_t *n, struct ad_err *err);
/* Removes it; its pending deliveries fail when their jobs run. AD_ENOTFOUND. */
int ad_webhook_remove(struct ad_hooks *h, const char *tenant_id, const char *id,
                      struct ad_err *err);
/* The webhook's secret; with rotate a new one first (the old stops verifying). */
int ad_webhook_secret(struct ad_hooks *h, const char *tenant_id, const char *id, int rotate,
                      char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err);
/* Emits webhook.test {webhook_id}: delivered to that webhook only. */
int ad_webhook_test(struct ad_hooks *h, const char *tenant_id, const char *id,
                    struct ad_err *err);

/* Newest first; webhook_id NULL any, status < 0 any. Free with ad_webhook_delivery_list_free. */
int ad_webhook_deliveries(struct ad_hooks *h, const char *tenant_id, const char *webhook_id,
                          int status, int limit, struct ad_webhook_delivery **out, size_t *n,
                          struct ad_err *err);
int ad_webhook_delivery_get(struct ad_hooks *h, const char *tenant_id, const char *id,
                            struct ad_webhook_delivery *out, struct ad_err *err);
/*
 * Queues a delivery again, from attempt 1 (pending, a new job now). One
 * already delivered or still pending is AD_ESTATE. *out (may be NULL)
 * gets the row as written.
 */
int ad_webhook_replay(struct ad_hooks *h, const char *tenant_id, const char *id,
                      struct ad_webhook_delivery *out, struct ad_err *err);
/* Replays every dead delivery (of webhook_id, or NULL: of any); *count how many. */
int ad_webhook_replay_dead(struct ad_hooks *h, const char *tenant_id, const char *webhook_id,
                           int *count, struct ad_err *err);

/*
 * Whether the tenant has an active webhook (the bus asks before it opens
 * the handler's savepoint). 1 on a store error too: the handler then runs
 * and reports it, rather than an event passing unseen.
 */
int ad_hooks_wanted(struct ad_hooks *h, const char *tenant_id);
/* The bus handler's body: deliveries and jobs for ev, in ev's transaction. */
int ad_hooks_on_event(struct ad_hooks *h, const struct ad_bus_event *ev, struct ad_err *err);
/* The webhook.deliver job's body (the job-kind table's handler calls it). */
int ad_hooks_deliver(struct ad_hooks *h, const struct ad_job *job, struct ad_job_lease *lease,
                     struct ad_err *err);
/* The retries a delivery gets, as configured (for the job-kind table). */
int ad_hooks_max_attempts(const struct ad_hooks *h);

/* JSON forms for the faces (new references; NULL on ENOMEM). No secret. */
json_t *ad_webhook_json(const struct ad_webhook *w);
json_t *ad_webhook_delivery_json(const struct ad_webhook_delivery *d);

/* ---- signed incoming signals (hooks.c) ---------------------------------------------- */

/* The tenant's signal secret; with rotate a new one first. */
int ad_signals_secret(struct ad_hooks *h, const char *tenant_id, int rotate,
                      char secret[AD_HOOKS_SECRET_SIZE], struct ad_err *err);
/*
 * Verifies a signed request of tenant_id (the header values and the raw
 * body) and records its signature in the replay guard; call it inside the
 * transaction that acts on the request, so a failure after it leaves no
 * receipt either. AD_EPERM naming the problem (bad or missing signature,
 * stale timestamp, a replay); nothing is written then.
 */
int ad_signals_verify(struct ad_hooks *h, const char *tenant_id, const char *ts_header,
                      const char *sig_header, const void *body, size_t len,
                      struct ad_err *err);

#endif
