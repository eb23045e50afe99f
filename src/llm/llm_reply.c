/*
 * What a reply may carry out of the module. A provider's reply is written
 * by someone else (a model, a server, a command), so before any of it is
 * returned, streamed, stored in the ledger or put in an error:
 *
 *   - every registered secret (secret.h) is masked in every string, and the
 *     chain registers every credential it can read when it is built;
 *   - every number is brought into its sane range, and what was changed is
 *     noted for the ledger row of the attempt;
 *   - streamed text passes a guard that masks it and holds back what could
 *     be the first half of a secret until the second half shows.
 *
 * ad_llm_complete (llm.c) applies these to every provider's reply, so a new
 * provider cannot forget them.
 *
 * Sections: secrets; masking replies; numbers; the delta guard.
 */
#include "compat.h"

#include <ctype.h>
#include <math.h>

#include "autodev/secret.h"

#include "llm_int.h"

/* ---- secrets ------------------------------------------------------------ */

/* Every provider key a process may hold, whatever providers the chain names:
 * an exec command or a server may echo any of them. */
static const char *const key_vars[] = { "OPENAI_API_KEY", "ANTHROPIC_API_KEY" };
static const char *const url_vars[] = { "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL" };

static int add(const char *value, const char *what, struct ad_err *err)
{
    int rc = ad_secret_add(value);

    if (rc)
        return ad_error(err, rc, "cannot keep %s secret: %s", what, ad_strerror(rc));
    return 0;
}

/* "https://user:password@host/": the user:password, and the password alone. */
static int add_userinfo(const char *url, const char *what, struct ad_err *err)
{
    const char *p = url ? strstr(url, "://") : NULL, *end, *at = NULL, *colon;
    char info[AD_SECRET_MAX_LEN + 1];
    size_t len;
    int rc;

    if (!p)
        return 0;
    p += 3;
    end = p + strcspn(p, "/?#");
    for (const char *q = p; q < end; q++) {
        if (*q == '@')
            at = q;
    }
    if (!at)
        return 0;
    len = (size_t)(at - p);
    if (len > AD_SECRET_MAX_LEN)
        return ad_error(err, AD_ETOOBIG, "cannot keep %s secret: its user part is too long",
                        what);
    memcpy(info, p, len);
    info[len] = '\0';
    rc = add(info, what, err);
    colon = strchr(info, ':');
    if (!rc && colon)
        rc = add(colon + 1, what, err);
    explicit_bzero(info, sizeof(info));
    return rc;
}

int ad__llm_register_secrets(const struct ad_llm *llm, struct ad_err *err)
{
    size_t i;
    int rc = 0;

    for (i = 0; !rc && i < AD_ARRAY_SIZE(key_vars); i++)
        rc = add(getenv(key_vars[i]), key_vars[i], err);
    for (i = 0; !rc && i < AD_ARRAY_SIZE(url_vars); i++)
        rc = add_userinfo(getenv(url_vars[i]), url_vars[i], err);
    for (i = 0; !rc && i < llm->n; i++) {
        rc = add(llm->v[i].api_key, "an api key", err);
        if (!rc)
            rc = add_userinfo(llm->v[i].base_url, "a base URL", err);
    }
    return rc;
}

/*
 * Anything shaped like a provider key ("sk-" and 16 or more key
 * characters), registered or not: a server may echo a key this process
 * never read (an old one, another account's). Only in error texts: a
 * completion may rightly hold an example key in code.
 */
static void mask_key_shapes(char *s)
{
    char *p;
    size_t n;

    for (p = s; (p = strstr(p, "sk-")) != NULL;) {
        for (n = 3; isalnum((unsigned char)p[n]) || p[n] == '-' || p[n] == '_'; n++)
            ;
        if (n >= 19)
            memset(p + 3, '*', n - 3);
        p += n;
    }
}

void ad__llm_redact_error(char *s)
{
    if (!s)
        return;
    ad_secret_redact(s);
    mask_key_shapes(s);
}

/* ---- masking replies ---------------------------------------------------- */

