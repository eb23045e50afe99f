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
 *
 * The data version (what the server's page cache and the settings cache
 * key on, see "the data version" below): every table has statement
 * triggers (schema.c, migration 13) that NOTIFY autodev_data when a
 * statement changed rows, delivered at commit and collapsed per
 * transaction; one listener connection per process and database, on a
 * thread of its own, counts them.
 */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

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

static void note_write(struct pg_store *s, const char *sql, const PGresult *r);

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
    note_write(s, sql, r);
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

/* ---- the data version --------------------------------------------------------- */

/*
 * A number that moves whenever a commit changes rows, for the caches keyed
 * on it (ad_store_changes). SQLite has one (PRAGMA data_version);
 * PostgreSQL gets one from NOTIFY: migration 13 puts statement triggers on
 * every table that run pg_notify('autodev_data', <the table's schema>)
 * when the statement changed a row. PostgreSQL delivers a notification only when its
 * transaction commits, to every session LISTENing on the database, and
 * collapses a transaction's identical ones into one.
 *
 * Each process has one listener per database (per conninfo): a connection
 * of its own that LISTENs, on a thread of its own that blocks in poll() on
 * it and counts what arrives from the tables of its schema (the payload
 * names the table's schema: stores in other schemas of the same database
 * do not disturb it). It is named "autodev listener SCHEMA" in
 * pg_stat_activity. The thread starts on the first data_version
 * asked of any handle, so a CLI command that never asks makes no extra
 * connection. stamp holds 2 x (changes seen) + 1 while not listening: odd
 * means "cannot tell" (AD_ENOTSUP: caches bypassed), until the LISTEN
 * is in place, and again from the moment the connection is found lost. A
 * (re)connect adds 1 to make it even again, so the number after a
 * reconnect differs from every number before it: notifications sent while
 * nobody listened are lost, and what was cached before cannot match.
 *
 * A notification from another process arrives a little after its commit
 * (the listener's backend sends it when it next runs, then this thread
 * reads it): a request racing such a commit by less than that may still
 * get the page from before it, as one that started just before the commit
 * would. Commits of this process's own handles do not wait for that: a
 * commit that changed rows adds 2 to the stamp itself (note_write counts
 * them), so a write answered by one HTTP thread is seen by the next
 * request on any other.
 *
 * AUTODEV_PG_DATA_VERSION=off turns it off (AD_ENOTSUP: nothing cached),
 * for a database reached through a pooler in transaction mode, where a
 * LISTEN does not stay on one server session.
 */
struct pg_listener {
    struct pg_listener *next;
    char *conninfo;
    int refs;                  /* handles attached (under listeners_lock) */
    atomic_int started;        /* the thread runs */
    int off;                   /* AUTODEV_PG_DATA_VERSION=off */
    pthread_t thread;
    int wake[2];               /* a byte on wake[1] stops the thread */
    PGconn *conn;              /* the thread's */
    char schema[64];           /* its current_schema(): only its tables' changes count */
    atomic_int_least64_t stamp;
};

static pthread_mutex_t listeners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pg_listener *listeners;
static pthread_once_t listeners_once = PTHREAD_ONCE_INIT;

static void listeners_prepare(void)
{
    pthread_mutex_lock(&listeners_lock);
}

static void listeners_parent(void)
{
    pthread_mutex_unlock(&listeners_lock);
}

/*
 * A child of fork() has the listeners but not their threads, and shares
 * their sockets with the parent: it forgets both (without closing the
 * connections, which are the parent's) and starts its own on demand.
 */
static void listeners_child(void)
{
    for (struct pg_listener *l = listeners; l; l = l->next) {
        if (atomic_load(&l->started)) {
            close(l->wake[0]);
            close(l->wake[1]);
        }
        l->wake[0] = l->wake[1] = -1;
        l->conn = NULL;
        atomic_store(&l->started, 0);
        if (!(atomic_load(&l->stamp) & 1))
            atomic_fetch_add(&l->stamp, 1);
    }
    pthread_mutex_unlock(&listeners_lock);
}

static void listeners_init(void)
{
    pthread_atfork(listeners_prepare, listeners_parent, listeners_child);
}

/* Makes the stamp odd ("cannot tell") if it is not: only the thread changes its parity. */
static void listener_down(struct pg_listener *l)
{
    if (!(atomic_load(&l->stamp) & 1))
        atomic_fetch_add(&l->stamp, 1);
    if (l->conn) {
        PQfinish(l->conn);
        l->conn = NULL;
    }
}

