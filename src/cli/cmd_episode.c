/*
 * autodev episode: add (one document or JSON lines), list, show.
 *
 * Input is read under caps: a line of a batch may hold 1 MiB, a single
 * document 8 MiB. Anything larger is refused, never truncated. A batch is
 * committed in transactions of --batch-size episodes, so a crash or a bad
 * line loses at most the transaction in flight.
 */
#include "compat.h"

#include <getopt.h>
#include <math.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "cli.h"

#define LINE_MAX_BYTES ((size_t)1 << 20)
#define DOC_MAX_BYTES ((size_t)8 << 20)
#define PROGRESS_EVERY 100000
#define AGENT_CACHE_SIZE 64

/* Agent names seen in this run and their ids; agents are never deleted. */
struct agent_cache {
    struct {
        char *name;
        char id[AD_ID_SIZE];
    } e[AGENT_CACHE_SIZE];
    size_t n;
    size_t next;   /* slot to reuse once full */
};

struct add_state {
    struct ad_ctx *ctx;
    const char *default_agent;   /* --agent */
    struct agent_cache cache;
    struct ad_episode_batch *batch;   /* --batch: the open batch, else NULL */
};

static void cache_release(struct agent_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->e[i].name);
    c->n = 0;
}

static int resolve_agent(struct add_state *s, const char *name, char id[AD_ID_SIZE],
                         struct ad_err *err)
{
    struct agent_cache *c = &s->cache;
    struct ad_agent a = { 0 };
    char *name_copy;
    size_t slot;
    int rc;

