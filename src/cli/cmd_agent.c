/*
 * autodev agent: add, list, show, set-maturity (run and sessions: cmd_agent_run.c).
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/store.h"

#include "cli/cli.h"

json_t *ad__agent_json(const struct ad_agent *a)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}",
                     "id", a->id, "name", a->name ? a->name : "",
                     "maturity", ad_maturity_name(a->maturity) ? ad_maturity_name(a->maturity)
                                                               : "?",
                     "episode_count", (json_int_t)a->episode_count,
                     "success_count", (json_int_t)a->success_count,
                     "failure_count", (json_int_t)a->failure_count,
                     "created_at", a->created_at, "updated_at", a->updated_at);
}

int ad__agent_lookup(struct ad_ctx *ctx, const char *name, struct ad_agent *out)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_store_agent_get_by_name(ctx->store, ctx->tenant_id, name, out, &err);

    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "unknown agent '%s'", name);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static int parse_maturity(struct ad_ctx *ctx, const char *s, enum ad_maturity *out)
{
    if (ad_maturity_parse(s, out) < 0)
        return ad__usage_error(ctx, "invalid maturity '%s': expected STUDENT, INTERN, "
                               "SUPERVISED or AUTONOMOUS", s);
    return 0;
}

static void print_agent_line(struct ad_ctx *ctx, const struct ad_agent *a)
{
    fprintf(ctx->out, "%-24s %-10s %8" PRId64 " episodes %8" PRId64 " ok %8" PRId64 " failed\n",
            a->name, ad_maturity_name(a->maturity), a->episode_count, a->success_count,
            a->failure_count);
}

static int agent_add(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "maturity", required_argument, NULL, 'm' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    enum ad_maturity m = AD_STUDENT;
    int rc = 0, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'm' && parse_maturity(ctx, optarg, &m) != 0)
            return AD_EXIT_USAGE;
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev agent add NAME [--maturity LEVEL]");
    if (!ad_name_valid(argv[optind]))
        return ad__usage_error(ctx, "invalid agent name '%s': expected 1..%d letters, digits, "
                               "'_', '.' or '-', starting with a letter or digit",
                               argv[optind], AD_NAME_MAX);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", ctx->tenant_id);
    a.name = argv[optind];
    a.maturity = m;
    rc = ad_store_agent_insert(ctx->store, &a, &err);
    /* The name is borrowed from argv; the release below must not free it. */
    a.name = NULL;
    if (rc == AD_EEXIST)
        return ad__usage_error(ctx, "agent '%s' already exists", argv[optind]);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    a.name = argv[optind];
    if (ctx->json)
        rc = ad__print_json(ctx, ad__agent_json(&a));
    else
        fprintf(ctx->out, "added agent %s (%s) %s\n", a.name, ad_maturity_name(a.maturity), a.id);
    return rc;
}

static int agent_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent *v = NULL;
    size_t n = 0;
    int64_t limit = AD_LIST_DEFAULT;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'l' && ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
            return AD_EXIT_USAGE;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "agent list takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_store_agent_list(ctx->store, ctx->tenant_id, NULL, (int)limit, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, ad__agent_json(&v[i]));
        rc = ad__print_json(ctx, arr);
    } else {
        for (size_t i = 0; i < n; i++)
            print_agent_line(ctx, &v[i]);
    }
    ad_agent_list_free(v, n);
    return rc;
}

static int agent_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_agent a = { 0 };
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev agent show NAME");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    if (ctx->json) {
        rc = ad__print_json(ctx, ad__agent_json(&a));
    } else {
        fprintf(ctx->out, "name      %s\nid        %s\nmaturity  %s\n"
                "episodes  %" PRId64 " (%" PRId64 " succeeded, %" PRId64 " failed)\n"
                "created   %s\nupdated   %s\n",
                a.name, a.id, ad_maturity_name(a.maturity), a.episode_count, a.success_count,
                a.failure_count, a.created_at, a.updated_at);
    }
    ad_agent_release(&a);
    return rc;
}

static int agent_set_maturity(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    enum ad_maturity m;
    int rc;

    if (argc != 3 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev agent set-maturity NAME LEVEL");
    if (parse_maturity(ctx, argv[2], &m) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    if (ad_store_agent_set_maturity(ctx->store, ctx->tenant_id, a.id, m, &err) < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json) {
        a.maturity = m;
        rc = ad__print_json(ctx, ad__agent_json(&a));
    } else {
        fprintf(ctx->out, "agent %s: %s -> %s\n", a.name, ad_maturity_name(a.maturity),
                ad_maturity_name(m));
    }
out:
    ad_agent_release(&a);
    return rc;
}

int cmd_agent(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "add", agent_add },
        { "list", agent_list },
        { "show", agent_show },
        { "set-maturity", agent_set_maturity },
        { "run", ad__agent_run },
        { "sessions", ad__agent_sessions },
        { NULL, NULL },
    };

    return ad__run_sub("agent", subs, argc, argv, ctx);
}
