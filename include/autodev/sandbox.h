/*
 * The sandbox: runs untrusted, LLM-written code and reports what it did.
 *
 * A struct ad_sandbox owns one or more resident supervisor processes
 * ("slots"), forked by ad_sandbox_new (and again only to replace one that
 * died). Each run is a fresh child of a supervisor; with the linux backend
 * a supervisor keeps the next run's init ready in advance (cloned, mapped,
 * root built, in its cgroup), so a request only hands it the job:
 *
 *   linux    new user, mount, pid, ipc, uts, net (empty) and cgroup
 *            namespaces; a read-only root built on a tmpfs; the payload as
 *            an unprivileged host uid (one per slot), no capabilities,
 *            no_new_privs, a seccomp denylist; cgroup memory and pids
 *            limits; rlimits. isolation "full" (or "degraded" when no
 *            cgroup memory controller is usable and rlimits stand in).
 *   process  fork + setsid + rlimits + no_new_privs + seccomp, a scratch
 *            directory, and (when run as root) a dedicated uid; killing
 *            the process group, the supervisor's whole tree (it is a child
 *            subreaper) and, as root, that uid at the end of every run.
 *            Always "degraded".
 *
 * Neither backend lets a payload reach the caller's secrets: the caller
 * (see ad_sandbox_new), the supervisors and the inits are non-dumpable,
 * and the supervisors' and inits' argv and environment are overwritten.
 * CPU time is limited for the whole run (cgroup account, else a sum over
 * the supervisor's tree from /proc); 'check' lists what each backend
 * contains and what it does not.
 *   auto     linux when a probe run works on this machine, else process
 *            with one warning.
 *
 * The choice is made once, by ad_sandbox_new, and holds for every run of
 * that sandbox (ad_sandbox_backend says which).
 *
 * A small harness inside loads the code, calls the entry function with the
 * input (as keyword arguments when the input is an object whose keys fit the
 * signature, else as one argument) and writes one JSON line on a private
 * channel. The caller gets a struct ad_sandbox_result, whose JSON form is
 * the sandbox's contract (see ad_sandbox_result_json).
 *
 * Make the sandbox (ad_sandbox_new) before the process starts threads: the
 * supervisors are forked then, and a fork is cheapest and safest early.
 * ad_sandbox_run is thread-safe; concurrent runs take different slots, and
 * each slot's payloads run as a host uid of its own (see below). The
 * supervisors are children of the caller: a caller that reaps with
 * waitpid(-1) must leave them alone.
 */
#ifndef AUTODEV_SANDBOX_H
#define AUTODEV_SANDBOX_H

/* Module sandbox, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/sandbox.h belongs to module sandbox (layer 3), above the module including it"
#endif

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/error.h"

enum ad_sb_backend {
    AD_SB_AUTO = 0,
    AD_SB_LINUX,
    AD_SB_PROCESS,
    AD_SB_EXEC,           /* "exec:COMMAND": a user command speaks the contract (sandbox_exec.c) */
};

enum ad_sb_status {
    AD_SB_OK = 0,         /* the entry returned a JSON-serialisable value */
    AD_SB_ERROR,          /* the skill raised, exited or returned garbage */
    AD_SB_TIMEOUT,        /* the wall-clock limit passed; the whole tree was killed */
    AD_SB_CPU_LIMIT,      /* the run's CPU time, all its processes together, reached
                             the limit (or one process's RLIMIT_CPU fired) */
    AD_SB_OOM,            /* the memory limit was hit (cgroup OOM kill or MemoryError) */
    AD_SB_SIGNAL,         /* the payload died of another signal */
    AD_SB_OUTPUT_LIMIT,   /* more than output_bytes of output; killed */
    AD_SB_SANDBOX_ERROR,  /* the sandbox itself failed; the skill may not have run */
};

/* Defaults of struct ad_sandbox_limits (a zero field takes these). */
#define AD_SB_DEFAULT_WALL_MS 60000
#define AD_SB_DEFAULT_MEMORY (256LL << 20)
#define AD_SB_DEFAULT_PIDS 64
#define AD_SB_DEFAULT_OUTPUT (1LL << 20)
#define AD_SB_DEFAULT_TMPFS (64LL << 20)
/* stdout and stderr are each kept up to this many bytes in the result. */
#define AD_SB_STREAM_KEEP (64 * 1024)
#define AD_SB_DEFAULT_RUNTIME "/usr/bin/python3 -I -S"
/* As root, each supervisor claims a free host uid from [uid_base, uid_base + 1024)
 * for its payloads (a lock in /run/autodev-sandbox); otherwise they run as the
 * caller's uid. */
