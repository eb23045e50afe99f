#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h>

#include "sandbox/sb_int.h"
/* Included for its mountinfo parser, which this machine can show only one layout of. */
#include "sandbox/sandbox_cgroup.c"

/*
 * Parts of the sandbox on their own: the seccomp denylist, installed in
 * forked children that then try what it forbids; scrubbing a process's
 * argv and environment; and the cgroup slots, exercised for real when this
 * machine gives us a usable cgroup setup (skipped, with the probe's reason,
 * when it does not). The v2 path also runs on machines whose cgroups are
 * v1: against a synthetic cgroupfs tree, and against a cgroup2 mount made
 * in a private mount namespace (see "cgroup v2" below and
 * tests/sandbox/README.md for what each covers).
 */

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define HIGH_BIT (1UL << 32)   /* ignored by the kernel for int arguments */

/* ---- helpers ------------------------------------------------------------ */

/* Runs fn in a fork child and returns its wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };

        setrlimit(RLIMIT_CORE, &no_core);
        /* _exit: a sanitizer's exit-time work would meet the filter. */
        _exit(fn(arg));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static struct ad__sb_filter build_filter(void)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad__sb_filter f;

    assert_int_equal(ad__sb_filter_build(&f, &err), 0);
    return f;
}

/* ---- seccomp -------------------------------------------------------------- */

static void test_filter_builds(void **state)
{
    struct ad__sb_filter f = build_filter();

    assert_non_null(f.insns);
    assert_true(f.len > 0);
    /* 48 plain entries, clone3, 10 argument tests, the socket and socketpair family
     * allow-lists, personality: 62 with libseccomp 2.5.4. */
    assert_true(f.rules >= 50);
    ad__sb_filter_free(&f);
    assert_null(f.insns);
    assert_int_equal(f.len, 0);
    ad__sb_filter_free(&f);
    ad__sb_filter_free(NULL);
}

static void test_filter_apply_rejects_empty(void **state)
{
    struct ad__sb_filter f = { NULL, 0, 0 };

    assert_int_equal(ad__sb_filter_apply(&f), -EINVAL);
    assert_int_equal(ad__sb_filter_apply(NULL), -EINVAL);
}

/* Each check runs after the filter is in; true when it behaved. */
static bool fails_with(long rc, int errnum)
{
    return rc == -1 && errno == errnum;
}

/* A raw clone that must fail; a child it makes anyway leaves at once. */
static bool clone_fails(unsigned long flags)
{
    long rc = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);

    if (rc == 0)
        _exit(0);
    if (rc > 0) {
        waitpid((pid_t)rc, NULL, 0);
        return false;
    }
    return errno == EPERM;
}

static bool chk_ptrace(void)
{
    return fails_with(ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM);
}

static bool chk_unshare(void)
{
    return fails_with(unshare(CLONE_NEWUSER), EPERM) && fails_with(unshare(CLONE_NEWNS), EPERM);
}

static bool chk_clone3(void)
{
    /* struct clone_args, version 0: flags, pidfd, child_tid, parent_tid, exit_signal, ... */
    uint64_t args[8] = { 0, 0, 0, 0, SIGCHLD, 0, 0, 0 };
    long rc = syscall(SYS_clone3, args, sizeof(args));

    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t)rc, NULL, 0);
    return rc == -1 && errno == ENOSYS;
}

static bool chk_clone_ns(void)
{
    return clone_fails(CLONE_NEWNET) && clone_fails(CLONE_NEWUSER) &&
           clone_fails(CLONE_NEWPID | CLONE_NEWNS) && clone_fails(CLONE_NEWNET | HIGH_BIT);
}

static bool chk_clone_plain(void)
{
    long rc = syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
    int status = -1;

    if (rc == 0)
        _exit(7);
    return rc > 0 && waitpid((pid_t)rc, &status, 0) == rc && WIFEXITED(status) &&
           WEXITSTATUS(status) == 7;
}

static bool chk_sockets(void)
{
    return fails_with(socket(AF_NETLINK, SOCK_RAW, 0), EPERM) &&
           fails_with(socket(AF_PACKET, SOCK_RAW, 0), EPERM) &&
           fails_with(socket(AF_VSOCK, SOCK_STREAM, 0), EPERM) &&
           fails_with(syscall(SYS_socket, HIGH_BIT | AF_NETLINK, SOCK_RAW, 0), EPERM);
}

static bool chk_unix_socket(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), sv[2];

    if (fd < 0)
        return false;
    close(fd);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return false;
    close(sv[0]);
    close(sv[1]);
    return true;
}

/*
 * Address families are an allow-list: unix, inet and inet6 reach the
 * protocol (which may still refuse), every other family, present on this
 * kernel or not, answers EPERM, through socket() and socketpair(), with
 * bit 32 set or not. Without the filter most of them answer
 * EAFNOSUPPORT here and load a module on a stock kernel.
 */
