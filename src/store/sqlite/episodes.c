/*
 * Episodes and their segments in SQLite: the insert (the ingest hot path),
 * get, the filtered list and count, and reflection's recent failures.
 */
#include "compat.h"

#include "autodev/buf.h"

#include "sqlite/sqlite.h"
#include "sqlite/sqlite_int.h"

/* The JSON texts of struct ad__episode_json, in the order of aux below. */
enum { J_INPUT, J_EXPECTED, J_OUTPUT, J_TOOLS, J_CONTEXT };

#define T struct ad_episode
static const struct sq_col episode_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, agent_id, SQ_FIXED, 0),
    SQ_COL(T, task_description, SQ_TEXT, 0),
    SQ_COL(T, task_kind, SQ_TEXT, 0),
    SQ_JSONCOL(T, input, J_INPUT, 0),
    SQ_JSONCOL(T, expected, J_EXPECTED, 0),
    SQ_JSONCOL(T, output, J_OUTPUT, 0),
    SQ_COL(T, success, SQ_BOOL, 0),
    SQ_COL(T, error_trace, SQ_TEXT, 0),
    SQ_JSONCOL(T, tools_attempted, J_TOOLS, 0),
    SQ_JSONCOL(T, context, J_CONTEXT, 0),
    SQ_COL(T, intervention, SQ_BOOL, 0),
    SQ_COL(T, constitutional_score, SQ_REAL, SQ_NAN_NULL),
    SQ_COL(T, execution_seconds, SQ_REAL, 0),
    SQ_COL(T, token_usage, SQ_INT64, 0),
    SQ_COL(T, skill_version_id, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, error_type, SQ_TEXT, 0),
};
#undef T

#define T struct ad_episode_segment
static const struct sq_col segment_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, kind, SQ_TEXT, 0),
    SQ_COL(T, content, SQ_TEXT, 0),
    SQ_JSONCOL(T, metadata, 0, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

#define T struct ad_episode_brief
static const struct sq_col brief_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, task_description, SQ_TEXT, 0),
    SQ_COL(T, error_type, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table episode_table =
    SQ_TABLE("episode", struct ad_episode, episode_cols);
static const struct sq_table segment_table =
    SQ_TABLE("episode segment", struct ad_episode_segment, segment_cols);
static const struct sq_table brief_table =
    SQ_TABLE("episode", struct ad_episode_brief, brief_cols);

static const struct sq_stmt episode_insert = {
    &episode_table, "INSERT INTO episodes ({icols}) VALUES ({params})",
};
static const struct sq_stmt episode_get = {
    &episode_table, "SELECT {cols} FROM episodes WHERE tenant_id = ?1 AND id = ?2",
};
/* A segment's tenant and episode are its episode's: bound by name. */
static const struct sq_stmt segment_insert = {
    &segment_table, "INSERT INTO episode_segments ({icols}, tenant_id, episode_id)"
                    " VALUES ({params}, :tenant, :episode)",
};
static const struct sq_stmt segment_list = {
    &segment_table, "SELECT {cols} FROM episode_segments"
                    " WHERE episode_id = ?1 AND tenant_id = ?2 ORDER BY id",
};
/*
 * ix_episodes_agent_success (tenant_id, agent_id, success, id, created_at,
 * error_type): the range of the agent's failures with id >= ?3, read
 * newest first and stopped at the limit; created_at >= ?4 is the exact
 * condition (episodes.c). Hand-written column list (the brief's, in its
 * order): the description is read only where ?6 asks for it, and SQLite
 * seeks the table row only then, so a failure of another type costs an
 * index entry.
 */
static const struct sq_stmt recent_failures = {
    &brief_table, "SELECT id, CASE WHEN ?6 = 0 OR error_type IS ?7 THEN task_description END,"
                  " error_type, created_at FROM episodes WHERE tenant_id = ?1 AND agent_id = ?2"
                  " AND success = 0 AND id >= ?3 AND created_at >= ?4"
                  " ORDER BY id DESC LIMIT ?5",
};

/* ---- insert ------------------------------------------------------------- */

/*
 * The agent's counters move in the same transaction as the episode row.
 * Hand-written: it updates by expressions, not from a row.
 */
static int bump_agent(struct sqlite_store *s, const struct ad_episode *ep, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "UPDATE agents SET episode_count = episode_count + 1,"
                           " success_count = success_count + ?3,"
                           " failure_count = failure_count + 1 - ?3, updated_at = ?4"
                           " WHERE tenant_id = ?1 AND id = ?2", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, ep->tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, ep->agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, ep->success ? 1 : 0);
    sqlite3_bind_text(q->stmt, 4, ep->created_at, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "agent", ep->agent_id, err);
}

