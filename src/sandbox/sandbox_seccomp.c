#include "compat.h"

/*
 * The sandbox's seccomp denylist, compiled once with libseccomp into classic
 * BPF that a fork child can install without allocating.
 *
 * Every syscall not listed is allowed: the payload is an ordinary Python
 * program and an allowlist would break on every new interpreter release.
 * What is listed either reaches kernel surface a skill never needs (mounts,
 * keyrings, bpf, io_uring, modules) or breaks out of the process tree
 * (ptrace, namespaces, terminal injection). Listed calls fail with EPERM so
 * that Python raises an ordinary OSError; clone3 fails with ENOSYS because
 * its flags live in memory the filter cannot read, and glibc answers ENOSYS
 * by falling back to clone, whose flags it can.
 *
 * Socket address families are the one allow-list (see allowed_families).
 *
 * Of the arguments checked (clone flags, ioctl requests, socket domains,
 * personality) the kernel reads only the low 32 bits; the rules therefore
 * look at those bits only, or a caller could slip past them by setting
 * bit 32.
 */

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb_int.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#define LOW32 0xffffffffULL

/*
 * Calls denied outright. nr is the number to use when this libseccomp does
 * not know the name: syscalls numbered 424 and up have the same number on
 * every architecture but alpha, so a newer kernel's mount call is still
 * denied by an older libseccomp. -1: none (skipped when unknown).
 */
struct deny {
    const char *name;
    int nr;
};

static const struct deny deny_eperm[] = {
    /* Reading or steering other processes. */
    { "ptrace", -1 },
    { "process_vm_readv", -1 },
    { "process_vm_writev", -1 },
    /* Mounts, old and new API, and the root. */
    { "mount", -1 },
    { "umount2", -1 },
    { "pivot_root", -1 },
    { "chroot", -1 },
    { "move_mount", 429 },
    { "open_tree", 428 },
    { "open_tree_attr", 467 },
    { "fsopen", 430 },
    { "fsconfig", 431 },
    { "fsmount", 432 },
    { "fspick", 433 },
    { "mount_setattr", 442 },
    /* Namespaces; clone's flags are checked below. */
    { "unshare", -1 },
    { "setns", -1 },
    /* Keyrings. */
    { "keyctl", -1 },
    { "add_key", -1 },
    { "request_key", -1 },
    /* Large kernel attack surface a skill has no use for. */
    { "bpf", -1 },
    { "perf_event_open", -1 },
    { "userfaultfd", -1 },
    { "io_uring_setup", 425 },
    { "io_uring_enter", 426 },
    { "io_uring_register", 427 },
    /* The kernel itself: kexec, modules, swap, reboot, accounting, quotas. */
    { "kexec_load", -1 },
    { "kexec_file_load", -1 },
    { "init_module", -1 },
    { "finit_module", -1 },
    { "delete_module", -1 },
    { "swapon", -1 },
    { "swapoff", -1 },
    { "reboot", -1 },
    { "acct", -1 },
    { "quotactl", -1 },
    { "quotactl_fd", 443 },
    { "lookup_dcookie", -1 },
    /* File handles bypass path-based confinement. */
    { "open_by_handle_at", -1 },
    { "name_to_handle_at", -1 },
    /* Raw I/O ports, clocks, the kernel log, the terminal. */
    { "iopl", -1 },
    { "ioperm", -1 },
    { "settimeofday", -1 },
    { "clock_settime", -1 },
    { "clock_adjtime", -1 },
    { "adjtimex", -1 },
    { "syslog", -1 },
    { "vhangup", -1 },
};

/* One argument test: (arg & mask) == value, on the low 32 bits. */
struct deny_arg {
    const char *name;
    unsigned arg;
    uint32_t mask;
    uint32_t value;
};

static const struct deny_arg deny_args[] = {
    /*
     * clone with any namespace flag, one rule per flag since a rule's
     * conditions are and-ed. CLONE_NEWTIME shares its bit with clone's
     * exit-signal byte, where no valid signal sets it, so denying it
     * costs nothing. Flags are argument 0 on x86_64 and arm64 (not s390).
     */
    { "clone", 0, CLONE_NEWNS, CLONE_NEWNS },
    { "clone", 0, CLONE_NEWUTS, CLONE_NEWUTS },
    { "clone", 0, CLONE_NEWIPC, CLONE_NEWIPC },
    { "clone", 0, CLONE_NEWUSER, CLONE_NEWUSER },
    { "clone", 0, CLONE_NEWPID, CLONE_NEWPID },
    { "clone", 0, CLONE_NEWNET, CLONE_NEWNET },
    { "clone", 0, CLONE_NEWCGROUP, CLONE_NEWCGROUP },
    { "clone", 0, CLONE_NEWTIME, CLONE_NEWTIME },
    /* Pushing input into a terminal, and the console's private ioctl. */
    { "ioctl", 1, 0xffffffffu, TIOCSTI },
    { "ioctl", 1, 0xffffffffu, TIOCLINUX },
};

