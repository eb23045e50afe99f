/*
 * The MCP server's tools: one table (name, title, description, the JSON
 * Schemas of the arguments and of the structured result, who sees it, its
 * annotations, its handler). tools/list and tools/call read only this
 * table, so a tool of a module that lands later is
 * one row and one handler here.
 *
 * Each handler calls the owning module's API with the session's tenant:
 * episodes and the catalog (agent), candidates and mutations (learn); the
 * research steps are the agent loop's tools the runtime registered
 * (agent.h, ad_agent_tool_find), called as the loop calls them.
 *
 * The schemas are written with single quotes (no backslash in sight) and
 * turned into JSON when listed; a test parses every one of them.
 *
 * Sections: the schemas; JSON of rows; episodes; skills and tasks;
 * candidates and mutations; review; research; the table.
 */
#include "compat.h"

#include <math.h>

#include "autodev/advise.h"
#include "autodev/agent.h"
#include "autodev/evolve.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "mcp_int.h"

/* ---- the schemas --------------------------------------------------------------------- */

#define STR "{'type': 'string'}"
#define NSTR "{'type': ['string', 'null']}"
#define NNUM "{'type': ['number', 'null']}"
#define ANY "{}"
#define LIMIT "{'type': 'integer', 'minimum': 1, 'maximum': 1000, 'description': 'at most this many'}"
#define CONFIRM                                                                               \
    "'confirm': {'type': 'boolean', 'description': 'true only after a person agreed to this "  \
    "action; without it nothing changes'}"

static const char in_episode[] =
    "{'type': 'object', 'properties': {"
    "'agent': {'type': 'string', 'description': 'the agent name (autodev agent add)'},"
    "'task_description': {'type': 'string', 'description': 'what the agent was asked to do'},"
    "'success': {'type': 'boolean'}, 'task_kind': " STR ", 'input': " ANY ", 'expected': " ANY
    ", 'output': " ANY ", 'error_trace': {'type': 'string', 'description': 'the error, for a "
    "failure'}, 'tools_attempted': {'type': 'array', 'items': " STR "}, 'context': {'type': "
    "'object'}, 'execution_seconds': {'type': 'number', 'minimum': 0}, 'token_usage': "
    "{'type': 'integer', 'minimum': 0}},"
    "'required': ['agent', 'task_description', 'success'], 'additionalProperties': false}";
static const char out_episode[] =
    "{'type': 'object', 'properties': {'id': " STR ", 'agent_id': " STR ", 'created_at': " STR
    ", 'success': {'type': 'boolean'}}, 'required': ['id', 'agent_id', 'success']}";

#define SKILL_PROPS                                                                           \
    "'id': " STR ", 'name': " STR ", 'description': " STR ", 'entry_function': " STR          \
    ", 'input_schema': {'type': ['object', 'null']}, 'status': " STR                          \
    ", 'current_version_id': " NSTR ", 'created_at': " STR ", 'updated_at': " STR
static const char in_skill_list[] =
    "{'type': 'object', 'properties': {'limit': " LIMIT ", 'cursor': {'type': 'string', "
    "'description': 'next_cursor of the page before'}}, 'additionalProperties': false}";
static const char out_skill_list[] =
    "{'type': 'object', 'properties': {'skills': {'type': 'array', 'items': {'type': 'object', "
    "'properties': {" SKILL_PROPS "}, 'required': ['id', 'name']}}, 'next_cursor': " NSTR "},"
    "'required': ['skills', 'next_cursor']}";
static const char in_skill_search[] =
    "{'type': 'object', 'properties': {'query': {'type': 'string', 'description': 'words of "
    "the task'}, 'limit': " LIMIT "}, 'required': ['query'], 'additionalProperties': false}";
static const char out_skill_search[] =
    "{'type': 'object', 'properties': {'hits': {'type': 'array', 'items': {'type': 'object', "
    "'properties': {" SKILL_PROPS ", 'score': {'type': 'number'}}, 'required': ['name', "
    "'score']}}}, 'required': ['hits']}";
static const char in_skill_run[] =
    "{'type': 'object', 'properties': {'skill': {'type': 'string', 'description': 'the "
    "skill name'}, 'input': " ANY ", 'version': {'type': 'string', 'description': "
    "'MAJOR.MINOR.PATCH; default the current one'}, 'timeout_s': {'type': 'integer', "
    "'minimum': 1, 'maximum': 86400}}, 'required': ['skill'], 'additionalProperties': false}";
static const char out_skill_run[] =
    "{'type': 'object', 'properties': {'skill': " STR ", 'semver': " STR ", 'status': " STR
    ", 'success': {'type': 'boolean'}, 'output': " ANY ", 'error': " NSTR ", 'execution_id': "
    STR ", 'wall_ms': {'type': 'integer'}}, 'required': ['skill', 'semver', 'status', "
    "'success']}";
static const char in_task_run[] =
    "{'type': 'object', 'properties': {'agent': {'type': 'string', 'description': 'the agent "
    "name'}, 'description': {'type': 'string', 'description': 'the task'}, 'skill': {'type': "
    "'string', 'description': 'a catalog skill; default the best match'}, 'input': " ANY
    ", 'expected': " ANY ", 'kind': " STR ", 'timeout_s': {'type': 'integer', 'minimum': 1, "
    "'maximum': 86400}}, 'required': ['agent', 'description'], 'additionalProperties': false}";
