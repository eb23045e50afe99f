/*
 * Programming-by-example benchmark: prints numbers, asserts nothing.
 *
 *   bench_pbe [-v] [-g | -n] [SETS_DIR [KINDS.tsv]]
 *
 * Reads the SyGuS string problems of ../shared/benchmarks/pbe/sets (from
 * the source root; $AUTODEV_PBE or SETS_DIR overrides), as its README
 * describes them: problems.tsv names every problem, P.train.jsonl holds the
 * examples to learn from and P.test.jsonl the held-out ones. For each
 * problem ad_synth() runs on the training lines (no Python re-check: the C
 * evaluation is what it checks), and the program found is run with
 * ad_synth_apply() on every held-out input. A problem is
 *
 *   solved     a program was found and gives every held-out output exactly
 *              (a bool is not a number, a string is not a number; 2 == 2.0)
 *   overfit    a program was found but one held-out answer is wrong, or the
 *              program raises on a held-out input
 *   none       no program (not found, or the budget reached)
 *
 * The held-out inputs are passed as probes (opts.probes, their outputs
 * unseen), with opts.refuse_ties: ad_synth says when programs of near-equal
 * cost disagree on them ("ambiguity reported on" counts those calls, apart
 * for solved and for overfit problems) and returns no program where the
 * examples cannot decide. -g: hand out the guess anyway (refuse_ties off).
 * -n: no probes, so ambiguity is looked for on the examples perturbed.
 *
 * Per suite: the counts, the median and max time of one call (the median
 * of three calls per problem). Then the failures by kind, from KINDS.tsv
 * (bench/pbe_kinds.tsv: problem, kind; assigned by reading each problem).
 * -v prints one line per problem.
 */
#include "compat.h"

#include <math.h>

#include "autodev/clock.h"
#include "autodev/synth.h"

#define REPS 3
#define MAX_PROBLEMS 512
#define MAX_KINDS 32

struct problem {
    char suite[32];
    char name[128];
    char kind[32];
    int outcome;        /* 0 solved, 1 overfit, 2 none */
    bool ambiguous;
    bool refused;       /* no program: a tie the examples cannot decide */
    char amb[48];       /* where the distinguishing input came from, the cost gap */
    double ms;
};

static bool refuse_ties = true;   /* -g: hand out the guess */
static bool no_probes;             /* -n: no held-out probes, the examples perturbed */

static const char *const outcome_word[] = { "solved", "overfit", "none" };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* JSON lines as an array; NULL when the file cannot be read. */
static json_t *read_lines(const char *dir, const char *name, const char *ext)
{
    char path[1024], line[1 << 16];
    json_t *a;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.%s.jsonl", dir, name, ext);
    f = fopen(path, "r");
    if (!f)
        return NULL;
    a = json_array();
    while (fgets(line, sizeof(line), f)) {
        json_error_t je;
        json_t *v;

        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        v = json_loads(line, 0, &je);
        if (!v) {
            fprintf(stderr, "%s: %s\n", path, je.text);
            continue;
        }
        json_array_append_new(a, v);
    }
    fclose(f);
    return a;
}

