/*
 * Unit tests for src/propose: the Python tokenizer and the mutation
 * proposer (operators, EVOLVE regions, determinism, edits that apply).
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/buf.h"
#include "autodev/edit.h"
#include "autodev/propose.h"
#include "autodev/pytok.h"

#define PYTHON "/usr/bin/python3"

/* ---- helpers ------------------------------------------------------------ */

/* Every byte in exactly one token, in order: the tokenizer's core promise. */
static void assert_tiles(const char *src, size_t len, const struct ad_pytok *t)
{
    size_t pos = 0;

    for (size_t i = 0; i < t->ntoks; i++) {
        assert_int_equal(t->toks[i].off, pos);
        assert_true(t->toks[i].len > 0);
        pos += t->toks[i].len;
    }
    assert_int_equal(pos, len);
    for (size_t i = 0; i < t->nlines; i++) {
        assert_true(t->lines[i].start < t->lines[i].end);
        assert_true(t->lines[i].end <= len);
        assert_true(t->lines[i].first_line <= t->lines[i].last_line);
        if (i > 0)
            assert_true(t->lines[i - 1].end <= t->lines[i].start);
    }
    (void)src;
}

/* "KIND:text|KIND:text|NEWLINE": significant tokens, comments and NEWLINEs. */
static void describe_tokens(const char *src, const struct ad_pytok *t, struct ad_buf *b)
{
    for (size_t i = 0; i < t->ntoks; i++) {
        const struct ad_tok *k = &t->toks[i];

        if (k->kind == AD_TOK_WS || k->kind == AD_TOK_NL)
            continue;
        if (b->len)
            assert_int_equal(ad_buf_addch(b, '|'), 0);
        if (k->kind == AD_TOK_NEWLINE) {
            assert_int_equal(ad_buf_adds(b, "NEWLINE"), 0);
            continue;
        }
        assert_int_equal(ad_buf_addf(b, "%s%s:%.*s", ad_tok_kind_name(k->kind),
                                     (k->flags & AD_TOKF_UNTERMINATED) ? "!" : "",
                                     (int)k->len, src + k->off), 0);
    }
}

struct mutants {
    struct ad_mutant *v;
    size_t n;
};

static int propose(const char *src, uint64_t seed, int count, unsigned ops, struct mutants *m,
                   struct ad_err *err)
{
    struct ad_propose_opts o = { .seed = seed, .count = count, .ops = ops };

    m->v = NULL;
    m->n = 0;
    return ad_propose_mutants(src, strlen(src), &o, &m->v, &m->n, err);
}

/*
 * Our own reading of a mutant's edit, independent of src/edit: the parts
 * between the markers, the search found exactly once in the source (as a
 * plain substring) and replaced. A search reaching the end of a file that
 * has no final newline carries one more newline on both sides than the
 * file does. Returns the result (caller frees).
 */
static char *apply_own(const char *src, const char *edit, const char *path)
{
    const char *s, *mid, *end, *hit;
    size_t plen = strlen(path), slen, rlen, n = strlen(src);
    struct ad_buf out = AD_BUF_INIT;

    assert_int_equal(strncmp(edit, path, plen), 0);
    assert_int_equal(strncmp(edit + plen, "\n```python\n<<<<<<< SEARCH\n", 26), 0);
    s = edit + plen + 26;
    mid = strstr(s, "=======\n");
    assert_non_null(mid);
    end = strstr(mid + 8, ">>>>>>> REPLACE\n```\n");
    assert_non_null(end);
    assert_string_equal(end + 20, "");
    slen = (size_t)(mid - s);
    rlen = (size_t)(end - (mid + 8));
    assert_true(slen > 0 && s[slen - 1] == '\n');
    hit = memmem(src, n, s, slen);
    if (!hit) {
        /* The open end: the search minus its last newline ends the file. */
        slen--;
        assert_true(n >= slen && rlen > 0);
        rlen--;
        hit = src + n - slen;
        assert_memory_equal(hit, s, slen);
    }
    /* Unique: the first occurrence is this one, and none starts after it. */
    assert_ptr_equal(memmem(src, n, s, slen), hit);
    assert_null(memmem(hit + 1, n - (size_t)(hit + 1 - src), s, slen));
    assert_int_equal(ad_buf_add(&out, src, (size_t)(hit - src)), 0);
    assert_int_equal(ad_buf_add(&out, mid + 8, rlen), 0);
    assert_int_equal(ad_buf_adds(&out, hit + slen), 0);
    return ad_buf_detach(&out, NULL);
}

/* The same with the edit module: parse the reply, apply its one block. */
static void assert_edit_module_applies(const char *src, const struct ad_mutant *m)
{
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_buf out = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    enum ad_edit_match how = AD_EDIT_MATCH_NONE;

    assert_int_equal(ad_edit_parse(m->edit, strlen(m->edit), &set, &err), 0);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.v[0].kind, AD_EDIT_REPLACE);
    assert_int_equal(ad_edit_apply_text(src, strlen(src), &set.v[0], &out, &how, NULL, &err), 0);
    assert_int_equal(how, AD_EDIT_MATCH_EXACT);
    assert_string_equal(out.ptr, m->code);
    ad_buf_release(&out);
    ad_edit_set_release(&set);
}

