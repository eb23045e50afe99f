/*
 * Command mode: an argv run in a host directory (see ad_sandbox_run_command
 * in sandbox.h for what each backend holds).
 *
 * linux: the caller forks a leader L (its own session; L's group is what a
 * timeout signals). L unshares the user, mount, pid, net, ipc and uts
 * namespaces, maps the caller's uid and gid to 1000 and forks the
 * namespace's init I. I builds the root on a tmpfs at /tmp (the worktree
 * reached through an O_PATH fd opened before /tmp was covered), pivots
 * into it, re-binds the protected paths read-only, and forks the payload,
 * which drops into dir, applies the seccomp denylist and execs the argv
 * as uid 1000 (execve leaves it no capabilities). I exits when the payload
 * does, and the kernel kills everything else in the pid namespace; L exits
 * with I's code. Both L and I die with their parent (PDEATHSIG), so a
 * SIGKILL to L ends the whole run.
 *
 * A setup step that fails is written on a status pipe ("E what: reason")
 * before anything of the command runs; auto then falls back to process.
 *
 * Limits (linux): a cgroup slot of its own per call (sandbox_cgroup.c,
 * the skill runner's code), made before the fork; L waits on a "go" pipe
 * until the caller has moved it into the slot (one byte: '1' in the slot,
 * '0' not, then rlimits stand in), so nothing of the run ever runs outside
 * it. The caller reads the slot's CPU account while it waits and kills the
 * run at cpu_ms; afterwards the slot's OOM counter says whether the memory
 * limit killed something, and the slot is drained and removed.
 *
 * Everything after fork is async-signal-safe: the strings are made first.
 */
#include "compat.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/error.h"
#include "sb_int.h"

#define CMD_ROOT "/tmp"
#define CMD_GRACE_MS 200
#define CMD_MAX_PROTECT 256

static const char cmd_passwd[] = "root:x:0:0::/:/bin/sh\n"
                                 "sandbox:x:1000:1000::/tmp:/bin/sh\n"
                                 "nobody:x:65534:65534::/:/bin/sh\n";
static const char cmd_group[] = "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n";
static const char cmd_hosts[] = "127.0.0.1 localhost sandbox\n";

/* What the children need, made before the fork. */
struct cmd_plan {
    const struct ad_sandbox_cmd *cmd;
    char *const *env;
    char uid_map[64], gid_map[64];
    char dir_fd_path[64];           /* /proc/self/fd/N */
    char root_dir[4096 + 8];        /* CMD_ROOT + dir */
    int dir_fd;
    int status_w;
    int out_w;
    int go_r;                       /* the child's end of the go pipe, -1: none */
    bool cg_on;                     /* the child: L was moved into the slot */
    int64_t memory_bytes, cpu_ms;   /* defaults filled in */
    int pids;
    struct ad__cg_slot *cg;         /* the caller's slot, NULL: rlimits only */
    struct ad__sb_filter filter;
};

static char *const empty_env[] = { NULL };

__attribute__((noreturn)) static void cmd_fail(int fd, const char *what, int errnum)
{
    ad__sb_report(fd, what, errnum);
    _exit(120);
}

/* Binds src at dst (made first: a directory or an empty file) read-only. */
static void cmd_bind_ro(int fd, const char *src, const char *dst, bool make, bool is_dir)
{
    if (make && is_dir) {
        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
            cmd_fail(fd, dst, errno);
    } else if (make) {
        int f = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (f < 0)
            cmd_fail(fd, dst, errno);
        close(f);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        cmd_fail(fd, src, errno);
    if (mount(NULL, dst, NULL,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | ad__sb_locked_flags(dst),
              NULL) < 0)
        cmd_fail(fd, dst, errno);
}

static void cmd_write(int fd, const char *path, const char *data, size_t len)
{
    int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f < 0 || ad__sb_write_all(f, data, len) < 0)
        cmd_fail(fd, path, errno);
    close(f);
}

/* mkdir -p of path (absolute), in place on a copy. */
static void cmd_mkdirs(int fd, const char *path)
{
    char p[4096 + 8];
    size_t n = 0;
    if (!ad__sb_append(p, sizeof(p), &n, path))
        cmd_fail(fd, "directory path", ENAMETOOLONG);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            cmd_fail(fd, p, errno);
        *s = '/';
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        cmd_fail(fd, p, errno);
}

