/*
 * Unit tests of patch risk (include/autodev/risk.h).
 *
 * Each rule is tried on code that has it and on code that only seems to
 * (the name in a string, a comment, a method of the same name), table by
 * table; then aliasing, the parent diff, the score's tiers and order, and
 * hostile input (random bytes, 1 MiB of "(((", NUL bytes, long lines,
 * deep nesting), which must neither crash nor read out of bounds under
 * ASan and must still give a well-formed answer.
 *
 * Sections: helpers / names and tiers / imports / calls and dynamic code /
 * file writes / error handling and validation / loops, recursion, growth /
 * unparseable code / what never counts / aliasing / the parent diff /
 * score, order, JSON / hostile input
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include <math.h>

#include "autodev/risk.h"
#include "autodev/store.h"
#include "autodev/text.h"

/* ---- helpers ------------------------------------------------------------------ */

static void dump(const char *what, const struct ad_risk *r)
{
    json_t *j = ad_risk_json(r);
    char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;

    fprintf(stderr, "# %s:\n%s\n", what, s ? s : "(null)");
    free(s);
    json_decref(j);
}

/* Scores code against parent (NULL: none), checking the answer's invariants. */
static struct ad_risk score_n(const char *parent, size_t pn, const char *code, size_t cn)
{
    struct ad_risk r;
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_risk_score_n(parent, pn, code, cn, &r, &err);

    if (rc != 0)
        fprintf(stderr, "# ad_risk_score: %d %s\n", rc, err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(r.reasons);
    assert_true(json_is_array(r.reasons));
    assert_true(json_array_size(r.reasons) <= AD_RISK_REASONS_MAX);
    assert_true(json_array_size(r.reasons) == (r.findings < AD_RISK_REASONS_MAX
                                                   ? r.findings : AD_RISK_REASONS_MAX));
    assert_true(r.score >= 0 && r.score <= 1);
    /* The score's tier is the level. */
    assert_int_equal(ad_risk_level_of_score(r.score), r.level);
    assert_true(r.findings > 0 || r.score == 0);
    return r;
}

static struct ad_risk score(const char *parent, const char *code)
{
    return score_n(parent, parent ? strlen(parent) : 0, code, strlen(code));
}

/* The reason with this rule whose detail holds want (NULL: any), or NULL. */
static const json_t *find(const struct ad_risk *r, const char *rule, const char *want)
{
    const json_t *v;
    size_t i;

    json_array_foreach(r->reasons, i, v) {
        const char *d = json_string_value(json_object_get(v, "detail"));

        if (!strcmp(json_string_value(json_object_get(v, "rule")), rule) &&
            (!want || (d && strstr(d, want))))
            return v;
    }
    return NULL;
}

/* code has a finding of rule at level (detail holding want), at line (0: any line). */
static void expect_finding(const char *parent, const char *code, const char *rule,
                           enum ad_risk_level level, const char *want, int line)
{
    struct ad_risk r = score(parent, code);
    const json_t *v = find(&r, rule, want);

    if (!v || strcmp(json_string_value(json_object_get(v, "level")), ad_risk_level_name(level)) ||
        (line && json_integer_value(json_object_get(v, "line")) != line)) {
        fprintf(stderr, "# wanted %s %s '%s' line %d in:\n%s\n", ad_risk_level_name(level), rule,
                want ? want : "", line, code);
        dump("got", &r);
        fail();
    }
    assert_true(r.level >= level);
    ad_risk_release(&r);
}

/* code has no finding of rule (NULL: no finding at all). */
static void expect_none(const char *parent, const char *code, const char *rule)
{
    struct ad_risk r = score(parent, code);

    if (rule ? find(&r, rule, NULL) != NULL : r.findings != 0) {
        fprintf(stderr, "# wanted no %s finding in:\n%s\n", rule ? rule : "", code);
        dump("got", &r);
        fail();
    }
    ad_risk_release(&r);
}

static enum ad_risk_level level_of(const char *parent, const char *code)
{
    struct ad_risk r = score(parent, code);
    enum ad_risk_level l = r.level;

    ad_risk_release(&r);
    return l;
}

/* ---- names and tiers -------------------------------------------------------------- */

static void test_level_names(void **state)
{
    static const char *const names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };
    enum ad_risk_level l = AD_RISK_LOW;

    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_string_equal(ad_risk_level_name((enum ad_risk_level)i), names[i]);
        assert_int_equal(ad_risk_level_parse(names[i], &l), 0);
        assert_int_equal(l, i);
    }
    assert_int_equal(ad_risk_level_parse("critical", &l), 0);
    assert_int_equal(l, AD_RISK_CRITICAL);
    assert_int_equal(ad_risk_level_parse("High", &l), 0);
    assert_int_equal(l, AD_RISK_HIGH);
    assert_int_equal(ad_risk_level_parse("severe", &l), AD_EINVAL);
    assert_int_equal(l, AD_RISK_HIGH);
    assert_int_equal(ad_risk_level_parse("", &l), AD_EINVAL);
    assert_int_equal(ad_risk_level_parse(NULL, &l), AD_EINVAL);
    assert_string_equal(ad_risk_level_name((enum ad_risk_level)7), "?");
}

