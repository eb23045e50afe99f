/*
 * The HTTP server over libmicrohttpd: the daemon, the life of a request
 * (admission, body, dispatch, answer), each thread's runtime, and the
 * listening address.
 *
 * Sections: each thread's runtime; answers and errors; the request's
 * life; the listening address; start and stop.
 *
 * Limits are libmicrohttpd's where it has them: an idle timeout per
 * connection (slow or silent clients are closed; the event loop never
 * blocks on one). The connection cap and the header cap are ours, so that
 * they answer in JSON: libmicrohttpd drops a connection past its own
 * limit at accept without a word (the client waits, then times out), and
 * answers a header block past a connection's memory with an HTML 431. So
 * its connection limit is the cap plus some headroom, and a connection
 * that arrives while the cap is full (counted by on_connection) is
 * answered 503 {"error": {"code": "overloaded"}} with Retry-After and
 * closed; its memory limit is twice the header cap and more, and a
 * request line and headers over the cap are answered 431 in JSON. Only
 * past those (the headroom full, or headers past the memory limit) does
 * libmicrohttpd's own behaviour show. The body cap, the per-token rate
 * limit and the content types are ours too, checked before any body is
 * read where the headers tell (Content-Length), and as the body arrives
 * otherwise.
 */
#include "compat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

#include "mhd_api.h"
#include "server_int.h"

struct ad_server {
    struct ad_runtime_options rto;   /* strings owned below */
    char *db, *sandbox, *llm;
    char address[96];
    int port;
    size_t max_body;
    size_t max_header;               /* request line and headers, in bytes */
    int max_conn;                    /* connections served at once; more get 503 */
    int live;                        /* connections open now (atomic) */
    int ping_s;
    ad_server_note_fn *note;
    void *note_arg;
    struct ad_runtime *rt;           /* the starting thread's: migrated the store */
    struct MHD_Daemon *d;
    struct ad__metrics *metrics;
    struct ad__limiter *limiter;
    struct ad__hub *hub;
    int64_t inflight;                /* requests admitted and not answered (atomic) */
    int stopping;                    /* atomic */
};

/* ---- each thread's runtime ---------------------------------------------------------- */

/*
 * A store handle is never shared between threads, so every HTTP thread
 * opens its own runtime on its first request and keeps it in a
 * thread-specific slot whose destructor closes it when the thread ends
 * (libmicrohttpd's threads end in MHD_stop_daemon).
 */
static pthread_key_t rt_key;
static pthread_once_t rt_once = PTHREAD_ONCE_INIT;
static int rt_key_ok;

static void rt_destroy(void *p)
{
    ad_runtime_free(p);
}

static void rt_key_make(void)
{
    rt_key_ok = pthread_key_create(&rt_key, rt_destroy) == 0;
}

int ad__thread_runtime(struct ad_server *s, struct ad_runtime **out, struct ad_err *err)
{
    struct ad_runtime *rt;
    int rc;

    pthread_once(&rt_once, rt_key_make);
    if (!rt_key_ok)
        return ad_error(err, AD_ENOMEM, "no thread-specific slot for the runtime");
    rt = pthread_getspecific(rt_key);
    if (!rt) {
        rc = ad_runtime_open(&s->rto, &rt, err);
        if (rc < 0)
            return rc;
        if (pthread_setspecific(rt_key, rt) != 0) {
            ad_runtime_free(rt);
            return ad_error(err, AD_ENOMEM, "cannot keep the thread's runtime");
        }
    }
    *out = rt;
    return 0;
}

const struct ad_runtime_options *ad__server_runtime_options(const struct ad_server *s)
{
    return &s->rto;
}

struct ad__hub *ad__server_hub(struct ad_server *s)
{
    return s->hub;
}

struct ad__metrics *ad__server_metrics(struct ad_server *s)
{
    return s->metrics;
}

void ad__server_note(struct ad_server *s, const char *fmt, ...)
{
    struct ad_buf b = AD_BUF_INIT;
    va_list ap;

    if (!s->note)
        return;
    va_start(ap, fmt);
    if (ad_buf_vaddf(&b, fmt, ap) == 0)
        s->note(s->note_arg, b.ptr);
    va_end(ap);
    ad_buf_release(&b);
}

