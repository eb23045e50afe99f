/*
 * Provider "openai": the Chat Completions wire format, which Ollama,
 * llama.cpp's server and vLLM also speak at their /v1 base URLs.
 *
 * Quirks tolerated, because compatible servers differ from the reference:
 * error bodies that are flat ({"error": "text"}, {"detail": ...}); streamed
 * tool-call deltas without "index" (a new id starts a new call, otherwise
 * the pieces belong to the last one); "arguments" sent as a JSON object
 * rather than a string; "content" null next to tool calls.
 *
 * Sections: the request; the reply; the stream; the wire.
 */
#include "compat.h"

#include <strings.h>

#include "autodev/json.h"

#include "llm_int.h"

/* ---- the request -------------------------------------------------------- */

/*
 * OpenAI's reasoning models refuse max_tokens and want
 * max_completion_tokens; compatible servers (Ollama, vLLM, llama.cpp) know
 * only max_tokens. So: the new name for those model families, else the old.
 */
static const char *max_tokens_field(const char *model)
{
    static const char *const newer[] = { "o1", "o3", "o4", "gpt-5" };
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(newer); i++) {
        if (!strncmp(model, newer[i], strlen(newer[i])))
            return "max_completion_tokens";
    }
    return "max_tokens";
}

static const char *role_name(enum ad_llm_role r)
{
    switch (r) {
    case AD_LLM_SYSTEM: return "system";
    case AD_LLM_ASSISTANT: return "assistant";
    case AD_LLM_TOOL: return "tool";
    default: return "user";
    }
}

static json_t *message_json(const struct ad_llm_message *m)
{
    json_t *o = json_object(), *calls, *c;
    size_t i;

    json_object_set_new(o, "role", json_string(role_name(m->role)));
    json_object_set_new(o, "content", m->content ? json_string(m->content) : json_null());
    if (m->role == AD_LLM_TOOL)
        json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id ? m->tool_call_id : ""));
    if (m->ncalls == 0)
        return o;
    calls = json_array();
    for (i = 0; i < m->ncalls; i++) {
        c = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", m->calls[i].id, "type", "function",
                      "function", "name", m->calls[i].name, "arguments",
                      m->calls[i].arguments ? m->calls[i].arguments : "{}");
        json_array_append_new(calls, c);
    }
    json_object_set_new(o, "tool_calls", calls);
    return o;
}

static json_t *tools_json(const struct ad_llm_request *req)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < req->ntools; i++) {
        const struct ad_llm_tool *t = &req->tools[i];
        json_t *params = t->parameters ? json_deep_copy(t->parameters)
                                       : json_pack("{s:s, s:{}}", "type", "object", "properties");

        json_array_append_new(a, json_pack("{s:s, s:{s:s, s:s, s:o}}", "type", "function",
                                           "function", "name", t->name, "description",
                                           t->description ? t->description : "",
                                           "parameters", params));
    }
    return a;
}

