/*
 * The conformance suite (store_suite.h): the skill catalog, skill
 * executions and agent sessions: names and semvers, insert/get/list,
 * versions and the current one, full-text search, field checks, tenant
 * isolation. The atomicity of the calls that write several rows needs a
 * fault injected into the database: test_store_sqlite.c.
 *
 * Sections: helpers; names, semvers, enumerations; the catalog; search;
 * executions; agent sessions; read-only; the group's table last.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "autodev/store.h"

#include "store/store_backend.h"
#include "store_suite.h"

static void make_agent(struct fx *f, const char *tenant, const char *name, char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), tenant);
    a.name = (char *)name;
    if (ad_store_agent_insert(f->st, &a, &err))
        fail_msg("agent insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, a.id);
}

/* A skill and its first version as a caller fills them; members are borrowed. */
static void fill(struct ad_skill *s, struct ad_skill_version *v, const char *tenant,
                 const char *name, const char *desc)
{
    memset(s, 0, sizeof(*s));
    memset(v, 0, sizeof(*v));
    ad__copy_fixed(s->tenant_id, sizeof(s->tenant_id), tenant);
    s->name = (char *)name;
    s->description = (char *)desc;
    s->entry_function = (char *)"run";
    ad__copy_fixed(v->semver, sizeof(v->semver), "1.0.0");
    v->code = (char *)"def run(x):\n    return x\n";
    v->origin = AD_ORIGIN_MANUAL;
}

/* Inserts a skill; its id and first version's id go to sid and vid (may be NULL). */
static void add_skill(struct fx *f, const char *tenant, const char *name, const char *desc,
                      const char *status, char sid[AD_ID_SIZE], char vid[AD_ID_SIZE])
{
    struct ad_skill s;
    struct ad_skill_version v;
    struct ad_err err = AD_ERR_INIT;

    fill(&s, &v, tenant, name, desc);
    s.status = (char *)status;
    if (ad_store_skill_insert(f->st, &s, &v, &err))
        fail_msg("skill insert '%s': %s", name, err.msg);
    if (sid)
        ad__copy_fixed(sid, AD_ID_SIZE, s.id);
    if (vid)
        ad__copy_fixed(vid, AD_ID_SIZE, v.id);
}

/* Adds version semver of skill sid; returns the call's result. */
static int add_version(struct fx *f, const char *sid, const char *semver, const char *parent,
                       const char *code, bool make_current, char vid[AD_ID_SIZE],
                       struct ad_err *err)
{
    struct ad_skill_version v;
    int rc;

    memset(&v, 0, sizeof(v));
    ad__copy_fixed(v.tenant_id, sizeof(v.tenant_id), f->tenant);
    ad__copy_fixed(v.skill_id, sizeof(v.skill_id), sid);
    ad__copy_fixed(v.semver, sizeof(v.semver), semver);
    ad__copy_fixed(v.parent_version_id, sizeof(v.parent_version_id), parent);
    v.code = (char *)code;
    v.origin = AD_ORIGIN_ALPHA;
    v.origin_id = (char *)"mutant-7";
    rc = ad_store_skill_version_insert(f->st, &v, make_current, err);
    if (vid)
        ad__copy_fixed(vid, AD_ID_SIZE, v.id);
    return rc;
}

static void current_of(struct fx *f, const char *sid, char out[AD_ID_SIZE])
{
    struct ad_skill s;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_store_skill_get(f->st, f->tenant, sid, &s, &err), 0);
    ad__copy_fixed(out, AD_ID_SIZE, s.current_version_id);
    ad_skill_release(&s);
}

/* ---- names, semvers, enumerations -------------------------------------- */

