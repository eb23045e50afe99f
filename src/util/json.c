#include "compat.h"

#include <math.h>

#include "autodev/json.h"

int ad_json_parse(const char *text, size_t len, size_t max_len, json_t **out,
                  struct ad_err *err)
{
    json_error_t jerr;
    json_t *v = NULL;

    *out = NULL;
    if (len > max_len)
        return ad_error(err, AD_ETOOBIG, "json document of %zu bytes exceeds the %zu-byte limit",
                        len, max_len);
    /*
     * JSON_REJECT_DUPLICATES: {"success": true, "success": false} is an
     * attack or a bug, never something to resolve silently.
     */
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v && ad_json_load_code(&jerr) == AD_ENOMEM)
        return ad_error(err, AD_ENOMEM, "out of memory reading json");
    if (!v)
        return ad_error(err, AD_EINVAL, "invalid json at line %d, column %d: %s", jerr.line,
                        jerr.column, jerr.text);
    *out = v;
    return 0;
}

int ad_json_load_code(const json_error_t *jerr)
{
    /*
     * jansson returns NULL without a message when it cannot allocate a
     * value (json_object() in parse_object) or its token buffer (lex_init),
     * and says json_error_out_of_memory in a few other places.
     */
    if (json_error_code(jerr) == json_error_out_of_memory || !jerr->text[0])
        return AD_ENOMEM;
    return AD_EINVAL;
}

/* ---- reals: the shortest text that reads back as the same double -------- */

/*
 * jansson prints every real with JSON_REAL_PRECISION(17), "%.17g", which
 * round-trips but shows 0.524 as 0.52400000000000002. The shortest of
 * "%.15g", "%.16g", "%.17g" that strtod() reads back as x does not. The
 * exponent is written as jansson writes it (no '+', no leading zeros) and
 * a real that would read as an integer keeps ".0", so a reader sees the
 * same type.
 */
int ad_json_real_format(double x, char out[AD_JSON_REAL_SIZE])
{
    char tmp[AD_JSON_REAL_SIZE];
    size_t n = 0;
    int p;

    if (!isfinite(x))
        return snprintf(out, AD_JSON_REAL_SIZE, "null");
    for (p = 15; p < 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*g", p, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    if (p == 17)
        snprintf(tmp, sizeof(tmp), "%.17g", x);
    for (const char *s = tmp; *s; s++) {
        out[n++] = *s;
        if (*s != 'e')
            continue;
        if (s[1] == '-')
            out[n++] = *++s;
        else if (s[1] == '+')
            s++;
        while (s[1] == '0' && s[2])
            s++;
    }
    out[n] = '\0';
    if (!strpbrk(out, ".e"))
        snprintf(out + n, AD_JSON_REAL_SIZE - n, ".0");
    return (int)strlen(out);
}

/*
 * Rewrites each number token of the JSON text t[0..*len) that is a real
 * (it has a '.' or an exponent) in its shortest form, in place: the new
 * form replaces the old one only when it is no longer, so the text never
 * grows (and ad_json_size() stays an upper bound). Strings are skipped.
 */
static void shorten_reals(char *t, size_t *len)
{
    size_t r = 0, w = 0, n = *len;

    while (r < n) {
        char c = t[r];

        if (c == '"') {
            /* Copy the string whole; a backslash escapes the byte after it. */
            t[w++] = t[r++];
            while (r < n && t[r] != '"') {
                if (t[r] == '\\' && r + 1 < n)
                    t[w++] = t[r++];
                t[w++] = t[r++];
            }
            if (r < n)
                t[w++] = t[r++];
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = r;
            int real = 0;
            char num[AD_JSON_REAL_SIZE];

            while (r < n && strchr("+-0123456789.eE", t[r]) && t[r]) {
                real |= t[r] == '.' || t[r] == 'e' || t[r] == 'E';
                r++;
            }
            if (real && r - start < sizeof(num)) {
                memcpy(num, t + start, r - start);
                num[r - start] = '\0';
                if ((size_t)ad_json_real_format(strtod(num, NULL), num) <= r - start) {
                    memcpy(t + w, num, strlen(num));
                    w += strlen(num);
                    continue;
                }
            }
            memmove(t + w, t + start, r - start);
            w += r - start;
        } else {
            t[w++] = t[r++];
        }
    }
    t[w] = '\0';
    *len = w;
}

struct dump_ctx {
    struct ad_buf *b;
    int rc;          /* the first failure of an append */
    int reals;       /* a piece looked like a real: shorten_reals() has work */
};

static int dump_cb(const char *s, size_t n, void *data)
{
    struct dump_ctx *c = data;
    int rc = c->rc ? c->rc : ad_buf_add(c->b, s, n);

    /* jansson writes a number as one piece; a string piece may look alike (harmless). */
    if (n > 1 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) &&
        (memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n)))
        c->reals = 1;
    if (rc && !c->rc)
        c->rc = rc;
    return rc ? -1 : 0;
}

