/*
 * The resident supervisor: a small process forked once per slot that runs
 * one sandboxed execution at a time for the library, over a socketpair.
 *
 * Sections:
 *   helpers       async-signal-safe writes and the status report
 *   payload       the payload's last steps before execve (both backends)
 *   frames        length-prefixed messages on the socket
 *   pump          reading output with caps while enforcing the wall clock
 *   classify      turning what happened into a status
 *   defaults      the shared default steps of struct ad__sb_backend_ops
 *   main loop     requests in, results out; the backend's steps through
 *                 cfg->ops, which the supervisor keeps for life
 *
 * Why a separate process: forking a large, threaded caller for every run is
 * slow and fragile; the supervisor is small and single-threaded, so each run
 * is one cheap clone3/fork of it. Its memory stays bounded: output is read
 * into capped buffers and everything past the caps is counted, not kept.
 */
#include "compat.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "sb_int.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- helpers ------------------------------------------------------------ */

int ad__sb_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

bool ad__sb_append(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s && *len + 1 < cap)
        buf[(*len)++] = *s++;
    if (*len < cap)
        buf[*len] = '\0';
    return *s == '\0';
}

bool ad__sb_append_uint(char *buf, size_t cap, size_t *len, unsigned long long v)
{
    char tmp[24];
    int i = (int)sizeof(tmp) - 1;

    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return ad__sb_append(buf, cap, len, tmp + i);
}

void ad__sb_report(int fd, const char *what, int errnum)
{
    char buf[AD__SB_STATUS_MAX];
    size_t len = 0;
    const char *desc = errnum ? strerrordesc_np(errnum) : NULL;

    ad__sb_append(buf, sizeof(buf), &len, "E");
    ad__sb_append(buf, sizeof(buf), &len, what);
    if (errnum) {
        ad__sb_append(buf, sizeof(buf), &len, ": ");
        ad__sb_append(buf, sizeof(buf), &len, desc ? desc : "unknown error");
    }
    (void)ad__sb_write_all(fd, buf, len);
}

/*
 * The areas of memory behind /proc/self/cmdline and environ: fields 48-51
 * of /proc/self/stat (arg_start, arg_end, env_start, env_end). false when
 * they cannot be read.
 */
static bool self_areas(unsigned long v[4])
{
    char buf[1024];
    size_t got = 0;
    const char *p;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), field;

    if (fd < 0)
        return false;
    while (got + 1 < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    p = strrchr(buf, ')');
    if (!p)
        return false;
    /* p + 2 is field 3 (state); fields 48..51 are the 46th..49th from there. */
    p += 2;
    for (field = 3; field < 48 && *p; field++) {
        p = strchr(p, ' ');
        if (!p)
            return false;
        p++;
    }
    for (int i = 0; i < 4; i++) {
        char *end;
        v[i] = strtoul(p, &end, 10);
        if (end == p)
            return false;
        p = end + (*end == ' ');
    }
    return v[0] < v[1] && v[2] <= v[3];
}

void ad__sb_scrub_self(const char *title)
{
    static char *no_env[1] = { NULL };
    unsigned long v[4];
    size_t tlen = strlen(title);

    environ = no_env;
    if (!self_areas(v))
        return;
    {
        char *args = (char *)v[0];
        size_t n = v[1] - v[0], k = tlen < n - 1 ? tlen : n - 1;

        memset(args, 0, n);
        memcpy(args, title, k);
        /*
         * A last byte that is not NUL tells the kernel the command line was
         * rewritten (setproctitle): /proc/PID/cmdline then ends at the
         * first NUL, so not even the length of the old argv shows.
         */
        if (n > k + 1)
            args[n - 1] = ' ';
    }
    memset((char *)v[2], 0, v[3] - v[2]);
}

/* ---- payload ------------------------------------------------------------ */

static int set_limit(int res, rlim_t soft, rlim_t hard)
{
    struct rlimit rl = { soft, hard };
    return setrlimit(res, &rl);
}

