/*
 * Evolution research runs, programs and trace on PostgreSQL (migration 9).
 * Each write is one statement; a refused one (unknown tenant or run, a
 * taken (run, generation, slot) or (run, seq)) changes no row and a read
 * afterwards names why.
 */
#include "compat.h"

#include "pg/rowmap.h"

#define T struct ad_evolve_run
static const struct pgm_col run_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, agent_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, skill_id, PGM_FIXED, 0),
    PGM_COL(T, skill_version_id, PGM_FIXED, 0),
    PGM_JSONCOL(T, params, 0),
    PGM_COL(T, state, PGM_TEXT, 0),
    PGM_COL(T, generation, PGM_INT, 0),
    PGM_COL(T, prng, PGM_TEXT, 0),
    PGM_COL(T, evaluations, PGM_INT64, 0),
    PGM_COL(T, tokens, PGM_INT64, 0),
    PGM_COL(T, usd, PGM_REAL, 0),
    PGM_COL(T, best_program_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, reason, PGM_TEXT, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, updated_at, PGM_FIXED, 0),
};
#undef T

#define T struct ad_evolve_program
static const struct pgm_col program_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, run_id, PGM_FIXED, 0),
    PGM_COL(T, island, PGM_INT, 0),
    PGM_COL(T, cell, PGM_TEXT, 0),
    PGM_COL(T, code, PGM_TEXT, 0),
    PGM_COL(T, code_hash, PGM_TEXT, 0),
    PGM_COL(T, fingerprint, PGM_TEXT, 0),
    PGM_JSONCOL(T, features, 0),
    PGM_COL(T, fitness, PGM_REAL, PGM_NAN_NULL),
    PGM_JSONCOL(T, signals, 1),
    PGM_COL(T, parent_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, generation, PGM_INT, 0),
    PGM_COL(T, slot, PGM_INT, 0),
    PGM_COL(T, children, PGM_INT, 0),
    PGM_COL(T, status, PGM_TEXT, 0),
    PGM_COL(T, stage, PGM_INT, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, updated_at, PGM_FIXED, 0),
};
#undef T

#define T struct ad_evolve_trace
static const struct pgm_col trace_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, run_id, PGM_FIXED, 0),
    PGM_COL(T, seq, PGM_INT64, 0),
    PGM_COL(T, generation, PGM_INT, 0),
    PGM_COL(T, kind, PGM_TEXT, 0),
    PGM_JSONCOL(T, data, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
};
#undef T

static const struct pgm_table run_table = PGM_TABLE("evolution run", run_cols);
static const struct pgm_table program_table = PGM_TABLE("evolution program", program_cols);
static const struct pgm_table trace_table = PGM_TABLE("evolution trace line", trace_cols);

static void run_init(void *e)
{
    memset(e, 0, sizeof(struct ad_evolve_run));
}

static void run_release(void *e)
{
    ad_evolve_run_release(e);
}

static void program_init(void *e)
{
    memset(e, 0, sizeof(struct ad_evolve_program));
}

static void program_release(void *e)
{
    ad_evolve_program_release(e);
}

static void trace_init(void *e)
{
    memset(e, 0, sizeof(struct ad_evolve_trace));
}

static void trace_release(void *e)
{
    ad_evolve_trace_release(e);
}

static const struct pgm_elem run_elem = { sizeof(struct ad_evolve_run), run_init, run_release };
static const struct pgm_elem program_elem = {
    sizeof(struct ad_evolve_program), program_init, program_release,
};
static const struct pgm_elem trace_elem = {
    sizeof(struct ad_evolve_trace), trace_init, trace_release,
};

#define RUN_COLS                                                                         \
    "id, tenant_id, agent_id, skill_id, skill_version_id, params, state, generation,"    \
    " prng, evaluations, tokens, usd, best_program_id, reason, ad_ts(created_at),"       \
    " ad_ts(updated_at)"
#define PROGRAM_COLS                                                                     \
    "id, tenant_id, run_id, island, cell, code, code_hash, fingerprint, features,"       \
    " fitness, signals, parent_id, generation, slot, children, status, stage,"           \
    " ad_ts(created_at), ad_ts(updated_at)"
#define TRACE_COLS "id, tenant_id, run_id, seq, generation, kind, data, ad_ts(created_at)"

