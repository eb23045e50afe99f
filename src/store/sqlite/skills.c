/*
 * The skill catalog in SQLite: skills, their versions, the current
 * version, and the FTS5 search (schema.c's migration 2 has the index).
 */
#include "compat.h"

#include "sqlite/sqlite_int.h"

#define T struct ad_skill
static const struct sq_col skill_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, name, SQ_TEXT, 0),
    SQ_COL(T, description, SQ_TEXT, 0),
    SQ_COL(T, entry_function, SQ_TEXT, 0),
    SQ_JSONCOL(T, input_schema, 0, 0),
    SQ_COL(T, current_version_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_COL(T, status, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
    SQ_COL(T, updated_at, SQ_FIXED, 0),
};
#undef T

#define T struct ad_skill_version
static const struct sq_col version_cols[] = {
    SQ_COL(T, id, SQ_FIXED, 0),
    SQ_COL(T, tenant_id, SQ_FIXED, 0),
    SQ_COL(T, skill_id, SQ_FIXED, 0),
    SQ_COL(T, semver, SQ_FIXED, 0),
    SQ_COL(T, code, SQ_TEXT, 0),
    SQ_COL(T, parent_version_id, SQ_FIXED, SQ_EMPTY_NULL),
    SQ_ENUMCOL("origin", T, origin, &ad__origin_enum, 0),
    SQ_COL(T, origin_id, SQ_TEXT, 0),
    SQ_COL(T, created_at, SQ_FIXED, 0),
};
#undef T

static const struct sq_table skill_table = SQ_TABLE("skill", struct ad_skill, skill_cols);
static const struct sq_table version_table =
    SQ_TABLE("skill version", struct ad_skill_version, version_cols);

static const struct sq_stmt skill_insert = {
    &skill_table, "INSERT INTO skills ({icols}) VALUES ({params})",
};
/* A NULL status keeps the stored one: not a plain {set}. */
static const struct sq_stmt skill_update = {
    &skill_table, "UPDATE skills SET description = :description,"
                  " entry_function = :entry_function, input_schema = :input_schema,"
                  " status = coalesce(:status, status), updated_at = :updated_at"
                  " WHERE tenant_id = :tenant_id AND id = :id",
};
static const struct sq_stmt skill_by_id = {
    &skill_table, "SELECT {cols} FROM skills WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt skill_by_name = {
    &skill_table, "SELECT {cols} FROM skills WHERE tenant_id = ?1 AND name = ?2",
};
static const struct sq_stmt skill_list = {
    &skill_table, "SELECT {cols} FROM skills WHERE tenant_id = ?1 AND name > ?2"
                  " ORDER BY name LIMIT ?3",
};
/*
 * The FTS5 index drives the join (MATCH), each hit is one rowid lookup in
 * skills. A name match weighs 4x a description match; ties go by name so
 * the order is stable. bm25 comes after the skill's columns.
 */
static const struct sq_stmt skill_search = {
    &skill_table, "SELECT {k.cols}, bm25(skills_fts, 4.0, 1.0) AS r"
                  " FROM skills_fts JOIN skills AS k ON k.rowid = skills_fts.rowid"
                  " WHERE skills_fts MATCH ?2 AND k.tenant_id = ?1"
                  " AND k.status = 'active' ORDER BY r, k.name LIMIT ?3",
};
/*
 * One statement inserts the version only if the skill, and the parent when
 * given, are the tenant's and the parent belongs to that skill: foreign
 * keys alone would accept another tenant's skill, or another skill's version.
 */
static const struct sq_stmt version_insert = {
    &version_table, "INSERT INTO skill_versions ({icols}) SELECT {params}"
                    " WHERE EXISTS (SELECT 1 FROM skills"
                    " WHERE tenant_id = :tenant_id AND id = :skill_id)"
                    " AND (:parent_version_id IS NULL OR EXISTS (SELECT 1 FROM skill_versions"
                    " WHERE tenant_id = :tenant_id AND id = :parent_version_id"
                    " AND skill_id = :skill_id))",
};
static const struct sq_stmt version_by_id = {
    &version_table, "SELECT {cols} FROM skill_versions WHERE tenant_id = ?1 AND id = ?2",
};
static const struct sq_stmt version_by_semver = {
    &version_table, "SELECT {cols} FROM skill_versions"
                    " WHERE tenant_id = ?1 AND skill_id = ?2 AND semver = ?3",
};
static const struct sq_stmt version_list = {
    &version_table, "SELECT {cols} FROM skill_versions WHERE tenant_id = ?1 AND skill_id = ?2"
                    " ORDER BY id",
};
/*
 * A version and its ancestors up parent_version_id, each step a
 * primary-key lookup; the depth bound ends even a cycle a hand-edited file
 * could hold (the store cannot make one: a parent exists before its child).
 */
static const struct sq_stmt version_ancestry = {
    &version_table, "WITH RECURSIVE chain(id, depth) AS ("
                    " SELECT id, 0 FROM skill_versions WHERE tenant_id = ?1 AND id = ?2"
                    " UNION ALL SELECT v.parent_version_id, c.depth + 1 FROM chain AS c"
                    " JOIN skill_versions AS v ON v.id = c.id"
                    " WHERE v.tenant_id = ?1 AND v.parent_version_id IS NOT NULL"
                    " AND c.depth + 1 < ?3)"
                    " SELECT {k.cols} FROM chain AS c JOIN skill_versions AS k ON k.id = c.id"
                    " WHERE k.tenant_id = ?1 ORDER BY c.depth",
};

#define SKILL_EXISTS "SELECT 1 FROM skills WHERE tenant_id = ?1 AND id = ?2"

/* ---- skills ------------------------------------------------------------- */

static int sqlite_skill_insert(struct ad_store *st, const struct ad_skill *sk, const char *schema,
                               struct ad_err *err)
{
    const char *const json[] = { schema };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &skill_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, sk, json, err);
    if (!rc) {
        rc = sqlite3_step(q->stmt);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if (ad__sq_code(rc) == AD_EEXIST)
            rc = ad_error(err, AD_EEXIST, "skill '%s' already exists", sk->name);
        else if (ad__sq_code(rc) == AD_ENOTFOUND)
            rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", sk->tenant_id);
        else
            rc = ad__sq_fail(s, rc, "insert skill", err);
    }
    ad__sq_put(q);
    return rc;
}

