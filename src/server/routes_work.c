/*
 * The routes of the work agents do: health and documents, episodes (one,
 * a JSON-lines batch, list, one), agents, the skill catalog and running
 * skills, tasks. Each handler calls the owning module's API (agent, learn,
 * the catalog) with the caller's tenant, which is its token's.
 *
 * Sections: shared helpers; health, OpenAPI, metrics; episodes; agents;
 * skills; tasks.
 */
#include "compat.h"

#include "autodev/agent.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/log.h"
#include "autodev/runtime.h"
#include "autodev/sandbox.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "server_int.h"

#define BATCH_LINE_MAX ((size_t)1 << 20)     /* a line of a batch, as the CLI allows */
#define BATCH_ERRORS_MAX 100                 /* bad lines reported in one answer */

/* ---- shared helpers ------------------------------------------------------------------ */

json_t *ad__json_agent(const struct ad_agent *a)
{
    const char *m = ad_maturity_name(a->maturity);

    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "id", a->id,
                     "name", a->name ? a->name : "", "maturity", m ? m : "?",
                     "episode_count", (json_int_t)a->episode_count,
                     "success_count", (json_int_t)a->success_count,
                     "failure_count", (json_int_t)a->failure_count,
                     "created_at", a->created_at, "updated_at", a->updated_at);
}

/* The agent named or identified by key; an unknown one is answered 404. */
static int find_agent(struct ad__req *r, struct ad__res *res, const char *key,
                      struct ad_agent *a)
{
    struct ad_err err = AD_ERR_INIT;
    int rc;

    memset(a, 0, sizeof(*a));
    if (ad_id_valid(key))
        rc = ad_agents_get(r->st, r->tok.tenant_id, key, a, &err);
    else if (ad_name_valid(key))
        rc = ad_agents_find(r->st, r->tok.tenant_id, key, a, &err);
    else
        rc = ad_error(&err, AD_ENOTFOUND, "unknown agent '%s'", key);
    if (rc == AD_ENOTFOUND)
        ad_error(&err, rc, "unknown agent '%s'", key);
    if (rc < 0)
        ad__res_err(res, &err);
    return rc;
}

/* The run's wall limit from "timeout_s" (1..86400), into lim. */
static int get_timeout(const json_t *body, struct ad_sandbox_limits *lim, struct ad_err *err)
{
    int64_t secs = 0;
    int rc = ad_json_get_int(body, "timeout_s", AD_JSON_NULLABLE, 1, 86400, &secs, err);

    if (rc == 0 && secs > 0)
        lim->wall_ms = secs * 1000;
    return rc;
}

/* ---- health, OpenAPI, metrics ---------------------------------------------------------- */

int ad__h_health(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    int cur = 0, latest = 0;

    if (ad_runtime_schema_version(r->rt, &cur, &latest, &err) < 0)
        return ad__res_fail(res, 503, "the store does not answer: %s", err.msg);
    return ad__res_json(res, 200, json_pack("{s:s, s:i, s:i}", "status", "ok", "schema", cur,
                                            "schema_latest", latest));
}

/* Who the token is: the web UI shows the role and offers only what it may do. */
int ad__h_me(struct ad__req *r, struct ad__res *res)
{
    return ad__res_json(res, 200, json_pack("{s:s, s:s, s:s}", "name", r->tok.name ? r->tok.name : "",
                                            "role", ad_token_role_name(r->tok.role),
                                            "tenant_id", r->tok.tenant_id));
}

int ad__h_openapi(struct ad__req *r, struct ad__res *res)
{
    (void)r;
    return ad__res_json(res, 200, ad_server_openapi());
}

int ad__h_metrics(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_buf b;

    ad_buf_init(&b, 16u << 20);
    if (ad__metrics_text(ad__server_metrics(r->srv), r, &b, &err) < 0) {
        ad_buf_release(&b);
        return ad__res_err(res, &err);
    }
    res->status = 200;
    res->text = ad_buf_detach(&b, NULL);
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return 0;
}

/* ---- episodes -------------------------------------------------------------------------- */

/*
 * One episode object into ep, its agent resolved in the caller's tenant
 * ("agent" by name, else "agent_id"; an unknown one is AD_ENOTFOUND).
 */
