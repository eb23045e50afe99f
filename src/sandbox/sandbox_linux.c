/*
 * The linux backend, ad__sb_linux_ops: clone3 into new user, mount, pid,
 * ipc, uts and net namespaces (cgroup namespace once the child is in its
 * cgroup), map the payload to an unprivileged host uid, build a read-only
 * root on a tmpfs, pivot into it and run a tiny init that forks the
 * payload, reaps and reports the payload's wait status. The slot's cgroup
 * holds the run's memory and pids limits.
 *
 * Sections:
 *   child side      init's steps between clone3 and the payload's execve
 *   parent side     spares: made, handed a job, discarded
 *   backend steps   what the supervisor calls through the ops table; the table
 *
 * Standby: the expensive part of a run happens before its request. Moving a
 * process into a cgroup v1 memory controller costs ~10 ms (the kernel waits
 * for an RCU grace period), clone3 with six namespaces ~1 ms, the mounts
 * ~1 ms. So the supervisor keeps one init ready ("spare"): cloned, mapped,
 * its root built and pivoted into, moved into the slot's cgroup by a helper
 * process while the previous run is still going. A request then only sends
 * the job down the spare's control pipe; init writes /skill, mounts /tmp,
 * makes / read-only, enters a cgroup namespace and forks the payload.
 * A one-shot sandbox (ad_sandbox_options.one_shot) readies only the first
 * run's init, at the supervisor's start, until a second run comes.
 *
 * Gate: a run whose init is still on its way into the cgroup (a one-shot
 * command's first run) does not wait for the move. The job goes down at
 * once and the payload's interpreter starts; the harness reads one byte from
 * fd 4 (the gate) before it runs anything of the skill, and the helper
 * writes it after it moved init and init's children. What runs before the
 * gate opens is the interpreter and the harness only, charged to the
 * supervisor's cgroup; every byte and process of the skill is the slot's.
 *
 * Control pipe, parent to child: 'm' once the id maps are written, then
 * the job (struct job_hdr, entry, code, input). The parent keeps the write
 * end open for the whole run, so the child can tell a dead parent (EOF)
 * from a slow one; PR_SET_PDEATHSIG then kills init, and with it the
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/error.h"
#include "sb_int.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Where the new root is built: a tmpfs mounted over it, in our own mount
 * namespace only, so the host's /tmp is neither touched nor seen. */
#define NEWROOT "/tmp"

/* The root tmpfs only caps what init writes there (it is read-only before
 * the payload starts), so its size can be generous. */
#define ROOT_SIZE (1LL << 30)
#define JOB_MAGIC 0x61646a62u   /* "adjb" */

struct job_hdr {
    uint32_t magic;
    uint32_t entry_len;
    uint64_t code_len;
    uint64_t input_len;
    struct ad_sandbox_limits lim;
    uint8_t cg_limited;
};

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
    struct ad__sb_run *run;
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
    size_t n = 0;
    return ad__sb_append(out, cap, &n, a) && ad__sb_append(out, cap, &n, b) ? out : NULL;
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

/* The mount flags of path that a remount inside a user namespace must keep (sb_int.h). */
unsigned long ad__sb_locked_flags(const char *path)
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
    keep = ad__sb_locked_flags(dst);
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

    /* "mode=M,size=N", without snprintf (not async-signal-safe). */
    ad__sb_append(opts, sizeof(opts), &n, "mode=");
    ad__sb_append(opts, sizeof(opts), &n, mode);
    ad__sb_append(opts, sizeof(opts), &n, ",size=");
    ad__sb_append_uint(opts, sizeof(opts), &n, (unsigned long long)size);
    if (mount("tmpfs", dst, "tmpfs", flags, opts) < 0)
        fail(c, dst, errno);
}

