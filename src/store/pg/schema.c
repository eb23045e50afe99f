/*
 * The PostgreSQL schema, as numbered migrations mirroring SQLite's
 * (sqlite/schema.c): the same tables, columns, ids and indexes, one entry
 * per number, so that a SQLite migration N gets its PostgreSQL twin as one
 * more entry here. No PostgreSQL store existed before version 8, so the
 * data steps of SQLite's migrations 3 to 5 (filling error_type, turning
 * memento jobs into patterns, dropping json_valid() CHECKs) have nothing to
 * carry: each entry creates the shape its SQLite twin ends with.
 *
 * Dialect: JSON columns are jsonb (the store writes only jansson's text;
 * jsonb validates it once), times are timestamptz (read back through
 * ad_ts() in the store's 24-character form), booleans stay 0/1 integers as
 * in SQLite, integers are bigint, reals double precision. events.seq comes
 * from a sequence.
 *
 * Tenant isolation: every table with a tenant has row-level security,
 * FORCEd so that even the owner obeys it, with one policy: a row is
 * visible and writable only when its tenant is the transaction's
 * autodev.tenant setting (conn.c sets it per transaction), or when that
 * setting is '*', which the backend uses for the few store-wide reads
 * (a tenant by name, a token by hash, counts of every tenant). A
 * statement run without the setting sees no row at all.
 */
#include "compat.h"

#include "pg/pg_int.h"

#define TS "timestamptz"
#define POLICY_ON(col)                                                          \
    " USING (" col " = current_setting('autodev.tenant', true)"                \
    " OR current_setting('autodev.tenant', true) = '*')"                       \
    " WITH CHECK (" col " = current_setting('autodev.tenant', true)"           \
    " OR current_setting('autodev.tenant', true) = '*');"
#define RLS_COL(table, col)                                                     \
    "ALTER TABLE " table " ENABLE ROW LEVEL SECURITY;"                          \
    "ALTER TABLE " table " FORCE ROW LEVEL SECURITY;"                           \
    "CREATE POLICY tenant_isolation ON " table POLICY_ON(col)
#define RLS(table) RLS_COL(table, "tenant_id")
#define REVIEW_STATUS                                                           \
    " review_status TEXT CHECK (review_status IN"                               \
    "  ('pending', 'approved', 'rejected', 'auto_approved')),"

