/*
 * PostgreSQL beside SQLite: the same store operations on either backend,
 * by the store URI given (a file path, or postgres://...). Prints numbers,
 * asserts nothing. bench/bench_pg.sh runs it on both in one go.
 *
 *   bench_pg URI [--episodes N] [--total M] [--reps R] [--jobs J] [--no-triggers]
 *
 * --no-triggers (PostgreSQL): drops the data version's triggers (schema.c,
 * migration 13) from the bench's schema first, to see what they cost the
 * writers; the store's data version is then wrong there, so only for this.
 *
 * 1. Fixture: M - N episodes (default M 1,000,000) made in the database by
 *    SQL, not through the store (whose insert is one round trip per row:
 *    about 1,000 rows/s on PostgreSQL). Two episodes are written through
 *    the store first, a success and a failure, and every bulk row copies
 *    every column of one of them but id, agent_id and created_at: the same
 *    columns, tenant and encodings as the store's rows. About 10% are
 *    failures, spread over 100 agents by a multiplicative hash; times
 *    increase 1 ms per row up to a few seconds before now, and ids are
 *    UUIDv7 texts of those times, so id order is time order as with the
 *    store's ids. PostgreSQL: INSERT ... SELECT FROM generate_series in
 *    statements of 100,000 rows, then VACUUM ANALYZE (what autovacuum
 *    would do after such a load). SQLite: one transaction, a recursive
 *    CTE. Each agent's counters are then set from its rows, as the store's
 *    insert keeps them.
 * 2. Ingest at that size: N episodes (default 50,000) through
 *    ad_store_episode_insert, 1,000 per transaction; episodes/s.
 * 3. Recent failures over the M episodes: "the 100 most recent failures of
 *    one agent" (the store's own ad_store_episode_list, success = 0,
 *    limit = 100) R times (default 1,000), over the agents in turn; median
 *    and p99.
 * 3. Claim throughput: J store.check jobs (default 2,000) claimed and
 *    finished (claim, then finish as done: two statements, each its own
 *    transaction, as a worker does) by 1, 2 and 4 threads, each with its
 *    own store handle (its own connection); jobs/s.
 */
#include "compat.h"

#include <pthread.h>
#include <sqlite3.h>
#if HAVE_PG
#include <libpq-fe.h>
#endif

#include "autodev/clock.h"
#include "autodev/store.h"

#define NAGENTS 100

struct bench {
    const char *uri;
    struct ad_store *st;
    char tenant[AD_ID_SIZE];
    char agents[NAGENTS][AD_ID_SIZE];
    uint64_t rng;
    json_t *input, *output, *tools, *context;
};

static uint64_t next_rand(struct bench *b)
{
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return b->rng;
}

static __attribute__((noreturn)) void die(const char *what, const struct ad_err *err)
{
    fprintf(stderr, "bench_pg: %s: %s\n", what, err->msg);
    exit(1);
}

static void open_store(const char *uri, struct ad_store **st)
{
    struct ad_store_options o = { AD_STORE_CREATE, 30000 };
    struct ad_err err = AD_ERR_INIT;

    if (ad_store_open(uri, &o, st, &err))
        die("open", &err);
}

static void setup(struct bench *b)
{
    struct ad_err err = AD_ERR_INIT;
    char name[32];

    open_store(b->uri, &b->st);
    if (ad_store_tenant_ensure(b->st, "bench", b->tenant, &err))
        die("tenant", &err);
    for (int i = 0; i < NAGENTS; i++) {
        struct ad_agent a = { 0 };

        snprintf(name, sizeof(name), "agent-%03d", i);
        memcpy(a.tenant_id, b->tenant, AD_ID_SIZE);
        a.name = name;
        a.maturity = AD_SUPERVISED;
        if (ad_store_agent_insert(b->st, &a, &err))
            die("agent", &err);
        memcpy(b->agents[i], a.id, AD_ID_SIZE);
    }
    b->rng = 0x9e3779b97f4a7c15ULL;
    b->input = json_pack("{s:s, s:[i,i,i], s:{s:b}}", "file", "invoices/2026-03.csv", "rows", 1,
                         2, 3, "options", "strict", 1);
    b->output = json_pack("{s:f, s:s}", "total", 1234.5, "currency", "EUR");
    b->tools = json_pack("[s,s]", "csv_reader", "sum_column");
    b->context = json_pack("{s:s, s:i}", "user", "u-42", "attempt", 1);
}

