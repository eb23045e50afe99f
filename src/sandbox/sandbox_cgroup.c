#include "compat.h"

/*
 * cgroup slots for the sandbox: a memory limit with no swap, a pids limit
 * and the run's CPU account and quota, on cgroup v2 when its memory
 * controller can be had below our own
 * cgroup, else on cgroup v1, where the memory and pids hierarchies are
 * mounted separately (the "hybrid" layout many hosts still use).
 *
 * Mount points come from /proc/self/mountinfo and our own cgroups from
 * /proc/self/cgroup; nothing under /sys/fs/cgroup is assumed. Slots are made
 * below our own cgroup, so a host that gives us a delegated subtree needs
 * nothing more. We never move our own process: on v2 the "no internal
 * processes" rule then forbids enabling controllers for children of a
 * non-root cgroup that holds processes, and the probe says so and falls
 * back to v1.
 *
 * Sections: small file helpers; locating our cgroups; emptying and removing
 * a cgroup; the probe; slots.
 */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb_int.h"

#define CG_PATH 512               /* sizeof(struct ad__cg_slot.mem_dir) */

/*
 * Test seams, set only by tests/unit/test_sandbox_parts.c (which includes
 * this file): the directory of "our own" v2 cgroup, in place of what
 * /proc/self/cgroup and mountinfo say, so that the v2 path can run against
 * a cgroup2 mount of a private mount namespace or a synthetic tree on a
 * machine whose own v2 hierarchy has no controllers to give; and mkdir and
 * rmdir, which a synthetic tree answers the way cgroupfs would (interface
 * files appear, a populated cgroup is EBUSY).
 */
static char cg_v2_self[CG_PATH];
static int (*cg_mkdir)(const char *path, mode_t mode) = mkdir;
static int (*cg_rmdir)(const char *path) = rmdir;
#define OOM_UNKNOWN UINT64_MAX    /* oom_kills_before when it could not be read */
#define DRAIN_TRIES 200           /* ... of 5 ms: how long destroy waits for the dead */

/* ---- small file helpers ------------------------------------------------ */

/* dir "/" name into out. 0 or -ENAMETOOLONG. */
static int path_join(char *out, size_t n, const char *dir, const char *name)
{
    int len = snprintf(out, n, "%s/%s", dir, name);

    return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/* Writes val to dir/file in one write(2), as cgroupfs wants. 0 or -errno. */
static int cg_write(const char *dir, const char *file, const char *val)
{
    char path[CG_PATH + 64];
    size_t len = strlen(val);
    ssize_t n;
    int fd, rc;

    rc = path_join(path, sizeof(path), dir, file);
    if (rc < 0)
        return rc;
    /* O_TRUNC is what a shell's "echo v > file" does: cgroupfs ignores it,
     * and a plain file (a synthetic tree) then holds the value alone. */
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = write(fd, val, len);
    rc = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static int cg_write_num(const char *dir, const char *file, int64_t v)
{
    char val[32];

    snprintf(val, sizeof(val), "%" PRId64, v);
    return cg_write(dir, file, val);
}

/* Reads dir/file into buf (NUL-terminated, truncated to fit). Length or -errno. */
static ssize_t cg_read(const char *dir, const char *file, char *buf, size_t size)
{
    char path[CG_PATH + 64];
    size_t got = 0;
    int fd, rc;

    rc = path_join(path, sizeof(path), dir, file);
    if (rc < 0)
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    return (ssize_t)got;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || (*end != '\0' && *end != '\n' && *end != ' '))
        return -EINVAL;
    *out = v;
    return 0;
}

static int cg_read_u64(const char *dir, const char *file, uint64_t *out)
{
    char buf[64];
    ssize_t n = cg_read(dir, file, buf, sizeof(buf));

    return n < 0 ? (int)n : parse_u64(buf, out);
}

/* Reads the value of the line "key N" in a flat-keyed file. 0 or -errno. */
static int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *out)
{
    char buf[1024];
    size_t klen = strlen(key);
    ssize_t n = cg_read(dir, file, buf, sizeof(buf));

    if (n < 0)
        return (int)n;
    for (char *line = buf; line != NULL && *line != '\0'; ) {
        char *nl = strchr(line, '\n');

        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_u64(line + klen + 1, out);
        line = nl != NULL ? nl + 1 : NULL;
    }
    return -ENOENT;
}

