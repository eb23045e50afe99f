/*
 * Secondary metrics: numbers read from the same output as the metric,
 * recorded per iteration, that a keep must not worsen past a margin.
 *
 * A spec is an object {"name", "pattern"?, "direction", "margin",
 * "relative"}, or the CLI's string NAME[:PATTERN]:lower|higher:MARGIN
 * (MARGIN a number in the metric's unit, or N% of the baseline's value).
 * The comparison is with the baseline, not with the last keep: margins do
 * not add up over a session of small keeps. The gate fails closed: a
 * value that cannot be read (in the run or, at setup, in the baseline)
 * blocks the keep.
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/json.h"
#include "autodev/research.h"

#include "research_int.h"

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

/* "NAME[:PATTERN]:lower|higher:MARGIN" into an object spec. */
static int parse_string(const char *s, json_t **out, struct ad_err *err)
{
    const char *c1 = strchr(s, ':'), *last = strrchr(s, ':'), *mid;
    char dir[16], *end;
    size_t plen;
    double margin;
    int relative = 0;

    *out = NULL;
    if (!c1 || c1 == s || c1 == last)
        goto bad;
    for (mid = last - 1; mid > c1 && *mid != ':'; mid--)
        ;
    /* NAME:DIR:MARGIN when mid reached c1; else NAME:PATTERN:DIR:MARGIN. */
    if ((size_t)(last - mid - 1) >= sizeof(dir))
        goto bad;
    memcpy(dir, mid + 1, (size_t)(last - mid - 1));
    dir[last - mid - 1] = '\0';
    if (strcmp(dir, "lower") && strcmp(dir, "higher"))
        goto bad;
    errno = 0;
    margin = strtod(last + 1, &end);
    if (end == last + 1 || errno || !isfinite(margin) || margin < 0)
        goto bad;
    if (*end == '%') {
        relative = 1;
        end++;
    }
    if (*end)
        goto bad;
    plen = mid > c1 ? (size_t)(mid - c1 - 1) : 0;
    *out = json_pack("{s:s%, s:s, s:f, s:b}", "name", s, (size_t)(c1 - s), "direction", dir,
                     "margin", margin, "relative", relative);
    if (*out && plen > 0 && json_object_set_new(*out, "pattern", json_stringn(c1 + 1, plen)) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return *out ? 0 : oom(err);
bad:
    return ad_error(err, AD_EINVAL, "secondary '%s': expected NAME[:PATTERN]:lower|higher:MARGIN"
                    " (MARGIN a number >= 0, or N%% of the baseline)", s);
}

/* Checks an object spec; a pattern must compile and have a group 1. */
static int check_spec(const json_t *o, struct ad_err *err)
{
    static const char *const keys[] = { "name", "pattern", "direction", "margin", "relative",
                                        NULL };
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *dir = json_string_value(json_object_get(o, "direction"));
    const char *pat = json_string_value(json_object_get(o, "pattern"));
    const json_t *m = json_object_get(o, "margin"), *rel = json_object_get(o, "relative");
    struct ad_err perr = AD_ERR_INIT;
    double ignored;
    int rc = ad_json_check_keys(o, keys, err);

    if (rc)
        return rc;
    if (!name || !*name || strpbrk(name, " \t\r\n:"))
        return ad_error(err, AD_EINVAL, "secondary: name is required (no spaces or ':')");
    if (!dir || (strcmp(dir, "lower") && strcmp(dir, "higher")))
        return ad_error(err, AD_EINVAL, "secondary '%s': direction must be lower or higher",
                        name);
    if (!json_is_number(m) || json_number_value(m) < 0 || !isfinite(json_number_value(m)))
        return ad_error(err, AD_EINVAL, "secondary '%s': margin must be a number >= 0", name);
    if (rel && !json_is_boolean(rel))
        return ad_error(err, AD_EINVAL, "secondary '%s': relative must be true or false", name);
    if (json_object_get(o, "pattern") && !pat)
        return ad_error(err, AD_EINVAL, "secondary '%s': pattern must be a string", name);
    if (pat && ad_research_metric_extract("", NULL, pat, &ignored, &perr) == AD_EINVAL)
        return ad_error(err, AD_EINVAL, "secondary '%s': %s", name, perr.msg);
    return 0;
}

int ad__research_secondary_config(const json_t *in, const char *metric, json_t **out,
                                  struct ad_err *err)
{
    json_t *arr = json_array(), *v;
    size_t i;
    int rc = arr ? 0 : oom(err);

    *out = NULL;
    if (!rc && in && !json_is_array(in))
        rc = ad_error(err, AD_EINVAL, "secondary must be an array of specs");
    json_array_foreach(in, i, v) {
        json_t *spec = NULL;

        if (rc)
            break;
        if (json_is_string(v))
            rc = parse_string(json_string_value(v), &spec, err);
        else if (json_is_object(v) && !(spec = json_deep_copy(v)))
            rc = oom(err);
        else if (!json_is_object(v))
            rc = ad_error(err, AD_EINVAL, "secondary: every spec is a string or an object");
        if (!rc && !json_object_get(spec, "relative"))
            rc = json_object_set_new(spec, "relative", json_false()) < 0 ? oom(err) : 0;
        if (!rc)
            rc = check_spec(spec, err);
        for (size_t j = 0; !rc && j < i; j++) {
            if (!strcmp(json_string_value(json_object_get(json_array_get(arr, j), "name")),
                        json_string_value(json_object_get(spec, "name"))))
                rc = ad_error(err, AD_EINVAL, "secondary '%s' is given twice",
                              json_string_value(json_object_get(spec, "name")));
        }
        if (!rc && metric && !strcmp(metric, json_string_value(json_object_get(spec, "name"))))
            rc = ad_error(err, AD_EINVAL, "secondary '%s' is the metric itself", metric);
        if (!rc)
            rc = json_array_append(arr, spec) < 0 ? oom(err) : 0;
        json_decref(spec);
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int ad__research_secondary_read(const json_t *specs, const char *output, json_t *values,
                                json_t *errors, struct ad_err *err)
{
    size_t i;
    json_t *spec;

    json_array_foreach(specs, i, spec) {
        const char *name = json_string_value(json_object_get(spec, "name"));
        struct ad_err merr = AD_ERR_INIT;
        json_t *arr = json_object_get(values, name);
        double v;

        if (!arr) {
            arr = json_array();
            if (!arr || json_object_set_new(values, name, arr) < 0)
                return oom(err);
        }
        if (ad_research_metric_extract(output, name,
                                       json_string_value(json_object_get(spec, "pattern")), &v,
                                       &merr) < 0) {
            if (!json_object_get(errors, name) &&
                json_object_set_new(errors, name, json_string(merr.msg)) < 0)
                return oom(err);
        } else if (json_array_append_new(arr, json_real(v)) < 0) {
            return oom(err);
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int ad__research_secondary_finish(const json_t *values, const json_t *errors, json_t *detail,
                                  struct ad_err *err)
{
    json_t *med = json_object(), *arr;
    const char *name;

    if (!med)
        return oom(err);
    json_object_foreach((json_t *)values, name, arr) {
        size_t n = json_array_size(arr);
        double v[64];
        json_t *m = json_null();

        if (!json_object_get(errors, name) && n > 0 && n <= 64) {
            for (size_t i = 0; i < n; i++)
                v[i] = json_number_value(json_array_get(arr, i));
            qsort(v, n, sizeof(v[0]), cmp_double);
            m = json_real(n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
        }
        if (json_object_set_new(med, name, m) < 0) {
            json_decref(med);
            return oom(err);
        }
    }
    if (json_object_set_new(detail, "secondary", med) < 0)
        return oom(err);
    if (json_object_size(errors) &&
        json_object_set(detail, "secondary_errors", (json_t *)errors) < 0)
        return oom(err);
    return 0;
}

int ad__research_secondary_gates(const json_t *specs, const json_t *baseline,
                                 const json_t *detail, json_t *gates, int *passed,
                                 struct ad_err *err)
{
    const json_t *cur = json_object_get(detail, "secondary");
    const json_t *errs = json_object_get(detail, "secondary_errors");
    size_t i;
    json_t *spec;

    json_array_foreach(specs, i, spec) {
        const char *name = json_string_value(json_object_get(spec, "name"));
        const json_t *b = json_object_get(baseline, name), *c = json_object_get(cur, name);
        double margin = json_number_value(json_object_get(spec, "margin")), allowed, worse;
        int lower = !strcmp(json_string_value(json_object_get(spec, "direction")), "lower");
        char gate[200], text[400];
        int ok = 0;

        snprintf(gate, sizeof(gate), "secondary:%s", name);
        if (!json_is_number(b)) {
            snprintf(text, sizeof(text), "no baseline value (fails closed)");
        } else if (!json_is_number(c)) {
            snprintf(text, sizeof(text), "cannot read it (fails closed): %.300s",
                     json_string_value(json_object_get(errs, name))
                         ? json_string_value(json_object_get(errs, name))
                         : "no value");
        } else {
            allowed = json_is_true(json_object_get(spec, "relative"))
                          ? fabs(json_number_value(b)) * margin / 100 : margin;
            worse = lower ? json_number_value(c) - json_number_value(b)
                          : json_number_value(b) - json_number_value(c);
            ok = worse <= allowed;
            snprintf(text, sizeof(text), "%.6g against the baseline's %.6g: %s by %.6g, "
                     "allowed %.6g", json_number_value(c), json_number_value(b),
                     worse > 0 ? "worse" : "not worse", fabs(worse), allowed);
        }
        if (!ok)
            *passed = 0;
        if (json_object_set_new(gates, gate, json_pack("{s:b, s:s}", "ok", ok, "detail", text))
            < 0)
            return oom(err);
    }
    return 0;
}
