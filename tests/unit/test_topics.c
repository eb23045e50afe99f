/*
 * The topic table is the public event contract (topics.h): this test holds
 * every event the real flows emit to it. It opens a runtime (so the
 * subscriptions and job kinds are the ones every process gets), subscribes
 * a "*" handler that checks each event with ad_topic_check, and drives
 * every flow that emits: episodes, tasks and skill runs, reflection,
 * Memento's job (by synthesis, no model), approval and rejection,
 * AlphaEvolver's mutations (created, scored, evaluated, approved and
 * rejected), a maturity change with its unlock notification, and the agent loop (a
 * local command as the model). At the end every topic of the table must
 * have been seen, and every event in the outbox must conform too.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/fitness.h"
#include "autodev/hooks.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/research.h"
#include "autodev/runtime.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "tmpdb.h"

struct seen {
    int count[32];           /* per row of the topic table */
    int bad;                 /* events that broke the contract */
    char first_bad[512];
};

static int topic_index(const char *name)
{
    int i = 0;

    for (const struct ad_topic *t = ad_topics(); t->name; t++, i++) {
        if (!strcmp(t->name, name))
            return i;
    }
    return -1;
}

static int on_any(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct seen *s = ctx;
    struct ad_err e = AD_ERR_INIT;
    int i = topic_index(ev->topic);

    if (ad_topic_check(ev->topic, ev->payload, &e) < 0) {
        if (!s->bad++)
            snprintf(s->first_bad, sizeof(s->first_bad), "%s", e.msg);
    } else if (i >= 0 && i < (int)AD_ARRAY_SIZE(s->count)) {
        s->count[i]++;
    }
    return 0;
}

/* ---- the contract checker itself --------------------------------------- */

static void topic_check_refuses_what_breaks_the_contract(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "agent_id", "a", "agent", "bot", "from",
                          "STUDENT", "to", "INTERN", "reason", "r");

    (void)state;
    assert_non_null(p);
    assert_int_equal(ad_topic_check(AD_TOPIC_AGENT_MATURITY, p, &err), 0);
    assert_int_equal(ad_topic_check("made.up", p, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "not in the topic table"));
    json_object_set_new(p, "extra", json_true());
    assert_int_equal(ad_topic_check(AD_TOPIC_AGENT_MATURITY, p, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "key 'extra'"));
    json_object_del(p, "extra");
    json_object_del(p, "reason");
    assert_int_equal(ad_topic_check(AD_TOPIC_AGENT_MATURITY, p, &err), AD_EINVAL);
    assert_non_null(strstr(err.msg, "lacks key 'reason'"));
    assert_int_equal(ad_topic_check(AD_TOPIC_AGENT_MATURITY, NULL, &err), AD_EINVAL);
    json_decref(p);
    /* Every row names an owner and lists at least one key; names are unique. */
    for (const struct ad_topic *t = ad_topics(); t->name; t++) {
        assert_non_null(t->owner);
        assert_non_null(t->keys[0]);
        assert_ptr_equal(ad_topic_find(t->name), t);
        assert_true(ad_bus_topic_valid(t->name));
    }
    assert_null(ad_topic_find(NULL));
}

/* ---- the runtime's tables ----------------------------------------------- */

static void runtime_tables_name_their_owners(void **state)
{
    int n = 0;

    (void)state;
    for (const struct ad_runtime_subscription *s = ad_runtime_subscriptions(); s->topic; s++) {
        /* "*" (every topic: the webhooks' subscription) or a topic of the table. */
        if (strcmp(s->topic, "*") != 0)
            assert_non_null(ad_topic_find(s->topic));
        assert_non_null(s->owner);
        assert_non_null(s->fn);
        n++;
    }
    assert_true(n >= 1);
    for (const struct ad_runtime_job_kind *k = ad_runtime_job_kinds(); k->kind; k++) {
        assert_ptr_equal(ad_runtime_job_kind_find(k->kind), k);
        assert_non_null(k->owner);
        assert_non_null(k->fn);
    }
    assert_non_null(ad_runtime_job_kind_find(AD_MEMENTO_JOB));
    assert_null(ad_runtime_job_kind_find("no.such.kind"));
}

/* ---- every flow, every event -------------------------------------------- */

static const char upper_code[] =
    "def shout(text: str) -> str:\n"
    "    \"\"\"Shout the text in capitals.\"\"\"\n"
    "    return text.upper()\n";