/* ad_json_dump with jansson's flags. */
static int dump_flags(const json_t *v, size_t flags, struct ad_buf *b)
{
    struct dump_ctx c = { b, 0, 0 };
    size_t before = b->len;
    int rc = json_dump_callback(v, dump_cb, &c, flags);

    /*
     * jansson ignores a failing callback while it writes an object's key
     * (dump.c: the result of dump_string() for a key is not checked) and
     * goes on, so a key lost to a full buffer or a failed allocation would
     * leave invalid JSON behind a success. c.rc sees every failure.
     */
    if (rc != 0 || c.rc != 0) {
        /* Leave the buffer as it was; report the cap if that is what stopped us. */
        size_t need = json_dumpb(v, NULL, 0, flags);

        b->len = before;
        if (b->alloc)
            b->ptr[before] = '\0';
        if (c.rc == AD_ETOOBIG || (need && need > b->max - before))
            return AD_ETOOBIG;
        return AD_ENOMEM;
    }
    if (c.reals) {
        size_t len = b->len - before;

        shorten_reals(b->ptr + before, &len);
        b->len = before + len;
    }
    return 0;
}

int ad_json_dump(const json_t *v, struct ad_buf *b)
{
    return dump_flags(v, JSON_COMPACT | JSON_ENCODE_ANY, b);
}

char *ad_json_dumps_flags(const json_t *v, size_t flags)
{
    /* Through the callback, not json_dumps(): see the key bug in dump_flags. */
    struct ad_buf b;

    ad_buf_init(&b, SIZE_MAX / 2);
    if (dump_flags(v, flags, &b) != 0) {
        ad_buf_release(&b);
        return NULL;
    }
    return ad_buf_detach(&b, NULL);
}