/* Binds row (and the segment's episode, for a segment) and runs the insert. */
static int insert_row(struct sqlite_store *s, const struct sq_stmt *def, const void *row,
                      const char *const *json, const struct ad_episode *of, const char *what,
                      struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, def, &q, err);

    if (rc)
        return rc;
    rc = ad__sq_bind_row(s, q, row, json, err);
    if (!rc && of) {
        ad__sq_bind_text(q->stmt, ":tenant", of->tenant_id);
        ad__sq_bind_text(q->stmt, ":episode", of->id);
    }
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        rc = rc == SQLITE_DONE ? 0 : ad__sq_fail(s, rc, what, err);
    }
    ad__sq_put(q);
    return rc;
}

static int sqlite_episode_insert(struct ad_store *st, const struct ad_episode *ep,
                                 const struct ad__episode_json *json, int *wrote,
                                 struct ad_err *err)
{
    const char *const texts[] = {
        [J_INPUT] = json->input, [J_EXPECTED] = json->expected, [J_OUTPUT] = json->output,
        [J_TOOLS] = json->tools_attempted, [J_CONTEXT] = json->context,
    };
    struct sqlite_store *s = ad__sq(st);
    size_t i;
    int rc;

    /*
     * The counter update doubles as the check that the agent is this
     * tenant's, so that expected failure comes before anything is written.
     */
    rc = bump_agent(s, ep, err);
    if (rc)
        return rc;
    *wrote = 1;
    rc = insert_row(s, &episode_insert, ep, texts, NULL, "insert episode", err);
    for (i = 0; !rc && i < ep->nsegments; i++) {
        const char *const meta[] = { json->metadata[i] };

        rc = insert_row(s, &segment_insert, &ep->segments[i], meta, ep, "insert segment", err);
    }
    return rc;
}

/* ---- get ---------------------------------------------------------------- */

/* On failure ep still owns what was loaded, for ad_episode_release. */
static int load_segments(struct sqlite_store *s, struct ad_episode *ep, struct ad_err *err)
{
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &segment_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, ep->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, ep->tenant_id, -1, SQLITE_STATIC);
    return ad__sq_collect(s, q, sizeof(*ep->segments), NULL, (void **)&ep->segments,
                          &ep->nsegments, "load segments", err);
}

static int sqlite_episode_get(struct ad_store *st, const char *tenant_id, const char *id,
                              struct ad_episode *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &episode_get, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get episode", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", id);
    if (!rc)
        rc = load_segments(s, out, err);
    if (rc)
        ad_episode_release(out);
    return rc;
}

/* ---- list and count ----------------------------------------------------- */

/*
 * The list and count queries, built from the filter. Each combination is a
 * distinct SQL text and so a distinct cached statement (a few dozen at
 * most). Every list but a skill version's runs down an index in id order,
 * without a sort:
 *   agent + success  -> ix_episodes_agent_success
 *   agent only       -> the same index, its success = 0 and success = 1
 *                       ranges merged by a UNION ALL in id order
 *   task_kind        -> ix_episodes_kind
 *   skill_version_id -> ix_episodes_skill_version, then a sort (below)
 *   neither          -> ix_episodes_tenant
 */
static int episode_where(const struct ad_episode_filter *f, const char *success, int count,
                         struct ad_buf *b)
{
    int rc = 0;

    if (f->agent_id)
        rc = ad_buf_adds(b, " AND agent_id = :a");
    if (!rc && success)
        rc = ad_buf_addf(b, " AND success = %s", success);
    if (!rc && f->task_kind)
        rc = ad_buf_adds(b, " AND task_kind = :k");
    if (!rc && f->skill_version_id)
        rc = ad_buf_adds(b, " AND skill_version_id = :v");
    if (!rc && f->before_id && !count)
        rc = ad_buf_adds(b, " AND id < :b");
    return rc;
}

/*
 * The template: {cols} is expanded from the column descriptions afterwards.
 * With a skill version the tenant's term is written +tenant_id, which no
 * index serves: the planner would otherwise walk the tenant's index in id
 * order (no sort) through every episode of the tenant looking for the few
 * of one version. ix_episodes_skill_version finds exactly those; they are
 * then sorted by id.
 */
static int episode_template(const struct ad_episode_filter *f, int count, struct ad_buf *b)
{
    const char *select = f->skill_version_id
                             ? "SELECT {cols} FROM episodes WHERE +tenant_id = :t"
                             : "SELECT {cols} FROM episodes WHERE tenant_id = :t";
    int rc;

    if (count) {
        rc = ad_buf_adds(b, f->skill_version_id
                                ? "SELECT count(*) FROM episodes WHERE +tenant_id = :t"
                                : "SELECT count(*) FROM episodes WHERE tenant_id = :t");
        return rc ? rc : episode_where(f, f->success >= 0 ? ":s" : NULL, 1, b);
    }
    rc = ad_buf_adds(b, select);
    if (f->agent_id && f->success < 0) {
        if (!rc)
            rc = episode_where(f, "0", 0, b);
        if (!rc)
            rc = ad_buf_addf(b, " UNION ALL %s", select);
        if (!rc)
            rc = episode_where(f, "1", 0, b);
    } else if (!rc) {
        rc = episode_where(f, f->success >= 0 ? ":s" : NULL, 0, b);
    }
    if (!rc)
        rc = ad_buf_adds(b, " ORDER BY id DESC LIMIT :l");
    return rc;
}

