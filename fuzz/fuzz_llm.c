/*
 * libFuzzer driver: the providers' reply readers, whole bodies and event
 * streams, for both wire formats. The first byte picks the reader; the rest
 * is what a server (or something pretending to be one) sent. A reader must
 * either fail with an error message or give a response whose every string
 * is set, and must never crash or leak.
 */
#include "compat.h"

#include "llm/llm_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_delta(void *arg, const char *kind, const char *text, size_t len)
{
    (*(size_t *)arg) += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ad_llm_message m = { AD_LLM_USER, "x", NULL, 0, NULL };
    struct ad_llm_request req;
    struct ad_llm_response resp;
    struct ad_err err = AD_ERR_INIT;
    json_t *schema = NULL;
    size_t seen = 0, i;
    int rc, which;

    if (size < 1)
        return 0;
    which = data[0] & 3;
    memset(&req, 0, sizeof(req));
    req.messages = &m;
    req.nmessages = 1;
    if (data[0] & 4) {
        req.on_delta = on_delta;
        req.delta_arg = &seen;
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
    if (rc && !err.msg[0])
        abort();   /* a failure always says why */
    if (!rc) {
        if (!resp.text || !resp.finish_reason)
            abort();
        for (i = 0; i < resp.ncalls; i++) {
            if (!resp.calls[i].id || !resp.calls[i].name || !resp.calls[i].arguments)
                abort();
        }
    }
    ad_llm_response_release(&resp);
    json_decref(schema);
    return 0;
}