static bool chk_families(void)
{
    for (long fam = 0; fam < 64; fam++) {
        int sv[2];
        bool allowed = fam == AF_UNIX || fam == AF_INET || fam == AF_INET6;
        long rc = syscall(SYS_socket, fam, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (rc >= 0)
            close((int)rc);
        if (!allowed && !fails_with(rc, EPERM))
            return false;
        if (allowed && rc < 0 && errno == EPERM)
            return false;
        if (!allowed && !fails_with(syscall(SYS_socketpair, fam, SOCK_STREAM, 0, sv), EPERM))
            return false;
        if (!allowed && !fails_with(syscall(SYS_socket, HIGH_BIT | (unsigned long)fam,
                                            SOCK_STREAM, 0), EPERM))
            return false;
    }
    return fails_with(syscall(SYS_socket, 1000L, SOCK_STREAM, 0), EPERM) &&
           fails_with(syscall(SYS_socket, -1L, SOCK_STREAM, 0), EPERM) &&
           fails_with(syscall(SYS_socket, HIGH_BIT | AF_UNIX, SOCK_STREAM, 0), EPERM);
}

static bool chk_getpid(void)
{
    return getpid() > 0 && syscall(SYS_getpid) == getpid();
}

static bool chk_tiocsti(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC), p[2], n = -1;
    char c = 'x';
    bool ok;

    if (fd < 0 || pipe(p) != 0)
        return false;
    /* The filter answers before the driver would say ENOTTY. */
    ok = fails_with(ioctl(fd, TIOCSTI, &c), EPERM) &&
         fails_with(ioctl(fd, (unsigned long)TIOCSTI | HIGH_BIT, &c), EPERM) &&
         fails_with(ioctl(fd, TIOCLINUX, &c), EPERM) &&
         ioctl(p[0], FIONREAD, &n) == 0 && n == 0;
    close(fd);
    close(p[0]);
    close(p[1]);
    return ok;
}

static bool chk_personality(void)
{
    return personality(0xffffffff) >= 0 && personality(PER_LINUX) >= 0 &&
           fails_with(personality(ADDR_NO_RANDOMIZE), EPERM) &&
           fails_with(personality(PER_LINUX32), EPERM) &&
           fails_with(personality(0xfffffffe), EPERM) &&
           fails_with(syscall(SYS_personality, HIGH_BIT | ADDR_NO_RANDOMIZE), EPERM);
}

/* Calls that would fail otherwise too, but with another errno. */
static bool chk_misc(void)
{
    return fails_with(umount2("/nonexistent-autodev-test", 0), EPERM) &&
           fails_with(chroot("/nonexistent-autodev-test"), EPERM) &&
           fails_with(syscall(SYS_bpf, -1, NULL, 0), EPERM) &&
           fails_with(syscall(SYS_io_uring_setup, 0, NULL), EPERM) &&
           fails_with(syscall(SYS_keyctl, -1, 0, 0, 0, 0), EPERM) &&
           fails_with(syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0), EPERM);
}

static const struct {
    const char *name;
    bool (*check)(void);
} checks[] = {
    { "ptrace", chk_ptrace },
    { "unshare", chk_unshare },
    { "clone3", chk_clone3 },
    { "clone with namespaces", chk_clone_ns },
    { "plain clone", chk_clone_plain },
    { "denied sockets", chk_sockets },
    { "unix socket", chk_unix_socket },
    { "address families", chk_families },
    { "getpid", chk_getpid },
    { "tiocsti", chk_tiocsti },
    { "personality", chk_personality },
    { "misc", chk_misc },
};

/* Exit code: 0 when every check held, else 1 + the first failing check. */
static int filtered_checks(void *arg)
{
    const struct ad__sb_filter *f = arg;

    if (ad__sb_filter_apply(f) != 0)
        return 100;
    for (size_t i = 0; i < AD_ARRAY_SIZE(checks); i++) {
        if (!checks[i].check())
            return (int)i + 1;
    }
    return 0;
}

static void test_filter_denies(void **state)
{
    struct ad__sb_filter f = build_filter();
    int status = in_child(filtered_checks, &f), code;

    assert_true(WIFEXITED(status));
    code = WEXITSTATUS(status);
    if (code > 0 && code <= (int)AD_ARRAY_SIZE(checks))
        fail_msg("check '%s' failed under the filter", checks[code - 1].name);
    assert_int_equal(code, 0);
    ad__sb_filter_free(&f);
}

#if defined(__x86_64__)
static int x32_getpid(void *arg)
{
    const struct ad__sb_filter *f = arg;

    if (f != NULL && ad__sb_filter_apply(f) != 0)
        return 100;
    syscall(0x40000000 | SYS_getpid);
    return 0;
}

static void test_filter_kills_x32(void **state)
{
    struct ad__sb_filter f = build_filter();
    int status = in_child(x32_getpid, &f);

    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
    ad__sb_filter_free(&f);
}

/* getpid through the i386 entry: 0 when it answered our pid. */
static int i386_getpid(void *arg)
{
    const struct ad__sb_filter *f = arg;
    long ret;

    if (f != NULL && ad__sb_filter_apply(f) != 0)
        return 100;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
    return ret == getpid() ? 0 : 1;
}

static void test_filter_kills_i386(void **state)
{
    struct ad__sb_filter f;
    int status = in_child(i386_getpid, NULL);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        print_message("# skipped: this kernel runs no i386 syscalls\n");
        skip();
    }
    f = build_filter();
    status = in_child(i386_getpid, &f);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
    ad__sb_filter_free(&f);
}
#endif

/* ---- scrubbing a forked process ------------------------------------------ */

/* Reads /proc/self/FILE into buf; its length, or -1. */
static ssize_t read_self(const char *file, char *buf, size_t cap)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/%s", file);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, cap);
    close(fd);
    return n;
}

/* 0 when cmdline reads "title\0", environ holds nothing but NULs and getenv finds nothing. */
static int scrubbed(void *arg)
{
    static char buf[1 << 16];
    ssize_t n;

    (void)arg;
    ad__sb_scrub_self("title");
    n = read_self("cmdline", buf, sizeof(buf));
    if (n != 6 || memcmp(buf, "title", 6) != 0)
        return 1;
    n = read_self("environ", buf, sizeof(buf));
    if (n < 0)
        return 2;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] != '\0')
            return 3;
    return getenv("PATH") == NULL && getenv("HOME") == NULL ? 0 : 4;
}

static void test_scrub_self(void **state)
{
    int status;

    assert_non_null(getenv("PATH"));
    status = in_child(scrubbed, NULL);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Only the child was scrubbed. */
    assert_non_null(getenv("PATH"));
}

