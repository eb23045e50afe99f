/*
 * The public store API's core: opening a store through its backend,
 * transaction nesting, and the argument checks every entity file shares
 * (tenants.c, agents.c, episodes.c, ... each validate their calls with
 * these, assign ids and times, then dispatch through st->ops->entity).
 *
 * A write call outside any transaction runs in one of its own (BEGIN
 * IMMEDIATE ... COMMIT). Inside the caller's transaction it opens no
 * savepoint: every write call but the episode insert runs exactly one
 * writing statement, and SQLite undoes a failed statement by itself, so a
 * failed call leaves nothing behind and the caller's earlier work stays. A
 * savepoint per call would cost about a third of the ingest rate (SQLite
 * copies every page it touches into the sub-journal).
 *
 * The episode insert writes several rows. It checks everything it can
 * before its first write, so the failures a caller can expect (bad input,
 * unknown agent) leave nothing behind. A failure after its first write (an
 * I/O error, out of memory) marks the innermost level as broken: committing
 * it into an outer level carries the mark outwards, committing the outermost
 * level rolls it back and fails with AD_ESTATE, and rolling the level back
 * clears the mark. A half-written episode can therefore never be committed.
 * (The calls that write several rows and are rare, a new skill or a
 * candidate under its daily limit, afford a level of their own instead:
 * ad__level_begin.)
 *
 * The database may also end the whole transaction by itself when a
 * statement fails (SQLite does on out of memory, a full disk, an I/O error:
 * conn.c's note_lost). The backend's tx_lost op says so; the code it gives
 * is kept in st->tx_lost until the outermost level closes, and until then
 * begin, every write call (ad__write_begin) and commit fail with it while
 * rollbacks only count levels down. Without that, the next savepoint would
 * start a new transaction outside the lost one, and its release would
 * commit work whose context (an episode, for a bus handler's notification)
 * was rolled back.
 *
 * Sections: backends and open/close, transactions, field checks, times,
 * enumerations.
 */
#include "compat.h"

#include <strings.h>

#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/store.h"
#include "autodev/text.h"

#include "pg/pg.h"
#include "sqlite/sqlite.h"
#include "store_backend.h"


/* ---- backends and open/close -------------------------------------------- */

/*
 * The backends by URI scheme. A uri without a known scheme is a SQLite
 * file path. postgres:// and postgresql:// URIs go to the PostgreSQL
 * backend (pg/), whose open says so when this build has no libpq; "pg:" is
 * recognised so that it gets a clear answer rather than a file of that name.
 */
static const struct {
    const char *scheme;    /* with its ':' */
    const struct ad_store_ops *ops;   /* NULL: not built in */
} backends[] = {
    { "sqlite:", &ad__store_sqlite_ops },
    { "postgres:", &ad__store_pg_ops },
    { "postgresql:", &ad__store_pg_ops },
    { "pg:", NULL },
};

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* A backend must fill every table: a missing one is a bug, caught at open. */
const char *ad_store_uri_file(const char *uri)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(backends); i++) {
        if (starts_with(uri, backends[i].scheme))
            return backends[i].ops == &ad__store_sqlite_ops ? uri + strlen(backends[i].scheme)
                                                            : NULL;
    }
    return uri;
}

static int ops_complete(const struct ad_store_ops *o)
{
    return o->open && o->close && o->schema_version && o->check && o->begin && o->commit &&
           o->rollback && o->tx_lost && o->tenants && o->agents && o->episodes && o->events &&
           o->jobs && o->tokens && o->llm_calls && o->skills && o->executions && o->sessions &&
           o->candidates && o->research && o->capabilities && o->notifications && o->patterns &&
           o->mutations && o->variants && o->fitness_terms && o->skills->version_ancestry &&
           o->copy;
}

static int pick_backend(const char *uri, const struct ad_store_ops **ops, const char **target,
                        struct ad_err *err)
{
    size_t i;

    *ops = &ad__store_sqlite_ops;
    *target = uri;
    for (i = 0; i < AD_ARRAY_SIZE(backends); i++) {
        if (!starts_with(uri, backends[i].scheme))
            continue;
        if (!backends[i].ops)
            return ad_error(err, AD_ENOTSUP, "unknown store scheme '%s' (use postgres://...)",
                            backends[i].scheme);
        *ops = backends[i].ops;
        *target = uri + strlen(backends[i].scheme);
        break;
    }
    if (!(*target)[0])
        return ad_error(err, AD_EINVAL, "missing database path in '%s'", uri);
    if (!ops_complete(*ops))
        return ad_error(err, AD_EINTERNAL, "store backend '%s' lacks operations", (*ops)->name);
    return 0;
}