#define AD_SB_DEFAULT_UID_BASE 880000
#define AD_SB_MAX_SLOTS 64

struct ad_sandbox_limits {
    int64_t wall_ms;        /* 0: 60 s */
    int64_t cpu_ms;         /* 0: the wall limit; rounded up to whole seconds; for the
                               whole run (every process of it), and for each process */
    int64_t memory_bytes;   /* 0: 256 MiB */
    int pids;               /* 0: 64 */
    int64_t output_bytes;   /* 0: 1 MiB, stdout + stderr + result together */
    int64_t tmpfs_bytes;    /* 0: 64 MiB, the size of /tmp (and of RLIMIT_FSIZE) */
};

struct ad_sandbox_options {
    enum ad_sb_backend backend;   /* AD_SB_AUTO by default */
    const char *runtime;          /* NULL: AD_SB_DEFAULT_RUNTIME; "PATH [ARG...]" */
    int slots;                    /* concurrent runs, 0: 4, at most AD_SB_MAX_SLOTS */
    unsigned uid_base;            /* 0: $AUTODEV_SANDBOX_UID_BASE, else the default */
    bool quiet;                   /* no warning when auto falls back to process */
    /*
     * The sandbox is made for one run (a command that runs a skill and
     * exits): the linux backend readies the first run's init when the
     * supervisor starts, but no standby init for a next run that may never
     * come. Should a second run come all the same, inits are readied ahead
     * from then on. Without it every run readies the next one's.
     */
    bool one_shot;
    /*
     * With backend AD_SB_EXEC: the command (run by /bin/sh -c) that gets one
     * JSON request on stdin and answers one JSON result on stdout; see
     * README "Sandbox backends". No supervisors are made.
     */
    const char *exec;
};

struct ad_sandbox_spec {
    const char *code;          /* the skill's source */
    size_t code_len;           /* 0: strlen(code) */
    const char *entry;         /* the function to call, a Python identifier */
    const char *input_json;    /* the argument as JSON text; NULL: null */
    struct ad_sandbox_limits limits;
};

struct ad_sandbox_result {
    enum ad_sb_status status;
    int exit_code;             /* the payload's exit code, -1 when it died of a signal */
    int signal;                /* the signal that ended it, else 0 */
    int64_t wall_ms;
    int64_t cpu_ms;            /* every process of the run (see README "The sandbox") */
    int64_t max_rss_kb;
    json_t *output;            /* owned; the entry's return value, or NULL. Only values
                                  autodev carries: integers within int64, strings without
                                  NUL or lone surrogates, distinct keys; another value is
                                  an AD_SB_ERROR "TypeError" result saying why */
    json_t *error;             /* owned; {"type","message","traceback"} or NULL */
    /* The streams as bytes: owned, NUL-terminated after stdout_len (stderr_len)
     * bytes, which may hold NULs of their own; at most AD_SB_STREAM_KEEP. A
     * length of 0 with a non-empty text (a result made by hand) means up to
     * the first NUL. */
    char *stdout_text;
    char *stderr_text;
    size_t stdout_len;
    size_t stderr_len;
    bool truncated;            /* some output was not kept */
    bool degraded;             /* isolation "degraded" rather than "full" */
    char backend[16];          /* "linux" or "process" */
    char execution_id[AD_ID_SIZE];
    int64_t call_us;  /* the entry call alone, timed inside the harness with time.perf_counter_ns; -1 unknown */
    int64_t load_us;  /* the skill's own load before it (compile and top level), timed alike; -1
                         unknown. Neither counts process start-up; the harness writes both on its
                         own channel after the call returns, and the supervisor keeps them only
                         within the run's wall time (see sandbox_harness.c) */
};

struct ad_sandbox;

