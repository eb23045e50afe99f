/*
 * libFuzzer driver: the edit formats (src/edit).
 *
 * The input is a file text and a model's reply, split at the first line
 * "%%%%" (without one, the input is both). The reply is parsed, its fences
 * stripped, a function extracted, and every block applied to the file
 * text. Invariants checked beyond "no crash, no leak":
 *   - every parsed block has its search and replace text, a sane kind and a
 *     line inside the reply; new and whole files have an empty search;
 *   - a refused apply leaves the output buffer as it was;
 *   - an edit whose search is copied from the file and that applies exactly,
 *     followed by its inverse applied exactly, gives back the file text;
 *   - ad_edit_check_path, over every block's path and the reply's first
 *     line, refuses what a plain reading already sees as version control
 *     metadata or a climb, judges "./" + path as it judges path, and
 *     refuses path + "/.GIT/x".
 */
#include "compat.h"

#include "autodev/buf.h"
#include "autodev/edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const char *s, size_t n)
{
    size_t k = 1;

    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    return k;
}

static void check_set(const struct ad_edit_set *set, const char *reply, size_t len)
{
    size_t lines = count_lines(reply, len);

    for (size_t i = 0; i < set->n; i++) {
        const struct ad_edit_block *b = &set->v[i];

        if (!b->search || !b->replace || b->line < 1 || (size_t)b->line > lines)
            abort();
        if (b->kind != AD_EDIT_REPLACE && b->kind != AD_EDIT_NEW_FILE &&
            b->kind != AD_EDIT_WHOLE_FILE)
            abort();
        if (b->kind != AD_EDIT_REPLACE && b->search[0])
            abort();
        if (b->kind == AD_EDIT_REPLACE && !b->search[0])
            abort();
    }
}

static void apply_all(const char *file, size_t flen, const struct ad_edit_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct ad_buf out = AD_BUF_INIT, fb = AD_BUF_INIT;
        struct ad_err err = AD_ERR_INIT;
        enum ad_edit_match how;
        int rc;

        if (ad_buf_adds(&out, "#") != 0)
            abort();
        rc = ad_edit_apply_text(i % 2 ? file : NULL, flen, &set->v[i], &out, &how, &fb, &err);
        if (rc != 0 && (out.len != 1 || out.ptr[0] != '#' || how != AD_EDIT_MATCH_NONE))
            abort();
        if (rc == 0 && how == AD_EDIT_MATCH_NONE)
            abort();
        ad_buf_release(&out);
        ad_buf_release(&fb);
    }
}

/* Up to max lines of s starting at line first, each with "\n". */
static int take_lines(const char *s, size_t n, size_t first, size_t max, struct ad_buf *out)
{
    size_t line = 0, i = 0;

    while (i < n && line < first) {
        line += s[i] == '\n';
        i++;
    }
    while (i < n && max > 0) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - s) : n;

        if (ad_buf_add(out, s + i, e - i) || ad_buf_addch(out, '\n'))
            return -1;
        i = e + 1;
        max--;
    }
    return 0;
}

/* The edit and its inverse, both exact, must give back the file text. */
static void round_trip(const char *file, size_t flen, const char *reply, size_t rlen)
{
    struct ad_buf s = AD_BUF_INIT, r = AD_BUF_INIT, out = AD_BUF_INIT, back = AD_BUF_INIT;
    struct ad_edit_block b = { AD_EDIT_REPLACE, NULL, NULL, NULL, 1, 0 };
    struct ad_err err = AD_ERR_INIT;
    enum ad_edit_match how;
    size_t first = rlen ? (unsigned char)reply[0] : 0, nl = count_lines(file, flen);

    if (memchr(file, '\r', flen) || memchr(reply, '\r', rlen) || memchr(file, 0, flen))
        return;
    rlen = strnlen(reply, rlen);
    if (take_lines(file, flen, first % nl, 1 + first % 4, &s) ||
        take_lines(reply, rlen, 0, 3, &r) || s.len == 0 || r.len == 0)
        goto out;
    /*
     * A file without a final newline keeps none, so an empty last line of
     * the replacement cannot survive at its end: no inverse to check.
     */
    if (flen && file[flen - 1] != '\n' && (r.len == 1 || r.ptr[r.len - 2] == '\n'))
        goto out;
    b.search = s.ptr;
    b.replace = r.ptr;
    if (ad_edit_apply_text(file, flen, &b, &out, &how, NULL, &err) != 0 ||
        how != AD_EDIT_MATCH_EXACT)
        goto out;
    b.search = r.ptr;
    b.replace = s.ptr;
    if (ad_edit_apply_text(out.ptr, out.len, &b, &back, &how, NULL, &err) != 0 ||
        how != AD_EDIT_MATCH_EXACT)
        goto out;
    if (back.len != flen || memcmp(back.ptr, file, flen) != 0)
        abort();
out:
    ad_buf_release(&s);
    ad_buf_release(&r);
    ad_buf_release(&out);
    ad_buf_release(&back);
}