static void test_level_of_score(void **state)
{
    (void)state;
    assert_int_equal(ad_risk_level_of_score(0), AD_RISK_LOW);
    assert_int_equal(ad_risk_level_of_score(0.2499), AD_RISK_LOW);
    assert_int_equal(ad_risk_level_of_score(0.25), AD_RISK_MEDIUM);
    assert_int_equal(ad_risk_level_of_score(0.4999), AD_RISK_MEDIUM);
    assert_int_equal(ad_risk_level_of_score(0.5), AD_RISK_HIGH);
    assert_int_equal(ad_risk_level_of_score(0.7499), AD_RISK_HIGH);
    assert_int_equal(ad_risk_level_of_score(0.75), AD_RISK_CRITICAL);
    assert_int_equal(ad_risk_level_of_score(1), AD_RISK_CRITICAL);
    assert_int_equal(ad_risk_level_of_score(NAN), AD_RISK_LOW);
    assert_int_equal(ad_risk_level_of_score(-1), AD_RISK_LOW);
}

/* ---- imports ----------------------------------------------------------------------- */

struct import_case {
    const char *code;
    enum ad_risk_level level;
    const char *detail;
};

static void test_new_imports(void **state)
{
    static const struct import_case cases[] = {
        { "import subprocess\n", AD_RISK_CRITICAL, "imports subprocess" },
        { "import socket\n", AD_RISK_CRITICAL, "imports socket" },
        { "import ctypes\n", AD_RISK_CRITICAL, "imports ctypes" },
        { "import multiprocessing\n", AD_RISK_CRITICAL, "imports multiprocessing" },
        { "import pty\n", AD_RISK_CRITICAL, "imports pty" },
        { "import urllib.request\n", AD_RISK_CRITICAL, "imports urllib.request" },
        { "from http import client\n", AD_RISK_CRITICAL, "imports http" },
        { "import requests\n", AD_RISK_CRITICAL, "imports requests" },
        { "import ftplib\n", AD_RISK_CRITICAL, "imports ftplib" },
        { "import smtplib\n", AD_RISK_CRITICAL, "imports smtplib" },
        { "import signal\n", AD_RISK_CRITICAL, "imports signal" },
        { "import os\n", AD_RISK_HIGH, "imports os" },
        { "import sys\n", AD_RISK_HIGH, "imports sys" },
        { "import importlib\n", AD_RISK_HIGH, "imports importlib" },
        { "import shutil\n", AD_RISK_HIGH, "imports shutil" },
        { "from pathlib import Path\n", AD_RISK_HIGH, "imports pathlib" },
        { "import tempfile\n", AD_RISK_HIGH, "imports tempfile" },
        { "import pickle\n", AD_RISK_HIGH, "imports pickle: deserialisation" },
        { "import marshal\n", AD_RISK_HIGH, "imports marshal" },
        { "import re\n", AD_RISK_LOW, "imports re" },
        { "from collections import Counter\n", AD_RISK_LOW, "imports collections" },
        { "def f():\n    import json\n    return json\n", AD_RISK_LOW, "imports json" },
        { "try: import subprocess\nexcept ImportError: pass\n", AD_RISK_CRITICAL,
          "imports subprocess" },
        { "x = 1; import socket\n", AD_RISK_CRITICAL, "imports socket" },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        expect_finding(NULL, cases[i].code, "new_import", cases[i].level, cases[i].detail, 0);
        assert_int_equal(level_of(NULL, cases[i].code), cases[i].level);
    }
    /* Each import is listed, on its line. */
    expect_finding(NULL, "import re\nimport json, os\n", "new_import", AD_RISK_LOW, "imports json", 2);
    expect_finding(NULL, "import re\nimport json, os\n", "new_import", AD_RISK_HIGH, "imports os", 2);
}

/* ---- calls and dynamic code ------------------------------------------------------------ */

static void test_process_and_signals(void **state)
{
    (void)state;
    expect_finding(NULL, "import os\nos.system('ls')\n", "process", AD_RISK_CRITICAL,
                   "calls os.system", 2);
    expect_finding(NULL, "import os\np = os.popen('ls')\n", "process", AD_RISK_CRITICAL,
                   "os.popen", 2);
    expect_finding(NULL, "import os\nos.execvp('ls', ['ls'])\n", "process", AD_RISK_CRITICAL,
                   "os.execvp", 2);
    expect_finding(NULL, "import os\nos.kill(1, 9)\n", "signal", AD_RISK_CRITICAL,
                   "calls os.kill: sends a signal", 2);
    expect_finding(NULL, "import os\nos.killpg(1, 9)\n", "signal", AD_RISK_CRITICAL, "os.killpg",
                   2);
    expect_finding(NULL, "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n",
                   "signal", AD_RISK_CRITICAL, "calls signal.signal", 2);
    expect_finding(NULL, "import signal\nsignal.pthread_kill(t, 9)\n", "signal",
                   AD_RISK_CRITICAL, "signal.pthread_kill", 2);
    expect_finding(NULL, "import subprocess\nsubprocess.run(['ls'])\n", "process",
                   AD_RISK_CRITICAL, "calls subprocess.run", 2);
    expect_finding(NULL, "import socket\ns = socket.socket()\n", "network", AD_RISK_CRITICAL,
                   "calls socket.socket", 2);
    expect_finding(NULL, "import ctypes\nctypes.CDLL('libc.so.6')\n", "native", AD_RISK_CRITICAL,
                   "calls ctypes.CDLL", 2);
    /* os alone is HIGH, its harmless parts add nothing. */
    expect_none(NULL, "import os\np = os.path.join('a', 'b')\n", "process");
    assert_int_equal(level_of(NULL, "import os\np = os.path.join('a', 'b')\n"), AD_RISK_HIGH);
}

