/*
 * Running a catalog skill in the sandbox and recording the run.
 *
 * A failed run's error text is what reflection later groups failures by
 * (agent.h reads the exception name on its last line), so runs that never
 * raised in Python (a timeout, an OOM kill) still get a name-shaped first
 * word: "TimeoutError: ...", "MemoryError: ...".
 */
#include "compat.h"

#include <stdio.h>

#include "autodev/bus.h"
#include "autodev/json.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

const json_t *ad_skill_version_schema(const struct ad_skill *s, const struct ad_skill_version *v,
                                      json_t **owned)
{
    *owned = NULL;
    if (!v->id[0] || !strcmp(v->id, s->current_version_id) || !v->code || !s->entry_function)
        return s->input_schema;
    /* The skill's schema is its current version's; an older one has its signature's. */
    if (ad_skill_schema_derive(v->code, strlen(v->code), s->entry_function, owned, NULL) < 0)
        *owned = NULL;
    return *owned;
}

/* The input against the schema of the version that runs; nothing runs when it does not fit. */
static int check_input(const struct ad_skill *s, const struct ad_skill_version *v,
                       const json_t *input, struct ad_err *err)
{
    json_t *owned;
    const json_t *schema = ad_skill_version_schema(s, v, &owned);
    int rc = ad_skill_input_check(schema, input, err);

    json_decref(owned);
    if (rc < 0 && rc != AD_ENOMEM)
        ad_error_prefix(err, "input of skill %s", s->name ? s->name : "?");
    return rc;
}

int ad_skill_execute(struct ad_sandbox *sb, const struct ad_skill *s,
                     const struct ad_skill_version *v, const json_t *input,
                     const struct ad_sandbox_limits *limits, struct ad_sandbox_result *result,
                     struct ad_err *err)
{
    struct ad_sandbox_spec spec;
    char *in = NULL;
    int rc;

    memset(result, 0, sizeof(*result));
    if (!sb || !s || !v || !v->code)
        return ad_error(err, AD_EINVAL, "skill execution needs a sandbox, a skill and code");
    rc = check_input(s, v, input, err);
    if (rc < 0)
        return rc;
    memset(&spec, 0, sizeof(spec));
    if (input) {
        in = ad_json_dumps(input);
        if (!in)
            return ad_error(err, AD_ENOMEM, "out of memory");
    }
    spec.code = v->code;
    spec.entry = s->entry_function;
    spec.input_json = in;
    if (limits)
        spec.limits = *limits;
    rc = ad_sandbox_run(sb, &spec, result, err);
    free(in);
    return rc;
}

char *ad_skill_result_error(const struct ad_sandbox_result *r)
{
    const char *type, *msg, *tb;

    if (r->status == AD_SB_OK)
        return NULL;
    type = json_string_value(json_object_get(r->error, "type"));
    msg = json_string_value(json_object_get(r->error, "message"));
    tb = json_string_value(json_object_get(r->error, "traceback"));
    switch (r->status) {
    case AD_SB_TIMEOUT:
        return ad_strdupf("TimeoutError: the skill ran past its wall-clock limit (%lld ms)",
                          (long long)r->wall_ms);
    case AD_SB_CPU_LIMIT:
        return ad_strdupf("CpuLimitError: the skill used up its CPU time (%lld ms)",
                          (long long)r->cpu_ms);
    case AD_SB_OOM:
        return ad_strdupf("MemoryError: the skill ran out of memory (peak %lld KiB)",
                          (long long)r->max_rss_kb);
    case AD_SB_SIGNAL:
        return ad_strdupf("KilledError: the skill died of signal %d", r->signal);
    case AD_SB_OUTPUT_LIMIT:
        return ad_strdupf("OutputLimitError: the skill wrote more output than allowed");
    case AD_SB_SANDBOX_ERROR:
        return ad_strdupf("SandboxError: %s", msg ? msg : "the sandbox failed");
    default:
        break;
    }
    /* A Python traceback already ends with "Type: message". */
    if (tb && *tb)
        return strdup(tb);
    if (type)
        return ad_strdupf("%s: %s", type, msg ? msg : "");
    return ad_strdupf("SkillError: the skill exited with code %d", r->exit_code);
}

