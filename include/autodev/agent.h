/*
 * Agents and their work as it enters autodev: the agent rows, recording and
 * reading episodes, tasks, and the agent loop.
 *
 * Module agent owns the tables agents, episodes, episode_segments, skills,
 * skill_versions, skill_executions (the catalog, skill.h) and
 * agent_sessions: every other module reads and writes them through the
 * functions here and in skill.h, never through the store.
 *
 * ad_episode_record() is flow 1 of DESIGN.md: store the episode and emit
 * task.fail or task.success on the bus, in one transaction, so a crash
 * leaves either both or neither.
 */
#ifndef AUTODEV_AGENT_H
#define AUTODEV_AGENT_H

/* Module agent, layer 4: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 4
#error "autodev/agent.h belongs to module agent (layer 4), above the module including it"
#endif

#include <stdbool.h>

#include <jansson.h>

#include "autodev/error.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/text.h"
#include "autodev/topics.h"

struct ad_bus;

/* ---- agents (agents.c) ---------------------------------------------------------- */

/*
 * Adds an agent named name at maturity m; *out (may be NULL) gets the row.
 * AD_EEXIST when the name is taken in the tenant, AD_EINVAL for a bad name.
 */
int ad_agents_add(struct ad_store *st, const char *tenant_id, const char *name,
                  enum ad_maturity m, struct ad_agent *out, struct ad_err *err);
/* By id, and by name; AD_ENOTFOUND when the tenant has no such agent. */
int ad_agents_get(struct ad_store *st, const char *tenant_id, const char *id,
                  struct ad_agent *out, struct ad_err *err);
int ad_agents_find(struct ad_store *st, const char *tenant_id, const char *name,
                   struct ad_agent *out, struct ad_err *err);
/* Ordered by name, after after_name (may be NULL). Free with ad_agent_list_free. */
int ad_agents_list(struct ad_store *st, const char *tenant_id, const char *after_name,
                   int limit, struct ad_agent **out, size_t *n, struct ad_err *err);
/*
 * Writes the maturity column only. Changing a maturity is learn's business
 * (ad_agent_change_maturity emits the event and notifies the unlocks); this
 * is the row it writes through.
 */
int ad_agents_set_maturity(struct ad_store *st, const char *tenant_id, const char *id,
                           enum ad_maturity m, struct ad_err *err);
/* What graduation reads about the agent, over all its episodes. */
int ad_agents_record(struct ad_store *st, const char *tenant_id, const char *agent_id,
                     struct ad_agent_record *out, struct ad_err *err);

/* ---- episodes (episodes.c) -------------------------------------------------------- */

/*
 * Inserts ep (tenant_id and agent_id set by the caller) and emits the
 * outcome event with payload {"episode_id", "agent_id", "task_kind",
 * "task_description", "success", "error_type"}. error_type is the exception
 * name on the last non-empty line of error_trace ("KeyError: 'x'" gives
 * "KeyError"; a Python traceback ends with that line), or null.
 */
int ad_episode_record(struct ad_store *st, struct ad_bus *bus, struct ad_episode *ep,
                      struct ad_err *err);
/*
 * Recording many episodes, size to a transaction (JSON-lines imports): one
 * commit per size episodes instead of one per episode. Each episode is
 * recorded as by ad_episode_record (row and event together).
 */
struct ad_episode_batch {
    struct ad_store *st;     /* borrowed */
    struct ad_bus *bus;      /* borrowed, may be NULL */
    int64_t size;            /* episodes per transaction, >= 1 */
    int64_t pending;         /* recorded in the open transaction */
    int64_t committed;       /* recorded in committed transactions */
};

void ad_episode_batch_init(struct ad_episode_batch *b, struct ad_store *st, struct ad_bus *bus,
                           int64_t size);
/*
 * Records ep in the open transaction (opening one), committing when size
 * episodes are pending. On failure the open transaction is rolled back:
 * the pending episodes are gone, the committed ones stay.
 */
int ad_episode_batch_add(struct ad_episode_batch *b, struct ad_episode *ep, struct ad_err *err);
/* Commits the pending episodes (rolled back if the commit fails). */
int ad_episode_batch_flush(struct ad_episode_batch *b, struct ad_err *err);
/* Rolls the pending episodes back (the input failed between two adds). */
void ad_episode_batch_abort(struct ad_episode_batch *b);

/* One episode with its segments; AD_ENOTFOUND when the tenant has none of that id. */
int ad_episodes_get(struct ad_store *st, const char *tenant_id, const char *id,
                    struct ad_episode *out, struct ad_err *err);
