/*
 * The conformance suite's core (store_suite.h): tenants, agents, episodes
 * (the JSON form, insert, list, count), events, jobs, the LLM ledger,
 * settings, transactions and savepoints, tenant isolation. Each test gets
 * a fresh store of the backend under test.
 *
 * Sections: helpers, reopening and read-only stores, tenants and agents,
 * the episode JSON form, episodes in the store, events, jobs, settings and
 * the LLM ledger, transactions, jansson out of memory, tenant isolation;
 * the group's table last.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "autodev/clock.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "store/store_backend.h"
#include "store_suite.h"

/* ---- helpers ------------------------------------------------------------ */

static void make_agent(struct fx *f, const char *tenant, const char *name, char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), tenant);
    a.name = (char *)name;
    a.maturity = AD_INTERN;
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    ad__copy_fixed(id, AD_ID_SIZE, a.id);
}

/* Inserts a minimal episode and returns its id. */
static void make_episode(struct fx *f, const char *tenant, const char *agent, bool success,
                         const char *kind, char id[AD_ID_SIZE])
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;

    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    ep.task_description = (char *)"parse the invoice";
    ep.task_kind = (char *)kind;
    ep.success = success;
    if (ad_store_episode_insert(f->st, &ep, &err))
        fail_msg("episode insert: %s", err.msg);
    if (id)
        ad__copy_fixed(id, AD_ID_SIZE, ep.id);
}

/* ---- reopening and read-only stores ------------------------------------- */

static void reopen(struct fx *f)
{
    struct ad_err err = AD_ERR_INIT;

    ad_store_free(f->st);
    f->st = NULL;
    assert_int_equal(suite_open(f, 0, 0, &f->st, &err), 0);
}

static void test_reopen_is_idempotent(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char id[AD_ID_SIZE];
    int cur = 0, latest = 0;

    reopen(f);
    reopen(f);
    assert_int_equal(ad_store_schema_version(f->st, &cur, &latest, &err), 0);
    assert_int_equal(cur, latest);
    /* Numbers may skip (6 is the server's, 7 Autoresearch's): the newest row is latest. */
    assert_int_equal(sql_int(f, "SELECT max(version) FROM schema_migrations"), latest);
    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", id, &err), 0);
    assert_string_equal(id, f->tenant);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM tenants"), 2);
}

static void test_readonly_store(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    struct ad_agent a = { 0 }, *list = NULL;
    size_t n = 9;
    char agent[AD_ID_SIZE];

    make_agent(f, f->tenant, "bot", agent);
    ad_store_free(f->st);
    f->st = NULL;
    assert_int_equal(suite_open(f, AD_STORE_READONLY, 0, &f->st, &err), 0);
    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"other";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), AD_EPERM);
    assert_int_equal(ad_store_agent_list(f->st, f->tenant, NULL, 0, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_agent_list_free(list, n);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    ad_settings_defaults(&s);
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), AD_EPERM);
    assert_int_equal(ad_store_tenant_ensure(f->st, "newco", agent, &err), AD_EPERM);
}

/* ---- tenants and agents ------------------------------------------------- */

