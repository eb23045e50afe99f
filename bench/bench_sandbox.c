/*
 * bench_sandbox: what the sandbox costs over running the skill bare.
 *
 *   bench_sandbox [--quick] [N]
 *
 * One trivial skill (def run(x=None): return 1), run N times (default 200,
 * --quick 30) by each variant, interleaved within one loop so that drift in
 * the machine's load hits all of them alike (the order rotates every
 * iteration: ABC, BCA, CAB, ...), after a few warm-up runs of each:
 *
 *   A  bare      posix_spawn of /usr/bin/python3 -I -S harness.py run DIR, the
 *                result line read from fd 3, then waitpid. The harness, skill
 *                and input are written to a temp directory once.
 *   B  sandbox   ad_sandbox_run with the linux backend: one resident
 *                supervisor (one slot), made before the loop; each run
 *                writes the skill, makes the namespaces and so on.
 *   C  bwrap     bubblewrap with flags close to the linux backend's, running
 *                the same command with fd 3 passed through; only when
 *                /usr/bin/bwrap exists and a warm-up run of it works.
 *   D  command   the whole command, as a user runs it: posix_spawn of
 *                `autodev sandbox run --code DIR/skill.py --entry run` (the
 *                backend auto), its JSON read from stdout, then waitpid.
 *                The binary beside this one (build/autodev), or
 *                $AUTODEV_BIN; its home (and probe cache) a temp directory.
 *   E  exec      posix_spawn of `autodev --version`: what starting the
 *                binary costs before any sandbox work (loading its shared
 *                libraries), the floor under D.
 *   D', E'       D and E through another binary, $AUTODEV_BIN_BEFORE, when
 *                it is set: a before/after of the whole command in one run
 *                (its own home too).
 *
 * Every run's result is checked ({"ok":true,"output":1}, status ok); a run
 * that fails is counted and reported, and left out of the latencies.
 * Prints p50, p90 and mean per variant, the overhead over bare at p50, and
 * sequential throughput (successful runs / the variant's total time in the
 * loop), then one "summary:" line of key=value pairs for scripts.
 * The targets: overhead <= 5 ms at p50; throughput >= 75% of bare;
 * the whole command (D) <= 1.3x bare at p50.
 * Prints numbers; asserts nothing (it exits 1 when runs failed).
 */
#include "compat.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/sandbox.h"
#include "sandbox/sb_int.h"

#define WARMUP 5
#define WHY_LEN 640
#define BENCH_UID_BASE (AD_SB_DEFAULT_UID_BASE + 1000)
#define PYTHON "/usr/bin/python3"
#define BWRAP "/usr/bin/bwrap"
#define TARGET_OVERHEAD_MS 5.0
#define TARGET_TPUT_PCT 75.0
#define TARGET_COMMAND_RATIO 1.3

static const char skill_py[] = "def run(x=None):\n    return 1\n";
/* The harness appends its own timings (load_us, call_us) after these keys. */
static const char expected[] = "{\"ok\":true,\"output\":1";

/* The environment the sandbox gives its payload (sandbox_super.c), for A and C too. */
static char *const run_env[] = {
    (char *)"PATH=/usr/bin:/bin",    (char *)"HOME=/tmp",
    (char *)"TMPDIR=/tmp",           (char *)"LANG=C.UTF-8",
    (char *)"PYTHONDONTWRITEBYTECODE=1", NULL,
};

enum { V_BARE, V_SANDBOX, V_BWRAP, V_COMMAND, V_EXEC, V_COMMAND_B, V_EXEC_B, NVARIANTS };

struct variant {
    const char *name;      /* for the summary line */
    const char *label;
    bool on;
    int64_t *ns;           /* latencies of the successful runs */
    long ok, failed;
    int64_t total_ns;      /* every measured run, failed ones too */
    char first_failure[WHY_LEN];
};

