/*
 * The sandbox through its public API: argument passing, statuses, limits,
 * output caps, bad specs, a supervisor killed mid-run, concurrent slots and
 * the result's JSON form. Every behavioural test runs against both
 * backends; the linux ones are skipped (and say why) on machines where
 * that backend does not work.
 *
 * Hostile code (escapes, abuse) is the business of tests/sandbox/.
 */
#include "compat.h"

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "autodev/sandbox.h"
#include "sandbox/sb_int.h"

/* ---- fixtures ------------------------------------------------------------ */

struct fx {
    struct ad_sandbox *sb;
    enum ad_sb_backend backend;
};

static char linux_why[512];
static int linux_checked, linux_ok;

static int fx_new(void **state, enum ad_sb_backend backend)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct fx *fx = calloc(1, sizeof(*fx));

    if (!fx)
        return -1;
    o.backend = backend;
    o.slots = 4;
    o.quiet = true;
    fx->backend = backend;
    if (ad_sandbox_new(&o, &fx->sb, &err) < 0) {
        if (backend == AD_SB_LINUX && err.code == AD_ENOTSUP) {
            snprintf(linux_why, sizeof(linux_why), "%s", err.msg);
            fx->sb = NULL;   /* tests skip */
        } else {
            fprintf(stderr, "ad_sandbox_new: %s\n", err.msg);
            free(fx);
            return -1;
        }
    }
    *state = fx;
    return 0;
}

static int setup_process(void **state)
{
    return fx_new(state, AD_SB_PROCESS);
}

static int setup_linux(void **state)
{
    return fx_new(state, AD_SB_LINUX);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    ad_sandbox_free(fx->sb);
    free(fx);
    return 0;
}

/* The sandbox of this test, or a skip when its backend is unavailable. */
static struct ad_sandbox *need(void **state)
{
    struct fx *fx = *state;
    if (!fx->sb) {
        if (!linux_checked) {
            printf("# linux backend unavailable: %s\n", linux_why);
            linux_checked = 1;
        }
        skip();
    }
    (void)linux_ok;
    return fx->sb;
}

static void run(struct ad_sandbox *sb, const char *code, const char *entry, const char *input,
                const struct ad_sandbox_limits *lim, struct ad_sandbox_result *r)
{
    struct ad_sandbox_spec spec;
    struct ad_err err = AD_ERR_INIT;

    memset(&spec, 0, sizeof(spec));
    spec.code = code;
    spec.entry = entry;
    spec.input_json = input;
    if (lim)
        spec.limits = *lim;
    if (ad_sandbox_run(sb, &spec, r, &err) != 0)
        fail_msg("ad_sandbox_run: %s", err.msg);
}

static const char *err_type(const struct ad_sandbox_result *r)
{
    return json_string_value(json_object_get(r->error, "type"));
}

static const char *err_msg(const struct ad_sandbox_result *r)
{
    return json_string_value(json_object_get(r->error, "message"));
}

/* ---- arguments ----------------------------------------------------------- */

static const char args_code[] =
    "def both(a, b=2):\n"
    "    return [a, b]\n"
    "def kwonly(*, x, y=5):\n"
    "    return x * y\n"
    "def anykw(**kw):\n"
    "    return sorted(kw)\n"
    "def none():\n"
    "    return 'nothing'\n";

static void test_arguments(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;
    struct {
        const char *entry, *input, *want;
    } cases[] = {
        { "both", "{\"a\": 1}", "[1, 2]" },                 /* keys fit: kwargs */
        { "both", "{\"a\": 1, \"b\": 3}", "[1, 3]" },
        { "both", "{\"x\": 1}", "[{\"x\": 1}, 2]" },        /* unknown key: one argument */
        { "both", "{\"b\": 1}", "[{\"b\": 1}, 2]" },        /* a missing: one argument */
        { "both", "[1, 2]", "[[1, 2], 2]" },
        { "both", "7", "[7, 2]" },
        { "kwonly", "{\"x\": 3}", "15" },
        { "anykw", "{\"q\": 1, \"p\": 2}", "[\"p\", \"q\"]" },
        { "none", NULL, "\"nothing\"" },                    /* null input, no parameter */
        { "both", NULL, "[null, 2]" },
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        json_t *want = json_loads(cases[i].want, JSON_DECODE_ANY, NULL);
        run(sb, args_code, cases[i].entry, cases[i].input, NULL, &r);
        if (r.status != AD_SB_OK)
            fail_msg("case %zu: status %s (%s)", i, ad_sb_status_name(r.status),
                     err_msg(&r) ? err_msg(&r) : "");
        if (!json_equal(want, r.output)) {
            char *got = json_dumps(r.output, JSON_ENCODE_ANY);
            fail_msg("case %zu: got %s, want %s", i, got, cases[i].want);
        }
        json_decref(want);
        ad_sandbox_result_clear(&r);
    }
}