/*
 * Connects without blocking the stop: 0 connected, 1 asked to stop, -1
 * failed. (A database host that does not answer could otherwise hold the
 * thread, and the close of the last handle that joins it, for as long as
 * the system's connect timeout.)
 */
static int listener_connect_start(struct pg_listener *l)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;

    l->conn = PQconnectStart(l->conninfo);
    if (!l->conn || PQstatus(l->conn) == CONNECTION_BAD)
        return -1;
    for (;;) {
        struct pollfd p[2] = {
            { l->wake[0], POLLIN, 0 },
            { PQsocket(l->conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 },
        };

        if (st == PGRES_POLLING_OK)
            return 0;
        if (st == PGRES_POLLING_FAILED || p[1].fd < 0)
            return -1;
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return -1;
        if (p[0].revents)
            return 1;
        if (p[1].revents)
            st = PQconnectPoll(l->conn);
    }
}

static int listener_connect(struct pg_listener *l)
{
    char name[96];
    const char *param = name;
    PGresult *r;
    int ok = listener_connect_start(l);

    if (ok != 0) {
        listener_down(l);
        return ok;
    }
    /* The schema whose tables' notifications count (others share the database). */
    r = PQexec(l->conn, "SELECT current_schema()");
    ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        ad__copy_fixed(l->schema, sizeof(l->schema), PQgetvalue(r, 0, 0));
    PQclear(r);
    /* Named for pg_stat_activity: an operator (or a test) can tell which it is. */
    snprintf(name, sizeof(name), "autodev listener %.46s", l->schema);
    r = ok ? PQexecParams(l->conn, "SELECT set_config('application_name', $1, false)", 1, NULL,
                          &param, NULL, NULL, 0)
           : NULL;
    ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (ok) {
        r = PQexec(l->conn, "LISTEN autodev_data");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        AD_LOG(AD_LOG_WARN, "cannot LISTEN autodev_data: %s", PQerrorMessage(l->conn));
        listener_down(l);
        return -1;
    }
    /* Listening from here on: even again, and past every number before. */
    atomic_fetch_add(&l->stamp, 1);
    return 0;
}

static void *listener_loop(void *arg)
{
    struct pg_listener *l = arg;
    int wait = 50;

    for (;;) {
        struct pollfd p[2] = { { l->wake[0], POLLIN, 0 }, { -1, POLLIN, 0 } };
        int timeout = -1;

        if (!l->conn) {
            int rc = listener_connect(l);

            if (rc == 1)
                break;
            if (rc == 0) {
                wait = 50;
            } else {
                timeout = wait;
                wait = wait < 2500 ? wait * 2 : 5000;
            }
        }
        if (l->conn)
            p[1].fd = PQsocket(l->conn);
        if (poll(p, 2, timeout) < 0 && errno != EINTR) {
            listener_down(l);
            continue;
        }
        if (p[0].revents)
            break;
        if (p[1].fd >= 0 && p[1].revents) {
            PGnotify *n;
            int got = 0;

            if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
                AD_LOG(AD_LOG_INFO, "lost the PostgreSQL listener connection; reconnecting");
                listener_down(l);
                continue;
            }
            while ((n = PQnotifies(l->conn))) {
                if (!l->schema[0] || !strcmp(n->extra, l->schema))
                    got = 1;
                PQfreemem(n);
            }
            if (got)
                atomic_fetch_add(&l->stamp, 2);
        }
    }
    listener_down(l);
    return NULL;
}

/* The process's listener of conninfo, shared by every handle on it (not started yet). */
static int listener_attach(struct pg_store *s, struct ad_err *err)
{
    struct pg_listener *l;
    const char *off = getenv("AUTODEV_PG_DATA_VERSION");

    pthread_once(&listeners_once, listeners_init);
    pthread_mutex_lock(&listeners_lock);
    for (l = listeners; l && strcmp(l->conninfo, s->conninfo); l = l->next)
        ;
    if (!l) {
        l = calloc(1, sizeof(*l));
        if (!l || !(l->conninfo = strdup(s->conninfo))) {
            free(l);
            pthread_mutex_unlock(&listeners_lock);
            return ad_error(err, AD_ENOMEM, "out of memory opening a store");
        }
        l->off = off && !strcmp(off, "off");
        l->wake[0] = l->wake[1] = -1;
        atomic_init(&l->stamp, 1);
        atomic_init(&l->started, 0);
        l->next = listeners;
        listeners = l;
    }
    l->refs++;
    s->listener = l;
    pthread_mutex_unlock(&listeners_lock);
    return 0;
}

