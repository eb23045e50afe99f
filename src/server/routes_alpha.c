/*
 * The routes of AlphaEvolver's rows: tool mutations (list, one with its
 * parent's code and variants, lineage, a replay on the stored test set,
 * approve, reject, regenerate) and workflow variants (list, one, the top
 * ones by fitness). Each handler calls module learn (fitness.h, alpha.h,
 * evaluate.h) and the catalog with the caller's tenant, which is its
 * token's; a review is signed with the token's name.
 *
 * An id of another tenant is answered exactly like an unknown one (404),
 * before any body is acted on.
 *
 * Sections: JSON forms; lookups; mutations; variants.
 */
#include "compat.h"

#include <math.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/evaluate.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "server_int.h"

/* The replay's repeats: a reviewer's look, not the job's measurement. */
#define TEST_REPEATS_MAX 5

/* ---- JSON forms ------------------------------------------------------------------------ */

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static const char *opt(const char *s)
{
    return s && s[0] ? s : NULL;
}

static json_t *json_or_null(const json_t *v)
{
    return v ? json_incref((json_t *)v) : json_null();
}

/* A mutation; with full, its code, edit and test set too. */
static json_t *mutation_json(const struct ad_tool_mutation *m, int full)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:i, s:s?, s:s?, s:s?,"
                          " s:s, s:s?, s:o, s:s?, s:o, s:o, s:o, s:s?}",
                          "id", m->id, "skill", m->tool_name ? m->tool_name : "",
                          "skill_id", opt(m->skill_id),
                          "parent_skill_version_id", opt(m->parent_skill_version_id),
                          "parent_mutation_id", opt(m->parent_tool_id),
                          "agent_id", opt(m->agent_id), "job_id", opt(m->job_id),
                          "mutant_index", m->mutant_index, "trigger", m->trigger,
                          "proposer", m->proposer, "operator", m->mutation_operator,
                          "status", ad_mutation_status_name(m->status),
                          "decision", ad_mutation_decision_name(m->decision),
                          "fitness_delta", num_or_null(m->fitness_delta),
                          "risk_level", ad_json_str(m->risk, "level"),
                          "risk_score", num_or_null(m->risk_score),
                          "risk", json_or_null(m->risk),
                          "proxy_signals", json_or_null(m->proxy_signals),
                          "review_status", ad_review_status_name(m->review_status));
    json_t *more = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:s?}",
                             "decision_reason", m->decision_reason,
                             "execution_error", m->execution_error,
                             "reviewed_by", m->reviewed_by, "reviewed_at", opt(m->reviewed_at),
                             "reason", m->reason, "created_at", m->created_at,
                             "evaluated_at", opt(m->evaluated_at),
                             "promoted_version_id", opt(m->promoted_version_id));
    int bad = !j || !more || json_object_update(j, more) < 0;

    json_decref(more);
    if (!bad && full)
        bad = json_object_set_new(j, "mutated_code",
                                  json_string(m->mutated_code ? m->mutated_code : "")) < 0 ||
              json_object_set_new(j, "edit", m->edit ? json_string(m->edit) : json_null()) < 0 ||
              json_object_set_new(j, "test_set", json_or_null(m->test_set)) < 0;
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *variant_json(const struct ad_workflow_variant *v)
{
    const char *rs = ad_review_status_name(v->review_status);
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:O, s:o, s:o, s:s}",
                          "id", v->id, "parent_variant_id", opt(v->parent_variant_id),
                          "agent_id", opt(v->agent_id),
                          "mutation_id", opt(v->tool_mutation_id),
                          "skill_version_id", opt(v->skill_version_id),
                          "job_id", opt(v->job_id),
                          "workflow_definition", v->workflow_definition ? v->workflow_definition
                                                                        : json_null(),
                          "fitness_score", num_or_null(v->fitness_score),
                          "fitness_signals", json_or_null(v->fitness_signals),
                          "evaluation_status", ad_variant_status_name(v->evaluation_status));
    json_t *more = json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:s, s:s?}", "review_status", rs,
                             "reviewed_by", v->reviewed_by, "reviewed_at", opt(v->reviewed_at),
                             "reason", v->reason, "risk_score", num_or_null(v->risk_score),
                             "created_at", v->created_at,
                             "last_evaluated_at", opt(v->last_evaluated_at));
    int bad = !j || !more || json_object_update(j, more) < 0;

    json_decref(more);
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- lookups --------------------------------------------------------------------------- */

