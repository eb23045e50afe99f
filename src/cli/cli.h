/*
 * The command-line tool: shared context, the command table and helpers.
 *
 * Every subcommand is cmd_<name>() in src/cli/cmd_<name>.c, listed once in
 * the table of commands.c, which is also the only source of the help text
 * and of the man page (autodev help --man, committed as docs/autodev.1).
 *
 * Exit codes: 0 success, 2 usage or invalid input (AD_EINVAL, AD_ETOOBIG,
 * AD_ENOTFOUND, AD_EEXIST), 1 anything else (a runtime failure). An error
 * is exactly one line on stderr, "autodev: <message>".
 */
#ifndef AD_CLI_H
#define AD_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/clock.h"
#include "autodev/error.h"
#include "autodev/jobs.h"
#include "autodev/store.h"

struct ad_bus;
struct ad_runtime;

enum {
    AD_EXIT_OK = 0,
    AD_EXIT_RUNTIME = 1,
    AD_EXIT_USAGE = 2,
};

struct ad_ctx {
    const char *home;          /* borrowed from argv/environment, or home_buf */
    const char *db_path;       /* borrowed, or db_buf */
    const char *tenant_name;
    char tenant_id[AD_ID_SIZE];  /* "" until resolved */
    int home_given;            /* --home was on the command line */
    int json;                  /* --json */
    int busy_timeout_ms;       /* AUTODEV_BUSY_TIMEOUT_MS, 0: the store's default */
    struct ad_runtime *rt;     /* owned, opened lazily by ad__ctx_store() */
    int rt_readonly;           /* rt's store was opened read-only */
    struct ad_store *store;    /* borrowed from rt */
    struct ad_bus *bus;        /* borrowed from rt */
    FILE *out;                 /* the escaping stream over standard output (out.c) */
    FILE *err;                 /* the same over standard error */
    FILE *notices;             /* the runtime's notices, each line through ad__note() */
    struct ad_buf home_buf;
    struct ad_buf db_buf;
};

typedef int ad_cmd_fn(int argc, char **argv, struct ad_ctx *ctx);

/* One form of a command: "agent add NAME [--maturity LEVEL]" and what it does. */
struct ad_cmd_form {
    const char *synopsis;   /* without the leading "autodev " */
    const char *help;       /* NULL when the command has one form */
};

struct ad_cmd_opt {
    const char *flag;       /* "--limit N" */
    const char *help;
};

struct ad_cmd {
    const char *name;
    ad_cmd_fn *fn;
    const char *summary;             /* one line, lower-case, no period */
    const struct ad_cmd_form *forms; /* ends with { NULL, NULL } */
    const struct ad_cmd_opt *opts;   /* ends with { NULL, NULL }; may be NULL */
    const char *description;         /* paragraphs split by blank lines */
};

/* commands.c */
const struct ad_cmd *ad__cmd_find(const char *name);
const struct ad_cmd *ad__cmd_table(void);
const struct ad_cmd_opt *ad__cmd_global_opts(void);
/* Full help of cmd (NULL: the general usage) to f. */
void ad__cmd_print_help(FILE *f, const struct ad_cmd *cmd);
void ad__cmd_print_usage(FILE *f);
void ad__cmd_print_man(FILE *f);
void ad__cmd_print_version(FILE *f);
int cmd_help(int argc, char **argv, struct ad_ctx *ctx);

/*
 * out.c: the one way to the terminal. ad__out_open() puts escaping streams
 * over standard output and error into ctx->out and ctx->err (control
 * characters, C1 and bidi overrides printed as \uXXXX; JSON stays the same
 * document) and a line stream into ctx->notices; ad__out_close() flushes
 * and closes them, -1 with errno when standard output could not be written.
 */
