/*
 * SQLite-only tests of the store: the schema and its migrations (read back
 * with sqlite3 directly, and with the sqlite3 shell), foreign, corrupt and
 * newer files, in-memory stores, the busy timeout, the query plans of the
 * statements whose index matters, and the atomicity of writes that fail
 * half-way (faults injected with triggers). Everything the public API
 * promises whatever the backend is in the conformance suite (test_store.c).
 * Each test gets a fresh temporary directory holding its database.
 *
 * Sections: fixture, schema and files, query plans, half-written episodes,
 * skills written half-way, transactions SQLite ends by itself (faults
 * injected with RAISE(ROLLBACK) and a heap limit), the schema's versions
 * and migrations, settings as stored, migration 3, migration 4, the new
 * reads' plans; main last.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/settings.h"
#include "autodev/store.h"
#include "autodev/text.h"
#include "autodev/topics.h"

#include "tmpdb.h"

#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite.h"
#include "store/store_backend.h"

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    char tenant[AD_ID_SIZE];
    char other[AD_ID_SIZE];   /* a second tenant, for isolation */
    char agent[AD_ID_SIZE];   /* tenant's "bot" (fx_setup_agent) */
};

static int open_store(struct fx *f, int flags, struct ad_err *err)
{
    struct ad_store_options o = { flags, 0 };

    return ad_store_open(f->db.path, &o, &f->st, err);
}

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

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(f);
    tmpdb_make(&f->db, "store-sqlite");
    assert_int_equal(open_store(f, AD_STORE_CREATE, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "acme", f->tenant, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "globex", f->other, &err), 0);
    *state = f;
    return 0;
}

static int fx_setup_agent(void **state)
{
    struct fx *f;

    fx_setup(state);
    f = *state;
    make_agent(f, f->tenant, "bot", f->agent);
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    char p[160];

    ad_store_free(f->st);
    snprintf(p, sizeof(p), "%s/other.db", f->db.dir);
    tmpdb_remove_files(p);
    tmpdb_remove(&f->db);
    free(f);
    return 0;
}

static void reopen(struct fx *f)
{
    struct ad_err err = AD_ERR_INIT;

    ad_store_free(f->st);
    f->st = NULL;
    assert_int_equal(open_store(f, 0, &err), 0);
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

static void assert_msg_has(const struct ad_err *err, const char *substr)
{
    if (!strstr(err->msg, substr))
        fail_msg("message '%s' lacks '%s'", err->msg, substr);
}

/* One value from the database through a connection of its own. */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* A sibling file in the fixture's directory. */
static void sibling(const struct fx *f, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", f->db.dir, name);
}

/* ---- schema and files --------------------------------------------------- */

static const char *const all_tables[] = {
    "tenants", "api_tokens", "agents", "episodes", "episode_segments", "skills",
    "skill_versions", "skill_executions", "skill_candidates", "tool_mutations",
    "workflow_variants", "capability_usage", "notifications", "events", "jobs", "llm_calls",
    "research_sessions", "research_iterations",
};

static char *sql_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    char *v = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        v = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    assert_non_null(v);
    return v;
}

static void test_migrations_create_all_tables(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char sql[256], *mode;
    int cur = 0, latest = 0;
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(all_tables); i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
                 all_tables[i]);
        if (sql_int(f->db.path, sql) != 1)
            fail_msg("table '%s' missing", all_tables[i]);
    }
    /* Every table but tenants carries tenant_id NOT NULL and created_at. */
    for (i = 1; i < AD_ARRAY_SIZE(all_tables); i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pragma_table_info('%s')"
                 " WHERE (name = 'tenant_id' AND \"notnull\") OR name = 'created_at'",
                 all_tables[i]);
        if (sql_int(f->db.path, sql) != 2)
            fail_msg("table '%s' lacks tenant_id or created_at", all_tables[i]);
    }
    assert_int_equal(sql_int(f->db.path, "PRAGMA application_id"), AD_SQLITE_APPLICATION_ID);
    mode = sql_text(f->db.path, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(ad_store_schema_version(f->st, &cur, &latest, &err), 0);
    assert_int_equal(cur, latest);
    assert_true(latest >= 1);
    assert_int_equal(sql_int(f->db.path, "PRAGMA user_version"), latest);
    /* Numbers may skip (6 is the server's): one row per migration of the table. */
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM schema_migrations"),
                     (int)ad__sqlite_nmigrations);
    assert_string_equal(ad_store_backend(f->st), "sqlite");
    assert_int_equal(ad_store_check(f->st, &err), 0);
}

static void test_open_missing_file(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store_options ro = { AD_STORE_READONLY, 0 };
    struct ad_store *st = NULL;
    char path[160];

    sibling(f, "missing.db", path, sizeof(path));
    assert_int_equal(ad_store_open(path, NULL, &st, &err), AD_ENOTFOUND);
    assert_null(st);
    assert_msg_has(&err, "missing.db");
    assert_int_equal(ad_store_open(path, &ro, &st, &err), AD_ENOTFOUND);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(ad_store_open("", NULL, &st, &err), AD_EINVAL);
    /* A scheme not built in (postgres:// itself is test_store_pg's). */
    assert_int_equal(ad_store_open("pg:x/y", NULL, &st, &err), AD_ENOTSUP);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_garbage_file_is_refused(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_store *st = NULL;
    char path[160], junk[8192];
    size_t i;

    sibling(f, "other.db", path, sizeof(path));
    for (i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 7 + 3);
    write_file(path, junk, sizeof(junk));
    assert_int_equal(ad_store_open(path, &o, &st, &err), AD_ECORRUPT);
    assert_null(st);
    assert_msg_has(&err, "is not a database");
    assert_msg_has(&err, "other.db");

    /* A valid-looking header followed by garbage. */
    memcpy(junk, "SQLite format 3", 16);
    write_file(path, junk, sizeof(junk));
    assert_int_equal(ad_store_open(path, &o, &st, &err), AD_ECORRUPT);
    assert_null(st);
}

static void test_foreign_database_is_refused(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_store *st = NULL;
    sqlite3 *db = NULL;
    char path[160];

    sibling(f, "other.db", path, sizeof(path));
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                                      "INSERT INTO customers (name) VALUES ('x')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(ad_store_open(path, &o, &st, &err), AD_ECORRUPT);
    assert_null(st);
    assert_msg_has(&err, "is not an autodev database");
    /* Left untouched. */
    assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"), 1);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM customers"), 1);
}

