/*
 * The linux backend's spawn: clone3 into new user, mount, pid, ipc, uts and
 * net namespaces (cgroup namespace once the child is in its cgroup), map
 * the payload to an unprivileged host uid, build a read-only root on a
 * tmpfs, pivot into it and run a tiny init that forks the payload, reaps
 * and reports the payload's wait status.
 *
 * Parent and child meet on a sync pipe: the child waits until the parent
 * has written the id maps and put it into its cgroup. The parent keeps the
 * write end open for the whole run, so the child can tell a dead parent
 * (EOF) from a slow one; PR_SET_PDEATHSIG then kills init, and with it the
 * namespace, should the supervisor die.
 *
 * Everything in the child runs between clone3 and execve: syscalls and
 * async-signal-safe helpers only. Errors go to the status pipe as
 * "E<step>: <reason>" and the child exits 120.
 */
#include "compat.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/error.h"
#include "sandbox/sb_int.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Where the new root is built: a tmpfs mounted over it, in our own mount
 * namespace only, so the host's /tmp is neither touched nor seen. */
#define NEWROOT "/tmp"

struct clone_args_v2 {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
    uint64_t set_tid;
    uint64_t set_tid_size;
    uint64_t cgroup;
};

static const char etc_passwd[] =
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    "sandbox:x:1000:1000:sandbox:/tmp:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char etc_group[] = "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n";
static const char etc_hosts[] = "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost\n";
static const char etc_nsswitch[] = "passwd: files\ngroup: files\nhosts: files\n";

/* ---- child side: small async-signal-safe steps ------------------------- */

struct child {
    const struct ad_sb_run *run;
    int status_fd;
};

__attribute__((noreturn)) static void fail(const struct child *c, const char *what, int errnum)
{
    ad__sb_report(c->status_fd, what, errnum);
    _exit(120);
}

/* Concatenates a and b into out (cap bytes); truncation is a failure. */
static const char *path2(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > cap)
        return NULL;
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
    return out;
}

static void write_file(const struct child *c, const char *path, const char *data, size_t len,
                       mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        fail(c, path, errno);
    if (ad__sb_write_all(fd, data, len) < 0)
        fail(c, path, errno);
    close(fd);
}

/* The mount flags of path that a remount inside a user namespace must keep. */
static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(path, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

/* Binds host path src at dst read-only, nosuid, nodev. */
static void bind_ro(const struct child *c, const char *src, const char *dst, bool is_dir)
{
    unsigned long keep;
    if (is_dir) {
        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
            fail(c, dst, errno);
    } else {
        int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            fail(c, dst, errno);
        close(fd);
    }
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(c, src, errno);
    keep = locked_flags(dst);
    if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | keep,
              NULL) < 0)
        fail(c, dst, errno);
}

/* Binds one device node from the host's /dev. */
static void bind_dev(const struct child *c, const char *name)
{
    char src[64], dst[64];
    int fd;
    if (!path2(src, sizeof(src), "/dev/", name) || !path2(dst, sizeof(dst), NEWROOT "/dev/", name))
        fail(c, "device path", ENAMETOOLONG);
    fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        fail(c, dst, errno);
    close(fd);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
        fail(c, src, errno);
}

/* Mirrors /bin, /lib, ... : a link stays a link, a directory is bound. */
static void top_level(const struct child *c, const char *name)
{
    char host[64], dst[64], target[256];
    struct stat sb;
    ssize_t n;

    if (!path2(host, sizeof(host), "/", name) || !path2(dst, sizeof(dst), NEWROOT "/", name))
        fail(c, "top-level path", ENAMETOOLONG);
    if (lstat(host, &sb) < 0)
        return;
    if (S_ISLNK(sb.st_mode)) {
        n = readlink(host, target, sizeof(target) - 1);
        if (n <= 0)
            fail(c, host, errno);
        target[n] = '\0';
        if (symlink(target, dst) < 0)
            fail(c, dst, errno);
    } else if (S_ISDIR(sb.st_mode)) {
        bind_ro(c, host, dst, true);
    }
}

