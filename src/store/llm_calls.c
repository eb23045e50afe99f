/*
 * The LLM cost ledger: one row per model call, and the sums that budgets
 * and `autodev llm usage` read.
 */
#include "compat.h"

#include <math.h>

#include "autodev/store.h"

#include "store_backend.h"

#define ERROR_KEEP 1000     /* bytes of a call's error text kept in the row */

static int check_call(const struct ad_llm_call *c, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", c->tenant_id, err);

    if (!rc)
        rc = ad__check_text("provider", c->provider, 64, 1, err);
    if (!rc)
        rc = ad__check_text("model", c->model, 256, 1, err);
    if (!rc)
        rc = ad__check_text("purpose", c->purpose, 64, 0, err);
    if (!rc)
        rc = ad__check_text("request id", c->request_id, 256, 0, err);
    if (!rc && (c->prompt_tokens < 0 || c->completion_tokens < 0 || c->latency_ms < 0 ||
                !(c->cost_usd >= 0)))
        rc = ad_error(err, AD_EINVAL, "llm call counters must not be negative");
    /* An infinite cost would make every sum of the tenant's spend infinite. */
    if (!rc && !isfinite(c->cost_usd))
        rc = ad_error(err, AD_EINVAL, "an llm call's cost must be a finite number");
    return rc;
}

int ad_store_llm_call_insert(struct ad_store *st, struct ad_llm_call *c, struct ad_err *err)
{
    char errbuf[ERROR_KEEP + 1];
    const char *saved = c->error;
    int rc, own;

    rc = check_call(c, err);
    if (rc)
        return rc;
    /* An error text is a diagnostic: keep its head rather than refuse the row. */
    if (c->error && strlen(c->error) >= sizeof(errbuf)) {
        ad__copy_fixed(errbuf, sizeof(errbuf), c->error);
        c->error = errbuf;
    }
    rc = ad__new_id(c->id, err);
    if (!rc) {
        ad_time_now(c->created_at);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own, st->ops->llm_calls->insert(st, c, err), err);
    c->error = saved;
    if (rc)
        c->id[0] = c->created_at[0] = '\0';
    return rc;
}

void ad_llm_usage_rows_free(struct ad_llm_usage_row *v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++) {
        free(v[i].provider);
        free(v[i].model);
        free(v[i].purpose);
    }
    free(v);
}

static int check_tenant_since(const char *tenant_id, const char *since, char t[AD_TIME_SIZE],
                              struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    return rc ? rc : ad__check_since(since, t, err);
}

int ad_store_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                       struct ad_llm_usage_row **out, size_t *n, struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int rc = check_tenant_since(tenant_id, since, t, err);

    *out = NULL;
    *n = 0;
    return rc ? rc : st->ops->llm_calls->usage(st, tenant_id, t, out, n, err);
}

int ad_store_llm_spent(struct ad_store *st, const char *tenant_id, const char *since,
                       int64_t *tokens, double *usd, struct ad_err *err)
{
    char t[AD_TIME_SIZE];
    int rc = check_tenant_since(tenant_id, since, t, err);

    *tokens = 0;
    *usd = 0;
    return rc ? rc : st->ops->llm_calls->spent(st, tenant_id, t, tokens, usd, err);
}
