/*
 * The MCP server's protocol: a session (its tenant, role and what it may
 * see), JSON-RPC 2.0 messages one a line, the lifecycle (initialize and
 * its version negotiation, notifications/initialized, ping), tools/list
 * with its cursor, tools/call, cancellation, and the stdio loop.
 *
 * Errors of the protocol are JSON-RPC errors (-32700 a line that is not
 * JSON or is too long, -32600 an invalid message or a request before
 * initialize, -32601 an unknown method, -32602 an unknown tool or bad
 * arguments); a tool that ran and failed is a result with isError true,
 * so the model reads why. The server keeps serving after any of them.
 *
 * Cancellation: requests run one at a time on the session's thread, and
 * a library call cannot be interrupted halfway (a research run finishes
 * its command, then writes its row). So standard input is read on a
 * thread of its own that notes every notifications/cancelled as it
 * arrives; a request cancelled before it starts is not run, and one
 * cancelled while it runs gets no answer (the spec's "SHOULD NOT
 * respond"), though what it did stays done.
 *
 * Sections: the session; messages; the methods; the stdio loop.
 */
#include "compat.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#include "autodev/log.h"
#include "autodev/mcp.h"
#include "autodev/runtime.h"
#include "autodev/server.h"
#include "autodev/store.h"

#include "mcp_int.h"

const char *const ad_mcp_protocol_versions[] = { "2025-06-18", "2025-03-26", "2024-11-05",
                                                 NULL };

enum {
    RPC_PARSE = -32700,
    RPC_INVALID = -32600,
    RPC_METHOD = -32601,
    RPC_PARAMS = -32602,
    RPC_INTERNAL = -32603,
};

#define CANCEL_MAX 64   /* cancellations remembered; the oldest go first */

struct ad_mcp {
    struct ad_runtime *rt;
    char tenant_id[AD_ID_SIZE];
    char role[16];
    char reviewer[AD_NAME_MAX + 1];
    unsigned access;               /* enum ad__mcp_access */
    size_t max_line;
    int page_size;
    char *version;
    int initialized;               /* initialize was answered */
    char proto[16];                /* the version agreed */
    pthread_mutex_t lock;          /* cancelled[]: the reader thread writes it */
    char *cancelled[CANCEL_MAX];   /* request ids as compact JSON */
    size_t ncancelled;
};

/* ---- the session -------------------------------------------------------------------- */

static unsigned access_of(enum ad_token_role r)
{
    switch (r) {
    case AD_ROLE_ADMIN: return AD__MCP_READ | AD__MCP_WORK | AD__MCP_REVIEW;
    case AD_ROLE_REVIEWER: return AD__MCP_READ | AD__MCP_REVIEW;
    case AD_ROLE_OPERATOR:
    case AD_ROLE_AGENT: return AD__MCP_READ | AD__MCP_WORK;
    default: return AD__MCP_READ;
    }
}

static int resolve(struct ad_mcp *m, const struct ad_mcp_options *o, struct ad_err *err)
{
    struct ad_api_token t;
    const char *role;
    int rc;

    if (!o->token || !*o->token) {
        /* The local store's user: what the CLI may do, without the review actions. */
        snprintf(m->role, sizeof(m->role), "local");
        snprintf(m->reviewer, sizeof(m->reviewer), "mcp");
        m->access = AD__MCP_READ | AD__MCP_WORK;
        return ad_runtime_tenant(m->rt, o->tenant_name ? o->tenant_name : "default", 1,
                                 m->tenant_id, err);
    }
    memset(&t, 0, sizeof(t));
    rc = ad_tokens_authenticate(ad_runtime_store(m->rt), o->token, &t, err);
    if (rc == 0) {
        role = ad_token_role_name(t.role);
        memcpy(m->tenant_id, t.tenant_id, AD_ID_SIZE);
        snprintf(m->role, sizeof(m->role), "%s", role ? role : "?");
        snprintf(m->reviewer, sizeof(m->reviewer), "%s", t.name ? t.name : "mcp");
        m->access = access_of(t.role);
    }
    ad_api_token_release(&t);
    return rc;
}

