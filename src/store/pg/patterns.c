/* Failure patterns on PostgreSQL (migration 3 has the table and its indexes). */
#include "compat.h"

#include "pg/rowmap.h"

enum { J_EPISODES, J_OUTCOME };

#define T struct ad_failure_pattern
static const struct pgm_col pattern_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, agent_id, PGM_FIXED, 0),
    PGM_COL(T, task, PGM_TEXT, 0),
    PGM_COL(T, error_type, PGM_TEXT, 0),
    PGM_ENUMCOL(T, status, &ad__pattern_status_enum, 0),
    PGM_COL(T, job_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, candidate_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_JSONCOL(T, episode_ids, J_EPISODES),
    PGM_JSONCOL(T, outcome, J_OUTCOME),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, updated_at, PGM_FIXED, 0),
};
#undef T

static const struct pgm_table pattern_table = PGM_TABLE("failure pattern", pattern_cols);

#define PATTERN_HEAD                                                                    \
    "SELECT id, tenant_id, agent_id, task, error_type, status, job_id, candidate_id,"   \
    " CASE WHEN $6::boolean THEN NULL ELSE episode_ids END,"                          \
    " CASE WHEN $6::boolean THEN NULL ELSE outcome END, ad_ts(created_at), ad_ts(updated_at)"
#define PATTERN_COLS                                                                    \
    "id, tenant_id, agent_id, task, error_type, status, job_id, candidate_id,"          \
    " episode_ids, outcome, ad_ts(created_at), ad_ts(updated_at)"

static void pattern_init(void *e)
{
    memset(e, 0, sizeof(struct ad_failure_pattern));
}

static void pattern_release(void *e)
{
    ad_failure_pattern_release(e);
}

static const struct pgm_elem pattern_elem = {
    sizeof(struct ad_failure_pattern), pattern_init, pattern_release,
};

static const char q_agent_exists[] = "SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2";
static const char q_pattern_exists[] =
    "SELECT 1 FROM failure_patterns WHERE tenant_id = $1 AND id = $2";

/* The agent, and the candidate when set, must be the tenant's. */
static const char q_insert[] =
    "INSERT INTO failure_patterns (id, tenant_id, agent_id, task, error_type, status, job_id,"
    " candidate_id, episode_ids, outcome, created_at, updated_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::timestamptz,"
    " $12::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM agents WHERE tenant_id = $2 AND id = $3)"
    " AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM skill_candidates"
    " WHERE tenant_id = $2 AND id = $8)) ON CONFLICT DO NOTHING";

static int pg_pattern_insert(struct ad_store *st, const struct ad_failure_pattern *pt,
                             const char *episode_ids, const char *outcome, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *json[] = { [J_EPISODES] = episode_ids, [J_OUTCOME] = outcome };
    const char *p[12];
    pgm_buf b[12];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&pattern_table, pt, json, b, p);
    rc = ad__pg_run(s, pt->tenant_id, q_insert, 12, p, &r, "insert failure pattern", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_agent_exists, pt->tenant_id, pt->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", pt->agent_id);
    if (rc == 1 && pt->candidate_id[0]) {
        rc = ad__pgm_exists(s, "SELECT 1 FROM skill_candidates WHERE tenant_id = $1 AND id = $2",
                            pt->tenant_id, pt->candidate_id, err);
        if (rc == 0)
            return ad_error(err, AD_ENOTFOUND, "unknown skill candidate '%s'",
                            pt->candidate_id);
    }
    if (rc < 0)
        return rc;
    return ad_error(err, AD_EEXIST, "failure pattern '%s' already exists", pt->id);
}

static const char q_update[] =
    "UPDATE failure_patterns SET status = $3, job_id = $4, candidate_id = $5,"
    " episode_ids = $6, outcome = $7, updated_at = $8"
    " WHERE tenant_id = $1 AND id = $2 AND ($5::text IS NULL OR EXISTS (SELECT 1"
    " FROM skill_candidates WHERE tenant_id = $1 AND id = $5))";

static int pg_pattern_update(struct ad_store *st, const struct ad_failure_pattern *pt,
                             const char *episode_ids, const char *outcome, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = {
        pt->tenant_id, pt->id, ad__enum_name(&ad__pattern_status_enum, pt->status),
        ad__pg_opt(pt->job_id), ad__pg_opt(pt->candidate_id), episode_ids, outcome,
        pt->updated_at,
    };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, pt->tenant_id, q_update, 8, p, &r, "update failure pattern", err);

    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_pattern_exists, pt->tenant_id, pt->id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown failure pattern '%s'", pt->id);
    return rc < 0 ? rc
                  : ad_error(err, AD_ENOTFOUND, "unknown skill candidate '%s'", pt->candidate_id);
}

static const char q_get[] =
    "SELECT " PATTERN_COLS " FROM failure_patterns WHERE tenant_id = $1 AND id = $2";

static int pg_pattern_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_failure_pattern *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_get, 2, p, &r, "failure pattern", id, err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &pattern_table, out, err);
    PQclear(r);
    if (rc)
        ad_failure_pattern_release(out);
    return rc;
}

/*
 * Most recently updated first. $2 the agent (its own statement, for
 * ix_failure_patterns_agent), $3 whether by error type and $4 the type
 * (NULL: the patterns of no type), $5 the statuses' names (NULL: any), $6
 * light (episode_ids and outcome left out), $7 the limit.
 */
#define LIST_TAIL                                                                       \
    " AND (NOT $3::boolean OR error_type IS NOT DISTINCT FROM $4::text)"                \
    " AND ($5::text[] IS NULL OR status = ANY ($5::text[]))"                            \
    " ORDER BY updated_at DESC, id DESC LIMIT $7"
static const char q_list[] =
    PATTERN_HEAD " FROM failure_patterns WHERE tenant_id = $1 AND $2::text IS NULL" LIST_TAIL;
static const char q_list_agent[] =
    PATTERN_HEAD " FROM failure_patterns WHERE tenant_id = $1 AND agent_id = $2" LIST_TAIL;

static int pg_pattern_list(struct ad_store *st, const char *tenant_id,
                           const struct ad_pattern_filter *f, struct ad_failure_pattern **out,
                           size_t *n, struct ad_err *err)
{
    char mask[128], b[24];
    const char *p[] = {
        tenant_id, f->agent_id, f->by_error_type ? "t" : "f",
        f->by_error_type ? f->error_type : NULL,
        ad__pgm_mask_array(&ad__pattern_status_enum, f->status_mask, mask, sizeof(mask)),
        f->light ? "t" : "f", ad__pg_i64_text(f->limit, b),
    };

    return ad__pgm_list(ad__pg(st), tenant_id, f->agent_id ? q_list_agent : q_list, 7, p,
                        &pattern_table, &pattern_elem, (void **)out, n,
                        "list failure patterns", err);
}

const struct ad__pattern_ops ad__pg_pattern_ops = {
    .insert = pg_pattern_insert,
    .update = pg_pattern_update,
    .get = pg_pattern_get,
    .list = pg_pattern_list,
};