static void test_dynamic_code(void **state)
{
    (void)state;
    expect_finding(NULL, "x = eval('1 + 1')\n", "dynamic_code", AD_RISK_CRITICAL, "calls eval", 1);
    expect_finding(NULL, "exec('x = 1')\n", "dynamic_code", AD_RISK_CRITICAL, "calls exec", 1);
    expect_finding(NULL, "c = compile('1', 'f', 'eval')\n", "dynamic_code", AD_RISK_CRITICAL,
                   "calls compile", 1);
    expect_finding(NULL, "m = __import__('json')\n", "dynamic_code", AD_RISK_CRITICAL,
                   "calls __import__", 1);
    expect_finding(NULL, "f = getattr(__builtins__, 'ev' + 'al')\n", "dynamic_code",
                   AD_RISK_CRITICAL, "__builtins__", 1);
    expect_finding(NULL, "import builtins\nf = getattr(builtins, name)\n", "dynamic_code",
                   AD_RISK_CRITICAL, "getattr() on the builtins", 2);
    expect_finding(NULL, "import builtins\nsetattr(builtins, 'len', f)\n", "dynamic_code",
                   AD_RISK_CRITICAL, "setattr() on the builtins", 2);
    expect_finding(NULL, "globals()['x'] = 1\n", "dynamic_code", AD_RISK_CRITICAL,
                   "writes into globals()", 1);
    expect_finding(NULL, "globals().update(x=1)\n", "dynamic_code", AD_RISK_CRITICAL,
                   "globals()", 1);
    expect_finding(NULL, "k = ().__class__.__bases__[0].__subclasses__()\n", "dynamic_code",
                   AD_RISK_CRITICAL, "__subclasses__", 1);
    expect_finding(NULL, "import importlib\nm = importlib.import_module(name)\n", "dynamic_code",
                   AD_RISK_CRITICAL, "imports a module named at run time", 2);
    /* Reading globals() is no write. */
    expect_none(NULL, "x = globals()['x']\n", "dynamic_code");
    expect_none(NULL, "if globals()['x'] == 1:\n    pass\n", "dynamic_code");
}

/* ---- file writes -------------------------------------------------------------------------- */

static void test_file_writes(void **state)
{
    static const char *const writes[] = {
        "open('f', 'w')\n", "open('f', 'a')\n", "open('f', 'x')\n", "open('f', 'r+')\n",
        "open('f', 'wb')\n", "open('f', mode='a')\n", "open(p, m)\n", "open(*args)\n",
    };
    static const char *const reads[] = {
        "open('f')\n", "open('f', 'r')\n", "open('f', 'rb')\n", "open('f', mode='rt')\n",
        "open('f', encoding='utf-8')\n",
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(writes); i++)
        expect_finding(NULL, writes[i], "file_write", AD_RISK_HIGH, "open()", 1);
    for (size_t i = 0; i < AD_ARRAY_SIZE(reads); i++)
        expect_none(NULL, reads[i], NULL);
    expect_finding(NULL, "open(p, m)\n", "file_write", AD_RISK_HIGH, "mode chosen at run time", 1);
    expect_finding(NULL, "import pathlib\npathlib.Path('x').write_text('y')\n", "file_write",
                   AD_RISK_HIGH, ".write_text()", 2);
    expect_finding(NULL, "p.write_bytes(b'y')\n", "file_write", AD_RISK_HIGH, ".write_bytes()",
                   1);
    expect_finding(NULL, "p.open('w')\n", "file_write", AD_RISK_HIGH, ".open()", 1);
    expect_none(NULL, "p.open()\n", NULL);
    expect_finding(NULL, "import os\nos.remove(p)\n", "file_write", AD_RISK_HIGH,
                   "calls os.remove", 2);
    expect_finding(NULL, "import os\nos.unlink(p)\n", "file_write", AD_RISK_HIGH, "os.unlink", 2);
    expect_finding(NULL, "import os\nos.rename(a, b)\n", "file_write", AD_RISK_HIGH, "os.rename",
                   2);
    expect_finding(NULL, "import os\nos.rmdir(p)\n", "file_write", AD_RISK_HIGH, "os.rmdir", 2);
    expect_finding(NULL, "import shutil\nshutil.rmtree(p)\n", "file_write", AD_RISK_HIGH,
                   "shutil.rmtree", 2);
    expect_finding(NULL, "import io\nio.open('f', 'w')\n", "file_write", AD_RISK_HIGH,
                   "io.open()", 2);
    /* Only a file write: json.dump or list.remove write no file. */
    expect_none(NULL, "x = [1]\nx.remove(1)\n", NULL);
}

/* ---- error handling and validation ---------------------------------------------------------- */

static const char parent_checked[] =
    "def f(x):\n"
    "    if not isinstance(x, str):\n"
    "        raise ValueError('x')\n"
    "    assert x\n"
    "    try:\n"
    "        return int(x)\n"
    "    except ValueError:\n"
    "        return None\n";

static void test_error_handling(void **state)
{
    (void)state;
    expect_finding(parent_checked, "def f(x):\n    assert x\n    return int(x)\n",
                   "removed_error_handling", AD_RISK_MEDIUM, "0 try blocks where the parent had 1",
                   0);
    expect_finding(NULL, "try:\n    x = 1\nexcept:\n    x = 2\n", "swallowed_error",
                   AD_RISK_MEDIUM, "bare except", 3);
    expect_finding(NULL, "try:\n    x = 1\nexcept Exception:\n    pass\n", "swallowed_error",
                   AD_RISK_MEDIUM, "except Exception: pass", 3);
    expect_finding(NULL, "try:\n    x = 1\nexcept BaseException as e: pass\n", "swallowed_error",
                   AD_RISK_MEDIUM, "except BaseException: pass", 3);
    expect_finding(NULL, "try:\n    x = 1\nexcept (Exception):\n    ...\n", "swallowed_error",
                   AD_RISK_MEDIUM, "pass", 3);
    /* A named error, or one that is handled, is fine. */
    expect_none(NULL, "try:\n    x = 1\nexcept ValueError:\n    pass\n", NULL);
    expect_none(NULL, "try:\n    x = 1\nexcept Exception as e:\n    log(e)\n", NULL);
    expect_none(NULL, "try:\n    x = 1\nexcept Exception:\n    pass\n    x = 2\n", NULL);
    /* The same try kept, or one more: no finding. */
    expect_none(parent_checked, parent_checked, NULL);
}

