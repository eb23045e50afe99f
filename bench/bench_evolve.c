/*
 * bench_evolve: the evolution research mode on FunSearch's online bin
 * packing, and what its bookkeeping costs over the sandbox runs it makes.
 *
 *   bench_evolve [--quick] [GENERATIONS]
 *
 * The skill is a Python priority function (the EVOLVE block) inside a
 * fixed greedy loop: each item goes to the open bin of highest priority
 * that fits (the first of equals), else to a new bin of capacity 100. Its
 * output's score is minus the excess bins over the L1 lower bound
 * ceil(sum / capacity). The seed's priority is a constant (w = 0): first
 * fit. The instances: 3 of 5,000 items drawn from a Weibull distribution
 * (shape 3, scale 45) rounded and clipped to 1..100, fixed seeds (--quick:
 * 1,000 items). They are recorded as the skill's executions (the seed's
 * own runs: first fit's excess), best fit (w = 1) runs on them in the same
 * sandbox for comparison, then an evolution run with the offline mutator
 * (4 proposals a generation, 2 islands, seed 1; default 10 generations,
 * --quick 3) prints the best excess per generation and the evaluations
 * spent.
 *
 * Then the overhead: evaluations per second during the run (its sandbox
 * runs over the wall time of its generations) against the bare rate of
 * the same number of ad_sandbox_run calls of the seed on the same inputs
 * in the same process, right after (target >= 0.9). Prints numbers;
 * asserts nothing (exit 1 when a step fails).
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/evolve.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#define NINST 3
#define CAPACITY 100

static const char pack_code[] =
    "def priority(item, space):\n"
    "    # EVOLVE-BLOCK-START\n"
    "    waste = space - item\n"
    "    w = 0.0\n"
    "    return -waste * w\n"
    "    # EVOLVE-BLOCK-END\n"
    "\n"
    "def pack(items):\n"
    "    bins = []\n"
    "    for it in items:\n"
    "        best, bp = None, None\n"
    "        for i, s in enumerate(bins):\n"
    "            if s >= it:\n"
    "                p = priority(it, s)\n"
    "                if bp is None or p > bp:\n"
    "                    best, bp = i, p\n"
    "        if best is None:\n"
    "            bins.append(100 - it)\n"
    "        else:\n"
    "            bins[best] -= it\n"
    "    lb = -(-sum(items) // 100)\n"
    "    return {\"score\": lb - len(bins), \"bins\": len(bins), \"excess\": len(bins) - lb}\n";

static void die(const char *what, const struct ad_err *err)
{
    fprintf(stderr, "bench_evolve: %s: %s\n", what, err->msg);
    exit(1);
}

/* Weibull(shape 3, scale 45) by inversion, rounded and clipped to 1..100. */
static json_t *instance(uint64_t seed, int n)
{
    struct ad_evolve_prng r;
    json_t *a = json_array();

    ad_evolve_prng_seed(&r, seed);
    for (int i = 0; a && i < n; i++) {
        double u = ad_evolve_prng_unit(&r);
        double x = 45.0 * pow(-log(1.0 - u), 1.0 / 3.0);
        long v = lround(x);

        json_array_append_new(a, json_integer(v < 1 ? 1 : v > CAPACITY ? CAPACITY : v));
    }
    return a;
}

/* The excess of code on input, run in the sandbox. */
static long excess_of(struct ad_sandbox *sb, const char *code, const char *input)
{
    struct ad_sandbox_spec spec = { 0 };
    struct ad_sandbox_result r = { 0 };
    struct ad_err err = AD_ERR_INIT;
    long e;

    spec.code = code;
    spec.entry = "pack";
    spec.input_json = input;
    spec.limits.wall_ms = 60000;
    if (ad_sandbox_run(sb, &spec, &r, &err) < 0 || r.status != AD_SB_OK)
        die("sandbox run", &err);
    e = (long)json_integer_value(json_object_get(r.output, "excess"));
    ad_sandbox_result_clear(&r);
    return e;
}

