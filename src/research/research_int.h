/* The research module's private header: running commands (proc.c). */
#ifndef AD_RESEARCH_INT_H
#define AD_RESEARCH_INT_H

#include "autodev/buf.h"
#include "autodev/error.h"

/* What one command did. */
struct ad__proc_result {
    int exited;          /* 1: exited with status; 0: killed by a signal or timed out */
    int status;          /* exit status, or the signal */
    int timed_out;       /* the deadline passed and the process group was killed */
    int truncated;       /* output beyond the cap was dropped (the head is kept) */
    long long ms;        /* wall time */
    int sandboxed;       /* 1: ran in the sandbox's command mode */
    int oom;             /* sandboxed: the memory limit killed a process of the run */
    int cpu_limited;     /* sandboxed: the run's CPU time reached its limit */
    int cgroup;          /* sandboxed: memory and pids held per run by a cgroup */
    char backend[16];    /* "linux" or "process" when sandboxed, else "" */
};

/*
 * Runs argv (argv[0] looked up in PATH) in dir, in a session and process
 * group of its own, stdout and stderr together into out (at most cap bytes
 * kept: the last ones), stdin from /dev/null. env NULL inherits autodev's
 * environment; else it is the whole environment. After timeout_ms the group
 * gets SIGTERM, 200 ms later SIGKILL; when the leader ends, whatever it
 * left in its group is killed too. AD_EIO when it cannot start.
 */
int ad__proc_run(char *const argv[], const char *dir, char *const env[], long long timeout_ms,
                 size_t cap, struct ad_buf *out, struct ad__proc_result *res,
                 struct ad_err *err);

#include <jansson.h>

/*
 * "sh -c cmd" in the worktree for the run step (and the check command).
 * sandbox 0: ad__proc_run on the host. Otherwise the sandbox's command mode
 * (ad_sandbox_run_command, backend auto): the worktree writable, read-only
 * inside it every existing path the protect globs name (a "dir/" glob binds
 * the directory; other globs every file git tracks that they match) and the
 * worktree's .git; no network; env and nothing else. AD_ENOTSUP never: when
 * the linux backend cannot run here the process backend runs it (res says
 * which, and that one protects nothing). memory_bytes and pids are the
 * sandbox's limits (0: its defaults), CPU time is timeout_ms; the host
 * (sandbox 0) limits nothing.
 */
int ad__proc_run_cmd(const char *cmd, const char *worktree, const json_t *protect, int sandbox,
                     int64_t memory_bytes, int pids, char *const env[], long long timeout_ms,
                     size_t cap, struct ad_buf *out, struct ad__proc_result *res,
                     struct ad_err *err);

/*
 * git -C dir ARGS... (NULL-terminated, at most 28): 0 when it exits 0,
 * else AD_EIO with the head of its output. out (may be NULL) gets the
 * output (reset first).
 */
int ad__git(const char *dir, struct ad_buf *out, struct ad_err *err, ...)
    __attribute__((sentinel));
/* The first line of "git -C dir a1 a2 a3" (a2, a3 may be NULL), malloc'd into *line. */
int ad__git_line(const char *dir, char **line, struct ad_err *err, const char *a1,
                 const char *a2, const char *a3);

#include <jansson.h>

/* Text as a JSON string with every byte outside printable ASCII, newline and tab as '?'. */
json_t *ad__research_text(const char *p, size_t len);

struct ad_research_env;
struct ad_research_session;
struct ad_research_iteration;

/* finalize, with why the loop stopped (NULL: asked for). */
int ad__research_finalize(const struct ad_research_env *env, const char *session_id,
                          const char *why, json_t **out, struct ad_err *err);
/*
 * The report of a session and its n iterations: the JSON, the Markdown
 * and results.tsv (each malloc'd / a new reference).
 */
int ad__research_report(const struct ad_research_session *s,
                        const struct ad_research_iteration *v, size_t n, json_t **report,
                        char **markdown, char **tsv, struct ad_err *err);

struct ad_llm;