/* ---- answers and errors -------------------------------------------------------------- */

int ad__status_of(int code)
{
    switch (code) {
    case AD_EINVAL: return 422;
    case AD_ETOOBIG: return 413;
    case AD_ENOTFOUND: return 404;
    case AD_EEXIST: return 409;
    case AD_ESTATE: return 409;
    case AD_ECONFLICT: return 409;
    case AD_EPERM: return 403;
    case AD_ELIMIT: return 429;
    case AD_EBUSY: return 503;
    case AD_ETIMEOUT: return 503;
    default: return 500;
    }
}

const char *ad__status_word(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 422: return "unprocessable";
    case 429: return "rate_limited";
    case 431: return "header_too_large";
    case 503: return "unavailable";
    default: return "internal";
    }
}

static int res_failv(struct ad__res *res, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int res_failv(struct ad__res *res, int status, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_decref(res->json);
    res->status = status;
    res->json = json_pack("{s:{s:s, s:s}}", "error", "code", ad__status_word(status),
                          "message", msg);
    return 0;
}

int ad__res_fail(struct ad__res *res, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    res_failv(res, status, fmt, ap);
    va_end(ap);
    return 0;
}

int ad__res_err(struct ad__res *res, const struct ad_err *err)
{
    int code = err->code ? err->code : AD_EINTERNAL;
    int status = ad__status_of(code);

    /* A daily limit resets at midnight UTC; the store's busy lock in a moment. */
    if (code == AD_ELIMIT)
        res->retry_after = (int)(86400 - (ad_now_ms() / 1000) % 86400);
    else if (code == AD_EBUSY)
        res->retry_after = 1;
    return ad__res_fail(res, status, "%s", err->msg[0] ? err->msg : ad_strerror(code));
}

int ad__res_json(struct ad__res *res, int status, json_t *j)
{
    if (!j)
        return ad__res_fail(res, 500, "out of memory");
    json_decref(res->json);
    res->json = j;
    res->status = status;
    return 0;
}

const char *ad__query(struct ad__req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *ad__header(struct ad__req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

int ad__body_object(struct ad__req *r, struct ad__res *res, int empty_ok, json_t **out)
{
    struct ad_err err = AD_ERR_INIT;

    *out = NULL;
    if (r->body.len == 0 && empty_ok) {
        *out = json_object();
        if (!*out)
            return ad__res_fail(res, 500, "out of memory"), AD_ENOMEM;
        return 0;
    }
    if (ad_json_parse(r->body.ptr, r->body.len, r->srv->max_body, out, &err) < 0) {
        ad__res_fail(res, err.code == AD_ENOMEM ? 500 : 400, "request body: %s", err.msg);
        return AD_EINVAL;
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        ad__res_fail(res, 400, "request body: expected a JSON object");
        return AD_EINVAL;
    }
    return 0;
}

/* Queues res on the connection: a JSON body (or text), its headers, the status. */
static void send_res(struct ad__req *r, struct ad__res *res)
{
    struct MHD_Response *resp;
    char *body = NULL;
    char num[24];
    size_t len;

    if (res->json) {
        body = ad_json_dumps(res->json);
    } else if (res->text) {
        body = res->text;
        res->text = NULL;
    }
    if (!body) {
        res->status = 500;
        body = strdup("{\"error\": {\"code\": \"internal\", \"message\": \"out of memory\"}}");
        res->content_type = NULL;
        if (!body)
            return;   /* nothing queued: the connection closes */
    }
    len = res->text_len ? res->text_len : strlen(body);
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return;
    }
    MHD_add_response_header(resp, "Content-Type",
                            res->content_type ? res->content_type : "application/json");
    if (res->retry_after > 0) {
        snprintf(num, sizeof(num), "%d", res->retry_after);
        MHD_add_response_header(resp, "Retry-After", num);
    }
    if (res->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"autodev\"");
    if (res->location)
        MHD_add_response_header(resp, "Location", res->location);
    if (res->disposition[0])
        MHD_add_response_header(resp, "Content-Disposition", res->disposition);
    /* Past the body cap the rest of the body is never read: the connection cannot go on. */
    if (r->too_big || res->close || __atomic_load_n(&r->srv->stopping, __ATOMIC_RELAXED))
        MHD_add_response_header(resp, "Connection", "close");
    if (MHD_queue_response(r->conn, (unsigned)res->status, resp) == MHD_YES) {
        r->answered = 1;
        r->status = res->status;
    }
    MHD_destroy_response(resp);
}

static void res_release(struct ad__res *res)
{
    json_decref(res->json);
    free(res->text);
    memset(res, 0, sizeof(*res));
}

/* ---- the request's life ----------------------------------------------------------------- */

/* How much of an oversized body is read and dropped before the connection is cut. */
#define DROP_MAX(s) ((s)->max_body < (16u << 20) ? (size_t)(16u << 20) : (s)->max_body)

static struct ad__req *req_new(struct ad_server *s, struct MHD_Connection *conn, const char *url,
                               const char *method)
{
    struct ad__req *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->srv = s;
    r->conn = conn;
    r->start_ns = ad_mono_ns();
    r->route_index = (int)ad__routes_count();
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->url = strdup(url);
    r->path = strdup(url);
    /* The cap is checked as the body arrives; one byte more says "too big". */
    ad_buf_init(&r->body, s->max_body);
    if (!r->path || !r->url) {
        free(r->path);
        free(r->url);
        free(r);
        return NULL;
    }
    return r;
}

static void req_free(struct ad__req *r)
{
    if (!r)
        return;
    ad_buf_release(&r->body);
    ad_api_token_release(&r->tok);
    free(r->path);
    free(r->url);
    free(r);
}

/* The client's address, for a log line. */
static void client_ip(struct ad__req *r, char *buf, size_t size)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(buf, size, "?");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)size);
}

