/*
 * The registry of tools from modules above agent (agent.h,
 * ad_agent_tools_register): tables the composition root hands in, read by
 * every run of the loop (loop.c). Process-wide: a table is static data, its
 * schema checked once here.
 */
#include "compat.h"

#include <pthread.h>

#include "autodev/agent.h"

#include "agent_int.h"

#define MAX_TABLES 8

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ad__agent_provided reg[AD__AGENT_MAX_PROVIDED];
static const struct ad_agent_tool *tables[MAX_TABLES];
static size_t ntables, nreg;

static int name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    }
    return 1;
}

static int check_table(const struct ad_agent_tool *tools, size_t n, struct ad_err *err)
{
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *schema = json_loads(tools[i].schema ? tools[i].schema : "", 0, &jerr);
        int obj = json_is_object(schema);

        json_decref(schema);
        if (!name_ok(tools[i].name) || !tools[i].fn || !tools[i].description)
            return ad_error(err, AD_EINVAL, "agent tool %zu: a name of [a-z0-9_], a "
                            "description and a function are required", i);
        if (!obj)
            return ad_error(err, AD_EINVAL, "agent tool '%s': the schema is not a JSON object",
                            tools[i].name);
        for (size_t k = 0; k < nreg; k++) {
            if (!strcmp(reg[k].tool->name, tools[i].name))
                return ad_error(err, AD_EINVAL, "agent tool '%s' is registered already",
                                tools[i].name);
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(tools[k].name, tools[i].name))
                return ad_error(err, AD_EINVAL, "agent tool '%s' is twice in its table",
                                tools[i].name);
        }
    }
    return 0;
}

int ad_agent_tools_register(const struct ad_agent_tool *tools, size_t n, void *arg,
                            struct ad_err *err)
{
    int rc = 0;

    if (!tools || n == 0)
        return ad_error(err, AD_EINVAL, "no agent tools to register");
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < ntables; i++) {
        if (tables[i] == tools) {
            pthread_mutex_unlock(&reg_lock);
            return 0;
        }
    }
    if (ntables >= MAX_TABLES || nreg + n > AD__AGENT_MAX_PROVIDED)
        rc = ad_error(err, AD_ELIMIT, "at most %d agent tool tables and %d tools", MAX_TABLES,
                      AD__AGENT_MAX_PROVIDED);
    if (!rc)
        rc = check_table(tools, n, err);
    if (!rc) {
        tables[ntables++] = tools;
        for (size_t i = 0; i < n; i++) {
            reg[nreg].tool = &tools[i];
            reg[nreg].arg = arg;
            nreg++;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

size_t ad__agent_provided(struct ad__agent_provided *out)
{
    size_t n;

    pthread_mutex_lock(&reg_lock);
    n = nreg;
    memcpy(out, reg, n * sizeof(*out));
    pthread_mutex_unlock(&reg_lock);
    return n;
}

int ad_agent_tool_find(const char *name, const struct ad_agent_tool **tool, void **arg,
                       struct ad_err *err)
{
    int rc = AD_ENOTFOUND;

    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; name && i < nreg; i++) {
        if (!strcmp(reg[i].tool->name, name)) {
            *tool = reg[i].tool;
            if (arg)
                *arg = reg[i].arg;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    if (rc < 0)
        return ad_error(err, rc, "no agent tool '%s' is registered", name ? name : "");
    return 0;
}
