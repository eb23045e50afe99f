/*
 * The advisor (advise.h): facts from the store, each with the numbers
 * behind it and a command to try, and the readiness notifications.
 *
 * Every number is read through its owner's API: skill runs through the
 * catalog (ad_skill_executions_list), mutations, variants and candidates
 * through learn's own calls, the ledger through ad_llm_usage, the gates
 * through ad_gate_check and graduation through ad_readiness_compute. The
 * collectors are one table; a new source of facts is one row.
 *
 * Sections: facts and scope; the collectors; the table and ad_advise; text
 * and the model's summary; the readiness notifications and their schedule.
 */
#include "compat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/advise.h"
#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "learn_int.h"

/* Agents looked at in one pass (a page of the agent list at a time). */
#define AGENTS_MAX 10000
/* The lowest episode target of graduation.c: no agent below it can be ready. */
#define READY_MIN_EPISODES 10

/* ---- facts and scope -------------------------------------------------------------- */

struct scope {
    struct ad_store *st;
    const char *tenant_id;
    const struct ad_agent *agent;     /* NULL: every agent */
    struct ad_settings settings;
    json_t *facts;                    /* array */
};

static double round4(double x)
{
    return round(x * 1e4) / 1e4;
}

/* Appends one fact; numbers is consumed. */
static int add_fact(struct scope *sc, const char *kind, const char *subject,
                    const char *severity, const char *summary, json_t *numbers,
                    const char *command, struct ad_err *err)
{
    json_t *f;

    if (!numbers)
        return ad_error(err, AD_ENOMEM, "out of memory");
    f = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "kind", kind, "subject", subject,
                  "severity", severity, "summary", summary, "numbers", numbers, "command",
                  command);
    if (!f || json_array_append_new(sc->facts, f) < 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/* " --agent NAME" when the advice is about one agent, else "". */
static const char *agent_opt(const struct scope *sc, char *buf, size_t size)
{
    if (!sc->agent)
        return "";
    snprintf(buf, size, " --agent %s", sc->agent->name);
    return buf;
}

typedef int agent_fn(struct scope *sc, const struct ad_agent *a, void *arg, struct ad_err *err);

/* Calls fn for the scope's agent, or for every agent of the tenant by name. */
static int each_agent(struct scope *sc, agent_fn *fn, void *arg, struct ad_err *err)
{
    char after[AD_NAME_MAX + 1] = "";
    size_t seen = 0;
    int rc = 0;

    if (sc->agent)
        return fn(sc, sc->agent, arg, err);
    while (rc == 0 && seen < AGENTS_MAX) {
        struct ad_agent *v = NULL;
        size_t n = 0;

        rc = ad_agents_list(sc->st, sc->tenant_id, after[0] ? after : NULL, AD_LIST_MAX, &v,
                            &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = fn(sc, &v[i], arg, err);
        if (n > 0)
            snprintf(after, sizeof(after), "%s", v[n - 1].name);
        ad_agent_list_free(v, n);
        seen += n;
        if (n < AD_LIST_MAX)
            break;
    }
    return rc;
}

/* ---- skills with high failure rates ------------------------------------------------ */

static int skill_failures(struct scope *sc, const struct ad_skill *s, struct ad_err *err)
{
    struct ad_skill_execution *x = NULL;
    char summary[512], cmd[256], opt[AD_NAME_MAX + 16];
    int64_t runs = 0, failures = 0;
    size_t n = 0;
    double rate;
    int rc;

    if (!s->current_version_id[0])
        return 0;
    rc = ad_skill_executions_list(sc->st, sc->tenant_id, s->current_version_id, AD_LIST_MAX, &x,
                                  &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (sc->agent && strcmp(x[i].agent_id, sc->agent->id))
            continue;
        runs++;
        failures += !x[i].success;
    }
    ad_skill_execution_list_free(x, n);
    if (rc < 0 || runs < AD_ADVISE_MIN_RUNS)
        return rc;
    rate = (double)failures / (double)runs;
    if (rate < AD_ADVISE_FAIL_WARN)
        return 0;
    snprintf(summary, sizeof(summary),
             "skill '%s' failed %lld of its last %lld runs (%.0f%%) on its current version",
             s->name, (long long)failures, (long long)runs, rate * 100);
    snprintf(cmd, sizeof(cmd), "autodev skill evolve %s%s", s->name,
             agent_opt(sc, opt, sizeof(opt)));
    return add_fact(sc, "skill_failure_rate", s->name,
                    rate >= AD_ADVISE_FAIL_HIGH ? "high" : "warn", summary,
                    json_pack("{s:I, s:I, s:f, s:s}", "runs", (json_int_t)runs, "failures",
                              (json_int_t)failures, "failure_rate", round4(rate),
                              "version_id", s->current_version_id),
                    cmd, err);
}

static int collect_skills(struct scope *sc, struct ad_err *err)
{
    char after[AD_NAME_MAX + 1] = "";
    int rc = 0;

    for (;;) {
        struct ad_skill *v = NULL;
        size_t n = 0;

        rc = ad_catalog_list(sc->st, sc->tenant_id, after[0] ? after : NULL, AD_LIST_MAX, &v,
                             &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = skill_failures(sc, &v[i], err);
        if (n > 0)
            snprintf(after, sizeof(after), "%s", v[n - 1].name);
        ad_skill_list_free(v, n);
        if (rc < 0 || n < AD_LIST_MAX)
            return rc;
    }
}

/* ---- mutations: acceptance, and what the improvements cost ------------------------- */

struct mutation_counts {
    int64_t total, evaluated, won, promoted, rejected, pending_review;
};

static int count_mutations(struct scope *sc, const char *agent_id, struct mutation_counts *c,
                           struct ad_err *err)
{
    struct ad_mutation_filter f = AD_MUTATION_FILTER_INIT;
    struct ad_tool_mutation *v = NULL;
    size_t n = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    f.limit = 1000;
    rc = ad_mutations_list(sc->st, sc->tenant_id, &f, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (agent_id && strcmp(v[i].agent_id, agent_id))
            continue;
        c->total++;
        c->evaluated += v[i].decision != AD_DECISION_NONE;
        c->won += v[i].decision == AD_DECISION_WON;
        c->promoted += v[i].promoted_version_id[0] != '\0';
        c->rejected += v[i].review_status == AD_REVIEW_REJECTED;
        c->pending_review += v[i].review_status == AD_REVIEW_PENDING;
    }
    ad_tool_mutation_list_free(v, n);
    return rc;
}

static int collect_mutations(struct scope *sc, struct ad_err *err)
{
    struct mutation_counts c;
    char summary[512], cmd[128];
    const char *severity = "info";
    double rate;
    int rc = count_mutations(sc, sc->agent ? sc->agent->id : NULL, &c, err);

    if (rc < 0 || c.total == 0)
        return rc;
    rate = c.evaluated ? (double)c.promoted / (double)c.evaluated : 0;
    snprintf(summary, sizeof(summary),
             "%lld of %lld evaluated mutations were accepted (%.0f%%); %lld won against their "
             "parent, %lld were rejected, %lld wait for review",
             (long long)c.promoted, (long long)c.evaluated, rate * 100, (long long)c.won,
             (long long)c.rejected, (long long)c.pending_review);
    if (c.pending_review > 0) {
        snprintf(cmd, sizeof(cmd), "autodev mutations list --review pending");
        severity = "warn";
    } else if (c.evaluated >= AD_ADVISE_ACCEPT_MIN && rate < AD_ADVISE_ACCEPT_LOW) {
        snprintf(cmd, sizeof(cmd), "autodev mutations list --decision lost");
        severity = "warn";
    } else {
        snprintf(cmd, sizeof(cmd), "autodev mutations list");
    }
    return add_fact(sc, "mutation_acceptance", sc->agent ? sc->agent->name : "tenant",
                    severity, summary,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "mutations",
                              (json_int_t)c.total, "evaluated", (json_int_t)c.evaluated, "won",
                              (json_int_t)c.won, "accepted", (json_int_t)c.promoted,
                              "rejected", (json_int_t)c.rejected, "pending_review",
                              (json_int_t)c.pending_review, "acceptance_rate", round4(rate)),
                    cmd, err);
}

static int collect_cost(struct scope *sc, struct ad_err *err)
{
    struct ad_candidate_filter cf = { NULL, 1u << AD_CAND_PROMOTED, AD_LIST_MAX };
    struct ad_skill_candidate *cv = NULL;
    struct ad_llm_usage_row *u = NULL;
    struct mutation_counts mc;
    char summary[512];
    int64_t calls = 0, tokens = 0, improvements;
    double usd = 0;
    size_t nu = 0, nc = 0;
    json_t *per;
    int rc;

    /* The ledger is the tenant's (a call names no agent): so is this fact. */
    rc = ad_llm_usage(sc->st, sc->tenant_id, NULL, &u, &nu, err);
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        calls += u[i].calls;
        tokens += u[i].prompt_tokens + u[i].completion_tokens;
        usd += u[i].cost_usd;
    }
    ad_llm_usage_rows_free(u, nu);
    if (rc == 0)
        rc = count_mutations(sc, NULL, &mc, err);
    if (rc == 0)
        rc = ad_candidates_list(sc->st, sc->tenant_id, &cf, &cv, &nc, err);
    ad_skill_candidate_list_free(cv, nc);
    if (rc < 0)
        return rc;
    improvements = mc.promoted + (int64_t)nc;
    if (calls == 0 && improvements == 0)
        return 0;
    per = improvements ? json_real(round4(usd / (double)improvements)) : json_null();
    if (improvements)
        snprintf(summary, sizeof(summary),
                 "$%.4f over %lld model calls bought %lld accepted improvements "
                 "(%lld mutations, %lld skills): $%.4f each",
                 usd, (long long)calls, (long long)improvements, (long long)mc.promoted,
                 (long long)nc, usd / (double)improvements);
    else
        snprintf(summary, sizeof(summary),
                 "$%.4f over %lld model calls and no accepted improvement yet", usd,
                 (long long)calls);
    return add_fact(sc, "cost_per_improvement", "tenant",
                    improvements == 0 && usd > 0 ? "warn" : "info", summary,
                    json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:o}", "llm_calls",
                              (json_int_t)calls, "tokens", (json_int_t)tokens, "cost_usd",
                              round4(usd), "accepted_improvements", (json_int_t)improvements,
                              "accepted_mutations", (json_int_t)mc.promoted,
                              "promoted_skills", (json_int_t)nc, "cost_per_improvement_usd",
                              per),
                    "autodev llm usage", err);
}

