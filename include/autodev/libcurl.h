/*
 * libcurl, loaded on first use (dynlib.h): the modules that make HTTP
 * requests (llm, hooks) include this instead of <curl/curl.h> alone and
 * call ad_curl_load() before their first curl call; the names below then
 * call through the loaded table, with libcurl's own prototypes.
 *
 * libcurl's compile-time type checks of curl_easy_setopt() (a GCC macro
 * over the function) are given up for the indirection: every option's
 * value is still passed as the prototype's varargs, as before.
 */
#ifndef AUTODEV_LIBCURL_H
#define AUTODEV_LIBCURL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "autodev/error.h"

struct ad_curl_api {
    __typeof__(curl_easy_init) *f_curl_easy_init;
    __typeof__(curl_easy_setopt) *f_curl_easy_setopt;
    __typeof__(curl_easy_perform) *f_curl_easy_perform;
    __typeof__(curl_easy_getinfo) *f_curl_easy_getinfo;
    __typeof__(curl_easy_cleanup) *f_curl_easy_cleanup;
    __typeof__(curl_easy_strerror) *f_curl_easy_strerror;
    __typeof__(curl_slist_append) *f_curl_slist_append;
    __typeof__(curl_slist_free_all) *f_curl_slist_free_all;
    __typeof__(curl_global_init) *f_curl_global_init;
};
extern struct ad_curl_api ad_curl;

/* Loads libcurl and runs curl_global_init() once; 0, or AD_EIO saying what is missing. */
int ad_curl_load(struct ad_err *err);

/* curl.h defines these two as macros of themselves. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init ad_curl.f_curl_easy_init
#define curl_easy_setopt ad_curl.f_curl_easy_setopt
#define curl_easy_perform ad_curl.f_curl_easy_perform
#define curl_easy_getinfo ad_curl.f_curl_easy_getinfo
#define curl_easy_cleanup ad_curl.f_curl_easy_cleanup
#define curl_easy_strerror ad_curl.f_curl_easy_strerror
#define curl_slist_append ad_curl.f_curl_slist_append
#define curl_slist_free_all ad_curl.f_curl_slist_free_all
#define curl_global_init ad_curl.f_curl_global_init

#endif
