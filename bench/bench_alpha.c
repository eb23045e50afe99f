/*
 * bench_alpha: what AlphaEvolver's evaluation costs over the sandbox runs it makes.
 *
 *   bench_alpha [--quick] [ROUNDS]
 *
 * One evaluation is a parent and 3 mutants of a small skill (sorting a
 * list of words: a bubble sort, sorted(), heapq, and a copy of the bubble
 * sort itself), 5 cases, 5 repeats: 4 load checks and 100 runs, 104
 * sandbox runs in all. Each mutant is decided on latency (10% minimum,
 * 3 x noise); how often the copy "won" is the rule's false wins. Each round times two blocks in the same
 * process, on the same sandbox (the backend $AUTODEV_SANDBOX names, else
 * auto; one slot):
 *
 *   eval   ad_alpha_evaluate of the whole thing (its schedule, the JSON
 *          it keeps, the comparisons, the sums), then ad_alpha_decide
 *          for each mutant;
 *   bare   the same 104 ad_sandbox_run calls (the same code, the same
 *          load-check code, the same inputs, in the same order), each
 *          result cleared and nothing else.
 *
 * The blocks alternate (eval first in even rounds, bare first in odd ones)
 * so drift in the machine's load hits both alike. Default 6 rounds,
 * --quick 2, after one warm-up evaluation. Prints each round's runs per
 * second of both, then the totals and their ratio (the target is >= 0.9:
 * the evaluation's own work must not cost a tenth of the sandbox's), and
 * this process's own CPU time per run in each block (the sandbox's
 * supervisors and payloads are its children and not in it: what is left
 * is the caller's work, which load on the machine does not inflate much),
 * and one "summary:" line of key=value pairs. Prints numbers; asserts nothing
 * (it exits 1 when an evaluation fails).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/evaluate.h"
#include "autodev/sandbox.h"

#define NCASES 5
#define NMUTANTS 3
#define REPEATS 5
#define TARGET_RATIO 0.9
/* The load check's code, as evaluate.c writes it. */
#define PROBE_FN "__autodev_evaluate_probe__"

static const char parent_code[] =
    "def f(words):\n"
    "    out = list(words)\n"
    "    for i in range(len(out)):\n"
    "        for j in range(len(out) - 1 - i):\n"
    "            if out[j] > out[j + 1]:\n"
    "                out[j], out[j + 1] = out[j + 1], out[j]\n"
    "    return out\n";

/* The last is the parent itself: how often it "wins" is the decision's false-win rate here. */
static const char *const mutant_codes[NMUTANTS] = {
    "def f(words):\n    return sorted(words)\n",
    "import heapq\ndef f(words):\n    h = list(words)\n    heapq.heapify(h)\n"
    "    return [heapq.heappop(h) for _ in range(len(h))]\n",
    parent_code,
};

static const char *const inputs[NCASES] = {
    "[\"pear\", \"apple\", \"fig\"]",
    "[]",
    "[\"b\", \"a\", \"b\", \"a\"]",
    "[\"zeta\", \"eta\", \"theta\", \"iota\", \"kappa\", \"lambda\", \"mu\", \"nu\"]",
    "[\"one\"]",
};

static __attribute__((noreturn)) void die(const char *what, const struct ad_err *err)
{
    fprintf(stderr, "bench_alpha: %s: %s\n", what, err->msg);
    exit(1);
}

static double now_s(void)
{
    return (double)ad_mono_ns() / 1e9;
}

/* CPU seconds of this process alone (the sandbox's supervisors and payloads are children). */
static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct bench {
    struct ad_sandbox *sb;
    json_t *set;
    char *probes[1 + NMUTANTS];
    const char *codes[1 + NMUTANTS];
    int decided_won[NMUTANTS];
};

/* One evaluation and its decisions; the number of sandbox runs it made. */
static int eval_block(struct bench *b)
{
    struct ad_eval_side parent, mutants[NMUTANTS];
    struct ad_eval_opts o = { 0 };
    struct ad_decide_opts d = { AD_GOAL_LATENCY, 0.10, 3.0 };
    struct ad_alpha_decision dec;
    struct ad_err err = AD_ERR_INIT;

    o.repeats = REPEATS;
    if (ad_alpha_evaluate(b->sb, "f", parent_code, mutant_codes, NMUTANTS, b->set, &o, &parent,
                          mutants, &err) < 0)
        die("ad_alpha_evaluate", &err);
    for (int m = 0; m < NMUTANTS; m++) {
        ad_alpha_decide(&parent, &mutants[m], &d, &dec);
        b->decided_won[m] += dec.won;
        ad_eval_side_release(&mutants[m]);
    }
    ad_eval_side_release(&parent);
    return (1 + NMUTANTS) * (1 + NCASES * REPEATS);
}

