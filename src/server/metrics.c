/*
 * GET /metrics: Prometheus text (exposition format 0.0.4).
 *
 * What the process counts itself: requests by route and status, and a
 * latency histogram per route, kept in arrays of relaxed atomics indexed
 * by the route's row (no lock on the request path). What it reads when
 * scraped, for the scraping token's tenant: jobs by state (the jobs
 * module), model tokens and cost (the llm module's ledger); and, for the
 * process, sandbox runs by status (the sandbox module) and the open event
 * streams.
 */
#include "compat.h"

#include "autodev/jobs.h"
#include "autodev/llm.h"
#include "autodev/sandbox.h"
#include "autodev/store.h"

#include "server_int.h"

/* The statuses the server answers with; anything else counts under "other". */
static const int statuses[] = { 200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 415, 422,
                                429, 500, 503 };
#define NSTATUS (AD_ARRAY_SIZE(statuses) + 1)

/* Upper bounds of the latency buckets, in seconds (+Inf is the count). */
static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                 0.5, 1, 2.5, 5, 10, 30 };
#define NBOUNDS AD_ARRAY_SIZE(bounds)

struct route_stats {
    uint64_t by_status[NSTATUS];
    uint64_t le[NBOUNDS];          /* requests at or under bounds[i] (not cumulative here) */
    uint64_t count;
    uint64_t sum_ns;
};

struct ad__metrics {
    size_t nroutes;                /* the table's rows; index nroutes is "no route" */
    struct route_stats *r;
};

int ad__metrics_new(size_t nroutes, struct ad__metrics **out)
{
    struct ad__metrics *m = calloc(1, sizeof(*m));

    *out = NULL;
    if (!m)
        return AD_ENOMEM;
    m->nroutes = nroutes;
    m->r = calloc(nroutes + 1, sizeof(*m->r));
    if (!m->r) {
        free(m);
        return AD_ENOMEM;
    }
    *out = m;
    return 0;
}

void ad__metrics_free(struct ad__metrics *m)
{
    if (!m)
        return;
    free(m->r);
    free(m);
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(statuses); i++) {
        if (statuses[i] == status)
            return i;
    }
    return NSTATUS - 1;
}

void ad__metrics_observe(struct ad__metrics *m, int route, int status, int64_t ns)
{
    struct route_stats *rs;
    double secs = (double)ns / 1e9;

    if (!m || route < 0 || (size_t)route > m->nroutes)
        return;
    rs = &m->r[route];
    __atomic_fetch_add(&rs->by_status[status_slot(status)], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&rs->count, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&rs->sum_ns, (uint64_t)(ns > 0 ? ns : 0), __ATOMIC_RELAXED);
    for (size_t i = 0; i < NBOUNDS; i++) {
        if (secs <= bounds[i]) {
            __atomic_fetch_add(&rs->le[i], 1, __ATOMIC_RELAXED);
            break;
        }
    }
}

/* The labels of route i: method and path ("none" for requests no route matched). */
static void route_labels(size_t i, size_t nroutes, struct ad_buf *out)
{
    const struct ad__route *rt = ad__routes();

    if (i < nroutes)
        ad_buf_addf(out, "method=\"%s\",route=\"%s\"", rt[i].method, rt[i].path);
    else
        ad_buf_addf(out, "method=\"\",route=\"none\"");
}

static void requests_text(struct ad__metrics *m, struct ad_buf *out)
{
    ad_buf_adds(out, "# HELP autodev_http_requests_total HTTP requests answered, by route and "
                     "status.\n# TYPE autodev_http_requests_total counter\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t n = __atomic_load_n(&m->r[i].by_status[s], __ATOMIC_RELAXED);

            if (!n)
                continue;
            ad_buf_adds(out, "autodev_http_requests_total{");
            route_labels(i, m->nroutes, out);
            if (s < AD_ARRAY_SIZE(statuses))
                ad_buf_addf(out, ",status=\"%d\"} %" PRIu64 "\n", statuses[s], n);
            else
                ad_buf_addf(out, ",status=\"other\"} %" PRIu64 "\n", n);
        }
    }
}

static void latency_text(struct ad__metrics *m, struct ad_buf *out)
{
    ad_buf_adds(out, "# HELP autodev_http_request_duration_seconds Time from a request's "
                     "headers to its answer, by route.\n"
                     "# TYPE autodev_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->nroutes; i++) {
        struct route_stats *rs = &m->r[i];
        uint64_t count = __atomic_load_n(&rs->count, __ATOMIC_RELAXED), cum = 0;

        if (!count)
            continue;
        for (size_t b = 0; b < NBOUNDS; b++) {
            cum += __atomic_load_n(&rs->le[b], __ATOMIC_RELAXED);
            ad_buf_adds(out, "autodev_http_request_duration_seconds_bucket{");
            route_labels(i, m->nroutes, out);
            ad_buf_addf(out, ",le=\"%g\"} %" PRIu64 "\n", bounds[b], cum);
        }
        ad_buf_adds(out, "autodev_http_request_duration_seconds_bucket{");
        route_labels(i, m->nroutes, out);
        ad_buf_addf(out, ",le=\"+Inf\"} %" PRIu64 "\n", count);
        ad_buf_adds(out, "autodev_http_request_duration_seconds_sum{");
        route_labels(i, m->nroutes, out);
        ad_buf_addf(out, "} %.6f\n",
                    (double)__atomic_load_n(&rs->sum_ns, __ATOMIC_RELAXED) / 1e9);
        ad_buf_adds(out, "autodev_http_request_duration_seconds_count{");
        route_labels(i, m->nroutes, out);
        ad_buf_addf(out, "} %" PRIu64 "\n", count);
    }
}

