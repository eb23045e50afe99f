/*
 * The libcurl table (libcurl.h): its soname comes from the build
 * (AD_LIBCURL_SONAME, read off the library meson found).
 */
#include "compat.h"

#include "autodev/dynlib.h"
#include "autodev/libcurl.h"

struct ad_curl_api ad_curl;

static const struct ad_dynlib_sym curl_syms[] = {
    AD_DYNLIB_SYM(struct ad_curl_api, curl_easy_init),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_easy_setopt),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_easy_perform),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_easy_getinfo),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_easy_cleanup),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_easy_strerror),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_slist_append),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_slist_free_all),
    AD_DYNLIB_SYM(struct ad_curl_api, curl_global_init),
};

static int curl_init(struct ad_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ad_error(err, AD_EIO, "libcurl failed to initialise");
    return 0;
}

static struct ad_dynlib curl_lib = {
    .what = "libcurl",
    .soname = AD_LIBCURL_SONAME,
    .package = "libcurl4",
    .syms = curl_syms,
    .nsyms = sizeof(curl_syms) / sizeof(curl_syms[0]),
    .table = &ad_curl,
    .init = curl_init,
};

int ad_curl_load(struct ad_err *err)
{
    return ad_dynlib_load(&curl_lib, err);
}
