/*
 * The skill catalog's policy over the store's rows: what a new skill or
 * version must satisfy, how versions are numbered, what "current" means
 * after a rollback, and which skill a task description picks.
 *
 * The entry function belongs to the skill, not to a version (the schema's
 * choice), so a new version must keep it: a rollback would otherwise
 * make current a version whose code lacks the skill's entry. The input
 * schema follows the current version: it is derived again on rollback.
 */
#include "compat.h"

#include <ctype.h>
#include <stdio.h>

#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/text.h"

/* Full-text hits looked at for one whose name the task mentions. */
#define MATCH_CANDIDATES 5

/*
 * The schema and description a version brings: the given schema (checked)
 * or the one its signature gives; the given description, else the
 * docstring's first line. Also proves the code defines the entry.
 */
static int read_code(const struct ad_skill_add *a, size_t len, json_t **schema, char **desc,
                     struct ad_err *err)
{
    json_t *derived = NULL;
    int rc = ad_skill_schema_derive(a->code, len, a->entry, &derived, err);

    *schema = NULL;
    *desc = NULL;
    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_EINVAL, "the code defines no top-level function '%s'",
                        a->entry);
    /* A signature we cannot read is fine when the caller gives the schema. */
    if (rc < 0 && !(rc == AD_EINVAL && a->input_schema))
        return rc;
    if (a->input_schema) {
        json_decref(derived);
        rc = ad_skill_schema_check(a->input_schema, err);
        if (rc < 0)
            return ad_error_prefix(err, "input schema");
        derived = json_deep_copy(a->input_schema);
        if (!derived)
            return ad_error(err, AD_ENOMEM, "out of memory");
    }
    *schema = derived;
    if (a->description) {
        *desc = strdup(a->description);
        if (!*desc)
            return ad_error(err, AD_ENOMEM, "out of memory");
        return 0;
    }
    return ad_skill_docstring(a->code, len, a->entry, desc, err);
}

/* The largest semver among the skill's versions, bumped. */
static int next_semver(struct ad_store *st, const struct ad_skill *s, enum ad_semver_bump how,
                       char out[AD_SEMVER_SIZE], struct ad_err *err)
{
    struct ad_skill_version *v = NULL;
    struct ad_semver best = { 0, 0, 0 }, cur;
    size_t n = 0;
    int rc = ad_store_skill_version_list(st, s->tenant_id, s->id, &v, &n, err);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = ad_semver_parse(v[i].semver, &cur, err);
        if (rc == 0 && ad_semver_cmp(&cur, &best) > 0)
            best = cur;
    }
    ad_skill_version_list_free(v, n);
    if (rc < 0)
        return rc;
    ad_semver_bump(&best, how);
    ad_semver_format(&best, out);
    return 0;
}

static int add_version(struct ad_store *st, const struct ad_skill_add *a, struct ad_skill *s,
                       json_t *schema, const char *desc, struct ad_skill_version *v,
                       struct ad_err *err)
{
    int rc;

    if (strcmp(s->entry_function, a->entry) != 0)
        return ad_error(err, AD_EINVAL,
                        "skill '%s' has entry function '%s'; a new version must keep it "
                        "(not '%s')", s->name, s->entry_function, a->entry);
    if (a->semver)
        snprintf(v->semver, sizeof(v->semver), "%s", a->semver);
    else if ((rc = next_semver(st, s, a->bump, v->semver, err)) < 0)
        return rc;
    memcpy(v->skill_id, s->id, AD_ID_SIZE);
    memcpy(v->parent_version_id, s->current_version_id, AD_ID_SIZE);
    rc = ad_store_skill_version_insert(st, v, true, err);
    if (rc < 0)
        return rc;
    /* The skill's schema follows its current version; a given description wins. */
    json_decref(s->input_schema);
    s->input_schema = json_incref(schema);
    if (a->description) {
        char *d = strdup(desc);

        if (!d)
            return ad_error(err, AD_ENOMEM, "out of memory");
        free(s->description);
        s->description = d;
    }
    rc = ad_store_skill_update(st, s, err);
    if (rc == 0)
        memcpy(s->current_version_id, v->id, AD_ID_SIZE);
    return rc;
}

