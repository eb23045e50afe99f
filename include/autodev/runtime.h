/*
 * The runtime: autodev's composition root.
 *
 * A process (the command-line tool today; the server, the workers and the
 * MCP server next) opens one runtime and gets from it everything that is
 * wired rather than computed: the store, the bus with its subscriptions,
 * the sandbox, the job queue with every job kind registered, and a
 * tenant's model with that tenant's daily caps. The wiring is written once,
 * here, as two tables:
 *
 *   subscriptions  topic -> handler, each naming the module that owns the
 *                  behaviour (the learning engines of engine.h analyse
 *                  task.fail and skill.execution: learn);
 *   job kinds      kind -> handler, each naming its owning module
 *                  (memento.generate, alpha.mutate, alpha.background: learn;
 *                  store.check: store).
 *
 * The faces only parse their input and print; none subscribes a handler,
 * registers a job kind or builds a model itself.
 *
 * Thread model: one runtime per process, used by the thread that opened
 * it. Its store handle belongs to that thread (a store handle is never
 * shared between threads: see store.h); a later worker pool gives each
 * thread its own store and bus from the same tables. The sandbox is safe
 * to share between threads (sandbox.h) and is made once, lazily, before
 * the first run needs it.
 *
 * Errors: as everywhere, 0 or a negative AD_E* code with detail in err.
 */
#ifndef AUTODEV_RUNTIME_H
#define AUTODEV_RUNTIME_H

/* Module runtime, layer 6: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 6
#error "autodev/runtime.h belongs to module runtime (layer 6), above the module including it"
#endif

#include <stdio.h>

#include "autodev/bus.h"
#include "autodev/clock.h"
#include "autodev/error.h"
#include "autodev/jobs.h"

struct ad_llm;
struct ad_runtime;
struct ad_sandbox;
struct ad_store;
struct ad_store_copy_options;
struct ad_store_copy_table;
struct ad_tenant;

struct ad_runtime_options {
    const char *db;              /* the store uri: a file path or "sqlite:PATH" (required) */
    int create;                  /* create the database when missing */
    int readonly;                /* open the store AD_STORE_READONLY (store.h): never write */
    int busy_timeout_ms;         /* 0: the store's default */
    const char *sandbox;         /* backend "auto", "linux", "process"; NULL: $AUTODEV_SANDBOX */
    int sandbox_slots;           /* concurrent runs; 0: 1 */
    const char *llm;             /* model chain; NULL: $AUTODEV_LLM (unset or "": none) */
    FILE *notices;               /* one line per job outcome worth telling; NULL: none */
};

/*
 * Opens the store (migrating it, unless readonly) and the bus, and
 * subscribes every entry of the subscription table. A missing database
 * without create is AD_ENOTFOUND. *out is freed with ad_runtime_free.
 */
int ad_runtime_open(const struct ad_runtime_options *o, struct ad_runtime **out,
                    struct ad_err *err);
void ad_runtime_free(struct ad_runtime *rt);

/* Borrowed; valid until ad_runtime_free. */
struct ad_store *ad_runtime_store(struct ad_runtime *rt);
struct ad_bus *ad_runtime_bus(struct ad_runtime *rt);

/*
 * The id of tenant name. With create the tenant is made (default settings)
 * when absent; without, an unknown name is AD_ENOTFOUND.
 */
int ad_runtime_tenant(struct ad_runtime *rt, const char *name, int create,
                      char id_out[AD_ID_SIZE], struct ad_err *err);

/* The schema version of the database, and the newest this binary knows. */
int ad_runtime_schema_version(struct ad_runtime *rt, int *current, int *latest,
                              struct ad_err *err);
/* The backend's name ("sqlite", "postgresql"); the schema's tables and their rows. */
const char *ad_runtime_backend(struct ad_runtime *rt);
/* The file a database uri names, or NULL for a server's uri (ad_store_uri_file). */
const char *ad_runtime_db_file(const char *uri);
size_t ad_runtime_table_total(void);
const char *ad_runtime_table_name(size_t i);
int ad_runtime_table_count(struct ad_runtime *rt, const char *table, int64_t *count,
                           struct ad_err *err);
