/*
 * The HTTP transport for the hosted providers: one blocking POST per
 * attempt on its own curl easy handle (so threads never share one), with the
 * reply headers the retry logic needs and a reader for server-sent events.
 *
 * Sections: status classes; headers; the SSE reader; the POST.
 */
#include "compat.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <strings.h>
#include <time.h>

#include "autodev/libcurl.h"

#include "llm_int.h"

/* ---- status classes ---------------------------------------------------- */

/* What the official SDKs retry: 408, 409, 429 and every 5xx. */
void ad__llm_classify_status(long status, struct ad__llm_failure *f)
{
    f->status = (int)status;
    f->retryable = status == 408 || status == 409 || status == 429 || status >= 500;
}

void ad__http_resp_init(struct ad__http_resp *r)
{
    memset(r, 0, sizeof(*r));
    ad_buf_init(&r->body, AD__LLM_MAX_BODY);
    r->retry_after_ms = -1;
}

void ad__http_resp_release(struct ad__http_resp *r)
{
    ad_buf_release(&r->body);
}

/* ---- headers ------------------------------------------------------------ */

/*
 * The value of header line h if its name is name (case-insensitive),
 * trimmed. A value that does not fit out is not taken at all ("" is given):
 * a cut value could end in half a secret that masking no longer sees.
 */
static int header_value(const char *h, size_t len, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name), i, j;

    if (len <= nl || strncasecmp(h, name, nl) || h[nl] != ':')
        return 0;
    i = nl + 1;
    while (i < len && (h[i] == ' ' || h[i] == '\t'))
        i++;
    j = len;
    while (j > i && isspace((unsigned char)h[j - 1]))
        j--;
    if (j - i >= outsz)
        j = i;
    memcpy(out, h + i, j - i);
    out[j - i] = '\0';
    return 1;
}

/*
 * Retry-After is seconds or an HTTP date; retry-after-ms is milliseconds.
 * The wait in ms, or -1 when the value is not one; *ok says whether it may
 * be honoured (0..AD_LLM_RETRY_AFTER_MAX_MS, as the SDKs do: a longer or
 * negative wait is the server's mistake, answered with our own backoff).
 * The ms are computed in double and bounded before any conversion.
 */
static double parse_retry_after(const char *v, int ms)
{
    char *end;
    double d;
    struct tm tm;

    errno = 0;
    d = strtod(v, &end);
    if (end != v && *end == '\0' && !isnan(d))
        return ms ? d : d * 1000.0;
    if (ms)
        return NAN;
    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end && *end == '\0') {
        double when = (double)timegm(&tm) * 1000, now = (double)time(NULL) * 1000;
        return when > now ? when - now : 0;
    }
    return NAN;
}

struct transfer {
    const struct ad__http_req *req;
    struct ad__http_resp *resp;
    int64_t retry_after_s_ms;   /* from Retry-After */
    int64_t retry_after_ms;     /* from retry-after-ms, which wins */
    CURL *h;
    int decided;                /* streaming was settled at the first body byte */
    int streaming;              /* 2xx and on_event: bytes go to the SSE reader */
    struct ad__sse sse;
    int toobig;
    char note[sizeof(((struct ad__llm_failure *)0)->note)];   /* headers disregarded */
};

/* A retry-after header's value into *out (ms, or -1), noting one disregarded. */
static void take_retry_after(struct transfer *t, const char *name, const char *v, int ms,
                             int64_t *out)
{
    double d = parse_retry_after(v, ms);
    size_t used = strlen(t->note);

    *out = -1;
    if (d >= 0 && d <= AD_LLM_RETRY_AFTER_MAX_MS) {
        *out = (int64_t)d;
        return;
    }
    /* Only the number goes in the note: the header's text is the server's. */
    if (isnan(d))
        snprintf(t->note + used, sizeof(t->note) - used, "%s%s disregarded: not a wait",
                 used ? "; " : "", name);
    else
        snprintf(t->note + used, sizeof(t->note) - used,
                 "%s%s disregarded: %.6g ms is outside 0..%d", used ? "; " : "", name, d,
                 AD_LLM_RETRY_AFTER_MAX_MS);
}

