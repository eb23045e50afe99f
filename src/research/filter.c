/*
 * What autoresearch reads from text: the metric in a command's output and
 * the constitutional filter over a change's diff.
 *
 * The filter reads the diff itself, not the model's account of it: the
 * paths it touches (scope, protected), the lines it removes (assertions,
 * tests) and the lines it adds (network or subprocess calls, sleeps, a
 * metric line written as a constant). Every gate fails closed: a pattern
 * that does not compile or a diff that cannot be read fails the gate.
 */
#include "compat.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fnmatch.h>
#include <math.h>
#include <pcre2.h>

#include "autodev/buf.h"
#include "autodev/research.h"

/* ---- the metric --------------------------------------------------------- */

static int parse_value(const char *s, size_t len, double *value, struct ad_err *err)
{
    char tmp[64], *end;
    double v;

    if (len == 0 || len >= sizeof(tmp))
        return ad_error(err, AD_EINVAL, "metric value '%.*s' is not a number", (int)(len % 64), s);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    v = strtod(tmp, &end);
    if (end == tmp || *end || errno == ERANGE || !isfinite(v))
        return ad_error(err, AD_EINVAL, "metric value '%s' is not a finite number", tmp);
    *value = v;
    return 0;
}

static int extract_pattern(const char *output, const char *pattern, double *value,
                           struct ad_err *err)
{
    int ecode, rc = AD_ENOTFOUND, n;
    PCRE2_SIZE eoff, start = 0, len = strlen(output), last_s = 0, last_e = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_MULTILINE | PCRE2_UTF, &ecode, &eoff, NULL);
    pcre2_match_data *md;
    uint32_t groups = 0;

    if (!re) {
        PCRE2_UCHAR msg[120];

        pcre2_get_error_message(ecode, msg, sizeof(msg));
        return ad_error(err, AD_EINVAL, "bad pattern '%s' at offset %zu: %s", pattern,
                        (size_t)eoff, (char *)msg);
    }
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups < 1) {
        pcre2_code_free(re);
        return ad_error(err, AD_EINVAL, "pattern '%s' has no group 1 for the value", pattern);
    }
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        pcre2_code_free(re);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    /* The last match: a run prints its final value last. */
    while (start <= len) {
        PCRE2_SIZE *ov;

        n = pcre2_match(re, (PCRE2_SPTR)output, len, start, 0, md, NULL);
        if (n < 2)
            break;
        ov = pcre2_get_ovector_pointer(md);
        if (ov[2] != PCRE2_UNSET) {
            last_s = ov[2];
            last_e = ov[3];
            rc = 0;
        }
        start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (rc)
        return ad_error(err, AD_ENOTFOUND, "no match of pattern '%s' in the output", pattern);
    return parse_value(output + last_s, last_e - last_s, value, err);
}

/* "NAME: value" or "NAME=value", the name at a line's start or after a space. */
static int extract_named(const char *output, const char *name, double *value,
                         struct ad_err *err)
{
    size_t nlen = strlen(name);
    const char *p = output, *found = NULL;
    size_t found_len = 0;

    if (nlen == 0)
        return ad_error(err, AD_EINVAL, "metric name is empty");
    while ((p = strstr(p, name)) != NULL) {
        const char *q = p + nlen, *v;

        if (p == output || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '\t') {
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == ':' || *q == '=') {
                q++;
                while (*q == ' ' || *q == '\t')
                    q++;
                v = q;
                while (*q && !strchr(" \t\r\n,;", *q))
                    q++;
                if (q > v) {
                    found = v;
                    found_len = (size_t)(q - v);
                }
            }
        }
        p += nlen;
    }
    if (!found)
        return ad_error(err, AD_ENOTFOUND, "no line '%s: value' or '%s=value' in the output",
                        name, name);
    return parse_value(found, found_len, value, err);
}

int ad_research_metric_extract(const char *output, const char *name, const char *pattern,
                               double *value, struct ad_err *err)
{
    if (!output)
        output = "";
    if (pattern && *pattern)
        return extract_pattern(output, pattern, value, err);
    if (!name)
        return ad_error(err, AD_EINVAL, "metric name is required");
    return extract_named(output, name, value, err);
}

/* ---- the filter over the diff ------------------------------------------- */

struct gate_line_rule {
    const char *gate;
    char sign;               /* '+': added lines, '-': removed lines */
    const char *pattern;
};

/*
 * Patterns over changed lines. Deliberately broad: a false alarm costs one
 * iteration, a miss lets an edit game the metric.
 */
