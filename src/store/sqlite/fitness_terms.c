/* A workspace's fitness terms in SQLite (the fitness_terms table of migration 12). */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_fitness_term
static const struct sq_col term_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, name, SQ_TEXT, 0),
    SQ_COL(T, code, SQ_TEXT, 0),
    SQ_COL(T, code_sha, SQ_FIXED, 0),
    SQ_COL(T, weight, SQ_REAL, 0),
    SQ_COL(T, enabled, SQ_BOOL, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table term_table =
    SQ_TABLE("fitness term", struct ad_fitness_term, term_cols);

static const struct sq_stmt term_insert = {
    &term_table, "INSERT INTO fitness_terms ({icols}) VALUES ({params})",
};
static const struct sq_stmt term_by_name = {
    &term_table, "SELECT {cols} FROM fitness_terms WHERE tenant_id = ?1 AND name = ?2",
};
static const struct sq_stmt term_lists[2] = {
    { &term_table, "SELECT {cols} FROM fitness_terms WHERE tenant_id = ?1"
                   " ORDER BY name LIMIT ?2" },
    { &term_table, "SELECT {cols} FROM fitness_terms WHERE tenant_id = ?1 AND enabled = 1"
                   " ORDER BY name LIMIT ?2" },
};

static int sqlite_term_insert(struct ad_store *st, const struct ad_fitness_term *t,
                              struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_prepare(s, &term_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, t, NULL, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert fitness term", &changed, err);
    if (rc == AD_EEXIST)
        return ad_error(err, AD_EEXIST, "a fitness term named '%s' already exists", t->name);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", t->tenant_id);
    return rc;
}

static int sqlite_term_get(struct ad_store *st, const char *tenant_id, const char *name,
                           struct ad_fitness_term *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &term_by_name, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, name, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get fitness term", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown fitness term '%s'", name);
    if (rc)
        ad_fitness_term_release(out);
    return rc;
}

static int sqlite_term_list(struct ad_store *st, const char *tenant_id, bool enabled_only,
                            int limit, struct ad_fitness_term **out, size_t *n,
                            struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_fitness_term *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &term_lists[enabled_only ? 1 : 0], &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 2, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list fitness terms", err);
    if (rc) {
        ad_fitness_term_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_term_del(struct ad_store *st, const char *tenant_id, const char *name,
                           struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_get(s, "DELETE FROM fitness_terms WHERE tenant_id = ?1 AND name = ?2", &q,
                        err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, name, -1, SQLITE_STATIC);
    return ad__sq_step_changed(s, q, "fitness term", name, err);
}

const struct ad__fitness_term_ops ad__sqlite_fitness_term_ops = {
    .insert = sqlite_term_insert,
    .get = sqlite_term_get,
    .list = sqlite_term_list,
    .del = sqlite_term_del,
};