static int episode_of(struct ad__req *r, const json_t *obj, struct ad_episode *ep,
                      struct ad_err *err)
{
    const char *name = NULL;
    struct ad_agent a = { 0 };
    int rc = ad_episode_from_json(obj, ep, &name, err);

    if (rc < 0)
        return rc;
    if (name) {
        rc = ad_agents_find(r->st, r->tok.tenant_id, name, &a, err);
        if (rc == AD_ENOTFOUND)
            rc = ad_error(err, rc, "unknown agent '%s'", name);
        if (rc == 0)
            memcpy(ep->agent_id, a.id, AD_ID_SIZE);
        ad_agent_release(&a);
    } else if (!ep->agent_id[0]) {
        rc = ad_error(err, AD_EINVAL, "missing field 'agent' (or 'agent_id')");
    }
    memcpy(ep->tenant_id, r->tok.tenant_id, AD_ID_SIZE);
    return rc;
}

int ad__h_episode_add(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    json_t *obj = NULL;
    int rc;

    ad_episode_init(&ep);
    if (ad__body_object(r, res, 0, &obj) < 0)
        return 0;
    rc = episode_of(r, obj, &ep, &err);
    if (rc == 0)
        rc = ad_episode_record(r->st, r->bus, &ep, &err);
    if (rc < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 201, json_pack("{s:s, s:s, s:s, s:b}", "id", ep.id, "agent_id",
                                         ep.agent_id, "created_at", ep.created_at, "success",
                                         ep.success));
    ad_episode_release(&ep);
    json_decref(obj);
    return 0;
}

/* Calls fn on each non-blank line of the body (1-based numbers); stops at its error. */
typedef int line_fn(struct ad__req *r, int64_t lineno, const char *p, size_t len, void *arg);

static int each_line(struct ad__req *r, line_fn *fn, void *arg)
{
    const char *p = r->body.ptr, *end = r->body.ptr + r->body.len;
    int64_t lineno = 0;
    int rc = 0;

    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t i = 0;

        lineno++;
        while (i < len && strchr(" \t\r", p[i]))
            i++;
        if (i < len)
            rc = fn(r, lineno, p, len, arg);
        p += len + (nl ? 1 : 0);
    }
    return rc;
}

struct batch_check {
    json_t *errors;            /* [{"line", "message"}], at most BATCH_ERRORS_MAX */
    int64_t bad, good;
};

static int parse_line(struct ad__req *r, const char *p, size_t len, struct ad_episode *ep,
                      struct ad_err *err)
{
    json_t *obj = NULL;
    int rc;

    if (len > BATCH_LINE_MAX)
        return ad_error(err, AD_ETOOBIG, "line longer than 1 MiB");
    rc = ad_json_parse(p, len, BATCH_LINE_MAX, &obj, err);
    if (rc == 0 && !json_is_object(obj))
        rc = ad_error(err, AD_EINVAL, "expected a JSON object");
    if (rc == 0)
        rc = episode_of(r, obj, ep, err);
    json_decref(obj);
    return rc;
}

/* The first pass: every line parsed and its agent found, each bad one noted. */
static int check_line(struct ad__req *r, int64_t lineno, const char *p, size_t len, void *arg)
{
    struct batch_check *c = arg;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    struct ad_episode ep;
    int rc;

    ad_episode_init(&ep);
    rc = parse_line(r, p, len, &ep, &err);
    /* An agent given by id must be the tenant's too, or the second pass would fail. */
    if (rc == 0 && ad_agents_get(r->st, r->tok.tenant_id, ep.agent_id, &a, &err) < 0)
        rc = err.code == AD_ENOTFOUND ? ad_error(&err, AD_ENOTFOUND, "unknown agent id '%s'",
                                                 ep.agent_id) : err.code;
    ad_agent_release(&a);
    ad_episode_release(&ep);
    if (rc == 0) {
        c->good++;
        return 0;
    }
    /* A store that fails is no bad line: the request fails as a whole. */
    if (rc != AD_EINVAL && rc != AD_ETOOBIG && rc != AD_ENOTFOUND)
        return rc;
    c->bad++;
    if (json_array_size(c->errors) < BATCH_ERRORS_MAX)
        json_array_append_new(c->errors, json_pack("{s:I, s:s, s:s}", "line", (json_int_t)lineno,
                                                   "code", ad__status_word(ad__status_of(rc)),
                                                   "message", err.msg));
    return 0;
}

