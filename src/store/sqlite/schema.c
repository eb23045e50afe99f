/*
 * The SQLite schema, as numbered migrations.
 *
 * Conventions of every table: id TEXT PRIMARY KEY holding a UUIDv7 (so ids
 * sort in creation order and "newest first" is ORDER BY id DESC),
 * tenant_id NOT NULL REFERENCES tenants(id), created_at as ISO-8601 UTC text
 * with milliseconds (24 characters, sorts in time order). JSON columns are
 * TEXT; migrations 1 to 3 checked them with json_valid() (which says 0, not
 * NULL, for a NULL value before SQLite 3.45, hence "x IS NULL OR"), and
 * migration 4 dropped the checks on the columns the store writes.
 * Enumerations are CHECK constraints.
 *
 * Indexes follow the reference architecture plus what the store's queries
 * need; each query's index is named next to it.
 */
#include "compat.h"

#include "autodev/clock.h"
#include "autodev/text.h"

#include "sqlite/schema.h"

static const char migration_1[] =
    "CREATE TABLE schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " applied_at TEXT NOT NULL);"

    /* Tenants and their tokens. settings holds {"auto_dev": {...}}. */
    "CREATE TABLE tenants ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"

    "CREATE TABLE api_tokens ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'reviewer', 'agent', 'viewer')),"
    " created_at TEXT NOT NULL,"
    " last_used_at TEXT,"
    " revoked_at TEXT,"
    " UNIQUE (tenant_id, name));"

    "CREATE TABLE agents ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " maturity TEXT NOT NULL DEFAULT 'STUDENT'"
    "  CHECK (maturity IN ('STUDENT', 'INTERN', 'SUPERVISED', 'AUTONOMOUS')),"
    " episode_count INTEGER NOT NULL DEFAULT 0,"
    " success_count INTEGER NOT NULL DEFAULT 0,"
    " failure_count INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (tenant_id, name));"   /* agent_get_by_name, agent_list by name */

    /*
     * Episodes: what agents tried. Columns mirror struct ad_episode. The
     * JSON columns of episodes and segments carry no json_valid() CHECK:
     * this is the ingest hot path, the store only ever writes jansson's
     * output there, and the check cost about a tenth of an insert.
     */
    "CREATE TABLE episodes ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " task_description TEXT NOT NULL,"
    " task_kind TEXT,"
    " input TEXT,"
    " expected TEXT,"
    " output TEXT,"
    " success INTEGER NOT NULL CHECK (success IN (0, 1)),"
    " error_trace TEXT,"
    " tools_attempted TEXT,"
    " context TEXT,"
    " intervention INTEGER NOT NULL DEFAULT 0 CHECK (intervention IN (0, 1)),"
    " constitutional_score REAL CHECK (constitutional_score BETWEEN 0 AND 1),"
    " execution_seconds REAL NOT NULL DEFAULT 0 CHECK (execution_seconds >= 0),"
    " token_usage INTEGER NOT NULL DEFAULT 0 CHECK (token_usage >= 0),"
    " skill_version_id TEXT,"
    " created_at TEXT NOT NULL);"
    /* All of a tenant's episodes, newest first. */
    "CREATE INDEX ix_episodes_tenant ON episodes (tenant_id, id);"
    /* One agent's failures (or successes), newest first: reflection's query. */
    "CREATE INDEX ix_episodes_agent_success ON episodes (tenant_id, agent_id, success, id);"
    /* (One agent's episodes whatever the outcome merge the two success
     * ranges of that index; each extra episodes index costs ~20% of ingest.) */
    "CREATE INDEX ix_episodes_kind ON episodes (tenant_id, task_kind, id);"
    "CREATE INDEX ix_episodes_skill_version ON episodes (skill_version_id)"
    " WHERE skill_version_id IS NOT NULL;"

    "CREATE TABLE episode_segments ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " episode_id TEXT NOT NULL REFERENCES episodes(id),"
    " kind TEXT NOT NULL,"
    " content TEXT NOT NULL,"
    " metadata TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_episode_segments_episode ON episode_segments (episode_id, id);"

    /* The skill catalog. current_version_id and skill_id point at each other;
     * a skill is inserted first with current_version_id NULL. */
    "CREATE TABLE skills ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '',"
    " entry_function TEXT NOT NULL,"
    " input_schema TEXT CHECK (input_schema IS NULL OR json_valid(input_schema)),"
    " current_version_id TEXT REFERENCES skill_versions(id),"
    " status TEXT NOT NULL DEFAULT 'active'"
    "  CHECK (status IN ('active', 'disabled', 'deprecated', 'archived')),"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (tenant_id, name));"

    "CREATE TABLE skill_versions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " skill_id TEXT NOT NULL REFERENCES skills(id),"
    " semver TEXT NOT NULL,"
    " code TEXT NOT NULL,"
    " parent_version_id TEXT REFERENCES skill_versions(id),"
    " origin TEXT NOT NULL CHECK (origin IN ('memento', 'alpha', 'research', 'manual', 'import')),"
    " origin_id TEXT,"
    " created_at TEXT NOT NULL,"
    " UNIQUE (skill_id, semver));"
    "CREATE INDEX ix_skill_versions_tenant ON skill_versions (tenant_id, created_at);"
    "CREATE INDEX ix_skill_versions_parent ON skill_versions (parent_version_id);"

    /* Every skill run; their inputs become the test inputs of mutants. */
    "CREATE TABLE skill_executions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " skill_version_id TEXT NOT NULL REFERENCES skill_versions(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " episode_id TEXT REFERENCES episodes(id),"
    " input TEXT CHECK (input IS NULL OR json_valid(input)),"
    " output TEXT CHECK (output IS NULL OR json_valid(output)),"
    " success INTEGER NOT NULL CHECK (success IN (0, 1)),"
    " execution_seconds REAL NOT NULL DEFAULT 0 CHECK (execution_seconds >= 0),"
    " token_usage INTEGER NOT NULL DEFAULT 0 CHECK (token_usage >= 0),"
    " error TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_skill_executions_version ON skill_executions"
    " (tenant_id, skill_version_id, id);"
    "CREATE INDEX ix_skill_executions_agent ON skill_executions (agent_id);"
    "CREATE INDEX ix_skill_executions_episode ON skill_executions (episode_id);"

    /* Memento's proposals: reference columns plus review and risk. */
    "CREATE TABLE skill_candidates ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " source_episode_id TEXT REFERENCES episodes(id),"
    " skill_name TEXT NOT NULL,"
    " skill_description TEXT,"
    " generated_code TEXT NOT NULL,"
    " failure_pattern TEXT CHECK (failure_pattern IS NULL OR json_valid(failure_pattern)),"
    " validation_status TEXT NOT NULL DEFAULT 'pending' CHECK (validation_status IN"
    "  ('pending', 'validating', 'validated', 'failed', 'promoted', 'rejected')),"
    " validation_result TEXT CHECK (validation_result IS NULL OR json_valid(validation_result)),"
    " fitness_score REAL,"
    " review_status TEXT CHECK (review_status IN"
    "  ('pending', 'approved', 'rejected', 'auto_approved')),"
    " reviewed_by TEXT,"
    " reviewed_at TEXT,"
    " reason TEXT,"
    " risk_score REAL CHECK (risk_score BETWEEN 0 AND 1),"
    " created_at TEXT NOT NULL,"
    " validated_at TEXT,"
    " promoted_at TEXT);"
    /* Daily limits count a tenant's rows since 00:00 UTC. */
    "CREATE INDEX ix_skill_candidates_tenant_created ON skill_candidates (tenant_id, created_at);"
    "CREATE INDEX ix_skill_candidates_tenant_status ON skill_candidates"
    " (tenant_id, validation_status);"
    "CREATE INDEX ix_skill_candidates_agent ON skill_candidates (agent_id);"
    "CREATE INDEX ix_skill_candidates_source_episode ON skill_candidates (source_episode_id);"

    /* AlphaEvolver's mutants. parent_tool_id is the lineage (self reference). */
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
    " proxy_signals TEXT CHECK (proxy_signals IS NULL OR json_valid(proxy_signals)),"
    " review_status TEXT CHECK (review_status IN"
    "  ('pending', 'approved', 'rejected', 'auto_approved')),"
    " reviewed_by TEXT,"
    " reviewed_at TEXT,"
    " reason TEXT,"
    " risk_score REAL CHECK (risk_score BETWEEN 0 AND 1),"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_tool_mutations_tenant_created ON tool_mutations (tenant_id, created_at);"
    "CREATE INDEX ix_tool_mutations_tenant_status ON tool_mutations (tenant_id, sandbox_status);"
    "CREATE INDEX ix_tool_mutations_parent_tool ON tool_mutations (parent_tool_id);"
    "CREATE INDEX ix_tool_mutations_parent_version ON tool_mutations (parent_skill_version_id);"
    "CREATE INDEX ix_tool_mutations_skill ON tool_mutations (skill_id);"

    "CREATE TABLE workflow_variants ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " parent_variant_id TEXT REFERENCES workflow_variants(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " tool_mutation_id TEXT REFERENCES tool_mutations(id),"
    " workflow_definition TEXT NOT NULL CHECK (json_valid(workflow_definition)),"
    " fitness_score REAL,"
    " fitness_signals TEXT CHECK (fitness_signals IS NULL OR json_valid(fitness_signals)),"
    " evaluation_status TEXT NOT NULL DEFAULT 'pending' CHECK (evaluation_status IN"
    "  ('pending', 'evaluating', 'evaluated', 'failed', 'promoted', 'rejected',"
    "   'rolled_back')),"
    " review_status TEXT CHECK (review_status IN"
    "  ('pending', 'approved', 'rejected', 'auto_approved')),"
    " reviewed_by TEXT,"
    " reviewed_at TEXT,"
    " reason TEXT,"
    " risk_score REAL CHECK (risk_score BETWEEN 0 AND 1),"
    " created_at TEXT NOT NULL,"
    " last_evaluated_at TEXT);"
    "CREATE INDEX ix_workflow_variants_tenant ON workflow_variants (tenant_id, created_at);"
    "CREATE INDEX ix_workflow_variants_tenant_fitness ON workflow_variants"
    " (tenant_id, fitness_score);"
    "CREATE INDEX ix_workflow_variants_parent_variant ON workflow_variants (parent_variant_id);"
    "CREATE INDEX ix_workflow_variants_agent ON workflow_variants (agent_id);"
    "CREATE INDEX ix_workflow_variants_mutation ON workflow_variants (tool_mutation_id);"

    "CREATE TABLE capability_usage ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " capability TEXT NOT NULL,"
    " success INTEGER NOT NULL CHECK (success IN (0, 1)),"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_capability_usage_agent ON capability_usage"
    " (tenant_id, agent_id, capability, id);"

    "CREATE TABLE notifications ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT REFERENCES agents(id),"
    " type TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " message TEXT NOT NULL DEFAULT '',"
    " payload TEXT CHECK (payload IS NULL OR json_valid(payload)),"
    " read_at TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_notifications_tenant ON notifications (tenant_id, id);"
    "CREATE INDEX ix_notifications_agent ON notifications (agent_id);"

    /*
     * The durable outbox. seq is store-wide and assigned inside the write
     * transaction (see sqlite/events.c), so seq order is commit order.
     */
    "CREATE TABLE events ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " seq INTEGER NOT NULL UNIQUE,"
    " topic TEXT NOT NULL,"
    " payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_events_tenant_seq ON events (tenant_id, seq);"

    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " kind TEXT NOT NULL,"
    " payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),"
    " status TEXT NOT NULL DEFAULT 'queued'"
    "  CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),"
    " attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),"
    " idempotency_key TEXT,"
    " run_after TEXT NOT NULL,"
    " lease_until TEXT,"
    " worker TEXT,"
    " last_error TEXT,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (tenant_id, idempotency_key));"   /* NULL keys never collide */
    /* The claim: claimable jobs of a tenant in (run_after, id) order. */
    "CREATE INDEX ix_jobs_claim ON jobs (tenant_id, status, run_after, id);"
    "CREATE INDEX ix_jobs_claim_kind ON jobs (tenant_id, kind, status, run_after, id);"
    "CREATE INDEX ix_jobs_tenant ON jobs (tenant_id, id);"

    /* The LLM cost ledger. */
    "CREATE TABLE llm_calls ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " provider TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " purpose TEXT,"
    " prompt_tokens INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),"
    " completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),"
    " cost_usd REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),"
    " latency_ms INTEGER NOT NULL DEFAULT 0 CHECK (latency_ms >= 0),"
    " status TEXT NOT NULL CHECK (status IN ('ok', 'error')),"
    " error TEXT,"
    " request_id TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_llm_calls_tenant_created ON llm_calls (tenant_id, created_at);"

    "CREATE TABLE research_sessions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " repo_path TEXT NOT NULL,"
    " metric_name TEXT NOT NULL,"
    " direction TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),"
    " status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
    "  ('pending', 'running', 'paused', 'completed', 'failed', 'budget_exhausted', 'stopped')),"
    " budget TEXT CHECK (budget IS NULL OR json_valid(budget)),"
    " baseline_metric REAL,"
    " best_metric REAL,"
    " config TEXT CHECK (config IS NULL OR json_valid(config)),"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (tenant_id, name));"

    "CREATE TABLE research_iterations ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " session_id TEXT NOT NULL REFERENCES research_sessions(id),"
    " seq INTEGER NOT NULL CHECK (seq >= 0),"
    " hypothesis TEXT,"
    " diff TEXT,"
    " metric REAL,"
    " decision TEXT NOT NULL DEFAULT 'pending' CHECK (decision IN"
    "  ('pending', 'kept', 'reverted', 'rejected_by_gate', 'crashed')),"
    " gate_results TEXT CHECK (gate_results IS NULL OR json_valid(gate_results)),"
    " commit_sha TEXT,"
    " created_at TEXT NOT NULL,"
    " UNIQUE (session_id, seq));";

/*
 * Full-text search over the catalog, and the agent loop's sessions.
 *
 * skills_fts is an FTS5 index with external content: it stores no copy of
 * name and description, only the index, keyed by skills' rowid; the
 * triggers keep it in step (the 'delete' command needs the old values,
 * which the content table no longer has after the change). unicode61 folds
 * case and diacritics and splits on '_', so the name "parse_invoice" is
 * found by "invoice"; porter on top stems English words, so a task that
 * says "counting the words" finds word_count. An update touching neither
 * indexed column (the current version moving) leaves the index alone.
 * Nothing renumbers skills' rowids: a VACUUM may, for a table without an
 * INTEGER PRIMARY KEY, so one must be followed by a 'rebuild'.
 */
static const char migration_2[] =
    "CREATE VIRTUAL TABLE skills_fts USING fts5("
    " name, description, content = 'skills', content_rowid = 'rowid',"
    " tokenize = 'porter unicode61');"
    "CREATE TRIGGER skills_fts_insert AFTER INSERT ON skills BEGIN"
    " INSERT INTO skills_fts (rowid, name, description)"
    "  VALUES (new.rowid, new.name, new.description);"
    " END;"
    "CREATE TRIGGER skills_fts_delete AFTER DELETE ON skills BEGIN"
    " INSERT INTO skills_fts (skills_fts, rowid, name, description)"
    "  VALUES ('delete', old.rowid, old.name, old.description);"
    " END;"
    "CREATE TRIGGER skills_fts_update AFTER UPDATE OF name, description ON skills BEGIN"
    " INSERT INTO skills_fts (skills_fts, rowid, name, description)"
    "  VALUES ('delete', old.rowid, old.name, old.description);"
    " INSERT INTO skills_fts (rowid, name, description)"
    "  VALUES (new.rowid, new.name, new.description);"
    " END;"
    /* Skills written at version 1 join the index. */
    "INSERT INTO skills_fts (skills_fts) VALUES ('rebuild');"

    /* A tenant's executions newest first (the version's are ix_skill_executions_version). */
    "CREATE INDEX ix_skill_executions_tenant ON skill_executions (tenant_id, id);"
    /* A skill's versions oldest first; without it the tenant's index wins and sorts. */
    "CREATE INDEX ix_skill_versions_skill ON skill_versions (tenant_id, skill_id, id);"

    /*
     * One row per agent-loop run, rewritten after every turn so that a
     * stopped or crashed run can resume. transcript is the message array.
     */
    "CREATE TABLE agent_sessions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " task TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'stopped')),"
    " transcript TEXT NOT NULL CHECK (json_valid(transcript)),"
    " state TEXT NOT NULL CHECK (json_valid(state)),"
    " episode_id TEXT REFERENCES episodes(id),"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX ix_agent_sessions_tenant ON agent_sessions (tenant_id, id);"
    "CREATE INDEX ix_agent_sessions_agent ON agent_sessions (tenant_id, agent_id, id);";