struct bench {
    char dir[64];
    char harness[128];
    char skill[128];
    char autodev[512];
    char autodev_b[512];   /* $AUTODEV_BIN_BEFORE, or "" */
    char env_adhome_b[160];
    char *command_argv_b[8];
    char *exec_argv_b[4];
    char *command_env_b[8];
    char env_home[160], env_adhome[160], env_uid[64];
    char *bare_argv[8];
    char *bwrap_argv[64];
    char *command_argv[8];
    char *exec_argv[4];
    char *command_env[8];
    struct ad_sandbox *sb;
    struct ad_sandbox_spec spec;
    bool degraded;         /* the sandbox said isolation "degraded" */
    struct variant v[NVARIANTS];
};

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[256];
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "bench_sandbox: open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    rc = ad__sb_write_all(fd, data, len);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        fprintf(stderr, "bench_sandbox: write '%s': %s\n", path, strerror(-rc));
    return rc < 0 ? -1 : 0;
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = { "harness.py", "skill.py", "input.json",
                                         "home/cache/sandbox-probe", "home/cache", "home",
                                         "home-before/cache/sandbox-probe",
                                         "home-before/cache", "home-before" };
    char path[256];

    for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    rmdir(dir);
}

/* Moves fd to a number >= 10, close-on-exec, so it cannot be one of 0-3 in the child. */
static int high_fd(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);

    close(fd);
    return h;
}

/*
 * Spawns argv with stdin, stdout and stderr on /dev/null and fd 3 on a pipe,
 * reads the pipe to EOF and waits. 0 when it exited 0 having written exactly
 * the expected result line; else -1 with why filled in.
 */
static int spawn_and_check(char *const argv[], char *why, size_t why_len)
{
    posix_spawn_file_actions_t fa;
    char buf[512];
    size_t got = 0;
    int p[2], status, rc;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        return -1;
    }
    p[0] = high_fd(p[0]);
    p[1] = high_fd(p[1]);
    if (p[0] < 0 || p[1] < 0) {
        snprintf(why, why_len, "fcntl: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 3);
    /* Nothing else of ours reaches the child (the sandbox's socket, say). */
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, run_env);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        snprintf(why, why_len, "posix_spawn '%s': %s", argv[0], strerror(rc));
        return -1;
    }
    for (;;) {
        ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof(buf) - 1)
            break;
    }
    buf[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, why_len, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, why_len, "'%s' ended with wait status 0x%x, result '%.200s'", argv[0],
                 (unsigned)status, buf);
        return -1;
    }
    if (strncmp(buf, expected, sizeof(expected) - 1) != 0 ||
        (buf[sizeof(expected) - 1] != '}' && buf[sizeof(expected) - 1] != ',')) {
        snprintf(why, why_len, "'%s' wrote result '%.200s'", argv[0], buf);
        return -1;
    }
    return 0;
}

/*
 * Spawns argv with env, stdout on a pipe (stdin and stderr on /dev/null),
 * reads stdout to EOF and waits. 0 when it exited 0 and its output holds
 * every one of want (NULL-terminated); else -1 with why filled in.
 */
static int spawn_output(char *const argv[], char *const env[], const char *const want[],
                        char *why, size_t why_len)
{
    posix_spawn_file_actions_t fa;
    char buf[4096];
    size_t got = 0;
    int p[2], status, rc;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        snprintf(why, why_len, "posix_spawn '%s': %s", argv[0], strerror(rc));
        return -1;
    }
    for (;;) {
        ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (got += (size_t)n) == sizeof(buf) - 1)
            break;
    }
    buf[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, why_len, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, why_len, "'%s' ended with wait status 0x%x, output '%.200s'", argv[0],
                 (unsigned)status, buf);
        return -1;
    }
    for (int i = 0; want[i]; i++) {
        if (!strstr(buf, want[i])) {
            snprintf(why, why_len, "'%s' wrote '%.300s', without '%s'", argv[0], buf, want[i]);
            return -1;
        }
    }
    return 0;
}

static int run_command(struct bench *b, char *why, size_t why_len)
{
    static const char *const want[] = { "\"status\":\"ok\"", "\"output\":1,", NULL };

    return spawn_output(b->command_argv, b->command_env, want, why, why_len);
}

