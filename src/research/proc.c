/*
 * Running a command with a deadline: in the sandbox's command mode
 * (ad__proc_run_cmd, the default), or on the host as below.
 *
 * On the host: a command with a deadline: its own session and process group
 * (setsid), output through one pipe, and the whole group killed on
 * timeout or when the leader ends. A tree that ignores SIGTERM still dies:
 * SIGKILL follows 200 ms later. A process that starts a session of its
 * own escapes the group; that needs the sandbox's PID namespace.
 */
#include "compat.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/sandbox.h"

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

/* ---- in the sandbox ------------------------------------------------------ */

/* The protect glob semantics of the diff gate (filter.c): "dir/" a prefix, else
 * fnmatch on the path, and a glob without a slash on the base name too. */
static int protect_match(const char *glob, const char *path)
{
    const char *base = strrchr(path, '/');

    if (glob[0] && glob[strlen(glob) - 1] == '/')
        return !strncmp(path, glob, strlen(glob));
    if (fnmatch(glob, path, 0) == 0)
        return 1;
    return !strchr(glob, '/') && base && fnmatch(glob, base + 1, 0) == 0;
}

struct paths {
    char **v;
    size_t n, cap;
};

static int paths_add(struct paths *p, const char *top, const char *rel, size_t rel_len,
                     struct ad_err *err)
{
    char *s;

    if (p->n + 2 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **v = realloc(p->v, cap * sizeof(*v));

        if (!v)
            return ad_error(err, AD_ENOMEM, "out of memory");
        p->v = v;
        p->cap = cap;
    }
    if (asprintf(&s, "%s/%.*s", top, (int)rel_len, rel) < 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    p->v[p->n++] = s;
    p->v[p->n] = NULL;
    return 0;
}

static void paths_free(struct paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
}

/* Is rel below a directory already bound read-only (one of dirs, "dir/" globs)? */
static int under_dir(const json_t *protect, const char *rel, const char *top)
{
    size_t i;
    json_t *g;

    json_array_foreach(protect, i, g) {
        const char *glob = json_string_value(g);
        char path[4096];
        struct stat sb;

        if (!glob || !glob[0] || glob[strlen(glob) - 1] != '/' || strncmp(rel, glob, strlen(glob)))
            continue;
        snprintf(path, sizeof(path), "%s/%s", top, glob);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            return 1;
    }
    return 0;
}

/* The existing paths protect names in worktree, and its .git, into p. */
static int protected_paths(const char *worktree, const json_t *protect, struct paths *p,
                           struct ad_err *err)
{
    struct ad_buf files;
    struct stat sb;
    size_t i;
    json_t *g;
    int rc = 0;

    if (lstat(worktree, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char git[4096];

        snprintf(git, sizeof(git), "%s/.git", worktree);
        if (lstat(git, &sb) == 0 && !S_ISLNK(sb.st_mode))
            rc = paths_add(p, worktree, ".git", 4, err);
    }
    /* "dir/" globs: the directory itself, so nothing new appears in it either. */
    json_array_foreach(protect, i, g) {
        const char *glob = json_string_value(g);
        char path[4096];
        size_t len = glob ? strlen(glob) : 0;

        if (rc || !len || glob[len - 1] != '/' || strstr(glob, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%.*s", worktree, (int)(len - 1), glob);
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = paths_add(p, worktree, glob, len - 1, err);
    }
    if (rc || !json_array_size(protect))
        return rc;
    ad_buf_init(&files, 64u << 20);
    rc = ad__git(worktree, &files, err, "ls-files", "-z", (const char *)NULL);
    for (const char *f = files.ptr; !rc && f < files.ptr + files.len; f += strlen(f) + 1) {
        char path[4096];
        int hit = 0;

        json_array_foreach(protect, i, g) {
            if (json_is_string(g) && protect_match(json_string_value(g), f))
                hit = 1;
        }
        if (!hit || under_dir(protect, f, worktree))
            continue;
        snprintf(path, sizeof(path), "%s/%s", worktree, f);
        /* A tracked file the edits deleted, or a link (it would bind its target): nothing to bind. */
        if (lstat(path, &sb) < 0 || S_ISLNK(sb.st_mode))
            continue;
        rc = paths_add(p, worktree, f, strlen(f), err);
    }
    ad_buf_release(&files);
    return rc;
}

int ad__proc_run_cmd(const char *cmd, const char *worktree, const json_t *protect, int sandbox,
                     int64_t memory_bytes, int pids, char *const env[], long long timeout_ms,
                     size_t cap, struct ad_buf *out, struct ad__proc_result *res,
                     struct ad_err *err)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
    struct ad_sandbox_cmd_result r;
    struct ad_sandbox_cmd c;
    struct paths p = { NULL, 0, 0 };
    int rc;

    if (!cmd)
        return ad_error(err, AD_EINVAL, "no command to run");
    if (!sandbox)
        return ad__proc_run(argv, worktree, env, timeout_ms, cap, out, res, err);
    memset(res, 0, sizeof(*res));
    rc = protected_paths(worktree, protect, &p, err);
    if (rc) {
        paths_free(&p);
        return rc;
    }
    memset(&c, 0, sizeof(c));
    c.argv = argv;
    c.env = env;
    c.dir = worktree;
    c.protect = (const char *const *)p.v;
    c.backend = AD_SB_AUTO;
    c.wall_ms = timeout_ms;
    c.output_cap = cap;
    c.memory_bytes = memory_bytes;
    c.pids = pids;
    c.cpu_ms = timeout_ms;
    rc = ad_sandbox_run_command(&c, out, &r, err);
    paths_free(&p);
    if (rc)
        return rc;
    res->exited = r.exited;
    res->status = r.status;
    res->timed_out = r.timed_out;
    res->truncated = r.truncated;
    res->ms = r.wall_ms;
    res->sandboxed = 1;
    res->oom = r.oom;
    res->cpu_limited = r.cpu_limited;
    res->cgroup = r.cgroup;
    snprintf(res->backend, sizeof(res->backend), "%s", ad_sb_backend_name(r.backend));
    return 0;
}
