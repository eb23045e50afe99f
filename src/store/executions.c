/*
 * Skill executions: one row per run of a skill version, whose inputs
 * become the test inputs of its mutants. Releasing what the store filled
 * in, checks and the public calls.
 */
#include "compat.h"

#include <math.h>

#include "autodev/store.h"

#include "store_backend.h"

void ad_skill_execution_release(struct ad_skill_execution *x)
{
    if (!x)
        return;
    json_decref(x->input);
    json_decref(x->output);
    free(x->error);
    memset(x, 0, sizeof(*x));
}

void ad_skill_execution_list_free(struct ad_skill_execution *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_skill_execution_release(&v[i]);
    free(v);
}

static int check_execution(const struct ad_skill_execution *x, char **input, char **output,
                           struct ad_err *err)
{
    int rc = ad__check_id("tenant id", x->tenant_id, err);

    if (!rc)
        rc = ad__check_id("skill version id", x->skill_version_id, err);
    if (!rc)
        rc = ad__check_opt_id("agent id", x->agent_id, err);
    if (!rc)
        rc = ad__check_opt_id("episode id", x->episode_id, err);
    if (!rc && !(isfinite(x->execution_seconds) && x->execution_seconds >= 0))
        rc = ad_error(err, AD_EINVAL, "field 'execution_seconds': must be finite and >= 0");
    if (!rc && x->token_usage < 0)
        rc = ad_error(err, AD_EINVAL, "field 'token_usage': must not be negative");
    if (!rc)
        rc = ad__check_text("error", x->error, AD_ERROR_TRACE_MAX, 0, err);
    if (!rc)
        rc = ad__json_text("input", x->input, 0, input, err);
    if (!rc)
        rc = ad__json_text("output", x->output, 0, output, err);
    return rc;
}

int ad_store_skill_execution_insert(struct ad_store *st, struct ad_skill_execution *x,
                                    struct ad_err *err)
{
    char *input = NULL, *output = NULL;
    int rc, own;

    rc = check_execution(x, &input, &output, err);
    if (!rc)
        rc = ad__new_id(x->id, err);
    if (!rc) {
        ad_time_now(x->created_at);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own, st->ops->executions->insert(st, x, input, output, err),
                           err);
    if (rc)
        x->id[0] = x->created_at[0] = '\0';
    free(input);
    free(output);
    return rc;
}

int ad_store_skill_execution_list(struct ad_store *st, const char *tenant_id,
                                  const char *skill_version_id, int limit,
                                  struct ad_skill_execution **out, size_t *n,
                                  struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && skill_version_id)
        rc = ad__check_id("skill version id", skill_version_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->executions->list(st, tenant_id, skill_version_id, limit, out, n, err);
}
