/*
 * The Python re-check: the emitted module run by the real Python on every
 * example before ad_synth() reports it.
 *
 * The C evaluator (synth_eval.c) follows Python operation for operation,
 * and each known difference has been closed there; this is the net for
 * what is not known yet (another Python, another Unicode version). One
 * child process runs a small driver: it reads {"code", "entry", "inputs"}
 * as JSON on standard input, loads the module, calls the function on each
 * input as the sandbox harness calls a skill (keyword arguments when the
 * input is an object whose keys fit the parameters, else one argument),
 * and writes one JSON line per input on standard output.
 *
 * Why not the sandbox: the module is not untrusted code. synth_emit.c
 * writes it from a closed grammar (a return expression over re, str
 * methods, arithmetic and comprehensions); the examples' values enter it
 * only as escaped literals, and the inputs arrive as JSON data. And
 * propose (layer 3) may not use the sandbox module beside it, while
 * `autodev synth` needs no home, no store and no sandbox. The child still
 * gets as little as it needs: no shell, the command's words then "-c" and
 * the driver (-I -S in the default: no site, no user paths, no PYTHON*
 * variables), an empty environment, default signals, descriptors 0-2 only,
 * a wall limit after which it is killed.
 */
#include "compat.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autodev/json.h"

#include "synth_int.h"

#define MAX_WORDS 16
#define ERR_KEEP 2000                 /* bytes of the child's stderr kept for a message */
#define CHUNK 65536                   /* one read */
#define OUT_MAX ((size_t)256 << 20)   /* the driver's answers, at most */

/*
 * The driver. _fits is the rule of the sandbox harness (sandbox_harness.c),
 * so the function is called here as a skill run will call it.
 */
static const char driver[] =
    "import sys, json\n"
    "def _fits(fn, data):\n"
    "    if data is None:\n"
    "        data = {}\n"
    "    if type(data) is not dict:\n"
    "        return False\n"
    "    c = fn.__code__\n"
    "    npos, nkw, posonly = c.co_argcount, c.co_kwonlyargcount, c.co_posonlyargcount\n"
    "    names = c.co_varnames[:npos + nkw]\n"
    "    defaults = fn.__defaults__ or ()\n"
    "    kwdefaults = fn.__kwdefaults__ or {}\n"
    "    nreq = npos - len(defaults)\n"
    "    if posonly > 0 and nreq > 0:\n"
    "        return False\n"
    "    if not (c.co_flags & 0x08) and not set(data) <= set(names[posonly:]):\n"
    "        return False\n"
    "    required = set(names[posonly:max(nreq, posonly)])\n"
    "    required |= {n for n in names[npos:] if n not in kwdefaults}\n"
    "    return required <= set(data)\n"
    "def _main():\n"
    "    req = json.loads(sys.stdin.buffer.read())\n"
    "    out = sys.stdout\n"
    "    try:\n"
    "        g = {'__name__': '__synth__'}\n"
    "        exec(compile(req['code'], 'synth.py', 'exec'), g)\n"
    "        fn = g[req['entry']]\n"
    "    except BaseException as e:\n"
    "        out.write(json.dumps({'load': '%s: %s' % (type(e).__name__, e)}) + '\\n')\n"
    "        return\n"
    "    for x in req['inputs']:\n"
    "        try:\n"
    "            y = fn(**(x or {})) if _fits(fn, x) else fn(x)\n"
    "            line = json.dumps({'ok': True, 'output': y}, allow_nan=False)\n"
    "        except BaseException as e:\n"
    "            line = json.dumps({'ok': False, 'error': '%s: %s' % (type(e).__name__,\n"
    "                                                                str(e)[:300])})\n"
    "        out.write(line + '\\n')\n"
    "    out.flush()\n"
    "_main()\n";

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The request the driver reads: the module, its entry, every example's input. */
static char *request(const char *code, const char *entry, const json_t *examples, size_t *len)
{
    json_t *inputs = json_array(), *req;
    const json_t *ex;
    size_t i;
    char *s;

    json_array_foreach(examples, i, ex) {
        if (inputs && json_array_append(inputs, json_object_get(ex, "input")) < 0) {
            json_decref(inputs);
            inputs = NULL;
        }
    }
    req = inputs ? json_pack("{s:s, s:s, s:o}", "code", code, "entry", entry, "inputs", inputs)
                 : NULL;
    s = req ? json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(req);
    *len = s ? strlen(s) : 0;
    return s;
}

