/*
 * Unit tests for src/edit: parsing the edit formats of a model's reply,
 * stripping fences, extracting a Python function, the matching cascade and
 * applying a set of edits to a directory (path safety, all or nothing).
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/edit.h"
#include "autodev/error.h"

/* Included for struct apply_ctx, so a test can set its before_rename hook. */
#include "edit/edit_apply.c"

#define R AD_EDIT_REPLACE
#define NEW AD_EDIT_NEW_FILE
#define WHOLE AD_EDIT_WHOLE_FILE

/* ---- parsing -------------------------------------------------------------- */

struct exp_block {
    int kind;
    const char *path;      /* NULL: the block names none */
    const char *search;
    const char *replace;
    int from_diff;
};

struct parse_case {
    const char *name;
    const char *reply;
    int rc;
    size_t n;
    struct exp_block b[3];
};

static const struct parse_case parse_cases[] = {
    { "fenced, path on the line before",
      "Change it:\n\nsrc/x.py\n```python\n<<<<<<< SEARCH\na = 1\n=======\na = 2\n"
      ">>>>>>> REPLACE\n```\nDone.\n",
      0, 1, { { R, "src/x.py", "a = 1\n", "a = 2\n", 0 } } },
    { "path in the fence info string",
      "```python src/x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
      0, 1, { { R, "src/x.py", "a\n", "b\n", 0 } } },
    { "path in backticks",
      "`src/x.py`\n```\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
      0, 1, { { R, "src/x.py", "a\n", "b\n", 0 } } },
    { "path in bold with a colon and a blank line",
      "**src/x.py**:\n\n```py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
      0, 1, { { R, "src/x.py", "a\n", "b\n", 0 } } },
    { "path as '# file:'",
      "# file: src/x.py\n```python\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
      0, 1, { { R, "src/x.py", "a\n", "b\n", 0 } } },
    { "path as a markdown heading",
      "### lib/util.c\n```c\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
      0, 1, { { R, "lib/util.c", "a\n", "b\n", 0 } } },
    { "explicit path without a dot",
      "`Makefile`\n```\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
      0, 1, { { R, "Makefile", "a\n", "b\n", 0 } } },
    { "no fence, path right before the marker",
      "src/x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
      0, 1, { { R, "src/x.py", "a\n", "b\n", 0 } } },
    { "five-character markers",
      "x.py\n<<<<< SEARCH\na\n=====\nb\n>>>>> REPLACE\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 0 } } },
    { "nine-character markers without words",
      "x.py\n<<<<<<<<<\na\n=========\nb\n>>>>>>>>>\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 0 } } },
    { "marker words in any case, trailing spaces",
      "x.py\n<<<<<<< search   \na\n=======  \nb\n>>>>>>> Replace \t\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 0 } } },
    { "ten '<' is no marker", "x.py\n<<<<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
      AD_ENOTFOUND, 0, { { 0 } } },
    { "only the first divider counts",
      "x.py\n<<<<<<< SEARCH\na\n=======\nb\n=======\nc\n>>>>>>> REPLACE\n",
      0, 1, { { R, "x.py", "a\n", "b\n=======\nc\n", 0 } } },
    { "empty search makes a new file",
      "new.py\n```python\n<<<<<<< SEARCH\n=======\nprint(1)\n>>>>>>> REPLACE\n```\n",
      0, 1, { { NEW, "new.py", "", "print(1)\n", 0 } } },
    { "blank search makes a new file",
      "new.py\n<<<<<<< SEARCH\n\n  \n=======\nx\n>>>>>>> REPLACE\n",
      0, 1, { { NEW, "new.py", "", "x\n", 0 } } },
    { "empty replace deletes",
      "x.py\n<<<<<<< SEARCH\na\nb\n=======\n>>>>>>> REPLACE\n",
      0, 1, { { R, "x.py", "a\nb\n", "", 0 } } },
    { "two files",
      "a.py\n```python\n<<<<<<< SEARCH\n1\n=======\n2\n>>>>>>> REPLACE\n```\n\nand\n\n"
      "b/c.py\n```python\n<<<<<<< SEARCH\n3\n=======\n4\n>>>>>>> REPLACE\n```\n",
      0, 2, { { R, "a.py", "1\n", "2\n", 0 }, { R, "b/c.py", "3\n", "4\n", 0 } } },
    { "a block without a path takes the last one",
      "a.py\n```python\n<<<<<<< SEARCH\n1\n=======\n2\n>>>>>>> REPLACE\n\n<<<<<<< SEARCH\n3\n"
      "=======\n4\n>>>>>>> REPLACE\n```\nthen\n```python\n<<<<<<< SEARCH\n5\n=======\n6\n"
      ">>>>>>> REPLACE\n```\n",
      0, 3, { { R, "a.py", "1\n", "2\n", 0 }, { R, "a.py", "3\n", "4\n", 0 },
              { R, "a.py", "5\n", "6\n", 0 } } },
    { "a path line inside the fence switches files",
      "```python\na.py\n<<<<<<< SEARCH\n1\n=======\n2\n>>>>>>> REPLACE\nb.py\n<<<<<<< SEARCH\n3\n"
      "=======\n4\n>>>>>>> REPLACE\n```\n",
      0, 2, { { R, "a.py", "1\n", "2\n", 0 }, { R, "b.py", "3\n", "4\n", 0 } } },
    { "no path at all",
      "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
      0, 1, { { R, NULL, "a\n", "b\n", 0 } } },
    { "windows line ends",
      "x.py\r\n```python\r\n<<<<<<< SEARCH\r\na\r\n=======\r\nb\r\n>>>>>>> REPLACE\r\n```\r\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 0 } } },
    { "tilde fence",
      "x.py\n~~~\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n~~~\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 0 } } },
    { "fences inside the replace part are content",
      "README.md\n<<<<<<< SEARCH\nold\n=======\n```sh\nmake\n```\n>>>>>>> REPLACE\n",
      0, 1, { { R, "README.md", "old\n", "```sh\nmake\n```\n", 0 } } },
    { "indentation inside the block is kept",
      "x.py\n<<<<<<< SEARCH\n    if a:\n        b()\n=======\n    if a:\n        c()\n"
      ">>>>>>> REPLACE\n",
      0, 1, { { R, "x.py", "    if a:\n        b()\n", "    if a:\n        c()\n", 0 } } },
    { "unterminated block", "x.py\n<<<<<<< SEARCH\na\n=======\nb\n",
      AD_EINVAL, 0, { { 0 } } },
    { "block with no divider", "x.py\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n",
      AD_EINVAL, 0, { { 0 } } },
    { "next block before the REPLACE marker",
      "x.py\n<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n",
      AD_EINVAL, 0, { { 0 } } },
    { "prose only", "I think the bug is in the parser. Try again?\n", AD_ENOTFOUND, 0,
      { { 0 } } },
    { "empty reply", "", AD_ENOTFOUND, 0, { { 0 } } },
    { "prose code without a path is no block",
      "Run this:\n```bash\npytest -q\n```\nor this:\n```\nx = 1\n```\n", AD_ENOTFOUND, 0,
      { { 0 } } },
    { "whole file, path in the info string",
      "```python app/main.py\nimport os\n\nprint(os.name)\n```\n",
      0, 1, { { WHOLE, "app/main.py", "", "import os\n\nprint(os.name)\n", 0 } } },
    { "whole file, path on the line before",
      "Here is the new file.\n\napp/main.py\n```python\nprint(1)\n```\n",
      0, 1, { { WHOLE, "app/main.py", "", "print(1)\n", 0 } } },
    { "whole file in an indented fence",
      "1. `x.py`\n   ```python\n   def f():\n       return 1\n   ```\n",
      0, 1, { { WHOLE, "x.py", "", "def f():\n    return 1\n", 0 } } },
    { "unclosed whole file is refused", "x.py\n```python\nprint(1)\n", AD_EINVAL, 0,
      { { 0 } } },
    { "unified diff",
      "--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n",
      0, 1, { { R, "x.py", "a\nb\nd\n", "a\nc\nd\n", 1 } } },
    { "diff with git headers and two hunks",
      "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n"
      " a\n-b\n+B\n@@ -10,2 +10,3 @@ def f():\n y\n+z\n",
      0, 2, { { R, "x.py", "a\nb\n", "a\nB\n", 1 }, { R, "x.py", "y\n", "y\nz\n", 1 } } },
    { "hunk headers without numbers",
      "--- x.py\n+++ x.py\n@@ ... @@\n-a\n+b\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 1 } } },
    { "diff new file from /dev/null",
      "--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+x = 1\n+y = 2\n",
      0, 1, { { NEW, "pkg/new.py", "", "x = 1\ny = 2\n", 1 } } },
    { "no-newline marker ignored",
      "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n"
      "\\ No newline at end of file\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 1 } } },
    { "diff in a diff fence, time stamps",
      "```diff\n--- a/x.py\t2024-01-01 10:00:00\n+++ b/x.py\t2024-01-02 10:00:00\n@@ -1 +1 @@\n"
      "-a\n+b\n```\nThat is all.\n",
      0, 1, { { R, "x.py", "a\n", "b\n", 1 } } },
    { "blank context line without its space",
      "--- a/x.py\n+++ b/x.py\n@@ -1,4 +1,4 @@\n a\n\n-b\n+c\n\nThanks.\n",
      0, 1, { { R, "x.py", "a\n\nb\n", "a\n\nc\n", 1 } } },
    { "diff of two files",
      "--- a/x.py\n+++ b/x.py\n@@\n-a\n+b\n--- a/y.py\n+++ b/y.py\n@@\n-c\n+d\n",
      0, 2, { { R, "x.py", "a\n", "b\n", 1 }, { R, "y.py", "c\n", "d\n", 1 } } },
    { "headerless hunk in a fence with a path",
      "```diff src/x.py\n@@ @@\n-a\n+b\n```\n",
      0, 1, { { R, "src/x.py", "a\n", "b\n", 1 } } },
    { "a diff fence without hunks is no file", "x.py\n```diff\nno hunk here\n```\n",
      AD_ENOTFOUND, 0, { { 0 } } },
    { "context-only hunk is nothing", "--- a/x.py\n+++ b/x.py\n@@\n a\n b\n", AD_ENOTFOUND, 0,
      { { 0 } } },
    { "all three formats in one reply",
      "x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n\n"
      "```diff\n--- a/y.py\n+++ b/y.py\n@@\n-c\n+d\n```\n\n"
      "z.txt\n```\nhello\n```\n",
      0, 3, { { R, "x.py", "a\n", "b\n", 0 }, { R, "y.py", "c\n", "d\n", 1 },
              { WHOLE, "z.txt", "", "hello\n", 0 } } },
};

static void check_block(const char *name, size_t i, const struct ad_edit_block *got,
                        const struct exp_block *want)
{
    if ((int)got->kind != want->kind || got->from_diff != want->from_diff ||
        strcmp(got->search, want->search) != 0 || strcmp(got->replace, want->replace) != 0 ||
        (want->path == NULL) != (got->path == NULL) ||
        (want->path && strcmp(want->path, got->path) != 0))
        fail_msg("case '%s' block %zu: kind %d path '%s' search '%s' replace '%s' diff %d",
                 name, i, (int)got->kind, got->path ? got->path : "(null)", got->search,
                 got->replace, got->from_diff);
}

static void parse_table(void **state)
{
    for (size_t c = 0; c < AD_ARRAY_SIZE(parse_cases); c++) {
        const struct parse_case *pc = &parse_cases[c];
        struct ad_edit_set set = AD_EDIT_SET_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_edit_parse(pc->reply, strlen(pc->reply), &set, &err);

        if (rc != pc->rc || set.n != pc->n)
            fail_msg("case '%s': rc %d (%s) n %zu, want rc %d n %zu", pc->name, rc, err.msg,
                     set.n, pc->rc, pc->n);
        for (size_t i = 0; i < set.n && i < 3; i++)
            check_block(pc->name, i, &set.v[i], &pc->b[i]);
        for (size_t i = 0; i < set.n; i++)
            assert_true(set.v[i].line >= 1);
        ad_edit_set_release(&set);
        assert_null(set.v);
    }
}

static void parse_errors_name_the_line(void **state)
{
    static const char reply[] = "intro\nx.py\n<<<<<<< SEARCH\na\n=======\nb\n";
    static const char none[] = "nothing here";
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_edit_parse(reply, strlen(reply), &set, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_int_equal(set.n, 0);
    assert_int_equal(ad_edit_parse(none, strlen(none), &set, &err), AD_ENOTFOUND);
    assert_string_equal(err.msg, "no edit blocks found (looked for SEARCH/REPLACE blocks, "
                        "unified diff hunks and fenced whole files)");
    assert_int_equal(ad_edit_parse(NULL, 0, &set, &err), AD_ENOTFOUND);
}

static void parse_reports_block_lines(void **state)
{
    static const char reply[] = "x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"
                                "--- a/y\n+++ b/y\n@@\n-c\n+d\n";
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_edit_parse(reply, strlen(reply), &set, &err), 0);
    assert_int_equal(set.n, 2);
    assert_int_equal(set.v[0].line, 2);
    assert_int_equal(set.v[1].line, 9);
    ad_edit_set_release(&set);
}

/* Only len bytes are read: the reply need not be NUL-terminated. */
static void parse_respects_len(void **state)
{
    static const char reply[] = "x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\nGARBAGE";
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_err err = AD_ERR_INIT;
    size_t len = strlen(reply) - strlen("GARBAGE");
    char *copy = malloc(len);

    memcpy(copy, reply, len);
    assert_int_equal(ad_edit_parse(copy, len, &set, &err), 0);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.v[0].replace, "b\n");
    ad_edit_set_release(&set);
    /* Cut inside the block: now it is unterminated. */
    assert_int_equal(ad_edit_parse(copy, len - 3, &set, &err), AD_EINVAL);
    free(copy);
}

/* A large reply of many blocks parses into all of them. */
static void parse_many_blocks(void **state)
{
    struct ad_buf b = AD_BUF_INIT;
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_err err = AD_ERR_INIT;

    for (int i = 0; i < 5000; i++)
        assert_int_equal(ad_buf_addf(&b, "f%d.py\n```python\n<<<<<<< SEARCH\nx = %d\n=======\n"
                                     "x = %d\n>>>>>>> REPLACE\n```\n\n", i % 7, i, i + 1), 0);
    assert_int_equal(ad_edit_parse(b.ptr, b.len, &set, &err), 0);
    assert_int_equal(set.n, 5000);
    assert_string_equal(set.v[4999].path, "f1.py");
    assert_string_equal(set.v[4999].search, "x = 4999\n");
    ad_edit_set_release(&set);
    ad_buf_release(&b);
}

/* ---- fences ------------------------------------------------------------------ */

struct text_case {
    const char *name;
    const char *in;
    const char *out;
};

static const struct text_case strip_cases[] = {
    { "python fence", "```python\nx = 1\n```\n", "x = 1\n" },
    { "prose around", "Here it is:\n```\na\nb\n```\nThanks!", "a\nb\n" },
    { "only the first fence", "```\na\n```\n```\nb\n```\n", "a\n" },
    { "tilde fence", "~~~py\na\n~~~", "a\n" },
    { "longer outer fence", "````md\n```\nx\n```\n````\n", "```\nx\n```\n" },
    { "closing fence may be longer", "```\na\n`````\nb\n", "a\n" },
    { "tilde does not close backticks", "```\na\n~~~\nb\n```\n", "a\n~~~\nb\n" },
    { "unclosed fence runs to the end", "```py\na\nb", "a\nb\n" },
    { "no fence: trimmed of blank lines", "\n\n  x = 1\n\ny = 2\n\n \n", "  x = 1\n\ny = 2\n" },
    { "indented fence", "  ```\n  a\n    b\n  ```\n", "a\n  b\n" },
    { "windows line ends", "```\r\na\r\n```\r\n", "a\n" },
    { "inline triple backticks are no fence", "```x``` y\n", "```x``` y\n" },
    { "empty", "", "" },
    { "blank only", "\n \n\t\n", "" },
    { "empty fence", "```\n```\n", "" },
};

static void strip_fences_table(void **state)
{
    for (size_t c = 0; c < AD_ARRAY_SIZE(strip_cases); c++) {
        struct ad_buf out = AD_BUF_INIT;
        struct ad_err err = AD_ERR_INIT;

        assert_int_equal(ad_buf_adds(&out, ">"), 0);   /* appends, keeps what was there */
        assert_int_equal(ad_edit_strip_fences(strip_cases[c].in, strlen(strip_cases[c].in),
                                              &out, &err), 0);
        if (strcmp(out.ptr + 1, strip_cases[c].out) != 0 || out.ptr[0] != '>')
            fail_msg("case '%s': got '%s'", strip_cases[c].name, out.ptr);
        ad_buf_release(&out);
    }
}

/* ---- functions ---------------------------------------------------------------- */

struct fn_case {
    const char *name;
    const char *in;
    const char *fn;       /* NULL: the first */
    int imports;
    int rc;
    const char *out;
};

static const struct fn_case fn_cases[] = {
    { "simple", "x = 1\n\ndef f(a):\n    return a\n\ny = 2\n", "f", 0, 0,
      "def f(a):\n    return a\n" },
    { "first when no name", "import os\n\ndef g():\n    pass\n\ndef f():\n    pass\n", NULL, 0, 0,
      "def g():\n    pass\n" },
    { "decorators", "@a\n@b(1,\n   2)\ndef f():\n    return 1\n", "f", 0, 0,
      "@a\n@b(1,\n   2)\ndef f():\n    return 1\n" },
    { "async def", "async def f():\n    await g()\nz = 1\n", "f", 0, 0,
      "async def f():\n    await g()\n" },
    { "name must match whole", "def fo():\n    pass\ndef foo():\n    return 2\n", "foo", 0, 0,
      "def foo():\n    return 2\n" },
    { "not found", "def g():\n    pass\n", "f", 0, AD_ENOTFOUND, NULL },
    { "no function at all", "x = 1\n", NULL, 0, AD_ENOTFOUND, NULL },
    { "methods are not top level",
      "class A:\n    def f(self):\n        return 1\n\ndef f():\n    return 2\n", "f", 0, 0,
      "def f():\n    return 2\n" },
    { "docstring lines at column 0",
      "def f():\n    \"\"\"Doc.\n\nStill doc.\ndef not_a_def():\n\"\"\"\n    return 1\nx = 2\n",
      "f", 0, 0,
      "def f():\n    \"\"\"Doc.\n\nStill doc.\ndef not_a_def():\n\"\"\"\n    return 1\n" },
    { "parenthesised signature at column 0",
      "def f(a,\nb=(1,\n2)):\n    return a\nq = 1\n", "f", 0, 0,
      "def f(a,\nb=(1,\n2)):\n    return a\n" },
    { "brackets and hashes in strings",
      "def f():\n    s = '(#'\n    t = \"[\"\n    return s\nx = 1\n", "f", 0, 0,
      "def f():\n    s = '(#'\n    t = \"[\"\n    return s\n" },
    { "open bracket in body", "def f():\n    return [\n1,\n    ]\nx = 1\n", "f", 0, 0,
      "def f():\n    return [\n1,\n    ]\n" },
    { "trailing blank lines and comments dropped",
      "def f():\n    a = 1\n\n# inside\n    return a\n\n\n# after\n\nx = 1\n", "f", 0, 0,
      "def f():\n    a = 1\n\n# inside\n    return a\n" },
    { "one-line def", "def f(): return 1\ndef g(): return 2\n", "f", 0, 0,
      "def f(): return 1\n" },
    { "space before the parenthesis", "def f (x):\n    return x\n", "f", 0, 0,
      "def f (x):\n    return x\n" },
    { "from a fenced reply",
      "Sure:\n```python\nimport re\n\ndef f(s):\n    return re.sub('a', 'b', s)\n```\nBye\n",
      "f", 1, 0, "import re\n\n\ndef f(s):\n    return re.sub('a', 'b', s)\n" },
    { "imports, multi-line and after the function",
      "import os\nfrom x import (\n    a,\n    b,\n)\n\ndef f():\n    import sys\n    return os\n\n"
      "from y import z\n",
      "f", 1, 0,
      "import os\nfrom x import (\n    a,\n    b,\n)\nfrom y import z\n\n\ndef f():\n"
      "    import sys\n    return os\n" },
    { "no imports to add", "def f():\n    return 1\n", "f", 1, 0, "def f():\n    return 1\n" },
    { "windows line ends", "def f():\r\n    return 1\r\n", "f", 0, 0,
      "def f():\n    return 1\n" },
};

static void extract_table(void **state)
{
    for (size_t c = 0; c < AD_ARRAY_SIZE(fn_cases); c++) {
        const struct fn_case *fc = &fn_cases[c];
        struct ad_buf out = AD_BUF_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_edit_extract_function(fc->in, strlen(fc->in), fc->fn, fc->imports, &out,
                                          &err);

        if (rc != fc->rc)
            fail_msg("case '%s': rc %d (%s)", fc->name, rc, err.msg);
        if (rc == 0 && strcmp(out.ptr, fc->out) != 0)
            fail_msg("case '%s': got\n%s", fc->name, out.ptr);
        if (rc != 0)
            assert_int_equal(out.len, 0);   /* nothing appended on failure */
        ad_buf_release(&out);
    }
}

/* ---- applying to a text --------------------------------------------------------- */

struct apply_case {
    const char *name;
    const char *text;     /* NULL: the file does not exist */
    int kind;
    const char *search;
    const char *replace;
    int rc;
    const char *out;      /* when rc is 0 */
    int how;
};

#define EXACT AD_EDIT_MATCH_EXACT
#define INDENT AD_EDIT_MATCH_INDENT
#define BLANK AD_EDIT_MATCH_BLANKLINES
#define ELIDE AD_EDIT_MATCH_ELISION
#define CREATE AD_EDIT_MATCH_CREATE

static const struct apply_case apply_cases[] = {
    { "exact", "a\nb\nc\n", R, "b\n", "B\n", 0, "a\nB\nc\n", EXACT },
    { "exact, several lines", "a\nb\nc\nd\n", R, "b\nc\n", "x\ny\nz\n", 0, "a\nx\ny\nz\nd\n",
      EXACT },
    { "exact, first line", "a\nb\n", R, "a\n", "A\n", 0, "A\nb\n", EXACT },
    { "delete lines", "a\nb\nc\n", R, "b\n", "", 0, "a\nc\n", EXACT },
    { "search without final newline", "a\nb\nc\n", R, "b", "B", 0, "a\nB\nc\n", EXACT },
    { "whole lines only", "foobar\n", R, "foo\n", "x\n", AD_ENOTFOUND, NULL, 0 },
    { "ambiguous", "x\na\nx\n", R, "x\n", "y\n", AD_ESTATE, NULL, 0 },
    { "overlapping matches are ambiguous", "a\na\na\n", R, "a\na\n", "b\n", AD_ESTATE, NULL,
      0 },
    { "trailing white space tolerated", "a  \nb\t\nc\n", R, "a\nb\n", "x\n", 0, "x\nc\n",
      EXACT },
    { "trailing white space in the search", "a\nb\n", R, "a   \n", "x\n", 0, "x\nb\n", EXACT },
    { "no final newline kept", "a\nb", R, "b\n", "c\n", 0, "a\nc", EXACT },
    { "no final newline, middle edit", "a\nb", R, "a\n", "c\n", 0, "c\nb", EXACT },
    { "no final newline, delete the last line", "a\nb", R, "b\n", "", 0, "a", EXACT },
    { "windows line ends kept", "a\r\nb\r\nc\r\n", R, "b\n", "x\ny\n", 0,
      "a\r\nx\r\ny\r\nc\r\n", EXACT },
    { "indent added", "class A:\n    def f(self):\n        return 1\n", R,
      "def f(self):\n    return 1\n", "def f(self):\n    return 2\n\n    # done\n", 0,
      "class A:\n    def f(self):\n        return 2\n\n        # done\n", INDENT },
    { "indent removed", "if x:\n  y()\nz()\n", R, "    if x:\n      y()\n",
      "    if x:\n      w()\n", 0, "if x:\n  w()\nz()\n", INDENT },
    { "indent with tabs", "def f():\n\tif a:\n\t\treturn 1\n", R, "if a:\n\treturn 1\n",
      "if a:\n\treturn 2\n", 0, "def f():\n\tif a:\n\t\treturn 2\n", INDENT },
    { "indent must be uniform", "  a\n      b\n", R, "a\nb\n", "x\n", AD_ENOTFOUND, NULL, 0 },
    { "indent ambiguous", "  a\n  b\n    a\n    b\n", R, "a\nb\n", "x\n", AD_ESTATE, NULL, 0 },
    { "exact wins over indent", "a\n  a\n", R, "a\n", "b\n", 0, "b\n  a\n", EXACT },
    { "blank lines in the file", "a\nb\n\nc\nd\n", R, "b\nc\n", "x\n", 0, "a\nx\nd\n", BLANK },
    { "blank lines in the search", "a\nb\nc\n", R, "a\n\nb\n", "x\n", 0, "x\nc\n", BLANK },
    { "elision", "def f():\n    a = 1\n    b = 2\n    c = 3\n    return a\n", R,
      "def f():\n...\n    return a\n", "def g():\n...\n    return b\n", 0,
      "def g():\n    a = 1\n    b = 2\n    c = 3\n    return b\n", ELIDE },
    { "elision needs '...' in the replace", "a\nb\nc\n", R, "a\n...\nc\n", "x\n",
      AD_ENOTFOUND, NULL, 0 },
    { "elision prefix ambiguous", "a\nb\na\nc\n", R, "a\n...\nc\n", "A\n...\nC\n",
      AD_ESTATE, NULL, 0 },
    { "elision suffix after prefix", "c\na\nb\nc\n", R, "a\n...\nc\n", "A\n...\nC\n", 0,
      "c\nA\nb\nC\n", ELIDE },
    { "literal '...' line matches exactly", "def f():\n    ...\n", R, "def f():\n    ...\n",
      "def f():\n    pass\n", 0, "def f():\n    pass\n", EXACT },
    { "not found", "a\nb\n", R, "zzz\n", "x\n", AD_ENOTFOUND, NULL, 0 },
    { "empty search", "a\n", R, "", "x\n", AD_EINVAL, NULL, 0 },
    { "replace on a missing file", NULL, R, "a\n", "b\n", AD_ENOTFOUND, NULL, 0 },
    { "new file", NULL, NEW, "", "x = 1\n", 0, "x = 1\n", CREATE },
    { "new file over the same content", "x = 1\n", NEW, "", "x = 1\n", 0, "x = 1\n", CREATE },
    { "new file over an empty file", "", NEW, "", "x = 1\n", 0, "x = 1\n", CREATE },
    { "new file over other content", "y\n", NEW, "", "x = 1\n", AD_EEXIST, NULL, 0 },
    { "whole file replaces", "old\n", WHOLE, "", "new\n", 0, "new\n", CREATE },
    { "whole file creates", NULL, WHOLE, "", "new\n", 0, "new\n", CREATE },
};

static void apply_table(void **state)
{
    for (size_t c = 0; c < AD_ARRAY_SIZE(apply_cases); c++) {
        const struct apply_case *ac = &apply_cases[c];
        struct ad_edit_block b = { (enum ad_edit_kind)ac->kind, (char *)"f.py",
                                   (char *)ac->search, (char *)ac->replace, 1, 0 };
        struct ad_buf out = AD_BUF_INIT, fb = AD_BUF_INIT;
        struct ad_err err = AD_ERR_INIT;
        enum ad_edit_match how = AD_EDIT_MATCH_NONE;
        int rc = ad_edit_apply_text(ac->text, ac->text ? strlen(ac->text) : 0, &b, &out, &how,
                                    &fb, &err);

        if (rc != ac->rc)
            fail_msg("case '%s': rc %d (%s), want %d", ac->name, rc, err.msg, ac->rc);
        if (rc == 0 && (strcmp(out.ptr, ac->out) != 0 || (int)how != ac->how))
            fail_msg("case '%s': got '%s' how %s", ac->name, out.ptr, ad_edit_match_name(how));
        if (rc == 0)
            assert_int_equal(fb.len, 0);
        if (rc != 0) {
            assert_int_equal(out.len, 0);
            assert_int_equal(how, AD_EDIT_MATCH_NONE);
            assert_true(err.msg[0] != '\0');
        }
        if (rc == AD_ENOTFOUND || rc == AD_ESTATE || rc == AD_EEXIST)
            assert_true(fb.len > 0);
        ad_buf_release(&out);
        ad_buf_release(&fb);
    }
}

static void apply_ambiguity_names_the_lines(void **state)
{
    static const char text[] = "x = 1\ny = 2\nx = 1\nz = 3\n";
    struct ad_edit_block b = { R, NULL, (char *)"x = 1\n", (char *)"x = 9\n", 1, 0 };
    struct ad_buf out = AD_BUF_INIT, fb = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_buf_adds(&out, "keep"), 0);
    assert_int_equal(ad_edit_apply_text(text, strlen(text), &b, &out, NULL, &fb, &err),
                     AD_ESTATE);
    assert_string_equal(err.msg, "search text matches 2 places (lines 1, 3): add surrounding "
                        "lines to make it unique");
    assert_string_equal(out.ptr, "keep");   /* out unchanged on failure */
    assert_non_null(strstr(fb.ptr, "x = 1"));
    assert_non_null(strstr(fb.ptr, "lines 1, 3"));
    ad_buf_release(&out);
    ad_buf_release(&fb);
}

static void apply_feedback_quotes_nearest_lines(void **state)
{
    static const char text[] = "import os\n\n\ndef load(path):\n    with open(path) as f:\n"
                               "        data = f.read()\n    return data\n\n\nX = 1\n";
    struct ad_edit_block b = { R, (char *)"io.py",
                               (char *)"def load(path):\n    with open(path, 'rb') as f:\n"
                               "        data = f.read()\n    return data\n",
                               (char *)"x\n", 1, 0 };
    struct ad_buf out = AD_BUF_INIT, fb = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    size_t nl = 0;

    assert_int_equal(ad_edit_apply_text(text, strlen(text), &b, &out, NULL, &fb, &err),
                     AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "io.py"));
    assert_non_null(strstr(fb.ptr, "def load(path):"));       /* which block */
    assert_non_null(strstr(fb.ptr, "lines 4-7"));             /* where it nearly is */
    assert_non_null(strstr(fb.ptr, "    5 |     with open(path) as f:"));
    assert_non_null(strstr(fb.ptr, "Line 2 of the SEARCH part differs from line 5"));
    for (const char *p = fb.ptr; *p; p++)
        nl += *p == '\n';
    assert_true(nl <= 20);
    ad_buf_release(&out);
    ad_buf_release(&fb);
}

static void apply_feedback_when_nothing_is_shared(void **state)
{
    static const char text[] = "a\nb\n";
    struct ad_edit_block b = { R, (char *)"x.py", (char *)"zzz\n", (char *)"y\n", 1, 0 };
    struct ad_buf out = AD_BUF_INIT, fb = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_edit_apply_text(text, strlen(text), &b, &out, NULL, &fb, &err),
                     AD_ENOTFOUND);
    assert_non_null(strstr(fb.ptr, "None of its lines occur in x.py"));
    ad_buf_release(&fb);
    /* Feedback is optional. */
    assert_int_equal(ad_edit_apply_text(text, strlen(text), &b, &out, NULL, NULL, &err),
                     AD_ENOTFOUND);
    assert_int_equal(out.len, 0);
}

static void match_names(void **state)
{
    assert_string_equal(ad_edit_match_name(AD_EDIT_MATCH_NONE), "none");
    assert_string_equal(ad_edit_match_name(AD_EDIT_MATCH_EXACT), "exact");
    assert_string_equal(ad_edit_match_name(AD_EDIT_MATCH_INDENT), "indent");
    assert_string_equal(ad_edit_match_name(AD_EDIT_MATCH_BLANKLINES), "blank-lines");
    assert_string_equal(ad_edit_match_name(AD_EDIT_MATCH_ELISION), "elision");
    assert_string_equal(ad_edit_match_name(AD_EDIT_MATCH_CREATE), "create");
    assert_non_null(ad_edit_match_name((enum ad_edit_match)99));
}

/* A parsed diff applies, and the inverse edit restores the text. */
static void parse_then_apply_round_trip(void **state)
{
    static const char text[] = "def f(a):\n    b = a + 1\n    return b\n\n\ndef g():\n"
                               "    return 0\n";
    static const char reply[] = "```diff\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n def f(a):\n"
                                "-    b = a + 1\n+    b = a + 2\n     return b\n```\n";
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_buf out = AD_BUF_INIT, back = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct ad_edit_block inv;

    assert_int_equal(ad_edit_parse(reply, strlen(reply), &set, &err), 0);
    assert_int_equal(set.n, 1);
    assert_int_equal(ad_edit_apply_text(text, strlen(text), &set.v[0], &out, NULL, NULL, &err),
                     0);
    assert_non_null(strstr(out.ptr, "b = a + 2"));
    inv = set.v[0];
    inv.search = set.v[0].replace;
    inv.replace = set.v[0].search;
    assert_int_equal(ad_edit_apply_text(out.ptr, out.len, &inv, &back, NULL, NULL, &err), 0);
    assert_string_equal(back.ptr, text);
    ad_edit_set_release(&set);
    ad_buf_release(&out);
    ad_buf_release(&back);
}

/* ---- applying to a directory ------------------------------------------------------ */

struct tdir {
    char root[64];
};

static void tdir_make(struct tdir *t)
{
    snprintf(t->root, sizeof(t->root), "/tmp/ad-edit-XXXXXX");
    assert_non_null(mkdtemp(t->root));
}

static void put(const struct tdir *t, const char *rel, const char *content)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
    assert_int_equal(fclose(f), 0);
}

/* The content of rel, or NULL when it does not exist; free() it. */
static char *get(const struct tdir *t, const char *rel)
{
    char path[512];
    struct ad_buf b = AD_BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(ad_buf_add(&b, chunk, n), 0);
    fclose(f);
    return ad_buf_detach(&b, NULL);
}

static void assert_file(const struct tdir *t, const char *rel, const char *want)
{
    char *got = get(t, rel);

    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Nothing but the files the test made: no temporary left behind. */
static void assert_no_temporaries(const struct tdir *t)
{
    DIR *d = opendir(t->root);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".autodev-"))
            fail_msg("temporary '%s' left behind", e->d_name);
    }
    closedir(d);
}

