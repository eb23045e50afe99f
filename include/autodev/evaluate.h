/*
 * AlphaEvolver's evaluation: the test set of a skill version, the parent
 * and its mutants run side by side in the sandbox, and the decision whether
 * a mutant is better, made so that noise cannot pass for a gain.
 *
 *   test set   distinct recorded inputs of the version (testset.c)
 *   evaluate   every side on every case, repeats times, interleaved and
 *              rotated, each run under a hard wall deadline (evaluate.c)
 *   decide     pure: correctness first (it loads, it runs, its outputs
 *              equal the parent's and the expected ones), then a gain that
 *              clears both the minimum and k times the noise floor
 *
 * The measure of latency is the skill's own time inside the harness
 * (struct ad_sandbox_result's load_us + call_us): process start-up is most
 * of a small skill's wall time and the same for every version, so timing
 * the whole process would hide a real difference in its noise. The load
 * is counted with the call because every execution is a fresh process: a
 * mutant that moves work to its top level is not faster where it runs.
 *
 * Nothing here writes to the store: the caller (the alpha.mutate job)
 * records what it decides.
 */
#ifndef AUTODEV_EVALUATE_H
#define AUTODEV_EVALUATE_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/evaluate.h belongs to module learn (layer 5), above the module including it"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/error.h"

struct ad_store;
struct ad_sandbox;
struct ad_sandbox_limits;
struct ad_sandbox_result;
struct ad_job_lease;

/* ---- the test set (testset.c) ---------------------------------------------- */

/* An input larger than this (compact JSON) is left out of a test set. */
#define AD_ALPHA_INPUT_MAX (64 * 1024)
/* The largest max_inputs of ad_alpha_test_set. */
#define AD_ALPHA_CASES_MAX 1000

/*
 * A test case: {"input": any, "expected": any (optional: absent means
 * unknown), "parent_output": any (optional, as recorded), "source":
 * "execution"|"episode", "source_id": id}
 *
 * The test set of a skill version: distinct inputs (canonical JSON
 * compare: keys sorted, 1 and 1.0 distinct) from its recorded
 * skill_executions and from episodes that used that version
 * (episodes.skill_version_id), at most max_inputs (1..AD_ALPHA_CASES_MAX).
 *
 * Which records: the newest 4 * max_inputs + 16 of each kind. Order: the
 * records of both kinds merged newest first (by id, which is
 * time-ordered; an execution before an episode of the same id), and a
 * case takes the place of its input's newest record, so the same store
 * gives the same array. A case's source is that record, unless an older
 * episode of the same input carries the expected output: an episode's
 * expected wins over none (of several, the newest), and the case's
 * source is then that episode. parent_output is the output of the newest
 * record of the input that succeeded (absent when none did). A null or
 * absent input is the input null; an expected of null counts as unknown,
 * as in the episode's JSON form. Inputs over AD_ALPHA_INPUT_MAX (compact
 * JSON) are skipped and the records skipped counted in *skipped (may be
 * NULL).
 *
 * *out: new JSON array (possibly empty). AD_EINVAL for a bad id or
 * max_inputs; store errors as they are.
 */
int ad_alpha_test_set(struct ad_store *st, const char *tenant_id, const char *skill_version_id,
                      int max_inputs, json_t **out, int *skipped, struct ad_err *err);

/* ---- evaluation (evaluate.c) ------------------------------------------------ */

/* Limits of ad_alpha_evaluate's arguments. */
#define AD_ALPHA_MUTANTS_MAX 32
#define AD_ALPHA_REPEATS_MAX 100

/* One run as ad_alpha_evaluate made it (or skipped it): for on_run. */
struct ad_eval_run {
    int repeat;          /* 0-based */
    int case_index;      /* 0-based, into the test set; -1 for a side's load check */
    int side;            /* 0 the parent, 1 + i mutant i */
    bool skipped;        /* not run (the side does not load, or it already hit the wall or
                            CPU limit on this case); result is NULL */
    const struct ad_sandbox_result *result;   /* borrowed, valid during the call */
};

struct ad_eval_opts {
    int repeats;                       /* >= 1; runs per (code, case); at most
                                          AD_ALPHA_REPEATS_MAX */
    const struct ad_sandbox_limits *limits;   /* NULL: sandbox defaults; wall_ms is the hard
                                                 deadline of each run */
    struct ad_job_lease *lease;        /* NULL: none; renewed (ad_jobs_heartbeat) every few runs,
                                          and each run's wall limit cut to the lease time left
                                          minus a reserve; lease lost -> AD_ESTATE, stop */
    void (*progress)(void *ctx, int done, int total);   /* may be NULL */
    void *progress_ctx;
    /* Added: called after each run or skipped run, with progress_ctx (may be NULL). */
    void (*on_run)(void *ctx, const struct ad_eval_run *run);
};