static const struct gate_line_rule line_rules[] = {
    { "deleted_tests", '-', "\\bassert\\b|\\bassert[A-Z_(]|\\bdef\\s+test_|\\bTEST(_F)?\\s*\\("
                            "|#\\[test\\]|\\b(it|test|describe)\\s*\\(|\\bexpect\\s*\\(" },
    { "network_subprocess", '+', "\\bimport\\s+(socket|requests|urllib|subprocess|http)\\b"
                                 "|\\bfrom\\s+(socket|requests|urllib|subprocess|http)\\b"
                                 "|\\bsubprocess\\.|\\bos\\.(system|popen|exec|spawn|fork)"
                                 "|\\bsocket\\s*\\(|\\b(popen|system|fork|execv|execl|execvp)\\s*\\("
                                 "|\\b(curl|wget|nc)\\s|\\bhttps?://" },
    { "sleeps", '+', "\\bsleep\\s*\\(|\\bu?sleep\\b|\\bnanosleep\\b|\\bsetTimeout\\b"
                     "|\\btime\\.sleep\\b|\\bThread\\.sleep\\b" },
};

struct diff_files {
    char **v;
    size_t n;
};

static void files_release(struct diff_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i]);
    free(f->v);
}

static int files_add(struct diff_files *f, const char *s, size_t len)
{
    char **v;

    if (len == 9 && !memcmp(s, "/dev/null", 9))
        return 0;
    for (size_t i = 0; i < f->n; i++) {
        if (strlen(f->v[i]) == len && !memcmp(f->v[i], s, len))
            return 0;
    }
    v = realloc(f->v, (f->n + 1) * sizeof(*v));
    if (!v)
        return AD_ENOMEM;
    f->v = v;
    f->v[f->n] = strndup(s, len);
    return f->v[f->n++] ? 0 : AD_ENOMEM;
}

/* The paths of "--- a/X", "+++ b/X", "rename from X", "rename to X", "diff --git a/X b/Y". */
static int diff_paths(const char *diff, struct diff_files *f)
{
    const char *p = diff;
    int rc = 0;

    while (!rc && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (len > 6 && (!memcmp(p, "--- a/", 6) || !memcmp(p, "+++ b/", 6)))
            rc = files_add(f, p + 6, len - 6);
        else if (len > 12 && !memcmp(p, "rename from ", 12))
            rc = files_add(f, p + 12, len - 12);
        else if (len > 10 && !memcmp(p, "rename to ", 10))
            rc = files_add(f, p + 10, len - 10);
        else if (len > 11 && !memcmp(p, "diff --git ", 11)) {
            const char *b = memmem(p, len, " b/", 3);

            if (b && p[11] == 'a' && p[12] == '/')
                rc = files_add(f, p + 13, (size_t)(b - p - 13));
            if (!rc && b)
                rc = files_add(f, b + 3, len - (size_t)(b + 3 - p));
        }
        p = e ? e + 1 : p + len;
    }
    return rc;
}

static int glob_match(const char *glob, const char *path)
{
    const char *base = strrchr(path, '/');

    /* "dir/" protects everything below it; a glob without a slash also matches a base name. */
    if (glob[0] && glob[strlen(glob) - 1] == '/')
        return !strncmp(path, glob, strlen(glob));
    if (fnmatch(glob, path, 0) == 0)
        return 1;
    return !strchr(glob, '/') && base && fnmatch(glob, base + 1, 0) == 0;
}

static int set_gate(json_t *results, const char *gate, int ok, const char *detail)
{
    json_t *g = json_pack("{s:b, s:s}", "ok", ok, "detail", detail ? detail : "");

    if (!g || json_object_set_new(results, gate, g) < 0)
        return AD_ENOMEM;
    return 0;
}

static int gate_paths(json_t *results, const struct diff_files *f, const json_t *rules)
{
    const json_t *allowed = json_object_get(rules, "allowed");
    const json_t *protect = json_object_get(rules, "protect");
    const char *out_of_scope = NULL, *hit = NULL;
    size_t i, j;
    json_t *v;
    int rc;

    for (i = 0; i < f->n && !out_of_scope; i++) {
        int in = 0;

        json_array_foreach(allowed, j, v) {
            if (json_is_string(v) && !strcmp(json_string_value(v), f->v[i]))
                in = 1;
        }
        if (!in)
            out_of_scope = f->v[i];
    }
    for (i = 0; i < f->n && !hit; i++) {
        json_array_foreach(protect, j, v) {
            if (json_is_string(v) && glob_match(json_string_value(v), f->v[i]))
                hit = f->v[i];
        }
    }
    rc = set_gate(results, "scope", !out_of_scope && json_is_array(allowed),
                  !json_is_array(allowed) ? "no list of editable files (fails closed)"
                  : out_of_scope ? out_of_scope : NULL);
    if (!rc)
        rc = set_gate(results, "protected", !hit && (!protect || json_is_array(protect)),
                      hit ? hit : NULL);
    return rc;
}