/* ---- cgroups ------------------------------------------------------------- */

static void test_cg_mountinfo(void **state)
{
    static const struct {
        const char *line, *fstype, *controller, *cgpath, *want;   /* want NULL: no match */
    } cases[] = {
        { "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
          "cgroup2", "", "/", "/sys/fs/cgroup/unified" },
        { "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
          "cgroup2", "", "/user.slice/a.scope", "/sys/fs/cgroup/unified/user.slice/a.scope" },
        { "30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:4 master:1 - cgroup2 cgroup2 "
          "rw,nsdelegate,memory_recursiveprot", "cgroup2", "", "/a", "/sys/fs/cgroup/a" },
        { "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
          "cgroup", "memory", "/process_api/abc", "/sys/fs/cgroup/memory/process_api/abc" },
        { "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
          "cgroup2", "", "/", NULL },
        { "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
          "cgroup", "cpuacct", "/", "/sys/fs/cgroup/cpu,cpuacct" },
        { "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
          "cgroup", "memory", "/", NULL },
        { "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd",
          "cgroup", "memory", "/", NULL },
        /* A bind of a subtree (a container's view): paths are relative to its root. */
        { "50 40 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw",
          "cgroup2", "", "/docker/abc", "/sys/fs/cgroup" },
        { "50 40 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw",
          "cgroup2", "", "/docker/abc/sub", "/sys/fs/cgroup/sub" },
        { "50 40 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw",
          "cgroup2", "", "/docker/abcd", NULL },
        { "50 40 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw",
          "cgroup2", "", "/other", NULL },
        { "60 1 0:40 / /mnt/cg\\040two rw - cgroup2 none rw", "cgroup2", "", "/x",
          "/mnt/cg two/x" },
        { "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
          "cgroup2", "", "/", NULL },
        { "31 23 0:28 / /sys/fs/cgroup", "cgroup2", "", "/", NULL },
        { "", "cgroup2", "", "/", NULL },
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        char line[256], out[CG_PATH] = "";
        bool got;

        snprintf(line, sizeof(line), "%s\n", cases[i].line);
        got = mount_matches(line, cases[i].fstype, cases[i].controller, cases[i].cgpath, out,
                            sizeof(out));
        if (got != (cases[i].want != NULL))
            fail_msg("case %zu: match %d, want %d", i, got, cases[i].want != NULL);
        if (got)
            assert_string_equal(out, cases[i].want);
    }
}

struct cgfx {
    enum ad__cg_version v;
    char why[512];
    struct ad__cg_slot slot;
};

static int cg_setup(void **state)
{
    struct cgfx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->v = ad__cg_probe(fx->why, sizeof(fx->why));
    fx->slot.v2_fd = -1;
    *state = fx;
    return 0;
}

static int cg_teardown(void **state)
{
    struct cgfx *fx = *state;

    ad__cg_slot_destroy(&fx->slot);
    free(fx);
    return 0;
}

static void need_cgroups(const struct cgfx *fx)
{
    if (fx->v == AD__CG_NONE) {
        print_message("# skipped: no usable cgroups: %s\n", fx->why);
        skip();
    }
}

static void slot_make(struct cgfx *fx, const char *tag)
{
    struct ad_err err = AD_ERR_INIT;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "autodev.%ld.%s", (long)getpid(), tag);
    rc = ad__cg_slot_create(&fx->slot, fx->v, name, &err);
    if (rc != 0)
        fail_msg("slot create: %s", err.msg);
    assert_int_equal(fx->slot.version, fx->v);
}

static void slot_begin(struct cgfx *fx, int64_t mem, int pids)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad__cg_slot_begin(&fx->slot, mem, pids, &err) != 0)
        fail_msg("slot begin: %s", err.msg);
}

