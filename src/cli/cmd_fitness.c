/*
 * autodev fitness: the scores of AlphaEvolver's variants: apply a delayed
 * signal (what the webhook will do), list the best, show one with its
 * signals. The formulas are the library's (fitness.h).
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>

#include "autodev/agent.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/store.h"

#include "cli.h"

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

static void score_text(double x, char *out, size_t size)
{
    if (isnan(x))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.3f", x);
}

/* The variant id; a malformed or unknown one is a usage error. */
static int lookup(struct ad_ctx *ctx, const char *id, struct ad_workflow_variant *v)
{
    struct ad_err err = AD_ERR_INIT;
    int rc;

    ad_workflow_variant_init(v);
    if (!ad_id_valid(id))
        return ad__usage_error(ctx, "no variant '%s'", id);
    rc = ad_variants_get(ctx->store, ctx->tenant_id, id, v, &err);
    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "no variant '%s'", id);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static json_t *variant_json(const struct ad_workflow_variant *v, const char *agent, int full)
{
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:s, s:s?, s:o, s:s,"
                          " s:s?}",
                          "id", v->id, "parent_variant_id", opt(v->parent_variant_id),
                          "agent_id", opt(v->agent_id), "agent", agent, "tool_mutation_id",
                          opt(v->tool_mutation_id), "skill_version_id",
                          opt(v->skill_version_id), "job_id", opt(v->job_id), "fitness_score",
                          num_or_null(v->fitness_score), "evaluation_status",
                          ad_variant_status_name(v->evaluation_status), "review_status",
                          ad_review_status_name(v->review_status), "risk_score",
                          num_or_null(v->risk_score), "created_at", v->created_at,
                          "last_evaluated_at", opt(v->last_evaluated_at));

    if (j && full &&
        (json_object_set(j, "fitness_signals",
                         v->fitness_signals ? v->fitness_signals : json_null()) < 0 ||
         json_object_set(j, "workflow_definition",
                         v->workflow_definition ? v->workflow_definition : json_null()) < 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- signal --------------------------------------------------------------- */

static int parse_signal(struct ad_ctx *ctx, int argc, char **argv, const char **id,
                        json_t **signals)
{
    static const struct option longopts[] = {
        { "file", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = NULL, *text = NULL;
    int c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c != 'f')
            return AD_EXIT_USAGE;
        path = optarg;
    }
    if (argc - optind < 1 || argc - optind > 2)
        return ad__usage_error(ctx, "usage: autodev fitness signal VARIANT --json JSON | "
                               "--file F");
    *id = argv[optind];
    text = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!text == !path)
        return ad__usage_error(ctx, "fitness signal needs the signal: --json JSON or --file F");
    return ad__json_arg(ctx, "signal", text, path, signals);
}

static int fitness_signal(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant v;
    json_t *signals = NULL;
    const char *id = NULL;
    double before, score = NAN;
    char b[32], a[32];
    int rc = parse_signal(ctx, argc, argv, &id, &signals);

    ad_workflow_variant_init(&v);
    /* A bad signal is refused before the database is opened for writing. */
    if (rc == 0 && ad_fitness_signals_check(signals, &err) < 0)
        rc = ad__usage_error(ctx, "%s", err.msg);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, id, &v);
    if (rc != 0)
        goto out;
    before = v.fitness_score;
    if (ad_fitness_evaluate_delayed(ctx->store, ctx->bus, ctx->tenant_id, id, signals, &score,
                                    &err) < 0) {
        rc = err.code == AD_ENOTFOUND ? ad__usage_error(ctx, "no variant '%s'", id)
                                      : ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json) {
        rc = ad__print_json(ctx, json_pack("{s:s, s:o, s:o}", "variant_id", id, "previous_score",
                                           num_or_null(before), "fitness_score",
                                           num_or_null(score)));
    } else {
        score_text(before, b, sizeof(b));
        score_text(score, a, sizeof(a));
        fprintf(ctx->out, "variant %s: fitness %s -> %s\n", id, b, a);
    }
out:
    json_decref(signals);
    ad_workflow_variant_release(&v);
    return rc;
}

/* ---- top ------------------------------------------------------------------ */

#define TOP_ROW "%-4s  %-36s  %-6s  %-11s  %-16s  %-36s  %s"

static int print_top(struct ad_ctx *ctx, const struct ad_workflow_variant *v, size_t n)
{
    struct ad_name_cache names = { 0 };
    json_t *arr = ctx->json ? json_array() : NULL;
    int rc = 0;

    if (!ctx->json && n > 0)
        ad__print_header(ctx, TOP_ROW, "RANK", "VARIANT", "SCORE", "STATUS", "AGENT",
                         "MUTATION", "EVALUATED");
    for (size_t i = 0; i < n; i++) {
        const char *agent = ad__agent_name(ctx, &names, v[i].agent_id);
        char rank[24], score[32];

        if (ctx->json) {
            if (arr && json_array_append_new(arr, variant_json(&v[i], agent, 0)) < 0) {
                json_decref(arr);
                arr = NULL;
            }
            continue;
        }
        snprintf(rank, sizeof(rank), "%zu", i + 1);
        score_text(v[i].fitness_score, score, sizeof(score));
        fprintf(ctx->out, TOP_ROW "\n", rank, v[i].id, score,
                ad_variant_status_name(v[i].evaluation_status), dash(agent),
                dash(v[i].tool_mutation_id), dash(v[i].last_evaluated_at));
    }
    if (ctx->json)
        rc = ad__print_json(ctx, arr);
    ad__name_cache_release(&names);
    return rc;
}

