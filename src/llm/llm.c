/*
 * The llm module's front: the provider chain, retries with backoff, the
 * call's deadline, circuit breakers, daily caps, the cost ledger and the
 * thread pool of ad_llm_complete_many. Every attempt's reply is checked
 * here, for every provider, before anyone sees it: streamed pieces through
 * the delta guard, numbers clamped, strings masked (llm_reply.c).
 *
 * Sections: shared helpers; the chain spec; new/free; breakers; caps and
 * ledger; one provider with retries; the chain walk; many at once.
 */
#include "compat.h"

#include <ctype.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/llm.h"
#include "autodev/secret.h"
#include "autodev/store.h"

#include "llm_int.h"

#define DEFAULT_TIMEOUT_MS 120000
#define DEFAULT_MAX_TOKENS 1024
#define MAX_CHAIN 8

/* ---- shared helpers ----------------------------------------------------- */

int64_t ad__llm_mono_ms(void)
{
    return ad_mono_ns() / 1000000;
}

int ad__llm_max_tokens(const struct ad_llm_request *req)
{
    return req->max_tokens > 0 ? req->max_tokens : DEFAULT_MAX_TOKENS;
}

int ad__llm_add_call(struct ad_llm_response *resp, const char *id, size_t idlen,
                     const char *name, size_t namelen, const char *args, size_t argslen)
{
    struct ad_llm_tool_call *v;

    /* A reply is read by the caller call by call: their number is bounded like its size. */
    if (resp->ncalls >= AD__LLM_MAX_CALLS)
        return AD_ETOOBIG;
    v = realloc(resp->calls, (resp->ncalls + 1) * sizeof(*v));
    if (!v)
        return AD_ENOMEM;
    resp->calls = v;
    v += resp->ncalls;
    v->id = strndup(id ? id : "", id ? idlen : 0);
    v->name = strndup(name ? name : "", name ? namelen : 0);
    v->arguments = strndup(args ? args : "", args ? argslen : 0);
    resp->ncalls++;
    return v->id && v->name && v->arguments ? 0 : AD_ENOMEM;
}

void ad_llm_response_release(struct ad_llm_response *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->ncalls; i++) {
        free(r->calls[i].id);
        free(r->calls[i].name);
        free(r->calls[i].arguments);
    }
    free(r->calls);
    free(r->text);
    free(r->finish_reason);
    free(r->provider);
    free(r->model);
    free(r->request_id);
    memset(r, 0, sizeof(*r));
}

/*
 * Appends the head of p[0..len) to out, at most max bytes, masked of
 * secrets and key shapes first: a cut made before masking could leave half
 * a key that no longer matches. Controls become spaces.
 */
static void add_masked_head(struct ad_buf *out, const char *p, size_t len, size_t max)
{
    /* A secret that starts before the cut ends within AD_SECRET_MAX_LEN after it. */
    size_t n = len < max + AD_SECRET_MAX_LEN ? len : max + AD_SECRET_MAX_LEN, i;
    char *copy = malloc(n + 1);

    if (!copy)
        return;
    for (i = 0; i < n; i++)
        copy[i] = isprint((unsigned char)p[i]) || (unsigned char)p[i] >= 0x80 ? p[i] : ' ';
    copy[n] = '\0';
    ad__llm_redact_error(copy);
    n = strlen(copy);
    ad_buf_add(out, copy, n < max ? n : max);
    free(copy);
}