static void read_file(const char *dir, const char *file, char *buf, size_t size)
{
    char path[1024];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fp = fopen(path, "re");
    if (fp == NULL)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    n = fread(buf, 1, size - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

static void assert_file(const char *dir, const char *file, const char *want)
{
    char buf[256];

    read_file(dir, file, buf, sizeof(buf));
    buf[strcspn(buf, "\n")] = '\0';
    assert_string_equal(buf, want);
}

static bool file_exists(const char *dir, const char *file)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

static bool procs_has(const char *dir, pid_t pid)
{
    char buf[4096], want[32];
    size_t wl;

    read_file(dir, "cgroup.procs", buf, sizeof(buf));
    wl = (size_t)snprintf(want, sizeof(want), "%ld\n", (long)pid);
    for (const char *p = buf; *p != '\0'; p = strchr(p, '\n') + 1) {
        if (strncmp(p, want, wl) == 0)
            return true;
        if (strchr(p, '\n') == NULL)
            break;
    }
    return false;
}

/* The slot's directories, kept after destroy clears the slot. */
struct dirs {
    char mem[512], pids[512];
};

static void dirs_of(const struct ad__cg_slot *s, struct dirs *d)
{
    snprintf(d->mem, sizeof(d->mem), "%s", s->mem_dir);
    snprintf(d->pids, sizeof(d->pids), "%s", s->pids_dir);
}

static void assert_gone(const struct dirs *d)
{
    assert_int_equal(access(d->mem, F_OK), -1);
    assert_int_equal(errno, ENOENT);
    if (d->pids[0] != '\0') {
        assert_int_equal(access(d->pids, F_OK), -1);
        assert_int_equal(errno, ENOENT);
    }
}

/* A child that waits for one byte on a pipe, then runs fn. */
struct waiter {
    pid_t pid;
    int go;       /* our write end */
};

static struct waiter waiter_start(int (*fn)(void), bool attach, const struct ad__cg_slot *s)
{
    struct ad_err err = AD_ERR_INIT;
    struct waiter w;
    int p[2];

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    w.pid = fork();
    assert_true(w.pid >= 0);
    if (w.pid == 0) {
        char c;

        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            _exit(90);
        _exit(fn());
    }
    close(p[0]);
    w.go = p[1];
    if (attach && ad__cg_slot_attach(s, w.pid, &err) != 0) {
        kill(w.pid, SIGKILL);
        waitpid(w.pid, NULL, 0);
        fail_msg("attach: %s", err.msg);
    }
    return w;
}

static int waiter_finish(struct waiter *w)
{
    int status = 0;

    assert_int_equal(write(w->go, "x", 1), 1);
    close(w->go);
    assert_int_equal(waitpid(w->pid, &status, 0), w->pid);
    return status;
}

/* Maps and touches size bytes; 91 when the mapping itself fails. */
static int touch(size_t size)
{
    volatile char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);

    if (p == MAP_FAILED)
        return 91;
    for (size_t i = 0; i < size; i += 4096)
        p[i] = 1;
    return 0;
}

/* 200 MiB, well past the 64 MiB limit. */
static int hog(void)
{
    return touch(200u << 20);
}

static int modest(void)
{
    return touch(4u << 20);
}

static int idle(void)
{
    pause();
    return 0;
}

/*
 * Forks until fork fails. Exit code: how many forks worked, when the
 * failure was EAGAIN; 200 when fork never failed; 201 for another errno.
 */
static int forker(void)
{
    pid_t kids[64];
    int n = 0, code = 200;

    while (n < 64) {
        pid_t pid = fork();

        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) {
            code = errno == EAGAIN ? n : 201;
            break;
        }
        kids[n++] = pid;
    }
    for (int i = 0; i < n; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    return code;
}

static void test_cg_probe_reason(void **state)
{
    struct cgfx *fx = *state;

    print_message("# cgroup probe: %s%s%s\n",
                  fx->v == AD__CG_V2 ? "v2" : fx->v == AD__CG_V1 ? "v1" : "none",
                  fx->why[0] ? ": " : "", fx->why);
    if (fx->v == AD__CG_V2)
        assert_string_equal(fx->why, "");
    else
        assert_true(strlen(fx->why) > 0);
}

static void test_cg_bad_slots(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad__cg_slot s;
    struct ad__cg_stats st;

    assert_int_equal(ad__cg_slot_create(&s, AD__CG_V1, "../x", &err), AD_EINVAL);
    assert_int_equal(ad__cg_slot_create(&s, AD__CG_V2, "", &err), AD_EINVAL);
    assert_int_equal(ad__cg_slot_create(&s, AD__CG_NONE, "autodev.1.0", &err), AD_ENOTSUP);
    assert_int_equal(s.v2_fd, -1);
    assert_int_equal(ad__cg_slot_begin(&s, 1 << 20, 4, &err), AD_ESTATE);
    assert_int_equal(ad__cg_slot_attach(&s, getpid(), &err), AD_ESTATE);
    ad__cg_slot_end(&s, &st);
    assert_false(st.oom_killed);
    assert_int_equal(st.peak_bytes, -1);
    ad__cg_slot_destroy(&s);
}

static void test_cg_limits_oom(void **state)
{
    struct cgfx *fx = *state;
    struct ad__cg_slot *s = &fx->slot;
    struct ad__cg_stats st;
    struct waiter w;
    struct dirs d;
    int status;

    need_cgroups(fx);
    slot_make(fx, "t1");
    dirs_of(s, &d);
    slot_begin(fx, 64 << 20, 16);
    if (fx->v == AD__CG_V1) {
        assert_int_equal(s->v2_fd, -1);
        assert_file(s->mem_dir, "memory.limit_in_bytes", "67108864");
        if (file_exists(s->mem_dir, "memory.memsw.limit_in_bytes"))
            assert_file(s->mem_dir, "memory.memsw.limit_in_bytes", "67108864");
        assert_file(s->pids_dir, "pids.max", "16");
    } else {
        assert_true(s->v2_fd >= 0);
        assert_file(s->mem_dir, "memory.max", "67108864");
        if (file_exists(s->mem_dir, "memory.swap.max"))
            assert_file(s->mem_dir, "memory.swap.max", "0");
        assert_file(s->mem_dir, "pids.max", "16");
    }

    w = waiter_start(hog, true, s);
    assert_true(procs_has(s->mem_dir, w.pid));
    if (fx->v == AD__CG_V1)
        assert_true(procs_has(s->pids_dir, w.pid));
    status = waiter_finish(&w);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    ad__cg_slot_end(s, &st);
    assert_true(st.oom_killed);
    if (fx->v == AD__CG_V1)
        assert_true(st.peak_bytes > 0 && st.peak_bytes <= 64 << 20);
    else
        assert_true(st.peak_bytes == -1 || (st.peak_bytes > 0 && st.peak_bytes <= 64 << 20));

    /* The next run starts from a new baseline: no OOM this time. */
    slot_begin(fx, 64 << 20, 16);
    w = waiter_start(modest, true, s);
    status = waiter_finish(&w);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ad__cg_slot_end(s, &st);
    assert_false(st.oom_killed);

    /* Raising the limit again works past v1's memsw ordering. */
    slot_begin(fx, 128 << 20, 0);
    assert_file(s->mem_dir, fx->v == AD__CG_V1 ? "memory.limit_in_bytes" : "memory.max",
                "134217728");
    assert_file(fx->v == AD__CG_V1 ? s->pids_dir : s->mem_dir, "pids.max", "max");

    ad__cg_slot_destroy(s);
    assert_int_equal(s->version, AD__CG_NONE);
    assert_gone(&d);
}

static void test_cg_pids_limit(void **state)
{
    struct cgfx *fx = *state;
    struct waiter w;
    struct dirs d;
    int status;

    need_cgroups(fx);
    slot_make(fx, "t2");
    dirs_of(&fx->slot, &d);
    slot_begin(fx, 256 << 20, 16);
    w = waiter_start(forker, true, &fx->slot);
    status = waiter_finish(&w);
    assert_true(WIFEXITED(status));
    /* The forker itself is one of the 16. */
    assert_int_equal(WEXITSTATUS(status), 15);
    ad__cg_slot_destroy(&fx->slot);
    assert_gone(&d);
}

static void test_cg_destroy_kills(void **state)
{
    struct cgfx *fx = *state;
    struct waiter w;
    struct dirs d;
    int status = 0;

    need_cgroups(fx);
    slot_make(fx, "t3");
    dirs_of(&fx->slot, &d);
    slot_begin(fx, 64 << 20, 16);
    w = waiter_start(idle, true, &fx->slot);
    ad__cg_slot_destroy(&fx->slot);
    assert_gone(&d);
    assert_int_equal(waitpid(w.pid, &status, 0), w.pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    close(w.go);
}

/* Burns 300 ms of its own CPU time (not wall time) and exits 0. */
static int burn(void)
{
    struct rusage ru;

    do {
        getrusage(RUSAGE_SELF, &ru);
    } while (ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
                 ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000 < 300);
    return 0;
}

/* The slot accounts the CPU time of what runs in it, and holds it to one CPU. */
static void test_cg_cpu_account(void **state)
{
    struct cgfx *fx = *state;
    struct ad__cg_slot *s = &fx->slot;
    struct waiter w;
    struct dirs d;
    int64_t before, after;
    char cpu[512] = "", quota[512] = "";
    int status;

    need_cgroups(fx);
    slot_make(fx, "t5");
    dirs_of(s, &d);
    snprintf(cpu, sizeof(cpu), "%s", s->cpu_dir);
    snprintf(quota, sizeof(quota), "%s", s->quota_dir);
    if (!ad__cg_cpu_accounting(fx->v)) {
        assert_int_equal(ad__cg_slot_cpu_ns(s), -1);
        print_message("# skipped: no CPU account in this cgroup setup\n");
        skip();
    }
    if (fx->v == AD__CG_V1) {
        assert_true(cpu[0] != '\0');
        if (s->cpu_throttled)
            assert_file(quota[0] ? quota : cpu, "cpu.cfs_quota_us", "100000");
    } else if (s->cpu_throttled) {
        assert_file(s->mem_dir, "cpu.max", "100000 100000");
    }
    slot_begin(fx, 64 << 20, 16);
    before = ad__cg_slot_cpu_ns(s);
    assert_true(before >= 0);
    w = waiter_start(burn, true, s);
    if (fx->v == AD__CG_V1)
        assert_true(procs_has(cpu, w.pid));
    status = waiter_finish(&w);
    assert_true(WIFEXITED(status));
    after = ad__cg_slot_cpu_ns(s);
    /* Its 300 ms are in the account (ticks may round a few ms away). */
    assert_true(after - before >= 250 * 1000000LL);
    ad__cg_slot_destroy(s);
    assert_gone(&d);
    if (cpu[0])
        assert_int_equal(access(cpu, F_OK), -1);
    if (quota[0])
        assert_int_equal(access(quota, F_OK), -1);
}

static void parent_of(const char *dir, char *out, size_t n)
{
    const char *slash = strrchr(dir, '/');

    assert_non_null(slash);
    snprintf(out, n, "%.*s", (int)(slash - dir), dir);
}

/* Makes parent/autodev.<pid>.<tag> for each of the slot's hierarchies. */
static void make_named(const struct dirs *parents, long pid, const char *tag, struct dirs *out)
{
    assert_true(snprintf(out->mem, sizeof(out->mem), "%s/autodev.%ld.%s", parents->mem, pid,
                         tag) < (int)sizeof(out->mem));
    assert_int_equal(mkdir(out->mem, 0755), 0);
    out->pids[0] = '\0';
    if (parents->pids[0] != '\0') {
        assert_true(snprintf(out->pids, sizeof(out->pids), "%s/autodev.%ld.%s", parents->pids,
                             pid, tag) < (int)sizeof(out->pids));
        assert_int_equal(mkdir(out->pids, 0755), 0);
    }
}

static void test_cg_stale_sweep(void **state)
{
    struct cgfx *fx = *state;
    struct dirs parents = { "", "" }, stale, alive, d;
    pid_t dead;
    int status;

    need_cgroups(fx);
    slot_make(fx, "t4");
    parent_of(fx->slot.mem_dir, parents.mem, sizeof(parents.mem));
    if (fx->slot.pids_dir[0] != '\0')
        parent_of(fx->slot.pids_dir, parents.pids, sizeof(parents.pids));
    ad__cg_slot_destroy(&fx->slot);

    /* A pid that was ours and is gone (reaped) names the stale slot. */
    dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, &status, 0), dead);
    make_named(&parents, (long)dead, "7", &stale);
    make_named(&parents, (long)getpid(), "alive", &alive);

    slot_make(fx, "t4");
    dirs_of(&fx->slot, &d);
    assert_gone(&stale);
    assert_int_equal(access(alive.mem, F_OK), 0);
    assert_int_equal(rmdir(alive.mem), 0);
    if (alive.pids[0] != '\0')
        assert_int_equal(rmdir(alive.pids), 0);
    ad__cg_slot_destroy(&fx->slot);
    assert_gone(&d);
}