static const char migration_1[] =
    "CREATE TABLE schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " applied_at " TS " NOT NULL);"

    /* The store's times in its stored text form (clock.h): 24 characters, UTC, ms. */
    "CREATE FUNCTION ad_ts(t " TS ") RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS"
    " $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') $$;"

    "CREATE TABLE tenants ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " settings jsonb NOT NULL DEFAULT '{}',"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL);"
    RLS_COL("tenants", "id")

    "CREATE TABLE api_tokens ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'reviewer', 'agent', 'viewer')),"
    " created_at " TS " NOT NULL,"
    " last_used_at " TS ","
    " revoked_at " TS ","
    " UNIQUE (tenant_id, name));"
    RLS("api_tokens")

    "CREATE TABLE agents ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " maturity TEXT NOT NULL DEFAULT 'STUDENT'"
    "  CHECK (maturity IN ('STUDENT', 'INTERN', 'SUPERVISED', 'AUTONOMOUS')),"
    " episode_count BIGINT NOT NULL DEFAULT 0,"
    " success_count BIGINT NOT NULL DEFAULT 0,"
    " failure_count BIGINT NOT NULL DEFAULT 0,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL,"
    " UNIQUE (tenant_id, name));"
    RLS("agents")

    "CREATE TABLE episodes ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " task_description TEXT NOT NULL,"
    " task_kind TEXT,"
    " input jsonb,"
    " expected jsonb,"
    " output jsonb,"
    " success INTEGER NOT NULL CHECK (success IN (0, 1)),"
    " error_trace TEXT,"
    " tools_attempted jsonb,"
    " context jsonb,"
    " intervention INTEGER NOT NULL DEFAULT 0 CHECK (intervention IN (0, 1)),"
    " constitutional_score DOUBLE PRECISION CHECK (constitutional_score BETWEEN 0 AND 1),"
    " execution_seconds DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (execution_seconds >= 0),"
    " token_usage BIGINT NOT NULL DEFAULT 0 CHECK (token_usage >= 0),"
    " skill_version_id TEXT,"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_episodes_tenant ON episodes (tenant_id, id);"
    "CREATE INDEX ix_episodes_agent_success ON episodes (tenant_id, agent_id, success, id);"
    "CREATE INDEX ix_episodes_kind ON episodes (tenant_id, task_kind, id);"
    "CREATE INDEX ix_episodes_skill_version ON episodes (skill_version_id)"
    " WHERE skill_version_id IS NOT NULL;"
    RLS("episodes")

    "CREATE TABLE episode_segments ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " episode_id TEXT NOT NULL REFERENCES episodes(id),"
    " kind TEXT NOT NULL,"
    " content TEXT NOT NULL,"
    " metadata jsonb,"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_episode_segments_episode ON episode_segments (episode_id, id);"
    RLS("episode_segments")

    /* skills.current_version_id gets its reference once skill_versions exists. */
    "CREATE TABLE skills ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " entry_function TEXT NOT NULL,"
    " input_schema jsonb,"
    " current_version_id TEXT,"
    " status TEXT NOT NULL DEFAULT 'active'"
    "  CHECK (status IN ('active', 'disabled', 'deprecated', 'archived')),"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL,"
    " UNIQUE (tenant_id, name));"
    RLS("skills")

    "CREATE TABLE skill_versions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " skill_id TEXT NOT NULL REFERENCES skills(id),"
    " semver TEXT NOT NULL,"
    " code TEXT NOT NULL,"
    " parent_version_id TEXT REFERENCES skill_versions(id),"
    " origin TEXT NOT NULL CHECK (origin IN ('memento', 'alpha', 'research', 'manual', 'import')),"
    " origin_id TEXT,"
    " created_at " TS " NOT NULL,"
    " UNIQUE (skill_id, semver));"
    "ALTER TABLE skills ADD FOREIGN KEY (current_version_id) REFERENCES skill_versions(id);"
    "CREATE INDEX ix_skill_versions_tenant ON skill_versions (tenant_id, created_at);"
    "CREATE INDEX ix_skill_versions_parent ON skill_versions (parent_version_id);"
    RLS("skill_versions")

    "CREATE TABLE skill_executions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " skill_version_id TEXT NOT NULL REFERENCES skill_versions(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " episode_id TEXT REFERENCES episodes(id),"
    " input jsonb,"
    " output jsonb,"
    " success INTEGER NOT NULL CHECK (success IN (0, 1)),"
    " execution_seconds DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (execution_seconds >= 0),"
    " token_usage BIGINT NOT NULL DEFAULT 0 CHECK (token_usage >= 0),"
    " error TEXT,"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_skill_executions_version ON skill_executions"
    " (tenant_id, skill_version_id, id);"
    "CREATE INDEX ix_skill_executions_agent ON skill_executions (agent_id);"
    "CREATE INDEX ix_skill_executions_episode ON skill_executions (episode_id);"
    RLS("skill_executions")

    "CREATE TABLE skill_candidates ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " source_episode_id TEXT REFERENCES episodes(id),"
    " skill_name TEXT NOT NULL,"
    " skill_description TEXT,"
    " generated_code TEXT NOT NULL,"
    " failure_pattern jsonb,"
    " validation_status TEXT NOT NULL DEFAULT 'pending' CHECK (validation_status IN"
    "  ('pending', 'validating', 'validated', 'failed', 'promoted', 'rejected')),"
    " validation_result jsonb,"
    " fitness_score DOUBLE PRECISION,"
    REVIEW_STATUS
    " reviewed_by TEXT,"
    " reviewed_at " TS ","
    " reason TEXT,"
    " risk_score DOUBLE PRECISION CHECK (risk_score BETWEEN 0 AND 1),"
    " created_at " TS " NOT NULL,"
    " validated_at " TS ","
    " promoted_at " TS ");"
    "CREATE INDEX ix_skill_candidates_tenant_created ON skill_candidates (tenant_id, created_at);"
    "CREATE INDEX ix_skill_candidates_tenant_status ON skill_candidates"
    " (tenant_id, validation_status);"
    "CREATE INDEX ix_skill_candidates_agent ON skill_candidates (agent_id);"
    "CREATE INDEX ix_skill_candidates_source_episode ON skill_candidates (source_episode_id);"
    RLS("skill_candidates")

    "CREATE TABLE tool_mutations ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " parent_tool_id TEXT REFERENCES tool_mutations(id),"
    " tool_name TEXT NOT NULL,"
    " mutated_code TEXT NOT NULL,"
    " sandbox_status TEXT NOT NULL DEFAULT 'pending' CHECK (sandbox_status IN"
    "  ('pending', 'running', 'passed', 'failed', 'error', 'timeout')),"
    " execution_error TEXT,"
    " skill_id TEXT REFERENCES skills(id),"
    " parent_skill_version_id TEXT REFERENCES skill_versions(id),"
    " mutation_operator TEXT,"
    " proxy_signals jsonb,"
    REVIEW_STATUS
    " reviewed_by TEXT,"
    " reviewed_at " TS ","
    " reason TEXT,"
    " risk_score DOUBLE PRECISION CHECK (risk_score BETWEEN 0 AND 1),"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_tool_mutations_tenant_created ON tool_mutations (tenant_id, created_at);"
    "CREATE INDEX ix_tool_mutations_tenant_status ON tool_mutations (tenant_id, sandbox_status);"
    "CREATE INDEX ix_tool_mutations_parent_tool ON tool_mutations (parent_tool_id);"
    "CREATE INDEX ix_tool_mutations_parent_version ON tool_mutations (parent_skill_version_id);"
    "CREATE INDEX ix_tool_mutations_skill ON tool_mutations (skill_id);"
    RLS("tool_mutations")

    "CREATE TABLE workflow_variants ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " parent_variant_id TEXT REFERENCES workflow_variants(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " tool_mutation_id TEXT REFERENCES tool_mutations(id),"
    " workflow_definition jsonb NOT NULL,"
    " fitness_score DOUBLE PRECISION,"
    " fitness_signals jsonb,"
    " evaluation_status TEXT NOT NULL DEFAULT 'pending' CHECK (evaluation_status IN"
    "  ('pending', 'evaluating', 'evaluated', 'failed', 'promoted', 'rejected',"
    "   'rolled_back')),"
    REVIEW_STATUS
    " reviewed_by TEXT,"
    " reviewed_at " TS ","
    " reason TEXT,"
    " risk_score DOUBLE PRECISION CHECK (risk_score BETWEEN 0 AND 1),"
    " created_at " TS " NOT NULL,"
    " last_evaluated_at " TS ");"
    "CREATE INDEX ix_workflow_variants_tenant ON workflow_variants (tenant_id, created_at);"
    "CREATE INDEX ix_workflow_variants_tenant_fitness ON workflow_variants"
    " (tenant_id, fitness_score);"
    "CREATE INDEX ix_workflow_variants_parent_variant ON workflow_variants (parent_variant_id);"
    "CREATE INDEX ix_workflow_variants_agent ON workflow_variants (agent_id);"
    "CREATE INDEX ix_workflow_variants_mutation ON workflow_variants (tool_mutation_id);"
    RLS("workflow_variants")

    "CREATE TABLE capability_usage ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " capability TEXT NOT NULL,"
    " success INTEGER NOT NULL CHECK (success IN (0, 1)),"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_capability_usage_agent ON capability_usage"
    " (tenant_id, agent_id, capability, id);"
    RLS("capability_usage")

    "CREATE TABLE notifications ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " type TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " message TEXT NOT NULL DEFAULT '',"
    " payload jsonb,"
    " read_at " TS ","
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_notifications_tenant ON notifications (tenant_id, id);"
    "CREATE INDEX ix_notifications_agent ON notifications (agent_id);"
    RLS("notifications")

    /*
     * The durable outbox. seq comes from events_seq inside the appending
     * transaction; events.c takes a lock so that seq order is commit order.
     */
    "CREATE SEQUENCE events_seq;"
    "CREATE TABLE events ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " seq BIGINT NOT NULL UNIQUE,"
    " topic TEXT NOT NULL,"
    " payload jsonb NOT NULL DEFAULT '{}',"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_events_tenant_seq ON events (tenant_id, seq);"
    RLS("events")

    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " kind TEXT NOT NULL,"
    " payload jsonb NOT NULL DEFAULT '{}',"
    " status TEXT NOT NULL DEFAULT 'queued'"
    "  CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),"
    " attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),"
    " idempotency_key TEXT,"
    " run_after " TS " NOT NULL,"
    " lease_until " TS ","
    " worker TEXT,"
    " last_error TEXT,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL,"
    " UNIQUE (tenant_id, idempotency_key));"
    "CREATE INDEX ix_jobs_claim ON jobs (tenant_id, status, run_after, id);"
    "CREATE INDEX ix_jobs_claim_kind ON jobs (tenant_id, kind, status, run_after, id);"
    "CREATE INDEX ix_jobs_tenant ON jobs (tenant_id, id);"
    RLS("jobs")

    "CREATE TABLE llm_calls ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " provider TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " purpose TEXT,"
    " prompt_tokens BIGINT NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),"
    " completion_tokens BIGINT NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),"
    " cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),"
    " latency_ms BIGINT NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'error')),"
    " error TEXT,"
    " request_id TEXT,"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_llm_calls_tenant_created ON llm_calls (tenant_id, created_at);"
    RLS("llm_calls")

    "CREATE TABLE research_sessions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " repo_path TEXT NOT NULL,"
    " metric_name TEXT NOT NULL,"
    " direction TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
    "  ('pending', 'running', 'paused', 'completed', 'failed', 'budget_exhausted', 'stopped')),"
    " budget jsonb,"
    " baseline_metric DOUBLE PRECISION,"
    " best_metric DOUBLE PRECISION,"
    " config jsonb,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL,"
    " UNIQUE (tenant_id, name));"
    RLS("research_sessions")

    "CREATE TABLE research_iterations ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " session_id TEXT NOT NULL REFERENCES research_sessions(id),"
    " seq INTEGER NOT NULL CHECK (seq >= 0),"
    " hypothesis TEXT,"
    " diff TEXT,"
    " metric DOUBLE PRECISION,"
    " decision TEXT NOT NULL DEFAULT 'pending' CHECK (decision IN"
    "  ('pending', 'kept', 'reverted', 'rejected_by_gate', 'crashed')),"
    " gate_results jsonb,"
    " commit_sha TEXT,"
    " created_at " TS " NOT NULL,"
    " UNIQUE (session_id, seq));"
    RLS("research_iterations");

/*
 * Search over the catalog (SQLite's FTS5 index; here a GIN index over the
 * english text of name and description, '_' splitting words as there),
 * and the agent loop's sessions.
 */
static const char migration_2[] =
    "CREATE INDEX ix_skills_search ON skills USING gin (to_tsvector('english',"
    " replace(name, '_', ' ') || ' ' || description));"
    "CREATE INDEX ix_skill_executions_tenant ON skill_executions (tenant_id, id);"
    "CREATE INDEX ix_skill_versions_skill ON skill_versions (tenant_id, skill_id, id);"
    "CREATE TABLE agent_sessions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " task TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'stopped')),"
    " transcript jsonb NOT NULL,"
    " state jsonb NOT NULL,"
    " episode_id TEXT REFERENCES episodes(id),"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL);"
    "CREATE INDEX ix_agent_sessions_tenant ON agent_sessions (tenant_id, id);"
    "CREATE INDEX ix_agent_sessions_agent ON agent_sessions (tenant_id, agent_id, id);"
    RLS("agent_sessions");

