/*
 * Time and identifiers.
 *
 * Timestamps are UTC ISO-8601 with milliseconds, "2026-11-23T17:18:22.123Z",
 * always 24 characters, so they sort as text in time order. Ids are UUIDv7
 * (RFC 9562): 48-bit unix milliseconds, then a counter and randomness, so ids
 * made by one process sort in creation order.
 */
#ifndef AUTODEV_CLOCK_H
#define AUTODEV_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define AD_TIME_SIZE 25   /* 24 characters + NUL */
#define AD_ID_SIZE 37     /* 36 characters + NUL */

/* Wall clock, milliseconds since the epoch. */
int64_t ad_now_ms(void);
/* Monotonic clock in nanoseconds, for measuring durations. */
int64_t ad_mono_ns(void);
/* Formats ms as ISO-8601 UTC into out. Returns out. */
char *ad_time_iso(int64_t ms, char out[AD_TIME_SIZE]);
/* ad_time_iso(ad_now_ms()). */
char *ad_time_now(char out[AD_TIME_SIZE]);
/*
 * "YYYY-MM-DDT00:00:00.000Z": the start of the UTC day that time (a store
 * time, as above; NULL: now) falls in, where daily limits start counting.
 * Returns out.
 */
char *ad_time_day_start(const char *time, char out[AD_TIME_SIZE]);
/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (also accepts "+00:00" for Z).
 * 0 or AD_EINVAL.
 */
int ad_time_parse(const char *s, int64_t *ms);

/* A new UUIDv7 in canonical lower-case text form. 0, or AD_EIO if the
 * kernel's random source fails. */
int ad_id_new(char out[AD_ID_SIZE]);
/* 1 if s is a canonical lower-case UUID text, else 0. */
int ad_id_valid(const char *s);
/* Fills n random bytes from getrandom(2). 0 or AD_EIO. */
int ad_random(void *p, size_t n);

#endif
