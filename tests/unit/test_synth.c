/*
 * Unit tests of synthesis by example (include/autodev/synth.h).
 *
 * The example sets live in tests/synth/sets.json, shared with
 * bench/bench_synth.c: each has a category, the examples given to
 * ad_synth, held-out inputs the intended program must also get right, and
 * whether a program of the language should fit at all. One test per
 * category runs every set of it and reports every failing set (its name,
 * what it was meant to find, the summary, the code and the why) before it
 * fails, so one run shows all that is wrong rather than the first thing.
 *
 * A found program is checked on every example and held-out input twice:
 * with ad_synth_apply (the C evaluator) and by running the emitted Python
 * in the real sandbox, so the two semantics cannot drift apart unnoticed
 * (about 110 sandbox runs, a few seconds). The sandbox is made once for
 * the group.
 *
 * Sections:
 *   fixture and helpers
 *   the sets file itself
 *   the sets, one test per category
 *   malformed examples and options
 *   a program applied where it cannot answer
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "autodev/agent.h"
#include "autodev/buf.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/synth.h"

#define SETS_PATH AD_TEST_SRCDIR "/tests/synth/sets.json"
#define ENTRY "solve"
/* A run of a one-line function; generous so a loaded CI machine does not flake. */
#define RUN_WALL_MS 20000

static struct ad_sandbox *sb;
static json_t *sets;

/* ---- fixture and helpers -------------------------------------------------- */

static int group_setup(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    json_error_t jerr;

    (void)state;
    sets = json_load_file(SETS_PATH, 0, &jerr);
    if (!sets) {
        fprintf(stderr, "%s:%d: %s\n", SETS_PATH, jerr.line, jerr.text);
        return -1;
    }
    o.slots = 1;
    o.quiet = true;
    if (ad_sandbox_new(&o, &sb, &err) < 0) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        json_decref(sets);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ad_sandbox_free(sb);
    json_decref(sets);
    return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void assert_has(const char *text, const char *substr)
{
    if (!text || !strstr(text, substr))
        fail_msg("'%s' lacks '%s'", text ? text : "(null)", substr);
}

/* Compact JSON for a message; never NULL (the caller frees it). */
static char *show(const json_t *v)
{
    char *s = v ? ad_json_dumps(v) : strdup("(none)");

    return s ? s : strdup("(out of memory)");
}

/* Prints text with every line prefixed, so TAP readers take it as a comment. */
static void print_lines(const char *prefix, const char *text)
{
    const char *p = text;

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);

        print_message("# %s%.*s\n", prefix, n, p);
        p = nl ? nl + 1 : NULL;
    }
}

/* ---- the sets file itself ------------------------------------------------- */

static const char *const categories[] = {
    "extract", "reformat", "json-path", "arith", "list", "bool", "none",
};
/* The least each category must hold (issue 7). */
static const int category_min[] = { 8, 6, 6, 6, 4, 3, 4 };

static int category_index(const char *c)
{
    for (size_t i = 0; c && i < AD_ARRAY_SIZE(categories); i++)
        if (!strcmp(c, categories[i]))
            return (int)i;
    return -1;
}

/* Whether input equals the input of one of the examples. */
static bool among_examples(const json_t *examples, const json_t *input)
{
    size_t i;
    json_t *e;

    json_array_foreach(examples, i, e)
        if (json_equal(json_object_get(e, "input"), (json_t *)input))
            return true;
    return false;
}

static bool pairs_ok(const json_t *a)
{
    size_t i;
    json_t *e;

    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, e)
        if (!json_object_get(e, "input") || !json_object_get(e, "output"))
            return false;
    return true;
}

/* The file is what the tests and the benchmark read: check its shape first. */
static void test_sets_file(void **state)
{
    int count[AD_ARRAY_SIZE(categories)] = { 0 };
    size_t i, j;
    json_t *s, *h;

    (void)state;
    assert_true(json_is_array(sets));
    assert_true(json_array_size(sets) >= 36);
    json_array_foreach(sets, i, s) {
        const char *name = jstr(s, "name");
        int c = category_index(jstr(s, "category"));
        json_t *ex = json_object_get(s, "examples"), *held = json_object_get(s, "held_out");
        json_t *fits = json_object_get(s, "fits");

        if (!name || c < 0 || !json_is_boolean(fits) || !pairs_ok(ex) || !pairs_ok(held))
            fail_msg("set %zu (%s): malformed", i, name ? name : "no name");
        for (j = 0; j < i; j++)
            if (!strcmp(name, jstr(json_array_get(sets, j), "name")))
                fail_msg("set '%s' appears twice", name);
        count[c]++;
        if (json_is_false(fits)) {
            if (!jstr(s, "why_has") || strcmp(categories[c], "none") != 0)
                fail_msg("set '%s': no fit needs category none and why_has", name);
            continue;
        }
        if (json_array_size(ex) < 2 || json_array_size(ex) > 4 ||
            json_array_size(held) < 2 || json_array_size(held) > 3)
            fail_msg("set '%s': wants 2-4 examples and 2-3 held-out inputs", name);
        json_array_foreach(held, j, h)
            if (among_examples(ex, json_object_get(h, "input")))
                fail_msg("set '%s': held-out input %zu is also an example", name, j);
    }
    for (i = 0; i < AD_ARRAY_SIZE(categories); i++)
        if (count[i] < category_min[i])
            fail_msg("category %s has %d sets, wants %d", categories[i], count[i],
                     category_min[i]);
}

