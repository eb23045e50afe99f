/*
 * The store: autodev's schema, migrations and every query.
 *
 * One struct ad_store wraps a backend (SQLite now, PostgreSQL later) behind
 * the same functions. Every entity query takes the tenant id; a row of one
 * tenant is invisible to every other. Ids are UUIDv7 text, timestamps are
 * ISO-8601 UTC text with milliseconds (see clock.h).
 *
 * Ownership: entity structs are filled by the store and own their heap
 * members (char * and json_t *); release them with the matching
 * ad_<entity>_release(), or free a list with ad_<entity>_list_free().
 * Fixed-size id and time fields are embedded arrays.
 *
 * Transactions: ad_store_begin() nests. The outermost call starts a write
 * transaction; inner calls open savepoints, so a rollback of an inner level
 * undoes only its own work. Calls made outside any transaction run in their
 * own implicit transaction. A write call that fails inside a transaction
 * leaves nothing of its own behind, and the transaction stays usable. A
 * commit that fails has already rolled its level back: do not call
 * ad_store_rollback() after it. The one exception to "nothing behind": an
 * episode insert that fails after it started writing (an I/O error, out of
 * memory) leaves its level unable to commit; committing the outermost level
 * then rolls everything back and fails with AD_ESTATE, while rolling that
 * level back clears the condition.
 *
 * The exception to "stays usable": the database may end the whole
 * transaction by itself when a statement in it fails (SQLite does on out
 * of memory, a full disk, an I/O error, and in some busy cases). Every
 * level is then gone, with the work done in the outer ones. The call that
 * met the error fails with its code; from then until the outermost level is
 * closed, ad_store_begin(), every write call and ad_store_commit() fail
 * with that same code and write nothing (a commit still closes its level),
 * and ad_store_rollback() closes levels with nothing left to undo. Closing
 * the outermost level, by a rollback or that failed commit, clears the
 * condition. A caller that carries on after a failed call (a bus handler's
 * savepoint) therefore never commits part of a transaction whose beginning
 * was lost, and never starts a new one unawares. Reads still run, and see
 * only what is committed.
 *
 * Threads and processes: a struct ad_store is one connection with its own
 * transaction state and statement cache, and is not thread-safe. Use one
 * handle per thread; a handle is never shared between threads unless the
 * caller serialises every call on it (a lock held across a whole
 * transaction, since begin/commit are per handle). Many handles on one
 * database, in many threads and processes, are the intended use: SQLite
 * runs in WAL mode, so readers never block the writer nor each other, and
 * writers queue for the database's one write lock for up to the busy
 * timeout (then AD_EBUSY). Any calls may therefore run at once from
 * different handles; reads see the last committed state, and a handle's
 * own transaction sees its own writes. Every write runs in a transaction
 * that takes the write lock when it begins (BEGIN IMMEDIATE), never later,
 * so a transaction does not fail half-way on a lock upgrade.
 *
 * Daily limits (ad_store_candidate_insert, ad_store_mutation_insert) count
 * the tenant's rows of the day and insert in one transaction level that holds the write lock from
 * before the count to the commit: two handles can never both count four of
 * five and both insert. The guarantee rests on that lock alone (not on
 * the caller's process or thread), so it holds across processes; it needs
 * every writer of those rows to go through the store.
 *
 * Errors: AD_EBUSY when the database stays locked past the busy timeout,
 * AD_ECORRUPT for a corrupt or foreign file, AD_ENOTFOUND for a missing row,
 * AD_EEXIST for a taken unique name or key, AD_EINVAL for a bad argument,
 * AD_ETOOBIG for a field over its cap, AD_EPERM for a write to a store
 * opened AD_STORE_READONLY.
 *
 * Sections: caps and options; open, schema and transactions; tenants;
 * agents; episodes (and the brief view of recent failures); events; jobs;
 * the server's rows (API tokens, the tenant list, job counts);
 * LLM calls; skills, their versions, search and executions; agent
 * sessions; agent record; skill candidates and mutation counts; capability
 * usage; notifications; failure patterns; AlphaEvolver's tool mutations and
 * workflow variants.
 */
#ifndef AUTODEV_STORE_H
#define AUTODEV_STORE_H

/* Module store, layer 1: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 1
#error "autodev/store.h belongs to module store (layer 1), above the module including it"
#endif

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "autodev/clock.h"
#include "autodev/error.h"

struct ad_store;

/* Caps on user-supplied fields; a larger value is refused, not truncated. */
#define AD_NAME_MAX 128                 /* agent, tenant, skill names */
#define AD_TASK_DESC_MAX (16 * 1024)
#define AD_TASK_KIND_MAX 128
#define AD_ERROR_TRACE_MAX (64 * 1024)
#define AD_JSON_FIELD_MAX (256 * 1024)  /* any one JSON column, compact form */
#define AD_SEGMENTS_MAX 256
#define AD_SEGMENT_CONTENT_MAX (64 * 1024)
#define AD_TOPIC_MAX 64
/*
 * Caps on an episode's numbers, so that any sum over them (an agent's
 * record, graduation, a listing's totals) stays far inside int64 and the
 * exact range of a double: a thousand million tokens per episode (9.2e9
 * such episodes before an int64 sum could overflow), a year of execution
 * per episode (its milliseconds fit int64 a million times over).
 */
#define AD_EPISODE_TOKENS_MAX INT64_C(1000000000)
#define AD_EPISODE_SECONDS_MAX 31536000.0

/* Default and largest page size of every list call. */
#define AD_LIST_DEFAULT 50
#define AD_LIST_MAX 10000

enum ad_store_flags {
    AD_STORE_CREATE = 1 << 0,    /* create the database file if missing */
    AD_STORE_READONLY = 1 << 1,  /* open read-only: see ad_store_open */
};

/*
 * How long a handle waits in all for the write lock (or a read for a
 * recovering database) before AD_EBUSY, unless told otherwise. Writers
 * wait their turn with a jittered, doubling sleep of at most 25 ms between
 * tries (sqlite/conn.c), so tens of concurrent writers committing
 * transactions of a thousand episodes each all get through well within it.
 */
#define AD_STORE_BUSY_DEFAULT_MS 60000

struct ad_store_options {
    int flags;               /* enum ad_store_flags */
    int busy_timeout_ms;     /* 0: AD_STORE_BUSY_DEFAULT_MS */
};

/*
 * Opens the database named by uri: a file path, or "sqlite:PATH".
 * Migrations to the newest schema run inside one transaction unless
 * AD_STORE_READONLY. A missing file without AD_STORE_CREATE is AD_ENOTFOUND;
 * a file that is not an autodev database (or is newer than this binary) is
 * AD_ECORRUPT / AD_ENOTSUP with a message that says which.
 *
 * AD_STORE_READONLY never changes the file: no migration (a database of
 * an older schema is AD_ENOTSUP, "needs an upgrade"), no adoption of an
 * empty file (AD_ECORRUPT, "is empty"), no journal mode change. Every read
 * works; a write is AD_EPERM. In a directory the process may not write,
 * where SQLite cannot create the -shm file a WAL database is read through,
 * the file is opened immutable (no locks, no -shm) when it has no -wal
 * file or an empty one, and refused (AD_EPERM) when its -wal holds
 * transactions; an immutable handle assumes nothing writes the database
 * while it is open, which is what a read-only directory says.
 */
int ad_store_open(const char *uri, const struct ad_store_options *opts, struct ad_store **out,
                  struct ad_err *err);
void ad_store_free(struct ad_store *st);

/* "sqlite" (later "pg"). */
const char *ad_store_backend(const struct ad_store *st);
/* The file a store uri names (a SQLite database: "sqlite:PATH" or PATH), or
 * NULL when the uri names a server (postgres://, postgresql://, pg:). */
const char *ad_store_uri_file(const char *uri);
/* The schema version now in the database, and the newest this binary knows. */
int ad_store_schema_version(struct ad_store *st, int *current, int *latest, struct ad_err *err);
/* Runs the backend's integrity check; AD_ECORRUPT with the first problem. */
int ad_store_check(struct ad_store *st, struct ad_err *err);

/*
 * At depth 0, a transaction the database still holds because a rollback
 * could not run is rolled back first (and logged), so one failed rollback
 * never wedges the store.
 */
int ad_store_begin(struct ad_store *st, struct ad_err *err);
int ad_store_commit(struct ad_store *st, struct ad_err *err);
/*
 * Never fails visibly: a rollback that cannot run is logged, and its level
 * is closed all the same. It needs no memory (its statements are prepared
 * when the store opens), so it runs when memory has run out.
 */
void ad_store_rollback(struct ad_store *st);
/* Nesting depth, 0 outside any transaction. */
int ad_store_tx_depth(const struct ad_store *st);

/* ---- tenants -------------------------------------------------------- */

struct ad_tenant {
    char id[AD_ID_SIZE];
    char *name;
    char created_at[AD_TIME_SIZE];
};

void ad_tenant_release(struct ad_tenant *t);
/* Valid names: 1..AD_NAME_MAX of [A-Za-z0-9_.-], starting alphanumeric. */
int ad_name_valid(const char *name);
/* Looks a tenant up by name, creating it (with default settings) if absent. */
int ad_store_tenant_ensure(struct ad_store *st, const char *name, char id_out[AD_ID_SIZE],
                           struct ad_err *err);
/* AD_ENOTFOUND when there is no tenant of that name. */
int ad_store_tenant_get(struct ad_store *st, const char *name, struct ad_tenant *out,
                        struct ad_err *err);

/* ---- agents --------------------------------------------------------- */

enum ad_maturity {
    AD_STUDENT = 0,
    AD_INTERN = 1,
    AD_SUPERVISED = 2,
    AD_AUTONOMOUS = 3,
};