static int run_command_b(struct bench *b, char *why, size_t why_len)
{
    static const char *const want[] = { "\"status\":\"ok\"", "\"output\":1,", NULL };

    return spawn_output(b->command_argv_b, b->command_env_b, want, why, why_len);
}

static int run_exec_b(struct bench *b, char *why, size_t why_len)
{
    static const char *const want[] = { "autodev ", NULL };

    return spawn_output(b->exec_argv_b, b->command_env_b, want, why, why_len);
}

static int run_exec(struct bench *b, char *why, size_t why_len)
{
    static const char *const want[] = { "autodev ", NULL };

    return spawn_output(b->exec_argv, b->command_env, want, why, why_len);
}

static int run_sandbox(struct bench *b, char *why, size_t why_len)
{
    struct ad_sandbox_result res = { 0 };
    struct ad_err err = AD_ERR_INIT;
    int rc = -1;

    if (ad_sandbox_run(b->sb, &b->spec, &res, &err) < 0) {
        snprintf(why, why_len, "ad_sandbox_run: %.400s", err.msg);
    } else if (res.status != AD_SB_OK) {
        const char *m = json_string_value(json_object_get(res.error, "message"));

        snprintf(why, why_len, "status %s: %.200s", ad_sb_status_name(res.status),
                 m ? m : "(no message)");
    } else if (!json_is_integer(res.output) || json_integer_value(res.output) != 1) {
        snprintf(why, why_len, "status ok but the output is not 1");
    } else {
        b->degraded = res.degraded;
        rc = 0;
    }
    ad_sandbox_result_clear(&res);
    return rc;
}

static int run_variant(struct bench *b, int v, char *why, size_t why_len)
{
    switch (v) {
    case V_BARE:
        return spawn_and_check(b->bare_argv, why, why_len);
    case V_SANDBOX:
        return run_sandbox(b, why, why_len);
    case V_COMMAND:
        return run_command(b, why, why_len);
    case V_EXEC:
        return run_exec(b, why, why_len);
    case V_COMMAND_B:
        return run_command_b(b, why, why_len);
    case V_EXEC_B:
        return run_exec_b(b, why, why_len);
    default:
        return spawn_and_check(b->bwrap_argv, why, why_len);
    }
}

/* One timed run of variant v, recorded. */
static void measure(struct bench *b, int v)
{
    struct variant *x = &b->v[v];
    char why[WHY_LEN];
    int64_t t0 = ad_mono_ns(), ns;
    int rc = run_variant(b, v, why, sizeof(why));

    ns = ad_mono_ns() - t0;
    x->total_ns += ns;
    if (rc == 0) {
        x->ns[x->ok++] = ns;
        return;
    }
    if (x->failed++ == 0)
        snprintf(x->first_failure, sizeof(x->first_failure), "%s", why);
    fprintf(stderr, "bench_sandbox: %s run failed: %s\n", x->name, why);
}

