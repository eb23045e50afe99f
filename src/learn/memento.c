/*
 * The Memento engine: a repeated failure becomes a new skill, under review.
 *
 *   analyse    the group's episodes -> a failure pattern (task, errors,
 *              tools tried, example inputs and expected outputs, a name)
 *   hold out   the agent's other recorded inputs of the task, kept from
 *              the proposer and run by validation
 *   propose    synthesis by example, else a prompt for one self-contained
 *              function; the reply goes through edit (fences stripped, the
 *              function extracted)
 *   candidate  a skill_candidates row, pending; the daily limit is counted
 *              in the transaction that inserts it; its risk_score is the
 *              patch risk of its whole code (risk.h, no parent)
 *   validate   in the sandbox: it loads, runs on every example and held-out
 *              input and gives the expected output where one is recorded
 *              -> validated or failed, with every check and the reviewer's
 *              cautions in validation_result, and the patch risk with its
 *              reasons as validation_result.risk (a CRITICAL one is a
 *              caution too); a candidate not yet validated has only its
 *              risk_score
 *   review     approve (a validated one only) -> catalog, origin memento;
 *              reject with a reason; regenerate a failed or rejected one
 *
 * The model call and the sandbox runs happen outside any transaction, so
 * the write lock is never held across them; each fits in the job's lease,
 * renewed before it. Every state change is one transaction that first
 * holds that lease, with its event, its notification and the capability
 * usage.
 *
 * Sections: names and analysis / the prompt / running candidates / inputs
 * the candidate was not made from / the lease / generate and validate /
 * the job: its errors.
 */
#include "compat.h"

#include <ctype.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/edit.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/risk.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/synth.h"

#include "learn_int.h"

#define GROUP_MAX 10          /* episodes analysed */
#define EXAMPLES_MAX 10       /* example inputs validated */
#define ERRORS_MAX 3          /* distinct error tails in the pattern */
#define TAIL_MAX 800          /* bytes of a trace kept */
#define PROMPT_VALUE_MAX 2000 /* bytes of one input or output in the prompt */
/*
 * Bytes of examples (compact JSON) a failure pattern keeps. The pattern is
 * stored whole in one JSON column (AD_JSON_FIELD_MAX, 256 KiB), and the
 * validation result repeats each example's input and expected output next
 * to the output the candidate gave, so the examples take well under half
 * of it. An example past this is left out whole (a clipped input would be
 * another input, a clipped output a wrong one) and named in
 * "examples_clipped"; synthesis, the prompt and validation all see the same
 * examples kept.
 */
#define PATTERN_EXAMPLES_MAX (96 * 1024)
#define TOOL_MAX 256          /* bytes of one tool named in a pattern (compact JSON) */
#define REPLY_CODE_MAX (64 * 1024)   /* a reply kept as "code" when it has none */
#define LOAD_PROBE "__autodev_loaded__"
#define MADE_FROM_MIN 3       /* distinct examples below which a reviewer is warned */
#define HELD_OUT_MAX 5        /* inputs it was not made from, validated too */
#define HELD_OUT_SCAN 200     /* the agent's newest episodes looked at for them */
#define LEASE_RESERVE_MAX_MS 30000   /* of the lease kept for the writes after a step */
#define STEP_MIN_MS 1000      /* a step (model call, sandbox run) needs at least this */

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* ---- names and analysis ------------------------------------------------------ */

int ad_memento_suggest_name(const char *task, char *out, size_t size)
{
    const char *p = task;
    struct ad_str w;
    size_t len = 0;
    int words = 0;

    if (size < 16)
        return AD_EINVAL;
    out[0] = '\0';
    while (words < 3 && ad_text_word(&p, &w)) {
        char low[32];
        size_t n = w.len < sizeof(low) - 1 ? w.len : sizeof(low) - 1;
        bool ascii = true;

        for (size_t i = 0; i < n; i++) {
            ascii &= (unsigned char)w.ptr[i] < 0x80;
            low[i] = (char)tolower((unsigned char)w.ptr[i]);
        }
        low[n] = '\0';
        /* A name is [a-z0-9_]; a number may follow a word but cannot open the name. */
        if (!ascii || ad_text_stop_word(low, n) || (len == 0 && low[0] >= '0' && low[0] <= '9') ||
            len + n + 2 > size || len + n + 1 > 64)
            continue;
        len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "_" : "", low);
        words++;
    }
    if (!len || !ad_skill_name_valid(out))
        snprintf(out, size, "new_skill");
    return 0;
}

/* The last TAIL_MAX bytes of a trace, starting on a line. */
static json_t *tail(const char *trace)
{
    size_t n = strlen(trace);
    const char *s = trace;

    if (n > TAIL_MAX) {
        s = trace + n - TAIL_MAX;
        const char *nl = strchr(s, '\n');
        if (nl && nl[1])
            s = nl + 1;
    }
    return json_string(s);
}

static bool array_has_equal(const json_t *arr, const json_t *v, const char *key)
{
    size_t i;
    json_t *x;

    json_array_foreach(arr, i, x) {
        if (json_equal(key ? json_object_get(x, key) : x, v))
            return true;
    }
    return false;
}

/* A note of an example left out of the pattern: its episode and its size. */
static int clip_note(json_t *clipped, const char *episode_id, size_t bytes)
{
    return json_array_append_new(clipped, json_pack("{s:s?, s:I, s:s}", "episode_id", episode_id,
                                                    "bytes", (json_int_t)bytes, "why",
                                                    "over what a failure pattern keeps"));
}

/*
 * ep's input and expected output as an example of the pattern while the
 * examples kept stay within PATTERN_EXAMPLES_MAX (*kept counts them), else
 * a note in clipped.
 */
static int add_example(json_t *examples, json_t *clipped, size_t *kept,
                       const struct ad_episode *ep)
{
    /* No expected output recorded: no key (a JSON null is an expected value). */
    json_t *ex = json_pack("{s:s, s:O, s:O*}", "episode_id", ep->id, "input", ep->input,
                           "expected", ep->expected);
    size_t size = ex ? ad_json_size(ex) : 0;

    if (!ex)
        return AD_ENOMEM;
    if (*kept + size > PATTERN_EXAMPLES_MAX) {
        json_decref(ex);
        return clip_note(clipped, ep->id, size);
    }
    *kept += size;
    return json_array_append_new(examples, ex);
}

/*
 * The pattern as stored must fit the store's cap on a JSON column
 * (AD_JSON_FIELD_MAX). ad_memento_analyse keeps its examples within
 * PATTERN_EXAMPLES_MAX, but what is added after (the earlier attempts and
 * their reasons, what synthesis or the model said) is not bounded by
 * construction, so the whole is measured once more before it is stored:
 * over the cap it loses examples from the last, each noted in
 * "examples_clipped", and AD_ETOOBIG when even without any it does not fit
 * (certain to repeat: the job must not be retried).
 */
static int fit_pattern(json_t *pattern, struct ad_err *err)
{
    json_t *ex = json_object_get(pattern, "examples"), *clipped;
    size_t size = ad_json_size(pattern);

    while (size > AD_JSON_FIELD_MAX && json_array_size(ex) > 0) {
        size_t last = json_array_size(ex) - 1;
        json_t *e = json_array_get(ex, last);

        clipped = json_object_get(pattern, "examples_clipped");
        if (!json_is_array(clipped)) {
            clipped = json_array();
            if (!clipped || json_object_set_new(pattern, "examples_clipped", clipped) < 0)
                return oom(err);
        }
        if (clip_note(clipped, ad_json_str(e, "episode_id"), ad_json_size(e)) < 0 ||
            json_array_remove(ex, last) < 0)
            return oom(err);
        size = ad_json_size(pattern);
    }
    if (size > AD_JSON_FIELD_MAX)
        return ad_error(err, AD_ETOOBIG, "memento.generate: the failure pattern is %zu bytes "
                        "without any example, over the %d KiB a candidate stores", size,
                        AD_JSON_FIELD_MAX / 1024);
    return 0;
}

