/*
 * Error codes and the error detail a caller passes down.
 *
 * Every library function returns int: 0 on success, a negative AD_E* code on
 * failure. When the caller passes a struct ad_err, the function also writes a
 * one-line, lower-case message naming the subject ("unknown agent 'bob'").
 * The library never prints and never exits.
 */
#ifndef AUTODEV_ERROR_H
#define AUTODEV_ERROR_H

#include <stddef.h>

enum ad_errcode {
    AD_OK = 0,
    AD_EINVAL = -1,      /* invalid input: bad JSON, wrong type, out of range */
    AD_ENOMEM = -2,      /* allocation failed */
    AD_ETOOBIG = -3,     /* a size cap was reached; nothing was truncated */
    AD_ENOTFOUND = -4,   /* no such row / item */
    AD_EEXIST = -5,      /* unique name or key already taken */
    AD_EBUSY = -6,       /* database locked past the busy timeout */
    AD_EIO = -7,         /* I/O or database engine failure */
    AD_ECORRUPT = -8,    /* corrupt or foreign database file */
    AD_ESTATE = -9,      /* operation not valid in the row's current state */
    AD_ELIMIT = -10,     /* a daily or quota limit was reached */
    AD_EPERM = -11,      /* a gate refused the operation */
    AD_ETIMEOUT = -12,   /* a deadline passed */
    AD_EINTERNAL = -13,  /* a bug: an invariant did not hold */
    AD_ENOTSUP = -14,    /* not supported by this backend or build */
    AD_ECONFLICT = -15,  /* what the operation was made from has changed since */
};

/* Detail for the caller. Embedded by value; no release needed. */
struct ad_err {
    int code;           /* one of enum ad_errcode; 0 when clear */
    char msg[512];      /* NUL-terminated, may be empty */
};

#define AD_ERR_INIT { 0, { 0 } }

/* Static, never NULL, e.g. "invalid input" for AD_EINVAL. */
const char *ad_strerror(int code);

/*
 * Record code and a printf-style message into err (err may be NULL) and
 * return code, so the idiom is: return ad_error(err, AD_EINVAL, "...", ...);
 */
int ad_error(struct ad_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "prefix: ", keeping the code. Returns err->code. */
int ad_error_prefix(struct ad_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ad_err_clear(struct ad_err *err);

#endif