/* Everything that does not depend on the job: done while on standby. */
static void build_root(const struct child *c)
{
    static const char *const tops[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
    static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
    struct stat sb;
    size_t i;

    /* Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(c, "make / private", errno);
    mount_tmpfs(c, NEWROOT, MS_NOSUID | MS_NODEV, "0755", ROOT_SIZE);

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
    write_file(c, NEWROOT "/skill/harness.py", ad__sb_harness_py, ad__sb_harness_py_len, 0644);
    if (mkdir(NEWROOT "/tmp", 0755) < 0)
        fail(c, "mkdir /tmp", errno);

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
}

/* The job's part: the skill's files, /tmp, then / read-only. */
static void finish_root(const struct child *c)
{
    const struct ad__sb_run *run = c->run;

    write_file(c, "/skill/skill.py", run->code, run->code_len, 0644);
    write_file(c, "/skill/input.json", run->input, run->input_len, 0644);
    mount_tmpfs(c, "/tmp", MS_NOSUID | MS_NODEV | MS_NOEXEC, "1777",
                (long long)run->lim.tmpfs_bytes);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        fail(c, "remount / read-only", errno);
}

static int read_full(int fd, void *dst, size_t len)
{
    char *p = dst;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Memory for the job without malloc: a private anonymous mapping. */
static char *job_alloc(const struct child *c, size_t len)
{
    void *p = mmap(NULL, len + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail(c, "mmap job", errno);
    return p;
}

/* Reads the job into c->run. Returns -1 when the parent discarded us. */
static int read_job(struct child *c, int ctl)
{
    struct ad__sb_run *run = c->run;
    struct job_hdr h;
    char *entry, *code, *input;

    if (read_full(ctl, &h, sizeof(h)) < 0)
        return -1;
    if (h.magic != JOB_MAGIC || h.entry_len == 0 || h.entry_len > 256)
        fail(c, "malformed job", EINVAL);
    entry = job_alloc(c, h.entry_len);
    code = job_alloc(c, (size_t)h.code_len);
    input = job_alloc(c, (size_t)h.input_len);
    if (read_full(ctl, entry, h.entry_len) < 0 || read_full(ctl, code, (size_t)h.code_len) < 0 ||
        read_full(ctl, input, (size_t)h.input_len) < 0)
        return -1;
    entry[h.entry_len] = '\0';
    run->entry = entry;
    run->code = code;
    run->code_len = (size_t)h.code_len;
    run->input = input;
    run->input_len = (size_t)h.input_len;
    run->lim = h.lim;
    run->cg_limited = h.cg_limited != 0;
    return 0;
}

/*
 * Files made on a tmpfs of this namespace need an owner mapped in it, and
 * only AD__SB_INNER_ID is. So init becomes that id at once, keeping its
 * capabilities (within this namespace only) for the mounts to come; the
 * payload drops them all before execve.
 */
static void become_inner(const struct child *c)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];

    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail(c, "keepcaps", errno);
    if (setresgid(AD__SB_INNER_ID, AD__SB_INNER_ID, AD__SB_INNER_ID) < 0)
        fail(c, "setresgid in the namespace", errno);
    if (setresuid(AD__SB_INNER_ID, AD__SB_INNER_ID, AD__SB_INNER_ID) < 0)
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
 * pipes and the status pipe, and the read end of the control pipe.
 */
__attribute__((noreturn)) static void child_init(const struct ad__sb_config *cfg, int out_w,
                                                 int err_w, int res_w, int status_w, int ctl,
                                                 int gate_r)
{
    struct ad__sb_run run;
    struct child c = { &run, status_w };
    struct pollfd pfd = { ctl, POLLIN, 0 };
    char go;
    pid_t payload;
    int ws = 0;

    memset(&run, 0, sizeof(run));
    run.cfg = cfg;
    if (read(ctl, &go, 1) != 1 || go != 'm')
        _exit(121);   /* the parent gave up on us */
    /* Dumpable only while the parent wrote our id maps (see spare_make). */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail(&c, "pdeathsig", errno);
    /* Did the parent die before the line above? It holds the pipe open. */
    if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)) && !(pfd.revents & POLLIN))
        _exit(121);
    become_inner(&c);
    build_root(&c);
    if (sethostname("sandbox", 7) < 0)
        fail(&c, "sethostname", errno);

    /* Standby until the job comes; by then we are in the slot's cgroup. */
    if (read_job(&c, ctl) < 0)
        _exit(0);
    if (unshare(CLONE_NEWCGROUP) < 0)
        fail(&c, "cgroup namespace", errno);
    finish_root(&c);

    /* The payload shares our uid: keep it out of our memory and fds (the
     * status pipe). Before the fork, so there is no window; execve makes
     * the payload dumpable again for itself. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    run.gate_fd = gate_r;
    payload = fork();
    if (payload < 0)
        fail(&c, "fork payload", errno);
    if (payload == 0) {
        close(ctl);
        ad__sb_payload_exec(&run, out_w, err_w, res_w, status_w, "/skill", "/tmp", true,
                            AD__SB_INNER_ID, AD__SB_INNER_ID);
    }
    close(gate_r);
    close(out_w);
    close(err_w);
    close(res_w);

    for (;;) {
        pid_t w = waitpid(-1, &ws, 0);
        if (w == payload) {
            char buf[32];
            size_t n = 0;
            ad__sb_append(buf, sizeof(buf), &n, "S");
            ad__sb_append_uint(buf, sizeof(buf), &n, (unsigned)ws);
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

/* Kills and reaps an unused spare. */
static void spare_discard(struct ad__sb_spare *sp)
{
    if (!sp->ready)
        return;
    if (sp->pidfd >= 0)
        (void)syscall(SYS_pidfd_send_signal, sp->pidfd, SIGKILL, NULL, 0);
    else if (sp->pid > 0)
        (void)kill(sp->pid, SIGKILL);
    if (sp->pid > 0)
        while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    if (sp->attacher > 0)
        while (waitpid(sp->attacher, NULL, 0) < 0 && errno == EINTR)
            ;
    {
        int fds[] = { sp->pidfd, sp->out_r, sp->err_r, sp->res_r, sp->st_r, sp->ctl_w };
        for (size_t i = 0; i < AD_ARRAY_SIZE(fds); i++)
            if (fds[i] >= 0)
                close(fds[i]);
    }
    memset(sp, 0, sizeof(*sp));
}

/*
 * In the helper: moves init's children (the payload, when init forked it
 * before its own move) into the slot. A fork and a move exclude each other
 * in the kernel, so once init itself is moved, every child it has either is
 * listed here or was born in the slot. 0 or -1.
 */
static int attach_children(const struct ad__cg_slot *cg, pid_t pid)
{
    char path[64], buf[512];
    ssize_t n;
    size_t i;
    long kid = 0;
    bool in = false;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0 || (size_t)n >= sizeof(buf) - 1)
        return -1;   /* init has one child at most; more is not ours to trust */
    for (i = 0; i <= (size_t)n; i++) {
        char ch = i < (size_t)n ? buf[i] : ' ';
        if (ch >= '0' && ch <= '9') {
            kid = kid * 10 + (ch - '0');
            in = true;
        } else if (in) {
            /* A child gone meanwhile (ENOTFOUND) needs no move. */
            int rc = ad__cg_slot_attach(cg, (pid_t)kid, NULL);
            if (rc < 0 && rc != AD_ENOTFOUND)
                return -1;
            kid = 0;
            in = false;
        }
    }
    return 0;
}