static void tdir_remove(const struct tdir *t)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
    assert_int_equal(system(cmd), 0);
}

/* Parses reply and applies it under t; returns the code, fills rep. */
static int apply_reply(const struct tdir *t, const char *reply, const char *dflt, int flags,
                       struct ad_edit_report *rep, struct ad_err *err)
{
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    int rc;

    assert_int_equal(ad_edit_parse(reply, strlen(reply), &set, err), 0);
    rc = ad_edit_apply_dir(t->root, &set, dflt, flags, rep, err);
    assert_int_equal(rep->n, set.n);
    ad_edit_set_release(&set);
    return rc;
}

static void dir_applies_and_reports(void **state)
{
    static const char reply[] =
        "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
        "a.py\n<<<<<<< SEARCH\n  y = 1\n=======\n  y = 2\n  z = 3\n>>>>>>> REPLACE\n"
        "pkg/sub/new.py\n<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;

    tdir_make(&t);
    put(&t, "a.py", "x = 1\nif x:\n    y = 1\n");
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), 0);
    assert_int_equal(rep.files_changed, 2);
    assert_file(&t, "a.py", "x = 2\nif x:\n    y = 2\n    z = 3\n");
    assert_file(&t, "pkg/sub/new.py", "hello\n");
    assert_int_equal(rep.v[0].code, 0);
    assert_int_equal(rep.v[0].how, AD_EDIT_MATCH_EXACT);
    assert_int_equal(rep.v[1].how, AD_EDIT_MATCH_INDENT);
    assert_int_equal(rep.v[1].lines_removed, 1);
    assert_int_equal(rep.v[1].lines_added, 2);
    assert_int_equal(rep.v[2].how, AD_EDIT_MATCH_CREATE);
    assert_string_equal(rep.v[2].path, "pkg/sub/new.py");
    assert_string_equal(rep.v[2].message, "");
    assert_string_equal(rep.v[2].feedback, "");
    ad_edit_report_release(&rep);
    assert_null(rep.v);
    tdir_remove(&t);
}

