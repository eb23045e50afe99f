/*
 * The composition root (runtime.h): the one table of subscriptions, the one
 * table of job kinds, and the objects a process runs on.
 *
 * Sections: the handlers the tables name; the tables; opening and closing;
 * the tenant, the sandbox, the model and the job queue.
 */
#include "compat.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "autodev/advise.h"
#include "autodev/agent.h"
#include "autodev/buf.h"
#include "autodev/alpha.h"
#include "autodev/bus.h"
#include "autodev/engine.h"
#include "autodev/evolve.h"
#include "autodev/fitness.h"
#include "autodev/hooks.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/log.h"
#include "autodev/research.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/store.h"

struct ad_runtime {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_sandbox *sb;       /* made on first use */
    char *sb_backend;            /* as given, parsed when the sandbox is made; NULL: auto */
    int sb_slots;
    char *llm;                   /* the chain spec, NULL for none */
    FILE *notices;
    struct ad_hooks *hooks;      /* made on first use */
    char *key_file;              /* the signing key's path */
};

/* ---- the handlers ------------------------------------------------------------------ */

/* learn: an event an engine analyses (task.fail: reflection; skill.execution: alpha). */
static int on_engine_event(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    const struct ad_learning_engine *const *e = ad_learning_engines();
    int rc = 0;

    for (; rc == 0 && *e; e++) {
        if (!strcmp((*e)->topic, ev->topic))
            rc = (*e)->analyse(rt->st, rt->bus, ev, err);
    }
    return rc;
}

/* store: a corrupt database does not heal by retrying, so that fails for good at once. */
static int job_store_check(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                           struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    int rc = ad_store_check(rt->st, err);

    (void)job;
    (void)lease;

    return rc == AD_ECORRUPT ? AD_JOB_PERMANENT : rc;
}

/*
 * learn: one job of a learning engine (memento.generate, alpha.mutate), run
 * with the runtime's sandbox and the tenant's model.
 */
static int job_engine(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                      struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    const struct ad_learning_engine *e = ad_learning_engine_for_kind(job->kind);
    struct ad_engine_env env = { 0 };
    char summary[768];
    int rc;

    if (!e)
        return ad_error(err, AD_EINTERNAL, "no learning engine runs %s jobs", job->kind);
    /* A sandbox or model that cannot be made is classified like the job's own errors. */
    rc = ad_runtime_sandbox(rt, &env.sb, err);
    if (rc < 0)
        return e->job_outcome(ad_error_prefix(err, "%s: no sandbox to validate in", e->name));
    rc = ad_runtime_llm(rt, job->tenant_id, NULL, 0, &env.llm, err);
    if (rc < 0)
        return e->job_outcome(ad_error_prefix(err, "%s: AUTODEV_LLM", e->name));
    env.st = rt->st;
    env.bus = rt->bus;
    env.lease = lease;
    rc = ad_learning_engine_run(e, &env, job, summary, sizeof(summary), err);
    if (rc == 0 && rt->notices && summary[0]) {
        fprintf(rt->notices, "%s\n", summary);
        fflush(rt->notices);
    }
    ad_llm_free(env.llm);
    return rc;
}

/* learn: the background evolution schedule of AUTONOMOUS agents. */
static int job_alpha_background(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                                struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    int queued = 0;
    int rc = ad_alpha_background(rt->st, job->tenant_id, &queued, err);

    (void)lease;
    if (rc == 0 && rt->notices) {
        fprintf(rt->notices, "alpha: background run queued %d job(s)\n", queued);
        fflush(rt->notices);
    }
    return ad_alpha_job_outcome(rc);
}

/*
 * hooks: every event, for the tenant's webhooks whose topics match it (a
 * delivery row and its job, inside the event's transaction).
 */
static int on_hooks_event(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    struct ad_hooks *h;
    int rc = ad_runtime_hooks(rt, &h, err);

    return rc < 0 ? rc : ad_hooks_on_event(h, ev, err);
}

/* hooks: only a tenant with an active webhook pays for the dispatch (bus.h). */
static int want_hooks_event(void *ctx, const char *tenant_id, const char *topic)
{
    struct ad_runtime *rt = ctx;
    struct ad_hooks *h;

    (void)topic;
    return ad_runtime_hooks(rt, &h, NULL) < 0 || ad_hooks_wanted(h, tenant_id);
}