/* The first changed line of sign that re matches, or an error (the gate then fails). */
static int scan_lines(const char *diff, char sign, const char *pattern, struct ad_buf *hit)
{
    int ecode, rc = 0;
    PCRE2_SIZE eoff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                   &ecode, &eoff, NULL);
    pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    const char *p = diff;

    if (!re || !md) {
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        return AD_EINVAL;
    }
    while (*p && !hit->len) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (len > 0 && p[0] == sign && !(len >= 3 && p[1] == sign && p[2] == sign) &&
            pcre2_match(re, (PCRE2_SPTR)p + 1, len - 1, 0, 0, md, NULL) >= 0)
            rc = ad_buf_add(hit, p + 1, len - 1 > 200 ? 200 : len - 1);
        p = e ? e + 1 : p + len;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

static int gate_lines(json_t *results, const char *diff, const char *gate, char sign,
                      const char *pattern)
{
    struct ad_buf hit;
    int rc;

    ad_buf_init(&hit, 4096);
    rc = scan_lines(diff, sign, pattern, &hit);
    if (rc == AD_EINVAL)
        rc = set_gate(results, gate, 0, "pattern does not compile (fails closed)");
    else if (!rc)
        rc = set_gate(results, gate, hit.len == 0, hit.len ? hit.ptr : NULL);
    ad_buf_release(&hit);
    return rc;
}

/* A metric line written as a constant: "NAME: 1.5" / "NAME=1.5" in an added line. */
static int gate_metric(json_t *results, const char *diff, const json_t *rules)
{
    const char *metric = json_string_value(json_object_get(rules, "metric"));
    struct ad_buf pat;
    int rc;

    if (!metric || !*metric)
        return set_gate(results, "hardcoded_metric", 0, "no metric name (fails closed)");
    ad_buf_init(&pat, 4096);
    rc = ad_buf_adds(&pat, "\\Q");
    for (const char *c = metric; !rc && *c; c++)
        rc = *c == '\\' ? ad_buf_adds(&pat, "\\E\\\\\\Q") : ad_buf_addch(&pat, *c);
    if (!rc)
        rc = ad_buf_adds(&pat, "\\E\\s*[:=]\\s*[-+]?[0-9.]");
    if (!rc)
        rc = gate_lines(results, diff, "hardcoded_metric", '+', pat.ptr);
    ad_buf_release(&pat);
    return rc;
}

/*
 * The rules file's rules (rules["rules"]): each one a gate "rule:NAME". A
 * rule that is not a well-formed object fails its gate (fails closed).
 */
static int gate_custom(json_t *results, const char *diff, const struct diff_files *f,
                       const json_t *rules)
{
    size_t i;
    json_t *r;
    int rc = 0;

    json_array_foreach(json_object_get(rules, "rules"), i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *kind = json_string_value(json_object_get(r, "kind"));
        const char *pat = json_string_value(json_object_get(r, "pattern"));
        char gate[100];

        snprintf(gate, sizeof(gate), "rule:%.64s", name ? name : "?");
        if (rc)
            break;
        if (!name || !kind || !pat) {
            rc = set_gate(results, gate, 0, "malformed rule (fails closed)");
        } else if (!strcmp(kind, "protect")) {
            const char *hit = NULL;

            for (size_t k = 0; k < f->n && !hit; k++) {
                if (glob_match(pat, f->v[k]))
                    hit = f->v[k];
            }
            rc = set_gate(results, gate, !hit, hit);
        } else if (!strcmp(kind, "added") || !strcmp(kind, "deleted")) {
            rc = gate_lines(results, diff, gate, kind[0] == 'a' ? '+' : '-', pat);
        } else {
            rc = set_gate(results, gate, 0, "unknown rule kind (fails closed)");
        }
    }
    return rc;
}

int ad_research_gates_check(const char *diff, const json_t *rules, json_t **results,
                            int *passed, struct ad_err *err)
{
    struct diff_files f = { NULL, 0 };
    json_t *r = json_object(), *g;
    const char *key;
    int rc;

    *results = NULL;
    *passed = 0;
    if (!r)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (!diff || !json_is_object(rules))
        rc = set_gate(r, "diff", 0, "no diff or no rules (fails closed)");
    else
        rc = diff_paths(diff, &f);
    if (!rc && diff && json_is_object(rules)) {
        rc = set_gate(r, "diff", f.n > 0, f.n ? NULL : "the diff touches no file");
        if (!rc)
            rc = gate_paths(r, &f, rules);
        for (size_t i = 0; !rc && i < AD_ARRAY_SIZE(line_rules); i++)
            rc = gate_lines(r, diff, line_rules[i].gate, line_rules[i].sign,
                            line_rules[i].pattern);
        if (!rc)
            rc = gate_metric(r, diff, rules);
        if (!rc)
            rc = gate_custom(r, diff, &f, rules);
    }
    files_release(&f);
    if (rc) {
        json_decref(r);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    *passed = 1;
    json_object_foreach(r, key, g) {
        if (!json_is_true(json_object_get(g, "ok")))
            *passed = 0;
    }
    *results = r;
    return 0;
}