static void test_tenants(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tenant t;
    char id[AD_ID_SIZE];
    char longname[AD_NAME_MAX + 2];

    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", id, &err), 0);
    assert_string_equal(id, f->tenant);
    assert_string_not_equal(f->tenant, f->other);
    assert_int_equal(ad_store_tenant_get(f->st, "acme", &t, &err), 0);
    assert_string_equal(t.id, f->tenant);
    assert_string_equal(t.name, "acme");
    assert_int_equal(strlen(t.created_at), AD_TIME_SIZE - 1);
    ad_tenant_release(&t);
    assert_int_equal(ad_store_tenant_get(f->st, "nobody", &t, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "nobody");
    assert_int_equal(ad_store_tenant_ensure(f->st, "-bad", id, &err), AD_EINVAL);
    assert_int_equal(ad_store_tenant_ensure(f->st, "a b", id, &err), AD_EINVAL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(ad_store_tenant_ensure(f->st, longname, id, &err), AD_ETOOBIG);
    longname[AD_NAME_MAX] = '\0';
    assert_int_equal(ad_store_tenant_ensure(f->st, longname, id, &err), 0);
}

static void test_name_valid(void **state)
{
    static const struct { const char *name; int ok; } cases[] = {
        { "bot", 1 }, { "Bot-1.v2_x", 1 }, { "9lives", 1 }, { "", 0 }, { "-x", 0 },
        { "_x", 0 }, { ".x", 0 }, { "a b", 0 }, { "a/b", 0 }, { "ünï", 0 },
    };
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        if (ad_name_valid(cases[i].name) != cases[i].ok)
            fail_msg("ad_name_valid('%s') != %d", cases[i].name, cases[i].ok);
    }
    assert_int_equal(ad_name_valid(NULL), 0);
}

static void test_enum_names(void **state)
{
    enum ad_maturity m;
    enum ad_job_status s;

    assert_string_equal(ad_maturity_name(AD_SUPERVISED), "SUPERVISED");
    assert_null(ad_maturity_name((enum ad_maturity)7));
    assert_int_equal(ad_maturity_parse("autonomous", &m), 0);
    assert_int_equal(m, AD_AUTONOMOUS);
    assert_int_equal(ad_maturity_parse("boss", &m), AD_EINVAL);
    assert_string_equal(ad_job_status_name(AD_JOB_DEAD), "dead");
    assert_null(ad_job_status_name((enum ad_job_status)9));
    assert_int_equal(ad_job_status_parse("RUNNING", &s), 0);
    assert_int_equal(s, AD_JOB_RUNNING);
    assert_int_equal(ad_job_status_parse("paused", &s), AD_EINVAL);
}

static void test_agents(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 }, got, *list = NULL;
    char id[AD_ID_SIZE], name[16];
    size_t n = 0;
    int i;

    make_agent(f, f->tenant, "bot", id);
    assert_true(ad_id_valid(id));
    /* Duplicate name in the same tenant. */
    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"bot";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), AD_EEXIST);
    assert_msg_has(&err, "bot");
    assert_string_equal(a.id, "");
    /* Bad input. */
    a.name = (char *)"no spaces";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), AD_EINVAL);
    a.name = (char *)"ok";
    a.maturity = (enum ad_maturity)9;
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), AD_EINVAL);

    assert_int_equal(ad_store_agent_get(f->st, f->tenant, id, &got, &err), 0);
    assert_string_equal(got.name, "bot");
    assert_int_equal(got.maturity, AD_INTERN);
    assert_int_equal(got.episode_count, 0);
    assert_string_equal(got.created_at, got.updated_at);
    ad_agent_release(&got);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "bot", &got, &err), 0);
    assert_string_equal(got.id, id);
    ad_agent_release(&got);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "nobody", &got, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_agent_get(f->st, f->tenant, "not-an-id", &got, &err), AD_EINVAL);

    assert_int_equal(ad_store_agent_set_maturity(f->st, f->tenant, id, AD_AUTONOMOUS, &err), 0);
    assert_int_equal(ad_store_agent_get(f->st, f->tenant, id, &got, &err), 0);
    assert_int_equal(got.maturity, AD_AUTONOMOUS);
    ad_agent_release(&got);
    assert_int_equal(ad_store_agent_set_maturity(f->st, f->tenant, id, (enum ad_maturity)-1, &err),
                     AD_EINVAL);

    /* Paging by name: 7 agents, pages of 3. */
    for (i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "a%d", i);
        make_agent(f, f->tenant, name, id);
    }
    assert_int_equal(ad_store_agent_list(f->st, f->tenant, NULL, 3, &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "a0");
    assert_string_equal(list[2].name, "a2");
    snprintf(name, sizeof(name), "%s", list[2].name);
    ad_agent_list_free(list, n);
    assert_int_equal(ad_store_agent_list(f->st, f->tenant, name, 3, &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "a3");
    ad_agent_list_free(list, n);
    assert_int_equal(ad_store_agent_list(f->st, f->tenant, "a5", 3, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "bot");
    ad_agent_list_free(list, n);
    assert_int_equal(ad_store_agent_list(f->st, f->tenant, NULL, -1, &list, &n, &err), AD_EINVAL);
}

/* ---- episode JSON ------------------------------------------------------- */

/*
 * Each case starts from a valid episode, merges patch over it, removes one
 * key, or sets big_key to a string of big_len bytes, then expects code and
 * a message containing substr. "segment_content" and "nsegments" are
 * special big_keys for the segments array.
 */
struct json_case {
    const char *patch;
    const char *remove;
    const char *big_key;
    size_t big_len;
    int code;
    const char *substr;
};

static const struct json_case json_cases[] = {
    /* required fields and the agent */
    { NULL, "success", NULL, 0, AD_EINVAL, "success" },
    { NULL, "task_description", NULL, 0, AD_EINVAL, "task_description" },
    { NULL, "agent", NULL, 0, AD_EINVAL, "agent" },
    { "{\"agent_id\": \"0190c0de-0000-7000-8000-000000000000\"}", NULL, NULL, 0, AD_EINVAL,
      "agent_id" },
    { "{\"agent\": \"-bad\"}", NULL, NULL, 0, AD_EINVAL, "agent" },
    { "{\"agent\": 7}", NULL, NULL, 0, AD_EINVAL, "agent" },
    { NULL, NULL, "agent", AD_NAME_MAX + 1, AD_ETOOBIG, "agent" },
    /* strictness */
    { "{\"bogus\": 1}", NULL, NULL, 0, AD_EINVAL, "bogus" },
    { "{\"success\": \"yes\"}", NULL, NULL, 0, AD_EINVAL, "success" },
    { "{\"success\": 1}", NULL, NULL, 0, AD_EINVAL, "success" },
    { "{\"task_description\": \"\"}", NULL, NULL, 0, AD_EINVAL, "task_description" },
    { "{\"task_description\": 3}", NULL, NULL, 0, AD_EINVAL, "task_description" },
    { "{\"task_kind\": \"\"}", NULL, NULL, 0, AD_EINVAL, "task_kind" },
    { "{\"intervention\": \"no\"}", NULL, NULL, 0, AD_EINVAL, "intervention" },
    { "{\"constitutional_score\": 1.5}", NULL, NULL, 0, AD_EINVAL, "constitutional_score" },
    { "{\"constitutional_score\": -0.1}", NULL, NULL, 0, AD_EINVAL, "constitutional_score" },
    { "{\"execution_seconds\": -1}", NULL, NULL, 0, AD_EINVAL, "execution_seconds" },
    { "{\"token_usage\": -1}", NULL, NULL, 0, AD_EINVAL, "token_usage" },
    { "{\"token_usage\": 1.5}", NULL, NULL, 0, AD_EINVAL, "token_usage" },
    /* the caps on numbers: at the cap, and just past it */
    { "{\"token_usage\": 1000000000}", NULL, NULL, 0, 0, NULL },
    { "{\"token_usage\": 1000000001}", NULL, NULL, 0, AD_EINVAL, "token_usage" },
    { "{\"token_usage\": 9223372036854775807}", NULL, NULL, 0, AD_EINVAL, "token_usage" },
    { "{\"execution_seconds\": 31536000}", NULL, NULL, 0, 0, NULL },
    { "{\"execution_seconds\": 31536000.001}", NULL, NULL, 0, AD_EINVAL, "execution_seconds" },
    { "{\"execution_seconds\": 1e308}", NULL, NULL, 0, AD_EINVAL, "execution_seconds" },
    { "{\"tools_attempted\": {}}", NULL, NULL, 0, AD_EINVAL, "tools_attempted" },
    { "{\"context\": []}", NULL, NULL, 0, AD_EINVAL, "context" },
    { "{\"skill_version_id\": \"v1\"}", NULL, NULL, 0, AD_EINVAL, "skill_version_id" },
    { "{\"segments\": {}}", NULL, NULL, 0, AD_EINVAL, "segments" },
    { "{\"segments\": [{\"kind\": \"log\"}]}", NULL, NULL, 0, AD_EINVAL, "content" },
    { "{\"segments\": [{\"kind\": \"log\", \"content\": \"x\", \"extra\": 1}]}", NULL, NULL, 0,
      AD_EINVAL, "segments[0]" },
    { "{\"segments\": [{\"kind\": \"log\", \"content\": \"x\", \"metadata\": 3}]}", NULL, NULL,
      0, AD_EINVAL, "metadata" },
    { "{\"segments\": [3]}", NULL, NULL, 0, AD_EINVAL, "segments[0]" },
    /* caps: one byte over is refused */
    { NULL, NULL, "task_description", AD_TASK_DESC_MAX + 1, AD_ETOOBIG, "task_description" },
    { NULL, NULL, "task_kind", AD_TASK_KIND_MAX + 1, AD_ETOOBIG, "task_kind" },
    { NULL, NULL, "error_trace", AD_ERROR_TRACE_MAX + 1, AD_ETOOBIG, "error_trace" },
    /* a JSON string of n bytes is n + 2 bytes of JSON text */
    { NULL, NULL, "input", AD_JSON_FIELD_MAX - 1, AD_ETOOBIG, "input" },
    { NULL, NULL, "expected", AD_JSON_FIELD_MAX - 1, AD_ETOOBIG, "expected" },
    { NULL, NULL, "output", AD_JSON_FIELD_MAX - 1, AD_ETOOBIG, "output" },
    { NULL, NULL, "segment_content", AD_SEGMENT_CONTENT_MAX + 1, AD_ETOOBIG, "content" },
    { NULL, NULL, "nsegments", AD_SEGMENTS_MAX + 1, AD_ETOOBIG, "segments" },
    /* ... and exactly at the cap is accepted */
    { NULL, NULL, "task_description", AD_TASK_DESC_MAX, 0, NULL },
    { NULL, NULL, "task_kind", AD_TASK_KIND_MAX, 0, NULL },
    { NULL, NULL, "error_trace", AD_ERROR_TRACE_MAX, 0, NULL },
    { NULL, NULL, "input", AD_JSON_FIELD_MAX - 2, 0, NULL },
    { NULL, NULL, "segment_content", AD_SEGMENT_CONTENT_MAX, 0, NULL },
    { NULL, NULL, "nsegments", AD_SEGMENTS_MAX, 0, NULL },
    { NULL, NULL, "agent", AD_NAME_MAX, 0, NULL },
    /* nulls count as absent for optional fields */
    { "{\"task_kind\": null, \"input\": null, \"constitutional_score\": null}", NULL, NULL, 0, 0,
      NULL },
};

static json_t *big_string(size_t len)
{
    char *s = malloc(len + 1);
    json_t *v;

    assert_non_null(s);
    memset(s, 'a', len);
    s[len] = '\0';
    v = json_string(s);
    free(s);
    return v;
}

static void apply_big(json_t *o, const struct json_case *c)
{
    json_t *arr;
    size_t i;

    if (!strcmp(c->big_key, "segment_content")) {
        json_t *seg = json_pack("{s:s}", "kind", "log");
        json_object_set_new(seg, "content", big_string(c->big_len));
        json_object_set_new(o, "segments", json_pack("[o]", seg));
    } else if (!strcmp(c->big_key, "nsegments")) {
        arr = json_array();
        for (i = 0; i < c->big_len; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s}", "kind", "k", "content", "c"));
        json_object_set_new(o, "segments", arr);
    } else {
        json_object_set_new(o, c->big_key, big_string(c->big_len));
    }
}

static json_t *case_object(const struct json_case *c)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "agent", "bot", "task_description", "x",
                          "success", 0);

    assert_non_null(o);
    if (c->patch) {
        json_t *p = json_loads(c->patch, 0, NULL);
        assert_non_null(p);
        json_object_update(o, p);
        json_decref(p);
    }
    if (c->remove)
        json_object_del(o, c->remove);
    if (c->big_key)
        apply_big(o, c);
    return o;
}

