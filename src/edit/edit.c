/*
 * Reading edits out of a model's reply: SEARCH/REPLACE blocks, unified diff
 * hunks and fenced whole files; stripping markdown fences; cutting one
 * Python function out of a reply.
 *
 * Sections:
 *   1. lines        splitting a text into line views (a "\r" before "\n" dropped)
 *   2. recognisers  fences, markers, path lines, diff headers
 *   3. the parser   one pass over the lines; each construct consumes its lines
 *   4. fences       ad_edit_strip_fences
 *   5. functions    a small Python line scanner and ad_edit_extract_function
 *
 * The parser is one forward pass: every line is looked at a bounded number
 * of times (a blank line inside a diff hunk looks ahead once for its whole
 * run), so the work is linear in the size of the reply.
 */
#include "compat.h"

#include <ctype.h>

#include "autodev/buf.h"
#include "autodev/edit.h"
#include "autodev/error.h"

/* ---- 1. lines ------------------------------------------------------------- */

struct line {
    const char *p;
    size_t len;   /* without the "\n" and a "\r" before it */
};

struct lines {
    struct line *v;
    size_t n;
};

static int split_lines(const char *text, size_t len, struct lines *out)
{
    const char *s = text, *end = text + len, *nl;
    size_t n = 0;

    for (s = text; s < end; s = nl + 1) {
        nl = memchr(s, '\n', (size_t)(end - s));
        n++;
        if (!nl)
            break;
    }
    out->n = 0;
    out->v = malloc((n ? n : 1) * sizeof(*out->v));
    if (!out->v)
        return AD_ENOMEM;
    for (s = text; s < end; s = nl + 1) {
        struct line *l = &out->v[out->n++];

        nl = memchr(s, '\n', (size_t)(end - s));
        l->p = s;
        l->len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (nl && l->len > 0 && s[l->len - 1] == '\r')
            l->len--;
        if (!nl)
            break;
    }
    return 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

static int is_blank(struct line l)
{
    for (size_t i = 0; i < l.len; i++) {
        if (!is_ws(l.p[i]))
            return 0;
    }
    return 1;
}

static struct line trim(struct line l)
{
    while (l.len && is_ws(l.p[0])) {
        l.p++;
        l.len--;
    }
    while (l.len && is_ws(l.p[l.len - 1]))
        l.len--;
    return l;
}

static int starts(struct line l, const char *prefix)
{
    size_t n = strlen(prefix);

    return l.len >= n && memcmp(l.p, prefix, n) == 0;
}

static int starts_ci(struct line l, const char *prefix)
{
    size_t n = strlen(prefix);

    return l.len >= n && strncasecmp(l.p, prefix, n) == 0;
}

static struct line skip(struct line l, size_t n)
{
    l.p += n;
    l.len -= n;
    return l;
}

static size_t leading_spaces(struct line l)
{
    size_t i = 0;

    while (i < l.len && (l.p[i] == ' ' || l.p[i] == '\t'))
        i++;
    return i;
}

/* Appends lines [a, b) each with "\n", less up to strip leading spaces. */
static int add_lines(struct ad_buf *b, const struct lines *ls, size_t a, size_t e, size_t strip)
{
    for (size_t i = a; i < e; i++) {
        struct line l = ls->v[i];
        size_t k = 0;
        int rc;

        while (k < strip && k < l.len && l.p[k] == ' ')
            k++;
        rc = ad_buf_add(b, l.p + k, l.len - k);
        if (!rc)
            rc = ad_buf_addch(b, '\n');
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- 2. recognisers ----------------------------------------------------- */

struct fence {
    char ch;          /* '`' or '~' */
    size_t count;     /* 3 or more */
    size_t indent;    /* spaces before the fence */
    struct line info; /* the info string, trimmed */
};

/*
 * An opening fence: up to 8 spaces (fences in list items are indented),
 * three or more '`' or '~', an info string. As in CommonMark a backtick
 * fence's info string holds no backtick, which keeps ```inline``` prose out.
 */
static int fence_open(struct line l, struct fence *f)
{
    size_t i = 0, k;

    while (i < l.len && i < 8 && l.p[i] == ' ')
        i++;
    if (i >= l.len || (l.p[i] != '`' && l.p[i] != '~'))
        return 0;
    for (k = i; k < l.len && l.p[k] == l.p[i]; k++)
        ;
    if (k - i < 3)
        return 0;
    f->ch = l.p[i];
    f->count = k - i;
    f->indent = i;
    f->info = trim(skip(l, k));
    if (f->ch == '`' && memchr(f->info.p, '`', f->info.len))
        return 0;
    return 1;
}

/* A closing fence for f: the same character, at least as many, nothing after. */
static int fence_close(struct line l, const struct fence *f)
{
    size_t i = 0, k;

    while (i < l.len && i < f->indent + 3 && l.p[i] == ' ')
        i++;
    for (k = i; k < l.len && l.p[k] == f->ch; k++)
        ;
    return k - i >= f->count && k - i >= 3 && is_blank(skip(l, k));
}

/*
 * A marker line: 5 to 9 of c, then optionally word (any case), then only
 * white space. word NULL: nothing may follow.
 */
static int is_marker(struct line l, char c, const char *word)
{
    size_t i = leading_spaces(l), k;
    struct line rest;

    for (k = i; k < l.len && l.p[k] == c; k++)
        ;
    if (k - i < 5 || k - i > 9)
        return 0;
    rest = trim(skip(l, k));
    if (rest.len == 0)
        return 1;
    return word && rest.len == strlen(word) && strncasecmp(rest.p, word, rest.len) == 0;
}

static int path_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '/' || c == '+' || c == '@' || c == '~' ||
           c >= 0x80;
}

/*
 * Whether w, all by itself, is a file name. explicit: the writer marked it
 * as one (backticks, bold, "file:"), so "Makefile" counts; otherwise it
 * needs a '.' or '/' to tell it from a word of prose.
 */
static int valid_path(struct line w, int explicit)
{
    int alnum = 0, dot = 0;

    if (w.len == 0 || w.len > 1024 || w.p[0] == '-')
        return 0;
    for (size_t i = 0; i < w.len; i++) {
        unsigned char c = (unsigned char)w.p[i];

        if (!path_char(c))
            return 0;
        if (c == '.' || c == '/')
            dot = 1;
        else if (c != '_' && c != '-' && c != '+' && c != '@' && c != '~')
            alnum = 1;
    }
    return alnum && (dot || explicit) && w.p[w.len - 1] != '/';
}

/* Drops one matching pair of wrappers (**, __, *, `, ', ") from both ends. */
static int unwrap(struct line *w)
{
    static const char *const pairs[] = { "**", "__", "*", "`", "'", "\"" };

    for (size_t i = 0; i < AD_ARRAY_SIZE(pairs); i++) {
        size_t n = strlen(pairs[i]);

        if (w->len >= 2 * n + 1 && memcmp(w->p, pairs[i], n) == 0 &&
            memcmp(w->p + w->len - n, pairs[i], n) == 0) {
            *w = trim((struct line){ w->p + n, w->len - 2 * n });
            return 1;
        }
    }
    return 0;
}

static void drop_colon(struct line *w)
{
    if (w->len && w->p[w->len - 1] == ':')
        w->len--;
    *w = trim(*w);
}

/* Drops a list item's marker: "- ", "* ", "+ ", "1. ", "2) ". */
static struct line skip_list_marker(struct line w)
{
    size_t k = 0;

    if (w.len >= 2 && (w.p[0] == '-' || w.p[0] == '*' || w.p[0] == '+') && w.p[1] == ' ')
        return trim(skip(w, 2));
    while (k < w.len && k < 4 && w.p[k] >= '0' && w.p[k] <= '9')
        k++;
    if (k > 0 && k + 1 < w.len && (w.p[k] == '.' || w.p[k] == ')') && w.p[k + 1] == ' ')
        return trim(skip(w, k + 2));
    return w;
}

/*
 * A line that names a file and nothing else: "src/x.py", "`x.py`",
 * "**x.py**", "# file: x.py", "### x.py:", "File: x.py". Prose never
 * passes because a path is one word.
 */
static int path_line(struct line l, struct line *path)
{
    static const char *const labels[] = { "filename:", "file:", "path:" };
    struct line w = trim(l);
    int explicit = 0;

    w = skip_list_marker(w);
    if (starts(w, "//"))
        w = trim(skip(w, 2));
    while (w.len && w.p[0] == '#')
        w = skip(w, 1);
    w = trim(w);
    for (size_t i = 0; i < AD_ARRAY_SIZE(labels); i++) {
        if (starts_ci(w, labels[i])) {
            w = trim(skip(w, strlen(labels[i])));
            explicit = 1;
            break;
        }
    }
    drop_colon(&w);
    while (unwrap(&w)) {
        explicit = 1;
        drop_colon(&w);
    }
    if (!valid_path(w, explicit))
        return 0;
    *path = w;
    return 1;
}

/*
 * A path in a fence's info string: "python path/to/x.py", "x.py",
 * "python:x.py", "python title=x.py". The language alone is no path.
 */
static int info_path(struct line info, struct line *path)
{
    size_t i = 0;

    for (int word = 0; i < info.len; word++) {
        size_t s, e;
        struct line w;
        const void *eq, *colon;

        while (i < info.len && is_ws(info.p[i]))
            i++;
        for (s = i; i < info.len && !is_ws(info.p[i]); i++)
            ;
        e = i;
        w = (struct line){ info.p + s, e - s };
        eq = memchr(w.p, '=', w.len);
        colon = word == 0 ? memchr(w.p, ':', w.len) : NULL;
        if (eq)
            w = skip(w, (size_t)((const char *)eq - w.p) + 1);
        else if (colon)
            w = skip(w, (size_t)((const char *)colon - w.p) + 1);
        while (unwrap(&w))
            ;
        if (valid_path(w, 0)) {
            *path = w;
            return 1;
        }
    }
    return 0;
}

/* "--- x" followed by "+++ y": the header of one file's diff. */
static int diff_header(const struct lines *ls, size_t i)
{
    return i + 1 < ls->n && starts(ls->v[i], "--- ") && starts(ls->v[i + 1], "+++ ");
}

static int hunk_header(struct line l)
{
    return starts(l, "@@");
}

/*
 * The path in a "--- a/x" or "+++ b/x" line: up to a tab (diff puts a
 * time stamp there), quotes and the a/ b/ prefixes dropped. Sets *devnull
 * for /dev/null.
 */
static struct line diff_path(struct line l, int *devnull)
{
    struct line w = trim(skip(l, 4));
    const char *tab = memchr(w.p, '\t', w.len);

    if (tab)
        w = trim((struct line){ w.p, (size_t)(tab - w.p) });
    while (unwrap(&w))
        ;
    *devnull = w.len == 9 && memcmp(w.p, "/dev/null", 9) == 0;
    if (starts(w, "a/") || starts(w, "b/"))
        w = skip(w, 2);
    return w;
}

/* ---- 3. the parser ------------------------------------------------------- */

struct parser {
    const struct lines *ls;
    struct ad_edit_set *out;
    size_t cap;
    char *last_path;       /* owned; the last path named so far */
    int in_fence;
    struct fence fence;
    size_t fence_line;     /* index of the opening fence */
    int fence_edits;       /* blocks found inside the open fence */
    struct line fence_path;
    int has_fence_path;
    struct ad_err *err;
};

static char *dup_line(struct line l)
{
    char *s = malloc(l.len + 1);

    if (s) {
        memcpy(s, l.p, l.len);
        s[l.len] = '\0';
    }
    return s;
}

static int set_last_path(struct parser *p, struct line path)
{
    char *s = dup_line(path);

    if (!s)
        return AD_ENOMEM;
    free(p->last_path);
    p->last_path = s;
    return 0;
}

/*
 * The path named just before line i: a path line, or a fence line whose
 * info string or preceding line names one. Blank lines in between are
 * skipped (at most two), since markdown often separates a heading from its
 * fence.
 */
static size_t skip_blank_back(const struct lines *ls, size_t k)
{
    for (int blanks = 0; k > 0 && blanks < 2 && is_blank(ls->v[k - 1]); blanks++)
        k--;
    return k;
}

static int path_before(const struct parser *p, size_t i, struct line *path)
{
    const struct lines *ls = p->ls;
    struct fence f;
    size_t k = skip_blank_back(ls, i);

    if (k == 0)
        return 0;
    if (path_line(ls->v[k - 1], path))
        return 1;
    if (!fence_open(ls->v[k - 1], &f))
        return 0;
    if (info_path(f.info, path))
        return 1;
    k = skip_blank_back(ls, k - 1);
    return k > 0 && path_line(ls->v[k - 1], path);
}

static int emit(struct parser *p, enum ad_edit_kind kind, struct ad_buf *search,
                struct ad_buf *replace, size_t line, int from_diff)
{
    struct ad_edit_block *b;

    if (p->out->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 8;
        struct ad_edit_block *v = realloc(p->out->v, ncap * sizeof(*v));

        if (!v)
            return AD_ENOMEM;
        p->out->v = v;
        p->cap = ncap;
    }
    b = &p->out->v[p->out->n];
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    b->line = line + 1 > (size_t)INT32_MAX ? INT32_MAX : (int)(line + 1);
    b->from_diff = from_diff;
    b->path = p->last_path ? strdup(p->last_path) : NULL;
    b->search = ad_buf_detach(search, NULL);
    b->replace = ad_buf_detach(replace, NULL);
    p->out->n++;
    if ((p->last_path && !b->path) || !b->search || !b->replace)
        return AD_ENOMEM;
    if (p->in_fence)
        p->fence_edits++;
    return 0;
}

/* The path for a block starting at line i: its own, else the last one named. */
static int block_path(struct parser *p, size_t i)
{
    struct line path;

    if (path_before(p, i, &path))
        return set_last_path(p, path);
    return 0;
}

/* Finds the end of the SEARCH/REPLACE block opened at line i. */
static int sr_bounds(struct parser *p, size_t i, size_t *div, size_t *end)
{
    const struct lines *ls = p->ls;
    size_t j;

    for (j = i + 1; j < ls->n && !is_marker(ls->v[j], '=', NULL); j++) {
        if (is_marker(ls->v[j], '<', "search") || is_marker(ls->v[j], '>', "replace"))
            return ad_error(p->err, AD_EINVAL, "edit block at line %zu has no '=======' divider "
                            "before line %zu", i + 1, j + 1);
    }
    if (j == ls->n)
        return ad_error(p->err, AD_EINVAL, "unterminated edit block at line %zu: no '=======' "
                        "divider", i + 1);
    *div = j;
    for (j++; j < ls->n && !is_marker(ls->v[j], '>', "replace"); j++) {
        if (is_marker(ls->v[j], '<', "search"))
            return ad_error(p->err, AD_EINVAL, "edit block at line %zu is not closed by "
                            "'>>>>>>> REPLACE' before the next one at line %zu", i + 1, j + 1);
    }
    if (j == ls->n)
        return ad_error(p->err, AD_EINVAL, "unterminated edit block at line %zu: no "
                        "'>>>>>>> REPLACE' marker", i + 1);
    *end = j;
    return 0;
}

static int all_blank(const struct ad_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        if (!is_ws(b->ptr[i]) && b->ptr[i] != '\n')
            return 0;
    }
    return 1;
}

/* A SEARCH/REPLACE block whose "<<<<<<<" marker is line i. */
static int parse_sr(struct parser *p, size_t i, size_t *next)
{
    struct ad_buf search = AD_BUF_INIT, replace = AD_BUF_INIT;
    size_t div = 0, end = 0;
    int rc;

    rc = sr_bounds(p, i, &div, &end);
    if (!rc)
        rc = block_path(p, i);
    if (!rc)
        rc = add_lines(&search, p->ls, i + 1, div, 0);
    if (!rc)
        rc = add_lines(&replace, p->ls, div + 1, end, 0);
    if (rc)
        goto out;
    if (all_blank(&search)) {
        ad_buf_reset(&search);
        rc = emit(p, AD_EDIT_NEW_FILE, &search, &replace, i, 0);
    } else {
        rc = emit(p, AD_EDIT_REPLACE, &search, &replace, i, 0);
    }
    *next = end + 1;
out:
    ad_buf_release(&search);
    ad_buf_release(&replace);
    return rc == AD_ENOMEM || rc == AD_ETOOBIG
               ? ad_error(p->err, rc, "cannot parse an edit block: %s", ad_strerror(rc)) : rc;
}

static int add_text(struct ad_buf *b, struct line l)
{
    int rc = ad_buf_add(b, l.p, l.len);

    return rc ? rc : ad_buf_addch(b, '\n');
}

static int hunk_line(struct line l)
{
    return l.len > 0 && (l.p[0] == ' ' || l.p[0] == '-' || l.p[0] == '+' || l.p[0] == '\\');
}

/*
 * Whether line j (not blank) continues a hunk. A "--- "/"+++ " pair starts
 * the next file instead.
 */
static int hunk_goes_on(const struct lines *ls, size_t j)
{
    return j < ls->n && hunk_line(ls->v[j]) && !diff_header(ls, j);
}

/*
 * The body of the hunk whose "@@" line is h, into search (context and '-')
 * and replace (context and '+'). A blank line is a context line whose
 * space the writer dropped, when the hunk goes on after it.
 */
static int hunk_body(const struct lines *ls, size_t h, struct ad_buf *search,
                     struct ad_buf *replace, size_t *next)
{
    size_t j = h + 1;
    int rc = 0;

    while (j < ls->n && !rc) {
        struct line l = ls->v[j];
        char c = l.len ? l.p[0] : ' ';

        if (is_blank(l)) {
            size_t k = j;

            while (k < ls->n && is_blank(ls->v[k]))
                k++;
            if (!hunk_goes_on(ls, k))
                break;
            for (; j < k && !rc; j++) {
                rc = ad_buf_addch(search, '\n');
                if (!rc)
                    rc = ad_buf_addch(replace, '\n');
            }
            continue;
        }
        if (!hunk_goes_on(ls, j))
            break;
        l = skip(l, 1);
        if (c == ' ' || c == '-')
            rc = add_text(search, l);
        if (!rc && (c == ' ' || c == '+'))
            rc = add_text(replace, l);
        j++;
    }
    *next = j;
    return rc;
}

/*
 * The hunks starting at line i. new_file: the source is /dev/null, so the
 * hunks together are the content of a new file, one block.
 */
static int parse_hunks(struct parser *p, size_t i, int new_file, size_t *next)
{
    struct ad_buf search = AD_BUF_INIT, replace = AD_BUF_INIT;
    size_t first = i;
    int rc = 0;

    while (!rc && i < p->ls->n && hunk_header(p->ls->v[i])) {
        if (!new_file)
            ad_buf_reset(&search);
        rc = hunk_body(p->ls, i, &search, &replace, &i);
        if (rc || new_file)
            continue;
        if (search.len == replace.len && memcmp(search.ptr, replace.ptr, search.len) == 0)
            ad_buf_reset(&replace);   /* context only: nothing to do */
        else if (search.len == 0)
            rc = emit(p, AD_EDIT_NEW_FILE, &search, &replace, first, 1);
        else
            rc = emit(p, AD_EDIT_REPLACE, &search, &replace, first, 1);
        first = i;
    }
    if (!rc && new_file && first != i) {
        ad_buf_reset(&search);
        rc = emit(p, AD_EDIT_NEW_FILE, &search, &replace, first, 1);
    }
    *next = i;
    ad_buf_release(&search);
    ad_buf_release(&replace);
    return rc ? ad_error(p->err, rc, "cannot parse a diff: %s", ad_strerror(rc)) : 0;
}

/* A "--- a/x" / "+++ b/x" header at line i and the hunks under it. */
static int parse_diff(struct parser *p, size_t i, size_t *next)
{
    int old_null, new_null, rc;
    struct line old = diff_path(p->ls->v[i], &old_null);
    struct line nw = diff_path(p->ls->v[i + 1], &new_null);

    /* A deleted file (+++ /dev/null) keeps its old name; its hunks empty it. */
    rc = set_last_path(p, new_null ? old : nw);
    if (rc)
        return ad_error(p->err, rc, "cannot parse a diff: %s", ad_strerror(rc));
    if (new_null && old_null) {
        *next = i + 2;
        return 0;
    }
    return parse_hunks(p, i + 2, old_null, next);
}

static int open_fence(struct parser *p, size_t i)
{
    struct line path;
    int rc;

    p->in_fence = 1;
    p->fence_line = i;
    p->fence_edits = 0;
    p->has_fence_path = info_path(p->fence.info, &path) || path_before(p, i, &path);
    if (!p->has_fence_path)
        return 0;
    p->fence_path = path;
    rc = set_last_path(p, path);
    return rc ? ad_error(p->err, rc, "cannot parse a fenced block: %s", ad_strerror(rc)) : 0;
}

/* The open fence holds a whole file: it has a path, no edit, and is no diff. */
static int fence_is_file(const struct parser *p)
{
    return !p->fence_edits && p->has_fence_path && !starts_ci(p->fence.info, "diff") &&
           !starts_ci(p->fence.info, "patch");
}

/* A fence closed at line i: a whole file when it had a path and no edit in it. */
static int close_fence(struct parser *p, size_t i)
{
    struct ad_buf search = AD_BUF_INIT, replace = AD_BUF_INIT;
    int rc = 0;

    p->in_fence = 0;
    if (!fence_is_file(p))
        return 0;
    rc = set_last_path(p, p->fence_path);
    if (!rc)
        rc = add_lines(&replace, p->ls, p->fence_line + 1, i, p->fence.indent);
    if (!rc)
        rc = emit(p, AD_EDIT_WHOLE_FILE, &search, &replace, p->fence_line, 0);
    ad_buf_release(&search);
    ad_buf_release(&replace);
    return rc ? ad_error(p->err, rc, "cannot parse a fenced file: %s", ad_strerror(rc)) : 0;
}

/* Looks at line i and consumes it, or the construct it starts. */
static int parse_line(struct parser *p, size_t i, size_t *next)
{
    struct line l = p->ls->v[i];
    int rc = 0;

    *next = i + 1;
    if (p->in_fence && fence_close(l, &p->fence))
        return close_fence(p, i);
    if (!p->in_fence && fence_open(l, &p->fence))
        return open_fence(p, i);
    if (is_marker(l, '<', "search"))
        return parse_sr(p, i, next);
    if (diff_header(p->ls, i))
        return parse_diff(p, i, next);
    if (hunk_header(l)) {
        rc = block_path(p, i);
        return rc ? ad_error(p->err, rc, "cannot parse a diff: %s", ad_strerror(rc))
                  : parse_hunks(p, i, 0, next);
    }
    return 0;
}

int ad_edit_parse(const char *reply, size_t len, struct ad_edit_set *out, struct ad_err *err)
{
    struct lines ls = { NULL, 0 };
    struct parser p;
    size_t i = 0;
    int rc;

    memset(&p, 0, sizeof(p));
    out->v = NULL;
    out->n = 0;
    /* Blocks are C strings; a NUL byte would cut one short without a word. */
    if (reply && memchr(reply, '\0', len))
        return ad_error(err, AD_EINVAL, "reply has a NUL byte at offset %zu",
                        (size_t)((const char *)memchr(reply, '\0', len) - reply));
    rc = split_lines(reply ? reply : "", reply ? len : 0, &ls);
    if (rc) {
        rc = ad_error(err, rc, "out of memory splitting the reply");
        goto out;
    }
    p.ls = &ls;
    p.out = out;
    p.err = err;
    while (i < ls.n && !rc)
        rc = parse_line(&p, i, &i);
    if (!rc && p.in_fence && fence_is_file(&p))
        rc = ad_error(err, AD_EINVAL, "unterminated fenced block at line %zu", p.fence_line + 1);
    if (!rc && out->n == 0)
        rc = ad_error(err, AD_ENOTFOUND, "no edit blocks found (looked for SEARCH/REPLACE "
                      "blocks, unified diff hunks and fenced whole files)");
out:
    if (rc)
        ad_edit_set_release(out);
    free(p.last_path);
    free(ls.v);
    return rc;
}

void ad_edit_set_release(struct ad_edit_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
        free(s->v[i].search);
        free(s->v[i].replace);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

const char *ad_edit_match_name(enum ad_edit_match m)
{
    switch (m) {
    case AD_EDIT_MATCH_NONE: return "none";
    case AD_EDIT_MATCH_EXACT: return "exact";
    case AD_EDIT_MATCH_INDENT: return "indent";
    case AD_EDIT_MATCH_BLANKLINES: return "blank-lines";
    case AD_EDIT_MATCH_ELISION: return "elision";
    case AD_EDIT_MATCH_CREATE: return "create";
    }
    return "unknown";
}

/* ---- 4. fences ------------------------------------------------------------ */

static int strip_lines(const struct lines *ls, struct ad_buf *out)
{
    size_t a = 0, e = ls->n;
    struct fence f;

    for (size_t i = 0; i < ls->n; i++) {
        if (!fence_open(ls->v[i], &f))
            continue;
        for (e = i + 1; e < ls->n && !fence_close(ls->v[e], &f); e++)
            ;
        return add_lines(out, ls, i + 1, e, f.indent);
    }
    while (a < e && is_blank(ls->v[a]))
        a++;
    while (e > a && is_blank(ls->v[e - 1]))
        e--;
    return add_lines(out, ls, a, e, 0);
}

int ad_edit_strip_fences(const char *text, size_t len, struct ad_buf *out, struct ad_err *err)
{
    struct lines ls = { NULL, 0 };
    size_t old = out->len;
    int rc;

    rc = split_lines(text ? text : "", text ? len : 0, &ls);
    if (!rc)
        rc = strip_lines(&ls, out);
    if (rc) {
        out->len = old;
        if (out->alloc)
            out->ptr[old] = '\0';
        rc = ad_error(err, rc, "cannot strip fences: %s", ad_strerror(rc));
    }
    free(ls.v);
    return rc;
}

/* ---- 5. functions --------------------------------------------------------- */

/*
 * What the Python scanner carries from one line to the next: open brackets,
 * an open string (its quote and whether it is triple), a backslash at the
 * end of the line. A line that starts with any of these continues the
 * logical line before it, whatever its indentation.
 */
struct pystate {
    size_t depth;
    char quote;
    int triple;
    int backslash;
};

static int py_continues(const struct pystate *st)
{
    return st->depth > 0 || st->quote || st->backslash;
}

/* Scans from inside a string at l.p[k]; returns the index after it closes, or l.len. */
static size_t py_in_string(struct line l, size_t k, struct pystate *st, int *esc_eol)
{
    while (k < l.len) {
        char c = l.p[k];

        if (c == '\\') {
            if (k + 1 == l.len)
                *esc_eol = 1;
            k += 2;
            continue;
        }
        if (c == st->quote && (!st->triple || (k + 2 < l.len && l.p[k + 1] == c &&
                                               l.p[k + 2] == c))) {
            k += st->triple ? 3 : 1;
            st->quote = 0;
            return k;
        }
        k++;
    }
    return l.len;
}

static void py_scan(struct line l, struct pystate *st)
{
    size_t k = 0;
    int esc_eol = 0;

    st->backslash = 0;
    while (k < l.len) {
        char c = l.p[k];

        if (st->quote) {
            k = py_in_string(l, k, st, &esc_eol);
            continue;
        }
        if (c == '#')
            break;
        if (c == '\'' || c == '"') {
            st->quote = c;
            st->triple = k + 2 < l.len && l.p[k + 1] == c && l.p[k + 2] == c;
            k += st->triple ? 3 : 1;
            continue;
        }
        if (c == '(' || c == '[' || c == '{')
            st->depth++;
        else if ((c == ')' || c == ']' || c == '}') && st->depth > 0)
            st->depth--;
        else if (c == '\\' && k + 1 == l.len)
            st->backslash = 1;
        k++;
    }
    /* A one-quote string ends at the line's end unless a backslash carries it on. */
    if (st->quote && !st->triple && !esc_eol)
        st->quote = 0;
}

/* cont[i]: line i continues the logical line before it. */
static int py_cont(const struct lines *ls, unsigned char **cont)
{
    struct pystate st = { 0, 0, 0, 0 };

    *cont = malloc(ls->n ? ls->n : 1);
    if (!*cont)
        return AD_ENOMEM;
    for (size_t i = 0; i < ls->n; i++) {
        (*cont)[i] = (unsigned char)py_continues(&st);
        py_scan(ls->v[i], &st);
    }
    return 0;
}

/* "def NAME(" or "async def NAME(" at column 0; name NULL matches any. */
static int is_def(struct line l, const char *name)
{
    size_t k, n;

    if (starts(l, "async") && l.len > 5 && is_ws(l.p[5]))
        l = trim(skip(l, 5));
    if (!starts(l, "def") || l.len < 4 || !is_ws(l.p[3]))
        return 0;
    l = trim(skip(l, 3));
    for (k = 0; k < l.len && (l.p[k] == '_' || isalnum((unsigned char)l.p[k]) ||
                              (unsigned char)l.p[k] >= 0x80); k++)
        ;
    n = k;
    while (k < l.len && is_ws(l.p[k]))
        k++;
    if (n == 0 || k >= l.len || l.p[k] != '(')
        return 0;
    return !name || (strlen(name) == n && memcmp(l.p, name, n) == 0);
}

/* The end (exclusive) of the function whose def is line d: its signature and body. */
static size_t def_end(const struct lines *ls, const unsigned char *cont, size_t d)
{
    size_t end = d + 1;

    for (size_t j = d + 1; j < ls->n; j++) {
        struct line l = ls->v[j];

        if (cont[j] || (l.len > 0 && (l.p[0] == ' ' || l.p[0] == '\t') && !is_blank(l)))
            end = j + 1;
        else if (!is_blank(l) && l.p[0] != '#')
            break;
        /* Blank lines and column-0 comments belong only if the body goes on. */
    }
    return end;
}

/* The first line of the decorators right above line d (d itself if none). */
static size_t def_start(const struct lines *ls, const unsigned char *cont, size_t d)
{
    size_t s = d;

    while (s > 0) {
        size_t k = s - 1;

        while (k > 0 && cont[k])
            k--;
        if (cont[k] || !starts(ls->v[k], "@"))
            break;
        s = k;
    }
    return s;
}

static int is_import(struct line l)
{
    return (starts(l, "import") && l.len > 6 && is_ws(l.p[6])) ||
           (starts(l, "from") && l.len > 4 && is_ws(l.p[4]));
}

/* The module-level import statements of the text, whole logical lines. */
static int add_imports(const struct lines *ls, const unsigned char *cont, struct ad_buf *out)
{
    int rc = 0;

    for (size_t i = 0; i < ls->n && !rc; i++) {
        size_t e = i + 1;

        if (cont[i] || !is_import(ls->v[i]))
            continue;
        while (e < ls->n && cont[e])
            e++;
        rc = add_lines(out, ls, i, e, 0);
        i = e - 1;
    }
    return rc;
}

static int extract_lines(const struct lines *ls, const char *name, int with_imports,
                         struct ad_buf *out, struct ad_err *err)
{
    unsigned char *cont = NULL;
    size_t d, s, e;
    int rc = py_cont(ls, &cont);

    if (rc)
        goto out;
    for (d = 0; d < ls->n && (cont[d] || !is_def(ls->v[d], name)); d++)
        ;
    if (d == ls->n) {
        rc = name ? ad_error(err, AD_ENOTFOUND, "no function '%s' found", name)
                  : ad_error(err, AD_ENOTFOUND, "no top-level function found");
        goto out;
    }
    s = def_start(ls, cont, d);
    e = def_end(ls, cont, d);
    if (with_imports) {
        size_t before = out->len;

        rc = add_imports(ls, cont, out);
        if (!rc && out->len > before)
            rc = ad_buf_adds(out, "\n\n");
    }
    if (!rc)
        rc = add_lines(out, ls, s, e, 0);
out:
    free(cont);
    return rc == AD_ENOMEM || rc == AD_ETOOBIG
               ? ad_error(err, rc, "cannot extract function: %s", ad_strerror(rc)) : rc;
}

int ad_edit_extract_function(const char *text, size_t len, const char *name, int with_imports,
                             struct ad_buf *out, struct ad_err *err)
{
    struct ad_buf code = AD_BUF_INIT;
    struct lines ls = { NULL, 0 };
    size_t old = out->len;
    int rc;

    code.max = (text ? len : 0) + 16;
    rc = ad_edit_strip_fences(text, len, &code, err);
    if (rc)
        goto out;
    rc = split_lines(code.ptr, code.len, &ls);
    if (rc) {
        rc = ad_error(err, rc, "out of memory splitting the text");
        goto out;
    }
    rc = extract_lines(&ls, name, with_imports, out, err);
out:
    if (rc) {
        out->len = old;
        if (out->alloc)
            out->ptr[old] = '\0';
    }
    free(ls.v);
    ad_buf_release(&code);
    return rc;
}
