/*
 * The demo's Memento loop: an INTERN agent fails the same task twice for
 * want of a skill, reflection queues a memento.generate job, the model
 * writes a candidate, the sandbox validates it on the failures' inputs, the
 * demo approves it as a reviewer would, and the same task then succeeds on
 * an e-mail neither failure had.
 *
 * The failures recorded their inputs and expected outputs, so the job
 * synthesizes the skill by example (no model, no tokens); with
 * memento_synthesis off it asks $AUTODEV_LLM instead, and with neither it
 * stops and says so: the demo never shows a canned skill.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

#include "autodev/agent.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/runtime.h"
#include "autodev/settings.h"
#include "autodev/skill.h"

#include "cli.h"

#define MEMENTO_AGENT "demo-intern"
#define MEMENTO_TASK "Extract the invoice id from this e-mail"

static const struct {
    const char *input;
    const char *expected;
} invoice_runs[] = {
    { "{\"text\": \"Hello, please find invoice INV-2024-0042 attached.\"}", "\"INV-2024-0042\"" },
    { "{\"text\": \"Reminder: INV-2024-0077 is due on Friday.\"}", "\"INV-2024-0077\"" },
    /* not seen by the failures: the retry shows the skill generalises */
    { "{\"text\": \"Order 5521 shipped; INV-2025-0103 covers both boxes.\"}",
      "\"INV-2025-0103\"" },
};
#define FAILURES 2

static int set(json_t *o, const char *key, json_t *v, struct ad_err *err)
{
    return json_object_set_new(o, key, v) < 0 ? ad_error(err, AD_ENOMEM, "out of memory") : 0;
}

/* Runs the invoice task (input i) as the agent; fills success and the output. */
static int run_invoice(struct ad_ctx *ctx, const char *agent_id, size_t i, json_t *rec,
                       struct ad_err *err)
{
    struct ad_task t = { 0 };
    struct ad_task_outcome o = { 0 };
    struct ad_sandbox *sb = NULL;
    json_t *in = json_loads(invoice_runs[i].input, 0, NULL);
    json_t *want = json_loads(invoice_runs[i].expected, JSON_DECODE_ANY, NULL);
    int rc;

    if (!in || !want) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    t.tenant_id = ctx->tenant_id;
    t.agent_id = agent_id;
    t.description = MEMENTO_TASK;
    t.task_kind = "demo.memento";
    t.input = in;
    t.expected = want;
    rc = ad_runtime_sandbox(ctx->rt, &sb, err);
    if (rc == 0)
        rc = ad_task_run(ctx->store, ctx->bus, sb, &t, &o, err);
    if (rc == 0)
        rc = set(rec, "episode_id", json_string(o.episode.id), err);
    if (rc == 0)
        rc = set(rec, "success", json_boolean(o.episode.success), err);
    if (rc == 0)
        rc = set(rec, "skill", o.skill_name[0] ? json_string(o.skill_name) : json_null(), err);
    if (rc == 0)
        rc = set(rec, "output", o.episode.output ? json_incref(o.episode.output) : json_null(),
                 err);
    if (rc == 0 && o.episode.error_trace) {
        struct ad_str last = ad_str_last_line(o.episode.error_trace);

        rc = set(rec, "error", json_stringn(last.ptr, last.len), err);
    }
out:
    ad_task_outcome_release(&o);
    json_decref(in);
    json_decref(want);
    return rc;
}