/*
 * The model's replies of the pending edit, kept in the session's state
 * ("replies": {"seq", "list": [{text, prompt_tokens, completion_tokens,
 * cost_usd, model}]}) the moment each arrives: a crash after a paid reply
 * and before the iteration's row does not pay for it again, the edit step
 * of the same iteration takes it from here instead of calling the model.
 * save writes the session's state to the store (arg is its argument).
 */
struct ad__research_journal {
    json_t *list;                                   /* borrowed: the stored replies */
    int (*save)(void *arg, struct ad_err *err);
    void *arg;
};

/* 1 when llm can write code (configured, and not only the offline provider). */
int ad__research_llm_usable(struct ad_llm *llm);
/*
 * The model's edit of the worktree (llm_edit.c): 0 with *hypothesis set
 * and the edit applied; or 0 with detail["failure"] when the reply did not
 * apply even after its one retry (nothing applied). detail gets
 * "proposer", "tokens", "cost_usd", "calls", "model", "retried". An error
 * when the first call fails (nothing was spent) or autodev failed.
 */
int ad__research_llm_edit(struct ad_llm *llm, const struct ad_research_session *s,
                          const struct ad_research_iteration *hist, size_t nhist,
                          struct ad__research_journal *journal, char **hypothesis,
                          json_t *detail, struct ad_err *err);

/*
 * Test hook, compiled in always (the fault injection of SQLite's tests):
 * when the environment variable AUTODEV_CRASH_AT (read once) is
 * "research.STEP.POINT" or "research.STEP.POINT:N", the process kills
 * itself with SIGKILL the first (the Nth) time it reaches that point, so
 * a test can check that resume after a kill -9 exactly there goes on. The
 * points: setup.worktree, setup.baseline (one of the baseline's runs done),
 * setup.measured, edit.replied (a model reply stored, the edit not yet
 * applied), edit.applied, run.partial (one run of the measurement done),
 * run.measured, decide.committed, decide.reset, finalize.written.
 * Anything else (unset, another name) does nothing.
 */
void ad__research_crash_point(const char *point);

/* ---- lock.c: one driver per session ---- */

/*
 * Takes the session's lock (<workdir>/<id>.lock, flock, never waits): *fd
 * to pass to ad__research_unlock. AD_EBUSY, naming the holder's pid, host
 * and start, when another process holds it.
 */
int ad__research_lock(const char *workdir, const char *session_id, int *fd, struct ad_err *err);
void ad__research_unlock(int fd);

/* ---- rules.c: the rules file ---- */

/*
 * Reads a rules file (see rules.c for the format) into *out, a new array
 * of {"name", "kind": "protect"|"added"|"deleted", "pattern"}. AD_EINVAL,
 * naming the file and the line, when it is missing or malformed.
 */
int ad__research_rules_load(const char *path, json_t **out, struct ad_err *err);

/* ---- secondary.c: secondary metrics ---- */

/*
 * The specs of config "secondary" (strings NAME[:PATTERN]:lower|higher:MARGIN
 * or objects) as objects {name, pattern?, direction, margin, relative}, each
 * checked (a pattern must compile); *out a new array. AD_EINVAL names the bad one.
 */
int ad__research_secondary_config(const json_t *in, const char *metric, json_t **out,
                                  struct ad_err *err);
/* One run's output: each spec's value appended to values[name] (arrays), or
 * its first failure to errors[name]. */
int ad__research_secondary_read(const json_t *specs, const char *output, json_t *values,
                                json_t *errors, struct ad_err *err);
/* detail["secondary"] = {name: median or null}, detail["secondary_errors"] when any. */
int ad__research_secondary_finish(const json_t *values, const json_t *errors, json_t *detail,
                                  struct ad_err *err);
/*
 * One gate per spec, "secondary:NAME", into gates: the iteration's value
 * (detail) against the baseline's (baseline: {name: value}) may be worse by
 * at most the margin (relative: that percentage of |baseline|). A value
 * missing on either side fails the gate. *passed is cleared on a failure.
 */
int ad__research_secondary_gates(const json_t *specs, const json_t *baseline,
                                 const json_t *detail, json_t *gates, int *passed,
                                 struct ad_err *err);

#endif
