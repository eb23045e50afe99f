/*
 * autodev fitness: the scores of AlphaEvolver's variants: apply a delayed
 * signal (what the webhook will do), list the best, show one with its
 * signals; and the workspace's custom fitness terms (fitness term ...).
 * The formulas are the library's (fitness.h).
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>

#include "autodev/agent.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"
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

/* Runs the tenant's enabled terms on variant id (ad_runtime_fitness_terms_apply). */
static int apply_terms(struct ad_ctx *ctx, const char *id, double *score)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_runtime_fitness_terms_apply(ctx->rt, ctx->store, ctx->bus, ctx->tenant_id, id, score,
                                       &err) < 0)
        return err.code == AD_ENOTFOUND ? ad__usage_error(ctx, "no variant '%s'", id)
                                        : ad__die_err(ctx, &err);
    return 0;
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
    /* The signals changed: the workspace's terms run again over them. */
    rc = apply_terms(ctx, id, &score);
    if (rc != 0)
        goto out;
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

/* ---- term: the workspace's custom fitness terms --------------------------------- */

static json_t *term_json(const struct ad_fitness_term *t, int with_code)
{
    json_t *j = json_pack("{s:s, s:f, s:b, s:s, s:s, s:s}", "name", t->name, "weight",
                          t->weight, "enabled", t->enabled, "code_sha", t->code_sha,
                          "created_at", t->created_at, "updated_at", t->updated_at);

    if (j && with_code && json_object_set_new(j, "code", json_string(t->code)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int parse_weight(struct ad_ctx *ctx, const char *s, double *out)
{
    char *end = NULL;

    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(*out) || !(*out > 0) ||
        *out > AD_FITNESS_TERM_WEIGHT_MAX)
        return ad__usage_error(ctx, "--weight: expected a number > 0 and <= %g, not '%s'",
                               AD_FITNESS_TERM_WEIGHT_MAX, s);
    return 0;
}

static int term_add(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "file", required_argument, NULL, 'f' },
        { "weight", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf code = AD_BUF_INIT;
    struct ad_fitness_term t;
    struct ad_sandbox *sb = NULL;
    const char *path = NULL;
    double weight = 1.0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == 'f')
            path = optarg;
        else if (c != 'w' || parse_weight(ctx, optarg, &weight) != 0)
            return AD_EXIT_USAGE;
    }
    if (argc - optind != 1 || !path)
        return ad__usage_error(ctx, "usage: autodev fitness term add NAME --file F"
                                    " [--weight W]");
    /* Past the cap, so that the library says how big the code is and what the cap is. */
    code.max = 1 << 20;
    rc = ad__read_path(ctx, path, &code);
    if (rc == 0 && memchr(code.ptr, '\0', code.len))
        rc = ad__usage_error(ctx, "%s: the term's code holds a NUL byte", path);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc != 0)
        goto out;
    memset(&t, 0, sizeof(t));
    if (ad_fitness_terms_add(ctx->store, sb, ctx->tenant_id, argv[optind],
                             code.ptr, weight, &t, &err) < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json)
        rc = ad__print_json(ctx, term_json(&t, 0));
    else
        fprintf(ctx->out, "added fitness term %s (weight %g, sha256 %.12s)\n", t.name,
                t.weight, t.code_sha);
    ad_fitness_term_release(&t);
out:
    ad_buf_release(&code);
    return rc;
}

#define TERM_ROW "%-24s  %-7s  %-7s  %-12s  %s"

static int term_list(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term *t = NULL;
    json_t *arr;
    size_t n = 0;
    int rc;

    if (argc != 1)
        return ad__usage_error(ctx, "usage: autodev fitness term list");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_fitness_terms_list(ctx->store, ctx->tenant_id, &t, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            if (json_array_append_new(arr, term_json(&t[i], 0)) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        rc = ad__print_json(ctx, arr);
    } else if (n > 0) {
        ad__print_header(ctx, TERM_ROW, "NAME", "WEIGHT", "ENABLED", "SHA256", "UPDATED");
        for (size_t i = 0; i < n; i++) {
            char w[32];

            snprintf(w, sizeof(w), "%g", t[i].weight);
            fprintf(ctx->out, TERM_ROW "\n", t[i].name, w, t[i].enabled ? "yes" : "no",
                    t[i].code_sha, t[i].updated_at);
        }
    }
    ad_fitness_term_list_free(t, n);
    return rc;
}

/* The term NAME of the tenant; unknown is a usage error. Returns an exit code. */
static int term_lookup(struct ad_ctx *ctx, const char *name, struct ad_fitness_term *t)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_fitness_terms_get(ctx->store, ctx->tenant_id, name, t, &err) < 0)
        return err.code == AD_ENOTFOUND ? ad__usage_error(ctx, "no fitness term '%s'", name)
                                        : ad__die_err(ctx, &err);
    return 0;
}