/* Python's == on the values a benchmark answer takes: numbers by value, a bool only a bool. */
static bool same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static int run_problem(const char *dir, struct problem *pr, bool verbose)
{
    json_t *train = read_lines(dir, pr->name, "train");
    json_t *test = read_lines(dir, pr->name, "test");
    json_t *probes = json_array();
    double ms[REPS];
    struct ad_synth_result res;
    const json_t *t;
    size_t i;
    int rc = 0;

    if (!train || !test) {
        fprintf(stderr, "%s: missing train or test lines in %s\n", pr->name, dir);
        json_decref(train);
        json_decref(test);
        json_decref(probes);
        return -1;
    }
    json_array_foreach(test, i, t)
        json_array_append(probes, json_object_get(t, "input"));
    for (int r = 0; r < REPS; r++) {
        struct ad_synth_opts o = { 0 };
        struct ad_err err = AD_ERR_INIT;
        int64_t t0;

        o.name = "f";
        o.probes = no_probes ? NULL : probes;
        o.refuse_ties = refuse_ties;
        memset(&res, 0, sizeof(res));
        t0 = ad_mono_ns();
        rc = ad_synth(train, &o, &res, &err);
        ms[r] = (double)(ad_mono_ns() - t0) / 1e6;
        if (r + 1 < REPS)
            ad_synth_result_release(&res);
    }
    qsort(ms, REPS, sizeof(ms[0]), cmp_double);
    pr->ms = ms[REPS / 2];
    pr->ambiguous = rc == 0 && res.ambiguity != NULL;
    if (res.ambiguity) {
        snprintf(pr->amb, sizeof(pr->amb), "%s %.2f",
                 json_string_value(json_object_get(res.ambiguity, "from")),
                 json_real_value(json_object_get(res.ambiguity, "cost_gap")));
        pr->refused = rc != 0;
    }
    if (verbose && res.ambiguity) {
        char *in = json_dumps(json_object_get(res.ambiguity, "input"), JSON_ENCODE_ANY);
        char *a = json_dumps(json_object_get(res.ambiguity, "answer"), JSON_ENCODE_ANY);
        char *b = json_dumps(json_object_get(res.ambiguity, "answers"), JSON_ENCODE_ANY);

        printf("    %s: vs %s on %.80s: %.60s / %.80s\n", pr->name,
               json_string_value(json_array_get(json_object_get(res.ambiguity, "alternatives"),
                                                0)),
               in ? in : "?", a ? a : "?", b ? b : "?");
        free(in);
        free(a);
        free(b);
    }
    if (rc != 0) {
        pr->outcome = 2;
    } else {
        pr->outcome = 0;
        json_array_foreach(test, i, t) {
            struct ad_err err = AD_ERR_INIT;
            json_t *got = NULL;

            if (ad_synth_apply(&res, json_object_get(t, "input"), &got, &err) != 0 ||
                !same(got, json_object_get(t, "output")))
                pr->outcome = 1;
            json_decref(got);
            if (pr->outcome)
                break;
        }
    }
    if (verbose)
        printf("  %-8s %-50s %-12s %-7s %-14s %8.3f  %s\n", pr->suite, pr->name, pr->kind,
               outcome_word[pr->outcome], pr->amb[0] ? pr->amb : "-", pr->ms,
               res.summary ? res.summary : res.why ? res.why : "");
    ad_synth_result_release(&res);
    json_decref(train);
    json_decref(test);
    json_decref(probes);
    return 0;
}

static void read_kinds(const char *path, struct problem *pv, size_t n)
{
    char line[512];
    FILE *f = fopen(path, "r");

    for (size_t i = 0; i < n; i++)
        snprintf(pv[i].kind, sizeof(pv[i].kind), "?");
    if (!f) {
        fprintf(stderr, "no kinds file %s: kinds shown as ?\n", path);
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t');

        if (!tab || line[0] == '#')
            continue;
        *tab++ = '\0';
        tab[strcspn(tab, "\r\n\t")] = '\0';
        for (size_t i = 0; i < n; i++)
            if (!strcmp(pv[i].name, line))
                snprintf(pv[i].kind, sizeof(pv[i].kind), "%.31s", tab);
    }
    fclose(f);
}