/* "STUDENT" ...; NULL for an out-of-range value. */
const char *ad_maturity_name(enum ad_maturity m);
/* Case-insensitive. 0 or AD_EINVAL. */
int ad_maturity_parse(const char *s, enum ad_maturity *out);

struct ad_agent {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *name;
    enum ad_maturity maturity;
    int64_t episode_count;
    int64_t success_count;
    int64_t failure_count;
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
    char *tool_policy;           /* the agent loop's allow-list: NULL by maturity, else tool
                                    names joined by ',' ("" none); see ad_agent_tools_set */
};

void ad_agent_release(struct ad_agent *a);
void ad_agent_list_free(struct ad_agent *v, size_t n);
/*
 * Caller sets tenant_id, name, maturity; the store sets id, counters (0),
 * created_at and updated_at. AD_EEXIST if the name is taken in the tenant.
 */
int ad_store_agent_insert(struct ad_store *st, struct ad_agent *a, struct ad_err *err);
int ad_store_agent_get(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_agent *out, struct ad_err *err);
/* Sets (NULL: clears) the agent's tool_policy. AD_ENOTFOUND when the tenant has no such agent. */
int ad_store_agent_set_tool_policy(struct ad_store *st, const char *tenant_id, const char *id,
                                   const char *policy, struct ad_err *err);
int ad_store_agent_get_by_name(struct ad_store *st, const char *tenant_id, const char *name,
                               struct ad_agent *out, struct ad_err *err);
/* Ordered by name; after_name (may be NULL) pages past that name. */
int ad_store_agent_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                        int limit, struct ad_agent **out, size_t *n, struct ad_err *err);
int ad_store_agent_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                                enum ad_maturity m, struct ad_err *err);

/* ---- episodes ------------------------------------------------------- */

struct ad_episode_segment {
    char id[AD_ID_SIZE];
    char *kind;          /* required, <= AD_TASK_KIND_MAX */
    char *content;       /* required, <= AD_SEGMENT_CONTENT_MAX */
    json_t *metadata;    /* object or NULL */
    char created_at[AD_TIME_SIZE];
};

struct ad_episode {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];
    char *task_description;     /* required */
    char *task_kind;            /* NULL when unknown */
    json_t *input;              /* any JSON or NULL */
    json_t *expected;
    json_t *output;
    bool success;
    char *error_trace;          /* NULL when none */
    json_t *tools_attempted;    /* array or NULL */
    json_t *context;            /* object or NULL */
    bool intervention;          /* a human stepped in */
    double constitutional_score; /* 0..1, or NAN when unknown */
    double execution_seconds;   /* >= 0 */
    int64_t token_usage;        /* >= 0 */
    char *skill_version_id;     /* NULL when no skill ran */
    char *error_type;           /* NULL when none; derived (see ad_store_episode_insert) */
    char created_at[AD_TIME_SIZE];
    struct ad_episode_segment *segments;  /* owned array */
    size_t nsegments;
};

/* Zeroes *ep with constitutional_score = NAN. */
void ad_episode_init(struct ad_episode *ep);
void ad_episode_release(struct ad_episode *ep);
void ad_episode_list_free(struct ad_episode *v, size_t n);

/*
 * Fills ep from one episode object as sent by users:
 *   {"agent": NAME | "agent_id": ID, "task_description": S, "success": B,
 *    "task_kind", "input", "expected", "output", "error_trace",
 *    "tools_attempted" (array), "context" (object), "intervention" (bool),
 *    "constitutional_score" (0..1), "execution_seconds" (>=0),
 *    "token_usage" (>=0), "skill_version_id", "segments": [{"kind",
 *    "content", "metadata"}]}
 * Unknown fields, wrong types, out-of-range numbers and fields over their
 * caps are AD_EINVAL / AD_ETOOBIG naming the field. The agent is not
 * resolved here: *agent_name (borrowed from obj) is set when "agent" is
 * given, otherwise ep->agent_id is copied from "agent_id".
 */
int ad_episode_from_json(const json_t *obj, struct ad_episode *ep, const char **agent_name,
                         struct ad_err *err);
/*
 * New reference; NULL on allocation failure. Includes segments if loaded,
 * and "error_type" (a string or null), which ad_episode_from_json does not
 * take: the type is derived from the trace, never sent by users.
 */
json_t *ad_episode_to_json(const struct ad_episode *ep);

/*
 * Caller sets tenant_id, agent_id and the content; the store sets id and
 * created_at (of the episode and each segment) and bumps the agent's
 * counters in the same transaction. AD_ENOTFOUND for an unknown agent.
 * error_type, when the caller sets it, must be a dotted identifier of at
 * most AD_ERROR_TYPE_MAX bytes (see autodev/text.h); when it is NULL the
 * row gets ad_text_error_type(error_trace), and ep->error_type stays NULL
 * (read the episode back to see it).
 */
int ad_store_episode_insert(struct ad_store *st, struct ad_episode *ep, struct ad_err *err);
/* Loads the episode with its segments. */
int ad_store_episode_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_episode *out, struct ad_err *err);

struct ad_episode_filter {
    const char *agent_id;    /* NULL: all agents */
    int success;             /* -1 any, 0 failed only, 1 succeeded only */
    const char *task_kind;   /* NULL: any */
    const char *before_id;   /* keyset paging: episodes older than this id */
    int limit;               /* 0: AD_LIST_DEFAULT; capped at AD_LIST_MAX */
    const char *skill_version_id;   /* NULL: any; else the episodes that ran this version */
};

#define AD_EPISODE_FILTER_INIT { NULL, -1, NULL, NULL, 0, NULL }

/* Newest first; segments are not loaded. */
int ad_store_episode_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                          struct ad_err *err);
/* Number of episodes matching the filter (before_id and limit ignored). */
int ad_store_episode_count(struct ad_store *st, const char *tenant_id,
                           const struct ad_episode_filter *f, int64_t *count, struct ad_err *err);

/* What reflection compares of a failure: a few columns, no JSON. */
struct ad_episode_brief {
    char id[AD_ID_SIZE];
    char *task_description;
    char *error_type;           /* NULL when none */
    char created_at[AD_TIME_SIZE];
};

void ad_episode_brief_list_free(struct ad_episode_brief *v, size_t n);
/*
 * The agent's failed episodes created at or after since (ISO-8601 UTC;
 * NULL: ever), newest first, at most limit (0: AD_LIST_DEFAULT; capped at
 * AD_LIST_MAX). An agent that is not the tenant's has none. With
 * only_type, just the failures of error type error_type (NULL: of no type)
 * carry their task_description; the others come with it NULL, read from
 * the index alone (what reflection needs: it compares only failures of the
 * same type, but counts its window over all of them).
 */
int ad_store_episode_recent_failures(struct ad_store *st, const char *tenant_id,
                                     const char *agent_id, const char *since, int limit,
                                     bool only_type, const char *error_type,
                                     struct ad_episode_brief **out, size_t *n,
                                     struct ad_err *err);

/* ---- events (the durable outbox behind the bus) ---------------------- */

struct ad_event {
    int64_t seq;               /* store-wide, strictly increasing */
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *topic;
    json_t *payload;           /* object */
    char created_at[AD_TIME_SIZE];
};

void ad_event_release(struct ad_event *ev);
void ad_event_list_free(struct ad_event *v, size_t n);
/*
 * Caller sets tenant_id, topic, payload; the store sets seq, id, created_at.
 * seq is larger than every seq committed before, so a reader that
 * remembers the last seq it saw can resume from there.
 */
int ad_store_event_append(struct ad_store *st, struct ad_event *ev, struct ad_err *err);
/* Events with seq > since_seq in seq order; topic NULL for all topics. */
int ad_store_event_list(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                        const char *topic, int limit, struct ad_event **out, size_t *n,
                        struct ad_err *err);
/* Largest seq of the tenant, 0 when none. */
int ad_store_event_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                            struct ad_err *err);

/* ---- jobs (rows only; the policy lives in jobs.h) --------------------- */

enum ad_job_status {
    AD_JOB_QUEUED = 0,
    AD_JOB_RUNNING = 1,
    AD_JOB_DONE = 2,
    AD_JOB_FAILED = 3,   /* failed for good: the handler said not to retry */
    AD_JOB_DEAD = 4,     /* dead-lettered: out of attempts */
};

const char *ad_job_status_name(enum ad_job_status s);
int ad_job_status_parse(const char *s, enum ad_job_status *out);

