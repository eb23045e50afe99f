/*
 * The conformance suite (store_suite.h): what reflection reads and keeps.
 * The error type the store derives for each episode, the brief view of an
 * agent's recent failures, and the failure patterns: insert, get, update,
 * list with its filters and limit, tenant isolation, and the refusals,
 * each naming its field and writing nothing.
 */
#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>

#include "autodev/clock.h"
#include "autodev/store.h"
#include "autodev/text.h"

#include "store/store_backend.h"
#include "store_suite.h"

/* Inserts a failed (or successful) episode of agent with trace; its id goes to id. */
static int add_episode(struct fx *f, const char *tenant, const char *agent, bool success,
                       const char *task, const char *trace, const char *type,
                       char id[AD_ID_SIZE], struct ad_err *err)
{
    struct ad_episode ep;
    int rc;

    ad_episode_init(&ep);
    ad__copy_fixed(ep.tenant_id, sizeof(ep.tenant_id), tenant);
    ad__copy_fixed(ep.agent_id, sizeof(ep.agent_id), agent);
    ep.task_description = (char *)task;
    ep.success = success;
    ep.error_trace = (char *)trace;
    ep.error_type = (char *)type;
    rc = ad_store_episode_insert(f->st, &ep, err);
    /* The derived type goes to the row only: the caller's struct keeps what it set. */
    assert_ptr_equal(ep.error_type, type);
    if (id)
        ad__copy_fixed(id, AD_ID_SIZE, ep.id);
    return rc;
}

static void failure(struct fx *f, const char *agent, const char *task, const char *trace,
                    char id[AD_ID_SIZE])
{
    struct ad_err err = AD_ERR_INIT;

    if (add_episode(f, f->tenant, agent, false, task, trace, NULL, id, &err))
        fail_msg("episode insert: %s", err.msg);
}

/* ---- error types -------------------------------------------------------- */

static void expect_type(struct fx *f, const char *id, const char *type)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode got;

    assert_int_equal(ad_store_episode_get(f->st, f->tenant, id, &got, &err), 0);
    if (type)
        assert_string_equal(got.error_type, type);
    else
        assert_null(got.error_type);
    ad_episode_release(&got);
}

static void test_error_type_derived(void **state)
{
    static const char *const traces[] = {
        "Traceback (most recent call last):\n  File \"run.py\", line 2, in run\n"
        "ValueError: invalid literal for int()\n",
        "json.decoder.JSONDecodeError: Expecting value",
        "it did not work",
        "",
    };
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_filter flt = AD_EPISODE_FILTER_INIT;
    struct ad_episode *v = NULL;
    char id[AD_ID_SIZE], type[AD_ERROR_TYPE_MAX + 1];
    size_t i, n = 0;

    for (i = 0; i < AD_ARRAY_SIZE(traces); i++) {
        failure(f, f->agent, "parse the number", traces[i], id);
        expect_type(f, id, ad_text_error_type(traces[i], type) ? type : NULL);
    }
    failure(f, f->agent, "parse the number", NULL, id);
    expect_type(f, id, NULL);
    /* A type the caller sets is kept, whatever the trace says. */
    assert_int_equal(add_episode(f, f->tenant, f->agent, false, "t", "ValueError: x",
                                 "sandbox.Timeout", id, &err), 0);
    expect_type(f, id, "sandbox.Timeout");
    /* Lists read it too. */
    assert_int_equal(ad_store_episode_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, AD_ARRAY_SIZE(traces) + 2);
    assert_string_equal(v[0].error_type, "sandbox.Timeout");
    assert_null(v[1].error_type);
    assert_string_equal(v[n - 1].error_type, "ValueError");
    ad_episode_list_free(v, n);
}

static void test_error_type_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    char big[AD_ERROR_TYPE_MAX + 2];
    int64_t count = -1;

    assert_int_equal(add_episode(f, f->tenant, f->agent, false, "t", NULL, "not a type", NULL,
                                 &err), AD_EINVAL);
    assert_msg_has(&err, "error_type");
    assert_int_equal(add_episode(f, f->tenant, f->agent, false, "t", NULL, "a..b", NULL, &err),
                     AD_EINVAL);
    assert_int_equal(add_episode(f, f->tenant, f->agent, false, "t", NULL, "", NULL, &err),
                     AD_EINVAL);
    memset(big, 'E', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(add_episode(f, f->tenant, f->agent, false, "t", NULL, big, NULL, &err),
                     AD_ETOOBIG);
    assert_msg_has(&err, "error_type");
    big[AD_ERROR_TYPE_MAX] = '\0';
    assert_int_equal(add_episode(f, f->tenant, f->agent, false, "t", NULL, big, NULL, &err), 0);
    assert_int_equal(ad_store_episode_count(f->st, f->tenant, NULL, &count, &err), 0);
    assert_int_equal(count, 1);
}