/*
 * Moves pid (init) into the slot's cgroup from a helper process, so that
 * neither the supervisor nor the run sits through the kernel's slow attach
 * (see the top), then opens the gate (gate_w) for the payload.
 */
static int attach_async(struct ad__cg_slot *cg, pid_t pid, int gate_w, pid_t *helper,
                        struct ad_err *err)
{
    pid_t h = fork();
    if (h < 0)
        return ad_error(err, AD_EIO, "fork: %s", strerror(errno));
    if (h == 0) {
        if (ad__cg_slot_attach(cg, pid, NULL) != 0 || attach_children(cg, pid) != 0 ||
            ad__sb_write_all(gate_w, "g", 1) < 0)
            _exit(1);
        _exit(0);
    }
    *helper = h;
    return 0;
}

/* Makes a spare: cloned, mapped, root built, on its way into cg (may be NULL). */
static int spare_make(const struct ad__sb_config *cfg, struct ad__cg_slot *cg,
                      struct ad__sb_spare *sp, struct ad_err *err)
{
    int p_out[2] = { -1, -1 }, p_err[2] = { -1, -1 }, p_res[2] = { -1, -1 };
    int p_st[2] = { -1, -1 }, p_ctl[2] = { -1, -1 }, p_gate[2] = { -1, -1 };
    struct clone_args_v2 ca;
    char map[64];
    int pidfd = -1, rc = 0;
    pid_t pid;

