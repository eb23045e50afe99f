/*
 * bench_edit: how fast replies are parsed and edits applied.
 *
 *   bench_edit [--quick] [MiB]
 *
 * (1) ad_edit_parse over a reply of MiB mebibytes (default 8) made of
 *     prose, fenced SEARCH/REPLACE blocks, diff hunks and prose code.
 * (2) ad_edit_apply_text on a file of about MiB / 2 mebibytes of Python-like
 *     lines, one block per cascade step: exact, trailing white space,
 *     indentation, blank lines, elision, and a miss (which also computes
 *     the retry feedback).
 * (3) ad_edit_apply_dir on a scratch directory ($TMPDIR or /tmp): DIR_FILES
 *     files of 4 KiB in 10 folders, one SEARCH/REPLACE block each, plus
 *     DIR_NEW new files each in a new folder; the tree is put back untimed
 *     between repetitions. It costs system calls, not bytes: best and
 *     median milliseconds per apply.
 * Each is repeated; prints best and median MB/s of input. Asserts nothing.
 */
#include "compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/edit.h"

#define MAX_REPS 15
#define DIR_FILES 200
#define DIR_NEW 20

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void report(const char *what, size_t bytes, int64_t *ns, int reps, const char *extra)
{
    double mb = (double)bytes / 1e6;

    qsort(ns, (size_t)reps, sizeof(*ns), cmp_i64);
    printf("%-34s %8.2f MB %9.1f MB/s best %9.1f MB/s median %8.3f ms best  %s\n", what, mb,
           mb / ((double)ns[0] / 1e9), mb / ((double)ns[reps / 2] / 1e9),
           (double)ns[0] / 1e6, extra);
}

/* One unit of the big reply: prose, a block, a hunk, prose code. */
static int add_unit(struct ad_buf *b, long i)
{
    return ad_buf_addf(b,
        "Next I change the loop in step %ld so that it stops early when the queue\n"
        "is empty; this also removes the duplicate check further down.\n\n"
        "src/mod%ld.py\n```python\n<<<<<<< SEARCH\n    for item in queue:\n"
        "        if item.ready(%ld):\n            process(item)\n=======\n"
        "    for item in queue:\n        if not queue:\n            break\n"
        "        if item.ready(%ld):\n            process(item)\n>>>>>>> REPLACE\n```\n\n"
        "```diff\n--- a/src/util%ld.py\n+++ b/src/util%ld.py\n@@ -10,4 +10,4 @@ def f():\n"
        "     a = compute(%ld)\n-    b = a + 1\n+    b = a + 2\n     return b\n```\n\n"
        "You can check it with:\n```bash\npytest -q tests/test_mod%ld.py\n```\n\n",
        i, i % 50, i, i, i % 50, i % 50, i, i);
}

static int bench_parse(size_t target, int reps)
{
    struct ad_buf reply = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    int64_t ns[MAX_REPS];
    size_t blocks = 0;
    char extra[64];

    for (long i = 0; reply.len < target; i++) {
        if (add_unit(&reply, i) != 0)
            return -1;
    }
    for (int r = 0; r < reps; r++) {
        struct ad_edit_set set = AD_EDIT_SET_INIT;
        int64_t t0 = ad_mono_ns();

        if (ad_edit_parse(reply.ptr, reply.len, &set, &err) != 0) {
            fprintf(stderr, "bench_edit: %s\n", err.msg);
            return -1;
        }
        ns[r] = ad_mono_ns() - t0;
        blocks = set.n;
        ad_edit_set_release(&set);
    }
    snprintf(extra, sizeof(extra), "(%zu blocks)", blocks);
    report("parse (blocks, hunks, prose)", reply.len, ns, reps, extra);
    ad_buf_release(&reply);
    return 0;
}