static void test_episode_json_cases(void **state)
{
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(json_cases); i++) {
        const struct json_case *c = &json_cases[i];
        struct ad_err err = AD_ERR_INIT;
        struct ad_episode ep;
        const char *agent = NULL;
        json_t *o = case_object(c);
        int rc = ad_episode_from_json(o, &ep, &agent, &err);

        if (rc != c->code)
            fail_msg("case %zu: code %d, want %d (%s)", i, rc, c->code, err.msg);
        if (c->substr && !strstr(err.msg, c->substr))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, c->substr);
        if (rc) {
            assert_null(ep.task_description);   /* nothing left behind */
            assert_null(agent);
        }
        ad_episode_release(&ep);
        json_decref(o);
    }
}

static void test_episode_json_full(void **state)
{
    static const char text[] =
        "{\"agent_id\": \"0190c0de-0000-7000-8000-000000000001\","
        " \"task_description\": \"sum the column\", \"success\": false,"
        " \"task_kind\": \"csv\", \"input\": {\"rows\": [1, 2]}, \"expected\": 3,"
        " \"output\": null, \"error_trace\": \"KeyError: 'total'\","
        " \"tools_attempted\": [\"pandas\"], \"context\": {\"user\": \"u1\"},"
        " \"intervention\": true, \"constitutional_score\": 0.75, \"execution_seconds\": 1.5,"
        " \"token_usage\": 1200, \"skill_version_id\": \"0190c0de-0000-7000-8000-000000000002\","
        " \"segments\": [{\"kind\": \"thought\", \"content\": \"try sum\","
        " \"metadata\": {\"step\": 1}}, {\"kind\": \"log\", \"content\": \"\"}]}";
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    const char *agent = "stale";
    json_t *o = json_loads(text, 0, NULL), *back;

    assert_non_null(o);
    assert_int_equal(ad_episode_from_json(o, &ep, &agent, &err), 0);
    assert_null(agent);
    assert_string_equal(ep.agent_id, "0190c0de-0000-7000-8000-000000000001");
    assert_string_equal(ep.task_kind, "csv");
    assert_false(ep.success);
    assert_true(ep.intervention);
    assert_true(ep.constitutional_score == 0.75);
    assert_int_equal(ep.token_usage, 1200);
    assert_null(ep.output);
    assert_int_equal(json_integer_value(ep.expected), 3);
    assert_int_equal(ep.nsegments, 2);
    assert_string_equal(ep.segments[1].kind, "log");
    assert_string_equal(ep.segments[1].content, "");
    assert_int_equal(ad__episode_validate(&ep, NULL, &err), 0);

    back = ad_episode_to_json(&ep);
    assert_non_null(back);
    assert_string_equal(json_string_value(json_object_get(back, "error_trace")),
                        "KeyError: 'total'");
    assert_true(json_equal(json_object_get(back, "input"), json_object_get(o, "input")));
    assert_int_equal(json_array_size(json_object_get(back, "segments")), 2);
    json_decref(back);
    ad_episode_release(&ep);
    json_decref(o);

    /* A name instead of an id; NaN score becomes null on the way out. */
    o = json_pack("{s:s, s:s, s:b}", "agent", "bot", "task_description", "t", "success", 1);
    assert_int_equal(ad_episode_from_json(o, &ep, &agent, &err), 0);
    assert_string_equal(agent, "bot");
    assert_true(isnan(ep.constitutional_score));
    back = ad_episode_to_json(&ep);
    assert_true(json_is_null(json_object_get(back, "constitutional_score")));
    json_decref(back);
    ad_episode_release(&ep);
    json_decref(o);
}

/* ---- episodes in the store ---------------------------------------------- */

static void test_episode_insert_get(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_segment segs[2] = { { .kind = (char *)"thought",
                                            .content = (char *)"think" },
                                          { .kind = (char *)"tool",
                                            .content = (char *)"call()" } };
    struct ad_episode ep, got;
    struct ad_agent a;
    char agent[AD_ID_SIZE];

    make_agent(f, f->tenant, "bot", agent);
    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), f->tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    ep.task_description = (char *)"parse the invoice";
    ep.task_kind = (char *)"invoice";
    ep.input = json_pack("{s:i}", "n", 3);
    ep.tools_attempted = json_pack("[s]", "ocr");
    ep.error_trace = (char *)"ValueError: bad total";
    ep.execution_seconds = 2.5;
    ep.token_usage = 42;
    segs[1].metadata = json_pack("{s:s}", "tool", "ocr");
    ep.segments = segs;
    ep.nsegments = 2;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), 0);
    assert_true(ad_id_valid(ep.id));
    assert_true(ad_id_valid(segs[0].id));
    assert_int_equal(strlen(ep.created_at), AD_TIME_SIZE - 1);

    assert_int_equal(ad_store_episode_get(f->st, f->tenant, ep.id, &got, &err), 0);
    assert_string_equal(got.agent_id, agent);
    assert_string_equal(got.task_kind, "invoice");
    assert_string_equal(got.error_trace, "ValueError: bad total");
    assert_true(json_equal(got.input, ep.input));
    assert_true(json_equal(got.tools_attempted, ep.tools_attempted));
    assert_null(got.output);
    assert_null(got.context);
    assert_false(got.success);
    assert_true(isnan(got.constitutional_score));
    assert_true(got.execution_seconds == 2.5);
    assert_int_equal(got.token_usage, 42);
    assert_int_equal(got.nsegments, 2);
    assert_string_equal(got.segments[0].content, "think");
    assert_string_equal(got.segments[1].kind, "tool");
    assert_true(json_equal(got.segments[1].metadata, segs[1].metadata));
    assert_string_equal(got.created_at, ep.created_at);
    ad_episode_release(&got);
    json_decref(ep.input);
    json_decref(ep.tools_attempted);
    json_decref(segs[1].metadata);

    /* Counters moved with the insert. */
    make_episode(f, f->tenant, agent, true, NULL, NULL);
    assert_int_equal(ad_store_agent_get(f->st, f->tenant, agent, &a, &err), 0);
    assert_int_equal(a.episode_count, 2);
    assert_int_equal(a.success_count, 1);
    assert_int_equal(a.failure_count, 1);
    ad_agent_release(&a);

    assert_int_equal(ad_store_episode_get(f->st, f->tenant, agent, &got, &err), AD_ENOTFOUND);
}

static void test_episode_insert_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    struct ad_agent a;
    char agent[AD_ID_SIZE], missing[AD_ID_SIZE], *big;
    int64_t count = -1;

    make_agent(f, f->tenant, "bot", agent);
    ad_id_new(missing);
    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), f->tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), missing);
    ep.task_description = (char *)"t";
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_ENOTFOUND);
    assert_msg_has(&err, missing);
    assert_string_equal(ep.id, "");

    /* One byte over the description cap, built in C rather than JSON. */
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    big = malloc(AD_TASK_DESC_MAX + 2);
    assert_non_null(big);
    memset(big, 'd', AD_TASK_DESC_MAX + 1);
    big[AD_TASK_DESC_MAX + 1] = '\0';
    ep.task_description = big;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_ETOOBIG);
    assert_msg_has(&err, "task_description");
    free(big);
    ep.task_description = (char *)"t";
    ep.constitutional_score = 2.0;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_EINVAL);
    ep.constitutional_score = NAN;
    /* The caps on numbers hold for callers that build episodes in C too. */
    ep.token_usage = AD_EPISODE_TOKENS_MAX + 1;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_EINVAL);
    assert_msg_has(&err, "token_usage");
    ep.token_usage = INT64_MAX;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_EINVAL);
    ep.token_usage = 0;
    ep.execution_seconds = AD_EPISODE_SECONDS_MAX * 1.0000001;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_EINVAL);
    assert_msg_has(&err, "execution_seconds");
    ep.execution_seconds = 1e308;
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_EINVAL);
    ep.execution_seconds = 0;
    ep.task_description = (char *)"bad \xff utf-8";
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_EINVAL);
    assert_msg_has(&err, "UTF-8");

    assert_int_equal(ad_store_episode_count(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ad_store_agent_get(f->st, f->tenant, agent, &a, &err), 0);
    assert_int_equal(a.episode_count, 0);
    ad_agent_release(&a);
}

