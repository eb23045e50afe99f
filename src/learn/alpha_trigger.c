/*
 * AlphaEvolver's triggers (alpha.h): a skill execution that was slow,
 * costly or failed queues one alpha.mutate job for its skill version; the
 * background schedule queues jobs for an AUTONOMOUS agent's most-used
 * skills. The rule "one open job per skill version" is checked in the
 * transaction that queues, so two triggers at once queue one job.
 */
#include "compat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/log.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#define OPEN_SCAN 1000          /* open alpha jobs looked at for a duplicate */
#define BACKGROUND_AGENTS 1000  /* agents looked at by one background run */

static const char *const trigger_names[] = {
    [AD_TRIGGER_LATENCY] = "latency",  [AD_TRIGGER_TOKENS] = "tokens",
    [AD_TRIGGER_FAILURE] = "failure",  [AD_TRIGGER_BACKGROUND] = "background",
    [AD_TRIGGER_MANUAL] = "manual",
};

const char *ad_alpha_trigger_name(enum ad_alpha_trigger t)
{
    return (unsigned)t < AD_ARRAY_SIZE(trigger_names) ? trigger_names[t] : NULL;
}

int ad_alpha_trigger_parse(const char *s, enum ad_alpha_trigger *out)
{
    for (size_t i = 0; s && i < AD_ARRAY_SIZE(trigger_names); i++) {
        if (!strcmp(s, trigger_names[i])) {
            *out = (enum ad_alpha_trigger)i;
            return 0;
        }
    }
    return AD_EINVAL;
}

/* The open (queued or running) alpha.mutate job of version_id, if any, into id_out. */
static int open_job(struct ad_store *st, const char *tenant_id, const char *version_id,
                    char id_out[AD_ID_SIZE], bool *found, struct ad_err *err)
{
    static const enum ad_job_status open[] = { AD_JOB_QUEUED, AD_JOB_RUNNING };
    int rc = 0;

    *found = false;
    for (size_t k = 0; rc == 0 && !*found && k < AD_ARRAY_SIZE(open); k++) {
        struct ad_job *v = NULL;
        size_t n = 0;

        rc = ad_jobs_list(st, tenant_id, open[k], AD_ALPHA_JOB, OPEN_SCAN, &v, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const char *ver = ad_json_str(v[i].payload, "skill_version_id");

            if (ver && !strcmp(ver, version_id)) {
                memcpy(id_out, v[i].id, AD_ID_SIZE);
                *found = true;
                break;
            }
        }
        ad_job_list_free(v, n);
    }
    return rc;
}

/* Queues the job unless one is open for the version: in one transaction. */
static int enqueue(struct ad_store *st, const char *tenant_id, json_t *payload,
                   char job_id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_jobs_options jo = { 0 };
    struct ad_jobs *q = NULL;
    const char *version_id = ad_json_str(payload, "skill_version_id");
    int depth0 = ad_store_tx_depth(st);
    bool found = false;
    int rc = ad_store_begin(st, err);

    if (rc < 0)
        return rc;
    rc = open_job(st, tenant_id, version_id, job_id, &found, err);
    if (rc == 0 && found)
        rc = ad_error(err, AD_EEXIST, "an alpha.mutate job is already open for this skill "
                                      "version: %s", job_id);
    jo.max_attempts = AD_ALPHA_MAX_ATTEMPTS;
    if (rc == 0)
        rc = ad_jobs_new(st, tenant_id, &jo, &q, err);
    if (rc == 0)
        rc = ad_jobs_enqueue(q, AD_ALPHA_JOB, payload, NULL, 0, job_id, NULL, err);
    ad_jobs_free(q);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    return rc;
}

static json_t *job_payload(const char *version_id, const char *agent_id,
                           enum ad_alpha_trigger trigger, const char *execution_id)
{
    json_t *p = json_pack("{s:s, s:s}", "skill_version_id", version_id, "trigger",
                          ad_alpha_trigger_name(trigger));

    if (p && agent_id && *agent_id)
        json_object_set_new(p, "agent_id", json_string(agent_id));
    if (p && execution_id && *execution_id)
        json_object_set_new(p, "execution_id", json_string(execution_id));
    return p;
}

