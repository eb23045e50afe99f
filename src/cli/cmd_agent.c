/*
 * autodev agent: add, list, show, set-maturity, readiness, graduate (run and
 * sessions: cmd_agent_run.c).
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>

#include "autodev/agent.h"
#include "autodev/learn.h"
#include "autodev/store.h"

#include "cli.h"

json_t *ad__agent_json(const struct ad_agent *a)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}",
                     "id", a->id, "name", a->name ? a->name : "",
                     "maturity", ad_maturity_name(a->maturity) ? ad_maturity_name(a->maturity)
                                                               : "?",
                     "episode_count", (json_int_t)a->episode_count,
                     "success_count", (json_int_t)a->success_count,
                     "failure_count", (json_int_t)a->failure_count,
                     "created_at", a->created_at, "updated_at", a->updated_at);
}

int ad__agent_lookup(struct ad_ctx *ctx, const char *name, struct ad_agent *out)
{
    struct ad_err err = AD_ERR_INIT;
    int rc = ad_agents_find(ctx->store, ctx->tenant_id, name, out, &err);

    if (rc == AD_ENOTFOUND)
        return ad__usage_error(ctx, "unknown agent '%s'", name);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

static int parse_maturity(struct ad_ctx *ctx, const char *s, enum ad_maturity *out)
{
    if (ad_maturity_parse(s, out) < 0)
        return ad__usage_error(ctx, "invalid maturity '%s': expected STUDENT, INTERN, "
                               "SUPERVISED or AUTONOMOUS", s);
    return 0;
}

#define AGENT_ROW "%-24s  %-10s  %8s  %9s  %6s"

static void print_agent_line(struct ad_ctx *ctx, const struct ad_agent *a)
{
    fprintf(ctx->out, "%-24s  %-10s  %8" PRId64 "  %9" PRId64 "  %6" PRId64 "\n", a->name,
            ad_maturity_name(a->maturity), a->episode_count, a->success_count,
            a->failure_count);
}

static int agent_add(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "maturity", required_argument, NULL, 'm' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    enum ad_maturity m = AD_STUDENT;
    int rc = 0, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'm' && parse_maturity(ctx, optarg, &m) != 0)
            return AD_EXIT_USAGE;
    }
    if (argc - optind != 1)
        return ad__usage_error(ctx, "usage: autodev agent add NAME [--maturity LEVEL]");
    if (!ad_name_valid(argv[optind]))
        return ad__usage_error(ctx, "invalid agent name '%s': expected 1..%d letters, digits, "
                               "'_', '.' or '-', starting with a letter or digit",
                               argv[optind], AD_NAME_MAX);
    rc = ad__ctx_tenant(ctx, 1);
    if (rc != 0)
        return rc;
    rc = ad_agents_add(ctx->store, ctx->tenant_id, argv[optind], m, &a, &err);
    if (rc == AD_EEXIST)
        return ad__usage_error(ctx, "agent '%s' already exists", argv[optind]);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        rc = ad__print_json(ctx, ad__agent_json(&a));
    else
        fprintf(ctx->out, "added agent %s (%s) %s\n", a.name, ad_maturity_name(a.maturity), a.id);
    ad_agent_release(&a);
    return rc;
}

static int agent_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent *v = NULL;
    size_t n = 0;
    int64_t limit = AD_LIST_DEFAULT;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c == '?')
            return AD_EXIT_USAGE;
        if (c == 'l' && ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
            return AD_EXIT_USAGE;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "agent list takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_agents_list(ctx->store, ctx->tenant_id, NULL, (int)limit, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, ad__agent_json(&v[i]));
        rc = ad__print_json(ctx, arr);
    } else {
        if (n > 0)
            ad__print_header(ctx, AGENT_ROW, "NAME", "MATURITY", "EPISODES", "SUCCEEDED",
                             "FAILED");
        for (size_t i = 0; i < n; i++)
            print_agent_line(ctx, &v[i]);
    }
    ad_agent_list_free(v, n);
    return rc;
}

static int agent_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_agent a = { 0 };
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev agent show NAME");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    if (ctx->json) {
        rc = ad__print_json(ctx, ad__agent_json(&a));
    } else {
        fprintf(ctx->out, "name      %s\nid        %s\nmaturity  %s\n"
                "episodes  %" PRId64 " (%" PRId64 " succeeded, %" PRId64 " failed)\n"
                "created   %s\nupdated   %s\n",
                a.name, a.id, ad_maturity_name(a.maturity), a.episode_count, a.success_count,
                a.failure_count, a.created_at, a.updated_at);
    }
    ad_agent_release(&a);
    return rc;
}

static int agent_set_maturity(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    enum ad_maturity m;
    json_t *j;
    int rc, unlocked = 0;

    if (argc != 3 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev agent set-maturity NAME LEVEL");
    if (parse_maturity(ctx, argv[2], &m) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    /* Through the gate module, so the event and the unlock notifications go with it. */
    if (ad_agent_change_maturity(ctx->store, ctx->bus, ctx->tenant_id, a.id, m, "set by hand",
                                 &unlocked, &err) < 0) {
        rc = ad__die_err(ctx, &err);
        goto out;
    }
    if (ctx->json) {
        a.maturity = m;
        j = ad__agent_json(&a);
        if (j && json_object_set_new(j, "capabilities_unlocked", json_integer(unlocked)) < 0) {
            json_decref(j);
            j = NULL;
        }
        rc = ad__print_json(ctx, j);
    } else {
        fprintf(ctx->out, "agent %s: %s -> %s", a.name, ad_maturity_name(a.maturity),
                ad_maturity_name(m));
        if (unlocked > 0)
            fprintf(ctx->out, " (%d %s unlocked; see autodev notifications)", unlocked,
                    unlocked == 1 ? "capability" : "capabilities");
        fputc('\n', ctx->out);
    }