/*
 * Makes a sandbox. With AD_SB_AUTO or AD_SB_LINUX this probes the linux
 * backend once (a real run of the namespace setup); AD_SB_LINUX fails with
 * AD_ENOTSUP and the reason when the probe fails. A probe that passed is
 * remembered in the user's cache ($AUTODEV_HOME/cache when that home
 * exists, else $XDG_CACHE_HOME/autodev, else ~/.cache/autodev:
 * "sandbox-probe") for
 * this boot, kernel, user, binary and runtime, and not run again while
 * that holds (see sandbox_cache.c).
 *
 * It also makes the calling process non-dumpable (PR_SET_DUMPABLE 0), for
 * good: a process-backend payload runs as the caller's uid when the caller
 * is not root, and could otherwise read the caller's environment (API
 * keys) and memory through /proc. The caller then dumps no core and a
 * debugger of the same uid cannot attach to it.
 */
int ad_sandbox_new(const struct ad_sandbox_options *opts, struct ad_sandbox **out,
                   struct ad_err *err);
/* Stops the supervisors (killing any run in flight) and frees sb. */
void ad_sandbox_free(struct ad_sandbox *sb);

/* The backend runs go to: AD_SB_LINUX or AD_SB_PROCESS. */
enum ad_sb_backend ad_sandbox_backend(const struct ad_sandbox *sb);

/*
 * Runs spec. Returns 0 whenever a result was produced, whatever the skill
 * did (the status says); a negative code only for invalid specs (AD_EINVAL)
 * or when no supervisor could be reached. result must be cleared with
 * ad_sandbox_result_clear afterwards in both cases.
 */
int ad_sandbox_run(struct ad_sandbox *sb, const struct ad_sandbox_spec *spec,
                   struct ad_sandbox_result *result, struct ad_err *err);

void ad_sandbox_result_clear(struct ad_sandbox_result *r);

/*
 * The result as the contract's JSON object: status, exit_code, signal,
 * wall_ms, cpu_ms, max_rss_kb, output, error, stdout, stderr, truncated,
 * isolation ("full" | "degraded"), backend, execution_id, call_us,
 * load_us. New reference.
 */
json_t *ad_sandbox_result_json(const struct ad_sandbox_result *r);
/* The inverse (call_us and load_us absent: -1); result must be zeroed or cleared. */
int ad_sandbox_result_from_json(const json_t *j, struct ad_sandbox_result *r,
                                struct ad_err *err);

const char *ad_sb_status_name(enum ad_sb_status s);
const char *ad_sb_backend_name(enum ad_sb_backend b);
/* "auto", "linux", "process" or "exec:COMMAND" (AD_SB_EXEC; the caller passes COMMAND
 * as opts->exec); AD_EINVAL otherwise. */
int ad_sb_backend_parse(const char *s, enum ad_sb_backend *out, struct ad_err *err);

/*
 * What isolation this machine gives with opts->backend (auto: what
 * ad_sandbox_new would settle on) and why not more, as a JSON object:
 *   {"backend", "isolation", "checks": [{"name","ok","detail"}...],
 *    "guarantees": [sentence...], "gaps": [sentence...]}
 * guarantees say what the backend contains on this machine, gaps what it
 * does not. When the backend asked for cannot run here (linux without
 * namespaces) "backend" and "isolation" are "none", "error" says why and
 * there are no guarantees. Probes without needing a struct ad_sandbox.
 * New reference, or NULL on ENOMEM.
 */
json_t *ad_sandbox_check(const struct ad_sandbox_options *opts);

/*
 * Runs this process has made so far, by the status of their result
 * (counts[s] for each enum ad_sb_status s; a run that gave no result is
 * not counted), over every sandbox of every thread: what a server's
 * metrics report.
 */
#define AD_SB_STATUS_COUNT 8
void ad_sandbox_run_counts(uint64_t counts[AD_SB_STATUS_COUNT]);

/* ---- command mode ------------------------------------------------------- */