/*
 * autodev db copy: every row of one database into another, then both
 * compared table by table (ad_store_copy in store.h says how, and what
 * *tables holds; free() it). Opens both itself, so no runtime is needed.
 */
int ad_runtime_db_copy(const struct ad_store_copy_options *o,
                       struct ad_store_copy_table **tables, size_t *n, struct ad_err *err);

/*
 * The sandbox (made on first use, then kept; its backend parsed then, so a
 * bad AUTODEV_SANDBOX fails only the runs that need it). Borrowed.
 */
int ad_runtime_sandbox(struct ad_runtime *rt, struct ad_sandbox **out, struct ad_err *err);

/*
 * The tenant's enabled fitness terms run over variant_id's signals and
 * blended into its score (fitness.h: ad_fitness_terms_apply), the sandbox
 * made only when there is a term to run; *score (may be NULL) gets the
 * score. For every face: `fitness signal`/`term apply` and the signed
 * signals route.
 */
int ad_runtime_fitness_terms_apply(struct ad_runtime *rt, struct ad_store *st,
                                   struct ad_bus *bus, const char *tenant_id,
                                   const char *variant_id, double *score, struct ad_err *err);

/*
 * The tenant's model: the chain of the options (else $AUTODEV_LLM), with
 * the tenant's ledger and its daily token and spend caps from the workspace
 * settings; or the chain spec given (a command's --provider). *out is owned
 * by the caller (ad_llm_free). When no chain is configured and spec is
 * NULL: with required, the llm module's error that says how to configure
 * one; without, 0 and *out NULL (the loops fall back to synthesis).
 */
int ad_runtime_llm(struct ad_runtime *rt, const char *tenant_id, const char *spec, int required,
                   struct ad_llm **out, struct ad_err *err);

/*
 * The hooks (webhooks and signed signals, hooks.h) on the runtime's store
 * and bus, made on first use; borrowed. The signing key is
 * $AUTODEV_SIGNING_KEY_FILE, else signing.key beside the database: every
 * process sharing the database must read the same key.
 */
struct ad_hooks;
int ad_runtime_hooks(struct ad_runtime *rt, struct ad_hooks **out, struct ad_err *err);

/*
 * The job queue of tenant_id with every kind of the job-kind table
 * registered (o may be NULL: the queue's defaults). Free with ad_jobs_free.
 */
int ad_runtime_jobs(struct ad_runtime *rt, const char *tenant_id,
                    const struct ad_jobs_options *o, struct ad_jobs **out, struct ad_err *err);

/*
 * Puts the tenant's scheduled work in its queue when it is due (the
 * background evolution of AUTONOMOUS agents, when switched on): a worker
 * calls it before it runs jobs, so no cron outside autodev is needed.
 * Workers calling it at once queue one run per period.
 */
int ad_runtime_schedule(struct ad_runtime *rt, const char *tenant_id, struct ad_err *err);

/* ---- the tables ------------------------------------------------------------------ */

struct ad_runtime_subscription {
    const char *topic;
    const char *name;            /* in logs */
    const char *owner;           /* the module whose behaviour it is */
    ad_bus_handler_fn *fn;       /* called with the runtime as ctx */
    ad_bus_want_fn *want;        /* asked first (bus.h); NULL: every event of the topic */
};

struct ad_runtime_job_kind {
    const char *kind;
    const char *owner;           /* the module whose behaviour it is */
    const char *summary;         /* one line, lower-case */
    ad_job_handler_fn *fn;       /* called with the runtime as ctx */
};

/* Each table ends with an entry whose first member is NULL. */
const struct ad_runtime_subscription *ad_runtime_subscriptions(void);
const struct ad_runtime_job_kind *ad_runtime_job_kinds(void);
const struct ad_runtime_job_kind *ad_runtime_job_kind_find(const char *kind);

/*
 * Every tenant of the store, by name (the server's workers serve them
 * all). Free with ad_tenant_list_free (store.h).
 */
int ad_runtime_tenants(struct ad_runtime *rt, struct ad_tenant **out, size_t *n,
                       struct ad_err *err);

#endif
