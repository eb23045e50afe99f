/*
 * Growable byte buffer with a hard maximum, and a non-owning string view.
 *
 * struct ad_buf is always NUL-terminated (ptr is never NULL, even when
 * empty), so buf.ptr can be passed where a C string is expected. Appending
 * past buf.max fails with AD_ETOOBIG and leaves the buffer unchanged: input
 * over a cap is refused, never silently truncated.
 */
#ifndef AUTODEV_BUF_H
#define AUTODEV_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* Default cap for buffers initialised with AD_BUF_INIT: 64 MiB. */
#define AD_BUF_DEFAULT_MAX ((size_t)64 << 20)

extern char ad__buf_empty[1];

struct ad_buf {
    char *ptr;      /* owned unless it points at ad__buf_empty */
    size_t len;     /* bytes used, excluding the terminating NUL */
    size_t alloc;   /* bytes allocated; 0 while ptr is ad__buf_empty */
    size_t max;     /* largest len allowed */
};

#define AD_BUF_INIT { ad__buf_empty, 0, 0, AD_BUF_DEFAULT_MAX }

void ad_buf_init(struct ad_buf *b, size_t max);
/* Frees the memory; the buffer is ready for reuse as if just initialised. */
void ad_buf_release(struct ad_buf *b);
/* Empties the buffer, keeping its memory. */
void ad_buf_reset(struct ad_buf *b);
/* Ensures room for extra more bytes. AD_ETOOBIG past max, AD_ENOMEM. */
int ad_buf_grow(struct ad_buf *b, size_t extra);
int ad_buf_add(struct ad_buf *b, const void *data, size_t len);
int ad_buf_adds(struct ad_buf *b, const char *s);
int ad_buf_addch(struct ad_buf *b, char c);
int ad_buf_addf(struct ad_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ad_buf_vaddf(struct ad_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/*
 * Hands the memory to the caller (free() it) and re-initialises the buffer.
 * Never returns NULL unless allocation fails; *len may be NULL.
 */
char *ad_buf_detach(struct ad_buf *b, size_t *len);
/* A new string (free() it) formatted like printf; NULL when out of memory. */
char *ad_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ad_vstrdupf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Non-owning view into someone else's bytes; not NUL-terminated. */
struct ad_str {
    const char *ptr;
    size_t len;
};

#define AD_STR(lit) ((struct ad_str){ (lit), sizeof(lit) - 1 })

struct ad_str ad_str_c(const char *s);
/* The last non-blank line of s, without its line end: a Python traceback
 * ends with "Type: message". Empty (len 0) when s is blank or NULL. */
struct ad_str ad_str_last_line(const char *s);
int ad_str_eq(struct ad_str a, struct ad_str b);
int ad_str_eqc(struct ad_str a, const char *s);

#endif