static void test_validation(void **state)
{
    static const char *const fewer[] = {
        /* the raise gone */
        "def f(x):\n    if not isinstance(x, str):\n        return None\n    assert x\n"
        "    try:\n        return int(x)\n    except ValueError:\n        return None\n",
        /* the assert gone */
        "def f(x):\n    if not isinstance(x, str):\n        raise ValueError('x')\n"
        "    try:\n        return int(x)\n    except ValueError:\n        return None\n",
        /* the isinstance gone */
        "def f(x):\n    if not x:\n        raise ValueError('x')\n    assert x\n"
        "    try:\n        return int(x)\n    except ValueError:\n        return None\n",
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(fewer); i++)
        expect_finding(parent_checked, fewer[i], "removed_validation", AD_RISK_MEDIUM,
                       "2 checks", 0);
    /* type(x) compared is a check; type(x).__name__ is not. */
    expect_finding("def f(x):\n    if type(x) is str:\n        return x\n",
                   "def f(x):\n    return x\n", "removed_validation", AD_RISK_MEDIUM,
                   "0 checks", 0);
    expect_none("def f(x):\n    return type(x).__name__\n", "def f(x):\n    return x\n", NULL);
    /* A raise swapped for an assert keeps the count. */
    expect_none("def f(x):\n    if not x:\n        raise ValueError('x')\n",
                "def f(x):\n    assert x, 'x'\n", NULL);
}

/* ---- loops, recursion, growth ------------------------------------------------------------ */

static void test_loops(void **state)
{
    (void)state;
    expect_finding(NULL, "def f(x):\n    while True:\n        x += 1\n", "infinite_loop",
                   AD_RISK_MEDIUM, "while True", 2);
    expect_finding(NULL, "while 1:\n    x = 1\n", "infinite_loop", AD_RISK_MEDIUM, NULL, 1);
    expect_finding(NULL, "while (True): x += 1\n", "infinite_loop", AD_RISK_MEDIUM, NULL, 1);
    /* A break of an inner loop does not end the outer one. */
    expect_finding(NULL, "while True:\n    for y in x:\n        break\n", "infinite_loop",
                   AD_RISK_MEDIUM, NULL, 1);
    expect_finding(NULL, "while True:\n    def g():\n        return 1\n", "infinite_loop",
                   AD_RISK_MEDIUM, NULL, 1);
    expect_none(NULL, "while True:\n    if x:\n        break\n", NULL);
    expect_none(NULL, "def f(x):\n    while True:\n        if x:\n            return x\n", NULL);
    expect_none(NULL, "while True: break\n", NULL);
    expect_none(NULL, "while True:\n    for y in x:\n        pass\n    else:\n        break\n",
                NULL);
    expect_none(NULL, "while x:\n    x -= 1\n", NULL);
    expect_none(NULL, "while 0:\n    x -= 1\n", NULL);
}

static void test_recursion(void **state)
{
    (void)state;
    expect_finding(NULL, "def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n", "recursion",
                   AD_RISK_LOW, "fact() calls itself", 2);
    expect_finding(NULL, "def f(n): return f(n - 1)\n", "recursion", AD_RISK_LOW, NULL, 1);
    expect_finding(NULL, "class A:\n    def walk(self, n):\n        return self.walk(n)\n",
                   "recursion", AD_RISK_LOW, "walk() calls itself", 3);
    expect_none(NULL, "def f(n):\n    return g(n)\n\ndef g(n):\n    return n\n\nf(1)\n", NULL);
    expect_none(NULL, "def f(n):\n    return n.f(1)\n", NULL);
    /* Recursion the parent had is not new. */
    expect_none("def f(n):\n    return f(n - 1)\n", "def f(n):\n    return f(n - 2)\n", NULL);
}

static void test_growth(void **state)
{
    const char *parent = "def f(x):\n    return x\n";   /* 23 bytes */
    char big[200];

    (void)state;
    snprintf(big, sizeof(big), "def f(x):\n    y = x\n    y = x\n    y = x\n    y = x\n"
                               "    y = x\n    return y\n");
    expect_finding(parent, big, "code_growth", AD_RISK_LOW, "from 23 to", 0);
    expect_none(parent, "def f(x):\n    y = x\n    return y\n", NULL);
    expect_none(NULL, big, "code_growth");
}

/* ---- unparseable code --------------------------------------------------------------------- */