int ad_store_open(const char *uri, const struct ad_store_options *opts, struct ad_store **out,
                  struct ad_err *err)
{
    struct ad_store_options o = { 0 };
    const struct ad_store_ops *ops;
    struct ad_store *st = NULL;
    const char *target;
    int rc;

    *out = NULL;
    if (opts)
        o = *opts;
    if (!uri || !uri[0])
        return ad_error(err, AD_EINVAL, "missing database path");
    if (o.busy_timeout_ms < 0)
        return ad_error(err, AD_EINVAL, "invalid busy timeout %d", o.busy_timeout_ms);
    if (o.busy_timeout_ms == 0)
        o.busy_timeout_ms = AD_STORE_BUSY_DEFAULT_MS;
    rc = pick_backend(uri, &ops, &target, err);
    if (!rc)
        rc = ops->open(target, &o, &st, err);
    if (rc)
        return rc;
    st->tx_depth = 0;
    st->tx_broken = 0;
    st->tx_lost = 0;
    st->flags = o.flags;
    *out = st;
    return 0;
}

void ad_store_free(struct ad_store *st)
{
    if (!st)
        return;
    if (st->tx_depth > 0)
        AD_LOG(AD_LOG_WARN, "store closed inside a transaction; rolling back");
    while (st->tx_depth > 0)
        ad_store_rollback(st);
    st->ops->close(st);
}

const char *ad_store_backend(const struct ad_store *st)
{
    return st->ops->name;
}

int ad_store_schema_version(struct ad_store *st, int *current, int *latest, struct ad_err *err)
{
    return st->ops->schema_version(st, current, latest, err);
}

int ad_store_check(struct ad_store *st, struct ad_err *err)
{
    return st->ops->check(st, err);
}

/* ---- transactions ------------------------------------------------------- */

/*
 * The code of the error after which the backend ended the whole
 * transaction by itself (see the comment at the top), asked of the backend
 * until it says so and then remembered until the outermost level closes;
 * 0 while the transaction is whole or there is none.
 */
static int tx_lost(struct ad_store *st)
{
    if (!st->tx_lost && st->tx_depth > 0)
        st->tx_lost = st->ops->tx_lost(st);
    return st->tx_lost;
}

static int tx_lost_error(const struct ad_store *st, struct ad_err *err)
{
    return ad_error(err, st->tx_lost,
                    "the database rolled the transaction back after an error (%s)",
                    ad_strerror(st->tx_lost));
}

/* The bookkeeping of closing the innermost level, however it closed. */
static void level_closed(struct ad_store *st)
{
    if (st->tx_broken >= st->tx_depth)
        st->tx_broken = 0;
    st->tx_depth--;
    if (st->tx_depth == 0)
        st->tx_lost = 0;
}

/*
 * Closes the innermost level as a rollback. Once the transaction is lost
 * an inner level has nothing left to undo; the outermost one still asks
 * the backend, which ends whatever it may hold. An inner level that could
 * not be undone leaves the levels above it wrong: the transaction counts
 * as lost from then on, so that nothing more of it is committed.
 */
static void rollback_level(struct ad_store *st)
{
    struct ad_err e = AD_ERR_INIT;
    int rc = 0;

    /* A settings block read inside the level may be undone with it. */
    st->settings.valid = false;
    if (!tx_lost(st) || st->tx_depth == 1)
        rc = st->ops->rollback(st, st->tx_depth, &e);
    if (rc) {
        AD_LOG(AD_LOG_ERROR, "rollback at depth %d failed: %s", st->tx_depth, e.msg);
        if (st->tx_depth > 1 && !tx_lost(st))
            st->tx_lost = rc;
    }
    level_closed(st);
}

int ad_store_begin(struct ad_store *st, struct ad_err *err)
{
    int rc;

    if (tx_lost(st))
        return tx_lost_error(st, err);
    rc = st->ops->begin(st, st->tx_depth + 1, err);
    if (rc)
        return rc;
    st->tx_depth++;
    return 0;
}

/*
 * A commit that fails closes its level as a rollback, so the caller's
 * "if (rc) rollback; else return commit" pattern never leaves a level open.
 */
int ad_store_commit(struct ad_store *st, struct ad_err *err)
{
    int rc;

    if (st->tx_depth == 0)
        return ad_error(err, AD_ESTATE, "no transaction to commit");
    if (tx_lost(st)) {
        rc = tx_lost_error(st, err);
        rollback_level(st);
        return rc;
    }
    if (st->tx_broken == st->tx_depth && st->tx_depth == 1) {
        rollback_level(st);
        return ad_error(err, AD_ESTATE,
                        "transaction rolled back: a write in it failed half-way");
    }
    rc = st->ops->commit(st, st->tx_depth, err);
    if (rc) {
        rollback_level(st);
        return rc;
    }
    if (st->tx_broken == st->tx_depth)
        st->tx_broken--;    /* the partial write now belongs to the outer level */
    st->tx_depth--;
    if (st->tx_depth == 0)
        st->commits++;
    return 0;
}

