/*
 * Loading a shared library on first use (dynlib.h): dlopen() by soname,
 * every symbol through dlsym() into its slot of the caller's table, then
 * the library's own initialisation, once per process.
 */
#include "compat.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "autodev/dynlib.h"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "a data pointer holds a function pointer (POSIX dlsym)");

static int fail(struct ad_dynlib *lib, int code, const char *fmt, const char *a, const char *b)
{
    snprintf(lib->why, sizeof(lib->why), fmt, a, b);
    return code;
}

static int load(struct ad_dynlib *lib)
{
    struct ad_err e = AD_ERR_INIT;
    const char *msg;
    void *h;

    /* RTLD_NODELETE: the pointers stay valid for the life of the process. */
    h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        msg = dlerror();
        return fail(lib, AD_EIO, "cannot load %s: %s", lib->soname, msg ? msg : "unknown error");
    }
    for (size_t i = 0; i < lib->nsyms; i++) {
        void *p;

        dlerror();
        p = dlsym(h, lib->syms[i].name);
        if (!p)
            return fail(lib, AD_EIO, "%s has no symbol %s (an older version than autodev "
                        "was built with?)", lib->soname, lib->syms[i].name);
        memcpy((char *)lib->table + lib->syms[i].offset, &p, sizeof(p));
    }
    if (lib->init && lib->init(&e) < 0) {
        snprintf(lib->why, sizeof(lib->why), "%.300s", e.msg);
        return e.code < 0 ? e.code : AD_EIO;
    }
    return 1;
}

int ad_dynlib_load(struct ad_dynlib *lib, struct ad_err *err)
{
    int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

    if (state == 0) {
        pthread_mutex_lock(&load_lock);
        state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
        if (state == 0) {
            state = load(lib);
            __atomic_store_n(&lib->state, state, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&load_lock);
    }
    if (state == 1)
        return 0;
    return ad_error(err, state, "%s is needed here but %s%s%s%s", lib->what, lib->why,
                    lib->package ? " (Debian package " : "", lib->package ? lib->package : "",
                    lib->package ? ")" : "");
}
