/*
 * ad_store_copy between SQLite files (the PostgreSQL side runs in
 * tests/pg/t1940-db-copy.sh): a store written through the public API is
 * copied and compared; the compare reads JSON and times canonically (key
 * order, spacing, the time's spelling do not count; a changed value does);
 * a copy that fails half-way leaves the target empty; the refusals.
 *
 * Sections: fixture, the copy and its compare, failures, main.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>

#include "autodev/json.h"
#include "autodev/store.h"

#include "tmpdb.h"

/* ---- fixture ------------------------------------------------------------------- */

struct fix {
    struct tmpdb src, dst;
};

static void sql(const char *path, const char *text)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg);
    sqlite3_close(db);
}

static int64_t count(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char text[128];
    int64_t n;

    snprintf(text, sizeof(text), "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, text, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* The first row's column of a table, as text (malloc'd). */
static char *cell(const char *path, const char *query)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char *out;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    out = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_non_null(out);
    return out;
}

/* Two tenants, an agent each, an episode with JSON members and a real. */
static void fill(const char *path)
{
    struct ad_store_options o = { .flags = AD_STORE_CREATE };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    const char *tenants[] = { "default", "acme" };

    assert_int_equal(ad_store_open(path, &o, &st, &err), 0);
    for (size_t i = 0; i < 2; i++) {
        struct ad_agent a = { 0 };
        struct ad_episode ep;
        char tid[AD_ID_SIZE];

        assert_int_equal(ad_store_tenant_ensure(st, tenants[i], tid, &err), 0);
        memcpy(a.tenant_id, tid, AD_ID_SIZE);
        a.name = (char *)"bot";
        assert_int_equal(ad_store_agent_insert(st, &a, &err), 0);
        ad_episode_init(&ep);
        memcpy(ep.tenant_id, tid, AD_ID_SIZE);
        memcpy(ep.agent_id, a.id, AD_ID_SIZE);
        ep.task_description = (char *)"parse";
        /* {"b": 1, "a": [0.1, "x"], "z": {"k": true}} */
        ep.input = json_pack("{s:i, s:[f, s], s:{s:b}}", "b", 1, "a", 0.1, "x", "z", "k", 1);
        ep.success = false;
        ep.error_trace = (char *)"Traceback\nValueError: bad";
        ep.constitutional_score = 0.7;
        ep.execution_seconds = 1.0 / 3.0;
        assert_int_equal(ad_store_episode_insert(st, &ep, &err), 0);
        json_decref(ep.input);
    }
    ad_store_free(st);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->src, "copy-src");
    tmpdb_make(&f->dst, "copy-dst");
    fill(f->src.path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    tmpdb_remove(&f->src);
    tmpdb_remove(&f->dst);
    free(f);
    return 0;
}

static int copy(struct fix *f, int flags, struct ad_store_copy_table **t, size_t *n,
                struct ad_err *err)
{
    struct ad_store_copy_options o = { 0 };

    o.from = f->src.path;
    o.to = f->dst.path;
    o.flags = flags;
    return ad_store_copy(&o, t, n, err);
}

static const struct ad_store_copy_table *table(const struct ad_store_copy_table *t, size_t n,
                                               const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(t[i].name, name))
            return &t[i];
    }
    fail_msg("no table %s", name);
    return NULL;
}

/* ---- the copy and its compare ------------------------------------------------------ */

static void test_copy_whole(void **state)
{
    struct fix *f = *state;
    struct ad_store_copy_table *t = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;

    assert_int_equal(copy(f, 0, &t, &n, &err), 0);
    /* Every table but schema_migrations (each store's own history). */
    assert_int_equal(n, ad_store_table_total() - 1);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(t[i].name, "schema_migrations");
        assert_true(t[i].ok);
        assert_int_equal(strlen(t[i].from_sum), 64);
        assert_string_equal(t[i].from_sum, t[i].to_sum);
    }
    assert_int_equal(table(t, n, "tenants")->to_rows, 2);
    assert_int_equal(table(t, n, "episodes")->from_rows, 2);
    /* Empty tables agree too: the SHA-256 of nothing. */
    assert_string_equal(table(t, n, "webhooks")->to_sum,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(t);
    assert_int_equal(count(f->dst.path, "episodes"), 2);
    assert_int_equal(count(f->dst.path, "agents"), 2);
    assert_int_equal(count(f->dst.path, "schema_migrations"),
                     count(f->src.path, "schema_migrations"));
}

/* SQLite to SQLite is byte for byte: JSON text stays as the source spelt it. */
static void test_copy_exact_text(void **state)
{
    struct fix *f = *state;
    struct ad_store_copy_table *t = NULL;
    struct ad_err err = AD_ERR_INIT;
    const char *q = "SELECT input || '|' || created_at FROM episodes ORDER BY id LIMIT 1";
    char *a, *b;
    size_t n = 0;

    sql(f->src.path, "UPDATE episodes SET input = '{ \"b\" :1,  \"a\": [ 0.1 ] }'");
    assert_int_equal(copy(f, 0, &t, &n, &err), 0);
    free(t);
    a = cell(f->src.path, q);
    b = cell(f->dst.path, q);
    assert_string_equal(a, b);
    assert_non_null(strstr(b, "{ \"b\" :1,  \"a\": [ 0.1 ] }|"));
    free(a);
    free(b);
}