static void cmd_top_level(int fd, const char *name)
{
    char host[64], dst[64], target[256];
    size_t a = 0, b = 0;
    struct stat sb;
    ssize_t n;

    if (!ad__sb_append(host, sizeof(host), &a, "/") || !ad__sb_append(host, sizeof(host), &a, name) ||
        !ad__sb_append(dst, sizeof(dst), &b, CMD_ROOT "/") || !ad__sb_append(dst, sizeof(dst), &b, name))
        cmd_fail(fd, "top-level path", ENAMETOOLONG);
    if (lstat(host, &sb) < 0)
        return;
    if (S_ISLNK(sb.st_mode)) {
        n = readlink(host, target, sizeof(target) - 1);
        if (n <= 0)
            cmd_fail(fd, host, errno);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            cmd_fail(fd, dst, errno);
    } else if (S_ISDIR(sb.st_mode)) {
        cmd_bind_ro(fd, host, dst, true, true);
    }
}

static void cmd_build_root(const struct cmd_plan *pl)
{
    static const char *const tops[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
    static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
    int fd = pl->status_w;
    struct stat sb;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        cmd_fail(fd, "make / private", errno);
    if (mount("tmpfs", CMD_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1048576") < 0)
        cmd_fail(fd, "tmpfs root", errno);
    cmd_bind_ro(fd, "/usr", CMD_ROOT "/usr", true, true);
    for (size_t i = 0; i < AD_ARRAY_SIZE(tops); i++)
        cmd_top_level(fd, tops[i]);

    if (mkdir(CMD_ROOT "/etc", 0755) < 0)
        cmd_fail(fd, "mkdir /etc", errno);
    cmd_write(fd, CMD_ROOT "/etc/passwd", cmd_passwd, sizeof(cmd_passwd) - 1);
    cmd_write(fd, CMD_ROOT "/etc/group", cmd_group, sizeof(cmd_group) - 1);
    cmd_write(fd, CMD_ROOT "/etc/hosts", cmd_hosts, sizeof(cmd_hosts) - 1);
    if (stat("/etc/ld.so.cache", &sb) == 0 && S_ISREG(sb.st_mode))
        cmd_bind_ro(fd, "/etc/ld.so.cache", CMD_ROOT "/etc/ld.so.cache", true, false);

    if (mkdir(CMD_ROOT "/dev", 0755) < 0)
        cmd_fail(fd, "mkdir /dev", errno);
    if (mount("tmpfs", CMD_ROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536") < 0)
        cmd_fail(fd, "tmpfs /dev", errno);
    for (size_t i = 0; i < AD_ARRAY_SIZE(devs); i++) {
        char src[32], dst[64];
        size_t a = 0, b = 0;
        int f;
        ad__sb_append(src, sizeof(src), &a, "/dev/");
        ad__sb_append(src, sizeof(src), &a, devs[i]);
        ad__sb_append(dst, sizeof(dst), &b, CMD_ROOT "/dev/");
        ad__sb_append(dst, sizeof(dst), &b, devs[i]);
        f = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (f < 0)
            cmd_fail(fd, dst, errno);
        close(f);
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
            cmd_fail(fd, src, errno);
    }
    if (symlink("/proc/self/fd", CMD_ROOT "/dev/fd") < 0 ||
        symlink("/proc/self/fd/0", CMD_ROOT "/dev/stdin") < 0 ||
        symlink("/proc/self/fd/1", CMD_ROOT "/dev/stdout") < 0 ||
        symlink("/proc/self/fd/2", CMD_ROOT "/dev/stderr") < 0)
        cmd_fail(fd, "links in /dev", errno);

    /* /tmp first: the directory may lie below it. */
    if (mkdir(CMD_ROOT "/tmp", 01777) < 0)
        cmd_fail(fd, "mkdir /tmp", errno);
    if (mount("tmpfs", CMD_ROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=268435456") < 0)
        cmd_fail(fd, "tmpfs /tmp", errno);
    cmd_mkdirs(fd, pl->root_dir);
    if (mount(pl->dir_fd_path, pl->root_dir, NULL, MS_BIND | MS_REC, NULL) < 0)
        cmd_fail(fd, "bind the directory", errno);
    close(pl->dir_fd);

    if (mkdir(CMD_ROOT "/proc", 0555) < 0)
        cmd_fail(fd, "mkdir /proc", errno);
    if (mount("proc", CMD_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        cmd_fail(fd, "mount /proc", errno);

    if (chdir(CMD_ROOT) < 0)
        cmd_fail(fd, "chdir new root", errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        cmd_fail(fd, "pivot_root", errno);
    if (umount2(".", MNT_DETACH) < 0)
        cmd_fail(fd, "detach old root", errno);
    if (chdir("/") < 0)
        cmd_fail(fd, "chdir /", errno);

    /* The protected paths, at the same place inside: read-only over the writable bind. */
    for (const char *const *p = pl->cmd->protect; p && *p; p++)
        cmd_bind_ro(fd, *p, *p, false, false);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        cmd_fail(fd, "remount / read-only", errno);
    if (sethostname("sandbox", 7) < 0)
        cmd_fail(fd, "sethostname", errno);
}

/*
 * No capabilities now or after execve, for a caller that runs as root on the
 * host (the process backend): without CAP_SYS_PTRACE and CAP_DAC_* the
 * command cannot read the caller's environment through /proc, nor files
 * that are not root's own.
 */
static void cmd_drop_caps(int fd)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];

    if (geteuid() != 0)
        return;
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
              SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) < 0)
        cmd_fail(fd, "securebits", errno);
    for (int c = 0; c <= 63; c++)
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            cmd_fail(fd, "drop the bounding set", errno);
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) < 0)
        cmd_fail(fd, "capset", errno);
}

static void cmd_set_limit(int fd, int res, rlim_t v)
{
    struct rlimit rl = { v, v };

    if (setrlimit(res, &rl) < 0)
        cmd_fail(fd, "setrlimit", errno);
}

/*
 * Per-process limits: RLIMIT_CPU as a backstop one second past the run's
 * limit (the cgroup's account is the real one), no core dumps, and, only
 * when no cgroup holds the run, RLIMIT_AS as the memory limit: with a
 * cgroup it is left alone, since runtimes that reserve address space
 * (Go, the JVM, sanitizers) fail under it without using the memory.
 */
static void cmd_rlimits(const struct cmd_plan *pl)
{
    rlim_t cpu_s = (rlim_t)((pl->cpu_ms + 999) / 1000) + 1;

    cmd_set_limit(pl->status_w, RLIMIT_CORE, 0);
    {
        struct rlimit rl = { cpu_s, cpu_s + 1 };

        if (setrlimit(RLIMIT_CPU, &rl) < 0)
            cmd_fail(pl->status_w, "setrlimit cpu", errno);
    }
    if (!pl->cg_on)
        cmd_set_limit(pl->status_w, RLIMIT_AS, (rlim_t)pl->memory_bytes);
}

/* The child waits until the caller has put it into the slot (or gave up). */
static void cmd_wait_go(struct cmd_plan *pl)
{
    char c = '0';
    ssize_t k;

    if (pl->go_r < 0)
        return;
    do
        k = read(pl->go_r, &c, 1);
    while (k < 0 && errno == EINTR);
    pl->cg_on = k == 1 && c == '1';
    close(pl->go_r);
    pl->go_r = -1;
}

/* The command itself, in either backend. Never returns. */
__attribute__((noreturn)) static void cmd_exec(const struct cmd_plan *pl, bool drop_caps)
{
    int devnull = open("/dev/null", O_RDONLY);
    int r;

    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pl->out_w, 1) < 0 || dup2(pl->out_w, 2) < 0)
        cmd_fail(pl->status_w, "standard streams", errno);
    if (chdir(pl->cmd->dir) < 0)
        cmd_fail(pl->status_w, pl->cmd->dir, errno);
    cmd_rlimits(pl);
    if (drop_caps)
        cmd_drop_caps(pl->status_w);
    r = ad__sb_filter_apply(&pl->filter);
    if (r < 0)
        cmd_fail(pl->status_w, "seccomp", -r);
    /* From here on the command runs: the status pipe closes on exec. */
    execvpe(pl->cmd->argv[0], pl->cmd->argv, pl->env);
    _exit(127);
}

/* The pid namespace's init. Never returns. */
__attribute__((noreturn)) static void cmd_init(const struct cmd_plan *pl)
{
    pid_t payload;
    int ws = 0;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        cmd_fail(pl->status_w, "pdeathsig", errno);
    /* init holds a copy of the caller's memory and environment: closed to the command. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        cmd_fail(pl->status_w, "not dumpable", errno);
    cmd_build_root(pl);
    payload = fork();
    if (payload < 0)
        cmd_fail(pl->status_w, "fork the command", errno);
    if (payload == 0)
        cmd_exec(pl, false);
    close(pl->status_w);
    close(pl->out_w);
    for (;;) {
        pid_t w = waitpid(-1, &ws, 0);
        if (w == payload)
            _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
        if (w < 0 && errno != EINTR)
            _exit(122);
    }
}

static void cmd_write_proc(int fd, const char *file, const char *text)
{
    int f = open(file, O_WRONLY | O_CLOEXEC);
    size_t n = 0;
    while (text[n])
        n++;
    if (f < 0 || ad__sb_write_all(f, text, n) < 0)
        cmd_fail(fd, file, errno);
    close(f);
}

/* The leader of the linux backend. Never returns. */
__attribute__((noreturn)) static void cmd_leader_linux(struct cmd_plan *pl)
{
    pid_t init;
    int ws = 0;

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                CLONE_NEWUTS) < 0)
        cmd_fail(pl->status_w, "namespaces", errno);
    /* Our /proc/self files are ours only while we are dumpable (the caller is not):
     * so for the maps alone, then closed again. */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
        cmd_fail(pl->status_w, "dumpable for the id maps", errno);
    cmd_write_proc(pl->status_w, "/proc/self/setgroups", "deny");
    cmd_write_proc(pl->status_w, "/proc/self/uid_map", pl->uid_map);
    cmd_write_proc(pl->status_w, "/proc/self/gid_map", pl->gid_map);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        cmd_fail(pl->status_w, "not dumpable", errno);
    /* Opened here, in the new mount namespace: a bind takes no mount of another one. */
    {
        struct cmd_plan *w = pl;
        size_t n = 0;
        w->dir_fd = open(pl->cmd->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->dir_fd < 0)
            cmd_fail(pl->status_w, pl->cmd->dir, errno);
        if (!ad__sb_append(w->dir_fd_path, sizeof(w->dir_fd_path), &n, "/proc/self/fd/") ||
            !ad__sb_append_uint(w->dir_fd_path, sizeof(w->dir_fd_path), &n, (unsigned)w->dir_fd))
            cmd_fail(pl->status_w, "fd path", ENAMETOOLONG);
    }
    init = fork();
    if (init < 0)
        cmd_fail(pl->status_w, "fork init", errno);
    if (init == 0)
        cmd_init(pl);
    /* The timeout's SIGTERM is for the command: we go (and the namespace with
     * us) at the SIGKILL that follows, so the command has its grace. */
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGTERM, &sa, NULL);
    }
    close(pl->status_w);
    close(pl->out_w);
    close(pl->dir_fd);
    while (waitpid(init, &ws, 0) < 0)
        if (errno != EINTR)
            _exit(122);
    _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
}

