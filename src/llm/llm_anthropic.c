/*
 * Provider "anthropic": the Messages API.
 *
 * System messages become the top-level "system" string; tool results go
 * back as tool_result blocks in a user message; an assistant turn with tool
 * calls is text plus tool_use blocks. Structured output is asked for the
 * documented way that works on every model: one tool whose input schema is
 * the wanted schema, forced with tool_choice; its input is the answer.
 *
 * Sections: the request; the reply; the stream; the wire.
 */
#include "compat.h"

#include "autodev/json.h"

#include "llm_int.h"


/* ---- the request -------------------------------------------------------- */

/* The arguments of a call in the history as an object (invalid JSON: {}). */
static json_t *call_input(const char *args)
{
    json_t *v = args ? json_loads(args, 0, NULL) : NULL;

    if (!json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    return v;
}

static json_t *assistant_blocks(const struct ad_llm_message *m)
{
    json_t *a = json_array();
    size_t i;

    if (m->content && *m->content)
        json_array_append_new(a, json_pack("{s:s, s:s}", "type", "text", "text", m->content));
    for (i = 0; i < m->ncalls; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id",
                                           m->calls[i].id, "name", m->calls[i].name, "input",
                                           call_input(m->calls[i].arguments)));
    return a;
}

/* Consecutive tool results share one user message, as the API requires. */
static void add_message(json_t *msgs, const struct ad_llm_message *m)
{
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1), *block;

    if (m->role == AD_LLM_TOOL) {
        block = json_pack("{s:s, s:s, s:s}", "type", "tool_result", "tool_use_id",
                          m->tool_call_id ? m->tool_call_id : "", "content",
                          m->content ? m->content : "");
        if (last && !strcmp(json_string_value(json_object_get(last, "role")), "user") &&
            json_is_array(json_object_get(last, "content"))) {
            json_array_append_new(json_object_get(last, "content"), block);
            return;
        }
        json_array_append_new(msgs, json_pack("{s:s, s:[o]}", "role", "user", "content", block));
    } else if (m->role == AD_LLM_ASSISTANT && m->ncalls > 0) {
        json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", "assistant", "content",
                                              assistant_blocks(m)));
    } else {
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role",
                                              m->role == AD_LLM_ASSISTANT ? "assistant" : "user",
                                              "content", m->content ? m->content : ""));
    }
}

static json_t *tools_json(const struct ad_llm_request *req)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < req->ntools; i++) {
        const struct ad_llm_tool *t = &req->tools[i];
        json_t *schema = t->parameters ? json_deep_copy(t->parameters)
                                       : json_pack("{s:s, s:{}}", "type", "object", "properties");

        json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "name", t->name, "description",
                                           t->description ? t->description : "", "input_schema",
                                           schema));
    }
    return a;
}

static json_t *request_json(const struct ad_llm_request *req, const char *model)
{
    json_t *o = json_object(), *msgs = json_array(), *tools;
    struct ad_buf system = AD_BUF_INIT;
    const char *name = req->schema_name ? req->schema_name : "result";
    size_t i;

    json_object_set_new(o, "model", json_string(model));
    json_object_set_new(o, "max_tokens", json_integer(ad__llm_max_tokens(req)));
    for (i = 0; i < req->nmessages; i++) {
        const struct ad_llm_message *m = &req->messages[i];

        if (m->role == AD_LLM_SYSTEM)
            ad_buf_addf(&system, "%s%s", system.len ? "\n\n" : "", m->content ? m->content : "");
        else
            add_message(msgs, m);
    }
    if (system.len)
        json_object_set_new(o, "system", json_string(system.ptr));
    ad_buf_release(&system);
    json_object_set_new(o, "messages", msgs);
    if (req->temperature >= 0)
        json_object_set_new(o, "temperature", json_real(req->temperature));
    tools = tools_json(req);
    if (req->json_schema) {
        json_array_append_new(tools, json_pack("{s:s, s:s, s:O}", "name", name, "description",
                                               "Return the result in this structure.",
                                               "input_schema", req->json_schema));
        json_object_set_new(o, "tool_choice", json_pack("{s:s, s:s}", "type", "tool", "name", name));
    }
    if (json_array_size(tools) > 0)
        json_object_set_new(o, "tools", tools);
    else
        json_decref(tools);
    if (req->on_delta)
        json_object_set_new(o, "stream", json_true());
    return o;
}

