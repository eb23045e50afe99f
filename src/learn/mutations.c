/*
 * AlphaEvolver's tool mutations: the owner API the engine writes through
 * (fitness.h). Module learn owns tool_mutations; the review of a mutation
 * (approve, reject) is in review.c with the other reviewable rows.
 *
 * A write of the engine's runs under its job's lease: the transaction
 * first holds the lease (ad_jobs_lease_hold), so a worker whose job was
 * taken over writes nothing, and the row, its event, the capability usage
 * and the reviewers' notification commit together or not at all.
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/bus.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/settings.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "learn_int.h"

/* What the reviewers' message quotes of the decision's reason, at most. */
#define REASON_QUOTE_MAX 300

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

/* A fixed id field as the JSON of an event: NULL ("null") when none. */
static const char *opt(const char *id)
{
    return id[0] ? id : NULL;
}

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static int emit(struct ad_bus *bus, const char *tenant_id, const char *topic, json_t *ev,
                struct ad_err *err)
{
    int rc;

    if (!bus) {
        json_decref(ev);
        return 0;
    }
    rc = ev ? ad_bus_emit(bus, tenant_id, topic, ev, NULL, err) : oom(err);
    json_decref(ev);
    return rc;
}

/* ---- create ------------------------------------------------------------------ */

static int emit_created(struct ad_bus *bus, const struct ad_tool_mutation *m,
                        struct ad_err *err)
{
    return emit(bus, m->tenant_id, AD_TOPIC_MUTATION_CREATED,
                json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i, s:s?, s:s?}", "mutation_id", m->id,
                          "skill", m->tool_name ? m->tool_name : "", "skill_id", opt(m->skill_id),
                          "skill_version_id", opt(m->parent_skill_version_id), "job_id",
                          opt(m->job_id), "mutant_index", m->mutant_index, "trigger",
                          m->trigger, "proposer", m->proposer),
                err);
}

int ad_mutations_create(struct ad_store *st, struct ad_bus *bus, struct ad_tool_mutation *m,
                        struct ad_job_lease *lease, struct ad_err *err)
{
    struct ad_settings s;
    int depth0 = ad_store_tx_depth(st);
    int rc = ad_store_begin(st, err);

    if (rc < 0)
        return rc;
    rc = ad_jobs_lease_hold(lease, st, err);
    if (rc == 0)
        rc = ad_settings_get(st, m->tenant_id, &s, err);
    if (rc == 0)
        rc = ad_store_mutation_insert(st, m, s.max_mutations_per_day, err);
    if (rc == 0 && m->agent_id[0])
        rc = ad_gate_record_usage(st, m->tenant_id, m->agent_id, AD_CAP_ALPHA, true, err);
    if (rc == 0)
        rc = emit_created(bus, m, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0) {
        if (ad_store_tx_depth(st) > depth0)
            ad_store_rollback(st);
        m->id[0] = m->created_at[0] = '\0';
    }
    return rc;
}

/* ---- save -------------------------------------------------------------------- */

static const char *risk_level(const struct ad_tool_mutation *m)
{
    return ad_json_str(m->risk, "level");
}

static int emit_evaluated(struct ad_bus *bus, const struct ad_tool_mutation *m,
                          struct ad_err *err)
{
    return emit(bus, m->tenant_id, AD_TOPIC_MUTATION_EVALUATED,
                json_pack("{s:s, s:s, s:s, s:s?, s:o, s:s?}", "mutation_id", m->id, "skill",
                          m->tool_name ? m->tool_name : "", "decision",
                          ad_mutation_decision_name(m->decision), "reason", m->decision_reason,
                          "fitness_delta", num_or_null(m->fitness_delta), "risk_level",
                          risk_level(m)),
                err);
}

/* The gain as the reviewers read it: "+0.120", or "unknown". */
static void gain_text(double delta, char *out, size_t size)
{
    if (isnan(delta))
        snprintf(out, size, "unknown");
    else
        snprintf(out, size, "%+.3f", delta);
}

/* The notification that a won mutation waits for a reviewer. */
static int notify_ready(struct ad_store *st, const struct ad_tool_mutation *m,
                        struct ad_err *err)
{
    const char *skill = m->tool_name ? m->tool_name : "?";
    const char *level = risk_level(m);
    char title[AD_NOTIFY_TITLE_MAX], gain[32];
    json_t *payload;
    char *msg;
    int rc;

    gain_text(m->fitness_delta, gain, sizeof(gain));
    snprintf(title, sizeof(title), "Mutation of %s is ready for review", skill);
    msg = ad_strdupf("Mutant %d of %s won: fitness delta %s, risk %s.%s%.*s Review it: "
                     "autodev mutations show %s", m->mutant_index, skill, gain,
                     level ? level : "unknown", m->decision_reason ? " " : "",
                     REASON_QUOTE_MAX, m->decision_reason ? m->decision_reason : "", m->id);
    payload = json_pack("{s:s, s:s, s:o, s:s?}", "mutation_id", m->id, "skill", skill,
                        "fitness_delta", num_or_null(m->fitness_delta), "risk_level", level);
    rc = msg && payload ? ad__notify(st, m->tenant_id, m->agent_id, "mutation_ready", title, msg,
                                     payload, NULL, err)
                        : oom(err);
    free(msg);
    json_decref(payload);
    return rc;
}

static bool ready(enum ad_mutation_decision d, enum ad_review_status r)
{
    return d == AD_DECISION_WON && r == AD_REVIEW_PENDING;
}

int ad_mutations_save(struct ad_store *st, struct ad_bus *bus, const struct ad_tool_mutation *m,
                      struct ad_job_lease *lease, struct ad_err *err)
{
    struct ad_tool_mutation old;
    int depth0 = ad_store_tx_depth(st);
    int rc;

    ad_tool_mutation_init(&old);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_jobs_lease_hold(lease, st, err);
    /* What the row held before tells which events this save makes. */
    if (rc == 0)
        rc = ad_store_mutation_get(st, m->tenant_id, m->id, &old, err);
    if (rc == 0)
        rc = ad_store_mutation_update(st, m, err);
    if (rc == 0 && old.decision == AD_DECISION_NONE && m->decision != AD_DECISION_NONE)
        rc = emit_evaluated(bus, m, err);
    if (rc == 0 && ready(m->decision, m->review_status) &&
        !ready(old.decision, old.review_status))
        rc = notify_ready(st, m, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    ad_tool_mutation_release(&old);
    return rc;
}

/* ---- reading ----------------------------------------------------------------- */

int ad_mutations_get(struct ad_store *st, const char *tenant_id, const char *id,
                     struct ad_tool_mutation *out, struct ad_err *err)
{
    return ad_store_mutation_get(st, tenant_id, id, out, err);
}

int ad_mutations_list(struct ad_store *st, const char *tenant_id,
                      const struct ad_mutation_filter *f, struct ad_tool_mutation **out,
                      size_t *n, struct ad_err *err)
{
    return ad_store_mutation_list(st, tenant_id, f, out, n, err);
}

int ad_mutations_lineage(struct ad_store *st, const char *tenant_id, const char *id,
                         struct ad_tool_mutation **out, size_t *n, struct ad_err *err)
{
    return ad_store_mutation_lineage(st, tenant_id, id, out, n, err);
}