int ad_memento_analyse(struct ad_store *st, const char *tenant_id, const json_t *episode_ids,
                       json_t **pattern, struct ad_err *err)
{
    json_t *errors = json_array(), *tools = json_array(), *examples = json_array();
    json_t *ids = json_array(), *clipped = json_array(), *p = NULL;
    struct ad_episode first;
    char type[AD_ERROR_TYPE_MAX + 1] = "", name[AD_NAME_MAX + 1];
    bool have_first = false;
    size_t i, kept = 0;
    json_t *v;
    int rc = 0;

    *pattern = NULL;
    ad_episode_init(&first);
    if (!errors || !tools || !examples || !ids || !clipped) {
        rc = oom(err);
        goto out;
    }
    if (!json_is_array(episode_ids) || json_array_size(episode_ids) == 0) {
        rc = ad_error(err, AD_EINVAL, "field 'episode_ids': expected a non-empty array");
        goto out;
    }
    json_array_foreach(episode_ids, i, v) {
        struct ad_episode ep;
        const char *id = json_string_value(v);

        if (i >= GROUP_MAX)
            break;
        if (!id || !ad_id_valid(id)) {
            rc = ad_error(err, AD_EINVAL, "field 'episode_ids': item %zu is not an id", i);
            goto out;
        }
        ad_episode_init(&ep);
        rc = ad_episodes_get(st, tenant_id, id, &ep, err);
        if (rc == AD_ENOTFOUND) {   /* gone since: analyse the rest */
            rc = 0;
            continue;
        }
        if (rc < 0)
            goto out;
        rc = json_array_append_new(ids, json_string(ep.id));
        if (rc == 0 && ep.error_trace && json_array_size(errors) < ERRORS_MAX) {
            json_t *t = tail(ep.error_trace);

            if (t && !array_has_equal(errors, t, NULL))
                rc = json_array_append(errors, t);
            json_decref(t);
        }
        for (size_t k = 0; rc == 0 && k < json_array_size(ep.tools_attempted); k++) {
            json_t *tool = json_array_get(ep.tools_attempted, k);

            if (!array_has_equal(tools, tool, NULL) && json_array_size(tools) < 16 &&
                ad_json_size(tool) <= TOOL_MAX)
                rc = json_array_append(tools, tool);
        }
        if (rc == 0 && ep.input && !json_is_null(ep.input) &&
            json_array_size(examples) < EXAMPLES_MAX &&
            !array_has_equal(examples, ep.input, "input"))
            rc = add_example(examples, clipped, &kept, &ep);
        if (rc == 0 && !have_first) {
            first = ep;
            have_first = true;
        } else {
            ad_episode_release(&ep);
        }
        if (rc < 0) {
            rc = oom(err);
            goto out;
        }
    }
    if (!have_first) {
        rc = ad_error(err, AD_ENOTFOUND, "none of the pattern's episodes exists any more");
        goto out;
    }
    /* The type recorded with the episode; a row from before it was stored: its trace. */
    if (first.error_type)
        snprintf(type, sizeof(type), "%s", first.error_type);
    else if (!ad_text_error_type(first.error_trace, type))
        type[0] = '\0';
    ad_memento_suggest_name(first.task_description, name, sizeof(name));
    p = json_pack("{s:s, s:s, s:s?, s:s?, s:O, s:O, s:O, s:O, s:s, s:O*}", "agent_id",
                  first.agent_id, "task", first.task_description, "task_kind", first.task_kind,
                  "error_type", type[0] ? type : NULL, "errors", errors, "tools_attempted", tools,
                  "examples", examples, "episode_ids", ids, "suggested_name", name,
                  "examples_clipped", json_array_size(clipped) ? clipped : NULL);
    if (!p)
        rc = oom(err);
out:
    *pattern = p;
    json_decref(errors);
    json_decref(tools);
    json_decref(examples);
    json_decref(ids);
    json_decref(clipped);
    ad_episode_release(&first);
    return rc;
}

/* ---- the prompt --------------------------------------------------------------- */

static const char system_prompt[] =
    "You write skills for AI agents: small Python functions that other agents call as "
    "tools. Reply with exactly one self-contained Python function in one ```python fence "
    "and nothing else of substance.\n"
    "Rules:\n"
    "- Python 3 standard library only; put imports inside the function or at the top.\n"
    "- Type hints on every parameter and on the return value.\n"
    "- A docstring whose first line says what the function does.\n"
    "- Handle bad input: raise ValueError with a clear message.\n"
    "- No network access, no file writes, no subprocesses, no reading the environment.\n"
    "- Deterministic: the same input gives the same output.\n"
    "- The return value must be JSON-serialisable (str, int, float, bool, None, list, "
    "dict).\n";

static const char *py_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_ARRAY:
        return "list";
    case JSON_OBJECT:
        return "dict";
    case JSON_NULL:
        break;
    }
    return "Optional[...]";
}

/* v as compact JSON, clipped to PROMPT_VALUE_MAX bytes. */
static int add_value(struct ad_buf *b, const json_t *v)
{
    char *s = v ? ad_json_dumps(v) : NULL;
    int rc;

    if (v && !s)
        return AD_ENOMEM;
    if (!s)
        return ad_buf_adds(b, "(unknown)");
    if (strlen(s) > PROMPT_VALUE_MAX)
        rc = ad_buf_addf(b, "%.*s... (clipped)", PROMPT_VALUE_MAX, s);
    else
        rc = ad_buf_adds(b, s);
    free(s);
    return rc;
}

/* How the function is called: the keyword arguments of the first object input. */
static int add_signature(struct ad_buf *b, const json_t *examples)
{
    const json_t *in = json_object_get(json_array_get(examples, 0), "input");
    const char *key;
    json_t *v;
    int rc, first = 1;

    if (!in)
        return ad_buf_adds(b, "No recorded input is known; choose clear parameters.\n");
    if (!json_is_object(in))
        return ad_buf_addf(b, "It is called with one positional argument of type %s.\n",
                           py_type(in));
    rc = ad_buf_adds(b, "It is called with exactly these keyword arguments: ");
    json_object_foreach((json_t *)in, key, v) {
        if (rc == 0)
            rc = ad_buf_addf(b, "%s%s: %s", first ? "" : ", ", key, py_type(v));
        first = 0;
    }
    return rc ? rc : ad_buf_adds(b, ".\n");
}

int ad_memento_prompt(const json_t *pattern, const json_t *previous, struct ad_buf *system,
                      struct ad_buf *user, struct ad_err *err)
{
    const json_t *examples = json_object_get(pattern, "examples");
    const char *name = ad_json_str(pattern, "suggested_name");
    size_t i;
    json_t *v;
    int rc;