    for (size_t i = 0; i < c->n; i++) {
        if (!strcmp(c->e[i].name, name)) {
            memcpy(id, c->e[i].id, AD_ID_SIZE);
            return 0;
        }
    }
    rc = ad_agents_find(s->ctx->store, s->ctx->tenant_id, name, &a, err);
    if (rc == AD_ENOTFOUND)
        return ad_error(err, rc, "unknown agent '%s'", name);
    if (rc < 0)
        return rc;
    memcpy(id, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
    name_copy = strdup(name);
    if (!name_copy)
        return 0;   /* the cache only saves lookups; going without it is fine */
    if (c->n < AGENT_CACHE_SIZE) {
        slot = c->n++;
    } else {
        slot = c->next++ % AGENT_CACHE_SIZE;
        free(c->e[slot].name);
    }
    c->e[slot].name = name_copy;
    memcpy(c->e[slot].id, id, AD_ID_SIZE);
    return 0;
}

/* Parses one document, resolves its agent and records it. */
static int record_text(struct add_state *s, const char *text, size_t len, size_t max,
                       char id_out[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_episode ep;
    const char *agent_name = NULL;
    json_t *obj = NULL;
    int rc;

    ad_episode_init(&ep);
    rc = ad_json_parse(text, len, max, &obj, err);
    if (rc < 0)
        goto out;
    if (!json_is_object(obj)) {
        rc = ad_error(err, AD_EINVAL, "expected a JSON object");
        goto out;
    }
    /* --agent stands in for an object that names no agent itself. */
    if (s->default_agent && !json_object_get(obj, "agent") && !json_object_get(obj, "agent_id")) {
        if (json_object_set_new(obj, "agent", json_string(s->default_agent)) < 0) {
            rc = ad_error(err, AD_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = ad_episode_from_json(obj, &ep, &agent_name, err);
    if (rc < 0)
        goto out;
    if (agent_name) {
        rc = resolve_agent(s, agent_name, ep.agent_id, err);
        if (rc < 0)
            goto out;
    } else if (!ep.agent_id[0]) {
        rc = ad_error(err, AD_EINVAL, "missing field 'agent' (or 'agent_id', or --agent)");
        goto out;
    }
    memcpy(ep.tenant_id, s->ctx->tenant_id, AD_ID_SIZE);
    rc = s->batch ? ad_episode_batch_add(s->batch, &ep, err)
                  : ad_episode_record(s->ctx->store, s->ctx->bus, &ep, err);
    if (rc == 0 && id_out)
        memcpy(id_out, ep.id, AD_ID_SIZE);
out:
    ad_episode_release(&ep);
    json_decref(obj);
    return rc;
}

static int add_single(struct add_state *s, FILE *in)
{
    struct ad_ctx *ctx = s->ctx;
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf b;
    char id[AD_ID_SIZE];
    int rc;

    ad_buf_init(&b, DOC_MAX_BYTES);
    rc = ad__read_all(in, &b, &err);
    if (rc == AD_ETOOBIG)
        rc = ad_error(&err, rc, "input larger than 8 MiB");
    if (rc == 0)
        rc = record_text(s, b.ptr, b.len, DOC_MAX_BYTES, id, &err);
    ad_buf_release(&b);
    if (rc < 0)
        return ad__die_err(ctx, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:s}", "id", id));
    fprintf(ctx->out, "%s\n", id);
    return 0;
}

/*
 * Reads one line (without its newline) into b. Returns 1 with a line, 0 at
 * the end of input, AD_ETOOBIG for a line over the cap, AD_EIO.
 */
static int read_line(FILE *in, struct ad_buf *b)
{
    int c;

    ad_buf_reset(b);
    while ((c = getc_unlocked(in)) != EOF) {
        if (c == '\n')
            return 1;
        if (ad_buf_addch(b, (char)c) < 0)
            return AD_ETOOBIG;
    }
    if (ferror(in))
        return AD_EIO;
    return b->len > 0;
}

static int is_blank(const struct ad_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        if (!strchr(" \t\r", b->ptr[i]))
            return 0;
    }
    return 1;
}

struct batch {
    int64_t lineno;
    struct ad_episode_batch eb;
    int progress;
};

/* Reports a failure at the current line; the open transaction is gone. */
static int batch_fail(struct add_state *s, struct batch *bt, const struct ad_err *err)
{
    return ad__die_code(s->ctx, err->code,
                        "line %" PRId64 ": %s (%" PRId64 " episodes committed; the batch "
                        "holding line %" PRId64 " was rolled back)",
                        bt->lineno, err->msg[0] ? err->msg : ad_strerror(err->code),
                        bt->eb.committed, bt->lineno);
}

/* One line of input: recorded in the open transaction, committed when it is full. */
static int batch_line(struct add_state *s, struct batch *bt, const struct ad_buf *line,
                      struct ad_err *err)
{
    int rc = record_text(s, line->ptr, line->len, LINE_MAX_BYTES, NULL, err);

    /* A line that never reached the store still ends its transaction. */
    if (rc < 0)
        ad_episode_batch_abort(&bt->eb);
    return rc;
}

/* A line that could not be read: nothing of the open transaction stays. */
static int batch_read_error(struct add_state *s, struct batch *bt, int rc, struct ad_err *err)
{
    bt->lineno++;
    if (rc == AD_ETOOBIG)
        ad_error(err, rc, "line longer than 1 MiB");
    else
        ad_error(err, rc, "cannot read input: %s", strerror(errno));
    ad_episode_batch_abort(&bt->eb);
    return rc;
}

static int add_batch(struct add_state *s, FILE *in, int64_t size, int progress)
{
    struct ad_ctx *ctx = s->ctx;
    struct ad_err err = AD_ERR_INIT;
    struct batch bt = { .progress = progress };
    struct ad_buf line;
    int rc = 0, got;

    ad_episode_batch_init(&bt.eb, ctx->store, ctx->bus, size);
    s->batch = &bt.eb;
    ad_buf_init(&line, LINE_MAX_BYTES);
    while (rc == 0 && (got = read_line(in, &line)) != 0) {
        if (got < 0) {
            rc = batch_read_error(s, &bt, got, &err);
            break;
        }
        bt.lineno++;
        if (bt.progress && bt.lineno % PROGRESS_EVERY == 0)
            ad__note(ctx, "%" PRId64 " lines read, %" PRId64 " episodes committed", bt.lineno,
                     bt.eb.committed);
        if (!is_blank(&line))
            rc = batch_line(s, &bt, &line, &err);
    }
    if (rc == 0)
        rc = ad_episode_batch_flush(&bt.eb, &err);
    s->batch = NULL;
    ad_buf_release(&line);
    if (rc < 0)
        return batch_fail(s, &bt, &err);
    if (ctx->json)
        return ad__print_json(ctx, json_pack("{s:I, s:I}", "recorded", (json_int_t)bt.eb.committed,
                                             "lines", (json_int_t)bt.lineno));
    fprintf(ctx->out, "%" PRId64 " episodes recorded\n", bt.eb.committed);
    return 0;
}

static int episode_add(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "file", required_argument, NULL, 'f' },
        { "batch", no_argument, NULL, 'b' },
        { "batch-size", required_argument, NULL, 's' },
        { "agent", required_argument, NULL, 'a' },
        { "progress", no_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    struct add_state s = { .ctx = ctx };
    const char *file = NULL;
    int64_t size = 1000;
    int batch = 0, progress = isatty(STDERR_FILENO), size_given = 0;
    FILE *in = stdin;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'f': file = optarg; break;
        case 'b': batch = 1; break;
        case 'a': s.default_agent = optarg; break;
        case 'p': progress = 1; break;
        case 's':
            size_given = 1;
            if (ad__parse_int(ctx, "--batch-size", optarg, 1, 100000, &size) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "episode add takes no argument (the episode comes on "
                               "standard input or with --file)");
    if (size_given && !batch)
        return ad__usage_error(ctx, "--batch-size needs --batch");
    if (s.default_agent && !ad_name_valid(s.default_agent))
        return ad__usage_error(ctx, "invalid agent name '%s'", s.default_agent);
    if (file && ad__open_input(ctx, file, &in) != 0)
        return AD_EXIT_USAGE;
    rc = ad__ctx_tenant(ctx, 1);
    if (rc == 0)
        rc = batch ? add_batch(&s, in, size, progress) : add_single(&s, in);
    cache_release(&s.cache);
    if (in != stdin)
        fclose(in);
    return rc;
}

/* ---- list and show ---------------------------------------------------- */

/* The agent's name for display; falls back to the id. Caches in *names. */
static const char *agent_name_of(struct ad_ctx *ctx, struct agent_cache *names, const char *id)
{
    struct ad_agent a = { 0 };

    for (size_t i = 0; i < names->n; i++) {
        if (!strcmp(names->e[i].id, id))
            return names->e[i].name;
    }
    if (names->n == AGENT_CACHE_SIZE ||
        ad_agents_get(ctx->store, ctx->tenant_id, id, &a, NULL) < 0)
        return id;
    names->e[names->n].name = a.name;   /* the cache takes the name over */
    a.name = NULL;
    memcpy(names->e[names->n].id, id, AD_ID_SIZE);
    ad_agent_release(&a);
    return names->e[names->n++].name;
}

static int print_episode_list(struct ad_ctx *ctx, struct ad_episode *v, size_t n)
{
    struct agent_cache names = { 0 };

    if (ctx->json) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < n; i++) {
            if (json_array_append_new(arr, ad_episode_to_json(&v[i])) < 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return ad__print_json(ctx, arr);
    }
    if (n > 0)
        ad__print_header(ctx, "%-36s  %-24s  %-9s  %-16s  %-16s  %s", "ID", "CREATED",
                         "OUTCOME", "AGENT", "KIND", "TASK");
    for (size_t i = 0; i < n; i++) {
        fprintf(ctx->out, "%s  %s  %-9s  %-16s  %-16s  ", v[i].id, v[i].created_at,
                v[i].success ? "succeeded" : "failed",
                agent_name_of(ctx, &names, v[i].agent_id),
                v[i].task_kind ? v[i].task_kind : "-");
        ad__print_clipped(ctx->out, v[i].task_description ? v[i].task_description : "", 60);
        fputc('\n', ctx->out);
    }
    cache_release(&names);
    return 0;
}

static int episode_list(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct option longopts[] = {
        { "agent", required_argument, NULL, 'a' },
        { "failed", no_argument, NULL, 'F' },
        { "succeeded", no_argument, NULL, 'S' },
        { "kind", required_argument, NULL, 'k' },
        { "limit", required_argument, NULL, 'l' },
        { "before", required_argument, NULL, 'B' },
        { NULL, 0, NULL, 0 },
    };
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    struct ad_episode *v = NULL;
    const char *agent = NULL;
    int64_t limit = AD_LIST_DEFAULT;
    size_t n = 0;
    int rc, c;

    ad__getopt_reset();
    while ((c = ad__getopt(ctx, argc, argv, ":", longopts)) != -1) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 'k': f.task_kind = optarg; break;
        case 'B': f.before_id = optarg; break;
        case 'F':
        case 'S':
            if (f.success >= 0 && f.success != (c == 'S'))
                return ad__usage_error(ctx, "--failed and --succeeded exclude each other");
            f.success = c == 'S';
            break;
        case 'l':
            if (ad__parse_int(ctx, "--limit", optarg, 1, AD_LIST_MAX, &limit) != 0)
                return AD_EXIT_USAGE;
            break;
        default:
            return AD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return ad__usage_error(ctx, "episode list takes no argument");
    if (f.before_id && !ad_id_valid(f.before_id))
        return ad__usage_error(ctx, "invalid episode id '%s'", f.before_id);
    f.limit = (int)limit;
    rc = ad__ctx_tenant(ctx, 0);
    if (rc == 0 && agent)
        rc = ad__agent_lookup(ctx, agent, &a);
    if (rc != 0)
        return rc;
    f.agent_id = agent ? a.id : NULL;
    if (ad_episodes_list(ctx->store, ctx->tenant_id, &f, &v, &n, &err) < 0)
        rc = ad__die_err(ctx, &err);
    else
        rc = print_episode_list(ctx, v, n);
    ad_episode_list_free(v, n);
    ad_agent_release(&a);
    return rc;
}

static void print_json_field(FILE *out, const char *label, const json_t *v)
{
    char *s;

    if (!v)
        return;
    s = ad_json_dumps(v);
    fprintf(out, "%-13s%s\n", label, s ? s : "?");
    free(s);
}

static void print_block(FILE *out, const char *label, const char *text)
{
    fprintf(out, "%s\n", label);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        fprintf(out, "    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* "skill  word_count 1.1.0 (VERSION-ID)": the name for a person, the id for a script. */
static void print_skill_version(struct ad_ctx *ctx, const char *version_id)
{
    struct ad_skill_version v = { 0 };
    struct ad_skill s = { 0 };

    if (ad_catalog_version_get(ctx->store, ctx->tenant_id, version_id, &v, NULL) == 0 &&
        ad_catalog_skill_get(ctx->store, ctx->tenant_id, v.skill_id, &s, NULL) == 0)
        fprintf(ctx->out, "%-13s%s %s (%s)\n", "skill", s.name, v.semver, version_id);
    else
        fprintf(ctx->out, "%-13s%s\n", "skill", version_id);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
}

static void print_episode_text(struct ad_ctx *ctx, const struct ad_episode *ep)
{
    struct agent_cache names = { 0 };
    FILE *out = ctx->out;

    fprintf(out, "%-13s%s\n", "episode", ep->id);
    fprintf(out, "%-13s%s (%s)\n", "agent", agent_name_of(ctx, &names, ep->agent_id),
            ep->agent_id);
    fprintf(out, "%-13s%s\n", "created", ep->created_at);
    fprintf(out, "%-13s%s\n", "outcome", ep->success ? "succeeded" : "failed");
    fprintf(out, "%-13s%s\n", "task kind", ep->task_kind ? ep->task_kind : "-");
    fprintf(out, "%-13s%s\n", "task", ep->task_description ? ep->task_description : "");
    fprintf(out, "%-13s%.3f s, %" PRId64 " tokens%s\n", "execution", ep->execution_seconds,
            ep->token_usage, ep->intervention ? ", a human intervened" : "");
    if (!isnan(ep->constitutional_score))
        fprintf(out, "%-13s%.3f\n", "constitution", ep->constitutional_score);
    if (ep->skill_version_id)
        print_skill_version(ctx, ep->skill_version_id);
    print_json_field(out, "input", ep->input);
    print_json_field(out, "expected", ep->expected);
    print_json_field(out, "output", ep->output);
    print_json_field(out, "tools", ep->tools_attempted);
    print_json_field(out, "context", ep->context);
    if (ep->error_trace)
        print_block(out, "error trace:", ep->error_trace);
    for (size_t i = 0; i < ep->nsegments; i++) {
        const struct ad_episode_segment *sg = &ep->segments[i];

        fprintf(out, "segment %zu (%s):\n", i + 1, sg->kind ? sg->kind : "-");
        print_block(out, "", sg->content ? sg->content : "");
    }
    cache_release(&names);
}

static int episode_show(int argc, char **argv, struct ad_ctx *ctx)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    int rc;

    if (argc != 2 || argv[1][0] == '-')
        return ad__usage_error(ctx, "usage: autodev episode show ID");
    if (!ad_id_valid(argv[1]))
        return ad__usage_error(ctx, "invalid episode id '%s'", argv[1]);
    rc = ad__ctx_tenant(ctx, 0);
    if (rc != 0)
        return rc;
    ad_episode_init(&ep);
    rc = ad_episodes_get(ctx->store, ctx->tenant_id, argv[1], &ep, &err);
    if (rc == AD_ENOTFOUND) {
        rc = ad__usage_error(ctx, "unknown episode '%s'", argv[1]);
    } else if (rc < 0) {
        rc = ad__die_err(ctx, &err);
    } else if (ctx->json) {
        rc = ad__print_json(ctx, ad_episode_to_json(&ep));
    } else {
        print_episode_text(ctx, &ep);
        rc = 0;
    }
    ad_episode_release(&ep);
    return rc;
}

int cmd_episode(int argc, char **argv, struct ad_ctx *ctx)
{
    static const struct ad_subcmd subs[] = {
        { "add", episode_add },
        { "list", episode_list },
        { "show", episode_show },
        { NULL, NULL },
    };

    return ad__run_sub("episode", subs, argc, argv, ctx);
}