/* The human part of an error body: {"error": {"message", "code"|"type"}} or flat forms. */
void ad__llm_error_text(const char *body, size_t len, struct ad_buf *out, char *code,
                        size_t codesz)
{
    json_t *v = json_loadb(body, len, JSON_DISABLE_EOF_CHECK, NULL), *e, *m, *c;
    struct ad_buf cb = AD_BUF_INIT;

    code[0] = '\0';
    e = v ? json_object_get(v, "error") : NULL;
    m = json_is_object(e) ? json_object_get(e, "message") : e;
    if (!json_is_string(m) && v)
        m = json_object_get(v, "detail");
    if (!json_is_string(m) && v)
        m = json_object_get(v, "message");
    if (json_is_string(m))
        add_masked_head(out, json_string_value(m), json_string_length(m), 300);
    else
        add_masked_head(out, body, len, 200);   /* not a known shape: its first bytes */
    c = json_is_object(e) ? json_object_get(e, "code") : NULL;
    if (!json_is_string(c) && json_is_object(e))
        c = json_object_get(e, "type");
    if (json_is_string(c)) {
        add_masked_head(&cb, json_string_value(c), json_string_length(c), codesz - 1);
        snprintf(code, codesz, "%s", cb.ptr);
    }
    ad_buf_release(&cb);
    json_decref(v);
}

/* ---- the chain spec ----------------------------------------------------- */

static const struct ad__llm_ops *const providers[] = {
    &ad__llm_openai_ops, &ad__llm_anthropic_ops, &ad__llm_exec_ops, &ad__llm_offline_ops,
};

static const struct ad__llm_ops *find_provider(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(providers); i++) {
        if (strlen(providers[i]->name) == len && !memcmp(providers[i]->name, name, len))
            return providers[i];
    }
    return NULL;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/*
 * The marks before an entry's provider, in any order: "fast:" or "strong:"
 * (its tier) and "window=N:" (its context window, N tokens). Returns where
 * the provider starts; *window is -1 for a malformed window mark.
 */
static const char *entry_marks(const char *p, const char **tier, int64_t *window)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!strncmp(p, "fast:", 5) && !**tier) {
            *tier = "fast";
            p += 5;
        } else if (!strncmp(p, "strong:", 7) && !**tier) {
            *tier = "strong";
            p += 7;
        } else if (!strncmp(p, "window=", 7) && *window == 0) {
            char *end;
            long long n;

            errno = 0;
            n = strtoll(p + 7, &end, 10);
            if (errno || end == p + 7 || *end != ':' || n < AD_LLM_WINDOW_MIN ||
                n > AD_LLM_WINDOW_MAX) {
                *window = -1;
                return p;
            }
            *window = n;
            p = end + 1;
        } else {
            return p;
        }
    }
}

/* One "provider:model" into e. exec takes the rest of the spec, commas and all. */
static int parse_entry(struct ad_llm *llm, char *item, struct ad__llm_entry *e,
                       struct ad_err *err)
{
    char *colon, *model;
    const struct ad__llm_ops *ops;
    const char *tier = "";
    int64_t window = 0;

    item = trim(item);
    /* "fast:" or "strong:" marks the entry's tier, "window=N:" its context window. */
    item = (char *)entry_marks(item, &tier, &window);
    if (window < 0)
        return ad_error(err, AD_EINVAL, "invalid window mark in '%.80s' (want window=TOKENS:, "
                        "%d to %d)", item, AD_LLM_WINDOW_MIN, AD_LLM_WINDOW_MAX);
    item = trim(item);
    colon = strchr(item, ':');
    ops = find_provider(item, colon ? (size_t)(colon - item) : strlen(item));
    if (!ops)
        return ad_error(err, AD_EINVAL,
                        "unknown llm provider in '%s' (want openai, anthropic, exec or offline)",
                        item);
    model = colon ? trim(colon + 1) : (char *)"";
    if (!*model && ops != &ad__llm_offline_ops)
        return ad_error(err, AD_EINVAL, "llm provider '%s' needs a model: '%s:MODEL'",
                        ops->name, ops->name);
    memset(e, 0, sizeof(*e));
    snprintf(e->tier, sizeof(e->tier), "%s", tier);
    e->window = window;
    e->ops = ops;
    e->llm = llm;
    e->model = strdup(*model ? model : "mutate");
    e->label = malloc(strlen(ops->name) + strlen(e->model ? e->model : "") + 2);
    if (!e->model || !e->label)
        return ad_error(err, AD_ENOMEM, "out of memory");
    snprintf(e->label, strlen(ops->name) + strlen(e->model) + 2, "%s:%s", ops->name, e->model);
    return ops->init ? ops->init(e, err) : 0;
}

