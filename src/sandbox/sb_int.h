/*
 * Internals of the sandbox module, shared by its files:
 *
 *   sandbox.c          public API: options, slots, the choice of backend, the
 *                      request/response wire to the supervisors, result JSON,
 *                      'check'
 *   sandbox_super.c    the resident supervisor: one run at a time, the output
 *                      pump, status classification, the payload's last steps,
 *                      the backends' shared default steps
 *   sandbox_linux.c    the linux backend (ad__sb_linux_ops): namespaces, new
 *                      root, init, cgroup limits, the standby init
 *   sandbox_process.c  the process backend (ad__sb_process_ops): fork, the
 *                      scratch directory, the sweep
 *   sandbox_seccomp.c  the syscall denylist, compiled once to BPF
 *   sandbox_cgroup.c   cgroup v2 / v1 slots: memory (+swap 0) and pids limits
 *   sandbox_harness.c  the Python harness, embedded as a string
 *   sandbox_tree.c     a run's processes through /proc: walk, kill, CPU sum
 *   sandbox_cache.c    the probe cache: the linux trial run's success, kept
 *
 * A backend is a const struct ad__sb_backend_ops (see "backends" below); the
 * common code never asks which backend it runs, it calls the steps.
 *
 * Everything a clone3/fork child calls before execve must be
 * async-signal-safe: no malloc, no stdio, no locks. Functions that are say so.
 */
#ifndef AD__SB_INT_H
#define AD__SB_INT_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "autodev/buf.h"
#include "autodev/error.h"
#include "autodev/sandbox.h"

/* ---- seccomp.c -------------------------------------------------------- */

/*
 * The denylist as classic BPF. Every syscall not listed is allowed; socket
 * address families are an allow-list (unix, inet, inet6). Listed
 * syscalls fail with EPERM (so Python raises), except clone3 which fails with
 * ENOSYS so that libc falls back to clone, whose flags the filter can see.
 * A syscall of a foreign architecture (i386, x32) kills the process.
 */
struct ad__sb_filter {
    struct sock_filter *insns;   /* owned */
    unsigned short len;
    int rules;                   /* how many rules went in, for 'sandbox check' */
};

/* Compiles the denylist with libseccomp. AD_ENOTSUP when libseccomp refuses. */
/* The exec: backend's one run (sandbox_exec.c); 0 whenever r holds a result. */
int ad__sb_exec_run(const char *command, const struct ad_sandbox_spec *spec,
                    struct ad_sandbox_result *r, struct ad_err *err);

int ad__sb_filter_build(struct ad__sb_filter *f, struct ad_err *err);
void ad__sb_filter_free(struct ad__sb_filter *f);
/*
 * Sets no_new_privs and installs f on the calling thread. Async-signal-safe.
 * Returns 0 or -errno.
 */
int ad__sb_filter_apply(const struct ad__sb_filter *f);

/* ---- cgroup.c --------------------------------------------------------- */

enum ad__cg_version {
    AD__CG_NONE = 0,
    AD__CG_V1,
    AD__CG_V2,
};

/*
 * One slot's cgroup(s): for v2 one directory with memory and pids
 * controllers (and cpu, when it can be had); for v1 one directory in the
 * memory hierarchy and one in the pids hierarchy, and, where those
 * hierarchies are mounted, one in cpuacct (the run's CPU time) and one in
 * cpu (its quota; the same directory when both share a mount). Made once
 * per supervisor, reused run after run.
 *
 * CPU: v2's cpu.stat usage_usec is there in every cgroup, cpu controller or
 * not; v1 needs cpuacct. The quota, where there is one, holds the run to
 * one CPU (cpu.max / cpu.cfs_quota_us), so its CPU time grows no faster
 * than the wall clock and the supervisor knows when to look again.
 */
struct ad__cg_slot {
    enum ad__cg_version version;
    char mem_dir[512];      /* v2: the only directory */
    char pids_dir[512];     /* v1 only; "" for v2 */
    char cpu_dir[512];      /* v1: in cpuacct, "" without; "" for v2 */
    char quota_dir[512];    /* v1: in cpu, "" without or when it is cpu_dir */
    bool cpu_throttled;     /* a one-CPU quota applies */
    int v2_fd;              /* v2: O_DIRECTORY fd for CLONE_INTO_CGROUP, else -1 */
    uint64_t oom_kills_before;   /* baseline taken by ad__cg_slot_begin */
};

struct ad__cg_stats {
    bool oom_killed;        /* the kernel OOM-killed something in the slot this run */
    int64_t peak_bytes;     /* peak memory use of the slot this run, -1 if unknown */
};

/*
 * Finds a usable cgroup setup: v2 when the unified hierarchy has the memory
 * and pids controllers usable below our own cgroup, else v1 when both the
 * memory and pids hierarchies are mounted and writable, else AD__CG_NONE.
 * why (may be NULL) gets a one-line reason when the answer is not v2.
 */
