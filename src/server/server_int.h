/*
 * The server's private header: a request as the handlers see it, the
 * route table's rows, answers and errors, and the pieces the server's
 * files share (metrics, rate limits, the event streams' watcher).
 *
 * A request passes: route match (404/405), authentication (401), role
 * (403), rate limit (429), content type (415), body cap (413); then its
 * handler runs on the HTTP thread with that thread's own runtime.
 */
#ifndef AD_SERVER_INT_H
#define AD_SERVER_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/error.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

struct MHD_Connection;
struct MHD_Daemon;
struct ad_bus;

/* ---- requests and answers ---------------------------------------------------------- */

#define AD__ROUTE_PARAMS_MAX 3

struct ad__req {
    struct ad_server *srv;
    struct MHD_Connection *conn;
    const struct ad__route *route;   /* NULL until matched */
    int route_index;                 /* in the table; the table's size for "no route" */
    char method[16];
    char *url;                       /* owned: the path as requested */
    char *path;                      /* owned copy split by the match; params point into it */
    const char *param[AD__ROUTE_PARAMS_MAX];
    struct ad_buf body;
    int too_big;                     /* the body passed the cap: answered 413 */
    size_t dropped;                  /* bytes of it read past the cap and dropped */
    int answered;                    /* a response is queued */
    int status;                      /* of that response, for the metrics */
    int64_t start_ns;
    int stream;                      /* an event stream: not "in flight" once it started */
    struct ad_api_token tok;         /* the caller (tenant_id, role, name) */
    struct ad_runtime *rt;           /* this thread's */
    struct ad_store *st;
    struct ad_bus *bus;
};

/* What a handler answers: a status and a JSON body (or text). */
struct ad__res {
    int status;
    json_t *json;                    /* owned; sent compact */
    char *text;                      /* owned; instead of json (metrics, archives) */
    size_t text_len;                 /* its bytes (it may hold NULs); 0: strlen(text) */
    const char *content_type;        /* with text */
    char disposition[256];           /* a Content-Disposition header, or "" */
    int retry_after;                 /* > 0: a Retry-After header, in seconds */
    const char *location;            /* a Location header (static or in req), or NULL */
    int queued;                      /* the handler queued its own answer (an event stream) */
    int close;                       /* close the connection after it (Connection: close) */
};

/*
 * The error body {"error": {"code", "message"}} with status; code is the
 * status's word ("not_found"). Returns 0 so a handler can end with it.
 */