/* Newest first, without segments. Free with ad_episode_list_free. */
int ad_episodes_list(struct ad_store *st, const char *tenant_id,
                     const struct ad_episode_filter *f, struct ad_episode **out, size_t *n,
                     struct ad_err *err);
int ad_episodes_count(struct ad_store *st, const char *tenant_id,
                      const struct ad_episode_filter *f, int64_t *count, struct ad_err *err);
/*
 * The agent's failures since (ISO-8601 UTC; NULL: ever), newest first, at
 * most limit: ids, descriptions and error types only (what reflection
 * compares); with only_type, descriptions only of the failures of
 * error_type (ad_store_episode_recent_failures). Free with
 * ad_episode_brief_list_free.
 */
int ad_episodes_recent_failures(struct ad_store *st, const char *tenant_id,
                                const char *agent_id, const char *since, int limit,
                                bool only_type, const char *error_type,
                                struct ad_episode_brief **out, size_t *n, struct ad_err *err);


/* ---- tasks (task.c) ----------------------------------------------------------- */

struct ad_sandbox;
struct ad_llm;

struct ad_task {
    const char *tenant_id;
    const char *agent_id;
    const char *description;      /* required */
    const char *task_kind;        /* may be NULL */
    const char *skill;            /* catalog name; NULL: the best match, if any */
    const char *semver;           /* a version of skill; NULL: its current one */
    const json_t *input;          /* may be NULL */
    const json_t *expected;       /* NULL: success is "ran without error" */
    const struct ad_sandbox_limits *limits;   /* may be NULL: the defaults */
};

struct ad_task_outcome {
    struct ad_episode episode;            /* as recorded */
    char skill_name[AD_NAME_MAX + 1];     /* "" when no skill ran */
    char semver[AD_SEMVER_SIZE];
    char execution_id[AD_ID_SIZE];        /* "" when no skill ran */
    double match_score;                   /* > 0 when the skill was matched, else 0 */
    char status[16];                      /* the sandbox status, "" when none ran */
};

void ad_task_outcome_release(struct ad_task_outcome *o);
/*
 * Runs a task: picks the skill (named, else the best catalog match for the
 * description, else none), runs it in the sandbox, judges success (ran
 * without error, and output equals expected when given), and records, in
 * one transaction, the episode (input, expected, output, error trace,
 * tools attempted, timings, skill version), the skill execution, and the
 * events task.success / task.fail and skill.execution. No skill is a failed
 * episode whose trace says so. A named skill that does not exist is
 * AD_ENOTFOUND and records nothing.
 */
int ad_task_run(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                const struct ad_task *t, struct ad_task_outcome *out, struct ad_err *err);

/*
 * The kind of a failure, told by its error type (the episode's error_type
 * column and the task.fail event's "error_type"): a failure of the
 * infrastructure the task ran on, not of the task. These are the types this
 * module records when something other than the work failed, and one an
 * outside agent may use to say so:
 *
 *   SandboxError         the sandbox could not run the skill (task.c)
 *   LLMError             the model call failed, a daily model cap included (loop.c)
 *   CostLimitReached     the run's cost limit stopped it (loop.c)
 *   InfrastructureError  anything else outside the task; `episode add` with an
 *                        error_trace whose last line starts "InfrastructureError:"
 *
 * Every other failure, of every source, is a task failure: it may show a
 * missing skill. Such an infrastructure failure does not (reflection skips it).
 */
#define AD_ERROR_TYPE_SANDBOX "SandboxError"
#define AD_ERROR_TYPE_LLM "LLMError"
#define AD_ERROR_TYPE_COST_LIMIT "CostLimitReached"
#define AD_ERROR_TYPE_INFRASTRUCTURE "InfrastructureError"

/* True when error_type (NULL: none) is one of the infrastructure types above. */
bool ad_failure_is_infrastructure(const char *error_type);

/* ---- the agent loop (loop.c) ---------------------------------------------------- */

#define AD_AGENT_DEFAULT_MAX_TURNS 10
#define AD_AGENT_DEFAULT_TOOL_FAILURES 3   /* failed calls of one tool in a row */
#define AD_AGENT_DEFAULT_WINDOW 8192       /* tokens, for a model the window table lacks */
#define AD_AGENT_COMPACT_AT 0.8            /* of the window: compact the oldest turns */
#define AD_AGENT_KEEP_TURNS 2              /* model turns a compaction keeps as they are */
#define AD_AGENT_ESCALATE_AFTER 2          /* failed tool calls before a strong-tier turn */