/*
 * What a plain reading sees in a path: a component that is "..", or that
 * is .git, .hg or .svn in any case once cut at a ':' and stripped of
 * trailing dots and spaces. ad_edit_check_path must refuse at least this.
 */
static int plainly_bad(const char *p)
{
    static const char *const names[] = { ".git", ".hg", ".svn" };

    while (*p) {
        size_t n = strcspn(p, "/"), k = strcspn(p, "/:");
        char c[8];

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        while (k > 0 && (p[k - 1] == '.' || p[k - 1] == ' '))
            k--;
        if (k < sizeof(c)) {
            for (size_t j = 0; j < k; j++)
                c[j] = (char)(p[j] >= 'A' && p[j] <= 'Z' ? p[j] - 'A' + 'a' : p[j]);
            for (size_t i = 0; i < AD_ARRAY_SIZE(names); i++) {
                if (k == strlen(names[i]) && memcmp(c, names[i], k) == 0)
                    return 1;
            }
        }
        p += n;
        p += *p == '/';
    }
    return 0;
}

static void check_path(const char *path)
{
    struct ad_buf b = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_edit_check_path(path, &err);

    if (rc == 0 && (plainly_bad(path) || path[0] == '/' || path[0] == '\0'))
        abort();
    if (rc != 0 && err.msg[0] == '\0')
        abort();
    if (path[0] != '/' && ad_buf_addf(&b, "./%s", path) == 0 &&
        (ad_edit_check_path(b.ptr, NULL) == 0) != !rc)
        abort();
    ad_buf_reset(&b);
    if (rc == 0 && ad_buf_addf(&b, "%s/.GIT/x", path) == 0 &&
        ad_edit_check_path(b.ptr, NULL) != AD_EPERM)
        abort();
    ad_buf_release(&b);
}

/* Every block's path, and the first line of the reply read as one. */
static void check_paths(const struct ad_edit_set *set, const char *reply, size_t rlen)
{
    const char *nl = memchr(reply, '\n', rlen);
    size_t n = nl ? (size_t)(nl - reply) : rlen;
    char line[4097];

    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i].path)
            check_path(set->v[i].path);
    }
    if (n < sizeof(line) && !memchr(reply, '\0', n)) {
        memcpy(line, reply, n);
        line[n] = '\0';
        check_path(line);
    }
}

static void text_helpers(const char *reply, size_t rlen)
{
    struct ad_buf out = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    int rc;

    if (ad_edit_strip_fences(reply, rlen, &out, &err) != 0 || out.len > rlen + 1)
        abort();
    ad_buf_release(&out);
    for (int imports = 0; imports < 2; imports++) {
        rc = ad_edit_extract_function(reply, rlen, imports ? "f" : NULL, imports, &out, &err);
        if (rc != 0 && (rc != AD_ENOTFOUND || out.len != 0))
            abort();
        if (rc == 0 && (out.len == 0 || out.ptr[out.len - 1] != '\n'))
            abort();
        ad_buf_release(&out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = data ? (const char *)data : "", *file = in, *reply = in, *sep = NULL;
    size_t flen = size, rlen = size;
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_err err = AD_ERR_INIT;

    for (size_t i = 0; i + 5 <= size && !sep; i++) {
        if ((i == 0 || in[i - 1] == '\n') && memcmp(in + i, "%%%%\n", 5) == 0)
            sep = in + i;
    }
    if (sep) {
        flen = (size_t)(sep - in);
        reply = sep + 5;
        rlen = size - flen - 5;
    }
    if (ad_edit_parse(reply, rlen, &set, &err) == 0) {
        if (set.n == 0)
            abort();
        check_set(&set, reply, rlen);
        apply_all(file, flen, &set);
        check_paths(&set, reply, rlen);
    } else if (set.n != 0 || set.v != NULL) {
        abort();
    }
    if (set.n == 0)
        check_paths(&set, reply, rlen);
    ad_edit_set_release(&set);
    text_helpers(reply, rlen);
    round_trip(file, flen, reply, rlen);
    return 0;
}
