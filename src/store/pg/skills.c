/*
 * The skill catalog on PostgreSQL: skills, their versions, the current
 * version, and the search. SQLite's FTS5 index is here schema.c's GIN
 * index over to_tsvector('english', name with '_' as spaces, description);
 * the search statement repeats that expression so the index serves it, and
 * ranks with ts_rank over the name weighted 4x the description (weights A
 * and D), as SQLite's bm25(4.0, 1.0) does. Writes that a reference or a
 * taken key refuses are written to change no row rather than fail, which
 * would abort the caller's transaction (conn.c).
 */
#include "compat.h"

#include "autodev/buf.h"

#include "pg/rowmap.h"

#define T struct ad_skill
static const struct pgm_col skill_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, name, PGM_TEXT, 0),
    PGM_COL(T, description, PGM_TEXT, 0),
    PGM_COL(T, entry_function, PGM_TEXT, 0),
    PGM_JSONCOL(T, input_schema, 0),
    PGM_COL(T, current_version_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_COL(T, status, PGM_TEXT, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
    PGM_COL(T, updated_at, PGM_FIXED, 0),
};
#undef T

#define T struct ad_skill_version
static const struct pgm_col version_cols[] = {
    PGM_COL(T, id, PGM_FIXED, 0),
    PGM_COL(T, tenant_id, PGM_FIXED, 0),
    PGM_COL(T, skill_id, PGM_FIXED, 0),
    PGM_COL(T, semver, PGM_FIXED, 0),
    PGM_COL(T, code, PGM_TEXT, 0),
    PGM_COL(T, parent_version_id, PGM_FIXED, PGM_EMPTY_NULL),
    PGM_ENUMCOL(T, origin, &ad__origin_enum, 0),
    PGM_COL(T, origin_id, PGM_TEXT, 0),
    PGM_COL(T, created_at, PGM_FIXED, 0),
};
#undef T

static const struct pgm_table skill_table = PGM_TABLE("skill", skill_cols);
static const struct pgm_table version_table = PGM_TABLE("skill version", version_cols);

#define SKILL_COLS                                                                  \
    "id, tenant_id, name, description, entry_function, input_schema,"               \
    " current_version_id, status, ad_ts(created_at), ad_ts(updated_at)"
#define K_COLS                                                                      \
    "k.id, k.tenant_id, k.name, k.description, k.entry_function, k.input_schema,"   \
    " k.current_version_id, k.status, ad_ts(k.created_at), ad_ts(k.updated_at)"
#define VERSION_COLS                                                                \
    "id, tenant_id, skill_id, semver, code, parent_version_id, origin, origin_id,"  \
    " ad_ts(created_at)"
#define V_COLS                                                                      \
    "k.id, k.tenant_id, k.skill_id, k.semver, k.code, k.parent_version_id, k.origin," \
    " k.origin_id, ad_ts(k.created_at)"

static void skill_init(void *e)
{
    memset(e, 0, sizeof(struct ad_skill));
}

static void skill_release(void *e)
{
    ad_skill_release(e);
}

static void version_init(void *e)
{
    memset(e, 0, sizeof(struct ad_skill_version));
}

static void version_release(void *e)
{
    ad_skill_version_release(e);
}

static const struct pgm_elem skill_elem = { sizeof(struct ad_skill), skill_init, skill_release };
static const struct pgm_elem version_elem = {
    sizeof(struct ad_skill_version), version_init, version_release,
};

static const char q_tenant_exists[] = "SELECT 1 FROM tenants WHERE id = $1 AND $2::text IS NULL";
static const char q_skill_exists[] = "SELECT 1 FROM skills WHERE tenant_id = $1 AND id = $2";

/* ---- skills ------------------------------------------------------------- */

static const char q_insert[] =
    "INSERT INTO skills (id, tenant_id, name, description, entry_function, input_schema,"
    " current_version_id, status, created_at, updated_at)"
    " SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::timestamptz, $10::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2) ON CONFLICT DO NOTHING";

static int pg_skill_insert(struct ad_store *st, const struct ad_skill *sk, const char *schema,
                           struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *json[] = { schema };
    const char *p[10];
    pgm_buf b[10];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&skill_table, sk, json, b, p);
    rc = ad__pg_run(s, sk->tenant_id, q_insert, 10, p, &r, "insert skill", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pgm_exists(s, q_tenant_exists, sk->tenant_id, NULL, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", sk->tenant_id);
    return ad_error(err, AD_EEXIST, "skill '%s' already exists", sk->name);
}

/* The skill's name for a message, or its id when it cannot be read. */
static void skill_label(struct pg_store *s, const char *tenant_id, const char *id, char *out,
                        size_t size)
{
    static const char q[] = "SELECT name FROM skills WHERE tenant_id = $1 AND id = $2";
    const char *p[] = { tenant_id, id };
    struct ad_err ignored = AD_ERR_INIT;
    PGresult *r = NULL;

    ad__copy_fixed(out, size, id);
    if (!ad__pg_run(s, tenant_id, q, 2, p, &r, "skill name", &ignored) && PQntuples(r) == 1)
        ad__copy_fixed(out, size, ad__pg_text(r, 0, 0));
    PQclear(r);
}

/* Why a version insert or set_current matched nothing: the skill, else the version. */
static int skill_or_version_missing(struct pg_store *s, const char *tenant_id,
                                    const char *skill_id, const char *version_id,
                                    struct ad_err *err)
{
    char label[AD_NAME_MAX + 1];
    int rc = ad__pgm_exists(s, q_skill_exists, tenant_id, skill_id, err);

    if (rc < 0)
        return rc;
    if (rc == 0)
        return ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", skill_id);
    skill_label(s, tenant_id, skill_id, label, sizeof(label));
    return ad_error(err, AD_ENOTFOUND, "'%s' is not a version of skill '%s'", version_id, label);
}

/*
 * The version goes in only if the skill, and the parent when given, are the
 * tenant's and the parent is that skill's; a taken semver changes nothing
 * either, told apart afterwards.
 */
static const char q_version_insert[] =
    "INSERT INTO skill_versions (id, tenant_id, skill_id, semver, code, parent_version_id,"
    " origin, origin_id, created_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz"
    " WHERE EXISTS (SELECT 1 FROM skills WHERE tenant_id = $2 AND id = $3)"
    " AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM skill_versions"
    " WHERE tenant_id = $2 AND id = $6 AND skill_id = $3)) ON CONFLICT DO NOTHING";
static const char q_semver_taken[] =
    "SELECT 1 FROM skill_versions WHERE tenant_id = $1 AND skill_id = $2 AND semver = $3";

static int pg_skill_version_insert(struct ad_store *st, const struct ad_skill_version *v,
                                   struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[9];
    pgm_buf b[9];
    const char *w[] = { v->tenant_id, v->skill_id, v->semver };
    char label[AD_NAME_MAX + 1];
    PGresult *r = NULL;
    int rc;

    ad__pgm_params(&version_table, v, NULL, b, p);
    rc = ad__pg_run(s, v->tenant_id, q_version_insert, 9, p, &r, "insert skill version", err);
    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, v->tenant_id, q_semver_taken, 3, w, &r, "insert skill version", err);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        PQclear(r);
        skill_label(s, v->tenant_id, v->skill_id, label, sizeof(label));
        return ad_error(err, AD_EEXIST, "skill '%s' already has version %s", label, v->semver);
    }
    PQclear(r);
    if (!v->parent_version_id[0] && ad__pgm_exists(s, q_skill_exists, v->tenant_id,
                                                   v->skill_id, err) == 1)
        return ad_error(err, AD_EEXIST, "skill version '%s' already exists", v->id);
    return skill_or_version_missing(s, v->tenant_id, v->skill_id, v->parent_version_id, err);
}

