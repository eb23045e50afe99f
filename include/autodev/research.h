/*
 * Autoresearch: metric-driven code experiments on any git repository.
 *
 * A session works in a git worktree of its own, on the branch
 * autodev/research-<id>, never in the user's checkout. Each iteration is
 * three steps: edit (one focused change of the --file targets), run (the
 * command, repeats times, the metric's median) and decide (keep the change
 * as a commit, or reset to the last kept commit). Every step writes its
 * result to the store before it returns, so after a crash (kill -9 at any
 * point) ad_research_resume puts the worktree back on the last kept commit
 * and the session goes on from its rows.
 *
 * Steps take and give JSON (the CLI, and later the agent loop, the server
 * and MCP, pass it through). Every function returns 0 or a negative AD_E*
 * code with the detail in err; *out (owned by the caller, json_decref) is
 * set only on success.
 *
 * One driver per session: edit, run, decide, finalize, resume and the loop
 * (and setup, through its baseline) hold the session's lock, an flock on
 * <workdir>/<id>.lock; a second process gets AD_EBUSY naming the holder's
 * pid, host and start. The kernel drops the lock when its holder dies
 * (kill -9 too), so a crash never blocks resume. status takes no lock.
 *
 * Keep rule: a change is kept only when it beats the best by more than the
 * margin AND by more than noise_k times the baseline's MAD, AND every gate
 * passes. Gates fail closed: a gate that cannot run blocks the keep.
 *
 * The command (and the check command) runs in the sandbox's command mode
 * (ad_sandbox_run_command, backend auto) unless the config says "sandbox":
 * false: with the linux backend the worktree is writable, the protected
 * paths in it and its .git read-only, no network, the whole tree killed on
 * timeout; the process backend (where linux cannot run) protects nothing
 * read-only. With "sandbox": false it runs on the host in a process group
 * of its own (setsid; on timeout SIGTERM, SIGKILL 200 ms later). Either way
 * the environment is scrubbed (PATH, HOME, LANG, LC_ALL, TMPDIR, USER), and
 * the report says "sandbox" (true|false) and "sandbox_backend".
 */
#ifndef AUTODEV_RESEARCH_H
#define AUTODEV_RESEARCH_H

/* Module research, layer 5: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 5
#error "autodev/research.h belongs to module research (layer 5), above the module including it"
#endif

#include <stddef.h>

#include <jansson.h>

#include "autodev/error.h"

struct ad_bus;
struct ad_llm;
struct ad_store;

/*
 * Where a session's rows live: a store handle and bus of this thread, and
 * the tenant; and the model of the edit step (NULL, or a chain of only the
 * offline provider: the offline mutator over EVOLVE blocks).
 */
struct ad_research_env {
    struct ad_store *st;
    struct ad_bus *bus;          /* may be NULL: no events */
    const char *tenant_id;
    struct ad_llm *llm;          /* may be NULL; borrowed */
};

/*
 * setup: config is an object with
 *   repo (string, required)       the git repository
 *   files (array of strings, required) the paths, relative to repo, edits may touch
 *   cmd (string, required)        the command, run by /bin/sh -c in the worktree
 *   metric (string, required)     its name
 *   pattern (string)              a PCRE2 pattern whose group 1 is the value
 *   direction ("lower"|"higher")  default "lower"
 *   iterations (int)              budget of iterations (default 10)
 *   max_seconds (int)             wall-time budget of the session, 0: none
 *   time_budget (int)             seconds per command run (default 60)
 *   repeats (int)                 runs per measurement (default 3)
 *   margin (number)               the gain needed over the best (default 0)
 *   noise_k (number)              how many MADs a gain must exceed (default 2)
 *   check (string)                a command that must pass for a keep
 *   protect (array of strings)    globs no edit may touch (added to the defaults)
 *   rules (string)                a rules file, relative to repo (default
 *                                 .autodev/research-rules when the repository has
 *                                 one): lines "protect|added|deleted NAME GLOB|PCRE2",
 *                                 '#' comments (README "Autoresearch"); read once
 *                                 at setup, a malformed file is AD_EINVAL naming
 *                                 the line; the file itself is protected
 *   memory_mib (int)              the sandbox's memory limit (default 2048)
 *   pids (int)                    the sandbox's process limit (default 256); CPU
 *                                 time is limited to time_budget
 *   secondary (array)             secondary metrics: strings
 *                                 "NAME[:PATTERN]:lower|higher:MARGIN" (MARGIN a
 *                                 number, or N% of the baseline's value) or objects
 *                                 {name, pattern?, direction, margin, relative}; a
 *                                 keep needs each within its margin of the
 *                                 baseline's value (gate "secondary:NAME", fails
 *                                 closed when a value cannot be read)
 *   allow_dirty (bool)            stash a dirty tree instead of refusing it
 *   workdir (string, required)    where the worktree and the report go
 *   seed (int)                    the offline mutator's seed
 *   token_budget (int)            the model's tokens of the session, 0: none
 *   usd_budget (number)           its cost in USD, 0: none
 *   spark_budget (int)            spark units of the session, 0: none; each
 *   spark_per_iteration (int)     iteration costs this many (default 4)
 * A dirty tree is AD_ESTATE (nothing is written). The result: the session's status.
 */