/* ---- cgroup v2 ------------------------------------------------------------ */

/*
 * The v2 path on any machine. A synthetic tree stands in for cgroupfs: the
 * code is pointed at it (cg_v2_self), and mkdir and rmdir answer as
 * cgroupfs would (a new cgroup has its interface files; one that still
 * holds a live process is EBUSY). Everything the v2 code writes and reads
 * is then checked: the probe, delegation, limits, swap 0, the one-CPU
 * quota, the OOM counter, the CPU account, attach, cgroup.kill, removal
 * and the stale sweep. The kernel's side is the next test's.
 */
static char syn_root[64];

static void put(const char *dir, const char *file, const char *text)
{
    char path[1024];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fp = fopen(path, "we");
    if (fp == NULL)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(text, fp);
    fclose(fp);
}

static const char *const syn_files[] = {
    "cgroup.controllers", "cgroup.subtree_control", "cgroup.procs", "cgroup.kill",
    "cgroup.events", "memory.max", "memory.swap.max", "memory.events", "pids.max", "cpu.max",
    "cpu.stat",
};

static int syn_mkdir(const char *path, mode_t mode)
{
    static const char *const init[] = {
        "cpu memory pids\n", "", "", "", "populated 0\n", "max\n", "max\n",
        "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", "max\n", "max 100000\n",
        "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
    };

    if (mkdir(path, mode) != 0)
        return -1;
    if (strncmp(path, syn_root, strlen(syn_root)) != 0)
        return 0;   /* the real cgroupfs of another probe (v1) */
    for (size_t i = 0; i < AD_ARRAY_SIZE(syn_files); i++)
        put(path, syn_files[i], init[i]);
    return 0;
}