/*
 * Address families are an allow-list, not a denylist: a family the list
 * forgot (AF_ALG's kernel crypto, TIPC, RDS, CAN, each a module a socket()
 * call loads on a stock kernel; netlink, packet and vsock, which reach the
 * host past an empty network namespace) would otherwise be open, and new
 * kernels add families. unix is what Python and the harness need; inet and
 * inet6 stay so that the linux backend's empty network namespace answers
 * (ENETUNREACH) rather than the filter, and the process backend keeps the
 * host network it is documented to have. socket() and socketpair() both
 * take the family first.
 */
static const int allowed_families[] = { AF_UNIX, AF_INET, AF_INET6 };
#define MAX_ALLOWED_FAMILY AF_INET6

static int resolve(const char *name, int nr)
{
    int n = seccomp_syscall_resolve_name(name);

    return n >= 0 ? n : nr;
}

/* An unconditional rule failing with errnum. 1 when added, 0 when unknown, or -errno. */
static int add_plain(scmp_filter_ctx ctx, const char *name, int nr, int errnum)
{
    int n = resolve(name, nr);
    int rc;

    if (n < 0)
        return 0;
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errnum), n, 0);
    return rc < 0 ? rc : 1;
}

static int add_masked(scmp_filter_ctx ctx, int nr, unsigned arg, uint32_t mask, uint32_t value)
{
    struct scmp_arg_cmp cmp = { .arg = arg, .op = SCMP_CMP_MASKED_EQ,
                                .datum_a = mask, .datum_b = value };

    return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, &cmp);
}

/*
 * personality(2) may only query (0xffffffff) or ask for plain PER_LINUX (0);
 * anything else (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) is denied.
 * libseccomp cannot put two tests on one argument in one rule, so "neither
 * all zeros nor all ones" is spelt as "some bit i is 1 and bit i+1 is 0",
 * cyclically over 32 bits: 32 single-test rules whose union is exactly that.
 */
static int add_personality(scmp_filter_ctx ctx)
{
    int n = seccomp_syscall_resolve_name("personality");

    if (n < 0)
        return 0;
    for (unsigned i = 0; i < 32; i++) {
        uint32_t bit = 1u << i, next = 1u << ((i + 1) % 32);
        int rc = add_masked(ctx, n, 0, bit | next, bit);

        if (rc < 0)
            return rc;
    }
    return 1;
}

static bool family_allowed(int fam)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(allowed_families); i++)
        if (allowed_families[i] == fam)
            return true;
    return false;
}

/*
 * Denies every family of socket() and socketpair() but the allowed ones:
 * each family below the largest allowed that is not allowed (on the low 32
 * bits, which the kernel reads), and any argument above it as a whole
 * 64-bit value, which also catches an allowed family with bit 32 or above
 * set (glibc never sets them; the filter fails closed). 1 when added, or
 * -errno.
 */
static int add_families(scmp_filter_ctx ctx, const char *name)
{
    struct scmp_arg_cmp above = { .arg = 0, .op = SCMP_CMP_GT, .datum_a = MAX_ALLOWED_FAMILY };
    int n = seccomp_syscall_resolve_name(name), rc;

    if (n < 0)
        return 0;
    for (int fam = 0; fam < MAX_ALLOWED_FAMILY; fam++) {
        if (family_allowed(fam))
            continue;
        rc = add_masked(ctx, n, 0, 0xffffffffu, (uint32_t)fam);
        if (rc < 0)
            return rc;
    }
    rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), n, 1, &above);
    return rc < 0 ? rc : 1;
}

/*
 * Fills ctx with the denylist. Returns how many entries went in (each line
 * of the tables, and personality as one), or -errno from libseccomp.
 */
