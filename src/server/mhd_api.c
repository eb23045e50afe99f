/*
 * The libmicrohttpd table (mhd_api.h); its soname comes from the build
 * (AD_LIBMHD_SONAME, read off the library meson found).
 */
#include "compat.h"

#include "autodev/dynlib.h"

#include "mhd_api.h"

struct ad__mhd_api ad__mhd;

static const struct ad_dynlib_sym mhd_syms[] = {
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_start_daemon),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_stop_daemon),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_quiesce_daemon),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_get_daemon_info),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_get_connection_info),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_get_connection_values),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_lookup_connection_value),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_suspend_connection),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_resume_connection),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_create_response_from_buffer),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_create_response_from_callback),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_add_response_header),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_queue_response),
    AD_DYNLIB_SYM(struct ad__mhd_api, MHD_destroy_response),
};

static struct ad_dynlib mhd_lib = {
    .what = "libmicrohttpd (for autodev serve)",
    .soname = AD_LIBMHD_SONAME,
    .package = "libmicrohttpd12",
    .syms = mhd_syms,
    .nsyms = sizeof(mhd_syms) / sizeof(mhd_syms[0]),
    .table = &ad__mhd,
};

int ad__mhd_load(struct ad_err *err)
{
    return ad_dynlib_load(&mhd_lib, err);
}