enum ad__cg_version ad__cg_probe(char *why, size_t why_len);

/*
 * Makes the slot's cgroup directories named name (e.g. "autodev.1234.0")
 * below our own cgroup, with memory.max (+ swap 0) and pids.max set.
 * Removes stale "autodev.<pid>.*" directories whose pid is gone.
 */
int ad__cg_slot_create(struct ad__cg_slot *s, enum ad__cg_version v, const char *name,
                       struct ad_err *err);
/* Sets the limits for the next run; resets the peak counter; takes the OOM baseline. */
int ad__cg_slot_begin(struct ad__cg_slot *s, int64_t memory_bytes, int pids_max,
                      struct ad_err *err);
/* Moves pid into the slot (v1, or v2 without CLONE_INTO_CGROUP). */
int ad__cg_slot_attach(const struct ad__cg_slot *s, pid_t pid, struct ad_err *err);
/* The CPU time used in the slot since it was made, in ns; -1 when the slot
 * has no CPU account (v1 without cpuacct). */
int64_t ad__cg_slot_cpu_ns(const struct ad__cg_slot *s);
/* Whether a slot of version v would have a CPU account (v2: always; v1: a
 * cpuacct hierarchy reaches our cgroup). */
bool ad__cg_cpu_accounting(enum ad__cg_version v);
/* Reads this run's stats (after the run's processes are gone). */
void ad__cg_slot_end(struct ad__cg_slot *s, struct ad__cg_stats *st);
/* Kills whatever is left in the slot and removes the directories. */
void ad__cg_slot_destroy(struct ad__cg_slot *s);

/* ---- harness.c -------------------------------------------------------- */

/* The harness source. argv: harness.py ENTRY; reads /skill/skill.py and
 * /skill/input.json (paths relative to its own directory in the process
 * backend) and writes one JSON line to fd 3. */
extern const char ad__sb_harness_py[];
extern const size_t ad__sb_harness_py_len;

/* ---- the supervisor --------------------------------------------------- */

/* Inside the user namespace the payload is this uid and gid. */
#define AD__SB_INNER_ID 1000
/* Payload uids are claimed host-wide from [base, base + AD__SB_UID_RANGE). */
#define AD__SB_UID_RANGE 1024
#define AD__SB_UID_LOCKDIR "/run/autodev-sandbox"
#define AD__SB_MAX_ARGS 8

struct ad__sb_backend_ops;

/* Fixed for the life of one supervisor (one slot). */
struct ad__sb_config {
    const struct ad__sb_backend_ops *ops;   /* the backend, chosen once by ad_sandbox_new */
    char runtime[256];                   /* resolved absolute path */
    char runtime_buf[256];               /* storage behind argv[1..] */
    char *argv[AD__SB_MAX_ARGS + 4];     /* runtime, its flags; harness args appended */
    int argc;                            /* runtime + flags */
    unsigned host_uid, host_gid;         /* the payload's ids on the host; as root,
                                            the base until the supervisor claims one */
    bool change_uid;                     /* we are root: the payload gets host_uid */
    int slot;
    enum ad__cg_version cg_version;      /* what ad__cg_probe said in the caller */
    struct ad__sb_filter filter;         /* compiled in the caller; copied by fork */
    bool have_filter;
    bool prewarm;                        /* the backend passed its probe: ops->prewarm
                                            at start */
    char tmp_root[256];                  /* process backend: where its directories go
                                            ($AUTODEV_SANDBOX_TMP, else /tmp) */
    bool one_shot;                       /* ad_sandbox_options.one_shot: no init readied
                                            ahead but the first run's, until a second
                                            run shows more may come */
};

/* One run inside the supervisor. */
struct ad__sb_run {
    const struct ad__sb_config *cfg;
    struct ad__cg_slot *cg;              /* NULL when no cgroup is used */
    bool cg_limited;                     /* cgroup limits apply to this run */
    const char *code;
    size_t code_len;
    const char *entry;
    const char *input;
    size_t input_len;
    struct ad_sandbox_limits lim;        /* defaults filled in */
    bool probe;                          /* the trial run of a probe, not a caller's */
    /* Set by the backend's start. */
    pid_t pid;                           /* linux: the namespace's init */
    int pidfd;
    int out_fd, err_fd, res_fd;          /* our read ends */
    int status_fd;                       /* read end of the status channel */
    int hold_fd;                         /* linux: held open while the run lasts */
    /* linux: the read end of the cgroup gate, the payload's fd 4 (-1: none).
     * The harness runs no code of the skill before a 'g' comes on it. */
    int gate_fd;
    pid_t attacher;                      /* linux: the cgroup helper, reaped by reap */
    const char *lost_why;                /* why the status is lost, when the backend knows */
    /* Set by the backend's kill: what the run had used, -1 when not sampled. */
    int64_t cpu_ms_at_kill;
    int64_t rss_kb_at_kill;
};

