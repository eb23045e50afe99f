/*
 * The advisor: guidance from the store, and the readiness notifications.
 *
 * ad_advise() reads what the learning loops left behind through the owning
 * modules' APIs (the catalog's executions, learn's mutations, variants and
 * candidates, the llm ledger, the gates, graduation) and turns it into
 * facts. Each fact is an object:
 *
 *   {"kind", "subject", "severity": "high"|"warn"|"info", "summary",
 *    "numbers": {...the numbers behind it...}, "command": "autodev ..."}
 *
 * kinds: skill_failure_rate, mutation_acceptance, fitness_plateau,
 * cost_per_improvement, limit_hit, gate_blocked, graduation_ready,
 * graduation_close. The facts come from one table of collectors in
 * advise.c; a new source (the evolution runs of research mode) is one row
 * there. Facts are ordered high, warn, info, each kind in table order.
 *
 * The readiness notifications: an agent ready for its next maturity level
 * (graduation.c's rules) gets one notification of type
 * AD_ADVISE_READY_TYPE per level, written by the advise.readiness job. The
 * check and the write share one write transaction, so two workers running
 * the job at once write one notification; after a graduation the next
 * level notifies again.
 */
#ifndef AUTODEV_ADVISE_H
#define AUTODEV_ADVISE_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/advise.h belongs to module learn (layer 5), above the module including it"
#endif

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/error.h"

struct ad_bus;
struct ad_llm;
struct ad_store;

#define AD_ADVISE_READINESS_JOB "advise.readiness"
#define AD_ADVISE_READY_TYPE "auto_dev_graduation_ready"
/* One readiness check per period and tenant at most (the job's key). */
#define AD_ADVISE_PERIOD_MS (3600 * 1000)

/* Thresholds of the facts. */
#define AD_ADVISE_MIN_RUNS 5            /* runs before a failure rate counts */
#define AD_ADVISE_FAIL_WARN 0.2         /* failure rate: warn at, high at FAIL_HIGH */
#define AD_ADVISE_FAIL_HIGH 0.5
#define AD_ADVISE_ACCEPT_MIN 10         /* evaluated mutations before a low rate warns */
#define AD_ADVISE_ACCEPT_LOW 0.1
#define AD_ADVISE_PLATEAU_RUNS 5        /* scored variants without a gain of PLATEAU_GAIN */
#define AD_ADVISE_PLATEAU_GAIN 0.01
#define AD_ADVISE_LIMIT_WARN 0.8        /* share of a daily limit used */
#define AD_ADVISE_CLOSE_SCORE 0.6       /* readiness score of an agent "close" */

/*
 * The advice for tenant_id: agent (a name or an id; NULL: every agent)
 * narrows the facts about agents, skills' runs and mutations to it; the
 * ledger and the daily limits are the tenant's either way. *out gets
 * {"agent": name|null, "generated_at", "facts": [...], "counts":
 * {"high", "warn", "info"}} (a new reference). AD_ENOTFOUND for an
 * unknown agent.
 */
int ad_advise(struct ad_store *st, const char *tenant_id, const char *agent, json_t **out,
              struct ad_err *err);
/* The advice as text: one block per fact (severity, kind, subject, summary, numbers, command). */
int ad_advise_text(const json_t *advice, struct ad_buf *out, struct ad_err *err);
/*
 * A model's summary of advice (the facts as JSON in the prompt, nothing
 * else: no settings, no secrets). *summary (free()) gets the reply's text,
 * masked by the llm module like every reply.
 */
int ad_advise_summarize(struct ad_llm *llm, const json_t *advice, char **summary,
                        struct ad_err *err);

/*
 * Notifies every agent of the tenant that is ready for its next level and
 * has not been told for that level; *notified (may be NULL) gets how many.
 * Each notification is written with its notification event in one write
 * transaction that first looks for an earlier one.
 */
int ad_advise_readiness_notify(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                               int *notified, struct ad_err *err);
/*
 * Queues this period's advise.readiness job when an agent of the tenant
 * is ready for its next level and was not told (only agents with the
 * episodes the lowest level needs are scored); its key
 * (advise.readiness@PERIOD) makes a second call in the period a no-op.
 * The runtime's schedule calls it.
 */
int ad_advise_schedule(struct ad_store *st, const char *tenant_id, struct ad_err *err);

#endif
