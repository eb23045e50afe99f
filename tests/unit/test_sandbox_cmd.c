#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodev/sandbox.h"

/*
 * The sandbox's command mode (ad_sandbox_run_command): a directory bound
 * writable with protected paths read-only inside it, no network, only the
 * environment given, the whole tree killed at the time limit. Each case runs
 * real commands (sh, python3) in a fresh directory under /tmp; the linux
 * cases are skipped, saying why, where that backend cannot run.
 */

struct fx {
    char dir[64];
    char prot[128];   /* dir/harness.py, protected */
    char other[128];  /* dir/main.py, not */
    struct ad_buf out;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    FILE *f;

    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "%s", "/tmp/autodev-sbcmd-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->prot, sizeof(fx->prot), "%s/harness.py", fx->dir);
    snprintf(fx->other, sizeof(fx->other), "%s/main.py", fx->dir);
    f = fopen(fx->prot, "w");
    assert_non_null(f);
    fputs("print('score: 1')\n", f);
    fclose(f);
    f = fopen(fx->other, "w");
    assert_non_null(f);
    fputs("X = 1\n", f);
    fclose(f);
    ad_buf_init(&fx->out, 1u << 20);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    ad_buf_release(&fx->out);
    free(fx);
    return 0;
}

static char *env_min[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C", NULL };

/* Runs sh -c script in fx->dir with fx->prot protected. */
static int run_sh(struct fx *fx, enum ad_sb_backend be, const char *script, int64_t wall_ms,
                  struct ad_sandbox_cmd_result *res, struct ad_err *err)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };
    const char *protect[] = { fx->prot, NULL };
    struct ad_sandbox_cmd cmd = { argv, env_min, fx->dir, protect, be, wall_ms, 0 };

    return ad_sandbox_run_command(&cmd, &fx->out, res, err);
}

/* Runs on the linux backend, or skips the test when it cannot run here. */
static void run_linux(struct fx *fx, const char *script, int64_t wall_ms,
                      struct ad_sandbox_cmd_result *res)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = run_sh(fx, AD_SB_LINUX, script, wall_ms, res, &err);

    if (rc == AD_ENOTSUP) {
        print_message("linux backend unavailable: %s\n", err.msg);
        skip();
    }
    if (rc != 0)
        fail_msg("run: %d %s", rc, err.msg);
    assert_int_equal(res->backend, AD_SB_LINUX);
    assert_false(res->degraded);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_protected_read_only(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;

    run_linux(fx,
              "echo 'print(\"score: 99\")' > harness.py && exit 0; "
              "echo refused; rm -f harness.py && exit 3; mv harness.py h2 && exit 4; exit 7",
              20000, &res);
    assert_true(res.exited);
    assert_int_equal(res.status, 7);
    assert_non_null(strstr(fx->out.ptr, "refused"));
    assert_string_equal(slurp(fx->prot), "print('score: 1')\n");
}

static void test_worktree_writable(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;

    run_linux(fx, "echo 'X = 2' > main.py && mkdir -p build && echo o > build/out && "
                  "cat harness.py && python3 -c 'print(\"py ok\")'", 20000, &res);
    assert_true(res.exited);
    assert_int_equal(res.status, 0);
    assert_string_equal(slurp(fx->other), "X = 2\n");
    assert_non_null(strstr(fx->out.ptr, "score: 1"));
    assert_non_null(strstr(fx->out.ptr, "py ok"));
}

static void test_no_network(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
    char script[512];

    assert_true(s >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 4), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    snprintf(script, sizeof(script),
             "python3 -c 'import socket\n"
             "try:\n socket.create_connection((\"127.0.0.1\", %d), timeout=3); print(\"CONNECTED\")\n"
             "except OSError as e: print(\"refused\", e.errno)'",
             ntohs(a.sin_port));
    run_linux(fx, script, 20000, &res);
    assert_int_equal(res.status, 0);
    assert_null(strstr(fx->out.ptr, "CONNECTED"));
    assert_non_null(strstr(fx->out.ptr, "refused"));
    /* The listener got nothing. */
    assert_int_equal(fcntl(s, F_SETFL, O_NONBLOCK), 0);
    c = accept(s, NULL, NULL);
    assert_int_equal(c, -1);
    close(s);
}