/* The second pass: every line recorded, in the one open transaction of the batch. */
static int record_line(struct ad__req *r, int64_t lineno, const char *p, size_t len, void *arg)
{
    struct ad_episode_batch *b = arg;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    int rc;

    ad_episode_init(&ep);
    rc = parse_line(r, p, len, &ep, &err);
    if (rc == 0)
        rc = ad_episode_batch_add(b, &ep, &err);
    if (rc < 0)
        AD_LOG(AD_LOG_WARN, "episode batch: line %" PRId64 ": %s", lineno, err.msg);
    ad_episode_release(&ep);
    return rc;
}

/*
 * All or none: the lines are checked first and, when any is bad, every bad
 * line is reported (as 'autodev episode add --batch' reports its first)
 * and nothing is recorded; else all of them are recorded in one
 * transaction, so a failure half-way leaves none behind either.
 */
int ad__h_episode_batch(struct ad__req *r, struct ad__res *res)
{
    struct batch_check c = { 0 };
    struct ad_episode_batch b;
    struct ad_err err = AD_ERR_INIT;
    int rc;

    c.errors = json_array();
    if (!c.errors)
        return ad__res_fail(res, 500, "out of memory");
    rc = each_line(r, check_line, &c);
    if (rc < 0) {
        json_decref(c.errors);
        return ad__res_fail(res, ad__status_of(rc), "episodes not recorded: %s",
                            ad_strerror(rc));
    }
    if (c.bad > 0) {
        json_t *first = json_array_get(c.errors, 0);

        ad__res_fail(res, 422, "%" PRId64 " of %" PRId64 " lines are invalid, nothing was "
                     "recorded; line %" PRId64 ": %s", c.bad, c.bad + c.good,
                     (int64_t)json_integer_value(json_object_get(first, "line")),
                     json_string_value(json_object_get(first, "message")));
        json_object_set_new(json_object_get(res->json, "error"), "lines", c.errors);
        return 0;
    }
    json_decref(c.errors);
    ad_episode_batch_init(&b, r->st, r->bus, c.good > 0 ? c.good : 1);
    rc = each_line(r, record_line, &b);
    if (rc == 0)
        rc = ad_episode_batch_flush(&b, &err);
    else
        ad_episode_batch_abort(&b);
    if (rc < 0)
        return ad__res_fail(res, ad__status_of(rc), "episodes not recorded: %s",
                            err.msg[0] ? err.msg : ad_strerror(rc));
    return ad__res_json(res, 200, json_pack("{s:I, s:I}", "recorded", (json_int_t)b.committed,
                                            "lines", (json_int_t)c.good));
}

int ad__h_episode_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode *v = NULL;
    struct ad_agent a = { 0 };
    struct ad__page pg;
    const char *agent = ad__query(r, "agent"), *success = ad__query(r, "success");
    json_t *items;
    size_t n = 0;

    if (ad__page_parse(r, res, AD__KEY_ID, &pg) < 0)
        return 0;
    if (success && strcmp(success, "true") && strcmp(success, "false"))
        return ad__res_fail(res, 400, "invalid success '%s': expected true or false", success);
    if (agent && find_agent(r, res, agent, &a) < 0)
        return 0;
    f.agent_id = agent ? a.id : NULL;
    f.success = success ? !strcmp(success, "true") : -1;
    f.task_kind = ad__query(r, "kind");
    f.before_id = pg.cursor;
    f.limit = ad__page_fetch(&pg);
    if (ad_episodes_list(r->st, r->tok.tenant_id, &f, &v, &n, &err) < 0) {
        ad_agent_release(&a);
        return ad__res_err(res, &err);
    }
    items = json_array();
    for (size_t i = 0; items && i < ad__page_len(&pg, n); i++) {
        if (json_array_append_new(items, ad_episode_to_json(&v[i])) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, n > (size_t)pg.limit ? v[pg.limit - 1].id : NULL);
    ad_episode_list_free(v, n);
    ad_agent_release(&a);
    return 0;
}

int ad__h_episode_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    const char *id = r->param[0];

    if (!ad_id_valid(id))
        return ad__res_fail(res, 404, "unknown episode '%s'", id);
    ad_episode_init(&ep);
    if (ad_episodes_get(r->st, r->tok.tenant_id, id, &ep, &err) < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, ad_episode_to_json(&ep));
    ad_episode_release(&ep);
    return 0;
}