/* Keeps the last cap bytes of what the command wrote. */
static int cmd_keep_tail(struct ad_buf *out, const char *data, size_t n, size_t cap, bool *trunc)
{
    if (n >= cap) {
        ad_buf_reset(out);
        *trunc = true;
        return ad_buf_add(out, data + n - cap, cap);
    }
    if (out->len + n > cap) {
        size_t drop = out->len + n - cap;
        memmove(out->ptr, out->ptr + drop, out->len - drop);
        out->len -= drop;
        out->ptr[out->len] = '\0';
        *trunc = true;
    }
    return ad_buf_add(out, data, n);
}

static int64_t now_ms(void)
{
    return ad_mono_ns() / 1000000;
}

/*
 * One attempt with one backend. 1 when the setup failed before the command
 * ran (why in err); 0 when it ran; a negative code when autodev failed.
 */
static int cmd_attempt(struct cmd_plan *pl, enum ad_sb_backend be, struct ad_buf *out,
                       struct ad_sandbox_cmd_result *res, struct ad_err *err)
{
    const struct ad_sandbox_cmd *cmd = pl->cmd;
    int outp[2], st[2], go[2] = { -1, -1 }, ws = 0, rc = 0;
    bool use_cg = be == AD_SB_LINUX && pl->cg;
    int64_t cpu0 = -1, cpu_ns;
    bool reaped = false, eof = false, st_eof = false;
    int64_t start = now_ms(), wall = cmd->wall_ms > 0 ? cmd->wall_ms : AD_SB_DEFAULT_WALL_MS;
    int64_t deadline = start + wall, kill_at = -1, reaped_at = 0;
    size_t cap = cmd->output_cap ? cmd->output_cap : (size_t)AD_SB_DEFAULT_OUTPUT;
    char status[AD__SB_STATUS_MAX + 1], chunk[8192];
    size_t status_len = 0;
    pid_t pid;

