/*
 * The learning-engine lifecycle, one interface for every loop:
 *
 *   analyse   an event (a failed task, a skill execution) -> maybe work
 *             queued, inside the event's own transaction
 *   propose   one job of the engine's kind -> proposals written as rows
 *   validate  the same job -> each proposal tried in the sandbox and
 *             judged; propose and validate are one job because the job is
 *             the unit that is persisted, leased, killed and resumed: each
 *             engine knows where its rows let it pick up again
 *   promote   a reviewer's approval (or the engine's own, where the gates
 *             allow) -> a catalog version; reject -> a reason kept
 *
 * Memento-Skills and AlphaEvolver are the two engines of this build. A
 * third one is a struct ad_learning_engine added to the list in engine.c
 * and one line in each of the runtime's two tables: the faces (CLI,
 * server, MCP) reach engines through ad_learning_engine_find and never
 * change for one.
 */
#ifndef AUTODEV_ENGINE_H
#define AUTODEV_ENGINE_H

/* Module learn, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/engine.h belongs to module learn (layer 5), above the module including it"
#endif

#include <stddef.h>

#include "autodev/error.h"
#include "autodev/learn.h"

struct ad_bus;
struct ad_bus_event;
struct ad_job;
struct ad_job_lease;
struct ad_llm;
struct ad_sandbox;
struct ad_store;

/* What a job of an engine runs with: made by the runtime. */
struct ad_engine_env {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_sandbox *sb;
    struct ad_llm *llm;          /* NULL: no model configured */
    struct ad_job_lease *lease;  /* NULL: run outside a queue */
};

struct ad_learning_engine {
    const char *name;            /* "memento", "alpha" */
    const char *title;           /* "Memento-Skills", "AlphaEvolver" */
    enum ad_capability capability;
    const char *topic;           /* the events analyse() reads */
    const char *job_kind;        /* the jobs run() runs */
    const char *job_summary;     /* one line, lower-case */
    int max_attempts;            /* of its jobs */
    int (*analyse)(struct ad_store *st, struct ad_bus *bus, const struct ad_bus_event *ev,
                   struct ad_err *err);
    /* propose + validate; a line for the operator into summary */
    int (*run)(const struct ad_engine_env *env, const struct ad_job *job, char *summary,
               size_t size, struct ad_err *err);
    int (*promote)(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                   const char *id, const char *reviewer, const char *reason,
                   struct ad_err *err);
    int (*reject)(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                  const char *id, const char *reviewer, const char *reason,
                  struct ad_err *err);
    /* a job's error -> retried (the code) or AD_JOB_PERMANENT */
    int (*job_outcome)(int rc);
};

/* NULL-terminated, in the order their handlers run. */
const struct ad_learning_engine *const *ad_learning_engines(void);
/* By name, job kind or topic; NULL when none (by topic: the first). */
const struct ad_learning_engine *ad_learning_engine_find(const char *name);
const struct ad_learning_engine *ad_learning_engine_for_kind(const char *job_kind);

/*
 * Runs one job of e: the engine's run(), its error classified by
 * job_outcome. The summary (may be NULL) gets the operator's line.
 */
int ad_learning_engine_run(const struct ad_learning_engine *e, const struct ad_engine_env *env,
                           const struct ad_job *job, char *summary, size_t size,
                           struct ad_err *err);

#endif