    rc = ad_buf_adds(system, system_prompt);
    if (rc == 0)
        rc = ad_buf_addf(user, "An agent keeps failing this task and has no skill for it.\n\n"
                               "Task: %s\n", or_empty(ad_json_str(pattern, "task")));
    if (rc == 0 && ad_json_str(pattern, "task_kind"))
        rc = ad_buf_addf(user, "Task kind: %s\n", ad_json_str(pattern, "task_kind"));
    if (rc == 0 && ad_json_str(pattern, "error_type"))
        rc = ad_buf_addf(user, "Error type: %s\n", ad_json_str(pattern, "error_type"));
    json_array_foreach(json_object_get(pattern, "errors"), i, v) {
        if (rc == 0)
            rc = ad_buf_addf(user, "%s%s\n", i ? "---\n" : "Errors seen:\n",
                             json_string_value(v) ? json_string_value(v) : "");
    }
    if (rc == 0 && json_array_size(json_object_get(pattern, "tools_attempted")))
        rc = ad_buf_adds(user, "Tools tried: ");
    json_array_foreach(json_object_get(pattern, "tools_attempted"), i, v) {
        if (rc == 0)
            rc = ad_buf_adds(user, i ? ", " : "");
        if (rc == 0)
            rc = add_value(user, v);
        if (rc == 0 && i + 1 == json_array_size(json_object_get(pattern, "tools_attempted")))
            rc = ad_buf_adds(user, "\n");
    }
    if (rc == 0 && json_array_size(examples))
        rc = ad_buf_adds(user, "\nExamples the function must handle:\n");
    json_array_foreach(examples, i, v) {
        if (rc == 0)
            rc = ad_buf_addf(user, "%zu. input: ", i + 1);
        if (rc == 0)
            rc = add_value(user, json_object_get(v, "input"));
        /* No "expected": the episode recorded none. A JSON null is a value: None. */
        if (rc == 0 && json_is_null(json_object_get(v, "expected")))
            rc = ad_buf_adds(user, "\n   expected output: null (the function returns None)");
        else if (rc == 0 && json_object_get(v, "expected")) {
            rc = ad_buf_adds(user, "\n   expected output: ");
            if (rc == 0)
                rc = add_value(user, json_object_get(v, "expected"));
        }
        if (rc == 0)
            rc = ad_buf_adds(user, "\n");
    }
    if (rc == 0 && json_array_size(previous))
        rc = ad_buf_adds(user, "\nEarlier attempts at this skill were turned down; do better:\n");
    json_array_foreach(previous, i, v) {
        if (rc == 0)
            rc = ad_buf_addf(user, "- %s: %s\n", or_empty(ad_json_str(v, "status")),
                             or_empty(ad_json_str(v, "reason")));
    }
    if (rc == 0)
        rc = ad_buf_addf(user, "\nWrite the function `%s`. ", name ? name : "new_skill");
    if (rc == 0)
        rc = add_signature(user, examples);
    return rc ? ad_error(err, rc, "building the memento prompt") : 0;
}

/* ---- running candidates ------------------------------------------------------- */

int ad_memento_entry(const char *code, char *out, size_t size)
{
    const char *p = code;

    out[0] = '\0';
    while (p && *p) {
        const char *line = p;
        const char *nl = strchr(p, '\n');

        p = nl ? nl + 1 : NULL;
        if (!strncmp(line, "async def ", 10))
            line += 6;
        if (strncmp(line, "def ", 4) != 0)
            continue;
        line += 4;
        while (*line == ' ')
            line++;
        size_t n = 0;
        while ((line[n] >= 'a' && line[n] <= 'z') || (line[n] >= 'A' && line[n] <= 'Z') ||
               (line[n] >= '0' && line[n] <= '9') || line[n] == '_')
            n++;
        if (n == 0 || n >= size || (line[0] >= '0' && line[0] <= '9'))
            continue;
        memcpy(out, line, n);
        out[n] = '\0';
        return 0;
    }
    return AD_ENOTFOUND;
}

static int run_code(struct ad_sandbox *sb, const char *code, const char *entry,
                    const json_t *input, const struct ad_sandbox_limits *limits,
                    struct ad_sandbox_result *result, struct ad_err *err)
{
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };

    s.entry_function = (char *)entry;
    v.code = (char *)code;
    return ad_skill_execute(sb, &s, &v, input, limits, result, err);
}

int ad_memento_try(struct ad_sandbox *sb, const struct ad_skill_candidate *c, const json_t *input,
                   const struct ad_sandbox_limits *limits, struct ad_sandbox_result *result,
                   struct ad_err *err)
{
    char entry[AD_ENTRY_MAX + 1];

    memset(result, 0, sizeof(*result));
    if (ad_memento_entry(c->generated_code, entry, sizeof(entry)) < 0)
        return ad_error(err, AD_EINVAL, "candidate %s has no top-level function", c->id);
    return run_code(sb, c->generated_code, entry, input, limits, result, err);
}

/* ---- inputs the candidate was not made from --------------------------------------- */

/* Same shape as the pattern's inputs: an object with the same keys, else the same type. */
static bool same_shape(const json_t *like, const json_t *in)
{
    const char *key;
    json_t *v;

    if (!like)
        return true;
    if (json_typeof(like) != json_typeof(in))
        return false;
    if (!json_is_object(like))
        return true;
    if (json_object_size(like) != json_object_size(in))
        return false;
    json_object_foreach((json_t *)like, key, v) {
        if (!json_object_get(in, key))
            return false;
    }
    return true;
}

/* True when ep is the pattern's task: the same kind, a description reflection calls alike. */
static bool same_task(const json_t *fp, const struct ad_episode *ep, double min_similarity)
{
    const char *task = ad_json_str(fp, "task"), *kind = ad_json_str(fp, "task_kind");

    if (strcmp(or_empty(kind), or_empty(ep->task_kind)) || !task || !ep->task_description)
        return false;
    return !strcmp(task, ep->task_description) ||
           ad_shingle_jaccard(task, ep->task_description) >= min_similarity;
}

/*
 * The value ep says the task should give: the expected output it recorded,
 * else, for a success, its output; NULL when unknown (the check then only
 * runs the function).
 */
static const json_t *known_output(const struct ad_episode *ep)
{
    if (ep->expected)
        return ep->expected;
    return ep->success ? ep->output : NULL;
}

/* Whether ep's input may be held out: new to the examples and to what was held out so far. */
static bool fresh_input(const json_t *fp, const json_t *held, const struct ad_episode *ep)
{
    const json_t *examples = json_object_get(fp, "examples");
    const json_t *first = json_object_get(json_array_get(examples, 0), "input");

    return ep->input && !json_is_null(ep->input) && same_shape(first, ep->input) &&
           !array_has_equal(examples, ep->input, "input") &&
           !array_has_equal(held, ep->input, "input");
}

/*
 * Up to HELD_OUT_MAX inputs of the same task the agent recorded besides the
 * pattern's examples (read through the agent module), those whose right
 * output is known first: {"episode_id", "input", "expected"?, "success"}.
 * The model and synthesis never see them; validation runs them, so a
 * function that fits only its examples fails where one exists.
 */
static int held_out(struct ad_store *st, const char *tenant_id, const char *agent_id,
                    const json_t *fp, const struct ad_settings *s, json_t *held,
                    struct ad_err *err)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_episode *v = NULL;
    double min = s->reflection_similarity_pct / 100.0;
    size_t n = 0;
    int rc;

    f.agent_id = agent_id;
    f.limit = HELD_OUT_SCAN;
    rc = ad_episodes_list(st, tenant_id, &f, &v, &n, err);
    /* Two passes: inputs with a known output, then those that can only be run. */
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        for (size_t i = 0; rc == 0 && i < n && json_array_size(held) < HELD_OUT_MAX; i++) {
            const json_t *want = known_output(&v[i]);

            if ((pass == 0) != (want != NULL) || !same_task(fp, &v[i], min) ||
                !fresh_input(fp, held, &v[i]))
                continue;
            if (json_array_append_new(held, json_pack("{s:s, s:O, s:O*, s:b}", "episode_id",
                                                      v[i].id, "input", v[i].input, "expected",
                                                      want, "success", v[i].success)) < 0)
                rc = oom(err);
        }
    }
    ad_episode_list_free(v, n);
    return rc;
}

/* ---- the lease: every long step fits in it, every write holds it ------------------ */

/*
 * What a step may take of the lease: what is left, less a fifth of it (at
 * most LEASE_RESERVE_MAX_MS) kept for the writes that follow the step.
 * INT64_MAX with no lease.
 */