    if (pipe2(outp, O_CLOEXEC) < 0)
        return ad_error(err, AD_EIO, "cannot make a pipe: %s", strerror(errno));
    if (pipe2(st, O_CLOEXEC) < 0) {
        close(outp[0]);
        close(outp[1]);
        return ad_error(err, AD_EIO, "cannot make a pipe: %s", strerror(errno));
    }
    if (use_cg && pipe2(go, O_CLOEXEC) < 0)
        use_cg = false;
    pl->out_w = outp[1];
    pl->status_w = st[1];
    pl->go_r = go[0];
    pl->cg_on = false;
    pid = fork();
    if (pid < 0) {
        rc = ad_error(err, AD_EIO, "cannot fork: %s", strerror(errno));
        close(outp[0]);
        close(outp[1]);
        close(st[0]);
        close(st[1]);
        if (use_cg) {
            close(go[0]);
            close(go[1]);
        }
        return rc;
    }
    if (pid == 0) {
        close(outp[0]);
        close(st[0]);
        if (go[1] >= 0)
            close(go[1]);
        setsid();
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        cmd_wait_go(pl);
        if (be == AD_SB_LINUX)
            cmd_leader_linux(pl);
        cmd_exec(pl, true);
    }
    setpgid(pid, pid);
    close(outp[1]);
    close(st[1]);
    ad_buf_reset(out);
    memset(res, 0, sizeof(*res));
    res->backend = be;
    res->degraded = be != AD_SB_LINUX;
    res->cpu_ms = -1;
    if (use_cg) {
        struct ad_err aerr = AD_ERR_INIT;

        close(go[0]);
        pl->go_r = -1;
        res->cgroup = ad__cg_slot_attach(pl->cg, pid, &aerr) == 0;
        cpu0 = res->cgroup ? ad__cg_slot_cpu_ns(pl->cg) : -1;
        if (ad__sb_write_all(go[1], res->cgroup ? "1" : "0", 1) < 0)
            kill(pid, SIGKILL);
        close(go[1]);
    }

