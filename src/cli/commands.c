/*
 * The table of commands: the one source of the dispatch, of every --help
 * text and of the man page (autodev help --man, committed as
 * docs/autodev.1 and checked against it by tests/cli/t0000-help.sh).
 *
 * Sections: the global options; the command table; text help; man page;
 * cmd_help.
 */
#include "compat.h"

#include "autodev/synth.h"

#include "cli.h"
#include "cli_version.h"

/* ---- global options --------------------------------------------------- */

static const struct ad_cmd_opt global_opts[] = {
    { "--home DIR",
      "The data directory holding autodev.db (default $AUTODEV_HOME,\n"
      "else ~/.local/share/autodev). On the command line it outranks $AUTODEV_DB." },
    { "--tenant NAME", "The tenant to work in (default $AUTODEV_TENANT, else \"default\")." },
    { "--json", "Machine output: one JSON document, or JSON lines for streams." },
    { "--log-level LEVEL", "error, warn, info or debug (default $AUTODEV_LOG, else warn)." },
    { "--help, -h", "Print the help of the command and exit." },
    { "--version", "Print the version and exit." },
    { NULL, NULL },
};

static const char general_description[] =
    "autodev makes AI agents improve themselves safely. It records what agents do\n"
    "(episodes: tasks tried, succeeded, failed) in an embedded database, emits\n"
    "events on a durable bus and runs background jobs. Every command works\n"
    "directly on the store, so everything is scriptable without a server.\n"
    "\n"
    "Global options may stand before the command or among its own options.";

static const char exit_status_text[] =
    "0 on success, 1 on a runtime failure (a locked, corrupt or missing\n"
    "database, an I/O error), 2 on a usage error or invalid input (a bad option,\n"
    "malformed JSON, a missing or wrong field, an unknown agent). Every error is\n"
    "one line on standard error that starts with \"autodev: \".";

static const struct ad_cmd_opt environment[] = {
    { "AUTODEV_HOME", "The data directory, when --home is not given." },
    { "AUTODEV_DB", "The database file, instead of autodev.db in the data directory." },
    { "AUTODEV_TENANT", "The tenant, when --tenant is not given." },
    { "AUTODEV_LOG", "The log level, when --log-level is not given." },
    { "AUTODEV_BUSY_TIMEOUT_MS",
      "How long, in milliseconds, a command waits in all for a database another\n"
      "process is writing before it fails (default 60000). Writers wait their\n"
      "turn, so tens of them at once all get through." },
    { "AUTODEV_PG_DATA_VERSION",
      "off: on PostgreSQL, no listener connection and no page or settings cache\n"
      "(for a pooler in transaction mode, where LISTEN does not work)." },
    { "TMPDIR", "Where autodev demo makes its throw-away home." },
    { "AUTODEV_SIGNING_KEY_FILE",
      "The key file webhook and signal secrets are derived from (default\n"
      "signing.key beside the database). Every process on a database must share it." },
    { "AUTODEV_SANDBOX",
      "auto, linux or process: the sandbox backend of skill and task runs (default auto)." },
    { "AUTODEV_SANDBOX_UID_BASE",
      "The first of the 1024 host uids sandbox payloads run as when autodev runs\n"
      "as root (default 880000). Each sandbox supervisor claims a free one." },
    { "AUTODEV_LLM",
      "The provider chain for model calls, PROVIDER:MODEL[,PROVIDER:MODEL...]:\n"
      "openai, anthropic, exec:COMMAND or offline." },
    { "OPENAI_API_KEY, OPENAI_BASE_URL",
      "Key and base URL (default https://api.openai.com/v1) of the openai provider." },
    { "ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL",
      "Key and base URL (default https://api.anthropic.com) of the anthropic provider." },
    { "AUTODEV_LLM_PRICES",
      "A JSON price table, {\"MODEL\" or \"PROVIDER:MODEL*\": {\"input\": USD,\n"
      "\"output\": USD}} per million tokens, replacing the built-in one." },
    { "AUTODEV_SANDBOX_TMP",
      "Where the process backend makes its scratch directories (default /tmp)." },
    { NULL, NULL },
};

/* ---- the command table ------------------------------------------------ */

