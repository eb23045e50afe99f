/*
 * Inside the llm module: the provider ops table, the HTTP transport with its
 * SSE reader, and the helpers providers share.
 */
#ifndef AD_LLM_INT_H
#define AD_LLM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/error.h"
#include "autodev/llm.h"

/* Largest reply body kept from a provider; a longer one is an error. */
#define AD__LLM_MAX_BODY ((size_t)8 << 20)

/* Tool calls one reply may hold, by index (streamed indexes past it are refused). */
#define AD__LLM_MAX_CALLS 128

/* Why an attempt failed, so the caller can decide to retry or fail over. */
struct ad__llm_failure {
    int status;            /* HTTP status, 0 when none came */
    int retryable;         /* connection error, timeout, 408, 409, 429, >= 500 */
    int quota;             /* quota or spend limit: never retried */
    int64_t retry_after_ms;/* from the reply's headers, 0..AD_LLM_RETRY_AFTER_MAX_MS; -1: none */
    char note[256];        /* numbers of the reply disregarded or clamped, for the ledger */
};

struct ad__llm_entry;

struct ad__llm_ops {
    const char *name;
    /* Reads settings (base URL, key) from the environment into e. */
    int (*init)(struct ad__llm_entry *e, struct ad_err *err);
    /*
     * One attempt. On failure fills *f and err (without secrets) and leaves
     * resp released; on success fills resp's text, calls, finish_reason,
     * usage and request_id.
     */
    int (*attempt)(struct ad__llm_entry *e, const struct ad_llm_request *req,
                   struct ad_llm_response *resp, struct ad__llm_failure *f, struct ad_err *err);
};

enum ad__breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct ad__llm_entry {
    const struct ad__llm_ops *ops;
    struct ad_llm *llm;
    char *label;          /* owned "provider:model" */
    char tier[8];         /* "fast", "strong" or "" (the entry's "TIER:" prefix) */
    int64_t window;       /* tokens of context, from a "window=N:" prefix; 0: not given */
    char *model;          /* owned; for exec the command */
    char *base_url;       /* owned, without a trailing '/'; NULL for non-HTTP providers */
    char *api_key;        /* owned secret; NULL when none; never printed */
    uint64_t counter;     /* offline: calls answered (seeds) */
    /* Breaker, guarded by llm->mu. */
    enum ad__breaker_state state;
    int failures;         /* consecutive failed calls */
    int64_t opened_ms;
    int trial;            /* a half-open trial call is in flight */
};

struct ad_llm {
    struct ad__llm_entry *v;
    size_t n;
    struct ad_llm_options o;
    char *tenant_id;      /* owned copy of o.tenant_id */
    json_t *prices;       /* the price table */
    pthread_mutex_t mu;   /* breakers, the ledger, the PRNG */
    uint64_t rng;
};

extern const struct ad__llm_ops ad__llm_openai_ops;
extern const struct ad__llm_ops ad__llm_anthropic_ops;
extern const struct ad__llm_ops ad__llm_exec_ops;
extern const struct ad__llm_ops ad__llm_offline_ops;

/* ---- HTTP (llm_http.c) ------------------------------------------------- */

/* One server-sent event; non-zero stops the stream. */
typedef int ad__sse_event_fn(void *arg, const char *event, const char *data, size_t len);

/* The SSE reader: bytes in any pieces in, whole events out. */
struct ad__sse {
    ad__sse_event_fn *fn;
    void *arg;
    struct ad_buf line;    /* the current partial line */
    struct ad_buf data;    /* the current event's data lines */
    char event[64];
    int after_cr;
};

void ad__sse_init(struct ad__sse *x, ad__sse_event_fn *fn, void *arg);
/* 0, AD_ETOOBIG past the caps, or what fn returned. */
int ad__sse_feed(struct ad__sse *x, const char *p, size_t len);
/* Ends the stream: a last line and event without their blank line count. */
int ad__sse_finish(struct ad__sse *x);
void ad__sse_release(struct ad__sse *x);

struct ad__http_req {
    const char *url;
    const char *const *headers;  /* "Name: value", NULL-terminated */
    const char *body;
    size_t body_len;
    int timeout_ms;
    /* Streaming: each server-sent event goes to on_event as it arrives
     * (only for 2xx replies; others are kept in the body). Non-zero aborts. */
    ad__sse_event_fn *on_event;
    void *arg;
};

struct ad__http_resp {
    long status;
    struct ad_buf body;          /* the reply (non-streamed or non-2xx), capped */
    char request_id[128];
    int64_t retry_after_ms;      /* -1 when no header */
    int aborted;                 /* on_event asked to stop */
};

void ad__http_resp_init(struct ad__http_resp *r);
void ad__http_resp_release(struct ad__http_resp *r);

/*
 * POSTs the request. 0 once a whole reply came (any status); AD_ETIMEOUT
 * past the timeout; AD_EIO for a connection failure or a reply cut short
 * (f->retryable set in both); AD_ETOOBIG past the body cap.
 */
int ad__http_post(const struct ad__http_req *req, struct ad__http_resp *resp,
                  struct ad__llm_failure *f, struct ad_err *err);

/* Classifies an HTTP status into f (retryable per the SDKs). */
void ad__llm_classify_status(long status, struct ad__llm_failure *f);

/* ---- hosted wire formats (llm_wire.c) ---------------------------------- */

/*
 * What differs between the HTTP providers; llm_wire.c does the rest (base
 * URL and key from the environment, the POST, error bodies, streaming).
 */