static void ingest(struct bench *b, long count, long batch)
{
    struct ad_err err = AD_ERR_INIT;

    for (long i = 0; i < count; i++) {
        struct ad_episode ep;
        bool ok = next_rand(b) % 10 != 0;

        if (i % batch == 0 && ad_store_begin(b->st, &err))
            die("begin", &err);
        ad_episode_init(&ep);
        memcpy(ep.tenant_id, b->tenant, AD_ID_SIZE);
        memcpy(ep.agent_id, b->agents[next_rand(b) % NAGENTS], AD_ID_SIZE);
        ep.task_description = (char *)"sum the total column of the monthly invoice export";
        ep.task_kind = (char *)(ok ? "csv.sum" : "csv.parse");
        ep.input = b->input;
        ep.output = ok ? b->output : NULL;
        ep.success = ok;
        ep.error_trace = ok ? NULL : (char *)"KeyError: 'total'\n  at parse_row line 12";
        ep.tools_attempted = b->tools;
        ep.context = b->context;
        ep.execution_seconds = 0.25;
        ep.token_usage = 850;
        if (ad_store_episode_insert(b->st, &ep, &err))
            die("insert", &err);
        if ((i % batch == batch - 1 || i == count - 1) && ad_store_commit(b->st, &err))
            die("commit", &err);
    }
}

/* ---- the fixture: bulk rows by SQL ------------------------------------------ */

#define BULK_CHUNK 100000L

/* An episode through the store, to copy (its id in id). */
static void template_episode(struct bench *b, bool ok, char id[AD_ID_SIZE])
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;

    ad_episode_init(&ep);
    memcpy(ep.tenant_id, b->tenant, AD_ID_SIZE);
    memcpy(ep.agent_id, b->agents[0], AD_ID_SIZE);
    ep.task_description = (char *)"sum the total column of the monthly invoice export";
    ep.task_kind = (char *)(ok ? "csv.sum" : "csv.parse");
    ep.input = b->input;
    ep.output = ok ? b->output : NULL;
    ep.success = ok;
    ep.error_trace = ok ? NULL : (char *)"KeyError: 'total'\n  at parse_row line 12";
    ep.tools_attempted = b->tools;
    ep.context = b->context;
    ep.execution_seconds = 0.25;
    ep.token_usage = 850;
    if (ad_store_episode_insert(b->st, &ep, &err))
        die("template", &err);
    memcpy(id, ep.id, AD_ID_SIZE);
}

static void grow(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    char *more = NULL;

    va_start(ap, fmt);
    if (vasprintf(&more, fmt, ap) < 0)
        exit(1);
    va_end(ap);
    *buf = realloc(*buf, *len + strlen(more) + 1);
    if (!*buf)
        exit(1);
    memcpy(*buf + *len, more, strlen(more) + 1);
    *len += strlen(more);
    free(more);
}

/*
 * The SELECT list of a bulk row from the episodes' columns (cols, n):
 * id, agent_id and created_at made per row, the rest copied from t.
 */
static char *select_list(char **cols, int n, const char *id_expr, const char *at_expr)
{
    char *buf = NULL;
    size_t len = 0;

    grow(&buf, &len, "%s", "");
    for (int i = 0; i < n; i++) {
        const char *c = cols[i];

        if (!strcmp(c, "id"))
            grow(&buf, &len, "%s%s", i ? ", " : "", id_expr);
        else if (!strcmp(c, "agent_id"))
            grow(&buf, &len, "%sa.id", i ? ", " : "");
        else if (!strcmp(c, "created_at"))
            grow(&buf, &len, "%s%s", i ? ", " : "", at_expr);
        else
            grow(&buf, &len, "%st.%s", i ? ", " : "", c);
    }
    return buf;
}

static char *column_names(char **cols, int n)
{
    char *buf = NULL;
    size_t len = 0;

    grow(&buf, &len, "%s", "");
    for (int i = 0; i < n; i++)
        grow(&buf, &len, "%s%s", i ? ", " : "", cols[i]);
    return buf;
}