/* ---- the sets, one test per category -------------------------------------- */

/* Runs the found program's Python in the sandbox on input; 0 when it gives want. */
static int sandbox_check(const struct ad_synth_result *res, const json_t *input,
                         const json_t *want, struct ad_buf *why)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;
    char *in = show(input), *w = show(want), *got = NULL, *e = NULL;
    int rc;

    s.entry_function = res->entry;
    v.code = res->code;
    lim.wall_ms = RUN_WALL_MS;
    rc = ad_skill_execute(sb, &s, &v, input, &lim, &r, &err);
    if (rc < 0) {
        ad_buf_addf(why, "sandbox on %s: %s\n", in, err.msg);
    } else if (r.status != AD_SB_OK) {
        e = ad_skill_result_error(&r);
        ad_buf_addf(why, "python on %s: %s: %s\n", in, ad_sb_status_name(r.status),
                    e ? e : "?");
        rc = -1;
    } else if (!ad_json_equal_loose(want, r.output)) {
        got = show(r.output);
        ad_buf_addf(why, "python on %s: want %s, got %s\n", in, w, got);
        rc = -1;
    }
    ad_sandbox_result_clear(&r);
    free(in);
    free(w);
    free(got);
    free(e);
    return rc;
}

/* Runs the C evaluator on every pair of a; the count of wrong answers. */
static int apply_check(const struct ad_synth_result *res, const json_t *a, const char *what,
                       struct ad_buf *why)
{
    size_t i;
    json_t *p;
    int bad = 0;

    json_array_foreach(a, i, p) {
        const json_t *in = json_object_get(p, "input"), *want = json_object_get(p, "output");
        struct ad_err err = AD_ERR_INIT;
        json_t *out = NULL;
        char *si = show(in), *sw = show(want), *so = NULL;

        if (ad_synth_apply(res, in, &out, &err) != 0) {
            ad_buf_addf(why, "apply on %s %zu %s: %s\n", what, i, si, err.msg);
            bad++;
        } else if (!ad_json_equal_loose(want, out)) {
            so = show(out);
            ad_buf_addf(why, "apply on %s %zu %s: want %s, got %s\n", what, i, si, sw, so);
            bad++;
        }
        json_decref(out);
        free(si);
        free(sw);
        free(so);
    }
    return bad;
}

/*
 * A set a program should fit: found, and right on every example and
 * held-out input, both in C (ad_synth_apply) and in Python (the sandbox).
 * Returns the number of problems written to why.
 */
static int check_fit(const json_t *set, const struct ad_synth_result *res, int rc,
                     const struct ad_err *err, struct ad_buf *why)
{
    const json_t *examples = json_object_get(set, "examples");
    const json_t *held = json_object_get(set, "held_out");
    size_t i;
    json_t *h;
    int bad = 0;

    if (rc != 0) {
        ad_buf_addf(why, "ad_synth: %s (%d): %s\n", ad_strerror(rc), rc, err->msg);
        return 1;
    }
    if (!res->code || !res->entry || strcmp(res->entry, ENTRY) != 0 || !res->prog) {
        ad_buf_addf(why, "result incomplete: code %s, entry '%s', prog %s\n",
                    res->code ? "set" : "NULL", res->entry ? res->entry : "(null)",
                    res->prog ? "set" : "NULL");
        return 1;
    }
    bad += apply_check(res, examples, "example", why);
    bad += apply_check(res, held, "held-out", why);
    json_array_foreach(examples, i, h)
        if (sandbox_check(res, json_object_get(h, "input"), json_object_get(h, "output"), why))
            bad++;
    json_array_foreach(held, i, h)
        if (sandbox_check(res, json_object_get(h, "input"), json_object_get(h, "output"), why))
            bad++;
    return bad;
}

