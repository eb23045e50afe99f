/*
 * The store's conformance suite: what every backend must do, asserted
 * through the public API of autodev/store.h alone. It runs against the
 * backend named by the environment:
 *
 *   AUTODEV_TEST_STORE=sqlite            (the default) fresh files under /tmp
 *   AUTODEV_TEST_STORE=sqlite:/some/dir  fresh files under /some/dir
 *   AUTODEV_TEST_STORE=postgresql://...  a schema of its own per test (test_store_pg_a_suite)
 *
 * Each test gets a fresh, empty store from the backend table in
 * store_suite.c, keyed by the URI's scheme: make a new store URI, drop it
 * afterwards, and run one plain SQL statement on it (the few assertions
 * that count rows directly use portable SQL). Adding a backend is one entry
 * there; no test changes. SQLite-only tests (query plans, foreign files,
 * fault injection with triggers) are in test_store_sqlite.c.
 */
#ifndef AD_TEST_STORE_SUITE_H
#define AD_TEST_STORE_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include "autodev/store.h"

#define SUITE_URI_MAX 512

/* One backend the suite can run against. */
struct suite_backend {
    const char *scheme;
    /* A new, empty store's URI under base (the environment's value). 0 or -1. */
    int (*make)(const char *base, char *uri, size_t size);
    /* Removes everything make created. */
    void (*drop)(const char *uri);
    /* The first column of the first row of sql, as an integer; -1 when none. */
    int64_t (*query_int)(const char *uri, const char *sql);
    /* Runs sql (statements without results); 0 or -1. */
    int (*exec)(const char *uri, const char *sql);
};

#ifdef AD_SUITE_PG
/*
 * The "postgresql" (and "postgres") entry, in test_store_pg_a_suite.c: base
 * is the owner's URL; each store is a schema of its own in that database
 * (the URI's options set search_path), dropped afterwards.
 */
int suite_pg_make(const char *base, char *uri, size_t size);
void suite_pg_drop(const char *uri);
int64_t suite_pg_query_int(const char *uri, const char *sql);
int suite_pg_exec(const char *uri, const char *sql);
#endif

/* The backend AUTODEV_TEST_STORE names (NULL for an unknown scheme: main fails). */
const struct suite_backend *suite_backend(void);
const char *suite_base(void);

struct fx {
    char uri[SUITE_URI_MAX];
    struct ad_store *st;
    char tenant[AD_ID_SIZE];
    char other[AD_ID_SIZE];         /* a second tenant, for isolation */
    char agent[AD_ID_SIZE];         /* tenant's "bot" (fx_setup_agent and _agents) */
    char other_agent[AD_ID_SIZE];   /* other's "spy" (fx_setup_agents) */
};

/*
 * Fixtures: a fresh store with tenants "acme" (tenant) and "globex"
 * (other); _agent adds tenant's agent "bot", _agents also other's "spy".
 */
int fx_setup(void **state);
int fx_setup_agent(void **state);
int fx_setup_agents(void **state);
int fx_teardown(void **state);

/* Opens f->uri again, or a second handle on it. */
int suite_open(const struct fx *f, int flags, int busy_timeout_ms, struct ad_store **st,
               struct ad_err *err);

/* Row counts and writes behind the API's back, in portable SQL. */
int64_t sql_int(const struct fx *f, const char *sql);
void sql_exec(const struct fx *f, const char *sql);

void assert_msg_has(const struct ad_err *err, const char *substr);

/* The groups, one per file: store_conf_<group>.c (include <cmocka.h> first). */
extern const struct CMUnitTest suite_core[], suite_skills[], suite_learn[], suite_patterns[],
    suite_alpha[], suite_terms[];
extern const size_t suite_ncore, suite_nskills, suite_nlearn, suite_npatterns, suite_nalpha,
    suite_nterms;

#endif