/* Episodes' error type and reflection's failure patterns (no rows to carry over). */
static const char migration_3[] =
    "ALTER TABLE episodes ADD COLUMN error_type TEXT;"
    "DROP INDEX ix_episodes_agent_success;"
    "CREATE INDEX ix_episodes_agent_success ON episodes"
    " (tenant_id, agent_id, success, id) INCLUDE (created_at, error_type);"
    "CREATE TABLE failure_patterns ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " task TEXT NOT NULL,"
    " error_type TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'candidate', 'closed')),"
    " job_id TEXT,"
    " candidate_id TEXT REFERENCES skill_candidates(id),"
    " episode_ids jsonb NOT NULL,"
    " outcome jsonb,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL);"
    "CREATE INDEX ix_failure_patterns_agent ON failure_patterns"
    " (tenant_id, agent_id, status, updated_at, id);"
    "CREATE INDEX ix_failure_patterns_tenant ON failure_patterns (tenant_id, updated_at, id);"
    "CREATE INDEX ix_failure_patterns_agent_type ON failure_patterns"
    " (tenant_id, agent_id, status, error_type, updated_at, id);"
    "CREATE INDEX ix_failure_patterns_candidate ON failure_patterns (candidate_id)"
    " WHERE candidate_id IS NOT NULL;"
    RLS("failure_patterns");