/* The mutation of the path; an unknown one (or another tenant's) is answered 404. */
static int find_mutation(struct ad__req *r, struct ad__res *res, struct ad_tool_mutation *m)
{
    struct ad_err err = AD_ERR_INIT;
    const char *id = r->param[0];
    int rc;

    ad_tool_mutation_init(m);
    if (!ad_id_valid(id))
        return ad__res_fail(res, 404, "no mutation '%s'", id), AD_ENOTFOUND;
    rc = ad_mutations_get(r->st, r->tok.tenant_id, id, m, &err);
    if (rc == AD_ENOTFOUND)
        return ad__res_fail(res, 404, "no mutation '%s'", id), rc;
    if (rc < 0)
        ad__res_err(res, &err);
    return rc;
}

/* The agent of query parameter "agent" (name or id) into a; 404 when the tenant has none. */
static int query_agent(struct ad__req *r, struct ad__res *res, struct ad_agent *a)
{
    struct ad_err err = AD_ERR_INIT;
    const char *key = ad__query(r, "agent");
    int rc;

    memset(a, 0, sizeof(*a));
    if (!key)
        return 0;
    if (ad_id_valid(key))
        rc = ad_agents_get(r->st, r->tok.tenant_id, key, a, &err);
    else if (ad_name_valid(key))
        rc = ad_agents_find(r->st, r->tok.tenant_id, key, a, &err);
    else
        rc = AD_ENOTFOUND;
    if (rc == AD_ENOTFOUND)
        return ad__res_fail(res, 404, "unknown agent '%s'", key), rc;
    if (rc < 0)
        ad__res_err(res, &err);
    return rc;
}

/* A review the mutation's state forbids is a conflict with it (409). */
static int review_err(struct ad__res *res, const char *id, const struct ad_err *err)
{
    if (err->code == AD_ENOTFOUND)
        return ad__res_fail(res, 404, "no mutation '%s'", id);
    return ad__res_err(res, err);
}

static const char *reviewer_of(const struct ad__req *r)
{
    return r->tok.name ? r->tok.name : "api";
}

/* ---- mutations ------------------------------------------------------------------------- */

