/*
 * autodev agent run / agent sessions: the model-tool-model loop from the
 * command line, with its progress printed as it happens.
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>

#include "autodev/agent.h"
#include "autodev/llm.h"
#include "autodev/sandbox.h"

#include "cli.h"

/*
 * A run ends within 10 minutes unless --timeout says otherwise: a stalled
 * model server must not hold a terminal (or a script) for ever, and the
 * run stops resumable, so a longer task loses nothing but a --resume.
 */
#define DEFAULT_RUN_DEADLINE_MS (600 * 1000)

struct printer {
    struct ad_ctx *ctx;
    bool said_session;
};

static void print_json_short(FILE *f, const json_t *v, size_t n)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (s)
        ad__print_clipped(f, s, n);
    free(s);
}

static void on_progress(void *arg, enum ad_agent_event e, const json_t *d)
{
    struct printer *p = arg;
    FILE *f = p->ctx->out;
    int turn = (int)json_integer_value(json_object_get(d, "turn"));
    const char *tool = json_string_value(json_object_get(d, "tool"));

    if (p->ctx->json) {
        json_t *line = json_deep_copy(d);

        if (line && json_object_set_new(line, "event", json_string(ad_agent_event_name(e))) == 0)
            (void)ad__print_json(p->ctx, line);
        else
            json_decref(line);
        fflush(f);
        return;
    }
    if (!p->said_session) {
        fprintf(f, "session %s\n", json_string_value(json_object_get(d, "session_id")));
        p->said_session = true;
    }
    switch (e) {
    case AD_AGENT_THINKING:
        fprintf(f, "[%d] thinking\n", turn);
        break;
    case AD_AGENT_TOOL_CALL:
        fprintf(f, "[%d] tool call   %s ", turn, tool);
        ad__print_clipped(f, json_string_value(json_object_get(d, "arguments")), 200);
        fputc('\n', f);
        break;
    case AD_AGENT_TOOL_RESULT: {
        bool ok = json_is_true(json_object_get(d, "ok"));

        fprintf(f, "[%d] tool %s %s ", turn, ok ? "result" : "error ", tool);
        print_json_short(f, json_object_get(d, ok ? "result" : "error"), 200);
        fprintf(f, " (%" JSON_INTEGER_FORMAT " ms)\n",
                json_integer_value(json_object_get(d, "wall_ms")));
        break;
    }
    case AD_AGENT_RESPONSE:
        fprintf(f, "[%d] response    ", turn);
        ad__print_clipped(f, json_string_value(json_object_get(d, "text")), 2000);
        fputc('\n', f);
        break;
    case AD_AGENT_WARNING:
        fprintf(f, "warning: %s\n", json_string_value(json_object_get(d, "message")));
        break;
    case AD_AGENT_COST:
        fprintf(f, "[%d] cost        %" JSON_INTEGER_FORMAT " tokens, $%.6f (total %"
                JSON_INTEGER_FORMAT " tokens, $%.6f)\n", turn,
                json_integer_value(json_object_get(d, "tokens")),
                json_number_value(json_object_get(d, "cost_usd")),
                json_integer_value(json_object_get(d, "total_tokens")),
                json_number_value(json_object_get(d, "total_cost_usd")));
        break;
    case AD_AGENT_ERROR:
        fprintf(f, "error: %s\n", json_string_value(json_object_get(d, "message")));
        break;
    case AD_AGENT_DONE: {
        const char *why = json_string_value(json_object_get(d, "error"));

        json_int_t turns = json_integer_value(json_object_get(d, "turns"));

        fprintf(f, "done: %s, %s after %" JSON_INTEGER_FORMAT " turn%s, %" JSON_INTEGER_FORMAT
                " tokens, $%.6f; episode %s\n",
                json_is_true(json_object_get(d, "success")) ? "succeeded" : "failed",
                json_string_value(json_object_get(d, "stop_reason")), turns,
                turns == 1 ? "" : "s",
                json_integer_value(json_object_get(d, "tokens")),
                json_number_value(json_object_get(d, "cost_usd")),
                json_string_value(json_object_get(d, "episode_id")));
        if (why)
            fprintf(f, "reason: %s\n", why);
        break;
    }
    }
    fflush(f);
}

static int parse_cost(struct ad_ctx *ctx, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end || !isfinite(v) || v <= 0 || v > 1e6)
        return ad__usage_error(ctx, "invalid --cost-limit '%s': want USD above 0, e.g. 0.50", s);
    *out = v;
    return 0;
}

