/*
 * Evolution research runs (evolve.h): creating a run after its preflight,
 * and the evolve.generation job that does one generation of it.
 *
 * A generation, each step written before the next starts:
 *   load       the run (running, and g generations done, else nothing to
 *              do) and its archive: every program row, in order
 *   seed       generation 0 only: the seed version evaluated, placed on
 *              island 0, copied to the others; default feature ranges
 *              fixed from it
 *   slots      for each proposal slot k without a row: a parent drawn
 *              from island k % islands (by fitness rank, with a bonus for
 *              few children), a proposal, novelty (dropped before it runs
 *              when a near-duplicate), the cascade, the placement; the
 *              row, the retired elite, the parent's children and the
 *              trace lines in one transaction
 *   boundary   every M generations the islands' bests re-evaluated and
 *              migrated around the ring; after S stale generations the
 *              weakest islands reset; the run's counters, PRNG state,
 *              best and state in the same transaction as those rows
 *
 * Every random choice of slot k comes from a PRNG seeded by the
 * generation's PRNG state and k, so a slot redone after a crash makes the
 * choices it made the first time.
 *
 * Sections: helpers / params / evaluation / the archive loaded / one slot /
 * the boundary / the generation / create, reopen, submit, show.
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/bus.h"
#include "autodev/evaluate.h"
#include "autodev/evolve.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/llm.h"
#include "autodev/log.h"
#include "autodev/propose.h"
#include "autodev/risk.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"

#include "evolve_int.h"

#define WALL_MS_DEFAULT 10000
#define say(...) AD_LOG(AD_LOG_INFO, "evolve: " __VA_ARGS__)

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static void hash_hex(const char *s, char out[17])
{
    snprintf(out, 17, "%016llx",
             (unsigned long long)fnv64(1469598103934665603ULL, s, strlen(s)));
}

/* ---- params ------------------------------------------------------------------------ */

void ad_evolve_params_init(struct ad_evolve_params *p)
{
    memset(p, 0, sizeof(*p));
    p->generations = 10;
    p->population = 8;
    p->islands = 2;
    p->seed = 1;
    p->migration_interval = 3;
    p->stagnation = 5;
    p->fitness = AD_EVOLVE_FIT_LATENCY;
    p->stage1_cases = 2;
    p->cascade_margin = 0.1;
    p->novelty = 0.95;
    p->max_cases = 20;
}

static const char *fitness_name(enum ad_evolve_fitness f)
{
    return f == AD_EVOLVE_FIT_OUTPUT ? "output" : "latency";
}

static json_t *dims_json(const struct ad_evolve_dim *d, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_pack("{s:s, s:f, s:f, s:i}", "name", d[i].name, "min",
                                               d[i].min, "max", d[i].max, "bins",
                                               d[i].bins)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *params_json(const struct ad_evolve_params *p)
{
    return json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:f, s:I, s:i, s:i, s:s, s:i, s:f, s:f, "
                     "s:i, s:o, s:{s:i, s:f}}",
                     "generations", p->generations, "population", p->population, "islands",
                     p->islands, "seed", (json_int_t)(p->seed & INT64_MAX), "max_evaluations",
                     (json_int_t)p->max_evaluations, "time_budget_s",
                     (json_int_t)p->time_budget_s, "budget_usd", p->budget_usd, "budget_tokens",
                     (json_int_t)p->budget_tokens, "migration_interval", p->migration_interval,
                     "stagnation", p->stagnation, "fitness", fitness_name(p->fitness),
                     "stage1_cases", p->stage1_cases, "cascade_margin", p->cascade_margin,
                     "novelty", p->novelty, "max_cases", p->max_cases, "features",
                     dims_json(p->dims, p->ndims), "state", "stale", 0, "seconds", 0.0);
}

static int params_read(const json_t *j, struct ad_evolve_params *p, struct ad_err *err)
{
    const json_t *f = json_object_get(j, "features"), *d;
    size_t i;

    ad_evolve_params_init(p);
    p->generations = (int)json_integer_value(json_object_get(j, "generations"));
    p->population = (int)json_integer_value(json_object_get(j, "population"));
    p->islands = (int)json_integer_value(json_object_get(j, "islands"));
    p->seed = (uint64_t)json_integer_value(json_object_get(j, "seed"));
    p->max_evaluations = json_integer_value(json_object_get(j, "max_evaluations"));
    p->time_budget_s = json_integer_value(json_object_get(j, "time_budget_s"));
    p->budget_usd = json_number_value(json_object_get(j, "budget_usd"));
    p->budget_tokens = json_integer_value(json_object_get(j, "budget_tokens"));
    p->migration_interval = (int)json_integer_value(json_object_get(j, "migration_interval"));
    p->stagnation = (int)json_integer_value(json_object_get(j, "stagnation"));
    p->fitness = !strcmp(ad_json_str(j, "fitness") ? ad_json_str(j, "fitness") : "", "output")
                     ? AD_EVOLVE_FIT_OUTPUT
                     : AD_EVOLVE_FIT_LATENCY;
    p->stage1_cases = (int)json_integer_value(json_object_get(j, "stage1_cases"));
    p->cascade_margin = json_number_value(json_object_get(j, "cascade_margin"));
    p->novelty = json_number_value(json_object_get(j, "novelty"));
    p->max_cases = (int)json_integer_value(json_object_get(j, "max_cases"));
    p->ndims = 0;
    json_array_foreach(f, i, d) {
        const char *name = ad_json_str(d, "name");

        if (i >= AD_EVOLVE_DIMS_MAX || !name || strlen(name) >= sizeof(p->dims[0].name))
            return ad_error(err, AD_ECORRUPT, "evolution run: a bad feature in its params");
        memcpy(p->dims[i].name, name, strlen(name) + 1);
        p->dims[i].min = json_number_value(json_object_get(d, "min"));
        p->dims[i].max = json_number_value(json_object_get(d, "max"));
        p->dims[i].bins = (int)json_integer_value(json_object_get(d, "bins"));
        p->ndims++;
    }
    if (p->generations < 1 || p->population < 1 || p->islands < 1 ||
        p->islands > AD_EVOLVE_ISLANDS_MAX || p->population > AD_EVOLVE_POPULATION_MAX)
        return ad_error(err, AD_ECORRUPT, "evolution run: damaged params");
    return 0;
}

static int params_check(const struct ad_evolve_params *p, struct ad_err *err)
{
    if (p->generations < 1 || p->generations > AD_EVOLVE_GENERATIONS_MAX)
        return ad_error(err, AD_EINVAL, "generations must be 1..%d", AD_EVOLVE_GENERATIONS_MAX);
    if (p->population < 1 || p->population > AD_EVOLVE_POPULATION_MAX)
        return ad_error(err, AD_EINVAL, "population must be 1..%d", AD_EVOLVE_POPULATION_MAX);
    if (p->islands < 1 || p->islands > AD_EVOLVE_ISLANDS_MAX)
        return ad_error(err, AD_EINVAL, "islands must be 1..%d", AD_EVOLVE_ISLANDS_MAX);
    if (p->max_evaluations < 0 || p->time_budget_s < 0 || p->budget_tokens < 0 ||
        !isfinite(p->budget_usd) || p->budget_usd < 0)
        return ad_error(err, AD_EINVAL, "a budget must not be negative");
    if (p->migration_interval < 1 || p->stagnation < 0)
        return ad_error(err, AD_EINVAL, "the migration interval must be >= 1, stagnation >= 0");
    if (p->stage1_cases < 1 || p->max_cases < 1 || p->max_cases > AD_ALPHA_CASES_MAX)
        return ad_error(err, AD_EINVAL, "stage-1 cases must be >= 1, cases 1..%d",
                        AD_ALPHA_CASES_MAX);
    if (!(p->cascade_margin >= 0) || !(p->novelty > 0 && p->novelty <= 1))
        return ad_error(err, AD_EINVAL, "the cascade margin must be >= 0, novelty in (0, 1]");
    return 0;
}

/* ---- evaluation ------------------------------------------------------------------- */

/* What the evaluation of one program found. */
struct score {
    bool ok;                 /* every run ok (and correct, for latency fitness) */
    int stage;               /* 1 or 2 */
    int runs;                /* sandbox runs made */
    double fitness;          /* NAN when not ok */
    double stage1;           /* the stage-1 score (output: mean; latency: us) */
    double latency_ms, cpu_ms;
    json_t *outputs;         /* array (owned) */
    json_t *extra;           /* object: numeric output keys averaged (owned) */
    char error[256];
};

static void score_release(struct score *s)
{
    json_decref(s->outputs);
    json_decref(s->extra);
    memset(s, 0, sizeof(*s));
}

struct gen {
    const struct ad_evolve_env *env;
    struct ad_evolve_run run;
    struct ad_evolve_params p;
    const json_t *tests;     /* borrowed from run.params */
    const char *entry;       /* borrowed */
    struct ad_evolve_archive a;
    uint64_t **grams;        /* per a.v[i], lazily */
    size_t *ngrams;
    size_t gcap;
    int64_t seq;             /* last trace line */
    int evals;               /* sandbox runs of this process in this generation */
    json_t *pending;         /* trace lines to write with the next transaction */
};

/* A case's number for the output fitness: the output, or its "score". */
static bool case_score(const json_t *out, double *v)
{
    if (json_is_object(out))
        out = json_object_get(out, "score");
    if (!json_is_number(out) || !isfinite(json_number_value(out)))
        return false;
    *v = json_number_value(out);
    return true;
}

/* Adds the numeric keys of an object output into sums (divided later). */
static void add_extra(json_t *sums, const json_t *out)
{
    const char *k;
    json_t *v;

    if (!json_is_object(out))
        return;
    json_object_foreach((json_t *)out, k, v) {
        double x = json_number_value(json_object_get(sums, k));

        if (json_is_number(v) && isfinite(json_number_value(v)) && strlen(k) < 32)
            json_object_set_new(sums, k, json_real(x + json_number_value(v)));
    }
}

