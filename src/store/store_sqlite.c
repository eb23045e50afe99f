/*
 * The SQLite backend of the store.
 *
 * One connection per struct ad_store (SQLITE_OPEN_NOMUTEX: a store is used
 * by one thread at a time), WAL journal, synchronous=NORMAL, foreign keys
 * on. Statements are prepared once per SQL text and cached for the life of
 * the connection (SQLITE_PREPARE_PERSISTENT); every use ends with reset and
 * clear_bindings so no statement holds a read snapshot or a borrowed string.
 *
 * Sections:
 *   errors            SQLite result codes -> AD_E* codes and messages
 *   statement cache   stmt_get / stmt_put, binding and column helpers
 *   open              identify the file, pragmas, migrations
 *   transactions      BEGIN IMMEDIATE / savepoints
 *   tenants, agents, episodes, events, jobs, LLM calls
 *   skills (catalog, FTS5 search), skill executions, agent sessions
 *   learning rows     agent record, skill candidates, capability usage, notifications
 *   the ops table
 */
#include "compat.h"

#include <math.h>
#include <unistd.h>

#include <sqlite3.h>

#include "autodev/buf.h"
#include "autodev/log.h"
#include "autodev/store.h"

#include "schema_sqlite.h"
#include "store_backend.h"

#define CACHE_SIZE_KIB 16384   /* page cache per connection; the default 2 MiB thrashes */
/*
 * Checkpoint the WAL every 4000 pages (16 MiB) rather than SQLite's 1000:
 * each checkpoint copies every page the WAL holds and fsyncs, and ingest
 * rewrites the same hot index pages, so rarer checkpoints copy each of them
 * fewer times (+25% episodes/s on the bench). The WAL file is cut back to
 * WAL_SIZE_LIMIT after a checkpoint so it does not keep its high-water size.
 */
#define WAL_CHECKPOINT_PAGES 4000
#define WAL_SIZE_LIMIT (64 << 20)

struct stmt_slot {
    uint64_t hash;
    char *sql;
    sqlite3_stmt *stmt;
    int in_use;
};

struct sqlite_store {
    struct ad_store base;    /* first: store.c sees only this */
    sqlite3 *db;
    char *path;
    /* Slots are allocated one by one: a caller's slot pointer stays valid
     * while later statements join the cache. */
    struct stmt_slot **slots;
    size_t nslots, aslots;
};

static struct sqlite_store *as_sqlite(struct ad_store *st)
{
    return (struct sqlite_store *)st;
}

/* ---- errors ------------------------------------------------------------- */

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return AD_EBUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return AD_ECORRUPT;
    case SQLITE_NOMEM:
        return AD_ENOMEM;
    case SQLITE_TOOBIG:
        return AD_ETOOBIG;
    case SQLITE_READONLY:
        return AD_EPERM;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return AD_EEXIST;
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return AD_ENOTFOUND;
        return AD_EINVAL;
    default:
        return AD_EIO;
    }
}

/* Records rc as an AD_E* error; what says which operation failed. */
static int sq_fail(struct sqlite_store *s, int rc, const char *what, struct ad_err *err)
{
    int code = map_rc(rc);

    if (code == AD_EBUSY)
        return ad_error(err, AD_EBUSY, "database is locked");
    if ((rc & 0xff) == SQLITE_NOTADB)
        return ad_error(err, AD_ECORRUPT, "'%s' is not a database", s->path);
    if (code == AD_ECORRUPT)
        return ad_error(err, AD_ECORRUPT, "database '%s' is corrupt: %s", s->path,
                        sqlite3_errmsg(s->db));
    return ad_error(err, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* ---- statement cache ---------------------------------------------------- */

/*
 * A cheap key for the statement cache: length plus FNV-1a over at most the
 * first and last 32 bytes. Statements that share both ends collide and are
 * told apart by strcmp, so the key need not be unique, only quick: it is
 * computed several times per episode insert.
 */
static uint64_t sql_hash(const char *sql)
{
    size_t len = strlen(sql), i;
    uint64_t h = 0xcbf29ce484222325ULL ^ len;

    for (i = 0; i < len && i < 32; i++)
        h = (h ^ (unsigned char)sql[i]) * 0x100000001b3ULL;
    for (i = len > 32 ? len - 32 : len; i < len; i++)
        h = (h ^ (unsigned char)sql[i]) * 0x100000001b3ULL;
    return h;
}

static int slot_add(struct sqlite_store *s, uint64_t h, const char *sql,
                    struct stmt_slot **out, struct ad_err *err)
{
    struct stmt_slot *slot;
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (s->nslots == s->aslots) {
        size_t na = s->aslots ? s->aslots * 2 : 32;
        struct stmt_slot **ns = realloc(s->slots, na * sizeof(*ns));
        if (!ns)
            return ad_error(err, AD_ENOMEM, "out of memory");
        s->slots = ns;
        s->aslots = na;
    }
    slot = calloc(1, sizeof(*slot));
    if (!slot)
        return ad_error(err, AD_ENOMEM, "out of memory");
    slot->sql = strdup(sql);
    if (!slot->sql) {
        free(slot);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        free(slot->sql);
        free(slot);
        return sq_fail(s, rc, "prepare", err);
    }
    slot->hash = h;
    slot->stmt = stmt;
    s->slots[s->nslots++] = slot;
    *out = slot;
    return 0;
}

/*
 * The cached statement for sql, marked in use until stmt_put. A statement
 * is never used twice at once; asking for one that is in use is a bug.
 */
static int stmt_get(struct sqlite_store *s, const char *sql, struct stmt_slot **out,
                    struct ad_err *err)
{
    uint64_t h = sql_hash(sql);
    struct stmt_slot *slot = NULL;
    size_t i;
    int rc;

    for (i = 0; i < s->nslots; i++) {
        if (s->slots[i]->hash == h && !strcmp(s->slots[i]->sql, sql)) {
            slot = s->slots[i];
            break;
        }
    }
    if (!slot) {
        rc = slot_add(s, h, sql, &slot, err);
        if (rc)
            return rc;
    }
    if (slot->in_use)
        return ad_error(err, AD_EINTERNAL, "statement already in use");
    slot->in_use = 1;
    *out = slot;
    return 0;
}

static void stmt_put(struct stmt_slot *slot)
{
    if (!slot)
        return;
    sqlite3_reset(slot->stmt);
    sqlite3_clear_bindings(slot->stmt);
    slot->in_use = 0;
}

/* Runs a statement without results (or ignoring them). */
static int exec_cached(struct sqlite_store *s, const char *sql, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, sql, &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    stmt_put(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_fail(s, rc, sql, err);
    return 0;
}

/* Binding: helpers remember the first failure so call sites check once. */
struct binder {
    sqlite3_stmt *q;
    int rc;
};

static void b_note(struct binder *b, int rc)
{
    if (b->rc == SQLITE_OK)
        b->rc = rc;
}

/* Strings are bound SQLITE_STATIC: they outlive the step, and stmt_put unbinds. */
static void b_text(struct binder *b, int i, const char *v)
{
    b_note(b, v ? sqlite3_bind_text(b->q, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(b->q, i));
}

static void b_int(struct binder *b, int i, int64_t v)
{
    b_note(b, sqlite3_bind_int64(b->q, i, v));
}

static void b_real(struct binder *b, int i, double v)
{
    b_note(b, isnan(v) ? sqlite3_bind_null(b->q, i) : sqlite3_bind_double(b->q, i, v));
}

/* JSON is serialised compactly; SQLite frees the text when it is unbound. */
static void b_json(struct binder *b, int i, const json_t *v)
{
    char *text;

    if (!v) {
        b_note(b, sqlite3_bind_null(b->q, i));
        return;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
        b_note(b, SQLITE_NOMEM);
        return;
    }
    b_note(b, sqlite3_bind_text(b->q, i, text, (int)strlen(text), free));
}

static int b_done(struct sqlite_store *s, struct binder *b, struct ad_err *err)
{
    if (b->rc == SQLITE_NOMEM)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (b->rc != SQLITE_OK)
        return sq_fail(s, b->rc, "bind", err);
    return 0;
}

/* Columns. A NULL column gives NULL (text, JSON) or "" (fixed fields). */
static int c_dup(sqlite3_stmt *q, int i, char **out, struct ad_err *err)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    *out = NULL;
    if (!t && sqlite3_column_type(q, i) == SQLITE_NULL)
        return 0;
    if (!t)
        return ad_error(err, AD_ENOMEM, "out of memory");
    *out = strdup((const char *)t);
    return *out ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}

static void c_fixed(sqlite3_stmt *q, int i, char *dst, size_t size)
{
    ad__copy_fixed(dst, size, (const char *)sqlite3_column_text(q, i));
}

static int c_json(sqlite3_stmt *q, int i, json_t **out, struct ad_err *err)
{
    const char *t = (const char *)sqlite3_column_text(q, i);
    json_error_t jerr;

    *out = NULL;
    if (!t)
        return 0;
    *out = json_loadb(t, (size_t)sqlite3_column_bytes(q, i), JSON_DECODE_ANY, &jerr);
    if (!*out)
        return ad_error(err, AD_ECORRUPT, "column '%s' holds invalid json: %s",
                        sqlite3_column_name(q, i), jerr.text);
    return 0;
}

static double c_real_or_nan(sqlite3_stmt *q, int i)
{
    return sqlite3_column_type(q, i) == SQLITE_NULL ? NAN : sqlite3_column_double(q, i);
}

/* Grows a result array of elem-sized entries by doubling. */
static int grow(void **v, size_t *alloc, size_t n, size_t elem, struct ad_err *err)
{
    size_t na;
    void *nv;

    if (n < *alloc)
        return 0;
    na = *alloc ? *alloc * 2 : 16;
    nv = realloc(*v, na * elem);
    if (!nv)
        return ad_error(err, AD_ENOMEM, "out of memory");
    memset((char *)nv + *alloc * elem, 0, (na - *alloc) * elem);
    *v = nv;
    *alloc = na;
    return 0;
}

/* Fills one element of a result array from the current row. */
typedef int row_fn(sqlite3_stmt *q, void *elem, struct ad_err *err);

/*
 * Steps q to the end, one array element per row. On failure *out still
 * holds the *n elements filled so far (zeroed past them) for the caller to free.
 */
static int collect(struct sqlite_store *s, struct stmt_slot *q, size_t elem, row_fn *fn,
                   void **out, size_t *n, const char *what, struct ad_err *err)
{
    size_t alloc = 0;
    int rc;

    *out = NULL;
    *n = 0;
    for (;;) {
        rc = sqlite3_step(q->stmt);
        if (rc != SQLITE_ROW)
            break;
        rc = grow(out, &alloc, *n, elem, err);
        if (rc)
            break;
        rc = fn(q->stmt, (char *)*out + *n * elem, err);
        (*n)++;
        if (rc)
            break;
    }
    if (rc == SQLITE_DONE)
        return 0;
    return rc > 0 ? sq_fail(s, rc, what, err) : rc;
}

/*
 * Steps q, a query for at most one row, into out with fn and puts q back.
 * No row is AD_ENOTFOUND with no message: the caller names what is missing.
 */
static int step_one(struct sqlite_store *s, struct stmt_slot *q, row_fn *fn, void *out,
                    const char *what, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc == SQLITE_ROW)
        rc = fn(q->stmt, out, err);
    else if (rc == SQLITE_DONE)
        rc = AD_ENOTFOUND;
    else
        rc = sq_fail(s, rc, what, err);
    stmt_put(q);
    return rc;
}

/* ---- open --------------------------------------------------------------- */

/* One-off statements at open time, not worth caching. */
static int pragma_int(struct sqlite_store *s, const char *sql, int *out, struct ad_err *err)
{
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(q, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        rc = sq_fail(s, rc, sql, err);
    sqlite3_finalize(q);
    return rc;
}

static int exec_once(struct sqlite_store *s, const char *sql, struct ad_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "schema", err);
    return 0;
}

static int latest_version(void)
{
    return ad__sqlite_migrations[ad__sqlite_nmigrations - 1].version;
}

/*
 * Refuses files that are not ours: an empty database (no tables, no
 * application id) is adopted; an autodev one is checked for a schema this
 * binary knows; anything else is someone else's and is left untouched.
 */
static int identify(struct sqlite_store *s, int *version, struct ad_err *err)
{
    int app = 0, ntables = 0, rc;

    rc = pragma_int(s, "PRAGMA application_id", &app, err);
    if (!rc)
        rc = pragma_int(s, "PRAGMA user_version", version, err);
    if (!rc)
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &ntables, err);
    if (rc)
        return rc;
    if (app != AD_SQLITE_APPLICATION_ID && (app != 0 || ntables > 0))
        return ad_error(err, AD_ECORRUPT, "'%s' is not an autodev database", s->path);
    if (*version > latest_version())
        return ad_error(err, AD_ENOTSUP,
                        "database '%s' has schema version %d; this autodev knows up to %d",
                        s->path, *version, latest_version());
    return 0;
}

static int apply_migration(struct sqlite_store *s, const struct ad__sqlite_migration *m,
                           struct ad_err *err)
{
    char sql[160], now[AD_TIME_SIZE];
    int rc;

    rc = exec_once(s, m->sql, err);
    if (rc) {
        ad_error_prefix(err, "migration %d", m->version);
        return rc;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, '%s');"
             "PRAGMA user_version = %d;",
             m->version, ad_time_now(now), m->version);
    return exec_once(s, sql, err);
}