static const char out_task_run[] =
    "{'type': 'object', 'properties': {'success': {'type': 'boolean'}, 'episode_id': " STR
    ", 'agent': " STR ", 'skill': " NSTR ", 'semver': " NSTR ", 'matched': {'type': "
    "'boolean'}, 'match_score': {'type': 'number'}, 'status': " NSTR ", 'output': " ANY
    ", 'expected': " ANY ", 'error': " NSTR ", 'execution_id': " NSTR
    ", 'execution_seconds': {'type': 'number'}}, 'required': ['success', 'episode_id']}";

#define CAND_PROPS                                                                            \
    "'id': " STR ", 'skill_name': " STR ", 'skill_description': " NSTR ", 'status': " STR     \
    ", 'review_status': " NSTR ", 'agent_id': " NSTR ", 'source_episode_id': " NSTR           \
    ", 'fitness_score': " NNUM ", 'reviewed_by': " NSTR ", 'reviewed_at': " NSTR              \
    ", 'reason': " NSTR ", 'risk_score': " NNUM ", 'created_at': " STR
static const char in_cand_list[] =
    "{'type': 'object', 'properties': {'status': {'type': 'string', 'enum': ['pending', "
    "'validating', 'validated', 'failed', 'promoted', 'rejected']}, 'agent': " STR ", 'limit': "
    LIMIT "}, 'additionalProperties': false}";
static const char out_cand_list[] =
    "{'type': 'object', 'properties': {'candidates': {'type': 'array', 'items': {'type': "
    "'object', 'properties': {" CAND_PROPS "}, 'required': ['id', 'skill_name', 'status']}}},"
    "'required': ['candidates']}";
static const char in_id[] =
    "{'type': 'object', 'properties': {'id': " STR "}, 'required': ['id'], "
    "'additionalProperties': false}";
static const char out_cand[] =
    "{'type': 'object', 'properties': {" CAND_PROPS ", 'generated_code': " STR
    ", 'failure_pattern': " ANY ", 'validation_result': " ANY "}, 'required': ['id', "
    "'skill_name', 'status', 'generated_code']}";

#define MUT_PROPS                                                                             \
    "'id': " STR ", 'skill': " STR ", 'skill_id': " NSTR ", 'parent_skill_version_id': " NSTR \
    ", 'agent_id': " NSTR ", 'trigger': " NSTR ", 'proposer': " NSTR ", 'operator': " NSTR    \
    ", 'status': " STR ", 'decision': " NSTR ", 'decision_reason': " NSTR                     \
    ", 'fitness_delta': " NNUM ", 'risk_score': " NNUM ", 'risk': " ANY                       \
    ", 'review_status': " NSTR ", 'reviewed_by': " NSTR ", 'reason': " NSTR                   \
    ", 'promoted_version_id': " NSTR ", 'created_at': " STR
static const char in_mut_list[] =
    "{'type': 'object', 'properties': {'status': {'type': 'string', 'enum': ['pending', "
    "'running', 'passed', 'failed', 'error', 'timeout']}, 'review_status': {'type': 'string', "
    "'enum': ['pending', 'approved', 'rejected', 'auto_approved']}, 'limit': " LIMIT "},"
    "'additionalProperties': false}";
static const char out_mut_list[] =
    "{'type': 'object', 'properties': {'mutations': {'type': 'array', 'items': {'type': "
    "'object', 'properties': {" MUT_PROPS "}, 'required': ['id', 'skill', 'status']}}},"
    "'required': ['mutations']}";

static const char in_approve[] =
    "{'type': 'object', 'properties': {'id': " STR ", " CONFIRM "}, 'required': ['id', "
    "'confirm'], 'additionalProperties': false}";
static const char in_reject[] =
    "{'type': 'object', 'properties': {'id': " STR ", 'reason': {'type': 'string', "
    "'description': 'why: required, kept with the decision'}, " CONFIRM "}, 'required': ['id', "
    "'reason', 'confirm'], 'additionalProperties': false}";
static const char out_review[] =
    "{'type': 'object', 'properties': {'id': " STR ", 'decision': {'type': 'string', 'enum': "
    "['approved', 'rejected']}, 'skill': " STR ", 'semver': " NSTR ", 'version_id': " NSTR
    ", 'reviewed_by': " STR ", 'reason': " NSTR "}, 'required': ['id', 'decision', "
    "'reviewed_by']}";

#define RS_PROPS                                                                              \
    "'id': " STR ", 'name': " STR ", 'repo': " STR ", 'metric': " STR ", 'direction': " STR   \
    ", 'status': " STR ", 'baseline': " NNUM ", 'best': " NNUM ", 'noise': " NNUM             \
    ", 'worktree': " NSTR ", 'best_commit': " NSTR ", 'sandbox': {'type': 'boolean'}"
static const char out_research_session[] =
    "{'type': 'object', 'properties': {" RS_PROPS ", 'iterations': {'type': 'array'}}, "
    "'required': ['id', 'status', 'metric']}";
static const char out_research_iteration[] =
    "{'type': 'object', 'properties': {'id': " STR ", 'session_id': " STR ", 'seq': {'type': "
    "'integer'}, 'hypothesis': " NSTR ", 'metric': " NNUM ", 'decision': " NSTR
    ", 'phase': " NSTR ", 'commit': " NSTR ", 'detail': " ANY "}}";
static const char out_research_final[] =
    "{'type': 'object', 'properties': {'files': {'type': 'object'}, 'report': {'type': "
    "'object'}}, 'required': ['files', 'report']}";
static const char out_research_status[] =
    "{'type': 'object', 'properties': {" RS_PROPS ", 'iterations': {'type': 'array'}, "
    "'sessions': {'type': 'array', 'items': {'type': 'object', 'properties': {" RS_PROPS "}, "
    "'required': ['id', 'status']}}}}";

