/*
 * Episodes and their segments on PostgreSQL: the insert, get, the filtered
 * list and count, and reflection's recent failures (sqlite/episodes.c's
 * semantics).
 *
 * Statements are static texts prepared once per connection, so the list's
 * filters are parameters that are NULL (or -1) when unset; PostgreSQL plans
 * such a statement for its values (custom plans) and keeps doing so while a
 * generic plan would cost more, so each filter still reaches its index.
 */
#include "compat.h"

#include "pg/pg_int.h"

#define EPISODE_COLS                                                                  \
    "id, tenant_id, agent_id, task_description, task_kind, input, expected, output,"  \
    " success, error_trace, tools_attempted, context, intervention,"                  \
    " constitutional_score, execution_seconds, token_usage, skill_version_id,"        \
    " ad_ts(created_at), error_type"

static int read_episode(const PGresult *r, int i, struct ad_episode *ep, struct ad_err *err)
{
    int rc;

    ad_episode_init(ep);
    ad__pg_fixed(r, i, 0, ep->id, sizeof(ep->id));
    ad__pg_fixed(r, i, 1, ep->tenant_id, sizeof(ep->tenant_id));
    ad__pg_fixed(r, i, 2, ep->agent_id, sizeof(ep->agent_id));
    ep->success = ad__pg_i64(r, i, 8) != 0;
    ep->intervention = ad__pg_i64(r, i, 12) != 0;
    ep->constitutional_score = ad__pg_double(r, i, 13);
    ep->execution_seconds = ad__pg_text(r, i, 14) ? ad__pg_double(r, i, 14) : 0;
    ep->token_usage = ad__pg_i64(r, i, 15);
    ad__pg_fixed(r, i, 17, ep->created_at, sizeof(ep->created_at));
    rc = ad__pg_dup(r, i, 3, &ep->task_description, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 4, &ep->task_kind, err);
    if (!rc)
        rc = ad__pg_json(r, i, 5, &ep->input, err);
    if (!rc)
        rc = ad__pg_json(r, i, 6, &ep->expected, err);
    if (!rc)
        rc = ad__pg_json(r, i, 7, &ep->output, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 9, &ep->error_trace, err);
    if (!rc)
        rc = ad__pg_json(r, i, 10, &ep->tools_attempted, err);
    if (!rc)
        rc = ad__pg_json(r, i, 11, &ep->context, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 16, &ep->skill_version_id, err);
    if (!rc)
        rc = ad__pg_dup(r, i, 18, &ep->error_type, err);
    if (rc)
        ad_episode_release(ep);
    return rc;
}

/* ---- insert ------------------------------------------------------------- */

/*
 * The agent's counters move in the same transaction as the episode row;
 * the update doubles as the check that the agent is the tenant's, so that
 * expected failure comes before anything is written.
 */
static const char q_bump[] =
    "UPDATE agents SET episode_count = episode_count + 1,"
    " success_count = success_count + $3::integer,"
    " failure_count = failure_count + 1 - $3::integer, updated_at = $4"
    " WHERE tenant_id = $1 AND id = $2";
static const char q_insert[] =
    "INSERT INTO episodes (id, tenant_id, agent_id, task_description, task_kind, input,"
    " expected, output, success, error_trace, tools_attempted, context, intervention,"
    " constitutional_score, execution_seconds, token_usage, skill_version_id, created_at,"
    " error_type) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
    " $16, $17, $18, $19)";
static const char q_segment[] =
    "INSERT INTO episode_segments (id, tenant_id, episode_id, kind, content, metadata,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