struct ad__llm_wire {
    const char *url_env, *default_url, *key_env;
    const char *path;             /* appended to the base URL */
    const char *key_header;       /* the key follows it: "Authorization: Bearer " */
    const char *extra_header;     /* one more "Name: value", or NULL */
    const char *const *quota;     /* error codes or phrases meaning the quota is gone */
    json_t *(*request)(const struct ad_llm_request *req, const char *model);
    /* A whole (non-streamed) reply body into resp. */
    int (*parse)(const struct ad_llm_request *req, const char *body, size_t len,
                 struct ad_llm_response *resp, struct ad_err *err);
    /* A stream: its state, fed event by event, then finished into resp. */
    size_t stream_size;
    void (*stream_init)(void *s, const struct ad_llm_request *req, struct ad_llm_response *resp);
    ad__sse_event_fn *on_event;
    int (*stream_finish)(void *s, struct ad_err *err);
    void (*stream_release)(void *s);
};

extern const struct ad__llm_wire ad__llm_openai_wire;
extern const struct ad__llm_wire ad__llm_anthropic_wire;

int ad__llm_wire_init(const struct ad__llm_wire *w, struct ad__llm_entry *e, struct ad_err *err);
int ad__llm_wire_attempt(const struct ad__llm_wire *w, struct ad__llm_entry *e,
                         const struct ad_llm_request *req, struct ad_llm_response *resp,
                         struct ad__llm_failure *f, struct ad_err *err);
/*
 * A reply read apart from the transport, for the fuzzers and tests: a whole
 * body, or (streamed) the bytes of an event stream. resp must be zeroed;
 * the caller releases it either way.
 */
int ad__llm_wire_parse(const struct ad__llm_wire *w, const struct ad_llm_request *req,
                       const char *body, size_t len, int streamed,
                       struct ad_llm_response *resp, struct ad_err *err);

/* ---- shared helpers (llm.c) -------------------------------------------- */

/* Milliseconds of the monotonic clock: deadlines and latencies. */
int64_t ad__llm_mono_ms(void);
/* Appends a tool call to resp (copies). AD_ETOOBIG past AD__LLM_MAX_CALLS. */
int ad__llm_add_call(struct ad_llm_response *resp, const char *id, size_t idlen,
                     const char *name, size_t namelen, const char *args, size_t argslen);
/* The request's max_tokens (default applied). */
int ad__llm_max_tokens(const struct ad_llm_request *req);
/* "error.message"-style text out of an error body: structured or flat. */
void ad__llm_error_text(const char *body, size_t len, struct ad_buf *out, char *code,
                        size_t codesz);

/* ---- what a reply may carry out (llm_reply.c) ------------------------- */

/*
 * Registers every credential the chain can know with the secret registry
 * (secret.h): the provider keys of the environment, the chain's own keys
 * and the user:password of a base URL. A value that cannot be registered
 * cannot be masked, so failing to is an error (the chain is not built).
 */
int ad__llm_register_secrets(const struct ad_llm *llm, struct ad_err *err);
/* Masks registered secrets, and anything shaped like a provider key, in an error text. */
void ad__llm_redact_error(char *s);
/*
 * Masks the registered secrets in every string of r a provider wrote: the
 * text, each tool call's id, name and arguments, the finish reason, the
 * request id, and the model. A text or arguments that are JSON with escapes
 * are masked decoded too (and written again when that changed them).
 * 0 or AD_ENOMEM.
 */
int ad__llm_redact_reply(struct ad_llm_response *r);
/* Appends one "; "-separated phrase to a ledger note. */
void ad__llm_note(struct ad_buf *note, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON number as a count, saturated to int64 (reals truncated); false when v is no number. */
bool ad__llm_json_count(const json_t *v, int64_t *out);
/* Brings usage into 0..AD_LLM_TOKENS_MAX, noting what changed. */
void ad__llm_clamp_usage(struct ad_llm_usage *u, struct ad_buf *note);
/* Brings a cost into 0..AD_LLM_COST_MAX_USD (not a number: the maximum), noting what changed. */
double ad__llm_clamp_cost(double usd, struct ad_buf *note);

/*
 * Between a provider and the caller's on_delta: every piece of text is
 * masked, and the end of the text that could be the start of a secret
 * (ad_secret_partial_tail) is held back until the next piece or the end of
 * the stream shows it is not one, so a secret split across two pieces
 * still never reaches the caller. Tool names go whole, masked.
 */
struct ad__delta_guard {
    const struct ad_llm_request *req;   /* the caller's request: on_delta, delta_arg */
    struct ad_buf held;
    int stopped;                        /* on_delta asked to stop */
};

void ad__delta_guard_init(struct ad__delta_guard *g, const struct ad_llm_request *req);
/* An on_delta for the provider, with the guard as its argument. */
int ad__delta_guard_fn(void *arg, const char *kind, const char *text, size_t len);
/* The stream ended: what was held back goes out (it was no secret). Non-zero: stop. */
int ad__delta_guard_flush(struct ad__delta_guard *g);
void ad__delta_guard_release(struct ad__delta_guard *g);

/* ---- prices (llm_price.c) ---------------------------------------------- */

int ad__llm_prices_load(const char *file, json_t **out, struct ad_err *err);
double ad__llm_prices_cost(const json_t *prices, const char *provider, const char *model,
                           const struct ad_llm_usage *u);

#endif
