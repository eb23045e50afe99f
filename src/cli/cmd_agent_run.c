/*
 * autodev agent run / agent sessions: the model-tool-model loop from the
 * command line, with its progress printed as it happens.
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "autodev/agent.h"
#include "autodev/json.h"
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
    char *s = ad_json_dumps(v);

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
    case AD_AGENT_SELF_CHECK: {
        const json_t *v = json_object_get(d, "self_check");
        const char *why = json_string_value(json_object_get(v, "reason"));

        fputs(json_string_value(json_object_get(d, "message")), f);
        if (json_is_number(json_object_get(v, "confidence")))
            fprintf(f, " (confidence %.2f)", json_number_value(json_object_get(v,
                                                                            "confidence")));
        if (why && *why) {
            fputs(": ", f);
            ad__print_clipped(f, why, 300);
        }
        fputc('\n', f);
        break;
    }
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

/*
 * Done means checked, by default; the workspace's environment may turn it off
 * (a command line's --self-check / --no-self-check wins).
 */
#define SELF_CHECK_ENV "AUTODEV_AGENT_SELF_CHECK"

static int self_check_env(struct ad_ctx *ctx, int *on)
{
    const char *v = getenv(SELF_CHECK_ENV);
    static const char *const yes[] = { "on", "1", "true", "yes" };
    static const char *const no[] = { "off", "0", "false", "no" };

    *on = 1;
    if (!v || !*v)
        return 0;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 0;
        if (strcasecmp(v, no[i]) == 0) {
            *on = 0;
            return 0;
        }
    }
    return ad__usage_error(ctx, "invalid " SELF_CHECK_ENV "='%s': want on or off", v);
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
        { "context-window", required_argument, NULL, 'w' },
        { "compact-every", required_argument, NULL, 'e' },
        { "self-check", no_argument, NULL, 's' },
        { "no-self-check", no_argument, NULL, 'S' },
        { "expect", required_argument, NULL, 'x' },
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
    int ch, rc, self_check = -1;

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
        case 'w':
            if (ad__parse_int(ctx, "--context-window", optarg, 64, 10000000, &v))
                return AD_EXIT_USAGE;
            o.context_window = v;
            break;
        case 's': self_check = 1; break;
        case 'S': self_check = 0; break;
        case 'x': o.expected = optarg; break;
        case 'e':
            if (ad__parse_int(ctx, "--compact-every", optarg, 1, 1000, &v))
                return AD_EXIT_USAGE;
            o.compact_every = (int)v;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (self_check < 0) {
        if (self_check_env(ctx, &self_check) != 0)
            return AD_EXIT_USAGE;
        if (self_check == 0 && o.expected)
            return ad__usage_error(ctx, "--expect is for the self-check, which "
                                   SELF_CHECK_ENV " turns off: give --self-check too");
    }
    if (self_check == 0 && o.expected)
        return ad__usage_error(ctx, "--expect is for the self-check: not with --no-self-check");
    o.no_self_check = self_check == 0;
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

static json_t *session_json(const struct ad_agent_session *s, const char *agent)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:O, s:s?, s:s, s:s}", "id", s->id, "agent_id",
                     s->agent_id, "agent", agent, "task", s->task,
                     "status", ad_session_status_name(s->status),
                     "state", s->state ? s->state : json_null(),
                     "episode_id", s->episode_id[0] ? s->episode_id : NULL, "created_at",
                     s->created_at, "updated_at", s->updated_at);
}

#define SESSION_ROW "%-36s  %-8s  %5s  %10s  %-24s  %-16s  "

static void print_session_line(struct ad_ctx *ctx, const struct ad_agent_session *s,
                               const char *agent)
{
    char turns[24], cost[32];

    snprintf(turns, sizeof(turns), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(s->state, "turns")));
    snprintf(cost, sizeof(cost), "$%.6f", json_number_value(json_object_get(s->state,
                                                                            "cost_usd")));
    fprintf(ctx->out, SESSION_ROW, s->id, ad_session_status_name(s->status), turns, cost,
            s->updated_at, agent ? agent : "-");
    ad__print_clipped(ctx->out, s->task, 60);
    fputc('\n', ctx->out);
}