/* The schema text as JSON: single quotes become double ones. New reference or NULL. */
static json_t *schema_load(const char *text, struct ad_err *err)
{
    char *s = strdup(text);
    json_error_t jerr;
    json_t *j;

    if (!s) {
        ad_error(err, AD_ENOMEM, "out of memory");
        return NULL;
    }
    for (char *p = s; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    j = json_loads(s, 0, &jerr);
    free(s);
    if (!j)
        ad_error(err, AD_EINTERNAL, "a tool schema is not JSON: %s (column %d)", jerr.text,
                 jerr.column);
    return j;
}

/* The arguments' schema: the table's, else the agent tool's (JSON already). */
static json_t *input_schema(const struct ad__mcp_tool *t, struct ad_err *err)
{
    const struct ad_agent_tool *at;
    json_error_t jerr;
    json_t *j;

    if (t->input)
        return schema_load(t->input, err);
    if (ad_agent_tool_find(t->agent_tool, &at, NULL, err) < 0)
        return NULL;
    j = json_loads(at->schema, 0, &jerr);
    if (!j)
        ad_error(err, AD_EINTERNAL, "the schema of '%s' is not JSON", t->name);
    return j;
}

/* ---- JSON of rows ----------------------------------------------------------------------- */

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

static const char *opt(const char *s)
{
    return s && *s ? s : NULL;
}

static json_t *skill_json(const struct ad_skill *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:O?, s:s, s:s?, s:s, s:s}", "id", s->id,
                     "name", s->name ? s->name : "", "description",
                     s->description ? s->description : "",
                     "entry_function", s->entry_function ? s->entry_function : "",
                     "input_schema", s->input_schema, "status", s->status ? s->status : "",
                     "current_version_id", opt(s->current_version_id),
                     "created_at", s->created_at, "updated_at", s->updated_at);
}

static json_t *candidate_json(const struct ad_skill_candidate *c, int full)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:o, s:s?, s:s?, s:s?,"
                          " s:o, s:s}",
                          "id", c->id, "skill_name", c->skill_name ? c->skill_name : "",
                          "skill_description", c->skill_description,
                          "status", ad_candidate_status_name(c->status),
                          "review_status", ad_review_status_name(c->review_status),
                          "agent_id", opt(c->agent_id), "source_episode_id",
                          opt(c->source_episode_id), "fitness_score",
                          num_or_null(c->fitness_score), "reviewed_by", c->reviewed_by,
                          "reviewed_at", opt(c->reviewed_at), "reason", c->reason,
                          "risk_score", num_or_null(c->risk_score), "created_at", c->created_at);

    if (j && full &&
        (json_object_set_new(j, "generated_code",
                             json_string(c->generated_code ? c->generated_code : "")) < 0 ||
         json_object_set(j, "failure_pattern",
                         c->failure_pattern ? c->failure_pattern : json_null()) < 0 ||
         json_object_set(j, "validation_result",
                         c->validation_result ? c->validation_result : json_null()) < 0))
        j = (json_decref(j), NULL);
    return j;
}

static json_t *mutation_json(const struct ad_tool_mutation *m)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:s?}",
                          "id", m->id, "skill", m->tool_name ? m->tool_name : "",
                          "skill_id", opt(m->skill_id), "parent_skill_version_id",
                          opt(m->parent_skill_version_id), "agent_id", opt(m->agent_id),
                          "trigger", m->trigger, "proposer", m->proposer, "operator",
                          m->mutation_operator, "status", ad_mutation_status_name(m->status),
                          "decision", ad_mutation_decision_name(m->decision),
                          "decision_reason", m->decision_reason);
    json_t *more = json_pack("{s:o, s:o, s:O?, s:s?, s:s?, s:s?, s:s?, s:s}", "fitness_delta",
                             num_or_null(m->fitness_delta), "risk_score",
                             num_or_null(m->risk_score), "risk", m->risk, "review_status",
                             ad_review_status_name(m->review_status), "reviewed_by",
                             m->reviewed_by, "reason", m->reason, "promoted_version_id",
                             opt(m->promoted_version_id), "created_at", m->created_at);

    if (!j || !more || json_object_update(j, more) < 0)
        j = (json_decref(j), NULL);
    json_decref(more);
    return j;
}

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

/* Sets *out to {key: arr} (arr stolen), or fails with ENOMEM. */
static int wrap(const char *key, json_t *arr, json_t **out, struct ad_err *err)
{
    *out = arr ? json_pack("{s:o}", key, arr) : NULL;
    return *out ? 0 : oom(err);
}

static int limit_of(const json_t *args, int *limit, struct ad_err *err)
{
    int64_t v = 0;
    int rc = ad_json_get_int(args, "limit", AD_JSON_NULLABLE, 1, 1000, &v, err);

    *limit = rc == 0 && v > 0 ? (int)v : 50;
    return rc;
}

/* The tenant's agent named name (an id works too). */
static int find_agent(const struct ad__mcp_call *c, const char *name, struct ad_agent *a,
                      struct ad_err *err)
{
    int rc = ad_id_valid(name) ? ad_agents_get(c->st, c->tenant_id, name, a, err)
                               : ad_agents_find(c->st, c->tenant_id, name, a, err);

    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, rc, "unknown agent '%s' (autodev agent add %s makes it)", name, name);
    return rc;
}

/* ---- episodes ---------------------------------------------------------------------------- */

