/*
 * The CLI's one way to the terminal: every byte it prints on standard
 * output or standard error goes through an escaping stream, and every
 * diagnostic through one function that honours the log level.
 *
 * Why a stream and not a print helper: text from agents, bundles, skills
 * and models reaches dozens of fprintf() calls (names, task descriptions,
 * error traces, code, replies). A helper that each call must remember to
 * use is one forgotten call away from an ESC ]0; title or ESC [2J reaching
 * the user's terminal; a stream under ctx->out and ctx->err (glibc's
 * fopencookie) cannot be bypassed by code that prints to them, which is
 * all the CLI's code.
 *
 * What is escaped, as \uXXXX: C0 controls except newline and tab (the
 * layouts need them), DEL, the C1 controls U+0080..U+009F (UTF-8 C2 80..
 * C2 9F, which some terminals obey as CSI, OSC, ...) and the bidirectional
 * overrides U+202A..U+202E and U+2066..U+2069 (which reorder what a line
 * shows). A byte that is not part of valid UTF-8 becomes \xHH. The \u form
 * is also a valid JSON escape of the same character, so JSON printed
 * through the stream stays the same document: jansson already escapes
 * every C0 control, and the rest (DEL, C1, the overrides) reads back as
 * the same string. JSON never holds invalid UTF-8 (jansson refuses it), so
 * \xHH appears in text only.
 *
 * Diagnostics: ad__diag() prints "autodev: <message>" on standard error
 * when its level passes --log-level / $AUTODEV_LOG; errors always pass.
 * The library's AD_LOG lines, the runtime's notices (a job's outcome) and
 * the commands' progress lines all come this way.
 *
 * Sections: escaping; the streams; diagnostics.
 */
#include "compat.h"

#include <unistd.h>

#include "autodev/log.h"

#include "cli.h"

/* ---- escaping --------------------------------------------------------------- */

struct esc_stream {
    int fd;
    unsigned char pend[4];   /* the start of a UTF-8 sequence cut by a write */
    size_t npend;
    int failed;              /* errno of a failed write, 0 */
};

/*
 * The length of the UTF-8 sequence at p (n bytes there): 1..4 for a valid
 * one, 0 when it is cut short by the end of p, -1 when p[0] does not start
 * a valid sequence (a stray continuation byte, an overlong form, a
 * surrogate, past U+10FFFF).
 */
static int seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    int len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return -1;
    /* The second byte's range excludes overlong forms, surrogates and > U+10FFFF. */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
            return -1;
    }
    return len;
}

