/*
 * autodev serve: the HTTP API and a pool of job workers in one process;
 * autodev worker: the workers alone. Both are thin faces over the server
 * module (server.h): parse the options, start, wait for SIGINT or SIGTERM,
 * stop within the grace period, exit 0.
 *
 * Signals are blocked in every thread (the mask is set before any thread
 * starts, and threads inherit it) and taken by sigwait() in the main
 * thread, so no handler runs inside a library call.
 */
#include "compat.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "autodev/log.h"
#include "autodev/runtime.h"
#include "autodev/server.h"

#include "cli.h"

struct serve_opts {
    struct ad_server_options http;
    int64_t workers;
    int64_t lease_s;
    int64_t grace_s;
    int64_t poll_ms;
    const char *port_file;
};

/* The library's lines for the operator, through the CLI's one path to stderr. */
static void note(void *arg, const char *msg)
{
    ad__note(arg, "%s", msg);
}

static int parse_size(struct ad_ctx *ctx, const char *name, const char *s, int64_t min,
                      int64_t max, int64_t *out)
{
    return ad__parse_int(ctx, name, s, min, max, out) != 0 ? AD_EXIT_USAGE : 0;
}

static int parse_serve(struct ad_ctx *ctx, int argc, char **argv, int http, struct serve_opts *o)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "workers", required_argument, NULL, 'w' },
        { "threads", required_argument, NULL, 't' },
        { "max-connections", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 'T' },
        { "max-body", required_argument, NULL, 'b' },
        { "max-header", required_argument, NULL, 'H' },
        { "rate-limit", required_argument, NULL, 'r' },
        { "burst", required_argument, NULL, 'B' },
        { "ping", required_argument, NULL, 'p' },
        { "lease", required_argument, NULL, 'L' },
        { "grace", required_argument, NULL, 'g' },
        { "poll", required_argument, NULL, 'P' },
        { "port-file", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    int64_t v;
    int rc = 0, c;

    ad__getopt_reset();
    while (rc == 0 && (c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        /* The HTTP options mean nothing to a worker: refused, not ignored. */
        if (!http && strchr("ltcTbHrBpf", c))
            return ad__usage_error(ctx, "'%s' is an option of autodev serve, not of worker",
                                   argv[optind - 1]);
        switch (c) {
        case 'l': o->http.listen = optarg; break;
        case 'f': o->port_file = optarg; break;
        case 'w': rc = parse_size(ctx, "--workers", optarg, http ? 0 : 1, 256, &o->workers); break;
        case 't':
            rc = parse_size(ctx, "--threads", optarg, 1, 64, &v);
            o->http.threads = (int)v;
            break;
        case 'c':
            rc = parse_size(ctx, "--max-connections", optarg, 1, 100000, &v);
            o->http.max_connections = (int)v;
            break;
        case 'T':
            rc = parse_size(ctx, "--timeout", optarg, 1, 3600, &v);
            o->http.timeout_s = (int)v;
            break;
        case 'b':
            rc = parse_size(ctx, "--max-body", optarg, 1024, (int64_t)1 << 30, &v);
            o->http.max_body = (size_t)v;
            break;
        case 'H':
            rc = parse_size(ctx, "--max-header", optarg, 4096, 1 << 20, &v);
            o->http.max_header = (size_t)v;
            break;
        case 'r':
            rc = parse_size(ctx, "--rate-limit", optarg, 0, 1000000, &v);
            o->http.rate = v == 0 ? -1 : (int)v;
            break;
        case 'B':
            rc = parse_size(ctx, "--burst", optarg, 1, 10000000, &v);
            o->http.burst = (int)v;
            break;
        case 'p':
            rc = parse_size(ctx, "--ping", optarg, 1, 3600, &v);
            o->http.ping_s = (int)v;
            break;
        case 'L': rc = parse_size(ctx, "--lease", optarg, 1, 86400, &o->lease_s); break;
        case 'g': rc = parse_size(ctx, "--grace", optarg, 0, 3600, &o->grace_s); break;
        case 'P': rc = parse_size(ctx, "--poll", optarg, 10, 60000, &o->poll_ms); break;
        default: return AD_EXIT_USAGE;
        }
    }
    if (rc == 0 && optind < argc)
        rc = ad__usage_error(ctx, "unexpected argument '%s'", argv[optind]);
    return rc;
}

/* The port, for a caller that asked for port 0; written whole or not at all. */
static int write_port_file(struct ad_ctx *ctx, const char *path, int port)
{
    struct ad_buf tmp = AD_BUF_INIT;
    FILE *f;
    int ok;

    if (ad_buf_addf(&tmp, "%s.tmp", path) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    f = fopen(tmp.ptr, "w");
    ok = f && fprintf(f, "%d\n", port) > 0;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok || rename(tmp.ptr, path) != 0) {
        int e = errno;

        unlink(tmp.ptr);
        ad_buf_release(&tmp);
        return ad__die_code(ctx, AD_EIO, "cannot write --port-file '%s': %s", path, strerror(e));
    }
    ad_buf_release(&tmp);
    return 0;
}

static void runtime_options(struct ad_ctx *ctx, struct ad_runtime_options *ro)
{
    memset(ro, 0, sizeof(*ro));
    ro->db = ctx->db_path;
    ro->busy_timeout_ms = ctx->busy_timeout_ms;
    ro->notices = ctx->notices;
}

/* Blocks the stop signals in this thread and every thread it starts from now on. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    /* A client gone away must not kill the server: writes fail with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
}

static int wait_for_stop(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    return sig;
}

static int start_workers(struct ad_ctx *ctx, const struct serve_opts *o, struct ad_workers **w)
{
    struct ad_workers_options wo = { 0 };
    struct ad_err err = AD_ERR_INIT;

    *w = NULL;
    if (o->workers == 0)
        return 0;
    runtime_options(ctx, &wo.runtime);
    wo.workers = (int)o->workers;
    wo.lease_ms = o->lease_s * 1000;
    wo.poll_ms = (int)o->poll_ms;
    wo.note = note;
    wo.note_arg = ctx;
    if (ad_workers_start(&wo, w, &err) < 0)
        return ad__die_err(ctx, &err);
    return 0;
}

/* Stops the workers within the grace period; the jobs still running go back to the queue. */
static int stop_workers(struct ad_ctx *ctx, struct ad_workers *w, int64_t grace_s)
{
    struct ad_err err = AD_ERR_INIT;
    int handed = 0, rc = 0;

    if (!w)
        return 0;
    if (ad_workers_stop(w, grace_s * 1000, &handed, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else if (handed > 0)
        ad__note(ctx, "handed %d running job%s back to the queue", handed,
                 handed == 1 ? "" : "s");
    ad_workers_free(w);
    return rc;
}

static int serve_run(struct ad_ctx *ctx, struct serve_opts *o)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_server *srv = NULL;
    struct ad_workers *w = NULL;
    sigset_t set;
    int rc, sig, left;

    block_signals(&set);
    runtime_options(ctx, &o->http.runtime);
    o->http.note = note;
    o->http.note_arg = ctx;
    if (ad_server_start(&o->http, &srv, &err) < 0)
        return ad__die_err(ctx, &err);
    rc = start_workers(ctx, o, &w);
    if (rc == 0 && o->port_file)
        rc = write_port_file(ctx, o->port_file, ad_server_port(srv));
    if (rc == 0) {
        ad__note(ctx, "serving http://%s/ (%" PRId64 " worker%s); stop with SIGINT or SIGTERM",
                 ad_server_address(srv), o->workers, o->workers == 1 ? "" : "s");
        sig = wait_for_stop(&set);
        ad__note(ctx, "%s: stopping (grace %" PRId64 " s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 o->grace_s);
    }
    left = ad_server_stop(srv, o->grace_s * 1000);
    if (left > 0)
        ad__note(ctx, "%d request%s still in flight at the end of the grace period", left,
                 left == 1 ? "" : "s");
    if (stop_workers(ctx, w, o->grace_s) != 0 && rc == 0)
        rc = AD_EXIT_RUNTIME;
    ad_server_free(srv);
    if (rc == 0)
        ad__note(ctx, "stopped");
    return rc;
}

int cmd_serve(int argc, char **argv, struct ad_ctx *ctx)
{
    struct serve_opts o = { .workers = 2, .grace_s = 30 };
    int rc = parse_serve(ctx, argc, argv, 1, &o);

    /* The store is opened (and migrated) once here, with the CLI's words for what is wrong. */
    if (rc == 0)
        rc = ad__ctx_store(ctx, AD_CTX_WRITE);
    if (rc != 0)
        return rc;
    ad__ctx_close(ctx);
    return serve_run(ctx, &o);
}

int cmd_worker(int argc, char **argv, struct ad_ctx *ctx)
{
    struct serve_opts o = { .workers = 2, .grace_s = 30 };
    struct ad_workers *w = NULL;
    sigset_t set;
    int rc = parse_serve(ctx, argc, argv, 0, &o), sig;

    if (rc == 0)
        rc = ad__ctx_store(ctx, AD_CTX_WRITE);
    if (rc != 0)
        return rc;
    ad__ctx_close(ctx);
    block_signals(&set);
    rc = start_workers(ctx, &o, &w);
    if (rc != 0)
        return rc;
    ad__note(ctx, "%" PRId64 " worker%s running; stop with SIGINT or SIGTERM", o.workers,
             o.workers == 1 ? "" : "s");
    sig = wait_for_stop(&set);
    ad__note(ctx, "%s: stopping (grace %" PRId64 " s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
             o.grace_s);
    rc = stop_workers(ctx, w, o.grace_s);
    if (rc == 0)
        ad__note(ctx, "stopped");
    return rc;
}