int main(int argc, char **argv)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_sandbox_options sbo = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    struct ad_bus *bus = NULL;
    struct ad_sandbox *sb = NULL;
    struct ad_skill_add add = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_agent agent = { 0 };
    struct ad_evolve_params p;
    struct ad_evolve_env env = { 0 };
    struct ad_evolve_run run = { 0 };
    struct ad_evolve_estimate est;
    struct ad_evolve_status s;
    char dir[64], db[128], tenant[AD_ID_SIZE], *inputs[NINST];
    bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    int items = quick ? 1000 : 5000, gens = quick ? 3 : 10;
    long ff[NINST], bf[NINST], ff_sum = 0, bf_sum = 0;
    double evolve_s = 0, bare_s;
    int64_t t0, evals;
    char *bf_code;

    if (argc > 1 + quick) {
        long n = strtol(argv[1 + quick], NULL, 10);

        gens = n > 0 && n < 10000 ? (int)n : gens;
    }
    snprintf(dir, sizeof(dir), "/tmp/bench-evolve-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("bench_evolve: mkdtemp");
        return 1;
    }
    snprintf(db, sizeof(db), "%s/autodev.db", dir);
    sbo.slots = 1;
    if (ad_store_open(db, &so, &st, &err) < 0 || ad_bus_new(st, &bus, &err) < 0 ||
        ad_store_tenant_ensure(st, "bench", tenant, &err) < 0 ||
        ad_agents_add(st, tenant, "bench", AD_SUPERVISED, &agent, &err) < 0 ||
        ad_sandbox_new(&sbo, &sb, &err) < 0)
        die("setup", &err);
    add.tenant_id = tenant;
    add.name = "binpack";
    add.entry = "pack";
    add.code = pack_code;
    add.origin = AD_ORIGIN_MANUAL;
    if (ad_catalog_add(st, &add, NULL, &v, &err) < 0)
        die("catalog", &err);
    bf_code = strdup(pack_code);
    memcpy(strstr(bf_code, "w = 0.0"), "w = 1.0", 7);
    /* The instances, recorded as the seed's executions (first fit). */
    for (int i = 0; i < NINST; i++) {
        struct ad_task t = { 0 };
        struct ad_task_outcome out;
        json_t *in = json_pack("{s:o}", "items", instance(1000 + (uint64_t)i, items));

        inputs[i] = json_dumps(in, JSON_COMPACT);
        memset(&out, 0, sizeof(out));
        ad_episode_init(&out.episode);
        t.tenant_id = tenant;
        t.agent_id = agent.id;
        t.description = "pack the items";
        t.task_kind = "bench.evolve";
        t.skill = "binpack";
        t.input = in;
        if (ad_task_run(st, bus, sb, &t, &out, &err) < 0)
            die("task run", &err);
        ad_task_outcome_release(&out);
        json_decref(in);
        ff[i] = excess_of(sb, pack_code, inputs[i]);
        bf[i] = excess_of(sb, bf_code, inputs[i]);
        ff_sum += ff[i];
        bf_sum += bf[i];
    }
    printf("instances: %d of %d items, Weibull(3, 45) clipped to 1..100, capacity %d\n", NINST,
           items, CAPACITY);
    printf("first fit: excess bins over ceil(sum/100): %ld %ld %ld (mean %.2f)\n", ff[0], ff[1],
           ff[2], (double)ff_sum / NINST);
    printf("best fit:  excess bins over ceil(sum/100): %ld %ld %ld (mean %.2f)\n", bf[0], bf[1],
           bf[2], (double)bf_sum / NINST);

    ad_evolve_params_init(&p);
    p.generations = gens;
    p.population = 4;
    p.islands = 2;
    p.seed = 1;
    p.fitness = AD_EVOLVE_FIT_OUTPUT;
    p.stage1_cases = 1;
    p.migration_interval = 3;
    p.stagnation = 4;
    p.ndims = 1;
    snprintf(p.dims[0].name, sizeof(p.dims[0].name), "length");
    p.dims[0].min = 600;
    p.dims[0].max = 900;
    p.dims[0].bins = 6;
    env.st = st;
    env.bus = bus;
    env.sb = sb;
    env.tenant_id = tenant;
    if (ad_evolve_create(&env, "binpack", NULL, &p, &run, &est, &err) < 0)
        die("evolve create", &err);
    printf("evolution: %d generations x 4 proposals, 2 islands, offline mutator, seed 1 "
           "(preflight: at most %lld evaluations)\n", gens, (long long)est.evaluations);
    printf("generation  best excess (mean of %d)  evaluations  seconds\n", NINST);
    for (int g = 0;; g++) {
        struct ad_evolve_gen_result res;

        t0 = ad_now_ms();
        if (ad_evolve_generation(&env, run.id, g, false, &res, &err) < 0)
            die("generation", &err);
        evolve_s += (double)(ad_now_ms() - t0) / 1000;
        if (ad_evolve_progress(st, tenant, run.id, &s, &err) < 0)
            die("progress", &err);
        printf("%10d  %22.2f  %11lld  %7.1f\n", g + 1, -s.best, (long long)s.evaluations,
               evolve_s);
        fflush(stdout);
        if (res.finished || !res.ran)
            break;
    }
    evals = s.evaluations;
    /* The bare rate: as many runs of the seed on the same inputs, nothing else. */
    t0 = ad_now_ms();
    for (int64_t i = 0; i < evals; i++)
        excess_of(sb, pack_code, inputs[i % NINST]);
    bare_s = (double)(ad_now_ms() - t0) / 1000;
    printf("evaluations/s: during the run %.2f, bare sandbox %.2f, ratio %.3f (target >= 0.9)\n",
           (double)evals / evolve_s, (double)evals / bare_s,
           ((double)evals / evolve_s) / ((double)evals / bare_s));
    printf("summary: items=%d generations=%d first_fit=%.2f best_fit=%.2f evolved=%.2f "
           "evaluations=%lld ratio=%.3f\n", items, s.generation, (double)ff_sum / NINST,
           (double)bf_sum / NINST, -s.best, (long long)evals,
           ((double)evals / evolve_s) / ((double)evals / bare_s));
    for (int i = 0; i < NINST; i++)
        free(inputs[i]);
    free(bf_code);
    ad_evolve_run_release(&run);
    ad_skill_version_release(&v);
    ad_agent_release(&agent);
    ad_sandbox_free(sb);
    ad_bus_free(bus);
    ad_store_free(st);
    unlink(db);
    return 0;
}
