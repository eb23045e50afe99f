/*
 * The exec: backend (AUTODEV_SANDBOX=exec:COMMAND): a user's command
 * speaks the sandbox contract, so a Kubernetes job, a Firecracker VM or a
 * remote runner plugs in without rebuilding autodev. COMMAND runs through
 * /bin/sh -c in a session of its own, with an environment of PATH, LANG
 * and HOME only (never the caller's: API keys), and gets one JSON request
 * on stdin:
 *   {"version": 1, "code": TEXT, "entry": NAME, "input": VALUE,
 *    "limits": {"wall_ms", "cpu_ms", "memory_bytes", "pids", "output_bytes",
 *               "tmpfs_bytes"}}
 * and answers one JSON result on stdout: the contract's object
 * (ad_sandbox_result_json) of which "status" and "isolation" ("full" or
 * "degraded": what the command claims) are required, the rest optional.
 * autodev's own limits still apply: past wall_ms plus a second of grace
 * the command's whole process group is killed (a timeout), and stdout
 * past output_bytes plus 64 KiB kills it too (an output limit). A reply
 * that is not such an object is a sandbox error saying why.
 */
#include "compat.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_int.h"

#define EXEC_GRACE_MS 1000
#define EXEC_REPLY_SLACK (64 * 1024)
#define EXEC_STDERR_KEEP (16 * 1024)

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(struct ad_sandbox_result *r, enum ad_sb_status st, const char *type,
                 const char *msg)
{
    r->status = st;
    r->error = json_pack("{s:s, s:s, s:s}", "type", type, "message", msg, "traceback", "");
}

/* A limit as the run has it: a zero field takes the default. */
#define OR(v, d) ((v) > 0 ? (int64_t)(v) : (int64_t)(d))

static char *request_text(const struct ad_sandbox_spec *spec, struct ad_err *err)
{
    const struct ad_sandbox_limits *l = &spec->limits;
    json_t *input = NULL, *req;
    char *text;

    if (spec->input_json) {
        input = json_loads(spec->input_json, JSON_DECODE_ANY, NULL);
        if (!input) {
            ad_error(err, AD_EINVAL, "the run's input is not JSON");
            return NULL;
        }
    }
    req = json_pack("{s:i, s:s%, s:s, s:o, s:{s:I, s:I, s:I, s:i, s:I, s:I}}", "version", 1,
                    "code", spec->code, spec->code_len ? spec->code_len : strlen(spec->code),
                    "entry", spec->entry, "input", input ? input : json_null(), "limits",
                    "wall_ms", (json_int_t)OR(l->wall_ms, AD_SB_DEFAULT_WALL_MS),
                    "cpu_ms", (json_int_t)OR(l->cpu_ms, OR(l->wall_ms, AD_SB_DEFAULT_WALL_MS)),
                    "memory_bytes", (json_int_t)OR(l->memory_bytes, AD_SB_DEFAULT_MEMORY),
                    "pids", (int)OR(l->pids, AD_SB_DEFAULT_PIDS),
                    "output_bytes", (json_int_t)OR(l->output_bytes, AD_SB_DEFAULT_OUTPUT),
                    "tmpfs_bytes", (json_int_t)OR(l->tmpfs_bytes, AD_SB_DEFAULT_TMPFS));
    text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        ad_error(err, AD_EINVAL, "cannot encode the run's request (code not UTF-8?)");
    return text;
}

/* The reply as a result: status and isolation required, the rest filled in. */
static void read_reply(const struct ad_buf *out, struct ad_sandbox_result *r)
{
    json_error_t jerr;
    json_t *j = json_loadb(out->ptr ? out->ptr : "", out->len, 0, &jerr);
    const char *iso = json_string_value(json_object_get(j, "isolation"));
    struct ad_err err = AD_ERR_INIT;
    char msg[300];

    if (!json_is_object(j)) {
        snprintf(msg, sizeof(msg), "the exec backend's reply is not a JSON object: %s",
                 j ? "another value" : jerr.text);
        fail(r, AD_SB_SANDBOX_ERROR, "SandboxError", msg);
    } else if (!json_is_string(json_object_get(j, "status")) || !iso ||
               (strcmp(iso, "full") && strcmp(iso, "degraded"))) {
        fail(r, AD_SB_SANDBOX_ERROR, "SandboxError", "the exec backend's reply needs "
             "\"status\" and \"isolation\" (\"full\" or \"degraded\")");
    } else {
        static const char *const strs[] = { "stdout", "stderr", "execution_id" };

        for (size_t i = 0; i < AD_ARRAY_SIZE(strs); i++)
            if (!json_is_string(json_object_get(j, strs[i])))
                json_object_set_new(j, strs[i], json_string(""));
        json_object_set_new(j, "backend", json_string("exec"));
        if (ad_sandbox_result_from_json(j, r, &err) < 0) {
            ad_sandbox_result_clear(r);
            fail(r, AD_SB_SANDBOX_ERROR, "SandboxError", err.msg);
        }
    }
    json_decref(j);
}