/*
 * The error type of each episode, and reflection's failure patterns.
 *
 * episodes.error_type is what ad_text_error_type() finds in error_trace,
 * stored so that reflection groups failures without reading the traces;
 * the store derives it at insert, and existing rows get it here through
 * the same C function (ad_error_type, registered for the migration only).
 * Reflection's window reads an agent's recent failures down
 * ix_episodes_agent_success (tenant_id, agent_id, success = 0, id >= a
 * floor taken from the window's start), whose entries now also carry
 * created_at and error_type: a failure of another type is judged from the
 * index entry, and only the failures reflection compares are read from the
 * table. (A covering index with the descriptions too was measured and
 * dropped: recording failures got 9% slower and reflection no faster.)
 *
 * failure_patterns belongs to the learn module. job_id has no foreign key
 * (jobs rows may be pruned); candidate_id does. The list reads a tenant's
 * patterns most recently updated first, of one agent and status or of all.
 */
static const char migration_3[] =
    "ALTER TABLE episodes ADD COLUMN error_type TEXT;"
    "UPDATE episodes SET error_type = ad_error_type(error_trace)"
    " WHERE error_trace IS NOT NULL;"
    /* The same index, its entries now carrying what reflection filters on. */
    "DROP INDEX ix_episodes_agent_success;"
    "CREATE INDEX ix_episodes_agent_success ON episodes"
    " (tenant_id, agent_id, success, id, created_at, error_type);"


    "CREATE TABLE failure_patterns ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " task TEXT NOT NULL,"
    " error_type TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'candidate', 'closed')),"
    " job_id TEXT,"
    " candidate_id TEXT REFERENCES skill_candidates(id),"
    " episode_ids TEXT NOT NULL CHECK (json_valid(episode_ids)),"
    " outcome TEXT CHECK (outcome IS NULL OR json_valid(outcome)),"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX ix_failure_patterns_agent ON failure_patterns"
    " (tenant_id, agent_id, status, updated_at, id);"
    "CREATE INDEX ix_failure_patterns_tenant ON failure_patterns (tenant_id, updated_at, id);"
    /* Reflection's lookup on every failure: an agent's open patterns of one error type. */
    "CREATE INDEX ix_failure_patterns_agent_type ON failure_patterns"
    " (tenant_id, agent_id, status, error_type, updated_at, id);"
    "CREATE INDEX ix_failure_patterns_candidate ON failure_patterns (candidate_id)"
    " WHERE candidate_id IS NOT NULL;"

    /*
     * memento.generate jobs queued before patterns were rows become open
     * patterns, so reflection sees them open and queues no second job for
     * the same failures. The one time a job payload is read for it.
     */
    "INSERT INTO failure_patterns (id, tenant_id, agent_id, task, error_type, status, job_id,"
    " episode_ids, created_at, updated_at)"
    " SELECT ad_new_id(), j.tenant_id, json_extract(j.payload, '$.agent_id'),"
    "  json_extract(j.payload, '$.task'), json_extract(j.payload, '$.error_type'), 'open',"
    "  j.id, json_extract(j.payload, '$.episode_ids'), j.created_at, j.updated_at"
    " FROM jobs j WHERE j.kind = 'memento.generate' AND j.status IN ('queued', 'running')"
    "  AND json_valid(j.payload) AND json_type(j.payload, '$.task') = 'text'"
    "  AND json_type(j.payload, '$.episode_ids') = 'array'"
    "  AND json_type(j.payload, '$.error_type') IS NOT 'integer'"
    "  AND EXISTS (SELECT 1 FROM agents a WHERE a.tenant_id = j.tenant_id"
    "   AND a.id = json_extract(j.payload, '$.agent_id'));";

