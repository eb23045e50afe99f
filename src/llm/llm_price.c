/*
 * The price table: USD per million prompt and completion tokens by model.
 *
 * A table is a JSON object whose keys are "MODEL", "PROVIDER:MODEL", or
 * either ending in '*' (a prefix), and whose values are
 * {"input": USD_PER_MTOK, "output": USD_PER_MTOK}. The most specific key
 * wins: provider-qualified before bare, exact before prefix, longer prefix
 * before shorter. A model that matches nothing costs 0 (local servers).
 *
 * The built-in table holds list prices published by the providers; a file
 * named by AUTODEV_LLM_PRICES (or the option) replaces it entirely, so the
 * operator decides, not a stale constant here.
 */
#include "compat.h"

#include "autodev/json.h"

#include "llm_int.h"

static const char builtin[] =
    "{"
    "\"openai:gpt-4o*\": {\"input\": 2.50, \"output\": 10.00},"
    "\"openai:gpt-4o-mini*\": {\"input\": 0.15, \"output\": 0.60},"
    "\"openai:gpt-4.1*\": {\"input\": 2.00, \"output\": 8.00},"
    "\"openai:gpt-4.1-mini*\": {\"input\": 0.40, \"output\": 1.60},"
    "\"openai:gpt-4.1-nano*\": {\"input\": 0.10, \"output\": 0.40},"
    "\"openai:o3-mini*\": {\"input\": 1.10, \"output\": 4.40},"
    "\"openai:o4-mini*\": {\"input\": 1.10, \"output\": 4.40},"
    "\"anthropic:claude-opus-4*\": {\"input\": 15.00, \"output\": 75.00},"
    "\"anthropic:claude-sonnet-4*\": {\"input\": 3.00, \"output\": 15.00},"
    "\"anthropic:claude-3-5-haiku*\": {\"input\": 0.80, \"output\": 4.00},"
    "\"anthropic:claude-haiku-4*\": {\"input\": 1.00, \"output\": 5.00}"
    "}";

/* Every entry must be {"input": number >= 0, "output": number >= 0}. */
static int check_table(json_t *t, struct ad_err *err)
{
    const char *key;
    json_t *v, *in, *out;

    if (!json_is_object(t))
        return ad_error(err, AD_EINVAL, "a price table is a JSON object");
    json_object_foreach(t, key, v) {
        in = json_object_get(v, "input");
        out = json_object_get(v, "output");
        if (!json_is_number(in) || !json_is_number(out) || json_number_value(in) < 0 ||
            json_number_value(out) < 0)
            return ad_error(err, AD_EINVAL,
                            "price of '%s' must be {\"input\": USD, \"output\": USD} per "
                            "million tokens, not negative", key);
    }
    return 0;
}

int ad__llm_prices_load(const char *file, json_t **out, struct ad_err *err)
{
    json_error_t je;
    json_t *t;

    *out = NULL;
    if (!file)
        file = getenv("AUTODEV_LLM_PRICES");
    if (file && *file) {
        t = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
        if (!t)
            return ad_error(err, AD_EINVAL, "price table '%s': %s (line %d)", file, je.text,
                            je.line);
    } else {
        t = json_loads(builtin, 0, NULL);
        if (!t)
            return ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (check_table(t, err)) {
        json_decref(t);
        return file && *file ? ad_error_prefix(err, "price table '%s'", file) : AD_EINTERNAL;
    }
    *out = t;
    return 0;
}

/* How well key matches: 0 none; higher is more specific. */
static size_t match(const char *key, const char *provider, const char *model)
{
    size_t plen = strlen(provider), klen = strlen(key), bonus = 0;

    if (!strncmp(key, provider, plen) && key[plen] == ':') {
        key += plen + 1;
        klen -= plen + 1;
        bonus = 1u << 20;
    }
    if (!strcmp(key, model))
        return bonus + (1u << 19);
    if (klen > 0 && key[klen - 1] == '*' && !strncmp(key, model, klen - 1))
        return bonus + klen;
    return 0;
}

double ad__llm_prices_cost(const json_t *prices, const char *provider, const char *model,
                           const struct ad_llm_usage *u)
{
    const char *key;
    json_t *v, *best = NULL;
    size_t score, top = 0;

    if (!prices || !provider || !model)
        return 0;
    json_object_foreach((json_t *)prices, key, v) {
        score = match(key, provider, model);
        if (score > top) {
            top = score;
            best = v;
        }
    }
    if (!best)
        return 0;
    return ((double)u->prompt_tokens * json_number_value(json_object_get(best, "input")) +
            (double)u->completion_tokens * json_number_value(json_object_get(best, "output"))) /
           1e6;
}
