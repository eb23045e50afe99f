/*
 * The server: autodev over HTTP (libmicrohttpd), the event stream, API
 * tokens, and the pool of background workers.
 *
 * Module server owns the api_tokens table: every other module reads and
 * writes tokens through the functions here, never through the store. The
 * HTTP routes are one table (src/server/routes.c): each row names its
 * method, path, the roles allowed, the handler and its OpenAPI summary,
 * and every handler calls the owning module's API (agent, learn, jobs,
 * bus, settings), never the store for another module's table.
 *
 * Tenancy: a caller's tenant is always its token's; no request names a
 * tenant. Another tenant's ids are simply not found (404, no data).
 *
 * Thread model. A store handle is never shared between threads (store.h):
 * each HTTP thread opens its own runtime on the database on its first
 * request and keeps it until the thread ends; so does each worker thread
 * and the event stream's watcher. The sandbox is per runtime, hence per
 * thread. What the threads share is the server's own state (metrics, rate
 * limits, the waiting event streams), each piece under its own lock or
 * atomic.
 *
 * Errors: as everywhere, 0 or a negative AD_E* code with detail in err.
 */
#ifndef AUTODEV_SERVER_H
#define AUTODEV_SERVER_H

/* Module server, layer 7: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 7
#error "autodev/server.h belongs to module server (layer 7), above the module including it"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/runtime.h"
#include "autodev/store.h"

/* ---- API tokens (tokens.c) -------------------------------------------------------- */

/*
 * A token is "adt_" and 43 characters of base64url: 256 random bits. It
 * is shown once, when it is made; the store keeps its SHA-256 only, so a
 * copy of the database gives no working token.
 */
#define AD_TOKEN_PREFIX "adt_"
#define AD_TOKEN_SIZE 48   /* 4 + 43 characters and NUL */

/* The SHA-256 of token as 64 lower-case hex digits. */
void ad_token_hash(const char *token, char out[AD_TOKEN_HASH_SIZE]);

/*
 * Makes a token of role for tenant_id, named name (NULL: "<role>-<8 hex
 * digits>"). token_out gets the token (the only copy there will be); row
 * (may be NULL) the stored row. The server hands out admin, reviewer and
 * agent: another role is AD_EINVAL. AD_EEXIST when the name is taken.
 */
int ad_tokens_create(struct ad_store *st, const char *tenant_id, enum ad_token_role role,
                     const char *name, char token_out[AD_TOKEN_SIZE], struct ad_api_token *row,
                     struct ad_err *err);
/*
 * The row of a presented token: its hash is looked up and compared in
 * constant time. AD_EPERM, with a message that never holds the token, for
 * a malformed, unknown or revoked one. A token last used over a minute ago
 * has last_used_at set to now (so a busy token writes once a minute).
 */
int ad_tokens_authenticate(struct ad_store *st, const char *token, struct ad_api_token *out,
                           struct ad_err *err);
/* The tenant's tokens by name (with_revoked: those revoked too). Free with ad_api_token_list_free. */
int ad_tokens_list(struct ad_store *st, const char *tenant_id, bool with_revoked, int limit,
                   struct ad_api_token **out, size_t *n, struct ad_err *err);
/* Revokes the tenant's token of that id or name. AD_ENOTFOUND; AD_ESTATE if revoked already. */
int ad_tokens_revoke(struct ad_store *st, const char *tenant_id, const char *id_or_name,
                     struct ad_api_token *row, struct ad_err *err);
/* Tokens not revoked, over every tenant: binding beyond loopback needs one. */
int ad_tokens_active(struct ad_store *st, int64_t *count, struct ad_err *err);
/* The row as JSON (never a hash): id, name, role, created_at, last_used_at, revoked_at. */
json_t *ad_token_json(const struct ad_api_token *t);

/* ---- the HTTP server (server.c) ----------------------------------------------------- */

/* A line for the operator (a start, a stop, a job's outcome); msg is borrowed for the call. */
typedef void ad_server_note_fn(void *arg, const char *msg);

