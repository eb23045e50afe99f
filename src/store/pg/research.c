/*
 * Autoresearch's sessions and iterations on PostgreSQL. Each write is one
 * statement that changes no row when refused (unknown tenant or session,
 * a taken name or seq); a read afterwards names why.
 */
#include "compat.h"

#include "pg/rowmap.h"

#define T struct ad_research_session
static const struct pgm_col session_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, name, PGM_TEXT, 0),
    PGM_COL(T, repo_path, PGM_TEXT, 0),
    PGM_COL(T, metric_name, PGM_TEXT, 0),
    PGM_COL(T, direction, PGM_TEXT, 0),
    PGM_COL(T, status, PGM_TEXT, 0),
    PGM_JSONCOL(T, budget, 0),
    PGM_COL(T, baseline_metric, PGM_REAL, PGM_NAN_NULL),
    PGM_COL(T, best_metric, PGM_REAL, PGM_NAN_NULL),
    PGM_JSONCOL(T, config, 1),
    PGM_COL(T, worktree, PGM_TEXT, 0),
    PGM_COL(T, best_commit, PGM_TEXT, 0),
    PGM_COL(T, noise, PGM_REAL, PGM_NAN_NULL),
    PGM_JSONCOL(T, state, 2),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, updated_at, PGM_FIXED, 0),
};
#undef T

#define T struct ad_research_iteration
static const struct pgm_col iteration_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, session_id, PGM_FIXED, 0),
    PGM_COL(T, seq, PGM_INT, 0),
    PGM_COL(T, hypothesis, PGM_TEXT, 0),
    PGM_COL(T, diff, PGM_TEXT, 0),
    PGM_COL(T, metric, PGM_REAL, PGM_NAN_NULL),
    PGM_COL(T, decision, PGM_TEXT, 0),
    PGM_JSONCOL(T, gate_results, 0),
    PGM_COL(T, commit_sha, PGM_TEXT, 0),
    PGM_COL(T, phase, PGM_TEXT, 0),
    PGM_JSONCOL(T, detail, 1),
    PGM_COL(T, created_at, PGM_FIXED, 0),
};
#undef T

static const struct pgm_table session_table = PGM_TABLE("research session", session_cols);
static const struct pgm_table iteration_table = PGM_TABLE("research iteration", iteration_cols);

static void session_init(void *e)
{
    memset(e, 0, sizeof(struct ad_research_session));
}

static void session_release(void *e)
{
    ad_research_session_release(e);
}

static void iteration_init(void *e)
{
    memset(e, 0, sizeof(struct ad_research_iteration));
}

static void iteration_release(void *e)
{
    ad_research_iteration_release(e);
}

static const struct pgm_elem session_elem = {
    sizeof(struct ad_research_session), session_init, session_release,
};
static const struct pgm_elem iteration_elem = {
    sizeof(struct ad_research_iteration), iteration_init, iteration_release,
};

#define SESSION_COLS                                                                      \
    "id, tenant_id, name, repo_path, metric_name, direction, status, budget,"             \
    " baseline_metric, best_metric, config, worktree, best_commit, noise, state,"         \
    " ad_ts(created_at), ad_ts(updated_at)"
#define ITERATION_COLS                                                                    \
    "id, tenant_id, session_id, seq, hypothesis, diff, metric, decision, gate_results,"  \
    " commit_sha, phase, detail, ad_ts(created_at)"

static const char q_tenant[] = "SELECT 1 FROM tenants WHERE id = $1";

static const char q_session_insert[] =
    "INSERT INTO research_sessions (id, tenant_id, name, repo_path, metric_name, direction,"
    " status, budget, baseline_metric, best_metric, config, worktree, best_commit, noise,"
    " state, created_at, updated_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::float8, $10::float8, $11::jsonb,"
    " $12, $13, $14::float8, $15::jsonb, $16::timestamptz, $17::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";

/* 1 when the tenant exists, 0 when not, < 0 an error. */
static int tenant_exists(struct pg_store *s, const char *tenant_id, const char *what,
                         struct ad_err *err)
{
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_tenant, 1, &tenant_id, &r, what, err);

    if (!rc)
        rc = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

