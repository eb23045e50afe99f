/*
 * One driver per session: an advisory lock (flock) on <workdir>/<id>.lock,
 * held by whoever runs a step, the loop or resume. The kernel drops it when
 * its holder dies, however it dies (kill -9 included), so a crash never
 * blocks a resume; the file's text names the holder for the error. The fd
 * is close-on-exec: a command the step starts does not inherit the lock.
 *
 * flock is per host: a session driven from two hosts over a shared
 * directory is not covered (a lease column with owner and expiry would be,
 * which is the way for a PostgreSQL store).
 */
#include "compat.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "autodev/buf.h"

#include "research_int.h"

int ad__research_lock(const char *workdir, const char *session_id, int *fd, struct ad_err *err)
{
    char *path, host[256], text[512];
    struct timespec now;
    struct tm tm;
    int f, n;

    *fd = -1;
    if (!workdir || !session_id)
        return ad_error(err, AD_EINVAL, "research session without a workdir");
    if (mkdir(workdir, 0700) != 0 && errno != EEXIST)
        return ad_error(err, AD_EIO, "cannot make '%s': %s", workdir, strerror(errno));
    path = ad_strdupf("%s/%s.lock", workdir, session_id);
    if (!path)
        return ad_error(err, AD_ENOMEM, "out of memory");
    f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0) {
        n = ad_error(err, AD_EIO, "cannot open the lock '%s': %s", path, strerror(errno));
        free(path);
        return n;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t k = pread(f, text, sizeof(text) - 1, 0);

        close(f);
        text[k > 0 ? k : 0] = '\0';
        text[strcspn(text, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            n = ad_error(err, AD_EBUSY, "research session '%s' is being driven by another "
                         "process (%s): wait for it to end, or stop it (lock '%s')", session_id,
                         text[0] ? text : "holder unknown", path);
        else
            n = ad_error(err, AD_EIO, "cannot lock '%s': %s", path, strerror(e));
        free(path);
        return n;
    }
    free(path);
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "?");
    host[sizeof(host) - 1] = '\0';
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = snprintf(text, sizeof(text), "pid %ld on host %s since %04d-%02d-%02dT%02d:%02d:%02dZ\n",
                 (long)getpid(), host, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
    /* Who holds it is for the message only: a failed write loses nothing. */
    if (ftruncate(f, 0) == 0 && n > 0)
        (void)!pwrite(f, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1, 0);
    *fd = f;
    return 0;
}

void ad__research_unlock(int fd)
{
    /* Closing drops the flock; the file stays (removing it would race a new holder). */
    if (fd >= 0)
        close(fd);
}