static int t_episode_record(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                            struct ad_err *err)
{
    struct ad_episode ep;
    struct ad_agent a = { 0 };
    const char *name = NULL;
    int rc;

    ad_episode_init(&ep);
    rc = ad_episode_from_json(args, &ep, &name, err);
    if (rc == 0)
        rc = find_agent(c, name, &a, err);
    if (rc == 0) {
        memcpy(ep.agent_id, a.id, AD_ID_SIZE);
        memcpy(ep.tenant_id, c->tenant_id, AD_ID_SIZE);
        rc = ad_episode_record(c->st, c->bus, &ep, err);
    }
    if (rc == 0 && !(*out = json_pack("{s:s, s:s, s:s, s:b}", "id", ep.id, "agent_id",
                                      ep.agent_id, "created_at", ep.created_at, "success",
                                      ep.success)))
        rc = oom(err);
    ad_agent_release(&a);
    ad_episode_release(&ep);
    return rc;
}

/* ---- skills and tasks --------------------------------------------------------------------- */

static int t_skill_list(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                        struct ad_err *err)
{
    const char *cursor = json_string_value(json_object_get(args, "cursor"));
    struct ad_skill *v = NULL;
    json_t *arr;
    size_t n = 0;
    int limit, rc = limit_of(args, &limit, err);

    if (rc == 0)
        rc = ad_catalog_list(c->st, c->tenant_id, cursor, limit, &v, &n, err);
    if (rc < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, skill_json(&v[i])) < 0)
            arr = (json_decref(arr), NULL);
    }
    *out = arr ? json_pack("{s:o, s:s?}", "skills", arr, "next_cursor",
                           n == (size_t)limit ? v[n - 1].name : NULL)
               : NULL;
    ad_skill_list_free(v, n);
    return *out ? 0 : oom(err);
}

static int t_skill_search(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                          struct ad_err *err)
{
    const char *q = json_string_value(json_object_get(args, "query"));
    struct ad_skill_hit *hits = NULL;
    json_t *arr;
    size_t n = 0;
    int limit, rc = limit_of(args, &limit, err);

    if (rc == 0 && (!*q || strlen(q) > AD_TASK_DESC_MAX))
        rc = ad_error(err, AD_EINVAL, "query: 1..%d bytes of words", AD_TASK_DESC_MAX);
    if (rc == 0)
        rc = ad_catalog_search(c->st, c->tenant_id, q, limit, &hits, &n, err);
    if (rc < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *j = skill_json(&hits[i].skill);

        if (!j || json_object_set_new(j, "score", json_real(hits[i].score)) < 0 ||
            json_array_append_new(arr, j) < 0)
            arr = (json_decref(arr), NULL);
    }
    ad_skill_hits_free(hits, n);
    return wrap("hits", arr, out, err);
}

static int timeout_of(const json_t *args, struct ad_sandbox_limits *lim, struct ad_err *err)
{
    int64_t secs = 0;
    int rc = ad_json_get_int(args, "timeout_s", AD_JSON_NULLABLE, 1, 86400, &secs, err);

    if (rc == 0 && secs > 0)
        lim->wall_ms = secs * 1000;
    return rc;
}

/* The skill named name at version semver (NULL: its current one). */
static int find_skill(const struct ad__mcp_call *c, const char *name, const char *semver,
                      struct ad_skill *s, struct ad_skill_version *v, struct ad_err *err)
{
    int rc;

    if (semver && !ad_semver_valid(semver))
        return ad_error(err, AD_EINVAL, "invalid version '%s': expected MAJOR.MINOR.PATCH",
                        semver);
    if (!ad_skill_name_valid(name))
        return ad_error(err, AD_ENOTFOUND, "unknown skill '%s'", name);
    rc = ad_catalog_get(c->st, c->tenant_id, name, semver, s, v, err);
    if (rc == AD_ENOTFOUND && !err->msg[0])
        rc = ad_error(err, rc, "unknown skill '%s'", name);
    return rc;
}

