/*
 * autodev propose mutate: offline mutants of a Python file, as edits.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/propose.h"

#include "cli.h"

/* "number,compare" -> mask; a usage error names an unknown operator. */
static int parse_ops(struct ad_ctx *ctx, const char *s, unsigned *mask)
{
    static const enum ad_mutation_op all[] = { AD_MUT_NUMBER, AD_MUT_COMPARE, AD_MUT_ARITH,
                                               AD_MUT_BOOL, AD_MUT_DELETE, AD_MUT_DUPLICATE,
                                               AD_MUT_SWAP };
    char *copy = strdup(s), *tok, *save = NULL;
    size_t i;
    int rc = 0;

    if (!copy)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    *mask = 0;
    for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        for (i = 0; i < AD_ARRAY_SIZE(all) && strcmp(tok, ad_mutation_op_name(all[i])); i++)
            ;
        if (i == AD_ARRAY_SIZE(all))
            rc = ad__usage_error(ctx, "--ops: unknown operator '%s' (want number, compare, "
                                 "arith, bool, delete, duplicate or swap)", tok);
        else
            *mask |= (unsigned)all[i];
    }
    free(copy);
    return rc;
}

static int print_mutants(struct ad_ctx *ctx, const struct ad_mutant *m, size_t n)
{
    json_t *a;
    size_t i;

    if (!ctx->json) {
        for (i = 0; i < n; i++) {
            size_t len = strlen(m[i].edit);

            fprintf(ctx->out, "%s# mutant %zu: %s\n%s%s", i ? "\n" : "", i + 1,
                    m[i].description, m[i].edit, len && m[i].edit[len - 1] == '\n' ? "" : "\n");
        }
        return AD_EXIT_OK;
    }
    a = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:s}", "op",
                                           ad_mutation_op_name(m[i].op), "line", m[i].line,
                                           "description", m[i].description, "edit", m[i].edit));
    return ad__print_json(ctx, a);
}

static int propose_mutate(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "seed", required_argument, NULL, 's' },
        { "count", required_argument, NULL, 'c' },
        { "ops", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_propose_opts o = { 0, 5, 0, NULL };
    struct ad_buf code = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct ad_mutant *m = NULL;
    int64_t v;
    size_t n = 0;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 's':
            if (ad__parse_int(ctx, "--seed", optarg, 0, INT64_MAX, &v))
                return AD_EXIT_USAGE;
            o.seed = (uint64_t)v;
            break;
        case 'c':
            if (ad__parse_int(ctx, "--count", optarg, 1, 1000, &v))
                return AD_EXIT_USAGE;
            o.count = (int)v;
            break;
        case 'o':
            if (parse_ops(ctx, optarg, &o.ops))
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc)
        return ad__usage_error(ctx, "propose mutate takes one FILE");
    o.path = argv[optind];
    ad_buf_init(&code, (size_t)4 << 20);
    rc = ad__read_path(ctx, o.path, &code);
    if (rc) {
        ad_buf_release(&code);
        return rc;
    }
    rc = ad_propose_mutants(code.ptr, code.len, &o, &m, &n, &err);
    ad_buf_release(&code);
    if (rc)
        return ad__die_err(ctx, &err);
    rc = print_mutants(ctx, m, n);
    ad_mutants_free(m, n);
    return rc;
}

int cmd_propose(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "mutate", propose_mutate },
        { NULL, NULL },
    };

    return ad__run_sub("propose", subs, argc, argv, ctx);
}