static void test_newer_schema_is_refused(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    sqlite3 *db = NULL;
    char sql[64];

    ad_store_free(f->st);
    f->st = NULL;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
             ad__sqlite_migrations[ad__sqlite_nmigrations - 1].version + 1);
    assert_int_equal(sqlite3_open(f->db.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(open_store(f, 0, &err), AD_ENOTSUP);
    assert_null(f->st);
    assert_msg_has(&err, "schema version");
}

static void test_memory_store(void **state)
{
    struct ad_store_options o = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;
    char tenant[AD_ID_SIZE];
    int cur = 0, latest = 0;

    assert_int_equal(ad_store_open("sqlite::memory:", &o, &st, &err), 0);
    assert_int_equal(ad_store_schema_version(st, &cur, &latest, &err), 0);
    assert_int_equal(cur, latest);
    assert_int_equal(ad_store_tenant_ensure(st, "acme", tenant, &err), 0);
    assert_int_equal(ad_store_check(st, &err), 0);
    ad_store_free(st);
}

static void test_locked_database_is_busy(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_store_options o = { 0, 20 };
    struct ad_store *st2 = NULL;
    struct ad_agent a = { 0 };

    assert_int_equal(ad_store_open(f->db.path, &o, &st2, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"bot";
    assert_int_equal(ad_store_agent_insert(st2, &a, &err), AD_EBUSY);
    assert_string_equal(err.msg, "database is locked");
    assert_int_equal(ad_store_tx_depth(st2), 0);
    ad_store_rollback(f->st);
    assert_int_equal(ad_store_agent_insert(st2, &a, &err), 0);
    ad_store_free(st2);
}

/* ---- query plans -------------------------------------------------------- */

static int plan_uses(const char *plan, const char *index)
{
    return strstr(plan, index) != NULL && strstr(plan, "TEMP B-TREE") == NULL;
}

static void test_recent_failures_plan(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_filter flt = AD_EPISODE_FILTER_INIT;
    char agent[AD_ID_SIZE], *plan = NULL;
    int i;

    make_agent(f, f->tenant, "bot", agent);
    for (i = 0; i < 50; i++)
        make_episode(f, f->tenant, agent, i % 10 != 0, "k", NULL);
    flt.agent_id = agent;
    flt.success = 0;
    flt.limit = 100;
    assert_int_equal(ad__sqlite_explain_episode_list(f->st, f->tenant, &flt, &plan, &err), 0);
    if (!plan_uses(plan, "ix_episodes_agent_success"))
        fail_msg("recent-failures plan: %s", plan);
    free(plan);

    flt.before_id = "0190c0de-0000-7000-8000-000000000001";
    assert_int_equal(ad__sqlite_explain_episode_list(f->st, f->tenant, &flt, &plan, &err), 0);
    if (!plan_uses(plan, "ix_episodes_agent_success"))
        fail_msg("paged recent-failures plan: %s", plan);
    free(plan);

    flt = (struct ad_episode_filter)AD_EPISODE_FILTER_INIT;
    flt.agent_id = agent;
    assert_int_equal(ad__sqlite_explain_episode_list(f->st, f->tenant, &flt, &plan, &err), 0);
    if (!plan_uses(plan, "ix_episodes_agent_success") || !strstr(plan, "MERGE"))
        fail_msg("agent plan: %s", plan);
    free(plan);

    flt = (struct ad_episode_filter)AD_EPISODE_FILTER_INIT;
    assert_int_equal(ad__sqlite_explain_episode_list(f->st, f->tenant, &flt, &plan, &err), 0);
    if (!plan_uses(plan, "ix_episodes_tenant"))
        fail_msg("tenant plan: %s", plan);
    free(plan);

    flt.task_kind = "k";
    assert_int_equal(ad__sqlite_explain_episode_list(f->st, f->tenant, &flt, &plan, &err), 0);
    if (!plan_uses(plan, "ix_episodes_kind"))
        fail_msg("kind plan: %s", plan);
    free(plan);
}

/* A claim reads two index ranges whatever the number of finished jobs. */
static void test_job_claim_plan(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char *plan = NULL;

    assert_int_equal(ad__sqlite_explain_job_claim(f->st, NULL, &plan, &err), 0);
    if (!plan_uses(plan, "ix_jobs_claim (") || !strstr(plan, "MERGE"))
        fail_msg("claim plan: %s", plan);
    free(plan);
    assert_int_equal(ad__sqlite_explain_job_claim(f->st, "k", &plan, &err), 0);
    if (!plan_uses(plan, "ix_jobs_claim_kind") || !strstr(plan, "MERGE"))
        fail_msg("claim plan by kind: %s", plan);
    free(plan);
}

/* ---- half-written episodes ---------------------------------------------- */

/*
 * A write that fails after its first statement (injected here with a
 * trigger that refuses one segment) must never be committed half-done.
 */
static int insert_boom(struct fx *f, const char *agent, struct ad_err *err)
{
    struct ad_episode_segment seg = { .kind = (char *)"log", .content = (char *)"boom" };
    struct ad_episode ep;

    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), f->tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    ep.task_description = (char *)"t";
    ep.segments = &seg;
    ep.nsegments = 1;
    return ad_store_episode_insert(f->st, &ep, err);
}

static int64_t episode_rows(struct fx *f)
{
    return sql_int(f->db.path, "SELECT count(*) FROM episodes");
}

static void test_half_written_episode_cannot_commit(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a;
    char agent[AD_ID_SIZE], other[AD_ID_SIZE];
    sqlite3 *db = NULL;

    make_agent(f, f->tenant, "bot", agent);
    assert_int_equal(sqlite3_open(f->db.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON episode_segments"
                                      " WHEN NEW.content = 'boom'"
                                      " BEGIN SELECT RAISE(ABORT, 'injected'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    /* Outside a transaction: the call's own transaction is rolled back. */
    assert_int_not_equal(insert_boom(f, agent, &err), 0);
    assert_msg_has(&err, "injected");
    assert_int_equal(episode_rows(f), 0);

    /* In the caller's transaction: committing it fails and undoes it all. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    make_agent(f, f->tenant, "other", other);
    assert_int_not_equal(insert_boom(f, agent, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), AD_ESTATE);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "other", &a, &err),
                     AD_ENOTFOUND);
    assert_int_equal(episode_rows(f), 0);

    /* Committing the broken inner level carries the mark outwards. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_not_equal(insert_boom(f, agent, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), AD_ESTATE);
    assert_int_equal(episode_rows(f), 0);

    /* Rolling the broken level back clears the mark; the outer work stays. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    make_agent(f, f->tenant, "kept", other);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_not_equal(insert_boom(f, agent, &err), 0);
    ad_store_rollback(f->st);
    make_episode(f, f->tenant, agent, true, NULL, NULL);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(episode_rows(f), 1);
    assert_int_equal(ad_store_agent_get(f->st, f->tenant, agent, &a, &err), 0);
    assert_int_equal(a.episode_count, 1);     /* the failed inserts' counts are gone too */
    ad_agent_release(&a);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "kept", &a, &err), 0);
    ad_agent_release(&a);
}

/* ---- skills written half-way -------------------------------------------- */

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

/* ---- search ------------------------------------------------------------- */

static void search(struct fx *f, const char *tenant, const char *query,
                   struct ad_skill_hit **hits, size_t *n)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_store_skill_search(f->st, tenant, query, 0, hits, n, &err))
        fail_msg("search '%s': %s", query, err.msg);
}