static void dir_refuses_escaping_paths(void **state)
{
    static const char *const paths[] = { "../x.py", "a/../../x.py", "/etc/passwd", "..",
                                          "link/x.py", "out.py", "dangling.py" };
    struct tdir t;
    char target[600];

    tdir_make(&t);
    assert_int_equal(symlink("/tmp", (snprintf(target, sizeof(target), "%s/link", t.root),
                                      target)), 0);
    assert_int_equal(symlink("/etc/hostname", (snprintf(target, sizeof(target), "%s/out.py",
                                                        t.root), target)), 0);
    assert_int_equal(symlink("nowhere/x", (snprintf(target, sizeof(target), "%s/dangling.py",
                                                    t.root), target)), 0);
    for (size_t i = 0; i < AD_ARRAY_SIZE(paths); i++) {
        struct ad_edit_block b = { NEW, (char *)paths[i], (char *)"", (char *)"pwned\n", 1, 0 };
        struct ad_edit_set set = { &b, 1 };
        struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err);

        if (rc != AD_EPERM)
            fail_msg("path '%s': rc %d (%s)", paths[i], rc, err.msg);
        assert_int_equal(rep.n, 1);
        assert_int_equal(rep.v[0].code, AD_EPERM);
        assert_string_equal(rep.v[0].path, paths[i]);
        assert_int_equal(rep.files_changed, 0);
        ad_edit_report_release(&rep);
    }
    assert_file(&t, "x.py", NULL);
    tdir_remove(&t);
}

