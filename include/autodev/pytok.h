/*
 * A Python tokenizer good enough for mutation and for reading signatures
 * (module propose; used by agent to derive input schemas).
 *
 * It never fails on its input: every byte belongs to exactly one token, the
 * tokens tile the source in order (whitespace, line continuations and
 * newlines are tokens too), and a byte it cannot place becomes a one-byte
 * AD_TOK_ERROR. An unterminated string is flagged AD_TOKF_UNTERMINATED; a
 * triple-quoted one runs to the end of the input, a single-quoted one to the
 * end of its line (where Python itself reports the error).
 *
 * Besides the tokens it records the logical lines (statements): a logical
 * line starts at the beginning of the physical line holding its first token,
 * so its span includes the indentation, and ends after its NEWLINE token.
 * Blank and comment-only lines belong to no logical line.
 */
#ifndef AUTODEV_PYTOK_H
#define AUTODEV_PYTOK_H

/* Module propose, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/pytok.h belongs to module propose (layer 3), above the module including it"
#endif

#include <stddef.h>

#include "autodev/error.h"

enum ad_tok_kind {
    AD_TOK_WS = 1,     /* spaces, tabs, form feeds, a backslash-newline, a BOM */
    AD_TOK_NAME,       /* identifiers and keywords (bytes >= 0x80 count as letters) */
    AD_TOK_NUMBER,
    AD_TOK_STRING,     /* with its prefix; f-strings are one token */
    AD_TOK_OP,
    AD_TOK_COMMENT,    /* '#' to the end of the line, without the newline */
    AD_TOK_NEWLINE,    /* the newline that ends a logical line */
    AD_TOK_NL,         /* any other newline: blank lines, inside brackets */
    AD_TOK_ERROR,      /* one byte that starts no token */
};

enum ad_tok_flags {
    AD_TOKF_UNTERMINATED = 1 << 0,   /* a string without its closing quote */
};

struct ad_tok {
    enum ad_tok_kind kind;
    unsigned flags;
    size_t off, len;    /* the bytes src[off, off + len) */
    int line;           /* 1-based line of the first byte */
    int depth;          /* bracket depth before the token */
    long lline;         /* index of its logical line, -1 for none (and for the
                           indentation before a logical line's first token) */
};

struct ad_pyline {
    size_t start, end;  /* src[start, end): indentation to newline included */
    int first_line, last_line;
    int indent;         /* column of the first token (tabs to multiples of 8) */
    size_t tok_first;   /* index of the first significant token */
    size_t tok_end;     /* one past its last token (the NEWLINE when there is one) */
};

struct ad_pytok {
    struct ad_tok *toks;      /* owned */
    size_t ntoks;
    struct ad_pyline *lines;  /* owned */
    size_t nlines;
};

#define AD_PYTOK_INIT { NULL, 0, NULL, 0 }

/* Tokenises src; fails only with AD_ENOMEM (or AD_ETOOBIG past INT_MAX lines). */
int ad_pytok_run(const char *src, size_t len, struct ad_pytok *out, struct ad_err *err);
void ad_pytok_release(struct ad_pytok *t);

/* "NAME", "OP", ...; static, never NULL. */
const char *ad_tok_kind_name(enum ad_tok_kind k);

/* 1 when the token is a significant one (not whitespace, comment or newline). */
int ad_tok_significant(const struct ad_tok *t);

/* 1 when the token's bytes equal the C string s. */
int ad_tok_is(const char *src, const struct ad_tok *t, const char *s);

#endif