static int make_agent(struct ad_ctx *ctx, char id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_agent a = { 0 };
    int rc;

    rc = ad_agents_add(ctx->store, ctx->tenant_id, MEMENTO_AGENT, AD_INTERN, &a, err);
    if (rc == AD_EEXIST)
        rc = ad_agents_find(ctx->store, ctx->tenant_id, MEMENTO_AGENT, &a, err);
    if (rc == 0)
        memcpy(id, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
    return rc;
}

/* Runs the queued memento.generate job with the runtime's handlers. */
static int run_memento_jobs(struct ad_ctx *ctx, struct ad_err *err)
{
    struct ad_jobs *q = NULL;
    int rc, ran = 0;

    rc = ad_runtime_jobs(ctx->rt, ctx->tenant_id, NULL, &q, err);
    if (rc == 0)
        rc = ad_jobs_run_until_idle(q, AD_MEMENTO_JOB, 1, &ran, err);
    ad_jobs_free(q);
    return rc;
}

int ad__demo_memento(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    struct ad_skill_candidate *cands = NULL;
    struct ad_candidate_filter f = { 0 };
    struct ad_settings s;
    struct ad_job job = { 0 };
    struct ad_skill sk = { 0 };
    struct ad_skill_version v = { 0 };
    char agent_id[AD_ID_SIZE];
    const char *llm = getenv("AUTODEV_LLM");
    json_t *m = json_object(), *fails = json_array(), *retry = json_object();
    json_t *pattern = NULL;
    size_t n = 0;
    int rc;

    if (!m || !fails || !retry) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    /* The workspace opts in; the agent is INTERN: the gate opens. */
    rc = ad_settings_get(ctx->store, ctx->tenant_id, &s, err);
    if (rc == 0) {
        s.enabled = true;
        s.memento_skills = true;
        rc = ad_settings_put(ctx->store, ctx->tenant_id, &s, err);
    }
    if (rc == 0)
        rc = make_agent(ctx, agent_id, err);
    for (size_t i = 0; rc == 0 && i < FAILURES; i++) {
        json_t *rec = json_object();

        rc = rec ? run_invoice(ctx, agent_id, i, rec, err)
                 : ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0 && json_array_append_new(fails, rec) < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        else if (rc != 0)
            json_decref(rec);
    }
    if (rc == 0)
        rc = set(m, "agent", json_string(MEMENTO_AGENT), err);
    if (rc == 0)
        rc = set(m, "task", json_string(MEMENTO_TASK), err);
    if (rc == 0)
        rc = set(m, "failures", json_incref(fails), err);
    if (rc == 0)
        rc = set(m, "llm", llm && *llm ? json_string(llm) : json_null(), err);
    if (rc < 0)
        goto out;

    /* What reflection made of the two failures. */
    {
        struct ad_job *jobs = NULL;
        size_t nj = 0;

        rc = ad_jobs_list(ctx->store, ctx->tenant_id, AD_JOB_QUEUED, AD_MEMENTO_JOB, 1, &jobs,
                          &nj, err);
        if (rc == 0 && nj == 1)
            rc = set(m, "job_id", json_string(jobs[0].id), err);
        ad_job_list_free(jobs, nj);
        if (rc < 0 || nj == 0)
            goto out;
    }
    rc = run_memento_jobs(ctx, err);
    if (rc == 0)
        rc = ad_jobs_get(ctx->store, ctx->tenant_id, ad_json_str(m, "job_id"), &job, err);
    if (rc == 0 && job.status != AD_JOB_DONE) {
        rc = set(m, "stopped", json_sprintf("the memento job is %s: %s",
                                            ad_job_status_name(job.status),
                                            job.last_error ? job.last_error : "no error text"),
                 err);
        goto out;
    }
    f.agent_id = agent_id;
    f.limit = 1;
    if (rc == 0)
        rc = ad_candidates_list(ctx->store, ctx->tenant_id, &f, &cands, &n, err);
    if (rc < 0 || n == 0)
        goto out;
    rc = set(m, "candidate",
             json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O?}", "id", cands[0].id, "skill_name",
                       cands[0].skill_name, "status", ad_candidate_status_name(cands[0].status),
                       "summary", json_object_get(cands[0].validation_result, "summary"),
                       "proposer", json_object_get(cands[0].failure_pattern, "proposer"),
                       "program", json_object_get(cands[0].failure_pattern, "synth_summary")),
             err);
    if (rc < 0 || cands[0].status != AD_CAND_VALIDATED)
        goto out;
    rc = ad_memento_approve(ctx->store, ctx->bus, ctx->tenant_id, cands[0].id, "demo", &sk, &v,
                            err);
    if (rc == 0)
        rc = set(m, "approved", json_pack("{s:s, s:s}", "skill", sk.name, "semver", v.semver),
                 err);
    if (rc == 0)
        rc = run_invoice(ctx, agent_id, FAILURES, retry, err);
    if (rc == 0)
        rc = set(m, "retry", json_incref(retry), err);