/*
 * Applies the missing migrations in one write transaction. The version is
 * read again under the write lock: another process may have migrated
 * between our first look and BEGIN IMMEDIATE.
 */
static int migrate(struct sqlite_store *s, struct ad_err *err)
{
    char sql[64];
    int version = 0, rc;
    size_t i;

    rc = exec_once(s, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    rc = pragma_int(s, "PRAGMA user_version", &version, err);
    for (i = 0; !rc && i < ad__sqlite_nmigrations; i++) {
        if (ad__sqlite_migrations[i].version > version)
            rc = apply_migration(s, &ad__sqlite_migrations[i], err);
    }
    if (!rc) {
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", AD_SQLITE_APPLICATION_ID);
        rc = exec_once(s, sql, err);
    }
    if (!rc)
        rc = exec_once(s, "COMMIT", err);
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int configure(struct sqlite_store *s, int readonly, struct ad_err *err)
{
    char sql[160];
    int ignored, rc = 0;

    /* journal_mode answers with a row (the mode now in force). */
    if (!readonly)
        rc = pragma_int(s, "PRAGMA journal_mode = WAL", &ignored, err);
    /*
     * temp_store = MEMORY also keeps sub-journals (savepoints of nested
     * ad_store_begin, statement journals) in memory: a file-backed one, once
     * it spills, costs two pwrite()s per page touched for the rest of the
     * transaction.
     */
    if (!rc)
        rc = exec_once(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                          " PRAGMA temp_store = MEMORY", err);
    if (!rc) {
        snprintf(sql, sizeof(sql),
                 "PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d;"
                 " PRAGMA journal_size_limit = %d",
                 CACHE_SIZE_KIB, WAL_CHECKPOINT_PAGES, WAL_SIZE_LIMIT);
        rc = exec_once(s, sql, err);
    }
    return rc;
}

static int open_db(struct sqlite_store *s, const struct ad_store_options *o, struct ad_err *err)
{
    int readonly = (o->flags & AD_STORE_READONLY) != 0;
    int flags = SQLITE_OPEN_NOMUTEX;
    int rc;

    if (strcmp(s->path, ":memory:") && access(s->path, F_OK) != 0) {
        if (errno == ENOENT && (readonly || !(o->flags & AD_STORE_CREATE)))
            return ad_error(err, AD_ENOTFOUND, "database '%s' does not exist", s->path);
    }
    flags |= readonly ? SQLITE_OPEN_READONLY
                      : SQLITE_OPEN_READWRITE | (o->flags & AD_STORE_CREATE ? SQLITE_OPEN_CREATE
                                                                            : 0);
    rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (!s->db)
            return ad_error(err, AD_ENOMEM, "out of memory");
        return ad_error(err, map_rc(rc), "cannot open '%s': %s", s->path,
                        sqlite3_errmsg(s->db));
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, o->busy_timeout_ms);
    return 0;
}

static void sqlite_close(struct ad_store *st)
{
    struct sqlite_store *s = as_sqlite(st);
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->nslots; i++) {
        sqlite3_finalize(s->slots[i]->stmt);
        free(s->slots[i]->sql);
        free(s->slots[i]);
    }
    free(s->slots);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        AD_LOG(AD_LOG_ERROR, "closing '%s': %s", s->path, sqlite3_errmsg(s->db));
    free(s->path);
    free(s);
}

static int sqlite_open(const char *path, const struct ad_store_options *o,
                       struct ad_store **out, struct ad_err *err)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    int readonly = (o->flags & AD_STORE_READONLY) != 0;
    int version = 0, rc;

    if (!s)
        return ad_error(err, AD_ENOMEM, "out of memory");
    s->base.ops = &ad__store_sqlite_ops;
    s->path = strdup(path);
    rc = s->path ? open_db(s, o, err) : ad_error(err, AD_ENOMEM, "out of memory");
    if (!rc)
        rc = identify(s, &version, err);
    if (!rc)
        rc = configure(s, readonly, err);
    if (!rc && version < latest_version()) {
        if (readonly)
            rc = ad_error(err, AD_ENOTSUP,
                          "database '%s' has schema version %d and needs an upgrade to %d; "
                          "open it read-write once", s->path, version, latest_version());
        else
            rc = migrate(s, err);
    }
    if (rc) {
        sqlite_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int sqlite_schema_version(struct ad_store *st, int *current, int *latest,
                                 struct ad_err *err)
{
    *latest = latest_version();
    return pragma_int(as_sqlite(st), "PRAGMA user_version", current, err);
}

/* First problem of a PRAGMA that answers "ok" or a list of problems. */
static int check_integrity(struct sqlite_store *s, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    const char *t;
    int rc = stmt_get(s, "PRAGMA integrity_check", &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        t = (const char *)sqlite3_column_text(q->stmt, 0);
        rc = t && !strcmp(t, "ok") ? 0
                                   : ad_error(err, AD_ECORRUPT, "integrity check of '%s': %s",
                                              s->path, t ? t : "no answer");
    } else {
        rc = sq_fail(s, rc, "integrity check", err);
    }
    stmt_put(q);
    return rc;
}

static int check_foreign_keys(struct sqlite_store *s, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "PRAGMA foreign_key_check", &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW)
        rc = ad_error(err, AD_ECORRUPT, "table '%s' row %lld refers to a missing row of '%s'",
                      (const char *)sqlite3_column_text(q->stmt, 0),
                      (long long)sqlite3_column_int64(q->stmt, 1),
                      (const char *)sqlite3_column_text(q->stmt, 2));
    else
        rc = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "foreign key check", err);
    stmt_put(q);
    return rc;
}

static int sqlite_check(struct ad_store *st, struct ad_err *err)
{
    int rc = check_integrity(as_sqlite(st), err);

    if (!rc)
        rc = check_foreign_keys(as_sqlite(st), err);
    return rc;
}

/* ---- transactions ------------------------------------------------------- */

/*
 * The outermost level takes the write lock at once (BEGIN IMMEDIATE), so a
 * transaction never fails half-way on a lock upgrade and concurrent writers
 * queue on the busy timeout. Inner levels share one savepoint name: SQLite
 * resolves a name to the innermost savepoint that has it.
 */
static int sqlite_begin(struct ad_store *st, int depth, struct ad_err *err)
{
    const char *sql = depth > 1 ? "SAVEPOINT ad_sp"
                      : st->flags & AD_STORE_READONLY ? "BEGIN"
                                                      : "BEGIN IMMEDIATE";

    return exec_cached(as_sqlite(st), sql, err);
}

static int sqlite_commit(struct ad_store *st, int depth, struct ad_err *err)
{
    return exec_cached(as_sqlite(st), depth > 1 ? "RELEASE ad_sp" : "COMMIT", err);
}

static int sqlite_rollback(struct ad_store *st, int depth, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    int rc;

    /* An I/O error or a full disk may already have ended the whole transaction. */
    if (sqlite3_get_autocommit(s->db))
        return 0;
    if (depth <= 1)
        return exec_cached(s, "ROLLBACK", err);
    rc = exec_cached(s, "ROLLBACK TO ad_sp", err);
    if (!rc)
        rc = exec_cached(s, "RELEASE ad_sp", err);
    return rc;
}

/* ---- tenants ------------------------------------------------------------ */

static int sqlite_tenant_find(struct ad_store *st, const char *name, struct ad_tenant *out,
                              struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT id, name, created_at FROM tenants WHERE name = ?1", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        c_fixed(q->stmt, 0, out->id, sizeof(out->id));
        c_fixed(q->stmt, 2, out->created_at, sizeof(out->created_at));
        rc = c_dup(q->stmt, 1, &out->name, err);
    } else if (rc == SQLITE_DONE) {
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant '%s'", name);
    } else {
        rc = sq_fail(s, rc, "find tenant", err);
    }
    stmt_put(q);
    return rc;
}

static int sqlite_tenant_insert(struct ad_store *st, const struct ad_tenant *t,
                                const char *settings_json, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s,
                      "INSERT INTO tenants (id, name, settings, created_at, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?4)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, t->id);
    b_text(&b, 2, t->name);
    b_text(&b, 3, settings_json);
    b_text(&b, 4, t->created_at);
    rc = b_done(s, &b, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (map_rc(rc) == AD_EEXIST)
            rc = ad_error(err, AD_EEXIST, "tenant '%s' already exists", t->name);
        else
            rc = sq_fail(s, rc, "insert tenant", err);
    }
    stmt_put(q);
    return rc;
}

static int sqlite_settings_get(struct ad_store *st, const char *tenant_id, json_t **out,
                               struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT settings FROM tenants WHERE id = ?1", &q, err);

    *out = NULL;
    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW)
        rc = c_json(q->stmt, 0, out, err);
    else if (rc == SQLITE_DONE)
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
    else
        rc = sq_fail(s, rc, "read settings", err);
    stmt_put(q);
    if (!rc && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = ad_error(err, AD_ECORRUPT, "settings of tenant '%s' are not an object", tenant_id);
    }
    return rc;
}

/* Runs a prepared write and requires that it changed a row. */
static int step_changed(struct sqlite_store *s, struct stmt_slot *q, const char *what,
                        const char *id, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc != SQLITE_DONE)
        return sq_fail(s, rc, what, err);
    if (sqlite3_changes(s->db) == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown %s '%s'", what, id);
    return 0;
}

static int sqlite_settings_put(struct ad_store *st, const char *tenant_id,
                               const json_t *settings, const char *now, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "UPDATE tenants SET settings = ?2, updated_at = ?3 WHERE id = ?1", &q,
                      err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, tenant_id);
    b_json(&b, 2, settings);
    b_text(&b, 3, now);
    rc = b_done(s, &b, err);
    if (!rc)
        rc = step_changed(s, q, "tenant id", tenant_id, err);
    stmt_put(q);
    return rc;
}

/* ---- agents ------------------------------------------------------------- */

#define AGENT_COLS \
    "id, tenant_id, name, maturity, episode_count, success_count, failure_count, created_at," \
    " updated_at"

static int agent_from_row(sqlite3_stmt *q, struct ad_agent *a, struct ad_err *err)
{
    const char *m = (const char *)sqlite3_column_text(q, 3);

    c_fixed(q, 0, a->id, sizeof(a->id));
    c_fixed(q, 1, a->tenant_id, sizeof(a->tenant_id));
    if (!m || ad_maturity_parse(m, &a->maturity))
        return ad_error(err, AD_ECORRUPT, "agent '%s' has an invalid maturity", a->id);
    a->episode_count = sqlite3_column_int64(q, 4);
    a->success_count = sqlite3_column_int64(q, 5);
    a->failure_count = sqlite3_column_int64(q, 6);
    c_fixed(q, 7, a->created_at, sizeof(a->created_at));
    c_fixed(q, 8, a->updated_at, sizeof(a->updated_at));
    return c_dup(q, 2, &a->name, err);
}

