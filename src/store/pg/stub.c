/*
 * The PostgreSQL ops table of a build without libpq: open says so. The
 * other ops are never reached (open fails), but store.c checks at open
 * that every table exists, so they are empty tables here.
 */
#include "compat.h"

#include "pg/pg.h"
#include "pg/pg_ops.h"
#include "store_backend.h"

/* Never called (open fails first); present because store.c checks every table. */
static const struct ad__tenant_ops ad__pg_tenant_ops;
static const struct ad__agent_ops ad__pg_agent_ops;
static const struct ad__candidate_ops ad__pg_candidate_ops;
/* Declared in pg_ops.h, defined by pg/<entity>.c in a build with libpq. */
const struct ad__skill_ops ad__pg_skill_ops;
const struct ad__execution_ops ad__pg_execution_ops;
const struct ad__capability_ops ad__pg_capability_ops;
const struct ad__pattern_ops ad__pg_pattern_ops;
const struct ad__mutation_ops ad__pg_mutation_ops;
const struct ad__variant_ops ad__pg_variant_ops;
const struct ad__research_ops ad__pg_research_ops;
const struct ad__evolve_ops ad__pg_evolve_ops;
const struct ad__webhook_ops ad__pg_webhook_ops;
const struct ad__fitness_term_ops ad__pg_fitness_term_ops;
static const struct ad__episode_ops ad__pg_episode_ops;
static const struct ad__event_ops ad__pg_event_ops;
static const struct ad__job_ops ad__pg_job_ops;
static const struct ad__token_ops ad__pg_token_ops;
static const struct ad__llm_call_ops ad__pg_llm_call_ops;
static const struct ad__session_ops ad__pg_session_ops;
static const struct ad__notification_ops ad__pg_notification_ops;

static int stub_open(const char *target, const struct ad_store_options *opts,
                     struct ad_store **out, struct ad_err *err)
{
    return ad_error(err, AD_ENOTSUP,
                    "this autodev was built without PostgreSQL support (libpq-dev not found)");
}

static void stub_close(struct ad_store *st)
{
}

static int stub_fail(struct ad_err *err)
{
    return ad_error(err, AD_ENOTSUP, "this autodev was built without PostgreSQL support");
}

static int stub_schema_version(struct ad_store *st, int *current, int *latest, struct ad_err *err)
{
    return stub_fail(err);
}

static int stub_check(struct ad_store *st, struct ad_err *err)
{
    return stub_fail(err);
}

static int stub_level(struct ad_store *st, int depth, struct ad_err *err)
{
    return stub_fail(err);
}

static int stub_tx_lost(struct ad_store *st)
{
    return AD_ENOTSUP;
}

static int stub_data_version(struct ad_store *st, int64_t *out, struct ad_err *err)
{
    return stub_fail(err);
}

static int stub_table_count(struct ad_store *st, int table, int64_t *count, struct ad_err *err)
{
    return stub_fail(err);
}

static const struct ad__copy_ops stub_copy_ops;

const struct ad_store_ops ad__store_pg_ops = {
    .name = "postgresql",
    .open = stub_open,
    .close = stub_close,
    .schema_version = stub_schema_version,
    .check = stub_check,
    .begin = stub_level,
    .commit = stub_level,
    .rollback = stub_level,
    .tx_lost = stub_tx_lost,
    .data_version = stub_data_version,
    .table_count = stub_table_count,
    AD_PG_ENTITY_TABLES
    .copy = &stub_copy_ops,
};
