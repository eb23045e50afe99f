/*
 * autodev notifications: list what the learning loops want a human to know
 * (a capability unlocked, a skill candidate to review), and mark it read.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/clock.h"
#include "autodev/learn.h"
#include "autodev/store.h"

#include "cli.h"

static json_t *notification_json(const struct ad_notification *n, const char *agent)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:O?, s:b, s:s?, s:s}",
                     "id", n->id, "type", n->type ? n->type : "", "title",
                     n->title ? n->title : "", "message", n->message ? n->message : "",
                     "agent_id", n->agent_id[0] ? n->agent_id : NULL,
                     "agent", agent[0] ? agent : NULL, "payload", n->payload,
                     "read", n->read_at[0] != '\0', "read_at",
                     n->read_at[0] ? n->read_at : NULL, "created_at", n->created_at);
}

/* "ID  TIME  new|read  TYPE  AGENT  TITLE", then the message indented. */
#define NOTIFICATION_ROW "%-36s  %-24s  %-4s  %-28s  %-16s  "
static const char notification_header[] = NOTIFICATION_ROW "%s";

static void print_notification(struct ad_ctx *ctx, const struct ad_notification *n,
                               const char *agent)
{
    const char *m = n->message ? n->message : "";

    fprintf(ctx->out, NOTIFICATION_ROW, n->id, n->created_at, n->read_at[0] ? "read" : "new",
            n->type, agent[0] ? agent : "-");
    ad__print_clipped(ctx->out, n->title ? n->title : "", 200);
    fputc('\n', ctx->out);
    while (*m) {
        const char *nl = strchr(m, '\n');
        size_t len = nl ? (size_t)(nl - m) : strlen(m);

        fprintf(ctx->out, "    %.*s\n", (int)len, m);
        m += len + (nl ? 1 : 0);
    }
}

static int check_type(struct ad_ctx *ctx, const char *t)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyz0123456789_.";
    size_t n = strlen(t);

    if (n == 0 || n > AD_NOTIFY_TYPE_MAX || strspn(t, allowed) != n)
        return ad__usage_error(ctx, "invalid type '%s': expected 1..%d of a-z, 0-9, '_' and '.'",
                               t, AD_NOTIFY_TYPE_MAX);
    return 0;
}

static int notifications_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "unread", no_argument, NULL, 'u' },
        { "type", required_argument, NULL, 't' },
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_name_cache names = { 0 };
    struct ad_notification *v = NULL;
    const char *type = NULL;
    json_t *arr;
    int64_t limit = AD_LIST_DEFAULT;
    bool unread = false;
    size_t n = 0;
    int rc = 0, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'u': unread = true; break;
        case 't':
            if (check_type(ctx, optarg) != 0)
                return AD_EXIT_USAGE;
            type = optarg;
            break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s' (see 'autodev notifications "
                               "--help')", argv[optind]);
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_notifications_list(ctx->store, ctx->tenant_id, unread, type, (int)limit, &v, &n,
                              &err) < 0)
        return ad__die_err(ctx, &err);
    /* One array, like every other list (a stream is events tail --follow's). */
    arr = ctx->json ? json_array() : NULL;
    if (!ctx->json && n > 0)
        ad__print_header(ctx, notification_header, "ID", "CREATED", "READ", "TYPE", "AGENT",
                         "TITLE");
    for (size_t i = 0; i < n; i++) {
        const char *agent = ad__agent_name(ctx, &names, v[i].agent_id);

        if (!agent)
            agent = "";
        if (!ctx->json)
            print_notification(ctx, &v[i], agent);
        else if (arr && json_array_append_new(arr, notification_json(&v[i], agent)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (ctx->json)
        rc = ad__print_json(ctx, arr);
    ad__name_cache_release(&names);
    ad_notification_list_free(v, n);
    return rc;
}

static int notifications_read(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "all", no_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    const char *id = NULL;
    int64_t count = 0;
    bool all = false;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        all = true;
    }
    if (argc - optind == 1)
        id = argv[optind];
    if ((all && id) || (!all && !id) || argc - optind > 1)
        return ad__usage_error(ctx, "usage: autodev notifications read ID | --all");
    if (id && !ad_id_valid(id))
        return ad__usage_error(ctx, "invalid notification id '%s'", id);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    if (ad_notifications_mark_read(ctx->store, ctx->tenant_id, id, &count, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:I}", "marked", (json_int_t)count));
    fprintf(ctx->out, "marked %" PRId64 " notification%s read\n", count, count == 1 ? "" : "s");
    return 0;
}

int cmd_notifications(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "list", notifications_list },
        { "read", notifications_read },
        { NULL, NULL },
    };

    /* Listing is what one runs most: "autodev notifications --unread" lists. */
    if (argc < 2 || argv[1][0] == '-')
        return notifications_list(argc, argv, ctx);
    return ad__run_sub("notifications", subs, argc, argv, ctx);
}