struct flow {
    struct tmpdb db;
    struct ad_runtime *rt;
    struct ad_store *st;
    struct ad_bus *bus;
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
    struct seen seen;
};

static void flow_open(struct flow *f)
{
    struct ad_runtime_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    struct ad_agent a = { 0 };

    memset(f, 0, sizeof(*f));
    tmpdb_make(&f->db, "topics");
    o.db = f->db.path;
    o.create = 1;
    o.sandbox = "auto";
    o.llm = "exec:printf 'The text has three words.'";
    assert_int_equal(ad_runtime_open(&o, &f->rt, &err), 0);
    f->st = ad_runtime_store(f->rt);
    f->bus = ad_runtime_bus(f->rt);
    assert_int_equal(ad_bus_subscribe(f->bus, "*", "contract", on_any, &f->seen, &err), 0);
    assert_int_equal(ad_runtime_tenant(f->rt, "default", 1, f->tenant, &err), 0);
    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    s.enabled = true;
    assert_int_equal(ad_settings_put(f->st, f->tenant, &s, &err), 0);
    assert_int_equal(ad_agents_add(f->st, f->tenant, "bot", AD_INTERN, &a, &err), 0);
    memcpy(f->agent, a.id, AD_ID_SIZE);
    ad_agent_release(&a);
}

/* Runs a task; no skill matches a description the catalog cannot serve. */
static void task(struct flow *f, const char *desc, const char *input, const char *expected,
                 bool want_success)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_task t = { 0 };
    struct ad_task_outcome o;
    struct ad_sandbox *sb = NULL;
    json_t *in = json_loads(input, 0, NULL), *want = json_loads(expected, JSON_DECODE_ANY, NULL);

    memset(&o, 0, sizeof(o));
    assert_int_equal(ad_runtime_sandbox(f->rt, &sb, &err), 0);
    t.tenant_id = f->tenant;
    t.agent_id = f->agent;
    t.description = desc;
    t.input = in;
    t.expected = want;
    assert_int_equal(ad_task_run(f->st, f->bus, sb, &t, &o, &err), 0);
    assert_int_equal(o.episode.success, want_success);
    ad_task_outcome_release(&o);
    json_decref(in);
    json_decref(want);
}

/* Runs the queued jobs through the runtime's job kinds; returns the newest candidate. */
static void run_jobs_and_get_candidate(struct flow *f, struct ad_skill_candidate *c)
{
    struct ad_candidate_filter cf = { 0 };
    struct ad_skill_candidate *v = NULL;
    struct ad_err err = AD_ERR_INIT;
    struct ad_jobs *q = NULL;
    size_t n = 0;
    int ran = 0;

    assert_int_equal(ad_runtime_jobs(f->rt, f->tenant, NULL, &q, &err), 0);
    assert_int_equal(ad_jobs_run_until_idle(q, NULL, 0, &ran, &err), 0);
    assert_true(ran >= 1);
    ad_jobs_free(q);
    cf.limit = 1;
    assert_int_equal(ad_candidates_list(f->st, f->tenant, &cf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    *c = v[0];
    memset(&v[0], 0, sizeof(v[0]));
    ad_skill_candidate_list_free(v, n);
}

/*
 * A mutant of shout as the engine writes it: mutation.created; its variant
 * scored (variant.fitness); saved as won and awaiting review
 * (mutation.evaluated).
 */
static void alpha_mutant(struct flow *f, const struct ad_skill *s,
                         const struct ad_skill_version *v, int index, struct ad_tool_mutation *m)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_workflow_variant wv;
    json_t *sig = json_pack("{s:b}", "execution_success", 1);

    ad_tool_mutation_init(m);
    memcpy(m->tenant_id, f->tenant, AD_ID_SIZE);
    memcpy(m->skill_id, s->id, AD_ID_SIZE);
    memcpy(m->parent_skill_version_id, v->id, AD_ID_SIZE);
    memcpy(m->agent_id, f->agent, AD_ID_SIZE);
    m->tool_name = (char *)"shout";
    m->mutated_code = (char *)upper_code;
    m->mutant_index = index;
    assert_int_equal(ad_mutations_create(f->st, f->bus, m, NULL, &err), 0);
    ad_workflow_variant_init(&wv);
    memcpy(wv.tenant_id, f->tenant, AD_ID_SIZE);
    memcpy(wv.tool_mutation_id, m->id, AD_ID_SIZE);
    wv.workflow_definition = json_pack("{s:s}", "skill", "shout");
    assert_int_equal(ad_variants_create(f->st, &wv, &err), 0);
    assert_int_equal(ad_fitness_evaluate_initial_proxy(f->st, f->bus, f->tenant, wv.id, sig,
                                                       NULL, &err), 0);
    json_decref(wv.workflow_definition);
    json_decref(sig);
    m->status = AD_MSTAT_PASSED;
    m->decision = AD_DECISION_WON;
    m->review_status = AD_REVIEW_PENDING;
    m->fitness_delta = 0.2;
    assert_int_equal(ad_mutations_save(f->st, f->bus, m, NULL, &err), 0);
}

/* mutation.approved for one mutant of shout, mutation.rejected for the other. */
static void alpha_flow(struct flow *f)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill s;
    struct ad_skill_version v;
    struct ad_tool_mutation a, b;

    assert_int_equal(ad_catalog_get(f->st, f->tenant, "shout", NULL, &s, &v, &err), 0);
    alpha_mutant(f, &s, &v, 0, &a);
    alpha_mutant(f, &s, &v, 1, &b);
    assert_int_equal(ad_mutation_approve(f->st, f->bus, f->tenant, a.id, "ann", NULL, false,
                                         NULL, &err), 0);
    assert_int_equal(ad_mutation_reject(f->st, f->bus, f->tenant, b.id, "ann", "not needed",
                                        &err), 0);
    ad_skill_release(&s);
    ad_skill_version_release(&v);
}