/* hooks: one delivery of one event to one webhook; the hooks module retries by itself. */
static int job_webhook_deliver(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                               struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    struct ad_hooks *h;
    int rc = ad_runtime_hooks(rt, &h, err);

    return rc < 0 ? rc : ad_hooks_deliver(h, job, lease, err);
}

/* learn: the readiness notifications (advise.h), once per agent and level. */
static int job_advise_readiness(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                                struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    int notified = 0;
    int rc = ad_advise_readiness_notify(rt->st, rt->bus, job->tenant_id, &notified, err);

    (void)lease;
    if (rc == 0 && notified > 0 && rt->notices) {
        fprintf(rt->notices, "advise: %d agent(s) ready to graduate, notified\n", notified);
        fflush(rt->notices);
    }
    return rc;
}

/* learn: one generation of an evolution research run, with the sandbox and the tenant's model. */
static int job_evolve_generation(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                                 struct ad_err *err)
{
    struct ad_runtime *rt = ctx;
    struct ad_evolve_env env = { 0 };
    struct ad_llm *arms[16] = { NULL };
    size_t narms = 0;
    int rc = ad_runtime_sandbox(rt, &env.sb, err);

    if (rc == 0)
        rc = ad_runtime_llm(rt, job->tenant_id, NULL, 0, &env.llm, err);
    /* The bandit's arms: one model per chain entry that writes code. */
    for (size_t i = 0; rc == 0 && env.llm && i < ad_llm_chain_len(env.llm) && narms < 16; i++) {
        const char *e = ad_llm_chain_entry(env.llm, i);

        if (e && strncmp(e, "offline:", 8) != 0)
            rc = ad_runtime_llm(rt, job->tenant_id, e, 1, &arms[narms++], err);
    }
    if (rc == 0) {
        env.st = rt->st;
        env.bus = rt->bus;
        env.lease = lease;
        env.tenant_id = job->tenant_id;
        env.arms = arms;
        env.narms = narms;
        rc = ad_evolve_job(&env, job->payload, err);
    }
    for (size_t i = 0; i < narms; i++)
        ad_llm_free(arms[i]);
    ad_llm_free(env.llm);
    return ad_evolve_job_outcome(rc);
}

/* ---- the tables -------------------------------------------------------------------- */

static const struct ad_runtime_subscription subscriptions[] = {
    { AD_TOPIC_TASK_FAIL, "reflection", "learn", on_engine_event },
    { AD_TOPIC_SKILL_EXECUTION, "evolution", "learn", on_engine_event },
    { "*", "webhooks", "hooks", on_hooks_event, want_hooks_event },
    { NULL, NULL, NULL, NULL },
};

static const struct ad_runtime_job_kind job_kinds[] = {
    { "store.check", "store", "check the integrity of the database", job_store_check },
    { AD_MEMENTO_JOB, "learn", "generate a skill candidate from a failure pattern", job_engine },
    { AD_ALPHA_JOB, "learn", "mutate a slow, costly or failing skill and evaluate the mutants",
      job_engine },
    { AD_ALPHA_BACKGROUND_JOB, "learn", "queue evolution of AUTONOMOUS agents' most-used skills",
      job_alpha_background },
    { AD_WEBHOOK_JOB, "hooks", "send one event to one webhook, signed", job_webhook_deliver },
    { AD_ADVISE_READINESS_JOB, "learn", "notify agents ready to graduate, once per level",
      job_advise_readiness },
    { AD_EVOLVE_JOB, "learn", "run one generation of an evolution research run",
      job_evolve_generation },
    { NULL, NULL, NULL, NULL },
};

const struct ad_runtime_subscription *ad_runtime_subscriptions(void)
{
    return subscriptions;
}

const struct ad_runtime_job_kind *ad_runtime_job_kinds(void)
{
    return job_kinds;
}

const struct ad_runtime_job_kind *ad_runtime_job_kind_find(const char *kind)
{
    for (const struct ad_runtime_job_kind *k = job_kinds; kind && k->kind; k++) {
        if (!strcmp(k->kind, kind))
            return k;
    }
    return NULL;
}

/* ---- opening and closing ----------------------------------------------------------- */

static int register_agent_tools(const char *db, struct ad_err *err);

