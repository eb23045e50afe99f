/*
 * The demo's AlphaEvolver loop, with no model: a SUPERVISED agent runs a
 * bundled skill that is slow for a silly reason (a checksum left over from
 * debugging that nothing uses, marked as an EVOLVE block), every run goes over the
 * demo's latency threshold, the trigger queues one alpha.mutate job, the
 * offline operators propose mutants, the evaluation keeps the one that is
 * faster with identical outputs (twice, beyond the noise), the demo
 * approves it as a reviewer would, puts the threshold back to its default,
 * and prints the parent's latency and the new version's, each the median
 * of its repeats.
 *
 * Nothing is canned: if no mutant wins on this machine, the demo says so.
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/runtime.h"
#include "autodev/settings.h"
#include "autodev/skill.h"

#include "cli.h"

#define ALPHA_AGENT "demo-supervised"
#define ALPHA_SKILL "word_counts"
#define ALPHA_LATENCY_MS 20      /* the demo's trigger threshold (the default is 5000) */
#define ALPHA_MUTANTS 5          /* every mutant the operators can make of the block */
#define ALPHA_REPEATS 7          /* more than the default 5: the noise of a busy machine */

static const char alpha_code[] =
    "def word_counts(text):\n"
    "    \"\"\"How often each word occurs in the text (lower-cased).\"\"\"\n"
    "    words = text.lower().split()\n"
    "    # EVOLVE-BLOCK-START\n"
    "    checksum = sum(len(w) for w in words * 40)  # a leftover of debugging, never used\n"
    "    # EVOLVE-BLOCK-END\n"
    "    counts = {}\n"
    "    for w in words:\n"
    "        counts[w] = counts.get(w, 0) + 1\n"
    "    return counts\n";

static const char *const alpha_texts[] = {
    "the quick brown fox jumps over the lazy dog and then the dog sleeps ",
    "to be or not to be that is the question whether tis nobler in the mind ",
    "it was the best of times it was the worst of times it was the age of wisdom ",
};
#define ALPHA_REPEAT 250         /* copies of a sentence in one input: ~3,500 words */

static int set(json_t *o, const char *key, json_t *v, struct ad_err *err)
{
    return json_object_set_new(o, key, v) < 0 ? ad_error(err, AD_ENOMEM, "out of memory") : 0;
}

static json_t *input_of(size_t i)
{
    struct ad_buf b = AD_BUF_INIT;
    json_t *in = NULL;

    for (int k = 0; k < ALPHA_REPEAT; k++) {
        if (ad_buf_adds(&b, alpha_texts[i]) < 0) {
            ad_buf_release(&b);
            return NULL;
        }
    }
    in = json_pack("{s:s}", "text", b.ptr);
    ad_buf_release(&b);
    return in;
}

/* Runs the skill as the agent's task on input i; the output and wall time into rec. */
static int run_skill(struct ad_ctx *ctx, const char *agent_id, size_t i, json_t *rec,
                     struct ad_err *err)
{
    struct ad_task t = { 0 };
    struct ad_task_outcome o = { 0 };
    struct ad_sandbox *sb = NULL;
    json_t *in = input_of(i);
    int rc;

    if (!in)
        return ad_error(err, AD_ENOMEM, "out of memory");
    t.tenant_id = ctx->tenant_id;
    t.agent_id = agent_id;
    t.description = "count the words of a text";
    t.task_kind = "demo.alpha";
    t.skill = ALPHA_SKILL;
    t.input = in;
    ad_episode_init(&o.episode);
    rc = ad_runtime_sandbox(ctx->rt, &sb, err);
    if (rc == 0)
        rc = ad_task_run(ctx->store, ctx->bus, sb, &t, &o, err);
    if (rc == 0)
        rc = set(rec, "success", json_boolean(o.episode.success), err);
    if (rc == 0)
        rc = set(rec, "semver", json_string(o.semver), err);
    if (rc == 0)
        rc = set(rec, "seconds", json_real(o.episode.execution_seconds), err);
    if (rc == 0)
        rc = set(rec, "output", o.episode.output ? json_incref(o.episode.output) : json_null(),
                 err);
    ad_task_outcome_release(&o);
    json_decref(in);
    return rc;
}

static int setup(struct ad_ctx *ctx, char agent_id[AD_ID_SIZE], char version_id[AD_ID_SIZE],
                 struct ad_err *err)
{
    struct ad_skill_add add = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_settings s;
    struct ad_agent a = { 0 };
    int rc = ad_settings_get(ctx->store, ctx->tenant_id, &s, err);