/* The skill's name for a message, or its id when it cannot be read. */
static void skill_label(struct sqlite_store *s, const char *tenant_id, const char *id,
                        char *out, size_t size)
{
    struct stmt_slot *q = NULL;
    struct ad_err ignored = AD_ERR_INIT;

    ad__copy_fixed(out, size, id);
    if (ad__sq_get(s, "SELECT name FROM skills WHERE tenant_id = ?1 AND id = ?2", &q, &ignored))
        return;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q->stmt) == SQLITE_ROW && sqlite3_column_text(q->stmt, 0))
        ad__copy_fixed(out, size, (const char *)sqlite3_column_text(q->stmt, 0));
    ad__sq_put(q);
}

/* Why a version insert or set_current matched nothing: the skill, else the version. */
static int skill_or_version_missing(struct sqlite_store *s, const char *tenant_id,
                                    const char *skill_id, const char *version_id,
                                    struct ad_err *err)
{
    char label[AD_NAME_MAX + 1];
    int rc = ad__sq_exists(s, SKILL_EXISTS, tenant_id, skill_id, err);

    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", skill_id);
    skill_label(s, tenant_id, skill_id, label, sizeof(label));
    return ad_error(err, AD_ENOTFOUND, "'%s' is not a version of skill '%s'", version_id, label);
}

static int sqlite_skill_version_insert(struct ad_store *st, const struct ad_skill_version *v,
                                       struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    char label[AD_NAME_MAX + 1];
    int changed;
    int rc = ad__sq_prepare(s, &version_insert, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, v, NULL, err);
    if (rc) {
        ad__sq_put(q);
        return rc;
    }
    rc = ad__sq_step_cond(s, q, "insert skill version", &changed, err);
    if (rc == AD_EEXIST) {
        skill_label(s, v->tenant_id, v->skill_id, label, sizeof(label));
        return ad_error(err, AD_EEXIST, "skill '%s' already has version %s", label, v->semver);
    }
    if (rc || changed)
        return rc;
    return skill_or_version_missing(s, v->tenant_id, v->skill_id, v->parent_version_id, err);
}

/* Hand-written: it moves a pointer between two rows, writing back no struct. */
static int sqlite_skill_set_current(struct ad_store *st, const char *tenant_id,
                                    const char *skill_id, const char *version_id,
                                    const char *now, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int changed;
    int rc = ad__sq_get(s, "UPDATE skills SET current_version_id = ?3, updated_at = ?4"
                           " WHERE tenant_id = ?1 AND id = ?2 AND EXISTS (SELECT 1"
                           " FROM skill_versions WHERE tenant_id = ?1 AND id = ?3"
                           " AND skill_id = ?2)", &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, skill_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 3, version_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 4, now, -1, SQLITE_STATIC);
    rc = ad__sq_step_cond(s, q, "set current version", &changed, err);
    if (rc || changed)
        return rc;
    return skill_or_version_missing(s, tenant_id, skill_id, version_id, err);
}

