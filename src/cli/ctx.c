/*
 * The CLI's shared context: opening the store lazily, resolving the
 * tenant, reporting errors with the right exit code, parsing options.
 */
#include "compat.h"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/runtime.h"
#include "autodev/store.h"

#include "cli.h"

void ad__ctx_close(struct ad_ctx *ctx)
{
    ad_runtime_free(ctx->rt);
    ctx->rt = NULL;
    ctx->store = NULL;
    ctx->bus = NULL;
}

void ad__ctx_release(struct ad_ctx *ctx)
{
    ad__ctx_close(ctx);
    ad_buf_release(&ctx->home_buf);
    ad_buf_release(&ctx->db_buf);
}

int ad__exit_code(int code)
{
    switch (code) {
    case 0:
        return AD_EXIT_OK;
    /* The user gave something wrong: fixing the input fixes the run. */
    case AD_EINVAL:
    case AD_ETOOBIG:
    case AD_ENOTFOUND:
    case AD_EEXIST:
        return AD_EXIT_USAGE;
    default:
        return AD_EXIT_RUNTIME;
    }
}

static void vdie(struct ad_ctx *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vdie(struct ad_ctx *ctx, const char *fmt, va_list ap)
{
    ad__vdiag(ctx, AD_LOG_ERROR, fmt, ap);
}

int ad__die_code(struct ad_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdie(ctx, fmt, ap);
    va_end(ap);
    return ad__exit_code(code);
}

int ad__usage_error(struct ad_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdie(ctx, fmt, ap);
    va_end(ap);
    return AD_EXIT_USAGE;
}

int ad__die_err(struct ad_ctx *ctx, const struct ad_err *err)
{
    const char *msg = err->msg[0] ? err->msg : ad_strerror(err->code);
    int code = err->code ? err->code : AD_EINTERNAL;

    /* A lock held too long must say so in words a user searches for. */
    if (code == AD_EBUSY && !strstr(msg, "database is locked"))
        return ad__die_code(ctx, code, "database is locked: %s", msg);
    return ad__die_code(ctx, code, "%s", msg);
}

int ad__ctx_store(struct ad_ctx *ctx, enum ad_ctx_mode mode)
{
    struct ad_runtime_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct stat sb;
    const char *file;
    int create = mode == AD_CTX_CREATE;
    int rc;

    if (ctx->rt && (!ctx->rt_readonly || mode == AD_CTX_READ))
        return 0;
    /* A read-only runtime asked to write: open it again, read-write. */
    ad__ctx_close(ctx);
    file = ad_runtime_db_file(ctx->db_path);
    if (!create && file && stat(file, &sb) != 0) {
        if (errno == ENOENT)
            return ad__die_code(ctx, AD_EIO, "no database at '%s' (run 'autodev init')",
                                ctx->db_path);
        return ad__die_code(ctx, AD_EIO, "cannot open '%s': %s", ctx->db_path, strerror(errno));
    }
    o.db = ctx->db_path;
    o.create = create;
    o.readonly = mode == AD_CTX_READ;
    o.busy_timeout_ms = ctx->busy_timeout_ms;
    /* Job outcomes worth a line go where the commands' progress goes. */
    o.notices = ctx->notices;
    rc = ad_runtime_open(&o, &ctx->rt, &err);
    if (rc < 0) {
        ctx->rt = NULL;
        /* Not the user's input: a database that cannot be opened is a runtime failure. */
        if (rc == AD_ENOTFOUND)
            return ad__die_code(ctx, AD_EIO, "no database at '%s' (run 'autodev init')",
                                ctx->db_path);
        rc = rc == AD_EINVAL ? AD_EIO : rc;
        /* A read leaves an empty file or an older schema alone: say what would change it. */
        if (mode == AD_CTX_READ && (strstr(err.msg, "needs an upgrade") ||
                                    strstr(err.msg, "is empty, not an autodev database")))
            return ad__die_code(ctx, rc, "%s (run 'autodev init' to %s it)", err.msg,
                                strstr(err.msg, "is empty") ? "make a database of" : "upgrade");
        /* The store's message usually names the file already; say it once. */
        if (err.msg[0] && file && strstr(err.msg, file))
            return ad__die_code(ctx, rc, "%s", err.msg);
        return ad__die_code(ctx, rc, "cannot open '%s': %s", ctx->db_path,
                            err.msg[0] ? err.msg : ad_strerror(rc));
    }
    ctx->store = ad_runtime_store(ctx->rt);
    ctx->bus = ad_runtime_bus(ctx->rt);
    ctx->rt_readonly = mode == AD_CTX_READ;
    return 0;
}

int ad__ctx_tenant(struct ad_ctx *ctx, int create)
{
    struct ad_err err = AD_ERR_INIT;
    int rc;

    if (ctx->tenant_id[0])
        return create ? ad__ctx_store(ctx, AD_CTX_WRITE) : 0;
    if (!ad_name_valid(ctx->tenant_name))
        return ad__usage_error(ctx, "invalid tenant name '%s'", ctx->tenant_name);
    rc = ad__ctx_store(ctx, create ? AD_CTX_WRITE : AD_CTX_READ);
    if (rc != 0)
        return rc;
    rc = ad_runtime_tenant(ctx->rt, ctx->tenant_name, create, ctx->tenant_id, &err);
    if (rc == AD_ENOTFOUND && !create)
        rc = ad__usage_error(ctx, "unknown tenant '%s'", ctx->tenant_name);
    else if (rc < 0)
        rc = ad__die_err(ctx, &err);
    if (rc != 0)
        ctx->tenant_id[0] = '\0';
    return rc;
}

int ad__ctx_jobs(struct ad_ctx *ctx, struct ad_jobs **out)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad__ctx_tenant(ctx, 1);

    if (rc == 0 && ad_runtime_jobs(ctx->rt, ctx->tenant_id, NULL, out, &err) < 0)
        rc = ad__die_err(ctx, &err);
    return rc;
}