int ad_research_setup(const struct ad_research_env *env, const json_t *config, json_t **out,
                      struct ad_err *err);
/*
 * One edit of the next iteration (AD_ESTATE when one is pending): the
 * model's (env->llm) in SEARCH/REPLACE, a failed apply fed back once, or
 * the offline mutator's. An edit that did not apply after the retry is a
 * crashed iteration (decided at once). The model's tokens and cost are on
 * the iteration's detail and added to the session's totals.
 */
int ad_research_edit(const struct ad_research_env *env, const char *session_id, json_t **out,
                     struct ad_err *err);
/* Runs the command on the pending edit; a missing metric makes the iteration crash. */
int ad_research_run(const struct ad_research_env *env, const char *session_id, json_t **out,
                    struct ad_err *err);
/*
 * Keeps or reverts the measured edit. The gates (and the check command)
 * run only for an edit better than the best: the others are reverted
 * whatever they would say (their "gates" is null).
 */
int ad_research_decide(const struct ad_research_env *env, const char *session_id, json_t **out,
                       struct ad_err *err);
/* Writes report.json, report.md and results.tsv; the result names them. */
int ad_research_finalize(const struct ad_research_env *env, const char *session_id,
                         json_t **out, struct ad_err *err);
/* A session's status (session_id NULL: the list of the tenant's sessions). */
int ad_research_status(const struct ad_research_env *env, const char *session_id, json_t **out,
                       struct ad_err *err);
/*
 * After a crash: puts the worktree back on the last kept commit, applies
 * again the stored edit of an iteration that did not reach its decision
 * (it goes on from its phase; one interrupted twice, or whose diff no
 * longer applies, is decided as crashed, "interrupted"), and finishes a
 * setup that did not measure its baseline.
 */
int ad_research_resume(const struct ad_research_env *env, const char *session_id,
                       json_t **out, struct ad_err *err);

/* Called after each iteration's decision with its row as JSON (borrowed). */
typedef void ad_research_progress_fn(void *arg, const json_t *iteration);
/*
 * Iterations (edit, run, decide) until a budget is spent (iterations,
 * max_seconds, token_budget, usd_budget, spark_budget), then finalize.
 * The budgets are checked between iterations, so a started (paid)
 * iteration is always finished; the report's stopped_by names the budget.
 * *out is finalize's result.
 */
int ad_research_loop(const struct ad_research_env *env, const char *session_id,
                     ad_research_progress_fn *progress, void *arg, json_t **out,
                     struct ad_err *err);

/*
 * The metric from a command's output: group 1 of the last match of pattern
 * (PCRE2) when pattern is non-NULL, else the last line "NAME: value" or
 * "NAME=value". AD_ENOTFOUND when absent, AD_EINVAL for a bad pattern or
 * a value that is not a finite number.
 */
int ad_research_metric_extract(const char *output, const char *name, const char *pattern,
                               double *value, struct ad_err *err);

/*
 * The constitutional filter over a unified diff (git diff): rules is an
 * object with "allowed" (the editable paths), "protect" (globs), "metric"
 * (its name), "pattern" (the user's, may be absent), "rules" (the rules
 * file's, {"name", "kind", "pattern"}: gates "rule:NAME"). *results gets one
 * member per gate, {"ok": bool, "detail": string}; *passed is 1 when every
 * gate passed. A gate that cannot run counts as failed (fail closed).
 */
int ad_research_gates_check(const char *diff, const json_t *rules, json_t **results,
                            int *passed, struct ad_err *err);

#endif
