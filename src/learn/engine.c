/*
 * The learning engines of this build (engine.h): Memento-Skills and
 * AlphaEvolver behind one lifecycle.
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autodev/alpha.h"
#include "autodev/bus.h"
#include "autodev/engine.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/store.h"
#include "autodev/topics.h"

/* ---- Memento-Skills ------------------------------------------------------------------ */

static int memento_run(const struct ad_engine_env *env, const struct ad_job *job, char *summary,
                       size_t size, struct ad_err *err)
{
    struct ad_skill_candidate c;
    int rc;

    ad_skill_candidate_init(&c);
    rc = ad_memento_run_job(env->st, env->bus, env->sb, env->llm, job, env->lease, &c, err);
    if (rc == 0 && summary) {
        const char *s = ad_json_str(c.validation_result, "summary");

        snprintf(summary, size, "memento: candidate %s (%s) %s: %s", c.id, c.skill_name,
                 ad_candidate_status_name(c.status), s ? s : "");
    }
    ad_skill_candidate_release(&c);
    return rc;
}

static int memento_promote(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                           const char *id, const char *reviewer, const char *reason,
                           struct ad_err *err)
{
    (void)reason;
    return ad_memento_approve(st, bus, tenant_id, id, reviewer, NULL, NULL, err);
}

/* ---- AlphaEvolver ------------------------------------------------------------------- */

static int alpha_analyse(struct ad_store *st, struct ad_bus *bus, const struct ad_bus_event *ev,
                         struct ad_err *err)
{
    (void)bus;
    return ad_alpha_on_execution(st, ev, NULL, err);
}

static int alpha_run(const struct ad_engine_env *env, const struct ad_job *job, char *summary,
                     size_t size, struct ad_err *err)
{
    struct ad_alpha_opts o = { 0 };
    struct ad_alpha_result res;
    int rc;

    o.tenant_id = job->tenant_id;
    o.job_id = job->id;
    o.lease = env->lease;
    rc = ad_alpha_run(env->st, env->bus, env->sb, env->llm, &o, job->payload, &res, err);
    if (rc == 0 && summary)
        snprintf(summary, size, "alpha: %s", res.summary);
    return rc;
}

static int alpha_promote(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                         const char *id, const char *reviewer, const char *reason,
                         struct ad_err *err)
{
    return ad_mutation_approve(st, bus, tenant_id, id, reviewer, reason, false, NULL, err);
}

static const struct ad_learning_engine memento = {
    .name = "memento",
    .title = "Memento-Skills",
    .capability = AD_CAP_MEMENTO,
    .topic = AD_TOPIC_TASK_FAIL,
    .job_kind = AD_MEMENTO_JOB,
    .job_summary = "generate a skill candidate from a failure pattern",
    .max_attempts = AD_MEMENTO_MAX_ATTEMPTS,
    .analyse = ad_reflection_handle,
    .run = memento_run,
    .promote = memento_promote,
    .reject = ad_memento_reject,
    .job_outcome = ad_memento_job_outcome,
};

static const struct ad_learning_engine alpha = {
    .name = "alpha",
    .title = "AlphaEvolver",
    .capability = AD_CAP_ALPHA,
    .topic = AD_TOPIC_SKILL_EXECUTION,
    .job_kind = AD_ALPHA_JOB,
    .job_summary = "mutate a slow, costly or failing skill and evaluate the mutants",
    .max_attempts = AD_ALPHA_MAX_ATTEMPTS,
    .analyse = alpha_analyse,
    .run = alpha_run,
    .promote = alpha_promote,
    .reject = ad_mutation_reject,
    .job_outcome = ad_alpha_job_outcome,
};

static const struct ad_learning_engine *const engines[] = { &memento, &alpha, NULL };

const struct ad_learning_engine *const *ad_learning_engines(void)
{
    return engines;
}

const struct ad_learning_engine *ad_learning_engine_find(const char *name)
{
    for (size_t i = 0; name && engines[i]; i++) {
        if (!strcmp(engines[i]->name, name) || !strcmp(engines[i]->job_kind, name) ||
            !strcmp(engines[i]->topic, name))
            return engines[i];
    }
    return NULL;
}

const struct ad_learning_engine *ad_learning_engine_for_kind(const char *job_kind)
{
    for (size_t i = 0; job_kind && engines[i]; i++) {
        if (!strcmp(engines[i]->job_kind, job_kind))
            return engines[i];
    }
    return NULL;
}

int ad_learning_engine_run(const struct ad_learning_engine *e, const struct ad_engine_env *env,
                           const struct ad_job *job, char *summary, size_t size,
                           struct ad_err *err)
{
    if (summary && size)
        summary[0] = '\0';
    return e->job_outcome(e->run(env, job, summary, size, err));
}