/* Runs code on cases [from, to), appending outputs; false on the first failed run. */
static int run_cases(struct gen *g, const char *code, size_t from, size_t to, struct score *s,
                     double *lat_us, double *cpu, struct ad_err *err)
{
    struct ad_sandbox_spec spec = { 0 };

    spec.code = code;
    spec.entry = g->entry;
    spec.limits.wall_ms = WALL_MS_DEFAULT;
    for (size_t i = from; i < to; i++) {
        struct ad_sandbox_result r = { 0 };
        char *in = json_dumps(json_object_get(json_array_get(g->tests, i), "input"),
                              JSON_COMPACT | JSON_ENCODE_ANY);
        int rc;

        if (!in)
            return oom(err);
        spec.input_json = in;
        rc = ad_sandbox_run(g->env->sb, &spec, &r, err);
        free(in);
        if (rc < 0) {
            ad_sandbox_result_clear(&r);
            return rc;
        }
        s->runs++;
        g->evals++;
        if (r.status != AD_SB_OK) {
            snprintf(s->error, sizeof(s->error), "case %zu: %s%s%s", i + 1,
                     ad_sb_status_name(r.status), r.error ? ": " : "",
                     r.error ? ad_json_str(r.error, "message") ? ad_json_str(r.error, "message")
                                                               : ""
                             : "");
            ad_sandbox_result_clear(&r);
            s->ok = false;
            return 0;
        }
        *lat_us += r.load_us >= 0 && r.call_us >= 0 ? (double)(r.load_us + r.call_us)
                                                    : (double)r.wall_ms * 1000;
        *cpu += (double)r.cpu_ms;
        json_array_append(s->outputs, r.output ? r.output : json_null());
        add_extra(s->extra, r.output);
        ad_sandbox_result_clear(&r);
    }
    return 0;
}

/* The score of outputs [0, upto) for the output fitness; false when one is no number. */
static bool output_mean(const json_t *outs, size_t upto, double *mean, char *why, size_t wsz)
{
    double sum = 0, v;

    for (size_t i = 0; i < upto; i++) {
        if (!case_score(json_array_get(outs, i), &v)) {
            snprintf(why, wsz, "case %zu: the output is no number (nor an object with a numeric "
                               "\"score\")", i + 1);
            return false;
        }
        sum += v;
    }
    *mean = upto ? sum / (double)upto : NAN;
    return true;
}

/* Latency fitness: outputs [0, upto) equal to the reference's and to the expected ones. */
static bool outputs_correct(const struct gen *g, const json_t *outs, size_t upto, char *why,
                            size_t wsz)
{
    const json_t *ref = json_object_get(g->run.params, "reference");

    for (size_t i = 0; i < upto; i++) {
        const json_t *o = json_array_get(outs, i), *t = json_array_get(g->tests, i);
        const json_t *exp = json_object_get(t, "expected");

        if (ref && !ad_alpha_outputs_equal(o, json_array_get(ref, i))) {
            snprintf(why, wsz, "case %zu: the output differs from the seed's", i + 1);
            return false;
        }
        if (exp && !json_is_null(exp) && !ad_alpha_outputs_equal(o, exp)) {
            snprintf(why, wsz, "case %zu: the output differs from the expected one", i + 1);
            return false;
        }
    }
    return true;
}

/*
 * The cascade: stage 1 on the first stage1_cases cases; stage 2 (every
 * case) only when stage 1 is correct and not worse than parent_stage1 by
 * more than the margin (NAN parent: no threshold, as for the seed).
 */
static int evaluate(struct gen *g, const char *code, double parent_stage1, struct score *s,
                    struct ad_err *err)
{
    size_t n = json_array_size(g->tests);
    size_t k1 = (size_t)g->p.stage1_cases < n ? (size_t)g->p.stage1_cases : n;
    double lat = 0, cpu = 0, mean = NAN;
    bool out_fit = g->p.fitness == AD_EVOLVE_FIT_OUTPUT;
    int rc;

    memset(s, 0, sizeof(*s));
    s->fitness = s->stage1 = NAN;
    s->outputs = json_array();
    s->extra = json_object();
    if (!s->outputs || !s->extra)
        return oom(err);
    s->ok = true;
    s->stage = 1;
    rc = run_cases(g, code, 0, k1, s, &lat, &cpu, err);
    if (rc < 0 || !s->ok)
        return rc;
    if (out_fit ? !output_mean(s->outputs, k1, &mean, s->error, sizeof(s->error))
                : !outputs_correct(g, s->outputs, k1, s->error, sizeof(s->error))) {
        s->ok = false;
        return 0;
    }
    s->stage1 = out_fit ? mean : lat;
    if (isfinite(parent_stage1) && k1 < n) {
        double slack = g->p.cascade_margin * fabs(parent_stage1);
        bool worse = out_fit ? s->stage1 < parent_stage1 - slack
                             : s->stage1 > parent_stage1 + slack;

        if (worse) {
            s->fitness = out_fit ? mean : NAN;
            return 0;
        }
    }
    s->stage = 2;
    rc = run_cases(g, code, k1, n, s, &lat, &cpu, err);
    if (rc < 0 || !s->ok)
        return rc;
    if (out_fit ? !output_mean(s->outputs, n, &mean, s->error, sizeof(s->error))
                : !outputs_correct(g, s->outputs, n, s->error, sizeof(s->error))) {
        s->ok = false;
        return 0;
    }
    s->latency_ms = lat / 1000;
    s->cpu_ms = cpu;
    if (out_fit) {
        s->fitness = mean;
    } else {
        double seed_lat = json_number_value(json_object_get(g->run.params, "reference_latency_ms"));

        s->fitness = seed_lat > 0 && s->latency_ms > 0 ? seed_lat / s->latency_ms : 1.0;
    }
    return 0;
}

/* features and signals of a scored program (signals keep the timing; the trace does not). */
static int describe(const struct gen *g, const char *code, const struct score *s,
                    json_t **features, json_t **signals, struct ad_err *err)
{
    size_t n = json_array_size(s->outputs);
    const char *k;
    json_t *v;

    *features = json_pack("{s:I, s:f, s:f}", "length", (json_int_t)strlen(code), "latency",
                          s->latency_ms, "cpu", s->cpu_ms);
    *signals = json_pack("{s:b, s:i, s:i, s:f, s:f, s:s}", "ok", s->ok, "stage", s->stage,
                         "evaluations", s->runs, "latency_ms", s->latency_ms, "cpu_ms",
                         s->cpu_ms, "error", s->error);
    if (!*features || !*signals)
        return oom(err);
    if (isfinite(s->stage1))
        json_object_set_new(*signals, "stage1", json_real(s->stage1));
    json_object_foreach(s->extra, k, v) {
        if (!json_object_get(*features, k) && n)
            json_object_set_new(*features, k, json_real(json_number_value(v) / (double)n));
    }
    (void)g;
    return 0;
}

/* ---- the archive loaded ------------------------------------------------------------ */

static int grams_of(struct gen *g, size_t i, struct ad_err *err)
{
    char fp[17];

    if (g->gcap < g->a.n) {
        size_t cap = g->a.n * 2 + 16;
        uint64_t **gv = realloc(g->grams, cap * sizeof(*gv));
        size_t *nv;

        if (!gv)
            return oom(err);
        g->grams = gv;
        nv = realloc(g->ngrams, cap * sizeof(*nv));
        if (!nv)
            return oom(err);
        g->ngrams = nv;
        for (size_t k = g->gcap; k < cap; k++) {
            g->grams[k] = NULL;
            g->ngrams[k] = (size_t)-1;
        }
        g->gcap = cap;
    }
    if (g->ngrams[i] != (size_t)-1)
        return 0;
    return ad_evolve_fingerprint(g->a.v[i].code, fp, &g->grams[i], &g->ngrams[i], err);
}

static void gen_release(struct gen *g)
{
    for (size_t i = 0; i < g->gcap; i++)
        free(g->grams[i]);
    free(g->grams);
    free(g->ngrams);
    ad_evolve_archive_release(&g->a);
    ad_evolve_run_release(&g->run);
    json_decref(g->pending);
}

/* A trace line to write with the next transaction. */
static int trace(struct gen *g, const char *kind, int gen, json_t *data, struct ad_err *err)
{
    json_t *line;

    if (!data)
        return oom(err);
    line = json_pack("{s:s, s:i, s:o}", "kind", kind, "generation", gen, "data", data);
    if (!line || json_array_append_new(g->pending, line) < 0)
        return oom(err);
    return 0;
}

static int flush_trace(struct gen *g, struct ad_err *err)
{
    size_t i;
    json_t *line;
    int rc = 0;

    json_array_foreach(g->pending, i, line) {
        struct ad_evolve_trace t = { 0 };

        memcpy(t.tenant_id, g->run.tenant_id, AD_ID_SIZE);
        memcpy(t.run_id, g->run.id, AD_ID_SIZE);
        t.seq = ++g->seq;
        t.generation = (int)json_integer_value(json_object_get(line, "generation"));
        t.kind = (char *)ad_json_str(line, "kind");
        t.data = json_object_get(line, "data");
        rc = ad_store_evolve_trace_append(g->env->st, &t, err);
        if (rc < 0)
            break;
    }
    json_array_clear(g->pending);
    return rc;
}

/* Writes rows [from, a.n) (new), the rows in upd (updated), the pending trace: one tx. */
static int commit_rows(struct gen *g, size_t from, const long *upd, size_t nupd, bool run,
                       struct ad_err *err)
{
    struct ad_store *st = g->env->st;
    int64_t seq0 = g->seq;
    int rc = ad_store_begin(st, err);

    if (rc == 0)
        rc = ad_jobs_lease_hold(g->env->lease, st, err);
    for (size_t i = from; rc == 0 && i < g->a.n; i++) {
        rc = ad_store_evolve_program_insert(st, &g->a.v[i], err);
        /* The seed's copies name it as their parent: its id is made by this insert. */
        for (size_t k = i + 1; rc == 0 && g->a.v[i].slot == AD_EVOLVE_SLOT_SEED && k < g->a.n;
             k++) {
            if (!g->a.v[k].parent_id[0])
                memcpy(g->a.v[k].parent_id, g->a.v[i].id, AD_ID_SIZE);
        }
    }
    for (size_t i = 0; rc == 0 && i < nupd; i++) {
        if (upd[i] >= 0 && (size_t)upd[i] < from)
            rc = ad_store_evolve_program_update(st, &g->a.v[upd[i]], err);
    }
    if (rc == 0)
        rc = flush_trace(g, err);
    if (rc == 0 && run)
        rc = ad_store_evolve_run_update(st, &g->run, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0) {
        ad_store_rollback(st);
        g->seq = seq0;
    }
    return rc;
}