    while (!reaped || !eof || !st_eof) {
        int64_t now = now_ms();
        struct pollfd p[2] = { { eof ? -1 : outp[0], POLLIN, 0 }, { st_eof ? -1 : st[0], POLLIN, 0 } };

        if (reaped && now > reaped_at + 1000)
            break;
        if (!res->timed_out && now >= deadline) {
            res->timed_out = true;
            kill(-pid, SIGTERM);
            kill_at = now + CMD_GRACE_MS;
        }
        /* The run's CPU time, every process of it, from the slot's account. */
        if (cpu0 >= 0 && !res->timed_out && !res->cpu_limited && !reaped &&
            (cpu_ns = ad__cg_slot_cpu_ns(pl->cg)) >= 0 &&
            (cpu_ns - cpu0) / 1000000 >= pl->cpu_ms) {
            res->cpu_limited = true;
            kill_at = now;
        }
        if (kill_at >= 0 && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            kill_at = -1;
        }
        if ((!eof || !st_eof) && poll(p, 2, 20) > 0) {
            if (!eof && p[0].revents) {
                ssize_t k = read(outp[0], chunk, sizeof(chunk));
                if (k > 0 && !rc)
                    rc = cmd_keep_tail(out, chunk, (size_t)k, cap, &res->truncated);
                else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
                    eof = true;
            }
            if (!st_eof && p[1].revents) {
                ssize_t k = read(st[0], status + status_len, sizeof(status) - 1 - status_len);
                if (k > 0)
                    status_len += (size_t)k;
                else if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
                    st_eof = true;
            }
        } else if (eof && st_eof) {
            struct timespec ts = { 0, 10 * 1000000 };
            nanosleep(&ts, NULL);
        }
        if (!reaped && waitpid(pid, &ws, WNOHANG) == pid) {
            reaped = true;
            reaped_at = now_ms();
            kill(-pid, SIGKILL);
        }
    }
    if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, &ws, 0);
    }
    close(outp[0]);
    close(st[0]);
    res->wall_ms = now_ms() - start;
    if (cpu0 >= 0 && (cpu_ns = ad__cg_slot_cpu_ns(pl->cg)) >= cpu0)
        res->cpu_ms = (cpu_ns - cpu0) / 1000000;
    if (rc)
        return ad_error(err, rc, "command output: cannot keep it");
    if (status_len > 0 && status[0] == 'E') {
        status[status_len] = '\0';
        ad_error(err, AD_ENOTSUP, "the %s sandbox cannot run the command here: %s",
                 ad_sb_backend_name(be), status + 1);
        return 1;
    }
    if (WIFEXITED(ws)) {
        res->exited = !res->timed_out && !res->cpu_limited;
        res->status = WEXITSTATUS(ws);
    } else if (WIFSIGNALED(ws)) {
        res->status = WTERMSIG(ws);
    }
    return 0;
}