static const struct ad_cmd_form init_forms[] = {
    { "init", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_form agent_forms[] = {
    { "agent add NAME [--maturity LEVEL]",
      "Register an agent. A name is 1 to 128 letters, digits, '_', '.' or '-',\n"
      "starting with a letter or digit." },
    { "agent list [--limit N]",
      "List the tenant's agents by name, with maturity and episode counters." },
    { "agent show NAME", "Show one agent." },
    { "agent set-maturity NAME LEVEL",
      "Change an agent's maturity level by hand. The change is an agent.maturity\n"
      "event; a capability it unlocks gets an auto_dev_capability_unlocked\n"
      "notification (see autodev notifications)." },
    { "agent readiness NAME",
      "How ready the agent is for the next maturity level: the readiness score\n"
      "and, for each criterion, its value, target, whether it is met, its score,\n"
      "weight and what is missing." },
    { "agent graduate NAME",
      "Promote the agent one level when every criterion of the next level holds,\n"
      "recording the readiness in the agent.maturity event, and notify the\n"
      "capabilities it unlocks. Exits 1, naming each gap, when it is not ready." },
    { "agent run NAME \"TASK\" [--max-turns N] [--cost-limit USD] [--model M]"
      " [--timeout S] [--tool-timeout S] [--tool-failures N] [--context-window T]"
      " [--compact-every N] [--no-self-check] [--expect TEXT]",
      "Run the model-tool-model loop for the agent: the model ($AUTODEV_LLM) gets\n"
      "the task and the catalog's current skills as tools (plus record_outcome),\n"
      "each tool call runs its skill in the sandbox, and the loop goes on until a\n"
      "final answer, a record_outcome call, the turn limit, the cost limit, the\n"
      "run's deadline (--timeout), a tool that failed N times in a row, or a model\n"
      "error. Progress is printed as it happens (with --json: one JSON object per\n"
      "line) and emitted on the bus as agent.progress; the run becomes an episode.\n"
      "Tool results reach the model fenced and labelled as tool output; text in\n"
      "them that reads like instructions is flagged in the transcript (\"screen\")\n"
      "and never acted on. When the context holds 80% of the model's window, the\n"
      "oldest turns become a digest (the model's summary, else clipped), keeping\n"
      "the task, the last 2 turns and every tool result a later turn cites.\n"
      "With fast: and strong: tiers in $AUTODEV_LLM, 2 failed tool calls or a turn\n"
      "with neither a tool call nor an answer send the next turn to the strong\n"
      "tier (the ledger's purpose: agent.fast, agent.strong). Done means checked:\n"
      "an answer gets one self-check call (purpose agent.self_check) comparing it\n"
      "with the task (and --expect TEXT); the episode records the confidence\n"
      "stated, and a failed check gets one more turn. --no-self-check (or\n"
      "AUTODEV_AGENT_SELF_CHECK=off) skips it; without a model (an offline-only\n"
      "chain) there is no self-check.\n"
      "Exits 0 when the run succeeded, 1 when it failed or stopped." },
    { "agent run NAME --resume SESSION [--max-turns N] [--cost-limit USD] [--timeout S]",
      "Continue a session from its transcript: one whose process died (tool calls\n"
      "cut off are run again) or one a limit or the deadline stopped (new limits\n"
      "may be given; the episode then records that a human intervened)." },
    { "agent replay SESSION [--tool-timeout S]",
      "Run the session's tool calls again against the catalog's current skill\n"
      "versions, in the sandbox, and show which results changed: the regression\n"
      "check before a promoted version meets real traffic. Nothing is recorded.\n"
      "record_outcome, the runtime's tools and calls without a result are\n"
      "skipped. Exits 1 when an output changed (with --json: 0, the object says).\n"
      "Resuming a session last written over 24 hours ago warns to replay it." },
    { "agent tools NAME [--allow TOOL,... | --deny | --reset]",
      "Which tools the agent loop lets the agent call. Without an option, show\n"
      "it. --allow sets an allow-list (skills and runtime tools by name), --deny\n"
      "allows none, --reset goes back to the default by maturity: STUDENT none,\n"
      "INTERN read-only skills (code that names no file write, process, socket,\n"
      "HTTP, os or dynamic code) and the runtime's tools, SUPERVISED and\n"
      "AUTONOMOUS every tool. A tool outside it is not offered to the model; a\n"
      "call to it gets a PermissionDenied error result and nothing runs." },
    { "agent sessions [NAME] [--limit N]",
      "List agent sessions, newest first, with status, turns, cost and agent." },
    { "agent sessions [NAME] --show SESSION",
      "Print one session and its transcript: each message of the system, the user,\n"
      "the model (with its tool calls) and the tools, in order. With --json, the\n"
      "session object with its transcript array." },
    { NULL, NULL },
};

static const struct ad_cmd_opt agent_opts[] = {
    { "--maturity LEVEL",
      "STUDENT (the default), INTERN, SUPERVISED or AUTONOMOUS, in any case." },
    { "--limit N", "List at most N agents (or sessions), 1..10000 (default 50)." },
    { "--max-turns N", "run: model calls allowed, 1..1000 (default 10)." },
    { "--cost-limit USD", "run: stop once the run's model calls cost this much." },
    { "--model M", "run: the model to ask, instead of the provider chain's." },
    { "--timeout S",
      "run: the whole run may take S seconds, model calls, retries and tool calls\n"
      "included, 1..86400 (default 600); past it the run stops with stop reason\n"
      "deadline and can be resumed." },
    { "--tool-timeout S",
      "run, replay: wall-clock limit of each tool call, 1..86400 (default 60)." },
    { "--tool-failures N",
      "run: stop after N failed calls in a row of one tool, 1..100 (default 3)." },
    { "--context-window T",
      "run: the model's context window in tokens, 64..10000000, for every tier\n"
      "(default: an $AUTODEV_LLM entry's window=T: mark, else by model, e.g. 128000\n"
      "for gpt-4o, 200000 for claude, else 8192; an escalated turn is budgeted by\n"
      "the strong tier's); kept on resume." },
    { "--compact-every N",
      "run: also compact the oldest turns every N model turns, 1..1000." },
    { "--no-self-check",
      "run: no self-check turn. By default, before ending with an answer, the model\n"
      "checks it against the task and states a confidence (0..1), recorded in the\n"
      "episode's context; AUTODEV_AGENT_SELF_CHECK=off is the same, --self-check\n"
      "turns it back on. Kept on resume." },
    { "--expect TEXT", "run: the expected output, for the self-check to compare with." },
    { "--resume SESSION", "run: continue that session." },
    { "--show SESSION", "sessions: print that session with its transcript." },
    { "--allow TOOL,...", "tools: the tools the agent may call, by name." },
    { "--deny", "tools: the agent may call no tool." },
    { "--reset", "tools: back to the default of the agent's maturity." },
    { NULL, NULL },
};

static const struct ad_cmd_form episode_forms[] = {
    { "episode add [--file F] [--agent NAME]",
      "Record one episode, a JSON object read from standard input or F.\n"
      "Prints its id." },
    { "episode add --batch [--batch-size N] [--progress] [--file F] [--agent NAME]",
      "Record many episodes, one JSON object per line (blank lines are skipped),\n"
      "committed in transactions of N. A bad line rolls back its own transaction\n"
      "only: the ones committed before it stay, and the error names the line and\n"
      "says how many episodes were committed. Prints the number recorded." },
    { "episode list [--agent NAME] [--failed | --succeeded] [--kind K] [--limit N]"
      " [--before ID]",
      "List episodes, newest first." },
    { "episode show ID", "Show one episode with its segments." },
    { NULL, NULL },
};

static const struct ad_cmd_opt episode_opts[] = {
    { "--file F", "Read from F instead of standard input." },
    { "--agent NAME",
      "add: the agent of objects that name none; list: only this agent's episodes." },
    { "--batch", "Read JSON lines, at most 1 MiB each." },
    { "--batch-size N", "Episodes per transaction, 1..100000 (default 1000)." },
    { "--progress",
      "Report progress on standard error every 100000 lines (the default when\n"
      "standard error is a terminal)." },
    { "--failed, --succeeded", "Only failed, or only successful, episodes." },
    { "--kind K", "Only episodes of task kind K." },
    { "--limit N", "List at most N episodes, 1..10000 (default 50)." },
    { "--before ID", "Only episodes older than episode ID, to page through a long list." },
    { NULL, NULL },
};

static const char episode_description[] =
    "An episode is one task an agent tried. Its JSON object holds\n"
    "\"task_description\" (string) and \"success\" (boolean), the agent as \"agent\"\n"
    "(a name) or \"agent_id\", and optionally \"task_kind\", \"input\", \"expected\",\n"
    "\"output\" (any JSON), \"error_trace\", \"tools_attempted\" (array), \"context\"\n"
    "(object), \"intervention\" (boolean), \"constitutional_score\" (0..1),\n"
    "\"execution_seconds\" (0..31536000, a year), \"token_usage\" (an integer,\n"
    "0..1000000000), \"skill_version_id\" and \"segments\" (array of objects with\n"
    "\"kind\", \"content\" and \"metadata\"). The caps on the numbers keep every sum\n"
    "over them (an agent's record, graduation, totals) from overflowing.\n"
    "\n"
    "Unknown fields, wrong types, out-of-range numbers and values over their size\n"
    "caps are refused with a message that names the field; nothing is truncated.\n"
    "A single document may hold at most 8 MiB. Each episode emits task.success or\n"
    "task.fail on the event bus in the same transaction that stores it.";

static const struct ad_cmd_form settings_forms[] = {
    { "settings list", "Print every key with its value ('settings show' is the same)." },
    { "settings get KEY", "Print the value of one key, as 'settings set' takes it." },
    { "settings set KEY VALUE", "Validate and store one key." },
    { NULL, NULL },
};

static const char settings_description[] =
    "The workspace settings of the tenant (the auto_dev block):\n"
    "\n"
    "enabled (true or false, default false): the master switch of the learning\n"
    "loops. memento_skills (default true): write new skills for repeated\n"
    "failures, for INTERN agents and above. alpha_evolver (default true): evolve\n"
    "existing skills, for SUPERVISED and above. background_evolution (default\n"
    "false): evolve without review, for AUTONOMOUS agents. max_mutations_per_day\n"
    "(1..50, default 10) and max_skill_candidates_per_day (1..20, default 5): the\n"
    "daily limits. llm_daily_token_cap (0..1000000000, default 0) and\n"
    "llm_daily_cost_cap_cents (0..100000000, default 0): what model calls may\n"
    "spend a day since 00:00 UTC, in tokens and in US cents; 0 means no cap. A\n"
    "call once a cap is reached is refused before anything is sent.\n"
    "\n"
    "reflection_threshold (2..50, default 2): how many similar failures of an\n"
    "agent make a pattern worth a new skill. reflection_window (2..1000, default\n"
    "20) and reflection_window_hours (1..720, default 24): how many of the\n"
    "agent's recent failures are compared, and how far back.\n"
    "reflection_similarity_pct (1..100, default 50): how alike two task\n"
    "descriptions must be (word-pair Jaccard index, in percent); their error\n"
    "types must also match. memento_synthesis (default true): write a new skill\n"
    "by example first, when the failures recorded inputs and expected outputs\n"
    "(no model, no tokens; see autodev synth); the model is asked only when no\n"
    "program fits.\n"
    "\n"
    "AlphaEvolver: evolution_latency_ms (1..3600000, default 5000),\n"
    "evolution_tokens (1..1000000000, default 5000) and evolution_on_failure\n"
    "(default true): a skill run slower, costlier or failed triggers evolution.\n"
    "evolution_mutants (1..16, default 4): mutants per job. evolution_repeats\n"
    "(3..50, default 5): runs of parent and mutant per input. evolution_min_gain_pct\n"
    "(1..90, default 10) and evolution_noise_k (1..10, default 3): a winner gains\n"
    "at least that percentage and k times the noise (median absolute deviation).\n"
    "evolution_test_inputs (1..200, default 20): recorded inputs a mutant is judged\n"
    "on. evolution_background_skills (1..20, default 3) and\n"
    "evolution_background_hours (1..720, default 24): the most-used skills of each\n"
    "AUTONOMOUS agent evolved per background run, and how often it runs.\n"
    "\n"
    "Fitness: fitness_weight_performance, fitness_weight_accuracy,\n"
    "fitness_weight_cost and fitness_weight_satisfaction (0..100 each, default\n"
    "30/40/20/10, not all 0): the weights of the multi-objective score, divided by\n"
    "their sum. fitness_penalty_email_bounce_pct and\n"
    "fitness_penalty_error_signal_pct (0..100, default 20): what a delayed\n"
    "email_bounce or error_signal takes off a variant's score, in hundredths.\n"
    "\n"
    "An unknown key or a value out of range is refused and nothing is stored.";

static const struct ad_cmd_form events_forms[] = {
    { "events tail [--since SEQ] [--topic T] [--limit N] [--follow] [--interval MS]", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_opt events_opts[] = {
    { "--since SEQ", "Print every event after sequence number SEQ." },
    { "--topic T", "Only events of topic T." },
    { "--limit N",
      "Print at most N events, 1..10000 (without --since: the last N, default 20)." },
    { "--follow", "Keep printing new events until interrupted." },
    { "--interval MS", "How often --follow looks for new events, 10..60000 (default 200)." },
    { NULL, NULL },
};

static const char events_description[] =
    "Prints events from the durable outbox of the event bus, oldest first. Text\n"
    "lines are \"SEQ  TIME  TOPIC  PAYLOAD\"; with --json, one object per line with\n"
    "seq, id, topic, payload and created_at. Sequence numbers only grow, so a\n"
    "reader resumes with --since and the last number it saw. With --follow,\n"
    "SIGINT or SIGTERM ends the command with status 0.";

static const struct ad_cmd_form jobs_forms[] = {
    { "jobs list [--status S] [--kind K] [--limit N]",
      "List jobs, newest first. S is queued, running, done, failed or dead." },
    { "jobs enqueue KIND [--payload JSON] [--key K] [--delay SECONDS]",
      "Queue a job with a JSON object as payload (default {}). With an\n"
      "idempotency key K that the tenant has used before, nothing is queued and\n"
      "the existing job's id is printed. --delay holds the job back." },
    { "jobs run [--until-idle] [--kind K] [--max N] [--lease SECONDS]",
      "Run queued jobs in the foreground: one job, or with --until-idle every\n"
      "claimable job (at most N with --max). Prints each job with its outcome.\n"
      "Scheduled work that is due (background evolution) is queued first." },
    { NULL, NULL },
};

static const struct ad_cmd_opt jobs_opts[] = {
    { "--status S", "Only jobs with status S." },
    { "--kind K", "Only jobs of kind K." },
    { "--limit N", "List at most N jobs, 1..10000 (default 50)." },
    { "--payload JSON", "The job's payload, a JSON object." },
    { "--key K", "An idempotency key: a second enqueue with it does nothing." },
    { "--delay SECONDS", "Run no earlier than SECONDS from now, 0..31536000." },
    { "--until-idle", "Run jobs until none is claimable." },
    { "--max N", "With --until-idle, run at most N jobs." },
    { "--lease SECONDS", "The lease a claimed job is held for, 1..86400 (default 300)." },
    { NULL, NULL },
};

static const char jobs_description[] =
    "Jobs are the background work of autodev. A running job is held by its\n"
    "worker for a 5-minute lease, which long work renews; a job whose worker\n"
    "died is claimed again when the lease runs out, and a worker that lost its\n"
    "lease writes nothing. A failing job is retried with exponential backoff\n"
    "and dead-lettered after its kind's attempts (5 unless the kind says\n"
    "otherwise); an error certain to repeat fails the job for good at once. The\n"
    "kinds this build runs:\n"
    "\n"
    "store.check: check the integrity of the database; 5 attempts; fails for good\n"
    "when it is corrupt.\n"
    "\n"
    "memento.generate: write a skill candidate for an agent's failure pattern\n"
    "(queued by reflection, or by 'autodev candidates regenerate'): synthesis by\n"
    "example from the failures' inputs and expected outputs first (no model),\n"
    "else the model of $AUTODEV_LLM (the offline provider cannot write a new\n"
    "function, so under it synthesis is the only proposer); then validate it in\n"
    "the sandbox. 3 attempts; fails for good when the gate denies, the daily\n"
    "limit or a model cap is reached, neither synthesis nor a model can propose\n"
    "a function, or the payload is damaged. Model time-outs, network and\n"
    "database-busy errors are retried.\n"
    "\n"
    "alpha.mutate: AlphaEvolver on one skill version (queued when a run of it by\n"
    "a SUPERVISED+ agent was slow, costly or failed, by the background schedule,\n"
    "or by 'autodev skill evolve'): propose evolution_mutants mutants (the model,\n"
    "or the offline operators on EVOLVE blocks), run them and the parent side by\n"
    "side on the version's recorded inputs, keep a winner only when every output\n"
    "is identical and the gain beats the noise twice; the winner waits in\n"
    "'autodev mutations'. 3 attempts; a rerun finishes from the rows already\n"
    "written, with no second model call.\n"
    "\n"
    "alpha.background: every evolution_background_hours, queue alpha.mutate for\n"
    "the most-used skills of AUTONOMOUS agents (background_evolution on).";

static const struct ad_cmd_form serve_forms[] = {
    { "serve [--listen HOST:PORT] [--workers N] [--threads N] [--grace SECONDS]", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_opt serve_opts[] = {
    { "--listen HOST:PORT",
      "The address to listen on (default 127.0.0.1:8420; port 0 picks a free\n"
      "one). An address other than loopback is refused until an API token\n"
      "exists." },
    { "--workers N", "Job workers in the same process, 0..256 (default 2; 0: none)." },
    { "--threads N", "HTTP threads, 1..64 (default 2)." },
    { "--max-connections N",
      "Open connections at once, 1..100000 (default 256); past it a new\n"
      "connection waits, unserved, until one closes." },
    { "--timeout SECONDS",
      "Close a connection idle this long, 1..3600 (default 15): slow clients\n"
      "never hold a thread." },
    { "--max-body BYTES",
      "The largest request body, 1024..2^30 (default 8 MiB); a larger one is\n"
      "answered 413." },
    { "--max-header BYTES",
      "The memory of a connection, which caps the request line and headers,\n"
      "4096..1048576 (default 16384)." },
    { "--rate-limit N",
      "Requests a second per token, 0..1000000 (default 200; 0: no limit); past\n"
      "it 429 with Retry-After." },
    { "--burst N", "Requests a token may make at once (default twice the rate limit)." },
    { "--ping SECONDS", "An idle event stream sends a comment this often (default 15)." },
    { "--lease SECONDS", "The lease of a job a worker claims, 1..86400 (default 300)." },
    { "--grace SECONDS",
      "On SIGINT or SIGTERM, how long running requests and jobs may take to\n"
      "finish, 0..3600 (default 30); jobs still running then go back to the queue." },
    { "--poll MS", "How often an idle worker looks for jobs, 10..60000 (default 500)." },
    { "--port-file FILE", "Write the port listened on to FILE once listening." },
    { NULL, NULL },
};

static const char serve_description[] =
    "Serves the HTTP API (JSON under /v1; the routes and their roles are in\n"
    "GET /v1/openapi.json) with libmicrohttpd, and runs job workers in the same\n"
    "process: each claims the due jobs of every tenant with a lease, as 'autodev\n"
    "jobs run' does. Every route but /v1/health and /v1/openapi.json needs a\n"
    "bearer token (autodev token create); the tenant of a request is its token's.\n"
    "GET /v1/events streams the event outbox as Server-Sent Events (resume with\n"
    "Last-Event-ID); GET /metrics gives Prometheus text.\n"
    "\n"
    "Each HTTP thread and each worker opens its own handle on the store. On\n"
    "SIGINT or SIGTERM the server stops accepting, ends the event streams, lets\n"
    "requests and jobs in flight finish within the grace period, hands the jobs\n"
    "still running back to the queue, and exits 0. Progress and failed\n"
    "authentications are logged on standard error (never a token).";

static const struct ad_cmd_form mcp_forms[] = {
    { "mcp [--token TOKEN] [--max-line BYTES] [--page-size N]", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_opt mcp_opts[] = {
    { "--token TOKEN",
      "An API token (autodev token create; default $AUTODEV_TOKEN): the session\n"
      "acts for its tenant with its role. Without one, the tenant is --tenant\n"
      "(default \"default\") of the local store, with reads and work but no review." },
    { "--max-line BYTES",
      "The longest message line read, 1024..2^30 (default 4 MiB); a longer one\n"
      "is answered with a parse error and skipped." },
    { "--page-size N", "Tools in one tools/list page, 1..1000 (default 50)." },
    { NULL, NULL },
};

static const char mcp_description[] =
    "Serves the Model Context Protocol on standard input and output (JSON-RPC\n"
    "2.0, one message a line; protocol versions 2025-06-18, 2025-03-26 and\n"
    "2024-11-05), so a coding agent can record episodes, search and run skills\n"
    "and tasks, read candidates and mutations, and drive autoresearch on a git\n"
    "repository (research_setup, research_edit, research_run, research_decide,\n"
    "research_finalize, research_status). Every tool has JSON Schemas for its\n"
    "arguments and its structured result. The review actions (candidate_approve,\n"
    "candidate_reject, mutation_approve, mutation_reject) are offered only to a\n"
    "reviewer or admin token; they are marked destructive and change nothing\n"
    "without \"confirm\": true, which a client sets only after a person agreed.\n"
    "\n"
    "Standard output carries protocol messages only; logs go to standard error.\n"
    "A failed tool is a result with isError; an unknown method or tool, bad\n"
    "arguments and a malformed line are JSON-RPC errors, and the server keeps\n"
    "serving. It exits 0 at the end of input.";

static const struct ad_cmd_form worker_forms[] = {
    { "worker [--workers N] [--lease SECONDS] [--grace SECONDS] [--poll MS]", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_opt worker_opts[] = {
    { "--workers N", "Worker threads, 1..256 (default 2)." },
    { "--lease SECONDS", "The lease of a job a worker claims, 1..86400 (default 300)." },
    { "--grace SECONDS",
      "On SIGINT or SIGTERM, how long running jobs may take to finish, 0..3600\n"
      "(default 30); those still running then go back to the queue." },
    { "--poll MS", "How often an idle worker looks for jobs, 10..60000 (default 500)." },
    { NULL, NULL },
};

static const char worker_description[] =
    "Runs job workers without the HTTP server: many processes (on one\n"
    "database) may share the queue, each job claimed by one worker under a\n"
    "lease. Stops like autodev serve.";

static const struct ad_cmd_form token_forms[] = {
    { "token create --role ROLE [--name NAME]",
      "Make an API token of the tenant and print it: this is the only time it is\n"
      "shown (the store keeps its SHA-256). ROLE is admin, reviewer or agent." },
    { "token list [--all]", "List the tenant's tokens (with --all, the revoked too)." },
    { "token revoke ID|NAME", "Revoke a token: it stops working at once." },
    { NULL, NULL },
};

static const struct ad_cmd_opt token_opts[] = {
    { "--role ROLE", "admin, reviewer or agent." },
    { "--name NAME", "A name unique in the tenant (default ROLE-XXXXXXXX)." },
    { "--all", "List revoked tokens too." },
    { NULL, NULL },
};

static const char token_description[] =
    "API tokens open the HTTP API (autodev serve) to a caller, in the token's\n"
    "tenant. An agent may record episodes and run skills and tasks; a reviewer\n"
    "may approve, reject and regenerate candidates, graduate agents and roll\n"
    "skills back; an admin may do all of that and change settings and tokens.\n"
    "Every role may read.";

static const struct ad_cmd_form db_forms[] = {
    { "db status",
      "The backend, the schema version against the newest this autodev knows, and\n"
      "the rows of each table (every tenant's)." },
    { "db migrate",
      "Bring the schema to the newest version and say what was done (from which\n"
      "version to which, or that there was nothing to do)." },
    { "db copy --from URI --to URI [--verify-only] [--progress]",
      "Copy every row of every table, every tenant's, from one database into an\n"
      "empty one: SQLite to PostgreSQL, back, or SQLite to SQLite (a URI is a\n"
      "file path, sqlite:PATH or postgres://...). Ids, times, JSON values and\n"
      "the events' seq are kept; a PostgreSQL target's sequence continues above\n"
      "the copied seqs. The source is opened read-only; the target is created\n"
      "and migrated, and refused when it already holds rows. Both schemas must\n"
      "be this autodev's version. The copy is one transaction: at its end both\n"
      "sides are read back and compared per table (rows and a SHA-256 of the\n"
      "rows in one canonical form, the same on either backend), and any\n"
      "difference or error rolls it all back. Prints each table's rows,\n"
      "checksum and ok or MISMATCH; exits 1 on a mismatch. --verify-only\n"
      "compares two databases without writing. --progress reports rows per\n"
      "table on stderr (the default when stderr is a terminal). Passwords in\n"
      "URIs are printed as ***." },
    { NULL, NULL },
};

static const struct ad_cmd_opt db_opts[] = {
    { "--from URI", "db copy: the database to copy (opened read-only)." },
    { "--to URI", "db copy: the database to copy into (created, migrated; must be empty)." },
    { "--verify-only", "db copy: only compare the two databases, table by table." },
    { "--progress", "db copy: rows per table on stderr (default when it is a terminal)." },
    { NULL, NULL },
};

static const struct ad_cmd_form webhook_forms[] = {
    { "webhook add URL --topics T1,T2|* [--description D]",
      "Add a webhook: every event of those topics (or of all, *) is POSTed to URL,\n"
      "signed. Prints its id, then its signing secret." },
    { "webhook list", "List the tenant's webhooks." },
    { "webhook remove ID", "Remove a webhook; its pending deliveries fail, none is sent." },
    { "webhook secret ID [--rotate]",
      "Print the webhook's signing secret; --rotate makes a new one first (the old\n"
      "one stops at once)." },
    { "webhook deliveries [--webhook ID] [--status STATUS]",
      "List deliveries, newest first: pending, delivered, failed or dead." },
    { "webhook replay DELIVERY_ID | --all-dead [--webhook ID]",
      "Queue a failed or dead delivery again, from its first attempt (--all-dead:\n"
      "every dead one, of one webhook with --webhook)." },
    { "webhook test ID", "Send a webhook.test event to that webhook only." },
    { NULL, NULL },
};

static const struct ad_cmd_opt webhook_opts[] = {
    { "--topics LIST", "Comma-separated topics of the topic table, or * for every topic." },
    { "--description D", "A note for people (at most 500 bytes)." },
    { "--rotate", "Make a new secret (the previous one no longer verifies)." },
    { "--webhook ID", "Only the deliveries of this webhook." },
    { "--status STATUS", "pending, delivered, failed or dead." },
    { "--all-dead", "Replay every dead delivery." },
    { NULL, NULL },
};

static const char webhook_description[] =
    "A webhook receives the tenant's events as signed POSTs of the JSON\n"
    "{\"id\", \"topic\", \"created_at\", \"tenant_id\", \"data\"} with the headers\n"
    "X-Autodev-Event-Id, X-Autodev-Timestamp (unix seconds) and\n"
    "X-Autodev-Signature: sha256=HEX, HEX being HMAC-SHA256 under the webhook's\n"
    "secret of the timestamp, a dot and the body. A receiver checks it in\n"
    "constant time and refuses a timestamp more than 5 minutes off.\n"
    "\n"
    "Each event becomes one delivery per matching webhook, written with the\n"
    "event and sent by a background job (autodev serve or autodev worker): a 2xx\n"
    "answer delivers it; anything else is retried with exponential backoff and\n"
    "jitter ($AUTODEV_WEBHOOK_BACKOFF_MS, default 2000, doubling) up to\n"
    "$AUTODEV_WEBHOOK_MAX_ATTEMPTS attempts (default 8), then it is dead until\n"
    "replayed. Requests go over http or https only, follow no redirect and time\n"
    "out ($AUTODEV_WEBHOOK_CONNECT_TIMEOUT_MS, default 5000;\n"
    "$AUTODEV_WEBHOOK_TIMEOUT_MS, default 10000).\n"
    "\n"
    "Secrets are never stored: they are derived from the signing key file\n"
    "($AUTODEV_SIGNING_KEY_FILE, else signing.key beside the database, made\n"
    "with mode 0600 on first use), which every process sharing the database\n"
    "must share.";

static const struct ad_cmd_form signals_forms[] = {
    { "signals secret [--rotate]",
      "Print the tenant's secret for signed fitness signals (POST\n"
      "/v1/fitness/VARIANT/signals); --rotate makes a new one first." },
    { NULL, NULL },
};

static const struct ad_cmd_opt signals_opts[] = {
    { "--rotate", "Make a new secret (the previous one no longer verifies)." },
    { NULL, NULL },
};

static const char signals_description[] =
    "Delayed fitness signals reach autodev serve as POST\n"
    "/v1/fitness/VARIANT_ID/signals without an API token: the sender names the\n"
    "tenant in X-Autodev-Tenant and signs the body like a webhook\n"
    "(X-Autodev-Timestamp, X-Autodev-Signature: sha256=HEX) with this secret.\n"
    "A bad or missing signature, a timestamp more than 5 minutes off or a\n"
    "signature seen before is refused with 401 and changes nothing.";

static const struct ad_cmd_form demo_forms[] = {
    { "demo [--keep]", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_opt demo_opts[] = {
    { "--keep", "Keep the throw-away home and print its path." },
    { NULL, NULL },
};

static const char demo_description[] =
    "Shows autodev at work on embedded defaults. Makes a throw-away home (under\n"
    "$TMPDIR, else /tmp) unless --home is given, registers the agent demo-agent\n"
    "(INTERN), records 36 episodes (successes, and repeated failures of the same\n"
    "kinds of task with Python error traces), runs six tasks in the sandbox,\n"
    "queues and runs a store.check job, and runs the Memento loop: the INTERN\n"
    "agent demo-intern fails \"Extract the invoice id from this e-mail\" twice,\n"
    "reflection queues a memento.generate job, the skill is synthesized by\n"
    "example (no model needed; with memento_synthesis off, $AUTODEV_LLM writes\n"
    "it), validated in the sandbox and approved, and the task then succeeds on\n"
    "an e-mail neither failure had. Then the autoresearch loop, with no model: a\n"
    "bundled objective.py (a line fitted to four points, its slope and offset in\n"
    "an EVOLVE block) is git-initialised in the home and the offline mutator\n"
    "lowers its loss over 10 iterations; each kept commit is printed with the\n"
    "loss before and after. It prints what the store holds: agents with\n"
    "their counters, episodes by outcome and task kind, the most recent\n"
    "failures, events by topic, jobs by status and the settings. The throw-away\n"
    "home is removed at the end unless --keep is given.";

static const struct ad_cmd_form llm_forms[] = {
    { "llm test [--provider SPEC] [--prompt TEXT] [--stream] [--timeout S]",
      "One round trip through the provider chain: print the provider that\n"
      "answered, the model, latency, attempts, tokens, cost and the reply." },
    { "llm usage [--since DATE]",
      "The cost ledger summed by provider, model and purpose, costliest first." },
    { NULL, NULL },
};

static const struct ad_cmd_opt llm_opts[] = {
    { "--provider SPEC",
      "The chain to use instead of $AUTODEV_LLM: PROVIDER:MODEL[,PROVIDER:MODEL...]." },
    { "--prompt TEXT", "What to send (default: ask for the word pong)." },
    { "--stream", "Stream the reply, printing it to standard error as it arrives." },
    { "--timeout S",
      "test: the whole call may take S seconds, every retry and fallback included,\n"
      "1..3600 (default 60); past it the call fails." },
    { "--since DATE", "Only calls made at or after DATE (YYYY-MM-DD, UTC, or ISO-8601)." },
    { NULL, NULL },
};

static const char llm_description[] =
    "Providers: openai (Chat Completions; OPENAI_BASE_URL also reaches Ollama,\n"
    "llama.cpp's server and vLLM), anthropic (Messages API), exec:COMMAND (the\n"
    "prompt on the command's standard input, the reply from its standard\n"
    "output; exec takes the rest of the spec, so it comes last) and offline\n"
    "(mutants from 'autodev propose' for code-proposal prompts; no network).\n"
    "\n"
    "Each provider is retried on connection errors, timeouts, 408, 409, 429 and\n"
    "5xx with jittered exponential backoff (0.5 s doubling, at most 8 s) or the\n"
    "server's retry-after, three attempts in all; quota and spend-limit errors\n"
    "are never retried. Then the next provider of the chain is tried. Every\n"
    "attempt becomes a row of the ledger with its tokens, cost, latency and\n"
    "status. A call is refused before it is sent once the tenant's daily caps\n"
    "(settings llm_daily_token_cap and llm_daily_cost_cap_cents) are reached.\n"
    "Token counts a server reports are clamped to 0..1000000000 a call and a\n"
    "retry-after outside 0..60 s is disregarded; the ledger row says so.\n"
    "\n"
    "API keys are read from the environment only and never printed or stored:\n"
    "wherever a model or server echoes one (the reply, tool calls, errors, the\n"
    "stream), in any letter case, it reads [secret]. An exec command runs\n"
    "without the environment's credentials (variables whose names hold KEY,\n"
    "TOKEN, SECRET, PASSWORD, PASSWD or CREDENTIAL, or whose value is a key);\n"
    "AUTODEV_EXEC_ENV_ALLOW=NAME[,NAME...] passes the ones it needs.";

static const struct ad_cmd_form edit_forms[] = {
    { "edit apply --repo DIR [--file PATH] [--reply FILE] [--dry-run]",
      "Read a model's reply (standard input, or FILE) and apply its edits to the\n"
      "files under DIR: SEARCH/REPLACE blocks, unified diff hunks and fenced\n"
      "whole files. All or nothing: when one block fails, no file is written and\n"
      "the report says why, with the nearest lines of the file for a retry." },
    { NULL, NULL },
};

static const struct ad_cmd_opt edit_opts[] = {
    { "--repo DIR", "The directory the reply's paths are relative to." },
    { "--file PATH", "The file for blocks that name none." },
    { "--reply FILE", "Read the reply from FILE instead of standard input." },
    { "--dry-run", "Report what would change and write nothing." },
    { NULL, NULL },
};

static const char edit_description[] =
    "A block is matched exactly first, then with a uniform indentation offset,\n"
    "then ignoring blank lines, then with \"...\" lines standing for elided\n"
    "text. A search that matches in more than one place is refused, never\n"
    "applied to the first. Paths outside DIR (absolute, with \"..\", or through a\n"
    "symbolic link) are refused. Exit status 2 when a block does not apply (the\n"
    "reply is invalid input for these files), 1 when a file cannot be written.";

static const struct ad_cmd_form propose_forms[] = {
    { "propose mutate FILE [--seed N] [--count K] [--ops LIST]",
      "Print K mutants of the Python file FILE, each as the SEARCH/REPLACE edit\n"
      "a model would write, so 'autodev edit apply' applies it." },
    { NULL, NULL },
};

static const struct ad_cmd_opt propose_opts[] = {
    { "--seed N", "The seed; the same seed and file give the same mutants (default 0)." },
    { "--count K", "How many mutants, 1..1000 (default 5)." },
    { "--ops LIST", "Comma-separated operators: number, compare, arith, bool, delete,\n"
                    "duplicate, swap (default all)." },
    { NULL, NULL },
};

static const char propose_description[] =
    "Mutations happen only between '# EVOLVE-BLOCK-START' and '# EVOLVE-BLOCK-END'\n"
    "comment lines, or anywhere when the file has none, and never inside strings\n"
    "or comments: numeric literals perturbed, comparison and arithmetic\n"
    "operators swapped, True/False and and/or flipped, statements deleted,\n"
    "duplicated or swapped with their neighbour.";

static const struct ad_cmd_form synth_forms[] = {
    { "synth --examples FILE [--probes FILE] [--refuse-ties] [--name N] [--description TEXT] "
      "[--quiet] [--python CMD | --no-check]", NULL },
    { NULL, NULL },
};

static const struct ad_cmd_opt synth_opts[] = {
    { "--examples FILE",
      "The examples, JSON lines ('-' for standard input): one\n"
      "{\"input\": ANY, \"output\": ANY} a line, blank lines skipped, at most 200\n"
      "examples and 16 MiB." },
    { "--name N", "The function's name, a Python identifier (default transform)." },
    { "--description TEXT", "The first line of its docstring (default: one is written)." },
    { "--quiet", "Print only the code: no summary line on standard error." },
    { "--python CMD",
      "The Python that re-checks the module before it is printed, as words\n"
      "separated by spaces (default /usr/bin/python3 -I -S)." },
    { "--no-check", "Print the module without running it in Python first." },
    { "--probes FILE",
      "Inputs with no known output, JSON lines (one input a line): where to look\n"
      "for other programs that fit the examples as well but answer otherwise\n"
      "(default: the examples' inputs perturbed)." },
    { "--refuse-ties",
      "Print no program (exit 1) when the examples cannot decide: it raises on\n"
      "a probe where another as simple answers, or one as simple answers\n"
      "otherwise there." },
    { NULL, NULL },
};

/* The budget synth --help states, in words: keep the two in step. */
_Static_assert(AD_SYNTH_MAX_CANDIDATES == 200000L && AD_SYNTH_MAX_SCAN == (size_t)256 << 20 &&
                   AD_SYNTH_MAX_CHECKS == 4 && AD_SYNTH_PYTHON_MS == 20000,
               "synth --help states the budget of synth.h");

static const char synth_description[] =
    "Write a Python function from examples of what it should do, offline, with\n"
    "no model, in milliseconds. The synthesizer searches a small language of\n"
    "transformations for the simplest program that turns every example's input\n"
    "into its output: the k-th match of a pattern in a text field (a token\n"
    "class, a pattern generalised from the outputs' own shape such as INV-\\d+,\n"
    "or the value after a label the inputs share), with a case change or trim,\n"
    "several parts joined by constant separators, or every match as a list; a\n"
    "path into JSON input with a default; arithmetic on one or two numeric\n"
    "fields, with rounding; sum, count, mean, min or max over a list; a list\n"
    "filtered by a field's value; true or false from a comparison. A constant\n"
    "is used only when two or more examples agree on it, never memorised from\n"
    "one.\n"
    "\n"
    "The program found is printed as a Python module with a type-hinted\n"
    "function and a docstring, alone on standard output, so 'autodev synth\n"
    "--examples ex.jsonl > f.py' writes a file that runs; a line on standard\n"
    "error names the function, the examples, the time and the program in\n"
    "words. The function takes keyword arguments when every input is an object\n"
    "whose keys are Python names, else one argument (text, or data). Its\n"
    "patterns mean the same to Python's re as to the PCRE2 that checked them.\n"
    "\n"
    "Before it is printed the module is run by the real Python (--python) on\n"
    "every example: a program whose Python disagrees with the evaluation that\n"
    "chose it is dropped and the next one is tried, at most 4 times; a Python\n"
    "that cannot be run, or takes over 20 s, is an error (--no-check skips\n"
    "this). The search is bounded by work, not time, so the same examples give\n"
    "the same answer anywhere: at most 200000 candidate programs tried and 256\n"
    "MiB scanned (each run of a pattern or a case change over a string counts\n"
    "its length). Past either it stops and says budget reached (exit 1).\n"
    "With --json: one object with found (true), entry, code, summary, examples,\n"
    "considered (candidate programs tried), scanned (bytes), checks (Python\n"
    "runs), ms and ambiguity.\n"
    "\n"
    "Ambiguity: the search runs again for programs nearly as simple that fit\n"
    "every example too, and tries them on the --probes inputs (without them, on\n"
    "the examples' inputs with a word dropped, digits changed or a field taken\n"
    "from another example). When one gives another value, two lines on\n"
    "standard error say so: the other program and a distinguishing input with\n"
    "what each answers; with --json, ambiguity is {program, input, answer,\n"
    "alternatives, answers, cost_gap, from} (else null). A program that raises\n"
    "on a probe loses to one as simple that does not.\n"
    "\n"
    "When no program fits every example the command says why: two examples with\n"
    "equal inputs and different outputs, or the closest guess and the first\n"
    "example it gets wrong (with --json: found false and why). More examples,\n"
    "or ones that vary more, help it tell programs apart. No home or database\n"
    "is needed.\n"
    "\n"
    "Exit status 0 when a program was found, 1 when none fits (or none within\n"
    "the budget, or the Python re-check could not run), 2 for invalid input (an\n"
    "unreadable file, a line that is not an example, which the error names by\n"
    "number, no examples or too many, a bad --name).";

static const struct ad_cmd_form sandbox_forms[] = {
    { "sandbox check [--backend B]",
      "Say what isolation the backend B (default: the one auto settles on) gives\n"
      "on this machine and why not more: the runtime, user namespaces, the\n"
      "payload's uid, seccomp, cgroups and a trial run of the linux backend;\n"
      "then what it contains and what it does not (\"guarantees\" and \"gaps\"\n"
      "with --json). Exits 1 when B cannot run here." },
    { "sandbox run --code FILE --entry NAME [--input JSON | --input-file F] [limits]",
      "Run the function NAME of the Python file FILE in the sandbox with the\n"
      "input (default null) and print the result as one JSON object. The exit\n"
      "status is 0 whenever the sandbox worked, whatever the skill did; read\n"
      "the status field." },
    { NULL, NULL },
};

static const struct ad_cmd_opt sandbox_opts[] = {
    { "--code FILE", "The skill's Python source ('-' for standard input)." },
    { "--entry NAME", "The function to call." },
    { "--input JSON", "The input as JSON text. An object whose keys fit the function's\n"
                      "parameters is passed as keyword arguments, anything else as the\n"
                      "one argument." },
    { "--input-file F", "Read the input from F." },
    { "--timeout S", "Wall-clock limit in seconds, 1..86400 (default 60)." },
    { "--cpu S", "CPU limit in seconds (default: the wall-clock limit)." },
    { "--memory MB", "Memory limit in MiB, 16..65536 (default 256)." },
    { "--pids N", "Process and thread limit, 1..4096 (default 64)." },
    { "--output BYTES", "Limit on stdout + stderr + result together (default 1048576)." },
    { "--tmpfs MB", "Size of the writable /tmp in MiB (default 64)." },
    { "--backend B", "auto (the default), linux, process or exec:COMMAND (a command speaking\n"
      "the sandbox contract in JSON; README \"Sandbox backends\")." },
    { NULL, NULL },
};

static const char sandbox_description[] =
    "Every skill autodev writes or mutates is untrusted code and runs only in\n"
    "the sandbox. The linux backend gives each run new user, mount, pid, ipc,\n"
    "uts, net and cgroup namespaces, a read-only root with /usr, a private\n"
    "/tmp, no network, an unprivileged host uid (as root, the first free one\n"
    "from 880000, claimed host-wide with a lock in /run/autodev-sandbox;\n"
    "$AUTODEV_SANDBOX_UID_BASE moves the range), no capabilities, a\n"
    "seccomp denylist, cgroup memory and pids limits and rlimits. The process\n"
    "backend is a weaker fallback (rlimits, seccomp, a dedicated uid as root)\n"
    "and marks its results isolation \"degraded\"; auto picks linux when a trial\n"
    "run works and warns once when it falls back. A trial run that worked is\n"
    "remembered for this boot, kernel, user and binary in\n"
    "$AUTODEV_HOME/cache/sandbox-probe (else ~/.cache/autodev/); 'sandbox check'\n"
    "always runs it afresh.\n"
    "\n"
    "Result fields: status (ok, error, timeout, cpu_limit, oom, signal,\n"
    "output_limit, sandbox_error), exit_code, signal, wall_ms, cpu_ms,\n"
    "max_rss_kb, output, error (type, message, traceback), stdout, stderr\n"
    "(64 KiB each at most), truncated, isolation, backend, execution_id,\n"
    "load_us and call_us (the harness's own timing of loading the code and of\n"
    "the entry call, in microseconds; -1 when unknown).\n"
    "A sandbox_error result also ends the command with status 1.";

static const struct ad_cmd_form skill_forms[] = {
    { "skill add FILE --name NAME --entry FUNCTION [--description TEXT] [--schema FILE]"
      " [--version V | --major]",
      "Add a skill from the Python file FILE ('-' for standard input), or a new\n"
      "version of the skill NAME when it exists. Prints the name, version and id." },
    { "skill list [--limit N]",
      "List the tenant's skills by name, with the current version, status and\n"
      "description." },
    { "skill show NAME [--version V]",
      "Show a skill, its input schema, every version with its origin, time and\n"
      "parent (the lineage; '*' marks the current one), and the code of the\n"
      "current version, or of V." },
    { "skill run NAME [--input JSON | --input-file F] [--version V] [--agent NAME]"
      " [--timeout S]",
      "Run the skill in the sandbox and record the run. Prints the status and\n"
      "the output; a failed run prints the error and exits 1." },
    { "skill rollback NAME --to V",
      "Make version V current again. Later versions stay in the history." },
    { "skill evolve NAME [--agent NAME] [--version V]",
      "Queue an AlphaEvolver job (alpha.mutate) for the current version (or V):\n"
      "mutants are proposed and evaluated against it on its recorded inputs when\n"
      "the job runs. With --agent, that agent's gate (auto_dev.alpha_evolver,\n"
      "SUPERVISED+) must allow it and a winner may be promoted automatically when\n"
      "the agent is AUTONOMOUS with background_evolution on. One open job per\n"
      "version: a second request prints the open one." },
    { "skill search TEXT... [--limit N]",
      "Full-text search over the names and descriptions of active skills, best\n"
      "first, with the score. Stop words (the, of, please, ...) are dropped first,\n"
      "as task run does when it picks a skill." },
    { "skill export NAME DIR [--version V] [--force]",
      "Write the skill as an Agent Skills folder under DIR: NAME/SKILL.md and\n"
      "NAME/scripts/NAME.py, with '_' in the name written '-'. Prints the folder." },
    { "skill import DIR",
      "Add the skill of the Agent Skills folder DIR (or a new version of it, when\n"
      "it exists) with the version of its SKILL.md (default 1.0.0)." },
    { NULL, NULL },
};

static const struct ad_cmd_opt skill_opts[] = {
    { "--name NAME",
      "The catalog name: 1 to 64 of a-z, 0-9 and '_', starting and ending with a\n"
      "letter or digit, without '__'." },
    { "--entry FUNCTION", "The function to call, defined at the top level of the code." },
    { "--description TEXT",
      "What the skill does (default: the first line of the function's docstring)." },
    { "--schema FILE",
      "The input schema, a JSON object of type \"object\" (default: derived from\n"
      "the function's signature and type hints)." },
    { "--version V",
      "add: the new version, MAJOR.MINOR.PATCH (default 1.0.0 for a new skill,\n"
      "else the next minor version); show, run, export: the version to use\n"
      "(default the current one). Before the command, --version prints autodev's own." },
    { "--major", "add: make the new version the next major one." },
    { "--input JSON",
      "The input. An object whose keys fit the function's parameters is passed\n"
      "as keyword arguments, anything else as the one argument (default null)." },
    { "--input-file F", "Read the input from F ('-' for standard input)." },
    { "--agent NAME",
      "Run as a task of agent NAME: an episode (task kind skill.NAME) is recorded\n"
      "with the run." },
    { "--timeout S", "Wall-clock limit of the run in seconds, 1..86400 (default 60)." },
    { "--to V", "The version to make current." },
    { "--limit N", "List at most N skills, 1..10000 (default 50; search: 10)." },
    { "--force", "Replace an existing folder of the same name." },
    { NULL, NULL },
};

static const char skill_description[] =
    "Skills are versioned Python functions in the tenant's catalog. A version is\n"
    "MAJOR.MINOR.PATCH and never changes once added; a new version keeps the\n"
    "skill's entry function and records its parent (the version current when it\n"
    "was added) and its origin (manual, memento, alpha, research or import).\n"
    "Only the current version runs; a rollback changes which one that is.\n"
    "\n"
    "Every run goes through the sandbox ($AUTODEV_SANDBOX picks its backend) and\n"
    "is recorded as a skill execution with a skill.execution event, in one\n"
    "transaction; with --agent the episode and its task.success or task.fail\n"
    "event are part of it. --json prints the run as one object: skill, semver,\n"
    "status, success, output, error, execution_id, episode_id and wall_ms.\n"
    "\n"
    "An Agent Skills folder is named like the skill with '-' for '_' and holds\n"
    "SKILL.md (YAML front matter: name, description, metadata with version,\n"
    "entry, script and input-schema) and the script under scripts/. An import\n"
    "checks the name, the description (1 to 1024 characters as skills-ref counts,\n"
    "not blank) and that the folder\n"
    "is named like the skill, and adds nothing when one of them is wrong; a\n"
    "version the skill has already is refused. Any other folder the Agent Skills\n"
    "specification allows (instructions only, several scripts, references, a\n"
    "script with no function named after the skill) is kept whole: its entry\n"
    "function, named after the skill, returns the instructions (SKILL.md's body)\n"
    "and the list of scripts, and export writes the folder back byte for byte.";

static const struct ad_cmd_form task_forms[] = {
    { "task run --agent NAME --description TEXT [--skill S] [--input JSON | --input-file F]"
      " [--expect JSON] [--kind K] [--timeout S]",
      "Try one task for agent NAME with a catalog skill and record it as an\n"
      "episode. Prints the outcome, the skill used, the output, the last line of\n"
      "the error and the episode id." },
    { NULL, NULL },
};

static const struct ad_cmd_opt task_opts[] = {
    { "--agent NAME", "The agent whose task this is." },
    { "--description TEXT", "What the task is; without --skill it picks the skill." },
    { "--skill S", "Use skill S (its current version) instead of the best match." },
    { "--input JSON", "The skill's input (default null)." },
    { "--input-file F", "Read the input from F ('-' for standard input)." },
    { "--expect JSON",
      "The expected output: the task succeeds only when the output equals it\n"
      "(numbers compared by value)." },
    { "--kind K", "The episode's task kind." },
    { "--timeout S", "Wall-clock limit of the run in seconds, 1..86400 (default 60)." },
    { NULL, NULL },
};

static const char task_description[] =
    "The skill is the one named by --skill, else the active skill whose name and\n"
    "description best match the task description (full-text search), else none.\n"
    "It runs in the sandbox; the task succeeds when it ran without error and,\n"
    "with --expect, returned the expected output. The episode (input, expected,\n"
    "output, error trace, skill version, timings), the skill execution and the\n"
    "events task.success or task.fail and skill.execution are recorded in one\n"
    "transaction. When no skill matches, the task is a failed episode whose error\n"
    "trace says so.\n"
    "\n"
    "Exit status 0 when the task succeeded, 1 when it ran and failed (its episode\n"
    "is recorded either way), 2 when it could not be tried (an unknown agent or\n"
    "skill, malformed JSON): then nothing is recorded.";

static const struct ad_cmd_form completion_forms[] = {
    { "completion bash", NULL },
    { NULL, NULL },
};

static const char completion_description[] =
    "Prints a bash completion script for autodev, made from the same command\n"
    "table as this help: commands, subcommands and options complete, and file\n"
    "names where an argument is expected. Load it in the current shell with\n"
    "'source <(autodev completion bash)'; 'make install' installs it for every\n"
    "shell under share/bash-completion/completions.";

static const struct ad_cmd_form help_forms[] = {
    { "help [COMMAND]", "Print the help of COMMAND, or the list of commands." },
    { "help --man", "Print the manual page in troff (docs/autodev.1 is its output)." },
    { NULL, NULL },
};

static const struct ad_cmd_form gate_forms[] = {
    { "gate check AGENT CAPABILITY",
      "Say whether agent AGENT may use CAPABILITY now: 'allowed' or 'denied',\n"
      "then every reason it may not, then the agent's maturity, the level the\n"
      "capability needs and the daily count against its limit." },
    { NULL, NULL },
};

static const char gate_description[] =
    "The learning loops are capabilities: auto_dev.memento_skills (new skills\n"
    "from repeated failures; INTERN and above), auto_dev.alpha_evolver (evolve\n"
    "skills; SUPERVISED and above) and auto_dev.background_evolution (evolve\n"
    "without review; AUTONOMOUS). CAPABILITY is the full name or the part after\n"
    "\"auto_dev.\". A capability is allowed when the workspace setting enabled is\n"
    "true, its own setting (memento_skills, alpha_evolver, background_evolution)\n"
    "is true, the agent's maturity reaches its level, and the daily limit\n"
    "(max_skill_candidates_per_day, or max_mutations_per_day for the two\n"
    "evolvers, counted since 00:00 UTC) is not reached. Every unmet condition\n"
    "is listed, not only the first. With --json: one object with agent,\n"
    "capability, allowed, reasons, maturity, required_maturity, used_today,\n"
    "daily_limit and day_start.\n"
    "\n"
    "Exit status 0 when allowed, 1 when denied, 2 for an unknown agent or\n"
    "capability.";

static const struct ad_cmd_form candidates_forms[] = {
    { "candidates list [--status S] [--agent NAME] [--limit N]",
      "List skill candidates, newest first: id, status, review, skill name, agent\n"
      "and creation time." },
    { "candidates show ID",
      "Show a candidate: its skill name and description, status and review, the\n"
      "failure pattern it was written for (task, error type, episodes, who\n"
      "proposed it, the example inputs it was made from with their expected\n"
      "outputs, the inputs held out from it), each validation check with its\n"
      "error, the cautions for the reviewer, and the code." },
    { "candidates test ID [--input JSON | --input-file F] [--timeout S]",
      "Run the candidate's function in the sandbox on the input (default null)\n"
      "and print the status, output and error. Nothing is recorded. Exits 1 when\n"
      "the run failed." },
    { "candidates approve ID [--reviewer NAME]",
      "Promote a validated candidate into the catalog: version 1.0.0, or the next\n"
      "major version when a skill of that name exists, with origin memento.\n"
      "Prints the skill, its version and id." },
    { "candidates reject ID --reason TEXT [--reviewer NAME]",
      "Reject a candidate that is not promoted, saying why." },
    { "candidates regenerate ID",
      "Queue a new memento.generate job for the failure pattern of a failed or\n"
      "rejected candidate, with its reason added to the prompt (a candidate\n"
      "synthesized before is asked of the model this time). Prints the job id;\n"
      "'autodev jobs run' runs it." },
    { NULL, NULL },
};

static const struct ad_cmd_opt candidates_opts[] = {
    { "--status S",
      "Only candidates with status S: pending, validating, validated, failed,\n"
      "promoted or rejected. Repeat it for several." },
    { "--agent NAME", "Only the candidates written for agent NAME." },
    { "--limit N", "List at most N candidates, 1..10000 (default 50)." },
    { "--input JSON",
      "The input. An object whose keys fit the function's parameters is passed\n"
      "as keyword arguments, anything else as the one argument." },
    { "--input-file F", "Read the input from F ('-' for standard input)." },
    { "--timeout S", "Wall-clock limit of the run in seconds, 1..86400 (default 60)." },
    { "--reviewer NAME", "Who reviewed it (default the login name, else \"cli\")." },
    { "--reason TEXT", "Why the candidate is rejected (required, at most 4096 bytes)." },
    { NULL, NULL },
};

static const char candidates_description[] =
    "When an agent at INTERN or above fails similar tasks repeatedly (the\n"
    "reflection settings say how often; failures of the model, a cost cap or the\n"
    "sandbox do not count), Memento-Skills writes one Python function that would\n"
    "have solved them: by synthesis by example from the failures' inputs and\n"
    "expected outputs when a program fits (no model), else by asking the model.\n"
    "It checks the function in the sandbox on the failed episodes' inputs and on\n"
    "up to 5 other inputs of the task the agent recorded, held out from its\n"
    "making (it loads, runs, and returns the expected output where one is\n"
    "recorded; a success's output counts as expected), and leaves it as a\n"
    "candidate: validated, or failed with the reasons. A notification tells\n"
    "reviewers, with a caution when the function was made from fewer than 3\n"
    "examples or no held-out input existed. Only a validated candidate can be\n"
    "approved; approving adds it to the catalog, where the agent's next matching\n"
    "task finds it. Approving, rejecting and regenerating mark the candidate's\n"
    "notifications read.\n"
    "\n"
    "With --json, list prints one array of candidates and show one object that\n"
    "also holds generated_code, failure_pattern (with made_from and held_out)\n"
    "and validation_result (with held_out and warnings).\n"
    "\n"
    "Exit status 2 for an unknown candidate id and for a review its state\n"
    "forbids (approving one that is not validated, rejecting a promoted one).";

static const struct ad_cmd_form notifications_forms[] = {
    { "notifications [list] [--unread] [--type T] [--limit N]",
      "List notifications, newest first: id, time, new or read, type, agent and\n"
      "title, then the message indented." },
    { "notifications read ID | --all",
      "Mark one notification, or every unread one, read. Prints how many." },
    { NULL, NULL },
};

static const struct ad_cmd_opt notifications_opts[] = {
    { "--unread", "Only notifications not read yet." },
    { "--type T",
      "Only notifications of type T, such as auto_dev_capability_unlocked,\n"
      "skill_candidate_validated or skill_candidate_failed." },
    { "--limit N", "List at most N notifications, 1..10000 (default 50)." },
    { "--all", "read: mark every unread notification read." },
    { NULL, NULL },
};

static const char notifications_description[] =
    "Notifications are what the learning loops want a person to see: a\n"
    "capability an agent's new maturity unlocked (auto_dev_capability_unlocked,\n"
    "whose payload holds agent_id, capability, message and action_required; the\n"
    "message says whether this version has the loop yet), a skill candidate\n"
    "waiting for review or failed (read once the candidate is reviewed), or a\n"
    "mutation that won its evaluation (mutation_ready, read once reviewed). With\n"
    "--json, list prints one array of objects with id, type, title, message,\n"
    "agent_id, agent, payload, read, read_at and created_at.";

static const struct ad_cmd_form mutations_forms[] = {
    { "mutations list [--skill NAME] [--status S] [--review R] [--decision D] [--limit N]",
      "List AlphaEvolver's mutations, newest first: id, skill, trigger, proposer,\n"
      "operator, status, decision, gain (the fitness delta), risk level and review." },
    { "mutations show ID",
      "Show a mutation: the skill and the version it was made from, its job and\n"
      "index, trigger, proposer and operator, the decision and its reason, the\n"
      "fitness delta, the risk level with each reason, the review, every signal of\n"
      "its evaluation (parent beside mutant where both were measured), and the\n"
      "parent version's code beside the mutant's, line by line (| changed,\n"
      "< only in the parent, > only in the mutant)." },
    { "mutations approve ID [--reviewer NAME] [--reason TEXT]",
      "Promote a mutation that won and waits for review: its code becomes the\n"
      "skill's next minor version, origin alpha, parent the version it was made\n"
      "from, and the current one. Refused (exit 2) for a mutation that lost or is\n"
      "decided already, and when the skill has moved on to another version since\n"
      "the mutation was made. Prints the skill, the new version and its id." },
    { "mutations reject ID --reason TEXT [--reviewer NAME]",
      "Turn a mutation waiting for review down, saying why." },
    { NULL, NULL },
};

static const struct ad_cmd_opt mutations_opts[] = {
    { "--skill NAME", "Only the mutations of the catalog skill NAME." },
    { "--status S",
      "Only mutations whose sandbox status is S: pending, running, passed, failed,\n"
      "error or timeout." },
    { "--review R", "Only mutations whose review is R: pending, approved, rejected or\n"
      "auto_approved." },
    { "--decision D", "Only mutations that won or lost their evaluation." },
    { "--limit N", "List at most N mutations, 1..1000 (default 100)." },
    { "--reviewer NAME", "Who decides (default: the login name)." },
    { "--reason TEXT", "Why; required to reject." },
    { NULL, NULL },
};

static const char mutations_description[] =
    "AlphaEvolver improves catalog skills that run slow, costly or flaky: it\n"
    "proposes mutants of the current version, runs parent and mutants side by\n"
    "side in the sandbox on recorded inputs, and decides: a mutant wins only with\n"
    "the same outputs and a gain beyond the noise. A winner waits here for a\n"
    "reviewer (a mutation_ready notification says so), unless its agent may\n"
    "evolve without review. Approving makes a new minor version with the parent\n"
    "as its lineage (see autodev lineage); 'autodev skill rollback' goes back.\n"
    "\n"
    "With --json, list prints one array of mutations and show one object with\n"
    "the code, the edit, the test set and the parent's code (parent_code).";

static const struct ad_cmd_form lineage_forms[] = {
    { "lineage SKILL",
      "The ancestry of the skill's current version, newest first: each version's\n"
      "semver, origin, origin id and creation time, and at each version AlphaEvolver\n"
      "made the mutation's fitness delta and its variant's fitness score." },
    { "lineage MUTATION_ID",
      "The mutation and its parent mutations, newest first, then the ancestry of\n"
      "the version it was made from." },
    { NULL, NULL },
};

static const char lineage_description[] =
    "Where a skill's code came from: every version names its parent and its\n"
    "origin (manual, memento, alpha, research, import) with the row it came from\n"
    "(a candidate or a mutation). With --json, one object with the versions (and\n"
    "the mutations) as arrays.";

static const struct ad_cmd_form fitness_forms[] = {
    { "fitness signal VARIANT --json JSON | --file F",
      "Apply a delayed signal to a variant, as the webhook does, and print its\n"
      "score before and after. The signal is a JSON object of invoice_created,\n"
      "crm_conversion, conversion_success, email_bounce, error_signal (true or\n"
      "false) and conversion_value (a number >= 0); anything else is refused\n"
      "(exit 2) and nothing is written. The JSON text is the argument after\n"
      "VARIANT; --json there also prints the result as JSON." },
    { "fitness top [--agent NAME] [--limit N]",
      "The variants with a score above 0, best first (ties: the older first): rank,\n"
      "id, score, status, agent, mutation and when last evaluated." },
    { "fitness show VARIANT",
      "Show a variant: score, status, agent, mutation, version, job, its\n"
      "definition and every fitness signal (the proxy, the objectives, each\n"
      "delayed signal with its adjustment, business value, user satisfaction)." },
    { "fitness term add NAME --file F [--weight W]",
      "Register a custom fitness term: F holds Python source defining\n"
      "term(signals) that returns a number in [0, 1]. NAME is a Python identifier,\n"
      "unique in the workspace; W > 0 (default 1). The code must compile in the\n"
      "sandbox and define term, at most 16 KiB; else exit 2 and nothing stored." },
    { "fitness term list",
      "The workspace's terms: name, weight, enabled, the SHA-256 of the code and\n"
      "when it was last changed." },
    { "fitness term show NAME", "Show a term with its code." },
    { "fitness term remove NAME",
      "Remove a term. Scores already written keep its last value until the\n"
      "variant is scored again (fitness term apply)." },
    { "fitness term test NAME --signals JSON",
      "Run the term once in the sandbox over the signals JSON object and print\n"
      "its value (clamped to [0, 1]), or its error (exit 1)." },
    { "fitness term apply VARIANT",
      "Run every enabled term over the variant's signals now and write the\n"
      "blended score; print the score before and after." },
    { NULL, NULL },
};

static const struct ad_cmd_opt fitness_opts[] = {
    { "--file F", "Read the signal (signal) or the term's code (term add) from file F\n"
                  "('-': standard input)." },
    { "--agent NAME", "Only the variants of agent NAME." },
    { "--limit N", "List at most N variants, 1..1000 (default 10)." },
    { "--weight W", "The term's weight beside the built-in score's 1 (default 1, at most\n"
                    "100)." },
    { "--signals JSON", "The signals a term test runs over, a JSON object." },
    { NULL, NULL },
};

static const char fitness_description[] =
    "A variant's fitness is a score in [0, 1]. The proxy gives +0.2 for code\n"
    "that compiles, +0.3 for a run that succeeds and +0.5 once a human approves\n"
    "it; with objectives (performance, accuracy, cost, satisfaction, weighed by\n"
    "the fitness_weight_* settings) the score is half the proxy and half their\n"
    "weighted mean. Delayed signals move it afterwards: invoice_created +0.4,\n"
    "crm_conversion +0.5, conversion_value V +min(0.5, V/1000), email_bounce and\n"
    "error_signal minus fitness_penalty_email_bounce_pct and\n"
    "fitness_penalty_error_signal_pct hundredths (20 each by default), the result\n"
    "kept in [0, 1]. Each change is a variant.fitness event.\n"
    "\n"
    "Custom fitness terms are the workspace's own objectives: Python functions\n"
    "term(signals) run in the sandbox (no network, 5 s, 128 MiB, 64 KiB of\n"
    "output) over a variant's signals whenever AlphaEvolver scores it, a\n"
    "delayed signal arrives through this command, or fitness term apply runs.\n"
    "With the built-in score B and each term's value t (clamped to [0, 1]) and\n"
    "weight w, the score is (B + sum w*t) / (1 + sum w). A term that raises,\n"
    "times out or returns no finite number is left out and its error recorded\n"
    "in the variant's signals (terms.values.NAME.error). Terms only move the\n"
    "score: the review and promotion gates stay as they are.";

static const struct ad_cmd_form research_forms[] = {
    { "research run --repo DIR --file PATH... --cmd CMD --metric NAME [OPTIONS]",
      "Set up a session and run iterations until a budget is spent, one line per\n"
      "iteration (number, decision, value, hypothesis), then write the report." },
    { "research setup --repo DIR --file PATH... --cmd CMD --metric NAME [OPTIONS]",
      "Refuse a dirty tree (--allow-dirty stashes it), make a worktree on the\n"
      "branch autodev/research-ID, run the baseline --repeats times and record\n"
      "its median and noise floor (MAD). Prints the session." },
    { "research edit ID",
      "Make the next iteration's edit: the model's ($AUTODEV_LLM), else the\n"
      "offline mutator's." },
    { "research run ID", "Run the command on the pending edit and record the metric." },
    { "research decide ID", "Keep the measured edit as a commit, or reset to the last kept one." },
    { "research finalize ID", "Write report.json, report.md and results.tsv." },
    { "research status ID", "Show a session and its iterations." },
    { "research resume ID",
      "Put the worktree back on the last kept commit (after a crash or kill -9)\n"
      "and go on with the loop." },
    { "research list", "List the sessions, newest first." },
    { "research report ID", "Print report.md of a finalized session (report.json with --json)." },
    { NULL, NULL },
};

static const struct ad_cmd_opt research_opts[] = {
    { "--repo DIR", "The git repository (its tree must be clean)." },
    { "--file PATH", "A file, relative to the repository, edits may change (repeat it)." },
    { "--cmd CMD", "The command that prints the metric, run by /bin/sh -c in the worktree." },
    { "--metric NAME", "The metric: read from 'NAME: value' or 'NAME=value' lines." },
    { "--pattern RE", "A PCRE2 pattern whose group 1 is the value (its last match counts)." },
    { "--direction D", "lower (default) or higher is better." },
    { "--iterations N", "Stop after N iterations (default 10)." },
    { "--max-seconds S", "Stop after S seconds of the session's wall time (0: no limit)." },
    { "--time-budget S", "Kill a run's whole process group after S seconds (default 60)." },
    { "--repeats R", "Runs per measurement; the median counts (default 3)." },
    { "--margin X", "The gain needed over the best, in the metric's unit (default 0)." },
    { "--noise-k K", "A gain must also exceed K times the baseline's MAD (default 2)." },
    { "--check CMD", "A command that must exit 0 for an edit to be kept." },
    { "--protect GLOB", "A path no edit may touch (repeat it), besides the defaults." },
    { "--rules FILE",
      "A rules file of the repository (default .autodev/research-rules when\n"
      "present), read at setup and protected: lines 'protect NAME GLOB',\n"
      "'added NAME PCRE2', 'deleted NAME PCRE2'; '#' comments. A failing rule\n"
      "is the gate rule:NAME; a malformed file is an error naming its line." },
    { "--secondary SPEC",
      "A secondary metric, NAME[:PATTERN]:lower|higher:MARGIN (repeat it): a\n"
      "keep needs it no worse than the baseline's by MARGIN (absolute, or N%\n"
      "of the baseline's value); unreadable blocks the keep." },
    { "--memory MIB", "The sandboxed command's memory limit (default 2048)." },
    { "--pids N", "The sandboxed command's process limit (default 256)." },
    { "--allow-dirty", "Stash uncommitted changes instead of refusing the tree." },
    { "--seed N", "The offline mutator's seed (default 1)." },
    { "--token-budget N", "Stop once the model's calls used N tokens (0: no limit)." },
    { "--usd-budget X", "Stop once the model's calls cost X USD (0: no limit)." },
    { "--spark-budget N",
      "Spark units of the session (0: no limit): an iteration starts only when\n"
      "its --spark-per-iteration units (default 4) still fit." },
    { "--spark-per-iteration N", "The spark units one iteration costs (default 4)." },
    { "--name NAME", "The session's name (default research-<random>)." },
    { "--no-sandbox",
      "Run the command (and --check) on the host, in its own process group,\n"
      "not in the sandbox; the report says \"sandbox\": false." },
    { NULL, NULL },
};

static const char research_description[] =
    "Autoresearch: any git repository, any command that prints a number. Each\n"
    "iteration makes one edit of the --file targets, runs the command --repeats\n"
    "times and keeps the edit as\n"
    "a commit whose message names the metric change only when the median beats\n"
    "the best by more than --margin and by more than --noise-k times the\n"
    "baseline's MAD, and every gate passes; else the worktree goes back to the\n"
    "last kept commit. A run that times out, fails or prints no metric is a\n"
    "crashed iteration, not an error.\n"
    "\n"
    "The edit: with a model ($AUTODEV_LLM, not only offline) one hypothesis and\n"
    "one SEARCH/REPLACE edit, asked with the goal, the target files, the last\n"
    "iterations and their outcomes, the best so far, the dead ends and the rules;\n"
    "an edit that does not apply is fed back once, a second failure is a crashed\n"
    "iteration. Without one, the offline mutator over the files' EVOLVE blocks.\n"
    "Tokens and cost are on each iteration and the session. Budgets (iterations,\n"
    "--max-seconds, --token-budget, --usd-budget, --spark-budget) are checked\n"
    "between iterations, so a paid iteration is always finished; the report says\n"
    "which one stopped the loop.\n"
    "\n"
    "The gates read the diff and fail closed: only the --file targets may change;\n"
    "protected paths (tests/, test/, test_*, *_test.*, *.test.*, conftest.py,\n"
    ".gitignore, .gitattributes, .github/, every file the command names, the\n"
    "rules file, each --protect) never; no removed assertion or test, no added\n"
    "network or subprocess call, no added sleep, no metric line written as a\n"
    "constant; --check must pass. Files the command writes must be git-ignored.\n"
    "\n"
    "The command (and --check) runs in autodev's sandbox: with the linux backend\n"
    "the worktree is writable, the protected paths in it and its .git read-only,\n"
    "the host's /usr, /bin and /lib read-only, nothing else of the host there,\n"
    "no network, and the whole tree killed on timeout (SIGTERM, SIGKILL 200 ms\n"
    "later). Where that backend cannot run, the process backend runs it on the\n"
    "host without read-only protection or network isolation. --no-sandbox runs\n"
    "it on the host in a process group of its own. Either way only PATH, HOME,\n"
    "LANG, LC_ALL, TMPDIR and USER are in its environment, and the report says\n"
    "\"sandbox\": true|false and \"sandbox_backend\". Every step is written to the store before it returns:\n"
    "after kill -9, 'research resume ID' goes on. Worktrees and reports live in\n"
    "the home's research/ directory.\n"
    "\n"
    "In the sandbox the command is limited to --memory MiB and --pids processes\n"
    "(a cgroup per run with the linux backend; else RLIMIT_AS per process and no\n"
    "pids limit) and --time-budget seconds of CPU; a run the limit kills is a\n"
    "crashed iteration. One process drives a session at a time (an flock on\n"
    "research/ID.lock): a second one gets an error naming the holder's pid and\n"
    "host; a holder killed with -9 does not block resume.";

static const struct ad_cmd_form advise_forms[] = {
    { "advise [--agent NAME] [--ai]",
      "Print what the store says needs attention, most urgent first: skills\n"
      "with high failure rates, the mutation acceptance rate, fitness plateaus,\n"
      "the cost per accepted improvement, daily limits being hit, gates\n"
      "blocking agents mature enough for them, and agents ready or close to\n"
      "graduation. Each fact has a severity (high, warn, info), the numbers\n"
      "behind it and a command to try." },
    { NULL, NULL },
};

static const struct ad_cmd_opt advise_opts[] = {
    { "--agent NAME", "Only the facts about agent NAME (its runs, mutations, gates and\n"
      "readiness, shown even when it is far from graduating); the model\n"
      "ledger and the daily limits are the workspace's either way." },
    { "--ai", "After the facts, a summary of the same facts written by the\n"
      "configured model ($AUTODEV_LLM). The prompt holds the facts only. Without\n"
      "a model, or when the call fails, the facts are still printed and the\n"
      "command exits non-zero with the model's error." },
    { NULL, NULL },
};

static const char advise_description[] =
    "The facts, their thresholds and their kinds: skill_failure_rate (a current\n"
    "version that failed at least 20% of its last runs, 5 runs at least; high\n"
    "from 50%), mutation_acceptance (accepted of evaluated mutations; warn when\n"
    "some wait for review, or below 10% over 10 or more), fitness_plateau (5\n"
    "scored variants of one skill version in a row gaining less than 0.01 over\n"
    "the best), cost_per_improvement (the ledger's USD over accepted mutations\n"
    "and promoted skills), limit_hit (80% of a daily limit or cap used; high\n"
    "when reached), gate_blocked (a capability closed to agents whose maturity\n"
    "allows it, with the gate's reasons), graduation_ready and graduation_close\n"
    "(readiness 0.6 or more, with each unmet criterion's gap). With --json: one\n"
    "object with agent, generated_at, facts (kind, subject, severity, summary,\n"
    "numbers, command), counts, and summary with --ai. GET /v1/advice?agent=\n"
    "answers the same document.\n"
    "\n"
    "An agent that becomes ready to graduate is notified once per level (a\n"
    "notification of type auto_dev_graduation_ready): the advise.readiness job\n"
    "checks at most once an hour, when an agent is ready and was not told yet,\n"
    "queued by the workers (autodev worker, serve, jobs run).";
static const struct ad_cmd_form evolve_forms[] = {
    { "evolve run SKILL [OPTIONS]",
      "Create a run of the skill (its current version is the seed), print its id\n"
      "and the preflight, then run its generations here, one line each\n"
      "(generation, best, median, evaluations/s, cost so far)." },
    { "evolve resume RUN [--stop-file PATH]",
      "Go on with a run a kill, SIGINT or a stop file left: no generation counted\n"
      "twice, no stored evaluation made again." },
    { "evolve status RUN", "Where a run stands: generation, best, median, evaluations, cost." },
    { "evolve list", "The runs, newest first." },
    { "evolve show RUN", "The run with its elites and its best program (code, fitness, signals)." },
    { "evolve trace RUN", "Every proposal, score, decision, migration and reset as JSON lines." },
    { NULL, NULL },
};

static const struct ad_cmd_opt evolve_opts[] = {
    { "--generations N", "Generations to run (default 10)." },
    { "--population K", "Proposals per generation (default 8)." },
    { "--islands I", "Islands of the archive, each a MAP-Elites grid (default 2)." },
    { "--seed S", "Fixes every random choice of the run (default 1)." },
    { "--max-evaluations N", "Stop once N sandbox runs are spent (checked between generations)." },
    { "--time-budget S", "Stop once S seconds of wall time are spent." },
    { "--budget-usd X", "Stop once X dollars of model calls are spent; the preflight refuses a\n"
                        "run expected to cost more." },
    { "--budget-tokens N", "The same for model tokens." },
    { "--migration-interval M",
      "Every M generations each island's best, evaluated again, goes to the next\n"
      "island (default 3)." },
    { "--stagnation S",
      "After S generations without a better best, the weakest half of the islands\n"
      "restart from the global best (default 5; 0 never)." },
    { "--fitness output|latency",
      "output: the mean of the skill's numeric outputs (or their \"score\"), higher\n"
      "is better, independent of timing; latency (default): outputs equal to the\n"
      "seed's and the expected ones first, then the seed's latency over the program's." },
    { "--feature NAME:MIN:MAX:BINS",
      "A dimension of the grid (up to 4; default length and latency): length, latency,\n"
      "cpu or a numeric key of the outputs." },
    { "--stage1-cases N", "Inputs of the cascade's first stage (default 2)." },
    { "--cascade-margin X",
      "A proposal whose first stage is worse than its parent's by more than X of it\n"
      "is not run on the rest (default 0.1)." },
    { "--novelty J",
      "A proposal whose token 3-grams have a Jaccard similarity of at least J with an\n"
      "archived program's is dropped before it runs (default 0.95)." },
    { "--cases N", "Recorded inputs to evaluate on (default 20)." },
    { "--stop-file PATH", "Stop after the current generation once PATH exists (SIGINT too)." },
    { "--agent NAME", "The agent the run is for (its review row names it)." },
    { NULL, NULL },
};

static const char evolve_description[] =
    "Evolution research mode: many generations of a skill's code over an archive\n"
    "of islands, each a MAP-Elites grid over feature dimensions. Parents are drawn\n"
    "by fitness with a bonus for few children; proposals come from the offline\n"
    "mutator over the skill's EVOLVE blocks; near-duplicates of archived programs\n"
    "are dropped before they run; the rest run in the sandbox in a cascade (a few\n"
    "inputs, then all of them). Each generation is an evolve.generation job whose\n"
    "every proposal is a row before it counts, so a run killed at any point goes on\n"
    "with 'evolve resume RUN'. With a timing-free fitness the same --seed gives the\n"
    "same trace and archive. When a budget ends the run, its best program goes to\n"
    "review as a mutation (autodev mutations approve ID).";

static const struct ad_cmd commands[] = {
    { "init", cmd_init, "create the home directory and the database", init_forms, NULL,
      "Creates the home directory (mode 0700) and the database in it, runs the\n"
      "schema migrations and makes the default tenant (and the one named by\n"
      "--tenant). Safe to repeat: an existing database is upgraded, never emptied.\n"
      "Prints the database path and its schema version." },
    { "db", cmd_db, "the database: its status, migrations and copies", db_forms, db_opts,
      "The database named by --home or $AUTODEV_DB: a SQLite file, or a PostgreSQL\n"
      "server (postgres://...). status reads it without changing it; on a schema\n"
      "older than this autodev's it says to migrate.\n"
      "\n"
      "migrate applies the missing migrations in one transaction under the\n"
      "backend's lock, so that two processes starting together migrate once. Any\n"
      "command that writes migrates too; db migrate makes it an explicit step." },
    { "agent", cmd_agent, "register and inspect agents", agent_forms, agent_opts,
      "Agents are the workers whose episodes autodev records. Maturity gates what\n"
      "the learning loops may do for an agent: new skills need INTERN, skill\n"
      "evolution SUPERVISED, evolution without review AUTONOMOUS." },
    { "episode", cmd_episode, "record and inspect episodes", episode_forms, episode_opts,
      episode_description },
    { "settings", cmd_settings, "show and change the workspace settings", settings_forms,
      NULL, settings_description },
    { "events", cmd_events, "print and follow the event outbox", events_forms, events_opts,
      events_description },
    { "jobs", cmd_jobs, "queue, list and run background jobs", jobs_forms, jobs_opts,
      jobs_description },
    { "serve", cmd_serve, "serve the HTTP API, event stream and job workers", serve_forms,
      serve_opts, serve_description },
    { "worker", cmd_worker, "run job workers without the HTTP server", worker_forms,
      worker_opts, worker_description },
    { "mcp", cmd_mcp, "serve the MCP tools to a coding agent on stdin and stdout", mcp_forms,
      mcp_opts, mcp_description },
    { "token", cmd_token, "create, list and revoke API tokens", token_forms, token_opts,
      token_description },
    { "webhook", cmd_webhook, "send events to other systems, signed, with retries",
      webhook_forms, webhook_opts, webhook_description },
    { "signals", cmd_signals, "the secret that signs delayed fitness signals", signals_forms,
      signals_opts, signals_description },
    { "sandbox", cmd_sandbox, "run untrusted skill code in the sandbox", sandbox_forms,
      sandbox_opts, sandbox_description },
    { "skill", cmd_skill, "add, run, version and share catalog skills", skill_forms,
      skill_opts, skill_description },
    { "task", cmd_task, "run an agent's task with a skill and record the episode", task_forms,
      task_opts, task_description },
    { "gate", cmd_gate, "say whether an agent may use a learning capability", gate_forms, NULL,
      gate_description },
    { "candidates", cmd_candidates, "review the skills written for repeated failures",
      candidates_forms, candidates_opts, candidates_description },
    { "notifications", cmd_notifications, "list and mark read what needs a person's attention",
      notifications_forms, notifications_opts, notifications_description },
    { "mutations", cmd_mutations, "review what AlphaEvolver made of existing skills",
      mutations_forms, mutations_opts, mutations_description },
    { "research", cmd_research, "keep the code edits that improve a metric, revert the rest",
      research_forms, research_opts, research_description },
    { "evolve", cmd_evolve, "search a skill's code over generations with an archive of islands",
      evolve_forms, evolve_opts, evolve_description },
    { "lineage", cmd_lineage, "show where a skill's versions or a mutation came from",
      lineage_forms, NULL, lineage_description },
    { "fitness", cmd_fitness,
      "score variants: delayed signals, the best, one in detail, custom terms",
      fitness_forms, fitness_opts, fitness_description },
    { "llm", cmd_llm, "talk to language models; show what they cost", llm_forms, llm_opts,
      llm_description },
    { "edit", cmd_edit, "apply the code edits of a model's reply", edit_forms, edit_opts,
      edit_description },
    { "propose", cmd_propose, "propose code changes without a model", propose_forms,
      propose_opts, propose_description },
    { "synth", cmd_synth, "write a Python function from input/output examples", synth_forms,
      synth_opts, synth_description },
    { "demo", cmd_demo, "show autodev at work in a throw-away home", demo_forms, demo_opts,
      demo_description },
    { "advise", cmd_advise, "say what needs attention, with the numbers and a command",
      advise_forms, advise_opts, advise_description },
    { "completion", cmd_completion, "print a shell completion script", completion_forms, NULL,
      completion_description },
    { "help", cmd_help, "print the help of a command, or the manual page", help_forms, NULL,
      "'autodev COMMAND --help' prints the same text as 'autodev help COMMAND'." },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct ad_cmd_opt *ad__cmd_global_opts(void)
{
    return global_opts;
}

const struct ad_cmd *ad__cmd_table(void)
{
    return commands;
}

const struct ad_cmd *ad__cmd_find(const char *name)
{
    for (const struct ad_cmd *c = commands; c->name; c++) {
        if (!strcmp(c->name, name))
            return c;
    }
    return NULL;
}

void ad__cmd_print_version(FILE *f)
{
    fprintf(f, "autodev %s\n", AD_VERSION);
}

/* ---- text help -------------------------------------------------------- */

/* Prints text with every line indented by indent spaces. */
static void print_indented(FILE *f, const char *text, int indent)
{
    const char *p = text;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        if (n)
            fprintf(f, "%*s%.*s", indent, "", (int)n, p);
        fputc('\n', f);
        p += n + (nl ? 1 : 0);
    }
}

static void print_opts(FILE *f, const char *title, const struct ad_cmd_opt *opts)
{
    fprintf(f, "\n%s:\n", title);
    for (const struct ad_cmd_opt *o = opts; o->flag; o++) {
        fprintf(f, "  %s\n", o->flag);
        print_indented(f, o->help, 6);
    }
}

void ad__cmd_print_usage(FILE *f)
{
    fputs("usage: autodev [--home DIR] [--tenant NAME] [--json] [--log-level LEVEL]\n"
          "               COMMAND [ARGS]\n\n", f);
    fputs("Commands:\n", f);
    for (const struct ad_cmd *c = commands; c->name; c++)
        fprintf(f, "  %-13s %s\n", c->name, c->summary);
}

void ad__cmd_print_help(FILE *f, const struct ad_cmd *cmd)
{
    if (!cmd) {
        ad__cmd_print_usage(f);
        fputc('\n', f);
        print_indented(f, general_description, 0);
        print_opts(f, "Global options", global_opts);
        fputs("\nExit status:\n", f);
        print_indented(f, exit_status_text, 2);
        fputs("\nRun 'autodev help COMMAND' for the help of one command.\n", f);
        return;
    }
    for (const struct ad_cmd_form *form = cmd->forms; form->synopsis; form++)
        fprintf(f, "%s autodev %s\n", form == cmd->forms ? "usage:" : "   or:", form->synopsis);
    fprintf(f, "\nautodev %s: %s.\n\n", cmd->name, cmd->summary);
    print_indented(f, cmd->description, 0);
    if (cmd->forms[0].help) {
        fputs("\nCommands:\n", f);
        for (const struct ad_cmd_form *form = cmd->forms; form->synopsis; form++) {
            fprintf(f, "  autodev %s\n", form->synopsis);
            print_indented(f, form->help, 6);
        }
    }
    if (cmd->opts)
        print_opts(f, "Options", cmd->opts);
    fputs("\nThe global options (see 'autodev help') apply too.\n", f);
}

/* ---- man page --------------------------------------------------------- */

/*
 * Writes text as troff: backslashes and minus signs escaped, a line that
 * would start with a control character protected, blank lines as .PP.
 */
static void man_text(FILE *f, const char *text)
{
    int bol = 1;

    for (const char *p = text; *p; p++) {
        if (bol && *p == '\n') {
            fputs(".PP\n", f);
            continue;
        }
        if (bol && (*p == '.' || *p == '\''))
            fputs("\\&", f);
        bol = 0;
        if (*p == '\\')
            fputs("\\e", f);
        else if (*p == '-')
            fputs("\\-", f);
        else
            fputc(*p, f);
        if (*p == '\n')
            bol = 1;
    }
    if (!bol)
        fputc('\n', f);
}

static void man_opts(FILE *f, const struct ad_cmd_opt *opts)
{
    for (const struct ad_cmd_opt *o = opts; o->flag; o++) {
        fputs(".TP\n.B ", f);
        man_text(f, o->flag);
        man_text(f, o->help);
    }
}

static void man_command(FILE *f, const struct ad_cmd *c)
{
    fprintf(f, ".SS \"autodev %s\"\n", c->name);
    man_text(f, c->summary);
    fputs(".PP\n.nf\n", f);
    for (const struct ad_cmd_form *form = c->forms; form->synopsis; form++) {
        fputs("autodev ", f);
        man_text(f, form->synopsis);
    }
    fputs(".fi\n.PP\n", f);
    man_text(f, c->description);
    for (const struct ad_cmd_form *form = c->forms; form->synopsis && form->help; form++) {
        fputs(".TP\n.B autodev ", f);
        man_text(f, form->synopsis);
        man_text(f, form->help);
    }
    if (c->opts) {
        fputs(".PP\nOptions:\n", f);
        man_opts(f, c->opts);
    }
}

void ad__cmd_print_man(FILE *f)
{
    fprintf(f, ".TH AUTODEV 1 \"\" \"autodev %s\" \"User Commands\"\n", AD_VERSION);
    fputs(".\\\" Generated by 'autodev help --man' from src/cli/commands.c; do not edit.\n", f);
    fputs(".SH NAME\nautodev \\- make AI agents improve themselves safely\n", f);
    fputs(".SH SYNOPSIS\n.B autodev\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n",
          f);
    fputs(".SH DESCRIPTION\n", f);
    man_text(f, general_description);
    fputs(".SH GLOBAL OPTIONS\n", f);
    man_opts(f, global_opts);
    fputs(".SH COMMANDS\n", f);
    for (const struct ad_cmd *c = commands; c->name; c++)
        man_command(f, c);
    fputs(".SH EXIT STATUS\n", f);
    man_text(f, exit_status_text);
    fputs(".SH ENVIRONMENT\n", f);
    man_opts(f, environment);
    fputs(".SH FILES\n.TP\n.I $AUTODEV_HOME/autodev.db\n"
          "The database: SQLite in WAL mode, with its \\-wal and \\-shm files beside it.\n", f);
}

/* ---- autodev help ------------------------------------------------------ */

int cmd_help(int argc, char **argv, struct ad_ctx *ctx)
{
    const struct ad_cmd *cmd;

    if (argc >= 2 && !strcmp(argv[1], "--man")) {
        if (argc > 2)
            return ad__usage_error(ctx, "help --man takes no argument");
        ad__cmd_print_man(ctx->out);
        return 0;
    }
    if (argc > 2)
        return ad__usage_error(ctx, "help takes one command at most");
    if (argc < 2) {
        ad__cmd_print_help(ctx->out, NULL);
        return 0;
    }
    cmd = ad__cmd_find(argv[1]);
    if (!cmd)
        return ad__usage_error(ctx, "unknown command '%s' (see 'autodev help')", argv[1]);
    ad__cmd_print_help(ctx->out, cmd);
    return 0;
}
