/*
 * Tenants: name validation, releasing what the store filled in, and the
 * public calls. A tenant is found by name and made on first use; every
 * other call of the store takes the tenant's id.
 */
#include "compat.h"

#include "autodev/store.h"

#include "store_backend.h"

void ad_tenant_release(struct ad_tenant *t)
{
    if (!t)
        return;
    free(t->name);
    memset(t, 0, sizeof(*t));
}

static int is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int ad_name_valid(const char *name)
{
    size_t i;

    if (!name || !is_alnum((unsigned char)name[0]))
        return 0;
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= AD_NAME_MAX)
            return 0;
        if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
            return 0;
    }
    return 1;
}

/* The lookup and the insert run in one write transaction, so two callers make one tenant. */
int ad_store_tenant_ensure(struct ad_store *st, const char *name, char id_out[AD_ID_SIZE],
                           struct ad_err *err)
{
    struct ad_tenant t = { 0 };
    struct ad_err e = AD_ERR_INIT;
    int rc, own;

    rc = ad__check_name("tenant", name, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->tenants->find(st, name, &t, &e);
    if (rc == AD_ENOTFOUND) {
        rc = ad__new_id(t.id, err);
        ad_time_now(t.created_at);
        t.name = (char *)name;    /* borrowed for the insert; not released below */
        if (!rc)
            rc = st->ops->tenants->insert(st, &t, "{}", err);
        t.name = NULL;
    } else if (rc) {
        ad_error(err, rc, "%s", e.msg);
    }
    if (!rc)
        ad__copy_fixed(id_out, AD_ID_SIZE, t.id);
    ad_tenant_release(&t);
    return ad__write_end(st, own, rc, err);
}

int ad_store_tenant_get(struct ad_store *st, const char *name, struct ad_tenant *out,
                        struct ad_err *err)
{
    int rc = ad__check_name("tenant", name, err);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->tenants->find(st, name, out, err);
}

void ad_tenant_list_free(struct ad_tenant *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_tenant_release(&v[i]);
    free(v);
}

int ad_store_tenant_list(struct ad_store *st, struct ad_tenant **out, size_t *n,
                         struct ad_err *err)
{
    *out = NULL;
    *n = 0;
    return st->ops->tenants->list(st, out, n, err);
}