/* The JSON form shows the derived type and refuses one sent in. */
static void test_error_type_json(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode ep;
    json_t *o, *back;

    (void)state;
    o = json_pack("{s:s, s:s, s:b, s:s}", "agent", "bot", "task_description", "t", "success", 0,
                  "error_type", "ValueError");
    assert_int_equal(ad_episode_from_json(o, &ep, NULL, &err), AD_EINVAL);
    assert_msg_has(&err, "error_type");
    assert_int_equal(json_object_del(o, "error_type"), 0);
    assert_int_equal(ad_episode_from_json(o, &ep, NULL, &err), 0);
    back = ad_episode_to_json(&ep);
    assert_true(json_is_null(json_object_get(back, "error_type")));
    json_decref(back);
    ep.error_type = strdup("KeyError");
    back = ad_episode_to_json(&ep);
    assert_string_equal(json_string_value(json_object_get(back, "error_type")), "KeyError");
    json_decref(back);
    ad_episode_release(&ep);
    json_decref(o);
}

/* ---- recent failures ---------------------------------------------------- */

/* The window with every description read. */
static int recent(struct ad_store *st, const char *tenant, const char *agent, const char *since,
                  int limit, struct ad_episode_brief **v, size_t *n, struct ad_err *err)
{
    return ad_store_episode_recent_failures(st, tenant, agent, since, limit, false, NULL, v, n,
                                            err);
}