/* Masks a JSON string value (which may hold NULs); 1 when it changed, < 0 on error. */
static int redact_json_string(json_t *v)
{
    size_t len = json_string_length(v);
    char *copy = malloc(len + 1);
    int rc = 0;

    if (!copy)
        return AD_ENOMEM;
    memcpy(copy, json_string_value(v), len + 1);
    if (ad_secret_redact_mem(copy, &len) > 0)
        rc = json_string_setn(v, copy, len) ? AD_ENOMEM : 1;
    free(copy);
    return rc;
}

static int redact_json(json_t *v);

/* An object's values, and its keys (a key holding a secret is renamed). */
static int redact_json_object(json_t *v)
{
    json_t *renamed = json_array(), *val;
    const char *key;
    size_t i;
    int rc = renamed ? 0 : AD_ENOMEM, any = 0, r;

    json_object_foreach(v, key, val) {
        if (rc < 0)
            break;
        r = redact_json(val);
        if (r < 0)
            rc = r;
        any |= r > 0;
        if (r >= 0 && ad_secret_contains(key) && json_array_append_new(renamed, json_string(key)))
            rc = AD_ENOMEM;
    }
    for (i = 0; rc == 0 && i < json_array_size(renamed); i++) {
        const char *old = json_string_value(json_array_get(renamed, i));
        char *masked = ad_secret_redacted(old);

        if (!masked || json_object_set(v, masked, json_object_get(v, old)))
            rc = AD_ENOMEM;
        else
            json_object_del(v, old);
        free(masked);
        any = 1;
    }
    json_decref(renamed);
    return rc < 0 ? rc : any;
}

/* Masks every string of v in place; 1 when something changed, 0, or < 0. */
static int redact_json(json_t *v)
{
    size_t i;
    int any = 0, r;

    if (json_is_string(v))
        return redact_json_string(v);
    if (json_is_object(v))
        return redact_json_object(v);
    for (i = 0; json_is_array(v) && i < json_array_size(v); i++) {
        r = redact_json(json_array_get(v, i));
        if (r < 0)
            return r;
        any |= r;
    }
    return any;
}

/*
 * A JSON text can spell a secret with escapes ("sk\u002dtest..."): the
 * text scan cannot see it, whoever parses the JSON will. When *s is JSON
 * and holds an escape, its strings are masked decoded, and when that found
 * a secret *s is written again (compact).
 */