/*
 * The bearer token's row into r->tok. The log line says why a caller was
 * refused and from where, never what it presented.
 */
static int authenticate(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    const char *h = ad__header(r, "Authorization");
    char ip[INET6_ADDRSTRLEN + 1];
    int rc;

    client_ip(r, ip, sizeof(ip));
    if (!h || !*h) {
        AD_LOG(AD_LOG_WARN, "auth: no bearer token from %s for %s %s", ip, r->method,
               r->route->path);
        return ad__res_fail(res, 401, "this route needs a bearer token (Authorization: Bearer "
                                      "TOKEN; make one with 'autodev token create')");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        AD_LOG(AD_LOG_WARN, "auth: not a bearer token from %s for %s %s", ip, r->method,
               r->route->path);
        return ad__res_fail(res, 401, "the Authorization header is not 'Bearer TOKEN'");
    }
    for (h += 7; *h == ' '; h++)
        ;
    rc = ad_tokens_authenticate(r->st, h, &r->tok, &err);
    if (rc == AD_EPERM) {
        AD_LOG(AD_LOG_WARN, "auth: %s, from %s for %s %s", err.msg, ip, r->method,
               r->route->path);
        return ad__res_fail(res, 401, "%s", err.msg);
    }
    if (rc < 0)
        return ad__res_err(res, &err);
    if (!(r->route->roles & AD__R(r->tok.role)))
        return ad__res_fail(res, 403, "a token of role %s may not %s %s",
                            ad_token_role_name(r->tok.role), r->method, r->route->path);
    return 0;
}

/* The content types a route's body may have, for a 415's message. */
static const char *body_types(unsigned flags)
{
    if (flags & AD__BODY_JSON)
        return "application/json";
    if (flags & AD__BODY_BUNDLE)
        return "application/zip, application/x-tar or application/octet-stream";
    return "application/x-ndjson (JSON lines)";
}

/* Whether a Content-Type header fits what the route reads. */
static int type_ok(const char *type, unsigned flags)
{
    static const char *const jsonl[] = { "application/x-ndjson", "application/jsonl",
                                         "application/json-lines", "application/x-jsonlines" };
    size_t n;

    if (!type)
        return 0;
    n = strcspn(type, "; \t");
    if (flags & AD__BODY_JSON)
        return n == 16 && !strncasecmp(type, "application/json", 16);
    if (flags & AD__BODY_BUNDLE) {
        static const char *const bundle[] = { "application/zip", "application/x-tar",
                                              "application/octet-stream" };

        for (size_t i = 0; i < AD_ARRAY_SIZE(bundle); i++) {
            if (n == strlen(bundle[i]) && !strncasecmp(type, bundle[i], n))
                return 1;
        }
        return 0;
    }
    for (size_t i = 0; i < AD_ARRAY_SIZE(jsonl); i++) {
        if (n == strlen(jsonl[i]) && !strncasecmp(type, jsonl[i], n))
            return 1;
    }
    return 0;
}