static void test_recent_failures(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_brief *v = NULL;
    char ids[6][AD_ID_SIZE], other_agent[AD_ID_SIZE], past[AD_TIME_SIZE], sql[256];
    size_t n = 0;
    struct ad_agent a = { 0 };

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"bot2";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    ad__copy_fixed(other_agent, sizeof(other_agent), a.id);
    failure(f, f->agent, "sum the column", "KeyError: 'total'", ids[0]);
    assert_int_equal(add_episode(f, f->tenant, f->agent, true, "sum it", NULL, NULL, ids[1],
                                 &err), 0);
    failure(f, other_agent, "not mine", "ValueError: x", ids[2]);
    failure(f, f->agent, "parse the date", "the model gave up", ids[3]);
    failure(f, f->agent, "parse the date again", "ValueError: month 13", ids[4]);

    /* The agent's failures only, newest first, with their brief fields. */
    assert_int_equal(recent(f->st, f->tenant, f->agent, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, ids[4]);
    assert_string_equal(v[0].task_description, "parse the date again");
    assert_string_equal(v[0].error_type, "ValueError");
    assert_int_equal(strlen(v[0].created_at), AD_TIME_SIZE - 1);
    assert_string_equal(v[1].id, ids[3]);
    assert_null(v[1].error_type);
    assert_string_equal(v[2].id, ids[0]);
    assert_string_equal(v[2].error_type, "KeyError");
    ad_episode_brief_list_free(v, n);

    /* The limit keeps the newest. */
    assert_int_equal(recent(f->st, f->tenant, f->agent, NULL, 2, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].id, ids[3]);
    ad_episode_brief_list_free(v, n);

    /* since is on created_at: two days back, the oldest failure is out of a one-day window. */
    ad_time_iso(ad_now_ms() - 2 * 24 * 3600 * 1000LL, past);
    snprintf(sql, sizeof(sql), "UPDATE episodes SET created_at = '%s' WHERE id = '%s'", past,
             ids[0]);
    sql_exec(f, sql);
    ad_time_iso(ad_now_ms() - 24 * 3600 * 1000LL, past);
    assert_int_equal(recent(f->st, f->tenant, f->agent, past, 0, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[1].id, ids[3]);
    ad_episode_brief_list_free(v, n);
    assert_int_equal(recent(f->st, f->tenant, f->agent, "2999-01-01T00:00:00Z", 0, &v, &n, &err),
                     0);
    assert_int_equal(n, 0);
    assert_null(v);

    /* Another tenant sees none of them; bad arguments are refused. */
    assert_int_equal(recent(f->st, f->other, f->agent, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(recent(f->st, f->tenant, "bot", NULL, 0, &v, &n, &err), AD_EINVAL);
    assert_msg_has(&err, "agent id");
    assert_int_equal(recent(f->st, f->tenant, f->agent, "yesterday", 0, &v, &n, &err), AD_EINVAL);
    assert_int_equal(recent(f->st, f->tenant, f->agent, NULL, -1, &v, &n, &err), AD_EINVAL);
    assert_int_equal(recent(f->st, "acme", f->agent, NULL, 0, &v, &n, &err), AD_EINVAL);

    /* By type: every failure of the window, the descriptions of that type's only. */
    assert_int_equal(ad_store_episode_recent_failures(f->st, f->tenant, f->agent, NULL, 0, true,
                                                      "ValueError", &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].task_description, "parse the date again");
    assert_null(v[1].task_description);
    assert_string_equal(v[1].id, ids[3]);
    assert_null(v[2].task_description);
    assert_string_equal(v[2].error_type, "KeyError");
    ad_episode_brief_list_free(v, n);
    /* NULL: the failures of no type. */
    assert_int_equal(ad_store_episode_recent_failures(f->st, f->tenant, f->agent, NULL, 0, true,
                                                      NULL, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_null(v[0].task_description);
    assert_string_equal(v[1].task_description, "parse the date");
    assert_null(v[2].task_description);
    ad_episode_brief_list_free(v, n);
    assert_int_equal(ad_store_episode_recent_failures(f->st, f->tenant, f->agent, NULL, 0, true,
                                                      "Bad\xff", &v, &n, &err), AD_EINVAL);
}

/* ---- failure patterns --------------------------------------------------- */

static void test_pattern_status_names(void **state)
{
    static const char *const names[] = { "open", "candidate", "closed" };
    enum ad_pattern_status s;
    size_t i;

    (void)state;
    for (i = 0; i < AD_ARRAY_SIZE(names); i++) {
        assert_string_equal(ad_pattern_status_name((enum ad_pattern_status)i), names[i]);
        assert_int_equal(ad_pattern_status_parse(names[i], &s), 0);
        assert_int_equal(s, (int)i);
    }
    assert_int_equal(ad_pattern_status_parse("CLOSED", &s), 0);
    assert_int_equal(s, AD_PATTERN_CLOSED);
    assert_null(ad_pattern_status_name((enum ad_pattern_status)3));
    assert_null(ad_pattern_status_name((enum ad_pattern_status)-1));
    assert_int_equal(ad_pattern_status_parse("pending", &s), AD_EINVAL);
    assert_int_equal(ad_pattern_status_parse(NULL, &s), AD_EINVAL);
}

/* A pattern of tenant's agent as a caller fills it; the members are new (release them). */
static void fill_pattern(struct ad_failure_pattern *p, const char *tenant, const char *agent,
                         const char *task, const char *episode)
{
    memset(p, 0, sizeof(*p));
    ad__copy_fixed(p->tenant_id, sizeof(p->tenant_id), tenant);
    ad__copy_fixed(p->agent_id, sizeof(p->agent_id), agent);
    p->task = strdup(task);
    p->status = AD_PATTERN_OPEN;
    p->episode_ids = episode ? json_pack("[s]", episode) : json_array();
}

static void add_pattern(struct fx *f, const char *tenant, const char *agent, const char *task,
                        enum ad_pattern_status status, char id[AD_ID_SIZE])
{
    struct ad_failure_pattern p;
    struct ad_err err = AD_ERR_INIT;

    fill_pattern(&p, tenant, agent, task, NULL);
    p.status = status;
    if (ad_store_pattern_insert(f->st, &p, &err))
        fail_msg("pattern insert: %s", err.msg);
    if (id)
        ad__copy_fixed(id, AD_ID_SIZE, p.id);
    ad_failure_pattern_release(&p);
    usleep(2000);   /* apart in updated_at, so the list's order is the insert order */
}

/* A candidate of tenant; its id goes to id. */
static void add_candidate(struct fx *f, const char *tenant, char id[AD_ID_SIZE])
{
    struct ad_skill_candidate c;
    struct ad_err err = AD_ERR_INIT;

    ad_skill_candidate_init(&c);
    ad__copy_fixed(c.tenant_id, sizeof(c.tenant_id), tenant);
    c.skill_name = (char *)"parse_dates";
    c.generated_code = (char *)"def run(x):\n    return x\n";
    if (ad_store_candidate_insert(f->st, &c, 0, &err))
        fail_msg("candidate insert: %s", err.msg);
    ad__copy_fixed(id, AD_ID_SIZE, c.id);
}

static void test_pattern_round_trip(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_failure_pattern p, got;
    char e1[AD_ID_SIZE], e2[AD_ID_SIZE], cand[AD_ID_SIZE], job[AD_ID_SIZE];

    failure(f, f->agent, "parse the date", "ValueError: month 13", e1);
    failure(f, f->agent, "parse a date", "ValueError: day 32", e2);
    add_candidate(f, f->tenant, cand);
    ad_id_new(job);

    fill_pattern(&p, f->tenant, f->agent, "parse the date", e1);
    p.error_type = strdup("ValueError");
    assert_int_equal(ad_store_pattern_insert(f->st, &p, &err), 0);
    assert_true(ad_id_valid(p.id));
    assert_int_equal(strlen(p.created_at), AD_TIME_SIZE - 1);
    assert_string_equal(p.created_at, p.updated_at);

    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, p.id, &got, &err), 0);
    assert_string_equal(got.id, p.id);
    assert_string_equal(got.tenant_id, f->tenant);
    assert_string_equal(got.agent_id, f->agent);
    assert_string_equal(got.task, "parse the date");
    assert_string_equal(got.error_type, "ValueError");
    assert_int_equal(got.status, AD_PATTERN_OPEN);
    assert_string_equal(got.job_id, "");
    assert_string_equal(got.candidate_id, "");
    assert_true(json_equal(got.episode_ids, p.episode_ids));
    assert_null(got.outcome);
    assert_string_equal(got.created_at, p.created_at);
    assert_string_equal(got.updated_at, p.updated_at);
    ad_failure_pattern_release(&got);

    /* An update writes status, job, candidate, episodes and outcome, and moves updated_at. */
    usleep(2000);
    assert_int_equal(json_array_append_new(p.episode_ids, json_string(e2)), 0);
    p.status = AD_PATTERN_CANDIDATE;
    ad__copy_fixed(p.job_id, sizeof(p.job_id), job);
    ad__copy_fixed(p.candidate_id, sizeof(p.candidate_id), cand);
    p.outcome = json_pack("{s:s}", "why", "candidate validated");
    free(p.task);
    p.task = strdup("not written by an update");
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), 0);
    assert_true(strcmp(p.updated_at, p.created_at) > 0);
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, p.id, &got, &err), 0);
    assert_int_equal(got.status, AD_PATTERN_CANDIDATE);
    assert_string_equal(got.job_id, job);
    assert_string_equal(got.candidate_id, cand);
    assert_int_equal(json_array_size(got.episode_ids), 2);
    assert_string_equal(json_string_value(json_array_get(got.episode_ids, 1)), e2);
    assert_string_equal(json_string_value(json_object_get(got.outcome, "why")),
                        "candidate validated");
    assert_string_equal(got.task, "parse the date");
    assert_string_equal(got.error_type, "ValueError");
    assert_string_equal(got.created_at, p.created_at);
    assert_string_equal(got.updated_at, p.updated_at);
    ad_failure_pattern_release(&got);

    /* Clearing: "" and NULL write NULL. */
    p.job_id[0] = p.candidate_id[0] = '\0';
    json_decref(p.outcome);
    p.outcome = NULL;
    p.status = AD_PATTERN_CLOSED;
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), 0);
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, p.id, &got, &err), 0);
    assert_int_equal(got.status, AD_PATTERN_CLOSED);
    assert_string_equal(got.job_id, "");
    assert_string_equal(got.candidate_id, "");
    assert_null(got.outcome);
    ad_failure_pattern_release(&got);

    /* Unknown ids are not found, for reading or writing. */
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, e1, &got, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown failure pattern");
    ad__copy_fixed(p.id, sizeof(p.id), e1);
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown failure pattern");
    ad_failure_pattern_release(&p);
}

