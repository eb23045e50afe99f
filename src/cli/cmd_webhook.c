/*
 * autodev webhook: add, list and remove the tenant's webhooks, show or
 * rotate a webhook's signing secret, list deliveries, replay the failed
 * and dead ones, send a test event; and autodev signals: the tenant's
 * secret for signed fitness signals. The hooks module (hooks.h) owns all
 * of it; secrets are derived from the signing key, never stored.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/hooks.h"
#include "autodev/json.h"
#include "autodev/runtime.h"
#include "autodev/store.h"

#include "cli.h"

/* The tenant (made when create) and the runtime's hooks. */
static int open_hooks(struct ad_ctx *ctx, int create, struct ad_hooks **h)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad__ctx_tenant(ctx, create);

    if (rc != 0)
        return rc;
    /* Secrets need the key; deliveries and replays write: a read-write runtime. */
    rc = ad__ctx_store(ctx, AD_CTX_WRITE);
    if (rc != 0)
        return rc;
    if (ad_runtime_hooks(ctx->rt, h, &err) < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static int need_id(struct ad_ctx *ctx, const char *what, const char *id)
{
    if (!ad_id_valid(id))
        return ad__usage_error(ctx, "invalid %s id '%s'", what, id);
    return 0;
}

static int webhook_add(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "topics", required_argument, NULL, 't' },
        { "description", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook w = { 0 };
    char secret[AD_HOOKS_SECRET_SIZE];
    const char *topics_csv = NULL, *desc = NULL;
    json_t *topics = NULL;
    struct ad_hooks *h;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 't': topics_csv = optarg; break;
        case 'd': desc = optarg; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        return ad__usage_error(ctx, "usage: autodev webhook add URL --topics T1,T2|*");
    if (!topics_csv)
        return ad__usage_error(ctx, "webhook add needs --topics (a comma-separated list, or *)");
    if (ad_hooks_topics_parse(topics_csv, &topics, &err) < 0)
        return ad__die_err(ctx, &err);
    rc = open_hooks(ctx, 1, &h);
    if (rc == 0 && ad_webhook_add(h, ctx->tenant_id, argv[optind], topics, desc, &w, secret,
                                  &err) < 0)
        rc = ad__die_err(ctx, &err);
    json_decref(topics);
    if (rc != 0)
        return rc;
    if (ctx->json) {
        json_t *j = ad_webhook_json(&w);

        if (j && json_object_set_new(j, "secret", json_string(secret)) < 0)
            j = (json_decref(j), NULL);
        rc = ad__print_json(ctx, j);
    } else {
        fprintf(ctx->out, "%s\n%s\n", w.id, secret);
        ad__note(ctx, "webhook %s: the second line is its signing secret (shown again by "
                 "'autodev webhook secret %s')", w.id, w.id);
    }
    ad_webhook_release(&w);
    return rc;
}

#define WEBHOOK_ROW "%-36s  %-6s  %-3s  %-30s  %s"

static int webhook_list(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook *v = NULL;
    struct ad_hooks *h;
    size_t n = 0;
    int rc;

    if (argc != 1)
        return ad__usage_error(ctx, "webhook list takes no argument");
    rc = open_hooks(ctx, 0, &h);
    if (rc != 0)
        return rc;
    if (ad_webhook_list(h, ctx->tenant_id, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++) {
            if (json_array_append_new(arr, ad_webhook_json(&v[i])) < 0)
                arr = (json_decref(arr), NULL);
        }
        rc = ad__print_json(ctx, arr);
    } else {
        if (n > 0)
            ad__print_header(ctx, WEBHOOK_ROW, "ID", "ACTIVE", "GEN", "TOPICS", "URL");
        for (size_t i = 0; i < n; i++) {
            char *topics = ad_json_dumps(v[i].topics);
            char gen[24];

            snprintf(gen, sizeof(gen), "%lld", (long long)v[i].secret_generation);
            fprintf(ctx->out, WEBHOOK_ROW "\n", v[i].id, v[i].active ? "yes" : "no",
                    gen, topics ? topics : "?", v[i].url);
            free(topics);
        }
    }
    ad_webhook_list_free(v, n);
    return rc;
}

static int webhook_remove(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_hooks *h;
    int rc;

    if (argc != 2)
        return ad__usage_error(ctx, "usage: autodev webhook remove ID");
    rc = need_id(ctx, "webhook", argv[1]);
    if (rc == 0)
        rc = open_hooks(ctx, 0, &h);
    if (rc != 0)
        return rc;
    if (ad_webhook_remove(h, ctx->tenant_id, argv[1], &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s, s:b}", "id", argv[1], "removed", 1));
    fprintf(ctx->out, "removed webhook %s\n", argv[1]);
    return 0;
}

/* webhook secret ID [--rotate] and signals secret [--rotate] share their options. */
static int parse_rotate(int argc, char **argv, struct ad_ctx *ctx, int *rotate)
{
    static const struct option longopts[] = {
        { "rotate", no_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *rotate = 0;
    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c != 'r')
            return AD_EXIT_USAGE;
        *rotate = 1;
    }
    return 0;
}

static int print_secret(struct ad_ctx *ctx, const char *key, const char *id, const char *secret,
                        int rotated)
{
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s?, s:s, s:b}", key, id, "secret", secret,
                                             "rotated", rotated));
    fprintf(ctx->out, "%s\n", secret);
    if (rotated)
        ad__note(ctx, "rotated: the previous secret no longer verifies");
    return 0;
}