static bool cg_has_file(const char *dir, const char *file)
{
    char path[CG_PATH + 64];

    return path_join(path, sizeof(path), dir, file) == 0 && access(path, F_OK) == 0;
}

/* Whether list (tokens separated by any of seps) holds tok. */
static bool has_token(const char *list, const char *tok, const char *seps)
{
    size_t tlen = strlen(tok);

    for (const char *p = list; *p != '\0'; ) {
        size_t n = strcspn(p, seps);

        if (n == tlen && memcmp(p, tok, n) == 0)
            return true;
        p += n;
        if (*p != '\0')
            p++;
    }
    return false;
}

static void say(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || n == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

/* ---- locating our cgroups ---------------------------------------------- */

/*
 * Our cgroup path in the hierarchy of controller ("" for the v2 line
 * "0::/path") from /proc/self/cgroup. 0, -ENOENT or -errno.
 */
static int self_cgroup(const char *controller, char *out, size_t n)
{
    FILE *fp = fopen("/proc/self/cgroup", "re");
    char *line = NULL;
    size_t cap = 0;
    int rc = -ENOENT;

    if (fp == NULL)
        return -errno;
    while (rc == -ENOENT && getline(&line, &cap, fp) > 0) {
        char *ctrls = strchr(line, ':');
        char *path = ctrls != NULL ? strchr(ctrls + 1, ':') : NULL;
        bool match;

        if (path == NULL)
            continue;
        *ctrls++ = '\0';
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        if (controller[0] == '\0')
            match = strcmp(line, "0") == 0 && ctrls[0] == '\0';
        else
            match = has_token(ctrls, controller, ",");
        if (match)
            rc = snprintf(out, n, "%s", path) >= (int)n ? -ENAMETOOLONG : 0;
    }
    free(line);
    fclose(fp);
    return rc;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
    char *w = s;

    for (const char *r = s; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/*
 * If the mountinfo line is a mount of fstype carrying controller (for
 * "cgroup") and its root is a prefix of cgpath, writes the directory of
 * cgpath under it to out and returns true.
 */
static bool mount_matches(char *line, const char *fstype, const char *controller,
                          const char *cgpath, char *out, size_t n)
{
    char *field[6] = { NULL }, *p = line, *tok, *type;
    const char *super;
    size_t rlen;
    int i = 0;

    line[strcspn(line, "\n")] = '\0';
    while (i < 6 && (tok = strsep(&p, " ")) != NULL)
        field[i++] = tok;
    /* Optional fields up to the lone "-"; then fstype, source, super options. */
    while ((tok = strsep(&p, " ")) != NULL && strcmp(tok, "-") != 0)
        ;
    if (i < 6 || tok == NULL || (type = strsep(&p, " ")) == NULL || strsep(&p, " ") == NULL)
        return false;
    super = p != NULL ? p : "";
    if (strcmp(type, fstype) != 0)
        return false;
    if (controller[0] != '\0' && !has_token(super, controller, ","))
        return false;
    unescape(field[3]);
    unescape(field[4]);
    /* The mount shows the subtree at root; cgpath must lie inside it. */
    rlen = strcmp(field[3], "/") == 0 ? 0 : strlen(field[3]);
    if (strncmp(cgpath, field[3], rlen) != 0 || (cgpath[rlen] != '/' && cgpath[rlen] != '\0'))
        return false;
    return snprintf(out, n, "%s%s", field[4], strcmp(cgpath + rlen, "/") == 0 ? "" :
                    cgpath + rlen) < (int)n;
}

/*
 * The directory of our own cgroup: controller "" for v2 (fstype cgroup2),
 * else the v1 hierarchy carrying it. 0, or -ENOENT (not in such a cgroup),
 * -ENODEV (no mount reaches it), -errno.
 */
static int self_dir(const char *controller, char *out, size_t n)
{
    const char *fstype = controller[0] == '\0' ? "cgroup2" : "cgroup";
    char cgpath[CG_PATH];
    char *line = NULL;
    size_t cap = 0;
    FILE *fp;
    int rc;

    if (controller[0] == '\0' && cg_v2_self[0] != '\0')
        return snprintf(out, n, "%s", cg_v2_self) < (int)n ? 0 : -ENAMETOOLONG;

    rc = self_cgroup(controller, cgpath, sizeof(cgpath));
    if (rc < 0)
        return rc;
    fp = fopen("/proc/self/mountinfo", "re");
    if (fp == NULL)
        return -errno;
    rc = -ENODEV;
    while (rc == -ENODEV && getline(&line, &cap, fp) > 0) {
        if (mount_matches(line, fstype, controller, cgpath, out, n))
            rc = 0;
    }
    free(line);
    fclose(fp);
    return rc;
}

/* Says why self_dir failed, for the probe. */
static void say_locate(char *why, size_t n, const char *what, int rc)
{
    if (rc == -ENOENT)
        say(why, n, "we are in no cgroup %s hierarchy", what);
    else if (rc == -ENODEV)
        say(why, n, "no cgroup %s mount reaches our own cgroup", what);
    else
        say(why, n, "cannot find our cgroup %s: %s", what, strerror(-rc));
}

/* ---- emptying and removing a cgroup ------------------------------------ */

/*
 * SIGKILLs every process in dir/cgroup.procs. Returns how many were listed,
 * or -errno; -EPERM when a process is listed as 0, that is, lives in a pid
 * namespace we cannot see (not ours to kill).
 */
static int kill_procs(const char *dir)
{
    char path[CG_PATH + 64];
    char *line = NULL;
    size_t cap = 0;
    int count = 0, rc;
    FILE *fp;

    rc = path_join(path, sizeof(path), dir, "cgroup.procs");
    if (rc < 0)
        return rc;
    fp = fopen(path, "re");
    if (fp == NULL)
        return -errno;
    while (getline(&line, &cap, fp) > 0) {
        long pid = strtol(line, NULL, 10);

        if (pid <= 0) {
            count = -EPERM;
            break;
        }
        kill((pid_t)pid, SIGKILL);
        count++;
    }
    free(line);
    fclose(fp);
    return count;
}

/*
 * Kills what is in dir until it is empty and removes it; bounded, since a
 * process stuck in the kernel (D state) may take its time to die. With
 * use_kill, v2's cgroup.kill does the killing when the kernel has it.
 * 0 or -errno (the directory then stays).
 */
static int drain_and_remove(const char *dir, bool use_kill)
{
    const struct timespec pause = { 0, 5 * 1000 * 1000 };
    int rc = 0;

    if (use_kill)
        (void)cg_write(dir, "cgroup.kill", "1");
    for (int i = 0; i < DRAIN_TRIES; i++) {
        if (cg_rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -errno;
        rc = kill_procs(dir);
        if (rc < 0 && rc != -ENOENT)
            return rc;
        nanosleep(&pause, NULL);
    }
    return -EBUSY;
}

/*
 * Removes "autodev.<pid>.*" directories in parent whose pid is gone, left by
 * a sandbox that crashed. Failures are ignored: a stale directory costs
 * nothing but a name.
 */
static void sweep_stale(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[CG_PATH + 64], *end;
        long pid;

        if (strncmp(e->d_name, "autodev.", 8) != 0)
            continue;
        pid = strtol(e->d_name + 8, &end, 10);
        if (end == e->d_name + 8 || *end != '.' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (path_join(path, sizeof(path), parent, e->d_name) == 0)
            (void)drain_and_remove(path, false);
    }
    closedir(d);
}

/* ---- the probe --------------------------------------------------------- */

/* Why an operation on a cgroup directory failed, in the probe's words. */
static void say_denied(char *why, size_t n, const char *what, const char *dir, int errnum)
{
    if ((errnum == EACCES || errnum == EPERM) && geteuid() != 0)
        say(why, n, "%s: not root and no delegated cgroup (%s)", what, dir);
    else if (errnum == EROFS)
        say(why, n, "%s: %s is mounted read-only", what, dir);
    else
        say(why, n, "%s: cannot make a cgroup in %s: %s", what, dir, strerror(errnum));
}

/* A directory name no other probe of this process uses. */
static void probe_name(char *out, size_t n)
{
    static unsigned counter;
    unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

    snprintf(out, n, "autodev.%ld.probe%u", (long)getpid(), k);
}

/*
 * Turns on the memory and pids controllers for our v2 cgroup's children.
 * Fails with EBUSY when our cgroup holds processes and is not the root.
 */
static int v2_delegate(const char *self)
{
    char buf[256];
    ssize_t n = cg_read(self, "cgroup.subtree_control", buf, sizeof(buf));
    int rc = 0;

    if (n < 0)
        return (int)n;
    if (!has_token(buf, "memory", " \n") || !has_token(buf, "pids", " \n"))
        rc = cg_write(self, "cgroup.subtree_control", "+memory +pids");
    /* cpu only throttles (cpu.stat counts without it): wanted, not needed. */
    if (rc == 0 && !has_token(buf, "cpu", " \n") &&
        cg_read(self, "cgroup.controllers", buf, sizeof(buf)) > 0 && has_token(buf, "cpu", " \n"))
        (void)cg_write(self, "cgroup.subtree_control", "+cpu");
    return rc;
}

static int probe_v2(char *why, size_t n)
{
    char self[CG_PATH], dir[CG_PATH], name[64], buf[256];
    ssize_t len;
    int rc;

    rc = self_dir("", self, sizeof(self));
    if (rc < 0) {
        say_locate(why, n, "v2", rc);
        return rc;
    }
    len = cg_read(self, "cgroup.controllers", buf, sizeof(buf));
    if (len < 0) {
        say(why, n, "cannot read %s/cgroup.controllers: %s", self, strerror((int)-len));
        return (int)len;
    }
    if (!has_token(buf, "memory", " \n") || !has_token(buf, "pids", " \n")) {
        say(why, n, "cgroup v2 has no %s controller", !has_token(buf, "memory", " \n") ?
            "memory" : "pids");
        return -ENODEV;
    }
    rc = v2_delegate(self);
    if (rc == -EBUSY) {
        say(why, n, "cgroup v2: our cgroup %s holds processes, so it cannot hand the "
            "memory controller to a child", self);
        return rc;
    }
    if (rc < 0) {
        say_denied(why, n, "cgroup v2", self, -rc);
        return rc;
    }
    probe_name(name, sizeof(name));
    if (path_join(dir, sizeof(dir), self, name) < 0 || cg_mkdir(dir, 0755) != 0) {
        rc = -errno;
        say_denied(why, n, "cgroup v2", self, errno);
        return rc;
    }
    rc = cg_has_file(dir, "memory.max") && cg_has_file(dir, "pids.max") ? 0 : -ENODEV;
    if (rc < 0)
        say(why, n, "cgroup v2: a child of %s has no memory.max or pids.max", self);
    cg_rmdir(dir);
    return rc;
}

/* Makes and removes a directory below our cgroup of controller, v1. */
static int probe_v1_one(const char *controller, const char *file, char *why, size_t n)
{
    char self[CG_PATH], dir[CG_PATH], name[64], what[32];
    int rc;

    snprintf(what, sizeof(what), "v1 %s", controller);
    rc = self_dir(controller, self, sizeof(self));
    if (rc < 0) {
        say_locate(why, n, what, rc);
        return rc;
    }
    probe_name(name, sizeof(name));
    if (path_join(dir, sizeof(dir), self, name) < 0 || cg_mkdir(dir, 0755) != 0) {
        rc = -errno;
        say_denied(why, n, "cgroup v1", self, errno);
        return rc;
    }
    rc = cg_has_file(dir, file) ? 0 : -ENODEV;
    if (rc < 0)
        say(why, n, "cgroup v1: a child of %s has no %s", self, file);
    cg_rmdir(dir);
    return rc;
}

enum ad__cg_version ad__cg_probe(char *why, size_t why_len)
{
    char v2why[400], v1why[400];

    if (probe_v2(v2why, sizeof(v2why)) == 0) {
        say(why, why_len, "%s", "");
        return AD__CG_V2;
    }
    if (probe_v1_one("memory", "memory.limit_in_bytes", v1why, sizeof(v1why)) == 0 &&
        probe_v1_one("pids", "pids.max", v1why, sizeof(v1why)) == 0) {
        say(why, why_len, "%s; using v1", v2why);
        return AD__CG_V1;
    }
    say(why, why_len, "%s; %s", v2why, v1why);
    return AD__CG_NONE;
}

/* ---- slots --------------------------------------------------------------- */

/*
 * v1 wants memory.memsw.limit_in_bytes >= memory.limit_in_bytes at every
 * step: lowering goes limit first, raising memsw first. Try the first order
 * and, when the kernel refuses (EINVAL), the second. swap 0 is memsw equal
 * to the limit; without memsw (swap accounting off) swappiness 0 stands in.
 */
static int v1_set_memory(const char *dir, int64_t bytes)
{
    char val[32];
    int rc;

    snprintf(val, sizeof(val), "%" PRId64, bytes > 0 ? bytes : (int64_t)-1);
    if (!cg_has_file(dir, "memory.memsw.limit_in_bytes")) {
        (void)cg_write(dir, "memory.swappiness", "0");
        return cg_write(dir, "memory.limit_in_bytes", val);
    }
    rc = cg_write(dir, "memory.limit_in_bytes", val);
    if (rc == -EINVAL) {
        rc = cg_write(dir, "memory.memsw.limit_in_bytes", val);
        if (rc == 0)
            rc = cg_write(dir, "memory.limit_in_bytes", val);
        return rc;
    }
    if (rc == 0)
        rc = cg_write(dir, "memory.memsw.limit_in_bytes", val);
    return rc;
}

/* Sets the limits; on failure writes the failing file's path to what. 0 or -errno. */
static int set_limits(const struct ad__cg_slot *s, int64_t memory_bytes, int pids_max,
                      char *what, size_t what_len)
{
    const char *pids_dir = s->version == AD__CG_V1 ? s->pids_dir : s->mem_dir;
    const char *file;
    int rc;

    if (s->version == AD__CG_V1) {
        file = "memory.limit_in_bytes";
        rc = v1_set_memory(s->mem_dir, memory_bytes);
    } else {
        file = "memory.max";
        rc = memory_bytes > 0 ? cg_write_num(s->mem_dir, file, memory_bytes) :
                                cg_write(s->mem_dir, file, "max");
    }
    if (rc < 0) {
        snprintf(what, what_len, "%s/%s", s->mem_dir, file);
        return rc;
    }
    rc = pids_max > 0 ? cg_write_num(pids_dir, "pids.max", pids_max) :
                        cg_write(pids_dir, "pids.max", "max");
    if (rc < 0)
        snprintf(what, what_len, "%s/pids.max", pids_dir);
    return rc;
}

/* The slot's OOM-kill counter, or OOM_UNKNOWN. */
static uint64_t oom_kills(const struct ad__cg_slot *s)
{
    uint64_t v;
    int rc;

    if (s->version == AD__CG_V1)
        rc = cg_read_key(s->mem_dir, "memory.oom_control", "oom_kill", &v);
    else
        rc = cg_read_key(s->mem_dir, "memory.events", "oom_kill", &v);
    return rc == 0 ? v : OOM_UNKNOWN;
}

/* Makes parent/name, replacing a leftover of that name. 0 or -errno. */
static int make_dir(char *out, const char *parent, const char *name)
{
    int rc = path_join(out, CG_PATH, parent, name);

    if (rc < 0)
        return rc;
    if (cg_mkdir(out, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    rc = drain_and_remove(out, false);
    if (rc < 0)
        return rc;
    return cg_mkdir(out, 0755) == 0 ? 0 : -errno;
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n < 128 && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

static int create_v2(struct ad__cg_slot *s, const char *name, struct ad_err *err)
{
    char self[CG_PATH];
    int rc;

    rc = self_dir("", self, sizeof(self));
    if (rc < 0)
        return ad_error(err, AD_ENOTSUP, "cannot find our cgroup v2: %s", strerror(-rc));
    sweep_stale(self);
    rc = v2_delegate(self);
    if (rc < 0)
        return ad_error(err, AD_ENOTSUP, "cannot enable memory and pids for children of "
                        "cgroup '%s': %s", self, strerror(-rc));
    rc = make_dir(s->mem_dir, self, name);
    if (rc < 0)
        return ad_error(err, AD_EIO, "cannot make cgroup '%s/%s': %s", self, name,
                        strerror(-rc));
    s->version = AD__CG_V2;
    /* Absent when the kernel does not account swap; then there is none to limit. */
    rc = cg_write(s->mem_dir, "memory.swap.max", "0");
    if (rc < 0 && rc != -ENOENT)
        return ad_error(err, AD_EIO, "cannot set '%s/memory.swap.max': %s", s->mem_dir,
                        strerror(-rc));
    /* One CPU: quota and period of 100 ms (see struct ad__cg_slot). */
    s->cpu_throttled = cg_write(s->mem_dir, "cpu.max", "100000 100000") == 0;
    s->v2_fd = open(s->mem_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->v2_fd < 0)
        return ad_error(err, AD_EIO, "cannot open cgroup '%s': %s", s->mem_dir,
                        strerror(errno));
    return 0;
}

/*
 * The v1 CPU directories: one in cpuacct (the account) and one in cpu (the
 * quota), or one for both when they share a mount. Neither is needed: a
 * slot without them has its CPU summed from /proc by the supervisor.
 */
static void create_v1_cpu(struct ad__cg_slot *s, const char *name)
{
    char acct[CG_PATH], quota[CG_PATH];

    if (self_dir("cpuacct", acct, sizeof(acct)) == 0) {
        sweep_stale(acct);
        if (make_dir(s->cpu_dir, acct, name) < 0)
            s->cpu_dir[0] = '\0';
    }
    if (self_dir("cpu", quota, sizeof(quota)) == 0) {
        char dir[CG_PATH];

        if (path_join(dir, sizeof(dir), quota, name) == 0 && strcmp(dir, s->cpu_dir) == 0) {
            snprintf(quota, sizeof(quota), "%s", s->cpu_dir);
        } else {
            sweep_stale(quota);
            if (make_dir(s->quota_dir, quota, name) < 0)
                s->quota_dir[0] = '\0';
            snprintf(quota, sizeof(quota), "%s", s->quota_dir);
        }
        s->cpu_throttled = quota[0] != '\0' &&
                           cg_write(quota, "cpu.cfs_period_us", "100000") == 0 &&
                           cg_write(quota, "cpu.cfs_quota_us", "100000") == 0;
    }
}

static int create_v1(struct ad__cg_slot *s, const char *name, struct ad_err *err)
{
    char mem[CG_PATH], pids[CG_PATH];
    int rc;

    rc = self_dir("memory", mem, sizeof(mem));
    if (rc == 0)
        rc = self_dir("pids", pids, sizeof(pids));
    if (rc < 0)
        return ad_error(err, AD_ENOTSUP, "cannot find our cgroup v1 memory and pids "
                        "hierarchies: %s", strerror(-rc));
    sweep_stale(mem);
    sweep_stale(pids);
    s->version = AD__CG_V1;
    rc = make_dir(s->mem_dir, mem, name);
    if (rc < 0) {
        s->mem_dir[0] = '\0';
        return ad_error(err, AD_EIO, "cannot make cgroup '%s/%s': %s", mem, name,
                        strerror(-rc));
    }
    rc = make_dir(s->pids_dir, pids, name);
    if (rc < 0) {
        s->pids_dir[0] = '\0';
        return ad_error(err, AD_EIO, "cannot make cgroup '%s/%s': %s", pids, name,
                        strerror(-rc));
    }
    create_v1_cpu(s, name);
    return 0;
}

int ad__cg_slot_create(struct ad__cg_slot *s, enum ad__cg_version v, const char *name,
                       struct ad_err *err)
{
    char what[CG_PATH + 64];
    int rc;

    memset(s, 0, sizeof(*s));
    s->v2_fd = -1;
    s->oom_kills_before = OOM_UNKNOWN;
    if (!valid_name(name))
        return ad_error(err, AD_EINVAL, "bad cgroup slot name '%s'", name);
    if (v == AD__CG_V2)
        rc = create_v2(s, name, err);
    else if (v == AD__CG_V1)
        rc = create_v1(s, name, err);
    else
        return ad_error(err, AD_ENOTSUP, "no usable cgroup version for slot '%s'", name);
    if (rc == 0) {
        /* Never leave a slot unlimited between its making and its first run. */
        rc = set_limits(s, AD_SB_DEFAULT_MEMORY, AD_SB_DEFAULT_PIDS, what, sizeof(what));
        if (rc < 0)
            rc = ad_error(err, AD_EIO, "cannot set '%s': %s", what, strerror(-rc));
    }
    if (rc < 0)
        ad__cg_slot_destroy(s);
    return rc;
}

int ad__cg_slot_begin(struct ad__cg_slot *s, int64_t memory_bytes, int pids_max,
                      struct ad_err *err)
{
    char what[CG_PATH + 64];
    int rc;

    if (s->version != AD__CG_V1 && s->version != AD__CG_V2)
        return ad_error(err, AD_ESTATE, "cgroup slot is not set up");
    rc = set_limits(s, memory_bytes, pids_max, what, sizeof(what));
    if (rc < 0)
        return ad_error(err, AD_EIO, "cannot set '%s': %s", what, strerror(-rc));
    /*
     * v1 resets its peak on any write. v2's memory.peak resets only per open
     * file (Linux 6.12+), and the slot keeps no such file, so v2 reports no
     * peak (see ad__cg_slot_end).
     */
    if (s->version == AD__CG_V1)
        (void)cg_write(s->mem_dir, "memory.max_usage_in_bytes", "0");
    s->oom_kills_before = oom_kills(s);
    return 0;
}

int ad__cg_slot_attach(const struct ad__cg_slot *s, pid_t pid, struct ad_err *err)
{
    const char *dir = s->mem_dir;
    int rc;

    if (s->version != AD__CG_V1 && s->version != AD__CG_V2)
        return ad_error(err, AD_ESTATE, "cgroup slot is not set up");
    rc = cg_write_num(dir, "cgroup.procs", pid);
    if (s->version == AD__CG_V1) {
        /* Every v1 hierarchy of the slot: a process outside cpuacct would
         * spend CPU the run's account does not see. */
        const char *more[] = { s->pids_dir, s->cpu_dir, s->quota_dir };

        for (size_t i = 0; i < AD_ARRAY_SIZE(more) && rc == 0; i++) {
            if (more[i][0] == '\0')
                continue;
            dir = more[i];
            rc = cg_write_num(dir, "cgroup.procs", pid);
        }
    }
    if (rc < 0)
        return ad_error(err, rc == -ESRCH ? AD_ENOTFOUND : AD_EIO,
                        "cannot move pid %ld into cgroup '%s': %s", (long)pid, dir,
                        strerror(-rc));
    return 0;
}

int64_t ad__cg_slot_cpu_ns(const struct ad__cg_slot *s)
{
    uint64_t v;

    if (s->version == AD__CG_V2 && cg_read_key(s->mem_dir, "cpu.stat", "usage_usec", &v) == 0 &&
        v <= (uint64_t)INT64_MAX / 1000)
        return (int64_t)v * 1000;
    if (s->version == AD__CG_V1 && s->cpu_dir[0] != '\0' &&
        cg_read_u64(s->cpu_dir, "cpuacct.usage", &v) == 0 && v <= (uint64_t)INT64_MAX)
        return (int64_t)v;
    return -1;
}

bool ad__cg_cpu_accounting(enum ad__cg_version v)
{
    char dir[CG_PATH];

    if (v == AD__CG_V2)
        return true;
    return v == AD__CG_V1 && self_dir("cpuacct", dir, sizeof(dir)) == 0 &&
           access(dir, W_OK) == 0;
}

void ad__cg_slot_end(struct ad__cg_slot *s, struct ad__cg_stats *st)
{
    uint64_t now, peak = 0;

    st->oom_killed = false;
    st->peak_bytes = -1;
    if (s->version != AD__CG_V1 && s->version != AD__CG_V2)
        return;
    now = oom_kills(s);
    st->oom_killed = s->oom_kills_before != OOM_UNKNOWN && now != OOM_UNKNOWN &&
                     now > s->oom_kills_before;
    if (s->version == AD__CG_V1 &&
        cg_read_u64(s->mem_dir, "memory.max_usage_in_bytes", &peak) == 0 &&
        peak <= INT64_MAX)
        st->peak_bytes = (int64_t)peak;
    s->oom_kills_before = now;
}

void ad__cg_slot_destroy(struct ad__cg_slot *s)
{
    if (s == NULL)
        return;
    if (s->version == AD__CG_V2) {
        if (s->mem_dir[0] != '\0')
            (void)drain_and_remove(s->mem_dir, true);
        if (s->v2_fd >= 0)
            close(s->v2_fd);
    } else if (s->version == AD__CG_V1) {
        if (s->mem_dir[0] != '\0')
            (void)drain_and_remove(s->mem_dir, false);
        if (s->pids_dir[0] != '\0')
            (void)drain_and_remove(s->pids_dir, false);
        if (s->cpu_dir[0] != '\0')
            (void)drain_and_remove(s->cpu_dir, false);
        if (s->quota_dir[0] != '\0')
            (void)drain_and_remove(s->quota_dir, false);
    }
    memset(s, 0, sizeof(*s));
    s->v2_fd = -1;
    s->oom_kills_before = OOM_UNKNOWN;
}