void ad__sb_payload_exec(const struct ad__sb_run *run, int out_fd, int err_fd, int res_fd,
                         int status_fd, const char *dir, const char *cwd, bool set_ids,
                         uid_t uid, gid_t gid)
{
    const struct ad__sb_config *cfg = run->cfg;
    const struct ad_sandbox_limits *lim = &run->lim;
    int src[5], tmp[5], sfd, nfd = run->gate_fd >= 0 ? 5 : 4;
    char harness[320], env_home[300], env_tmp[300];
    char *argv[AD__SB_MAX_ARGS + 8];
    char *envp[8];
    size_t n;
    int i, argc = 0;
    rlim_t cpu_s, as;

    sfd = fcntl(status_fd, F_DUPFD_CLOEXEC, 10);
    if (sfd < 0)
        _exit(127);

    /* Move stdin (/dev/null), stdout, stderr and the result pipe to 0..3. */
    src[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    src[1] = out_fd;
    src[2] = err_fd;
    src[3] = res_fd;
    src[4] = run->gate_fd;   /* only when nfd is 5 */
    for (i = 0; i < nfd; i++) {
        if (src[i] < 0) {
            ad__sb_report(sfd, "open /dev/null", errno);
            _exit(127);
        }
        tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 11);
        if (tmp[i] < 0) {
            ad__sb_report(sfd, "dup", errno);
            _exit(127);
        }
    }
    for (i = 0; i < nfd; i++) {
        if (dup2(tmp[i], i) < 0) {
            ad__sb_report(sfd, "dup2", errno);
            _exit(127);
        }
    }
    /* Everything else is closed by execve; the status fd lives until then. */
    if (syscall(SYS_close_range, (unsigned)nfd, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        for (i = nfd; i < 1024; i++)
            if (i != sfd)
                (void)fcntl(i, F_SETFD, FD_CLOEXEC);
    }

    (void)setsid();

    /*
     * The supervisor kills the run when its measured CPU time (the
     * scheduler's runtime, all processes together) reaches the limit.
     * RLIMIT_CPU is each process's backstop one second later: it counts on
     * the tick-sampled clock, which under load runs ahead of the runtime
     * (SIGXCPU at 0.89 s of a 1 s limit has been seen), so at the limit
     * itself it would end runs early and report less than it charged.
     */
    cpu_s = (rlim_t)((lim->cpu_ms + 999) / 1000) + 1;
    if (cpu_s < 2)
        cpu_s = 2;
    /* The address-space limit is a backstop behind the cgroup; without a
     * cgroup it is the memory limit, with room for the interpreter itself. */
    if (run->cg_limited)
        as = (rlim_t)lim->memory_bytes * 4 > ((rlim_t)1 << 30) ? (rlim_t)lim->memory_bytes * 4
                                                                 : ((rlim_t)1 << 30);
    else
        as = (rlim_t)lim->memory_bytes + ((rlim_t)128 << 20);
    if (set_limit(RLIMIT_CPU, cpu_s, cpu_s + 1) || set_limit(RLIMIT_CORE, 0, 0) ||
        set_limit(RLIMIT_MEMLOCK, 0, 0) ||
        set_limit(RLIMIT_FSIZE, (rlim_t)lim->tmpfs_bytes, (rlim_t)lim->tmpfs_bytes) ||
        set_limit(RLIMIT_NOFILE, 256, 256) || set_limit(RLIMIT_AS, as, as)) {
        ad__sb_report(sfd, "setrlimit", errno);
        _exit(127);
    }
    /* RLIMIT_NPROC counts every process of the real uid, so it only means
     * something when the payload has a uid of its own. */
    if (set_ids && set_limit(RLIMIT_NPROC, (rlim_t)lim->pids, (rlim_t)lim->pids)) {
        ad__sb_report(sfd, "setrlimit nproc", errno);
        _exit(127);
    }

    if (chdir(cwd) < 0) {
        ad__sb_report(sfd, "chdir", errno);
        _exit(127);
    }

    if (set_ids) {
        for (i = 0; i <= 63; i++)
            if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno == EINVAL)
                break;
        if (setresgid(gid, gid, gid) < 0) {
            ad__sb_report(sfd, "setresgid", errno);
            _exit(127);
        }
        if (setresuid(uid, uid, uid) < 0) {
            ad__sb_report(sfd, "setresuid", errno);
            _exit(127);
        }
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    {
        struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof(data));
        if (syscall(SYS_capset, &hdr, data) < 0 && set_ids) {
            ad__sb_report(sfd, "capset", errno);
            _exit(127);
        }
    }

    n = 0;
    ad__sb_append(harness, sizeof(harness), &n, dir);
    ad__sb_append(harness, sizeof(harness), &n, "/harness.py");
    n = 0;
    ad__sb_append(env_home, sizeof(env_home), &n, "HOME=");
    ad__sb_append(env_home, sizeof(env_home), &n, cwd);
    n = 0;
    ad__sb_append(env_tmp, sizeof(env_tmp), &n, "TMPDIR=");
    ad__sb_append(env_tmp, sizeof(env_tmp), &n, cwd);

    for (i = 0; i < cfg->argc && argc < AD__SB_MAX_ARGS; i++)
        argv[argc++] = cfg->argv[i];
    argv[argc++] = harness;
    argv[argc++] = (char *)run->entry;
    argv[argc++] = (char *)dir;
    if (nfd == 5)
        argv[argc++] = (char *)"gate";
    argv[argc] = NULL;
    envp[0] = (char *)"PATH=/usr/bin:/bin";
    envp[1] = env_home;
    envp[2] = env_tmp;
    envp[3] = (char *)"LANG=C.UTF-8";
    envp[4] = (char *)"PYTHONDONTWRITEBYTECODE=1";
    envp[5] = NULL;

    if (cfg->have_filter) {
        int rc = ad__sb_filter_apply(&cfg->filter);
        if (rc < 0) {
            ad__sb_report(sfd, "seccomp", -rc);
            _exit(127);
        }
    } else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        ad__sb_report(sfd, "no_new_privs", errno);
        _exit(127);
    }

    execve(cfg->runtime, argv, envp);
    ad__sb_report(sfd, "exec runtime", errno);
    _exit(127);
}

/* ---- frames ------------------------------------------------------------- */

