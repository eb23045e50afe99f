/*
 * Skill candidates on PostgreSQL, and the daily counts of candidates and
 * of AlphaEvolver's mutants.
 *
 * The daily limits: candidates.c (public layer) counts and inserts in one
 * transaction level. Under READ COMMITTED two transactions could both
 * count 4 and both insert, so count_since first takes a transaction-scoped
 * advisory lock of the tenant's count (one key per table and tenant) and
 * only then counts, in a second statement whose snapshot is taken after
 * the lock: whoever waited sees the rows of the holder, which committed
 * before releasing it. The limit is exact across processes and machines.
 */
#include "compat.h"

#include "pg/rowmap.h"

#define CAND_COLS                                                                   \
    "id, tenant_id, agent_id, source_episode_id, skill_name, skill_description,"    \
    " generated_code, failure_pattern, validation_status, validation_result,"       \
    " fitness_score, review_status, reviewed_by, ad_ts(reviewed_at), reason,"       \
    " risk_score, ad_ts(created_at), ad_ts(validated_at), ad_ts(promoted_at)"

static int read_candidate(const PGresult *r, int i, struct ad_skill_candidate *c,
                          struct ad_err *err)
{
    int v = 0, rc;

    ad_skill_candidate_init(c);
    ad__pg_fixed(r, i, 0, c->id, sizeof(c->id));
    ad__pg_fixed(r, i, 1, c->tenant_id, sizeof(c->tenant_id));
    ad__pg_fixed(r, i, 2, c->agent_id, sizeof(c->agent_id));
    ad__pg_fixed(r, i, 3, c->source_episode_id, sizeof(c->source_episode_id));
    c->fitness_score = ad__pg_double(r, i, 10);
    ad__pg_fixed(r, i, 13, c->reviewed_at, sizeof(c->reviewed_at));
    c->risk_score = ad__pg_double(r, i, 15);
    ad__pg_fixed(r, i, 16, c->created_at, sizeof(c->created_at));
    ad__pg_fixed(r, i, 17, c->validated_at, sizeof(c->validated_at));
    ad__pg_fixed(r, i, 18, c->promoted_at, sizeof(c->promoted_at));
    rc = ad__pg_enum(r, i, 8, &ad__candidate_status_enum, &v, err);
    c->status = v;
    c->review_status = AD_REVIEW_NONE;
    if (!rc && ad__pg_text(r, i, 11)) {
        rc = ad__pg_enum(r, i, 11, &ad__review_status_enum, &v, err);
        c->review_status = v;
    }
    if (!rc)
        rc = ad__pg_dup(r, i, 4, &c->skill_name, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 5, &c->skill_description, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 6, &c->generated_code, err);
    if (!rc)
        rc = ad__pg_json(r, i, 7, &c->failure_pattern, err);
    if (!rc)
        rc = ad__pg_json(r, i, 9, &c->validation_result, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 12, &c->reviewed_by, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 14, &c->reason, err);
    if (rc)
        ad_skill_candidate_release(c);
    return rc;
}

/*
 * One statement: the row goes in only when the agent and the source
 * episode (when set) are the tenant's, and the tenant exists; otherwise no row and no error, and
 * a read says which was missing.
 */
static const char q_insert[] =
    "INSERT INTO skill_candidates (id, tenant_id, agent_id, source_episode_id, skill_name,"
    " skill_description, generated_code, failure_pattern, validation_status,"
    " validation_result, fitness_score, review_status, reviewed_by, reviewed_at, reason,"
    " risk_score, created_at, validated_at, promoted_at)"
    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
    " $18, $19"
    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $2)"
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM agents WHERE tenant_id = $2 AND id = $3))"
    " AND ($4::text IS NULL OR EXISTS"
    "  (SELECT 1 FROM episodes WHERE tenant_id = $2 AND id = $4))";
