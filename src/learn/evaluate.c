/*
 * AlphaEvolver's side-by-side evaluation and its decision (autodev/evaluate.h).
 *
 * Sections:
 *   statistics and equality
 *   sides: state, release, JSON
 *   running: the lease, one run, the load check
 *   ad_alpha_evaluate: the interleaved schedule, then the sums
 *   ad_alpha_decide: correctness first, then gain against noise
 *
 * Why interleaved and rotated: a machine's speed drifts (other jobs, CPU
 * frequency, caches), and the run right after another one of the same
 * code can be warmer. Running every side of one case back to back, in an
 * order that turns every repeat, spreads drift and order effects over all
 * sides alike instead of handing them to whichever side ran last.
 *
 * Why medians and MADs of per-repeat sums: one repeat is one pass over
 * every case, a sample of the whole workload; a median of a few such
 * samples shrugs off one disturbed pass, and the MAD says how far passes
 * of the same code stray from each other: the noise a gain must clear.
 */
#include "compat.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "autodev/buf.h"
#include "autodev/evaluate.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/text.h"

#define PROBE_FN "__autodev_evaluate_probe__"
#define ERRORS_MAX 5
#define ERROR_TEXT_MAX 300
#define HEARTBEAT_EVERY 8              /* runs between two renewals of the lease */
#define LEASE_RESERVE_MAX_MS 30000     /* of the lease kept for the caller's writes */
#define RUN_MIN_MS 1000                /* a run needs at least this much of the lease */
#define MIN_REPEATS_TO_WIN 3           /* fewer give no measure of the noise */
#define SNIP 60                        /* bytes of an output quoted in a reason */

/* ---- statistics and equality ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

/* The median of the sorted w[0..n). */
static double sorted_median(const double *w, size_t n)
{
    return n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2.0;
}

double ad_stat_median(const double *v, size_t n)
{
    double *w, m;

    if (n == 0 || !(w = malloc(n * sizeof(*w))))
        return NAN;
    memcpy(w, v, n * sizeof(*w));
    qsort(w, n, sizeof(*w), cmp_double);
    m = sorted_median(w, n);
    free(w);
    return m;
}

double ad_stat_mad(const double *v, size_t n)
{
    double *w, m;
    size_t i;

    if (n == 0 || !(w = malloc(n * sizeof(*w))))
        return NAN;
    memcpy(w, v, n * sizeof(*w));
    qsort(w, n, sizeof(*w), cmp_double);
    m = sorted_median(w, n);
    for (i = 0; i < n; i++)
        w[i] = fabs(w[i] - m);
    qsort(w, n, sizeof(*w), cmp_double);
    m = sorted_median(w, n);
    free(w);
    return m;
}

/*
 * jansson's json_equal would do for most of it, but the rules are ours to
 * state: a real that is not finite equals nothing (jansson refuses to make
 * one today; a value from elsewhere might carry one), and types are kept.
 */
bool ad_alpha_outputs_equal(const json_t *a, const json_t *b)
{
    size_t i;

    if (!a || !b || json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *va;

        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, va)
            if (!ad_alpha_outputs_equal(va, json_object_get(b, k)))
                return false;
        return true;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (i = 0; i < json_array_size(a); i++)
            if (!ad_alpha_outputs_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL:
        return isfinite(json_real_value(a)) && json_real_value(a) == json_real_value(b);
    default:   /* true, false, null: the type says it all */
        return true;
    }
}

/* ---- sides: state, release, JSON ------------------------------------------------- */

void ad_eval_side_release(struct ad_eval_side *s)
{
    if (!s)
        return;
    json_decref(s->outputs);
    json_decref(s->errors);
    free(s->cases);
    memset(s, 0, sizeof(*s));
}

/* A number, or null when it is not one. */
static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *ad_eval_side_json(const struct ad_eval_side *s)
{
    json_t *errors = s->errors ? json_deep_copy(s->errors) : json_array();

    if (!errors)
        return NULL;
    return json_pack("{s:b, s:b, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
                     "syntax_error", !s->syntax_ok, "execution_success", s->execution_success,
                     "runs", s->runs, "failures", s->failures, "match_parent",
                     num(s->match_parent), "match_expected", num(s->match_expected),
                     "output_match_rate", num(s->output_match_rate), "latency_median_us",
                     num(s->latency_median_us), "latency_mad_us", num(s->latency_mad_us),
                     "cpu_median_ms", num(s->cpu_median_ms), "output_tokens",
                     (json_int_t)s->output_tokens, "errors", errors);
}