static size_t on_header(char *h, size_t size, size_t nitems, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * nitems;
    char v[128];

    if (len >= 5 && !strncmp(h, "HTTP/", 5)) {
        /* A new status line (after a 100 Continue, say) starts afresh. */
        t->retry_after_ms = t->retry_after_s_ms = -1;
        t->resp->request_id[0] = '\0';
        t->note[0] = '\0';
    } else if (header_value(h, len, "retry-after-ms", v, sizeof(v))) {
        take_retry_after(t, "retry-after-ms", v, 1, &t->retry_after_ms);
    } else if (header_value(h, len, "retry-after", v, sizeof(v))) {
        take_retry_after(t, "retry-after", v, 0, &t->retry_after_s_ms);
    } else if (header_value(h, len, "x-request-id", v, sizeof(v)) ||
               header_value(h, len, "request-id", v, sizeof(v))) {
        memcpy(t->resp->request_id, v, sizeof(t->resp->request_id));
        t->resp->request_id[sizeof(t->resp->request_id) - 1] = '\0';
    }
    return len;
}

/* ---- the SSE reader ----------------------------------------------------- */

void ad__sse_init(struct ad__sse *x, ad__sse_event_fn *fn, void *arg)
{
    memset(x, 0, sizeof(*x));
    x->fn = fn;
    x->arg = arg;
    ad_buf_init(&x->line, (size_t)1 << 20);
    ad_buf_init(&x->data, AD__LLM_MAX_BODY);
}

void ad__sse_release(struct ad__sse *x)
{
    ad_buf_release(&x->line);
    ad_buf_release(&x->data);
}

/* A blank line ends an event: hand it over (events without data are skipped). */
static int sse_dispatch(struct ad__sse *x)
{
    int rc = 0;

    /* The spec strips the final newline the data lines added. */
    if (x->data.len > 0 && x->data.ptr[x->data.len - 1] == '\n')
        x->data.ptr[--x->data.len] = '\0';
    if (x->data.len > 0)
        rc = x->fn(x->arg, x->event, x->data.ptr, x->data.len);
    ad_buf_reset(&x->data);
    x->event[0] = '\0';
    return rc;
}

/* One line of the stream (without its end of line). Comments start with ':'. */
static int sse_line(struct ad__sse *x, const char *l, size_t len)
{
    const char *colon = memchr(l, ':', len);
    size_t nlen = colon ? (size_t)(colon - l) : len, vlen;
    const char *v = colon ? colon + 1 : l + len;

    if (len == 0)
        return sse_dispatch(x);
    if (nlen == 0)
        return 0;
    vlen = len - (size_t)(v - l);
    if (vlen > 0 && *v == ' ') {
        v++;
        vlen--;
    }
    if (nlen == 4 && !memcmp(l, "data", 4)) {
        if (ad_buf_add(&x->data, v, vlen) || ad_buf_addch(&x->data, '\n'))
            return AD_ETOOBIG;
    } else if (nlen == 5 && !memcmp(l, "event", 5)) {
        if (vlen >= sizeof(x->event))
            vlen = sizeof(x->event) - 1;
        memcpy(x->event, v, vlen);
        x->event[vlen] = '\0';
    }
    return 0;
}

int ad__sse_feed(struct ad__sse *x, const char *p, size_t len)
{
    size_t i;
    int rc;

    for (i = 0; i < len; i++) {
        if (p[i] != '\n' && p[i] != '\r') {
            if (ad_buf_addch(&x->line, p[i]))
                return AD_ETOOBIG;
            x->after_cr = 0;
            continue;
        }
        /* A CR LF pair is one end of line, even split across two feeds. */
        if (p[i] == '\n' && x->after_cr) {
            x->after_cr = 0;
            continue;
        }
        x->after_cr = p[i] == '\r';
        rc = sse_line(x, x->line.ptr, x->line.len);
        ad_buf_reset(&x->line);
        if (rc)
            return rc;
    }
    return 0;
}

int ad__sse_finish(struct ad__sse *x)
{
    int rc = 0;

    if (x->line.len > 0)
        rc = sse_line(x, x->line.ptr, x->line.len);
    ad_buf_reset(&x->line);
    if (!rc)
        rc = sse_dispatch(x);
    return rc;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * nmemb;
    long status = 0;
    int rc;

    /* Stream only a 2xx reply; an error reply is read whole to learn why. */
    if (!t->decided) {
        t->decided = 1;
        curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
        t->streaming = t->req->on_event && status >= 200 && status < 300;
    }
    if (t->streaming) {
        rc = ad__sse_feed(&t->sse, p, len);
        if (rc == AD_ETOOBIG)
            t->toobig = 1;
        else if (rc)
            t->resp->aborted = 1;
        return rc ? 0 : len;
    }
    if (ad_buf_add(&t->resp->body, p, len)) {
        t->toobig = 1;
        return 0;
    }
    return len;
}