static const char q_set_current[] =
    "UPDATE skills SET current_version_id = $3, updated_at = $4"
    " WHERE tenant_id = $1 AND id = $2 AND EXISTS (SELECT 1"
    " FROM skill_versions WHERE tenant_id = $1 AND id = $3 AND skill_id = $2)";

static int pg_skill_set_current(struct ad_store *st, const char *tenant_id, const char *skill_id,
                                const char *version_id, const char *now, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { tenant_id, skill_id, version_id, now };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, tenant_id, q_set_current, 4, p, &r, "set current version", err);

    if (rc || !ad__pgm_none(r)) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return skill_or_version_missing(s, tenant_id, skill_id, version_id, err);
}

/* A NULL status keeps the stored one. */
static const char q_update[] =
    "UPDATE skills SET description = $3, entry_function = $4, input_schema = $5,"
    " status = coalesce($6, status), updated_at = $7 WHERE tenant_id = $1 AND id = $2";

static int pg_skill_update(struct ad_store *st, const struct ad_skill *sk, const char *schema,
                           struct ad_err *err)
{
    const char *p[] = {
        sk->tenant_id, sk->id, sk->description, sk->entry_function, schema, sk->status,
        sk->updated_at,
    };

    return ad__pg_run_one(ad__pg(st), sk->tenant_id, q_update, 7, p, NULL, "skill", sk->id,
                          err);
}