/*
 * No json_valid() CHECK on the JSON columns the store writes.
 *
 * The store checks every JSON value in its public layer (type, cap) and
 * writes only the text ad_json_dumps made of it, so these CHECKs could
 * refuse nothing the store writes but by mistake: SQLite 3.40's
 * json_valid() answers 0, not an error, when its parser cannot allocate,
 * so an insert failed with AD_EINVAL "CHECK constraint failed" for lack of
 * memory (an event append on the episode record path, for one). They also
 * parsed every payload again on every insert, which is why the episode
 * tables never had them. The tables no store call wrote then (tool_mutations,
 * workflow_variants, research_*) kept theirs; migration 5 drops those of the
 * first two, which the store writes since.
 *
 * Dropping a CHECK changes no stored row, index or b-tree, so the tables
 * are not copied (events and jobs grow without bound): each CREATE TABLE
 * text in sqlite_master loses the constraint as migrations 1 to 3 wrote it,
 * the procedure SQLite's ALTER TABLE page gives for removing constraints;
 * bump_schema_version then makes every connection, this one included, read
 * the schema again. A text that does not match is left as it is.
 */
#define DROP_CHECK(table, check)                                                 \
    "UPDATE sqlite_master SET sql = replace(sql, ' CHECK (" check ")', '')"     \
    " WHERE type = 'table' AND name = '" table "';"