int ad_catalog_add(struct ad_store *st, const struct ad_skill_add *a, struct ad_skill *skill_out,
                   struct ad_skill_version *version_out, struct ad_err *err)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    json_t *schema = NULL;
    char *desc = NULL;
    size_t len;
    int rc;

    if (!a || !a->tenant_id || !a->name || !a->entry || !a->code)
        return ad_error(err, AD_EINVAL, "a skill needs a tenant, a name, an entry and code");
    if (!ad_skill_name_valid(a->name))
        return ad_error(err, AD_EINVAL,
                        "invalid skill name '%s' (1 to 64 of a-z, 0-9 and '_', starting and "
                        "ending with a letter or digit, no '__')", a->name);
    if (!ad_text_identifier(a->entry, AD_ENTRY_MAX))
        return ad_error(err, AD_EINVAL, "invalid entry function '%s'", a->entry);
    if (a->semver && !ad_semver_valid(a->semver))
        return ad_error(err, AD_EINVAL, "invalid version '%s' (want MAJOR.MINOR.PATCH)",
                        a->semver);
    len = a->code_len ? a->code_len : strlen(a->code);
    if (len > AD_SKILL_CODE_MAX)
        return ad_error(err, AD_ETOOBIG, "skill code is %zu bytes, over the %d-byte cap", len,
                        AD_SKILL_CODE_MAX);
    if (memchr(a->code, '\0', len) || strlen(a->code) != len)
        return ad_error(err, AD_EINVAL, "skill code contains a NUL byte");
    rc = read_code(a, len, &schema, &desc, err);
    if (rc < 0)
        goto out;

    snprintf(v.tenant_id, sizeof(v.tenant_id), "%s", a->tenant_id);
    v.code = (char *)a->code;
    v.origin = a->origin;
    v.origin_id = (char *)a->origin_id;

    rc = ad_store_begin(st, err);
    if (rc < 0)
        goto out;
    rc = ad_store_skill_get_by_name(st, a->tenant_id, a->name, &s, err);
    if (rc == AD_ENOTFOUND) {
        ad_err_clear(err);
        memset(&s, 0, sizeof(s));
        snprintf(s.tenant_id, sizeof(s.tenant_id), "%s", a->tenant_id);
        s.name = (char *)a->name;
        s.description = desc ? desc : (char *)"";
        s.entry_function = (char *)a->entry;
        s.input_schema = schema;
        snprintf(v.semver, sizeof(v.semver), "%s", a->semver ? a->semver : "1.0.0");
        rc = ad_store_skill_insert(st, &s, &v, err);
        /* Borrowed members: the copy for the caller is read back below. */
        s.name = s.description = s.entry_function = NULL;
        s.input_schema = NULL;
    } else if (rc == 0) {
        rc = add_version(st, a, &s, schema, desc ? desc : "", &v, err);
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    else
        ad_store_rollback(st);
    v.code = NULL;
    v.origin_id = NULL;
    if (rc == 0 && skill_out)
        rc = ad_store_skill_get(st, a->tenant_id, s.id, skill_out, err);
    if (rc == 0 && version_out)
        rc = ad_store_skill_version_get(st, a->tenant_id, v.id, version_out, err);
out:
    ad_skill_release(&s);
    json_decref(schema);
    free(desc);
    return rc;
}

int ad_catalog_get(struct ad_store *st, const char *tenant_id, const char *name,
                   const char *semver, struct ad_skill *skill, struct ad_skill_version *version,
                   struct ad_err *err)
{
    int rc = ad_store_skill_get_by_name(st, tenant_id, name, skill, err);

    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "no skill named '%s'", name);
    if (rc < 0)
        return rc;
    if (semver)
        rc = ad_store_skill_version_find(st, tenant_id, skill->id, semver, version, err);
    else if (skill->current_version_id[0])
        rc = ad_store_skill_version_get(st, tenant_id, skill->current_version_id, version, err);
    else
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' has no current version", name);
    if (rc == AD_ENOTFOUND && semver)
        rc = ad_error(err, AD_ENOTFOUND, "skill '%s' has no version %s", name, semver);
    if (rc < 0)
        ad_skill_release(skill);
    return rc;
}

int ad_catalog_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_skill *out, struct ad_err *err)
{
    return ad_store_skill_get(st, tenant_id, id, out, err);
}

