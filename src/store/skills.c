/*
 * The skill catalog's rows: names, semvers and origins, releasing what the
 * store filled in, argument checks, the calls on skills and their
 * versions, and the full-text search. Executions and agent sessions have
 * files of their own.
 *
 * Adding a skill writes three rows (the skill, its first version, the
 * skill pointing at that version), and adding a version with make_current
 * two. Each such call opens a transaction level of its own (a savepoint
 * inside the caller's transaction), so a failure half-way undoes only its
 * own rows and leaves the caller's transaction usable. Calls that run one
 * writing statement use ad__write_begin/ad__write_end, like the others.
 *
 * Sections: names and enumerations, release, checks, skills, search.
 */
#include "compat.h"

#include "autodev/buf.h"
#include "autodev/store.h"

#include "store_backend.h"

#define SKILL_NAME_MAX 64
#define ORIGIN_ID_MAX 256         /* a candidate's or mutant's id, an import's source */
#define SEARCH_WORDS_MAX 32       /* words of a query OR-ed into the MATCH expression */

/* ---- names and enumerations --------------------------------------------- */

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int ad_skill_name_valid(const char *name)
{
    size_t i;

    if (!name || !is_lower_alnum(name[0]))
        return 0;
    for (i = 0; name[i]; i++) {
        if (i >= SKILL_NAME_MAX)
            return 0;
        if (name[i] == '_' && name[i + 1] == '_')
            return 0;
        if (!is_lower_alnum(name[i]) && name[i] != '_')
            return 0;
    }
    return is_lower_alnum(name[i - 1]);
}

/* One semver number: digits, no leading zero, below 2^31. NULL if not. */
static const char *semver_number(const char *p)
{
    int64_t v = 0;

    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return NULL;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX)
            return NULL;
    }
    return p;
}

/*
 * Also refuses a text that does not fit a version's semver field: three
 * ten-digit numbers (32 characters) would not, so the field's size, not
 * 2^31, is the bound for such versions.
 */
int ad_semver_valid(const char *semver)
{
    const char *p = semver;
    int i;

    if (!p || strnlen(p, AD_SEMVER_SIZE) >= AD_SEMVER_SIZE)
        return 0;
    for (i = 0; i < 3; i++) {
        p = semver_number(p);
        if (!p || (i < 2 && *p++ != '.'))
            return 0;
    }
    return *p == '\0';
}

static const char *const origin_names[] = {
    [AD_ORIGIN_MANUAL] = "manual",
    [AD_ORIGIN_MEMENTO] = "memento",
    [AD_ORIGIN_ALPHA] = "alpha",
    [AD_ORIGIN_RESEARCH] = "research",
    [AD_ORIGIN_IMPORT] = "import",
};

const struct ad__enum ad__origin_enum = { origin_names, AD_ARRAY_SIZE(origin_names), "origin" };

const char *ad_skill_origin_name(enum ad_skill_origin o)
{
    return ad__enum_name(&ad__origin_enum, (int)o);
}

int ad_skill_origin_parse(const char *s, enum ad_skill_origin *out)
{
    int i = ad__enum_parse(&ad__origin_enum, s);

    if (i < 0)
        return AD_EINVAL;
    *out = (enum ad_skill_origin)i;
    return 0;
}

/* ---- release ------------------------------------------------------------ */

void ad_skill_release(struct ad_skill *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->description);
    free(s->entry_function);
    json_decref(s->input_schema);
    free(s->status);
    memset(s, 0, sizeof(*s));
}

void ad_skill_list_free(struct ad_skill *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_skill_release(&v[i]);
    free(v);
}

void ad_skill_version_release(struct ad_skill_version *v)
{
    if (!v)
        return;
    free(v->code);
    free(v->origin_id);
    memset(v, 0, sizeof(*v));
}

void ad_skill_version_list_free(struct ad_skill_version *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_skill_version_release(&v[i]);
    free(v);
}

void ad_skill_hits_free(struct ad_skill_hit *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        ad_skill_release(&v[i].skill);
    free(v);
}

