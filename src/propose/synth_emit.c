/*
 * The synthesized program as a Python module.
 *
 * Everything written is ASCII: other characters in strings, patterns and
 * the docstring are escaped, so the file means the same whatever encoding
 * the reader assumes. Patterns go out as raw strings where they can, so a
 * reader sees the pattern PCRE2 ran, character for character.
 */
#include "compat.h"

#include "synth_int.h"

/* Decodes one UTF-8 character at s; its length (1 for a stray byte). */
static size_t utf8_cp(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (s[0] < 0x80 || len < 2) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && len >= 3) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && len >= 4) {
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    *cp = s[0];
    return 1;
}

/* Escapes s for inside a non-raw Python string or docstring; quote: what to escape. */
static int escape(struct ad_buf *b, const char *s, size_t len, const char *quote)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int rc = 0;

    while (rc == 0 && i < len) {
        uint32_t cp;
        size_t k = utf8_cp(u + i, len - i, &cp);

        if (cp == '\\')
            rc = ad_buf_adds(b, "\\\\");
        else if (quote && !*quote && cp == '"' && len - i >= 3 && !memcmp(s + i, "\"\"\"", 3))
            rc = ad_buf_adds(b, "\\\"");      /* a docstring: break up three quotes */
        else if (quote && *quote && cp == (unsigned char)*quote)
            rc = ad_buf_addf(b, "\\%c", *quote);
        else if (cp == '\n')
            rc = ad_buf_adds(b, quote && !*quote ? "\n" : "\\n");
        else if (cp == '\t')
            rc = ad_buf_adds(b, "\\t");
        else if (cp == '\r')
            rc = ad_buf_adds(b, "\\r");
        else if (cp < 0x20 || cp == 0x7F)
            rc = ad_buf_addf(b, "\\x%02x", cp);
        else if (cp < 0x80)
            rc = ad_buf_addch(b, (char)cp);
        else if (cp < 0x10000)
            rc = ad_buf_addf(b, "\\u%04x", cp);
        else
            rc = ad_buf_addf(b, "\\U%08x", cp);
        i += k;
    }
    return rc;
}

int sx_py_str(struct ad_buf *b, const char *s, size_t len, bool raw_ok)
{
    bool raw = raw_ok && memchr(s, '\\', len);
    size_t i, slashes = 0;

    for (i = 0; raw && i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7F || s[i] == '"')
            raw = false;
    for (i = len; raw && i > 0 && s[i - 1] == '\\'; i--)
        slashes++;
    if (raw && slashes % 2 == 0)
        return ad_buf_addch(b, 'r') || ad_buf_addch(b, '"') || ad_buf_add(b, s, len) ||
               ad_buf_addch(b, '"');
    return ad_buf_addch(b, '"') || escape(b, s, len, "\"") || ad_buf_addch(b, '"');
}

int sx_py_value(struct ad_buf *b, const json_t *v)
{
    char num[64];
    const char *k;
    json_t *x;
    size_t i;
    int rc = 0;

    switch (json_typeof(v)) {
    case JSON_NULL:
        return ad_buf_adds(b, "None");
    case JSON_TRUE:
        return ad_buf_adds(b, "True");
    case JSON_FALSE:
        return ad_buf_adds(b, "False");
    case JSON_INTEGER:
        return ad_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        sx_float_repr(json_real_value(v), num, sizeof(num));
        return ad_buf_adds(b, num);
    case JSON_STRING:
        return sx_py_str(b, json_string_value(v), json_string_length(v), false);
    case JSON_ARRAY:
        rc = ad_buf_addch(b, '[');
        json_array_foreach(v, i, x)
            rc = rc || (i && ad_buf_adds(b, ", ")) || sx_py_value(b, x);
        return rc || ad_buf_addch(b, ']');
    case JSON_OBJECT:
        rc = ad_buf_addch(b, '{');
        i = 0;
        json_object_foreach((json_t *)v, k, x) {
            rc = rc || (i++ && ad_buf_adds(b, ", ")) || sx_py_str(b, k, strlen(k), false) ||
                 ad_buf_adds(b, ": ") || sx_py_value(b, x);
        }
        return rc || ad_buf_addch(b, '}');
    }
    return 0;
}