/* What one side did on one case (an addition to the contract's fields). */
struct ad_eval_case {
    int runs, failures;        /* of this case */
    bool stable;               /* every repeat ran ok and gave the same output */
    signed char match_parent;  /* 1 equal to the parent's in every repeat, 0 not, -1 excluded
                                  (the parent was not stable on this case) */
    signed char match_expected;   /* 1 equal to the expected output in every repeat, 0 not,
                                     -1 no expected output known */
};

struct ad_eval_side {
    bool syntax_ok;                    /* compiles (the entry function defined): checked once,
                                          before any run, with a load-only run in the sandbox */
    bool execution_success;            /* every run status ok */
    int runs, failures;                /* runs: the runs due (cases x repeats), made or not;
                                          failures: runs whose status is not ok, and every run
                                          of a side that does not load */
    double match_parent;               /* fraction of cases whose output equals the parent's in
                                          EVERY repeat, over the cases where the parent was
                                          stable; the parent against itself: fraction of cases
                                          stable across its own repeats. NAN when no case counts */
    double match_expected;             /* fraction of cases with a known expected output where
                                          the output equals it in every repeat; NAN when no case
                                          has one */
    double output_match_rate;          /* min(match_parent, match_expected when known); NAN when
                                          neither is known */
    double latency_median_us;          /* per repeat: the sum over cases of load_us + call_us
                                          (wall_ms*1000 when unknown); then the median over
                                          repeats. NAN for a side that does not load */
    double latency_mad_us;             /* median absolute deviation of those per-repeat sums */
    double cpu_median_ms;              /* same, of cpu_ms */
    int64_t output_tokens;             /* estimate: ceil(bytes of compact JSON outputs of one
                                          repeat / 4) */
    json_t *outputs;                   /* array, per case, the output of the first repeat (null
                                          on failure) */
    json_t *errors;                    /* array of distinct error strings, at most 5 */
    /* Additions to the contract: */
    double cpu_mad_ms;                 /* MAD of the per-repeat cpu sums */
    double failure_rate_mad;           /* MAD over repeats of each repeat's failed fraction */
    int repeats;                       /* as evaluated */
    double latency_min_us, latency_max_us; /* the smallest and largest per-repeat latency
                                          sums (NAN for a side that does not load) */
    double cpu_min_ms, cpu_max_ms;     /* the same of the cpu sums */
    int unstable_cases;                /* cases not stable (a failure, or outputs that differ
                                          between repeats) */
    size_t ncases;
    struct ad_eval_case *cases;        /* owned, ncases of them */
};

/* Frees what s owns and zeroes it; s may be NULL. */
void ad_eval_side_release(struct ad_eval_side *s);
/*
 * {"syntax_error","execution_success","runs","failures","match_parent",
 *  "match_expected"(null when NAN),"output_match_rate","latency_median_us",
 *  "latency_mad_us","cpu_median_ms","output_tokens","errors"}: a new
 * reference, NULL out of memory. Every number that is NAN is null.
 */
json_t *ad_eval_side_json(const struct ad_eval_side *s);

/*
 * Equality of outputs for evaluation: JSON equal with types kept (1 !=
 * 1.0, int vs str differ), a NaN/Infinity anywhere is never equal to
 * anything (the harness may also refuse it: then the run failed), object
 * key order ignored. NULL (no output) equals nothing, not even NULL.
 */
bool ad_alpha_outputs_equal(const json_t *a, const json_t *b);

/*
 * Runs the parent and every mutant on every case, repeats times,
 * INTERLEAVED: for each repeat r, for each case c, the parent then each
 * mutant, the order rotated every repeat (ABC, BCA, ...) so drift and
 * order effects hit all sides alike. entry: the entry function. Every run
 * has a hard wall deadline. A mutant that does not compile is not run
 * (syntax_ok false, failures = runs it would have had). A side that hit
 * the wall or CPU limit on a case is not run on that case again: its
 * remaining repeats there count as failures (a loop would loop again, at
 * a whole wall limit each). parent_out and mutants_out[nmutants] are
 * filled (release each, also after an error). Returns < 0 only for
 * infrastructure errors (a sandbox_error or a sandbox that cannot be
 * reached: AD_EIO and the like; lease lost: AD_ESTATE; a lease too short
 * for one more run: AD_ETIMEOUT) and bad arguments (AD_EINVAL: no code, an
 * entry that is no identifier, an empty test set or a case without
 * "input", repeats or nmutants out of range); a skill's own failures are
 * data. progress counts done of total = sides x (1 + cases x repeats)
 * (the load checks included).
 */