int ad__h_mut_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_mutation_filter f = AD_MUTATION_FILTER_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation *v = NULL;
    struct ad_skill s = { 0 };
    struct ad_skill_version sv = { 0 };
    struct ad_agent a;
    struct ad__page pg;
    const char *status = ad__query(r, "status"), *review = ad__query(r, "review");
    const char *decision = ad__query(r, "decision"), *skill = ad__query(r, "skill");
    enum ad_mutation_status ms;
    enum ad_review_status rs;
    enum ad_mutation_decision d;
    size_t n = 0, len;
    json_t *items;

    if (ad__page_parse(r, res, AD__KEY_TIME_ID, &pg) < 0)
        return 0;
    if (status && ad_mutation_status_parse(status, &ms) < 0)
        return ad__res_fail(res, 400, "invalid status '%s': expected pending, running, passed, "
                            "failed, error or timeout", status);
    if (review && ad_review_status_parse(review, &rs) < 0)
        return ad__res_fail(res, 400, "invalid review '%s': expected pending, approved, "
                            "rejected or auto_approved", review);
    if (decision && ad_mutation_decision_parse(decision, &d) < 0)
        return ad__res_fail(res, 400, "invalid decision '%s': expected won or lost", decision);
    if (query_agent(r, res, &a) < 0)
        return 0;
    if (skill) {
        int rc = ad_skill_name_valid(skill)
                     ? ad_catalog_get(r->st, r->tok.tenant_id, skill, NULL, &s, &sv, &err)
                     : AD_ENOTFOUND;

        if (rc < 0) {
            ad_agent_release(&a);
            return rc == AD_ENOTFOUND ? ad__res_fail(res, 404, "unknown skill '%s'", skill)
                                      : ad__res_err(res, &err);
        }
        f.skill_id = s.id;
    }
    f.status = status ? (int)ms : -1;
    f.review_status = review ? (int)rs : -2;
    f.decision = decision ? (int)d : -2;
    f.agent_id = a.id[0] ? a.id : NULL;
    f.before_created_at = pg.cursor_at;
    f.before_id = pg.cursor;
    f.limit = ad__page_fetch(&pg);
    if (ad_mutations_list(r->st, r->tok.tenant_id, &f, &v, &n, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    len = ad__page_len(&pg, n);
    items = json_array();
    for (size_t i = 0; items && i < len; i++) {
        if (json_array_append_new(items, mutation_json(&v[i], 0)) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, n > len ? v[len - 1].created_at : NULL,
                 n > len ? v[len - 1].id : NULL);
out:
    ad_tool_mutation_list_free(v, n);
    ad_skill_release(&s);
    ad_skill_version_release(&sv);
    ad_agent_release(&a);
    return 0;
}

/*
 * One mutation, whole: its code, edit, test set, proxy signals (the
 * measurements and the noise floor they were judged against), risk and
 * its reasons, the parent version's semver and code (the two sides of
 * its diff), and its variants with their fitness.
 */
int ad__h_mut_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_variant_filter vf = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    struct ad_skill_version parent = { 0 };
    struct ad_workflow_variant *vs = NULL;
    size_t nv = 0;
    json_t *j = NULL, *arr;

    if (find_mutation(r, res, &m) < 0)
        goto out;
    if (m.parent_skill_version_id[0] &&
        ad_catalog_version_get(r->st, r->tok.tenant_id, m.parent_skill_version_id, &parent,
                               NULL) < 0)
        ad_skill_version_release(&parent);
    vf.tool_mutation_id = m.id;
    vf.limit = AD_MUTATION_LIST_MAX;
    if (ad_variants_list(r->st, r->tok.tenant_id, &vf, &vs, &nv, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    j = mutation_json(&m, 1);
    arr = json_array();
    for (size_t i = 0; arr && i < nv; i++) {
        if (json_array_append_new(arr, variant_json(&vs[i])) < 0)
            arr = (json_decref(arr), NULL);
    }
    if (j && (!arr || json_object_set_new(j, "variants", arr) < 0 ||
              json_object_set_new(j, "parent_semver", parent.code ? json_string(parent.semver)
                                                                  : json_null()) < 0 ||
              json_object_set_new(j, "parent_code", parent.code ? json_string(parent.code)
                                                                : json_null()) < 0))
        j = (json_decref(j), NULL);
    ad__res_json(res, 200, j);
out:
    ad_workflow_variant_list_free(vs, nv);
    ad_skill_version_release(&parent);
    ad_tool_mutation_release(&m);
    return 0;
}

int ad__h_mut_lineage(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, *v = NULL;
    json_t *items;
    size_t n = 0;

    if (find_mutation(r, res, &m) < 0)
        goto out;
    if (ad_mutations_lineage(r->st, r->tok.tenant_id, m.id, &v, &n, &err) < 0) {
        review_err(res, m.id, &err);
        goto out;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, mutation_json(&v[i], 0)) < 0)
            items = (json_decref(items), NULL);
    }
    ad__res_page(res, items, NULL, NULL);
out:
    ad_tool_mutation_list_free(v, n);
    ad_tool_mutation_release(&m);
    return 0;
}

/*
 * Runs the parent version and the mutant side by side on the mutation's
 * stored test set (ad_alpha_evaluate, "repeats" times, 1 by default) and
 * answers both sides' measurements; nothing is recorded.
 */
int ad__h_mut_test(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "repeats", "timeout_s", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_limits lim = { 0 };
    struct ad_eval_opts eo = { 0 };
    struct ad_eval_side ps, ms;
    struct ad_tool_mutation m;
    struct ad_skill s = { 0 };
    struct ad_skill_version parent = { 0 };
    struct ad_sandbox *sb = NULL;
    const char *codes[1];
    json_t *body = NULL;
    int64_t repeats = 1, secs = 0;
    int rc;

    memset(&ps, 0, sizeof(ps));
    memset(&ms, 0, sizeof(ms));
    ad_tool_mutation_init(&m);
    if (ad__body_object(r, res, 1, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_int(body, "repeats", AD_JSON_NULLABLE, 1, TEST_REPEATS_MAX, &repeats,
                             &err);
    if (rc == 0)
        rc = ad_json_get_int(body, "timeout_s", AD_JSON_NULLABLE, 1, 600, &secs, &err);
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    if (repeats < 1)
        repeats = 1;
    lim.wall_ms = secs * 1000;
    /* A wrong id is answered before any sandbox starts. */
    if (find_mutation(r, res, &m) < 0)
        goto out;
    if (!json_is_array(m.test_set) || json_array_size(m.test_set) == 0) {
        ad__res_fail(res, 409, "mutation '%s' has no stored test set to replay", m.id);
        goto out;
    }
    rc = m.skill_id[0] && m.parent_skill_version_id[0] ? 0 : AD_ENOTFOUND;
    if (rc == 0)
        rc = ad_catalog_skill_get(r->st, r->tok.tenant_id, m.skill_id, &s, &err);
    if (rc == 0)
        rc = ad_catalog_version_get(r->st, r->tok.tenant_id, m.parent_skill_version_id, &parent,
                                    &err);
    if (rc < 0) {
        ad__res_fail(res, 409, "the parent version of mutation '%s' cannot be read", m.id);
        goto out;
    }
    codes[0] = m.mutated_code;
    eo.repeats = (int)repeats;
    eo.limits = secs > 0 ? &lim : NULL;
    if (ad_runtime_sandbox(r->rt, &sb, &err) < 0 ||
        ad_alpha_evaluate(sb, s.entry_function, parent.code, codes, 1, m.test_set, &eo, &ps,
                          &ms, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:I, s:i, s:o, s:o}", "mutation_id", m.id,
                                     "skill", m.tool_name ? m.tool_name : "",
                                     "parent_semver", parent.semver,
                                     "cases", (json_int_t)json_array_size(m.test_set),
                                     "repeats", (int)repeats, "parent", ad_eval_side_json(&ps),
                                     "mutant", ad_eval_side_json(&ms)));
out:
    ad_eval_side_release(&ps);
    ad_eval_side_release(&ms);
    ad_skill_release(&s);
    ad_skill_version_release(&parent);
    ad_tool_mutation_release(&m);
    json_decref(body);
    return 0;
}

int ad__h_mut_approve(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "reason", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    struct ad_skill_version v = { 0 };
    const char *reason = NULL;
    json_t *body = NULL;
    int rc;

    ad_tool_mutation_init(&m);
    if (ad__body_object(r, res, 1, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "reason", AD_JSON_NULLABLE, AD_REASON_MAX, &reason, &err);
    if (rc < 0)
        ad__res_err(res, &err);
    else if (find_mutation(r, res, &m) == 0) {
        if (ad_mutation_approve(r->st, r->bus, r->tok.tenant_id, m.id, reviewer_of(r),
                                reason && *reason ? reason : NULL, false, &v, &err) < 0)
            review_err(res, m.id, &err);
        else
            ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "mutation_id",
                                             m.id, "skill", m.tool_name ? m.tool_name : "",
                                             "semver", v.semver, "version_id", v.id,
                                             "parent_version_id", v.parent_version_id,
                                             "reviewed_by", reviewer_of(r)));
    }
    ad_skill_version_release(&v);
    ad_tool_mutation_release(&m);
    json_decref(body);
    return 0;
}

int ad__h_mut_reject(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "reason", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    const char *reason = NULL;
    json_t *body = NULL;
    int rc;

    ad_tool_mutation_init(&m);
    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "reason", AD_JSON_REQUIRED, AD_REASON_MAX, &reason, &err);
    if (rc == 0 && !*reason)
        rc = ad_error(&err, AD_EINVAL, "field 'reason': a rejection needs a reason");
    if (rc < 0)
        ad__res_err(res, &err);
    else if (find_mutation(r, res, &m) == 0) {
        if (ad_mutation_reject(r->st, r->bus, r->tok.tenant_id, m.id, reviewer_of(r), reason,
                               &err) < 0)
            review_err(res, m.id, &err);
        else
            ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:s}", "mutation_id", m.id,
                                             "skill", m.tool_name ? m.tool_name : "",
                                             "reviewed_by", reviewer_of(r), "reason", reason));
    }
    ad_tool_mutation_release(&m);
    json_decref(body);
    return 0;
}