/* The per-row hash h of row i: failure when h % 10 = 0, agent (h / 10) % 100. */
#define HASH "((g.i * 2654435761) %% 4294967291)" /* in a format */

static const char recount[] =
    "UPDATE agents SET episode_count = c.n, success_count = c.s, failure_count = c.n - c.s"
    " FROM (SELECT agent_id, count(*) AS n, sum(success) AS s FROM episodes"
    "       WHERE tenant_id = '%s' GROUP BY agent_id) AS c"
    " WHERE agents.tenant_id = '%s' AND agents.id = c.agent_id";

static void sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_pg: fixture: %s\n  in: %.300s\n", msg ? msg : "?", sql);
        exit(1);
    }
}

static void fixture_sqlite(struct bench *b, const char *path, long rows, const char *ok_id,
                           const char *fail_id, int64_t base_ms)
{
    char *cols[64], *list, *names, *sql = NULL;
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t len = 0;
    int n = 0;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_pg: fixture: cannot open %s\n", path);
        exit(1);
    }
    sqlite3_busy_timeout(db, 30000);
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('episodes')", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_pg: fixture: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    while (sqlite3_step(st) == SQLITE_ROW && n < 64)
        cols[n++] = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    list = select_list(cols, n, "printf('%08x-%04x-7000-8000-%012x', m >> 16, m & 65535, g.i)",
                       "strftime('%Y-%m-%dT%H:%M:%fZ', m / 1000.0, 'unixepoch')");
    names = column_names(cols, n);
    sq_exec(db, "BEGIN IMMEDIATE");
    sq_exec(db, "CREATE TEMP TABLE bench_agents (n INTEGER PRIMARY KEY, id TEXT NOT NULL)");
    for (int i = 0; i < NAGENTS; i++) {
        char q[160];

        snprintf(q, sizeof(q), "INSERT INTO bench_agents VALUES (%d, '%s')", i, b->agents[i]);
        sq_exec(db, q);
    }
    grow(&sql, &len,
         "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %ld)"
         " INSERT INTO episodes (%s)"
         " SELECT %s FROM (SELECT i, %" PRId64 " + i AS m, " HASH " AS h FROM g) AS g"
         " JOIN bench_agents a ON a.n = (g.h / 10) %% %d"
         " JOIN episodes t ON t.id = CASE WHEN g.h %% 10 = 0 THEN '%s' ELSE '%s' END",
         rows, names, list, base_ms, NAGENTS, fail_id, ok_id);
    sq_exec(db, sql);
    free(sql);
    sql = NULL;
    len = 0;
    grow(&sql, &len, recount, b->tenant, b->tenant);
    sq_exec(db, sql);
    sq_exec(db, "DROP TABLE bench_agents");
    sq_exec(db, "COMMIT");
    sqlite3_close(db);
    for (int i = 0; i < n; i++)
        free(cols[i]);
    free(list);
    free(names);
    free(sql);
}

#if HAVE_PG
static PGresult *pq_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "bench_pg: fixture: %s  in: %.300s\n", PQresultErrorMessage(r), sql);
        exit(1);
    }
    return r;
}

