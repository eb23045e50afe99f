/* The MCP module's private header: the tool table (tools.c) and what a tool call gets. */
#ifndef AD_MCP_INT_H
#define AD_MCP_INT_H

#include <stddef.h>

#include <jansson.h>

#include "autodev/error.h"

struct ad_bus;
struct ad_runtime;
struct ad_store;

/* Who may see and call a tool: bits of a session's access. */
enum ad__mcp_access {
    AD__MCP_READ = 1 << 0,     /* every session */
    AD__MCP_WORK = 1 << 1,     /* record, run: admin, operator, agent, no token (the local user) */
    AD__MCP_REVIEW = 1 << 2,   /* approve, reject: admin and reviewer tokens only */
};

/* The annotations a tool carries (hints to the client, never a security boundary). */
enum ad__mcp_hints {
    AD__MCP_READONLY = 1 << 0,
    AD__MCP_DESTRUCTIVE = 1 << 1,
    AD__MCP_IDEMPOTENT = 1 << 2,
    AD__MCP_OPENWORLD = 1 << 3,
};

/* What a handler gets: the session's runtime and tenant, everything borrowed. */
struct ad__mcp_call {
    struct ad_runtime *rt;
    struct ad_store *st;
    struct ad_bus *bus;
    const char *tenant_id;
    const char *reviewer;      /* the token's name ("mcp" without one) */
};

/*
 * 0 with *out a new object (the structured result); a negative AD_E* code
 * with err's message: the caller answers a result with isError true.
 */
typedef int ad__mcp_tool_fn(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                            struct ad_err *err);

struct ad__mcp_tool {
    const char *name;          /* [a-z_], unique */
    const char *title;
    const char *description;
    const char *input;         /* the arguments' JSON Schema as text; NULL: agent_tool's */
    const char *output;        /* the structured result's JSON Schema as text */
    unsigned access;           /* enum ad__mcp_access: one bit */
    unsigned hints;            /* enum ad__mcp_hints */
    const char *agent_tool;    /* called through the agent loop's registry (agent.h); or NULL */
    ad__mcp_tool_fn *fn;       /* NULL when agent_tool is set */
};

/* The table, in listing order, and its length. */
const struct ad__mcp_tool *ad__mcp_tools(size_t *n);
const struct ad__mcp_tool *ad__mcp_tool_find(const char *name);
/* The tools/list entry of t (new reference; NULL with err). */
json_t *ad__mcp_tool_json(const struct ad__mcp_tool *t, struct ad_err *err);
/*
 * The arguments checked against t's input schema: AD_EINVAL naming the
 * field (the caller answers -32602), before anything runs.
 */
int ad__mcp_tool_check(const struct ad__mcp_tool *t, const json_t *args, struct ad_err *err);
/* Runs t (arguments checked); see ad__mcp_tool_fn. */
int ad__mcp_tool_run(const struct ad__mcp_tool *t, const struct ad__mcp_call *c,
                     const json_t *args, json_t **out, struct ad_err *err);

#endif
