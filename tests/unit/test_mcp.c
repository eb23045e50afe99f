/*
 * The MCP module: the tool table (every schema parses, names unique, the
 * review tools destructive and hidden from sessions without review), the
 * lifecycle, tools/list pages, cancellation and batches, driven through
 * ad_mcp_handle_line on a scratch store. tests/mcp/ drives the real binary
 * (raw lines, and the official TypeScript SDK's client).
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include "autodev/mcp.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

#include "mcp/mcp_int.h"

#include "tmpdb.h"

struct fx {
    struct tmpdb db;
    struct ad_runtime *rt;
    char tenant[AD_ID_SIZE];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_runtime_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(f);
    tmpdb_make(&f->db, "mcp");
    o.db = f->db.path;
    o.create = 1;
    assert_int_equal(ad_runtime_open(&o, &f->rt, &err), 0);
    assert_int_equal(ad_runtime_tenant(f->rt, "default", 1, f->tenant, &err), 0);
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

static struct ad_mcp *session(struct fx *f, const char *token, int page)
{
    struct ad_mcp_options o = { .rt = f->rt, .token = token, .page_size = page };
    struct ad_err err = AD_ERR_INIT;
    struct ad_mcp *m = NULL;

    assert_int_equal(ad_mcp_new(&o, &m, &err), 0);
    return m;
}

/* The answer to line (NULL when none). */
static json_t *send(struct ad_mcp *m, const char *line)
{
    return ad_mcp_handle_line(m, line, strlen(line));
}

static void init(struct ad_mcp *m, const char *version)
{
    char line[256];
    json_t *r;

    snprintf(line, sizeof(line), "{\"jsonrpc\": \"2.0\", \"id\": 0, \"method\": \"initialize\","
             " \"params\": {\"protocolVersion\": \"%s\", \"capabilities\": {}, \"clientInfo\":"
             " {\"name\": \"t\", \"version\": \"1\"}}}", version);
    r = send(m, line);
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
}

static int error_code(const json_t *r)
{
    return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void test_table(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    size_t n;
    const struct ad__mcp_tool *t = ad__mcp_tools(&n);
    struct fx *f = *state;   /* the runtime registered the research tools */
    int review = 0;

    (void)f;
    assert_true(n >= 18);
    for (size_t i = 0; i < n; i++) {
        json_t *j = ad__mcp_tool_json(&t[i], &err);

        if (!j)
            fail_msg("tool %s: %s", t[i].name, err.msg);
        assert_string_equal(json_string_value(json_object_get(j, "name")), t[i].name);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "inputSchema"),
                                                              "type")), "object");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "outputSchema"),
                                                              "type")), "object");
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(t[k].name, t[i].name);
        /* A tool that changes what it reviews is destructive, asks for confirm, and is review-only. */
        if (t[i].access == AD__MCP_REVIEW) {
            json_t *ann = json_object_get(j, "annotations");
            json_t *req = json_object_get(json_object_get(j, "inputSchema"), "required");
            int has_confirm = 0;

            review++;
            assert_true(json_is_true(json_object_get(ann, "destructiveHint")));
            for (size_t k = 0; k < json_array_size(req); k++)
                has_confirm |= !strcmp(json_string_value(json_array_get(req, k)), "confirm");
            assert_true(has_confirm);
        }
        json_decref(j);
    }
    assert_int_equal(review, 4);
}

static void test_lifecycle(void **state)
{
    struct fx *f = *state;
    struct ad_mcp *m = session(f, NULL, 0);
    json_t *r;

    assert_string_equal(ad_mcp_role(m), "local");
    assert_string_equal(ad_mcp_tenant(m), f->tenant);
    /* ping any time; anything else waits for initialize */
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}");
    assert_true(json_is_object(json_object_get(r, "result")));
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/list\"}");
    assert_int_equal(error_code(r), -32600);
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": \"initialize\", \"params\": "
                "{\"protocolVersion\": \"2024-11-05\"}}");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"),
                                                          "protocolVersion")), "2024-11-05");
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 4, \"method\": \"initialize\", \"params\": "
                "{\"protocolVersion\": \"2024-11-05\"}}");
    assert_int_equal(error_code(r), -32600);
    json_decref(r);
    assert_null(send(m, "{\"jsonrpc\": \"2.0\", \"method\": \"notifications/initialized\"}"));
    assert_null(send(m, "{\"jsonrpc\": \"2.0\", \"method\": \"notifications/whatever\"}"));
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\": \"resources/list\"}");
    assert_int_equal(error_code(r), -32601);
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"1.0\", \"id\": 6, \"method\": \"ping\"}");
    assert_int_equal(error_code(r), -32600);
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ");
    assert_int_equal(error_code(r), -32700);
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    ad_mcp_free(m);
}

