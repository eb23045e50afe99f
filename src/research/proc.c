/*
 * Running a command with a deadline: its own session and process group
 * (setsid), output through one pipe, and the whole group killed on
 * timeout or when the leader ends. A tree that ignores SIGTERM still dies:
 * SIGKILL follows 200 ms later. A process that starts a session of its
 * own escapes the group; that needs the sandbox's PID namespace.
 */
#include "compat.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/clock.h"

#include "research_int.h"

#define GRACE_MS 200

/* Keeps the last cap bytes of what the command wrote. */
static int keep_tail(struct ad_buf *out, const char *data, size_t n, size_t cap, int *trunc)
{
    if (n >= cap) {
        ad_buf_reset(out);
        *trunc = 1;
        return ad_buf_add(out, data + n - cap, cap);
    }
    if (out->len + n > cap) {
        size_t drop = out->len + n - cap;

        memmove(out->ptr, out->ptr + drop, out->len - drop);
        out->len -= drop;
        out->ptr[out->len] = '\0';
        *trunc = 1;
    }
    return ad_buf_add(out, data, n);
}

static void child(char *const argv[], const char *dir, char *const env[], int fd)
{
    int devnull = open("/dev/null", O_RDONLY);

    setsid();
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (dir && chdir(dir) != 0)
        _exit(126);
    if (env)
        execvpe(argv[0], argv, env);
    else
        execvp(argv[0], argv);
    _exit(127);
}

int ad__proc_run(char *const argv[], const char *dir, char *const env[], long long timeout_ms,
                 size_t cap, struct ad_buf *out, struct ad__proc_result *res,
                 struct ad_err *err)
{
    int fds[2], wstatus = 0, reaped = 0, eof = 0, rc = 0;
    long long start = ad_mono_ns() / 1000000, deadline = start + timeout_ms, kill_at = -1;
    long long reaped_at = 0;
    char chunk[8192];
    pid_t pid;

    memset(res, 0, sizeof(*res));
    if (pipe2(fds, O_CLOEXEC) != 0)
        return ad_error(err, AD_EIO, "cannot make a pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return ad_error(err, AD_EIO, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0)
        child(argv, dir, env, fds[1]);
    close(fds[1]);
    /* The child calls setsid() itself; also making the group here closes the race. */
    setpgid(pid, pid);
    while (!reaped || !eof) {
        long long now = ad_mono_ns() / 1000000;
        struct pollfd p = { fds[0], POLLIN, 0 };

        /* A process of another session may hold the pipe: stop reading a second after. */
        if (reaped && now > reaped_at + 1000)
            break;
        if (!res->timed_out && now >= deadline) {
            res->timed_out = 1;
            kill(-pid, SIGTERM);
            kill_at = now + GRACE_MS;
        }
        if (kill_at >= 0 && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill_at = -1;
        }
        if (!eof && poll(&p, 1, 20) > 0) {
            ssize_t k = read(fds[0], chunk, sizeof(chunk));

            if (k > 0 && !rc)
                rc = keep_tail(out, chunk, (size_t)k, cap, &res->truncated);
            else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
                eof = 1;
        } else if (eof) {
            struct timespec ts = { 0, 10 * 1000000 };

            nanosleep(&ts, NULL);
        }
        if (!reaped && waitpid(pid, &wstatus, WNOHANG) == pid) {
            reaped = 1;
            reaped_at = ad_mono_ns() / 1000000;
            /* What the leader left behind in its group would hold the pipe open. */
            kill(-pid, SIGKILL);
        }
    }
    close(fds[0]);
    res->ms = ad_mono_ns() / 1000000 - start;
    if (WIFEXITED(wstatus)) {
        res->exited = !res->timed_out;
        res->status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        res->status = WTERMSIG(wstatus);
    }
    if (rc)
        return ad_error(err, rc, "command output: cannot keep it");
    return 0;
}
