/*
 * autodev db: the database itself. status (the backend, the schema
 * version against the newest this binary knows, the rows of each table),
 * migrate (the schema brought to the newest version, saying what it
 * did) and copy (every row into another database, then both compared).
 */
#include "compat.h"

#include <getopt.h>
#include <unistd.h>

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

/*
 * A uri as it may be printed: a server's password (in the user part or a
 * password= parameter) replaced by ***. The result is malloc'd.
 */
static char *masked_uri(const char *uri)
{
    struct ad_buf b = AD_BUF_INIT;
    const char *p = uri, *at, *scheme_end;

    if (!is_server(uri))
        return strdup(uri);
    scheme_end = strstr(uri, "://");
    at = scheme_end ? strpbrk(scheme_end + 3, "@/?") : NULL;
    if (at && *at == '@') {
        const char *colon = memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3));

        if (colon) {
            ad_buf_add(&b, uri, (size_t)(colon - uri));
            ad_buf_adds(&b, ":***");
            p = at;
        }
    }
    while (*p) {
        const char *pw = strstr(p, "password=");

        if (!pw || (pw != uri && pw[-1] != '?' && pw[-1] != '&')) {
            if (!pw) {
                ad_buf_adds(&b, p);
                break;
            }
            ad_buf_add(&b, p, (size_t)(pw - p) + 9);
            p = pw + 9;
            continue;
        }
        ad_buf_add(&b, p, (size_t)(pw - p) + 9);
        ad_buf_adds(&b, "***");
        p = pw + 9 + strcspn(pw + 9, "&");
    }
    return ad_buf_detach(&b, NULL);
}

static void copy_progress(void *arg, const char *table, int64_t rows, bool done)
{
    struct ad_ctx *ctx = arg;

    if (done)
        ad__note(ctx, "%s: %lld rows", table, (long long)rows);
    else
        ad__note(ctx, "%s: %lld rows so far", table, (long long)rows);
}

static json_t *copy_json(const struct ad_store_copy_table *t, size_t n, const char *from,
                         const char *to, bool verify, bool ok)
{
    json_t *tables = json_array(), *out;

    for (size_t i = 0; tables && i < n; i++) {
        json_t *row = json_pack("{s:s, s:I, s:s, s:I, s:s, s:b}", "table", t[i].name, "rows",
                                (json_int_t)t[i].from_rows, "checksum", t[i].from_sum,
                                "target_rows", (json_int_t)t[i].to_rows, "target_checksum",
                                t[i].to_sum, "ok", t[i].ok);

        if (!row || json_array_append_new(tables, row)) {
            json_decref(tables);
            return NULL;
        }
    }
    out = json_pack("{s:s, s:s, s:b, s:b, s:o}", "from", from, "to", to, "verify_only", verify,
                    "ok", ok, "tables", tables);
    return out;
}

static void copy_text(struct ad_ctx *ctx, const struct ad_store_copy_table *t, size_t n)
{
    int64_t rows = 0;
    int bad = 0;

    fprintf(ctx->out, "%-20s %10s  %-16s  %s\n", "TABLE", "ROWS", "CHECKSUM", "STATUS");
    for (size_t i = 0; i < n; i++) {
        rows += t[i].from_rows;
        bad += !t[i].ok;
        if (t[i].ok)
            fprintf(ctx->out, "%-20s %10lld  %.16s  ok\n", t[i].name,
                    (long long)t[i].from_rows, t[i].from_sum);
        else
            fprintf(ctx->out, "%-20s %10lld  %.16s  MISMATCH: the target has %lld rows, %.16s\n",
                    t[i].name, (long long)t[i].from_rows, t[i].from_sum,
                    (long long)t[i].to_rows, t[i].to_sum);
    }
    if (!bad)
        fprintf(ctx->out, "%zu tables, %lld rows: every table matches\n", n, (long long)rows);
}

static int db_copy(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "verify-only", no_argument, NULL, 'V' },
        { "progress", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_store_copy_options o = { 0 };
    struct ad_store_copy_table *tables = NULL;
    struct ad_err err = AD_ERR_INIT;
    char *from = NULL, *to = NULL;
    bool progress = isatty(fileno(ctx->err));
    size_t n = 0;
    int c, rc;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'f':
            o.from = optarg;
            break;
        case 't':
            o.to = optarg;
            break;
        case 'V':
            o.flags |= AD_STORE_COPY_VERIFY;
            break;
        case 'P':
            progress = true;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc || !o.from || !o.to)
        return ad__usage_error(ctx, "usage: autodev db copy --from URI --to URI [--verify-only] "
                                    "[--progress]");
    o.busy_timeout_ms = ctx->busy_timeout_ms;
    if (progress) {
        o.progress = copy_progress;
        o.progress_arg = ctx;
    }
    rc = ad_runtime_db_copy(&o, &tables, &n, &err);
    if (rc < 0 && !tables)
        return ad__die_err(ctx, &err);
    from = masked_uri(o.from);
    to = masked_uri(o.to);
    if (!from || !to) {
        free(from);
        free(to);
        free(tables);
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    }
    if (ctx->json)
        ad__print_json(ctx, copy_json(tables, n, from, to, o.flags & AD_STORE_COPY_VERIFY,
                                      rc == 0));
    else
        copy_text(ctx, tables, n);
    if (!rc && !ctx->json && !(o.flags & AD_STORE_COPY_VERIFY))
        fprintf(ctx->out, "copied %s to %s\n", from, to);
    free(from);
    free(to);
    free(tables);
    return rc < 0 ? ad__die_err(ctx, &err) : 0;
}

int cmd_db(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "status", db_status },
        { "migrate", db_migrate },
        { "copy", db_copy },
        { NULL, NULL },
    };

    return ad__run_sub("db", subs, argc, argv, ctx);
}
