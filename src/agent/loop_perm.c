/*
 * Tool permissions of the agent loop: which tools an agent may call.
 *
 * An agent's allow-list (agents.tool_policy, set with ad_agent_tools_set)
 * names the tools it may call, skills and the tools of modules above alike
 * ("" none). Without one, its maturity decides:
 *   STUDENT      none;
 *   INTERN       the read-only skills, and the tools of modules above
 *                (research, whose steps keep their own gate);
 *   SUPERVISED+  every tool.
 * record_outcome is not a tool of the catalog: every agent may call it.
 *
 * A skill is read-only when its current version's code names none of the
 * markers of a side effect below: files written or removed, processes,
 * sockets, HTTP, the os module, dynamic code. The test is static and
 * errs on the safe side: a read-only skill that mentions "open(" counts
 * as writing.
 */
#include "compat.h"

#include "autodev/agent.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "agent_int.h"

#define POLICY_MAX_TOOLS 256

static const char *const side_effects[] = {
    "open(",   "import os", "from os", "os.",      "subprocess", "socket",   "shutil",
    "pathlib", "requests",  "urllib",  "http.",    "httpx",      "aiohttp",  "sqlite3",
    ".write",  "unlink",    "remove(", "rmdir",    "mkdir",      "rename(",  "chmod",
    "system(", "exec(",     "eval(",   "__import__", "ctypes",   "importlib", "pickle",
    "tempfile", "signal",   "multiprocessing", "threading", "smtplib", "ftplib", "telnetlib",
};

bool ad_agent_skill_read_only(const char *code)
{
    if (!code)
        return false;
    for (size_t i = 0; i < AD_ARRAY_SIZE(side_effects); i++)
        if (strstr(code, side_effects[i]))
            return false;
    return true;
}

static bool in_list(const char *csv, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = csv; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

bool ad_agent_tool_allowed(const struct ad_agent *a, const char *tool, bool skill,
                           bool read_only, const char **why)
{
    const char *w;
    bool ok;

    if (strcmp(tool, "record_outcome") == 0) {
        w = "every agent may record its outcome";
        ok = true;
    } else if (a->tool_policy) {
        ok = in_list(a->tool_policy, tool);
        w = ok ? "on the agent's allow-list" : "not on the agent's allow-list";
    } else if (a->maturity == AD_STUDENT) {
        ok = false;
        w = "a STUDENT agent calls no tools";
    } else if (a->maturity == AD_INTERN) {
        ok = !skill || read_only;
        w = !skill ? "an INTERN agent may call the runtime's tools"
            : read_only ? "read-only skill, allowed for an INTERN agent"
                        : "not a read-only skill, which an INTERN agent may not call";
    } else {
        ok = true;
        w = "a SUPERVISED or AUTONOMOUS agent calls every tool";
    }
    if (why)
        *why = w;
    return ok;
}

static bool tool_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

int ad_agent_tools_set(struct ad_store *st, const char *tenant_id, const char *agent_id,
                       const char *allow, struct ad_err *err)
{
    size_t count = 0;

    for (const char *p = allow; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (!tool_name_ok(p, len))
            return ad_error(err, AD_EINVAL, "invalid tool name '%.*s' in the allow-list: "
                            "1 to 64 of a-z, 0-9 and '_', separated by ','",
                            (int)(len > 64 ? 64 : len), p);
        if (++count > POLICY_MAX_TOOLS)
            return ad_error(err, AD_EINVAL, "an allow-list names at most %d tools",
                            POLICY_MAX_TOOLS);
        p = e ? e + 1 : NULL;
        if (e && !*p)
            return ad_error(err, AD_EINVAL, "the allow-list ends with ','");
    }
    return ad_store_agent_set_tool_policy(st, tenant_id, agent_id, allow, err);
}