static int parse_spec(struct ad_llm *llm, const char *spec, struct ad_err *err)
{
    char *copy = strdup(spec), *p, *comma;
    int rc = 0;

    if (!copy)
        return ad_error(err, AD_ENOMEM, "out of memory");
    llm->v = calloc(MAX_CHAIN, sizeof(*llm->v));
    for (p = copy; !rc && llm->v && *trim(p);) {
        p = trim(p);
        {
            /* exec takes the rest of the spec, after its marks if it has any. */
            const char *tier = "";
            int64_t window = 0;
            const char *q = entry_marks(p, &tier, &window);

            comma = strncmp(q, "exec:", 5) ? strchr(p, ',') : NULL;
        }
        if (comma)
            *comma = '\0';
        if (llm->n == MAX_CHAIN)
            rc = ad_error(err, AD_EINVAL, "an llm chain holds at most %d providers", MAX_CHAIN);
        else
            rc = parse_entry(llm, p, &llm->v[llm->n++], err);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!llm->v)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    else if (!rc && llm->n == 0)
        rc = ad_error(err, AD_EINVAL, "empty llm chain");
    free(copy);
    return rc;
}

/* ---- new/free ----------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void options_defaults(struct ad_llm_options *o)
{
    if (o->timeout_ms <= 0)
        o->timeout_ms = DEFAULT_TIMEOUT_MS;
    if (o->max_retries < 0)
        o->max_retries = 2;
    if (o->backoff_base_ms <= 0)
        o->backoff_base_ms = 500;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = 8000;
    if (o->breaker_threshold <= 0)
        o->breaker_threshold = 5;
    if (o->breaker_cooldown_ms <= 0)
        o->breaker_cooldown_ms = 30000;
}

int ad_llm_new(const char *spec, const struct ad_llm_options *opts, struct ad_llm **out,
               struct ad_err *err)
{
    struct ad_llm *llm;
    int rc;

    *out = NULL;
    if (!spec)
        spec = getenv("AUTODEV_LLM");
    if (!spec || !*spec)
        return ad_error(err, AD_ENOTFOUND,
                        "no llm provider configured: set AUTODEV_LLM, e.g. "
                        "AUTODEV_LLM=openai:gpt-4o-mini (with OPENAI_API_KEY), "
                        "anthropic:MODEL, exec:COMMAND or offline");
    llm = calloc(1, sizeof(*llm));
    if (!llm)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (opts)
        llm->o = *opts;
    else
        llm->o.max_retries = -1;
    options_defaults(&llm->o);
    pthread_mutex_init(&llm->mu, NULL);
    llm->rng = llm->o.seed ? llm->o.seed : (uint64_t)ad_now_ms() ^ (uint64_t)getpid() << 32;
    rc = parse_spec(llm, spec, err);
    if (!rc && llm->o.tenant_id) {
        llm->tenant_id = strdup(llm->o.tenant_id);
        llm->o.tenant_id = llm->tenant_id;
        if (!llm->tenant_id)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = ad__llm_register_secrets(llm, err);
    if (!rc)
        rc = ad__llm_prices_load(llm->o.prices_file, &llm->prices, err);
    llm->o.prices_file = NULL;
    if (rc) {
        ad_llm_free(llm);
        return rc;
    }
    *out = llm;
    return 0;
}

void ad_llm_free(struct ad_llm *llm)
{
    size_t i;

    if (!llm)
        return;
    for (i = 0; i < llm->n; i++) {
        struct ad__llm_entry *e = &llm->v[i];

        if (e->api_key) {
            /* Wipe the secret before the allocator can hand the bytes out again. */
            explicit_bzero(e->api_key, strlen(e->api_key));
            free(e->api_key);
        }
        free(e->label);
        free(e->model);
        free(e->base_url);
    }
    free(llm->v);
    free(llm->tenant_id);
    json_decref(llm->prices);
    pthread_mutex_destroy(&llm->mu);
    free(llm);
}