static const char q_tenant[] = "SELECT 1 FROM tenants WHERE id = $1";
static const char q_run_exists[] = "SELECT 1 FROM evolve_runs WHERE tenant_id = $1 AND id = $2";

static const char q_run_insert[] =
    "INSERT INTO evolve_runs (id, tenant_id, agent_id, skill_id, skill_version_id, params,"
    " state, generation, prng, evaluations, tokens, usd, best_program_id, reason,"
    " created_at, updated_at)"
    " SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8::int, $9, $10::bigint, $11::bigint,"
    " $12::float8, $13, $14, $15::timestamptz, $16::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";

static int pg_run_insert(struct ad_store *st, const struct ad_evolve_run *run,
                         const char *const json[1], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[16], *tenant = run->tenant_id;
    pgm_buf b[16];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&run_table, run, json, b, p);
    rc = ad__pg_run(s, tenant, q_run_insert, 16, p, &r, "insert evolution run", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    r = NULL;
    rc = ad__pg_run(s, tenant, q_tenant, 1, &tenant, &r, "insert evolution run", err);
    if (!rc)
        rc = PQntuples(r) > 0 ? ad_error(err, AD_EEXIST, "evolution run '%s' already exists",
                                         run->id)
                              : ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", tenant);
    PQclear(r);
    return rc;
}

static const char q_run_update[] =
    "UPDATE evolve_runs SET params = $3::jsonb, state = $4, generation = $5::int, prng = $6,"
    " evaluations = $7::bigint, tokens = $8::bigint, usd = $9::float8, best_program_id = $10,"
    " reason = $11, updated_at = $12::timestamptz WHERE tenant_id = $1 AND id = $2";

static int pg_run_update(struct ad_store *st, const struct ad_evolve_run *run,
                         const char *const json[1], struct ad_err *err)
{
    const char *a[16];
    pgm_buf b[16];

    ad__pgm_params(&run_table, run, json, b, a);
    {
        const char *p[] = { a[1], a[0], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
                            a[13], a[15] };

        return ad__pg_run_one(ad__pg(st), run->tenant_id, q_run_update, 12, p, NULL,
                              "evolution run", run->id, err);
    }
}

static const char q_run_get[] =
    "SELECT " RUN_COLS " FROM evolve_runs WHERE tenant_id = $1 AND id = $2";

static int pg_run_get(struct ad_store *st, const char *tenant_id, const char *id,
                      struct ad_evolve_run *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_run_get, 2, p, &r, "evolution run", id,
                            err);

    run_init(out);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &run_table, out, err);
    PQclear(r);
    if (rc)
        ad_evolve_run_release(out);
    return rc;
}

static const char q_run_list[] =
    "SELECT " RUN_COLS " FROM evolve_runs WHERE tenant_id = $1"
    " ORDER BY created_at DESC, id DESC LIMIT $2";

static int pg_run_list(struct ad_store *st, const char *tenant_id, int limit,
                       struct ad_evolve_run **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, ad__pg_i64_text(limit, b) };

    return ad__pgm_list(ad__pg(st), tenant_id, q_run_list, 2, p, &run_table, &run_elem,
                        (void **)out, n, "list evolution runs", err);
}

/* The run must be the tenant's: the foreign key alone accepts any tenant's. */
static const char q_program_insert[] =
    "INSERT INTO evolve_programs (id, tenant_id, run_id, island, cell, code, code_hash,"
    " fingerprint, features, fitness, signals, parent_id, generation, slot, children, status,"
    " stage, created_at, updated_at)"
    " SELECT $1, $2, $3, $4::int, $5, $6, $7, $8, $9::jsonb, $10::float8, $11::jsonb, $12,"
    " $13::int, $14::int, $15::int, $16, $17::int, $18::timestamptz, $19::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM evolve_runs WHERE tenant_id = $2 AND id = $3)"
    " ON CONFLICT DO NOTHING";

static int pg_program_insert(struct ad_store *st, const struct ad_evolve_program *pr,
                             const char *const json[2], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[19];
    pgm_buf b[19];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&program_table, pr, json, b, p);
    rc = ad__pg_run(s, pr->tenant_id, q_program_insert, 19, p, &r, "insert evolution program",
                    err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_run_exists, pr->tenant_id, pr->run_id, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown evolution run '%s'", pr->run_id);
    return ad_error(err, AD_EEXIST, "run '%s' already has a program in generation %d, slot %d",
                    pr->run_id, pr->generation, pr->slot);
}