/* ---- agents ---------------------------------------------------------------------------- */

int ad__h_agent_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent *v = NULL;
    struct ad__page pg;
    json_t *items;
    size_t n = 0;

    if (ad__page_parse(r, res, AD__KEY_NAME, &pg) < 0)
        return 0;
    if (ad_agents_list(r->st, r->tok.tenant_id, pg.cursor, ad__page_fetch(&pg), &v, &n,
                       &err) < 0)
        return ad__res_err(res, &err);
    items = json_array();
    for (size_t i = 0; items && i < ad__page_len(&pg, n); i++) {
        if (json_array_append_new(items, ad__json_agent(&v[i])) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, n > (size_t)pg.limit ? v[pg.limit - 1].name : NULL);
    ad_agent_list_free(v, n);
    return 0;
}

int ad__h_agent_add(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "name", "maturity", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    enum ad_maturity m = AD_STUDENT;
    const char *name = NULL, *maturity = NULL;
    json_t *body = NULL;
    int rc;

    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "name", AD_JSON_REQUIRED, AD_NAME_MAX, &name, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "maturity", AD_JSON_NULLABLE, 32, &maturity, &err);
    if (rc == 0 && maturity && ad_maturity_parse(maturity, &m) < 0)
        rc = ad_error(&err, AD_EINVAL, "invalid maturity '%s': expected STUDENT, INTERN, "
                      "SUPERVISED or AUTONOMOUS", maturity);
    if (rc == 0)
        rc = ad_agents_add(r->st, r->tok.tenant_id, name, m, &a, &err);
    if (rc < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 201, ad__json_agent(&a));
    ad_agent_release(&a);
    json_decref(body);
    return 0;
}

int ad__h_agent_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_agent a;

    if (find_agent(r, res, r->param[0], &a) < 0)
        return 0;
    ad__res_json(res, 200, ad__json_agent(&a));
    ad_agent_release(&a);
    return 0;
}

int ad__h_agent_readiness(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_readiness rd;
    struct ad_agent a;

    if (find_agent(r, res, r->param[0], &a) < 0)
        return 0;
    memset(&rd, 0, sizeof(rd));
    if (ad_readiness_compute(r->st, r->tok.tenant_id, a.id, &rd, &err) < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, ad_readiness_json(&rd));
    ad_agent_release(&a);
    return 0;
}

/* "gap; gap" of the criteria not met. */
static void join_gaps(const struct ad_readiness *rd, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int i = 0; i < 3 && off < size; i++) {
        if (!rd->items[i].met)
            off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "; " : "",
                                    rd->items[i].gap);
    }
}

int ad__h_agent_graduate(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_readiness rd;
    struct ad_agent a;
    char gaps[512];
    int rc;

    if (find_agent(r, res, r->param[0], &a) < 0)
        return 0;
    memset(&rd, 0, sizeof(rd));
    rc = ad_agent_graduate(r->st, r->bus, r->tok.tenant_id, a.id, &rd, &err);
    if (rc == AD_ESTATE && rd.at_top) {
        ad__res_fail(res, 409, "agent %s is already %s, the top level", a.name,
                     ad_maturity_name(rd.current));
    } else if (rc == AD_ESTATE) {
        join_gaps(&rd, gaps, sizeof(gaps));
        ad__res_fail(res, 409, "agent %s is not ready for %s: %s", a.name,
                     ad_maturity_name(rd.next), gaps);
    } else if (rc < 0) {
        ad__res_err(res, &err);
    } else {
        ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:f, s:o}", "agent", a.name,
                                         "from", ad_maturity_name(rd.current),
                                         "to", ad_maturity_name(rd.next), "readiness", rd.score,
                                         "criteria", ad_readiness_json(&rd)));
    }
    ad_agent_release(&a);
    return 0;
}

/* ---- skills ------------------------------------------------------------------------------ */

static json_t *skill_json(const struct ad_skill *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:O?, s:s, s:s?, s:s, s:s}", "id", s->id,
                     "name", s->name ? s->name : "", "description",
                     s->description ? s->description : "",
                     "entry_function", s->entry_function ? s->entry_function : "",
                     "input_schema", s->input_schema, "status", s->status ? s->status : "",
                     "current_version_id",
                     s->current_version_id[0] ? s->current_version_id : NULL,
                     "created_at", s->created_at, "updated_at", s->updated_at);
}