int ad__ctx_llm(struct ad_ctx *ctx, const char *spec, struct ad_llm **out)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad__ctx_tenant(ctx, 1);

    if (rc == 0 && ad_runtime_llm(ctx->rt, ctx->tenant_id, spec, 1, out, &err) < 0)
        rc = ad__die_err(ctx, &err);
    return rc;
}

void ad__getopt_reset(void)
{
    /* GNU getopt re-initialises itself (and its permutation state) at 0. */
    optind = 0;
    opterr = 0;
}

int ad__getopt(struct ad_ctx *ctx, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

    if (c == '?') {
        if (optopt > 0 && optopt < 256)
            ad__usage_error(ctx, "unknown option '-%c'", optopt);
        else
            ad__usage_error(ctx, "unknown option '%s'", arg);
        return '?';
    }
    if (c == ':') {
        ad__usage_error(ctx, "option '%s' requires a value", arg);
        return '?';
    }
    return c;
}

int ad__parse_int(struct ad_ctx *ctx, const char *name, const char *s, int64_t min,
                  int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return ad__usage_error(ctx, "invalid %s '%s': expected an integer in %" PRId64 "..%"
                               PRId64, name, s, min, max);
    *out = v;
    return 0;
}

int ad__run_sub(const char *cmdname, const struct ad_subcmd *subs, int argc, char **argv,
                struct ad_ctx *ctx)
{
    if (argc < 2)
        return ad__usage_error(ctx, "%s: missing subcommand (see 'autodev %s --help')",
                               cmdname, cmdname);
    for (const struct ad_subcmd *s = subs; s->name; s++) {
        if (!strcmp(s->name, argv[1]))
            return s->fn(argc - 1, argv + 1, ctx);
    }
    return ad__usage_error(ctx, "unknown %s subcommand '%s' (see 'autodev %s --help')",
                           cmdname, argv[1], cmdname);
}

int ad__print_json(struct ad_ctx *ctx, json_t *v)
{
    char *s;

    if (!v)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    s = ad_json_dumps(v);
    json_decref(v);
    if (!s)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    fputs(s, ctx->out);
    fputc('\n', ctx->out);
    free(s);
    return 0;
}

int ad__read_all(FILE *f, struct ad_buf *b, struct ad_err *err)
{
    char chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        int rc = ad_buf_add(b, chunk, n);

        if (rc == AD_ETOOBIG)
            return ad_error(err, rc, "input larger than %zu bytes", b->max);
        if (rc < 0)
            return ad_error(err, rc, "out of memory");
    }
    if (ferror(f))
        return ad_error(err, AD_EIO, "cannot read input: %s", strerror(errno));
    return 0;
}

