/* Workflow variants on PostgreSQL. */
#include "compat.h"

#include "pg/rowmap.h"

enum { J_DEFINITION, J_SIGNALS };

#define T struct ad_workflow_variant
static const struct pgm_col variant_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, parent_variant_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, agent_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, tool_mutation_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, skill_version_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, job_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_JSONCOL(T, workflow_definition, J_DEFINITION),
    PGM_COL(T, fitness_score, PGM_REAL, PGM_NAN_NULL),
    PGM_JSONCOL(T, fitness_signals, J_SIGNALS),
    PGM_ENUMCOL(T, evaluation_status, &ad__variant_status_enum, 0),
    PGM_ENUMCOL(T, review_status, &ad__review_status_enum, PGM_NULLABLE),
    PGM_COL(T, reviewed_by, PGM_TEXT, 0),
    PGM_COL(T, reviewed_at, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, reason, PGM_TEXT, 0),
    PGM_COL(T, risk_score, PGM_REAL, PGM_NAN_NULL),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, last_evaluated_at, PGM_FIXED, PGM_EMPTY_NULL),
};
#undef T

static const struct pgm_table variant_table = PGM_TABLE("variant", variant_cols);

#define VARIANT_COLS                                                                    \
    "id, tenant_id, parent_variant_id, agent_id, tool_mutation_id, skill_version_id,"   \
    " job_id, workflow_definition, fitness_score, fitness_signals, evaluation_status,"  \
    " review_status, reviewed_by, ad_ts(reviewed_at), reason, risk_score,"              \
    " ad_ts(created_at), ad_ts(last_evaluated_at)"

static void variant_init(void *e)
{
    ad_workflow_variant_init(e);
}

static void variant_release(void *e)
{
    ad_workflow_variant_release(e);
}

static const struct pgm_elem variant_elem = {
    sizeof(struct ad_workflow_variant), variant_init, variant_release,
};

#define REF(p, table)                                                                   \
    " (" p "::text IS NULL OR EXISTS (SELECT 1 FROM " table " WHERE tenant_id = $2"     \
    " AND id = " p "))"

static const char q_insert[] =
    "INSERT INTO workflow_variants (id, tenant_id, parent_variant_id, agent_id,"
    " tool_mutation_id, skill_version_id, job_id, workflow_definition, fitness_score,"
    " fitness_signals, evaluation_status, review_status, reviewed_by, reviewed_at, reason,"
    " risk_score, created_at, last_evaluated_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::float8, $10::jsonb, $11, $12, $13,"
    " $14::timestamptz, $15, $16::float8, $17::timestamptz, $18::timestamptz"
    " WHERE" REF("$3", "workflow_variants") " AND" REF("$4", "agents")
    " AND" REF("$5", "tool_mutations") " AND" REF("$6", "skill_versions")
    " ON CONFLICT DO NOTHING";

#define EXISTS(table) "SELECT 1 FROM " table " WHERE tenant_id = $1 AND id = $2"