struct ad_job {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *kind;
    json_t *payload;            /* object */
    enum ad_job_status status;
    int attempts;               /* claims so far */
    int max_attempts;
    char *idempotency_key;      /* NULL when none */
    char run_after[AD_TIME_SIZE];
    char lease_until[AD_TIME_SIZE];  /* "" when not running */
    char *worker;               /* NULL when not running */
    char *last_error;
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

void ad_job_release(struct ad_job *j);
void ad_job_list_free(struct ad_job *v, size_t n);
/*
 * Caller sets tenant_id, kind, payload, max_attempts, run_after ("" = now)
 * and optionally idempotency_key. If a job of the tenant already has that
 * key, nothing is inserted, *j is filled with the existing job and the
 * call returns AD_EEXIST.
 */
int ad_store_job_insert(struct ad_store *st, struct ad_job *j, struct ad_err *err);
/* Only the status of a job (its payload is neither read nor decoded). AD_ENOTFOUND when none. */
int ad_store_job_status(struct ad_store *st, const char *tenant_id, const char *id,
                        enum ad_job_status *out, struct ad_err *err);
int ad_store_job_get(struct ad_store *st, const char *tenant_id, const char *id,
                     struct ad_job *out, struct ad_err *err);
/*
 * Atomically takes the oldest claimable job of the tenant (kind NULL: any
 * kind): queued with run_after <= now, or running with an expired lease.
 * It becomes running, attempts + 1, worker and lease_until = now + lease_ms.
 * AD_ENOTFOUND when nothing is claimable.
 */
int ad_store_job_claim(struct ad_store *st, const char *tenant_id, const char *kind,
                       const char *worker, int64_t now_ms, int64_t lease_ms, struct ad_job *out,
                       struct ad_err *err);
/*
 * Moves a running job held by worker to status (DONE, FAILED, DEAD, or
 * QUEUED again with run_after = retry_at for a retry), recording error.
 * AD_ESTATE when the job is not running under that worker any more (its
 * lease expired and someone else claimed it).
 */
int ad_store_job_finish(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *worker, enum ad_job_status status, const char *error,
                        const char *retry_at, struct ad_err *err);
/*
 * Renews the lease of a job running under worker: lease_until = now_ms +
 * lease_ms (into lease_until, may be NULL). AD_ESTATE when the job is not
 * running under that worker any more (it finished, or its lease ran out and
 * another worker claimed it), AD_ENOTFOUND when there is no such job. Inside
 * the caller's transaction the row stays the caller's until that
 * transaction ends: a claim by another worker waits for it, and then sees
 * the new lease.
 */
int ad_store_job_renew(struct ad_store *st, const char *tenant_id, const char *id,
                       const char *worker, int64_t now_ms, int64_t lease_ms,
                       char lease_until[AD_TIME_SIZE], struct ad_err *err);
/* Newest first; status < 0 for any status. */
int ad_store_job_list(struct ad_store *st, const char *tenant_id, int status, const char *kind,
                      int limit, struct ad_job **out, size_t *n, struct ad_err *err);
/* The same, from the job older than before_id (keyset paging; NULL: the newest). */
int ad_store_job_list_before(struct ad_store *st, const char *tenant_id, int status,
                             const char *kind, const char *before_id, int limit,
                             struct ad_job **out, size_t *n, struct ad_err *err);

/* ---- the server's rows: API tokens; and what its workers and metrics read -- */

/*
 * API tokens (module server owns them: server.h holds the policy). A row
 * keeps the SHA-256 of the token, never the token; the tenant is the
 * token's, which is how the server knows a caller's tenant. The roles are
 * the column's CHECK list; the server hands out admin, reviewer and agent.
 */
enum ad_token_role {
    AD_ROLE_ADMIN = 0,
    AD_ROLE_OPERATOR = 1,
    AD_ROLE_REVIEWER = 2,
    AD_ROLE_AGENT = 3,
    AD_ROLE_VIEWER = 4,
};

/* "admin" ...; NULL for an out-of-range value. */
const char *ad_token_role_name(enum ad_token_role r);
/* Case-insensitive. 0 or AD_EINVAL. */
int ad_token_role_parse(const char *s, enum ad_token_role *out);

#define AD_TOKEN_HASH_SIZE 65   /* SHA-256 as 64 lower-case hex digits and NUL */

struct ad_api_token {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *name;                          /* required, ad_name_valid, unique in the tenant */
    char token_hash[AD_TOKEN_HASH_SIZE]; /* 64 lower-case hex digits */
    enum ad_token_role role;
    char created_at[AD_TIME_SIZE];
    char last_used_at[AD_TIME_SIZE];     /* "" never used */
    char revoked_at[AD_TIME_SIZE];       /* "" while it works */
};

void ad_api_token_release(struct ad_api_token *t);
void ad_api_token_list_free(struct ad_api_token *v, size_t n);
/*
 * Caller sets tenant_id, name, token_hash and role; the store sets id and
 * created_at. AD_EEXIST when the tenant has a token of that name (revoked
 * ones keep theirs) or the hash is taken.
 */
int ad_store_token_insert(struct ad_store *st, struct ad_api_token *t, struct ad_err *err);
/*
 * The token whose hash is hash, whatever its tenant (a caller shows a
 * token, not a tenant), revoked or not. AD_ENOTFOUND when none.
 */
int ad_store_token_find_hash(struct ad_store *st, const char *hash, struct ad_api_token *out,
                             struct ad_err *err);
/* The tenant's token of id, or else of that name. AD_ENOTFOUND when none. */
int ad_store_token_get(struct ad_store *st, const char *tenant_id, const char *id_or_name,
                       struct ad_api_token *out, struct ad_err *err);
/* The tenant's tokens by name; with_revoked also those revoked. */
int ad_store_token_list(struct ad_store *st, const char *tenant_id, bool with_revoked, int limit,
                        struct ad_api_token **out, size_t *n, struct ad_err *err);
/* Sets revoked_at of the tenant's token id. AD_ENOTFOUND; AD_ESTATE when already revoked. */
int ad_store_token_revoke(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_err *err);
/* Sets last_used_at of the tenant's token id to now. AD_ENOTFOUND. */
int ad_store_token_touch(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_err *err);
/* Tokens not revoked, over every tenant. */
int ad_store_token_count_active(struct ad_store *st, int64_t *count, struct ad_err *err);

/* ---- fitness terms: a workspace's own objectives (module learn owns them) -- */

/*
 * A custom fitness term (fitness.h says how it scores): Python source
 * defining term(signals) -> float in [0, 1], run in the sandbox. name is a
 * Python identifier (ad_text_identifier, at most AD_FITNESS_TERM_NAME_MAX
 * bytes), unique in the tenant; code at most AD_FITNESS_TERM_CODE_MAX
 * bytes, valid UTF-8 without NUL; code_sha the SHA-256 of code as 64
 * lower-case hex digits; weight finite and > 0, at most
 * AD_FITNESS_TERM_WEIGHT_MAX.
 */
#define AD_FITNESS_TERM_NAME_MAX 64
#define AD_FITNESS_TERM_CODE_MAX (16 * 1024)
#define AD_FITNESS_TERM_WEIGHT_MAX 100.0

struct ad_fitness_term {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *name;                          /* owned */
    char *code;                          /* owned */
    char code_sha[AD_TOKEN_HASH_SIZE];
    double weight;
    bool enabled;
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

/* Frees name and code and zeroes t (NULL is fine). */
void ad_fitness_term_release(struct ad_fitness_term *t);
void ad_fitness_term_list_free(struct ad_fitness_term *v, size_t n);
/*
 * Caller sets tenant_id, name, code, code_sha, weight and enabled; the store
 * sets id, created_at and updated_at. AD_EINVAL naming the field that is
 * wrong; AD_EEXIST when the tenant has a term of that name; AD_ENOTFOUND
 * for an unknown tenant.
 */
int ad_store_fitness_term_insert(struct ad_store *st, struct ad_fitness_term *t,
                                 struct ad_err *err);
/* The tenant's term of that name. AD_ENOTFOUND when none. */
int ad_store_fitness_term_get(struct ad_store *st, const char *tenant_id, const char *name,
                              struct ad_fitness_term *out, struct ad_err *err);
/*
 * The tenant's terms by name (enabled_only: those enabled), at most
 * AD_LIST_MAX. Free with ad_fitness_term_list_free.
 */
int ad_store_fitness_term_list(struct ad_store *st, const char *tenant_id, bool enabled_only,
                               struct ad_fitness_term **out, size_t *n, struct ad_err *err);
/* Deletes the tenant's term of that name. AD_ENOTFOUND when none. */
int ad_store_fitness_term_delete(struct ad_store *st, const char *tenant_id, const char *name,
                                 struct ad_err *err);

/* Every tenant, by name (the workers serve them all). Free with ad_tenant_list_free. */
void ad_tenant_list_free(struct ad_tenant *v, size_t n);
int ad_store_tenant_list(struct ad_store *st, struct ad_tenant **out, size_t *n,
                         struct ad_err *err);

/* The tenant's jobs by status: counts[s] for each enum ad_job_status s. */
#define AD_JOB_STATUS_COUNT 5
int ad_store_job_counts(struct ad_store *st, const char *tenant_id,
                        int64_t counts[AD_JOB_STATUS_COUNT], struct ad_err *err);
/*
 * Hands the tenant's jobs running under worker back to the queue: queued
 * again, runnable now, lease and worker cleared, attempts kept, last_error
 * note. *count (may be NULL) gets how many. A worker that still runs one
 * of them has lost its lease and writes nothing (jobs.h).
 */
int ad_store_job_hand_back(struct ad_store *st, const char *tenant_id, const char *worker,
                           const char *note, int64_t *count, struct ad_err *err);
/*
 * Waits up to timeout_ms (0..3600000) for a sign that a job of any tenant
 * may have become claimable (an insert, a retry or a hand-back committed by
 * any process): 1 when one came, 0 when the time ran out, AD_ENOTSUP when
 * the backend has no such wakeup (SQLite: poll instead). Only an
 * optimisation; a caller still polls. Not inside a transaction.
 */
int ad_store_job_wait(struct ad_store *st, int timeout_ms, struct ad_err *err);

/*
 * Whether the database may have changed since this handle last looked: a
 * number that moves whenever another handle (of any thread or process)
 * commits (*others), and the count of this handle's own commits (*own).
 * Both equal to a pair read before means nothing changed in between, so
 * what was read from the store then is still current (the server caches
 * catalog pages on it). AD_ENOTSUP from a backend that cannot tell.
 */
int ad_store_changes(struct ad_store *st, int64_t *others, int64_t *own, struct ad_err *err);

/* ---- LLM calls (the cost ledger) ------------------------------------------ */

/* One call, as written; strings borrowed by the insert. */
struct ad_llm_call {
    char id[AD_ID_SIZE];            /* set by the insert */
    char tenant_id[AD_ID_SIZE];
    const char *provider;           /* required, <= 64 bytes */
    const char *model;              /* required, <= 256 bytes */
    const char *purpose;            /* may be NULL, <= 64 bytes */
    int64_t prompt_tokens, completion_tokens;
    double cost_usd;
    int64_t latency_ms;
    int ok;                         /* status 'ok' or 'error' */
    const char *error;              /* may be NULL; cut to 1000 bytes */
    const char *request_id;         /* may be NULL, <= 256 bytes */
    char created_at[AD_TIME_SIZE];  /* set by the insert */
};

int ad_store_llm_call_insert(struct ad_store *st, struct ad_llm_call *c, struct ad_err *err);

/* The ledger summed by provider, model and purpose. */
struct ad_llm_usage_row {
    char *provider, *model, *purpose;   /* owned; purpose "" when none */
    int64_t calls, errors;
    int64_t prompt_tokens, completion_tokens;
    double cost_usd;
    int64_t latency_ms_avg;
};

void ad_llm_usage_rows_free(struct ad_llm_usage_row *v, size_t n);
/* Calls created at or after since (ISO-8601 UTC; NULL: all), largest cost first. */
int ad_store_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                       struct ad_llm_usage_row **out, size_t *n, struct ad_err *err);
/* Tokens (prompt + completion) and USD spent by the tenant since (ISO-8601). */
int ad_store_llm_spent(struct ad_store *st, const char *tenant_id, const char *since,
                       int64_t *tokens, double *usd, struct ad_err *err);

/* ---- skills: the catalog's rows (the policy lives in skill.h) ------------ */

#define AD_SEMVER_SIZE 32                 /* "MAJOR.MINOR.PATCH" and NUL */
#define AD_SKILL_DESC_MAX 4096
#define AD_SKILL_CODE_MAX (1024 * 1024)   /* one version's source */
#define AD_ENTRY_MAX 128                  /* the entry function's name */

enum ad_skill_origin {
    AD_ORIGIN_MANUAL = 0,
    AD_ORIGIN_MEMENTO = 1,
    AD_ORIGIN_ALPHA = 2,
    AD_ORIGIN_RESEARCH = 3,
    AD_ORIGIN_IMPORT = 4,
};

/* "manual" ...; NULL for an out-of-range value. */
const char *ad_skill_origin_name(enum ad_skill_origin o);
/* 0 or AD_EINVAL. */
int ad_skill_origin_parse(const char *s, enum ad_skill_origin *out);

struct ad_skill {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *name;                  /* the catalog name; see ad_skill_name_valid */
    char *description;           /* "" when none, <= AD_SKILL_DESC_MAX */
    char *entry_function;        /* a Python identifier, <= AD_ENTRY_MAX */
    json_t *input_schema;        /* a JSON object, or NULL */
    char current_version_id[AD_ID_SIZE];   /* "" while it has none */
    char *status;                /* active | disabled | deprecated | archived */
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

struct ad_skill_version {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char skill_id[AD_ID_SIZE];
    char semver[AD_SEMVER_SIZE];
    char *code;                  /* required, <= AD_SKILL_CODE_MAX */
    char parent_version_id[AD_ID_SIZE];    /* "" for a first version */
    enum ad_skill_origin origin;
    char *origin_id;             /* NULL when none */
    char created_at[AD_TIME_SIZE];
};

void ad_skill_release(struct ad_skill *s);
void ad_skill_list_free(struct ad_skill *v, size_t n);
void ad_skill_version_release(struct ad_skill_version *v);
void ad_skill_version_list_free(struct ad_skill_version *v, size_t n);

/*
 * Catalog names: 1..64 of [a-z0-9_], starting and ending with a letter or
 * digit, no "__" (so that the Agent Skills form, '_' -> '-', is valid and
 * the mapping is lossless both ways). Returns 1 when valid.
 */
int ad_skill_name_valid(const char *name);
/* "1.2.3": three decimal numbers without leading zeros, each < 2^31. */
int ad_semver_valid(const char *semver);

/*
 * Inserts a new skill with its first version and makes that version
 * current, in one transaction. Caller sets s->tenant_id, name, description
 * (NULL: ""), entry_function, input_schema (may be NULL), status (NULL:
 * "active"), and v->semver, code, origin, origin_id. The store sets both
 * ids and timestamps, v->tenant_id, v->skill_id, v->parent_version_id ("")
 * and s->current_version_id. AD_EEXIST when the name is taken.
 */
int ad_store_skill_insert(struct ad_store *st, struct ad_skill *s, struct ad_skill_version *v,
                          struct ad_err *err);
/*
 * Adds a version to an existing skill. Caller sets tenant_id, skill_id,
 * semver, code, parent_version_id ("" for none; else a version of the same
 * skill), origin, origin_id. With make_current the skill's
 * current_version_id moves to it in the same transaction. AD_EEXIST when
 * the skill already has that semver; AD_ENOTFOUND for an unknown skill or
 * parent.
 */
int ad_store_skill_version_insert(struct ad_store *st, struct ad_skill_version *v,
                                  bool make_current, struct ad_err *err);
/* Makes version_id (a version of skill_id) current. AD_ENOTFOUND if not. */
int ad_store_skill_set_current(struct ad_store *st, const char *tenant_id, const char *skill_id,
                               const char *version_id, struct ad_err *err);
/* Updates description, entry_function, input_schema and status of s->id. */
int ad_store_skill_update(struct ad_store *st, struct ad_skill *s, struct ad_err *err);
int ad_store_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_skill *out, struct ad_err *err);
int ad_store_skill_get_by_name(struct ad_store *st, const char *tenant_id, const char *name,
                               struct ad_skill *out, struct ad_err *err);
/* Ordered by name; after_name (may be NULL) pages past that name. */
int ad_store_skill_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                        int limit, struct ad_skill **out, size_t *n, struct ad_err *err);
int ad_store_skill_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_skill_version *out, struct ad_err *err);
/* The version of skill_id with that semver; AD_ENOTFOUND when none. */
int ad_store_skill_version_find(struct ad_store *st, const char *tenant_id,
                                const char *skill_id, const char *semver,
                                struct ad_skill_version *out, struct ad_err *err);