int ad__sb_frame_write(int fd, const char *data, size_t len)
{
    unsigned char hdr[4];
    int rc;

    if (len > 0xffffffffu)
        return AD_ETOOBIG;
    hdr[0] = (unsigned char)(len & 0xff);
    hdr[1] = (unsigned char)((len >> 8) & 0xff);
    hdr[2] = (unsigned char)((len >> 16) & 0xff);
    hdr[3] = (unsigned char)((len >> 24) & 0xff);
    rc = ad__sb_write_all(fd, hdr, sizeof(hdr));
    if (rc == 0)
        rc = ad__sb_write_all(fd, data, len);
    return rc < 0 ? AD_EIO : 0;
}

/* Reads exactly len bytes before the deadline (ns, 0: none). */
static int read_exact(int fd, void *dst, size_t len, int64_t deadline, struct ad_err *err)
{
    char *p = dst;
    while (len > 0) {
        ssize_t n;
        if (deadline) {
            struct pollfd pfd = { fd, POLLIN, 0 };
            int64_t left = (deadline - ad_mono_ns()) / 1000000;
            int prc;
            if (left <= 0)
                return ad_error(err, AD_ETIMEOUT, "sandbox supervisor did not answer in time");
            prc = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
            if (prc < 0 && errno != EINTR)
                return ad_error(err, AD_EIO, "poll: %s", strerror(errno));
            if (prc <= 0)
                continue;
        }
        n = read(fd, p, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return ad_error(err, AD_EIO, "reading from the sandbox supervisor: %s",
                            strerror(errno));
        }
        if (n == 0)
            return ad_error(err, AD_EIO, "the sandbox supervisor closed the connection");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int ad__sb_frame_read(int fd, struct ad_buf *b, int timeout_ms, struct ad_err *err)
{
    unsigned char hdr[4];
    int64_t deadline = timeout_ms < 0 ? 0 : ad_mono_ns() + (int64_t)timeout_ms * 1000000;
    size_t len;
    int rc;

    ad_buf_reset(b);
    rc = read_exact(fd, hdr, sizeof(hdr), deadline, err);
    if (rc)
        return rc;
    len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
    if (len > b->max)
        return ad_error(err, AD_ETOOBIG, "sandbox message of %zu bytes is over the cap", len);
    rc = ad_buf_grow(b, len);
    if (rc)
        return ad_error(err, rc, "sandbox message: %s", ad_strerror(rc));
    rc = read_exact(fd, b->ptr, len, deadline, err);
    if (rc)
        return rc;
    b->len = len;
    b->ptr[len] = '\0';
    return 0;
}

/* ---- pump --------------------------------------------------------------- */

struct stream {
    int fd;
    struct ad_buf keep;     /* capped; bytes past the cap are only counted */
    bool cut;               /* something was not kept */
};

struct outcome {
    bool timed_out;
    bool output_limit;
    bool cpu_limit;             /* the whole run's CPU time reached the limit */
    bool supervisor_orphaned;   /* the caller went away mid-run */
    int64_t wall_ms;
    char status[AD__SB_STATUS_MAX];
    size_t status_len;
};

/*
 * The run's CPU time, all of its processes together (RLIMIT_CPU holds only
 * each one): the slot cgroup's account where there is one, else the sum
 * over the supervisor's tree of descendants (sandbox_tree.c). Readings are
 * differences from the start of the run, so neither the cgroup's past runs
 * nor the standby init's setup count.
 */
struct cpu_acct {
    const struct ad__sb_super *S;
    const struct ad__cg_slot *cg;   /* the account, or NULL: /proc */
    int64_t base;                   /* cg: ns at the start; else ms */
    int64_t limit_ms;               /* whole seconds, like RLIMIT_CPU */
    int rate;                       /* CPUs the run can keep busy at once */
};

static int64_t acct_read(const struct cpu_acct *a)
{
    const struct ad__sb_spare *sp = &a->S->spare;

    if (a->cg)
        return ad__cg_slot_cpu_ns(a->cg);
    /* The next run's init, on standby, is not this run's. */
    return ad__sb_tree_cpu_ms(sp->ready ? sp->pid : 0);
}

static void acct_begin(struct cpu_acct *a, const struct ad__sb_super *S,
                       const struct ad__sb_run *run)
{
    static long cpus;

    if (cpus <= 0)
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
    a->S = S;
    a->cg = run->cg && ad__cg_slot_cpu_ns(run->cg) >= 0 ? run->cg : NULL;
    a->limit_ms = ((run->lim.cpu_ms + 999) / 1000) * 1000;
    a->rate = a->cg && a->cg->cpu_throttled ? 1 : cpus > 0 ? (int)cpus : 1;
    a->base = acct_read(a);
}

/* CPU ms the run has used so far. */
static int64_t acct_used_ms(const struct cpu_acct *a)
{
    int64_t now = acct_read(a);

    if (now < a->base)
        return 0;
    return a->cg ? (now - a->base) / 1000000 : now - a->base;
}

/*
 * When to look again: no sooner than the run could reach the limit, at
 * rate CPUs' worth of time per wall second, nor more often than every 5 ms.
 */
static int64_t acct_next_ns(const struct cpu_acct *a, int64_t used_ms, int64_t now)
{
    int64_t left_ms = (a->limit_ms - used_ms) / a->rate;

    return now + (left_ms > 5 ? left_ms : 5) * 1000000LL;
}

static void stream_close(struct stream *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/*
 * Reads the run's output until it exits and its pipes are drained (or a
 * short grace passes), killing it at the wall deadline or past the output
 * cap. sock is watched so a vanished caller ends the run.
 */
static void pump(struct ad__sb_run *run, int sock, struct stream st[3], struct outcome *oc,
                 int64_t start, const struct cpu_acct *acct)
{
    const struct ad__sb_backend_ops *ops = run->cfg->ops;
    const int64_t deadline = start + run->lim.wall_ms * 1000000;
    int64_t grace_end = 0, kill_at = 0, next_cpu = acct_next_ns(acct, 0, start);
    int64_t total = 0;
    bool exited = false, killed = false, swept = false;
    char chunk[65536];

    for (;;) {
        struct pollfd pfd[6];
        int map[6];
        int nfd = 0, i, prc;
        int64_t now = ad_mono_ns(), wait_ns;
        bool streams_open = false;

        for (i = 0; i < 3; i++) {
            if (st[i].fd >= 0) {
                pfd[nfd].fd = st[i].fd;
                pfd[nfd].events = POLLIN;
                map[nfd++] = i;
                streams_open = true;
            }
        }
        if (run->status_fd >= 0) {
            pfd[nfd].fd = run->status_fd;
            pfd[nfd].events = POLLIN;
            map[nfd++] = 3;
            streams_open = true;
        }
        if (exited && (!streams_open || now >= grace_end))
            break;
        if (!exited) {
            pfd[nfd].fd = run->pidfd;
            pfd[nfd].events = POLLIN;
            map[nfd++] = 4;
        }
        pfd[nfd].fd = sock;
        pfd[nfd].events = 0;   /* POLLHUP/POLLERR only */
        map[nfd++] = 5;

        if (!exited && !killed && now >= deadline) {
            oc->timed_out = true;
            ops->kill(run);
            killed = true;
            kill_at = now;
        }
        if (!exited && !killed && now >= next_cpu) {
            int64_t used = acct_used_ms(acct);

            if (used >= acct->limit_ms) {
                oc->cpu_limit = true;
                ops->kill(run);
                killed = true;
                kill_at = now;
            }
            next_cpu = acct_next_ns(acct, used, now);
        }
        if (exited)
            wait_ns = grace_end - now;
        else if (!killed)
            wait_ns = (deadline < next_cpu ? deadline : next_cpu) - now;
        else
            wait_ns = 100 * 1000000LL;   /* re-kill until it is gone */
        if (killed && !exited && now - kill_at > 100 * 1000000LL) {
            ops->kill(run);
            kill_at = now;
        }
        prc = poll(pfd, (nfds_t)nfd, (int)(wait_ns / 1000000) + 1);
        if (prc < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < nfd && prc > 0; i++) {
            short re = pfd[i].revents;
            if (!re)
                continue;
            if (map[i] == 5) {
                /* The caller is gone: nobody wants the result. */
                oc->supervisor_orphaned = true;
                ops->kill(run);
                killed = true;
                kill_at = ad_mono_ns();
                continue;
            }
            if (map[i] == 4) {
                exited = true;
                oc->wall_ms = (ad_mono_ns() - start) / 1000000;
                /* Descendants may still hold the pipes open. */
                if (!swept) {
                    ops->sweep(run);
                    swept = true;
                }
                grace_end = ad_mono_ns() + 500 * 1000000LL;
                continue;
            }
            if (map[i] == 3) {
                ssize_t n = read(run->status_fd, oc->status + oc->status_len,
                                 sizeof(oc->status) - 1 - oc->status_len);
                if (n > 0) {
                    oc->status_len += (size_t)n;
                    oc->status[oc->status_len] = '\0';
                }
                if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) ||
                    oc->status_len + 1 >= sizeof(oc->status)) {
                    close(run->status_fd);
                    run->status_fd = -1;
                }
                continue;
            }
            {
                struct stream *s = &st[map[i]];
                ssize_t n = read(s->fd, chunk, sizeof(chunk));
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                    continue;
                if (n <= 0) {
                    stream_close(s);
                    continue;
                }
                total += n;
                if (total > run->lim.output_bytes && !oc->output_limit) {
                    oc->output_limit = true;
                    if (!exited) {
                        ops->kill(run);
                        killed = true;
                        kill_at = ad_mono_ns();
                    }
                }
                {
                    size_t room = s->keep.max - s->keep.len;
                    size_t take = (size_t)n < room ? (size_t)n : room;
                    if (take && ad_buf_add(&s->keep, chunk, take) < 0)
                        take = 0;
                    if (take < (size_t)n)
                        s->cut = true;
                }
            }
        }
    }
    if (!oc->wall_ms)
        oc->wall_ms = (ad_mono_ns() - start) / 1000000;
    /* Whatever way we left, nothing of the run survives it. */
    if (!swept)
        ops->sweep(run);
}

/* ---- classify ----------------------------------------------------------- */

static void set_error(struct ad_sandbox_result *r, const char *type, const char *msg)
{
    json_decref(r->error);
    r->error = json_pack("{s:s, s:s, s:s}", "type", type, "message", msg, "traceback", "");
}

/*
 * The harness's line is json.dumps of the return value, so a line jansson
 * refuses is, short of a skill writing to fd 3 itself, a Python value JSON
 * can spell that autodev does not carry. Every part of autodev after the
 * sandbox (the store's JSON columns, C strings) would cut or refuse it, so
 * it is refused here, once, saying what to change: integers beyond 64 bits,
 * a NUL inside a string, two keys that become one string (1 and '1'), a
 * lone surrogate. true when jerr was one of those and r now says so.
 */
static bool explain_not_carried(const json_error_t *jerr, struct ad_sandbox_result *r)
{
    const char *near = strstr(jerr->text, "near '"), *pre, *post;
    char token[96] = "", msg[512];

    if (near) {
        const char *end = strrchr(near + 6, '\'');
        int n = end ? (int)(end - (near + 6)) : 0;

        snprintf(token, sizeof(token), "%.*s%s", n > 80 ? 80 : n, near + 6, n > 80 ? "..." : "");
    }
    switch (json_error_code(jerr)) {
    case json_error_numeric_overflow:
        pre = strstr(jerr->text, "integer") ? "the integer " : "the number ";
        post = strstr(jerr->text, "integer") ? " is outside -2**63..2**63-1; return it as a "
                                               "string or a float"
                                             : " is outside a double's range";
        break;
    case json_error_null_character:
        pre = "a string holds a NUL character (\\u0000), which would cut it short; strip it "
              "or encode the bytes (base64, repr)";
        post = "";
        token[0] = '\0';
        break;
    case json_error_duplicate_key:
        pre = "two keys of one object are the same key ";
        post = " in JSON (1 and '1' both become \"1\"); make them distinct";
        break;
    default:
        if (!strstr(jerr->text, "invalid Unicode"))
            return false;
        pre = "a string holds a lone surrogate (";
        post = "), which is not Unicode text; encode it (e.g. "
               "s.encode('utf-8', 'surrogatepass').hex())";
        break;
    }
    snprintf(msg, sizeof(msg), "return value is not JSON autodev can carry: %s%s%s", pre, token,
             post);
    r->status = AD_SB_ERROR;
    set_error(r, "TypeError", msg);
    return true;
}

/*
 * The harness's timings (sandbox_harness.c): whole microseconds, each
 * within the run's wall time as the supervisor measured it (which the
 * payload cannot touch), else unknown (-1). Both must pass, or neither
 * is kept: one forged number makes the other suspect too.
 */
static void parse_timings(const json_t *doc, struct ad_sandbox_result *r)
{
    const json_t *load = json_object_get(doc, "load_us"), *call = json_object_get(doc, "call_us");
    int64_t cap = (r->wall_ms + 1) * 1000;
    json_int_t l = json_integer_value(load), c = json_integer_value(call);

    r->load_us = r->call_us = -1;
    if ((load && !json_is_integer(load)) || (call && !json_is_integer(call)) || l < 0 ||
        c < 0 || l > cap || c > cap || l + c > cap)
        return;
    r->load_us = load ? (int64_t)l : -1;
    r->call_us = call ? (int64_t)c : -1;
}

/* Reads the harness's line from the result stream into r. */
static void parse_result_line(const struct stream *res, struct ad_sandbox_result *r)
{
    const char *p = res->keep.ptr;
    const char *nl = memchr(p, '\n', res->keep.len);
    size_t len = nl ? (size_t)(nl - p) : res->keep.len;
    json_error_t jerr;
    json_t *doc, *ok;

    if (res->keep.len == 0) {
        r->status = AD_SB_ERROR;
        if (r->signal)
            return;
        set_error(r, "NoResult", r->exit_code == 0
                                     ? "the skill exited without a result"
                                     : "the skill exited with a non-zero code and no result");
        return;
    }
    /*
     * The harness writes one line and exits. More than one means the skill
     * wrote on the harness's channel itself (then the harness's line
     * follows): whichever line came first, none can be trusted.
     */
    if (nl && (size_t)(nl - p) + 1 < res->keep.len) {
        r->status = AD_SB_ERROR;
        set_error(r, "BadResult", "the result channel carried more than the harness's one "
                  "line: the skill wrote on it (fd 3) itself");
        return;
    }
    doc = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc && explain_not_carried(&jerr, r))
        return;
    ok = doc ? json_object_get(doc, "ok") : NULL;
    if (!json_is_boolean(ok)) {
        char msg[300];
        r->status = AD_SB_ERROR;
        if (!doc)
            snprintf(msg, sizeof(msg), "the result line is not JSON: %s", jerr.text);
        else
            snprintf(msg, sizeof(msg), "the result line is not the harness's JSON");
        set_error(r, "BadResult", msg);
        json_decref(doc);
        return;
    }
    parse_timings(doc, r);
    if (json_is_true(ok)) {
        json_t *out = json_object_get(doc, "output");
        r->status = AD_SB_OK;
        r->output = json_incref(out ? out : json_null());
    } else {
        json_t *e = json_object_get(doc, "error");
        const char *type = json_string_value(json_object_get(e, "type"));
        r->status = type && strcmp(type, "MemoryError") == 0 ? AD_SB_OOM : AD_SB_ERROR;
        if (json_is_object(e) && type && json_is_string(json_object_get(e, "message"))) {
            json_decref(r->error);
            r->error = json_incref(e);
        } else {
            set_error(r, "BadResult", "the harness reported an error of an unknown shape");
        }
    }
    json_decref(doc);
}