static int t_skill_run(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                       struct ad_err *err)
{
    const char *name = json_string_value(json_object_get(args, "skill"));
    const char *semver = json_string_value(json_object_get(args, "version"));
    const json_t *input = json_object_get(args, "input");
    struct ad_sandbox_limits lim = { 0 };
    struct ad_sandbox_result sr;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_sandbox *sb = NULL;
    char xid[AD_ID_SIZE] = "";
    char *error = NULL;
    int rc;

    memset(&sr, 0, sizeof(sr));
    rc = timeout_of(args, &lim, err);
    if (rc == 0)
        rc = find_skill(c, name, semver, &s, &v, err);
    if (rc == 0)
        rc = ad_runtime_sandbox(c->rt, &sb, err);
    if (rc == 0)
        rc = ad_skill_execute(sb, &s, &v, input, &lim, &sr, err);
    if (rc == 0)
        rc = ad_skill_execution_record(c->st, c->bus, &s, &v, NULL, NULL, input, &sr, 0, xid,
                                       err);
    if (rc == 0) {
        error = ad_skill_result_error(&sr);
        *out = json_pack("{s:s, s:s, s:s, s:b, s:O?, s:s?, s:s, s:I}", "skill", s.name,
                         "semver", v.semver, "status", ad_sb_status_name(sr.status),
                         "success", sr.status == AD_SB_OK, "output", sr.output, "error", error,
                         "execution_id", xid, "wall_ms", (json_int_t)sr.wall_ms);
        if (!*out)
            rc = oom(err);
    }
    free(error);
    ad_sandbox_result_clear(&sr);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

static json_t *outcome_json(const struct ad_task_outcome *o, const char *agent)
{
    const struct ad_episode *ep = &o->episode;
    int ran = o->skill_name[0] != '\0';

    return json_pack("{s:b, s:s, s:s, s:s?, s:s?, s:b, s:f, s:s?, s:O?, s:O?, s:s?, s:s?, s:f}",
                     "success", ep->success, "episode_id", ep->id, "agent", agent,
                     "skill", ran ? o->skill_name : NULL, "semver", ran ? o->semver : NULL,
                     "matched", o->match_score > 0, "match_score", o->match_score,
                     "status", opt(o->status), "output", ep->output,
                     "expected", ep->expected, "error", ep->error_trace,
                     "execution_id", opt(o->execution_id),
                     "execution_seconds", ep->execution_seconds);
}

static int t_task_run(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                      struct ad_err *err)
{
    const char *agent = json_string_value(json_object_get(args, "agent"));
    const char *skill = json_string_value(json_object_get(args, "skill"));
    struct ad_sandbox_limits lim = { 0 };
    struct ad_task_outcome o;
    struct ad_agent a = { 0 };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_sandbox *sb = NULL;
    struct ad_task t = {
        .tenant_id = c->tenant_id,
        .description = json_string_value(json_object_get(args, "description")),
        .task_kind = json_string_value(json_object_get(args, "kind")),
        .input = json_object_get(args, "input"),
        .expected = json_object_get(args, "expected"),
        .limits = &lim,
    };
    int rc;

    memset(&o, 0, sizeof(o));
    ad_episode_init(&o.episode);
    rc = timeout_of(args, &lim, err);
    if (rc == 0 && (!*t.description || strlen(t.description) > AD_TASK_DESC_MAX))
        rc = ad_error(err, AD_EINVAL, "description: 1..%d bytes", AD_TASK_DESC_MAX);
    /* An unknown agent or skill is the caller's mistake: answered, nothing recorded. */
    if (rc == 0)
        rc = find_agent(c, agent, &a, err);
    if (rc == 0 && skill)
        rc = find_skill(c, skill, NULL, &s, &v, err);
    if (rc == 0)
        rc = ad_runtime_sandbox(c->rt, &sb, err);
    if (rc == 0) {
        t.agent_id = a.id;
        t.skill = skill ? s.name : NULL;
        rc = ad_task_run(c->st, c->bus, sb, &t, &o, err);
    }
    if (rc == 0 && !(*out = outcome_json(&o, a.name)))
        rc = oom(err);
    ad_task_outcome_release(&o);
    ad_agent_release(&a);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

/* ---- candidates and mutations ---------------------------------------------------------- */

static int t_cand_list(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                       struct ad_err *err)
{
    const char *status = json_string_value(json_object_get(args, "status"));
    const char *agent = json_string_value(json_object_get(args, "agent"));
    struct ad_candidate_filter f = { 0 };
    struct ad_skill_candidate *v = NULL;
    enum ad_candidate_status cs;
    struct ad_agent a = { 0 };
    json_t *arr;
    size_t n = 0;
    int rc = limit_of(args, &f.limit, err);

    if (rc == 0 && status && ad_candidate_status_parse(status, &cs) < 0)
        rc = ad_error(err, AD_EINVAL, "invalid status '%s'", status);
    if (rc == 0 && agent)
        rc = find_agent(c, agent, &a, err);
    f.agent_id = agent ? a.id : NULL;
    f.status_mask = status ? 1u << cs : 0;
    if (rc == 0)
        rc = ad_candidates_list(c->st, c->tenant_id, &f, &v, &n, err);
    ad_agent_release(&a);
    if (rc < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, candidate_json(&v[i], 0)) < 0)
            arr = (json_decref(arr), NULL);
    }
    ad_skill_candidate_list_free(v, n);
    return wrap("candidates", arr, out, err);
}

static int get_candidate(const struct ad__mcp_call *c, const char *id,
                         struct ad_skill_candidate *cand, struct ad_err *err)
{
    int rc = ad_id_valid(id) ? ad_candidates_get(c->st, c->tenant_id, id, cand, err)
                             : AD_ENOTFOUND;

    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, rc, "no candidate '%s'", id);
    return rc;
}

static int t_cand_show(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                       struct ad_err *err)
{
    struct ad_skill_candidate cand;
    int rc;

    ad_skill_candidate_init(&cand);
    rc = get_candidate(c, json_string_value(json_object_get(args, "id")), &cand, err);
    if (rc == 0 && !(*out = candidate_json(&cand, 1)))
        rc = oom(err);
    ad_skill_candidate_release(&cand);
    return rc;
}

static int t_mut_list(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                      struct ad_err *err)
{
    const char *status = json_string_value(json_object_get(args, "status"));
    const char *review = json_string_value(json_object_get(args, "review_status"));
    struct ad_mutation_filter f = { .status = -1, .review_status = -2, .decision = -2 };
    struct ad_tool_mutation *v = NULL;
    enum ad_mutation_status ms;
    enum ad_review_status rs;
    json_t *arr;
    size_t n = 0;
    int rc = limit_of(args, &f.limit, err);

    if (rc == 0 && status && ad_mutation_status_parse(status, &ms) < 0)
        rc = ad_error(err, AD_EINVAL, "invalid status '%s'", status);
    if (rc == 0 && review && ad_review_status_parse(review, &rs) < 0)
        rc = ad_error(err, AD_EINVAL, "invalid review_status '%s'", review);
    if (status)
        f.status = (int)ms;
    if (review)
        f.review_status = (int)rs;
    if (rc == 0)
        rc = ad_mutations_list(c->st, c->tenant_id, &f, &v, &n, err);
    if (rc < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, mutation_json(&v[i])) < 0)
            arr = (json_decref(arr), NULL);
    }
    ad_tool_mutation_list_free(v, n);
    return wrap("mutations", arr, out, err);
}

