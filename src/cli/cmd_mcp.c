/*
 * autodev mcp: the MCP server on standard input and output, for coding
 * agents (the mcp module: mcp.h). A thin face: parse the options, open
 * the store read-write, make the session (the token's tenant and role, or
 * the local tenant), serve until end of input.
 *
 * Standard output carries only protocol messages, written by the mcp
 * module as compact ASCII JSON (so no control or bidi character reaches a
 * terminal without the CLI's escaping stream); every diagnostic goes to
 * standard error.
 */
#include "compat.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "autodev/mcp.h"
#include "autodev/runtime.h"

#include "cli.h"
#include "cli_version.h"

int cmd_mcp(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "token", required_argument, NULL, 't' },
        { "max-line", required_argument, NULL, 'l' },
        { "page-size", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_mcp_options o = { .version = AD_VERSION };
    struct ad_err err = AD_ERR_INIT;
    struct ad_mcp *m = NULL;
    int64_t v;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 't': o.token = optarg; break;
        case 'l':
            if (ad__parse_int(ctx, "--max-line", optarg, 1024, (int64_t)1 << 30, &v) != 0)
                return AD_EXIT_USAGE;
            o.max_line = (size_t)v;
            break;
        case 'p':
            if (ad__parse_int(ctx, "--page-size", optarg, 1, 1000, &v) != 0)
                return AD_EXIT_USAGE;
            o.page_size = (int)v;
            break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    if (!o.token)
        o.token = getenv("AUTODEV_TOKEN");
    rc = ad__ctx_store(ctx, AD_CTX_WRITE);
    if (rc != 0)
        return rc;
    o.rt = ctx->rt;
    o.tenant_name = ctx->tenant_name;
    if (ad_mcp_new(&o, &m, &err) < 0)
        return ad__die_err(ctx, &err);
    ad__note(ctx, "mcp: serving on standard input and output (tenant %s, role %s)",
             ctx->tenant_name && !(o.token && *o.token) ? ctx->tenant_name : "of the token",
             ad_mcp_role(m));
    /* A client that went away is an end of output, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    rc = ad_mcp_serve(m, STDIN_FILENO, stdout, &err);
    ad_mcp_free(m);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return AD_EXIT_OK;
}