#define DROP_JSON_CHECK(table, col) DROP_CHECK(table, "json_valid(" col ")")
#define DROP_NULL_JSON_CHECK(table, col) \
    DROP_CHECK(table, col " IS NULL OR json_valid(" col ")")

static const char migration_4[] =
    "PRAGMA writable_schema = ON;"
    DROP_JSON_CHECK("tenants", "settings")
    DROP_NULL_JSON_CHECK("skills", "input_schema")
    DROP_NULL_JSON_CHECK("skill_executions", "input")
    DROP_NULL_JSON_CHECK("skill_executions", "output")
    DROP_NULL_JSON_CHECK("skill_candidates", "failure_pattern")
    DROP_NULL_JSON_CHECK("skill_candidates", "validation_result")
    DROP_NULL_JSON_CHECK("notifications", "payload")
    DROP_JSON_CHECK("events", "payload")
    DROP_JSON_CHECK("jobs", "payload")
    DROP_JSON_CHECK("agent_sessions", "transcript")
    DROP_JSON_CHECK("agent_sessions", "state")
    DROP_JSON_CHECK("failure_patterns", "episode_ids")
    DROP_NULL_JSON_CHECK("failure_patterns", "outcome")
    "PRAGMA writable_schema = OFF;";

/*
 * AlphaEvolver's rows, written by the store from now on (learn owns them).
 *
 * tool_mutations gains what the engine records of each mutant: the agent
 * and the job (mutant_index within it, unique per tenant and job; a
 * mutation without a job never collides, NULLs being distinct), why it ran
 * (trigger), who proposed it and how (proposer, the edit as proposed), the
 * inputs it was judged on (test_set), the decision and its reason, the
 * fitness delta, the risk assessment, the version it was promoted to and
 * when it was evaluated. workflow_variants gains the skill version a
 * variant ran and its job.
 *
 * The columns are added first, then the old json_valid() CHECKs of these
 * two tables go the way migration 4 took the others (now that the store
 * writes them, the same reasons hold); the new JSON columns never had one.
 * ALTER TABLE reads the column list's end from the parsed schema, so it
 * must run before the table's text in sqlite_master is edited.
 *
 * Indexes: a job's mutants in index order (the unique one); the review
 * queue and the decisions (tenant, review_status, created_at); the top
 * variants best first down (tenant, fitness_score DESC, created_at, id),
 * which also serves what the old (tenant, fitness_score) index did, so
 * that one goes; a version's variants and a job's.
 */
