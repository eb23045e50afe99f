/*
 * Talking to language models: one request/response contract over several
 * providers, with retries, a fallback chain, circuit breakers and a cost
 * ledger.
 *
 * A struct ad_llm is built from a chain spec, "PROVIDER:MODEL[,PROVIDER:MODEL...]"
 * ($AUTODEV_LLM), e.g. "anthropic:claude-sonnet-4-5,openai:gpt-4o-mini"; an entry
 * may carry a tier, "fast:PROVIDER:MODEL" or "strong:PROVIDER:MODEL" (see
 * ad_llm_has_tier). Providers:
 *
 *   openai     Chat Completions. Base URL $OPENAI_BASE_URL (default
 *              https://api.openai.com/v1), so the same provider serves Ollama
 *              (http://localhost:11434/v1), llama.cpp's server and vLLM. Key
 *              $OPENAI_API_KEY (optional for local servers).
 *   anthropic  Messages API. Base URL $ANTHROPIC_BASE_URL (default
 *              https://api.anthropic.com), key $ANTHROPIC_API_KEY.
 *   exec       "exec:COMMAND ARGS..." runs the command with /bin/sh -c, the
 *              prompt on stdin, the completion read from stdout; the model
 *              name is the command. A non-zero exit or the timeout fails.
 *              The command gets the environment without credentials:
 *              variables whose names hold KEY, TOKEN, SECRET, PASSWORD,
 *              PASSWD or CREDENTIAL (any case) and variables whose value
 *              holds a registered secret (secret.h) are dropped; PATH, HOME,
 *              LANG and the rest are kept. $AUTODEV_EXEC_ENV_ALLOW names
 *              (comma- or space-separated) the variables a command needs
 *              all the same, e.g. AUTODEV_EXEC_ENV_ALLOW=HF_TOKEN.
 *   offline    answers code-proposal requests (a fenced code block in the
 *              last user message) with one mutant from the propose module, as
 *              a SEARCH/REPLACE edit; never touches the network; costs 0.
 *
 * A call walks the chain: each provider is retried as the official SDKs do
 * (connection errors, 408, 409, 429, >= 500; retry-after-ms / retry-after
 * honoured; jittered exponential backoff from 0.5 s, capped at 8 s; quota and
 * spend-limit errors never retried), then the next provider is tried. A
 * provider whose circuit breaker is open is skipped. A request the provider
 * refused as malformed (400, 413, 422) ends the call: the next provider
 * would refuse it too, and it does not count against the breaker. Every
 * other failure (exhausted retries, quota, 401/403/404, a reply that is not
 * the documented format) moves on to the next provider.
 *
 * API keys come from the environment only. They are sent in headers and
 * never appear in errors, logs, events or ledger rows. Building a chain
 * registers every key it can read ($OPENAI_API_KEY, $ANTHROPIC_API_KEY, a
 * base URL's user:password) as a secret (secret.h), and every string a
 * provider wrote is masked before it leaves this module or enters the
 * ledger, whatever the provider: the text, tool calls' ids, names and
 * arguments, the finish reason, the request id, error messages (masked
 * before they are cut, so no cut leaves half a key) and streamed pieces.
 * A reply that is JSON (structured output, tool arguments) is also masked
 * with its escapes decoded ("sk\u002d..."). So a model or server that
 * echoes a key, in any letter case, gives the caller "[secret]" instead.
 *
 * Numbers from a provider are brought into their sane range before they
 * are used or stored, and the ledger row of the call says what was changed
 * (its error column, also on a row whose status is ok):
 *   tokens       0..AD_LLM_TOKENS_MAX per count and call;
 *   cost         0..AD_LLM_COST_MAX_USD per call (computed from the tokens);
 *   retry-after  0..AD_LLM_RETRY_AFTER_MAX_MS, as the official SDKs do: a
 *                negative, unreadable or longer wait is disregarded and the
 *                jittered backoff used instead;
 *   status       100..599, else the reply is a broken one (retried);
 *   lengths      replies over 8 MiB (declared or sent) are refused;
 *   tool calls   at most 128 per reply; a streamed index past that is an
 *                invalid reply.
 *
 * Thread safety: one struct ad_llm may be used by several threads at once
 * (ad_llm_complete_many does so); breakers and the ledger are guarded.
 */
#ifndef AUTODEV_LLM_H
#define AUTODEV_LLM_H

