#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

#include "autodev/sandbox.h"

/*
 * Command mode's limits (ad_sandbox_run_command's memory_bytes, pids,
 * cpu_ms), which autoresearch's run step sets: a command that allocates
 * past its memory ends (an OOM kill in the cgroup, or MemoryError under
 * RLIMIT_AS) and the caller goes on; a fork bomb stays below its pids
 * limit. Real commands (python3) in a fresh directory; a case the machine
 * cannot hold (no linux backend, no cgroup) is skipped, saying why.
 * Nothing here asserts on time.
 */

struct fx {
    char dir[64];
    struct ad_buf out;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    snprintf(fx->dir, sizeof(fx->dir), "%s", "/tmp/autodev-sblim-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    ad_buf_init(&fx->out, 1u << 20);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    rmdir(fx->dir);
    ad_buf_release(&fx->out);
    free(fx);
    return 0;
}

static char *env_min[] = { (char *)"PATH=/usr/bin:/bin", (char *)"LANG=C", NULL };

static int run_py(struct fx *fx, enum ad_sb_backend be, const char *code, int64_t memory,
                  int pids, struct ad_sandbox_cmd_result *res, struct ad_err *err)
{
    char *argv[] = { (char *)"/usr/bin/python3", (char *)"-S", (char *)"-c", (char *)code, NULL };
    struct ad_sandbox_cmd cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.argv = argv;
    cmd.env = env_min;
    cmd.dir = fx->dir;
    cmd.backend = be;
    cmd.wall_ms = 60000;
    cmd.memory_bytes = memory;
    cmd.pids = pids;
    return ad_sandbox_run_command(&cmd, &fx->out, res, err);
}

/* 512 MiB in 1 MiB pieces, each touched, under a 64 MiB limit. */
static const char hog[] = "b = []\n"
                          "for i in range(512):\n"
                          "    b.append(bytearray(1 << 20))\n"
                          "print('allocated: 512')\n";

static void check_hog(const struct fx *fx, const struct ad_sandbox_cmd_result *res)
{
    assert_null(strstr(fx->out.ptr ? fx->out.ptr : "", "allocated: 512"));
    assert_false(res->exited && res->status == 0);
    assert_false(res->timed_out);
    /* Held by a cgroup, the kernel's OOM killer ended it and the result says so. */
    if (res->cgroup)
        assert_true(res->oom);
}

static void test_memory_linux(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;
    int rc = run_py(fx, AD_SB_LINUX, hog, 64LL << 20, 0, &res, &err);

    if (rc == AD_ENOTSUP) {
        print_message("linux backend unavailable: %s\n", err.msg);
        skip();
    }
    assert_int_equal(rc, 0);
    check_hog(fx, &res);
}

static void test_memory_process(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(run_py(fx, AD_SB_PROCESS, hog, 64LL << 20, 0, &res, &err), 0);
    assert_false(res.cgroup);
    check_hog(fx, &res);
    assert_non_null(strstr(fx->out.ptr, "MemoryError"));
}

/* Under the limit the same program runs to its end: the limit is what stopped it. */
static void test_memory_enough(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(run_py(fx, AD_SB_AUTO, hog, 0, 0, &res, &err), 0);
    assert_true(res.exited);
    assert_int_equal(res.status, 0);
    assert_false(res.oom);
    assert_non_null(strstr(fx->out.ptr, "allocated: 512"));
}

/*
 * Forks until fork fails (or 2000 children), each child waiting on a pipe
 * that closes when the parent exits; prints how many it made.
 */
static const char bomb[] = "import os\n"
                           "r, w = os.pipe()\n"
                           "n = 0\n"
                           "while n < 2000:\n"
                           "    try:\n"
                           "        pid = os.fork()\n"
                           "    except OSError:\n"
                           "        break\n"
                           "    if pid == 0:\n"
                           "        os.close(w)\n"
                           "        os.read(r, 1)\n"
                           "        os._exit(0)\n"
                           "    n += 1\n"
                           "print('forked: %d' % n, flush=True)\n";

static void test_fork_bomb_bounded(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;
    const char *p;
    int rc = run_py(fx, AD_SB_LINUX, bomb, 0, 20, &res, &err);

    if (rc == AD_ENOTSUP) {
        print_message("linux backend unavailable: %s\n", err.msg);
        skip();
    }
    assert_int_equal(rc, 0);
    if (!res.cgroup) {
        print_message("no usable cgroup here: pids are not limited\n");
        skip();
    }
    assert_true(res.exited);
    assert_int_equal(res.status, 0);
    p = strstr(fx->out.ptr, "forked: ");
    assert_non_null(p);
    /* 20 processes of the command: python itself and at most 19 children. */
    assert_true((int)strtol(p + 8, NULL, 10) < 20);
    assert_true((int)strtol(p + 8, NULL, 10) > 0);
}

static void test_negative_limit(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox_cmd_result res;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(run_py(fx, AD_SB_PROCESS, "pass", -1, 0, &res, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "negative"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_linux, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_enough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_bomb_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_limit, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
