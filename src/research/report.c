/*
 * A session's report: JSON (everything), Markdown (for people) and
 * results.tsv (commit, metric, status keep/discard/crash, description),
 * the reference's format, one row for the baseline and one per iteration.
 */
#include "compat.h"

#include <math.h>

#include "autodev/buf.h"
#include "autodev/research.h"
#include "autodev/store.h"

#include "research_int.h"

static json_t *num(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static const char *tsv_status(const char *decision)
{
    if (!strcmp(decision, "kept"))
        return "keep";
    if (!strcmp(decision, "crashed"))
        return "crash";
    return "discard";
}

/* A description on one line, without tabs: the TSV's last column. */
static int add_flat(struct ad_buf *b, const char *s)
{
    int rc = 0;

    for (; !rc && s && *s; s++)
        rc = ad_buf_addch(b, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
    return rc;
}

/* The secondary metrics' values of one row (values: {name: number|null}), each then a tab. */
static int tsv_secondary(struct ad_buf *b, const json_t *specs, const json_t *values)
{
    size_t i;
    json_t *spec;
    int rc = 0;

    json_array_foreach(specs, i, spec) {
        const json_t *x = json_object_get(values, json_string_value(json_object_get(spec, "name")));

        if (!rc)
            rc = json_is_number(x) ? ad_buf_addf(b, "%.6g\t", json_number_value(x))
                                   : ad_buf_adds(b, "-\t");
    }
    return rc;
}

/* The reference's columns, with one per secondary metric after the metric (its memory_gb). */
static int build_tsv(const struct ad_research_session *s, const struct ad_research_iteration *v,
                     size_t n, struct ad_buf *b)
{
    const char *base = json_string_value(json_object_get(s->state, "base_commit"));
    const json_t *specs = json_object_get(s->config, "secondary");
    size_t k;
    json_t *spec;
    int rc = ad_buf_adds(b, "commit\tmetric\t");

    json_array_foreach(specs, k, spec) {
        if (!rc)
            rc = ad_buf_addf(b, "%s\t", json_string_value(json_object_get(spec, "name")));
    }
    if (!rc)
        rc = ad_buf_addf(b, "status\tdescription\n%.12s\t%.6g\t", base ? base : "",
                         s->baseline_metric);
    if (!rc)
        rc = tsv_secondary(b, specs, json_object_get(json_object_get(s->state, "baseline"),
                                                     "secondary"));
    if (!rc)
        rc = ad_buf_adds(b, "keep\tbaseline\n");
    for (size_t i = 0; !rc && i < n; i++) {
        rc = ad_buf_addf(b, "%.12s\t", v[i].commit_sha ? v[i].commit_sha : "-");
        if (!rc)
            rc = isnan(v[i].metric) ? ad_buf_adds(b, "-\t") : ad_buf_addf(b, "%.6g\t", v[i].metric);
        if (!rc)
            rc = tsv_secondary(b, specs, json_object_get(v[i].detail, "secondary"));
        if (!rc)
            rc = ad_buf_addf(b, "%s\t", tsv_status(v[i].decision));
        if (!rc)
            rc = add_flat(b, v[i].hypothesis);
        if (!rc)
            rc = ad_buf_addch(b, '\n');
    }
    return rc;
}

/* The gates that failed in an iteration, each counted once into by_gate. */
static int count_rejections(const struct ad_research_iteration *it, json_t *by_gate)
{
    const char *key;
    json_t *g;

    json_object_foreach(it->gate_results, key, g) {
        if (!json_is_true(json_object_get(g, "ok"))) {
            json_int_t c = json_integer_value(json_object_get(by_gate, key));

            if (json_object_set_new(by_gate, key, json_integer(c + 1)) < 0)
                return AD_ENOMEM;
        }
    }
    return 0;
}

/* The model's spend, the spark and what stopped the loop. */
static int add_cost(struct ad_buf *b, const struct ad_research_session *s, const json_t *cost)
{
    const char *why = json_string_value(json_object_get(s->state, "stopped_by"));
    json_int_t tokens = json_integer_value(json_object_get(cost, "tokens"));
    int rc = ad_buf_adds(b, "\n## Cost\n\n");

    if (!rc && tokens == 0)
        rc = ad_buf_adds(b, "No model tokens (the offline mutator), $0.\n");
    else if (!rc)
        rc = ad_buf_addf(b, "Model: %" JSON_INTEGER_FORMAT " tokens, $%.4f.\n", tokens,
                         json_number_value(json_object_get(cost, "usd")));
    if (!rc)
        rc = ad_buf_addf(b, "Spark: %" JSON_INTEGER_FORMAT " consumed",
                         json_integer_value(json_object_get(cost, "spark_consumed")));
    if (!rc && json_integer_value(json_object_get(s->budget, "spark_budget")) > 0)
        rc = ad_buf_addf(b, " of %" JSON_INTEGER_FORMAT,
                         json_integer_value(json_object_get(s->budget, "spark_budget")));
    if (!rc)
        rc = ad_buf_addf(b, ".\n\nStopped by: %s.\n", why ? why : "a request (finalize)");
    return rc;
}

/* "Secondary: a 1.5 (lower, margin 5%), ..." of one row, or nothing without secondaries. */
static int md_secondary(struct ad_buf *b, const json_t *specs, const json_t *values)
{
    size_t i;
    json_t *spec;
    int rc = json_array_size(specs) ? ad_buf_adds(b, "Secondary:") : 0;

    json_array_foreach(specs, i, spec) {
        const char *name = json_string_value(json_object_get(spec, "name"));
        const json_t *x = json_object_get(values, name);

        if (!rc)
            rc = ad_buf_addf(b, "%s `%s` ", i ? "," : "", name);
        if (!rc)
            rc = json_is_number(x) ? ad_buf_addf(b, "%.6g", json_number_value(x))
                                   : ad_buf_adds(b, "unread");
        if (!rc)
            rc = ad_buf_addf(b, " (%s is better, margin %.6g%s)",
                             json_string_value(json_object_get(spec, "direction")),
                             json_number_value(json_object_get(spec, "margin")),
                             json_is_true(json_object_get(spec, "relative")) ? "% of the baseline"
                                                                              : "");
    }
    if (!rc && json_array_size(specs))
        rc = ad_buf_adds(b, "\n\n");
    return rc;
}

static int build_markdown(const struct ad_research_session *s, const json_t *report,
                          const struct ad_research_iteration *v, size_t n, struct ad_buf *b)
{
    const json_t *by_gate = json_object_get(report, "rejections_by_gate");
    const char *key;
    json_t *c;
    int rc;

    rc = ad_buf_addf(b, "# Research session %s\n\nRepository `%s`, metric `%s` (%s is better), "
                     "command run %s.\n\n"
                     "- baseline: %.6g ± %.3g (median ± MAD)\n- best: %.6g at %.12s\n"
                     "- iterations: %zu\n\n## Kept edits\n\n",
                     s->id, s->repo_path, s->metric_name,
                     strcmp(s->direction, "minimize") ? "higher" : "lower",
                     !json_is_true(json_object_get(report, "sandbox"))
                         ? "on the host without the sandbox"
                     : !strcmp(json_string_value(json_object_get(report, "sandbox_backend"))
                                   ? json_string_value(json_object_get(report, "sandbox_backend"))
                                   : "", "linux")
                         ? "in the sandbox (linux: protected paths read-only, no network)"
                         : "in the sandbox's process backend (no read-only protection, host "
                           "network)",
                     s->baseline_metric,
                     s->noise, s->best_metric, s->best_commit ? s->best_commit : "", n);
    if (!rc && json_array_size(json_object_get(s->config, "secondary"))) {
        rc = ad_buf_adds(b, "Baseline ");
        if (!rc)
            rc = md_secondary(b, json_object_get(s->config, "secondary"),
                              json_object_get(json_object_get(s->state, "baseline"),
                                              "secondary"));
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (strcmp(v[i].decision, "kept"))
            continue;
        rc = ad_buf_addf(b, "### %d. %.12s: %.6g (gain %.6g)\n\n", v[i].seq, v[i].commit_sha,
                         v[i].metric,
                         json_number_value(json_object_get(v[i].detail, "gain")));
        if (!rc)
            rc = md_secondary(b, json_object_get(s->config, "secondary"),
                              json_object_get(v[i].detail, "secondary"));
        if (!rc)
            rc = add_flat(b, v[i].hypothesis);
        if (!rc)
            rc = ad_buf_addf(b, "\n\n```diff\n%s```\n\n", v[i].diff ? v[i].diff : "");
    }
    if (!rc)
        rc = ad_buf_adds(b, "## Rejections by gate\n\n");
    json_object_foreach((json_t *)by_gate, key, c) {
        if (!rc)
            rc = ad_buf_addf(b, "- %s: %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(c));
    }
    if (!rc)
        rc = ad_buf_adds(b, "\n## Dead ends\n\n");
    for (size_t i = 0; !rc && i < n; i++) {
        if (!strcmp(v[i].decision, "kept"))
            continue;
        rc = ad_buf_addf(b, "- %d %s: ", v[i].seq, v[i].decision);
        if (!rc)
            rc = add_flat(b, v[i].hypothesis);
        if (!rc)
            rc = ad_buf_addch(b, '\n');
    }
    if (!rc)
        rc = add_cost(b, s, json_object_get(report, "cost"));
    return rc;
}

int ad__research_report(const struct ad_research_session *s,
                        const struct ad_research_iteration *v, size_t n, json_t **report,
                        char **markdown, char **tsv, struct ad_err *err)
{
    json_t *r, *kept = json_array(), *dead = json_array(), *by_gate = json_object();
    json_t *counts = json_object();
    /* Where the command ran: measure() writes it into every measurement. */
    json_t *base = json_object_get(s->state, "baseline");
    struct ad_buf md, t;
    int rc = kept && dead && by_gate && counts ? 0 : AD_ENOMEM;

    *report = NULL;
    *markdown = *tsv = NULL;
    for (size_t i = 0; !rc && i < n; i++) {
        json_int_t c = json_integer_value(json_object_get(counts, v[i].decision));
        json_t *gain = json_object_get(v[i].detail, "gain");
        json_t *sec = json_object_get(v[i].detail, "secondary");

        rc = json_object_set_new(counts, v[i].decision, json_integer(c + 1)) < 0 ? AD_ENOMEM : 0;
        if (!rc && !strcmp(v[i].decision, "kept"))
            rc = json_array_append_new(kept, json_pack("{s:i, s:s?, s:o, s:O?, s:s?, s:s?, s:O?}",
                                                       "seq", v[i].seq, "commit", v[i].commit_sha,
                                                       "metric", num(v[i].metric), "gain", gain,
                                                       "hypothesis", v[i].hypothesis, "diff",
                                                       v[i].diff, "secondary", sec)) < 0
                     ? AD_ENOMEM : 0;
        else if (!rc)
            rc = json_array_append_new(dead, json_pack("{s:i, s:s, s:s?, s:o, s:O?}", "seq",
                                                       v[i].seq, "decision", v[i].decision,
                                                       "hypothesis", v[i].hypothesis, "metric",
                                                       num(v[i].metric), "secondary", sec)) < 0
                     ? AD_ENOMEM : 0;
        if (!rc && !strcmp(v[i].decision, "rejected_by_gate"))
            rc = count_rejections(&v[i], by_gate);
    }
    r = rc ? NULL
           : json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:o, s:o, s:O?}, s:{s:o, s:s?}, s:O,"
                       " s:O, s:O, s:O, s:b, s:O?, s:{s:i, s:f}, s:O?}",
                       "session_id", s->id, "repo", s->repo_path, "metric", s->metric_name,
                       "direction", strcmp(s->direction, "minimize") ? "higher" : "lower",
                       "status", s->status, "baseline", "median", num(s->baseline_metric),
                       "mad", num(s->noise), "values",
                       json_object_get(json_object_get(s->state, "baseline"), "values"),
                       "best", "metric", num(s->best_metric), "commit", s->best_commit,
                       "kept", kept, "dead_ends", dead, "rejections_by_gate", by_gate,
                       "decisions", counts, "sandbox", json_is_true(json_object_get(base, "sandbox")),
                       "sandbox_backend", json_object_get(base, "sandbox_backend"), "cost", "tokens", 0, "usd", 0.0,
                       "stopped_by", json_object_get(s->state, "stopped_by"));
    if (!rc && !r)
        rc = AD_ENOMEM;
    /* The secondary metrics (specs and the baseline's values) and the command's limits. */
    if (!rc && json_object_set_new(r, "secondary", json_pack("{s:O?, s:O?}", "specs",
                                   json_object_get(s->config, "secondary"), "baseline",
                                   json_object_get(base, "secondary"))) < 0)
        rc = AD_ENOMEM;
    if (!rc && json_object_set_new(r, "limits", json_pack("{s:O?, s:O?, s:O?, s:b}", "memory_mib",
                                   json_object_get(s->config, "memory_mib"), "pids",
                                   json_object_get(s->config, "pids"), "time_budget",
                                   json_object_get(s->config, "time_budget"), "cgroup",
                                   json_is_true(json_object_get(base, "cgroup")))) < 0)
        rc = AD_ENOMEM;
    /* The spend: the model's totals of the session, the spark of its iterations. */
    if (!rc && json_object_set_new(r, "cost", json_pack("{s:I, s:f, s:I}", "tokens",
                                   json_integer_value(json_object_get(s->state, "tokens")),
                                   "usd", json_number_value(json_object_get(s->state, "cost_usd")),
                                   "spark_consumed", (json_int_t)n *
                                   json_integer_value(json_object_get(s->config,
                                                                      "spark_per_iteration"))))
        < 0)
        rc = AD_ENOMEM;
    ad_buf_init(&md, 64u << 20);
    ad_buf_init(&t, 16u << 20);
    if (!rc)
        rc = build_markdown(s, r, v, n, &md);
    if (!rc)
        rc = build_tsv(s, v, n, &t);
    json_decref(kept);
    json_decref(dead);
    json_decref(by_gate);
    json_decref(counts);
    if (rc) {
        json_decref(r);
        ad_buf_release(&md);
        ad_buf_release(&t);
        return ad_error(err, rc, rc == AD_ETOOBIG ? "the report is too big" : "out of memory");
    }
    *report = r;
    *markdown = ad_buf_detach(&md, NULL);
    *tsv = ad_buf_detach(&t, NULL);
    return 0;
}
