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
    ad__print_header(ctx, "%-30s %s", "KEY", "VALUE");
    for (const char *const *k = ad_settings_keys(); *k; k++) {
        const json_t *v = json_object_get(obj, *k);
        char *s = v ? ad_json_dumps(v) : NULL;

        fprintf(ctx->out, "%-30s %s\n", *k, s ? s : "?");
        free(s);
    }
}

/* The tenant's settings as a JSON object into *out. Returns an exit code. */
static int load_settings(struct ad_ctx *ctx, json_t **out)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    int rc = ad__ctx_tenant(ctx, 0);

    *out = NULL;
    if (rc != 0)
        return rc;
    if (ad_settings_get(ctx->store, ctx->tenant_id, &s, &err) < 0)
        return ad__die_err(ctx, &err);
    *out = ad_settings_to_json(&s);
    if (!*out)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    return 0;
}

/* settings list (and its older name, settings show): every key with its value. */
static int settings_list(int argc, char **argv, struct ad_ctx *ctx)
{
    json_t *obj;
    int rc;

    if (argc != 1)
        return ad__usage_error(ctx, "settings %s takes no argument", argv[0]);
    rc = load_settings(ctx, &obj);
    if (rc != 0)
        return rc;
    if (ctx->json)
        return ad__print_json(ctx, obj);
    print_settings_text(ctx, obj);
    json_decref(obj);
    return 0;
}

static int known_key(const char *key)
{
    for (const char *const *k = ad_settings_keys(); *k; k++) {
        if (!strcmp(*k, key))
            return 1;
    }
    return 0;
}

/* An unknown key, with the keys there are. */
static int unknown_key(struct ad_ctx *ctx, const char *key)
{
    struct ad_buf b = AD_BUF_INIT;
    int rc;

    for (const char *const *k = ad_settings_keys(); *k; k++)
        ad_buf_addf(&b, "%s%s", b.len ? ", " : "", *k);
    rc = ad__usage_error(ctx, "unknown setting '%s' (the settings are %s)", key,
                         b.ptr ? b.ptr : "");
    ad_buf_release(&b);
    return rc;
}

/* settings get KEY: the value alone, as typed on a command line. */
static int settings_get(int argc, char **argv, struct ad_ctx *ctx)
{
    const json_t *v;
    json_t *obj;
    char *text;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev settings get KEY");
    if (!known_key(argv[1]))
        return unknown_key(ctx, argv[1]);
    rc = load_settings(ctx, &obj);
    if (rc != 0)
        return rc;
    v = json_object_get(obj, argv[1]);
    if (ctx->json) {
        rc = ad__print_json(ctx, json_pack("{s:s, s:O}", "key", argv[1], "value", v));
    } else {
        text = v ? ad_json_dumps(v) : NULL;
        if (text)
            fprintf(ctx->out, "%s\n", text);
        else
            rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
        free(text);
    }
    json_decref(obj);
    return rc;
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
        { "list", settings_list },
        { "show", settings_list },
        { "get", settings_get },
        { "set", settings_set },
        { NULL, NULL },
    };

    return ad__run_sub("settings", subs, argc, argv, ctx);
}