/* ---- tokenizer ---------------------------------------------------------- */

struct tok_case {
    const char *src;
    const char *want;
    int nlines;
};

static const struct tok_case tok_cases[] = {
    { "x = 'a < b' + \"c == 1\"\n",
      "NAME:x|OP:=|STRING:'a < b'|OP:+|STRING:\"c == 1\"|NEWLINE", 1 },
    { "x = 1  # 2 < 3 and True\n", "NAME:x|OP:=|NUMBER:1|COMMENT:# 2 < 3 and True|NEWLINE", 1 },
    { "f\"{a + 1:>{w}}\" + 2\n", "STRING:f\"{a + 1:>{w}}\"|OP:+|NUMBER:2|NEWLINE", 1 },
    /* Python 3.12 lets a replacement field reuse the outer quote. */
    { "f\"{d[\"k\"] > 1}\" < 3\n", "STRING:f\"{d[\"k\"] > 1}\"|OP:<|NUMBER:3|NEWLINE", 1 },
    { "f'{x!r:>{w}} {{1}} {y:\"^5}' == 2\n",
      "STRING:f'{x!r:>{w}} {{1}} {y:\"^5}'|OP:==|NUMBER:2|NEWLINE", 1 },
    { "s = \"\"\"a < 1\n'b' \"\n\"\"\"\nt = 2\n",
      "NAME:s|OP:=|STRING:\"\"\"a < 1\n'b' \"\n\"\"\"|NEWLINE|NAME:t|OP:=|NUMBER:2|NEWLINE", 2 },
    { "rb'\\x00' + BR\"x\" + Rb'' + u'u' + Fr'{a}' + rf\"\" + b'''z'''\n",
      "STRING:rb'\\x00'|OP:+|STRING:BR\"x\"|OP:+|STRING:Rb''|OP:+|STRING:u'u'|OP:+|"
      "STRING:Fr'{a}'|OP:+|STRING:rf\"\"|OP:+|STRING:b'''z'''|NEWLINE", 1 },
    { "ab'x' ur'y'\n", "NAME:ab|STRING:'x'|NAME:ur|STRING:'y'|NEWLINE", 1 },
    { "'it\\'s' \"q\\\"\" r'\\''\n", "STRING:'it\\'s'|STRING:\"q\\\"\"|STRING:r'\\''|NEWLINE", 1 },
    { "1_000 0x_FF 0o17 0B1010 1.5e-3 .5 5. 1e10 3j 1.5J 2E+2\n",
      "NUMBER:1_000|NUMBER:0x_FF|NUMBER:0o17|NUMBER:0B1010|NUMBER:1.5e-3|NUMBER:.5|NUMBER:5.|"
      "NUMBER:1e10|NUMBER:3j|NUMBER:1.5J|NUMBER:2E+2|NEWLINE", 1 },
    { "a //= b ** 2 -> c := d != e <= f >= g << h >>= i ... @= j % k\n",
      "NAME:a|OP://=|NAME:b|OP:**|NUMBER:2|OP:->|NAME:c|OP::=|NAME:d|OP:!=|NAME:e|OP:<=|"
      "NAME:f|OP:>=|NAME:g|OP:<<|NAME:h|OP:>>=|NAME:i|OP:...|OP:@=|NAME:j|OP:%|NAME:k|NEWLINE",
      1 },
    { "x = 'abc\ny = 2\n", "NAME:x|OP:=|STRING!:'abc|NEWLINE|NAME:y|OP:=|NUMBER:2|NEWLINE", 2 },
    { "x = \"\"\"abc\ny = 2\n", "NAME:x|OP:=|STRING!:\"\"\"abc\ny = 2\n", 1 },
    { "$ ? \x01`\n", "ERRORTOKEN:$|ERRORTOKEN:?|ERRORTOKEN:\x01|ERRORTOKEN:`|NEWLINE", 1 },
    { "x = 1 + \\\n    2\n", "NAME:x|OP:=|NUMBER:1|OP:+|NUMBER:2|NEWLINE", 1 },
    { "f(1,\n  # c\n  2)\n\n# only\n",
      "NAME:f|OP:(|NUMBER:1|OP:,|COMMENT:# c|NUMBER:2|OP:)|NEWLINE|COMMENT:# only", 1 },
    { "a\r\nb\rc", "NAME:a|NEWLINE|NAME:b|NEWLINE|NAME:c", 3 },
    { "\xef\xbb\xbfx\n", "NAME:x|NEWLINE", 1 },
    { "", "", 0 },
    { "caf\xc3\xa9 = 1\n", "NAME:caf\xc3\xa9|OP:=|NUMBER:1|NEWLINE", 1 },
};

