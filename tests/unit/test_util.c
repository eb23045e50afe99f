/* Unit tests for src/util: buffers, errors, time, ids, JSON helpers, logging, secrets, text. */
#include "compat.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/dynlib.h"
#include "autodev/error.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/secret.h"
#include "autodev/text.h"

/* ---- buf ---------------------------------------------------------------- */

static void buf_empty_is_a_c_string(void **state)
{
    struct ad_buf b = AD_BUF_INIT;

    assert_non_null(b.ptr);
    assert_string_equal(b.ptr, "");
    ad_buf_reset(&b);
    assert_string_equal(b.ptr, "");
    ad_buf_release(&b);
    assert_string_equal(b.ptr, "");
}

/* A buffer without a cap (max SIZE_MAX) grows like any other; the NUL's byte never wraps. */
static void buf_unbounded_max(void **state)
{
    struct ad_buf b;

    (void)state;
    ad_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ad_buf_adds(&b, "abcdefgh"), 0);
    assert_int_equal(b.len, 8000);
    assert_true(b.alloc > b.len);
    assert_int_equal(b.ptr[b.len], '\0');
    assert_int_equal(ad_buf_grow(&b, SIZE_MAX - b.len), AD_ETOOBIG);
    assert_int_equal(ad_buf_grow(&b, SIZE_MAX), AD_ETOOBIG);
    ad_buf_release(&b);
}

static void buf_appends_and_grows(void **state)
{
    struct ad_buf b = AD_BUF_INIT;

    for (int i = 0; i < 1000; i++)
        assert_int_equal(ad_buf_addf(&b, "%d,", i), 0);
    assert_int_equal(strncmp(b.ptr, "0,1,2,", 6), 0);
    assert_int_equal(strlen(b.ptr), b.len);
    assert_int_equal(ad_buf_addch(&b, 'x'), 0);
    assert_int_equal(b.ptr[b.len - 1], 'x');
    ad_buf_release(&b);
}

static void buf_cap_refuses_without_truncating(void **state)
{
    struct ad_buf b;

    ad_buf_init(&b, 8);
    assert_int_equal(ad_buf_adds(&b, "12345"), 0);
    assert_int_equal(ad_buf_adds(&b, "6789"), AD_ETOOBIG);
    assert_string_equal(b.ptr, "12345");       /* unchanged */
    assert_int_equal(ad_buf_addf(&b, "%s", "abcd"), AD_ETOOBIG);
    assert_string_equal(b.ptr, "12345");
    assert_int_equal(ad_buf_adds(&b, "678"), 0);  /* exactly at the cap */
    assert_string_equal(b.ptr, "12345678");
    assert_int_equal(ad_buf_addch(&b, '9'), AD_ETOOBIG);
    ad_buf_release(&b);
}

static void buf_addf_fits_in_existing_room(void **state)
{
    struct ad_buf b;

    ad_buf_init(&b, 1000);
    assert_int_equal(ad_buf_grow(&b, 100), 0);
    assert_int_equal(ad_buf_addf(&b, "%s-%d", "abc", 42), 0);
    assert_string_equal(b.ptr, "abc-42");
    /* A format that needs more than the room left forces a second pass. */
    assert_int_equal(ad_buf_addf(&b, "%0200d", 7), 0);
    assert_int_equal(b.len, 206);
    assert_int_equal(b.ptr[205], '7');
    ad_buf_release(&b);
}

static void buf_detach_hands_over(void **state)
{
    struct ad_buf b = AD_BUF_INIT;
    size_t len;
    char *s;

    s = ad_buf_detach(&b, &len);   /* empty buffer still yields a string */
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    ad_buf_adds(&b, "hello");
    s = ad_buf_detach(&b, &len);
    assert_string_equal(s, "hello");
    assert_int_equal(len, 5);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    free(s);
}

static void str_views_compare(void **state)
{
    struct ad_str a = AD_STR("task.fail");
    struct ad_str b = { "task.failed", 9 };

    assert_true(ad_str_eq(a, b));
    assert_true(ad_str_eqc(a, "task.fail"));
    assert_false(ad_str_eqc(a, "task.fai"));
    assert_false(ad_str_eqc(a, "task.fails"));
    assert_true(ad_str_eqc(ad_str_c(NULL), ""));
}

/* ---- errors ------------------------------------------------------------- */

static void error_records_and_prefixes(void **state)
{
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_error(&err, AD_EINVAL, "unknown agent '%s'", "bob"), AD_EINVAL);
    assert_int_equal(err.code, AD_EINVAL);
    assert_string_equal(err.msg, "unknown agent 'bob'");
    ad_error_prefix(&err, "line %d", 7);
    assert_string_equal(err.msg, "line 7: unknown agent 'bob'");
    assert_int_equal(ad_error(NULL, AD_EIO, "ignored"), AD_EIO);
    ad_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
}

