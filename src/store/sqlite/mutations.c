/*
 * AlphaEvolver's tool mutations in SQLite (migration 1 made the table,
 * migration 5 gave it the engine's columns and indexes).
 */
#include "compat.h"

#include "autodev/buf.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_tool_mutation
#define U SQ_UPDATE
static const struct sq_col mutation_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, parent_tool_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, tool_name, SQ_TEXT, 0),
    SQ_COL(T, mutated_code, SQ_TEXT, 0),
    SQ_ENUMCOL("sandbox_status", T, status, &ad__mutation_status_enum, U),
    SQ_COL(T, execution_error, SQ_TEXT, U),
    SQ_COL(T, skill_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, parent_skill_version_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, agent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, job_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, mutant_index, SQ_INT, 0),
    SQ_COL(T, trigger, SQ_TEXT, 0),
    SQ_COL(T, proposer, SQ_TEXT, 0),
    SQ_COL(T, mutation_operator, SQ_TEXT, 0),
    SQ_COL(T, edit, SQ_TEXT, 0),
    SQ_JSONCOL(T, test_set, AD__MJ_TEST_SET, 0),
    SQ_JSONCOL(T, proxy_signals, AD__MJ_PROXY, U),
    SQ_ENUMCOL("decision", T, decision, &ad__mutation_decision_enum, SQ_NULLABLE | U),
    SQ_COL(T, decision_reason, SQ_TEXT, U),
    SQ_COL(T, fitness_delta, SQ_REAL, SQ_NAN_NULL | U),
    SQ_COL(T, risk_score, SQ_REAL, SQ_NAN_NULL | U),
    SQ_JSONCOL(T, risk, AD__MJ_RISK, U),
    SQ_ENUMCOL("review_status", T, review_status, &ad__review_status_enum, SQ_NULLABLE | U),
    SQ_COL(T, reviewed_by, SQ_TEXT, U),
    SQ_COL(T, reviewed_at, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, reason, SQ_TEXT, U),
    SQ_COL(T, promoted_version_id, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, evaluated_at, SQ_FIXED, SQ_EMPTY_NULL | U),
};
#undef U
#undef T

static const struct sq_table mutation_table =
    SQ_TABLE("mutation", struct ad_tool_mutation, mutation_cols);

#define VERSION_OF_TENANT(col)                                                          \
    " (:" col " IS NULL OR EXISTS (SELECT 1 FROM skill_versions"                        \
    " WHERE tenant_id = :tenant_id AND id = :" col "))"

/*
 * Every reference must be the tenant's: foreign keys alone accept any
 * tenant's row. The parent version must also be a version of the skill.
 */
static const struct sq_stmt mutation_insert = {
    &mutation_table,
    "INSERT INTO tool_mutations ({icols}) SELECT {params}"
    " WHERE (:agent_id IS NULL OR EXISTS (SELECT 1 FROM agents"
    " WHERE tenant_id = :tenant_id AND id = :agent_id))"
    " AND (:skill_id IS NULL OR EXISTS (SELECT 1 FROM skills"
    " WHERE tenant_id = :tenant_id AND id = :skill_id))"
    " AND (:parent_skill_version_id IS NULL OR EXISTS (SELECT 1 FROM skill_versions"
    " WHERE tenant_id = :tenant_id AND id = :parent_skill_version_id"
    " AND (:skill_id IS NULL OR skill_id = :skill_id)))"
    " AND (:parent_tool_id IS NULL OR EXISTS (SELECT 1 FROM tool_mutations"
    " WHERE tenant_id = :tenant_id AND id = :parent_tool_id))"
    " AND" VERSION_OF_TENANT("promoted_version_id"),
};
static const struct sq_stmt mutation_update = {
    &mutation_table,
    "UPDATE tool_mutations SET {set} WHERE tenant_id = :tenant_id AND id = :id"
    " AND" VERSION_OF_TENANT("promoted_version_id"),
};
static const struct sq_stmt mutation_get = {
    &mutation_table, "SELECT {cols} FROM tool_mutations WHERE tenant_id = ?1 AND id = ?2",
};
/*
 * The chain up parent_tool_id: each step is a primary-key lookup. The
 * depth bound ends it even on a cycle, which the store cannot make (a
 * parent exists before its child, and parent_tool_id never changes) but a
 * hand-edited file could.
 */
static const struct sq_stmt mutation_lineage = {
    &mutation_table,
    "WITH RECURSIVE chain(id, depth) AS ("
    " SELECT id, 0 FROM tool_mutations WHERE tenant_id = ?1 AND id = ?2"
    " UNION ALL SELECT m.parent_tool_id, c.depth + 1 FROM chain AS c"
    " JOIN tool_mutations AS m ON m.id = c.id"
    " WHERE m.tenant_id = ?1 AND m.parent_tool_id IS NOT NULL AND c.depth + 1 < ?3)"
    " SELECT {k.cols} FROM chain AS c JOIN tool_mutations AS k ON k.id = c.id"
    " WHERE k.tenant_id = ?1 ORDER BY c.depth",
};