/* ---- expressions ---- */

enum { P_COND = 1, P_CMP = 2, P_ADD = 4, P_MUL = 5, P_ATOM = 10 };

static int prec_of(const struct sx *x)
{
    switch (x->kind) {
    case SX_CAT:
        return P_ADD;
    case SX_BIN:
        return x->n == OP_ADD || x->n == OP_SUB ? P_ADD : P_MUL;
    case SX_AGG:
        return x->n == AGG_MEAN ? P_MUL : P_ATOM;
    case SX_CMP:
        return P_CMP;
    case SX_IF:
        return P_COND;
    case SX_STROP:
        return x->n == SO_SUFFIX ? P_COND : x->n == SO_IN || x->n == SO_EQ || x->n == SO_SEARCH
                                                 ? P_CMP
                                                 : P_ATOM;
    default:
        return P_ATOM;
    }
}

static int expr(struct ad_synth_program *p, int node, int need, struct ad_buf *b);

static int path_expr(struct ad_synth_program *p, const struct sx *x, struct ad_buf *b)
{
    const char *base = p->mode == MODE_TEXT ? "text" : "data";
    int first = 0, rc = 0;

    if (p->mode == MODE_KW) {
        base = x->path.step[0].key;
        first = 1;
    }
    if (x->c && !(p->mode == MODE_KW && x->path.n == 1)) {
        rc = ad_buf_addf(b, "_dig(%s", base);
        for (int i = first; rc == 0 && i < x->path.n; i++) {
            rc = ad_buf_adds(b, ", ");
            if (rc == 0 && x->path.step[i].key)
                rc = sx_py_str(b, x->path.step[i].key, strlen(x->path.step[i].key), false);
            else if (rc == 0)
                rc = ad_buf_addf(b, "%ld", x->path.step[i].idx);
        }
        return rc || ad_buf_adds(b, ", default=") || sx_py_value(b, x->c) ||
               ad_buf_addch(b, ')');
    }
    rc = ad_buf_adds(b, base);
    for (int i = first; rc == 0 && i < x->path.n; i++) {
        rc = ad_buf_addch(b, '[');
        if (rc == 0 && x->path.step[i].key)
            rc = sx_py_str(b, x->path.step[i].key, strlen(x->path.step[i].key), false);
        else if (rc == 0)
            rc = ad_buf_addf(b, "%ld", x->path.step[i].idx);
        rc = rc || ad_buf_addch(b, ']');
    }
    return rc;
}

static int field(struct ad_buf *b, const char *f)
{
    return ad_buf_adds(b, "item[") || sx_py_str(b, f, strlen(f), false) || ad_buf_addch(b, ']');
}

/* The per-item term of an aggregate: item["f"], item["f"] * item["g"], or item. */
static int term(const struct sx *x, struct ad_buf *b)
{
    if (!x->f)
        return ad_buf_adds(b, "item");
    return field(b, x->f) || (x->f2 && (ad_buf_adds(b, " * ") || field(b, x->f2)));
}

static int agg_expr(struct ad_synth_program *p, const struct sx *x, struct ad_buf *b)
{
    static const char *const name[] = { "sum", "len", "sum", "min", "max" };
    int rc = ad_buf_addf(b, "%s(", name[x->n]);

    if (x->n != AGG_LEN && x->f)
        rc = rc || term(x, b) || ad_buf_adds(b, " for item in ") || expr(p, x->a, P_CMP + 1, b);
    else
        rc = rc || expr(p, x->a, 0, b);
    rc = rc || ad_buf_addch(b, ')');
    if (x->n == AGG_MEAN)
        rc = rc || ad_buf_adds(b, " / len(") || expr(p, x->a, 0, b) || ad_buf_addch(b, ')');
    return rc;
}

