/*
 * Unit tests for the pure parts of skill.h: the two name forms, versions,
 * input schemas read from signatures, docstrings, SKILL.md and the Agent
 * Skills folder.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/skill_py.h"
#include "autodev/buf.h"
#include "autodev/skill.h"

/* ---- helpers ------------------------------------------------------------ */

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    assert_non_null(s);
    return s;
}

static void assert_json(const json_t *v, const char *want)
{
    char *s = dump(v);

    if (strcmp(s, want) != 0)
        fail_msg("json:\n got  %s\n want %s", s, want);
    free(s);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        fail_msg("bad test json %s: %s", text, e.text);
    return v;
}

static void assert_msg_has(const struct ad_err *err, const char *part)
{
    if (!strstr(err->msg, part))
        fail_msg("error '%s' does not mention '%s'", err->msg, part);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_tmp(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/ad-test-skill-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct ad_buf b = AD_BUF_INIT;
    char chunk[4096];
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(ad_buf_add(&b, chunk, n), 0);
    fclose(f);
    return ad_buf_detach(&b, NULL);
}

/* ---- names -------------------------------------------------------------- */

static void agentskills_names(void **state)
{
    static const char *const good[] = {
        "a", "word-count", "pdf2text", "a-b-c", "0", "x1-y2",
        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
    };
    static const char *const bad[] = {
        "", "-a", "a-", "a--b", "Word-count", "word_count", "word count", "wörd",
        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345", "a/b", "a.b",
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(good); i++)
        assert_true(ad_agentskills_name_valid(good[i]));
    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++)
        if (ad_agentskills_name_valid(bad[i]))
            fail_msg("'%s' taken as a valid agent skills name", bad[i]);
    assert_false(ad_agentskills_name_valid(NULL));
}

static void name_mapping(void **state)
{
    static const struct {
        const char *catalog, *agent;
    } pairs[] = {
        { "word_count", "word-count" }, { "a", "a" }, { "pdf_to_text_2", "pdf-to-text-2" },
        { "x9", "x9" },
    };
    struct ad_err err = AD_ERR_INIT;
    char out[80];

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(pairs); i++) {
        assert_int_equal(ad_skill_name_to_agentskills(pairs[i].catalog, out, sizeof(out), &err),
                         0);
        assert_string_equal(out, pairs[i].agent);
        assert_true(ad_agentskills_name_valid(out));
        assert_int_equal(ad_skill_name_from_agentskills(pairs[i].agent, out, sizeof(out), &err),
                         0);
        assert_string_equal(out, pairs[i].catalog);
        assert_true(ad_skill_name_valid(out));
    }
    /* Each form refuses the other's separator and says which rule broke. */
    assert_int_equal(ad_skill_name_to_agentskills("word-count", out, sizeof(out), &err),
                     AD_EINVAL);
    assert_msg_has(&err, "only a-z, 0-9 and '_'");
    assert_int_equal(ad_skill_name_from_agentskills("word_count", out, sizeof(out), &err),
                     AD_EINVAL);
    assert_msg_has(&err, "only a-z, 0-9 and '-'");
    assert_int_equal(ad_skill_name_to_agentskills("a__b", out, sizeof(out), &err), AD_EINVAL);
    assert_msg_has(&err, "__");
    assert_int_equal(ad_skill_name_from_agentskills("a--b", out, sizeof(out), &err), AD_EINVAL);
    assert_msg_has(&err, "--");
    assert_int_equal(ad_skill_name_from_agentskills("-ab", out, sizeof(out), &err), AD_EINVAL);
    assert_msg_has(&err, "starts or ends");
    assert_int_equal(ad_skill_name_to_agentskills("_ab", out, sizeof(out), &err), AD_EINVAL);
    assert_int_equal(ad_skill_name_from_agentskills("", out, sizeof(out), &err), AD_EINVAL);
    assert_msg_has(&err, "empty");
    assert_int_equal(ad_skill_name_to_agentskills(NULL, out, sizeof(out), &err), AD_EINVAL);
    assert_int_equal(ad_skill_name_from_agentskills(NULL, out, sizeof(out), &err), AD_EINVAL);
    /* out needs strlen + 1 bytes, no fewer. */
    assert_int_equal(ad_skill_name_to_agentskills("abc", out, 4, &err), 0);
    assert_int_equal(ad_skill_name_to_agentskills("abc", out, 3, &err), AD_ETOOBIG);
    assert_int_equal(ad_skill_name_from_agentskills("abc", out, 3, &err), AD_ETOOBIG);
}

/* Every valid name of each form maps to a valid name of the other, and back. */
static void name_mapping_is_a_bijection(void **state)
{
    static const char alphabet[] = "ab1_-";
    struct ad_err err = AD_ERR_INIT;
    char name[5], out[5], back[5];

    (void)state;
    for (int n = 1; n <= 4; n++) {
        int total = 1;

        for (int k = 0; k < n; k++)
            total *= 5;
        for (int code = 0; code < total; code++) {
            int c = code;

            for (int k = 0; k < n; k++, c /= 5)
                name[k] = alphabet[c % 5];
            name[n] = '\0';
            if (ad_skill_name_valid(name)) {
                assert_int_equal(ad_skill_name_to_agentskills(name, out, sizeof(out), &err), 0);
                assert_true(ad_agentskills_name_valid(out));
                assert_int_equal(ad_skill_name_from_agentskills(out, back, sizeof(back), &err),
                                 0);
                assert_string_equal(back, name);
            }
            if (ad_agentskills_name_valid(name)) {
                assert_int_equal(ad_skill_name_from_agentskills(name, out, sizeof(out), &err),
                                 0);
                assert_true(ad_skill_name_valid(out));
            } else {
                assert_int_equal(ad_skill_name_from_agentskills(name, out, sizeof(out), &err),
                                 AD_EINVAL);
            }
        }
    }
}

/* ---- versions ----------------------------------------------------------- */

static void semver_parse_format(void **state)
{
    static const char *const bad[] = {
        "", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.x", "-1.2.3", "1.2.3-rc1",
        " 1.2.3", "1..3", "2147483648.0.0", "v1.2.3",
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_semver v;
    char out[AD_SEMVER_SIZE];

    (void)state;
    assert_int_equal(ad_semver_parse("1.22.333", &v, &err), 0);
    assert_int_equal(v.major, 1);
    assert_int_equal(v.minor, 22);
    assert_int_equal(v.patch, 333);
    ad_semver_format(&v, out);
    assert_string_equal(out, "1.22.333");
    assert_int_equal(ad_semver_parse("0.0.0", &v, &err), 0);
    assert_int_equal(ad_semver_parse("2147483647.0.1", &v, &err), 0);
    assert_int_equal(v.major, 2147483647u);
    ad_semver_format(&v, out);
    assert_string_equal(out, "2147483647.0.1");
    for (size_t i = 0; i < AD_ARRAY_SIZE(bad); i++) {
        if (ad_semver_parse(bad[i], &v, &err) != AD_EINVAL)
            fail_msg("'%s' parsed as a version", bad[i]);
        assert_msg_has(&err, "MAJOR.MINOR.PATCH");
    }
    assert_int_equal(ad_semver_parse(NULL, &v, &err), AD_EINVAL);
}

static void semver_cmp_bump(void **state)
{
    static const char *const order[] = {
        "0.0.0", "0.0.1", "0.0.10", "0.1.0", "0.9.9", "0.10.0", "1.0.0", "1.0.2", "2.0.0",
        "10.0.0",
    };
    struct ad_semver a, b;
    char out[AD_SEMVER_SIZE];

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(order); i++) {
        for (size_t j = 0; j < AD_ARRAY_SIZE(order); j++) {
            int c;

            assert_int_equal(ad_semver_parse(order[i], &a, NULL), 0);
            assert_int_equal(ad_semver_parse(order[j], &b, NULL), 0);
            c = ad_semver_cmp(&a, &b);
            assert_true(i < j ? c < 0 : i > j ? c > 0 : c == 0);
        }
    }
    assert_int_equal(ad_semver_parse("1.2.3", &a, NULL), 0);
    b = a;
    ad_semver_bump(&b, AD_BUMP_MINOR);
    ad_semver_format(&b, out);
    assert_string_equal(out, "1.3.0");
    b = a;
    ad_semver_bump(&b, AD_BUMP_MAJOR);
    ad_semver_format(&b, out);
    assert_string_equal(out, "2.0.0");
    b = a;
    ad_semver_bump(&b, AD_BUMP_PATCH);
    ad_semver_format(&b, out);
    assert_string_equal(out, "1.2.4");
    assert_true(ad_semver_cmp(&b, &a) > 0);
}

