/*
 * Autoresearch's text readers, table-driven: the metric in a command's
 * output (a PCRE2 group 1, else "NAME: value" / "NAME=value", the last one
 * counting) and the constitutional filter over a diff (each gate, and
 * that a gate that cannot run fails closed). Process control: a tree that
 * ignores SIGTERM dies at its timeout.
 */
#include "compat.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "autodev/research.h"

#include "research/research_int.h"

struct metric_case {
    const char *output, *name, *pattern;
    int rc;
    double value;
};

static void metric_extraction(void **state)
{
    static const struct metric_case cases[] = {
        { "score: 1.5\n", "score", NULL, 0, 1.5 },
        { "score=2\n", "score", NULL, 0, 2 },
        { "a\nscore = 3e2\nother: 9\n", "score", NULL, 0, 300 },
        { "score: 1\nscore: 4\n", "score", NULL, 0, 4 },           /* the last line counts */
        { "myscore: 7\n", "score", NULL, AD_ENOTFOUND, 0 },        /* a longer name is not it */
        { "loss 0.25 at step 3\n", "score", NULL, AD_ENOTFOUND, 0 },
        { "", "score", NULL, AD_ENOTFOUND, 0 },
        { "score: nan\n", "score", NULL, AD_EINVAL, 0 },
        { "score: abc\n", "score", NULL, AD_EINVAL, 0 },
        { "val_bpb 0.9\nval_bpb 0.8\n", "x", "val_bpb ([0-9.]+)", 0, 0.8 },
        { "time=12ms", "x", "time=(\\d+)ms", 0, 12 },
        { "nothing", "x", "time=(\\d+)ms", AD_ENOTFOUND, 0 },
        { "x", "x", "(unclosed", AD_EINVAL, 0 },
        { "x 1", "x", "x \\d", AD_EINVAL, 0 },                      /* no group 1 */
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        double v = -1;
        int rc = ad_research_metric_extract(cases[i].output, cases[i].name, cases[i].pattern,
                                            &v, &err);

        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc, err.msg);
        if (rc == 0 && fabs(v - cases[i].value) > 1e-12)
            fail_msg("case %zu: value %g, want %g", i, v, cases[i].value);
    }
}

static const char diff_ok[] =
    "diff --git a/obj.py b/obj.py\n--- a/obj.py\n+++ b/obj.py\n@@ -1,3 +1,3 @@\n"
    " # EVOLVE-BLOCK-START\n-X = 10\n+X = 5\n # EVOLVE-BLOCK-END\n";

struct gate_case {
    const char *diff;
    const char *failed;     /* the gate that must fail; NULL: all pass */
};

static void gates_over_the_diff(void **state)
{
    static const struct gate_case cases[] = {
        { diff_ok, NULL },
        { "diff --git a/other.py b/other.py\n--- a/other.py\n+++ b/other.py\n@@ -1 +1 @@\n"
          "-a = 1\n+a = 2\n", "scope" },
        { "diff --git a/tests/t.py b/tests/t.py\n--- a/tests/t.py\n+++ b/tests/t.py\n"
          "@@ -1 +1 @@\n-a = 1\n+a = 2\n", "protected" },
        { "diff --git a/obj.py b/obj.py\n--- a/obj.py\n+++ b/obj.py\n@@ -1,2 +1,1 @@\n"
          "-assert X > 0\n X = 1\n", "deleted_tests" },
        { "diff --git a/obj.py b/obj.py\n--- a/obj.py\n+++ b/obj.py\n@@ -1 +1,2 @@\n"
          " X = 1\n+import subprocess\n", "network_subprocess" },
        { "diff --git a/obj.py b/obj.py\n--- a/obj.py\n+++ b/obj.py\n@@ -1 +1,2 @@\n"
          " X = 1\n+import socket\n", "network_subprocess" },
        { "diff --git a/obj.py b/obj.py\n--- a/obj.py\n+++ b/obj.py\n@@ -1 +1,2 @@\n"
          " X = 1\n+time.sleep(1)\n", "sleeps" },
        { "diff --git a/obj.py b/obj.py\n--- a/obj.py\n+++ b/obj.py\n@@ -1 +1,2 @@\n"
          " X = 1\n+print('score: 0.1')\n", "hardcoded_metric" },
        { "", "diff" },
    };
    /* tests/t.py is editable and protected: protection wins. */
    json_t *rules = json_pack("{s:[s, s], s:[s, s], s:s}", "allowed", "obj.py", "tests/t.py",
                              "protect",
                              "tests/", "*_test.py", "metric", "score");

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        json_t *res = NULL;
        const char *key;
        json_t *g;
        int passed = -1;

        assert_int_equal(ad_research_gates_check(cases[i].diff, rules, &res, &passed, &err), 0);
        json_object_foreach(res, key, g) {
            int ok = json_is_true(json_object_get(g, "ok"));
            int want = !cases[i].failed || strcmp(key, cases[i].failed) != 0;

            if (ok != want)
                fail_msg("case %zu: gate %s ok=%d, want %d", i, key, ok, want);
        }
        if (cases[i].failed && !json_object_get(res, cases[i].failed))
            fail_msg("case %zu: no gate %s", i, cases[i].failed);
        assert_int_equal(passed, cases[i].failed == NULL);
        json_decref(res);
    }
    json_decref(rules);
}