static int make_file(size_t target, struct ad_buf *f, long *n)
{
    for (*n = 0; f->len < target; (*n)++) {
        long i = *n;

        if (ad_buf_addf(f, "def func_%ld(x, y):\n    total = x * %ld + y\n"
                        "    if total > %ld:\n        return total - 1\n"
                        "    return total\n\n\n", i, i % 97, i % 13) != 0)
            return -1;
    }
    return 0;
}

struct apply_case {
    const char *name;
    const char *search;
    const char *replace;
};

static int bench_apply(size_t target, int reps)
{
    static const struct apply_case cases[] = {
        { "apply: exact", "def func_%ld(x, y):\n    total = x * %ld + y\n",
          "def func_%ld(x, y):\n    total = x * %ld - y\n" },
        { "apply: trailing white space", "def func_%ld(x, y):   \n    total = x * %ld + y \n",
          "def func_%ld(x, y):\n    total = x * %ld - y\n" },
        { "apply: indentation", "  def func_%ld(x, y):\n      total = x * %ld + y\n",
          "  def func_%ld(x, y):\n      total = x * %ld - y\n" },
        { "apply: blank lines", "def func_%ld(x, y):\n\n    total = x * %ld + y\n",
          "def func_%ld(x, y):\n    total = x * %ld - y\n" },
        { "apply: elision", "def func_%ld(x, y):\n...\n    total = x * %ld + y\n",
          "def func_%ld(x, y):\n...\n    total = x * %ld - y\n" },
        { "apply: not found + feedback", "def func_%ld(x, z):\n    total = x * %ld + z\n",
          "x\n" },
    };
    struct ad_buf file = AD_BUF_INIT;
    long last;
    int rc = 0;

    if (make_file(target, &file, &last) != 0)
        return -1;
    last -= 2;   /* a function near the end of the file */
    for (size_t c = 0; c < AD_ARRAY_SIZE(cases) && !rc; c++) {
        char search[256], replace[256];
        struct ad_edit_block b = { AD_EDIT_REPLACE, (char *)"big.py", search, replace, 1, 0 };
        int64_t ns[MAX_REPS];
        enum ad_edit_match how = AD_EDIT_MATCH_NONE;
        char extra[64];
        int arc = 0;

        snprintf(search, sizeof(search), cases[c].search, last, last % 97);
        snprintf(replace, sizeof(replace), cases[c].replace, last, last % 97);
        for (int r = 0; r < reps; r++) {
            struct ad_buf out = AD_BUF_INIT, fb = AD_BUF_INIT;
            struct ad_err err = AD_ERR_INIT;
            int64_t t0 = ad_mono_ns();

            arc = ad_edit_apply_text(file.ptr, file.len, &b, &out, &how, &fb, &err);
            ns[r] = ad_mono_ns() - t0;
            ad_buf_release(&out);
            ad_buf_release(&fb);
        }
        snprintf(extra, sizeof(extra), "(%s, rc %d)", ad_edit_match_name(how), arc);
        report(cases[c].name, file.len, ns, reps, extra);
    }
    ad_buf_release(&file);
    return rc;
}

/* The blocks: file i's line "v = <from>" becomes "v = <to>"; the new files when with_new. */
static int dir_reply(struct ad_buf *reply, int from, int to, int with_new)
{
    int rc = 0;

    for (int i = 0; i < DIR_FILES && !rc; i++)
        rc = ad_buf_addf(reply, "pkg%d/mod%d.py\n<<<<<<< SEARCH\nv = %d\n=======\nv = %d\n"
                         ">>>>>>> REPLACE\n\n", i % 10, i, from, to);
    for (int i = 0; i < DIR_NEW && with_new && !rc; i++)
        rc = ad_buf_addf(reply, "new%d/file.py\n<<<<<<< SEARCH\n=======\nx = %d\n"
                         ">>>>>>> REPLACE\n\n", i, i);
    return rc;
}