/* A copy of s, or of "" for NULL; NULL only when out of memory. */
static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/*
 * The signing key's path: $AUTODEV_SIGNING_KEY_FILE, else signing.key in
 * the database's folder (the data directory, $AUTODEV_HOME, by default),
 * so every process on the database reads the same key.
 */
static char *key_file_path(const char *db)
{
    const char *env = getenv("AUTODEV_SIGNING_KEY_FILE");
    const char *file = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
    const char *slash = strrchr(file, '/');
    struct ad_buf b = AD_BUF_INIT;

    if (env && *env)
        return strdup(env);
    if (slash ? ad_buf_add(&b, file, (size_t)(slash - file + 1)) < 0 : ad_buf_adds(&b, "./") < 0)
        return NULL;
    if (ad_buf_adds(&b, AD_SIGNING_KEY_NAME) < 0) {
        ad_buf_release(&b);
        return NULL;
    }
    return ad_buf_detach(&b, NULL);
}

int ad_runtime_open(const struct ad_runtime_options *o, struct ad_runtime **out,
                    struct ad_err *err)
{
    struct ad_store_options so = { 0 };
    struct ad_runtime *rt;
    const char *llm = o->llm ? o->llm : getenv("AUTODEV_LLM");
    const char *backend = o->sandbox ? o->sandbox : getenv("AUTODEV_SANDBOX");
    int rc;

