/*
 * The git binary, never a library: each call is "git -C DIR ARGS..." under
 * the same runner as the user's command, with a deadline of its own.
 */
#include "compat.h"

#include "research_int.h"

#define GIT_TIMEOUT_MS 120000
#define GIT_OUT_CAP (8u << 20)

int ad__git(const char *dir, struct ad_buf *out, struct ad_err *err, ...)
{
    char *argv[32];
    struct ad__proc_result res;
    struct ad_buf local;
    struct ad_buf *b = out ? out : &local;
    size_t n = 0;
    const char *a;
    va_list ap;
    int rc;

    argv[n++] = (char *)"git";
    argv[n++] = (char *)"-C";
    argv[n++] = (char *)dir;
    va_start(ap, err);
    while ((a = va_arg(ap, const char *)) != NULL && n < AD_ARRAY_SIZE(argv) - 1)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    ad_buf_init(&local, GIT_OUT_CAP);
    if (out)
        ad_buf_reset(out);
    rc = ad__proc_run(argv, NULL, NULL, GIT_TIMEOUT_MS, GIT_OUT_CAP, b, &res, err);
    if (!rc && (!res.exited || res.status != 0)) {
        size_t len = b->len;

        while (len > 0 && (b->ptr[len - 1] == '\n' || b->ptr[len - 1] == ' '))
            len--;
        rc = ad_error(err, AD_EIO, "git %s in '%s' failed (%s %d): %.*s", argv[3], dir,
                      res.timed_out ? "timed out" : res.exited ? "status" : "signal",
                      res.status, (int)(len > 300 ? 300 : len), b->ptr ? b->ptr : "");
    }
    ad_buf_release(&local);
    return rc;
}

/* The trimmed first line of a git command's output (a sha, a path) into out. */
int ad__git_line(const char *dir, char **line, struct ad_err *err, const char *a1,
                 const char *a2, const char *a3)
{
    struct ad_buf b;
    int rc;

    ad_buf_init(&b, GIT_OUT_CAP);
    *line = NULL;
    rc = ad__git(dir, &b, err, a1, a2, a3, (const char *)NULL);
    if (!rc) {
        size_t len = b.ptr ? strcspn(b.ptr, "\r\n") : 0;

        *line = strndup(b.ptr ? b.ptr : "", len);
        if (!*line)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    ad_buf_release(&b);
    return rc;
}
