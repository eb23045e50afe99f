/*
 * The human review queue: what a reviewer decides about what the learning
 * loops produced: Memento's skill candidates and AlphaEvolver's mutations.
 * The rules they share (a rejection needs a reason, who decided and when,
 * the event in the same transaction as the decision, the notifications
 * about the row read by the decision) live in ad__review_stamp and in the
 * shape of each decision below, so the second loop added rows, not rules.
 *
 * Module learn owns the skill_candidates and tool_mutations tables: the
 * faces read candidates through ad_candidates_get/list and mutations
 * through ad_mutations_get/list (fitness.h).
 *
 * Sections: the stamp; reading the queue; decisions on skill candidates;
 * decisions on mutations.
 */
#include "compat.h"

#include "autodev/bus.h"
#include "autodev/fitness.h"
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

/* ---- decisions on AlphaEvolver's mutations -------------------------------------- */

/* What a mutation's approval needs of the catalog: its skill, current version and the parent. */
struct approval {
    struct ad_tool_mutation m;
    struct ad_skill skill;
    struct ad_skill_version current;
    struct ad_skill_version made;       /* the version added */
};

static void approval_release(struct approval *a)
{
    ad_tool_mutation_release(&a->m);
    ad_skill_release(&a->skill);
    ad_skill_version_release(&a->current);
    ad_skill_version_release(&a->made);
}

/* A mutation whose review a reviewer may decide now; automatic also takes one not queued yet. */
static int check_reviewable(const struct ad_tool_mutation *m, bool approving, bool automatic,
                            struct ad_err *err)
{
    const char *review = ad_review_status_name(m->review_status);

    if (approving && m->decision != AD_DECISION_WON)
        return ad_error(err, AD_ESTATE, "mutation %s %s; only a mutation that won its "
                        "evaluation can be approved", m->id,
                        m->decision == AD_DECISION_LOST ? "lost" : "is not evaluated yet");
    if (m->review_status == AD_REVIEW_PENDING ||
        (automatic && m->review_status == AD_REVIEW_NONE))
        return 0;
    return ad_error(err, AD_ESTATE, "mutation %s is not awaiting review (review: %s)", m->id,
                    review ? review : "none");
}

/*
 * The skill must still be where the mutation was made from: a mutant of
 * 1.2.0 approved over a 1.3.0 would silently drop what 1.3.0 changed.
 */
static int check_parent(struct ad_store *st, struct approval *a, struct ad_err *err)
{
    const struct ad_tool_mutation *m = &a->m;
    struct ad_skill_version parent = { 0 };
    int rc;

    if (!m->skill_id[0] || !m->parent_skill_version_id[0])
        return ad_error(err, AD_ESTATE, "mutation %s names no skill version it was made from",
                        m->id);
    rc = ad_catalog_skill_get(st, m->tenant_id, m->skill_id, &a->skill, err);
    if (rc == 0 && !a->skill.current_version_id[0])
        rc = ad_error(err, AD_ESTATE, "skill '%s' has no current version", a->skill.name);
    if (rc == 0)
        rc = ad_catalog_version_get(st, m->tenant_id, a->skill.current_version_id, &a->current,
                                    err);
    if (rc == 0 && strcmp(a->current.id, m->parent_skill_version_id) != 0) {
        rc = ad_catalog_version_get(st, m->tenant_id, m->parent_skill_version_id, &parent, err);
        if (rc == 0)
            rc = ad_error(err, AD_ECONFLICT, "the skill moved on: current %s, mutation made "
                          "from %s", a->current.semver, parent.semver);
    }
    ad_skill_version_release(&parent);
    return rc;
}

/* The mutant's code as the skill's next minor version, origin alpha. */
static int promote_mutation(struct ad_store *st, struct approval *a, struct ad_err *err)
{
    struct ad_skill_add add = { 0 };

    add.tenant_id = a->m.tenant_id;
    add.name = a->skill.name;
    add.description = a->skill.description;
    add.entry = a->skill.entry_function;
    add.code = a->m.mutated_code;
    add.input_schema = a->skill.input_schema;
    add.bump = AD_BUMP_MINOR;
    add.origin = AD_ORIGIN_ALPHA;
    add.origin_id = a->m.id;
    return ad_catalog_add(st, &add, NULL, &a->made, err);
}

/* Each variant the mutant ran is promoted (approved) or rejected with it. */
static int decide_variants(struct ad_store *st, struct ad_bus *bus,
                           const struct ad_tool_mutation *m, bool approved, struct ad_err *err)
{
    struct ad_variant_filter f = { NULL, m->id, NULL, NULL, AD_MUTATION_LIST_MAX };
    struct ad_workflow_variant *v = NULL;
    size_t n = 0;
    int rc = ad_store_variant_list(st, m->tenant_id, &f, &v, &n, err);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (approved) {
            rc = ad__variant_promote(st, bus, &v[i], m->status == AD_MSTAT_PASSED, err);
        } else {
            v[i].evaluation_status = AD_VSTAT_REJECTED;
            rc = ad_store_variant_update(st, &v[i], err);
        }
    }
    ad_workflow_variant_list_free(v, n);
    return rc;
}

