/*
 * A skill's two names and its versions.
 *
 * The catalog names a skill word_count (a Python identifier, so it can
 * double as a tool name) and an Agent Skills folder names it word-count.
 * The Agent Skills specification (agentskills.io/specification, and the
 * skills-ref validator that implements it) requires of "name": 1 to 64
 * characters, lowercase letters, digits and '-' only, not starting or
 * ending with '-', no "--", equal to the folder's name. The catalog rule
 * (ad_skill_name_valid) is the same with '_', so swapping the separator
 * maps each valid name to exactly one valid name of the other form.
 *
 * Letters are ASCII only, which keeps every name a Python identifier
 * fragment and a portable file name.
 */
#include "compat.h"

#include "autodev/skill.h"
#include "autodev/store.h"

#define NAME_MAX_LEN 64

static int name_char(char c, char sep)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == sep;
}

/* Which rule name breaks in the form whose separator is sep; NULL when none. */
static const char *name_rule(const char *name, char sep)
{
    size_t n = strlen(name);

    if (n == 0)
        return "it is empty";
    if (n > NAME_MAX_LEN)
        return "it is longer than 64 characters";
    for (size_t i = 0; i < n; i++) {
        if (!name_char(name[i], sep))
            return sep == '-' ? "only a-z, 0-9 and '-' are allowed"
                              : "only a-z, 0-9 and '_' are allowed";
        if (i > 0 && name[i] == sep && name[i - 1] == sep)
            return sep == '-' ? "it contains \"--\"" : "it contains \"__\"";
    }
    if (name[0] == sep || name[n - 1] == sep)
        return sep == '-' ? "it starts or ends with '-'" : "it starts or ends with '_'";
    return NULL;
}

int ad_agentskills_name_valid(const char *name)
{
    return name && !name_rule(name, '-');
}

/* Copies name into out with from replaced by to. */
static int map_name(const char *name, char from, char to, char *out, size_t outsz,
                    struct ad_err *err)
{
    size_t n = strlen(name);

    if (outsz <= n)
        return ad_error(err, AD_ETOOBIG, "no room for skill name '%.64s'", name);
    for (size_t i = 0; i < n; i++)
        out[i] = name[i] == from ? to : name[i];
    out[n] = '\0';
    return 0;
}

int ad_skill_name_to_agentskills(const char *name, char *out, size_t outsz, struct ad_err *err)
{
    const char *why;

    if (!name)
        return ad_error(err, AD_EINVAL, "missing skill name");
    if (!ad_skill_name_valid(name)) {
        why = name_rule(name, '_');
        return ad_error(err, AD_EINVAL, "invalid skill name '%.80s': %s", name,
                        why ? why : "it breaks the catalog's naming rule");
    }
    return map_name(name, '_', '-', out, outsz, err);
}

int ad_skill_name_from_agentskills(const char *name, char *out, size_t outsz,
                                   struct ad_err *err)
{
    const char *why;

    if (!name)
        return ad_error(err, AD_EINVAL, "missing agent skills name");
    why = name_rule(name, '-');
    if (why)
        return ad_error(err, AD_EINVAL, "invalid agent skills name '%.80s': %s", name, why);
    return map_name(name, '-', '_', out, outsz, err);
}

/* ---- versions -------------------------------------------------------------- */

int ad_semver_parse(const char *s, struct ad_semver *out, struct ad_err *err)
{
    unsigned v[3] = { 0, 0, 0 };
    int k = 0;

    if (!s || !ad_semver_valid(s))
        return ad_error(err, AD_EINVAL,
                        "invalid version '%.40s' (want MAJOR.MINOR.PATCH, numbers without "
                        "leading zeros)", s ? s : "");
    /* ad_semver_valid bounds each part below 2^31: no overflow here. */
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            k++;
        else
            v[k] = v[k] * 10 + (unsigned)(*p - '0');
    }
    out->major = v[0];
    out->minor = v[1];
    out->patch = v[2];
    return 0;
}

void ad_semver_format(const struct ad_semver *v, char out[AD_SEMVER_SIZE])
{
    snprintf(out, AD_SEMVER_SIZE, "%u.%u.%u", v->major, v->minor, v->patch);
}

static int cmp_part(unsigned a, unsigned b)
{
    return a < b ? -1 : a > b;
}

int ad_semver_cmp(const struct ad_semver *a, const struct ad_semver *b)
{
    if (a->major != b->major)
        return cmp_part(a->major, b->major);
    if (a->minor != b->minor)
        return cmp_part(a->minor, b->minor);
    return cmp_part(a->patch, b->patch);
}

/*
 * Past 2^31 - 1 a part gives a version ad_semver_valid refuses, so the
 * store turns it down rather than a wrapped number reusing an old one.
 */
void ad_semver_bump(struct ad_semver *v, enum ad_semver_bump how)
{
    switch (how) {
    case AD_BUMP_MAJOR:
        v->major++;
        v->minor = 0;
        v->patch = 0;
        break;
    case AD_BUMP_PATCH:
        v->patch++;
        break;
    case AD_BUMP_MINOR:
    default:
        v->minor++;
        v->patch = 0;
        break;
    }
}