static const char q_by_id[] = "SELECT " SKILL_COLS " FROM skills WHERE tenant_id = $1 AND id = $2";
static const char q_by_name[] =
    "SELECT " SKILL_COLS " FROM skills WHERE tenant_id = $1 AND name = $2";

static int pg_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *name, struct ad_skill *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id ? id : name };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, id ? q_by_id : q_by_name, 2, p, &r, "skill",
                            p[1], err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &skill_table, out, err);
    PQclear(r);
    if (rc)
        ad_skill_release(out);
    return rc;
}

static const char q_list[] =
    "SELECT " SKILL_COLS " FROM skills WHERE tenant_id = $1"
    " AND name COLLATE \"C\" > $2 ORDER BY name COLLATE \"C\" LIMIT $3";

static int pg_skill_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                         int limit, struct ad_skill **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, after_name ? after_name : "", ad__pg_i64_text(limit, b) };

    return ad__pgm_list(ad__pg(st), tenant_id, q_list, 3, p, &skill_table, &skill_elem,
                        (void **)out, n, "list skills", err);
}

/* ---- versions ----------------------------------------------------------- */

static const char q_version_by_id[] =
    "SELECT " VERSION_COLS " FROM skill_versions WHERE tenant_id = $1 AND id = $2";
static const char q_version_by_semver[] =
    "SELECT " VERSION_COLS " FROM skill_versions"
    " WHERE tenant_id = $1 AND skill_id = $2 AND semver = $3";

static int pg_skill_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                                const char *skill_id, const char *semver,
                                struct ad_skill_version *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id ? id : skill_id, semver };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, id ? q_version_by_id : q_version_by_semver,
                        id ? 2 : 3, p, &r, "get skill version", err);

    memset(out, 0, sizeof(*out));
    if (!rc && PQntuples(r) == 0)
        rc = id ? ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", id)
                : ad_error(err, AD_ENOTFOUND, "skill '%s' has no version %s", skill_id, semver);
    if (!rc)
        rc = ad__pgm_read(r, 0, 0, &version_table, out, err);
    PQclear(r);
    if (rc)
        ad_skill_version_release(out);
    return rc;
}

static const char q_version_list[] =
    "SELECT " VERSION_COLS " FROM skill_versions WHERE tenant_id = $1 AND skill_id = $2"
    " ORDER BY id";

/* A skill always has a version, so an empty list asks whether the skill exists. */
static int pg_skill_version_list(struct ad_store *st, const char *tenant_id,
                                 const char *skill_id, struct ad_skill_version **out, size_t *n,
                                 struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { tenant_id, skill_id };
    int rc = ad__pgm_list(s, tenant_id, q_version_list, 2, p, &version_table, &version_elem,
                          (void **)out, n, "list skill versions", err);

    if (rc || *n > 0)
        return rc;
    rc = ad__pgm_exists(s, q_skill_exists, tenant_id, skill_id, err);
    if (rc == 1)
        return 0;
    free(*out);
    *out = NULL;
    return rc < 0 ? rc : ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", skill_id);
}

/*
 * A version and its ancestors up parent_version_id, each step a
 * primary-key lookup; the depth bound ends even a cycle.
 */
static const char q_ancestry[] =
    "WITH RECURSIVE chain(id, depth) AS ("
    " SELECT id, 0 FROM skill_versions WHERE tenant_id = $1 AND id = $2"
    " UNION ALL SELECT v.parent_version_id, c.depth + 1 FROM chain AS c"
    " JOIN skill_versions AS v ON v.id = c.id"
    " WHERE v.tenant_id = $1 AND v.parent_version_id IS NOT NULL AND c.depth + 1 < $3::int)"
    " SELECT " V_COLS " FROM chain AS c JOIN skill_versions AS k ON k.id = c.id"
    " WHERE k.tenant_id = $1 ORDER BY c.depth";