static int webhook_secret(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    char secret[AD_HOOKS_SECRET_SIZE];
    struct ad_hooks *h;
    int rotate, rc = parse_rotate(argc, argv, ctx, &rotate);

    if (rc != 0)
        return rc;
    if (optind != argc - 1)
        return ad__usage_error(ctx, "usage: autodev webhook secret ID [--rotate]");
    rc = need_id(ctx, "webhook", argv[optind]);
    if (rc == 0)
        rc = open_hooks(ctx, 0, &h);
    if (rc != 0)
        return rc;
    if (ad_webhook_secret(h, ctx->tenant_id, argv[optind], rotate, secret, &err) < 0)
        return ad__die_err(ctx, &err);
    return print_secret(ctx, "webhook_id", argv[optind], secret, rotate);
}

#define DELIVERY_ROW "%-36s  %-36s  %-10s  %-8s  %-4s  %s"

static int webhook_deliveries(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "webhook", required_argument, NULL, 'w' },
        { "status", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook_delivery *v = NULL;
    enum ad_delivery_status st;
    const char *webhook = NULL;
    struct ad_hooks *h;
    size_t n = 0;
    int status = -1, rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'w': webhook = optarg; break;
        case 's':
            if (ad_delivery_status_parse(optarg, &st) < 0)
                return ad__usage_error(ctx, "invalid status '%s': expected pending, delivered, "
                                       "failed or dead", optarg);
            status = (int)st;
            break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    rc = webhook ? need_id(ctx, "webhook", webhook) : 0;
    if (rc == 0)
        rc = open_hooks(ctx, 0, &h);
    if (rc != 0)
        return rc;
    if (ad_webhook_deliveries(h, ctx->tenant_id, webhook, status, AD_LIST_MAX, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++) {
            if (json_array_append_new(arr, ad_webhook_delivery_json(&v[i])) < 0)
                arr = (json_decref(arr), NULL);
        }
        rc = ad__print_json(ctx, arr);
    } else {
        if (n > 0)
            ad__print_header(ctx, DELIVERY_ROW, "ID", "WEBHOOK", "STATUS", "ATTEMPTS", "CODE",
                             "TOPIC / LAST ERROR");
        for (size_t i = 0; i < n; i++) {
            char attempts[16], code[16];

            snprintf(attempts, sizeof(attempts), "%d", v[i].attempts);
            snprintf(code, sizeof(code), "%d", v[i].last_status_code);
            fprintf(ctx->out, DELIVERY_ROW "%s%s\n", v[i].id, v[i].webhook_id,
                    ad_delivery_status_name(v[i].status), attempts,
                    v[i].last_status_code ? code : "-", v[i].topic,
                    v[i].last_error ? ": " : "", v[i].last_error ? v[i].last_error : "");
        }
    }
    ad_webhook_delivery_list_free(v, n);
    return rc;
}

static int webhook_replay(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "all-dead", no_argument, NULL, 'a' },
        { "webhook", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    const char *webhook = NULL;
    struct ad_hooks *h;
    int all = 0, count = 0, rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': all = 1; break;
        case 'w': webhook = optarg; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (all == (optind < argc) || optind < argc - 1 || (webhook && !all))
        return ad__usage_error(ctx, "usage: autodev webhook replay DELIVERY_ID | --all-dead "
                               "[--webhook ID]");
    rc = all ? (webhook ? need_id(ctx, "webhook", webhook) : 0)
             : need_id(ctx, "delivery", argv[optind]);
    if (rc == 0)
        rc = open_hooks(ctx, 0, &h);
    if (rc != 0)
        return rc;
    if (all)
        rc = ad_webhook_replay_dead(h, ctx->tenant_id, webhook, &count, &err);
    else
        rc = ad_webhook_replay(h, ctx->tenant_id, argv[optind], NULL, &err);
    if (rc == AD_ESTATE)
        return ad__usage_error(ctx, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (!all)
        count = 1;
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:i}", "queued", count));
    fprintf(ctx->out, "queued %d deliver%s again\n", count, count == 1 ? "y" : "ies");
    return 0;
}

static int webhook_test(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_hooks *h;
    int rc;

    if (argc != 2)
        return ad__usage_error(ctx, "usage: autodev webhook test ID");
    rc = need_id(ctx, "webhook", argv[1]);
    if (rc == 0)
        rc = open_hooks(ctx, 0, &h);
    if (rc != 0)
        return rc;
    if (ad_webhook_test(h, ctx->tenant_id, argv[1], &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s, s:b}", "webhook_id", argv[1], "queued", 1));
    fprintf(ctx->out, "queued a webhook.test event for %s (the workers deliver it)\n", argv[1]);
    return 0;
}

int cmd_webhook(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "add", webhook_add },
        { "list", webhook_list },
        { "remove", webhook_remove },
        { "secret", webhook_secret },
        { "deliveries", webhook_deliveries },
        { "replay", webhook_replay },
        { "test", webhook_test },
        { NULL, NULL },
    };

    return ad__run_sub("webhook", subs, argc, argv, ctx);
}

static int signals_secret(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    char secret[AD_HOOKS_SECRET_SIZE];
    struct ad_hooks *h;
    int rotate, rc = parse_rotate(argc, argv, ctx, &rotate);

    if (rc != 0)
        return rc;
    if (optind < argc)
        return ad__usage_error(ctx, "usage: autodev signals secret [--rotate]");
    rc = open_hooks(ctx, 1, &h);
    if (rc != 0)
        return rc;
    if (ad_signals_secret(h, ctx->tenant_id, rotate, secret, &err) < 0)
        return ad__die_err(ctx, &err);
    return print_secret(ctx, "tenant", ctx->tenant_name, secret, rotate);
}

int cmd_signals(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "secret", signals_secret },
        { NULL, NULL },
    };

    return ad__run_sub("signals", subs, argc, argv, ctx);
}