/* A process that exists and is not a zombie. */
static bool live(long pid)
{
    char path[64], buf[512];
    const char *p;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (cg_read("/", path + 1, buf, sizeof(buf)) <= 0)
        return false;
    p = strrchr(buf, ')');
    return p && p[2] != 'Z' && p[2] != 'X';
}

static int syn_rmdir(const char *path)
{
    char buf[4096], file[1024];

    if (strncmp(path, syn_root, strlen(syn_root)) != 0 ||
        cg_read(path, "cgroup.procs", buf, sizeof(buf)) < 0)
        return rmdir(path);
    for (char *p = buf; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);

        if (end == p)
            break;
        if (live(pid)) {
            errno = EBUSY;
            return -1;
        }
        p = end + (*end == '\n');
    }
    for (size_t i = 0; i < AD_ARRAY_SIZE(syn_files); i++) {
        snprintf(file, sizeof(file), "%s/%s", path, syn_files[i]);
        unlink(file);
    }
    return rmdir(path);
}

static int syn_setup(void **state)
{
    snprintf(syn_root, sizeof(syn_root), "/tmp/autodev-cg2-XXXXXX");
    assert_non_null(mkdtemp(syn_root));
    rmdir(syn_root);
    assert_int_equal(syn_mkdir(syn_root, 0755), 0);
    snprintf(cg_v2_self, sizeof(cg_v2_self), "%s", syn_root);
    cg_mkdir = syn_mkdir;
    cg_rmdir = syn_rmdir;
    return cg_setup(state);
}

static int syn_teardown(void **state)
{
    cg_teardown(state);
    cg_v2_self[0] = '\0';
    (void)syn_rmdir(syn_root);
    cg_mkdir = mkdir;
    cg_rmdir = rmdir;
    return 0;
}