static void test_pattern_list(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_pattern_filter flt = { NULL, 0, 0 };
    struct ad_failure_pattern *v = NULL, p;
    char agent2[AD_ID_SIZE], ids[5][AD_ID_SIZE];
    size_t n = 0, i;
    struct ad_agent a = { 0 };

    ad__copy_fixed(a.tenant_id, sizeof(a.tenant_id), f->tenant);
    a.name = (char *)"bot2";
    assert_int_equal(ad_store_agent_insert(f->st, &a, &err), 0);
    ad__copy_fixed(agent2, sizeof(agent2), a.id);
    add_pattern(f, f->tenant, f->agent, "p0", AD_PATTERN_OPEN, ids[0]);
    add_pattern(f, f->tenant, agent2, "p1", AD_PATTERN_CANDIDATE, ids[1]);
    add_pattern(f, f->tenant, f->agent, "p2", AD_PATTERN_CLOSED, ids[2]);
    add_pattern(f, f->tenant, f->agent, "p3", AD_PATTERN_OPEN, ids[3]);
    add_pattern(f, f->other, f->other_agent, "theirs", AD_PATTERN_OPEN, ids[4]);

    /* Most recently updated first. */
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    for (i = 0; i < n; i++)
        assert_string_equal(v[i].id, ids[3 - i]);
    assert_non_null(v[0].episode_ids);
    ad_failure_pattern_list_free(v, n);

    /* An update moves a pattern to the front. */
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, ids[0], &p, &err), 0);
    p.status = AD_PATTERN_CANDIDATE;
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), 0);
    ad_failure_pattern_release(&p);
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(v[0].id, ids[0]);
    assert_string_equal(v[1].id, ids[3]);
    ad_failure_pattern_list_free(v, n);

    /* By agent, by status, both, and the limit. */
    flt.agent_id = f->agent;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++)
        assert_string_equal(v[i].agent_id, f->agent);
    ad_failure_pattern_list_free(v, n);
    flt.agent_id = NULL;
    flt.status_mask = 1u << AD_PATTERN_CANDIDATE;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, ids[0]);
    assert_string_equal(v[1].id, ids[1]);
    ad_failure_pattern_list_free(v, n);
    flt.agent_id = f->agent;
    flt.status_mask = (1u << AD_PATTERN_OPEN) | (1u << AD_PATTERN_CLOSED);
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, ids[3]);
    assert_string_equal(v[1].id, ids[2]);
    ad_failure_pattern_list_free(v, n);
    flt.limit = 1;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[3]);
    ad_failure_pattern_list_free(v, n);

    /* Every status at once is no filter; a bit past the statuses is refused. */
    flt.agent_id = NULL;
    flt.status_mask = (1u << 3) - 1;
    flt.limit = 0;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    ad_failure_pattern_list_free(v, n);
    flt.status_mask = 1u << 3;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    assert_msg_has(&err, "status mask");
    flt.status_mask = 0;
    flt.limit = -1;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    flt.limit = 0;
    flt.agent_id = "bot";
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
    assert_msg_has(&err, "agent id");
}