size_t ad_llm_chain_len(const struct ad_llm *llm)
{
    return llm ? llm->n : 0;
}

bool ad_llm_has_tier(const struct ad_llm *llm, const char *tier)
{
    for (size_t i = 0; llm && tier && i < llm->n; i++)
        if (strcmp(llm->v[i].tier, tier) == 0)
            return true;
    return false;
}

/* Does entry e serve a request of tier (NULL: every entry does)? */
static bool serves(const struct ad_llm *llm, const struct ad__llm_entry *e, const char *tier)
{
    if (!tier || !*e->tier || !ad_llm_has_tier(llm, tier))
        return true;
    return strcmp(e->tier, tier) == 0;
}

const char *ad_llm_chain_entry(const struct ad_llm *llm, size_t i)
{
    return llm && i < llm->n ? llm->v[i].label : NULL;
}

int64_t ad_llm_entry_window(const struct ad_llm *llm, size_t i)
{
    return llm && i < llm->n ? llm->v[i].window : 0;
}

size_t ad_llm_tier_first(const struct ad_llm *llm, const char *tier)
{
    for (size_t i = 0; llm && i < llm->n; i++)
        if (serves(llm, &llm->v[i], tier))
            return i;
    return llm ? llm->n : 0;
}

double ad_llm_price(const struct ad_llm *llm, const char *provider, const char *model,
                    const struct ad_llm_usage *u)
{
    return ad__llm_prices_cost(llm->prices, provider, model, u);
}

/* ---- breakers ----------------------------------------------------------- */

/*
 * Whether a call may try entry e now. An open breaker half-opens after the
 * cool-down and lets exactly one trial call through; its outcome closes or
 * re-opens it.
 */
static int breaker_admit(struct ad_llm *llm, struct ad__llm_entry *e)
{
    int ok = 1;

    pthread_mutex_lock(&llm->mu);
    if (e->state == BREAKER_OPEN) {
        if (ad_now_ms() - e->opened_ms >= llm->o.breaker_cooldown_ms) {
            e->state = BREAKER_HALF_OPEN;
            e->trial = 0;
        } else {
            ok = 0;
        }
    }
    if (ok && e->state == BREAKER_HALF_OPEN) {
        ok = !e->trial;
        e->trial = 1;
    }
    pthread_mutex_unlock(&llm->mu);
    return ok;
}

static void breaker_record(struct ad_llm *llm, struct ad__llm_entry *e, int success)
{
    pthread_mutex_lock(&llm->mu);
    if (success) {
        e->state = BREAKER_CLOSED;
        e->failures = 0;
    } else if (e->state == BREAKER_HALF_OPEN || ++e->failures >= llm->o.breaker_threshold) {
        e->state = BREAKER_OPEN;
        e->opened_ms = ad_now_ms();
    }
    e->trial = 0;
    pthread_mutex_unlock(&llm->mu);
}

/* Ends a half-open trial without a verdict. */
static void breaker_record_neutral(struct ad_llm *llm, struct ad__llm_entry *e)
{
    pthread_mutex_lock(&llm->mu);
    e->trial = 0;
    pthread_mutex_unlock(&llm->mu);
}

const char *ad_llm_breaker_state(struct ad_llm *llm, size_t i)
{
    static const char *const names[] = { "closed", "open", "half-open" };
    const char *s;

    if (!llm || i >= llm->n)
        return "closed";
    pthread_mutex_lock(&llm->mu);
    if (llm->v[i].state == BREAKER_OPEN &&
        ad_now_ms() - llm->v[i].opened_ms >= llm->o.breaker_cooldown_ms)
        s = names[BREAKER_HALF_OPEN];
    else
        s = names[llm->v[i].state];
    pthread_mutex_unlock(&llm->mu);
    return s;
}

