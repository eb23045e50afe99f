/*
 * What the hosted providers share: base URL and key from the environment,
 * one POST of the request body with the key in its header, error bodies
 * turned into messages (and quota errors recognised), and a reply read
 * whole or as an event stream. The providers (llm_openai.c,
 * llm_anthropic.c) supply only their wire format, in a struct ad__llm_wire.
 */
#include "compat.h"

#include "llm_int.h"

int ad__llm_wire_init(const struct ad__llm_wire *w, struct ad__llm_entry *e, struct ad_err *err)
{
    const char *url = getenv(w->url_env), *key = getenv(w->key_env);
    size_t len;

    e->base_url = strdup(url && *url ? url : w->default_url);
    if (!e->base_url)
        return ad_error(err, AD_ENOMEM, "out of memory");
    len = strlen(e->base_url);
    while (len > 0 && e->base_url[len - 1] == '/')
        e->base_url[--len] = '\0';
    if (strncmp(e->base_url, "http://", 7) && strncmp(e->base_url, "https://", 8))
        return ad_error(err, AD_EINVAL, "%s must start with http:// or https://", w->url_env);
    if (key && *key && !(e->api_key = strdup(key)))
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/* A non-2xx reply: its message, and whether it says the quota is gone. */
static int http_error(const struct ad__llm_wire *w, const struct ad__http_resp *hr,
                      struct ad__llm_failure *f, struct ad_err *err)
{
    struct ad_buf text = AD_BUF_INIT;
    char code[64];
    size_t i;
    int rc;

    ad__llm_error_text(hr->body.ptr, hr->body.len, &text, code, sizeof(code));
    for (i = 0; w->quota && w->quota[i]; i++) {
        if (!strcmp(code, w->quota[i]) || strstr(text.ptr, w->quota[i])) {
            f->quota = 1;
            f->retryable = 0;
        }
    }
    rc = ad_error(err, f->retryable ? AD_EIO : AD_EINVAL, "HTTP %ld: %s%s%s%s", hr->status,
                  text.ptr, code[0] ? " (" : "", code, code[0] ? ")" : "");
    ad_buf_release(&text);
    return rc;
}

/* The request's URL and headers; the key header is wiped by the caller. */
static int build(const struct ad__llm_wire *w, const struct ad__llm_entry *e,
                 const struct ad_llm_request *req, char **url, char **key,
                 const char *headers[5])
{
    *url = *key = NULL;
    if (asprintf(url, "%s%s", e->base_url, w->path) < 0) {
        *url = NULL;
        return AD_ENOMEM;
    }
    if (e->api_key && asprintf(key, "%s%s", w->key_header, e->api_key) < 0) {
        *key = NULL;
        return AD_ENOMEM;
    }
    headers[0] = "Content-Type: application/json";
    headers[1] = req->on_delta ? "Accept: text/event-stream" : "Accept: application/json";
    headers[2] = *key ? *key : w->extra_header;
    headers[3] = *key ? w->extra_header : NULL;
    headers[4] = NULL;
    return 0;
}

static void wipe(char *secret)
{
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

int ad__llm_wire_attempt(const struct ad__llm_wire *w, struct ad__llm_entry *e,
                         const struct ad_llm_request *req, struct ad_llm_response *resp,
                         struct ad__llm_failure *f, struct ad_err *err)
{
    json_t *body = w->request(req, req->model ? req->model : e->model);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *url = NULL, *key = NULL;
    void *stream = req->on_delta ? calloc(1, w->stream_size) : NULL;
    const char *headers[5];
    struct ad__http_resp hr;
    struct ad__http_req hq;
    int rc;

    json_decref(body);
    ad__http_resp_init(&hr);
    if (stream)
        w->stream_init(stream, req, resp);
    if (!text || (req->on_delta && !stream) || build(w, e, req, &url, &key, headers)) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    hq = (struct ad__http_req){ url, headers, text, strlen(text),
                                req->timeout_ms > 0 ? req->timeout_ms : e->llm->o.timeout_ms,
                                stream ? w->on_event : NULL, stream };
    rc = ad__http_post(&hq, &hr, f, err);
    if (rc)
        goto out;
    if (hr.status < 200 || hr.status >= 300)
        rc = http_error(w, &hr, f, err);
    else if (stream)
        rc = w->stream_finish(stream, err);
    else
        rc = w->parse(req, hr.body.ptr, hr.body.len, resp, err);
    if (!rc && hr.request_id[0]) {
        free(resp->request_id);
        resp->request_id = strdup(hr.request_id);
    }
out:
    if (stream) {
        w->stream_release(stream);
        free(stream);
    }
    ad__http_resp_release(&hr);
    wipe(key);
    free(url);
    free(text);
    return rc;
}

int ad__llm_wire_parse(const struct ad__llm_wire *w, const struct ad_llm_request *req,
                       const char *body, size_t len, int streamed,
                       struct ad_llm_response *resp, struct ad_err *err)
{
    struct ad__sse x;
    void *stream;
    int rc;

    if (!streamed)
        return w->parse(req, body, len, resp, err);
    stream = calloc(1, w->stream_size);
    if (!stream)
        return ad_error(err, AD_ENOMEM, "out of memory");
    w->stream_init(stream, req, resp);
    ad__sse_init(&x, w->on_event, stream);
    rc = ad__sse_feed(&x, body, len);
    if (!rc)
        rc = ad__sse_finish(&x);
    ad__sse_release(&x);
    if (rc == AD_ETOOBIG)
        rc = ad_error(err, AD_ETOOBIG, "stream event too large");
    else
        rc = w->stream_finish(stream, err);
    w->stream_release(stream);
    free(stream);
    return rc;
}