static int dir_apply(const char *root, const struct ad_buf *reply, size_t *changed)
{
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_edit_parse(reply->ptr, reply->len, &set, &err);

    if (!rc)
        rc = ad_edit_apply_dir(root, &set, NULL, 0, &rep, &err);
    if (rc)
        fprintf(stderr, "bench_edit: %s\n", err.msg);
    *changed = rep.files_changed;
    ad_edit_report_release(&rep);
    ad_edit_set_release(&set);
    return rc;
}

static int dir_tree(const char *root, int make)
{
    char path[512];
    int rc = 0;

    for (int i = 0; i < DIR_FILES && !rc; i++) {
        FILE *f;

        snprintf(path, sizeof(path), "%s/pkg%d", root, i % 10);
        if (make && i < 10 && mkdir(path, 0755) != 0)
            return -1;
        snprintf(path, sizeof(path), "%s/pkg%d/mod%d.py", root, i % 10, i);
        if (!make) {
            rc = unlink(path);
            continue;
        }
        f = fopen(path, "w");
        if (!f)
            return -1;
        fprintf(f, "v = 0\n");
        for (int k = 0; k < 100; k++)
            fprintf(f, "def f%d(x):\n    return x + %d  # %016d\n", k, k, i);
        rc = fclose(f);
    }
    for (int i = 0; i < 10 && !make && !rc; i++) {
        snprintf(path, sizeof(path), "%s/pkg%d", root, i);
        rc = rmdir(path);
    }
    return rc;
}

static int dir_unnew(const char *root)
{
    char path[512];

    for (int i = 0; i < DIR_NEW; i++) {
        snprintf(path, sizeof(path), "%s/new%d/file.py", root, i);
        if (unlink(path) != 0)
            return -1;
        snprintf(path, sizeof(path), "%s/new%d", root, i);
        if (rmdir(path) != 0)
            return -1;
    }
    return 0;
}

static int bench_dir(int reps)
{
    struct ad_buf fwd = AD_BUF_INIT, back = AD_BUF_INIT;
    const char *tmp = getenv("TMPDIR");
    char root[256];
    int64_t ns[MAX_REPS];
    size_t changed = 0, ignored;
    int rc;

    snprintf(root, sizeof(root), "%s/bench-edit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root))
        return -1;
    rc = dir_tree(root, 1) || dir_reply(&fwd, 0, 1, 1) || dir_reply(&back, 1, 0, 0);
    for (int r = 0; r < reps && !rc; r++) {
        int64_t t0 = ad_mono_ns();

        rc = dir_apply(root, &fwd, &changed);
        ns[r] = ad_mono_ns() - t0;
        if (!rc)
            rc = dir_apply(root, &back, &ignored) || dir_unnew(root);
    }
    if (dir_tree(root, 0) != 0 || rmdir(root) != 0)
        fprintf(stderr, "bench_edit: could not remove '%s'\n", root);
    if (!rc) {
        qsort(ns, (size_t)reps, sizeof(*ns), cmp_i64);
        printf("%-34s %8.3f ms best %9.3f ms median  (%zu files changed, %d in new folders)\n",
               "apply_dir: 200 changed + 20 new", (double)ns[0] / 1e6,
               (double)ns[reps / 2] / 1e6, changed, DIR_NEW);
    }
    ad_buf_release(&fwd);
    ad_buf_release(&back);
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    size_t mib = 8;
    int reps = 9;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            mib = 1;
            reps = 3;
        } else {
            mib = (size_t)strtol(argv[i], NULL, 10);
            if (mib == 0 || mib > 1024) {
                fprintf(stderr, "usage: bench_edit [--quick] [MiB]\n");
                return 2;
            }
        }
    }
    printf("bench_edit: reply %zu MiB, file %zu MiB, %d repetitions\n", mib,
           mib / 2 ? mib / 2 : 1, reps);
    if (bench_parse(mib << 20, reps) != 0 || bench_apply((mib / 2 ? mib / 2 : 1) << 20, reps) ||
        bench_dir(reps) != 0)
        return 1;
    return 0;
}
