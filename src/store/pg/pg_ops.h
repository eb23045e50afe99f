/*
 * The entity tables of the PostgreSQL backend, for its ops table (conn.c,
 * or stub.c in a build without libpq). Every entity is on PostgreSQL.
 */
#ifndef AD_STORE_PG_OPS_H
#define AD_STORE_PG_OPS_H

#include "store_backend.h"

extern const struct ad__skill_ops ad__pg_skill_ops;
extern const struct ad__execution_ops ad__pg_execution_ops;
extern const struct ad__research_ops ad__pg_research_ops;
extern const struct ad__capability_ops ad__pg_capability_ops;
extern const struct ad__pattern_ops ad__pg_pattern_ops;
extern const struct ad__mutation_ops ad__pg_mutation_ops;
extern const struct ad__variant_ops ad__pg_variant_ops;
extern const struct ad__webhook_ops ad__pg_webhook_ops;
extern const struct ad__evolve_ops ad__pg_evolve_ops;
extern const struct ad__fitness_term_ops ad__pg_fitness_term_ops;

#define AD_PG_ENTITY_TABLES                                 \
    .tenants = &ad__pg_tenant_ops,                          \
    .agents = &ad__pg_agent_ops,                            \
    .episodes = &ad__pg_episode_ops,                        \
    .events = &ad__pg_event_ops,                            \
    .jobs = &ad__pg_job_ops,                                \
    .tokens = &ad__pg_token_ops,                            \
    .llm_calls = &ad__pg_llm_call_ops,                      \
    .skills = &ad__pg_skill_ops,                            \
    .executions = &ad__pg_execution_ops,                    \
    .sessions = &ad__pg_session_ops,                        \
    .candidates = &ad__pg_candidate_ops,                    \
    .research = &ad__pg_research_ops,                       \
    .capabilities = &ad__pg_capability_ops,                 \
    .notifications = &ad__pg_notification_ops,              \
    .patterns = &ad__pg_pattern_ops,                        \
    .mutations = &ad__pg_mutation_ops,                      \
    .variants = &ad__pg_variant_ops,                        \
    .webhooks = &ad__pg_webhook_ops,                        \
    .evolve = &ad__pg_evolve_ops,                          \
    .fitness_terms = &ad__pg_fitness_term_ops,

#endif