int ad_mcp_new(const struct ad_mcp_options *o, struct ad_mcp **out, struct ad_err *err)
{
    struct ad_mcp *m;
    int rc;

    *out = NULL;
    if (!o || !o->rt)
        return ad_error(err, AD_EINVAL, "the MCP server needs a runtime");
    if (o->page_size < 0 || o->page_size > 1000)
        return ad_error(err, AD_EINVAL, "page size %d out of range 1..1000", o->page_size);
    m = calloc(1, sizeof(*m));
    if (!m || !(m->version = strdup(o->version ? o->version : "0"))) {
        free(m);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    m->rt = o->rt;
    m->max_line = o->max_line ? o->max_line : AD_MCP_LINE_MAX_DEFAULT;
    m->page_size = o->page_size ? o->page_size : AD_MCP_PAGE_DEFAULT;
    pthread_mutex_init(&m->lock, NULL);
    rc = resolve(m, o, err);
    if (rc < 0) {
        ad_mcp_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void ad_mcp_free(struct ad_mcp *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ncancelled; i++)
        free(m->cancelled[i]);
    pthread_mutex_destroy(&m->lock);
    free(m->version);
    free(m);
}

const char *ad_mcp_tenant(const struct ad_mcp *m)
{
    return m->tenant_id;
}

const char *ad_mcp_role(const struct ad_mcp *m)
{
    return m->role;
}

/* Notes that the request of id was cancelled (any thread). */
static void cancel_note(struct ad_mcp *m, const json_t *id)
{
    char *key;

    if (!json_is_string(id) && !json_is_integer(id))
        return;
    key = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!key)
        return;
    pthread_mutex_lock(&m->lock);
    if (m->ncancelled == CANCEL_MAX) {
        free(m->cancelled[0]);
        memmove(m->cancelled, m->cancelled + 1, (CANCEL_MAX - 1) * sizeof(char *));
        m->ncancelled--;
    }
    m->cancelled[m->ncancelled++] = key;
    pthread_mutex_unlock(&m->lock);
}

/* Whether id was cancelled; with take, forgets it. */
static int cancel_seen(struct ad_mcp *m, const json_t *id, int take)
{
    char *key = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
    int seen = 0;

    if (!key)
        return 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->ncancelled && !seen; i++) {
        if (strcmp(m->cancelled[i], key) != 0)
            continue;
        seen = 1;
        if (take) {
            free(m->cancelled[i]);
            memmove(m->cancelled + i, m->cancelled + i + 1,
                    (m->ncancelled - i - 1) * sizeof(char *));
            m->ncancelled--;
        }
    }
    pthread_mutex_unlock(&m->lock);
    free(key);
    return seen;
}

/* ---- messages ------------------------------------------------------------------------- */

static json_t *reply_ok(const json_t *id, json_t *result)
{
    if (!result)
        return NULL;
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

static json_t *reply_err(const json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *reply_err(const json_t *id, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                     id ? id : json_null(), "error", "code", code, "message", msg);
}

/* A tool's answer: the structured result and its text, or the error as text with isError. */
static json_t *tool_result(json_t *structured, const char *error)
{
    json_t *r;
    char *text;

    if (error)
        return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", error,
                         "isError", 1);
    text = json_dumps(structured, JSON_COMPACT | JSON_ENSURE_ASCII);
    r = text ? json_pack("{s:[{s:s, s:s}], s:O, s:b}", "content", "type", "text", "text", text,
                         "structuredContent", structured, "isError", 0)
             : NULL;
    free(text);
    return r;
}

/* ---- the methods ---------------------------------------------------------------------- */