/* What the loop reports as it goes (printed by the CLI, emitted on the bus). */
enum ad_agent_event {
    AD_AGENT_THINKING = 0,    /* {"turn"}: a model call is starting */
    AD_AGENT_TOOL_CALL,       /* {"turn", "tool", "arguments", "call_id"} */
    AD_AGENT_TOOL_RESULT,     /* {"turn", "tool", "ok", "result" | "error", "wall_ms"} */
    AD_AGENT_RESPONSE,        /* {"turn", "text"}: the model's text */
    AD_AGENT_WARNING,         /* {"message"} */
    AD_AGENT_COST,            /* {"turn", "tokens", "cost_usd", "total_tokens", "total_cost_usd"} */
    AD_AGENT_ERROR,           /* {"message"} */
    AD_AGENT_DONE,            /* {"stop_reason", "success", "turns", "episode_id"} */
    AD_AGENT_SELF_CHECK,      /* {"message", "self_check": {"pass", "confidence", "reason"}}:
                                 the verdict of an answer's self-check */
};

const char *ad_agent_event_name(enum ad_agent_event e);

typedef void ad_agent_progress_fn(void *arg, enum ad_agent_event e, const json_t *data);

struct ad_agent_run_opts {
    const char *tenant_id;
    const char *agent_id;
    const char *task;             /* required unless resuming */
    const char *resume;           /* a session id to continue, or NULL */
    int max_turns;                /* 0: the session's, else AD_AGENT_DEFAULT_MAX_TURNS */
    double cost_limit_usd;        /* 0: the session's, else none */
    int tool_failure_limit;       /* 0: AD_AGENT_DEFAULT_TOOL_FAILURES */
    const char *model;            /* NULL: the provider's */
    const char *system_prompt;    /* NULL: the built-in one */
    const struct ad_sandbox_limits *limits;   /* per tool call; NULL: defaults */
    int64_t deadline_ms;          /* 0: none; else this call of ad_agent_run ends within
                                     deadline_ms of its start: each model call gets the time
                                     left as its deadline, each tool call at most the time left
                                     as its wall limit, and past it the run stops with stop
                                     reason "deadline" (resumable, like "max_turns") */
    ad_agent_progress_fn *progress;           /* may be NULL */
    void *progress_arg;
    int64_t context_window;       /* tokens; 0: the session's, else the model's (a table) */
    int compact_every;            /* also compact every N model turns; 0: the session's or
                                     only when the window is AD_AGENT_COMPACT_AT full */
    bool no_self_check;           /* false (the default): before ending with an answer, one
                                     self-check call: the model compares its answer with the
                                     task (and expected) and states a confidence 0..1, which
                                     the episode records; a failed check gets one more turn.
                                     true: no self-check (kept on resume). A chain of only
                                     the offline provider has no model: no self-check. */
    const char *expected;         /* the expected output, or NULL: for the self-check */
};

struct ad_agent_run_result {
    char session_id[AD_ID_SIZE];
    char episode_id[AD_ID_SIZE];
    const char *stop_reason;      /* "answer", "outcome", "max_turns", "cost_limit",
                                     "deadline", "tool_breaker", "llm_error" (static) */
    bool success;
    int turns;                    /* model calls so far, over all resumes */
    int64_t tokens;
    double cost_usd;
    char *answer;                 /* the final text, or NULL; owned */
};

void ad_agent_run_result_release(struct ad_agent_run_result *r);
/*
 * The model-tool-model loop. The transcript (in agent_sessions) is the
 * single source of truth: it is written after every model reply and every
 * tool result, so a run killed at any point continues with resume from the
 * last message written (tool calls without a result are run again). The
 * run ends at a final answer, a record_outcome call, the turn limit, the
 * cost limit, the deadline, N failed calls in a row of one tool, or an LLM
 * error (an open breaker, a chain out of providers); then it becomes an
 * episode. A model reply or tool result the deadline cut short is not
 * written: a resumed run asks or runs it again.
 * Returns 0 whenever the run ended that way (the result says how); a
 * negative code when it could not run at all (bad options, an unknown or
 * finished session, the store).
 */
int ad_agent_run(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                 struct ad_llm *llm, const struct ad_agent_run_opts *o,
                 struct ad_agent_run_result *res, struct ad_err *err);

/*
 * Tool permissions (loop_perm.c): an agent's allow-list, else a default by
 * maturity (STUDENT none, INTERN read-only skills and the tools of modules
 * above, SUPERVISED and AUTONOMOUS every tool). A call outside it gets an
 * error result; nothing runs.
 *
 * ad_agent_tools_set stores allow, tool names joined by ',' ("" none), as
 * the agent's allow-list; NULL clears it (back to the maturity's default).
 */
int ad_agent_tools_set(struct ad_store *st, const char *tenant_id, const char *agent_id,
                       const char *allow, struct ad_err *err);
