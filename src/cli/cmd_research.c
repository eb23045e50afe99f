/*
 * autodev research: metric-driven code experiments on a git repository.
 *
 * The steps are the library's (research.h); this file turns options into
 * the session's JSON config, names the session, prints a line per decided
 * iteration and the report. The command runs in the sandbox's command
 * mode unless --no-sandbox (then on the host in its own process group,
 * and the CLI says so).
 */
#include "compat.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>

#include "autodev/json.h"
#include "autodev/llm.h"
#include "autodev/research.h"
#include "autodev/runtime.h"

#include "cli.h"

enum {
    OPT_REPO = 256, OPT_FILE, OPT_CMD, OPT_METRIC, OPT_PATTERN, OPT_DIRECTION, OPT_ITER,
    OPT_TIME, OPT_REPEATS, OPT_CHECK, OPT_PROTECT, OPT_MARGIN, OPT_NOISE_K, OPT_MAX_SECONDS,
    OPT_ALLOW_DIRTY, OPT_SEED, OPT_NO_SANDBOX, OPT_RULES, OPT_NAME, OPT_TOKEN_BUDGET,
    OPT_USD_BUDGET, OPT_SPARK_BUDGET, OPT_SPARK_PER, OPT_MEMORY, OPT_PIDS, OPT_SECONDARY,
};

