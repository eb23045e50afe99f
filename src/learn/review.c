/*
 * The human review queue: what a reviewer decides about what the learning
 * loops produced. Skill candidates (Memento) go through it now, the
 * mutations of AlphaEvolver will next; the rules they share (a rejection
 * needs a reason, who decided and when, the event in the same transaction
 * as the decision, the notifications about the row read by the decision)
 * live in ad__review_stamp and in the shape of each decision below, so the
 * second loop adds rows, not rules.
 *
 * Module learn owns the skill_candidates table: the faces read candidates
 * through ad_candidates_get/list.
 */
#include "compat.h"

#include "autodev/bus.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "learn_int.h"

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

int ad__review_stamp(enum ad_review_status decision, const char *reviewer, const char *reason,
                     enum ad_review_status *status, char **reviewed_by,
                     char reviewed_at[AD_TIME_SIZE], char **reason_out, struct ad_err *err)
{
    char *who, *why = NULL;

    if (decision == AD_REVIEW_REJECTED && (!reason || !*reason))
        return ad_error(err, AD_EINVAL, "a rejection needs a reason");
    who = strdup(reviewer && *reviewer ? reviewer : "unknown");
    if (decision == AD_REVIEW_REJECTED)
        why = strdup(reason);
    if (!who || (decision == AD_REVIEW_REJECTED && !why)) {
        free(who);
        free(why);
        return oom(err);
    }
    *status = decision;
    free(*reviewed_by);
    *reviewed_by = who;
    ad_time_now(reviewed_at);
    if (why) {
        free(*reason_out);
        *reason_out = why;
    }
    return 0;
}

/* ---- reading the queue ------------------------------------------------------------- */

int ad_candidates_get(struct ad_store *st, const char *tenant_id, const char *id,
                      struct ad_skill_candidate *out, struct ad_err *err)
{
    return ad_store_candidate_get(st, tenant_id, id, out, err);
}

int ad_candidates_list(struct ad_store *st, const char *tenant_id,
                       const struct ad_candidate_filter *f, struct ad_skill_candidate **out,
                       size_t *n, struct ad_err *err)
{
    return ad_store_candidate_list(st, tenant_id, f, out, n, err);
}

/* ---- decisions on skill candidates ------------------------------------------------- */

/* The candidate event of a review, in the caller's transaction. */
static int emit_review(struct ad_bus *bus, const struct ad_skill_candidate *c, const char *topic,
                       json_t *extra, struct ad_err *err)
{
    json_t *ev = json_pack("{s:s, s:s, s:s?, s:s?}", "candidate_id", c->id, "skill_name",
                           c->skill_name, "reviewed_by", c->reviewed_by, "reason", c->reason);
    int rc;

    if (ev && extra)
        json_object_update(ev, extra);
    json_decref(extra);
    if (!bus) {
        json_decref(ev);
        return 0;
    }
    rc = ev ? ad_bus_emit(bus, c->tenant_id, topic, ev, NULL, err) : oom(err);
    json_decref(ev);
    return rc;
}

/* Adds candidate c to the catalog: 1.0.0, or the next major of a skill of that name. */
static int promote(struct ad_store *st, const struct ad_skill_candidate *c,
                   struct ad_skill *sk, struct ad_skill_version *v, struct ad_err *err)
{
    struct ad_skill_add a = { 0 };
    char entry[AD_ENTRY_MAX + 1];

    if (ad_memento_entry(c->generated_code, entry, sizeof(entry)) < 0)
        return ad_error(err, AD_ESTATE, "candidate %s has no top-level function", c->id);
    a.tenant_id = c->tenant_id;
    a.name = c->skill_name;
    a.description = c->skill_description;
    a.entry = entry;
    a.code = c->generated_code;
    a.bump = AD_BUMP_MAJOR;
    a.origin = AD_ORIGIN_MEMENTO;
    a.origin_id = c->id;
    return ad_catalog_add(st, &a, sk, v, err);
}

int ad_memento_approve(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                       const char *candidate_id, const char *reviewer, struct ad_skill *skill,
                       struct ad_skill_version *version, struct ad_err *err)
{
    struct ad_skill_candidate c;
    struct ad_skill sk = { 0 };
    struct ad_skill_version v = { 0 };
    int depth0 = ad_store_tx_depth(st);
    int rc;

    ad_skill_candidate_init(&c);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_candidate_get(st, tenant_id, candidate_id, &c, err);
    if (rc == 0 && c.status != AD_CAND_VALIDATED)
        rc = ad_error(err, AD_ESTATE, "candidate %s is %s; only a validated candidate can be "
                      "approved", candidate_id, ad_candidate_status_name(c.status));
    if (rc == 0)
        rc = promote(st, &c, &sk, &v, err);
    if (rc == 0)
        rc = ad__review_stamp(AD_REVIEW_APPROVED, reviewer, NULL, &c.review_status,
                              &c.reviewed_by, c.reviewed_at, &c.reason, err);
    if (rc == 0) {
        c.status = AD_CAND_PROMOTED;
        memcpy(c.promoted_at, c.reviewed_at, sizeof(c.promoted_at));
        rc = ad_store_candidate_update(st, &c, err);
    }
    if (rc == 0)
        rc = ad__pattern_close(st, &c, NULL, err);
    if (rc == 0)
        rc = ad__notifications_read_candidate(st, tenant_id, c.id, err);
    if (rc == 0)
        rc = emit_review(bus, &c, AD_TOPIC_MEMENTO_PROMOTED,
                         json_pack("{s:s, s:s, s:s}", "skill_id", sk.id, "version_id", v.id,
                                   "semver", v.semver), err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc == 0 && skill) {
        *skill = sk;
        memset(&sk, 0, sizeof(sk));
    }
    if (rc == 0 && version) {
        *version = v;
        memset(&v, 0, sizeof(v));
    }
    ad_skill_release(&sk);
    ad_skill_version_release(&v);
    ad_skill_candidate_release(&c);
    return rc;
}