static void mount_tmpfs(const struct child *c, const char *dst, unsigned long flags,
                        const char *mode, long long size)
{
    char opts[96];
    size_t n = 0;
    char num[24];
    int i = (int)sizeof(num) - 1;
    unsigned long long u = (unsigned long long)size;

    num[i] = '\0';
    do {
        num[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u && i > 0);
    opts[0] = '\0';
    /* snprintf is not async-signal-safe; build "mode=M,size=N" by hand. */
    for (const char *p = "mode="; *p && n + 1 < sizeof(opts); p++)
        opts[n++] = *p;
    for (const char *p = mode; *p && n + 1 < sizeof(opts); p++)
        opts[n++] = *p;
    for (const char *p = ",size="; *p && n + 1 < sizeof(opts); p++)
        opts[n++] = *p;
    for (const char *p = num + i; *p && n + 1 < sizeof(opts); p++)
        opts[n++] = *p;
    opts[n] = '\0';
    if (mount("tmpfs", dst, "tmpfs", flags, opts) < 0)
        fail(c, dst, errno);
}

static void build_root(const struct child *c)
{
    const struct ad_sb_run *run = c->run;
    static const char *const tops[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
    static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
    struct stat sb;
    size_t i;
    long long root_size = (long long)(run->code_len + run->input_len + ad_sb_harness_py_len) +
                          (1LL << 20);

    /* Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(c, "make / private", errno);
    mount_tmpfs(c, NEWROOT, MS_NOSUID | MS_NODEV, "0755", root_size);

    bind_ro(c, "/usr", NEWROOT "/usr", true);
    for (i = 0; i < AD_ARRAY_SIZE(tops); i++)
        top_level(c, tops[i]);

    if (mkdir(NEWROOT "/etc", 0755) < 0)
        fail(c, "mkdir /etc", errno);
    write_file(c, NEWROOT "/etc/passwd", etc_passwd, sizeof(etc_passwd) - 1, 0644);
    write_file(c, NEWROOT "/etc/group", etc_group, sizeof(etc_group) - 1, 0644);
    write_file(c, NEWROOT "/etc/hosts", etc_hosts, sizeof(etc_hosts) - 1, 0644);
    write_file(c, NEWROOT "/etc/nsswitch.conf", etc_nsswitch, sizeof(etc_nsswitch) - 1, 0644);
    if (stat("/etc/ld.so.cache", &sb) == 0 && S_ISREG(sb.st_mode))
        bind_ro(c, "/etc/ld.so.cache", NEWROOT "/etc/ld.so.cache", false);

    if (mkdir(NEWROOT "/skill", 0755) < 0)
        fail(c, "mkdir /skill", errno);
    write_file(c, NEWROOT "/skill/harness.py", ad_sb_harness_py, ad_sb_harness_py_len, 0644);
    write_file(c, NEWROOT "/skill/skill.py", run->code, run->code_len, 0644);
    write_file(c, NEWROOT "/skill/input.json", run->input, run->input_len, 0644);

    if (mkdir(NEWROOT "/tmp", 0755) < 0)
        fail(c, "mkdir /tmp", errno);
    mount_tmpfs(c, NEWROOT "/tmp", MS_NOSUID | MS_NODEV | MS_NOEXEC, "1777",
                (long long)run->lim.tmpfs_bytes);

    if (mkdir(NEWROOT "/dev", 0755) < 0)
        fail(c, "mkdir /dev", errno);
    mount_tmpfs(c, NEWROOT "/dev", MS_NOSUID | MS_NOEXEC, "0755", 65536);
    for (i = 0; i < AD_ARRAY_SIZE(devs); i++)
        bind_dev(c, devs[i]);
    if (symlink("/proc/self/fd", NEWROOT "/dev/fd") < 0 ||
        symlink("/proc/self/fd/0", NEWROOT "/dev/stdin") < 0 ||
        symlink("/proc/self/fd/1", NEWROOT "/dev/stdout") < 0 ||
        symlink("/proc/self/fd/2", NEWROOT "/dev/stderr") < 0)
        fail(c, "links in /dev", errno);
    if (mount(NULL, NEWROOT "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
              NULL) < 0)
        fail(c, "remount /dev read-only", errno);

    if (mkdir(NEWROOT "/proc", 0555) < 0)
        fail(c, "mkdir /proc", errno);
    if (mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        fail(c, "mount /proc", errno);
    bind_ro(c, NEWROOT "/proc/sys", NEWROOT "/proc/sys", true);

    /* Into the new root; the old one is detached and gone. */
    if (chdir(NEWROOT) < 0)
        fail(c, "chdir new root", errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        fail(c, "pivot_root", errno);
    if (umount2(".", MNT_DETACH) < 0)
        fail(c, "detach old root", errno);
    if (chdir("/") < 0)
        fail(c, "chdir /", errno);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        fail(c, "remount / read-only", errno);
}

/*
 * Files made on a tmpfs of this namespace need an owner mapped in it, and
 * only AD_SB_INNER_ID is. So init becomes that id at once, keeping its
 * capabilities (within this namespace only) for the mounts to come; the
 * payload drops them all before execve.
 */
static void become_inner(const struct child *c)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];

    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail(c, "keepcaps", errno);
    if (setresgid(AD_SB_INNER_ID, AD_SB_INNER_ID, AD_SB_INNER_ID) < 0)
        fail(c, "setresgid in the namespace", errno);
    if (setresuid(AD_SB_INNER_ID, AD_SB_INNER_ID, AD_SB_INNER_ID) < 0)
        fail(c, "setresuid in the namespace", errno);
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) < 0)
        fail(c, "capget", errno);
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail(c, "capset", errno);
}

