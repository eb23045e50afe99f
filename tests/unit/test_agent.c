/*
 * Unit tests of the agent module above the store: the catalog's policy
 * (versions, rollback, matching) and tasks run in the real sandbox. The
 * agent loop is tested end to end with the loopback LLM in
 * tests/cli/t1100-agent-run.sh.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/bus.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "tmpdb.h"

static struct ad_sandbox *sb;

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
};

static const char wc_v1[] =
    "def word_count(text: str) -> int:\n"
    "    \"\"\"Count the words in a text.\"\"\"\n"
    "    return len(text.split())\n";

static const char wc_v2[] =
    "def word_count(text: str, sep: str = ' ') -> int:\n"
    "    \"\"\"Count the words in a text, split on sep.\"\"\"\n"
    "    return len([w for w in text.split(sep) if w])\n";

static const char raises[] =
    "def parse_amount(s: str) -> float:\n"
    "    \"\"\"Parse an invoice amount.\"\"\"\n"
    "    return float(s)\n";

static int group_setup(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    o.slots = 1;
    o.quiet = true;
    if (ad_sandbox_new(&o, &sb, &err) < 0) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ad_sandbox_free(sb);
    return 0;
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "agent");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    memcpy(a.tenant_id, f->tenant, AD_ID_SIZE);
    a.name = (char *)"bot";
    a.maturity = AD_INTERN;
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    memcpy(f->agent, a.id, AD_ID_SIZE);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    ad_bus_free(f->bus);
    ad_store_free(f->st);
    tmpdb_remove(&f->db);
    free(f);
    return 0;
}

static int add(struct fx *f, const char *name, const char *code, const char *semver,
               enum ad_semver_bump bump, struct ad_skill_version *v, struct ad_err *err)
{
    struct ad_skill_add a = { 0 };
    const char *entry = strstr(code, "def ") + 4;
    char fn[64];
    size_t n = strcspn(entry, "(");

    memcpy(fn, entry, n);
    fn[n] = '\0';
    a.tenant_id = f->tenant;
    a.name = name;
    a.entry = fn;
    a.code = code;
    a.semver = semver;
    a.bump = bump;
    a.origin = AD_ORIGIN_MANUAL;
    return ad_catalog_add(f->st, &a, NULL, v, err);
}

static int64_t events_on(struct fx *f, const char *topic)
{
    struct ad_event *ev = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;
    int64_t count = 0;

    assert_int_equal(ad_store_event_list(f->st, f->tenant, 0, topic, 1000, &ev, &n, &err), 0);
    count = (int64_t)n;
    ad_event_list_free(ev, n);
    return count;
}

static void test_json_equal_loose(void **state)
{
    json_t *a = json_pack("{s:[i, f], s:s}", "x", 1, 2.0, "y", "z");
    json_t *b = json_pack("{s:[f, i], s:s}", "x", 1.0, 2, "y", "z");
    json_t *c = json_pack("{s:[i, i], s:s}", "x", 1, 3, "y", "z");

    (void)state;
    assert_true(ad_json_equal_loose(a, b));
    assert_false(ad_json_equal_loose(a, c));
    assert_false(ad_json_equal_loose(a, NULL));
    assert_true(ad_json_equal_loose(NULL, NULL));
    assert_false(ad_json_equal_loose(json_object_get(a, "y"), json_object_get(a, "x")));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_add_new_skill(void **state)
{
    struct fx *f = *state;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(add(f, "word_count", wc_v1, NULL, AD_BUMP_MINOR, &v, &err), 0);
    assert_string_equal(v.semver, "1.0.0");
    assert_string_equal(v.parent_version_id, "");
    ad_skill_version_release(&v);
    assert_int_equal(ad_catalog_get(f->st, f->tenant, "word_count", NULL, &s, &v, &err), 0);
    assert_string_equal(s.description, "Count the words in a text.");
    assert_string_equal(s.entry_function, "word_count");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(s.input_schema, "properties"),
                                            "text"), "type")), "string");
    assert_string_equal(s.current_version_id, v.id);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
}

static void test_add_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_skill_add a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    a.tenant_id = f->tenant;
    a.name = "word_count";
    a.entry = "count";
    a.code = wc_v1;
    assert_int_equal(ad_catalog_add(f->st, &a, NULL, NULL, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "defines no top-level function 'count'"));
    a.entry = "word_count";
    a.name = "Word";
    assert_int_equal(ad_catalog_add(f->st, &a, NULL, NULL, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "invalid skill name"));
    a.name = "word_count";
    a.semver = "1.0";
    assert_int_equal(ad_catalog_add(f->st, &a, NULL, NULL, &err), AD_EINVAL);
    a.semver = NULL;
    a.entry = "1bad";
    assert_int_equal(ad_catalog_add(f->st, &a, NULL, NULL, &err), AD_EINVAL);
    /* Nothing of the refused calls reached the catalog. */
    {
        struct ad_skill *v = NULL;
        size_t n = 0;

        assert_int_equal(ad_store_skill_list(f->st, f->tenant, NULL, 10, &v, &n, &err), 0);
        assert_int_equal(n, 0);
        ad_skill_list_free(v, n);
    }
}