static void test_episode_list_filters_and_paging(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_filter flt = AD_EPISODE_FILTER_INIT;
    struct ad_episode *v = NULL;
    char a1[AD_ID_SIZE], a2[AD_ID_SIZE], ids[20][AD_ID_SIZE];
    size_t n = 0, i;
    int64_t count = 0;

    make_agent(f, f->tenant, "one", a1);
    make_agent(f, f->tenant, "two", a2);
    /* 20 episodes: even ones by a1; every third one fails; kinds alternate. */
    for (i = 0; i < 20; i++)
        make_episode(f, f->tenant, i % 2 ? a2 : a1, i % 3 != 0, i % 2 ? "csv" : "pdf", ids[i]);

    assert_int_equal(ad_store_episode_list(f->st, f->tenant, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 20);
    assert_string_equal(v[0].id, ids[19]);          /* newest first */
    assert_string_equal(v[19].id, ids[0]);
    assert_null(v[0].segments);
    ad_episode_list_free(v, n);

    flt.agent_id = a1;
    flt.success = 0;
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    /* a1 has i = 0,2,...,18; failures where i % 3 == 0: 0, 6, 12, 18. */
    assert_int_equal(n, 4);
    assert_string_equal(v[0].id, ids[18]);
    assert_string_equal(v[3].id, ids[0]);
    for (i = 0; i < n; i++) {
        assert_false(v[i].success);
        assert_string_equal(v[i].agent_id, a1);
    }
    ad_episode_list_free(v, n);
    assert_int_equal(ad_store_episode_count(f->st, f->tenant, &flt, &count, &err), 0);
    assert_int_equal(count, 4);

    /* Keyset paging: two at a time. */
    flt.limit = 2;
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    flt.before_id = ids[12];
    ad_episode_list_free(v, n);
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, ids[6]);
    assert_string_equal(v[1].id, ids[0]);
    ad_episode_list_free(v, n);
    /* before_id does not change the count. */
    assert_int_equal(ad_store_episode_count(f->st, f->tenant, &flt, &count, &err), 0);
    assert_int_equal(count, 4);

    flt = (struct ad_episode_filter)AD_EPISODE_FILTER_INIT;
    flt.task_kind = "csv";
    assert_int_equal(ad_store_episode_count(f->st, f->tenant, &flt, &count, &err), 0);
    assert_int_equal(count, 10);
    flt.success = 1;
    assert_int_equal(ad_store_episode_count(f->st, f->tenant, &flt, &count, &err), 0);
    /* odd i not divisible by 3: 1,5,7,11,13,17,19 */
    assert_int_equal(count, 7);
    flt = (struct ad_episode_filter)AD_EPISODE_FILTER_INIT;
    flt.agent_id = a2;
    assert_int_equal(ad_store_episode_count(f->st, f->tenant, &flt, &count, &err), 0);
    assert_int_equal(count, 10);
    /* One agent, any outcome: merged from both success ranges, newest first. */
    flt.limit = 4;
    flt.before_id = ids[15];
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    for (i = 0; i < n; i++)
        assert_string_equal(v[i].id, ids[13 - 2 * i]);
    ad_episode_list_free(v, n);
    flt.before_id = NULL;
    flt.limit = 0;

    flt.success = 2;
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    flt.success = -1;
    flt.before_id = "nope";
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    flt.before_id = NULL;
    flt.limit = -5;
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
}

/* ---- events ------------------------------------------------------------- */

static void append_event(struct fx *f, const char *tenant, const char *topic, int64_t *seq)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_event ev = { 0 };

    ad__copy_fixed(ev.tenant_id, sizeof(ev.tenant_id), tenant);
    ev.topic = (char *)topic;
    ev.payload = json_pack("{s:s}", "topic", topic);
    assert_int_equal(ad_store_event_append(f->st, &ev, &err), 0);
    assert_true(ad_id_valid(ev.id));
    json_decref(ev.payload);
    *seq = ev.seq;
}