static int64_t lease_budget_ms(const struct ad_job_lease *l)
{
    int64_t left = ad_job_lease_left_ms(l), reserve;

    if (left == INT64_MAX)
        return left;
    reserve = left / 5 < LEASE_RESERVE_MAX_MS ? left / 5 : LEASE_RESERVE_MAX_MS;
    return left - reserve;
}

/*
 * Before a long step: renews the lease (AD_ESTATE when the job is not ours
 * any more) and gives the step's time budget, AD_ETIMEOUT when the lease is
 * too short for any step.
 */
static int lease_step(struct ad_job_lease *l, int64_t *budget_ms, struct ad_err *err)
{
    int rc = ad_jobs_heartbeat(l, err);

    if (rc < 0)
        return ad_error_prefix(err, "memento: renewing the job's lease");
    *budget_ms = lease_budget_ms(l);
    if (*budget_ms < STEP_MIN_MS)
        return ad_error(err, AD_ETIMEOUT, "memento: %" PRId64 " ms left on the job's lease, "
                        "too little for the next step", ad_job_lease_left_ms(l));
    return 0;
}

/* ---- generate and validate ------------------------------------------------------ */

static int add_check(json_t *checks, const char *name, bool ok, const char *error,
                     json_t *extra)
{
    json_t *c = json_pack("{s:s, s:b, s:s?}", "name", name, "ok", ok, "error", error);

    if (c && extra)
        json_object_update(c, extra);
    json_decref(extra);
    return c ? json_array_append_new(checks, c) : AD_ENOMEM;
}

/* The reviewer's cautions of c's validation, joined in one sentence ("" for none); free it. */
static char *cautions(const struct ad_skill_candidate *c)
{
    const json_t *w = json_object_get(c->validation_result, "warnings"), *v;
    struct ad_buf b = AD_BUF_INIT;
    size_t i;

    json_array_foreach(w, i, v) {
        if (ad_buf_addf(&b, "%s%s", i ? "; " : "Caution: ", or_empty(json_string_value(v))) < 0) {
            ad_buf_release(&b);
            return NULL;
        }
    }
    return b.len ? ad_buf_detach(&b, NULL) : strdup("");
}

/*
 * Stores c's outcome with the capability usage, a notification for the
 * reviewers and the memento.candidate event, in one transaction that first
 * holds the job's lease: a worker that lost its job writes none of it.
 */
static int finish(struct ad_store *st, struct ad_bus *bus, struct ad_skill_candidate *c,
                  struct ad_job_lease *lease, struct ad_err *err)
{
    bool ok = c->status == AD_CAND_VALIDATED;
    const char *summary = ad_json_str(c->validation_result, "summary");
    char title[AD_NOTIFY_TITLE_MAX];
    char *msg = NULL, *caution = cautions(c);
    json_t *ev = NULL, *payload = NULL;
    int depth0 = ad_store_tx_depth(st);
    int rc;

