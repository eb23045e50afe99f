/*
 * Graduation: how ready an agent is for the next maturity level, and the
 * promotion when it is.
 *
 * readiness = 0.4 x episode score + 0.3 x intervention score
 *           + 0.3 x constitutional score, each score in 0..1:
 *   episodes        min(1, episodes / target)
 *   intervention    (1 - rate) / (1 - target), clamped; 0 with no episodes
 *   constitutional  mean / target, clamped; 0 with no scored episode
 * The agent is ready when every criterion of the next level holds (the
 * score alone does not promote: a perfect record of 3 episodes is not 10).
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autodev/agent.h"
#include "autodev/learn.h"
#include "autodev/store.h"

/* The reference targets of each level one can graduate to. */
static const struct target {
    double episodes;
    double max_intervention;   /* rate must stay below */
    double min_constitutional; /* mean must exceed */
} targets[] = {
    [AD_INTERN] = { 10, 0.50, 0.70 },
    [AD_SUPERVISED] = { 25, 0.20, 0.85 },
    [AD_AUTONOMOUS] = { 50, 0.05, 0.95 },
};

static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

int ad_readiness_compute(struct ad_store *st, const char *tenant_id, const char *agent_id,
                         struct ad_readiness *r, struct ad_err *err)
{
    struct ad_agent a = { 0 };
    struct ad_readiness_item *it;
    const struct target *t;
    double rate;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = ad_agents_get(st, tenant_id, agent_id, &a, err);
    if (rc == 0)
        rc = ad_agents_record(st, tenant_id, agent_id, &r->record, err);
    r->current = a.maturity;   /* before the release, which zeroes a */
    ad_agent_release(&a);
    if (rc < 0)
        return rc;
    r->at_top = r->current >= AD_AUTONOMOUS;
    r->next = r->at_top ? r->current : (enum ad_maturity)(r->current + 1);
    t = &targets[r->at_top ? AD_AUTONOMOUS : r->next];

    it = &r->items[0];
    it->name = "episodes";
    it->op = ">=";
    it->value = (double)r->record.episodes;
    it->target = t->episodes;
    it->weight = AD_READINESS_W_EPISODES;
    it->score = clamp01(it->value / it->target);
    it->met = it->value >= it->target;
    if (!it->met)
        snprintf(it->gap, sizeof(it->gap), "%lld more episodes (%lld of %.0f)",
                 (long long)(t->episodes - (double)r->record.episodes),
                 (long long)r->record.episodes, t->episodes);

    it = &r->items[1];
    rate = r->record.episodes ? (double)r->record.interventions / (double)r->record.episodes
                              : NAN;
    it->name = "intervention_rate";
    it->op = "<";
    it->value = rate;
    it->target = t->max_intervention;
    it->weight = AD_READINESS_W_INTERVENTION;
    it->score = isnan(rate) ? 0 : clamp01((1 - rate) / (1 - t->max_intervention));
    it->met = !isnan(rate) && rate < t->max_intervention;
    if (isnan(rate))
        snprintf(it->gap, sizeof(it->gap), "no episodes yet, so no intervention rate");
    else if (!it->met)
        snprintf(it->gap, sizeof(it->gap), "intervention rate %.1f%% must fall below %.0f%%",
                 rate * 100, t->max_intervention * 100);

    it = &r->items[2];
    it->name = "constitutional";
    it->op = ">";
    it->value = r->record.constitutional_n ? r->record.constitutional_mean : NAN;
    it->target = t->min_constitutional;
    it->weight = AD_READINESS_W_CONSTITUTIONAL;
    it->score = isnan(it->value) ? 0 : clamp01(it->value / it->target);
    it->met = !isnan(it->value) && it->value > it->target;
    if (isnan(it->value))
        snprintf(it->gap, sizeof(it->gap), "no episode has a constitutional score yet");
    else if (!it->met)
        snprintf(it->gap, sizeof(it->gap), "constitutional score %.3f must exceed %.2f",
                 it->value, t->min_constitutional);

    r->ready = !r->at_top;
    for (int i = 0; i < 3; i++) {
        r->score += r->items[i].weight * r->items[i].score;
        r->ready = r->ready && r->items[i].met;
    }
    return 0;
}

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

json_t *ad_readiness_json(const struct ad_readiness *r)
{
    json_t *items = json_array();
    json_t *o;

    for (int i = 0; items && i < 3; i++) {
        const struct ad_readiness_item *it = &r->items[i];

        if (json_array_append_new(items,
                                  json_pack("{s:s, s:o, s:f, s:s, s:b, s:f, s:f, s:s?}",
                                            "name", it->name, "value", num_or_null(it->value),
                                            "target", it->target, "op", it->op, "met", it->met,
                                            "score", it->score, "weight", it->weight, "gap",
                                            it->met ? NULL : it->gap)) < 0) {
            json_decref(items);
            return NULL;
        }
    }
    if (!items)
        return NULL;
    o = json_pack("{s:s, s:s?, s:b, s:f, s:b, s:I, s:I, s:o}", "maturity",
                  ad_maturity_name(r->current), "next",
                  r->at_top ? NULL : ad_maturity_name(r->next), "at_top", r->at_top, "score",
                  r->score, "ready", r->ready, "episodes", (json_int_t)r->record.episodes,
                  "interventions", (json_int_t)r->record.interventions, "criteria", items);
    return o;
}

int ad_agent_graduate(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                      const char *agent_id, struct ad_readiness *r, struct ad_err *err)
{
    char why[512];
    size_t off;
    int rc;

    rc = ad_readiness_compute(st, tenant_id, agent_id, r, err);
    if (rc < 0)
        return rc;
    if (r->at_top)
        return ad_error(err, AD_ESTATE, "agent is already AUTONOMOUS, the top level");
    if (!r->ready) {
        off = (size_t)snprintf(why, sizeof(why), "agent is not ready for %s",
                               ad_maturity_name(r->next));
        for (int i = 0, first = 1; i < 3 && off < sizeof(why); i++) {
            if (r->items[i].met)
                continue;
            off += (size_t)snprintf(why + off, sizeof(why) - off, "%s%s", first ? ": " : "; ",
                                    r->items[i].gap);
            first = 0;
        }
        return ad_error(err, AD_ESTATE, "%s", why);
    }
    snprintf(why, sizeof(why),
             "graduated: readiness %.1f%%; %lld episodes (>= %.0f), intervention rate %.1f%% "
             "(< %.0f%%), constitutional %.3f (> %.2f)",
             r->score * 100, (long long)r->record.episodes, r->items[0].target,
             r->items[1].value * 100, r->items[1].target * 100, r->items[2].value,
             r->items[2].target);
    return ad_agent_change_maturity(st, bus, tenant_id, agent_id, r->next, why, NULL, err);
}
