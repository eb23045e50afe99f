/*
 * Unit tests of the server module: the route table and its matching, the
 * OpenAPI document against the table, API tokens over a scratch store, the
 * rate limiter, the listening address, the statuses of errors, the
 * workers' hand-back of a job. The HTTP behaviour itself is tested against
 * the real binary in tests/server/.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/jobs.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

#include "server/server_int.h"
#include "server/routes_ui.h"

#include "tmpdb.h"

/* ---- the route table ---------------------------------------------------- */

static void test_route_table_rows(void **state)
{
    const struct ad__route *r = ad__routes();
    size_t n = ad__routes_count();

    (void)state;
    assert_true(n >= 35);
    for (size_t i = 0; i < n; i++) {
        char q[256];

        assert_non_null(r[i].fn);
        assert_true(r[i].path[0] == '/');
        assert_true(r[i].summary && strlen(r[i].summary) > 10);
        assert_true(r[i].op_id && *r[i].op_id);
        assert_true(r[i].ok == 200 || r[i].ok == 201 || r[i].ok == 202);
        /* Only admin, reviewer and agent are handed out: a route names no other. */
        assert_int_equal(r[i].roles & ~(unsigned)AD__ANY, 0);
        for (size_t k = 0; k < i; k++) {
            assert_string_not_equal(r[i].op_id, r[k].op_id);
            assert_false(!strcmp(r[i].method, r[k].method) && !strcmp(r[i].path, r[k].path));
        }
        /* Every query parameter a row names is documented. */
        snprintf(q, sizeof(q), "%s", r[i].query ? r[i].query : "");
        for (char *save = NULL, *w = strtok_r(q, " ", &save); w; w = strtok_r(NULL, " ", &save))
            assert_non_null(ad__query_param_find(w));
    }
    assert_null(r[n].method);
}

/* The route matched for method and path, with its first parameter. */
static int match(const char *method, const char *path, const struct ad__route **r,
                 char *param0, size_t size)
{
    const char *param[AD__ROUTE_PARAMS_MAX] = { 0 };
    char *copy = strdup(path);
    int rc;

    assert_non_null(copy);
    rc = ad__route_match(method, copy, r, param);
    snprintf(param0, size, "%s", rc == 0 && param[0] ? param[0] : "");
    free(copy);
    return rc;
}