/* What a side collects while it runs, beside its struct ad_eval_side. */
struct case_run {
    json_t *first;          /* the first repeat's output (owned), NULL when it failed */
    bool stable;            /* every run so far ok and equal to the first */
    bool hit_limit;         /* timed out or used up its CPU: not run again */
    double last_us, last_cpu;   /* of the run that hit the limit, for the runs skipped */
};

struct side_run {
    const char *code;
    struct ad_eval_side *out;
    bool loaded;
    struct case_run *cases;       /* ncases */
    double *lat, *cpu;            /* per repeat: sums over cases */
    int *fails;                   /* per repeat */
};

/* Adds the error text (its last line, cut) to the side's distinct errors. */
static int note_error(struct ad_eval_side *s, const char *text)
{
    struct ad_str last = ad_str_last_line(text ? text : "");
    char buf[ERROR_TEXT_MAX + 1];
    size_t i;
    json_t *v;

    snprintf(buf, sizeof(buf), "%.*s", (int)(last.len > ERROR_TEXT_MAX ? ERROR_TEXT_MAX
                                                                        : last.len), last.ptr);
    if (!buf[0])
        snprintf(buf, sizeof(buf), "failed");
    json_array_foreach(s->errors, i, v)
        if (strcmp(json_string_value(v), buf) == 0)
            return 0;
    if (json_array_size(s->errors) >= ERRORS_MAX)
        return 0;
    /* The text came from the skill: it may be any bytes; keep what is UTF-8. */
    v = json_string(buf);
    if (!v)
        v = json_string("(an error message that is not UTF-8)");
    return v && json_array_append_new(s->errors, v) == 0 ? 0 : AD_ENOMEM;
}

static int note_result_error(struct ad_eval_side *s, const struct ad_sandbox_result *r)
{
    char *e = ad_skill_result_error(r);
    int rc;

    if (!e)
        return AD_ENOMEM;
    rc = note_error(s, e);
    free(e);
    return rc;
}

static int side_init(struct side_run *sr, struct ad_eval_side *out, const char *code,
                     size_t ncases, int repeats)
{
    memset(out, 0, sizeof(*out));
    memset(sr, 0, sizeof(*sr));
    sr->code = code;
    sr->out = out;
    out->match_parent = out->match_expected = out->output_match_rate = NAN;
    out->latency_median_us = out->latency_mad_us = out->cpu_median_ms = NAN;
    out->cpu_mad_ms = out->failure_rate_mad = NAN;
    out->latency_min_us = out->latency_max_us = out->cpu_min_ms = out->cpu_max_ms = NAN;
    out->repeats = repeats;
    out->ncases = ncases;
    out->runs = (int)ncases * repeats;
    out->outputs = json_array();
    out->errors = json_array();
    out->cases = calloc(ncases, sizeof(*out->cases));
    sr->cases = calloc(ncases, sizeof(*sr->cases));
    sr->lat = calloc((size_t)repeats, sizeof(double));
    sr->cpu = calloc((size_t)repeats, sizeof(double));
    sr->fails = calloc((size_t)repeats, sizeof(int));
    if (!out->outputs || !out->errors || !out->cases || !sr->cases || !sr->lat || !sr->cpu ||
        !sr->fails)
        return AD_ENOMEM;
    for (size_t c = 0; c < ncases; c++) {
        sr->cases[c].stable = true;
        out->cases[c].match_parent = out->cases[c].match_expected = -1;
    }
    return 0;
}

static void side_free(struct side_run *sr, size_t ncases)
{
    if (sr->cases)
        for (size_t c = 0; c < ncases; c++)
            json_decref(sr->cases[c].first);
    free(sr->cases);
    free(sr->lat);
    free(sr->cpu);
    free(sr->fails);
}

/* ---- running: the lease, one run, the load check --------------------------------- */

struct eval {
    struct ad_sandbox *sb;
    const char *entry;
    const json_t *set;
    size_t ncases, nsides;
    int repeats;
    const struct ad_eval_opts *o;
    struct ad_sandbox_limits base;    /* the caller's limits, wall_ms filled in */
    char **inputs;                    /* per case: the input as JSON text */
    struct side_run *sides;
    int done, total, since_beat;
};

static void progress(struct eval *e, int side, int c, int r, bool skipped,
                     const struct ad_sandbox_result *res)
{
    struct ad_eval_run run = { r, c, side, skipped, res };

    e->done++;
    if (e->o->on_run)
        e->o->on_run(e->o->progress_ctx, &run);
    if (e->o->progress)
        e->o->progress(e->o->progress_ctx, e->done, e->total);
}