static void test_versions_and_rollback(void **state)
{
    struct fx *f = *state;
    struct ad_skill_version v1 = { 0 }, v2 = { 0 }, v3 = { 0 }, cur = { 0 };
    struct ad_skill s = { 0 };
    struct ad_skill_version *all = NULL;
    struct ad_err err = AD_ERR_INIT;
    static const char other_entry[] = "def count(text: str) -> int:\n    return 0\n";
    size_t n = 0;

    assert_int_equal(add(f, "word_count", wc_v1, NULL, AD_BUMP_MINOR, &v1, &err), 0);
    assert_int_equal(add(f, "word_count", wc_v2, NULL, AD_BUMP_MINOR, &v2, &err), 0);
    assert_string_equal(v2.semver, "1.1.0");
    assert_string_equal(v2.parent_version_id, v1.id);
    assert_int_equal(add(f, "word_count", wc_v1, NULL, AD_BUMP_MAJOR, &v3, &err), 0);
    assert_string_equal(v3.semver, "2.0.0");
    assert_string_equal(v3.parent_version_id, v2.id);
    /* A taken version and a changed entry are refused. */
    assert_int_equal(add(f, "word_count", wc_v1, "1.1.0", AD_BUMP_MINOR, NULL, &err),
                     AD_EEXIST);
    assert_int_equal(add(f, "word_count", other_entry, NULL, AD_BUMP_MINOR, NULL, &err),
                     AD_EINVAL);
    assert_non_null(strstr(err.msg, "must keep it"));

    /* Rollback to 1.1.0: current moves, history stays, schema follows the code. */
    assert_int_equal(ad_catalog_rollback(f->st, f->tenant, "word_count", "1.1.0", &err), 0);
    assert_int_equal(ad_catalog_get(f->st, f->tenant, "word_count", NULL, &s, &cur, &err), 0);
    assert_string_equal(cur.semver, "1.1.0");
    assert_non_null(json_object_get(json_object_get(s.input_schema, "properties"), "sep"));
    assert_int_equal(ad_store_skill_version_list(f->st, f->tenant, s.id, &all, &n, &err), 0);
    assert_int_equal(n, 3);
    ad_skill_version_list_free(all, n);
    ad_skill_release(&s);
    ad_skill_version_release(&cur);
    assert_int_equal(ad_catalog_rollback(f->st, f->tenant, "word_count", "9.9.9", &err),
                     AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "has no version 9.9.9"));
    assert_int_equal(ad_catalog_rollback(f->st, f->tenant, "nope", "1.0.0", &err),
                     AD_ENOTFOUND);
    ad_skill_version_release(&v1);
    ad_skill_version_release(&v2);
    ad_skill_version_release(&v3);
}