/* ---- one slot ---------------------------------------------------------------------- */

/*
 * A program in the trace: "generation.slot", the same in every run with
 * the same seed (its id is not), so two traces can be compared whole.
 */
static json_t *ref_of(const struct ad_evolve_program *p)
{
    return json_sprintf("%d.%d", p->generation, p->slot);
}

/* Parent of slot: island's elites weighted by fitness rank over (1 + children). */
static long pick_parent(const struct gen *g, int island, struct ad_evolve_prng *r)
{
    long idx[1024];
    double w[1024], total = 0, x;
    size_t n = 0;

    for (size_t i = 0; i < g->a.n && n < 1024; i++) {
        const struct ad_evolve_program *p = &g->a.v[i];

        if (p->island == island && p->status && !strcmp(p->status, "elite"))
            idx[n++] = (long)i;
    }
    if (n == 0)
        return ad_evolve_archive_best(&g->a, -1);
    for (size_t i = 0; i < n; i++) {
        double rank = 1;

        for (size_t k = 0; k < n; k++)
            rank += g->a.v[idx[k]].fitness < g->a.v[idx[i]].fitness;
        w[i] = rank / (1.0 + g->a.v[idx[i]].children);
        total += w[i];
    }
    x = ad_evolve_prng_unit(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return idx[i];
        x -= w[i];
    }
    return idx[n - 1];
}

/* Up to two elites of other cells of the island: the prompt's inspirations. */
static json_t *inspirations(const struct gen *g, long parent, struct ad_evolve_prng *r)
{
    json_t *a = json_array();
    long cand[1024];
    size_t n = 0;

    for (size_t i = 0; a && i < g->a.n && n < 1024; i++) {
        const struct ad_evolve_program *p = &g->a.v[i];

        if ((long)i != parent && p->status && !strcmp(p->status, "elite") && p->cell &&
            (!g->a.v[parent].cell || strcmp(p->cell, g->a.v[parent].cell)))
            cand[n++] = (long)i;
    }
    for (int k = 0; a && k < 2 && n; k++) {
        size_t j = (size_t)(ad_evolve_prng_next(r) % n);

        json_array_append_new(a, ref_of(&g->a.v[cand[j]]));
        cand[j] = cand[--n];
    }
    return a;
}

/* The offline mutator's proposal of parent's code; NULL code when it has none. */
static int propose_offline(const char *code, uint64_t seed, char **out, char **op,
                           struct ad_err *err)
{
    struct ad_propose_opts po = { 0 };
    struct ad_mutant *mv = NULL;
    size_t nm = 0;
    int rc;

    *out = *op = NULL;
    po.seed = seed;
    po.count = 1;
    po.ops = AD_MUT_NUMBER | AD_MUT_COMPARE | AD_MUT_ARITH | AD_MUT_BOOL | AD_MUT_SWAP;
    rc = ad_propose_mutants(code, strlen(code), &po, &mv, &nm, err);
    if (rc == 0 && nm) {
        *out = mv[0].code;
        mv[0].code = NULL;
        *op = strdup(ad_mutation_op_name(mv[0].op));
        if (!*op)
            rc = oom(err);
    }
    ad_mutants_free(mv, nm);
    return rc;
}

/* The archived program code is a near-duplicate of, or -1; *sim its similarity. */
static long duplicate_of(struct gen *g, const char *fp, const uint64_t *gr, size_t ng,
                         double *sim, struct ad_err *err)
{
    *sim = 0;
    for (size_t i = 0; i < g->a.n; i++) {
        double j;

        if (g->a.v[i].fingerprint && !strcmp(g->a.v[i].fingerprint, fp)) {
            *sim = 1;
            return (long)i;
        }
        if (grams_of(g, i, err) < 0)
            return -2;
        j = ad_evolve_jaccard(gr, ng, g->grams[i], g->ngrams[i]);
        if (j >= g->p.novelty) {
            *sim = j;
            return (long)i;
        }
    }
    return -1;
}

static int new_program(struct gen *g, const char *code, int island, int gen, int slot,
                       const char *parent_id, struct ad_evolve_program *p, struct ad_err *err)
{
    char h[17];

    memset(p, 0, sizeof(*p));
    memcpy(p->tenant_id, g->run.tenant_id, AD_ID_SIZE);
    memcpy(p->run_id, g->run.id, AD_ID_SIZE);
    if (parent_id)
        memcpy(p->parent_id, parent_id, AD_ID_SIZE);
    p->island = island;
    p->generation = gen;
    p->slot = slot;
    p->fitness = NAN;
    hash_hex(code, h);
    p->code = strdup(code);
    p->code_hash = strdup(h);
    p->status = strdup("failed");
    if (!p->code || !p->code_hash || !p->status)
        return oom(err);
    return 0;
}