    if (!caution)
        return oom(err);
    /* A validated candidate waits for a reviewer; a failed one for nobody. */
    c->review_status = ok ? AD_REVIEW_PENDING : AD_REVIEW_NONE;
    rc = ad_store_begin(st, err);
    if (rc < 0) {
        free(caution);
        return rc;
    }
    rc = ad_jobs_lease_hold(lease, st, err);
    if (rc == 0)
        rc = ad_store_candidate_update(st, c, err);
    if (rc == 0 && !ok)
        rc = ad__pattern_close(st, c, summary, err);
    if (rc == 0 && c->agent_id[0])
        rc = ad_gate_record_usage(st, c->tenant_id, c->agent_id, AD_CAP_MEMENTO, ok, err);
    if (rc == 0) {
        snprintf(title, sizeof(title), "Skill candidate %s %s", c->skill_name,
                 ok ? "is ready for review" : "failed validation");
        msg = ad_strdupf("%s.%s%s%s %s: autodev candidates show %s", summary ? summary : "",
                         *caution ? " " : "", caution, *caution ? "." : "",
                         ok ? "Review it" : "See", c->id);
        payload = json_pack("{s:s, s:s, s:s}", "candidate_id", c->id, "skill_name",
                            c->skill_name, "status", ad_candidate_status_name(c->status));
        rc = msg && payload ? ad__notify(st, c->tenant_id, c->agent_id,
                                         ok ? "skill_candidate_validated"
                                            : "skill_candidate_failed",
                                         title, msg, payload, NULL, err)
                            : oom(err);
    }
    if (rc == 0 && bus) {
        ev = json_pack("{s:s, s:s?, s:s, s:s, s:s?}", "candidate_id", c->id, "agent_id",
                       c->agent_id[0] ? c->agent_id : NULL, "skill_name", c->skill_name,
                       "status", ad_candidate_status_name(c->status), "summary", summary);
        rc = ev ? ad_bus_emit(bus, c->tenant_id, AD_TOPIC_MEMENTO_CANDIDATE, ev, NULL, err)
                : oom(err);
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    json_decref(payload);
    json_decref(ev);
    free(msg);
    free(caution);
    return rc;
}

/* "a" and "b" shown for a mismatch, each clipped. */
static char *mismatch(const json_t *expected, const json_t *got)
{
    char *e = ad_json_dumps(expected), *g = got ? ad_json_dumps(got) : NULL;
    char *s = ad_strdupf("expected %.200s, got %.200s", e ? e : "?", g ? g : "null");

    free(e);
    free(g);
    return s;
}

/* One validation in progress. */
struct vrun {
    struct ad_sandbox *sb;
    const struct ad_sandbox_limits *limits;   /* the caller's, or NULL: defaults */
    struct ad_job_lease *lease;
    const char *code;
    const char *entry;
    json_t *checks;
    int passed, total;
    char *summary;                             /* the first failure, or NULL */
};

/* Runs code's fn on input in the sandbox, within the job's lease. */
static int vrun_exec(struct vrun *v, const char *code, const char *fn, const json_t *input,
                     struct ad_sandbox_result *r, struct ad_err *err)
{
    struct ad_sandbox_limits lim = { 0 };
    int64_t budget = INT64_MAX;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = lease_step(v->lease, &budget, err);
    if (rc < 0)
        return rc;
    if (v->limits)
        lim = *v->limits;
    if ((lim.wall_ms ? lim.wall_ms : AD_SB_DEFAULT_WALL_MS) > budget)
        lim.wall_ms = budget;
    return run_code(v->sb, code, fn, input, &lim, r, err);
}

/*
 * One check of the function on one input: it runs, and when the example
 * carries an "expected" value (JSON null included: "return None") the
 * output equals it. An example without "expected" checks only that it runs.
 */
static int vrun_example(struct vrun *v, const char *name, const json_t *ex, struct ad_err *err)
{
    const json_t *in = json_object_get(ex, "input");
    const json_t *want = json_object_get(ex, "expected");
    struct ad_sandbox_result r;
    char *e = NULL;
    bool ok;
    int rc = vrun_exec(v, v->code, v->entry, in, &r, err);

    if (rc < 0)
        return rc;
    v->total++;
    ok = r.status == AD_SB_OK;
    if (!ok)
        e = ad_skill_result_error(&r);
    else if (want && !ad_json_equal_loose(want, r.output ? r.output : json_null())) {
        ok = false;
        e = mismatch(want, r.output);
    }
    if (ok)
        v->passed++;
    rc = add_check(v->checks, name, ok, e,
                   json_pack("{s:O?, s:O*, s:O?, s:I}", "input", in, "expected", want, "output",
                             r.output, "wall_ms", (json_int_t)r.wall_ms));
    if (!ok && !v->summary) {
        struct ad_str last = ad_str_last_line(e ? e : "");

        v->summary = ad_strdupf("%s failed: %.*s", name, (int)last.len, last.ptr);
    }
    free(e);
    ad_sandbox_result_clear(&r);
    return rc < 0 ? oom(err) : 0;
}

/* Loading runs the module's top level: syntax, imports, definitions. 1 loaded, 0 not. */
static int vrun_load(struct vrun *v, struct ad_err *err)
{
    struct ad_sandbox_result r;
    char *probe = ad_strdupf("%s\n\ndef " LOAD_PROBE "():\n    return True\n", v->code);
    bool loaded;
    int rc;

    if (!probe)
        return oom(err);
    rc = vrun_exec(v, probe, LOAD_PROBE, NULL, &r, err);
    free(probe);
    if (rc < 0)
        return rc;
    v->total++;
    loaded = r.status == AD_SB_OK;
    if (loaded) {
        v->passed++;
        rc = add_check(v->checks, "load", true, NULL, NULL);
    } else {
        char *e = ad_skill_result_error(&r);
        struct ad_str last = ad_str_last_line(e ? e : "");

        rc = add_check(v->checks, "load", false, e, NULL);
        v->summary = ad_strdupf("the code does not load: %.*s", (int)last.len, last.ptr);
        free(e);
    }
    ad_sandbox_result_clear(&r);
    return rc < 0 ? oom(err) : loaded;
}

/*
 * c's patch risk: its whole code counts as added, a new skill having no
 * parent. Sets c->risk_score and gives the risk object (a new reference)
 * in *obj: {"level", "score", "findings", "reasons"}.
 */
static int candidate_risk(struct ad_skill_candidate *c, json_t **obj, struct ad_err *err)
{
    struct ad_risk r;
    int rc = ad_risk_score(NULL, c->generated_code, &r, err);

    *obj = NULL;
    if (rc == 0) {
        c->risk_score = r.score;
        *obj = ad_risk_json(&r);
        if (!*obj)
            rc = oom(err);
    }
    ad_risk_release(&r);
    return rc < 0 ? ad_error_prefix(err, "scoring the patch risk of %s", or_empty(c->skill_name))
                  : 0;
}

/*
 * A CRITICAL patch risk as a caution: the first reason (the reasons are
 * ordered by level) and how many more CRITICAL ones there are. Nothing
 * below CRITICAL: the risk and its reasons are in validation_result.risk.
 */
static int risk_caution(json_t *warnings, const json_t *risk)
{
    const json_t *reasons = json_object_get(risk, "reasons"), *first, *v;
    char *w, more[48] = "";
    size_t i, n = 0;
    int rc;

    json_array_foreach(reasons, i, v)
        n += ad_json_str(v, "level") && !strcmp(ad_json_str(v, "level"), "CRITICAL");
    first = json_array_get(reasons, 0);
    if (!ad_json_str(risk, "level") || strcmp(ad_json_str(risk, "level"), "CRITICAL") || !n)
        return 0;
    if (n > 1)
        snprintf(more, sizeof(more), " and %zu more CRITICAL", n - 1);
    w = ad_strdupf("patch risk CRITICAL: %s (line %" JSON_INTEGER_FORMAT ")%s; read the code "
                   "before approving", or_empty(ad_json_str(first, "detail")),
                   json_integer_value(json_object_get(first, "line")), more);
    if (!w)
        return AD_ENOMEM;
    rc = json_array_append_new(warnings, json_string(w)) < 0 ? AD_ENOMEM : 0;
    free(w);
    return rc;
}

/*
 * A synthesized candidate that is ambiguous: another program fits its
 * examples as well and answers otherwise on the distinguishing input.
 */
static int ambiguity_caution(json_t *w, const json_t *amb)
{
    const size_t ascii = JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII;
    const json_t *alts = json_object_get(amb, "alternatives");
    /* ASCII, so that cutting them short never splits a character. */
    char *in = ad_json_dumps_flags(json_object_get(amb, "input"), ascii);
    char *mine = ad_json_dumps_flags(json_object_get(amb, "answer"), ascii);
    char *theirs = ad_json_dumps_flags(json_array_get(json_object_get(amb, "answers"), 0), ascii);
    char *msg = ad_strdupf("ambiguous: %s fits the examples as well as %s; on %.200s it answers "
                           "%.200s where this answers %.200s: check which is meant",
                           or_empty(json_string_value(json_array_get(alts, 0))),
                           or_empty(ad_json_str(amb, "program")), in ? in : "another input",
                           theirs ? theirs : "otherwise", mine ? mine : "otherwise");
    int rc = msg ? json_array_append_new(w, json_string(msg)) : -1;

    free(in);
    free(mine);
    free(theirs);
    free(msg);
    return rc;
}

/*
 * What a reviewer must know before trusting a pass: a candidate made from
 * fewer than MADE_FROM_MIN distinct examples may fit exactly those, and
 * one never run on an input it was not made from has shown nothing more.
 */
static json_t *warnings_of(const json_t *fp, int held_out)
{
    const json_t *made = json_object_get(fp, "made_from");
    json_int_t n = json_is_integer(made) ? json_integer_value(made)
                                         : (json_int_t)json_array_size(json_object_get(fp,
                                                                                      "examples"));
    json_t *w = json_array();

    if (w && n < MADE_FROM_MIN)
        json_array_append_new(w, json_string_nocheck(
            n == 1 ? "made from 1 example, fewer than 3: it may fit that example and nothing else"
                   : n == 0 ? "made from no example: nothing shows it does the task"
                            : "made from 2 examples, fewer than 3: it may fit those two and "
                              "nothing else"));
    if (w && !held_out)
        json_array_append_new(w, json_string_nocheck(
            "run on no input it was not made from: the agent recorded no other input of this "
            "task"));
    if (w && json_is_object(json_object_get(fp, "synth_ambiguity")) &&
        ambiguity_caution(w, json_object_get(fp, "synth_ambiguity")) < 0) {
        json_decref(w);
        return NULL;
    }
    return w;
}

static int validate(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                    const struct ad_sandbox_limits *limits, struct ad_job_lease *lease,
                    struct ad_skill_candidate *c, struct ad_err *err)
{
    const json_t *examples = json_object_get(c->failure_pattern, "examples");
    const json_t *held = json_object_get(c->failure_pattern, "held_out");
    struct vrun v = { sb, limits, lease, c->generated_code, NULL, json_array(), 0, 0, NULL };
    char entry[AD_ENTRY_MAX + 1];
    size_t i;
    json_t *ex, *risk = NULL, *warnings = NULL;
    int rc = 0;

