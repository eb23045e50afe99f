/*
 * The registry of secret values and the masking of them (secret.h).
 *
 * Values are kept longest first, so that where two overlap the longer one
 * is masked, and a table of the bytes a value can start with (in both
 * cases) lets the scan skip every other position with one lookup: texts are
 * up to 8 MiB (a model's reply) and are masked on every log line.
 */
#include "compat.h"

#include <pthread.h>

#include "autodev/error.h"
#include "autodev/secret.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *values[AD_SECRET_MAX_VALUES];   /* owned, longest first */
static size_t lens[AD_SECRET_MAX_VALUES];
static size_t nvalues;
static size_t longest;
static unsigned char starts[256];            /* 1: some value starts with this byte */

#define MARKER_LEN (sizeof(AD_SECRET_MARKER) - 1)

/* The marker must fit wherever a value was, or masking in place would grow the text. */
_Static_assert(sizeof(AD_SECRET_MARKER) - 1 <= AD_SECRET_MIN, "marker longer than a value");

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static unsigned char upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - ('a' - 'A')) : c;
}

/* ASCII case-insensitive equality of n bytes (other bytes compare exactly). */
static bool same_nocase(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    }
    return true;
}

int ad_secret_add(const char *value)
{
    size_t len, i, at;
    char *copy;
    int rc = 0;

    if (!value)
        return 0;
    len = strnlen(value, AD_SECRET_MAX_LEN + 1);
    if (len < AD_SECRET_MIN)
        return 0;
    if (len > AD_SECRET_MAX_LEN)
        return AD_ETOOBIG;
    pthread_mutex_lock(&mu);
    for (i = 0; i < nvalues; i++) {
        if (lens[i] == len && same_nocase(values[i], value, len))
            goto out;
    }
    if (nvalues == AD_SECRET_MAX_VALUES) {
        rc = AD_ELIMIT;
        goto out;
    }
    copy = malloc(len + 1);
    if (!copy) {
        rc = AD_ENOMEM;
        goto out;
    }
    memcpy(copy, value, len + 1);
    for (at = 0; at < nvalues && lens[at] >= len; at++)
        ;
    memmove(&values[at + 1], &values[at], (nvalues - at) * sizeof(values[0]));
    memmove(&lens[at + 1], &lens[at], (nvalues - at) * sizeof(lens[0]));
    values[at] = copy;
    lens[at] = len;
    nvalues++;
    if (len > longest)
        longest = len;
    starts[lower((unsigned char)value[0])] = 1;
    starts[upper((unsigned char)value[0])] = 1;
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

/* The registered value that starts at p (at most left bytes), longest first: its length, or 0. */
static size_t match_at(const char *p, size_t left)
{
    size_t i;

    if (!starts[(unsigned char)*p])
        return 0;
    for (i = 0; i < nvalues; i++) {
        if (lens[i] <= left && same_nocase(p, values[i], lens[i]))
            return lens[i];
    }
    return 0;
}

size_t ad_secret_redact_mem(char *p, size_t *len)
{
    size_t r = 0, w = 0, n = *len, m, count = 0;

    if (!p)
        return 0;
    pthread_mutex_lock(&mu);
    if (nvalues == 0) {
        pthread_mutex_unlock(&mu);
        return 0;
    }
    while (r < n) {
        m = match_at(p + r, n - r);
        if (m == 0) {
            p[w++] = p[r++];
            continue;
        }
        /* w <= r and m >= MARKER_LEN: the marker lands on bytes already read. */
        memcpy(p + w, AD_SECRET_MARKER, MARKER_LEN);
        w += MARKER_LEN;
        r += m;
        count++;
    }
    pthread_mutex_unlock(&mu);
    *len = w;
    return count;
}

size_t ad_secret_redact(char *text)
{
    size_t len, count;

    if (!text)
        return 0;
    len = strlen(text);
    count = ad_secret_redact_mem(text, &len);
    text[len] = '\0';
    return count;
}

char *ad_secret_redacted(const char *text)
{
    char *copy = text ? strdup(text) : NULL;

    ad_secret_redact(copy);
    return copy;
}

bool ad_secret_contains(const char *text)
{
    size_t n = text ? strlen(text) : 0, i;
    bool found = false;

    pthread_mutex_lock(&mu);
    for (i = 0; nvalues && i < n && !found; i++)
        found = match_at(text + i, n - i) > 0;
    pthread_mutex_unlock(&mu);
    return found;
}

size_t ad_secret_partial_tail(const char *p, size_t len)
{
    size_t h, s, i, found = 0;

    pthread_mutex_lock(&mu);
    /* A proper prefix is at most longest - 1 bytes; the longest tail wins. */
    h = longest > 0 && len > longest - 1 ? len - (longest - 1) : 0;
    for (; h < len && !found; h++) {
        s = len - h;
        for (i = 0; i < nvalues && !found; i++) {
            if (lens[i] > s && same_nocase(p + h, values[i], s))
                found = s;
        }
    }
    pthread_mutex_unlock(&mu);
    return found;
}

size_t ad_secret_count(void)
{
    size_t n;

    pthread_mutex_lock(&mu);
    n = nvalues;
    pthread_mutex_unlock(&mu);
    return n;
}