/* ---- transactions ------------------------------------------------------- */

/* Fails a version insert with code 'boom', and a move to a version with code 'bang'. */
static void install_traps(struct fx *f)
{
    sql_exec(f->db.path, "CREATE TRIGGER boom BEFORE INSERT ON skill_versions"
                         " WHEN NEW.code = 'boom' BEGIN SELECT RAISE(ABORT, 'injected'); END;"
                         "CREATE TRIGGER bang BEFORE UPDATE OF current_version_id ON skills"
                         " WHEN (SELECT code FROM skill_versions"
                         " WHERE id = NEW.current_version_id) = 'bang'"
                         " BEGIN SELECT RAISE(ABORT, 'injected'); END;");
}

static int insert_with_code(struct fx *f, const char *name, const char *code,
                            struct ad_err *err)
{
    struct ad_skill s;
    struct ad_skill_version v;

    fill(&s, &v, f->tenant, name, "atomic things");
    v.code = (char *)code;
    return ad_store_skill_insert(f->st, &s, &v, err);
}

static int64_t skills_named(struct fx *f, const char *name)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM skills WHERE name = '%s'", name);
    return sql_int(f->db.path, sql);
}

static void test_insert_is_atomic(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_hit *hits = NULL;
    char sid[AD_ID_SIZE], v1[AD_ID_SIZE], cur[AD_ID_SIZE];
    size_t n = 0;

    install_traps(f);
    /* The skill row was written before its version failed: it is gone again. */
    assert_int_not_equal(insert_with_code(f, "lonely", "boom", &err), 0);
    assert_msg_has(&err, "injected");
    assert_int_equal(skills_named(f, "lonely"), 0);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    search(f, f->tenant, "lonely atomic", &hits, &n);
    assert_int_equal(n, 0);

    /* The version was written before the move to it failed: it is gone again. */
    add_skill(f, f->tenant, "steady", "", NULL, sid, v1);
    assert_int_not_equal(add_version(f, sid, "2.0.0", v1, "bang", true, NULL, &err), 0);
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM skill_versions"
                                         " WHERE semver = '2.0.0'"), 0);
    current_of(f, sid, cur);
    assert_string_equal(cur, v1);

    /* Inside the caller's transaction a failure undoes only its own rows. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(insert_with_code(f, "first", "x = 1\n", &err), 0);
    assert_int_not_equal(insert_with_code(f, "second", "boom", &err), 0);
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    assert_int_not_equal(add_version(f, sid, "3.0.0", v1, "bang", true, NULL, &err), 0);
    assert_int_equal(insert_with_code(f, "third", "x = 3\n", &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(skills_named(f, "first"), 1);
    assert_int_equal(skills_named(f, "second"), 0);
    assert_int_equal(skills_named(f, "third"), 1);
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM skill_versions"), 3);
    search(f, f->tenant, "atomic", &hits, &n);
    assert_int_equal(n, 2);
    ad_skill_hits_free(hits, n);
    assert_int_equal(ad_store_check(f->st, &err), 0);
}

/* ---- transactions SQLite ends by itself --------------------------------- */

/*
 * RAISE(ROLLBACK) in a trigger ends the whole transaction from inside a
 * statement, as SQLite does by itself on out of memory or a full disk: a
 * notification of type "lose" does that here.
 */
static void install_loser(struct fx *f)
{
    sql_exec(f->db.path, "CREATE TRIGGER lose BEFORE INSERT ON notifications"
                         " WHEN NEW.type = 'lose' BEGIN SELECT RAISE(ROLLBACK, 'lost'); END");
}

static int notify(struct fx *f, const char *type, struct ad_err *err)
{
    struct ad_notification n = { 0 };

    ad__copy_fixed(n.tenant_id, sizeof(n.tenant_id), f->tenant);
    n.type = (char *)type;
    n.title = (char *)"t";
    return ad_store_notification_insert(f->st, &n, err);
}

static int64_t notification_rows(struct fx *f)
{
    return sql_int(f->db.path, "SELECT count(*) FROM notifications");
}

static int add_agent(struct fx *f, const char *name, struct ad_err *err)
{
    struct ad_agent a = { 0 };

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)name;
    return ad_store_agent_insert(f->st, &a, err);
}

/* The log lines of one level, counted while a test wants them. */
static struct {
    enum ad_log_level level;
    int n;
    char last[256];
} seen;

static void count_log(void *ctx, enum ad_log_level level, const char *file, int line,
                      const char *msg)
{
    (void)ctx;
    (void)file;
    (void)line;
    if (level != seen.level)
        return;
    seen.n++;
    snprintf(seen.last, sizeof(seen.last), "%s", msg);
}

static void count_log_lines(enum ad_log_level level)
{
    memset(&seen, 0, sizeof(seen));
    seen.level = level;
    ad_log_set_level(AD_LOG_WARN);
    ad_log_set_sink(count_log, NULL);
}

static void stop_counting(void)
{
    ad_log_set_sink(NULL, NULL);
    ad_log_set_level(AD_LOG_ERROR);
}

/*
 * Once SQLite has ended the transaction, nothing more of it runs: no
 * savepoint (it would start a new transaction), no write (it would commit
 * on its own), no commit; each fails with the code of the statement that
 * lost it, and rollbacks only count the levels down.
 */