static void tokenizer_table(void **state)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(tok_cases); i++) {
        const struct tok_case *tc = &tok_cases[i];
        struct ad_pytok t = AD_PYTOK_INIT;
        struct ad_buf b = AD_BUF_INIT;
        struct ad_err err = AD_ERR_INIT;

        assert_int_equal(ad_pytok_run(tc->src, strlen(tc->src), &t, &err), 0);
        assert_tiles(tc->src, strlen(tc->src), &t);
        describe_tokens(tc->src, &t, &b);
        if (strcmp(b.ptr, tc->want) != 0)
            fail_msg("case %zu: got\n%s\nwant\n%s", i, b.ptr, tc->want);
        assert_int_equal(t.nlines, tc->nlines);
        ad_buf_release(&b);
        ad_pytok_release(&t);
    }
}

static void tokenizer_lines_and_depth(void **state)
{
    static const char src[] = "if x:\n    y = [1,\n         2]  # c\n\n\tz = 3\n";
    struct ad_pytok t = AD_PYTOK_INIT;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_pytok_run(src, strlen(src), &t, &err), 0);
    assert_int_equal(t.nlines, 3);
    assert_int_equal(t.lines[0].indent, 0);
    assert_int_equal(t.lines[1].first_line, 2);
    assert_int_equal(t.lines[1].last_line, 3);
    assert_int_equal(t.lines[1].indent, 4);
    assert_int_equal(t.lines[1].start, 6);
    assert_int_equal(t.lines[1].end, strlen("if x:\n    y = [1,\n         2]  # c\n"));
    assert_int_equal(t.lines[2].indent, 8);    /* a tab counts to column 8 */
    assert_int_equal(t.lines[2].first_line, 5);
    for (size_t i = 0; i < t.ntoks; i++) {
        if (ad_tok_is(src, &t.toks[i], "2"))
            assert_int_equal(t.toks[i].depth, 1);
        if (ad_tok_is(src, &t.toks[i], "2"))
            assert_int_equal(t.toks[i].line, 3);
    }
    ad_pytok_release(&t);
}

/* ---- operators ---------------------------------------------------------- */

struct op_case {
    unsigned ops;
    const char *src;
    const char *want[8];   /* every distinct mutant, NULL-terminated; none: ENOTFOUND */
};

static const struct op_case op_cases[] = {
    { AD_MUT_NUMBER, "x = 3\n", { "x = 4\n", "x = 2\n", "x = 6\n", "x = 1\n" } },
    { AD_MUT_NUMBER, "w = 0.5\n", { "w = 0.25\n", "w = 0.55\n", "w = 0.45\n", "w = 1.0\n" } },
    { AD_MUT_NUMBER, "w = 0.0\n", { "w = 0.1\n", "w = 1.0\n" } },
    { AD_MUT_NUMBER, "x = 0\n", { "x = 1\n" } },              /* +1 and 0->1 agree: one */
    { AD_MUT_NUMBER, "x = 1\n", { "x = 2\n", "x = 0\n" } },
    { AD_MUT_NUMBER, "m = 0xff\n", { "m = 0x100\n", "m = 0xfe\n", "m = 0x1fe\n", "m = 0x7f\n" } },
    { AD_MUT_NUMBER, "m = 0b11 + 1e3\n",
      { "m = 0b100 + 1e3\n", "m = 0b10 + 1e3\n", "m = 0b110 + 1e3\n", "m = 0b1 + 1e3\n",
        "m = 0b11 + 500.0\n", "m = 0b11 + 1100.0\n", "m = 0b11 + 900.0\n",
        "m = 0b11 + 2000.0\n" } },
    { AD_MUT_NUMBER, "s = '1'  # 2\nx = 0\nz = 2j\n", { "s = '1'  # 2\nx = 1\nz = 2j\n" } },
    { AD_MUT_COMPARE, "if a < b:\n    pass\n", { "if a <= b:\n    pass\n",
                                                "if a > b:\n    pass\n" } },
    { AD_MUT_COMPARE, "t = a >= b != c\n", { "t = a > b != c\n", "t = a <= b != c\n",
                                             "t = a >= b == c\n" } },
    { AD_MUT_COMPARE, "t = a is None\n", { "t = a is not None\n" } },
    { AD_MUT_COMPARE, "t = a is not None\n", { "t = a is None\n" } },
    { AD_MUT_COMPARE, "t = a not in b\n", { "t = a in b\n" } },
    { AD_MUT_COMPARE, "t = (a is\n     not b)\n", { "t = (a is b)\n" } },
    { AD_MUT_COMPARE, "t = '<' + \"==\"  # >\n", { NULL } },
    { AD_MUT_ARITH, "y = a - -b * c\n", { "y = a + -b * c\n", "y = a - -b / c\n" } },
    { AD_MUT_ARITH, "z = a / b // c % d\n",
      { "z = a * b // c % d\n", "z = a // b // c % d\n", "z = a / b / c % d\n" } },
    { AD_MUT_ARITH, "x += f(x)[0] * 2\n", { "x -= f(x)[0] * 2\n", "x += f(x)[0] / 2\n" } },
    { AD_MUT_ARITH, "def f(a, *args, b=-1, **kw):\n    return g(*args, **kw) or -a\n", { NULL } },
    { AD_MUT_ARITH, "from m import *\nx = [*a, -1]\n", { NULL } },
    { AD_MUT_BOOL, "ok = True and not False\n",
      { "ok = False and not False\n", "ok = True or not False\n", "ok = True and not True\n" } },
    { AD_MUT_BOOL, "s = 'True and'  # or\n", { NULL } },
    { AD_MUT_DELETE, "def f():\n    return 1\n", { "def f():\n    pass\n" } },
    { AD_MUT_DELETE, "a = 1\nb = 2\n", { "b = 2\n", "a = 1\n" } },
    { AD_MUT_DELETE, "x = [\n  1,\n]\ny = 2\n", { "y = 2\n", "x = [\n  1,\n]\n" } },
    { AD_MUT_DELETE, "a = 1\n\nb = 2", { "\nb = 2", "a = 1\n\n" } },
    /* The last line, without its line end, still matches a search line. */
    { AD_MUT_DELETE, "b = 2\r\nb = 2", { "b = 2", "b = 2\r\n" } },
    { AD_MUT_DELETE, "if c:\r\n    x = 1\r\n", { "if c:\r\n    pass\r\n" } },
    { AD_MUT_DELETE, "if c:\n\tx = 1\nelse:\n\ty = 2\n",
      { "if c:\n\tpass\nelse:\n\ty = 2\n", "if c:\n\tx = 1\nelse:\n\tpass\n" } },
    { AD_MUT_DELETE, "@dec\nclass A:\n    pass\n", { NULL } },   /* pass -> pass: no-op */
    { AD_MUT_DUPLICATE, "a = 1\nb = 2", { "a = 1\na = 1\nb = 2", "a = 1\nb = 2\nb = 2" } },
    { AD_MUT_DUPLICATE, "a = 1\r\nb = 2",
      { "a = 1\r\na = 1\r\nb = 2", "a = 1\r\nb = 2\r\nb = 2" } },
    { AD_MUT_DUPLICATE, "s = '''x\ny'''\n", { "s = '''x\ny'''\ns = '''x\ny'''\n" } },
    { AD_MUT_DUPLICATE, "from __future__ import annotations\nfor x in y: z()\n", { NULL } },
    { AD_MUT_SWAP, "a = 1\n# c\nb = 2\n", { "b = 2\n# c\na = 1\n" } },
    { AD_MUT_SWAP, "a = 1\nb = 2", { "b = 2\na = 1" } },
    { AD_MUT_SWAP, "if x:\n    a()\nb()\nwhile y:\n    c()\n", { NULL } },
    { AD_MUT_SWAP, "a = 1\na = 1\n", { NULL } },               /* a swap that changes nothing */
};

