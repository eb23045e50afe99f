/*
 * AlphaEvolver's tool mutations on PostgreSQL. The insert checks every
 * reference in its one statement and changes no row when one is not the
 * tenant's or (tenant, job, mutant index) is taken, told apart afterwards.
 */
#include "compat.h"

#include "pg/rowmap.h"

#define T struct ad_tool_mutation
static const struct pgm_col mutation_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, parent_tool_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, tool_name, PGM_TEXT, 0),
    PGM_COL(T, mutated_code, PGM_TEXT, 0),
    PGM_ENUMCOL(T, status, &ad__mutation_status_enum, 0),
    PGM_COL(T, execution_error, PGM_TEXT, 0),
    PGM_COL(T, skill_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, parent_skill_version_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, agent_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, job_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, mutant_index, PGM_INT, 0),
    PGM_COL(T, trigger, PGM_TEXT, 0),
    PGM_COL(T, proposer, PGM_TEXT, 0),
    PGM_COL(T, mutation_operator, PGM_TEXT, 0),
    PGM_COL(T, edit, PGM_TEXT, 0),
    PGM_JSONCOL(T, test_set, AD__MJ_TEST_SET),
    PGM_JSONCOL(T, proxy_signals, AD__MJ_PROXY),
    PGM_ENUMCOL(T, decision, &ad__mutation_decision_enum, PGM_NULLABLE),
    PGM_COL(T, decision_reason, PGM_TEXT, 0),
    PGM_COL(T, fitness_delta, PGM_REAL, PGM_NAN_NULL),
    PGM_COL(T, risk_score, PGM_REAL, PGM_NAN_NULL),
    PGM_JSONCOL(T, risk, AD__MJ_RISK),
    PGM_ENUMCOL(T, review_status, &ad__review_status_enum, PGM_NULLABLE),
    PGM_COL(T, reviewed_by, PGM_TEXT, 0),
    PGM_COL(T, reviewed_at, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, reason, PGM_TEXT, 0),
    PGM_COL(T, promoted_version_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, evaluated_at, PGM_FIXED, PGM_EMPTY_NULL),
};
#undef T

static const struct pgm_table mutation_table = PGM_TABLE("mutation", mutation_cols);

#define COLS(k)                                                                             \
    k "id, " k "tenant_id, " k "parent_tool_id, " k "tool_name, " k "mutated_code, "        \
    k "sandbox_status, " k "execution_error, " k "skill_id, " k "parent_skill_version_id, " \
    k "agent_id, " k "job_id, " k "mutant_index, " k "trigger, " k "proposer, "             \
    k "mutation_operator, " k "edit, " k "test_set, " k "proxy_signals, " k "decision, "    \
    k "decision_reason, " k "fitness_delta, " k "risk_score, " k "risk, "                   \
    k "review_status, " k "reviewed_by, ad_ts(" k "reviewed_at), " k "reason, "             \
    k "promoted_version_id, ad_ts(" k "created_at), ad_ts(" k "evaluated_at)"

static void mutation_init(void *e)
{
    ad_tool_mutation_init(e);
}

static void mutation_release(void *e)
{
    ad_tool_mutation_release(e);
}

static const struct pgm_elem mutation_elem = {
    sizeof(struct ad_tool_mutation), mutation_init, mutation_release,
};

#define VERSION_OF_TENANT(p)                                                        \
    " (" p "::text IS NULL OR EXISTS (SELECT 1 FROM skill_versions"                 \
    " WHERE tenant_id = $2 AND id = " p "))"

static const char q_insert[] =
    "INSERT INTO tool_mutations (id, tenant_id, parent_tool_id, tool_name, mutated_code,"
    " sandbox_status, execution_error, skill_id, parent_skill_version_id, agent_id, job_id,"
    " mutant_index, trigger, proposer, mutation_operator, edit, test_set, proxy_signals,"
    " decision, decision_reason, fitness_delta, risk_score, risk, review_status, reviewed_by,"
    " reviewed_at, reason, promoted_version_id, created_at, evaluated_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::int, $13, $14, $15, $16,"
    " $17::jsonb, $18::jsonb, $19, $20, $21::float8, $22::float8, $23::jsonb, $24, $25,"
    " $26::timestamptz, $27, $28, $29::timestamptz, $30::timestamptz"
    " WHERE ($10::text IS NULL OR EXISTS (SELECT 1 FROM agents"
    " WHERE tenant_id = $2 AND id = $10))"
    " AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM skills WHERE tenant_id = $2 AND id = $8))"
    " AND ($9::text IS NULL OR EXISTS (SELECT 1 FROM skill_versions"
    " WHERE tenant_id = $2 AND id = $9 AND ($8::text IS NULL OR skill_id = $8)))"
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM tool_mutations"
    " WHERE tenant_id = $2 AND id = $3))"
    " AND" VERSION_OF_TENANT("$28") " ON CONFLICT DO NOTHING";