out:
    ad_agent_release(&a);
    return rc;
}

/* ---- readiness and graduation ------------------------------------------- */

/*
 * A criterion's value (or, with target, its target) as a person reads it:
 * 12; 35.0% (target 50%); 0.812 (target 0.70); "-" for none.
 */
static void format_value(const struct ad_readiness_item *it, double x, int target, char *buf,
                         size_t size)
{
    if (isnan(x))
        snprintf(buf, size, "-");
    else if (!strcmp(it->name, "episodes"))
        snprintf(buf, size, "%.0f", x);
    else if (!strcmp(it->name, "intervention_rate"))
        snprintf(buf, size, target ? "%.0f%%" : "%.1f%%", x * 100);
    else
        snprintf(buf, size, target ? "%.2f" : "%.3f", x);
}

static void print_readiness(struct ad_ctx *ctx, const char *name, const struct ad_readiness *r)
{
    FILE *out = ctx->out;

    fprintf(out, "%-10s %s\n", "agent", name);
    if (r->at_top) {
        fprintf(out, "%-10s %s (the top level)\n", "maturity", ad_maturity_name(r->current));
        return;
    }
    fprintf(out, "%-10s %s -> %s\n", "maturity", ad_maturity_name(r->current),
            ad_maturity_name(r->next));
    fprintf(out, "%-10s %.1f%% (%s)\n", "readiness", r->score * 100,
            r->ready ? "ready: run autodev agent graduate" : "not ready");
    fprintf(out, "%-18s %-8s %-10s %-4s %-6s %-6s %s\n", "criterion", "value", "target", "met",
            "score", "weight", "gap");
    for (int i = 0; i < 3; i++) {
        const struct ad_readiness_item *it = &r->items[i];
        char value[32], target[32], op_target[40];

        format_value(it, it->value, 0, value, sizeof(value));
        format_value(it, it->target, 1, target, sizeof(target));
        snprintf(op_target, sizeof(op_target), "%s %s", it->op, target);
        fprintf(out, "%-18s %-8s %-10s %-4s %-6.3f %-6.2f %s\n", it->name, value, op_target,
                it->met ? "yes" : "no", it->score, it->weight, it->met ? "-" : it->gap);
    }
}