    *out = NULL;
    if (!o->db || !*o->db)
        return ad_error(err, AD_EINVAL, "no database given");
    rt = calloc(1, sizeof(*rt));
    if (!rt)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rt->notices = o->notices;
    rt->sb_slots = o->sandbox_slots > 0 ? o->sandbox_slots : 1;
    rt->sb_backend = dup_or_empty(backend);
    rt->llm = llm && *llm ? strdup(llm) : NULL;
    rt->key_file = key_file_path(o->db);
    if (!rt->sb_backend || (llm && *llm && !rt->llm) || !rt->key_file) {
        ad_runtime_free(rt);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    so.flags = (o->create ? AD_STORE_CREATE : 0) | (o->readonly ? AD_STORE_READONLY : 0);
    so.busy_timeout_ms = o->busy_timeout_ms;
    rc = ad_store_open(o->db, &so, &rt->st, err);
    if (rc == 0)
        rc = ad_bus_new(rt->st, &rt->bus, err);
    for (const struct ad_runtime_subscription *s = subscriptions; rc == 0 && s->topic; s++)
        rc = ad_bus_subscribe_when(rt->bus, s->topic, s->name, s->fn, s->want, rt, err);
    if (rc == 0)
        rc = register_agent_tools(o->db, err);
    if (rc < 0) {
        ad_runtime_free(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

void ad_runtime_free(struct ad_runtime *rt)
{
    if (!rt)
        return;
    ad_sandbox_free(rt->sb);
    ad_hooks_free(rt->hooks);
    free(rt->key_file);
    ad_bus_free(rt->bus);
    ad_store_free(rt->st);
    free(rt->llm);
    free(rt->sb_backend);
    free(rt);
}

struct ad_store *ad_runtime_store(struct ad_runtime *rt)
{
    return rt->st;
}

struct ad_bus *ad_runtime_bus(struct ad_runtime *rt)
{
    return rt->bus;
}

/* ---- tenant, sandbox, model, queue ------------------------------------------------- */

int ad_runtime_tenant(struct ad_runtime *rt, const char *name, int create,
                      char id_out[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_tenant t = { 0 };
    int rc;

    if (!name || !ad_name_valid(name))
        return ad_error(err, AD_EINVAL, "invalid tenant name '%s'", name ? name : "");
    if (create)
        return ad_store_tenant_ensure(rt->st, name, id_out, err);
    rc = ad_store_tenant_get(rt->st, name, &t, err);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, rc, "unknown tenant '%s'", name);
    if (rc == 0)
        memcpy(id_out, t.id, AD_ID_SIZE);
    ad_tenant_release(&t);
    return rc;
}

int ad_runtime_schema_version(struct ad_runtime *rt, int *current, int *latest,
                              struct ad_err *err)
{
    return ad_store_schema_version(rt->st, current, latest, err);
}

const char *ad_runtime_db_file(const char *uri)
{
    return ad_store_uri_file(uri);
}

const char *ad_runtime_backend(struct ad_runtime *rt)
{
    return ad_store_backend(rt->st);
}

size_t ad_runtime_table_total(void)
{
    return ad_store_table_total();
}

const char *ad_runtime_table_name(size_t i)
{
    return ad_store_table_name(i);
}

int ad_runtime_table_count(struct ad_runtime *rt, const char *table, int64_t *count,
                           struct ad_err *err)
{
    return ad_store_table_count(rt->st, table, count, err);
}

int ad_runtime_db_copy(const struct ad_store_copy_options *o,
                       struct ad_store_copy_table **tables, size_t *n, struct ad_err *err)
{
    return ad_store_copy(o, tables, n, err);
}

int ad_runtime_sandbox(struct ad_runtime *rt, struct ad_sandbox **out, struct ad_err *err)
{
    struct ad_sandbox_options o = { 0 };
    int rc;

    if (!rt->sb) {
        o.backend = AD_SB_AUTO;
        if (rt->sb_backend[0] && ad_sb_backend_parse(rt->sb_backend, &o.backend, err) < 0)
            return ad_error_prefix(err, "AUTODEV_SANDBOX");
        if (o.backend == AD_SB_EXEC)
            o.exec = rt->sb_backend + 5;
        o.slots = rt->sb_slots;
        o.one_shot = rt->sb_slots == 1;   /* a command's sandbox: no standby until a 2nd run */
        rc = ad_sandbox_new(&o, &rt->sb, err);
        if (rc < 0) {
            rt->sb = NULL;
            return rc;
        }
    }
    *out = rt->sb;
    return 0;
}

int ad_runtime_fitness_terms_apply(struct ad_runtime *rt, struct ad_store *st,
                                   struct ad_bus *bus, const char *tenant_id,
                                   const char *variant_id, double *score, struct ad_err *err)
{
    struct ad_fitness_term *t = NULL;
    struct ad_sandbox *sb = NULL;
    size_t n = 0, enabled = 0;
    int rc = ad_fitness_terms_list(st, tenant_id, &t, &n, err);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        enabled += t[i].enabled;
    ad_fitness_term_list_free(t, n);
    /* The sandbox only when a term is to run: a tenant without terms never makes one. */
    if (enabled > 0 && (rc = ad_runtime_sandbox(rt, &sb, err)) < 0)
        return rc;
    return ad_fitness_terms_apply(st, bus, sb, tenant_id, variant_id, NULL, score, err);
}

int ad_runtime_hooks(struct ad_runtime *rt, struct ad_hooks **out, struct ad_err *err)
{
    struct ad_hooks_options o = { 0 };
    int rc;

    if (!rt->hooks) {
        o.st = rt->st;
        o.bus = rt->bus;
        o.key_file = rt->key_file;
        rc = ad_hooks_new(&o, &rt->hooks, err);
        if (rc < 0)
            return rc;
    }
    *out = rt->hooks;
    return 0;
}

int ad_runtime_llm(struct ad_runtime *rt, const char *tenant_id, const char *spec, int required,
                   struct ad_llm **out, struct ad_err *err)
{
    struct ad_llm_options o = { 0 };
    struct ad_settings s;
    int rc;

    *out = NULL;
    if (!spec)
        spec = rt->llm;
    if (!spec && !required)
        return 0;   /* no model: the loops fall back to synthesis, or say why not */
    rc = ad_settings_get(rt->st, tenant_id, &s, err);
    if (rc < 0)
        return rc;
    o.store = rt->st;
    o.tenant_id = tenant_id;
    o.max_retries = -1;
    o.daily_token_cap = s.llm_daily_token_cap;
    o.daily_usd_cap = s.llm_daily_cost_cap_cents / 100.0;
    return ad_llm_new(spec, &o, out, err);
}

int ad_runtime_jobs(struct ad_runtime *rt, const char *tenant_id,
                    const struct ad_jobs_options *o, struct ad_jobs **out, struct ad_err *err)
{
    int rc = ad_jobs_new(rt->st, tenant_id, o, out, err);

    for (const struct ad_runtime_job_kind *k = job_kinds; rc == 0 && k->kind; k++)
        rc = ad_jobs_register(*out, k->kind, k->fn, rt, err);
    /* The owner says how often its kind is tried, whoever queues the job. */
    for (const struct ad_learning_engine *const *e = ad_learning_engines(); rc == 0 && *e; e++)
        rc = ad_jobs_set_max_attempts(*out, (*e)->job_kind, (*e)->max_attempts, err);
    if (rc == 0)
        rc = ad_jobs_set_max_attempts(*out, AD_ALPHA_BACKGROUND_JOB, AD_ALPHA_MAX_ATTEMPTS, err);
    if (rc < 0) {
        ad_jobs_free(*out);
        *out = NULL;
    }
    return rc;
}

int ad_runtime_schedule(struct ad_runtime *rt, const char *tenant_id, struct ad_err *err)
{
    int rc = ad_alpha_schedule(rt->st, tenant_id, err);

    /*
     * The readiness check of the advisor, queued only when an agent is ready
     * and was not told. It reads episodes: a store that cannot answer (a
     * damaged page) must not keep the queue's own jobs (store.check) from
     * running, so its failure is a warning.
     */
    if (rc == 0 && ad_advise_schedule(rt->st, tenant_id, err) < 0) {
        AD_LOG(AD_LOG_WARN, "advise: readiness schedule: %s", err->msg);
        ad_err_clear(err);
    }
    return rc;
}

/* ---- the tenants (the server's workers serve them all) ----------------------------- */

int ad_runtime_tenants(struct ad_runtime *rt, struct ad_tenant **out, size_t *n,
                       struct ad_err *err)
{
    return ad_store_tenant_list(rt->st, out, n, err);
}

/* ---- the agent loop's tools of modules above agent ----------------------------------- */

/*
 * Autoresearch's six steps as tools of the agent loop (agent.h,
 * ad_agent_tools_register). The model never chooses where sessions live
 * (the database's directory's research/, as the CLI's home), nor runs a
 * command outside the sandbox, nor has a dirty tree stashed: the config
 * keys it may give are the schema's, and the tool sets the rest.
 */
static char research_workdir[4096 + 16];

#define RESEARCH_ID_SCHEMA                                                                    \
    "{\"type\": \"object\", \"properties\": {\"session_id\": {\"type\": \"string\","            \
    " \"description\": \"the research session's id\"}}, \"required\": [\"session_id\"],"      \
    " \"additionalProperties\": false}"

static const char research_setup_schema[] =
    "{\"type\": \"object\", \"properties\": {"
    "\"repo\": {\"type\": \"string\", \"description\": \"the git repository (a clean tree)\"},"
    " \"files\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\":"
    " \"paths, relative to repo, that edits may change\"},"
    " \"cmd\": {\"type\": \"string\", \"description\": \"the command that prints the metric\"},"
    " \"metric\": {\"type\": \"string\", \"description\": \"its name: NAME: value lines\"},"
    " \"pattern\": {\"type\": \"string\", \"description\": \"a PCRE2 pattern, group 1 the value\"},"
    " \"direction\": {\"type\": \"string\", \"enum\": [\"lower\", \"higher\"]},"
    " \"iterations\": {\"type\": \"integer\"}, \"time_budget\": {\"type\": \"integer\"},"
    " \"repeats\": {\"type\": \"integer\"}, \"margin\": {\"type\": \"number\"},"
    " \"check\": {\"type\": \"string\"},"
    " \"protect\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    " \"secondary\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\":"
    " \"NAME[:PATTERN]:lower|higher:MARGIN (MARGIN or N% of the baseline)\"},"
    " \"rules\": {\"type\": \"string\"}, \"memory_mib\": {\"type\": \"integer\"},"
    " \"pids\": {\"type\": \"integer\"}, \"name\": {\"type\": \"string\"}},"
    " \"required\": [\"repo\", \"files\", \"cmd\", \"metric\"], \"additionalProperties\": false}";

static const char research_status_schema[] =
    "{\"type\": \"object\", \"properties\": {\"session_id\": {\"type\": \"string\","
    " \"description\": \"a session's id; without it, the list of sessions\"}},"
    " \"additionalProperties\": false}";

static void research_env_of(const struct ad_agent_tool_env *e, struct ad_research_env *env)
{
    env->st = e->st;
    env->bus = e->bus;
    env->tenant_id = e->tenant_id;
    env->llm = e->llm;
}

static int tool_research_setup(void *arg, const struct ad_agent_tool_env *e, const json_t *args,
                               json_t **result, struct ad_err *err)
{
    struct ad_research_env env;
    json_t *cfg = json_deep_copy(args);
    int rc;

    (void)arg;
    research_env_of(e, &env);
    if (!cfg || json_object_set_new(cfg, "workdir", json_string(research_workdir)) < 0 ||
        json_object_set_new(cfg, "sandbox", json_true()) < 0) {
        json_decref(cfg);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    rc = ad_research_setup(&env, cfg, result, err);
    json_decref(cfg);
    return rc;
}

typedef int research_step_fn(const struct ad_research_env *env, const char *session_id,
                             json_t **out, struct ad_err *err);

static int research_step(research_step_fn *fn, const struct ad_agent_tool_env *e,
                         const json_t *args, json_t **result, struct ad_err *err)
{
    struct ad_research_env env;

    research_env_of(e, &env);
    return fn(&env, json_string_value(json_object_get(args, "session_id")), result, err);
}

static int tool_research_edit(void *arg, const struct ad_agent_tool_env *e, const json_t *args,
                              json_t **result, struct ad_err *err)
{
    (void)arg;
    return research_step(ad_research_edit, e, args, result, err);
}

static int tool_research_run(void *arg, const struct ad_agent_tool_env *e, const json_t *args,
                             json_t **result, struct ad_err *err)
{
    (void)arg;
    return research_step(ad_research_run, e, args, result, err);
}

static int tool_research_decide(void *arg, const struct ad_agent_tool_env *e,
                                const json_t *args, json_t **result, struct ad_err *err)
{
    (void)arg;
    return research_step(ad_research_decide, e, args, result, err);
}

static int tool_research_finalize(void *arg, const struct ad_agent_tool_env *e,
                                  const json_t *args, json_t **result, struct ad_err *err)
{
    (void)arg;
    return research_step(ad_research_finalize, e, args, result, err);
}

static int tool_research_status(void *arg, const struct ad_agent_tool_env *e,
                                const json_t *args, json_t **result, struct ad_err *err)
{
    (void)arg;
    return research_step(ad_research_status, e, args, result, err);
}

static const struct ad_agent_tool research_tools[] = {
    { "research_setup",
      "Start an autoresearch session on a git repository: a worktree on a new branch, the "
      "baseline run repeats times (median and noise). Returns the session with its id.",
      research_setup_schema, tool_research_setup },
    { "research_edit",
      "Make the next iteration's edit of the session's files (one hypothesis, one change).",
      RESEARCH_ID_SCHEMA, tool_research_edit },
    { "research_run", "Run the command on the pending edit (in the sandbox); records the metric.",
      RESEARCH_ID_SCHEMA, tool_research_run },
    { "research_decide",
      "Keep the measured edit as a commit if it beats the best beyond noise and every gate "
      "passes, else revert it.", RESEARCH_ID_SCHEMA, tool_research_decide },
    { "research_finalize", "Write the session's report (JSON, Markdown, results.tsv).",
      RESEARCH_ID_SCHEMA, tool_research_finalize },
    { "research_status", "A session and its iterations, or without session_id the sessions.",
      research_status_schema, tool_research_status },
};

/* The sessions live in research/ beside the database (the CLI's home/research). */
static int register_agent_tools(const char *db, struct ad_err *err)
{
    static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
    const char *path = strncmp(db, "sqlite:", 7) ? db : db + 7;
    const char *slash = strrchr(path, '/');
    int rc = 0;

    pthread_mutex_lock(&once);
    if (!research_workdir[0]) {
        char dir[2048], real[PATH_MAX];

        if (!slash)
            snprintf(dir, sizeof(dir), ".");
        else
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
        if (!realpath(dir[0] ? dir : "/", real))
            snprintf(real, sizeof(real), "%s", dir);
        snprintf(research_workdir, sizeof(research_workdir), "%.4000s/research", real);
    }
    pthread_mutex_unlock(&once);
    rc = ad_agent_tools_register(research_tools, AD_ARRAY_SIZE(research_tools), NULL, err);
    /* Agent Skills kept whole: load_skill and run_skill_script (tools_skills.c). */
    return rc ? rc : ad_agent_skill_tools_register(err);
}
