/*
 * The LLM ledger in SQLite: one row per call, read back only as sums
 * (hand-written: an aggregate maps to no row of the table).
 *
 * Token sums are total(), not sum(): sum() of integers fails the whole
 * query with "integer overflow" once a tenant's rows pass 2^63 - 1 (rows
 * written before the llm module clamped a server's numbers hold 2^63 - 1
 * each), where total() is a double that cannot overflow; the double is
 * brought back to int64 saturating. Below 2^53 tokens the double is exact.
 */
#include "compat.h"

#include "sqlite/sqlite_int.h"

/* ok (0 or 1) is the status column's 'error' or 'ok'. */
static const char *const status_names[] = { "error", "ok" };
static const struct ad__enum status_enum = { status_names, 2, "status" };

#define T struct ad_llm_call
static const struct sq_col call_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, provider, SQ_TEXT, 0),
    SQ_COL(T, model, SQ_TEXT, 0),
    SQ_COL(T, purpose, SQ_TEXT, 0),
    SQ_COL(T, prompt_tokens, SQ_INT64, 0),
    SQ_COL(T, completion_tokens, SQ_INT64, 0),
    SQ_COL(T, cost_usd, SQ_REAL, 0),
    SQ_COL(T, latency_ms, SQ_INT64, 0),
    SQ_ENUMCOL("status", T, ok, &status_enum, 0),
    SQ_COL(T, error, SQ_TEXT, 0),
    SQ_COL(T, request_id, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table call_table = SQ_TABLE("llm call", struct ad_llm_call, call_cols);

static const struct sq_stmt call_insert = {
    &call_table, "INSERT INTO llm_calls ({icols}) VALUES ({params})",
};

static int sqlite_llm_call_insert(struct ad_store *st, const struct ad_llm_call *c,
                                  struct ad_err *err)
{
    struct ad_llm_call row = *c;
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &call_insert, &q, err);

    row.ok = c->ok != 0;
    if (!rc)
        rc = ad__sq_bind_row(s, q, &row, NULL, err);
    if (!rc)
        return ad__sq_step_insert(s, q, c->tenant_id, "record llm call", err);
    ad__sq_put(q);
    return rc;
}

/* A total() column as int64: saturated at 0 and 2^63 - 1 (a cast past them is undefined). */
static int64_t column_total(sqlite3_stmt *q, int i)
{
    double d = sqlite3_column_double(q, i);

    if (!(d > 0))
        return 0;
    if (d >= 9223372036854775808.0)
        return INT64_MAX;
    return (int64_t)d;
}

static int usage_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_llm_usage_row *r = elem;
    const char *t[3];
    int i;

    memset(r, 0, sizeof(*r));
    r->calls = sqlite3_column_int64(q, 3);
    r->errors = sqlite3_column_int64(q, 4);
    r->prompt_tokens = column_total(q, 5);
    r->completion_tokens = column_total(q, 6);
    r->cost_usd = sqlite3_column_double(q, 7);
    r->latency_ms_avg = sqlite3_column_int64(q, 8);
    for (i = 0; i < 3; i++)
        t[i] = (const char *)sqlite3_column_text(q, i);
    r->provider = strdup(t[0] ? t[0] : "");
    r->model = strdup(t[1] ? t[1] : "");
    r->purpose = strdup(t[2] ? t[2] : "");
    if (!r->provider || !r->model || !r->purpose)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

static int sqlite_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                            struct ad_llm_usage_row **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_llm_usage_row *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "SELECT provider, model, coalesce(purpose, ''), count(*),"
                           " sum(status = 'error'), total(prompt_tokens), total(completion_tokens),"
                           " total(cost_usd), CAST(avg(latency_ms) AS INTEGER)"
                           " FROM llm_calls WHERE tenant_id = ?1 AND created_at >= ?2"
                           " GROUP BY 1, 2, 3 ORDER BY 8 DESC, 4 DESC, 1, 2, 3",
                        &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, since, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), usage_row, (void **)&v, &count, "sum llm usage", err);
    if (rc) {
        ad_llm_usage_rows_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_llm_spent(struct ad_store *st, const char *tenant_id, const char *since,
                            int64_t *tokens, double *usd, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "SELECT total(prompt_tokens) + total(completion_tokens),"
                           " total(cost_usd) FROM llm_calls"
                           " WHERE tenant_id = ?1 AND created_at >= ?2",
                        &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, since, -1, SQLITE_STATIC);
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *tokens = column_total(q->stmt, 0);
        *usd = sqlite3_column_double(q->stmt, 1);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, "sum llm spend", err);
    }
    ad__sq_put(q);
    return rc;
}

const struct ad__llm_call_ops ad__sqlite_llm_call_ops = {
    .insert = sqlite_llm_call_insert,
    .usage = sqlite_llm_usage,
    .spent = sqlite_llm_spent,
};