static int pg_episode_insert(struct ad_store *st, const struct ad_episode *ep,
                             const struct ad__episode_json *json, int *wrote,
                             struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    char b[4][32];
    const char *bump[] = { ep->tenant_id, ep->agent_id, ep->success ? "1" : "0",
                           ep->created_at };
    const char *p[] = {
        ep->id, ep->tenant_id, ep->agent_id, ep->task_description, ep->task_kind, json->input,
        json->expected, json->output, ep->success ? "1" : "0", ep->error_trace,
        json->tools_attempted, json->context, ep->intervention ? "1" : "0",
        ad__pg_double_text(ep->constitutional_score, b[0]),
        ad__pg_double_text(ep->execution_seconds, b[1]), ad__pg_i64_text(ep->token_usage, b[2]),
        ep->skill_version_id, ep->created_at, ep->error_type,
    };
    size_t i;
    int rc = ad__pg_run_one(s, ep->tenant_id, q_bump, 4, bump, NULL, "agent", ep->agent_id, err);

    if (rc)
        return rc;
    *wrote = 1;
    rc = ad__pg_run(s, ep->tenant_id, q_insert, 19, p, NULL, "insert episode", err);
    for (i = 0; !rc && i < ep->nsegments; i++) {
        const struct ad_episode_segment *sg = &ep->segments[i];
        const char *q[] = { sg->id, ep->tenant_id, ep->id, sg->kind, sg->content,
                            i < json->nmetadata ? json->metadata[i] : NULL, sg->created_at };

        rc = ad__pg_run(s, ep->tenant_id, q_segment, 7, q, NULL, "insert segment", err);
    }
    return rc;
}

/* ---- get ---------------------------------------------------------------- */

static const char q_get[] =
    "SELECT " EPISODE_COLS " FROM episodes WHERE tenant_id = $1 AND id = $2";
static const char q_segments[] =
    "SELECT id, kind, content, metadata, ad_ts(created_at) FROM episode_segments"
    " WHERE episode_id = $1 AND tenant_id = $2 ORDER BY id";

/* On failure ep still owns what was loaded, for ad_episode_release. */
static int load_segments(struct pg_store *s, struct ad_episode *ep, struct ad_err *err)
{
    const char *p[] = { ep->id, ep->tenant_id };
    PGresult *r = NULL;
    int i, count, rc = ad__pg_run(s, ep->tenant_id, q_segments, 2, p, &r, "load segments", err);

    if (rc)
        return rc;
    count = PQntuples(r);
    if (count > 0) {
        ep->segments = calloc(count, sizeof(*ep->segments));
        if (!ep->segments)
            rc = ad_error(err, AD_ENOMEM, "out of memory loading segments");
    }
    for (i = 0; !rc && i < count; i++) {
        struct ad_episode_segment *sg = &ep->segments[i];

        ep->nsegments = i + 1;
        ad__pg_fixed(r, i, 0, sg->id, sizeof(sg->id));
        ad__pg_fixed(r, i, 4, sg->created_at, sizeof(sg->created_at));
        rc = ad__pg_dup(r, i, 1, &sg->kind, err);
        if (!rc)
            rc = ad__pg_dup(r, i, 2, &sg->content, err);
        if (!rc)
            rc = ad__pg_json(r, i, 3, &sg->metadata, err);
    }
    PQclear(r);
    return rc;
}

static int pg_episode_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_episode *out, struct ad_err *err)
{
    struct pg_store *s = ad__pg(st);
    const char *p[] = { tenant_id, id };
    PGresult *r = NULL;
    int rc = ad__pg_run_one(s, tenant_id, q_get, 2, p, &r, "episode", id, err);

    if (!rc)
        rc = read_episode(r, 0, out, err);
    PQclear(r);
    if (!rc) {
        rc = load_segments(s, out, err);
        if (rc)
            ad_episode_release(out);
    }
    return rc;
}

/* ---- list and count ----------------------------------------------------- */

#define FILTER_WHERE                                                                  \
    " WHERE tenant_id = $1 AND ($2::text IS NULL OR agent_id = $2)"                   \
    " AND ($3::integer < 0 OR success = $3) AND ($4::text IS NULL OR task_kind = $4)" \
    " AND ($5::text IS NULL OR skill_version_id = $5)"

static const char q_list[] = "SELECT " EPISODE_COLS " FROM episodes" FILTER_WHERE
                             " AND ($6::text IS NULL OR id < $6) ORDER BY id DESC LIMIT $7";
