/*
 * autodev lineage: where a skill's code came from. For a skill, the
 * ancestry of its current version (each version's parent, back to the
 * first), with, at each version AlphaEvolver made, the mutation's fitness
 * delta and its variant's fitness score. For a mutation, its chain of
 * parent mutations, then the ancestry of the version it was made from.
 */
#include "compat.h"

#include <math.h>

#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "cli.h"

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static void num_text(double x, const char *fmt, char *out, size_t size)
{
    if (isnan(x))
        snprintf(out, size, "-");
    else
        snprintf(out, size, fmt, x);
}

/* What AlphaEvolver knew of a version it made: the delta and the best variant score. */
struct alpha_facts {
    double delta, score;
};

static void alpha_facts_of(struct ad_ctx *ctx, const struct ad_skill_version *v,
                           struct alpha_facts *out)
{
    struct ad_variant_filter f = { NULL, NULL, NULL, NULL, 0 };
    struct ad_workflow_variant *vs = NULL;
    struct ad_tool_mutation m;
    size_t n = 0;

    out->delta = out->score = NAN;
    if (v->origin != AD_ORIGIN_ALPHA || !v->origin_id || !ad_id_valid(v->origin_id))
        return;
    if (ad_mutations_get(ctx->store, ctx->tenant_id, v->origin_id, &m, NULL) == 0)
        out->delta = m.fitness_delta;
    ad_tool_mutation_release(&m);
    f.tool_mutation_id = v->origin_id;
    if (ad_variants_list(ctx->store, ctx->tenant_id, &f, &vs, &n, NULL) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(vs[i].fitness_score) && (isnan(out->score) || vs[i].fitness_score > out->score))
            out->score = vs[i].fitness_score;
    }
    ad_workflow_variant_list_free(vs, n);
}

#define VERSION_ROW "%c %-10s %-9s %-36s  %-24s  %-7s  %s"

/* The versions (newest first) as text, or appended to arr as JSON. */
static int print_versions(struct ad_ctx *ctx, const struct ad_skill_version *v, size_t n,
                          const char *current, json_t *arr)
{
    for (size_t i = 0; i < n; i++) {
        const char *origin = ad_skill_origin_name(v[i].origin);
        struct alpha_facts a;
        char delta[32], score[32];

        alpha_facts_of(ctx, &v[i], &a);
        if (arr) {
            json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:b, s:o, s:o}", "id",
                                  v[i].id, "semver", v[i].semver, "origin", origin ? origin : "?",
                                  "origin_id", v[i].origin_id, "parent_version_id",
                                  v[i].parent_version_id[0] ? v[i].parent_version_id : NULL,
                                  "created_at", v[i].created_at, "current",
                                  !strcmp(v[i].id, current), "fitness_delta",
                                  num_or_null(a.delta), "fitness_score", num_or_null(a.score));

            if (json_array_append_new(arr, j) < 0)
                return ad__die_code(ctx, AD_ENOMEM, "out of memory");
            continue;
        }
        if (i == 0)
            ad__print_header(ctx, VERSION_ROW, ' ', "VERSION", "ORIGIN", "ORIGIN ID", "CREATED",
                             "DELTA", "SCORE");
        num_text(a.delta, "%+.3f", delta, sizeof(delta));
        num_text(a.score, "%.3f", score, sizeof(score));
        fprintf(ctx->out, VERSION_ROW "\n", strcmp(v[i].id, current) ? ' ' : '*', v[i].semver,
                origin ? origin : "?", dash(v[i].origin_id), v[i].created_at, delta, score);
    }
    return 0;
}

/* The ancestry of version_id of skill s, printed (text) or added to obj under "versions". */
static int ancestry(struct ad_ctx *ctx, const struct ad_skill *s, const char *version_id,
                    json_t *obj)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_version *v = NULL;
    json_t *arr = obj ? json_array() : NULL;
    size_t n = 0;
    int rc;

    if (obj && !arr)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    rc = ad_catalog_ancestry(ctx->store, ctx->tenant_id, version_id, &v, &n, &err);
    if (rc < 0) {
        json_decref(arr);
        return ad__die_err(ctx, &err);
    }
    rc = print_versions(ctx, v, n, s->current_version_id, arr);
    if (rc == 0 && obj && json_object_set_new(obj, "versions", arr) < 0)
        rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
    else if (rc != 0)
        json_decref(arr);
    ad_skill_version_list_free(v, n);
    return rc;
}