static void test_lost_transaction_refuses_the_rest(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a;

    install_loser(f);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(add_agent(f, "early", &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(notify(f, "lose", &err), AD_EINVAL);
    assert_msg_has(&err, "lost");
    assert_int_equal(ad_store_tx_depth(f->st), 2);
    assert_true(sqlite3_get_autocommit(ad__sqlite_db(f->st)));

    ad_store_rollback(f->st);
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    assert_int_equal(ad_store_begin(f->st, &err), AD_EINVAL);
    assert_msg_has(&err, "rolled the transaction back");
    assert_int_equal(ad_store_tx_depth(f->st), 1);
    assert_true(sqlite3_get_autocommit(ad__sqlite_db(f->st)));
    assert_int_equal(notify(f, "kept", &err), AD_EINVAL);
    assert_int_equal(add_agent(f, "late", &err), AD_EINVAL);
    assert_int_equal(notification_rows(f), 0);
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM agents"), 0);

    /* The commit fails too, closes its level and clears the condition. */
    assert_int_equal(ad_store_commit(f->st, &err), AD_EINVAL);
    assert_msg_has(&err, "rolled the transaction back");
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_int_equal(ad_store_agent_get_by_name(f->st, f->tenant, "early", &a, &err),
                     AD_ENOTFOUND);

    /* The store goes on as usual, in a transaction and out of one. */
    assert_int_equal(notify(f, "kept", &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(notify(f, "inner", &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(notification_rows(f), 2);
    assert_int_equal(ad_store_check(f->st, &err), 0);
}

/* The outermost rollback clears the condition, whatever the depth it was met at. */
static void test_lost_transaction_unwinds(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;

    install_loser(f);
    /* A write call's own transaction. */
    assert_int_equal(notify(f, "lose", &err), AD_EINVAL);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_int_equal(notify(f, "kept", &err), 0);

    /* Three levels deep: a commit closes its level, rollbacks the others. */
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(notify(f, "outer", &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(notify(f, "lose", &err), AD_EINVAL);
    assert_int_equal(ad_store_commit(f->st, &err), AD_EINVAL);
    assert_int_equal(ad_store_tx_depth(f->st), 2);
    ad_store_rollback(f->st);
    assert_int_equal(ad_store_begin(f->st, &err), AD_EINVAL);
    ad_store_rollback(f->st);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_int_equal(notification_rows(f), 1);

    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(notify(f, "inner", &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(notification_rows(f), 2);
}

/* A bus handler that writes a notification of the type its subscription names. */
static int notify_handler(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct fx *f = ctx;

    return notify(f, strcmp(ev->topic, AD_TOPIC_TASK_FAIL) == 0 ? "lose" : "other", err);
}

static int after_handler(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct fx *f = ctx;

    (void)ev;
    return notify(f, "after", err);
}

/*
 * A handler's write that loses the transaction: the handler's failure is
 * isolated as usual, but its savepoint's rollback cannot bring back the
 * episode, so the next handler's savepoint must not open (it would commit
 * its notification on its own) and the record fails, leaving nothing. The
 * failing handler first and last.
 */
static void test_lost_transaction_in_a_bus_handler(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_bus *bus = NULL;
    struct ad_episode ep;

    install_loser(f);
    for (int last = 0; last < 2; last++) {
        assert_int_equal(ad_bus_new(f->st, &bus, &err), 0);
        if (last)
            assert_int_equal(ad_bus_subscribe(bus, "*", "after", after_handler, f, &err), 0);
        assert_int_equal(ad_bus_subscribe(bus, "*", "loser", notify_handler, f, &err), 0);
        if (!last)
            assert_int_equal(ad_bus_subscribe(bus, "*", "after", after_handler, f, &err), 0);
        ad_episode_init(&ep);
        ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), f->tenant);
        ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), f->agent);
        ep.task_description = (char *)"t";
        assert_int_equal(ad_episode_record(f->st, bus, &ep, &err), AD_EINVAL);
        assert_int_equal(ad_store_tx_depth(f->st), 0);
        assert_int_equal(episode_rows(f), 0);
        assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM events"), 0);
        assert_int_equal(notification_rows(f), 0);

        /* A success goes through both handlers. */
        ep.success = true;
        ep.id[0] = '\0';
        assert_int_equal(ad_episode_record(f->st, bus, &ep, &err), 0);
        assert_int_equal(notification_rows(f), 2);
        sql_exec(f->db.path, "DELETE FROM notifications; DELETE FROM events;"
                             "DELETE FROM episodes; UPDATE agents SET episode_count = 0,"
                             " success_count = 0, failure_count = 0");
        ad_bus_free(bus);
    }
}

/* The outermost rollback needs no memory: its statement is prepared at open. */
static void test_rollback_needs_no_memory(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    sqlite3_int64 limit;

    if (sqlite3_memory_used() <= 0)
        skip();   /* built without memory statistics: no heap limit */
    count_log_lines(AD_LOG_ERROR);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(add_agent(f, "gone", &err), 0);
    /* Every allocation of SQLite's from here on fails. */
    limit = sqlite3_hard_heap_limit64(sqlite3_memory_used());
    ad_store_rollback(f->st);
    sqlite3_hard_heap_limit64(limit);
    stop_counting();
    if (seen.n)
        fail_msg("the rollback failed: %s", seen.last);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
    assert_true(sqlite3_get_autocommit(ad__sqlite_db(f->st)));
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM agents"), 0);
    assert_int_equal(add_agent(f, "kept", &err), 0);
}

/*
 * A transaction SQLite still holds at depth 0, as a rollback that could
 * not run leaves it: the next begin rolls it back first, and says so once.
 */
static void test_begin_ends_a_leftover_transaction(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char sql[256];

    snprintf(sql, sizeof(sql), "BEGIN; INSERT INTO notifications (id, tenant_id, type, title,"
             " created_at) VALUES ('x', '%s', 'stray', 't', '2024-01-01T00:00:00.000Z')",
             f->tenant);
    assert_int_equal(sqlite3_exec(ad__sqlite_db(f->st), sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(ad_store_tx_depth(f->st), 0);

    count_log_lines(AD_LOG_WARN);
    assert_int_equal(ad_store_begin(f->st, &err), 0);
    assert_int_equal(notify(f, "kept", &err), 0);
    assert_int_equal(ad_store_commit(f->st, &err), 0);
    assert_int_equal(notify(f, "kept", &err), 0);
    stop_counting();
    assert_int_equal(seen.n, 1);
    if (!strstr(seen.last, "rolling it back"))
        fail_msg("log line '%s'", seen.last);
    assert_int_equal(notification_rows(f), 2);
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM notifications"
                                         " WHERE type = 'stray'"), 0);
}

/* ---- schema ------------------------------------------------------------- */

static void test_schema_version(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    int cur = 0, latest = 0;

    assert_int_equal(ad_store_schema_version(f->st, &cur, &latest, &err), 0);
    assert_int_equal(latest, 12);   /* the newest migration: 12 made fitness_terms */
    assert_int_equal(cur, 12);
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM sqlite_master"
                                         " WHERE name IN ('skills_fts', 'agent_sessions')"),
                     2);
    /* The conventions of every table (schema_sqlite.c). */
    assert_int_equal(sql_int(f->db.path, "SELECT count(*) FROM pragma_table_info('agent_sessions')"
                                         " WHERE (name = 'tenant_id' AND \"notnull\")"
                                         " OR name = 'created_at'"),
                     2);
}

/* A database left at version 1, with a skill in it, migrates and finds that skill. */
static void test_migration_from_version_1(void **state)
{
    struct ad_store_options o = { 0, 0 };
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_hit *hits = NULL;
    struct tmpdb db;
    char sql[512];
    size_t n = 0;
    int cur = 0, latest = 0;

    (void)state;
    tmpdb_make(&db, "skills-v1");
    sql_exec(db.path, ad__sqlite_migrations[0].sql);
    snprintf(sql, sizeof(sql),
             "PRAGMA application_id = %d; PRAGMA user_version = 1;"
             "INSERT INTO schema_migrations VALUES (1, '2024-01-01T00:00:00.000Z');"
             "INSERT INTO tenants (id, name, created_at, updated_at) VALUES"
             " ('01900000-0000-7000-8000-000000000001', 'old', 'x', 'x');"
             "INSERT INTO skills (id, tenant_id, name, description, entry_function, created_at,"
             " updated_at) VALUES ('01900000-0000-7000-8000-000000000002',"
             " '01900000-0000-7000-8000-000000000001', 'legacy_parser', 'parses ledgers',"
             " 'run', 'x', 'x');",
             AD_SQLITE_APPLICATION_ID);
    sql_exec(db.path, sql);

    assert_int_equal(ad_store_open(db.path, &o, &st, &err), 0);
    assert_int_equal(ad_store_schema_version(st, &cur, &latest, &err), 0);
    assert_int_equal(cur, 12);
    assert_int_equal(ad_store_skill_search(st, "01900000-0000-7000-8000-000000000001",
                                           "ledgers", 0, &hits, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(hits[0].skill.name, "legacy_parser");
    ad_skill_hits_free(hits, n);
    assert_int_equal(ad_store_check(st, &err), 0);
    ad_store_free(st);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM schema_migrations"),
                     (int)ad__sqlite_nmigrations);
    tmpdb_remove(&db);
}

/* ---- settings as stored ------------------------------------------------- */

/* The block lives in tenants.settings under "auto_dev" (settings.c). */
static void test_settings_stored_as_json(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;

    ad_settings_defaults(&s);
    s.enabled = true;
    s.max_mutations_per_day = 42;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), 0);
    reopen(f);
    assert_int_equal(
        sql_int(f->db.path, "SELECT json_extract(settings, '$.auto_dev.max_mutations_per_day')"
                         " FROM tenants WHERE name = 'acme'"),
        42);
}

/* ---- migration 3 -------------------------------------------------------- */

static const char *const old_traces[] = {
    "Traceback (most recent call last):\n  File \"x.py\", line 3, in run\n"
    "ValueError: bad total\n\n",
    "json.decoder.JSONDecodeError: Expecting value: line 1 column 1",
    "the model gave up",
    NULL,
    "KeyError: 'total'\n  at parse_row line 12",
};

/* A database left at version 2 with episodes of every kind of trace. */
static void make_v2_database(const char *path, char ids[][AD_ID_SIZE], size_t n)
{
    char sql[1024], *quoted;
    size_t i;

    sql_exec(path, ad__sqlite_migrations[0].sql);
    sql_exec(path, ad__sqlite_migrations[1].sql);
    snprintf(sql, sizeof(sql),
             "PRAGMA application_id = %d; PRAGMA user_version = 2;"
             "INSERT INTO schema_migrations VALUES (1, '2024-01-01T00:00:00.000Z');"
             "INSERT INTO schema_migrations VALUES (2, '2024-01-02T00:00:00.000Z');"
             "INSERT INTO tenants (id, name, created_at, updated_at) VALUES"
             " ('01900000-0000-7000-8000-000000000001', 'old', 'x', 'x');"
             "INSERT INTO agents (id, tenant_id, name, created_at, updated_at) VALUES"
             " ('01900000-0000-7000-8000-000000000002',"
             " '01900000-0000-7000-8000-000000000001', 'bot', 'x', 'x');",
             AD_SQLITE_APPLICATION_ID);
    sql_exec(path, sql);
    for (i = 0; i < n; i++) {
        snprintf(ids[i], AD_ID_SIZE, "01900000-0000-7000-8000-0000000001%02u", (unsigned)i % 100);
        quoted = sqlite3_mprintf("%Q", old_traces[i]);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO episodes (id, tenant_id, agent_id, task_description, success,"
                 " error_trace, created_at) VALUES ('%s', '01900000-0000-7000-8000-000000000001',"
                 " '01900000-0000-7000-8000-000000000002', 'sum it', 0, %s,"
                 " '2024-01-03T00:00:00.000Z')", ids[i], quoted);
        sqlite3_free(quoted);
        sql_exec(path, sql);
    }
}

/* Existing rows get exactly ad_text_error_type(error_trace); the new table follows the rules. */
static void test_migration_3_backfills_error_type(void **state)
{
    struct ad_store_options o = { 0, 0 };
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    struct tmpdb db;
    char ids[AD_ARRAY_SIZE(old_traces)][AD_ID_SIZE], type[AD_ERROR_TYPE_MAX + 1];
    int cur = 0, latest = 0;
    size_t i;

    (void)state;
    tmpdb_make(&db, "store-v2");
    make_v2_database(db.path, ids, AD_ARRAY_SIZE(old_traces));
    assert_int_equal(ad_store_open(db.path, &o, &st, &err), 0);
    assert_int_equal(ad_store_schema_version(st, &cur, &latest, &err), 0);
    assert_int_equal(cur, 12);
    for (i = 0; i < AD_ARRAY_SIZE(old_traces); i++) {
        assert_int_equal(ad_store_episode_get(st, "01900000-0000-7000-8000-000000000001", ids[i],
                                              &ep, &err), 0);
        if (ad_text_error_type(old_traces[i], type))
            assert_string_equal(ep.error_type, type);
        else
            assert_null(ep.error_type);
        ad_episode_release(&ep);
    }
    assert_int_equal(ad_store_check(st, &err), 0);
    ad_store_free(st);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM episodes WHERE error_type IN"
                                      " ('ValueError', 'json.decoder.JSONDecodeError')"), 2);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM schema_migrations"),
                     (int)ad__sqlite_nmigrations);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM pragma_table_info('failure_patterns')"
                                      " WHERE (name = 'tenant_id' AND \"notnull\")"
                                      " OR name = 'created_at'"), 2);
    tmpdb_remove(&db);
}

