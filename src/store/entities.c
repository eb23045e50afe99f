/*
 * Entity helpers shared by every backend: releasing what the store filled
 * in, enumeration names, and name validation.
 */
#include "compat.h"

#include <strings.h>

#include "autodev/store.h"

#include "store_backend.h"

void ad__copy_fixed(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

void ad_tenant_release(struct ad_tenant *t)
{
    if (!t)
        return;
    free(t->name);
    memset(t, 0, sizeof(*t));
}

int ad_name_valid(const char *name)
{
    size_t i;

    if (!name || !name[0])
        return 0;
    if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
          (name[0] >= '0' && name[0] <= '9')))
        return 0;
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= AD_NAME_MAX)
            return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- maturity ----------------------------------------------------------- */

static const char *const maturity_names[] = {
    [AD_STUDENT] = "STUDENT",
    [AD_INTERN] = "INTERN",
    [AD_SUPERVISED] = "SUPERVISED",
    [AD_AUTONOMOUS] = "AUTONOMOUS",
};

const char *ad_maturity_name(enum ad_maturity m)
{
    return ad__enum_name(maturity_names, AD_ARRAY_SIZE(maturity_names), (int)m);
}

int ad_maturity_parse(const char *s, enum ad_maturity *out)
{
    int i = ad__enum_parse(maturity_names, AD_ARRAY_SIZE(maturity_names), s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_maturity)i;
    return 0;
}

/* ---- job status --------------------------------------------------------- */

static const char *const job_status_names[] = {
    [AD_JOB_QUEUED] = "queued",
    [AD_JOB_RUNNING] = "running",
    [AD_JOB_DONE] = "done",
    [AD_JOB_FAILED] = "failed",
    [AD_JOB_DEAD] = "dead",
};

const char *ad_job_status_name(enum ad_job_status s)
{
    return ad__enum_name(job_status_names, AD_ARRAY_SIZE(job_status_names), (int)s);
}

int ad_job_status_parse(const char *s, enum ad_job_status *out)
{
    int i = ad__enum_parse(job_status_names, AD_ARRAY_SIZE(job_status_names), s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_job_status)i;
    return 0;
}

/* ---- release and list_free ---------------------------------------------- */

void ad_agent_release(struct ad_agent *a)
{
    if (!a)
        return;
    free(a->name);
    memset(a, 0, sizeof(*a));
}

void ad_agent_list_free(struct ad_agent *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_agent_release(&v[i]);
    free(v);
}

void ad_event_release(struct ad_event *ev)
{
    if (!ev)
        return;
    free(ev->topic);
    json_decref(ev->payload);
    memset(ev, 0, sizeof(*ev));
}

void ad_event_list_free(struct ad_event *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_event_release(&v[i]);
    free(v);
}

void ad_job_release(struct ad_job *j)
{
    if (!j)
        return;
    free(j->kind);
    json_decref(j->payload);
    free(j->idempotency_key);
    free(j->worker);
    free(j->last_error);
    memset(j, 0, sizeof(*j));
}

void ad_job_list_free(struct ad_job *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_job_release(&v[i]);
    free(v);
}