/*
 * Status channel records, written by the child side (init or payload):
 *   "E<text>"   setup failed; the text says where and why
 *   "S<int>"    linux only: the payload's wait status, from init
 */
#define AD__SB_STATUS_MAX 512

/* sandbox_linux.c: an init made ahead of its run (see the top of that file). */
struct ad__sb_spare {
    bool ready;
    bool cg_limited;    /* in the slot's cgroup (or on its way there) */
    pid_t pid;
    pid_t attacher;     /* the helper moving it into the cgroup, 0 when none */
    int pidfd;          /* this and the fds below are our ends */
    int out_r, err_r, res_r, st_r;
    int ctl_w;
};

/*
 * One supervisor's state. The main loop owns it; the backend's steps get
 * it whole and keep their own part in it across runs.
 */
struct ad__sb_super {
    struct ad__sb_config *cfg;
    int sock;
    char uid_error[256];        /* why no payload uid could be claimed, "" if one was */
    /* linux */
    struct ad__cg_slot cg;
    bool cg_ready;
    bool cg_failed;
    struct ad__sb_spare spare;  /* the next run's init, on standby */
    int jobs;                   /* runs asked for so far, probes not counted */
    /* process */
    char base[256];             /* the supervisor's directory, "" until made */
};

/* ---- backends ---------------------------------------------------------- */

/*
 * A sandbox backend: what differs between the linux backend
 * (sandbox_linux.c) and the process backend (sandbox_process.c). The rest
 * of a run (the request, the payload's last steps, the output pump, the
 * status) is common code that calls these. ad_sandbox_new picks one
 * instance once (auto: linux when its probe passes, else process) and
 * every supervisor it forks keeps it in cfg->ops for life.
 *
 * No member is NULL: a backend without a step of its own uses the shared
 * default, ad__sb_def_<member>.
 */
struct ad__sb_backend_ops {
    const char *name;             /* "linux" or "process": the result's "backend" */
    enum ad_sb_backend id;        /* what ad_sandbox_backend answers */
    const char *lost_status;      /* the error when the payload's wait status is lost */

    /* In the caller (sandbox.c), with sb's ops already this backend. */

    /* Whether the backend works on this machine; why gets the reason when not. */
    bool (*probe)(struct ad_sandbox *sb, char *why, size_t why_len);

    /* In the supervisor (sandbox_super.c), in the order a run meets them. */

    /* Gets the first run ready when the supervisor starts (cfg->prewarm). */
    void (*prewarm)(struct ad__sb_super *S);
    /* Limits beyond the rlimits: sets run->cg and run->cg_limited when some apply. */
    void (*limit)(struct ad__sb_super *S, struct ad__sb_run *run);
    /* Starts the payload: sets run's pid, pidfd, out/err/res/status fds (and hold_fd). */
    int (*start)(struct ad__sb_super *S, struct ad__sb_run *run, struct ad_err *err);
    /* Whether the started run is isolated "full" rather than "degraded". */
    bool (*full_isolation)(const struct ad__sb_super *S, const struct ad__sb_run *run);
    /* Kills the run now (wall or output limit, caller gone); repeated until it exits. */
    void (*kill)(struct ad__sb_run *run);
    /* Kills what the run left behind; once per run, when run->pid has exited or
     * the pump gave up on it. */
    void (*sweep)(struct ad__sb_run *run);
    /*
     * After wait4 put run->pid's status in *wstatus: the payload's wait
     * status in *wstatus (status, status_len: what came on the status
     * channel), reaping whatever else of the run is ours. false when the
     * status is lost.
     */
    bool (*reap)(struct ad__sb_run *run, const char *status, size_t status_len,
                 int *wstatus);
    /* Releases what the backend keeps in S; the supervisor is about to exit. */
    void (*cleanup)(struct ad__sb_super *S);
};

extern const struct ad__sb_backend_ops ad__sb_linux_ops;
extern const struct ad__sb_backend_ops ad__sb_process_ops;

/* The shared defaults (sandbox.c for probe, sandbox_super.c for the rest). */
/* Always works. */
bool ad__sb_def_probe(struct ad_sandbox *sb, char *why, size_t why_len);
/* Nothing to get ready. */
void ad__sb_def_prewarm(struct ad__sb_super *S);
/* rlimits only (see ad__sb_payload_exec). */
void ad__sb_def_limit(struct ad__sb_super *S, struct ad__sb_run *run);
/* Always degraded. */
bool ad__sb_def_full_isolation(const struct ad__sb_super *S, const struct ad__sb_run *run);
/* Nothing: the run ends with its first process. */
void ad__sb_def_sweep(struct ad__sb_run *run);