static int redact_json_text(char **s)
{
    json_t *v;
    char *dumped;
    int rc;

    if (!*s || !strchr(*s, '\\'))
        return 0;
    v = json_loads(*s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;   /* not JSON: the plain scan was all there is */
    rc = redact_json(v);
    if (rc > 0) {
        dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (dumped) {
            free(*s);
            *s = dumped;
            rc = 0;
        } else {
            rc = AD_ENOMEM;
        }
    }
    json_decref(v);
    return rc < 0 ? rc : 0;
}

static int redact_string(char **s, int as_json)
{
    if (!*s)
        return 0;
    ad_secret_redact(*s);
    return as_json ? redact_json_text(s) : 0;
}

int ad__llm_redact_reply(struct ad_llm_response *r)
{
    size_t i;
    int rc = redact_string(&r->text, 1);

    for (i = 0; !rc && i < r->ncalls; i++) {
        rc = redact_string(&r->calls[i].id, 0);
        if (!rc)
            rc = redact_string(&r->calls[i].name, 0);
        if (!rc)
            rc = redact_string(&r->calls[i].arguments, 1);
    }
    if (!rc)
        rc = redact_string(&r->finish_reason, 0);
    if (!rc)
        rc = redact_string(&r->request_id, 0);
    if (!rc)
        rc = redact_string(&r->model, 0);
    return rc;
}

/* ---- numbers ------------------------------------------------------------ */

void ad__llm_note(struct ad_buf *note, const char *fmt, ...)
{
    va_list ap;

    if (note->len)
        ad_buf_adds(note, "; ");
    va_start(ap, fmt);
    ad_buf_vaddf(note, fmt, ap);
    va_end(ap);
}

bool ad__llm_json_count(const json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (!json_is_real(v))
        return false;
    d = json_real_value(v);
    /* 2^63 as a double; a cast of anything at or past it is undefined. */
    if (d >= 9223372036854775808.0)
        *out = INT64_MAX;
    else if (d <= -9223372036854775808.0)
        *out = INT64_MIN;
    else
        *out = (int64_t)d;
    return true;
}

static int64_t clamp_count(int64_t v, const char *what, struct ad_buf *note)
{
    int64_t c = v < 0 ? 0 : v > AD_LLM_TOKENS_MAX ? AD_LLM_TOKENS_MAX : v;

    if (c != v)
        ad__llm_note(note, "clamped %s %" PRId64 " to %" PRId64, what, v, c);
    return c;
}

void ad__llm_clamp_usage(struct ad_llm_usage *u, struct ad_buf *note)
{
    u->prompt_tokens = clamp_count(u->prompt_tokens, "prompt_tokens", note);
    u->completion_tokens = clamp_count(u->completion_tokens, "completion_tokens", note);
}

double ad__llm_clamp_cost(double usd, struct ad_buf *note)
{
    double c = !(usd >= 0) ? (isnan(usd) ? AD_LLM_COST_MAX_USD : 0)
             : usd > AD_LLM_COST_MAX_USD ? AD_LLM_COST_MAX_USD : usd;

    if (c != usd)
        ad__llm_note(note, "clamped cost_usd %g to %g", usd, c);
    return c;
}

/* ---- the delta guard ---------------------------------------------------- */

void ad__delta_guard_init(struct ad__delta_guard *g, const struct ad_llm_request *req)
{
    memset(g, 0, sizeof(*g));
    g->req = req;
    ad_buf_init(&g->held, AD__LLM_MAX_BODY);
}

void ad__delta_guard_release(struct ad__delta_guard *g)
{
    ad_buf_release(&g->held);
}

static int deliver(struct ad__delta_guard *g, const char *kind, const char *p, size_t n)
{
    if (g->req->on_delta(g->req->delta_arg, kind, p, n))
        g->stopped = 1;
    return g->stopped;
}

/* Keeps the last keep bytes of the held text, dropping what went out. */
static void held_keep(struct ad_buf *b, size_t keep)
{
    if (b->alloc == 0)
        return;
    memmove(b->ptr, b->ptr + b->len - keep, keep);
    b->len = keep;
    b->ptr[keep] = '\0';
}

int ad__delta_guard_flush(struct ad__delta_guard *g)
{
    int rc = 0;

    if (!g->stopped && g->held.len > 0)
        rc = deliver(g, "text", g->held.ptr, g->held.len);
    held_keep(&g->held, 0);
    return rc || g->stopped;
}

int ad__delta_guard_fn(void *arg, const char *kind, const char *text, size_t len)
{
    struct ad__delta_guard *g = arg;
    size_t n, tail;
    char *copy;
    int rc;

    if (g->stopped)
        return 1;
    if (strcmp(kind, "text")) {
        /*
         * A tool name goes whole, masked. Text held back stays held: a
         * consumer that joins the text pieces would otherwise join the two
         * halves of a secret around the tool call.
         */
        copy = malloc(len + 1);
        if (!copy)
            return g->stopped = 1;
        memcpy(copy, text, len);
        n = len;
        ad_secret_redact_mem(copy, &n);
        rc = deliver(g, kind, copy, n);
        free(copy);
        return rc;
    }
    if (ad_buf_add(&g->held, text, len))
        return g->stopped = 1;   /* past the reply cap: the provider fails the stream */
    n = g->held.len;
    ad_secret_redact_mem(g->held.ptr, &n);
    g->held.len = n;
    g->held.ptr[n] = '\0';
    tail = ad_secret_partial_tail(g->held.ptr, n);
    rc = n > tail ? deliver(g, "text", g->held.ptr, n - tail) : 0;
    held_keep(&g->held, tail);
    return rc;
}
