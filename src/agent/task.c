/*
 * Tasks: one skill run judged against what the caller expected, recorded
 * as an episode (flow 1 of DESIGN.md).
 *
 * The episode, the skill execution and their events are written in one
 * transaction after the run, so a crash leaves all or none of them; the
 * run itself touches nothing in the store.
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"

/* The error types of failures that are not the task's (agent.h), in one place. */
static const char *const infrastructure_types[] = {
    AD_ERROR_TYPE_SANDBOX,
    AD_ERROR_TYPE_LLM,
    AD_ERROR_TYPE_COST_LIMIT,
    AD_ERROR_TYPE_INFRASTRUCTURE,
};

bool ad_failure_is_infrastructure(const char *error_type)
{
    for (size_t i = 0; error_type && i < AD_ARRAY_SIZE(infrastructure_types); i++) {
        if (!strcmp(error_type, infrastructure_types[i]))
            return true;
    }
    return false;
}

void ad_task_outcome_release(struct ad_task_outcome *o)
{
    if (!o)
        return;
    ad_episode_release(&o->episode);
    memset(o, 0, sizeof(*o));
}

/* "AssertionError: expected 3, got 2", both shown compactly and cut. */
static char *mismatch_trace(const json_t *expected, const json_t *got)
{
    char *e = ad_json_dumps(expected), *g = got ? ad_json_dumps(got) : strdup("null");
    struct ad_buf b = AD_BUF_INIT;
    int rc;

    if (!e || !g) {
        free(e);
        free(g);
        return NULL;
    }
    rc = ad_buf_addf(&b, "AssertionError: the output does not equal the expected value: "
                         "expected %.2000s%s, got %.2000s%s",
                     e, strlen(e) > 2000 ? "..." : "", g, strlen(g) > 2000 ? "..." : "");
    free(e);
    free(g);
    if (rc < 0) {
        ad_buf_release(&b);
        return NULL;
    }
    return ad_buf_detach(&b, NULL);
}

static json_t *task_context(const struct ad_task_outcome *o, const struct ad_sandbox_result *r,
                            bool ran)
{
    json_t *c = json_object();
    int rc = 0;

    if (!c)
        return NULL;
    if (!ran) {
        rc |= json_object_set_new(c, "skill", json_null());
        return rc ? (json_decref(c), NULL) : c;
    }
    rc |= json_object_set_new(c, "skill", json_string(o->skill_name));
    rc |= json_object_set_new(c, "semver", json_string(o->semver));
    rc |= json_object_set_new(c, "selected_by", json_string(o->match_score > 0 ? "match"
                                                                                : "name"));
    if (o->match_score > 0)
        rc |= json_object_set_new(c, "match_score", json_real(o->match_score));
    rc |= json_object_set_new(c, "sandbox_status", json_string(ad_sb_status_name(r->status)));
    rc |= json_object_set_new(c, "backend", json_string(r->backend));
    rc |= json_object_set_new(c, "isolation", json_string(r->degraded ? "degraded" : "full"));
    rc |= json_object_set_new(c, "wall_ms", json_integer(r->wall_ms));
    rc |= json_object_set_new(c, "cpu_ms", json_integer(r->cpu_ms));
    rc |= json_object_set_new(c, "max_rss_kb", json_integer(r->max_rss_kb));
    if (rc) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* The skill a task runs: named, else matched, else none (ENOTFOUND). */
static int pick_skill(struct ad_store *st, const struct ad_task *t, struct ad_skill *s,
                      struct ad_skill_version *v, struct ad_task_outcome *o, struct ad_err *err)
{
    int rc;

    if (t->skill)
        return ad_catalog_get(st, t->tenant_id, t->skill, t->semver, s, v, err);
    rc = ad_catalog_match(st, t->tenant_id, t->description, s, v, &o->match_score, err);
    return rc == AD_ENOTFOUND ? 1 : rc;
}

/*
 * A skill matched by the description whose schema does not take the
 * task's input does not match the task: it would only fail in Python.
 * 1 (with why) when it does not fit, 0 when it does, or an error.
 */
static int misfit(const struct ad_skill *s, const struct ad_skill_version *v,
                  const json_t *input, char *why, size_t size)
{
    struct ad_err e = AD_ERR_INIT;
    json_t *owned;
    int rc = ad_skill_input_check(ad_skill_version_schema(s, v, &owned), input, &e);

    json_decref(owned);
    if (rc == AD_EINVAL) {
        snprintf(why, size, "; the best match, %s, does not take this input: %s", s->name,
                 e.msg);
        return 1;
    }
    return rc;
}

/* Fills the episode's outcome fields from the run (or its absence). */
static int judge(const struct ad_task *t, const struct ad_sandbox_result *r, bool ran,
                 const char *why, struct ad_episode *ep)
{
    if (!ran) {
        struct ad_buf b = AD_BUF_INIT;

        if (ad_buf_addf(&b, "NoSkillError: no catalog skill matches the task '%.200s%s'%s",
                        t->description, strlen(t->description) > 200 ? "..." : "", why) < 0) {
            ad_buf_release(&b);
            return AD_ENOMEM;
        }
        ep->error_trace = ad_buf_detach(&b, NULL);
        ep->success = false;
        return 0;
    }
    ep->output = r->output ? json_incref(r->output) : NULL;
    /*
     * A sandbox that failed is the infrastructure's failure, not the task's:
     * ad_skill_result_error words it "SandboxError: ..." (AD_ERROR_TYPE_SANDBOX),
     * which reflection does not take for a missing skill.
     */
    if (r->status != AD_SB_OK) {
        ep->error_trace = ad_skill_result_error(r);
        if (!ep->error_trace)
            return AD_ENOMEM;
        if (strlen(ep->error_trace) > AD_ERROR_TRACE_MAX)
            ep->error_trace[AD_ERROR_TRACE_MAX] = '\0';
        ep->success = false;
    } else if (t->expected && !ad_json_equal_loose(t->expected, r->output)) {
        ep->error_trace = mismatch_trace(t->expected, r->output);
        if (!ep->error_trace)
            return AD_ENOMEM;
        ep->success = false;
    } else {
        ep->success = true;
    }
    return 0;
}

static int dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : AD_ENOMEM;
}