static void error_every_code_has_a_name(void **state)
{
    for (int c = AD_ECONFLICT; c <= 0; c++)
        assert_string_not_equal(ad_strerror(c), "unknown error");
    assert_string_equal(ad_strerror(-999), "unknown error");
}

static void error_long_messages_are_cut_safely(void **state)
{
    struct ad_err err;
    char big[2000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ad_error(&err, AD_EINVAL, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    ad_error_prefix(&err, "prefix");
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_int_equal(strncmp(err.msg, "prefix: xxx", 11), 0);
}

/* ---- time --------------------------------------------------------------- */

static const struct {
    int64_t ms;
    const char *iso;
} time_cases[] = {
    { 0, "1970-01-01T00:00:00.000Z" },
    { 1, "1970-01-01T00:00:00.001Z" },
    { -1, "1969-12-31T23:59:59.999Z" },
    { 951782400000, "2000-02-29T00:00:00.000Z" },
    { 1795454302123, "2026-11-23T17:18:22.123Z" },
    { 4102444799999, "2099-12-31T23:59:59.999Z" },
};

static void time_formats_and_parses(void **state)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(time_cases); i++) {
        char out[AD_TIME_SIZE];
        int64_t ms = 0;

        assert_string_equal(ad_time_iso(time_cases[i].ms, out), time_cases[i].iso);
        assert_int_equal(ad_time_parse(time_cases[i].iso, &ms), 0);
        assert_int_equal(ms, time_cases[i].ms);
    }
}

static void time_parse_accepts_variants(void **state)
{
    int64_t ms;

    assert_int_equal(ad_time_parse("2026-11-23T17:18:22Z", &ms), 0);
    assert_int_equal(ms, 1795454302000);
    assert_int_equal(ad_time_parse("2026-11-23T17:18:22.1+00:00", &ms), 0);
    assert_int_equal(ms, 1795454302100);
    assert_int_equal(ad_time_parse("2026-11-23T17:18:22.123456Z", &ms), 0);
    assert_int_equal(ms, 1795454302123);
}

static void time_parse_rejects_garbage(void **state)
{
    static const char *const bad[] = {
        "", "2026", "2026-11-23", "2026-11-23 17:18:22Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T17:18:22", "2026-11-23T17:18:22.Z", "2026-11-23T17:18:22+02:00",
        "2026-11-23T17:18:22Zjunk", "20x6-11-23T17:18:22Z",
    };
    int64_t ms = 42;

    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        assert_int_equal(ad_time_parse(bad[i], &ms), AD_EINVAL);
        assert_int_equal(ms, 42);
    }
    assert_int_equal(ad_time_parse(NULL, &ms), AD_EINVAL);
}

static void time_now_is_sane(void **state)
{
    char now[AD_TIME_SIZE];
    int64_t a = ad_now_ms(), b;

    ad_time_now(now);
    assert_int_equal(strlen(now), 24);
    assert_int_equal(ad_time_parse(now, &b), 0);
    assert_true(b >= a - 1000 && b <= a + 1000);
    assert_true(ad_mono_ns() > 0);
}

/* ---- ids ---------------------------------------------------------------- */

static void ids_are_v7_sorted_and_unique(void **state)
{
    enum { N = 20000 };
    char (*ids)[AD_ID_SIZE] = malloc(sizeof(*ids) * N);
    int64_t before = ad_now_ms();

    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ad_id_new(ids[i]), 0);
        assert_true(ad_id_valid(ids[i]));
        assert_int_equal(ids[i][14], '7');                 /* version */
        assert_true(strchr("89ab", ids[i][19]) != NULL);   /* variant */
        if (i > 0)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0);   /* strictly increasing */
    }
    /* The first 48 bits are the creation time in ms. */
    {
        char hex[13];
        int64_t ms;

        memcpy(hex, ids[0], 8);
        memcpy(hex + 8, ids[0] + 9, 4);
        hex[12] = '\0';
        ms = strtoll(hex, NULL, 16);
        assert_true(ms >= before && ms <= ad_now_ms() + 10);
    }
    free(ids);
}

static void ids_differ_across_fork(void **state)
{
    char parent[AD_ID_SIZE], child_id[AD_ID_SIZE] = "";
    int fds[2];
    pid_t pid;

    ad_id_new(parent);   /* fills the random pool */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[AD_ID_SIZE];

        ad_id_new(id);
        if (write(fds[1], id, sizeof(id)) != (ssize_t)sizeof(id))
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], child_id, sizeof(child_id)), (ssize_t)sizeof(child_id));
    close(fds[0]);
    waitpid(pid, NULL, 0);
    ad_id_new(parent);
    /* Same pool position in both processes would give the same random tail. */
    assert_string_not_equal(parent + 19, child_id + 19);
}

