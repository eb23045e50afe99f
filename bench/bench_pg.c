/*
 * PostgreSQL beside SQLite: the same store operations on either backend,
 * by the store URI given (a file path, or postgres://...). Prints numbers,
 * asserts nothing. bench/bench_pg.sh runs it on both in one go.
 *
 *   bench_pg URI [--episodes N] [--total M] [--reps R] [--jobs J]
 *
 * 1. Ingest: N episodes (default 50,000) through ad_store_episode_insert,
 *    1,000 per transaction; episodes/s.
 * 2. Recent failures: tops the store up to M episodes (default 1,000,000)
 *    over 100 agents, about 10% failures, by the bulk path (the same insert
 *    in transactions of 10,000: one commit, one WAL flush per 10,000), then
 *    times "the 100 most recent failures of one agent"
 *    (ad_store_episode_list, success = 0, limit = 100) R times (default
 *    1,000); median and p99.
 * 3. Claim throughput: J store.check jobs (default 2,000) claimed and
 *    finished (claim, then finish as done: two statements, each its own
 *    transaction, as a worker does) by 1, 2 and 4 threads, each with its
 *    own store handle (its own connection); jobs/s.
 */
#include "compat.h"

#include <pthread.h>

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

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static void recent_failures(struct bench *b, int reps)
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
    printf("recent failures (100 of one agent): %d runs, %.1f rows/run, median %.3f ms,"
           " p99 %.3f ms\n",
           reps, (double)total / reps, t[reps / 2] / 1e6, t[(reps * 99) / 100] / 1e6);
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
    int64_t t0, ns;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_pg URI [--episodes N] [--total M] [--reps R] [--jobs J]\n");
        return 2;
    }
    b.uri = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);

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
    printf("backend %s\n", ad_store_backend(b.st));

    t0 = ad_mono_ns();
    ingest(&b, n, 1000);
    ns = ad_mono_ns() - t0;
    printf("ingest: %ld episodes in %.2f s = %.0f episodes/s (transactions of 1,000)\n", n,
           ns / 1e9, n / (ns / 1e9));

    if (total > n) {
        t0 = ad_mono_ns();
        ingest(&b, total - n, 10000);
        ns = ad_mono_ns() - t0;
        printf("bulk top-up to %ld episodes: %.2f s = %.0f episodes/s (transactions of"
               " 10,000)\n", total, ns / 1e9, (total - n) / (ns / 1e9));
    }
    recent_failures(&b, reps);

    for (int t = 1; t <= 4; t *= 2)
        claims(&b, t, jobs);

    json_decref(b.input);
    json_decref(b.output);
    json_decref(b.tools);
    json_decref(b.context);
    ad_store_free(b.st);
    return 0;
}
