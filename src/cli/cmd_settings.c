/*
 * autodev settings: show and set the tenant's auto_dev block.
 */
#include "compat.h"

#include "autodev/json.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "cli.h"

/* Prints each key and its value as typed on a command line. */
static void print_settings_text(struct ad_ctx *ctx, const json_t *obj)
{
    for (const char *const *k = ad_settings_keys(); *k; k++) {
        const json_t *v = json_object_get(obj, *k);
        char *s = v ? ad_json_dumps(v) : NULL;

        fprintf(ctx->out, "%-30s %s\n", *k, s ? s : "?");
        free(s);
    }
}

static int settings_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    json_t *obj;
    int rc;

    if (argc != 1)
        return ad__usage_error(ctx, "settings show takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_settings_get(ctx->store, ctx->tenant_id, &s, &err) < 0)
        return ad__die_err(ctx, &err);
    obj = ad_settings_to_json(&s);
    if (ctx->json)
        return ad__print_json(ctx, obj);
    if (!obj)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    print_settings_text(ctx, obj);
    json_decref(obj);
    return 0;
}

static int settings_set(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    json_t *obj;
    const json_t *jv;
    char *value;
    int rc;

    if (argc != 3)
        return ad__usage_error(ctx, "usage: autodev settings set KEY VALUE");
    /* Check the pair before touching the database, so a typo costs nothing. */
    ad_settings_defaults(&s);
    if (ad_settings_set(&s, argv[1], argv[2], &err) < 0)
        return ad__die_err(ctx, &err);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    if (ad_settings_update(ctx->store, ctx->tenant_id, argv[1], argv[2], &s, &err) < 0)
        return ad__die_err(ctx, &err);
    obj = ad_settings_to_json(&s);
    if (ctx->json)
        return ad__print_json(ctx, obj);
    if (!obj)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    /* Echo the stored form ("true", not "TRUE" or "1"). */
    jv = json_object_get(obj, argv[1]);
    value = jv ? ad_json_dumps(jv) : NULL;
    fprintf(ctx->out, "%s = %s\n", argv[1], value ? value : argv[2]);
    free(value);
    json_decref(obj);
    return 0;
}

int cmd_settings(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "show", settings_show },
        { "set", settings_set },
        { NULL, NULL },
    };

    return ad__run_sub("settings", subs, argc, argv, ctx);
}