static void id_valid_rejects(void **state)
{
    static const char *const bad[] = {
        "", "0190a5d2-6c1e-7c3a-8f00-00000000000", "0190a5d2-6c1e-7c3a-8f00-0000000000000",
        "0190A5D2-6C1E-7C3A-8F00-000000000000", "0190a5d26c1e-7c3a-8f00-0000000000000",
        "0190a5d2-6c1e-7c3a-8f00-00000000000g",
    };

    assert_true(ad_id_valid("0190a5d2-6c1e-7c3a-8f00-000000000000"));
    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++)
        assert_false(ad_id_valid(bad[i]));
    assert_false(ad_id_valid(NULL));
}

/* ---- json --------------------------------------------------------------- */

static json_t *parse(const char *s)
{
    json_t *v = NULL;

    assert_int_equal(ad_json_parse(s, strlen(s), 1 << 20, &v, NULL), 0);
    return v;
}

static void json_parse_errors_name_the_place(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *v = (json_t *)1;
    const char *text = "{\"a\": 1,\n \"b\": }";

    assert_int_equal(ad_json_parse(text, strlen(text), 1000, &v, &err), AD_EINVAL);
    assert_null(v);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_int_equal(ad_json_parse("{\"a\":1,\"a\":2}", 13, 1000, &v, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "duplicate"));
    assert_int_equal(ad_json_parse("[1,2,3]", 7, 6, &v, &err), AD_ETOOBIG);
    assert_int_equal(ad_json_parse("", 0, 10, &v, &err), AD_EINVAL);
    v = parse("42");
    assert_true(json_is_integer(v));
    json_decref(v);
}

static void json_getters_check_types(void **state)
{
    json_t *o = parse("{\"s\":\"hi\",\"b\":true,\"i\":7,\"f\":2.5,\"fi\":3.0,\"n\":null,"
                      "\"o\":{\"k\":[1,2]},\"a\":[1]}");
    struct ad_err err = AD_ERR_INIT;
    const char *s = NULL;
    int b = 0;
    int64_t i = 0;
    double d = 0;
    json_t *v = NULL;

    assert_int_equal(ad_json_get_str(o, "s", AD_JSON_REQUIRED, 10, &s, &err), 0);
    assert_string_equal(s, "hi");
    assert_int_equal(ad_json_get_str(o, "s", 0, 1, &s, &err), AD_ETOOBIG);
    assert_non_null(strstr(err.msg, "field 's'"));
    assert_int_equal(ad_json_get_str(o, "b", 0, 10, &s, &err), AD_EINVAL);
    assert_string_equal(err.msg, "field 'b': expected string, got boolean");
    assert_int_equal(ad_json_get_bool(o, "b", AD_JSON_REQUIRED, &b, &err), 0);
    assert_true(b);
    assert_int_equal(ad_json_get_bool(o, "i", 0, &b, &err), AD_EINVAL);
    assert_int_equal(ad_json_get_int(o, "i", 0, 0, 10, &i, &err), 0);
    assert_int_equal(i, 7);
    assert_int_equal(ad_json_get_int(o, "i", 0, 0, 5, &i, &err), AD_EINVAL);
    assert_string_equal(err.msg, "field 'i': 7 is out of range 0..5");
    assert_int_equal(ad_json_get_int(o, "fi", 0, 0, 10, &i, &err), 0);
    assert_int_equal(i, 3);
    assert_int_equal(ad_json_get_int(o, "f", 0, 0, 10, &i, &err), AD_EINVAL);
    assert_int_equal(ad_json_get_num(o, "f", 0, 0, 10, &d, &err), 0);
    assert_true(d == 2.5);
    assert_int_equal(ad_json_get_num(o, "f", 0, 0, 1, &d, &err), AD_EINVAL);
    assert_int_equal(ad_json_get_num(o, "s", 0, 0, 1, &d, &err), AD_EINVAL);
    assert_int_equal(ad_json_get_value(o, "o", 0, 1 << JSON_OBJECT, 100, &v, &err), 0);
    assert_true(json_is_object(v));
    assert_int_equal(ad_json_get_value(o, "o", 0, 1 << JSON_OBJECT, 5, &v, &err), AD_ETOOBIG);
    assert_int_equal(ad_json_get_value(o, "a", 0, 1 << JSON_OBJECT, 100, &v, &err), AD_EINVAL);
    assert_string_equal(err.msg, "field 'a': expected object, got array");
    json_decref(o);
}