static int sqlite_agent_insert(struct ad_store *st, const struct ad_agent *a,
                               struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO agents (" AGENT_COLS ")"
                         " VALUES (?1, ?2, ?3, ?4, 0, 0, 0, ?5, ?5)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, a->id);
    b_text(&b, 2, a->tenant_id);
    b_text(&b, 3, a->name);
    b_text(&b, 4, ad_maturity_name(a->maturity));
    b_text(&b, 5, a->created_at);
    rc = b_done(s, &b, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (map_rc(rc) == AD_EEXIST)
            rc = ad_error(err, AD_EEXIST, "agent '%s' already exists", a->name);
        else if (map_rc(rc) == AD_ENOTFOUND)
            rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", a->tenant_id);
        else
            rc = sq_fail(s, rc, "insert agent", err);
    }
    stmt_put(q);
    return rc;
}

static int agent_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return agent_from_row(q, elem, err);
}

static int sqlite_agent_get(struct ad_store *st, const char *tenant_id, const char *id,
                            const char *name, struct ad_agent *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, id ? "SELECT " AGENT_COLS " FROM agents WHERE tenant_id = ?1 AND id = ?2"
                            : "SELECT " AGENT_COLS " FROM agents"
                              " WHERE tenant_id = ?1 AND name = ?2",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id ? id : name, -1, SQLITE_STATIC);
    rc = step_one(s, q, agent_row, out, "get agent", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", id ? id : name);
    if (rc)
        ad_agent_release(out);
    return rc;
}

static int sqlite_agent_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                             int limit, struct ad_agent **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_agent *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " AGENT_COLS " FROM agents"
                         " WHERE tenant_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, after_name ? after_name : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = collect(s, q, sizeof(*v), agent_row, (void **)&v, &count, "list agents", err);
    stmt_put(q);
    if (rc) {
        ad_agent_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_agent_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                                     enum ad_maturity m, const char *now, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "UPDATE agents SET maturity = ?3, updated_at = ?4"
                         " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, ad_maturity_name(m), -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    rc = step_changed(s, q, "agent", id, err);
    stmt_put(q);
    return rc;
}

/* ---- episodes ----------------------------------------------------------- */

#define EPISODE_COLS \
    "id, tenant_id, agent_id, task_description, task_kind, input, expected, output, success," \
    " error_trace, tools_attempted, context, intervention, constitutional_score," \
    " execution_seconds, token_usage, skill_version_id, created_at"

static int episode_from_row(sqlite3_stmt *q, struct ad_episode *ep, struct ad_err *err)
{
    int rc;

    c_fixed(q, 0, ep->id, sizeof(ep->id));
    c_fixed(q, 1, ep->tenant_id, sizeof(ep->tenant_id));
    c_fixed(q, 2, ep->agent_id, sizeof(ep->agent_id));
    ep->success = sqlite3_column_int(q, 8) != 0;
    ep->intervention = sqlite3_column_int(q, 12) != 0;
    ep->constitutional_score = c_real_or_nan(q, 13);
    ep->execution_seconds = sqlite3_column_double(q, 14);
    ep->token_usage = sqlite3_column_int64(q, 15);
    c_fixed(q, 17, ep->created_at, sizeof(ep->created_at));
    rc = c_dup(q, 3, &ep->task_description, err);
    if (!rc)
        rc = c_dup(q, 4, &ep->task_kind, err);
    if (!rc)
        rc = c_json(q, 5, &ep->input, err);
    if (!rc)
        rc = c_json(q, 6, &ep->expected, err);
    if (!rc)
        rc = c_json(q, 7, &ep->output, err);
    if (!rc)
        rc = c_dup(q, 9, &ep->error_trace, err);
    if (!rc)
        rc = c_json(q, 10, &ep->tools_attempted, err);
    if (!rc)
        rc = c_json(q, 11, &ep->context, err);
    if (!rc)
        rc = c_dup(q, 16, &ep->skill_version_id, err);
    return rc;
}

/* The agent's counters move in the same transaction as the episode row. */
static int bump_agent(struct sqlite_store *s, const struct ad_episode *ep, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "UPDATE agents SET episode_count = episode_count + 1,"
                         " success_count = success_count + ?3,"
                         " failure_count = failure_count + 1 - ?3, updated_at = ?4"
                         " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, ep->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, ep->agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, ep->success ? 1 : 0);
    sqlite3_bind_text(q->stmt, 4, ep->created_at, -1, SQLITE_STATIC);
    rc = step_changed(s, q, "agent", ep->agent_id, err);
    stmt_put(q);
    return rc;
}

static int insert_episode_row(struct sqlite_store *s, const struct ad_episode *ep,
                              const struct ad__episode_json *json, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO episodes (" EPISODE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5,"
                         " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                      &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, ep->id);
    b_text(&b, 2, ep->tenant_id);
    b_text(&b, 3, ep->agent_id);
    b_text(&b, 4, ep->task_description);
    b_text(&b, 5, ep->task_kind);
    b_text(&b, 6, json->input);
    b_text(&b, 7, json->expected);
    b_text(&b, 8, json->output);
    b_int(&b, 9, ep->success ? 1 : 0);
    b_text(&b, 10, ep->error_trace);
    b_text(&b, 11, json->tools_attempted);
    b_text(&b, 12, json->context);
    b_int(&b, 13, ep->intervention ? 1 : 0);
    b_real(&b, 14, ep->constitutional_score);
    b_real(&b, 15, ep->execution_seconds);
    b_int(&b, 16, ep->token_usage);
    b_text(&b, 17, ep->skill_version_id);
    b_text(&b, 18, ep->created_at);
    rc = b_done(s, &b, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        rc = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "insert episode", err);
    }
    stmt_put(q);
    return rc;
}

static int insert_segment(struct sqlite_store *s, const struct ad_episode *ep,
                          const struct ad_episode_segment *seg, const char *metadata,
                          struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO episode_segments"
                         " (id, tenant_id, episode_id, kind, content, metadata, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, seg->id);
    b_text(&b, 2, ep->tenant_id);
    b_text(&b, 3, ep->id);
    b_text(&b, 4, seg->kind);
    b_text(&b, 5, seg->content);
    b_text(&b, 6, metadata);
    b_text(&b, 7, seg->created_at);
    rc = b_done(s, &b, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        rc = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "insert segment", err);
    }
    stmt_put(q);
    return rc;
}

static int sqlite_episode_insert(struct ad_store *st, const struct ad_episode *ep,
                                 const struct ad__episode_json *json, int *wrote,
                                 struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    size_t i;
    int rc;

    /*
     * The counter update doubles as the check that the agent is this
     * tenant's, so that expected failure comes before anything is written.
     */
    rc = bump_agent(s, ep, err);
    if (rc)
        return rc;
    *wrote = 1;
    rc = insert_episode_row(s, ep, json, err);
    for (i = 0; !rc && i < ep->nsegments; i++)
        rc = insert_segment(s, ep, &ep->segments[i], json->metadata[i], err);
    return rc;
}

static int segment_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_episode_segment *seg = elem;
    int rc;

    c_fixed(q, 0, seg->id, sizeof(seg->id));
    c_fixed(q, 4, seg->created_at, sizeof(seg->created_at));
    rc = c_dup(q, 1, &seg->kind, err);
    if (!rc)
        rc = c_dup(q, 2, &seg->content, err);
    if (!rc)
        rc = c_json(q, 3, &seg->metadata, err);
    return rc;
}

/* On failure ep still owns what was loaded, for ad_episode_release. */
static int load_segments(struct sqlite_store *s, struct ad_episode *ep, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT id, kind, content, metadata, created_at FROM episode_segments"
                         " WHERE episode_id = ?1 AND tenant_id = ?2 ORDER BY id", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, ep->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, ep->tenant_id, -1, SQLITE_STATIC);
    rc = collect(s, q, sizeof(*ep->segments), segment_row, (void **)&ep->segments,
                 &ep->nsegments, "load segments", err);
    stmt_put(q);
    return rc;
}

static int episode_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return episode_from_row(q, elem, err);
}

static int sqlite_episode_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_episode *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " EPISODE_COLS " FROM episodes WHERE tenant_id = ?1 AND id = ?2",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = step_one(s, q, episode_row, out, "get episode", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", id);
    if (!rc)
        rc = load_segments(s, out, err);
    if (rc)
        ad_episode_release(out);
    return rc;
}

/*
 * The list and count queries, built from the filter. Each combination is a
 * distinct SQL text and so a distinct cached statement (a few dozen at
 * most). Every list runs down an index in id order, without a sort:
 *   agent + success  -> ix_episodes_agent_success
 *   agent only       -> the same index, its success = 0 and success = 1
 *                       ranges merged by a UNION ALL in id order
 *   task_kind        -> ix_episodes_kind
 *   neither          -> ix_episodes_tenant
 */
static int episode_where(const struct ad_episode_filter *f, const char *success, int count,
                         struct ad_buf *b)
{
    int rc = 0;

    if (f->agent_id)
        rc = ad_buf_adds(b, " AND agent_id = :a");
    if (!rc && success)
        rc = ad_buf_addf(b, " AND success = %s", success);
    if (!rc && f->task_kind)
        rc = ad_buf_adds(b, " AND task_kind = :k");
    if (!rc && f->before_id && !count)
        rc = ad_buf_adds(b, " AND id < :b");
    return rc;
}

static int episode_sql(const struct ad_episode_filter *f, int count, struct ad_buf *b)
{
    static const char select[] = "SELECT " EPISODE_COLS " FROM episodes WHERE tenant_id = :t";
    int rc;

    if (count) {
        rc = ad_buf_adds(b, "SELECT count(*) FROM episodes WHERE tenant_id = :t");
        return rc ? rc : episode_where(f, f->success >= 0 ? ":s" : NULL, 1, b);
    }
    rc = ad_buf_adds(b, select);
    if (f->agent_id && f->success < 0) {
        if (!rc)
            rc = episode_where(f, "0", 0, b);
        if (!rc)
            rc = ad_buf_addf(b, " UNION ALL %s", select);
        if (!rc)
            rc = episode_where(f, "1", 0, b);
    } else if (!rc) {
        rc = episode_where(f, f->success >= 0 ? ":s" : NULL, 0, b);
    }
    if (!rc)
        rc = ad_buf_adds(b, " ORDER BY id DESC LIMIT :l");
    return rc;
}

