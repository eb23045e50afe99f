/*
 * bench_bus: how fast the bus dispatches, with and without the outbox.
 *
 *   bench_bus [--quick] [N]
 *
 * (1) N events (default 5,000,000) on one topic to 3 in-process handlers,
 *     no store: the cost of dispatch itself.
 * (2) M events (default 200,000) with a store on a fresh temp file, in
 *     transactions of 1,000: the outbox as a busy server uses it.
 * (3) M / 20 events, one transaction each: what a caller pays for an emit
 *     outside a transaction (one fsync-bound commit per event).
 * Prints numbers; asserts nothing.
 */
#include "compat.h"

#include <jansson.h>
#include <unistd.h>

#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/store.h"

#define BATCH 1000

static volatile uint64_t sink;

static int h_count(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    uint64_t *n = ctx;

    (*n)++;
    sink += (uint64_t)ev->seq;
    return 0;
}

static void report(const char *what, long n, int64_t ns)
{
    double s = (double)ns / 1e9;

    printf("%-44s %10ld events %8.3f s %12.0f events/s %8.1f ns/event\n", what, n, s,
           s > 0 ? (double)n / s : 0.0, n > 0 ? (double)ns / (double)n : 0.0);
}

static int subscribe3(struct ad_bus *bus, const char *topic, uint64_t counts[3])
{
    struct ad_err err = AD_ERR_INIT;
    static const char *const names[] = { "one", "two", "three" };

    for (int i = 0; i < 3; i++) {
        if (ad_bus_subscribe(bus, topic, names[i], h_count, &counts[i], &err) < 0) {
            fprintf(stderr, "bench_bus: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static int bench_memory(long n)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_bus *bus = NULL;
    uint64_t counts[3] = { 0 };
    json_t *p = json_pack("{s:s, s:i}", "episode_id", "x", "n", 1);
    int64_t t0, t1;
    int rc = -1;

    /* Subscriptions to other topics, so dispatch has something to skip. */
    if (ad_bus_new(NULL, &bus, &err) < 0 || subscribe3(bus, "task.fail", counts) < 0 ||
        ad_bus_subscribe(bus, "task.success", "other", h_count, &counts[0], &err) < 0 ||
        ad_bus_subscribe(bus, "skill.execution", "other2", h_count, &counts[0], &err) < 0)
        goto out;
    t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        if (ad_bus_emit(bus, "tenant", "task.fail", p, NULL, &err) < 0)
            goto out;
    }
    t1 = ad_mono_ns();
    report("in-process, 3 handlers, no store", n, t1 - t0);
    rc = 0;
out:
    if (rc < 0 && err.msg[0])
        fprintf(stderr, "bench_bus: %s\n", err.msg);
    ad_bus_free(bus);
    json_decref(p);
    return rc;
}

static int bench_store(const char *path, long m, int batch, const char *what)
{
    struct ad_store_options opts = { .flags = AD_STORE_CREATE };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    struct ad_bus *bus = NULL;
    uint64_t counts[3] = { 0 };
    char tenant[AD_ID_SIZE];
    json_t *p = json_pack("{s:s, s:i}", "episode_id", "x", "n", 1);
    int64_t t0, t1;
    int rc = -1;

    if (ad_store_open(path, &opts, &st, &err) < 0 ||
        ad_store_tenant_ensure(st, "bench", tenant, &err) < 0 || ad_bus_new(st, &bus, &err) < 0 ||
        subscribe3(bus, "task.fail", counts) < 0)
        goto out;
    t0 = ad_mono_ns();
    for (long i = 0; i < m; i += batch) {
        if (batch > 1 && ad_store_begin(st, &err) < 0)
            goto out;
        for (long k = i; k < m && k < i + batch; k++) {
            if (ad_bus_emit(bus, tenant, "task.fail", p, NULL, &err) < 0)
                goto out;
        }
        if (batch > 1 && ad_store_commit(st, &err) < 0)
            goto out;
    }
    t1 = ad_mono_ns();
    report(what, m, t1 - t0);
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "bench_bus: %s\n", err.msg);
    ad_bus_free(bus);
    ad_store_free(st);
    json_decref(p);
    return rc;
}

static void remove_db(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char p[300];

    for (size_t i = 0; i < AD_ARRAY_SIZE(suffixes); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

int main(int argc, char **argv)
{
    long n = 5000000, m = 200000;
    char dir[] = "/tmp/ad-bench-bus-XXXXXX";
    char path[sizeof(dir) + 32];
    char label[64];
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            n = 200000;
            m = 20000;
        } else {
            char *end;
            long v = strtol(argv[i], &end, 10);

            if (*end || v <= 0) {
                fprintf(stderr, "usage: bench_bus [--quick] [N]\n");
                return 2;
            }
            n = v;
        }
    }
    if (!mkdtemp(dir)) {
        perror("bench_bus: mkdtemp");
        return 1;
    }
    rc |= bench_memory(n);
    snprintf(path, sizeof(path), "%s/batched.db", dir);
    snprintf(label, sizeof(label), "outbox, 3 handlers, %d per transaction", BATCH);
    rc |= bench_store(path, m, BATCH, label);
    remove_db(path);
    snprintf(path, sizeof(path), "%s/single.db", dir);
    rc |= bench_store(path, m / 20, 1, "outbox, 3 handlers, 1 per transaction");
    remove_db(path);
    rmdir(dir);
    return rc ? 1 : 0;
}