static void listener_detach(struct pg_store *s)
{
    struct pg_listener *l = s->listener, **p;
    char stop = 1;

    if (!l)
        return;
    s->listener = NULL;
    pthread_mutex_lock(&listeners_lock);
    if (--l->refs > 0) {
        pthread_mutex_unlock(&listeners_lock);
        return;
    }
    for (p = &listeners; *p != l; p = &(*p)->next)
        ;
    *p = l->next;
    pthread_mutex_unlock(&listeners_lock);
    if (atomic_load(&l->started)) {
        while (write(l->wake[1], &stop, 1) < 0 && errno == EINTR)
            ;
        pthread_join(l->thread, NULL);
        close(l->wake[0]);
        close(l->wake[1]);
    }
    free(l->conninfo);
    free(l);
}

static int listener_start(struct pg_listener *l, struct ad_err *err)
{
    sigset_t all, old;
    int rc = 0;

    pthread_mutex_lock(&listeners_lock);
    if (!atomic_load(&l->started)) {
        /* The thread takes no signal: they stay with the threads that wait for them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pipe2(l->wake, O_CLOEXEC) < 0) {
            rc = ad_error(err, AD_EIO, "cannot start the PostgreSQL listener: %s",
                          strerror(errno));
        } else if (pthread_create(&l->thread, NULL, listener_loop, l)) {
            close(l->wake[0]);
            close(l->wake[1]);
            rc = ad_error(err, AD_ENOMEM, "cannot start the PostgreSQL listener thread");
        } else {
            atomic_store(&l->started, 1);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_mutex_unlock(&listeners_lock);
    return rc;
}

static bool word_in(const char *sql, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = sql; (p = strcasestr(p, word)); p += n) {
        if ((p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
            !(isalnum((unsigned char)p[n]) || p[n] == '_'))
            return true;
    }
    return false;
}

/*
 * After a statement succeeded: whether it may have changed rows (counted
 * generously: a SELECT whose text holds a writing keyword, as a CTE may,
 * counts). Inside a transaction the commit adds it to the stamp; outside
 * one the statement was its own commit.
 */
static void note_write(struct pg_store *s, const char *sql, const PGresult *r)
{
    const char *tag = PQcmdStatus((PGresult *)r);
    bool wrote;

    if (!strncmp(tag, "INSERT", 6) || !strncmp(tag, "UPDATE", 6) ||
        !strncmp(tag, "DELETE", 6) || !strncmp(tag, "MERGE", 5))
        wrote = strcmp(PQcmdTuples((PGresult *)r), "0") != 0;
    else if (!strncmp(tag, "SELECT", 6))
        wrote = word_in(sql, "insert") || word_in(sql, "update") || word_in(sql, "delete");
    else
        wrote = true;
    if (!wrote)
        return;
    if (s->depth > 0)
        s->wrote = 1;
    else if (s->listener)
        atomic_fetch_add(&s->listener->stamp, 2);
}

static int pg_data_version(struct ad_store *st, int64_t *out, struct ad_err *err)
{
    struct pg_listener *l = ad__pg(st)->listener;
    int64_t v;
    int rc;

    if (!l || l->off)
        return ad_error(err, AD_ENOTSUP, "the PostgreSQL data version is off"
                                         " (AUTODEV_PG_DATA_VERSION=off)");
    if (!atomic_load(&l->started) && (rc = listener_start(l, err)))
        return rc;
    v = atomic_load(&l->stamp);
    if (v & 1)
        return ad_error(err, AD_ENOTSUP, "not listening for other connections' commits"
                                         " (yet): cannot tell");
    *out = v;
    return 0;
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
    /* The data version's triggers (migration 13) also on tables made after it. */
    if (!rc && latest_version() >= AD_PG_WATCH_VERSION)
        rc = exec_plain(s, "SELECT ad_watch_tables()", "watch tables", err);
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

    listener_detach(s);
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
    rc = listener_attach(s, err);
    if (!rc)
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
        s->wrote = 0;
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
        /* Even a failed COMMIT may have committed (the reply was lost): count it. */
        if (s->wrote && s->listener)
            atomic_fetch_add(&s->listener->stamp, 2);
        s->wrote = 0;
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
            s->wrote = 0;
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