static int want_count(const struct op_case *oc)
{
    int n = 0;

    while (n < 8 && oc->want[n])
        n++;
    return n;
}

static void operators_table(void **state)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(op_cases); i++) {
        const struct op_case *oc = &op_cases[i];
        struct ad_err err = AD_ERR_INIT;
        struct mutants m;
        int want = want_count(oc), rc;

        rc = propose(oc->src, 42, 1000, oc->ops, &m, &err);
        if (want == 0) {
            if (rc != AD_ENOTFOUND)
                fail_msg("case %zu: expected no mutants, got rc %d n %zu", i, rc, m.n);
            assert_string_equal(err.msg, "no mutation sites in the file");
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu: rc %d: %s", i, rc, err.msg);
        if (m.n != (size_t)want) {
            for (size_t k = 0; k < m.n; k++)
                print_message("case %zu got: %s", i, m.v[k].code);
            fail_msg("case %zu: %zu mutants, want %d", i, m.n, want);
        }
        for (int w = 0; w < want; w++) {
            int found = 0;

            for (size_t k = 0; k < m.n; k++)
                found |= strcmp(m.v[k].code, oc->want[w]) == 0;
            if (!found)
                fail_msg("case %zu: missing mutant %s", i, oc->want[w]);
        }
        for (size_t k = 0; k < m.n; k++) {
            char *got = apply_own(oc->src, m.v[k].edit, "skill.py");

            assert_string_equal(got, m.v[k].code);
            assert_int_equal(m.v[k].op, oc->ops);
            free(got);
            assert_edit_module_applies(oc->src, &m.v[k]);
        }
        ad_mutants_free(m.v, m.n);
    }
}

struct desc_case {
    unsigned ops;
    const char *src;
    const char *want;
    int line;
};

static const struct desc_case desc_cases[] = {
    { AD_MUT_COMPARE, "\n\nif a == b:\n    pass\n", "compare: '==' -> '!=' at line 3", 3 },
    { AD_MUT_ARITH, "x = 1\ny = x + 2\n", "arith: '+' -> '-' at line 2", 2 },
    { AD_MUT_BOOL, "f = True\n", "bool: 'True' -> 'False' at line 1", 1 },
    { AD_MUT_DELETE, "def f():\n    return compute(x)  # why\n",
      "delete: 'return compute(x)  # why' at line 2 (replaced by pass)", 2 },
    { AD_MUT_DUPLICATE, "total = total + weights[index] * values[index] * 2\n",
      "duplicate: 'total = total + weights[index] * values[...' at line 1", 1 },
    { AD_MUT_SWAP, "a = 1\nb = 2\n", "swap: 'a = 1' <-> 'b = 2' at lines 1 and 2", 1 },
    { AD_MUT_COMPARE, "x = (a\n     is not b)\n", "compare: 'is not' -> 'is' at line 2", 2 },
    { AD_MUT_COMPARE, "x = (a is \n     not b)\n", "compare: 'is not' -> 'is' at line 1", 1 },
    { AD_MUT_COMPARE, "x = a not \\\n in b\n", "compare: 'not in' -> 'in' at line 1", 1 },
};