/* The code point of a valid sequence of len bytes. */
static unsigned code_point(const unsigned char *p, int len)
{
    static const unsigned char lead_mask[] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
    unsigned cp = p[0] & lead_mask[len];

    for (int i = 1; i < len; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    return cp;
}

static int must_escape(unsigned cp)
{
    return (cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F ||
           (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

static int write_all(struct esc_stream *e, const char *p, size_t n)
{
    while (n > 0 && !e->failed) {
        ssize_t w = write(e->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e->failed = w < 0 ? errno : EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return e->failed ? -1 : 0;
}

/*
 * Escapes p[0..n) into out (room for n * 6 bytes) and returns how many
 * bytes of p it used: all but a sequence cut short at the end, unless
 * final (then the cut bytes are escaped as \xHH).
 */
static size_t escape_into(const unsigned char *p, size_t n, int final, char *out, size_t *olen)
{
    size_t i = 0, o = 0;

    while (i < n) {
        int len = seq_len(p + i, n - i);

        if (len == 0 && !final)
            break;
        if (len <= 0) {
            o += (size_t)snprintf(out + o, 7, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (must_escape(code_point(p + i, len))) {
            o += (size_t)snprintf(out + o, 7, "\\u%04x", code_point(p + i, len));
        } else {
            memcpy(out + o, p + i, (size_t)len);
            o += (size_t)len;
        }
        i += (size_t)len;
    }
    *olen = o;
    return i;
}

/* Escapes and writes p[0..n), keeping a cut sequence for the next call. */
static int esc_put(struct esc_stream *e, const char *p, size_t n, int final)
{
    unsigned char in[1024 + sizeof(e->pend)];
    char out[sizeof(in) * 6];

    while (n > 0 || (final && e->npend > 0)) {
        size_t take = n < 1024 ? n : 1024, len = e->npend + take, used, olen;

        memcpy(in, e->pend, e->npend);
        memcpy(in + e->npend, p, take);
        p += take;
        n -= take;
        used = escape_into(in, len, final && n == 0, out, &olen);
        e->npend = len - used;
        memcpy(e->pend, in + used, e->npend);
        if (write_all(e, out, olen) < 0)
            return -1;
    }
    return 0;
}

static ssize_t esc_write(void *cookie, const char *buf, size_t n)
{
    struct esc_stream *e = cookie;

    if (esc_put(e, buf, n, 0) < 0) {
        errno = e->failed;
        return -1;
    }
    return (ssize_t)n;
}

static int esc_close(void *cookie)
{
    struct esc_stream *e = cookie;
    int rc = esc_put(e, "", 0, 1);

    free(e);
    return rc;
}

/* ---- the streams ------------------------------------------------------------ */

static FILE *esc_open(int fd, int mode)
{
    static const cookie_io_functions_t io = { .write = esc_write, .close = esc_close };
    struct esc_stream *e = calloc(1, sizeof(*e));
    FILE *f;

    if (!e)
        return NULL;
    e->fd = fd;
    f = fopencookie(e, "w", io);
    if (!f) {
        free(e);
        return NULL;
    }
    setvbuf(f, NULL, mode, BUFSIZ);
    return f;
}

/*
 * A line of the runtime's notices (a job's outcome) is a diagnostic like
 * any other: collected per line, then passed to ad__note().
 */
struct notice_stream {
    struct ad_ctx *ctx;
    char line[1024];
    size_t n;
};

static void notice_flush(struct notice_stream *s)
{
    if (s->n > 0)
        ad__note(s->ctx, "%.*s", (int)s->n, s->line);
    s->n = 0;
}

static ssize_t notice_write(void *cookie, const char *buf, size_t n)
{
    struct notice_stream *s = cookie;

    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n')
            notice_flush(s);
        else if (s->n < sizeof(s->line))
            s->line[s->n++] = buf[i];
    }
    return (ssize_t)n;
}

static int notice_close(void *cookie)
{
    notice_flush(cookie);
    free(cookie);
    return 0;
}

int ad__out_open(struct ad_ctx *ctx)
{
    static const cookie_io_functions_t io = { .write = notice_write, .close = notice_close };
    struct notice_stream *ns;

    /* A terminal sees each line as it is printed; a pipe gets full buffers. */
    ctx->out = esc_open(STDOUT_FILENO, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF);
    ctx->err = esc_open(STDERR_FILENO, _IOLBF);
    ns = calloc(1, sizeof(*ns));
    if (ns) {
        ns->ctx = ctx;
        ctx->notices = fopencookie(ns, "w", io);
        if (!ctx->notices)
            free(ns);
    }
    if (!ctx->out || !ctx->err || !ctx->notices) {
        ad__out_close(ctx);
        fputs("autodev: out of memory\n", stderr);
        return -1;
    }
    setvbuf(ctx->notices, NULL, _IOLBF, 1024);
    return 0;
}

int ad__out_close(struct ad_ctx *ctx)
{
    int rc = 0, saved = 0;

    if (ctx->notices)
        fclose(ctx->notices);
    if (ctx->out && ctx->out != stdout && fclose(ctx->out) != 0) {
        rc = -1;
        saved = errno;
    }
    if (ctx->err && ctx->err != stderr)
        fclose(ctx->err);
    ctx->notices = NULL;
    ctx->out = stdout;
    ctx->err = stderr;
    if (rc == 0 && fflush(stdout) != 0) {
        rc = -1;
        saved = errno;
    }
    errno = saved;
    return rc;
}

/*
 * Every text listing opens with one header row, column titles in capitals,
 * formatted with the widths of its rows, printed only when a row follows
 * (an empty list prints nothing, as before).
 */
void ad__print_header(struct ad_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(ctx->out, fmt, ap);
    va_end(ap);
    fputc('\n', ctx->out);
}

/* ---- diagnostics ------------------------------------------------------------ */

void ad__vdiag(struct ad_ctx *ctx, int level, const char *fmt, va_list ap)
{
    FILE *f = ctx->err ? ctx->err : stderr;
    struct ad_buf msg = AD_BUF_INIT;

    /* Errors are level 0: no --log-level silences them. */
    if (level > ad__log_level)
        return;
    /* Keep whatever was printed so far ahead of the line. */
    fflush(ctx->out ? ctx->out : stdout);
    if (ad_buf_vaddf(&msg, fmt, ap) < 0)
        ad_buf_adds(&msg, "out of memory");
    flockfile(f);
    fprintf(f, "autodev: %s\n", msg.ptr);
    funlockfile(f);
    fflush(f);
    ad_buf_release(&msg);
}

void ad__diag(struct ad_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ad__vdiag(ctx, level, fmt, ap);
    va_end(ap);
}

void ad__note(struct ad_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ad__vdiag(ctx, AD_LOG_WARN, fmt, ap);
    va_end(ap);
}

/* The library's AD_LOG lines: "autodev: warning: ...", below warn with the source line. */
static void log_sink(void *arg, enum ad_log_level level, const char *file, int line,
                     const char *msg)
{
    const char *base = strrchr(file, '/');

    if (level <= AD_LOG_WARN)
        ad__diag(arg, level, "%s%s", level == AD_LOG_WARN ? "warning: " : "", msg);
    else
        ad__diag(arg, level, "%s: %s (%s:%d)", ad_log_level_name(level), msg,
                 base ? base + 1 : file, line);
}

void ad__out_log_sink(struct ad_ctx *ctx)
{
    ad_log_set_sink(log_sink, ctx);
}