static void json_absent_null_and_required(void **state)
{
    json_t *o = parse("{\"n\":null}");
    struct ad_err err = AD_ERR_INIT;
    const char *s = "untouched";
    int64_t i = 5;

    assert_int_equal(ad_json_get_str(o, "missing", 0, 10, &s, &err), 0);
    assert_string_equal(s, "untouched");
    assert_int_equal(ad_json_get_str(o, "missing", AD_JSON_REQUIRED, 10, &s, &err), AD_EINVAL);
    assert_string_equal(err.msg, "missing field 'missing'");
    assert_int_equal(ad_json_get_str(o, "n", AD_JSON_NULLABLE, 10, &s, &err), 0);
    assert_string_equal(s, "untouched");
    assert_int_equal(ad_json_get_str(o, "n", 0, 10, &s, &err), AD_EINVAL);
    assert_int_equal(ad_json_get_int(o, "n", AD_JSON_NULLABLE | AD_JSON_REQUIRED, 0, 9, &i,
                                     &err), AD_EINVAL);
    assert_int_equal(i, 5);
    json_decref(o);
    o = json_array();
    assert_int_equal(ad_json_get_str(o, "x", 0, 10, &s, &err), AD_EINVAL);
    json_decref(o);
}

static void json_embedded_nul_refused(void **state)
{
    const char *text = "{\"s\":\"a\\u0000b\"}";
    struct ad_err err = AD_ERR_INIT;
    const char *s = NULL;
    json_t *o = NULL;

    /* The parser refuses it outright... */
    assert_int_equal(ad_json_parse(text, strlen(text), 100, &o, &err), AD_EINVAL);
    /* ...and a value built in memory is refused by the getter. */
    o = json_pack("{s:s%}", "s", "a\0b", (size_t)3);
    assert_non_null(o);

    assert_int_equal(ad_json_get_str(o, "s", 0, 10, &s, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "NUL"));
    json_decref(o);
}

static void json_check_keys_finds_typos(void **state)
{
    static const char *const allowed[] = { "success", "task_description", NULL };
    json_t *o = parse("{\"success\":true,\"task_descripton\":\"x\"}");
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_json_check_keys(o, allowed, &err), AD_EINVAL);
    assert_string_equal(err.msg, "unknown field 'task_descripton'");
    json_object_del(o, "task_descripton");
    assert_int_equal(ad_json_check_keys(o, allowed, &err), 0);
    json_decref(o);
}

static void json_dump_respects_buffer_cap(void **state)
{
    json_t *o = parse("{\"k\":\"0123456789\"}");
    struct ad_buf b;
    char *s;

    ad_buf_init(&b, 100);
    assert_int_equal(ad_json_dump(o, &b), 0);
    assert_string_equal(b.ptr, "{\"k\":\"0123456789\"}");
    assert_int_equal(ad_json_size(o), b.len);
    ad_buf_release(&b);
    ad_buf_init(&b, 10);
    ad_buf_adds(&b, "ab");
    assert_int_equal(ad_json_dump(o, &b), AD_ETOOBIG);
    assert_string_equal(b.ptr, "ab");
    ad_buf_release(&b);
    s = ad_json_dumps(o);
    assert_string_equal(s, "{\"k\":\"0123456789\"}");
    free(s);
    json_decref(o);
}

/*
 * Reals print in the shortest form that reads back as the same double:
 * 0.524, not jansson's %.17g 0.52400000000000002; 17 digits only where
 * fewer do not round-trip; ".0" kept; strings that look like numbers left.
 */
static void json_reals_print_shortest(void **state)
{
    static const struct {
        double x;
        const char *want;
    } cases[] = {
        { 0.524, "0.524" }, { 0.1 + 0.2, "0.30000000000000004" }, { 1.0, "1.0" },
        { -2.5e-7, "-2.5e-7" }, { 1e100, "1e100" }, { 123456789.125, "123456789.125" },
        { 1e15, "1e15" }, { -0.0, "-0.0" }, { 5e-324, "4.94065645841247e-324" },
    };
    char buf[AD_JSON_REAL_SIZE];
    json_t *o;
    char *s;

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *r = json_real(cases[i].x);

        s = ad_json_dumps(r);
        assert_string_equal(s, cases[i].want);
        assert_true(strtod(s, NULL) == cases[i].x);
        assert_true(strlen(s) <= ad_json_size(r));
        ad_json_real_format(cases[i].x, buf);
        assert_string_equal(buf, cases[i].want);
        free(s);
        json_decref(r);
    }
    o = json_pack("{s:f, s:s, s:[f, i, f], s:s}", "a", 0.524, "b", "0.52400000000000002", "c",
                  2.675, 7, 1e-5, "d\\\"0.5", "e\"1.10000000000000009");
    s = ad_json_dumps(o);
    assert_string_equal(s, "{\"a\":0.524,\"b\":\"0.52400000000000002\",\"c\":[2.675,7,1e-5],"
                           "\"d\\\\\\\"0.5\":\"e\\\"1.10000000000000009\"}");
    free(s);
    json_decref(o);
    /* Every real of a sample reads back as itself. */
    for (int i = 0; i < 2000; i++) {
        double x = (double)(i * 7919 % 10007) / 997.0 * pow(10, i % 40 - 20);

        ad_json_real_format(x, buf);
        assert_true(strtod(buf, NULL) == x);
    }
}

/* ---- log ---------------------------------------------------------------- */

struct captured {
    int calls;
    enum ad_log_level level;
    char msg[256];
};