/* A symbolic link that stays inside the root is followed; the link itself stays. */
static void dir_follows_links_inside(void **state)
{
    static const char reply[] = "alias.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;
    char link[600];
    struct stat st;

    tdir_make(&t);
    put(&t, "real.py", "a\n");
    snprintf(link, sizeof(link), "%s/alias.py", t.root);
    assert_int_equal(symlink("real.py", link), 0);
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), 0);
    assert_file(&t, "real.py", "b\n");
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

static void dir_all_or_nothing(void **state)
{
    static const char reply[] =
        "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
        "b.py\n<<<<<<< SEARCH\nnot there\n=======\ny\n>>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;

    tdir_make(&t);
    put(&t, "a.py", "x = 1\n");
    put(&t, "b.py", "y = 1\n");
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), AD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "b.py"));
    assert_file(&t, "a.py", "x = 1\n");     /* the first block applied in memory only */
    assert_file(&t, "b.py", "y = 1\n");
    assert_no_temporaries(&t);
    assert_int_equal(rep.files_changed, 0);
    assert_int_equal(rep.v[0].code, 0);
    assert_int_equal(rep.v[1].code, AD_ENOTFOUND);
    assert_true(rep.v[1].message[0] != '\0');
    assert_non_null(strstr(rep.v[1].feedback, "not there"));
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