/* ---- fitness plateaus ------------------------------------------------------------ */

struct plateau {
    char version_id[AD_ID_SIZE];
    int64_t scored, since_gain;
    double first, best;
};

static int plateau_fact(struct scope *sc, const struct plateau *p, struct ad_err *err)
{
    struct ad_skill_version v = { 0 };
    struct ad_skill s = { 0 };
    char summary[512], cmd[256], opt[AD_NAME_MAX + 16];
    int rc;

    if (p->scored <= AD_ADVISE_PLATEAU_RUNS || p->since_gain < AD_ADVISE_PLATEAU_RUNS)
        return 0;
    rc = ad_catalog_version_get(sc->st, sc->tenant_id, p->version_id, &v, err);
    if (rc == 0)
        rc = ad_catalog_skill_get(sc->st, sc->tenant_id, v.skill_id, &s, err);
    if (rc == 0) {
        snprintf(summary, sizeof(summary),
                 "skill '%s' %s: the last %lld of %lld scored variants gained less than %.2f "
                 "over the best fitness %.4f",
                 s.name, v.semver, (long long)p->since_gain, (long long)p->scored,
                 AD_ADVISE_PLATEAU_GAIN, p->best);
        snprintf(cmd, sizeof(cmd), "autodev fitness top%s", agent_opt(sc, opt, sizeof(opt)));
        rc = add_fact(sc, "fitness_plateau", s.name, "warn", summary,
                      json_pack("{s:s, s:s, s:I, s:I, s:f, s:f}", "version_id", p->version_id,
                                "semver", v.semver, "variants", (json_int_t)p->scored,
                                "since_gain", (json_int_t)p->since_gain, "first_fitness",
                                round4(p->first), "best_fitness", round4(p->best)),
                      cmd, err);
    }
    ad_skill_version_release(&v);
    ad_skill_release(&s);
    return rc;
}