/* A set nothing should fit: AD_ENOTFOUND with the expected reason. */
static int check_no_fit(const json_t *set, const struct ad_synth_result *res, int rc,
                        struct ad_buf *why)
{
    const char *want = jstr(set, "why_has");

    if (rc != AD_ENOTFOUND) {
        ad_buf_addf(why, "ad_synth gave %s (%d), want %s\n", rc ? ad_strerror(rc) : "a program",
                    rc, ad_strerror(AD_ENOTFOUND));
        return 1;
    }
    if (!res->why || !strstr(res->why, want)) {
        ad_buf_addf(why, "why lacks '%s'\n", want);
        return 1;
    }
    return 0;
}

/* Prints everything needed to see why one set failed. */
static void report_set(const json_t *set, const struct ad_synth_result *res,
                       const char *problems)
{
    print_message("# FAIL %s [%s] meant: %s\n", jstr(set, "name"), jstr(set, "category"),
                  jstr(set, "intent") ? jstr(set, "intent") : "?");
    print_lines("  ", problems);
    if (res->summary)
        print_message("#   summary: %s\n", res->summary);
    if (res->why)
        print_message("#   why: %s\n", res->why);
    print_message("#   considered %ld candidate programs, %d examples used\n", res->considered,
                  res->examples);
    if (res->code)
        print_lines("  | ", res->code);
}

/* Synthesises one set and checks it; 0 when all is as the set says. */
static int run_set(const json_t *set)
{
    struct ad_synth_opts o = { ENTRY, NULL };
    struct ad_synth_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf why = AD_BUF_INIT;
    int rc, bad;

    memset(&res, 0, sizeof(res));
    rc = ad_synth(json_object_get(set, "examples"), &o, &res, &err);
    if (json_is_true(json_object_get(set, "fits")))
        bad = check_fit(set, &res, rc, &err, &why);
    else
        bad = check_no_fit(set, &res, rc, &why);
    if (bad)
        report_set(set, &res, why.ptr);
    ad_synth_result_release(&res);
    ad_buf_release(&why);
    return bad ? -1 : 0;
}

/* state: the category's name. Every set runs; the failures are named at the end. */
static void test_category(void **state)
{
    const char *cat = *state;
    struct ad_buf failed = AD_BUF_INIT;
    int n = 0, nbad = 0;
    size_t i;
    json_t *s;

    json_array_foreach(sets, i, s) {
        if (!jstr(s, "category") || strcmp(jstr(s, "category"), cat) != 0)
            continue;
        n++;
        if (run_set(s) == 0)
            continue;
        nbad++;
        ad_buf_addf(&failed, "%s%s", nbad > 1 ? ", " : "", jstr(s, "name"));
    }
    if (n == 0)
        fail_msg("no sets of category %s", cat);
    if (nbad) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "%d of %d %s sets failed: %s", nbad, n, cat, failed.ptr);
        ad_buf_release(&failed);
        fail_msg("%s", msg);
    }
    ad_buf_release(&failed);
}

/* ---- malformed examples and options --------------------------------------- */

/*
 * What the remaining tests hold; the teardown releases it, so a failed
 * assertion (which leaves the test by longjmp) leaks nothing.
 */
struct fx {
    json_t *ex;
    json_t *in;
    json_t *out;
    struct ad_synth_result res;
    struct ad_sandbox_result r;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    json_decref(f->ex);
    json_decref(f->in);
    json_decref(f->out);
    ad_synth_result_release(&f->res);
    ad_sandbox_result_clear(&f->r);
    free(f);
    return 0;
}

/* n examples {"input": "Please pay INV-<n> by Friday.", "output": "INV-<n>"}. */
static json_t *invoice_examples(int n)
{
    json_t *a = json_array();

    for (int i = 0; i < n; i++) {
        char in[64], out[32];

        snprintf(out, sizeof(out), "INV-%d", 1000 + i);
        snprintf(in, sizeof(in), "Please pay %s by Friday.", out);
        json_array_append_new(a, json_pack("{s:s, s:s}", "input", in, "output", out));
    }
    return a;
}

/* ad_synth on ex with function name name must return want (and say msg_has). */
static void expect_rc(struct fx *f, const json_t *ex, const char *name, int want,
                      const char *msg_has)
{
    struct ad_synth_opts o = { name, NULL };
    struct ad_err err = AD_ERR_INIT;
    int rc;

    ad_synth_result_release(&f->res);
    rc = ad_synth(ex, &o, &f->res, &err);
    if (rc != want)
        fail_msg("ad_synth (name '%s') gave %d (%s), want %d (%s)", name, rc, err.msg, want,
                 ad_strerror(want));
    if (msg_has)
        assert_has(err.msg, msg_has);
}