/* Whether a may call tool (skill: a catalog skill, read_only: its code's); *why says why. */
bool ad_agent_tool_allowed(const struct ad_agent *a, const char *tool, bool skill,
                           bool read_only, const char **why);
/* A skill's code is read-only when it names no side effect (loop_perm.c lists them). */
bool ad_agent_skill_read_only(const char *code);

/*
 * Replay (loop_replay.c): the session's tool calls run again against the
 * catalog's current skill versions in the sandbox (limits: per call; NULL
 * defaults), nothing recorded. *out (decref) gets {"session_id",
 * "agent_id", "calls": [{"call_id", "tool", "arguments", "before",
 * "after", "version", "status": "same"|"changed"|"skipped", "note"}],
 * "same", "changed", "skipped"}. AD_ENOTFOUND for no such session.
 */
int ad_agent_replay(struct ad_store *st, struct ad_sandbox *sb, const char *tenant_id,
                    const char *session_id, const struct ad_sandbox_limits *limits,
                    json_t **out, struct ad_err *err);

/* A resumed session last written longer ago than this gets a warning. */
#define AD_AGENT_STALE_MS (24 * 3600 * 1000LL)

/* The loop's sessions, newest first (transcripts not loaded); agent_id NULL: every agent. */
int ad_agent_sessions_list(struct ad_store *st, const char *tenant_id, const char *agent_id,
                           int limit, struct ad_agent_session **out, size_t *n,
                           struct ad_err *err);
/* One session with its transcript. */
int ad_agent_sessions_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_agent_session *out, struct ad_err *err);

/*
 * The skill versions agent_id ran most since since (ISO time, NULL: any),
 * among the tenant's 1,000 newest skill executions: only versions still
 * current in an active skill, most runs first (ties by id), at most limit,
 * into ids[]; *n gets how many.
 */
int ad_skill_usage_top(struct ad_store *st, const char *tenant_id, const char *agent_id,
                       const char *since, int limit, char (*ids)[AD_ID_SIZE], size_t *n,
                       struct ad_err *err);

/* ---- tools of modules above agent ---------------------------------------- */

/*
 * A module above agent (research: its steps) cannot be called from here;
 * the composition root registers its tools instead. The loop offers a
 * registered tool next to the catalog's skills (a skill of the same name
 * wins), checks the model's arguments against the tool's schema
 * (ad_skill_input_check: a mismatch goes back to the model), and calls fn
 * in this process: a provider tool is not sandboxed, so it must be safe
 * for any arguments a model may send (research runs commands in its own
 * sandbox and refuses to leave it).
 */
struct ad_agent_tool_env {
    struct ad_store *st;            /* the loop's, this thread's */
    struct ad_bus *bus;
    struct ad_llm *llm;             /* the loop's model; may be NULL */
    const char *tenant_id;
};

/*
 * 0 with *result (a new reference the loop owns; the model reads it) when
 * the tool did its work; a negative AD_E* code with err's message when it
 * refused or failed: the model reads the message, the loop goes on.
 */
typedef int ad_agent_tool_fn(void *arg, const struct ad_agent_tool_env *env,
                             const json_t *args, json_t **result, struct ad_err *err);

struct ad_agent_tool {
    const char *name;               /* [a-z0-9_], unique among the registered tools */
    const char *description;        /* what the model reads about it */
    const char *schema;             /* the arguments object's JSON schema, as JSON text */
    ad_agent_tool_fn *fn;
    /* NULL: always offered; else offered to a run only when it returns true. */
    bool (*available)(struct ad_store *st, const char *tenant_id);
};

/*
 * Registers a table of n tools (static storage: kept by pointer), for every
 * ad_agent_run of the process from then on; arg goes to each fn. The same
 * table again is a no-op. Thread-safe. AD_EINVAL for a schema that is not a
 * JSON object or a name taken by another table, AD_ELIMIT past 8 tables or
 * 32 tools.
 */
int ad_agent_tools_register(const struct ad_agent_tool *tools, size_t n, void *arg,
                            struct ad_err *err);
/*
 * The registered tool named name, and the arg of its table: a face that
 * offers the same tools (the MCP server) calls them as the loop does.
 * *tool is the registered table's entry (static). AD_ENOTFOUND.
 */
int ad_agent_tool_find(const char *name, const struct ad_agent_tool **tool, void **arg,
                       struct ad_err *err);
/*
 * Registers load_skill (a skill's instructions and its scripts' names) and
 * run_skill_script (one script of a kept Agent Skills folder, run in the
 * sandbox's command mode in a scratch copy of the folder, with argv and
 * stdin; 30 s, 64 KiB of output). tools_skills.c.
 */
int ad_agent_skill_tools_register(struct ad_err *err);

#endif
