/*
 * The sandbox's public face: options and specs checked, the backend chosen,
 * supervisors (slots) started and restarted, requests sent and results read
 * back, the result's JSON form and 'check'.
 *
 * Sections: names; result JSON; runtime; slots; run; new/free (with the
 * choice of backend); check.
 *
 * The backend is a const struct ad__sb_backend_ops (sb_int.h), chosen once
 * by ad_sandbox_new and kept in base.ops; every supervisor is forked with
 * it and keeps it for life, so a request need not name it.
 *
 * The wire to a supervisor is a stream socketpair carrying length-prefixed
 * JSON: the request {"execution_id","code","entry","input","limits"} and
 * the reply, which is ad_sandbox_result_json() itself. A supervisor that
 * dies or stops answering (wall limit + 15 s) is killed and replaced on the
 * next run; the run gets status sandbox_error.
 */
#include "compat.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/sandbox.h"
#include "autodev/text.h"
#include "sb_int.h"

/* ---- names -------------------------------------------------------------- */

static const char *const status_names[] = {
    [AD_SB_OK] = "ok",
    [AD_SB_ERROR] = "error",
    [AD_SB_TIMEOUT] = "timeout",
    [AD_SB_CPU_LIMIT] = "cpu_limit",
    [AD_SB_OOM] = "oom",
    [AD_SB_SIGNAL] = "signal",
    [AD_SB_OUTPUT_LIMIT] = "output_limit",
    [AD_SB_SANDBOX_ERROR] = "sandbox_error",
};

const char *ad_sb_status_name(enum ad_sb_status s)
{
    if ((unsigned)s < AD_ARRAY_SIZE(status_names))
        return status_names[s];
    return "sandbox_error";
}

const char *ad_sb_backend_name(enum ad_sb_backend b)
{
    switch (b) {
    case AD_SB_LINUX:
        return "linux";
    case AD_SB_PROCESS:
        return "process";
    case AD_SB_EXEC:
        return "exec";
    default:
        return "auto";
    }
}

int ad_sb_backend_parse(const char *s, enum ad_sb_backend *out, struct ad_err *err)
{
    if (s && strcmp(s, "auto") == 0)
        *out = AD_SB_AUTO;
    else if (s && strcmp(s, "linux") == 0)
        *out = AD_SB_LINUX;
    else if (s && strcmp(s, "process") == 0)
        *out = AD_SB_PROCESS;
    else if (s && strncmp(s, "exec:", 5) == 0 && s[5 + strspn(s + 5, " \t")])
        *out = AD_SB_EXEC;
    else
        return ad_error(err, AD_EINVAL, "unknown sandbox backend '%s' (auto, linux, process or "
                        "exec:COMMAND)",
                        s ? s : "");
    return 0;
}

/* ---- result JSON -------------------------------------------------------- */

void ad_sandbox_result_clear(struct ad_sandbox_result *r)
{
    if (!r)
        return;
    json_decref(r->output);
    json_decref(r->error);
    free(r->stdout_text);
    free(r->stderr_text);
    memset(r, 0, sizeof(*r));
}

/* Bytes in a UTF-8 sequence led by c, or 1 for a byte that leads none. */
static size_t utf8_len(unsigned char c)
{
    return c < 0xc2 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 1;
}

/*
 * Skill output is bytes, JSON strings are Unicode: every byte is kept,
 * NULs too (JSON writes them \u0000), and each byte that is not part of
 * valid UTF-8 becomes '?', so that one bad byte cannot blank the rest of
 * the text from a reviewer.
 */
static json_t *bytes_json(const char *t, size_t len)
{
    struct ad_buf b = AD_BUF_INIT;
    json_t *v;
    size_t i = 0;

    if (!t)
        return json_string("");
    v = json_stringn(t, len);
    if (v)
        return v;
    ad_buf_init(&b, len + 1);
    while (i < len) {
        size_t n = utf8_len((unsigned char)t[i]);

        if ((unsigned char)t[i] < 0x80 || (n > 1 && i + n <= len && ad_utf8_valid(t + i, n))) {
            n = (unsigned char)t[i] < 0x80 ? 1 : n;
            if (ad_buf_add(&b, t + i, n) < 0)
                break;
            i += n;
        } else {
            if (ad_buf_add(&b, "?", 1) < 0)
                break;
            i++;
        }
    }
    v = i == len ? json_stringn(b.ptr, b.len) : NULL;
    ad_buf_release(&b);
    return v;
}

/* A stream's length: len, or up to its first NUL when len is 0 (a result
 * made by hand, without lengths). */
static size_t stream_len(const char *t, size_t len)
{
    return len ? len : t ? strlen(t) : 0;
}

/* A string of ours (ids, names): ASCII, no NUL. */
static json_t *text_json(const char *t)
{
    return bytes_json(t, t ? strlen(t) : 0);
}