/*
 * Queues a new alpha.mutate job for the version the mutation was made
 * from (as `autodev skill evolve` does, trigger "manual", the gate asked
 * for the mutation's agent). One already open for it is a conflict (409)
 * naming that job.
 */
int ad__h_mut_regenerate(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m;
    char job[AD_ID_SIZE] = "";

    if (find_mutation(r, res, &m) < 0)
        goto out;
    if (!m.parent_skill_version_id[0]) {
        ad__res_fail(res, 409, "mutation '%s' names no skill version to evolve", m.id);
        goto out;
    }
    if (ad_alpha_enqueue(r->st, r->tok.tenant_id, m.parent_skill_version_id, opt(m.agent_id),
                         AD_TRIGGER_MANUAL, job, &err) < 0) {
        if (err.code == AD_EEXIST)
            ad__res_fail(res, 409, "an %s job is already open for this version: %s",
                         AD_ALPHA_JOB, job);
        else
            ad__res_err(res, &err);
        goto out;
    }
    ad__res_json(res, 202, json_pack("{s:s, s:s, s:s, s:s}", "mutation_id", m.id,
                                     "skill_version_id", m.parent_skill_version_id,
                                     "job_id", job, "kind", AD_ALPHA_JOB));
out:
    ad_tool_mutation_release(&m);
    return 0;
}