/* ---- checks ------------------------------------------------------------- */

static int check_skill_name(const char *name, struct ad_err *err)
{
    if (!name || !name[0])
        return ad_error(err, AD_EINVAL, "missing skill name");
    if (!ad_skill_name_valid(name))
        return ad_error(err, AD_EINVAL,
                        "invalid skill name '%.80s' (1 to %d of a-z, 0-9 and '_', starting and "
                        "ending with a letter or digit, no '__')", name, SKILL_NAME_MAX);
    return 0;
}

/* A Python identifier, ASCII only: the sandbox calls it by this name. */
static int check_entry(const char *entry, struct ad_err *err)
{
    size_t i;
    int rc = ad__check_text("entry_function", entry, AD_ENTRY_MAX, 1, err);

    for (i = 0; !rc && entry[i]; i++) {
        char c = entry[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9')))
            rc = ad_error(err, AD_EINVAL, "field 'entry_function': '%s' is not an identifier",
                          entry);
    }
    return rc;
}

static int check_skill_status(const char *status, struct ad_err *err)
{
    static const char *const names[] = { "active", "disabled", "deprecated", "archived" };
    size_t i;

    for (i = 0; status && i < AD_ARRAY_SIZE(names); i++) {
        if (!strcmp(status, names[i]))
            return 0;
    }
    return ad_error(err, AD_EINVAL,
                    "field 'status': '%.32s' is not active, disabled, deprecated or archived",
                    status ? status : "");
}

/*
 * The fields a skill insert and update write (the name only for an insert);
 * *schema gets input_schema's compact text. NULL description and status
 * are allowed: the callers give them their meaning.
 */
static int check_skill(const struct ad_skill *s, int insert, char **schema, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", s->tenant_id, err);

    if (!rc && !insert)
        rc = ad__check_id("skill id", s->id, err);
    if (!rc && insert)
        rc = check_skill_name(s->name, err);
    if (!rc)
        rc = ad__check_text("description", s->description, AD_SKILL_DESC_MAX, 0, err);
    if (!rc)
        rc = check_entry(s->entry_function, err);
    if (!rc && s->status)
        rc = check_skill_status(s->status, err);
    if (!rc)
        rc = ad__json_text("input_schema", s->input_schema, 1 << JSON_OBJECT, schema, err);
    return rc;
}

/* A version's own fields; skill_id and the parent only where the caller sets them. */
static int check_version(const struct ad_skill_version *v, int own_ids, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", v->tenant_id, err);

    if (!rc && own_ids)
        rc = ad__check_id("skill id", v->skill_id, err);
    if (!rc && own_ids)
        rc = ad__check_opt_id("parent version id", v->parent_version_id, err);
    if (!rc && !ad_semver_valid(v->semver))
        rc = ad_error(err, AD_EINVAL, "field 'semver': '%.32s' is not MAJOR.MINOR.PATCH",
                      v->semver);
    if (!rc)
        rc = ad__check_text("code", v->code, AD_SKILL_CODE_MAX, 1, err);
    if (!rc && !ad_skill_origin_name(v->origin))
        rc = ad_error(err, AD_EINVAL, "field 'origin': invalid value %d", (int)v->origin);
    if (!rc)
        rc = ad__check_text("origin_id", v->origin_id, ORIGIN_ID_MAX, 0, err);
    return rc;
}

/* ---- skills ------------------------------------------------------------- */

static void skill_insert_stamp(struct ad_skill *s, struct ad_skill_version *v)
{
    ad_time_now(s->created_at);
    memcpy(s->updated_at, s->created_at, AD_TIME_SIZE);
    memcpy(v->created_at, s->created_at, AD_TIME_SIZE);
    memcpy(v->tenant_id, s->tenant_id, AD_ID_SIZE);
    memcpy(v->skill_id, s->id, AD_ID_SIZE);
    v->parent_version_id[0] = '\0';
    s->current_version_id[0] = '\0';
}

/* The three writes of a new skill, in the level ad__level_begin opened. */
static int skill_insert_rows(struct ad_store *st, const struct ad_skill *s,
                             const struct ad_skill_version *v, const char *schema,
                             struct ad_err *err)
{
    struct ad_skill row = *s;
    int rc;

    /* Defaults for the row only: s's members stay the caller's. */
    if (!row.description)
        row.description = (char *)"";
    if (!row.status)
        row.status = (char *)"active";
    rc = st->ops->skills->insert(st, &row, schema, err);
    if (!rc)
        rc = st->ops->skills->version_insert(st, v, err);
    if (!rc)
        rc = st->ops->skills->set_current(st, s->tenant_id, s->id, v->id, s->created_at, err);
    return rc;
}

int ad_store_skill_insert(struct ad_store *st, struct ad_skill *s, struct ad_skill_version *v,
                          struct ad_err *err)
{
    char *schema = NULL;
    int rc;

    rc = check_skill(s, 1, &schema, err);
    if (!rc) {
        memcpy(v->tenant_id, s->tenant_id, AD_ID_SIZE);
        rc = check_version(v, 0, err);
    }
    if (!rc)
        rc = ad__new_id(s->id, err);
    if (!rc)
        rc = ad__new_id(v->id, err);
    if (!rc) {
        skill_insert_stamp(s, v);
        rc = ad__level_begin(st, err);
    }
    if (!rc)
        rc = ad__level_end(st, skill_insert_rows(st, s, v, schema, err), err);
    if (!rc)
        memcpy(s->current_version_id, v->id, AD_ID_SIZE);
    else
        s->id[0] = s->created_at[0] = s->updated_at[0] = v->id[0] = v->created_at[0] = '\0';
    free(schema);
    return rc;
}

int ad_store_skill_version_insert(struct ad_store *st, struct ad_skill_version *v,
                                  bool make_current, struct ad_err *err)
{
    int rc, own = 0;

    rc = check_version(v, 1, err);
    if (!rc)
        rc = ad__new_id(v->id, err);
    if (rc) {
        v->id[0] = '\0';
        return rc;
    }
    ad_time_now(v->created_at);
    if (make_current) {
        rc = ad__level_begin(st, err);
        if (!rc) {
            rc = st->ops->skills->version_insert(st, v, err);
            if (!rc)
                rc = st->ops->skills->set_current(st, v->tenant_id, v->skill_id, v->id,
                                                  v->created_at, err);
            rc = ad__level_end(st, rc, err);
        }
    } else {
        rc = ad__write_begin(st, &own, err);
        if (!rc)
            rc = ad__write_end(st, own, st->ops->skills->version_insert(st, v, err), err);
    }
    if (rc)
        v->id[0] = v->created_at[0] = '\0';
    return rc;
}

int ad_store_skill_set_current(struct ad_store *st, const char *tenant_id, const char *skill_id,
                               const char *version_id, struct ad_err *err)
{
    char now[AD_TIME_SIZE];
    int rc, own;

    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("skill id", skill_id, err);
    if (!rc)
        rc = ad__check_id("version id", version_id, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc)
        return rc;
    rc = st->ops->skills->set_current(st, tenant_id, skill_id, version_id, ad_time_now(now),
                                      err);
    return ad__write_end(st, own, rc, err);
}

/* A NULL status keeps the stored one; a NULL description writes "". */
int ad_store_skill_update(struct ad_store *st, struct ad_skill *s, struct ad_err *err)
{
    struct ad_skill row;
    char *schema = NULL;
    int rc, own;

    rc = check_skill(s, 0, &schema, err);
    if (!rc)
        rc = ad__write_begin(st, &own, err);
    if (rc) {
        free(schema);
        return rc;
    }
    row = *s;
    if (!row.description)
        row.description = (char *)"";
    ad_time_now(row.updated_at);
    rc = ad__write_end(st, own, st->ops->skills->update(st, &row, schema, err), err);
    if (!rc)
        memcpy(s->updated_at, row.updated_at, AD_TIME_SIZE);
    free(schema);
    return rc;
}

int ad_store_skill_get(struct ad_store *st, const char *tenant_id, const char *id,
                       struct ad_skill *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("skill id", id, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->skills->get(st, tenant_id, id, NULL, out, err);
}

int ad_store_skill_get_by_name(struct ad_store *st, const char *tenant_id, const char *name,
                               struct ad_skill *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = check_skill_name(name, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->skills->get(st, tenant_id, NULL, name, out, err);
}

int ad_store_skill_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                        int limit, struct ad_skill **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && after_name)
        rc = ad__check_text("after_name", after_name, SKILL_NAME_MAX, 0, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->skills->list(st, tenant_id, after_name, limit, out, n, err);
}

int ad_store_skill_version_get(struct ad_store *st, const char *tenant_id, const char *id,
                               struct ad_skill_version *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("version id", id, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->skills->version_get(st, tenant_id, id, NULL, NULL, out, err);
}

int ad_store_skill_version_find(struct ad_store *st, const char *tenant_id,
                                const char *skill_id, const char *semver,
                                struct ad_skill_version *out, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    if (!rc)
        rc = ad__check_id("skill id", skill_id, err);
    if (!rc && !ad_semver_valid(semver))
        rc = ad_error(err, AD_EINVAL, "invalid version '%.32s' (want MAJOR.MINOR.PATCH)",
                      semver ? semver : "");
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return st->ops->skills->version_get(st, tenant_id, NULL, skill_id, semver, out, err);
}

int ad_store_skill_version_list(struct ad_store *st, const char *tenant_id,
                                const char *skill_id, struct ad_skill_version **out, size_t *n,
                                struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("skill id", skill_id, err);
    if (rc)
        return rc;
    return st->ops->skills->version_list(st, tenant_id, skill_id, out, n, err);
}

int ad_store_skill_version_ancestry(struct ad_store *st, const char *tenant_id,
                                    const char *version_id, struct ad_skill_version **out,
                                    size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("skill version id", version_id, err);
    if (rc)
        return rc;
    return st->ops->skills->version_ancestry(st, tenant_id, version_id, out, n, err);
}

/* ---- search ------------------------------------------------------------- */

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

/*
 * The FTS5 MATCH expression for a free-text query: each word (a run of
 * ASCII letters and digits or non-ASCII bytes, lower-cased) as a quoted
 * string, OR-ed. A quoted string is never an operator, a column filter or
 * a prefix, and a word holds no '"', so no query can be a syntax error.
 * *nwords is 0 for a query without words.
 */
static int build_match(const char *query, struct ad_buf *out, int *nwords, struct ad_err *err)
{
    const unsigned char *p = (const unsigned char *)query;
    int rc = 0;

    *nwords = 0;
    while (!rc && *p && *nwords < SEARCH_WORDS_MAX) {
        if (!word_byte(*p)) {
            p++;
            continue;
        }
        rc = ad_buf_adds(out, *nwords ? " OR \"" : "\"");
        for (; !rc && word_byte(*p); p++)
            rc = ad_buf_addch(out, (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p));
        if (!rc)
            rc = ad_buf_addch(out, '"');
        (*nwords)++;
    }
    return rc ? ad_error(err, rc, "building the search expression") : 0;
}

int ad_store_skill_search(struct ad_store *st, const char *tenant_id, const char *query,
                          int limit, struct ad_skill_hit **out, size_t *n, struct ad_err *err)
{
    struct ad_buf match = AD_BUF_INIT;
    int rc, nwords = 0;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_text("query", query, AD_TASK_DESC_MAX, 0, err);
    if (!rc && !query)
        rc = ad_error(err, AD_EINVAL, "missing field 'query'");
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (!rc)
        rc = build_match(query, &match, &nwords, err);
    if (!rc && nwords > 0)
        rc = st->ops->skills->search(st, tenant_id, match.ptr, limit, out, n, err);
    ad_buf_release(&match);
    return rc;
}