static int pg_skill_version_ancestry(struct ad_store *st, const char *tenant_id,
                                     const char *version_id, struct ad_skill_version **out,
                                     size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, version_id, ad__pg_i64_text(AD_LINEAGE_MAX, b) };
    int rc = ad__pgm_list(ad__pg(st), tenant_id, q_ancestry, 3, p, &version_table,
                          &version_elem, (void **)out, n, "skill version ancestry", err);

    if (!rc && *n == 0) {
        free(*out);
        *out = NULL;
        rc = ad_error(err, AD_ENOTFOUND, "unknown skill version '%s'", version_id);
    }
    return rc;
}

/* ---- search ------------------------------------------------------------- */

/*
 * The words of the public layer's expression ("w1" OR "w2": words of
 * letters, digits and non-ASCII bytes, never a quote) as a to_tsquery text
 * of quoted lexemes OR-ed, 'w1' | 'w2', which the english configuration
 * stems like the index and which holds no operator of the query's own.
 */
static int tsquery_text(const char *match, struct ad_buf *out)
{
    const char *p = match;
    int rc = 0, words = 0;

    while (!rc && (p = strchr(p, '"')) != NULL) {
        const char *end = strchr(p + 1, '"');

        if (!end)
            break;
        if (end > p + 1) {
            rc = ad_buf_adds(out, words++ ? " | '" : "'");
            if (!rc)
                rc = ad_buf_add(out, p + 1, (size_t)(end - p - 1));
            if (!rc)
                rc = ad_buf_addch(out, '\'');
        }
        p = end + 1;
    }
    if (!rc && !words)
        rc = ad_buf_adds(out, "''");
    return rc;
}

static const char q_search[] =
    "SELECT " K_COLS ", ts_rank('{0.25, 0.25, 0.25, 1.0}',"
    " setweight(to_tsvector('english', replace(k.name, '_', ' ')), 'A')"
    " || setweight(to_tsvector('english', k.description), 'D'), q) AS r"
    " FROM skills AS k, to_tsquery('english', $2) AS q"
    " WHERE to_tsvector('english', replace(k.name, '_', ' ') || ' ' || k.description) @@ q"
    " AND k.tenant_id = $1 AND k.status = 'active'"
    " ORDER BY r DESC, k.name COLLATE \"C\" LIMIT $3";

static void hit_init(void *e)
{
    memset(e, 0, sizeof(struct ad_skill_hit));
}

static void hit_release(void *e)
{
    ad_skill_release(&((struct ad_skill_hit *)e)->skill);
}

static int hit_row(const PGresult *res, int r, void *elem, struct ad_err *err)
{
    struct ad_skill_hit *h = elem;

    h->score = ad__pg_double(res, r, skill_table.ncols);
    return ad__pgm_read(res, r, 0, &skill_table, &h->skill, err);
}

static int pg_skill_search(struct ad_store *st, const char *tenant_id, const char *match,
                           int limit, struct ad_skill_hit **out, size_t *n, struct ad_err *err)
{
    static const struct pgm_elem hit_elem = { sizeof(struct ad_skill_hit), hit_init,
                                              hit_release };
    struct ad_buf q = AD_BUF_INIT;
    char b[24];
    PGresult *r = NULL;
    int rc = tsquery_text(match, &q);

    if (rc) {
        ad_buf_release(&q);
        return ad_error(err, rc, "building the search expression");
    }
    {
        const char *p[] = { tenant_id, q.ptr, ad__pg_i64_text(limit, b) };

        rc = ad__pg_run(ad__pg(st), tenant_id, q_search, 3, p, &r, "search skills", err);
    }
    ad_buf_release(&q);
    if (!rc)
        rc = ad__pgm_collect(r, &skill_table, &hit_elem, hit_row, (void **)out, n, err);
    PQclear(r);
    return rc;
}

const struct ad__skill_ops ad__pg_skill_ops = {
    .insert = pg_skill_insert,
    .version_insert = pg_skill_version_insert,
    .set_current = pg_skill_set_current,
    .update = pg_skill_update,
    .get = pg_skill_get,
    .list = pg_skill_list,
    .version_get = pg_skill_version_get,
    .version_list = pg_skill_version_list,
    .version_ancestry = pg_skill_version_ancestry,
    .search = pg_skill_search,
};