static void expect_text(struct fx *f, const char *text, int want)
{
    json_error_t jerr;

    json_decref(f->ex);
    f->ex = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(f->ex);
    expect_rc(f, f->ex, ENTRY, want, NULL);
}

static void test_bad_examples(void **state)
{
    struct fx *f = *state;

    expect_text(f, "{\"input\": \"a\", \"output\": \"b\"}", AD_EINVAL);
    expect_text(f, "\"INV-1\"", AD_EINVAL);
    expect_text(f, "[]", AD_EINVAL);
    expect_text(f, "[{\"input\": \"ref INV-1\", \"output\": \"INV-1\"},"
                   " {\"input\": \"ref INV-2\"}]", AD_EINVAL);
    expect_text(f, "[{\"output\": \"INV-1\"},"
                   " {\"input\": \"ref INV-2\", \"output\": \"INV-2\"}]", AD_EINVAL);
    expect_text(f, "[{\"input\": \"ref INV-1\", \"output\": \"INV-1\"}, 7]", AD_EINVAL);
}

static void test_too_many_examples(void **state)
{
    struct fx *f = *state;

    f->ex = invoice_examples(AD_SYNTH_MAX_EXAMPLES + 1);
    expect_rc(f, f->ex, ENTRY, AD_ETOOBIG, NULL);
    /* The limit itself is allowed. */
    json_array_remove(f->ex, 0);
    expect_rc(f, f->ex, ENTRY, 0, NULL);
    assert_int_equal(f->res.examples, AD_SYNTH_MAX_EXAMPLES);
}

static void test_bad_names(void **state)
{
    struct fx *f = *state;

    f->ex = invoice_examples(3);
    expect_rc(f, f->ex, "2bad", AD_EINVAL, "2bad");
    expect_rc(f, f->ex, "has space", AD_EINVAL, NULL);
    expect_rc(f, f->ex, "", AD_EINVAL, NULL);
    expect_rc(f, f->ex, "get_invoice_id", 0, NULL);
    assert_string_equal(f->res.entry, "get_invoice_id");
    assert_has(f->res.code, "def get_invoice_id(");
}

/* NULL options: the function is called "transform" and has a docstring. */
static void test_null_opts(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;

    f->ex = invoice_examples(3);
    if (ad_synth(f->ex, NULL, &f->res, &err) != 0)
        fail_msg("ad_synth with NULL options: %s", err.msg);
    assert_string_equal(f->res.entry, "transform");
    assert_has(f->res.code, "def transform(");
    assert_has(f->res.code, "\"\"\"");
    assert_non_null(f->res.summary);
    assert_int_equal(f->res.examples, 3);
}

/* ---- a program applied where it cannot answer ----------------------------- */

/*
 * The invoice program on text with no invoice id: ad_synth_apply says
 * AD_ENOTFOUND because the Python would raise, and the Python does raise.
 */
static void test_apply_no_match(void **state)
{
    struct fx *f = *state;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_sandbox_limits lim = { 0 };
    struct ad_err err = AD_ERR_INIT;

    f->ex = invoice_examples(3);
    f->in = json_string("no invoice in here");
    expect_rc(f, f->ex, ENTRY, 0, NULL);
    assert_int_equal(ad_synth_apply(&f->res, f->in, &f->out, &err), AD_ENOTFOUND);
    assert_null(f->out);
    s.entry_function = f->res.entry;
    v.code = f->res.code;
    lim.wall_ms = RUN_WALL_MS;
    assert_int_equal(ad_skill_execute(sb, &s, &v, f->in, &lim, &f->r, &err), 0);
    assert_int_equal(f->r.status, AD_SB_ERROR);
}

int main(void)
{
    /* Built by hand so each category's test carries its own name. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sets_file),
        { "sets_extract", test_category, NULL, NULL, (void *)"extract" },
        { "sets_reformat", test_category, NULL, NULL, (void *)"reformat" },
        { "sets_json_path", test_category, NULL, NULL, (void *)"json-path" },
        { "sets_arith", test_category, NULL, NULL, (void *)"arith" },
        { "sets_list", test_category, NULL, NULL, (void *)"list" },
        { "sets_bool", test_category, NULL, NULL, (void *)"bool" },
        { "sets_none", test_category, NULL, NULL, (void *)"none" },
        cmocka_unit_test_setup_teardown(test_bad_examples, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_too_many_examples, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_null_opts, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_apply_no_match, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