static void descriptions_and_lines(void **state)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(desc_cases); i++) {
        const struct desc_case *dc = &desc_cases[i];
        struct ad_err err = AD_ERR_INIT;
        struct mutants m;

        assert_int_equal(propose(dc->src, 1, 1, dc->ops, &m, &err), 0);
        assert_int_equal(m.n, 1);
        assert_string_equal(m.v[0].description, dc->want);
        assert_int_equal(m.v[0].line, dc->line);
        ad_mutants_free(m.v, m.n);
    }
    {
        struct ad_err err = AD_ERR_INIT;
        struct mutants m;

        assert_int_equal(propose("w = 0.5\n", 3, 10, AD_MUT_NUMBER, &m, &err), 0);
        for (size_t k = 0; k < m.n; k++)
            assert_int_equal(strncmp(m.v[k].description, "number: 0.5 -> ", 15), 0);
        ad_mutants_free(m.v, m.n);
    }
}

/* ---- a realistic skill -------------------------------------------------- */

static const char skill[] =
    "\"\"\"Ranks search results for a query.\n"
    "\n"
    "Scores mix text overlap (1.0), freshness (0.25) and clicks.\n"
    "\"\"\"\n"
    "import math\n"
    "from typing import Dict, List\n"
    "\n"
    "LIMIT = 10  # keep in sync with the UI\n"
    "\n"
    "\n"
    "def tokens(text: str) -> List[str]:\n"
    "    out = []\n"
    "    for word in text.lower().split():\n"
    "        word = word.strip(\".,;:!?'\\\"\")\n"
    "        if len(word) > 2 and word not in STOP:\n"
    "            out.append(word)\n"
    "    return out\n"
    "\n"
    "\n"
    "# EVOLVE-BLOCK-START\n"
    "def score(query: str, doc: Dict[str, object]) -> float:\n"
    "    q = set(tokens(query))\n"
    "    d = set(tokens(str(doc.get(\"title\", \"\"))))\n"
    "    if not q or not d:\n"
    "        return 0.0\n"
    "    overlap = len(q & d) / len(q)\n"
    "    age = float(doc.get(\"age_days\", 30))\n"
    "    fresh = math.exp(-age / 14.0)\n"
    "    clicks = int(doc.get(\"clicks\", 0))\n"
    "    total = 1.0 * overlap + 0.25 * fresh\n"
    "    total += math.log1p(clicks) * 0.1\n"
    "    if doc.get(\"pinned\") is True:\n"
    "        total *= 2\n"
    "    elif clicks == 0 and age >= 365:\n"
    "        total = total / 2\n"
    "    debug = f\"score={total:.3f} q={len(q)} d={len(d)}\"\n"
    "    return total\n"
    "\n"
    "\n"
    "def rank(query, docs, limit=LIMIT):\n"
    "    scored = [(score(query, d), i) for i, d in enumerate(docs)]\n"
    "    scored.sort(reverse=True)\n"
    "    picked = []\n"
    "    for s, i in scored:\n"
    "        if s <= 0.0:\n"
    "            continue\n"
    "        picked.append(docs[i])\n"
    "        if len(picked) >= limit:\n"
    "            break\n"
    "    return picked\n"
    "# EVOLVE-BLOCK-END\n"
    "\n"
    "\n"
    "STOP = {\"the\", \"and\", \"for\"}\n"
    "\n"
    "\n"
    "def main(argv):\n"
    "    total = 0\n"
    "    total = 0\n"
    "    return rank(argv[1], [{\"title\": a} for a in argv[2:]], limit=3)\n";

/* Lines 1..19 and 51..end lie outside the EVOLVE block. */
static void region_outside_never_changes(void **state)
{
    const char *start = strstr(skill, "# EVOLVE-BLOCK-START\n");
    const char *end = strstr(skill, "# EVOLVE-BLOCK-END\n");
    size_t head = (size_t)(start - skill), tail = strlen(end);
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;
    unsigned seen_ops = 0;

    assert_int_equal(propose(skill, 7, 1000, 0, &m, &err), 0);
    assert_true(m.n > 100);
    for (size_t k = 0; k < m.n; k++) {
        const char *code = m.v[k].code;
        size_t len = strlen(code);

        assert_true(len >= head + tail);
        assert_memory_equal(code, skill, head + strlen("# EVOLVE-BLOCK-START\n"));
        assert_string_equal(code + len - tail, end);
        assert_true(m.v[k].line > 20 && m.v[k].line < 51);
        seen_ops |= m.v[k].op;
    }
    assert_int_equal(seen_ops, AD_MUT_ALL);
    ad_mutants_free(m.v, m.n);
}