static int add_rules(scmp_filter_ctx ctx)
{
    int rules = 0, rc;

    for (size_t i = 0; i < AD_ARRAY_SIZE(deny_eperm); i++) {
        rc = add_plain(ctx, deny_eperm[i].name, deny_eperm[i].nr, EPERM);
        if (rc < 0)
            return rc;
        rules += rc;
    }
    rc = add_plain(ctx, "clone3", 435, ENOSYS);
    if (rc < 0)
        return rc;
    rules += rc;
    for (size_t i = 0; i < AD_ARRAY_SIZE(deny_args); i++) {
        const struct deny_arg *d = &deny_args[i];
        int n = seccomp_syscall_resolve_name(d->name);

        if (n < 0)
            continue;
        rc = add_masked(ctx, n, d->arg, d->mask, d->value);
        if (rc < 0)
            return rc;
        rules++;
    }
    rc = add_families(ctx, "socket");
    if (rc < 0)
        return rc;
    rules += rc;
    rc = add_families(ctx, "socketpair");
    if (rc < 0)
        return rc;
    rules += rc;
    rc = add_personality(ctx);
    if (rc < 0)
        return rc;
    return rules + rc;
}

/*
 * libseccomp 2.5 exports only to a file descriptor, so the program goes
 * through a memfd and is read back into memory we own.
 */
static int export_bpf(scmp_filter_ctx ctx, struct ad__sb_filter *f, struct ad_err *err)
{
    struct stat sb;
    size_t size, got = 0;
    int fd, rc;

    fd = memfd_create("autodev-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return ad_error(err, AD_EIO, "cannot make a memfd for the seccomp filter: %s",
                        strerror(errno));
    rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) {
        rc = ad_error(err, AD_ENOTSUP, "libseccomp cannot export the filter: %s",
                      strerror(-rc));
        goto out;
    }
    if (fstat(fd, &sb) != 0) {
        rc = ad_error(err, AD_EIO, "cannot stat the seccomp filter: %s", strerror(errno));
        goto out;
    }
    size = (size_t)sb.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
        size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        rc = ad_error(err, AD_EINTERNAL, "seccomp filter has a bad size (%zu bytes)", size);
        goto out;
    }
    f->insns = malloc(size);
    if (f->insns == NULL) {
        rc = ad_error(err, AD_ENOMEM, "out of memory for the seccomp filter");
        goto out;
    }
    while (got < size) {
        ssize_t n = pread(fd, (char *)f->insns + got, size - got, (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = ad_error(err, AD_EIO, "cannot read the seccomp filter back: %s",
                          n < 0 ? strerror(errno) : "short file");
            goto out;
        }
        got += (size_t)n;
    }
    f->len = (unsigned short)(size / sizeof(struct sock_filter));
    rc = 0;
out:
    close(fd);
    return rc;
}

int ad__sb_filter_build(struct ad__sb_filter *f, struct ad_err *err)
{
    scmp_filter_ctx ctx;
    int rules, rc;

    memset(f, 0, sizeof(*f));
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL)
        return ad_error(err, AD_ENOTSUP, "libseccomp cannot make a filter");
    /*
     * Only the native architecture is in the filter, so i386 calls (int 0x80)
     * and, on x86_64, x32 calls (numbers with bit 30 set, which libseccomp
     * routes to this action too) kill the process: the tables above are
     * native numbers and would not match there.
     */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0) {
        rc = ad_error(err, AD_ENOTSUP, "libseccomp refuses kill-process for foreign "
                      "architectures: %s", strerror(-rc));
        goto out;
    }
    /* A binary search over syscall numbers instead of a linear chain; optional. */
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    rules = add_rules(ctx);
    if (rules < 0) {
        rc = ad_error(err, AD_ENOTSUP, "libseccomp refuses a sandbox rule: %s",
                      strerror(-rules));
        goto out;
    }
    rc = export_bpf(ctx, f, err);
    if (rc == 0)
        f->rules = rules;
out:
    seccomp_release(ctx);
    if (rc != 0)
        ad__sb_filter_free(f);
    return rc;
}

void ad__sb_filter_free(struct ad__sb_filter *f)
{
    if (f == NULL)
        return;
    free(f->insns);
    f->insns = NULL;
    f->len = 0;
    f->rules = 0;
}

int ad__sb_filter_apply(const struct ad__sb_filter *f)
{
    struct sock_fprog prog;

    if (f == NULL || f->insns == NULL || f->len == 0)
        return -EINVAL;
    prog.len = f->len;
    prog.filter = f->insns;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
}