/* ---- caps and ledger ---------------------------------------------------- */

/* Refuses a call once the tenant has spent its daily tokens or dollars. */
static int check_caps(struct ad_llm *llm, struct ad_err *err)
{
    char since[AD_TIME_SIZE];
    int64_t now = ad_now_ms(), tokens = 0;
    double usd = 0;
    int rc;

    if (!llm->o.store || !llm->tenant_id ||
        (llm->o.daily_token_cap <= 0 && llm->o.daily_usd_cap <= 0))
        return 0;
    ad_time_iso(now - now % 86400000, since);
    pthread_mutex_lock(&llm->mu);
    rc = ad_store_llm_spent(llm->o.store, llm->tenant_id, since, &tokens, &usd, err);
    pthread_mutex_unlock(&llm->mu);
    if (rc)
        return ad_error_prefix(err, "cannot check the daily llm caps");
    if (llm->o.daily_token_cap > 0 && tokens >= llm->o.daily_token_cap)
        return ad_error(err, AD_ELIMIT,
                        "daily llm token cap reached: %" PRId64 " of %" PRId64
                        " tokens used since 00:00 UTC", tokens, llm->o.daily_token_cap);
    if (llm->o.daily_usd_cap > 0 && usd >= llm->o.daily_usd_cap)
        return ad_error(err, AD_ELIMIT,
                        "daily llm spend cap reached: $%.4f of $%.4f used since 00:00 UTC", usd,
                        llm->o.daily_usd_cap);
    return 0;
}

/*
 * One ledger row per attempt. A ledger that cannot be written is logged in
 * the error of the call, never hidden: the caller gets AD_EIO. note says
 * which numbers of the reply were clamped or disregarded; it goes in the
 * error column (after the error, on a failed row). Every string is masked
 * again here: the model named by a configuration (an exec command line)
 * could quote a key as well as any reply.
 */
static int ledger(struct ad_llm *llm, const struct ad__llm_entry *e,
                  const struct ad_llm_request *req, const struct ad_llm_response *resp,
                  int64_t latency_ms, const struct ad_err *failure, const char *note,
                  struct ad_err *err)
{
    struct ad_buf text = AD_BUF_INIT;
    struct ad_llm_call c;
    char *model, *purpose, *request_id;
    int rc;

    if (!llm->o.store || !llm->tenant_id)
        return 0;
    memset(&c, 0, sizeof(c));
    snprintf(c.tenant_id, sizeof(c.tenant_id), "%s", llm->tenant_id);
    if (failure)
        ad_buf_adds(&text, failure->msg);
    if (note && *note)
        ad_buf_addf(&text, failure ? " [%s]" : "%s", note);
    ad_secret_redact(text.ptr);
    model = ad_secret_redacted(req->model ? req->model : e->model);
    purpose = req->purpose ? ad_secret_redacted(req->purpose) : NULL;
    request_id = resp && resp->request_id ? ad_secret_redacted(resp->request_id) : NULL;
    c.provider = e->ops->name;
    c.model = model;
    c.purpose = purpose;
    c.latency_ms = latency_ms;
    c.ok = failure == NULL;
    c.error = text.len ? text.ptr : NULL;
    if (resp) {
        c.prompt_tokens = resp->usage.prompt_tokens;
        c.completion_tokens = resp->usage.completion_tokens;
        c.cost_usd = resp->cost_usd;
        c.request_id = request_id;
    }
    if (!model || (req->purpose && !purpose) || (resp && resp->request_id && !request_id)) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    } else {
        pthread_mutex_lock(&llm->mu);
        rc = ad_store_llm_call_insert(llm->o.store, &c, err);
        pthread_mutex_unlock(&llm->mu);
    }
    free(model);
    free(purpose);
    free(request_id);
    ad_buf_release(&text);
    return rc ? ad_error_prefix(err, "cannot record the llm call") : 0;
}