static void test_cg_v2_synthetic(void **state)
{
    struct cgfx *fx = *state;
    struct ad__cg_slot *s = &fx->slot;
    struct ad__cg_stats st;
    struct waiter w;
    struct dirs d, stale;
    char why[512];
    pid_t dead;
    int status;

    /* The probe found v2 at the tree, with nothing to say. */
    assert_int_equal(fx->v, AD__CG_V2);
    assert_string_equal(fx->why, "");
    assert_file(syn_root, "cgroup.subtree_control", "+cpu");   /* the last write */

    slot_make(fx, "s1");
    dirs_of(s, &d);
    assert_true(s->v2_fd >= 0);
    assert_string_equal(s->pids_dir, "");
    assert_true(s->cpu_throttled);
    assert_file(s->mem_dir, "memory.swap.max", "0");
    assert_file(s->mem_dir, "cpu.max", "100000 100000");
    assert_file(s->mem_dir, "memory.max", "268435456");   /* never unlimited */
    assert_file(s->mem_dir, "pids.max", "64");

    slot_begin(fx, 64 << 20, 16);
    assert_file(s->mem_dir, "memory.max", "67108864");
    assert_file(s->mem_dir, "pids.max", "16");
    put(s->mem_dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    ad__cg_slot_end(s, &st);
    assert_true(st.oom_killed);
    assert_int_equal(st.peak_bytes, -1);
    slot_begin(fx, 0, 0);   /* the baseline moves: the next run is not blamed */
    assert_file(s->mem_dir, "memory.max", "max");
    assert_file(s->mem_dir, "pids.max", "max");
    ad__cg_slot_end(s, &st);
    assert_false(st.oom_killed);

    assert_int_equal(ad__cg_slot_cpu_ns(s), 0);
    put(s->mem_dir, "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
    assert_int_equal(ad__cg_slot_cpu_ns(s), 1500000000LL);

    /* attach writes the pid; destroy kills what is listed and removes the cgroup. */
    w = waiter_start(idle, true, s);
    {
        char pid[32];

        snprintf(pid, sizeof(pid), "%ld", (long)w.pid);
        assert_file(s->mem_dir, "cgroup.procs", pid);
    }
    ad__cg_slot_destroy(s);
    assert_gone(&d);
    assert_int_equal(waitpid(w.pid, &status, 0), w.pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    close(w.go);

    /* A slot left by a dead sandbox is swept when the next one is made. */
    dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, &status, 0), dead);
    snprintf(stale.mem, sizeof(stale.mem), "%s/autodev.%ld.7", syn_root, (long)dead);
    stale.pids[0] = '\0';
    assert_int_equal(syn_mkdir(stale.mem, 0755), 0);
    slot_make(fx, "s2");
    assert_gone(&stale);
    ad__cg_slot_destroy(s);

    /* What the probe says when v2 cannot be had. */
    put(syn_root, "cgroup.controllers", "cpu pids\n");
    (void)ad__cg_probe(why, sizeof(why));
    assert_non_null(strstr(why, "cgroup v2 has no memory controller"));
    put(syn_root, "cgroup.controllers", "memory pids\n");
    put(syn_root, "cgroup.subtree_control", "");
    assert_int_equal(ad__cg_probe(why, sizeof(why)), AD__CG_V2);
    assert_file(syn_root, "cgroup.subtree_control", "+memory +pids");
    slot_make(fx, "s3");
    assert_file(s->mem_dir, "memory.swap.max", "0");
}

/*
 * The kernel's side of v2: a cgroup2 mount made in a private mount
 * namespace (in a child, so nothing of it outlives the test), the code
 * pointed at its root. Where that root has memory and pids controllers to
 * give (a stock v2 machine), the whole slot runs for real: limits, an OOM
 * kill, the CPU account, cgroup.kill. Where it has none (a v1 machine,
 * whose controllers are bound to v1), the probe must say so, and what v2
 * does without controllers runs for real: locating the mount, a cgroup
 * made and removed, moving a process in, CLONE_INTO_CGROUP, the CPU
 * account (cpu.stat is in every v2 cgroup), cgroup.kill.
 *
 * Exit codes of the child: 0 passed, 77 no cgroup2 mount here (skip),
 * else the failing step.
 */
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int in_cgroup(pid_t pid, const char *rel)
{
    char path[64], buf[1024], want[600];

    snprintf(path, sizeof(path), "proc/%ld/cgroup", (long)pid);
    snprintf(want, sizeof(want), "0::%s\n", rel);
    return cg_read("/", path, buf, sizeof(buf)) > 0 && strstr(buf, want) != NULL;
}

static int v2_without_controllers(const char *mnt)
{
    struct ad__cg_slot s;
    char rel[CG_PATH];
    struct waiter w;
    int64_t before;
    int status;
    pid_t pid;

    memset(&s, 0, sizeof(s));
    s.version = AD__CG_V2;
    s.v2_fd = -1;
    snprintf(rel, sizeof(rel), "/autodev.%ld.v2", (long)getpid());
    if (make_dir(s.mem_dir, mnt, rel + 1) < 0)
        return 10;
    s.v2_fd = open(s.mem_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s.v2_fd < 0)
        return 11;
    /* CLONE_INTO_CGROUP, as the linux backend's init is made. */
    {
        struct clone_args ca;

        memset(&ca, 0, sizeof(ca));
        ca.flags = CLONE_INTO_CGROUP;
        ca.exit_signal = SIGCHLD;
        ca.cgroup = (uint64_t)s.v2_fd;
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid == 0)
            _exit(in_cgroup(getpid(), rel) ? 0 : 1);
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            return 12;
    }
    /* A process moved in by cgroup.procs; its CPU time in cpu.stat. */
    before = ad__cg_slot_cpu_ns(&s);
    if (before < 0)
        return 13;
    w = waiter_start(burn, true, &s);
    if (!in_cgroup(w.pid, rel))
        return 14;
    status = waiter_finish(&w);
    if (!WIFEXITED(status) || ad__cg_slot_cpu_ns(&s) - before < 250 * 1000000LL)
        return 15;
    /* rmdir of a populated cgroup is EBUSY; cgroup.kill empties it. */
    w = waiter_start(idle, true, &s);
    if (rmdir(s.mem_dir) == 0 || errno != EBUSY)
        return 16;
    snprintf(rel, sizeof(rel), "%s", s.mem_dir);
    ad__cg_slot_destroy(&s);
    if (access(rel, F_OK) == 0)
        return 17;
    if (waitpid(w.pid, &status, 0) != w.pid || !WIFSIGNALED(status))
        return 18;
    close(w.go);
    return 0;
}

static int v2_with_controllers(void)
{
    struct ad__cg_slot s;
    struct ad__cg_stats st;
    struct ad_err err = AD_ERR_INIT;
    struct waiter w;
    char name[64];
    int64_t before;
    int status;

    snprintf(name, sizeof(name), "autodev.%ld.v2", (long)getpid());
    if (ad__cg_slot_create(&s, AD__CG_V2, name, &err) != 0)
        return 30;
    if (ad__cg_slot_begin(&s, 64 << 20, 16, &err) != 0)
        return 31;
    w = waiter_start(hog, true, &s);
    status = waiter_finish(&w);
    ad__cg_slot_end(&s, &st);
    if (!WIFSIGNALED(status) || !st.oom_killed)
        return 32;
    before = ad__cg_slot_cpu_ns(&s);
    w = waiter_start(burn, true, &s);
    status = waiter_finish(&w);
    if (!WIFEXITED(status) || ad__cg_slot_cpu_ns(&s) - before < 250 * 1000000LL)
        return 33;
    w = waiter_start(forker, true, &s);
    status = waiter_finish(&w);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 15)
        return 34;
    w = waiter_start(idle, true, &s);
    ad__cg_slot_destroy(&s);
    if (waitpid(w.pid, &status, 0) != w.pid || !WIFSIGNALED(status))
        return 35;
    close(w.go);
    return 0;
}