/* ---- the POST ----------------------------------------------------------- */

static int set_options(CURL *h, const struct ad__http_req *req, struct curl_slist *hl,
                       struct transfer *t, char *errbuf)
{
    CURLcode c = CURLE_OK;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(h, opt, val); } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTPHEADER, hl);
    SET(CURLOPT_POSTFIELDS, req->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(req->timeout_ms < 10000 ? req->timeout_ms : 10000));
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    /* A declared length past the cap is refused before a byte is read. */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AD__LLM_MAX_BODY);
    SET(CURLOPT_USERAGENT, "autodev/0.1");
#undef SET
    return c == CURLE_OK ? 0 : -1;
}

static struct curl_slist *header_list(const struct ad__http_req *req)
{
    struct curl_slist *hl = NULL, *next;
    size_t i;

    /* "Expect: 100-continue" would add a round trip to every large POST. */
    hl = curl_slist_append(hl, "Expect:");
    for (i = 0; hl && req->headers && req->headers[i]; i++) {
        next = curl_slist_append(hl, req->headers[i]);
        if (!next) {
            curl_slist_free_all(hl);
            return NULL;
        }
        hl = next;
    }
    return hl;
}

/* Maps a curl failure to our codes; every transport failure may be retried. */
static int transport_error(CURLcode c, const char *errbuf, const struct transfer *t,
                           struct ad__llm_failure *f, struct ad_err *err)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);

    f->retryable = 1;
    if (t->toobig || c == CURLE_FILESIZE_EXCEEDED)
        return f->retryable = 0, ad_error(err, AD_ETOOBIG, "reply larger than %zu bytes",
                                          (size_t)AD__LLM_MAX_BODY);
    if (c == CURLE_OPERATION_TIMEDOUT)
        return ad_error(err, AD_ETIMEOUT, "no complete reply within %d ms", t->req->timeout_ms);
    if (c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING)
        return ad_error(err, AD_EIO, "reply cut short: %s", why);
    return ad_error(err, AD_EIO, "connection failed: %s", why);
}

static int perform(CURL *h, struct transfer *t, struct ad__llm_failure *f, struct ad_err *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hl = header_list(t->req);
    CURLcode c;
    int rc = 0;

    if (!hl || set_options(h, t->req, hl, t, errbuf)) {
        curl_slist_free_all(hl);
        return ad_error(err, AD_ENOMEM, "cannot set up the request");
    }
    c = curl_easy_perform(h);
    if (t->resp->aborted && c == CURLE_WRITE_ERROR)
        c = CURLE_OK;
    if (c != CURLE_OK) {
        rc = transport_error(c, errbuf, t, f, err);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t->resp->status);
        if (t->streaming && ad__sse_finish(&t->sse))
            t->resp->aborted = 1;
    }
    curl_slist_free_all(hl);
    return rc;
}

int ad__http_post(const struct ad__http_req *req, struct ad__http_resp *resp,
                  struct ad__llm_failure *f, struct ad_err *err)
{
    struct transfer t;
    CURL *h;
    int rc;

    memset(f, 0, sizeof(*f));
    f->retry_after_ms = -1;
    rc = ad_curl_load(err);
    if (rc < 0)
        return rc;
    h = curl_easy_init();
    if (!h)
        return ad_error(err, AD_ENOMEM, "out of memory");
    memset(&t, 0, sizeof(t));
    t.req = req;
    t.resp = resp;
    t.retry_after_ms = t.retry_after_s_ms = -1;
    if (req->on_event)
        ad__sse_init(&t.sse, req->on_event, req->arg);
    t.h = h;
    rc = perform(h, &t, f, err);
    resp->retry_after_ms = t.retry_after_ms >= 0 ? t.retry_after_ms : t.retry_after_s_ms;
    f->retry_after_ms = resp->retry_after_ms;
    memcpy(f->note, t.note, sizeof(f->note));
    if (!rc && (resp->status < 100 || resp->status > 599)) {
        /* Not a status HTTP has: a broken reply, like one cut short. */
        f->retryable = 1;
        rc = ad_error(err, AD_EIO, "reply with an invalid HTTP status %ld", resp->status);
    } else if (!rc) {
        ad__llm_classify_status(resp->status, f);
        if (t.toobig)
            rc = ad_error(err, AD_ETOOBIG, "reply larger than %zu bytes",
                          (size_t)AD__LLM_MAX_BODY);
    }
    if (req->on_event)
        ad__sse_release(&t.sse);
    curl_easy_cleanup(h);
    return rc;
}