/* ---- errors -------------------------------------------------------------- */

static void test_skill_errors(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;
    struct {
        const char *code, *type, *needle;
        int exit_code;
    } cases[] = {
        { "def f(x):\n    raise ValueError('boom')\n", "ValueError", "boom", 1 },
        { "def f(x):\n    return {1, 2}\n", "TypeError", "not JSON", 1 },
        { "def f(x):\n    return float('nan')\n", "TypeError", "not JSON", 1 },
        { "def g(x):\n    return 1\n", "NameError", "'f'", 1 },
        { "def f(x):\n  return (\n", "SyntaxError", "", 1 },
        { "f = 3\n", "NameError", "not a function", 1 },
        { "import sys\ndef f(x):\n    sys.exit(3)\n", "SystemExit", "3", 1 },
        { "import os\ndef f(x):\n    os._exit(3)\n", "NoResult", "non-zero", 3 },
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        run(sb, cases[i].code, "f", NULL, NULL, &r);
        if (r.status != AD_SB_ERROR || !err_type(&r) || strcmp(err_type(&r), cases[i].type) != 0)
            fail_msg("case %zu: status %s type %s", i, ad_sb_status_name(r.status),
                     err_type(&r) ? err_type(&r) : "(none)");
        if (!strstr(err_msg(&r), cases[i].needle) || r.exit_code != cases[i].exit_code)
            fail_msg("case %zu: message '%s' exit %d", i, err_msg(&r), r.exit_code);
        assert_null(r.output);
        ad_sandbox_result_clear(&r);
    }
    /* The traceback names the skill's line. */
    run(sb, cases[0].code, "f", NULL, NULL, &r);
    assert_non_null(strstr(json_string_value(json_object_get(r.error, "traceback")),
                           "skill.py\", line 2"));
    ad_sandbox_result_clear(&r);
}

/* ---- output -------------------------------------------------------------- */

