/*
 * The agent loop: model -> tool calls -> tool results -> model, with the
 * catalog's current skills as tools.
 *
 * The transcript in agent_sessions is the only state that matters. Each
 * step appends to it and writes the session before anything else
 * happens, so the loop can always start from the transcript alone:
 *
 *   1. the last assistant message has tool calls without results: run them
 *      (after a crash these are exactly the calls that were cut off);
 *   2. a limit is reached (an outcome recorded, turns, cost, the deadline,
 *      a tool that keeps failing): stop;
 *   3. call the model, append its reply; no tool calls means it answered.
 *
 * Messages in the transcript:
 *   {"role": "system"|"user", "content"}
 *   {"role": "assistant", "content", "tool_calls": [{"id","name","arguments"}],
 *    "turn", "tokens", "cost_usd", "provider", "model"}
 *   {"role": "tool", "tool_call_id", "name", "ok", "content"}
 * A tool message's content is what the model reads: {"ok": true, "output"}
 * or {"ok": false, "error"}, as JSON text.
 */
#include "compat.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/json.h"
#include "autodev/llm.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"

#include "agent_int.h"

#define MAX_TOOLS 64                 /* skills offered to the model */
#define TOOL_RESULT_MAX (16 * 1024)  /* of one tool result, as the model sees it */
#define OUTCOME_TOOL "record_outcome"
#define MAX_CALLS_PER_REPLY 16       /* tool calls of one model reply that run */

static const char default_system_prompt[] =
    "You are an agent that completes tasks with the tools you are given. Each tool is a "
    "skill from a catalog and runs in a sandbox; its result comes back as JSON with \"ok\" "
    "and either \"output\" or \"error\". Call tools when they help. When the task is done, "
    "reply with the final answer as plain text and no tool call. If the task cannot be "
    "done with these tools, call " OUTCOME_TOOL " with success false and the reason.";

static const char *const event_names[] = {
    "thinking", "tool_call", "tool_result", "response", "warning", "cost", "error", "done",
    "self_check",
};

const char *ad_agent_event_name(enum ad_agent_event e)
{
    return (size_t)e < AD_ARRAY_SIZE(event_names) ? event_names[e] : NULL;
}

void ad_agent_run_result_release(struct ad_agent_run_result *r)
{
    if (!r)
        return;
    free(r->answer);
    memset(r, 0, sizeof(*r));
}

struct loop {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_sandbox *sb;
    struct ad_llm *llm;
    const struct ad_agent_run_opts *o;
    struct ad_agent_session sess;
    json_t *state;                   /* borrowed from sess.state */
    struct ad_skill *skills;         /* the tools' skills, with their versions */
    struct ad_skill_version *versions;
    bool *denied;                    /* per skill: outside the agent's permissions */
    size_t nskills;
    struct ad_agent agent;           /* its maturity and allow-list */
    bool prov_denied[AD__AGENT_MAX_PROVIDED];
    struct ad_llm_tool *tools;       /* nskills + record_outcome + provided */
    size_t ntools;
    struct ad__agent_provided prov[AD__AGENT_MAX_PROVIDED];   /* tools of modules above */
    json_t *prov_schema[AD__AGENT_MAX_PROVIDED];
    size_t nprov;
    json_t *outcome_schema;
    int max_turns;
    double cost_limit;
    int fail_limit;
    int64_t window;                  /* tokens of the model's context window */
    int64_t window_strong;           /* ... of the strong tier's, for an escalated turn */
    bool tiered;                     /* the chain has a strong tier to escalate to */
    int compact_every;               /* 0: by the window only */
    bool check;                      /* an answer gets its self-check (done means checked) */
    bool intervention;               /* a human resumed a stopped run */
    int64_t t0_ms;
    int64_t end_ms;                  /* the deadline on the monotonic clock; 0: none */
    const char *stop;                /* why it ended, once it has */
    char *stop_detail;               /* the error trace of a stop, owned */
};

/* ---- small helpers ---------------------------------------------------------- */

static json_int_t state_int(const struct loop *l, const char *key)
{
    return json_integer_value(json_object_get(l->state, key));
}

static double state_num(const struct loop *l, const char *key)
{
    return json_number_value(json_object_get(l->state, key));
}

static int set_new(json_t *obj, const char *key, json_t *v, struct ad_err *err)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    return 0;
}

/*
 * A JSON string of s even when s is not valid UTF-8 (an exec provider or a
 * skill's stderr can say anything): bad bytes become U+FFFD.
 */
static json_t *jstr(const char *s)
{
    struct ad_buf b = AD_BUF_INIT;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    json_t *j = json_string((const char *)p);

    if (j)
        return j;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        json_t *one = NULL;
        char tmp[5];

        if (n > 1 && strnlen((const char *)p, n) == n) {
            memcpy(tmp, p, n);
            tmp[n] = '\0';
            one = json_string(tmp);
        }
        if (n == 0 || (n > 1 && !one)) {
            json_decref(one);
            if (ad_buf_adds(&b, "\xEF\xBF\xBD") < 0)
                break;
            p++;
            continue;
        }
        json_decref(one);
        if (ad_buf_add(&b, p, n) < 0)
            break;
        p += n;
    }
    j = json_string(b.ptr);
    ad_buf_release(&b);
    return j;
}

/* Monotonic milliseconds, the clock the llm module keeps deadlines by. */
static int64_t mono_ms(void)
{
    return ad_mono_ns() / 1000000;
}

/* Time left before the run's deadline; INT64_MAX with none. */
static int64_t time_left(const struct loop *l)
{
    return l->end_ms ? l->end_ms - mono_ms() : INT64_MAX;
}