/* ---- review ------------------------------------------------------------------------------ */

/*
 * The spec's guidance: a person confirms a destructive action. The tool
 * is marked destructive, and without confirm true it changes nothing and
 * says what to do.
 */
static int confirmed(const json_t *args, const char *what, struct ad_err *err)
{
    if (json_is_true(json_object_get(args, "confirm")))
        return 0;
    return ad_error(err, AD_EPERM, "%s needs confirm: true, set only after a person agreed "
                    "(nothing was changed)", what);
}

static int review_done(const char *id, const char *decision, const char *skill,
                       const struct ad_skill_version *v, const char *reviewer,
                       const char *reason, json_t **out, struct ad_err *err)
{
    *out = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?}", "id", id, "decision", decision,
                     "skill", skill ? skill : "", "semver", v ? opt(v->semver) : NULL,
                     "version_id", v ? opt(v->id) : NULL, "reviewed_by", reviewer, "reason",
                     reason);
    return *out ? 0 : oom(err);
}

static int t_cand_approve(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                          struct ad_err *err)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    struct ad_skill_candidate cand;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    int rc = confirmed(args, "candidate_approve", err);

    ad_skill_candidate_init(&cand);
    if (rc == 0)
        rc = get_candidate(c, id, &cand, err);
    if (rc == 0)
        rc = ad_memento_approve(c->st, c->bus, c->tenant_id, cand.id, c->reviewer, &s, &v, err);
    if (rc == 0)
        rc = review_done(cand.id, "approved", s.name, &v, c->reviewer, NULL, out, err);
    ad_skill_candidate_release(&cand);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return rc;
}

static int reason_of(const json_t *args, const char **reason, struct ad_err *err)
{
    int rc = ad_json_get_str(args, "reason", AD_JSON_REQUIRED, AD_REASON_MAX, reason, err);

    if (rc == 0 && !**reason)
        rc = ad_error(err, AD_EINVAL, "field 'reason': a rejection needs a reason");
    return rc;
}

static int t_cand_reject(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                         struct ad_err *err)
{
    const char *id = json_string_value(json_object_get(args, "id")), *reason = NULL;
    struct ad_skill_candidate cand;
    int rc = confirmed(args, "candidate_reject", err);

    ad_skill_candidate_init(&cand);
    if (rc == 0)
        rc = reason_of(args, &reason, err);
    if (rc == 0)
        rc = get_candidate(c, id, &cand, err);
    if (rc == 0)
        rc = ad_memento_reject(c->st, c->bus, c->tenant_id, cand.id, c->reviewer, reason, err);
    if (rc == 0)
        rc = review_done(cand.id, "rejected", cand.skill_name, NULL, c->reviewer, reason, out,
                         err);
    ad_skill_candidate_release(&cand);
    return rc;
}

static int get_mutation(const struct ad__mcp_call *c, const char *id, struct ad_tool_mutation *m,
                        struct ad_err *err)
{
    int rc = ad_id_valid(id) ? ad_mutations_get(c->st, c->tenant_id, id, m, err) : AD_ENOTFOUND;

    if (rc == AD_ENOTFOUND)
        rc = ad_error(err, rc, "no mutation '%s'", id);
    return rc;
}

static int t_mut_approve(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                         struct ad_err *err)
{
    const char *id = json_string_value(json_object_get(args, "id"));
    struct ad_tool_mutation m;
    struct ad_skill_version v = { 0 };
    int rc = confirmed(args, "mutation_approve", err);

    memset(&m, 0, sizeof(m));
    if (rc == 0)
        rc = get_mutation(c, id, &m, err);
    if (rc == 0)
        rc = ad_mutation_approve(c->st, c->bus, c->tenant_id, m.id, c->reviewer, NULL, false,
                                 &v, err);
    if (rc == 0)
        rc = review_done(m.id, "approved", m.tool_name, &v, c->reviewer, NULL, out, err);
    ad_tool_mutation_release(&m);
    ad_skill_version_release(&v);
    return rc;
}

static int t_mut_reject(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                        struct ad_err *err)
{
    const char *id = json_string_value(json_object_get(args, "id")), *reason = NULL;
    struct ad_tool_mutation m;
    int rc = confirmed(args, "mutation_reject", err);

    memset(&m, 0, sizeof(m));
    if (rc == 0)
        rc = reason_of(args, &reason, err);
    if (rc == 0)
        rc = get_mutation(c, id, &m, err);
    if (rc == 0)
        rc = ad_mutation_reject(c->st, c->bus, c->tenant_id, m.id, c->reviewer, reason, err);
    if (rc == 0)
        rc = review_done(m.id, "rejected", m.tool_name, NULL, c->reviewer, reason, out, err);
    ad_tool_mutation_release(&m);
    return rc;
}

/* ---- research: the agent loop's tools ------------------------------------------------------ */

/*
 * Calls the registered agent tool as the loop does: the session's store,
 * bus and tenant, and the tenant's model when one is configured (else
 * the offline mutator edits). A list comes back as {"sessions": [...]}:
 * a structured result is an object.
 */
