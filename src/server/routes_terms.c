/*
 * A workspace's custom fitness terms over HTTP (fitness.h):
 *   GET    /v1/fitness/terms         the terms by name, with their code
 *   POST   /v1/fitness/terms         {"name", "code", "weight"?}: checked in
 *                                    the sandbox and stored (admin)
 *   DELETE /v1/fitness/terms/{name}  (admin)
 * The tenant is the token's; a refused term is 400 with what is wrong and
 * nothing stored.
 */
#include "compat.h"

#include <math.h>

#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"

#include "server_int.h"

static json_t *term_json(const struct ad_fitness_term *t)
{
    return json_pack("{s:s, s:s, s:f, s:b, s:s, s:s, s:s}", "name", t->name, "code", t->code,
                     "weight", t->weight, "enabled", t->enabled, "code_sha", t->code_sha,
                     "created_at", t->created_at, "updated_at", t->updated_at);
}

int ad__h_term_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term *t = NULL;
    json_t *items = json_array();
    size_t n = 0;

    if (ad_fitness_terms_list(r->st, r->tok.tenant_id, &t, &n, &err) < 0) {
        json_decref(items);
        return ad__res_err(res, &err);
    }
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, term_json(&t[i])) < 0)
            items = (json_decref(items), NULL);
    }
    ad_fitness_term_list_free(t, n);
    return ad__res_json(res, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

int ad__h_term_add(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "name", "code", "weight", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t;
    struct ad_sandbox *sb = NULL;
    const char *name = NULL, *code = NULL;
    double weight = 1.0;
    json_t *body = NULL, *j;
    int rc;

    memset(&t, 0, sizeof(t));
    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "name", AD_JSON_REQUIRED, AD_FITNESS_TERM_NAME_MAX, &name,
                             &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "code", AD_JSON_REQUIRED, AD_FITNESS_TERM_CODE_MAX, &code,
                             &err);
    if (rc == 0 && json_object_get(body, "weight"))
        rc = ad_json_get_num(body, "weight", 0, 0, AD_FITNESS_TERM_WEIGHT_MAX, &weight, &err);
    if (rc == 0)
        rc = ad_runtime_sandbox(r->rt, &sb, &err);
    if (rc == 0)
        rc = ad_fitness_terms_add(r->st, sb, r->tok.tenant_id, name, code, weight, &t, &err);
    json_decref(body);
    if (rc < 0)
        return ad__res_err(res, &err);
    j = term_json(&t);
    ad_fitness_term_release(&t);
    return ad__res_json(res, 201, j);
}

int ad__h_term_remove(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_fitness_terms_remove(r->st, r->tok.tenant_id, r->param[0], &err) < 0) {
        if (err.code == AD_EINVAL)
            return ad__res_fail(res, 404, "unknown fitness term '%.80s'", r->param[0]);
        return ad__res_err(res, &err);
    }
    return ad__res_json(res, 200, json_pack("{s:s, s:b}", "name", r->param[0], "removed", 1));
}
