#include "compat.h"

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/log.h"
#include "autodev/store.h"

#include "tmpdb.h"

/* ---- fixtures -------------------------------------------------------- */

/* A fresh database in a temp dir, with one tenant. */
struct fx {
    struct tmpdb db;
    struct ad_store *st;
    char tenant[AD_ID_SIZE];
    struct ad_bus *bus;
};

static int fx_setup(void **state)
{
    struct ad_store_options opts = { .flags = AD_STORE_CREATE };
    struct ad_err err = AD_ERR_INIT;
    struct fx *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    tmpdb_make(&fx->db, "bus");
    assert_int_equal(ad_store_open(fx->db.path, &opts, &fx->st, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(fx->st, "acme", fx->tenant, &err), 0);
    assert_int_equal(ad_bus_new(fx->st, &fx->bus, &err), 0);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;

    ad_bus_free(fx->bus);
    ad_store_free(fx->st);
    tmpdb_remove(&fx->db);
    free(fx);
    return 0;
}

/* Captured warnings, so tests can check what a failure logs. */
static char last_log[1024];
static int log_count;

static void capture_sink(void *ctx, enum ad_log_level level, const char *file, int line,
                         const char *msg)
{
    snprintf(last_log, sizeof(last_log), "%s", msg);
    log_count++;
}

static void capture_logs(void)
{
    last_log[0] = '\0';
    log_count = 0;
    ad_log_set_sink(capture_sink, NULL);
}

/* ---- handlers --------------------------------------------------------- */

/* Records the order of calls: each handler appends its tag. */
struct trace {
    char calls[64];
    size_t n;
    int64_t seq[16];
    char id[16][AD_ID_SIZE];
    char topic[16][AD_TOPIC_MAX + 1];
};

struct tagged {
    struct trace *t;
    char tag;
};

static int h_record(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct tagged *tg = ctx;
    struct trace *t = tg->t;

    if (t->n < 16) {
        t->seq[t->n] = ev->seq;
        snprintf(t->id[t->n], AD_ID_SIZE, "%s", ev->id);
        snprintf(t->topic[t->n], sizeof(t->topic[0]), "%s", ev->topic);
    }
    if (t->n + 1 < sizeof(t->calls))
        t->calls[t->n++] = tg->tag;
    return 0;
}

static int h_fail(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct tagged *tg = ctx;

    if (tg && tg->t->n + 1 < sizeof(tg->t->calls))
        tg->t->calls[tg->t->n++] = tg->tag;
    return ad_error(err, AD_EIO, "boom");
}

/* Inserts an agent named by ctx, then succeeds. */
struct agent_writer {
    struct fx *fx;
    const char *name;
    bool fail;
};

static int h_insert_agent(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct agent_writer *w = ctx;
    struct ad_agent a = { 0 };
    int rc;

    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", ev->tenant_id);
    a.name = (char *)w->name;
    a.maturity = AD_STUDENT;
    rc = ad_store_agent_insert(w->fx->st, &a, err);
    if (rc < 0)
        return rc;
    return w->fail ? ad_error(err, AD_EIO, "failed after writing '%s'", w->name) : 0;
}

static bool agent_exists(struct fx *fx, const char *name)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    int rc = ad_store_agent_get_by_name(fx->st, fx->tenant, name, &a, &err);

    ad_agent_release(&a);
    assert_true(rc == 0 || rc == AD_ENOTFOUND);
    return rc == 0;
}

static int64_t last_seq(struct fx *fx)
{
    struct ad_err err = AD_ERR_INIT;
    int64_t seq = -1;

    assert_int_equal(ad_store_event_last_seq(fx->st, fx->tenant, &seq, &err), 0);
    return seq;
}

/* ---- topics ------------------------------------------------------------ */