int ad__sb_exec_run(const char *command, const struct ad_sandbox_spec *spec,
                    struct ad_sandbox_result *r, struct ad_err *err)
{
    char *req = request_text(spec, err);
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, st = 0;
    int64_t wall = spec->limits.wall_ms > 0 ? spec->limits.wall_ms : AD_SB_DEFAULT_WALL_MS;
    int64_t cap = (spec->limits.output_bytes > 0 ? spec->limits.output_bytes
                                                 : AD_SB_DEFAULT_OUTPUT) + EXEC_REPLY_SLACK;
    int64_t start = now_ms(), deadline = start + wall + EXEC_GRACE_MS;
    struct ad_buf o = AD_BUF_INIT, e = AD_BUF_INIT;
    size_t sent = 0, reqlen;
    bool timed_out = false, too_big = false;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    snprintf(r->backend, sizeof(r->backend), "exec");
    r->degraded = true;
    r->call_us = r->load_us = -1;
    if (!req)
        return AD_EINVAL;
    reqlen = strlen(req);
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        int rc = ad_error(err, AD_EIO, "exec backend: cannot make pipes: %s", strerror(errno));

        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (out[i] >= 0) close(out[i]);
            if (errp[i] >= 0) close(errp[i]);
        }
        free(req);
        return rc;
    }
    pid = fork();
    if (pid == 0) {
        char sh[] = "/bin/sh", c[] = "-c", p[] = "PATH=/usr/local/bin:/usr/bin:/bin";
        char l[] = "LANG=C.UTF-8", h[] = "HOME=/tmp";
        char *argv[] = { sh, c, (char *)command, NULL }, *envp[] = { p, l, h, NULL };

        setsid();
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(errp[1], 2) < 0)
            _exit(127);
        execve(sh, argv, envp);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        close(errp[0]);
        free(req);
        return ad_error(err, AD_EIO, "exec backend: cannot fork: %s", strerror(errno));
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd pf[3] = { { out[0], POLLIN, 0 }, { errp[0], POLLIN, 0 },
                                { in[1], POLLOUT, 0 } };
        int64_t left = deadline - now_ms();
        char chunk[8192];

        if (pf[0].fd < 0 && pf[1].fd < 0)
            break;
        if (left <= 0) {
            timed_out = true;
            break;
        }
        if (poll(pf, 3, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            break;
        if (pf[2].fd >= 0 && (pf[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in[1], req + sent, reqlen - sent);

            if (w > 0)
                sent += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == reqlen) {
                close(in[1]);
                in[1] = -1;
            }
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &out[0] : &errp[0];
            struct ad_buf *b = i == 0 ? &o : &e;
            ssize_t n;

            if (*fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(*fd, chunk, sizeof(chunk));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(*fd);
                *fd = -1;
                continue;
            }
            if (i == 1 && e.len >= EXEC_STDERR_KEEP)
                continue;
            if (ad_buf_add(b, chunk, (size_t)n) < 0 || (i == 0 && (int64_t)o.len > cap)) {
                too_big = true;
                break;
            }
        }
        if (too_big)
            break;
    }
    if (timed_out || too_big)
        kill(-pid, SIGKILL);
    for (int i = 0; i < 2; i++) {
        int fd = i == 0 ? in[1] : out[0];

        if (fd >= 0)
            close(fd);
    }
    if (errp[0] >= 0)
        close(errp[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    /* Whatever the group left behind goes with it. */
    kill(-pid, SIGKILL);
    free(req);
    if (timed_out) {
        char msg[160];

        snprintf(msg, sizeof(msg), "the exec backend ran past the %lld ms deadline; its "
                 "process group was killed", (long long)wall);
        fail(r, AD_SB_TIMEOUT, "TimeoutError", msg);
    } else if (too_big) {
        fail(r, AD_SB_OUTPUT_LIMIT, "OutputLimit", "the exec backend's reply is over the "
             "output cap; its process group was killed");
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char msg[512];

        snprintf(msg, sizeof(msg), "the exec backend command failed (%s %d): %.300s",
                 WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st)
                 : WTERMSIG(st), e.ptr ? e.ptr : "");
        fail(r, AD_SB_SANDBOX_ERROR, "SandboxError", msg);
    } else {
        read_reply(&o, r);
    }
    snprintf(r->backend, sizeof(r->backend), "exec");
    r->wall_ms = now_ms() - start;
    if (!r->stdout_text)
        r->stdout_text = strdup("");
    if (!r->stderr_text)
        r->stderr_text = strdup("");
    ad_buf_release(&o);
    ad_buf_release(&e);
    return r->stdout_text && r->stderr_text ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}
