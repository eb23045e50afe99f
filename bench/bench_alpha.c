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

#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/buf.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/evaluate.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

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

/* ---- the whole alpha.mutate job ------------------------------------------------------- */

/*
 * A job block runs ad_alpha_run as the alpha.mutate job does (a store, the
 * catalog version, its recorded inputs, the offline proposer, risk, rows,
 * variants, fitness, the decision, a re-evaluation of winners) and records
 * every sandbox run its evaluations made (through on_run); the bare block
 * then makes exactly those runs again, nothing else.
 */
#define JOB_MUTANTS 3
#define JOB_CODE_MAX (1 + JOB_MUTANTS)

static const char job_code[] =
    "def f(words):\n"
    "    out = list(words)\n"
    "    # EVOLVE-BLOCK-START\n"
    "    passes = 2  # the sort is run twice: a leftover\n"
    "    # EVOLVE-BLOCK-END\n"
    "    for _ in range(passes):\n"
    "        out = sorted(out)\n"
    "    return out\n";

struct recorded {
    char *code;          /* owned: the side's code, or its load check */
    char *entry;
    char *input;         /* owned compact JSON; NULL for a load check */
};

struct job_bench {
    struct ad_store *st;
    struct ad_bus *bus;
    char dir[64], db[128];
    char tenant[AD_ID_SIZE], agent[AD_ID_SIZE], version[AD_ID_SIZE];
    struct recorded *runs;
    size_t nruns, cap;
    /* the evaluation being recorded */
    const char *codes[JOB_CODE_MAX + 8];
    size_t ncodes;
    const json_t *set;
    const char *entry;
};

