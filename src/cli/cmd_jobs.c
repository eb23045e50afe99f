/*
 * autodev jobs: list, enqueue, run (in the foreground, with the handlers of
 * the runtime's job-kind table).
 */
#include "compat.h"

#include <getopt.h>

#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/runtime.h"
#include "autodev/store.h"

#include "cli.h"

json_t *ad__job_json(const struct ad_job *j)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s?, s:O?, s:s, s:s?, s:s?, s:s?, s:s, s:s}",
                     "id", j->id, "kind", j->kind ? j->kind : "",
                     "status", ad_job_status_name(j->status) ? ad_job_status_name(j->status) : "?",
                     "attempts", j->attempts, "max_attempts", j->max_attempts,
                     "idempotency_key", j->idempotency_key, "payload", j->payload,
                     "run_after", j->run_after,
                     "lease_until", j->lease_until[0] ? j->lease_until : NULL,
                     "worker", j->worker, "last_error", j->last_error,
                     "created_at", j->created_at, "updated_at", j->updated_at);
}

/* Errors may span lines (an integrity report); a listing keeps one job per line. */
static void print_one_line(FILE *out, const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            fputs("; ", out);
        else
            fputc(s[i], out);
    }
}

#define JOB_ROW "%-36s  %-7s  %-20s  %-5s  %-24s"

static void print_job_line(struct ad_ctx *ctx, const struct ad_job *j)
{
    char tries[24];

    snprintf(tries, sizeof(tries), "%d/%d", j->attempts, j->max_attempts);
    fprintf(ctx->out, JOB_ROW, j->id, ad_job_status_name(j->status), j->kind, tries,
            j->updated_at);
    if (j->status == AD_JOB_QUEUED)
        fprintf(ctx->out, "  run after %s", j->run_after);
    if (j->idempotency_key)
        fprintf(ctx->out, "  key=%s", j->idempotency_key);
    if (j->last_error) {
        fputs("  error: ", ctx->out);
        print_one_line(ctx->out, j->last_error);
    }
    fputc('\n', ctx->out);
}

static int jobs_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "status", required_argument, NULL, 's' },
        { "kind", required_argument, NULL, 'k' },
        { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_err err = AD_ERR_INIT;
    struct ad_job *v = NULL;
    enum ad_job_status st;
    const char *kind = NULL;
    int64_t limit = AD_LIST_DEFAULT;
    int status = -1;
    size_t n = 0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'k': kind = optarg; break;
        case 's':
            if (ad_job_status_parse(optarg, &st) < 0)
                return ad__usage_error(ctx, "invalid status '%s': expected queued, running, "
                                       "done, failed or dead", optarg);
            status = (int)st;
            break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "jobs list takes no argument");
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    if (ad_jobs_list(ctx->store, ctx->tenant_id, status, kind, (int)limit, &v, &n, &err) < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, ad__job_json(&v[i]));
        rc = ad__print_json(ctx, arr);
    } else {
        if (n > 0)
            ad__print_header(ctx, JOB_ROW "  %s", "ID", "STATUS", "KIND", "TRIES", "UPDATED",
                             "NOTE");
        for (size_t i = 0; i < n; i++)
            print_job_line(ctx, &v[i]);
    }
    ad_job_list_free(v, n);
    return rc;
}

/*
 * A kind must be one the runtime's job-kind table runs: anything else
 * would sit in the queue forever (or be failed for good by a worker), so
 * enqueue and run --kind refuse it, naming the kinds there are.
 */
static int check_kind(struct ad_ctx *ctx, const char *kind)
{
    struct ad_buf known = AD_BUF_INIT;
    int rc;

    if (ad_runtime_job_kind_find(kind))
        return 0;
    for (const struct ad_runtime_job_kind *k = ad_runtime_job_kinds(); k->kind; k++)
        ad_buf_addf(&known, "%s%s", known.len ? ", " : "", k->kind);
    rc = ad__usage_error(ctx, "unknown job kind '%s' (the kinds are %s)", kind,
                         known.ptr ? known.ptr : "none");
    ad_buf_release(&known);
    return rc;
}

static int parse_payload(struct ad_ctx *ctx, const char *text, json_t **out)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_json_parse(text, strlen(text), AD_JSON_FIELD_MAX, out, &err) < 0)
        return ad__die_code(ctx, err.code, "--payload: %s", err.msg);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ad__usage_error(ctx, "--payload: expected a JSON object");
    }
    return 0;
}