/* The command's words, then -c and the driver; the words point into buf. The count, or < 0. */
static int command(const char *cmd, char *buf, size_t size, char **argv, struct ad_err *err)
{
    int n = 0;
    char *p = buf;

    if (snprintf(buf, size, "%s", cmd) >= (int)size)
        return ad_error(err, AD_EINVAL, "python command too long: '%.60s...'", cmd);
    for (;;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == MAX_WORDS)
            return ad_error(err, AD_EINVAL, "python command '%.100s': more than %d words", cmd,
                            MAX_WORDS);
        argv[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    if (n == 0)
        return ad_error(err, AD_EINVAL, "the python command of the re-check is empty");
    argv[n++] = (char *)"-c";
    argv[n++] = (char *)driver;
    argv[n] = NULL;
    return n;
}

struct child {
    pid_t pid;
    int in, out, errfd;               /* our ends; -1 once closed */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/*
 * Starts argv with standard input on a socket (written with MSG_NOSIGNAL:
 * a child that dies early must not take this process down with SIGPIPE),
 * standard output and error on pipes, nothing else open, no environment.
 */
static int spawn(char **argv, struct child *c, struct ad_err *err)
{
    static char *const envp[] = { NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    int sv[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 }, rc;

    c->pid = -1;
    c->in = c->out = c->errfd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        rc = ad_error(err, AD_EIO, "python check: %s", strerror(errno));
        goto out;
    }
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&c->pid, argv[0], &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        c->pid = -1;
        rc = ad_error(err, AD_EIO, "python check: cannot run '%s': %s", argv[0], strerror(rc));
        goto out;
    }
    c->in = sv[0], sv[0] = -1;
    c->out = po[0], po[0] = -1;
    c->errfd = pe[0], pe[0] = -1;
    fcntl(c->in, F_SETFL, fcntl(c->in, F_GETFL) | O_NONBLOCK);
    rc = 0;
out:
    close_fd(&sv[0]);
    close_fd(&sv[1]);
    close_fd(&po[0]);
    close_fd(&po[1]);
    close_fd(&pe[0]);
    close_fd(&pe[1]);
    return rc;
}

/*
 * Reads what fd has into b; EOF closes it. All of it (past b->max is an
 * error), or only the last ERR_KEEP bytes or so (tail: a traceback ends in
 * its message).
 */
static int drain(int *fd, struct ad_buf *b, bool tail)
{
    char chunk[CHUNK];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : AD_EIO;
    if (n == 0) {
        close_fd(fd);
        return 0;
    }
    if (tail && b->len > ERR_KEEP) {
        memmove(b->ptr, b->ptr + b->len - ERR_KEEP, ERR_KEEP);
        b->len = ERR_KEEP;
        b->ptr[b->len] = '\0';
    }
    return ad_buf_add(b, chunk, (size_t)n);
}

/*
 * Feeds req to the child and collects its output and error until both end,
 * within wall_ms. 0, or AD_ETIMEOUT / AD_ETOOBIG / AD_EIO (the child is
 * then killed by the caller).
 */
static int converse(struct child *c, const char *req, size_t len, int wall_ms,
                    struct ad_buf *out, struct ad_buf *errb, int64_t *deadline_out)
{
    int64_t deadline = now_ms() + wall_ms;
    size_t sent = 0;

    *deadline_out = deadline;
    while (c->out >= 0 || c->errfd >= 0) {
        struct pollfd pf[3];
        int64_t left = deadline - now_ms();
        nfds_t n = 0;
        int rc;

        if (left <= 0)
            return AD_ETIMEOUT;
        if (c->in >= 0)
            pf[n++] = (struct pollfd){ c->in, POLLOUT, 0 };
        if (c->out >= 0)
            pf[n++] = (struct pollfd){ c->out, POLLIN, 0 };
        if (c->errfd >= 0)
            pf[n++] = (struct pollfd){ c->errfd, POLLIN, 0 };
        rc = poll(pf, n, (int)(left > INT32_MAX ? INT32_MAX : left));
        if (rc < 0 && errno != EINTR)
            return AD_EIO;
        for (nfds_t i = 0; rc > 0 && i < n; i++) {
            if (!pf[i].revents)
                continue;
            if (pf[i].fd == c->in) {
                ssize_t k = send(c->in, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (k > 0)
                    sent += (size_t)k;
                /* Done, or the child stopped reading: it answers or fails either way. */
                if (sent == len || (k < 0 && errno != EAGAIN && errno != EINTR))
                    close_fd(&c->in);
            } else if (pf[i].fd == c->out) {
                int r = drain(&c->out, out, false);

                if (r < 0)
                    return r == AD_ETOOBIG ? AD_ETOOBIG : AD_EIO;
            } else if (drain(&c->errfd, errb, true) < 0) {
                close_fd(&c->errfd);
            }
        }
    }
    return 0;
}

/*
 * Waits for the child to exit by the deadline: one that closed its output
 * may still be running. 0 with its status, or AD_ETIMEOUT. A host that
 * ignores SIGCHLD reaps it itself (ECHILD): then it is taken as a clean exit.
 */
static int reap(pid_t pid, int64_t deadline, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid || (r < 0 && errno == ECHILD))
            return 0;
        if (r < 0 && errno != EINTR)
            return AD_EIO;
        if (now_ms() >= deadline)
            return AD_ETIMEOUT;
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
}

/* The last line of the child's standard error, for a message. */
static struct ad_str last_line(const struct ad_buf *b)
{
    struct ad_str s = ad_str_last_line(b->ptr);

    return s.len ? s : AD_STR("(no message)");
}

/* Compares the driver's lines with the outputs: 0, or 1 with c->bad and c->got. */
static int compare(struct sx_check *c, const struct ad_buf *out, const json_t *examples,
                   struct ad_err *err)
{
    const char *p = out->ptr, *end = out->ptr + out->len;
    size_t n = json_array_size(examples), i = 0;

    for (; p < end && i < n; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *line = json_loadb(p, len, 0, NULL), *got = json_object_get(line, "output");
        const char *load = ad_json_str(line, "load");
        bool ok = json_is_true(json_object_get(line, "ok")) &&
                  sx_equal(got, json_object_get(json_array_get(examples, i), "output"));

        p += len + (nl ? 1 : 0);
        if (load) {
            int rc = ad_error(err, AD_EINTERNAL, "python check: the module does not load: "
                                                 "%.300s", load);

            json_decref(line);
            return rc;
        }
        if (!ok) {
            c->bad = i;
            c->got = !line ? strdup("a value JSON cannot carry here (an int over 64 bits?)")
                     : json_is_true(json_object_get(line, "ok"))
                         ? ad_json_dumps(got)
                         : ad_strdupf("an error (%.300s)", ad_json_str(line, "error")
                                                                ? ad_json_str(line, "error")
                                                                : "?");
            json_decref(line);
            return c->got ? 1 : ad_error(err, AD_ENOMEM, "out of memory");
        }
        json_decref(line);
    }
    if (i < n)
        return ad_error(err, AD_EIO, "python check: %zu answers for %zu examples", i, n);
    return 0;
}

int sx_check_python(struct sx_check *c, const char *code, const char *entry,
                    const json_t *examples, struct ad_err *err)
{
    char buf[1024], *argv[MAX_WORDS + 3], *req = NULL;
    struct ad_buf out = AD_BUF_INIT, errb = AD_BUF_INIT;
    struct child ch = { -1, -1, -1, -1 };
    int64_t deadline;
    size_t len;
    int rc, status = 0;

    c->bad = 0;
    c->got = NULL;
    if (!c->python)
        return ad_error(err, AD_EINVAL, "no python command for the re-check");
    rc = command(c->python, buf, sizeof(buf), argv, err);
    if (rc < 0)
        return rc;
    req = request(code, entry, examples, &len);
    if (!req)
        return ad_error(err, AD_ENOMEM, "out of memory");
    ad_buf_init(&out, OUT_MAX);
    ad_buf_init(&errb, ERR_KEEP + CHUNK);
    rc = spawn(argv, &ch, err);
    if (rc < 0)
        goto out;
    rc = converse(&ch, req, len, c->wall_ms, &out, &errb, &deadline);
    if (rc == 0)
        rc = reap(ch.pid, deadline, &status);
    if (rc < 0) {
        kill(ch.pid, SIGKILL);
        while (waitpid(ch.pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (rc == AD_ETIMEOUT) {
        rc = ad_error(err, AD_ETIMEOUT, "python check: '%s' gave no answer within %d ms",
                      argv[0], c->wall_ms);
    } else if (rc < 0) {
        rc = ad_error(err, rc, "python check: reading the answers of '%s': %s", argv[0],
                      ad_strerror(rc));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        struct ad_str last = last_line(&errb);

        rc = ad_error(err, AD_EIO, "python check: '%s' %s %d: %.*s", argv[0],
                      WIFEXITED(status) ? "exited with status" : "was killed by signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                      (int)(last.len > 300 ? 300 : last.len), last.ptr);
    } else {
        rc = compare(c, &out, examples, err);
    }
out:
    close_fd(&ch.in);
    close_fd(&ch.out);
    close_fd(&ch.errfd);
    free(req);
    ad_buf_release(&out);
    ad_buf_release(&errb);
    return rc;
}