static void record_run(void *ctx, const struct ad_eval_run *run)
{
    struct job_bench *j = ctx;
    struct recorded *r;

    if (run->skipped || run->side < 0 || (size_t)run->side >= j->ncodes)
        return;
    if (j->nruns == j->cap) {
        j->cap = j->cap ? 2 * j->cap : 256;
        j->runs = realloc(j->runs, j->cap * sizeof(*j->runs));
        if (!j->runs) {
            fprintf(stderr, "bench_alpha: out of memory\n");
            exit(1);
        }
    }
    r = &j->runs[j->nruns++];
    if (run->case_index < 0) {
        r->code = ad_strdupf("%s\n\n\ndef " PROBE_FN "():\n    return callable(globals()"
                             ".get('%s'))\n", j->codes[run->side], j->entry);
        r->entry = strdup(PROBE_FN);
        r->input = NULL;
    } else {
        r->code = strdup(j->codes[run->side]);
        r->entry = strdup(j->entry);
        r->input = json_dumps(json_object_get(json_array_get(j->set, (size_t)run->case_index),
                                              "input"), JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

/* The evaluation hook: the real ad_alpha_evaluate, every run recorded. */
static int recording_evaluate(void *ctx, struct ad_sandbox *sb, const char *entry,
                              const char *parent_code_, const char *const *mutant_codes_,
                              size_t nmutants, const json_t *test_set,
                              const struct ad_eval_opts *o, struct ad_eval_side *parent_out,
                              struct ad_eval_side *mutants_out, struct ad_err *err)
{
    struct job_bench *j = ctx;
    struct ad_eval_opts mine = *o;

    j->ncodes = 0;
    j->codes[j->ncodes++] = parent_code_;
    for (size_t i = 0; i < nmutants && j->ncodes < AD_ARRAY_SIZE(j->codes); i++)
        j->codes[j->ncodes++] = mutant_codes_[i];
    j->set = test_set;
    j->entry = entry;
    mine.progress = NULL;
    mine.on_run = record_run;
    mine.progress_ctx = j;
    return ad_alpha_evaluate(sb, entry, parent_code_, mutant_codes_, nmutants, test_set, &mine,
                             parent_out, mutants_out, err);
}

static void job_setup(struct job_bench *j, struct ad_sandbox *sb)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_add add = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_agent a = { 0 };
    struct ad_settings s;

    snprintf(j->dir, sizeof(j->dir), "/tmp/bench-alpha-XXXXXX");
    if (!mkdtemp(j->dir)) {
        perror("bench_alpha: mkdtemp");
        exit(1);
    }
    snprintf(j->db, sizeof(j->db), "%s/autodev.db", j->dir);
    if (ad_store_open(j->db, &so, &j->st, &err) < 0 || ad_bus_new(j->st, &j->bus, &err) < 0 ||
        ad_store_tenant_ensure(j->st, "bench", j->tenant, &err) < 0 ||
        ad_agents_add(j->st, j->tenant, "bench", AD_SUPERVISED, &a, &err) < 0)
        die("job store", &err);
    memcpy(j->agent, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
    if (ad_settings_get(j->st, j->tenant, &s, &err) < 0)
        die("settings", &err);
    s.enabled = true;
    s.evolution_mutants = JOB_MUTANTS;
    s.evolution_repeats = REPEATS;
    s.max_mutations_per_day = 50;
    if (ad_settings_put(j->st, j->tenant, &s, &err) < 0)
        die("settings", &err);
    add.tenant_id = j->tenant;
    add.name = "f";
    add.entry = "f";
    add.code = job_code;
    add.origin = AD_ORIGIN_MANUAL;
    if (ad_catalog_add(j->st, &add, NULL, &v, &err) < 0)
        die("catalog", &err);
    memcpy(j->version, v.id, AD_ID_SIZE);
    ad_skill_version_release(&v);
    for (int c = 0; c < NCASES; c++) {
        struct ad_task t = { 0 };
        struct ad_task_outcome out;
        json_t *in = json_pack("{s:O}", "words", json_loads(inputs[c], 0, NULL));

        memset(&out, 0, sizeof(out));
        ad_episode_init(&out.episode);
        t.tenant_id = j->tenant;
        t.agent_id = j->agent;
        t.description = "sort the words";
        t.task_kind = "bench.alpha";
        t.skill = "f";
        t.input = in;
        if (ad_task_run(j->st, j->bus, sb, &t, &out, &err) < 0)
            die("task run", &err);
        ad_task_outcome_release(&out);
        json_decref(in);
    }
}

static void job_runs_clear(struct job_bench *j)
{
    for (size_t i = 0; i < j->nruns; i++) {
        free(j->runs[i].code);
        free(j->runs[i].entry);
        free(j->runs[i].input);
    }
    j->nruns = 0;
}

/* One whole job; the number of sandbox runs its evaluations made. */
static int job_block(struct bench *b, struct job_bench *j)
{
    struct ad_alpha_opts o = { 0 };
    struct ad_alpha_result res;
    struct ad_err err = AD_ERR_INIT;
    json_t *p = json_pack("{s:s, s:s, s:s}", "skill_version_id", j->version, "agent_id",
                          j->agent, "trigger", "latency");

    job_runs_clear(j);
    o.tenant_id = j->tenant;
    o.evaluate = recording_evaluate;
    o.evaluate_ctx = j;
    if (ad_alpha_run(j->st, j->bus, b->sb, NULL, &o, p, &res, &err) < 0)
        die("ad_alpha_run", &err);
    json_decref(p);
    return (int)j->nruns;
}

/* The job's sandbox runs again, bare. */
static int job_bare_block(struct bench *b, struct job_bench *j)
{
    for (size_t i = 0; i < j->nruns; i++) {
        struct ad_sandbox_spec spec;
        struct ad_sandbox_result r;
        struct ad_err err = AD_ERR_INIT;

        memset(&spec, 0, sizeof(spec));
        spec.code = j->runs[i].code;
        spec.entry = j->runs[i].entry;
        spec.input_json = j->runs[i].input;
        if (ad_sandbox_run(b->sb, &spec, &r, &err) < 0)
            die("ad_sandbox_run", &err);
        ad_sandbox_result_clear(&r);
    }
    return (int)j->nruns;
}

static void job_free(struct job_bench *j)
{
    job_runs_clear(j);
    free(j->runs);
    ad_bus_free(j->bus);
    ad_store_free(j->st);
    for (const char *sfx = "\0-wal\0-shm\0"; ; sfx += strlen(sfx) + 1) {
        char path[160];

        snprintf(path, sizeof(path), "%s%s", j->db, sfx);
        unlink(path);
        if (!strcmp(sfx, "-shm"))
            break;
    }
    rmdir(j->dir);
}

/* Rounds of a whole job against its own runs made bare, alternating which goes first. */
static void job_rounds(struct bench *b, int rounds)
{
    struct job_bench j;
    double t_j = 0, t_b = 0;
    int n_j = 0, n_b = 0;

    memset(&j, 0, sizeof(j));
    job_setup(&j, b->sb);
    printf("\nalpha.mutate job: offline proposer, %d mutants, %d recorded inputs, %d repeats, "
           "re-evaluation of winners, rows, variants, fitness\n", JOB_MUTANTS, NCASES, REPEATS);
    printf("  round  first   job runs/s    bare runs/s   ratio   runs\n");
    for (int r = 0; r < rounds; r++) {
        double tj, tb, t0;
        int nj, nb;

        if (r % 2 == 0) {
            t0 = now_s();
            nj = job_block(b, &j);
            tj = now_s() - t0;
            t0 = now_s();
            nb = job_bare_block(b, &j);
            tb = now_s() - t0;
        } else {
            /* The bare block replays the previous job's runs; then a new job. */
            t0 = now_s();
            nb = job_bare_block(b, &j);
            tb = now_s() - t0;
            t0 = now_s();
            nj = job_block(b, &j);
            tj = now_s() - t0;
        }
        printf("  %5d  %-5s  %12.1f  %12.1f  %6.3f  %5d\n", r + 1, r % 2 ? "bare" : "job",
               nj / tj, nb / tb, (nj / tj) / (nb / tb), nj);
        n_j += nj;
        n_b += nb;
        t_j += tj;
        t_b += tb;
    }
    printf("  total          %12.1f  %12.1f  %6.3f  (target >= %.1f)\n", n_j / t_j, n_b / t_b,
           (n_j / t_j) / (n_b / t_b), TARGET_RATIO);
    printf("summary: job_runs_per_s=%.1f job_bare_runs_per_s=%.1f job_ratio=%.3f rounds=%d\n",
           n_j / t_j, n_b / t_b, (n_j / t_j) / (n_b / t_b), rounds);
    job_free(&j);
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
    job_rounds(&b, rounds);
    for (int s = 0; s < 1 + NMUTANTS; s++)
        free(b.probes[s]);
    json_decref(b.set);
    ad_sandbox_free(b.sb);
    return 0;
}