static void bind_named(sqlite3_stmt *q, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(q, name);

    if (i > 0)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

static void episode_bind(sqlite3_stmt *q, const char *tenant_id,
                         const struct ad_episode_filter *f)
{
    int i;

    bind_named(q, ":t", tenant_id);
    bind_named(q, ":a", f->agent_id);
    bind_named(q, ":k", f->task_kind);
    bind_named(q, ":b", f->before_id);
    i = sqlite3_bind_parameter_index(q, ":s");
    if (i > 0)
        sqlite3_bind_int(q, i, f->success);
    i = sqlite3_bind_parameter_index(q, ":l");
    if (i > 0)
        sqlite3_bind_int(q, i, f->limit);
}

/* Gets the cached statement for the filter, bound and ready to step. */
static int episode_query(struct sqlite_store *s, const char *tenant_id,
                         const struct ad_episode_filter *f, int count, const char *prefix,
                         struct stmt_slot **out, struct ad_err *err)
{
    struct ad_buf b;
    int rc;

    ad_buf_init(&b, 4096);
    rc = ad_buf_adds(&b, prefix);
    if (!rc)
        rc = episode_sql(f, count, &b);
    if (rc) {
        ad_buf_release(&b);
        return ad_error(err, rc, "building the episode query");
    }
    rc = stmt_get(s, b.ptr, out, err);
    ad_buf_release(&b);
    if (!rc)
        episode_bind((*out)->stmt, tenant_id, f);
    return rc;
}

static int sqlite_episode_list(struct ad_store *st, const char *tenant_id,
                               const struct ad_episode_filter *f, struct ad_episode **out,
                               size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_episode *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = episode_query(s, tenant_id, f, 0, "", &q, err);

    if (rc)
        return rc;
    rc = collect(s, q, sizeof(*v), episode_row, (void **)&v, &count, "list episodes", err);
    stmt_put(q);
    if (rc) {
        ad_episode_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_episode_count(struct ad_store *st, const char *tenant_id,
                                const struct ad_episode_filter *f, int64_t *count,
                                struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = episode_query(s, tenant_id, f, 1, "", &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(q->stmt, 0);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, "count episodes", err);
    }
    stmt_put(q);
    return rc;
}

/* The plan of a cached statement, one line per plan row. */
static int explain(struct sqlite_store *s, struct stmt_slot *q, char **plan, struct ad_err *err)
{
    struct ad_buf out = AD_BUF_INIT;
    int rc;

    for (;;) {
        rc = sqlite3_step(q->stmt);
        if (rc != SQLITE_ROW)
            break;
        /* Columns: id, parent, notused, detail. */
        if (ad_buf_addf(&out, "%s\n", (const char *)sqlite3_column_text(q->stmt, 3))) {
            rc = ad_error(err, AD_ENOMEM, "out of memory");
            break;
        }
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = sq_fail(s, rc, "explain", err);
    stmt_put(q);
    if (!rc)
        *plan = ad_buf_detach(&out, NULL);
    ad_buf_release(&out);
    if (!rc && !*plan)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    return rc;
}

int ad__sqlite_explain_episode_list(struct ad_store *st, const char *tenant_id,
                                    const struct ad_episode_filter *f, char **plan,
                                    struct ad_err *err)
{
    struct ad_episode_filter r = *f;
    struct stmt_slot *q = NULL;
    int rc;

    *plan = NULL;
    if (st->ops != &ad__store_sqlite_ops)
        return ad_error(err, AD_ENOTSUP, "not a sqlite store");
    if (r.limit <= 0)
        r.limit = AD_LIST_DEFAULT;
    rc = episode_query(as_sqlite(st), tenant_id, &r, 0, "EXPLAIN QUERY PLAN ", &q, err);
    return rc ? rc : explain(as_sqlite(st), q, plan, err);
}

/* ---- events ------------------------------------------------------------- */

/*
 * seq = MAX(seq) + 1, computed inside the write transaction. SQLite lets one
 * writer at a time hold the write lock (BEGIN IMMEDIATE), so two appends can
 * never read the same MAX, and an append that commits later always has the
 * larger seq: seq order is commit order, which is what lets a reader resume
 * from the last seq it saw without missing a late commit. (An AUTOINCREMENT
 * or a PostgreSQL sequence hands numbers out at insert time, not commit time,
 * and would not give that.) MAX(seq) is one step down the UNIQUE index.
 */
/*
 * Steps an insert whose only foreign key is tenant_id, binds checked by
 * the caller, and releases the statement. SQLite reports a missing parent
 * row as a constraint failure; the caller's message names the tenant.
 */
static int step_insert(struct sqlite_store *s, struct stmt_slot *q, struct binder *b,
                       const char *tenant_id, const char *what, struct ad_err *err)
{
    int rc = b_done(s, b, err);

    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (map_rc(rc) == AD_ENOTFOUND)
            rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant_id);
        else
            rc = sq_fail(s, rc, what, err);
    }
    stmt_put(q);
    return rc;
}

/* The next seq: one step down the UNIQUE index on seq. */
static int event_next_seq(struct sqlite_store *s, int64_t *seq, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events", &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(q->stmt, 0);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, "read event sequence", err);
    }
    stmt_put(q);
    return rc;
}

static int event_insert(struct sqlite_store *s, const struct ad_event *ev, const char *payload,
                        struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO events (id, tenant_id, seq, topic, payload, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, ev->id);
    b_text(&b, 2, ev->tenant_id);
    if (b.rc == SQLITE_OK)
        b.rc = sqlite3_bind_int64(q->stmt, 3, ev->seq);
    b_text(&b, 4, ev->topic);
    b_text(&b, 5, payload);
    b_text(&b, 6, ev->created_at);
    return step_insert(s, q, &b, ev->tenant_id, "append event", err);
}

/*
 * seq = MAX(seq) + 1, read and used under the write lock, which store.c
 * always holds around a write op (ad__write_begin), so two processes cannot read
 * the same MAX. Two plain statements rather than one INSERT ... (SELECT MAX)
 * ... RETURNING: SQLite runs RETURNING through an ephemeral table, and the
 * split form measured 24% fewer instructions per append (callgrind,
 * bench_store "record"). A failed insert leaves nothing behind: it is one
 * statement.
 */
static int sqlite_event_append(struct ad_store *st, struct ad_event *ev, const char *payload,
                               struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    int rc = event_next_seq(s, &ev->seq, err);

    if (!rc)
        rc = event_insert(s, ev, payload, err);
    if (rc)
        ev->seq = 0;
    return rc;
}

static int event_from_row(sqlite3_stmt *q, struct ad_event *ev, struct ad_err *err)
{
    int rc;

    ev->seq = sqlite3_column_int64(q, 0);
    c_fixed(q, 1, ev->id, sizeof(ev->id));
    c_fixed(q, 2, ev->tenant_id, sizeof(ev->tenant_id));
    c_fixed(q, 5, ev->created_at, sizeof(ev->created_at));
    rc = c_dup(q, 3, &ev->topic, err);
    if (!rc)
        rc = c_json(q, 4, &ev->payload, err);
    return rc;
}

static int event_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return event_from_row(q, elem, err);
}

static int sqlite_event_list(struct ad_store *st, const char *tenant_id, int64_t since_seq,
                             const char *topic, int limit, struct ad_event **out, size_t *n,
                             struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_event *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, topic ? "SELECT seq, id, tenant_id, topic, payload, created_at"
                                 " FROM events WHERE tenant_id = ?1 AND seq > ?2 AND topic = ?3"
                                 " ORDER BY seq LIMIT ?4"
                               : "SELECT seq, id, tenant_id, topic, payload, created_at"
                                 " FROM events WHERE tenant_id = ?1 AND seq > ?2"
                                 " ORDER BY seq LIMIT ?4",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q->stmt, 2, since_seq);
    if (topic)
        sqlite3_bind_text(q->stmt, 3, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 4, limit);
    rc = collect(s, q, sizeof(*v), event_row, (void **)&v, &count, "list events", err);
    stmt_put(q);
    if (rc) {
        ad_event_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_event_last_seq(struct ad_store *st, const char *tenant_id, int64_t *seq,
                                 struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ?1", &q,
                      err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(q->stmt, 0);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, "last event", err);
    }
    stmt_put(q);
    return rc;
}

/* ---- jobs --------------------------------------------------------------- */

#define JOB_COLS \
    "id, tenant_id, kind, payload, status, attempts, max_attempts, idempotency_key," \
    " run_after, lease_until, worker, last_error, created_at, updated_at"

static int job_from_row(sqlite3_stmt *q, struct ad_job *j, struct ad_err *err)
{
    const char *status = (const char *)sqlite3_column_text(q, 4);
    int rc;

    c_fixed(q, 0, j->id, sizeof(j->id));
    c_fixed(q, 1, j->tenant_id, sizeof(j->tenant_id));
    if (!status || ad_job_status_parse(status, &j->status))
        return ad_error(err, AD_ECORRUPT, "job '%s' has an invalid status", j->id);
    j->attempts = sqlite3_column_int(q, 5);
    j->max_attempts = sqlite3_column_int(q, 6);
    c_fixed(q, 8, j->run_after, sizeof(j->run_after));
    c_fixed(q, 9, j->lease_until, sizeof(j->lease_until));
    c_fixed(q, 12, j->created_at, sizeof(j->created_at));
    c_fixed(q, 13, j->updated_at, sizeof(j->updated_at));
    rc = c_dup(q, 2, &j->kind, err);
    if (!rc)
        rc = c_json(q, 3, &j->payload, err);
    if (!rc)
        rc = c_dup(q, 7, &j->idempotency_key, err);
    if (!rc)
        rc = c_dup(q, 10, &j->worker, err);
    if (!rc)
        rc = c_dup(q, 11, &j->last_error, err);
    return rc;
}

/* Steps a statement expected to yield at most one job row. */
static int step_job(struct sqlite_store *s, struct stmt_slot *q, struct ad_job *out,
                    const char *what, struct ad_err *err)
{
    int rc = sqlite3_step(q->stmt);

    if (rc == SQLITE_ROW) {
        rc = job_from_row(q->stmt, out, err);
        /* RETURNING statements finish their write on the next step. */
        if (!rc && sqlite3_step(q->stmt) != SQLITE_DONE)
            rc = sq_fail(s, sqlite3_errcode(s->db), what, err);
        if (rc)
            ad_job_release(out);
        return rc;
    }
    if (rc == SQLITE_DONE)
        return AD_ENOTFOUND;    /* the caller words the message */
    return sq_fail(s, rc, what, err);
}

static int find_job_by_key(struct sqlite_store *s, const struct ad_job *j, struct ad_job *out,
                           struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " JOB_COLS " FROM jobs"
                         " WHERE tenant_id = ?1 AND idempotency_key = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, j->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, j->idempotency_key, -1, SQLITE_STATIC);
    rc = step_job(s, q, out, "find job", err);
    stmt_put(q);
    return rc;
}

static int insert_job_row(struct sqlite_store *s, const struct ad_job *j, const char *payload,
                          struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO jobs (" JOB_COLS ") VALUES (?1, ?2, ?3, coalesce(?4, '{}'),"
                         " 'queued', 0, ?5, ?6, ?7, NULL, NULL, NULL, ?8, ?8)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, j->id);
    b_text(&b, 2, j->tenant_id);
    b_text(&b, 3, j->kind);
    b_text(&b, 4, payload);
    b_int(&b, 5, j->max_attempts);
    b_text(&b, 6, j->idempotency_key);
    b_text(&b, 7, j->run_after);
    b_text(&b, 8, j->created_at);
    return step_insert(s, q, &b, j->tenant_id, "insert job", err);
}

/*
 * The key is looked up before the insert rather than caught as a UNIQUE
 * violation: we hold the write lock, so nobody can take the key in between.
 */
static int sqlite_job_insert(struct ad_store *st, struct ad_job *j, const char *payload,
                             struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_job existing = { 0 };
    int rc;

    if (j->idempotency_key) {
        rc = find_job_by_key(s, j, &existing, err);
        if (rc == 0) {
            ad_error(err, AD_EEXIST, "a job with idempotency key '%s' already exists",
                     j->idempotency_key);
            ad_job_release(j);
            *j = existing;
            return AD_EEXIST;
        }
        if (rc != AD_ENOTFOUND)
            return rc;
    }
    return insert_job_row(s, j, payload, err);
}

static int sqlite_job_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_job *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = ?1 AND id = ?2", &q,
                      err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = step_job(s, q, out, "get job", err);
    stmt_put(q);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    return rc;
}

/*
 * One statement picks and takes the job, so two workers can never claim the
 * same one: both run under the write lock, one after the other, and the
 * second no longer sees the first's job as claimable. The two kinds of
 * claimable job (queued and due; running with an expired lease) are two
 * ranges of ix_jobs_claim merged in (run_after, id) order, so a claim reads
 * a few index entries however many finished jobs the table holds.
 */
#define CLAIM_SQL(kind_clause) \
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = ?3," \
    " lease_until = ?5, updated_at = ?4" \
    " WHERE id = (SELECT id FROM (" \
    "SELECT id, run_after FROM jobs WHERE tenant_id = ?1" kind_clause \
    " AND status = 'queued' AND run_after <= ?4" \
    " UNION ALL SELECT id, run_after FROM jobs WHERE tenant_id = ?1" kind_clause \
    " AND status = 'running' AND lease_until < ?4" \
    " ORDER BY run_after, id LIMIT 1))" \
    " RETURNING " JOB_COLS