out:
    if (rc == 0)
        rc = set(sum, "memento", json_incref(m), err);
    ad_skill_release(&sk);
    ad_skill_version_release(&v);
    ad_skill_candidate_list_free(cands, n);
    ad_job_release(&job);
    json_decref(pattern);
    json_decref(m);
    json_decref(fails);
    json_decref(retry);
    return rc;
}

void ad__demo_memento_print(FILE *out, const json_t *sum)
{
    const json_t *m = json_object_get(sum, "memento");
    const json_t *c = json_object_get(m, "candidate");
    const json_t *a = json_object_get(m, "approved");
    const json_t *r = json_object_get(m, "retry");
    const char *stopped = json_string_value(json_object_get(m, "stopped"));
    const char *job = json_string_value(json_object_get(m, "job_id"));
    const json_t *f;
    size_t i;

    if (!m)
        return;
    fprintf(out, "\nmemento loop (auto-dev enabled for this workspace; %s is INTERN):\n",
            json_string_value(json_object_get(m, "agent")));
    json_array_foreach(json_object_get(m, "failures"), i, f)
        fprintf(out, "  try %zu: %-40s %s\n", i + 1,
                json_string_value(json_object_get(m, "task")),
                json_is_true(json_object_get(f, "success"))
                    ? "ok"
                    : json_string_value(json_object_get(f, "error"))
                          ? json_string_value(json_object_get(f, "error"))
                          : "failed");
    if (job)
        fprintf(out, "  reflection: two similar failures; queued job memento.generate %s\n", job);
    else
        fprintf(out, "  reflection: no job was queued (see autodev events tail --topic "
                     "memento.pattern)\n");
    if (stopped) {
        fprintf(out, "  stopped: %s\n", stopped);
        return;
    }
    if (c && json_string_value(json_object_get(c, "program")))
        fprintf(out, "  synthesized by example (no model, no tokens): %s\n",
                json_string_value(json_object_get(c, "program")));
    if (c)
        fprintf(out, "  %s%s wrote candidate %s (%s): %s, %s\n",
                json_string_value(json_object_get(c, "program")) ? "the synthesizer" : "model ",
                json_string_value(json_object_get(c, "program"))
                    ? ""
                    : json_string_value(json_object_get(m, "llm"))
                          ? json_string_value(json_object_get(m, "llm")) : "?",
                json_string_value(json_object_get(c, "id")),
                json_string_value(json_object_get(c, "skill_name")),
                json_string_value(json_object_get(c, "status")),
                json_string_value(json_object_get(c, "summary"))
                    ? json_string_value(json_object_get(c, "summary")) : "");
    if (a)
        fprintf(out, "  approved (reviewer \"demo\"): %s %s is in the catalog\n",
                json_string_value(json_object_get(a, "skill")),
                json_string_value(json_object_get(a, "semver")));
    if (r) {
        char *o = ad_json_dumps(json_object_get(r, "output"));

        fprintf(out, "  the same task on a new e-mail: %s with %s, output %s\n",
                json_is_true(json_object_get(r, "success")) ? "succeeded" : "failed",
                json_string_value(json_object_get(r, "skill"))
                    ? json_string_value(json_object_get(r, "skill")) : "(no skill)",
                o ? o : "null");
        free(o);
    }
}