/* One message of a transcript as text: who, then what, indented. */
static void print_message(struct ad_ctx *ctx, const json_t *m)
{
    const char *role = ad_json_str(m, "role");
    const char *content = ad_json_str(m, "content");
    const json_t *calls = json_object_get(m, "tool_calls");
    FILE *out = ctx->out;
    size_t i;
    json_t *c;

    if (role && !strcmp(role, "assistant") && json_object_get(m, "turn"))
        fprintf(out, "[%" JSON_INTEGER_FORMAT "] assistant", json_integer_value(
                    json_object_get(m, "turn")));
    else if (role && !strcmp(role, "tool"))
        fprintf(out, "tool %s (%s)", ad_json_str(m, "name") ? ad_json_str(m, "name") : "?",
                json_is_true(json_object_get(m, "ok")) ? "ok" : "error");
    else
        fputs(role ? role : "?", out);
    if (json_is_true(json_object_get(m, "self_check")))
        fputs(" (self-check)", out);
    fputs(":\n", out);
    for (const char *p = content ? content : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(out, "    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
    json_array_foreach(calls, i, c) {
        fprintf(out, "    -> call %s ", ad_json_str(c, "name") ? ad_json_str(c, "name") : "?");
        ad__print_clipped(out, ad_json_str(c, "arguments") ? ad_json_str(c, "arguments") : "",
                          2000);
        fputc('\n', out);
    }
}

/* agent sessions [NAME] --show SESSION: one session with its whole transcript. */
static int show_session(struct ad_ctx *ctx, const struct ad_agent *a, const char *id)
{
    struct ad_name_cache names = { 0 };
    struct ad_agent_session s = { 0 };
    struct ad_err err = AD_ERR_INIT;
    const char *agent;
    json_t *j, *m;
    size_t i;
    int rc;

    if (!ad_id_valid(id))
        return ad__usage_error(ctx, "invalid session id '%s'", id);
    rc = ad_agent_sessions_get(ctx->store, ctx->tenant_id, id, &s, &err);
    if (rc == AD_ENOTFOUND || (rc == 0 && a->id[0] && strcmp(a->id, s.agent_id))) {
        ad_agent_session_release(&s);
        if (rc == 0)
            return ad__usage_error(ctx, "session '%s' is not agent %s's", id, a->name);
        return ad__usage_error(ctx, "unknown session '%s'", id);
    }
    if (rc < 0)
        return ad__die_err(ctx, &err);
    agent = ad__agent_name(ctx, &names, s.agent_id);
    if (ctx->json) {
        j = session_json(&s, agent);
        if (j && json_object_set(j, "transcript",
                                 s.transcript ? s.transcript : json_null()) < 0) {
            json_decref(j);
            j = NULL;
        }
        rc = ad__print_json(ctx, j);
    } else {
        fprintf(ctx->out, "%-10s%s\n%-10s%s\n%-10s", "session", s.id, "agent", agent, "task");
        ad__print_clipped(ctx->out, s.task, 2000);
        fprintf(ctx->out, "\n%-10s%s, %" JSON_INTEGER_FORMAT " turns, $%.6f\n%-10s%s\n"
                "%-10s%s\n%-10s%s\n\n", "status", ad_session_status_name(s.status),
                json_integer_value(json_object_get(s.state, "turns")),
                json_number_value(json_object_get(s.state, "cost_usd")), "created",
                s.created_at, "updated", s.updated_at, "episode",
                s.episode_id[0] ? s.episode_id : "-");
        json_array_foreach(s.transcript, i, m)
            print_message(ctx, m);
    }
    ad__name_cache_release(&names);
    ad_agent_session_release(&s);
    return rc;
}

int ad__agent_sessions(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "limit", required_argument, NULL, 'l' },
        { "show", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_name_cache names = { 0 };
    struct ad_agent_session *v = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    const char *show = NULL;
    size_t n = 0;
    int64_t limit = AD_LIST_DEFAULT;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (ch == 's')
            show = optarg;
        else if (ch != 'l' || ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit))
            return AD_EXIT_USAGE;
    }
    if (argc - optind > 1)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind + 1]);
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && optind < argc)
        rc = ad__agent_lookup(ctx, argv[optind], &a);
    if (rc != 0)
        return rc;
    if (show) {
        rc = show_session(ctx, &a, show);
        ad_agent_release(&a);
        return rc;
    }
    if (ad_agent_sessions_list(ctx->store, ctx->tenant_id, a.id[0] ? a.id : NULL,
                                    (int)limit, &v, &n, &err) < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, session_json(&v[i], ad__agent_name(ctx, &names,
                                                                         v[i].agent_id)));
        rc = ad__print_json(ctx, arr);
        goto out;
    }
    if (n > 0)
        ad__print_header(ctx, SESSION_ROW "%s", "ID", "STATUS", "TURNS", "COST", "UPDATED",
                         "AGENT", "TASK");
    for (size_t i = 0; i < n; i++)
        print_session_line(ctx, &v[i], ad__agent_name(ctx, &names, v[i].agent_id));
out:
    ad__name_cache_release(&names);
    ad_agent_session_list_free(v, n);
    ad_agent_release(&a);
    return rc;
}