static int sqlite_skill_update(struct ad_store *st, const struct ad_skill *sk, const char *schema,
                               struct ad_err *err)
{
    const char *const json[] = { schema };
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &skill_update, &q, err);

    if (!rc)
        rc = ad__sq_bind_row(s, q, sk, json, err);
    if (!rc)
        return ad__sq_step_changed(s, q, "skill", sk->id, err);
    ad__sq_put(q);
    return rc;
}

static int sqlite_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                            const char *name, struct ad_skill *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, id ? &skill_by_id : &skill_by_name, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id ? id : name, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get skill", err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", id ? id : name);
    if (rc)
        ad_skill_release(out);
    return rc;
}

static int sqlite_skill_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                             int limit, struct ad_skill **out, size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_skill *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &skill_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, after_name ? after_name : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list skills", err);
    if (rc) {
        ad_skill_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- versions ----------------------------------------------------------- */

static int sqlite_skill_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                                    const char *skill_id, const char *semver,
                                    struct ad_skill_version *out, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, id ? &version_by_id : &version_by_semver, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, id ? id : skill_id, -1, SQLITE_STATIC);
    if (!id)
        sqlite3_bind_text(q->stmt, 3, semver, -1, SQLITE_STATIC);
    rc = ad__sq_step_one(s, q, NULL, out, "get skill version", err);
    if (rc == AD_ENOTFOUND && id)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", id);
    else if (rc == AD_ENOTFOUND)
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' has no version %s", skill_id, semver);
    if (rc)
        ad_skill_version_release(out);
    return rc;
}

/* A skill always has a version, so an empty list asks whether the skill exists. */
static int sqlite_skill_version_list(struct ad_store *st, const char *tenant_id,
                                     const char *skill_id, struct ad_skill_version **out,
                                     size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_skill_version *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &version_list, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, skill_id, -1, SQLITE_STATIC);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "list skill versions",
                        err);
    if (!rc && count == 0) {
        rc = ad__sq_exists(s, SKILL_EXISTS, tenant_id, skill_id, err);
        rc = rc == 0 ? ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", skill_id)
                     : rc < 0 ? rc : 0;
    }
    if (rc) {
        ad_skill_version_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int sqlite_skill_version_ancestry(struct ad_store *st, const char *tenant_id,
                                         const char *version_id, struct ad_skill_version **out,
                                         size_t *n, struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_skill_version *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &version_ancestry, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, version_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, AD_LINEAGE_MAX);
    rc = ad__sq_collect(s, q, sizeof(*v), NULL, (void **)&v, &count, "skill version ancestry",
                        err);
    if (!rc && count == 0)
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", version_id);
    if (rc) {
        ad_skill_version_list_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- search ------------------------------------------------------------- */

static int hit_row(sqlite3_stmt *q, void *elem, struct ad_err *err)
{
    struct ad_skill_hit *h = elem;

    /* bm25() is negative, better matches more so. */
    h->score = -sqlite3_column_double(q, (int)skill_table.ncols);
    return ad__sq_read_row(q, &skill_table, &h->skill, err);
}

static int sqlite_skill_search(struct ad_store *st, const char *tenant_id, const char *match,
                               int limit, struct ad_skill_hit **out, size_t *n,
                               struct ad_err *err)
{
    struct sqlite_store *s = ad__sq(st);
    struct ad_skill_hit *v = NULL;
    size_t count = 0;
    struct stmt_slot *q = NULL;
    int rc = ad__sq_prepare(s, &skill_search, &q, err);

    if (rc)
        return rc;
    sqlite3_bind_text(q->stmt, 1, tenant_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->stmt, 2, match, -1, SQLITE_STATIC);
    sqlite3_bind_int(q->stmt, 3, limit);
    rc = ad__sq_collect(s, q, sizeof(*v), hit_row, (void **)&v, &count, "search skills", err);
    if (rc) {
        ad_skill_hits_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__skill_ops ad__sqlite_skill_ops = {
    .insert = sqlite_skill_insert,
    .version_insert = sqlite_skill_version_insert,
    .set_current = sqlite_skill_set_current,
    .update = sqlite_skill_update,
    .get = sqlite_skill_get,
    .list = sqlite_skill_list,
    .version_get = sqlite_skill_version_get,
    .version_list = sqlite_skill_version_list,
    .version_ancestry = sqlite_skill_version_ancestry,
    .search = sqlite_skill_search,
};