int ad_memento_reject(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                      const char *candidate_id, const char *reviewer, const char *reason,
                      struct ad_err *err)
{
    struct ad_skill_candidate c;
    int depth0 = ad_store_tx_depth(st);
    int rc;

    if (!reason || !*reason)
        return ad_error(err, AD_EINVAL, "a rejection needs a reason");
    ad_skill_candidate_init(&c);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_candidate_get(st, tenant_id, candidate_id, &c, err);
    if (rc == 0 && (c.status == AD_CAND_PROMOTED || c.status == AD_CAND_REJECTED))
        rc = ad_error(err, AD_ESTATE, "candidate %s is already %s", candidate_id,
                      ad_candidate_status_name(c.status));
    if (rc == 0)
        rc = ad__review_stamp(AD_REVIEW_REJECTED, reviewer, reason, &c.review_status,
                              &c.reviewed_by, c.reviewed_at, &c.reason, err);
    if (rc == 0) {
        c.status = AD_CAND_REJECTED;
        rc = ad_store_candidate_update(st, &c, err);
    }
    if (rc == 0)
        rc = ad__pattern_close(st, &c, c.reason, err);
    if (rc == 0)
        rc = ad__notifications_read_candidate(st, tenant_id, c.id, err);
    if (rc == 0)
        rc = emit_review(bus, &c, AD_TOPIC_MEMENTO_REJECTED, NULL, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    ad_skill_candidate_release(&c);
    return rc;
}

/* The job payload that asks again for c's pattern, c's outcome as "previous". */
static json_t *regenerate_payload(const struct ad_skill_candidate *c, const char *pattern_id)
{
    const json_t *fp = c->failure_pattern;
    const char *reason = c->status == AD_CAND_REJECTED ? c->reason
                                                       : ad_json_str(c->validation_result,
                                                                     "summary");
    const char *proposer = ad_json_str(fp, "proposer");
    json_t *previous = json_pack("[{s:s, s:s, s:s, s:s}]", "candidate_id", c->id, "status",
                                 ad_candidate_status_name(c->status), "reason",
                                 reason ? reason : "", "proposer", proposer ? proposer : "llm");

    if (!previous)
        return NULL;
    return json_pack("{s:s, s:s, s:s?, s:s?, s:O, s:o}", "pattern_id", pattern_id, "agent_id",
                     c->agent_id, "task", ad_json_str(fp, "task"), "error_type",
                     ad_json_str(fp, "error_type"), "episode_ids",
                     json_object_get(fp, "episode_ids"), "previous", previous);
}

/* Reopens c's pattern and queues its job, under c's id: asking twice queues once. */
static int regenerate(struct ad_store *st, const struct ad_skill_candidate *c,
                      char job_id[AD_ID_SIZE], struct ad_err *err)
{
    char pattern_id[AD_ID_SIZE], key[AD_ID_SIZE + 32];
    json_t *payload = NULL;
    int rc = ad__pattern_reopen(st, c, pattern_id, err);

    if (rc == 0) {
        payload = regenerate_payload(c, pattern_id);
        rc = payload ? 0 : oom(err);
    }
    if (rc == 0) {
        snprintf(key, sizeof(key), "memento.regenerate:%s", c->id);
        rc = ad__memento_enqueue(st, c->tenant_id, payload, key, job_id, NULL, err);
    }
    if (rc == 0)
        rc = ad__pattern_set_job(st, c->tenant_id, pattern_id, job_id, err);
    json_decref(payload);
    return rc;
}

int ad_memento_regenerate(struct ad_store *st, const char *tenant_id, const char *candidate_id,
                          char job_id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_skill_candidate c;
    int depth0 = ad_store_tx_depth(st);
    int rc;

    job_id[0] = '\0';
    ad_skill_candidate_init(&c);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_candidate_get(st, tenant_id, candidate_id, &c, err);
    if (rc == 0 && c.status != AD_CAND_FAILED && c.status != AD_CAND_REJECTED)
        rc = ad_error(err, AD_ESTATE, "candidate %s is %s; only a failed or rejected candidate "
                      "can be regenerated", candidate_id, ad_candidate_status_name(c.status));
    if (rc == 0 &&
        (!c.agent_id[0] || !json_is_array(json_object_get(c.failure_pattern, "episode_ids"))))
        rc = ad_error(err, AD_ESTATE, "candidate %s has no failure pattern to regenerate from",
                      candidate_id);
    if (rc == 0)
        rc = regenerate(st, &c, job_id, err);
    if (rc == 0)
        rc = ad__notifications_read_candidate(st, tenant_id, c.id, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0) {
        if (ad_store_tx_depth(st) > depth0)
            ad_store_rollback(st);
        job_id[0] = '\0';
    }
    ad_skill_candidate_release(&c);
    return rc;
}