static int pg_variant_insert(struct ad_store *st, const struct ad_workflow_variant *v,
                             const char *definition, const char *signals, struct ad_err *err)
{
    static const struct {
        const char *sql, *what;
        size_t off;
    } refs[] = {
        { EXISTS("workflow_variants"), "parent variant",
          offsetof(struct ad_workflow_variant, parent_variant_id) },
        { EXISTS("agents"), "agent", offsetof(struct ad_workflow_variant, agent_id) },
        { EXISTS("tool_mutations"), "mutation",
          offsetof(struct ad_workflow_variant, tool_mutation_id) },
        { EXISTS("skill_versions"), "skill version",
          offsetof(struct ad_workflow_variant, skill_version_id) },
    };
    struct pg_store *s = ad__pg(st);
    const char *json[] = { [J_DEFINITION] = definition, [J_SIGNALS] = signals };
    const char *p[18];
    pgm_buf b[18];
    PGresult *r = NULL;
    size_t i;
    int rc;

    ad__pgm_params(&variant_table, v, json, b, p);
    rc = ad__pg_run(s, v->tenant_id, q_insert, 18, p, &r, "insert variant", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    for (i = 0; i < AD_ARRAY_SIZE(refs); i++) {
        const char *id = (const char *)v + refs[i].off;

        if (!id[0])
            continue;
        rc = ad__pgm_exists(s, refs[i].sql, v->tenant_id, id, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return ad_error(err, AD_ENOTFOUND, "unknown %s '%s'", refs[i].what, id);
    }
    return ad_error(err, AD_EEXIST, "variant '%s' already exists", v->id);
}

static const char q_update[] =
    "UPDATE workflow_variants SET fitness_score = $3, fitness_signals = $4,"
    " evaluation_status = $5, review_status = $6, reviewed_by = $7, reviewed_at = $8,"
    " reason = $9, risk_score = $10, last_evaluated_at = $11"
    " WHERE tenant_id = $1 AND id = $2";

static int pg_variant_update(struct ad_store *st, const struct ad_workflow_variant *v,
                             const char *signals, struct ad_err *err)
{
    char b[2][32];
    const char *p[] = {
        v->tenant_id, v->id, ad__pg_double_text(v->fitness_score, b[0]), signals,
        ad__enum_name(&ad__variant_status_enum, v->evaluation_status),
        ad__enum_name(&ad__review_status_enum, v->review_status), v->reviewed_by,
        ad__pg_opt(v->reviewed_at), v->reason, ad__pg_double_text(v->risk_score, b[1]),
        ad__pg_opt(v->last_evaluated_at),
    };

    return ad__pg_run_one(ad__pg(st), v->tenant_id, q_update, 11, p, NULL, "variant", v->id,
                          err);
}

static const char q_get[] =
    "SELECT " VARIANT_COLS " FROM workflow_variants WHERE tenant_id = $1 AND id = $2";

static int pg_variant_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_workflow_variant *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_get, 2, p, &r, "variant", id, err);

    ad_workflow_variant_init(out);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &variant_table, out, err);
    PQclear(r);
    if (rc)
        ad_workflow_variant_release(out);
    return rc;
}

/* Newest first; each condition off when its parameter is NULL. */
static const char q_list[] =
    "SELECT " VARIANT_COLS " FROM workflow_variants WHERE tenant_id = $1"
    " AND ($2::text IS NULL OR agent_id = $2)"
    " AND ($3::text IS NULL OR tool_mutation_id = $3)"
    " AND ($4::text IS NULL OR skill_version_id = $4)"
    " AND ($5::text IS NULL OR job_id = $5)"
    " AND ($7::timestamptz IS NULL OR (created_at, id) < ($7::timestamptz, $8::text))"
    " ORDER BY created_at DESC, id DESC LIMIT $6";

static int pg_variant_list(struct ad_store *st, const char *tenant_id,
                           const struct ad_variant_filter *f, struct ad_workflow_variant **out,
                           size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = {
        tenant_id, f->agent_id, f->tool_mutation_id, f->skill_version_id, f->job_id,
        ad__pg_i64_text(f->limit, b), f->before_id ? f->before_created_at : NULL, f->before_id,
    };

    return ad__pgm_list(ad__pg(st), tenant_id, q_list, 8, p, &variant_table, &variant_elem,
                        (void **)out, n, "list variants", err);
}

/* Down ix_workflow_variants_top from the best score to the first not above 0. */
static const char q_top[] =
    "SELECT " VARIANT_COLS " FROM workflow_variants WHERE tenant_id = $1"
    " AND fitness_score > 0 AND ($2::text IS NULL OR agent_id = $2)"
    " ORDER BY fitness_score DESC, created_at, id LIMIT $3";

static int pg_variant_top(struct ad_store *st, const char *tenant_id, const char *agent_id,
                          int limit, struct ad_workflow_variant **out, size_t *n,
                          struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, agent_id, ad__pg_i64_text(limit, b) };

    return ad__pgm_list(ad__pg(st), tenant_id, q_top, 3, p, &variant_table, &variant_elem,
                        (void **)out, n, "top variants", err);
}

const struct ad__variant_ops ad__pg_variant_ops = {
    .insert = pg_variant_insert,
    .update = pg_variant_update,
    .get = pg_variant_get,
    .list = pg_variant_list,
    .top = pg_variant_top,
};
