/*
 * autodev evolve: evolution research runs (evolve.h). run creates a run,
 * prints its id, the preflight, then runs its generations as
 * evolve.generation jobs in this process (as jobs run does), one progress
 * line each; resume goes on with a run a kill or a stop left; status,
 * list, show and trace read them.
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "autodev/evaluate.h"
#include "autodev/evolve.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/llm.h"
#include "autodev/runtime.h"
#include "autodev/skill.h"

#include "cli.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

enum {
    OPT_GENERATIONS = 256, OPT_POPULATION, OPT_ISLANDS, OPT_SEED, OPT_MAX_EVALS, OPT_TIME,
    OPT_USD, OPT_TOKENS, OPT_MIGRATION, OPT_STAGNATION, OPT_FITNESS, OPT_FEATURE, OPT_STAGE1,
    OPT_MARGIN, OPT_NOVELTY, OPT_CASES, OPT_STOP_FILE, OPT_AGENT,
};

static const struct option run_longopts[] = {
    { "generations", required_argument, NULL, OPT_GENERATIONS },
    { "population", required_argument, NULL, OPT_POPULATION },
    { "islands", required_argument, NULL, OPT_ISLANDS },
    { "seed", required_argument, NULL, OPT_SEED },
    { "max-evaluations", required_argument, NULL, OPT_MAX_EVALS },
    { "time-budget", required_argument, NULL, OPT_TIME },
    { "budget-usd", required_argument, NULL, OPT_USD },
    { "budget-tokens", required_argument, NULL, OPT_TOKENS },
    { "migration-interval", required_argument, NULL, OPT_MIGRATION },
    { "stagnation", required_argument, NULL, OPT_STAGNATION },
    { "fitness", required_argument, NULL, OPT_FITNESS },
    { "feature", required_argument, NULL, OPT_FEATURE },
    { "stage1-cases", required_argument, NULL, OPT_STAGE1 },
    { "cascade-margin", required_argument, NULL, OPT_MARGIN },
    { "novelty", required_argument, NULL, OPT_NOVELTY },
    { "cases", required_argument, NULL, OPT_CASES },
    { "stop-file", required_argument, NULL, OPT_STOP_FILE },
    { "agent", required_argument, NULL, OPT_AGENT },
    { NULL, 0, NULL, 0 },
};

static int parse_real(struct ad_ctx *ctx, const char *name, const char *s, double min,
                      double max, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(*out) || *out < min || *out > max)
        return ad__usage_error(ctx, "%s: expected a number in [%g, %g], got '%s'", name, min,
                               max, s);
    return 0;
}

struct run_opts {
    struct ad_evolve_params p;
    const char *stop_file;
    const char *agent;
};

static int int_opt(struct ad_ctx *ctx, const char *name, const char *arg, int64_t min,
                   int64_t max, int64_t *v)
{
    return ad__parse_int(ctx, name, arg, min, max, v);
}

static int run_opt(struct ad_ctx *ctx, int ch, const char *arg, struct run_opts *o)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_evolve_params *p = &o->p;
    int64_t v = 0;
    int rc = 0;

    switch (ch) {
    case OPT_GENERATIONS:
        rc = int_opt(ctx, "--generations", arg, 1, AD_EVOLVE_GENERATIONS_MAX, &v);
        p->generations = (int)v;
        break;
    case OPT_POPULATION:
        rc = int_opt(ctx, "--population", arg, 1, AD_EVOLVE_POPULATION_MAX, &v);
        p->population = (int)v;
        break;
    case OPT_ISLANDS:
        rc = int_opt(ctx, "--islands", arg, 1, AD_EVOLVE_ISLANDS_MAX, &v);
        p->islands = (int)v;
        break;
    case OPT_SEED:
        rc = int_opt(ctx, "--seed", arg, 0, INT64_MAX, &v);
        p->seed = (uint64_t)v;
        break;
    case OPT_MAX_EVALS:
        rc = int_opt(ctx, "--max-evaluations", arg, 1, INT64_MAX, &p->max_evaluations);
        break;
    case OPT_TIME:
        rc = int_opt(ctx, "--time-budget", arg, 1, INT64_MAX, &p->time_budget_s);
        break;
    case OPT_USD:
        rc = parse_real(ctx, "--budget-usd", arg, 0, 1e9, &p->budget_usd);
        break;
    case OPT_TOKENS:
        rc = int_opt(ctx, "--budget-tokens", arg, 1, INT64_MAX, &p->budget_tokens);
        break;
    case OPT_MIGRATION:
        rc = int_opt(ctx, "--migration-interval", arg, 1, 1000000, &v);
        p->migration_interval = (int)v;
        break;
    case OPT_STAGNATION:
        rc = int_opt(ctx, "--stagnation", arg, 0, 1000000, &v);
        p->stagnation = (int)v;
        break;
    case OPT_FITNESS:
        if (!strcmp(arg, "output"))
            p->fitness = AD_EVOLVE_FIT_OUTPUT;
        else if (!strcmp(arg, "latency"))
            p->fitness = AD_EVOLVE_FIT_LATENCY;
        else
            rc = ad__usage_error(ctx, "--fitness: expected output or latency, got '%s'", arg);
        break;
    case OPT_FEATURE:
        if (p->ndims == AD_EVOLVE_DIMS_MAX)
            return ad__usage_error(ctx, "--feature: at most %d", AD_EVOLVE_DIMS_MAX);
        if (ad_evolve_dim_parse(arg, &p->dims[p->ndims], &err) < 0)
            return ad__usage_error(ctx, "--feature: %s", err.msg);
        p->ndims++;
        break;
    case OPT_STAGE1:
        rc = int_opt(ctx, "--stage1-cases", arg, 1, AD_ALPHA_CASES_MAX, &v);
        p->stage1_cases = (int)v;
        break;
    case OPT_MARGIN:
        rc = parse_real(ctx, "--cascade-margin", arg, 0, 1e6, &p->cascade_margin);
        break;
    case OPT_NOVELTY:
        rc = parse_real(ctx, "--novelty", arg, 1e-9, 1, &p->novelty);
        break;
    case OPT_CASES:
        rc = int_opt(ctx, "--cases", arg, 1, AD_ALPHA_CASES_MAX, &v);
        p->max_cases = (int)v;
        break;
    case OPT_STOP_FILE:
        o->stop_file = arg;
        break;
    case OPT_AGENT:
        o->agent = arg;
        break;
    default:
        rc = AD_EXIT_USAGE;
    }
    return rc;
}

static void env_of(struct ad_ctx *ctx, struct ad_evolve_env *env)
{
    memset(env, 0, sizeof(*env));
    env->st = ctx->store;
    env->bus = ctx->bus;
    env->tenant_id = ctx->tenant_id;
}

/* The sandbox and the tenant's model for the generations run here. */
static int env_tools(struct ad_ctx *ctx, struct ad_evolve_env *env)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_runtime_sandbox(ctx->rt, &env->sb, &err) < 0 ||
        ad_runtime_llm(ctx->rt, ctx->tenant_id, NULL, 0, &env->llm, &err) < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static bool stop_wanted(const char *stop_file, const char **why)
{
    struct stat sb;

    if (interrupted) {
        *why = "SIGINT";
        return true;
    }
    if (stop_file && stat(stop_file, &sb) == 0) {
        *why = "stop file";
        return true;
    }
    return false;
}