static void test_streams_are_separate_and_capped(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;

    run(sb,
        "import sys\n"
        "def f(x):\n"
        "    print('to stdout')\n"
        "    print('{\"ok\": true, \"output\": 666}')\n"   /* cannot forge the result */
        "    sys.stderr.write('to stderr')\n"
        "    return 'done'\n",
        "f", NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_string_equal(json_string_value(r.output), "done");
    assert_non_null(strstr(r.stdout_text, "to stdout\n"));
    assert_string_equal(r.stderr_text, "to stderr");
    assert_false(r.truncated);
    ad_sandbox_result_clear(&r);

    /* 100 KiB of stdout: kept up to the cap, flagged, and the run is still ok. */
    run(sb, "import sys\ndef f(x):\n    sys.stdout.write('y' * 102400)\n    return 1\n", "f",
        NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_int_equal(strlen(r.stdout_text), AD_SB_STREAM_KEEP);
    assert_true(r.truncated);
    ad_sandbox_result_clear(&r);
}

/*
 * Output is bytes: a NUL in it cuts nothing (a skill could otherwise hide
 * what follows from a reviewer), in the result, its JSON and back.
 */
static void test_streams_keep_nul_bytes(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r, back;
    struct ad_err err = AD_ERR_INIT;
    json_t *j;

    run(sb,
        "import sys\n"
        "def f(x):\n"
        "    sys.stdout.write('shown\\0hidden rm -rf /')\n"
        "    sys.stderr.write('a\\0b\\xff')\n"
        "    sys.stderr.flush()\n"
        "    sys.stderr.buffer.write(b'\\xffc')\n"
        "    return 1\n",
        "f", NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_int_equal(r.stdout_len, 21);
    assert_memory_equal(r.stdout_text, "shown\0hidden rm -rf /", 21);
    assert_false(r.truncated);
    j = ad_sandbox_result_json(&r);
    assert_non_null(j);
    assert_int_equal(json_string_length(json_object_get(j, "stdout")), 21);
    assert_memory_equal(json_string_value(json_object_get(j, "stdout")),
                        "shown\0hidden rm -rf /", 21);
    /* Not UTF-8: the bad byte alone becomes '?'; the rest stays. */
    assert_int_equal(json_string_length(json_object_get(j, "stderr")), 7);
    assert_memory_equal(json_string_value(json_object_get(j, "stderr")), "a\0b\xc3\xbf?c", 7);
    memset(&back, 0, sizeof(back));
    assert_int_equal(ad_sandbox_result_from_json(j, &back, &err), 0);
    assert_int_equal(back.stdout_len, 21);
    assert_memory_equal(back.stdout_text, "shown\0hidden rm -rf /", 21);
    json_decref(j);
    ad_sandbox_result_clear(&back);
    ad_sandbox_result_clear(&r);

    /* Past the cap, with NULs in it: flagged, and kept up to the cap. */
    run(sb, "import sys\ndef f(x):\n    sys.stdout.write('\\0' * 70000)\n    return 1\n", "f",
        NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_int_equal(r.stdout_len, AD_SB_STREAM_KEEP);
    assert_true(r.truncated);
    ad_sandbox_result_clear(&r);
}

/*
 * Python values json.dumps writes that autodev does not carry come back as
 * a clear error naming what to change, not in the JSON library's words.
 */
static void test_results_autodev_cannot_carry(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;
    struct {
        const char *ret, *needle;
    } cases[] = {
        { "2**64", "integer 18446744073709551616 is outside" },
        { "[1, -2**63 - 1]", "integer -9223372036854775809 is outside" },
        { "'a\\0b'", "NUL character" },
        { "{1: 'a', '1': 'b'}", "same key \"1\"" },
        { "'\\ud800'", "lone surrogate" },
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        char code[256];

        snprintf(code, sizeof(code), "def f(x):\n    return %s\n", cases[i].ret);
        run(sb, code, "f", NULL, NULL, &r);
        if (r.status != AD_SB_ERROR || !err_type(&r) || strcmp(err_type(&r), "TypeError") != 0 ||
            !strstr(err_msg(&r), cases[i].needle) || strstr(err_msg(&r), "JSON_ALLOW_NUL") ||
            strstr(err_msg(&r), "near '"))
            fail_msg("case %zu (%s): status %s, %s: %s", i, cases[i].ret,
                     ad_sb_status_name(r.status), err_type(&r) ? err_type(&r) : "(none)",
                     err_msg(&r) ? err_msg(&r) : "");
        assert_non_null(strstr(err_msg(&r), "return value is not JSON autodev can carry"));
        assert_null(r.output);
        ad_sandbox_result_clear(&r);
    }
    /* The edges of the range are carried. */
    run(sb, "def f(x):\n    return [2**63 - 1, -2**63]\n", "f", NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_int_equal(json_integer_value(json_array_get(r.output, 0)), INT64_MAX);
    assert_int_equal(json_integer_value(json_array_get(r.output, 1)), INT64_MIN);
    ad_sandbox_result_clear(&r);
    /* An exception whose message holds a NUL or a lone surrogate still reports. */
    run(sb, "def f(x):\n    raise ValueError('a\\0b \\ud800')\n", "f", NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_ERROR);
    assert_string_equal(err_type(&r), "ValueError");
    assert_non_null(strstr(err_msg(&r), "a\\0b \\ud800"));
    ad_sandbox_result_clear(&r);
}

static void test_output_limit(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result r;

    lim.output_bytes = 200000;
    lim.wall_ms = 20000;
    run(sb, "import sys\ndef f(x):\n    while True:\n        sys.stderr.write('z' * 4096)\n",
        "f", NULL, &lim, &r);
    assert_int_equal(r.status, AD_SB_OUTPUT_LIMIT);
    assert_true(r.truncated);
    assert_true(strlen(r.stderr_text) <= AD_SB_STREAM_KEEP);
    ad_sandbox_result_clear(&r);

    /* A return value over the limit is cut off the same way. */
    run(sb, "def f(x):\n    return 'q' * 300000\n", "f", NULL, &lim, &r);
    assert_int_equal(r.status, AD_SB_OUTPUT_LIMIT);
    ad_sandbox_result_clear(&r);
}

/* ---- limits -------------------------------------------------------------- */

static void test_timeout(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result r;

    lim.wall_ms = 700;
    run(sb, "import time\ndef f(x):\n    time.sleep(30)\n", "f", NULL, &lim, &r);
    assert_int_equal(r.status, AD_SB_TIMEOUT);
    assert_string_equal(err_type(&r), "Timeout");
    assert_true(r.wall_ms >= 700);
    ad_sandbox_result_clear(&r);
}

static void test_cpu_limit(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result r;

    lim.wall_ms = 20000;
    lim.cpu_ms = 1000;
    run(sb, "def f(x):\n    while True:\n        pass\n", "f", NULL, &lim, &r);
    assert_int_equal(r.status, AD_SB_CPU_LIMIT);
    assert_true(r.cpu_ms >= 900);
    ad_sandbox_result_clear(&r);
}

/*
 * RLIMIT_CPU is per process: the limit is for the whole run. Two children
 * and two double-forked orphans each loop (each would stop only at its own
 * RLIMIT_CPU) while the entry sleeps; together they pass the limit, and
 * the run ends there.
 */
static void test_cpu_limit_whole_run(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result r;

    lim.wall_ms = 20000;
    lim.cpu_ms = 1000;
    run(sb,
        "import os, time\n"
        "def spin():\n"
        "    while True:\n"
        "        pass\n"
        "def f(x):\n"
        "    for orphan in (False, False, True, True):\n"
        "        if os.fork() == 0:\n"
        "            if orphan:\n"
        "                os.setsid()\n"
        "                if os.fork():\n"
        "                    os._exit(0)\n"
        "            spin()\n"
        "    time.sleep(15)\n"
        "    return 'slept'\n",
        "f", NULL, &lim, &r);
    if (r.status != AD_SB_CPU_LIMIT)
        fail_msg("status %s, cpu_ms %" PRId64 ", wall_ms %" PRId64, ad_sb_status_name(r.status),
                 r.cpu_ms, r.wall_ms);
    assert_string_equal(err_type(&r), "CpuLimit");
    assert_true(r.cpu_ms >= 900);
    ad_sandbox_result_clear(&r);
}

static void test_memory_limit(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result r;

    lim.wall_ms = 20000;
    lim.memory_bytes = 64LL << 20;
    run(sb,
        "def f(x):\n"
        "    a = []\n"
        "    while True:\n"
        "        a.append(bytearray(8 << 20))\n",
        "f", NULL, &lim, &r);
    assert_int_equal(r.status, AD_SB_OOM);
    ad_sandbox_result_clear(&r);

    /* The next run of the same slot is not blamed for it. */
    run(sb, "def f(x):\n    return len(bytearray(16 << 20))\n", "f", NULL, &lim, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_int_equal(json_integer_value(r.output), 16 << 20);
    ad_sandbox_result_clear(&r);
}

static void test_signal(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;

    run(sb, "import os, signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGSEGV)\n", "f",
        NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_SIGNAL);
    assert_int_equal(r.signal, SIGSEGV);
    assert_int_equal(r.exit_code, -1);
    ad_sandbox_result_clear(&r);
}

/* ---- bad specs ----------------------------------------------------------- */

static void test_bad_specs(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_spec spec;
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;
    static const char nul_code[] = "def f(x):\n    return 1\n\0junk";

    memset(&spec, 0, sizeof(spec));
    spec.entry = "f";
    assert_int_equal(ad_sandbox_run(sb, &spec, &r, &err), AD_EINVAL);
    ad_sandbox_result_clear(&r);

    spec.code = "def f(x):\n    return 1\n";
    spec.entry = "1f";
    assert_int_equal(ad_sandbox_run(sb, &spec, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "'1f'"));
    ad_sandbox_result_clear(&r);

    spec.entry = "f";
    spec.input_json = "{\"a\": ";
    assert_int_equal(ad_sandbox_run(sb, &spec, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "skill input"));
    ad_sandbox_result_clear(&r);

    spec.input_json = NULL;
    spec.limits.memory_bytes = 1024;
    assert_int_equal(ad_sandbox_run(sb, &spec, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "memory_bytes"));
    ad_sandbox_result_clear(&r);

    spec.limits.memory_bytes = 0;
    spec.code = nul_code;
    spec.code_len = sizeof(nul_code) - 1;
    assert_int_equal(ad_sandbox_run(sb, &spec, &r, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "NUL"));
    ad_sandbox_result_clear(&r);

    /* Not UTF-8. */
    spec.code = "def f(x):\n    return '\xff'\n";
    spec.code_len = 0;
    assert_int_equal(ad_sandbox_run(sb, &spec, &r, &err), AD_EINVAL);
    ad_sandbox_result_clear(&r);
}

/* ---- a supervisor killed mid-run ----------------------------------------- */

struct bg_run {
    struct ad_sandbox *sb;
    const char *code;
    struct ad_sandbox_result r;
};

static void *bg_main(void *arg)
{
    struct bg_run *b = arg;
    run(b->sb, b->code, "f", NULL, NULL, &b->r);
    return NULL;
}

/* Our children named autodev-sandbox: the supervisors. */
static int supervisors(pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL && n < max) {
        char path[300], buf[512];
        FILE *f;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            char *rp = strrchr(buf, ')');
            long ppid = 0;
            if (rp && strstr(buf, "(autodev-sandbox)") &&
                sscanf(rp + 2, "%*c %ld", &ppid) == 1 && ppid == (long)getpid())
                out[n++] = (pid_t)strtol(de->d_name, NULL, 10);
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

static void test_supervisor_killed(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct bg_run b;
    struct ad_sandbox_result r;
    pthread_t t;
    pid_t sup[AD_SB_MAX_SLOTS];
    int n, i;

    memset(&b, 0, sizeof(b));
    b.sb = sb;
    b.code = "import time\ndef f(x):\n    time.sleep(20)\n    return 1\n";
    assert_int_equal(pthread_create(&t, NULL, bg_main, &b), 0);
    /* Wait until the run is under way, then kill every supervisor. */
    for (i = 0; i < 100; i++) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
        if (i >= 10 && supervisors(sup, AD_SB_MAX_SLOTS) > 0)
            break;
    }
    n = supervisors(sup, AD_SB_MAX_SLOTS);
    assert_true(n > 0);
    for (i = 0; i < n; i++)
        kill(sup[i], SIGKILL);
    pthread_join(t, NULL);
    assert_int_equal(b.r.status, AD_SB_SANDBOX_ERROR);
    assert_string_equal(err_type(&b.r), "SandboxError");
    ad_sandbox_result_clear(&b.r);

    /* A new supervisor takes over. */
    run(sb, "def f(x):\n    return 5\n", "f", NULL, NULL, &r);
    assert_int_equal(r.status, AD_SB_OK);
    assert_int_equal(json_integer_value(r.output), 5);
    ad_sandbox_result_clear(&r);
}

/* ---- concurrency --------------------------------------------------------- */

struct par {
    struct ad_sandbox *sb;
    int n;
    struct ad_sandbox_result r;
};

static void *par_main(void *arg)
{
    struct par *p = arg;
    char input[32];
    snprintf(input, sizeof(input), "%d", p->n);
    run(p->sb, "import time\ndef f(x):\n    time.sleep(0.2)\n    return x * 10\n", "f", input,
        NULL, &p->r);
    return NULL;
}

static void test_concurrent_runs(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct par p[6];
    pthread_t t[6];
    int i;

    for (i = 0; i < 6; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].sb = sb;
        p[i].n = i + 1;
        assert_int_equal(pthread_create(&t[i], NULL, par_main, &p[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(p[i].r.status, AD_SB_OK);
        assert_int_equal(json_integer_value(p[i].r.output), (i + 1) * 10);
        ad_sandbox_result_clear(&p[i].r);
    }
}

/* ---- what the payload sees of its host -------------------------------------- */

/*
 * The payload's parent (the linux backend's init, the process backend's
 * supervisor) is a fork of this test: its command line must not be ours,
 * nor its environment hold ours.
 */
static void test_parent_shows_no_host_argv(void **state)
{
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;

    run(sb,
        "import os\n"
        "def f(x):\n"
        "    p = '/proc/%d/' % os.getppid()\n"
        "    env = 'closed'\n"
        "    try:\n"
        "        env = open(p + 'environ', 'rb').read().replace(b'\\0', b'').decode('latin-1')\n"
        "    except OSError:\n"
        "        pass\n"
        "    cmd = open(p + 'cmdline', 'rb').read().decode('latin-1')\n"
        "    return [cmd.replace('\\0', '|'), env]\n",
        "f", NULL, NULL, &r);
    if (r.status != AD_SB_OK)
        fail_msg("status %s: %s", ad_sb_status_name(r.status), err_msg(&r));
    assert_string_equal(json_string_value(json_array_get(r.output, 0)), "autodev-sandbox|");
    /* Unreadable (not dumpable), or nothing but NULs. */
    if (strcmp(json_string_value(json_array_get(r.output, 1)), "closed") != 0)
        assert_string_equal(json_string_value(json_array_get(r.output, 1)), "");
    ad_sandbox_result_clear(&r);
}

/* ---- isolation level and result JSON -------------------------------------- */

static void test_isolation_reported(void **state)
{
    struct fx *fx = *state;
    struct ad_sandbox *sb = need(state);
    struct ad_sandbox_result r;

    run(sb, "def f(x):\n    return 1\n", "f", NULL, NULL, &r);
    assert_string_equal(r.backend, fx->backend == AD_SB_LINUX ? "linux" : "process");
    if (fx->backend == AD_SB_PROCESS)
        assert_true(r.degraded);
    assert_int_equal(strlen(r.execution_id), AD_ID_SIZE - 1);
    ad_sandbox_result_clear(&r);
}

static void test_result_json_round_trip(void **state)
{
    struct ad_sandbox_result a, b;
    struct ad_err err = AD_ERR_INIT;
    json_t *j, *j2;

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.status = AD_SB_CPU_LIMIT;
    a.exit_code = -1;
    a.signal = 24;
    a.wall_ms = 1234;
    a.cpu_ms = 1000;
    a.max_rss_kb = 9000;
    a.output = json_pack("{s:[i,i]}", "k", 1, 2);
    a.error = json_pack("{s:s, s:s, s:s}", "type", "CpuLimit", "message", "m", "traceback", "");
    a.stdout_text = strdup("out \xff bytes");   /* not UTF-8: kept, lossily */
    a.stderr_text = strdup("err");
    a.truncated = true;
    a.degraded = true;
    snprintf(a.backend, sizeof(a.backend), "linux");
    snprintf(a.execution_id, sizeof(a.execution_id), "0190b0e4-0000-7000-8000-000000000000");

    j = ad_sandbox_result_json(&a);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "cpu_limit");
    assert_string_equal(json_string_value(json_object_get(j, "isolation")), "degraded");
    assert_string_equal(json_string_value(json_object_get(j, "stdout")), "out ? bytes");
    assert_int_equal(ad_sandbox_result_from_json(j, &b, &err), 0);
    j2 = ad_sandbox_result_json(&b);
    assert_true(json_equal(j, j2));
    assert_int_equal(b.status, AD_SB_CPU_LIMIT);
    assert_int_equal(b.signal, 24);
    assert_true(b.truncated && b.degraded);
    json_decref(j);
    json_decref(j2);
    ad_sandbox_result_clear(&a);
    ad_sandbox_result_clear(&b);

    /* Garbage in, a clear error out. */
    j = json_pack("{s:s}", "status", "ok");
    assert_int_equal(ad_sandbox_result_from_json(j, &b, &err), AD_EINVAL);
    json_decref(j);
    ad_sandbox_result_clear(&b);
}

/* ---- the probe cache -------------------------------------------------------- */

static char cache_home[64];

/* Makes and frees a linux sandbox; whether it settled from the cache. */
static bool cached_new(void)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_sandbox *sb = NULL;
    struct ad_err err = AD_ERR_INIT;
    bool cached;

    o.backend = AD_SB_LINUX;
    o.slots = 1;
    o.quiet = true;
    o.one_shot = true;
    if (ad_sandbox_new(&o, &sb, &err) != 0)
        fail_msg("ad_sandbox_new: %s", err.msg);
    cached = ad__sb_probe_cached(sb);
    ad_sandbox_free(sb);
    return cached;
}

static void cache_write(const char *path, const char *text, mode_t mode)
{
    FILE *fp;

    unlink(path);
    fp = fopen(path, "we");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static void cache_read(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "re");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/*
 * A linux probe that passed is kept, keyed, in $AUTODEV_HOME/cache, and the
 * next sandbox trusts it only as written: anything else is probed again
 * and rewritten.
 */
static void test_probe_cache(void **state)
{
    char path[128], good[128], buf[160], link[140];
    struct stat st;

    need(state);
    snprintf(path, sizeof(path), "%s/cache/sandbox-probe", cache_home);
    unlink(path);
    assert_false(cached_new());
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    cache_read(path, good, sizeof(good));
    assert_int_equal(strncmp(good, "autodev sandbox probe 1\nkey ", 28), 0);
    assert_non_null(strstr(good, "\nlinux ok\n"));
    assert_true(cached_new());

    /* Malformed, stale (another key), padded, writable by others: probed again. */
    cache_write(path, "autodev sandbox probe 1\ngarbage\n", 0600);
    assert_false(cached_new());
    cache_read(path, buf, sizeof(buf));
    assert_string_equal(buf, good);
    snprintf(buf, sizeof(buf), "%s", good);
    buf[28] = buf[28] == '0' ? '1' : '0';
    cache_write(path, buf, 0600);
    assert_false(cached_new());
    snprintf(buf, sizeof(buf), "%s\n", good);
    cache_write(path, buf, 0600);
    assert_false(cached_new());
    cache_write(path, good, 0622);
    assert_false(cached_new());
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(cached_new());

    /* A link to a good copy is not the file. */
    snprintf(link, sizeof(link), "%s.copy", path);
    cache_write(link, good, 0600);
    unlink(path);
    assert_int_equal(symlink(link, path), 0);
    assert_false(cached_new());
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(link);
}

static void test_names(void **state)
{
    enum ad_sb_backend b;
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    assert_string_equal(ad_sb_status_name(AD_SB_OUTPUT_LIMIT), "output_limit");
    assert_string_equal(ad_sb_status_name((enum ad_sb_status)99), "sandbox_error");
    assert_int_equal(ad_sb_backend_parse("linux", &b, &err), 0);
    assert_int_equal(b, AD_SB_LINUX);
    assert_int_equal(ad_sb_backend_parse("docker", &b, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "'docker'"));
}

static void test_bad_options(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_sandbox *sb = NULL;
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    o.backend = AD_SB_PROCESS;
    o.runtime = "python3 -I";
    assert_int_equal(ad_sandbox_new(&o, &sb, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "absolute"));
    o.runtime = "/nonexistent/python3";
    assert_int_equal(ad_sandbox_new(&o, &sb, &err), AD_EINVAL);
    o.runtime = NULL;
    o.slots = AD_SB_MAX_SLOTS + 1;
    assert_int_equal(ad_sandbox_new(&o, &sb, &err), AD_EINVAL);
    assert_null(sb);
}

int main(void)
{
#define P(f) cmocka_unit_test_prestate_setup_teardown(f, setup_process, teardown, NULL)
#define L(f) cmocka_unit_test_prestate_setup_teardown(f, setup_linux, teardown, NULL)
#define BOTH(f) P(f), L(f)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_result_json_round_trip),
        BOTH(test_arguments),
        BOTH(test_skill_errors),
        BOTH(test_streams_are_separate_and_capped),
        BOTH(test_streams_keep_nul_bytes),
        BOTH(test_results_autodev_cannot_carry),
        BOTH(test_output_limit),
        BOTH(test_timeout),
        BOTH(test_cpu_limit),
        BOTH(test_cpu_limit_whole_run),
        BOTH(test_memory_limit),
        BOTH(test_signal),
        BOTH(test_bad_specs),
        BOTH(test_isolation_reported),
        BOTH(test_parent_shows_no_host_argv),
        BOTH(test_concurrent_runs),
        BOTH(test_supervisor_killed),
        L(test_probe_cache),
    };
#undef BOTH
#undef L
#undef P

    int rc;

    /* The probe cache goes to a home of the tests' own, not the user's. */
    snprintf(cache_home, sizeof(cache_home), "/tmp/autodev-test-sandbox-XXXXXX");
    if (!mkdtemp(cache_home) || setenv("AUTODEV_HOME", cache_home, 1) != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    {
        char path[128];
        snprintf(path, sizeof(path), "%s/cache/sandbox-probe", cache_home);
        unlink(path);
        snprintf(path, sizeof(path), "%s/cache", cache_home);
        rmdir(path);
        rmdir(cache_home);
    }
    return rc;
}
