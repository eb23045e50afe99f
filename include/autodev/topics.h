/*
 * Every event topic autodev emits, its owning module and its payload keys:
 * the public contract of the event stream (the events table, SSE,
 * webhooks, MCP). A topic changes like public API: add keys, never rename
 * or drop one, and a new topic is a new row here.
 *
 * The table is data (topics.c); ad_topic_check() holds a payload to it, and
 * tests/unit/test_topics.c runs every flow that emits and checks each event
 * it produced, so a topic missing from the table or a payload missing a key
 * fails there. scripts/check-boundaries refuses an ad_bus_emit() whose topic
 * is not one of the AD_TOPIC_* names below.
 */
#ifndef AUTODEV_TOPICS_H
#define AUTODEV_TOPICS_H

/* Module bus, layer 2: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 2
#error "autodev/topics.h belongs to module bus (layer 2), above the module including it"
#endif

#include <jansson.h>

#include "autodev/error.h"

/* agent: an episode was recorded (flow 1). */
#define AD_TOPIC_TASK_FAIL "task.fail"
#define AD_TOPIC_TASK_SUCCESS "task.success"
/* agent: a catalog skill ran in the sandbox. */
#define AD_TOPIC_SKILL_EXECUTION "skill.execution"
/* agent: the agent loop's progress, one event per step (its "kind"). */
#define AD_TOPIC_AGENT_PROGRESS "agent.progress"
/* learn: reflection's decision on a failure that formed a pattern. */
#define AD_TOPIC_MEMENTO_PATTERN "memento.pattern"
/* learn: a skill candidate was validated in the sandbox (or failed to be). */
#define AD_TOPIC_MEMENTO_CANDIDATE "memento.candidate"
/* learn: a reviewer approved a candidate into the catalog, or rejected it. */
#define AD_TOPIC_MEMENTO_PROMOTED "memento.promoted"
#define AD_TOPIC_MEMENTO_REJECTED "memento.rejected"
/* learn: an agent's maturity changed. */
#define AD_TOPIC_AGENT_MATURITY "agent.maturity"
/* learn: a notification was written for a human. */
#define AD_TOPIC_NOTIFICATION "notification"
/* learn: AlphaEvolver wrote a mutant of a skill (keys with no value are null). */
#define AD_TOPIC_MUTATION_CREATED "mutation.created"
/* learn: a mutant was judged against its parent: won or lost, and why. */
#define AD_TOPIC_MUTATION_EVALUATED "mutation.evaluated"
/* learn: a mutant became a new version of its skill (a reviewer, or automatically). */
#define AD_TOPIC_MUTATION_APPROVED "mutation.approved"
/* learn: a reviewer turned a mutant down. */
#define AD_TOPIC_MUTATION_REJECTED "mutation.rejected"
/* learn: a variant's fitness score changed; source says which evaluation. */
#define AD_TOPIC_VARIANT_FITNESS "variant.fitness"
/* research: a session measured its baseline (median and MAD noise floor). */
#define AD_TOPIC_RESEARCH_STARTED "research.started"
/* research: an iteration was decided: kept, reverted, rejected_by_gate or crashed. */
#define AD_TOPIC_RESEARCH_ITERATION "research.iteration"
/* research: a session was finalized (its report written). */
#define AD_TOPIC_RESEARCH_FINISHED "research.finished"
/* hooks: a test event for one webhook (autodev webhook test). */
#define AD_TOPIC_WEBHOOK_TEST "webhook.test"

struct ad_topic {
    const char *name;
    const char *owner;                /* the module that emits it */
    const char *summary;              /* one line */
    const char *const *keys;          /* every event carries these; NULL-terminated */
    const char *const *optional;      /* keys some events carry; NULL-terminated */
};

/* The table, ending with an entry whose name is NULL. */
const struct ad_topic *ad_topics(void);
/* The entry of topic name, or NULL when it is not a topic of autodev. */
const struct ad_topic *ad_topic_find(const char *name);
/*
 * Holds payload to the table: AD_EINVAL naming the problem when the topic
 * is unknown, the payload not an object, a listed key missing or a key
 * present that the table does not list. 0 when it conforms.
 */
int ad_topic_check(const char *topic, const json_t *payload, struct ad_err *err);

#endif