/* ---- schemas ------------------------------------------------------------ */

#define OBJ(props, req) \
    "{\"type\":\"object\",\"properties\":{" props "},\"required\":[" req "]," \
    "\"additionalProperties\":false}"
#define OBJ_OPEN(props, req) \
    "{\"type\":\"object\",\"properties\":{" props "},\"required\":[" req "]," \
    "\"additionalProperties\":true}"

static const struct {
    const char *what, *code, *entry, *want;
} schema_cases[] = {
    { "untyped", "def f(a, b):\n    return a\n", "f",
      OBJ("\"a\":{},\"b\":{}", "\"a\",\"b\"") },
    { "scalars and defaults",
      "def f(text: str, n: int = 3, ratio: float = 0.5, flag: bool = True):\n    pass\n", "f",
      OBJ("\"text\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\",\"default\":3},"
          "\"ratio\":{\"type\":\"number\",\"default\":0.5},"
          "\"flag\":{\"type\":\"boolean\",\"default\":true}", "\"text\"") },
    { "optional", "def f(x: Optional[int] = None, y: typing.Optional[str] = None): pass\n", "f",
      OBJ("\"x\":{\"type\":[\"integer\",\"null\"],\"default\":null},"
          "\"y\":{\"type\":[\"string\",\"null\"],\"default\":null}", "") },
    { "pipe unions", "def f(x: int | None, y: str | int, z: None | list[str]): pass\n", "f",
      OBJ("\"x\":{\"type\":[\"integer\",\"null\"]},\"y\":{\"type\":[\"string\",\"integer\"]},"
          "\"z\":{\"type\":[\"array\",\"null\"],\"items\":{\"type\":\"string\"}}",
          "\"x\",\"y\",\"z\"") },
    { "Union", "def f(x: Union[int, None], v: Union[int, List[str]], w: Union[int, Any]): pass\n",
      "f",
      OBJ("\"x\":{\"type\":[\"integer\",\"null\"]},"
          "\"v\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"array\",\"items\":"
          "{\"type\":\"string\"}}]},\"w\":{}", "\"x\",\"v\",\"w\"") },
    { "arrays",
      "def f(a: list, b: List[int], c: list[str], d: Sequence[float], e: tuple,\n"
      "      g: Tuple[int, ...], h: tuple[int, str], i: set[str], j: typing.List[bool]): pass\n",
      "f",
      OBJ("\"a\":{\"type\":\"array\"},\"b\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
          "\"c\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
          "\"d\":{\"type\":\"array\",\"items\":{\"type\":\"number\"}},\"e\":{\"type\":\"array\"},"
          "\"g\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
          "\"h\":{\"type\":\"array\"},\"i\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
          "\"j\":{\"type\":\"array\",\"items\":{\"type\":\"boolean\"}}",
          "\"a\",\"b\",\"c\",\"d\",\"e\",\"g\",\"h\",\"i\",\"j\"") },
    { "objects",
      "def f(a: dict, b: Dict[str, int], c: Mapping[str, Any], d: typing.Dict[str, list[int]]):\n"
      "    pass\n", "f",
      OBJ("\"a\":{\"type\":\"object\"},"
          "\"b\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}},"
          "\"c\":{\"type\":\"object\"},\"d\":{\"type\":\"object\",\"additionalProperties\":"
          "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}",
          "\"a\",\"b\",\"c\",\"d\"") },
    { "Literal", "def f(n: Literal[1, 2, -3], mode: Literal['a', \"b\"] = 'a'): pass\n", "f",
      OBJ("\"n\":{\"enum\":[1,2,-3]},\"mode\":{\"enum\":[\"a\",\"b\"],\"default\":\"a\"}",
          "\"n\"") },
    { "Optional Literal", "def f(m: Optional[Literal['x', 'y']] = None): pass\n", "f",
      OBJ("\"m\":{\"enum\":[\"x\",\"y\",null],\"default\":null}", "") },
    { "unknown types",
      "def f(a: Any, b: MyClass, c: np.ndarray, d: 'Forward', e: None, g: object,\n"
      "      h: Callable[[int], str], i: 3 + 4): pass\n", "f",
      OBJ("\"a\":{},\"b\":{},\"c\":{},\"d\":{},\"e\":{\"type\":\"null\"},\"g\":{},\"h\":{},"
          "\"i\":{}", "\"a\",\"b\",\"c\",\"d\",\"e\",\"g\",\"h\",\"i\"") },
    { "args and kwargs", "def f(a, *args, b=1, **kwargs):\n    pass\n", "f",
      OBJ_OPEN("\"a\":{},\"b\":{\"default\":1}", "\"a\"") },
    { "annotated star params", "def f(*args: int, **kw: str): pass\n", "f", OBJ_OPEN("", "") },
    { "keyword-only", "def f(a, *, b: int, c: str = \"x\"): pass\n", "f",
      OBJ("\"a\":{},\"b\":{\"type\":\"integer\"},\"c\":{\"type\":\"string\",\"default\":\"x\"}",
          "\"a\",\"b\"") },
    { "positional-only", "def f(a, b, /, c): pass\n", "f",
      OBJ("\"a\":{},\"b\":{},\"c\":{}", "\"a\",\"b\",\"c\"") },
    { "self", "def f(self, x: int): pass\n", "f", OBJ("\"x\":{\"type\":\"integer\"}", "\"x\"") },
    { "decorators", "@decorator\n@other(arg=1)\ndef f(x: int) -> int:\n    return x\n", "f",
      OBJ("\"x\":{\"type\":\"integer\"}", "\"x\"") },
    { "multi-line signature",
      "import typing\n\ndef f(\n    a: int,\n    # the greeting\n    b: str = 'hi',  # trailing\n"
      "    c: Dict[\n        str,\n        int\n    ] = {},\n) -> dict:\n    return {}\n", "f",
      OBJ("\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\",\"default\":\"hi\"},"
          "\"c\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"},"
          "\"default\":{}}", "\"a\"") },
    { "async def", "async def f(url: str, timeout: float = 10):\n    pass\n", "f",
      OBJ("\"url\":{\"type\":\"string\"},\"timeout\":{\"type\":\"number\",\"default\":10}",
          "\"url\"") },
    { "constant defaults",
      "def f(a=[1, [2, 3]], b={'k': (1, 2)}, c=(), d=(1,), e=-5, g=0x1F, h=1_000, i=1e3,\n"
      "      j=None, k='a\\n\\u00e9', l=r'\\d+', m=foo(1, 2), n={1, 2}, o=lambda x: x,\n"
      "      p=(7), q='ab' 'cd', r=b'x', s=f'{a}', t=1j, u=0o17, v=-0.5):\n    pass\n", "f",
      OBJ("\"a\":{\"default\":[1,[2,3]]},\"b\":{\"default\":{\"k\":[1,2]}},"
          "\"c\":{\"default\":[]},\"d\":{\"default\":[1]},\"e\":{\"default\":-5},"
          "\"g\":{\"default\":31},\"h\":{\"default\":1000},\"i\":{\"default\":1000.0},"
          "\"j\":{\"default\":null},\"k\":{\"default\":\"a\\n\xc3\xa9\"},"
          "\"l\":{\"default\":\"\\\\d+\"},\"m\":{},\"n\":{},\"o\":{},\"p\":{\"default\":7},"
          "\"q\":{\"default\":\"abcd\"},\"r\":{},\"s\":{},\"t\":{},\"u\":{\"default\":15},"
          "\"v\":{\"default\":-0.5}", "") },
    { "implicit optional", "def f(n: int = None, s: str = 'x'): pass\n", "f",
      OBJ("\"n\":{\"type\":[\"integer\",\"null\"],\"default\":null},"
          "\"s\":{\"type\":\"string\",\"default\":\"x\"}", "") },
    { "Annotated",
      "def f(x: Annotated[int, 'meta'],\n"
      "      y: typing.Annotated[list[str], Field(min_length=1)] = []):\n    pass\n", "f",
      OBJ("\"x\":{\"type\":\"integer\"},\"y\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
          "\"default\":[]}", "\"x\"") },
    { "no parameters", "def f():\n    return 1\n", "f", OBJ("", "") },
    { "trailing comma", "def f(a, b=2,):\n    pass\n", "f",
      OBJ("\"a\":{},\"b\":{\"default\":2}", "\"a\"") },
    { "class and string defs ignored",
      "class A:\n    def f(self, wrong: int): pass\n\n"
      "s = \"\"\"\ndef f(wrong2: int): pass\n\"\"\"\n"
      "# def f(wrong3): pass\ndef g():\n    def f(wrong4): pass\n\ndef f(right: str):\n"
      "    pass\n", "f",
      OBJ("\"right\":{\"type\":\"string\"}", "\"right\"") },
    { "last definition wins", "def f(a): pass\ndef f(b): pass\n", "f",
      OBJ("\"b\":{}", "\"b\"") },
    { "BOM and CRLF", "\xef\xbb\xbf" "def f(a: int,\r\n      b: str):\r\n    return a\r\n", "f",
      OBJ("\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"}", "\"a\",\"b\"") },
    { "other entry", "def helper(x): pass\ndef main(y: bool = False): pass\n", "main",
      OBJ("\"y\":{\"type\":\"boolean\",\"default\":false}", "") },
};

