/*
 * The job kinds the CLI runs (autodev jobs run), in one table. A handler
 * gets the struct ad_ctx of the command as its context.
 */
#include "compat.h"

#include <stdlib.h>

#include "autodev/jobs.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "cli.h"

/* A corrupt database does not heal by retrying: fail for good at once. */
static int job_store_check(void *p, const struct ad_job *job, struct ad_err *err)
{
    struct ad_ctx *ctx = p;
    int rc = ad_store_check(ctx->store, err);

    if (rc == AD_ECORRUPT)
        return AD_JOB_PERMANENT;
    return rc;
}

/* The model of $AUTODEV_LLM with the tenant's ledger and daily caps; NULL when unset. */
static int job_llm(struct ad_ctx *ctx, struct ad_llm **out, struct ad_err *err)
{
    struct ad_llm_options o = { 0 };
    struct ad_settings s;
    const char *spec = getenv("AUTODEV_LLM");
    int rc;

    *out = NULL;
    if (!spec || !*spec)
        return 0;   /* none: synthesis by example only */
    rc = ad_store_settings_get(ctx->store, ctx->tenant_id, &s, err);
    if (rc < 0)
        return rc;
    o.store = ctx->store;
    o.tenant_id = ctx->tenant_id;
    o.max_retries = -1;
    o.daily_token_cap = s.llm_daily_token_cap;
    o.daily_usd_cap = s.llm_daily_cost_cap_cents / 100.0;
    return ad_llm_new(spec, &o, out, err);
}

/*
 * Memento: one failure pattern -> one skill candidate. A closed gate, the
 * daily limit, a missing model or a damaged payload will not change by
 * retrying: those fail for good. A model or sandbox that failed this time
 * is retried with backoff.
 */
static int job_memento(void *p, const struct ad_job *job, struct ad_err *err)
{
    struct ad_ctx *ctx = p;
    struct ad_memento_opts o = { 0 };
    struct ad_skill_candidate c;
    struct ad_sandbox *sb = NULL;
    struct ad_llm *llm = NULL;
    int rc;

    ad_skill_candidate_init(&c);
    if (ad__ctx_sandbox(ctx, &sb) != 0)
        return ad_error(err, AD_EIO, "memento: no sandbox to validate in");
    rc = job_llm(ctx, &llm, err);
    if (rc == 0) {
        o.tenant_id = ctx->tenant_id;
        o.job_id = job->id;
        rc = ad_memento_generate(ctx->store, ctx->bus, sb, llm, &o, job->payload, &c, err);
    }
    if (rc == 0)
        fprintf(ctx->err, "memento: candidate %s (%s) %s: %s\n", c.id, c.skill_name,
                ad_candidate_status_name(c.status),
                json_string_value(json_object_get(c.validation_result, "summary"))
                    ? json_string_value(json_object_get(c.validation_result, "summary"))
                    : "");
    ad_skill_candidate_release(&c);
    ad_llm_free(llm);
    switch (rc) {
    case AD_EPERM:
    case AD_ELIMIT:
    case AD_EINVAL:
    case AD_ENOTFOUND:
        return AD_JOB_PERMANENT;
    }
    return rc;
}

static const struct ad_job_kind kinds[] = {
    { "store.check", job_store_check, "check the integrity of the database" },
    { AD_MEMENTO_JOB, job_memento, "generate a skill candidate from a failure pattern" },
    { NULL, NULL, NULL },
};

const struct ad_job_kind *ad__job_kinds(void)
{
    return kinds;
}

const struct ad_job_kind *ad__job_kind_find(const char *kind)
{
    for (const struct ad_job_kind *k = kinds; k->kind; k++) {
        if (!strcmp(k->kind, kind))
            return k;
    }
    return NULL;
}