static int sqlite_job_claim(struct ad_store *st, const char *tenant_id, const char *kind,
                            const char *worker, const char *now, const char *lease_until,
                            struct ad_job *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, kind ? CLAIM_SQL(" AND kind = ?2") : CLAIM_SQL(""), &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (kind)
        sqlite3_bind_text(q->stmt, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 5, lease_until, -1, SQLITE_STATIC);
    rc = step_job(s, q, out, "claim job", err);
    stmt_put(q);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "no claimable job");
    return rc;
}

int ad__sqlite_explain_job_claim(struct ad_store *st, const char *kind, char **plan,
                                 struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc;

    *plan = NULL;
    if (st->ops != &ad__store_sqlite_ops)
        return ad_error(err, AD_ENOTSUP, "not a sqlite store");
    rc = stmt_get(as_sqlite(st), kind ? "EXPLAIN QUERY PLAN " CLAIM_SQL(" AND kind = ?2")
                                      : "EXPLAIN QUERY PLAN " CLAIM_SQL(""), &q, err);
    return rc ? rc : explain(as_sqlite(st), q, plan, err);
}

static int job_exists(struct sqlite_store *s, const char *tenant_id, const char *id,
                      struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT 1 FROM jobs WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "find job", err);
    stmt_put(q);
    return rc;
}

static int sqlite_job_finish(struct ad_store *st, const char *tenant_id, const char *id,
                             const char *worker, enum ad_job_status status, const char *error,
                             const char *run_after, const char *now, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = stmt_get(s, "UPDATE jobs SET status = ?4, last_error = coalesce(?5, last_error),"
                         " run_after = coalesce(?6, run_after), lease_until = NULL,"
                         " worker = NULL, updated_at = ?7"
                         " WHERE tenant_id = ?1 AND id = ?2 AND status = 'running'"
                         " AND worker = ?3", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, worker, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, ad_job_status_name(status), -1, SQLITE_STATIC);
    if (error)
        sqlite3_bind_text(q->stmt, 5, error, -1, SQLITE_STATIC);
    if (run_after)
        sqlite3_bind_text(q->stmt, 6, run_after, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 7, now, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    rc = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "finish job", err);
    changed = sqlite3_changes(s->db);
    stmt_put(q);
    if (rc || changed)
        return rc;
    /* Nothing matched: say whether the job is gone or just not ours. */
    rc = job_exists(s, tenant_id, id, err);
    if (rc == 1)
        return ad_error(err, AD_ESTATE, "job '%s' is not running under worker '%s'", id, worker);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown job '%s'", id);
    return rc;
}

static int job_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return job_from_row(q, elem, err);
}

static int sqlite_job_list(struct ad_store *st, const char *tenant_id, int status,
                           const char *kind, int limit, struct ad_job **out, size_t *n,
                           struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_job *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = ?1"
                         " AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR kind = ?3)"
                         " ORDER BY id DESC LIMIT ?4", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (status >= 0)
        sqlite3_bind_text(q->stmt, 2, ad_job_status_name((enum ad_job_status)status), -1,
                          SQLITE_STATIC);
    if (kind)
        sqlite3_bind_text(q->stmt, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 4, limit);
    rc = collect(s, q, sizeof(*v), job_row, (void **)&v, &count, "list jobs", err);
    stmt_put(q);
    if (rc) {
        ad_job_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- LLM calls ---------------------------------------------------------- */

static int sqlite_llm_call_insert(struct ad_store *st, const struct ad_llm_call *c,
                                  struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO llm_calls (id, tenant_id, provider, model, purpose,"
                         " prompt_tokens, completion_tokens, cost_usd, latency_ms, status, error,"
                         " request_id, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                      &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, c->id);
    b_text(&b, 2, c->tenant_id);
    b_text(&b, 3, c->provider);
    b_text(&b, 4, c->model);
    b_text(&b, 5, c->purpose);
    b_int(&b, 6, c->prompt_tokens);
    b_int(&b, 7, c->completion_tokens);
    b_real(&b, 8, c->cost_usd);
    b_int(&b, 9, c->latency_ms);
    b_text(&b, 10, c->ok ? "ok" : "error");
    b_text(&b, 11, c->error);
    b_text(&b, 12, c->request_id);
    b_text(&b, 13, c->created_at);
    return step_insert(s, q, &b, c->tenant_id, "record llm call", err);
}

static int usage_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_llm_usage_row *r = elem;
    int rc;

    memset(r, 0, sizeof(*r));
    r->calls = sqlite3_column_int64(q, 3);
    r->errors = sqlite3_column_int64(q, 4);
    r->prompt_tokens = sqlite3_column_int64(q, 5);
    r->completion_tokens = sqlite3_column_int64(q, 6);
    r->cost_usd = sqlite3_column_double(q, 7);
    r->latency_ms_avg = sqlite3_column_int64(q, 8);
    rc = c_dup(q, 0, &r->provider, err);
    if (!rc)
        rc = c_dup(q, 1, &r->model, err);
    if (!rc)
        rc = c_dup(q, 2, &r->purpose, err);
    return rc;
}

static int sqlite_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                            struct ad_llm_usage_row **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_llm_usage_row *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT provider, model, coalesce(purpose, ''), count(*),"
                         " sum(status = 'error'), sum(prompt_tokens), sum(completion_tokens),"
                         " sum(cost_usd), CAST(avg(latency_ms) AS INTEGER)"
                         " FROM llm_calls WHERE tenant_id = ?1 AND created_at >= ?2"
                         " GROUP BY 1, 2, 3 ORDER BY 8 DESC, 4 DESC, 1, 2, 3",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, since, -1, SQLITE_STATIC);
    rc = collect(s, q, sizeof(*v), usage_row, (void **)&v, &count, "sum llm usage", err);
    stmt_put(q);
    if (rc) {
        ad_llm_usage_rows_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_llm_spent(struct ad_store *st, const char *tenant_id, const char *since,
                            int64_t *tokens, double *usd, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
                         " coalesce(sum(cost_usd), 0) FROM llm_calls"
                         " WHERE tenant_id = ?1 AND created_at >= ?2",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, since, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *tokens = sqlite3_column_int64(q->stmt, 0);
        *usd = sqlite3_column_double(q->stmt, 1);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, "sum llm spend", err);
    }
    stmt_put(q);
    return rc;
}

/* ---- skills ------------------------------------------------------------- */

/* Column lists; p is "" or a table alias with its dot. */
#define SKILL_COLS(p) \
    p "id, " p "tenant_id, " p "name, " p "description, " p "entry_function, " p "input_schema, " \
    p "current_version_id, " p "status, " p "created_at, " p "updated_at"
#define VERSION_COLS \
    "id, tenant_id, skill_id, semver, code, parent_version_id, origin, origin_id, created_at"

/* Existence checks that say which referenced row a conditional write lacked. */
#define SKILL_EXISTS "SELECT 1 FROM skills WHERE tenant_id = ?1 AND id = ?2"
#define VERSION_EXISTS "SELECT 1 FROM skill_versions WHERE tenant_id = ?1 AND id = ?2"
#define AGENT_EXISTS "SELECT 1 FROM agents WHERE tenant_id = ?1 AND id = ?2"
#define SESSION_EXISTS "SELECT 1 FROM agent_sessions WHERE tenant_id = ?1 AND id = ?2"

/* "" (an id field's "none") is NULL in the database. */
static const char *opt_id(const char *id)
{
    return id[0] ? id : NULL;
}

/* 1 if sql (?1 tenant, ?2 id) finds a row, 0 if not, or an error. */
static int row_exists(struct sqlite_store *s, const char *sql, const char *tenant_id,
                      const char *id, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, sql, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "find row", err);
    stmt_put(q);
    return rc;
}

/* Steps a conditional write; *changed says whether its condition held. */
static int step_cond(struct sqlite_store *s, struct stmt_slot *q, struct binder *b,
                     const char *what, int *changed, struct ad_err *err)
{
    int rc = b_done(s, b, err);

    *changed = 0;
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE) {
            rc = 0;
            *changed = sqlite3_changes(s->db) > 0;
        } else if (map_rc(rc) == AD_EEXIST) {
            rc = AD_EEXIST;    /* the caller words the message */
        } else {
            rc = sq_fail(s, rc, what, err);
        }
    }
    stmt_put(q);
    return rc;
}

static int skill_from_row(sqlite3_stmt *q, struct ad_skill *sk, struct ad_err *err)
{
    int rc;

    c_fixed(q, 0, sk->id, sizeof(sk->id));
    c_fixed(q, 1, sk->tenant_id, sizeof(sk->tenant_id));
    c_fixed(q, 6, sk->current_version_id, sizeof(sk->current_version_id));
    c_fixed(q, 8, sk->created_at, sizeof(sk->created_at));
    c_fixed(q, 9, sk->updated_at, sizeof(sk->updated_at));
    rc = c_dup(q, 2, &sk->name, err);
    if (!rc)
        rc = c_dup(q, 3, &sk->description, err);
    if (!rc)
        rc = c_dup(q, 4, &sk->entry_function, err);
    if (!rc)
        rc = c_json(q, 5, &sk->input_schema, err);
    if (!rc)
        rc = c_dup(q, 7, &sk->status, err);
    return rc;
}

static int sqlite_skill_insert(struct ad_store *st, const struct ad_skill *sk, const char *schema,
                               struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "INSERT INTO skills (" SKILL_COLS("") ")"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?8)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, sk->id);
    b_text(&b, 2, sk->tenant_id);
    b_text(&b, 3, sk->name);
    b_text(&b, 4, sk->description);
    b_text(&b, 5, sk->entry_function);
    b_text(&b, 6, schema);
    b_text(&b, 7, sk->status);
    b_text(&b, 8, sk->created_at);
    rc = b_done(s, &b, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (map_rc(rc) == AD_EEXIST)
            rc = ad_error(err, AD_EEXIST, "skill '%s' already exists", sk->name);
        else if (map_rc(rc) == AD_ENOTFOUND)
            rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", sk->tenant_id);
        else
            rc = sq_fail(s, rc, "insert skill", err);
    }
    stmt_put(q);
    return rc;
}

/* The skill's name for a message, or its id when it cannot be read. */
static void skill_label(struct sqlite_store *s, const char *tenant_id, const char *id,
                        char *out, size_t size)
{
    struct stmt_slot *q = NULL;
    struct ad_err ignored = AD_ERR_INIT;

    ad__copy_fixed(out, size, id);
    if (stmt_get(s, "SELECT name FROM skills WHERE tenant_id = ?1 AND id = ?2", &q, &ignored))
        return;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q->stmt) == SQLITE_ROW && sqlite3_column_text(q->stmt, 0))
        ad__copy_fixed(out, size, (const char *)sqlite3_column_text(q->stmt, 0));
    stmt_put(q);
}

/* Why a version insert or set_current matched nothing: the skill, else the version. */
static int skill_or_version_missing(struct sqlite_store *s, const char *tenant_id,
                                    const char *skill_id, const char *version_id,
                                    struct ad_err *err)
{
    char label[AD_NAME_MAX + 1];
    int rc = row_exists(s, SKILL_EXISTS, tenant_id, skill_id, err);

    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", skill_id);
    skill_label(s, tenant_id, skill_id, label, sizeof(label));
    return ad_error(err, AD_ENOTFOUND, "'%s' is not a version of skill '%s'", version_id, label);
}

/*
 * One statement inserts the version only if the skill, and the parent when
 * given, are the tenant's and the parent belongs to that skill: foreign
 * keys alone would accept another tenant's skill, or another skill's version.
 */