/* ---- variants -------------------------------------------------------------------------- */

int ad__h_var_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_variant_filter f = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant *v = NULL;
    struct ad_agent a;
    struct ad__page pg;
    const char *mutation = ad__query(r, "mutation");
    size_t n = 0, len;
    json_t *items;

    if (ad__page_parse(r, res, AD__KEY_TIME_ID, &pg) < 0)
        return 0;
    if (mutation && !ad_id_valid(mutation))
        return ad__res_fail(res, 400, "invalid mutation '%s': expected an id", mutation);
    if (query_agent(r, res, &a) < 0)
        return 0;
    f.agent_id = a.id[0] ? a.id : NULL;
    f.tool_mutation_id = mutation;
    f.before_created_at = pg.cursor_at;
    f.before_id = pg.cursor;
    f.limit = ad__page_fetch(&pg);
    if (ad_variants_list(r->st, r->tok.tenant_id, &f, &v, &n, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    len = ad__page_len(&pg, n);
    items = json_array();
    for (size_t i = 0; items && i < len; i++) {
        if (json_array_append_new(items, variant_json(&v[i])) < 0)
            items = (json_decref(items), NULL);
    }
    ad__res_page(res, items, n > len ? v[len - 1].created_at : NULL,
                 n > len ? v[len - 1].id : NULL);
out:
    ad_workflow_variant_list_free(v, n);
    ad_agent_release(&a);
    return 0;
}

int ad__h_var_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    const char *id = r->param[0];
    int rc;

    if (!ad_id_valid(id))
        return ad__res_fail(res, 404, "no variant '%s'", id);
    ad_workflow_variant_init(&v);
    rc = ad_variants_get(r->st, r->tok.tenant_id, id, &v, &err);
    if (rc == AD_ENOTFOUND)
        ad__res_fail(res, 404, "no variant '%s'", id);
    else if (rc < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, variant_json(&v));
    ad_workflow_variant_release(&v);
    return 0;
}

/* The best scored variants (fitness > 0), best first; "limit" 1..1000, default 50. */
int ad__h_var_top(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant *v = NULL;
    struct ad_agent a;
    const char *limit = ad__query(r, "limit");
    json_t *items;
    size_t n = 0;
    long k = AD__PAGE_DEFAULT;
    char *end;

    if (limit) {
        errno = 0;
        k = strtol(limit, &end, 10);
        if (!*limit || *end || errno || k < 1 || k > AD__PAGE_MAX)
            return ad__res_fail(res, 400, "invalid limit '%s': expected 1..%d", limit,
                                AD__PAGE_MAX);
    }
    if (query_agent(r, res, &a) < 0)
        return 0;
    if (ad_fitness_top_variants(r->st, r->tok.tenant_id, a.id[0] ? a.id : NULL, (int)k, &v, &n,
                                &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, variant_json(&v[i])) < 0)
            items = (json_decref(items), NULL);
    }
    ad__res_page(res, items, NULL, NULL);
out:
    ad_workflow_variant_list_free(v, n);
    ad_agent_release(&a);
    return 0;
}
