/*
 * Checking a run's input against the skill's input schema before the
 * sandbox starts, so a wrong field is "unknown field 'txt' (expected
 * text)" and not a Python traceback from deep inside the skill.
 *
 * The check follows the harness's rule for calling the entry
 * (src/sandbox/sandbox_harness.c): an object whose keys fit the
 * parameters (every key a property, or additionalProperties allowing it,
 * and every required one present; null counts as {}) is passed as keyword
 * arguments, and then each value must fit its property's schema; anything
 * else is passed as the one positional argument, which must then fit the
 * first property's schema, with no other property required. It checks
 * what the schemas of skill_schema.c say (type, with "integer" accepting a
 * real of integral value as Python's int() would not need; enum; items;
 * nested properties, required and additionalProperties) and nothing a
 * schema there cannot say, so a call it lets through is one the harness
 * makes the way the schema describes.
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/json.h"
#include "autodev/skill.h"

#define NEST_MAX 32

/* "string", "an integer", ... of a JSON value, for messages. */
static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int type_matches(const char *type, const json_t *v)
{
    if (!strcmp(type, "string"))
        return json_is_string(v);
    if (!strcmp(type, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
    if (!strcmp(type, "number"))
        return json_is_number(v);
    if (!strcmp(type, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(type, "null"))
        return json_is_null(v);
    if (!strcmp(type, "array"))
        return json_is_array(v);
    if (!strcmp(type, "object"))
        return json_is_object(v);
    return 1;   /* a type this check does not know constrains nothing */
}

/* The "type" of schema as words ("string or null") into b; 1 when v has one of them. */
static int types_match(const json_t *type, const json_t *v, struct ad_buf *b)
{
    size_t i;
    json_t *t;

    if (json_is_string(type)) {
        ad_buf_adds(b, json_string_value(type));
        return type_matches(json_string_value(type), v);
    }
    if (!json_is_array(type) || json_array_size(type) == 0)
        return 1;
    json_array_foreach(type, i, t) {
        if (!json_is_string(t))
            return 1;
        ad_buf_addf(b, "%s%s", i == 0 ? "" : i + 1 == json_array_size(type) ? " or " : ", ",
                    json_string_value(t));
    }
    json_array_foreach(type, i, t) {
        if (type_matches(json_string_value(t), v))
            return 1;
    }
    return 0;
}

/* "text", "a.b", "xs[2]": where in the input a value is. */
static int value_check(const json_t *schema, const json_t *v, struct ad_buf *path, int depth,
                       struct ad_err *err);

static int object_check(const json_t *schema, const json_t *v, struct ad_buf *path, int depth,
                        struct ad_err *err);

static int fail_at(const struct ad_buf *path, struct ad_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const struct ad_buf *path, struct ad_err *err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (path->len)
        return ad_error(err, AD_EINVAL, "field '%s': %s", path->ptr, msg);
    return ad_error(err, AD_EINVAL, "input: %s", msg);
}

static int value_check(const json_t *schema, const json_t *v, struct ad_buf *path, int depth,
                       struct ad_err *err)
{
    struct ad_buf want = AD_BUF_INIT;
    const json_t *en = json_object_get(schema, "enum");
    const json_t *items = json_object_get(schema, "items");
    size_t i, len = path->len;
    json_t *x;
    int ok, rc = 0;

    if (!json_is_object(schema) || depth > NEST_MAX)
        return 0;
    ok = types_match(json_object_get(schema, "type"), v, &want);
    if (!ok)
        rc = fail_at(path, err, "expected %s, got %s", want.ptr ? want.ptr : "?", kind_of(v));
    ad_buf_release(&want);
    if (rc)
        return rc;
    if (json_is_array(en) && json_array_size(en) > 0) {
        ok = 0;
        json_array_foreach(en, i, x)
            ok |= ad_json_equal_loose(x, v);
        if (!ok) {
            char *s = ad_json_dumps(en);

            rc = fail_at(path, err, "expected one of %.300s", s ? s : "the enum");
            free(s);
            return rc;
        }
    }
    if (json_is_array(v) && json_is_object(items)) {
        json_array_foreach(v, i, x) {
            ad_buf_addf(path, "[%zu]", i);
            rc = value_check(items, x, path, depth + 1, err);
            path->len = len;
            path->ptr[len] = '\0';
            if (rc)
                return rc;
        }
    }
    if (json_is_object(v) && (json_object_get(schema, "properties") ||
                              json_object_get(schema, "required") ||
                              !json_is_true(json_object_get(schema, "additionalProperties"))))
        return object_check(schema, v, path, depth + 1, err);
    return 0;
}

/* The property names of schema as "a, b or c" into b; "no argument" when none. */
static void names_of(const json_t *props, struct ad_buf *b)
{
    size_t n = json_object_size(props), i = 0;
    const char *k;
    json_t *x;

    if (n == 0) {
        ad_buf_adds(b, "no field");
        return;
    }
    json_object_foreach((json_t *)props, k, x) {
        ad_buf_addf(b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", k);
        i++;
    }
}

/* The first key of v that schema does not allow, or NULL. */
static const char *unknown_key(const json_t *schema, const json_t *v)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    const char *k;
    json_t *x;

    if (!json_is_false(extra))
        return NULL;
    json_object_foreach((json_t *)v, k, x) {
        if (!json_object_get(props, k))
            return k;
    }
    return NULL;
}

/* The first required property v lacks, or NULL. */
static const char *missing_key(const json_t *schema, const json_t *v)
{
    const json_t *req = json_object_get(schema, "required");
    size_t i;
    json_t *r;

    json_array_foreach(req, i, r) {
        if (json_is_string(r) && !json_object_get(v, json_string_value(r)))
            return json_string_value(r);
    }
    return NULL;
}

static void path_join(struct ad_buf *path, const char *key)
{
    ad_buf_addf(path, "%s%s", path->len ? "." : "", key);
}

static int object_check(const json_t *schema, const json_t *v, struct ad_buf *path, int depth,
                        struct ad_err *err)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    const char *bad = unknown_key(schema, v), *k;
    size_t len = path->len;
    json_t *x;
    int rc = 0;

    if (bad) {
        struct ad_buf names = AD_BUF_INIT;

        names_of(props, &names);
        path_join(path, bad);
        rc = ad_error(err, AD_EINVAL, "unknown field '%s' (expected %s)", path->ptr,
                      names.ptr ? names.ptr : "?");
        ad_buf_release(&names);
        return rc;
    }
    if ((bad = missing_key(schema, v))) {
        path_join(path, bad);
        return ad_error(err, AD_EINVAL, "missing field '%s'", path->ptr);
    }
    json_object_foreach((json_t *)v, k, x) {
        const json_t *sub = json_object_get(props, k);

        if (!sub && json_is_object(extra))
            sub = extra;   /* dict[str, V]: every value a V */
        path_join(path, k);
        rc = sub ? value_check(sub, x, path, depth, err) : 0;
        path->len = len;
        if (path->ptr)
            path->ptr[len] = '\0';
        if (rc)
            return rc;
    }
    return 0;
}

/* Whether v's keys fit schema's parameters the way the harness decides to pass keywords. */
static int fits_keywords(const json_t *schema, const json_t *v)
{
    return json_is_object(v) && !unknown_key(schema, v) && !missing_key(schema, v);
}

/*
 * The first property, when the input may go to it as the one positional
 * argument: no other property is required.
 */
static const json_t *positional(const json_t *schema, const char **name)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *req = json_object_get(schema, "required");
    void *it = json_object_iter((json_t *)props);
    size_t i;
    json_t *r;

    if (!it)
        return NULL;
    *name = json_object_iter_key(it);
    json_array_foreach(req, i, r) {
        if (!json_is_string(r) || strcmp(json_string_value(r), *name) != 0)
            return NULL;
    }
    return json_object_iter_value(it);
}

int ad_skill_input_check(const json_t *schema, const json_t *input, struct ad_err *err)
{
    struct ad_buf path = AD_BUF_INIT;
    const json_t *first, *given = input ? input : json_null();
    const char *name = NULL;
    json_t *empty = NULL;
    int rc;

    if (!json_is_object(schema))
        return 0;
    /* A null input is no keyword at all; if that does not fit, it is the one argument. */
    if (json_is_null(given)) {
        empty = json_object();
        if (!empty)
            return ad_error(err, AD_ENOMEM, "out of memory");
        input = empty;
    }
    if (fits_keywords(schema, input)) {
        rc = object_check(schema, input, &path, 0, err);
    } else if ((first = positional(schema, &name)) &&
               value_check(first, given, &path, 0, NULL) == 0) {
        rc = 0;
    } else if (json_is_object(input)) {
        /* Meant as keywords: say which key is wrong. */
        rc = object_check(schema, input, &path, 0, err);
        if (rc == 0)
            rc = ad_error(err, AD_EINVAL, "input does not fit the parameters");
    } else if (first) {
        ad_buf_adds(&path, name);
        rc = value_check(first, input, &path, 0, err);
        if (rc == 0)
            rc = ad_error(err, AD_EINVAL, "input: expected an object of the parameters");
    } else {
        rc = ad_error(err, AD_EINVAL, "input: the function takes no argument, got %s",
                      kind_of(input));
    }
    ad_buf_release(&path);
    json_decref(empty);
    return rc;
}