/* Checks cmd and fills the plan's strings. */
static int cmd_plan_make(const struct ad_sandbox_cmd *cmd, struct cmd_plan *pl, struct ad_err *err)
{
    struct stat sb;
    size_t dlen, n = 0;

    memset(pl, 0, sizeof(*pl));
    pl->cmd = cmd;
    pl->dir_fd = -1;
    pl->go_r = -1;
    pl->memory_bytes = cmd->memory_bytes > 0 ? cmd->memory_bytes : AD_SB_CMD_DEFAULT_MEMORY;
    pl->pids = cmd->pids > 0 ? cmd->pids : AD_SB_CMD_DEFAULT_PIDS;
    pl->cpu_ms = cmd->cpu_ms > 0 ? cmd->cpu_ms
                 : cmd->wall_ms > 0 ? cmd->wall_ms : AD_SB_DEFAULT_WALL_MS;
    if (cmd->memory_bytes < 0 || cmd->pids < 0 || cmd->cpu_ms < 0)
        return ad_error(err, AD_EINVAL, "sandbox command: a limit is negative");
    pl->env = cmd->env ? cmd->env : empty_env;
    if (!cmd->argv || !cmd->argv[0] || !cmd->argv[0][0])
        return ad_error(err, AD_EINVAL, "sandbox command: no command given");
    if (!cmd->dir || cmd->dir[0] != '/' || stat(cmd->dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return ad_error(err, AD_EINVAL, "sandbox command: the directory '%s' is not an absolute "
                        "path to a directory", cmd->dir ? cmd->dir : "(none)");
    dlen = strlen(cmd->dir);
    if (dlen >= 4096)
        return ad_error(err, AD_EINVAL, "sandbox command: the directory path is too long");
    for (size_t i = 0; cmd->protect && cmd->protect[i]; i++) {
        const char *p = cmd->protect[i];
        if (i >= CMD_MAX_PROTECT)
            return ad_error(err, AD_EINVAL, "sandbox command: more than %d protected paths",
                            CMD_MAX_PROTECT);
        if (strncmp(p, cmd->dir, dlen) != 0 || (p[dlen] != '/' && cmd->dir[dlen - 1] != '/') ||
            strstr(p, "/../") || lstat(p, &sb) < 0 || S_ISLNK(sb.st_mode))
            return ad_error(err, AD_EINVAL, "sandbox command: the protected path '%s' is not an "
                            "existing file or directory inside '%s'", p, cmd->dir);
    }
    snprintf(pl->uid_map, sizeof(pl->uid_map), "%d %u 1", AD__SB_INNER_ID, (unsigned)getuid());
    snprintf(pl->gid_map, sizeof(pl->gid_map), "%d %u 1", AD__SB_INNER_ID, (unsigned)getgid());
    ad__sb_append(pl->root_dir, sizeof(pl->root_dir), &n, CMD_ROOT);
    ad__sb_append(pl->root_dir, sizeof(pl->root_dir), &n, cmd->dir);
    return ad__sb_filter_build(&pl->filter, err);
}

/*
 * The cgroup version command mode uses, probed once per process (the probe
 * makes and removes a cgroup: a few milliseconds that no run should pay
 * twice).
 */
static enum ad__cg_version cmd_cg_version(void)
{
    static int version = -1;
    int v = __atomic_load_n(&version, __ATOMIC_ACQUIRE);

    if (v < 0) {
        v = (int)ad__cg_probe(NULL, 0);
        __atomic_store_n(&version, v, __ATOMIC_RELEASE);
    }
    return (enum ad__cg_version)v;
}

/* A slot of its own for this run, its limits set. 0, or -1: rlimits only. */
static int cmd_slot(struct ad__cg_slot *slot, const struct cmd_plan *pl)
{
    static unsigned counter;
    enum ad__cg_version v = cmd_cg_version();
    struct ad_err err = AD_ERR_INIT;
    char name[64];

    if (v == AD__CG_NONE)
        return -1;
    snprintf(name, sizeof(name), "autodev.%d.cmd%u", (int)getpid(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    if (ad__cg_slot_create(slot, v, name, &err) < 0)
        return -1;
    /* pids.max also counts the leader and the namespace's init. */
    if (ad__cg_slot_begin(slot, pl->memory_bytes, pl->pids + 2, &err) < 0) {
        ad__cg_slot_destroy(slot);
        return -1;
    }
    return 0;
}

int ad_sandbox_run_command(const struct ad_sandbox_cmd *cmd, struct ad_buf *out,
                           struct ad_sandbox_cmd_result *res, struct ad_err *err)
{
    struct cmd_plan pl;
    struct ad_err why = AD_ERR_INIT;
    int rc;

    memset(res, 0, sizeof(*res));
    if (!cmd || !out)
        return ad_error(err, AD_EINVAL, "sandbox command: nothing to run");
    /* As ad_sandbox_new does: a process-backend command runs as our uid and
     * could read our environment (API keys) and memory through /proc. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    rc = cmd_plan_make(cmd, &pl, err);
    if (rc < 0) {
        ad__sb_filter_free(&pl.filter);
        return rc;
    }
    rc = 1;
    if (cmd->backend == AD_SB_AUTO || cmd->backend == AD_SB_LINUX) {
        struct ad__cg_slot slot;

        pl.cg = cmd_slot(&slot, &pl) == 0 ? &slot : NULL;
        rc = cmd_attempt(&pl, AD_SB_LINUX, out, res, &why);
        if (pl.cg) {
            struct ad__cg_stats st;

            ad__cg_slot_end(pl.cg, &st);
            res->oom = rc == 0 && res->cgroup && st.oom_killed;
            ad__cg_slot_destroy(pl.cg);
            pl.cg = NULL;
        }
        if (rc == 1 && cmd->backend == AD_SB_LINUX)
            rc = ad_error(err, AD_ENOTSUP, "%s", why.msg);
        else if (rc < 0 && why.code)
            ad_error(err, rc, "%s", why.msg);
    }
    if (rc == 1) {
        struct ad_err perr = AD_ERR_INIT;
        rc = cmd_attempt(&pl, AD_SB_PROCESS, out, res, &perr);
        if (rc == 1)
            rc = ad_error(err, AD_EIO, "%s", perr.msg);
        else if (rc < 0)
            ad_error(err, rc, "%s", perr.msg);
    }
    ad__sb_filter_free(&pl.filter);
    return rc;
}
