#include "compat.h"

#include <jansson.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/store.h"

#define ERROR_TYPE_MAX AD_ERROR_TYPE_MAX

static bool ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

/* A dotted identifier: "ValueError", "json.decoder.JSONDecodeError". */
static bool dotted_ident(const char *s, size_t n)
{
    bool at_start = true;

    if (n == 0 || n > ERROR_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (at_start)
                return false;
            at_start = true;
        } else if (at_start ? !ident_start(s[i]) : !ident_char(s[i])) {
            return false;
        } else {
            at_start = false;
        }
    }
    return !at_start;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/*
 * The exception name of a trace, into out; false when it has none. A
 * Python traceback ends with the exception ("ValueError: bad value"), and so
 * do most one-line error texts ("KeyError: 'x'"), so the LAST non-blank
 * line is the one to read, and its name is the token before the first ':'.
 * A line without ':' or whose token is not a (dotted) identifier is plain
 * prose: no type.
 */
bool ad_episode_error_type(const char *trace, char out[AD_ERROR_TYPE_MAX + 1])
{
    const char *end, *start, *colon;
    size_t n;

    if (!trace)
        return false;
    end = trace + strlen(trace);
    while (end > trace && blank(end[-1]))
        end--;
    start = end;
    while (start > trace && start[-1] != '\n')
        start--;
    while (start < end && blank(*start))
        start++;
    colon = memchr(start, ':', (size_t)(end - start));
    if (!colon)
        return false;
    n = (size_t)(colon - start);
    if (!dotted_ident(start, n))
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    return true;
}

static json_t *outcome_payload(const struct ad_episode *ep)
{
    char type[ERROR_TYPE_MAX + 1];
    json_t *p = json_object();
    int rc = 0;

    if (!p)
        return NULL;
    rc |= json_object_set_new(p, "episode_id", json_string(ep->id));
    rc |= json_object_set_new(p, "agent_id", json_string(ep->agent_id));
    rc |= json_object_set_new(p, "task_kind",
                              ep->task_kind ? json_string(ep->task_kind) : json_null());
    rc |= json_object_set_new(p, "task_description", json_string(ep->task_description));
    rc |= json_object_set_new(p, "success", json_boolean(ep->success));
    rc |= json_object_set_new(p, "error_type", ad_episode_error_type(ep->error_trace, type)
                                                   ? json_string(type) : json_null());
    if (rc != 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int ad_episode_record(struct ad_store *st, struct ad_bus *bus, struct ad_episode *ep,
                      struct ad_err *err)
{
    json_t *payload = NULL;
    int depth0, rc;

    if (!st || !ep)
        return ad_error(err, AD_EINVAL, "episode record needs a store and an episode");
    depth0 = ad_store_tx_depth(st);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_episode_insert(st, ep, err);
    if (rc < 0)
        goto out;
    if (bus) {
        payload = outcome_payload(ep);
        if (!payload) {
            rc = ad_error(err, AD_ENOMEM, "out of memory");
            goto out;
        }
        rc = ad_bus_emit(bus, ep->tenant_id,
                         ep->success ? AD_TOPIC_TASK_SUCCESS : AD_TOPIC_TASK_FAIL, payload, NULL,
                         err);
        if (rc < 0)
            goto out;
    }
    rc = ad_store_commit(st, err);
out:
    if (rc < 0) {
        /* Only our own level: a failed commit may already have closed it. */
        if (ad_store_tx_depth(st) > depth0)
            ad_store_rollback(st);
        /* The row the id named is gone with the rollback. */
        ep->id[0] = '\0';
    }
    json_decref(payload);
    return rc;
}