static int skill_lineage(struct ad_ctx *ctx, const char *name)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version cur = { 0 };
    json_t *obj = NULL;
    int rc = ad_catalog_get(ctx->store, ctx->tenant_id, name, NULL, &s, &cur, &err);

    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "no skill or mutation '%s'", name);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        obj = json_pack("{s:s, s:s, s:s}", "skill", s.name, "skill_id", s.id, "current",
                        cur.semver);
        rc = obj ? 0 : ad__die_code(ctx, AD_ENOMEM, "out of memory");
    } else {
        fprintf(ctx->out, "lineage of %s (current %s), newest first; * current:\n", s.name,
                cur.semver);
    }
    if (rc == 0)
        rc = ancestry(ctx, &s, cur.id, obj);
    if (rc == 0 && obj)
        rc = ad__print_json(ctx, json_incref(obj));
    json_decref(obj);
    ad_skill_release(&s);
    ad_skill_version_release(&cur);
    return rc;
}

#define MUTATION_ROW "%-36s  %-5s  %-8s  %-8s  %-7s  %-13s  %s"

static int print_chain(struct ad_ctx *ctx, const struct ad_tool_mutation *v, size_t n,
                       json_t *arr)
{
    for (size_t i = 0; i < n; i++) {
        const char *decision = ad_mutation_decision_name(v[i].decision);
        const char *review = ad_review_status_name(v[i].review_status);
        char delta[32], index[16];

        if (arr) {
            json_t *j = json_pack("{s:s, s:s?, s:i, s:s?, s:s?, s:o, s:s?, s:s?, s:s}", "id",
                                  v[i].id, "parent_mutation_id",
                                  v[i].parent_tool_id[0] ? v[i].parent_tool_id : NULL,
                                  "mutant_index", v[i].mutant_index, "operator",
                                  v[i].mutation_operator, "decision", decision, "fitness_delta",
                                  num_or_null(v[i].fitness_delta), "review_status", review,
                                  "promoted_version_id",
                                  v[i].promoted_version_id[0] ? v[i].promoted_version_id : NULL,
                                  "created_at", v[i].created_at);

            if (json_array_append_new(arr, j) < 0)
                return ad__die_code(ctx, AD_ENOMEM, "out of memory");
            continue;
        }
        if (i == 0)
            ad__print_header(ctx, MUTATION_ROW, "MUTATION", "INDEX", "OPERATOR", "DECISION",
                             "DELTA", "REVIEW", "CREATED");
        num_text(v[i].fitness_delta, "%+.3f", delta, sizeof(delta));
        snprintf(index, sizeof(index), "%d", v[i].mutant_index);
        fprintf(ctx->out, MUTATION_ROW "\n", v[i].id, index, dash(v[i].mutation_operator),
                dash(decision), delta, dash(review), v[i].created_at);
    }
    return 0;
}

/* The mutation's chain; then, when it names one, the ancestry of its parent version. */
static int mutation_lineage(struct ad_ctx *ctx, const struct ad_tool_mutation *v, size_t n)
{
    struct ad_skill s = { 0 };
    json_t *obj = NULL, *arr = NULL;
    const struct ad_tool_mutation *m = &v[0];
    int rc = 0;

    if (ctx->json) {
        arr = json_array();
        obj = arr ? json_pack("{s:s, s:o}", "mutation_id", m->id, "mutations", arr) : NULL;
        if (!obj)
            return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    } else {
        fprintf(ctx->out, "mutation %s of %s, its parents newest first:\n", m->id,
                m->tool_name ? m->tool_name : "?");
    }
    rc = print_chain(ctx, v, n, arr);
    if (rc == 0 && m->skill_id[0] && m->parent_skill_version_id[0] &&
        ad_catalog_skill_get(ctx->store, ctx->tenant_id, m->skill_id, &s, NULL) == 0) {
        if (!obj)
            fprintf(ctx->out, "made from this version of %s, newest first; * current:\n",
                    s.name);
        else if (json_object_set_new(obj, "skill", json_string(s.name)) < 0)
            rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
        if (rc == 0)
            rc = ancestry(ctx, &s, m->parent_skill_version_id, obj);
    }
    if (rc == 0 && obj)
        rc = ad__print_json(ctx, json_incref(obj));
    json_decref(obj);
    ad_skill_release(&s);
    return rc;
}

int cmd_lineage(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation *v = NULL;
    size_t n = 0;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev lineage SKILL|MUTATION_ID");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    /* Catalog names have no '-': an id is a mutation's. */
    if (!ad_id_valid(argv[1]))
        return skill_lineage(ctx, argv[1]);
    rc = ad_mutations_lineage(ctx->store, ctx->tenant_id, argv[1], &v, &n, &err);
    if (rc == AD_ENOTFOUND)
        rc = ad__usage_error(ctx, "no skill or mutation '%s'", argv[1]);
    else if (rc < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = mutation_lineage(ctx, v, n);
    ad_tool_mutation_list_free(v, n);
    return rc;
}