/* A memento.generate job queued before migration 3 becomes an open pattern of its failures. */
static void test_migration_3_opens_patterns_of_queued_jobs(void **state)
{
    static const char tenant[] = "01900000-0000-7000-8000-000000000001";
    struct ad_store_options o = { 0, 0 };
    struct ad_pattern_filter pf = { 0 };
    struct ad_failure_pattern *v = NULL;
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct tmpdb db;
    char ids[1][AD_ID_SIZE], sql[1024];
    size_t n = 0;

    (void)state;
    tmpdb_make(&db, "store-v2-jobs");
    make_v2_database(db.path, ids, 1);
    /* One queued with a whole payload, one done, one queued with a damaged payload. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO jobs (id, tenant_id, kind, payload, status, max_attempts, run_after,"
             " created_at, updated_at) VALUES"
             " ('01900000-0000-7000-8000-000000000301', '%s', 'memento.generate',"
             "  '{\"agent_id\": \"01900000-0000-7000-8000-000000000002\", \"task\": \"sum it\","
             "  \"error_type\": \"ValueError\", \"episode_ids\": [\"%s\"], \"previous\": []}',"
             "  'queued', 3, 'x', '2024-01-04T00:00:00.000Z', '2024-01-04T00:00:00.000Z'),"
             " ('01900000-0000-7000-8000-000000000302', '%s', 'memento.generate',"
             "  '{\"agent_id\": \"01900000-0000-7000-8000-000000000002\", \"task\": \"sum it\","
             "  \"episode_ids\": []}', 'done', 3, 'x', 'x', 'x'),"
             " ('01900000-0000-7000-8000-000000000303', '%s', 'memento.generate',"
             "  '{\"task\": 7}', 'queued', 3, 'x', 'x', 'x')",
             tenant, ids[0], tenant, tenant);
    sql_exec(db.path, sql);
    assert_int_equal(ad_store_open(db.path, &o, &st, &err), 0);
    assert_int_equal(ad_store_pattern_list(st, tenant, &pf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].status, AD_PATTERN_OPEN);
    assert_string_equal(v[0].job_id, "01900000-0000-7000-8000-000000000301");
    assert_string_equal(v[0].agent_id, "01900000-0000-7000-8000-000000000002");
    assert_string_equal(v[0].task, "sum it");
    assert_string_equal(v[0].error_type, "ValueError");
    assert_int_equal(json_array_size(v[0].episode_ids), 1);
    assert_true(ad_id_valid(v[0].id));
    ad_failure_pattern_list_free(v, n);
    assert_int_equal(ad_store_check(st, &err), 0);
    ad_store_free(st);
    tmpdb_remove(&db);
}

/* The shell knows nothing of ad_error_type: the schema must not need it. */
static void test_shell_integrity_check(void **state)
{
    struct fx *f = *state;
    char cmd[512], out[256] = "";
    size_t n;
    FILE *p;

    if (system("command -v sqlite3 >/dev/null 2>&1") != 0)
        skip();
    make_agent(f, f->tenant, "bot", f->agent);
    make_episode(f, f->tenant, f->agent, false, "k", NULL);
    ad_store_free(f->st);
    f->st = NULL;
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s' 'PRAGMA integrity_check; PRAGMA foreign_key_check;"
             " SELECT count(*) FROM failure_patterns;'", f->db.path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, "ok\n0\n");
    reopen(f);
}

