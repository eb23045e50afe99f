/*
 * AlphaEvolver's workflow variants in SQLite (migration 1 made the table,
 * migration 5 added skill_version_id, job_id and the top-variants index).
 */
#include "compat.h"

#include "autodev/buf.h"

#include "sqlite/sqlite_int.h"

enum { J_DEFINITION, J_SIGNALS };

#define T struct ad_workflow_variant
#define U SQ_UPDATE
static const struct sq_col variant_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, parent_variant_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, agent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, tool_mutation_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, skill_version_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, job_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_JSONCOL(T, workflow_definition, J_DEFINITION, 0),
    SQ_COL(T, fitness_score, SQ_REAL, SQ_NAN_NULL | U),
    SQ_JSONCOL(T, fitness_signals, J_SIGNALS, U),
    SQ_ENUMCOL("evaluation_status", T, evaluation_status, &ad__variant_status_enum, U),
    SQ_ENUMCOL("review_status", T, review_status, &ad__review_status_enum, SQ_NULLABLE | U),
    SQ_COL(T, reviewed_by, SQ_TEXT, U),
    SQ_COL(T, reviewed_at, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, reason, SQ_TEXT, U),
    SQ_COL(T, risk_score, SQ_REAL, SQ_NAN_NULL | U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, last_evaluated_at, SQ_FIXED, SQ_EMPTY_NULL | U),
};
#undef U
#undef T

static const struct sq_table variant_table =
    SQ_TABLE("variant", struct ad_workflow_variant, variant_cols);

/* Every reference must be the tenant's: foreign keys alone accept any tenant's row. */
static const struct sq_stmt variant_insert = {
    &variant_table,
    "INSERT INTO workflow_variants ({icols}) SELECT {params}"
    " WHERE (:parent_variant_id IS NULL OR EXISTS (SELECT 1 FROM workflow_variants"
    " WHERE tenant_id = :tenant_id AND id = :parent_variant_id))"
    " AND (:agent_id IS NULL OR EXISTS (SELECT 1 FROM agents"
    " WHERE tenant_id = :tenant_id AND id = :agent_id))"
    " AND (:tool_mutation_id IS NULL OR EXISTS (SELECT 1 FROM tool_mutations"
    " WHERE tenant_id = :tenant_id AND id = :tool_mutation_id))"
    " AND (:skill_version_id IS NULL OR EXISTS (SELECT 1 FROM skill_versions"
    " WHERE tenant_id = :tenant_id AND id = :skill_version_id))",
};
static const struct sq_stmt variant_update = {
    &variant_table, "UPDATE workflow_variants SET {set} WHERE tenant_id = :tenant_id"
                    " AND id = :id",
};
static const struct sq_stmt variant_get = {
    &variant_table, "SELECT {cols} FROM workflow_variants WHERE tenant_id = ?1 AND id = ?2",
};
/*
 * Down ix_workflow_variants_top (tenant_id, fitness_score DESC, created_at,
 * id) from the best score to the first one not above 0: no sort. With an
 * agent, its rows are picked on the way (a tenant has few variants an
 * agent does not share).
 */
static const struct sq_stmt variant_top = {
    &variant_table, "SELECT {cols} FROM workflow_variants WHERE tenant_id = ?1"
                    " AND fitness_score > 0 AND (?2 IS NULL OR agent_id = ?2)"
                    " ORDER BY fitness_score DESC, created_at, id LIMIT ?3",
};

#define EXISTS(table) "SELECT 1 FROM " table " WHERE tenant_id = ?1 AND id = ?2"

/* Why an insert matched nothing: the first reference that is not the tenant's. */
static int insert_missing(struct sqlite_store *s, const struct ad_workflow_variant *v,
                          struct ad_err *err)
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
    int rc;

    for (size_t i = 0; i < AD_ARRAY_SIZE(refs); i++) {
        const char *id = (const char *)v + refs[i].off;

        if (!id[0])
            continue;
        rc = ad__sq_exists(s, refs[i].sql, v->tenant_id, id, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return ad_error(err, AD_ENOTFOUND, "unknown %s '%s'", refs[i].what, id);
    }
    return ad_error(err, AD_EINTERNAL, "variant insert matched nothing");
}

