/*
 * autodev's entry point: global flags, the environment, then the command.
 *
 * Global flags may come before the command or among its own options
 * (users type "autodev agent list --json"), so they are taken out of argv
 * wherever they stand, up to a "--", before the command sees the rest.
 */
#include "compat.h"

#include <unistd.h>

#include "autodev/log.h"

#include "cli.h"

struct globals {
    const char *home;
    const char *tenant;
    const char *log_level;
    int json;
    int help;
    int version;
};

/* Matches "--name VALUE" or "--name=VALUE"; advances *i past what it used. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **out,
                      int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        *missing = 1;
        return 1;
    }
    *out = argv[++*i];
    return 1;
}

/*
 * Removes the global flags from argv (in place) and returns the new argc,
 * or -1 with a usage error printed. --version is global only before the
 * command word.
 */
static int strip_globals(int argc, char **argv, struct globals *g, struct ad_ctx *ctx)
{
    int out = 1;
    int missing = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--")) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (take_value(argc, argv, &i, "--home", &g->home, &missing) ||
            take_value(argc, argv, &i, "--tenant", &g->tenant, &missing) ||
            take_value(argc, argv, &i, "--log-level", &g->log_level, &missing)) {
            if (missing)
                return ad__usage_error(ctx, "option '%s' requires a value", a), -1;
            continue;
        }
        if (!strcmp(a, "--json"))
            g->json = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            g->help = 1;
        /* Before the command only: after it, --version V is a command's option
         * (skill show NAME --version 1.2.0). */
        else if (!strcmp(a, "--version") && out == 1)
            g->version = 1;
        else
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    return out;
}

static int set_paths(struct ad_ctx *ctx, const struct globals *g)
{
    const char *env_home = getenv("AUTODEV_HOME");
    const char *env_db = getenv("AUTODEV_DB");

    ctx->home_given = g->home != NULL;
    if (g->home) {
        ctx->home = g->home;
    } else if (env_home && *env_home) {
        ctx->home = env_home;
    } else {
        const char *h = getenv("HOME");

        if (!h || !*h)
            return ad__usage_error(ctx, "cannot find a home: set HOME, AUTODEV_HOME or --home");
        if (ad_buf_addf(&ctx->home_buf, "%s/.local/share/autodev", h) < 0)
            return ad__die_code(ctx, AD_ENOMEM, "out of memory");
        ctx->home = ctx->home_buf.ptr;
    }
    if (!*ctx->home)
        return ad__usage_error(ctx, "empty home directory");
    /* A --home on the command line outranks the environment's database. */
    if (env_db && *env_db && !g->home) {
        ctx->db_path = env_db;
    } else {
        if (ad_buf_addf(&ctx->db_buf, "%s/autodev.db", ctx->home) < 0)
            return ad__die_code(ctx, AD_ENOMEM, "out of memory");
        ctx->db_path = ctx->db_buf.ptr;
    }
    return 0;
}

static int setup(struct ad_ctx *ctx, const struct globals *g)
{
    const char *level = g->log_level ? g->log_level : getenv("AUTODEV_LOG");
    const char *tenant = g->tenant ? g->tenant : getenv("AUTODEV_TENANT");
    const char *busy = getenv("AUTODEV_BUSY_TIMEOUT_MS");
    enum ad_log_level lv = AD_LOG_WARN;

    if (level && *level && ad_log_parse_level(level, &lv) < 0)
        return ad__usage_error(ctx, "invalid log level '%s': expected error, warn, info or debug",
                               level);
    /* The library's warnings read like our errors, through the same path. */
    ad_log_set_level(lv);
    ad__out_log_sink(ctx);
    ctx->tenant_name = tenant && *tenant ? tenant : "default";
    ctx->json = g->json;
    if (busy && *busy) {
        int64_t ms;

        if (ad__parse_int(ctx, "AUTODEV_BUSY_TIMEOUT_MS", busy, 1, 3600 * 1000, &ms) != 0)
            return AD_EXIT_USAGE;
        ctx->busy_timeout_ms = (int)ms;
    }
    return set_paths(ctx, g);
}

int main(int argc, char **argv)
{
    struct ad_ctx ctx = { .out = stdout, .err = stderr };
    struct globals g = { 0 };
    const struct ad_cmd *cmd = NULL;
    int rc;

    ad_buf_init(&ctx.home_buf, 4096);
    ad_buf_init(&ctx.db_buf, 4096);
    if (ad__out_open(&ctx) < 0)
        return AD_EXIT_RUNTIME;
    argc = strip_globals(argc, argv, &g, &ctx);
    if (argc < 0) {
        rc = AD_EXIT_USAGE;
        goto out;
    }
    if (argc > 1) {
        cmd = ad__cmd_find(argv[1]);
        if (!cmd) {
            rc = ad__usage_error(&ctx, "unknown command '%s' (see 'autodev help')", argv[1]);
            goto out;
        }
    }
    if (g.version) {
        ad__cmd_print_version(ctx.out);
        rc = AD_EXIT_OK;
        goto out;
    }
    if (g.help || !cmd) {
        ad__cmd_print_help(g.help || cmd ? ctx.out : ctx.err, cmd);
        rc = g.help ? AD_EXIT_OK : AD_EXIT_USAGE;
        goto out;
    }
    /* Help and completion need no home: they must work where nothing is set up. */
    rc = cmd->fn == cmd_help || cmd->fn == cmd_completion ? 0 : setup(&ctx, &g);
    if (rc == 0)
        rc = cmd->fn(argc - 1, argv + 1, &ctx);
out:
    ad__ctx_release(&ctx);
    ad_log_set_sink(NULL, NULL);
    if (ad__out_close(&ctx) != 0 && rc == 0) {
        fprintf(stderr, "autodev: cannot write output: %s\n", strerror(errno));
        rc = AD_EXIT_RUNTIME;
    }
    return rc;
}