static json_t *execution_payload(const struct ad_skill *s, const struct ad_skill_version *v,
                                 const struct ad_skill_execution *x,
                                 const struct ad_sandbox_result *r)
{
    json_t *p = json_object();
    int rc = 0;

    if (!p)
        return NULL;
    rc |= json_object_set_new(p, "execution_id", json_string(x->id));
    rc |= json_object_set_new(p, "skill", json_string(s->name));
    rc |= json_object_set_new(p, "skill_id", json_string(s->id));
    rc |= json_object_set_new(p, "skill_version_id", json_string(v->id));
    rc |= json_object_set_new(p, "semver", json_string(v->semver));
    rc |= json_object_set_new(p, "agent_id", x->agent_id[0] ? json_string(x->agent_id)
                                                            : json_null());
    rc |= json_object_set_new(p, "episode_id", x->episode_id[0] ? json_string(x->episode_id)
                                                                : json_null());
    rc |= json_object_set_new(p, "success", json_boolean(x->success));
    rc |= json_object_set_new(p, "status", json_string(ad_sb_status_name(r->status)));
    rc |= json_object_set_new(p, "execution_seconds", json_real(x->execution_seconds));
    rc |= json_object_set_new(p, "token_usage", json_integer((json_int_t)x->token_usage));
    rc |= json_object_set_new(p, "error", x->error ? json_string(x->error) : json_null());
    if (rc) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* The error as stored: the head of a trace too long for the column. */
static void cap_error(char *e)
{
    if (e && strlen(e) > AD_ERROR_TRACE_MAX)
        e[AD_ERROR_TRACE_MAX] = '\0';
}

int ad_skill_execution_record(struct ad_store *st, struct ad_bus *bus, const struct ad_skill *s,
                              const struct ad_skill_version *v, const char *agent_id,
                              const char *episode_id, const json_t *input,
                              const struct ad_sandbox_result *r, int64_t token_usage,
                              char x_out[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_skill_execution x;
    json_t *payload = NULL;
    int depth0 = ad_store_tx_depth(st), rc;

    memset(&x, 0, sizeof(x));
    snprintf(x.tenant_id, sizeof(x.tenant_id), "%s", v->tenant_id);
    snprintf(x.skill_version_id, sizeof(x.skill_version_id), "%s", v->id);
    snprintf(x.agent_id, sizeof(x.agent_id), "%s", agent_id ? agent_id : "");
    snprintf(x.episode_id, sizeof(x.episode_id), "%s", episode_id ? episode_id : "");
    x.input = (json_t *)input;
    x.output = r->output;
    x.success = r->status == AD_SB_OK;
    x.execution_seconds = r->wall_ms > 0 ? (double)r->wall_ms / 1000.0 : 0.0;
    /* Capped like an episode's, so sums over executions stay exact. */
    x.token_usage = token_usage < 0 ? 0
                    : token_usage > AD_EPISODE_TOKENS_MAX ? AD_EPISODE_TOKENS_MAX : token_usage;
    x.error = ad_skill_result_error(r);
    if (!x.success && !x.error)
        return ad_error(err, AD_ENOMEM, "out of memory");
    cap_error(x.error);

    rc = ad_store_begin(st, err);
    if (rc < 0)
        goto out;
    rc = ad_store_skill_execution_insert(st, &x, err);
    if (rc == 0 && bus) {
        payload = execution_payload(s, v, &x, r);
        rc = payload ? ad_bus_emit(bus, x.tenant_id, AD_TOPIC_SKILL_EXECUTION, payload, NULL,
                                   err)
                     : ad_error(err, AD_ENOMEM, "out of memory");
    }
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc == 0 && x_out)
        memcpy(x_out, x.id, AD_ID_SIZE);
out:
    json_decref(payload);
    free(x.error);
    return rc;
}

int ad_skill_executions_list(struct ad_store *st, const char *tenant_id,
                             const char *skill_version_id, int limit,
                             struct ad_skill_execution **out, size_t *n, struct ad_err *err)
{
    *out = NULL;
    *n = 0;
    if (!skill_version_id || !*skill_version_id)
        return ad_error(err, AD_EINVAL, "listing skill executions needs a skill version id");
    return ad_store_skill_execution_list(st, tenant_id, skill_version_id, limit, out, n, err);
}