static const char q_which[] =
    "SELECT ($1::text IS NULL OR EXISTS (SELECT 1 FROM agents WHERE tenant_id = $3 AND id = $1)),"
    " ($2::text IS NULL OR EXISTS (SELECT 1 FROM episodes WHERE tenant_id = $3 AND id = $2)),"
    " EXISTS (SELECT 1 FROM tenants WHERE id = $3)";

static int pg_candidate_insert(struct ad_store *st, const struct ad_skill_candidate *c,
                               const char *failure_pattern, const char *validation_result,
                               struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char b[2][32];
    const char *p[] = {
        c->id, c->tenant_id, ad__pg_opt(c->agent_id), ad__pg_opt(c->source_episode_id),
        c->skill_name, c->skill_description, c->generated_code, failure_pattern,
        ad__enum_name(&ad__candidate_status_enum, c->status), validation_result,
        ad__pg_double_text(c->fitness_score, b[0]),
        ad__enum_name(&ad__review_status_enum, c->review_status), c->reviewed_by,
        ad__pg_opt(c->reviewed_at), c->reason, ad__pg_double_text(c->risk_score, b[1]),
        c->created_at, ad__pg_opt(c->validated_at), ad__pg_opt(c->promoted_at),
    };
    const char *w[] = { p[2], p[3], c->tenant_id };
    PGresult *r = NULL;
    int rc = ad__pg_run(s, c->tenant_id, q_insert, 19, p, &r, "insert skill candidate", err);

    if (rc || strcmp(PQcmdTuples(r), "0")) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = ad__pg_run(s, c->tenant_id, q_which, 3, w, &r, "insert skill candidate", err);
    if (!rc) {
        if (strcmp(PQgetvalue(r, 0, 2), "t"))
            rc = ad_error(err, AD_ENOTFOUND, "unknown tenant id '%s'", c->tenant_id);
        else if (strcmp(PQgetvalue(r, 0, 0), "t"))
            rc = ad_error(err, AD_ENOTFOUND, "unknown agent '%s'", c->agent_id);
        else
            rc = ad_error(err, AD_ENOTFOUND, "unknown episode '%s'", c->source_episode_id);
    }
    PQclear(r);
    return rc;
}

static const char q_get[] =
    "SELECT " CAND_COLS " FROM skill_candidates WHERE tenant_id = $1 AND id = $2";

static int pg_candidate_get(struct ad_store *st, const char *tenant_id, const char *id,
                            struct ad_skill_candidate *out, struct ad_err *err)
{
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(ad__pg(st), tenant_id, q_get, 2, p, &r, "skill candidate", id, err);

    if (!rc)
        rc = read_candidate(r, 0, out, err);
    PQclear(r);
    return rc;
}

static const char q_lock[] = "SELECT pg_advisory_xact_lock(hashtext($1))";
static const char q_count[] =
    "SELECT count(*) FROM skill_candidates WHERE tenant_id = $1 AND created_at >= $2";
static const char q_mutation_count[] =
    "SELECT count(*) FROM tool_mutations WHERE tenant_id = $1 AND created_at >= $2";

