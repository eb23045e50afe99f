/* Helpers of the PostgreSQL unit tests (pg_test.h). */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pg_test.h"

const char *env(const char *name)
{
    const char *v = getenv(name);

    return v && v[0] ? v : NULL;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

PGconn *raw_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);

    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

void raw_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

int64_t raw_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int64_t v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

void make_uri(char *out, size_t size, const char *base, const char *schema)
{
    assert_true((size_t)snprintf(out, size, "%s%coptions=-csearch_path%%3D%s", base,
                                 strchr(base, '?') ? '&' : '?', schema) < size);
}

int open_store(const char *uri, struct ad_store **st, struct ad_err *err)
{
    struct ad_store_options o = { AD_STORE_CREATE, 0 };

    return ad_store_open(uri, &o, st, err);
}