json_t *ad_sandbox_result_json(const struct ad_sandbox_result *r)
{
    json_t *o = json_object();
    int bad = 0;

    if (!o)
        return NULL;
    bad |= json_object_set_new(o, "status", json_string(ad_sb_status_name(r->status)));
    bad |= json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    bad |= json_object_set_new(o, "signal", json_integer(r->signal));
    bad |= json_object_set_new(o, "wall_ms", json_integer(r->wall_ms));
    bad |= json_object_set_new(o, "cpu_ms", json_integer(r->cpu_ms));
    bad |= json_object_set_new(o, "max_rss_kb", json_integer(r->max_rss_kb));
    bad |= json_object_set(o, "output", r->output ? r->output : json_null());
    bad |= json_object_set(o, "error", r->error ? r->error : json_null());
    bad |= json_object_set_new(o, "stdout", bytes_json(r->stdout_text, stream_len(r->stdout_text,
                                                                            r->stdout_len)));
    bad |= json_object_set_new(o, "stderr", bytes_json(r->stderr_text, stream_len(r->stderr_text,
                                                                            r->stderr_len)));
    bad |= json_object_set_new(o, "truncated", json_boolean(r->truncated));
    bad |= json_object_set_new(o, "isolation", json_string(r->degraded ? "degraded" : "full"));
    bad |= json_object_set_new(o, "backend", json_string(r->backend[0] ? r->backend : "none"));
    bad |= json_object_set_new(o, "execution_id", text_json(r->execution_id));
    bad |= json_object_set_new(o, "call_us", json_integer(r->call_us));
    bad |= json_object_set_new(o, "load_us", json_integer(r->load_us));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* n bytes of p and a NUL, in new memory. */
static char *memdup_z(const char *p, size_t n)
{
    char *q = malloc(n + 1);

    if (q) {
        memcpy(q, p, n);
        q[n] = '\0';
    }
    return q;
}

int ad_sandbox_result_from_json(const json_t *j, struct ad_sandbox_result *r,
                                struct ad_err *err)
{
    const char *status, *iso, *backend, *id, *out, *errt;
    size_t i;

    if (!json_is_object(j))
        return ad_error(err, AD_EINVAL, "sandbox result is not an object");
    status = json_string_value(json_object_get(j, "status"));
    iso = json_string_value(json_object_get(j, "isolation"));
    backend = json_string_value(json_object_get(j, "backend"));
    id = json_string_value(json_object_get(j, "execution_id"));
    out = json_string_value(json_object_get(j, "stdout"));
    errt = json_string_value(json_object_get(j, "stderr"));
    if (!status || !iso || !backend || !id || !out || !errt)
        return ad_error(err, AD_EINVAL, "sandbox result lacks a field");
    r->status = AD_SB_SANDBOX_ERROR;
    for (i = 0; i < AD_ARRAY_SIZE(status_names); i++)
        if (strcmp(status, status_names[i]) == 0)
            r->status = (enum ad_sb_status)i;
    r->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
    r->signal = (int)json_integer_value(json_object_get(j, "signal"));
    r->wall_ms = json_integer_value(json_object_get(j, "wall_ms"));
    r->cpu_ms = json_integer_value(json_object_get(j, "cpu_ms"));
    r->max_rss_kb = json_integer_value(json_object_get(j, "max_rss_kb"));
    r->call_us = json_is_integer(json_object_get(j, "call_us"))
                     ? json_integer_value(json_object_get(j, "call_us")) : -1;
    r->load_us = json_is_integer(json_object_get(j, "load_us"))
                     ? json_integer_value(json_object_get(j, "load_us")) : -1;
    r->truncated = json_is_true(json_object_get(j, "truncated"));
    r->degraded = strcmp(iso, "full") != 0;
    snprintf(r->backend, sizeof(r->backend), "%s", backend);
    snprintf(r->execution_id, sizeof(r->execution_id), "%s", id);
    r->output = json_object_get(j, "output");
    if (json_is_null(r->output))
        r->output = NULL;
    json_incref(r->output);
    r->error = json_object_get(j, "error");
    if (json_is_null(r->error))
        r->error = NULL;
    json_incref(r->error);
    r->stdout_len = json_string_length(json_object_get(j, "stdout"));
    r->stderr_len = json_string_length(json_object_get(j, "stderr"));
    r->stdout_text = memdup_z(out, r->stdout_len);
    r->stderr_text = memdup_z(errt, r->stderr_len);
    if (!r->stdout_text || !r->stderr_text)
        return ad_error(err, AD_ENOMEM, "out of memory reading a sandbox result");
    return 0;
}

/* ---- runtime ------------------------------------------------------------ */

/* Splits "PATH [ARG...]" into cfg, resolving PATH once. */
static int resolve_runtime(struct ad__sb_config *cfg, const char *spec, struct ad_err *err)
{
    char *p, *save = NULL, *tok;
    char resolved[PATH_MAX];
    int n = 0;

    if (!spec || !*spec)
        spec = AD_SB_DEFAULT_RUNTIME;
    if (strlen(spec) >= sizeof(cfg->runtime_buf))
        return ad_error(err, AD_EINVAL, "sandbox runtime '%.40s...' is too long", spec);
    snprintf(cfg->runtime_buf, sizeof(cfg->runtime_buf), "%s", spec);
    p = cfg->runtime_buf;
    for (tok = strtok_r(p, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n >= AD__SB_MAX_ARGS)
            return ad_error(err, AD_EINVAL, "sandbox runtime has more than %d words",
                            AD__SB_MAX_ARGS);
        cfg->argv[n++] = tok;
    }
    if (n == 0)
        return ad_error(err, AD_EINVAL, "sandbox runtime is empty");
    if (cfg->argv[0][0] != '/')
        return ad_error(err, AD_EINVAL, "sandbox runtime '%s' must be an absolute path",
                        cfg->argv[0]);
    if (!realpath(cfg->argv[0], resolved))
        return ad_error(err, AD_EINVAL, "sandbox runtime '%s': %s", cfg->argv[0],
                        strerror(errno));
    if (access(resolved, X_OK) < 0)
        return ad_error(err, AD_EINVAL, "sandbox runtime '%s' is not executable", resolved);
    if (strlen(resolved) >= sizeof(cfg->runtime))
        return ad_error(err, AD_EINVAL, "sandbox runtime path is too long");
    memcpy(cfg->runtime, resolved, strlen(resolved) + 1);
    cfg->argc = n;
    cfg->argv[n] = NULL;
    return 0;
}

/* ---- slots -------------------------------------------------------------- */

struct slot {
    pid_t pid;        /* the supervisor, 0 when not running */
    int fd;           /* our end of its socket */
    bool busy;
};

struct ad_sandbox {
    struct ad__sb_config base;    /* slot-independent configuration; base.ops the backend */
    struct ad__sb_cache cache;    /* the probe cache of this configuration */
    bool probe_cached;            /* the backend was settled from the cache */
    int nslots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct slot slots[AD_SB_MAX_SLOTS];
    char *exec;                   /* the exec: backend's command; no slots then */
};

static void slot_stop(struct slot *s, bool hard)
{
    int i, pidfd;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->pid <= 0)
        return;
    /* EOF on its socket makes it clean up and exit; give it two seconds,
     * woken by its pidfd the moment it exits (no polling interval to wait
     * out: a one-shot command's exit waits for this). */
    if (hard)
        (void)kill(s->pid, SIGKILL);
    pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    for (i = 0; i < 200; i++) {
        pid_t w = waitpid(s->pid, NULL, WNOHANG);
        if (w == s->pid || (w < 0 && errno != EINTR))
            break;
        if (pidfd >= 0) {
            struct pollfd pfd = { pidfd, POLLIN, 0 };
            (void)poll(&pfd, 1, 10);
        } else {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    if (i == 200) {
        (void)kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    s->pid = 0;
}

static int slot_start(struct ad_sandbox *sb, int index, struct ad_err *err)
{
    struct slot *s = &sb->slots[index];
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return ad_error(err, AD_EIO, "socketpair: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return ad_error(err, AD_EIO, "fork the sandbox supervisor: %s", strerror(e));
    }
    if (pid == 0) {
        struct ad__sb_config cfg = sb->base;
        close(sv[0]);
        cfg.slot = index;   /* as root the supervisor claims its own uid */
        /* argv points into base.runtime_buf; re-point into our copy. */
        for (int i = 0; i < cfg.argc; i++)
            cfg.argv[i] = cfg.runtime_buf + (sb->base.argv[i] - sb->base.runtime_buf);
        ad__sb_supervisor_main(&cfg, sv[1]);
    }
    close(sv[1]);
    s->pid = pid;
    s->fd = sv[0];
    return 0;
}

static int slot_acquire(struct ad_sandbox *sb)
{
    int i;
    pthread_mutex_lock(&sb->mu);
    for (;;) {
        for (i = 0; i < sb->nslots; i++) {
            if (!sb->slots[i].busy) {
                sb->slots[i].busy = true;
                pthread_mutex_unlock(&sb->mu);
                return i;
            }
        }
        pthread_cond_wait(&sb->cv, &sb->mu);
    }
}

static void slot_release(struct ad_sandbox *sb, int i)
{
    pthread_mutex_lock(&sb->mu);
    sb->slots[i].busy = false;
    pthread_cond_signal(&sb->cv);
    pthread_mutex_unlock(&sb->mu);
}

/* ---- run ---------------------------------------------------------------- */

static int check_range(const char *name, int64_t v, int64_t min, int64_t max,
                       struct ad_err *err)
{
    if (v < min || v > max)
        return ad_error(err, AD_EINVAL,
                        "sandbox limit %s = %" PRId64 " is out of range %" PRId64 "..%" PRId64,
                        name, v, min, max);
    return 0;
}

static int fill_limits(const struct ad_sandbox_limits *in, struct ad_sandbox_limits *out,
                       struct ad_err *err)
{
    *out = *in;
    if (!out->wall_ms)
        out->wall_ms = AD_SB_DEFAULT_WALL_MS;
    if (!out->cpu_ms)
        out->cpu_ms = out->wall_ms;
    if (!out->memory_bytes)
        out->memory_bytes = AD_SB_DEFAULT_MEMORY;
    if (!out->pids)
        out->pids = AD_SB_DEFAULT_PIDS;
    if (!out->output_bytes)
        out->output_bytes = AD_SB_DEFAULT_OUTPUT;
    if (!out->tmpfs_bytes)
        out->tmpfs_bytes = AD_SB_DEFAULT_TMPFS;
    if (check_range("wall_ms", out->wall_ms, 1, 24LL * 3600 * 1000, err) ||
        check_range("cpu_ms", out->cpu_ms, 1, 24LL * 3600 * 1000, err) ||
        check_range("memory_bytes", out->memory_bytes, 16LL << 20, 64LL << 30, err) ||
        check_range("pids", out->pids, 1, 4096, err) ||
        check_range("output_bytes", out->output_bytes, 1024, 1LL << 30, err) ||
        check_range("tmpfs_bytes", out->tmpfs_bytes, 1LL << 20, 16LL << 30, err))
        return err ? err->code : AD_EINVAL;
    return 0;
}

static json_t *build_request(const char *exec_id, const struct ad_sandbox_spec *spec,
                             size_t code_len, const char *input,
                             const struct ad_sandbox_limits *lim, bool probe)
{
    return json_pack("{s:s, s:s%, s:s, s:s, s:{s:I, s:I, s:I, s:i, s:I, s:I}, s:b}",
                     "execution_id", exec_id, "code", spec->code, code_len, "entry", spec->entry,
                     "input", input, "limits", "wall_ms", (json_int_t)lim->wall_ms, "cpu_ms",
                     (json_int_t)lim->cpu_ms, "memory_bytes", (json_int_t)lim->memory_bytes,
                     "pids", lim->pids, "output_bytes", (json_int_t)lim->output_bytes,
                     "tmpfs_bytes", (json_int_t)lim->tmpfs_bytes, "probe", probe);
}

static void result_failed(struct ad_sandbox_result *r, const char *backend, const char *id,
                          const char *msg)
{
    ad_sandbox_result_clear(r);
    r->status = AD_SB_SANDBOX_ERROR;
    r->exit_code = -1;
    r->call_us = r->load_us = -1;
    r->degraded = true;
    snprintf(r->backend, sizeof(r->backend), "%s", backend);
    snprintf(r->execution_id, sizeof(r->execution_id), "%s", id);
    r->error = json_pack("{s:s, s:s, s:s}", "type", "SandboxError", "message", msg,
                         "traceback", "");
    r->stdout_text = strdup("");
    r->stderr_text = strdup("");
}

/* ad_sandbox_run; probe marks the trial run of a probe (see sb_int.h). */
static int sandbox_run(struct ad_sandbox *sb, const struct ad_sandbox_spec *spec,
                       struct ad_sandbox_result *result, bool probe, struct ad_err *err)
{
    struct ad_sandbox_limits lim;
    struct ad_buf msg = AD_BUF_INIT;
    char exec_id[AD_ID_SIZE];
    const char *bname = sb->base.ops->name;
    const char *input = spec->input_json ? spec->input_json : "null";
    size_t code_len;
    json_t *req = NULL, *doc = NULL, *tmp = NULL;
    struct ad_err werr = AD_ERR_INIT;
    int rc, slot;

    memset(result, 0, sizeof(*result));
    result->call_us = result->load_us = -1;
    if (!spec->code)
        return ad_error(err, AD_EINVAL, "sandbox spec has no code");
    code_len = spec->code_len ? spec->code_len : strlen(spec->code);
    if (memchr(spec->code, '\0', code_len))
        return ad_error(err, AD_EINVAL, "skill code contains a NUL byte");
    if (!ad_text_identifier(spec->entry, 128))
        return ad_error(err, AD_EINVAL, "entry '%s' is not a Python identifier",
                        spec->entry ? spec->entry : "");
    rc = ad_json_parse(input, strlen(input), (size_t)64 << 20, &tmp, err);
    if (rc)
        return ad_error_prefix(err, "skill input");
    json_decref(tmp);
    rc = fill_limits(&spec->limits, &lim, err);
    if (rc)
        return rc;
    if (ad_id_new(exec_id) < 0)
        return ad_error(err, AD_EIO, "no random bytes for an execution id");

    req = build_request(exec_id, spec, code_len, input, &lim, probe);
    if (!req || ad_json_dump(req, &msg) < 0) {
        json_decref(req);
        ad_buf_release(&msg);
        return ad_error(err, AD_EINVAL, "skill code is not valid UTF-8");
    }
    json_decref(req);

    slot = slot_acquire(sb);
    rc = 0;
    if (sb->slots[slot].pid <= 0)
        rc = slot_start(sb, slot, &werr);
    if (rc == 0 && ad__sb_frame_write(sb->slots[slot].fd, msg.ptr, msg.len) < 0)
        rc = ad_error(&werr, AD_EIO, "the sandbox supervisor is gone");
    if (rc == 0) {
        ad_buf_release(&msg);
        ad_buf_init(&msg, (size_t)lim.output_bytes * 7 + (1 << 20));
        /* The supervisor enforces the wall limit itself; this is for a
         * supervisor that hangs or dies. */
        int wait_ms = lim.wall_ms + 15000 > INT_MAX ? INT_MAX : (int)(lim.wall_ms + 15000);
        rc = ad__sb_frame_read(sb->slots[slot].fd, &msg, wait_ms, &werr);
    }
    if (rc == 0) {
        /* stdout and stderr may hold NULs (\u0000): they are bytes. */
        json_error_t jerr;

        doc = json_loadb(msg.ptr, msg.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        rc = doc ? ad_sandbox_result_from_json(doc, result, &werr)
                 : ad_error(&werr, AD_EIO, "the sandbox supervisor's reply is not JSON: %s",
                            jerr.text);
        json_decref(doc);
    }
    if (rc) {
        slot_stop(&sb->slots[slot], true);
        result_failed(result, bname, exec_id, werr.msg);
        rc = 0;
    }
    /* A backend taken on the cache's word that then fails: the next
     * sandbox probes again. */
    if (result->status == AD_SB_SANDBOX_ERROR && sb->probe_cached)
        ad__sb_cache_drop(&sb->cache);
    slot_release(sb, slot);
    ad_buf_release(&msg);
    return rc;
}

/* Runs by status, for every thread of the process (ad_sandbox_run_counts). */
static uint64_t run_counts[AD_SB_STATUS_COUNT];
_Static_assert(AD_SB_SANDBOX_ERROR + 1 == AD_SB_STATUS_COUNT, "one count per status");

int ad_sandbox_run(struct ad_sandbox *sb, const struct ad_sandbox_spec *spec,
                   struct ad_sandbox_result *result, struct ad_err *err)
{
    int rc;

    if (sb->exec) {
        memset(result, 0, sizeof(*result));
        if (!spec || !spec->code || !spec->entry)
            return ad_error(err, AD_EINVAL, "a sandbox run needs code and an entry");
        rc = ad__sb_exec_run(sb->exec, spec, result, err);
    } else {
        rc = sandbox_run(sb, spec, result, false, err);
    }
    if (rc == 0 && (unsigned)result->status < AD_SB_STATUS_COUNT)
        __atomic_fetch_add(&run_counts[result->status], 1, __ATOMIC_RELAXED);
    return rc;
}

void ad_sandbox_run_counts(uint64_t counts[AD_SB_STATUS_COUNT])
{
    for (int i = 0; i < AD_SB_STATUS_COUNT; i++)
        counts[i] = __atomic_load_n(&run_counts[i], __ATOMIC_RELAXED);
}

enum ad_sb_backend ad_sandbox_backend(const struct ad_sandbox *sb)
{
    return sb->exec ? AD_SB_EXEC : sb->base.ops->id;
}

/* ---- new/free ----------------------------------------------------------- */

static const char probe_code[] = "def probe():\n    return 42\n";

bool ad__sb_def_probe(struct ad_sandbox *sb, char *why, size_t why_len)
{
    return true;
}

bool ad__sb_trial_run(struct ad_sandbox *sb, char *why, size_t why_len)
{
    struct ad_sandbox_spec spec;
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;
    bool ok;

    memset(&spec, 0, sizeof(spec));
    spec.code = probe_code;
    spec.entry = "probe";
    spec.limits.wall_ms = 20000;
    if (sandbox_run(sb, &spec, &r, true, &err) < 0) {
        snprintf(why, why_len, "%s", err.msg);
        return false;
    }
    ok = r.status == AD_SB_OK && json_integer_value(r.output) == 42;
    if (!ok) {
        const char *m = json_string_value(json_object_get(r.error, "message"));
        snprintf(why, why_len, "%s: %s", ad_sb_status_name(r.status),
                 m ? m : (r.stderr_text ? r.stderr_text : ""));
    }
    ad_sandbox_result_clear(&r);
    return ok;
}

static unsigned uid_base_of(const struct ad_sandbox_options *o)
{
    const char *env;
    if (o && o->uid_base)
        return o->uid_base;
    env = getenv("AUTODEV_SANDBOX_UID_BASE");
    if (env && *env) {
        char *end;
        unsigned long v = strtoul(env, &end, 10);
        if (*end == '\0' && v >= 1000 && v < 4000000000UL)
            return (unsigned)v;
    }
    return AD_SB_DEFAULT_UID_BASE;
}

/* Everything but the backend: runtime, ids, filter, cgroup version. */
static int sandbox_alloc(const struct ad_sandbox_options *o, struct ad_sandbox **out,
                         char *cg_why, size_t cg_why_len, char *filter_why, size_t fw_len,
                         struct ad_err *err)
{
    struct ad_sandbox *sb;
    struct ad_err ferr = AD_ERR_INIT;
    int rc, i, slots = o && o->slots ? o->slots : 4;

    *out = NULL;
    if (slots < 1 || slots > AD_SB_MAX_SLOTS)
        return ad_error(err, AD_EINVAL, "sandbox slots %d out of range 1..%d", slots,
                        AD_SB_MAX_SLOTS);
    sb = calloc(1, sizeof(*sb));
    if (!sb)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = resolve_runtime(&sb->base, o ? o->runtime : NULL, err);
    if (rc) {
        free(sb);
        return rc;
    }
    sb->nslots = slots;
    for (i = 0; i < AD_SB_MAX_SLOTS; i++) {
        sb->slots[i].fd = -1;
        sb->slots[i].pid = 0;
    }
    sb->base.change_uid = geteuid() == 0;
    sb->base.host_uid = uid_base_of(o);
    sb->base.host_gid = sb->base.host_uid;
    if (!sb->base.change_uid) {
        sb->base.host_uid = (unsigned)getuid();
        sb->base.host_gid = (unsigned)getgid();
    }
    if (ad__sb_filter_build(&sb->base.filter, &ferr) == 0) {
        sb->base.have_filter = true;
    } else if (filter_why) {
        snprintf(filter_why, fw_len, "%s", ferr.msg);
    }
    {
        const char *root = getenv("AUTODEV_SANDBOX_TMP");
        /* Read here: a supervisor's environment is cleared (ad__sb_scrub_self). */
        snprintf(sb->base.tmp_root, sizeof(sb->base.tmp_root), "%s",
                 root && *root && strlen(root) < sizeof(sb->base.tmp_root) ? root : "/tmp");
    }
    sb->base.cg_version = ad__cg_probe(cg_why, cg_why_len);
    pthread_mutex_init(&sb->mu, NULL);
    pthread_cond_init(&sb->cv, NULL);
    *out = sb;
    return 0;
}

/*
 * Makes ops sb's backend. A supervisor keeps the backend it was forked
 * with, so any forked with another one (the probe's) is stopped; the next
 * run starts it again.
 */
static void sandbox_use(struct ad_sandbox *sb, const struct ad__sb_backend_ops *ops)
{
    if (sb->base.ops == ops)
        return;
    for (int i = 0; i < AD_SB_MAX_SLOTS; i++)
        slot_stop(&sb->slots[i], false);
    sb->base.ops = ops;
}

/*
 * Settles sb's backend once: the one asked for when its probe passes; for
 * auto, linux, else process with one warning (none when quiet).
 */
static int choose_backend(struct ad_sandbox *sb, enum ad_sb_backend want, bool quiet,
                          struct ad_err *err)
{
    const struct ad__sb_backend_ops *ops =
        want == AD_SB_PROCESS ? &ad__sb_process_ops : &ad__sb_linux_ops;
    char why[512];
    bool ok;

    sandbox_use(sb, ops);
    if (ops == &ad__sb_linux_ops) {
        /* A trial run is a whole Python start: once per boot, not per sandbox. */
        ad__sb_cache_init(&sb->cache, &sb->base);
        sb->probe_cached = ad__sb_cache_hit(&sb->cache);
        ok = sb->probe_cached || ops->probe(sb, why, sizeof(why));
        if (ok && !sb->probe_cached)
            ad__sb_cache_put(&sb->cache);
    } else {
        ok = ops->probe(sb, why, sizeof(why));
    }
    if (!ok) {
        if (want == AD_SB_LINUX)
            return ad_error(err, AD_ENOTSUP, "%s sandbox backend unavailable: %s", ops->name,
                            why);
        if (!quiet)
            AD_LOG(AD_LOG_WARN,
                   "sandbox: %s backend unavailable (%s); using the weaker %s backend",
                   ops->name, why, ad__sb_process_ops.name);
        sandbox_use(sb, &ad__sb_process_ops);
    }
    /* Supervisors forked from now on get their first run ready at once. */
    sb->base.prewarm = true;
    return 0;
}

int ad_sandbox_new(const struct ad_sandbox_options *opts, struct ad_sandbox **out,
                   struct ad_err *err)
{
    struct ad_sandbox *sb;
    enum ad_sb_backend want = opts ? opts->backend : AD_SB_AUTO;
    int rc;

    if (want == AD_SB_EXEC) {
        const char *cmd = opts->exec;

        if (!cmd || !cmd[strspn(cmd, " \t")])
            return ad_error(err, AD_EINVAL, "the exec sandbox backend needs a command "
                            "(exec:COMMAND)");
        sb = calloc(1, sizeof(*sb));
        if (!sb || !(sb->exec = strdup(cmd))) {
            free(sb);
            return ad_error(err, AD_ENOMEM, "out of memory");
        }
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        *out = sb;
        return 0;
    }
    rc = sandbox_alloc(opts, &sb, NULL, 0, NULL, 0, err);
    if (rc)
        return rc;
    /*
     * The caller holds what a payload must not see: its environment (API
     * keys), its memory. A process-backend payload run as the caller's own
     * uid could read both through /proc/PID/environ and mem while the
     * caller is dumpable; a non-dumpable process's /proc files belong to
     * root. The supervisors forked below inherit this, and clear their own
     * copy of the environment besides (ad__sb_scrub_self).
     */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (!sb->base.change_uid && opts && opts->uid_base && want != AD_SB_PROCESS)
        AD_LOG(AD_LOG_WARN, "sandbox: not root, payloads run as uid %u", sb->base.host_uid);
    sb->base.one_shot = opts && opts->one_shot;
    rc = choose_backend(sb, want, opts && opts->quiet, err);
    if (rc) {
        ad_sandbox_free(sb);
        return rc;
    }
    /* Every supervisor is forked now, while the caller is most likely
     * still single-threaded; only a restart after a crash forks later. */
    for (int i = 0; i < sb->nslots; i++) {
        if (sb->slots[i].pid <= 0 && slot_start(sb, i, err) < 0) {
            ad_sandbox_free(sb);
            return err ? err->code : AD_EIO;
        }
    }
    *out = sb;
    return 0;
}

void ad_sandbox_free(struct ad_sandbox *sb)
{
    int i;
    if (!sb)
        return;
    if (sb->exec) {
        free(sb->exec);
        free(sb);
        return;
    }
    for (i = 0; i < AD_SB_MAX_SLOTS; i++)
        slot_stop(&sb->slots[i], false);
    ad__sb_filter_free(&sb->base.filter);
    pthread_mutex_destroy(&sb->mu);
    pthread_cond_destroy(&sb->cv);
    free(sb);
}

/* ---- check -------------------------------------------------------------- */

static int add_check(json_t *list, const char *name, bool ok, const char *detail)
{
    return json_array_append_new(list, json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok,
                                                 "detail", detail));
}

/* Can this process make the namespaces the linux backend needs? */
static bool userns_works(char *why, size_t why_len)
{
    pid_t pid = fork();
    int st = 0;

    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                    CLONE_NEWUTS) < 0)
            _exit(errno & 0xff);
        _exit(0);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        snprintf(why, why_len, "user, mount, pid, net, ipc and uts namespaces can be made");
        return true;
    }
    snprintf(why, why_len, "unshare: %s%s", WIFEXITED(st) ? strerror(WEXITSTATUS(st)) : "crashed",
             geteuid() != 0 ? " (unprivileged user namespaces may be disabled: see "
                              "/proc/sys/kernel/unprivileged_userns_clone and "
                              "/proc/sys/user/max_user_namespaces)"
                            : "");
    return false;
}