/* SQLite's migration 4 dropped json_valid() CHECKs; jsonb never had them. */
static const char migration_4[] = "SELECT 1;";

static const char migration_5[] =
    "ALTER TABLE tool_mutations ADD COLUMN agent_id TEXT REFERENCES agents(id);"
    "ALTER TABLE tool_mutations ADD COLUMN job_id TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN mutant_index INTEGER;"
    "ALTER TABLE tool_mutations ADD COLUMN trigger TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN proposer TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN edit TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN test_set jsonb;"
    "ALTER TABLE tool_mutations ADD COLUMN decision TEXT"
    " CHECK (decision IS NULL OR decision IN ('won', 'lost'));"
    "ALTER TABLE tool_mutations ADD COLUMN decision_reason TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN fitness_delta DOUBLE PRECISION;"
    "ALTER TABLE tool_mutations ADD COLUMN risk jsonb;"
    "ALTER TABLE tool_mutations ADD COLUMN promoted_version_id TEXT"
    " REFERENCES skill_versions(id);"
    "ALTER TABLE tool_mutations ADD COLUMN evaluated_at " TS ";"
    "CREATE UNIQUE INDEX ix_tool_mutations_job ON tool_mutations"
    " (tenant_id, job_id, mutant_index);"
    "CREATE INDEX ix_tool_mutations_review ON tool_mutations"
    " (tenant_id, review_status, created_at);"
    "CREATE INDEX ix_tool_mutations_agent ON tool_mutations (agent_id);"
    "CREATE INDEX ix_tool_mutations_promoted ON tool_mutations (promoted_version_id);"
    "ALTER TABLE workflow_variants ADD COLUMN skill_version_id TEXT"
    " REFERENCES skill_versions(id);"
    "ALTER TABLE workflow_variants ADD COLUMN job_id TEXT;"
    "DROP INDEX ix_workflow_variants_tenant_fitness;"
    "CREATE INDEX ix_workflow_variants_top ON workflow_variants"
    " (tenant_id, fitness_score DESC, created_at, id);"
    "CREATE INDEX ix_workflow_variants_version ON workflow_variants (skill_version_id);"
    "CREATE INDEX ix_workflow_variants_job ON workflow_variants (tenant_id, job_id);";