int ad__agent_run(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "max-turns", required_argument, NULL, 't' },
        { "cost-limit", required_argument, NULL, 'c' },
        { "resume", required_argument, NULL, 'r' },
        { "model", required_argument, NULL, 'm' },
        { "timeout", required_argument, NULL, 'T' },
        { "tool-timeout", required_argument, NULL, 'W' },
        { "tool-failures", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_agent_run_opts o = { .deadline_ms = DEFAULT_RUN_DEADLINE_MS };
    struct ad_agent_run_result res = { 0 };
    struct ad_sandbox_limits limits = { 0 };
    struct printer pr = { ctx, false };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    struct ad_sandbox *sb = NULL;
    struct ad_llm *llm = NULL;
    int64_t v;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 't':
            if (ad__parse_int(ctx, "--max-turns", optarg, 1, 1000, &v))
                return AD_EXIT_USAGE;
            o.max_turns = (int)v;
            break;
        case 'c':
            if (parse_cost(ctx, optarg, &o.cost_limit_usd))
                return AD_EXIT_USAGE;
            break;
        case 'r': o.resume = optarg; break;
        case 'm': o.model = optarg; break;
        case 'T':
            if (ad__parse_int(ctx, "--timeout", optarg, 1, 86400, &v))
                return AD_EXIT_USAGE;
            o.deadline_ms = v * 1000;
            break;
        case 'W':
            if (ad__parse_int(ctx, "--tool-timeout", optarg, 1, 86400, &v))
                return AD_EXIT_USAGE;
            limits.wall_ms = v * 1000;
            break;
        case 'f':
            if (ad__parse_int(ctx, "--tool-failures", optarg, 1, 100, &v))
                return AD_EXIT_USAGE;
            o.tool_failure_limit = (int)v;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return ad__usage_error(ctx, "usage: autodev agent run NAME \"TASK\" [--max-turns N] "
                               "[--cost-limit USD] | --resume SESSION");
    if (argc - optind > 2)
        return ad__usage_error(ctx, "unexpected argument '%s' (quote the task)",
                               argv[optind + 2]);
    o.task = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!o.task && !o.resume)
        return ad__usage_error(ctx, "agent run needs a task (or --resume SESSION)");
    if (o.task && o.resume)
        return ad__usage_error(ctx, "give a task or --resume SESSION, not both");
    if (o.task && !*o.task)
        return ad__usage_error(ctx, "the task is empty");

    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[optind], &a);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc == 0)
        rc = ad__ctx_llm(ctx, NULL, &llm);
    if (rc != 0)
        goto out;
    o.tenant_id = ctx->tenant_id;
    o.agent_id = a.id;
    o.limits = &limits;
    o.progress = on_progress;
    o.progress_arg = &pr;
    rc = ad_agent_run(ctx->store, ctx->bus, sb, llm, &o, &res, &err);
    if (rc < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (!ctx->json && res.answer)
        fprintf(ctx->out, "\n%s\n", res.answer);
    rc = res.success ? AD_EXIT_OK : AD_EXIT_RUNTIME;
out:
    ad_agent_run_result_release(&res);
    ad_llm_free(llm);
    ad_agent_release(&a);
    return rc;
}

static json_t *session_json(const struct ad_agent_session *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:O, s:s?, s:s, s:s}", "id", s->id, "agent_id",
                     s->agent_id, "task", s->task, "status", ad_session_status_name(s->status),
                     "state", s->state ? s->state : json_null(),
                     "episode_id", s->episode_id[0] ? s->episode_id : NULL, "created_at",
                     s->created_at, "updated_at", s->updated_at);
}

int ad__agent_sessions(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_agent_session *v = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    size_t n = 0;
    int64_t limit = AD_LIST_DEFAULT;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (ch != 'l' || ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit))
            return AD_EXIT_USAGE;
    }
    if (argc - optind > 1)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind + 1]);
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && optind < argc)
        rc = ad__agent_lookup(ctx, argv[optind], &a);
    if (rc != 0)
        return rc;
    if (ad_agent_sessions_list(ctx->store, ctx->tenant_id, a.id[0] ? a.id : NULL,
                                    (int)limit, &v, &n, &err) < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, session_json(&v[i]));
        rc = ad__print_json(ctx, arr);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *st = v[i].state;

        fprintf(ctx->out, "%s  %-8s %3" JSON_INTEGER_FORMAT " turns  $%.6f  %s  ", v[i].id,
                ad_session_status_name(v[i].status),
                json_integer_value(json_object_get(st, "turns")),
                json_number_value(json_object_get(st, "cost_usd")), v[i].updated_at);
        ad__print_clipped(ctx->out, v[i].task, 60);
        fputc('\n', ctx->out);
    }
out:
    ad_agent_session_list_free(v, n);
    ad_agent_release(&a);
    return rc;
}