static json_t *version_json(const struct ad_skill_version *v, int current, int with_code)
{
    const char *origin = ad_skill_origin_name(v->origin);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:b, s:s}", "id", v->id,
                          "semver", v->semver, "origin", origin ? origin : "?",
                          "origin_id", v->origin_id, "parent_version_id",
                          v->parent_version_id[0] ? v->parent_version_id : NULL,
                          "current", current, "created_at", v->created_at);

    if (j && with_code && json_object_set_new(j, "code", json_string(v->code ? v->code : "")))
        j = (json_decref(j), NULL);
    return j;
}

/*
 * The skill named or identified by key, with version semver (NULL: its
 * current one); an unknown one is answered 404.
 */
static int find_skill(struct ad__req *r, struct ad__res *res, const char *key,
                      const char *semver, struct ad_skill *s, struct ad_skill_version *v)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill byid = { 0 };
    int rc = 0;

    memset(s, 0, sizeof(*s));
    memset(v, 0, sizeof(*v));
    if (semver && !ad_semver_valid(semver))
        return ad__res_fail(res, 400, "invalid version '%s': expected MAJOR.MINOR.PATCH", semver),
               AD_EINVAL;
    if (ad_id_valid(key)) {
        rc = ad_catalog_skill_get(r->st, r->tok.tenant_id, key, &byid, &err);
        key = byid.name;
    } else if (!ad_skill_name_valid(key)) {
        rc = ad_error(&err, AD_ENOTFOUND, "unknown skill '%s'", key);
    }
    if (rc == 0)
        rc = ad_catalog_get(r->st, r->tok.tenant_id, key, semver, s, v, &err);
    if (rc == AD_ENOTFOUND && !err.msg[0])
        ad_error(&err, rc, "unknown skill '%s'", key);
    if (rc < 0)
        ad__res_err(res, &err);
    ad_skill_release(&byid);
    return rc;
}

int ad__h_skill_list(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill *v = NULL;
    struct ad__page pg;
    json_t *items;
    size_t n = 0;

    if (ad__page_parse(r, res, AD__KEY_NAME, &pg) < 0)
        return 0;
    if (ad_catalog_list(r->st, r->tok.tenant_id, pg.cursor, ad__page_fetch(&pg), &v, &n,
                        &err) < 0)
        return ad__res_err(res, &err);
    items = json_array();
    for (size_t i = 0; items && i < ad__page_len(&pg, n); i++) {
        if (json_array_append_new(items, skill_json(&v[i])) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, n > (size_t)pg.limit ? v[pg.limit - 1].name : NULL);
    ad_skill_list_free(v, n);
    return 0;
}

int ad__h_skill_search(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_hit *hits = NULL;
    const char *q = ad__query(r, "q");
    struct ad__page pg;
    json_t *items;
    size_t n = 0;

    if (!q || !*q)
        return ad__res_fail(res, 400, "search needs q=TEXT");
    if (strlen(q) > AD_TASK_DESC_MAX)
        return ad__res_fail(res, 400, "q longer than %d bytes", AD_TASK_DESC_MAX);
    if (ad__page_parse(r, res, AD__KEY_NAME, &pg) < 0)
        return 0;
    if (ad_catalog_search(r->st, r->tok.tenant_id, q, pg.limit, &hits, &n, &err) < 0)
        return ad__res_err(res, &err);
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        json_t *j = skill_json(&hits[i].skill);

        if (!j || json_object_set_new(j, "score", json_real(hits[i].score)) < 0 ||
            json_array_append_new(items, j) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, NULL);
    ad_skill_hits_free(hits, n);
    return 0;
}

int ad__h_skill_get(struct ad__req *r, struct ad__res *res)
{
    struct ad_skill s;
    struct ad_skill_version v;
    json_t *j;

    if (find_skill(r, res, r->param[0], ad__query(r, "version"), &s, &v) < 0)
        return 0;
    j = skill_json(&s);
    if (j && json_object_set_new(j, "version", version_json(&v, !strcmp(v.id,
                                                                     s.current_version_id), 1)))
        j = (json_decref(j), NULL);
    ad__res_json(res, 200, j);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return 0;
}

int ad__h_skill_versions(struct ad__req *r, struct ad__res *res)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_version *vs = NULL, v;
    struct ad_skill s;
    json_t *items;
    size_t n = 0;

    if (find_skill(r, res, r->param[0], NULL, &s, &v) < 0)
        return 0;
    if (ad_catalog_versions(r->st, r->tok.tenant_id, s.id, &vs, &n, &err) < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, version_json(&vs[i], !strcmp(vs[i].id,
                                                                     s.current_version_id),
                                                      0)) < 0) {
            json_decref(items);
            items = NULL;
        }
    }
    ad__res_page(res, items, NULL, NULL);