/* By error type (a type, or none), and the light form a lookup reads. */
static void test_pattern_list_by_type(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_pattern_filter flt = { NULL, 0, 0 };
    struct ad_failure_pattern *v = NULL, p;
    char key[AD_ID_SIZE], none[AD_ID_SIZE];
    size_t n = 0;

    fill_pattern(&p, f->tenant, f->agent, "parse the invoice",
                 "01900000-0000-7000-8000-0000000000aa");
    p.error_type = strdup("KeyError");
    p.outcome = json_pack("{s:s}", "status", "rejected");
    assert_int_equal(ad_store_pattern_insert(f->st, &p, &err), 0);
    ad__copy_fixed(key, sizeof(key), p.id);
    ad_failure_pattern_release(&p);
    add_pattern(f, f->tenant, f->agent, "no type at all", AD_PATTERN_OPEN, none);

    flt.by_error_type = true;
    flt.error_type = "KeyError";
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, key);
    assert_int_equal(json_array_size(v[0].episode_ids), 1);
    assert_string_equal(json_string_value(json_object_get(v[0].outcome, "status")), "rejected");
    ad_failure_pattern_list_free(v, n);
    /* Light: the row without its JSON members. */
    flt.light = true;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].task, "parse the invoice");
    assert_string_equal(v[0].error_type, "KeyError");
    assert_null(v[0].episode_ids);
    assert_null(v[0].outcome);
    ad_failure_pattern_list_free(v, n);
    /* NULL: the patterns of no type. */
    flt.error_type = NULL;
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, none);
    assert_null(v[0].error_type);
    ad_failure_pattern_list_free(v, n);
    flt.error_type = "ValueError";
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_failure_pattern_list_free(v, n);
    /* A type that is not text is refused before any query. */
    flt.error_type = "bad\xff";
    assert_int_equal(ad_store_pattern_list(f->st, f->tenant, &flt, &v, &n, &err), AD_EINVAL);
}