#define MUTATION_EXISTS "SELECT 1 FROM tool_mutations WHERE tenant_id = ?1 AND id = ?2"
#define SKILL_EXISTS "SELECT 1 FROM skills WHERE tenant_id = ?1 AND id = ?2"
#define VERSION_EXISTS "SELECT 1 FROM skill_versions WHERE tenant_id = ?1 AND id = ?2"

/* 1 when id is set and not the tenant's row of sql; 0 when fine; < 0 an error. */
static int missing(struct sqlite_store *s, const char *sql, const char *tenant_id,
                   const char *id, struct ad_err *err)
{
    int rc;

    if (!id[0])
        return 0;
    rc = ad__sq_exists(s, sql, tenant_id, id, err);
    return rc < 0 ? rc : !rc;
}

/* Why an insert matched nothing: the first reference that is not the tenant's. */
static int insert_missing(struct sqlite_store *s, const struct ad_tool_mutation *m,
                          struct ad_err *err)
{
    const char *t = m->tenant_id;
    int rc;

    if ((rc = missing(s, SQ_AGENT_EXISTS, t, m->agent_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", m->agent_id);
    if ((rc = missing(s, SKILL_EXISTS, t, m->skill_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", m->skill_id);
    if ((rc = missing(s, MUTATION_EXISTS, t, m->parent_tool_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown parent mutation '%s'",
                                      m->parent_tool_id);
    if ((rc = missing(s, VERSION_EXISTS, t, m->promoted_version_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'",
                                      m->promoted_version_id);
    if ((rc = missing(s, VERSION_EXISTS, t, m->parent_skill_version_id, err)) != 0)
        return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'",
                                      m->parent_skill_version_id);
    return ad_error(err, AD_ENOTFOUND, "'%s' is not a version of skill '%s'",
                    m->parent_skill_version_id, m->skill_id);
}

/* Binds m with its JSON texts and runs the conditional write. */
static int write_mutation(struct sqlite_store *s, const struct sq_stmt *def,
                          const struct ad_tool_mutation *m, const char *const *json,
                          int *changed, const char *what, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, def, &q, err);

    *changed = 0;
    if (!rc)
        rc = ad__sq_bind_row(s, q, m, json, err);
    if (!rc)
        return ad__sq_step_cond(s, q, what, changed, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_mutation_insert(struct ad_store *st, const struct ad_tool_mutation *m,
                                  const char *const json[AD__MJ_COUNT], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int changed;
    int rc = write_mutation(s, &mutation_insert, m, json, &changed, "insert mutation", err);

    if (rc == AD_EEXIST && m->job_id[0])
        return ad_error(err, AD_EEXIST, "mutant %d of job '%s' already exists", m->mutant_index,
                        m->job_id);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "mutation '%s' already exists", m->id);
    if (rc == AD_ENOTFOUND)    /* the one foreign key the WHERE does not check */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", m->tenant_id);
    if (rc || changed)
        return rc;
    return insert_missing(s, m, err);
}

static int sqlite_mutation_update(struct ad_store *st, const struct ad_tool_mutation *m,
                                  const char *const json[AD__MJ_COUNT], struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int changed;
    int rc = write_mutation(s, &mutation_update, m, json, &changed, "update mutation", err);

    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, MUTATION_EXISTS, m->tenant_id, m->id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown mutation '%s'", m->id);
    return rc < 0 ? rc
                  : ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'",
                             m->promoted_version_id);
}

static int sqlite_mutation_get(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_tool_mutation *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &mutation_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get mutation", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown mutation '%s'", id);
    if (rc)
        ad_tool_mutation_release(out);
    return rc;
}

/*
 * The list's text for the filter's shape: only the conditions set, each
 * value a parameter (the status names too), so each shape is one cached
 * statement. A job's mutants come down the unique (tenant, job, index)
 * index in index order; the rest newest first down the tenant's created_at
 * index, or the skill's and the version's own.
 */
static char *mutation_list_sql(const struct ad_mutation_filter *f)
{
    struct sq_stmt def = { &mutation_table, NULL };
    struct ad_buf b;
    char *sql = NULL;
    int rc;

    ad_buf_init(&b, 4096);
    rc = ad_buf_adds(&b, "SELECT {cols} FROM tool_mutations WHERE tenant_id = ?1");
    if (!rc && f->skill_id)
        rc = ad_buf_adds(&b, " AND skill_id = ?2");
    if (!rc && f->job_id)
        rc = ad_buf_adds(&b, " AND job_id = ?3");
    if (!rc && f->parent_skill_version_id)
        rc = ad_buf_adds(&b, " AND parent_skill_version_id = ?4");
    if (!rc && f->status >= 0)
        rc = ad_buf_adds(&b, " AND sandbox_status = ?5");
    if (!rc && f->review_status == AD_REVIEW_NONE)
        rc = ad_buf_adds(&b, " AND review_status IS NULL");
    else if (!rc && f->review_status >= 0)
        rc = ad_buf_adds(&b, " AND review_status = ?6");
    if (!rc && f->decision == AD_DECISION_NONE)
        rc = ad_buf_adds(&b, " AND decision IS NULL");
    else if (!rc && f->decision >= 0)
        rc = ad_buf_adds(&b, " AND decision = ?7");
    if (!rc && f->agent_id)
        rc = ad_buf_adds(&b, " AND agent_id = ?11");
    if (!rc && f->before_id)
        rc = ad_buf_adds(&b, " AND (created_at, id) < (?9, ?10)");
    if (!rc)
        rc = ad_buf_adds(&b, f->job_id ? " ORDER BY mutant_index, id LIMIT ?8"
                                       : " ORDER BY created_at DESC, id DESC LIMIT ?8");
    if (!rc) {
        def.sql = b.ptr;
        sql = ad__sq_expand(&def);
    }
    ad_buf_release(&b);
    return sql;
}

static void bind_list(sqlite3_stmt *q, const char *tenant_id, const struct ad_mutation_filter *f)
{
    sqlite3_bind_text(q, 1, tenant_id, -1, SQLITE_STATIC);
    if (f->skill_id)
        sqlite3_bind_text(q, 2, f->skill_id, -1, SQLITE_STATIC);
    if (f->job_id)
        sqlite3_bind_text(q, 3, f->job_id, -1, SQLITE_STATIC);
    if (f->parent_skill_version_id)
        sqlite3_bind_text(q, 4, f->parent_skill_version_id, -1, SQLITE_STATIC);
    if (f->status >= 0)
        sqlite3_bind_text(q, 5, ad_mutation_status_name((enum ad_mutation_status)f->status), -1,
                          SQLITE_STATIC);
    if (f->review_status >= 0)
        sqlite3_bind_text(q, 6, ad_review_status_name((enum ad_review_status)f->review_status),
                          -1, SQLITE_STATIC);
    if (f->decision >= 0)
        sqlite3_bind_text(q, 7, ad_mutation_decision_name((enum ad_mutation_decision)f->decision),
                          -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 8, f->limit);
    if (f->agent_id)
        sqlite3_bind_text(q, 11, f->agent_id, -1, SQLITE_STATIC);
    if (f->before_id) {
        sqlite3_bind_text(q, 9, f->before_created_at, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 10, f->before_id, -1, SQLITE_STATIC);
    }
}

static int mutation_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return ad__sq_read_row(q, &mutation_table, elem, err);
}

/* Steps q into a new array for the caller, or frees what it read. */
static int collect(struct sqlite_store *s, struct stmt_slot *q, struct ad_tool_mutation **out,
                   size_t *n, const char *what, struct ad_err *err)
{
    struct ad_tool_mutation *v = NULL;
    size_t count = 0;
    int rc = ad__sq_collect(s, q, sizeof(*v), mutation_row, (void **)&v, &count, what, err);

    if (rc) {
        ad_tool_mutation_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_mutation_list(struct ad_store *st, const char *tenant_id,
                                const struct ad_mutation_filter *f,
                                struct ad_tool_mutation **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    char *sql = mutation_list_sql(f);
    int rc;

    if (!sql)
        return ad_error(err, AD_ENOMEM, "building the mutation query");
    rc = ad__sq_get(s, sql, &q, err);
    free(sql);
    if (rc)
        return rc;
    bind_list(q->stmt, tenant_id, f);
    return collect(s, q, out, n, "list mutations", err);
}

static int sqlite_mutation_lineage(struct ad_store *st, const char *tenant_id, const char *id,
                                   struct ad_tool_mutation **out, size_t *n,
                                   struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &mutation_lineage, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, AD_LINEAGE_MAX);
    rc = collect(s, q, out, n, "mutation lineage", err);
    if (rc == 0 && *n == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown mutation '%s'", id);
    return rc;
}

const struct ad__mutation_ops ad__sqlite_mutation_ops = {
    .insert = sqlite_mutation_insert,
    .update = sqlite_mutation_update,
    .get = sqlite_mutation_get,
    .list = sqlite_mutation_list,
    .lineage = sqlite_mutation_lineage,
};