int ad_catalog_rollback(struct ad_store *st, const char *tenant_id, const char *name,
                        const char *semver, struct ad_err *err)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    json_t *schema = NULL;
    int rc;

    if (!semver || !ad_semver_valid(semver))
        return ad_error(err, AD_EINVAL, "invalid version '%s' (want MAJOR.MINOR.PATCH)",
                        semver ? semver : "");
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_catalog_get(st, tenant_id, name, semver, &s, &v, err);
    if (rc == 0)
        rc = ad_store_skill_set_current(st, tenant_id, s.id, v.id, err);
    /* The schema follows the code now current, when its signature reads. */
    if (rc == 0 && ad_skill_schema_derive(v.code, strlen(v.code), s.entry_function, &schema,
                                          NULL) == 0) {
        json_decref(s.input_schema);
        s.input_schema = schema;
        rc = ad_store_skill_update(st, &s, err);
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    else
        ad_store_rollback(st);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

/* Whether two lower-case words are one: equal, or one a prefix (4+ letters) of the other. */
static bool same_word(const char *a, size_t na, const char *b, size_t nb)
{
    size_t n = na < nb ? na : nb;

    if (na == nb)
        return memcmp(a, b, n) == 0;
    return n >= 4 && memcmp(a, b, n) == 0;
}

/*
 * Whether some word of the skill's name appears in text ("words" has
 * word_count's "word", "slug" slugify's "slugify"). Full-text ranking alone
 * picks a skill for one shared description word ("price" in a description
 * of order totals for a currency conversion); a task names what it needs.
 */
static bool name_in_text(const char *name, const char *text)
{
    const char *n = name;

    while (*n) {
        size_t nl = strcspn(n, "_");
        const char *p = text;
        struct ad_str w;

        while (ad_text_word(&p, &w)) {
            char low[64];

            if (w.len > sizeof(low))
                continue;
            for (size_t i = 0; i < w.len; i++)
                low[i] = (char)tolower((unsigned char)w.ptr[i]);
            if (same_word(n, nl, low, w.len))
                return true;
        }
        n += nl;
        while (*n == '_')
            n++;
    }
    return false;
}

int ad_catalog_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                    int limit, struct ad_skill **out, size_t *n, struct ad_err *err)
{
    return ad_store_skill_list(st, tenant_id, after_name, limit, out, n, err);
}

int ad_catalog_search(struct ad_store *st, const char *tenant_id, const char *text, int limit,
                      struct ad_skill_hit **out, size_t *n, struct ad_err *err)
{
    struct ad_buf q;
    int rc;

    *out = NULL;
    *n = 0;
    ad_buf_init(&q, AD_TASK_DESC_MAX);
    rc = ad_text_strip_stop_words(text, &q);
    if (rc == AD_ETOOBIG)
        rc = ad_error(err, rc, "search text longer than %d bytes", AD_TASK_DESC_MAX);
    else if (rc < 0)
        rc = ad_error(err, rc, "out of memory");
    else
        rc = ad_store_skill_search(st, tenant_id, q.ptr, limit, out, n, err);
    ad_buf_release(&q);
    return rc;
}

int ad_catalog_versions(struct ad_store *st, const char *tenant_id, const char *skill_id,
                        struct ad_skill_version **out, size_t *n, struct ad_err *err)
{
    return ad_store_skill_version_list(st, tenant_id, skill_id, out, n, err);
}

int ad_catalog_ancestry(struct ad_store *st, const char *tenant_id, const char *version_id,
                        struct ad_skill_version **out, size_t *n, struct ad_err *err)
{
    return ad_store_skill_version_ancestry(st, tenant_id, version_id, out, n, err);
}

int ad_catalog_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                           struct ad_skill_version *out, struct ad_err *err)
{
    return ad_store_skill_version_get(st, tenant_id, id, out, err);
}

int ad_catalog_match(struct ad_store *st, const char *tenant_id, const char *text,
                     struct ad_skill *skill, struct ad_skill_version *version, double *score,
                     struct ad_err *err)
{
    struct ad_skill_hit *hits = NULL;
    size_t n = 0, i;
    int rc;

    *score = 0;
    rc = ad_catalog_search(st, tenant_id, text, MATCH_CANDIDATES, &hits, &n, err);
    if (rc == AD_ETOOBIG)
        return ad_error(err, rc, "task description too long to match");
    if (rc < 0)
        return rc;
    for (i = 0; i < n; i++)
        if (hits[i].skill.current_version_id[0] && name_in_text(hits[i].skill.name, text))
            break;
    if (i == n) {
        ad_skill_hits_free(hits, n);
        return ad_error(err, AD_ENOTFOUND, "no catalog skill matches the task description");
    }
    *score = hits[i].score;
    *skill = hits[i].skill;
    memset(&hits[i].skill, 0, sizeof(hits[i].skill));
    ad_skill_hits_free(hits, n);
    rc = ad_store_skill_version_get(st, tenant_id, skill->current_version_id, version, err);
    if (rc < 0)
        ad_skill_release(skill);
    return rc;
}
