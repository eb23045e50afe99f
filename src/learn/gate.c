/*
 * Capability gates: who may use which learning loop, and the unlock
 * notifications that follow a change of maturity.
 *
 * The matrix is the reference one: memento_skills needs INTERN,
 * alpha_evolver SUPERVISED, background_evolution AUTONOMOUS; each needs the
 * workspace master toggle and its own toggle, and stays within the daily
 * limit (skill candidates or mutations created since 00:00 UTC today).
 * The count here answers "may it start?"; the authoritative count runs in
 * the transaction that creates the row (ad_store_candidate_insert), so a
 * burst of requests that all passed this check still cannot overshoot.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/buf.h"
#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/learn.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "learn_int.h"

static const struct cap_def {
    const char *name;
    const char *short_name;
    const char *title;
    enum ad_maturity min;
    bool built;          /* this build runs the loop; the gate decides either way */
} caps[AD_CAP_COUNT] = {
    [AD_CAP_MEMENTO] = { "auto_dev.memento_skills", "memento_skills", "Memento-Skills",
                         AD_INTERN, true },
    [AD_CAP_ALPHA] = { "auto_dev.alpha_evolver", "alpha_evolver", "AlphaEvolver",
                       AD_SUPERVISED, true },
    [AD_CAP_BACKGROUND] = { "auto_dev.background_evolution", "background_evolution",
                            "Background Evolution", AD_AUTONOMOUS, true },
};

bool ad_capability_built(enum ad_capability c)
{
    return (unsigned)c < AD_CAP_COUNT && caps[c].built;
}

const char *ad_capability_name(enum ad_capability c)
{
    return (unsigned)c < AD_CAP_COUNT ? caps[c].name : NULL;
}

const char *ad_capability_title(enum ad_capability c)
{
    return (unsigned)c < AD_CAP_COUNT ? caps[c].title : NULL;
}

int ad_capability_parse(const char *s, enum ad_capability *out)
{
    for (int i = 0; s && i < AD_CAP_COUNT; i++) {
        if (!strcmp(s, caps[i].name) || !strcmp(s, caps[i].short_name)) {
            *out = (enum ad_capability)i;
            return 0;
        }
    }
    return AD_EINVAL;
}

enum ad_maturity ad_capability_min_maturity(enum ad_capability c)
{
    return (unsigned)c < AD_CAP_COUNT ? caps[c].min : AD_AUTONOMOUS;
}