static void schema_derivation(void **state)
{
    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(schema_cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        json_t *schema = NULL;
        const char *code = schema_cases[i].code;
        char *got;
        int rc = ad_skill_schema_derive(code, strlen(code), schema_cases[i].entry, &schema, &err);

        if (rc != 0)
            fail_msg("%s: rc %d: %s", schema_cases[i].what, rc, err.msg);
        assert_int_equal(ad_skill_schema_check(schema, &err), 0);
        got = dump(schema);
        if (strcmp(got, schema_cases[i].want) != 0)
            fail_msg("%s:\n got  %s\n want %s", schema_cases[i].what, got, schema_cases[i].want);
        free(got);
        json_decref(schema);
    }
}

static void schema_derivation_refusals(void **state)
{
    static const struct {
        const char *code;
        int rc;
        const char *msg;
    } cases[] = {
        { "x = 1\n", AD_ENOTFOUND, "no top-level function 'f'" },
        { "", AD_ENOTFOUND, "no top-level function" },
        { "class A:\n    def f(self): pass\n", AD_ENOTFOUND, "'f'" },
        { "s = '''\ndef f(): pass\n'''\n", AD_ENOTFOUND, "'f'" },
        { "def g():\n    def f(): pass\n", AD_ENOTFOUND, "'f'" },
        { "# def f(): pass\n", AD_ENOTFOUND, "'f'" },
        { "def fx(a): pass\n", AD_ENOTFOUND, "'f'" },
        { "if True:\n    def f(a): pass\n", AD_ENOTFOUND, "'f'" },
        { "def f:\n    pass\n", AD_EINVAL, "line 1: 'def f' is not followed by '('" },
        { "\n\ndef f(a, b\n", AD_EINVAL, "line 3: the parameter list of 'f' is not closed" },
        { "def f(a]: pass\n", AD_EINVAL, "not closed" },
        { "def f(a) pass\n", AD_EINVAL, "no ':' after the signature" },
        { "def f(a b): pass\n", AD_EINVAL, "cannot read parameter 'a b'" },
        { "def f(a, a): pass\n", AD_EINVAL, "duplicate parameter 'a'" },
        { "def f(,): pass\n", AD_EINVAL, "empty parameter" },
        { "def f(a,,b): pass\n", AD_EINVAL, "empty parameter" },
        { "def f(a=): pass\n", AD_EINVAL, "cannot read parameter 'a='" },
        { "def f(a:): pass\n", AD_EINVAL, "cannot read parameter 'a:'" },
        { "def f(a: = 1): pass\n", AD_EINVAL, "cannot read parameter" },
        { "def f(**): pass\n", AD_EINVAL, "cannot read parameter '**'" },
        { "def f(*a b): pass\n", AD_EINVAL, "cannot read parameter" },
        { "def f(1): pass\n", AD_EINVAL, "cannot read parameter '1'" },
        { "def f(\n  x,\n  (y)): pass\n", AD_EINVAL, "line 3: cannot read parameter '(y)'" },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        json_t *schema = (json_t *)1;
        int rc = ad_skill_schema_derive(cases[i].code, strlen(cases[i].code), "f", &schema, &err);

        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d (%s)", i, cases[i].code, rc, cases[i].rc,
                     err.msg);
        assert_null(schema);
        assert_msg_has(&err, cases[i].msg);
    }
    {
        struct ad_err err = AD_ERR_INIT;
        json_t *schema = NULL;

        assert_int_equal(ad_skill_schema_derive("def f(): pass", 13, "", &schema, &err),
                         AD_EINVAL);
        assert_int_equal(ad_skill_schema_derive(NULL, 0, "f", &schema, &err), AD_EINVAL);
        assert_null(schema);
    }
}