static void test_negotiation(void **state)
{
    static const char *const cases[][2] = {
        { "2025-06-18", "2025-06-18" }, { "2025-03-26", "2025-03-26" },
        { "2024-11-05", "2024-11-05" }, { "2023-01-01", "2025-06-18" },
        { "2099-12-31", "2025-06-18" },
    };
    struct fx *f = *state;

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_mcp *m = session(f, NULL, 0);
        char line[256];
        json_t *r;

        snprintf(line, sizeof(line), "{\"jsonrpc\": \"2.0\", \"id\": \"a\", \"method\": "
                 "\"initialize\", \"params\": {\"protocolVersion\": \"%s\"}}", cases[i][0]);
        r = send(m, line);
        assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"),
                                                              "protocolVersion")),
                            cases[i][1]);
        assert_string_equal(json_string_value(json_object_get(r, "id")), "a");
        json_decref(r);
        ad_mcp_free(m);
    }
}

/* Pages of 4 cover the session's tools once each, in order; a bad cursor is -32602. */
static void test_pages(void **state)
{
    struct fx *f = *state;
    struct ad_mcp *m = session(f, NULL, 4);
    char cursor[64] = "", line[256];
    size_t seen = 0, pages = 0, n;
    const struct ad__mcp_tool *t = ad__mcp_tools(&n);
    json_t *r;

    init(m, "2025-06-18");
    do {
        json_t *res, *tools, *next;

        snprintf(line, sizeof(line), cursor[0] ? "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\":"
                 " \"tools/list\", \"params\": {\"cursor\": \"%s\"}}" : "{\"jsonrpc\": \"2.0\","
                 " \"id\": 1, \"method\": \"tools/list\"%s}", cursor);
        r = send(m, line);
        res = json_object_get(r, "result");
        tools = json_object_get(res, "tools");
        assert_true(json_array_size(tools) <= 4 && json_array_size(tools) > 0);
        for (size_t i = 0; i < json_array_size(tools); i++) {
            const char *name = json_string_value(json_object_get(json_array_get(tools, i),
                                                                 "name"));

            while (seen < n && t[seen].access == AD__MCP_REVIEW)
                seen++;
            assert_true(seen < n);
            assert_string_equal(name, t[seen].name);
            seen++;
        }
        next = json_object_get(res, "nextCursor");
        snprintf(cursor, sizeof(cursor), "%s", next ? json_string_value(next) : "");
        json_decref(r);
        pages++;
    } while (cursor[0]);
    assert_true(pages >= 3);
    while (seen < n && t[seen].access == AD__MCP_REVIEW)
        seen++;
    assert_int_equal(seen, n);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/list\", \"params\": "
                "{\"cursor\": \"zz\"}}");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);
    ad_mcp_free(m);
}

/* Review tools: listed and callable only with a reviewer or admin token. */
static void test_roles(void **state)
{
    static const struct { enum ad_token_role role; int review; } cases[] = {
        { AD_ROLE_REVIEWER, 1 }, { AD_ROLE_ADMIN, 1 }, { AD_ROLE_AGENT, 0 },
    };
    struct fx *f = *state;

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        char token[AD_TOKEN_SIZE];
        struct ad_mcp *m;
        json_t *r, *tools;
        int listed = 0;

        assert_int_equal(ad_tokens_create(ad_runtime_store(f->rt), f->tenant, cases[i].role,
                                          NULL, token, NULL, &err), 0);
        m = session(f, token, 0);
        init(m, "2025-06-18");
        r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/list\"}");
        tools = json_object_get(json_object_get(r, "result"), "tools");
        for (size_t k = 0; k < json_array_size(tools); k++)
            listed += !strcmp(json_string_value(json_object_get(json_array_get(tools, k),
                                                                "name")), "candidate_approve");
        assert_int_equal(listed, cases[i].review);
        json_decref(r);
        /* Without confirm a reviewer's call changes nothing and says why; others: unknown tool. */
        r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/call\", \"params\": "
                    "{\"name\": \"candidate_reject\", \"arguments\": {\"id\": \"x\", "
                    "\"reason\": \"no\", \"confirm\": false}}}");
        if (cases[i].review) {
            json_t *res = json_object_get(r, "result");

            assert_true(json_is_true(json_object_get(res, "isError")));
            assert_non_null(strstr(json_string_value(json_object_get(
                                       json_array_get(json_object_get(res, "content"), 0),
                                       "text")), "confirm: true"));
        } else {
            assert_int_equal(error_code(r), -32602);
        }
        json_decref(r);
        ad_mcp_free(m);
    }
}

