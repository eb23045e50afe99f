/*
 * autodev db: the database itself. status (the backend, the schema
 * version against the newest this binary knows, the rows of each table)
 * and migrate (the schema brought to the newest version, saying what it
 * did).
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/runtime.h"

#include "cli.h"

/* A server's uri: printed nowhere (it may carry a password). */
static int is_server(const char *db)
{
    return strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0;
}

static int no_args(int argc, char **argv, struct ad_ctx *ctx, const char *usage)
{
    static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
    int c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "usage: %s", usage);
    return 0;
}

static int db_status(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    int current = 0, latest = 0, rc = no_args(argc, argv, ctx, "autodev db status");
    json_t *tables, *out;
    size_t i;

    if (rc != 0)
        return rc;
    rc = ad__ctx_store(ctx, AD_CTX_READ);
    if (rc != 0)
        return rc;
    if (ad_runtime_schema_version(ctx->rt, &current, &latest, &err) < 0)
        return ad__die_err(ctx, &err);
    tables = json_object();
    if (!tables)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    for (i = 0; i < ad_runtime_table_total(); i++) {
        int64_t n = 0;

        if (ad_runtime_table_count(ctx->rt, ad_runtime_table_name(i), &n, &err) < 0) {
            json_decref(tables);
            return ad__die_err(ctx, &err);
        }
        json_object_set_new(tables, ad_runtime_table_name(i), json_integer(n));
    }
    if (ctx->json) {
        out = json_pack("{s:s, s:{s:i, s:i}, s:o}", "backend", ad_runtime_backend(ctx->rt),
                        "schema_version", "current", current, "latest", latest, "tables",
                        tables);
        if (out && !is_server(ctx->db_path))
            json_object_set_new(out, "database", json_string(ctx->db_path));
        return ad__print_json(ctx, out);
    }
    fprintf(ctx->out, "backend         %s\n", ad_runtime_backend(ctx->rt));
    if (!is_server(ctx->db_path))
        fprintf(ctx->out, "database        %s\n", ctx->db_path);
    fprintf(ctx->out, "schema version  %d (latest %d%s)\n", current, latest,
            current == latest ? "" : ": run 'autodev db migrate'");
    for (i = 0; i < ad_runtime_table_total(); i++)
        fprintf(ctx->out, "%-20s %10lld\n", ad_runtime_table_name(i),
                (long long)json_integer_value(json_object_get(tables, ad_runtime_table_name(i))));
    json_decref(tables);
    return 0;
}

/*
 * The version before: a read-only open, which never migrates, either
 * succeeds (the schema is current) or says the version it found.
 */
static int version_before(struct ad_ctx *ctx, int *before)
{
    struct ad_runtime_options o = { 0 };
    struct ad_runtime *rt = NULL;
    struct ad_err err = AD_ERR_INIT;
    int latest = 0, rc;
    const char *p;

    o.db = ctx->db_path;
    o.readonly = 1;
    o.busy_timeout_ms = ctx->busy_timeout_ms;
    rc = ad_runtime_open(&o, &rt, &err);
    if (rc == 0) {
        rc = ad_runtime_schema_version(rt, before, &latest, &err);
        ad_runtime_free(rt);
        return rc;
    }
    p = strstr(err.msg, "schema version ");
    if (p && sscanf(p, "schema version %d", before) == 1)
        return 0;
    return rc;
}

static int db_migrate(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    int before = -1, current = 0, latest = 0, rc = no_args(argc, argv, ctx, "autodev db migrate");

    if (rc != 0)
        return rc;
    if (version_before(ctx, &before) < 0)
        before = -1;
    /* A read-write open migrates (under the backend's lock: once, however many start). */
    rc = ad__ctx_store(ctx, AD_CTX_WRITE);
    if (rc != 0)
        return rc;
    if (ad_runtime_schema_version(ctx->rt, &current, &latest, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *out = json_pack("{s:s, s:i, s:i, s:b}", "backend", ad_runtime_backend(ctx->rt),
                                "schema_version", current, "latest", latest, "migrated",
                                before >= 0 && before != current);

        if (out && before >= 0)
            json_object_set_new(out, "from", json_integer(before));
        return ad__print_json(ctx, out);
    }
    if (before == current)
        fprintf(ctx->out, "schema version %d is the latest: nothing to do\n", current);
    else if (before >= 0)
        fprintf(ctx->out, "migrated the schema from version %d to %d\n", before, current);
    else
        fprintf(ctx->out, "schema version %d (latest %d)\n", current, latest);
    return 0;
}

int cmd_db(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "status", db_status },
        { "migrate", db_migrate },
        { NULL, NULL },
    };

    return ad__run_sub("db", subs, argc, argv, ctx);
}