/* ---- the reply ---------------------------------------------------------- */

static const char *normal_stop(const char *s)
{
    if (!s || !strcmp(s, "end_turn") || !strcmp(s, "stop_sequence"))
        return "stop";
    if (!strcmp(s, "max_tokens"))
        return "length";
    if (!strcmp(s, "tool_use"))
        return "tool_calls";
    return s;
}

/* Counts as the server wrote them: ad_llm_complete clamps them, and notes it. */
static void usage_from(json_t *u, struct ad_llm_usage *out)
{
    ad__llm_json_count(json_object_get(u, "input_tokens"), &out->prompt_tokens);
    ad__llm_json_count(json_object_get(u, "output_tokens"), &out->completion_tokens);
}

/*
 * A forced structured-output tool is not a tool call for the caller: its
 * input becomes the text, and the finish reason is "stop".
 */
static int unwrap_schema(const struct ad_llm_request *req, struct ad_llm_response *resp)
{
    const char *name = req->schema_name ? req->schema_name : "result";
    size_t i;

    if (!req->json_schema)
        return 0;
    for (i = 0; i < resp->ncalls; i++) {
        if (strcmp(resp->calls[i].name, name))
            continue;
        free(resp->text);
        resp->text = resp->calls[i].arguments;
        resp->calls[i].arguments = NULL;
        free(resp->calls[i].id);
        free(resp->calls[i].name);
        memmove(&resp->calls[i], &resp->calls[i + 1], (resp->ncalls - i - 1) * sizeof(*resp->calls));
        resp->ncalls--;
        free(resp->finish_reason);
        resp->finish_reason = strdup("stop");
        return resp->finish_reason ? 0 : AD_ENOMEM;
    }
    return 0;
}

static int add_block(struct ad_llm_response *resp, json_t *b, struct ad_buf *text)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    const char *id = json_string_value(json_object_get(b, "id"));
    const char *name = json_string_value(json_object_get(b, "name"));
    char *args;
    int rc;

    if (type && !strcmp(type, "text"))
        return ad_buf_adds(text, json_string_value(json_object_get(b, "text")) ?: "");
    if (!type || strcmp(type, "tool_use"))
        return 0;   /* thinking and other blocks are not part of the answer */
    if (!name)
        return AD_EINVAL;
    args = json_dumps(json_object_get(b, "input") ?: json_object(), JSON_COMPACT);
    if (!args)
        return AD_ENOMEM;
    rc = ad__llm_add_call(resp, id, id ? strlen(id) : 0, name, strlen(name), args, strlen(args));
    free(args);
    return rc;
}

static int parse_reply(const struct ad_llm_request *req, const char *body, size_t len,
                       struct ad_llm_response *resp, struct ad_err *err)
{
    struct ad_buf text = AD_BUF_INIT;
    json_t *v, *content;
    size_t i;
    int rc = 0;