static json_t *request_json(const struct ad_llm_request *req, const char *model)
{
    json_t *o = json_object(), *msgs = json_array();
    size_t i;

    json_object_set_new(o, "model", json_string(model));
    for (i = 0; i < req->nmessages; i++)
        json_array_append_new(msgs, message_json(&req->messages[i]));
    json_object_set_new(o, "messages", msgs);
    json_object_set_new(o, max_tokens_field(model), json_integer(ad__llm_max_tokens(req)));
    if (req->temperature >= 0)
        json_object_set_new(o, "temperature", json_real(req->temperature));
    if (req->seed >= 0)
        json_object_set_new(o, "seed", json_integer(req->seed));
    if (req->ntools > 0)
        json_object_set_new(o, "tools", tools_json(req));
    if (req->json_schema)
        json_object_set_new(o, "response_format",
                            json_pack("{s:s, s:{s:s, s:O, s:b}}", "type", "json_schema",
                                      "json_schema", "name",
                                      req->schema_name ? req->schema_name : "result", "schema",
                                      req->json_schema, "strict", 1));
    if (req->on_delta) {
        json_object_set_new(o, "stream", json_true());
        json_object_set_new(o, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    return o;
}

/* ---- the reply ---------------------------------------------------------- */

/* "arguments" is a string by the spec; some servers send the object itself. */
static int add_call_json(struct ad_llm_response *resp, json_t *call)
{
    json_t *fn = json_object_get(call, "function"), *args = json_object_get(fn, "arguments");
    const char *id = json_string_value(json_object_get(call, "id"));
    const char *name = json_string_value(json_object_get(fn, "name"));
    char *dumped = NULL;
    int rc;

    if (!name)
        return AD_EINVAL;
    if (args && !json_is_string(args))
        dumped = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
    rc = ad__llm_add_call(resp, id, id ? strlen(id) : 0, name, strlen(name),
                          dumped ? dumped : json_string_value(args),
                          dumped ? strlen(dumped) : json_is_string(args) ? json_string_length(args)
                                                                         : 0);
    free(dumped);
    return rc;
}

static const char *normal_finish(const char *f)
{
    if (!f || !strcmp(f, "stop"))
        return "stop";
    if (!strcmp(f, "length"))
        return "length";
    if (!strcmp(f, "tool_calls") || !strcmp(f, "function_call"))
        return "tool_calls";
    return f;
}

/* Counts as the server wrote them: ad_llm_complete clamps them, and notes it. */
static void usage_from(json_t *u, struct ad_llm_usage *out)
{
    ad__llm_json_count(json_object_get(u, "prompt_tokens"), &out->prompt_tokens);
    ad__llm_json_count(json_object_get(u, "completion_tokens"), &out->completion_tokens);
}

static int parse_reply(const struct ad_llm_request *req, const char *body, size_t len,
                       struct ad_llm_response *resp, struct ad_err *err)
{
    json_t *v, *choice, *msg, *calls, *content;
    size_t i;
    int rc = 0;

    if (ad_json_parse(body, len, AD__LLM_MAX_BODY, &v, err))
        return ad_error_prefix(err, "reply is not JSON");
    choice = json_array_get(json_object_get(v, "choices"), 0);
    msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        json_decref(v);
        return ad_error(err, AD_EINVAL, "reply has no choices[0].message");
    }
    content = json_object_get(msg, "content");
    resp->text = strdup(json_is_string(content) ? json_string_value(content) : "");
    calls = json_object_get(msg, "tool_calls");
    for (i = 0; !rc && i < json_array_size(calls); i++)
        rc = add_call_json(resp, json_array_get(calls, i));
    resp->finish_reason = strdup(normal_finish(json_string_value(
        json_object_get(choice, "finish_reason"))));
    usage_from(json_object_get(v, "usage"), &resp->usage);
    if (json_is_string(json_object_get(v, "id")) && !resp->request_id)
        resp->request_id = strdup(json_string_value(json_object_get(v, "id")));
    json_decref(v);
    if (rc == AD_EINVAL)
        return ad_error(err, AD_EINVAL, "reply has a tool call without a function name");
    if (rc == AD_ETOOBIG)
        return ad_error(err, AD_EINVAL, "reply has more than %d tool calls", AD__LLM_MAX_CALLS);
    if (rc || !resp->text || !resp->finish_reason)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/* ---- the stream --------------------------------------------------------- */

struct stream {
    const struct ad_llm_request *req;
    struct ad_llm_response *resp;
    struct ad_buf text;
    struct ad_buf *args;       /* per call */
    int *announced;            /* per call: on_delta told of it */
    size_t nargs;
    int done, failed, aborted;
    struct ad_buf error;
};

static int stream_grow(struct stream *s)
{
    struct ad_buf *a = realloc(s->args, (s->nargs + 1) * sizeof(*a));
    int *an;

    if (!a)
        return AD_ENOMEM;
    s->args = a;
    an = realloc(s->announced, (s->nargs + 1) * sizeof(*an));
    if (!an)
        return AD_ENOMEM;
    s->announced = an;
    ad_buf_init(&s->args[s->nargs], AD__LLM_MAX_BODY);
    s->announced[s->nargs] = 0;
    s->nargs++;
    return ad__llm_add_call(s->resp, NULL, 0, NULL, 0, NULL, 0);
}

static int replace(char **dst, const char *src)
{
    char *c = strdup(src);

    if (!c)
        return AD_ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

/* Which call a delta belongs to: by index, else by a new id, else the last. */
static int delta_slot(struct stream *s, json_t *d, size_t *slot)
{
    json_t *idx = json_object_get(d, "index");
    const char *id = json_string_value(json_object_get(d, "id"));
    int rc = 0;

    if (json_is_integer(idx)) {
        if (json_integer_value(idx) < 0 || json_integer_value(idx) >= AD__LLM_MAX_CALLS)
            return AD_EINVAL;
        while (!rc && s->nargs <= (size_t)json_integer_value(idx))
            rc = stream_grow(s);
        *slot = (size_t)json_integer_value(idx);
        return rc;
    }
    if (s->nargs == 0 || (id && *id && strcmp(id, s->resp->calls[s->nargs - 1].id) &&
                          *s->resp->calls[s->nargs - 1].id)) {
        if (s->nargs >= AD__LLM_MAX_CALLS)
            return AD_EINVAL;
        rc = stream_grow(s);
    }
    *slot = s->nargs - 1;
    return rc;
}

static int stream_tool_delta(struct stream *s, json_t *d)
{
    json_t *fn = json_object_get(d, "function"), *args = json_object_get(fn, "arguments");
    const char *id = json_string_value(json_object_get(d, "id"));
    const char *name = json_string_value(json_object_get(fn, "name"));
    struct ad_llm_tool_call *c;
    size_t slot;
    int rc = delta_slot(s, d, &slot);

    if (rc)
        return rc;
    c = &s->resp->calls[slot];
    if (id && *id && (rc = replace(&c->id, id)))
        return rc;
    if (name && *name && (rc = replace(&c->name, name)))
        return rc;
    if (json_is_string(args))
        rc = ad_buf_add(&s->args[slot], json_string_value(args), json_string_length(args));
    else if (args && !json_is_null(args))
        rc = ad_json_dump(args, &s->args[slot]);
    if (!rc && *c->name && !s->announced[slot] && s->req->on_delta) {
        s->announced[slot] = 1;
        if (s->req->on_delta(s->req->delta_arg, "tool", c->name, strlen(c->name)))
            s->aborted = 1;
    }
    return rc;
}

static int stream_chunk(struct stream *s, json_t *v)
{
    json_t *choice = json_array_get(json_object_get(v, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta"), *content, *calls;
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    size_t i;
    int rc = 0;

    if (json_object_get(v, "usage") && !json_is_null(json_object_get(v, "usage")))
        usage_from(json_object_get(v, "usage"), &s->resp->usage);
    if (!s->resp->request_id && json_is_string(json_object_get(v, "id")))
        s->resp->request_id = strdup(json_string_value(json_object_get(v, "id")));
    content = json_object_get(delta, "content");
    if (json_is_string(content) && json_string_length(content) > 0) {
        rc = ad_buf_add(&s->text, json_string_value(content), json_string_length(content));
        if (!rc && s->req->on_delta &&
            s->req->on_delta(s->req->delta_arg, "text", json_string_value(content),
                             json_string_length(content)))
            s->aborted = 1;
    }
    calls = json_object_get(delta, "tool_calls");
    for (i = 0; !rc && i < json_array_size(calls); i++)
        rc = stream_tool_delta(s, json_array_get(calls, i));
    if (!rc && finish)
        rc = replace(&s->resp->finish_reason, normal_finish(finish));
    return rc;
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
    struct stream *s = arg;
    json_t *v, *e;
    int rc;

    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        s->done = 1;
        return 0;
    }
    v = json_loadb(data, len, 0, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        s->failed = 1;
        ad_buf_adds(&s->error, "a stream event is not a JSON object");
        return 1;
    }
    e = json_object_get(v, "error");
    if (e) {
        char code[64];

        ad__llm_error_text(data, len, &s->error, code, sizeof(code));
        s->failed = 1;
        json_decref(v);
        return 1;
    }
    rc = stream_chunk(s, v);
    json_decref(v);
    if (rc) {
        s->failed = 1;
        ad_buf_adds(&s->error, rc == AD_EINVAL ? "a tool call index is out of range"
                               : rc == AD_ETOOBIG ? "the reply is too large"
                                                  : "out of memory");
    }
    return rc || s->aborted;
}

static int stream_finish(struct stream *s, struct ad_err *err)
{
    size_t i;

    if (s->failed)
        return ad_error(err, AD_EINVAL, "stream failed: %s", s->error.ptr);
    if (s->aborted)
        return ad_error(err, AD_EINVAL, "stream aborted by the caller");
    if (!s->done && !s->resp->finish_reason)
        return ad_error(err, AD_EIO, "stream ended before [DONE]");
    for (i = 0; i < s->nargs; i++) {
        free(s->resp->calls[i].arguments);
        s->resp->calls[i].arguments = ad_buf_detach(&s->args[i], NULL);
        if (!*s->resp->calls[i].name)
            return ad_error(err, AD_EINVAL, "streamed tool call %zu has no name", i);
    }
    s->resp->text = ad_buf_detach(&s->text, NULL);
    return s->resp->text ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}

static void stream_release(struct stream *s)
{
    size_t i;

    for (i = 0; i < s->nargs; i++)
        ad_buf_release(&s->args[i]);
    free(s->args);
    free(s->announced);
    ad_buf_release(&s->text);
    ad_buf_release(&s->error);
}

/* ---- the wire ---------------------------------------------------------- */

static void stream_init(void *p, const struct ad_llm_request *req, struct ad_llm_response *resp)
{
    struct stream *s = p;

    memset(s, 0, sizeof(*s));
    s->req = req;
    s->resp = resp;
    ad_buf_init(&s->text, AD__LLM_MAX_BODY);
    ad_buf_init(&s->error, 4096);
}

static int stream_finish_v(void *s, struct ad_err *err)
{
    return stream_finish(s, err);
}

static void stream_release_v(void *s)
{
    stream_release(s);
}

/* A quota that is gone is not a rate limit: waiting will not bring it back. */
static const char *const quota_markers[] = {
    "insufficient_quota", "billing_hard_limit_reached", "exceeded your current quota", NULL,
};

const struct ad__llm_wire ad__llm_openai_wire = {
    .url_env = "OPENAI_BASE_URL",
    .default_url = "https://api.openai.com/v1",
    .key_env = "OPENAI_API_KEY",
    .path = "/chat/completions",
    .key_header = "Authorization: Bearer ",
    .quota = quota_markers,
    .request = request_json,
    .parse = parse_reply,
    .stream_size = sizeof(struct stream),
    .stream_init = stream_init,
    .on_event = on_event,
    .stream_finish = stream_finish_v,
    .stream_release = stream_release_v,
};

static int openai_init(struct ad__llm_entry *e, struct ad_err *err)
{
    return ad__llm_wire_init(&ad__llm_openai_wire, e, err);
}

static int openai_attempt(struct ad__llm_entry *e, const struct ad_llm_request *req,
                          struct ad_llm_response *resp, struct ad__llm_failure *f,
                          struct ad_err *err)
{
    return ad__llm_wire_attempt(&ad__llm_openai_wire, e, req, resp, f, err);
}

const struct ad__llm_ops ad__llm_openai_ops = {
    .name = "openai",
    .init = openai_init,
    .attempt = openai_attempt,
};
