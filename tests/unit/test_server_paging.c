/*
 * Pages past the newest AD_LIST_MAX rows: a real server (ad_server_start
 * on a loopback port) over a store holding more jobs, notifications and
 * candidates than AD_LIST_MAX, paged through GET /v1/jobs,
 * /v1/notifications and /v1/candidates with next_cursor until it is null:
 * every row exactly once, newest first. Also the cursor's own checks.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/jobs.h"
#include "autodev/learn.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

#include "tmpdb.h"

#define ROWS (AD_LIST_MAX + 57)

struct fx {
    struct tmpdb db;
    struct ad_runtime *rt;
    struct ad_store *st;
    struct ad_server *srv;
    char tenant[AD_ID_SIZE];
    char token[AD_TOKEN_SIZE];
    char (*jobs)[AD_ID_SIZE];        /* in the order made */
    char (*notes)[AD_ID_SIZE];
    char (*cands)[AD_ID_SIZE];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_runtime_options o = { 0 };
    struct ad_server_options so = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs_options jo = { .worker = "test" };
    struct ad_jobs *q = NULL;
    json_t *payload = json_object();

    assert_non_null(f);
    f->jobs = calloc(ROWS, AD_ID_SIZE);
    f->notes = calloc(ROWS, AD_ID_SIZE);
    f->cands = calloc(ROWS, AD_ID_SIZE);
    assert_true(f->jobs && f->notes && f->cands);
    tmpdb_make(&f->db, "paging");
    o.db = f->db.path;
    o.create = 1;
    assert_int_equal(ad_runtime_open(&o, &f->rt, &err), 0);
    f->st = ad_runtime_store(f->rt);
    assert_int_equal(ad_runtime_tenant(f->rt, "default", 1, f->tenant, &err), 0);
    assert_int_equal(ad_tokens_create(f->st, f->tenant, AD_ROLE_ADMIN, "pager", f->token, NULL,
                                      &err), 0);
    /* Many rows, cheaply: one transaction each kind, through the owners' APIs. */
    assert_int_equal(ad_jobs_new(f->st, f->tenant, &jo, &q, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    for (int i = 0; i < ROWS; i++) {
        struct ad_notification n = { 0 };
        struct ad_skill_candidate c;
        char name[32];

        assert_int_equal(ad_jobs_enqueue(q, "store.check", payload, NULL, 0, f->jobs[i], NULL,
                                         &err), 0);
        snprintf(n.tenant_id, sizeof(n.tenant_id), "%s", f->tenant);
        n.type = (char *)"paging.test";
        n.title = (char *)"a page";
        assert_int_equal(ad_store_notification_insert(f->st, &n, &err), 0);
        memcpy(f->notes[i], n.id, AD_ID_SIZE);
        ad_skill_candidate_init(&c);
        snprintf(c.tenant_id, sizeof(c.tenant_id), "%s", f->tenant);
        snprintf(name, sizeof(name), "skill_%d", i);
        c.skill_name = name;
        c.generated_code = (char *)"def f(x):\n    return x\n";
        assert_int_equal(ad_store_candidate_insert(f->st, &c, 0, &err), 0);
        memcpy(f->cands[i], c.id, AD_ID_SIZE);
    }
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    ad_jobs_free(q);
    json_decref(payload);
    so.runtime.db = f->db.path;
    so.listen = "127.0.0.1:0";
    so.rate = -1;
    assert_int_equal(ad_server_start(&so, &f->srv, &err), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    ad_server_stop(f->srv, 5000);
    ad_server_free(f->srv);
    ad_runtime_free(f->rt);
    tmpdb_remove(&f->db);
    free(f->jobs);
    free(f->notes);
    free(f->cands);
    free(f);
    return 0;
}

/* GET path with the fixture's token: the status, and the JSON body into *out. */
static int get(struct fx *f, const char *path, json_t **out)
{
    struct sockaddr_in a = { 0 };
    struct ad_buf req = AD_BUF_INIT, resp;
    char chunk[65536];
    const char *body;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    ssize_t n;

    ad_buf_init(&resp, 64u << 20);
    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)ad_server_port(f->srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(ad_buf_addf(&req, "GET %s HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer "
                                 "%s\r\nConnection: close\r\n\r\n", path, f->token), 0);
    assert_int_equal(write(fd, req.ptr, req.len), (ssize_t)req.len);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        assert_int_equal(ad_buf_add(&resp, chunk, (size_t)n), 0);
    close(fd);
    assert_int_equal(sscanf(resp.ptr, "HTTP/1.1 %d", &status), 1);
    body = strstr(resp.ptr, "\r\n\r\n");
    assert_non_null(body);
    *out = json_loads(body + 4, 0, NULL);
    assert_non_null(*out);
    ad_buf_release(&req);
    ad_buf_release(&resp);
    return status;
}

/*
 * Pages through list (limit per page) and checks the ids are want, newest
 * first (the reverse of the order made), each exactly once.
 */
static void page_all(struct fx *f, const char *list, int limit, char (*want)[AD_ID_SIZE])
{
    char path[512], cursor[AD_ID_SIZE * 4] = "";
    size_t seen = 0, pages = 0;

    for (;;) {
        json_t *j = NULL, *items, *next, *it;
        size_t i;

        snprintf(path, sizeof(path), "/v1/%s?limit=%d%s%s", list, limit,
                 cursor[0] ? "&cursor=" : "", cursor);
        assert_int_equal(get(f, path, &j), 200);
        items = json_object_get(j, "items");
        next = json_object_get(j, "next_cursor");
        assert_true(json_is_array(items));
        json_array_foreach(items, i, it) {
            assert_true(seen < ROWS);
            assert_string_equal(json_string_value(json_object_get(it, "id")),
                                want[ROWS - 1 - seen]);
            seen++;
        }
        pages++;
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        assert_true(json_is_string(next) && strlen(json_string_value(next)) < sizeof(cursor));
        assert_int_equal(json_array_size(items), (size_t)limit);
        snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
        json_decref(j);
    }
    assert_int_equal(seen, ROWS);
    assert_int_equal(pages, (ROWS + limit - 1) / limit);
}

static void test_jobs_past_the_window(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job *v = NULL;
    size_t n = 0;

    /* One call of the owner stops at AD_LIST_MAX: what the pages must go past. */
    assert_int_equal(ad_jobs_list(f->st, f->tenant, -1, NULL, AD_LIST_MAX, &v, &n, &err), 0);
    assert_int_equal(n, AD_LIST_MAX);
    ad_job_list_free(v, n);
    page_all(f, "jobs", 1000, f->jobs);
}

static void test_notifications_past_the_window(void **state)
{
    page_all(*state, "notifications", 1000, ((struct fx *)*state)->notes);
}

static void test_candidates_past_the_window(void **state)
{
    page_all(*state, "candidates", 999, ((struct fx *)*state)->cands);
}

/* A cursor is the next_cursor of the page before: anything else is 400. */
static void test_bad_cursors(void **state)
{
    static const char *const bad[] = {
        "/v1/jobs?cursor=not-base64!",
        "/v1/jobs?cursor=YWJj",                      /* "abc": not an id */
        "/v1/candidates?cursor=MDE5MGExYjI",         /* an id without its time */
        "/v1/agents?cursor=YSBi",                    /* "a b": not a name */
        "/v1/jobs?cursor=YWJjZA=",                   /* padding is not base64url */
    };
    struct fx *f = *state;

    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        json_t *j = NULL;

        assert_int_equal(get(f, bad[i], &j), 400);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"),
                                                              "code")), "bad_request");
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_past_the_window),
        cmocka_unit_test(test_notifications_past_the_window),
        cmocka_unit_test(test_candidates_past_the_window),
        cmocka_unit_test(test_bad_cursors),
    };

    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
