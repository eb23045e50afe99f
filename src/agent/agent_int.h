/* The agent module's private header: the registry of provided tools (tools.c). */
#ifndef AD_AGENT_INT_H
#define AD_AGENT_INT_H

#include <stddef.h>

#include "autodev/agent.h"

#define AD__AGENT_MAX_PROVIDED 32

/* One registered tool and the arg of its table. */
struct ad__agent_provided {
    const struct ad_agent_tool *tool;
    void *arg;
};

/* A snapshot of the registered tools into out (room for AD__AGENT_MAX_PROVIDED); how many. */
size_t ad__agent_provided(struct ad__agent_provided *out);

/* ---- the loop's parts (loop_screen.c, loop_context.c) ---------------------- */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct ad_llm;
struct ad_llm_tool;

/* The longest prefix of s of at most n bytes that does not split a character. */
size_t ad__agent_utf8_cut(const char *s, size_t n);
/*
 * The screen's flags for a tool result's text: a JSON array of
 * {"rule": "override"|"role_marker"|"tool_syntax", "match"}, one per rule
 * matched ([] when none); NULL only out of memory.
 */
json_t *ad__agent_screen(const char *text);
/* The tool result as the model reads it: labelled and fenced (malloc'd; NULL: no memory). */
char *ad__agent_fence(const char *name, const char *call_id, const char *content,
                      const json_t *flags);

/* A tool message's content: {"ok", "output" | "error"} as JSON text, cut to 16 KiB (loop.c). */
char *ad__agent_result_text(bool ok, const json_t *output, const char *error);

/* The context window of model (a table by family), AD_AGENT_DEFAULT_WINDOW when unknown. */
int64_t ad__agent_model_window(const char *model);
/* Estimated tokens of one transcript message, and of what a request carries. */
int64_t ad__agent_msg_tokens(const json_t *m);
int64_t ad__agent_context_tokens(const json_t *tr, const struct ad_llm_tool *tools, size_t n);
/* Whether a later assistant message cites the tool message at tr[at]. */
bool ad__agent_cited(const json_t *tr, size_t at);

struct ad__compact_in {
    json_t *transcript;      /* changed in place */
    struct ad_llm *llm;
    const char *model;
    int keep_turns;          /* model turns kept as they are, >= 1 */
    int64_t deadline_ms;     /* of the summarisation call; 0: none */
};

struct ad__compact_out {
    int compacted;           /* messages folded; 0: nothing was */
    const char *by;          /* "model" | "clip" */
    size_t ncited;
    int64_t tokens_before, tokens_after;
    int64_t tokens;          /* of the summarisation call */
    double cost_usd;
    char why_clipped[256];   /* the summarisation call's error, when it failed */
};

/* Folds the oldest turns into a digest message (loop_context.c says how). */
int ad__agent_compact(const struct ad__compact_in *in, struct ad__compact_out *out,
                      struct ad_err *err);

#endif