static void test_pattern_tenant_isolation(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_pattern_filter flt = { NULL, 0, 0 };
    struct ad_failure_pattern p, *v = NULL;
    char id[AD_ID_SIZE];
    size_t n = 9;

    add_pattern(f, f->tenant, f->agent, "mine", AD_PATTERN_OPEN, id);
    assert_int_equal(ad_store_pattern_get(f->st, f->other, id, &p, &err), AD_ENOTFOUND);
    assert_int_equal(ad_store_pattern_list(f->st, f->other, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    flt.agent_id = f->agent;
    assert_int_equal(ad_store_pattern_list(f->st, f->other, &flt, &v, &n, &err), 0);
    assert_int_equal(n, 0);

    /* The other tenant cannot write it either; it stays as it was. */
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, id, &p, &err), 0);
    ad__copy_fixed(p.tenant_id, sizeof(p.tenant_id), f->other);
    p.status = AD_PATTERN_CLOSED;
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), AD_ENOTFOUND);
    ad_failure_pattern_release(&p);
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, id, &p, &err), 0);
    assert_int_equal(p.status, AD_PATTERN_OPEN);
    ad_failure_pattern_release(&p);
}

/* Inserts p expecting code, with the message naming what; nothing is written. */
static void expect_refused(struct fx *f, struct ad_failure_pattern *p, int code,
                           const char *what)
{
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_store_pattern_insert(f->st, p, &err), code);
    assert_msg_has(&err, what);
    assert_string_equal(p->id, "");
    assert_string_equal(p->created_at, "");
    assert_int_equal(sql_int(f, "SELECT count(*) FROM failure_patterns"), 0);
    ad_failure_pattern_release(p);
    fill_pattern(p, f->tenant, f->agent, "parse the date", NULL);
}

static void test_pattern_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_failure_pattern p;
    char other_cand[AD_ID_SIZE], *big = malloc(AD_JSON_FIELD_MAX + 1);

    assert_non_null(big);
    memset(big, 't', AD_JSON_FIELD_MAX);
    big[AD_TASK_DESC_MAX + 1] = '\0';
    add_candidate(f, f->other, other_cand);
    fill_pattern(&p, f->tenant, f->agent, "parse the date", NULL);

    free(p.task);
    p.task = NULL;
    expect_refused(f, &p, AD_EINVAL, "task");
    free(p.task);
    p.task = strdup("");
    expect_refused(f, &p, AD_EINVAL, "task");
    free(p.task);
    p.task = strdup(big);
    expect_refused(f, &p, AD_ETOOBIG, "task");
    free(p.task);
    p.task = strdup("bad \xff utf-8");
    expect_refused(f, &p, AD_EINVAL, "UTF-8");
    p.error_type = strdup("Value Error");
    expect_refused(f, &p, AD_EINVAL, "error_type");
    p.status = (enum ad_pattern_status)3;
    expect_refused(f, &p, AD_EINVAL, "status");
    ad__copy_fixed(p.job_id, sizeof(p.job_id), "job-1");
    expect_refused(f, &p, AD_EINVAL, "job id");
    ad__copy_fixed(p.candidate_id, sizeof(p.candidate_id), "cand-1");
    expect_refused(f, &p, AD_EINVAL, "candidate id");
    ad__copy_fixed(p.agent_id, sizeof(p.agent_id), "bot");
    expect_refused(f, &p, AD_EINVAL, "agent id");
    ad__copy_fixed(p.tenant_id, sizeof(p.tenant_id), "acme");
    expect_refused(f, &p, AD_EINVAL, "tenant id");

    json_decref(p.episode_ids);
    p.episode_ids = NULL;
    expect_refused(f, &p, AD_EINVAL, "episode_ids");
    json_decref(p.episode_ids);
    p.episode_ids = json_object();
    expect_refused(f, &p, AD_EINVAL, "episode_ids");
    json_decref(p.episode_ids);
    p.episode_ids = json_pack("[s, i]", f->agent, 7);
    expect_refused(f, &p, AD_EINVAL, "episode_ids");
    json_decref(p.episode_ids);
    p.episode_ids = json_pack("[s]", "ep-1");
    expect_refused(f, &p, AD_EINVAL, "episode_ids");
    p.outcome = json_array();
    expect_refused(f, &p, AD_EINVAL, "outcome");
    big[AD_TASK_DESC_MAX + 1] = 't';
    big[AD_JSON_FIELD_MAX] = '\0';
    p.outcome = json_pack("{s:s}", "why", big);
    expect_refused(f, &p, AD_ETOOBIG, "outcome");

    /* References that are not the tenant's, and a tenant that is no tenant. */
    ad__copy_fixed(p.agent_id, sizeof(p.agent_id), f->other_agent);
    expect_refused(f, &p, AD_ENOTFOUND, "unknown agent");
    ad__copy_fixed(p.candidate_id, sizeof(p.candidate_id), other_cand);
    expect_refused(f, &p, AD_ENOTFOUND, "unknown skill candidate");
    ad__copy_fixed(p.tenant_id, sizeof(p.tenant_id), f->agent);
    expect_refused(f, &p, AD_ENOTFOUND, "unknown");
    ad_failure_pattern_release(&p);
    free(big);
}