static int collect_plateaus(struct scope *sc, struct ad_err *err)
{
    struct ad_variant_filter f = { sc->agent ? sc->agent->id : NULL, NULL, NULL, NULL, 1000 };
    struct ad_workflow_variant *v = NULL;
    struct plateau *p = NULL;
    size_t n = 0, np = 0;
    int rc = ad_variants_list(sc->st, sc->tenant_id, &f, &v, &n, err);

    if (rc == 0 && n > 0 && !(p = calloc(n, sizeof(*p))))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    /* Newest first: walk back, so each skill version's variants come oldest first. */
    for (size_t i = n; rc == 0 && i-- > 0;) {
        const struct ad_workflow_variant *w = &v[i];
        struct plateau *q = NULL;

        if (!w->skill_version_id[0] || isnan(w->fitness_score))
            continue;
        for (size_t k = 0; k < np && !q; k++)
            q = strcmp(p[k].version_id, w->skill_version_id) ? NULL : &p[k];
        if (!q) {
            q = &p[np++];
            memcpy(q->version_id, w->skill_version_id, AD_ID_SIZE);
            q->first = q->best = w->fitness_score;
            q->scored = 1;
            continue;
        }
        q->scored++;
        if (w->fitness_score >= q->best + AD_ADVISE_PLATEAU_GAIN) {
            q->since_gain = 0;
        } else {
            q->since_gain++;
        }
        if (w->fitness_score > q->best)
            q->best = w->fitness_score;
    }
    for (size_t k = 0; rc == 0 && k < np; k++)
        rc = plateau_fact(sc, &p[k], err);
    free(p);
    ad_workflow_variant_list_free(v, n);
    return rc;
}