static void suite_table(const struct problem *pv, size_t n, const char *suite)
{
    int cnt[3] = { 0 }, amb[3] = { 0 }, total = 0;
    double ms[MAX_PROBLEMS];

    for (size_t i = 0; i < n; i++) {
        if (strcmp(pv[i].suite, suite))
            continue;
        cnt[pv[i].outcome]++;
        amb[pv[i].outcome] += pv[i].ambiguous;
        ms[total++] = pv[i].ms;
    }
    if (!total)
        return;
    qsort(ms, (size_t)total, sizeof(ms[0]), cmp_double);
    printf("  %-13s %5d %7d %8d %5d %10.3f %9.3f   %d of %d solved, %d of %d overfit\n", suite,
           cnt[0], cnt[1], cnt[2], total, ms[total / 2], ms[total - 1], amb[0], cnt[0], amb[1],
           cnt[1]);
}

static void kind_table(const struct problem *pv, size_t n)
{
    const char *kinds[MAX_KINDS];
    size_t nk = 0;

    for (size_t i = 0; i < n; i++) {
        size_t k;

        for (k = 0; k < nk && strcmp(kinds[k], pv[i].kind); k++)
            ;
        if (k == nk && nk < MAX_KINDS)
            kinds[nk++] = pv[i].kind;
    }
    printf("\nfailures by kind (overfit + none; all suites)\n");
    printf("  %-14s %6s %7s %7s %5s\n", "kind", "total", "solved", "overfit", "none");
    for (size_t k = 0; k < nk; k++) {
        int c[3] = { 0 }, t = 0;

        for (size_t i = 0; i < n; i++)
            if (!strcmp(pv[i].kind, kinds[k]))
                c[pv[i].outcome]++, t++;
        printf("  %-14s %6d %7d %7d %5d\n", kinds[k], t, c[0], c[1], c[2]);
    }
}

int main(int argc, char **argv)
{
    static struct problem pv[MAX_PROBLEMS];
    const char *dir = getenv("AUTODEV_PBE");
    const char *kinds = AD_SRCDIR "/bench/pbe_kinds.tsv";
    char path[1024], line[1024];
    bool verbose = false;
    size_t n = 0;
    int argi = 1;
    FILE *f;

    if (argi < argc && !strcmp(argv[argi], "-v"))
        verbose = true, argi++;
    if (argi < argc && !strcmp(argv[argi], "-g"))
        refuse_ties = false, argi++;
    if (argi < argc && !strcmp(argv[argi], "-n"))
        no_probes = true, refuse_ties = false, argi++;
    if (argi < argc)
        dir = argv[argi++];
    if (argi < argc)
        kinds = argv[argi++];
    if (!dir || !*dir)
        dir = AD_SRCDIR "/../shared/benchmarks/pbe/sets";
    snprintf(path, sizeof(path), "%s/problems.tsv", dir);
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_pbe: cannot read %s (set $AUTODEV_PBE to the sets directory)\n",
                path);
        return 1;
    }
    while (fgets(line, sizeof(line), f) && n < MAX_PROBLEMS) {
        char *suite = line, *name = strchr(line, '\t');

        if (!name || !strncmp(line, "suite\t", 6))
            continue;
        *name++ = '\0';
        name[strcspn(name, "\t\r\n")] = '\0';
        snprintf(pv[n].suite, sizeof(pv[n].suite), "%.31s", suite);
        snprintf(pv[n].name, sizeof(pv[n].name), "%.127s", name);
        n++;
    }
    fclose(f);
    read_kinds(kinds, pv, n);
    printf("bench_pbe: %zu problems from %s\n", n, dir);
    if (verbose)
        printf("  %-8s %-50s %-12s %-7s %s %8s  %s\n", "suite", "problem", "kind", "result", "A",
               "ms", "program or why");
    for (size_t i = 0; i < n; i++)
        if (run_problem(dir, &pv[i], verbose) < 0)
            return 1;
    printf("\n  %-13s %5s %7s %8s %5s %10s %9s   %s\n", "suite", "solved", "overfit", "none",
           "total", "median ms", "max ms", "ambiguity reported on");
    suite_table(pv, n, "sygus17");
    suite_table(pv, n, "euphony");
    suite_table(pv, n, "sygus18extra");
    kind_table(pv, n);
    return 0;
}