/* What a run may take of the lease: what is left less a fifth (at most 30 s). */
static int64_t lease_budget_ms(const struct ad_job_lease *l)
{
    int64_t left = ad_job_lease_left_ms(l), reserve;

    if (left == INT64_MAX)
        return left;
    reserve = left / 5 < LEASE_RESERVE_MAX_MS ? left / 5 : LEASE_RESERVE_MAX_MS;
    return left - reserve;
}

/*
 * The limits of the next run. With a lease: renewed every few runs, and
 * whenever what is left would cut the run short, so that the wall limit
 * is the caller's for every side alike unless even a fresh lease is
 * shorter (then every run is cut the same).
 */
static int run_limits(struct eval *e, struct ad_sandbox_limits *lim, struct ad_err *err)
{
    struct ad_job_lease *l = e->o->lease;
    int64_t budget = INT64_MAX;
    int rc;

    *lim = e->base;
    if (!l)
        return 0;
    if (e->since_beat >= HEARTBEAT_EVERY || lease_budget_ms(l) < lim->wall_ms) {
        rc = ad_jobs_heartbeat(l, err);
        if (rc < 0)
            return ad_error_prefix(err, "alpha evaluation: renewing the job's lease");
        e->since_beat = 0;
    }
    budget = lease_budget_ms(l);
    if (budget < RUN_MIN_MS)
        return ad_error(err, AD_ETIMEOUT, "alpha evaluation: %" PRId64 " ms left on the job's "
                        "lease, too little for another run", ad_job_lease_left_ms(l));
    if (budget < lim->wall_ms)
        lim->wall_ms = budget;
    e->since_beat++;
    return 0;
}

/*
 * Runs code on input under the run's limits. A result whose status is
 * sandbox_error is the infrastructure's failure, not the skill's: an error.
 */
static int run_code(struct eval *e, const char *code, const char *entry, const char *input,
                    struct ad_sandbox_result *r, struct ad_err *err)
{
    struct ad_sandbox_spec spec;
    int rc;

    memset(r, 0, sizeof(*r));
    memset(&spec, 0, sizeof(spec));
    rc = run_limits(e, &spec.limits, err);
    if (rc < 0)
        return rc;
    spec.code = code;
    spec.entry = entry;
    spec.input_json = input;
    rc = ad_sandbox_run(e->sb, &spec, r, err);
    if (rc < 0)
        return ad_error_prefix(err, "alpha evaluation");
    if (r->status == AD_SB_SANDBOX_ERROR) {
        const char *m = json_string_value(json_object_get(r->error, "message"));

        return ad_error(err, AD_EIO, "alpha evaluation: the sandbox failed: %s",
                        m ? m : "no reason given");
    }
    return 0;
}

/* Code the sandbox would refuse to take at all (its fault, not the sandbox's): why, or NULL. */
static const char *unrunnable(const char *code)
{
    json_t *t = json_string(code);   /* NULL for text that is not UTF-8 */

    json_decref(t);
    return t ? NULL : "SyntaxError: the code is not UTF-8 text";
}

/*
 * The load check: the code with a probe function appended, run alone. It
 * compiles, its top level runs, and the entry is a function it defines.
 */