static json_t *m_initialize(struct ad_mcp *m, const json_t *id, const json_t *params)
{
    const char *want = json_string_value(json_object_get(params, "protocolVersion"));
    const char *agreed = ad_mcp_protocol_versions[0];

    if (m->initialized)
        return reply_err(id, RPC_INVALID, "initialize was answered already in this session");
    if (!want)
        return reply_err(id, RPC_PARAMS, "initialize needs params.protocolVersion (a string)");
    for (size_t i = 0; ad_mcp_protocol_versions[i]; i++) {
        if (!strcmp(want, ad_mcp_protocol_versions[i]))
            agreed = ad_mcp_protocol_versions[i];
    }
    snprintf(m->proto, sizeof(m->proto), "%s", agreed);
    m->initialized = 1;
    AD_LOG(AD_LOG_INFO, "mcp: initialized, protocol %s, tenant %s, role %s", agreed,
           m->tenant_id, m->role);
    return reply_ok(id, json_pack(
        "{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion", agreed,
        "capabilities", "tools", "listChanged", 0,
        "serverInfo", "name", "autodev", "title", "autodev", "version", m->version,
        "instructions",
        "autodev learns skills from agents' episodes. Record outcomes with episode_record, "
        "find and run catalog skills (skill_search, skill_run, task_run), look at what it "
        "learned (candidates_list, candidate_show, mutations_list), and run autoresearch on a "
        "git repository (research_setup, then research_edit, research_run, research_decide "
        "per iteration, research_finalize). Review actions need confirm: true after a person "
        "agreed."));
}

static int visible(const struct ad_mcp *m, const struct ad__mcp_tool *t)
{
    return (t->access & m->access) != 0;
}