static void test_unparseable(void **state)
{
    static const struct {
        const char *code;
        const char *why;
        int line;
    } cases[] = {
        { "x = 1\ny = '\xff'\n", "not valid UTF-8", 2 },
        { "x = '\xc0\xaf'\n", "not valid UTF-8", 1 },
        { "x = '\xed\xa0\x80'\n", "not valid UTF-8", 1 },
        { "x = 1\ny = $x\n", "'$'", 2 },
        { "x = 'abc\n", "unterminated string", 1 },
        { "x = (1,\ny = 2\n", "never closed", 1 },
        { "x = 1)\n", "unmatched ')'", 1 },
        { "x = [1)\n", "a ')' closes a '['", 1 },
        { "def f():\nreturn 1\n", "expected an indented block", 2 },
        { "x = 1\n    y = 2\n", "unexpected indent", 2 },
        { "if x:\n        y = 1\n    z = 2\n", "matches no outer level", 3 },
        { "def f():\n", "expected an indented block", 1 },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        expect_finding(NULL, cases[i].code, "unparseable", AD_RISK_HIGH, cases[i].why,
                       cases[i].line);
        /* Whether or not the parent parses. */
        expect_finding("x = 1\n", cases[i].code, "unparseable", AD_RISK_HIGH, cases[i].why, 0);
    }
    /* Valid code of every shape used above parses. */
    expect_none(NULL, "x = '\xc3\xa9'\nif x:\n    y = (1,\n         2)\nelse:\n    y = 3\n",
                NULL);
}

static void test_nul_bytes(void **state)
{
    static const char code[] = "import re\x00\nx = 1\n";
    struct ad_risk r;

    (void)state;
    r = score_n(NULL, 0, code, sizeof(code) - 1);
    assert_non_null(find(&r, "unparseable", "NUL byte"));
    /* What follows the NUL is still read. */
    assert_non_null(find(&r, "new_import", "imports re"));
    assert_int_equal(r.level, AD_RISK_HIGH);
    ad_risk_release(&r);
    /* Through the C-string API the code ends at the NUL. */
    r = score(NULL, code);
    assert_null(find(&r, "unparseable", NULL));
    ad_risk_release(&r);
}

/* ---- what never counts -------------------------------------------------------------------- */

static void test_strings_and_comments(void **state)
{
    static const char *const quiet[] = {
        "x = 'import subprocess'\n",
        "x = \"eval('1')\"\n",
        "# import subprocess\n# os.system('rm -rf /')\nx = 1\n",
        "def f():\n    \"\"\"Never import socket or call eval(x).\"\"\"\n    return 1\n",
        "x = '''\nimport ctypes\nopen('f', 'w')\n'''\n",
        "x = r'__import__(\"os\")'\n",
        "x = b'exec(1)'\n",
        "x = f'{{eval(1)}}'\n",               /* doubled braces are text */
        "model.eval()\n",                      /* a method, not the builtin */
        "import re\np = re.compile('x')\n",
        "def f(open=None, eval=None):\n    return open\n",
        "r = requests.get(url)\n",             /* a variable, no import: not the module */
        "import json\nx = json.loads(s)\n",
        "def eval(x):\n    return x\n\ny = eval(1)\n",   /* a local function */
        "from re import compile\nc = compile('x')\n",
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(quiet); i++) {
        struct ad_risk r = score(NULL, quiet[i]);

        if (r.level > AD_RISK_LOW) {
            fprintf(stderr, "# wanted LOW for:\n%s\n", quiet[i]);
            dump("got", &r);
            fail();
        }
        ad_risk_release(&r);
    }
}

/* ---- aliasing ------------------------------------------------------------------------------- */

static void test_aliasing(void **state)
{
    (void)state;
    expect_finding(NULL, "import subprocess as sp\nsp.run(['ls'])\n", "process",
                   AD_RISK_CRITICAL, "calls subprocess.run", 2);
    expect_finding(NULL, "from subprocess import run as go\ngo(['ls'])\n", "process",
                   AD_RISK_CRITICAL, "calls subprocess.run", 2);
    expect_finding(NULL, "from os import system\nsystem('ls')\n", "process", AD_RISK_CRITICAL,
                   "calls os.system", 2);
    expect_finding(NULL, "from os import kill as k\nk(1, 9)\n", "signal", AD_RISK_CRITICAL,
                   "os.kill", 2);
    expect_finding(NULL, "from os import *\nsystem('ls')\n", "process", AD_RISK_CRITICAL,
                   "os.system", 2);
    expect_finding(NULL, "import os as o\no.remove(p)\n", "file_write", AD_RISK_HIGH, "os.remove",
                   2);
    expect_finding(NULL, "import os\nrun = os.system\nrun('ls')\n", "process", AD_RISK_CRITICAL,
                   "calls os.system", 3);
    expect_finding(NULL, "e = eval\ne('1')\n", "dynamic_code", AD_RISK_CRITICAL, "calls eval", 2);
    /* Imports by name are imports, named or not. */
    expect_finding(NULL, "m = __import__('subprocess')\n", "new_import", AD_RISK_CRITICAL,
                   "imports subprocess (by __import__)", 1);
    expect_finding(NULL, "import importlib\nm = importlib.import_module('socket')\n",
                   "new_import", AD_RISK_CRITICAL, "imports socket (by importlib.import_module)",
                   2);
    expect_finding(NULL, "from importlib import import_module as im\nm = im('ctypes')\n",
                   "new_import", AD_RISK_CRITICAL, "imports ctypes", 2);
    expect_finding(NULL, "import os\ngetattr(os, 'system')('ls')\n", "process", AD_RISK_CRITICAL,
                   "os.system", 2);
    expect_finding(NULL, "import os\nf = getattr(os, name)\n", "dynamic_code", AD_RISK_CRITICAL,
                   "getattr() on module os with a name chosen at run time", 2);
    expect_finding(NULL, "import builtins\nbuiltins.exec('x = 1')\n", "dynamic_code",
                   AD_RISK_CRITICAL, "calls exec", 2);
    /* f-string fields are code. */
    expect_finding(NULL, "import os\nx = f\"{os.system('ls')}\"\n", "process", AD_RISK_CRITICAL,
                   "os.system", 2);
    expect_finding(NULL, "x = 1\ny = f'a {eval(s)!r:>{w}} b'\n", "dynamic_code", AD_RISK_CRITICAL,
                   "eval", 2);
    expect_finding(NULL, "y = f\"{f'{__import__(\"os\")}'}\"\n", "dynamic_code",
                   AD_RISK_CRITICAL, "__import__", 1);
}