/* Module llm, layer 3: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 3
#error "autodev/llm.h belongs to module llm (layer 3), above the module including it"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "autodev/buf.h"
#include "autodev/error.h"

struct ad_llm_usage_row;
struct ad_store;

/*
 * Most tokens one count of one call may claim: a hundred times the largest
 * context window offered today (10M tokens), and the largest daily token
 * cap the settings accept, so one call can fill a day's cap but no sum of
 * calls comes near int64 overflow (9.2e9 calls at the maximum).
 */
#define AD_LLM_TOKENS_MAX 1000000000LL
/* Most dollars one call may cost: the largest daily spend cap the settings accept. */
#define AD_LLM_COST_MAX_USD 1e6
/* Longest wait a server may ask for between attempts (the SDKs' bound). */
#define AD_LLM_RETRY_AFTER_MAX_MS 60000

enum ad_llm_role {
    AD_LLM_SYSTEM = 1,
    AD_LLM_USER,
    AD_LLM_ASSISTANT,
    AD_LLM_TOOL,
};

/* A tool call, in a response or in an assistant message of the history. */
struct ad_llm_tool_call {
    char *id;          /* owned; the provider's call id */
    char *name;        /* owned */
    char *arguments;   /* owned; JSON text as the model wrote it (may be invalid JSON) */
};

struct ad_llm_message {
    enum ad_llm_role role;
    const char *content;                      /* borrowed; may be NULL with tool calls */
    const struct ad_llm_tool_call *calls;     /* borrowed; assistant messages only */
    size_t ncalls;
    const char *tool_call_id;                 /* borrowed; AD_LLM_TOOL messages */
};

struct ad_llm_tool {
    const char *name;          /* borrowed */
    const char *description;   /* borrowed */
    const json_t *parameters;  /* borrowed JSON schema of the arguments object */
};

/* Everything borrowed: the caller keeps it alive for the call. */
struct ad_llm_request {
    const struct ad_llm_message *messages;
    size_t nmessages;
    const struct ad_llm_tool *tools;
    size_t ntools;
    const json_t *json_schema;   /* structured output; NULL for free text */
    const char *schema_name;     /* name of that schema (default "result") */
    const char *model;           /* NULL: the chain entry's model */
    int max_tokens;              /* 0: 1024 */
    double temperature;          /* < 0: the provider's default */
    int64_t seed;                /* < 0: none */
    const char *purpose;         /* ledger label ("memento", "alpha", "test", ...) */
    int timeout_ms;              /* per attempt; 0: the llm's default (120000) */
    int64_t deadline_ms;         /* 0: none; else the whole call, every retry and fallback
                                    included, must end within deadline_ms of its start; past it
                                    the call fails with AD_ETIMEOUT */
    /* Streaming: when set, the call streams (SSE) and on_delta receives each
     * piece of text as it arrives (kind "text") and each tool call once it
     * has a name (kind "tool"). Return non-zero to abort the call.
     *
     * Pieces are masked of secrets like everything else. To catch a secret
     * split across two pieces, the end of the text that could be the start
     * of a registered secret is held back until the next piece (or the end
     * of the stream) shows whether it is one, so pieces may arrive later and
     * cut differently than the server sent them (a tool call announced
     * meanwhile comes first); the text pieces joined are the response's
     * text. Each attempt streams afresh.
     */
    int (*on_delta)(void *arg, const char *kind, const char *text, size_t len);
    void *delta_arg;
    /* "fast" or "strong": only the chain's entries of that tier and those without one
     * answer, when the chain has an entry of that tier; NULL: every entry. */
    const char *tier;
};

struct ad_llm_usage {
    int64_t prompt_tokens;
    int64_t completion_tokens;
};

/* Filled by a call; release with ad_llm_response_release(). */
struct ad_llm_response {
    char *text;                       /* owned; "" when the reply had only tool calls */
    struct ad_llm_tool_call *calls;   /* owned array */
    size_t ncalls;
    char *finish_reason;              /* owned; normalised: stop, length, tool_calls, error */
    struct ad_llm_usage usage;
    double cost_usd;
    char *provider;                   /* owned; the provider that answered */
    char *model;                      /* owned */
    char *request_id;                 /* owned; provider request id or NULL */
    int64_t latency_ms;               /* of the answering attempt */
    int attempts;                     /* over the whole chain */
};

void ad_llm_response_release(struct ad_llm_response *r);