static void test_route_match(void **state)
{
    const struct ad__route *r;
    char p[128];

    (void)state;
    assert_int_equal(match("GET", "/v1/episodes/abc", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_episode_get);
    assert_string_equal(p, "abc");
    /* A literal segment outranks a parameter, whichever row comes first. */
    assert_int_equal(match("GET", "/v1/skills/search", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_skill_search);
    assert_int_equal(match("GET", "/v1/skills/shout", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_skill_get);
    assert_int_equal(match("POST", "/v1/notifications/read", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_notif_read_all);
    assert_int_equal(match("POST", "/v1/notifications/n1/read", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_notif_read);
    assert_string_equal(p, "n1");
    /* A trailing slash is the same path. */
    assert_int_equal(match("GET", "/v1/agents/", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_agent_list);
    /* The path exists but not the method: 405; no such path: 404. */
    assert_int_equal(match("DELETE", "/v1/agents", &r, p, sizeof(p)), AD_ESTATE);
    assert_null(r);
    assert_int_equal(match("GET", "/v1/agents/x/y/z", &r, p, sizeof(p)), AD_ENOTFOUND);
    assert_int_equal(match("GET", "/v1/episodes//", &r, p, sizeof(p)), AD_ENOTFOUND);
    assert_int_equal(match("GET", "v1/agents", &r, p, sizeof(p)), AD_ENOTFOUND);
    assert_int_equal(match("GET", "/a/b/c/d/e/f/g/h/i/j", &r, p, sizeof(p)), AD_ENOTFOUND);
    /* "/" is the review web UI's page, and only "/" matches it. */
    assert_int_equal(match("GET", "/", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_ui_index);
    assert_int_equal(match("GET", "/ui/app.js", &r, p, sizeof(p)), 0);
    assert_ptr_equal(r->fn, ad__h_ui_asset);
    assert_string_equal(p, "app.js");
}

/*
 * The document and the table are one: every row is an operation of the
 * document, and the document has no operation that is not a row.
 */
static void test_openapi_matches_table(void **state)
{
    const struct ad__route *r = ad__routes();
    json_t *doc = ad_server_openapi(), *paths, *item, *op;
    const char *path, *method;
    size_t ops = 0;

    (void)state;
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    paths = json_object_get(doc, "paths");
    for (size_t i = 0; r[i].method; i++) {
        char m[16];
        size_t k;

        for (k = 0; r[i].method[k]; k++)
            m[k] = (char)(r[i].method[k] | 0x20);
        m[k] = '\0';
        op = json_object_get(json_object_get(paths, r[i].path), m);
        assert_non_null(op);
        assert_string_equal(json_string_value(json_object_get(op, "operationId")), r[i].op_id);
        assert_string_equal(json_string_value(json_object_get(op, "summary")), r[i].summary);
        assert_int_equal(json_array_size(json_object_get(op, "security")), r[i].roles ? 1 : 0);
        assert_non_null(json_object_get(json_object_get(op, "responses"), "500"));
    }
    json_object_foreach(paths, path, item) {
        json_object_foreach(item, method, op) {
            const struct ad__route *found;
            const char *param[AD__ROUTE_PARAMS_MAX];
            char upper[16], *copy = strdup(path);
            size_t k;

            for (k = 0; method[k]; k++)
                upper[k] = (char)(method[k] & ~0x20);
            upper[k] = '\0';
            /* A documented path with its {params} is matched by the row it came from. */
            assert_int_equal(ad__route_match(upper, copy, &found, param), 0);
            assert_string_equal(found->path, path);
            free(copy);
            ops++;
        }
    }
    assert_int_equal(ops, ad__routes_count());
    json_decref(doc);
}

/* ---- statuses ----------------------------------------------------------- */

static void test_status_of_errors(void **state)
{
    struct ad__res res = { 0 };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    assert_int_equal(ad__status_of(AD_EINVAL), 422);
    assert_int_equal(ad__status_of(AD_ENOTFOUND), 404);
    assert_int_equal(ad__status_of(AD_EEXIST), 409);
    assert_int_equal(ad__status_of(AD_ESTATE), 409);
    assert_int_equal(ad__status_of(AD_ETOOBIG), 413);
    assert_int_equal(ad__status_of(AD_EPERM), 403);
    assert_int_equal(ad__status_of(AD_ELIMIT), 429);
    assert_int_equal(ad__status_of(AD_EBUSY), 503);
    assert_int_equal(ad__status_of(AD_EIO), 500);
    assert_string_equal(ad__status_word(415), "unsupported_media_type");
    ad_error(&err, AD_EBUSY, "database is locked");
    ad__res_err(&res, &err);
    assert_int_equal(res.status, 503);
    assert_int_equal(res.retry_after, 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(res.json, "error"),
                                                          "code")), "unavailable");
    assert_string_equal(json_string_value(json_object_get(json_object_get(res.json, "error"),
                                                          "message")), "database is locked");
    ad_error(&err, AD_ELIMIT, "daily limit reached");
    ad__res_err(&res, &err);
    assert_int_equal(res.status, 429);
    assert_true(res.retry_after >= 1 && res.retry_after <= 86400);
    json_decref(res.json);
}

/* ---- the rate limiter ----------------------------------------------------- */

static void test_limiter(void **state)
{
    struct ad__limiter *l = NULL;
    int64_t t = 1000000000;

    (void)state;
    assert_int_equal(ad__limiter_new(2, 3, &l), 0);
    /* A burst of 3, then a wait of a whole second at 2 a second. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(ad__limiter_take(l, "a", t), 0);
    assert_int_equal(ad__limiter_take(l, "a", t), 1);
    /* Another key has its own bucket. */
    assert_int_equal(ad__limiter_take(l, "b", t), 0);
    /* Half a second refills one request. */
    assert_int_equal(ad__limiter_take(l, "a", t + 500000000), 0);
    assert_int_equal(ad__limiter_take(l, "a", t + 500000000), 1);
    /* A long pause refills no more than the burst. */
    t += 100LL * 1000000000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(ad__limiter_take(l, "a", t), 0);
    assert_true(ad__limiter_take(l, "a", t) > 0);
    ad__limiter_free(l);
    /* A slow rate says how many seconds to wait. */
    assert_int_equal(ad__limiter_new(1, 1, &l), 0);
    assert_int_equal(ad__limiter_take(l, "a", t), 0);
    assert_int_equal(ad__limiter_take(l, "a", t), 1);
    ad__limiter_free(l);
    /* No limit. */
    assert_int_equal(ad__limiter_new(-1, 0, &l), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ad__limiter_take(l, "a", t), 0);
    ad__limiter_free(l);
}

/* ---- the listening address ------------------------------------------------- */

static void test_listen_parse(void **state)
{
    static const struct {
        const char *listen;
        int rc;
        bool loopback;
    } cases[] = {
        { "127.0.0.1:8420", 0, true },
        { "127.1.2.3:0", 0, true },
        { "localhost:80", 0, true },
        { "[::1]:8420", 0, true },
        { "0.0.0.0:8420", 0, false },
        { "10.0.0.1:1", 0, false },
        { "[::]:8420", 0, false },
        { "8420", AD_EINVAL, false },
        { "127.0.0.1:", AD_EINVAL, false },
        { "127.0.0.1:65536", AD_EINVAL, false },
        { "127.0.0.1:-1", AD_EINVAL, false },
        { ":8420", AD_EINVAL, false },
        { "example.com:80", AD_EINVAL, false },
        { "[::1:80", AD_EINVAL, false },
        { "", AD_EINVAL, false },
    };
    struct sockaddr_storage a;
    struct ad_err err = AD_ERR_INIT;
    bool lo;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        int rc = ad_server_listen_parse(cases[i].listen, &a, &lo, &err);

        if (rc != cases[i].rc)
            fail_msg("'%s': %d, expected %d (%s)", cases[i].listen, rc, cases[i].rc, err.msg);
        if (rc == 0 && lo != cases[i].loopback)
            fail_msg("'%s': loopback %d", cases[i].listen, lo);
    }
}

/* ---- tokens over a scratch store -------------------------------------------- */

struct fx {
    struct tmpdb db;
    struct ad_runtime *rt;
    struct ad_store *st;
    char tenant[AD_ID_SIZE], other[AD_ID_SIZE];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_runtime_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(f);
    tmpdb_make(&f->db, "server");
    o.db = f->db.path;
    o.create = 1;
    assert_int_equal(ad_runtime_open(&o, &f->rt, &err), 0);
    f->st = ad_runtime_store(f->rt);
    assert_int_equal(ad_runtime_tenant(f->rt, "default", 1, f->tenant, &err), 0);
    assert_int_equal(ad_runtime_tenant(f->rt, "other", 1, f->other, &err), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    ad_runtime_free(f->rt);
    tmpdb_remove(&f->db);
    free(f);
    return 0;
}

static void test_token_hash(void **state)
{
    char h[AD_TOKEN_HASH_SIZE];

    (void)state;
    /* The SHA-256 test vector of FIPS 180-2. */
    ad_token_hash("abc", h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_token_lifecycle(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token row = { 0 }, who = { 0 };
    char tok[AD_TOKEN_SIZE], tok2[AD_TOKEN_SIZE], h[AD_TOKEN_HASH_SIZE];
    int64_t n = -1;

    assert_int_equal(ad_tokens_active(f->st, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ad_tokens_create(f->st, f->tenant, AD_ROLE_REVIEWER, "rita", tok, &row,
                                      &err), 0);
    assert_int_equal(strlen(tok), AD_TOKEN_SIZE - 1);
    assert_memory_equal(tok, AD_TOKEN_PREFIX, 4);
    /* The row holds the hash, not the token. */
    ad_token_hash(tok, h);
    assert_string_equal(row.token_hash, h);
    assert_string_equal(row.name, "rita");
    assert_int_equal(row.role, AD_ROLE_REVIEWER);
    /* The token finds its row, and the tenant comes with it. */
    assert_int_equal(ad_tokens_authenticate(f->st, tok, &who, &err), 0);
    assert_string_equal(who.tenant_id, f->tenant);
    assert_string_equal(who.name, "rita");
    assert_true(who.last_used_at[0] != '\0');
    ad_api_token_release(&who);
    /* One character changed is another (unknown) token; a short one is malformed. */
    memcpy(tok2, tok, sizeof(tok));
    tok2[10] = tok2[10] == 'A' ? 'B' : 'A';
    assert_int_equal(ad_tokens_authenticate(f->st, tok2, &who, &err), AD_EPERM);
    assert_string_equal(err.msg, "unknown token");
    assert_int_equal(ad_tokens_authenticate(f->st, "adt_abc", &who, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "malformed"));
    assert_null(strstr(err.msg, "adt_abc"));
    /* Names are the tenant's; the other tenant may use it too. */
    assert_int_equal(ad_tokens_create(f->st, f->tenant, AD_ROLE_AGENT, "rita", tok2, NULL, &err),
                     AD_EEXIST);
    assert_int_equal(ad_tokens_create(f->st, f->other, AD_ROLE_AGENT, "rita", tok2, NULL, &err),
                     0);
    assert_int_equal(ad_tokens_create(f->st, f->tenant, AD_ROLE_OPERATOR, NULL, tok2, NULL,
                                      &err), AD_EINVAL);
    assert_int_equal(ad_tokens_active(f->st, &n, &err), 0);
    assert_int_equal(n, 2);
    /* Another tenant cannot revoke it; its own can, once. */
    assert_int_equal(ad_tokens_revoke(f->st, f->other, row.id, NULL, &err), AD_ENOTFOUND);
    assert_int_equal(ad_tokens_revoke(f->st, f->tenant, "rita", NULL, &err), 0);
    assert_int_equal(ad_tokens_revoke(f->st, f->tenant, "rita", NULL, &err), AD_ESTATE);
    assert_int_equal(ad_tokens_authenticate(f->st, tok, &who, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "revoked"));
    assert_null(strstr(err.msg, tok));
    assert_int_equal(ad_tokens_active(f->st, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_api_token_release(&row);
}

static void test_token_list_json(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token *v = NULL;
    char tok[AD_TOKEN_SIZE];
    size_t n = 0;
    json_t *j;

    assert_int_equal(ad_tokens_create(f->st, f->tenant, AD_ROLE_ADMIN, NULL, tok, NULL, &err), 0);
    assert_int_equal(ad_tokens_create(f->st, f->tenant, AD_ROLE_AGENT, "bot", tok, NULL, &err), 0);
    assert_int_equal(ad_tokens_revoke(f->st, f->tenant, "bot", NULL, &err), 0);
    assert_int_equal(ad_tokens_list(f->st, f->tenant, false, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(v[0].name, "admin-", 6);
    j = ad_token_json(&v[0]);
    assert_null(json_object_get(j, "token_hash"));
    assert_string_equal(json_string_value(json_object_get(j, "role")), "admin");
    json_decref(j);
    ad_api_token_list_free(v, n);
    assert_int_equal(ad_tokens_list(f->st, f->tenant, true, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    ad_api_token_list_free(v, n);
}

/* ---- the workers' hand-back -------------------------------------------------------- */

static void test_hand_back(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs_options o = { .worker = "host:1:w1" };
    struct ad_jobs *q = NULL;
    struct ad_job j = { 0 };
    char id[AD_ID_SIZE];
    int64_t n = -1, counts[AD_JOB_STATUS_COUNT];
    json_t *payload = json_object();

    assert_int_equal(ad_jobs_new(f->st, f->tenant, &o, &q, &err), 0);
    assert_int_equal(ad_jobs_enqueue(q, "store.check", payload, NULL, 0, id, NULL, &err), 0);
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, NULL, "host:1:w1", ad_now_ms(), 60000,
                                        &j, &err), 0);
    ad_job_release(&j);
    assert_int_equal(ad_jobs_counts(f->st, f->tenant, counts, &err), 0);
    assert_int_equal(counts[AD_JOB_RUNNING], 1);
    /* Another worker's name, or another tenant, hands nothing back. */
    assert_int_equal(ad_jobs_hand_back(f->st, f->tenant, "host:1:w2", &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ad_jobs_hand_back(f->st, f->other, "host:1:w1", &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ad_jobs_hand_back(f->st, f->tenant, "host:1:w1", &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ad_jobs_get(f->st, f->tenant, id, &j, &err), 0);
    assert_int_equal(j.status, AD_JOB_QUEUED);
    assert_int_equal(j.attempts, 1);
    assert_null(j.worker);
    assert_string_equal(j.lease_until, "");
    assert_non_null(strstr(j.last_error, "handed back"));
    ad_job_release(&j);
    /* The worker that lost it writes nothing: its finish is refused. */
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, id, "host:1:w1", AD_JOB_DONE, NULL,
                                         NULL, &err), AD_ESTATE);
    assert_int_equal(ad_jobs_counts(f->st, f->tenant, counts, &err), 0);
    assert_int_equal(counts[AD_JOB_QUEUED], 1);
    assert_int_equal(counts[AD_JOB_RUNNING], 0);
    json_decref(payload);
    ad_jobs_free(q);
}

/* The change stamp the page cache trusts: any commit, by this handle or another, moves it. */
static void test_store_changes(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_runtime_options o = { .db = f->db.path };
    struct ad_runtime *rt2 = NULL;
    struct ad_agent a = { 0 }, *list = NULL;
    int64_t o1, w1, o2, w2;
    size_t n = 0;

    assert_int_equal(ad_runtime_open(&o, &rt2, &err), 0);
    assert_int_equal(ad_store_changes(f->st, &o1, &w1, &err), 0);
    assert_int_equal(ad_store_changes(f->st, &o2, &w2, &err), 0);
    assert_true(o1 == o2 && w1 == w2);
    /* A read changes nothing. */
    assert_int_equal(ad_agents_list(f->st, f->tenant, NULL, 10, &list, &n, &err), 0);
    ad_agent_list_free(list, n);
    assert_int_equal(ad_store_changes(f->st, &o2, &w2, &err), 0);
    assert_true(o1 == o2 && w1 == w2);
    /* Another handle commits: others moves. */
    assert_int_equal(ad_agents_add(ad_runtime_store(rt2), f->tenant, "ann", AD_STUDENT, &a, &err),
                     0);
    ad_agent_release(&a);
    assert_int_equal(ad_store_changes(f->st, &o2, &w2, &err), 0);
    assert_true(o1 != o2 && w1 == w2);
    /* This handle commits: own moves. */
    assert_int_equal(ad_agents_add(f->st, f->tenant, "bob", AD_STUDENT, &a, &err), 0);
    ad_agent_release(&a);
    assert_int_equal(ad_store_changes(f->st, &o1, &w1, &err), 0);
    assert_true(w1 == w2 + 1);
    ad_runtime_free(rt2);
}

static void test_tenant_list(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tenant *v = NULL;
    size_t n = 0;

    assert_int_equal(ad_runtime_tenants(f->rt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "default");
    assert_string_equal(v[1].name, "other");
    ad_tenant_list_free(v, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_table_rows),
        cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_openapi_matches_table),
        cmocka_unit_test(test_status_of_errors),
        cmocka_unit_test(test_limiter),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_token_hash),
        cmocka_unit_test_setup_teardown(test_token_lifecycle, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_token_list_json, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hand_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_store_changes, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
