/*
 * The PostgreSQL backend's connection: open (connect, migrate under an
 * advisory lock), close, transactions and savepoints, the statement runner
 * with its per-connection prepared statements and tenant setting, the
 * reconnect after a server restart, and the readers of result columns.
 *
 * An error inside a transaction aborts the whole transaction on the
 * server (unlike SQLite, which undoes only the failed statement), so
 * tx_lost reports it and store.c refuses every further write until the
 * outermost level is rolled back. The entity files therefore write their
 * statements so that the refusals the public layer expects (an unknown
 * reference, a taken key) come back as "no row" rather than an error.
 *
 * Reconnecting: outside a transaction a statement that finds the
 * connection gone reconnects (doubling waits from 50 ms, up to the busy
 * timeout, at most about 5 s) and runs again; inside one the transaction
 * is lost (AD_EIO) and the next begin reconnects.
 */
#include "compat.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/log.h"

#include "pg/pg.h"
#include "pg/pg_int.h"
#include "pg/pg_ops.h"

/* ---- errors ------------------------------------------------------------- */

static int code_of(const PGresult *res, PGconn *conn)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(conn) != CONNECTION_OK)
        return AD_EIO;
    if (!state)
        return AD_EIO;
    if (!strcmp(state, "23505"))
        return AD_EEXIST;
    if (!strcmp(state, "23503"))
        return AD_ENOTFOUND;
    if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2))
        return AD_EINVAL;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return AD_EBUSY;
    if (!strcmp(state, "57014"))
        return AD_ETIMEOUT;
    if (!strcmp(state, "42501"))
        return AD_EPERM;
    if (!strcmp(state, "53100") || !strcmp(state, "53200"))
        return AD_ENOMEM;
    return AD_EIO;
}

static int fail(struct pg_store *s, const PGresult *res, const char *what, struct ad_err *err)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
    int code = code_of(res, s->conn);
    size_t len = msg ? strlen(msg) : 0;

    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    if (s->depth > 0 && !s->lost)
        s->lost = code;
    return ad_error(err, code, "%s: %.*s", what, (int)len, msg ? msg : "");
}

/* ---- connecting ----------------------------------------------------------- */

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static void forget_session(struct pg_store *s)
{
    s->nprepared = 0;
    s->tenant_session[0] = s->tenant_tx[0] = '\0';
}

