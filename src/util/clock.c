#include "compat.h"

#include <pthread.h>
#include <sys/random.h>

#include "autodev/clock.h"
#include "autodev/error.h"

int64_t ad_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ad_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

char *ad_time_iso(int64_t ms, char out[AD_TIME_SIZE])
{
    struct tm tm;
    time_t secs;
    int64_t rem;
    char *p = out;

    /* Floor division, so times before 1970 keep a positive millisecond part. */
    rem = ms % 1000;
    if (rem < 0)
        rem += 1000;
    secs = (time_t)((ms - rem) / 1000);
    if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        memcpy(out, "0000-00-00T00:00:00.000Z", AD_TIME_SIZE);
        return out;
    }
    /* Digit by digit: this runs once per stored row, and the widths are fixed. */
    p = put_digits(p, tm.tm_year + 1900, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (int)rem, 3);
    *p++ = 'Z';
    *p = '\0';
    return out;
}

char *ad_time_day_start(const char *time, char out[AD_TIME_SIZE])
{
    char now[AD_TIME_SIZE];

    if (!time)
        time = ad_time_now(now);
    snprintf(out, AD_TIME_SIZE, "%.10sT00:00:00.000Z", time);
    return out;
}

char *ad_time_now(char out[AD_TIME_SIZE])
{
    return ad_time_iso(ad_now_ms(), out);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return AD_EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect_char(const char **p, char c)
{
    if (**p != c)
        return AD_EINVAL;
    (*p)++;
    return 0;
}

int ad_time_parse(const char *s, int64_t *ms)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, sec, frac = 0;
    const char *p = s;
    int leap;

    if (!s || read_digits(&p, 4, &y) || expect_char(&p, '-') || read_digits(&p, 2, &mo) ||
        expect_char(&p, '-') || read_digits(&p, 2, &d) || expect_char(&p, 'T') ||
        read_digits(&p, 2, &h) || expect_char(&p, ':') || read_digits(&p, 2, &mi) ||
        expect_char(&p, ':') || read_digits(&p, 2, &sec))
        return AD_EINVAL;
    if (*p == '.') {
        int ndig = 0;

        p++;
        /* Keep milliseconds; further digits are accepted and dropped. */
        while (*p >= '0' && *p <= '9') {
            if (ndig < 3)
                frac = frac * 10 + (*p - '0');
            ndig++;
            p++;
        }
        if (ndig == 0)
            return AD_EINVAL;
        for (; ndig < 3; ndig++)
            frac *= 10;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
        return AD_EINVAL;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return AD_EINVAL;
    *ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000) + frac;
    return 0;
}

int ad_random(void *p, size_t n)
{
    unsigned char *c = p;

    while (n > 0) {
        ssize_t got = getrandom(c, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return AD_EIO;
        }
        c += got;
        n -= (size_t)got;
    }
    return 0;
}

/*
 * UUIDv7 state. RFC 9562 section 6.2 method 1: the 12 bits after the version
 * are a counter, seeded with random bits each new millisecond (top bit clear,
 * leaving room to count), so ids from this process are strictly increasing
 * even within one millisecond or if the wall clock steps back. Random bytes
 * come from a pool refilled 256 bytes at a time: one getrandom call per
 * 24 ids instead of one per id.
 */
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t id_last_ms = -1;
static unsigned id_counter;
static unsigned char id_pool[256];
static size_t id_pool_used = sizeof(id_pool);

static pthread_once_t id_once = PTHREAD_ONCE_INIT;

/* A forked child must not hand out the parent's remaining random bytes. */
static void id_child_after_fork(void)
{
    id_pool_used = sizeof(id_pool);
    id_last_ms = -1;
}

static void id_install_atfork(void)
{
    pthread_atfork(NULL, NULL, id_child_after_fork);
}

static int pool_take(unsigned char *out, size_t n)
{
    if (id_pool_used + n > sizeof(id_pool)) {
        if (ad_random(id_pool, sizeof(id_pool)))
            return AD_EIO;
        id_pool_used = 0;
    }
    memcpy(out, id_pool + id_pool_used, n);
    id_pool_used += n;
    return 0;
}

int ad_id_new(char out[AD_ID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16], r[10];
    int64_t ms = ad_now_ms();
    int pos = 0;

    pthread_once(&id_once, id_install_atfork);
    pthread_mutex_lock(&id_lock);
    if (pool_take(r, sizeof(r))) {
        pthread_mutex_unlock(&id_lock);
        return AD_EIO;
    }
    if (ms > id_last_ms) {
        id_last_ms = ms;
        id_counter = ((unsigned)r[0] << 8 | r[1]) & 0x7ff;
    } else if (++id_counter > 0xfff) {
        id_last_ms++;   /* counter overflow: borrow the next millisecond */
        id_counter = 0;
    }
    ms = id_last_ms;
    b[0] = (unsigned char)(ms >> 40);
    b[1] = (unsigned char)(ms >> 32);
    b[2] = (unsigned char)(ms >> 24);
    b[3] = (unsigned char)(ms >> 16);
    b[4] = (unsigned char)(ms >> 8);
    b[5] = (unsigned char)ms;
    b[6] = (unsigned char)(0x70 | (id_counter >> 8));
    b[7] = (unsigned char)(id_counter & 0xff);
    pthread_mutex_unlock(&id_lock);
    b[8] = (unsigned char)(0x80 | (r[2] & 0x3f));
    memcpy(b + 9, r + 3, 7);

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[pos++] = '-';
        out[pos++] = hex[b[i] >> 4];
        out[pos++] = hex[b[i] & 15];
    }
    out[pos] = '\0';
    return 0;
}

int ad_id_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return s[36] == '\0';
}