static void dir_dry_run_writes_nothing(void **state)
{
    static const char reply[] =
        "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
        "c.py\n<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;

    tdir_make(&t);
    put(&t, "a.py", "x = 1\n");
    assert_int_equal(apply_reply(&t, reply, NULL, AD_EDIT_DRY_RUN, &rep, &err), 0);
    assert_int_equal(rep.files_changed, 0);
    assert_int_equal(rep.v[0].code, 0);
    assert_int_equal(rep.v[0].how, AD_EDIT_MATCH_EXACT);
    assert_int_equal(rep.v[1].how, AD_EDIT_MATCH_CREATE);
    assert_file(&t, "a.py", "x = 1\n");
    assert_file(&t, "c.py", NULL);
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

static void dir_keeps_mode(void **state)
{
    static const char reply[] = "run.sh\n<<<<<<< SEARCH\necho a\n=======\necho b\n"
                                ">>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;
    char path[600];
    struct stat st;

    tdir_make(&t);
    put(&t, "run.sh", "#!/bin/sh\necho a\n");
    snprintf(path, sizeof(path), "%s/run.sh", t.root);
    assert_int_equal(chmod(path, 0751), 0);
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), 0);
    assert_int_equal(rep.files_changed, 1);
    assert_file(&t, "run.sh", "#!/bin/sh\necho b\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0751);
    assert_no_temporaries(&t);
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

static void dir_default_path(void **state)
{
    static const char reply[] = "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;

    tdir_make(&t);
    put(&t, "skill.py", "a\n");
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), AD_EINVAL);
    assert_int_equal(rep.v[0].code, AD_EINVAL);
    assert_string_equal(rep.v[0].path, "");
    ad_edit_report_release(&rep);
    assert_file(&t, "skill.py", "a\n");
    assert_int_equal(apply_reply(&t, reply, "skill.py", 0, &rep, &err), 0);
    assert_string_equal(rep.v[0].path, "skill.py");
    assert_file(&t, "skill.py", "b\n");
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

static void dir_refuses_big_and_odd_files(void **state)
{
    struct tdir t;
    struct ad_edit_block b = { R, (char *)"big.txt", (char *)"a\n", (char *)"b\n", 1, 0 };
    struct ad_edit_set set = { &b, 1 };
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;
    char path[600];
    int fd;

    tdir_make(&t);
    snprintf(path, sizeof(path), "%s/big.txt", t.root);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(17 << 20)), 0);   /* sparse, 17 MiB */
    close(fd);
    assert_int_equal(ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err), AD_ETOOBIG);
    ad_edit_report_release(&rep);
    b.path = (char *)"sub";
    snprintf(path, sizeof(path), "%s/sub", t.root);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err), AD_EINVAL);
    ad_edit_report_release(&rep);
    b.path = (char *)"big.txt/x.py";
    assert_int_equal(ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err), AD_EINVAL);
    ad_edit_report_release(&rep);
    assert_int_equal(ad_edit_apply_dir("/nonexistent/ad-edit", &set, NULL, 0, &rep, &err),
                     AD_ENOTFOUND);
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