static void test_topic_valid(void **state)
{
    static const struct {
        const char *topic;
        int valid;
    } cases[] = {
        { "task.fail", 1 },
        { "a", 1 },
        { "skill.execution", 1 },
        { "x_y-z.0.9", 1 },
        { "0123456789012345678901234567890123456789012345678901234567890123", 1 },
        { "01234567890123456789012345678901234567890123456789012345678901234", 0 },
        { "", 0 },
        { NULL, 0 },
        { "*", 0 },
        { "Task.fail", 0 },
        { "task fail", 0 },
        { "task/fail", 0 },
        { "tâche", 0 },
        { "task.fail\n", 0 },
    };

    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        if (ad_bus_topic_valid(cases[i].topic) != cases[i].valid)
            fail_msg("topic '%s': expected %d", cases[i].topic ? cases[i].topic : "(null)",
                     cases[i].valid);
    }
}

static void test_subscribe_and_emit_reject_bad_input(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_bus *bus = NULL;
    json_t *obj = json_object(), *arr = json_array();

    assert_int_equal(ad_bus_new(NULL, &bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "Bad", "h", h_fail, NULL, &err), AD_EINVAL);
    assert_string_equal(err.msg, "invalid topic 'Bad'");
    assert_int_equal(ad_bus_subscribe(bus, "ok", "h", NULL, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_bus_subscribe(bus, "*", "h", h_fail, NULL, &err), 0);
    assert_int_equal(ad_bus_emit(bus, "t", "*", obj, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_bus_emit(bus, "t", "a b", obj, NULL, &err), AD_EINVAL);
    assert_int_equal(ad_bus_emit(bus, "t", "ok", arr, NULL, &err), AD_EINVAL);
    assert_string_equal(err.msg, "payload of topic 'ok' must be an object");
    assert_int_equal(ad_bus_emit(bus, "t", "ok", NULL, NULL, &err), AD_EINVAL);

    struct ad_bus_stats stats;
    ad_bus_get_stats(bus, &stats);
    assert_int_equal(stats.emitted, 0);
    assert_int_equal(stats.delivered, 0);
    ad_bus_free(bus);
    json_decref(obj);
    json_decref(arr);
}

/* ---- dispatch without a store ------------------------------------------ */

static void test_dispatch_order_and_wildcard(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct trace t = { 0 };
    struct tagged a = { &t, 'a' }, b = { &t, 'b' }, c = { &t, 'c' }, d = { &t, 'd' };
    struct ad_bus *bus = NULL;
    json_t *p = json_pack("{s:i}", "n", 1);
    int64_t seq = -1;

    assert_int_equal(ad_bus_new(NULL, &bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "x.y", "a", h_record, &a, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "*", "b", h_record, &b, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "x.y", "c", h_record, &c, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "x.yz", "d", h_record, &d, &err), 0);

    assert_int_equal(ad_bus_emit(bus, "t1", "x.y", p, &seq, &err), 0);
    assert_string_equal(t.calls, "abc");
    assert_int_equal(seq, 0);
    assert_int_equal(t.seq[0], 0);
    assert_string_equal(t.id[0], "");

    assert_int_equal(ad_bus_emit(bus, "t1", "x.yz", p, NULL, &err), 0);
    assert_string_equal(t.calls, "abcbd");
    /* A prefix of a subscribed topic is another topic. */
    assert_int_equal(ad_bus_emit(bus, "t1", "x", p, NULL, &err), 0);
    assert_string_equal(t.calls, "abcbdb");

    struct ad_bus_stats stats;
    ad_bus_get_stats(bus, &stats);
    assert_int_equal(stats.emitted, 3);
    assert_int_equal(stats.delivered, 6);
    assert_int_equal(stats.handler_failures, 0);
    ad_bus_free(bus);
    json_decref(p);
}

/* A subscription's predicate: only tenant "t2" is wanted. */
static int want_t2(void *ctx, const char *tenant_id, const char *topic)
{
    (void)ctx;
    (void)topic;
    return strcmp(tenant_id, "t2") == 0;
}

static void test_want_predicate_skips_handler(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct trace t = { 0 };
    struct tagged a = { &t, 'a' }, w = { &t, 'w' };
    struct ad_bus *bus = NULL;
    json_t *p = json_pack("{s:i}", "n", 1);

    (void)state;
    assert_int_equal(ad_bus_new(NULL, &bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "x.y", "a", h_record, &a, &err), 0);
    assert_int_equal(ad_bus_subscribe_when(bus, "*", "w", h_record, want_t2, &w, &err), 0);
    assert_int_equal(ad_bus_emit(bus, "t1", "x.y", p, NULL, &err), 0);
    assert_string_equal(t.calls, "a");
    assert_int_equal(ad_bus_emit(bus, "t2", "x.y", p, NULL, &err), 0);
    assert_string_equal(t.calls, "aaw");
    ad_bus_free(bus);
    json_decref(p);
}

static void test_failing_handler_does_not_stop_others(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct trace t = { 0 };
    struct tagged a = { &t, 'a' }, f = { &t, 'f' }, c = { &t, 'c' };
    struct ad_bus *bus = NULL;
    json_t *p = json_object();
    struct ad_bus_stats stats;

    capture_logs();
    assert_int_equal(ad_bus_new(NULL, &bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "job.done", "first", h_record, &a, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "job.done", "flaky", h_fail, &f, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "*", "last", h_record, &c, &err), 0);

    assert_int_equal(ad_bus_emit(bus, "t1", "job.done", p, NULL, &err), 0);
    assert_string_equal(t.calls, "afc");
    assert_int_equal(log_count, 1);
    assert_string_equal(last_log, "bus: handler 'flaky' failed on topic 'job.done': boom");
    assert_int_equal(ad_bus_emit(bus, "t1", "job.done", p, NULL, &err), 0);

    ad_bus_get_stats(bus, &stats);
    assert_int_equal(stats.emitted, 2);
    assert_int_equal(stats.delivered, 6);
    assert_int_equal(stats.handler_failures, 2);
    ad_log_set_sink(NULL, NULL);
    ad_bus_free(bus);
    json_decref(p);
}

/* A handler that subscribes during dispatch: the new one sees the next event only. */
struct resub {
    struct ad_bus *bus;
    struct tagged *late;
    int done;
};

static int h_subscribe_more(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct resub *r = ctx;

    if (r->done)
        return 0;
    r->done = 1;
    /* Enough subscriptions to move the array. */
    for (int i = 0; i < 20; i++) {
        int rc = ad_bus_subscribe(r->bus, ev->topic, "late", h_record, r->late, err);

        if (rc < 0)
            return rc;
    }
    return 0;
}

static void test_subscribe_during_dispatch(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct trace t = { 0 };
    struct tagged late = { &t, 'l' }, a = { &t, 'a' };
    struct ad_bus *bus = NULL;
    struct resub r = { 0 };
    json_t *p = json_object();

    assert_int_equal(ad_bus_new(NULL, &bus, &err), 0);
    r.bus = bus;
    r.late = &late;
    assert_int_equal(ad_bus_subscribe(bus, "e", "grow", h_subscribe_more, &r, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "e", "a", h_record, &a, &err), 0);
    assert_int_equal(ad_bus_emit(bus, "t1", "e", p, NULL, &err), 0);
    assert_string_equal(t.calls, "a");
    assert_int_equal(ad_bus_emit(bus, "t1", "e", p, NULL, &err), 0);
    assert_string_equal(t.calls, "aallllllllllllllllllll");
    ad_bus_free(bus);
    json_decref(p);
}

/* ---- the durable outbox ------------------------------------------------- */

static void test_store_appends_with_increasing_seq(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct trace t = { 0 };
    struct tagged a = { &t, 'a' };
    struct ad_event *evs = NULL;
    size_t n = 0;
    int64_t seq[3];

    assert_int_equal(ad_bus_subscribe(fx->bus, "*", "a", h_record, &a, &err), 0);
    for (int i = 0; i < 3; i++) {
        json_t *p = json_pack("{s:i}", "i", i);

        assert_int_equal(ad_bus_emit(fx->bus, fx->tenant, i == 1 ? "b.two" : "a.one", p,
                                     &seq[i], &err), 0);
        json_decref(p);
    }
    assert_true(seq[0] > 0);
    assert_true(seq[1] > seq[0]);
    assert_true(seq[2] > seq[1]);
    assert_int_equal(last_seq(fx), seq[2]);

    assert_int_equal(ad_store_event_list(fx->st, fx->tenant, 0, NULL, 10, &evs, &n, &err), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        /* The handler saw the stored event's seq and id. */
        assert_int_equal(evs[i].seq, seq[i]);
        assert_int_equal(t.seq[i], seq[i]);
        assert_string_equal(t.id[i], evs[i].id);
        assert_string_equal(evs[i].topic, i == 1 ? "b.two" : "a.one");
        assert_int_equal(json_integer_value(json_object_get(evs[i].payload, "i")), (int)i);
    }
    ad_event_list_free(evs, n);
    assert_int_equal(ad_store_tx_depth(fx->st), 0);
}

static void test_failed_handler_writes_rolled_back(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct agent_writer good = { fx, "kept", false };
    struct agent_writer bad = { fx, "dropped", true };
    struct agent_writer after = { fx, "after", false };
    struct ad_bus_stats stats;
    json_t *p = json_object();

    capture_logs();
    assert_int_equal(ad_bus_subscribe(fx->bus, "agent.seen", "good", h_insert_agent, &good,
                                      &err), 0);
    assert_int_equal(ad_bus_subscribe(fx->bus, "agent.seen", "bad", h_insert_agent, &bad,
                                      &err), 0);
    assert_int_equal(ad_bus_subscribe(fx->bus, "*", "after", h_insert_agent, &after, &err), 0);
    assert_int_equal(ad_bus_emit(fx->bus, fx->tenant, "agent.seen", p, NULL, &err), 0);

    assert_true(agent_exists(fx, "kept"));
    assert_false(agent_exists(fx, "dropped"));
    assert_true(agent_exists(fx, "after"));
    assert_true(last_seq(fx) > 0);
    assert_string_equal(last_log,
                        "bus: handler 'bad' failed on topic 'agent.seen': "
                        "failed after writing 'dropped'");
    ad_bus_get_stats(fx->bus, &stats);
    assert_int_equal(stats.delivered, 3);
    assert_int_equal(stats.handler_failures, 1);
    assert_int_equal(ad_store_tx_depth(fx->st), 0);
    ad_log_set_sink(NULL, NULL);
    json_decref(p);
}

static int h_leave_open(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct fx *fx = ctx;
    struct agent_writer w = { fx, "leaky", false };
    int rc = ad_store_begin(fx->st, err);

    if (rc < 0)
        return rc;
    return h_insert_agent(&w, ev, err);
}

static void test_handler_leaving_tx_open_is_a_failure(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_bus_stats stats;
    json_t *p = json_object();

    capture_logs();
    assert_int_equal(ad_bus_subscribe(fx->bus, "e", "leaky", h_leave_open, fx, &err), 0);
    assert_int_equal(ad_bus_emit(fx->bus, fx->tenant, "e", p, NULL, &err), 0);
    assert_int_equal(ad_store_tx_depth(fx->st), 0);
    assert_false(agent_exists(fx, "leaky"));
    assert_true(last_seq(fx) > 0);
    ad_bus_get_stats(fx->bus, &stats);
    assert_int_equal(stats.handler_failures, 1);
    assert_non_null(strstr(last_log, "left 1 transaction(s) open"));
    ad_log_set_sink(NULL, NULL);
    json_decref(p);
}

static void test_emit_in_caller_tx_rolled_back(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct agent_writer w = { fx, "ghost", false };
    json_t *p = json_object();
    int64_t seq = 0;

    assert_int_equal(ad_bus_subscribe(fx->bus, "e", "w", h_insert_agent, &w, &err), 0);
    assert_int_equal(ad_store_begin(fx->st, &err), 0);
    assert_int_equal(ad_bus_emit(fx->bus, fx->tenant, "e", p, &seq, &err), 0);
    assert_true(seq > 0);
    /* Still inside the caller's transaction: the emit nested, it did not commit. */
    assert_int_equal(ad_store_tx_depth(fx->st), 1);
    ad_store_rollback(fx->st);
    assert_int_equal(ad_store_tx_depth(fx->st), 0);
    assert_int_equal(last_seq(fx), 0);
    assert_false(agent_exists(fx, "ghost"));
    json_decref(p);
}

static void test_append_failure_runs_no_handler(void **state)
{
    struct fx *fx = *state;
    struct ad_store_options ro = { .flags = AD_STORE_READONLY };
    struct ad_err err = AD_ERR_INIT;
    struct trace t = { 0 };
    struct tagged a = { &t, 'a' };
    struct ad_store *rst = NULL;
    struct ad_bus *bus = NULL;
    struct ad_bus_stats stats;
    json_t *p = json_object();

    assert_int_equal(ad_store_open(fx->db.path, &ro, &rst, &err), 0);
    assert_int_equal(ad_bus_new(rst, &bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(bus, "*", "a", h_record, &a, &err), 0);
    assert_true(ad_bus_emit(bus, fx->tenant, "e", p, NULL, &err) < 0);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(t.n, 0);
    assert_int_equal(ad_store_tx_depth(rst), 0);
    ad_bus_get_stats(bus, &stats);
    assert_int_equal(stats.emitted, 0);
    assert_int_equal(stats.delivered, 0);
    ad_bus_free(bus);
    ad_store_free(rst);
    json_decref(p);
}

/* ---- ad_episode_record -------------------------------------------------- */

/* Keeps a copy of the last payload the bus delivered. */
struct captured {
    char topic[AD_TOPIC_MAX + 1];
    json_t *payload;
    int calls;
};

static int h_capture(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct captured *c = ctx;

    snprintf(c->topic, sizeof(c->topic), "%s", ev->topic);
    json_decref(c->payload);
    c->payload = json_deep_copy(ev->payload);
    c->calls++;
    return 0;
}

static void make_agent(struct fx *fx, const char *name, char id[AD_ID_SIZE])
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };

    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", fx->tenant);
    a.name = (char *)name;
    a.maturity = AD_INTERN;
    assert_int_equal(ad_store_agent_insert(fx->st, &a, &err), 0);
    snprintf(id, AD_ID_SIZE, "%s", a.id);
}

static void episode_fill(struct fx *fx, struct ad_episode *ep, const char *agent_id,
                         bool success, const char *kind, const char *trace)
{
    ad_episode_init(ep);
    snprintf(ep->tenant_id, sizeof(ep->tenant_id), "%s", fx->tenant);
    snprintf(ep->agent_id, sizeof(ep->agent_id), "%s", agent_id);
    ep->task_description = strdup("parse the invoice");
    ep->task_kind = kind ? strdup(kind) : NULL;
    ep->error_trace = trace ? strdup(trace) : NULL;
    ep->success = success;
}

static void test_record_failure_emits_task_fail(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct captured cap = { 0 };
    struct ad_episode ep;
    struct ad_agent a = { 0 };
    struct ad_event *evs = NULL;
    size_t n = 0;
    char agent[AD_ID_SIZE];

    make_agent(fx, "billing", agent);
    assert_int_equal(ad_bus_subscribe(fx->bus, "*", "cap", h_capture, &cap, &err), 0);
    episode_fill(fx, &ep, agent, false, "invoice.parse",
                 "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n"
                 "ValueError: bad total\n");
    assert_int_equal(ad_episode_record(fx->st, fx->bus, &ep, &err), 0);
    assert_true(ad_id_valid(ep.id));

    assert_int_equal(cap.calls, 1);
    assert_string_equal(cap.topic, AD_TOPIC_TASK_FAIL);
    assert_string_equal(json_string_value(json_object_get(cap.payload, "episode_id")), ep.id);
    assert_string_equal(json_string_value(json_object_get(cap.payload, "agent_id")), agent);
    assert_string_equal(json_string_value(json_object_get(cap.payload, "task_kind")),
                        "invoice.parse");
    assert_string_equal(json_string_value(json_object_get(cap.payload, "task_description")),
                        "parse the invoice");
    assert_true(json_is_false(json_object_get(cap.payload, "success")));
    assert_string_equal(json_string_value(json_object_get(cap.payload, "error_type")),
                        "ValueError");
    assert_int_equal(json_object_size(cap.payload), 6);

    /* The event is in the outbox, and the counters moved with the insert. */
    assert_int_equal(ad_store_event_list(fx->st, fx->tenant, 0, AD_TOPIC_TASK_FAIL, 10, &evs,
                                         &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(json_equal(evs[0].payload, cap.payload));
    ad_event_list_free(evs, n);
    assert_int_equal(ad_store_agent_get(fx->st, fx->tenant, agent, &a, &err), 0);
    assert_int_equal(a.episode_count, 1);
    assert_int_equal(a.failure_count, 1);
    assert_int_equal(a.success_count, 0);
    ad_agent_release(&a);
    ad_episode_release(&ep);
    json_decref(cap.payload);
}

static void test_record_success_and_no_bus(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct captured cap = { 0 };
    struct ad_episode ep;
    struct ad_agent a = { 0 };
    char agent[AD_ID_SIZE];
    int64_t seq;

    make_agent(fx, "ops", agent);
    assert_int_equal(ad_bus_subscribe(fx->bus, "*", "cap", h_capture, &cap, &err), 0);
    episode_fill(fx, &ep, agent, true, NULL, NULL);
    assert_int_equal(ad_episode_record(fx->st, fx->bus, &ep, &err), 0);
    assert_string_equal(cap.topic, AD_TOPIC_TASK_SUCCESS);
    assert_true(json_is_null(json_object_get(cap.payload, "task_kind")));
    assert_true(json_is_null(json_object_get(cap.payload, "error_type")));
    assert_true(json_is_true(json_object_get(cap.payload, "success")));
    seq = last_seq(fx);
    assert_true(seq > 0);
    ad_episode_release(&ep);

    /* Without a bus: stored, counted, no event. */
    episode_fill(fx, &ep, agent, true, NULL, NULL);
    assert_int_equal(ad_episode_record(fx->st, NULL, &ep, &err), 0);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(last_seq(fx), seq);
    assert_int_equal(ad_store_agent_get(fx->st, fx->tenant, agent, &a, &err), 0);
    assert_int_equal(a.episode_count, 2);
    assert_int_equal(a.success_count, 2);
    ad_agent_release(&a);
    ad_episode_release(&ep);
    json_decref(cap.payload);
}

static void test_record_unknown_agent_leaves_nothing(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct captured cap = { 0 };
    struct ad_episode ep;
    char ghost[AD_ID_SIZE];

    assert_int_equal(ad_id_new(ghost), 0);
    assert_int_equal(ad_bus_subscribe(fx->bus, "*", "cap", h_capture, &cap, &err), 0);
    episode_fill(fx, &ep, ghost, false, NULL, "KeyError: 'x'");
    assert_int_equal(ad_episode_record(fx->st, fx->bus, &ep, &err), AD_ENOTFOUND);
    assert_int_equal(cap.calls, 0);
    assert_int_equal(last_seq(fx), 0);
    assert_int_equal(ad_store_tx_depth(fx->st), 0);
    ad_episode_release(&ep);
}

/* The caller's transaction decides: rolled back, neither episode nor event stays. */
static void test_record_inside_caller_tx(void **state)
{
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_episode ep;
    int64_t count = -1;
    char agent[AD_ID_SIZE];

    make_agent(fx, "nested", agent);
    episode_fill(fx, &ep, agent, false, NULL, "boom");
    assert_int_equal(ad_store_begin(fx->st, &err), 0);
    assert_int_equal(ad_episode_record(fx->st, fx->bus, &ep, &err), 0);
    assert_int_equal(ad_store_tx_depth(fx->st), 1);
    ad_store_rollback(fx->st);
    assert_int_equal(ad_store_episode_count(fx->st, fx->tenant, &f, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(last_seq(fx), 0);
    ad_episode_release(&ep);
}

static void test_record_error_type_table(void **state)
{
    static const struct {
        const char *trace;
        const char *type;   /* NULL: null in the event */
    } cases[] = {
        { "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n"
          "ValueError: invalid literal for int() with base 10: 'x'", "ValueError" },
        { "KeyError: 'x'", "KeyError" },
        { "KeyError: 'x'\n\n  \n", "KeyError" },
        { "Traceback (most recent call last):\r\n  File \"a.py\"\r\n"
          "json.decoder.JSONDecodeError: Expecting value: line 1 column 1\r\n",
          "json.decoder.JSONDecodeError" },
        { "  File \"a.py\", line 2\n    RuntimeError: indented last line", "RuntimeError" },
        { "_Private1: x", "_Private1" },
        { "something went wrong", NULL },
        { "the job failed: disk full", NULL },
        { "KeyboardInterrupt", NULL },
        { "1Error: starts with a digit", NULL },
        { "a..b: empty segment", NULL },
        { "trailing.: dot", NULL },
        { ": no name", NULL },
        { "", NULL },
        { "\n\n", NULL },
        { NULL, NULL },
        { "ValueError: first line\nplain prose last", NULL },
    };
    struct fx *fx = *state;
    struct ad_err err = AD_ERR_INIT;
    struct captured cap = { 0 };
    char agent[AD_ID_SIZE];

    make_agent(fx, "parser", agent);
    assert_int_equal(ad_bus_subscribe(fx->bus, AD_TOPIC_TASK_FAIL, "cap", h_capture, &cap,
                                      &err), 0);
    for (size_t i = 0; i < AD_ARRAY_SIZE(cases); i++) {
        struct ad_episode ep;
        const json_t *type;

        episode_fill(fx, &ep, agent, false, NULL, cases[i].trace);
        assert_int_equal(ad_episode_record(fx->st, fx->bus, &ep, &err), 0);
        type = json_object_get(cap.payload, "error_type");
        if (cases[i].type ? !json_is_string(type) ||
                                strcmp(json_string_value(type), cases[i].type) != 0
                          : !json_is_null(type))
            fail_msg("case %zu: expected %s", i, cases[i].type ? cases[i].type : "null");
        ad_episode_release(&ep);
    }
    assert_int_equal(cap.calls, (int)AD_ARRAY_SIZE(cases));
    json_decref(cap.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_valid),
        cmocka_unit_test(test_subscribe_and_emit_reject_bad_input),
        cmocka_unit_test(test_dispatch_order_and_wildcard),
        cmocka_unit_test(test_want_predicate_skips_handler),
        cmocka_unit_test(test_failing_handler_does_not_stop_others),
        cmocka_unit_test(test_subscribe_during_dispatch),
        cmocka_unit_test_setup_teardown(test_store_appends_with_increasing_seq, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_failed_handler_writes_rolled_back, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_handler_leaving_tx_open_is_a_failure, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_emit_in_caller_tx_rolled_back, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_append_failure_runs_no_handler, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_failure_emits_task_fail, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_success_and_no_bus, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_unknown_agent_leaves_nothing, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_inside_caller_tx, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_error_type_table, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