static const char migration_7[] =
    "ALTER TABLE research_sessions ADD COLUMN worktree TEXT;"
    "ALTER TABLE research_sessions ADD COLUMN best_commit TEXT;"
    "ALTER TABLE research_sessions ADD COLUMN noise DOUBLE PRECISION;"
    "ALTER TABLE research_sessions ADD COLUMN state jsonb;"
    "ALTER TABLE research_iterations ADD COLUMN phase TEXT;"
    "ALTER TABLE research_iterations ADD COLUMN detail jsonb;"
    "CREATE INDEX ix_research_sessions_tenant ON research_sessions (tenant_id, created_at);";

static const char migration_8[] =
    "CREATE TABLE webhooks ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " url TEXT NOT NULL,"
    " topics jsonb NOT NULL,"
    " active INTEGER NOT NULL DEFAULT 1,"
    " secret_generation BIGINT NOT NULL DEFAULT 1,"
    " description TEXT,"
    " created_at " TS " NOT NULL);"
    "CREATE INDEX ix_webhooks_tenant ON webhooks (tenant_id, active, id);"
    RLS("webhooks")
    "CREATE TABLE webhook_deliveries ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " webhook_id TEXT NOT NULL,"
    " event_id TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " payload jsonb NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_status_code INTEGER,"
    " last_error TEXT,"
    " next_attempt_at " TS ","
    " created_at " TS " NOT NULL,"
    " delivered_at " TS ");"
    "CREATE INDEX ix_webhook_deliveries_status ON webhook_deliveries (tenant_id, status, id);"
    "CREATE INDEX ix_webhook_deliveries_webhook ON webhook_deliveries"
    " (tenant_id, webhook_id, id);"
    RLS("webhook_deliveries")
    "CREATE TABLE signal_receipts ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " signature_hash TEXT NOT NULL,"
    " received_at " TS " NOT NULL,"
    " UNIQUE (tenant_id, signature_hash));"
    "CREATE INDEX ix_signal_receipts_received ON signal_receipts (received_at);"
    RLS("signal_receipts")
    "CREATE TABLE signal_keys ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL UNIQUE REFERENCES tenants(id),"
    " generation BIGINT NOT NULL,"
    " created_at " TS " NOT NULL);"
    RLS("signal_keys");

