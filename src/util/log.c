#include "compat.h"

#include <strings.h>

#include "autodev/clock.h"
#include "autodev/error.h"
#include "autodev/log.h"
#include "autodev/secret.h"

int ad__log_level = AD_LOG_WARN;

static ad_log_sink_fn *sink_fn;
static void *sink_ctx;
static int sink_json;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

const char *ad_log_level_name(enum ad_log_level level)
{
    if ((int)level < 0 || (size_t)level >= AD_ARRAY_SIZE(level_names))
        return "?";
    return level_names[level];
}

int ad_log_parse_level(const char *s, enum ad_log_level *out)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(level_names); i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (enum ad_log_level)i;
            return 0;
        }
    }
    return AD_EINVAL;
}

void ad_log_set_level(enum ad_log_level level)
{
    ad__log_level = level;
}

void ad_log_set_sink(ad_log_sink_fn *fn, void *ctx)
{
    sink_fn = fn;
    sink_ctx = ctx;
}

void ad_log_set_json(int on)
{
    sink_json = on;
}

/* Writes s as a JSON string body: quotes, backslashes and controls escaped. */
static void put_json_string(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

static const char *basename_of(const char *file)
{
    const char *slash = strrchr(file, '/');

    return slash ? slash + 1 : file;
}

static void default_sink(enum ad_log_level level, const char *file, int line, const char *msg)
{
    char ts[AD_TIME_SIZE];

    ad_time_now(ts);
    /* One fprintf per line under the stream lock, so lines from threads do not interleave. */
    flockfile(stderr);
    if (sink_json) {
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"src\":\"%s:%d\",\"msg\":\"", ts,
                ad_log_level_name(level), basename_of(file), line);
        put_json_string(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s %s %s:%d: %s\n", ts, ad_log_level_name(level), basename_of(file),
                line, msg);
    }
    funlockfile(stderr);
}

void ad__log(enum ad_log_level level, const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Every line, whatever sink takes it: a line may quote a server, a model or a command. */
    ad_secret_redact(msg);
    /* A line cut to fit may end in the first part of a secret, which no longer matches. */
    if (n >= (int)sizeof(msg))
        msg[strlen(msg) - ad_secret_partial_tail(msg, strlen(msg))] = '\0';
    if (sink_fn)
        sink_fn(sink_ctx, level, file, line, msg);
    else
        default_sink(level, file, line, msg);
}