static int term_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_fitness_term t;
    int rc;

    memset(&t, 0, sizeof(t));
    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev fitness term show NAME");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = term_lookup(ctx, argv[1], &t);
    if (rc != 0)
        return rc;
    if (ctx->json) {
        rc = ad__print_json(ctx, term_json(&t, 1));
    } else {
        fprintf(ctx->out, "%-10s%s\n%-10s%g\n%-10s%s\n%-10s%s\n%-10s%s\n%-10s%s\n\n",
                "name", t.name, "weight", t.weight, "enabled", t.enabled ? "yes" : "no",
                "sha256", t.code_sha, "created", t.created_at, "updated", t.updated_at);
        fputs(t.code, ctx->out);
        if (t.code[0] && t.code[strlen(t.code) - 1] != '\n')
            fputc('\n', ctx->out);
    }
    ad_fitness_term_release(&t);
    return rc;
}

static int term_remove(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev fitness term remove NAME");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    if (ad_fitness_terms_remove(ctx->store, ctx->tenant_id, argv[1], &err) < 0)
        return err.code == AD_ENOTFOUND ? ad__usage_error(ctx, "no fitness term '%s'", argv[1])
                                        : ad__die_err(ctx, &err);
    if (!ctx->json)
        fprintf(ctx->out, "removed fitness term %s\n", argv[1]);
    else
        rc = ad__print_json(ctx, json_pack("{s:s, s:b}", "name", argv[1], "removed", 1));
    return rc;
}

static int term_test(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "signals", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_fitness_term t;
    struct ad_sandbox *sb = NULL;
    json_t *signals = NULL, *out = NULL, *r;
    const char *text = NULL, *why;
    int rc, c;

    memset(&t, 0, sizeof(t));
    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c != 's')
            return AD_EXIT_USAGE;
        text = optarg;
    }
    if (argc - optind != 1 || !text)
        return ad__usage_error(ctx, "usage: autodev fitness term test NAME --signals JSON");
    rc = ad__json_arg(ctx, "--signals", text, NULL, &signals);
    if (rc == 0 && !json_is_object(signals))
        rc = ad__usage_error(ctx, "--signals: expected a JSON object");
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = term_lookup(ctx, argv[optind], &t);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc == 0 && ad_fitness_terms_run(sb, &t, 1, signals, NULL, &out, &err) < 0)
        rc = ad__die_err(ctx, &err);
    if (rc != 0)
        goto done;
    r = json_object_get(out, t.name);
    why = ad_json_str(r, "error");
    if (ctx->json) {
        rc = ad__print_json(ctx, json_pack("{s:s, s:O}", "name", t.name, "result", r));
        if (rc == 0 && why)
            rc = AD_EXIT_RUNTIME;
    } else if (why) {
        rc = ad__die_code(ctx, AD_EXIT_RUNTIME, "fitness term '%s' failed: %s", t.name, why);
    } else {
        fprintf(ctx->out, "%.6g\n", json_number_value(json_object_get(r, "value")));
        if (json_object_get(r, "clamped_from"))
            fprintf(ctx->out, "(clamped from %.6g)\n",
                    json_number_value(json_object_get(r, "clamped_from")));
    }
done:
    json_decref(out);
    json_decref(signals);
    ad_fitness_term_release(&t);
    return rc;
}

static int term_apply(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_workflow_variant v;
    double score = NAN;
    char b[32], a[32];
    int rc;

    ad_workflow_variant_init(&v);
    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev fitness term apply VARIANT");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = lookup(ctx, argv[1], &v);
    if (rc == 0)
        rc = apply_terms(ctx, argv[1], &score);
    if (rc == 0 && ctx->json) {
        rc = ad__print_json(ctx, json_pack("{s:s, s:o, s:o}", "variant_id", argv[1],
                                           "previous_score", num_or_null(v.fitness_score),
                                           "fitness_score", num_or_null(score)));
    } else if (rc == 0) {
        score_text(v.fitness_score, b, sizeof(b));
        score_text(score, a, sizeof(a));
        fprintf(ctx->out, "variant %s: fitness %s -> %s\n", argv[1], b, a);
    }
    ad_workflow_variant_release(&v);
    return rc;
}

static int fitness_term(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "add", term_add },
        { "list", term_list },
        { "show", term_show },
        { "remove", term_remove },
        { "test", term_test },
        { "apply", term_apply },
        { NULL, NULL },
    };

    return ad__run_sub("fitness term", subs, argc, argv, ctx);
}

int cmd_fitness(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "signal", fitness_signal },
        { "top", fitness_top },
        { "show", fitness_show },
        { "term", fitness_term },
        { NULL, NULL },
    };

    return ad__run_sub("fitness", subs, argc, argv, ctx);
}