static void build_argvs(struct bench *b)
{
    static const char *const flags[] = {
        "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
        "--unshare-uts", "--unshare-cgroup", "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
    };
    static const char *const tail[] = {
        "/skill", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc",
        "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL",
        PYTHON, "-I", "-S", "/skill/harness.py", "run", "/skill",
    };
    char **a = b->bwrap_argv;
    int n = 0;

    b->bare_argv[0] = (char *)PYTHON;
    b->bare_argv[1] = (char *)"-I";
    b->bare_argv[2] = (char *)"-S";
    b->bare_argv[3] = b->harness;
    b->bare_argv[4] = (char *)"run";
    b->bare_argv[5] = b->dir;
    b->bare_argv[6] = NULL;

    a[n++] = (char *)BWRAP;
    for (size_t i = 0; i < AD_ARRAY_SIZE(flags); i++)
        a[n++] = (char *)flags[i];
    a[n++] = (char *)"--ro-bind";
    a[n++] = b->dir;
    for (size_t i = 0; i < AD_ARRAY_SIZE(tail); i++)
        a[n++] = (char *)tail[i];
    a[n] = NULL;

    b->command_argv[0] = b->autodev;
    b->command_argv[1] = (char *)"sandbox";
    b->command_argv[2] = (char *)"run";
    b->command_argv[3] = (char *)"--code";
    b->command_argv[4] = b->skill;
    b->command_argv[5] = (char *)"--entry";
    b->command_argv[6] = (char *)"run";
    b->command_argv[7] = NULL;
    b->exec_argv[0] = b->autodev;
    b->exec_argv[1] = (char *)"--version";
    b->exec_argv[2] = NULL;
    /* A home of its own (the probe cache goes there) and, as root, the
     * bench's payload uids (see setup). */
    snprintf(b->env_home, sizeof(b->env_home), "HOME=%s", b->dir);
    snprintf(b->env_adhome, sizeof(b->env_adhome), "AUTODEV_HOME=%s/home", b->dir);
    snprintf(b->env_uid, sizeof(b->env_uid), "AUTODEV_SANDBOX_UID_BASE=%u",
             (unsigned)BENCH_UID_BASE + 100);
    b->command_env[0] = (char *)"PATH=/usr/bin:/bin";
    b->command_env[1] = (char *)"LANG=C.UTF-8";
    b->command_env[2] = b->env_home;
    b->command_env[3] = b->env_adhome;
    b->command_env[4] = getenv("AUTODEV_SANDBOX_UID_BASE") ? NULL : b->env_uid;
    b->command_env[5] = NULL;
    memcpy(b->command_argv_b, b->command_argv, sizeof(b->command_argv));
    memcpy(b->exec_argv_b, b->exec_argv, sizeof(b->exec_argv));
    memcpy(b->command_env_b, b->command_env, sizeof(b->command_env));
    b->command_argv_b[0] = b->exec_argv_b[0] = b->autodev_b;
    snprintf(b->env_adhome_b, sizeof(b->env_adhome_b), "AUTODEV_HOME=%s/home-before", b->dir);
    b->command_env_b[3] = b->env_adhome_b;
}

/* The autodev binary: $AUTODEV_BIN, else ../autodev from this one's directory. */
static int find_autodev(struct bench *b)
{
    const char *env = getenv("AUTODEV_BIN");
    char self[400];
    ssize_t n;

    if (env && *env) {
        snprintf(b->autodev, sizeof(b->autodev), "%s", env);
    } else {
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            return -1;
        self[n] = '\0';
        for (int i = 0; i < 2; i++) {
            char *slash = strrchr(self, '/');
            if (!slash)
                return -1;
            *slash = '\0';
        }
        snprintf(b->autodev, sizeof(b->autodev), "%s/autodev", self);
    }
    return access(b->autodev, X_OK);
}