/* Ends the run for reason; the first reason given wins. */
static void stop_with(struct loop *l, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void stop_with(struct loop *l, const char *reason, const char *fmt, ...)
{
    va_list ap;

    if (l->stop)
        return;
    l->stop = reason;
    if (fmt) {
        va_start(ap, fmt);
        l->stop_detail = ad_vstrdupf(fmt, ap);
        va_end(ap);
    }
}

static void stop_deadline(struct loop *l)
{
    stop_with(l, "deadline", "DeadlineReached: the run's %" PRId64 " ms deadline passed after %d "
              "model turns", l->o->deadline_ms, (int)json_integer_value(
                  json_object_get(l->state, "turns")));
}

/* Reports progress to the caller and on the bus (a bus failure is only logged). */
static void progress(struct loop *l, enum ad_agent_event e, json_t *data)
{
    struct ad_err err = AD_ERR_INIT;

    if (!data)
        return;
    if (json_object_set_new(data, "session_id", json_string(l->sess.id)) != 0) {
        json_decref(data);
        return;
    }
    if (l->o->progress)
        l->o->progress(l->o->progress_arg, e, data);
    if (l->bus) {
        json_t *p = json_deep_copy(data);

        if (p && json_object_set_new(p, "kind", json_string(ad_agent_event_name(e))) == 0)
            (void)ad_bus_emit(l->bus, l->sess.tenant_id, AD_TOPIC_AGENT_PROGRESS, p, NULL, &err);
        json_decref(p);
    }
    json_decref(data);
}

static void progress_msg(struct loop *l, enum ad_agent_event e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void progress_msg(struct loop *l, enum ad_agent_event e, const char *fmt, ...)
{
    va_list ap;
    char *m;

    va_start(ap, fmt);
    m = ad_vstrdupf(fmt, ap);
    va_end(ap);
    if (m)
        progress(l, e, json_pack("{s:s}", "message", m));
    free(m);
}

static int save(struct loop *l, struct ad_err *err)
{
    int64_t now = ad_now_ms();
    int rc = set_new(l->state, "elapsed_ms",
                     json_integer(state_int(l, "elapsed_ms") + (now - l->t0_ms)), err);

    l->t0_ms = now;
    return rc ? rc : ad_store_agent_session_update(l->st, &l->sess, err);
}

/* ---- the session -------------------------------------------------------- */

static json_t *new_state(const struct loop *l)
{
    return json_pack("{s:i, s:i, s:f, s:i, s:f, s:o, s:o, s:i, s:i}", "turns", 0, "tokens", 0,
                     "cost_usd", 0.0, "max_turns", l->max_turns, "cost_limit_usd",
                     l->cost_limit, "tool_failures", json_object(), "tools_attempted",
                     json_array(), "elapsed_ms", 0, "interventions", 0);
}

/*
 * The context window of the turns that go to tier (NULL: untiered): the
 * window its first chain entry carries ("window=N:"), else by model (the
 * run's --model, else that entry's).
 */
static int64_t tier_window(const struct loop *l, const char *tier)
{
    size_t i = ad_llm_tier_first(l->llm, tier);
    int64_t w = ad_llm_entry_window(l->llm, i);
    const char *e = ad_llm_chain_entry(l->llm, i), *c = e ? strchr(e, ':') : NULL;

    if (w > 0)
        return w;
    return ad__agent_model_window(l->o->model ? l->o->model : c ? c + 1 : e);
}

/* Whether a chain entry is a model that answers a question (offline only mutates code). */
static bool has_model(const struct ad_llm *llm)
{
    for (size_t i = 0; i < ad_llm_chain_len(llm); i++) {
        const char *e = ad_llm_chain_entry(llm, i);

        if (e && strncmp(e, "offline:", 8) != 0)
            return true;
    }
    return false;
}

/* The context budget's settings, recorded in the state so a resume keeps them. */
static int set_budget(struct loop *l, struct ad_err *err)
{
    const struct ad_agent_run_opts *o = l->o;
    int rc;

    l->window = o->context_window > 0 ? o->context_window : state_int(l, "context_window");
    if (l->window <= 0)
        l->window = tier_window(l, l->tiered ? "fast" : NULL);
    /* An escalated turn goes to the strong tier's model: its window, unless one is set. */
    l->window_strong = o->context_window > 0 ? o->context_window
                                             : state_int(l, "context_window_strong");
    if (l->window_strong <= 0)
        l->window_strong = l->tiered ? tier_window(l, "strong") : l->window;
    l->compact_every = o->compact_every > 0 ? o->compact_every
                                            : (int)state_int(l, "compact_every");
    rc = set_new(l->state, "context_window", json_integer(l->window), err);
    if (rc == 0 && l->tiered)
        rc = set_new(l->state, "context_window_strong", json_integer(l->window_strong), err);
    if (rc == 0)
        rc = set_new(l->state, "compact_every", json_integer(l->compact_every), err);
    /* Done means checked, by default: a run (or the one it resumes) may opt out, and a
     * chain with no model (offline only) has nothing to ask. */
    l->check = !o->no_self_check && !json_is_false(json_object_get(l->state, "self_check")) &&
               has_model(l->llm);
    if (rc == 0)
        rc = set_new(l->state, "self_check", json_boolean(!o->no_self_check &&
                     !json_is_false(json_object_get(l->state, "self_check"))), err);
    return rc;
}

static int session_new(struct loop *l, struct ad_err *err)
{
    const struct ad_agent_run_opts *o = l->o;
    const char *sys = o->system_prompt ? o->system_prompt : default_system_prompt;

    if (!o->task || !*o->task)
        return ad_error(err, AD_EINVAL, "an agent run needs a task");
    l->max_turns = o->max_turns > 0 ? o->max_turns : AD_AGENT_DEFAULT_MAX_TURNS;
    l->cost_limit = o->cost_limit_usd > 0 ? o->cost_limit_usd : 0;
    snprintf(l->sess.tenant_id, sizeof(l->sess.tenant_id), "%s", o->tenant_id);
    snprintf(l->sess.agent_id, sizeof(l->sess.agent_id), "%s", o->agent_id);
    l->sess.task = strdup(o->task);
    l->sess.status = AD_SESSION_RUNNING;
    l->sess.transcript = json_pack("[{s:s, s:s}, {s:s, s:s}]", "role", "system", "content", sys,
                                   "role", "user", "content", o->task);
    l->sess.state = new_state(l);
    if (!l->sess.task || !l->sess.transcript || !l->sess.state)
        return ad_error(err, AD_ENOMEM, "out of memory");
    l->state = l->sess.state;
    if (set_budget(l, err) < 0)
        return AD_ENOMEM;
    return ad_store_agent_session_insert(l->st, &l->sess, err);
}

static int session_resume(struct loop *l, struct ad_err *err)
{
    const struct ad_agent_run_opts *o = l->o;
    int rc = ad_store_agent_session_get(l->st, o->tenant_id, o->resume, &l->sess, err);

    if (rc == AD_ENOTFOUND)
        return ad_error(err, AD_ENOTFOUND, "no agent session '%s'", o->resume);
    if (rc < 0)
        return rc;
    if (strcmp(l->sess.agent_id, o->agent_id) != 0)
        return ad_error(err, AD_EINVAL, "session '%s' belongs to another agent", o->resume);
    if (l->sess.status == AD_SESSION_DONE || l->sess.status == AD_SESSION_FAILED)
        return ad_error(err, AD_ESTATE, "session '%s' has finished (%s); start a new run",
                        o->resume, ad_session_status_name(l->sess.status));
    if (!json_is_array(l->sess.transcript) || !json_is_object(l->sess.state))
        return ad_error(err, AD_ECORRUPT, "session '%s' has no readable transcript", o->resume);
    l->state = l->sess.state;
    {
        int64_t at = 0;

        /* The skills may have changed since: say so, and how to see it. */
        if (ad_time_parse(l->sess.updated_at, &at) == 0 && ad_now_ms() - at > AD_AGENT_STALE_MS)
            progress_msg(l, AD_AGENT_WARNING, "resuming a session last written %.1f hours ago; "
                         "its skills may have changed since ('autodev agent replay %s' shows "
                         "which outputs would)", (double)(ad_now_ms() - at) / 3600000.0,
                         l->sess.id);
    }
    /* A stopped run goes on only because someone chose to: an intervention. */
    if (l->sess.status == AD_SESSION_STOPPED) {
        l->intervention = true;
        rc = set_new(l->state, "interventions",
                     json_integer(state_int(l, "interventions") + 1), err);
        if (rc == 0)
            json_object_del(l->state, "stop_reason");
        if (rc < 0)
            return rc;
    }
    l->max_turns = o->max_turns > 0 ? o->max_turns : (int)state_int(l, "max_turns");
    if (l->max_turns <= 0)
        l->max_turns = AD_AGENT_DEFAULT_MAX_TURNS;
    l->cost_limit = o->cost_limit_usd > 0 ? o->cost_limit_usd : state_num(l, "cost_limit_usd");
    rc = set_new(l->state, "max_turns", json_integer(l->max_turns), err);
    if (rc == 0)
        rc = set_new(l->state, "cost_limit_usd", json_real(l->cost_limit), err);
    if (rc == 0 && json_object_get(l->state, "interventions") == NULL)
        rc = set_new(l->state, "interventions", json_integer(0), err);
    if (rc == 0)
        rc = set_budget(l, err);
    l->sess.status = AD_SESSION_RUNNING;
    return rc;
}

/* ---- tools -------------------------------------------------------------- */

static const struct ad_skill *find_skill(const struct loop *l, const char *name, size_t *idx);
#define result_text ad__agent_result_text

/*
 * The registered tools of modules above (agent.h), after the skills in
 * l->tools[*k...], after record_outcome: a skill of the same name wins.
 */
static int load_provided(struct loop *l, size_t *k, struct ad_err *err)
{
    struct ad__agent_provided all[AD__AGENT_MAX_PROVIDED];
    size_t n = ad__agent_provided(all), idx;

    for (size_t i = 0; i < n; i++) {
        if (find_skill(l, all[i].tool->name, &idx) || !strcmp(all[i].tool->name, OUTCOME_TOOL))
            continue;
        if (all[i].tool->available && !all[i].tool->available(l->st, l->o->tenant_id))
            continue;
        l->prov_schema[l->nprov] = json_loads(all[i].tool->schema, 0, NULL);
        if (!l->prov_schema[l->nprov])
            return ad_error(err, AD_ENOMEM, "out of memory");
        l->prov[l->nprov] = all[i];
        l->prov_denied[l->nprov] = !ad_agent_tool_allowed(&l->agent, all[i].tool->name, false,
                                                          false, NULL);
        if (l->prov_denied[l->nprov]) {
            l->nprov++;
            continue;
        }
        l->tools[*k].name = all[i].tool->name;
        l->tools[*k].description = all[i].tool->description;
        l->tools[*k].parameters = l->prov_schema[l->nprov];
        l->nprov++;
        (*k)++;
    }
    return 0;
}

static int find_provided(const struct loop *l, const char *name, size_t *idx)
{
    for (size_t i = 0; i < l->nprov; i++) {
        if (!strcmp(l->prov[i].tool->name, name)) {
            *idx = i;
            return 1;
        }
    }
    return 0;
}

/* A provided tool's call: its arguments checked, then its function; failures go to the model. */
static int run_provided(struct loop *l, size_t i, const json_t *in, bool *ok, char **text,
                        json_t **shown, struct ad_err *err)
{
    struct ad_agent_tool_env env = { l->st, l->bus, l->llm, l->o->tenant_id };
    struct ad_err terr = AD_ERR_INIT;
    json_t *out = NULL;

    if (ad_skill_input_check(l->prov_schema[i], in, &terr) == AD_EINVAL ||
        l->prov[i].tool->fn(l->prov[i].arg, &env, in, &out, &terr) < 0) {
        json_decref(out);
        if (terr.code == AD_ENOMEM)
            return ad_error(err, AD_ENOMEM, "out of memory");
        *text = result_text(false, NULL, terr.msg[0] ? terr.msg : "failed");
        *shown = jstr(terr.msg[0] ? terr.msg : "failed");
        return 0;
    }
    *ok = true;
    *text = result_text(true, out, NULL);
    *shown = out ? out : json_null();
    return 0;
}

static int load_tools(struct loop *l, struct ad_err *err)
{
    struct ad_skill *all = NULL;
    size_t n = 0, k = 0;
    int rc = ad_store_skill_list(l->st, l->o->tenant_id, NULL, MAX_TOOLS * 4, &all, &n, err);

    if (rc < 0)
        return rc;
    rc = ad_agents_get(l->st, l->o->tenant_id, l->sess.agent_id, &l->agent, err);
    if (rc < 0) {
        ad_skill_list_free(all, n);
        return rc;
    }
    l->denied = calloc(MAX_TOOLS, sizeof(*l->denied));
    l->skills = calloc(MAX_TOOLS, sizeof(*l->skills));
    l->versions = calloc(MAX_TOOLS, sizeof(*l->versions));
    l->tools = calloc(MAX_TOOLS + AD__AGENT_MAX_PROVIDED + 1, sizeof(*l->tools));
    l->outcome_schema = json_pack(
        "{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[s, s], s:b}", "type", "object", "properties",
        "success", "type", "boolean", "description", "whether the task was accomplished",
        "reason", "type", "string", "description", "why, in one sentence", "required",
        "success", "reason", "additionalProperties", 0);
    if (!l->skills || !l->versions || !l->tools || !l->outcome_schema || !l->denied) {
        ad_skill_list_free(all, n);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && l->nskills < MAX_TOOLS; i++) {
        size_t s = l->nskills;

        if (strcmp(all[i].status, "active") != 0 || !all[i].current_version_id[0] ||
            strcmp(all[i].name, OUTCOME_TOOL) == 0)
            continue;
        rc = ad_store_skill_version_get(l->st, l->o->tenant_id, all[i].current_version_id,
                                        &l->versions[s], err);
        if (rc < 0)
            break;
        l->skills[s] = all[i];
        memset(&all[i], 0, sizeof(all[i]));
        l->nskills++;
        /* A skill outside the agent's permissions is not offered (and not run if asked). */
        l->denied[s] = !ad_agent_tool_allowed(&l->agent, l->skills[s].name, true,
                                              ad_agent_skill_read_only(l->versions[s].code),
                                              NULL);
        if (l->denied[s])
            continue;
        l->tools[k].name = l->skills[s].name;
        l->tools[k].description = l->skills[s].description;
        l->tools[k].parameters = l->skills[s].input_schema;
        k++;
    }
    ad_skill_list_free(all, n);
    if (rc < 0)
        return rc;
    l->tools[k].name = OUTCOME_TOOL;
    l->tools[k].description = "Declare the task finished, successfully or not, and why.";
    l->tools[k].parameters = l->outcome_schema;
    k++;
    /* After record_outcome: the skills and record_outcome keep their places. */
    rc = load_provided(l, &k, err);
    if (rc < 0)
        return rc;
    l->ntools = k;
    return 0;
}

static const struct ad_skill *find_skill(const struct loop *l, const char *name, size_t *idx)
{
    for (size_t i = 0; i < l->nskills; i++)
        if (strcmp(l->skills[i].name, name) == 0) {
            *idx = i;
            return &l->skills[i];
        }
    return NULL;
}

/* Is name a skill or provided tool outside the agent's permissions? */
static bool denied(const struct loop *l, const char *name, size_t *idx)
{
    if (find_skill(l, name, idx))
        return l->denied[*idx];
    if (find_provided(l, name, idx))
        return l->prov_denied[*idx];
    return false;
}

/* The tool message content: {"ok", "output" | "error"}, cut to TOOL_RESULT_MAX. */
char *ad__agent_result_text(bool ok, const json_t *output, const char *error)
{
    json_t *j = ok ? json_pack("{s:b, s:O?}", "ok", 1, "output", output)
                   : json_pack("{s:b, s:o}", "ok", 0, "error", jstr(error ? error : "failed"));
    char *s = j ? ad_json_dumps(j) : NULL;

    json_decref(j);
    if (s && strlen(s) > TOOL_RESULT_MAX) {
        json_t *cut = json_pack("{s:b, s:s, s:s#}", "ok", ok, "note",
                                "the result was cut to its first 8 KiB", "partial", s,
                                (int)ad__agent_utf8_cut(s, TOOL_RESULT_MAX / 2));
        free(s);
        s = cut ? ad_json_dumps(cut) : NULL;
        json_decref(cut);
    }
    return s;
}

/*
 * The sandbox limits of a tool call: the run's, with the wall limit cut to
 * the time the deadline leaves. *cut says whether it was.
 */
static struct ad_sandbox_limits call_limits(const struct loop *l, bool *cut)
{
    struct ad_sandbox_limits lim;
    int64_t wall, left = time_left(l);

    memset(&lim, 0, sizeof(lim));
    if (l->o->limits)
        lim = *l->o->limits;
    wall = lim.wall_ms > 0 ? lim.wall_ms : AD_SB_DEFAULT_WALL_MS;
    *cut = left < wall;
    if (*cut)
        lim.wall_ms = left > 0 ? left : 1;
    return lim;
}

/*
 * Runs one tool call; *ok and *text (owned) say what the model will read.
 * tokens: what the model turn that asked for the call cost (0 unknown),
 * recorded with the execution.
 */
static int run_call(struct loop *l, const char *name, const char *args, int64_t tokens, bool *ok,
                    char **text, json_t **shown, bool *cut, struct ad_err *err)
{
    json_error_t jerr;
    json_t *in = NULL;
    const struct ad_skill *s;
    size_t idx = 0;
    int rc = 0;

    *ok = false;
    *text = NULL;
    *shown = NULL;
    *cut = false;
    in = json_loads(args && *args ? args : "{}", JSON_DECODE_ANY, &jerr);
    if (!in || !json_is_object(in)) {
        char *e = NULL;

        if (in) {
            struct ad_buf b = AD_BUF_INIT;

            if (ad_buf_adds(&b, "the arguments must be a JSON object, not ") == 0 &&
                ad_buf_adds(&b, json_is_array(in) ? "an array" : "a scalar") == 0)
                e = ad_buf_detach(&b, NULL);
            ad_buf_release(&b);
        } else {
            struct ad_buf b = AD_BUF_INIT;

            if (ad_buf_addf(&b, "the arguments are not valid JSON: %s (at byte %d)",
                            jerr.text, jerr.position) == 0)
                e = ad_buf_detach(&b, NULL);
            ad_buf_release(&b);
        }
        json_decref(in);
        *text = result_text(false, NULL, e);
        *shown = json_string(e ? e : "bad arguments");
        free(e);
        return *text ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (strcmp(name, OUTCOME_TOOL) == 0) {
        json_t *succ = json_object_get(in, "success");
        const char *why = json_string_value(json_object_get(in, "reason"));

        if (!json_is_boolean(succ)) {
            *text = result_text(false, NULL, "record_outcome needs \"success\": true or false");
            *shown = json_string("record_outcome needs \"success\"");
        } else {
            rc = set_new(l->state, "outcome",
                         json_pack("{s:b, s:s}", "success", json_is_true(succ), "reason",
                                   why ? why : ""), err);
            *ok = true;
            *shown = json_string("recorded");
            *text = result_text(true, *shown, NULL);
        }
    } else if (denied(l, name, &idx)) {
        const char *why = "";
        struct ad_buf b = AD_BUF_INIT;

        (void)ad_agent_tool_allowed(&l->agent, name, find_skill(l, name, &idx) != NULL,
                                    find_skill(l, name, &idx) &&
                                        ad_agent_skill_read_only(l->versions[idx].code),
                                    &why);
        if (ad_buf_addf(&b, "PermissionDenied: agent '%s' may not call tool '%s' (%s); "
                        "nothing ran", l->agent.name, name, why) == 0) {
            *text = result_text(false, NULL, b.ptr);
            *shown = jstr(b.ptr);
        }
        ad_buf_release(&b);
    } else if (!find_skill(l, name, &idx) && find_provided(l, name, &idx)) {
        rc = run_provided(l, idx, in, ok, text, shown, err);
    } else if (!(s = find_skill(l, name, &idx))) {
        struct ad_buf b = AD_BUF_INIT;

        if (ad_buf_addf(&b, "unknown tool '%.100s'; the tools are:", name) == 0)
            for (size_t i = 0; i < l->ntools; i++)
                (void)ad_buf_addf(&b, " %s", l->tools[i].name);
        *text = result_text(false, NULL, b.ptr);
        *shown = jstr(b.ptr);
        ad_buf_release(&b);
    } else if (ad_skill_input_check(s->input_schema, in, err) == AD_EINVAL) {
        /* Arguments that do not fit the schema go back to the model, like malformed ones. */
        *text = result_text(false, NULL, err->msg);
        *shown = jstr(err->msg);
        ad_err_clear(err);
    } else {
        struct ad_sandbox_limits lim = call_limits(l, cut);
        struct ad_sandbox_result r;
        char *e;

        rc = ad_skill_execute(l->sb, s, &l->versions[idx], in, &lim, &r, err);
        if (rc == 0) {
            *ok = r.status == AD_SB_OK;
            e = ad_skill_result_error(&r);
            *text = result_text(*ok, r.output, e);
            if (*ok) {
                *shown = json_deep_copy(r.output ? r.output : json_null());
            } else {
                /* The model reads the whole traceback; progress shows its last line. */
                struct ad_str ll = ad_str_last_line(e ? e : "failed");
                char *one = strndup(ll.ptr, ll.len);

                *shown = one ? jstr(one) : NULL;
                free(one);
            }
            /* A tool call is a skill execution like any other: a row and its event. */
            rc = ad_skill_execution_record(l->st, l->bus, s, &l->versions[idx],
                                           l->sess.agent_id, NULL, in, &r, tokens, NULL, err);
            free(e);
        }
        ad_sandbox_result_clear(&r);
    }
    json_decref(in);
    if (rc == 0 && !*text)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    return rc;
}

/* The next model turn goes to the strong tier, for why. */
static int escalate(struct loop *l, const char *why, struct ad_err *err)
{
    int rc = set_new(l->state, "escalate", json_string(why), err);

    if (rc == 0)
        rc = set_new(l->state, "failed_since_escalation", json_integer(0), err);
    return rc;
}

/* Counts a tool's consecutive failures; the breaker trips at the limit. */
static int note_result(struct loop *l, const char *name, bool ok, const json_t *shown,
                       struct ad_err *err)
{
    json_t *fails = json_object_get(l->state, "tool_failures");
    json_t *tried = json_object_get(l->state, "tools_attempted");
    json_int_t n = ok ? 0 : json_integer_value(json_object_get(fails, name)) + 1;
    bool seen = false;
    size_t i;
    json_t *v;

    json_array_foreach(tried, i, v)
        if (strcmp(json_string_value(v), name) == 0)
            seen = true;
    if (!seen && json_array_append_new(tried, json_string(name)) != 0)
        return ad_error(err, AD_ENOMEM, "out of memory");
    if (set_new(fails, name, json_integer(n), err) < 0)
        return AD_ENOMEM;
    /* K failed calls (any tools) since the last strong turn: the next turn escalates. */
    if (!ok && l->tiered) {
        json_int_t k = state_int(l, "failed_since_escalation") + 1;

        if (set_new(l->state, "failed_since_escalation", json_integer(k), err) < 0)
            return AD_ENOMEM;
        if (k >= AD_AGENT_ESCALATE_AFTER && escalate(l, "failed_calls", err) < 0)
            return AD_ENOMEM;
    }
    if (!ok && n >= l->fail_limit)
        stop_with(l, "tool_breaker", "ToolBreakerOpen: tool '%s' failed %d times in a row; "
                  "last error: %s", name, (int)n,
                  json_is_string(shown) ? json_string_value(shown) : "unknown");
    return 0;
}

/* The tool calls of the last assistant message that have no result yet. */
static int run_pending(struct loop *l, struct ad_err *err)
{
    json_t *tr = l->sess.transcript, *last = NULL, *calls;
    size_t n = json_array_size(tr), at = n, i;
    int64_t tokens;
    int turn;

    while (at > 0) {
        json_t *m = json_array_get(tr, at - 1);

        if (strcmp(json_string_value(json_object_get(m, "role")), "assistant") == 0) {
            last = m;
            break;
        }
        at--;
    }
    if (!last)
        return 0;
    calls = json_object_get(last, "tool_calls");
    turn = (int)json_integer_value(json_object_get(last, "turn"));
    tokens = json_integer_value(json_object_get(last, "tokens"));
    for (i = 0; i < json_array_size(calls); i++) {
        json_t *c = json_array_get(calls, i), *msg, *shown = NULL;
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *args = json_string_value(json_object_get(c, "arguments"));
        bool done = false, ok, cut = false;
        char *text;
        int64_t t0;
        int rc;

        for (size_t j = at; j < n; j++) {
            json_t *m = json_array_get(tr, j);

            if (id && json_is_string(json_object_get(m, "tool_call_id")) &&
                strcmp(json_string_value(json_object_get(m, "tool_call_id")), id) == 0)
                done = true;
        }
        if (done)
            continue;
        if (!id || !name)
            return ad_error(err, AD_ECORRUPT, "a tool call in the transcript has no id or name");
        if (time_left(l) <= 0) {
            /* The calls not run stay without results: a resumed run runs them. */
            stop_deadline(l);
            return 0;
        }
        progress(l, AD_AGENT_TOOL_CALL, json_pack("{s:i, s:s, s:s, s:s}", "turn", turn, "tool",
                                                  name, "arguments", args ? args : "",
                                                  "call_id", id));
        t0 = ad_now_ms();
        if (i < MAX_CALLS_PER_REPLY) {
            rc = run_call(l, name, args, tokens, &ok, &text, &shown, &cut, err);
        } else {
            /* A model that asks for hundreds of runs at once gets this many. */
            ok = false;
            shown = json_string("not run: more than 16 tool calls in one reply");
            text = result_text(false, NULL, json_string_value(shown));
            rc = text ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
        }
        if (rc < 0) {
            json_decref(shown);
            return rc;
        }
        if (cut && !ok && time_left(l) <= 0) {
            /* The deadline, not the tool, ended it: no result, so a resume runs it again. */
            free(text);
            json_decref(shown);
            stop_deadline(l);
            return 0;
        }
        progress(l, AD_AGENT_TOOL_RESULT,
                 json_pack("{s:i, s:s, s:b, s:O, s:I}", "turn", turn, "tool", name, "ok", ok,
                           ok ? "result" : "error", shown ? shown : json_null(), "wall_ms",
                           (json_int_t)(ad_now_ms() - t0)));
        msg = json_pack("{s:s, s:s, s:s, s:b, s:s}", "role", "tool", "tool_call_id", id, "name",
                        name, "ok", ok, "content", text);
        free(text);
        /* Tool output is data: instruction-like text is flagged, recorded, never acted on. */
        if (msg) {
            json_t *flags = ad__agent_screen(json_string_value(json_object_get(msg, "content")));

            if (!flags || (json_array_size(flags) > 0 &&
                           json_object_set(msg, "screen", flags) != 0)) {
                json_decref(msg);
                msg = NULL;
            } else if (json_array_size(flags) > 0) {
                progress(l, AD_AGENT_WARNING,
                         json_pack("{s:s, s:s, s:s, s:O}", "message", "the tool's output holds "
                                   "instruction-like text; it goes to the model as data",
                                   "tool", name, "call_id", id, "screen", flags));
            }
            json_decref(flags);
        }
        rc = msg && json_array_append_new(tr, msg) == 0
                 ? note_result(l, name, ok, shown, err)
                 : ad_error(err, AD_ENOMEM, "out of memory");
        json_decref(shown);
        if (rc == 0)
            rc = save(l, err);
        if (rc < 0)
            return rc;
        n = json_array_size(tr);
    }
    return 0;
}

/* ---- the model ------------------------------------------------------------ */

static enum ad_llm_role role_of(const char *r)
{
    if (strcmp(r, "system") == 0)
        return AD_LLM_SYSTEM;
    if (strcmp(r, "assistant") == 0)
        return AD_LLM_ASSISTANT;
    if (strcmp(r, "tool") == 0)
        return AD_LLM_TOOL;
    return AD_LLM_USER;
}

static bool blank(const char *s)
{
    while (s && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return !s || !*s;
}

/*
 * The request's messages, borrowing every string from the transcript but
 * the tool results, which go fenced and labelled (*owned, to free with
 * free_owned). Compacted messages are left out: their digest stands in.
 */
static int build_messages(const json_t *tr, struct ad_llm_message **out, size_t *nout,
                          struct ad_llm_tool_call **calls_out, char ***owned,
                          struct ad_err *err)
{
    size_t n = json_array_size(tr), ncalls = 0, k = 0, i, at = 0;
    struct ad_llm_message *m;
    struct ad_llm_tool_call *calls;
    char **own;
    json_t *v;

    json_array_foreach(tr, i, v)
        ncalls += json_array_size(json_object_get(v, "tool_calls"));
    m = calloc(n ? n : 1, sizeof(*m));
    calls = calloc(ncalls ? ncalls : 1, sizeof(*calls));
    own = calloc(n + 1, sizeof(*own));
    if (!m || !calls || !own) {
        free(m);
        free(calls);
        free(own);
        return ad_error(err, AD_ENOMEM, "out of memory");
    }
    json_array_foreach(tr, i, v) {
        json_t *cs = json_object_get(v, "tool_calls"), *c;
        size_t j;

        if (json_is_true(json_object_get(v, "compacted")))
            continue;
        /* An empty turn (it escalated) says nothing, and some providers refuse it. */
        if (!strcmp(json_string_value(json_object_get(v, "role")), "assistant") &&
            json_array_size(cs) == 0 && blank(json_string_value(json_object_get(v, "content"))))
            continue;
        m[at].role = role_of(json_string_value(json_object_get(v, "role")));
        m[at].content = json_string_value(json_object_get(v, "content"));
        m[at].tool_call_id = json_string_value(json_object_get(v, "tool_call_id"));
        if (m[at].role == AD_LLM_TOOL) {
            own[at] = ad__agent_fence(json_string_value(json_object_get(v, "name")),
                                      m[at].tool_call_id, m[at].content,
                                      json_object_get(v, "screen"));
            if (!own[at]) {
                for (size_t q = 0; q < at; q++)
                    free(own[q]);
                free(own);
                free(m);
                free(calls);
                return ad_error(err, AD_ENOMEM, "out of memory");
            }
            m[at].content = own[at];
        }
        m[at].calls = &calls[k];
        m[at].ncalls = json_array_size(cs);
        json_array_foreach(cs, j, c) {
            calls[k].id = (char *)json_string_value(json_object_get(c, "id"));
            calls[k].name = (char *)json_string_value(json_object_get(c, "name"));
            calls[k].arguments = (char *)json_string_value(json_object_get(c, "arguments"));
            k++;
        }
        at++;
    }
    *out = m;
    *nout = at;
    *calls_out = calls;
    *owned = own;
    return 0;
}

static void free_owned(char **own, size_t n)
{
    for (size_t i = 0; own && i < n; i++)
        free(own[i]);
    free(own);
}

static json_t *assistant_message(const struct ad_llm_response *r, int turn)
{
    json_t *m = json_pack("{s:s, s:o, s:[], s:i, s:I, s:f, s:s?, s:s?}", "role", "assistant",
                          "content", jstr(r->text), "tool_calls", "turn", turn, "tokens",
                          (json_int_t)(r->usage.prompt_tokens + r->usage.completion_tokens),
                          "cost_usd", r->cost_usd, "provider", r->provider, "model", r->model);
    json_t *calls = json_object_get(m, "tool_calls");

    for (size_t i = 0; m && i < r->ncalls; i++) {
        char id[48];
        const char *cid = r->calls[i].id;

        /* Some servers give no call id; the transcript needs one to pair results. */
        if (!cid || !*cid) {
            snprintf(id, sizeof(id), "call_t%d_%zu", turn, i);
            cid = id;
        }
        if (json_array_append_new(calls, json_pack("{s:o, s:o, s:o}", "id", jstr(cid), "name",
                                                   jstr(r->calls[i].name), "arguments",
                                                   jstr(r->calls[i].arguments))) != 0) {
            json_decref(m);
            return NULL;
        }
    }
    return m;
}

/* One model turn. Returns 0 also when the model call failed (the run stops). */
static int model_turn(struct loop *l, struct ad_err *err)
{
    struct ad_llm_request req;
    struct ad_llm_response resp;
    struct ad_llm_message *msgs = NULL;
    struct ad_llm_tool_call *calls = NULL;
    struct ad_err lerr = AD_ERR_INIT;
    size_t nmsgs = 0;
    char **owned = NULL;
    bool strong = false, stalled;
    int turn = (int)state_int(l, "turns") + 1;
    json_int_t tokens;
    double cost;
    json_t *m;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    rc = build_messages(l->sess.transcript, &msgs, &nmsgs, &calls, &owned, err);
    if (rc < 0)
        return rc;
    req.messages = msgs;
    req.nmessages = nmsgs;
    req.tools = l->tools;
    req.ntools = l->ntools;
    req.model = l->o->model;
    req.temperature = -1;
    req.seed = -1;
    req.purpose = "agent";
    if (l->tiered) {
        strong = json_is_string(json_object_get(l->state, "escalate"));
        req.tier = strong ? "strong" : "fast";
        req.purpose = strong ? "agent.strong" : "agent.fast";
        if (strong)
            progress(l, AD_AGENT_WARNING,
                     json_pack("{s:s, s:s, s:s}", "message", "this turn goes to the strong "
                               "tier", "tier", "strong", "why", json_string_value(json_object_get(
                                   l->state, "escalate"))));
    }
    if (l->end_ms)
        req.deadline_ms = time_left(l) > 0 ? time_left(l) : 1;
    progress(l, AD_AGENT_THINKING, json_pack("{s:i}", "turn", turn));
    rc = ad_llm_complete(l->llm, &req, &resp, &lerr);
    free(msgs);
    free(calls);
    free_owned(owned, json_array_size(l->sess.transcript));
    /* A call its deadline ended returns only once the deadline has passed (llm.h). */
    if (rc == AD_ETIMEOUT && time_left(l) <= 0) {
        progress_msg(l, AD_AGENT_WARNING, "the run's deadline passed during the model call");
        stop_deadline(l);
        ad_llm_response_release(&resp);
        return 0;
    }
    if (rc < 0) {
        progress_msg(l, AD_AGENT_ERROR, "model call failed: %s", lerr.msg);
        stop_with(l, "llm_error", "LLMError: %s", lerr.msg);
        ad_llm_response_release(&resp);
        return 0;
    }
    tokens = (json_int_t)(resp.usage.prompt_tokens + resp.usage.completion_tokens);
    cost = resp.cost_usd;
    m = assistant_message(&resp, turn);
    if (m && l->tiered && json_object_set_new(m, "tier", json_string(req.tier)) != 0) {
        json_decref(m);
        m = NULL;
    }
    rc = m && json_array_append_new(l->sess.transcript, m) == 0
             ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0 && strong)
        rc = set_new(l->state, "escalations", json_integer(state_int(l, "escalations") + 1),
                     err);
    if (rc == 0 && strong)
        json_object_del(l->state, "escalate");
    if (rc == 0)
        rc = set_new(l->state, "turns", json_integer(turn), err);
    if (rc == 0)
        rc = set_new(l->state, "tokens", json_integer(state_int(l, "tokens") + tokens), err);
    if (rc == 0)
        rc = set_new(l->state, "cost_usd", json_real(state_num(l, "cost_usd") + cost), err);
    /* A turn with neither a tool call nor an answer is a refusal to progress: with a
     * strong tier not tried for it yet, the next turn escalates instead of ending. */
    stalled = resp.ncalls == 0 && blank(resp.text);
    if (rc == 0 && stalled && l->tiered && !strong)
        rc = escalate(l, "no_progress", err);
    else if (rc == 0 && resp.ncalls == 0)
        stop_with(l, "answer", NULL);
    if (rc == 0)
        rc = save(l, err);
    if (rc == 0) {
        progress(l, AD_AGENT_COST,
                 json_pack("{s:i, s:I, s:f, s:I, s:f}", "turn", turn, "tokens", tokens,
                           "cost_usd", cost, "total_tokens", state_int(l, "tokens"),
                           "total_cost_usd", state_num(l, "cost_usd")));
        if (resp.text && *resp.text)
            progress(l, AD_AGENT_RESPONSE,
                     json_pack("{s:i, s:o}", "turn", turn, "text", jstr(resp.text)));
    }
    ad_llm_response_release(&resp);
    return rc;
}

/*
 * Before a model call: over AD_AGENT_COMPACT_AT of the window (or at every
 * compact_every-th turn), the oldest turns become a digest (loop_context.c).
 */
static int budget(struct loop *l, struct ad_err *err)
{
    struct ad__compact_in in = { l->sess.transcript, l->llm, l->o->model, AD_AGENT_KEEP_TURNS,
                                 0 };
    struct ad__compact_out out;
    int64_t used = ad__agent_context_tokens(l->sess.transcript, l->tools, l->ntools);
    int turns = (int)state_int(l, "turns");
    /* The window of the model the next turn goes to. */
    int64_t window = l->tiered && json_is_string(json_object_get(l->state, "escalate"))
                         ? l->window_strong : l->window;
    bool full = (double)used >= AD_AGENT_COMPACT_AT * (double)window;
    bool every = l->compact_every > 0 && turns > 0 && turns % l->compact_every == 0 &&
                 state_int(l, "compacted_at_turn") != turns;
    json_t *log;
    int rc;

    if (!full && !every)
        return 0;
    if (l->end_ms)
        in.deadline_ms = time_left(l) > 0 ? time_left(l) : 1;
    rc = ad__agent_compact(&in, &out, err);
    if (rc < 0)
        return rc;
    if (out.compacted == 0) {
        if (full)
            progress_msg(l, AD_AGENT_WARNING, "the context holds about %" PRId64 " of %" PRId64
                         " tokens and nothing older than the last %d turns is left to compact",
                         used, window, AD_AGENT_KEEP_TURNS);
        return rc;
    }
    log = json_object_get(l->state, "compactions");
    if (!log) {
        rc = set_new(l->state, "compactions", json_array(), err);
        log = json_object_get(l->state, "compactions");
    }
    if (rc == 0 && json_array_append_new(log, json_pack(
                       "{s:i, s:s, s:i, s:I, s:I, s:I, s:s}", "before_turn", turns + 1, "by",
                       out.by, "messages", out.compacted, "cited", (json_int_t)out.ncited,
                       "tokens_before", (json_int_t)used, "tokens_after",
                       (json_int_t)ad__agent_context_tokens(l->sess.transcript, l->tools,
                                                            l->ntools),
                       "trigger", full ? "window" : "every")) != 0)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0)
        rc = set_new(l->state, "compacted_at_turn", json_integer(turns), err);
    if (rc == 0)
        rc = set_new(l->state, "tokens", json_integer(state_int(l, "tokens") + out.tokens), err);
    if (rc == 0)
        rc = set_new(l->state, "cost_usd", json_real(state_num(l, "cost_usd") + out.cost_usd),
                     err);
    if (rc == 0)
        rc = save(l, err);
    if (rc == 0)
        progress_msg(l, AD_AGENT_WARNING, "compacted %d earlier messages into a digest (%s%s%s"
                     "; %zu cited tool results kept): about %" PRId64 " of %" PRId64
                     " tokens before", out.compacted, out.by == NULL ? "" : "by ", out.by,
                     out.why_clipped[0] ? ", the model did not answer" : "", out.ncited, used,
                     window);
    return rc;
}

/* Before a model call: is any limit reached? */
static void check_limits(struct loop *l)
{
    json_t *outcome = json_object_get(l->state, "outcome");
    int turns = (int)state_int(l, "turns");
    double cost = state_num(l, "cost_usd");

    if (outcome) {
        const char *why = json_string_value(json_object_get(outcome, "reason"));

        if (json_is_true(json_object_get(outcome, "success")))
            stop_with(l, "outcome", NULL);
        else
            stop_with(l, "outcome", "OutcomeFailure: %s", why && *why ? why : "no reason given");
        return;
    }
    if (turns >= l->max_turns) {
        stop_with(l, "max_turns", "TurnLimitReached: no final answer after %d model turns",
                  turns);
        return;
    }
    if (l->cost_limit > 0 && cost >= l->cost_limit) {
        stop_with(l, "cost_limit", "CostLimitReached: spent $%.6f of the $%.6f limit", cost,
                  l->cost_limit);
        return;
    }
    if (time_left(l) <= 0) {
        stop_deadline(l);
        return;
    }
    if (turns == l->max_turns - 1 && turns > 0)
        progress_msg(l, AD_AGENT_WARNING, "one model turn left of %d", l->max_turns);
    if (l->cost_limit > 0 && cost >= 0.8 * l->cost_limit)
        progress_msg(l, AD_AGENT_WARNING, "spent $%.6f, %.0f%% of the cost limit", cost,
                     100.0 * cost / l->cost_limit);
}

/* ---- the end: an episode ------------------------------------------------- */

static const char *last_answer(const struct loop *l)
{
    size_t n = json_array_size(l->sess.transcript);

    while (n > 0) {
        json_t *m = json_array_get(l->sess.transcript, --n);

        if (strcmp(json_string_value(json_object_get(m, "role")), "assistant") == 0 &&
            !json_object_get(m, "self_check")) {
            const char *t = json_string_value(json_object_get(m, "content"));

            return t && *t ? t : NULL;
        }
    }
    return NULL;
}

/* ---- done means checked ---------------------------------------------------- */

static const char self_check_prompt[] =
    "Self-check before the run ends. Compare your final answer with the task%s. Reply with "
    "one JSON object only: {\"pass\": true or false, \"confidence\": a number from 0 to 1, "
    "\"reason\": \"one sentence\"}.";

/* The first JSON object in text (a model may wrap it in prose or a fence). */
static json_t *first_object(const char *text)
{
    const char *a = text ? strchr(text, '{') : NULL, *b = text ? strrchr(text, '}') : NULL;
    json_t *j;

    if (!a || !b || b < a)
        return NULL;
    j = json_loadb(a, (size_t)(b - a + 1), 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/*
 * After an answer: one self-check call. The check's prompt and reply go to
 * the transcript (marked "self_check"), its verdict to the state. A failed
 * check, the first time, clears the stop and asks for one more turn.
 */
static int self_check(struct loop *l, struct ad_err *err)
{
    struct ad_llm_request req;
    struct ad_llm_response resp;
    struct ad_llm_message *msgs = NULL;
    struct ad_llm_tool_call *calls = NULL;
    struct ad_err lerr = AD_ERR_INIT;
    size_t nmsgs = 0;
    char **owned = NULL, *prompt = NULL, *exp = NULL;
    json_t *verdict = NULL, *tr = l->sess.transcript, *v;
    double conf = -1;
    bool pass = false;
    int rc;

    if (l->o->expected)
        exp = ad_strdupf(" and with the expected output: %s", l->o->expected);
    prompt = ad_strdupf(self_check_prompt, exp ? exp : "");
    free(exp);
    if (!prompt)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = json_array_append_new(tr, json_pack("{s:s, s:s, s:b}", "role", "user", "content",
                                             prompt, "self_check", 1))
             ? ad_error(err, AD_ENOMEM, "out of memory") : 0;
    free(prompt);
    if (rc == 0)
        rc = build_messages(tr, &msgs, &nmsgs, &calls, &owned, err);
    if (rc < 0)
        return rc;
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.messages = msgs;
    req.nmessages = nmsgs;
    req.model = l->o->model;
    req.max_tokens = 300;
    req.temperature = -1;
    req.seed = -1;
    req.purpose = "agent.self_check";
    if (l->tiered)
        req.tier = "fast";
    if (l->end_ms)
        req.deadline_ms = time_left(l) > 0 ? time_left(l) : 1;
    rc = ad_llm_complete(l->llm, &req, &resp, &lerr);
    free(msgs);
    free(calls);
    free_owned(owned, json_array_size(tr));
    if (rc < 0) {
        /* No verdict: the answer stands, unchecked, and the state says so. */
        progress_msg(l, AD_AGENT_WARNING, "the self-check call failed: %s", lerr.msg);
        verdict = json_pack("{s:n, s:n, s:s}", "pass", "confidence", "error", lerr.msg);
        rc = 0;
    } else {
        json_t *j = first_object(resp.text);

        v = json_object_get(j, "confidence");
        if (json_is_number(v))
            conf = json_number_value(v);
        if (!isfinite(conf) || conf < 0 || conf > 1)
            conf = -1;
        pass = json_is_true(json_object_get(j, "pass"));
        if (!json_is_boolean(json_object_get(j, "pass"))) {
            /* A reply with no verdict judges nothing: the answer stands, unchecked. */
            progress_msg(l, AD_AGENT_WARNING, "the self-check reply held no verdict (a JSON "
                         "object with a boolean \"pass\"); the answer stands unchecked");
            verdict = json_pack("{s:n, s:o, s:s}", "pass", "confidence",
                                conf >= 0 ? json_real(conf) : json_null(), "error",
                                "the self-check reply held no verdict");
        } else
            verdict = json_pack("{s:b, s:o, s:o}", "pass", pass, "confidence",
                                conf >= 0 ? json_real(conf) : json_null(), "reason",
                                jstr(json_string_value(json_object_get(j, "reason"))));
        json_decref(j);
        if (json_array_append_new(tr, json_pack("{s:s, s:o, s:b, s:I, s:f, s:s?}", "role",
                                                "assistant", "content", jstr(resp.text),
                                                "self_check", 1, "tokens",
                                                (json_int_t)(resp.usage.prompt_tokens +
                                                             resp.usage.completion_tokens),
                                                "cost_usd", resp.cost_usd, "tier",
                                                l->tiered ? "fast" : NULL)) != 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        if (rc == 0)
            rc = set_new(l->state, "tokens", json_integer(state_int(l, "tokens") +
                         resp.usage.prompt_tokens + resp.usage.completion_tokens), err);
        if (rc == 0)
            rc = set_new(l->state, "cost_usd", json_real(state_num(l, "cost_usd") +
                                                         resp.cost_usd), err);
    }
    ad_llm_response_release(&resp);
    if (rc == 0 && !verdict)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0) {
        json_t *checks = json_object_get(l->state, "self_checks");

        if (!checks && set_new(l->state, "self_checks", json_array(), err) == 0)
            checks = json_object_get(l->state, "self_checks");
        rc = checks && json_array_append(checks, verdict) == 0
                 ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (rc == 0 && json_is_boolean(json_object_get(verdict, "pass")))
        progress(l, AD_AGENT_SELF_CHECK,
                 json_pack("{s:s, s:O}", "message", pass ? "self-check passed"
                           : "self-check did not pass", "self_check", verdict));
    /* A failed check, the first time: one more turn, told why. */
    if (rc == 0 && !pass && json_array_size(json_object_get(l->state, "self_checks")) == 1 &&
        json_is_false(json_object_get(verdict, "pass"))) {
        const char *why = json_string_value(json_object_get(verdict, "reason"));
        char *m = ad_strdupf("The self-check did not pass (%s). Fix the answer: reply with the "
                             "corrected final answer, calling tools if you need them.",
                             why && *why ? why : "no reason given");

        if (!m || json_array_append_new(tr, json_pack("{s:s, s:s, s:b}", "role", "user",
                                                      "content", m, "self_check", 1)) != 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
        free(m);
        if (rc == 0) {
            l->stop = NULL;
            free(l->stop_detail);
            l->stop_detail = NULL;
        }
    }
    else if (rc == 0 && !pass && json_is_false(json_object_get(verdict, "pass")) &&
             !l->stop_detail) {
        const char *why = json_string_value(json_object_get(verdict, "reason"));

        l->stop_detail = ad_strdupf("SelfCheckFailed: %s", why && *why ? why
                                    : "the answer did not pass its self-check");
    }
    json_decref(verdict);
    if (rc == 0)
        rc = save(l, err);
    return rc;
}

static bool run_succeeded(const struct loop *l)
{
    json_t *outcome = json_object_get(l->state, "outcome");
    json_t *checks = json_object_get(l->state, "self_checks");

    /* An answer its last self-check failed is no success (one that could not run is). */
    if (!outcome && json_is_false(json_object_get(json_array_get(checks,
                                                   json_array_size(checks) - 1), "pass")))
        return false;

    if (outcome)
        return json_is_true(json_object_get(outcome, "success"));
    return strcmp(l->stop, "answer") == 0;
}

static int finish(struct loop *l, struct ad_agent_run_result *res, struct ad_err *err)
{
    struct ad_episode ep;
    const char *answer = last_answer(l);
    bool ok = run_succeeded(l);
    int depth0 = ad_store_tx_depth(l->st), rc;

    ad_episode_init(&ep);
    snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", l->sess.tenant_id);
    snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", l->sess.agent_id);
    ep.task_description = l->sess.task;
    ep.task_kind = (char *)"agent.run";
    ep.input = json_pack("{s:s}", "task", l->sess.task);
    ep.output = answer ? json_pack("{s:s}", "answer", answer) : NULL;
    ep.success = ok;
    ep.error_trace = ok ? NULL : l->stop_detail;
    ep.tools_attempted = json_object_get(l->state, "tools_attempted");
    ep.context = json_pack("{s:s, s:s, s:I, s:f, s:I}", "session_id", l->sess.id,
                           "stop_reason", l->stop, "turns", state_int(l, "turns"), "cost_usd",
                           state_num(l, "cost_usd"), "interventions",
                           state_int(l, "interventions"));
    {
        json_t *checks = json_object_get(l->state, "self_checks");
        json_t *lastc = json_array_get(checks, json_array_size(checks) - 1);

        /* The agent's stated confidence, of its last self-check. */
        if (ep.context && lastc &&
            (json_object_set(ep.context, "self_check", lastc) != 0 ||
             json_object_set(ep.context, "confidence", json_object_get(lastc, "confidence")
                                 ? json_object_get(lastc, "confidence") : json_null()) != 0)) {
            json_decref(ep.context);
            ep.context = NULL;
        }
    }
    ep.intervention = l->intervention || state_int(l, "interventions") > 0;
    ep.execution_seconds = (double)(state_int(l, "elapsed_ms") + (ad_now_ms() - l->t0_ms)) /
                           1000.0;
    ep.token_usage = state_int(l, "tokens");
    if (!ep.input || !ep.context || (answer && !ep.output)) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    if (strcmp(l->stop, "answer") == 0 || strcmp(l->stop, "outcome") == 0)
        l->sess.status = AD_SESSION_DONE;
    else if (strcmp(l->stop, "llm_error") == 0)
        l->sess.status = AD_SESSION_FAILED;
    else
        l->sess.status = AD_SESSION_STOPPED;
    rc = set_new(l->state, "stop_reason", json_string(l->stop), err);
    if (rc == 0)
        rc = ad_store_begin(l->st, err);
    if (rc < 0)
        goto out;
    rc = ad_episode_record(l->st, l->bus, &ep, err);
    if (rc == 0) {
        memcpy(l->sess.episode_id, ep.id, AD_ID_SIZE);
        rc = save(l, err);
    }
    if (rc == 0)
        rc = ad_store_commit(l->st, err);
    if (rc < 0 && ad_store_tx_depth(l->st) > depth0)
        ad_store_rollback(l->st);
    if (rc == 0) {
        memcpy(res->episode_id, ep.id, AD_ID_SIZE);
        res->success = ok;
        if (answer && !(res->answer = strdup(answer)))
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
out:
    ep.task_description = NULL;
    ep.task_kind = NULL;
    ep.error_trace = NULL;
    ep.tools_attempted = NULL;
    ad_episode_release(&ep);
    return rc;
}

/* ---- the loop ------------------------------------------------------------ */

static void loop_release(struct loop *l)
{
    for (size_t i = 0; i < l->nskills; i++) {
        ad_skill_release(&l->skills[i]);
        ad_skill_version_release(&l->versions[i]);
    }
    free(l->skills);
    free(l->versions);
    free(l->denied);
    ad_agent_release(&l->agent);
    free(l->tools);
    for (size_t i = 0; i < l->nprov; i++)
        json_decref(l->prov_schema[i]);
    json_decref(l->outcome_schema);
    ad_agent_session_release(&l->sess);
    free(l->stop_detail);
}

int ad_agent_run(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                 struct ad_llm *llm, const struct ad_agent_run_opts *o,
                 struct ad_agent_run_result *res, struct ad_err *err)
{
    struct loop l;
    int rc;

    memset(res, 0, sizeof(*res));
    if (!st || !sb || !llm || !o || !o->tenant_id || !o->agent_id)
        return ad_error(err, AD_EINVAL, "an agent run needs a store, a sandbox, an llm and an "
                                        "agent");
    if (o->max_turns < 0 || o->cost_limit_usd < 0 || !isfinite(o->cost_limit_usd) ||
        o->tool_failure_limit < 0 || o->deadline_ms < 0)
        return ad_error(err, AD_EINVAL, "agent run limits must not be negative");
    memset(&l, 0, sizeof(l));
    l.st = st;
    l.bus = bus;
    l.sb = sb;
    l.llm = llm;
    l.o = o;
    l.fail_limit = o->tool_failure_limit > 0 ? o->tool_failure_limit
                                             : AD_AGENT_DEFAULT_TOOL_FAILURES;
    l.t0_ms = ad_now_ms();
    l.end_ms = o->deadline_ms > 0 ? mono_ms() + o->deadline_ms : 0;
    l.tiered = ad_llm_has_tier(llm, "strong");
    rc = o->resume ? session_resume(&l, err) : session_new(&l, err);
    if (rc == 0)
        rc = load_tools(&l, err);
    if (rc == 0 && o->resume)
        rc = save(&l, err);
    memcpy(res->session_id, l.sess.id, AD_ID_SIZE);
    while (rc == 0 && !l.stop) {
        rc = run_pending(&l, err);
        if (rc < 0 || l.stop)
            break;
        check_limits(&l);
        if (!l.stop)
            rc = budget(&l, err);
        if (rc == 0 && !l.stop)
            rc = model_turn(&l, err);
        /* Done means checked: an answer gets its self-check, once per answer, at most 2. */
        if (rc == 0 && l.stop && !strcmp(l.stop, "answer") && l.check &&
            last_answer(&l) && json_array_size(json_object_get(l.state, "self_checks")) <
                                   (json_is_false(json_object_get(json_array_get(
                                        json_object_get(l.state, "self_checks"), 0), "pass"))
                                        ? 2 : 1))
            rc = self_check(&l, err);
    }
    /* A final answer may come with tool calls of its own: nothing, here. */
    if (rc == 0)
        rc = finish(&l, res, err);
    if (rc == 0) {
        res->stop_reason = l.stop;
        res->turns = (int)state_int(&l, "turns");
        res->tokens = state_int(&l, "tokens");
        res->cost_usd = state_num(&l, "cost_usd");
        progress(&l, AD_AGENT_DONE,
                 json_pack("{s:s, s:b, s:i, s:s, s:I, s:f, s:s?}", "stop_reason", l.stop,
                           "success", res->success, "turns", res->turns, "episode_id",
                           res->episode_id, "tokens", (json_int_t)res->tokens, "cost_usd",
                           res->cost_usd, "error", res->success ? NULL : l.stop_detail));
    }
    loop_release(&l);
    return rc;
}

int ad_agent_sessions_list(struct ad_store *st, const char *tenant_id, const char *agent_id,
                           int limit, struct ad_agent_session **out, size_t *n,
                           struct ad_err *err)
{
    return ad_store_agent_session_list(st, tenant_id, agent_id, limit, out, n, err);
}

int ad_agent_sessions_get(struct ad_store *st, const char *tenant_id, const char *id,
                          struct ad_agent_session *out, struct ad_err *err)
{
    return ad_store_agent_session_get(st, tenant_id, id, out, err);
}
