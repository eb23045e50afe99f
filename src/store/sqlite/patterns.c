/* Failure patterns in SQLite (migration 3 has the table and its indexes). */
#include "compat.h"

#include "autodev/buf.h"

#include "sqlite/sqlite.h"
#include "sqlite/sqlite_int.h"

enum { J_EPISODES, J_OUTCOME };

#define T struct ad_failure_pattern
#define U SQ_UPDATE
static const struct sq_col pattern_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, 0),
    SQ_COL(T, task, SQ_TEXT, 0),
    SQ_COL(T, error_type, SQ_TEXT, 0),
    SQ_ENUMCOL("status", T, status, &ad__pattern_status_enum, U),
    SQ_COL(T, job_id, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_COL(T, candidate_id, SQ_FIXED, SQ_EMPTY_NULL | U),
    SQ_JSONCOL(T, episode_ids, J_EPISODES, U | SQ_HEAVY),
    SQ_JSONCOL(T, outcome, J_OUTCOME, U | SQ_HEAVY),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, U),
};
#undef U
#undef T

static const struct sq_table pattern_table =
    SQ_TABLE("failure pattern", struct ad_failure_pattern, pattern_cols);

/* The agent, and the candidate when set, must be the tenant's. */
static const struct sq_stmt pattern_insert = {
    &pattern_table, "INSERT INTO failure_patterns ({icols}) SELECT {params}"
                    " WHERE EXISTS (SELECT 1 FROM agents"
                    " WHERE tenant_id = :tenant_id AND id = :agent_id)"
                    " AND (:candidate_id IS NULL OR EXISTS (SELECT 1 FROM skill_candidates"
                    " WHERE tenant_id = :tenant_id AND id = :candidate_id))",
};
static const struct sq_stmt pattern_update = {
    &pattern_table, "UPDATE failure_patterns SET {set} WHERE tenant_id = :tenant_id"
                    " AND id = :id AND (:candidate_id IS NULL OR EXISTS (SELECT 1"
                    " FROM skill_candidates WHERE tenant_id = :tenant_id AND id = :candidate_id))",
};
static const struct sq_stmt pattern_get = {
    &pattern_table, "SELECT {cols} FROM failure_patterns WHERE tenant_id = ?1 AND id = ?2",
};

/* Binds p with its two JSON texts and runs the conditional write. */
static int write_pattern(struct sqlite_store *s, const struct sq_stmt *def,
                         const struct ad_failure_pattern *p, const char *episode_ids,
                         const char *outcome, int *changed, const char *what,
                         struct ad_err *err)
{
    const char *const json[] = { [J_EPISODES] = episode_ids, [J_OUTCOME] = outcome };
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, def, &q, err);

    *changed = 0;
    if (!rc)
        rc = ad__sq_bind_row(s, q, p, json, err);
    if (!rc)
        return ad__sq_step_cond(s, q, what, changed, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_pattern_insert(struct ad_store *st, const struct ad_failure_pattern *p,
                                 const char *episode_ids, const char *outcome,
                                 struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int changed;
    int rc = write_pattern(s, &pattern_insert, p, episode_ids, outcome, &changed,
                           "insert failure pattern", err);

    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "failure pattern '%s' already exists", p->id);
    if (rc == AD_ENOTFOUND)    /* the one foreign key the WHERE does not check */
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", p->tenant_id);
    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, SQ_AGENT_EXISTS, p->tenant_id, p->agent_id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", p->agent_id);
    return rc < 0 ? rc
                  : ad_error(err, AD_ENOTFOUND, "unknown skill candidate '%s'", p->candidate_id);
}

static int sqlite_pattern_update(struct ad_store *st, const struct ad_failure_pattern *p,
                                 const char *episode_ids, const char *outcome,
                                 struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    int changed;
    int rc = write_pattern(s, &pattern_update, p, episode_ids, outcome, &changed,
                           "update failure pattern", err);

    if (rc || changed)
        return rc;
    rc = ad__sq_exists(s, "SELECT 1 FROM failure_patterns WHERE tenant_id = ?1 AND id = ?2",
                       p->tenant_id, p->id, err);
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown failure pattern '%s'", p->id);
    return rc < 0 ? rc
                  : ad_error(err, AD_ENOTFOUND, "unknown skill candidate '%s'", p->candidate_id);
}