/* A new file whose content is already there changes nothing and writes nothing. */
static void dir_unchanged_files_not_written(void **state)
{
    static const char reply[] = "a.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n"
                                "a.py\n<<<<<<< SEARCH\ny\n=======\ny\n>>>>>>> REPLACE\n";
    struct tdir t;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;

    tdir_make(&t);
    put(&t, "a.py", "x\n");
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), AD_ENOTFOUND);
    ad_edit_report_release(&rep);
    put(&t, "a.py", "x\ny\n");
    assert_int_equal(apply_reply(&t, reply, NULL, 0, &rep, &err), AD_EEXIST);
    ad_edit_report_release(&rep);
    put(&t, "b.py", "x\n");
    assert_int_equal(apply_reply(&t, "b.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n",
                                 NULL, 0, &rep, &err), 0);
    assert_int_equal(rep.files_changed, 0);
    ad_edit_report_release(&rep);
    tdir_remove(&t);
}

/* ad_edit_check_path: the rules of a path's spelling, with no file system asked. */
static void check_path_table(void **state)
{
    static char longname[300];
    static const struct { const char *path; int rc; } cases[] = {
        { "a.txt", 0 }, { "src/./pkg//x.py", 0 }, { ".gitignore", 0 }, { ".github/x", 0 },
        { "git/config", 0 }, { ".g\xd1\x96t/config", 0 }, { "a.git/config", 0 },
        { "", AD_EINVAL }, { "a/", AD_EINVAL }, { ".", AD_EINVAL }, { "./.", AD_EINVAL },
        { "a\tb", AD_EINVAL }, { "a\x7f", AD_EINVAL },
        { "/etc/passwd", AD_EPERM }, { "..", AD_EPERM }, { "a/../b", AD_EPERM },
        { ".git", AD_EPERM }, { "x/.GIT./y", AD_EPERM }, { "x/.gIt . ./y", AD_EPERM },
        { "x\\.git\\config", AD_EPERM }, { ".git::$INDEX_ALLOCATION", AD_EPERM },
        { "Git~1/config", AD_EPERM }, { "x/.g\xe2\x80\x8dit", AD_EPERM },
        { "\xef\xbb\xbf.hg/hgrc", AD_EPERM }, { ".\xc5\xbfvn", AD_EPERM },
        { ".g\xe2\xc0\x8cit", 0 },   /* not UTF-8: no code point is left out */
        { "_Darcs", AD_EPERM }, { "cvs", AD_EPERM }, { ".JJ/repo", AD_EPERM },
        { ".pijul", AD_EPERM }, { "_fossil_", AD_EPERM }, { ".FSLCKOUT", AD_EPERM },
        { longname, AD_ETOOBIG },
    };

    memset(longname, 'n', 256);
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_edit_check_path(cases[i].path, &err);

        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, want %d (%s)", cases[i].path, rc, cases[i].rc, err.msg);
    }
    assert_int_equal(ad_edit_check_path(NULL, NULL), AD_EINVAL);
}

/* ---- what an apply may not touch, and what it checks before writing ---------------- */

static void mkdir_in(const struct tdir *t, const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void symlink_in(const struct tdir *t, const char *target, const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static int not_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

static void add_bytes(const char *path, struct ad_buf *out)
{
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(ad_buf_add(out, chunk, n), 0);
    fclose(f);
    assert_int_equal(ad_buf_adds(out, "\n"), 0);
}

/* Every entry under dir/rel, sorted: its type and mode, and a link's target or a file's bytes. */
static void snap(const char *dir, const char *rel, struct ad_buf *out)
{
    struct dirent **names = NULL;
    char path[1024];
    int n;

    snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
    n = scandir(path, &names, not_dots, alphasort);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        char sub[1024], full[2048], link[512];
        struct stat st;
        ssize_t k;

        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", names[i]->d_name);
        snprintf(full, sizeof(full), "%s/%s", dir, sub);
        free(names[i]);
        assert_int_equal(lstat(full, &st), 0);
        assert_int_equal(ad_buf_addf(out, "%s %o\n", sub, (unsigned)st.st_mode), 0);
        if (S_ISDIR(st.st_mode)) {
            snap(dir, sub, out);
        } else if (S_ISLNK(st.st_mode)) {
            k = readlink(full, link, sizeof(link));
            assert_true(k > 0);
            assert_int_equal(ad_buf_addf(out, "-> %.*s\n", (int)k, link), 0);
        } else {
            add_bytes(full, out);
        }
    }
    free(names);
}

static char *snapshot(const struct tdir *t)
{
    struct ad_buf b = AD_BUF_INIT;

    snap(t->root, "", &b);
    return ad_buf_detach(&b, NULL);
}

/* The tree is what it was: fails naming the first difference. */
static void assert_tree(const struct tdir *t, const char *before, const char *what)
{
    char *now = snapshot(t);

    if (strcmp(now, before) != 0)
        fail_msg("%s: the tree changed:\n--- before\n%s\n--- after\n%s", what, before, now);
    free(now);
}

/*
 * A repository's metadata in every form a write could reach it: git's own
 * directory, a submodule's .git file, links to both, other systems' folders,
 * a bare repository and a worktree's git directory under plain names, and a
 * folder that one more file (HEAD) would make a repository.
 */
static void vcs_tree(const struct tdir *t)
{
    static const char *const dirs[] = {
        ".git", ".git/objects", ".git/refs", ".git/hooks", "sub", ".hg", ".svn", "bare.git",
        "bare.git/objects", "bare.git/refs", "wt-meta", "half", "half/objects", "half/refs",
        "docs",
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(dirs); i++)
        mkdir_in(t, dirs[i]);
    put(t, "a.txt", "old\n");
    put(t, ".git/HEAD", "ref: refs/heads/main\n");
    put(t, ".git/config", "[core]\n\tbare = false\n");
    put(t, "sub/.git", "gitdir: ../.git/modules/sub\n");
    put(t, ".hg/hgrc", "[ui]\n");
    put(t, "bare.git/HEAD", "ref: refs/heads/main\n");
    put(t, "wt-meta/HEAD", "ref: refs/heads/wt\n");
    put(t, "wt-meta/commondir", "../..\n");
    symlink_in(t, ".git", "meta");
    symlink_in(t, ".git/config", "cfg");
    symlink_in(t, "sub", "sublink");
}

/*
 * Every block is checked before anything is written: a reply that changes
 * a.txt and also writes into version control metadata, in any spelling a
 * file system maps to it or through any link, writes nothing at all.
 */
static void dir_refuses_vcs_metadata(void **state)
{
    static const char *const refused[] = {
        ".git/config", ".GIT/config", ".Git/hooks/pre-commit", "./.git/config",
        ".//.git/config", "a/../.git/hooks/x", ".git./config", ".git /config",
        ".git. . /config", ".git", ".git/objects", ".git::$INDEX_ALLOCATION/config",
        "git~1/config", "GIT~1/config", ".g\xe2\x80\x8cit/config", "\xef\xbb\xbf.git/config",
        "sub/.git", "sub/.GIT", "sublink/.git", "meta/config", "meta/hooks/post-checkout", "cfg",
        ".hg/hgrc", ".HG/hgrc", ".svn/entries", ".bzr/branch/branch.conf",
        "_darcs/prefs/defaults", "CVS/Root", "x/cvs/Root", ".jj/repo/config.toml",
        ".pijul/config", "_FOSSIL_", ".fslckout", ".\xc5\xbfvn/entries", "bare.git/config",
        "bare.git/hooks/pre-commit", "wt-meta/config", "half/HEAD", "half/head",
    };
    struct tdir t;
    char *before;

    tdir_make(&t);
    vcs_tree(&t);
    before = snapshot(&t);
    for (size_t i = 0; i < AD_ARRAY_SIZE(refused); i++) {
        struct ad_edit_block b[2] = {
            { R, (char *)"a.txt", (char *)"old\n", (char *)"new\n", 1, 0 },
            { WHOLE, (char *)refused[i], (char *)"", (char *)"[core]\n\tfsmonitor = x\n", 7, 0 },
        };
        struct ad_edit_set set = { b, 2 };
        struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err);

        if (rc != AD_EPERM || !strstr(err.msg, "edit 2 of 2") || !strstr(err.msg, refused[i]))
            fail_msg("path '%s': rc %d (%s)", refused[i], rc, err.msg);
        assert_int_equal(rep.v[0].code, 0);
        assert_int_equal(rep.v[1].code, AD_EPERM);
        assert_int_equal(rep.files_changed, 0);
        ad_edit_report_release(&rep);
        assert_tree(&t, before, refused[i]);
    }
    free(before);
    tdir_remove(&t);
}