static int set_or_die(struct ad_ctx *ctx, json_t *cfg, const char *key, json_t *v)
{
    if (!v || json_object_set_new(cfg, key, v) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    return 0;
}

static int append_or_die(struct ad_ctx *ctx, json_t *cfg, const char *key, const char *s)
{
    json_t *a = json_object_get(cfg, key);

    if (!a) {
        a = json_array();
        if (!a || json_object_set_new(cfg, key, a) < 0)
            return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    }
    if (json_array_append_new(a, json_string(s)) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    return 0;
}

static int parse_number(struct ad_ctx *ctx, const char *name, const char *s, json_t **out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0)
        return ad__usage_error(ctx, "%s: '%s' is not a number >= 0", name, s);
    *out = json_real(v);
    return 0;
}

/* One option of the config into cfg; AD_EXIT_USAGE (printed) when it is bad. */
static int config_opt(struct ad_ctx *ctx, int ch, const char *arg, json_t *cfg)
{
    static const struct { int ch; const char *key, *flag; int64_t min, max; } ints[] = {
        { OPT_ITER, "iterations", "--iterations", 0, 100000 },
        { OPT_TIME, "time_budget", "--time-budget", 1, 86400 },
        { OPT_REPEATS, "repeats", "--repeats", 1, 64 },
        { OPT_MAX_SECONDS, "max_seconds", "--max-seconds", 0, 30 * 86400 },
        { OPT_SEED, "seed", "--seed", 0, INT64_MAX },
        { OPT_TOKEN_BUDGET, "token_budget", "--token-budget", 0, INT64_MAX },
        { OPT_SPARK_BUDGET, "spark_budget", "--spark-budget", 0, INT64_MAX },
        { OPT_SPARK_PER, "spark_per_iteration", "--spark-per-iteration", 1, 1000000 },
        { OPT_MEMORY, "memory_mib", "--memory", 16, 1 << 20 },
        { OPT_PIDS, "pids", "--pids", 8, 1 << 20 },
    };
    static const struct { int ch; const char *key; } strs[] = {
        { OPT_REPO, "repo" }, { OPT_CMD, "cmd" }, { OPT_METRIC, "metric" },
        { OPT_PATTERN, "pattern" }, { OPT_CHECK, "check" }, { OPT_RULES, "rules" },
        { OPT_NAME, "name" }, { OPT_DIRECTION, "direction" },
    };
    json_t *num = NULL;
    int64_t v;

    for (size_t i = 0; i < AD_ARRAY_SIZE(ints); i++) {
        if (ints[i].ch != ch)
            continue;
        if (ad__parse_int(ctx, ints[i].flag, arg, ints[i].min, ints[i].max, &v))
            return AD_EXIT_USAGE;
        return set_or_die(ctx, cfg, ints[i].key, json_integer(v));
    }
    for (size_t i = 0; i < AD_ARRAY_SIZE(strs); i++) {
        if (strs[i].ch == ch)
            return set_or_die(ctx, cfg, strs[i].key, json_string(arg));
    }
    switch (ch) {
    case OPT_FILE:
        return append_or_die(ctx, cfg, "files", arg);
    case OPT_PROTECT:
        return append_or_die(ctx, cfg, "protect", arg);
    case OPT_SECONDARY:
        return append_or_die(ctx, cfg, "secondary", arg);
    case OPT_MARGIN:
    case OPT_NOISE_K:
        if (parse_number(ctx, ch == OPT_MARGIN ? "--margin" : "--noise-k", arg, &num))
            return AD_EXIT_USAGE;
        return set_or_die(ctx, cfg, ch == OPT_MARGIN ? "margin" : "noise_k", num);
    case OPT_USD_BUDGET:
        if (parse_number(ctx, "--usd-budget", arg, &num))
            return AD_EXIT_USAGE;
        return set_or_die(ctx, cfg, "usd_budget", num);
    case OPT_ALLOW_DIRTY:
        return set_or_die(ctx, cfg, "allow_dirty", json_true());
    case OPT_NO_SANDBOX:
        return set_or_die(ctx, cfg, "sandbox", json_false());
    default:
        return AD_EXIT_USAGE;
    }
}

static const struct option config_longopts[] = {
    { "repo", required_argument, NULL, OPT_REPO },
    { "file", required_argument, NULL, OPT_FILE },
    { "cmd", required_argument, NULL, OPT_CMD },
    { "metric", required_argument, NULL, OPT_METRIC },
    { "pattern", required_argument, NULL, OPT_PATTERN },
    { "direction", required_argument, NULL, OPT_DIRECTION },
    { "iterations", required_argument, NULL, OPT_ITER },
    { "time-budget", required_argument, NULL, OPT_TIME },
    { "repeats", required_argument, NULL, OPT_REPEATS },
    { "check", required_argument, NULL, OPT_CHECK },
    { "protect", required_argument, NULL, OPT_PROTECT },
    { "rules", required_argument, NULL, OPT_RULES },
    { "margin", required_argument, NULL, OPT_MARGIN },
    { "noise-k", required_argument, NULL, OPT_NOISE_K },
    { "max-seconds", required_argument, NULL, OPT_MAX_SECONDS },
    { "allow-dirty", no_argument, NULL, OPT_ALLOW_DIRTY },
    { "seed", required_argument, NULL, OPT_SEED },
    { "name", required_argument, NULL, OPT_NAME },
    { "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
    { "token-budget", required_argument, NULL, OPT_TOKEN_BUDGET },
    { "usd-budget", required_argument, NULL, OPT_USD_BUDGET },
    { "spark-budget", required_argument, NULL, OPT_SPARK_BUDGET },
    { "spark-per-iteration", required_argument, NULL, OPT_SPARK_PER },
    { "memory", required_argument, NULL, OPT_MEMORY },
    { "pids", required_argument, NULL, OPT_PIDS },
    { "secondary", required_argument, NULL, OPT_SECONDARY },
    { NULL, 0, NULL, 0 },
};

/* Parses the options of setup and run into a config; the workdir is the home's research/. */
static int parse_config(struct ad_ctx *ctx, int argc, char **argv, json_t **out)
{
    json_t *cfg = json_object();
    char home[PATH_MAX];
    int ch, rc = cfg ? 0 : ad__die_code(ctx, AD_ENOMEM, "out of memory");

    *out = NULL;
    ad__getopt_reset();
    while (!rc && (ch = ad__getopt(ctx, argc, argv, ":", config_longopts)) != -1)
        rc = ch == '?' ? AD_EXIT_USAGE : config_opt(ctx, ch, optarg, cfg);
    if (!rc && optind != argc)
        rc = ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    if (!rc)
        rc = ad__ctx_tenant(ctx, 1);
    if (!rc && !realpath(ctx->home, home))
        rc = ad__die_code(ctx, AD_EIO, "cannot resolve '%s': %s", ctx->home, strerror(errno));
    if (!rc)
        rc = set_or_die(ctx, cfg, "workdir", json_sprintf("%s/research", home));
    if (rc) {
        json_decref(cfg);
        return rc;
    }
    if (json_is_false(json_object_get(cfg, "sandbox")))
        ad__note(ctx, "--no-sandbox: the command runs on the host in its own process group");
    *out = cfg;
    return 0;
}

static void env_of(struct ad_ctx *ctx, struct ad_research_env *env)
{
    env->st = ctx->store;
    env->bus = ctx->bus;
    env->tenant_id = ctx->tenant_id;
    env->llm = NULL;
}

/*
 * The model of the edit step: the tenant's ($AUTODEV_LLM and the
 * workspace's caps), or none (the offline mutator). Free with ad_llm_free.
 */
static int env_llm(struct ad_ctx *ctx, struct ad_research_env *env)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_runtime_llm(ctx->rt, ctx->tenant_id, NULL, 0, &env->llm, &err) < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static void print_session(struct ad_ctx *ctx, const json_t *s)
{
    fprintf(ctx->out, "session %s (%s)\n  repo %s\n  worktree %s\n  metric %s, %s is better\n"
            "  baseline %.6g ± %.3g, best %.6g at %.12s\n",
            ad_json_str(s, "id"), ad_json_str(s, "status"), ad_json_str(s, "repo"),
            ad_json_str(s, "worktree") ? ad_json_str(s, "worktree") : "-",
            ad_json_str(s, "metric"), ad_json_str(s, "direction"),
            json_number_value(json_object_get(s, "baseline")),
            json_number_value(json_object_get(s, "noise")),
            json_number_value(json_object_get(s, "best")),
            ad_json_str(s, "best_commit") ? ad_json_str(s, "best_commit") : "");
}

/* What the progress lines need: the context and the session's noise floor (NAN: none). */
struct progress {
    struct ad_ctx *ctx;
    double noise;
};

/* The progress line of a decided iteration: seq, decision, value ± noise, hypothesis. */
static void progress_line(void *arg, const json_t *it)
{
    const struct progress *p = arg;
    struct ad_ctx *ctx = p->ctx;
    const json_t *m = json_object_get(it, "metric");
    const char *failure = json_string_value(json_object_get(json_object_get(it, "detail"),
                                                            "failure"));

    if (ctx->json) {
        json_t *copy = json_deep_copy(it);

        json_object_del(copy, "diff");
        ad__print_json(ctx, copy);
        fflush(ctx->out);
        return;
    }
    fprintf(ctx->out, "#%" JSON_INTEGER_FORMAT " %-16s ",
            json_integer_value(json_object_get(it, "seq")), ad_json_str(it, "decision"));
    if (json_is_number(m))
        fprintf(ctx->out, "%-12.6g ", json_number_value(m));
    else
        fprintf(ctx->out, "%-12s ", "-");
    if (!isnan(p->noise))
        fprintf(ctx->out, "± %-8.3g ", p->noise);
    ad__print_clipped(ctx->out, failure ? failure : ad_json_str(it, "hypothesis"), 100);
    fputc('\n', ctx->out);
    fflush(ctx->out);
}

static int print_final(struct ad_ctx *ctx, json_t *res)
{
    const json_t *r = json_object_get(res, "report");

    if (ctx->json)
        return ad__print_json(ctx, res);
    fprintf(ctx->out, "best %.6g (baseline %.6g ± %.3g), %zu kept; report %s\n",
            json_number_value(json_object_get(json_object_get(r, "best"), "metric")),
            json_number_value(json_object_get(json_object_get(r, "baseline"), "median")),
            json_number_value(json_object_get(json_object_get(r, "baseline"), "mad")),
            json_array_size(json_object_get(r, "kept")),
            ad_json_str(json_object_get(res, "files"), "report.md"));
    json_decref(res);
    return 0;
}

static int run_loop(struct ad_ctx *ctx, const char *id)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    struct progress p = { ctx, NAN };
    json_t *res = NULL;
    int rc;

    env_of(ctx, &env);
    rc = env_llm(ctx, &env);
    if (rc)
        return rc;
    /* The noise floor of the baseline, for "value ± noise" on each line. */
    if (ad_research_status(&env, id, &res, &err) == 0 &&
        json_is_number(json_object_get(res, "noise")))
        p.noise = json_number_value(json_object_get(res, "noise"));
    json_decref(res);
    res = NULL;
    err = (struct ad_err)AD_ERR_INIT;
    rc = ad_research_loop(&env, id, progress_line, &p, &res, &err);
    ad_llm_free(env.llm);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return print_final(ctx, res);
}

static int research_setup_common(int argc, char **argv, struct ad_ctx *ctx, int loop)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    json_t *cfg = NULL, *s = NULL;
    char id[64];
    int rc = parse_config(ctx, argc, argv, &cfg);

    if (rc)
        return rc;
    env_of(ctx, &env);
    rc = ad_research_setup(&env, cfg, &s, &err);
    json_decref(cfg);
    if (rc)
        return ad__die_err(ctx, &err);
    snprintf(id, sizeof(id), "%s", ad_json_str(s, "id"));
    if (!loop && ctx->json)
        return ad__print_json(ctx, s);
    print_session(ctx, s);
    json_decref(s);
    return loop ? run_loop(ctx, id) : 0;
}

