/*
 * The LLM ledger on PostgreSQL: one row per call, read back only as sums.
 * Token sums are numeric (sum of bigint), which cannot overflow; strtoll
 * brings them back saturated at 2^63 - 1, like SQLite's total() read
 * (sqlite/llm_calls.c).
 */
#include "compat.h"

#include "pg/pg_int.h"

/* The tenant must exist: no row rather than a foreign-key error ending the transaction. */
static const char q_insert[] =
    "INSERT INTO llm_calls (id, tenant_id, provider, model, purpose, prompt_tokens,"
    " completion_tokens, cost_usd, latency_ms, status, error, request_id, created_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)";

static int pg_llm_call_insert(struct ad_store *st, const struct ad_llm_call *c,
                              struct ad_err *err)
{
    char b[4][32];
    const char *p[] = {
        c->id, c->tenant_id, c->provider, c->model, c->purpose,
        ad__pg_i64_text(c->prompt_tokens, b[0]), ad__pg_i64_text(c->completion_tokens, b[1]),
        ad__pg_double_text(c->cost_usd, b[2]), ad__pg_i64_text(c->latency_ms, b[3]),
        c->ok ? "ok" : "error", c->error, c->request_id, c->created_at,
    };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), c->tenant_id, q_insert, 13, p, &r, "record llm call", err);

    if (!rc && !strcmp(PQcmdTuples(r), "0"))
        rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", c->tenant_id);
    PQclear(r);
    return rc;
}

static const char q_usage[] =
    "SELECT provider, model, coalesce(purpose, ''), count(*),"
    " count(*) FILTER (WHERE status = 'error'), coalesce(sum(prompt_tokens), 0),"
    " coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0),"
    " trunc(avg(latency_ms))::bigint"
    " FROM llm_calls WHERE tenant_id = $1 AND created_at >= $2"
    " GROUP BY 1, 2, 3 ORDER BY 8 DESC, 4 DESC, 1, 2, 3";

static int usage_row(const PGresult *r, int i, struct ad_llm_usage_row *u, struct ad_err *err)
{
    const char *t[3];
    int c;

    memset(u, 0, sizeof(*u));
    u->calls = ad__pg_i64(r, i, 3);
    u->errors = ad__pg_i64(r, i, 4);
    u->prompt_tokens = ad__pg_i64(r, i, 5);
    u->completion_tokens = ad__pg_i64(r, i, 6);
    u->cost_usd = ad__pg_double(r, i, 7);
    u->latency_ms_avg = ad__pg_i64(r, i, 8);
    for (c = 0; c < 3; c++)
        t[c] = ad__pg_text(r, i, c);
    u->provider = strdup(t[0] ? t[0] : "");
    u->model = strdup(t[1] ? t[1] : "");
    u->purpose = strdup(t[2] ? t[2] : "");
    if (!u->provider || !u->model || !u->purpose)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

static int pg_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                        struct ad_llm_usage_row **out, size_t *n, struct ad_err *err)
{
    const char *p[] = { tenant_id, since && since[0] ? since : "-infinity" };
    PGresult *r = NULL;
    struct ad_llm_usage_row *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_usage, 2, p, &r,
                                      "sum llm usage", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory summing llm usage");
    }
    for (i = 0; !rc && i < count; i++)
        rc = usage_row(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_llm_usage_rows_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static const char q_spent[] =
    "SELECT coalesce(sum(prompt_tokens), 0) + coalesce(sum(completion_tokens), 0),"
    " coalesce(sum(cost_usd), 0) FROM llm_calls WHERE tenant_id = $1 AND created_at >= $2";

static int pg_llm_spent(struct ad_store *st, const char *tenant_id, const char *since,
                        int64_t *tokens, double *usd, struct ad_err *err)
{
    const char *p[] = { tenant_id, since && since[0] ? since : "-infinity" };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_spent, 2, p, &r, "sum llm spend", err);

    if (!rc) {
        *tokens = ad__pg_i64(r, 0, 0);
        *usd = ad__pg_double(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

const struct ad__llm_call_ops ad__pg_llm_call_ops = {
    .insert = pg_llm_call_insert,
    .usage = pg_llm_usage,
    .spent = pg_llm_spent,
};