/* The kept bytes, NULs and all, into *len; NUL-terminated. */
static char *keep_text(struct stream *s, size_t *len)
{
    size_t n = 0;
    char *t = ad_buf_detach(&s->keep, &n);

    *len = t ? n : 0;
    return t ? t : strdup("");
}

static void classify(const struct ad__sb_run *run, struct outcome *oc, int wstatus,
                     bool have_wstatus, const struct rusage *ru, const struct ad__cg_stats *cg,
                     int64_t run_cpu_ms, struct stream st[3], struct ad_sandbox_result *r)
{
    int64_t cpu_limit_ms = ((run->lim.cpu_ms + 999) / 1000) * 1000;

    r->wall_ms = oc->wall_ms;
    r->cpu_ms = (int64_t)ru->ru_utime.tv_sec * 1000 + ru->ru_utime.tv_usec / 1000 +
                (int64_t)ru->ru_stime.tv_sec * 1000 + ru->ru_stime.tv_usec / 1000;
    r->max_rss_kb = ru->ru_maxrss;
    if (run->cpu_ms_at_kill > r->cpu_ms)
        r->cpu_ms = run->cpu_ms_at_kill;
    /* All of the run's processes, not only the payload and what it reaped. */
    if (run_cpu_ms > r->cpu_ms)
        r->cpu_ms = run_cpu_ms;
    if (run->rss_kb_at_kill > r->max_rss_kb)
        r->max_rss_kb = run->rss_kb_at_kill;
    r->exit_code = -1;
    r->signal = 0;
    if (have_wstatus) {
        if (WIFEXITED(wstatus))
            r->exit_code = WEXITSTATUS(wstatus);
        else if (WIFSIGNALED(wstatus))
            r->signal = WTERMSIG(wstatus);
    }
    r->truncated = st[0].cut || st[1].cut || st[2].cut || oc->output_limit;

    if (oc->status_len > 0 && oc->status[0] == 'E' && !oc->timed_out) {
        r->status = AD_SB_SANDBOX_ERROR;
        set_error(r, "SandboxError", oc->status + 1);
    } else if (oc->output_limit) {
        r->status = AD_SB_OUTPUT_LIMIT;
        set_error(r, "OutputLimit", "the skill wrote more than the output limit");
    } else if (oc->cpu_limit) {
        char msg[160];

        r->status = AD_SB_CPU_LIMIT;
        snprintf(msg, sizeof(msg), "the skill's processes used up their CPU time: %" PRId64
                 " ms of %" PRId64 " in all", r->cpu_ms, cpu_limit_ms);
        set_error(r, "CpuLimit", msg);
    } else if (oc->timed_out) {
        r->status = AD_SB_TIMEOUT;
        set_error(r, "Timeout", "the skill ran past the wall-clock limit and was killed");
    } else if (!have_wstatus && cg->oom_killed) {
        /* The OOM killer may choose the namespace's init itself (an
         * instrumented build's init is the largest process): the run still
         * ended at the memory limit, not by a fault of the sandbox. */
        r->status = AD_SB_OOM;
        set_error(r, "OutOfMemory", "the skill's processes were killed at the memory limit");
    } else if (!have_wstatus) {
        r->status = AD_SB_SANDBOX_ERROR;
        set_error(r, "SandboxError", run->lost_why ? run->lost_why : run->cfg->ops->lost_status);
    } else if (r->signal) {
        if (cg->oom_killed) {
            r->status = AD_SB_OOM;
            set_error(r, "OutOfMemory", "the skill was killed at the memory limit");
        } else if (r->signal == SIGXCPU || (r->signal == SIGKILL && r->cpu_ms >= cpu_limit_ms)) {
            r->status = AD_SB_CPU_LIMIT;
            set_error(r, "CpuLimit", "the skill used up its CPU time");
        } else {
            r->status = AD_SB_SIGNAL;
            set_error(r, "Signal", strsignal(r->signal));
        }
    } else {
        parse_result_line(&st[2], r);
        /* A child OOM-killed while the parent carried on still hit the
         * limit: the status says so, whatever the skill returned (its
         * output stays in the result). */
        if (cg->oom_killed && r->status != AD_SB_OOM) {
            r->status = AD_SB_OOM;
            json_decref(r->error);
            r->error = json_pack("{s:s, s:s, s:s}", "type", "OutOfMemory", "message",
                                 "a process of the skill was killed at the memory limit",
                                 "traceback", "");
        } else if (run_cpu_ms > cpu_limit_ms && r->status != AD_SB_OOM) {
            /* Likewise a run that went past its CPU time between two looks. */
            char msg[160];

            r->status = AD_SB_CPU_LIMIT;
            snprintf(msg, sizeof(msg), "the skill's processes used more than their CPU time: "
                     "%" PRId64 " ms of %" PRId64 " in all", run_cpu_ms, cpu_limit_ms);
            set_error(r, "CpuLimit", msg);
        }
    }
    r->stdout_text = keep_text(&st[0], &r->stdout_len);
    r->stderr_text = keep_text(&st[1], &r->stderr_len);
}

