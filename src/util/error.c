#include "compat.h"

#include "autodev/error.h"

const char *ad_strerror(int code)
{
    switch (code) {
    case AD_OK: return "success";
    case AD_EINVAL: return "invalid input";
    case AD_ENOMEM: return "out of memory";
    case AD_ETOOBIG: return "too big";
    case AD_ENOTFOUND: return "not found";
    case AD_EEXIST: return "already exists";
    case AD_EBUSY: return "database is locked";
    case AD_EIO: return "i/o error";
    case AD_ECORRUPT: return "corrupt or foreign database";
    case AD_ESTATE: return "wrong state";
    case AD_ELIMIT: return "limit reached";
    case AD_EPERM: return "not permitted";
    case AD_ETIMEOUT: return "timed out";
    case AD_EINTERNAL: return "internal error";
    case AD_ENOTSUP: return "not supported";
    case AD_ECONFLICT: return "conflict";
    default: return "unknown error";
    }
}

int ad_error(struct ad_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int ad_error_prefix(struct ad_err *err, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof(err->msg)];
    va_list ap;

    if (!err)
        return AD_EINTERNAL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* A message that no longer fits is cut at the end, which is the least useful part. */
    if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix,
                 old[0] ? old : ad_strerror(err->code)) >= (int)sizeof(err->msg))
        err->msg[sizeof(err->msg) - 1] = '\0';
    return err->code;
}

void ad_err_clear(struct ad_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}
