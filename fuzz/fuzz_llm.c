/*
 * libFuzzer driver: the providers' reply readers, whole bodies and event
 * streams, for both wire formats. The first byte picks the reader; the rest
 * is what a server (or something pretending to be one) sent. A reader must
 * either fail with an error message or give a response whose every string
 * is set, and must never crash or leak.
 *
 * Then what ad_llm_complete does to every reply: streamed pieces go through
 * the delta guard, the usage is clamped, every string is masked. With one
 * key registered, no piece, string or error may hold it (in any case), and
 * no count may leave 0..AD_LLM_TOKENS_MAX.
 */
#include "compat.h"

#include "autodev/secret.h"

#include "llm/llm_int.h"

#define KEY "sk-fuzz-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The text pieces joined, as a consumer that prints them shows them. */
static int on_delta(void *arg, const char *kind, const char *text, size_t len)
{
    if (!strcmp(kind, "text"))
        ad_buf_add(arg, text, len);
    return 0;
}

static void check_masked(const char *s)
{
    if (s && strcasestr(s, KEY))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ad_llm_message m = { AD_LLM_USER, "x", NULL, 0, NULL };
    struct ad_llm_request req;
    struct ad_llm_response resp;
    struct ad_llm_request outer;
    struct ad__delta_guard g;
    struct ad_buf note = AD_BUF_INIT, seen = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    json_t *schema = NULL;
    size_t i;
    int rc, which;

    if (size < 1)
        return 0;
    if (ad_secret_add(KEY))
        abort();
    which = data[0] & 3;
    memset(&req, 0, sizeof(req));
    req.messages = &m;
    req.nmessages = 1;
    outer = req;
    if (data[0] & 4) {
        outer.on_delta = on_delta;
        outer.delta_arg = &seen;
        ad__delta_guard_init(&g, &outer);
        req.on_delta = ad__delta_guard_fn;
        req.delta_arg = &g;
    }
    if (data[0] & 8) {
        schema = json_object();
        req.json_schema = schema;
    }
    memset(&resp, 0, sizeof(resp));
    if (which < 2)
        rc = ad__llm_wire_parse(&ad__llm_openai_wire, &req, (const char *)data + 1, size - 1,
                                which == 1, &resp, &err);
    else
        rc = ad__llm_wire_parse(&ad__llm_anthropic_wire, &req, (const char *)data + 1, size - 1,
                                which == 3, &resp, &err);
    if (req.on_delta) {
        ad__delta_guard_flush(&g);
        ad__delta_guard_release(&g);
        check_masked(seen.ptr);
    }
    if (rc && !err.msg[0])
        abort();   /* a failure always says why */
    ad__llm_redact_error(err.msg);
    check_masked(err.msg);
    if (!rc) {
        if (!resp.text || !resp.finish_reason)
            abort();
        for (i = 0; i < resp.ncalls; i++) {
            if (!resp.calls[i].id || !resp.calls[i].name || !resp.calls[i].arguments)
                abort();
        }
        ad__llm_clamp_usage(&resp.usage, &note);
        if (resp.usage.prompt_tokens < 0 || resp.usage.prompt_tokens > AD_LLM_TOKENS_MAX ||
            resp.usage.completion_tokens < 0 || resp.usage.completion_tokens > AD_LLM_TOKENS_MAX)
            abort();
        if (ad__llm_redact_reply(&resp) == 0) {
            check_masked(resp.text);
            check_masked(resp.finish_reason);
            check_masked(resp.request_id);
            for (i = 0; i < resp.ncalls; i++) {
                check_masked(resp.calls[i].id);
                check_masked(resp.calls[i].name);
                check_masked(resp.calls[i].arguments);
            }
        }
    }
    ad_buf_release(&note);
    ad_buf_release(&seen);
    ad_llm_response_release(&resp);
    json_decref(schema);
    return 0;
}
