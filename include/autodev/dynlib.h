/*
 * Shared libraries loaded on first use.
 *
 * libcurl, libpq and libmicrohttpd bring most of the process's start-up
 * cost with them (their closure is some thirty libraries: GnuTLS, Kerberos,
 * LDAP, SSH, ...), yet most commands never make an HTTP request, open a
 * PostgreSQL store or serve. So the modules that use them (llm and hooks,
 * store/pg, server) do not link them: each declares a table of the
 * functions it calls, and loads the library by its soname (read off the
 * library at build time) the first time it needs one.
 *
 * A table is a struct of typed function pointers (declared with the
 * library's own header, so every call is type-checked as before) and a
 * list of { symbol, offset } pairs. ad_dynlib_load() resolves every symbol
 * or fails as a whole, once per process; later calls return the first
 * answer at the cost of one atomic load.
 *
 * Thread safety: any thread may call ad_dynlib_load(); the first caller
 * loads while the others wait.
 */
#ifndef AUTODEV_DYNLIB_H
#define AUTODEV_DYNLIB_H

#include <stddef.h>

#include "autodev/error.h"

struct ad_dynlib_sym {
    const char *name;       /* the library's symbol */
    size_t offset;          /* of its pointer in the table */
};

struct ad_dynlib {
    const char *what;       /* for messages: "libcurl" */
    const char *soname;     /* the file to load: "libcurl.so.4" */
    const char *package;    /* the Debian package that has it, for the hint */
    const struct ad_dynlib_sym *syms;
    size_t nsyms;
    void *table;            /* the struct the offsets point into */
    /* Called once after every symbol resolved (curl_global_init, say); 0 or AD_E*. */
    int (*init)(struct ad_err *err);
    /* State, zero-initialised: */
    int state;              /* 0 not tried, 1 loaded, < 0 the failure's code */
    char why[320];          /* the failure's message */
};

/*
 * One entry of a table whose members are named f_<symbol>:
 * AD_DYNLIB_SYM(struct my_api, PQexec) is { "PQexec", offsetof(struct my_api, f_PQexec) }.
 * (# and ## keep a name that a header has made a macro from being expanded.)
 */
#define AD_DYNLIB_SYM(type, sym) { #sym, offsetof(type, f_##sym) }

/* Loads lib on the first call; 0, or the first call's error on every call. */
int ad_dynlib_load(struct ad_dynlib *lib, struct ad_err *err);

#endif