int ad_alpha_evaluate(struct ad_sandbox *sb, const char *entry, const char *parent_code,
                      const char *const *mutant_codes, size_t nmutants, const json_t *test_set,
                      const struct ad_eval_opts *o, struct ad_eval_side *parent_out,
                      struct ad_eval_side *mutants_out, struct ad_err *err);

/* ---- the decision (evaluate.c) ---------------------------------------------- */

enum ad_alpha_goal { AD_GOAL_LATENCY = 0, AD_GOAL_COST = 1, AD_GOAL_RELIABILITY = 2 };
const char *ad_alpha_goal_name(enum ad_alpha_goal g);  /* "latency", "cost", "reliability" */
/* "latency", "cost" or "reliability" into *out; AD_EINVAL naming the word otherwise. */
int ad_alpha_goal_parse(const char *s, enum ad_alpha_goal *out, struct ad_err *err);

/*
 * A rank test beside the MAD: when both sides ran at least this many
 * repeats and the slowest repeat of the mutant beat the fastest repeat of
 * the parent, the chance of that by noise alone (the repeats exchangeable)
 * is 1 / C(2n, n), 1 in 924 for n = 6, and the gain is told from the noise
 * however wide it is (a loaded machine's noise is wide: its MAD can pass
 * a third of the median while every repeat still orders the two).
 */
#define AD_ALPHA_MIN_REPEATS_TO_SEPARATE 6

struct ad_decide_opts {
    enum ad_alpha_goal goal;
    double min_gain;        /* fraction, e.g. 0.10 */
    double noise_k;         /* e.g. 3 */
};

struct ad_alpha_decision {
    bool won;
    bool separated;         /* latency and cost: every mutant repeat beat every parent repeat,
                               with AD_ALPHA_MIN_REPEATS_TO_SEPARATE repeats or more each */
    double gain;            /* fraction of the parent's measure saved (latency or cpu); for
                               reliability: parent failure rate minus mutant failure rate */
    double noise;           /* the noise floor as a fraction: max(parent MAD, mutant MAD) /
                               parent median (latency; cost: same with cpu); reliability: the
                               larger MAD over repeats of either side's failed fraction */
    char reason[512];       /* one line: why it won or lost, with the numbers */
};

/*
 * Pure. The mutant loses, in this order, when:
 *   - the options are invalid (goal unknown, min_gain or noise_k negative
 *     or not finite);
 *   - the parent's side is missing its cases or has another number of
 *     them than the mutant's (they were not evaluated together);
 *   - it does not load (syntax_ok false);
 *   - it failed a run: for latency and cost any run (execution_success);
 *     for reliability it must fail no run on a case where the parent
 *     failed none, and fail strictly fewer runs than the parent in all;
 *   - its outputs differ: output_match_rate below 1.0, i.e. on some case
 *     where the parent was stable (every repeat ok and equal) it did not
 *     give the parent's output in every repeat, or on some case with a
 *     known expected output it did not give that one in every repeat.
 *     Cases where the parent was unstable are left out of the parent
 *     match (and counted in the reason) but not out of the expected
 *     match; for reliability only, a case that both the parent and the
 *     mutant fail is judged by the failure counts above, not by its
 *     output (a mutant that newly passes a case must give its expected
 *     output when one is known; when none is, nothing checks that case).
 *     With no case to check outputs on at all (no stable parent case, no
 *     expected output) nothing shows it is correct: it loses;
 *   - either side ran fewer than 3 repeats: one or two passes measure no
 *     noise, so no gain can be told from it;
 *   - its gain is below min_gain, or neither above noise_k x noise nor
 *     separated (latency and cost: with AD_ALPHA_MIN_REPEATS_TO_SEPARATE
 *     repeats or more on each side, the mutant's slowest repeat faster
 *     than the parent's fastest; out->separated says so).
 * Latency gain: 1 - mutant median / parent median (the sums of load_us +
 * call_us); cost the same with cpu_ms; a parent median of 0 gives no
 * gain. Reliability gain: parent failure rate - mutant failure rate.
 * out->reason names the first rule that failed (for outputs: the case and
 * both values), or the numbers of the win.
 */
void ad_alpha_decide(const struct ad_eval_side *parent, const struct ad_eval_side *mutant,
                     const struct ad_decide_opts *o, struct ad_alpha_decision *out);

/* ---- statistics ------------------------------------------------------------- */

/* The median of v[0..n) (v is not changed); NAN when n is 0 or out of memory. */
double ad_stat_median(const double *v, size_t n);
/* The median absolute deviation from the median; NAN when n is 0 or out of memory. */
double ad_stat_mad(const double *v, size_t n);

#endif
