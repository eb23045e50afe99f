/*
 * Provider "exec": any local command is a model. The prompt goes to its
 * standard input, the completion is its standard output. The command runs
 * with /bin/sh -c in its own process group, so a timeout kills it and
 * everything it started. A non-zero exit, a signal, the timeout or an
 * output over the cap is a failed attempt whose message carries the head of
 * standard error.
 *
 * Token counts are estimated (4 bytes a token) because a command reports
 * none; they feed the daily caps and the ledger like real counts.
 *
 * The command is someone else's program fed with prompts a model may have
 * shaped, so it gets our environment without its credentials (llm.h):
 * names holding a credential word, and values holding a registered secret,
 * are left out unless $AUTODEV_EXEC_ENV_ALLOW names them. The list is made
 * before the fork (no allocation between fork and exec in a threaded
 * process) and given to execve.
 */
#include "compat.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <strings.h>

#include "autodev/clock.h"
#include "autodev/secret.h"

#include "llm_int.h"

extern char **environ;

/* Words that make a variable's name a credential's, in any case. */
static const char *const credential_words[] = {
    "KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL",
};

static bool name_has(const char *name, size_t nlen, const char *word)
{
    size_t wl = strlen(word), i;

    for (i = 0; i + wl <= nlen; i++) {
        if (!strncasecmp(name + i, word, wl))
            return true;
    }
    return false;
}

/* Whether the comma- or space-separated list names the variable exactly. */
static bool listed(const char *list, const char *name, size_t nlen)
{
    const char *p = list;
    size_t n;

    while (p && *p) {
        p += strspn(p, ", \t");
        n = strcspn(p, ", \t");
        if (n == nlen && n > 0 && !memcmp(p, name, n))
            return true;
        p += n;
    }
    return false;
}

static bool credential(const char *kv, size_t nlen)
{
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(credential_words); i++) {
        if (name_has(kv, nlen, credential_words[i]))
            return true;
    }
    return ad_secret_contains(kv + nlen + 1);
}

/* The command's environment: pointers into environ, in a NULL-terminated array we free. */
static char **command_env(void)
{
    const char *allow = getenv("AUTODEV_EXEC_ENV_ALLOW");
    size_t n = 0, k = 0, i, nlen;
    const char *eq;
    char **v;

    while (environ && environ[n])
        n++;
    v = calloc(n + 1, sizeof(*v));
    for (i = 0; v && i < n; i++) {
        eq = strchr(environ[i], '=');
        if (!eq)
            continue;   /* not NAME=VALUE: nothing a command can rely on */
        nlen = (size_t)(eq - environ[i]);
        if (credential(environ[i], nlen) && !listed(allow, environ[i], nlen))
            continue;
        v[k++] = environ[i];
    }
    return v;
}

static const char *role_label(enum ad_llm_role r)
{
    switch (r) {
    case AD_LLM_SYSTEM: return "System";
    case AD_LLM_ASSISTANT: return "Assistant";
    case AD_LLM_TOOL: return "Tool result";
    default: return "User";
    }
}

/* A lone user message goes as it is; a conversation is labelled by role. */
static int render_prompt(const struct ad_llm_request *req, struct ad_buf *b)
{
    size_t i;
    int rc = 0;

    if (req->nmessages == 1 && req->messages[0].role == AD_LLM_USER)
        return ad_buf_adds(b, req->messages[0].content ? req->messages[0].content : "");
    for (i = 0; !rc && i < req->nmessages; i++)
        rc = ad_buf_addf(b, "%s%s:\n%s\n", i ? "\n" : "", role_label(req->messages[i].role),
                         req->messages[i].content ? req->messages[i].content : "");
    if (!rc && req->json_schema) {
        char *schema = json_dumps(req->json_schema, JSON_COMPACT);

        rc = ad_buf_addf(b, "\nAnswer with one JSON value that matches this schema:\n%s\n",
                         schema ? schema : "{}");
        free(schema);
    }
    return rc;
}

struct child {
    pid_t pid;
    int in, out, errfd;
};

static void child_exec(const char *cmd, char **envp, int in[2], int out[2], int errp[2])
{
    char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };

    setpgid(0, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(errp[0]); close(errp[1]);
    signal(SIGPIPE, SIG_DFL);
    execve("/bin/sh", argv, envp);
    _exit(127);
}

static int start(const char *cmd, struct child *c, struct ad_err *err)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
    char **envp = command_env();

    if (!envp)
        return ad_error(err, AD_ENOMEM, "out of memory");
    /* stdin is a socket so that writing to a command that stopped reading
     * fails with EPIPE (MSG_NOSIGNAL) instead of raising SIGPIPE here. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) || pipe2(out, O_CLOEXEC) ||
        pipe2(errp, O_CLOEXEC)) {
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(errp[0]);
        close(errp[1]);
        free(envp);
        return ad_error(err, AD_EIO, "cannot make pipes: %s", strerror(errno));
    }
    c->pid = fork();
    if (c->pid == 0)
        child_exec(cmd, envp, in, out, errp);
    free(envp);
    if (c->pid > 0)
        setpgid(c->pid, c->pid);   /* also here, so a kill right away reaches it */
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    c->in = in[1];
    c->out = out[0];
    c->errfd = errp[0];
    if (c->pid < 0) {
        close(c->in); close(c->out); close(c->errfd);
        return ad_error(err, AD_EIO, "cannot fork: %s", strerror(errno));
    }
    return 0;
}