/*
 * A trial run of a trivial skill through sb's backend (sandbox.c): the
 * probe of a backend whose failures are easier to meet than to predict.
 */
bool ad__sb_trial_run(struct ad_sandbox *sb, char *why, size_t why_len);

/* ---- sandbox_super.c ---------------------------------------------------- */

/*
 * The payload's last steps before execve, for both backends: fds 0-3,
 * rlimits, ids (uid/gid when set_ids), capabilities, seccomp, a clean
 * environment. dir holds harness.py, skill.py and input.json; cwd is where
 * it starts. Reports a failure on status_fd and exits 127.
 * Async-signal-safe; never returns.
 */
__attribute__((noreturn)) void ad__sb_payload_exec(const struct ad__sb_run *run, int out_fd,
                                                   int err_fd, int res_fd, int status_fd,
                                                   const char *dir, const char *cwd,
                                                   bool set_ids, uid_t uid, gid_t gid);
/*
 * Appends s (or v in decimal) to buf, whose used length is *len, never past
 * cap - 1 bytes, always NUL-terminating. Returns false when s did not fit.
 * Async-signal-safe: the child side cannot use snprintf.
 */
bool ad__sb_append(char *buf, size_t cap, size_t *len, const char *s);
bool ad__sb_append_uint(char *buf, size_t cap, size_t *len, unsigned long long v);
/* Writes "E<what>: <strerror(errnum)>" to fd. Async-signal-safe. */
void ad__sb_report(int fd, const char *what, int errnum);
/*
 * The mount flags of path (nosuid, nodev, noexec, the atime ones) that a
 * remount inside a user namespace must keep, or it fails with EPERM.
 */
unsigned long ad__sb_locked_flags(const char *path);
/* Writes all of data to fd (blocking). Async-signal-safe. 0 or -errno. */
int ad__sb_write_all(int fd, const void *data, size_t len);

/* Length-prefixed frames on the supervisor socket (4-byte little endian). */
int ad__sb_frame_write(int fd, const char *data, size_t len);
/* Reads one frame into b (b's cap applies). timeout_ms < 0: no timeout.
 * AD_EIO on EOF (the peer is gone), AD_ETIMEOUT, AD_ETOOBIG. */
int ad__sb_frame_read(int fd, struct ad_buf *b, int timeout_ms, struct ad_err *err);

/*
 * Overwrites this process's command line with title and clears its
 * environment, both in memory (the areas /proc/PID/cmdline and environ
 * show, which a fork shares with the process that made the sandbox: its
 * argv, its API keys) and for getenv. Async-signal-safe; best effort.
 */
void ad__sb_scrub_self(const char *title);

/* The supervisor's loop; never returns. sock is its end of the socketpair. */
__attribute__((noreturn)) void ad__sb_supervisor_main(struct ad__sb_config *cfg, int sock);

/* ---- sandbox_cache.c ---------------------------------------------------- */

/* Where the probe cache of this configuration is and what key it must hold. */
struct ad__sb_cache {
    char path[512];
    uint64_t key;
    bool usable;       /* there is a cache directory to use */
};

void ad__sb_cache_init(struct ad__sb_cache *c, const struct ad__sb_config *cfg);
/* Whether the cache says the linux backend's trial run passed, for this key. */
bool ad__sb_cache_hit(const struct ad__sb_cache *c);
/* Records a passed trial run; failures to write are ignored (a cache). */
void ad__sb_cache_put(const struct ad__sb_cache *c);
/* Forgets it (a sandbox made from the cache met a sandbox_error). */
void ad__sb_cache_drop(const struct ad__sb_cache *c);
/* Whether sb settled its backend from the cache rather than a trial run. */
bool ad__sb_probe_cached(const struct ad_sandbox *sb);

/* ---- sandbox_tree.c ----------------------------------------------------- */

/*
 * Calls fn for every descendant of root (not root itself), breadth first,
 * with the parent it was listed under; skip and its subtree are left out.
 * Returns how many processes were listed (skip counted). Allocation-free;
 * not reentrant.
 */
int ad__sb_tree_walk(pid_t root, pid_t skip,
                     void (*fn)(pid_t pid, pid_t parent, void *arg), void *arg);
/*
 * SIGKILLs every descendant of the calling process (the supervisor) and
 * reaps them, but keep, which is killed and left for its owner's wait4.
 * Returns how many children were reaped.
 */
int ad__sb_tree_kill(pid_t keep);
/*
 * The CPU time, in ms, of the calling process's descendants (skip and its
 * subtree left out): the live ones' own and reaped children's time, plus
 * every child the caller reaped (RUSAGE_CHILDREN). Grows monotonically but
 * for processes leaving the tree unreaped; a run's use is the difference
 * of two readings.
 */
int64_t ad__sb_tree_cpu_ms(pid_t skip);

#endif