static void capture_sink(void *ctx, enum ad_log_level level, const char *file, int line,
                         const char *msg)
{
    struct captured *c = ctx;

    c->calls++;
    c->level = level;
    snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static int evaluated;

static int side_effect(void)
{
    evaluated++;
    return 1;
}

static void log_levels_gate_evaluation(void **state)
{
    struct captured c = { 0 };
    enum ad_log_level lvl;

    ad_log_set_sink(capture_sink, &c);
    ad_log_set_level(AD_LOG_WARN);
    AD_LOG(AD_LOG_DEBUG, "hidden %d", side_effect());
    assert_int_equal(evaluated, 0);       /* arguments not evaluated */
    assert_int_equal(c.calls, 0);
    AD_LOG(AD_LOG_WARN, "handler '%s' failed", "h1");
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, AD_LOG_WARN);
    assert_string_equal(c.msg, "handler 'h1' failed");
    ad_log_set_sink(NULL, NULL);
    assert_int_equal(ad_log_parse_level("DEBUG", &lvl), 0);
    assert_int_equal(lvl, AD_LOG_DEBUG);
    assert_int_equal(ad_log_parse_level("loud", &lvl), AD_EINVAL);
    assert_string_equal(ad_log_level_name(AD_LOG_ERROR), "error");
}

/* ---- secrets ------------------------------------------------------------ */

#define UKEY "sk-util-ABCdef-123456"

static void secret_short_values_are_ignored(void **state)
{
    char big[AD_SECRET_MAX_LEN + 2];
    char text[] = "a 1234567 short test";
    size_t n = ad_secret_count();

    assert_int_equal(ad_secret_add(NULL), 0);
    assert_int_equal(ad_secret_add("1234567"), 0);   /* 7 bytes: would mask numbers */
    assert_int_equal(ad_secret_add(""), 0);
    assert_int_equal(ad_secret_count(), n);
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(ad_secret_add(big), AD_ETOOBIG);
    assert_int_equal(ad_secret_count(), n);
    assert_int_equal(ad_secret_redact(text), 0);
    assert_string_equal(text, "a 1234567 short test");
}

static void secret_masks_in_any_case(void **state)
{
    char text[] = "x " UKEY " y SK-UTIL-ABCDEF-123456z sk-util-abcdef-12345";
    size_t n;

    assert_int_equal(ad_secret_add(UKEY), 0);
    n = ad_secret_count();
    assert_int_equal(ad_secret_add("SK-UTIL-abcDEF-123456"), 0);   /* the same, in capitals */
    assert_int_equal(ad_secret_count(), n);
    /* Every occurrence in any case; a value cut short is not one. */
    assert_int_equal(ad_secret_redact(text), 2);
    assert_string_equal(text, "x [secret] y [secret]z sk-util-abcdef-12345");
    assert_int_equal(ad_secret_redact(NULL), 0);
    assert_true(ad_secret_contains("..." UKEY));
    assert_true(ad_secret_contains("sk-util-abcdef-123456"));
    assert_false(ad_secret_contains("sk-util-abcdef-12345"));
    assert_false(ad_secret_contains(NULL));
}

static void secret_longer_value_wins_and_text_only_shrinks(void **state)
{
    char text[] = "[tok-overlap-1234-5678] tok-overlap-1234!";
    char mem[] = "a\0" UKEY "\0b";
    size_t len = sizeof(mem) - 1;
    char *copy;

    assert_int_equal(ad_secret_add("tok-overlap-1234"), 0);
    assert_int_equal(ad_secret_add("tok-overlap-1234-5678"), 0);
    assert_int_equal(ad_secret_redact(text), 2);
    assert_string_equal(text, "[[secret]] [secret]!");
    /* Bytes with NULs in them: the length says where they end. */
    assert_int_equal(ad_secret_redact_mem(mem, &len), 1);
    assert_int_equal(len, 2 + strlen(AD_SECRET_MARKER) + 2);
    assert_memory_equal(mem, "a\0[secret]\0b", len);
    copy = ad_secret_redacted("<" UKEY ">");
    assert_string_equal(copy, "<[secret]>");
    free(copy);
    assert_null(ad_secret_redacted(NULL));
}

static void secret_partial_tail_holds_a_start(void **state)
{
    const char *t;

    assert_int_equal(ad_secret_add(UKEY), 0);
    t = "hello sk-util-ab";
    assert_int_equal(ad_secret_partial_tail(t, strlen(t)), 10);
    t = "hello SK-UTIL";
    assert_int_equal(ad_secret_partial_tail(t, strlen(t)), 7);
    t = "hello there";
    assert_int_equal(ad_secret_partial_tail(t, strlen(t)), 0);
    /* A whole value is not a partial one (it is masked instead). */
    t = "hi " UKEY;
    assert_int_equal(ad_secret_partial_tail(t, strlen(t)), 0);
    assert_int_equal(ad_secret_partial_tail("", 0), 0);
}

