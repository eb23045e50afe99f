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

#endif