int ad__out_open(struct ad_ctx *ctx);
int ad__out_close(struct ad_ctx *ctx);
/* A listing's header row (fmt with the rows' widths, then a newline). */
void ad__print_header(struct ad_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Routes the library's AD_LOG lines through ad__diag(). */
void ad__out_log_sink(struct ad_ctx *ctx);
/*
 * Every diagnostic: "autodev: <message>" on ctx->err when level (an
 * enum ad_log_level) passes --log-level / $AUTODEV_LOG; errors always do.
 * ad__note() is a line at warn level: shown by default, hidden by
 * --log-level error (progress, a job's outcome, a summary).
 */
void ad__diag(struct ad_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ad__vdiag(struct ad_ctx *ctx, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void ad__note(struct ad_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ctx.c */
void ad__ctx_release(struct ad_ctx *ctx);
/*
 * How a command uses the database. A read command opens it read-only: it
 * never creates, migrates or adopts a file (an empty or foreign one, or an
 * older schema, is refused and left untouched), and it works in a home
 * whose directory and files are read-only.
 */
enum ad_ctx_mode {
    AD_CTX_READ = 0,
    AD_CTX_WRITE = 1,    /* read-write; migrates an older schema */
    AD_CTX_CREATE = 2,   /* read-write; creates the database when missing */
};
/*
 * Opens the runtime (once): the store, the bus and its subscriptions, in
 * mode (reopened read-write when a read-only one is asked to write).
 * Without AD_CTX_CREATE, a missing database file is an error that tells
 * the user to run 'autodev init'. Returns an exit code, having printed
 * the error.
 */
int ad__ctx_store(struct ad_ctx *ctx, enum ad_ctx_mode mode);
/* Closes the runtime (demo does, before it removes its home). */
void ad__ctx_close(struct ad_ctx *ctx);
/*
 * Opens the store and resolves --tenant into ctx->tenant_id. With create
 * (write commands) the store is read-write and the tenant is made if
 * absent; without (read commands), the store is read-only and an unknown
 * tenant is a usage error. Returns an exit code.
 */
int ad__ctx_tenant(struct ad_ctx *ctx, int create);
/* Prints "autodev: <msg>" and returns the exit code that goes with code. */
int ad__die_code(struct ad_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints err's message (prefixed like the above) and returns its exit code. */
int ad__die_err(struct ad_ctx *ctx, const struct ad_err *err);
int ad__exit_code(int code);
/* Prints the usage error "autodev: <msg>" and returns AD_EXIT_USAGE. */
int ad__usage_error(struct ad_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Option parsing around getopt_long: each call starts afresh, leaves getopt
 * silent and turns its complaints into usage errors naming the option.
 * Returns the option, -1 at the end, or '?' after printing the error.
 */
struct option;
int ad__getopt(struct ad_ctx *ctx, int argc, char **argv, const char *shortopts,
               const struct option *longopts);
/* Resets getopt's state; call before the first ad__getopt() of a parse. */
void ad__getopt_reset(void);
/* Parses a decimal integer in [min, max] for option name; usage error if not. */
int ad__parse_int(struct ad_ctx *ctx, const char *name, const char *s, int64_t min,
                  int64_t max, int64_t *out);

/* Dispatches argv[1] among subs (ends with { NULL }) of command cmdname. */
struct ad_subcmd {
    const char *name;
    ad_cmd_fn *fn;
};
int ad__run_sub(const char *cmdname, const struct ad_subcmd *subs, int argc, char **argv,
                struct ad_ctx *ctx);

/* Writes v compactly and a newline to ctx->out; consumes the reference. */
int ad__print_json(struct ad_ctx *ctx, json_t *v);
/* Reads all of f into b (b->max is the cap). AD_ETOOBIG past it, AD_EIO. */
int ad__read_all(FILE *f, struct ad_buf *b, struct ad_err *err);
/*
 * Opens the input file the user named (path "-": standard input) for
 * reading. A file that is missing, unreadable or a directory is a usage
 * error (exit 2): every command reads its input files through this.
 * Returns 0, or an exit code having printed the error.
 */
int ad__open_input(struct ad_ctx *ctx, const char *path, FILE **out);
/*
 * Reads the file at path ("-": standard input) into b, capped by b->max.
 * Returns 0, or an exit code having printed the error.
 */
int ad__read_path(struct ad_ctx *ctx, const char *path, struct ad_buf *b);
/* Writes s on one line (newlines and tabs as spaces), at most max bytes,
 * never splitting a UTF-8 character; "..." when clipped. */
void ad__print_clipped(FILE *f, const char *s, size_t max);
/*
 * The JSON value of option opt, given as text or read from the file at
 * path (which wins), capped at AD_JSON_FIELD_MAX like the columns that
 * record it. Returns 0, or an exit code having printed the error.
 */
int ad__json_arg(struct ad_ctx *ctx, const char *opt, const char *text, const char *path,
                 json_t **out);
/* mkdir -p with mode for the directories it creates. 0 or AD_EIO. */
int ad__mkdir_p(const char *path, unsigned mode, struct ad_err *err);

/*
 * The job queue of ctx's tenant with every job kind of the runtime's table
 * registered. Returns an exit code, having printed the error.
 */
int ad__ctx_jobs(struct ad_ctx *ctx, struct ad_jobs **out);

/* JSON forms of the entities, shared by commands (new references; NULL on ENOMEM). */
json_t *ad__agent_json(const struct ad_agent *a);
json_t *ad__event_json(const struct ad_event *ev);
json_t *ad__job_json(const struct ad_job *j);
/* The agents named in one listing, looked up once each. */
struct ad_name_cache {
    struct {
        char id[AD_ID_SIZE];
        char *name;     /* owned */
    } e[16];
    int n;
};
/* The name of agent id (NULL for none; the id itself when it cannot be read). */
const char *ad__agent_name(struct ad_ctx *ctx, struct ad_name_cache *c, const char *id);
void ad__name_cache_release(struct ad_name_cache *c);
/* The agent named name in ctx's tenant; an unknown name is a usage error. */
int ad__agent_lookup(struct ad_ctx *ctx, const char *name, struct ad_agent *out);

/* The commands. */
int cmd_init(int argc, char **argv, struct ad_ctx *ctx);
int cmd_agent(int argc, char **argv, struct ad_ctx *ctx);
/* cmd_agent_run.c: agent run, agent sessions. */
int ad__agent_run(int argc, char **argv, struct ad_ctx *ctx);
int ad__agent_sessions(int argc, char **argv, struct ad_ctx *ctx);
int ad__agent_tools(int argc, char **argv, struct ad_ctx *ctx);
int ad__agent_replay(int argc, char **argv, struct ad_ctx *ctx);
int cmd_episode(int argc, char **argv, struct ad_ctx *ctx);
int cmd_settings(int argc, char **argv, struct ad_ctx *ctx);
int cmd_events(int argc, char **argv, struct ad_ctx *ctx);
int cmd_jobs(int argc, char **argv, struct ad_ctx *ctx);
int cmd_sandbox(int argc, char **argv, struct ad_ctx *ctx);
int cmd_llm(int argc, char **argv, struct ad_ctx *ctx);
int cmd_edit(int argc, char **argv, struct ad_ctx *ctx);
int cmd_propose(int argc, char **argv, struct ad_ctx *ctx);
int cmd_synth(int argc, char **argv, struct ad_ctx *ctx);

/* The tenant's model ($AUTODEV_LLM, or spec) from the runtime, with the tenant's
 * ledger and caps; none configured is an error. Returns an exit code, having
 * printed the error. */
struct ad_llm;
int ad__ctx_llm(struct ad_ctx *ctx, const char *spec, struct ad_llm **out);
int cmd_demo(int argc, char **argv, struct ad_ctx *ctx);
/* demo_tasks.c: the demo's skills and tasks ("tasks" in sum), and their lines. */
int ad__demo_tasks(struct ad_ctx *ctx, const char *agent_id, json_t *sum, struct ad_err *err);
void ad__demo_tasks_print(FILE *out, const json_t *sum);
/* demo_memento.c: the Memento loop of the demo ("memento" in sum), and its lines. */
int ad__demo_memento(struct ad_ctx *ctx, json_t *sum, struct ad_err *err);
void ad__demo_memento_print(FILE *out, const json_t *sum);
/* The demo's AlphaEvolver loop (demo_alpha.c): into sum["alpha"], and its print. */
int ad__demo_alpha(struct ad_ctx *ctx, json_t *sum, struct ad_err *err);
void ad__demo_alpha_print(FILE *out, const json_t *sum);
/* The demo's autoresearch loop (demo_research.c): into sum["research"], and its print. */
int ad__demo_research(struct ad_ctx *ctx, json_t *sum, struct ad_err *err);
void ad__demo_research_print(FILE *out, const json_t *sum);
int cmd_skill(int argc, char **argv, struct ad_ctx *ctx);
int cmd_task(int argc, char **argv, struct ad_ctx *ctx);
int cmd_gate(int argc, char **argv, struct ad_ctx *ctx);
int cmd_candidates(int argc, char **argv, struct ad_ctx *ctx);
int cmd_notifications(int argc, char **argv, struct ad_ctx *ctx);
int cmd_completion(int argc, char **argv, struct ad_ctx *ctx);
int cmd_mutations(int argc, char **argv, struct ad_ctx *ctx);
int cmd_research(int argc, char **argv, struct ad_ctx *ctx);
/* cmd_evolve.c: evolution research runs (evolve.h). */
int cmd_evolve(int argc, char **argv, struct ad_ctx *ctx);
int cmd_lineage(int argc, char **argv, struct ad_ctx *ctx);
int cmd_fitness(int argc, char **argv, struct ad_ctx *ctx);
int cmd_advise(int argc, char **argv, struct ad_ctx *ctx);

/*
 * diff.c: left and right side by side, line by line (their longest common
 * subsequence), each column width characters, marked ' ' same, '|'
 * changed, '<' left only, '>' right only. 0, or -1 out of memory.
 */
int ad__diff_side_by_side(FILE *out, const char *left, const char *right, int width);
/* cmd_serve.c: the HTTP server and its workers, the workers alone; cmd_token.c. */
int cmd_serve(int argc, char **argv, struct ad_ctx *ctx);
int cmd_worker(int argc, char **argv, struct ad_ctx *ctx);
int cmd_token(int argc, char **argv, struct ad_ctx *ctx);
/* cmd_db.c: the database's status and its migrations. */
int cmd_db(int argc, char **argv, struct ad_ctx *ctx);
/* cmd_webhook.c: outgoing webhooks and the signed signals' secret (hooks.h). */
int cmd_webhook(int argc, char **argv, struct ad_ctx *ctx);
int cmd_mcp(int argc, char **argv, struct ad_ctx *ctx);
int cmd_signals(int argc, char **argv, struct ad_ctx *ctx);

/*
 * The runtime's sandbox (made once; backend from $AUTODEV_SANDBOX: auto,
 * linux or process). Opens the runtime if need be. Returns an exit code,
 * having printed the error.
 */
struct ad_sandbox;
int ad__ctx_sandbox(struct ad_ctx *ctx, struct ad_sandbox **out);

#endif