static int sqlite_skill_version_insert(struct ad_store *st, const struct ad_skill_version *v,
                                       struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    char label[AD_NAME_MAX + 1];
    struct binder b;
    int changed;
    int rc = stmt_get(s, "INSERT INTO skill_versions (" VERSION_COLS ")"
                         " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"
                         " WHERE EXISTS (SELECT 1 FROM skills WHERE tenant_id = ?2 AND id = ?3)"
                         " AND (?6 IS NULL OR EXISTS (SELECT 1 FROM skill_versions"
                         " WHERE tenant_id = ?2 AND id = ?6 AND skill_id = ?3))", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, v->id);
    b_text(&b, 2, v->tenant_id);
    b_text(&b, 3, v->skill_id);
    b_text(&b, 4, v->semver);
    b_text(&b, 5, v->code);
    b_text(&b, 6, opt_id(v->parent_version_id));
    b_text(&b, 7, ad_skill_origin_name(v->origin));
    b_text(&b, 8, v->origin_id);
    b_text(&b, 9, v->created_at);
    rc = step_cond(s, q, &b, "insert skill version", &changed, err);
    if (rc == AD_EEXIST) {
        skill_label(s, v->tenant_id, v->skill_id, label, sizeof(label));
        return ad_error(err, AD_EEXIST, "skill '%s' already has version %s", label, v->semver);
    }
    if (rc || changed)
        return rc;
    return skill_or_version_missing(s, v->tenant_id, v->skill_id, v->parent_version_id, err);
}

static int sqlite_skill_set_current(struct ad_store *st, const char *tenant_id,
                                    const char *skill_id, const char *version_id,
                                    const char *now, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "UPDATE skills SET current_version_id = ?3, updated_at = ?4"
                         " WHERE tenant_id = ?1 AND id = ?2 AND EXISTS (SELECT 1"
                         " FROM skill_versions WHERE tenant_id = ?1 AND id = ?3"
                         " AND skill_id = ?2)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, tenant_id);
    b_text(&b, 2, skill_id);
    b_text(&b, 3, version_id);
    b_text(&b, 4, now);
    rc = step_cond(s, q, &b, "set current version", &changed, err);
    if (rc || changed)
        return rc;
    return skill_or_version_missing(s, tenant_id, skill_id, version_id, err);
}

/* A NULL status keeps the stored one. */
static int sqlite_skill_update(struct ad_store *st, const struct ad_skill *sk, const char *schema,
                               struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "UPDATE skills SET description = ?3, entry_function = ?4,"
                         " input_schema = ?5, status = coalesce(?6, status), updated_at = ?7"
                         " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, sk->tenant_id);
    b_text(&b, 2, sk->id);
    b_text(&b, 3, sk->description);
    b_text(&b, 4, sk->entry_function);
    b_text(&b, 5, schema);
    b_text(&b, 6, sk->status);
    b_text(&b, 7, sk->updated_at);
    rc = b_done(s, &b, err);
    if (!rc)
        rc = step_changed(s, q, "skill", sk->id, err);
    stmt_put(q);
    return rc;
}

static int skill_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return skill_from_row(q, elem, err);
}

static int sqlite_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                            const char *name, struct ad_skill *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, id ? "SELECT " SKILL_COLS("") " FROM skills"
                              " WHERE tenant_id = ?1 AND id = ?2"
                            : "SELECT " SKILL_COLS("") " FROM skills"
                              " WHERE tenant_id = ?1 AND name = ?2",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id ? id : name, -1, SQLITE_STATIC);
    rc = step_one(s, q, skill_row, out, "get skill", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", id ? id : name);
    if (rc)
        ad_skill_release(out);
    return rc;
}

static int sqlite_skill_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                             int limit, struct ad_skill **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_skill *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " SKILL_COLS("") " FROM skills"
                         " WHERE tenant_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, after_name ? after_name : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = collect(s, q, sizeof(*v), skill_row, (void **)&v, &count, "list skills", err);
    stmt_put(q);
    if (rc) {
        ad_skill_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int version_from_row(sqlite3_stmt *q, struct ad_skill_version *v, struct ad_err *err)
{
    const char *origin = (const char *)sqlite3_column_text(q, 6);
    int rc;

    c_fixed(q, 0, v->id, sizeof(v->id));
    c_fixed(q, 1, v->tenant_id, sizeof(v->tenant_id));
    c_fixed(q, 2, v->skill_id, sizeof(v->skill_id));
    c_fixed(q, 3, v->semver, sizeof(v->semver));
    c_fixed(q, 5, v->parent_version_id, sizeof(v->parent_version_id));
    c_fixed(q, 8, v->created_at, sizeof(v->created_at));
    if (!origin || ad_skill_origin_parse(origin, &v->origin))
        return ad_error(err, AD_ECORRUPT, "skill version '%s' has an invalid origin", v->id);
    rc = c_dup(q, 4, &v->code, err);
    if (!rc)
        rc = c_dup(q, 7, &v->origin_id, err);
    return rc;
}

static int version_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return version_from_row(q, elem, err);
}

static int sqlite_skill_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                                    const char *skill_id, const char *semver,
                                    struct ad_skill_version *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, id ? "SELECT " VERSION_COLS " FROM skill_versions"
                              " WHERE tenant_id = ?1 AND id = ?2"
                            : "SELECT " VERSION_COLS " FROM skill_versions"
                              " WHERE tenant_id = ?1 AND skill_id = ?2 AND semver = ?3",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id ? id : skill_id, -1, SQLITE_STATIC);
    if (!id)
        sqlite3_bind_text(q->stmt, 3, semver, -1, SQLITE_STATIC);
    rc = step_one(s, q, version_row, out, "get skill version", err);
    if (rc == AD_ENOTFOUND && id)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", id);
    else if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' has no version %s", skill_id, semver);
    if (rc)
        ad_skill_version_release(out);
    return rc;
}

/* A skill always has a version, so an empty list asks whether the skill exists. */
static int sqlite_skill_version_list(struct ad_store *st, const char *tenant_id,
                                     const char *skill_id, struct ad_skill_version **out,
                                     size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_skill_version *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " VERSION_COLS " FROM skill_versions"
                         " WHERE tenant_id = ?1 AND skill_id = ?2 ORDER BY id", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, skill_id, -1, SQLITE_STATIC);
    rc = collect(s, q, sizeof(*v), version_row, (void **)&v, &count, "list skill versions",
                 err);
    stmt_put(q);
    if (!rc && count == 0) {
        rc = row_exists(s, SKILL_EXISTS, tenant_id, skill_id, err);
        rc = rc == 0 ? ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", skill_id)
                     : rc < 0 ? rc : 0;
    }
    if (rc) {
        ad_skill_version_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int hit_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_skill_hit *h = elem;

    /* bm25() is negative, better matches more so. */
    h->score = -sqlite3_column_double(q, 10);
    return skill_from_row(q, &h->skill, err);
}

/*
 * The FTS5 index drives the join (MATCH), each hit is one rowid lookup in
 * skills. A name match weighs 4x a description match; ties go by name so
 * the order is stable.
 */
