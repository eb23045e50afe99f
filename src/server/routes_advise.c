/*
 * GET /v1/advice?agent=: the advisor's facts (advise.h), the document
 * 'autodev advise --json' prints, for the caller's tenant. Any role may
 * read it; an unknown agent is 404.
 */
#include "compat.h"

#include "autodev/advise.h"

#include "server_int.h"

int ad__h_advice(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    const char *agent = ad__query(r, "agent");
    json_t *advice = NULL;

    if (agent && !*agent)
        return ad__res_fail(res, 400, "invalid agent '': expected a name or an id");
    if (ad_advise(r->st, r->tok.tenant_id, agent, &advice, &err) < 0)
        return ad__res_err(res, &err);
    ad__res_json(res, 200, advice);
    return 0;
}