/* ---- defaults ----------------------------------------------------------- */

void ad__sb_def_prewarm(struct ad__sb_super *S)
{
}

void ad__sb_def_limit(struct ad__sb_super *S, struct ad__sb_run *run)
{
}

bool ad__sb_def_full_isolation(const struct ad__sb_super *S, const struct ad__sb_run *run)
{
    return false;
}

void ad__sb_def_sweep(struct ad__sb_run *run)
{
}

/* ---- main loop ---------------------------------------------------------- */

/*
 * A payload uid must belong to one supervisor on the whole host: the
 * process backend's final sweep is kill(-1) as that uid, and two sandboxes
 * sharing it could see and kill each other's payloads. So a supervisor
 * claims its uid with an flock on /run/autodev-sandbox/<uid>.lock, held
 * (and released by the kernel) for as long as it lives. It tries
 * base + slot first, then the rest of the range.
 */
static int claim_uid(struct ad__sb_config *cfg, unsigned base, int *lock_fd, char *why,
                     size_t why_len)
{
    struct stat sb;
    unsigned i;

    if (mkdir(AD__SB_UID_LOCKDIR, 0700) < 0 && errno != EEXIST) {
        snprintf(why, why_len, "mkdir %s: %s", AD__SB_UID_LOCKDIR, strerror(errno));
        return -1;
    }
    if (lstat(AD__SB_UID_LOCKDIR, &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != 0 ||
        (sb.st_mode & 022)) {
        snprintf(why, why_len, "%s is not a directory only root can write", AD__SB_UID_LOCKDIR);
        return -1;
    }
    for (i = 0; i < AD__SB_UID_RANGE; i++) {
        unsigned uid = base + ((unsigned)cfg->slot + i) % AD__SB_UID_RANGE;
        char path[128];
        int fd;

        snprintf(path, sizeof(path), "%s/%u.lock", AD__SB_UID_LOCKDIR, uid);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            cfg->host_uid = uid;
            cfg->host_gid = uid;
            *lock_fd = fd;
            return 0;
        }
        close(fd);
    }
    snprintf(why, why_len, "all %u sandbox uids from %u are taken", AD__SB_UID_RANGE, base);
    return -1;
}