static int filter_expr(struct ad_synth_program *p, const struct sx *x, struct ad_buf *b)
{
    static const char *const op[] = { "", " == ", "", " > ", " >= ", " < " };
    int rc = ad_buf_addch(b, '[');

    rc = rc || (x->f ? field(b, x->f) : ad_buf_adds(b, "item")) ||
         ad_buf_adds(b, " for item in ") || expr(p, x->a, P_CMP + 1, b);
    if (x->cond != COND_NONE)
        rc = rc || ad_buf_adds(b, " if ") || field(b, x->g);
    if (x->cond != COND_NONE && x->cond != COND_TRUTHY)
        rc = rc || ad_buf_adds(b, op[x->cond]) || sx_py_value(b, x->c);
    return rc || ad_buf_addch(b, ']');
}

static int pat_str(struct ad_synth_program *p, const struct sx *x, struct ad_buf *b)
{
    return sx_py_str(b, p->pat[x->pat].src, strlen(p->pat[x->pat].src), true);
}

static int c_str(const struct sx *x, struct ad_buf *b)
{
    return sx_py_str(b, json_string_value(x->c), json_string_length(x->c), false);
}

static int strop_expr(struct ad_synth_program *p, const struct sx *x, struct ad_buf *b)
{
    static const char *const method[] = {
        [SO_COUNT] = ".count(", [SO_STARTS] = ".startswith(", [SO_ENDS] = ".endswith(",
    };

    switch (x->n) {
    case SO_LEN:
    case SO_INT:
        return ad_buf_adds(b, x->n == SO_LEN ? "len(" : "_int(") || expr(p, x->a, 0, b) ||
               ad_buf_addch(b, ')');
    case SO_COUNT:
    case SO_STARTS:
    case SO_ENDS:
        return expr(p, x->a, P_ATOM, b) || ad_buf_adds(b, method[x->n]) || expr(p, x->b, 0, b) ||
               ad_buf_addch(b, ')');
    case SO_IN:
        return expr(p, x->b, P_CMP + 1, b) || ad_buf_adds(b, " in ") || expr(p, x->a, P_CMP + 1, b);
    case SO_EQ:
        return expr(p, x->a, P_CMP + 1, b) || ad_buf_adds(b, " == ") || expr(p, x->b, P_CMP + 1, b);
    case SO_SEARCH:
        return ad_buf_adds(b, "re.search(") || pat_str(p, x, b) || ad_buf_adds(b, ", ") ||
               expr(p, x->a, 0, b) || ad_buf_adds(b, ") is not None");
    case SO_REPLACE:
        return expr(p, x->a, P_ATOM, b) || ad_buf_adds(b, ".replace(") || expr(p, x->b, 0, b) ||
               ad_buf_adds(b, ", ") || c_str(x, b) || ad_buf_addch(b, ')');
    case SO_SUB:
        return ad_buf_adds(b, "re.sub(") || pat_str(p, x, b) || ad_buf_adds(b, ", ") ||
               c_str(x, b) || ad_buf_adds(b, ", ") || expr(p, x->a, 0, b) || ad_buf_addch(b, ')');
    case SO_SUFFIX:
        return expr(p, x->a, P_COND + 1, b) || ad_buf_adds(b, " if ") ||
               expr(p, x->a, P_ATOM, b) || ad_buf_adds(b, ".endswith(") || c_str(x, b) ||
               ad_buf_adds(b, ") else ") || expr(p, x->a, P_ADD, b) || ad_buf_adds(b, " + ") ||
               c_str(x, b);
    case SO_DROP:
        return expr(p, x->a, P_ATOM, b) || ad_buf_addch(b, '[') || expr(p, x->b, 0, b) ||
               ad_buf_adds(b, ":]");
    case SO_SPLIT:
        return expr(p, x->a, P_ATOM, b) || ad_buf_adds(b, ".split(") || c_str(x, b) ||
               ad_buf_adds(b, ")[") || expr(p, x->b, P_ADD, b) || ad_buf_adds(b, " - 1]");
    case SO_PART:
        return expr(p, x->a, P_ATOM, b) || ad_buf_adds(b, ".split(") || c_str(x, b) ||
               ad_buf_addf(b, ")[%d]", x->cond);
    case SO_FIRST:
        return expr(p, x->a, P_ATOM, b) || ad_buf_adds(b, "[:1]");
    case SO_HEAD:
    case SO_TAIL:
        return expr(p, x->a, P_ATOM, b) ||
               ad_buf_adds(b, x->n == SO_HEAD ? ".rsplit(" : ".split(") || c_str(x, b) ||
               ad_buf_adds(b, x->n == SO_HEAD ? ", 1)[0]" : ", 1)[-1]");
    case SO_MAP: {
        static const char *const cases[] = { ".lower()", ".upper()", ".title()", ".capitalize()",
                                             ".strip()" };
        const char *sep = x->f ? x->f : "";
        int k = x->cond % 8, cs = x->cond / 8 - 1;

        return sx_py_str(b, sep, strlen(sep), false) || ad_buf_adds(b, ".join(w") ||
               (k > 0 && ad_buf_addf(b, "[:%d]", k)) || (cs >= 0 && ad_buf_adds(b, cases[cs])) ||
               ad_buf_adds(b, " for w in ") || expr(p, x->a, P_ATOM, b) ||
               ad_buf_adds(b, ".split(") || c_str(x, b) || ad_buf_adds(b, "))");
    }
    case SO_INITIALS:
        return ad_buf_adds(b, "re.sub(r\"([A-Z])[a-z]+ *\", r\"\\1\", ") || expr(p, x->a, 0, b) ||
               ad_buf_addch(b, ')');
    default:
        return -1;
    }
}

