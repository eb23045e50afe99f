/*
 * Logging with levels and a host-installed sink.
 *
 * AD_LOG checks the level before it evaluates its arguments, so a disabled
 * debug line costs one comparison. The default sink writes text lines to
 * stderr; ad_log_set_json() switches it to JSON lines. A host (CLI, server)
 * may install its own sink instead.
 */
#ifndef AUTODEV_LOG_H
#define AUTODEV_LOG_H

enum ad_log_level {
    AD_LOG_ERROR = 0,
    AD_LOG_WARN = 1,
    AD_LOG_INFO = 2,
    AD_LOG_DEBUG = 3,
};

/* Receives one formatted message (no trailing newline). */
typedef void ad_log_sink_fn(void *ctx, enum ad_log_level level, const char *file, int line,
                            const char *msg);

extern int ad__log_level;

#define AD_LOG(level, ...)                                            \
    do {                                                              \
        if ((int)(level) <= ad__log_level)                            \
            ad__log((level), __FILE__, __LINE__, __VA_ARGS__);        \
    } while (0)

void ad__log(enum ad_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void ad_log_set_level(enum ad_log_level level);
/* "error", "warn", "info", "debug"; 0 or AD_EINVAL. */
int ad_log_parse_level(const char *s, enum ad_log_level *out);
/* NULL sink restores the default stderr text sink. */
void ad_log_set_sink(ad_log_sink_fn *fn, void *ctx);
/* Default sink writes JSON lines ({"ts","level","src","msg"}) when on != 0. */
void ad_log_set_json(int on);
const char *ad_log_level_name(enum ad_log_level level);

#endif
