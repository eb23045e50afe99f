/*
 * Which skills an agent uses most (agent.h): read from skill_executions,
 * the agent module's table, for AlphaEvolver's background schedule.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "autodev/agent.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#define USAGE_SCAN 1000   /* the tenant's newest executions looked at */

struct usage {
    char version_id[AD_ID_SIZE];
    int count;
};

static int by_count(const void *a, const void *b)
{
    const struct usage *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->version_id, y->version_id);
}

/* Whether version_id is the current version of an active skill. */
static int is_current(struct ad_store *st, const char *tenant_id, const char *version_id,
                      bool *yes, struct ad_err *err)
{
    struct ad_skill_version v = { 0 };
    struct ad_skill s = { 0 };
    int rc = ad_catalog_version_get(st, tenant_id, version_id, &v, err);

    *yes = false;
    if (rc == 0)
        rc = ad_catalog_skill_get(st, tenant_id, v.skill_id, &s, err);
    if (rc == 0)
        *yes = !strcmp(s.current_version_id, version_id) && s.status &&
               !strcmp(s.status, "active");
    if (rc == AD_ENOTFOUND) {
        ad_err_clear(err);
        rc = 0;
    }
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

int ad_skill_usage_top(struct ad_store *st, const char *tenant_id, const char *agent_id,
                       const char *since, int limit, char (*ids)[AD_ID_SIZE], size_t *n,
                       struct ad_err *err)
{
    struct ad_skill_execution *x = NULL;
    struct usage *u = NULL;
    size_t nx = 0, nu = 0;
    int rc;

    *n = 0;
    if (limit <= 0)
        return 0;
    rc = ad_store_skill_execution_list(st, tenant_id, NULL, USAGE_SCAN, &x, &nx, err);
    if (rc == 0 && nx) {
        u = calloc(nx, sizeof(*u));
        if (!u)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < nx; i++) {
        size_t j;

        if (strcmp(x[i].agent_id, agent_id) || (since && strcmp(x[i].created_at, since) < 0))
            continue;
        for (j = 0; j < nu && strcmp(u[j].version_id, x[i].skill_version_id); j++)
            ;
        if (j == nu)
            memcpy(u[nu++].version_id, x[i].skill_version_id, AD_ID_SIZE);
        u[j].count++;
    }
    if (rc == 0 && nu)
        qsort(u, nu, sizeof(*u), by_count);
    for (size_t j = 0; rc == 0 && j < nu && *n < (size_t)limit; j++) {
        bool current;

        rc = is_current(st, tenant_id, u[j].version_id, &current, err);
        if (rc == 0 && current)
            memcpy(ids[(*n)++], u[j].version_id, AD_ID_SIZE);
    }
    free(u);
    ad_skill_execution_list_free(x, nx);
    return rc;
}