static void add_reason(struct ad_gate_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_reason(struct ad_gate_decision *d, const char *fmt, ...)
{
    va_list ap;

    d->allowed = false;
    if (d->nreasons >= AD_GATE_REASONS_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(d->reasons[d->nreasons++], AD_GATE_REASON_SIZE, fmt, ap);
    va_end(ap);
}

static bool toggle_on(const struct ad_settings *s, enum ad_capability cap)
{
    switch (cap) {
    case AD_CAP_MEMENTO:
        return s->memento_skills;
    case AD_CAP_ALPHA:
        return s->alpha_evolver;
    case AD_CAP_BACKGROUND:
        return s->background_evolution;
    }
    return false;
}

int ad_gate_check(struct ad_store *st, const char *tenant_id, const char *agent_id,
                  enum ad_capability cap, struct ad_gate_decision *d, struct ad_err *err)
{
    struct ad_agent a = { 0 };
    struct ad_settings s;
    int64_t used = 0;
    int rc;

    memset(d, 0, sizeof(*d));
    d->allowed = true;
    d->maturity = AD_STUDENT;
    ad_time_day_start(NULL, d->day_start);
    if ((unsigned)cap >= AD_CAP_COUNT) {
        add_reason(d, "unknown capability");
        return ad_error(err, AD_EINVAL, "unknown capability %d", (int)cap);
    }
    rc = ad_settings_get(st, tenant_id, &s, err);
    if (rc == 0)
        rc = ad_agents_get(st, tenant_id, agent_id, &a, err);
    if (rc == 0) {
        d->maturity = a.maturity;
        d->daily_limit = cap == AD_CAP_MEMENTO ? s.max_skill_candidates_per_day
                                               : s.max_mutations_per_day;
        rc = cap == AD_CAP_MEMENTO
                 ? ad_store_candidate_count_since(st, tenant_id, d->day_start, &used, err)
                 : ad_store_mutation_count_since(st, tenant_id, d->day_start, &used, err);
    }
    if (rc < 0) {
        /* Fail closed: a check that cannot run denies. */
        add_reason(d, "the gate could not run: %s", err ? err->msg : ad_strerror(rc));
        ad_agent_release(&a);
        return rc;
    }
    d->used_today = used;
    if (!s.enabled)
        add_reason(d, "auto-dev is disabled for this workspace (setting enabled is false)");
    if (!toggle_on(&s, cap))
        add_reason(d, "%s is switched off (setting %s is false)", caps[cap].title,
                   caps[cap].short_name);
    if (a.maturity < caps[cap].min)
        add_reason(d, "agent '%s' is %s; %s needs %s or higher", a.name,
                   ad_maturity_name(a.maturity), caps[cap].name,
                   ad_maturity_name(caps[cap].min));
    if (used >= d->daily_limit)
        add_reason(d, "daily limit reached: %lld of %d %s created since %s (setting %s)",
                   (long long)used, d->daily_limit,
                   cap == AD_CAP_MEMENTO ? "skill candidates" : "mutations", d->day_start,
                   cap == AD_CAP_MEMENTO ? "max_skill_candidates_per_day"
                                         : "max_mutations_per_day");
    ad_agent_release(&a);
    return 0;
}

void ad_gate_describe(const struct ad_gate_decision *d, char *buf, size_t size)
{
    size_t off;

    if (d->allowed) {
        snprintf(buf, size, "allowed");
        return;
    }
    off = (size_t)snprintf(buf, size, "denied");
    for (int i = 0; i < d->nreasons && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "; " : ": ", d->reasons[i]);
}

int ad_gate_record_usage(struct ad_store *st, const char *tenant_id, const char *agent_id,
                         enum ad_capability cap, bool success, struct ad_err *err)
{
    if ((unsigned)cap >= AD_CAP_COUNT)
        return ad_error(err, AD_EINVAL, "unknown capability %d", (int)cap);
    return ad_store_capability_usage_insert(st, tenant_id, agent_id, caps[cap].name, success,
                                            err);
}

/* The reference notification: what unlocked and what to do about it. */
static int notify_unlock(struct ad_store *st, struct ad_bus *bus, const struct ad_agent *a,
                         const struct ad_settings *s, enum ad_capability cap,
                         struct ad_err *err)
{
    bool on = s->enabled && toggle_on(s, cap);
    bool active = on && caps[cap].built;
    char title[AD_NOTIFY_TITLE_MAX];
    char id[AD_ID_SIZE];
    char *msg = NULL;
    json_t *ev = NULL, *payload = NULL;
    int rc;

    /* Say only what is true: a loop this build lacks is unlocked, not active. */
    if (!caps[cap].built && on)
        msg = ad_strdupf("Agent %s has graduated to use %s: it is unlocked and enabled, but "
                         "this version of autodev does not have %s yet, so nothing runs "
                         "until one that does.", a->name, caps[cap].title, caps[cap].title);
    else if (!caps[cap].built)
        msg = ad_strdupf("Agent %s has graduated to use %s: it is unlocked, but this version "
                         "of autodev does not have %s yet, so nothing runs until one that "
                         "does. To have it run then: autodev settings set enabled true; "
                         "autodev settings set %s true.", a->name, caps[cap].title,
                         caps[cap].title, caps[cap].short_name);
    else if (active)
        msg = ad_strdupf("Agent %s has graduated to use %s. It is enabled for this "
                         "workspace and active now.", a->name, caps[cap].title);
    else
        msg = ad_strdupf("Agent %s has graduated to use %s. Enable it to activate: "
                         "autodev settings set enabled true; autodev settings set %s "
                         "true.", a->name, caps[cap].title, caps[cap].short_name);
    snprintf(title, sizeof(title), "%s unlocked for %s", caps[cap].title, a->name);
    payload = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b}", "type",
                        "auto_dev_capability_unlocked", "agent_id", a->id, "agent", a->name,
                        "capability", caps[cap].name, "message", msg, "action_required",
                        !on);
    if (!msg || !payload) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    rc = ad__notify(st, a->tenant_id, a->id, "auto_dev_capability_unlocked", title, msg,
                    payload, id, err);
    if (rc == 0 && bus) {
        ev = json_pack("{s:s, s:s, s:s, s:s}", "notification_id", id, "type",
                       "auto_dev_capability_unlocked",
                       "agent_id", a->id, "capability", caps[cap].name);
        rc = ev ? ad_bus_emit(bus, a->tenant_id, AD_TOPIC_NOTIFICATION, ev, NULL, err)
                : ad_error(err, AD_ENOMEM, "out of memory");
    }
out:
    json_decref(payload);
    json_decref(ev);
    free(msg);
    return rc;
}

int ad_agent_change_maturity(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                             const char *agent_id, enum ad_maturity to, const char *reason,
                             int *unlocked, struct ad_err *err)
{
    struct ad_agent a = { 0 };
    struct ad_settings s;
    json_t *ev = NULL;
    int depth0 = ad_store_tx_depth(st);
    int rc, n = 0;

    if (unlocked)
        *unlocked = 0;
    if (!ad_maturity_name(to))
        return ad_error(err, AD_EINVAL, "invalid maturity %d", (int)to);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_agents_get(st, tenant_id, agent_id, &a, err);
    if (rc == 0)
        rc = ad_settings_get(st, tenant_id, &s, err);
    if (rc == 0)
        rc = ad_agents_set_maturity(st, tenant_id, agent_id, to, err);
    if (rc == 0 && bus) {
        ev = json_pack("{s:s, s:s, s:s, s:s, s:s}", "agent_id", a.id, "agent", a.name, "from",
                       ad_maturity_name(a.maturity), "to", ad_maturity_name(to), "reason",
                       reason ? reason : "");
        rc = ev ? ad_bus_emit(bus, tenant_id, AD_TOPIC_AGENT_MATURITY, ev, NULL, err)
                : ad_error(err, AD_ENOMEM, "out of memory");
    }
    for (int c = 0; rc == 0 && c < AD_CAP_COUNT; c++) {
        if (a.maturity < caps[c].min && to >= caps[c].min) {
            rc = notify_unlock(st, bus, &a, &s, (enum ad_capability)c, err);
            n++;
        }
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc == 0 && unlocked)
        *unlocked = n;
    json_decref(ev);
    ad_agent_release(&a);
    return rc;
}