/* Reads from fd into b; bytes past the cap are dropped and remembered. */
static int drain(int fd, struct ad_buf *b, int *over)
{
    char chunk[8192];
    ssize_t n = read(fd, chunk, sizeof(chunk));

    if (n > 0 && ad_buf_add(b, chunk, (size_t)n))
        *over = 1;
    return n > 0 || (n < 0 && errno == EINTR);
}

/*
 * Feeds the prompt and collects the output until both output pipes close
 * or the deadline passes. Returns 0, or AD_ETIMEOUT.
 */
static int pump(struct child *c, const struct ad_buf *prompt, struct ad_buf *out,
                struct ad_buf *errb, int64_t deadline, int *over, int *err_over)
{
    size_t sent = 0;
    int open_out = 1, open_err = 1;

    while (open_out || open_err) {
        struct pollfd p[3] = { { c->out, POLLIN, 0 }, { c->errfd, POLLIN, 0 },
                               { c->in, POLLOUT, 0 } };
        int64_t left = deadline - ad_now_ms();
        ssize_t n;

        if (left <= 0)
            return AD_ETIMEOUT;
        p[0].fd = open_out ? c->out : -1;
        p[1].fd = open_err ? c->errfd : -1;
        p[2].fd = c->in;   /* -1 once the prompt is sent: poll skips it */
        if (poll(p, 3, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
            return AD_EIO;
        if (p[0].revents && !drain(c->out, out, over))
            open_out = 0;
        if (p[1].revents && !drain(c->errfd, errb, err_over))
            open_err = 0;
        if (c->in >= 0 && p[2].revents) {
            n = send(c->in, prompt->ptr + sent, prompt->len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
            /* Done, or the command stopped reading: close so it sees the end. */
            if (sent == prompt->len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                close(c->in);
                c->in = -1;
            }
        }
    }
    return 0;
}

static int finish(struct child *c, int prc, int status, struct ad_buf *errb, int over,
                  int err_over, struct ad__llm_failure *f, struct ad_err *err, int timeout_ms)
{
    size_t i;

    /* Masked whole before it is cut; when some of it was dropped at the cap,
     * its end may be half a secret, which is dropped too. */
    ad__llm_redact_error(errb->ptr);
    errb->len = strlen(errb->ptr);
    if (err_over)
        errb->len -= ad_secret_partial_tail(errb->ptr, errb->len);
    errb->ptr[errb->len] = '\0';
    for (i = 0; i < errb->len; i++) {
        if (errb->ptr[i] == '\n' || errb->ptr[i] == '\r')
            errb->ptr[i] = ' ';
    }
    if (errb->len > 300)
        errb->ptr[300] = '\0';
    if (prc == AD_ETIMEOUT) {
        f->retryable = 1;
        return ad_error(err, AD_ETIMEOUT, "command gave no complete answer within %d ms",
                        timeout_ms);
    }
    if (prc)
        return ad_error(err, AD_EIO, "cannot talk to the command");
    if (over)
        return ad_error(err, AD_ETOOBIG, "command wrote more than %zu bytes",
                        (size_t)AD__LLM_MAX_BODY);
    if (WIFSIGNALED(status))
        return ad_error(err, AD_EIO, "command killed by signal %d: %s", WTERMSIG(status),
                        errb->ptr);
    if (WEXITSTATUS(status) != 0)
        return ad_error(err, AD_EIO, "command exited with status %d: %s", WEXITSTATUS(status),
                        errb->ptr);
    return 0;
}

static int exec_attempt(struct ad__llm_entry *e, const struct ad_llm_request *req,
                        struct ad_llm_response *resp, struct ad__llm_failure *f,
                        struct ad_err *err)
{
    struct ad_buf prompt = AD_BUF_INIT, out = AD_BUF_INIT, errb = AD_BUF_INIT;
    int timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : e->llm->o.timeout_ms;
    struct child c = { -1, -1, -1, -1 };
    int rc, prc, status = 0, over = 0, err_over = 0;

    ad_buf_init(&out, AD__LLM_MAX_BODY);
    ad_buf_init(&errb, 4096);
    rc = render_prompt(req, &prompt);
    if (rc) {
        rc = ad_error(err, rc, "prompt too large");
        goto out;
    }
    rc = start(e->model, &c, err);
    if (rc)
        goto out;
    prc = pump(&c, &prompt, &out, &errb, ad_now_ms() + timeout_ms, &over, &err_over);
    /* Whatever happened, nothing the command started outlives the attempt. */
    kill(-c.pid, SIGKILL);
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (c.in >= 0)
        close(c.in);
    close(c.out);
    close(c.errfd);
    rc = finish(&c, prc, status, &errb, over, err_over, f, err, timeout_ms);
    if (rc)
        goto out;
    resp->usage.prompt_tokens = (int64_t)(prompt.len + 3) / 4;
    resp->usage.completion_tokens = (int64_t)(out.len + 3) / 4;
    resp->text = ad_buf_detach(&out, NULL);
    resp->finish_reason = strdup("stop");
    if (!resp->text || !resp->finish_reason)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    else if (req->on_delta && req->on_delta(req->delta_arg, "text", resp->text,
                                            strlen(resp->text)))
        rc = ad_error(err, AD_EINVAL, "aborted by the caller");
out:
    ad_buf_release(&prompt);
    ad_buf_release(&out);
    ad_buf_release(&errb);
    return rc;
}

const struct ad__llm_ops ad__llm_exec_ops = {
    .name = "exec",
    .attempt = exec_attempt,
};