/*
 * Evolution research runs (as SQLite's 9): the run, its archive of programs
 * and its trace; (run, generation, slot) and (run, seq) unique.
 */
static const char migration_9[] =
    "CREATE TABLE evolve_runs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT,"
    " skill_id TEXT NOT NULL,"
    " skill_version_id TEXT NOT NULL,"
    " params jsonb NOT NULL,"
    " state TEXT NOT NULL,"
    " generation INTEGER NOT NULL DEFAULT 0,"
    " prng TEXT NOT NULL,"
    " evaluations BIGINT NOT NULL DEFAULT 0,"
    " tokens BIGINT NOT NULL DEFAULT 0,"
    " usd DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " best_program_id TEXT,"
    " reason TEXT,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL);"
    "CREATE INDEX ix_evolve_runs_tenant ON evolve_runs (tenant_id, created_at);"
    RLS("evolve_runs")
    "CREATE TABLE evolve_programs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " run_id TEXT NOT NULL REFERENCES evolve_runs(id),"
    " island INTEGER NOT NULL,"
    " cell TEXT,"
    " code TEXT NOT NULL,"
    " code_hash TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " features jsonb,"
    " fitness DOUBLE PRECISION,"
    " signals jsonb,"
    " parent_id TEXT,"
    " generation INTEGER NOT NULL,"
    " slot INTEGER NOT NULL,"
    " children INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL,"
    " stage INTEGER NOT NULL DEFAULT 0,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL,"
    " UNIQUE (run_id, generation, slot));"
    "CREATE INDEX ix_evolve_programs_run ON evolve_programs (tenant_id, run_id, generation, slot);"
    RLS("evolve_programs")
    "CREATE TABLE evolve_trace ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " run_id TEXT NOT NULL REFERENCES evolve_runs(id),"
    " seq BIGINT NOT NULL,"
    " generation INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " data jsonb NOT NULL,"
    " created_at " TS " NOT NULL,"
    " UNIQUE (run_id, seq));"
    RLS("evolve_trace");

/* One entry per number, as SQLite's list (6 is unused there too). */
/* The agent loop's tool permissions (as SQLite's 11). */
static const char migration_11[] = "ALTER TABLE agents ADD COLUMN tool_policy TEXT;";