/* Deep nesting is read to a bound, not recursed into without end. */
static void schema_deep_nesting(void **state)
{
    struct ad_buf code = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    json_t *schema = NULL;

    (void)state;
    assert_int_equal(ad_buf_adds(&code, "def f(a: "), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(ad_buf_adds(&code, "List["), 0);
    assert_int_equal(ad_buf_adds(&code, "int"), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(ad_buf_adds(&code, "]"), 0);
    assert_int_equal(ad_buf_adds(&code, ", b="), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(ad_buf_adds(&code, "["), 0);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(ad_buf_adds(&code, "]"), 0);
    assert_int_equal(ad_buf_adds(&code, "): pass\n"), 0);
    assert_int_equal(ad_skill_schema_derive(code.ptr, code.len, "f", &schema, &err), 0);
    assert_json(schema, OBJ("\"a\":{},\"b\":{}", "\"a\""));
    json_decref(schema);
    ad_buf_release(&code);
}

static void schema_check(void **state)
{
    static const struct {
        const char *json;
        const char *msg;   /* NULL: valid */
    } cases[] = {
        { "{\"type\":\"object\"}", NULL },
        { "{\"type\":\"object\",\"properties\":{\"a\":{}},\"required\":[\"a\"]}", NULL },
        { "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":true}", NULL },
        { "[]", "not a JSON object" },
        { "{}", "\"type\" must be \"object\"" },
        { "{\"type\":\"array\"}", "\"type\" must be \"object\"" },
        { "{\"type\":[\"object\"]}", "\"type\" must be \"object\"" },
        { "{\"type\":\"object\",\"properties\":[]}", "\"properties\" must be an object" },
        { "{\"type\":\"object\",\"properties\":{\"a\":1}}", "property 'a' is not an object" },
        { "{\"type\":\"object\",\"required\":\"a\"}", "\"required\" must be an array" },
        { "{\"type\":\"object\",\"required\":[\"a\",2]}", "\"required\"[1] is not a string" },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        json_t *v = load(cases[i].json);
        int rc = ad_skill_schema_check(v, &err);

        if (!cases[i].msg) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, AD_EINVAL);
            assert_msg_has(&err, cases[i].msg);
        }
        json_decref(v);
    }
    assert_int_equal(ad_skill_schema_check(NULL, NULL), AD_EINVAL);
}

/* ---- docstrings --------------------------------------------------------- */

/*
 * The input of a run against the schema derived from the entry's
 * signature, decided the way the harness passes it: keywords when the
 * keys fit, else the one argument.
 */
static void input_check(void **state)
{
    static const struct {
        const char *sig;     /* the entry's parameters */
        const char *input;   /* NULL: no input */
        const char *err;     /* NULL: accepted; else a part of the message */
    } cases[] = {
        { "text: str", "{\"text\": \"a b\"}", NULL },
        { "text: str", "{\"txt\": \"a b\"}", "unknown field 'txt' (expected text)" },
        { "text: str", "\"a b\"", NULL },
        { "text: str", "3", "field 'text': expected string, got an integer" },
        { "text: str", NULL, "missing field 'text'" },
        { "text: str", "{\"text\": 3}", "field 'text': expected string, got an integer" },
        { "text: str, sep: str = ' '", "{\"text\": \"a\", \"sep\": \",\"}", NULL },
        { "text: str, sep: str = ' '", "{\"text\": \"a\", \"sp\": 1}",
          "unknown field 'sp' (expected text or sep)" },
        { "a: int, b: int", "{\"a\": 1}", "missing field 'b'" },
        { "a: int, b: int", "{\"a\": 1, \"b\": 2.0}", NULL },
        { "a: int, b: int", "{\"a\": 1, \"b\": 2.5}", "field 'b': expected integer" },
        { "x: float", "{\"x\": 1}", NULL },
        { "data: dict", "{\"k\": 1, \"j\": 2}", NULL },
        { "data: dict", "[1]", "field 'data': expected object, got an array" },
        { "xs: list[int]", "{\"xs\": [1, \"2\"]}", "field 'xs[1]': expected integer, got a string" },
        { "xs: list[int]", "[1, 2]", NULL },
        { "x: Optional[int]", NULL, NULL },
        { "x: Optional[int]", "{\"x\": null}", NULL },
        { "x: int = 3", NULL, NULL },
        { "mode: Literal['a', 'b']", "{\"mode\": \"c\"}", "field 'mode': expected one of" },
        { "mode: Literal['a', 'b']", "{\"mode\": \"b\"}", NULL },
        { "", NULL, NULL },
        { "", "{\"a\": 1}", "unknown field 'a' (expected no field)" },
        { "", "5", "the function takes no argument, got an integer" },
        { "text: str, **kw", "{\"text\": \"a\", \"other\": 1}", NULL },
        { "m: dict[str, int]", "{\"m\": {\"a\": \"x\"}}", "field 'm.a': expected integer" },
        { "x", "{\"y\": {\"z\": 1}}", NULL },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        struct ad_buf code = AD_BUF_INIT;
        json_t *schema = NULL, *in = cases[i].input ? json_loads(cases[i].input, JSON_DECODE_ANY, NULL) : NULL;
        int rc;

        assert_int_equal(ad_buf_addf(&code, "def f(%s):\n    return 1\n", cases[i].sig), 0);
        rc = ad_skill_schema_derive(code.ptr, code.len, "f", &schema, &err);
        if (rc != 0)
            fail_msg("f(%s): %s", cases[i].sig, err.msg);
        rc = ad_skill_input_check(schema, in, &err);
        if (!cases[i].err && rc != 0)
            fail_msg("f(%s) refused %s: %s", cases[i].sig, cases[i].input, err.msg);
        if (cases[i].err) {
            if (rc != AD_EINVAL)
                fail_msg("f(%s) took %s", cases[i].sig, cases[i].input);
            assert_msg_has(&err, cases[i].err);
        }
        json_decref(schema);
        json_decref(in);
        ad_buf_release(&code);
    }
    /* No schema, or not an object: nothing to check. */
    assert_int_equal(ad_skill_input_check(NULL, NULL, NULL), 0);
}

static void docstrings(void **state)
{
    static const struct {
        const char *code, *entry, *want;   /* want NULL: none */
    } cases[] = {
        { "def f():\n    \"\"\"\n    Count words.\n\n    More text.\n    \"\"\"\n", "f",
          "Count words." },
        { "def f(): \"Quick.\"\n", "f", "Quick." },
        { "def f(a,\n      b):\n    # a comment first\n\n    '''  Padded line.  '''\n", "f",
          "Padded line." },
        { "\"\"\"Module doc.\"\"\"\ndef f():\n    return 1\n", "f", "Module doc." },
        { "\"\"\"Module doc.\"\"\"\ndef f():\n    \"\"\"Function doc.\"\"\"\n", "f",
          "Function doc." },
        { "def f():\n    return 1\n", "f", NULL },
        { "def f():\n    \"abc\".upper()\n", "f", NULL },
        { "def f():\n    f\"doc {x}\"\n", "f", NULL },
        { "def f():\n    b\"bytes\"\n", "f", NULL },
        { "def f():\n    \"Caf\\u00e9 time.\"\n", "f", "Caf\xc3\xa9 time." },
        { "def f():\n    \"Bullet \\N{BULLET} here.\"\n", "f", "Bullet \\N{BULLET} here." },
        { "def f():\n    r\"\"\"Match \\d+ digits.\"\"\"\n", "f", "Match \\d+ digits." },
        { "def f():\n    \"one\" \"two\"\n", "f", "one" },
        { "def f():\n    \"\"\"   \n    \"\"\"\n", "f", NULL },
        { "'''Only the module.'''\n", "missing", "Only the module." },
        { "'''Only the module.'''\n", NULL, "Only the module." },
        { "x = 1\n'''Not first.'''\n", NULL, NULL },
        { "class A:\n    def f(self):\n        \"Method.\"\ndef f():\n    pass\n", "f", NULL },
        { "def f():\r\n    \"\"\"\r\n    CRLF doc.\r\n    \"\"\"\r\n", "f", "CRLF doc." },
        { "def f():\n    \"bad \\xff\"\n", "f", "bad \xc3\xbf" },
        { "def f():\n    \"\xff\xfe not utf-8\"\n", "f", NULL },
        { "def f(:\n    \"Unreadable entry.\"\n", "f", NULL },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_err err = AD_ERR_INIT;
        char *doc = (char *)1;

        assert_int_equal(ad_skill_docstring(cases[i].code, strlen(cases[i].code), cases[i].entry,
                                            &doc, &err), 0);
        if (!cases[i].want && doc)
            fail_msg("case %zu: docstring '%s', want none", i, doc);
        if (cases[i].want && (!doc || strcmp(doc, cases[i].want) != 0))
            fail_msg("case %zu: docstring '%s', want '%s'", i, doc ? doc : "(null)",
                     cases[i].want);
        free(doc);
    }
}

static void signature_text(void **state)
{
    struct ad_buf b = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    const char *code = "@dec\nasync def f(\n    a: int,\n) -> str:\n    return ''\n";

    (void)state;
    assert_int_equal(ad__skill_signature(code, strlen(code), "f", &b, &err), 0);
    assert_string_equal(b.ptr, "async def f(\n    a: int,\n) -> str:");
    ad_buf_reset(&b);
    assert_int_equal(ad__skill_signature(code, strlen(code), "g", &b, &err), AD_ENOTFOUND);
    assert_int_equal(b.len, 0);
    ad_buf_release(&b);
}

/* ---- SKILL.md ----------------------------------------------------------- */

static const char schema_json[] =
    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
    "\"limit\":{\"type\":\"integer\",\"default\":10}},\"required\":[\"text\"],"
    "\"additionalProperties\":false}";

static const char word_count_code[] =
    "\"\"\"Counting.\"\"\"\n\n"
    "def word_count(text: str, limit: int = 10) -> dict:\n"
    "    \"\"\"Count the words in a text.\"\"\"\n"
    "    return {\"count\": len(text.split()[:limit])}\n";

static void fill_bundle(struct ad_skill_bundle *b)
{
    memset(b, 0, sizeof(*b));
    b->name = strdup("word_count");
    b->description = strdup("Count the words in a text.");
    b->semver = strdup("1.2.3");
    b->entry = strdup("word_count");
    b->script = strdup("word_count.py");
    b->code = strdup(word_count_code);
    b->input_schema = load(schema_json);
    b->body = strdup("\n# Word count\n\nCounts words.\n");
    assert_non_null(b->body);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void assert_same_str(const char *what, const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
        fail_msg("%s differs: '%s' vs '%s'", what, a ? a : "(null)", b ? b : "(null)");
}

/* The fields SKILL.md carries (code is the script's, not SKILL.md's). */
static void assert_same_md(const struct ad_skill_bundle *a, const struct ad_skill_bundle *b)
{
    assert_same_str("name", a->name, b->name);
    assert_same_str("description", a->description, b->description);
    assert_same_str("semver", a->semver, b->semver);
    assert_same_str("entry", a->entry, b->entry);
    assert_same_str("script", a->script, b->script);
    assert_same_str("body", a->body, b->body);
    assert_true((a->input_schema == NULL) == (b->input_schema == NULL));
    if (a->input_schema)
        assert_true(json_equal(a->input_schema, b->input_schema));
}

static void md_render_exact(void **state)
{
    struct ad_skill_bundle b;
    struct ad_buf out = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    fill_bundle(&b);
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    assert_string_equal(out.ptr,
        "---\n"
        "name: word-count\n"
        "description: Count the words in a text.\n"
        "metadata:\n"
        "  version: 1.2.3\n"
        "  entry: word_count\n"
        "  script: word_count.py\n"
        "  input-schema: '{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
        "\"limit\":{\"type\":\"integer\",\"default\":10}},\"required\":[\"text\"],"
        "\"additionalProperties\":false}'\n"
        "---\n"
        "\n# Word count\n\nCounts words.\n");
    ad_buf_release(&out);
    ad_skill_bundle_release(&b);
}

static void md_round_trip(void **state)
{
    static const char *const descriptions[] = {
        "Count the words in a text.",
        "key: value, with a colon",
        "\"double\" and 'single' quotes",
        "line one\nline two\n\nline four",
        "  leading and trailing spaces  ",
        "null", "true", "yes", "~", "12", "1.5", "0x1F", ".inf", "2024-01-31", "1:30",
        "- looks like a list", "# looks like a comment", "[flow] {map}", "&anchor *alias !tag",
        "---\n---\n...", "tab\there", "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80 \xe2\x80\xa8 sep",
        "back\\slash", "%percent", "@at `tick` |pipe >fold", "ends with colon:", "?",
        "\xc2\x85 next line", "cr\rinside", "trailing newline\n",
    };
    struct ad_skill_bundle b, back;
    struct ad_err err = AD_ERR_INIT;
    char long_desc[1025];

    (void)state;
    memset(long_desc, 'x', 1024);
    long_desc[1024] = '\0';
    for (size_t i = 0; i <= AD_ARRAY_SIZE(descriptions); i++) {
        struct ad_buf out = AD_BUF_INIT;

        fill_bundle(&b);
        free(b.description);
        b.description = strdup(i < AD_ARRAY_SIZE(descriptions) ? descriptions[i] : long_desc);
        if (i % 3 == 1) {
            free(b.entry);
            b.entry = strdup("null");   /* a valid Python name that YAML would read as null */
        }
        if (i % 5 == 2) {
            json_decref(b.input_schema);
            b.input_schema = load("{\"type\":\"object\",\"properties\":{\"it's\":{\"description\":"
                                  "\"caf\xc3\xa9 '' \\\"q\\\" \\n\"}}}");
        }
        if (ad_skill_md_render(&b, &out, &err) != 0)
            fail_msg("render '%s': %s", b.description, err.msg);
        if (ad_skill_md_parse(out.ptr, out.len, &back, &err) != 0)
            fail_msg("parse of '%s' failed: %s\n%s", b.description, err.msg, out.ptr);
        assert_same_md(&b, &back);
        assert_null(back.code);
        ad_skill_bundle_release(&back);
        ad_skill_bundle_release(&b);
        ad_buf_release(&out);
    }
}

/* Names YAML would read as numbers, booleans or nulls are quoted on the way out. */
static void md_names_that_look_like_values(void **state)
{
    static const char *const names[] = { "123", "true", "null", "1e5", "0x1f", "no" };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++) {
        struct ad_skill_bundle b = { 0 }, back;
        struct ad_buf out = AD_BUF_INIT;
        char line[64];

        b.name = (char *)names[i];
        b.description = (char *)"d";
        b.body = (char *)"";
        assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
        snprintf(line, sizeof(line), "\nname: \"%s\"\n", names[i]);
        if (!strstr(out.ptr, line))
            fail_msg("'%s' not quoted:\n%s", names[i], out.ptr);
        assert_int_equal(ad_skill_md_parse(out.ptr, out.len, &back, &err), 0);
        assert_string_equal(back.name, names[i]);
        ad_skill_bundle_release(&back);
        ad_buf_release(&out);
    }
}

static void md_render_refusals(void **state)
{
    struct ad_skill_bundle b;
    struct ad_buf out = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    char long_desc[1026];

    (void)state;
    memset(long_desc, 'x', 1025);
    long_desc[1025] = '\0';
    assert_int_equal(ad_buf_adds(&out, "kept"), 0);

#define REFUSE(field, value, code, part)                                   \
    do {                                                                   \
        fill_bundle(&b);                                                   \
        free(b.field);                                                     \
        b.field = dup_or_null(value);                                      \
        assert_int_equal(ad_skill_md_render(&b, &out, &err), (code));      \
        assert_msg_has(&err, (part));                                      \
        assert_string_equal(out.ptr, "kept");                              \
        ad_skill_bundle_release(&b);                                       \
    } while (0)

    REFUSE(name, "word-count", AD_EINVAL, "invalid skill name");
    REFUSE(name, NULL, AD_EINVAL, "missing skill name");
    REFUSE(description, "", AD_EINVAL, "1 to 1024 characters");
    REFUSE(description, NULL, AD_EINVAL, "1 to 1024 characters");
    REFUSE(description, long_desc, AD_EINVAL, "not 1025");
    REFUSE(description, "bad \xff utf-8", AD_EINVAL, "not valid UTF-8");
    REFUSE(semver, "1.2", AD_EINVAL, "invalid version '1.2'");
    REFUSE(entry, "not-a-name", AD_EINVAL, "invalid entry function");
    REFUSE(entry, "9lives", AD_EINVAL, "invalid entry function");
    REFUSE(script, "../evil.py", AD_EPERM, "not a plain file name");
    REFUSE(script, "sub/evil.py", AD_EPERM, "not a plain file name");
    REFUSE(script, "word_count.sh", AD_EPERM, "not a plain file name");
    REFUSE(script, "..py", AD_EPERM, "not a plain file name");
#undef REFUSE

    fill_bundle(&b);
    json_decref(b.input_schema);
    b.input_schema = load("{\"type\":\"array\"}");
    assert_int_equal(ad_skill_md_render(&b, &out, &err), AD_EINVAL);
    assert_msg_has(&err, "input schema");
    assert_string_equal(out.ptr, "kept");
    ad_skill_bundle_release(&b);
    assert_int_equal(ad_skill_md_render(NULL, &out, &err), AD_EINVAL);

    /* Optional fields left out are left out of the file, and read back absent. */
    memset(&b, 0, sizeof(b));
    b.name = strdup("bare");
    b.description = strdup("Bare.");
    b.body = strdup("");
    ad_buf_reset(&out);
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    assert_string_equal(out.ptr, "---\nname: bare\ndescription: Bare.\n---\n");
    ad_skill_bundle_release(&b);
    ad_buf_release(&out);
}

static void md_generated_body(void **state)
{
    struct ad_skill_bundle b, back;
    struct ad_buf out = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    const char *body;

    (void)state;
    fill_bundle(&b);
    free(b.body);
    b.body = NULL;
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    body = strstr(out.ptr, "\n---\n");
    assert_non_null(body);
    assert_string_equal(body + 5,
        "\n# word-count\n\nCount the words in a text.\n\n## Usage\n\n"
        "```sh\nautodev skill run word_count --input '{\"text\":\"...\"}'\n```\n\n"
        "The entry point is `word_count` in `scripts/word_count.py`.\n\n"
        "```python\ndef word_count(text: str, limit: int = 10) -> dict:\n```\n\n"
        "## Input\n\n- `text` (string, required)\n- `limit` (integer, default 10)\n");
    assert_int_equal(ad_skill_md_parse(out.ptr, out.len, &back, &err), 0);
    assert_string_equal(back.body, body + 5);
    ad_skill_bundle_release(&back);

    /* No schema given: derived from the code; quotes in names are quoted for sh. */
    json_decref(b.input_schema);
    b.input_schema = load("{\"type\":\"object\",\"properties\":{\"it's\":{\"type\":[\"string\","
                          "\"null\"],\"description\":\"What to read.\"}},\"required\":[\"it's\"]}");
    ad_buf_reset(&out);
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    assert_non_null(strstr(out.ptr, "--input '{\"it'\\''s\":\"...\"}'\n"));
    assert_non_null(strstr(out.ptr, "- `it's` (string or null, required): What to read.\n"));
    json_decref(b.input_schema);
    b.input_schema = load("{\"type\":\"object\",\"properties\":{\"m\":{\"enum\":[\"a\",1,null],"
                          "\"default\":\"a\"},\"x\":{}}}");
    ad_buf_reset(&out);
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    assert_non_null(strstr(out.ptr, "- `m` (one of \"a\", 1, null, default \"a\")\n"
                                    "- `x` (any value)\n"));
    assert_non_null(strstr(out.ptr, "--input '{}'"));
    json_decref(b.input_schema);
    b.input_schema = NULL;
    ad_buf_reset(&out);
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    assert_non_null(strstr(out.ptr, "- `limit` (integer, default 10)\n"));
    /* No code at all: the usage still renders, without a signature. */
    free(b.code);
    b.code = NULL;
    ad_buf_reset(&out);
    assert_int_equal(ad_skill_md_render(&b, &out, &err), 0);
    assert_null(strstr(out.ptr, "```python"));
    assert_non_null(strstr(out.ptr, "--input '{}'"));
    ad_buf_release(&out);
    ad_skill_bundle_release(&b);
}

static void md_parse_accepts(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    const char *text;

    (void)state;
    text = "---\nname: pdf-tools\ndescription: Work with PDFs.\n---\nBody.\n";
    assert_int_equal(ad_skill_md_parse(text, strlen(text), &b, &err), 0);
    assert_string_equal(b.name, "pdf_tools");
    assert_string_equal(b.description, "Work with PDFs.");
    assert_null(b.semver);
    assert_null(b.entry);
    assert_null(b.script);
    assert_null(b.input_schema);
    assert_null(b.code);
    assert_string_equal(b.body, "Body.\n");
    ad_skill_bundle_release(&b);

    /* A BOM, CRLF lines, the specification's optional keys, others' metadata. */
    text = "\xef\xbb\xbf---\r\nname: \"pdf-tools\"\r\ndescription: >\r\n  Folded\r\n  text.\r\n"
           "license: Apache-2.0\r\ncompatibility: Needs python3\r\n"
           "allowed-tools: Bash(git:*) Read\r\nmetadata:\r\n  author: someone\r\n"
           "  version: '2.0.1'\r\n  entry: run\r\n  script: !!str main.py\r\n"
           "  input-schema: '{\"type\": \"object\"}'\r\n---  \r\nBody\r\n";
    assert_int_equal(ad_skill_md_parse(text, strlen(text), &b, &err), 0);
    assert_string_equal(b.name, "pdf_tools");
    assert_string_equal(b.description, "Folded text.\n");
    assert_string_equal(b.semver, "2.0.1");
    assert_string_equal(b.entry, "run");
    assert_string_equal(b.script, "main.py");
    assert_json(b.input_schema, "{\"type\":\"object\"}");
    assert_string_equal(b.body, "Body\r\n");
    ad_skill_bundle_release(&b);

    /* allowed-tools as a list, a flow mapping, a closing fence at the end of the file. */
    text = "---\n{name: a, description: 'b', allowed-tools: [Read, Write]}\n---";
    assert_int_equal(ad_skill_md_parse(text, strlen(text), &b, &err), 0);
    assert_string_equal(b.name, "a");
    assert_string_equal(b.body, "");
    ad_skill_bundle_release(&b);

    /* A "---" inside a block scalar is indented, so it does not close the front matter. */
    text = "---\nname: a\ndescription: |\n  first\n  ---\n  last\n---\n";
    assert_int_equal(ad_skill_md_parse(text, strlen(text), &b, &err), 0);
    assert_string_equal(b.description, "first\n---\nlast\n");
    ad_skill_bundle_release(&b);
}

static void md_parse_refusals(void **state)
{
    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } cases[] = {
        { "", AD_EINVAL, "must start with a '---' line" },
        { "name: a\n", AD_EINVAL, "must start with a '---' line" },
        { "\n---\nname: a\ndescription: b\n---\n", AD_EINVAL, "must start with a '---' line" },
        { "---", AD_EINVAL, "must start with a '---' line" },
        { "---x\nname: a\n---\n", AD_EINVAL, "must start with a '---' line" },
        { "---\nname: a\ndescription: b\n", AD_EINVAL, "no closing '---' line" },
        { "---\n---\n", AD_EINVAL, "front matter is empty" },
        { "---\n# only a comment\n---\n", AD_EINVAL, "front matter is empty" },
        { "---\n- a\n- b\n---\n", AD_EINVAL, "line 2: the front matter must be a mapping" },
        { "---\njust text\n---\n", AD_EINVAL, "line 2: the front matter must be a mapping" },
        { "---\nname: a\n---\n", AD_EINVAL, "has no 'description'" },
        { "---\ndescription: a\n---\n", AD_EINVAL, "has no 'name'" },
        { "---\nname: a\nname: b\ndescription: c\n---\n", AD_EINVAL,
          "line 3: duplicate key 'name'" },
        { "---\nname: a\ndescription: c\nversion: 1.0.0\n---\n", AD_EINVAL,
          "line 4: unknown key 'version'" },
        { "---\nname: Bad_Name\ndescription: c\n---\n", AD_EINVAL,
          "line 2: invalid agent skills name 'Bad_Name'" },
        { "---\nname: a--b\ndescription: c\n---\n", AD_EINVAL, "contains \"--\"" },
        { "---\nname: 'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345'\n"
          "description: c\n---\n", AD_EINVAL, "longer than 64" },
        { "---\nname: 123\ndescription: c\n---\n", AD_EINVAL,
          "line 2: name is a number, not a string (quote it)" },
        { "---\nname: a\ndescription: true\n---\n", AD_EINVAL, "description is a boolean" },
        { "---\nname: a\ndescription:\n---\n", AD_EINVAL, "description is a null" },
        { "---\nname: a\ndescription: ''\n---\n", AD_EINVAL, "line 3: a skill's description" },
        { "---\nname: a\ndescription: 2024-01-31\n---\n", AD_EINVAL, "description is a date" },
        { "---\nname: a\ndescription: !!int 3\n---\n", AD_EINVAL, "has tag" },
        { "---\nname: a\ndescription: [x]\n---\n", AD_EINVAL, "description must be a string" },
        { "---\nname: a\ndescription: {x: y}\n---\n", AD_EINVAL, "description must be a string" },
        { "---\nname: &n a\ndescription: *n\n---\n", AD_EINVAL, "anchors are not allowed" },
        { "---\nname: a\ndescription: *n\n---\n", AD_EINVAL, "" },
        { "---\n? [complex]\n: key\n---\n", AD_EINVAL, "a key must be a string" },
        { "---\nnull: a\n---\n", AD_EINVAL, "a key is a null" },
        { "---\nname: a\ndescription: b\nlicense: [MIT]\n---\n", AD_EINVAL,
          "license must be a string" },
        { "---\nname: a\ndescription: b\nallowed-tools: [Read, [x]]\n---\n", AD_EINVAL,
          "an entry of allowed-tools must be a string" },
        { "---\nname: a\ndescription: b\nmetadata: x\n---\n", AD_EINVAL,
          "metadata must be a mapping of strings" },
        { "---\nname: a\ndescription: b\nmetadata:\n  version: 1.0\n---\n", AD_EINVAL,
          "line 5: metadata.version is a number" },
        { "---\nname: a\ndescription: b\nmetadata:\n  version: '1.0'\n---\n", AD_EINVAL,
          "metadata.version '1.0' is not MAJOR.MINOR.PATCH" },
        { "---\nname: a\ndescription: b\nmetadata:\n  entry: my-fn\n---\n", AD_EINVAL,
          "metadata.entry 'my-fn' is not a python function name" },
        { "---\nname: a\ndescription: b\nmetadata:\n  script: ../x.py\n---\n", AD_EPERM,
          "metadata.script '../x.py' is not a plain file name" },
        { "---\nname: a\ndescription: b\nmetadata:\n  script: /etc/x.py\n---\n", AD_EPERM,
          "not a plain file name" },
        { "---\nname: a\ndescription: b\nmetadata:\n  input-schema: '{'\n---\n", AD_EINVAL,
          "metadata.input-schema is not JSON" },
        { "---\nname: a\ndescription: b\nmetadata:\n  input-schema: '[]'\n---\n", AD_EINVAL,
          "metadata.input-schema: input schema is not a JSON object" },
        { "---\nname: a\ndescription: b\nmetadata:\n  input-schema: '{\"type\":\"object\","
          "\"type\":\"object\"}'\n---\n", AD_EINVAL, "metadata.input-schema is not JSON" },
        { "---\nname: a\ndescription: b\nmetadata:\n  k: x\n  k: y\n---\n", AD_EINVAL,
          "line 6: duplicate key 'metadata.k'" },
        { "---\nname: a\ndescription: b\nmetadata:\n  k:\n    nested: x\n---\n", AD_EINVAL,
          "metadata.k must be a string" },
        { "---\nname: a\ndescription: b\n...\nname: c\n---\n", AD_EINVAL,
          "line 5: invalid yaml" },
        { "---\nname: a\ndescription: b\n...\n--- x\n---\n", AD_EINVAL,
          "more than one yaml document" },
        { "---\nname: a\ndescription: b\n--- x\n---\n", AD_EINVAL, "more than one yaml document" },
        { "---\nname: a\ndescription: b: c\n---\n", AD_EINVAL, "line 3: invalid yaml" },
        { "---\nname: \"a\ndescription: b\n---\n", AD_EINVAL, "invalid yaml" },
        { "---\nname: a\ndescription: \"\\x00\"\n---\n", AD_EINVAL, "contains a NUL byte" },
        { "---\nname: a\ndescription: \xff\n---\n", AD_EINVAL, "invalid yaml" },
    };

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_skill_bundle b;
        struct ad_err err = AD_ERR_INIT;
        int rc = ad_skill_md_parse(cases[i].text, strlen(cases[i].text), &b, &err);

        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d (%s)\n%s", i, rc, cases[i].rc, err.msg,
                     cases[i].text);
        assert_msg_has(&err, cases[i].msg);
        assert_null(b.name);
        assert_null(b.description);
        assert_null(b.semver);
        assert_null(b.input_schema);
        assert_null(b.body);
    }
}