/* Scores p with s, sets its cell when it reached stage 2 correct, and places it. */
static int score_and_place(struct gen *g, struct ad_evolve_program *p, const struct score *s,
                           json_t *tdata, struct ad_err *err)
{
    char cell[256];
    int rc = describe(g, p->code, s, &p->features, &p->signals, err);

    p->stage = s->stage;
    p->fitness = s->ok && s->stage == 2 ? s->fitness : NAN;
    if (rc == 0 && s->ok && s->stage == 2) {
        rc = ad_evolve_cell_key(g->p.dims, g->p.ndims, p->features, cell, sizeof(cell), err);
        if (rc == 0) {
            p->cell = strdup(cell);
            if (!p->cell)
                rc = oom(err);
        } else {
            /* No cell for it (a feature it does not give): scored, not placed. */
            json_object_set_new(p->signals, "error", json_string(err->msg));
            ad_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0) {
        free(p->status);
        p->status = strdup(!s->ok ? "failed" : p->cell ? "rejected" : "rejected");
        if (!p->status)
            rc = oom(err);
    }
    json_object_set_new(tdata, "stage", json_integer(s->stage));
    json_object_set_new(tdata, "ok", json_boolean(s->ok));
    if (isfinite(p->fitness))
        json_object_set_new(tdata, "fitness", json_real(p->fitness));
    if (p->cell)
        json_object_set_new(tdata, "cell", json_string(p->cell));
    if (s->error[0])
        json_object_set_new(tdata, "error", json_string(s->error));
    return rc;
}

static uint64_t slot_seed(const struct ad_evolve_prng *gp, int slot)
{
    uint64_t h = 1469598103934665603ULL;

    h = fnv64(h, gp->s, sizeof(gp->s));
    return fnv64(h, &slot, sizeof(slot));
}

/* A model's proposal for a slot, made before the slot runs (model_batch). */
struct pre {
    long parent;
    json_t *insp;            /* the inspirations' refs (owned) */
    int arm;
    char *code;              /* NULL: no usable edit */
    char *why;               /* why not */
    char *prompt, *reply;
    double usd;
    int64_t tokens;
};

static void pre_release(struct pre *q)
{
    json_decref(q->insp);
    free(q->code);
    free(q->why);
    free(q->prompt);
    free(q->reply);
    memset(q, 0, sizeof(*q));
}

static const char *arm_name(const struct gen *g, int a)
{
    const char *e = a >= 0 && (size_t)a < g->env->narms ? ad_llm_chain_entry(g->env->arms[a], 0)
                                                         : NULL;

    return e ? e : "offline";
}

static int do_slot(struct gen *g, const struct ad_evolve_prng *gp, int gen, int k,
                   struct pre *pre, struct ad_err *err)
{
    struct ad_evolve_prng r;
    struct ad_evolve_program p = { 0 };
    struct score s = { 0 };
    int island = k % g->p.islands;
    long parent, dup, upd[2] = { -1, -1 };
    char *code = NULL, *op = NULL, fp[17];
    uint64_t *gr = NULL;
    size_t ng = 0, from = g->a.n;
    double sim = 0, pst1;
    json_t *tdata = NULL;
    int rc = 0;

    ad_evolve_prng_seed(&r, slot_seed(gp, k));
    parent = pre ? pre->parent : pick_parent(g, island, &r);
    if (parent < 0)
        return ad_error(err, AD_ESTATE, "evolution run %s has no program to mutate", g->run.id);
    tdata = json_pack("{s:i, s:i, s:o, s:o}", "slot", k, "island", island, "parent",
                      ref_of(&g->a.v[parent]), "inspirations",
                      pre ? json_incref(pre->insp) : inspirations(g, parent, &r));
    if (!tdata)
        return oom(err);
    if (pre) {
        code = pre->code;
        pre->code = NULL;
        json_object_set_new(tdata, "proposer", json_string("model"));
        json_object_set_new(tdata, "arm", json_string(arm_name(g, pre->arm)));
        if (pre->why)
            json_object_set_new(tdata, "error", json_string(pre->why));
        rc = trace(g, "prompt", gen, json_pack("{s:i, s:s, s:s}", "slot", k, "arm",
                                               arm_name(g, pre->arm), "text",
                                               pre->prompt ? pre->prompt : ""), err);
        if (rc == 0)
            rc = trace(g, "reply", gen, json_pack("{s:i, s:s, s:s, s:I}", "slot", k, "arm",
                                                  arm_name(g, pre->arm), "text",
                                                  pre->reply ? pre->reply : "", "tokens",
                                                  (json_int_t)pre->tokens), err);
    } else {
        rc = propose_offline(g->a.v[parent].code, ad_evolve_prng_next(&r), &code, &op, err);
        if (rc == AD_ENOTFOUND || (rc == 0 && !code)) {
            ad_err_clear(err);
            rc = 0;
        }
        json_object_set_new(tdata, "proposer", json_string("offline"));
    }
    if (rc < 0)
        goto out;
    if (op)
        json_object_set_new(tdata, "operator", json_string(op));
    rc = new_program(g, code ? code : g->a.v[parent].code, island, gen, k, g->a.v[parent].id, &p,
                     err);
    if (rc == 0 && !code) {
        json_object_set_new(tdata, "decision", json_string(pre ? "no usable edit"
                                                               : "nothing to mutate"));
        p.signals = json_pack("{s:s}", "error", pre && pre->why ? pre->why
                                                : "the mutator found nothing to change");
    }
    if (rc == 0 && code) {
        rc = ad_evolve_fingerprint(code, fp, &gr, &ng, err);
        if (rc == 0) {
            p.fingerprint = strdup(fp);
            rc = p.fingerprint ? 0 : oom(err);
        }
        json_object_set_new(tdata, "code_hash", json_string(p.code_hash));
    }
    if (rc == 0 && code) {
        dup = duplicate_of(g, fp, gr, ng, &sim, err);
        if (dup == -2) {
            rc = err->code;
        } else if (dup >= 0) {
            /* Dropped before it runs: a near-duplicate costs no evaluation. */
            free(p.status);
            p.status = strdup("rejected");
            p.signals = json_pack("{s:s, s:s, s:f}", "rejected", "duplicate", "duplicate_of",
                                  g->a.v[dup].id, "similarity", sim);
            json_object_set_new(tdata, "decision", json_string("duplicate"));
            json_object_set_new(tdata, "duplicate_of", ref_of(&g->a.v[dup]));
            json_object_set_new(tdata, "similarity", json_real(round(sim * 1e4) / 1e4));
            if (!p.status || !p.signals)
                rc = oom(err);
        } else {
            pst1 = json_number_value(json_object_get(g->a.v[parent].signals, "stage1"));
            if (!json_is_number(json_object_get(g->a.v[parent].signals, "stage1")))
                pst1 = NAN;
            rc = evaluate(g, code, pst1, &s, err);
            if (rc == 0)
                rc = score_and_place(g, &p, &s, tdata, err);
        }
    }
    if (rc == 0 && !p.fingerprint) {
        p.fingerprint = strdup(g->a.v[parent].fingerprint ? g->a.v[parent].fingerprint : "0");
        rc = p.fingerprint ? 0 : oom(err);
    }
    if (rc == 0 && pre) {
        /* What the bandit learns from: the arm, its cost, the gain over the parent. */
        double gain = isfinite(p.fitness) && isfinite(g->a.v[parent].fitness)
                          ? (p.fitness - g->a.v[parent].fitness) /
                                (fabs(g->a.v[parent].fitness) + 1e-9)
                          : 0;

        if (!p.signals)
            p.signals = json_object();
        if (!p.signals ||
            json_object_set_new(p.signals, "arm", json_string(arm_name(g, pre->arm))) < 0 ||
            json_object_set_new(p.signals, "usd", json_real(pre->usd)) < 0 ||
            json_object_set_new(p.signals, "tokens", json_integer(pre->tokens)) < 0 ||
            json_object_set_new(p.signals, "gain", json_real(gain > 0 ? gain : 0)) < 0)
            rc = oom(err);
    }
    if (rc < 0)
        goto out;
    g->a.v[parent].children++;
    upd[0] = parent;
    rc = ad_evolve_archive_add(&g->a, &p, err);
    if (rc == 0 && g->a.v[from].cell && isfinite(g->a.v[from].fitness)) {
        enum ad_evolve_place d = ad_evolve_archive_place(&g->a, from, &upd[1]);

        json_object_set_new(tdata, "decision",
                            json_string(d == AD_PLACE_NEW        ? "new cell"
                                        : d == AD_PLACE_REPLACED ? "replaced elite"
                                                                 : "not better than the elite"));
    } else if (rc == 0 && !json_object_get(tdata, "decision")) {
        json_object_set_new(tdata, "decision",
                            json_string(s.ok ? "stopped at stage 1" : "failed"));
    }
    if (rc == 0) {
        rc = trace(g, "proposal", gen, json_incref(tdata), err);
        if (rc == 0)
            rc = commit_rows(g, from, upd, 2, false, err);
        if (rc < 0)
            g->a.v[parent].children--;
    }
out:
    json_decref(tdata);
    score_release(&s);
    ad_evolve_program_release(&p);
    free(code);
    free(op);
    free(gr);
    return rc;
}

/* ---- the seed --------------------------------------------------------------------- */

static int default_dims(struct gen *g, const struct ad_evolve_program *seed)
{
    double len = (double)strlen(seed->code);
    double lat = json_number_value(json_object_get(seed->features, "latency"));
    json_t *f;

    g->p.ndims = 2;
    snprintf(g->p.dims[0].name, sizeof(g->p.dims[0].name), "length");
    g->p.dims[0].min = 0;
    g->p.dims[0].max = 2 * len > 1 ? 2 * len : 1;
    g->p.dims[0].bins = 8;
    snprintf(g->p.dims[1].name, sizeof(g->p.dims[1].name), "latency");
    g->p.dims[1].min = 0;
    g->p.dims[1].max = 4 * lat > 1 ? 4 * lat : 1;
    g->p.dims[1].bins = 8;
    f = dims_json(g->p.dims, 2);
    return f ? json_object_set_new(g->run.params, "features", f) : -1;
}

static int do_seed(struct gen *g, struct ad_err *err)
{
    struct ad_skill_version v = { 0 };
    struct ad_evolve_program p = { 0 };
    struct score s = { 0 };
    json_t *tdata = json_object();
    char fp[17], cell[256];
    uint64_t *gr = NULL;
    size_t ng;
    long upd = -1;
    int rc = tdata ? 0 : oom(err);

    if (rc == 0)
        rc = ad_catalog_version_get(g->env->st, g->run.tenant_id, g->run.skill_version_id, &v,
                                    err);
    if (rc == 0)
        rc = new_program(g, v.code, 0, 0, AD_EVOLVE_SLOT_SEED, NULL, &p, err);
    if (rc == 0)
        rc = ad_evolve_fingerprint(v.code, fp, &gr, &ng, err);
    if (rc == 0 && !(p.fingerprint = strdup(fp)))
        rc = oom(err);
    if (rc == 0)
        rc = evaluate(g, v.code, NAN, &s, err);
    if (rc == 0 && !s.ok)
        rc = ad_error(err, AD_EINVAL, "the seed version fails its own test set: %s", s.error);
    if (rc == 0 && g->p.fitness == AD_EVOLVE_FIT_LATENCY) {
        /* The seed's outputs are what every program must give. */
        json_object_set(g->run.params, "reference", s.outputs);
        json_object_set_new(g->run.params, "reference_latency_ms", json_real(s.latency_ms));
        s.fitness = 1.0;
    }
    json_object_set_new(tdata, "slot", json_integer(AD_EVOLVE_SLOT_SEED));
    json_object_set_new(tdata, "code_hash", json_string(p.code_hash ? p.code_hash : ""));
    if (rc == 0)
        rc = describe(g, v.code, &s, &p.features, &p.signals, err);
    if (rc == 0 && g->p.ndims == 0 && default_dims(g, &p) < 0)
        rc = oom(err);
    if (rc == 0)
        rc = ad_evolve_cell_key(g->p.dims, g->p.ndims, p.features, cell, sizeof(cell), err);
    if (rc == 0 && !(p.cell = strdup(cell)))
        rc = oom(err);
    if (rc == 0) {
        p.fitness = s.fitness;
        p.stage = 2;
        json_object_set_new(tdata, "fitness", json_real(p.fitness));
        json_object_set_new(tdata, "cell", json_string(cell));
        rc = ad_evolve_archive_add(&g->a, &p, err);
    }
    if (rc == 0)
        ad_evolve_archive_place(&g->a, 0, &upd);
    /* Every other island starts from a copy of the seed. */
    for (int i = 1; rc == 0 && i < g->p.islands; i++) {
        struct ad_evolve_program c = { 0 };

        rc = new_program(g, v.code, i, 0, AD_EVOLVE_SLOT_SEED_COPY + i, NULL, &c, err);
        if (rc == 0 && (!(c.fingerprint = strdup(fp)) || !(c.cell = strdup(cell)) ||
                        !(c.features = json_deep_copy(g->a.v[0].features)) ||
                        !(c.signals = json_deep_copy(g->a.v[0].signals))))
            rc = oom(err);
        c.fitness = g->a.v[0].fitness;
        c.stage = 2;
        if (rc == 0)
            rc = ad_evolve_archive_add(&g->a, &c, err);
        if (rc == 0)
            ad_evolve_archive_place(&g->a, g->a.n - 1, &upd);
        ad_evolve_program_release(&c);
    }
    if (rc == 0)
        rc = trace(g, "score", 0, json_incref(tdata), err);
    if (rc == 0)
        rc = commit_rows(g, 0, NULL, 0, true, err);
    json_decref(tdata);
    score_release(&s);
    ad_evolve_program_release(&p);
    ad_skill_version_release(&v);
    free(gr);
    return rc;
}

/* ---- the boundary ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Best and median fitness of the elites. */
static void elite_stats(const struct ad_evolve_archive *a, double *best, double *median,
                        int *nelite)
{
    double *v = calloc(a->n ? a->n : 1, sizeof(*v));
    size_t n = 0;
    long b = ad_evolve_archive_best(a, -1);

    *best = b >= 0 ? a->v[b].fitness : NAN;
    *median = NAN;
    for (size_t i = 0; v && i < a->n; i++) {
        if (a->v[i].status && !strcmp(a->v[i].status, "elite") && isfinite(a->v[i].fitness))
            v[n++] = a->v[i].fitness;
    }
    if (n) {
        qsort(v, n, sizeof(*v), cmp_double);
        *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    *nelite = (int)n;
    free(v);
}

/*
 * Before an elite seeds another island it is evaluated again: a fitness
 * that does not reproduce is lowered to the new one (or the program
 * retired as failed), so no lucky measurement travels.
 */
static int reevaluate_bests(struct gen *g, bool *dirty, int *runs, struct ad_err *err)
{
    for (int i = 0; i < g->p.islands; i++) {
        long b = ad_evolve_archive_best(&g->a, i);
        struct score s;
        int rc;

        if (b < 0)
            continue;
        rc = evaluate(g, g->a.v[b].code, NAN, &s, err);
        if (rc < 0) {
            score_release(&s);
            return rc;
        }
        *runs += s.runs;
        if (!s.ok || !(s.fitness >= g->a.v[b].fitness)) {
            struct ad_evolve_program *p = &g->a.v[b];

            if (!s.ok) {
                free(p->status);
                p->status = strdup("failed");
                if (!p->status) {
                    score_release(&s);
                    return oom(err);
                }
            }
            p->fitness = s.ok ? s.fitness : NAN;
            json_object_set_new(p->signals, "reevaluated", json_real(s.ok ? s.fitness : -1));
            dirty[b] = true;
        }
        score_release(&s);
    }
    return 0;
}

static double state_num(const struct gen *g, const char *key)
{
    return json_number_value(json_object_get(json_object_get(g->run.params, "state"), key));
}

static void state_set(struct gen *g, const char *key, double v)
{
    json_t *st = json_object_get(g->run.params, "state");

    if (st)
        json_object_set_new(st, key, json_real(v));
}

/* Which budget is spent after this boundary, or NULL. */
static const char *budget_spent(const struct gen *g)
{
    if (g->run.generation >= g->p.generations)
        return "generations";
    if (g->p.max_evaluations && g->run.evaluations >= g->p.max_evaluations)
        return "evaluations";
    if (g->p.time_budget_s && state_num(g, "seconds") >= (double)g->p.time_budget_s)
        return "time";
    if (g->p.budget_usd > 0 && g->run.usd >= g->p.budget_usd)
        return "usd";
    if (g->p.budget_tokens && g->run.tokens >= g->p.budget_tokens)
        return "tokens";
    return NULL;
}

/* A signal summed over the programs the run made (not the copies of migration or reset). */
static double signal_sum(const struct ad_evolve_archive *a, const char *key)
{
    double n = 0;

    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].slot < AD_EVOLVE_SLOT_MIGRATION)
            n += json_number_value(json_object_get(a->v[i].signals, key));
    }
    return n;
}

