/*
 * autodev init: the home directory, the database, the default tenant.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/runtime.h"
#include "autodev/store.h"

#include "cli.h"

int cmd_init(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
    struct ad_err err = AD_ERR_INIT;
    char id[AD_ID_SIZE];
    int current = 0, latest = 0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "init takes no argument");
    if (!ad_name_valid(ctx->tenant_name))
        return ad__usage_error(ctx, "invalid tenant name '%s'", ctx->tenant_name);
    /* Owner-only: the database holds every agent's inputs and outputs. */
    if (ad__mkdir_p(ctx->home, 0700, &err) < 0)
        return ad__die_err(ctx, &err);
    rc = ad__ctx_store(ctx, AD_CTX_CREATE);
    if (rc != 0)
        return rc;
    if (ad_runtime_tenant(ctx->rt, "default", 1, id, &err) < 0)
        return ad__die_err(ctx, &err);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    if (ad_runtime_schema_version(ctx->rt, &current, &latest, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        return ad__print_json(ctx, json_pack("{s:s, s:s, s:i, s:s, s:s}",
                                             "home", ctx->home, "database", ctx->db_path,
                                             "schema_version", current,
                                             "tenant", ctx->tenant_name,
                                             "tenant_id", ctx->tenant_id));
    }
    fprintf(ctx->out, "initialized %s (schema version %d, tenant %s)\n", ctx->db_path, current,
            ctx->tenant_name);
    return 0;
}