static void bare_run(struct bench *b, const char *code, const char *entry, const char *input)
{
    struct ad_sandbox_spec spec;
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;

    memset(&spec, 0, sizeof(spec));
    spec.code = code;
    spec.entry = entry;
    spec.input_json = input;
    if (ad_sandbox_run(b->sb, &spec, &r, &err) < 0)
        die("ad_sandbox_run", &err);
    if (r.status != AD_SB_OK) {
        fprintf(stderr, "bench_alpha: a bare run ended %s\n", ad_sb_status_name(r.status));
        exit(1);
    }
    ad_sandbox_result_clear(&r);
}

/* The same runs as eval_block, in the same order; their number. */
static int bare_block(struct bench *b)
{
    int sides = 1 + NMUTANTS, n = 0;

    for (int s = 0; s < sides; s++, n++)
        bare_run(b, b->probes[s], PROBE_FN, NULL);
    for (int r = 0; r < REPEATS; r++)
        for (int c = 0; c < NCASES; c++)
            for (int s = 0; s < sides; s++, n++)
                bare_run(b, b->codes[(r + s) % sides], "f", inputs[c]);
    return n;
}

static void setup(struct bench *b)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    const char *backend = getenv("AUTODEV_SANDBOX");

    o.slots = 1;
    o.quiet = true;
    if (backend && *backend && ad_sb_backend_parse(backend, &o.backend, &err) < 0)
        die("AUTODEV_SANDBOX", &err);
    if (ad_sandbox_new(&o, &b->sb, &err) < 0)
        die("sandbox", &err);
    b->set = json_array();
    for (int c = 0; c < NCASES; c++)
        json_array_append_new(b->set, json_pack("{s:o}", "input", json_loads(inputs[c], 0,
                                                                             NULL)));
    b->codes[0] = parent_code;
    for (int m = 0; m < NMUTANTS; m++)
        b->codes[1 + m] = mutant_codes[m];
    for (int s = 0; s < 1 + NMUTANTS; s++) {
        b->probes[s] = ad_strdupf("%s\n\n\ndef " PROBE_FN "():\n    return callable(globals()"
                                  ".get('f'))\n", b->codes[s]);
        if (!b->probes[s]) {
            fprintf(stderr, "bench_alpha: out of memory\n");
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    struct bench b;
    int rounds = 6, runs_e = 0, runs_b = 0;
    double t_e = 0, t_b = 0, ce = 0, cb = 0;

    memset(&b, 0, sizeof(b));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            rounds = 2;
        else
            rounds = (int)strtol(argv[i], NULL, 10);
    }
    if (rounds < 1)
        rounds = 1;
    setup(&b);
    printf("alpha evaluation: parent + %d mutants, %d cases, %d repeats = %d sandbox runs "
           "(backend %s)\n", NMUTANTS, NCASES, REPEATS, (1 + NMUTANTS) * (1 + NCASES * REPEATS),
           ad_sb_backend_name(ad_sandbox_backend(b.sb)));
    (void)eval_block(&b);   /* warm-up */
    memset(b.decided_won, 0, sizeof(b.decided_won));
    printf("  round  first   eval runs/s   bare runs/s   ratio\n");
    for (int r = 0; r < rounds; r++) {
        double te, tb, t0, c0;
        int ne, nb;

        if (r % 2 == 0) {
            t0 = now_s();
            c0 = cpu_s();
            ne = eval_block(&b);
            ce += cpu_s() - c0;
            te = now_s() - t0;
            t0 = now_s();
            c0 = cpu_s();
            nb = bare_block(&b);
            cb += cpu_s() - c0;
            tb = now_s() - t0;
        } else {
            t0 = now_s();
            c0 = cpu_s();
            nb = bare_block(&b);
            cb += cpu_s() - c0;
            tb = now_s() - t0;
            t0 = now_s();
            c0 = cpu_s();
            ne = eval_block(&b);
            ce += cpu_s() - c0;
            te = now_s() - t0;
        }
        printf("  %5d  %-5s  %12.1f  %12.1f  %6.3f\n", r + 1, r % 2 ? "bare" : "eval", ne / te,
               nb / tb, (ne / te) / (nb / tb));
        runs_e += ne;
        runs_b += nb;
        t_e += te;
        t_b += tb;
    }
    printf("  total          %12.1f  %12.1f  %6.3f  (target >= %.1f)\n", runs_e / t_e,
           runs_b / t_b, (runs_e / t_e) / (runs_b / t_b), TARGET_RATIO);
    printf("  this process's CPU per run: eval %.3f ms, bare %.3f ms (the rest is the "
           "sandbox's)\n", 1000.0 * ce / runs_e, 1000.0 * cb / runs_b);
    printf("  won on latency, of %d evaluations: sorted() %d, heapq %d, the parent's copy %d\n",
           rounds, b.decided_won[0], b.decided_won[1], b.decided_won[2]);
    printf("summary: eval_runs_per_s=%.1f bare_runs_per_s=%.1f ratio=%.3f rounds=%d "
           "copy_false_wins=%d\n", runs_e / t_e, runs_b / t_b, (runs_e / t_e) / (runs_b / t_b),
           rounds, b.decided_won[2]);
    for (int s = 0; s < 1 + NMUTANTS; s++)
        free(b.probes[s]);
    json_decref(b.set);
    ad_sandbox_free(b.sb);
    return 0;
}