/*
 * The generation's end: re-evaluation and migration every M generations,
 * the reset on stagnation, then in one transaction their rows, the trace
 * and the run (generation + 1, PRNG, counters, best, state).
 */
static int boundary(struct gen *g, int gen, struct ad_evolve_prng *gp, bool stop,
                    double seconds, struct ad_err *err)
{
    size_t nupd = 0, first = g->a.n, mfirst;
    bool *dirty = calloc(first + 1, sizeof(*dirty)), *was = calloc(first + 1, sizeof(*was));
    long *upd = calloc(first + 1, sizeof(*upd));
    int reruns = 0, nreset = 0, nelite;
    double best_before = state_num(g, "best"), best, median, stale = state_num(g, "stale");
    bool had_best = json_is_number(json_object_get(json_object_get(g->run.params, "state"),
                                                   "best"));
    const char *spent;
    char prng[65];
    long b;
    int rc = 0;

    if (!dirty || !was || !upd) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < first; i++)
        was[i] = g->a.v[i].status && !strcmp(g->a.v[i].status, "elite");
    if (g->p.islands > 1 && (gen + 1) % g->p.migration_interval == 0) {
        rc = reevaluate_bests(g, dirty, &reruns, err);
        if (rc == 0)
            rc = ad_evolve_archive_migrate(&g->a, gen, &mfirst, err);
        if (rc == 0)
            rc = trace(g, "migration", gen,
                       json_pack("{s:i, s:i}", "copies", (int)(g->a.n - mfirst),
                                 "reevaluations", reruns), err);
    }
    elite_stats(&g->a, &best, &median, &nelite);
    stale = had_best && !(best > best_before) ? stale + 1 : 0;
    if (rc == 0 && g->p.stagnation && stale >= g->p.stagnation && g->p.islands > 1) {
        rc = ad_evolve_archive_reset(&g->a, g->p.islands / 2, gen, &mfirst, &nreset, err);
        if (rc == 0)
            rc = trace(g, "reset", gen,
                       json_pack("{s:i, s:i}", "islands", nreset, "stale", (int)stale), err);
        stale = 0;
    }
    /* Every earlier row whose status or fitness the boundary changed is written. */
    for (size_t i = 0; i < first; i++) {
        if (dirty[i] || was[i] != (g->a.v[i].status && !strcmp(g->a.v[i].status, "elite")))
            upd[nupd++] = (long)i;
    }
    if (rc < 0)
        goto out;
    elite_stats(&g->a, &best, &median, &nelite);
    b = ad_evolve_archive_best(&g->a, -1);
    state_set(g, "stale", stale);
    state_set(g, "seconds", state_num(g, "seconds") + seconds);
    state_set(g, "reevaluations", state_num(g, "reevaluations") + reruns);
    if (isfinite(best))
        state_set(g, "best", best);
    /* The generation's PRNG moves on by one draw per boundary: the next state. */
    ad_evolve_prng_seed(gp, ad_evolve_prng_next(gp));
    ad_evolve_prng_save(gp, prng);
    free(g->run.prng);
    g->run.prng = strdup(prng);
    if (!g->run.prng) {
        rc = oom(err);
        goto out;
    }
    g->run.generation = gen + 1;
    g->run.evaluations = (int64_t)signal_sum(&g->a, "evaluations") +
                         (int64_t)state_num(g, "reevaluations");
    g->run.tokens = (int64_t)signal_sum(&g->a, "tokens");
    g->run.usd = signal_sum(&g->a, "usd");
    /* A best made by this boundary (a copy) has no id yet: it is set after the commit. */
    if (b >= 0)
        snprintf(g->run.best_program_id, sizeof(g->run.best_program_id), "%s", g->a.v[b].id);
    spent = budget_spent(g);
    if (spent || stop) {
        free(g->run.state);
        free(g->run.reason);
        g->run.state = strdup(spent ? "done" : "stopped");
        g->run.reason = spent ? ad_strdupf("budget spent: %s", spent)
                              : strdup("stop requested");
        if (!g->run.state || !g->run.reason) {
            rc = oom(err);
            goto out;
        }
    }
    rc = trace(g, "generation", gen,
               json_pack("{s:i, s:f, s:f, s:i, s:I, s:s?}", "generation", gen, "best",
                         isfinite(best) ? best : 0.0, "median",
                         isfinite(median) ? median : 0.0, "elites",
                         nelite, "evaluations", (json_int_t)g->run.evaluations, "stopped",
                         g->run.reason),
               err);
    if (rc == 0)
        rc = commit_rows(g, first, upd, nupd, true, err);
    /* A best made by this boundary (a copy) has its id only now. */
    if (rc == 0 && b >= 0 && strcmp(g->run.best_program_id, g->a.v[b].id)) {
        memcpy(g->run.best_program_id, g->a.v[b].id, AD_ID_SIZE);
        rc = ad_store_evolve_run_update(g->env->st, &g->run, err);
    }
out:
    free(dirty);
    free(was);
    free(upd);
    return rc;
}

/* ---- the generation ---------------------------------------------------------------- */

static int load(struct gen *g, const char *run_id, struct ad_err *err)
{
    struct ad_evolve_program *v = NULL;
    size_t n = 0;
    int rc = ad_store_evolve_run_get(g->env->st, g->env->tenant_id, run_id, &g->run, err);

    if (rc == 0)
        rc = params_read(g->run.params, &g->p, err);
    if (rc == 0) {
        g->tests = json_object_get(g->run.params, "tests");
        g->entry = ad_json_str(g->run.params, "entry");
        if (!json_is_array(g->tests) || !json_array_size(g->tests) || !g->entry)
            rc = ad_error(err, AD_ECORRUPT, "evolution run %s has no test set or entry", run_id);
    }
    if (rc == 0)
        rc = ad_store_evolve_program_list(g->env->st, g->env->tenant_id, run_id, &v, &n, err);
    if (rc == 0) {
        g->a.v = v;
        g->a.n = g->a.cap = n;
        g->a.islands = g->p.islands;
        v = NULL;
    }
    if (rc == 0)
        rc = ad_store_evolve_trace_last(g->env->st, g->env->tenant_id, run_id, &g->seq, err);
    g->pending = json_array();
    if (rc == 0 && !g->pending)
        rc = oom(err);
    ad_evolve_program_list_free(v, 0);
    return rc;
}

static bool has_slot(const struct gen *g, int gen, int slot)
{
    for (size_t i = 0; i < g->a.n; i++) {
        if (g->a.v[i].generation == gen && g->a.v[i].slot == slot)
            return true;
    }
    return false;
}

/* ---- model proposals: the cost-aware UCB bandit ------------------------------------ */

#define MODEL_IN_FLIGHT 4

/*
 * The arm for the next proposal. Each arm's pulls, gain and cost come from
 * the run's stored programs (so a resumed run knows what the first
 * attempt learnt), plus pending[a] pulls already given out in this batch.
 * An arm never pulled goes first (in chain order); then the arm with the
 * largest (mean gain + sqrt(2 ln N / n)) / mean cost: with equal gains the
 * cheaper arm is pulled more.
 */
static int ucb_pick(const struct gen *g, const int *pending)
{
    double n[AD_EVOLVE_DIMS_MAX * 4] = { 0 }, gain[AD_EVOLVE_DIMS_MAX * 4] = { 0 };
    double usd[AD_EVOLVE_DIMS_MAX * 4] = { 0 }, paid[AD_EVOLVE_DIMS_MAX * 4] = { 0 };
    double total = 0, all_usd = 0, all_paid = 0, best = -1;
    size_t na = g->env->narms;
    int pick = 0;

    for (size_t i = 0; i < g->a.n; i++) {
        const char *arm = ad_json_str(g->a.v[i].signals, "arm");

        for (size_t a = 0; arm && a < na; a++) {
            if (!strcmp(arm, arm_name(g, (int)a)) && g->a.v[i].slot < AD_EVOLVE_SLOT_MIGRATION) {
                n[a]++;
                paid[a]++;
                gain[a] += json_number_value(json_object_get(g->a.v[i].signals, "gain"));
                usd[a] += json_number_value(json_object_get(g->a.v[i].signals, "usd"));
            }
        }
    }
    for (size_t a = 0; a < na; a++) {
        n[a] += pending[a];
        if (n[a] == 0)
            return (int)a;
        total += n[a];
        all_usd += usd[a];
        all_paid += paid[a];
    }
    for (size_t a = 0; a < na; a++) {
        /* An arm without a paid call yet is priced at the mean of the others. */
        double cost = paid[a] ? usd[a] / paid[a] : all_paid ? all_usd / all_paid : 1.0;
        double score = (gain[a] / n[a] + sqrt(2 * log(total) / n[a])) / (cost > 1e-9 ? cost : 1e-9);

        if (score > best) {
            best = score;
            pick = (int)a;
        }
    }
    return pick;
}