    if (!v.checks)
        return oom(err);
    if (ad_memento_entry(c->generated_code, entry, sizeof(entry)) < 0) {
        v.total++;
        rc = add_check(v.checks, "function", false, "the code defines no top-level function",
                       NULL);
        v.summary = ad_strdupf("the code defines no top-level function");
        rc = rc < 0 ? oom(err) : 0;
        goto decide;
    }
    v.entry = entry;
    rc = vrun_load(&v, err);
    if (rc <= 0)
        goto decide;
    rc = 0;
    json_array_foreach(examples, i, ex) {
        char name[32];

        snprintf(name, sizeof(name), "example %zu", i + 1);
        rc = vrun_example(&v, name, ex, err);
        if (rc < 0)
            goto out;
    }
    /* Inputs it was not made from: a function that fits only its examples fails here. */
    json_array_foreach(held, i, ex) {
        char name[32];

        snprintf(name, sizeof(name), "held-out %zu", i + 1);
        rc = vrun_example(&v, name, ex, err);
        if (rc < 0)
            goto out;
    }
decide:
    if (rc < 0)
        goto out;
    c->status = v.passed == v.total ? AD_CAND_VALIDATED : AD_CAND_FAILED;
    if (!v.summary)
        v.summary = json_array_size(examples) || json_array_size(held)
                        ? ad_strdupf("passed %d of %d checks", v.passed, v.total)
                        : ad_strdupf("loads; no recorded input to run it on, so only loaded");
    /* Scored again here, so a candidate inserted before risk was scored gets it too. */
    rc = candidate_risk(c, &risk, err);
    if (rc < 0)
        goto out;
    warnings = warnings_of(c->failure_pattern, (int)json_array_size(held));
    if (!warnings || risk_caution(warnings, risk) < 0) {
        rc = oom(err);
        goto out;
    }
    json_decref(c->validation_result);
    c->validation_result = json_pack("{s:O, s:i, s:i, s:s?, s:i, s:O, s:O}", "checks", v.checks,
                                     "passed", v.passed, "total", v.total, "summary", v.summary,
                                     "held_out", (int)json_array_size(held), "warnings",
                                     warnings, "risk", risk);
    if (!c->validation_result || !v.summary) {
        rc = oom(err);
        goto out;
    }
    ad_time_now(c->validated_at);
    rc = finish(st, bus, c, lease, err);
out:
    json_decref(v.checks);
    json_decref(risk);
    json_decref(warnings);
    free(v.summary);
    return rc;
}

int ad_memento_validate(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                        const struct ad_sandbox_limits *limits, struct ad_skill_candidate *c,
                        struct ad_err *err)
{
    return validate(st, bus, sb, limits, NULL, c, err);
}

/* The job's payload fields, checked: a hand-made or damaged job fails clearly. */
static int payload_parse(const json_t *payload, const char **agent_id, const json_t **ids,
                         const json_t **previous, struct ad_err *err)
{
    *agent_id = ad_json_str(payload, "agent_id");
    *ids = json_object_get(payload, "episode_ids");
    *previous = json_object_get(payload, "previous");
    if (!*agent_id || !ad_id_valid(*agent_id))
        return ad_error(err, AD_EINVAL, "memento job: field 'agent_id': expected an id");
    if (!json_is_array(*ids) || !json_array_size(*ids))
        return ad_error(err, AD_EINVAL, "memento job: field 'episode_ids': expected a "
                                        "non-empty array");
    if (*previous && !json_is_array(*previous) && !json_is_null(*previous))
        return ad_error(err, AD_EINVAL, "memento job: field 'previous': expected an array");
    return 0;
}

/* Asks the model; the reply text into *reply (owned), with what it cost in meta. */
static int propose(struct ad_llm *llm, const struct ad_memento_opts *o, const json_t *pattern,
                   const json_t *previous, char **reply, json_t *meta, struct ad_err *err)
{
    struct ad_buf sys = AD_BUF_INIT, user = AD_BUF_INIT;
    struct ad_llm_message msgs[2];
    struct ad_llm_request req = { 0 };
    struct ad_llm_response resp = { 0 };
    int64_t budget = INT64_MAX;
    int rc;

    *reply = NULL;
    rc = ad_memento_prompt(pattern, previous, &sys, &user, err);
    if (rc < 0)
        goto out;
    /* The whole call, retries and fallbacks included, ends inside the renewed lease. */
    rc = lease_step(o->lease, &budget, err);
    if (rc < 0)
        goto out;
    req.deadline_ms = budget == INT64_MAX ? 0 : budget;
    msgs[0] = (struct ad_llm_message){ .role = AD_LLM_SYSTEM, .content = sys.ptr };
    msgs[1] = (struct ad_llm_message){ .role = AD_LLM_USER, .content = user.ptr };
    req.messages = msgs;
    req.nmessages = 2;
    req.model = o->model;
    req.max_tokens = 2048;
    req.temperature = 0.2;
    req.seed = -1;
    req.purpose = "memento";
    rc = ad_llm_complete(llm, &req, &resp, err);
    if (rc < 0)
        goto out;
    json_object_set_new(meta, "provider", json_string(resp.provider ? resp.provider : ""));
    json_object_set_new(meta, "model", json_string(resp.model ? resp.model : ""));
    json_object_set_new(meta, "tokens", json_integer(resp.usage.prompt_tokens +
                                                     resp.usage.completion_tokens));
    json_object_set_new(meta, "cost_usd", json_real(resp.cost_usd));
    *reply = resp.text;
    resp.text = NULL;
    if (!*reply)
        *reply = strdup("");
    if (!*reply)
        rc = oom(err);
out:
    ad_llm_response_release(&resp);
    ad_buf_release(&sys);
    ad_buf_release(&user);
    return rc;
}

/* The ambiguity's inputs and answers are kept when small; a large one keeps its programs. */
#define AMBIGUITY_MAX 4096

/* The synthesizer's ambiguity report as the pattern's "synth_ambiguity". */
static int keep_ambiguity(json_t *meta, const json_t *amb)
{
    json_t *a = json_deep_copy(amb);

    if (a && ad_json_size(a) > AMBIGUITY_MAX) {
        json_object_set_new(a, "input", json_string("(too large to keep)"));
        json_object_del(a, "answer");
        json_object_del(a, "answers");
    }
    return a ? json_object_set_new(meta, "synth_ambiguity", a) : -1;
}

/*
 * Synthesis by example from the failures' inputs and expected outputs: no
 * model, no tokens. 0 with the module in *code; AD_ENOTFOUND when it cannot
 * help, the reason in meta's "synth_why" for the reviewer: no expected
 * outputs recorded (or every example too large to keep), a synthesized
 * candidate of the pattern was already turned down, or ad_synth() failed in
 * a way the same examples would repeat (no program fits, the work budget
 * reached, AD_SYNTH_MAX_EXAMPLES, a bug of the synthesizer): each is then
 * as final as a retry of the job would make it. Errors of the machine
 * (memory) are returned as they are. The work is bounded by ad_synth()'s
 * budget, not by time.
 *
 * Synthesis is not asked to re-check the module with Python (opts.python):
 * every candidate is validated next in the sandbox, with the runtime that
 * will run the skill, and a server should start no interpreter outside it.
 */
static int synthesize(const json_t *pattern, const json_t *previous, const json_t *held,
                      struct ad_buf *code, json_t *meta, struct ad_err *err)
{
    json_t *probes = json_array();
    const json_t *examples = json_object_get(pattern, "examples"), *v;
    struct ad_synth_opts so = { 0 };
    struct ad_synth_result res;
    struct ad_err xerr = AD_ERR_INIT;
    const char *why = NULL;
    json_t *ex = json_array();
    int64_t t0 = ad_mono_ns();
    size_t i;
    int rc;