/* The SQL text of the query for f (malloc'd), or NULL out of memory. */
static char *episode_sql(const struct ad_episode_filter *f, int count)
{
    struct sq_stmt def = { &episode_table, NULL };
    struct ad_buf b;
    char *sql = NULL;

    ad_buf_init(&b, 4096);
    if (!episode_template(f, count, &b)) {
        def.sql = b.ptr;
        sql = ad__sq_expand(&def);
    }
    ad_buf_release(&b);
    return sql;
}

static void episode_bind(sqlite3_stmt *q, const char *tenant_id,
                         const struct ad_episode_filter *f)
{
    ad__sq_bind_text(q, ":t", tenant_id);
    ad__sq_bind_text(q, ":a", f->agent_id);
    ad__sq_bind_text(q, ":k", f->task_kind);
    ad__sq_bind_text(q, ":v", f->skill_version_id);
    ad__sq_bind_text(q, ":b", f->before_id);
    ad__sq_bind_int(q, ":s", f->success);
    ad__sq_bind_int(q, ":l", f->limit);
}

/* Gets the cached statement for the filter, bound and ready to step. */
static int episode_query(struct sqlite_store *s, const char *tenant_id,
                         const struct ad_episode_filter *f, int count, struct stmt_slot **out,
                         struct ad_err *err)
{
    char *sql = episode_sql(f, count);
    int rc;

    if (!sql)
        return ad_error(err, AD_ENOMEM, "building the episode query");
    rc = ad__sq_get(s, sql, out, err);
    free(sql);
    if (!rc)
        episode_bind((*out)->stmt, tenant_id, f);
    return rc;
}

/* A row of a plain statement: the text was expanded from episode_table. */
static int episode_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    return ad__sq_read_row(q, &episode_table, elem, err);
}

static int sqlite_episode_list(struct ad_store *st, const char *tenant_id,
                               const struct ad_episode_filter *f, struct ad_episode **out,
                               size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_episode *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = episode_query(s, tenant_id, f, 0, &q, err);

    if (rc)
        return rc;
    rc = ad__sq_collect(s, q, sizeof(*v), episode_row, (void **)&v, &count, "list episodes",
                        err);
    if (rc) {
        ad_episode_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_episode_count(struct ad_store *st, const char *tenant_id,
                                const struct ad_episode_filter *f, int64_t *count,
                                struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = episode_query(s, tenant_id, f, 1, &q, err);

    if (rc)
        return rc;
    rc = sqlite3_step(q->stmt);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(q->stmt, 0);
        rc = 0;
    } else {
        rc = ad__sq_fail(s, rc, "count episodes", err);
    }
    ad__sq_put(q);
    return rc;
}

/* ---- recent failures ---------------------------------------------------- */

static int sqlite_recent_failures(struct ad_store *st, const char *tenant_id,
                                  const char *agent_id, const char *since, const char *id_floor,
                                  int limit, bool only_type, const char *error_type,
                                  struct ad_episode_brief **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_episode_brief *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &recent_failures, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, agent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, id_floor, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, since, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 5, limit);
    sqlite3_bind_int(q->stmt, 6, only_type ? 1 : 0);
    if (only_type && error_type)
        sqlite3_bind_text(q->stmt, 7, error_type, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list recent failures",
                        err);
    if (rc) {
        ad_episode_brief_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

int ad__sqlite_explain_episode_list(struct ad_store *st, const char *tenant_id,
                                    const struct ad_episode_filter *f, char **plan,
                                    struct ad_err *err)
{
    struct ad_episode_filter r = *f;
    char *sql;
    int rc;

    (void)tenant_id;
    *plan = NULL;
    if (r.limit <= 0)
        r.limit = AD_LIST_DEFAULT;
    sql = episode_sql(&r, 0);
    if (!sql)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad__sq_explain(st, sql, plan, err);
    free(sql);
    return rc;
}

int ad__sqlite_explain_recent_failures(struct ad_store *st, char **plan, struct ad_err *err)
{
    char *sql = ad__sq_expand(&recent_failures);
    int rc;

    *plan = NULL;
    if (!sql)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad__sq_explain(st, sql, plan, err);
    free(sql);
    return rc;
}

const struct ad__episode_ops ad__sqlite_episode_ops = {
    .insert = sqlite_episode_insert,
    .get = sqlite_episode_get,
    .list = sqlite_episode_list,
    .count = sqlite_episode_count,
    .recent_failures = sqlite_recent_failures,
};