out:
    ad_skill_version_list_free(vs, n);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    return 0;
}

/* Runs v of s in the sandbox and records the execution, with no agent and no episode. */
static int run_direct(struct ad__req *r, struct ad__res *res, struct ad_sandbox *sb,
                      const struct ad_skill *s, const struct ad_skill_version *v,
                      const json_t *input, const struct ad_sandbox_limits *lim)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_result sr;
    char xid[AD_ID_SIZE] = "";
    char *error = NULL;
    int rc;

    memset(&sr, 0, sizeof(sr));
    rc = ad_skill_execute(sb, s, v, input, lim, &sr, &err);
    if (rc == 0)
        rc = ad_skill_execution_record(r->st, r->bus, s, v, NULL, NULL, input, &sr, 0, xid, &err);
    if (rc < 0) {
        ad__res_err(res, &err);
    } else {
        error = ad_skill_result_error(&sr);
        ad__res_json(res, 200, json_pack("{s:s, s:s, s:s, s:b, s:O?, s:s?, s:s, s:n, s:I}",
                                         "skill", s->name, "semver", v->semver,
                                         "status", ad_sb_status_name(sr.status),
                                         "success", sr.status == AD_SB_OK,
                                         "output", sr.output, "error", error,
                                         "execution_id", xid, "episode_id",
                                         "wall_ms", (json_int_t)sr.wall_ms));
    }
    free(error);
    ad_sandbox_result_clear(&sr);
    return 0;
}

/* The outcome of a task as JSON (as 'autodev task run --json' prints it). */
static json_t *outcome_json(const struct ad_task_outcome *o, const char *agent)
{
    const struct ad_episode *ep = &o->episode;
    int ran = o->skill_name[0] != '\0';

    return json_pack("{s:b, s:s, s:s, s:s?, s:s?, s:b, s:f, s:s?, s:O?, s:O?, s:s?, s:s?, s:f}",
                     "success", ep->success, "episode_id", ep->id, "agent", agent,
                     "skill", ran ? o->skill_name : NULL, "semver", ran ? o->semver : NULL,
                     "matched", o->match_score > 0, "match_score", o->match_score,
                     "status", o->status[0] ? o->status : NULL, "output", ep->output,
                     "expected", ep->expected, "error", ep->error_trace,
                     "execution_id", o->execution_id[0] ? o->execution_id : NULL,
                     "execution_seconds", ep->execution_seconds);
}

static int run_task(struct ad__req *r, struct ad__res *res, const struct ad_task *t,
                    const char *agent_name)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_task_outcome o;
    struct ad_sandbox *sb = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    ad_episode_init(&o.episode);
    rc = ad_runtime_sandbox(r->rt, &sb, &err);
    if (rc == 0)
        rc = ad_task_run(r->st, r->bus, sb, t, &o, &err);
    if (rc < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, outcome_json(&o, agent_name));
    ad_task_outcome_release(&o);
    return 0;
}