/* ---- the parent diff ----------------------------------------------------------------------- */

static void test_parent_diff(void **state)
{
    const char *parent = "import os\n\ndef f(p):\n    return os.path.exists(p)\n";

    (void)state;
    /* A kept import is not penalised, nor one of the same module. */
    expect_none(parent, "import os\n\ndef f(p):\n    return os.path.isfile(p)\n", NULL);
    expect_none(parent, "import os.path\n\ndef f(p):\n    return os.path.isfile(p)\n", NULL);
    expect_none(parent, "from os import path\n\ndef f(p):\n    return path.isfile(p)\n", NULL);
    /* A new one is, and so is a dangerous call of the kept one. */
    expect_finding(parent, "import os\nimport subprocess\n\ndef f(p):\n    return os.path.exists(p)\n",
                   "new_import", AD_RISK_CRITICAL, "imports subprocess", 2);
    expect_finding(parent, "import os\n\ndef f(p):\n    os.remove(p)\n    return True\n",
                   "file_write", AD_RISK_HIGH, "os.remove", 4);
    assert_int_equal(level_of(parent, "import os\n\ndef f(p):\n    os.remove(p)\n"),
                     AD_RISK_HIGH);
    /* The same parent without a parent: the import counts. */
    assert_int_equal(level_of(NULL, parent), AD_RISK_HIGH);
    assert_int_equal(level_of(parent, parent), AD_RISK_LOW);
    /* An eval kept (moved, re-indented) is not new; a second one is. */
    expect_none("def f(s):\n    return eval(s)\n",
                "def f(s):\n    s = s.strip()\n    if s:\n        return eval(s)\n", NULL);
    expect_finding("def f(s):\n    return eval(s)\n",
                   "def f(s):\n    x = eval(s)\n    return eval(s) + x\n", "dynamic_code",
                   AD_RISK_CRITICAL, "eval", 0);
    /* Removed try: counted against the parent, not present without one. */
    expect_finding("try:\n    x = 1\nexcept ValueError:\n    x = 2\n", "x = 1\n",
                   "removed_error_handling", AD_RISK_MEDIUM, "0 try blocks", 0);
    expect_none(NULL, "x = 1\n", NULL);
    /* A bare except the parent had is not new. */
    expect_none("try:\n    x = 1\nexcept:\n    x = 2\n", "try:\n    x = 3\nexcept:\n    x = 2\n",
                NULL);
}

/* The reported occurrence of several is the one whose statement the parent lacks. */
static void test_diff_names_the_new_line(void **state)
{
    struct ad_risk r;

    (void)state;
    r = score("def f(s):\n    return eval(s)\n",
              "def f(s):\n    x = eval(s + '1')\n    return eval(s)\n");
    assert_int_equal(r.findings, 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r.reasons, 0), "line")), 2);
    ad_risk_release(&r);
}

/* ---- score, order, JSON ----------------------------------------------------------------------- */

static void test_score_tiers(void **state)
{
    struct ad_risk r;

    (void)state;
    r = score(NULL, "x = 1\n");
    assert_int_equal(r.level, AD_RISK_LOW);
    assert_true(r.score == 0);
    assert_int_equal(r.findings, 0);
    ad_risk_release(&r);
    r = score(NULL, "import re\n");
    assert_int_equal(r.level, AD_RISK_LOW);
    assert_true(r.score > 0 && r.score < 0.25);
    ad_risk_release(&r);
    r = score(NULL, "while True:\n    x = 1\n");
    assert_int_equal(r.level, AD_RISK_MEDIUM);
    assert_true(r.score >= 0.25 && r.score < 0.5);
    ad_risk_release(&r);
    r = score(NULL, "import os\n");
    assert_int_equal(r.level, AD_RISK_HIGH);
    assert_true(r.score >= 0.5 && r.score < 0.75);
    assert_true(fabs(r.score - 0.62) < 1e-9);   /* one finding of the tier */
    ad_risk_release(&r);
    r = score(NULL, "import subprocess\n");
    assert_int_equal(r.level, AD_RISK_CRITICAL);
    assert_true(r.score >= 0.75 && r.score <= 1);
    ad_risk_release(&r);
}

/* Each added finding keeps or raises the score, and the score never leaves its level's tier. */
static void test_score_monotone(void **state)
{
    static const char *const lines[] = {
        "import re\n", "import json\n", "while True:\n    x = 1\n", "import os\n",
        "open('f', 'w')\n", "def g(n): return g(n)\n", "import subprocess\n", "eval('1')\n",
        "try:\n    pass\nexcept:\n    pass\n", "import socket\n", "exec('1')\n",
    };
    char code[2048] = "";
    double last = 0;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(lines); i++) {
        struct ad_risk r;

        snprintf(code + strlen(code), sizeof(code) - strlen(code), "%s", lines[i]);
        r = score(NULL, code);
        assert_true(r.score >= last);
        assert_true(r.findings >= i + 1);
        last = r.score;
        ad_risk_release(&r);
    }
    /* Many findings of a tier stay in it. */
    {
        char many[4096] = "";
        struct ad_risk r;

        for (int i = 0; i < 200; i++)
            snprintf(many + strlen(many), sizeof(many) - strlen(many), "import m%d\n", i);
        r = score(NULL, many);
        assert_int_equal(r.level, AD_RISK_LOW);
        assert_true(r.score < 0.25);
        ad_risk_release(&r);
    }
}

