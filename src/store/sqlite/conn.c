/*
 * The SQLite connection: errors, the statement cache, opening a database
 * (identify the file, pragmas, migrations), the integrity check,
 * transaction levels, and the backend's ops table.
 *
 * One connection per struct ad_store (SQLITE_OPEN_NOMUTEX: a store is used
 * by one thread at a time), WAL journal, synchronous=NORMAL, foreign keys
 * on.
 *
 * Sections: errors, statement cache, open, check, transactions, the ops
 * table.
 */
#include "compat.h"

#include <unistd.h>

#include <sys/stat.h>
#include <time.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/log.h"

#include "sqlite/schema.h"
#include "sqlite/sqlite.h"
#include "sqlite/sqlite_int.h"

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

/* ---- errors ------------------------------------------------------------- */

int ad__sq_code(int rc)
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

int ad__sq_fail(struct sqlite_store *s, int rc, const char *what, struct ad_err *err)
{
    int code = ad__sq_code(rc);

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
 * A cheap key for plain statements: length plus FNV-1a over at most the
 * first and last 32 bytes. Statements that share both ends collide and are
 * told apart by strcmp, so the key need not be unique, only quick: it is
 * computed for every use of a plain statement. Described statements are
 * found by the address of their description instead, which is quicker yet.
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

static void slot_free(struct stmt_slot *slot)
{
    if (!slot)
        return;
    sqlite3_finalize(slot->stmt);
    free(slot->sql);
    free(slot->param);
    free(slot);
}

/* Prepares sql (taking it over) as a new slot of the cache. */
static int slot_add(struct sqlite_store *s, const struct sq_stmt *def, char *sql,
                    struct stmt_slot **out, struct ad_err *err)
{
    struct stmt_slot *slot = calloc(1, sizeof(*slot));
    int rc;

    if (!slot || !sql) {
        free(slot);
        free(sql);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    slot->owner = s;
    slot->def = def;
    slot->sql = sql;
    slot->hash = def ? 0 : sql_hash(sql);
    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL);
    if (rc != SQLITE_OK) {
        rc = ad__sq_fail(s, rc, "prepare", err);
        slot_free(slot);
        return rc;
    }
    rc = def ? ad__sq_map_params(slot, err) : 0;
    if (!rc && s->nslots == s->aslots) {
        size_t na = s->aslots ? s->aslots * 2 : 32;
        struct stmt_slot **ns = realloc(s->slots, na * sizeof(*ns));

        rc = ns ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
        if (ns) {
            s->slots = ns;
            s->aslots = na;
        }
    }
    if (rc) {
        slot_free(slot);
        return rc;
    }
    s->slots[s->nslots++] = slot;
    *out = slot;
    return 0;
}

static int slot_take(struct stmt_slot *slot, struct stmt_slot **out, struct ad_err *err)
{
    if (slot->in_use)
        return ad_error(err, AD_EINTERNAL, "statement already in use");
    slot->in_use = 1;
    *out = slot;
    return 0;
}

int ad__sq_get(struct sqlite_store *s, const char *sql, struct stmt_slot **out,
               struct ad_err *err)
{
    uint64_t h = sql_hash(sql);
    struct stmt_slot *slot = NULL;
    size_t i;
    int rc;

    for (i = 0; i < s->nslots; i++) {
        if (!s->slots[i]->def && s->slots[i]->hash == h && !strcmp(s->slots[i]->sql, sql)) {
            slot = s->slots[i];
            break;
        }
    }
    if (!slot) {
        rc = slot_add(s, NULL, strdup(sql), &slot, err);
        if (rc)
            return rc;
    }
    return slot_take(slot, out, err);
}

int ad__sq_prepare(struct sqlite_store *s, const struct sq_stmt *def, struct stmt_slot **out,
                   struct ad_err *err)
{
    struct stmt_slot *slot = NULL;
    size_t i;
    int rc;

    for (i = 0; i < s->nslots; i++) {
        if (s->slots[i]->def == def) {
            slot = s->slots[i];
            break;
        }
    }
    if (!slot) {
        rc = slot_add(s, def, ad__sq_expand(def), &slot, err);
        if (rc)
            return rc;
    }
    return slot_take(slot, out, err);
}

/*
 * SQLite ends the whole transaction, not just the statement, when a
 * statement without a statement journal (a one-row INSERT, a SELECT) fails
 * with SQLITE_NOMEM, and on SQLITE_FULL, SQLITE_IOERR and some
 * SQLITE_BUSY: sqlite3_get_autocommit() turns true while the store counts
 * levels. rc is the failed statement's code.
 */
static void note_lost(struct sqlite_store *s, int rc)
{
    if (!s->lost && s->base.tx_depth > 0 && sqlite3_get_autocommit(s->db))
        s->lost = ad__sq_code(rc);
}

void ad__sq_put(struct stmt_slot *slot)
{
    int rc;

    if (!slot)
        return;
    /* The code of the statement's last failure, also of one met reading a column. */
    rc = sqlite3_reset(slot->stmt);
    if (rc != SQLITE_OK)
        note_lost(slot->owner, rc);
    sqlite3_clear_bindings(slot->stmt);
    slot->in_use = 0;
}

int ad__sq_exec(struct sqlite_store *s, const char *sql, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, sql, &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    ad__sq_put(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return ad__sq_fail(s, rc, sql, err);
    return 0;
}

/* The plan of sql, one line per plan row (columns: id, parent, notused, detail). */
int ad__sq_explain(struct ad_store *st, const char *sql, char **plan, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_buf text = AD_BUF_INIT, out = AD_BUF_INIT;
    sqlite3_stmt *q = NULL;
    int rc;

    *plan = NULL;
    if (st->ops != &ad__store_sqlite_ops)
        return ad_error(err, AD_ENOTSUP, "not a sqlite store");
    if (ad_buf_addf(&text, "EXPLAIN QUERY PLAN %s", sql))
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = sqlite3_prepare_v2(s->db, text.ptr, -1, &q, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (ad_buf_addf(&out, "%s\n", (const char *)sqlite3_column_text(q, 3)))
            rc = SQLITE_NOMEM;
        else
            rc = SQLITE_OK;
    }
    rc = rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, "explain", err);
    sqlite3_finalize(q);
    ad_buf_release(&text);
    if (!rc)
        *plan = ad_buf_detach(&out, NULL);
    ad_buf_release(&out);
    if (!rc && !*plan)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    return rc;
}

struct sqlite3 *ad__sqlite_db(struct ad_store *st)
{
    return st->ops == &ad__store_sqlite_ops ? ad__sq(st)->db : NULL;
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
        rc = ad__sq_fail(s, rc, sql, err);
    sqlite3_finalize(q);
    return rc;
}

static int exec_once(struct sqlite_store *s, const char *sql, struct ad_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return ad__sq_fail(s, rc, "schema", err);
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
    if (!rc && m->after) {
        rc = m->after(s->db);
        rc = rc == SQLITE_OK ? 0 : ad__sq_fail(s, rc, "schema", err);
    }
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

    rc = ad__sqlite_schema_functions(s->db);
    if (rc != SQLITE_OK)
        return ad__sq_fail(s, rc, "schema functions", err);
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

/*
 * Waiting for the write lock. SQLite's own busy timeout sleeps on a fixed
 * schedule (1, 2, 5, ... 100 ms), so writers that queue together wake
 * together, and the one that keeps losing the race gives up after the
 * timeout while the others commit: ten concurrent batch writers lost one
 * to three of their number that way with the old 5 s. This handler sleeps
 * a jittered, doubling delay (1 ms up to 25 ms, each a random 50..100 % of
 * it), so waiters spread out and poll often, until the whole wait for
 * this lock reaches the busy timeout (default AD_STORE_BUSY_DEFAULT_MS).
 *
 * The start of the current wait and the jitter's state are per thread: a
 * handle is used by one thread at a time and waits for one lock at a time,
 * and SQLite calls the handler with count 0 at the start of each wait.
 */
#define BUSY_SLEEP_MAX_MS 25

static __thread int64_t busy_start_ns;
static __thread uint64_t busy_rng;

static int busy_wait(void *arg, int count)
{
    int64_t timeout_ms = (int64_t)(intptr_t)arg, now = ad_mono_ns(), left_ms, ms;
    struct timespec ts;

    if (count == 0)
        busy_start_ns = now;
    left_ms = timeout_ms - (now - busy_start_ns) / 1000000;
    if (left_ms <= 0)
        return 0;
    if (!busy_rng)
        busy_rng = (uint64_t)now ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&busy_rng;
    busy_rng ^= busy_rng << 13;
    busy_rng ^= busy_rng >> 7;
    busy_rng ^= busy_rng << 17;
    ms = count < 5 ? (int64_t)1 << count : BUSY_SLEEP_MAX_MS;
    ms = ms > BUSY_SLEEP_MAX_MS ? BUSY_SLEEP_MAX_MS : ms;
    /* ms * [0.5, 1.0), in microseconds, and never past the deadline. */
    ms = ms * 500 + (int64_t)(busy_rng % (uint64_t)(ms * 500 + 1));
    if (ms > left_ms * 1000)
        ms = left_ms * 1000;
    ts.tv_sec = ms / 1000000;
    ts.tv_nsec = (long)(ms % 1000000) * 1000;
    nanosleep(&ts, NULL);
    return 1;
}

static int open_flags(struct sqlite_store *s, int flags, const char *uri, struct ad_err *err)
{
    int rc = sqlite3_open_v2(uri, &s->db, flags, NULL);

    if (rc != SQLITE_OK) {
        if (!s->db)
            return ad_error(err, AD_ENOMEM, "out of memory");
        return ad_error(err, ad__sq_code(rc), "cannot open '%s': %s", s->path,
                        sqlite3_errmsg(s->db));
    }
    sqlite3_extended_result_codes(s->db, 1);
    return 0;
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
    rc = open_flags(s, flags, s->path, err);
    if (rc == 0)
        sqlite3_busy_handler(s->db, busy_wait, (void *)(intptr_t)o->busy_timeout_ms);
    return rc;
}

/* ---- read-only homes ----------------------------------------------------- */

/*
 * A WAL database is read through its -shm file, which SQLite creates when
 * it is missing; in a directory we may not write, it cannot, and even a
 * read fails ("attempt to write a readonly database"). The database file
 * alone is then complete when there is no -wal file, or an empty one (the
 * last writer to close checkpoints it and removes both): it is opened
 * "immutable", without locks or the -shm. Nothing may write it meanwhile,
 * which is what a read-only directory (a snapshot, a backup, another
 * user's home) says. A non-empty -wal we cannot use would leave out
 * committed transactions: that is refused instead.
 */
static int readonly_fallback(struct sqlite_store *s, struct ad_err *err)
{
    struct ad_buf uri = AD_BUF_INIT, side = AD_BUF_INIT;
    struct stat sb;
    int rc;

    if (ad_buf_addf(&side, "%s-wal", s->path) < 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = stat(side.ptr, &sb);
    ad_buf_release(&side);
    if (rc == 0 && sb.st_size > 0)
        return ad_error(err, AD_EPERM,
                        "cannot read '%s' read-only: its write-ahead log holds transactions "
                        "and its directory is not writable to open it", s->path);
    /* A URI: "file:" + the path with '%', '?' and '#' escaped; absolute as file:///... */
    rc = ad_buf_adds(&uri, s->path[0] == '/' ? "file://" : "file:");
    for (const char *p = s->path; rc == 0 && *p; p++)
        rc = strchr("%?#", *p) ? ad_buf_addf(&uri, "%%%02X", (unsigned char)*p)
                               : ad_buf_addch(&uri, *p);
    if (rc == 0)
        rc = ad_buf_adds(&uri, "?immutable=1");
    if (rc < 0) {
        ad_buf_release(&uri);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    sqlite3_close(s->db);
    s->db = NULL;
    rc = open_flags(s, SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, uri.ptr,
                    err);
    ad_buf_release(&uri);
    if (rc == 0)
        AD_LOG(AD_LOG_INFO, "'%s': read-only directory; reading the database as immutable",
               s->path);
    return rc;
}

/* Whether a read of a read-only handle failed for want of its -shm file. */
static int needs_fallback(struct sqlite_store *s)
{
    int rc = sqlite3_extended_errcode(s->db);
    char *dir, *slash;
    int writable;

    if ((rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN)
        return 0;
    dir = strdup(s->path);
    if (!dir)
        return 0;
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    writable = access(slash ? dir : ".", W_OK) == 0;
    free(dir);
    return !writable;
}

/*
 * The statements a rollback runs (see struct sqlite_store), once per
 * connection: after the migrations, whose schema change would expire them
 * (and re-preparing one allocates).
 */
static int prepare_tx(struct sqlite_store *s, struct ad_err *err)
{
    static const struct {
        const char *sql;
        size_t off;
    } stmts[] = {
        { "ROLLBACK", offsetof(struct sqlite_store, rollback) },
        { "ROLLBACK TO ad_sp", offsetof(struct sqlite_store, rollback_to) },
        { "RELEASE ad_sp", offsetof(struct sqlite_store, release) },
    };
    size_t i;
    int rc;

    for (i = 0; i < AD_ARRAY_SIZE(stmts); i++) {
        sqlite3_stmt **q = (sqlite3_stmt **)((char *)s + stmts[i].off);

        rc = sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL);
        if (rc != SQLITE_OK)
            return ad__sq_fail(s, rc, stmts[i].sql, err);
    }
    return 0;
}

static void sqlite_close(struct ad_store *st)
{
    struct sqlite_store *s = ad__sq(st);
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->nslots; i++)
        slot_free(s->slots[i]);
    free(s->slots);
    sqlite3_finalize(s->rollback);
    sqlite3_finalize(s->rollback_to);
    sqlite3_finalize(s->release);
    for (i = 0; i < AD_ARRAY_SIZE(s->pattern_lists); i++)
        free(s->pattern_lists[i]);
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
    if (rc && readonly && s->db && needs_fallback(s)) {
        ad_err_clear(err);
        rc = readonly_fallback(s, err);
        if (!rc)
            rc = identify(s, &version, err);
    }
    if (!rc)
        rc = configure(s, readonly, err);
    /* Read-only: never migrate, never adopt an empty file (it stays as it is). */
    if (!rc && readonly && version == 0)
        rc = ad_error(err, AD_ECORRUPT, "'%s' is empty, not an autodev database", s->path);
    else if (!rc && version < latest_version()) {
        if (readonly)
            rc = ad_error(err, AD_ENOTSUP,
                          "database '%s' has schema version %d and needs an upgrade to %d, "
                          "which only a command that writes does", s->path, version,
                          latest_version());
        else
            rc = migrate(s, err);
    }
    if (!rc)
        rc = prepare_tx(s, err);
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
    return pragma_int(ad__sq(st), "PRAGMA user_version", current, err);
}

/* ---- check -------------------------------------------------------------- */

/* First problem of a PRAGMA that answers "ok" or a list of problems. */
static int check_integrity(struct sqlite_store *s, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    const char *t;
    int rc = ad__sq_get(s, "PRAGMA integrity_check", &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        t = (const char *)sqlite3_column_text(q->stmt, 0);
        rc = t && !strcmp(t, "ok") ? 0
                                   : ad_error(err, AD_ECORRUPT, "integrity check of '%s': %s",
                                              s->path, t ? t : "no answer");
    } else {
        rc = ad__sq_fail(s, rc, "integrity check", err);
    }
    ad__sq_put(q);
    return rc;
}

static int check_foreign_keys(struct sqlite_store *s, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "PRAGMA foreign_key_check", &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW)
        rc = ad_error(err, AD_ECORRUPT, "table '%s' row %lld refers to a missing row of '%s'",
                      (const char *)sqlite3_column_text(q->stmt, 0),
                      (long long)sqlite3_column_int64(q->stmt, 1),
                      (const char *)sqlite3_column_text(q->stmt, 2));
    else
        rc = rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, "foreign key check", err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_check(struct ad_store *st, struct ad_err *err)
{
    int rc = check_integrity(ad__sq(st), err);

    if (!rc)
        rc = check_foreign_keys(ad__sq(st), err);
    return rc;
}

/* ---- transactions ------------------------------------------------------- */

/*
 * The outermost level takes the write lock at once (BEGIN IMMEDIATE), so a
 * transaction never fails half-way on a lock upgrade and concurrent writers
 * queue on the busy timeout. Inner levels share one savepoint name: SQLite
 * resolves a name to the innermost savepoint that has it.
 *
 * SQLite may end the whole transaction by itself when a statement fails
 * (note_lost): then a SAVEPOINT would start a new transaction that the
 * matching RELEASE commits, so begin refuses one outside a transaction,
 * and rollback has nothing left to undo.
 */

/* Steps one of the statements prepared at open (no allocation of ours). */
static int step_prepared(struct sqlite_store *s, sqlite3_stmt *q, const char *what,
                         struct ad_err *err)
{
    int rc = sqlite3_step(q);

    sqlite3_reset(q);
    if (rc == SQLITE_DONE)
        return 0;
    note_lost(s, rc);
    return ad__sq_fail(s, rc, what, err);
}

/*
 * At depth 0 SQLite should hold no transaction; one it holds was left by a
 * rollback that could not run (ad_store_rollback logged it and closed its
 * level). Ending it here keeps one failed rollback from wedging the store.
 */
static int end_leftover(struct sqlite_store *s, struct ad_err *err)
{
    s->lost = 0;
    if (sqlite3_get_autocommit(s->db))
        return 0;
    AD_LOG(AD_LOG_WARN, "'%s': a failed rollback left a transaction open; rolling it back",
           s->path);
    return step_prepared(s, s->rollback, "ROLLBACK", err);
}

static int sqlite_begin(struct ad_store *st, int depth, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int rc;

    if (depth > 1) {
        if (sqlite3_get_autocommit(s->db))
            return ad_error(err, s->lost ? s->lost : AD_EIO,
                            "no transaction to open a savepoint in");
        return ad__sq_exec(s, "SAVEPOINT ad_sp", err);
    }
    rc = end_leftover(s, err);
    if (!rc)
        rc = ad__sq_exec(s, st->flags & AD_STORE_READONLY ? "BEGIN" : "BEGIN IMMEDIATE", err);
    return rc;
}

static int sqlite_commit(struct ad_store *st, int depth, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);

    if (depth > 1)
        return step_prepared(s, s->release, "RELEASE ad_sp", err);
    return ad__sq_exec(s, "COMMIT", err);
}

static int sqlite_rollback(struct ad_store *st, int depth, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int rc;

    /* An I/O error or a full disk may already have ended the whole transaction. */
    if (sqlite3_get_autocommit(s->db))
        return 0;
    if (depth <= 1)
        return step_prepared(s, s->rollback, "ROLLBACK", err);
    rc = step_prepared(s, s->rollback_to, "ROLLBACK TO ad_sp", err);
    if (!rc)
        rc = step_prepared(s, s->release, "RELEASE ad_sp", err);
    return rc;
}

static int sqlite_tx_lost(struct ad_store *st)
{
    struct sqlite_store *s = ad__sq(st);

    if (!sqlite3_get_autocommit(s->db))
        return 0;
    return s->lost ? s->lost : AD_EIO;
}

static int sqlite_data_version(struct ad_store *st, int64_t *out, struct ad_err *err)
{
    return ad__sq_ints(ad__sq(st), "PRAGMA data_version", NULL, NULL, out, 1, "data version",
                       err);
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
    .tx_lost = sqlite_tx_lost,
    .data_version = sqlite_data_version,
    .table_count = ad__sq_table_count,
    .tenants = &ad__sqlite_tenant_ops,
    .agents = &ad__sqlite_agent_ops,
    .episodes = &ad__sqlite_episode_ops,
    .events = &ad__sqlite_event_ops,
    .jobs = &ad__sqlite_job_ops,
    .tokens = &ad__sqlite_token_ops,
    .llm_calls = &ad__sqlite_llm_call_ops,
    .skills = &ad__sqlite_skill_ops,
    .executions = &ad__sqlite_execution_ops,
    .sessions = &ad__sqlite_session_ops,
    .candidates = &ad__sqlite_candidate_ops,
    .research = &ad__sqlite_research_ops,
    .capabilities = &ad__sqlite_capability_ops,
    .notifications = &ad__sqlite_notification_ops,
    .patterns = &ad__sqlite_pattern_ops,
    .mutations = &ad__sqlite_mutation_ops,
    .variants = &ad__sqlite_variant_ops,
    .webhooks = &ad__sqlite_webhook_ops,
    .evolve = &ad__sqlite_evolve_ops,
    .fitness_terms = &ad__sqlite_fitness_term_ops,
    .copy = &ad__sqlite_copy_ops,
};