static const char model_system[] =
    "You improve one Python program (skill.py) by evolution. Change only the code between "
    "the EVOLVE-BLOCK-START and EVOLVE-BLOCK-END markers; the rest is the fixed evaluator. "
    "A higher fitness is better. Standard library only; no subprocess, os, socket, eval, exec, "
    "file writes or network. Answer with SEARCH/REPLACE blocks against skill.py:\n"
    "skill.py\n<<<<<<< SEARCH\n(exact lines of the current code)\n=======\n(new lines)\n"
    ">>>>>>> REPLACE\n";

static int prompt_of(const struct gen *g, long parent, const json_t *insp, struct ad_buf *b)
{
    size_t i;
    json_t *ref;
    int rc = ad_buf_addf(b, "Current program (fitness %g):\n```python\n%s\n```\n",
                         g->a.v[parent].fitness, g->a.v[parent].code);

    json_array_foreach(insp, i, ref) {
        for (size_t k = 0; rc == 0 && k < g->a.n; k++) {
            char r[32];

            snprintf(r, sizeof(r), "%d.%d", g->a.v[k].generation, g->a.v[k].slot);
            if (!strcmp(r, json_string_value(ref)))
                rc = ad_buf_addf(b, "\nAnother program of the archive (fitness %g), for "
                                    "inspiration:\n```python\n%s\n```\n",
                                 g->a.v[k].fitness, g->a.v[k].code);
        }
    }
    return rc;
}

/*
 * The model's proposals for every slot of the generation not stored yet:
 * parents and arms chosen in slot order, the requests of each arm in
 * flight together (ad_llm_complete_many), then each slot evaluated and
 * written in order as the offline path does.
 */
static int model_batch(struct gen *g, const struct ad_evolve_prng *gp, int gen,
                       struct ad_err *err)
{
    size_t np = (size_t)g->p.population, na = g->env->narms;
    struct pre *pre = calloc(np, sizeof(*pre));
    struct ad_buf *text = calloc(np, sizeof(*text));
    struct ad_llm_message *msgs = calloc(np * 2, sizeof(*msgs));
    int *slot = calloc(np, sizeof(*slot)), pending[AD_EVOLVE_DIMS_MAX * 4] = { 0 };
    size_t nk = 0;
    int rc = 0;

    if (!pre || !text || !msgs || !slot || na > AD_EVOLVE_DIMS_MAX * 4) {
        rc = pre && text && msgs && slot ? ad_error(err, AD_EINVAL, "at most %d models",
                                                    AD_EVOLVE_DIMS_MAX * 4)
                                         : oom(err);
        goto out;
    }
    for (int k = 0; rc == 0 && k < g->p.population; k++) {
        struct ad_evolve_prng r;

        if (has_slot(g, gen, k))
            continue;
        ad_evolve_prng_seed(&r, slot_seed(gp, k));
        slot[nk] = k;
        pre[nk].parent = pick_parent(g, k % g->p.islands, &r);
        if (pre[nk].parent < 0) {
            rc = ad_error(err, AD_ESTATE, "evolution run %s has no program to mutate",
                          g->run.id);
            break;
        }
        pre[nk].insp = inspirations(g, pre[nk].parent, &r);
        pre[nk].arm = ucb_pick(g, pending);
        pending[pre[nk].arm]++;
        text[nk] = (struct ad_buf)AD_BUF_INIT;
        if (!pre[nk].insp || prompt_of(g, pre[nk].parent, pre[nk].insp, &text[nk]) < 0)
            rc = oom(err);
        nk++;
    }
    /* Each arm's requests in flight together. */
    for (size_t a = 0; rc == 0 && a < na; a++) {
        struct ad_llm_request req[AD_EVOLVE_POPULATION_MAX];
        struct ad_llm_response resp[AD_EVOLVE_POPULATION_MAX];
        struct ad_err errs[AD_EVOLVE_POPULATION_MAX];
        int rcs[AD_EVOLVE_POPULATION_MAX];
        size_t idx[AD_EVOLVE_POPULATION_MAX], m = 0;

        for (size_t i = 0; i < nk; i++) {
            if (pre[i].arm != (int)a)
                continue;
            msgs[2 * i] =
                (struct ad_llm_message){ .role = AD_LLM_SYSTEM, .content = model_system };
            msgs[2 * i + 1] =
                (struct ad_llm_message){ .role = AD_LLM_USER, .content = text[i].ptr };
            memset(&req[m], 0, sizeof(req[m]));
            req[m].messages = &msgs[2 * i];
            req[m].nmessages = 2;
            req[m].max_tokens = 4096;
            req[m].temperature = 0.8;
            req[m].seed = slot[i];
            req[m].purpose = "evolve";
            memset(&resp[m], 0, sizeof(resp[m]));
            errs[m] = (struct ad_err)AD_ERR_INIT;
            idx[m++] = i;
        }
        if (m == 0)
            continue;
        ad_llm_complete_many(g->env->arms[a], req, m, MODEL_IN_FLIGHT, resp, rcs, errs);
        for (size_t j = 0; j < m; j++) {
            struct pre *q = &pre[idx[j]];
            struct ad_buf code = AD_BUF_INIT;
            struct ad_err aerr = AD_ERR_INIT;

            q->prompt = strdup(text[idx[j]].ptr ? text[idx[j]].ptr : "");
            if (rcs[j] < 0) {
                q->why = ad_strdupf("the model failed: %s", errs[j].msg);
            } else {
                q->reply = strdup(resp[j].text ? resp[j].text : "");
                q->usd = resp[j].cost_usd;
                q->tokens = resp[j].usage.prompt_tokens + resp[j].usage.completion_tokens;
                if (ad__alpha_apply_reply(g->a.v[q->parent].code, g->entry,
                                          resp[j].text ? resp[j].text : "", &code, &aerr) < 0)
                    q->why = ad_strdupf("no usable edit: %s", aerr.msg);
                else
                    q->code = ad_buf_detach(&code, NULL);
            }
            ad_buf_release(&code);
            ad_llm_response_release(&resp[j]);
            if (!q->prompt || (rcs[j] == 0 && !q->reply) || (!q->why && !q->code))
                rc = oom(err);
        }
    }
    for (size_t i = 0; rc == 0 && i < nk; i++)
        rc = do_slot(g, gp, gen, slot[i], &pre[i], err);
out:
    for (size_t i = 0; pre && i < np; i++)
        pre_release(&pre[i]);
    for (size_t i = 0; text && i < np; i++)
        ad_buf_release(&text[i]);
    free(pre);
    free(text);
    free(msgs);
    free(slot);
    return rc;
}

int ad_evolve_generation(const struct ad_evolve_env *env, const char *run_id, int generation,
                         bool stop_requested, struct ad_evolve_gen_result *res,
                         struct ad_err *err)
{
    struct gen g = { 0 };
    struct ad_evolve_prng gp;
    int64_t t0 = ad_now_ms();
    int nelite = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    res->generation = generation;
    res->best = res->median = NAN;
    g.env = env;
    rc = load(&g, run_id, err);
    if (rc < 0)
        goto out;
    if (strcmp(g.run.state, "running") || g.run.generation != generation) {
        res->finished = strcmp(g.run.state, "running") != 0;
        goto out;
    }
    res->ran = true;
    rc = ad_evolve_prng_load(&gp, g.run.prng, err);
    if (rc == 0 && g.a.n == 0)
        rc = do_seed(&g, err);
    for (int k = 0; rc == 0 && k < g.p.population; k++) {
        if (has_slot(&g, generation, k))
            continue;    /* stored by an earlier attempt: it counts as it is */
        rc = ad_jobs_heartbeat(env->lease, err);
        if (rc == 0 && env->narms)
            rc = model_batch(&g, &gp, generation, err);
        else if (rc == 0)
            rc = do_slot(&g, &gp, generation, k, NULL, err);
    }
    if (rc == 0)
        rc = boundary(&g, generation, &gp, stop_requested, (double)(ad_now_ms() - t0) / 1000,
                      err);
    if (rc == 0) {
        elite_stats(&g.a, &res->best, &res->median, &nelite);
        res->evaluations = g.evals;
        res->usd = g.run.usd;
        res->finished = strcmp(g.run.state, "running") != 0;
        say("run %s generation %d: best %g, median %g", run_id, generation, res->best,
            res->median);
    }
out:
    res->seconds = (double)(ad_now_ms() - t0) / 1000;
    gen_release(&g);
    return rc;
}

int ad_evolve_job(const struct ad_evolve_env *env, const json_t *payload, struct ad_err *err)
{
    struct ad_evolve_gen_result res;
    const char *run = ad_json_str(payload, "run_id");
    const json_t *gen = json_object_get(payload, "generation");

    if (!run || !ad_id_valid(run) || !json_is_integer(gen) || json_integer_value(gen) < 0 ||
        json_integer_value(gen) > AD_EVOLVE_GENERATIONS_MAX)
        return ad_error(err, AD_EINVAL, "evolve.generation job: expected {\"run_id\", "
                                        "\"generation\"}");
    return ad_evolve_generation(env, run, (int)json_integer_value(gen), false, &res, err);
}

int ad_evolve_job_outcome(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case AD_EINVAL:
    case AD_ENOTFOUND:
    case AD_ESTATE:
    case AD_ECORRUPT:
    case AD_ETOOBIG:
    case AD_ELIMIT:
    case AD_EPERM:
        return AD_JOB_PERMANENT;
    default:
        return rc;
    }
}

/* ---- create, reopen, stop, submit, show ------------------------------------------- */

static int preflight(const struct ad_evolve_env *env, const struct ad_evolve_params *p,
                     size_t ncases, bool model, struct ad_evolve_estimate *est,
                     struct ad_err *err)
{
    struct ad_settings s;
    int64_t per_gen = (int64_t)p->population * (int64_t)ncases;
    int rc;