static int sqlite_variant_insert(struct ad_store *st, const struct ad_workflow_variant *v,
                                 const char *definition, const char *signals,
                                 struct ad_err *err)
{
    const char *const json[] = { [J_DEFINITION] = definition, [J_SIGNALS] = signals };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &variant_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, v, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert variant", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "variant '%s' already exists", v->id);
    if (rc == AD_ENOTFOUND)    /* the one foreign key the WHERE does not check */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", v->tenant_id);
    if (rc || changed)
        return rc;
    return insert_missing(s, v, err);
}

static int sqlite_variant_update(struct ad_store *st, const struct ad_workflow_variant *v,
                                 const char *signals, struct ad_err *err)
{
    const char *const json[] = { [J_DEFINITION] = NULL, [J_SIGNALS] = signals };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &variant_update, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, v, json, err);
    if (!rc)
        return ad__sq_step_changed(s, q, "variant", v->id, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_variant_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_workflow_variant *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &variant_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get variant", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown variant '%s'", id);
    if (rc)
        ad_workflow_variant_release(out);
    return rc;
}

static int variant_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return ad__sq_read_row(q, &variant_table, elem, err);
}

static int collect(struct sqlite_store *s, struct stmt_slot *q,
                   struct ad_workflow_variant **out, size_t *n, const char *what,
                   struct ad_err *err)
{
    struct ad_workflow_variant *v = NULL;
    size_t count = 0;
    int rc = ad__sq_collect(s, q, sizeof(*v), variant_row, (void **)&v, &count, what, err);

    if (rc) {
        ad_workflow_variant_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* The list's text for the filter's shape: only the conditions set, like the mutations'. */
static char *variant_list_sql(const struct ad_variant_filter *f)
{
    struct sq_stmt def = { &variant_table, NULL };
    struct ad_buf b;
    char *sql = NULL;
    int rc;

    ad_buf_init(&b, 4096);
    rc = ad_buf_adds(&b, "SELECT {cols} FROM workflow_variants WHERE tenant_id = ?1");
    if (!rc && f->agent_id)
        rc = ad_buf_adds(&b, " AND agent_id = ?2");
    if (!rc && f->tool_mutation_id)
        rc = ad_buf_adds(&b, " AND tool_mutation_id = ?3");
    if (!rc && f->skill_version_id)
        rc = ad_buf_adds(&b, " AND skill_version_id = ?4");
    if (!rc && f->job_id)
        rc = ad_buf_adds(&b, " AND job_id = ?5");
    if (!rc && f->before_id)
        rc = ad_buf_adds(&b, " AND (created_at, id) < (?7, ?8)");
    if (!rc)
        rc = ad_buf_adds(&b, " ORDER BY created_at DESC, id DESC LIMIT ?6");
    if (!rc) {
        def.sql = b.ptr;
        sql = ad__sq_expand(&def);
    }
    ad_buf_release(&b);
    return sql;
}

static int sqlite_variant_list(struct ad_store *st, const char *tenant_id,
                               const struct ad_variant_filter *f,
                               struct ad_workflow_variant **out, size_t *n, struct ad_err *err)
{
    const char *const vals[] = { f->agent_id, f->tool_mutation_id, f->skill_version_id,
                                 f->job_id };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    char *sql = variant_list_sql(f);
    int rc;

    if (!sql)
        return ad_error(err, AD_ENOMEM, "building the variant query");
    rc = ad__sq_get(s, sql, &q, err);
    free(sql);
    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    for (int i = 0; i < (int)AD_ARRAY_SIZE(vals); i++) {
        if (vals[i])
            sqlite3_bind_text(q->stmt, i + 2, vals[i], -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(q->stmt, 6, f->limit);
    if (f->before_id) {
        sqlite3_bind_text(q->stmt, 7, f->before_created_at, -1, SQLITE_STATIC);
        sqlite3_bind_text(q->stmt, 8, f->before_id, -1, SQLITE_STATIC);
    }
    return collect(s, q, out, n, "list variants", err);
}

static int sqlite_variant_top(struct ad_store *st, const char *tenant_id, const char *agent_id,
                              int limit, struct ad_workflow_variant **out, size_t *n,
                              struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &variant_top, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (agent_id)
        sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    return collect(s, q, out, n, "top variants", err);
}

const struct ad__variant_ops ad__sqlite_variant_ops = {
    .insert = sqlite_variant_insert,
    .update = sqlite_variant_update,
    .get = sqlite_variant_get,
    .list = sqlite_variant_list,
    .top = sqlite_variant_top,
};