    memset(sp, 0, sizeof(*sp));
    if (pipe2(p_out, O_CLOEXEC) < 0 || pipe2(p_err, O_CLOEXEC) < 0 ||
        pipe2(p_res, O_CLOEXEC) < 0 || pipe2(p_st, O_CLOEXEC) < 0 ||
        pipe2(p_ctl, O_CLOEXEC) < 0 || pipe2(p_gate, O_CLOEXEC) < 0) {
        rc = ad_error(err, AD_EIO, "pipe: %s", strerror(errno));
        goto fail;
    }

    memset(&ca, 0, sizeof(ca));
    ca.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    if (cg && cg->version == AD__CG_V2 && cg->v2_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)cg->v2_fd;
    }
    /*
     * The supervisor is not dumpable, and a child cloned from it would not
     * be either: its /proc files, uid_map among them, would then belong to
     * root, and a supervisor that is not root could not write the map. So
     * the child is cloned dumpable and makes itself non-dumpable again as
     * soon as its maps are written, before anything of a job reaches it.
     * As root the map can be written either way.
     */
    if (!cfg->change_uid)
        (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid != 0 && !cfg->change_uid)
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (pid < 0) {
        rc = ad_error(err, AD_ENOTSUP, "clone3 into new namespaces: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        close(p_out[0]);
        close(p_err[0]);
        close(p_res[0]);
        close(p_st[0]);
        close(p_ctl[1]);
        close(p_gate[1]);
        child_init(cfg, p_out[1], p_err[1], p_res[1], p_st[1], p_ctl[0], p_gate[0]);
    }

    close(p_out[1]);
    close(p_err[1]);
    close(p_res[1]);
    close(p_st[1]);
    close(p_ctl[0]);
    close(p_gate[0]);
    p_out[1] = p_err[1] = p_res[1] = p_st[1] = p_ctl[0] = p_gate[0] = -1;
    sp->ready = true;
    sp->pid = pid;
    sp->pidfd = pidfd;
    sp->out_r = p_out[0];
    sp->err_r = p_err[0];
    sp->res_r = p_res[0];
    sp->st_r = p_st[0];
    sp->ctl_w = p_ctl[1];
    sp->cg_limited = cg != NULL;

    /* uid 1000 inside is the slot's uid outside (or ours when not root). */
    snprintf(map, sizeof(map), "%d %u 1\n", AD__SB_INNER_ID,
             cfg->change_uid ? cfg->host_uid : (unsigned)getuid());
    rc = write_proc(pid, "uid_map", map, err);
    if (rc == 0)
        rc = write_proc(pid, "setgroups", "deny", err);
    if (rc == 0) {
        snprintf(map, sizeof(map), "%d %u 1\n", AD__SB_INNER_ID,
                 cfg->change_uid ? cfg->host_gid : (unsigned)getgid());
        rc = write_proc(pid, "gid_map", map, err);
    }
    /* The gate opens once init is where its limits hold: at once when it
     * was cloned there (or there is no cgroup), else when the helper has
     * moved it. Only the helper keeps the write end, so a helper that dies
     * leaves the gate shut (EOF). */
    if (rc == 0 && cg && !(ca.flags & CLONE_INTO_CGROUP))
        rc = attach_async(cg, pid, p_gate[1], &sp->attacher, err);
    else if (rc == 0 && ad__sb_write_all(p_gate[1], "g", 1) < 0)
        rc = ad_error(err, AD_EIO, "open the sandbox gate: %s", strerror(errno));
    close(p_gate[1]);
    p_gate[1] = -1;
    if (rc == 0 && ad__sb_write_all(sp->ctl_w, "m", 1) < 0)
        rc = ad_error(err, AD_EIO, "release the sandbox child: %s", strerror(errno));
    if (rc)
        spare_discard(sp);
    return rc;

fail:
    close_pair(p_out);
    close_pair(p_err);
    close_pair(p_res);
    close_pair(p_st);
    close_pair(p_ctl);
    close_pair(p_gate);
    return rc;
}