    memset(est, 0, sizeof(*est));
    if (p->islands > 1)
        per_gen += (int64_t)p->islands * (int64_t)ncases / p->migration_interval;
    est->evaluations = (int64_t)ncases + per_gen * p->generations;
    if (p->max_evaluations && est->evaluations > p->max_evaluations)
        est->evaluations = p->max_evaluations;
    est->calls = model ? (int64_t)p->population * p->generations : 0;
    /* A proposal: about 3,000 prompt and 1,000 completion tokens, priced at $3 and $15
     * per million tokens when the chain's own price is not known here. */
    est->tokens = est->calls * 4000;
    est->usd = (double)est->calls * (3000 * 3e-6 + 1000 * 15e-6);
    if (p->max_evaluations && per_gen + (int64_t)ncases > p->max_evaluations)
        return ad_error(err, AD_ELIMIT, "preflight: one generation takes up to %lld "
                                        "evaluations, over the budget of %lld",
                        (long long)(per_gen + (int64_t)ncases), (long long)p->max_evaluations);
    if (p->budget_usd > 0 && est->usd > p->budget_usd)
        return ad_error(err, AD_ELIMIT, "preflight: the run is expected to cost $%.2f, over "
                                        "the budget of $%.2f", est->usd, p->budget_usd);
    if (p->budget_tokens && est->tokens > p->budget_tokens)
        return ad_error(err, AD_ELIMIT, "preflight: the run is expected to use %lld tokens, "
                                        "over the budget of %lld", (long long)est->tokens,
                        (long long)p->budget_tokens);
    rc = ad_settings_get(env->st, env->tenant_id, &s, err);
    if (rc < 0)
        return rc;
    if (model && s.llm_daily_cost_cap_cents && est->usd * 100 > s.llm_daily_cost_cap_cents)
        return ad_error(err, AD_ELIMIT, "preflight: the run is expected to cost $%.2f, over "
                                        "the daily cap of $%.2f (llm_daily_cost_cap_cents)",
                        est->usd, s.llm_daily_cost_cap_cents / 100.0);
    if (model && s.llm_daily_token_cap && est->tokens > s.llm_daily_token_cap)
        return ad_error(err, AD_ELIMIT, "preflight: the run is expected to use %lld tokens, "
                                        "over the daily cap of %d (llm_daily_token_cap)",
                        (long long)est->tokens, s.llm_daily_token_cap);
    return 0;
}

/* Whether the chain can write code (a provider other than offline). */
static bool writes_code(const struct ad_llm *llm)
{
    for (size_t i = 0; llm && i < ad_llm_chain_len(llm); i++) {
        const char *e = ad_llm_chain_entry(llm, i);

        if (e && strncmp(e, "offline:", 8) != 0)
            return true;
    }
    return false;
}

int ad_evolve_create(const struct ad_evolve_env *env, const char *skill,
                     const char *agent_id, const struct ad_evolve_params *params,
                     struct ad_evolve_run *out, struct ad_evolve_estimate *est,
                     struct ad_err *err)
{
    struct ad_skill sk = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_evolve_prng gp;
    json_t *tests = NULL;
    char prng[65];
    int skipped = 0;
    int rc = params_check(params, err);

    memset(out, 0, sizeof(*out));
    if (rc == 0 && agent_id && !ad_id_valid(agent_id))
        rc = ad_error(err, AD_EINVAL, "invalid agent id '%s'", agent_id);
    if (rc == 0)
        rc = ad_catalog_get(env->st, env->tenant_id, skill, NULL, &sk, &v, err);
    if (rc == 0)
        rc = ad_alpha_test_set(env->st, env->tenant_id, v.id, params->max_cases, &tests,
                               &skipped, err);
    if (rc == 0 && json_array_size(tests) == 0)
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' %s has no recorded input to evolve it on "
                                         "(run it first: autodev skill run)", skill, v.semver);
    if (rc == 0)
        rc = preflight(env, params, json_array_size(tests), writes_code(env->llm), est, err);
    if (rc < 0)
        goto out;
    memcpy(out->tenant_id, env->tenant_id, AD_ID_SIZE);
    if (agent_id)
        memcpy(out->agent_id, agent_id, AD_ID_SIZE);
    memcpy(out->skill_id, sk.id, AD_ID_SIZE);
    memcpy(out->skill_version_id, v.id, AD_ID_SIZE);
    out->params = params_json(params);
    ad_evolve_prng_seed(&gp, params->seed);
    ad_evolve_prng_save(&gp, prng);
    out->prng = strdup(prng);
    out->state = strdup("running");
    if (!out->params || !out->prng || !out->state ||
        json_object_set(out->params, "tests", tests) < 0 ||
        json_object_set_new(out->params, "entry", json_string(sk.entry_function)) < 0 ||
        json_object_set_new(out->params, "skill", json_string(sk.name)) < 0) {
        rc = oom(err);
        goto out;
    }
    rc = ad_store_evolve_run_insert(env->st, out, err);
out:
    if (rc < 0)
        ad_evolve_run_release(out);
    json_decref(tests);
    ad_skill_release(&sk);
    ad_skill_version_release(&v);
    return rc;
}

static int set_state(struct ad_store *st, const char *tenant_id, const char *run_id,
                     const char *from, const char *to, const char *reason, struct ad_err *err)
{
    struct ad_evolve_run r;
    int rc = ad_store_evolve_run_get(st, tenant_id, run_id, &r, err);

    if (rc == 0 && strcmp(r.state, from) && strcmp(r.state, to))
        rc = ad_error(err, AD_ESTATE, "evolution run %s is %s%s%s", run_id, r.state,
                      r.reason ? ": " : "", r.reason ? r.reason : "");
    if (rc == 0 && strcmp(r.state, to)) {
        free(r.state);
        free(r.reason);
        r.state = strdup(to);
        r.reason = reason ? strdup(reason) : NULL;
        rc = r.state && (!reason || r.reason) ? ad_store_evolve_run_update(st, &r, err)
                                              : oom(err);
    }
    ad_evolve_run_release(&r);
    return rc;
}

int ad_evolve_reopen(struct ad_store *st, const char *tenant_id, const char *run_id,
                     struct ad_err *err)
{
    return set_state(st, tenant_id, run_id, "stopped", "running", NULL, err);
}

int ad_evolve_stop(struct ad_store *st, const char *tenant_id, const char *run_id,
                   const char *reason, struct ad_err *err)
{
    return set_state(st, tenant_id, run_id, "running", "stopped", reason, err);
}

static const struct ad_evolve_program *find_program(const struct ad_evolve_program *v, size_t n,
                                                    const char *id)
{
    for (size_t i = 0; id && *id && i < n; i++) {
        if (!strcmp(v[i].id, id))
            return &v[i];
    }
    return NULL;
}

/*
 * Whether best's fitness reproduces on the full test set: within the
 * cascade margin for latency (timing is noisy), exactly for outputs.
 */
static int reproduces(const struct ad_evolve_env *env, const char *run_id,
                      const struct ad_evolve_program *best, bool *yes, struct ad_err *err)
{
    struct gen g = { 0 };
    struct score s = { 0 };
    int rc;

    *yes = false;
    g.env = env;
    rc = load(&g, run_id, err);
    if (rc == 0)
        rc = evaluate(&g, best->code, NAN, &s, err);
    if (rc == 0) {
        double slack = g.p.fitness == AD_EVOLVE_FIT_LATENCY
                           ? g.p.cascade_margin * fabs(best->fitness) : 0;

        *yes = s.ok && s.stage == 2 && s.fitness >= best->fitness - slack;
        if (!*yes)
            say("run %s: the best program did not reproduce (%g, then %g): not put to review",
                run_id, best->fitness, s.fitness);
    }
    score_release(&s);
    gen_release(&g);
    return rc;
}

/* AlphaEvolver's auto-promotion rules, for the run's agent. */
static int auto_promote(const struct ad_evolve_env *env, const struct ad_evolve_run *r,
                        const struct ad_tool_mutation *m, bool *promoted, struct ad_err *err)
{
    struct ad_settings s;
    struct ad_skill_version nv = { 0 };
    bool yes = false;
    int rc = ad_settings_get(env->st, env->tenant_id, &s, err);

    if (rc == 0)
        rc = ad__alpha_may_auto_promote(env->st, env->tenant_id, r->agent_id,
                                        s.background_evolution, m, &yes, err);
    if (rc == 0 && yes)
        rc = ad_mutation_approve(env->st, env->bus, env->tenant_id, m->id, "autodev",
                                 "AUTONOMOUS agent with background_evolution: the evolution "
                                 "run's best, re-evaluated, risk below HIGH", true, &nv, err);
    *promoted = rc == 0 && yes;
    ad_skill_version_release(&nv);
    return rc;
}