static int sqlite_skill_search(struct ad_store *st, const char *tenant_id, const char *match,
                               int limit, struct ad_skill_hit **out, size_t *n,
                               struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_skill_hit *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " SKILL_COLS("k.") ", bm25(skills_fts, 4.0, 1.0) AS r"
                         " FROM skills_fts JOIN skills AS k ON k.rowid = skills_fts.rowid"
                         " WHERE skills_fts MATCH ?2 AND k.tenant_id = ?1"
                         " AND k.status = 'active' ORDER BY r, k.name LIMIT ?3", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, match, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = collect(s, q, sizeof(*v), hit_row, (void **)&v, &count, "search skills", err);
    stmt_put(q);
    if (rc) {
        ad_skill_hits_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- skill executions --------------------------------------------------- */

#define EXECUTION_COLS \
    "id, tenant_id, skill_version_id, agent_id, episode_id, input, output, success," \
    " execution_seconds, token_usage, error, created_at"

/* Why an execution insert matched nothing: the version, the agent or the episode. */
static int execution_missing(struct sqlite_store *s, const struct ad_skill_execution *x,
                             struct ad_err *err)
{
    int rc = row_exists(s, VERSION_EXISTS, x->tenant_id, x->skill_version_id, err);

    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", x->skill_version_id);
    if (rc == 1 && x->agent_id[0])
        rc = row_exists(s, AGENT_EXISTS, x->tenant_id, x->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", x->agent_id);
    if (rc < 0)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", x->episode_id);
}

static int sqlite_skill_execution_insert(struct ad_store *st, const struct ad_skill_execution *x,
                                         const char *input, const char *output,
                                         struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "INSERT INTO skill_executions (" EXECUTION_COLS ")"
                         " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12"
                         " WHERE EXISTS (SELECT 1 FROM skill_versions"
                         " WHERE tenant_id = ?2 AND id = ?3)"
                         " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM agents"
                         " WHERE tenant_id = ?2 AND id = ?4))"
                         " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM episodes"
                         " WHERE tenant_id = ?2 AND id = ?5))", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, x->id);
    b_text(&b, 2, x->tenant_id);
    b_text(&b, 3, x->skill_version_id);
    b_text(&b, 4, opt_id(x->agent_id));
    b_text(&b, 5, opt_id(x->episode_id));
    b_text(&b, 6, input);
    b_text(&b, 7, output);
    b_int(&b, 8, x->success ? 1 : 0);
    b_real(&b, 9, x->execution_seconds);
    b_int(&b, 10, x->token_usage);
    b_text(&b, 11, x->error);
    b_text(&b, 12, x->created_at);
    rc = step_cond(s, q, &b, "insert skill execution", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "skill execution '%s' already exists", x->id);
    if (rc || changed)
        return rc;
    return execution_missing(s, x, err);
}

static int execution_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_skill_execution *x = elem;
    int rc;

    c_fixed(q, 0, x->id, sizeof(x->id));
    c_fixed(q, 1, x->tenant_id, sizeof(x->tenant_id));
    c_fixed(q, 2, x->skill_version_id, sizeof(x->skill_version_id));
    c_fixed(q, 3, x->agent_id, sizeof(x->agent_id));
    c_fixed(q, 4, x->episode_id, sizeof(x->episode_id));
    x->success = sqlite3_column_int(q, 7) != 0;
    x->execution_seconds = sqlite3_column_double(q, 8);
    x->token_usage = sqlite3_column_int64(q, 9);
    c_fixed(q, 11, x->created_at, sizeof(x->created_at));
    rc = c_json(q, 5, &x->input, err);
    if (!rc)
        rc = c_json(q, 6, &x->output, err);
    if (!rc)
        rc = c_dup(q, 10, &x->error, err);
    return rc;
}

/* ix_skill_executions_version with a version, ix_skill_executions_tenant without. */
static int sqlite_skill_execution_list(struct ad_store *st, const char *tenant_id,
                                       const char *skill_version_id, int limit,
                                       struct ad_skill_execution **out, size_t *n,
                                       struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_skill_execution *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, skill_version_id ? "SELECT " EXECUTION_COLS " FROM skill_executions"
                                            " WHERE tenant_id = ?1 AND skill_version_id = ?2"
                                            " ORDER BY id DESC LIMIT ?3"
                                          : "SELECT " EXECUTION_COLS " FROM skill_executions"
                                            " WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?3",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (skill_version_id)
        sqlite3_bind_text(q->stmt, 2, skill_version_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = collect(s, q, sizeof(*v), execution_row, (void **)&v, &count, "list skill executions",
                 err);
    stmt_put(q);
    if (rc) {
        ad_skill_execution_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- agent sessions ----------------------------------------------------- */

/* t is the transcript's column, or NULL where a list leaves it out. */
#define SESSION_COLS(t) \
    "id, tenant_id, agent_id, task, status, " t ", state, episode_id, created_at, updated_at"

static int sqlite_agent_session_insert(struct ad_store *st, const struct ad_agent_session *as,
                                       const char *transcript, const char *state,
                                       struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "INSERT INTO agent_sessions (" SESSION_COLS("transcript") ")"
                         " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9"
                         " WHERE EXISTS (SELECT 1 FROM agents WHERE tenant_id = ?2 AND id = ?3)"
                         " AND (?8 IS NULL OR EXISTS (SELECT 1 FROM episodes"
                         " WHERE tenant_id = ?2 AND id = ?8))", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, as->id);
    b_text(&b, 2, as->tenant_id);
    b_text(&b, 3, as->agent_id);
    b_text(&b, 4, as->task);
    b_text(&b, 5, ad_session_status_name(as->status));
    b_text(&b, 6, transcript);
    b_text(&b, 7, state);
    b_text(&b, 8, opt_id(as->episode_id));
    b_text(&b, 9, as->created_at);
    rc = step_cond(s, q, &b, "insert agent session", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "agent session '%s' already exists", as->id);
    if (rc || changed)
        return rc;
    rc = row_exists(s, AGENT_EXISTS, as->tenant_id, as->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", as->agent_id);
    return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", as->episode_id);
}

static int sqlite_agent_session_update(struct ad_store *st, const struct ad_agent_session *as,
                                       const char *transcript, const char *state,
                                       struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "UPDATE agent_sessions SET status = ?3, transcript = ?4, state = ?5,"
                         " episode_id = ?6, updated_at = ?7 WHERE tenant_id = ?1 AND id = ?2"
                         " AND (?6 IS NULL OR EXISTS (SELECT 1 FROM episodes"
                         " WHERE tenant_id = ?1 AND id = ?6))", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, as->tenant_id);
    b_text(&b, 2, as->id);
    b_text(&b, 3, ad_session_status_name(as->status));
    b_text(&b, 4, transcript);
    b_text(&b, 5, state);
    b_text(&b, 6, opt_id(as->episode_id));
    b_text(&b, 7, as->updated_at);
    rc = step_cond(s, q, &b, "update agent session", &changed, err);
    if (rc || changed)
        return rc;
    rc = row_exists(s, SESSION_EXISTS, as->tenant_id, as->id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent session '%s'", as->id);
    return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", as->episode_id);
}

static int session_from_row(sqlite3_stmt *q, struct ad_agent_session *as, struct ad_err *err)
{
    const char *status = (const char *)sqlite3_column_text(q, 4);
    int rc;

    c_fixed(q, 0, as->id, sizeof(as->id));
    c_fixed(q, 1, as->tenant_id, sizeof(as->tenant_id));
    c_fixed(q, 2, as->agent_id, sizeof(as->agent_id));
    c_fixed(q, 7, as->episode_id, sizeof(as->episode_id));
    c_fixed(q, 8, as->created_at, sizeof(as->created_at));
    c_fixed(q, 9, as->updated_at, sizeof(as->updated_at));
    if (!status || ad_session_status_parse(status, &as->status))
        return ad_error(err, AD_ECORRUPT, "agent session '%s' has an invalid status", as->id);
    rc = c_dup(q, 3, &as->task, err);
    if (!rc)
        rc = c_json(q, 5, &as->transcript, err);
    if (!rc)
        rc = c_json(q, 6, &as->state, err);
    return rc;
}

static int session_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return session_from_row(q, elem, err);
}

static int sqlite_agent_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                                    struct ad_agent_session *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " SESSION_COLS("transcript") " FROM agent_sessions"
                         " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = step_one(s, q, session_row, out, "get agent session", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent session '%s'", id);
    if (rc)
        ad_agent_session_release(out);
    return rc;
}

/* The transcript (up to 8 MiB a row) stays in the database: a list shows the rest. */
static int sqlite_agent_session_list(struct ad_store *st, const char *tenant_id,
                                     const char *agent_id, int limit,
                                     struct ad_agent_session **out, size_t *n,
                                     struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_agent_session *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, agent_id ? "SELECT " SESSION_COLS("NULL") " FROM agent_sessions"
                                    " WHERE tenant_id = ?1 AND agent_id = ?2"
                                    " ORDER BY id DESC LIMIT ?3"
                                  : "SELECT " SESSION_COLS("NULL") " FROM agent_sessions"
                                    " WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?3",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (agent_id)
        sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = collect(s, q, sizeof(*v), session_row, (void **)&v, &count, "list agent sessions", err);
    stmt_put(q);
    if (rc) {
        ad_agent_session_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- learning rows ------------------------------------------------------ */

#define CANDIDATE_COLS \
    "id, tenant_id, agent_id, source_episode_id, skill_name, skill_description," \
    " generated_code, failure_pattern, validation_status, validation_result, fitness_score," \
    " review_status, reviewed_by, reviewed_at, reason, risk_score, created_at, validated_at," \
    " promoted_at"
#define NOTIFICATION_COLS \
    "id, tenant_id, agent_id, type, title, message, payload, read_at, created_at"

#define NOTIFICATION_EXISTS "SELECT 1 FROM notifications WHERE tenant_id = ?1 AND id = ?2"

/* A time field's "none" ("") is NULL in the database, like opt_id's. */
static const char *opt_time(const char *t)
{
    return t[0] ? t : NULL;
}

/*
 * One statement over ix_episodes_agent_success, so the four numbers come
 * from one snapshot; the agents subquery tells "no episodes" from "no agent".
 */
static int sqlite_agent_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                               struct ad_agent_record *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT (SELECT count(*) FROM agents WHERE tenant_id = ?1 AND id = ?2),"
                         " count(*), coalesce(sum(intervention), 0), count(constitutional_score),"
                         " coalesce(avg(constitutional_score), 0)"
                         " FROM episodes WHERE tenant_id = ?1 AND agent_id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW && sqlite3_column_int(q->stmt, 0) == 0) {
        rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", agent_id);
    } else if (rc == SQLITE_ROW) {
        out->episodes = sqlite3_column_int64(q->stmt, 1);
        out->interventions = sqlite3_column_int64(q->stmt, 2);
        out->constitutional_n = sqlite3_column_int64(q->stmt, 3);
        out->constitutional_mean = sqlite3_column_double(q->stmt, 4);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, "read agent record", err);
    }
    stmt_put(q);
    return rc;
}

/* Why a candidate insert matched nothing: the agent or the source episode. */
static int candidate_missing(struct sqlite_store *s, const struct ad_skill_candidate *c,
                             struct ad_err *err)
{
    int rc = c->agent_id[0] ? row_exists(s, AGENT_EXISTS, c->tenant_id, c->agent_id, err) : 1;

    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", c->agent_id);
    if (rc < 0)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", c->source_episode_id);
}

/* The agent and the episode must be the tenant's: foreign keys alone accept any tenant's. */
static int sqlite_candidate_insert(struct ad_store *st, const struct ad_skill_candidate *c,
                                   const char *failure_pattern, const char *validation_result,
                                   struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "INSERT INTO skill_candidates (" CANDIDATE_COLS ")"
                         " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                         " ?15, ?16, ?17, ?18, ?19"
                         " WHERE (?3 IS NULL OR EXISTS (SELECT 1 FROM agents"
                         " WHERE tenant_id = ?2 AND id = ?3))"
                         " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM episodes"
                         " WHERE tenant_id = ?2 AND id = ?4))", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, c->id);
    b_text(&b, 2, c->tenant_id);
    b_text(&b, 3, opt_id(c->agent_id));
    b_text(&b, 4, opt_id(c->source_episode_id));
    b_text(&b, 5, c->skill_name);
    b_text(&b, 6, c->skill_description);
    b_text(&b, 7, c->generated_code);
    b_text(&b, 8, failure_pattern);
    b_text(&b, 9, ad_candidate_status_name(c->status));
    b_text(&b, 10, validation_result);
    b_real(&b, 11, c->fitness_score);
    b_text(&b, 12, ad_review_status_name(c->review_status));
    b_text(&b, 13, c->reviewed_by);
    b_text(&b, 14, opt_time(c->reviewed_at));
    b_text(&b, 15, c->reason);
    b_real(&b, 16, c->risk_score);
    b_text(&b, 17, c->created_at);
    b_text(&b, 18, opt_time(c->validated_at));
    b_text(&b, 19, opt_time(c->promoted_at));
    rc = step_cond(s, q, &b, "insert skill candidate", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "skill candidate '%s' already exists", c->id);
    if (rc == AD_ENOTFOUND)    /* the one foreign key the WHERE does not check */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", c->tenant_id);
    if (rc || changed)
        return rc;
    return candidate_missing(s, c, err);
}

static int sqlite_candidate_update(struct ad_store *st, const struct ad_skill_candidate *c,
                                   const char *validation_result, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int rc = stmt_get(s, "UPDATE skill_candidates SET skill_name = ?3, skill_description = ?4,"
                         " generated_code = ?5, validation_status = ?6, validation_result = ?7,"
                         " fitness_score = ?8, review_status = ?9, reviewed_by = ?10,"
                         " reviewed_at = ?11, reason = ?12, risk_score = ?13, validated_at = ?14,"
                         " promoted_at = ?15 WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, c->tenant_id);
    b_text(&b, 2, c->id);
    b_text(&b, 3, c->skill_name);
    b_text(&b, 4, c->skill_description);
    b_text(&b, 5, c->generated_code);
    b_text(&b, 6, ad_candidate_status_name(c->status));
    b_text(&b, 7, validation_result);
    b_real(&b, 8, c->fitness_score);
    b_text(&b, 9, ad_review_status_name(c->review_status));
    b_text(&b, 10, c->reviewed_by);
    b_text(&b, 11, opt_time(c->reviewed_at));
    b_text(&b, 12, c->reason);
    b_real(&b, 13, c->risk_score);
    b_text(&b, 14, opt_time(c->validated_at));
    b_text(&b, 15, opt_time(c->promoted_at));
    rc = b_done(s, &b, err);
    if (!rc)
        rc = step_changed(s, q, "skill candidate", c->id, err);
    stmt_put(q);
    return rc;
}

static int candidate_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_skill_candidate *c = elem;
    const char *status = (const char *)sqlite3_column_text(q, 8);
    const char *review = (const char *)sqlite3_column_text(q, 11);
    int rc;

    ad_skill_candidate_init(c);
    c_fixed(q, 0, c->id, sizeof(c->id));
    c_fixed(q, 1, c->tenant_id, sizeof(c->tenant_id));
    c_fixed(q, 2, c->agent_id, sizeof(c->agent_id));
    c_fixed(q, 3, c->source_episode_id, sizeof(c->source_episode_id));
    c->fitness_score = c_real_or_nan(q, 10);
    c_fixed(q, 13, c->reviewed_at, sizeof(c->reviewed_at));
    c->risk_score = c_real_or_nan(q, 15);
    c_fixed(q, 16, c->created_at, sizeof(c->created_at));
    c_fixed(q, 17, c->validated_at, sizeof(c->validated_at));
    c_fixed(q, 18, c->promoted_at, sizeof(c->promoted_at));
    if (!status || ad_candidate_status_parse(status, &c->status))
        return ad_error(err, AD_ECORRUPT, "skill candidate '%s' has an invalid status", c->id);
    if (review && ad_review_status_parse(review, &c->review_status))
        return ad_error(err, AD_ECORRUPT, "skill candidate '%s' has an invalid review status",
                        c->id);
    rc = c_dup(q, 4, &c->skill_name, err);
    if (!rc)
        rc = c_dup(q, 5, &c->skill_description, err);
    if (!rc)
        rc = c_dup(q, 6, &c->generated_code, err);
    if (!rc)
        rc = c_json(q, 7, &c->failure_pattern, err);
    if (!rc)
        rc = c_json(q, 9, &c->validation_result, err);
    if (!rc)
        rc = c_dup(q, 12, &c->reviewed_by, err);
    if (!rc)
        rc = c_dup(q, 14, &c->reason, err);
    return rc;
}

static int sqlite_candidate_get(struct ad_store *st, const char *tenant_id, const char *id,
                                struct ad_skill_candidate *out, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, "SELECT " CANDIDATE_COLS " FROM skill_candidates"
                         " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = step_one(s, q, candidate_row, out, "get skill candidate", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill candidate '%s'", id);
    if (rc)
        ad_skill_candidate_release(out);
    return rc;
}

/*
 * The list's text: the status mask becomes an IN list of the statuses'
 * names (constants, not input), so each of the few masks in use is one
 * cached statement and the (tenant_id, validation_status) index can serve it.
 */