static void test_skill_names(void **state)
{
    static const char *const good[] = { "a", "7", "parse_invoice", "a1_b2_c3", "x_9" };
    static const char *const bad[] = { "", "Word", "a__b", "_a", "a_", "a-b", "a b", "caf\xc3\xa9",
                                       "a.b", "__" };
    char longest[66];
    size_t i;

    (void)state;
    for (i = 0; i < AD_ARRAY_SIZE(good); i++) {
        if (!ad_skill_name_valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    }
    for (i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        if (ad_skill_name_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_false(ad_skill_name_valid(NULL));
    memset(longest, 'a', 64);
    longest[64] = '\0';
    assert_true(ad_skill_name_valid(longest));
    longest[64] = 'a';
    longest[65] = '\0';
    assert_false(ad_skill_name_valid(longest));
}

static void test_semver_valid(void **state)
{
    static const char *const good[] = { "0.0.0", "1.2.3", "10.20.30", "2147483647.0.0",
                                        "0.2147483647.9" };
    static const char *const bad[] = {
        "", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "2147483648.0.0", "a.b.c",
        "1.2.3-rc1", "+1.2.3", "1..3", " 1.2.3", "1.2.3 ", "-1.2.3", "1.2.", ".1.2",
        "99999999999999999999.0.0",
        /* Each number is below 2^31, but the text does not fit AD_SEMVER_SIZE. */
        "1000000000.1000000000.1000000000",
    };
    size_t i;

    (void)state;
    for (i = 0; i < AD_ARRAY_SIZE(good); i++) {
        if (!ad_semver_valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    }
    for (i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        if (ad_semver_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    }
    assert_false(ad_semver_valid(NULL));
}

static void test_enum_names(void **state)
{
    static const char *const origins[] = { "manual", "memento", "alpha", "research", "import" };
    static const char *const statuses[] = { "running", "done", "failed", "stopped" };
    enum ad_skill_origin o;
    enum ad_session_status s;
    size_t i;

    (void)state;
    for (i = 0; i < AD_ARRAY_SIZE(origins); i++) {
        assert_string_equal(ad_skill_origin_name((enum ad_skill_origin)i), origins[i]);
        assert_int_equal(ad_skill_origin_parse(origins[i], &o), 0);
        assert_int_equal(o, (int)i);
    }
    assert_int_equal(AD_ORIGIN_ALPHA, 2);
    assert_null(ad_skill_origin_name((enum ad_skill_origin)5));
    assert_null(ad_skill_origin_name((enum ad_skill_origin)-1));
    assert_int_equal(ad_skill_origin_parse("evolved", &o), AD_EINVAL);
    assert_int_equal(ad_skill_origin_parse(NULL, &o), AD_EINVAL);
    for (i = 0; i < AD_ARRAY_SIZE(statuses); i++) {
        assert_string_equal(ad_session_status_name((enum ad_session_status)i), statuses[i]);
        assert_int_equal(ad_session_status_parse(statuses[i], &s), 0);
        assert_int_equal(s, (int)i);
    }
    assert_null(ad_session_status_name((enum ad_session_status)4));
    assert_int_equal(ad_session_status_parse("paused", &s), AD_EINVAL);
}

/* ---- the catalog -------------------------------------------------------- */

static void test_insert_and_get(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s, got;
    struct ad_skill_version v, gv;
    json_t *schema = json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "x",
                               "type", "integer");

    fill(&s, &v, f->tenant, "parse_invoice", NULL);
    s.input_schema = schema;
    v.origin = AD_ORIGIN_MEMENTO;
    v.origin_id = (char *)"cand-1";
    assert_int_equal(ad_store_skill_insert(f->st, &s, &v, &err), 0);
    assert_true(ad_id_valid(s.id));
    assert_true(ad_id_valid(v.id));
    assert_string_equal(s.current_version_id, v.id);
    assert_string_equal(v.skill_id, s.id);
    assert_string_equal(v.tenant_id, f->tenant);
    assert_string_equal(v.parent_version_id, "");
    assert_int_equal(strlen(s.created_at), AD_TIME_SIZE - 1);
    assert_string_equal(v.created_at, s.created_at);
    /* The caller's members are left as they were. */
    assert_null(s.description);
    assert_null(s.status);

    assert_int_equal(ad_store_skill_get(f->st, f->tenant, s.id, &got, &err), 0);
    assert_string_equal(got.name, "parse_invoice");
    assert_string_equal(got.description, "");
    assert_string_equal(got.entry_function, "run");
    assert_string_equal(got.status, "active");
    assert_string_equal(got.current_version_id, v.id);
    assert_true(json_equal(got.input_schema, schema));
    assert_string_equal(got.created_at, s.created_at);
    ad_skill_release(&got);

    assert_int_equal(ad_store_skill_get_by_name(f->st, f->tenant, "parse_invoice", &got, &err),
                     0);
    assert_string_equal(got.id, s.id);
    ad_skill_release(&got);

    assert_int_equal(ad_store_skill_version_get(f->st, f->tenant, v.id, &gv, &err), 0);
    assert_string_equal(gv.semver, "1.0.0");
    assert_string_equal(gv.code, v.code);
    assert_string_equal(gv.skill_id, s.id);
    assert_string_equal(gv.parent_version_id, "");
    assert_int_equal(gv.origin, AD_ORIGIN_MEMENTO);
    assert_string_equal(gv.origin_id, "cand-1");
    ad_skill_version_release(&gv);

    /* Unknown, and another tenant's, are not found; a malformed name is refused. */
    assert_int_equal(ad_store_skill_get_by_name(f->st, f->tenant, "nope", &got, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill 'nope'");
    assert_int_equal(ad_store_skill_get(f->st, f->other, s.id, &got, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_skill_get_by_name(f->st, f->other, "parse_invoice", &got, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_skill_version_get(f->st, f->other, v.id, &gv, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_skill_get_by_name(f->st, f->tenant, "Bad__", &got, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_skill_get(f->st, f->tenant, "not-an-id", &got, &err), AD_EINVAL);
    json_decref(schema);
}

static void test_list_paging(void **state)
{
    static const char *const names[] = { "echo", "alpha", "delta", "charlie", "bravo" };
    static const char *const sorted[] = { "alpha", "bravo", "charlie", "delta", "echo" };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill *v = NULL;
    size_t n = 0, i;

    for (i = 0; i < AD_ARRAY_SIZE(names); i++)
        add_skill(f, f->tenant, names[i], "", NULL, NULL, NULL);
    add_skill(f, f->other, "aardvark", "", NULL, NULL, NULL);

    assert_int_equal(ad_store_skill_list(f->st, f->tenant, NULL, 2, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "alpha");
    assert_string_equal(v[1].name, "bravo");
    ad_skill_list_free(v, n);

    assert_int_equal(ad_store_skill_list(f->st, f->tenant, "bravo", 2, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "charlie");
    assert_string_equal(v[1].name, "delta");
    ad_skill_list_free(v, n);

    assert_int_equal(ad_store_skill_list(f->st, f->tenant, "echo", 2, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_skill_list_free(v, n);

    assert_int_equal(ad_store_skill_list(f->st, f->tenant, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, AD_ARRAY_SIZE(sorted));
    for (i = 0; i < n; i++)
        assert_string_equal(v[i].name, sorted[i]);
    ad_skill_list_free(v, n);

    assert_int_equal(ad_store_skill_list(f->st, f->other, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "aardvark");
    ad_skill_list_free(v, n);

    assert_int_equal(ad_store_skill_list(f->st, f->tenant, NULL, -1, &v, &n, &err), AD_EINVAL);
}

static void test_versions_and_current(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_version *vs = NULL, got;
    char sid[AD_ID_SIZE], v1[AD_ID_SIZE], v2[AD_ID_SIZE], v3[AD_ID_SIZE], cur[AD_ID_SIZE];
    char other_sid[AD_ID_SIZE], other_v[AD_ID_SIZE], foreign_sid[AD_ID_SIZE];
    size_t n = 0;

    add_skill(f, f->tenant, "sum_list", "adds numbers", NULL, sid, v1);
    add_skill(f, f->tenant, "other_skill", "", NULL, other_sid, other_v);
    add_skill(f, f->other, "sum_list", "", NULL, foreign_sid, NULL);

    /* Without make_current the current version stays. */
    assert_int_equal(add_version(f, sid, "1.1.0", v1, "def run(x): return 1\n", false, v2,
                                 &err), 0);
    current_of(f, sid, cur);
    assert_string_equal(cur, v1);
    /* With it, it moves in the same call. */
    assert_int_equal(add_version(f, sid, "2.0.0", v2, "def run(x): return 2\n", true, v3, &err),
                     0);
    current_of(f, sid, cur);
    assert_string_equal(cur, v3);

    assert_int_equal(ad_store_skill_version_list(f->st, f->tenant, sid, &vs, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(vs[0].id, v1);
    assert_string_equal(vs[1].id, v2);
    assert_string_equal(vs[2].id, v3);
    assert_string_equal(vs[2].parent_version_id, v2);
    assert_int_equal(vs[2].origin, AD_ORIGIN_ALPHA);
    assert_string_equal(vs[2].origin_id, "mutant-7");
    ad_skill_version_list_free(vs, n);

    assert_int_equal(ad_store_skill_version_find(f->st, f->tenant, sid, "1.1.0", &got, &err), 0);
    assert_string_equal(got.id, v2);
    assert_string_equal(got.code, "def run(x): return 1\n");
    ad_skill_version_release(&got);
    assert_int_equal(ad_store_skill_version_find(f->st, f->tenant, sid, "9.9.9", &got, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_skill_version_find(f->st, f->tenant, sid, "9.9", &got, &err),
                     AD_EINVAL);

    /* Rolling back: the older version is current again, the history stays. */
    assert_int_equal(ad_store_skill_set_current(f->st, f->tenant, sid, v1, &err), 0);
    current_of(f, sid, cur);
    assert_string_equal(cur, v1);
    assert_int_equal(ad_store_skill_version_list(f->st, f->tenant, sid, &vs, &n, &err), 0);
    assert_int_equal(n, 3);
    ad_skill_version_list_free(vs, n);

    /* Another skill's version is not one of this skill's. */
    assert_int_equal(ad_store_skill_set_current(f->st, f->tenant, sid, other_v, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "is not a version of skill 'sum_list'");
    current_of(f, sid, cur);
    assert_string_equal(cur, v1);
    assert_int_equal(ad_store_skill_set_current(f->st, f->other, foreign_sid, v1, &err),
                     AD_ENOTFOUND);
    assert_int_equal(ad_store_skill_set_current(f->st, f->tenant, foreign_sid, v1, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill");

    /* A parent from another skill, an unknown or foreign skill: nothing is written. */
    assert_int_equal(add_version(f, sid, "3.0.0", other_v, "x = 1\n", false, NULL, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, other_v);
    assert_int_equal(add_version(f, foreign_sid, "3.0.0", "", "x = 1\n", false, NULL, &err),
                     AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM skill_versions"), 5);
    assert_int_equal(ad_store_skill_version_list(f->st, f->tenant, foreign_sid, &vs, &n, &err),
                     AD_ENOTFOUND);
    assert_null(vs);
    assert_int_equal(n, 0);
}

static void test_duplicates(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s;
    struct ad_skill_version v;
    char sid[AD_ID_SIZE], v1[AD_ID_SIZE], vid[AD_ID_SIZE];

    add_skill(f, f->tenant, "fetch_url", "", NULL, sid, v1);
    fill(&s, &v, f->tenant, "fetch_url", "again");
    assert_int_equal(ad_store_skill_insert(f->st, &s, &v, &err), AD_EEXIST);
    assert_msg_has(&err, "skill 'fetch_url' already exists");
    assert_string_equal(s.id, "");
    assert_string_equal(v.id, "");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM skill_versions"), 1);
    /* Names are per tenant. */
    add_skill(f, f->other, "fetch_url", "", NULL, NULL, NULL);

    assert_int_equal(add_version(f, sid, "1.0.0", v1, "y = 2\n", true, vid, &err), AD_EEXIST);
    assert_msg_has(&err, "skill 'fetch_url' already has version 1.0.0");
    assert_string_equal(vid, "");
    current_of(f, sid, vid);
    assert_string_equal(vid, v1);
}

/* Inserts s/v expecting code, with the message naming what. */
static void expect_refused(struct fx *f, struct ad_skill *s, struct ad_skill_version *v,
                           int code, const char *what)
{
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_store_skill_insert(f->st, s, v, &err), code);
    assert_msg_has(&err, what);
    assert_string_equal(s->id, "");
    assert_string_equal(v->id, "");
}

static void test_insert_refusals(void **state)
{
    static const char *const bad_names[] = { "Word", "a__b", "_a", "a_", "",
                                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                             "aaaaaaaaaaaa" };
    static const char *const bad_entries[] = { "1run", "run-it", "run it", "", "r\xc3\xa9" };
    struct fx *f = *state;
    struct ad_skill s;
    struct ad_skill_version v;
    char *big;
    json_t *arr = json_array();
    size_t i;

    assert_int_equal(strlen(bad_names[5]), 65);
    for (i = 0; i < AD_ARRAY_SIZE(bad_names); i++) {
        fill(&s, &v, f->tenant, bad_names[i], "");
        expect_refused(f, &s, &v, AD_EINVAL, "skill name");
    }
    for (i = 0; i < AD_ARRAY_SIZE(bad_entries); i++) {
        fill(&s, &v, f->tenant, "ok_name", "");
        s.entry_function = (char *)bad_entries[i];
        expect_refused(f, &s, &v, AD_EINVAL, "entry_function");
    }
    big = malloc(AD_SKILL_CODE_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', AD_SKILL_CODE_MAX + 1);
    big[AD_SKILL_CODE_MAX + 1] = '\0';

    fill(&s, &v, f->tenant, "ok_name", "");
    big[AD_ENTRY_MAX + 1] = '\0';
    s.entry_function = big;
    expect_refused(f, &s, &v, AD_ETOOBIG, "entry_function");
    big[AD_ENTRY_MAX + 1] = 'x';

    fill(&s, &v, f->tenant, "ok_name", "");
    big[AD_SKILL_DESC_MAX + 1] = '\0';
    s.description = big;
    expect_refused(f, &s, &v, AD_ETOOBIG, "description");
    big[AD_SKILL_DESC_MAX + 1] = 'x';

    fill(&s, &v, f->tenant, "ok_name", "");
    v.code = big;
    expect_refused(f, &s, &v, AD_ETOOBIG, "code");
    free(big);

    fill(&s, &v, f->tenant, "ok_name", "");
    v.code = (char *)"";
    expect_refused(f, &s, &v, AD_EINVAL, "code");
    fill(&s, &v, f->tenant, "ok_name", "");
    v.code = NULL;
    expect_refused(f, &s, &v, AD_EINVAL, "code");

    fill(&s, &v, f->tenant, "ok_name", "");
    s.input_schema = arr;
    expect_refused(f, &s, &v, AD_EINVAL, "input_schema");
    json_decref(arr);

    fill(&s, &v, f->tenant, "ok_name", "");
    s.status = (char *)"enabled";
    expect_refused(f, &s, &v, AD_EINVAL, "status");

    fill(&s, &v, f->tenant, "ok_name", "");
    ad__copy_fixed(v.semver, sizeof(v.semver), "1.0");
    expect_refused(f, &s, &v, AD_EINVAL, "semver");

    fill(&s, &v, f->tenant, "ok_name", "");
    v.origin = (enum ad_skill_origin)9;
    expect_refused(f, &s, &v, AD_EINVAL, "origin");

    fill(&s, &v, "not-an-id", "ok_name", "");
    expect_refused(f, &s, &v, AD_EINVAL, "tenant id");

    /* A well-formed id of no tenant. */
    fill(&s, &v, "00000000-0000-7000-8000-000000000000", "ok_name", "");
    expect_refused(f, &s, &v, AD_ENOTFOUND, "tenant");

    assert_int_equal(sql_int(f, "SELECT count(*) FROM skills"), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM skill_versions"), 0);
}

static void test_update(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s, got;
    struct ad_skill_hit *hits = NULL;
    char sid[AD_ID_SIZE];
    size_t n = 0;

    add_skill(f, f->tenant, "resize_image", "scales a picture", NULL, sid, NULL);
    assert_int_equal(ad_store_skill_get(f->st, f->tenant, sid, &s, &err), 0);
    free(s.description);
    s.description = strdup("shrinks a thumbnail");
    s.input_schema = json_pack("{s:s}", "type", "object");
    assert_int_equal(ad_store_skill_update(f->st, &s, &err), 0);
    ad_skill_release(&s);

    assert_int_equal(ad_store_skill_get(f->st, f->tenant, sid, &got, &err), 0);
    assert_string_equal(got.description, "shrinks a thumbnail");
    assert_non_null(json_object_get(got.input_schema, "type"));
    assert_string_equal(got.status, "active");
    /* The index follows the description. */
    assert_int_equal(ad_store_skill_search(f->st, f->tenant, "thumbnail", 0, &hits, &n, &err),
                     0);
    assert_int_equal(n, 1);
    ad_skill_hits_free(hits, n);
    assert_int_equal(ad_store_skill_search(f->st, f->tenant, "picture", 0, &hits, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_skill_hits_free(hits, n);

    /* A NULL status keeps the stored one; a given one is written. */
    free(got.status);
    got.status = NULL;
    assert_int_equal(ad_store_skill_update(f->st, &got, &err), 0);
    got.status = strdup("disabled");
    assert_int_equal(ad_store_skill_update(f->st, &got, &err), 0);
    ad_skill_release(&got);
    assert_int_equal(ad_store_skill_get(f->st, f->tenant, sid, &got, &err), 0);
    assert_string_equal(got.status, "disabled");

    free(got.status);
    got.status = strdup("gone");
    assert_int_equal(ad_store_skill_update(f->st, &got, &err), AD_EINVAL);
    free(got.status);
    got.status = NULL;
    ad__copy_fixed(got.tenant_id, sizeof(got.tenant_id), f->other);
    assert_int_equal(ad_store_skill_update(f->st, &got, &err), AD_ENOTFOUND);
    ad_skill_release(&got);
}

/* ---- search ------------------------------------------------------------- */

static void search(struct fx *f, const char *tenant, const char *query,
                   struct ad_skill_hit **hits, size_t *n)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_store_skill_search(f->st, tenant, query, 0, hits, n, &err))
        fail_msg("search '%s': %s", query, err.msg);
}

static void test_search_ranking(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_hit *hits = NULL;
    size_t n = 0;

    add_skill(f, f->tenant, "read_pdf", "extracts text so you can parse an invoice", NULL, NULL,
              NULL);
    add_skill(f, f->tenant, "parse_invoice", "reads a billing document", NULL, NULL, NULL);
    add_skill(f, f->tenant, "send_email", "delivers a message over smtp", NULL, NULL, NULL);
    add_skill(f, f->tenant, "zip_files", "packs a folder into an archive", NULL, NULL, NULL);
    add_skill(f, f->tenant, "resize_image", "scales a picture", NULL, NULL, NULL);
    add_skill(f, f->tenant, "invoice_archive", "old invoices", "disabled", NULL, NULL);
    add_skill(f, f->other, "invoice_tool", "the other tenant's invoice", NULL, NULL, NULL);

    search(f, f->tenant, "Invoice", &hits, &n);
    assert_int_equal(n, 2);
    assert_string_equal(hits[0].skill.name, "parse_invoice");
    assert_string_equal(hits[1].skill.name, "read_pdf");
    assert_true(hits[1].score > 0);
    assert_true(hits[0].score > hits[1].score);
    assert_string_equal(hits[0].skill.tenant_id, f->tenant);
    assert_true(ad_id_valid(hits[0].skill.current_version_id));
    ad_skill_hits_free(hits, n);

    /* Words are OR-ed: either word finds its skill. */
    search(f, f->tenant, "smtp-or-picture?", &hits, &n);
    assert_int_equal(n, 2);
    ad_skill_hits_free(hits, n);
    assert_int_equal(ad_store_skill_search(f->st, f->tenant, "invoice", 1, &hits, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(hits[0].skill.name, "parse_invoice");
    ad_skill_hits_free(hits, n);

    /* The other tenant sees only its own. */
    search(f, f->other, "invoice", &hits, &n);
    assert_int_equal(n, 1);
    assert_string_equal(hits[0].skill.name, "invoice_tool");
    ad_skill_hits_free(hits, n);
}

static void test_search_hostile_queries(void **state)
{
    static const char *const hostile[] = {
        "\"", "\"\"\"", "invoice\"", "NEAR(invoice pdf)", "NEAR", "*", "invoice*", "^invoice",
        "name:invoice", "{name description}: invoice", "(invoice", "invoice)", "invoice AND",
        "OR", "AND NOT", "NOT invoice", "-invoice", "+", "'", "a'b", "\\", "invoice OR OR",
        "caf\xc3\xa9", "\xe2\x80\x94", "\xe2\x80\x94 invoice", "::", "\"invoice\" \"",
        "rowid:1", "skills_fts:invoice", "col:x:y",
    };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_hit *hits = NULL;
    char many[400];
    size_t n = 0, i;
    int len = 0;

    add_skill(f, f->tenant, "parse_invoice", "reads a billing document", NULL, NULL, NULL);
    add_skill(f, f->tenant, "resize_image", "scales a picture", NULL, NULL, NULL);
    for (i = 0; i < AD_ARRAY_SIZE(hostile); i++) {
        hits = NULL;
        if (ad_store_skill_search(f->st, f->tenant, hostile[i], 5, &hits, &n, &err))
            fail_msg("query '%s': %s", hostile[i], err.msg);
        ad_skill_hits_free(hits, n);
    }
    /* Operators and column names are just words. */
    search(f, f->tenant, "name:invoice", &hits, &n);
    assert_int_equal(n, 1);
    ad_skill_hits_free(hits, n);
    search(f, f->tenant, "NEAR(invoice)", &hits, &n);
    assert_int_equal(n, 1);
    ad_skill_hits_free(hits, n);

    /* No words: no hits, no error. */
    search(f, f->tenant, "", &hits, &n);
    assert_int_equal(n, 0);
    assert_null(hits);
    search(f, f->tenant, " !?* ()\"", &hits, &n);
    assert_int_equal(n, 0);

    /* Past 32 words the rest is dropped. */
    for (i = 0; i < 32; i++)
        len += snprintf(many + len, sizeof(many) - (size_t)len, "w%zu ", i);
    snprintf(many + len, sizeof(many) - (size_t)len, "invoice");
    search(f, f->tenant, many, &hits, &n);
    assert_int_equal(n, 0);
    ad_skill_hits_free(hits, n);
    memcpy(many, "invoice", 7);     /* the first word now */
    search(f, f->tenant, many, &hits, &n);
    assert_int_equal(n, 1);
    ad_skill_hits_free(hits, n);

    assert_int_equal(ad_store_skill_search(f->st, f->tenant, NULL, 0, &hits, &n, &err),
                     AD_EINVAL);
    assert_int_equal(ad_store_skill_search(f->st, f->tenant, "\xff", 0, &hits, &n, &err),
                     AD_EINVAL);
}

/* ---- executions --------------------------------------------------------- */

static int add_execution(struct fx *f, const char *tenant, const char *vid, const char *agent,
                         double secs, int64_t tokens, json_t *input, struct ad_err *err)
{
    struct ad_skill_execution x;

    memset(&x, 0, sizeof(x));
    ad__copy_fixed(x.tenant_id, sizeof(x.tenant_id), tenant);
    ad__copy_fixed(x.skill_version_id, sizeof(x.skill_version_id), vid);
    ad__copy_fixed(x.agent_id, sizeof(x.agent_id), agent);
    x.input = input;
    x.success = tokens % 2 == 0;
    x.execution_seconds = secs;
    x.token_usage = tokens;
    x.error = x.success ? NULL : (char *)"ValueError: bad";
    return ad_store_skill_execution_insert(f->st, &x, err);
}

static void test_executions(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_execution *v = NULL;
    char sid[AD_ID_SIZE], v1[AD_ID_SIZE], v2[AD_ID_SIZE], fv[AD_ID_SIZE];
    json_t *in = json_pack("{s:i}", "x", 41);
    char *big;
    size_t n = 0;

    add_skill(f, f->tenant, "sum_list", "", NULL, sid, v1);
    assert_int_equal(add_version(f, sid, "1.0.1", v1, "z = 3\n", true, v2, &err), 0);
    add_skill(f, f->other, "sum_list", "", NULL, NULL, fv);

    assert_int_equal(add_execution(f, f->tenant, v1, f->agent, 0.5, 10, in, &err), 0);
    assert_int_equal(add_execution(f, f->tenant, v2, "", 0, 11, NULL, &err), 0);
    assert_int_equal(add_execution(f, f->tenant, v1, "", 1.25, 12, NULL, &err), 0);

    assert_int_equal(ad_store_skill_execution_list(f->st, f->tenant, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].token_usage, 12);   /* newest first */
    assert_int_equal(v[1].token_usage, 11);
    assert_int_equal(v[2].token_usage, 10);
    assert_string_equal(v[1].agent_id, "");
    assert_false(v[1].success);
    assert_string_equal(v[1].error, "ValueError: bad");
    assert_string_equal(v[2].agent_id, f->agent);
    assert_true(json_equal(v[2].input, in));
    assert_null(v[2].output);
    assert_true(v[2].execution_seconds == 0.5);
    ad_skill_execution_list_free(v, n);

    assert_int_equal(ad_store_skill_execution_list(f->st, f->tenant, v1, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].skill_version_id, v1);
    assert_int_equal(v[0].token_usage, 12);
    ad_skill_execution_list_free(v, n);
    assert_int_equal(ad_store_skill_execution_list(f->st, f->other, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_skill_execution_list_free(v, n);

    /* References must be the tenant's. */
    assert_int_equal(add_execution(f, f->tenant, fv, "", 0, 0, NULL, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill version");
    assert_int_equal(add_execution(f, f->other, v1, "", 0, 0, NULL, &err), AD_ENOTFOUND);
    assert_int_equal(add_execution(f, f->other, fv, f->agent, 0, 0, NULL, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent");

    /* Field checks. */
    assert_int_equal(add_execution(f, f->tenant, v1, "", -1, 0, NULL, &err), AD_EINVAL);
    assert_msg_has(&err, "execution_seconds");
    assert_int_equal(add_execution(f, f->tenant, v1, "", NAN, 0, NULL, &err), AD_EINVAL);
    assert_int_equal(add_execution(f, f->tenant, v1, "", INFINITY, 0, NULL, &err), AD_EINVAL);
    assert_int_equal(add_execution(f, f->tenant, v1, "", 0, -2, NULL, &err), AD_EINVAL);
    assert_msg_has(&err, "token_usage");
    assert_int_equal(add_execution(f, f->tenant, v1, "bad-id", 0, 0, NULL, &err), AD_EINVAL);
    big = calloc(1, AD_JSON_FIELD_MAX + 1);
    assert_non_null(big);
    memset(big, 'q', AD_JSON_FIELD_MAX);
    json_decref(in);
    in = json_string(big);
    free(big);
    assert_int_equal(add_execution(f, f->tenant, v1, "", 0, 0, in, &err), AD_ETOOBIG);
    assert_msg_has(&err, "input");
    json_decref(in);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM skill_executions"), 3);
}

/* ---- agent sessions ----------------------------------------------------- */

static void make_session(struct ad_agent_session *s, const char *tenant, const char *agent)
{
    memset(s, 0, sizeof(*s));
    ad__copy_fixed(s->tenant_id, sizeof(s->tenant_id), tenant);
    ad__copy_fixed(s->agent_id, sizeof(s->agent_id), agent);
    s->task = (char *)"sum the list";
    s->status = AD_SESSION_RUNNING;
    s->transcript = json_pack("[{s:s, s:s}]", "role", "user", "content", "sum 1 2");
    s->state = json_pack("{s:i}", "turns", 0);
}

static void drop_session(struct ad_agent_session *s)
{
    json_decref(s->transcript);
    json_decref(s->state);
    s->transcript = s->state = NULL;
}

static void make_episode(struct fx *f, char id[AD_ID_SIZE])
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;

    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), f->tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), f->agent);
    ep.task_description = (char *)"sum the list";
    ep.success = true;
    if (ad_store_episode_insert(f->st, &ep, &err))
        fail_msg("episode insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, ep.id);
}

static void test_sessions(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent_session s, s2, got, *v = NULL;
    char agent2[AD_ID_SIZE], episode[AD_ID_SIZE];
    size_t n = 0;

    make_agent(f, f->tenant, "bot2", agent2);
    make_session(&s, f->tenant, f->agent);
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), 0);
    assert_true(ad_id_valid(s.id));
    assert_string_equal(s.created_at, s.updated_at);
    make_session(&s2, f->tenant, agent2);
    assert_int_equal(ad_store_agent_session_insert(f->st, &s2, &err), 0);

    assert_int_equal(ad_store_agent_session_get(f->st, f->tenant, s.id, &got, &err), 0);
    assert_string_equal(got.task, "sum the list");
    assert_int_equal(got.status, AD_SESSION_RUNNING);
    assert_true(json_equal(got.transcript, s.transcript));
    assert_true(json_equal(got.state, s.state));
    assert_string_equal(got.episode_id, "");
    ad_agent_session_release(&got);

    /* An update writes status, transcript, state and the episode. */
    make_episode(f, episode);
    assert_int_equal(json_array_append_new(s.transcript, json_pack("{s:s, s:s}", "role",
                                                                   "assistant", "content", "3")),
                     0);
    assert_int_equal(json_object_set_new(s.state, "turns", json_integer(1)), 0);
    s.status = AD_SESSION_DONE;
    ad__copy_fixed(s.episode_id, sizeof(s.episode_id), episode);
    assert_int_equal(ad_store_agent_session_update(f->st, &s, &err), 0);
    assert_int_equal(ad_store_agent_session_get(f->st, f->tenant, s.id, &got, &err), 0);
    assert_int_equal(got.status, AD_SESSION_DONE);
    assert_int_equal(json_array_size(got.transcript), 2);
    assert_int_equal(json_integer_value(json_object_get(got.state, "turns")), 1);
    assert_string_equal(got.episode_id, episode);
    assert_string_equal(got.updated_at, s.updated_at);
    ad_agent_session_release(&got);

    /* Lists: newest first, without the transcript. */
    assert_int_equal(ad_store_agent_session_list(f->st, f->tenant, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, s2.id);
    assert_string_equal(v[1].id, s.id);
    assert_null(v[0].transcript);
    assert_null(v[1].transcript);
    assert_non_null(v[1].state);
    assert_int_equal(v[1].status, AD_SESSION_DONE);
    ad_agent_session_list_free(v, n);
    assert_int_equal(ad_store_agent_session_list(f->st, f->tenant, f->agent, 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, s.id);
    ad_agent_session_list_free(v, n);
    assert_int_equal(ad_store_agent_session_list(f->st, f->other, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_agent_session_list_free(v, n);

    /* Another tenant's session is not found, for reading or writing. */
    assert_int_equal(ad_store_agent_session_get(f->st, f->other, s.id, &got, &err),
                     AD_ENOTFOUND);
    ad__copy_fixed(s2.tenant_id, sizeof(s2.tenant_id), f->other);
    assert_int_equal(ad_store_agent_session_update(f->st, &s2, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent session");
    ad__copy_fixed(s2.tenant_id, sizeof(s2.tenant_id), f->tenant);
    ad__copy_fixed(s2.episode_id, sizeof(s2.episode_id), s.id);   /* no such episode */
    assert_int_equal(ad_store_agent_session_update(f->st, &s2, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown episode");
    drop_session(&s);
    drop_session(&s2);
}

static void test_session_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent_session s;
    json_t *saved;
    char *big;

    make_session(&s, f->other, f->agent);   /* the agent is not the other tenant's */
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown agent");
    assert_string_equal(s.id, "");
    drop_session(&s);

    make_session(&s, f->tenant, f->agent);
    s.task = NULL;
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), AD_EINVAL);
    assert_msg_has(&err, "task");
    s.task = (char *)"t";
    s.status = (enum ad_session_status)7;
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), AD_EINVAL);
    assert_msg_has(&err, "status");
    s.status = AD_SESSION_STOPPED;

    saved = s.transcript;
    s.transcript = json_object();
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), AD_EINVAL);
    assert_msg_has(&err, "transcript");
    json_decref(s.transcript);
    s.transcript = NULL;
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), AD_EINVAL);
    /* Past AD_JSON_FIELD_MAX is fine for a transcript; past AD_TRANSCRIPT_MAX is not. */
    big = malloc(AD_TRANSCRIPT_MAX);
    assert_non_null(big);
    memset(big, 'w', AD_TRANSCRIPT_MAX - 1);
    big[AD_TRANSCRIPT_MAX - 1] = '\0';
    s.transcript = json_pack("[s]", big);
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), AD_ETOOBIG);
    assert_msg_has(&err, "transcript");
    json_decref(s.transcript);
    big[AD_JSON_FIELD_MAX * 2] = '\0';
    s.transcript = json_pack("[s]", big);
    free(big);
    assert_int_equal(ad_store_agent_session_insert(f->st, &s, &err), 0);
    json_decref(s.transcript);
    s.transcript = saved;

    saved = s.state;
    s.state = json_array();
    assert_int_equal(ad_store_agent_session_update(f->st, &s, &err), AD_EINVAL);
    assert_msg_has(&err, "state");
    json_decref(s.state);
    s.state = saved;
    assert_int_equal(ad_store_agent_session_get(f->st, f->tenant, "bogus", &s, &err), AD_EINVAL);
    drop_session(&s);
}

static void test_readonly_refuses_writes(void **state)
{
    struct fx *f = *state;
    struct ad_store_options o = { AD_STORE_READONLY, 0 };
    struct ad_store *ro = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s;
    struct ad_skill_version v;
    struct ad_skill_hit *hits = NULL;
    size_t n = 0;

    add_skill(f, f->tenant, "parse_invoice", "", NULL, NULL, NULL);
    assert_int_equal(ad_store_open(f->uri, &o, &ro, &err), 0);
    fill(&s, &v, f->tenant, "write_me", "");
    assert_int_equal(ad_store_skill_insert(ro, &s, &v, &err), AD_EPERM);
    assert_int_equal(ad_store_skill_search(ro, f->tenant, "invoice", 0, &hits, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_skill_hits_free(hits, n);
    ad_store_free(ro);
}

/* ---- the group ---------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)
const struct CMUnitTest suite_skills[] = {
    cmocka_unit_test(test_skill_names),
    cmocka_unit_test(test_semver_valid),
    cmocka_unit_test(test_enum_names),
    T(test_insert_and_get),
    T(test_list_paging),
    T(test_versions_and_current),
    T(test_duplicates),
    T(test_insert_refusals),
    T(test_update),
    T(test_search_ranking),
    T(test_search_hostile_queries),
    T(test_executions),
    T(test_sessions),
    T(test_session_refusals),
    T(test_readonly_refuses_writes),
};
#undef T

const size_t suite_nskills = AD_ARRAY_SIZE(suite_skills);