static void test_events(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_event ev = { 0 }, *v = NULL;
    int64_t seq[6], last = -1;
    size_t n = 0;
    int i;

    for (i = 0; i < 6; i++)
        append_event(f, i == 3 ? f->other : f->tenant, i % 2 ? "task.fail" : "task.success",
                     &seq[i]);
    for (i = 1; i < 6; i++)
        assert_true(seq[i] > seq[i - 1]);   /* store-wide, across tenants */

    assert_int_equal(ad_store_event_list(f->st, f->tenant, 0, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(v[0].seq, seq[0]);
    assert_string_equal(json_string_value(json_object_get(v[0].payload, "topic")),
                        "task.success");
    ad_event_list_free(v, n);
    assert_int_equal(ad_store_event_list(f->st, f->tenant, seq[2], NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);    /* seq[4] and seq[5]; seq[3] is the other tenant's */
    assert_int_equal(v[0].seq, seq[4]);
    ad_event_list_free(v, n);
    assert_int_equal(ad_store_event_list(f->st, f->tenant, 0, "task.fail", 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);    /* seq[1], seq[5] */
    assert_string_equal(v[1].topic, "task.fail");
    ad_event_list_free(v, n);
    assert_int_equal(ad_store_event_list(f->st, f->tenant, 0, NULL, 2, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    ad_event_list_free(v, n);
    assert_int_equal(ad_store_event_last_seq(f->st, f->tenant, &last, &err), 0);
    assert_int_equal(last, seq[5]);

    /* A missing payload is stored as an empty object; bad topics are refused. */
    ad__copy_fixed(ev.tenant_id, sizeof(ev.tenant_id), f->tenant);
    ev.topic = (char *)"job.done";
    assert_int_equal(ad_store_event_append(f->st, &ev, &err), 0);
    assert_true(ev.seq > seq[5]);
    assert_int_equal(ad_store_event_list(f->st, f->tenant, seq[5], NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(json_is_object(v[0].payload));
    ad_event_list_free(v, n);
    ev.topic = (char *)"Task Fail";
    assert_int_equal(ad_store_event_append(f->st, &ev, &err), AD_EINVAL);
    ev.topic = (char *)"task.fail";
    ev.payload = json_pack("[i]", 1);
    assert_int_equal(ad_store_event_append(f->st, &ev, &err), AD_EINVAL);
    json_decref(ev.payload);
}

/* Seq stays increasing after a rolled-back append: the number may be reused
 * but was never visible. */
static void test_event_seq_after_rollback(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    int64_t a, b, c;

    append_event(f, f->tenant, "x", &a);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    append_event(f, f->tenant, "x", &b);
    ad_store_rollback(f->st);
    append_event(f, f->tenant, "x", &c);
    assert_true(b > a);
    assert_true(c > a);
}

/* ---- jobs --------------------------------------------------------------- */

static void new_job(struct ad_job *j, const char *tenant, const char *kind, const char *key)
{
    memset(j, 0, sizeof(*j));
    ad__copy_fixed(j->tenant_id, sizeof(j->tenant_id), tenant);
    j->kind = strdup(kind);
    j->payload = json_pack("{s:s}", "k", kind);
    j->idempotency_key = key ? strdup(key) : NULL;
    j->max_attempts = 3;
}

static void test_jobs_insert_and_idempotency(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j, dup, got, *v = NULL;
    size_t n = 0;

    new_job(&j, f->tenant, "memento.generate", "agent-1:2026-01-01");
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);
    assert_true(ad_id_valid(j.id));
    assert_int_equal(j.status, AD_JOB_QUEUED);
    assert_int_equal(strlen(j.run_after), AD_TIME_SIZE - 1);

    new_job(&dup, f->tenant, "other.kind", "agent-1:2026-01-01");
    assert_int_equal(ad_store_job_insert(f->st, &dup, &err), AD_EEXIST);
    assert_string_equal(dup.id, j.id);              /* filled with the existing job */
    assert_string_equal(dup.kind, "memento.generate");
    ad_job_release(&dup);
    /* The same key in another tenant is a different job. */
    new_job(&dup, f->other, "memento.generate", "agent-1:2026-01-01");
    assert_int_equal(ad_store_job_insert(f->st, &dup, &err), 0);
    assert_string_not_equal(dup.id, j.id);
    ad_job_release(&dup);

    assert_int_equal(ad_store_job_get(f->st, f->tenant, j.id, &got, &err), 0);
    assert_string_equal(got.kind, "memento.generate");
    assert_true(json_equal(got.payload, j.payload));
    assert_string_equal(got.idempotency_key, "agent-1:2026-01-01");
    assert_int_equal(got.max_attempts, 3);
    assert_string_equal(got.lease_until, "");
    assert_null(got.worker);
    ad_job_release(&got);

    assert_int_equal(ad_store_job_list(f->st, f->tenant, -1, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_job_list_free(v, n);
    assert_int_equal(ad_store_job_list(f->st, f->tenant, AD_JOB_DONE, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_job_list_free(v, n);

    /* Bad input. */
    ad_job_release(&j);
    new_job(&j, f->tenant, "k", NULL);
    j.max_attempts = 0;
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), AD_EINVAL);
    j.max_attempts = 1;
    snprintf(j.run_after, sizeof(j.run_after), "yesterday");
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), AD_EINVAL);
    ad_job_release(&j);
}

static void test_jobs_claim_lease_finish(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j, c, later;
    int64_t now = ad_now_ms() + 1000;
    char retry[AD_TIME_SIZE];

    new_job(&j, f->tenant, "alpha.mutate", NULL);
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);
    /* A job for later is not claimable yet. */
    new_job(&later, f->tenant, "alpha.mutate", NULL);
    ad_time_iso(now + 3600 * 1000, later.run_after);
    assert_int_equal(ad_store_job_insert(f->st, &later, &err), 0);

    assert_int_equal(ad_store_job_claim(f->st, f->tenant, "memento.generate", "w1", now, 1000, &c,
                                        &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w1", now, 1000, &c, &err), 0);
    assert_string_equal(c.id, j.id);
    assert_int_equal(c.status, AD_JOB_RUNNING);
    assert_int_equal(c.attempts, 1);
    assert_string_equal(c.worker, "w1");
    ad_job_release(&c);
    /* Held by w1 until the lease runs out. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w2", now + 500, 1000, &c, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, "alpha.mutate", "w2", now + 2000, 1000,
                                        &c, &err),
                     0);
    assert_string_equal(c.id, j.id);
    assert_int_equal(c.attempts, 2);
    assert_string_equal(c.worker, "w2");
    ad_job_release(&c);

    /* w1 lost the job: finishing it is a state error, and changes nothing. */
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w1", AD_JOB_DONE, NULL, NULL,
                                         &err),
                     AD_ESTATE);
    assert_msg_has(&err, "w1");
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w2", AD_JOB_RUNNING, NULL, NULL,
                                         &err),
                     AD_EINVAL);
    /* w2 asks for a retry in a minute. */
    ad_time_iso(now + 60000, retry);
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w2", AD_JOB_QUEUED, "timeout",
                                         retry, &err),
                     0);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, j.id, &c, &err), 0);
    assert_int_equal(c.status, AD_JOB_QUEUED);
    assert_string_equal(c.run_after, retry);
    assert_string_equal(c.last_error, "timeout");
    assert_null(c.worker);
    assert_string_equal(c.lease_until, "");
    ad_job_release(&c);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w3", now + 3000, 1000, &c, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w3", now + 61000, 1000, &c, &err),
                     0);
    assert_string_equal(c.id, j.id);
    assert_int_equal(c.attempts, 3);
    ad_job_release(&c);
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w3", AD_JOB_DONE, NULL, NULL,
                                         &err),
                     0);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, j.id, &c, &err), 0);
    assert_int_equal(c.status, AD_JOB_DONE);
    assert_string_equal(c.last_error, "timeout");   /* kept for the record */
    ad_job_release(&c);
    {
        enum ad_job_status js = AD_JOB_QUEUED;

        assert_int_equal(ad_store_job_status(f->st, f->tenant, j.id, &js, &err), 0);
        assert_int_equal(js, AD_JOB_DONE);
        assert_int_equal(ad_store_job_status(f->st, f->tenant, later.id, &js, &err), 0);
        assert_int_equal(js, AD_JOB_QUEUED);
        assert_int_equal(ad_store_job_status(f->st, f->tenant, f->tenant, &js, &err),
                         AD_ENOTFOUND);
        assert_int_equal(ad_store_job_status(f->st, f->tenant, "nope", &js, &err), AD_EINVAL);
    }
    /* Done is final. */
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w3", AD_JOB_DONE, NULL, NULL,
                                         &err),
                     AD_ESTATE);
    /* The later job becomes claimable at its time. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w3", now + 3600 * 1000, 1000, &c,
                                        &err),
                     0);
    assert_string_equal(c.id, later.id);
    ad_job_release(&c);
    ad_job_release(&j);
    ad_job_release(&later);
}

/*
 * Renewing a lease: only the worker the job runs under may, it moves
 * lease_until (so a claim before the new time finds nothing), it joins the
 * caller's transaction, and a worker that lost the job is told so.
 */
static void test_jobs_renew(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j, c;
    int64_t now = ad_now_ms() + 1000;
    char until[AD_TIME_SIZE], want[AD_TIME_SIZE];

    new_job(&j, f->tenant, "memento.generate", NULL);
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);
    /* Not running yet: nobody holds it. */
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w1", now, 1000, until, &err),
                     AD_ESTATE);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w1", now, 1000, &c, &err), 0);
    ad_job_release(&c);

    /* w1 renews at now + 900: held until now + 1900, so w2 finds nothing at now + 1500. */
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w1", now + 900, 1000, until,
                                        &err),
                     0);
    ad_time_iso(now + 1900, want);
    assert_string_equal(until, want);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, j.id, &c, &err), 0);
    assert_string_equal(c.lease_until, want);
    assert_int_equal(c.attempts, 1);
    assert_string_equal(c.worker, "w1");
    ad_job_release(&c);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w2", now + 1500, 1000, &c, &err),
                     AD_ENOTFOUND);
    /* Another worker cannot renew it, and changes nothing trying. */
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w2", now + 1500, 5000, NULL,
                                        &err),
                     AD_ESTATE);
    assert_msg_has(&err, "w2");

    /* In the caller's transaction: rolled back with it. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w1", now + 1800, 60000, NULL,
                                        &err),
                     0);
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    ad_store_rollback(f->st);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, j.id, &c, &err), 0);
    assert_string_equal(c.lease_until, want);
    ad_job_release(&c);

    /* The lease runs out, w2 claims: w1 has lost it and cannot take it back. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w2", now + 2000, 1000, &c, &err),
                     0);
    assert_string_equal(c.worker, "w2");
    ad_job_release(&c);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w1", now + 2100, 1000, NULL,
                                        &err),
                     AD_ESTATE);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w2", now + 2100, 1000, NULL,
                                        &err),
                     0);
    /* Finished: nobody holds it any more. */
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w2", AD_JOB_DONE, NULL, NULL,
                                         &err),
                     0);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w2", now + 2200, 1000, NULL,
                                        &err),
                     AD_ESTATE);

    /* Unknown jobs and bad input. */
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, f->tenant, "w2", now, 1000, NULL, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, "nope", "w2", now, 1000, NULL, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "", now, 1000, NULL, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w2", now, 0, NULL, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_job_renew(f->st, f->tenant, j.id, "w2", -1, 1000, NULL, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    ad_job_release(&j);
}

/* ---- settings ----------------------------------------------------------- */