/*
 * Autoresearch on a throw-away git repository: research.started (setup),
 * research.iteration (one decided iteration), research.finished (the loop
 * ends at its budget and finalizes).
 */
static void research_flow(struct flow *f)
{
    struct ad_research_env env = { f->st, f->bus, f->tenant };
    struct ad_err err = AD_ERR_INIT;
    char dir[] = "/tmp/ad-topics-research-XXXXXX", cmd[512];
    json_t *cfg, *out = NULL;
    const char *id;

    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd),
             "cd %s && mkdir repo && cd repo && git init -q && printf '%%s\\n'"
             " '# EVOLVE-BLOCK-START' 'X = 10' '# EVOLVE-BLOCK-END' 'print(\"score: %%d\" %% X)'"
             " > obj.py && git add obj.py && git -c user.name=t -c user.email=t@t.invalid"
             " commit -qm init", dir);
    assert_int_equal(system(cmd), 0);
    cfg = json_pack("{s:s++, s:[s], s:s, s:s, s:s+, s:i, s:i}", "repo", dir, "/", "repo",
                    "files", "obj.py", "cmd", "python3 obj.py", "metric", "score", "workdir",
                    dir, "/work", "iterations", 1, "repeats", 1);
    assert_non_null(cfg);
    assert_int_equal(ad_research_setup(&env, cfg, &out, &err), 0);
    id = json_string_value(json_object_get(out, "id"));
    json_t *res = NULL;
    assert_int_equal(ad_research_loop(&env, id, NULL, NULL, &res, &err), 0);
    json_decref(res);
    json_decref(out);
    json_decref(cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void hooks_flow(struct flow *f)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_webhook w = { 0 };
    struct ad_webhook_delivery *d = NULL;
    char secret[AD_HOOKS_SECRET_SIZE], key[256];
    struct ad_hooks *h;
    json_t *topics = json_pack("[s]", "*");
    size_t n = 0;

    assert_int_equal(ad_runtime_hooks(f->rt, &h, &err), 0);
    assert_int_equal(ad_webhook_add(h, f->tenant, "http://127.0.0.1:9/hook", topics, NULL, &w,
                                    secret, &err), 0);
    assert_int_equal(ad_webhook_test(h, f->tenant, w.id, &err), 0);
    assert_int_equal(ad_webhook_deliveries(h, f->tenant, w.id, -1, 0, &d, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].topic, AD_TOPIC_WEBHOOK_TEST);
    ad_webhook_delivery_list_free(d, n);
    ad_webhook_release(&w);
    json_decref(topics);
    snprintf(key, sizeof(key), "%s/%s", f->db.dir, AD_SIGNING_KEY_NAME);
    unlink(key);
}