/*
 * The namespace's init. Never returns. fds: the child ends of the output
 * pipes, the status pipe and the read end of the sync pipe.
 */
__attribute__((noreturn)) static void child_init(const struct ad_sb_run *run, int out_w,
                                                 int err_w, int res_w, int status_w, int sync_r)
{
    struct child c = { run, status_w };
    struct pollfd pfd = { sync_r, POLLIN, 0 };
    char go;
    pid_t payload;
    int ws = 0;

    if (read(sync_r, &go, 1) != 1)
        _exit(121);   /* the parent gave up on us */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail(&c, "pdeathsig", errno);
    /* Did the parent die before the line above? It holds the pipe open. */
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
        _exit(121);
    if (unshare(CLONE_NEWCGROUP) < 0)
        fail(&c, "cgroup namespace", errno);
    become_inner(&c);
    build_root(&c);
    if (sethostname("sandbox", 7) < 0)
        fail(&c, "sethostname", errno);

    payload = fork();
    if (payload < 0)
        fail(&c, "fork payload", errno);
    if (payload == 0) {
        close(sync_r);
        ad__sb_payload_exec(run, out_w, err_w, res_w, status_w, "/skill", "/tmp", true,
                            AD_SB_INNER_ID, AD_SB_INNER_ID);
    }
    close(out_w);
    close(err_w);
    close(res_w);
    /* The payload shares our namespaces; keep it out of our memory. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    for (;;) {
        pid_t w = waitpid(-1, &ws, 0);
        if (w == payload) {
            char buf[32];
            size_t n = 0;
            unsigned u = (unsigned)ws;
            char num[16];
            int i = (int)sizeof(num) - 1;
            num[i] = '\0';
            do {
                num[--i] = (char)('0' + u % 10);
                u /= 10;
            } while (u && i > 0);
            buf[n++] = 'S';
            while (num[i] && n + 1 < sizeof(buf))
                buf[n++] = num[i++];
            (void)ad__sb_write_all(status_w, buf, n);
            /* Our exit SIGKILLs whatever the payload left behind. */
            _exit(0);
        }
        if (w < 0 && errno != EINTR) {
            ad__sb_report(status_w, "payload vanished", errno);
            _exit(122);
        }
    }
}

