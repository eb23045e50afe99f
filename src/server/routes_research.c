/*
 * Autoresearch sessions, read only, for the review UI's Research page:
 * the tenant's sessions (the token's tenant), and one with its iterations
 * (metric, decision kept/reverted/crashed, gates, the model's tokens and
 * cost). Everything comes from the research module's status call; nothing
 * here starts, steps or changes a session.
 */
#include "compat.h"

#include "autodev/clock.h"
#include "autodev/evolve.h"
#include "autodev/research.h"

#include "server_int.h"
#include "routes_ui.h"

static void env_of(struct ad__req *r, struct ad_research_env *env)
{
    env->st = r->st;
    env->bus = NULL;
    env->tenant_id = r->tok.tenant_id;
    env->llm = NULL;
}

int ad__h_research_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    json_t *arr;

    env_of(r, &env);
    if (ad_research_status(&env, NULL, &arr, &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, json_pack("{s:o}", "items", arr));
}

int ad__h_research_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    json_t *j;

    /* Not an id is no session of the tenant's: 404, as for another tenant's id. */
    if (!ad_id_valid(r->param[0]))
        return ad__res_fail(res, 404, "no research session '%s'", r->param[0]);
    env_of(r, &env);
    if (ad_research_status(&env, r->param[0], &j, &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, j);
}

/* Evolution research runs (evolve.h), newest first, read only. */
int ad__h_evolve_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *arr = NULL;

    if (ad_evolve_list(r->st, r->tok.tenant_id, 100, &arr, &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, json_pack("{s:o}", "items", arr));
}

/* One run with its best program (code, fitness, signals), as `autodev evolve show --json`. */
int ad__h_evolve_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *j = NULL;

    if (!ad_id_valid(r->param[0]))
        return ad__res_fail(res, 404, "no evolution run '%s'", r->param[0]);
    if (ad_evolve_show(r->st, r->tok.tenant_id, r->param[0], &j, &err) < 0)
        return ad__res_err(res, &err);
    return ad__res_json(res, 200, j);
}