static int req_int(const json_t *lim, const char *key, int64_t *out)
{
    json_t *v = json_object_get(lim, key);
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* Fills run from the request (run's strings point into req). -1 when malformed. */
static int read_request(const json_t *req, struct ad__sb_run *run)
{
    const json_t *lim = json_object_get(req, "limits");
    int64_t pids = 0;

    run->code = json_string_value(json_object_get(req, "code"));
    run->code_len = json_string_length(json_object_get(req, "code"));
    run->entry = json_string_value(json_object_get(req, "entry"));
    run->input = json_string_value(json_object_get(req, "input"));
    run->input_len = json_string_length(json_object_get(req, "input"));
    if (!run->code || !run->entry || !run->input ||
        req_int(lim, "wall_ms", &run->lim.wall_ms) || req_int(lim, "cpu_ms", &run->lim.cpu_ms) ||
        req_int(lim, "memory_bytes", &run->lim.memory_bytes) || req_int(lim, "pids", &pids) ||
        req_int(lim, "output_bytes", &run->lim.output_bytes) ||
        req_int(lim, "tmpfs_bytes", &run->lim.tmpfs_bytes))
        return -1;
    run->lim.pids = (int)pids;
    run->probe = json_is_true(json_object_get(req, "probe"));
    return 0;
}

static void execute(struct ad__sb_super *S, const json_t *req, struct ad_sandbox_result *r)
{
    const struct ad__sb_backend_ops *ops = S->cfg->ops;
    struct ad__sb_run run;
    struct stream st[3];
    struct outcome oc;
    struct ad_err err = AD_ERR_INIT;
    struct ad__cg_stats cgs = { false, -1 };
    struct cpu_acct acct;
    struct rusage ru;
    int wstatus = 0, i, rc;
    int64_t start;
    bool have_wstatus;

    memset(&run, 0, sizeof(run));
    memset(&oc, 0, sizeof(oc));
    memset(&ru, 0, sizeof(ru));
    run.cfg = S->cfg;
    run.pid = -1;
    run.pidfd = run.out_fd = run.err_fd = run.res_fd = run.status_fd = run.hold_fd = -1;
    run.gate_fd = -1;
    run.cpu_ms_at_kill = -1;
    run.rss_kb_at_kill = -1;
    r->call_us = r->load_us = -1;
    snprintf(r->backend, sizeof(r->backend), "%s", ops->name);
    r->degraded = true;
    if (read_request(req, &run) < 0) {
        r->status = AD_SB_SANDBOX_ERROR;
        set_error(r, "SandboxError", "malformed request to the sandbox supervisor");
        return;
    }
    if (S->uid_error[0]) {
        r->status = AD_SB_SANDBOX_ERROR;
        set_error(r, "SandboxError", S->uid_error);
        return;
    }

    if (!run.probe)
        S->jobs++;
    ops->limit(S, &run);
    start = ad_mono_ns();
    rc = ops->start(S, &run, &err);
    if (rc) {
        r->status = AD_SB_SANDBOX_ERROR;
        set_error(r, "SandboxError", err.msg[0] ? err.msg : ad_strerror(rc));
        r->stdout_text = strdup("");
        r->stderr_text = strdup("");
        return;
    }
    r->degraded = !ops->full_isolation(S, &run);

    for (i = 0; i < 3; i++) {
        st[i].fd = i == 0 ? run.out_fd : i == 1 ? run.err_fd : run.res_fd;
        ad_buf_init(&st[i].keep, i == 2 ? (size_t)run.lim.output_bytes : AD_SB_STREAM_KEEP);
        st[i].cut = false;
    }
    acct_begin(&acct, S, &run);
    pump(&run, S->sock, st, &oc, start, &acct);
    for (i = 0; i < 3; i++)
        stream_close(&st[i]);
    if (run.status_fd >= 0)
        close(run.status_fd);

    /* pidfd said it exited, so this does not block (or it was killed). */
    while (wait4(run.pid, &wstatus, 0, &ru) < 0 && errno == EINTR)
        ;
    have_wstatus = ops->reap(&run, oc.status, oc.status_len, &wstatus);
    if (run.pidfd >= 0)
        close(run.pidfd);
    if (run.hold_fd >= 0)
        close(run.hold_fd);
    if (run.cg)
        ad__cg_slot_end(run.cg, &cgs);
    if (oc.supervisor_orphaned) {
        ops->cleanup(S);
        _exit(0);
    }
    classify(&run, &oc, wstatus, have_wstatus, &ru, &cgs, acct_used_ms(&acct), st, r);
    for (i = 0; i < 3; i++)
        ad_buf_release(&st[i].keep);
}

/*
 * The supervisor's own setup: its fds, its payload uid, clean signals, no
 * supplementary groups, and subreaping.
 */
static void super_init(struct ad__sb_super *S, struct ad__sb_config *cfg, int sock)
{
    int devnull, i;

    memset(S, 0, sizeof(*S));
    S->cfg = cfg;

    /* Our own fds: 0 and 1 to /dev/null, 2 kept for sanitizer reports, the
     * socket at 3, nothing else of the caller's. */
    if (sock != 3) {
        if (dup2(sock, 3) < 0)
            _exit(1);
        close(sock);
        sock = 3;
    }
    (void)fcntl(sock, F_SETFD, FD_CLOEXEC);
    devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        (void)dup2(devnull, 0);
        (void)dup2(devnull, 1);
        if (devnull > 3)
            close(devnull);
    }
    if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
        for (i = 4; i < 1024; i++)
            close(i);
    S->sock = sock;
    /*
     * Nothing of the caller's for the payload to find: not its argv (host
     * paths, --input) nor its environment (API keys) in the memory /proc
     * shows, which the linux backend's init shares, and no dumpable memory
     * for a process-backend payload of the same uid to open.
     */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ad__sb_scrub_self("autodev-sandbox");
    if (cfg->change_uid) {
        int lock_fd = -1;
        if (claim_uid(cfg, cfg->host_uid, &lock_fd, S->uid_error, sizeof(S->uid_error)) < 0)
            cfg->change_uid = false;   /* runs answer sandbox_error, see execute() */
    }

    for (i = 1; i < NSIG; i++)
        if (i != SIGKILL && i != SIGSTOP)
            (void)signal(i, SIG_DFL);
    (void)signal(SIGPIPE, SIG_IGN);
    {
        sigset_t none;
        sigemptyset(&none);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
    }
    /* Supplementary groups (root's gid 0 among them) would follow the
     * payload into the user namespace, where setgroups is denied. */
    if (geteuid() == 0)
        (void)setgroups(0, NULL);
    /* Orphans of the process backend come back to us to be reaped. */
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    (void)prctl(PR_SET_NAME, "autodev-sandbox", 0, 0, 0);
}

void ad__sb_supervisor_main(struct ad__sb_config *cfg, int sock)
{
    struct ad__sb_super S;
    struct ad_buf req = AD_BUF_INIT, resp = AD_BUF_INIT;

    super_init(&S, cfg, sock);
    sock = S.sock;
    /* Once the sandbox has settled on its backend, the first run's setup
     * happens now rather than in the first request. */
    if (cfg->prewarm && !S.uid_error[0])
        cfg->ops->prewarm(&S);

    ad_buf_init(&req, (size_t)256 << 20);
    for (;;) {
        struct ad_err err = AD_ERR_INIT;
        struct ad_sandbox_result r;
        json_t *doc, *out;
        json_error_t jerr;

        if (ad__sb_frame_read(sock, &req, -1, &err) < 0)
            break;
        memset(&r, 0, sizeof(r));
        r.call_us = r.load_us = -1;
        doc = json_loadb(req.ptr, req.len, 0, &jerr);
        snprintf(r.execution_id, sizeof(r.execution_id), "%s",
                 doc ? (json_string_value(json_object_get(doc, "execution_id")) ?: "") : "");
        if (!doc) {
            r.status = AD_SB_SANDBOX_ERROR;
            set_error(&r, "SandboxError", "malformed request to the sandbox supervisor");
        } else {
            execute(&S, doc, &r);
        }
        json_decref(doc);
        out = ad_sandbox_result_json(&r);
        ad_sandbox_result_clear(&r);
        ad_buf_reset(&resp);
        if (!out || ad_json_dump(out, &resp) < 0) {
            json_decref(out);
            break;
        }
        json_decref(out);
        if (ad__sb_frame_write(sock, resp.ptr, resp.len) < 0)
            break;
        ad_buf_release(&req);
        ad_buf_init(&req, (size_t)256 << 20);
        ad_buf_release(&resp);
    }
    cfg->ops->cleanup(&S);
    _exit(0);
}