/*
 * Runs a command (an argv, not a skill) in a directory of the host, for
 * autoresearch's run step. No supervisor: each call forks its own run.
 *
 *   linux    new user, mount, pid, net (empty: no interface up, not even
 *            the host's loopback), ipc and uts namespaces; a root built on a
 *            tmpfs: the host's /usr, /bin, /sbin, /lib* read-only, a small
 *            /etc, /dev (null, zero, full, random, urandom), a private /proc
 *            and /tmp; dir bound writable at the same path, each protect
 *            path re-bound read-only over it; every other path read-only
 *            or absent. The command runs as the caller's uid (1000 inside),
 *            no capabilities, no_new_privs, the sandbox's seccomp denylist.
 *            Memory and pids are limited per run by a cgroup of its own
 *            (v2, else v1, as the skill runner's slots: memory without
 *            swap, pids counting the leader and init, one CPU's quota);
 *            the run's CPU time is read from the cgroup and the whole run
 *            is killed when it reaches cpu_ms. Without a usable cgroup,
 *            rlimits stand in (res->cgroup false): RLIMIT_AS is the memory
 *            limit per process, pids are not limited.
 *            The time limit kills the namespace's init: every process of
 *            the run dies with it, whatever session it made.
 *   process  fork + setsid + no_new_privs + the seccomp denylist in dir on
 *            the host, and as root no capabilities (securebits locked): NO read-only protection (protect is ignored), the
 *            host's network and filesystem. The time limit kills the
 *            process group (SIGTERM, SIGKILL 200 ms later); a process that
 *            makes a session of its own escapes it. Limits are rlimits per
 *            process: RLIMIT_AS (memory_bytes), RLIMIT_CPU (cpu_ms); pids
 *            are not limited (RLIMIT_NPROC would count every process of
 *            the caller's uid). Always degraded.
 *   auto     linux when its setup works here (a failed setup runs nothing),
 *            else process.
 *
 * Both: each process also gets RLIMIT_CPU (cpu_ms rounded up, plus one
 * second: the cgroup's account is the real limit) and no core dumps.
 *
 * Both: the environment is env and nothing else (the caller's is not
 * inherited); the caller is made non-dumpable for good, as by
 * ad_sandbox_new, so a command of its uid cannot read the caller's
 * environment or memory through /proc; stdin is /dev/null, stdout and stderr go together to out, of
 * which the last output_cap bytes are kept.
 */
struct ad_sandbox_cmd {
    char *const *argv;            /* argv[0]: a path, or a name looked up in PATH */
    char *const *env;             /* the whole environment, NULL-terminated; NULL: empty */
    const char *dir;              /* an existing directory, the working directory */
    const char *const *protect;   /* NULL-terminated existing paths inside dir; may be NULL */
    enum ad_sb_backend backend;   /* AD_SB_AUTO: linux when it works, else process */
    int64_t wall_ms;              /* 0: AD_SB_DEFAULT_WALL_MS */
    size_t output_cap;            /* 0: AD_SB_DEFAULT_OUTPUT */
    int64_t memory_bytes;         /* 0: AD_SB_CMD_DEFAULT_MEMORY */
    int pids;                     /* 0: AD_SB_CMD_DEFAULT_PIDS (the command's processes) */
    int64_t cpu_ms;               /* 0: wall_ms; the run's CPU time, all processes */
};

/* Defaults of command mode's limits: a build or a benchmark, not a skill. */
#define AD_SB_CMD_DEFAULT_MEMORY (2048LL << 20)
#define AD_SB_CMD_DEFAULT_PIDS 256

struct ad_sandbox_cmd_result {
    bool exited;                  /* exited by itself (not timed out): status is its code */
    int status;                   /* the exit code, or the signal that ended it */
    bool timed_out;               /* the wall limit passed; the whole run was killed */
    bool truncated;               /* output beyond output_cap was dropped (the head) */
    int64_t wall_ms;
    enum ad_sb_backend backend;   /* AD_SB_LINUX or AD_SB_PROCESS: where it ran */
    bool degraded;                /* the process backend's weaker guarantees */
    bool cgroup;                  /* memory and pids were limited per run by a cgroup */
    bool oom;                     /* the cgroup's OOM killer killed a process of the run */
    bool cpu_limited;             /* the run's CPU time reached cpu_ms: the run was killed */
    int64_t cpu_ms;               /* the run's CPU time (cgroup), -1 when unknown */
};

/*
 * Runs cmd; out is reset and gets the output's tail. 0 whenever the command
 * was started (whatever it did: see res); AD_EINVAL for a bad cmd (no argv,
 * dir not a directory, a protect path missing or outside dir), AD_ENOTSUP
 * when the linux backend was asked for and cannot run here (why in err),
 * AD_EIO when no process could be made.
 */
int ad_sandbox_run_command(const struct ad_sandbox_cmd *cmd, struct ad_buf *out,
                           struct ad_sandbox_cmd_result *res, struct ad_err *err);

#endif
