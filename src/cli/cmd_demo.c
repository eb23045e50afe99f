/*
 * autodev demo: a throw-away home, an agent, a few dozen episodes, a small
 * skill catalog and tasks run against it in the sandbox (demo_tasks.c), a
 * job, and a summary of what the store then holds.
 *
 * The content is fixed (no randomness), so two runs print the same counts.
 * Sections: the episodes; recording; the summary (built as JSON, printed
 * as JSON or text); the command.
 */
#include "compat.h"

#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/runtime.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "cli.h"

#define DEMO_AGENT "demo-agent"
#define DEMO_ROUNDS 3

/* ---- the episodes ------------------------------------------------------- */

static const char trace_float[] =
    "Traceback (most recent call last):\n"
    "  File \"/srv/agent/tools/invoices.py\", line 42, in parse_invoice\n"
    "    total += float(row[\"amount\"])\n"
    "ValueError: could not convert string to float: '1,234.50'";

static const char trace_float_eu[] =
    "Traceback (most recent call last):\n"
    "  File \"/srv/agent/tools/invoices.py\", line 42, in parse_invoice\n"
    "    total += float(row[\"amount\"])\n"
    "ValueError: could not convert string to float: '89,90'";

static const char trace_key[] =
    "Traceback (most recent call last):\n"
    "  File \"/srv/agent/tools/rates.py\", line 17, in fetch_rates\n"
    "    return payload[\"rates\"][currency]\n"
    "KeyError: 'rates'";

struct demo_task {
    const char *kind;
    const char *desc;        /* %s: the customer */
    const char *trace;       /* NULL: the task succeeded */
    const char *tool;
};

/* One round; each of DEMO_ROUNDS rounds runs it for another customer. */
static const struct demo_task demo_tasks[] = {
    { "csv.parse_invoice", "Parse the invoice totals of the %s CSV export", trace_float,
      "parse_csv" },
    { "csv.parse_invoice", "Sum the invoice amounts in the %s March export", trace_float_eu,
      "parse_csv" },
    { "csv.parse_invoice", "Parse the credit notes of the %s CSV export", NULL, "parse_csv" },
    { "http.fetch_rates", "Fetch today's EUR exchange rates for %s", NULL, "http_get" },
    { "http.fetch_rates", "Fetch the USD exchange rates for the %s invoices", trace_key,
      "http_get" },
    { "report.summarize", "Summarize the weekly sales report of %s", NULL, "read_file" },
    { "report.summarize", "Summarize the support tickets of %s", NULL, "read_file" },
    { "email.classify", "Classify the inbox of %s into billing and support", NULL,
      "read_mail" },
    { "email.classify", "Flag the urgent emails of %s", NULL, "read_mail" },
    { "csv.parse_invoice", "Total the overdue invoices in the %s CSV export", trace_float,
      "parse_csv" },
    { "report.summarize", "Summarize the churn figures of %s", NULL, "read_file" },
    { "email.classify", "Route the %s refund requests", NULL, "read_mail" },
};

static const char *const demo_customers[DEMO_ROUNDS] = { "acme", "globex", "initech" };