/*
 * What the backend contains and what it does not, in sentences, for
 * 'check' ("guarantees" and "gaps"). They follow from the backend and the
 * facts of this machine that sb was made with; tests/sandbox/README.md has
 * the cases behind each.
 */
static void describe(json_t *rep, const struct ad_sandbox *sb,
                     const struct ad__sb_backend_ops *ops)
{
    static const char cpu_gap[] =
        "CPU time summed from /proc misses children the kernel reaps itself (SIGCHLD "
        "ignored): each of them stops at RLIMIT_CPU, and the wall-clock limit bounds them all";
    const struct ad__sb_config *c = &sb->base;
    json_t *g = json_array(), *x = json_array();
    char line[400];

    json_object_set_new(rep, "guarantees", g);
    json_object_set_new(rep, "gaps", x);
#define G(s) json_array_append_new(g, json_string(s))
#define X(s) json_array_append_new(x, json_string(s))
    if (ops == &ad__sb_linux_ops) {
        G("own user, mount, pid, ipc, uts, network and cgroup namespaces");
        G("no network: an empty network namespace, loopback down");
        G("the host filesystem is out of reach: a read-only root of /usr, /bin and /lib, "
          "a private /etc, a noexec tmpfs of tmpfs_bytes as /tmp");
        G("host processes are invisible and out of reach (own pid namespace); the "
          "sandbox's init (pid 1) shows no host argv, environment or path");
        if (c->change_uid) {
            snprintf(line, sizeof(line), "payloads run as unprivileged host uids from %u "
                     "(one per supervisor), uid 1000 inside", c->host_uid);
            G(line);
        } else {
            X("not root: a payload is your own uid on the host (uid 1000 inside its "
              "namespaces)");
        }
        if (c->cg_version != AD__CG_NONE) {
            snprintf(line, sizeof(line), "memory (without swap) and processes limited per run "
                     "(cgroup %s)", c->cg_version == AD__CG_V2 ? "v2" : "v1");
            G(line);
        } else {
            X("no cgroup: memory is limited per process (RLIMIT_AS), not per run, and the "
              "number of processes is not limited");
        }
        if (c->cg_version != AD__CG_NONE && ad__cg_cpu_accounting(c->cg_version)) {
            G("CPU time limited for the whole run, every process of it counted by the "
              "cgroup (cpu.stat or cpuacct), at most one CPU at a time where the cpu "
              "controller allows a quota; each process also stops at RLIMIT_CPU");
        } else {
            G("CPU time limited for the whole run: summed over the run's processes from "
              "/proc; each process also stops at RLIMIT_CPU");
            X(cpu_gap);
        }
    } else {
        G("rlimits per process: CPU seconds, address space, file size, open files, no core "
          "dumps");
        G("a scratch directory as cwd, HOME and TMPDIR");
        if (c->change_uid) {
            snprintf(line, sizeof(line), "payloads run as unprivileged host uids from %u (one "
                     "per supervisor): your files and processes are out of their reach, and "
                     "every process of that uid is killed after each run", c->host_uid);
            G(line);
            G("processes per run limited (RLIMIT_NPROC of the payload's own uid)");
        } else {
            X("not root: a payload runs as your own uid, so it can read and write whatever "
              "you can, and signal your processes");
            X("not root: the number of processes is not limited (RLIMIT_NPROC would count all "
              "of yours)");
        }
        G("every process of the run is killed after it, however it detached itself (double "
          "fork, setsid): the supervisor is a child subreaper and kills its whole tree");
        G("the caller and the supervisor are not dumpable and the supervisor holds no "
          "environment: a payload of the same uid reads neither their API keys nor their "
          "memory, and the supervisor's command line is a fixed title");
        if (!c->change_uid)
            X("not root: a process started for the payload by a service of your uid (a user "
              "systemd, at, cron) is outside the run's tree and outlives it");
        X("the host filesystem is visible, and /tmp is the host's: RLIMIT_FSIZE caps each "
          "file, not the total, and what is written stays");
        X("the host network: loopback, outside, DNS, unix and abstract sockets");
        X("host processes are visible in /proc");
        X("memory is limited per process (RLIMIT_AS), not per run");
        G("CPU time limited for the whole run: summed over the supervisor's tree of the "
          "run's processes from /proc; each process also stops at RLIMIT_CPU");
        X(cpu_gap);
    }
    if (c->have_filter)
        G("no capabilities, no_new_privs, a seccomp filter denying namespaces, mounts, "
          "ptrace, bpf, io_uring, keyrings and kernel administration, and every socket "
          "family but unix, inet and inet6");
    else
        X("no seccomp filter (libseccomp refused it): the kernel's whole syscall surface is "
          "reachable");
    G("wall-clock and output limits; the environment is an allow-list (no API keys)");
    X("the kernel is shared with the host: a kernel bug reachable through the allowed "
      "syscalls is a way out");
#undef G
#undef X
}