/* autodev agent tools NAME [--allow a,b | --deny | --reset]: the loop's tool permissions. */
int ad__agent_tools(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "allow", required_argument, NULL, 'a' },
        { "deny", no_argument, NULL, 'd' },
        { "reset", no_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    const char *allow = NULL;
    int ch, rc, changes = 0;
    bool reset = false;
    json_t *j;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (ch) {
        case 'a': allow = optarg; changes++; break;
        case 'd': allow = ""; changes++; break;
        case 'r': reset = true; changes++; break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        return ad__usage_error(ctx, "usage: autodev agent tools NAME [--allow TOOL,... | --deny "
                               "| --reset]");
    if (changes > 1)
        return ad__usage_error(ctx, "give one of --allow, --deny and --reset");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[optind], &a);
    if (rc != 0)
        return rc;
    if (changes) {
        if (ad_agent_tools_set(ctx->store, ctx->tenant_id, a.id, reset ? NULL : allow, &err) < 0) {
            rc = err.code == AD_EINVAL ? ad__usage_error(ctx, "%s", err.msg)
                                       : ad__die_err(ctx, &err);
            goto out;
        }
        free(a.tool_policy);
        a.tool_policy = reset ? NULL : strdup(allow);
        if (!reset && !a.tool_policy) {
            ad_error(&err, AD_ENOMEM, "out of memory");
            rc = ad__die_err(ctx, &err);
            goto out;
        }
    }
    if (ctx->json) {
        j = json_pack("{s:s, s:s, s:s?, s:s}", "agent", a.name, "maturity",
                      ad_maturity_name(a.maturity), "allow", a.tool_policy, "default",
                      a.maturity == AD_STUDENT ? "none"
                      : a.maturity == AD_INTERN ? "read-only skills and the runtime's tools"
                                                : "every tool");
        rc = ad__print_json(ctx, j);
    } else if (a.tool_policy) {
        fprintf(ctx->out, "agent %s: allow-list: %s\n", a.name,
                *a.tool_policy ? a.tool_policy : "(none: no tool may be called)");
    } else {
        fprintf(ctx->out, "agent %s: by maturity (%s): %s\n", a.name,
                ad_maturity_name(a.maturity),
                a.maturity == AD_STUDENT ? "no tools"
                : a.maturity == AD_INTERN ? "read-only skills and the runtime's tools"
                                          : "every tool");
    }
out:
    ad_agent_release(&a);
    return rc;
}

/* autodev agent replay SESSION [--tool-timeout S]: the session's tool calls against today's skills. */
int ad__agent_replay(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "tool-timeout", required_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_sandbox_limits limits = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox *sb = NULL;
    json_t *r = NULL, *c;
    int64_t v;
    size_t i;
    int ch, rc;

    ad__getopt_reset();
    while ((ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (ch != 'W' || ad__parse_int(ctx, "--tool-timeout", optarg, 1, 86400, &v))
            return AD_EXIT_USAGE;
        limits.wall_ms = v * 1000;
    }
    if (optind != argc - 1)
        return ad__usage_error(ctx, "usage: autodev agent replay SESSION [--tool-timeout S]");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc != 0)
        return rc;
    rc = ad_agent_replay(ctx->store, sb, ctx->tenant_id, argv[optind], &limits, &r, &err);
    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        rc = ad__print_json(ctx, r);
        r = NULL;
    } else {
        json_array_foreach(json_object_get(r, "calls"), i, c) {
            const char *st = json_string_value(json_object_get(c, "status"));

            fprintf(ctx->out, "%-8s %s %s", st, json_string_value(json_object_get(c, "tool")),
                    json_string_value(json_object_get(c, "call_id")));
            if (json_object_get(c, "version"))
                fprintf(ctx->out, " (version %s)",
                        json_string_value(json_object_get(c, "version")));
            if (json_object_get(c, "note"))
                fprintf(ctx->out, ": %s", json_string_value(json_object_get(c, "note")));
            fputc('\n', ctx->out);
            if (!strcmp(st, "changed"))
                fprintf(ctx->out, "  before: %s\n  after:  %s\n",
                        json_string_value(json_object_get(c, "before")),
                        json_string_value(json_object_get(c, "after")));
        }
        fprintf(ctx->out, "%d same, %d changed, %d skipped\n",
                (int)json_integer_value(json_object_get(r, "same")),
                (int)json_integer_value(json_object_get(r, "changed")),
                (int)json_integer_value(json_object_get(r, "skipped")));
        rc = json_integer_value(json_object_get(r, "changed")) > 0 ? AD_EXIT_RUNTIME : AD_EXIT_OK;
    }
    json_decref(r);
    return rc;
}