/* Builds the JSON object of episode i, as a user would send it. */
static json_t *demo_episode_json(int round, int i)
{
    const struct demo_task *t = &demo_tasks[i];
    const char *customer = demo_customers[round];
    int n = round * (int)AD_ARRAY_SIZE(demo_tasks) + i;
    char desc[256];
    json_t *o = json_object();

    if (!o)
        return NULL;
    snprintf(desc, sizeof(desc), t->desc, customer);
    json_object_set_new(o, "agent", json_string(DEMO_AGENT));
    json_object_set_new(o, "task_description", json_string(desc));
    json_object_set_new(o, "task_kind", json_string(t->kind));
    json_object_set_new(o, "success", json_boolean(t->trace == NULL));
    json_object_set_new(o, "input", json_pack("{s:s, s:i}", "customer", customer, "batch", n));
    if (t->trace) {
        json_object_set_new(o, "error_trace", json_string(t->trace));
    } else {
        json_object_set_new(o, "output", json_pack("{s:s, s:i}", "status", "ok",
                                                     "items", 10 + (n * 7) % 40));
    }
    json_object_set_new(o, "tools_attempted", json_pack("[s]", t->tool));
    json_object_set_new(o, "context", json_pack("{s:s, s:i}", "source", "demo", "round",
                                                round + 1));
    json_object_set_new(o, "execution_seconds", json_real(0.5 + (n % 7) * 0.25));
    json_object_set_new(o, "token_usage", json_integer(300 + 37 * n));
    json_object_set_new(o, "segments",
                        json_pack("[{s:s, s:s}]", "kind", "plan", "content", desc));
    return o;
}

/* ---- recording ---------------------------------------------------------- */

