/*
 * What the sandbox costs autoresearch's command: the same command run on
 * the host (fork, execve of /bin/sh -c, wait) and in the sandbox's command
 * mode (ad_sandbox_run_command: the linux backend, with its per-run cgroup
 * limits, and the process backend), interleaved run by run so that the
 * machine's load falls on all three alike. Prints each one's median wall
 * time, the sandbox's overhead (median less the host's) and the ratio.
 *
 *   bench_research_cmd [--quick] [RUNS]      (default 30 runs of each)
 */
#include "compat.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/sandbox.h"

extern char **environ;

static double now_ms(void)
{
    return (double)ad_mono_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *env_min[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C.UTF-8", NULL };

/* The host: /bin/sh -c cmd in dir, output to /dev/null; its wall time. */
static double run_host(const char *cmd, const char *dir)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
    posix_spawn_file_actions_t fa;
    double t0 = now_ms();
    pid_t pid;
    int ws;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env_min) != 0)
        return -1;
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &ws, 0);
    return now_ms() - t0;
}

static double run_sandbox(const char *cmd, const char *dir, enum ad_sb_backend be, int *cg)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
    struct ad_sandbox_cmd c;
    struct ad_sandbox_cmd_result r;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf out;
    double t0 = now_ms(), t;

    memset(&c, 0, sizeof(c));
    c.argv = argv;
    c.env = env_min;
    c.dir = dir;
    c.backend = be;
    c.wall_ms = 60000;
    ad_buf_init(&out, 1u << 20);
    if (ad_sandbox_run_command(&c, &out, &r, &err) < 0) {
        fprintf(stderr, "bench_research_cmd: %s\n", err.msg);
        ad_buf_release(&out);
        return -1;
    }
    t = now_ms() - t0;
    *cg = r.cgroup;
    ad_buf_release(&out);
    return t;
}

int main(int argc, char **argv)
{
    static const char *const cmds[] = { "true", "/usr/bin/python3 -S -c 'print(\"score: 1\")'" };
    char dir[64];
    int runs = 30;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            runs = 8;
        else if (strtol(argv[i], NULL, 10) > 0 && strtol(argv[i], NULL, 10) < 100000)
            runs = (int)strtol(argv[i], NULL, 10);
    }
    snprintf(dir, sizeof(dir), "/tmp/bench-rcmd-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("bench_research_cmd: mkdtemp");
        return 1;
    }
    printf("%-44s %10s %10s %10s %10s %8s\n", "command (runs)", "host", "linux", "process",
           "linux-host", "ratio");
    for (size_t k = 0; k < AD_ARRAY_SIZE(cmds); k++) {
        double *h = calloc((size_t)runs, sizeof(double)), *l = calloc((size_t)runs, sizeof(double));
        double *p = calloc((size_t)runs, sizeof(double)), mh, ml, mp;
        int cg = 0, pcg = 0, ok = h && l && p;

        /* One warm-up of each: the cgroup probe, the page cache. */
        if (ok)
            ok = run_host(cmds[k], dir) >= 0 && run_sandbox(cmds[k], dir, AD_SB_LINUX, &cg) >= 0 &&
                 run_sandbox(cmds[k], dir, AD_SB_PROCESS, &pcg) >= 0;
        for (int i = 0; ok && i < runs; i++) {
            h[i] = run_host(cmds[k], dir);
            l[i] = run_sandbox(cmds[k], dir, AD_SB_LINUX, &cg);
            p[i] = run_sandbox(cmds[k], dir, AD_SB_PROCESS, &pcg);
            ok = h[i] >= 0 && l[i] >= 0 && p[i] >= 0;
        }
        if (ok) {
            char label[64];

            mh = median(h, runs);
            ml = median(l, runs);
            mp = median(p, runs);
            snprintf(label, sizeof(label), "%.30s (%d)%s", cmds[k], runs, cg ? " cgroup" : "");
            printf("%-44s %8.2f ms %7.2f ms %7.2f ms %7.2f ms %7.2fx\n", label, mh, ml, mp,
                   ml - mh, ml / mh);
        }
        free(h);
        free(l);
        free(p);
        if (!ok) {
            rmdir(dir);
            return 1;
        }
    }
    rmdir(dir);
    return 0;
}