static int research_run_step(int argc, char **argv, struct ad_ctx *ctx);

/* "run ID" is the single step; "run --repo ..." sets up and runs the whole loop. */
static int research_run_cmd(int argc, char **argv, struct ad_ctx *ctx)
{
    if (argc == 2 && argv[1][0] != '-')
        return research_run_step(argc, argv, ctx);
    return research_setup_common(argc, argv, ctx, 1);
}

static int research_setup(int argc, char **argv, struct ad_ctx *ctx)
{
    return research_setup_common(argc, argv, ctx, 0);
}

typedef int research_step_fn(const struct ad_research_env *env, const char *id, json_t **out,
                             struct ad_err *err);

/* A step on session ID: its JSON, or a line for people. */
static int one_step(int argc, char **argv, struct ad_ctx *ctx, research_step_fn *fn,
                    int write)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    json_t *res = NULL;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev research %s ID", argv[0]);
    rc = ad__ctx_tenant(ctx, write);
    if (rc)
        return rc;
    env_of(ctx, &env);
    if (fn == ad_research_edit && (rc = env_llm(ctx, &env)) != 0)
        return rc;
    rc = fn(&env, argv[1], &res, &err);
    ad_llm_free(env.llm);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, res);
    if (json_object_get(res, "seq")) {
        fprintf(ctx->out, "iteration %" JSON_INTEGER_FORMAT " %s (%s)\n",
                json_integer_value(json_object_get(res, "seq")), ad_json_str(res, "phase"),
                ad_json_str(res, "decision"));
        struct progress p = { ctx, NAN };

        progress_line(&p, res);
    } else if (json_object_get(res, "report")) {
        return print_final(ctx, res);
    } else {
        print_session(ctx, res);
    }
    json_decref(res);
    return 0;
}