static void progress_line(struct ad_ctx *ctx, const struct ad_evolve_status *s, int gen,
                          double evals_per_s)
{
    if (ctx->json) {
        json_t *o = json_pack("{s:i, s:o, s:o, s:I, s:f, s:f, s:s}", "generation", gen, "best",
                              isfinite(s->best) ? json_real(s->best) : json_null(), "median",
                              isfinite(s->median) ? json_real(s->median) : json_null(),
                              "evaluations", (json_int_t)s->evaluations, "evaluations_per_s",
                              evals_per_s, "usd", s->usd, "state", s->state);

        ad__print_json(ctx, o);
        return;
    }
    fprintf(ctx->out, "generation %d/%d  best %.6g  median %.6g  %.1f evaluations/s  $%.4f\n",
            gen + 1, s->generations, s->best, s->median, evals_per_s, s->usd);
    fflush(ctx->out);
}

/*
 * One generation: its job queued (once: its key is the run and the
 * generation) and run here by the runtime's job kind. A job left running
 * by a process that was killed is handed back to the queue first (its
 * worker is dead: it would hold the lease for minutes), and the job
 * finishes the generation from its rows.
 */
static int one_generation(struct ad_ctx *ctx, struct ad_jobs *q, const char *run_id, int gen)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_job job = { 0 };
    char key[96], id[AD_ID_SIZE];
    json_t *payload = json_pack("{s:s, s:i}", "run_id", run_id, "generation", gen);
    int created = 0, ran = 0, rc;

    if (!payload)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    snprintf(key, sizeof(key), "evolve:%s:%d", run_id, gen);
    rc = ad_jobs_enqueue(q, AD_EVOLVE_JOB, payload, key, 0, id, &created, &err);
    json_decref(payload);
    if (rc == 0)
        rc = ad_jobs_get(ctx->store, ctx->tenant_id, id, &job, &err);
    if (rc == 0 && job.status == AD_JOB_RUNNING && job.worker)
        rc = ad_jobs_hand_back(ctx->store, ctx->tenant_id, job.worker, NULL, &err);
    if (rc == 0)
        rc = ad_jobs_run_one(q, AD_EVOLVE_JOB, &ran, &err);
    ad_job_release(&job);
    return rc < 0 ? ad__die_err(ctx, &err) : 0;
}

