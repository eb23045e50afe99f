/*
 * The processes of a run as /proc shows them: the tree below a pid, walked
 * through /proc/PID/task/TID/children, to kill it or to add up its CPU time.
 *
 * The CPU sum is what a run without a cgroup account (the process backend,
 * the linux backend when not root) is limited by: every live descendant's
 * own time and that of the children it reaped, plus what the supervisor
 * reaped itself. It cannot see a child that the kernel reaped on its
 * parent's behalf (SIGCHLD ignored, SA_NOCLDWAIT): such a child's time is
 * added to no one. Each process still stops at its own RLIMIT_CPU, and
 * the wall-clock limit bounds the rest.
 *
 * The supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER), so a
 * process of the run whose parent dies is re-parented to the supervisor,
 * not to the host's init: double forks and setsid leave the process group
 * and the session, never the supervisor's tree. Walking that tree
 * therefore finds every process the run still has, whatever uid it runs
 * as; only a process that some other program starts on the run's behalf
 * (a service of the same uid) is outside it.
 *
 * Allocation-free (fixed buffers, raw open/read/getdents64), so it is safe
 * in the supervisor whatever the caller's threads did before the fork.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_int.h"

/* Processes a walk visits at most; a run has at most limits.pids of them. */
#define TREE_MAX 8192

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Reads path into buf (cap - 1 bytes at most, NUL-terminated). Length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while (got + 1 < cap) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* "/proc/" a "/" b "/" c, without snprintf. */
static void proc_path(char *out, size_t cap, long a, const char *b, long c, const char *d)
{
    size_t n = 0;

    ad__sb_append(out, cap, &n, "/proc/");
    ad__sb_append_uint(out, cap, &n, (unsigned long long)a);
    ad__sb_append(out, cap, &n, b);
    if (c >= 0) {
        ad__sb_append_uint(out, cap, &n, (unsigned long long)c);
        ad__sb_append(out, cap, &n, d);
    }
}

/*
 * Appends the children of every thread of pid to kids (up to max in all,
 * *n so far). A process that is gone has none.
 */
static void children_of(pid_t pid, pid_t *kids, int max, int *n)
{
    char path[64], buf[4096], list[4096];
    int fd;

    proc_path(path, sizeof(path), pid, "/task", -1, NULL);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));

        if (got <= 0)
            break;
        for (long off = 0; off < got;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            char *end;
            long tid = strtol(d->d_name, &end, 10);

            off += d->d_reclen;
            if (end == d->d_name || *end != '\0' || tid <= 0)
                continue;
            proc_path(path, sizeof(path), pid, "/task/", tid, "/children");
            if (read_small(path, list, sizeof(list)) <= 0)
                continue;
            for (char *p = list; *p && *n < max;) {
                long kid = strtol(p, &end, 10);

                if (end == p)
                    break;
                if (kid > 0)
                    kids[(*n)++] = (pid_t)kid;
                p = end;
                while (*p == ' ' || *p == '\n')
                    p++;
            }
        }
    }
    close(fd);
}

int ad__sb_tree_walk(pid_t root, pid_t skip,
                     void (*fn)(pid_t pid, pid_t parent, void *arg), void *arg)
{
    static pid_t pids[TREE_MAX], parents[TREE_MAX];
    int head = 0, n = 0;

    /* Breadth first: pids[head..n) are found and not yet expanded. */
    children_of(root, pids, TREE_MAX, &n);
    for (int i = 0; i < n; i++)
        parents[i] = root;
    while (head < n) {
        pid_t pid = pids[head], parent = parents[head];
        int before = n;

        head++;
        if (pid == skip)
            continue;
        fn(pid, parent, arg);
        children_of(pid, pids, TREE_MAX, &n);
        for (int i = before; i < n; i++)
            parents[i] = pid;
    }
    return n;
}

/* The parent pid field of /proc/pid/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    const char *p;

    proc_path(path, sizeof(path), pid, "/stat", -1, NULL);
    if (read_small(path, buf, sizeof(buf)) <= 0)
        return -1;
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    return (pid_t)strtol(p + 4, NULL, 10);
}

struct kill_round {
    pid_t self, keep;    /* keep: signalled, but reaped by its owner (wait4) */
    pid_t direct[TREE_MAX];
    int ndirect;
};

static void kill_one(pid_t pid, pid_t parent, void *arg)
{
    struct kill_round *k = arg;
    int pidfd;
    pid_t now;

    if (parent == k->self) {
        /* Our own child: its pid is ours until we reap it. */
        (void)kill(pid, SIGKILL);
        if (pid != k->keep && k->ndirect < TREE_MAX)
            k->direct[k->ndirect++] = pid;
        return;
    }
    /*
     * A grandchild's pid could be reaped by its parent and reused by a
     * stranger between the listing and the kill. The pidfd pins one
     * process; it is still the one listed if, while the pidfd is open, its
     * parent is the one the listing said (or us, if that one died).
     */
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return;
    now = parent_of(pid);
    if (now == parent || now == k->self)
        (void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    close(pidfd);
}

int ad__sb_tree_kill(pid_t keep)
{
    static struct kill_round k;
    int total = 0;

    k.self = getpid();
    k.keep = keep;
    /*
     * Every round SIGKILLs all it finds; a killed process cannot fork any
     * more, and its children come to us (subreaper) once it is dead, so
     * the tree shrinks to nothing within a few rounds. keep is killed with
     * the rest but left for its owner's wait4, and so are the children it
     * had: they come to us when it dies.
     */
    for (int round = 0; round < 200; round++) {
        int found;

        k.ndirect = 0;
        found = ad__sb_tree_walk(k.self, 0, kill_one, &k);
        total += k.ndirect;
        for (int i = 0; i < k.ndirect; i++)
            while (waitpid(k.direct[i], NULL, 0) < 0 && errno == EINTR)
                ;
        if (found == 0 || (found == 1 && k.ndirect == 0))
            break;
        if (k.ndirect == 0) {
            /* keep is dying, its children with it. */
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        }
    }
    return total;
}

/* Adds utime + stime + cutime + cstime of pid (fields 14-17 of stat), in ticks. */
static void add_ticks(pid_t pid, pid_t parent, void *arg)
{
    char path[64], buf[1024];
    const char *p;
    unsigned long long t[4];
    int field;

    (void)parent;
    proc_path(path, sizeof(path), pid, "/stat", -1, NULL);
    if (read_small(path, buf, sizeof(buf)) <= 0)
        return;
    p = strrchr(buf, ')');
    if (!p)
        return;
    p += 2;   /* field 3 */
    for (field = 3; field < 14 && *p; field++) {
        p = strchr(p, ' ');
        if (!p)
            return;
        p++;
    }
    for (int i = 0; i < 4; i++) {
        char *end;
        t[i] = strtoull(p, &end, 10);
        if (end == p)
            return;
        p = end + (*end == ' ');
    }
    *(unsigned long long *)arg += t[0] + t[1] + t[2] + t[3];
}

int64_t ad__sb_tree_cpu_ms(pid_t skip)
{
    static long hz;
    unsigned long long ticks = 0;
    struct rusage ru;
    int64_t ms;

    if (hz <= 0)
        hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    (void)ad__sb_tree_walk(getpid(), skip, add_ticks, &ticks);
    ms = (int64_t)(ticks * 1000ULL / (unsigned long long)hz);
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
        ms += (int64_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
              (int64_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
    return ms;
}