static int emit_mutation_approved(struct ad_bus *bus, const struct approval *a, bool automatic,
                                  struct ad_err *err)
{
    json_t *ev;
    int rc;

    if (!bus)
        return 0;
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "mutation_id", a->m.id, "skill",
                   a->skill.name, "version_id", a->made.id, "semver", a->made.semver,
                   "reviewer", a->m.reviewed_by, "automatic", automatic);
    rc = ev ? ad_bus_emit(bus, a->m.tenant_id, AD_TOPIC_MUTATION_APPROVED, ev, NULL, err)
            : oom(err);
    json_decref(ev);
    return rc;
}

/* The approval's writes, in the transaction ad_mutation_approve opened. */
static int approve_mutation(struct ad_store *st, struct ad_bus *bus, struct approval *a,
                            const char *reviewer, const char *reason, bool automatic,
                            struct ad_err *err)
{
    struct ad_tool_mutation *m = &a->m;
    int rc = check_reviewable(m, true, automatic, err);

    if (rc == 0)
        rc = check_parent(st, a, err);
    if (rc == 0)
        rc = promote_mutation(st, a, err);
    if (rc == 0)
        rc = ad__review_stamp(automatic ? AD_REVIEW_AUTO_APPROVED : AD_REVIEW_APPROVED,
                              automatic ? "autodev" : reviewer, NULL, &m->review_status,
                              &m->reviewed_by, m->reviewed_at, &m->reason, err);
    if (rc == 0 && reason && *reason) {
        free(m->reason);
        m->reason = strdup(reason);
        rc = m->reason ? 0 : oom(err);
    }
    if (rc == 0) {
        memcpy(m->promoted_version_id, a->made.id, AD_ID_SIZE);
        rc = ad_store_mutation_update(st, m, err);
    }
    if (rc == 0)
        rc = decide_variants(st, bus, m, true, err);
    if (rc == 0)
        rc = ad__notifications_read_about(st, m->tenant_id, "mutation_id", m->id, err);
    if (rc == 0)
        rc = emit_mutation_approved(bus, a, automatic, err);
    return rc;
}

int ad_mutation_approve(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                        const char *id, const char *reviewer, const char *reason,
                        bool automatic, struct ad_skill_version *version_out,
                        struct ad_err *err)
{
    struct approval a;
    int depth0 = ad_store_tx_depth(st);
    int rc;

    memset(&a, 0, sizeof(a));
    ad_tool_mutation_init(&a.m);
    if (reason && strlen(reason) > AD_REASON_MAX)
        return ad_error(err, AD_ETOOBIG, "reason longer than %d bytes", AD_REASON_MAX);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_mutation_get(st, tenant_id, id, &a.m, err);
    if (rc == 0)
        rc = approve_mutation(st, bus, &a, reviewer, reason, automatic, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc == 0 && version_out) {
        *version_out = a.made;
        memset(&a.made, 0, sizeof(a.made));
    }
    approval_release(&a);
    return rc;
}

static int emit_mutation_rejected(struct ad_bus *bus, const struct ad_tool_mutation *m,
                                  struct ad_err *err)
{
    json_t *ev;
    int rc;

    if (!bus)
        return 0;
    ev = json_pack("{s:s, s:s, s:s, s:s}", "mutation_id", m->id, "skill",
                   m->tool_name ? m->tool_name : "", "reviewer", m->reviewed_by, "reason",
                   m->reason);
    rc = ev ? ad_bus_emit(bus, m->tenant_id, AD_TOPIC_MUTATION_REJECTED, ev, NULL, err)
            : oom(err);
    json_decref(ev);
    return rc;
}

int ad_mutation_reject(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                       const char *id, const char *reviewer, const char *reason,
                       struct ad_err *err)
{
    struct ad_tool_mutation m;
    int depth0 = ad_store_tx_depth(st);
    int rc;

    if (!reason || !*reason)
        return ad_error(err, AD_EINVAL, "a rejection needs a reason");
    ad_tool_mutation_init(&m);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_mutation_get(st, tenant_id, id, &m, err);
    if (rc == 0)
        rc = check_reviewable(&m, false, false, err);
    if (rc == 0)
        rc = ad__review_stamp(AD_REVIEW_REJECTED, reviewer, reason, &m.review_status,
                              &m.reviewed_by, m.reviewed_at, &m.reason, err);
    if (rc == 0)
        rc = ad_store_mutation_update(st, &m, err);
    if (rc == 0)
        rc = decide_variants(st, bus, &m, false, err);
    if (rc == 0)
        rc = ad__notifications_read_about(st, tenant_id, "mutation_id", m.id, err);
    if (rc == 0)
        rc = emit_mutation_rejected(bus, &m, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    ad_tool_mutation_release(&m);
    return rc;
}