static int record(struct ad_store *st, struct ad_bus *bus, const struct ad_task *t,
                  const struct ad_skill *s, const struct ad_skill_version *v,
                  const struct ad_sandbox_result *r, bool ran, struct ad_task_outcome *o,
                  struct ad_err *err)
{
    int depth0 = ad_store_tx_depth(st);
    int rc = ad_store_begin(st, err);

    if (rc < 0)
        return rc;
    rc = ad_episode_record(st, bus, &o->episode, err);
    if (rc == 0 && ran)
        rc = ad_skill_execution_record(st, bus, s, v, t->agent_id, o->episode.id, t->input, r,
                                       o->episode.token_usage, o->execution_id, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0) {
        if (ad_store_tx_depth(st) > depth0)
            ad_store_rollback(st);
        o->episode.id[0] = '\0';
        o->execution_id[0] = '\0';
    }
    return rc;
}

int ad_task_run(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                const struct ad_task *t, struct ad_task_outcome *o, struct ad_err *err)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_sandbox_result r;
    struct ad_episode *ep = &o->episode;
    bool ran = false;
    char why[sizeof(err->msg) + AD_NAME_MAX + 64] = "";
    int rc;

    memset(o, 0, sizeof(*o));
    memset(&r, 0, sizeof(r));
    ad_episode_init(ep);
    if (!st || !t || !t->tenant_id || !t->agent_id || !t->description || !*t->description)
        return ad_error(err, AD_EINVAL, "a task needs a tenant, an agent and a description");
    if (t->semver && !t->skill)
        return ad_error(err, AD_EINVAL, "a task version needs a named skill");

    rc = pick_skill(st, t, &s, &v, o, err);
    if (rc == 0 && !t->skill)
        rc = misfit(&s, &v, t->input, why, sizeof(why));
    if (rc < 0)
        goto out;
    if (rc == 1)
        o->match_score = 0;
    if (rc == 0) {
        if (!sb) {
            rc = ad_error(err, AD_EINVAL, "running a skill needs a sandbox");
            goto out;
        }
        rc = ad_skill_execute(sb, &s, &v, t->input, t->limits, &r, err);
        if (rc < 0)
            goto out;
        ran = true;
        snprintf(o->skill_name, sizeof(o->skill_name), "%s", s.name);
        snprintf(o->semver, sizeof(o->semver), "%s", v.semver);
        snprintf(o->status, sizeof(o->status), "%s", ad_sb_status_name(r.status));
    }
    ad_err_clear(err);

    snprintf(ep->tenant_id, sizeof(ep->tenant_id), "%s", t->tenant_id);
    snprintf(ep->agent_id, sizeof(ep->agent_id), "%s", t->agent_id);
    rc = dup_str(&ep->task_description, t->description);
    if (rc == 0)
        rc = dup_str(&ep->task_kind, t->task_kind);
    if (rc == 0 && ran)
        rc = dup_str(&ep->skill_version_id, v.id);
    if (rc == 0)
        rc = judge(t, &r, ran, why, ep);
    if (rc < 0) {
        rc = ad_error(err, rc, "out of memory");
        goto out;
    }
    ep->input = t->input ? json_deep_copy(t->input) : NULL;
    ep->expected = t->expected ? json_deep_copy(t->expected) : NULL;
    ep->tools_attempted = json_array();
    if (ep->tools_attempted && ran)
        json_array_append_new(ep->tools_attempted, json_string(s.name));
    ep->context = task_context(o, &r, ran);
    ep->execution_seconds = ran && r.wall_ms > 0 ? (double)r.wall_ms / 1000.0 : 0.0;
    if ((t->input && !ep->input) || (t->expected && !ep->expected) || !ep->tools_attempted ||
        !ep->context) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    rc = record(st, bus, t, &s, &v, &r, ran, o, err);
out:
    ad_sandbox_result_clear(&r);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}