/* The generations of a running run, until a budget, a stop or an error ends them. */
static int drive(struct ad_ctx *ctx, const char *run_id, const char *stop_file)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_evolve_env env;
    struct ad_evolve_status s;
    struct ad_jobs *q = NULL;
    struct sigaction sa, old;
    char mid[AD_ID_SIZE] = "";
    const char *why = NULL;
    bool promoted = false;
    int rc;

    env_of(ctx, &env);
    rc = env_tools(ctx, &env);
    if (rc == 0)
        rc = ad__ctx_jobs(ctx, &q);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old);
    interrupted = 0;
    while (rc == 0) {
        int64_t e0, t0 = ad_now_ms();
        int gen;

        if (ad_evolve_progress(ctx->store, ctx->tenant_id, run_id, &s, &err) < 0) {
            rc = ad__die_err(ctx, &err);
            break;
        }
        if (strcmp(s.state, "running"))
            break;
        if (stop_wanted(stop_file, &why)) {
            if (ad_evolve_stop(ctx->store, ctx->tenant_id, run_id, why, &err) < 0)
                rc = ad__die_err(ctx, &err);
            continue;
        }
        gen = s.generation;
        e0 = s.evaluations;
        rc = one_generation(ctx, q, run_id, gen);
        if (rc == 0 && ad_evolve_progress(ctx->store, ctx->tenant_id, run_id, &s, &err) < 0)
            rc = ad__die_err(ctx, &err);
        if (rc == 0 && s.generation == gen && !strcmp(s.state, "running")) {
            struct ad_job *jv = NULL;
            size_t n = 0;
            const char *last = NULL;

            /* The job failed and waits for a retry: say why, and leave it to resume. */
            if (ad_jobs_list(ctx->store, ctx->tenant_id, -1, AD_EVOLVE_JOB, 1, &jv, &n,
                             NULL) == 0 && n)
                last = jv[0].last_error;
            rc = ad__die_code(ctx, AD_EIO, "evolution run %s: generation %d did not finish%s%s",
                              run_id, gen + 1, last ? ": " : "", last ? last : "");
            ad_job_list_free(jv, n);
            break;
        }
        if (rc == 0) {
            double secs = (double)(ad_now_ms() - t0) / 1000;

            progress_line(ctx, &s, gen, secs > 0 ? (double)(s.evaluations - e0) / secs : 0);
        }
    }
    sigaction(SIGINT, &old, NULL);
    if (rc == 0 && !strcmp(s.state, "done") &&
        ad_evolve_submit_best(&env, run_id, mid, &promoted, &err) < 0)
        rc = ad__die_err(ctx, &err);
    if (rc == 0 && !ctx->json) {
        fprintf(ctx->out, "run %s %s%s%s%s: %d generation(s), %lld evaluations, best %.6g\n",
                run_id, s.state, s.reason[0] ? " (" : "", s.reason[0] ? s.reason : "",
                s.reason[0] ? ")" : "", s.generation, (long long)s.evaluations, s.best);
        if (!strcmp(s.state, "done") && mid[0] && promoted)
            fprintf(ctx->out, "best program promoted automatically: mutation %s\n", mid);
        else if (!strcmp(s.state, "done") && mid[0])
            fprintf(ctx->out, "best program put to review: mutation %s (autodev mutations "
                              "approve %s)\n", mid, mid);
    }
    ad_jobs_free(q);
    ad_llm_free(env.llm);
    return rc;
}