/* Every version of skill_id, oldest first. */
int ad_store_skill_version_list(struct ad_store *st, const char *tenant_id,
                                const char *skill_id, struct ad_skill_version **out, size_t *n,
                                struct ad_err *err);
/*
 * The version version_id and its ancestors by parent_version_id (one
 * recursive query), newest first: out[0] is version_id itself. At most
 * AD_LINEAGE_MAX rows. AD_ENOTFOUND when it is not the tenant's.
 */
int ad_store_skill_version_ancestry(struct ad_store *st, const char *tenant_id,
                                    const char *version_id, struct ad_skill_version **out,
                                    size_t *n, struct ad_err *err);

/* One full-text search hit: the skill and its relevance (higher is better, > 0). */
struct ad_skill_hit {
    struct ad_skill skill;
    double score;
};

void ad_skill_hits_free(struct ad_skill_hit *v, size_t n);
/*
 * Full-text search (FTS5, BM25 ranking; a match in the name weighs 4x a
 * match in the description) over the tenant's active skills. query is
 * free text: its words (letters and digits, lower-cased; '_' and '-' split
 * words like spaces) are OR-ed, so no query can be an FTS5 syntax error.
 * A query without words gives no hits. Best first.
 */
int ad_store_skill_search(struct ad_store *st, const char *tenant_id, const char *query,
                          int limit, struct ad_skill_hit **out, size_t *n, struct ad_err *err);

struct ad_skill_execution {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char skill_version_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];      /* "" when no agent */
    char episode_id[AD_ID_SIZE];    /* "" when no episode */
    json_t *input;                  /* any JSON or NULL */
    json_t *output;                 /* any JSON or NULL */
    bool success;
    double execution_seconds;       /* >= 0 */
    int64_t token_usage;            /* >= 0 */
    char *error;                    /* NULL when none; <= AD_ERROR_TRACE_MAX */
    char created_at[AD_TIME_SIZE];
};

void ad_skill_execution_release(struct ad_skill_execution *x);
void ad_skill_execution_list_free(struct ad_skill_execution *v, size_t n);
/* Caller sets everything but id and created_at. */
int ad_store_skill_execution_insert(struct ad_store *st, struct ad_skill_execution *x,
                                    struct ad_err *err);
/* Newest first; skill_version_id NULL for every version. */
int ad_store_skill_execution_list(struct ad_store *st, const char *tenant_id,
                                  const char *skill_version_id, int limit,
                                  struct ad_skill_execution **out, size_t *n,
                                  struct ad_err *err);

/* ---- agent sessions (the agent loop's transcripts) ---------------------- */

#define AD_TRANSCRIPT_MAX (8 * 1024 * 1024)   /* the transcript, compact JSON */

enum ad_session_status {
    AD_SESSION_RUNNING = 0,   /* in progress, or its process died: resumable */
    AD_SESSION_DONE = 1,      /* a final answer */
    AD_SESSION_FAILED = 2,    /* an error ended it */
    AD_SESSION_STOPPED = 3,   /* a limit stopped it (turns, cost, breaker): resumable */
};

const char *ad_session_status_name(enum ad_session_status s);
int ad_session_status_parse(const char *s, enum ad_session_status *out);

struct ad_agent_session {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];
    char *task;                     /* required, <= AD_TASK_DESC_MAX */
    enum ad_session_status status;
    json_t *transcript;             /* array of messages; <= AD_TRANSCRIPT_MAX */
    json_t *state;                  /* object: the loop's counters; <= AD_JSON_FIELD_MAX */
    char episode_id[AD_ID_SIZE];    /* "" until the run became an episode */
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