static const char migration_5[] =
    "ALTER TABLE tool_mutations ADD COLUMN agent_id TEXT REFERENCES agents(id);"
    "ALTER TABLE tool_mutations ADD COLUMN job_id TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN mutant_index INTEGER;"
    "ALTER TABLE tool_mutations ADD COLUMN trigger TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN proposer TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN edit TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN test_set TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN decision TEXT"
    " CHECK (decision IS NULL OR decision IN ('won', 'lost'));"
    "ALTER TABLE tool_mutations ADD COLUMN decision_reason TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN fitness_delta REAL;"
    "ALTER TABLE tool_mutations ADD COLUMN risk TEXT;"
    "ALTER TABLE tool_mutations ADD COLUMN promoted_version_id TEXT"
    " REFERENCES skill_versions(id);"
    "ALTER TABLE tool_mutations ADD COLUMN evaluated_at TEXT;"
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
    "CREATE INDEX ix_workflow_variants_job ON workflow_variants (tenant_id, job_id);"

    "PRAGMA writable_schema = ON;"
    DROP_NULL_JSON_CHECK("tool_mutations", "proxy_signals")
    DROP_JSON_CHECK("workflow_variants", "workflow_definition")
    DROP_NULL_JSON_CHECK("workflow_variants", "fitness_signals")
    "PRAGMA writable_schema = OFF;";