    if (rc == 0) {
        s.enabled = true;
        s.alpha_evolver = true;
        s.evolution_latency_ms = ALPHA_LATENCY_MS;
        s.evolution_mutants = ALPHA_MUTANTS;
        s.evolution_repeats = ALPHA_REPEATS;
        rc = ad_settings_put(ctx->store, ctx->tenant_id, &s, err);
    }
    if (rc == 0)
        rc = ad_agents_add(ctx->store, ctx->tenant_id, ALPHA_AGENT, AD_SUPERVISED, &a, err);
    if (rc == AD_EEXIST)
        rc = ad_agents_find(ctx->store, ctx->tenant_id, ALPHA_AGENT, &a, err);
    if (rc == 0)
        memcpy(agent_id, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
    add.tenant_id = ctx->tenant_id;
    add.name = ALPHA_SKILL;
    add.entry = "word_counts";
    add.code = alpha_code;
    add.origin = AD_ORIGIN_MANUAL;
    if (rc == 0)
        rc = ad_catalog_add(ctx->store, &add, NULL, &v, err);
    if (rc == 0)
        memcpy(version_id, v.id, AD_ID_SIZE);
    ad_skill_version_release(&v);
    return rc;
}

static int restore_threshold(struct ad_ctx *ctx, struct ad_err *err)
{
    struct ad_settings s, d;
    int rc = ad_settings_get(ctx->store, ctx->tenant_id, &s, err);

    ad_settings_defaults(&d);
    s.evolution_latency_ms = d.evolution_latency_ms;
    return rc < 0 ? rc : ad_settings_put(ctx->store, ctx->tenant_id, &s, err);
}

static int run_alpha_jobs(struct ad_ctx *ctx, struct ad_err *err)
{
    struct ad_jobs *q = NULL;
    int rc, ran = 0;

    rc = ad_runtime_jobs(ctx->rt, ctx->tenant_id, NULL, &q, err);
    if (rc == 0)
        rc = ad_jobs_run_until_idle(q, AD_ALPHA_JOB, 1, &ran, err);
    ad_jobs_free(q);
    return rc;
}

/* The job's rows: how many, how many won, the best one's numbers. */
static int describe(struct ad_ctx *ctx, const char *job_id, json_t *a, struct ad_err *err)
{
    struct ad_mutation_filter f = { 0 };
    struct ad_tool_mutation *v = NULL;
    size_t n = 0;
    int rc, won = 0;
    json_t *rows = json_array();

    if (!rows)
        return ad_error(err, AD_ENOMEM, "out of memory");
    f.job_id = job_id;
    f.status = -1;
    f.review_status = -2;
    f.decision = -2;
    rc = ad_mutations_list(ctx->store, ctx->tenant_id, &f, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *ev = json_object_get(v[i].proxy_signals, "evaluation");

        won += v[i].decision == AD_DECISION_WON;
        json_array_append_new(
            rows, json_pack("{s:s, s:s?, s:s?, s:s?, s:O?, s:O?, s:b}", "id", v[i].id,
                            "operator", v[i].mutation_operator, "decision",
                            ad_mutation_decision_name(v[i].decision), "reason",
                            v[i].decision_reason,
                            "parent_us", json_object_get(json_object_get(ev, "parent"),
                                                         "latency_median_us"),
                            "mutant_us", json_object_get(json_object_get(ev, "mutant"),
                                                         "latency_median_us"),
                            "review", v[i].review_status == AD_REVIEW_PENDING));
    }
    if (rc == 0)
        rc = set(a, "mutants", rows, err);
    else
        json_decref(rows);
    if (rc == 0)
        rc = set(a, "won", json_integer(won), err);
    ad_tool_mutation_list_free(v, n);
    return rc;
}

int ad__demo_alpha(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    struct ad_job *jobs = NULL;
    size_t nj = 0;
    char agent_id[AD_ID_SIZE], version_id[AD_ID_SIZE];
    json_t *a = json_object(), *runs = json_array(), *after = json_object();
    size_t mine = 0, first = 0;
    const json_t *r;
    size_t i;
    int rc;

    if (!a || !runs || !after) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    rc = setup(ctx, agent_id, version_id, err);
    for (i = 0; rc == 0 && i < AD_ARRAY_SIZE(alpha_texts); i++) {
        json_t *rec = json_object();

        rc = rec ? run_skill(ctx, agent_id, i, rec, err) : ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0)
            json_array_append_new(runs, rec);
        else
            json_decref(rec);
    }
    if (rc == 0)
        rc = set(a, "runs", json_incref(runs), err);
    if (rc == 0)
        rc = set(a, "threshold_ms", json_integer(ALPHA_LATENCY_MS), err);
    if (rc == 0)
        rc = ad_jobs_list(ctx->store, ctx->tenant_id, -1, AD_ALPHA_JOB, 10, &jobs, &nj, err);
    /* The jobs of this version (an earlier demo in the same home made others). */
    for (size_t k = nj; rc == 0 && k-- > 0;) {
        const char *ver = ad_json_str(jobs[k].payload, "skill_version_id");

        if (ver && !strcmp(ver, version_id)) {
            first = k;
            mine++;
        }
    }
    if (rc < 0 || mine == 0)
        goto out;
    rc = set(a, "jobs_queued", json_integer((json_int_t)mine), err);
    if (rc == 0)
        rc = set(a, "job_id", json_string(jobs[first].id), err);
    if (rc == 0)
        rc = run_alpha_jobs(ctx, err);
    if (rc == 0)
        rc = describe(ctx, jobs[first].id, a, err);
    /* The threshold goes back to its default: the runs after this queue nothing more. */
    if (rc == 0)
        rc = restore_threshold(ctx, err);
    if (rc < 0)
        goto out;
    json_array_foreach(json_object_get(a, "mutants"), i, r) {
        struct ad_skill_version nv = { 0 };

        if (!json_is_true(json_object_get(r, "review")))
            continue;
        rc = ad_mutation_approve(ctx->store, ctx->bus, ctx->tenant_id,
                                 json_string_value(json_object_get(r, "id")), "demo",
                                 "faster, identical outputs", false, &nv, err);
        if (rc == 0)
            rc = set(a, "approved", json_pack("{s:s, s:s, s:O?, s:O?}", "id",
                                              json_string_value(json_object_get(r, "id")),
                                              "semver", nv.semver, "parent_us",
                                              json_object_get(r, "parent_us"), "mutant_us",
                                              json_object_get(r, "mutant_us")),
                     err);
        ad_skill_version_release(&nv);
        if (rc == 0)
            rc = run_skill(ctx, agent_id, 0, after, err);
        if (rc == 0)
            rc = set(a, "after",
                     json_pack("{s:O, s:b}", "semver", json_object_get(after, "semver"),
                               "same_output",
                               json_equal(json_object_get(after, "output"),
                                          json_object_get(json_array_get(runs, 0), "output"))),
                     err);
        break;
    }
out:
    if (rc == 0)
        rc = set(sum, "alpha", json_incref(a), err);
    ad_job_list_free(jobs, nj);
    json_decref(a);
    json_decref(runs);
    json_decref(after);
    return rc;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

void ad__demo_alpha_print(FILE *out, const json_t *sum)
{
    const json_t *a = json_object_get(sum, "alpha");
    const json_t *ap = json_object_get(a, "approved");
    const json_t *r;
    size_t i;

    if (!a)
        return;
    fprintf(out, "\nalphaevolver loop (no model; %s is SUPERVISED; latency threshold lowered "
                 "to %.0f ms for the demo):\n", ALPHA_AGENT, num(a, "threshold_ms"));
    json_array_foreach(json_object_get(a, "runs"), i, r)
        fprintf(out, "  run %zu: %s %s  %.0f ms  %s\n", i + 1, ALPHA_SKILL,
                json_string_value(json_object_get(r, "semver")), 1000 * num(r, "seconds"),
                json_is_true(json_object_get(r, "success")) ? "ok" : "failed");
    if (!json_object_get(a, "job_id")) {
        fprintf(out, "  trigger: no alpha.mutate job was queued\n");
        return;
    }
    fprintf(out, "  trigger: latency over %.0f ms; %.0f alpha.mutate job queued (one per "
                 "skill version)\n", num(a, "threshold_ms"), num(a, "jobs_queued"));
    json_array_foreach(json_object_get(a, "mutants"), i, r)
        fprintf(out, "  mutant %zu (%s): %s: %s\n", i + 1,
                json_string_value(json_object_get(r, "operator")),
                json_string_value(json_object_get(r, "decision"))
                    ? json_string_value(json_object_get(r, "decision"))
                    : "undecided",
                json_string_value(json_object_get(r, "reason"))
                    ? json_string_value(json_object_get(r, "reason"))
                    : "");
    if (!ap) {
        fprintf(out, "  no mutant won on this machine: the parent stays (see autodev "
                     "mutations list)\n");
        return;
    }
    fprintf(out, "  approved (as a reviewer would): %s %s\n", ALPHA_SKILL,
            json_string_value(json_object_get(ap, "semver")));
    fprintf(out, "  latency of the calls on the recorded inputs, median of the repeats: parent "
                 "%.1f ms, new %.1f ms (%.1fx)\n", num(ap, "parent_us") / 1000, num(ap, "mutant_us") / 1000,
            num(ap, "parent_us") / num(ap, "mutant_us"));
    r = json_object_get(a, "after");
    if (r)
        fprintf(out, "  run again: %s %s, output %s\n", ALPHA_SKILL,
                json_string_value(json_object_get(r, "semver")),
                json_is_true(json_object_get(r, "same_output")) ? "identical" : "DIFFERENT");
}