    if (!ex || !probes) {
        json_decref(ex);
        json_decref(probes);
        return oom(err);
    }
    /* The inputs it was not made from: where other programs that fit as well may part. */
    json_array_foreach(held, i, v) {
        if (json_array_append(probes, json_object_get(v, "input")) < 0) {
            json_decref(ex);
            json_decref(probes);
            return oom(err);
        }
    }
    json_array_foreach(previous, i, v) {
        if (ad_json_str(v, "proposer") && !strcmp(ad_json_str(v, "proposer"), "synth"))
            why = "a synthesized candidate of this pattern was turned down before";
    }
    json_array_foreach(examples, i, v) {
        const json_t *want = json_object_get(v, "expected");

        if (!why && want && !json_is_null(want) &&
            json_array_append_new(ex, json_pack("{s:O, s:O}", "input",
                                                json_object_get(v, "input"), "output",
                                                want)) < 0) {
            json_decref(ex);
            json_decref(probes);
            return oom(err);
        }
    }
    if (!why && !json_array_size(ex))
        why = json_array_size(json_object_get(pattern, "examples_clipped"))
                  ? "the failures' examples are too large to keep (see examples_clipped)"
                  : "the failures recorded no expected outputs";
    if (why) {
        json_decref(ex);
        json_decref(probes);
        json_object_set_new(meta, "synth_why", json_string(why));
        return AD_ENOTFOUND;
    }
    so.name = ad_json_str(pattern, "suggested_name");
    so.description = ad_json_str(pattern, "task");
    so.probes = probes;
    rc = ad_synth(ex, &so, &res, &xerr);
    json_decref(ex);
    json_decref(probes);
    if (rc == 0) {
        rc = ad_buf_adds(code, res.code) ? oom(err) : 0;
        if (rc == 0 && res.ambiguity)
            rc = keep_ambiguity(meta, res.ambiguity) < 0 ? oom(err) : 0;
        json_object_set_new(meta, "proposer", json_string("synth"));
        json_object_set_new(meta, "synth_summary", json_string(res.summary));
        json_object_set_new(meta, "synth_ms", json_real((double)(ad_mono_ns() - t0) / 1e6));
        json_object_set_new(meta, "tokens", json_integer(0));
        json_object_set_new(meta, "cost_usd", json_real(0));
    } else if (rc == AD_ENOTFOUND || rc == AD_EINVAL || rc == AD_ELIMIT || rc == AD_ETOOBIG ||
               rc == AD_EINTERNAL) {
        /* Certain to repeat on the same examples (synth.h): synthesis cannot help. */
        json_object_set_new(meta, "synth_why", json_string(xerr.msg));
        rc = AD_ENOTFOUND;
    } else {
        rc = ad_error(err, rc, "synthesis: %s", xerr.msg);
    }
    ad_synth_result_release(&res);
    return rc;
}

/*
 * Whether llm can write a new function. The offline provider cannot: it
 * answers code proposals with a mutant of the code they carry, and a new
 * skill has no code yet. So under AUTODEV_LLM=offline the Memento proposer
 * is synthesis by example alone; a chain with any other provider can.
 */
static bool writes_code(const struct ad_llm *llm)
{
    for (size_t i = 0; i < ad_llm_chain_len(llm); i++) {
        const char *e = ad_llm_chain_entry(llm, i);

        if (e && strncmp(e, "offline:", 8) != 0)
            return true;
    }
    return false;
}

/* Synthesis could not help and no model can write the function: why, for good (ENOTFOUND). */
static int no_proposer(const struct ad_llm *llm, const struct ad_settings *s, const json_t *meta,
                       struct ad_err *err)
{
    const char *synth_why = ad_json_str(meta, "synth_why");
    const char *model = llm ? "the offline provider only mutates existing code and a new skill "
                              "has none (set AUTODEV_LLM to a model)"
                            : "no model is configured (set AUTODEV_LLM)";

    if (s->memento_synthesis)
        return ad_error(err, AD_ENOTFOUND, "memento.generate: synthesis by example found no "
                        "skill (%s) and %s", synth_why ? synth_why : "no reason given", model);
    return ad_error(err, AD_ENOTFOUND, "memento.generate: synthesis by example is off (setting "
                    "memento_synthesis) and %s", model);
}

/*
 * The distinct examples the proposer worked from: synthesis uses those with
 * an expected output, the model sees every input.
 */
static int made_from(const json_t *pattern, const json_t *meta)
{
    const json_t *examples = json_object_get(pattern, "examples"), *v;
    const char *proposer = ad_json_str(meta, "proposer");
    size_t i;
    int n = 0;

    if (!proposer || strcmp(proposer, "synth"))
        return (int)json_array_size(examples);
    json_array_foreach(examples, i, v) {
        const json_t *want = json_object_get(v, "expected");

        n += want && !json_is_null(want);
    }
    return n;
}

/*
 * The candidate an earlier run of job o->job_id made, if any: a pending or
 * validating one (the run died before validation finished) is validated
 * now; a finished one is the result. AD_ENOTFOUND when there is none.
 */
static int resume(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                  const struct ad_memento_opts *o, const char *agent_id,
                  struct ad_skill_candidate *out, struct ad_err *err)
{
    struct ad_candidate_filter f = { 0 };
    struct ad_skill_candidate *v = NULL;
    size_t n = 0, i;
    int rc;

    f.agent_id = agent_id;
    f.limit = 100;
    rc = ad_store_candidate_list(st, o->tenant_id, &f, &v, &n, err);
    for (i = 0; rc == 0 && i < n; i++) {
        const char *job = ad_json_str(v[i].failure_pattern, "job_id");

        if (job && !strcmp(job, o->job_id))
            break;
    }
    if (rc == 0 && i == n)
        rc = AD_ENOTFOUND;
    if (rc == 0) {
        ad_skill_candidate_release(out);
        *out = v[i];
        ad_skill_candidate_init(&v[i]);
        if (out->status == AD_CAND_PENDING || out->status == AD_CAND_VALIDATING)
            rc = validate(st, bus, sb, o->limits, o->lease, out, err);
    }
    ad_skill_candidate_list_free(v, n);
    return rc;
}

/*
 * The candidate row (its daily limit counted in the insert) and, in the
 * same transaction, its pattern moving to "candidate"; only while the job
 * is still this worker's.
 */
static int insert_candidate(struct ad_store *st, struct ad_skill_candidate *c,
                            const char *pattern_id, int daily_limit, struct ad_job_lease *lease,
                            struct ad_err *err)
{
    int depth0 = ad_store_tx_depth(st);
    int rc = ad_store_begin(st, err);

    if (rc < 0)
        return rc;
    /* First the lease: a worker whose job another one holds now writes no candidate. */
    rc = ad_jobs_lease_hold(lease, st, err);
    if (rc == 0)
        rc = ad_store_candidate_insert(st, c, daily_limit, err);
    if (rc == 0 && pattern_id) {
        rc = ad__pattern_candidate(st, c->tenant_id, pattern_id, c->id, err);
        /* A pattern removed since does not stop the candidate. */
        if (rc == AD_ENOTFOUND) {
            ad_err_clear(err);
            rc = 0;
        }
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc < 0)
        c->id[0] = '\0';
    return rc;
}

int ad_memento_generate(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                        struct ad_llm *llm, const struct ad_memento_opts *o,
                        const json_t *payload, struct ad_skill_candidate *out,
                        struct ad_err *err)
{
    struct ad_gate_decision d;
    struct ad_settings s;
    struct ad_buf code = AD_BUF_INIT;
    struct ad_err xerr = AD_ERR_INIT;
    const json_t *ids, *previous;
    const char *agent_id, *pattern_id;
    json_t *pattern = NULL, *meta = json_object(), *held = NULL, *risk = NULL, *warnings = NULL;
    char *reply = NULL, *doc = NULL;
    char entry[AD_ENTRY_MAX + 1] = "";
    char why[1024];
    bool has_function;
    int rc;