int ad__mkdir_p(const char *path, unsigned mode, struct ad_err *err)
{
    struct ad_buf b = AD_BUF_INIT;
    struct stat sb;
    int rc = 0;

    if (!*path)
        return ad_error(err, AD_EINVAL, "empty directory name");
    if (ad_buf_adds(&b, path) < 0) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    /* Create each ancestor in turn; ones that exist already are fine. */
    for (char *p = b.ptr + 1; ; p++) {
        char c = *p;

        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(b.ptr, mode) != 0 && errno != EEXIST) {
            rc = ad_error(err, AD_EIO, "cannot create directory '%s': %s", b.ptr,
                          strerror(errno));
            goto out;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        rc = ad_error(err, AD_EIO, "'%s' is not a directory", path);
out:
    ad_buf_release(&b);
    return rc;
}

int ad__open_input(struct ad_ctx *ctx, const char *path, FILE **out)
{
    struct stat sb;
    FILE *f;

    *out = NULL;
    if (!strcmp(path, "-")) {
        *out = stdin;
        return 0;
    }
    /* The user named the file: one that is missing or unreadable is their input's fault. */
    f = fopen(path, "rb");
    if (!f)
        return ad__usage_error(ctx, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return ad__usage_error(ctx, "cannot read '%s': it is a directory", path);
    }
    *out = f;
    return 0;
}

int ad__read_path(struct ad_ctx *ctx, const char *path, struct ad_buf *b)
{
    struct ad_err err = AD_ERR_INIT;
    FILE *f;
    int rc = ad__open_input(ctx, path, &f);

    if (rc != 0)
        return rc;
    rc = ad__read_all(f, b, &err);
    if (f != stdin)
        fclose(f);
    if (rc < 0)
        return ad__die_code(ctx, rc, "'%s': %s", path, err.msg);
    return 0;
}

int ad__ctx_sandbox(struct ad_ctx *ctx, struct ad_sandbox **out)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad__ctx_store(ctx, AD_CTX_READ);

    if (rc == 0 && ad_runtime_sandbox(ctx->rt, out, &err) < 0)
        rc = ad__die_err(ctx, &err);
    return rc;
}

void ad__print_clipped(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);
    int clipped = n > max;

    if (clipped) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        fputc(s[i] == '\n' || s[i] == '\t' || s[i] == '\r' ? ' ' : s[i], f);
    if (clipped)
        fputs("...", f);
}

int ad__json_arg(struct ad_ctx *ctx, const char *opt, const char *text, const char *path,
                 json_t **out)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf b;
    int rc;

    *out = NULL;
    ad_buf_init(&b, AD_JSON_FIELD_MAX);
    if (path) {
        rc = ad__read_path(ctx, path, &b);
        if (rc == 0)
            rc = ad_json_parse(b.ptr, b.len, AD_JSON_FIELD_MAX, out, &err);
    } else {
        rc = ad_json_parse(text, strlen(text), AD_JSON_FIELD_MAX, out, &err);
    }
    ad_buf_release(&b);
    if (rc < 0)
        return ad__die_code(ctx, rc, "%s: %s", path ? path : opt, err.msg);
    return rc;
}

const char *ad__agent_name(struct ad_ctx *ctx, struct ad_name_cache *c, const char *id)
{
    struct ad_agent a = { 0 };

    if (!id || !id[0])
        return NULL;
    for (int i = 0; i < c->n; i++) {
        if (!strcmp(c->e[i].id, id))
            return c->e[i].name;
    }
    if (ad_agents_get(ctx->store, ctx->tenant_id, id, &a, NULL) < 0 || !a.name ||
        c->n == (int)AD_ARRAY_SIZE(c->e)) {
        ad_agent_release(&a);
        return id;
    }
    snprintf(c->e[c->n].id, sizeof(c->e[c->n].id), "%s", id);
    c->e[c->n].name = a.name;
    a.name = NULL;
    ad_agent_release(&a);
    return c->e[c->n++].name;
}

void ad__name_cache_release(struct ad_name_cache *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->e[i].name);
    c->n = 0;
}