/* Asks the gate: 0 allowed, AD_EPERM naming every reason when denied, < 0 when it could not run. */
static int gate(struct ad_store *st, const char *tenant_id, const char *agent_id,
                enum ad_capability cap, struct ad_err *err)
{
    struct ad_gate_decision d;
    char why[1024];
    int rc = ad_gate_check(st, tenant_id, agent_id, cap, &d, err);

    if (rc < 0 || d.allowed)
        return rc;
    ad_gate_describe(&d, why, sizeof(why));
    return ad_error(err, AD_EPERM, "%s %s", ad_capability_name(cap), why);
}

/* A denial is no error for a trigger: said at debug level, nothing queued. */
static int denied_quietly(int rc, const char *agent_id, struct ad_err *err)
{
    if (rc != AD_EPERM)
        return rc;
    AD_LOG(AD_LOG_DEBUG, "alpha: agent %s: %s", agent_id, err->msg);
    ad_err_clear(err);
    return 1;
}

int ad_alpha_enqueue(struct ad_store *st, const char *tenant_id, const char *version_id,
                     const char *agent_id, enum ad_alpha_trigger trigger,
                     char job_id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_skill_version v = { 0 };
    json_t *payload;
    int rc;

    job_id[0] = '\0';
    if (!version_id || !ad_id_valid(version_id))
        return ad_error(err, AD_EINVAL, "not a skill version id: '%s'", version_id ? version_id : "");
    rc = ad_catalog_version_get(st, tenant_id, version_id, &v, err);
    ad_skill_version_release(&v);
    if (rc < 0)
        return rc;
    if (agent_id && *agent_id) {
        rc = gate(st, tenant_id, agent_id, AD_CAP_ALPHA, err);
        if (rc < 0)
            return rc;
    }
    payload = job_payload(version_id, agent_id, trigger, NULL);
    if (!payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = enqueue(st, tenant_id, payload, job_id, err);
    json_decref(payload);
    return rc;
}

/* Which trigger, if any, an execution's payload meets under settings s. */
static int which_trigger(const json_t *p, const struct ad_settings *s,
                         enum ad_alpha_trigger *out)
{
    const char *status = ad_json_str(p, "status");
    json_t *secs = json_object_get(p, "execution_seconds");
    json_t *tokens = json_object_get(p, "token_usage");
    bool success = json_is_true(json_object_get(p, "success"));

    /* The sandbox failing is the machine's failure, not the skill's. */
    if (!success && s->evolution_on_failure && !(status && !strcmp(status, "sandbox_error"))) {
        *out = AD_TRIGGER_FAILURE;
        return 1;
    }
    if (json_is_number(secs) && isfinite(json_number_value(secs)) &&
        json_number_value(secs) * 1000.0 > (double)s->evolution_latency_ms) {
        *out = AD_TRIGGER_LATENCY;
        return 1;
    }
    if (json_is_integer(tokens) && json_integer_value(tokens) > s->evolution_tokens) {
        *out = AD_TRIGGER_TOKENS;
        return 1;
    }
    return 0;
}

int ad_alpha_on_execution(struct ad_store *st, const struct ad_bus_event *ev, int *queued,
                          struct ad_err *err)
{
    const char *version_id = ad_json_str(ev->payload, "skill_version_id");
    const char *agent_id = ad_json_str(ev->payload, "agent_id");
    struct ad_settings s;
    enum ad_alpha_trigger t;
    char job_id[AD_ID_SIZE];
    json_t *payload;
    int rc;

    if (queued)
        *queued = 0;
    if (!version_id || !ad_id_valid(version_id))
        return ad_error(err, AD_EINVAL, "skill.execution event without a valid skill_version_id");
    /* Evolution is earned by an agent's maturity: a run without one has no gate to pass. */
    if (!agent_id || !ad_id_valid(agent_id))
        return 0;
    rc = ad_settings_get(st, ev->tenant_id, &s, err);
    if (rc < 0)
        return rc;
    if (!s.enabled || !s.alpha_evolver || !which_trigger(ev->payload, &s, &t))
        return 0;
    rc = denied_quietly(gate(st, ev->tenant_id, agent_id, AD_CAP_ALPHA, err), agent_id, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    payload = job_payload(version_id, agent_id, t, ad_json_str(ev->payload, "execution_id"));
    if (!payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = enqueue(st, ev->tenant_id, payload, job_id, err);
    json_decref(payload);
    if (rc == AD_EEXIST) {
        ad_err_clear(err);
        return 0;
    }
    if (rc == 0 && queued)
        *queued = 1;
    if (rc == 0)
        AD_LOG(AD_LOG_INFO, "alpha: %s trigger on skill version %s: job %s queued",
               ad_alpha_trigger_name(t), version_id, job_id);
    return rc;
}

/* ---- the background schedule ------------------------------------------------------- */

static int64_t period_ms(const struct ad_settings *s)
{
    return (int64_t)s->evolution_background_hours * 3600 * 1000;
}

/* Queues the background run of period idx (its key makes a second one a no-op). */
static int schedule_period(struct ad_store *st, const char *tenant_id, int64_t idx,
                           int64_t delay_ms, struct ad_err *err)
{
    struct ad_jobs_options jo = { 0 };
    struct ad_jobs *q = NULL;
    char key[64], id[AD_ID_SIZE];
    json_t *payload = json_pack("{s:I}", "period", (json_int_t)idx);
    int rc;

    if (!payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    snprintf(key, sizeof(key), "%s@%lld", AD_ALPHA_BACKGROUND_JOB, (long long)idx);
    jo.max_attempts = AD_ALPHA_MAX_ATTEMPTS;
    rc = ad_jobs_new(st, tenant_id, &jo, &q, err);
    if (rc == 0)
        rc = ad_jobs_enqueue(q, AD_ALPHA_BACKGROUND_JOB, payload, key, delay_ms, id, NULL, err);
    ad_jobs_free(q);
    json_decref(payload);
    return rc;
}

int ad_alpha_schedule(struct ad_store *st, const char *tenant_id, struct ad_err *err)
{
    struct ad_settings s;
    int rc = ad_settings_get(st, tenant_id, &s, err);

    if (rc < 0 || !s.enabled || !s.background_evolution)
        return rc;
    return schedule_period(st, tenant_id, ad_now_ms() / period_ms(&s), 0, err);
}

/* The agent's most-used current skill versions: alpha.mutate jobs for them. */
static int background_agent(struct ad_store *st, const char *tenant_id, const struct ad_agent *a,
                            const struct ad_settings *s, int *queued, struct ad_err *err)
{
    char (*ids)[AD_ID_SIZE] = calloc((size_t)s->evolution_background_skills, AD_ID_SIZE);
    char since[AD_TIME_SIZE], job_id[AD_ID_SIZE];
    size_t n = 0;
    int rc;

    if (!ids)
        return ad_error(err, AD_ENOMEM, "out of memory");
    ad_time_iso(ad_now_ms() - period_ms(s), since);
    rc = ad_skill_usage_top(st, tenant_id, a->id, since, s->evolution_background_skills, ids, &n,
                            err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *payload = job_payload(ids[i], a->id, AD_TRIGGER_BACKGROUND, NULL);

        rc = payload ? enqueue(st, tenant_id, payload, job_id, err)
                     : ad_error(err, AD_ENOMEM, "out of memory");
        json_decref(payload);
        if (rc == AD_EEXIST) {
            ad_err_clear(err);
            rc = 0;
        } else if (rc == 0) {
            (*queued)++;
        }
    }
    free(ids);
    return rc;
}

int ad_alpha_background(struct ad_store *st, const char *tenant_id, int *queued,
                        struct ad_err *err)
{
    struct ad_settings s;
    struct ad_agent *v = NULL;
    size_t n = 0;
    int64_t now = ad_now_ms();
    int rc;

    *queued = 0;
    rc = ad_settings_get(st, tenant_id, &s, err);
    if (rc < 0 || !s.enabled || !s.background_evolution)
        return rc;
    rc = ad_agents_list(st, tenant_id, NULL, BACKGROUND_AGENTS, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (v[i].maturity != AD_AUTONOMOUS)
            continue;
        rc = denied_quietly(gate(st, tenant_id, v[i].id, AD_CAP_BACKGROUND, err), v[i].id, err);
        if (rc == 0)
            rc = background_agent(st, tenant_id, &v[i], &s, queued, err);
        else if (rc > 0)
            rc = 0;
    }
    ad_agent_list_free(v, n);
    /* The next period's run: the schedule keeps itself going while the setting is on. */
    if (rc == 0) {
        int64_t p = period_ms(&s), next = now / p + 1;

        rc = schedule_period(st, tenant_id, next, next * p - now, err);
    }
    return rc;
}