static int connect_once(struct pg_store *s, struct ad_err *err)
{
    PGresult *r;
    int rc = ad__pq_load(err);

    if (rc < 0)
        return rc;
    if (s->conn)
        PQfinish(s->conn);
    forget_session(s);
    s->listening = 0;
    s->conn = PQconnectdb(s->conninfo);
    if (!s->conn)
        return ad_error(err, AD_ENOMEM, "out of memory connecting to PostgreSQL");
    if (PQstatus(s->conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(s->conn);
        size_t len = strlen(m);

        while (len && m[len - 1] == '\n')
            len--;
        return ad_error(err, AD_EIO, "cannot connect to PostgreSQL database '%s': %.*s",
                        PQdb(s->conn) ? PQdb(s->conn) : "?", (int)len, m);
    }
    /* UTC times in, and no chatter on stderr. */
    r = PQexec(s->conn, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = fail(s, r, "configure connection", err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return 0;
}

/* Reconnects with doubling waits; the last error says why it could not. */
static int reconnect(struct pg_store *s, struct ad_err *err)
{
    int wait = 50, waited = 0, limit = s->busy_timeout_ms < 5000 ? s->busy_timeout_ms : 5000;
    int rc;

    for (;;) {
        rc = connect_once(s, err);
        if (!rc) {
            AD_LOG(AD_LOG_INFO, "reconnected to PostgreSQL");
            return 0;
        }
        if (waited >= limit)
            return rc;
        sleep_ms(wait);
        waited += wait;
        wait *= 2;
    }
}

/* ---- statements ----------------------------------------------------------- */

static int prepared_name(struct pg_store *s, const char *sql, char name[24], struct ad_err *err)
{
    PGresult *r;
    size_t i;
    int rc;

    for (i = 0; i < s->nprepared; i++) {
        if (s->prepared[i] == sql) {
            snprintf(name, 24, "s%zu", i);
            return 0;
        }
    }
    if (s->nprepared == s->aprepared) {
        size_t a = s->aprepared ? s->aprepared * 2 : 32;
        const char **p = realloc(s->prepared, a * sizeof(*p));

        if (!p)
            return ad_error(err, AD_ENOMEM, "out of memory preparing a statement");
        s->prepared = p;
        s->aprepared = a;
    }
    snprintf(name, 24, "s%zu", s->nprepared);
    r = PQprepare(s->conn, name, sql, 0, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = fail(s, r, "prepare", err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    s->prepared[s->nprepared++] = sql;
    return 0;
}

static const char set_tenant_local[] = "SELECT set_config('autodev.tenant', $1, true)";
static const char set_tenant_session[] = "SELECT set_config('autodev.tenant', $1, false)";

static int exec_prepared(struct pg_store *s, const char *sql, int n, const char *const *params,
                         PGresult **res, const char *what, struct ad_err *err)
{
    char name[24];
    PGresult *r;
    int rc = prepared_name(s, sql, name, err);

    if (rc)
        return rc;
    r = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = fail(s, r, what, err);
        PQclear(r);
        return rc;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

static int set_tenant(struct pg_store *s, const char *tenant, struct ad_err *err)
{
    const char *now = s->depth > 0 && s->tenant_tx[0] ? s->tenant_tx : s->tenant_session;
    int rc;

    if (!tenant || !strcmp(now, tenant))
        return 0;
    rc = exec_prepared(s, s->depth > 0 ? set_tenant_local : set_tenant_session, 1, &tenant, NULL,
                       "set tenant", err);
    if (!rc)
        ad__copy_fixed(s->depth > 0 ? s->tenant_tx : s->tenant_session, AD_ID_SIZE, tenant);
    return rc;
}

int ad__pg_run(struct pg_store *s, const char *tenant, const char *sql, int n,
               const char *const *params, PGresult **res, const char *what,
               struct ad_err *err)
{
    int rc, tries = 0;

    if (res)
        *res = NULL;
    if (s->lost)
        return ad_error(err, s->lost, "%s: the transaction was aborted by an earlier error",
                        what);
    for (;;) {
        if (s->depth == 0 && PQstatus(s->conn) != CONNECTION_OK) {
            rc = reconnect(s, err);
            if (rc)
                return rc;
        }
        rc = set_tenant(s, tenant, err);
        if (!rc)
            rc = exec_prepared(s, sql, n, params, res, what, err);
        /* Outside a transaction a lost connection is retried once, reconnected. */
        if (rc == AD_EIO && s->depth == 0 && PQstatus(s->conn) != CONNECTION_OK && !tries++)
            continue;
        return rc;
    }
}

int ad__pg_run_one(struct pg_store *s, const char *tenant, const char *sql, int n,
                   const char *const *params, PGresult **res, const char *what,
                   const char *id, struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant, sql, n, params, &r, what, err);

    if (rc)
        return rc;
    if (PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) == 0
                                              : !strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return ad_error(err, AD_ENOTFOUND, "unknown %s '%s'", what, id ? id : "");
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

/*
 * A statement whose text is made at run time (db copy: one per table),
 * so never prepared (the cache is keyed by a static text's address); as
 * ad__pg_run otherwise, but inside a transaction only (no reconnect).
 */
int ad__pg_run_text(struct pg_store *s, const char *tenant, const char *sql, int n,
                    const char *const *params, PGresult **res, const char *what,
                    struct ad_err *err)
{
    PGresult *r;
    int rc;

    if (res)
        *res = NULL;
    if (s->lost)
        return ad_error(err, s->lost, "%s: the transaction was aborted by an earlier error",
                        what);
    rc = set_tenant(s, tenant, err);
    if (rc)
        return rc;
    r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = fail(s, r, what, err);
        PQclear(r);
        return rc;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

/* A statement with no parameters, unprepared (transactions, migrations). */
static int exec_plain(struct pg_store *s, const char *sql, const char *what, struct ad_err *err)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc = 0;

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = fail(s, r, what, err);
    PQclear(r);
    return rc;
}

/* ---- readers ---------------------------------------------------------------- */

const char *ad__pg_text(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

int ad__pg_dup(const PGresult *res, int r, int c, char **out, struct ad_err *err)
{
    const char *t = ad__pg_text(res, r, c);

    *out = NULL;
    if (!t)
        return 0;
    *out = strdup(t);
    return *out ? 0 : ad_error(err, AD_ENOMEM, "out of memory reading a row");
}

void ad__pg_fixed(const PGresult *res, int r, int c, char *dst, size_t size)
{
    ad__copy_fixed(dst, size, ad__pg_text(res, r, c));
}

int64_t ad__pg_i64(const PGresult *res, int r, int c)
{
    const char *t = ad__pg_text(res, r, c);

    return t ? strtoll(t, NULL, 10) : 0;
}

double ad__pg_double(const PGresult *res, int r, int c)
{
    const char *t = ad__pg_text(res, r, c);

    return t ? strtod(t, NULL) : NAN;
}

int ad__pg_json(const PGresult *res, int r, int c, json_t **out, struct ad_err *err)
{
    const char *t = ad__pg_text(res, r, c);
    json_error_t jerr;

    *out = NULL;
    if (!t)
        return 0;
    *out = json_loads(t, JSON_DECODE_ANY, &jerr);
    if (*out)
        return 0;
    if (ad_json_load_code(&jerr) == AD_ENOMEM)
        return ad_error(err, AD_ENOMEM, "out of memory reading column %s",
                        PQfname(res, c));
    return ad_error(err, AD_ECORRUPT, "column %s does not parse: %s", PQfname(res, c),
                    jerr.text);
}

int ad__pg_enum(const PGresult *res, int r, int c, const struct ad__enum *e, int *out,
                struct ad_err *err)
{
    const char *t = ad__pg_text(res, r, c);
    int v = ad__enum_parse(e, t);

    if (v < 0)
        return ad_error(err, AD_ECORRUPT, "unknown %s '%s' in the row", e->label, t ? t : "");
    *out = v;
    return 0;
}

const char *ad__pg_i64_text(int64_t v, char *buf)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

const char *ad__pg_double_text(double v, char *buf)
{
    if (isnan(v))
        return NULL;
    snprintf(buf, 32, "%.17g", v);
    return buf;
}

/* ---- open, migrations, close -------------------------------------------------- */

static int latest_version(void)
{
    return ad__pg_migrations[ad__pg_nmigrations - 1].version;
}

/* The schema version (0 for an empty database: no schema_migrations on the search path). */
static int read_version(struct pg_store *s, int *version, struct ad_err *err)
{
    PGresult *r = PQexec(s->conn, "SELECT to_regclass('schema_migrations') IS NULL");
    int rc = 0;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = fail(s, r, "read the schema version", err);
    } else if (!strcmp(PQgetvalue(r, 0, 0), "t")) {
        *version = 0;
    } else {
        PQclear(r);
        r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = fail(s, r, "read the schema version", err);
        else
            *version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    return rc;
}

static int apply_migration(struct pg_store *s, const struct ad__pg_migration *m,
                           struct ad_err *err)
{
    char sql[160];
    int rc = exec_plain(s, m->sql, "schema", err);

    if (rc) {
        ad_error_prefix(err, "migration %d", m->version);
        return rc;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, now())",
             m->version);
    return exec_plain(s, sql, "schema", err);
}

/*
 * The missing migrations in one transaction under an advisory lock, the
 * version read again under it: of two processes starting together, the
 * second waits and then finds nothing left to do. The lock is the
 * session's, taken before BEGIN and released after COMMIT (or when the
 * connection ends): a transaction begun after the wait reads the catalog
 * afresh, whereas one begun before it could still hold its own earlier
 * lookup of a schema_migrations that did not exist then.
 */
static int migrate(struct pg_store *s, struct ad_err *err)
{
    int version = 0, rc;
    size_t i;

    rc = read_version(s, &version, err);
    if (rc || version == latest_version())
        return rc;
    rc = exec_plain(s, "SELECT pg_advisory_lock(7365616)", "migration lock", err);
    if (rc)
        return rc;
    rc = exec_plain(s, "BEGIN", "migrate", err);
    if (!rc)
        rc = read_version(s, &version, err);
    for (i = 0; !rc && i < ad__pg_nmigrations; i++) {
        if (ad__pg_migrations[i].version > version)
            rc = apply_migration(s, &ad__pg_migrations[i], err);
    }
    if (!rc)
        rc = exec_plain(s, "COMMIT", "migrate", err);
    if (rc) {
        PGresult *r = PQexec(s->conn, "ROLLBACK");

        PQclear(r);
    }
    {
        PGresult *r = PQexec(s->conn, "SELECT pg_advisory_unlock(7365616)");

        PQclear(r);
    }
    s->lost = 0;
    return rc;
}

static void pg_close(struct ad_store *st)
{
    struct pg_store *s = ad__pg(st);

    if (s->conn)
        PQfinish(s->conn);
    free(s->prepared);
    free(s->conninfo);
    free(s);
}

static int pg_open(const char *target, const struct ad_store_options *opts,
                   struct ad_store **out, struct ad_err *err)
{
    struct pg_store *s = calloc(1, sizeof(*s));
    int version = 0, rc;

    if (!s)
        return ad_error(err, AD_ENOMEM, "out of memory opening a store");
    /* target is the URI after "postgres:" or "postgresql:"; libpq takes either scheme. */
    if (asprintf(&s->conninfo, "postgresql:%s", target) < 0) {
        s->conninfo = NULL;
        free(s);
        return ad_error(err, AD_ENOMEM, "out of memory opening a store");
    }
    s->base.ops = &ad__store_pg_ops;
    s->busy_timeout_ms = opts->busy_timeout_ms;
    rc = connect_once(s, err);
    if (!rc && (opts->flags & AD_STORE_READONLY)) {
        rc = read_version(s, &version, err);
        if (!rc && version < latest_version())
            rc = ad_error(err, AD_ENOTSUP,
                          "database has schema version %d and needs an upgrade to %d", version,
                          latest_version());
    } else if (!rc) {
        rc = migrate(s, err);
    }
    if (!rc && (read_version(s, &version, err) || version > latest_version()))
        rc = ad_error(err, AD_ENOTSUP,
                      "database has schema version %d; this autodev knows up to %d", version,
                      latest_version());
    if (rc) {
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int pg_schema_version(struct ad_store *st, int *current, int *latest, struct ad_err *err)
{
    *latest = latest_version();
    return read_version(ad__pg(st), current, err);
}

static int pg_check(struct ad_store *st, struct ad_err *err)
{
    int current = 0, rc = read_version(ad__pg(st), &current, err);

    if (!rc && current != latest_version())
        rc = ad_error(err, AD_ECORRUPT, "schema version %d, expected %d", current,
                      latest_version());
    return rc;
}

/* ---- transactions ------------------------------------------------------------ */

static int pg_begin(struct ad_store *st, int depth, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char sql[32];
    int rc;

    if (depth == 1) {
        /* A transaction still held because a rollback could not run ends first. */
        if (PQstatus(s->conn) == CONNECTION_OK &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
            PGresult *r = PQexec(s->conn, "ROLLBACK");

            PQclear(r);
        }
        s->depth = 0;
        s->lost = 0;
        s->tenant_tx[0] = '\0';
        if (PQstatus(s->conn) != CONNECTION_OK) {
            rc = reconnect(s, err);
            if (rc)
                return rc;
        }
        rc = exec_plain(s, "BEGIN ISOLATION LEVEL READ COMMITTED", "begin", err);
        if (rc == AD_EIO && PQstatus(s->conn) != CONNECTION_OK) {
            rc = reconnect(s, err);
            if (!rc)
                rc = exec_plain(s, "BEGIN ISOLATION LEVEL READ COMMITTED", "begin", err);
        }
        if (!rc)
            s->depth = 1;
        return rc;
    }
    if (s->depth != depth - 1 || PQtransactionStatus(s->conn) != PQTRANS_INTRANS)
        return ad_error(err, AD_EINTERNAL, "savepoint %d outside a transaction", depth);
    snprintf(sql, sizeof(sql), "SAVEPOINT l%d", depth);
    rc = exec_plain(s, sql, "savepoint", err);
    if (!rc)
        s->depth = depth;
    return rc;
}

static int pg_commit(struct ad_store *st, int depth, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char sql[32];
    int rc;

    if (s->lost)
        return ad_error(err, s->lost, "commit: the transaction was aborted by an earlier error");
    if (depth == 1) {
        rc = exec_plain(s, "COMMIT", "commit", err);
        s->depth = 0;
        s->tenant_tx[0] = '\0';
        return rc;
    }
    snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT l%d", depth);
    rc = exec_plain(s, sql, "release savepoint", err);
    if (!rc)
        s->depth = depth - 1;
    return rc;
}

static int pg_rollback(struct ad_store *st, int depth, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char sql[64];
    PGresult *r;
    int rc = 0;

    if (depth == 1 || PQstatus(s->conn) != CONNECTION_OK) {
        if (PQstatus(s->conn) == CONNECTION_OK) {
            r = PQexec(s->conn, "ROLLBACK");
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                rc = ad_error(err, AD_EIO, "rollback: %s", PQresultErrorMessage(r));
            PQclear(r);
        }
        s->depth = depth - 1 < 0 ? 0 : depth - 1;
        if (depth == 1) {
            s->lost = 0;
            s->depth = 0;
        }
        s->tenant_tx[0] = '\0';
        return rc;
    }
    /* A savepoint rolled back also undoes the SET LOCAL made inside it. */
    snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT l%d; RELEASE SAVEPOINT l%d", depth, depth);
    r = PQexec(s->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = ad_error(err, AD_EIO, "rollback to savepoint: %s", PQresultErrorMessage(r));
    else
        s->lost = 0;
    PQclear(r);
    s->depth = depth - 1;
    s->tenant_tx[0] = '\0';
    return rc;
}

static int pg_tx_lost(struct ad_store *st)
{
    struct pg_store *s = ad__pg(st);

    if (PQstatus(s->conn) != CONNECTION_OK)
        return AD_EIO;
    return s->lost;
}

static int pg_data_version(struct ad_store *st, int64_t *out, struct ad_err *err)
{
    return ad_error(err, AD_ENOTSUP, "PostgreSQL does not say when others commit");
}

const struct ad_store_ops ad__store_pg_ops = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .check = pg_check,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .tx_lost = pg_tx_lost,
    .data_version = pg_data_version,
    .table_count = ad__pg_table_count,
    AD_PG_ENTITY_TABLES
    .copy = &ad__pg_copy_ops,
};