static int load_check(struct eval *e, int side, struct ad_err *err)
{
    struct side_run *sr = &e->sides[side];
    struct ad_sandbox_result r;
    const char *why = unrunnable(sr->code);
    char *probe;
    int rc;

    if (why) {
        sr->loaded = sr->out->syntax_ok = false;
        progress(e, side, -1, 0, true, NULL);
        return note_error(sr->out, why) < 0 ? ad_error(err, AD_ENOMEM, "out of memory") : 0;
    }
    probe = ad_strdupf("%s\n\n\ndef " PROBE_FN "():\n    return callable(globals().get('%s'))\n",
                       sr->code, e->entry);
    if (!probe)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = run_code(e, probe, PROBE_FN, NULL, &r, err);
    free(probe);
    if (rc == 0) {
        sr->loaded = r.status == AD_SB_OK && json_is_true(r.output);
        if (r.status == AD_SB_OK && !sr->loaded) {
            char msg[200];

            snprintf(msg, sizeof(msg), "NameError: entry '%s' is not a function defined by "
                     "the code", e->entry);
            rc = note_error(sr->out, msg);
        } else if (!sr->loaded) {
            rc = note_result_error(sr->out, &r);
        }
        if (rc < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        sr->out->syntax_ok = sr->loaded;
        progress(e, side, -1, 0, false, &r);
    }
    ad_sandbox_result_clear(&r);
    return rc;
}

/* The skill's own time of a run, in microseconds (see evaluate.h). */
static double run_us(const struct ad_sandbox_result *r)
{
    if (r->call_us >= 0 && r->load_us >= 0)
        return (double)(r->call_us + r->load_us);
    return (double)r->wall_ms * 1000.0;
}

/* Takes one run's result into the side's state for case c, repeat rep. */
static int take_result(struct side_run *sr, size_t c, int rep, const struct ad_sandbox_result *r)
{
    struct case_run *cr = &sr->cases[c];
    struct ad_eval_case *ec = &sr->out->cases[c];
    bool ok = r->status == AD_SB_OK;
    const json_t *output = r->output ? r->output : json_null();

    ec->runs++;
    sr->lat[rep] += run_us(r);
    sr->cpu[rep] += (double)r->cpu_ms;
    if (!ok) {
        ec->failures++;
        sr->fails[rep]++;
        cr->stable = false;
        if (r->status == AD_SB_TIMEOUT || r->status == AD_SB_CPU_LIMIT) {
            cr->hit_limit = true;
            cr->last_us = run_us(r);
            cr->last_cpu = (double)r->cpu_ms;
        }
        return note_result_error(sr->out, r);
    }
    if (rep == 0) {
        cr->first = json_incref((json_t *)output);
    } else if (!ad_alpha_outputs_equal(cr->first, output)) {
        cr->stable = false;
    }
    return 0;
}

/* A run not made: the side does not load, or it hit a limit on this case before. */
static void take_skipped(struct side_run *sr, size_t c, int rep)
{
    struct case_run *cr = &sr->cases[c];

    sr->out->cases[c].runs++;
    sr->out->cases[c].failures++;
    sr->fails[rep]++;
    cr->stable = false;
    sr->lat[rep] += cr->last_us;
    sr->cpu[rep] += cr->last_cpu;
}

static int run_case(struct eval *e, int side, size_t c, int rep, struct ad_err *err)
{
    struct side_run *sr = &e->sides[side];
    struct ad_sandbox_result r;
    int rc;

    if (!sr->loaded || sr->cases[c].hit_limit) {
        take_skipped(sr, c, rep);
        progress(e, side, (int)c, rep, true, NULL);
        return 0;
    }
    rc = run_code(e, sr->code, e->entry, e->inputs[c], &r, err);
    if (rc == 0) {
        rc = take_result(sr, c, rep, &r);
        if (rc < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        else
            progress(e, side, (int)c, rep, false, &r);
    }
    ad_sandbox_result_clear(&r);
    return rc;
}

/* ---- ad_alpha_evaluate ------------------------------------------------------------- */

static int check_args(const char *entry, const char *parent_code,
                      const char *const *mutant_codes, size_t nmutants, const json_t *set,
                      const struct ad_eval_opts *o, struct ad_err *err)
{
    size_t i;
    const json_t *c;

    if (!ad_text_identifier(entry, 128))
        return ad_error(err, AD_EINVAL, "entry '%s' is not a Python identifier",
                        entry ? entry : "");
    if (!parent_code)
        return ad_error(err, AD_EINVAL, "alpha evaluation needs the parent's code");
    if (nmutants > AD_ALPHA_MUTANTS_MAX || (nmutants && !mutant_codes))
        return ad_error(err, AD_EINVAL, "alpha evaluation takes 0..%d mutants, not %zu",
                        AD_ALPHA_MUTANTS_MAX, nmutants);
    for (i = 0; i < nmutants; i++)
        if (!mutant_codes[i])
            return ad_error(err, AD_EINVAL, "mutant %zu has no code", i);
    if (!o || o->repeats < 1 || o->repeats > AD_ALPHA_REPEATS_MAX)
        return ad_error(err, AD_EINVAL, "repeats must be 1..%d", AD_ALPHA_REPEATS_MAX);
    if (!json_is_array(set) || json_array_size(set) == 0)
        return ad_error(err, AD_EINVAL, "the test set is empty: nothing to compare on");
    if (json_array_size(set) > AD_ALPHA_CASES_MAX)
        return ad_error(err, AD_EINVAL, "the test set has %zu cases, more than %d",
                        json_array_size(set), AD_ALPHA_CASES_MAX);
    json_array_foreach(set, i, c)
        if (!json_is_object(c) || !json_object_get(c, "input"))
            return ad_error(err, AD_EINVAL, "test case %zu has no \"input\"", i);
    return 0;
}

/*
 * The schedule: the load checks, then for each repeat, for each case,
 * every side in the order of the repeat (rotated by one each repeat).
 */
static int schedule(struct eval *e, struct ad_err *err)
{
    size_t s, c;
    int r, rc;

    for (s = 0; s < e->nsides; s++) {
        rc = load_check(e, (int)s, err);
        if (rc < 0)
            return rc;
    }
    for (r = 0; r < e->repeats; r++)
        for (c = 0; c < e->ncases; c++)
            for (s = 0; s < e->nsides; s++) {
                rc = run_case(e, (int)((r + s) % e->nsides), c, r, err);
                if (rc < 0)
                    return rc;
            }
    return 0;
}

/* The side's case results and match against the parent's (side 0) and the expected. */
static void match_cases(struct eval *e, struct side_run *sr, const struct side_run *parent)
{
    struct ad_eval_side *out = sr->out;
    int pm = 0, pn = 0, em = 0, en = 0;

    for (size_t c = 0; c < e->ncases; c++) {
        struct ad_eval_case *ec = &out->cases[c];
        const json_t *want = json_object_get(json_array_get(e->set, c), "expected");
        bool stable = sr->loaded && sr->cases[c].stable;

        ec->stable = stable;
        if (!stable)
            out->unstable_cases++;
        if (sr == parent) {
            ec->match_parent = stable;
        } else if (parent->loaded && parent->cases[c].stable) {
            ec->match_parent = stable && ad_alpha_outputs_equal(sr->cases[c].first,
                                                                parent->cases[c].first);
        }
        if (ec->match_parent >= 0) {
            pn++;
            pm += ec->match_parent;
        }
        if (want && !json_is_null(want)) {
            ec->match_expected = stable && ad_alpha_outputs_equal(sr->cases[c].first, want);
            en++;
            em += ec->match_expected;
        }
    }
    out->match_parent = sr == parent ? (double)pm / (double)e->ncases
                                     : pn ? (double)pm / pn : NAN;
    out->match_expected = en ? (double)em / en : NAN;
    out->output_match_rate = isnan(out->match_expected) ? out->match_parent
                             : isnan(out->match_parent) ? out->match_expected
                             : fmin(out->match_parent, out->match_expected);
}

/* The side's sums: failures, medians, MADs, outputs and their size. */
static int summarize(struct eval *e, struct side_run *sr, const struct side_run *parent)
{
    struct ad_eval_side *out = sr->out;
    double *rate = calloc((size_t)e->repeats, sizeof(double));
    size_t bytes = 0;
    int r;

    if (!rate)
        return AD_ENOMEM;
    for (r = 0; r < e->repeats; r++) {
        out->failures += sr->fails[r];
        rate[r] = (double)sr->fails[r] / (double)e->ncases;
    }
    out->execution_success = sr->loaded && out->failures == 0;
    out->failure_rate_mad = ad_stat_mad(rate, (size_t)e->repeats);
    free(rate);
    if (sr->loaded) {
        out->latency_median_us = ad_stat_median(sr->lat, (size_t)e->repeats);
        out->latency_mad_us = ad_stat_mad(sr->lat, (size_t)e->repeats);
        out->cpu_median_ms = ad_stat_median(sr->cpu, (size_t)e->repeats);
        out->cpu_mad_ms = ad_stat_mad(sr->cpu, (size_t)e->repeats);
        out->latency_min_us = out->latency_max_us = sr->lat[0];
        out->cpu_min_ms = out->cpu_max_ms = sr->cpu[0];
        for (r = 1; r < e->repeats; r++) {
            out->latency_min_us = fmin(out->latency_min_us, sr->lat[r]);
            out->latency_max_us = fmax(out->latency_max_us, sr->lat[r]);
            out->cpu_min_ms = fmin(out->cpu_min_ms, sr->cpu[r]);
            out->cpu_max_ms = fmax(out->cpu_max_ms, sr->cpu[r]);
        }
    }
    for (size_t c = 0; c < e->ncases; c++) {
        json_t *first = sr->cases[c].first;

        if (first)
            bytes += ad_json_size(first);
        if (json_array_append(out->outputs, first ? first : json_null()) < 0)
            return AD_ENOMEM;
    }
    out->output_tokens = (int64_t)((bytes + 3) / 4);
    match_cases(e, sr, parent);
    return 0;
}

static int prepare(struct eval *e, const char *parent_code, const char *const *mutant_codes,
                   struct ad_eval_side *parent_out, struct ad_eval_side *mutants_out)
{
    size_t s, c;
    int rc = 0;

    e->sides = calloc(e->nsides, sizeof(*e->sides));
    e->inputs = calloc(e->ncases, sizeof(*e->inputs));
    if (!e->sides || !e->inputs)
        return AD_ENOMEM;
    for (s = 0; s < e->nsides && rc == 0; s++)
        rc = side_init(&e->sides[s], s ? &mutants_out[s - 1] : parent_out,
                       s ? mutant_codes[s - 1] : parent_code, e->ncases, e->repeats);
    for (c = 0; c < e->ncases && rc == 0; c++) {
        e->inputs[c] = ad_json_dumps_flags(json_object_get(json_array_get(e->set, c), "input"),
                                           JSON_COMPACT | JSON_ENCODE_ANY);
        if (!e->inputs[c])
            rc = AD_ENOMEM;
    }
    return rc;
}

int ad_alpha_evaluate(struct ad_sandbox *sb, const char *entry, const char *parent_code,
                      const char *const *mutant_codes, size_t nmutants, const json_t *test_set,
                      const struct ad_eval_opts *o, struct ad_eval_side *parent_out,
                      struct ad_eval_side *mutants_out, struct ad_err *err)
{
    struct eval e;
    size_t s, c;
    int rc;

    memset(parent_out, 0, sizeof(*parent_out));
    for (s = 0; s < nmutants && mutants_out; s++)
        memset(&mutants_out[s], 0, sizeof(mutants_out[s]));
    if (!sb || (nmutants && !mutants_out))
        return ad_error(err, AD_EINVAL, "alpha evaluation needs a sandbox and room for results");
    rc = check_args(entry, parent_code, mutant_codes, nmutants, test_set, o, err);
    if (rc < 0)
        return rc;

    memset(&e, 0, sizeof(e));
    e.sb = sb;
    e.entry = entry;
    e.set = test_set;
    e.ncases = json_array_size(test_set);
    e.nsides = nmutants + 1;
    e.repeats = o->repeats;
    e.o = o;
    if (o->limits)
        e.base = *o->limits;
    if (e.base.wall_ms <= 0)
        e.base.wall_ms = AD_SB_DEFAULT_WALL_MS;
    e.total = (int)(e.nsides * (1 + e.ncases * (size_t)e.repeats));

    rc = prepare(&e, parent_code, mutant_codes, parent_out, mutants_out);
    if (rc < 0)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0)
        rc = schedule(&e, err);
    for (s = 0; rc == 0 && s < e.nsides; s++)
        if (summarize(&e, &e.sides[s], &e.sides[0]) < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");

    for (s = 0; e.sides && s < e.nsides; s++)
        side_free(&e.sides[s], e.ncases);
    free(e.sides);
    for (c = 0; e.inputs && c < e.ncases; c++)
        free(e.inputs[c]);
    free(e.inputs);
    return rc;
}

/* ---- ad_alpha_decide ----------------------------------------------------------------- */

static const char *const goal_names[] = { "latency", "cost", "reliability" };

const char *ad_alpha_goal_name(enum ad_alpha_goal g)
{
    return (unsigned)g < AD_ARRAY_SIZE(goal_names) ? goal_names[g] : "unknown";
}

int ad_alpha_goal_parse(const char *s, enum ad_alpha_goal *out, struct ad_err *err)
{
    for (size_t i = 0; s && i < AD_ARRAY_SIZE(goal_names); i++)
        if (strcmp(s, goal_names[i]) == 0) {
            *out = (enum ad_alpha_goal)i;
            return 0;
        }
    return ad_error(err, AD_EINVAL, "unknown goal '%s' (latency, cost or reliability)",
                    s ? s : "");
}

/* The verdict into out: a reason in printf form. */
__attribute__((format(printf, 3, 4)))
static void verdict(struct ad_alpha_decision *out, bool won, const char *fmt, ...)
{
    va_list ap;

    out->won = won;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

/* A value as a short one-line quote into buf ("(no output)" for NULL). */
static const char *snip(const json_t *v, char *buf, size_t size)
{
    char *t = v ? ad_json_dumps_flags(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

    if (!t)
        snprintf(buf, size, "%s", v ? "(unprintable)" : "(no output)");
    else if (strlen(t) > SNIP)
        snprintf(buf, size, "%.*s...", SNIP, t);
    else
        snprintf(buf, size, "%s", t);
    free(t);
    return buf;
}

static const char *first_error(const struct ad_eval_side *s)
{
    const char *e = json_string_value(json_array_get(s->errors, 0));

    return e ? e : "no error recorded";
}

/*
 * The first case whose outputs do not check out, said in the reason: true
 * when there is one, or when no case could be checked at all. For
 * reliability, a case the mutant still fails where the parent failed too
 * is judged by the failure counts (reliability_loses), not by its output.
 */
static bool output_mismatch(const struct ad_eval_side *p, const struct ad_eval_side *m,
                            enum ad_alpha_goal goal, struct ad_alpha_decision *out)
{
    char a[SNIP + 8], b[SNIP + 8];
    size_t checked = 0;

    for (size_t c = 0; c < m->ncases; c++) {
        const struct ad_eval_case *mc = &m->cases[c];
        const json_t *mo = json_array_get(m->outputs, c), *po = json_array_get(p->outputs, c);

        if (goal == AD_GOAL_RELIABILITY && mc->failures > 0 && p->cases[c].failures > 0)
            continue;
        checked += mc->match_parent >= 0 || mc->match_expected >= 0;
        if (mc->match_parent == 0 && !mc->stable) {
            verdict(out, false, "lost: output is not the same in every repeat on case %zu "
                    "(first %s, the parent's %s)", c, snip(mo, a, sizeof(a)),
                    snip(po, b, sizeof(b)));
            return true;
        }
        if (mc->match_parent == 0) {
            verdict(out, false, "lost: output differs from the parent's on case %zu: %s, the "
                    "parent's %s", c, snip(mo, a, sizeof(a)), snip(po, b, sizeof(b)));
            return true;
        }
        if (mc->match_expected == 0) {
            verdict(out, false, "lost: output differs from the expected one on case %zu: %s "
                    "(the parent's %s)", c, snip(mo, a, sizeof(a)), snip(po, b, sizeof(b)));
            return true;
        }
    }
    if (checked == 0) {
        verdict(out, false, "lost: no case to check its outputs on (the parent was stable on "
                "none it passes, and no expected output is known)");
        return true;
    }
    return false;
}

/* For reliability: no failure where the parent had none, and fewer in all. */
static bool reliability_loses(const struct ad_eval_side *p, const struct ad_eval_side *m,
                              struct ad_alpha_decision *out)
{
    for (size_t c = 0; c < m->ncases; c++)
        if (p->cases[c].failures == 0 && m->cases[c].failures > 0) {
            verdict(out, false, "lost: fails %d of %d runs of case %zu, which the parent always "
                    "passed (%s)", m->cases[c].failures, m->cases[c].runs, c, first_error(m));
            return true;
        }
    if (m->failures >= p->failures) {
        verdict(out, false, "lost: %d failed runs of %d, the parent %d: not fewer", m->failures,
                m->runs, p->failures);
        return true;
    }
    return false;
}

/* Correctness: true (and out says why) when the mutant loses on it. */
static bool incorrect(const struct ad_eval_side *p, const struct ad_eval_side *m,
                      const struct ad_decide_opts *o, struct ad_alpha_decision *out)
{
    if (!m->syntax_ok) {
        verdict(out, false, "lost: does not load (%s)", first_error(m));
        return true;
    }
    if (o->goal == AD_GOAL_RELIABILITY) {
        if (reliability_loses(p, m, out))
            return true;
    } else if (!m->execution_success) {
        verdict(out, false, "lost: %d of %d runs failed (%s)", m->failures, m->runs,
                first_error(m));
        return true;
    }
    if (output_mismatch(p, m, o->goal, out))
        return true;
    /* The per-case checks above say the same as the rate; this holds them to it. */
    if (o->goal != AD_GOAL_RELIABILITY && !(m->output_match_rate == 1.0)) {
        verdict(out, false, "lost: outputs match on %.1f%% of the checked cases, not all",
                100.0 * m->output_match_rate);
        return true;
    }
    return false;
}

/* The measure of a side for the goal, and its MAD. */
static void measure(const struct ad_eval_side *s, enum ad_alpha_goal g, double *med, double *mad)
{
    if (g == AD_GOAL_COST) {
        *med = s->cpu_median_ms;
        *mad = s->cpu_mad_ms;
    } else {
        *med = s->latency_median_us;
        *mad = s->latency_mad_us;
    }
}

/* The rank test (evaluate.h): every mutant repeat below every parent repeat. */
static bool separated(const struct ad_eval_side *p, const struct ad_eval_side *m,
                      enum ad_alpha_goal g)
{
    double pmin = g == AD_GOAL_COST ? p->cpu_min_ms : p->latency_min_us;
    double mmax = g == AD_GOAL_COST ? m->cpu_max_ms : m->latency_max_us;

    return p->repeats >= AD_ALPHA_MIN_REPEATS_TO_SEPARATE &&
           m->repeats >= AD_ALPHA_MIN_REPEATS_TO_SEPARATE && mmax < pmin;
}

static void decide_gain(const struct ad_eval_side *p, const struct ad_eval_side *m,
                        const struct ad_decide_opts *o, struct ad_alpha_decision *out)
{
    const char *unit = o->goal == AD_GOAL_COST ? "cpu ms" : "us";
    double pm, pd, mm, md;
    char unstable[80] = "";

    if (p->unstable_cases)
        snprintf(unstable, sizeof(unstable), "; %d case(s) where the parent was unstable left "
                 "out", p->unstable_cases);
    if (o->goal == AD_GOAL_RELIABILITY) {
        out->gain = (double)p->failures / p->runs - (double)m->failures / m->runs;
        out->noise = fmax(p->failure_rate_mad, m->failure_rate_mad);
        pm = (double)p->failures / p->runs;
        mm = (double)m->failures / m->runs;
        unit = "failure rate";
    } else {
        measure(p, o->goal, &pm, &pd);
        measure(m, o->goal, &mm, &md);
        if (!(pm > 0) || !isfinite(mm)) {
            verdict(out, false, "lost: no %s measured for the parent to gain on",
                    ad_alpha_goal_name(o->goal));
            return;
        }
        out->gain = 1.0 - mm / pm;
        out->noise = fmax(pd, md) / pm;
        out->separated = separated(p, m, o->goal);
    }
    if (!isfinite(out->gain) || !isfinite(out->noise)) {
        verdict(out, false, "lost: the %s could not be measured", ad_alpha_goal_name(o->goal));
        return;
    }
    /* Said in milliseconds: the measure itself stays in microseconds. */
    if (o->goal == AD_GOAL_LATENCY) {
        pm /= 1000;
        mm /= 1000;
        unit = "ms";
    } else if (o->goal == AD_GOAL_COST) {
        unit = "cpu ms";
    }
    if (out->gain >= o->min_gain && !(out->gain > o->noise_k * out->noise) && out->separated)
        verdict(out, true, "won: same outputs; %s %.4g -> %.4g %s, gain %.1f%% (minimum %.1f%%; "
                "the noise %.1f%% is above 1/%.4g of it, but each of %d mutant repeats beat each "
                "of %d parent repeats)%s", ad_alpha_goal_name(o->goal), pm, mm, unit,
                100.0 * out->gain, 100.0 * o->min_gain, 100.0 * out->noise, o->noise_k,
                m->repeats, p->repeats, unstable);
    else if (out->gain < o->min_gain || !(out->gain > o->noise_k * out->noise))
        verdict(out, false, "lost: %s %.4g -> %.4g %s, gain %.1f%% against a minimum of %.1f%% "
                "and %.4g x noise %.1f%%%s", ad_alpha_goal_name(o->goal), pm, mm, unit,
                100.0 * out->gain, 100.0 * o->min_gain, o->noise_k, 100.0 * out->noise,
                unstable);
    else
        verdict(out, true, "won: same outputs; %s %.4g -> %.4g %s, gain %.1f%% (minimum %.1f%%, "
                "%.4g x noise %.1f%%)%s", ad_alpha_goal_name(o->goal), pm, mm, unit,
                100.0 * out->gain, 100.0 * o->min_gain, o->noise_k, 100.0 * out->noise,
                unstable);
}

void ad_alpha_decide(const struct ad_eval_side *parent, const struct ad_eval_side *mutant,
                     const struct ad_decide_opts *o, struct ad_alpha_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->gain = out->noise = NAN;
    if (!o || (unsigned)o->goal > AD_GOAL_RELIABILITY || !isfinite(o->min_gain) ||
        o->min_gain < 0 || !isfinite(o->noise_k) || o->noise_k < 0) {
        verdict(out, false, "lost: invalid decision options (goal, min_gain >= 0, noise_k >= 0)");
        return;
    }
    if (!parent || !mutant || !parent->cases || !mutant->cases || parent->ncases == 0 ||
        parent->ncases != mutant->ncases || parent->runs <= 0 || mutant->runs <= 0) {
        verdict(out, false, "lost: the parent and the mutant were not evaluated together on "
                "the same cases");
        return;
    }
    if (incorrect(parent, mutant, o, out))
        return;
    if (mutant->repeats < MIN_REPEATS_TO_WIN || parent->repeats < MIN_REPEATS_TO_WIN) {
        verdict(out, false, "lost: %d repeat(s) measure no noise; a win needs at least %d",
                mutant->repeats, MIN_REPEATS_TO_WIN);
        return;
    }
    decide_gain(parent, mutant, o, out);
}