static int fitness_top(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "agent", required_argument, NULL, 'a' },
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant *v = NULL;
    struct ad_agent a = { 0 };
    const char *agent = NULL;
    int64_t limit = 10;
    size_t n = 0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_MUTATION_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "fitness top takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && agent)
        rc = ad__agent_lookup(ctx, agent, &a);
    if (rc != 0)
        return rc;
    if (ad_fitness_top_variants(ctx->store, ctx->tenant_id, agent ? a.id : NULL, (int)limit, &v,
                                &n, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = print_top(ctx, v, n);
    ad_workflow_variant_list_free(v, n);
    ad_agent_release(&a);
    return rc;
}

/* ---- show ----------------------------------------------------------------- */

static void print_value(FILE *out, const json_t *v, size_t max)
{
    char *s = ad_json_dumps(v);

    ad__print_clipped(out, s ? s : "?", max);
    free(s);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The signals, keys sorted; the delayed ones one line each, oldest first. */
static void print_signals(FILE *out, const json_t *sig)
{
    size_t n = json_object_size(sig), i = 0, k;
    const char **keys;
    const char *key;
    json_t *v, *e;

    fputs("signals:", out);
    if (!json_is_object(sig) || n == 0) {
        fputs(" none recorded\n", out);
        return;
    }
    fputc('\n', out);
    keys = calloc(n, sizeof(*keys));
    if (!keys)
        return;
    json_object_foreach((json_t *)sig, key, v)
        keys[i++] = key;
    qsort(keys, n, sizeof(*keys), key_cmp);
    for (i = 0; i < n; i++) {
        v = json_object_get(sig, keys[i]);
        if (!strcmp(keys[i], "delayed") && json_is_array(v)) {
            fprintf(out, "  %-18s %zu signal(s)\n", keys[i], json_array_size(v));
            json_array_foreach(v, k, e) {
                fprintf(out, "    %s  %+.3f  ", dash(ad_json_str(e, "at")),
                        json_number_value(json_object_get(e, "adjustment")));
                print_value(out, json_object_get(e, "signals"), 160);
                fputc('\n', out);
            }
            continue;
        }
        fprintf(out, "  %-18s ", keys[i]);
        print_value(out, v, 200);
        fputc('\n', out);
    }
    free(keys);
}

static void print_show_text(struct ad_ctx *ctx, const struct ad_workflow_variant *v,
                            const char *agent)
{
    FILE *out = ctx->out;
    const char *review = ad_review_status_name(v->review_status);
    char score[32];

    score_text(v->fitness_score, score, sizeof(score));
    fprintf(out, "%-14s%s\n", "id", v->id);
    fprintf(out, "%-14s%s\n", "score", score);
    fprintf(out, "%-14s%s\n", "status", ad_variant_status_name(v->evaluation_status));
    fprintf(out, "%-14s%s\n", "review", dash(review));
    fprintf(out, "%-14s%s\n", "agent", dash(agent));
    fprintf(out, "%-14s%s\n", "mutation", dash(v->tool_mutation_id));
    fprintf(out, "%-14s%s\n", "version", dash(v->skill_version_id));
    fprintf(out, "%-14s%s\n", "parent", dash(v->parent_variant_id));
    fprintf(out, "%-14s%s\n", "job", dash(v->job_id));
    fprintf(out, "%-14s%s\n", "created", v->created_at);
    fprintf(out, "%-14s%s\n", "evaluated", dash(v->last_evaluated_at));
    fprintf(out, "%-14s", "definition");
    print_value(out, v->workflow_definition, 200);
    fputc('\n', out);
    print_signals(out, v->fitness_signals);
}

static int fitness_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_name_cache names = { 0 };
    struct ad_workflow_variant v;
    const char *agent;
    int rc;

    ad_workflow_variant_init(&v);
    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev fitness show VARIANT");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = lookup(ctx, argv[1], &v);
    if (rc != 0) {
        ad_workflow_variant_release(&v);
        return rc;
    }
    agent = ad__agent_name(ctx, &names, v.agent_id);
    if (ctx->json)
        rc = ad__print_json(ctx, variant_json(&v, agent, 1));
    else
        print_show_text(ctx, &v, agent);
    ad__name_cache_release(&names);
    ad_workflow_variant_release(&v);
    return rc;
}

int cmd_fitness(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "signal", fitness_signal },
        { "top", fitness_top },
        { "show", fitness_show },
        { NULL, NULL },
    };

    return ad__run_sub("fitness", subs, argc, argv, ctx);
}