static int expr(struct ad_synth_program *p, int node, int need, struct ad_buf *b)
{
    static const char *const cases[] = { "lower", "upper", "title", "capitalize", "strip" };
    static const char *const ops[] = { " + ", " - ", " * ", " / " };
    static const char *const cmps[] = { " > ", " >= ", " < ", " <= ", " == " };
    const struct sx *x = &p->node[node];
    int prec = prec_of(x), rc = 0;
    bool paren = prec < need;

    if (paren)
        rc = ad_buf_addch(b, '(');
    switch (x->kind) {
    case SX_PATH:
        rc = rc || path_expr(p, x, b);
        break;
    case SX_CONST:
        rc = rc || sx_py_value(b, x->c);
        break;
    case SX_NTH:
        rc = rc || ad_buf_adds(b, "_nth(") ||
             sx_py_str(b, p->pat[x->pat].src, strlen(p->pat[x->pat].src), true) ||
             ad_buf_adds(b, ", ") || expr(p, x->a, 0, b) || ad_buf_addf(b, ", %d)", x->n);
        break;
    case SX_ALL:
        rc = rc || ad_buf_adds(b, "re.findall(") ||
             sx_py_str(b, p->pat[x->pat].src, strlen(p->pat[x->pat].src), true) ||
             ad_buf_adds(b, ", ") || expr(p, x->a, 0, b) || ad_buf_addch(b, ')');
        break;
    case SX_CASE:
        rc = rc || expr(p, x->a, P_ATOM, b) || ad_buf_addf(b, ".%s()", cases[x->n]);
        break;
    case SX_CAT:
        rc = rc || expr(p, x->a, P_ADD, b) || ad_buf_adds(b, " + ") || expr(p, x->b, P_ADD + 1, b);
        break;
    case SX_STR:
        rc = rc || ad_buf_adds(b, "str(") || expr(p, x->a, 0, b) || ad_buf_addch(b, ')');
        break;
    case SX_FMT:
        rc = rc || ad_buf_adds(b, "format(") || expr(p, x->a, 0, b) ||
             ad_buf_addf(b, ", \".%df\")", x->n);
        break;
    case SX_BIN:
        rc = rc || expr(p, x->a, prec, b) || ad_buf_adds(b, ops[x->n]) ||
             expr(p, x->b, prec + 1, b);
        break;
    case SX_ROUND:
        rc = rc || ad_buf_adds(b, "round(") || expr(p, x->a, 0, b);
        rc = rc || (x->n >= 0 ? ad_buf_addf(b, ", %d)", x->n) : ad_buf_addch(b, ')'));
        break;
    case SX_AGG:
        rc = rc || agg_expr(p, x, b);
        break;
    case SX_FILTER:
        rc = rc || filter_expr(p, x, b);
        break;
    case SX_CMP:
        rc = rc || expr(p, x->a, P_CMP + 1, b) || ad_buf_adds(b, cmps[x->n]);
        rc = rc || (x->b >= 0 ? expr(p, x->b, P_CMP + 1, b) : sx_py_value(b, x->c));
        break;
    case SX_STROP:
        rc = rc || strop_expr(p, x, b);
        break;
    case SX_IF:
        rc = rc || expr(p, x->b, P_COND + 1, b) || ad_buf_adds(b, " if ") ||
             expr(p, x->a, P_COND + 1, b) || ad_buf_adds(b, " else ") || expr(p, x->n, P_COND, b);
        break;
    }
    if (paren)
        rc = rc || ad_buf_addch(b, ')');
    return rc;
}

