/*
 * libpq, loaded on first use (autodev/dynlib.h): the PostgreSQL backend
 * calls libpq's functions by their own names and prototypes, through the
 * table below, once ad__pq_load() has loaded the library (connect_once()
 * does, before anything else here runs). The binary does not link libpq,
 * so a process that never opens a postgres:// store never loads it.
 *
 * A libpq function the backend starts to use is added here, once: the
 * member, the #define and the entry in pq_api.c.
 */
#ifndef AD_STORE_PG_PQ_API_H
#define AD_STORE_PG_PQ_API_H

#include <libpq-fe.h>

#include "autodev/error.h"

struct ad__pq_api {
    __typeof__(PQconnectdb) *f_PQconnectdb;
    __typeof__(PQfinish) *f_PQfinish;
    __typeof__(PQstatus) *f_PQstatus;
    __typeof__(PQerrorMessage) *f_PQerrorMessage;
    __typeof__(PQexec) *f_PQexec;
    __typeof__(PQexecParams) *f_PQexecParams;
    __typeof__(PQprepare) *f_PQprepare;
    __typeof__(PQexecPrepared) *f_PQexecPrepared;
    __typeof__(PQresultStatus) *f_PQresultStatus;
    __typeof__(PQresultErrorMessage) *f_PQresultErrorMessage;
    __typeof__(PQresultErrorField) *f_PQresultErrorField;
    __typeof__(PQclear) *f_PQclear;
    __typeof__(PQntuples) *f_PQntuples;
    __typeof__(PQnfields) *f_PQnfields;
    __typeof__(PQfname) *f_PQfname;
    __typeof__(PQftype) *f_PQftype;
    __typeof__(PQgetvalue) *f_PQgetvalue;
    __typeof__(PQgetisnull) *f_PQgetisnull;
    __typeof__(PQgetlength) *f_PQgetlength;
    __typeof__(PQcmdTuples) *f_PQcmdTuples;
    __typeof__(PQtransactionStatus) *f_PQtransactionStatus;
    __typeof__(PQdb) *f_PQdb;
    __typeof__(PQsocket) *f_PQsocket;
    __typeof__(PQconsumeInput) *f_PQconsumeInput;
    __typeof__(PQnotifies) *f_PQnotifies;
    __typeof__(PQfreemem) *f_PQfreemem;
    __typeof__(PQescapeLiteral) *f_PQescapeLiteral;
    __typeof__(PQescapeIdentifier) *f_PQescapeIdentifier;
    __typeof__(PQputCopyData) *f_PQputCopyData;
    __typeof__(PQputCopyEnd) *f_PQputCopyEnd;
    __typeof__(PQgetCopyData) *f_PQgetCopyData;
    __typeof__(PQgetResult) *f_PQgetResult;
    __typeof__(PQsetNoticeProcessor) *f_PQsetNoticeProcessor;
    __typeof__(PQserverVersion) *f_PQserverVersion;
    __typeof__(PQparameterStatus) *f_PQparameterStatus;
    __typeof__(PQescapeByteaConn) *f_PQescapeByteaConn;
    __typeof__(PQunescapeBytea) *f_PQunescapeBytea;
    __typeof__(PQcmdStatus) *f_PQcmdStatus;
    __typeof__(PQconnectPoll) *f_PQconnectPoll;
    __typeof__(PQconnectStart) *f_PQconnectStart;
};
extern struct ad__pq_api ad__pq;

/* Loads libpq; 0, or AD_EIO saying what is missing. */
int ad__pq_load(struct ad_err *err);

#define PQconnectdb ad__pq.f_PQconnectdb
#define PQfinish ad__pq.f_PQfinish
#define PQstatus ad__pq.f_PQstatus
#define PQerrorMessage ad__pq.f_PQerrorMessage
#define PQexec ad__pq.f_PQexec
#define PQexecParams ad__pq.f_PQexecParams
#define PQprepare ad__pq.f_PQprepare
#define PQexecPrepared ad__pq.f_PQexecPrepared
#define PQresultStatus ad__pq.f_PQresultStatus
#define PQresultErrorMessage ad__pq.f_PQresultErrorMessage
#define PQresultErrorField ad__pq.f_PQresultErrorField
#define PQclear ad__pq.f_PQclear
#define PQntuples ad__pq.f_PQntuples
#define PQnfields ad__pq.f_PQnfields
#define PQfname ad__pq.f_PQfname
#define PQftype ad__pq.f_PQftype
#define PQgetvalue ad__pq.f_PQgetvalue
#define PQgetisnull ad__pq.f_PQgetisnull
#define PQgetlength ad__pq.f_PQgetlength
#define PQcmdTuples ad__pq.f_PQcmdTuples
#define PQtransactionStatus ad__pq.f_PQtransactionStatus
#define PQdb ad__pq.f_PQdb
#define PQsocket ad__pq.f_PQsocket
#define PQconsumeInput ad__pq.f_PQconsumeInput
#define PQnotifies ad__pq.f_PQnotifies
#define PQfreemem ad__pq.f_PQfreemem
#define PQescapeLiteral ad__pq.f_PQescapeLiteral
#define PQescapeIdentifier ad__pq.f_PQescapeIdentifier
#define PQputCopyData ad__pq.f_PQputCopyData
#define PQputCopyEnd ad__pq.f_PQputCopyEnd
#define PQgetCopyData ad__pq.f_PQgetCopyData
#define PQgetResult ad__pq.f_PQgetResult
#define PQsetNoticeProcessor ad__pq.f_PQsetNoticeProcessor
#define PQserverVersion ad__pq.f_PQserverVersion
#define PQparameterStatus ad__pq.f_PQparameterStatus
#define PQescapeByteaConn ad__pq.f_PQescapeByteaConn
#define PQunescapeBytea ad__pq.f_PQunescapeBytea
#define PQcmdStatus ad__pq.f_PQcmdStatus
#define PQconnectPoll ad__pq.f_PQconnectPoll
#define PQconnectStart ad__pq.f_PQconnectStart

#endif