/* Gates fail closed: no rules, no list of editable files, no metric name. */
static void gates_fail_closed(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *res = NULL, *no_allowed = json_pack("{s:s}", "metric", "score");
    json_t *no_metric = json_pack("{s:[s]}", "allowed", "obj.py");
    int passed = -1;

    (void)state;
    assert_int_equal(ad_research_gates_check(diff_ok, NULL, &res, &passed, &err), 0);
    assert_int_equal(passed, 0);
    json_decref(res);
    assert_int_equal(ad_research_gates_check(diff_ok, no_allowed, &res, &passed, &err), 0);
    assert_int_equal(passed, 0);
    assert_false(json_is_true(json_object_get(json_object_get(res, "scope"), "ok")));
    json_decref(res);
    assert_int_equal(ad_research_gates_check(diff_ok, no_metric, &res, &passed, &err), 0);
    assert_int_equal(passed, 0);
    assert_false(json_is_true(json_object_get(json_object_get(res, "hardcoded_metric"), "ok")));
    json_decref(res);
    json_decref(no_allowed);
    json_decref(no_metric);
}

/* A shell that ignores SIGTERM, with a child that does too: both die at the timeout. */
static void timeout_kills_the_tree(void **state)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c",
                     (char *)"trap '' TERM; (trap '' TERM; sleep 30) & echo started; wait",
                     NULL };
    struct ad__proc_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf out;

    (void)state;
    ad_buf_init(&out, 1 << 16);
    assert_int_equal(ad__proc_run(argv, NULL, NULL, 300, 1 << 16, &out, &res, &err), 0);
    assert_true(res.timed_out);
    assert_false(res.exited);
    assert_non_null(strstr(out.ptr, "started"));
    ad_buf_release(&out);
}

/* Output past the cap keeps the tail, where a run prints its metric. */
static void output_cap_keeps_the_tail(void **state)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c",
                     (char *)"i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done;"
                             " echo score: 7", NULL };
    struct ad__proc_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf out;
    double v = 0;

    (void)state;
    ad_buf_init(&out, 1 << 16);
    assert_int_equal(ad__proc_run(argv, NULL, NULL, 10000, 1024, &out, &res, &err), 0);
    assert_true(res.exited);
    assert_int_equal(res.status, 0);
    assert_true(res.truncated);
    assert_true(out.len <= 1024);
    assert_int_equal(ad_research_metric_extract(out.ptr, "score", NULL, &v, &err), 0);
    assert_true(v == 7);
    ad_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metric_extraction),
        cmocka_unit_test(gates_over_the_diff),
        cmocka_unit_test(gates_fail_closed),
        cmocka_unit_test(timeout_kills_the_tree),
        cmocka_unit_test(output_cap_keeps_the_tail),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
