/*
 * The MCP server: autodev as tools of a coding agent, over the Model
 * Context Protocol's stdio transport (newline-delimited JSON-RPC 2.0:
 * one message a line on standard input, one answer a line on standard
 * output, every log on standard error).
 *
 * A face beside the HTTP server (layer 7): each tool parses its
 * arguments and calls the runtime or the owning module's API (agent,
 * learn, research), never the store. The tools are one table
 * (src/mcp/tools.c): name, title, description, the JSON Schemas of its
 * arguments and of its structured result, the roles that see it, whether
 * it changes what it reviews (annotations), and its handler. The
 * research steps are the agent loop's tools (agent.h,
 * ad_agent_tool_find), registered by the runtime: the same code and
 * schemas whether a model in 'autodev agent run' or a coding agent over
 * MCP drives autoresearch.
 *
 * Tenancy and roles. With a token (ad_tokens_authenticate, server.h) the
 * tenant and role are the token's; without one, the tenant is the local
 * store's (tenant_name, made when absent, as the CLI does) and the role
 * that of the CLI's user: reads and work, no review. The review actions
 * (approve, reject) are listed and callable only for a reviewer or admin
 * token, and each asks for "confirm": true, which a client should set
 * only after a person said yes.
 *
 * Thread model: the session belongs to the thread that made it (the
 * runtime's); ad_mcp_serve reads standard input on a thread of its own,
 * which only parses lines and notes cancellations.
 *
 * Errors: as everywhere, 0 or a negative AD_E* code with detail in err.
 */
#ifndef AUTODEV_MCP_H
#define AUTODEV_MCP_H

/* Module mcp, layer 7: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 7
#error "autodev/mcp.h belongs to module mcp (layer 7), above the module including it"
#endif

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "autodev/error.h"

struct ad_runtime;

#define AD_MCP_LINE_MAX_DEFAULT ((size_t)4 << 20)   /* a longer line is refused, not read */
#define AD_MCP_PAGE_DEFAULT 50                      /* tools in one tools/list page */

/* The protocol versions spoken, newest first; NULL-terminated. */
extern const char *const ad_mcp_protocol_versions[];

struct ad_mcp_options {
    struct ad_runtime *rt;     /* borrowed; opened read-write (tools record) */
    const char *token;         /* NULL or "": no token, tenant_name of the local store */
    const char *tenant_name;   /* without a token; NULL: "default" */
    size_t max_line;           /* 0: AD_MCP_LINE_MAX_DEFAULT */
    int page_size;             /* tools a tools/list page holds; 0: AD_MCP_PAGE_DEFAULT */
    const char *version;       /* serverInfo.version; NULL: "0" */
};

struct ad_mcp;

/*
 * A session: resolves the token (AD_EPERM for a bad one: no session
 * without a working token once one is given) or the tenant. Free with
 * ad_mcp_free.
 */
int ad_mcp_new(const struct ad_mcp_options *o, struct ad_mcp **out, struct ad_err *err);
void ad_mcp_free(struct ad_mcp *m);

/* The session's tenant id and role name ("local" without a token); borrowed. */
const char *ad_mcp_tenant(const struct ad_mcp *m);
const char *ad_mcp_role(const struct ad_mcp *m);

/*
 * One message (a line without its newline): the answer as a new
 * reference, or NULL when there is none (a notification, a response, a
 * cancelled request). A line that is not JSON gets the parse error.
 */
json_t *ad_mcp_handle_line(struct ad_mcp *m, const char *line, size_t len);

/*
 * Serves in_fd until end of input: each answer is one line of out
 * (compact JSON, ASCII only: no raw control or bidi character reaches a
 * terminal). Returns 0 at end of input, AD_EIO when out cannot be
 * written.
 */
int ad_mcp_serve(struct ad_mcp *m, int in_fd, FILE *out, struct ad_err *err);

#endif
