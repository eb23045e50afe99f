/*
 * Reflection benchmark: prints numbers, asserts nothing.
 *
 *   bench_learn [--quick] [N] [DIR]
 *
 * What reflection costs the path every failure takes. N failed episodes
 * (default 5,000; --quick 1,000) of 20 INTERN agents, each recorded in its
 * own transaction with ad_episode_record (as `autodev episode add` and
 * `task run` do), once on a bus without reflection and once with it
 * attached, each into a fresh database with auto-dev enabled. The task
 * descriptions come from 10 families of similar wordings, so patterns
 * form, jobs are queued and later failures find them open: the full path
 * (window query, shingles, open-job scan, gate, job, event). Prints
 * episodes/s of both and their ratio, measured in the same run, and the
 * cost of one ad_shingle_jaccard on two 60-word texts.
 */
#include "compat.h"

#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/learn.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#define NAGENTS 20

static const char *const families[] = {
    "Extract the invoice id from this e-mail",
    "Convert the price from USD to EUR",
    "Parse the CSV export of the orders",
    "Summarise the support ticket thread",
    "Fetch the exchange rates for today",
    "Classify the e-mail as spam or not",
    "Find the delivery date in the shipping notice",
    "Count the line items of the purchase order",
    "Translate the product title into German",
    "Validate the IBAN of the supplier",
};

static const char *const tails[] = { "", " please", " for customer acme", " again" };

static const char *const traces[] = {
    "NoSkillError: no catalog skill matches",
    "ValueError: could not convert string to float: '1,5'",
    "KeyError: 'total'",
};

static __attribute__((noreturn)) void die(const char *what, const struct ad_err *err)
{
    fprintf(stderr, "bench_learn: %s: %s\n", what, err->msg);
    exit(1);
}

struct db {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_reflection refl;
    char path[600];
    char tenant[AD_ID_SIZE];
    char agents[NAGENTS][AD_ID_SIZE];
};

static void db_open(struct db *d, const char *dir, const char *name, int reflect)
{
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;

    snprintf(d->path, sizeof(d->path), "%s/%s.db", dir, name);
    unlink(d->path);
    if (ad_store_open(d->path, &o, &d->st, &err) || ad_bus_new(d->st, &d->bus, &err) ||
        ad_store_tenant_ensure(d->st, "bench", d->tenant, &err))
        die("open", &err);
    ad_settings_defaults(&s);
    s.enabled = true;
    s.max_skill_candidates_per_day = 20;
    if (ad_settings_put(d->st, d->tenant, &s, &err))
        die("settings", &err);
    for (int i = 0; i < NAGENTS; i++) {
        struct ad_agent a = { 0 };
        char nm[32];

        snprintf(nm, sizeof(nm), "agent-%02d", i);
        snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", d->tenant);
        a.name = nm;
        a.maturity = AD_INTERN;
        if (ad_store_agent_insert(d->st, &a, &err))
            die("agent", &err);
        memcpy(d->agents[i], a.id, AD_ID_SIZE);
    }
    if (reflect && ad_reflection_attach(&d->refl, d->st, d->bus, &err))
        die("reflection", &err);
}

static void db_close(struct db *d)
{
    ad_bus_free(d->bus);
    ad_store_free(d->st);
    unlink(d->path);
}

/* Records n failures; returns the seconds it took. */
static double record(struct db *d, int n)
{
    struct ad_err err = AD_ERR_INIT;
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    char desc[256];
    int64_t t0 = ad_mono_ns();

    for (int i = 0; i < n; i++) {
        struct ad_episode ep;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        ad_episode_init(&ep);
        snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", d->tenant);
        snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", d->agents[rng % NAGENTS]);
        snprintf(desc, sizeof(desc), "%s%s", families[(rng >> 8) % 10],
                 tails[(rng >> 16) % 4]);
        ep.task_description = desc;
        ep.error_trace = (char *)traces[(rng >> 24) % 3];
        ep.success = false;
        if (ad_episode_record(d->st, d->bus, &ep, &err))
            die("record", &err);
        ep.task_description = NULL;
        ep.error_trace = NULL;
        ad_episode_release(&ep);
    }
    return (double)(ad_mono_ns() - t0) / 1e9;
}

static void bench_jaccard(void)
{
    char a[1024], b[1024];
    size_t la = 0, lb = 0;
    volatile double sink = 0;
    int reps = 200000;
    int64_t t0;

    for (int i = 0; i < 60; i++) {
        la += (size_t)snprintf(a + la, sizeof(a) - la, "word%d ", i % 37);
        lb += (size_t)snprintf(b + lb, sizeof(b) - lb, "word%d ", (i * 7) % 41);
    }
    t0 = ad_mono_ns();
    for (int i = 0; i < reps; i++)
        sink += ad_shingle_jaccard(a, b);
    printf("shingle jaccard, two 60-word texts: %.2f us per call\n",
           (double)(ad_mono_ns() - t0) / 1e3 / reps);
    (void)sink;
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp";
    int n = 5000, quick = 0;
    struct db plain = { 0 }, refl = { 0 };
    struct ad_job *jobs = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t nj = 0;
    double t_plain, t_refl;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (argv[i][0] >= '0' && argv[i][0] <= '9')
            n = (int)strtol(argv[i], NULL, 10);
        else
            dir = argv[i];
    }
    if (quick)
        n = 1000;
    db_open(&plain, dir, "bench_learn_plain", 0);
    db_open(&refl, dir, "bench_learn_reflect", 1);
    /* Interleaved halves, so drift on a shared machine hits both alike. */
    t_plain = record(&plain, n / 2);
    t_refl = record(&refl, n / 2);
    t_plain += record(&plain, n - n / 2);
    t_refl += record(&refl, n - n / 2);
    if (ad_store_job_list(refl.st, refl.tenant, -1, AD_MEMENTO_JOB, 10000, &jobs, &nj, &err))
        die("jobs", &err);
    printf("failed episodes recorded, one transaction each (%d, %d agents):\n", n, NAGENTS);
    printf("  without reflection  %9.0f episodes/s\n", n / t_plain);
    printf("  with reflection     %9.0f episodes/s  (%zu memento.generate jobs queued)\n",
           n / t_refl, nj);
    printf("  ratio               %9.2fx the time per failure\n", t_refl / t_plain);
    ad_job_list_free(jobs, nj);
    db_close(&plain);
    db_close(&refl);
    bench_jaccard();
    return 0;
}
