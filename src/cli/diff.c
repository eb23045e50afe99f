/*
 * A side-by-side line diff for the terminal (mutations show): the longest
 * common subsequence of the two texts' lines, printed in two columns with
 * sdiff's marks: ' ' the same, '|' changed, '<' only on the left, '>' only
 * on the right.
 *
 * The common head and tail are taken off first, so a mutant (an edit of a
 * few lines) leaves a small middle for the LCS table; a middle whose table
 * would pass DIFF_CELLS_MAX cells is shown as one changed block rather
 * than spend the memory. Tabs become 4 spaces and a column is cut at a
 * character boundary, so the columns stay aligned; what is printed goes
 * through the caller's stream, which escapes control characters.
 */
#include "compat.h"

#include <stdio.h>

#include "cli.h"

#define DIFF_CELLS_MAX (4u * 1024 * 1024)

struct lines {
    const char **ptr;     /* start of each line */
    size_t *len;          /* its length without the newline */
    size_t n;
};

static void lines_release(struct lines *l)
{
    free(l->ptr);
    free(l->len);
}

/* Splits text at newlines (a last line without one counts; "" has none). */
static int split(const char *text, struct lines *l)
{
    size_t n = 0, i = 0;

    memset(l, 0, sizeof(*l));
    for (const char *p = text; *p; p++)
        n += *p == '\n' || !p[1];
    l->ptr = calloc(n ? n : 1, sizeof(*l->ptr));
    l->len = calloc(n ? n : 1, sizeof(*l->len));
    if (!l->ptr || !l->len)
        return -1;
    for (const char *p = text; *p && i < n; i++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        l->ptr[i] = p;
        l->len[i] = len;
        p += len + (nl ? 1 : 0);
    }
    l->n = n;
    return 0;
}

static bool same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    return a->len[i] == b->len[j] && !memcmp(a->ptr[i], b->ptr[j], a->len[i]);
}

/* Prints one column: the line's first width characters, padded to width when pad. */
static void column(FILE *out, const char *s, size_t len, int width, bool pad)
{
    int used = 0;

    for (size_t k = 0; k < len && used < width;) {
        unsigned char c = (unsigned char)s[k];
        size_t clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;

        if (c == '\t') {
            for (int t = 0; t < 4 && used < width; t++, used++)
                fputc(' ', out);
            k++;
            continue;
        }
        if (k + clen > len)
            clen = len - k;
        fwrite(s + k, 1, clen, out);
        k += clen;
        used++;
    }
    while (pad && used++ < width)
        fputc(' ', out);
}

static void row(FILE *out, const struct lines *a, size_t i, char mark, const struct lines *b,
                size_t j, int width)
{
    bool left = mark != '>', right = mark != '<';

    column(out, left ? a->ptr[i] : "", left ? a->len[i] : 0, width, true);
    fprintf(out, " %c", mark);
    if (right) {
        fputc(' ', out);
        column(out, b->ptr[j], b->len[j], width, false);
    }
    fputc('\n', out);
}

/* A block of a's lines [i, i+na) replaced by b's [j, j+nb): paired '|', then '<' or '>'. */
static void block(FILE *out, const struct lines *a, size_t i, size_t na, const struct lines *b,
                  size_t j, size_t nb, int width)
{
    size_t k;

    for (k = 0; k < na && k < nb; k++)
        row(out, a, i + k, '|', b, j + k, width);
    for (; k < na; k++)
        row(out, a, i + k, '<', b, 0, width);
    for (; k < nb; k++)
        row(out, a, 0, '>', b, j + k, width);
}

/*
 * The middle a[lo_a, hi_a) against b[lo_b, hi_b) by LCS: t[x][y] is the
 * length of the LCS of a's lines from lo_a + x and b's from lo_b + y.
 */
static int middle(FILE *out, const struct lines *a, size_t lo_a, size_t hi_a,
                  const struct lines *b, size_t lo_b, size_t hi_b, int width)
{
    size_t na = hi_a - lo_a, nb = hi_b - lo_b, x = 0, y = 0, x0 = 0, y0 = 0;
    unsigned *t;

    if ((na + 1) * (nb + 1) > DIFF_CELLS_MAX) {
        block(out, a, lo_a, na, b, lo_b, nb, width);
        return 0;
    }
    t = calloc((na + 1) * (nb + 1), sizeof(*t));
    if (!t)
        return -1;
#define T(x, y) t[(x) * (nb + 1) + (y)]
    for (size_t p = na; p-- > 0;) {
        for (size_t q = nb; q-- > 0;) {
            if (same(a, lo_a + p, b, lo_b + q))
                T(p, q) = T(p + 1, q + 1) + 1;
            else
                T(p, q) = T(p + 1, q) > T(p, q + 1) ? T(p + 1, q) : T(p, q + 1);
        }
    }
    while (x < na || y < nb) {
        if (x < na && y < nb && same(a, lo_a + x, b, lo_b + y)) {
            block(out, a, lo_a + x0, x - x0, b, lo_b + y0, y - y0, width);
            row(out, a, lo_a + x, ' ', b, lo_b + y, width);
            x0 = ++x;
            y0 = ++y;
        } else if (y == nb || (x < na && T(x + 1, y) >= T(x, y + 1))) {
            x++;
        } else {
            y++;
        }
    }
#undef T
    block(out, a, lo_a + x0, na - x0, b, lo_b + y0, nb - y0, width);
    free(t);
    return 0;
}

int ad__diff_side_by_side(FILE *out, const char *left, const char *right, int width)
{
    struct lines a = { 0 }, b = { 0 };
    size_t head = 0, tail = 0;
    int rc = -1;

    if (split(left ? left : "", &a) == 0 && split(right ? right : "", &b) == 0) {
        while (head < a.n && head < b.n && same(&a, head, &b, head))
            head++;
        while (tail < a.n - head && tail < b.n - head &&
               same(&a, a.n - 1 - tail, &b, b.n - 1 - tail))
            tail++;
        for (size_t i = 0; i < head; i++)
            row(out, &a, i, ' ', &b, i, width);
        rc = middle(out, &a, head, a.n - tail, &b, head, b.n - tail, width);
        for (size_t i = tail; rc == 0 && i > 0; i--)
            row(out, &a, a.n - i, ' ', &b, b.n - i, width);
    }
    lines_release(&a);
    lines_release(&b);
    return rc;
}