/*
 * What can be settled from the request line and headers alone, before any
 * body is read: the route, the store, the caller, its rate, the body's
 * declared size and type. Leaves res empty when the request may go on.
 */
static void admit(struct ad__req *r, struct ad__res *res)
{
    struct ad_server *s = r->srv;
    struct ad_err err = AD_ERR_INIT;
    const char *cl, *ct;
    int rc, wait;

    if (__atomic_load_n(&s->stopping, __ATOMIC_RELAXED)) {
        ad__res_fail(res, 503, "the server is shutting down");
        return;
    }
    rc = ad__route_match(r->method, r->path, &r->route, r->param);
    if (rc == AD_ENOTFOUND) {
        ad__res_fail(res, 404, "no route %s %s (see /v1/openapi.json)", r->method, r->url);
        return;
    }
    if (rc == AD_ESTATE) {
        ad__res_fail(res, 405, "%s is not a method of %s", r->method, r->url);
        return;
    }
    r->route_index = (int)(r->route - ad__routes());
    rc = ad__thread_runtime(s, &r->rt, &err);
    if (rc < 0) {
        ad__res_fail(res, 503, "the store cannot be opened: %s", err.msg);
        return;
    }
    r->st = ad_runtime_store(r->rt);
    r->bus = ad_runtime_bus(r->rt);
    if (r->route->roles) {
        authenticate(r, res);
        if (res->status)
            return;
    }
    if (r->route->roles && (wait = ad__limiter_take(s->limiter, r->tok.id, ad_mono_ns())) > 0) {
        res->retry_after = wait;
        ad__res_fail(res, 429, "token '%s' is over its rate limit; retry in %d s", r->tok.name,
                     wait);
        return;
    }
    cl = ad__header(r, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > s->max_body) {
        r->too_big = 1;
        ad__res_fail(res, 413, "request body of %s bytes is over the %zu-byte limit", cl,
                     s->max_body);
        return;
    }
    ct = ad__header(r, "Content-Type");
    if (cl && strtoull(cl, NULL, 10) > 0 && (r->route->flags & AD__BODY_ANY) &&
        !type_ok(ct, r->route->flags))
        ad__res_fail(res, 415, "%s %s takes %s, not '%s'", r->method, r->route->path,
                     body_types(r->route->flags), ct ? ct : "no content type");
}

/*
 * A read-mostly route: its page is answered from this thread's cache when
 * nothing was committed since it was made, else made and kept. The stamp
 * is read before the handler runs, so a commit during the handler leaves
 * the page stale at once.
 */
static void dispatch_cached(struct ad__req *r, struct ad__res *res)
{
    struct ad_buf key;
    int64_t others = 0, own = 0;
    size_t len;
    char *body;
    int ok;

    ad_buf_init(&key, 4096);
    ok = ad_store_changes(r->st, &others, &own, NULL) == 0 && ad__cache_key(r, &key) == 0;
    if (ok && ad__cache_get(key.ptr, others, own, &body, &len) == 0) {
        res->status = 200;
        res->text = body;
        res->content_type = "application/json";
    } else {
        r->route->fn(r, res);
        if (ok && res->status == 200 && res->json && (body = ad_json_dumps(res->json))) {
            ad__cache_put(key.ptr, others, own, body, strlen(body));
            json_decref(res->json);
            res->json = NULL;
            res->text = body;
            res->content_type = "application/json";
        }
    }
    ad_buf_release(&key);
}