static void every_flow_emits_what_the_table_says(void **state)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_skill_add add = { 0 };
    struct ad_skill_candidate c;
    struct ad_agent_run_opts ro = { 0 };
    struct ad_agent_run_result rr;
    struct ad_sandbox *sb = NULL;
    struct ad_llm *llm = NULL;
    struct ad_event *evs = NULL;
    struct flow f;
    size_t n = 0;
    int i = 0;

    (void)state;
    flow_open(&f);

    /* A catalog skill run as a task: task.success and skill.execution. */
    add.tenant_id = f.tenant;
    add.name = "shout";
    add.entry = "shout";
    add.code = upper_code;
    assert_int_equal(ad_catalog_add(f.st, &add, NULL, NULL, &err), 0);
    task(&f, "shout this text", "{\"text\": \"hi\"}", "\"HI\"", true);

    /* Two failures alike: task.fail, reflection's memento.pattern; the job
     * synthesizes a function (memento.candidate); a reviewer approves it. */
    task(&f, "Extract the invoice id from this e-mail", "{\"text\": \"see INV-1234 now\"}",
         "\"INV-1234\"", false);
    task(&f, "Extract the invoice id from this e-mail", "{\"text\": \"INV-0042 attached\"}",
         "\"INV-0042\"", false);
    run_jobs_and_get_candidate(&f, &c);
    assert_int_equal(c.status, AD_CAND_VALIDATED);
    assert_int_equal(ad_memento_approve(f.st, f.bus, f.tenant, c.id, "ann", NULL, NULL, &err),
                     0);
    ad_skill_candidate_release(&c);

    /* Another pattern, rejected: memento.rejected. */
    task(&f, "Pull the order number out of the note", "{\"note\": \"order 5521 shipped\"}",
         "5521", false);
    task(&f, "Pull the order number out of the note", "{\"note\": \"ref order 77\"}", "77",
         false);
    run_jobs_and_get_candidate(&f, &c);
    assert_int_equal(ad_memento_reject(f.st, f.bus, f.tenant, c.id, "ann", "not general",
                                       &err), 0);
    ad_skill_candidate_release(&c);

    /* AlphaEvolver's rows: two mutants of shout, one approved, one rejected. */
    alpha_flow(&f);

    /* A maturity change unlocks AlphaEvolver: agent.maturity and notification. */
    assert_int_equal(ad_agent_change_maturity(f.st, f.bus, f.tenant, f.agent, AD_SUPERVISED,
                                              "test", NULL, &err), 0);

    /* Autoresearch: research.started, research.iteration, research.finished. */
    research_flow(&f);

    /* The agent loop with a local command as the model: agent.progress. */
    memset(&rr, 0, sizeof(rr));
    assert_int_equal(ad_runtime_sandbox(f.rt, &sb, &err), 0);
    assert_int_equal(ad_runtime_llm(f.rt, f.tenant, NULL, 1, &llm, &err), 0);
    ro.tenant_id = f.tenant;
    ro.agent_id = f.agent;
    ro.task = "How many words are in 'a b c'?";
    ro.max_turns = 2;
    assert_int_equal(ad_agent_run(f.st, f.bus, sb, llm, &ro, &rr, &err), 0);
    ad_agent_run_result_release(&rr);
    ad_llm_free(llm);

    /* A webhook's test event: webhook.test (and a delivery of it). */
    hooks_flow(&f);

    if (f.seen.bad)
        fail_msg("%d events broke the contract; the first: %s", f.seen.bad, f.seen.first_bad);
    for (const struct ad_topic *t = ad_topics(); t->name; t++, i++) {
        if (f.seen.count[i] == 0)
            fail_msg("no flow emitted %s", t->name);
    }
    /* What the outbox holds conforms as well: the same contract for readers. */
    assert_int_equal(ad_events_since(f.st, f.tenant, 0, NULL, AD_LIST_MAX, &evs, &n, &err), 0);
    assert_true(n > 10);
    for (size_t k = 0; k < n; k++) {
        if (ad_topic_check(evs[k].topic, evs[k].payload, &err) < 0)
            fail_msg("event %" PRId64 ": %s", evs[k].seq, err.msg);
    }
    ad_event_list_free(evs, n);
    ad_runtime_free(f.rt);
    tmpdb_remove(&f.db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_check_refuses_what_breaks_the_contract),
        cmocka_unit_test(runtime_tables_name_their_owners),
        cmocka_unit_test(every_flow_emits_what_the_table_says),
    };

    return cmocka_run_group_tests_name("topics", tests, NULL, NULL);
}
