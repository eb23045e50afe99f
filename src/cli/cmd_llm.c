/*
 * autodev llm: one round trip to the configured providers; the cost ledger.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/clock.h"
#include "autodev/llm.h"

#include "cli.h"

struct progress {
    struct ad_ctx *ctx;
    int any;
};

static int on_delta(void *arg, const char *kind, const char *text, size_t len)
{
    struct progress *p = arg;

    if (!strcmp(kind, "tool"))
        fprintf(p->ctx->err, "[tool call %.*s]\n", (int)len, text);
    else
        fwrite(text, 1, len, p->ctx->err);
    fflush(p->ctx->err);
    p->any = 1;
    return 0;
}

static json_t *response_json(const struct ad_llm_response *r)
{
    json_t *calls = json_array();
    size_t i;

    for (i = 0; i < r->ncalls; i++)
        json_array_append_new(calls, json_pack("{s:s, s:s, s:s}", "id", r->calls[i].id, "name",
                                               r->calls[i].name, "arguments",
                                               r->calls[i].arguments));
    return json_pack("{s:s, s:s, s:I, s:i, s:I, s:I, s:f, s:s, s:s?, s:s, s:o}", "provider",
                     r->provider, "model", r->model, "latency_ms", (json_int_t)r->latency_ms,
                     "attempts", r->attempts, "prompt_tokens",
                     (json_int_t)r->usage.prompt_tokens, "completion_tokens",
                     (json_int_t)r->usage.completion_tokens, "cost_usd", r->cost_usd,
                     "finish_reason", r->finish_reason, "request_id", r->request_id, "text",
                     r->text, "tool_calls", calls);
}

static int llm_test(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "provider", required_argument, NULL, 'p' },
        { "prompt", required_argument, NULL, 'P' },
        { "stream", no_argument, NULL, 's' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *spec = NULL, *prompt = "Reply with the single word: pong";
    struct ad_llm_message msg = { AD_LLM_USER, NULL, NULL, 0, NULL };
    struct ad_llm_request req = { 0 };
    struct ad_llm_response resp;
    struct ad_err err = AD_ERR_INIT;
    struct progress prog = { ctx, 0 };
    struct ad_llm *llm = NULL;
    int64_t timeout = 60;
    int ch, rc, stream = 0;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'p': spec = optarg; break;
        case 'P': prompt = optarg; break;
        case 's': stream = 1; break;
        case 't':
            if (ad__parse_int(ctx, "--timeout", optarg, 1, 3600, &timeout))
                return AD_EXIT_USAGE;
            break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "llm test takes no argument");
    rc = ad__ctx_llm(ctx, spec, &llm);
    if (rc)
        return rc;
    msg.content = prompt;
    req.messages = &msg;
    req.nmessages = 1;
    req.max_tokens = 64;
    req.temperature = -1;
    req.seed = -1;
    req.purpose = "test";
    /* The whole call, retries and fallback included: a stalled server holds it no longer. */
    req.deadline_ms = timeout * 1000;
    if (stream && !ctx->json) {
        req.on_delta = on_delta;
        req.delta_arg = &prog;
    }
    rc = ad_llm_complete(llm, &req, &resp, &err);
    ad_llm_free(llm);
    if (rc)
        return ad__die_err(ctx, &err);
    if (prog.any)
        fputc('\n', ctx->err);
    if (ctx->json) {
        rc = ad__print_json(ctx, response_json(&resp));
    } else {
        fprintf(ctx->out, "provider:   %s\nmodel:      %s\nlatency:    %" PRId64 " ms\n"
                "attempts:   %d\ntokens:     %" PRId64 " prompt, %" PRId64 " completion\n"
                "cost:       $%.6f\nfinish:     %s\nreply:      %s\n",
                resp.provider, resp.model, resp.latency_ms, resp.attempts,
                resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.cost_usd,
                resp.finish_reason, resp.text);
    }
    ad_llm_response_release(&resp);
    return rc;
}

/* --since accepts a date (YYYY-MM-DD, midnight UTC) or a full timestamp. */
static int parse_since(struct ad_ctx *ctx, const char *s, char out[AD_TIME_SIZE])
{
    char full[64];
    int64_t ms;

    if (strlen(s) == 10) {
        snprintf(full, sizeof(full), "%sT00:00:00Z", s);
        s = full;
    }
    if (ad_time_parse(s, &ms))
        return ad__usage_error(ctx, "--since: invalid date '%s' (want YYYY-MM-DD or ISO-8601)",
                               s == full ? full : s);
    ad_time_iso(ms, out);
    return 0;
}

/* Sums of counts that are never negative, saturated at INT64_MAX rather than wrapped. */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void usage_text(struct ad_ctx *ctx, const struct ad_llm_usage_row *v, size_t n)
{
    int64_t calls = 0, tokens = 0;
    double cost = 0;
    size_t i;

    fprintf(ctx->out, "%-10s %-28s %-10s %6s %6s %10s %10s %10s %8s\n", "PROVIDER", "MODEL",
            "PURPOSE", "CALLS", "ERRORS", "PROMPT", "COMPLETION", "COST_USD", "AVG_MS");
    for (i = 0; i < n; i++) {
        fprintf(ctx->out, "%-10s %-28s %-10s %6" PRId64 " %6" PRId64 " %10" PRId64
                " %10" PRId64 " %10.4f %8" PRId64 "\n", v[i].provider, v[i].model,
                *v[i].purpose ? v[i].purpose : "-", v[i].calls, v[i].errors,
                v[i].prompt_tokens, v[i].completion_tokens, v[i].cost_usd, v[i].latency_ms_avg);
        calls = add_sat(calls, v[i].calls);
        tokens = add_sat(tokens, add_sat(v[i].prompt_tokens, v[i].completion_tokens));
        cost += v[i].cost_usd;
    }
    fprintf(ctx->out, "total: %" PRId64 " calls, %" PRId64 " tokens, $%.4f\n", calls, tokens,
            cost);
}

static int llm_usage(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "since", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    char since[AD_TIME_SIZE] = "";
    struct ad_llm_usage_row *v = NULL;
    struct ad_err err = AD_ERR_INIT;
    json_t *a;
    size_t n = 0, i;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (ch != 's')
            return AD_EXIT_USAGE;
        if (parse_since(ctx, optarg, since))
            return AD_EXIT_USAGE;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "llm usage takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    if (ad_llm_usage(ctx->store, ctx->tenant_id, since[0] ? since : NULL, &v, &n, &err))
        return ad__die_err(ctx, &err);
    if (!ctx->json) {
        usage_text(ctx, v, n);
        ad_llm_usage_rows_free(v, n);
        return AD_EXIT_OK;
    }
    a = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:I}",
                                           "provider", v[i].provider, "model", v[i].model,
                                           "purpose", v[i].purpose, "calls",
                                           (json_int_t)v[i].calls, "errors",
                                           (json_int_t)v[i].errors, "prompt_tokens",
                                           (json_int_t)v[i].prompt_tokens, "completion_tokens",
                                           (json_int_t)v[i].completion_tokens, "cost_usd",
                                           v[i].cost_usd, "latency_ms_avg",
                                           (json_int_t)v[i].latency_ms_avg));
    ad_llm_usage_rows_free(v, n);
    return ad__print_json(ctx, a);
}

int cmd_llm(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "test", llm_test },
        { "usage", llm_usage },
        { NULL, NULL },
    };

    return ad__run_sub("llm", subs, argc, argv, ctx);
}
