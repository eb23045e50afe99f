/*
 * Skill candidates in SQLite, and the daily counts of candidates and of
 * AlphaEvolver's mutants (tool_mutations, whose rows the learn module
 * writes through its own calls).
 */
#include "compat.h"

#include "autodev/buf.h"

#include "sqlite/sqlite_int.h"

enum { J_PATTERN, J_RESULT };

#define T struct ad_skill_candidate
#define U SQ_UPDATE
static const struct sq_col candidate_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, source_episode_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, skill_name, SQ_TEXT, U),
    SQ_COL(T, skill_description, SQ_TEXT, U),
    SQ_COL(T, generated_code, SQ_TEXT, U),
    SQ_JSONCOL(T, failure_pattern, J_PATTERN, 0),
    SQ_ENUMCOL("validation_status", T, status, &ad__candidate_status_enum, U),
    SQ_JSONCOL(T, validation_result, J_RESULT, U),
    SQ_COL(T, fitness_score, SQ_REAL, SQ_NAN_NULL | U),
    SQ_ENUMCOL("review_status", T, review_status, &ad__review_status_enum, SQ_NULLABLE | U),
    SQ_COL(T, reviewed_by, SQ_TEXT, U),
    SQ_COL(T, reviewed_at, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, reason, SQ_TEXT, U),
    SQ_COL(T, risk_score, SQ_REAL, SQ_NAN_NULL | U),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, validated_at, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, promoted_at, SQ_FIXED, SQ_EMPTY_NULL | U),
};
#undef U
#undef T

static const struct sq_table candidate_table =
    SQ_TABLE("skill candidate", struct ad_skill_candidate, candidate_cols);

/* The agent and the episode must be the tenant's: foreign keys alone accept any tenant's. */
static const struct sq_stmt candidate_insert = {
    &candidate_table, "INSERT INTO skill_candidates ({icols}) SELECT {params}"
                      " WHERE (:agent_id IS NULL OR EXISTS (SELECT 1 FROM agents"
                      " WHERE tenant_id = :tenant_id AND id = :agent_id))"
                      " AND (:source_episode_id IS NULL OR EXISTS (SELECT 1 FROM episodes"
                      " WHERE tenant_id = :tenant_id AND id = :source_episode_id))",
};
static const struct sq_stmt candidate_update = {
    &candidate_table, "UPDATE skill_candidates SET {set} WHERE tenant_id = :tenant_id"
                      " AND id = :id",
};
static const struct sq_stmt candidate_get = {
    &candidate_table, "SELECT {cols} FROM skill_candidates WHERE tenant_id = ?1 AND id = ?2",
};

/* Why a candidate insert matched nothing: the agent or the source episode. */
static int candidate_missing(struct sqlite_store *s, const struct ad_skill_candidate *c,
                             struct ad_err *err)
{
    int rc = c->agent_id[0] ? ad__sq_exists(s, SQ_AGENT_EXISTS, c->tenant_id, c->agent_id, err)
                            : 1;

    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", c->agent_id);
    if (rc < 0)
        return rc;
    return ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", c->source_episode_id);
}

static int sqlite_candidate_insert(struct ad_store *st, const struct ad_skill_candidate *c,
                                   const char *failure_pattern, const char *validation_result,
                                   struct ad_err *err)
{
    const char *const json[] = { [J_PATTERN] = failure_pattern, [J_RESULT] = validation_result };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &candidate_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, c, json, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert skill candidate", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "skill candidate '%s' already exists", c->id);
    if (rc == AD_ENOTFOUND)    /* the one foreign key the WHERE does not check */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", c->tenant_id);
    if (rc || changed)
        return rc;
    return candidate_missing(s, c, err);
}

static int sqlite_candidate_update(struct ad_store *st, const struct ad_skill_candidate *c,
                                   const char *validation_result, struct ad_err *err)
{
    const char *const json[] = { [J_PATTERN] = NULL, [J_RESULT] = validation_result };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &candidate_update, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, c, json, err);
    if (!rc)
        return ad__sq_step_changed(s, q, "skill candidate", c->id, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_candidate_get(struct ad_store *st, const char *tenant_id, const char *id,
                                struct ad_skill_candidate *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &candidate_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get skill candidate", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill candidate '%s'", id);
    if (rc)
        ad_skill_candidate_release(out);
    return rc;
}

