/*
 * autodev sandbox: check what isolation this machine gives; run one skill.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/json.h"
#include "autodev/sandbox.h"

#include "cli.h"

/* "title" and one "  - item" line per string of list; nothing when it is empty. */
static void print_list(struct ad_ctx *ctx, const char *title, const json_t *list)
{
    const json_t *v;
    size_t i;

    if (json_array_size(list) == 0)
        return;
    fprintf(ctx->out, "%s\n", title);
    json_array_foreach(list, i, v)
        fprintf(ctx->out, "  - %s\n", json_string_value(v));
}

static int sandbox_check(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "backend", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_sandbox_options opts = { 0 };
    struct ad_err err = AD_ERR_INIT;
    json_t *rep, *checks, *c;
    char *error;
    size_t i;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'b':
            if (ad_sb_backend_parse(optarg, &opts.backend, &err) < 0)
                return ad__die_err(ctx, &err);
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "sandbox check takes no argument");
    opts.quiet = true;
    rep = ad_sandbox_check(&opts);
    if (!rep)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    if (json_string_value(json_object_get(rep, "error")))
        error = strdup(json_string_value(json_object_get(rep, "error")));
    else
        error = NULL;
    if (ctx->json) {
        rc = ad__print_json(ctx, rep);
    } else {
        fprintf(ctx->out, "backend:   %s\nisolation: %s\n",
                json_string_value(json_object_get(rep, "backend")),
                json_string_value(json_object_get(rep, "isolation")));
        checks = json_object_get(rep, "checks");
        json_array_foreach(checks, i, c) {
            fprintf(ctx->out, "%-4s %-12s %s\n",
                    json_is_true(json_object_get(c, "ok")) ? "ok" : "no",
                    json_string_value(json_object_get(c, "name")),
                    json_string_value(json_object_get(c, "detail")));
        }
        print_list(ctx, "contains:", json_object_get(rep, "guarantees"));
        print_list(ctx, "does not contain:", json_object_get(rep, "gaps"));
        json_decref(rep);
        rc = AD_EXIT_OK;
    }
    /* The backend asked for cannot run here: the report says why, and so
     * does the exit code. */
    if (error && rc == AD_EXIT_OK)
        rc = ad__die_code(ctx, AD_ENOTSUP, "%s", error);
    free(error);
    return rc;
}

static int sandbox_run(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "code", required_argument, NULL, 'c' },
        { "entry", required_argument, NULL, 'e' },
        { "input", required_argument, NULL, 'i' },
        { "input-file", required_argument, NULL, 'I' },
        { "timeout", required_argument, NULL, 't' },
        { "cpu", required_argument, NULL, 'u' },
        { "memory", required_argument, NULL, 'm' },
        { "pids", required_argument, NULL, 'p' },
        { "output", required_argument, NULL, 'o' },
        { "tmpfs", required_argument, NULL, 'T' },
        { "backend", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_sandbox_options opts = { 0 };
    struct ad_sandbox_spec spec;
    struct ad_sandbox_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf code = AD_BUF_INIT, input = AD_BUF_INIT;
    struct ad_sandbox *sb = NULL;
    const char *code_path = NULL, *input_text = NULL, *input_path = NULL;
    int64_t v;
    int ch, rc;

    memset(&spec, 0, sizeof(spec));
    memset(&res, 0, sizeof(res));
    ad_buf_init(&code, (size_t)16 << 20);
    ad_buf_init(&input, (size_t)64 << 20);
    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'c': code_path = optarg; break;
        case 'e': spec.entry = optarg; break;
        case 'i': input_text = optarg; break;
        case 'I': input_path = optarg; break;
        case 't':
            if (ad__parse_int(ctx, "--timeout", optarg, 1, 86400, &v))
                return AD_EXIT_USAGE;
            spec.limits.wall_ms = v * 1000;
            break;
        case 'u':
            if (ad__parse_int(ctx, "--cpu", optarg, 1, 86400, &v))
                return AD_EXIT_USAGE;
            spec.limits.cpu_ms = v * 1000;
            break;
        case 'm':
            if (ad__parse_int(ctx, "--memory", optarg, 16, 65536, &v))
                return AD_EXIT_USAGE;
            spec.limits.memory_bytes = v << 20;
            break;
        case 'p':
            if (ad__parse_int(ctx, "--pids", optarg, 1, 4096, &v))
                return AD_EXIT_USAGE;
            spec.limits.pids = (int)v;
            break;
        case 'o':
            if (ad__parse_int(ctx, "--output", optarg, 1024, 1LL << 30, &v))
                return AD_EXIT_USAGE;
            spec.limits.output_bytes = v;
            break;
        case 'T':
            if (ad__parse_int(ctx, "--tmpfs", optarg, 1, 16384, &v))
                return AD_EXIT_USAGE;
            spec.limits.tmpfs_bytes = v << 20;
            break;
        case 'b':
            if (ad_sb_backend_parse(optarg, &opts.backend, &err) < 0)
                return ad__die_err(ctx, &err);
            opts.exec = opts.backend == AD_SB_EXEC ? optarg + 5 : NULL;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    if (!code_path)
        return ad__usage_error(ctx, "sandbox run needs --code FILE");
    if (!spec.entry)
        return ad__usage_error(ctx, "sandbox run needs --entry NAME");
    if (input_text && input_path)
        return ad__usage_error(ctx, "give --input or --input-file, not both");

    rc = ad__read_path(ctx, code_path, &code);
    if (rc == 0 && input_path)
        rc = ad__read_path(ctx, input_path, &input);
    if (rc)
        goto out;
    spec.code = code.ptr;
    spec.code_len = code.len;
    spec.input_json = input_path ? input.ptr : input_text;

    opts.slots = 1;   /* one run: one supervisor, and no init readied past it */
    opts.one_shot = true;
    rc = ad_sandbox_new(&opts, &sb, &err);
    if (rc < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    rc = ad_sandbox_run(sb, &spec, &res, &err);
    if (rc < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    rc = ad__print_json(ctx, ad_sandbox_result_json(&res));
    if (rc == 0 && res.status == AD_SB_SANDBOX_ERROR) {
        const char *m = json_string_value(json_object_get(res.error, "message"));
        rc = ad__die_code(ctx, AD_EIO, "the sandbox failed: %s", m ? m : "unknown error");
    }
out:
    ad_sandbox_result_clear(&res);
    ad_sandbox_free(sb);
    ad_buf_release(&code);
    ad_buf_release(&input);
    return rc;
}

int cmd_sandbox(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "check", sandbox_check },
        { "run", sandbox_run },
        { NULL, NULL },
    };

    return ad__run_sub("sandbox", subs, argc, argv, ctx);
}