int ad__h_skill_run(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "input", "version", "agent", "timeout_s", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_limits lim = { 0 };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_agent a = { 0 };
    struct ad_sandbox *sb = NULL;
    const char *semver = NULL, *agent = NULL;
    json_t *body = NULL, *input = NULL;
    int rc;

    if (ad__body_object(r, res, 1, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "version", AD_JSON_NULLABLE, AD_SEMVER_SIZE, &semver, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "agent", AD_JSON_NULLABLE, AD_ID_SIZE + AD_NAME_MAX, &agent,
                             &err);
    if (rc == 0)
        rc = ad_json_get_value(body, "input", 0, 0, AD_JSON_FIELD_MAX, &input, &err);
    if (rc == 0)
        rc = get_timeout(body, &lim, &err);
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    /* A wrong agent, name or version is answered before any sandbox starts. */
    if ((agent && find_agent(r, res, agent, &a) < 0) ||
        find_skill(r, res, r->param[0], semver, &s, &v) < 0)
        goto out;
    if (agent) {
        char desc[AD_NAME_MAX + 16], kind[AD_NAME_MAX + 16];
        struct ad_task t = {
            .tenant_id = r->tok.tenant_id, .agent_id = a.id, .description = desc,
            .task_kind = kind, .skill = s.name, .semver = semver, .input = input,
            .limits = &lim,
        };

        snprintf(desc, sizeof(desc), "run skill %s", s.name);
        snprintf(kind, sizeof(kind), "skill.%s", s.name);
        run_task(r, res, &t, a.name);
    } else if (ad_runtime_sandbox(r->rt, &sb, &err) < 0) {
        ad__res_err(res, &err);
    } else {
        run_direct(r, res, sb, &s, &v, input, &lim);
    }
out:
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    ad_agent_release(&a);
    json_decref(body);
    return 0;
}

int ad__h_skill_rollback(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "version", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    const char *semver = NULL;
    json_t *body = NULL;
    int rc;

    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "version", AD_JSON_REQUIRED, AD_SEMVER_SIZE, &semver, &err);
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    if (find_skill(r, res, r->param[0], semver, &s, &v) < 0)
        goto out;
    if (ad_catalog_rollback(r->st, r->tok.tenant_id, s.name, semver, &err) < 0)
        ad__res_err(res, &err);
    else
        ad__res_json(res, 200, json_pack("{s:s, s:s, s:s}", "skill", s.name, "current", semver,
                                         "current_version_id", v.id));
out:
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    json_decref(body);
    return 0;
}

/* ---- tasks ----------------------------------------------------------------------------- */

int ad__h_task_run(struct ad__req *r, struct ad__res *res)
{
    static const char *const keys[] = { "agent", "description", "skill", "input", "expected",
                                        "kind", "timeout_s", NULL };
    struct ad_err err = AD_ERR_INIT;
    struct ad_sandbox_limits lim = { 0 };
    struct ad_agent a = { 0 };
    struct ad_skill s = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_task t = { 0 };
    const char *agent = NULL, *skill = NULL;
    json_t *body = NULL;
    int rc;

    if (ad__body_object(r, res, 0, &body) < 0)
        return 0;
    rc = ad_json_check_keys(body, keys, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "agent", AD_JSON_REQUIRED, AD_ID_SIZE + AD_NAME_MAX, &agent,
                             &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "description", AD_JSON_REQUIRED, AD_TASK_DESC_MAX,
                             &t.description, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "skill", AD_JSON_NULLABLE, AD_NAME_MAX, &skill, &err);
    if (rc == 0)
        rc = ad_json_get_str(body, "kind", AD_JSON_NULLABLE, AD_TASK_KIND_MAX, &t.task_kind,
                             &err);
    if (rc == 0)
        rc = ad_json_get_value(body, "input", 0, 0, AD_JSON_FIELD_MAX, (json_t **)&t.input,
                               &err);
    if (rc == 0)
        rc = ad_json_get_value(body, "expected", 0, 0, AD_JSON_FIELD_MAX,
                               (json_t **)&t.expected, &err);
    if (rc == 0)
        rc = get_timeout(body, &lim, &err);
    if (rc == 0 && !*t.description)
        rc = ad_error(&err, AD_EINVAL, "field 'description': expected a non-empty string");
    if (rc < 0) {
        ad__res_err(res, &err);
        goto out;
    }
    /* An unknown agent or skill is the caller's mistake: answered, nothing recorded. */
    if (find_agent(r, res, agent, &a) < 0 ||
        (skill && find_skill(r, res, skill, NULL, &s, &v) < 0))
        goto out;
    t.tenant_id = r->tok.tenant_id;
    t.agent_id = a.id;
    t.skill = skill ? s.name : NULL;
    t.limits = &lim;
    run_task(r, res, &t, a.name);
out:
    ad_skill_release(&s);
    ad_skill_version_release(&v);
    ad_agent_release(&a);
    json_decref(body);
    return 0;
}