static void test_order_and_cap(void **state)
{
    struct ad_risk r;
    char code[8192] = "import re\nwhile True:\n    x = 1\n";
    const json_t *v;
    size_t i;
    int prev_level = 4, prev_line = 0;

    (void)state;
    for (int k = 0; k < 60; k++)
        snprintf(code + strlen(code), sizeof(code) - strlen(code), "eval('%d')\n", k);
    snprintf(code + strlen(code), sizeof(code) - strlen(code), "import os\n");
    r = score(NULL, code);
    assert_int_equal(r.findings, 63);
    assert_int_equal(json_array_size(r.reasons), AD_RISK_REASONS_MAX);
    /* Highest level first, then by line. */
    json_array_foreach(r.reasons, i, v) {
        enum ad_risk_level l;
        int line = (int)json_integer_value(json_object_get(v, "line"));

        assert_int_equal(ad_risk_level_parse(json_string_value(json_object_get(v, "level")), &l),
                         0);
        assert_true((int)l <= prev_level);
        if ((int)l == prev_level)
            assert_true(line >= prev_line);
        prev_level = (int)l;
        prev_line = line;
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.reasons, 0), "level")),
                        "CRITICAL");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r.reasons, 0), "line")), 4);
    ad_risk_release(&r);
}

static void test_json(void **state)
{
    struct ad_risk r;
    json_t *j, *reason;

    (void)state;
    r = score(NULL, "import subprocess\n");
    j = ad_risk_json(&r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "CRITICAL");
    assert_true(json_real_value(json_object_get(j, "score")) == r.score);
    assert_int_equal(json_integer_value(json_object_get(j, "findings")), 1);
    reason = json_array_get(json_object_get(j, "reasons"), 0);
    assert_string_equal(json_string_value(json_object_get(reason, "rule")), "new_import");
    assert_string_equal(json_string_value(json_object_get(reason, "detail")),
                        "imports subprocess: runs programs");
    assert_int_equal(json_integer_value(json_object_get(reason, "line")), 1);
    assert_string_equal(json_string_value(json_object_get(reason, "level")), "CRITICAL");
    assert_int_equal(json_object_size(reason), 4);
    /* A copy: the risk is still whole after the JSON is gone. */
    json_decref(j);
    assert_int_equal(json_array_size(r.reasons), 1);
    ad_risk_release(&r);
    ad_risk_release(&r);
    ad_risk_release(NULL);
    /* A released risk gives an empty one. */
    j = ad_risk_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 0);
    json_decref(j);
}

/* Names from the code reach a detail as printable ASCII (valid JSON) and clipped. */
static void test_details_are_safe(void **state)
{
    char code[512];
    struct ad_risk r;
    const char *d;

    (void)state;
    r = score(NULL, "import \xc3\xa9t\xc3\xa9\n");
    d = json_string_value(json_object_get(json_array_get(r.reasons, 0), "detail"));
    assert_string_equal(d, "imports \\xc3\\xa9t\\xc3\\xa9");
    ad_risk_release(&r);
    memset(code, 'a', 300);
    memcpy(code, "import ", 7);
    code[300] = '\n';
    code[301] = '\0';
    r = score(NULL, code);
    d = json_string_value(json_object_get(json_array_get(r.reasons, 0), "detail"));
    assert_non_null(d);
    assert_true(strlen(d) < 100);
    assert_non_null(strstr(d, "..."));
    ad_risk_release(&r);
}

static void test_errors(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_risk r;
    char *big = malloc(AD_SKILL_CODE_MAX + 2);

    (void)state;
    assert_non_null(big);
    memset(big, 'x', AD_SKILL_CODE_MAX + 1);
    big[AD_SKILL_CODE_MAX + 1] = '\0';
    assert_int_equal(ad_risk_score(NULL, big, &r, &err), AD_ETOOBIG);
    assert_non_null(strstr(err.msg, "code of 1048577 bytes"));
    assert_null(r.reasons);
    ad_risk_release(&r);
    assert_int_equal(ad_risk_score(big, "x = 1\n", &r, &err), AD_ETOOBIG);
    assert_non_null(strstr(err.msg, "parent code"));
    ad_risk_release(&r);
    /* Exactly the cap is read. */
    big[AD_SKILL_CODE_MAX] = '\0';
    assert_int_equal(ad_risk_score(NULL, big, &r, &err), 0);
    assert_int_equal(r.level, AD_RISK_LOW);
    ad_risk_release(&r);
    free(big);
    /* No code is empty code. */
    assert_int_equal(ad_risk_score(NULL, NULL, &r, &err), 0);
    assert_int_equal(r.findings, 0);
    ad_risk_release(&r);
}

/* ---- hostile input ---------------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The answer is well-formed and its JSON dumps (every detail valid UTF-8). */
static void check_hostile(const char *parent, size_t pn, const char *code, size_t cn)
{
    struct ad_risk r = score_n(parent, pn, code, cn);
    json_t *j = ad_risk_json(&r);
    char *s = j ? json_dumps(j, 0) : NULL;

    assert_non_null(s);
    assert_true(ad_utf8_valid(s, strlen(s)));
    free(s);
    json_decref(j);
    ad_risk_release(&r);
}

static void test_random_bytes(void **state)
{
    char buf[512];

    (void)state;
    for (int i = 0; i < 1000; i++) {
        size_t n = next_rand() % sizeof(buf);

        for (size_t k = 0; k < n; k++)
            buf[k] = (char)next_rand();
        check_hostile(i % 2 ? buf : NULL, i % 2 ? n / 2 : 0, buf, n);
    }
}

