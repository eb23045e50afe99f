/*
 * The routes of the people (and tools) who review and run autodev: skill
 * candidates, notifications, settings, jobs and API tokens. Each handler
 * calls the owning module (learn, jobs, the settings of the store, this
 * module's tokens) with the caller's tenant, which is its token's; a
 * review is signed with the token's name, never a name the request gives.
 *
 * Pages: candidates, notifications and jobs are listed newest first by
 * their owners from the key of the cursor on (paging.c).
 *
 * Sections: candidates; notifications; settings; jobs; tokens.
 */
#include "compat.h"

#include <math.h>

#include "autodev/agent.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "server_int.h"

/* ---- candidates ------------------------------------------------------------------------ */

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static const char *time_or_null(const char *t)
{
    return t[0] ? t : NULL;
}

static json_t *candidate_json(const struct ad_skill_candidate *c, int full)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:o, s:s?, s:s?,"
                          " s:s?, s:o, s:s, s:s?, s:s?}",
                          "id", c->id, "skill_name", c->skill_name ? c->skill_name : "",
                          "skill_description", c->skill_description,
                          "status", ad_candidate_status_name(c->status),
                          "review_status", ad_review_status_name(c->review_status),
                          "agent_id", c->agent_id[0] ? c->agent_id : NULL,
                          "source_episode_id",
                          c->source_episode_id[0] ? c->source_episode_id : NULL,
                          "fitness_score", num_or_null(c->fitness_score),
                          "reviewed_by", c->reviewed_by,
                          "reviewed_at", time_or_null(c->reviewed_at),
                          "reason", c->reason, "risk_score", num_or_null(c->risk_score),
                          "created_at", c->created_at,
                          "validated_at", time_or_null(c->validated_at),
                          "promoted_at", time_or_null(c->promoted_at));

    if (j && full &&
        (json_object_set_new(j, "generated_code",
                             json_string(c->generated_code ? c->generated_code : "")) < 0 ||
         json_object_set(j, "failure_pattern",
                         c->failure_pattern ? c->failure_pattern : json_null()) < 0 ||
         json_object_set(j, "validation_result",
                         c->validation_result ? c->validation_result : json_null()) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The candidate of the path; an unknown one (or another tenant's) is answered 404. */
static int find_candidate(struct ad__req *r, struct ad__res *res, struct ad_skill_candidate *c)
{
    struct ad_err err = AD_ERR_INIT;
    const char *id = r->param[0];
    int rc;

    ad_skill_candidate_init(c);
    if (!ad_id_valid(id))
        return ad__res_fail(res, 404, "no candidate '%s'", id), AD_ENOTFOUND;
    rc = ad_candidates_get(r->st, r->tok.tenant_id, id, c, &err);
    if (rc == AD_ENOTFOUND)
        return ad__res_fail(res, 404, "no candidate '%s'", id), rc;
    if (rc < 0)
        ad__res_err(res, &err);
    return rc;
}

/* A reviewer's name: the token's, which a request cannot choose. */
static const char *reviewer_of(const struct ad__req *r)
{
    return r->tok.name ? r->tok.name : "api";
}

int ad__h_cand_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_candidate_filter f = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate *v = NULL;
    struct ad_agent a = { 0 };
    struct ad__page pg;
    const char *status = ad__query(r, "status"), *agent = ad__query(r, "agent");
    enum ad_candidate_status st;
    size_t n = 0, len;
    json_t *items;

    if (ad__page_parse(r, res, AD__KEY_TIME_ID, &pg) < 0)
        return 0;
    if (status && ad_candidate_status_parse(status, &st) < 0)
        return ad__res_fail(res, 400, "invalid status '%s': expected pending, validating, "
                            "validated, failed, promoted or rejected", status);
    if (agent) {
        int rc = ad_id_valid(agent) ? ad_agents_get(r->st, r->tok.tenant_id, agent, &a, &err)
                                    : ad_agents_find(r->st, r->tok.tenant_id, agent, &a, &err);

        if (rc < 0)
            return rc == AD_ENOTFOUND ? ad__res_fail(res, 404, "unknown agent '%s'", agent)
                                      : ad__res_err(res, &err);
        f.agent_id = a.id;
    }
    f.status_mask = status ? 1u << st : 0;
    f.limit = ad__page_fetch(&pg);
    f.before_created_at = pg.cursor_at;
    f.before_id = pg.cursor;
    if (ad_candidates_list(r->st, r->tok.tenant_id, &f, &v, &n, &err) < 0) {
        ad_agent_release(&a);
        return ad__res_err(res, &err);
    }
    len = ad__page_len(&pg, n);
    items = json_array();
    for (size_t i = 0; items && i < len; i++) {
        if (json_array_append_new(items, candidate_json(&v[i], 0)) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, n > len ? v[len - 1].created_at : NULL,
                 n > len ? v[len - 1].id : NULL);
    ad_skill_candidate_list_free(v, n);
    ad_agent_release(&a);
    return 0;
}

int ad__h_cand_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_skill_candidate c;

    if (find_candidate(r, res, &c) == 0)
        ad__res_json(res, 200, candidate_json(&c, 1));
    ad_skill_candidate_release(&c);
    return 0;
}

int ad__h_cand_test(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "input", "timeout_s", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result sr;
    struct ad_skill_candidate c;
    struct ad_sandbox *sb = NULL;
    json_t *body = NULL, *input = NULL;
    char *error = NULL;
    int64_t secs = 0;
    int rc;

    memset(&sr, 0, sizeof(sr));
    ad_skill_candidate_init(&c);
    if (ad__body_object(r, res, 1, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_value(body, "input", 0, 0, AD_JSON_FIELD_MAX, &input, &err);
    if (rc == 0)
        rc = ad_json_get_int(body, "timeout_s", AD_JSON_NULLABLE, 1, 86400, &secs, &err);
    lim.wall_ms = secs * 1000;
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    /* A wrong id is answered before any sandbox starts. */
    if (find_candidate(r, res, &c) < 0)
        goto out;
    if (ad_runtime_sandbox(r->rt, &sb, &err) < 0 ||
        ad_memento_try(sb, &c, input, &lim, &sr, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    error = sr.status == AD_SB_OK ? NULL : ad_skill_result_error(&sr);
    ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:b, s:O?, s:s?, s:I}", "candidate_id",
                                     c.id, "skill_name", c.skill_name ? c.skill_name : "",
                                     "status", ad_sb_status_name(sr.status),
                                     "success", sr.status == AD_SB_OK, "output", sr.output,
                                     "error", error, "wall_ms", (json_int_t)sr.wall_ms));
out:
    free(error);
    ad_sandbox_result_clear(&sr);
    ad_skill_candidate_release(&c);
    json_decref(body);
    return 0;
}

/* A decision the candidate's state forbids is a conflict with its state. */
static int review_err(struct ad__res *res, const char *id, const struct ad_err *err)
{
    if (err->code == AD_ENOTFOUND)
        return ad__res_fail(res, 404, "no candidate '%s'", id);
    return ad__res_err(res, err);
}

int ad__h_cand_approve(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    json_t *body = NULL;

    if (ad__body_object(r, res, 1, &body) < 0)
        return 0;
    if (json_object_size(body) > 0) {
        json_decref(body);
        return ad__res_fail(res, 422, "approve takes no field: the reviewer is the token's name");
    }
    json_decref(body);
    if (find_candidate(r, res, &c) < 0) {
        ad_skill_candidate_release(&c);
        return 0;
    }
    ad_skill_candidate_release(&c);
    if (ad_memento_approve(r->st, r->bus, r->tok.tenant_id, r->param[0], reviewer_of(r), &s, &v,
                           &err) < 0)
        review_err(res, r->param[0], &err);
    else
        ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "candidate_id",
                                         r->param[0], "skill", s.name ? s.name : "",
                                         "semver", v.semver, "skill_id", s.id, "version_id",
                                         v.id, "reviewed_by", reviewer_of(r)));
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return 0;
}

int ad__h_cand_reject(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "reason", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    const char *reason = NULL;
    json_t *body = NULL;
    int rc;

    ad_skill_candidate_init(&c);
    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "reason", AD_JSON_REQUIRED, AD_REASON_MAX, &reason, &err);
    if (rc == 0 && !*reason)
        rc = ad_error(&err, AD_EINVAL, "field 'reason': a rejection needs a reason");
    if (rc < 0)
        ad__res_err(res, &err);
    else if (find_candidate(r, res, &c) == 0) {
        if (ad_memento_reject(r->st, r->bus, r->tok.tenant_id, c.id, reviewer_of(r), reason,
                              &err) < 0)
            review_err(res, c.id, &err);
        else
            ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:s}", "candidate_id", c.id,
                                             "skill_name", c.skill_name ? c.skill_name : "",
                                             "reviewed_by", reviewer_of(r), "reason", reason));
    }
    ad_skill_candidate_release(&c);
    json_decref(body);
    return 0;
}