/* A workspace's own fitness terms (as SQLite's 12). */
static const char migration_12[] =
    "CREATE TABLE fitness_terms ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " code TEXT NOT NULL,"
    " code_sha TEXT NOT NULL,"
    " weight DOUBLE PRECISION NOT NULL CHECK (weight > 0),"
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " created_at " TS " NOT NULL,"
    " updated_at " TS " NOT NULL,"
    " UNIQUE (tenant_id, name));"
    RLS("fitness_terms");

/*
 * The data version (PostgreSQL only; SQLite needs no counterpart, its
 * PRAGMA data_version does it). Every table gets four statement triggers
 * that run pg_notify('autodev_data', <the table's schema>) when the
 * statement changed a row
 * (the transition table is not empty; a TRUNCATE always counts);
 * PostgreSQL delivers the notification at commit, to every session
 * LISTENing, collapsed to one per transaction, and drops it on rollback.
 * conn.c's listener counts them: the number the caches key on.
 * ad_watch_tables() attaches the triggers to every table of the schema
 * that lacks them; conn.c runs it after every migration, so tables made by
 * later migrations are watched too.
 *
 * Why NOTIFY and not a version row bumped by the triggers: a row updated
 * by every writing transaction holds its lock from the write to the
 * commit, so all writers queue on it for the whole rest of their
 * transactions (and leave a dead row version each), and every reader
 * still pays a round trip to read it. A notification costs the writer a
 * queue entry at commit and the readers nothing: the number is in the
 * process's memory. Its price: PostgreSQL makes the commits of notifying
 * transactions take turns (a database-wide lock from queueing the
 * notification to the end of the commit), which is short with
 * synchronous_commit off or a fast WAL device, and is counted in
 * bench/RESULTS.md. Only statements that changed rows notify, so reads
 * and claims that found nothing do not. Numbered 13, PostgreSQL only: 12
 * is kept for the SQLite and PostgreSQL migration of fitness terms.
 */
static const char migration_13[] =
    "CREATE FUNCTION ad_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP = 'TRUNCATE' THEN"
    "   PERFORM pg_notify('autodev_data', TG_TABLE_SCHEMA);"
    "  ELSIF EXISTS (SELECT 1 FROM ad_changed_rows) THEN"
    "   PERFORM pg_notify('autodev_data', TG_TABLE_SCHEMA);"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE FUNCTION ad_watch_tables() RETURNS void LANGUAGE plpgsql AS $$"
    " DECLARE t text;"
    " BEGIN"
    "  FOR t IN SELECT c.relname FROM pg_class c"
    "   WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relkind = 'r'"
    "    AND NOT EXISTS (SELECT 1 FROM pg_trigger g"
    "                    WHERE g.tgrelid = c.oid AND g.tgname = 'ad_data_insert')"
    "  LOOP"
    "   EXECUTE format('CREATE TRIGGER ad_data_insert AFTER INSERT ON %I"
    " REFERENCING NEW TABLE AS ad_changed_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ad_data_changed()', t);"
    "   EXECUTE format('CREATE TRIGGER ad_data_update AFTER UPDATE ON %I"
    " REFERENCING NEW TABLE AS ad_changed_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ad_data_changed()', t);"
    "   EXECUTE format('CREATE TRIGGER ad_data_delete AFTER DELETE ON %I"
    " REFERENCING OLD TABLE AS ad_changed_rows FOR EACH STATEMENT"
    " EXECUTE FUNCTION ad_data_changed()', t);"
    "   EXECUTE format('CREATE TRIGGER ad_data_truncate AFTER TRUNCATE ON %I"
    " FOR EACH STATEMENT EXECUTE FUNCTION ad_data_changed()', t);"
    "  END LOOP;"
    " END $$;";

const struct ad__pg_migration ad__pg_migrations[] = {
    { 1, migration_1 },
    { 2, migration_2 },
    { 3, migration_3 },
    { 4, migration_4 },
    { 5, migration_5 },
    { 7, migration_7 },
    { 8, migration_8 },
    { 9, migration_9 },
    { 11, migration_11 },
    { 12, migration_12 },
    { AD_PG_WATCH_VERSION, migration_13 },
};

const size_t ad__pg_nmigrations = AD_ARRAY_SIZE(ad__pg_migrations);