int sx_emit_expr(struct ad_synth_program *p, int node, struct ad_buf *out)
{
    return expr(p, node, 0, out);
}

/* ---- the module ---- */

/* Only nodes reachable from the root count; the search leaves others behind. */
static void mark(const struct ad_synth_program *p, int node, bool *seen)
{
    if (node < 0 || seen[node])
        return;
    seen[node] = true;
    mark(p, p->node[node].a, seen);
    mark(p, p->node[node].b, seen);
    if (p->node[node].kind == SX_IF)
        mark(p, p->node[node].n, seen);
}

static const char nth_helper[] =
    "def _nth(pattern: str, text: str, k: int) -> str:\n"
    "    \"\"\"Match k of pattern in text (0 is the first, -1 the last).\"\"\"\n"
    "    found = re.findall(pattern, text)\n"
    "    if not -len(found) <= k < len(found):\n"
    "        raise ValueError(f\"{pattern!r} matches {len(found)} times in the input; \"\n"
    "                         f\"match {k} is needed\")\n"
    "    return found[k]\n";

static const char dig_helper[] =
    "def _dig(value: Any, *path: str | int, default: Any = None) -> Any:\n"
    "    \"\"\"The value at path (keys and list indexes), or default where it is missing.\"\"\"\n"
    "    for step in path:\n"
    "        if isinstance(step, str) and isinstance(value, dict) and step in value:\n"
    "            value = value[step]\n"
    "        elif (isinstance(step, int) and isinstance(value, list)\n"
    "              and -len(value) <= step < len(value)):\n"
    "            value = value[step]\n"
    "        else:\n"
    "            return default\n"
    "    return value\n";

/* int() within what the C evaluation holds exactly: both refuse a larger number alike. */
static const char int_helper[] =
    "def _int(digits: str) -> int:\n"
    "    \"\"\"int() of a run of digits; ValueError past 18 significant digits.\"\"\"\n"
    "    value = int(digits)\n"
    "    if value >= 10**18:\n"
    "        raise ValueError(f\"{digits!r} is too large a number\")\n"
    "    return value\n";

/* Cuts b to at bytes and adds tail, when it is longer than at + 10. */
static int clip(struct ad_buf *b, size_t at, const char *tail)
{
    if (b->len <= at + 10)
        return 0;
    b->len = at;
    b->ptr[at] = '\0';
    return ad_buf_adds(b, tail);
}

/* The call of the first example, for the docstring, clipped. */
static int example_line(struct ad_synth_program *p, const char *name, const json_t *ex,
                        struct ad_buf *b)
{
    struct ad_buf call = AD_BUF_INIT, res = AD_BUF_INIT;
    const json_t *in = json_object_get(ex, "input");
    int rc = ad_buf_addf(&call, "%s(", name);

    if (p->mode == MODE_KW) {
        const char *k;
        json_t *v;
        size_t i = 0;

        json_object_foreach((json_t *)in, k, v)
            rc = rc || (i++ && ad_buf_adds(&call, ", ")) || ad_buf_addf(&call, "%s=", k) ||
                 sx_py_value(&call, v);
    } else {
        rc = rc || sx_py_value(&call, in);
    }
    rc = rc || ad_buf_addch(&call, ')') || sx_py_value(&res, json_object_get(ex, "output"));
    if (rc == 0)
        rc = clip(&call, 150, " ...)") || clip(&res, 90, " ...");
    rc = rc || ad_buf_addf(b, "    Example: %s\n    returns %s.\n", call.ptr, res.ptr);
    ad_buf_release(&call);
    ad_buf_release(&res);
    return rc;
}