static void test_settings_values(void **state)
{
    static const struct { const char *key, *value; int ok; } cases[] = {
        { "max_mutations_per_day", "0", 0 },
        { "max_mutations_per_day", "51", 0 },
        { "max_mutations_per_day", "1", 1 },
        { "max_mutations_per_day", "50", 1 },
        { "max_mutations_per_day", "5x", 0 },
        { "max_mutations_per_day", "", 0 },
        { "max_mutations_per_day", "99999999999999999999", 0 },
        { "max_mutations_per_day", " 5", 0 },
        { "max_mutations_per_day", "+5", 0 },
        { "max_mutations_per_day", "-5", 0 },
        { "max_skill_candidates_per_day", "0", 0 },
        { "max_skill_candidates_per_day", "21", 0 },
        { "max_skill_candidates_per_day", "20", 1 },
        { "enabled", "true", 1 },
        { "enabled", "FALSE", 1 },
        { "enabled", "maybe", 0 },
        { "enabled", "2", 0 },
        { "enabled", "", 0 },
        { "background_evolution", "yes", 1 },
        { "llm_daily_token_cap", "0", 1 },
        { "llm_daily_token_cap", "1000000000", 1 },
        { "llm_daily_token_cap", "1000000001", 0 },
        { "llm_daily_token_cap", "-1", 0 },
        { "llm_daily_cost_cap_cents", "500", 1 },
        { "llm_daily_cost_cap_cents", "100000001", 0 },
        { "llm_daily_cost_cap_cents", "1.5", 0 },
        { "reflection_threshold", "1", 0 },
        { "reflection_threshold", "3", 1 },
        { "reflection_similarity_pct", "101", 0 },
        { "reflection_window_hours", "0", 0 },
        { "evolution_latency_ms", "0", 0 },
        { "evolution_latency_ms", "3600000", 1 },
        { "evolution_tokens", "1000000001", 0 },
        { "evolution_on_failure", "false", 1 },
        { "evolution_mutants", "17", 0 },
        { "evolution_mutants", "16", 1 },
        { "evolution_repeats", "2", 0 },
        { "evolution_min_gain_pct", "91", 0 },
        { "evolution_noise_k", "0", 0 },
        { "evolution_test_inputs", "201", 0 },
        { "evolution_background_skills", "21", 0 },
        { "evolution_background_hours", "721", 0 },
        { "fitness_weight_cost", "101", 0 },
        { "fitness_weight_cost", "0", 1 },
        { "fitness_penalty_email_bounce_pct", "-1", 0 },
        { "fitness_penalty_error_signal_pct", "100", 1 },
        { "no_such_key", "1", 0 },
    };
    struct ad_settings s, before;
    struct ad_err err = AD_ERR_INIT;
    size_t i;

    ad_settings_defaults(&s);
    assert_false(s.enabled);
    assert_true(s.memento_skills);
    assert_true(s.alpha_evolver);
    assert_false(s.background_evolution);
    assert_int_equal(s.max_mutations_per_day, 10);
    assert_int_equal(s.max_skill_candidates_per_day, 5);
    assert_int_equal(s.llm_daily_token_cap, 0);       /* no cap unless asked */
    assert_int_equal(s.llm_daily_cost_cap_cents, 0);
    assert_int_equal(s.reflection_threshold, 2);
    assert_int_equal(s.reflection_window, 20);
    assert_int_equal(s.reflection_window_hours, 24);
    assert_int_equal(s.reflection_similarity_pct, 50);
    assert_int_equal(s.evolution_latency_ms, 5000);
    assert_int_equal(s.evolution_tokens, 5000);
    assert_true(s.evolution_on_failure);
    assert_int_equal(s.evolution_mutants, 4);
    assert_int_equal(s.evolution_repeats, 5);
    assert_int_equal(s.evolution_min_gain_pct, 10);
    assert_int_equal(s.evolution_noise_k, 3);
    assert_int_equal(s.evolution_test_inputs, 20);
    assert_int_equal(s.evolution_background_skills, 3);
    assert_int_equal(s.evolution_background_hours, 24);
    assert_int_equal(s.fitness_weight_performance, 30);
    assert_int_equal(s.fitness_weight_accuracy, 40);
    assert_int_equal(s.fitness_weight_cost, 20);
    assert_int_equal(s.fitness_weight_satisfaction, 10);
    assert_int_equal(s.fitness_penalty_email_bounce_pct, 20);
    assert_int_equal(s.fitness_penalty_error_signal_pct, 20);
    assert_int_equal(ad_settings_validate(&s, &err), 0);
    for (i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        int rc;

        before = s;
        rc = ad_settings_set(&s, cases[i].key, cases[i].value, &err);
        if ((rc == 0) != cases[i].ok)
            fail_msg("set %s=%s: rc %d (%s)", cases[i].key, cases[i].value, rc, err.msg);
        if (rc) {
            assert_int_equal(rc, AD_EINVAL);
            assert_memory_equal(&s, &before, sizeof(s));
            assert_msg_has(&err, cases[i].key);
        }
    }
    assert_true(s.background_evolution);
    s.max_skill_candidates_per_day = 21;
    assert_int_equal(ad_settings_validate(&s, &err), AD_EINVAL);
    assert_msg_has(&err, "max_skill_candidates_per_day");
    assert_string_equal(ad_settings_keys()[0], "enabled");
    assert_string_equal(ad_settings_keys()[7], "llm_daily_cost_cap_cents");
    assert_string_equal(ad_settings_keys()[11], "reflection_similarity_pct");
    assert_string_equal(ad_settings_keys()[12], "memento_synthesis");
    assert_true(s.memento_synthesis);
    assert_string_equal(ad_settings_keys()[13], "evolution_latency_ms");
    assert_string_equal(ad_settings_keys()[28], "fitness_penalty_error_signal_pct");
    assert_null(ad_settings_keys()[29]);

    /* The fitness weights are divided by their sum: not all may be 0. */
    s.max_skill_candidates_per_day = 5;
    s.fitness_weight_performance = s.fitness_weight_accuracy = 0;
    s.fitness_weight_cost = s.fitness_weight_satisfaction = 0;
    assert_int_equal(ad_settings_validate(&s, &err), AD_EINVAL);
    assert_msg_has(&err, "fitness weights");
    s.fitness_weight_satisfaction = 1;
    assert_int_equal(ad_settings_validate(&s, &err), 0);
    before = s;
    assert_int_equal(ad_settings_set(&s, "fitness_weight_satisfaction", "0", &err), AD_EINVAL);
    assert_msg_has(&err, "fitness weights");
    assert_memory_equal(&s, &before, sizeof(s));
}

