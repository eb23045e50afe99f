/*
 * Fitness terms: a workspace's own objectives, Python source the sandbox
 * runs (module learn owns them; fitness.h says how they score). The
 * public layer checks every field, so both backends see only rows that
 * fit the columns.
 */
#include "compat.h"

#include <math.h>

#include "autodev/store.h"
#include "autodev/text.h"

#include "store_backend.h"

void ad_fitness_term_release(struct ad_fitness_term *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->code);
    memset(t, 0, sizeof(*t));
}

void ad_fitness_term_list_free(struct ad_fitness_term *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_fitness_term_release(&v[i]);
    free(v);
}

static int check_name(const char *name, struct ad_err *err)
{
    if (!name || !ad_text_identifier(name, AD_FITNESS_TERM_NAME_MAX))
        return ad_error(err, AD_EINVAL,
                        "invalid fitness term name '%.80s': expected a Python identifier of"
                        " at most %d characters", name ? name : "", AD_FITNESS_TERM_NAME_MAX);
    return 0;
}

static int check_sha(const char *sha, struct ad_err *err)
{
    size_t i;

    for (i = 0; sha[i]; i++) {
        if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
            break;
    }
    if (i != AD_TOKEN_HASH_SIZE - 1 || sha[i])
        return ad_error(err, AD_EINVAL, "invalid fitness term code_sha: expected 64 lower-case"
                                        " hex digits");
    return 0;
}

static int check_term(const struct ad_fitness_term *t, struct ad_err *err)
{
    size_t len;
    int rc = ad__check_id("tenant id", t->tenant_id, err);

    if (!rc)
        rc = check_name(t->name, err);
    if (rc)
        return rc;
    if (!t->code || !*t->code)
        return ad_error(err, AD_EINVAL, "fitness term '%s': code is empty", t->name);
    len = strlen(t->code);
    if (len > AD_FITNESS_TERM_CODE_MAX)
        return ad_error(err, AD_ETOOBIG, "fitness term '%s': code is %zu bytes, more than %d",
                        t->name, len, AD_FITNESS_TERM_CODE_MAX);
    if (!ad_utf8_valid(t->code, len))
        return ad_error(err, AD_EINVAL, "fitness term '%s': code is not valid UTF-8", t->name);
    if (!isfinite(t->weight) || !(t->weight > 0) || t->weight > AD_FITNESS_TERM_WEIGHT_MAX)
        return ad_error(err, AD_EINVAL, "fitness term '%s': weight must be a number > 0 and"
                                        " <= %g", t->name, AD_FITNESS_TERM_WEIGHT_MAX);
    return check_sha(t->code_sha, err);
}

int ad_store_fitness_term_insert(struct ad_store *st, struct ad_fitness_term *t,
                                 struct ad_err *err)
{
    int rc = check_term(t, err), own;

    if (!rc)
        rc = ad__new_id(t->id, err);
    if (rc)
        return rc;
    ad_time_now(t->created_at);
    memcpy(t->updated_at, t->created_at, AD_TIME_SIZE);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own, st->ops->fitness_terms->insert(st, t, err), err);
    if (rc)
        t->id[0] = t->created_at[0] = t->updated_at[0] = '\0';
    return rc;
}

int ad_store_fitness_term_get(struct ad_store *st, const char *tenant_id, const char *name,
                              struct ad_fitness_term *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    memset(out, 0, sizeof(*out));
    if (!rc)
        rc = check_name(name, err);
    if (rc)
        return rc;
    return st->ops->fitness_terms->get(st, tenant_id, name, out, err);
}

int ad_store_fitness_term_list(struct ad_store *st, const char *tenant_id, bool enabled_only,
                               struct ad_fitness_term **out, size_t *n, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    return st->ops->fitness_terms->list(st, tenant_id, enabled_only, AD_LIST_MAX, out, n, err);
}

int ad_store_fitness_term_delete(struct ad_store *st, const char *tenant_id, const char *name,
                                 struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err), own;

    if (!rc)
        rc = check_name(name, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    return ad__write_end(st, own, st->ops->fitness_terms->del(st, tenant_id, name, err), err);
}