static json_t *m_tools_list(struct ad_mcp *m, const json_t *id, const json_t *params)
{
    const json_t *cj = json_object_get(params, "cursor");
    const struct ad__mcp_tool *tools;
    struct ad_err err = AD_ERR_INIT;
    size_t n, from = 0, seen = 0;
    json_t *list = json_array(), *r;
    char next[32] = "";

    tools = ad__mcp_tools(&n);
    if (cj && !json_is_null(cj)) {
        const char *c = json_string_value(cj);
        char *end = NULL;
        unsigned long long v = c && *c >= '0' && *c <= '9' ? strtoull(c, &end, 10) : 0;

        if (!c || !end || *end || v > n) {
            json_decref(list);
            return reply_err(id, RPC_PARAMS, "invalid cursor '%s': pass a nextCursor given",
                             c ? c : "(not a string)");
        }
        from = (size_t)v;
    }
    /* The cursor counts the tools this session sees: the same list page after page. */
    for (size_t i = 0; list && i < n; i++) {
        if (!visible(m, &tools[i]))
            continue;
        if (seen++ < from)
            continue;
        if (json_array_size(list) == (size_t)m->page_size) {
            snprintf(next, sizeof(next), "%zu", from + (size_t)m->page_size);
            break;
        }
        if (json_array_append_new(list, ad__mcp_tool_json(&tools[i], &err)) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    if (!list)
        return reply_err(id, RPC_INTERNAL, "cannot list the tools: %s",
                         err.msg[0] ? err.msg : "out of memory");
    r = json_pack("{s:o}", "tools", list);
    if (r && next[0] && json_object_set_new(r, "nextCursor", json_string(next)) < 0)
        r = (json_decref(r), NULL);
    return reply_ok(id, r);
}

static json_t *m_tools_call(struct ad_mcp *m, const json_t *id, const json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    const json_t *args = json_object_get(params, "arguments");
    const struct ad__mcp_tool *t = name ? ad__mcp_tool_find(name) : NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad__mcp_call c = {
        .rt = m->rt, .st = ad_runtime_store(m->rt), .bus = ad_runtime_bus(m->rt),
        .tenant_id = m->tenant_id, .reviewer = m->reviewer,
    };
    json_t *out = NULL, *owned = NULL, *r;
    int rc;

    if (!name)
        return reply_err(id, RPC_PARAMS, "tools/call needs params.name (a string)");
    /* A tool this session may not see is unknown to it, as tools/list says. */
    if (!t || !visible(m, t))
        return reply_err(id, RPC_PARAMS, "unknown tool '%s'", name);
    if (args && !json_is_null(args) && !json_is_object(args))
        return reply_err(id, RPC_PARAMS, "tool '%s': arguments must be an object", name);
    if (!args || json_is_null(args))
        args = owned = json_object();
    rc = ad__mcp_tool_check(t, args, &err);
    if (rc < 0) {
        json_decref(owned);
        return reply_err(id, rc == AD_EINVAL ? RPC_PARAMS : RPC_INTERNAL, "tool '%s': %s", name,
                         err.msg);
    }
    rc = ad__mcp_tool_run(t, &c, args, &out, &err);
    json_decref(owned);
    AD_LOG(rc < 0 ? AD_LOG_WARN : AD_LOG_INFO, "mcp: %s: %s", name,
           rc < 0 ? err.msg : "ok");
    if (rc < 0)
        return reply_ok(id, tool_result(NULL, err.msg[0] ? err.msg : ad_strerror(rc)));
    r = tool_result(out, NULL);
    json_decref(out);
    return r ? reply_ok(id, r) : reply_err(id, RPC_INTERNAL, "out of memory");
}

static json_t *request(struct ad_mcp *m, const json_t *id, const char *method,
                       const json_t *params)
{
    if (!strcmp(method, "initialize"))
        return m_initialize(m, id, params);
    /* A ping is allowed at any time, before initialize too. */
    if (!strcmp(method, "ping"))
        return reply_ok(id, json_object());
    if (!m->initialized)
        return reply_err(id, RPC_INVALID, "'%s' before initialize: send initialize first",
                         method);
    if (!strcmp(method, "tools/list"))
        return m_tools_list(m, id, params);
    if (!strcmp(method, "tools/call"))
        return m_tools_call(m, id, params);
    return reply_err(id, RPC_METHOD, "unknown method '%s'", method);
}

/* A notification gets no answer, whatever it says; an unknown one is ignored. */
static void notification(struct ad_mcp *m, const char *method, const json_t *params)
{
    if (!strcmp(method, "notifications/cancelled"))
        cancel_note(m, json_object_get(params, "requestId"));
    else if (!strcmp(method, "notifications/initialized"))
        AD_LOG(AD_LOG_DEBUG, "mcp: the client is ready");
}

static json_t *handle_one(struct ad_mcp *m, const json_t *msg)
{
    const json_t *id, *params, *method;
    const char *rpc;
    json_t *r;

    if (!json_is_object(msg))
        return reply_err(NULL, RPC_INVALID, "a message is a JSON object");
    id = json_object_get(msg, "id");
    method = json_object_get(msg, "method");
    params = json_object_get(msg, "params");
    rpc = json_string_value(json_object_get(msg, "jsonrpc"));
    if (id && !json_is_string(id) && !json_is_integer(id))
        return reply_err(NULL, RPC_INVALID, "\"id\" must be a string or an integer");
    if (!rpc || strcmp(rpc, "2.0") != 0)
        return reply_err(id, RPC_INVALID, "\"jsonrpc\" must be \"2.0\"");
    if (!method && (json_object_get(msg, "result") || json_object_get(msg, "error")))
        return NULL;   /* a response: this server sends no requests, so nothing waits for it */
    if (!json_is_string(method))
        return reply_err(id, RPC_INVALID, "\"method\" must be a string");
    if (params && !json_is_object(params))
        return reply_err(id, RPC_PARAMS, "\"params\" must be an object");
    if (!id) {
        notification(m, json_string_value(method), params);
        return NULL;
    }
    if (cancel_seen(m, id, 1))
        return NULL;
    r = request(m, id, json_string_value(method), params);
    if (cancel_seen(m, id, 1)) {
        AD_LOG(AD_LOG_INFO, "mcp: %s was cancelled: its answer is dropped",
               json_string_value(method));
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *handle_msg(struct ad_mcp *m, const json_t *msg)
{
    json_t *all;

    if (!json_is_array(msg))
        return handle_one(m, msg);
    /* Batches were part of 2025-03-26 only (added then, removed in 2025-06-18). */
    if (strcmp(m->proto, "2025-03-26") != 0 || json_array_size(msg) == 0)
        return reply_err(NULL, RPC_INVALID, "a batch (JSON array) is not accepted in "
                         "protocol %s", m->proto[0] ? m->proto : "negotiation");
    all = json_array();
    for (size_t i = 0; all && i < json_array_size(msg); i++) {
        json_t *r = handle_one(m, json_array_get(msg, i));

        if (r && json_array_append_new(all, r) < 0)
            all = (json_decref(all), NULL);
    }
    if (all && json_array_size(all) == 0)
        all = (json_decref(all), NULL);
    return all;
}

/* A line's parse error, naming where. */
static json_t *parse_error(const json_error_t *jerr)
{
    return reply_err(NULL, RPC_PARSE, "parse error: %s (column %d)", jerr->text, jerr->column);
}

json_t *ad_mcp_handle_line(struct ad_mcp *m, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *msg, *r;

    if (len > m->max_line)
        return reply_err(NULL, RPC_PARSE, "a line of more than %zu bytes is refused",
                         m->max_line);
    msg = json_loadb(line, len, 0, &jerr);
    if (!msg)
        return parse_error(&jerr);
    r = handle_msg(m, msg);
    json_decref(msg);
    return r;
}

/* ---- the stdio loop ----------------------------------------------------------------------- */

/* A line the reader parsed: the message, or the error to answer. */
struct item {
    struct item *next;
    json_t *msg;
    json_t *error;
};

struct reader {
    struct ad_mcp *m;
    int fd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct item *head, *tail;
    int done;                  /* end of input (or a read error) */
    char *line;                /* the line being read: kept here, so a cancel leaks nothing */
    size_t len, cap;
    int overflow;              /* the line went past max_line: skip to its end */
};

static void push(struct reader *rd, json_t *msg, json_t *error)
{
    struct item *it = calloc(1, sizeof(*it));

    if (!it) {
        json_decref(msg);
        json_decref(error);
        return;
    }
    it->msg = msg;
    it->error = error;
    pthread_mutex_lock(&rd->lock);
    if (rd->tail)
        rd->tail->next = it;
    else
        rd->head = it;
    rd->tail = it;
    pthread_cond_signal(&rd->cond);
    pthread_mutex_unlock(&rd->lock);
}

/* One whole line: skipped when blank, else parsed; a cancellation is noted at once. */
static void line_done(struct reader *rd)
{
    json_error_t jerr;
    size_t len = rd->len;
    json_t *msg;

    rd->len = 0;
    if (rd->overflow) {
        rd->overflow = 0;
        push(rd, NULL, reply_err(NULL, RPC_PARSE, "a line of more than %zu bytes is refused",
                                 rd->m->max_line));
        return;
    }
    while (len > 0 && strchr(" \t\r", rd->line[len - 1]))
        len--;
    if (len == 0)
        return;
    msg = json_loadb(rd->line, len, 0, &jerr);
    if (!msg) {
        push(rd, NULL, parse_error(&jerr));
        return;
    }
    if (json_is_object(msg) && !json_object_get(msg, "id") &&
        !strcmp(json_string_value(json_object_get(msg, "method")) ?
                json_string_value(json_object_get(msg, "method")) : "",
                "notifications/cancelled"))
        cancel_note(rd->m, json_object_get(json_object_get(msg, "params"), "requestId"));
    push(rd, msg, NULL);
}

/* Appends p[0..n) to the line, or only notes the overflow past max_line. */
static int line_add(struct reader *rd, const char *p, size_t n)
{
    if (rd->overflow)
        return 0;
    if (rd->len + n > rd->m->max_line) {
        rd->overflow = 1;
        return 0;
    }
    if (rd->len + n + 1 > rd->cap) {
        size_t cap = rd->cap ? rd->cap : 4096;
        char *nl;

        while (cap < rd->len + n + 1)
            cap *= 2;
        nl = realloc(rd->line, cap);
        if (!nl)
            return -1;
        rd->line = nl;
        rd->cap = cap;
    }
    memcpy(rd->line + rd->len, p, n);
    rd->len += n;
    return 0;
}

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    char buf[65536];

    for (;;) {
        ssize_t got = read(rd->fd, buf, sizeof(buf));
        size_t at = 0;

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        while (at < (size_t)got) {
            char *nl = memchr(buf + at, '\n', (size_t)got - at);
            size_t n = nl ? (size_t)(nl - (buf + at)) : (size_t)got - at;

            if (line_add(rd, buf + at, n) < 0) {
                AD_LOG(AD_LOG_ERROR, "mcp: out of memory reading a line");
                goto out;
            }
            at += n;
            if (nl) {
                line_done(rd);
                at++;
            }
        }
    }
    if (rd->len > 0 || rd->overflow)
        line_done(rd);
out:
    pthread_mutex_lock(&rd->lock);
    rd->done = 1;
    pthread_cond_signal(&rd->cond);
    pthread_mutex_unlock(&rd->lock);
    return NULL;
}

/* The next item, waiting for one; NULL at the end of input. */
static struct item *pop(struct reader *rd)
{
    struct item *it;

    pthread_mutex_lock(&rd->lock);
    while (!rd->head && !rd->done)
        pthread_cond_wait(&rd->cond, &rd->lock);
    it = rd->head;
    if (it) {
        rd->head = it->next;
        if (!rd->head)
            rd->tail = NULL;
    }
    pthread_mutex_unlock(&rd->lock);
    return it;
}

static int write_msg(FILE *out, const json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
    int bad;

    if (!s)
        return -1;
    bad = fputs(s, out) < 0 || fputc('\n', out) == EOF || fflush(out) != 0;
    free(s);
    return bad ? -1 : 0;
}

int ad_mcp_serve(struct ad_mcp *m, int in_fd, FILE *out, struct ad_err *err)
{
    struct reader rd = { .m = m, .fd = in_fd };
    struct item *it;
    pthread_t tid;
    int rc = 0, done;

    pthread_mutex_init(&rd.lock, NULL);
    pthread_cond_init(&rd.cond, NULL);
    if (pthread_create(&tid, NULL, reader_main, &rd) != 0) {
        rc = ad_error(err, AD_EIO, "cannot start the reading thread");
        goto out;
    }
    while (rc == 0 && (it = pop(&rd))) {
        json_t *reply = it->error ? json_incref(it->error) : handle_msg(m, it->msg);

        if (reply && write_msg(out, reply) < 0)
            rc = ad_error(err, AD_EIO, "cannot write to standard output: %s", strerror(errno));
        json_decref(reply);
        json_decref(it->msg);
        json_decref(it->error);
        free(it);
    }
    pthread_mutex_lock(&rd.lock);
    done = rd.done;
    pthread_mutex_unlock(&rd.lock);
    /* Only a failed write leaves the reader in read(), a cancellation point. */
    if (!done)
        pthread_cancel(tid);
    pthread_join(tid, NULL);
    while ((it = rd.head)) {
        rd.head = it->next;
        json_decref(it->msg);
        json_decref(it->error);
        free(it);
    }
out:
    free(rd.line);
    pthread_cond_destroy(&rd.cond);
    pthread_mutex_destroy(&rd.lock);
    return rc;
}