/*
 * Autoresearch's rows, written by the store from now on (research owns
 * them). Migration 6 is the server's (api_tokens, webhooks). A session
 * gains its worktree, the last kept commit, the baseline's noise floor
 * (MAD) and the state the loop resumes from; an iteration the step it
 * reached (phase) and what the steps found (detail). The json_valid()
 * CHECKs of these tables go the way of migration 4's, for its reasons.
 */
static const char migration_7[] =
    "ALTER TABLE research_sessions ADD COLUMN worktree TEXT;"
    "ALTER TABLE research_sessions ADD COLUMN best_commit TEXT;"
    "ALTER TABLE research_sessions ADD COLUMN noise REAL;"
    "ALTER TABLE research_sessions ADD COLUMN state TEXT;"
    "ALTER TABLE research_iterations ADD COLUMN phase TEXT;"
    "ALTER TABLE research_iterations ADD COLUMN detail TEXT;"
    "CREATE INDEX ix_research_sessions_tenant ON research_sessions (tenant_id, created_at);"
    "PRAGMA writable_schema = ON;"
    DROP_NULL_JSON_CHECK("research_sessions", "budget")
    DROP_NULL_JSON_CHECK("research_sessions", "config")
    DROP_NULL_JSON_CHECK("research_iterations", "gate_results")
    "PRAGMA writable_schema = OFF;";