void ad_agent_session_release(struct ad_agent_session *s);
void ad_agent_session_list_free(struct ad_agent_session *v, size_t n);
/* Caller sets tenant_id, agent_id, task, status, transcript, state. */
int ad_store_agent_session_insert(struct ad_store *st, struct ad_agent_session *s,
                                  struct ad_err *err);
/* Writes status, transcript, state and episode_id of s->id; sets updated_at. */
int ad_store_agent_session_update(struct ad_store *st, struct ad_agent_session *s,
                                  struct ad_err *err);
int ad_store_agent_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_agent_session *out, struct ad_err *err);
/* Newest first; agent_id NULL for every agent. transcript is not loaded (NULL). */
int ad_store_agent_session_list(struct ad_store *st, const char *tenant_id,
                                const char *agent_id, int limit, struct ad_agent_session **out,
                                size_t *n, struct ad_err *err);

/* ---- agent record (graduation) ------------------------------------------ */

/* What graduation reads about one agent, over all its episodes. */
struct ad_agent_record {
    int64_t episodes;
    int64_t interventions;          /* episodes a human stepped into */
    int64_t constitutional_n;       /* episodes with a constitutional score */
    double constitutional_mean;     /* mean of those scores; 0 when none */
};

int ad_store_agent_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                          struct ad_agent_record *out, struct ad_err *err);

/* ---- skill candidates (Memento-Skills) ---------------------------------- */

enum ad_candidate_status {
    AD_CAND_PENDING = 0,      /* generated, not validated yet */
    AD_CAND_VALIDATING = 1,
    AD_CAND_VALIDATED = 2,    /* passed the sandbox checks: reviewable */
    AD_CAND_FAILED = 3,       /* failed them; validation_result says why */
    AD_CAND_PROMOTED = 4,     /* approved and in the catalog */
    AD_CAND_REJECTED = 5,     /* a reviewer said no; reason says why */
};

const char *ad_candidate_status_name(enum ad_candidate_status s);
int ad_candidate_status_parse(const char *s, enum ad_candidate_status *out);

enum ad_review_status {
    AD_REVIEW_NONE = -1,      /* NULL in the row */
    AD_REVIEW_PENDING = 0,
    AD_REVIEW_APPROVED = 1,
    AD_REVIEW_REJECTED = 2,
    AD_REVIEW_AUTO_APPROVED = 3,
};

const char *ad_review_status_name(enum ad_review_status s);   /* NULL for NONE */
int ad_review_status_parse(const char *s, enum ad_review_status *out);

#define AD_REASON_MAX 4096

struct ad_skill_candidate {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];            /* "" when none */
    char source_episode_id[AD_ID_SIZE];   /* "" when none */
    char *skill_name;                     /* required, <= AD_NAME_MAX */
    char *skill_description;              /* may be NULL, <= AD_SKILL_DESC_MAX */
    char *generated_code;                 /* required, <= AD_SKILL_CODE_MAX */
    json_t *failure_pattern;              /* object or NULL */
    enum ad_candidate_status status;      /* the validation_status column */
    json_t *validation_result;            /* object or NULL */
    double fitness_score;                 /* NAN when unknown */
    enum ad_review_status review_status;
    char *reviewed_by;                    /* NULL when none, <= AD_NAME_MAX */
    char reviewed_at[AD_TIME_SIZE];       /* "" when none */
    char *reason;                         /* NULL when none, <= AD_REASON_MAX */
    double risk_score;                    /* 0..1, NAN when unknown */
    char created_at[AD_TIME_SIZE];
    char validated_at[AD_TIME_SIZE];      /* "" when none */
    char promoted_at[AD_TIME_SIZE];       /* "" when none */
};

/* Zeroes *c with fitness_score and risk_score NAN and review_status NONE. */
void ad_skill_candidate_init(struct ad_skill_candidate *c);
void ad_skill_candidate_release(struct ad_skill_candidate *c);
void ad_skill_candidate_list_free(struct ad_skill_candidate *v, size_t n);

/*
 * Inserts c (the caller sets everything but id and created_at) unless the
 * tenant already has daily_limit or more candidates created since 00:00
 * UTC of today: then AD_ELIMIT with a message giving the count and the
 * limit, and nothing is written. The count and the insert run in one
 * write transaction, so concurrent inserts can never overshoot the limit.
 * daily_limit <= 0 means no limit. The agent and the source episode, when
 * set, must be the tenant's.
 */
int ad_store_candidate_insert(struct ad_store *st, struct ad_skill_candidate *c, int daily_limit,
                              struct ad_err *err);
/*
 * Writes the mutable fields of c->id: status, validation_result,
 * fitness_score, review_status, reviewed_by, reviewed_at, reason,
 * risk_score, validated_at, promoted_at, and also generated_code,
 * skill_name and skill_description.
 */
int ad_store_candidate_update(struct ad_store *st, const struct ad_skill_candidate *c,
                              struct ad_err *err);
int ad_store_candidate_get(struct ad_store *st, const char *tenant_id, const char *id,
                           struct ad_skill_candidate *out, struct ad_err *err);

struct ad_candidate_filter {
    const char *agent_id;     /* NULL: all agents */
    unsigned status_mask;     /* 0: any; else bits (1u << AD_CAND_*) */
    int limit;                /* 0: AD_LIST_DEFAULT; capped at AD_LIST_MAX */
    /*
     * Keyset paging: both NULL, or both set to the created_at and id of the
     * last row of the page before; the list then starts strictly after it
     * (older, in the list's order). Both are checked (a malformed one is AD_EINVAL).
     */
    const char *before_created_at;
    const char *before_id;
};

/* Newest first; generated_code is loaded too. */
int ad_store_candidate_list(struct ad_store *st, const char *tenant_id,
                            const struct ad_candidate_filter *f, struct ad_skill_candidate **out,
                            size_t *n, struct ad_err *err);
/* Candidates of the tenant created at or after since (ISO-8601 UTC). */
int ad_store_candidate_count_since(struct ad_store *st, const char *tenant_id, const char *since,
                                   int64_t *count, struct ad_err *err);

/* AlphaEvolver's mutants (tool_mutations) of the tenant created at or after since. */
int ad_store_mutation_count_since(struct ad_store *st, const char *tenant_id, const char *since,
                                  int64_t *count, struct ad_err *err);

/* ---- research sessions and iterations (Autoresearch; the policy: research.h) ---- */

/*
 * A research session: one metric-driven experiment on a git repository.
 * direction is "minimize" or "maximize"; status one of "pending",
 * "running", "paused", "completed", "failed", "budget_exhausted",
 * "stopped". config holds what setup was given (an object), state what
 * the loop needs to go on after a crash (an object; research.c owns its
 * keys). Metrics and noise are NAN when unknown. Strings and JSON are
 * owned: release with ad_research_session_release.
 */
struct ad_research_session {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *name;
    char *repo_path;
    char *metric_name;
    char *direction;
    char *status;
    json_t *budget;               /* object or NULL */
    double baseline_metric;
    double best_metric;
    json_t *config;               /* object or NULL */
    char *worktree;               /* NULL until setup made it */
    char *best_commit;            /* the last kept commit (the baseline's at first) */
    double noise;                 /* the baseline's MAD */
    json_t *state;                /* object or NULL */
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

/*
 * One iteration of a session, numbered seq from 1. decision is "pending",
 * "kept", "reverted", "rejected_by_gate" or "crashed"; phase the last step
 * done ("edited", "ran", "decided"). Owned like the session's.
 */
struct ad_research_iteration {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char session_id[AD_ID_SIZE];
    int seq;
    char *hypothesis;
    char *diff;
    double metric;                /* NAN: none */
    char *decision;
    json_t *gate_results;         /* object or NULL */
    char *commit_sha;
    char *phase;
    json_t *detail;               /* object or NULL */
    char created_at[AD_TIME_SIZE];
};

void ad_research_session_release(struct ad_research_session *s);
void ad_research_session_list_free(struct ad_research_session *v, size_t n);
void ad_research_iteration_release(struct ad_research_iteration *it);
void ad_research_iteration_list_free(struct ad_research_iteration *v, size_t n);

/*
 * Inserts s, setting its id and times. AD_EINVAL for a bad field (names
 * it), AD_EEXIST when the tenant already has a session of that name.
 */
int ad_store_research_session_insert(struct ad_store *st, struct ad_research_session *s,
                                     struct ad_err *err);
/*
 * Writes status, baseline_metric, best_metric, config, worktree,
 * best_commit, noise and state of s->id and sets updated_at.
 * AD_ENOTFOUND for a session that is not the tenant's.
 */
int ad_store_research_session_update(struct ad_store *st, struct ad_research_session *s,
                                     struct ad_err *err);
int ad_store_research_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                                  struct ad_research_session *out, struct ad_err *err);
/* The tenant's sessions, newest first, at most limit (0: AD_LIST_DEFAULT). */
int ad_store_research_session_list(struct ad_store *st, const char *tenant_id, int limit,
                                   struct ad_research_session **out, size_t *n,
                                   struct ad_err *err);
/* Inserts it (id and created_at set); AD_EEXIST when the session has that seq already. */
int ad_store_research_iteration_insert(struct ad_store *st, struct ad_research_iteration *it,
                                       struct ad_err *err);
/* Writes hypothesis, diff, metric, decision, gate_results, commit_sha, phase and detail. */
int ad_store_research_iteration_update(struct ad_store *st,
                                       const struct ad_research_iteration *it,
                                       struct ad_err *err);