static int v2_mount_child(void)
{
    char mnt[64], self[CG_PATH], why[512];
    struct statfs sf;
    enum ad__cg_version v;
    int rc;

    snprintf(mnt, sizeof(mnt), "/tmp/autodev-cg2m-XXXXXX");
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        !mkdtemp(mnt))
        return 77;
    if (mount("cgroup2", mnt, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        rmdir(mnt);
        return 77;
    }
    /* The mount is in our mountinfo now, and leads to a cgroup2 directory. */
    rc = self_dir("", self, sizeof(self)) == 0 && statfs(self, &sf) == 0 &&
                 sf.f_type == CGROUP2_SUPER_MAGIC ? 0 : 1;
    snprintf(cg_v2_self, sizeof(cg_v2_self), "%s", mnt);
    v = rc ? AD__CG_NONE : ad__cg_probe(why, sizeof(why));
    if (rc == 0 && v == AD__CG_V2)
        rc = v2_with_controllers();
    else if (rc == 0)
        rc = strstr(why, "cgroup v2 has no ") ? v2_without_controllers(mnt) : 2;
    if (rc)
        fprintf(stderr, "# v2 mount: step %d failed (probe: %s)\n", rc, why);
    else
        printf("# v2 on a real cgroup2 mount: %s\n",
               v == AD__CG_V2 ? "memory, pids and cpu controllers, the whole slot"
                              : "no controllers to give, the controller-free parts");
    fflush(stdout);
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    return rc;
}

static void test_cg_v2_mount(void **state)
{
    int status = 0;
    pid_t pid;

    (void)state;
    if (geteuid() != 0) {
        print_message("# skipped: mounting cgroup2 needs root\n");
        skip();
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(v2_mount_child());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("# skipped: no cgroup2 mount in a private mount namespace here\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the harness's gate ------------------------------------------------- */

static void put_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

enum gate_how { GATE_OPEN, GATE_WRONG, GATE_EOF, GATE_NO_FD };

/*
 * Runs the harness as the linux backend does (argv ... DIR gate, the
 * result on fd 3, the gate on fd 4), the gate fed as how says. Returns the
 * exit status; *ran tells whether the skill's top level ran; res gets the
 * result line (empty when none).
 */
static int run_gated(const char *dir, enum gate_how how, bool *ran, char *res, size_t cap)
{
    char harness[512], marker[512];
    int rp[2], gp[2], status = 0;
    ssize_t n, got = 0;
    pid_t pid;

    snprintf(harness, sizeof(harness), "%s/harness.py", dir);
    snprintf(marker, sizeof(marker), "%s/ran", dir);
    unlink(marker);
    assert_int_equal(pipe(rp), 0);
    assert_int_equal(pipe(gp), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(rp[1], 3);
        if (how == GATE_NO_FD)
            close(4);
        else
            dup2(gp[0], 4);
        for (int fd = 5; fd < 64; fd++)
            close(fd);
        execl("/usr/bin/python3", "python3", "-I", "-S", harness, "run", dir, "gate", (char *)NULL);
        _exit(127);
    }
    close(rp[1]);
    close(gp[0]);
    if (how == GATE_OPEN)
        assert_int_equal(write(gp[1], "g", 1), 1);
    else if (how == GATE_WRONG)
        assert_int_equal(write(gp[1], "x", 1), 1);
    close(gp[1]);
    while ((n = read(rp[0], res + got, cap - 1 - (size_t)got)) > 0)
        got += n;
    res[got] = '\0';
    close(rp[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *ran = access(marker, F_OK) == 0;
    return status;
}

/* Nothing of the skill runs before a 'g' comes on the gate (sandbox_linux.c). */
static void test_harness_gate(void **state)
{
    char dir[] = "/tmp/ad-gate-XXXXXX", code[700], res[4096];
    bool ran;
    int st;

    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    {
        FILE *f;
        char path[600];
        snprintf(path, sizeof(path), "%s/harness.py", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(ad__sb_harness_py, 1, ad__sb_harness_py_len, f),
                         ad__sb_harness_py_len);
        assert_int_equal(fclose(f), 0);
    }
    snprintf(code, sizeof(code), "open(%s'%s/ran', 'w').close()\ndef run(x=None):\n    return 7\n",
             "", dir);
    put_text(dir, "skill.py", code);
    put_text(dir, "input.json", "null");

    st = run_gated(dir, GATE_EOF, &ran, res, sizeof(res));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 125);
    assert_false(ran);
    assert_string_equal(res, "");

    st = run_gated(dir, GATE_WRONG, &ran, res, sizeof(res));
    assert_int_equal(WEXITSTATUS(st), 125);
    assert_false(ran);

    /* "gate" without fd 4: an error result, and still nothing of the skill. */
    st = run_gated(dir, GATE_NO_FD, &ran, res, sizeof(res));
    assert_false(ran);
    assert_non_null(strstr(res, "\"ok\":false"));

    st = run_gated(dir, GATE_OPEN, &ran, res, sizeof(res));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(ran);
    assert_non_null(strstr(res, "\"ok\":true,\"output\":7"));

    {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
#define C(f) cmocka_unit_test_setup_teardown(f, cg_setup, cg_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_builds),
        cmocka_unit_test(test_filter_apply_rejects_empty),
        cmocka_unit_test(test_filter_denies),
#if defined(__x86_64__)
        cmocka_unit_test(test_filter_kills_x32),
        cmocka_unit_test(test_filter_kills_i386),
#endif
        cmocka_unit_test(test_scrub_self),
        cmocka_unit_test(test_cg_mountinfo),
        C(test_cg_probe_reason),
        cmocka_unit_test(test_cg_bad_slots),
        C(test_cg_limits_oom),
        C(test_cg_pids_limit),
        C(test_cg_destroy_kills),
        C(test_cg_cpu_account),
        cmocka_unit_test_setup_teardown(test_cg_v2_synthetic, syn_setup, syn_teardown),
        cmocka_unit_test(test_cg_v2_mount),
        C(test_cg_stale_sweep),
        cmocka_unit_test(test_harness_gate),
    };
#undef C

    return cmocka_run_group_tests(tests, NULL, NULL);
}