static int jobs_text(struct ad__req *r, struct ad_buf *out, struct ad_err *err)
{
    int64_t counts[AD_JOB_STATUS_COUNT];
    int rc = ad_jobs_counts(r->st, r->tok.tenant_id, counts, err);

    if (rc < 0)
        return rc;
    ad_buf_adds(out, "# HELP autodev_jobs The tenant's jobs, by state.\n"
                     "# TYPE autodev_jobs gauge\n");
    for (int s = 0; s < AD_JOB_STATUS_COUNT; s++)
        ad_buf_addf(out, "autodev_jobs{state=\"%s\"} %" PRId64 "\n",
                    ad_job_status_name((enum ad_job_status)s), counts[s]);
    return 0;
}

static void sandbox_text(struct ad_buf *out)
{
    uint64_t counts[AD_SB_STATUS_COUNT];

    ad_sandbox_run_counts(counts);
    ad_buf_adds(out, "# HELP autodev_sandbox_runs_total Sandbox runs of this process, by the "
                     "status of their result.\n# TYPE autodev_sandbox_runs_total counter\n");
    for (int s = 0; s < AD_SB_STATUS_COUNT; s++)
        ad_buf_addf(out, "autodev_sandbox_runs_total{status=\"%s\"} %" PRIu64 "\n",
                    ad_sb_status_name((enum ad_sb_status)s), counts[s]);
}

/* A label value: backslash, quote and newline escaped. */
static void label(struct ad_buf *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            ad_buf_addf(out, "\\%c", *s);
        else if (*s == '\n')
            ad_buf_adds(out, "\\n");
        else
            ad_buf_addch(out, *s);
    }
}

static int llm_text(struct ad__req *r, struct ad_buf *out, struct ad_err *err)
{
    struct ad_llm_usage_row *v = NULL;
    size_t n = 0;
    int rc = ad_llm_usage(r->st, r->tok.tenant_id, NULL, &v, &n, err);

    if (rc < 0)
        return rc;
    ad_buf_adds(out, "# HELP autodev_llm_tokens_total Model tokens the tenant used, from the "
                     "cost ledger.\n# TYPE autodev_llm_tokens_total counter\n");
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            ad_buf_adds(out, "autodev_llm_tokens_total{provider=\"");
            label(out, v[i].provider);
            ad_buf_adds(out, "\",model=\"");
            label(out, v[i].model);
            ad_buf_adds(out, "\",purpose=\"");
            label(out, v[i].purpose);
            ad_buf_addf(out, "\",type=\"%s\"} %" PRId64 "\n", k ? "completion" : "prompt",
                        k ? v[i].completion_tokens : v[i].prompt_tokens);
        }
    }
    ad_buf_adds(out, "# HELP autodev_llm_cost_usd_total Model spend of the tenant in US dollars, "
                     "from the cost ledger.\n# TYPE autodev_llm_cost_usd_total counter\n");
    for (size_t i = 0; i < n; i++) {
        ad_buf_adds(out, "autodev_llm_cost_usd_total{provider=\"");
        label(out, v[i].provider);
        ad_buf_adds(out, "\",model=\"");
        label(out, v[i].model);
        ad_buf_adds(out, "\",purpose=\"");
        label(out, v[i].purpose);
        ad_buf_addf(out, "\"} %.6f\n", v[i].cost_usd);
    }
    ad_llm_usage_rows_free(v, n);
    return 0;
}

int ad__metrics_text(struct ad__metrics *m, struct ad__req *r, struct ad_buf *out,
                     struct ad_err *err)
{
    int rc;

    requests_text(m, out);
    latency_text(m, out);
    ad_buf_addf(out, "# HELP autodev_event_streams Event streams open now.\n"
                     "# TYPE autodev_event_streams gauge\nautodev_event_streams %d\n",
                ad__hub_streams(ad__server_hub(r->srv)));
    sandbox_text(out);
    rc = jobs_text(r, out, err);
    if (rc == 0)
        rc = llm_text(r, out, err);
    if (rc == 0 && out->len >= out->max)
        rc = ad_error(err, AD_ETOOBIG, "the metrics text is over its cap");
    return rc;
}