static const char q_program_update[] =
    "UPDATE evolve_programs SET island = $3::int, cell = $4, features = $5::jsonb,"
    " fitness = $6::float8, signals = $7::jsonb, children = $8::int, status = $9,"
    " stage = $10::int, updated_at = $11::timestamptz WHERE tenant_id = $1 AND id = $2";

static int pg_program_update(struct ad_store *st, const struct ad_evolve_program *pr,
                             const char *const json[2], struct ad_err *err)
{
    const char *a[19];
    pgm_buf b[19];

    ad__pgm_params(&program_table, pr, json, b, a);
    {
        const char *p[] = { a[1], a[0], a[3], a[4], a[8], a[9], a[10], a[14], a[15], a[16],
                            a[18] };

        return ad__pg_run_one(ad__pg(st), pr->tenant_id, q_program_update, 11, p, NULL,
                              "evolution program", pr->id, err);
    }
}

static const char q_program_list[] =
    "SELECT " PROGRAM_COLS " FROM evolve_programs WHERE tenant_id = $1 AND run_id = $2"
    " ORDER BY generation, slot, id";

static int pg_program_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                           struct ad_evolve_program **out, size_t *n, struct ad_err *err)
{
    const char *p[] = { tenant_id, run_id };

    return ad__pgm_list(ad__pg(st), tenant_id, q_program_list, 2, p, &program_table,
                        &program_elem, (void **)out, n, "list evolution programs", err);
}

static const char q_trace_insert[] =
    "INSERT INTO evolve_trace (id, tenant_id, run_id, seq, generation, kind, data, created_at)"
    " SELECT $1, $2, $3, $4::bigint, $5::int, $6, $7::jsonb, $8::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM evolve_runs WHERE tenant_id = $2 AND id = $3)"
    " ON CONFLICT DO NOTHING";

static int pg_trace_append(struct ad_store *st, const struct ad_evolve_trace *t,
                           const char *const json[1], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[8];
    pgm_buf b[8];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&trace_table, t, json, b, p);
    rc = ad__pg_run(s, t->tenant_id, q_trace_insert, 8, p, &r, "append evolution trace", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_run_exists, t->tenant_id, t->run_id, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown evolution run '%s'", t->run_id);
    return ad_error(err, AD_EEXIST, "run '%s' already has trace line %lld", t->run_id,
                    (long long)t->seq);
}

static const char q_trace_list[] =
    "SELECT " TRACE_COLS " FROM evolve_trace WHERE tenant_id = $1 AND run_id = $2"
    " AND seq > $3::bigint ORDER BY seq LIMIT $4";

static int pg_trace_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                         int64_t after_seq, int limit, struct ad_evolve_trace **out, size_t *n,
                         struct ad_err *err)
{
    char b[2][24];
    const char *p[] = { tenant_id, run_id, ad__pg_i64_text(after_seq, b[0]),
                        ad__pg_i64_text(limit, b[1]) };

    return ad__pgm_list(ad__pg(st), tenant_id, q_trace_list, 4, p, &trace_table, &trace_elem,
                        (void **)out, n, "list evolution trace", err);
}

static const char q_trace_last[] =
    "SELECT coalesce(max(seq), 0) FROM evolve_trace WHERE tenant_id = $1 AND run_id = $2";

static int pg_trace_last(struct ad_store *st, const char *tenant_id, const char *run_id,
                         int64_t *seq, struct ad_err *err)
{
    const char *p[] = { tenant_id, run_id };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_trace_last, 2, p, &r,
                        "last evolution trace line", err);

    if (!rc)
        *seq = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

const struct ad__evolve_ops ad__pg_evolve_ops = {
    .run_insert = pg_run_insert,
    .run_update = pg_run_update,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .program_insert = pg_program_insert,
    .program_update = pg_program_update,
    .program_list = pg_program_list,
    .trace_append = pg_trace_append,
    .trace_list = pg_trace_list,
    .trace_last = pg_trace_last,
};