/* ---- migration 4 -------------------------------------------------------- */

#define V3_TENANT "01900000-0000-7000-8000-000000000001"
#define V3_AGENT "01900000-0000-7000-8000-000000000002"

/*
 * The tables whose JSON columns migration 4 left unchecked, those migration
 * 5 did (the store writes them since), and the ones that keep their checks.
 */
static const char *const unchecked_tables[] = {
    "tenants", "skills", "skill_executions", "skill_candidates", "notifications", "events",
    "jobs", "agent_sessions", "failure_patterns",
};
static const char *const unchecked_since_5[] = {
    "tool_mutations", "workflow_variants",
    "research_sessions", "research_iterations",   /* since 7 */
};

/*
 * A database left at version 3 by migrations 1 to 3 as released, with a
 * row in the JSON columns migration 4 touches.
 */
static void make_v3_database(const char *path)
{
    char ids[1][AD_ID_SIZE];
    sqlite3 *db = NULL;
    char *msg = NULL;

    make_v2_database(path, ids, 1);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(ad__sqlite_schema_functions(db), SQLITE_OK);
    if (sqlite3_exec(db, ad__sqlite_migrations[2].sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db,
                     "INSERT INTO schema_migrations VALUES (3, '2024-01-05T00:00:00.000Z');"
                     "PRAGMA user_version = 3;"
                     "UPDATE tenants SET settings = '{\"auto_dev\": {\"enabled\": true}}';"
                     "INSERT INTO events (id, tenant_id, seq, topic, payload, created_at) VALUES"
                     " ('01900000-0000-7000-8000-000000000401', '" V3_TENANT "', 1, 'task.fail',"
                     "  '{\"episode_id\": \"e-1\"}', '2024-01-05T00:00:00.000Z');"
                     "INSERT INTO notifications (id, tenant_id, type, title, payload, created_at)"
                     " VALUES ('01900000-0000-7000-8000-000000000402', '" V3_TENANT "', 'old',"
                     "  't', '{\"a\": 1}', '2024-01-05T00:00:00.000Z');"
                     "INSERT INTO jobs (id, tenant_id, kind, payload, status, max_attempts,"
                     " run_after, created_at, updated_at) VALUES"
                     " ('01900000-0000-7000-8000-000000000403', '" V3_TENANT "', 'old.kind',"
                     "  '{\"n\": 1}', 'done', 1, 'x', 'x', 'x');"
                     "INSERT INTO agent_sessions (id, tenant_id, agent_id, task, status,"
                     " transcript, state, created_at, updated_at) VALUES"
                     " ('01900000-0000-7000-8000-000000000404', '" V3_TENANT "', '" V3_AGENT "',"
                     "  't', 'done', '[{\"role\": \"user\"}]', '{\"turns\": 1}', 'x', 'x');",
                     NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("version 3 database: %s", msg);
    sqlite3_close(db);
}

/* The CREATE TABLE texts of a database, in name order. */
static char *table_texts(const char *path)
{
    return sql_text(path, "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master"
                          " WHERE type = 'table' ORDER BY name)");
}

static int64_t json_checks_of(const char *path, const char *table)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
             " AND name = '%s' AND sql LIKE '%%json_valid%%'", table);
    return sql_int(path, sql);
}