/* A session's iterations in seq order (every one: a session holds at most AD_LIST_MAX). */
int ad_store_research_iteration_list(struct ad_store *st, const char *tenant_id,
                                     const char *session_id,
                                     struct ad_research_iteration **out, size_t *n,
                                     struct ad_err *err);

/* ---- capability usage --------------------------------------------------- */

#define AD_CAPABILITY_MAX 64

/* One use of a capability by an agent (agent must be the tenant's). */
int ad_store_capability_usage_insert(struct ad_store *st, const char *tenant_id,
                                     const char *agent_id, const char *capability, bool success,
                                     struct ad_err *err);

struct ad_capability_count {
    int64_t uses;
    int64_t successes;
};

/* Uses of capability by agent_id (NULL: every agent) since (NULL: ever). */
int ad_store_capability_usage_count(struct ad_store *st, const char *tenant_id,
                                    const char *agent_id, const char *capability,
                                    const char *since, struct ad_capability_count *out,
                                    struct ad_err *err);

/* ---- notifications ------------------------------------------------------ */

#define AD_NOTIFY_TYPE_MAX 64
#define AD_NOTIFY_TITLE_MAX 256
#define AD_NOTIFY_MESSAGE_MAX 4096

struct ad_notification {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];      /* "" when none */
    char *type;                     /* required, [a-z0-9_.]{1,64} */
    char *title;                    /* required */
    char *message;                  /* may be NULL (stored as "") */
    json_t *payload;                /* object or NULL */
    char read_at[AD_TIME_SIZE];     /* "" while unread */
    char created_at[AD_TIME_SIZE];
};

void ad_notification_release(struct ad_notification *n);
void ad_notification_list_free(struct ad_notification *v, size_t n);
/* Caller sets tenant_id, agent_id (or ""), type, title, message, payload. */
int ad_store_notification_insert(struct ad_store *st, struct ad_notification *n,
                                 struct ad_err *err);
/* Newest first; unread_only skips the read ones; type NULL: any. */
int ad_store_notification_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                               const char *type, int limit, struct ad_notification **out,
                               size_t *n, struct ad_err *err);
/* The same, from the notification older than before_id (keyset paging; NULL: the newest). */
int ad_store_notification_list_before(struct ad_store *st, const char *tenant_id,
                                      bool unread_only, const char *type, const char *before_id,
                                      int limit, struct ad_notification **out, size_t *n,
                                      struct ad_err *err);
/* Marks one notification read (id) or all unread ones (id NULL); *count gets how many. */
int ad_store_notification_mark_read(struct ad_store *st, const char *tenant_id, const char *id,
                                    int64_t *count, struct ad_err *err);

/* ---- failure patterns (reflection's rows; the policy lives in learn.h) --- */

enum ad_pattern_status {
    AD_PATTERN_OPEN = 0,        /* seen, below or at the threshold, nothing queued yet */
    AD_PATTERN_CANDIDATE = 1,   /* a job or a candidate works on it */
    AD_PATTERN_CLOSED = 2,      /* done with; outcome says why */
};

/* "open", "candidate", "closed"; NULL for an out-of-range value. */
const char *ad_pattern_status_name(enum ad_pattern_status s);
/* Case-insensitive. 0 or AD_EINVAL. */
int ad_pattern_status_parse(const char *s, enum ad_pattern_status *out);

struct ad_failure_pattern {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];
    char *task;                     /* required, <= AD_TASK_DESC_MAX: the representative task */
    char *error_type;               /* NULL when none, <= AD_ERROR_TYPE_MAX */
    enum ad_pattern_status status;
    char job_id[AD_ID_SIZE];        /* "" when none */
    char candidate_id[AD_ID_SIZE];  /* "" when none */
    json_t *episode_ids;            /* array of episode id strings, required */
    json_t *outcome;                /* object or NULL */
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

void ad_failure_pattern_release(struct ad_failure_pattern *p);
void ad_failure_pattern_list_free(struct ad_failure_pattern *v, size_t n);
/*
 * Caller sets everything but id, created_at and updated_at. The agent (and
 * the candidate, when set) must be the tenant's: AD_ENOTFOUND naming which.
 * job_id is not checked: jobs rows may be pruned.
 */
int ad_store_pattern_insert(struct ad_store *st, struct ad_failure_pattern *p,
                            struct ad_err *err);
/*
 * Writes status, job_id, candidate_id, episode_ids and outcome of p->id and
 * sets updated_at. AD_ENOTFOUND for an unknown id (or another tenant's),
 * or a candidate that is not the tenant's.
 */
int ad_store_pattern_update(struct ad_store *st, struct ad_failure_pattern *p,
                            struct ad_err *err);
int ad_store_pattern_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_failure_pattern *out, struct ad_err *err);

struct ad_pattern_filter {
    const char *agent_id;     /* NULL: all agents */
    unsigned status_mask;     /* 0: any; else bits (1u << AD_PATTERN_*) */
    int limit;                /* 0: AD_LIST_DEFAULT; capped at AD_LIST_MAX */
    bool by_error_type;       /* only the patterns whose error type is error_type */
    const char *error_type;   /* with by_error_type; NULL: the patterns of no type */
    bool light;               /* episode_ids and outcome left out (NULL): a lookup's list */
};

/* Most recently updated first. */
int ad_store_pattern_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_pattern_filter *f, struct ad_failure_pattern **out,
                          size_t *n, struct ad_err *err);

/* ---- AlphaEvolver: tool mutations and workflow variants (the policy: fitness.h) ---- */

/*
 * Caps of a mutation's short texts. trigger ("latency", "tokens",
 * "failure", "background", "manual"), proposer ("llm", "offline") and
 * mutation_operator ("number", "compare", "llm", ...) are each 1..the cap
 * of [a-z0-9_.]; the store checks the form, the engine the words.
 */
#define AD_MUTATION_WORD_MAX 64
/* The largest mutant_index: a job proposes a few mutants, never millions. */
#define AD_MUTANT_INDEX_MAX 1000000
/* The mutation and variant lists: 0 gives 100 rows, and at most 1000 are read. */
#define AD_MUTATION_LIST_DEFAULT 100
#define AD_MUTATION_LIST_MAX 1000
/* How far ad_store_mutation_lineage and ad_store_skill_version_ancestry climb. */
#define AD_LINEAGE_MAX 1000

enum ad_mutation_status {            /* the sandbox_status column */
    AD_MSTAT_PENDING = 0, AD_MSTAT_RUNNING, AD_MSTAT_PASSED, AD_MSTAT_FAILED,
    AD_MSTAT_ERROR, AD_MSTAT_TIMEOUT,
};

/* "pending", "running", "passed", "failed", "error", "timeout"; NULL out of range. */
const char *ad_mutation_status_name(enum ad_mutation_status s);
/* Case-insensitive. 0 or AD_EINVAL. */
int ad_mutation_status_parse(const char *s, enum ad_mutation_status *out);

enum ad_mutation_decision { AD_DECISION_NONE = -1, AD_DECISION_LOST = 0, AD_DECISION_WON = 1 };

/* NULL (none), "lost", "won". */
const char *ad_mutation_decision_name(enum ad_mutation_decision d);
/* "lost" or "won" (case-insensitive). 0 or AD_EINVAL. */
int ad_mutation_decision_parse(const char *s, enum ad_mutation_decision *out);

/* One mutant of a catalog skill's version: the tool_mutations row. */
struct ad_tool_mutation {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char parent_tool_id[AD_ID_SIZE];        /* "" : made from a catalog version directly */
    char *tool_name;                        /* the skill's catalog name, required */
    char *mutated_code;                     /* required, <= AD_SKILL_CODE_MAX */
    enum ad_mutation_status status;
    char *execution_error;                  /* NULL when none, <= AD_ERROR_TRACE_MAX */
    char skill_id[AD_ID_SIZE];              /* "" when none */
    char parent_skill_version_id[AD_ID_SIZE];  /* "" when none */
    char agent_id[AD_ID_SIZE];              /* "" when none */
    char job_id[AD_ID_SIZE];                /* "" when none */
    int mutant_index;                       /* 0-based within its job */
    /* "latency" | "tokens" | "failure" | "background" | "manual"; NULL none */
    char *trigger;
    char *proposer;                         /* "llm" | "offline"; NULL none */
    char *mutation_operator;                /* e.g. "number", "compare", "llm"; NULL none */
    char *edit;                             /* the edit as proposed (SEARCH/REPLACE); NULL none */
    json_t *test_set;                       /* array or NULL: the inputs it was judged on */
    json_t *proxy_signals;                  /* object or NULL: evaluation signals */
    enum ad_mutation_decision decision;
    char *decision_reason;                  /* NULL none, <= AD_REASON_MAX */
    double fitness_delta;                   /* NAN unknown */
    double risk_score;                      /* 0..1, NAN unknown */
    json_t *risk;                           /* object or NULL: {"level","score","reasons":[...]} */
    enum ad_review_status review_status;    /* AD_REVIEW_NONE until it needs review */
    char *reviewed_by;                      /* NULL none, <= AD_NAME_MAX */
    char reviewed_at[AD_TIME_SIZE];         /* "" none */
    char *reason;                           /* NULL none, <= AD_REASON_MAX */
    char promoted_version_id[AD_ID_SIZE];   /* "" until promoted */
    char created_at[AD_TIME_SIZE];
    char evaluated_at[AD_TIME_SIZE];        /* "" until evaluated */
};

/* Zeroes *m with fitness_delta and risk_score NAN, decision and review_status NONE. */
void ad_tool_mutation_init(struct ad_tool_mutation *m);
void ad_tool_mutation_release(struct ad_tool_mutation *m);
void ad_tool_mutation_list_free(struct ad_tool_mutation *v, size_t n);