int ad_evolve_submit_best(const struct ad_evolve_env *env, const char *run_id,
                          char mutation_id[AD_ID_SIZE], bool *promoted, struct ad_err *err)
{
    struct ad_evolve_run r;
    struct ad_evolve_program *v = NULL;
    const struct ad_evolve_program *best;
    struct ad_skill sk = { 0 };
    struct ad_skill_version ver = { 0 };
    struct ad_tool_mutation m;
    struct ad_risk risk = { 0 };
    size_t n = 0;
    json_t *st;
    bool again = false;
    int rc = ad_store_evolve_run_get(env->st, env->tenant_id, run_id, &r, err);

    mutation_id[0] = '\0';
    *promoted = false;
    ad_tool_mutation_init(&m);
    if (rc == 0 && (st = json_object_get(r.params, "state")) && ad_json_str(st, "mutation_id")) {
        snprintf(mutation_id, AD_ID_SIZE, "%s", ad_json_str(st, "mutation_id"));
        goto out;    /* once per run */
    }
    if (rc == 0)
        rc = ad_store_evolve_program_list(env->st, env->tenant_id, run_id, &v, &n, err);
    best = rc == 0 ? find_program(v, n, r.best_program_id) : NULL;
    if (rc < 0 || !best)
        goto out;
    rc = ad_catalog_version_get(env->st, env->tenant_id, r.skill_version_id, &ver, err);
    if (rc == 0)
        rc = ad_catalog_skill_get(env->st, env->tenant_id, r.skill_id, &sk, err);
    if (rc < 0 || !strcmp(best->code, ver.code))
        goto out;
    /* Evaluated once more before a reviewer sees it: a lucky measurement stops here. */
    rc = reproduces(env, run_id, best, &again, err);
    if (rc < 0 || !again)
        goto out;
    rc = ad_risk_score(ver.code, best->code, &risk, err);
    if (rc < 0)
        goto out;
    memcpy(m.tenant_id, env->tenant_id, AD_ID_SIZE);
    m.tool_name = strdup(sk.name);
    m.mutated_code = strdup(best->code);
    m.status = AD_MSTAT_PASSED;
    memcpy(m.skill_id, sk.id, AD_ID_SIZE);
    memcpy(m.parent_skill_version_id, ver.id, AD_ID_SIZE);
    memcpy(m.agent_id, r.agent_id, AD_ID_SIZE);
    m.trigger = strdup("manual");
    m.proposer = strdup("offline");
    m.mutation_operator = strdup("evolve");
    m.test_set = json_incref(json_object_get(r.params, "tests"));
    m.proxy_signals = json_pack("{s:s, s:s, s:f, s:O?}", "evolve_run", run_id, "program",
                                best->id, "fitness", best->fitness, "signals", best->signals);
    m.decision = AD_DECISION_WON;
    m.decision_reason = ad_strdupf("the best program of evolution run %s (fitness %g), "
                                   "re-evaluated at the boundaries it passed", run_id,
                                   best->fitness);
    m.review_status = AD_REVIEW_PENDING;
    m.risk_score = risk.score;
    m.risk = ad_risk_json(&risk);
    ad_time_iso(ad_now_ms(), m.evaluated_at);
    if (!m.tool_name || !m.mutated_code || !m.trigger || !m.proposer || !m.mutation_operator ||
        !m.proxy_signals || !m.decision_reason || !m.risk) {
        rc = oom(err);
        goto out;
    }
    rc = ad_store_begin(env->st, err);
    if (rc == 0)
        rc = ad_mutations_create(env->st, env->bus, &m, env->lease, err);
    if (rc == 0) {
        json_object_set_new(json_object_get(r.params, "state"), "mutation_id",
                            json_string(m.id));
        rc = ad_store_evolve_run_update(env->st, &r, err);
    }
    if (rc == 0)
        rc = ad_store_commit(env->st, err);
    else
        ad_store_rollback(env->st);
    if (rc == 0)
        memcpy(mutation_id, m.id, AD_ID_SIZE);
    if (rc == 0)
        rc = auto_promote(env, &r, &m, promoted, err);
out:
    ad_risk_release(&risk);
    ad_tool_mutation_release(&m);
    ad_skill_release(&sk);
    ad_skill_version_release(&ver);
    ad_evolve_program_list_free(v, n);
    ad_evolve_run_release(&r);
    return rc;
}

static json_t *program_json(const struct ad_evolve_program *p, bool code)
{
    json_t *o = json_pack("{s:s, s:i, s:s?, s:O?, s:O?, s:s?, s:i, s:i, s:i, s:s, s:i, s:s}",
                          "id", p->id, "island", p->island, "cell", p->cell, "features",
                          p->features, "signals", p->signals, "parent_id",
                          p->parent_id[0] ? p->parent_id : NULL, "generation", p->generation,
                          "slot", p->slot, "children", p->children, "status", p->status,
                          "stage", p->stage, "code_hash", p->code_hash);

    if (o)
        json_object_set_new(o, "fitness", isfinite(p->fitness) ? json_real(p->fitness)
                                                                : json_null());
    if (o && code)
        json_object_set_new(o, "code", json_string(p->code));
    return o;
}

/*
 * The run's curve, one point per generation: how many programs it made,
 * how many were evaluated, and the best fitness of every evaluated program
 * up to it (null before the first). Rejected (near-duplicate) and failed
 * programs are counted but never best.
 */
static json_t *curve_json(const struct ad_evolve_program *v, size_t n)
{
    json_t *arr = json_array();
    int last = -1;
    double best = NAN;

    for (size_t i = 0; i < n; i++)
        if (v[i].generation > last)
            last = v[i].generation;
    for (int g = 0; arr && g <= last; g++) {
        int made = 0, evaluated = 0;
        json_t *pt;

        for (size_t i = 0; i < n; i++) {
            bool counted;

            if (v[i].generation != g)
                continue;
            made++;
            counted = v[i].status && (!strcmp(v[i].status, "elite") ||
                                      !strcmp(v[i].status, "retired")) && isfinite(v[i].fitness);
            if (!counted)
                continue;
            evaluated++;
            if (isnan(best) || v[i].fitness > best)
                best = v[i].fitness;
        }
        pt = json_pack("{s:i, s:i, s:i, s:o}", "generation", g, "programs", made, "evaluated",
                       evaluated, "best", isnan(best) ? json_null() : json_real(best));
        if (!pt || json_array_append_new(arr, pt) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int ad_evolve_show(struct ad_store *st, const char *tenant_id, const char *run_id, json_t **out,
                   struct ad_err *err)
{
    struct ad_evolve_run r;
    struct ad_evolve_program *v = NULL;
    const struct ad_evolve_program *best;
    size_t n = 0;
    json_t *o = NULL, *params, *elites;
    int rc = ad_store_evolve_run_get(st, tenant_id, run_id, &r, err);

    *out = NULL;
    if (rc == 0)
        rc = ad_store_evolve_program_list(st, tenant_id, run_id, &v, &n, err);
    if (rc < 0)
        goto done;
    params = json_deep_copy(r.params);
    if (params) {
        json_object_del(params, "tests");
        json_object_del(params, "reference");
    }
    elites = json_array();
    for (size_t i = 0; elites && i < n; i++) {
        if (v[i].status && !strcmp(v[i].status, "elite"))
            json_array_append_new(elites, program_json(&v[i], false));
    }
    o = json_pack("{s:s, s:s?, s:s, s:s, s:o?, s:s, s:i, s:I, s:I, s:f, s:s?, s:s?, s:s, s:s, "
                  "s:i, s:o?}",
                  "id", r.id, "agent_id", r.agent_id[0] ? r.agent_id : NULL, "skill_id",
                  r.skill_id, "skill_version_id", r.skill_version_id, "params", params, "state",
                  r.state, "generation", r.generation, "evaluations",
                  (json_int_t)r.evaluations, "tokens", (json_int_t)r.tokens, "usd", r.usd,
                  "best_program_id", r.best_program_id[0] ? r.best_program_id : NULL, "reason",
                  r.reason, "created_at", r.created_at, "updated_at", r.updated_at, "programs",
                  (int)n, "elites", elites);
    if (!o) {
        rc = oom(err);
        goto done;
    }
    best = find_program(v, n, r.best_program_id);
    json_object_set_new(o, "best", best ? program_json(best, true) : json_null());
    json_object_set_new(o, "curve", curve_json(v, n));
    *out = o;
done:
    ad_evolve_program_list_free(v, n);
    ad_evolve_run_release(&r);
    return rc;
}

int ad_evolve_list(struct ad_store *st, const char *tenant_id, int limit, json_t **out,
                   struct ad_err *err)
{
    struct ad_evolve_run *v = NULL;
    size_t n = 0;
    int rc = ad_store_evolve_run_list(st, tenant_id, limit, &v, &n, err);
    json_t *a = rc == 0 ? json_array() : NULL;

    *out = NULL;
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s?, s:s, s:i, s:i, s:I, s:f, s:s?, s:s}", "id", v[i].id,
                              "skill", ad_json_str(v[i].params, "skill"), "state", v[i].state,
                              "generation", v[i].generation, "generations",
                              (int)json_integer_value(json_object_get(v[i].params,
                                                                      "generations")),
                              "evaluations", (json_int_t)v[i].evaluations, "usd", v[i].usd,
                              "reason", v[i].reason, "created_at", v[i].created_at);

        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (rc == 0 && !a)
        rc = oom(err);
    *out = a;
    ad_evolve_run_list_free(v, n);
    return rc;
}

int ad_evolve_trace_page(struct ad_store *st, const char *tenant_id, const char *run_id,
                         int64_t after_seq, int limit, json_t **out, struct ad_err *err)
{
    struct ad_evolve_trace *v = NULL;
    struct ad_evolve_run r;
    size_t n = 0;
    int rc = ad_store_evolve_run_get(st, tenant_id, run_id, &r, err);
    json_t *a = NULL;

    *out = NULL;
    ad_evolve_run_release(&r);
    if (rc == 0)
        rc = ad_store_evolve_trace_list(st, tenant_id, run_id, after_seq, limit, &v, &n, err);
    if (rc == 0 && !(a = json_array()))
        rc = oom(err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *o = json_pack("{s:I, s:i, s:s, s:O}", "seq", (json_int_t)v[i].seq, "generation",
                              v[i].generation, "kind", v[i].kind, "data", v[i].data);

        if (json_array_append_new(a, o) < 0)
            rc = oom(err);
    }
    if (rc < 0)
        json_decref(a);
    else
        *out = a;
    ad_evolve_trace_list_free(v, n);
    return rc;
}

int ad_evolve_progress(struct ad_store *st, const char *tenant_id, const char *run_id,
                       struct ad_evolve_status *out, struct ad_err *err)
{
    struct ad_evolve_run r;
    struct ad_evolve_archive a = { 0 };
    int rc = ad_store_evolve_run_get(st, tenant_id, run_id, &r, err);

    memset(out, 0, sizeof(*out));
    out->best = out->median = NAN;
    if (rc == 0)
        rc = ad_store_evolve_program_list(st, tenant_id, run_id, &a.v, &a.n, err);
    if (rc == 0) {
        elite_stats(&a, &out->best, &out->median, &out->elites);
        out->generation = r.generation;
        out->generations = (int)json_integer_value(json_object_get(r.params, "generations"));
        out->evaluations = r.evaluations;
        out->tokens = r.tokens;
        out->usd = r.usd;
        out->programs = (int64_t)a.n;
        snprintf(out->state, sizeof(out->state), "%s", r.state);
        snprintf(out->reason, sizeof(out->reason), "%s", r.reason ? r.reason : "");
    }
    ad_evolve_archive_release(&a);
    ad_evolve_run_release(&r);
    return rc;
}