int ad_store_changes(struct ad_store *st, int64_t *others, int64_t *own, struct ad_err *err)
{
    int rc = st->ops->data_version(st, others, err);

    *own = st->commits;
    return rc;
}

void ad_store_rollback(struct ad_store *st)
{
    if (!st || st->tx_depth == 0) {
        AD_LOG(AD_LOG_WARN, "rollback outside any transaction ignored");
        return;
    }
    rollback_level(st);
}

int ad_store_tx_depth(const struct ad_store *st)
{
    return st->tx_depth;
}

static int refuse_readonly(const struct ad_store *st, struct ad_err *err)
{
    if (st->flags & AD_STORE_READONLY)
        return ad_error(err, AD_EPERM, "the store is open read-only");
    return 0;
}

/* Starts a one-statement write call; see the comment at the top. */
int ad__write_begin(struct ad_store *st, int *own, struct ad_err *err)
{
    int rc = refuse_readonly(st, err);

    *own = 0;
    if (rc)
        return rc;
    /* In a lost transaction the statement would run, and commit, on its own. */
    if (st->tx_depth > 0)
        return tx_lost(st) ? tx_lost_error(st, err) : 0;
    rc = ad_store_begin(st, err);
    if (!rc)
        *own = 1;
    return rc;
}

/* Ends it: commit or rollback of the call's own transaction, if it opened one. */
int ad__write_end(struct ad_store *st, int own, int rc, struct ad_err *err)
{
    if (!own)
        return rc;
    if (rc) {
        ad_store_rollback(st);
        return rc;
    }
    return ad_store_commit(st, err);
}

int ad__level_begin(struct ad_store *st, struct ad_err *err)
{
    int rc = refuse_readonly(st, err);

    return rc ? rc : ad_store_begin(st, err);
}

int ad__level_end(struct ad_store *st, int rc, struct ad_err *err)
{
    if (rc) {
        ad_store_rollback(st);
        return rc;
    }
    return ad_store_commit(st, err);
}

/* ---- field checks ------------------------------------------------------- */

int ad__check_id(const char *what, const char *id, struct ad_err *err)
{
    if (!id || !ad_id_valid(id))
        return ad_error(err, AD_EINVAL, "invalid %s '%.64s'", what, id ? id : "");
    return 0;
}

int ad__check_keyset(const char *created_at, const char *id, struct ad_err *err)
{
    int64_t ms;

    if (!created_at && !id)
        return 0;
    if (!created_at || !id)
        return ad_error(err, AD_EINVAL, "a keyset needs both created_at and id");
    if (strlen(created_at) != AD_TIME_SIZE - 1 || ad_time_parse(created_at, &ms) < 0)
        return ad_error(err, AD_EINVAL, "invalid keyset time '%.64s'", created_at);
    return ad__check_id("keyset id", id, err);
}

int ad__check_name(const char *what, const char *name, struct ad_err *err)
{
    if (name && strlen(name) > AD_NAME_MAX)
        return ad_error(err, AD_ETOOBIG, "%s name longer than %d bytes", what, AD_NAME_MAX);
    if (!ad_name_valid(name))
        return ad_error(err, AD_EINVAL, "invalid %s name '%s'", what, name ? name : "");
    return 0;
}

int ad__check_opt_id(const char *what, const char *id, struct ad_err *err)
{
    return id[0] ? ad__check_id(what, id, err) : 0;
}

int ad__new_id(char out[AD_ID_SIZE], struct ad_err *err)
{
    if (ad_id_new(out))
        return ad_error(err, AD_EIO, "cannot read the kernel's random source");
    return 0;
}

/* 0 means the default page; more than AD_LIST_MAX is capped, as documented. */
int ad__resolve_limit(int limit, int *out, struct ad_err *err)
{
    if (limit < 0)
        return ad_error(err, AD_EINVAL, "invalid limit %d", limit);
    *out = limit == 0 ? AD_LIST_DEFAULT : limit > AD_LIST_MAX ? AD_LIST_MAX : limit;
    return 0;
}