int ad__h_cand_regenerate(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_candidate c;
    char job[AD_ID_SIZE];

    if (find_candidate(r, res, &c) == 0) {
        if (ad_memento_regenerate(r->st, r->tok.tenant_id, c.id, job, &err) < 0)
            review_err(res, c.id, &err);
        else
            ad__res_json(res, 202, json_pack("{s:s, s:s, s:s}", "candidate_id", c.id, "job_id",
                                             job, "kind", AD_MEMENTO_JOB));
    }
    ad_skill_candidate_release(&c);
    return 0;
}

/* ---- notifications ------------------------------------------------------------------- */

static json_t *notification_json(const struct ad_notification *n)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:O?, s:b, s:s?, s:s}",
                     "id", n->id, "type", n->type ? n->type : "", "title",
                     n->title ? n->title : "", "message", n->message ? n->message : "",
                     "agent_id", n->agent_id[0] ? n->agent_id : NULL, "payload", n->payload,
                     "read", n->read_at[0] != '\0', "read_at",
                     n->read_at[0] ? n->read_at : NULL, "created_at", n->created_at);
}

int ad__h_notif_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_notification *v = NULL;
    struct ad__page pg;
    const char *unread = ad__query(r, "unread"), *type = ad__query(r, "type");
    size_t n = 0, len;
    json_t *items;

    if (ad__page_parse(r, res, AD__KEY_ID, &pg) < 0)
        return 0;
    if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
        return ad__res_fail(res, 400, "invalid unread '%s': expected true or false", unread);
    if (ad_notifications_list_before(r->st, r->tok.tenant_id, unread && !strcmp(unread, "true"),
                                     type, pg.cursor, ad__page_fetch(&pg), &v, &n, &err) < 0)
        return err.code == AD_EINVAL ? ad__res_fail(res, 400, "%s", err.msg)
                                     : ad__res_err(res, &err);
    len = ad__page_len(&pg, n);
    items = json_array();
    for (size_t i = 0; items && i < len; i++) {
        if (json_array_append_new(items, notification_json(&v[i])) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, n > len ? v[len - 1].id : NULL);
    ad_notification_list_free(v, n);
    return 0;
}