    if (ad_json_parse(body, len, AD__LLM_MAX_BODY, &v, err))
        return ad_error_prefix(err, "reply is not JSON");
    content = json_object_get(v, "content");
    if (!json_is_array(content)) {
        json_decref(v);
        return ad_error(err, AD_EINVAL, "reply has no content array");
    }
    for (i = 0; !rc && i < json_array_size(content); i++)
        rc = add_block(resp, json_array_get(content, i), &text);
    resp->text = ad_buf_detach(&text, NULL);
    resp->finish_reason = strdup(normal_stop(json_string_value(json_object_get(v, "stop_reason"))));
    usage_from(json_object_get(v, "usage"), &resp->usage);
    if (json_is_string(json_object_get(v, "id")))
        resp->request_id = strdup(json_string_value(json_object_get(v, "id")));
    json_decref(v);
    if (rc == AD_EINVAL)
        return ad_error(err, AD_EINVAL, "reply has a tool_use block without a name");
    if (rc == AD_ETOOBIG)
        return ad_error(err, AD_EINVAL, "reply has more than %d tool calls", AD__LLM_MAX_CALLS);
    if (!rc)
        rc = unwrap_schema(req, resp);
    if (rc || !resp->text || !resp->finish_reason)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/* ---- the stream --------------------------------------------------------- */

#define MAX_BLOCKS AD__LLM_MAX_CALLS

struct stream {
    const struct ad_llm_request *req;
    struct ad_llm_response *resp;
    struct ad_buf text;
    struct ad_buf json[MAX_BLOCKS];   /* tool_use input pieces per block index */
    int call_of[MAX_BLOCKS];          /* block index -> call index, -1 */
    int stopped, failed, aborted;
    struct ad_buf error;
};

static int block_index(json_t *v, size_t *out)
{
    json_t *i = json_object_get(v, "index");

    if (!json_is_integer(i) || json_integer_value(i) < 0 || json_integer_value(i) >= MAX_BLOCKS)
        return AD_EINVAL;
    *out = (size_t)json_integer_value(i);
    return 0;
}

static int on_block_start(struct stream *s, json_t *v)
{
    json_t *b = json_object_get(v, "content_block");
    const char *type = json_string_value(json_object_get(b, "type"));
    const char *id = json_string_value(json_object_get(b, "id"));
    const char *name = json_string_value(json_object_get(b, "name"));
    size_t i;
    int rc = block_index(v, &i);

    if (rc || !type || strcmp(type, "tool_use"))
        return rc;
    if (!name)
        return AD_EINVAL;
    s->call_of[i] = (int)s->resp->ncalls;
    rc = ad__llm_add_call(s->resp, id, id ? strlen(id) : 0, name, strlen(name), "", 0);
    if (!rc && s->req->on_delta && s->req->on_delta(s->req->delta_arg, "tool", name, strlen(name)))
        s->aborted = 1;
    return rc;
}

static int on_block_delta(struct stream *s, json_t *v)
{
    json_t *d = json_object_get(v, "delta");
    const char *type = json_string_value(json_object_get(d, "type"));
    json_t *piece;
    size_t i;
    int rc = block_index(v, &i);

    if (rc || !type)
        return rc;
    if (!strcmp(type, "text_delta")) {
        piece = json_object_get(d, "text");
        rc = ad_buf_add(&s->text, json_string_value(piece) ?: "", json_string_length(piece));
        if (!rc && s->req->on_delta &&
            s->req->on_delta(s->req->delta_arg, "text", json_string_value(piece) ?: "",
                             json_string_length(piece)))
            s->aborted = 1;
    } else if (!strcmp(type, "input_json_delta")) {
        piece = json_object_get(d, "partial_json");
        if (s->call_of[i] < 0)
            return AD_EINVAL;
        rc = ad_buf_add(&s->json[i], json_string_value(piece) ?: "", json_string_length(piece));
    }
    return rc;
}

static int stream_event(struct stream *s, const char *type, json_t *v)
{
    if (!strcmp(type, "message_start")) {
        json_t *m = json_object_get(v, "message");

        usage_from(json_object_get(m, "usage"), &s->resp->usage);
        if (json_is_string(json_object_get(m, "id")) && !s->resp->request_id)
            s->resp->request_id = strdup(json_string_value(json_object_get(m, "id")));
        return 0;
    }
    if (!strcmp(type, "content_block_start"))
        return on_block_start(s, v);
    if (!strcmp(type, "content_block_delta"))
        return on_block_delta(s, v);
    if (!strcmp(type, "message_delta")) {
        const char *stop = json_string_value(json_object_get(json_object_get(v, "delta"),
                                                             "stop_reason"));
        json_t *u = json_object_get(v, "usage");

        ad__llm_json_count(json_object_get(u, "output_tokens"), &s->resp->usage.completion_tokens);
        if (stop) {
            free(s->resp->finish_reason);
            s->resp->finish_reason = strdup(normal_stop(stop));
        }
        return 0;
    }
    if (!strcmp(type, "message_stop"))
        s->stopped = 1;
    return 0;   /* ping, content_block_stop and future event types */
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
    struct stream *s = arg;
    json_t *v = json_loadb(data, len, 0, NULL);
    const char *type = json_string_value(json_object_get(v, "type"));
    int rc;

    if (!json_is_object(v) || !type) {
        json_decref(v);
        s->failed = 1;
        ad_buf_adds(&s->error, "a stream event is not a JSON object with a type");
        return 1;
    }
    if (!strcmp(type, "error")) {
        char code[64];

        ad__llm_error_text(data, len, &s->error, code, sizeof(code));
        if (code[0])
            ad_buf_addf(&s->error, " (%s)", code);
        s->failed = 1;
        json_decref(v);
        return 1;
    }
    rc = stream_event(s, type, v);
    json_decref(v);
    if (rc) {
        s->failed = 1;
        ad_buf_addf(&s->error, "bad '%s' event", type);
    }
    return rc || s->aborted;
}

static int stream_finish(struct stream *s, struct ad_err *err)
{
    size_t i;

    if (s->failed)
        return ad_error(err, AD_EIO, "stream failed: %s", s->error.ptr);
    if (s->aborted)
        return ad_error(err, AD_EINVAL, "stream aborted by the caller");
    if (!s->stopped)
        return ad_error(err, AD_EIO, "stream ended before message_stop");
    for (i = 0; i < MAX_BLOCKS; i++) {
        struct ad_llm_tool_call *c;

        if (s->call_of[i] < 0)
            continue;
        c = &s->resp->calls[s->call_of[i]];
        free(c->arguments);
        c->arguments = s->json[i].len ? ad_buf_detach(&s->json[i], NULL) : strdup("{}");
        if (!c->arguments)
            return ad_error(err, AD_ENOMEM, "out of memory");
    }
    s->resp->text = ad_buf_detach(&s->text, NULL);
    if (!s->resp->text || unwrap_schema(s->req, s->resp))
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

static void stream_init(struct stream *s, const struct ad_llm_request *req,
                        struct ad_llm_response *resp)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    s->req = req;
    s->resp = resp;
    ad_buf_init(&s->text, AD__LLM_MAX_BODY);
    ad_buf_init(&s->error, 4096);
    for (i = 0; i < MAX_BLOCKS; i++) {
        ad_buf_init(&s->json[i], AD__LLM_MAX_BODY);
        s->call_of[i] = -1;
    }
}

static void stream_release(struct stream *s)
{
    size_t i;

    for (i = 0; i < MAX_BLOCKS; i++)
        ad_buf_release(&s->json[i]);
    ad_buf_release(&s->text);
    ad_buf_release(&s->error);
}

/* ---- the wire ---------------------------------------------------------- */

static void stream_init_v(void *s, const struct ad_llm_request *req,
                          struct ad_llm_response *resp)
{
    stream_init(s, req, resp);
}

static int stream_finish_v(void *s, struct ad_err *err)
{
    return stream_finish(s, err);
}

static void stream_release_v(void *s)
{
    stream_release(s);
}

/* No credit left is a billing error (or a 400 saying so): never retried. */
static const char *const quota_markers[] = {
    "billing_error", "credit balance is too low", NULL,
};

const struct ad__llm_wire ad__llm_anthropic_wire = {
    .url_env = "ANTHROPIC_BASE_URL",
    .default_url = "https://api.anthropic.com",
    .key_env = "ANTHROPIC_API_KEY",
    .path = "/v1/messages",
    .key_header = "x-api-key: ",
    .extra_header = "anthropic-version: 2023-06-01",
    .quota = quota_markers,
    .request = request_json,
    .parse = parse_reply,
    .stream_size = sizeof(struct stream),
    .stream_init = stream_init_v,
    .on_event = on_event,
    .stream_finish = stream_finish_v,
    .stream_release = stream_release_v,
};

static int anthropic_init(struct ad__llm_entry *e, struct ad_err *err)
{
    return ad__llm_wire_init(&ad__llm_anthropic_wire, e, err);
}

static int anthropic_attempt(struct ad__llm_entry *e, const struct ad_llm_request *req,
                             struct ad_llm_response *resp, struct ad__llm_failure *f,
                             struct ad_err *err)
{
    return ad__llm_wire_attempt(&ad__llm_anthropic_wire, e, req, resp, f, err);
}

const struct ad__llm_ops ad__llm_anthropic_ops = {
    .name = "anthropic",
    .init = anthropic_init,
    .attempt = anthropic_attempt,
};