int sx_emit_module(struct ad_synth_program *p, const char *name, const char *description,
                   const json_t *examples, struct ad_buf *out)
{
    struct ad_buf doc = AD_BUF_INIT, ret = AD_BUF_INIT;
    bool *seen = calloc(p->nnode ? p->nnode : 1, sizeof(bool));
    bool need_re = false, need_nth = false, need_dig = false, need_int = false, need_any;
    int rc;

    if (!seen)
        return AD_ENOMEM;
    mark(p, p->root, seen);
    for (size_t i = 0; i < p->nnode; i++) {
        if (!seen[i])
            continue;
        need_re |= p->node[i].kind == SX_NTH || p->node[i].kind == SX_ALL ||
                   (p->node[i].kind == SX_STROP &&
                    (p->node[i].n == SO_SEARCH || p->node[i].n == SO_SUB ||
                     p->node[i].n == SO_INITIALS));
        need_nth |= p->node[i].kind == SX_NTH;
        need_int |= p->node[i].kind == SX_STROP && p->node[i].n == SO_INT;
        need_dig |= p->node[i].kind == SX_PATH && p->node[i].c &&
                    !(p->mode == MODE_KW && p->node[i].path.n == 1);
    }
    free(seen);
    need_any = need_dig || !strcmp(p->rtype, "Any");
    for (size_t i = 0; i < p->nparam; i++)
        need_any |= strstr(p->param[i].type, "Any") != NULL;

    rc = sx_emit_expr(p, p->root, &ret);
    /* The docstring, escaped as a whole. */
    rc = rc || ad_buf_addf(&doc, "%s\n\n", description);
    rc = rc || ad_buf_addf(&doc, "    Synthesized by autodev from %zu example%s, without a model:\n"
                                 "    the simplest program of its language that fits them all.\n",
                           json_array_size(examples), json_array_size(examples) == 1 ? "" : "s");
    if (need_nth)
        rc = rc || ad_buf_adds(&doc, "    Raises ValueError when a pattern does not match.\n");
    rc = rc || ad_buf_addch(&doc, '\n') ||
         example_line(p, name, json_array_get(examples, 0), &doc);

    rc = rc || (need_re && ad_buf_adds(out, "import re\n"));
    rc = rc || (need_any && ad_buf_adds(out, "from typing import Any\n"));
    rc = rc || ((need_re || need_any) && ad_buf_adds(out, "\n\n"));
    rc = rc || ad_buf_addf(out, "def %s(", name);
    for (size_t i = 0; rc == 0 && i < p->nparam; i++) {
        const struct sx_param *pa = &p->param[i];

        rc = (i && ad_buf_adds(out, ", ")) || ad_buf_addf(out, "%s: %s", pa->name, pa->type);
        if (rc == 0 && pa->optional)
            rc = ad_buf_adds(out, " = ") ||
                 (pa->def ? sx_py_value(out, pa->def) : ad_buf_adds(out, "None"));
    }
    rc = rc || ad_buf_addf(out, ") -> %s:\n    \"\"\"", p->rtype);
    rc = rc || escape(out, doc.ptr, doc.len, "") || ad_buf_adds(out, "    \"\"\"\n");
    rc = rc || ad_buf_adds(out, "    return ") || ad_buf_add(out, ret.ptr, ret.len) ||
         ad_buf_addch(out, '\n');
    rc = rc || (need_nth && (ad_buf_adds(out, "\n\n") || ad_buf_adds(out, nth_helper)));
    rc = rc || (need_dig && (ad_buf_adds(out, "\n\n") || ad_buf_adds(out, dig_helper)));
    rc = rc || (need_int && (ad_buf_adds(out, "\n\n") || ad_buf_adds(out, int_helper)));
    ad_buf_release(&doc);
    ad_buf_release(&ret);
    return rc ? AD_ENOMEM : 0;
}