#define THREAD_KEYS 8

static void *add_and_redact(void *arg)
{
    char value[32], text[64];
    int i;

    for (i = 0; i < THREAD_KEYS; i++) {
        snprintf(value, sizeof(value), "thread-%d-key-%d", (int)(intptr_t)arg, i);
        if (ad_secret_add(value))
            return (void *)1;
        snprintf(text, sizeof(text), "<%s>", value);
        ad_secret_redact(text);
        if (strcmp(text, "<[secret]>"))
            return (void *)1;
    }
    return NULL;
}

static void secret_registry_is_thread_safe(void **state)
{
    pthread_t th[4];
    void *ret;
    size_t n = ad_secret_count(), i;

    for (i = 0; i < AD_ARRAY_SIZE(th); i++)
        assert_int_equal(pthread_create(&th[i], NULL, add_and_redact, (void *)(intptr_t)i), 0);
    for (i = 0; i < AD_ARRAY_SIZE(th); i++) {
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
    assert_int_equal(ad_secret_count(), n + AD_ARRAY_SIZE(th) * THREAD_KEYS);
}

static void log_lines_are_masked(void **state)
{
    struct captured c = { 0 };

    assert_int_equal(ad_secret_add(UKEY), 0);
    ad_log_set_sink(capture_sink, &c);
    ad_log_set_level(AD_LOG_WARN);
    AD_LOG(AD_LOG_WARN, "server said: bad key %s", "SK-UTIL-ABCDEF-123456");
    assert_int_equal(c.calls, 1);
    assert_string_equal(c.msg, "server said: bad key [secret]");
    ad_log_set_sink(NULL, NULL);
}

static char long_line[4096];

static void long_sink(void *ctx, enum ad_log_level level, const char *file, int line,
                      const char *msg)
{
    snprintf(long_line, sizeof(long_line), "%s", msg);
}

static void log_line_cut_in_a_secret_keeps_none_of_it(void **state)
{
    char pad[2048 - 1 - 10 + 1];

    /* The line is cut after 2047 bytes: 10 of them the key's first ten. */
    assert_int_equal(ad_secret_add(UKEY), 0);
    memset(pad, '.', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    ad_log_set_sink(long_sink, NULL);
    ad_log_set_level(AD_LOG_WARN);
    AD_LOG(AD_LOG_WARN, "%s%s tail", pad, UKEY);
    ad_log_set_sink(NULL, NULL);
    assert_int_equal(strlen(long_line), sizeof(pad) - 1);
    assert_null(strstr(long_line, "sk-"));
}

/* Last: it fills the registry. */
static void secret_registry_is_bounded(void **state)
{
    char value[32];
    int i, rc = 0;

    for (i = 0; rc == 0 && i < 2 * AD_SECRET_MAX_VALUES; i++) {
        snprintf(value, sizeof(value), "bounded-value-%03d", i);
        rc = ad_secret_add(value);
    }
    assert_int_equal(rc, AD_ELIMIT);
    assert_int_equal(ad_secret_count(), AD_SECRET_MAX_VALUES);
    /* A value already known is still fine. */
    assert_int_equal(ad_secret_add(UKEY), 0);
}

/* ---- text --------------------------------------------------------------- */

static void text_words_split_on_non_word_bytes(void **state)
{
    const char *p = "  Count_the  na\xc3\xafve-words, 42x!";
    const char *want[] = { "Count", "the", "na\xc3\xafve", "words", "42x" };
    struct ad_str w;
    size_t n = 0;

    while (ad_text_word(&p, &w)) {
        assert_true(n < AD_ARRAY_SIZE(want));
        assert_int_equal(w.len, strlen(want[n]));
        assert_memory_equal(w.ptr, want[n], w.len);
        n++;
    }
    assert_int_equal(n, AD_ARRAY_SIZE(want));
    p = NULL;
    assert_false(ad_text_word(&p, &w));
    p = " -- ";
    assert_false(ad_text_word(&p, &w));
}

static void text_one_stop_word_list(void **state)
{
    struct ad_buf b = AD_BUF_INIT;

    /* Words both old lists had, words only one had, and case. */
    assert_true(ad_text_stop_word("the", 3));
    assert_true(ad_text_stop_word("The", 3));
    assert_true(ad_text_stop_word("please", 6));
    assert_true(ad_text_stop_word("using", 5));
    assert_true(ad_text_stop_word("what", 4));
    assert_true(ad_text_stop_word("x", 1));
    assert_false(ad_text_stop_word("invoice", 7));
    assert_false(ad_text_stop_word("thesaurus", 9));
    assert_false(ad_text_stop_word("averyveryverylongword", 21));
    assert_int_equal(ad_text_strip_stop_words("Count the words of THIS text, please", &b), 0);
    assert_string_equal(b.ptr, "Count words text");
    ad_buf_release(&b);
    ad_buf_init(&b, 8);
    assert_int_equal(ad_text_strip_stop_words("invoice number total", &b), AD_ETOOBIG);
    ad_buf_release(&b);
}

static void text_identifiers(void **state)
{
    assert_true(ad_text_identifier("solve", 0));
    assert_true(ad_text_identifier("_x9", 3));
    assert_false(ad_text_identifier("_x9", 2));
    assert_false(ad_text_identifier("9x", 0));
    assert_false(ad_text_identifier("a-b", 0));
    assert_false(ad_text_identifier("", 0));
    assert_false(ad_text_identifier(NULL, 0));
    assert_false(ad_text_identifier("caf\xc3\xa9", 0));
    assert_true(ad_text_dotted_identifier("json.decoder.JSONDecodeError", 28));
    assert_false(ad_text_dotted_identifier("a..b", 4));
    assert_false(ad_text_dotted_identifier(".a", 2));
    assert_false(ad_text_dotted_identifier("a.", 2));
    assert_false(ad_text_dotted_identifier("a.1b", 4));
}

static void text_utf8_is_strict(void **state)
{
    static const struct { const char *s; bool ok; } cases[] = {
        { "plain", true },
        { "na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80", true },
        { "\xc0\xaf", false },              /* overlong '/' */
        { "\xe0\x80\xaf", false },          /* overlong, three bytes */
        { "\xed\xa0\x80", false },          /* a surrogate */
        { "\xf4\x90\x80\x80", false },      /* above U+10FFFF */
        { "\xc3", false },                  /* cut short */
        { "\x80", false },                  /* a lone continuation byte */
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++)
        assert_int_equal(ad_utf8_valid(cases[i].s, strlen(cases[i].s)), cases[i].ok);
    assert_true(ad_utf8_valid("a\0b", 3));
}

static void text_error_type_reads_the_last_line(void **state)
{
    char t[AD_ERROR_TYPE_MAX + 1];
    char long_name[AD_ERROR_TYPE_MAX + 8];

    assert_true(ad_text_error_type("Traceback (most recent call last):\n  File \"x\"\n"
                                   "KeyError: 'total'\n\n", t));
    assert_string_equal(t, "KeyError");
    assert_true(ad_text_error_type("  json.decoder.JSONDecodeError: bad", t));
    assert_string_equal(t, "json.decoder.JSONDecodeError");
    assert_false(ad_text_error_type("it broke: badly", t));
    assert_false(ad_text_error_type("no colon at all", t));
    assert_false(ad_text_error_type(NULL, t));
    memset(long_name, 'E', sizeof(long_name) - 3);
    memcpy(long_name + sizeof(long_name) - 3, ":x", 3);
    assert_false(ad_text_error_type(long_name, t));
}

static void time_day_start(void **state)
{
    char out[AD_TIME_SIZE], now[AD_TIME_SIZE];

    assert_string_equal(ad_time_day_start("2026-11-23T17:18:22.123Z", out),
                        "2026-11-23T00:00:00.000Z");
    ad_time_now(now);
    ad_time_day_start(NULL, out);
    assert_memory_equal(out, now, 10);
    assert_string_equal(out + 10, "T00:00:00.000Z");
}

/* ---- libraries loaded on first use (dynlib.h) ---- */

struct libc_api {
    pid_t (*f_getpid)(void);
    size_t (*f_strlen)(const char *);
};

static int init_calls;

static int count_init(struct ad_err *err)
{
    init_calls++;
    return 0;
}

static void dynlib_resolves_every_symbol_once(void **state)
{
    static const struct ad_dynlib_sym syms[] = {
        AD_DYNLIB_SYM(struct libc_api, getpid), AD_DYNLIB_SYM(struct libc_api, strlen),
    };
    struct libc_api api = { 0 };
    struct ad_dynlib lib = { .what = "libc", .soname = "libc.so.6", .syms = syms,
                             .nsyms = 2, .table = &api, .init = count_init };
    struct ad_err err = AD_ERR_INIT;

    init_calls = 0;
    assert_int_equal(ad_dynlib_load(&lib, &err), 0);
    assert_int_equal(api.f_getpid(), getpid());
    assert_int_equal(api.f_strlen("four"), 4);
    assert_int_equal(ad_dynlib_load(&lib, &err), 0);
    assert_int_equal(init_calls, 1);
}

static void dynlib_missing_library_says_which_and_where(void **state)
{
    static const struct ad_dynlib_sym syms[] = { AD_DYNLIB_SYM(struct libc_api, getpid) };
    struct libc_api api = { 0 };
    struct ad_dynlib lib = { .what = "libnothing", .soname = "libautodev-no-such.so.9",
                             .package = "libnothing9", .syms = syms, .nsyms = 1,
                             .table = &api, .init = count_init };
    struct ad_err err = AD_ERR_INIT;

    init_calls = 0;
    assert_int_equal(ad_dynlib_load(&lib, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "libnothing is needed here"));
    assert_non_null(strstr(err.msg, "libautodev-no-such.so.9"));
    assert_non_null(strstr(err.msg, "Debian package libnothing9"));
    assert_null(api.f_getpid);
    /* The answer is kept: the same error again, no second attempt. */
    ad_err_clear(&err);
    assert_int_equal(ad_dynlib_load(&lib, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "libautodev-no-such.so.9"));
    assert_int_equal(init_calls, 0);
}

struct odd_api {
    void (*f_autodev_no_such_symbol)(void);
};

static void dynlib_missing_symbol_fails_whole(void **state)
{
    static const struct ad_dynlib_sym syms[] = {
        AD_DYNLIB_SYM(struct odd_api, autodev_no_such_symbol),
    };
    struct odd_api api = { 0 };
    struct ad_dynlib lib = { .what = "libc", .soname = "libc.so.6", .syms = syms,
                             .nsyms = 1, .table = &api, .init = count_init };
    struct ad_err err = AD_ERR_INIT;

    init_calls = 0;
    assert_int_equal(ad_dynlib_load(&lib, &err), AD_EIO);
    assert_non_null(strstr(err.msg, "no symbol autodev_no_such_symbol"));
    assert_int_equal(init_calls, 0);
}

static struct libc_api race_api;
static const struct ad_dynlib_sym race_syms[] = {
    AD_DYNLIB_SYM(struct libc_api, getpid), AD_DYNLIB_SYM(struct libc_api, strlen),
};
static struct ad_dynlib race_lib = { .what = "libc", .soname = "libc.so.6", .syms = race_syms,
                                     .nsyms = 2, .table = &race_api, .init = count_init };

static void *race_one(void *arg)
{
    struct ad_err err = AD_ERR_INIT;
    int *rc = arg;

    *rc = ad_dynlib_load(&race_lib, &err);
    if (*rc == 0 && race_api.f_strlen("ab") != 2)
        *rc = -1000;
    return NULL;
}

static void dynlib_threads_load_once(void **state)
{
    pthread_t t[8];
    int rc[8];

    init_calls = 0;
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_one, &rc[i]), 0);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(rc[i], 0);
    }
    assert_int_equal(init_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_empty_is_a_c_string),
        cmocka_unit_test(buf_appends_and_grows),
        cmocka_unit_test(buf_unbounded_max),
        cmocka_unit_test(buf_cap_refuses_without_truncating),
        cmocka_unit_test(buf_addf_fits_in_existing_room),
        cmocka_unit_test(buf_detach_hands_over),
        cmocka_unit_test(str_views_compare),
        cmocka_unit_test(error_records_and_prefixes),
        cmocka_unit_test(error_every_code_has_a_name),
        cmocka_unit_test(error_long_messages_are_cut_safely),
        cmocka_unit_test(time_formats_and_parses),
        cmocka_unit_test(time_parse_accepts_variants),
        cmocka_unit_test(time_parse_rejects_garbage),
        cmocka_unit_test(time_now_is_sane),
        cmocka_unit_test(ids_are_v7_sorted_and_unique),
        cmocka_unit_test(ids_differ_across_fork),
        cmocka_unit_test(id_valid_rejects),
        cmocka_unit_test(json_parse_errors_name_the_place),
        cmocka_unit_test(json_getters_check_types),
        cmocka_unit_test(json_absent_null_and_required),
        cmocka_unit_test(json_embedded_nul_refused),
        cmocka_unit_test(json_check_keys_finds_typos),
        cmocka_unit_test(json_dump_respects_buffer_cap),
        cmocka_unit_test(json_reals_print_shortest),
        cmocka_unit_test(log_levels_gate_evaluation),
        cmocka_unit_test(text_words_split_on_non_word_bytes),
        cmocka_unit_test(text_one_stop_word_list),
        cmocka_unit_test(text_identifiers),
        cmocka_unit_test(text_utf8_is_strict),
        cmocka_unit_test(text_error_type_reads_the_last_line),
        cmocka_unit_test(time_day_start),
        cmocka_unit_test(secret_short_values_are_ignored),
        cmocka_unit_test(secret_masks_in_any_case),
        cmocka_unit_test(secret_longer_value_wins_and_text_only_shrinks),
        cmocka_unit_test(secret_partial_tail_holds_a_start),
        cmocka_unit_test(secret_registry_is_thread_safe),
        cmocka_unit_test(log_lines_are_masked),
        cmocka_unit_test(log_line_cut_in_a_secret_keeps_none_of_it),
        cmocka_unit_test(secret_registry_is_bounded),
        cmocka_unit_test(dynlib_resolves_every_symbol_once),
        cmocka_unit_test(dynlib_missing_library_says_which_and_where),
        cmocka_unit_test(dynlib_missing_symbol_fails_whole),
        cmocka_unit_test(dynlib_threads_load_once),
    };

    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
