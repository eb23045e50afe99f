/*
 * Store benchmark: prints numbers, asserts nothing.
 *
 *   bench_store [--quick] [--ingest-only] [N] [DIR]
 *
 * 1. Ingest: N episodes (default 200,000) through ad_store_episode_insert,
 *    1,000 per transaction, into a fresh file database; prints episodes/s.
 * 2. Recent failures: tops the same database up to 1,000,000 episodes over
 *    100 agents (about 10% failures), then times "the 100 most recent
 *    failures of one agent" (ad_store_episode_list, success = 0, limit = 100)
 *    over many repetitions; prints median and p99, and the query plan read
 *    with sqlite3 directly.
 * 3. Reflection's window: the same question through
 *    ad_store_episode_recent_failures (20 of one agent, last 24 hours),
 *    which reads only the brief's columns and no JSON.
 *
 * --quick: 20,000 ingested, 100,000 in total, fewer repetitions.
 * --ingest-only: stop after part 1.
 */
#include "compat.h"

#include <sqlite3.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/store.h"

#define NAGENTS 100
#define BATCH 1000

struct bench {
    struct ad_store *st;
    char path[512];
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
    fprintf(stderr, "bench_store: %s: %s\n", what, err->msg);
    exit(1);
}

static void setup(struct bench *b, const char *dir)
{
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    char name[32], p[600];
    int i;

    snprintf(b->path, sizeof(b->path), "%s/bench_store.db", dir);
    unlink(b->path);
    snprintf(p, sizeof(p), "%s-wal", b->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", b->path);
    unlink(p);
    if (ad_store_open(b->path, &o, &b->st, &err))
        die("open", &err);
    if (ad_store_tenant_ensure(b->st, "bench", b->tenant, &err))
        die("tenant", &err);
    for (i = 0; i < NAGENTS; i++) {
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

/*
 * Inserts count episodes, BATCH per transaction: through the store API alone
 * when bus is NULL, else through ad_episode_record (episode + outbox event),
 * the path `autodev episode add --batch` takes.
 */
static void ingest(struct bench *b, long count, struct ad_bus *bus)
{
    struct ad_err err = AD_ERR_INIT;
    long i;

    for (i = 0; i < count; i++) {
        struct ad_episode ep;
        bool ok = next_rand(b) % 10 != 0;

        if (i % BATCH == 0 && ad_store_begin(b->st, &err))
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
        if (bus ? ad_episode_record(b->st, bus, &ep, &err)
                : ad_store_episode_insert(b->st, &ep, &err))
            die("insert", &err);
        if ((i % BATCH == BATCH - 1 || i == count - 1) && ad_store_commit(b->st, &err))
            die("commit", &err);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static void print_plan(struct bench *b, const char *agent)
{
    /* The statement ad_store_episode_list runs for this filter. */
    static const char sql[] =
        "EXPLAIN QUERY PLAN SELECT * FROM episodes WHERE tenant_id = ?1 AND agent_id = ?2"
        " AND success = 0 ORDER BY id DESC LIMIT 100";
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;

    if (sqlite3_open_v2(b->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_store: explain: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return;
    }
    sqlite3_bind_text(q, 1, b->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, agent, -1, SQLITE_STATIC);
    printf("query plan:\n");
    while (sqlite3_step(q) == SQLITE_ROW)
        printf("  %s\n", (const char *)sqlite3_column_text(q, 3));
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void recent_failures(struct bench *b, int reps)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_err err = AD_ERR_INIT;
    int64_t *t = calloc((size_t)reps, sizeof(*t)), total = 0;
    size_t n = 0;
    int i;

    if (!t)
        exit(1);
    f.success = 0;
    f.limit = 100;
    for (i = 0; i < reps; i++) {
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
    printf("recent failures (100 of one agent): %d runs, %.1f rows/run, median %.3f ms,"
           " p99 %.3f ms, max %.3f ms\n",
           reps, (double)total / reps, t[reps / 2] / 1e6, t[(reps * 99) / 100] / 1e6,
           t[reps - 1] / 1e6);
    free(t);
}

static void reflection_window(struct bench *b, int reps)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t *t = calloc((size_t)reps, sizeof(*t)), total = 0;
    char since[AD_TIME_SIZE];
    size_t n = 0;
    int i;

    if (!t)
        exit(1);
    ad_time_iso(ad_now_ms() - 24 * 3600 * 1000LL, since);
    for (i = 0; i < reps; i++) {
        struct ad_episode_brief *v = NULL;
        int64_t t0 = ad_mono_ns();

        if (ad_store_episode_recent_failures(b->st, b->tenant, b->agents[i % NAGENTS], since, 20,
                                             false, NULL, &v, &n, &err))
            die("recent failures", &err);
        t[i] = ad_mono_ns() - t0;
        total += (int64_t)n;
        ad_episode_brief_list_free(v, n);
    }
    qsort(t, (size_t)reps, sizeof(*t), cmp_i64);
    printf("reflection window (20 failures of one agent, 24 h): %d runs, %.1f rows/run,"
           " median %.3f ms, p99 %.3f ms\n",
           reps, (double)total / reps, t[reps / 2] / 1e6, t[(reps * 99) / 100] / 1e6);
    free(t);
}

int main(int argc, char **argv)
{
    struct bench b = { 0 };
    const char *dir = "/tmp";
    long n = 200000, total = 1000000;
    int reps = 2000, quick = 0, ingest_only = 0, i;
    int64_t t0, ns;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--ingest-only"))
            ingest_only = 1;
        else if (argv[i][0] >= '0' && argv[i][0] <= '9')
            n = strtol(argv[i], NULL, 10);
        else
            dir = argv[i];
    }
    if (quick) {
        n = n == 200000 ? 20000 : n;
        total = 100000;
        reps = 500;
    }
    setup(&b, dir);
    printf("sqlite %s, db %s\n", sqlite3_libversion(), b.path);

    t0 = ad_mono_ns();
    ingest(&b, n, NULL);
    ns = ad_mono_ns() - t0;
    printf("ingest: %ld episodes in %.2f s = %.0f episodes/s (transactions of %d)\n", n,
           ns / 1e9, n / (ns / 1e9), BATCH);

    /* The same episodes again, each with its task.* event in the outbox. */
    {
        struct ad_err err = AD_ERR_INIT;
        struct ad_bus *bus;
        long m = n / 4;

        if (ad_bus_new(b.st, &bus, &err))
            die("bus", &err);
        t0 = ad_mono_ns();
        ingest(&b, m, bus);
        ns = ad_mono_ns() - t0;
        printf("record: %ld episodes + events in %.2f s = %.0f episodes/s (transactions of %d)\n",
               m, ns / 1e9, m / (ns / 1e9), BATCH);
        ad_bus_free(bus);
        n += m;
    }

    if (ingest_only)
        total = n;
    if (total > n) {
        t0 = ad_mono_ns();
        ingest(&b, total - n, NULL);
        ns = ad_mono_ns() - t0;
        printf("top-up: %ld more episodes in %.2f s = %.0f episodes/s (db now %ld)\n",
               total - n, ns / 1e9, (total - n) / (ns / 1e9), total);
    }
    if (!ingest_only) {
        recent_failures(&b, reps);
        print_plan(&b, b.agents[0]);
        reflection_window(&b, reps);
    }

    json_decref(b.input);
    json_decref(b.output);
    json_decref(b.tools);
    json_decref(b.context);
    ad_store_free(b.st);
    return 0;
}