/* ---- daily limits ---------------------------------------------------------------- */

static int limit_fact(struct scope *sc, const char *what, const char *setting, int64_t used,
                      int64_t limit, const char *day_start, struct ad_err *err)
{
    char summary[512], cmd[160];
    double share;

    if (limit <= 0)
        return 0;
    share = (double)used / (double)limit;
    if (share < AD_ADVISE_LIMIT_WARN)
        return 0;
    snprintf(summary, sizeof(summary), "%s: %lld of the daily limit of %lld used since %s%s",
             what, (long long)used, (long long)limit, day_start,
             used >= limit ? " (reached: the loop waits for tomorrow)" : "");
    snprintf(cmd, sizeof(cmd), "autodev settings set %s %lld", setting,
             (long long)(limit > INT32_MAX / 2 ? limit : limit * 2));
    return add_fact(sc, "limit_hit", setting, used >= limit ? "high" : "warn", summary,
                    json_pack("{s:I, s:I, s:f, s:s}", "used_today", (json_int_t)used, "limit",
                              (json_int_t)limit, "share", round4(share), "day_start",
                              day_start),
                    cmd, err);
}

static int collect_limits(struct scope *sc, struct ad_err *err)
{
    const struct ad_settings *s = &sc->settings;
    struct ad_llm_usage_row *u = NULL;
    char day[AD_TIME_SIZE];
    int64_t cands = 0, muts = 0, tokens = 0;
    double usd = 0;
    size_t nu = 0;
    int rc;

    ad_time_day_start(NULL, day);
    rc = ad_store_candidate_count_since(sc->st, sc->tenant_id, day, &cands, err);
    if (rc == 0)
        rc = ad_store_mutation_count_since(sc->st, sc->tenant_id, day, &muts, err);
    if (rc == 0)
        rc = ad_llm_usage(sc->st, sc->tenant_id, day, &u, &nu, err);
    for (size_t i = 0; rc == 0 && i < nu; i++) {
        tokens += u[i].prompt_tokens + u[i].completion_tokens;
        usd += u[i].cost_usd;
    }
    ad_llm_usage_rows_free(u, nu);
    if (rc == 0)
        rc = limit_fact(sc, "skill candidates", "max_skill_candidates_per_day", cands,
                        s->max_skill_candidates_per_day, day, err);
    if (rc == 0)
        rc = limit_fact(sc, "mutations", "max_mutations_per_day", muts,
                        s->max_mutations_per_day, day, err);
    if (rc == 0)
        rc = limit_fact(sc, "model tokens", "llm_daily_token_cap", tokens,
                        s->llm_daily_token_cap, day, err);
    if (rc == 0)
        rc = limit_fact(sc, "model spend in cents", "llm_daily_cost_cap_cents",
                        (int64_t)ceil(usd * 100), s->llm_daily_cost_cap_cents, day, err);
    return rc;
}

/* ---- gates blocking progress ---------------------------------------------------- */

struct blocked {
    int64_t agents;
    json_t *names;                          /* the first few */
    char reasons[AD_GATE_REASONS_MAX][AD_GATE_REASON_SIZE];
    int nreasons;
    bool disabled, toggle_off, limit;
};

/* An agent mature enough for a capability that the gate still turns away. */
static int gate_agent(struct scope *sc, const struct ad_agent *a, void *arg, struct ad_err *err)
{
    struct blocked *b = arg;

    for (int c = 0; c < AD_CAP_COUNT; c++) {
        struct ad_gate_decision d;
        int rc;

        if (a->maturity < ad_capability_min_maturity((enum ad_capability)c))
            continue;
        rc = ad_gate_check(sc->st, sc->tenant_id, a->id, (enum ad_capability)c, &d, err);
        if (rc < 0)
            return rc;
        if (d.allowed)
            continue;
        b[c].agents++;
        if (json_array_size(b[c].names) < 10)
            json_array_append_new(b[c].names, json_string(a->name));
        if (b[c].nreasons == 0) {
            memcpy(b[c].reasons, d.reasons, sizeof(d.reasons));
            b[c].nreasons = d.nreasons;
        }
    }
    return 0;
}

