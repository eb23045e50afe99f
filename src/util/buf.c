#include "compat.h"

#include "autodev/buf.h"
#include "autodev/error.h"

/*
 * Every empty buffer points here so that ptr is always a valid C string;
 * nothing may write to it except the NUL that is already there.
 */
char ad__buf_empty[1];

void ad_buf_init(struct ad_buf *b, size_t max)
{
    b->ptr = ad__buf_empty;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void ad_buf_release(struct ad_buf *b)
{
    if (!b)
        return;
    if (b->alloc)
        free(b->ptr);
    ad_buf_init(b, b->max);
}

void ad_buf_reset(struct ad_buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->ptr[0] = '\0';
}

int ad_buf_grow(struct ad_buf *b, size_t extra)
{
    size_t need, nalloc;
    char *p;

    /* The terminating NUL needs one byte past max: a max of SIZE_MAX leaves it none. */
    if (extra > b->max || b->len > b->max - extra || b->len + extra == SIZE_MAX)
        return AD_ETOOBIG;
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    /* Grow by half again (git's alloc_nr) so appends stay amortised O(1). */
    nalloc = b->alloc ? b->alloc + b->alloc / 2 + 16 : 64;
    if (nalloc < need)
        nalloc = need;
    if (b->max < SIZE_MAX && nalloc > b->max + 1)
        nalloc = b->max + 1;
    p = realloc(b->alloc ? b->ptr : NULL, nalloc);
    if (!p)
        return AD_ENOMEM;
    if (!b->alloc)
        p[0] = '\0';
    b->ptr = p;
    b->alloc = nalloc;
    return 0;
}

int ad_buf_add(struct ad_buf *b, const void *data, size_t len)
{
    int rc = ad_buf_grow(b, len);

    if (rc)
        return rc;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int ad_buf_adds(struct ad_buf *b, const char *s)
{
    return ad_buf_add(b, s, strlen(s));
}

int ad_buf_addch(struct ad_buf *b, char c)
{
    return ad_buf_add(b, &c, 1);
}

int ad_buf_vaddf(struct ad_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, rc;

    va_copy(cp, ap);
    n = vsnprintf(b->ptr + b->len, b->alloc ? b->alloc - b->len : 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return AD_EINVAL;
    if (b->alloc && (size_t)n < b->alloc - b->len) {
        if ((size_t)n > b->max - b->len) {
            b->ptr[b->len] = '\0';
            return AD_ETOOBIG;
        }
        b->len += n;
        return 0;
    }
    rc = ad_buf_grow(b, (size_t)n);
    if (rc) {
        if (b->alloc)
            b->ptr[b->len] = '\0';
        return rc;
    }
    vsnprintf(b->ptr + b->len, b->alloc - b->len, fmt, ap);
    b->len += n;
    return 0;
}

int ad_buf_addf(struct ad_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = ad_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *ad_buf_detach(struct ad_buf *b, size_t *len)
{
    char *p;

    if (len)
        *len = b->len;
    if (b->alloc) {
        p = b->ptr;
    } else {
        p = malloc(1);
        if (p)
            p[0] = '\0';
    }
    ad_buf_init(b, b->max);
    return p;
}

struct ad_str ad_str_c(const char *s)
{
    struct ad_str r = { s, s ? strlen(s) : 0 };

    return r;
}

int ad_str_eq(struct ad_str a, struct ad_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

int ad_str_eqc(struct ad_str a, const char *s)
{
    return ad_str_eq(a, ad_str_c(s));
}

char *ad_vstrdupf(const char *fmt, va_list ap)
{
    struct ad_buf b = AD_BUF_INIT;

    if (ad_buf_vaddf(&b, fmt, ap) < 0) {
        ad_buf_release(&b);
        return NULL;
    }
    return ad_buf_detach(&b, NULL);
}

char *ad_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = ad_vstrdupf(fmt, ap);
    va_end(ap);
    return s;
}

struct ad_str ad_str_last_line(const char *s)
{
    struct ad_str r = { s ? s : "", 0 };
    const char *end = r.ptr + strlen(r.ptr), *start;

    while (end > r.ptr && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
                           end[-1] == '\t'))
        end--;
    start = end;
    while (start > r.ptr && start[-1] != '\n')
        start--;
    r.ptr = start;
    r.len = (size_t)(end - start);
    return r;
}