/* An update checks what it writes: the candidate must be the tenant's too. */
static void test_pattern_update_refusals(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_failure_pattern p, got;
    char id[AD_ID_SIZE], other_cand[AD_ID_SIZE], saved[AD_TIME_SIZE];

    add_pattern(f, f->tenant, f->agent, "mine", AD_PATTERN_OPEN, id);
    add_candidate(f, f->other, other_cand);
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, id, &p, &err), 0);
    memcpy(saved, p.updated_at, AD_TIME_SIZE);
    ad__copy_fixed(p.candidate_id, sizeof(p.candidate_id), other_cand);
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), AD_ENOTFOUND);
    assert_msg_has(&err, "unknown skill candidate");
    assert_string_equal(p.updated_at, saved);
    p.candidate_id[0] = '\0';
    json_decref(p.episode_ids);
    p.episode_ids = json_string("x");
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), AD_EINVAL);
    assert_msg_has(&err, "episode_ids");
    json_decref(p.episode_ids);
    p.episode_ids = json_array();
    p.status = (enum ad_pattern_status)-1;
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), AD_EINVAL);
    assert_msg_has(&err, "status");
    ad__copy_fixed(p.id, sizeof(p.id), "nope");
    p.status = AD_PATTERN_CLOSED;
    assert_int_equal(ad_store_pattern_update(f->st, &p, &err), AD_EINVAL);
    assert_msg_has(&err, "pattern id");
    ad_failure_pattern_release(&p);
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, id, &got, &err), 0);
    assert_int_equal(got.status, AD_PATTERN_OPEN);
    assert_string_equal(got.candidate_id, "");
    assert_string_equal(got.updated_at, saved);
    ad_failure_pattern_release(&got);
    assert_int_equal(ad_store_pattern_get(f->st, f->tenant, "nope", &got, &err), AD_EINVAL);
}

static void test_pattern_readonly(void **state)
{
    struct fx *f = *state;
    struct ad_store *ro = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_failure_pattern p;
    struct ad_episode_brief *v = NULL;
    size_t n = 9;

    assert_int_equal(suite_open(f, AD_STORE_READONLY, 0, &ro, &err), 0);
    fill_pattern(&p, f->tenant, f->agent, "t", NULL);
    assert_int_equal(ad_store_pattern_insert(ro, &p, &err), AD_EPERM);
    assert_int_equal(recent(ro, f->tenant, f->agent, NULL, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    ad_failure_pattern_release(&p);
    ad_store_free(ro);
}

/* ---- the group ---------------------------------------------------------- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup_agents, fx_teardown)
const struct CMUnitTest suite_patterns[] = {
    T(test_error_type_derived),
    T(test_error_type_refusals),
    cmocka_unit_test(test_error_type_json),
    T(test_recent_failures),
    cmocka_unit_test(test_pattern_status_names),
    T(test_pattern_round_trip),
    T(test_pattern_list),
    T(test_pattern_list_by_type),
    T(test_pattern_tenant_isolation),
    T(test_pattern_refusals),
    T(test_pattern_update_refusals),
    T(test_pattern_readonly),
};
#undef T

const size_t suite_npatterns = AD_ARRAY_SIZE(suite_patterns);