json_t *ad_sandbox_check(const struct ad_sandbox_options *opts)
{
    struct ad_sandbox *sb = NULL;
    struct ad_err err = AD_ERR_INIT;
    char cg_why[256] = "", f_why[512] = "", why[512], detail[640];
    enum ad_sb_backend want = opts ? opts->backend : AD_SB_AUTO;
    const struct ad__sb_backend_ops *ops;
    json_t *rep, *checks;
    bool ns_ok, probe_ok = false, full;
    const char *cgname;

    rep = json_object();
    checks = json_array();
    if (!rep || !checks) {
        json_decref(rep);
        json_decref(checks);
        return NULL;
    }
    json_object_set_new(rep, "checks", checks);
    if (want == AD_SB_EXEC) {
        /* autodev cannot see inside a user's command: each result says what it claims. */
        json_object_set_new(rep, "backend", json_string("exec"));
        json_object_set_new(rep, "isolation", json_string("claimed"));
        json_object_set_new(rep, "guarantees", json_pack("[s, s]",
            "autodev's deadline: past the run's wall limit and a second, the command's "
            "process group is killed",
            "autodev's output cap, and an environment of PATH, LANG and HOME only"));
        json_object_set_new(rep, "gaps", json_pack("[s]",
            "isolation is what the command claims in each result (\"full\" or \"degraded\")"));
        return rep;
    }
    if (sandbox_alloc(opts, &sb, cg_why, sizeof(cg_why), f_why, sizeof(f_why), &err) < 0) {
        add_check(checks, "runtime", false, err.msg);
        json_object_set_new(rep, "backend", json_string("none"));
        json_object_set_new(rep, "isolation", json_string("none"));
        json_object_set_new(rep, "error", json_string(err.msg));
        return rep;
    }
    snprintf(detail, sizeof(detail), "%s", sb->base.runtime);
    for (int i = 1; i < sb->base.argc; i++) {
        size_t n = strlen(detail);
        snprintf(detail + n, sizeof(detail) - n, " %s", sb->base.argv[i]);
    }
    add_check(checks, "runtime", true, detail);

    ns_ok = userns_works(why, sizeof(why));
    add_check(checks, "namespaces", ns_ok, why);

    if (sb->base.change_uid)
        snprintf(detail, sizeof(detail),
                 "payloads run as host uids from %u..%u, one per supervisor, claimed "
                 "host-wide with locks in %s",
                 sb->base.host_uid, sb->base.host_uid + AD__SB_UID_RANGE - 1, AD__SB_UID_LOCKDIR);
    else
        snprintf(detail, sizeof(detail),
                 "not root: payloads run as your own uid %u (no dedicated uid per slot)",
                 sb->base.host_uid);
    add_check(checks, "uid", sb->base.change_uid, detail);

    if (sb->base.have_filter)
        snprintf(detail, sizeof(detail), "denylist of %d rules, socket families unix, inet "
                 "and inet6 only (libseccomp %u.%u.%u)",
                 sb->base.filter.rules, seccomp_version()->major, seccomp_version()->minor,
                 seccomp_version()->micro);
    else
        snprintf(detail, sizeof(detail), "%s", f_why);
    add_check(checks, "seccomp", sb->base.have_filter, detail);

    cgname = sb->base.cg_version == AD__CG_V2   ? "v2"
             : sb->base.cg_version == AD__CG_V1 ? "v1"
                                                : "none";
    snprintf(detail, sizeof(detail), "%s%s%s%s", cgname,
             sb->base.cg_version == AD__CG_NONE          ? ""
             : ad__cg_cpu_accounting(sb->base.cg_version) ? " (with a CPU account)"
                                                           : " (no CPU account: cpuacct)",
             cg_why[0] ? ": " : "", cg_why);
    add_check(checks, "cgroup", sb->base.cg_version != AD__CG_NONE, detail);

    /* The backend asked for, as ad_sandbox_new would settle it. */
    if (want == AD_SB_PROCESS) {
        add_check(checks, "linux_probe", false, "skipped: the process backend was asked for");
    } else if (ns_ok) {
        sandbox_use(sb, &ad__sb_linux_ops);
        probe_ok = ad__sb_linux_ops.probe(sb, why, sizeof(why));
        add_check(checks, "linux_probe", probe_ok,
                  probe_ok ? "a trial run in the linux backend succeeded" : why);
        /* 'check' always runs the probe, and tells the cache what it found. */
        ad__sb_cache_init(&sb->cache, &sb->base);
        if (probe_ok)
            ad__sb_cache_put(&sb->cache);
        else
            ad__sb_cache_drop(&sb->cache);
    } else {
        add_check(checks, "linux_probe", false, "skipped: no namespaces");
    }
    if (want == AD_SB_LINUX && !probe_ok) {
        snprintf(detail, sizeof(detail), "linux sandbox backend unavailable: %s", why);
        json_object_set_new(rep, "backend", json_string("none"));
        json_object_set_new(rep, "isolation", json_string("none"));
        json_object_set_new(rep, "error", json_string(detail));
        ad_sandbox_free(sb);
        return rep;
    }
    ops = probe_ok ? &ad__sb_linux_ops : &ad__sb_process_ops;
    full = probe_ok && sb->base.have_filter && sb->base.cg_version != AD__CG_NONE;
    json_object_set_new(rep, "backend", json_string(ops->name));
    json_object_set_new(rep, "isolation", json_string(full ? "full" : "degraded"));
    describe(rep, sb, ops);
    ad_sandbox_free(sb);
    return rep;
}

bool ad__sb_probe_cached(const struct ad_sandbox *sb)
{
    return sb->probe_cached;
}