int ad__res_fail(struct ad__res *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* err as an answer: its code gives the status (AD_ENOTFOUND 404, AD_EINVAL 422, ...). */
int ad__res_err(struct ad__res *res, const struct ad_err *err);
/* 200 (or status) with body j (consumed; NULL means out of memory: 500). */
int ad__res_json(struct ad__res *res, int status, json_t *j);
/* The status an AD_E* code answers with, and the error code word of a status. */
int ad__status_of(int code);
const char *ad__status_word(int status);

/* The value of query parameter key, or NULL. */
const char *ad__query(struct ad__req *r, const char *key);
/* The value of header key, or NULL. */
const char *ad__header(struct ad__req *r, const char *key);
/*
 * The JSON object of the body (new reference into *out). A body that is
 * not JSON is 400, not an object 400: answered into res and AD_EINVAL
 * returned. An empty body gives {} when empty_ok.
 */
int ad__body_object(struct ad__req *r, struct ad__res *res, int empty_ok, json_t **out);

/* ---- pagination (paging.c) ------------------------------------------------------- */

/* What a list's cursor holds: the key of the last item of the page before. */
enum ad__key {
    AD__KEY_ID,                 /* its id: lists newest first by id */
    AD__KEY_NAME,               /* its name: lists by name */
    AD__KEY_TIME_ID,            /* its created_at and id: lists newest first by created_at */
};

#define AD__KEY_MAX 192         /* a decoded key and its NUL */
#define AD__CURSOR_MAX 256      /* base64url of the longest key */

struct ad__page {
    int limit;                  /* 1..AD__PAGE_MAX */
    const char *cursor;         /* the id or name to continue after, or NULL (into key) */
    const char *cursor_at;      /* AD__KEY_TIME_ID: the created_at of it (into key) */
    char key[AD__KEY_MAX];
};

#define AD__PAGE_DEFAULT 50
#define AD__PAGE_MAX 1000
/*
 * limit and cursor of the query (the cursor is the next_cursor of the page
 * before, an opaque base64url of the key of its last item). A bad limit or
 * a cursor that is not a key of this kind is answered 400 into res and
 * AD_EINVAL returned.
 */
int ad__page_parse(struct ad__req *r, struct ad__res *res, enum ad__key kind, struct ad__page *p);
/* How many rows to ask the owner for: one past the page tells whether another follows. */
int ad__page_fetch(const struct ad__page *p);
/* How many of the n rows fetched go on the page. */
size_t ad__page_len(const struct ad__page *p, size_t n);
/*
 * {"items": items, "next_cursor"} as the answer (items consumed; NULL is
 * 500): next_cursor encodes next (and next_at, for AD__KEY_TIME_ID), the
 * key of the page's last item, or is null when next is NULL (no page follows).
 */
int ad__res_page(struct ad__res *res, json_t *items, const char *next_at, const char *next);

/* ---- the route table (routes.c) --------------------------------------------------- */

typedef int ad__route_fn(struct ad__req *r, struct ad__res *res);

enum ad__route_flags {
    AD__BODY_JSON = 1 << 0,     /* the body is a JSON object (application/json) */
    AD__BODY_JSONL = 1 << 1,    /* the body is JSON lines (application/x-ndjson) */
    AD__STREAM = 1 << 2,        /* the answer is an event stream (sse.c) */
    AD__TEXT = 1 << 3,          /* the answer is text (metrics) */
    AD__CACHE = 1 << 4,         /* a read-mostly GET: its 200 pages are cached (cache.c) */
    AD__BODY_BUNDLE = 1 << 5,   /* the body is a zip or tar archive (routes_bundle.c) */
    AD__BINARY = 1 << 6,        /* the answer is an archive (application/zip or x-tar) */
};

#define AD__BODY_ANY (AD__BODY_JSON | AD__BODY_JSONL | AD__BODY_BUNDLE)

/* Role bits: 1u << AD_ROLE_*. A route with none is public (no token). */
#define AD__R(role) (1u << (role))
#define AD__ANY (AD__R(AD_ROLE_ADMIN) | AD__R(AD_ROLE_REVIEWER) | AD__R(AD_ROLE_AGENT))
#define AD__ADMIN AD__R(AD_ROLE_ADMIN)
#define AD__REVIEW (AD__R(AD_ROLE_ADMIN) | AD__R(AD_ROLE_REVIEWER))
#define AD__WORK (AD__R(AD_ROLE_ADMIN) | AD__R(AD_ROLE_AGENT))

struct ad__route {
    const char *method;
    const char *path;           /* "/v1/episodes/{id}": {x} matches one segment */
    unsigned roles;             /* who may call it; 0: anyone, without a token */
    unsigned flags;             /* enum ad__route_flags */
    ad__route_fn *fn;
    const char *op_id;          /* OpenAPI operationId */
    const char *summary;        /* one line: the OpenAPI summary */
    const char *query;          /* documented query parameters, space-separated, or NULL */
    int ok;                     /* the status of success (200, 201, 202) */
};

/* The table; ends with a row whose method is NULL. */
const struct ad__route *ad__routes(void);
size_t ad__routes_count(void);
/*
 * The route for method and path: 0 with *route and params set; AD_ENOTFOUND
 * when no path matches; AD_ESTATE when the path matches but not the method.
 * path is modified (segments split) and params point into it.
 */
int ad__route_match(const char *method, char *path, const struct ad__route **route,
                    const char *param[AD__ROUTE_PARAMS_MAX]);

/* A documented query parameter: its name, JSON schema type and description. */
struct ad__query_param {
    const char *name;
    const char *type;           /* "string", "integer", "boolean" */
    const char *help;
};
const struct ad__query_param *ad__query_param_find(const char *name);

/* ---- handlers of the routes, by file ------------------------------------------------- */

/* routes_work.c: health, episodes, agents, skills, tasks */
ad__route_fn ad__h_health, ad__h_openapi, ad__h_metrics, ad__h_me;
ad__route_fn ad__h_episode_add, ad__h_episode_batch, ad__h_episode_list, ad__h_episode_get;
ad__route_fn ad__h_agent_list, ad__h_agent_add, ad__h_agent_get, ad__h_agent_readiness,
    ad__h_agent_graduate;
ad__route_fn ad__h_skill_list, ad__h_skill_search, ad__h_skill_get, ad__h_skill_versions,
    ad__h_skill_run, ad__h_skill_rollback, ad__h_task_run;
/* routes_bundle.c: skills as Agent Skills archives */
ad__route_fn ad__h_skill_export, ad__h_skill_import;
/* routes_review.c: candidates, notifications, settings, jobs, tokens */
ad__route_fn ad__h_cand_list, ad__h_cand_get, ad__h_cand_test, ad__h_cand_approve,
    ad__h_cand_reject, ad__h_cand_regenerate;
ad__route_fn ad__h_notif_list, ad__h_notif_read, ad__h_notif_read_all;
ad__route_fn ad__h_settings_get, ad__h_settings_put, ad__h_settings_patch;
ad__route_fn ad__h_job_list, ad__h_job_get;
ad__route_fn ad__h_token_list, ad__h_token_create, ad__h_token_revoke;
/* routes_alpha.c: AlphaEvolver's mutations and variants */
ad__route_fn ad__h_mut_list, ad__h_mut_get, ad__h_mut_lineage, ad__h_mut_test,
    ad__h_mut_approve, ad__h_mut_reject, ad__h_mut_regenerate;
ad__route_fn ad__h_var_list, ad__h_var_get, ad__h_var_top;
/* sse.c */
ad__route_fn ad__h_events;
/* routes_hooks.c: webhooks, deliveries, signed fitness signals */
ad__route_fn ad__h_webhook_list, ad__h_webhook_add, ad__h_webhook_remove, ad__h_delivery_list,
    ad__h_delivery_replay, ad__h_signals;
/* routes_advise.c: the advisor's facts */
ad__route_fn ad__h_advice;
/* routes_terms.c: the workspace's custom fitness terms */
ad__route_fn ad__h_term_list, ad__h_term_add, ad__h_term_remove;

/* ---- metrics (metrics.c) ------------------------------------------------------------ */

struct ad__metrics;

int ad__metrics_new(size_t nroutes, struct ad__metrics **out);
void ad__metrics_free(struct ad__metrics *m);
/* One answered request: route index (nroutes: none matched), status, duration. */
void ad__metrics_observe(struct ad__metrics *m, int route, int status, int64_t ns);
/* The Prometheus text of the counters, and of the tenant's jobs, sandbox runs and model use. */
int ad__metrics_text(struct ad__metrics *m, struct ad__req *r, struct ad_buf *out,
                     struct ad_err *err);

/* ---- rate limits (ratelimit.c): a token bucket per token ----------------------------- */

struct ad__limiter;

/* rate < 0: no limit (every take succeeds). */
int ad__limiter_new(int rate, int burst, struct ad__limiter **out);
void ad__limiter_free(struct ad__limiter *l);
/*
 * Takes one request of key's bucket at now_ns: 0 when allowed, else the
 * whole seconds (>= 1) until it would be.
 */
int ad__limiter_take(struct ad__limiter *l, const char *key, int64_t now_ns);

/* ---- the page cache of read-mostly routes (cache.c), one per HTTP thread ----------- */

/* The page's key: tenant, method, path and the route's query parameters. */
int ad__cache_key(struct ad__req *r, struct ad_buf *out);
/*
 * A copy of the page of key (*body malloc'd) when it was cached at the
 * same change stamp (ad_store_changes); AD_ENOTFOUND when it was not, or
 * the database changed since.
 */
int ad__cache_get(const char *key, int64_t others, int64_t own, char **body, size_t *len);
void ad__cache_put(const char *key, int64_t others, int64_t own, const char *body, size_t len);

/* ---- event streams (sse.c) --------------------------------------------------------- */

struct ad__hub;

int ad__hub_start(struct ad_server *srv, int ping_s, struct ad__hub **out, struct ad_err *err);
/* Ends every stream (each says so and closes) and stops the watcher. */
void ad__hub_stop(struct ad__hub *h);
void ad__hub_free(struct ad__hub *h);
/* Streams open now. */
int ad__hub_streams(struct ad__hub *h);

/* ---- what server.c gives the other files ------------------------------------------- */

struct ad__hub *ad__server_hub(struct ad_server *s);
struct ad__metrics *ad__server_metrics(struct ad_server *s);
/* The runtime options every thread opens its runtime with. */
const struct ad_runtime_options *ad__server_runtime_options(const struct ad_server *s);
/*
 * The handler of an event stream queued its answer itself: the request
 * counts as answered (200) and no longer holds a shutdown up.
 */
void ad__req_streaming(struct ad__req *r);
/* The calling thread's runtime (opened on first use, closed when the thread ends). */
int ad__thread_runtime(struct ad_server *s, struct ad_runtime **out, struct ad_err *err);
/* A line for the operator, through the host's note function. */
void ad__server_note(struct ad_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* JSON forms shared by handlers (new references, NULL on ENOMEM). */
json_t *ad__json_agent(const struct ad_agent *a);
json_t *ad__json_job(const struct ad_job *j);
json_t *ad__json_event(const struct ad_event *ev);

#endif