static int count_locked(struct ad_store *st, const char *table, const char *sql,
                        const char *tenant_id, const char *since, int64_t *count,
                        struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char key[96];
    const char *k = key;
    const char *p[] = { tenant_id, since[0] ? since : "-infinity" };
    PGresult *r = NULL;
    int rc;

    snprintf(key, sizeof(key), "autodev.daily.%s.%s", table, tenant_id);
    rc = ad__pg_run(s, tenant_id, q_lock, 1, &k, NULL, "daily limit lock", err);
    if (!rc)
        rc = ad__pg_run(s, tenant_id, sql, 2, p, &r, "daily count", err);
    if (!rc)
        *count = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pg_candidate_count_since(struct ad_store *st, const char *tenant_id,
                                    const char *since, int64_t *count, struct ad_err *err)
{
    return count_locked(st, "skill_candidates", q_count, tenant_id, since, count, err);
}

static int pg_mutation_count_since(struct ad_store *st, const char *tenant_id,
                                   const char *since, int64_t *count, struct ad_err *err)
{
    return count_locked(st, "tool_mutations", q_mutation_count, tenant_id, since, count, err);
}

/* Every field the public layer may change, in one statement. */
static const char q_update[] =
    "UPDATE skill_candidates SET skill_name = $3, skill_description = $4,"
    " generated_code = $5, validation_status = $6, validation_result = $7,"
    " fitness_score = $8, review_status = $9, reviewed_by = $10, reviewed_at = $11,"
    " reason = $12, risk_score = $13, validated_at = $14, promoted_at = $15"
    " WHERE tenant_id = $1 AND id = $2";

static int pg_candidate_update(struct ad_store *st, const struct ad_skill_candidate *c,
                               const char *validation_result, struct ad_err *err)
{
    char b[2][32];
    const char *p[] = {
        c->tenant_id, c->id, c->skill_name, c->skill_description, c->generated_code,
        ad__enum_name(&ad__candidate_status_enum, c->status), validation_result,
        ad__pg_double_text(c->fitness_score, b[0]),
        ad__enum_name(&ad__review_status_enum, c->review_status), c->reviewed_by,
        ad__pg_opt(c->reviewed_at), c->reason, ad__pg_double_text(c->risk_score, b[1]),
        ad__pg_opt(c->validated_at), ad__pg_opt(c->promoted_at),
    };

    return ad__pg_run_one(ad__pg(st), c->tenant_id, q_update, 15, p, NULL, "skill candidate",
                          c->id, err);
}

/*
 * Newest first. The status mask comes as a text array of the statuses'
 * names ($3, NULL for any), the keyset as $4/$5 (NULL for the first page);
 * with an agent and without, two statements, so each can use its index.
 */
#define LIST_TAIL                                                                   \
    " AND ($3::text[] IS NULL OR validation_status = ANY ($3::text[]))"             \
    " AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::text))" \
    " ORDER BY created_at DESC, id DESC LIMIT $6"
static const char q_list[] =
    "SELECT " CAND_COLS " FROM skill_candidates WHERE tenant_id = $1"
    " AND $2::text IS NULL" LIST_TAIL;
static const char q_list_agent[] =
    "SELECT " CAND_COLS " FROM skill_candidates WHERE tenant_id = $1 AND agent_id = $2"
    LIST_TAIL;

static int pg_candidate_list(struct ad_store *st, const char *tenant_id,
                             const struct ad_candidate_filter *f,
                             struct ad_skill_candidate **out, size_t *n, struct ad_err *err)
{
    char mask[256], b[24];
    const char *p[] = {
        tenant_id, f->agent_id,
        ad__pgm_mask_array(&ad__candidate_status_enum, f->status_mask, mask, sizeof(mask)),
        f->before_id ? f->before_created_at : NULL, f->before_id, ad__pg_i64_text(f->limit, b),
    };
    PGresult *r = NULL;
    struct ad_skill_candidate *v = NULL;
    int i, count = 0;
    int rc = ad__pg_run(ad__pg(st), tenant_id, f->agent_id ? q_list_agent : q_list, 6, p, &r,
                        "list skill candidates", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc((size_t)count, sizeof(*v)) : NULL;
        if (count && !v)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing skill candidates");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_candidate(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        /* read_candidate released the row it failed on. */
        ad_skill_candidate_list_free(v, v ? (size_t)i - 1 : 0);
        return rc;
    }
    *out = v;
    *n = (size_t)count;
    return 0;
}

const struct ad__candidate_ops ad__pg_candidate_ops = {
    .insert = pg_candidate_insert,
    .update = pg_candidate_update,
    .get = pg_candidate_get,
    .list = pg_candidate_list,
    .count_since = pg_candidate_count_since,
    .mutation_count_since = pg_mutation_count_since,
};