    ad_skill_candidate_init(out);
    if (!meta)
        return oom(err);
    rc = payload_parse(payload, &agent_id, &ids, &previous, err);
    if (rc < 0)
        goto out;
    pattern_id = ad_json_str(payload, "pattern_id");
    if (pattern_id && !ad_id_valid(pattern_id)) {
        rc = ad_error(err, AD_EINVAL, "memento job: field 'pattern_id': expected an id");
        goto out;
    }
    /* A rerun finishes what the first run wrote; no new row, no model call. */
    if (o->job_id) {
        rc = resume(st, bus, sb, o, agent_id, out, err);
        if (rc != AD_ENOTFOUND)
            goto out;
    }
    /* Fail closed: the gate is asked again now, not only when the job was queued. */
    rc = ad_gate_check(st, o->tenant_id, agent_id, AD_CAP_MEMENTO, &d, err);
    if (rc < 0)
        goto out;
    if (!d.allowed) {
        ad_gate_describe(&d, why, sizeof(why));
        rc = ad_error(err, d.used_today >= d.daily_limit && d.nreasons == 1 ? AD_ELIMIT
                                                                              : AD_EPERM,
                      "memento.generate %s", why);
        goto out;
    }
    rc = ad_settings_get(st, o->tenant_id, &s, err);
    if (rc == 0)
        rc = ad_memento_analyse(st, o->tenant_id, ids, &pattern, err);
    held = json_array();
    if (rc == 0)
        rc = held ? held_out(st, o->tenant_id, agent_id, pattern, &s, held, err) : oom(err);
    if (rc < 0)
        goto out;
    code.max = AD_SKILL_CODE_MAX;
    /* By example first: milliseconds and no tokens. The model when that cannot help. */
    rc = s.memento_synthesis ? synthesize(pattern, previous, held, &code, meta, err)
                             : AD_ENOTFOUND;
    if (rc < 0 && rc != AD_ENOTFOUND)
        goto out;
    if (rc == 0) {
        has_function = ad_memento_entry(code.ptr, entry, sizeof(entry)) == 0;
    } else if (!writes_code(llm)) {
        rc = no_proposer(llm, &s, meta, err);
        goto out;
    } else {
        json_object_set_new(meta, "proposer", json_string("llm"));
        rc = propose(llm, o, pattern, previous, &reply, meta, err);
        if (rc < 0)
            goto out;
        has_function =
            ad_edit_extract_function(reply, strlen(reply), NULL, 1, &code, &xerr) == 0 &&
            ad_memento_entry(code.ptr, entry, sizeof(entry)) == 0;
    }
    json_object_set_new(meta, "made_from", json_integer(made_from(pattern, meta)));
    json_object_set(meta, "held_out", held);
    if (json_is_array(previous))
        json_object_set(meta, "previous", (json_t *)previous);
    if (o->job_id)
        json_object_set_new(meta, "job_id", json_string(o->job_id));
    if (pattern_id)
        json_object_set_new(meta, "pattern_id", json_string(pattern_id));
    json_object_update(pattern, meta);
    rc = fit_pattern(pattern, err);
    if (rc < 0)
        goto out;

    snprintf(out->tenant_id, sizeof(out->tenant_id), "%s", o->tenant_id);
    snprintf(out->agent_id, sizeof(out->agent_id), "%s", agent_id);
    snprintf(out->source_episode_id, sizeof(out->source_episode_id), "%s",
             json_string_value(json_array_get(json_object_get(pattern, "episode_ids"), 0)));
    out->skill_name = strdup(has_function && ad_skill_name_valid(entry)
                                 ? entry : ad_json_str(pattern, "suggested_name"));
    if (has_function) {
        out->generated_code = ad_buf_detach(&code, NULL);
        if (ad_skill_docstring(out->generated_code, strlen(out->generated_code), entry, &doc,
                               &xerr) == 0 && doc && *doc)
            out->skill_description = strndup(doc, AD_SKILL_DESC_MAX);
    } else {
        /* Kept for the reviewer: what the model said instead of a function. */
        out->generated_code = reply && *reply ? strndup(reply, REPLY_CODE_MAX)
                                              : strdup("(empty reply)");
    }
    if (!out->skill_description)
        out->skill_description = ad_strdupf("Generated for: %.200s", ad_json_str(pattern, "task"));
    out->failure_pattern = json_incref(pattern);
    out->status = AD_CAND_PENDING;
    if (!out->skill_name || !out->generated_code || !out->skill_description) {
        rc = oom(err);
        goto out;
    }
    /* Every candidate is stored with its risk, a regenerated one too. */
    rc = candidate_risk(out, &risk, err);
    if (rc < 0)
        goto out;
    rc = insert_candidate(st, out, pattern_id, s.max_skill_candidates_per_day, o->lease, err);
    if (rc < 0)
        goto out;
    if (has_function) {
        rc = validate(st, bus, sb, o->limits, o->lease, out, err);
    } else {
        json_t *checks = json_array();

        out->status = AD_CAND_FAILED;
        ad_time_now(out->validated_at);
        if (!checks || add_check(checks, "function", false,
                                 "the model's reply holds no Python function", NULL) < 0) {
            json_decref(checks);
            rc = oom(err);
            goto out;
        }
        warnings = json_array();
        if (!warnings || risk_caution(warnings, risk) < 0) {
            json_decref(checks);
            rc = oom(err);
            goto out;
        }
        out->validation_result = json_pack("{s:o, s:i, s:i, s:s, s:O, s:O}", "checks", checks,
                                           "passed", 0, "total", 1, "summary",
                                           "the model's reply holds no Python function",
                                           "warnings", warnings, "risk", risk);
        rc = out->validation_result ? finish(st, bus, out, o->lease, err) : oom(err);
    }
out:
    json_decref(pattern);
    json_decref(meta);
    json_decref(held);
    json_decref(risk);
    json_decref(warnings);
    ad_buf_release(&code);
    free(reply);
    free(doc);
    return rc;
}

int ad__memento_enqueue(struct ad_store *st, const char *tenant_id, const json_t *payload,
                        const char *key, char id_out[AD_ID_SIZE], int *created,
                        struct ad_err *err)
{
    struct ad_jobs_options o = { 0 };
    struct ad_jobs *q = NULL;
    int rc;

    o.max_attempts = AD_MEMENTO_MAX_ATTEMPTS;
    rc = ad_jobs_new(st, tenant_id, &o, &q, err);
    if (rc == 0)
        rc = ad_jobs_enqueue(q, AD_MEMENTO_JOB, payload, key, 0, id_out, created, err);
    ad_jobs_free(q);
    return rc;
}

/* ---- the job: its errors ----------------------------------------------------------- */

/*
 * Whether a failed memento.generate job can succeed by running again: every
 * code it can meet, with the reason (learn.h keeps the same table for
 * callers). An error certain to repeat fails the job at once instead of
 * spending its attempts (and their model calls) on the same answer.
 */
static bool memento_permanent(int rc)
{
    switch (rc) {
    case AD_EPERM:       /* the gate said no (it says so again), or every model breaker is open */
    case AD_ELIMIT:      /* today's candidates are made, or a daily model cap is reached */
    case AD_EINVAL:      /* a damaged payload, or a request the model refused as malformed */
    case AD_ENOTFOUND:   /* no model and synthesis found nothing, or the episodes are gone */
    case AD_ETOOBIG:     /* a size cap: the same input reaches it again */
    case AD_ENOTSUP:     /* the provider cannot do this (offline asked to write a function) */
    case AD_EEXIST:      /* a unique key is taken: rerunning takes it again */
    case AD_ECORRUPT:    /* the database does not heal by retrying */
    case AD_EINTERNAL:   /* a bug runs the same way twice */
        return true;
    case AD_ETIMEOUT:    /* the model or sandbox ran out of time: it may not next time */
    case AD_EIO:         /* network, provider or disk failure */
    case AD_EBUSY:       /* the database was locked */
    case AD_ENOMEM:      /* memory may be free next time */
    case AD_ESTATE:      /* the job is another worker's now: this outcome is not recorded */
    default:
        return false;
    }
}

int ad_memento_job_outcome(int rc)
{
    return rc < 0 && memento_permanent(rc) ? AD_JOB_PERMANENT : rc;
}

int ad_memento_run_job(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                       struct ad_llm *llm, const struct ad_job *job, struct ad_job_lease *lease,
                       struct ad_skill_candidate *out, struct ad_err *err)
{
    struct ad_memento_opts o = { 0 };
    int rc;

    o.tenant_id = job->tenant_id;
    o.job_id = job->id;
    o.lease = lease;
    rc = ad_memento_generate(st, bus, sb, llm, &o, job->payload, out, err);
    return ad_memento_job_outcome(rc);
}
