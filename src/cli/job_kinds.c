/*
 * The job kinds the CLI runs (autodev jobs run), in one table. A handler
 * gets the struct ad_ctx of the command as its context.
 */
#include "compat.h"

#include "autodev/jobs.h"
#include "autodev/store.h"

#include "cli/cli.h"

/* A corrupt database does not heal by retrying: fail for good at once. */
static int job_store_check(void *p, const struct ad_job *job, struct ad_err *err)
{
    struct ad_ctx *ctx = p;
    int rc = ad_store_check(ctx->store, err);

    if (rc == AD_ECORRUPT)
        return AD_JOB_PERMANENT;
    return rc;
}

static const struct ad_job_kind kinds[] = {
    { "store.check", job_store_check, "check the integrity of the database" },
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