static int collect_gates(struct scope *sc, struct ad_err *err)
{
    struct blocked b[AD_CAP_COUNT];
    const struct ad_settings *s = &sc->settings;
    const bool toggles[AD_CAP_COUNT] = { s->memento_skills, s->alpha_evolver,
                                         s->background_evolution };
    int rc = 0;

    memset(b, 0, sizeof(b));
    for (int c = 0; c < AD_CAP_COUNT; c++) {
        if (!(b[c].names = json_array()))
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = each_agent(sc, gate_agent, b, err);
    for (int c = 0; rc == 0 && c < AD_CAP_COUNT; c++) {
        const char *name = ad_capability_name((enum ad_capability)c);
        char summary[1024], cmd[160];
        json_t *reasons;
        size_t off;

        if (b[c].agents == 0)
            continue;
        if (!s->enabled)
            snprintf(cmd, sizeof(cmd), "autodev settings set enabled true");
        else if (!toggles[c])
            snprintf(cmd, sizeof(cmd), "autodev settings set %s true", strchr(name, '.') + 1);
        else
            snprintf(cmd, sizeof(cmd), "autodev gate check %s %s",
                     json_string_value(json_array_get(b[c].names, 0)), name);
        off = (size_t)snprintf(summary, sizeof(summary),
                               "%s is closed to %lld agent(s) mature enough for it:", name,
                               (long long)b[c].agents);
        reasons = json_array();
        for (int i = 0; reasons && i < b[c].nreasons; i++) {
            json_array_append_new(reasons, json_string(b[c].reasons[i]));
            if (off < sizeof(summary))
                off += (size_t)snprintf(summary + off, sizeof(summary) - off, "%s %s",
                                        i ? ";" : "", b[c].reasons[i]);
        }
        rc = add_fact(sc, "gate_blocked", name, "warn", summary,
                      reasons ? json_pack("{s:s, s:I, s:O, s:o}", "capability", name,
                                          "agents_blocked", (json_int_t)b[c].agents, "agents",
                                          b[c].names, "reasons", reasons)
                              : NULL,
                      cmd, err);
    }
    for (int c = 0; c < AD_CAP_COUNT; c++)
        json_decref(b[c].names);
    return rc;
}

/* ---- agents close to graduation -------------------------------------------------- */

static int graduation_agent(struct scope *sc, const struct ad_agent *a, void *arg,
                            struct ad_err *err)
{
    struct ad_readiness r;
    char summary[1024], cmd[256];
    json_t *numbers;
    size_t off;
    int rc;

    (void)arg;
    rc = ad_readiness_compute(sc->st, sc->tenant_id, a->id, &r, err);
    if (rc < 0 || r.at_top)
        return rc;
    if (!r.ready && r.score < AD_ADVISE_CLOSE_SCORE && !sc->agent)
        return 0;
    numbers = ad_readiness_json(&r);
    if (r.ready) {
        snprintf(summary, sizeof(summary),
                 "agent '%s' meets every criterion of %s (readiness %.2f): it can graduate "
                 "from %s", a->name, ad_maturity_name(r.next), r.score,
                 ad_maturity_name(r.current));
        snprintf(cmd, sizeof(cmd), "autodev agent graduate %s", a->name);
        return add_fact(sc, "graduation_ready", a->name, "high", summary, numbers, cmd, err);
    }
    off = (size_t)snprintf(summary, sizeof(summary), "agent '%s' is %.0f%% of the way to %s:",
                           a->name, r.score * 100, ad_maturity_name(r.next));
    for (int i = 0; i < 3; i++) {
        if (!r.items[i].met && off < sizeof(summary))
            off += (size_t)snprintf(summary + off, sizeof(summary) - off, " %s;",
                                    r.items[i].gap);
    }
    if (off > 0 && off < sizeof(summary) && summary[off - 1] == ';')
        summary[off - 1] = '\0';
    snprintf(cmd, sizeof(cmd), "autodev agent readiness %s", a->name);
    return add_fact(sc, "graduation_close", a->name, "info", summary, numbers, cmd, err);
}

static int collect_graduation(struct scope *sc, struct ad_err *err)
{
    return each_agent(sc, graduation_agent, NULL, err);
}

/* ---- the table ---------------------------------------------------------------------- */

static const struct collector {
    const char *name;
    int (*fn)(struct scope *sc, struct ad_err *err);
} collectors[] = {
    { "graduation", collect_graduation },
    { "limits", collect_limits },
    { "gates", collect_gates },
    { "skills", collect_skills },
    { "mutations", collect_mutations },
    { "plateaus", collect_plateaus },
    { "cost", collect_cost },
    /* Research mode's evolution runs (src/learn/evolve*.c): one row here. */
    { NULL, NULL },
};

static int severity_rank(const json_t *f)
{
    const char *s = ad_json_str(f, "severity");

    return !s ? 3 : !strcmp(s, "high") ? 0 : !strcmp(s, "warn") ? 1 : 2;
}

/* The facts by severity, each severity in the order they were collected. */
static json_t *by_severity(const json_t *facts, json_t *counts)
{
    static const char *const names[] = { "high", "warn", "info" };
    json_t *out = json_array();

    for (int rank = 0; out && rank < 3; rank++) {
        size_t i, k = 0;
        json_t *f;

        json_array_foreach(facts, i, f) {
            if (severity_rank(f) == rank) {
                json_array_append(out, f);
                k++;
            }
        }
        json_object_set_new(counts, names[rank], json_integer((json_int_t)k));
    }
    return out;
}

int ad_advise(struct ad_store *st, const char *tenant_id, const char *agent, json_t **out,
              struct ad_err *err)
{
    struct scope sc = { st, tenant_id, NULL, { 0 }, NULL };
    struct ad_agent a = { 0 };
    char now[AD_TIME_SIZE];
    json_t *counts = NULL, *sorted = NULL;
    int rc = 0;

    *out = NULL;
    if (agent) {
        if (ad_id_valid(agent))
            rc = ad_agents_get(st, tenant_id, agent, &a, err);
        else if (ad_name_valid(agent))
            rc = ad_agents_find(st, tenant_id, agent, &a, err);
        else
            rc = AD_ENOTFOUND;
        if (rc == AD_ENOTFOUND)
            return ad_error(err, rc, "unknown agent '%s'", agent);
        if (rc < 0)
            return rc;
        sc.agent = &a;
    }
    rc = ad_settings_get(st, tenant_id, &sc.settings, err);
    if (rc == 0 && !(sc.facts = json_array()))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    for (const struct collector *c = collectors; rc == 0 && c->name; c++)
        rc = c->fn(&sc, err);
    if (rc == 0 && (!(counts = json_object()) || !(sorted = by_severity(sc.facts, counts))))
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0) {
        ad_time_now(now);
        *out = json_pack("{s:s?, s:s, s:o, s:o}", "agent", sc.agent ? a.name : NULL,
                         "generated_at", now, "facts", sorted, "counts", counts);
        sorted = counts = NULL;
        if (!*out)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    json_decref(sorted);
    json_decref(counts);
    json_decref(sc.facts);
    ad_agent_release(&a);
    return rc;
}

/* ---- text and the model's summary ------------------------------------------------ */

int ad_advise_text(const json_t *advice, struct ad_buf *out, struct ad_err *err)
{
    const json_t *facts = json_object_get(advice, "facts");
    const json_t *counts = json_object_get(advice, "counts");
    const char *agent = ad_json_str(advice, "agent");
    size_t i;
    json_t *f;
    int rc;

    rc = ad_buf_addf(out, "advice%s%s: %lld high, %lld warn, %lld info\n",
                     agent ? " for agent " : "", agent ? agent : "",
                     (long long)json_integer_value(json_object_get(counts, "high")),
                     (long long)json_integer_value(json_object_get(counts, "warn")),
                     (long long)json_integer_value(json_object_get(counts, "info")));
    if (rc == 0 && json_array_size(facts) == 0)
        rc = ad_buf_adds(out, "nothing in the store calls for action\n");
    json_array_foreach(facts, i, f) {
        char *numbers;

        if (rc < 0)
            break;
        numbers = json_dumps(json_object_get(f, "numbers"), JSON_COMPACT | JSON_REAL_PRECISION(6));
        rc = ad_buf_addf(out, "\n[%s] %s: %s\n    %s\n    numbers: %s\n    try: %s\n",
                         ad_json_str(f, "severity"), ad_json_str(f, "kind"),
                         ad_json_str(f, "subject"), ad_json_str(f, "summary"),
                         numbers ? numbers : "{}", ad_json_str(f, "command"));
        free(numbers);
    }
    return rc < 0 ? ad_error(err, rc, "advice text: %s", ad_strerror(rc)) : 0;
}

static const char advise_system[] =
    "You are the advisor of autodev, a system that lets AI agents improve their own skills "
    "under gates and human review. Summarise the facts below for the operator in at most "
    "eight short lines, most urgent first. Use only the facts given: quote their numbers and "
    "their suggested commands, invent nothing.";

int ad_advise_summarize(struct ad_llm *llm, const json_t *advice, char **summary,
                        struct ad_err *err)
{
    struct ad_llm_message msgs[2] = {
        { AD_LLM_SYSTEM, advise_system, NULL, 0, NULL },
        { AD_LLM_USER, NULL, NULL, 0, NULL },
    };
    struct ad_llm_request req = { 0 };
    struct ad_llm_response resp;
    struct ad_buf user = AD_BUF_INIT;
    /* The facts only: what ad_advise read, never a setting's secret or a key. */
    json_t *facts = json_pack("{s:O, s:O, s:O}", "agent",
                              json_object_get(advice, "agent") ? json_object_get(advice, "agent")
                                                               : json_null(),
                              "facts", json_object_get(advice, "facts"), "counts",
                              json_object_get(advice, "counts"));
    char *text = facts ? json_dumps(facts, JSON_INDENT(1) | JSON_REAL_PRECISION(6)) : NULL;
    int rc;

    *summary = NULL;
    json_decref(facts);
    if (!text)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_buf_addf(&user, "The facts, as JSON:\n%s\n", text);
    free(text);
    if (rc < 0) {
        ad_buf_release(&user);
        return ad_error(err, rc, "advice prompt: %s", ad_strerror(rc));
    }
    msgs[1].content = user.ptr;
    req.messages = msgs;
    req.nmessages = 2;
    req.max_tokens = 600;
    req.temperature = 0;
    req.seed = -1;
    req.purpose = "advise";
    req.deadline_ms = 120000;
    rc = ad_llm_complete(llm, &req, &resp, err);
    ad_buf_release(&user);
    if (rc < 0)
        return rc;
    *summary = strdup(resp.text ? resp.text : "");
    ad_llm_response_release(&resp);
    return *summary ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}

/* ---- readiness notifications --------------------------------------------------- */

/* Whether the agent was told it is ready for level (read or not). */
static int told(struct ad_store *st, const char *tenant_id, const char *agent_id,
                const char *level, bool *yes, struct ad_err *err)
{
    struct ad_notification *v = NULL;
    size_t n = 0;
    int rc = ad_notifications_list(st, tenant_id, false, AD_ADVISE_READY_TYPE, AD_LIST_MAX, &v,
                                   &n, err);

    *yes = false;
    for (size_t i = 0; rc == 0 && i < n && !*yes; i++) {
        const char *a = ad_json_str(v[i].payload, "agent_id");
        const char *l = ad_json_str(v[i].payload, "level");

        *yes = a && l && !strcmp(a, agent_id) && !strcmp(l, level);
    }
    ad_notification_list_free(v, n);
    return rc;
}

static int notify_ready(struct ad_store *st, struct ad_bus *bus, const struct ad_agent *a,
                        const struct ad_readiness *r, int *notified, struct ad_err *err)
{
    const char *level = ad_maturity_name(r->next);
    char title[256], msg[512], id[AD_ID_SIZE];
    json_t *payload = NULL, *ev = NULL;
    int depth0 = ad_store_tx_depth(st);
    bool yes = false;
    int rc = ad_store_begin(st, err);

    if (rc < 0)
        return rc;
    /* The look and the write in one write transaction: a second worker waits, then sees it. */
    rc = told(st, a->tenant_id, a->id, level, &yes, err);
    if (rc == 0 && !yes) {
        snprintf(title, sizeof(title), "Agent '%s' is ready to graduate to %s", a->name, level);
        snprintf(msg, sizeof(msg),
                 "Every criterion of %s holds (readiness %.2f, %lld episodes). Promote it with: "
                 "autodev agent graduate %s",
                 level, r->score, (long long)r->record.episodes, a->name);
        payload = json_pack("{s:s, s:s, s:s, s:s, s:f, s:I}", "agent_id", a->id, "agent",
                            a->name, "from", ad_maturity_name(r->current), "level", level,
                            "score", r->score, "episodes", (json_int_t)r->record.episodes);
        rc = payload ? ad__notify(st, a->tenant_id, a->id, AD_ADVISE_READY_TYPE, title, msg,
                                  payload, id, err)
                     : ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0) {
            ev = json_pack("{s:s, s:s, s:s, s:n}", "notification_id", id, "type",
                           AD_ADVISE_READY_TYPE, "agent_id", a->id, "capability");
            rc = ev ? ad_bus_emit(bus, a->tenant_id, AD_TOPIC_NOTIFICATION, ev, NULL, err)
                    : ad_error(err, AD_ENOMEM, "out of memory");
        }
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc == 0 && !yes && notified)
        (*notified)++;
    json_decref(payload);
    json_decref(ev);
    return rc;
}