static void test_bad_token(void **state)
{
    struct fx *f = *state;
    struct ad_mcp_options o = { .rt = f->rt, .token = "adt_nope" };
    struct ad_err err = AD_ERR_INIT;
    struct ad_mcp *m = NULL;

    assert_int_equal(ad_mcp_new(&o, &m, &err), AD_EPERM);
    assert_null(m);
    assert_null(strstr(err.msg, "adt_nope"));
}

/* A cancelled request gets no answer; others still do. */
static void test_cancel(void **state)
{
    struct fx *f = *state;
    struct ad_mcp *m = session(f, NULL, 0);
    json_t *r;

    init(m, "2025-06-18");
    assert_null(send(m, "{\"jsonrpc\": \"2.0\", \"method\": \"notifications/cancelled\", "
                        "\"params\": {\"requestId\": 9, \"reason\": \"user\"}}"));
    assert_null(send(m, "{\"jsonrpc\": \"2.0\", \"id\": 9, \"method\": \"ping\"}"));
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": \"9\", \"method\": \"ping\"}");
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
    /* Forgotten once dropped: the id may be used again. */
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 9, \"method\": \"ping\"}");
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
    ad_mcp_free(m);
}

/* Batches: 2025-03-26 only. */
static void test_batch(void **state)
{
    static const char batch[] = "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}, "
                                "{\"jsonrpc\": \"2.0\", \"method\": \"notifications/x\"}, "
                                "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"nope\"}]";
    struct fx *f = *state;
    struct ad_mcp *m = session(f, NULL, 0);
    json_t *r;

    init(m, "2025-03-26");
    r = send(m, batch);
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 2);
    assert_int_equal(error_code(json_array_get(r, 1)), -32601);
    json_decref(r);
    ad_mcp_free(m);
    m = session(f, NULL, 0);
    init(m, "2025-06-18");
    r = send(m, batch);
    assert_int_equal(error_code(r), -32600);
    json_decref(r);
    ad_mcp_free(m);
}

/* Arguments: checked against the schema (-32602), a failing tool is isError. */
static void test_call_errors(void **state)
{
    struct fx *f = *state;
    struct ad_mcp *m = session(f, NULL, 0);
    json_t *r, *res;

    init(m, "2025-06-18");
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/call\", \"params\": "
                "{\"name\": \"skill_search\", \"arguments\": {\"limit\": 3}}}");
    assert_int_equal(error_code(r), -32602);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
                                                             "message")), "query"));
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/call\", \"params\": "
                "{\"name\": \"no_such_tool\"}}");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": \"tools/call\", \"params\": "
                "{\"name\": \"candidate_show\", \"arguments\": {\"id\": \"nope\"}}}");
    res = json_object_get(r, "result");
    assert_true(json_is_true(json_object_get(res, "isError")));
    assert_null(json_object_get(res, "structuredContent"));
    json_decref(r);
    r = send(m, "{\"jsonrpc\": \"2.0\", \"id\": 4, \"method\": \"tools/call\", \"params\": "
                "{\"name\": \"skill_list\"}}");
    res = json_object_get(r, "result");
    assert_true(json_is_false(json_object_get(res, "isError")));
    assert_true(json_is_array(json_object_get(json_object_get(res, "structuredContent"),
                                              "skills")));
    json_decref(r);
    ad_mcp_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_negotiation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_roles, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_token, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_call_errors, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
