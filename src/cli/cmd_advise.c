/*
 * autodev advise: the advisor's facts from the store (advise.h), as text or
 * JSON, and with --ai a model's summary of the same facts.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/advise.h"
#include "autodev/llm.h"

#include "cli.h"

/*
 * The facts come first, always: with --ai they are printed before the model
 * is asked (text), or with its summary in one document (JSON); a model that
 * is missing or fails leaves the facts printed and exits 1.
 */
static int summarize(struct ad_ctx *ctx, const json_t *advice, char **summary)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm = NULL;
    int rc = ad__ctx_llm(ctx, NULL, &llm);

    if (rc != 0)
        return rc;
    rc = ad_advise_summarize(llm, advice, summary, &err);
    ad_llm_free(llm);
    return rc < 0 ? ad__die_err(ctx, &err) : 0;
}

int cmd_advise(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "agent", required_argument, NULL, 'a' },
        { "ai", no_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf text = AD_BUF_INIT;
    const char *agent = NULL;
    char *summary = NULL;
    json_t *advice = NULL;
    int rc, c, ai = 0;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 'i': ai = 1; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s' (see 'autodev advise --help')",
                               argv[optind]);
    /* --ai writes the model's call to the ledger: the store is opened for writing then. */
    rc = ad__ctx_tenant(ctx, ai);
    if (rc != 0)
        return rc;
    if (ad_advise(ctx->store, ctx->tenant_id, agent, &advice, &err) < 0)
        return ad__die_err(ctx, &err);
    if (!ctx->json) {
        if (ad_advise_text(advice, &text, &err) < 0)
            rc = ad__die_err(ctx, &err);
        else
            fputs(text.ptr, ctx->out);
        fflush(ctx->out);
        ad_buf_release(&text);
    }
    if (rc == 0 && ai) {
        rc = summarize(ctx, advice, &summary);
        if (rc == 0 && !ctx->json)
            fprintf(ctx->out, "\nsummary (model-written, from the facts above):\n%s\n", summary);
    }
    if (ctx->json) {
        if (summary)
            json_object_set_new(advice, "summary", json_string(summary));
        c = ad__print_json(ctx, advice);
        advice = NULL;
        if (rc == 0)
            rc = c;
    }
    free(summary);
    json_decref(advice);
    return rc;
}