struct notify_arg {
    struct ad_bus *bus;
    int *notified;
};

static int readiness_agent(struct scope *sc, const struct ad_agent *a, void *arg,
                           struct ad_err *err)
{
    struct notify_arg *na = arg;
    struct ad_readiness r;
    int rc;

    if (a->maturity >= AD_AUTONOMOUS || a->episode_count < READY_MIN_EPISODES)
        return 0;
    rc = ad_readiness_compute(sc->st, sc->tenant_id, a->id, &r, err);
    if (rc < 0 || !r.ready)
        return rc;
    return notify_ready(sc->st, na->bus, a, &r, na->notified, err);
}

int ad_advise_readiness_notify(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                               int *notified, struct ad_err *err)
{
    struct scope sc = { st, tenant_id, NULL, { 0 }, NULL };
    int count = 0;
    struct notify_arg na = { bus, &count };
    int rc = each_agent(&sc, readiness_agent, &na, err);

    if (notified)
        *notified = count;
    return rc;
}

/* An agent ready for its next level and not told yet: the job has work. */
static int candidate_agent(struct scope *sc, const struct ad_agent *a, void *arg,
                           struct ad_err *err)
{
    struct ad_readiness r;
    bool yes = false;
    int rc;

    if (*(bool *)arg || a->maturity >= AD_AUTONOMOUS || a->episode_count < READY_MIN_EPISODES)
        return 0;
    rc = ad_readiness_compute(sc->st, sc->tenant_id, a->id, &r, err);
    if (rc == 0 && r.ready)
        rc = told(sc->st, sc->tenant_id, a->id, ad_maturity_name(r.next), &yes, err);
    if (rc == 0 && r.ready && !yes)
        *(bool *)arg = true;
    return rc;
}