static int pg_session_insert(struct ad_store *st, const struct ad_research_session *rs,
                             const char *const json[3], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[17];
    pgm_buf b[17];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&session_table, rs, json, b, p);
    rc = ad__pg_run(s, rs->tenant_id, q_session_insert, 17, p, &r, "insert research session",
                    err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = tenant_exists(s, rs->tenant_id, "insert research session", err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", rs->tenant_id);
    return ad_error(err, AD_EEXIST, "research session '%s' already exists", rs->name);
}

static const char q_session_update[] =
    "UPDATE research_sessions SET status = $3, baseline_metric = $4::float8,"
    " best_metric = $5::float8, config = $6::jsonb, worktree = $7, best_commit = $8,"
    " noise = $9::float8, state = $10::jsonb, updated_at = $11::timestamptz"
    " WHERE tenant_id = $1 AND id = $2";

static int pg_session_update(struct ad_store *st, const struct ad_research_session *rs,
                             const char *const json[3], struct ad_err *err)
{
    const char *all[17];
    pgm_buf b[17];

    ad__pgm_params(&session_table, rs, json, b, all);
    {
        const char *p[] = { all[1], all[0], all[6], all[8], all[9], all[10], all[11],
                            all[12], all[13], all[14], all[16] };

        return ad__pg_run_one(ad__pg(st), rs->tenant_id, q_session_update, 11, p, NULL,
                              "research session", rs->id, err);
    }
}

static const char q_session_get[] =
    "SELECT " SESSION_COLS " FROM research_sessions WHERE tenant_id = $1 AND id = $2";

static int pg_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_research_session *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_session_get, 2, p, &r,
                            "research session", id, err);

    session_init(out);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &session_table, out, err);
    PQclear(r);
    if (rc)
        ad_research_session_release(out);
    return rc;
}

static const char q_session_list[] =
    "SELECT " SESSION_COLS " FROM research_sessions WHERE tenant_id = $1"
    " ORDER BY created_at DESC, id DESC LIMIT $2";

static int pg_session_list(struct ad_store *st, const char *tenant_id, int limit,
                           struct ad_research_session **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, ad__pg_i64_text(limit, b) };

    return ad__pgm_list(ad__pg(st), tenant_id, q_session_list, 2, p, &session_table,
                        &session_elem, (void **)out, n, "list research sessions", err);
}

/* The session must be the tenant's: the foreign key alone accepts any tenant's. */
static const char q_iteration_insert[] =
    "INSERT INTO research_iterations (id, tenant_id, session_id, seq, hypothesis, diff,"
    " metric, decision, gate_results, commit_sha, phase, detail, created_at)"
    " SELECT $1, $2, $3, $4::int, $5, $6, $7::float8, $8, $9::jsonb, $10, $11, $12::jsonb,"
    " $13::timestamptz WHERE EXISTS (SELECT 1 FROM research_sessions"
    " WHERE tenant_id = $2 AND id = $3) ON CONFLICT DO NOTHING";
static const char q_session_exists[] =
    "SELECT 1 FROM research_sessions WHERE tenant_id = $1 AND id = $2";

static int pg_iteration_insert(struct ad_store *st, const struct ad_research_iteration *it,
                               const char *const json[2], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[13];
    pgm_buf b[13];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&iteration_table, it, json, b, p);
    rc = ad__pg_run(s, it->tenant_id, q_iteration_insert, 13, p, &r,
                    "insert research iteration", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_session_exists, it->tenant_id, it->session_id, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown research session '%s'", it->session_id);
    return ad_error(err, AD_EEXIST, "iteration %d of session '%s' already exists", it->seq,
                    it->session_id);
}

static const char q_iteration_update[] =
    "UPDATE research_iterations SET hypothesis = $3, diff = $4, metric = $5::float8,"
    " decision = $6, gate_results = $7::jsonb, commit_sha = $8, phase = $9,"
    " detail = $10::jsonb WHERE tenant_id = $1 AND id = $2";

static int pg_iteration_update(struct ad_store *st, const struct ad_research_iteration *it,
                               const char *const json[2], struct ad_err *err)
{
    const char *all[13];
    pgm_buf b[13];

    ad__pgm_params(&iteration_table, it, json, b, all);
    {
        const char *p[] = { all[1], all[0], all[4], all[5], all[6], all[7], all[8], all[9],
                            all[10], all[11] };

        return ad__pg_run_one(ad__pg(st), it->tenant_id, q_iteration_update, 10, p, NULL,
                              "research iteration", it->id, err);
    }
}

static const char q_iteration_list[] =
    "SELECT " ITERATION_COLS " FROM research_iterations WHERE tenant_id = $1"
    " AND session_id = $2 ORDER BY seq LIMIT $3";

static int pg_iteration_list(struct ad_store *st, const char *tenant_id, const char *session_id,
                             int limit, struct ad_research_iteration **out, size_t *n,
                             struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, session_id, ad__pg_i64_text(limit, b) };

    return ad__pgm_list(ad__pg(st), tenant_id, q_iteration_list, 3, p, &iteration_table,
                        &iteration_elem, (void **)out, n, "list research iterations", err);
}

const struct ad__research_ops ad__pg_research_ops = {
    .session_insert = pg_session_insert,
    .session_update = pg_session_update,
    .session_get = pg_session_get,
    .session_list = pg_session_list,
    .iteration_insert = pg_iteration_insert,
    .iteration_update = pg_iteration_update,
    .iteration_list = pg_iteration_list,
};