/*
 * Inserts m (the caller sets all but id and created_at). With
 * daily_limit > 0: AD_ELIMIT, and nothing written, when the tenant already
 * has that many tool_mutations created since 00:00 UTC; the count and the
 * insert run in one write transaction level (a savepoint inside the
 * caller's transaction), so concurrent inserts never overshoot. A taken
 * (tenant, job_id, mutant_index) is AD_EEXIST (a mutation without a job
 * never collides). The agent, skill, parent version, parent mutation and
 * promoted version, when set, must be the tenant's (AD_ENOTFOUND naming
 * which); a parent version must be a version of the skill.
 */
int ad_store_mutation_insert(struct ad_store *st, struct ad_tool_mutation *m, int daily_limit,
                             struct ad_err *err);
/*
 * Writes the mutable fields of m->id: status, execution_error,
 * proxy_signals, decision, decision_reason, fitness_delta, risk_score,
 * risk, review_status, reviewed_by, reviewed_at, reason,
 * promoted_version_id and evaluated_at. AD_ENOTFOUND when m->id is not the
 * tenant's (or the promoted version is not).
 */
int ad_store_mutation_update(struct ad_store *st, const struct ad_tool_mutation *m,
                             struct ad_err *err);
int ad_store_mutation_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_tool_mutation *out, struct ad_err *err);

struct ad_mutation_filter {
    const char *skill_id;                 /* NULL: any */
    const char *job_id;                   /* NULL: any; set: ordered by mutant_index ascending */
    const char *parent_skill_version_id;  /* NULL: any */
    int status;                           /* enum ad_mutation_status, -1: any */
    int review_status;                    /* enum ad_review_status, -2: any (-1 = NONE/NULL) */
    int decision;                         /* -2 any, -1 NULL, 0 lost, 1 won */
    int limit;                            /* 0: 100; max 1000 */
    /* Keyset paging (not with job_id): as struct ad_candidate_filter's. */
    const char *before_created_at;
    const char *before_id;
    const char *agent_id;                 /* NULL: any */
};

/* Every field "any", no keyset: { NULL, NULL, NULL, -1, -2, -2, 0, NULL, NULL, NULL }. */
#define AD_MUTATION_FILTER_INIT { NULL, NULL, NULL, -1, -2, -2, 0, NULL, NULL, NULL }

/* Newest first (unless job_id). Rows are whole (code, edit and JSON loaded). */
int ad_store_mutation_list(struct ad_store *st, const char *tenant_id,
                           const struct ad_mutation_filter *f, struct ad_tool_mutation **out,
                           size_t *n, struct ad_err *err);
/*
 * The mutation and its ancestors by parent_tool_id (one recursive query),
 * out[0] = id itself, then its parent, ...; at most AD_LINEAGE_MAX rows.
 * AD_ENOTFOUND when id is not the tenant's.
 */
int ad_store_mutation_lineage(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_tool_mutation **out, size_t *n, struct ad_err *err);

enum ad_variant_status {
    AD_VSTAT_PENDING = 0, AD_VSTAT_EVALUATING, AD_VSTAT_EVALUATED, AD_VSTAT_FAILED,
    AD_VSTAT_PROMOTED, AD_VSTAT_REJECTED, AD_VSTAT_ROLLED_BACK,
};

/* "pending", "evaluating", "evaluated", "failed", "promoted", "rejected", "rolled_back". */
const char *ad_variant_status_name(enum ad_variant_status s);
/* Case-insensitive. 0 or AD_EINVAL. */
int ad_variant_status_parse(const char *s, enum ad_variant_status *out);

/* A scored variant (the workflow_variants row): a mutant, or its parent's own run. */
struct ad_workflow_variant {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char parent_variant_id[AD_ID_SIZE];     /* "" none */
    char agent_id[AD_ID_SIZE];              /* "" none */
    char tool_mutation_id[AD_ID_SIZE];      /* "" none (the parent's own variant has none) */
    char skill_version_id[AD_ID_SIZE];      /* "" none */
    char job_id[AD_ID_SIZE];                /* "" none */
    json_t *workflow_definition;            /* object, required */
    double fitness_score;                   /* NAN unknown */
    json_t *fitness_signals;                /* object or NULL */
    enum ad_variant_status evaluation_status;
    enum ad_review_status review_status;
    char *reviewed_by; char reviewed_at[AD_TIME_SIZE]; char *reason;
    double risk_score;                      /* NAN unknown */
    char created_at[AD_TIME_SIZE];
    char last_evaluated_at[AD_TIME_SIZE];
};

/* Zeroes *v with fitness_score and risk_score NAN, review_status NONE. */
void ad_workflow_variant_init(struct ad_workflow_variant *v);
void ad_workflow_variant_release(struct ad_workflow_variant *v);
void ad_workflow_variant_list_free(struct ad_workflow_variant *v, size_t n);
/*
 * Caller sets all but id and created_at. The parent variant, agent,
 * mutation and skill version, when set, must be the tenant's
 * (AD_ENOTFOUND naming which). fitness_score is finite or NAN.
 */
int ad_store_variant_insert(struct ad_store *st, struct ad_workflow_variant *v,
                            struct ad_err *err);
/*
 * Writes the mutable fields of v->id: fitness_score, fitness_signals,
 * evaluation_status, the review fields, risk_score, last_evaluated_at.
 * AD_ENOTFOUND when it is not the tenant's.
 */
int ad_store_variant_update(struct ad_store *st, const struct ad_workflow_variant *v,
                            struct ad_err *err);
int ad_store_variant_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_workflow_variant *out, struct ad_err *err);
/* Each member NULL: any; limit 0: 100, at most 1000. */
struct ad_variant_filter {
    const char *agent_id;
    const char *tool_mutation_id;
    const char *skill_version_id;
    const char *job_id;
    int limit;
    /* Keyset paging: as struct ad_candidate_filter's. */
    const char *before_created_at;
    const char *before_id;
};
/* Newest first. */
int ad_store_variant_list(struct ad_store *st, const char *tenant_id,
                          const struct ad_variant_filter *f, struct ad_workflow_variant **out,
                          size_t *n, struct ad_err *err);
/* fitness_score NOT NULL AND > 0, best first (ties: older first); agent_id NULL: any. */
int ad_store_variant_top(struct ad_store *st, const char *tenant_id, const char *agent_id,
                         int limit, struct ad_workflow_variant **out, size_t *n,
                         struct ad_err *err);

/* ---- evolution research runs, their archive and trace (module learn owns them: evolve.h) ---- */

/*
 * An evolution run: a search over a skill's code with a population, an
 * archive of islands and a budget. params holds what the run was started
 * with (evolve.h names the keys); state is "running", "stopped", "done" or
 * "failed"; generation counts the generations done; prng is the PRNG's
 * state (hex) at that boundary, so a resumed run makes the choices an
 * uninterrupted one makes. Owned: release with ad_evolve_run_release.
 */
struct ad_evolve_run {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char agent_id[AD_ID_SIZE];          /* "" none */
    char skill_id[AD_ID_SIZE];
    char skill_version_id[AD_ID_SIZE];  /* the seed program's version */
    json_t *params;                     /* object */
    char *state;
    int generation;
    char *prng;                         /* hex digits, at most 64 */
    int64_t evaluations;
    int64_t tokens;
    double usd;
    char best_program_id[AD_ID_SIZE];   /* "" none yet */
    char *reason;                       /* why it stopped or failed; may be NULL */
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

/*
 * A program of a run's archive. (run_id, generation, slot) is unique: slot
 * -1 is the seed, 0.. the proposals of a generation in order, 1000 + k the
 * copies a migration or a reset made. status is "elite", "retired",
 * "rejected" (novelty or a worse program than the cell's elite) or
 * "failed"; stage is the evaluation stage it reached (0 none, 1 the cheap
 * stage, 2 the full test set). fitness is NAN when unknown.
 */
struct ad_evolve_program {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char run_id[AD_ID_SIZE];
    int island;
    char *cell;                         /* "b0,b1,..." or NULL (not placed) */
    char *code;
    char *code_hash;                    /* hex */
    char *fingerprint;                  /* hex of the normalised token sequence */
    json_t *features;                   /* object or NULL */
    double fitness;
    json_t *signals;                    /* object or NULL */
    char parent_id[AD_ID_SIZE];         /* "" none */
    int generation;
    int slot;
    int children;
    char *status;
    int stage;
    char created_at[AD_TIME_SIZE];
    char updated_at[AD_TIME_SIZE];
};

/* One line of a run's trace: kind proposal|prompt|reply|score|decision|migration|reset|generation. */
struct ad_evolve_trace {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char run_id[AD_ID_SIZE];
    int64_t seq;                        /* 1.. per run, unique */
    int generation;
    char *kind;
    json_t *data;                       /* object */
    char created_at[AD_TIME_SIZE];
};

void ad_evolve_run_release(struct ad_evolve_run *r);
void ad_evolve_run_list_free(struct ad_evolve_run *v, size_t n);
void ad_evolve_program_release(struct ad_evolve_program *p);
void ad_evolve_program_list_free(struct ad_evolve_program *v, size_t n);
void ad_evolve_trace_release(struct ad_evolve_trace *t);
void ad_evolve_trace_list_free(struct ad_evolve_trace *v, size_t n);

/* Inserts (id and times set) or updates a run; AD_EINVAL names a bad field. */
int ad_store_evolve_run_insert(struct ad_store *st, struct ad_evolve_run *r, struct ad_err *err);
int ad_store_evolve_run_update(struct ad_store *st, struct ad_evolve_run *r, struct ad_err *err);
/* AD_ENOTFOUND "unknown evolution run '<id>'". */
int ad_store_evolve_run_get(struct ad_store *st, const char *tenant_id, const char *id,
                            struct ad_evolve_run *out, struct ad_err *err);
/* Newest first. */
int ad_store_evolve_run_list(struct ad_store *st, const char *tenant_id, int limit,
                             struct ad_evolve_run **out, size_t *n, struct ad_err *err);
/* The run must be the tenant's (AD_ENOTFOUND); a taken (run, generation, slot) is AD_EEXIST. */
int ad_store_evolve_program_insert(struct ad_store *st, struct ad_evolve_program *p,
                                   struct ad_err *err);
/* Writes island, cell, features, fitness, signals, children, status and stage. */
int ad_store_evolve_program_update(struct ad_store *st, struct ad_evolve_program *p,
                                   struct ad_err *err);
/* Every program of the run, by generation, slot (the order they were made in). */
int ad_store_evolve_program_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                                 struct ad_evolve_program **out, size_t *n, struct ad_err *err);
/* Appends t (its seq is the caller's, unique per run: AD_EEXIST otherwise). */
int ad_store_evolve_trace_append(struct ad_store *st, struct ad_evolve_trace *t,
                                 struct ad_err *err);