static void fixture_pg(struct bench *b, long rows, const char *ok_id, const char *fail_id,
                       int64_t base_ms)
{
    PGconn *c = PQconnectdb(b->uri);
    char *cols[64], *list, *names, *sql = NULL, q[256];
    size_t len = 0;
    PGresult *r;
    int n = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_pg: fixture: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(pq_exec(c, "SET client_min_messages = warning"));
    snprintf(q, sizeof(q), "SET autodev.tenant = '%s'", b->tenant);
    PQclear(pq_exec(c, q));
    r = pq_exec(c, "SELECT column_name FROM information_schema.columns"
                   " WHERE table_schema = current_schema() AND table_name = 'episodes'"
                   " ORDER BY ordinal_position");
    for (int i = 0; i < PQntuples(r) && n < 64; i++)
        cols[n++] = strdup(PQgetvalue(r, i, 0));
    PQclear(r);
    list = select_list(cols, n,
                       "substr(lpad(to_hex(g.m), 12, '0'), 1, 8) || '-' ||"
                       " substr(lpad(to_hex(g.m), 12, '0'), 9, 4) || '-7000-8000-' ||"
                       " lpad(to_hex(g.i), 12, '0')",
                       "to_timestamp(g.m / 1000.0)");
    names = column_names(cols, n);
    PQclear(pq_exec(c, "CREATE TEMP TABLE bench_agents (n integer PRIMARY KEY, id text NOT NULL)"));
    for (int i = 0; i < NAGENTS; i++) {
        snprintf(q, sizeof(q), "INSERT INTO bench_agents VALUES (%d, '%s')", i, b->agents[i]);
        PQclear(pq_exec(c, q));
    }
    for (long lo = 1; lo <= rows; lo += BULK_CHUNK) {
        long hi = lo + BULK_CHUNK - 1 < rows ? lo + BULK_CHUNK - 1 : rows;

        len = 0;
        free(sql);
        sql = NULL;
        grow(&sql, &len,
             "INSERT INTO episodes (%s)"
             " SELECT %s FROM (SELECT i, %" PRId64 "::bigint + i AS m, " HASH " AS h"
             "  FROM generate_series(%ld::bigint, %ld::bigint) AS g(i)) AS g"
             " JOIN bench_agents a ON a.n = (g.h / 10) %% %d"
             " JOIN episodes t ON t.id = CASE WHEN g.h %% 10 = 0 THEN '%s' ELSE '%s' END",
             names, list, base_ms, lo, hi, NAGENTS, fail_id, ok_id);
        PQclear(pq_exec(c, sql));
    }
    len = 0;
    free(sql);
    sql = NULL;
    grow(&sql, &len, recount, b->tenant, b->tenant);
    PQclear(pq_exec(c, sql));
    PQclear(pq_exec(c, "VACUUM ANALYZE episodes"));
    PQclear(pq_exec(c, "DROP TABLE bench_agents"));
    PQfinish(c);
    for (int i = 0; i < n; i++)
        free(cols[i]);
    free(list);
    free(names);
    free(sql);
}

static void drop_triggers(const char *uri)
{
    PGconn *c = PQconnectdb(uri);

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_pg: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(pq_exec(c, "SET client_min_messages = warning"));
    PQclear(pq_exec(c, "DROP FUNCTION ad_data_changed() CASCADE"));
    PQfinish(c);
}
#endif

/* rows episodes by SQL, older than anything the store writes next. */
static void fixture(struct bench *b, long rows)
{
    char ok_id[AD_ID_SIZE], fail_id[AD_ID_SIZE];
    int64_t base_ms = ad_now_ms() - rows - 5000;
    const char *path = b->uri;

    template_episode(b, true, ok_id);
    template_episode(b, false, fail_id);
    rows -= 2;
    if (!strncmp(b->uri, "postgres", 8)) {
#if HAVE_PG
        fixture_pg(b, rows, ok_id, fail_id, base_ms);
#else
        fprintf(stderr, "bench_pg: built without libpq\n");
        exit(1);
#endif
        return;
    }
    if (!strncmp(path, "sqlite:", 7))
        path += 7;
    fixture_sqlite(b, path, rows, ok_id, fail_id, base_ms);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static void recent_failures(struct bench *b, int reps, long size)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_err err = AD_ERR_INIT;
    int64_t *t = calloc((size_t)reps, sizeof(*t)), total = 0;
    size_t n = 0;

    if (!t)
        exit(1);
    f.success = 0;
    f.limit = 100;
    for (int i = 0; i < reps; i++) {
        struct ad_episode *v = NULL;
        int64_t t0;

        f.agent_id = b->agents[i % NAGENTS];
        t0 = ad_mono_ns();
        if (ad_store_episode_list(b->st, b->tenant, &f, &v, &n, &err))
            die("list", &err);
        t[i] = ad_mono_ns() - t0;
        total += (int64_t)n;
        ad_episode_list_free(v, n);
    }
    qsort(t, (size_t)reps, sizeof(*t), cmp_i64);
    printf("recent failures (100 of one agent) among %ld episodes: %d runs, %.1f rows/run,"
           " median %.3f ms, p99 %.3f ms\n",
           size, reps, (double)total / reps, t[reps / 2] / 1e6, t[(reps * 99) / 100] / 1e6);
    free(t);
}

struct claimer {
    struct bench *b;
    int index;
    long done;
};