static void test_settings_json(void **state)
{
    static const char *const bad[] = {
        "{\"enabled\": 1}", "{\"max_mutations_per_day\": 51}",
        "{\"max_mutations_per_day\": \"5\"}", "{\"bogus\": true}",
        "{\"max_skill_candidates_per_day\": 0}", "[]",
        "{\"fitness_weight_performance\": 0, \"fitness_weight_accuracy\": 0,"
        " \"fitness_weight_cost\": 0, \"fitness_weight_satisfaction\": 0}",
    };
    struct ad_settings s, before, back;
    struct ad_err err = AD_ERR_INIT;
    json_t *o;
    size_t i;

    ad_settings_defaults(&s);
    before = s;
    for (i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        o = json_loads(bad[i], 0, NULL);
        if (ad_settings_from_json(&s, o, &err) != AD_EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_memory_equal(&s, &before, sizeof(s));
        json_decref(o);
    }
    o = json_pack("{s:b, s:i}", "enabled", 1, "max_mutations_per_day", 50);
    assert_int_equal(ad_settings_from_json(&s, o, &err), 0);
    json_decref(o);
    assert_true(s.enabled);
    assert_int_equal(s.max_mutations_per_day, 50);
    assert_int_equal(s.max_skill_candidates_per_day, 5);   /* untouched */
    o = ad_settings_to_json(&s);
    ad_settings_defaults(&back);
    assert_int_equal(ad_settings_from_json(&back, o, &err), 0);
    assert_memory_equal(&s, &back, sizeof(s));
    assert_int_equal(json_object_size(o), 29);
    json_decref(o);
}

static void test_llm_ledger(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm_call c;
    struct ad_llm_usage_row *rows = NULL;
    char longerr[3000];
    size_t n = 0;
    int64_t tokens;
    double usd;

    memset(&c, 0, sizeof(c));
    memcpy(c.tenant_id, f->tenant, sizeof(c.tenant_id));
    c.provider = "openai";
    c.model = "gpt-4o-mini";
    c.purpose = "memento";
    c.prompt_tokens = 100;
    c.completion_tokens = 20;
    c.cost_usd = 0.5;
    c.latency_ms = 300;
    c.ok = 1;
    assert_int_equal(ad_store_llm_call_insert(f->st, &c, &err), 0);
    assert_true(ad_id_valid(c.id));
    /* A failed call with a long error: kept, the error cut to 1000 bytes. */
    memset(longerr, 'e', sizeof(longerr) - 1);
    longerr[sizeof(longerr) - 1] = '\0';
    c.ok = 0;
    c.error = longerr;
    c.prompt_tokens = c.completion_tokens = 0;
    c.cost_usd = 0;
    c.latency_ms = 100;
    assert_int_equal(ad_store_llm_call_insert(f->st, &c, &err), 0);
    assert_ptr_equal(c.error, longerr);   /* the caller's pointer is given back */
    /* Bad rows are refused and leave nothing. */
    c.prompt_tokens = -1;
    assert_int_equal(ad_store_llm_call_insert(f->st, &c, &err), AD_EINVAL);
    c.prompt_tokens = 0;
    c.provider = NULL;
    assert_int_equal(ad_store_llm_call_insert(f->st, &c, &err), AD_EINVAL);
    assert_msg_has(&err, "provider");

    assert_int_equal(ad_store_llm_usage(f->st, f->tenant, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].calls, 2);
    assert_int_equal(rows[0].errors, 1);
    assert_int_equal(rows[0].prompt_tokens, 100);
    assert_int_equal(rows[0].latency_ms_avg, 200);
    assert_string_equal(rows[0].purpose, "memento");
    ad_llm_usage_rows_free(rows, n);
    assert_int_equal(ad_store_llm_spent(f->st, f->tenant, "2000-01-01T00:00:00Z", &tokens, &usd,
                                        &err), 0);
    assert_int_equal(tokens, 120);
    assert_true(usd == 0.5);
    /* Since the future: nothing; another tenant: nothing; a bad date: refused. */
    assert_int_equal(ad_store_llm_spent(f->st, f->tenant, "2999-01-01T00:00:00Z", &tokens, &usd,
                                        &err), 0);
    assert_int_equal(tokens, 0);
    assert_int_equal(ad_store_llm_usage(f->st, f->other, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_llm_usage_rows_free(rows, n);
    assert_int_equal(ad_store_llm_spent(f->st, f->tenant, "yesterday", &tokens, &usd, &err),
                     AD_EINVAL);
}

/*
 * Sums of counts no one call could have (rows written before the llm
 * module clamped a server's numbers): the sums saturate at 2^63 - 1 rather
 * than fail or wrap negative, and an infinite cost is refused.
 */
static void test_llm_ledger_sums_saturate(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm_call c;
    struct ad_llm_usage_row *rows = NULL;
    size_t n = 0;
    int64_t tokens;
    double usd;
    int i;

    memset(&c, 0, sizeof(c));
    memcpy(c.tenant_id, f->tenant, sizeof(c.tenant_id));
    c.provider = "openai";
    c.model = "gpt-4o-mini";
    c.purpose = "test";
    c.prompt_tokens = INT64_MAX;
    c.completion_tokens = INT64_MAX;
    c.cost_usd = 1.0;
    c.ok = 1;
    for (i = 0; i < 2; i++)
        assert_int_equal(ad_store_llm_call_insert(f->st, &c, &err), 0);
    assert_int_equal(ad_store_llm_usage(f->st, f->tenant, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].calls, 2);
    assert_true(rows[0].prompt_tokens == INT64_MAX);
    assert_true(rows[0].completion_tokens == INT64_MAX);
    assert_true(rows[0].cost_usd == 2.0);
    ad_llm_usage_rows_free(rows, n);
    assert_int_equal(ad_store_llm_spent(f->st, f->tenant, "2000-01-01T00:00:00Z", &tokens, &usd,
                                        &err), 0);
    assert_true(tokens == INT64_MAX);
    assert_true(usd == 2.0);
    c.prompt_tokens = c.completion_tokens = 1;
    c.cost_usd = INFINITY;
    assert_int_equal(ad_store_llm_call_insert(f->st, &c, &err), AD_EINVAL);
    assert_msg_has(&err, "finite");
}

static void test_settings_in_store(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s, def, got;
    char missing[AD_ID_SIZE];

    ad_settings_defaults(&def);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    assert_memory_equal(&s, &def, sizeof(s));
    s.enabled = true;
    s.max_mutations_per_day = 42;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), 0);
    /* Invalid values are refused and nothing is stored. */
    got = s;
    got.max_mutations_per_day = 0;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &got, &err), AD_EINVAL);
    assert_msg_has(&err, "max_mutations_per_day");
    reopen(f);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &got, &err), 0);
    assert_memory_equal(&got, &s, sizeof(s));
    /* How the block is stored is the backend's: test_store_sqlite.c reads it back. */
    /* The other tenant still has the defaults. */
    assert_int_equal(ad_settings_get(f->st, f->other, &got, &err), 0);
    assert_memory_equal(&got, &def, sizeof(def));
    ad_id_new(missing);
    assert_int_equal(ad_settings_get(f->st, missing, &got, &err), AD_ENOTFOUND);
    assert_int_equal(ad_settings_put(f->st, missing, &s, &err), AD_ENOTFOUND);
}

/*
 * A handle may keep the settings it read (every recorded failure reads
 * them): what another handle commits, what this one writes, and what a
 * rollback undoes must all show at the next read.
 */
static void test_settings_read_again_when_changed(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *other = NULL;
    struct ad_settings s, got;

    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    assert_false(s.enabled);
    /* Another connection turns the workspace on. */
    assert_int_equal(suite_open(f, 0, 0, &other, &err), 0);
    assert_int_equal(ad_settings_update(other, f->tenant, "enabled", "true", NULL, &err), 0);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &got, &err), 0);
    assert_true(got.enabled);
    /* This handle writes: the next read sees it. */
    assert_int_equal(ad_settings_update(f->st, f->tenant, "max_mutations_per_day", "7", &got,
                                        &err), 0);
    assert_int_equal(got.max_mutations_per_day, 7);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &got, &err), 0);
    assert_int_equal(got.max_mutations_per_day, 7);
    /* Written, read inside the transaction, rolled back: the old value again. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_settings_update(f->st, f->tenant, "max_mutations_per_day", "9", NULL,
                                        &err), 0);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &got, &err), 0);
    assert_int_equal(got.max_mutations_per_day, 9);
    ad_store_rollback(f->st);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &got, &err), 0);
    assert_int_equal(got.max_mutations_per_day, 7);
    /* And the other handle, which read before, sees this one's commit. */
    assert_int_equal(ad_settings_get(other, f->tenant, &got, &err), 0);
    assert_int_equal(got.max_mutations_per_day, 7);
    assert_int_equal(ad_settings_update(f->st, f->tenant, "enabled", "false", NULL, &err), 0);
    assert_int_equal(ad_settings_get(other, f->tenant, &got, &err), 0);
    assert_false(got.enabled);
    /* A key that does not exist changes nothing. */
    assert_int_equal(ad_settings_update(f->st, f->tenant, "no_such_key", "1", NULL, &err),
                     AD_EINVAL);
    assert_int_equal(ad_settings_get(other, f->tenant, &got, &err), 0);
    assert_int_equal(got.max_mutations_per_day, 7);
    ad_store_free(other);
}

/* ---- transactions ------------------------------------------------------- */