static int mark_read(struct ad__req *r, struct ad__res *res, const char *id)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t count = 0;

    if (id && !ad_id_valid(id))
        return ad__res_fail(res, 404, "unknown notification '%s'", id);
    if (ad_notifications_mark_read(r->st, r->tok.tenant_id, id, &count, &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, json_pack("{s:I}", "marked", (json_int_t)count));
}

int ad__h_notif_read(struct ad__req *r, struct ad__res *res)
{
    return mark_read(r, res, r->param[0]);
}

int ad__h_notif_read_all(struct ad__req *r, struct ad__res *res)
{
    return mark_read(r, res, NULL);
}

/* ---- settings ---------------------------------------------------------------------------- */

int ad__h_settings_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;

    if (ad_settings_get(r->st, r->tok.tenant_id, &s, &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, ad_settings_to_json(&s));
}

int ad__h_settings_put(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    json_t *body = NULL;
    int rc;

    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    ad_settings_defaults(&s);
    rc = ad_settings_from_json(&s, body, &err);
    if (rc == 0)
        rc = ad_settings_put(r->st, r->tok.tenant_id, &s, &err);
    json_decref(body);
    if (rc < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, ad_settings_to_json(&s));
}

/*
 * Read, change and write in one transaction: two patches of different keys
 * at once both land, as ad_settings_update does for one key.
 */
int ad__h_settings_patch(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    json_t *body = NULL;
    int rc;

    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_store_begin(r->st, &err);
    if (rc == 0) {
        rc = ad_settings_get(r->st, r->tok.tenant_id, &s, &err);
        if (rc == 0)
            rc = ad_settings_from_json(&s, body, &err);
        if (rc == 0)
            rc = ad_settings_put(r->st, r->tok.tenant_id, &s, &err);
        if (rc == 0)
            rc = ad_store_commit(r->st, &err);
        else
            ad_store_rollback(r->st);
    }
    json_decref(body);
    if (rc < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, ad_settings_to_json(&s));
}

/* ---- jobs ------------------------------------------------------------------------------ */