/*
 * Outgoing webhooks and incoming signed signals (module hooks owns them).
 * No secret is stored anywhere here: signing secrets are derived from a
 * key file and the generation counters below (hooks.h). A delivery keeps
 * its webhook's id without a reference, so removing a webhook keeps the
 * record of what was sent to it.
 */
static const char migration_8[] =
    "CREATE TABLE webhooks ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " url TEXT NOT NULL,"
    " topics TEXT NOT NULL,"
    " active INTEGER NOT NULL DEFAULT 1,"
    " secret_generation INTEGER NOT NULL DEFAULT 1,"
    " description TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX ix_webhooks_tenant ON webhooks (tenant_id, active, id);"
    "CREATE TABLE webhook_deliveries ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " webhook_id TEXT NOT NULL,"
    " event_id TEXT NOT NULL,"
    " topic TEXT NOT NULL,"
    " payload TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_status_code INTEGER,"
    " last_error TEXT,"
    " next_attempt_at TEXT,"
    " created_at TEXT NOT NULL,"
    " delivered_at TEXT);"
    "CREATE INDEX ix_webhook_deliveries_status ON webhook_deliveries (tenant_id, status, id);"
    "CREATE INDEX ix_webhook_deliveries_webhook ON webhook_deliveries (tenant_id, webhook_id, id);"
    "CREATE TABLE signal_receipts ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " signature_hash TEXT NOT NULL,"
    " received_at TEXT NOT NULL,"
    " UNIQUE (tenant_id, signature_hash));"
    "CREATE INDEX ix_signal_receipts_received ON signal_receipts (received_at);"
    "CREATE TABLE signal_keys ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL UNIQUE REFERENCES tenants(id),"
    " generation INTEGER NOT NULL,"
    " created_at TEXT NOT NULL);";

/*
 * Evolution research runs (module learn owns them): the run, its archive
 * of programs and its trace. A program's (run, generation, slot) and a
 * trace line's (run, seq) are unique, so a generation run twice after a
 * crash cannot write a proposal or a line twice.
 */