static int research_edit(int argc, char **argv, struct ad_ctx *ctx)
{
    return one_step(argc, argv, ctx, ad_research_edit, 1);
}

static int research_run_step(int argc, char **argv, struct ad_ctx *ctx)
{
    return one_step(argc, argv, ctx, ad_research_run, 1);
}

static int research_decide(int argc, char **argv, struct ad_ctx *ctx)
{
    return one_step(argc, argv, ctx, ad_research_decide, 1);
}

static int research_finalize(int argc, char **argv, struct ad_ctx *ctx)
{
    return one_step(argc, argv, ctx, ad_research_finalize, 1);
}

static int research_status(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    struct progress p = { ctx, NAN };
    json_t *res = NULL, *v;
    size_t i;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev research status ID");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    env_of(ctx, &env);
    if (ad_research_status(&env, argv[1], &res, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, res);
    print_session(ctx, res);
    p.noise = json_is_number(json_object_get(res, "noise"))
                  ? json_number_value(json_object_get(res, "noise")) : NAN;
    json_array_foreach(json_object_get(res, "iterations"), i, v)
        progress_line(&p, v);
    json_decref(res);
    return 0;
}

static int research_list(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    json_t *res = NULL, *v;
    size_t i;
    int rc;

    if (argc != 1)
        return ad__usage_error(ctx, "usage: autodev research list");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    env_of(ctx, &env);
    if (ad_research_status(&env, NULL, &res, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, res);
    json_array_foreach(res, i, v) {
        fprintf(ctx->out, "%s  %-16s %-10s best %.6g (baseline %.6g)  ", ad_json_str(v, "id"),
                ad_json_str(v, "status"), ad_json_str(v, "metric"),
                json_number_value(json_object_get(v, "best")),
                json_number_value(json_object_get(v, "baseline")));
        ad__print_clipped(ctx->out, ad_json_str(v, "repo"), 200);
        fputc('\n', ctx->out);
    }
    json_decref(res);
    return 0;
}

static int research_resume(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    json_t *res = NULL;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev research resume ID");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc)
        return rc;
    env_of(ctx, &env);
    if (ad_research_resume(&env, argv[1], &res, &err) < 0)
        return ad__die_err(ctx, &err);
    if (!ctx->json)
        print_session(ctx, res);
    json_decref(res);
    return run_loop(ctx, argv[1]);
}

/* The report of a finalized session: report.md, or report.json with --json. */
static int research_report(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_research_env env;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf b;
    json_t *s = NULL;
    char *path;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev research report ID");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    env_of(ctx, &env);
    if (ad_research_status(&env, argv[1], &s, &err) < 0)
        return ad__die_err(ctx, &err);
    path = ad_strdupf("%s/%s.report/%s",
                      ad_json_str(json_object_get(s, "config"), "workdir"),
                      ad_json_str(s, "id"), ctx->json ? "report.json" : "report.md");
    json_decref(s);
    if (!path)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    ad_buf_init(&b, 64u << 20);
    rc = ad__read_path(ctx, path, &b);
    free(path);
    if (!rc)
        fputs(b.ptr, ctx->out);
    ad_buf_release(&b);
    return rc;
}

int cmd_research(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "run", research_run_cmd },
        { "setup", research_setup },
        { "edit", research_edit },
        { "decide", research_decide },
        { "finalize", research_finalize },
        { "status", research_status },
        { "resume", research_resume },
        { "list", research_list },
        { "report", research_report },
        { NULL, NULL },
    };

    return ad__run_sub("research", subs, argc, argv, ctx);
}
