/*
 * The libpq table (pq_api.h); its soname comes from the build
 * (AD_LIBPQ_SONAME, read off the library meson found).
 */
#include "compat.h"

#include "autodev/dynlib.h"

#include "pq_api.h"

struct ad__pq_api ad__pq;

static const struct ad_dynlib_sym pq_syms[] = {
    AD_DYNLIB_SYM(struct ad__pq_api, PQconnectdb),
    AD_DYNLIB_SYM(struct ad__pq_api, PQfinish),
    AD_DYNLIB_SYM(struct ad__pq_api, PQstatus),
    AD_DYNLIB_SYM(struct ad__pq_api, PQerrorMessage),
    AD_DYNLIB_SYM(struct ad__pq_api, PQexec),
    AD_DYNLIB_SYM(struct ad__pq_api, PQexecParams),
    AD_DYNLIB_SYM(struct ad__pq_api, PQprepare),
    AD_DYNLIB_SYM(struct ad__pq_api, PQexecPrepared),
    AD_DYNLIB_SYM(struct ad__pq_api, PQresultStatus),
    AD_DYNLIB_SYM(struct ad__pq_api, PQresultErrorMessage),
    AD_DYNLIB_SYM(struct ad__pq_api, PQresultErrorField),
    AD_DYNLIB_SYM(struct ad__pq_api, PQclear),
    AD_DYNLIB_SYM(struct ad__pq_api, PQntuples),
    AD_DYNLIB_SYM(struct ad__pq_api, PQnfields),
    AD_DYNLIB_SYM(struct ad__pq_api, PQfname),
    AD_DYNLIB_SYM(struct ad__pq_api, PQftype),
    AD_DYNLIB_SYM(struct ad__pq_api, PQgetvalue),
    AD_DYNLIB_SYM(struct ad__pq_api, PQgetisnull),
    AD_DYNLIB_SYM(struct ad__pq_api, PQgetlength),
    AD_DYNLIB_SYM(struct ad__pq_api, PQcmdTuples),
    AD_DYNLIB_SYM(struct ad__pq_api, PQtransactionStatus),
    AD_DYNLIB_SYM(struct ad__pq_api, PQdb),
    AD_DYNLIB_SYM(struct ad__pq_api, PQsocket),
    AD_DYNLIB_SYM(struct ad__pq_api, PQconsumeInput),
    AD_DYNLIB_SYM(struct ad__pq_api, PQnotifies),
    AD_DYNLIB_SYM(struct ad__pq_api, PQfreemem),
    AD_DYNLIB_SYM(struct ad__pq_api, PQescapeLiteral),
    AD_DYNLIB_SYM(struct ad__pq_api, PQescapeIdentifier),
    AD_DYNLIB_SYM(struct ad__pq_api, PQputCopyData),
    AD_DYNLIB_SYM(struct ad__pq_api, PQputCopyEnd),
    AD_DYNLIB_SYM(struct ad__pq_api, PQgetCopyData),
    AD_DYNLIB_SYM(struct ad__pq_api, PQgetResult),
    AD_DYNLIB_SYM(struct ad__pq_api, PQsetNoticeProcessor),
    AD_DYNLIB_SYM(struct ad__pq_api, PQserverVersion),
    AD_DYNLIB_SYM(struct ad__pq_api, PQparameterStatus),
    AD_DYNLIB_SYM(struct ad__pq_api, PQescapeByteaConn),
    AD_DYNLIB_SYM(struct ad__pq_api, PQunescapeBytea),
    AD_DYNLIB_SYM(struct ad__pq_api, PQcmdStatus),
    AD_DYNLIB_SYM(struct ad__pq_api, PQconnectPoll),
    AD_DYNLIB_SYM(struct ad__pq_api, PQconnectStart),
};

static struct ad_dynlib pq_lib = {
    .what = "libpq (for a postgres:// store)",
    .soname = AD_LIBPQ_SONAME,
    .package = "libpq5",
    .syms = pq_syms,
    .nsyms = sizeof(pq_syms) / sizeof(pq_syms[0]),
    .table = &ad__pq,
};

int ad__pq_load(struct ad_err *err)
{
    return ad_dynlib_load(&pq_lib, err);
}