static const char q_count[] = "SELECT count(*) FROM episodes" FILTER_WHERE;

static int pg_episode_list(struct ad_store *st, const char *tenant_id,
                           const struct ad_episode_filter *f, struct ad_episode **out,
                           size_t *n, struct ad_err *err)
{
    char b[2][24];
    const char *p[] = {
        tenant_id, f->agent_id, ad__pg_i64_text(f->success < 0 ? -1 : f->success, b[0]),
        f->task_kind, f->skill_version_id, f->before_id, ad__pg_i64_text(f->limit, b[1]),
    };
    PGresult *r = NULL;
    struct ad_episode *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_list, 7, p, &r, "list episodes",
                                      err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing episodes");
    }
    for (i = 0; !rc && i < count; i++)
        rc = read_episode(r, i, &v[i], err);
    PQclear(r);
    if (rc) {
        ad_episode_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

static int pg_episode_count(struct ad_store *st, const char *tenant_id,
                            const struct ad_episode_filter *f, int64_t *count,
                            struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, f->agent_id,
                        ad__pg_i64_text(f->success < 0 ? -1 : f->success, b), f->task_kind,
                        f->skill_version_id };
    PGresult *r = NULL;
    int rc = ad__pg_run(ad__pg(st), tenant_id, q_count, 5, p, &r, "count episodes", err);

    if (!rc)
        *count = ad__pg_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

/* ---- recent failures ---------------------------------------------------- */

/*
 * ix_episodes_agent_success (tenant_id, agent_id, success, id) INCLUDE
 * (created_at, error_type): the agent's failures with id >= $3 newest
 * first, stopped at the limit; the description only where $6 asks for it.
 */
static const char q_recent[] =
    "SELECT id, CASE WHEN NOT $6::boolean OR error_type IS NOT DISTINCT FROM $7::text"
    " THEN task_description END, error_type, ad_ts(created_at) FROM episodes"
    " WHERE tenant_id = $1 AND agent_id = $2 AND success = 0 AND id >= $3"
    " AND created_at >= $4 ORDER BY id DESC LIMIT $5";

static int pg_recent_failures(struct ad_store *st, const char *tenant_id, const char *agent_id,
                              const char *since, const char *id_floor, int limit,
                              bool only_type, const char *error_type,
                              struct ad_episode_brief **out, size_t *n, struct ad_err *err)
{
    char b[24];
    const char *p[] = { tenant_id, agent_id, id_floor ? id_floor : "",
                        since && since[0] ? since : "-infinity", ad__pg_i64_text(limit, b),
                        only_type ? "true" : "false", only_type ? error_type : NULL };
    PGresult *r = NULL;
    struct ad_episode_brief *v = NULL;
    int i, count = 0, rc = ad__pg_run(ad__pg(st), tenant_id, q_recent, 7, p, &r,
                                      "list recent failures", err);

    if (!rc) {
        count = PQntuples(r);
        v = count ? calloc(count, sizeof(*v)) : NULL;
        if (!v && count)
            rc = ad_error(err, AD_ENOMEM, "out of memory listing recent failures");
    }
    for (i = 0; !rc && i < count; i++) {
        ad__pg_fixed(r, i, 0, v[i].id, sizeof(v[i].id));
        ad__pg_fixed(r, i, 3, v[i].created_at, sizeof(v[i].created_at));
        rc = ad__pg_dup(r, i, 1, &v[i].task_description, err);
        if (!rc)
            rc = ad__pg_dup(r, i, 2, &v[i].error_type, err);
    }
    PQclear(r);
    if (rc) {
        ad_episode_brief_list_free(v, v ? (size_t)count : 0);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

const struct ad__episode_ops ad__pg_episode_ops = {
    .insert = pg_episode_insert,
    .get = pg_episode_get,
    .list = pg_episode_list,
    .count = pg_episode_count,
    .recent_failures = pg_recent_failures,
};