/* ---- one provider with retries ------------------------------------------ */

/* Jittered exponential backoff as the SDKs do it, or what the server asked. */
static int64_t backoff_ms(struct ad_llm *llm, int attempt, int64_t retry_after_ms)
{
    double base, jitter;
    uint64_t r;

    /* The transport kept only a wait in 0..AD_LLM_RETRY_AFTER_MAX_MS. */
    if (retry_after_ms >= 0 && retry_after_ms <= AD_LLM_RETRY_AFTER_MAX_MS)
        return retry_after_ms;
    base = llm->o.backoff_base_ms * pow(2.0, attempt);
    if (base > llm->o.backoff_max_ms)
        base = llm->o.backoff_max_ms;
    pthread_mutex_lock(&llm->mu);
    r = splitmix(&llm->rng);
    pthread_mutex_unlock(&llm->mu);
    jitter = 1.0 - 0.25 * ((double)(r >> 11) / (double)(1ULL << 53));
    return (int64_t)(base * jitter);
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/*
 * What a successful attempt gives the caller: numbers clamped (noted),
 * the cost from the clamped usage, and every string masked of secrets.
 */
static int fill_response(struct ad_llm *llm, struct ad__llm_entry *e,
                         const struct ad_llm_request *req, struct ad_llm_response *resp,
                         int64_t latency_ms, struct ad_buf *note, struct ad_err *err)
{
    const char *model = req->model ? req->model : e->model;

    resp->latency_ms = latency_ms;
    ad__llm_clamp_usage(&resp->usage, note);
    resp->cost_usd = ad__llm_clamp_cost(
        ad__llm_prices_cost(llm->prices, e->ops->name, model, &resp->usage), note);
    free(resp->provider);
    free(resp->model);
    resp->provider = strdup(e->ops->name);
    resp->model = strdup(model);
    if (!resp->text)
        resp->text = strdup("");
    if (!resp->finish_reason)
        resp->finish_reason = strdup("stop");
    if (!resp->provider || !resp->model || !resp->text || !resp->finish_reason ||
        ad__llm_redact_reply(resp))
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/* One call of ad_llm_complete: what its attempts share. */
struct call {
    const struct ad_llm_request *req;
    int64_t end_ms;       /* monotonic deadline; 0: none */
    int attempts;         /* over the whole chain */
    int bad_request;      /* the provider refused the request itself */
    int deadline;         /* the deadline ended the call */
    int ledger_failed;    /* an answer came but its ledger row could not be written */
};

/*
 * One attempt of entry e within timeout_ms: the provider's reply checked
 * (fill_response), streamed pieces through the guard, the error masked,
 * the ledger row written. f says how it failed.
 */
static int attempt(struct ad_llm *llm, struct ad__llm_entry *e, struct call *c, int timeout_ms,
                   struct ad_llm_response *resp, struct ad__llm_failure *f, struct ad_err *err)
{
    struct ad_llm_request r = *c->req;
    struct ad_buf note = AD_BUF_INIT;
    struct ad__delta_guard g;
    int64_t t0 = ad__llm_mono_ms(), ms;
    int rc, lrc;

    memset(resp, 0, sizeof(*resp));
    memset(f, 0, sizeof(*f));
    f->retry_after_ms = -1;
    ad_err_clear(err);
    r.timeout_ms = timeout_ms;
    if (c->req->on_delta) {
        ad__delta_guard_init(&g, c->req);
        r.on_delta = ad__delta_guard_fn;
        r.delta_arg = &g;
    }
    rc = e->ops->attempt(e, &r, resp, f, err);
    if (c->req->on_delta) {
        /* What was held back was no secret: the stream has ended. */
        ad__delta_guard_flush(&g);
        ad__delta_guard_release(&g);
    }
    ms = ad__llm_mono_ms() - t0;
    c->attempts++;
    if (f->note[0])
        ad__llm_note(&note, "%s", f->note);
    if (!rc)
        rc = fill_response(llm, e, c->req, resp, ms, &note, err);
    ad__llm_redact_error(err->msg);
    lrc = ledger(llm, e, c->req, rc ? NULL : resp, ms, rc ? err : NULL, note.ptr,
                 rc ? NULL : err);
    ad_buf_release(&note);
    if (!rc && lrc) {
        ad_llm_response_release(resp);
        c->ledger_failed = 1;
        return lrc;
    }
    if (rc)
        ad_llm_response_release(resp);
    return rc;
}

/* The deadline ended the call: AD_ETIMEOUT, with the last attempt's error. */
static int deadline_passed(struct call *c, struct ad_err *err)
{
    char last[sizeof(err->msg)];

    snprintf(last, sizeof(last), "%s", err->msg);
    c->deadline = 1;
    return ad_error(err, AD_ETIMEOUT, "deadline of %" PRId64 " ms passed%s%s",
                    c->req->deadline_ms, last[0] ? "; last error: " : "", last);
}

/*
 * Tries entry e up to max_retries + 1 times, each attempt within the time
 * the deadline leaves. c->bad_request is set when the provider refused the
 * request itself, c->deadline when the deadline ended it.
 */
static int try_entry(struct ad_llm *llm, struct ad__llm_entry *e, struct call *c,
                     struct ad_llm_response *resp, struct ad_err *err)
{
    struct ad__llm_failure f;
    int64_t left, wait;
    int rc = 0, i, timeout;

    memset(&f, 0, sizeof(f));
    for (i = 0; i <= llm->o.max_retries; i++) {
        timeout = c->req->timeout_ms > 0 ? c->req->timeout_ms : llm->o.timeout_ms;
        left = c->end_ms ? c->end_ms - ad__llm_mono_ms() : INT64_MAX;
        if (left <= 0) {
            rc = deadline_passed(c, err);
            break;
        }
        if (left < timeout)
            timeout = (int)left;
        rc = attempt(llm, e, c, timeout, resp, &f, err);
        if (rc == 0 || c->ledger_failed)
            return rc;
        if (f.quota || !f.retryable)
            break;
        if (c->end_ms && ad__llm_mono_ms() >= c->end_ms) {
            rc = deadline_passed(c, err);
            break;
        }
        if (i == llm->o.max_retries)
            break;
        wait = backoff_ms(llm, i, f.retry_after_ms);
        if (c->end_ms && ad__llm_mono_ms() + wait >= c->end_ms) {
            /* The wait would end past the deadline: wait only until it. */
            sleep_ms(c->end_ms - ad__llm_mono_ms());
            rc = deadline_passed(c, err);
            break;
        }
        sleep_ms(wait);
    }
    /* The request itself was refused: another provider would refuse it too. */
    c->bad_request = !c->deadline && (f.status == 400 || f.status == 413 || f.status == 422);
    if (c->deadline)
        ad_error_prefix(err, "%s", e->label);
    else if (f.quota)
        ad_error_prefix(err, "%s: quota or spend limit (not retried)", e->label);
    else if (f.retryable && i > 0)
        ad_error_prefix(err, "%s: failed after %d attempts", e->label, i + 1);
    else
        ad_error_prefix(err, "%s", e->label);
    /* The label is configuration, and an exec command line may quote a key. */
    ad__llm_redact_error(err->msg);
    return rc;
}

/* ---- the chain walk ----------------------------------------------------- */

int ad_llm_complete(struct ad_llm *llm, const struct ad_llm_request *req,
                    struct ad_llm_response *resp, struct ad_err *err)
{
    struct ad_buf why = AD_BUF_INIT;
    struct call c;
    struct ad_err e1;
    int rc = AD_EPERM, tried = 0;
    size_t i;

    memset(resp, 0, sizeof(*resp));
    memset(&c, 0, sizeof(c));
    if (!req || !req->messages || req->nmessages == 0)
        return ad_error(err, AD_EINVAL, "an llm request needs at least one message");
    if (req->deadline_ms < 0)
        return ad_error(err, AD_EINVAL, "an llm deadline must not be negative");
    c.req = req;
    c.end_ms = req->deadline_ms > 0 ? ad__llm_mono_ms() + req->deadline_ms : 0;
    rc = check_caps(llm, err);
    if (rc)
        return rc;
    rc = AD_EPERM;
    for (i = 0; i < llm->n && !c.deadline; i++) {
        struct ad__llm_entry *e = &llm->v[i];

        if (!serves(llm, e, req->tier))
            continue;
        if (!breaker_admit(llm, e)) {
            ad_buf_addf(&why, "%s%s: circuit breaker open", why.len ? "; " : "", e->label);
            continue;
        }
        tried++;
        ad_err_clear(&e1);
        rc = try_entry(llm, e, &c, resp, &e1);
        /* A refused request, or one its deadline cut short, says nothing of the
         * provider's health. */
        if (rc && (c.bad_request || c.deadline))
            breaker_record_neutral(llm, e);
        else
            breaker_record(llm, e, rc == 0);
        if (!rc) {
            resp->attempts = c.attempts;
            ad_buf_release(&why);
            return 0;
        }
        ad_buf_addf(&why, "%s%s", why.len ? "; " : "", e1.msg);
        if (rc == AD_ENOMEM || c.bad_request)
            break;
    }
    if (!tried)
        rc = AD_EPERM;
    ad__llm_redact_error(why.ptr);   /* before ad_error cuts it */
    ad_error(err, rc, "%s%s", llm->n > 1 ? "every llm provider failed: " : "", why.ptr);
    ad_buf_release(&why);
    return rc;
}

/* ---- many at once ------------------------------------------------------- */

struct pool {
    struct ad_llm *llm;
    const struct ad_llm_request *reqs;
    struct ad_llm_response *resps;
    int *rcs;
    struct ad_err *errs;
    size_t n, next;
    pthread_mutex_t mu;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    struct ad_err local;
    size_t i;

    for (;;) {
        pthread_mutex_lock(&p->mu);
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            return NULL;
        ad_err_clear(&local);
        p->rcs[i] = ad_llm_complete(p->llm, &p->reqs[i], &p->resps[i],
                                    p->errs ? &p->errs[i] : &local);
    }
}

int ad_llm_complete_many(struct ad_llm *llm, const struct ad_llm_request *reqs, size_t n,
                         int max_in_flight, struct ad_llm_response *resps, int *rcs,
                         struct ad_err *errs)
{
    struct pool p = { llm, reqs, resps, rcs, errs, n, 0, PTHREAD_MUTEX_INITIALIZER };
    pthread_t th[64];
    size_t nth = max_in_flight < 1 ? 1 : (size_t)max_in_flight, started = 0, i;

    if (nth > AD_ARRAY_SIZE(th))
        nth = AD_ARRAY_SIZE(th);
    if (nth > n)
        nth = n;
    for (i = 0; i < n; i++)
        rcs[i] = AD_EINTERNAL;
    for (i = 0; i < nth; i++) {
        if (pthread_create(&th[i], NULL, pool_worker, &p))
            break;
        started++;
    }
    /* With no thread at all, do the work here rather than fail. */
    if (started == 0)
        pool_worker(&p);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.mu);
    for (i = 0; i < n; i++) {
        if (rcs[i])
            return rcs[i];
    }
    return 0;
}

int ad_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                 struct ad_llm_usage_row **out, size_t *n, struct ad_err *err)
{
    return ad_store_llm_usage(st, tenant_id, since, out, n, err);
}
