/*
 * autodev gate: may an agent use a learning capability now, and why not.
 *
 * The decision is the library's (learn.h, ad_gate_check); this file names
 * the agent and the capability, prints every reason and turns the answer
 * into the exit status, so scripts can write "autodev gate check A C && ...".
 */
#include "compat.h"

#include "autodev/learn.h"
#include "autodev/store.h"

#include "cli.h"

static int parse_capability(struct ad_ctx *ctx, const char *s, enum ad_capability *out)
{
    if (ad_capability_parse(s, out) < 0)
        return ad__usage_error(ctx, "unknown capability '%s': expected memento_skills, "
                               "alpha_evolver or background_evolution (or auto_dev.NAME)", s);
    return 0;
}

static json_t *decision_json(const struct ad_agent *a, enum ad_capability cap,
                             const struct ad_gate_decision *d)
{
    json_t *reasons = json_array();

    for (int i = 0; reasons && i < d->nreasons; i++) {
        if (json_array_append_new(reasons, json_string(d->reasons[i])) < 0) {
            json_decref(reasons);
            reasons = NULL;
        }
    }
    if (!reasons)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:s, s:I, s:i, s:s}",
                     "agent", a->name, "agent_id", a->id, "capability", ad_capability_name(cap),
                     "allowed", d->allowed, "reasons", reasons,
                     "maturity", ad_maturity_name(d->maturity),
                     "required_maturity", ad_maturity_name(ad_capability_min_maturity(cap)),
                     "used_today", (json_int_t)d->used_today, "daily_limit", d->daily_limit,
                     "day_start", d->day_start);
}

static void print_decision(struct ad_ctx *ctx, enum ad_capability cap,
                           const struct ad_gate_decision *d)
{
    fputs(d->allowed ? "allowed\n" : "denied\n", ctx->out);
    for (int i = 0; i < d->nreasons; i++)
        fprintf(ctx->out, "  - %s\n", d->reasons[i]);
    fprintf(ctx->out, "maturity %s; %s needs %s+; daily limit %" PRId64 " of %d since %s\n",
            ad_maturity_name(d->maturity), ad_capability_name(cap),
            ad_maturity_name(ad_capability_min_maturity(cap)), d->used_today, d->daily_limit,
            d->day_start);
}

static int gate_check(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_gate_decision d;
    struct ad_agent a = { 0 };
    enum ad_capability cap;
    int rc;

    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
        return ad__usage_error(ctx, "usage: autodev gate check AGENT CAPABILITY");
    if (parse_capability(ctx, argv[2], &cap) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    /* A check that could not run denies; say why and fail like any runtime error. */
    if (ad_gate_check(ctx->store, ctx->tenant_id, a.id, cap, &d, &err) < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json)
        rc = ad__print_json(ctx, decision_json(&a, cap, &d));
    else
        print_decision(ctx, cap, &d);
    if (rc == 0 && !d.allowed)
        rc = AD_EXIT_RUNTIME;
out:
    ad_agent_release(&a);
    return rc;
}

int cmd_gate(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "check", gate_check },
        { NULL, NULL },
    };

    return ad__run_sub("gate", subs, argc, argv, ctx);
}
