/*
 * Helpers of the PostgreSQL unit tests (test_store_pg*.c): raw libpq on
 * the cluster tests/pg/pg-start makes, and stores on a schema of their own.
 * Each fails the running cmocka test on an error.
 */
#ifndef AD_TEST_PG_TEST_H
#define AD_TEST_PG_TEST_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "autodev/store.h"

/* getenv(name) when set and not empty, else NULL. */
const char *env(const char *name);
/* A connection to url with notices silenced. */
PGconn *raw_connect(const char *url);
/* A statement that must succeed; its rows, if any, are dropped. */
void raw_exec(PGconn *c, const char *sql);
/* The one integer a query answers. */
int64_t raw_int(PGconn *c, const char *sql);
/* base with the search_path set to schema, as a connection option. */
void make_uri(char *out, size_t size, const char *base, const char *schema);
/* ad_store_open with AD_STORE_CREATE. */
int open_store(const char *uri, struct ad_store **st, struct ad_err *err);

#endif