/*
 * The list's text: the status mask becomes an IN list of the statuses'
 * names (constants, not input), so each of the few masks in use is one
 * cached statement and the (tenant_id, validation_status) index can serve it.
 */
static char *candidate_list_sql(const struct ad_candidate_filter *f)
{
    struct sq_stmt def = { &candidate_table, NULL };
    const char *sep = " AND validation_status IN (";
    struct ad_buf b;
    char *sql = NULL;
    int rc;
    unsigned i;

    ad_buf_init(&b, 4096);
    rc = ad_buf_adds(&b, "SELECT {cols} FROM skill_candidates WHERE tenant_id = ?1");
    if (!rc && f->agent_id)
        rc = ad_buf_adds(&b, " AND agent_id = ?2");
    for (i = 0; !rc && ad_candidate_status_name((enum ad_candidate_status)i); i++) {
        if (!(f->status_mask & (1u << i)))
            continue;
        rc = ad_buf_addf(&b, "%s'%s'", sep,
                         ad_candidate_status_name((enum ad_candidate_status)i));
        sep = ", ";
    }
    if (!rc && f->status_mask)
        rc = ad_buf_addch(&b, ')');
    if (!rc && f->before_id)
        rc = ad_buf_adds(&b, " AND (created_at, id) < (?4, ?5)");
    if (!rc)
        rc = ad_buf_adds(&b, " ORDER BY created_at DESC, id DESC LIMIT ?3");
    if (!rc) {
        def.sql = b.ptr;
        sql = ad__sq_expand(&def);
    }
    ad_buf_release(&b);
    return sql;
}

static int candidate_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return ad__sq_read_row(q, &candidate_table, elem, err);
}

static int sqlite_candidate_list(struct ad_store *st, const char *tenant_id,
                                 const struct ad_candidate_filter *f,
                                 struct ad_skill_candidate **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_skill_candidate *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    char *sql = candidate_list_sql(f);
    int rc;

    if (!sql)
        return ad_error(err, AD_ENOMEM, "building the candidate query");
    rc = ad__sq_get(s, sql, &q, err);
    free(sql);
    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (f->agent_id)
        sqlite3_bind_text(q->stmt, 2, f->agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, f->limit);
    if (f->before_id) {
        sqlite3_bind_text(q->stmt, 4, f->before_created_at, -1, SQLITE_STATIC);
        sqlite3_bind_text(q->stmt, 5, f->before_id, -1, SQLITE_STATIC);
    }
    rc = ad__sq_collect(s, q, sizeof(*v), candidate_row, (void **)&v, &count,
                        "list skill candidates", err);
    if (rc) {
        ad_skill_candidate_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ix_skill_candidates_tenant_created */
static int sqlite_candidate_count_since(struct ad_store *st, const char *tenant_id,
                                        const char *since, int64_t *count, struct ad_err *err)
{
    return ad__sq_ints(ad__sq(st), "SELECT count(*) FROM skill_candidates"
                                   " WHERE tenant_id = ?1 AND created_at >= ?2",
                       tenant_id, since, count, 1, "count skill candidates", err);
}

/* ix_tool_mutations_tenant_created */
static int sqlite_mutation_count_since(struct ad_store *st, const char *tenant_id,
                                       const char *since, int64_t *count, struct ad_err *err)
{
    return ad__sq_ints(ad__sq(st), "SELECT count(*) FROM tool_mutations"
                                   " WHERE tenant_id = ?1 AND created_at >= ?2",
                       tenant_id, since, count, 1, "count mutations", err);
}

const struct ad__candidate_ops ad__sqlite_candidate_ops = {
    .insert = sqlite_candidate_insert,
    .update = sqlite_candidate_update,
    .get = sqlite_candidate_get,
    .list = sqlite_candidate_list,
    .count_since = sqlite_candidate_count_since,
    .mutation_count_since = sqlite_mutation_count_since,
};