static int agent_tool_run(const struct ad__mcp_call *c, const char *name, const json_t *args,
                          json_t **out, struct ad_err *err)
{
    const struct ad_agent_tool *t;
    struct ad_llm *llm = NULL;
    void *arg = NULL;
    json_t *r = NULL;
    int rc = ad_agent_tool_find(name, &t, &arg, err);

    if (rc == 0)
        rc = ad_runtime_llm(c->rt, c->tenant_id, NULL, 0, &llm, err);
    if (rc == 0) {
        struct ad_agent_tool_env env = { .st = c->st, .bus = c->bus, .llm = llm,
                                         .tenant_id = c->tenant_id };

        rc = t->fn(arg, &env, args, &r, err);
    }
    ad_llm_free(llm);
    if (rc < 0)
        return rc;
    if (json_is_object(r)) {
        *out = r;
        return 0;
    }
    if (json_is_array(r))
        return wrap("sessions", r, out, err);
    json_decref(r);
    return ad_error(err, AD_EINTERNAL, "tool '%s' gave no object", name);
}

/* ---- advice ------------------------------------------------------------------------------ */

static const char in_advise[] =
    "{'type': 'object', 'properties': {'agent': {'type': 'string', 'description': 'only the "
    "facts of this agent (a name or an id); the ledger and the limits are the whole "
    "tenant'}}, 'additionalProperties': false}";
static const char out_advise[] =
    "{'type': 'object', 'properties': {'agent': " NSTR ", 'generated_at': " STR ", "
    "'facts': {'type': 'array', 'items': {'type': 'object', 'properties': {'kind': " STR
    ", 'subject': " STR ", 'severity': {'enum': ['high', 'warn', 'info']}, 'summary': " STR
    ", 'numbers': {'type': 'object'}, 'command': " NSTR "}, 'required': ['kind', "
    "'severity']}}, 'counts': {'type': 'object', 'properties': {'high': {'type': 'integer'}, "
    "'warn': {'type': 'integer'}, 'info': {'type': 'integer'}}}}, 'required': ['facts', "
    "'counts']}";

/* The advisor's facts (advise.h), as `autodev advise --json` prints them. */
static int t_advise(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                    struct ad_err *err)
{
    const char *agent = json_string_value(json_object_get(args, "agent"));

    return ad_advise(c->st, c->tenant_id, agent, out, err);
}

/* ---- evolution runs ------------------------------------------------------------------------ */

static const char in_evolve[] =
    "{'type': 'object', 'properties': {'run_id': {'type': 'string', 'description': 'one run "
    "(its id, as autodev evolve run printed it); without it, the newest runs'}, 'limit': "
    LIMIT "}, 'additionalProperties': false}";
static const char out_evolve[] =
    "{'type': 'object', 'properties': {'runs': {'type': 'array', 'items': {'type': 'object', "
    "'properties': {'id': " STR ", 'skill': " NSTR ", 'state': " STR ", 'generation': "
    "{'type': 'integer'}, 'generations': {'type': 'integer'}, 'evaluations': {'type': "
    "'integer'}, 'usd': {'type': 'number'}}, 'required': ['id', 'state']}}, 'run': {'type': "
    "'object', 'description': 'the run with its best program: code, fitness, signals'}}}";

/* Evolution research runs (evolve.h): the newest, or one with its best program. */
static int t_evolve_status(const struct ad__mcp_call *c, const json_t *args, json_t **out,
                           struct ad_err *err)
{
    const char *id = json_string_value(json_object_get(args, "run_id"));
    json_t *v = NULL;
    int limit = 0, rc;

    if (id) {
        if (!ad_id_valid(id))
            return ad_error(err, AD_ENOTFOUND, "no evolution run '%s'", id);
        rc = ad_evolve_show(c->st, c->tenant_id, id, &v, err);
        return rc < 0 ? rc : wrap("run", v, out, err);
    }
    rc = limit_of(args, &limit, err);
    if (rc == 0)
        rc = ad_evolve_list(c->st, c->tenant_id, limit > 0 ? limit : 20, &v, err);
    return rc < 0 ? rc : wrap("runs", v, out, err);
}

/* ---- the table --------------------------------------------------------------------------- */

#define R AD__MCP_READONLY
#define D AD__MCP_DESTRUCTIVE
#define I AD__MCP_IDEMPOTENT
#define O AD__MCP_OPENWORLD