/* Hands run's job to the spare and its fds to run; the spare is used up. */
static int spare_start(struct ad__sb_spare *sp, struct ad__sb_run *run, struct ad_err *err)
{
    struct job_hdr h;
    size_t entry_len = strlen(run->entry);
    int rc;

    /* The job goes down at once, the helper may still be moving init: the
     * payload's interpreter starts meanwhile and waits at the gate. */
    memset(&h, 0, sizeof(h));
    h.magic = JOB_MAGIC;
    h.entry_len = (uint32_t)entry_len;
    h.code_len = run->code_len;
    h.input_len = run->input_len;
    h.lim = run->lim;
    h.cg_limited = run->cg_limited;
    /* The child reads as we write, so large code cannot fill the pipe for good. */
    rc = ad__sb_write_all(sp->ctl_w, &h, sizeof(h));
    if (rc == 0)
        rc = ad__sb_write_all(sp->ctl_w, run->entry, entry_len);
    if (rc == 0)
        rc = ad__sb_write_all(sp->ctl_w, run->code, run->code_len);
    if (rc == 0)
        rc = ad__sb_write_all(sp->ctl_w, run->input, run->input_len);
    if (rc < 0) {
        /* The spare died on standby: its status pipe may say why. */
        char why[AD__SB_STATUS_MAX];
        ssize_t n = read(sp->st_r, why, sizeof(why) - 1);
        spare_discard(sp);
        if (n > 1 && why[0] == 'E') {
            why[n] = '\0';
            return ad_error(err, AD_ENOTSUP, "%s", why + 1);
        }
        return ad_error(err, AD_EIO, "the sandbox init is gone: %s", strerror(-rc));
    }
    run->pid = sp->pid;
    run->pidfd = sp->pidfd;
    run->out_fd = sp->out_r;
    run->err_fd = sp->err_r;
    run->res_fd = sp->res_r;
    run->status_fd = sp->st_r;
    run->hold_fd = sp->ctl_w;
    run->attacher = sp->attacher;
    memset(sp, 0, sizeof(*sp));
    return 0;
}

/* ---- backend steps ------------------------------------------------------ */

/* Makes the slot's cgroup once; on failure rlimits stand in (degraded). */
static void ensure_cgroup(struct ad__sb_super *S)
{
    struct ad_err err = AD_ERR_INIT;
    char name[64];

    if (S->cfg->cg_version == AD__CG_NONE || S->cg_ready || S->cg_failed)
        return;
    snprintf(name, sizeof(name), "autodev.%d.%d", (int)getpid(), S->cfg->slot);
    if (ad__cg_slot_create(&S->cg, S->cfg->cg_version, name, &err) == 0)
        S->cg_ready = true;
    else
        S->cg_failed = true;
}

/* A sandbox known to use this backend gets its first init ready at once,
 * so that no run pays for it. */
static void linux_prewarm(struct ad__sb_super *S)
{
    struct ad_err err = AD_ERR_INIT;

    ensure_cgroup(S);
    (void)spare_make(S->cfg, S->cg_ready ? &S->cg : NULL, &S->spare, &err);
}

static void linux_limit(struct ad__sb_super *S, struct ad__sb_run *run)
{
    struct ad_err err = AD_ERR_INIT;

    ensure_cgroup(S);
    if (!S->cg_ready)
        return;
    /* pids.max also counts init and the next run's standby init. */
    if (ad__cg_slot_begin(&S->cg, run->lim.memory_bytes, run->lim.pids + 2, &err) == 0) {
        run->cg = &S->cg;
        run->cg_limited = true;
    }
}

static int linux_start(struct ad__sb_super *S, struct ad__sb_run *run, struct ad_err *err)
{
    struct ad_err perr = AD_ERR_INIT;
    int rc = 0;

    /* A spare made without the cgroup (or before it failed) will not do. */
    if (S->spare.ready && S->spare.cg_limited != (run->cg != NULL))
        spare_discard(&S->spare);
    if (S->spare.ready) {
        /* A spare that died on standby (killed from outside, say) costs
         * this run nothing: it is replaced once. */
        rc = spare_start(&S->spare, run, err);
        if (rc) {
            ad_err_clear(err);
            rc = spare_make(S->cfg, run->cg, &S->spare, err);
            if (rc == 0)
                rc = spare_start(&S->spare, run, err);
        }
    } else {
        rc = spare_make(S->cfg, run->cg, &S->spare, err);
        if (rc == 0)
            rc = spare_start(&S->spare, run, err);
    }
    /*
     * The next run's init gets ready while this one runs; for a one-shot
     * sandbox only once a second run has shown that more may come (a
     * probe's trial run shows nothing).
     */
    if (rc == 0 && (!S->cfg->one_shot || S->jobs >= 2))
        (void)spare_make(S->cfg, run->cg, &S->spare, &perr);
    return rc;
}

