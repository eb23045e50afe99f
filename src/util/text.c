/*
 * Words, stop words, identifiers, UTF-8 and error types (see text.h).
 */
#include "compat.h"

#include "autodev/error.h"
#include "autodev/text.h"

/*
 * Sorted, lower case: the union of the lists catalog matching and skill
 * naming used to keep apart. A word that says nothing about what a task
 * does: articles, pronouns, prepositions, conjunctions, fillers. "up" is
 * not one: "sum up" and "look up" say what the task does.
 */
static const char *const stop_words[] = {
    "a", "all", "an", "and", "any", "are", "as", "at", "be", "by", "each", "every", "for",
    "from", "given", "i", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our",
    "out", "please", "so", "some", "that", "the", "their", "them", "then", "these", "this",
    "those", "to", "us", "using", "via", "we", "what", "with", "you", "your",
};

bool ad_text_stop_word(const char *w, size_t n)
{
    char low[16];
    size_t lo = 0, hi = AD_ARRAY_SIZE(stop_words);

    if (n < 2)
        return true;
    if (n >= sizeof(low))
        return false;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(w[i] >= 'A' && w[i] <= 'Z' ? w[i] - 'A' + 'a' : w[i]);
    low[n] = '\0';
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(low, stop_words[mid]);

        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

int ad_text_strip_stop_words(const char *text, struct ad_buf *out)
{
    const char *p = text;
    struct ad_str w;
    bool first = true;

    while (ad_text_word(&p, &w)) {
        int rc;

        if (ad_text_stop_word(w.ptr, w.len))
            continue;
        rc = first ? 0 : ad_buf_addch(out, ' ');
        if (rc == 0)
            rc = ad_buf_add(out, w.ptr, w.len);
        if (rc < 0)
            return rc;
        first = false;
    }
    return 0;
}

static bool ident_char(unsigned char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

bool ad_text_identifier(const char *s, size_t max)
{
    size_t n;

    if (!s || !ident_char((unsigned char)s[0], true))
        return false;
    for (n = 1; s[n]; n++) {
        if (!ident_char((unsigned char)s[n], false))
            return false;
    }
    return max == 0 || n <= max;
}

bool ad_text_dotted_identifier(const char *s, size_t n)
{
    bool at_start = true;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (at_start)
                return false;
            at_start = true;
        } else if (!ident_char((unsigned char)s[i], at_start)) {
            return false;
        } else {
            at_start = false;
        }
    }
    return !at_start;
}

bool ad_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p, cp, min;
        size_t n;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;   /* a continuation byte, 0xc0/0xc1 (overlong), or > U+10FFFF */
        }
        if ((size_t)(end - p) <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool ad_text_error_type(const char *trace, char out[AD_ERROR_TYPE_MAX + 1])
{
    const char *end, *start, *colon;
    size_t n;

    if (!trace)
        return false;
    end = trace + strlen(trace);
    while (end > trace && blank(end[-1]))
        end--;
    start = end;
    while (start > trace && start[-1] != '\n')
        start--;
    while (start < end && blank(*start))
        start++;
    colon = memchr(start, ':', (size_t)(end - start));
    if (!colon)
        return false;
    n = (size_t)(colon - start);
    if (n > AD_ERROR_TYPE_MAX || !ad_text_dotted_identifier(start, n))
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return true;
}