#define EXISTS(table) "SELECT 1 FROM " table " WHERE tenant_id = $1 AND id = $2"
static const char q_job_taken[] =
    "SELECT 1 FROM tool_mutations WHERE tenant_id = $1 AND job_id = $2 AND mutant_index = $3::int";

/* 1 when id is set and not the tenant's row of sql; 0 when fine; < 0 an error. */
static int missing(struct pg_store *s, const char *sql, const char *tenant_id, const char *id,
                   struct ad_err *err)
{
    int rc;

    if (!id[0])
        return 0;
    rc = ad__pgm_exists(s, sql, tenant_id, id, err);
    return rc < 0 ? rc : !rc;
}

/* Why an insert matched nothing: a taken key, else the first reference not the tenant's. */
static int insert_missing(struct pg_store *s, const struct ad_tool_mutation *m,
                          struct ad_err *err)
{
    const char *t = m->tenant_id;
    char b[24];
    int rc;

    if (m->job_id[0]) {
        const char *p[] = { t, m->job_id, ad__pg_i64_text(m->mutant_index, b) };
        PGresult *r = NULL;

        rc = ad__pg_run(s, t, q_job_taken, 3, p, &r, "insert mutation", err);
        if (rc)
            return rc;
        rc = PQntuples(r) > 0;
        PQclear(r);
        if (rc)
            return ad_error(err, AD_EEXIST, "mutant %d of job '%s' already exists",
                            m->mutant_index, m->job_id);
    }
    if ((rc = missing(s, EXISTS("tool_mutations"), t, m->id, err)) == 0)
        return ad_error(err, AD_EEXIST, "mutation '%s' already exists", m->id);
    if (rc < 0)
        return rc;
    if ((rc = missing(s, EXISTS("agents"), t, m->agent_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", m->agent_id);
    if ((rc = missing(s, EXISTS("skills"), t, m->skill_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", m->skill_id);
    if ((rc = missing(s, EXISTS("tool_mutations"), t, m->parent_tool_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown parent mutation '%s'",
                                      m->parent_tool_id);
    if ((rc = missing(s, EXISTS("skill_versions"), t, m->promoted_version_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'",
                                      m->promoted_version_id);
    if ((rc = missing(s, EXISTS("skill_versions"), t, m->parent_skill_version_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'",
                                      m->parent_skill_version_id);
    return ad_error(err, AD_ENOTFOUND, "'%s' is not a version of skill '%s'",
                    m->parent_skill_version_id, m->skill_id);
}

static int pg_mutation_insert(struct ad_store *st, const struct ad_tool_mutation *m,
                              const char *const json[AD__MJ_COUNT], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[30];
    pgm_buf b[30];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&mutation_table, m, json, b, p);
    rc = ad__pg_run(s, m->tenant_id, q_insert, 30, p, &r, "insert mutation", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return insert_missing(s, m, err);
}

/* The columns the engine changes after the insert (test_set stays). */
static const char q_update[] =
    "UPDATE tool_mutations SET sandbox_status = $3, execution_error = $4,"
    " proxy_signals = $5, decision = $6, decision_reason = $7, fitness_delta = $8,"
    " risk_score = $9, risk = $10, review_status = $11, reviewed_by = $12,"
    " reviewed_at = $13, reason = $14, promoted_version_id = $15, evaluated_at = $16"
    " WHERE tenant_id = $1 AND id = $2 AND ($15::text IS NULL OR EXISTS (SELECT 1"
    " FROM skill_versions WHERE tenant_id = $1 AND id = $15))";

static int pg_mutation_update(struct ad_store *st, const struct ad_tool_mutation *m,
                              const char *const json[AD__MJ_COUNT], struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char b[2][32];
    const char *p[] = {
        m->tenant_id, m->id, ad__enum_name(&ad__mutation_status_enum, m->status),
        m->execution_error, json[AD__MJ_PROXY],
        ad__enum_name(&ad__mutation_decision_enum, m->decision), m->decision_reason,
        ad__pg_double_text(m->fitness_delta, b[0]), ad__pg_double_text(m->risk_score, b[1]),
        json[AD__MJ_RISK], ad__enum_name(&ad__review_status_enum, m->review_status),
        m->reviewed_by, ad__pg_opt(m->reviewed_at), m->reason,
        ad__pg_opt(m->promoted_version_id), ad__pg_opt(m->evaluated_at),
    };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, m->tenant_id, q_update, 16, p, &r, "update mutation", err);

    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, EXISTS("tool_mutations"), m->tenant_id, m->id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown mutation '%s'", m->id);
    return rc < 0 ? rc
                  : ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'",
                             m->promoted_version_id);
}

static const char q_get[] =
    "SELECT " COLS("") " FROM tool_mutations WHERE tenant_id = $1 AND id = $2";

static int pg_mutation_get(struct ad_store *st, const char *tenant_id, const char *id,
                           struct ad_tool_mutation *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_get, 2, p, &r, "mutation", id, err);

    ad_tool_mutation_init(out);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &mutation_table, out, err);
    PQclear(r);
    if (rc)
        ad_tool_mutation_release(out);
    return rc;
}

/*
 * Each condition is off when its parameter is NULL: $2 skill, $3 job, $4
 * parent version, $5 status, $6 review status ($12: 'none' for NULL, NULL
 * for any), $7 decision ($13 likewise), $9/$10 the keyset, $11 agent. A
 * job's mutants in index order (its own statement), the rest newest first.
 */
#define LIST_WHERE                                                                      \
    " FROM tool_mutations WHERE tenant_id = $1"                                         \
    " AND ($2::text IS NULL OR skill_id = $2)"                                          \
    " AND ($4::text IS NULL OR parent_skill_version_id = $4)"                           \
    " AND ($5::text IS NULL OR sandbox_status = $5)"                                    \
    " AND ($12::text IS NULL OR ($12 = 'none' AND review_status IS NULL)"               \
    "  OR ($12 = 'is' AND review_status = $6::text))"                                   \
    " AND ($13::text IS NULL OR ($13 = 'none' AND decision IS NULL)"                    \
    "  OR ($13 = 'is' AND decision = $7::text))"                                        \
    " AND ($11::text IS NULL OR agent_id = $11)"                                        \
    " AND ($9::timestamptz IS NULL OR (created_at, id) < ($9::timestamptz, $10::text))"
static const char q_list[] =
    "SELECT " COLS("") LIST_WHERE " AND $3::text IS NULL"
    " ORDER BY created_at DESC, id DESC LIMIT $8";
static const char q_list_job[] =
    "SELECT " COLS("") LIST_WHERE " AND job_id = $3 ORDER BY mutant_index, id LIMIT $8";

static const char *three_way(int v)
{
    return v == -1 ? "none" : v >= 0 ? "is" : NULL;
}

static int pg_mutation_list(struct ad_store *st, const char *tenant_id,
                            const struct ad_mutation_filter *f, struct ad_tool_mutation **out,
                            size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = {
        tenant_id, f->skill_id, f->job_id, f->parent_skill_version_id,
        f->status >= 0 ? ad__enum_name(&ad__mutation_status_enum, f->status) : NULL,
        f->review_status >= 0 ? ad__enum_name(&ad__review_status_enum, f->review_status)
                              : NULL,
        f->decision >= 0 ? ad__enum_name(&ad__mutation_decision_enum, f->decision) : NULL,
        ad__pg_i64_text(f->limit, b), f->before_id ? f->before_created_at : NULL,
        f->before_id, f->agent_id, three_way(f->review_status), three_way(f->decision),
    };

    return ad__pgm_list(ad__pg(st), tenant_id, f->job_id ? q_list_job : q_list, 13, p,
                        &mutation_table, &mutation_elem, (void **)out, n, "list mutations",
                        err);
}

static const char q_lineage[] =
    "WITH RECURSIVE chain(id, depth) AS ("
    " SELECT id, 0 FROM tool_mutations WHERE tenant_id = $1 AND id = $2"
    " UNION ALL SELECT m.parent_tool_id, c.depth + 1 FROM chain AS c"
    " JOIN tool_mutations AS m ON m.id = c.id"
    " WHERE m.tenant_id = $1 AND m.parent_tool_id IS NOT NULL AND c.depth + 1 < $3::int)"
    " SELECT " COLS("k.") " FROM chain AS c JOIN tool_mutations AS k ON k.id = c.id"
    " WHERE k.tenant_id = $1 ORDER BY c.depth";

static int pg_mutation_lineage(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_tool_mutation **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, id, ad__pg_i64_text(AD_LINEAGE_MAX, b) };
    int rc = ad__pgm_list(ad__pg(st), tenant_id, q_lineage, 3, p, &mutation_table,
                          &mutation_elem, (void **)out, n, "mutation lineage", err);

    if (rc == 0 && *n == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown mutation '%s'", id);
    return rc;
}

const struct ad__mutation_ops ad__pg_mutation_ops = {
    .insert = pg_mutation_insert,
    .update = pg_mutation_update,
    .get = pg_mutation_get,
    .list = pg_mutation_list,
    .lineage = pg_mutation_lineage,
};