static void test_match(void **state)
{
    struct fx *f = *state;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_err err = AD_ERR_INIT;
    double score = 0;

    assert_int_equal(add(f, "word_count", wc_v1, NULL, AD_BUMP_MINOR, NULL, &err), 0);
    assert_int_equal(add(f, "parse_amount", raises, NULL, AD_BUMP_MINOR, NULL, &err), 0);
    assert_int_equal(ad_catalog_match(f->st, f->tenant, "Count the words of this e-mail", &s,
                                      &v, &score, &err), 0);
    assert_string_equal(s.name, "word_count");
    assert_true(score > 0);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    assert_int_equal(ad_catalog_match(f->st, f->tenant, "parse the invoice amount", &s, &v,
                                      &score, &err), 0);
    assert_string_equal(s.name, "parse_amount");
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    /* Only stop words, or nothing in common: no match. */
    assert_int_equal(ad_catalog_match(f->st, f->tenant, "the of a to", &s, &v, &score, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_catalog_match(f->st, f->tenant, "translate French poetry", &s, &v,
                                      &score, &err), AD_ENOTFOUND);
}

static void task_init(struct fx *f, struct ad_task *t, const char *desc)
{
    memset(t, 0, sizeof(*t));
    t->tenant_id = f->tenant;
    t->agent_id = f->agent;
    t->description = desc;
}

static void test_task_success_and_expect(void **state)
{
    struct fx *f = *state;
    struct ad_task t;
    struct ad_task_outcome o;
    struct ad_err err = AD_ERR_INIT;
    json_t *in = json_pack("{s:s}", "text", "a b c");
    json_t *three = json_integer(3), *four = json_integer(4);

    assert_int_equal(add(f, "word_count", wc_v1, NULL, AD_BUMP_MINOR, NULL, &err), 0);
    task_init(f, &t, "count words");
    t.skill = "word_count";
    t.input = in;
    t.expected = three;
    assert_int_equal(ad_task_run(f->st, f->bus, sb, &t, &o, &err), 0);
    assert_true(o.episode.success);
    assert_string_equal(o.skill_name, "word_count");
    assert_string_equal(o.semver, "1.0.0");
    assert_string_equal(o.status, "ok");
    assert_true(o.execution_id[0] != '\0');
    assert_true(json_integer_value(o.episode.output) == 3);
    assert_null(o.episode.error_trace);
    ad_task_outcome_release(&o);

    t.expected = four;
    assert_int_equal(ad_task_run(f->st, f->bus, sb, &t, &o, &err), 0);
    assert_false(o.episode.success);
    assert_non_null(strstr(o.episode.error_trace, "AssertionError: the output does not equal"));
    assert_non_null(strstr(o.episode.error_trace, "expected 4, got 3"));
    ad_task_outcome_release(&o);

    assert_int_equal(events_on(f, AD_TOPIC_TASK_SUCCESS), 1);
    assert_int_equal(events_on(f, AD_TOPIC_TASK_FAIL), 1);
    assert_int_equal(events_on(f, AD_TOPIC_SKILL_EXECUTION), 2);
    json_decref(in);
    json_decref(three);
    json_decref(four);
}

static void test_task_raises_and_none(void **state)
{
    struct fx *f = *state;
    struct ad_task t;
    struct ad_task_outcome o;
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;
    json_t *in = json_pack("{s:s}", "s", "1,234.50");

    assert_int_equal(add(f, "parse_amount", raises, NULL, AD_BUMP_MINOR, NULL, &err), 0);
    /* Matched by description; the skill raises: a failed episode with its trace. */
    task_init(f, &t, "Parse the invoice amount of the ACME export");
    t.input = in;
    assert_int_equal(ad_task_run(f->st, f->bus, sb, &t, &o, &err), 0);
    assert_false(o.episode.success);
    assert_true(o.match_score > 0);
    assert_string_equal(o.skill_name, "parse_amount");
    assert_non_null(strstr(o.episode.error_trace, "ValueError"));
    ad_episode_init(&ep);
    assert_int_equal(ad_store_episode_get(f->st, f->tenant, o.episode.id, &ep, &err), 0);
    assert_string_equal(json_string_value(json_array_get(ep.tools_attempted, 0)),
                        "parse_amount");
    assert_string_equal(ep.skill_version_id, o.episode.skill_version_id);
    assert_string_equal(json_string_value(json_object_get(ep.context, "selected_by")), "match");
    ad_episode_release(&ep);
    ad_task_outcome_release(&o);

    /* Nothing matches: a failed episode that says so, no execution. */
    task_init(f, &t, "translate French poetry");
    assert_int_equal(ad_task_run(f->st, f->bus, sb, &t, &o, &err), 0);
    assert_false(o.episode.success);
    assert_string_equal(o.skill_name, "");
    assert_string_equal(o.execution_id, "");
    assert_non_null(strstr(o.episode.error_trace, "NoSkillError: no catalog skill matches"));
    ad_task_outcome_release(&o);
    assert_int_equal(events_on(f, AD_TOPIC_SKILL_EXECUTION), 1);
    assert_int_equal(events_on(f, AD_TOPIC_TASK_FAIL), 2);

    /* A named skill that does not exist is an error and records nothing. */
    t.skill = "nope";
    assert_int_equal(ad_task_run(f->st, f->bus, sb, &t, &o, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no skill named 'nope'"));
    ad_task_outcome_release(&o);
    assert_int_equal(events_on(f, AD_TOPIC_TASK_FAIL), 2);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_equal_loose),
        cmocka_unit_test_setup_teardown(test_add_new_skill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_and_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_success_and_expect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_raises_and_none, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