/* The lines with seq > after_seq, in order, at most limit (0: AD_LIST_DEFAULT). */
int ad_store_evolve_trace_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                               int64_t after_seq, int limit, struct ad_evolve_trace **out,
                               size_t *n, struct ad_err *err);
/* The run's last seq (0 when it has no line yet). */
int ad_store_evolve_trace_last(struct ad_store *st, const char *tenant_id, const char *run_id,
                               int64_t *seq, struct ad_err *err);

/* ---- outgoing webhooks and signed signals (module hooks owns them: hooks.h) ---- */

/*
 * A webhook: a receiver of the tenant's events. No secret is stored: the
 * signing secret is derived from the process's key file, the webhook id
 * and secret_generation (hooks.h), so rotating it is a counter going up.
 */
#define AD_WEBHOOK_URL_MAX 2048
#define AD_WEBHOOK_DESC_MAX 500
#define AD_WEBHOOK_ERROR_MAX 300

struct ad_webhook {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char *url;                      /* required, http:// or https://, <= AD_WEBHOOK_URL_MAX */
    json_t *topics;                 /* required: an array of topics, or ["*"] */
    bool active;
    int64_t secret_generation;      /* >= 1 */
    char *description;              /* may be NULL */
    char created_at[AD_TIME_SIZE];
};

void ad_webhook_release(struct ad_webhook *w);
void ad_webhook_list_free(struct ad_webhook *v, size_t n);
/* Caller sets tenant_id, url, topics, active, description; the store sets id, created_at, generation 1. */
int ad_store_webhook_insert(struct ad_store *st, struct ad_webhook *w, struct ad_err *err);
int ad_store_webhook_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_webhook *out, struct ad_err *err);
/* Oldest first; active_only: the active ones. */
int ad_store_webhook_list(struct ad_store *st, const char *tenant_id, bool active_only, int limit,
                          struct ad_webhook **out, size_t *n, struct ad_err *err);
/* Deletes the row (its deliveries stay, for the record). AD_ENOTFOUND. */
int ad_store_webhook_delete(struct ad_store *st, const char *tenant_id, const char *id,
                            struct ad_err *err);
/* secret_generation + 1; *generation gets the new one. AD_ENOTFOUND. */
int ad_store_webhook_rotate(struct ad_store *st, const char *tenant_id, const char *id,
                            int64_t *generation, struct ad_err *err);

enum ad_delivery_status {
    AD_DELIVERY_PENDING = 0,
    AD_DELIVERY_DELIVERED = 1,
    AD_DELIVERY_FAILED = 2,     /* for good, without retries left to try (webhook gone) */
    AD_DELIVERY_DEAD = 3,       /* every attempt failed: the dead letters */
};
const char *ad_delivery_status_name(enum ad_delivery_status s);
int ad_delivery_status_parse(const char *s, enum ad_delivery_status *out);

/* One event for one webhook: the outbox event and how its delivery went. */
struct ad_webhook_delivery {
    char id[AD_ID_SIZE];
    char tenant_id[AD_ID_SIZE];
    char webhook_id[AD_ID_SIZE];
    char event_id[AD_ID_SIZE];
    char *topic;                    /* required */
    json_t *payload;                /* required object: the event's payload */
    enum ad_delivery_status status;
    int attempts;                   /* >= 0 */
    int last_status_code;           /* 0: none (no answer) */
    char *last_error;               /* may be NULL, <= AD_WEBHOOK_ERROR_MAX */
    char next_attempt_at[AD_TIME_SIZE];  /* "" none */
    char created_at[AD_TIME_SIZE];
    char delivered_at[AD_TIME_SIZE];    /* "" not yet */
};

void ad_webhook_delivery_release(struct ad_webhook_delivery *d);
void ad_webhook_delivery_list_free(struct ad_webhook_delivery *v, size_t n);
/* Caller sets every field but id and created_at (set by the store). */
int ad_store_webhook_delivery_insert(struct ad_store *st, struct ad_webhook_delivery *d,
                                     struct ad_err *err);
int ad_store_webhook_delivery_get(struct ad_store *st, const char *tenant_id, const char *id,
                                  struct ad_webhook_delivery *out, struct ad_err *err);
/* Newest first; webhook_id NULL: any; status < 0: any. */
int ad_store_webhook_delivery_list(struct ad_store *st, const char *tenant_id,
                                   const char *webhook_id, int status, int limit,
                                   struct ad_webhook_delivery **out, size_t *n,
                                   struct ad_err *err);
/* Writes status, attempts, last_status_code, last_error, next_attempt_at, delivered_at. */
int ad_store_webhook_delivery_update(struct ad_store *st, const struct ad_webhook_delivery *d,
                                     struct ad_err *err);

/*
 * Incoming signed signals: the replay guard (one row per signature seen,
 * AD_EEXIST for one seen before) and the tenant's secret generation (1
 * until the first rotation).
 */
int ad_store_signal_receipt_insert(struct ad_store *st, const char *tenant_id,
                                   const char *signature_hash, struct ad_err *err);
/* Deletes the receipts received before `before` (ISO-8601); *count (may be NULL) how many. */
int ad_store_signal_receipt_prune(struct ad_store *st, const char *before, int64_t *count,
                                  struct ad_err *err);
int ad_store_signal_generation(struct ad_store *st, const char *tenant_id, int64_t *generation,
                               struct ad_err *err);
int ad_store_signal_rotate(struct ad_store *st, const char *tenant_id, int64_t *generation,
                           struct ad_err *err);

/* ---- the schema's tables (autodev db status) ----------------------------- */

/* The number of tables of the schema and the name of table i (NULL past the end). */
size_t ad_store_table_total(void);
const char *ad_store_table_name(size_t i);
/* The rows of the named table, every tenant's. AD_EINVAL for a name not in the schema. */
int ad_store_table_count(struct ad_store *st, const char *table, int64_t *count,
                         struct ad_err *err);

/* ---- copying a store (autodev db copy) ----------------------------------- */

#define AD_STORE_SUM_SIZE 65     /* a SHA-256 in lower-case hex, NUL */

/* One table of a copy's compare: each side's rows and checksum. */
struct ad_store_copy_table {
    const char *name;                  /* static: the schema's table name */
    int64_t from_rows, to_rows;
    char from_sum[AD_STORE_SUM_SIZE];  /* over the rows in key order, canonically encoded */
    char to_sum[AD_STORE_SUM_SIZE];
    bool ok;                           /* same rows and same checksum */
};

enum ad_store_copy_flags {
    AD_STORE_COPY_VERIFY = 1 << 0,     /* only compare the two stores: write nothing */
};

struct ad_store_copy_options {
    const char *from;                  /* the source's uri (ad_store_open), opened read-only */
    const char *to;                    /* the target's uri: created (SQLite) and migrated */
    int flags;                         /* enum ad_store_copy_flags */
    int busy_timeout_ms;               /* 0: AD_STORE_BUSY_DEFAULT_MS */
    /* Rows read so far of table, every 10000 and at its end (done); NULL: none. */
    void (*progress)(void *arg, const char *table, int64_t rows, bool done);
    void *progress_arg;
};

/*
 * Copies every row of every table, every tenant's, from o->from into
 * o->to, keeping ids, times, JSON values and the outbox's seq (a PostgreSQL
 * target's events sequence continues above the copied ones), in one
 * target transaction; then reads both sides back and compares per table
 * the row count and a checksum of one canonical encoding (the same data
 * gives the same checksum on either backend). Any error or difference
 * rolls the whole copy back: the target is then as it was. The source is
 * never written. With AD_STORE_COPY_VERIFY both are only read and compared.
 *
 * Both schemas must be at this binary's version (the target is migrated
 * first); a target that already holds rows (other than its migrations) is
 * refused with AD_EEXIST. Other errors: AD_EINVAL for an unknown scheme, a
 * missing uri or the same database on both sides; AD_ENOTFOUND for a
 * missing source file; AD_ENOTSUP for a schema older or newer than this
 * binary; AD_EIO for an unreachable server; AD_ECORRUPT when a table
 * differs, with *tables then set too.
 *
 * On success (and on AD_ECORRUPT for a difference) *tables holds
 * ad_store_table_total() entries in the schema's order, freed with free();
 * otherwise it is NULL.
 */
int ad_store_copy(const struct ad_store_copy_options *o, struct ad_store_copy_table **tables,
                  size_t *n, struct ad_err *err);

#endif