struct ad_llm_options {
    struct ad_store *store;      /* ledger and caps; NULL: neither */
    const char *tenant_id;       /* with store */
    int timeout_ms;              /* default per-attempt timeout; 0: 120000 */
    int max_retries;             /* per provider; < 0: 2 (3 attempts) */
    int backoff_base_ms;         /* 0: 500 */
    int backoff_max_ms;          /* 0: 8000 */
    int breaker_threshold;       /* consecutive failed calls that open it; 0: 5 */
    int breaker_cooldown_ms;     /* until it half-opens; 0: 30000 */
    int64_t daily_token_cap;     /* per tenant, since 00:00 UTC; 0: none */
    double daily_usd_cap;        /* per tenant; 0: none */
    const char *prices_file;     /* JSON price table; NULL: $AUTODEV_LLM_PRICES, else built in */
    uint64_t seed;               /* offline provider and jitter; 0: from the clock */
};

struct ad_llm;

/*
 * Builds a chain from spec (NULL: $AUTODEV_LLM). No provider configured is
 * AD_ENOTFOUND with a message saying how to set one. A malformed spec or an
 * unknown provider is AD_EINVAL.
 */
int ad_llm_new(const char *spec, const struct ad_llm_options *opts, struct ad_llm **out,
               struct ad_err *err);
void ad_llm_free(struct ad_llm *llm);

/*
 * Tiers: an entry of the chain may start with "fast:" or "strong:"
 * ("fast:openai:gpt-4o-mini,strong:anthropic:claude-sonnet-4-5"); a request
 * with .tier set walks only the entries of that tier and the untiered ones.
 * Whether the chain has an entry of tier:
 */
bool ad_llm_has_tier(const struct ad_llm *llm, const char *tier);

/* Number of providers in the chain, and the i-th one's "provider:model". */
size_t ad_llm_chain_len(const struct ad_llm *llm);
const char *ad_llm_chain_entry(const struct ad_llm *llm, size_t i);

/*
 * Context windows: an entry may also start with "window=N:" (N tokens,
 * AD_LLM_WINDOW_MIN..AD_LLM_WINDOW_MAX), before or after its tier mark:
 * "fast:window=16000:ollama...,strong:window=200000:anthropic:claude-sonnet-4-5".
 * The i-th entry's window, 0 when it gives none; the first entry a request
 * of tier (NULL: any) tries, ad_llm_chain_len when none serves it.
 */
#define AD_LLM_WINDOW_MIN 64
#define AD_LLM_WINDOW_MAX 10000000
int64_t ad_llm_entry_window(const struct ad_llm *llm, size_t i);
size_t ad_llm_tier_first(const struct ad_llm *llm, const char *tier);

/*
 * One completion. On success fills *resp (the caller releases it).
 *
 * With req->deadline_ms, each attempt's timeout is the smaller of its own
 * and the time left; a backoff that would end past the deadline sleeps only
 * until it; no attempt or provider is begun once it has passed. A call
 * that fails because of its deadline therefore returns AD_ETIMEOUT once the
 * deadline has passed (never before), so a caller can tell by its own
 * clock. Such a failure does not count against the breaker: the call was
 * cut short, the provider did not fail.
 *
 * Errors:
 * AD_ELIMIT (a daily cap would be exceeded: nothing is sent), AD_ETIMEOUT,
 * AD_EIO (network or provider failure after retries and fallback), AD_EINVAL
 * (a request the provider refused, or a reply that is not the documented
 * format), AD_EPERM (every breaker open). err says which provider and why.
 */
int ad_llm_complete(struct ad_llm *llm, const struct ad_llm_request *req,
                    struct ad_llm_response *resp, struct ad_err *err);

/*
 * n completions with at most max_in_flight running at once on a pool of
 * threads. rcs[i] gets each call's return code, errs (may be NULL) its
 * detail. Returns 0 when every call succeeded, else the first failure code.
 */
int ad_llm_complete_many(struct ad_llm *llm, const struct ad_llm_request *reqs, size_t n,
                         int max_in_flight, struct ad_llm_response *resps, int *rcs,
                         struct ad_err *errs);

/* Cost of usage for model from the price table (0 when the model is unknown). */
double ad_llm_price(const struct ad_llm *llm, const char *provider, const char *model,
                    const struct ad_llm_usage *u);

/* Breaker state of chain entry i: "closed", "open" or "half-open". */
const char *ad_llm_breaker_state(struct ad_llm *llm, size_t i);

/*
 * The cost ledger (the llm_calls table, which this module owns) summed by
 * provider, model and purpose, for calls made at or after since (ISO-8601
 * UTC; NULL: all), largest cost first. Free with ad_llm_usage_rows_free.
 */
int ad_llm_usage(struct ad_store *st, const char *tenant_id, const char *since,
                 struct ad_llm_usage_row **out, size_t *n, struct ad_err *err);

#endif