/*
 * Whether this period's readiness job was queued already: its idempotency
 * key would make a second enqueue a no-op, so scoring every agent's
 * readiness again (each worker calls this before each poll) is work for
 * nothing. One indexed read of the newest job of the kind.
 */
static int period_queued(struct ad_store *st, const char *tenant_id, const char *key, bool *yes,
                         struct ad_err *err)
{
    struct ad_job *v = NULL;
    size_t n = 0;
    int rc = ad_jobs_list(st, tenant_id, -1, AD_ADVISE_READINESS_JOB, 1, &v, &n, err);

    *yes = rc == 0 && n == 1 && v[0].idempotency_key && !strcmp(v[0].idempotency_key, key);
    ad_job_list_free(v, n);
    return rc;
}

int ad_advise_schedule(struct ad_store *st, const char *tenant_id, struct ad_err *err)
{
    struct scope sc = { st, tenant_id, NULL, { 0 }, NULL };
    struct ad_jobs *q = NULL;
    char key[64], id[AD_ID_SIZE];
    int64_t period = ad_now_ms() / AD_ADVISE_PERIOD_MS;
    bool any = false, queued = false;
    json_t *payload;
    int rc;

    snprintf(key, sizeof(key), "%s@%lld", AD_ADVISE_READINESS_JOB, (long long)period);
    rc = period_queued(st, tenant_id, key, &queued, err);
    if (rc < 0 || queued)
        return rc;
    rc = each_agent(&sc, candidate_agent, &any, err);
    if (rc < 0 || !any)
        return rc;
    payload = json_pack("{s:I}", "period", (json_int_t)period);
    if (!payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_jobs_new(st, tenant_id, NULL, &q, err);
    if (rc == 0)
        rc = ad_jobs_enqueue(q, AD_ADVISE_READINESS_JOB, payload, key, 0, id, NULL, err);
    ad_jobs_free(q);
    json_decref(payload);
    return rc;
}
