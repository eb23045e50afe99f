/*
 * The topic table (see topics.h). Keys are listed in the order the
 * emitters write them; "optional" keys are the ones an emitter leaves out
 * when it has no value (json_pack's "s?") or that only some kinds of one
 * topic carry (agent.progress).
 */
#include "compat.h"

#include "autodev/topics.h"

#define KEYS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static const struct ad_topic topics[] = {
    { AD_TOPIC_TASK_FAIL, "agent", "an episode was recorded as failed",
      KEYS("episode_id", "agent_id", "task_kind", "task_description", "success", "error_type"),
      NONE },
    { AD_TOPIC_TASK_SUCCESS, "agent", "an episode was recorded as succeeded",
      KEYS("episode_id", "agent_id", "task_kind", "task_description", "success", "error_type"),
      NONE },
    { AD_TOPIC_SKILL_EXECUTION, "agent", "a catalog skill ran in the sandbox",
      KEYS("execution_id", "skill", "skill_id", "skill_version_id", "semver", "agent_id",
           "episode_id", "success", "status", "execution_seconds", "token_usage", "error"),
      NONE },
    { AD_TOPIC_AGENT_PROGRESS, "agent", "one step of the agent loop, named by kind",
      KEYS("session_id", "kind"),
      KEYS("turn", "tool", "arguments", "call_id", "ok", "result", "error", "wall_ms", "text",
           "message", "tokens", "cost_usd", "total_tokens", "total_cost_usd", "stop_reason",
           "success", "turns", "episode_id") },
    { AD_TOPIC_MEMENTO_PATTERN, "learn", "reflection's decision on a pattern of failures",
      KEYS("agent_id", "episode_id", "task", "group", "threshold", "decision", "reasons"),
      KEYS("error_type", "job_id", "candidate_id", "pattern_id") },
    { AD_TOPIC_MEMENTO_CANDIDATE, "learn", "a skill candidate passed or failed validation",
      KEYS("candidate_id", "skill_name", "status"),
      KEYS("agent_id", "summary") },
    { AD_TOPIC_MEMENTO_PROMOTED, "learn", "a reviewer approved a candidate into the catalog",
      KEYS("candidate_id", "skill_name", "skill_id", "version_id", "semver"),
      KEYS("reviewed_by", "reason") },
    { AD_TOPIC_MEMENTO_REJECTED, "learn", "a reviewer rejected a candidate",
      KEYS("candidate_id", "skill_name"),
      KEYS("reviewed_by", "reason") },
    { AD_TOPIC_AGENT_MATURITY, "learn", "an agent's maturity level changed",
      KEYS("agent_id", "agent", "from", "to", "reason"),
      NONE },
    { AD_TOPIC_NOTIFICATION, "learn", "a notification was written for a human",
      KEYS("notification_id", "type", "agent_id", "capability"),
      NONE },
    { AD_TOPIC_MUTATION_CREATED, "learn", "AlphaEvolver wrote a mutant of a skill",
      KEYS("mutation_id", "skill", "skill_id", "skill_version_id", "job_id", "mutant_index",
           "trigger", "proposer"),
      NONE },
    { AD_TOPIC_MUTATION_EVALUATED, "learn", "a mutant was judged against its parent",
      KEYS("mutation_id", "skill", "decision", "reason", "fitness_delta", "risk_level"),
      NONE },
    { AD_TOPIC_MUTATION_APPROVED, "learn", "a mutant became a new version of its skill",
      KEYS("mutation_id", "skill", "version_id", "semver", "reviewer", "automatic"),
      NONE },
    { AD_TOPIC_MUTATION_REJECTED, "learn", "a reviewer turned a mutant down",
      KEYS("mutation_id", "skill", "reviewer", "reason"),
      NONE },
    { AD_TOPIC_VARIANT_FITNESS, "learn", "a variant's fitness score changed",
      KEYS("variant_id", "fitness_score", "source"),
      NONE },
    { AD_TOPIC_RESEARCH_STARTED, "research", "a research session measured its baseline",
      KEYS("session_id", "repo", "metric", "baseline", "noise", "sandbox"),
      NONE },
    { AD_TOPIC_RESEARCH_ITERATION, "research", "a research iteration was decided",
      KEYS("session_id", "seq", "decision", "metric"),
      KEYS("hypothesis", "commit") },
    { AD_TOPIC_RESEARCH_FINISHED, "research", "a research session was finalized",
      KEYS("session_id", "baseline", "best", "iterations"),
      KEYS("best_commit") },
    { AD_TOPIC_WEBHOOK_TEST, "hooks", "a test event, delivered to the one webhook it names",
      KEYS("webhook_id"),
      NONE },
    { NULL, NULL, NULL, NULL, NULL },
};

const struct ad_topic *ad_topics(void)
{
    return topics;
}

const struct ad_topic *ad_topic_find(const char *name)
{
    for (const struct ad_topic *t = topics; name && t->name; t++) {
        if (!strcmp(t->name, name))
            return t;
    }
    return NULL;
}

static bool listed(const char *const *keys, const char *key)
{
    for (; *keys; keys++) {
        if (!strcmp(*keys, key))
            return true;
    }
    return false;
}

int ad_topic_check(const char *topic, const json_t *payload, struct ad_err *err)
{
    const struct ad_topic *t = ad_topic_find(topic);
    const char *key;
    json_t *v;

    if (!t)
        return ad_error(err, AD_EINVAL, "topic '%s' is not in the topic table",
                        topic ? topic : "(null)");
    if (!json_is_object(payload))
        return ad_error(err, AD_EINVAL, "%s: payload is not an object", topic);
    for (const char *const *k = t->keys; *k; k++) {
        if (!json_object_get(payload, *k))
            return ad_error(err, AD_EINVAL, "%s: payload lacks key '%s'", topic, *k);
    }
    json_object_foreach((json_t *)payload, key, v) {
        if (!listed(t->keys, key) && !listed(t->optional, key))
            return ad_error(err, AD_EINVAL, "%s: key '%s' is not in the topic table", topic,
                            key);
    }
    return 0;
}