static int sqlite_pattern_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_failure_pattern *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &pattern_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get failure pattern", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown failure pattern '%s'", id);
    if (rc)
        ad_failure_pattern_release(out);
    return rc;
}

/*
 * The list's text, like the candidates': the status mask becomes an IN
 * list of constant names. With an agent it runs down
 * ix_failure_patterns_agent, without one down ix_failure_patterns_tenant;
 * a mask of several statuses with an agent sorts what it found (a few rows:
 * an agent has few patterns).
 */
static char *pattern_list_sql(const struct ad_pattern_filter *f)
{
    struct sq_stmt def = { &pattern_table, NULL };
    const char *sep = " AND status IN (";
    struct ad_buf b;
    char *sql = NULL;
    int rc;
    unsigned i;

    ad_buf_init(&b, 4096);
    rc = ad_buf_adds(&b, f->light ? "SELECT {light} FROM failure_patterns WHERE tenant_id = ?1"
                                  : "SELECT {cols} FROM failure_patterns WHERE tenant_id = ?1");
    if (!rc && f->agent_id)
        rc = ad_buf_adds(&b, " AND agent_id = ?2");
    if (!rc && f->by_error_type)
        rc = ad_buf_adds(&b, " AND error_type IS ?4");
    for (i = 0; !rc && ad_pattern_status_name((enum ad_pattern_status)i); i++) {
        if (!(f->status_mask & (1u << i)))
            continue;
        rc = ad_buf_addf(&b, "%s'%s'", sep, ad_pattern_status_name((enum ad_pattern_status)i));
        sep = ", ";
    }
    if (!rc && f->status_mask)
        rc = ad_buf_addch(&b, ')');
    if (!rc)
        rc = ad_buf_adds(&b, " ORDER BY updated_at DESC, id DESC LIMIT ?3");
    if (!rc) {
        def.sql = b.ptr;
        sql = ad__sq_expand(&def);
    }
    ad_buf_release(&b);
    return sql;
}

/* Three statuses: the mask takes three bits of the key below. */
_Static_assert(AD_PATTERN_CLOSED == 2, "a fourth pattern status needs a wider key");

/* The connection's copy of the text for f's shape (made once); NULL on ENOMEM. */
static const char *pattern_list_text(struct sqlite_store *s, const struct ad_pattern_filter *f)
{
    unsigned key = (f->agent_id ? 1u : 0u) | (f->by_error_type ? 2u : 0u) |
                   (f->light ? 4u : 0u) | (f->status_mask & 7u) << 3;

    if (!s->pattern_lists[key])
        s->pattern_lists[key] = pattern_list_sql(f);
    return s->pattern_lists[key];
}

static int pattern_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return ad__sq_read_row(q, &pattern_table, elem, err);
}

static int sqlite_pattern_list(struct ad_store *st, const char *tenant_id,
                               const struct ad_pattern_filter *f,
                               struct ad_failure_pattern **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_failure_pattern *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    const char *sql = pattern_list_text(s, f);
    int rc;

    if (!sql)
        return ad_error(err, AD_ENOMEM, "building the pattern query");
    rc = ad__sq_get(s, sql, &q, err);
    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    if (f->agent_id)
        sqlite3_bind_text(q->stmt, 2, f->agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, f->limit);
    if (f->by_error_type && f->error_type)
        sqlite3_bind_text(q->stmt, 4, f->error_type, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), pattern_row, (void **)&v, &count,
                        "list failure patterns", err);
    if (rc) {
        ad_failure_pattern_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

int ad__sqlite_explain_pattern_list(struct ad_store *st, const struct ad_pattern_filter *f,
                                    char **plan, struct ad_err *err)
{
    char *sql = pattern_list_sql(f);
    int rc;

    *plan = NULL;
    if (!sql)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad__sq_explain(st, sql, plan, err);
    free(sql);
    return rc;
}

const struct ad__pattern_ops ad__sqlite_pattern_ops = {
    .insert = sqlite_pattern_insert,
    .update = sqlite_pattern_update,
    .get = sqlite_pattern_get,
    .list = sqlite_pattern_list,
};
