/*
 * Small text helpers every module shares (module util): words, the one
 * stop-word list, identifiers, strict UTF-8, and the error type of a trace.
 *
 * They used to be written once per module, and the copies drifted (two
 * stop-word lists that disagreed, four identifier checks with different
 * length rules). Everything here is pure: no allocation unless a buffer is
 * passed, no locale (ASCII case rules only), safe on any bytes.
 */
#ifndef AUTODEV_TEXT_H
#define AUTODEV_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "autodev/buf.h"

/*
 * Words: maximal runs of ASCII letters and digits and of bytes >= 0x80 (so
 * a UTF-8 letter belongs to its word; "naïve" is one word). Everything else
 * separates words, '_' and '-' included.
 *
 * ad_text_word() finds the next word at or after *p, points w at it, moves
 * *p past it and returns true; false (w untouched) when no word is left.
 * *p may be NULL or "" for none.
 */
static inline bool ad_text_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

/* Inline: reflection splits every description of its window on each failure. */
static inline bool ad_text_word(const char **p, struct ad_str *w)
{
    const unsigned char *s = (const unsigned char *)(*p ? *p : "");
    const unsigned char *start;

    while (*s && !ad_text_word_byte(*s))
        s++;
    if (!*s) {
        *p = (const char *)s;
        return false;
    }
    start = s;
    while (*s && ad_text_word_byte(*s))
        s++;
    w->ptr = (const char *)start;
    w->len = (size_t)(s - start);
    *p = (const char *)s;
    return true;
}

/*
 * True when the word (any case) is a stop word: an article, pronoun,
 * preposition, conjunction or filler ("the", "of", "please", "using", ...),
 * or a single character. One list serves catalog matching (skill search and
 * task run), skill names suggested from task descriptions, and anything
 * else that weighs words.
 */
bool ad_text_stop_word(const char *w, size_t n);

/*
 * Appends the words of text that are not stop words, separated by one
 * space and in their original case, to out. Returns 0, or the code of the
 * failed append (AD_ENOMEM, AD_ETOOBIG past out's cap).
 */
int ad_text_strip_stop_words(const char *text, struct ad_buf *out);

/*
 * A Python identifier in ASCII: [A-Za-z_][A-Za-z0-9_]*, 1..max bytes
 * (max 0: no limit). Keywords are not checked. s may be NULL (false).
 */
bool ad_text_identifier(const char *s, size_t max);

/* The n bytes at s are identifiers joined by single dots ("json.decoder.JSONDecodeError"). */
bool ad_text_dotted_identifier(const char *s, size_t n);

/*
 * Strict UTF-8, as JSON, Python and PostgreSQL demand: no overlong forms,
 * no surrogates, nothing above U+10FFFF. NUL bytes are valid UTF-8; callers
 * that refuse them check separately.
 */
bool ad_utf8_valid(const char *s, size_t len);

/* Longest exception name reported; a longer token is not a name. */
#define AD_ERROR_TYPE_MAX 128

/*
 * The error type of a trace, into out; false when it has none. A Python
 * traceback ends with the exception ("ValueError: bad value"), and so do
 * most one-line error texts ("KeyError: 'x'"), so the LAST non-blank line
 * is the one read, and its type is the token before its first ':' when that
 * token is a (dotted) identifier of at most AD_ERROR_TYPE_MAX bytes.
 * Anything else is prose: no type. trace may be NULL.
 */
bool ad_text_error_type(const char *trace, char out[AD_ERROR_TYPE_MAX + 1]);

#endif