static void test_nested_transactions(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a;
    char outer[AD_ID_SIZE], inner[AD_ID_SIZE], missing[AD_ID_SIZE];
    struct ad_episode ep;

    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_int_equal(ad_store_commit(f->st, &err), AD_ESTATE);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    make_agent(f, f->tenant, "outer", outer);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_tx_depth(f->st), 2);
    make_agent(f, f->tenant, "inner", inner);
    ad_store_rollback(f->st);
    assert_int_equal(ad_store_tx_depth(f->st), 1);

    /* A failing call inside the transaction undoes only itself. */
    ad_id_new(missing);
    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), f->tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), missing);
    ep.task_description = (char *)"t";
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    make_episode(f, f->tenant, outer, false, NULL, NULL);

    /* Three levels: the middle one commits into the outer. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    make_agent(f, f->tenant, "deep", inner);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(ad_store_tx_depth(f->st), 0);

    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "outer", &a, &err), 0);
    assert_int_equal(a.episode_count, 1);
    ad_agent_release(&a);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "inner", &a, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "deep", &a, &err), 0);
    ad_agent_release(&a);

    /* An outer rollback takes everything. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    make_agent(f, f->tenant, "gone", inner);
    ad_store_rollback(f->st);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "gone", &a, &err),
                     AD_ENOTFOUND);
    ad_store_rollback(f->st);   /* outside any transaction: logged, harmless */
    assert_int_equal(ad_store_tx_depth(f->st), 0);
}

/* ---- jansson out of memory ---------------------------------------------- */

/* jansson's allocator for the tests below: refuses everything while set. */
static bool refuse_json;

static void *json_malloc_or_not(size_t n)
{
    return refuse_json ? NULL : malloc(n);
}

/*
 * The refusals go on only around the calls under test, and the checks come
 * after, so a failed assertion never leaves jansson refusing.
 */
static void json_refuse(bool on)
{
    refuse_json = on;
    json_set_alloc_funcs(json_malloc_or_not, free);
}

/* A JSON column jansson cannot parse for lack of memory is AD_ENOMEM, not a corrupt row. */
static void test_json_read_out_of_memory(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT, err2 = AD_ERR_INIT;
    struct ad_notification n = { 0 }, *list = NULL;
    struct ad_settings s;
    size_t count = 0;
    int rc, rc2;

    ad__copy_fixed(n.tenant_id, sizeof(n.tenant_id), f->tenant);
    n.type = (char *)"t";
    n.title = (char *)"t";
    n.payload = json_pack("{s:i}", "a", 1);
    assert_int_equal(ad_store_notification_insert(f->st, &n, &err), 0);
    json_decref(n.payload);

    json_refuse(true);
    rc = ad_store_notification_list(f->st, f->tenant, false, NULL, 0, &list, &count, &err);
    ad_notification_list_free(list, count);
    rc2 = ad_settings_get(f->st, f->tenant, &s, &err2);
    json_refuse(false);
    assert_int_equal(rc, AD_ENOMEM);
    assert_msg_has(&err, "out of memory");
    assert_int_equal(rc2, AD_ENOMEM);

    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, NULL, 0, &list,
                                                &count, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(json_integer_value(json_object_get(list[0].payload, "a")), 1);
    ad_notification_list_free(list, count);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
}

/*
 * jansson measures and writes JSON by dumping it, which allocates: a size
 * it cannot measure is out of memory (not 0, under every cap), and a text
 * it cannot write is not stored.
 */
static void test_json_write_out_of_memory(void **state)
{
    static const char text[] = "{\"agent\": \"bot\", \"task_description\": \"t\","
                               " \"success\": false, \"context\": {\"k\": [1, 2]}}";
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT, err2 = AD_ERR_INIT;
    struct ad_notification n = { 0 };
    struct ad_episode ep;
    const char *agent = NULL;
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    int rc, rc2;

    assert_non_null(doc);
    ad__copy_fixed(n.tenant_id, sizeof(n.tenant_id), f->tenant);
    n.type = (char *)"t";
    n.title = (char *)"t";
    n.payload = json_pack("{s:{s:i}}", "nested", "a", 1);
    ad_episode_init(&ep);

    json_refuse(true);
    rc = ad_episode_from_json(doc, &ep, &agent, &err);
    rc2 = ad_store_notification_insert(f->st, &n, &err2);
    json_refuse(false);
    ad_episode_release(&ep);
    json_decref(doc);
    json_decref(n.payload);
    assert_int_equal(rc, AD_ENOMEM);
    assert_msg_has(&err, "context");
    assert_int_equal(rc2, AD_ENOMEM);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM notifications"), 0);
}

/* ---- tenant isolation --------------------------------------------------- */

static void test_tenant_isolation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char agent[AD_ID_SIZE], episode[AD_ID_SIZE];
    struct ad_agent a, *agents = NULL;
    struct ad_episode ep, *eps = NULL;
    struct ad_event *evs = NULL;
    struct ad_job j, got, *jobs = NULL;
    size_t n = 9;
    int64_t seq, count = -1;
    const char *b = f->other;

    make_agent(f, f->tenant, "bot", agent);
    make_episode(f, f->tenant, agent, false, "k", episode);
    append_event(f, f->tenant, "task.fail", &seq);
    new_job(&j, f->tenant, "memento.generate", "key");
    assert_int_equal(ad_store_job_insert(f->st, &j, &err), 0);

    assert_int_equal(ad_store_agent_get(f->st, b, agent, &a, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_agent_get_by_name(f->st, b, "bot", &a, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_agent_list(f->st, b, NULL, 0, &agents, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_agent_list_free(agents, n);
    assert_int_equal(ad_store_agent_set_maturity(f->st, b, agent, AD_AUTONOMOUS, &err),
                     AD_ENOTFOUND);

    assert_int_equal(ad_store_episode_get(f->st, b, episode, &ep, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_episode_list(f->st, b, NULL, &eps, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_episode_list_free(eps, n);
    assert_int_equal(ad_store_episode_count(f->st, b, NULL, &count, &err), 0);
    assert_int_equal(count, 0);
    /* B cannot record an episode against A's agent. */
    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), b);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    ep.task_description = (char *)"t";
    assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), AD_ENOTFOUND);

    assert_int_equal(ad_store_event_list(f->st, b, 0, NULL, 0, &evs, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_event_list_free(evs, n);
    assert_int_equal(ad_store_event_last_seq(f->st, b, &seq, &err), 0);
    assert_int_equal(seq, 0);

    assert_int_equal(ad_store_job_get(f->st, b, j.id, &got, &err), AD_ENOTFOUND);
    {
        enum ad_job_status js;

        assert_int_equal(ad_store_job_status(f->st, b, j.id, &js, &err), AD_ENOTFOUND);
    }
    ad_job_release(&j);
    assert_int_equal(ad_store_job_claim(f->st, b, NULL, "w", ad_now_ms() + 1000, 1000, &j, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_job_list(f->st, b, -1, NULL, 0, &jobs, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_job_list_free(jobs, n);
    /* A's job is still there for A. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "w", ad_now_ms() + 1000, 1000, &j,
                                        &err),
                     0);
    assert_int_equal(ad_store_job_finish(f->st, b, j.id, "w", AD_JOB_DONE, NULL, NULL, &err),
                     AD_ENOTFOUND);
    ad_job_release(&j);
}

/* ---- the group ---------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
const struct CMUnitTest suite_core[] = {
    T(test_reopen_is_idempotent),
    T(test_readonly_store),
    T(test_tenants),
    cmocka_unit_test(test_name_valid),
    cmocka_unit_test(test_enum_names),
    T(test_agents),
    cmocka_unit_test(test_episode_json_cases),
    cmocka_unit_test(test_episode_json_full),
    T(test_episode_insert_get),
    T(test_episode_insert_refusals),
    T(test_episode_list_filters_and_paging),
    T(test_events),
    T(test_event_seq_after_rollback),
    T(test_jobs_insert_and_idempotency),
    T(test_jobs_claim_lease_finish),
    T(test_jobs_renew),
    cmocka_unit_test(test_settings_values),
    cmocka_unit_test(test_settings_json),
    T(test_llm_ledger),
    T(test_llm_ledger_sums_saturate),
    T(test_settings_in_store),
    T(test_settings_read_again_when_changed),
    T(test_nested_transactions),
    T(test_json_read_out_of_memory),
    T(test_json_write_out_of_memory),
    T(test_tenant_isolation),
};
#undef T

const size_t suite_ncore = AD_ARRAY_SIZE(suite_core);
