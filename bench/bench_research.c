/*
 * bench_research: autodev's own overhead per autoresearch iteration.
 *
 *   bench_research [--quick] [ITERATIONS]
 *
 * A session on a temporary git repository (obj.py with an EVOLVE block of
 * eight constants) whose command is "echo score: 1": it costs almost
 * nothing and never improves, so every iteration is the full edit (the
 * offline mutator, git add and diff, the row), run (one process group, the
 * row) and decide (the gates over the diff, git reset and clean, the rows)
 * of a reverted edit. Each step is timed on its own; the run less the
 * command's own wall time (as the iteration records it) plus edit and
 * decide is autodev's overhead: everything but the user's command and the
 * model. Default 40 iterations (fewer when the mutator runs out), --quick
 * 10, repeats 1, after a setup that is not timed. Prints the median and
 * p90 of each step and of the iteration, the mean, the target (<= 30 ms)
 * and one "summary:" line of key=value pairs. Asserts nothing; exits 1
 * when a step fails.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/research.h"
#include "autodev/store.h"

#define TARGET_MS 30.0

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int sh(const char *cmd)
{
    int rc = system(cmd);

    if (rc != 0)
        fprintf(stderr, "bench_research: '%s' failed\n", cmd);
    return rc;
}

int main(int argc, char **argv)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    struct ad_bus *bus = NULL;
    struct ad_research_env env;
    double *per[4] = { NULL, NULL, NULL, NULL };
    long long cmd_ms = 0;
    const char *id;
    size_t n = 0;
    char dir[64], db[128], repo[128], cmd[1024], tenant[AD_ID_SIZE];
    json_t *cfg, *s = NULL, *res = NULL;
    long long t0, total;
    int iterations = 40, rc = 1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            iterations = 10;
        else if (strtol(argv[i], NULL, 10) > 0 && strtol(argv[i], NULL, 10) < 100000)
            iterations = (int)strtol(argv[i], NULL, 10);
    }
    snprintf(dir, sizeof(dir), "/tmp/bench-research-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("bench_research: mkdtemp");
        return 1;
    }
    snprintf(db, sizeof(db), "%s/autodev.db", dir);
    snprintf(repo, sizeof(repo), "%s/repo", dir);
    snprintf(cmd, sizeof(cmd),
             "mkdir %s && cd %s && git init -q && printf '%%s\\n' '# EVOLVE-BLOCK-START' "
             "'A = 10' 'B = 20' 'C = 30' 'D = 40' 'E = 50' 'F = 60' 'G = 70' 'H = 80' "
             "'# EVOLVE-BLOCK-END' 'print(A + B + C + D + E + F + G + H)' >obj.py && "
             "git add obj.py && git -c user.name=b -c user.email=b@b.invalid commit -qm init",
             repo, repo);
    if (sh(cmd) != 0)
        goto out;
    if (ad_store_open(db, &so, &st, &err) < 0 || ad_bus_new(st, &bus, &err) < 0 ||
        ad_store_tenant_ensure(st, "bench", tenant, &err) < 0)
        goto fail;
    env = (struct ad_research_env){ st, bus, tenant, NULL };
    cfg = json_pack("{s:s, s:[s], s:s, s:s, s:i, s:i, s:s}", "repo", repo, "files", "obj.py",
                    "cmd", "echo score: 1", "metric", "score", "iterations", iterations,
                    "repeats", 1, "workdir", dir);
    rc = ad_research_setup(&env, cfg, &s, &err);
    json_decref(cfg);
    if (rc < 0)
        goto fail;
    id = json_string_value(json_object_get(s, "id"));
    for (int i = 0; i < 4; i++) {
        per[i] = calloc((size_t)iterations, sizeof(double));
        if (!per[i])
            goto out;
    }
    t0 = ad_now_ms();
    for (n = 0; n < (size_t)iterations; n++) {
        double t[4];
        json_t *e = NULL, *r = NULL, *d = NULL;
        long long ms;

        t[0] = now_ms();
        rc = ad_research_edit(&env, id, &e, &err);
        t[1] = now_ms();
        if (rc == 0 && !strcmp(json_string_value(json_object_get(e, "phase")), "edited"))
            rc = ad_research_run(&env, id, &r, &err);
        t[2] = now_ms();
        if (rc == 0 && r)
            rc = ad_research_decide(&env, id, &d, &err);
        t[3] = now_ms();
        ms = json_integer_value(json_object_get(json_object_get(r, "detail"), "ms"));
        json_decref(e);
        json_decref(r);
        json_decref(d);
        if (rc == AD_ENOTFOUND)
            break;      /* the mutator has nothing left to try */
        if (rc < 0)
            goto fail;
        cmd_ms += ms;
        per[0][n] = t[1] - t[0];
        per[1][n] = t[2] - t[1] - (double)ms;
        per[2][n] = t[3] - t[2];
        per[3][n] = t[3] - t[0] - (double)ms;
    }
    total = ad_now_ms() - t0;
    rc = ad_research_finalize(&env, id, &res, &err);
    if (rc < 0)
        goto fail;
    if (n > 0) {
        static const char *const names[4] = { "edit", "run less the command", "decide",
                                              "iteration" };
        double med[4], p90[4];

        for (int i = 0; i < 4; i++) {
            qsort(per[i], n, sizeof(double), cmp_double);
            med[i] = per[i][n / 2];
            p90[i] = per[i][(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
        }
        printf("iterations %zu, %lld ms, of which the command %lld ms (repeats 1)\n", n, total,
               cmd_ms);
        for (int i = 0; i < 4; i++)
            printf("  %-22s median %6.2f ms  p90 %6.2f ms\n", names[i], med[i], p90[i]);
        printf("overhead per iteration: mean %.1f ms, median %.1f ms; target <= %.0f ms: %s\n",
               (double)(total - cmd_ms) / (double)n, med[3], TARGET_MS,
               med[3] <= TARGET_MS ? "met" : "NOT met");
        printf("summary: iterations=%zu overhead_mean_ms=%.1f overhead_median_ms=%.2f "
               "overhead_p90_ms=%.2f edit_ms=%.2f run_ms=%.2f decide_ms=%.2f command_ms=%lld "
               "target_ms=%.0f\n", n, (double)(total - cmd_ms) / (double)n, med[3], p90[3],
               med[0], med[1], med[2], cmd_ms, TARGET_MS);
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bench_research: %s\n", err.msg);
    rc = 1;
out:
    json_decref(s);
    json_decref(res);
    for (int i = 0; i < 4; i++)
        free(per[i]);
    ad_bus_free(bus);
    ad_store_free(st);
    snprintf(cmd, sizeof(cmd), "git -C %s worktree prune 2>/dev/null; rm -rf %s", repo, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_research: cannot remove %s\n", dir);
    return rc;
}