static int agent_readiness(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_readiness r;
    struct ad_agent a = { 0 };
    json_t *j;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev agent readiness NAME");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    if (ad_readiness_compute(ctx->store, ctx->tenant_id, a.id, &r, &err) < 0) {
        rc = ad__die_err(ctx, &err);
    } else if (ctx->json) {
        j = ad_readiness_json(&r);
        if (j && json_object_set_new(j, "agent", json_string(a.name)) < 0) {
            json_decref(j);
            j = NULL;
        }
        rc = ad__print_json(ctx, j);
    } else {
        print_readiness(ctx, a.name, &r);
    }
    ad_agent_release(&a);
    return rc;
}

/* The gaps of r, "gap1; gap2", into buf. */
static void join_gaps(const struct ad_readiness *r, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < 3 && off < size; i++) {
        if (!r->items[i].met)
            off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "; " : "",
                                    r->items[i].gap);
    }
}

/* The capabilities a move from one level to the next unlocks, as a JSON array. */
static json_t *unlocked_json(enum ad_maturity from, enum ad_maturity to)
{
    json_t *arr = json_array();

    for (int i = 0; arr && i < AD_CAP_COUNT; i++) {
        enum ad_capability c = (enum ad_capability)i;
        enum ad_maturity min = ad_capability_min_maturity(c);

        if (from < min && to >= min &&
            json_array_append_new(arr, json_string(ad_capability_name(c))) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static int print_graduated(struct ad_ctx *ctx, const char *name, const struct ad_readiness *r)
{
    json_t *caps = unlocked_json(r->current, r->next);
    size_t n = json_array_size(caps);

    if (ctx->json) {
        json_t *ready = ad_readiness_json(r);
        json_t *j = NULL;

        if (caps && ready)
            j = json_pack("{s:s, s:s, s:s, s:f, s:O, s:O}", "agent", name, "from",
                          ad_maturity_name(r->current), "to", ad_maturity_name(r->next),
                          "readiness", r->score, "unlocked", caps, "criteria", ready);
        json_decref(caps);
        json_decref(ready);
        return ad__print_json(ctx, j);
    }
    fprintf(ctx->out, "agent %s: %s -> %s (readiness %.1f%%)\n", name,
            ad_maturity_name(r->current), ad_maturity_name(r->next), r->score * 100);
    if (n > 0) {
        fprintf(ctx->out, "unlocked %zu %s:", n, n == 1 ? "capability" : "capabilities");
        for (size_t i = 0; i < n; i++)
            fprintf(ctx->out, " %s", json_string_value(json_array_get(caps, i)));
        fputs(" (see autodev notifications)\n", ctx->out);
    }
    json_decref(caps);
    return 0;
}

static int agent_graduate(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_readiness r;
    struct ad_agent a = { 0 };
    char gaps[512];
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev agent graduate NAME");
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__agent_lookup(ctx, argv[1], &a);
    if (rc != 0)
        return rc;
    memset(&r, 0, sizeof(r));
    rc = ad_agent_graduate(ctx->store, ctx->bus, ctx->tenant_id, a.id, &r, &err);
    if (rc == AD_ESTATE && r.at_top) {
        rc = ad__die_code(ctx, rc, "agent %s is already %s, the top level", a.name,
                          ad_maturity_name(r.current));
    } else if (rc == AD_ESTATE) {
        join_gaps(&r, gaps, sizeof(gaps));
        rc = ad__die_code(ctx, rc, "agent %s is not ready for %s: %s", a.name,
                          ad_maturity_name(r.next), gaps);
    } else if (rc < 0) {
        rc = ad__die_err(ctx, &err);
    } else {
        rc = print_graduated(ctx, a.name, &r);
    }
    ad_agent_release(&a);
    return rc;
}

int cmd_agent(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "add", agent_add },
        { "list", agent_list },
        { "show", agent_show },
        { "set-maturity", agent_set_maturity },
        { "readiness", agent_readiness },
        { "graduate", agent_graduate },
        { "run", ad__agent_run },
        { "sessions", ad__agent_sessions },
        { "tools", ad__agent_tools },
        { "replay", ad__agent_replay },
        { NULL, NULL },
    };

    return ad__run_sub("agent", subs, argc, argv, ctx);
}