static const struct ad__mcp_tool tools[] = {
    { "episode_record", "Record an episode",
      "Record what an agent was asked to do and how it went. Failures teach autodev: "
      "repeated ones become skill candidates for review.",
      in_episode, out_episode, AD__MCP_WORK, 0, NULL, t_episode_record },
    { "skill_list", "List catalog skills", "The tenant's catalog skills by name, a page at a time.",
      in_skill_list, out_skill_list, AD__MCP_READ, R | I, NULL, t_skill_list },
    { "skill_search", "Search skills",
      "Full-text search over the active skills' names and descriptions, best first.",
      in_skill_search, out_skill_search, AD__MCP_READ, R | I, NULL, t_skill_search },
    { "skill_run", "Run a skill",
      "Run a catalog skill in the sandbox on an input (no network, limits on time and "
      "memory); the execution is recorded.",
      in_skill_run, out_skill_run, AD__MCP_WORK, 0, NULL, t_skill_run },
    { "task_run", "Run a task",
      "Run an agent's task with a catalog skill (named, or the best match) in the sandbox "
      "and record the episode, success judged against expected when given.",
      in_task_run, out_task_run, AD__MCP_WORK, 0, NULL, t_task_run },
    { "candidates_list", "List skill candidates",
      "Skills autodev wrote for repeated failures, newest first, with their validation "
      "status and review state.",
      in_cand_list, out_cand_list, AD__MCP_READ, R | I, NULL, t_cand_list },
    { "candidate_show", "Show a candidate",
      "One candidate with its code, the failure pattern it answers and every validation "
      "check.", in_id, out_cand, AD__MCP_READ, R | I, NULL, t_cand_show },
    { "mutations_list", "List mutations",
      "What AlphaEvolver made of existing skills: mutants with their decision, fitness "
      "delta, risk and review state, newest first.",
      in_mut_list, out_mut_list, AD__MCP_READ, R | I, NULL, t_mut_list },
    { "research_setup", "Start an autoresearch session", NULL, NULL, out_research_session,
      AD__MCP_WORK, 0, "research_setup", NULL },
    { "research_edit", "Make the next edit", NULL, NULL, out_research_iteration, AD__MCP_WORK,
      0, "research_edit", NULL },
    { "research_run", "Measure the edit", NULL, NULL, out_research_iteration, AD__MCP_WORK, 0,
      "research_run", NULL },
    { "research_decide", "Keep or revert the edit", NULL, NULL, out_research_iteration,
      AD__MCP_WORK, 0, "research_decide", NULL },
    { "research_finalize", "Write the report", NULL, NULL, out_research_final, AD__MCP_WORK,
      I, "research_finalize", NULL },
    { "research_status", "Research status", NULL, NULL, out_research_status, AD__MCP_READ,
      R | I, "research_status", NULL },
    { "advise", "What needs attention",
      "The advisor's facts, most urgent first: skills that fail often, mutation acceptance, "
      "fitness plateaus, cost per accepted improvement, limits being hit, gates blocking "
      "progress, agents ready or close to graduation; each with its numbers and a command.",
      in_advise, out_advise, AD__MCP_READ, R | I, NULL, t_advise },
    { "evolve_status", "Evolution runs",
      "Evolution research runs (autodev evolve): the newest with their state, generation, "
      "evaluations and cost, or one run with its best program (code, fitness, signals).",
      in_evolve, out_evolve, AD__MCP_READ, R | I, NULL, t_evolve_status },
    { "candidate_approve", "Approve a candidate",
      "Approve a validated candidate: it joins the catalog as a new skill version. Ask the "
      "person first; pass confirm: true only after they agreed.",
      in_approve, out_review, AD__MCP_REVIEW, D, NULL, t_cand_approve },
    { "candidate_reject", "Reject a candidate",
      "Reject a candidate with a reason. Ask the person first; pass confirm: true only "
      "after they agreed.", in_reject, out_review, AD__MCP_REVIEW, D, NULL, t_cand_reject },
    { "mutation_approve", "Approve a mutation",
      "Approve a mutant that won its evaluation: the skill gains a new minor version made "
      "from it. Ask the person first; pass confirm: true only after they agreed.",
      in_approve, out_review, AD__MCP_REVIEW, D, NULL, t_mut_approve },
    { "mutation_reject", "Reject a mutation",
      "Reject a mutant with a reason. Ask the person first; pass confirm: true only after "
      "they agreed.", in_reject, out_review, AD__MCP_REVIEW, D, NULL, t_mut_reject },
};

#undef R
#undef D
#undef I
#undef O

const struct ad__mcp_tool *ad__mcp_tools(size_t *n)
{
    *n = AD_ARRAY_SIZE(tools);
    return tools;
}

const struct ad__mcp_tool *ad__mcp_tool_find(const char *name)
{
    for (size_t i = 0; i < AD_ARRAY_SIZE(tools); i++) {
        if (!strcmp(tools[i].name, name))
            return &tools[i];
    }
    return NULL;
}

json_t *ad__mcp_tool_json(const struct ad__mcp_tool *t, struct ad_err *err)
{
    const struct ad_agent_tool *at = NULL;
    const char *desc = t->description;
    json_t *in, *outs, *j;

    if (!desc && ad_agent_tool_find(t->agent_tool, &at, NULL, err) == 0)
        desc = at->description;
    if (!desc)
        return NULL;
    in = input_schema(t, err);
    outs = in ? schema_load(t->output, err) : NULL;
    if (!in || !outs) {
        json_decref(in);
        return NULL;
    }
    j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:s, s:b, s:b, s:b, s:b}}", "name", t->name,
                  "title", t->title, "description", desc, "inputSchema", in, "outputSchema",
                  outs, "annotations", "title", t->title,
                  "readOnlyHint", (t->hints & AD__MCP_READONLY) != 0,
                  "destructiveHint", (t->hints & AD__MCP_DESTRUCTIVE) != 0,
                  "idempotentHint", (t->hints & AD__MCP_IDEMPOTENT) != 0,
                  "openWorldHint", (t->hints & AD__MCP_OPENWORLD) != 0);
    if (!j)
        oom(err);
    return j;
}

int ad__mcp_tool_check(const struct ad__mcp_tool *t, const json_t *args, struct ad_err *err)
{
    json_t *schema = input_schema(t, err);
    int rc;

    if (!schema)
        return err->code ? err->code : AD_EINTERNAL;
    rc = ad_skill_input_check(schema, args, err);
    json_decref(schema);
    return rc;
}

int ad__mcp_tool_run(const struct ad__mcp_tool *t, const struct ad__mcp_call *c,
                     const json_t *args, json_t **out, struct ad_err *err)
{
    *out = NULL;
    if (t->agent_tool)
        return agent_tool_run(c, t->agent_tool, args, out, err);
    return t->fn(c, args, out, err);
}
