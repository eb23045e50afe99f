/*
 * The probe cache: that the linux backend's trial run passed, remembered so
 * that a command that makes a sandbox to run one skill does not pay for a
 * second, throw-away run first (the probe is a whole Python start).
 *
 * What the answer depends on is the key: this boot (the kernel's random
 * boot_id, so a sysctl set since a reboot is seen), the kernel release and
 * version, the user namespace sysctls, the effective uid (root or not is a
 * different setup), this binary (device, inode, size and mtime of
 * /proc/self/exe) and the runtime the trial ran. The file holds a hash of
 * the key and the answer, nothing else:
 *
 *   autodev sandbox probe 1
 *   key 0123456789abcdef
 *   linux ok
 *
 * It lives in $AUTODEV_HOME/cache when that home exists (it is never
 * made here), else $XDG_CACHE_HOME/autodev, else ~/.cache/autodev, as
 * "sandbox-probe", and is trusted only when it is a
 * regular file of our own uid that nobody else may write, holding exactly
 * those three lines for exactly our key: anything else (malformed, stale,
 * someone else's) is a miss, and the probe runs and rewrites it. It is
 * written to a temporary file and renamed over, so a reader never sees
 * half of one.
 *
 * Only success is kept. A payload of the process backend may run as the
 * caller's uid and so could write this file; a cached failure would let it
 * push later runs down to the weaker backend, a cached success can at worst
 * make them fail loudly (sandbox_error), and a sandbox made from the cache
 * drops it on its first sandbox_error, so the next one probes again.
 */
#include "compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sb_int.h"

#define CACHE_NAME "sandbox-probe"
#define CACHE_MAGIC "autodev sandbox probe 1\n"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return fnv1a(h, s, strlen(s) + 1);
}

/* The first line of a small file, or "" when it cannot be read. */
static void first_line(const char *path, char *out, size_t cap)
{
    FILE *fp = fopen(path, "re");

    out[0] = '\0';
    if (!fp)
        return;
    if (!fgets(out, (int)cap, fp))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    fclose(fp);
}

static uint64_t hash_file_id(uint64_t h, const char *path)
{
    struct stat st;
    char buf[160];

    if (stat(path, &st) != 0)
        return hash_str(h, "missing");
    snprintf(buf, sizeof(buf), "%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec);
    return hash_str(h, buf);
}

static uint64_t cache_key(const struct ad__sb_config *cfg)
{
    static const char *const files[] = {
        "/proc/sys/kernel/random/boot_id",
        "/proc/sys/user/max_user_namespaces",
        "/proc/sys/kernel/unprivileged_userns_clone",
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    };
    struct utsname u;
    uint64_t h = 0xcbf29ce484222325ULL;
    char buf[256];

    h = hash_str(h, CACHE_MAGIC);
    for (size_t i = 0; i < AD_ARRAY_SIZE(files); i++) {
        first_line(files[i], buf, sizeof(buf));
        h = hash_str(h, buf);
    }
    if (uname(&u) == 0) {
        h = hash_str(h, u.release);
        h = hash_str(h, u.version);
    }
    snprintf(buf, sizeof(buf), "euid %u change_uid %d base %u", (unsigned)geteuid(),
             cfg->change_uid, cfg->host_uid);
    h = hash_str(h, buf);
    h = hash_file_id(h, "/proc/self/exe");
    h = hash_str(h, cfg->runtime);
    h = hash_file_id(h, cfg->runtime);
    for (int i = 1; i < cfg->argc; i++)
        h = hash_str(h, cfg->argv[i]);
    return h;
}

/* mkdir that is fine with an existing directory. */
static bool ensure_dir(const char *path)
{
    struct stat st;

    if (mkdir(path, 0700) == 0)
        return true;
    return errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The cache directory into dir; with make, the missing last components are
 * made (0700). false when there is none.
 */
static bool cache_dir(char *dir, size_t cap, bool make)
{
    const char *home = getenv("AUTODEV_HOME"), *xdg = getenv("XDG_CACHE_HOME");
    char parent[512];

    struct stat st;

    /* autodev's home only once something made it: the sandbox never does. */
    if (home && *home && stat(home, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (snprintf(dir, cap, "%s/cache", home) >= (int)cap)
            return false;
        return !make || ensure_dir(dir);
    }
    if (xdg && *xdg) {
        if (snprintf(dir, cap, "%s/autodev", xdg) >= (int)cap)
            return false;
        return !make || ensure_dir(dir);
    }
    home = getenv("HOME");
    if (!home || !*home || snprintf(parent, sizeof(parent), "%s/.cache", home) >=
                               (int)sizeof(parent) ||
        snprintf(dir, cap, "%s/autodev", parent) >= (int)cap)
        return false;
    return !make || (ensure_dir(parent) && ensure_dir(dir));
}

void ad__sb_cache_init(struct ad__sb_cache *c, const struct ad__sb_config *cfg)
{
    char dir[480];

    memset(c, 0, sizeof(*c));
    if (!cache_dir(dir, sizeof(dir), false) ||
        snprintf(c->path, sizeof(c->path), "%s/" CACHE_NAME, dir) >= (int)sizeof(c->path))
        return;
    c->key = cache_key(cfg);
    c->usable = true;
}

/* The file's whole text for c's key. */
static int cache_text(const struct ad__sb_cache *c, char *out, size_t cap)
{
    return snprintf(out, cap, CACHE_MAGIC "key %016llx\nlinux ok\n", (unsigned long long)c->key);
}

bool ad__sb_cache_hit(const struct ad__sb_cache *c)
{
    char want[128], got[128];
    struct stat st;
    ssize_t n;
    int fd, len;

    if (!c->usable)
        return false;
    fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022) != 0 || st.st_size >= (off_t)sizeof(got)) {
        close(fd);
        return false;
    }
    n = read(fd, got, sizeof(got));
    close(fd);
    len = cache_text(c, want, sizeof(want));
    return n == len && memcmp(got, want, (size_t)len) == 0;
}

void ad__sb_cache_put(const struct ad__sb_cache *c)
{
    char dir[480], tmp[560], text[128];
    int fd, len, ok;

    if (!c->usable || !cache_dir(dir, sizeof(dir), true) ||
        snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", c->path, (long)getpid()) >= (int)sizeof(tmp))
        return;
    len = cache_text(c, text, sizeof(text));
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    ok = ad__sb_write_all(fd, text, (size_t)len) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, c->path) != 0)
        (void)unlink(tmp);
}

void ad__sb_cache_drop(const struct ad__sb_cache *c)
{
    if (c->usable)
        (void)unlink(c->path);
}