/* Random soups of the tokens the rules look for: every rule's edge is hit. */
static void test_token_soup(void **state)
{
    static const char *const toks[] = {
        "import", "from", "os", "subprocess", ".", "(", ")", "[", "]", "{", "}", ":", "\n",
        "    ", "\t", "eval", "while", "True", "def", "f", "=", "==", ",", "'w'", "\"\"\"", "'",
        "open", "try", "except", "Exception", "pass", "getattr", "__builtins__", "globals", "as",
        "*", "**", "\\", "#", "break", "return", "self", "1", "f'{", "f\"{x}\"", "}'", "raise",
        "assert", "type", "is", "import_module", "importlib", "\x00", "\xff", "async", "...",
        "del", "setattr", "builtins", "write_text", "mode",
    };
    char buf[2048];

    (void)state;
    for (int i = 0; i < 1500; i++) {
        size_t n = 0, count = next_rand() % 120;

        for (size_t k = 0; k < count; k++) {
            const char *t = toks[next_rand() % AD_ARRAY_SIZE(toks)];
            size_t tl = t[0] ? strlen(t) : 1;

            if (n + tl + 1 >= sizeof(buf))
                break;
            memcpy(buf + n, t, tl);
            n += tl;
            if (next_rand() % 3 == 0)
                buf[n++] = ' ';
        }
        check_hostile(i % 3 ? buf : NULL, i % 3 ? n / 3 : 0, buf, n);
    }
}

/* pattern repeated to total bytes, alone and (with_parent) against itself as the parent. */
static void check_big(const char *pattern, size_t total, bool with_parent)
{
    size_t pn = strlen(pattern);
    char *code = malloc(total + 1);

    assert_non_null(code);
    for (size_t i = 0; i < total; i++)
        code[i] = pattern[i % pn];
    code[total] = '\0';
    check_hostile(NULL, 0, code, total);
    if (with_parent)
        check_hostile(code, total, code, total);
    free(code);
}

static void test_big_inputs(void **state)
{
    char *code = malloc(AD_SKILL_CODE_MAX + 1);
    struct ad_risk r;

    (void)state;
    /* 1 MiB of "(((": too deep, never closed. */
    assert_non_null(code);
    memset(code, '(', AD_SKILL_CODE_MAX);
    code[AD_SKILL_CODE_MAX] = '\0';
    r = score(NULL, code);
    assert_non_null(find(&r, "unparseable", "deeper than 200"));
    ad_risk_release(&r);
    /* One line of 1 MiB, one name of 1 MiB, against itself. */
    memset(code, 'x', AD_SKILL_CODE_MAX);
    r = score(code, code);
    assert_int_equal(r.findings, 0);
    ad_risk_release(&r);
    free(code);
    check_big(")", 1 << 18, true);
    check_big("[{(", 1 << 18, true);
    /* NUL bytes everywhere. */
    code = calloc(1, 1 << 18);
    assert_non_null(code);
    r = score_n(NULL, 0, code, 1 << 18);
    assert_non_null(find(&r, "unparseable", "NUL byte"));
    ad_risk_release(&r);
    free(code);
    check_big("x = 1 + ", 1 << 18, true);
    check_big("eval(", 1 << 17, true);
    check_big("import a.", 1 << 17, true);
    check_big("f'{", 1 << 17, true);
    check_big("f\"{x}{f'{y}'}\" ", 1 << 17, true);
    check_big("'''", 1 << 17, false);
    check_big("while True:\n ", 1 << 17, false);
    check_big("def f():\n\t", 1 << 17, false);
    check_big("try:\n x\nexcept:\n pass\n", 1 << 17, true);
    check_big("\xf0\x9f\x98", 1 << 17, false);
}

/* Deep indentation: more than Python's 100 levels, found, and no blow-up. */
static void test_deep_nesting(void **state)
{
    struct ad_buf b = AD_BUF_INIT;
    struct ad_risk r;

    (void)state;
    for (int i = 0; i < 300; i++) {
        for (int k = 0; k < i; k++)
            ad_buf_addch(&b, '\t');
        ad_buf_adds(&b, i % 2 ? "while True:\n" : "def f():\n");
    }
    for (int k = 0; k < 300; k++)
        ad_buf_addch(&b, '\t');
    ad_buf_adds(&b, "f()\n");
    r = score(NULL, b.ptr);
    assert_non_null(find(&r, "unparseable", "levels of indentation"));
    assert_non_null(find(&r, "infinite_loop", NULL));
    /* 150 loops, the indentation, and f calling itself (past the 50 listed). */
    assert_int_equal(r.findings, 152);
    ad_risk_release(&r);
    ad_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_level_of_score),
        cmocka_unit_test(test_new_imports),
        cmocka_unit_test(test_process_and_signals),
        cmocka_unit_test(test_dynamic_code),
        cmocka_unit_test(test_file_writes),
        cmocka_unit_test(test_error_handling),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_recursion),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_unparseable),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_strings_and_comments),
        cmocka_unit_test(test_aliasing),
        cmocka_unit_test(test_parent_diff),
        cmocka_unit_test(test_diff_names_the_new_line),
        cmocka_unit_test(test_score_tiers),
        cmocka_unit_test(test_score_monotone),
        cmocka_unit_test(test_order_and_cap),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_details_are_safe),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_token_soup),
        cmocka_unit_test(test_big_inputs),
        cmocka_unit_test(test_deep_nesting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
