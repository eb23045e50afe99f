/*
 * Failure patterns: learn's own state between a failure and a skill.
 *
 * A pattern is a row (failure_patterns, owned by this module) that groups
 * an agent's similar failures: open while its memento.generate job is
 * queued or running, "candidate" once the job wrote a skill candidate,
 * closed when that candidate failed validation, was approved or rejected,
 * or when its job ended without one. A closed pattern keeps its outcome
 * (which candidate, what happened, why), so a later pattern of the same
 * failures passes the earlier attempts on as "previous" without reading
 * any job's payload. The transitions are here; reflection.c decides when
 * a pattern opens, memento.c and review.c move it along.
 */
#include "compat.h"

#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/store.h"

#include "learn_int.h"

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

int ad__pattern_open(struct ad_store *st, const char *tenant_id, const char *agent_id,
                     const char *task, const char *error_type, const json_t *episode_ids,
                     char id_out[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_failure_pattern p;
    int rc;

    memset(&p, 0, sizeof(p));
    snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", tenant_id);
    snprintf(p.agent_id, sizeof(p.agent_id), "%s", agent_id);
    /* Borrowed for the insert. */
    p.task = (char *)task;
    p.error_type = (char *)(error_type && *error_type ? error_type : NULL);
    p.status = AD_PATTERN_OPEN;
    p.episode_ids = (json_t *)episode_ids;
    rc = ad_store_pattern_insert(st, &p, err);
    if (rc == 0)
        memcpy(id_out, p.id, AD_ID_SIZE);
    return rc;
}

/* Loads pattern id, applies fn's change and writes it back. */
static int pattern_change(struct ad_store *st, const char *tenant_id, const char *id,
                          enum ad_pattern_status status, const char *job_id,
                          const char *candidate_id, json_t *outcome, struct ad_err *err)
{
    struct ad_failure_pattern p;
    int rc;

    memset(&p, 0, sizeof(p));
    rc = ad_store_pattern_get(st, tenant_id, id, &p, err);
    if (rc == 0) {
        p.status = status;
        if (job_id)
            snprintf(p.job_id, sizeof(p.job_id), "%s", job_id);
        if (candidate_id)
            snprintf(p.candidate_id, sizeof(p.candidate_id), "%s", candidate_id);
        if (outcome || status != AD_PATTERN_CLOSED) {
            json_decref(p.outcome);
            p.outcome = json_incref(outcome);
        }
        rc = ad_store_pattern_update(st, &p, err);
    }
    ad_failure_pattern_release(&p);
    return rc;
}

int ad__pattern_set_job(struct ad_store *st, const char *tenant_id, const char *id,
                        const char *job_id, struct ad_err *err)
{
    return pattern_change(st, tenant_id, id, AD_PATTERN_OPEN, job_id, NULL, NULL, err);
}

int ad__pattern_candidate(struct ad_store *st, const char *tenant_id, const char *id,
                          const char *candidate_id, struct ad_err *err)
{
    return pattern_change(st, tenant_id, id, AD_PATTERN_CANDIDATE, NULL, candidate_id, NULL,
                          err);
}

/*
 * Closes pattern id with c's outcome, unless the pattern has moved on: it
 * was asked again (open, with a new job) or names another candidate now.
 */
static int close_for(struct ad_store *st, const struct ad_skill_candidate *c, const char *id,
                     json_t *outcome, struct ad_err *err)
{
    struct ad_failure_pattern p;
    int rc;

    memset(&p, 0, sizeof(p));
    rc = ad_store_pattern_get(st, c->tenant_id, id, &p, err);
    if (rc == 0 && p.status != AD_PATTERN_OPEN &&
        (!p.candidate_id[0] || !strcmp(p.candidate_id, c->id))) {
        p.status = AD_PATTERN_CLOSED;
        snprintf(p.candidate_id, sizeof(p.candidate_id), "%s", c->id);
        json_decref(p.outcome);
        p.outcome = json_incref(outcome);
        rc = ad_store_pattern_update(st, &p, err);
    }
    ad_failure_pattern_release(&p);
    return rc;
}

/*
 * A candidate that names no pattern (written before patterns were rows, or
 * by hand) still leaves its outcome where reflection looks: a closed
 * pattern of its failures.
 */
static int close_orphan(struct ad_store *st, const struct ad_skill_candidate *c,
                        json_t *outcome, struct ad_err *err)
{
    const json_t *fp = c->failure_pattern;
    const json_t *ids = json_object_get(fp, "episode_ids");
    json_t *none = json_is_array(ids) ? NULL : json_array();
    char id[AD_ID_SIZE];
    int rc;

    if (!c->agent_id[0] || !ad_json_str(fp, "task"))
        return 0;   /* nothing to compare a later failure with */
    if (!ids && !none)
        return oom(err);
    rc = ad__pattern_open(st, c->tenant_id, c->agent_id, ad_json_str(fp, "task"),
                          ad_json_str(fp, "error_type"), none ? none : ids, id, err);
    json_decref(none);
    if (rc == 0)
        rc = pattern_change(st, c->tenant_id, id, AD_PATTERN_CLOSED, NULL, c->id, outcome, err);
    return rc;
}

int ad__pattern_close(struct ad_store *st, const struct ad_skill_candidate *c,
                      const char *reason, struct ad_err *err)
{
    const json_t *fp = c->failure_pattern;
    const char *pattern_id = ad_json_str(fp, "pattern_id");
    const char *proposer = ad_json_str(fp, "proposer");
    json_t *outcome = json_pack("{s:s, s:s, s:s, s:s}", "candidate_id", c->id, "status",
                                ad_candidate_status_name(c->status), "reason",
                                reason ? reason : "", "proposer", proposer ? proposer : "llm");
    int rc;

    if (!outcome)
        return oom(err);
    if (pattern_id && ad_id_valid(pattern_id)) {
        rc = close_for(st, c, pattern_id, outcome, err);
        /* A pattern deleted since is no reason to fail a review. */
        if (rc == AD_ENOTFOUND) {
            if (err)
                ad_err_clear(err);
            rc = 0;
        }
    } else {
        rc = close_orphan(st, c, outcome, err);
    }
    json_decref(outcome);
    return rc;
}

int ad__pattern_reopen(struct ad_store *st, const struct ad_skill_candidate *c,
                       char pattern_out[AD_ID_SIZE], struct ad_err *err)
{
    const json_t *fp = c->failure_pattern;
    const char *pattern_id = ad_json_str(fp, "pattern_id");
    int rc;

    if (pattern_id && ad_id_valid(pattern_id)) {
        rc = pattern_change(st, c->tenant_id, pattern_id, AD_PATTERN_OPEN, NULL, NULL, NULL,
                            err);
        if (rc == 0)
            snprintf(pattern_out, AD_ID_SIZE, "%s", pattern_id);
        if (rc != AD_ENOTFOUND)
            return rc;
        if (err)
            ad_err_clear(err);
    }
    return ad__pattern_open(st, c->tenant_id, c->agent_id, ad_json_str(fp, "task"),
                            ad_json_str(fp, "error_type"), json_object_get(fp, "episode_ids"),
                            pattern_out, err);
}

int ad__pattern_job_ended(struct ad_store *st, const struct ad_failure_pattern *p,
                          enum ad_job_status job_status, struct ad_err *err)
{
    json_t *outcome = json_pack("{s:s, s:s}", "job_id", p->job_id, "job_status",
                                p->job_id[0] ? ad_job_status_name(job_status) : "none");
    int rc;

    if (!outcome)
        return oom(err);
    rc = pattern_change(st, p->tenant_id, p->id, AD_PATTERN_CLOSED, NULL, NULL, outcome, err);
    json_decref(outcome);
    return rc;
}
