/*
 * The rules file: the constitutional filter's own rules, named, read once
 * at setup (the session keeps them in its config, so an edit of the file
 * changes nothing for the session; the file is protected besides).
 *
 *   # a comment; blank lines are ignored
 *   protect NAME GLOB       no edit may touch a path GLOB matches (and the
 *                           sandbox binds it read-only)
 *   added NAME PCRE2        no added line may match PCRE2
 *   deleted NAME PCRE2      no removed line may match PCRE2
 *
 * NAME is [A-Za-z0-9_.-], at most 64 bytes, unique in the file; the rest of
 * the line after one run of blanks is the glob or the pattern. A rule that
 * fails is the gate "rule:NAME".
 */
#include "compat.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>

#include "autodev/buf.h"

#include "research_int.h"

#define RULES_MAX_BYTES (1u << 20)
#define RULES_MAX 256

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return 0;
    }
    return 1;
}

static int pattern_ok(const char *pat, char *why, size_t n)
{
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ecode,
                                   &eoff, NULL);
    PCRE2_UCHAR msg[120];

    if (re) {
        pcre2_code_free(re);
        return 1;
    }
    pcre2_get_error_message(ecode, msg, sizeof(msg));
    snprintf(why, n, "the pattern does not compile at offset %zu: %s", (size_t)eoff,
             (char *)msg);
    return 0;
}

/* One line (NUL-terminated, no newline) into rules; why gets the reason when it is bad. */
static int parse_line(char *line, json_t *rules, char *why, size_t n)
{
    char *p = line, *kind, *name, *rest;
    size_t klen, nlen;
    size_t i;
    json_t *r;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return 0;
    kind = p;
    klen = strcspn(p, " \t");
    p += klen;
    p += strspn(p, " \t");
    name = p;
    nlen = strcspn(p, " \t");
    p += nlen;
    p += strspn(p, " \t");
    rest = p;
    for (char *e = rest + strlen(rest); e > rest && (e[-1] == ' ' || e[-1] == '\t' ||
                                                     e[-1] == '\r'); e--)
        e[-1] = '\0';
    if (!((klen == 7 && !memcmp(kind, "protect", 7)) || (klen == 5 && !memcmp(kind, "added", 5)) ||
          (klen == 7 && !memcmp(kind, "deleted", 7)))) {
        snprintf(why, n, "unknown rule kind '%.*s' (protect, added or deleted)", (int)klen % 64,
                 kind);
        return AD_EINVAL;
    }
    if (!name_ok(name, nlen)) {
        snprintf(why, n, "a rule needs a NAME of [A-Za-z0-9_.-] (at most 64) after its kind");
        return AD_EINVAL;
    }
    if (!*rest) {
        snprintf(why, n, "rule '%.*s' has no %s", (int)nlen, name,
                 kind[0] == 'p' ? "glob" : "pattern");
        return AD_EINVAL;
    }
    json_array_foreach(rules, i, r) {
        const char *other = json_string_value(json_object_get(r, "name"));

        if (strlen(other) == nlen && !memcmp(other, name, nlen)) {
            snprintf(why, n, "rule '%s' is named twice", other);
            return AD_EINVAL;
        }
    }
    if (kind[0] != 'p' && !pattern_ok(rest, why, n))
        return AD_EINVAL;
    if (json_array_size(rules) >= RULES_MAX) {
        snprintf(why, n, "more than %d rules", RULES_MAX);
        return AD_EINVAL;
    }
    r = json_pack("{s:s%, s:s%, s:s}", "name", name, nlen, "kind", kind, klen, "pattern", rest);
    if (!r || json_array_append_new(rules, r) < 0)
        return AD_ENOMEM;
    return 0;
}

int ad__research_rules_load(const char *path, json_t **out, struct ad_err *err)
{
    FILE *f = fopen(path, "rb");
    json_t *rules = json_array();
    char *text = NULL, why[300];
    size_t len = 0;
    int rc = 0, lineno = 0;

    *out = NULL;
    if (!f) {
        json_decref(rules);
        return ad_error(err, AD_EINVAL, "cannot read the rules file '%s': %s", path,
                        strerror(errno));
    }
    text = rules ? malloc(RULES_MAX_BYTES + 1) : NULL;
    if (!text)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (!rc) {
        len = fread(text, 1, RULES_MAX_BYTES + 1, f);
        if (ferror(f))
            rc = ad_error(err, AD_EIO, "cannot read the rules file '%s'", path);
        else if (len > RULES_MAX_BYTES)
            rc = ad_error(err, AD_EINVAL, "the rules file '%s' is over %u bytes", path,
                          RULES_MAX_BYTES);
        else
            text[len] = '\0';
    }
    fclose(f);
    if (!rc && memchr(text, '\0', len))
        rc = ad_error(err, AD_EINVAL, "the rules file '%s' is not text (a NUL byte)", path);
    for (char *line = text, *nl; !rc && line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        rc = parse_line(line, rules, why, sizeof(why));
        if (rc == AD_EINVAL)
            rc = ad_error(err, AD_EINVAL, "rules file '%s' line %d: %s", path, lineno, why);
        else if (rc)
            rc = ad_error(err, rc, "out of memory");
    }
    free(text);
    if (rc) {
        json_decref(rules);
        return rc;
    }
    *out = rules;
    return 0;
}