static void test_env_only_given(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;

    setenv("OPENAI_API_KEY", "sk-test-secret-do-not-leak", 1);
    run_linux(fx, "env; cat /proc/1/environ /proc/self/environ 2>/dev/null | tr '\\0' '\\n'",
              20000, &res);
    unsetenv("OPENAI_API_KEY");
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(fx->out.ptr, "LANG=C"));
    assert_null(strstr(fx->out.ptr, "OPENAI_API_KEY"));
    assert_null(strstr(fx->out.ptr, "sk-test-secret"));
}

/* Any process of the host whose command line holds token. */
static bool host_has(const char *token)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool found = false;

    assert_non_null(d);
    while (!found && (e = readdir(d))) {
        char path[300], buf[1024];
        ssize_t n;
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            if (!buf[i])
                buf[i] = ' ';
        if (n > 0) {
            buf[n] = '\0';
            found = strstr(buf, token) != NULL;
        }
    }
    closedir(d);
    return found;
}

static void test_timeout_kills_tree(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;

    /* A child in a session of its own, and the shell itself, ignore SIGTERM. */
    run_linux(fx,
              "trap '' TERM; setsid sh -c \"trap '' TERM; exec sleep 31.4159\" & "
              "echo started; sleep 31.4159; echo never",
              1500, &res);
    assert_true(res.timed_out);
    assert_false(res.exited);
    assert_non_null(strstr(fx->out.ptr, "started"));
    assert_null(strstr(fx->out.ptr, "never"));
    assert_false(host_has("sleep 31.4159"));
}

static void test_process_backend(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;

    setenv("OPENAI_API_KEY", "sk-test-secret-do-not-leak", 1);
    assert_int_equal(run_sh(fx, AD_SB_PROCESS, "env; echo 'X = 3' > main.py; "
                            "tr '\\0' '\\n' < /proc/$PPID/environ; "
                            "trap '' TERM; sh -c \"trap '' TERM; exec sleep 27.1828\" & "
                            "sleep 27.1828", 1000, &res, &err), 0);
    if (err.code)
        fail_msg("%s", err.msg);
    unsetenv("OPENAI_API_KEY");
    assert_int_equal(res.backend, AD_SB_PROCESS);
    assert_true(res.degraded);
    assert_true(res.timed_out);
    assert_string_equal(slurp(fx->other), "X = 3\n");
    assert_null(strstr(fx->out.ptr, "OPENAI_API_KEY"));
    assert_false(host_has("sleep 27.1828"));
}

static void test_output_capped(void **state)
{
    struct fx *fx = *state;
    char *argv[] = { (char *)"/bin/sh", (char *)"-c",
                     (char *)"i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done", NULL };
    struct ad_sandbox_cmd cmd = { argv, env_min, fx->dir, NULL, AD_SB_AUTO, 20000, 100 };
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;

    if (ad_sandbox_run_command(&cmd, &fx->out, &res, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res.status, 0);
    assert_true(res.truncated);
    assert_true(fx->out.len <= 100);
    assert_non_null(strstr(fx->out.ptr, "line1999"));
}

static void test_bad_input(void **state)
{
    struct fx *fx = *state;
    char *argv[] = { (char *)"/bin/true", NULL };
    const char *outside[] = { "/etc/passwd", NULL };
    struct ad_sandbox_cmd cmd = { argv, env_min, fx->dir, outside, AD_SB_AUTO, 0, 0 };
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_sandbox_run_command(&cmd, &fx->out, &res, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "/etc/passwd"));
    cmd.protect = NULL;
    cmd.dir = "/nonexistent-autodev-dir";
    assert_int_equal(ad_sandbox_run_command(&cmd, &fx->out, &res, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "/nonexistent-autodev-dir"));
}

int main(int argc, char **argv)
{
    /* /proc/PID/environ shows the environment a process was started with:
     * start again with the key in it, so a command that reads ours would see it. */
    if (argc > 0 && !getenv("AD_TEST_SBCMD_AGAIN")) {
        setenv("AD_TEST_SBCMD_AGAIN", "1", 1);
        setenv("OPENAI_API_KEY", "sk-test-secret-do-not-leak", 1);
        execv("/proc/self/exe", argv);
        fail_msg("execv: %s", strerror(errno));
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_protected_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worktree_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_only_given, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kills_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