/* Defaults of struct ad_server_options (a zero field takes these). */
#define AD_SERVER_DEFAULT_LISTEN "127.0.0.1:8420"
#define AD_SERVER_DEFAULT_THREADS 2
#define AD_SERVER_DEFAULT_CONNECTIONS 256
#define AD_SERVER_DEFAULT_TIMEOUT_S 15
#define AD_SERVER_DEFAULT_BODY (8u << 20)
#define AD_SERVER_DEFAULT_HEADER (16u << 10)
#define AD_SERVER_DEFAULT_RATE 200
#define AD_SERVER_DEFAULT_PING_S 15

struct ad_server_options {
    struct ad_runtime_options runtime;  /* how each thread opens its runtime (db required) */
    const char *listen;        /* "HOST:PORT" (IPv4, or [IPv6]); port 0 picks a free one */
    int threads;               /* HTTP threads */
    int max_connections;       /* open connections at once; more are answered 503 overloaded */
    int timeout_s;             /* a connection idle this long is closed (slow clients) */
    size_t max_body;           /* a larger request body is refused with 413 */
    size_t max_header;         /* request line and headers; larger is answered 431 */
    int rate;                  /* requests a second per token (-1: no limit), 429 past it */
    int burst;                 /* requests a token may make at once; 0: 2 x rate */
    int ping_s;                /* an event stream with nothing to say comments this often */
    ad_server_note_fn *note;   /* may be NULL */
    void *note_arg;
};

struct ad_server;

/*
 * Opens the runtime of the calling thread (which migrates the store), then
 * listens. A host that is not a loopback address (127.0.0.0/8, ::1,
 * localhost) is refused with AD_EPERM unless some API token exists: a
 * server reachable from elsewhere is never open to all. AD_EIO when the
 * address cannot be bound.
 */
int ad_server_start(const struct ad_server_options *o, struct ad_server **out,
                    struct ad_err *err);
/* The port listened on (the one picked, for port 0), and "HOST:PORT". */
int ad_server_port(const struct ad_server *s);
const char *ad_server_address(const struct ad_server *s);
/*
 * Stops: no new connection is accepted, event streams end, requests in
 * flight are answered (waiting at most grace_ms), then every connection
 * closes and the HTTP threads end. Returns how many requests were still in
 * flight when the grace ran out (0 normally). Call once.
 */
int ad_server_stop(struct ad_server *s, int64_t grace_ms);
void ad_server_free(struct ad_server *s);

/*
 * "HOST:PORT" into a socket address. host "localhost" is 127.0.0.1.
 * *loopback says whether the address is one. AD_EINVAL naming what is wrong.
 */
struct sockaddr_storage;
int ad_server_listen_parse(const char *listen, struct sockaddr_storage *addr, bool *loopback,
                           struct ad_err *err);

/*
 * The OpenAPI 3.1 document of every route of the route table (new
 * reference; NULL on ENOMEM). GET /v1/openapi.json serves it.
 */
json_t *ad_server_openapi(void);

/* ---- the workers (workers.c) -------------------------------------------------------- */

struct ad_workers_options {
    struct ad_runtime_options runtime;  /* how each worker opens its runtime (db required) */
    int workers;               /* threads, 1..256 */
    int64_t lease_ms;          /* a claimed job's lease; 0: the queue's default (5 minutes) */
    int poll_ms;               /* an idle worker looks for work this often; 0: 500 */
    ad_server_note_fn *note;   /* one line per job run; may be NULL */
    void *note_arg;
};

struct ad_workers;

/*
 * Starts the worker threads. Each opens its own runtime and, round after
 * round, claims and runs the due jobs of every tenant (with leases, like
 * 'autodev jobs run'), then sleeps poll_ms when a round ran none. Before
 * each round the tenant's scheduled work is queued when the runtime has a
 * schedule (ad_runtime_schedule).
 */
int ad_workers_start(const struct ad_workers_options *o, struct ad_workers **out,
                     struct ad_err *err);
/*
 * Asks the workers to stop and waits up to grace_ms for the jobs they run
 * to finish. A worker still inside a job then hands it back
 * (ad_jobs_hand_back): the job is queued again at once for the next worker
 * and this one writes nothing of it. *handed_back (may be NULL) gets how
 * many jobs went back. Threads that finished are joined; one still inside
 * a handler is left to the process's exit (the caller should exit).
 */
int ad_workers_stop(struct ad_workers *w, int64_t grace_ms, int *handed_back,
                    struct ad_err *err);
/* Frees what stop left (call after stop; a no-op for NULL). */
void ad_workers_free(struct ad_workers *w);

#endif
