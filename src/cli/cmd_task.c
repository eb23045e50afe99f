/*
 * autodev task run: one task of an agent, solved by a catalog skill in the
 * sandbox and recorded as an episode, whatever happens.
 *
 * Exit status: 0 when the task succeeded, 1 when it ran and failed (the
 * episode is recorded), 2 when it could not be tried (an unknown agent or
 * skill, malformed JSON): nothing is recorded then.
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "cli.h"

struct task_opts {
    const char *agent, *description, *skill, *kind;
    const char *input, *input_file, *expect;
    struct ad_sandbox_limits limits;
};

static int parse_task(struct ad_ctx *ctx, int argc, char **argv, struct task_opts *o)
{
    static const struct option longopts[] = {
        { "agent", required_argument, NULL, 'a' },
        { "description", required_argument, NULL, 'd' },
        { "skill", required_argument, NULL, 's' },
        { "input", required_argument, NULL, 'i' },
        { "input-file", required_argument, NULL, 'I' },
        { "expect", required_argument, NULL, 'x' },
        { "kind", required_argument, NULL, 'k' },
        { "timeout", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    int64_t v;
    int c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': o->agent = optarg; break;
        case 'd': o->description = optarg; break;
        case 's': o->skill = optarg; break;
        case 'i': o->input = optarg; break;
        case 'I': o->input_file = optarg; break;
        case 'x': o->expect = optarg; break;
        case 'k': o->kind = optarg; break;
        case 't':
            if (ad__parse_int(ctx, "--timeout", optarg, 1, 86400, &v) != 0)
                return AD_EXIT_USAGE;
            o->limits.wall_ms = v * 1000;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    if (!o->agent)
        return ad__usage_error(ctx, "task run needs --agent NAME");
    if (!o->description || !*o->description)
        return ad__usage_error(ctx, "task run needs --description TEXT");
    if (strlen(o->description) > AD_TASK_DESC_MAX)
        return ad__usage_error(ctx, "--description longer than %d bytes", AD_TASK_DESC_MAX);
    if (o->input && o->input_file)
        return ad__usage_error(ctx, "give --input or --input-file, not both");
    if (o->skill && !ad_skill_name_valid(o->skill))
        return ad__usage_error(ctx, "invalid skill name '%s': expected 1..64 of a-z, 0-9 and "
                               "'_', starting and ending with a letter or digit, no '__'",
                               o->skill);
    return 0;
}

/* A named skill must exist: an unknown one is the user's mistake, not a failed task. */
static int check_skill(struct ad_ctx *ctx, const char *name)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    int rc = ad_catalog_get(ctx->store, ctx->tenant_id, name, NULL, &s, &v, &err);

    ad_skill_release(&s);
    ad_skill_version_release(&v);
    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "unknown skill '%s'", name);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static int print_outcome_json(struct ad_ctx *ctx, const struct ad_task_outcome *o,
                              const char *agent)
{
    const struct ad_episode *ep = &o->episode;
    int ran = o->skill_name[0] != '\0';

    return ad__print_json(ctx, json_pack(
        "{s:b, s:s, s:s, s:s?, s:s?, s:b, s:f, s:s?, s:O?, s:O?, s:s?, s:s?}",
        "success", ep->success, "episode_id", ep->id, "agent", agent,
        "skill", ran ? o->skill_name : NULL, "semver", ran ? o->semver : NULL,
        "matched", o->match_score > 0, "match_score", o->match_score,
        "status", o->status[0] ? o->status : NULL, "output", ep->output,
        "expected", ep->expected, "error", ep->error_trace,
        "execution_id", o->execution_id[0] ? o->execution_id : NULL));
}

static void print_outcome_text(struct ad_ctx *ctx, const struct ad_task_outcome *o)
{
    const struct ad_episode *ep = &o->episode;
    FILE *out = ctx->out;
    char *output = ad_json_dumps(ep->output ? ep->output : json_null());
    struct ad_str line;

    fprintf(out, "%-10s%s\n", "task", ep->success ? "succeeded" : "failed");
    if (!o->skill_name[0])
        fprintf(out, "%-10sno matching skill\n", "skill");
    else if (o->match_score > 0)
        fprintf(out, "%-10s%s %s (matched by description, score %.3g)\n", "skill",
                o->skill_name, o->semver, o->match_score);
    else
        fprintf(out, "%-10s%s %s\n", "skill", o->skill_name, o->semver);
    if (o->status[0])
        fprintf(out, "%-10s%s\n", "status", o->status);
    if (o->skill_name[0])
        fprintf(out, "%-10s%s\n", "output", output ? output : "?");
    if (ep->error_trace) {
        line = ad_str_last_line(ep->error_trace);
        fprintf(out, "%-10s%.*s\n", "error", (int)line.len, line.ptr);
    }
    fprintf(out, "%-10s%s\n", "episode", ep->id);
    free(output);
}

/* Prints the outcome; a failed task also gets its one-line error and exit 1. */
static int print_outcome(struct ad_ctx *ctx, const struct ad_task_outcome *o,
                         const char *agent)
{
    const struct ad_episode *ep = &o->episode;
    struct ad_str line;
    int rc = 0;

    if (ctx->json)
        rc = print_outcome_json(ctx, o, agent);
    else
        print_outcome_text(ctx, o);
    if (rc != 0 || ep->success)
        return rc;
    line = ad_str_last_line(ep->error_trace ? ep->error_trace : "the task failed");
    return ad__die_code(ctx, AD_EIO, "task failed (episode %s recorded): %.*s", ep->id,
                        (int)line.len, line.ptr);
}

static int task_run(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct task_opts o = { 0 };
    struct ad_agent agent = { 0 };
    struct ad_task_outcome out;
    struct ad_task t = { 0 };
    struct ad_sandbox *sb = NULL;
    json_t *input = NULL, *expected = NULL;
    int rc;

    memset(&out, 0, sizeof(out));
    ad_episode_init(&out.episode);
    rc = parse_task(ctx, argc, argv, &o);
    if (rc == 0 && (o.input || o.input_file))
        rc = ad__json_arg(ctx, "--input", o.input, o.input_file, &input);
    if (rc == 0 && o.expect)
        rc = ad__json_arg(ctx, "--expect", o.expect, NULL, &expected);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, o.agent, &agent);
    if (rc == 0 && o.skill)
        rc = check_skill(ctx, o.skill);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc != 0)
        goto out;
    t.tenant_id = ctx->tenant_id;
    t.agent_id = agent.id;
    t.description = o.description;
    t.task_kind = o.kind;
    t.skill = o.skill;
    t.input = input;
    t.expected = expected;
    t.limits = &o.limits;
    if (ad_task_run(ctx->store, ctx->bus, sb, &t, &out, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = print_outcome(ctx, &out, o.agent);
out:
    ad_task_outcome_release(&out);
    ad_agent_release(&agent);
    json_decref(input);
    json_decref(expected);
    return rc;
}

int cmd_task(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "run", task_run },
        { NULL, NULL },
    };

    return ad__run_sub("task", subs, argc, argv, ctx);
}