json_t *ad__json_job(const struct ad_job *j)
{
    const char *st = ad_job_status_name(j->status);

    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s?, s:O?, s:s, s:s?, s:s?, s:s?, s:s, s:s}",
                     "id", j->id, "kind", j->kind ? j->kind : "", "status", st ? st : "?",
                     "attempts", j->attempts, "max_attempts", j->max_attempts,
                     "idempotency_key", j->idempotency_key, "payload", j->payload,
                     "run_after", j->run_after,
                     "lease_until", j->lease_until[0] ? j->lease_until : NULL,
                     "worker", j->worker, "last_error", j->last_error,
                     "created_at", j->created_at, "updated_at", j->updated_at);
}

int ad__h_job_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_job *v = NULL;
    struct ad__page pg;
    const char *status = ad__query(r, "status"), *kind = ad__query(r, "kind");
    enum ad_job_status st;
    size_t n = 0, len;
    json_t *items;

    if (ad__page_parse(r, res, AD__KEY_ID, &pg) < 0)
        return 0;
    if (status && ad_job_status_parse(status, &st) < 0)
        return ad__res_fail(res, 400, "invalid status '%s': expected queued, running, done, "
                            "failed or dead", status);
    if (ad_jobs_list_before(r->st, r->tok.tenant_id, status ? (int)st : -1, kind, pg.cursor,
                            ad__page_fetch(&pg), &v, &n, &err) < 0)
        return err.code == AD_EINVAL ? ad__res_fail(res, 400, "%s", err.msg)
                                     : ad__res_err(res, &err);
    len = ad__page_len(&pg, n);
    items = json_array();
    for (size_t i = 0; items && i < len; i++) {
        if (json_array_append_new(items, ad__json_job(&v[i])) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, n > len ? v[len - 1].id : NULL);
    ad_job_list_free(v, n);
    return 0;
}

int ad__h_job_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j = { 0 };

    if (!ad_id_valid(r->param[0]))
        return ad__res_fail(res, 404, "unknown job '%s'", r->param[0]);
    if (ad_jobs_get(r->st, r->tok.tenant_id, r->param[0], &j, &err) < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, ad__json_job(&j));
    ad_job_release(&j);
    return 0;
}

/* ---- tokens ---------------------------------------------------------------------------- */

int ad__h_token_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token *v = NULL;
    const char *revoked = ad__query(r, "revoked");
    json_t *items;
    size_t n = 0;

    if (revoked && strcmp(revoked, "true") && strcmp(revoked, "false"))
        return ad__res_fail(res, 400, "invalid revoked '%s': expected true or false", revoked);
    if (ad_tokens_list(r->st, r->tok.tenant_id, revoked && !strcmp(revoked, "true"),
                       AD_LIST_MAX, &v, &n, &err) < 0)
        return ad__res_err(res, &err);
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, ad_token_json(&v[i])) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, NULL);
    ad_api_token_list_free(v, n);
    return 0;
}

int ad__h_token_create(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "role", "name", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token row = { 0 };
    enum ad_token_role role;
    char token[AD_TOKEN_SIZE];
    const char *rs = NULL, *name = NULL;
    json_t *body = NULL, *j;
    int rc;

    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "role", AD_JSON_REQUIRED, 32, &rs, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "name", AD_JSON_NULLABLE, AD_NAME_MAX, &name, &err);
    if (rc == 0 && ad_token_role_parse(rs, &role) < 0)
        rc = ad_error(&err, AD_EINVAL, "invalid role '%s': expected admin, reviewer or agent",
                      rs);
    if (rc == 0)
        rc = ad_tokens_create(r->st, r->tok.tenant_id, role, name, token, &row, &err);
    json_decref(body);
    if (rc < 0)
        return ad__res_err(res, &err);
    j = ad_token_json(&row);
    if (j && json_object_set_new(j, "token", json_string(token)) < 0)
        j = (json_decref(j), NULL);
    ad_api_token_release(&row);
    return ad__res_json(res, 201, j);
}

int ad__h_token_revoke(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token row = { 0 };

    if (!ad_id_valid(r->param[0]) && !ad_name_valid(r->param[0]))
        return ad__res_fail(res, 404, "unknown token '%s'", r->param[0]);
    if (ad_tokens_revoke(r->st, r->tok.tenant_id, r->param[0], &row, &err) < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, ad_token_json(&row));
    ad_api_token_release(&row);
    return 0;
}