char *ad_json_dumps(const json_t *v)
{
    return ad_json_dumps_flags(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

size_t ad_json_size(const json_t *v)
{
    return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

/*
 * Shared front of every getter: finds the field and settles absence.
 * Returns 1 with *v set when there is a value to check, 0 when absent and
 * allowed, or a negative error.
 */
static int field(const json_t *obj, const char *key, int flags, json_t **v, struct ad_err *err)
{
    if (!json_is_object(obj))
        return ad_error(err, AD_EINVAL, "expected a json object");
    *v = json_object_get(obj, key);
    if (*v && json_is_null(*v) && (flags & AD_JSON_NULLABLE))
        *v = NULL;
    if (*v)
        return 1;
    if (flags & AD_JSON_REQUIRED)
        return ad_error(err, AD_EINVAL, "missing field '%s'", key);
    return 0;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int wrong_type(const char *key, const char *want, const json_t *v, struct ad_err *err)
{
    return ad_error(err, AD_EINVAL, "field '%s': expected %s, got %s", key, want, type_name(v));
}

int ad_json_get_str(const json_t *obj, const char *key, int flags, size_t max_len,
                    const char **out, struct ad_err *err)
{
    json_t *v = NULL;
    int rc = field(obj, key, flags, &v, err);

    if (rc <= 0)
        return rc;
    if (!json_is_string(v))
        return wrong_type(key, "string", v, err);
    if (json_string_length(v) > max_len)
        return ad_error(err, AD_ETOOBIG, "field '%s': %zu bytes exceeds the %zu-byte limit", key,
                        json_string_length(v), max_len);
    /* C strings end at the first NUL; one inside would silently cut the value. */
    if (strlen(json_string_value(v)) != json_string_length(v))
        return ad_error(err, AD_EINVAL, "field '%s': contains a NUL character", key);
    *out = json_string_value(v);
    return 0;
}

int ad_json_get_bool(const json_t *obj, const char *key, int flags, int *out,
                     struct ad_err *err)
{
    json_t *v = NULL;
    int rc = field(obj, key, flags, &v, err);

    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v))
        return wrong_type(key, "boolean", v, err);
    *out = json_is_true(v);
    return 0;
}

int ad_json_get_int(const json_t *obj, const char *key, int flags, int64_t min, int64_t max,
                    int64_t *out, struct ad_err *err)
{
    json_t *v = NULL;
    int64_t i;
    int rc = field(obj, key, flags, &v, err);

    if (rc <= 0)
        return rc;
    if (json_is_real(v)) {
        double d = json_real_value(v);

        /* 3.0 is an integer written loosely; 3.5 is not. The range test
         * comes first: converting an out-of-range double is undefined. */
        if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
            return wrong_type(key, "integer", v, err);
        i = (int64_t)d;
    } else if (json_is_integer(v)) {
        i = json_integer_value(v);
    } else {
        return wrong_type(key, "integer", v, err);
    }
    if (i < min || i > max)
        return ad_error(err, AD_EINVAL, "field '%s': %" PRId64 " is out of range %" PRId64
                        "..%" PRId64, key, i, min, max);
    *out = i;
    return 0;
}

int ad_json_get_num(const json_t *obj, const char *key, int flags, double min, double max,
                    double *out, struct ad_err *err)
{
    json_t *v = NULL;
    double d;
    int rc = field(obj, key, flags, &v, err);

    if (rc <= 0)
        return rc;
    if (!json_is_number(v))
        return wrong_type(key, "number", v, err);
    d = json_number_value(v);
    if (!(d >= min && d <= max))
        return ad_error(err, AD_EINVAL, "field '%s': %g is out of range %g..%g", key, d, min,
                        max);
    *out = d;
    return 0;
}

int ad_json_get_value(const json_t *obj, const char *key, int flags, int types,
                      size_t max_bytes, json_t **out, struct ad_err *err)
{
    json_t *v = NULL;
    size_t size;
    int rc = field(obj, key, flags, &v, err);

    if (rc <= 0)
        return rc;
    if (types && !(types & (1 << json_typeof(v)))) {
        const char *want = types == (1 << JSON_OBJECT) ? "object"
                           : types == (1 << JSON_ARRAY) ? "array" : "another type";

        return wrong_type(key, want, v, err);
    }
    size = ad_json_size(v);
    /* Every JSON text is at least one byte: 0 is jansson failing to allocate. */
    if (size == 0)
        return ad_error(err, AD_ENOMEM, "field '%s': out of memory measuring it", key);
    if (size > max_bytes)
        return ad_error(err, AD_ETOOBIG, "field '%s': %zu bytes exceeds the %zu-byte limit", key,
                        size, max_bytes);
    *out = v;
    return 0;
}

int ad_json_check_keys(const json_t *obj, const char *const *allowed, struct ad_err *err)
{
    const char *key;
    json_t *v = NULL;

    if (!json_is_object(obj))
        return ad_error(err, AD_EINVAL, "expected a json object");
    json_object_foreach((json_t *)obj, key, v) {
        size_t i;

        for (i = 0; allowed[i]; i++) {
            if (strcmp(key, allowed[i]) == 0)
                break;
        }
        if (!allowed[i])
            return ad_error(err, AD_EINVAL, "unknown field '%s'", key);
    }
    return 0;
}

bool ad_json_equal_loose(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        size_t n = json_array_size(a);

        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!ad_json_equal_loose(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;

        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach((json_t *)a, k, v)
            if (!ad_json_equal_loose(v, json_object_get(b, k)))
                return false;
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

const char *ad_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}