static const char migration_9[] =
    "CREATE TABLE evolve_runs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT,"
    " skill_id TEXT NOT NULL,"
    " skill_version_id TEXT NOT NULL,"
    " params TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " generation INTEGER NOT NULL DEFAULT 0,"
    " prng TEXT NOT NULL,"
    " evaluations INTEGER NOT NULL DEFAULT 0,"
    " tokens INTEGER NOT NULL DEFAULT 0,"
    " usd REAL NOT NULL DEFAULT 0,"
    " best_program_id TEXT,"
    " reason TEXT,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX ix_evolve_runs_tenant ON evolve_runs (tenant_id, created_at);"
    "CREATE TABLE evolve_programs ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " run_id TEXT NOT NULL REFERENCES evolve_runs(id),"
    " island INTEGER NOT NULL,"
    " cell TEXT,"
    " code TEXT NOT NULL,"
    " code_hash TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " features TEXT,"
    " fitness REAL,"
    " signals TEXT,"
    " parent_id TEXT,"
    " generation INTEGER NOT NULL,"
    " slot INTEGER NOT NULL,"
    " children INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL,"
    " stage INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (run_id, generation, slot));"
    "CREATE INDEX ix_evolve_programs_run ON evolve_programs (tenant_id, run_id, generation, slot);"
    "CREATE TABLE evolve_trace ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " run_id TEXT NOT NULL REFERENCES evolve_runs(id),"
    " seq INTEGER NOT NULL,"
    " generation INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " UNIQUE (run_id, seq));";

/*
 * The schema cookie, one up: a connection reads the schema again when it
 * sees the cookie change (this one at its next statement), which an edit of
 * sqlite_master alone does not do.
 */
static int bump_schema_version(sqlite3 *db)
{
    char sql[64];
    sqlite3_stmt *q = NULL;
    int version = 0, rc;

    rc = sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &q, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        version = sqlite3_column_int(q, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_OK)
        return rc;
    snprintf(sql, sizeof(sql), "PRAGMA schema_version = %d", version + 1);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* The agent loop's tool permissions: an agent's allow-list (NULL: by its maturity). */
static const char migration_11[] =
    "ALTER TABLE agents ADD COLUMN tool_policy TEXT;";

/*
 * A workspace's own fitness terms (module learn owns them): Python source
 * the sandbox runs over a variant's signals, weighted beside the built-in
 * score (fitness.h). code_sha is the SHA-256 of code.
 */
static const char migration_12[] =
    "CREATE TABLE fitness_terms ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " name TEXT NOT NULL,"
    " code TEXT NOT NULL,"
    " code_sha TEXT NOT NULL,"
    " weight REAL NOT NULL CHECK (weight > 0),"
    " enabled INTEGER NOT NULL DEFAULT 1,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL,"
    " UNIQUE (tenant_id, name));";

const struct ad__sqlite_migration ad__sqlite_migrations[] = {
    { 1, migration_1, NULL },
    { 2, migration_2, NULL },
    { 3, migration_3, NULL },
    { 4, migration_4, bump_schema_version },
    { 5, migration_5, bump_schema_version },
    { 7, migration_7, bump_schema_version },
    { 8, migration_8, NULL },
    { 9, migration_9, NULL },
    { 11, migration_11, bump_schema_version },
    { 12, migration_12, NULL },
};

const size_t ad__sqlite_nmigrations = AD_ARRAY_SIZE(ad__sqlite_migrations);

/* ad_error_type(trace): the type ad_text_error_type() finds, or NULL. */
static void error_type_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char type[AD_ERROR_TYPE_MAX + 1];
    const char *trace = (const char *)sqlite3_value_text(argv[0]);

    (void)argc;
    if (trace && ad_text_error_type(trace, type))
        sqlite3_result_text(ctx, type, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

/* ad_new_id(): a new UUIDv7, as the store makes ids (an error without random bytes). */
static void new_id_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char id[AD_ID_SIZE];

    (void)argc;
    (void)argv;
    if (ad_id_new(id) == 0)
        sqlite3_result_text(ctx, id, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_error(ctx, "no random bytes for a new id", -1);
}

int ad__sqlite_schema_functions(sqlite3 *db)
{
    int rc = sqlite3_create_function(db, "ad_error_type", 1,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     error_type_fn, NULL, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "ad_new_id", 0, SQLITE_UTF8, NULL, new_id_fn, NULL,
                                     NULL);
    return rc;
}