static void region_markers_only_in_comments(void **state)
{
    static const char src[] =
        "s = \"# EVOLVE-BLOCK-START\"\n"
        "x = 1\n"
        "t = '''\n# EVOLVE-BLOCK-END\n'''\n";
    static const char two[] =
        "a = 1\n"
        "# EVOLVE-BLOCK-START first\n"
        "b = 2\n"
        "#EVOLVE-BLOCK-END\n"
        "c = 3\n"
        "    # EVOLVE-BLOCK-START\n"
        "d = 4\n"
        "# EVOLVE-BLOCK-END\n"
        "e = 5\n";
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;

    /* No marker comments: the whole file is open to mutation. */
    assert_int_equal(propose(src, 1, 1000, AD_MUT_NUMBER, &m, &err), 0);
    assert_int_equal(m.n, 2);
    ad_mutants_free(m.v, m.n);
    /* Two blocks: only b and d ever change; no swap across a block boundary. */
    assert_int_equal(propose(two, 1, 1000, 0, &m, &err), 0);
    for (size_t k = 0; k < m.n; k++) {
        assert_true(m.v[k].line == 3 || m.v[k].line == 7);
        assert_int_equal(strncmp(m.v[k].code, "a = 1\n", 6), 0);
        assert_non_null(strstr(m.v[k].code, "\n#EVOLVE-BLOCK-END\nc = 3\n"));
        assert_int_not_equal(m.v[k].op, AD_MUT_SWAP);
    }
    assert_true(m.n >= 8);
    ad_mutants_free(m.v, m.n);
}

struct marker_case {
    const char *src;
    unsigned ops;
    int code;
    const char *msg;
};

#define TOKEN_OPS (AD_MUT_NUMBER | AD_MUT_COMPARE | AD_MUT_ARITH | AD_MUT_BOOL)

static const struct marker_case marker_cases[] = {
    { "# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-START\ny = 2\n# EVOLVE-BLOCK-END\n", 0,
      AD_EINVAL, "nested EVOLVE-BLOCK-START at line 3 (block open since line 1)" },
    { "x = 1\n# EVOLVE-BLOCK-START\ny = 2\n", 0, AD_EINVAL,
      "EVOLVE-BLOCK-START at line 2 is never closed" },
    { "x = 1\n\n# EVOLVE-BLOCK-END\n", 0, AD_EINVAL,
      "EVOLVE-BLOCK-END at line 3 without a start" },
    { "x = 1\n# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-END\ny = 2\n", 0, AD_ENOTFOUND,
      "no mutation sites in the EVOLVE blocks" },
    { "# just a comment\n\n", 0, AD_ENOTFOUND, "no mutation sites in the file" },
    { "", 0, AD_ENOTFOUND, "no mutation sites in the file" },
    { "s = 'x < 1 and True'  # 2 > 1 or False\n", TOKEN_OPS, AD_ENOTFOUND,
      "no mutation sites in the file" },
    { "import os\n", AD_MUT_SWAP, AD_ENOTFOUND, "no mutation sites in the file" },
    { "x = 1\n\ry = 2\n", 0, AD_EINVAL, "carriage return without a line feed at line 2 "
      "(only \\n and \\r\\n line ends are supported)" },
};

static void marker_errors(void **state)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(marker_cases); i++) {
        const struct marker_case *mc = &marker_cases[i];
        struct ad_err err = AD_ERR_INIT;
        struct mutants m;

        assert_int_equal(propose(mc->src, 1, 5, mc->ops, &m, &err), mc->code);
        assert_string_equal(err.msg, mc->msg);
        assert_null(m.v);
        assert_int_equal(m.n, 0);
    }
}