/* Without the cgroup's memory limit (or without seccomp) the run is degraded. */
static bool linux_full_isolation(const struct ad__sb_super *S, const struct ad__sb_run *run)
{
    return run->cg != NULL && S->cfg->have_filter;
}

/*
 * A killed init never reaps its payload, so wait4's rusage would miss the
 * payload's CPU time and memory. Before the first kill, read them from
 * /proc: init's children (the payload), their utime + stime + the times of
 * children they reaped, and VmHWM.
 */
static void sample_before_kill(struct ad__sb_run *run)
{
    char path[96], buf[1024];
    long tck = sysconf(_SC_CLK_TCK);
    FILE *f;
    long kid;

    if (run->cpu_ms_at_kill >= 0 || tck <= 0)
        return;
    run->cpu_ms_at_kill = 0;
    run->rss_kb_at_kill = 0;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)run->pid, (int)run->pid);
    f = fopen(path, "re");
    if (!f)
        return;
    while (fscanf(f, "%ld", &kid) == 1) {
        FILE *g;
        snprintf(path, sizeof(path), "/proc/%ld/stat", kid);
        g = fopen(path, "re");
        if (g) {
            if (fgets(buf, sizeof(buf), g)) {
                const char *p = strrchr(buf, ')');
                unsigned long long ut, st;
                long long cut, cst;
                /* After ")": state ppid pgrp session tty tpgid flags minflt
                 * cminflt majflt cmajflt utime stime cutime cstime */
                if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                                       "%lld %lld",
                                &ut, &st, &cut, &cst) == 4)
                    run->cpu_ms_at_kill += (int64_t)((ut + st + (unsigned long long)(cut + cst)) *
                                                     1000ULL / (unsigned long long)tck);
            }
            fclose(g);
        }
        snprintf(path, sizeof(path), "/proc/%ld/status", kid);
        g = fopen(path, "re");
        if (g) {
            while (fgets(buf, sizeof(buf), g)) {
                long long kb;
                if (sscanf(buf, "VmHWM: %lld kB", &kb) == 1 && kb > run->rss_kb_at_kill)
                    run->rss_kb_at_kill = kb;
            }
            fclose(g);
        }
    }
    fclose(f);
}

static void linux_kill(struct ad__sb_run *run)
{
    sample_before_kill(run);
    /* SIGKILL to the namespace's init takes the whole namespace down. */
    if (syscall(SYS_pidfd_send_signal, run->pidfd, SIGKILL, NULL, 0) < 0)
        (void)kill(run->pid, SIGKILL);
}

/* run->pid is init; the payload's status is the "S" record init wrote. */
static bool linux_reap(struct ad__sb_run *run, const char *status, size_t status_len,
                       int *wstatus)
{
    char *end;
    long v;
    int st = 0;

    /* The cgroup helper is done by now, or its move fails on an init that
     * is gone: a run it could not move never ran code of the skill (the
     * gate stayed shut), and must not pass for one that did. */
    if (run->attacher > 0) {
        while (waitpid(run->attacher, &st, 0) < 0 && errno == EINTR)
            ;
        run->attacher = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            run->lost_why = "could not move the sandbox into its cgroup";
            return false;
        }
    }
    if (status_len <= 1 || status[0] != 'S')
        return false;
    v = strtol(status + 1, &end, 10);
    if (*end != '\0' || v < 0 || v > 0xffff)
        return false;   /* "init exited without a status" */
    *wstatus = (int)v;
    return true;
}

static void linux_cleanup(struct ad__sb_super *S)
{
    spare_discard(&S->spare);
    if (S->cg_ready)
        ad__cg_slot_destroy(&S->cg);
    S->cg_ready = false;
}

const struct ad__sb_backend_ops ad__sb_linux_ops = {
    .name = "linux",
    .id = AD_SB_LINUX,
    .lost_status = "the sandbox init exited without a status",
    /* Namespaces fail in more ways (sysctls, LSMs, containers, seccomp of
     * our own) than a check could list: only a real run tells. */
    .probe = ad__sb_trial_run,
    .prewarm = linux_prewarm,
    .limit = linux_limit,
    .start = linux_start,
    .full_isolation = linux_full_isolation,
    .kill = linux_kill,
    .sweep = ad__sb_def_sweep,   /* init's exit kills what the payload left */
    .reap = linux_reap,
    .cleanup = linux_cleanup,
};