/* ---- parent side -------------------------------------------------------- */

static int write_proc(pid_t pid, const char *file, const char *text, struct ad_err *err)
{
    char path[64];
    int fd, rc;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ad_error(err, AD_EIO, "open %s: %s", path, strerror(errno));
    rc = ad__sb_write_all(fd, text, strlen(text));
    close(fd);
    if (rc < 0)
        return ad_error(err, AD_EIO, "write %s: %s", path, strerror(-rc));
    return 0;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

int ad__sb_linux_spawn(struct ad_sb_run *run, struct ad_err *err)
{
    const struct ad_sb_config *cfg = run->cfg;
    int p_out[2] = { -1, -1 }, p_err[2] = { -1, -1 }, p_res[2] = { -1, -1 };
    int p_st[2] = { -1, -1 }, p_sync[2] = { -1, -1 };
    struct clone_args_v2 ca;
    char map[64];
    int pidfd = -1, rc = 0;
    pid_t pid;

    if (pipe2(p_out, O_CLOEXEC) < 0 || pipe2(p_err, O_CLOEXEC) < 0 ||
        pipe2(p_res, O_CLOEXEC) < 0 || pipe2(p_st, O_CLOEXEC) < 0 ||
        pipe2(p_sync, O_CLOEXEC) < 0) {
        rc = ad_error(err, AD_EIO, "pipe: %s", strerror(errno));
        goto fail;
    }

    memset(&ca, 0, sizeof(ca));
    ca.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    if (run->cg && run->cg->version == AD_CG_V2 && run->cg->v2_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)run->cg->v2_fd;
    }
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0) {
        rc = ad_error(err, AD_ENOTSUP, "clone3 into new namespaces: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        close(p_out[0]);
        close(p_err[0]);
        close(p_res[0]);
        close(p_st[0]);
        close(p_sync[1]);
        child_init(run, p_out[1], p_err[1], p_res[1], p_st[1], p_sync[0]);
    }

    close(p_out[1]);
    close(p_err[1]);
    close(p_res[1]);
    close(p_st[1]);
    close(p_sync[0]);
    p_out[1] = p_err[1] = p_res[1] = p_st[1] = p_sync[0] = -1;
    run->pid = pid;
    run->pidfd = pidfd;

    /* uid 1000 inside is the slot's uid outside (or ours when not root). */
    snprintf(map, sizeof(map), "%d %u 1\n", AD_SB_INNER_ID,
             cfg->change_uid ? cfg->host_uid : (unsigned)getuid());
    rc = write_proc(pid, "uid_map", map, err);
    if (rc == 0)
        rc = write_proc(pid, "setgroups", "deny", err);
    if (rc == 0) {
        snprintf(map, sizeof(map), "%d %u 1\n", AD_SB_INNER_ID,
                 cfg->change_uid ? cfg->host_gid : (unsigned)getgid());
        rc = write_proc(pid, "gid_map", map, err);
    }
    if (rc == 0 && run->cg && !(ca.flags & CLONE_INTO_CGROUP))
        rc = ad_cg_slot_attach(run->cg, pid, err);
    if (rc == 0 && ad__sb_write_all(p_sync[1], "g", 1) < 0)
        rc = ad_error(err, AD_EIO, "release the sandbox child: %s", strerror(errno));
    if (rc) {
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(pidfd);
        run->pid = -1;
        run->pidfd = -1;
        goto fail;
    }
    run->out_fd = p_out[0];
    run->err_fd = p_err[0];
    run->res_fd = p_res[0];
    run->status_fd = p_st[0];
    run->hold_fd = p_sync[1];
    return 0;

fail:
    close_pair(p_out);
    close_pair(p_err);
    close_pair(p_res);
    close_pair(p_st);
    close_pair(p_sync);
    return rc;
}