static int evolve_run(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct run_opts o = { 0 };
    struct ad_evolve_env env;
    struct ad_evolve_estimate est;
    struct ad_evolve_run run = { 0 };
    struct ad_agent agent = { 0 };
    char run_id[AD_ID_SIZE];
    int ch, rc = 0;

    ad_evolve_params_init(&o.p);
    ad__getopt_reset();
    while (!rc && (ch = ad__getopt(ctx, argc, argv, ":", run_longopts)) != -1)
        rc = ch == '?' ? AD_EXIT_USAGE : run_opt(ctx, ch, optarg, &o);
    if (!rc && optind != argc - 1)
        rc = ad__usage_error(ctx, "usage: autodev evolve run SKILL [OPTIONS]");
    if (!rc)
        rc = ad__ctx_tenant(ctx, 1);
    if (!rc && o.agent)
        rc = ad__agent_lookup(ctx, o.agent, &agent);
    if (rc)
        return rc;
    env_of(ctx, &env);
    rc = env_tools(ctx, &env);
    if (rc)
        return rc;
    rc = ad_evolve_create(&env, argv[optind], o.agent ? agent.id : NULL, &o.p, &run, &est, &err);
    ad_llm_free(env.llm);
    ad_agent_release(&agent);
    /* A budget the preflight refuses is bad input, like an unknown skill. */
    if (rc == AD_EINVAL || rc == AD_ENOTFOUND || rc == AD_ELIMIT)
        return ad__die_code(ctx, rc == AD_ELIMIT ? AD_EINVAL : rc, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    memcpy(run_id, run.id, AD_ID_SIZE);
    ad_evolve_run_release(&run);
    if (ctx->json) {
        ad__print_json(ctx, json_pack("{s:s, s:{s:I, s:I, s:f, s:I}}", "id", run_id, "preflight",
                                      "calls", (json_int_t)est.calls, "evaluations",
                                      (json_int_t)est.evaluations, "usd", est.usd, "tokens",
                                      (json_int_t)est.tokens));
    } else {
        fprintf(ctx->out, "%s\n", run_id);
        fprintf(ctx->out, "preflight: at most %lld evaluations, %lld model calls, expected "
                          "cost $%.4f\n", (long long)est.evaluations, (long long)est.calls,
                est.usd);
        fflush(ctx->out);
    }
    return drive(ctx, run_id, o.stop_file);
}

static int evolve_resume(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "stop-file", required_argument, NULL, OPT_STOP_FILE },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    const char *stop_file = NULL;
    int ch, rc = 0;

    ad__getopt_reset();
    while (!rc && (ch = ad__getopt(ctx, argc, argv, ":", longopts)) != -1)
        rc = ch == OPT_STOP_FILE ? (stop_file = optarg, 0) : AD_EXIT_USAGE;
    if (!rc && optind != argc - 1)
        rc = ad__usage_error(ctx, "usage: autodev evolve resume RUN [--stop-file PATH]");
    if (!rc)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc)
        return rc;
    rc = ad_evolve_reopen(ctx->store, ctx->tenant_id, argv[optind], &err);
    if (rc == AD_ESTATE || rc == AD_ENOTFOUND || rc == AD_EINVAL)
        return ad__die_code(ctx, rc, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return drive(ctx, argv[optind], stop_file);
}

static int evolve_status(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_evolve_status s;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev evolve status RUN");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    rc = ad_evolve_progress(ctx->store, ctx->tenant_id, argv[1], &s, &err);
    if (rc == AD_ENOTFOUND || rc == AD_EINVAL)
        return ad__die_code(ctx, rc, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s, s:s, s:s?, s:i, s:i, s:o, s:o, s:i, s:I, "
                                             "s:I, s:I, s:f}", "id", argv[1], "state", s.state,
                                             "reason", s.reason[0] ? s.reason : NULL,
                                             "generation", s.generation, "generations",
                                             s.generations, "best",
                                             isfinite(s.best) ? json_real(s.best) : json_null(),
                                             "median", isfinite(s.median) ? json_real(s.median)
                                                                          : json_null(),
                                             "elites", s.elites, "programs",
                                             (json_int_t)s.programs, "evaluations",
                                             (json_int_t)s.evaluations, "tokens",
                                             (json_int_t)s.tokens, "usd", s.usd));
    fprintf(ctx->out, "%s %s%s%s%s: generation %d/%d, best %.6g, median %.6g, %d elite(s), "
                      "%lld program(s), %lld evaluations, $%.4f\n", argv[1], s.state,
            s.reason[0] ? " (" : "", s.reason, s.reason[0] ? ")" : "", s.generation,
            s.generations, s.best, s.median, s.elites, (long long)s.programs,
            (long long)s.evaluations, s.usd);
    return 0;
}