static int enqueue(struct ad_ctx *ctx, const char *kind, json_t *payload, const char *key,
                   int64_t delay_s)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs *q = NULL;
    char id[AD_ID_SIZE];
    int created = 0;
    int64_t delay_ms = delay_s * 1000;
    int rc;

    rc = ad__ctx_jobs(ctx, &q);
    if (rc != 0)
        return rc;
    if (ad_jobs_enqueue(q, kind, payload, key, delay_ms, id, &created, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else if (ctx->json)
        rc = ad__print_json(ctx, json_pack("{s:s, s:b}", "id", id, "created", created));
    else
        fprintf(ctx->out, "%s%s\n", id, created ? "" : " (already queued with this key)");
    ad_jobs_free(q);
    return rc;
}

static int jobs_enqueue(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "payload", required_argument, NULL, 'p' },
        { "key", required_argument, NULL, 'k' },
        { "delay", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    json_t *payload = NULL;
    const char *key = NULL;
    int64_t delay = 0;
    int rc = 0, c;

    ad__getopt_reset();
    while (rc == 0 && (c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 'p':
            json_decref(payload);
            payload = NULL;
            rc = parse_payload(ctx, optarg, &payload);
            break;
        case 'd':
            rc = ad__parse_int(ctx, "--delay", optarg, 0, 365 * 86400, &delay);
            break;
        default:
            rc = AD_EXIT_USAGE;
        }
    }
    if (rc == 0 && argc - optind != 1)
        rc = ad__usage_error(ctx, "usage: autodev jobs enqueue KIND [--payload JSON] "
                             "[--key K] [--delay SECONDS]");
    if (rc == 0)
        rc = check_kind(ctx, argv[optind]);
    if (rc == 0 && !payload) {
        payload = json_object();
        if (!payload)
            rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = enqueue(ctx, argv[optind], payload, key, delay);
    json_decref(payload);
    return rc;
}

/* ---- jobs run ------------------------------------------------------------ */

/* Prints the job that just ran, with its outcome; appends it to arr under --json. */
static int report_job(struct ad_ctx *ctx, const char *id, json_t *arr)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j = { 0 };

    if (ad_jobs_get(ctx->store, ctx->tenant_id, id, &j, &err) < 0)
        return ad__die_err(ctx, &err);
    if (arr) {
        json_array_append_new(arr, ad__job_json(&j));
    } else {
        fprintf(ctx->out, "%s  %s  ", j.id, j.kind);
        if (j.status == AD_JOB_QUEUED)
            fprintf(ctx->out, "failed (attempt %d of %d), retry after %s", j.attempts,
                    j.max_attempts, j.run_after);
        else
            fputs(ad_job_status_name(j.status), ctx->out);
        if (j.last_error) {
            fputs(": ", ctx->out);
            print_one_line(ctx->out, j.last_error);
        }
        fputc('\n', ctx->out);
    }
    ad_job_release(&j);
    return 0;
}

static int run_jobs(struct ad_ctx *ctx, struct ad_jobs *q, const char *kind, int until_idle,
                    int64_t max)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *arr = ctx->json ? json_array() : NULL;
    int64_t count = 0, limit = until_idle ? max : 1;   /* limit 0: no limit */
    int rc = 0, ran = 0;

    if (ctx->json && !arr)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    while (rc == 0 && (limit == 0 || count < limit)) {
        if (ad_jobs_run_one(q, kind, &ran, &err) < 0) {
            rc = ad__die_err(ctx, &err);
            break;
        }
        if (!ran)
            break;
        count++;
        if (ad_jobs_last_run(q)[0])
            rc = report_job(ctx, ad_jobs_last_run(q), arr);
    }
    if (rc == 0 && arr)
        rc = ad__print_json(ctx, json_pack("{s:I, s:O}", "ran", (json_int_t)count, "jobs", arr));
    else if (rc == 0 && count == 0)
        fprintf(ctx->out, "no job to run\n");
    else if (rc == 0 && until_idle)
        fprintf(ctx->out, "ran %" PRId64 " job%s\n", count, count == 1 ? "" : "s");
    json_decref(arr);
    return rc;
}

static int jobs_run(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "until-idle", no_argument, NULL, 'u' },
        { "kind", required_argument, NULL, 'k' },
        { "max", required_argument, NULL, 'm' },
        { "lease", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_jobs_options jo = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs *q = NULL;
    const char *kind = NULL;
    int64_t max = 0, lease = 0;
    int until_idle = 0, rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'u': until_idle = 1; break;
        case 'k': kind = optarg; break;
        case 'm':
            if (ad__parse_int(ctx, "--max", optarg, 1, INT32_MAX, &max) != 0)
                return AD_EXIT_USAGE;
            break;
        case 'l':
            if (ad__parse_int(ctx, "--lease", optarg, 1, 86400, &lease) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "jobs run takes no argument");
    if (max && !until_idle)
        return ad__usage_error(ctx, "--max needs --until-idle");
    if (kind && check_kind(ctx, kind) != 0)
        return AD_EXIT_USAGE;
    jo.lease_ms = lease * 1000;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0 && ad_runtime_jobs(ctx->rt, ctx->tenant_id, &jo, &q, &err) < 0)
        rc = ad__die_err(ctx, &err);
    /* Scheduled work that is due joins the queue first: the worker is the scheduler. */
    if (rc == 0 && ad_runtime_schedule(ctx->rt, ctx->tenant_id, &err) < 0)
        rc = ad__die_err(ctx, &err);
    if (rc == 0)
        rc = run_jobs(ctx, q, kind, until_idle, max);
    ad_jobs_free(q);
    return rc;
}

int cmd_jobs(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "list", jobs_list },
        { "enqueue", jobs_enqueue },
        { "run", jobs_run },
        { NULL, NULL },
    };

    return ad__run_sub("jobs", subs, argc, argv, ctx);
}