void ad__copy_fixed(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/*
 * jansson measures by dumping, which allocates (its loop check), and says 0
 * when it cannot: no JSON text is empty, so 0 is out of memory, never a
 * size that passes a cap.
 */
int ad__json_text_size(const char *field, const json_t *v, size_t *size, struct ad_err *err)
{
    *size = ad_json_size(v);
    if (*size == 0)
        return ad_error(err, AD_ENOMEM, "field '%s': out of memory", field);
    return 0;
}

int ad__check_text(const char *field, const char *s, size_t max, int required,
                   struct ad_err *err)
{
    size_t len;

    if (!s) {
        if (required)
            return ad_error(err, AD_EINVAL, "missing field '%s'", field);
        return 0;
    }
    len = strlen(s);
    if (required && len == 0)
        return ad_error(err, AD_EINVAL, "field '%s': must not be empty", field);
    if (len > max)
        return ad_error(err, AD_ETOOBIG, "field '%s': longer than %zu bytes", field, max);
    if (!ad_utf8_valid(s, len))
        return ad_error(err, AD_EINVAL, "field '%s': not valid UTF-8", field);
    return 0;
}

int ad__json_text(const char *field, const json_t *v, int types, char **text,
                  struct ad_err *err)
{
    size_t len;

    if (text)
        *text = NULL;
    if (!v)
        return 0;
    if (types && !(types & (1 << json_typeof(v)))) {
        return ad_error(err, AD_EINVAL, "field '%s': expected %s", field,
                        types == (1 << JSON_ARRAY) ? "array" : "object");
    }
    /*
     * ad_json_dumps, not json_dumps(): jansson drops an object's key that it
     * cannot write for lack of memory and still succeeds, which would store
     * text that is not JSON.
     */
    if (text) {
        *text = ad_json_dumps(v);
        if (!*text)
            return ad_error(err, AD_ENOMEM, "out of memory");
        len = strlen(*text);
    } else if (ad__json_text_size(field, v, &len, err)) {
        return AD_ENOMEM;
    }
    if (len > AD_JSON_FIELD_MAX) {
        if (text) {
            free(*text);
            *text = NULL;
        }
        return ad_error(err, AD_ETOOBIG, "field '%s': larger than %d bytes", field,
                        AD_JSON_FIELD_MAX);
    }
    return 0;
}

int ad__check_json(const char *field, const json_t *v, int types, struct ad_err *err)
{
    return ad__json_text(field, v, types, NULL, err);
}

int ad__check_dotted(const char *field, const char *s, size_t max, struct ad_err *err)
{
    size_t i;

    if (!s || !s[0])
        return ad_error(err, AD_EINVAL, "missing field '%s'", field);
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (i >= max)
            return ad_error(err, AD_ETOOBIG, "field '%s': longer than %zu bytes", field, max);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return ad_error(err, AD_EINVAL, "field '%s': '%.80s' is not 1 to %zu of a-z, 0-9,"
                            " '_' and '.'", field, s, max);
    }
    return 0;
}

/* The same rule ad_text_error_type applies to what it finds in a trace. */
int ad__check_error_type(const char *field, const char *s, struct ad_err *err)
{
    size_t len;

    if (!s)
        return 0;
    len = strlen(s);
    if (len > AD_ERROR_TYPE_MAX)
        return ad_error(err, AD_ETOOBIG, "field '%s': longer than %d bytes", field,
                        AD_ERROR_TYPE_MAX);
    if (!ad_text_dotted_identifier(s, len))
        return ad_error(err, AD_EINVAL, "field '%s': '%.80s' is not a dotted identifier", field,
                        s);
    return 0;
}

/* ---- times -------------------------------------------------------------- */

int ad__check_opt_time(const char *field, char t[AD_TIME_SIZE], struct ad_err *err)
{
    int64_t ms;

    if (!t[0])
        return 0;
    if (memchr(t, '\0', AD_TIME_SIZE) == NULL || ad_time_parse(t, &ms) || ms < 0)
        return ad_error(err, AD_EINVAL, "field '%s': invalid time '%.24s' (want ISO-8601 UTC)",
                        field, t);
    ad_time_iso(ms, t);
    return 0;
}

int ad__check_since(const char *since, char out[AD_TIME_SIZE], struct ad_err *err)
{
    int64_t ms;

    out[0] = '\0';
    if (!since)
        return 0;
    if (ad_time_parse(since, &ms))
        return ad_error(err, AD_EINVAL, "invalid time '%.64s' (want ISO-8601 UTC)", since);
    ad_time_iso(ms, out);
    return 0;
}

/* ---- enumerations ------------------------------------------------------- */

const char *ad__enum_name(const struct ad__enum *e, int v)
{
    return v >= 0 && (size_t)v < e->n ? e->names[v] : NULL;
}

int ad__enum_parse(const struct ad__enum *e, const char *s)
{
    for (size_t i = 0; s && i < e->n; i++) {
        if (e->names[i] && !strcasecmp(s, e->names[i]))
            return (int)i;
    }
    return -1;
}