static int setup(struct bench *b, long n)
{
    struct ad_sandbox_options opts = { .backend = AD_SB_LINUX, .slots = 1, .quiet = true };
    struct ad_err err = AD_ERR_INIT;

    /*
     * Payload uids of our own, unless the caller chose: another autodev on
     * this host (a server, the escape suite) uses the default ones, and its
     * sweeps of "everything with the slot's uid" would kill our runs. (As
     * another user every payload runs as that user anyway.)
     */
    if (geteuid() == 0 && !getenv("AUTODEV_SANDBOX_UID_BASE"))
        opts.uid_base = BENCH_UID_BASE;

    snprintf(b->dir, sizeof(b->dir), "/tmp/ad-bench-sandbox-XXXXXX");
    if (!mkdtemp(b->dir)) {
        perror("bench_sandbox: mkdtemp");
        b->dir[0] = '\0';
        return -1;
    }
    /* 0755: bubblewrap's payload is uid 1000 in its namespace. */
    chmod(b->dir, 0755);
    snprintf(b->harness, sizeof(b->harness), "%s/harness.py", b->dir);
    snprintf(b->skill, sizeof(b->skill), "%s/skill.py", b->dir);
    /* The library's sandbox keeps its probe cache here too, not in ~/.cache. */
    {
        char home[96];
        snprintf(home, sizeof(home), "%s/home", b->dir);
        mkdir(home, 0700);
        setenv("AUTODEV_HOME", home, 1);
    }
    if (write_file(b->dir, "harness.py", ad__sb_harness_py, ad__sb_harness_py_len) < 0 ||
        write_file(b->dir, "skill.py", skill_py, strlen(skill_py)) < 0 ||
        write_file(b->dir, "input.json", "null", 4) < 0)
        return -1;
    build_argvs(b);

    b->v[V_BARE] = (struct variant){ .name = "bare", .label = "bare python3 -I -S" };
    b->v[V_SANDBOX] = (struct variant){ .name = "sandbox",
                                        .label = "sandbox linux (resident, 1 slot)" };
    b->v[V_BWRAP] = (struct variant){ .name = "bwrap", .label = "bwrap (equivalent flags)" };
    b->v[V_COMMAND] = (struct variant){ .name = "command",
                                        .label = "autodev sandbox run (whole command)" };
    b->v[V_EXEC] = (struct variant){ .name = "exec", .label = "autodev --version (exec only)" };
    b->v[V_COMMAND_B] = (struct variant){ .name = "command_before",
                                          .label = "  the same, $AUTODEV_BIN_BEFORE" };
    b->v[V_EXEC_B] = (struct variant){ .name = "exec_before",
                                       .label = "  --version, $AUTODEV_BIN_BEFORE" };
    for (int i = 0; i < NVARIANTS; i++) {
        b->v[i].on = true;
        b->v[i].ns = calloc((size_t)n, sizeof(int64_t));
        if (!b->v[i].ns) {
            fprintf(stderr, "bench_sandbox: out of memory\n");
            return -1;
        }
    }
    b->spec.code = skill_py;
    b->spec.entry = "run";
    b->spec.input_json = "null";
    if (ad_sandbox_new(&opts, &b->sb, &err) < 0) {
        fprintf(stderr, "bench_sandbox: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Warm-up runs of each variant; bwrap drops out quietly when absent or broken. */
static int warm_up(struct bench *b)
{
    char why[WHY_LEN];

    if (access(BWRAP, X_OK) < 0) {
        b->v[V_BWRAP].on = false;
        printf("bwrap: skipped (%s not found)\n", BWRAP);
    }
    if (find_autodev(b) < 0) {
        b->v[V_COMMAND].on = b->v[V_EXEC].on = false;
        printf("command: skipped (no autodev binary at '%s'; set AUTODEV_BIN)\n", b->autodev);
    }
    if (!getenv("AUTODEV_BIN_BEFORE") || !*getenv("AUTODEV_BIN_BEFORE") || !b->v[V_COMMAND].on) {
        b->v[V_COMMAND_B].on = b->v[V_EXEC_B].on = false;
    } else {
        snprintf(b->autodev_b, sizeof(b->autodev_b), "%s", getenv("AUTODEV_BIN_BEFORE"));
        if (access(b->autodev_b, X_OK) < 0) {
            fprintf(stderr, "bench_sandbox: $AUTODEV_BIN_BEFORE '%s' is not executable\n",
                    b->autodev_b);
            return -1;
        }
    }
    for (int i = 0; i < WARMUP; i++) {
        for (int v = 0; v < NVARIANTS; v++) {
            if (!b->v[v].on || run_variant(b, v, why, sizeof(why)) == 0)
                continue;
            if (v != V_BWRAP) {
                fprintf(stderr, "bench_sandbox: %s warm-up run failed: %s\n", b->v[v].name, why);
                return -1;
            }
            b->v[V_BWRAP].on = false;
            printf("bwrap: skipped (a warm-up run failed: %s)\n", why);
        }
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted t[0..n), in ms. */
static double pct_ms(const int64_t *t, long n, int p)
{
    long k = (n * p + 99) / 100;

    if (n == 0)
        return 0.0;
    return (double)t[k > 0 ? k - 1 : 0] / 1e6;
}

struct stats {
    double p50, p90, mean, rps;
};

static struct stats summarise(struct variant *x)
{
    struct stats s = { 0 };
    int64_t sum = 0;

    qsort(x->ns, (size_t)x->ok, sizeof(int64_t), cmp_i64);
    for (long i = 0; i < x->ok; i++)
        sum += x->ns[i];
    s.p50 = pct_ms(x->ns, x->ok, 50);
    s.p90 = pct_ms(x->ns, x->ok, 90);
    s.mean = x->ok ? (double)sum / (double)x->ok / 1e6 : 0.0;
    s.rps = x->total_ns > 0 ? (double)x->ok / ((double)x->total_ns / 1e9) : 0.0;
    printf("%-34s ok %4ld  failed %3ld  p50 %7.2f ms  p90 %7.2f ms  mean %7.2f ms"
           "  min %7.2f ms  max %7.2f ms\n",
           x->label, x->ok, x->failed, s.p50, s.p90, s.mean, pct_ms(x->ns, x->ok, 0),
           x->ok ? (double)x->ns[x->ok - 1] / 1e6 : 0.0);
    return s;
}

/* A target counts as met only when no sandboxed run failed. */
static const char *verdict(bool met)
{
    return met ? "met" : "MISSED";
}

static void report(struct bench *b, long n)
{
    struct stats s[NVARIANTS] = { 0 };
    const struct variant *sv = &b->v[V_SANDBOX], *cv = &b->v[V_BWRAP];
    double over, tput;
    long failed = 0;

    printf("latency per run (%ld iterations, interleaved, %d warm-up runs each):\n", n, WARMUP);
    for (int v = 0; v < NVARIANTS; v++) {
        if (b->v[v].on)
            s[v] = summarise(&b->v[v]);
        failed += b->v[v].failed;
    }
    over = s[V_SANDBOX].p50 - s[V_BARE].p50;
    tput = s[V_BARE].rps > 0 ? 100.0 * s[V_SANDBOX].rps / s[V_BARE].rps : 0.0;
    printf("overhead at p50: sandbox - bare %+7.2f ms  ratio %.2fx  (target <= %.0f ms: %s)\n",
           over, s[V_BARE].p50 > 0 ? s[V_SANDBOX].p50 / s[V_BARE].p50 : 0.0, TARGET_OVERHEAD_MS,
           verdict(over <= TARGET_OVERHEAD_MS && sv->failed == 0));
    if (cv->on)
        printf("overhead at p50: bwrap - bare   %+7.2f ms  ratio %.2fx\n",
               s[V_BWRAP].p50 - s[V_BARE].p50,
               s[V_BARE].p50 > 0 ? s[V_BWRAP].p50 / s[V_BARE].p50 : 0.0);
    printf("throughput, sequential: bare %.1f runs/s, sandbox %.1f runs/s = %.1f%% of bare"
           " (target >= %.0f%%: %s)",
           s[V_BARE].rps, s[V_SANDBOX].rps, tput, TARGET_TPUT_PCT,
           verdict(tput >= TARGET_TPUT_PCT && sv->failed == 0));
    if (cv->on)
        printf(", bwrap %.1f runs/s = %.1f%% of bare", s[V_BWRAP].rps,
               s[V_BARE].rps > 0 ? 100.0 * s[V_BWRAP].rps / s[V_BARE].rps : 0.0);
    printf("\nsandbox isolation: %s\n", b->degraded ? "degraded" : "full");
    if (b->v[V_COMMAND].on) {
        double cr = s[V_BARE].p50 > 0 ? s[V_COMMAND].p50 / s[V_BARE].p50 : 0.0;
        double er = s[V_BARE].p50 > 0 ? s[V_EXEC].p50 / s[V_BARE].p50 : 0.0;

        printf("whole command at p50: %.2f ms = %.2fx bare (target <= %.1fx: %s); of which "
               "starting the binary (autodev --version) %.2f ms = %.2fx bare, the rest %.2f ms"
               " = %.2fx\n",
               s[V_COMMAND].p50, cr, TARGET_COMMAND_RATIO,
               verdict(cr <= TARGET_COMMAND_RATIO && b->v[V_COMMAND].failed == 0),
               s[V_EXEC].p50, er, s[V_COMMAND].p50 - s[V_EXEC].p50,
               s[V_BARE].p50 > 0 ? (s[V_COMMAND].p50 - s[V_EXEC].p50) / s[V_BARE].p50 : 0.0);
    }
    if (b->v[V_COMMAND_B].on && s[V_BARE].p50 > 0)
        printf("before ($AUTODEV_BIN_BEFORE): whole command %.2f ms = %.2fx bare, --version "
               "%.2f ms = %.2fx; after: %.2fx and %.2fx\n", s[V_COMMAND_B].p50,
               s[V_COMMAND_B].p50 / s[V_BARE].p50, s[V_EXEC_B].p50,
               s[V_EXEC_B].p50 / s[V_BARE].p50, s[V_COMMAND].p50 / s[V_BARE].p50,
               s[V_EXEC].p50 / s[V_BARE].p50);
    for (int v = 0; v < NVARIANTS; v++) {
        if (b->v[v].failed)
            printf("failures: %s %ld of %ld, first: %s\n", b->v[v].name, b->v[v].failed, n,
                   b->v[v].first_failure);
    }

    printf("summary: bench=sandbox n=%ld bare_p50_ms=%.2f bare_p90_ms=%.2f sandbox_p50_ms=%.2f"
           " sandbox_p90_ms=%.2f overhead_p50_ms=%.2f ratio_p50=%.2f",
           n, s[V_BARE].p50, s[V_BARE].p90, s[V_SANDBOX].p50, s[V_SANDBOX].p90, over,
           s[V_BARE].p50 > 0 ? s[V_SANDBOX].p50 / s[V_BARE].p50 : 0.0);
    if (cv->on)
        printf(" bwrap_p50_ms=%.2f bwrap_p90_ms=%.2f bwrap_overhead_p50_ms=%.2f", s[V_BWRAP].p50,
               s[V_BWRAP].p90, s[V_BWRAP].p50 - s[V_BARE].p50);
    else
        printf(" bwrap_p50_ms=na bwrap_p90_ms=na bwrap_overhead_p50_ms=na");
    if (b->v[V_COMMAND].on)
        printf(" command_p50_ms=%.2f command_ratio_p50=%.2f exec_p50_ms=%.2f command_target=%s",
               s[V_COMMAND].p50, s[V_BARE].p50 > 0 ? s[V_COMMAND].p50 / s[V_BARE].p50 : 0.0,
               s[V_EXEC].p50,
               s[V_BARE].p50 > 0 && s[V_COMMAND].p50 / s[V_BARE].p50 <= TARGET_COMMAND_RATIO &&
                       b->v[V_COMMAND].failed == 0
                   ? "met"
                   : "missed");
    else
        printf(" command_p50_ms=na command_ratio_p50=na exec_p50_ms=na command_target=na");
    printf(" bare_rps=%.1f sandbox_rps=%.1f tput_pct=%.1f failures=%ld"
           " overhead_target=%s tput_target=%s isolation=%s\n",
           s[V_BARE].rps, s[V_SANDBOX].rps, tput, failed,
           over <= TARGET_OVERHEAD_MS && sv->failed == 0 ? "met" : "missed",
           tput >= TARGET_TPUT_PCT && sv->failed == 0 ? "met" : "missed",
           b->degraded ? "degraded" : "full");
}

int main(int argc, char **argv)
{
    struct bench b = { 0 };
    long n = 200;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            n = 30;
        } else {
            char *end;
            long v = strtol(argv[i], &end, 10);

            if (*end || v <= 0 || v > 10000000) {
                fprintf(stderr, "usage: bench_sandbox [--quick] [N]\n");
                return 2;
            }
            n = v;
        }
    }
    if (setup(&b, n) < 0 || warm_up(&b) < 0)
        goto out;
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < NVARIANTS; k++) {
            int v = (int)((i + k) % NVARIANTS);

            if (b.v[v].on)
                measure(&b, v);
        }
    }
    report(&b, n);
    rc = 0;
    for (int v = 0; v < NVARIANTS; v++)
        rc |= b.v[v].failed ? 1 : 0;
out:
    ad_sandbox_free(b.sb);
    for (int i = 0; i < NVARIANTS; i++)
        free(b.v[i].ns);
    if (b.dir[0])
        remove_dir(b.dir);
    return rc;
}