static int candidate_list_sql(const struct ad_candidate_filter *f, struct ad_buf *b)
{
    const char *sep = " AND validation_status IN (";
    int rc = ad_buf_adds(b, "SELECT " CANDIDATE_COLS " FROM skill_candidates"
                            " WHERE tenant_id = ?1");
    unsigned i;

    if (!rc && f->agent_id)
        rc = ad_buf_adds(b, " AND agent_id = ?2");
    for (i = 0; !rc && ad_candidate_status_name((enum ad_candidate_status)i); i++) {
        if (!(f->status_mask & (1u << i)))
            continue;
        rc = ad_buf_addf(b, "%s'%s'", sep, ad_candidate_status_name((enum ad_candidate_status)i));
        sep = ", ";
    }
    if (!rc && f->status_mask)
        rc = ad_buf_addch(b, ')');
    if (!rc)
        rc = ad_buf_adds(b, " ORDER BY created_at DESC, id DESC LIMIT ?3");
    return rc;
}

static int sqlite_candidate_list(struct ad_store *st, const char *tenant_id,
                                 const struct ad_candidate_filter *f,
                                 struct ad_skill_candidate **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct ad_skill_candidate *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    struct ad_buf sql;
    int rc;

    ad_buf_init(&sql, 4096);
    rc = candidate_list_sql(f, &sql);
    if (rc) {
        ad_buf_release(&sql);
        return ad_error(err, rc, "building the candidate query");
    }
    rc = stmt_get(s, sql.ptr, &q, err);
    ad_buf_release(&sql);
    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (f->agent_id)
        sqlite3_bind_text(q->stmt, 2, f->agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, f->limit);
    rc = collect(s, q, sizeof(*v), candidate_row, (void **)&v, &count, "list skill candidates",
                 err);
    stmt_put(q);
    if (rc) {
        ad_skill_candidate_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* Runs sql, a count(*) with ?1 tenant and ?2 since, into *count. */
static int count_since(struct ad_store *st, const char *sql, const char *what,
                       const char *tenant_id, const char *since, int64_t *count,
                       struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, sql, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, since, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(q->stmt, 0);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, what, err);
    }
    stmt_put(q);
    return rc;
}

/* ix_skill_candidates_tenant_created */
static int sqlite_candidate_count_since(struct ad_store *st, const char *tenant_id,
                                        const char *since, int64_t *count, struct ad_err *err)
{
    return count_since(st, "SELECT count(*) FROM skill_candidates"
                           " WHERE tenant_id = ?1 AND created_at >= ?2",
                       "count skill candidates", tenant_id, since, count, err);
}

/* ix_tool_mutations_tenant_created */
static int sqlite_mutation_count_since(struct ad_store *st, const char *tenant_id,
                                       const char *since, int64_t *count, struct ad_err *err)
{
    return count_since(st, "SELECT count(*) FROM tool_mutations"
                           " WHERE tenant_id = ?1 AND created_at >= ?2",
                       "count mutations", tenant_id, since, count, err);
}

static int sqlite_capability_usage_insert(struct ad_store *st, const char *id,
                                          const char *tenant_id, const char *agent_id,
                                          const char *capability, bool success,
                                          const char *created_at, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "INSERT INTO capability_usage"
                         " (id, tenant_id, agent_id, capability, success, created_at)"
                         " SELECT ?1, ?2, ?3, ?4, ?5, ?6"
                         " WHERE EXISTS (SELECT 1 FROM agents WHERE tenant_id = ?2 AND id = ?3)",
                      &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, id);
    b_text(&b, 2, tenant_id);
    b_text(&b, 3, agent_id);
    b_text(&b, 4, capability);
    b_int(&b, 5, success ? 1 : 0);
    b_text(&b, 6, created_at);
    rc = step_cond(s, q, &b, "record capability use", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "capability use '%s' already exists", id);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", agent_id);
}

/* ix_capability_usage_agent: all of it with an agent, its tenant prefix without. */
static int sqlite_capability_usage_count(struct ad_store *st, const char *tenant_id,
                                         const char *agent_id, const char *capability,
                                         const char *since, struct ad_capability_count *out,
                                         struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, agent_id ? "SELECT count(*), coalesce(sum(success), 0)"
                                    " FROM capability_usage WHERE tenant_id = ?1"
                                    " AND agent_id = ?2 AND capability = ?3"
                                    " AND created_at >= ?4"
                                  : "SELECT count(*), coalesce(sum(success), 0)"
                                    " FROM capability_usage WHERE tenant_id = ?1"
                                    " AND capability = ?3 AND created_at >= ?4",
                      &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (agent_id)
        sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, capability, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, since, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        out->uses = sqlite3_column_int64(q->stmt, 0);
        out->successes = sqlite3_column_int64(q->stmt, 1);
        rc = 0;
    } else {
        rc = sq_fail(s, rc, "count capability uses", err);
    }
    stmt_put(q);
    return rc;
}

static int sqlite_notification_insert(struct ad_store *st, const struct ad_notification *nt,
                                      const char *payload, struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    struct binder b;
    int changed;
    int rc = stmt_get(s, "INSERT INTO notifications (" NOTIFICATION_COLS ")"
                         " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8"
                         " WHERE ?3 IS NULL OR EXISTS (SELECT 1 FROM agents"
                         " WHERE tenant_id = ?2 AND id = ?3)", &q, err);

    if (rc)
        return rc;
    b = (struct binder){ q->stmt, SQLITE_OK };
    b_text(&b, 1, nt->id);
    b_text(&b, 2, nt->tenant_id);
    b_text(&b, 3, opt_id(nt->agent_id));
    b_text(&b, 4, nt->type);
    b_text(&b, 5, nt->title);
    b_text(&b, 6, nt->message);
    b_text(&b, 7, payload);
    b_text(&b, 8, nt->created_at);
    rc = step_cond(s, q, &b, "insert notification", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "notification '%s' already exists", nt->id);
    if (rc == AD_ENOTFOUND)    /* the tenant: the WHERE checks the agent */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", nt->tenant_id);
    if (rc || changed)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", nt->agent_id);
}

static int notification_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_notification *nt = elem;
    int rc;

    c_fixed(q, 0, nt->id, sizeof(nt->id));
    c_fixed(q, 1, nt->tenant_id, sizeof(nt->tenant_id));
    c_fixed(q, 2, nt->agent_id, sizeof(nt->agent_id));
    c_fixed(q, 7, nt->read_at, sizeof(nt->read_at));
    c_fixed(q, 8, nt->created_at, sizeof(nt->created_at));
    rc = c_dup(q, 3, &nt->type, err);
    if (!rc)
        rc = c_dup(q, 4, &nt->title, err);
    if (!rc)
        rc = c_dup(q, 5, &nt->message, err);
    if (!rc)
        rc = c_json(q, 6, &nt->payload, err);
    return rc;
}

/* Newest first down ix_notifications_tenant; the filters are checked on the way. */
static int sqlite_notification_list(struct ad_store *st, const char *tenant_id, bool unread_only,
                                    const char *type, int limit, struct ad_notification **out,
                                    size_t *n, struct ad_err *err)
{
    static const char *const sql[2][2] = {
        { "SELECT " NOTIFICATION_COLS " FROM notifications WHERE tenant_id = ?1"
          " ORDER BY id DESC LIMIT ?3",
          "SELECT " NOTIFICATION_COLS " FROM notifications WHERE tenant_id = ?1"
          " AND type = ?2 ORDER BY id DESC LIMIT ?3" },
        { "SELECT " NOTIFICATION_COLS " FROM notifications WHERE tenant_id = ?1"
          " AND read_at IS NULL ORDER BY id DESC LIMIT ?3",
          "SELECT " NOTIFICATION_COLS " FROM notifications WHERE tenant_id = ?1"
          " AND read_at IS NULL AND type = ?2 ORDER BY id DESC LIMIT ?3" },
    };
    struct sqlite_store *s = as_sqlite(st);
    struct ad_notification *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, sql[unread_only ? 1 : 0][type ? 1 : 0], &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (type)
        sqlite3_bind_text(q->stmt, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = collect(s, q, sizeof(*v), notification_row, (void **)&v, &count, "list notifications",
                 err);
    stmt_put(q);
    if (rc) {
        ad_notification_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/*
 * Only unread rows are written, so a second mark keeps the first read_at
 * and counts 0; for one id, "no row changed" then asks whether it exists.
 */
static int sqlite_notification_mark_read(struct ad_store *st, const char *tenant_id,
                                         const char *id, const char *now, int64_t *count,
                                         struct ad_err *err)
{
    struct sqlite_store *s = as_sqlite(st);
    struct stmt_slot *q = NULL;
    int rc = stmt_get(s, id ? "UPDATE notifications SET read_at = ?3"
                              " WHERE tenant_id = ?1 AND id = ?2 AND read_at IS NULL"
                            : "UPDATE notifications SET read_at = ?3"
                              " WHERE tenant_id = ?1 AND read_at IS NULL", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (id)
        sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, now, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_DONE)
        *count = sqlite3_changes(s->db);
    else
        rc = sq_fail(s, rc, "mark notifications read", err);
    stmt_put(q);
    if (rc != SQLITE_DONE)
        return rc;
    if (*count > 0 || !id)
        return 0;
    rc = row_exists(s, NOTIFICATION_EXISTS, tenant_id, id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown notification '%s'", id);
    return rc < 0 ? rc : 0;
}

/* ---- the ops table ------------------------------------------------------ */

const struct ad_store_ops ad__store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .check = sqlite_check,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .tenant_find = sqlite_tenant_find,
    .tenant_insert = sqlite_tenant_insert,
    .settings_get = sqlite_settings_get,
    .settings_put = sqlite_settings_put,
    .agent_insert = sqlite_agent_insert,
    .agent_get = sqlite_agent_get,
    .agent_list = sqlite_agent_list,
    .agent_set_maturity = sqlite_agent_set_maturity,
    .episode_insert = sqlite_episode_insert,
    .episode_get = sqlite_episode_get,
    .episode_list = sqlite_episode_list,
    .episode_count = sqlite_episode_count,
    .event_append = sqlite_event_append,
    .event_list = sqlite_event_list,
    .event_last_seq = sqlite_event_last_seq,
    .job_insert = sqlite_job_insert,
    .job_get = sqlite_job_get,
    .job_claim = sqlite_job_claim,
    .job_finish = sqlite_job_finish,
    .job_list = sqlite_job_list,
    .llm_call_insert = sqlite_llm_call_insert,
    .llm_usage = sqlite_llm_usage,
    .llm_spent = sqlite_llm_spent,
    .skill_insert = sqlite_skill_insert,
    .skill_version_insert = sqlite_skill_version_insert,
    .skill_set_current = sqlite_skill_set_current,
    .skill_update = sqlite_skill_update,
    .skill_get = sqlite_skill_get,
    .skill_list = sqlite_skill_list,
    .skill_version_get = sqlite_skill_version_get,
    .skill_version_list = sqlite_skill_version_list,
    .skill_search = sqlite_skill_search,
    .skill_execution_insert = sqlite_skill_execution_insert,
    .skill_execution_list = sqlite_skill_execution_list,
    .agent_session_insert = sqlite_agent_session_insert,
    .agent_session_update = sqlite_agent_session_update,
    .agent_session_get = sqlite_agent_session_get,
    .agent_session_list = sqlite_agent_session_list,
    .agent_record = sqlite_agent_record,
    .candidate_insert = sqlite_candidate_insert,
    .candidate_update = sqlite_candidate_update,
    .candidate_get = sqlite_candidate_get,
    .candidate_list = sqlite_candidate_list,
    .candidate_count_since = sqlite_candidate_count_since,
    .mutation_count_since = sqlite_mutation_count_since,
    .capability_usage_insert = sqlite_capability_usage_insert,
    .capability_usage_count = sqlite_capability_usage_count,
    .notification_insert = sqlite_notification_insert,
    .notification_list = sqlite_notification_list,
    .notification_mark_read = sqlite_notification_mark_read,
};