/*
 * Upgrading a version 3 database: the checks are gone from the tables the
 * store writes and only there, no row is lost, every connection (one of
 * an older binary open across the upgrade too) reads the new schema, and
 * the tables read exactly as those of a database made at version 4.
 */
static void test_migration_4_drops_json_checks(void **state)
{
    static const char raw_insert[] =
        "INSERT INTO notifications (id, tenant_id, type, title, payload, created_at) VALUES"
        " ('raw', '" V3_TENANT "', 'raw', 't', 'not json', 'x')";
    struct fx *f = *state;
    struct ad_store_options o = { 0, 0 };
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_event *evs = NULL;
    struct ad_agent_session sess;
    struct ad_settings set;
    struct ad_job job;
    struct tmpdb db;
    sqlite3 *old = NULL;
    char *fresh, *upgraded;
    size_t i, n = 0;
    int cur = 0, latest = 0;

    tmpdb_make(&db, "store-v3");
    make_v3_database(db.path);
    for (i = 0; i < AD_ARRAY_SIZE(unchecked_tables); i++)
        assert_true(json_checks_of(db.path, unchecked_tables[i]) == 1);
    for (i = 0; i < AD_ARRAY_SIZE(unchecked_since_5); i++)
        assert_true(json_checks_of(db.path, unchecked_since_5[i]) == 1);
    assert_int_equal(sqlite3_open(db.path, &old), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(old, raw_insert, NULL, NULL, NULL), SQLITE_OK);

    assert_int_equal(ad_store_open(db.path, &o, &st, &err), 0);
    assert_int_equal(ad_store_schema_version(st, &cur, &latest, &err), 0);
    assert_int_equal(cur, 12);
    for (i = 0; i < AD_ARRAY_SIZE(unchecked_tables); i++)
        if (json_checks_of(db.path, unchecked_tables[i]) != 0)
            fail_msg("table '%s' still checks its json", unchecked_tables[i]);
    for (i = 0; i < AD_ARRAY_SIZE(unchecked_since_5); i++)
        if (json_checks_of(db.path, unchecked_since_5[i]) != 0)
            fail_msg("table '%s' still checks its json", unchecked_since_5[i]);
    fresh = table_texts(f->db.path);
    upgraded = table_texts(db.path);
    assert_string_equal(upgraded, fresh);
    free(fresh);
    free(upgraded);

    /* The rows are all there and read as before. */
    assert_int_equal(ad_store_event_list(st, V3_TENANT, 0, NULL, 0, &evs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ad_json_str(evs[0].payload, "episode_id"), "e-1");
    ad_event_list_free(evs, n);
    assert_int_equal(ad_store_job_get(st, V3_TENANT, "01900000-0000-7000-8000-000000000403",
                                      &job, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(job.payload, "n")), 1);
    ad_job_release(&job);
    assert_int_equal(ad_store_agent_session_get(st, V3_TENANT,
                                                "01900000-0000-7000-8000-000000000404", &sess,
                                                &err), 0);
    assert_int_equal(json_array_size(sess.transcript), 1);
    ad_agent_session_release(&sess);
    assert_int_equal(ad_settings_get(st, V3_TENANT, &set, &err), 0);
    assert_true(set.enabled);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM notifications"), 1);

    /* This connection and the older one both read the schema again. */
    assert_int_equal(sqlite3_exec(ad__sqlite_db(st), raw_insert, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(old, "DELETE FROM notifications WHERE id = 'raw';", NULL,
                                  NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(old, raw_insert, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(old, "DELETE FROM notifications WHERE id = 'raw';", NULL,
                                  NULL, NULL), SQLITE_OK);
    sqlite3_close(old);

    assert_int_equal(ad_store_check(st, &err), 0);
    ad_store_free(st);
    assert_int_equal(ad_store_open(db.path, &o, &st, &err), 0);
    ad_store_free(st);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM schema_migrations"),
                     (int)ad__sqlite_nmigrations);
    assert_int_equal(sql_int(db.path, "PRAGMA user_version"), 12);
    tmpdb_remove(&db);
}

/* ---- migration 5 -------------------------------------------------------- */

#define V4_MUTATION "01900000-0000-7000-8000-000000000501"
#define V4_VARIANT "01900000-0000-7000-8000-000000000502"

/* A version 4 database with a mutation and a variant as the old tables held them. */
static void make_v4_database(const char *path)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    make_v3_database(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, ad__sqlite_migrations[3].sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db,
                     "INSERT INTO schema_migrations VALUES (4, '2024-01-06T00:00:00.000Z');"
                     "PRAGMA user_version = 4;"
                     "INSERT INTO tool_mutations (id, tenant_id, tool_name, mutated_code,"
                     " sandbox_status, mutation_operator, proxy_signals, risk_score,"
                     " created_at) VALUES ('" V4_MUTATION "', '" V3_TENANT "', 'sum_list',"
                     " 'def f(x):\n    return x\n', 'passed', 'number', '{\"ok\": true}',"
                     " 0.25, '2024-01-06T00:00:00.000Z');"
                     "INSERT INTO workflow_variants (id, tenant_id, tool_mutation_id,"
                     " workflow_definition, fitness_score, evaluation_status, created_at)"
                     " VALUES ('" V4_VARIANT "', '" V3_TENANT "', '" V4_MUTATION "',"
                     " '{\"steps\": []}', 0.5, 'evaluated', '2024-01-06T00:00:00.000Z');",
                     NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("version 4 database: %s", msg);
    sqlite3_close(db);
}

/*
 * Upgrading a version 4 database: the old rows read with the new fields
 * empty, the new columns take values, a job's mutant index is unique, the
 * two tables' json checks are gone, and the result reads like a database
 * made at version 5.
 */
static void test_migration_5_adds_alpha_columns(void **state)
{
    struct fx *f = *state;
    struct ad_store_options o = { 0, 0 };
    struct ad_store *st = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_tool_mutation m, again;
    struct ad_workflow_variant v;
    struct tmpdb db;
    char *fresh, *upgraded;
    int cur = 0, latest = 0;

    tmpdb_make(&db, "store-v4");
    make_v4_database(db.path);
    assert_true(json_checks_of(db.path, "tool_mutations") == 1);
    assert_int_equal(ad_store_open(db.path, &o, &st, &err), 0);
    assert_int_equal(ad_store_schema_version(st, &cur, &latest, &err), 0);
    assert_int_equal(cur, 12);
    assert_int_equal(json_checks_of(db.path, "tool_mutations"), 0);
    assert_int_equal(json_checks_of(db.path, "workflow_variants"), 0);
    fresh = table_texts(f->db.path);
    upgraded = table_texts(db.path);
    assert_string_equal(upgraded, fresh);
    free(fresh);
    free(upgraded);

    assert_int_equal(ad_store_mutation_get(st, V3_TENANT, V4_MUTATION, &m, &err), 0);
    assert_string_equal(m.tool_name, "sum_list");
    assert_int_equal(m.status, AD_MSTAT_PASSED);
    assert_string_equal(m.mutation_operator, "number");
    assert_true(json_is_true(json_object_get(m.proxy_signals, "ok")));
    assert_int_equal(m.decision, AD_DECISION_NONE);
    assert_true(isnan(m.fitness_delta));
    assert_true(m.risk_score == 0.25);
    assert_string_equal(m.job_id, "");
    assert_null(m.trigger);
    assert_null(m.risk);
    assert_string_equal(m.evaluated_at, "");
    assert_int_equal(ad_store_variant_get(st, V3_TENANT, V4_VARIANT, &v, &err), 0);
    assert_true(v.fitness_score == 0.5);
    assert_string_equal(v.tool_mutation_id, V4_MUTATION);
    assert_string_equal(v.skill_version_id, "");
    ad_workflow_variant_release(&v);

    /* The new columns take values; a job's mutant index is taken once. */
    ad_tool_mutation_release(&m);
    ad_tool_mutation_init(&m);
    ad__copy_fixed(m.tenant_id, sizeof(m.tenant_id), V3_TENANT);
    ad__copy_fixed(m.parent_tool_id, sizeof(m.parent_tool_id), V4_MUTATION);
    ad__copy_fixed(m.job_id, sizeof(m.job_id), "01900000-0000-7000-8000-000000000403");
    m.tool_name = (char *)"sum_list";
    m.mutated_code = (char *)"def f(x):\n    return x + 0\n";
    m.mutant_index = 2;
    m.trigger = (char *)"latency";
    m.decision = AD_DECISION_WON;
    assert_int_equal(ad_store_mutation_insert(st, &m, 0, &err), 0);
    assert_int_equal(ad_store_mutation_get(st, V3_TENANT, m.id, &again, &err), 0);
    assert_int_equal(again.mutant_index, 2);
    assert_string_equal(again.trigger, "latency");
    assert_int_equal(again.decision, AD_DECISION_WON);
    ad_tool_mutation_release(&again);
    assert_int_equal(ad_store_mutation_insert(st, &m, 0, &err), AD_EEXIST);
    assert_int_equal(sql_int(db.path, "SELECT count(*) FROM sqlite_master"
                                      " WHERE name = 'ix_tool_mutations_job'"), 1);
    assert_int_equal(ad_store_check(st, &err), 0);
    ad_store_free(st);
    tmpdb_remove(&db);
}

/* ---- query plans of the new reads --------------------------------------- */

static int plan_searches(const char *plan, const char *index)
{
    return strstr(plan, "SEARCH") && strstr(plan, index) && !strstr(plan, "TEMP B-TREE") &&
           !strstr(plan, "SCAN");
}

static void test_recent_failures_reads_an_index(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char *plan = NULL;
    int i;

    for (i = 0; i < 50; i++)
        make_episode(f, f->tenant, f->agent, i % 10 != 0, "k", NULL);
    assert_int_equal(ad__sqlite_explain_recent_failures(f->st, &plan, &err), 0);
    if (!plan_searches(plan, "ix_episodes_agent_success") || !strstr(plan, "id>?"))
        fail_msg("recent failures plan: %s", plan);
    free(plan);
}

static void test_pattern_list_reads_an_index(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_pattern_filter flt = { NULL, 0, 0 };
    char *plan = NULL;

    assert_int_equal(ad__sqlite_explain_pattern_list(f->st, &flt, &plan, &err), 0);
    if (!plan_searches(plan, "ix_failure_patterns_tenant"))
        fail_msg("tenant plan: %s", plan);
    free(plan);
    flt.agent_id = f->agent;
    flt.status_mask = 1u << AD_PATTERN_OPEN;
    assert_int_equal(ad__sqlite_explain_pattern_list(f->st, &flt, &plan, &err), 0);
    if (!plan_searches(plan, "ix_failure_patterns_agent"))
        fail_msg("open patterns of an agent: %s", plan);
    free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
#define TA(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agent, fx_teardown)
        T(test_migrations_create_all_tables),
        T(test_open_missing_file),
        T(test_garbage_file_is_refused),
        T(test_foreign_database_is_refused),
        T(test_newer_schema_is_refused),
        cmocka_unit_test(test_memory_store),
        T(test_locked_database_is_busy),
        T(test_recent_failures_plan),
        T(test_job_claim_plan),
        T(test_half_written_episode_cannot_commit),
        T(test_settings_stored_as_json),
        TA(test_insert_is_atomic),
        T(test_lost_transaction_refuses_the_rest),
        T(test_lost_transaction_unwinds),
        TA(test_lost_transaction_in_a_bus_handler),
        T(test_rollback_needs_no_memory),
        T(test_begin_ends_a_leftover_transaction),
        TA(test_schema_version),
        cmocka_unit_test(test_migration_from_version_1),
        cmocka_unit_test(test_migration_3_backfills_error_type),
        cmocka_unit_test(test_migration_3_opens_patterns_of_queued_jobs),
        T(test_shell_integrity_check),
        T(test_migration_4_drops_json_checks),
        T(test_migration_5_adds_alpha_columns),
        TA(test_recent_failures_reads_an_index),
        TA(test_pattern_list_reads_an_index),
#undef TA
#undef T
    };

    /* Tests provoke logged warnings on purpose (a stray rollback). */
    ad_log_set_level(AD_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
