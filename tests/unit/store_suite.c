/*
 * The conformance suite's backend table and fixtures (store_suite.h).
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <unistd.h>

#include "autodev/store.h"

#include "store/store_backend.h"
#include "store_suite.h"

/* ---- sqlite ------------------------------------------------------------- */

/* base: "sqlite" or "sqlite:DIR"; the store is DIR/ad-test-store-XXXXXX/autodev.db. */
static int sqlite_make(const char *base, char *uri, size_t size)
{
    const char *dir = strncmp(base, "sqlite:", 7) == 0 && base[7] ? base + 7 : "/tmp";
    char tmpl[SUITE_URI_MAX];

    if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/ad-test-store-XXXXXX", dir) >= sizeof(tmpl) ||
        !mkdtemp(tmpl))
        return -1;
    return (size_t)snprintf(uri, size, "sqlite:%s/autodev.db", tmpl) < size ? 0 : -1;
}

static const char *sqlite_path(const char *uri)
{
    return strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri;
}

static void sqlite_drop(const char *uri)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    const char *path = sqlite_path(uri);
    char p[SUITE_URI_MAX + 16], *slash;
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(suffixes); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s", path);
    slash = strrchr(p, '/');
    if (slash) {
        *slash = '\0';
        rmdir(p);
    }
}

static int64_t sqlite_query_int(const char *uri, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

    if (sqlite3_open_v2(sqlite_path(uri), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    else
        fprintf(stderr, "query '%s': %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static int sqlite_exec(const char *uri, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = -1;

    if (sqlite3_open(sqlite_path(uri), &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK ? 0 : -1;
        if (rc)
            fprintf(stderr, "exec '%s': %s\n", sql, msg);
    }
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

/* ---- the table ---------------------------------------------------------- */

/* The PostgreSQL entries are built into the runner that links libpq (AD_SUITE_PG). */
static const struct suite_backend backends[] = {
    { "sqlite", sqlite_make, sqlite_drop, sqlite_query_int, sqlite_exec },
#ifdef AD_SUITE_PG
    { "postgresql", suite_pg_make, suite_pg_drop, suite_pg_query_int, suite_pg_exec },
    { "postgres", suite_pg_make, suite_pg_drop, suite_pg_query_int, suite_pg_exec },
#endif
};

const char *suite_base(void)
{
    const char *v = getenv("AUTODEV_TEST_STORE");

    return v && v[0] ? v : "sqlite";
}

const struct suite_backend *suite_backend(void)
{
    const char *base = suite_base();
    size_t i, n = strcspn(base, ":");

    for (i = 0; i < AD_ARRAY_SIZE(backends); i++) {
        if (strlen(backends[i].scheme) == n && !strncmp(base, backends[i].scheme, n))
            return &backends[i];
    }
    return NULL;
}

/* ---- fixtures ----------------------------------------------------------- */

int suite_open(const struct fx *f, int flags, int busy_timeout_ms, struct ad_store **st,
               struct ad_err *err)
{
    struct ad_store_options o = { flags, busy_timeout_ms };

    return ad_store_open(f->uri, &o, st, err);
}

static void add_agent(struct fx *f, const char *tenant, const char *name, char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), tenant);
    a.name = (char *)name;
    if (ad_store_agent_insert(f->st, &a, &err))
        fail_msg("agent insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, a.id);
}

static struct fx *setup(int agents)
{
    const struct suite_backend *b = suite_backend();
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(f);
    assert_non_null(b);
    assert_int_equal(b->make(suite_base(), f->uri, sizeof(f->uri)), 0);
    if (suite_open(f, AD_STORE_CREATE, 0, &f->st, &err))
        fail_msg("open '%s': %s", f->uri, err.msg);
    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", f->tenant, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "globex", f->other, &err), 0);
    if (agents > 0)
        add_agent(f, f->tenant, "bot", f->agent);
    if (agents > 1)
        add_agent(f, f->other, "spy", f->other_agent);
    return f;
}

int fx_setup(void **state)
{
    *state = setup(0);
    return 0;
}

int fx_setup_agent(void **state)
{
    *state = setup(1);
    return 0;
}

int fx_setup_agents(void **state)
{
    *state = setup(2);
    return 0;
}

int fx_teardown(void **state)
{
    struct fx *f = *state;

    ad_store_free(f->st);
    suite_backend()->drop(f->uri);
    free(f);
    return 0;
}

int64_t sql_int(const struct fx *f, const char *sql)
{
    return suite_backend()->query_int(f->uri, sql);
}

void sql_exec(const struct fx *f, const char *sql)
{
    if (suite_backend()->exec(f->uri, sql))
        fail_msg("exec failed: %s", sql);
}

void assert_msg_has(const struct ad_err *err, const char *substr)
{
    if (!strstr(err->msg, substr))
        fail_msg("message '%s' lacks '%s'", err->msg, substr);
}