/* JSON in another key order and spacing, a time spelt +00:00: the same data. */
static void test_compare_canonical(void **state)
{
    struct fix *f = *state;
    struct ad_store_copy_table *t = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;

    assert_int_equal(copy(f, 0, &t, &n, &err), 0);
    free(t);
    sql(f->dst.path, "UPDATE episodes SET input = '{ \"z\" : { \"k\" : true }, \"a\": [0.1, "
                     "\"x\"], \"b\": 1.0 }'");
    sql(f->dst.path, "UPDATE agents SET created_at = replace(created_at, 'Z', '+00:00')");
    t = NULL;
    assert_int_equal(copy(f, AD_STORE_COPY_VERIFY, &t, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_true(t[i].ok);
    free(t);
}

/* A changed JSON number, a changed real: those tables, and only those, differ. */
static void test_compare_finds_changes(void **state)
{
    struct fix *f = *state;
    struct ad_store_copy_table *t = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;

    assert_int_equal(copy(f, 0, &t, &n, &err), 0);
    free(t);
    sql(f->dst.path, "UPDATE episodes SET input = replace(input, '0.1', '0.10000000000000002')");
    sql(f->dst.path, "UPDATE agents SET episode_count = episode_count + 1 WHERE rowid = 1");
    t = NULL;
    assert_int_equal(copy(f, AD_STORE_COPY_VERIFY, &t, &n, &err), AD_ECORRUPT);
    assert_non_null(strstr(err.msg, "2 table(s) differ"));
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) {
        bool changed = !strcmp(t[i].name, "episodes") || !strcmp(t[i].name, "agents");

        assert_int_equal(t[i].ok, !changed);
        assert_int_equal(t[i].from_rows, t[i].to_rows);
    }
    free(t);
}

/* ---- failures --------------------------------------------------------------------- */

/* A write that fails after many rows are in: the whole copy is rolled back. */
static void test_failure_rolls_back(void **state)
{
    struct fix *f = *state;
    struct ad_store_options o = { .flags = AD_STORE_CREATE };
    struct ad_store_copy_table *t = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    size_t n = 0;

    assert_int_equal(ad_store_open(f->dst.path, &o, &st, &err), 0);
    ad_store_free(st);
    sql(f->dst.path, "CREATE TRIGGER boom BEFORE INSERT ON events BEGIN"
                     " SELECT RAISE(ABORT, 'no events here'); END;");
    sql(f->src.path, "INSERT INTO events (id, tenant_id, seq, topic, payload, created_at)"
                     " SELECT '01a00000-0000-7000-8000-000000000001', id, 1, 't', '{}',"
                     " created_at FROM tenants LIMIT 1");
    assert_true(copy(f, 0, &t, &n, &err) < 0);
    assert_null(t);
    assert_non_null(strstr(err.msg, "events"));
    assert_non_null(strstr(err.msg, "no events here"));
    assert_int_equal(count(f->dst.path, "tenants"), 0);
    assert_int_equal(count(f->dst.path, "episodes"), 0);
    assert_int_equal(count(f->src.path, "events"), 1);
}

static void test_refusals(void **state)
{
    struct fix *f = *state;
    struct ad_store_copy_options o = { 0 };
    struct ad_store_copy_table *t = NULL;
    struct ad_err err = AD_ERR_INIT;
    char path[200];
    size_t n = 0;

    /* The same file, once as sqlite:PATH. */
    snprintf(path, sizeof(path), "sqlite:%s", f->src.path);
    o.from = f->src.path;
    o.to = path;
    assert_int_equal(ad_store_copy(&o, &t, &n, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "the same database"));
    /* An unknown scheme is not taken for a file name. */
    o.to = "mysql://host/db";
    assert_int_equal(ad_store_copy(&o, &t, &n, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "unknown database scheme 'mysql' in the target"));
    /* A missing source. */
    snprintf(path, sizeof(path), "%s/none.db", f->dst.dir);
    o.from = path;
    o.to = f->dst.path;
    assert_int_equal(ad_store_copy(&o, &t, &n, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no source database at"));
    assert_int_equal(access(path, F_OK), -1);
    /* A target with rows. */
    assert_int_equal(copy(f, 0, &t, &n, &err), 0);
    free(t);
    t = NULL;
    assert_int_equal(copy(f, 0, &t, &n, &err), AD_EEXIST);
    assert_null(t);
    assert_non_null(strstr(err.msg, "already holds rows (tenants: 2)"));
    assert_int_equal(count(f->dst.path, "episodes"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_exact_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_finds_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