static void *claim_loop(void *arg)
{
    struct claimer *c = arg;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st;
    char worker[32];

    snprintf(worker, sizeof(worker), "bench:w%d", c->index);
    open_store(c->b->uri, &st);
    for (;;) {
        struct ad_job j = { 0 };
        int rc = ad_store_job_claim(st, c->b->tenant, "store.check", worker, ad_now_ms(),
                                    300000, &j, &err);

        if (rc == AD_ENOTFOUND)
            break;
        if (rc)
            die("claim", &err);
        if (ad_store_job_finish(st, c->b->tenant, j.id, worker, AD_JOB_DONE, NULL, NULL, &err))
            die("finish", &err);
        ad_job_release(&j);
        c->done++;
        ad_err_clear(&err);
    }
    ad_store_free(st);
    return NULL;
}

static void claims(struct bench *b, int threads, long jobs)
{
    struct ad_err err = AD_ERR_INIT;
    struct claimer c[4] = { { 0 } };
    pthread_t th[4];
    long total = 0;
    int64_t t0;

    if (ad_store_begin(b->st, &err))
        die("begin", &err);
    for (long i = 0; i < jobs; i++) {
        struct ad_job j = { 0 };

        memcpy(j.tenant_id, b->tenant, AD_ID_SIZE);
        j.kind = (char *)"store.check";
        j.payload = json_object();
        j.max_attempts = 5;
        if (ad_store_job_insert(b->st, &j, &err))
            die("enqueue", &err);
        json_decref(j.payload);
    }
    if (ad_store_commit(b->st, &err))
        die("commit", &err);
    t0 = ad_mono_ns();
    for (int i = 0; i < threads; i++) {
        c[i].b = b;
        c[i].index = i + 1;
        if (pthread_create(&th[i], NULL, claim_loop, &c[i]))
            exit(1);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += c[i].done;
    }
    printf("claim + finish, %d worker thread(s): %ld jobs in %.2f s = %.0f jobs/s\n", threads,
           total, (ad_mono_ns() - t0) / 1e9, total / ((ad_mono_ns() - t0) / 1e9));
}

int main(int argc, char **argv)
{
    struct bench b = { 0 };
    long n = 50000, total = 1000000, jobs = 2000;
    int reps = 1000;
    bool no_triggers = false;
    int64_t t0, ns;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_pg URI [--episodes N] [--total M] [--reps R] [--jobs J]"
                        " [--no-triggers]\n");
        return 2;
    }
    b.uri = argv[1];
    for (int i = 2; i < argc; i += 2) {
        long v;

        if (!strcmp(argv[i], "--no-triggers")) {
            no_triggers = true;
            i--;
            continue;
        }
        if (i + 1 >= argc)
            break;
        v = strtol(argv[i + 1], NULL, 10);

        if (!strcmp(argv[i], "--episodes"))
            n = v;
        else if (!strcmp(argv[i], "--total"))
            total = v;
        else if (!strcmp(argv[i], "--reps"))
            reps = (int)v;
        else if (!strcmp(argv[i], "--jobs"))
            jobs = v;
    }
    setup(&b);
    printf("backend %s%s\n", ad_store_backend(b.st),
           no_triggers ? ", the data version's triggers dropped" : "");
    if (no_triggers) {
#if HAVE_PG
        drop_triggers(b.uri);
#endif
    }

    if (total > n + 2) {
        t0 = ad_mono_ns();
        fixture(&b, total - n);
        ns = ad_mono_ns() - t0;
        printf("fixture: %ld episodes by SQL in %.2f s = %.0f rows/s (not the store's path)\n",
               total - n, ns / 1e9, (total - n) / (ns / 1e9));
    }
    t0 = ad_mono_ns();
    ingest(&b, n, 1000);
    ns = ad_mono_ns() - t0;
    printf("ingest: %ld episodes through the store (table growing from %ld) in %.2f s ="
           " %.0f episodes/s (transactions of 1,000)\n",
           n, total > n ? total - n : 0, ns / 1e9, n / (ns / 1e9));

    recent_failures(&b, reps, total > n ? total : n);

    for (int t = 1; t <= 4; t *= 2)
        claims(&b, t, jobs);

    json_decref(b.input);
    json_decref(b.output);
    json_decref(b.tools);
    json_decref(b.context);
    ad_store_free(b.st);
    return 0;
}