static void md_parse_limits(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf t = AD_BUF_INIT;
    static const char nul_text[] = "---\nname: a\ndescription: b\n---\nbody\0more";

    (void)state;
    assert_int_equal(ad_skill_md_parse(nul_text, sizeof(nul_text) - 1, &b, &err), AD_EINVAL);
    assert_msg_has(&err, "NUL byte");
    assert_int_equal(ad_skill_md_parse(NULL, 0, &b, &err), AD_EINVAL);

    assert_int_equal(ad_buf_adds(&t, "---\nname: a\ndescription: b\n---\n"), 0);
    while (t.len <= 1024 * 1024)
        assert_int_equal(ad_buf_adds(&t, "0123456789abcdef0123456789abcdef\n"), 0);
    assert_int_equal(ad_skill_md_parse(t.ptr, t.len, &b, &err), AD_ETOOBIG);
    ad_buf_reset(&t);

    /* compatibility: 500 characters (not bytes) at most. */
    assert_int_equal(ad_buf_adds(&t, "---\nname: a\ndescription: b\ncompatibility: "), 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(ad_buf_adds(&t, "\xc3\xa9"), 0);
    assert_int_equal(ad_buf_adds(&t, "\n---\n"), 0);
    assert_int_equal(ad_skill_md_parse(t.ptr, t.len, &b, &err), 0);
    ad_skill_bundle_release(&b);
    ad_buf_reset(&t);
    assert_int_equal(ad_buf_adds(&t, "---\nname: a\ndescription: b\ncompatibility: "), 0);
    for (int i = 0; i < 501; i++)
        assert_int_equal(ad_buf_adds(&t, "x"), 0);
    assert_int_equal(ad_buf_adds(&t, "\n---\n"), 0);
    assert_int_equal(ad_skill_md_parse(t.ptr, t.len, &b, &err), AD_EINVAL);
    assert_msg_has(&err, "line 4: compatibility is over 500 characters");

    /* 257 metadata keys: over the cap. */
    ad_buf_reset(&t);
    assert_int_equal(ad_buf_adds(&t, "---\nname: a\ndescription: b\nmetadata:\n"), 0);
    for (int i = 0; i < 257; i++)
        assert_int_equal(ad_buf_addf(&t, "  k%d: v\n", i), 0);
    assert_int_equal(ad_buf_adds(&t, "---\n"), 0);
    assert_int_equal(ad_skill_md_parse(t.ptr, t.len, &b, &err), AD_EINVAL);
    assert_msg_has(&err, "more than 256 keys");
    ad_buf_release(&t);
}

/* ---- the folder --------------------------------------------------------- */

static void bundle_write_read(void **state)
{
    struct ad_skill_bundle b, back;
    struct ad_err err = AD_ERR_INIT;
    char dir[64], path[256];
    struct stat st;

    (void)state;
    make_tmp(dir, sizeof(dir));
    fill_bundle(&b);
    /* The parent folder is created when missing. */
    snprintf(path, sizeof(path), "%s/out/skills", dir);
    assert_int_equal(ad_skill_bundle_write(&b, path, false, &err), 0);

    snprintf(path, sizeof(path), "%s/out/skills/word-count", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0755);
    snprintf(path, sizeof(path), "%s/out/skills/word-count/scripts", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    snprintf(path, sizeof(path), "%s/out/skills/word-count/SKILL.md", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    snprintf(path, sizeof(path), "%s/out/skills/word-count/scripts/word_count.py", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    {
        struct ad_buf md = AD_BUF_INIT;
        char *text;

        snprintf(path, sizeof(path), "%s/out/skills/word-count/SKILL.md", dir);
        text = read_text(path);
        assert_int_equal(ad_skill_md_render(&b, &md, &err), 0);
        assert_string_equal(text, md.ptr);
        free(text);
        ad_buf_release(&md);
    }
    snprintf(path, sizeof(path), "%s/out/skills/word-count/", dir);
    assert_int_equal(ad_skill_bundle_read(path, &back, &err), 0);
    assert_same_md(&b, &back);
    assert_string_equal(back.code, b.code);
    ad_skill_bundle_release(&back);

    /* An existing folder stays unless overwrite; overwrite replaces the files. */
    snprintf(path, sizeof(path), "%s/out/skills", dir);
    assert_int_equal(ad_skill_bundle_write(&b, path, false, &err), AD_EEXIST);
    assert_msg_has(&err, "word-count' already exists");
    free(b.code);
    b.code = strdup("def word_count(text: str):\n    return {}\n");
    free(b.description);
    b.description = strdup("New: description");
    assert_int_equal(ad_skill_bundle_write(&b, path, true, &err), 0);
    snprintf(path, sizeof(path), "%s/out/skills/word-count", dir);
    assert_int_equal(ad_skill_bundle_read(path, &back, &err), 0);
    assert_same_md(&b, &back);
    assert_string_equal(back.code, b.code);
    ad_skill_bundle_release(&back);

    /* No script name: the catalog name with .py; no temp files left behind. */
    free(b.script);
    b.script = NULL;
    free(b.name);
    b.name = strdup("a_b_c");
    assert_int_equal(ad_skill_bundle_write(&b, dir, false, &err), 0);
    snprintf(path, sizeof(path), "%s/a-b-c/scripts/a_b_c.py", dir);
    assert_int_equal(lstat(path, &st), 0);
    snprintf(path, sizeof(path), "%s/a-b-c", dir);
    assert_int_equal(ad_skill_bundle_read(path, &back, &err), 0);
    assert_string_equal(back.name, "a_b_c");
    assert_string_equal(back.script, "a_b_c.py");
    ad_skill_bundle_release(&back);
    {
        char cmdless[256];
        DIR *d;
        struct dirent *e;

        snprintf(cmdless, sizeof(cmdless), "%s/a-b-c", dir);
        d = opendir(cmdless);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL)
            assert_true(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                        strcmp(e->d_name, "SKILL.md") == 0 || strcmp(e->d_name, "scripts") == 0);
        closedir(d);
    }
    ad_skill_bundle_release(&b);
    rm_tree(dir);
}

static void bundle_write_refusals(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    char dir[64], path[512], target[256];
    struct stat st;

    (void)state;
    make_tmp(dir, sizeof(dir));
    fill_bundle(&b);

    free(b.code);
    b.code = NULL;
    assert_int_equal(ad_skill_bundle_write(&b, dir, false, &err), AD_EINVAL);
    b.code = strdup("def word_count(text): pass\n");
    assert_int_equal(ad_skill_bundle_write(&b, NULL, false, &err), AD_EINVAL);
    assert_int_equal(ad_skill_bundle_write(NULL, dir, false, &err), AD_EINVAL);

    /* A bundle SKILL.md cannot hold writes nothing at all. */
    free(b.description);
    b.description = strdup("");
    assert_int_equal(ad_skill_bundle_write(&b, dir, false, &err), AD_EINVAL);
    snprintf(path, sizeof(path), "%s/word-count", dir);
    assert_int_equal(lstat(path, &st), -1);
    free(b.description);
    b.description = strdup("Fine.");
    free(b.script);
    b.script = strdup("../escape.py");
    assert_int_equal(ad_skill_bundle_write(&b, dir, false, &err), AD_EPERM);
    assert_int_equal(lstat(path, &st), -1);
    free(b.script);
    b.script = strdup("word_count.py");

    /* The skill folder as a link is never written through, overwrite or not. */
    snprintf(target, sizeof(target), "%s/elsewhere", dir);
    assert_int_equal(mkdir(target, 0755), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(ad_skill_bundle_write(&b, dir, true, &err), AD_EPERM);
    assert_msg_has(&err, "symbolic link");
    assert_int_equal(unlink(path), 0);

    /* Nor is scripts/ as a link. */
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/word-count/scripts", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(ad_skill_bundle_write(&b, dir, true, &err), AD_EPERM);
    snprintf(path, sizeof(path), "%s/word_count.py", target);
    assert_int_equal(lstat(path, &st), -1);

    /* A file where the folder should be. */
    snprintf(path, sizeof(path), "%s/file", dir);
    write_text(path, "x");
    assert_int_equal(ad_skill_bundle_write(&b, path, false, &err), AD_EEXIST);
    assert_msg_has(&err, "is not a folder");
    ad_skill_bundle_release(&b);
    rm_tree(dir);
}

/* Writes dir/NAME/SKILL.md (and scripts/ when script) by hand. */
static void hand_bundle(const char *dir, const char *name, const char *md, const char *script,
                        const char *code)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/%s/SKILL.md", dir, name);
    write_text(path, md);
    snprintf(path, sizeof(path), "%s/%s/scripts", dir, name);
    assert_int_equal(mkdir(path, 0755), 0);
    if (script) {
        snprintf(path, sizeof(path), "%s/%s/scripts/%s", dir, name, script);
        write_text(path, code);
    }
}

static int read_in(const char *dir, const char *name, struct ad_skill_bundle *b,
                   struct ad_err *err)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return ad_skill_bundle_read(path, b, err);
}

static void bundle_read_refusals(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    char dir[64], path[512], target[512];
    const char *md = "---\nname: %s\ndescription: d\n%s---\n";
    char text[512];

    (void)state;
    make_tmp(dir, sizeof(dir));

    /* Without metadata.script the only .py under scripts/ is taken. */
    snprintf(text, sizeof(text), md, "one", "");
    hand_bundle(dir, "one", text, "main.py", "def one(): pass\n");
    assert_int_equal(read_in(dir, "one", &b, &err), 0);
    assert_string_equal(b.name, "one");
    assert_string_equal(b.script, "main.py");
    assert_string_equal(b.code, "def one(): pass\n");
    assert_false(ad_skill_code_is_folder(b.code));
    ad_skill_bundle_release(&b);

    /* Another file beside it, no script, several: the folder is kept whole. */
    snprintf(path, sizeof(path), "%s/one/scripts/README.txt", dir);
    write_text(path, "not python");
    assert_int_equal(read_in(dir, "one", &b, &err), 0);
    assert_string_equal(b.entry, "one");
    assert_null(b.script);
    assert_true(ad_skill_code_is_folder(b.code));
    ad_skill_bundle_release(&b);
    snprintf(text, sizeof(text), md, "none", "");
    hand_bundle(dir, "none", text, NULL, NULL);
    assert_int_equal(read_in(dir, "none", &b, &err), 0);
    assert_true(ad_skill_code_is_folder(b.code));
    ad_skill_bundle_release(&b);
    snprintf(text, sizeof(text), md, "two", "");
    hand_bundle(dir, "two", text, "b.py", "x = 1\n");
    snprintf(path, sizeof(path), "%s/two/scripts/a.py", dir);
    write_text(path, "y = 1\n");
    assert_int_equal(read_in(dir, "two", &b, &err), 0);
    assert_true(ad_skill_code_is_folder(b.code));
    ad_skill_bundle_release(&b);

    /* The folder must carry the skill's name. */
    snprintf(text, sizeof(text), md, "other-name", "");
    hand_bundle(dir, "folder-name", text, "x.py", "x = 1\n");
    assert_int_equal(read_in(dir, "folder-name", &b, &err), AD_EINVAL);
    assert_msg_has(&err, "names the skill 'other-name' but its folder is 'folder-name'");
    snprintf(text, sizeof(text), md, "under_score", "");
    hand_bundle(dir, "under_score", text, "x.py", "x = 1\n");
    assert_int_equal(read_in(dir, "under_score", &b, &err), AD_EINVAL);

    /* A named script that is missing. */
    snprintf(text, sizeof(text), md, "missing", "metadata:\n  script: gone.py\n");
    hand_bundle(dir, "missing", text, NULL, NULL);
    assert_int_equal(read_in(dir, "missing", &b, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "scripts/gone.py' does not exist");

    /* A script path leaving the folder. */
    snprintf(text, sizeof(text), md, "escape", "metadata:\n  script: ../../etc/passwd.py\n");
    hand_bundle(dir, "escape", text, NULL, NULL);
    assert_int_equal(read_in(dir, "escape", &b, &err), AD_EPERM);

    /* Links are refused, not followed: SKILL.md, the script, scripts/. */
    snprintf(target, sizeof(target), "%s/outside.md", dir);
    snprintf(text, sizeof(text), md, "link-md", "");
    write_text(target, text);
    snprintf(path, sizeof(path), "%s/link-md", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/link-md/SKILL.md", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(read_in(dir, "link-md", &b, &err), AD_EPERM);
    assert_msg_has(&err, "SKILL.md' is a symbolic link");

    snprintf(target, sizeof(target), "%s/outside.py", dir);
    write_text(target, "secret = 1\n");
    snprintf(text, sizeof(text), md, "link-py", "metadata:\n  script: s.py\n");
    hand_bundle(dir, "link-py", text, NULL, NULL);
    snprintf(path, sizeof(path), "%s/link-py/scripts/s.py", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(read_in(dir, "link-py", &b, &err), AD_EPERM);
    assert_msg_has(&err, "is a symbolic link");

    snprintf(text, sizeof(text), md, "link-only", "");
    hand_bundle(dir, "link-only", text, NULL, NULL);
    snprintf(path, sizeof(path), "%s/link-only/scripts/s.py", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(read_in(dir, "link-only", &b, &err), AD_EPERM);

    snprintf(text, sizeof(text), md, "link-dir", "");
    snprintf(path, sizeof(path), "%s/link-dir", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/link-dir/SKILL.md", dir);
    write_text(path, text);
    snprintf(target, sizeof(target), "%s/one/scripts", dir);
    snprintf(path, sizeof(path), "%s/link-dir/scripts", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(read_in(dir, "link-dir", &b, &err), AD_EPERM);
    assert_msg_has(&err, "scripts' is a symbolic link");

    /* SKILL.md as a folder, a missing SKILL.md, a missing folder, no scripts/. */
    snprintf(path, sizeof(path), "%s/md-dir", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/md-dir/SKILL.md", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(read_in(dir, "md-dir", &b, &err), AD_EPERM);
    assert_msg_has(&err, "not a regular file");
    snprintf(path, sizeof(path), "%s/empty", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(read_in(dir, "empty", &b, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "SKILL.md' does not exist");
    assert_int_equal(read_in(dir, "no-such", &b, &err), AD_ENOTFOUND);
    snprintf(text, sizeof(text), md, "no-scripts", "");
    snprintf(path, sizeof(path), "%s/no-scripts", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/no-scripts/SKILL.md", dir);
    write_text(path, text);
    assert_int_equal(read_in(dir, "no-scripts", &b, &err), 0);
    assert_true(ad_skill_code_is_folder(b.code));
    ad_skill_bundle_release(&b);

    /* A bad SKILL.md names its folder. */
    hand_bundle(dir, "bad-md", "no front matter\n", "x.py", "x = 1\n");
    assert_int_equal(read_in(dir, "bad-md", &b, &err), AD_EINVAL);
    assert_msg_has(&err, "/bad-md: SKILL.md must start");

    /* Caps: a script over AD_SKILL_CODE_MAX, a script with a NUL byte. */
    snprintf(text, sizeof(text), md, "big", "");
    hand_bundle(dir, "big", text, "big.py", "x = 1\n");
    snprintf(path, sizeof(path), "%s/big/scripts/big.py", dir);
    assert_int_equal(truncate(path, AD_SKILL_CODE_MAX + 1), 0);
    assert_int_equal(read_in(dir, "big", &b, &err), AD_ETOOBIG);
    assert_int_equal(truncate(path, 8), 0);
    assert_int_equal(read_in(dir, "big", &b, &err), AD_EINVAL);
    assert_msg_has(&err, "contains a NUL byte");
    rm_tree(dir);
}

/* "." as the folder reads its real name. */
static void bundle_read_dot(void **state)
{
    struct ad_skill_bundle b;
    struct ad_err err = AD_ERR_INIT;
    char dir[64], path[256], cwd[4096];

    (void)state;
    make_tmp(dir, sizeof(dir));
    hand_bundle(dir, "dot", "---\nname: dot\ndescription: d\n---\n", "d.py", "x = 1\n");
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(path, sizeof(path), "%s/dot", dir);
    assert_int_equal(chdir(path), 0);
    assert_int_equal(ad_skill_bundle_read(".", &b, &err), 0);
    assert_string_equal(b.name, "dot");
    ad_skill_bundle_release(&b);
    assert_int_equal(ad_skill_bundle_read("./", &b, &err), 0);
    ad_skill_bundle_release(&b);
    assert_int_equal(chdir(cwd), 0);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agentskills_names),
        cmocka_unit_test(name_mapping),
        cmocka_unit_test(name_mapping_is_a_bijection),
        cmocka_unit_test(semver_parse_format),
        cmocka_unit_test(semver_cmp_bump),
        cmocka_unit_test(schema_derivation),
        cmocka_unit_test(schema_derivation_refusals),
        cmocka_unit_test(schema_deep_nesting),
        cmocka_unit_test(schema_check),
        cmocka_unit_test(input_check),
        cmocka_unit_test(docstrings),
        cmocka_unit_test(signature_text),
        cmocka_unit_test(md_render_exact),
        cmocka_unit_test(md_round_trip),
        cmocka_unit_test(md_names_that_look_like_values),
        cmocka_unit_test(md_render_refusals),
        cmocka_unit_test(md_generated_body),
        cmocka_unit_test(md_parse_accepts),
        cmocka_unit_test(md_parse_refusals),
        cmocka_unit_test(md_parse_limits),
        cmocka_unit_test(bundle_write_read),
        cmocka_unit_test(bundle_write_refusals),
        cmocka_unit_test(bundle_read_refusals),
        cmocka_unit_test(bundle_read_dot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