/* The whole request is in: the handler answers. */
static void dispatch(struct ad__req *r, struct ad__res *res)
{
    const char *ct = ad__header(r, "Content-Type");
    unsigned body = r->route->flags & AD__BODY_ANY;

    if (r->body.len > 0 && body && !type_ok(ct, r->route->flags)) {
        ad__res_fail(res, 415, "%s %s takes %s, not '%s'", r->method, r->route->path,
                     body_types(r->route->flags), ct ? ct : "no content type");
        return;
    }
    /* A body on a route that reads none (a GET) is ignored, as HTTP allows. */
    if (r->route->flags & AD__CACHE)
        dispatch_cached(r, res);
    else
        r->route->fn(r, res);
    if (res->queued)
        return;
    if (!res->status && !res->json)
        ad__res_fail(res, 500, "the handler of %s %s gave no answer", r->method,
                     r->route->path);
}

/* A connection that came while the cap was full: its socket context points here. */
static char over_cap;

/*
 * Counts the open connections; one that opens past the cap is marked, and
 * its first request is answered 503 (refuse_early).
 */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct ad_server *s = cls;

    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        int n = __atomic_add_fetch(&s->live, 1, __ATOMIC_RELAXED);

        *socket_context = n > s->max_conn ? &over_cap : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        __atomic_sub_fetch(&s->live, 1, __ATOMIC_RELAXED);
    }
}

static enum MHD_Result add_header_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    size_t *n = cls;

    (void)kind;
    *n += strlen(key) + (value ? strlen(value) : 0) + 4;   /* ": " and CRLF */
    return MHD_YES;
}

/*
 * What is refused before a request is even matched: a connection past the
 * cap (503 overloaded, Retry-After: 1) and a request line and headers over
 * the header cap (431). Both in JSON, and the connection closes after.
 */