static int evolve_list(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *a = NULL, *v;
    size_t i;
    int rc;

    (void)argv;
    if (argc != 1)
        return ad__usage_error(ctx, "usage: autodev evolve list");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    if (ad_evolve_list(ctx->store, ctx->tenant_id, 0, &a, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, a);
    json_array_foreach(a, i, v) {
        fprintf(ctx->out, "%s  %-20s %-8s generation %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
                          "  %" JSON_INTEGER_FORMAT " evaluations  %s\n",
                ad_json_str(v, "id"), ad_json_str(v, "skill") ? ad_json_str(v, "skill") : "-",
                ad_json_str(v, "state"), json_integer_value(json_object_get(v, "generation")),
                json_integer_value(json_object_get(v, "generations")),
                json_integer_value(json_object_get(v, "evaluations")),
                ad_json_str(v, "created_at"));
    }
    json_decref(a);
    return 0;
}

static int evolve_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *o = NULL, *best;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev evolve show RUN [--json]");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    rc = ad_evolve_show(ctx->store, ctx->tenant_id, argv[1], &o, &err);
    if (rc == AD_ENOTFOUND || rc == AD_EINVAL)
        return ad__die_code(ctx, rc, "%s", err.msg);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, o);
    best = json_object_get(o, "best");
    fprintf(ctx->out, "run %s: %s, generation %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
                      " program(s), %" JSON_INTEGER_FORMAT " evaluations\n",
            ad_json_str(o, "id"), ad_json_str(o, "state"),
            json_integer_value(json_object_get(o, "generation")),
            json_integer_value(json_object_get(o, "programs")),
            json_integer_value(json_object_get(o, "evaluations")));
    if (json_is_object(best)) {
        fprintf(ctx->out, "best %s (generation %" JSON_INTEGER_FORMAT ", island %"
                          JSON_INTEGER_FORMAT ", cell %s): fitness %.6g\n",
                ad_json_str(best, "id"), json_integer_value(json_object_get(best, "generation")),
                json_integer_value(json_object_get(best, "island")),
                ad_json_str(best, "cell") ? ad_json_str(best, "cell") : "-",
                json_number_value(json_object_get(best, "fitness")));
        fprintf(ctx->out, "%s\n", ad_json_str(best, "code"));
    }
    json_decref(o);
    return 0;
}

/* The trace as JSON lines, a page at a time. */
static int evolve_trace(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t after = 0;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev evolve trace RUN");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc)
        return rc;
    for (;;) {
        json_t *page = NULL, *v;
        size_t i;

        rc = ad_evolve_trace_page(ctx->store, ctx->tenant_id, argv[1], after, 1000, &page, &err);
        if (rc == AD_ENOTFOUND || rc == AD_EINVAL)
            return ad__die_code(ctx, rc, "%s", err.msg);
        if (rc < 0)
            return ad__die_err(ctx, &err);
        json_array_foreach(page, i, v) {
            char *line = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

            if (!line) {
                json_decref(page);
                return ad__die_code(ctx, AD_ENOMEM, "out of memory");
            }
            fprintf(ctx->out, "%s\n", line);
            free(line);
            after = json_integer_value(json_object_get(v, "seq"));
        }
        i = json_array_size(page);
        json_decref(page);
        if (i < 1000)
            break;
    }
    return 0;
}

int cmd_evolve(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "run", evolve_run },
        { "resume", evolve_resume },
        { "status", evolve_status },
        { "list", evolve_list },
        { "show", evolve_show },
        { "trace", evolve_trace },
        { NULL, NULL },
    };

    return ad__run_sub("evolve", subs, argc, argv, ctx);
}