/* A repository given inside a git folder (its hooks, say) is refused as a whole. */
static void dir_refuses_a_root_inside_git(void **state)
{
    struct ad_edit_block b = { WHOLE, (char *)"pre-commit", (char *)"", (char *)"x\n", 1, 0 };
    struct ad_edit_set set = { &b, 1 };
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct tdir t;
    char root[600], *before;

    tdir_make(&t);
    vcs_tree(&t);
    before = snapshot(&t);
    snprintf(root, sizeof(root), "%s/.git/hooks", t.root);
    assert_int_equal(ad_edit_apply_dir(root, &set, NULL, 0, &rep, &err), AD_EPERM);
    assert_non_null(strstr(err.msg, "inside a git folder"));
    ad_edit_report_release(&rep);
    snprintf(root, sizeof(root), "%s/bare.git", t.root);
    b.path = (char *)"config";
    assert_int_equal(ad_edit_apply_dir(root, &set, NULL, 0, &rep, &err), AD_EPERM);
    ad_edit_report_release(&rep);
    assert_tree(&t, before, "root in a git folder");
    free(before);
    tdir_remove(&t);
}

/*
 * Names that only look like metadata are ordinary files: git's own dot
 * files, other spellings, a HEAD in a folder that is no repository, and a
 * Unicode confusable (Cyrillic i), which is other bytes and another file
 * on every file system.
 */
static void dir_allows_names_near_vcs(void **state)
{
    static const char *const allowed[] = {
        ".gitignore", ".github/workflows/ci.yml", "git/config", ".git-blame-ignore-revs",
        "sub/.gitmodules", ".g\xd1\x96t/config", "docs/HEAD", "my.git/notes", "x.hg",
        ".gitx/y", "cvsroot/x", "sublink/x.txt",
    };
    struct tdir t;

    tdir_make(&t);
    vcs_tree(&t);
    for (size_t i = 0; i < AD_ARRAY_SIZE(allowed); i++) {
        struct ad_edit_block b = { WHOLE, (char *)allowed[i], (char *)"", (char *)"ok\n", 1, 0 };
        struct ad_edit_set set = { &b, 1 };
        struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err);

        if (rc != 0)
            fail_msg("path '%s': rc %d (%s)", allowed[i], rc, err.msg);
        assert_file(&t, allowed[i], "ok\n");
        ad_edit_report_release(&rep);
    }
    tdir_remove(&t);
}

/* A reply that would make a folder a repository (HEAD, objects, refs) writes nothing. */
static void dir_refuses_making_a_repository(void **state)
{
    static const char *const sets[][3] = {
        { "evil/HEAD", "evil/objects/info/x", "evil/refs/heads/main" },
        { "evil/refs/heads/main", "evil/objects/info/x", "evil/HEAD" },
        { "a.txt", "evil/commondir", "evil/HEAD" },
    };
    struct tdir t;
    char *before;

    tdir_make(&t);
    put(&t, "a.txt", "old\n");
    before = snapshot(&t);
    for (size_t i = 0; i < AD_ARRAY_SIZE(sets); i++) {
        struct ad_edit_block b[3];
        struct ad_edit_set set = { b, 3 };
        struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc;

        for (int k = 0; k < 3; k++)
            b[k] = (struct ad_edit_block){ WHOLE, (char *)sets[i][k], (char *)"",
                                           (char *)"ref: refs/heads/main\n", k + 1, 0 };
        rc = ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err);
        if (rc != AD_EPERM || !strstr(err.msg, "edit 3 of 3"))
            fail_msg("set %zu: rc %d (%s)", i, rc, err.msg);
        ad_edit_report_release(&rep);
        assert_tree(&t, before, sets[i][2]);
    }
    free(before);
    tdir_remove(&t);
}

/*
 * Every target is checked before the first file is replaced: a file and a
 * folder of the same name (in both orders, on disk or in the same reply), a
 * folder or a link to one as the target, a file on the way, names and
 * paths longer than the system takes. The first block (a.txt) always
 * applies in memory and must not reach the disk.
 */
struct target_case {
    const char *name;
    int rc;
    int bad;                /* the block that is refused, from 1 */
    const char *paths[3];   /* NULL: no such block */
};

static void dir_checks_every_target_first(void **state)
{
    static char longname[300], longpath[5100];
    static const struct target_case cases[] = {
        { "new d/x, then new file d", AD_EINVAL, 3, { "d/x", "d", NULL } },
        { "new file d, then new d/x", AD_EINVAL, 3, { "d", "d/x", NULL } },
        { "deeper: d/x/y, then d/x", AD_EINVAL, 3, { "d/x/y", "d/x", NULL } },
        { "same file through ./ and //", 0, 0, { "./e/f", "e//f", NULL } },
        { "a folder as the target", AD_EINVAL, 2, { "sub", NULL, NULL } },
        { "a link to a folder as the target", AD_EINVAL, 2, { "sublink", NULL, NULL } },
        { "through an existing file", AD_EINVAL, 2, { "b.txt/x", NULL, NULL } },
        { "through a link to a file", AD_EINVAL, 2, { "blink/x", NULL, NULL } },
        { "a name longer than NAME_MAX", AD_ETOOBIG, 2, { longname, NULL, NULL } },
        { "a path longer than PATH_MAX", AD_ETOOBIG, 2, { longpath, NULL, NULL } },
    };
    struct tdir t;
    char *before;

    memset(longname, 'n', 256);
    for (size_t i = 0; i < 20; i++)
        snprintf(longpath + i * 250, 251, "%0249zu/", i);
    longpath[5000] = 'x';
    tdir_make(&t);
    put(&t, "a.txt", "old\n");
    put(&t, "b.txt", "b\n");
    mkdir_in(&t, "sub");
    symlink_in(&t, "sub", "sublink");
    symlink_in(&t, "b.txt", "blink");
    before = snapshot(&t);
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        const struct target_case *c = &cases[i];
        struct ad_edit_block b[3] = { { R, (char *)"a.txt", (char *)"old\n", (char *)"new\n", 1,
                                        0 } };
        struct ad_edit_set set = { b, 1 };
        struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
        struct ad_err err = AD_ERR_INIT;
        char want[32];
        int rc;

        for (int k = 0; k < 2 && c->paths[k]; k++)
            b[set.n++] = (struct ad_edit_block){ WHOLE, (char *)c->paths[k], (char *)"",
                                                 (char *)"x\n", k + 2, 0 };
        rc = ad_edit_apply_dir(t.root, &set, NULL, AD_EDIT_DRY_RUN, &rep, &err);
        if (rc != c->rc)
            fail_msg("%s (dry run): rc %d, want %d (%s)", c->name, rc, c->rc, err.msg);
        ad_edit_report_release(&rep);
        rc = ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err);
        snprintf(want, sizeof(want), "edit %d of %zu", c->bad, set.n);
        if (rc != c->rc || (rc && !strstr(err.msg, want)))
            fail_msg("%s: rc %d, want %d at %s (%s)", c->name, rc, c->rc, want, err.msg);
        if (rc)
            assert_int_equal(rep.v[c->bad - 1].code, c->rc);
        if (rc == 0) {
            char cmd[128];

            assert_int_equal(rep.files_changed, 2);
            assert_file(&t, "e/f", "x\n");
            put(&t, "a.txt", "old\n");
            snprintf(cmd, sizeof(cmd), "rm -r '%s/e'", t.root);
            assert_int_equal(system(cmd), 0);
        }
        ad_edit_report_release(&rep);
        assert_tree(&t, before, c->name);
    }
    free(before);
    tdir_remove(&t);
}

/*
 * Applies b (two blocks) as an unprivileged user in a child and returns
 * its exit status: 0 when the apply failed with want at the second block.
 * Root may write anything, so as root the child becomes nobody first.
 */