static void refuse_early(struct ad__req *r, struct ad__res *res)
{
    struct ad_server *s = r->srv;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    size_t n = strlen(r->method) + strlen(r->url) + 11;   /* " ", " HTTP/1.1", CRLF */

    if (ci && ci->socket_context == &over_cap) {
        ad__res_fail(res, 503, "the server is at its cap of %d connections; retry in a moment",
                     s->max_conn);
        json_object_set_new(json_object_get(res->json, "error"), "code",
                            json_string("overloaded"));
        res->retry_after = 1;
        res->close = 1;
        return;
    }
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header_len, &n);
    if (n > s->max_header) {
        ad__res_fail(res, 431, "request line and headers of %zu bytes are over the %zu-byte "
                     "limit", n, s->max_header);
        res->close = 1;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    struct ad_server *s = cls;
    struct ad__req *r = *con_cls;
    struct ad__res res = { 0 };

    (void)version;
    if (!r) {
        r = req_new(s, conn, url, method);
        if (!r)
            return MHD_NO;   /* out of memory: the connection closes */
        *con_cls = r;
        __atomic_fetch_add(&s->inflight, 1, __ATOMIC_RELAXED);
        refuse_early(r, &res);
        if (!res.status)
            admit(r, &res);
        if (res.status)
            send_res(r, &res);
        res_release(&res);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        /*
         * libmicrohttpd takes no answer while a body arrives: past the cap
         * the rest is read and dropped, and 413 answered at its end; a body
         * that goes on far past it is cut off by closing the connection.
         */
        if (!r->too_big && ad_buf_add(&r->body, upload, *upload_size) < 0) {
            r->too_big = 1;
            ad_buf_release(&r->body);
        }
        if (r->too_big) {
            r->dropped += *upload_size;
            if (r->dropped > DROP_MAX(s))
                return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->answered && r->too_big) {
        ad__res_fail(&res, 413, "request body over the %zu-byte limit", s->max_body);
        send_res(r, &res);
    } else if (!r->answered) {
        dispatch(r, &res);
        if (res.status && !res.queued)
            send_res(r, &res);
    }
    res_release(&res);
    return MHD_YES;
}

/* Every request ends here, answered or not: its metrics, then its memory. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct ad_server *s = cls;
    struct ad__req *r = *con_cls;

    (void)conn;
    (void)toe;
    if (!r)
        return;
    if (r->answered)
        ad__metrics_observe(s->metrics, r->route_index, r->status, ad_mono_ns() - r->start_ns);
    if (!r->stream)
        __atomic_fetch_sub(&s->inflight, 1, __ATOMIC_RELAXED);
    req_free(r);
    *con_cls = NULL;
}

void ad__req_streaming(struct ad__req *r)
{
    if (!r->stream) {
        r->stream = 1;
        r->answered = 1;
        r->status = 200;
        __atomic_fetch_sub(&r->srv->inflight, 1, __ATOMIC_RELAXED);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    AD_LOG(AD_LOG_INFO, "http: %s", msg);
}

/* ---- the listening address ------------------------------------------------------------- */

int ad_server_listen_parse(const char *listen, struct sockaddr_storage *addr, bool *loopback,
                           struct ad_err *err)
{
    char host[128];
    const char *colon, *port_s, *h = listen;
    size_t hlen;
    char *end;
    unsigned long port;

    memset(addr, 0, sizeof(*addr));
    *loopback = false;
    if (!listen || !*listen)
        return ad_error(err, AD_EINVAL, "no listen address given (expected HOST:PORT)");
    if (listen[0] == '[') {
        colon = strstr(listen, "]:");
        if (!colon)
            return ad_error(err, AD_EINVAL, "invalid listen address '%s': expected [IPV6]:PORT",
                            listen);
        h = listen + 1;
        hlen = (size_t)(colon - h);
        port_s = colon + 2;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return ad_error(err, AD_EINVAL, "invalid listen address '%s': expected HOST:PORT",
                            listen);
        hlen = (size_t)(colon - listen);
        port_s = colon + 1;
    }
    errno = 0;
    port = strtoul(port_s, &end, 10);
    if (!*port_s || *end || errno || port > 65535 || *port_s == '-' || *port_s == '+')
        return ad_error(err, AD_EINVAL, "invalid port in listen address '%s': expected 0..65535",
                        listen);
    if (hlen == 0 || hlen >= sizeof(host))
        return ad_error(err, AD_EINVAL, "invalid host in listen address '%s'", listen);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    if (listen[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return ad_error(err, AD_EINVAL, "invalid IPv6 address '%s'", host);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)addr;

        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return ad_error(err, AD_EINVAL, "invalid IPv4 address '%s' (a host name other than "
                            "localhost is not resolved: give its address)", host);
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    return 0;
}

/* ---- start and stop -------------------------------------------------------------------- */

static int copy_options(struct ad_server *s, const struct ad_server_options *o,
                        struct ad_err *err)
{
    s->rto = o->runtime;
    s->db = o->runtime.db ? strdup(o->runtime.db) : NULL;
    s->sandbox = o->runtime.sandbox ? strdup(o->runtime.sandbox) : NULL;
    s->llm = o->runtime.llm ? strdup(o->runtime.llm) : NULL;
    if (!s->db || (o->runtime.sandbox && !s->sandbox) || (o->runtime.llm && !s->llm))
        return ad_error(err, AD_ENOMEM, "out of memory");
    s->rto.db = s->db;
    s->rto.sandbox = s->sandbox;
    s->rto.llm = s->llm;
    /* The threads' runtimes open what the first one created and migrated. */
    s->rto.create = 0;
    s->rto.readonly = 0;
    s->max_body = o->max_body ? o->max_body : AD_SERVER_DEFAULT_BODY;
    s->max_header = o->max_header ? o->max_header : AD_SERVER_DEFAULT_HEADER;
    s->max_conn = o->max_connections > 0 ? o->max_connections : AD_SERVER_DEFAULT_CONNECTIONS;
    s->ping_s = o->ping_s > 0 ? o->ping_s : AD_SERVER_DEFAULT_PING_S;
    s->note = o->note;
    s->note_arg = o->note_arg;
    return 0;
}

/* Only an address others cannot reach may serve a store no token guards yet. */
static int check_exposure(struct ad_server *s, const char *listen, bool loopback,
                          struct ad_err *err)
{
    int64_t n = 0;
    int rc;

    if (loopback)
        return 0;
    rc = ad_tokens_active(ad_runtime_store(s->rt), &n, err);
    if (rc < 0)
        return rc;
    if (n == 0)
        return ad_error(err, AD_EPERM, "refusing to listen on '%s': it is not a loopback "
                        "address and no API token exists (make one first: autodev token "
                        "create --role admin)", listen);
    return 0;
}

/*
 * libmicrohttpd's own limits, above ours: connections past the cap are
 * accepted to be told 503 (up to this many more), and a connection's
 * memory holds twice the header cap and the read buffer besides, so a
 * header block over the cap is read whole and answered 431 by us.
 */
#define CAP_HEADROOM(cap) (16 + (cap) / 8)
#define HEADER_POOL(h) ((size_t)(h) * 2 + ((size_t)32 << 10))

static int start_daemon(struct ad_server *s, const struct ad_server_options *o,
                        const struct sockaddr_storage *addr, struct ad_err *err)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    if (addr->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
        MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(o->threads > 0 ? o->threads : AD_SERVER_DEFAULT_THREADS),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(s->max_conn + CAP_HEADROOM(s->max_conn)),
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(o->timeout_s > 0 ? o->timeout_s : AD_SERVER_DEFAULT_TIMEOUT_S),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, HEADER_POOL(s->max_header),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_END);
    if (!s->d)
        return ad_error(err, AD_EIO, "cannot listen on '%s' (in use, or not an address of "
                        "this machine?)", o->listen ? o->listen : AD_SERVER_DEFAULT_LISTEN);
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return 0;
}

int ad_server_start(const struct ad_server_options *o, struct ad_server **out,
                    struct ad_err *err)
{
    const char *listen = o->listen ? o->listen : AD_SERVER_DEFAULT_LISTEN;
    struct sockaddr_storage addr;
    struct ad_runtime_options first;
    struct ad_server *s;
    char host[INET6_ADDRSTRLEN + 1];
    bool loopback;
    int rc;

    *out = NULL;
    rc = ad_server_listen_parse(listen, &addr, &loopback, err);
    if (rc == 0)
        rc = ad__mhd_load(err);
    if (rc < 0)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = copy_options(s, o, err);
    if (rc == 0) {
        first = s->rto;
        first.create = o->runtime.create;
        rc = ad_runtime_open(&first, &s->rt, err);
    }
    if (rc == 0)
        rc = check_exposure(s, listen, loopback, err);
    if (rc == 0 && (ad__metrics_new(ad__routes_count(), &s->metrics) < 0 ||
                    ad__limiter_new(o->rate ? o->rate : AD_SERVER_DEFAULT_RATE, o->burst,
                                    &s->limiter) < 0))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0)
        rc = ad__hub_start(s, s->ping_s, &s->hub, err);
    if (rc == 0)
        rc = start_daemon(s, o, &addr, err);
    if (rc < 0) {
        ad_server_free(s);
        return rc;
    }
    if (addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, host, sizeof(host));
        snprintf(s->address, sizeof(s->address), "[%s]:%d", host, s->port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, host, sizeof(host));
        snprintf(s->address, sizeof(s->address), "%s:%d", host, s->port);
    }
    *out = s;
    return 0;
}

int ad_server_port(const struct ad_server *s)
{
    return s->port;
}

const char *ad_server_address(const struct ad_server *s)
{
    return s->address;
}

int ad_server_stop(struct ad_server *s, int64_t grace_ms)
{
    MHD_socket fd;
    int64_t deadline = ad_mono_ns() + grace_ms * 1000000;
    int64_t left;

    if (!s || !s->d)
        return 0;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELAXED);
    fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Streams end first: a suspended connection must be resumed before the daemon stops. */
    if (s->hub)
        ad__hub_stop(s->hub);
    while ((left = __atomic_load_n(&s->inflight, __ATOMIC_RELAXED)) > 0 &&
           ad_mono_ns() < deadline)
        usleep(10000);
    MHD_stop_daemon(s->d);
    s->d = NULL;
    return left > 0 ? (int)left : 0;
}

void ad_server_free(struct ad_server *s)
{
    if (!s)
        return;
    if (s->d)
        ad_server_stop(s, 0);
    ad__hub_free(s->hub);
    ad__limiter_free(s->limiter);
    ad__metrics_free(s->metrics);
    ad_runtime_free(s->rt);
    free(s->db);
    free(s->sandbox);
    free(s->llm);
    free(s);
}