static void bad_options(void **state)
{
    struct ad_propose_opts o = { .seed = 1, .count = 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_mutant *v = (struct ad_mutant *)&o;
    size_t n = 99;

    assert_int_equal(ad_propose_mutants("x = 1\n", 6, &o, &v, &n, &err), AD_EINVAL);
    assert_string_equal(err.msg, "mutant count 0 is out of range 1..1000");
    assert_null(v);
    assert_int_equal(n, 0);
    o.count = 1001;
    assert_int_equal(ad_propose_mutants("x = 1\n", 6, &o, &v, &n, &err), AD_EINVAL);
    o.count = 1;
    o.ops = 1u << 9;
    assert_int_equal(ad_propose_mutants("x = 1\n", 6, &o, &v, &n, &err), AD_EINVAL);
    assert_string_equal(err.msg, "unknown mutation operator bits 0x200");
    o.ops = 0;
    assert_int_equal(ad_propose_mutants("x = 1\0y\n", 8, &o, &v, &n, &err), AD_EINVAL);
    assert_string_equal(err.msg, "source contains a nul byte at offset 5");
    o.path = "a\nb.py";
    assert_int_equal(ad_propose_mutants("x = 1\n", 6, &o, &v, &n, &err), AD_EINVAL);
    assert_int_equal(ad_propose_mutants("x = 1\n", 6, NULL, &v, &n, &err), AD_EINVAL);
}

static void count_cap_and_path(void **state)
{
    struct ad_propose_opts o = { .seed = 5, .count = 3, .path = "skills/rank.py" };
    struct ad_err err = AD_ERR_INIT;
    struct ad_mutant *v;
    size_t n;

    assert_int_equal(ad_propose_mutants(skill, strlen(skill), &o, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    for (size_t k = 0; k < n; k++) {
        char *got = apply_own(skill, v[k].edit, "skills/rank.py");

        assert_string_equal(got, v[k].code);
        free(got);
    }
    ad_mutants_free(v, n);
    ad_mutants_free(NULL, 0);
}

/* Same seed: the same mutants byte for byte; another seed: another order. */
static void deterministic_by_seed(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct mutants a, b, c;
    int differ = 0;

    assert_int_equal(propose(skill, 11, 50, 0, &a, &err), 0);
    assert_int_equal(propose(skill, 11, 50, 0, &b, &err), 0);
    assert_int_equal(propose(skill, 12, 50, 0, &c, &err), 0);
    assert_int_equal(a.n, 50);
    assert_int_equal(b.n, 50);
    assert_int_equal(c.n, 50);
    for (size_t k = 0; k < a.n; k++) {
        assert_int_equal(a.v[k].op, b.v[k].op);
        assert_int_equal(a.v[k].line, b.v[k].line);
        assert_string_equal(a.v[k].description, b.v[k].description);
        assert_string_equal(a.v[k].edit, b.v[k].edit);
        assert_string_equal(a.v[k].code, b.v[k].code);
        differ |= strcmp(a.v[k].code, c.v[k].code) != 0;
    }
    assert_true(differ);
    ad_mutants_free(a.v, a.n);
    ad_mutants_free(b.v, b.n);
    ad_mutants_free(c.v, c.n);
}

/* Every mutant differs from the source and from every other mutant. */
static void mutants_are_distinct(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;
    unsigned counts[8] = { 0 };

    assert_int_equal(propose(skill, 3, 1000, 0, &m, &err), 0);
    for (size_t k = 0; k < m.n; k++) {
        assert_string_not_equal(m.v[k].code, skill);
        for (size_t j = 0; j < k; j++)
            assert_string_not_equal(m.v[k].code, m.v[j].code);
        for (unsigned b = 0; b < 7; b++)
            counts[b] += m.v[k].op == (1u << b);
    }
    /* The block offers far fewer than 1000: all of them, each operator present. */
    assert_true(m.n < 1000);
    for (unsigned b = 0; b < 7; b++)
        assert_true(counts[b] > 0);
    ad_mutants_free(m.v, m.n);
}

/* The first mutants spread over the operators rather than following site counts. */
static void operators_share_the_first_picks(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;
    unsigned seen_ops = 0;

    assert_int_equal(propose(skill, 99, 21, 0, &m, &err), 0);
    for (size_t k = 0; k < m.n; k++)
        seen_ops |= m.v[k].op;
    assert_true(__builtin_popcount(seen_ops) >= 5);
    ad_mutants_free(m.v, m.n);
}

/* Whatever the seed, the edit turns the source into the mutant exactly. */
static void edits_apply_to_the_source(void **state)
{
    static const char *const paths[] = { NULL, "skills/rank.py" };
    const char *no_markers = strstr(skill, "import math");

    for (uint64_t seed = 0; seed < 4; seed++) {
        const char *src = seed % 2 ? skill : no_markers;
        struct ad_propose_opts o = { .seed = seed, .count = 1000, .path = paths[seed % 2] };
        struct ad_err err = AD_ERR_INIT;
        struct ad_mutant *v;
        size_t n;

        assert_int_equal(ad_propose_mutants(src, strlen(src), &o, &v, &n, &err), 0);
        assert_true(n > 100);
        for (size_t k = 0; k < n; k++) {
            char *got = apply_own(src, v[k].edit, o.path ? o.path : "skill.py");

            assert_string_equal(got, v[k].code);
            free(got);
            assert_edit_module_applies(src, &v[k]);
        }
        ad_mutants_free(v, n);
    }
}

/* Repeated lines force the search part to grow until it is unique. */
static void edits_widen_until_unique(void **state)
{
    static const char src[] =
        "def a():\n    x = 1\n    return x\n\n"
        "def b():\n    x = 1\n    return x\n\n"
        "def c():\n    x = 1\n    return x\n";
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;

    assert_int_equal(propose(src, 1, 1000, AD_MUT_NUMBER, &m, &err), 0);
    assert_int_equal(m.n, 6);
    for (size_t k = 0; k < m.n; k++) {
        char *got = apply_own(src, m.v[k].edit, "skill.py");

        assert_string_equal(got, m.v[k].code);
        assert_non_null(strstr(m.v[k].edit, "def "));
        free(got);
        assert_edit_module_applies(src, &m.v[k]);
    }
    ad_mutants_free(m.v, m.n);
}

/* Code that repeats itself everywhere has no unique search: nothing to hand back. */
static void repetitive_code_has_no_edit(void **state)
{
    struct ad_buf src = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;

    for (int i = 0; i < 200; i++)
        assert_int_equal(ad_buf_adds(&src, "x = 1\n"), 0);
    assert_int_equal(propose(src.ptr, 1, 10, 0, &m, &err), AD_ENOTFOUND);
    assert_string_equal(err.msg, "no mutation in the file can be written as an edit (no unique "
                        "search within 60 lines, or a line that reads as a marker)");
    assert_null(m.v);
    /* One different line makes its neighbourhood unique again. */
    assert_int_equal(ad_buf_adds(&src, "y = 2\n"), 0);
    assert_int_equal(propose(src.ptr, 1, 1000, AD_MUT_NUMBER, &m, &err), 0);
    assert_true(m.n >= 2);
    for (size_t k = 0; k < m.n; k++) {
        char *got = apply_own(src.ptr, m.v[k].edit, "skill.py");

        assert_string_equal(got, m.v[k].code);
        free(got);
        assert_edit_module_applies(src.ptr, &m.v[k]);
    }
    ad_mutants_free(m.v, m.n);
    ad_buf_release(&src);
}

/* A line that looks like an edit marker cannot travel in a block: skipped. */
static void marker_lines_are_skipped(void **state)
{
    static const char src[] = "s = '''\n=======\n'''\nx = 1\n";
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;

    /* Deleting, duplicating or swapping s would carry the '=======' line. */
    assert_int_equal(propose(src, 1, 1000, 0, &m, &err), 0);
    assert_int_equal(m.n, 4);
    for (size_t k = 0; k < m.n; k++) {
        assert_true(m.v[k].op != AD_MUT_SWAP);
        assert_int_equal(m.v[k].line, 4);
        assert_null(strstr(m.v[k].edit, "=======\n=======\n"));
    }
    ad_mutants_free(m.v, m.n);
}

/* ---- the mutants are still Python ---------------------------------------- */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(text);

    if (!f)
        return -1;
    if (fwrite(text, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

/*
 * Writes each mutant to a temp dir and has CPython's own parser read them
 * all: statement operators must keep blocks non-empty and indentation
 * right, token operators must keep literals and operators valid.
 */
static void mutants_parse_as_python(void **state)
{
    static const char script[] =
        "import ast, glob, sys\n"
        "bad = 0\n"
        "for p in sorted(glob.glob(sys.argv[1] + '/*.py')):\n"
        "    try:\n"
        "        ast.parse(open(p, encoding='utf-8').read())\n"
        "    except SyntaxError as e:\n"
        "        bad += 1\n"
        "        print('not python:', p, e, file=sys.stderr)\n"
        "sys.exit(1 if bad else 0)\n";
    char dir[] = "/tmp/ad-propose-XXXXXX", path[512], cmd[1024];
    struct ad_err err = AD_ERR_INIT;
    struct mutants m;
    int status;

    if (access(PYTHON, X_OK) != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/check.pyscript", dir);
    assert_int_equal(write_file(path, script), 0);
    snprintf(path, sizeof(path), "%s/orig.py", dir);
    assert_int_equal(write_file(path, skill), 0);
    assert_int_equal(propose(skill, 2024, 1000, 0, &m, &err), 0);
    for (size_t k = 0; k < m.n; k++) {
        snprintf(path, sizeof(path), "%s/m%04zu.py", dir, k);
        assert_int_equal(write_file(path, m.v[k].code), 0);
    }
    snprintf(cmd, sizeof(cmd), PYTHON " %s/check.pyscript %s", dir, dir);
    status = system(cmd);
    for (size_t k = 0; k < m.n; k++) {
        snprintf(path, sizeof(path), "%s/m%04zu.py", dir, k);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/orig.py", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/check.pyscript", dir);
    unlink(path);
    rmdir(dir);
    ad_mutants_free(m.v, m.n);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void op_names(void **state)
{
    static const struct { enum ad_mutation_op op; const char *name; } names[] = {
        { AD_MUT_NUMBER, "number" }, { AD_MUT_COMPARE, "compare" }, { AD_MUT_ARITH, "arith" },
        { AD_MUT_BOOL, "bool" }, { AD_MUT_DELETE, "delete" },
        { AD_MUT_DUPLICATE, "duplicate" }, { AD_MUT_SWAP, "swap" },
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++)
        assert_string_equal(ad_mutation_op_name(names[i].op), names[i].name);
    assert_string_equal(ad_mutation_op_name((enum ad_mutation_op)(1 << 12)), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokenizer_table),
        cmocka_unit_test(tokenizer_lines_and_depth),
        cmocka_unit_test(operators_table),
        cmocka_unit_test(descriptions_and_lines),
        cmocka_unit_test(region_outside_never_changes),
        cmocka_unit_test(region_markers_only_in_comments),
        cmocka_unit_test(marker_errors),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(count_cap_and_path),
        cmocka_unit_test(deterministic_by_seed),
        cmocka_unit_test(mutants_are_distinct),
        cmocka_unit_test(operators_share_the_first_picks),
        cmocka_unit_test(edits_apply_to_the_source),
        cmocka_unit_test(edits_widen_until_unique),
        cmocka_unit_test(repetitive_code_has_no_edit),
        cmocka_unit_test(marker_lines_are_skipped),
        cmocka_unit_test(mutants_parse_as_python),
        cmocka_unit_test(op_names),
    };

    return cmocka_run_group_tests_name("propose", tests, NULL, NULL);
}