static int apply_unprivileged(const struct tdir *t, struct ad_edit_block *b, int want)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct ad_edit_set set = { b, 2 };
        struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
        struct ad_err err = AD_ERR_INIT;
        int rc;

        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        rc = ad_edit_apply_dir(t->root, &set, NULL, 0, &rep, &err);
        ad_edit_report_release(&rep);
        if (rc != want || !strstr(err.msg, "edit 2 of 2")) {
            fprintf(stderr, "rc %d: %s\n", rc, err.msg);
            _exit(1);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* A read-only file, or a folder the caller may not write in, is refused before any write. */
static void dir_refuses_read_only(void **state)
{
    struct ad_edit_block ro[2] = {
        { R, (char *)"a.txt", (char *)"old\n", (char *)"new\n", 1, 0 },
        { R, (char *)"ro.txt", (char *)"ro\n", (char *)"rw\n", 2, 0 },
    };
    struct ad_edit_block locked[2] = {
        { R, (char *)"a.txt", (char *)"old\n", (char *)"new\n", 1, 0 },
        { NEW, (char *)"locked/new.txt", (char *)"", (char *)"x\n", 2, 0 },
    };
    struct tdir t;
    char path[600], *before;

    tdir_make(&t);
    assert_int_equal(chmod(t.root, 0777), 0);
    put(&t, "a.txt", "old\n");
    put(&t, "ro.txt", "ro\n");
    mkdir_in(&t, "locked");
    snprintf(path, sizeof(path), "%s/a.txt", t.root);
    assert_int_equal(chmod(path, 0666), 0);
    snprintf(path, sizeof(path), "%s/ro.txt", t.root);
    assert_int_equal(chmod(path, 0444), 0);
    snprintf(path, sizeof(path), "%s/locked", t.root);
    assert_int_equal(chmod(path, 0555), 0);
    before = snapshot(&t);
    assert_int_equal(apply_unprivileged(&t, ro, AD_EPERM), 0);
    assert_tree(&t, before, "read-only file");
    assert_int_equal(apply_unprivileged(&t, locked, AD_EPERM), 0);
    assert_tree(&t, before, "read-only folder");
    free(before);
    tdir_remove(&t);
}

/* ---- a rename that fails half-way is undone ------------------------------------------ */

enum sabotage { OCCUPY_DIR, OCCUPY_FILE, LOSE_TEMP };

struct sabotage_case {
    const char *name;
    size_t at;            /* the rename that fails, from 0 */
    enum sabotage how;
    int block;            /* the block of that file, from 1 */
    const char *path;     /* and its path */
};

struct hook_state {
    const struct sabotage_case *c;
    int fired;
};

/*
 * The test hook: before the at-th rename, makes that rename fail for real.
 * A folder where a new file is to go (the rename fails with EEXIST or
 * EISDIR), another writer's file there first (EEXIST), or the temporary
 * gone (ENOENT).
 */
static void sabotage(void *arg, const struct fstate *fs, size_t k)
{
    struct hook_state *h = arg;
    int fd;

    if (k != h->c->at)
        return;
    h->fired = 1;
    switch (h->c->how) {
    case OCCUPY_DIR:
        assert_int_equal(mkdir(fs->real, 0755), 0);
        break;
    case OCCUPY_FILE:
        fd = open(fs->real, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "theirs\n", 7), 7);
        close(fd);
        break;
    case LOSE_TEMP:
        assert_int_equal(unlink(fs->tmp), 0);
        break;
    }
}

static ino_t inode_of(const struct tdir *t, const char *rel)
{
    char path[600];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(lstat(path, &st), 0);
    return st.st_ino;
}

/*
 * Four files, two old and two new (one in folders to be made): whichever
 * rename fails, the files already in place go back (the old ones as the
 * very same files), the new ones and the folders made go, no temporary or
 * backup stays, and another writer's file is left alone.
 */
static void dir_undoes_a_failed_rename(void **state)
{
    static const struct sabotage_case cases[] = {
        { "the first rename", 0, LOSE_TEMP, 1, "a.txt" },
        { "an old file in the middle", 2, LOSE_TEMP, 3, "b.txt" },
        { "a new file, after three renames", 3, OCCUPY_DIR, 4, "z.txt" },
        { "a new file another writer made first", 1, OCCUPY_FILE, 2, "new/deep/n.txt" },
        { "the last rename, its temporary gone", 3, LOSE_TEMP, 4, "z.txt" },
    };
    struct ad_edit_block b[4] = {
        { R, (char *)"a.txt", (char *)"old\n", (char *)"new\n", 1, 0 },
        { NEW, (char *)"new/deep/n.txt", (char *)"", (char *)"n\n", 2, 0 },
        { R, (char *)"b.txt", (char *)"b\n", (char *)"B\n", 3, 0 },
        { NEW, (char *)"z.txt", (char *)"", (char *)"z\n", 4, 0 },
    };
    struct ad_edit_set set = { b, 4 };
    struct tdir t;
    char path[600], cmd[700], *before;
    struct ad_edit_report rep = AD_EDIT_REPORT_INIT;
    struct ad_err err = AD_ERR_INIT;
    ino_t a_ino, b_ino;

    tdir_make(&t);
    put(&t, "a.txt", "old\n");
    put(&t, "b.txt", "b\n");
    snprintf(path, sizeof(path), "%s/b.txt", t.root);
    assert_int_equal(chmod(path, 0751), 0);
    a_ino = inode_of(&t, "a.txt");
    b_ino = inode_of(&t, "b.txt");
    before = snapshot(&t);
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        const struct sabotage_case *c = &cases[i];
        struct hook_state h = { c, 0 };
        struct apply_ctx ctx;
        char want[32];
        int rc;

        memset(&ctx, 0, sizeof(ctx));
        ctx.before_rename = sabotage;
        ctx.hook_arg = &h;
        rc = apply_dir(&ctx, t.root, &set, NULL, 0, &rep, &err);
        ctx_release(&ctx);
        snprintf(want, sizeof(want), "edit %d of 4", c->block);
        if (rc != AD_EIO || !h.fired || !strstr(err.msg, want) || !strstr(err.msg, c->path))
            fail_msg("%s: rc %d, fired %d (%s)", c->name, rc, h.fired, err.msg);
        assert_int_equal(rep.files_changed, 0);
        assert_int_equal(rep.v[c->block - 1].code, AD_EIO);
        ad_edit_report_release(&rep);
        if (c->how == OCCUPY_FILE)
            assert_file(&t, c->path, "theirs\n");
        if (c->how != LOSE_TEMP) {
            snprintf(cmd, sizeof(cmd), "rm -r '%s/%s'", t.root, c->path);
            assert_int_equal(system(cmd), 0);
        }
        if (c->how == OCCUPY_FILE) {
            snprintf(cmd, sizeof(cmd), "rmdir '%s/new/deep' '%s/new'", t.root, t.root);
            assert_int_equal(system(cmd), 0);
        }
        assert_tree(&t, before, c->name);
        assert_true(inode_of(&t, "a.txt") == a_ino);
        assert_true(inode_of(&t, "b.txt") == b_ino);
    }
    free(before);
    /* Undisturbed, the same set applies, and no backup stays behind. */
    assert_int_equal(ad_edit_apply_dir(t.root, &set, NULL, 0, &rep, &err), 0);
    assert_int_equal(rep.files_changed, 4);
    ad_edit_report_release(&rep);
    assert_file(&t, "new/deep/n.txt", "n\n");
    before = snapshot(&t);
    assert_null(strstr(before, ".autodev-"));
    free(before);
    tdir_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_table),
        cmocka_unit_test(parse_errors_name_the_line),
        cmocka_unit_test(parse_reports_block_lines),
        cmocka_unit_test(parse_respects_len),
        cmocka_unit_test(parse_many_blocks),
        cmocka_unit_test(strip_fences_table),
        cmocka_unit_test(extract_table),
        cmocka_unit_test(apply_table),
        cmocka_unit_test(apply_ambiguity_names_the_lines),
        cmocka_unit_test(apply_feedback_quotes_nearest_lines),
        cmocka_unit_test(apply_feedback_when_nothing_is_shared),
        cmocka_unit_test(match_names),
        cmocka_unit_test(parse_then_apply_round_trip),
        cmocka_unit_test(dir_applies_and_reports),
        cmocka_unit_test(dir_refuses_escaping_paths),
        cmocka_unit_test(dir_follows_links_inside),
        cmocka_unit_test(dir_all_or_nothing),
        cmocka_unit_test(dir_dry_run_writes_nothing),
        cmocka_unit_test(dir_keeps_mode),
        cmocka_unit_test(dir_default_path),
        cmocka_unit_test(dir_refuses_big_and_odd_files),
        cmocka_unit_test(dir_unchanged_files_not_written),
        cmocka_unit_test(check_path_table),
        cmocka_unit_test(dir_refuses_vcs_metadata),
        cmocka_unit_test(dir_refuses_a_root_inside_git),
        cmocka_unit_test(dir_allows_names_near_vcs),
        cmocka_unit_test(dir_refuses_making_a_repository),
        cmocka_unit_test(dir_checks_every_target_first),
        cmocka_unit_test(dir_refuses_read_only),
        cmocka_unit_test(dir_undoes_a_failed_rename),
    };

    return cmocka_run_group_tests_name("edit", tests, NULL, NULL);
}
