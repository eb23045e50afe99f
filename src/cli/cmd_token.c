/*
 * autodev token: create, list and revoke the API tokens of the HTTP server
 * (the server module owns them: server.h). A token is printed once, when
 * it is made; the store keeps only its SHA-256.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/server.h"
#include "autodev/store.h"

#include "cli.h"

static int token_create(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "role", required_argument, NULL, 'r' },
        { "name", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token row = { 0 };
    enum ad_token_role role;
    char token[AD_TOKEN_SIZE];
    const char *rs = NULL, *name = NULL;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'r': rs = optarg; break;
        case 'n': name = optarg; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    if (!rs)
        return ad__usage_error(ctx, "token create needs --role admin|reviewer|agent");
    if (ad_token_role_parse(rs, &role) < 0 ||
        (role != AD_ROLE_ADMIN && role != AD_ROLE_REVIEWER && role != AD_ROLE_AGENT))
        return ad__usage_error(ctx, "invalid role '%s': expected admin, reviewer or agent", rs);
    if (name && !ad_name_valid(name))
        return ad__usage_error(ctx, "invalid token name '%s': expected 1..%d of A-Z, a-z, 0-9, "
                               "'_', '.', '-', starting with a letter or digit", name,
                               AD_NAME_MAX);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    if (ad_tokens_create(ctx->store, ctx->tenant_id, role, name, token, &row, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *j = ad_token_json(&row);

        if (j && json_object_set_new(j, "token", json_string(token)) < 0)
            j = (json_decref(j), NULL);
        rc = ad__print_json(ctx, j);
    } else {
        fprintf(ctx->out, "%s\n", token);
        ad__note(ctx, "token '%s' (%s) of tenant '%s': this is the only time it is shown",
                 row.name, ad_token_role_name(row.role), ctx->tenant_name);
    }
    ad_api_token_release(&row);
    return rc;
}

#define TOKEN_ROW "%-36s  %-24s  %-8s  %-24s  %-24s  %s"

static int token_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "all", no_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token *v = NULL;
    size_t n = 0;
    int all = 0, rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c != 'a')
            return AD_EXIT_USAGE;
        all = 1;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "token list takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_tokens_list(ctx->store, ctx->tenant_id, all, AD_LIST_MAX, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++) {
            if (json_array_append_new(arr, ad_token_json(&v[i])) < 0)
                arr = (json_decref(arr), NULL);
        }
        rc = ad__print_json(ctx, arr);
    } else {
        if (n > 0)
            ad__print_header(ctx, TOKEN_ROW, "ID", "NAME", "ROLE", "CREATED", "LAST USED",
                             "REVOKED");
        for (size_t i = 0; i < n; i++)
            fprintf(ctx->out, TOKEN_ROW "\n", v[i].id, v[i].name, ad_token_role_name(v[i].role),
                    v[i].created_at, v[i].last_used_at[0] ? v[i].last_used_at : "-",
                    v[i].revoked_at[0] ? v[i].revoked_at : "-");
    }
    ad_api_token_list_free(v, n);
    return rc;
}

static int token_revoke(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_api_token row = { 0 };
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev token revoke ID|NAME");
    if (!ad_id_valid(argv[1]) && !ad_name_valid(argv[1]))
        return ad__usage_error(ctx, "unknown token '%s'", argv[1]);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    rc = ad_tokens_revoke(ctx->store, ctx->tenant_id, argv[1], &row, &err);
    if (rc == AD_ESTATE)
        return ad__usage_error(ctx, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        rc = ad__print_json(ctx, ad_token_json(&row));
    else
        fprintf(ctx->out, "revoked token %s (%s)\n", row.name, row.id);
    ad_api_token_release(&row);
    return rc;
}

int cmd_token(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "create", token_create },
        { "list", token_list },
        { "revoke", token_revoke },
        { NULL, NULL },
    };

    return ad__run_sub("token", subs, argc, argv, ctx);
}