static int demo_agent(struct ad_ctx *ctx, char id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_agent a = { 0 };
    int rc;

    rc = ad_agents_add(ctx->store, ctx->tenant_id, DEMO_AGENT, AD_INTERN, &a, err);
    /* A demo run again in the same --home reuses its agent. */
    if (rc == AD_EEXIST)
        rc = ad_agents_find(ctx->store, ctx->tenant_id, DEMO_AGENT, &a, err);
    if (rc == 0)
        memcpy(id, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
    return rc;
}

static int demo_record_one(struct ad_ctx *ctx, struct ad_episode_batch *b,
                           const char *agent_id, int round, int i, struct ad_err *err)
{
    struct ad_episode ep;
    const char *name = NULL;
    json_t *o = demo_episode_json(round, i);
    int rc;

    ad_episode_init(&ep);
    if (!o)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_episode_from_json(o, &ep, &name, err);
    if (rc == 0) {
        memcpy(ep.tenant_id, ctx->tenant_id, AD_ID_SIZE);
        memcpy(ep.agent_id, agent_id, AD_ID_SIZE);
        rc = ad_episode_batch_add(b, &ep, err);
    }
    ad_episode_release(&ep);
    json_decref(o);
    return rc;
}

static int demo_record(struct ad_ctx *ctx, char agent_id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_episode_batch b;
    int rc;

    rc = demo_agent(ctx, agent_id, err);
    if (rc < 0)
        return rc;
    /* All of them in one transaction: a failure leaves none. */
    ad_episode_batch_init(&b, ctx->store, ctx->bus, DEMO_ROUNDS * AD_ARRAY_SIZE(demo_tasks));
    for (int round = 0; round < DEMO_ROUNDS && rc == 0; round++) {
        for (size_t i = 0; i < AD_ARRAY_SIZE(demo_tasks) && rc == 0; i++)
            rc = demo_record_one(ctx, &b, agent_id, round, (int)i, err);
    }
    if (rc < 0)
        ad_episode_batch_abort(&b);
    return rc;
}

static int demo_jobs(struct ad_ctx *ctx, int *ran, struct ad_err *err)
{
    struct ad_jobs *q = NULL;
    char id[AD_ID_SIZE];
    json_t *payload = json_object();
    int rc;

    if (!payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_runtime_jobs(ctx->rt, ctx->tenant_id, NULL, &q, err);
    if (rc == 0)
        rc = ad_jobs_enqueue(q, "store.check", payload, NULL, 0, id, NULL, err);
    if (rc == 0)
        rc = ad_jobs_run_until_idle(q, NULL, 0, ran, err);
    ad_jobs_free(q);
    json_decref(payload);
    return rc;
}

/* ---- the summary ---------------------------------------------------------- */

static int add_count(json_t *obj, const char *key, json_int_t by)
{
    json_t *v = json_object_get(obj, key);

    if (v)
        return json_integer_set(v, json_integer_value(v) + by);
    return json_object_set_new(obj, key, json_integer(by));
}

static int summary_agents(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    struct ad_agent *v = NULL;
    size_t n = 0;
    json_t *arr = json_array();
    int rc;

    rc = ad_agents_list(ctx->store, ctx->tenant_id, NULL, AD_LIST_MAX, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        json_array_append_new(arr, ad__agent_json(&v[i]));
    ad_agent_list_free(v, n);
    json_object_set_new(sum, "agents", arr);
    return rc;
}

/* The last line of a trace: where Python names the exception. */
static json_t *trace_tail(const char *trace)
{
    const char *end = trace + strlen(trace);
    const char *p;

    while (end > trace && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    p = end;
    while (p > trace && p[-1] != '\n')
        p--;
    return json_stringn(p, (size_t)(end - p));
}

static int summary_episodes(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_episode *v = NULL;
    size_t n = 0;
    int64_t total = 0, failed = 0;
    json_t *eps = json_object(), *kinds = json_object(), *fails = json_array();
    int rc;

    json_object_set_new(sum, "episodes", eps);
    rc = ad_episodes_count(ctx->store, ctx->tenant_id, &f, &total, err);
    f.success = 0;
    if (rc == 0)
        rc = ad_episodes_count(ctx->store, ctx->tenant_id, &f, &failed, err);
    json_object_set_new(eps, "total", json_integer(total));
    json_object_set_new(eps, "succeeded", json_integer(total - failed));
    json_object_set_new(eps, "failed", json_integer(failed));
    json_object_set_new(eps, "by_kind", kinds);
    json_object_set_new(sum, "recent_failures", fails);
    /* By kind over the newest page: enough for a demo, bounded on a big home. */
    f.success = -1;
    f.limit = AD_LIST_MAX;
    if (rc == 0)
        rc = ad_episodes_list(ctx->store, ctx->tenant_id, &f, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *kind = v[i].task_kind ? v[i].task_kind : "-";
        json_t *k = json_object_get(kinds, kind);

        if (!k) {
            k = json_pack("{s:i, s:i}", "succeeded", 0, "failed", 0);
            json_object_set_new(kinds, kind, k);
        }
        add_count(k, v[i].success ? "succeeded" : "failed", 1);
        if (!v[i].success && json_array_size(fails) < 5) {
            json_array_append_new(fails, json_pack("{s:s, s:s, s:s, s:o}", "id", v[i].id,
                                                   "created_at", v[i].created_at,
                                                   "task_kind", kind, "error",
                                                   trace_tail(v[i].error_trace ?
                                                              v[i].error_trace : "")));
        }
    }
    ad_episode_list_free(v, n);
    return rc;
}

static int summary_events(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    json_t *topics = json_object();
    int64_t since = 0, last = 0;
    int rc = 0;

    json_object_set_new(sum, "events", json_pack("{s:o}", "by_topic", topics));
    for (;;) {
        struct ad_event *v = NULL;
        size_t n = 0;

        rc = ad_events_since(ctx->store, ctx->tenant_id, since, NULL, AD_LIST_MAX, &v, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            add_count(topics, v[i].topic, 1);
            since = v[i].seq;
        }
        ad_event_list_free(v, n);
        if (rc < 0 || n < AD_LIST_MAX)
            break;
    }
    if (rc == 0)
        rc = ad_events_last_seq(ctx->store, ctx->tenant_id, &last, err);
    json_object_set_new(json_object_get(sum, "events"), "last_seq", json_integer(last));
    return rc;
}

static int summary_jobs(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    json_t *by = json_object();
    int rc = 0;

    json_object_set_new(sum, "jobs", json_pack("{s:o}", "by_status", by));
    for (int s = AD_JOB_QUEUED; s <= AD_JOB_DEAD && rc == 0; s++) {
        struct ad_job *v = NULL;
        size_t n = 0;

        rc = ad_jobs_list(ctx->store, ctx->tenant_id, s, NULL, AD_LIST_MAX, &v, &n, err);
        if (rc == 0 && n > 0)
            json_object_set_new(by, ad_job_status_name(s), json_integer((json_int_t)n));
        ad_job_list_free(v, n);
    }
    return rc;
}

static int summary_build(struct ad_ctx *ctx, json_t *sum, struct ad_err *err)
{
    struct ad_settings s;
    int rc;

    rc = summary_agents(ctx, sum, err);
    if (rc == 0)
        rc = summary_episodes(ctx, sum, err);
    if (rc == 0)
        rc = summary_events(ctx, sum, err);
    if (rc == 0)
        rc = summary_jobs(ctx, sum, err);
    if (rc == 0)
        rc = ad_settings_get(ctx->store, ctx->tenant_id, &s, err);
    if (rc == 0)
        json_object_set_new(sum, "settings", ad_settings_to_json(&s));
    return rc;
}

static json_int_t geti(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void print_counts(FILE *out, const json_t *obj)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
        fprintf(out, "  %-20s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value(v));
}

static void summary_print_episodes(FILE *out, const json_t *eps, const json_t *fails)
{
    const char *key;
    json_t *v;
    size_t i;

    fprintf(out, "\nepisodes: %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " succeeded, %"
            JSON_INTEGER_FORMAT " failed)\n", geti(eps, "total"), geti(eps, "succeeded"),
            geti(eps, "failed"));
    fprintf(out, "  %-20s %9s %7s\n", "task kind", "succeeded", "failed");
    json_object_foreach(json_object_get(eps, "by_kind"), key, v)
        fprintf(out, "  %-20s %9" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT "\n", key,
                geti(v, "succeeded"), geti(v, "failed"));
    fputs("\nmost recent failures:\n", out);
    json_array_foreach(fails, i, v)
        fprintf(out, "  %s  %-18s  %s\n", json_string_value(json_object_get(v, "created_at")),
                json_string_value(json_object_get(v, "task_kind")),
                json_string_value(json_object_get(v, "error")));
}

static void summary_print(struct ad_ctx *ctx, const json_t *sum)
{
    FILE *out = ctx->out;
    const json_t *ev = json_object_get(sum, "events");
    const char *key;
    json_t *v;
    size_t i;

    fprintf(out, "autodev demo: recorded %" JSON_INTEGER_FORMAT " episodes of %s, ran %zu "
            "tasks in the sandbox and %" JSON_INTEGER_FORMAT " job%s; the store now holds:\n\n",
            geti(sum, "recorded"), DEMO_AGENT, json_array_size(json_object_get(sum, "tasks")),
            geti(sum, "jobs_run"), geti(sum, "jobs_run") == 1 ? "" : "s");
    fputs("agents:\n", out);
    json_array_foreach(json_object_get(sum, "agents"), i, v)
        fprintf(out, "  %-20s %-10s %" JSON_INTEGER_FORMAT " episodes, %" JSON_INTEGER_FORMAT
                " succeeded, %" JSON_INTEGER_FORMAT " failed\n",
                json_string_value(json_object_get(v, "name")),
                json_string_value(json_object_get(v, "maturity")), geti(v, "episode_count"),
                geti(v, "success_count"), geti(v, "failure_count"));
    ad__demo_tasks_print(out, sum);
    ad__demo_memento_print(out, sum);
    ad__demo_alpha_print(out, sum);
    ad__demo_research_print(out, sum);
    summary_print_episodes(out, json_object_get(sum, "episodes"),
                           json_object_get(sum, "recent_failures"));
    fprintf(out, "\nevents by topic (last seq %" JSON_INTEGER_FORMAT "):\n", geti(ev, "last_seq"));
    print_counts(out, json_object_get(ev, "by_topic"));
    fputs("\njobs by status:\n", out);
    print_counts(out, json_object_get(json_object_get(sum, "jobs"), "by_status"));
    fputs("\nsettings:\n", out);
    json_object_foreach(json_object_get(sum, "settings"), key, v) {
        char *s = ad_json_dumps(v);

        fprintf(out, "  %-30s %s\n", key, s ? s : "?");
        free(s);
    }
}

/* ---- the command ---------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 ? -1 : 0;
}

/* Points ctx at a fresh directory under $TMPDIR (or /tmp). */
static int make_temp_home(struct ad_ctx *ctx, struct ad_buf *home, struct ad_buf *db)
{
    const char *tmp = getenv("TMPDIR");

    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (ad_buf_addf(home, "%s/autodev-demo-XXXXXX", tmp) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    if (!mkdtemp(home->ptr))
        return ad__die_code(ctx, AD_EIO, "cannot create a directory in '%s': %s", tmp,
                            strerror(errno));
    if (ad_buf_addf(db, "%s/autodev.db", home->ptr) < 0)
        return ad__die_code(ctx, AD_ENOMEM, "out of memory");
    ctx->home = home->ptr;
    ctx->db_path = db->ptr;
    return 0;
}

static int demo_run(struct ad_ctx *ctx, json_t *sum)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox *sb;
    char agent_id[AD_ID_SIZE];
    int ran = 0, rc;

    if (ctx->home_given && ad__mkdir_p(ctx->home, 0700, &err) < 0)
        return ad__die_err(ctx, &err);
    rc = ad__ctx_store(ctx, AD_CTX_CREATE);
    if (rc == 0)
        rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = ad__ctx_sandbox(ctx, &sb);
    if (rc != 0)
        return rc;
    if (demo_record(ctx, agent_id, &err) < 0 || ad__demo_tasks(ctx, agent_id, sum, &err) < 0 ||
        demo_jobs(ctx, &ran, &err) < 0 || ad__demo_memento(ctx, sum, &err) < 0 ||
        ad__demo_alpha(ctx, sum, &err) < 0 || ad__demo_research(ctx, sum, &err) < 0 ||
        summary_build(ctx, sum, &err) < 0)
        return ad__die_err(ctx, &err);
    json_object_set_new(sum, "recorded", json_integer(DEMO_ROUNDS * AD_ARRAY_SIZE(demo_tasks)));
    json_object_set_new(sum, "jobs_run", json_integer(ran));
    return 0;
}

int cmd_demo(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "keep", no_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_buf home = AD_BUF_INIT, db = AD_BUF_INIT;
    json_t *sum = NULL;
    int keep = 0, temp, made = 0, rc = 0, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        if (c != 'k')
            return AD_EXIT_USAGE;
        keep = 1;
    }
    if (optind < argc)
        return ad__usage_error(ctx, "demo takes no argument");
    temp = !ctx->home_given;
    if (temp) {
        rc = make_temp_home(ctx, &home, &db);
        made = rc == 0;
    }
    sum = json_object();
    if (rc == 0 && !sum)
        rc = ad__die_code(ctx, AD_ENOMEM, "out of memory");
    if (rc == 0)
        rc = demo_run(ctx, sum);
    /* Close the database (and the sandbox) before its directory goes. */
    ad__ctx_close(ctx);
    if (rc == 0) {
        json_object_set_new(sum, "home", json_string(ctx->home));
        json_object_set_new(sum, "kept", json_boolean(!temp || keep));
        if (ctx->json) {
            rc = ad__print_json(ctx, json_incref(sum));
        } else {
            summary_print(ctx, sum);
            if (!temp || keep)
                fprintf(ctx->out, "\nthe demo home is %s\n", ctx->home);
        }
    }
    if (made && !keep && nftw(home.ptr, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0
        && rc == 0)
        rc = ad__die_code(ctx, AD_EIO, "cannot remove '%s': %s", home.ptr, strerror(errno));
    if (temp) {
        ctx->home = NULL;
        ctx->db_path = NULL;
    }
    json_decref(sum);
    ad_buf_release(&home);
    ad_buf_release(&db);
    return rc;
}
