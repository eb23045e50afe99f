/*
 * Unit tests of the learn module (src/learn/): capability gates, maturity
 * changes and graduation, reflection on task.fail, and the Memento engine
 * without a model (analyse, prompt, sandbox validation, review).
 * ad_memento_generate needs a model; the CLI tests cover it end to end with
 * the loopback LLM. Each test gets a fresh temporary database; the tests
 * that validate candidates share one real sandbox.
 *
 * Sections:
 *   fixture and helpers
 *   shingles, names and entry functions
 *   capabilities and gates
 *   maturity changes and graduation
 *   reflection
 *   the Memento engine: analyse and prompt
 *   the Memento engine: validation and review
 *   the Memento engine: two workers, one job, a model that stalls
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/log.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "tmpdb.h"

#define INVOICE_TASK "Extract the invoice id from this e-mail"
#define NO_SKILL "NoSkillError: no catalog skill matches"

static struct ad_sandbox *sb;

/* ---- fixture and helpers -------------------------------------------------- */

struct fx {
    struct tmpdb db;
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_reflection refl;      /* attached by the reflection tests only */
    char tenant[AD_ID_SIZE];
    char intern[AD_ID_SIZE];        /* "bot", INTERN */
    char student[AD_ID_SIZE];       /* "stu", STUDENT */
};

static int group_setup(void **state)
{
    struct ad_sandbox_options o = { 0 };
    struct ad_err err = AD_ERR_INIT;

    (void)state;
    o.slots = 1;
    o.quiet = true;
    if (ad_sandbox_new(&o, &sb, &err) < 0) {
        fprintf(stderr, "sandbox: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ad_sandbox_free(sb);
    return 0;
}

static void make_agent(struct fx *f, const char *name, enum ad_maturity m, char id[AD_ID_SIZE])
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;

    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", f->tenant);
    a.name = (char *)name;
    a.maturity = m;
    if (ad_store_agent_insert(f->st, &a, &err))
        fail_msg("agent insert: %s", err.msg);
    snprintf(id, AD_ID_SIZE, "%s", a.id);
}

static int setup(void **state)
{
    struct ad_store_options so = { AD_STORE_CREATE, 0 };
    struct ad_err err = AD_ERR_INIT;
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tmpdb_make(&f->db, "learn");
    assert_int_equal(ad_store_open(f->db.path, &so, &f->st, &err), 0);
    assert_int_equal(ad_bus_new(f->st, &f->bus, &err), 0);
    assert_int_equal(ad_store_tenant_ensure(f->st, "default", f->tenant, &err), 0);
    make_agent(f, "bot", AD_INTERN, f->intern);
    make_agent(f, "stu", AD_STUDENT, f->student);
    *state = f;
    return 0;
}

static struct llm_server *llm_server;
static void llm_server_stop(struct llm_server *srv);

static int teardown(void **state)
{
    struct fx *f = *state;

    llm_server_stop(llm_server);

    ad_bus_free(f->bus);
    ad_store_free(f->st);
    tmpdb_remove(&f->db);
    free(f);
    return 0;
}

static void assert_has(const char *text, const char *substr)
{
    if (!text || !strstr(text, substr))
        fail_msg("'%s' lacks '%s'", text ? text : "(null)", substr);
}

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) < 1e-9))
        fail_msg("got %.17g, want %.17g", got, want);
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static struct ad_settings get_settings(struct fx *f)
{
    struct ad_settings s;
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_settings_get(f->st, f->tenant, &s, &err), 0);
    return s;
}

static void put_settings(struct fx *f, const struct ad_settings *s)
{
    struct ad_err err = AD_ERR_INIT;

    if (ad_settings_put(f->st, f->tenant, s, &err))
        fail_msg("settings put: %s", err.msg);
}

/* The master toggle as given, every capability toggle on. */
static void enable_all(struct fx *f, bool enabled)
{
    struct ad_settings s = get_settings(f);

    s.enabled = enabled;
    s.memento_skills = true;
    s.alpha_evolver = true;
    s.background_evolution = true;
    put_settings(f, &s);
}

/* What an episode is made of; json members are borrowed. */
struct ep_spec {
    const char *agent;
    const char *task;
    bool success;
    const char *trace;          /* NULL: none */
    const json_t *input;
    const json_t *expected;
    const json_t *tools;
    bool intervention;
    double score;               /* NAN: none */
    bool quiet;                 /* store insert only: no event, no reflection */
};

static void episode(struct fx *f, const struct ep_spec *s, char id[AD_ID_SIZE])
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;
    int rc;

    ad_episode_init(&ep);
    snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", f->tenant);
    snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", s->agent);
    ep.task_description = strdup(s->task);
    ep.task_kind = strdup("extraction");
    ep.success = s->success;
    ep.error_trace = s->trace ? strdup(s->trace) : NULL;
    ep.input = s->input ? json_deep_copy(s->input) : NULL;
    ep.expected = s->expected ? json_deep_copy(s->expected) : NULL;
    ep.tools_attempted = s->tools ? json_deep_copy(s->tools) : NULL;
    ep.intervention = s->intervention;
    ep.constitutional_score = s->score;
    rc = s->quiet ? ad_store_episode_insert(f->st, &ep, &err)
                  : ad_episode_record(f->st, f->bus, &ep, &err);
    if (rc)
        fail_msg("episode: %s", err.msg);
    if (id)
        snprintf(id, AD_ID_SIZE, "%s", ep.id);
    ad_episode_release(&ep);
}

/* A failed episode of agent, recorded with its task.fail event. */
static void fail_task(struct fx *f, const char *agent, const char *task, const char *trace,
                      char id[AD_ID_SIZE])
{
    struct ep_spec s = { .agent = agent, .task = task, .trace = trace, .score = NAN };

    episode(f, &s, id);
}

/* The tenant's memento.generate jobs, newest first (free with ad_job_list_free). */
static size_t memento_jobs(struct fx *f, struct ad_job **v)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_job *jobs = NULL;
    size_t n = 0;

    assert_int_equal(ad_store_job_list(f->st, f->tenant, -1, AD_MEMENTO_JOB, 100, &jobs, &n,
                                       &err), 0);
    if (v)
        *v = jobs;
    else
        ad_job_list_free(jobs, n);
    return n;
}

/* How many events on topic; *last (may be NULL) gets the newest payload (decref it). */
static size_t events_on(struct fx *f, const char *topic, json_t **last)
{
    struct ad_event *ev = NULL;
    struct ad_err err = AD_ERR_INIT;
    size_t n = 0;

    assert_int_equal(ad_store_event_list(f->st, f->tenant, 0, topic, 1000, &ev, &n, &err), 0);
    if (last)
        *last = n ? json_incref(ev[n - 1].payload) : NULL;
    ad_event_list_free(ev, n);
    return n;
}

/* Notifications of type, newest first (free with ad_notification_list_free). */
static size_t notes_of(struct fx *f, const char *type, struct ad_notification **v)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_notification *nv = NULL;
    size_t n = 0;

    assert_int_equal(ad_store_notification_list(f->st, f->tenant, false, type, 100, &nv, &n,
                                                &err), 0);
    if (v)
        *v = nv;
    else
        ad_notification_list_free(nv, n);
    return n;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static enum ad_maturity maturity_of(struct fx *f, const char *agent)
{
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;
    enum ad_maturity m;

    assert_int_equal(ad_store_agent_get(f->st, f->tenant, agent, &a, &err), 0);
    m = a.maturity;
    ad_agent_release(&a);
    return m;
}

/* ---- shingles, names and entry functions ---------------------------------- */

static void test_shingle_jaccard(void **state)
{
    (void)state;
    assert_true(ad_shingle_jaccard(INVOICE_TASK, INVOICE_TASK) == 1.0);
    /* Case and punctuation are not words. */
    assert_true(ad_shingle_jaccard("Extract the invoice id!", "extract THE invoice-id") == 1.0);
    assert_true(ad_shingle_jaccard("extract the invoice id", "translate french poetry") == 0.0);
    /* {the quick, quick brown, brown fox} vs {the quick, quick red, red fox}: 1 / 5. */
    assert_near(ad_shingle_jaccard("the quick brown fox", "the quick red fox"), 0.2);
    /* {a b, b c, c d} vs {a b, b c, c e}: 2 / 4. */
    assert_near(ad_shingle_jaccard("a b c d", "a b c e"), 0.5);
    /* Repeated shingles count once: {a b, b a} vs {a b}. */
    assert_near(ad_shingle_jaccard("a b a b", "a b"), 0.5);
    /* The reflection example: 5 of 7 shingles shared each way, 5 / 9. */
    assert_near(ad_shingle_jaccard(INVOICE_TASK, "Extract the invoice id from that e-mail"),
                5.0 / 9.0);
    /* A one-word text is its word. */
    assert_true(ad_shingle_jaccard("invoice", "Invoice!") == 1.0);
    assert_true(ad_shingle_jaccard("invoice", "receipt") == 0.0);
    assert_true(ad_shingle_jaccard("invoice", "invoice total") == 0.0);
    /* Two texts without words are alike; one empty text is like nothing. */
    assert_true(ad_shingle_jaccard("", "") == 1.0);
    assert_true(ad_shingle_jaccard(NULL, "!!! ...") == 1.0);
    assert_true(ad_shingle_jaccard("", "invoice") == 0.0);
    assert_true(ad_shingle_jaccard("invoice id", NULL) == 0.0);
}

static void test_suggest_name(void **state)
{
    char name[AD_NAME_MAX + 1], small[8];

    (void)state;
    assert_int_equal(ad_memento_suggest_name(INVOICE_TASK, name, sizeof(name)), 0);
    assert_string_equal(name, "extract_invoice_id");
    /* At most three words, stop words and one-letter words dropped. */
    assert_int_equal(ad_memento_suggest_name("Please sum up all of the numbers in a list", name,
                                             sizeof(name)), 0);
    assert_string_equal(name, "sum_up_numbers");
    assert_int_equal(ad_memento_suggest_name("the a of this from", name, sizeof(name)), 0);
    assert_string_equal(name, "new_skill");
    assert_int_equal(ad_memento_suggest_name("", name, sizeof(name)), 0);
    assert_string_equal(name, "new_skill");
    assert_int_equal(ad_memento_suggest_name(NULL, name, sizeof(name)), 0);
    assert_string_equal(name, "new_skill");
    /* A name must be a Python identifier: it cannot start with a number. */
    assert_int_equal(ad_memento_suggest_name("2024 invoice totals", name, sizeof(name)), 0);
    assert_string_equal(name, "invoice_totals");
    assert_int_equal(ad_memento_suggest_name("Sum 2024 totals", name, sizeof(name)), 0);
    assert_string_equal(name, "sum_2024_totals");
    /* Long words are clipped to 31 bytes and the name stays within 64. */
    assert_int_equal(ad_memento_suggest_name(
                         "Supercalifragilisticexpialidocious antidisestablishmentarianism "
                         "pneumonoultramicroscopicsilicovolcanoconiosis "
                         "floccinaucinihilipilification",
                         name, sizeof(name)), 0);
    assert_string_equal(name, "supercalifragilisticexpialidoci_antidisestablishmentarianism");
    assert_true(ad_skill_name_valid(name));
    assert_true(strlen(name) <= 64);
    assert_int_equal(ad_memento_suggest_name(INVOICE_TASK, small, sizeof(small)), AD_EINVAL);
}

static void test_entry(void **state)
{
    char out[AD_ENTRY_MAX + 1], tiny[8];

    (void)state;
    assert_int_equal(ad_memento_entry("import re\n\ndef extract(text: str) -> str:\n"
                                      "    return text\n\ndef second():\n    pass\n",
                                      out, sizeof(out)), 0);
    assert_string_equal(out, "extract");
    /* Comments, methods and nested defs are not top-level functions. */
    assert_int_equal(ad_memento_entry("# def commented():\nclass Helper:\n"
                                      "    def method(self):\n        pass\n"
                                      "\tdef tabbed():\n        pass\n"
                                      "def  spaced_out(x):\n    return x\n",
                                      out, sizeof(out)), 0);
    assert_string_equal(out, "spaced_out");
    assert_int_equal(ad_memento_entry("async def fetch(url: str) -> str:\n    return url\n", out,
                                      sizeof(out)), 0);
    assert_string_equal(out, "fetch");
    assert_int_equal(ad_memento_entry("def 1bad():\n    pass\ndef good():\n    pass\n", out,
                                      sizeof(out)), 0);
    assert_string_equal(out, "good");
    /* A name that does not fit is passed over. */
    assert_int_equal(ad_memento_entry("def much_too_long():\n    pass\ndef ok():\n    pass\n",
                                      tiny, sizeof(tiny)), 0);
    assert_string_equal(tiny, "ok");
    assert_int_equal(ad_memento_entry("x = 1\n    def inner():\n        pass\n", out,
                                      sizeof(out)), AD_ENOTFOUND);
    assert_string_equal(out, "");
    assert_int_equal(ad_memento_entry("", out, sizeof(out)), AD_ENOTFOUND);
    assert_int_equal(ad_memento_entry(NULL, out, sizeof(out)), AD_ENOTFOUND);
}

/* ---- capabilities and gates ------------------------------------------------ */

static void test_capability_names(void **state)
{
    static const struct {
        const char *full, *brief, *title;
        enum ad_capability cap;
        enum ad_maturity min;
    } table[] = {
        { "auto_dev.memento_skills", "memento_skills", "Memento-Skills", AD_CAP_MEMENTO,
          AD_INTERN },
        { "auto_dev.alpha_evolver", "alpha_evolver", "AlphaEvolver", AD_CAP_ALPHA,
          AD_SUPERVISED },
        { "auto_dev.background_evolution", "background_evolution", "Background Evolution",
          AD_CAP_BACKGROUND, AD_AUTONOMOUS },
    };
    enum ad_capability c;

    (void)state;
    for (size_t i = 0; i < AD_ARRAY_SIZE(table); i++) {
        c = (enum ad_capability)99;
        assert_int_equal(ad_capability_parse(table[i].full, &c), 0);
        assert_int_equal(c, table[i].cap);
        c = (enum ad_capability)99;
        assert_int_equal(ad_capability_parse(table[i].brief, &c), 0);
        assert_int_equal(c, table[i].cap);
        assert_string_equal(ad_capability_name(table[i].cap), table[i].full);
        assert_string_equal(ad_capability_title(table[i].cap), table[i].title);
        assert_int_equal(ad_capability_min_maturity(table[i].cap), table[i].min);
    }
    c = AD_CAP_ALPHA;
    assert_int_equal(ad_capability_parse("memento", &c), AD_EINVAL);
    assert_int_equal(ad_capability_parse("AUTO_DEV.MEMENTO_SKILLS", &c), AD_EINVAL);
    assert_int_equal(ad_capability_parse("", &c), AD_EINVAL);
    assert_int_equal(ad_capability_parse(NULL, &c), AD_EINVAL);
    assert_int_equal(c, AD_CAP_ALPHA);
    assert_null(ad_capability_name((enum ad_capability)AD_CAP_COUNT));
    assert_null(ad_capability_title((enum ad_capability)-1));
    assert_int_equal(ad_capability_min_maturity((enum ad_capability)AD_CAP_COUNT),
                     AD_AUTONOMOUS);
}

/* Every maturity against every capability, everything switched on. */
static void test_gate_matrix(void **state)
{
    struct fx *f = *state;
    struct ad_gate_decision d;
    struct ad_err err = AD_ERR_INIT;

    enable_all(f, true);
    for (int m = AD_STUDENT; m <= AD_AUTONOMOUS; m++) {
        assert_int_equal(ad_store_agent_set_maturity(f->st, f->tenant, f->intern,
                                                     (enum ad_maturity)m, &err), 0);
        for (int c = 0; c < AD_CAP_COUNT; c++) {
            bool want = m >= (int)ad_capability_min_maturity((enum ad_capability)c);

            assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, (enum ad_capability)c,
                                           &d, &err), 0);
            if (d.allowed != want)
                fail_msg("%s for %s: allowed %d", ad_capability_name((enum ad_capability)c),
                         ad_maturity_name((enum ad_maturity)m), d.allowed);
            assert_int_equal(d.maturity, m);
            assert_int_equal(d.used_today, 0);
            assert_int_equal(d.daily_limit, c == AD_CAP_MEMENTO ? 5 : 10);
            assert_int_equal(strlen(d.day_start), 24);
            assert_string_equal(d.day_start + 10, "T00:00:00.000Z");
            if (want) {
                assert_int_equal(d.nreasons, 0);
                continue;
            }
            assert_int_equal(d.nreasons, 1);
            assert_has(d.reasons[0], ad_maturity_name((enum ad_maturity)m));
            assert_has(d.reasons[0], ad_capability_name((enum ad_capability)c));
            assert_has(d.reasons[0], "agent 'bot'");
        }
    }
}

static void test_gate_toggles(void **state)
{
    struct fx *f = *state;
    struct ad_gate_decision d;
    struct ad_err err = AD_ERR_INIT;
    struct ad_settings s;
    char line[1024];

    /* The master toggle is off by default. */
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_MEMENTO, &d, &err), 0);
    assert_false(d.allowed);
    assert_int_equal(d.nreasons, 1);
    assert_has(d.reasons[0], "setting enabled is false");
    assert_string_equal(d.reasons[0],
                        "auto-dev is disabled for this workspace (setting enabled is false)");

    /* Each capability's own toggle, named in the reason. */
    enable_all(f, true);
    assert_int_equal(ad_store_agent_set_maturity(f->st, f->tenant, f->intern, AD_AUTONOMOUS,
                                                 &err), 0);
    s = get_settings(f);
    s.memento_skills = false;
    put_settings(f, &s);
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_MEMENTO, &d, &err), 0);
    assert_false(d.allowed);
    assert_int_equal(d.nreasons, 1);
    assert_string_equal(d.reasons[0],
                        "Memento-Skills is switched off (setting memento_skills is false)");
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_ALPHA, &d, &err), 0);
    assert_true(d.allowed);
    s.memento_skills = true;
    s.alpha_evolver = false;
    s.background_evolution = false;
    put_settings(f, &s);
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_ALPHA, &d, &err), 0);
    assert_int_equal(d.nreasons, 1);
    assert_has(d.reasons[0], "setting alpha_evolver is false");
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_BACKGROUND, &d, &err),
                     0);
    assert_int_equal(d.nreasons, 1);
    assert_has(d.reasons[0], "setting background_evolution is false");
    ad_gate_describe(&d, line, sizeof(line));
    assert_string_equal(line, "denied: Background Evolution is switched off (setting "
                              "background_evolution is false)");

    /* Every reason at once, not only the first. */
    enable_all(f, false);
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->student, AD_CAP_MEMENTO, &d, &err), 0);
    assert_false(d.allowed);
    assert_int_equal(d.nreasons, 2);
    assert_int_equal(d.maturity, AD_STUDENT);
    ad_gate_describe(&d, line, sizeof(line));
    assert_string_equal(line, "denied: auto-dev is disabled for this workspace (setting "
                              "enabled is false); agent 'stu' is STUDENT; "
                              "auto_dev.memento_skills needs INTERN or higher");
    /* A short buffer clips the line and stays terminated. */
    ad_gate_describe(&d, line, 12);
    assert_string_equal(line, "denied: aut");

    enable_all(f, true);
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_MEMENTO, &d, &err), 0);
    assert_true(d.allowed);
    ad_gate_describe(&d, line, sizeof(line));
    assert_string_equal(line, "allowed");
}

static void insert_candidate(struct fx *f, const char *name)
{
    struct ad_skill_candidate c;
    struct ad_err err = AD_ERR_INIT;

    ad_skill_candidate_init(&c);
    snprintf(c.tenant_id, sizeof(c.tenant_id), "%s", f->tenant);
    c.skill_name = strdup(name);
    c.generated_code = strdup("def f():\n    return 1\n");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 0, &err), 0);
    ad_skill_candidate_release(&c);
}

static void test_gate_daily_limit_and_errors(void **state)
{
    struct fx *f = *state;
    struct ad_gate_decision d;
    struct ad_err err = AD_ERR_INIT;
    struct ad_capability_count cnt;
    struct ad_settings s;
    char fake[AD_ID_SIZE];

    enable_all(f, true);
    s = get_settings(f);
    s.max_skill_candidates_per_day = 3;
    put_settings(f, &s);
    insert_candidate(f, "one");
    insert_candidate(f, "two");
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_MEMENTO, &d, &err), 0);
    assert_true(d.allowed);
    assert_int_equal(d.used_today, 2);
    insert_candidate(f, "three");
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_MEMENTO, &d, &err), 0);
    assert_false(d.allowed);
    assert_int_equal(d.nreasons, 1);
    assert_int_equal(d.used_today, 3);
    assert_int_equal(d.daily_limit, 3);
    assert_has(d.reasons[0], "daily limit reached: 3 of 3 skill candidates");
    assert_has(d.reasons[0], "max_skill_candidates_per_day");
    /* Candidates do not count against mutations. */
    assert_int_equal(ad_store_agent_set_maturity(f->st, f->tenant, f->intern, AD_SUPERVISED,
                                                 &err), 0);
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, AD_CAP_ALPHA, &d, &err), 0);
    assert_true(d.allowed);
    assert_int_equal(d.used_today, 0);

    /* A check that cannot run denies. */
    assert_int_equal(ad_gate_check(f->st, f->tenant, f->intern, (enum ad_capability)7, &d,
                                   &err), AD_EINVAL);
    assert_false(d.allowed);
    assert_int_equal(d.nreasons, 1);
    assert_int_equal(ad_id_new(fake), 0);
    assert_int_equal(ad_gate_check(f->st, f->tenant, fake, AD_CAP_MEMENTO, &d, &err),
                     AD_ENOTFOUND);
    assert_false(d.allowed);
    assert_int_equal(d.nreasons, 1);
    assert_has(d.reasons[0], "the gate could not run");

    /* Usage records. */
    assert_int_equal(ad_gate_record_usage(f->st, f->tenant, f->intern, AD_CAP_ALPHA, true, &err),
                     0);
    assert_int_equal(ad_gate_record_usage(f->st, f->tenant, f->intern, AD_CAP_ALPHA, false,
                                          &err), 0);
    assert_int_equal(ad_gate_record_usage(f->st, f->tenant, f->intern, (enum ad_capability)5,
                                          true, &err), AD_EINVAL);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->intern,
                                                     "auto_dev.alpha_evolver", NULL, &cnt, &err),
                     0);
    assert_int_equal(cnt.uses, 2);
    assert_int_equal(cnt.successes, 1);
}

/* ---- maturity changes and graduation ---------------------------------------- */

static void test_change_maturity(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    struct ad_notification *nv = NULL;
    char fresh[AD_ID_SIZE], fake[AD_ID_SIZE];
    json_t *ev = NULL;
    size_t n;
    int unlocked = -1;

    /* One level up unlocks Memento-Skills; the workspace is off, so act. */
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, f->student, AD_INTERN,
                                              "reviewed by hand", &unlocked, &err), 0);
    assert_int_equal(unlocked, 1);
    assert_int_equal(maturity_of(f, f->student), AD_INTERN);
    n = notes_of(f, "auto_dev_capability_unlocked", &nv);
    assert_int_equal(n, 1);
    assert_string_equal(nv[0].agent_id, f->student);
    assert_string_equal(nv[0].title, "Memento-Skills unlocked for stu");
    assert_has(nv[0].message, "autodev settings set memento_skills true");
    assert_string_equal(jstr(nv[0].payload, "capability"), "auto_dev.memento_skills");
    assert_string_equal(jstr(nv[0].payload, "agent_id"), f->student);
    assert_true(json_is_true(json_object_get(nv[0].payload, "action_required")));
    ad_notification_list_free(nv, n);
    assert_int_equal(events_on(f, "agent.maturity", &ev), 1);
    assert_string_equal(jstr(ev, "agent_id"), f->student);
    assert_string_equal(jstr(ev, "from"), "STUDENT");
    assert_string_equal(jstr(ev, "to"), "INTERN");
    assert_string_equal(jstr(ev, "reason"), "reviewed by hand");
    json_decref(ev);
    assert_int_equal(events_on(f, "notification", NULL), 1);

    /* Three levels at once unlock all three; switched on, nothing to do. */
    enable_all(f, true);
    make_agent(f, "fresh", AD_STUDENT, fresh);
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, fresh, AD_AUTONOMOUS,
                                              NULL, &unlocked, &err), 0);
    assert_int_equal(unlocked, 3);
    n = notes_of(f, "auto_dev_capability_unlocked", &nv);
    assert_int_equal(n, 4);
    /* This build has all three loops: each is "active now", switched on as it is. */
    for (size_t i = 0; i < 3; i++) {
        enum ad_capability c;

        assert_string_equal(nv[i].agent_id, fresh);
        assert_false(json_is_true(json_object_get(nv[i].payload, "action_required")));
        assert_int_equal(ad_capability_parse(jstr(nv[i].payload, "capability"), &c), 0);
        assert_true(ad_capability_built(c));
        assert_has(nv[i].message, "active now");
        assert_has(nv[i].message, ad_capability_title(c));
    }
    {
        int seen[AD_CAP_COUNT] = { 0 };

        for (size_t i = 0; i < 3; i++) {
            enum ad_capability c;

            assert_int_equal(ad_capability_parse(jstr(nv[i].payload, "capability"), &c), 0);
            seen[c]++;
        }
        assert_int_equal(seen[AD_CAP_MEMENTO] + seen[AD_CAP_ALPHA] * 10 +
                         seen[AD_CAP_BACKGROUND] * 100, 111);
    }
    ad_notification_list_free(nv, n);
    assert_int_equal(events_on(f, "agent.maturity", &ev), 2);
    assert_string_equal(jstr(ev, "from"), "STUDENT");
    assert_string_equal(jstr(ev, "to"), "AUTONOMOUS");
    assert_string_equal(jstr(ev, "reason"), "");
    json_decref(ev);

    /* Going down unlocks nothing, but is recorded. */
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, fresh, AD_INTERN,
                                              "demoted", &unlocked, &err), 0);
    assert_int_equal(unlocked, 0);
    assert_int_equal(maturity_of(f, fresh), AD_INTERN);
    assert_int_equal(notes_of(f, "auto_dev_capability_unlocked", NULL), 4);
    assert_int_equal(events_on(f, "agent.maturity", &ev), 3);
    assert_string_equal(jstr(ev, "from"), "AUTONOMOUS");
    assert_string_equal(jstr(ev, "to"), "INTERN");
    json_decref(ev);
    /* INTERN -> SUPERVISED again unlocks AlphaEvolver only. */
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, fresh, AD_SUPERVISED,
                                              "again", &unlocked, &err), 0);
    assert_int_equal(unlocked, 1);

    /* Refusals change nothing. */
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, fresh,
                                              (enum ad_maturity)9, "x", &unlocked, &err),
                     AD_EINVAL);
    assert_int_equal(ad_id_new(fake), 0);
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, fake, AD_INTERN, "x",
                                              &unlocked, &err), AD_ENOTFOUND);
    assert_int_equal(unlocked, 0);
    assert_int_equal(events_on(f, "agent.maturity", NULL), 4);
    assert_int_equal(ad_store_tx_depth(f->st), 0);
}

/* n episodes of agent: the first `interventions` with a human stepping in. */
static void episodes(struct fx *f, const char *agent, int n, int interventions, double score)
{
    for (int i = 0; i < n; i++) {
        struct ep_spec s = { .agent = agent, .task = "sum the list", .score = score };

        s.intervention = i < interventions;
        s.success = !s.intervention;
        s.trace = s.intervention ? "ValueError: bad list" : NULL;
        episode(f, &s, NULL);
    }
}

static void test_readiness_new_agent(void **state)
{
    struct fx *f = *state;
    struct ad_readiness r;
    struct ad_err err = AD_ERR_INIT;
    json_t *j, *crit;

    assert_int_equal(ad_readiness_compute(f->st, f->tenant, f->student, &r, &err), 0);
    assert_int_equal(r.current, AD_STUDENT);
    assert_int_equal(r.next, AD_INTERN);
    assert_false(r.at_top);
    assert_false(r.ready);
    assert_true(r.score == 0.0);
    assert_string_equal(r.items[0].name, "episodes");
    assert_string_equal(r.items[1].name, "intervention_rate");
    assert_string_equal(r.items[2].name, "constitutional");
    for (int i = 0; i < 3; i++) {
        assert_false(r.items[i].met);
        assert_true(r.items[i].score == 0.0);
        assert_true(r.items[i].gap[0] != '\0');
    }
    assert_string_equal(r.items[0].gap, "10 more episodes (0 of 10)");
    assert_true(isnan(r.items[1].value));
    assert_true(isnan(r.items[2].value));
    assert_near(r.items[0].weight + r.items[1].weight + r.items[2].weight, 1.0);

    j = ad_readiness_json(&r);
    assert_non_null(j);
    assert_string_equal(jstr(j, "maturity"), "STUDENT");
    assert_string_equal(jstr(j, "next"), "INTERN");
    crit = json_object_get(j, "criteria");
    assert_int_equal(json_array_size(crit), 3);
    assert_true(json_is_null(json_object_get(json_array_get(crit, 1), "value")));
    assert_string_equal(jstr(json_array_get(crit, 0), "gap"), "10 more episodes (0 of 10)");
    json_decref(j);
}

static void test_graduate_ready(void **state)
{
    struct fx *f = *state;
    struct ad_readiness r;
    struct ad_err err = AD_ERR_INIT;
    double rate = 2.0 / 10.0, c_mean = 0.8, want;
    json_t *ev = NULL;

    episodes(f, f->student, 10, 2, 0.8);
    assert_int_equal(ad_readiness_compute(f->st, f->tenant, f->student, &r, &err), 0);
    assert_int_equal(r.record.episodes, 10);
    assert_int_equal(r.record.interventions, 2);
    assert_int_equal(r.record.constitutional_n, 10);
    assert_near(r.items[0].value, 10);
    assert_near(r.items[1].value, 0.2);
    assert_near(r.items[2].value, 0.8);
    for (int i = 0; i < 3; i++) {
        assert_true(r.items[i].met);
        assert_string_equal(r.items[i].gap, "");
    }
    want = 0.4 * fmin(1.0, 10.0 / 10.0) + 0.3 * fmin(1.0, fmax(0.0, (1 - rate) / (1 - 0.5))) +
           0.3 * fmin(1.0, fmax(0.0, c_mean / 0.7));
    assert_near(want, 1.0);
    assert_near(r.score, want);
    assert_true(r.ready);

    assert_int_equal(ad_agent_graduate(f->st, f->bus, f->tenant, f->student, &r, &err), 0);
    assert_int_equal(maturity_of(f, f->student), AD_INTERN);
    assert_int_equal(notes_of(f, "auto_dev_capability_unlocked", NULL), 1);
    assert_int_equal(events_on(f, "agent.maturity", &ev), 1);
    assert_string_equal(jstr(ev, "to"), "INTERN");
    assert_has(jstr(ev, "reason"), "graduated: readiness 100.0%; 10 episodes (>= 10)");
    json_decref(ev);

    /* The next level's targets now apply: 25 episodes, < 20%, > 0.85. */
    assert_int_equal(ad_readiness_compute(f->st, f->tenant, f->student, &r, &err), 0);
    assert_int_equal(r.next, AD_SUPERVISED);
    assert_false(r.ready);
    assert_false(r.items[0].met);
    assert_false(r.items[1].met);        /* 0.2 is not below 0.2 */
    assert_false(r.items[2].met);
    assert_near(r.score, 0.4 * 10.0 / 25.0 + 0.3 * 1.0 + 0.3 * 0.8 / 0.85);
}

static void test_graduate_refused(void **state)
{
    struct fx *f = *state;
    struct ad_readiness r;
    struct ad_err err = AD_ERR_INIT;
    char top[AD_ID_SIZE];

    episodes(f, f->student, 10, 6, 0.8);
    assert_int_equal(ad_readiness_compute(f->st, f->tenant, f->student, &r, &err), 0);
    assert_true(r.items[0].met);
    assert_false(r.items[1].met);
    assert_true(r.items[2].met);
    assert_string_equal(r.items[1].gap, "intervention rate 60.0% must fall below 50%");
    assert_near(r.score, 0.4 + 0.3 * (0.4 / 0.5) + 0.3);
    assert_false(r.ready);
    assert_int_equal(ad_agent_graduate(f->st, f->bus, f->tenant, f->student, &r, &err),
                     AD_ESTATE);
    assert_has(err.msg, "not ready for INTERN: intervention rate 60.0% must fall below 50%");
    assert_int_equal(maturity_of(f, f->student), AD_STUDENT);
    assert_int_equal(events_on(f, "agent.maturity", NULL), 0);
    assert_int_equal(notes_of(f, NULL, NULL), 0);

    make_agent(f, "top", AD_AUTONOMOUS, top);
    episodes(f, top, 3, 0, 1.0);
    assert_int_equal(ad_readiness_compute(f->st, f->tenant, top, &r, &err), 0);
    assert_true(r.at_top);
    assert_int_equal(r.next, AD_AUTONOMOUS);
    assert_false(r.ready);
    assert_int_equal(ad_agent_graduate(f->st, f->bus, f->tenant, top, &r, &err), AD_ESTATE);
    assert_has(err.msg, "already AUTONOMOUS");
    assert_int_equal(maturity_of(f, top), AD_AUTONOMOUS);
    {
        json_t *j = ad_readiness_json(&r);

        assert_non_null(j);
        assert_true(json_is_null(json_object_get(j, "next")));
        assert_true(json_is_true(json_object_get(j, "at_top")));
        json_decref(j);
    }
}

/* ---- reflection --------------------------------------------------------------- */

static void attach(struct fx *f)
{
    struct ad_err err = AD_ERR_INIT;

    assert_int_equal(ad_reflection_attach(&f->refl, f->st, f->bus, &err), 0);
}

static void test_reflection_queues_once(void **state)
{
    struct fx *f = *state;
    struct ad_job *jobs = NULL;
    char e1[AD_ID_SIZE], e2[AD_ID_SIZE], e3[AD_ID_SIZE];
    json_t *ev = NULL, *ids;
    char job_id[AD_ID_SIZE];
    size_t n;

    enable_all(f, true);
    attach(f);
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, e1);
    assert_int_equal(memento_jobs(f, NULL), 0);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, NULL), 0);

    /* The second similar failure makes the pattern: one job. */
    fail_task(f, f->intern, INVOICE_TASK, "Traceback (most recent call last):\n  ...\n"
                                          "NoSkillError: none\n", e2);
    n = memento_jobs(f, &jobs);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].status, AD_JOB_QUEUED);
    assert_int_equal(jobs[0].max_attempts, 3);
    assert_string_equal(jstr(jobs[0].payload, "agent_id"), f->intern);
    assert_string_equal(jstr(jobs[0].payload, "task"), INVOICE_TASK);
    assert_string_equal(jstr(jobs[0].payload, "error_type"), "NoSkillError");
    ids = json_object_get(jobs[0].payload, "episode_ids");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), e2);
    assert_string_equal(json_string_value(json_array_get(ids, 1)), e1);
    assert_int_equal(json_array_size(json_object_get(jobs[0].payload, "previous")), 0);
    snprintf(job_id, sizeof(job_id), "%s", jobs[0].id);
    ad_job_list_free(jobs, n);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, &ev), 1);
    assert_string_equal(jstr(ev, "decision"), "queued");
    assert_string_equal(jstr(ev, "job_id"), job_id);
    assert_string_equal(jstr(ev, "episode_id"), e2);
    assert_int_equal(json_integer_value(json_object_get(ev, "group")), 2);
    assert_int_equal(json_integer_value(json_object_get(ev, "threshold")), 2);
    json_decref(ev);

    /* A third, reworded (Jaccard 5/9): the pattern is open, no second job. */
    fail_task(f, f->intern, "Extract the invoice id from that e-mail", NO_SKILL, e3);
    assert_int_equal(memento_jobs(f, NULL), 1);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, &ev), 2);
    assert_string_equal(jstr(ev, "decision"), "open");
    assert_string_equal(jstr(ev, "job_id"), job_id);
    assert_string_equal(jstr(ev, "episode_id"), e3);
    assert_int_equal(json_integer_value(json_object_get(ev, "group")), 3);
    json_decref(ev);

    /* Another error type, or another task, is another pattern of one. */
    fail_task(f, f->intern, INVOICE_TASK, "ValueError: bad id", NULL);
    fail_task(f, f->intern, "Translate this French poem into English", NO_SKILL, NULL);
    fail_task(f, f->intern, "Summarise the quarterly report", NULL, NULL);
    assert_int_equal(memento_jobs(f, NULL), 1);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, NULL), 2);
    /* Successes are not reflected on. */
    {
        struct ep_spec s = { .agent = f->intern, .task = INVOICE_TASK, .success = true,
                             .score = NAN };

        episode(f, &s, NULL);
        episode(f, &s, NULL);
    }
    assert_int_equal(memento_jobs(f, NULL), 1);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, NULL), 2);
}

/*
 * Failures of the infrastructure, not of the task, queue nothing however
 * often they repeat: the sandbox (as task.c records it), the model and a
 * cost cap (as the agent loop records them), and an outside agent's own
 * "InfrastructureError". The same task failing for want of a skill still
 * does.
 */
static void test_reflection_ignores_infrastructure(void **state)
{
    static const char *const traces[] = {
        "LLMError: openai:gpt-4o-mini: failed after 3 attempts: HTTP 503",
        "LLMError: daily llm token cap reached: 5000 of 5000 tokens used since 00:00 UTC",
        "CostLimitReached: spent $0.510000 of the $0.500000 limit",
        "InfrastructureError: the agent's vector store is down",
    };
    struct fx *f = *state;
    struct ad_reflection_result res;
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;
    char type[AD_ERROR_TYPE_MAX + 1], id[AD_ID_SIZE];
    char *trace;

    enable_all(f, true);
    attach(f);
    /* What task.c records for a sandbox that failed is an infrastructure failure. */
    memset(&r, 0, sizeof(r));
    r.status = AD_SB_SANDBOX_ERROR;
    trace = ad_skill_result_error(&r);
    assert_non_null(trace);
    for (int i = 0; i < 3; i++)
        fail_task(f, f->intern, INVOICE_TASK, trace, NULL);
    assert_true(ad_text_error_type(trace, type));
    assert_true(ad_failure_is_infrastructure(type));
    free(trace);
    for (size_t i = 0; i < AD_ARRAY_SIZE(traces); i++) {
        fail_task(f, f->intern, INVOICE_TASK, traces[i], NULL);
        fail_task(f, f->intern, INVOICE_TASK, traces[i], id);
    }
    assert_int_equal(memento_jobs(f, NULL), 0);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, NULL), 0);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, id, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_INFRASTRUCTURE);
    assert_string_equal(ad_reflection_action_name(res.action), "infrastructure");
    assert_false(ad_failure_is_infrastructure(NULL));
    assert_false(ad_failure_is_infrastructure("NoSkillError"));
    assert_false(ad_failure_is_infrastructure("TimeoutError"));   /* the skill's own */

    /* The task itself failing (no skill) is what Memento is for. */
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    assert_int_equal(memento_jobs(f, NULL), 1);
}

static void test_reflection_denied(void **state)
{
    struct fx *f = *state;
    json_t *ev = NULL, *reasons;

    enable_all(f, true);
    attach(f);
    fail_task(f, f->student, INVOICE_TASK, NO_SKILL, NULL);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, NULL), 0);
    fail_task(f, f->student, INVOICE_TASK, NO_SKILL, NULL);
    assert_int_equal(memento_jobs(f, NULL), 0);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, &ev), 1);
    assert_string_equal(jstr(ev, "decision"), "denied");
    assert_string_equal(jstr(ev, "agent_id"), f->student);
    assert_true(json_is_null(json_object_get(ev, "job_id")));
    reasons = json_object_get(ev, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_has(json_string_value(json_array_get(reasons, 0)), "STUDENT");
    assert_has(json_string_value(json_array_get(reasons, 0)), "needs INTERN");
    json_decref(ev);
    /* The student's failures are not the intern's. */
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    assert_int_equal(memento_jobs(f, NULL), 0);

    /* Workspace off: denied, saying so. */
    enable_all(f, false);
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    assert_int_equal(memento_jobs(f, NULL), 0);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, &ev), 2);
    assert_string_equal(jstr(ev, "decision"), "denied");
    reasons = json_object_get(ev, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_has(json_string_value(json_array_get(reasons, 0)), "setting enabled is false");
    json_decref(ev);

    /* At the daily limit: denied, saying which limit. */
    enable_all(f, true);
    {
        struct ad_settings s = get_settings(f);

        s.max_skill_candidates_per_day = 1;
        put_settings(f, &s);
    }
    insert_candidate(f, "todays_only");
    fail_task(f, f->intern, "Parse the shipping label", "KeyError: 'zip'", NULL);
    fail_task(f, f->intern, "Parse the shipping label", "KeyError: 'zip'", NULL);
    assert_int_equal(memento_jobs(f, NULL), 0);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_PATTERN, &ev), 3);
    assert_string_equal(jstr(ev, "decision"), "denied");
    assert_string_equal(jstr(ev, "error_type"), "KeyError");
    reasons = json_object_get(ev, "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_has(json_string_value(json_array_get(reasons, 0)), "daily limit reached: 1 of 1");
    json_decref(ev);
}

static void test_reflection_threshold_and_window(void **state)
{
    struct fx *f = *state;
    struct ad_settings s;
    struct ad_job *jobs = NULL;
    char old[AD_ID_SIZE], e2[AD_ID_SIZE], e3[AD_ID_SIZE], ago[AD_TIME_SIZE], sql[256];
    json_t *ids;
    size_t n;

    enable_all(f, true);
    s = get_settings(f);
    s.reflection_threshold = 3;
    put_settings(f, &s);
    attach(f);
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    assert_int_equal(memento_jobs(f, NULL), 0);
    fail_task(f, f->intern, INVOICE_TASK, NO_SKILL, NULL);
    n = memento_jobs(f, &jobs);
    assert_int_equal(n, 1);
    assert_int_equal(json_array_size(json_object_get(jobs[0].payload, "episode_ids")), 3);
    ad_job_list_free(jobs, n);

    /* A failure older than the window (24 hours) is forgotten. */
    s.reflection_threshold = 2;
    put_settings(f, &s);
    fail_task(f, f->student, "Parse the shipping label", "KeyError: 'zip'", old);
    ad_time_iso(ad_now_ms() - 48LL * 3600 * 1000, ago);
    snprintf(sql, sizeof(sql), "UPDATE episodes SET created_at = '%s' WHERE id = '%s'", ago,
             old);
    sql_exec(f->db.path, sql);
    assert_int_equal(ad_agent_change_maturity(f->st, f->bus, f->tenant, f->student, AD_INTERN,
                                              "for the window", NULL, NULL), 0);
    fail_task(f, f->student, "Parse the shipping label", "KeyError: 'zip'", e2);
    assert_int_equal(memento_jobs(f, NULL), 1);
    fail_task(f, f->student, "Parse the shipping label", "KeyError: 'zip'", e3);
    n = memento_jobs(f, &jobs);
    assert_int_equal(n, 2);
    assert_string_equal(jstr(jobs[0].payload, "agent_id"), f->student);
    ids = json_object_get(jobs[0].payload, "episode_ids");
    assert_int_equal(json_array_size(ids), 2);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), e3);
    assert_string_equal(json_string_value(json_array_get(ids, 1)), e2);
    ad_job_list_free(jobs, n);
}

/* A pending candidate of the intern for the invoice pattern. */
static void open_candidate(struct fx *f, char id[AD_ID_SIZE])
{
    struct ad_skill_candidate c;
    struct ad_err err = AD_ERR_INIT;

    ad_skill_candidate_init(&c);
    snprintf(c.tenant_id, sizeof(c.tenant_id), "%s", f->tenant);
    snprintf(c.agent_id, sizeof(c.agent_id), "%s", f->intern);
    c.skill_name = strdup("extract_invoice_id");
    c.generated_code = strdup("def extract_invoice_id(text: str) -> str:\n    return text\n");
    c.failure_pattern = json_pack("{s:s, s:s, s:[]}", "task", INVOICE_TASK, "error_type",
                                  "NoSkillError", "episode_ids");
    assert_int_equal(ad_store_candidate_insert(f->st, &c, 0, &err), 0);
    snprintf(id, AD_ID_SIZE, "%s", c.id);
    ad_skill_candidate_release(&c);
}

/* Direct calls: what the handler decides, in res. */
static void test_reflection_process(void **state)
{
    struct fx *f = *state;
    struct ad_reflection_result res;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j = { 0 }, *jobs = NULL;
    struct ep_spec s = { .agent = f->intern, .task = INVOICE_TASK, .trace = NO_SKILL,
                         .score = NAN, .quiet = true };
    char e1[AD_ID_SIZE], e2[AD_ID_SIZE], ok[AD_ID_SIZE], cand[AD_ID_SIZE], first[AD_ID_SIZE];
    json_t *prev;
    size_t n;

    assert_string_equal(ad_reflection_action_name(AD_REFLECT_NONE), "none");
    assert_string_equal(ad_reflection_action_name(AD_REFLECT_QUEUED), "queued");
    assert_string_equal(ad_reflection_action_name(AD_REFLECT_OPEN), "open");
    assert_string_equal(ad_reflection_action_name(AD_REFLECT_DENIED), "denied");

    episode(f, &s, e1);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, e1, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_NONE);
    assert_int_equal(res.group, 1);
    assert_int_equal(res.threshold, 2);
    episode(f, &s, e2);
    /* Off: denied, nothing queued. */
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, e2, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_DENIED);
    assert_int_equal(res.group, 2);
    assert_string_equal(res.job_id, "");
    assert_int_equal(memento_jobs(f, NULL), 0);

    enable_all(f, true);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, e2, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_QUEUED);
    assert_int_equal(res.group, 2);
    assert_true(ad_id_valid(res.job_id));
    snprintf(first, sizeof(first), "%s", res.job_id);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, e1, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_OPEN);
    assert_string_equal(res.job_id, first);
    assert_string_equal(res.candidate_id, "");
    assert_int_equal(memento_jobs(f, NULL), 1);

    /* A successful episode: nothing to reflect on. */
    s.success = true;
    s.trace = NULL;
    episode(f, &s, ok);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, ok, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_NONE);
    assert_int_equal(res.group, 0);

    /* The job is done; a candidate under review keeps the pattern open. */
    assert_int_equal(ad_store_job_claim(f->st, f->tenant, AD_MEMENTO_JOB, "w", ad_now_ms(),
                                        60000, &j, &err), 0);
    assert_string_equal(j.id, first);
    assert_int_equal(ad_store_job_finish(f->st, f->tenant, j.id, "w", AD_JOB_DONE, NULL, NULL,
                                         &err), 0);
    ad_job_release(&j);
    open_candidate(f, cand);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, e2, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_OPEN);
    assert_string_equal(res.job_id, "");
    assert_string_equal(res.candidate_id, cand);

    /* Rejected, the pattern is queued again with the reason as "previous". */
    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, cand, "ann", "too clever",
                                       &err), 0);
    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, e2, &res, &err), 0);
    assert_int_equal(res.action, AD_REFLECT_QUEUED);
    n = memento_jobs(f, &jobs);
    assert_int_equal(n, 2);
    assert_string_equal(jobs[0].id, res.job_id);
    prev = json_object_get(jobs[0].payload, "previous");
    assert_int_equal(json_array_size(prev), 1);
    assert_string_equal(jstr(json_array_get(prev, 0), "candidate_id"), cand);
    assert_string_equal(jstr(json_array_get(prev, 0), "status"), "rejected");
    assert_string_equal(jstr(json_array_get(prev, 0), "reason"), "too clever");
    ad_job_list_free(jobs, n);

    assert_int_equal(ad_reflection_process(f->st, f->bus, f->tenant, "not-an-episode", &res,
                                           &err) < 0, 1);
}

/* ---- the Memento engine: analyse and prompt ------------------------------- */

static void test_analyse(void **state)
{
    struct fx *f = *state;
    struct ad_err err = AD_ERR_INIT;
    json_t *in_a = json_pack("{s:s}", "text", "A 1"), *in_b = json_pack("{s:s}", "text", "B 2");
    json_t *out_a = json_string("a-1"), *t1 = json_pack("[s]", "regex"),
           *t12 = json_pack("[s, s]", "regex", "split");
    struct ep_spec s = { .agent = f->intern, .task = INVOICE_TASK, .score = NAN, .quiet = true };
    char e1[AD_ID_SIZE], e2[AD_ID_SIZE], e3[AD_ID_SIZE], fake[AD_ID_SIZE];
    json_t *ids, *p = NULL, *ex;

    s.trace = NO_SKILL;
    s.input = in_a;
    s.expected = out_a;
    episode(f, &s, e1);
    s.trace = "Traceback (most recent call last):\nKeyError: 'x'";
    s.input = in_b;
    s.expected = NULL;
    s.tools = t1;
    episode(f, &s, e2);
    s.trace = NO_SKILL;
    s.input = in_a;
    s.expected = out_a;
    s.tools = t12;
    episode(f, &s, e3);

    ids = json_pack("[s, s, s]", e3, e2, e1);
    assert_int_equal(ad_memento_analyse(f->st, f->tenant, ids, &p, &err), 0);
    json_decref(ids);
    assert_string_equal(jstr(p, "agent_id"), f->intern);
    assert_string_equal(jstr(p, "task"), INVOICE_TASK);
    assert_string_equal(jstr(p, "task_kind"), "extraction");
    assert_string_equal(jstr(p, "error_type"), "NoSkillError");
    assert_string_equal(jstr(p, "suggested_name"), "extract_invoice_id");
    assert_int_equal(json_array_size(json_object_get(p, "errors")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "errors"), 0)),
                        NO_SKILL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "errors"), 1)),
                        "Traceback (most recent call last):\nKeyError: 'x'");
    assert_true(json_equal(json_object_get(p, "tools_attempted"), t12));
    ex = json_object_get(p, "examples");
    assert_int_equal(json_array_size(ex), 2);
    assert_string_equal(jstr(json_array_get(ex, 0), "episode_id"), e3);
    assert_true(json_equal(json_object_get(json_array_get(ex, 0), "input"), in_a));
    assert_true(json_equal(json_object_get(json_array_get(ex, 0), "expected"), out_a));
    assert_string_equal(jstr(json_array_get(ex, 1), "episode_id"), e2);
    assert_true(json_equal(json_object_get(json_array_get(ex, 1), "input"), in_b));
    /* It recorded no expected output: the example has none (not a JSON null). */
    assert_null(json_object_get(json_array_get(ex, 1), "expected"));
    ids = json_object_get(p, "episode_ids");
    assert_int_equal(json_array_size(ids), 3);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), e3);
    assert_string_equal(json_string_value(json_array_get(ids, 2)), e1);
    json_decref(p);

    /* An expected output of JSON null is a value, kept as such. */
    {
        json_t *in_c = json_pack("{s:s}", "text", "C 3");
        char e4[AD_ID_SIZE];

        s.input = in_c;
        s.expected = json_null();
        episode(f, &s, e4);
        ids = json_pack("[s, s]", e4, e2);
        assert_int_equal(ad_memento_analyse(f->st, f->tenant, ids, &p, &err), 0);
        ex = json_object_get(p, "examples");
        assert_true(json_is_null(json_object_get(json_array_get(ex, 0), "expected")));
        assert_null(json_object_get(json_array_get(ex, 1), "expected"));
        json_decref(ids);
        json_decref(p);
        json_decref(in_c);
    }

    /* Episodes gone since are skipped; all gone is AD_ENOTFOUND. */
    assert_int_equal(ad_id_new(fake), 0);
    ids = json_pack("[s, s]", fake, e2);
    assert_int_equal(ad_memento_analyse(f->st, f->tenant, ids, &p, &err), 0);
    json_decref(ids);
    assert_int_equal(json_array_size(json_object_get(p, "episode_ids")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "episode_ids"), 0)),
                        e2);
    assert_string_equal(jstr(p, "error_type"), "KeyError");
    json_decref(p);
    ids = json_pack("[s]", fake);
    assert_int_equal(ad_memento_analyse(f->st, f->tenant, ids, &p, &err), AD_ENOTFOUND);
    assert_null(p);
    json_decref(ids);

    /* Bad input names the field. */
    ids = json_array();
    assert_int_equal(ad_memento_analyse(f->st, f->tenant, ids, &p, &err), AD_EINVAL);
    assert_has(err.msg, "episode_ids");
    json_decref(ids);
    ids = json_pack("[s, i]", e1, 3);
    assert_int_equal(ad_memento_analyse(f->st, f->tenant, ids, &p, &err), AD_EINVAL);
    assert_has(err.msg, "item 1 is not an id");
    assert_null(p);
    json_decref(ids);

    json_decref(in_a);
    json_decref(in_b);
    json_decref(out_a);
    json_decref(t1);
    json_decref(t12);
}

static void test_prompt(void **state)
{
    struct ad_buf sys = AD_BUF_INIT, user = AD_BUF_INIT;
    struct ad_err err = AD_ERR_INIT;
    json_t *p = json_pack("{s:s, s:s, s:s, s:[s], s:[s], s:[{s:{s:s}, s:s}], s:s}", "task",
                          INVOICE_TASK, "task_kind", "extraction", "error_type", "NoSkillError",
                          "errors", NO_SKILL, "tools_attempted", "regex_find", "examples",
                          "input", "text", "INV-2024-0042 here", "expected", "INV-2024-0042",
                          "suggested_name", "extract_invoice_id");
    json_t *prev = json_pack("[{s:s, s:s}]", "status", "rejected", "reason",
                             "too slow on long mails");

    (void)state;
    assert_int_equal(ad_memento_prompt(p, prev, &sys, &user, &err), 0);
    assert_has(sys.ptr, "exactly one self-contained Python function");
    assert_has(sys.ptr, "Type hints");
    assert_has(sys.ptr, "no file writes");
    assert_has(user.ptr, "Task: " INVOICE_TASK "\n");
    assert_has(user.ptr, "Task kind: extraction\n");
    assert_has(user.ptr, "Error type: NoSkillError\n");
    assert_has(user.ptr, "Errors seen:\n" NO_SKILL "\n");
    assert_has(user.ptr, "Tools tried: \"regex_find\"\n");
    assert_has(user.ptr, "1. input: {\"text\":\"INV-2024-0042 here\"}\n"
                         "   expected output: \"INV-2024-0042\"\n");
    assert_has(user.ptr, "Earlier attempts at this skill were turned down");
    assert_has(user.ptr, "- rejected: too slow on long mails\n");
    assert_has(user.ptr, "Write the function `extract_invoice_id`.");
    assert_has(user.ptr, "keyword arguments: text: str.\n");
    ad_buf_release(&sys);
    ad_buf_release(&user);

    /*
     * An example that recorded no expected output says nothing about one; an
     * expected JSON null is a value the function must return.
     */
    json_array_append_new(json_object_get(p, "examples"),
                          json_pack("{s:{s:s}}", "input", "text", "no id at all"));
    json_array_append_new(json_object_get(p, "examples"),
                          json_pack("{s:{s:s}, s:n}", "input", "text", "nothing", "expected"));
    assert_int_equal(ad_memento_prompt(p, NULL, &sys, &user, &err), 0);
    assert_has(user.ptr, "2. input: {\"text\":\"no id at all\"}\n3. input:");
    assert_has(user.ptr, "3. input: {\"text\":\"nothing\"}\n"
                         "   expected output: null (the function returns None)\n");
    json_array_remove(json_object_get(p, "examples"), 2);
    json_array_remove(json_object_get(p, "examples"), 1);
    ad_buf_release(&sys);
    ad_buf_release(&user);

    /* No previous attempts: no such paragraph. */
    assert_int_equal(ad_memento_prompt(p, NULL, &sys, &user, &err), 0);
    assert_null(strstr(user.ptr, "Earlier attempts"));
    ad_buf_release(&sys);
    ad_buf_release(&user);

    /* A scalar input is one positional argument; none at all, free choice. */
    json_object_set_new(json_array_get(json_object_get(p, "examples"), 0), "input",
                        json_integer(42));
    assert_int_equal(ad_memento_prompt(p, NULL, &sys, &user, &err), 0);
    assert_has(user.ptr, "one positional argument of type int");
    ad_buf_release(&sys);
    ad_buf_release(&user);
    json_object_del(p, "examples");
    json_object_del(p, "suggested_name");
    assert_int_equal(ad_memento_prompt(p, NULL, &sys, &user, &err), 0);
    assert_has(user.ptr, "Write the function `new_skill`. No recorded input is known");
    assert_null(strstr(user.ptr, "Examples the function must handle"));
    ad_buf_release(&sys);
    ad_buf_release(&user);
    json_decref(p);
    json_decref(prev);
}

/* ---- the Memento engine: validation and review -------------------------------- */

static const char code_ok[] =
    "import re\n"
    "\n"
    "def extract_invoice_id(text: str) -> str:\n"
    "    \"\"\"Extract the invoice id from a text.\"\"\"\n"
    "    m = re.search(r'INV-\\d{4}-\\d{4}', text)\n"
    "    if not m:\n"
    "        raise ValueError('no invoice id in the text')\n"
    "    return m.group(0)\n";

static const char code_syntax[] =
    "def extract_invoice_id(text: str) -> str:\n"
    "    return text[\n";

static const char code_raises[] =
    "def extract_invoice_id(text: str) -> str:\n"
    "    \"\"\"Extract the invoice id.\"\"\"\n"
    "    raise LookupError('no idea where the id is')\n";

static const char code_wrong[] =
    "def extract_invoice_id(text: str) -> str:\n"
    "    \"\"\"Extract the invoice id.\"\"\"\n"
    "    return text.split()[0].lower()\n";

/*
 * A hand-made candidate of the intern from one failed invoice episode,
 * inserted pending (release c).
 */
/* A pending candidate of code made by job (NULL: none) from one fresh failure. */
static void make_job_candidate(struct fx *f, const char *code, const char *job,
                               struct ad_skill_candidate *c)
{
    struct ep_spec s = { .agent = f->intern, .task = INVOICE_TASK, .trace = NO_SKILL,
                         .score = NAN, .quiet = true };
    struct ad_err err = AD_ERR_INIT;
    char ep[AD_ID_SIZE];

    episode(f, &s, ep);
    ad_skill_candidate_init(c);
    snprintf(c->tenant_id, sizeof(c->tenant_id), "%s", f->tenant);
    snprintf(c->agent_id, sizeof(c->agent_id), "%s", f->intern);
    snprintf(c->source_episode_id, sizeof(c->source_episode_id), "%s", ep);
    c->skill_name = strdup("extract_invoice_id");
    c->generated_code = strdup(code);
    c->failure_pattern = json_pack("{s:s, s:s, s:[s], s:[{s:{s:s}, s:s}]}", "task",
                                   INVOICE_TASK, "error_type", "NoSkillError", "episode_ids",
                                   ep, "examples", "input", "text", "INV-2024-0042 here",
                                   "expected", "INV-2024-0042");
    c->status = AD_CAND_PENDING;
    assert_non_null(c->failure_pattern);
    if (job)
        json_object_set_new(c->failure_pattern, "job_id", json_string(job));
    assert_int_equal(ad_store_candidate_insert(f->st, c, 0, &err), 0);
}

static void make_candidate(struct fx *f, const char *code, struct ad_skill_candidate *c)
{
    make_job_candidate(f, code, NULL, c);
}

/* Makes and validates a candidate of code; c keeps the outcome (release it). */
static void validated(struct fx *f, const char *code, struct ad_skill_candidate *c)
{
    struct ad_err err = AD_ERR_INIT;

    make_candidate(f, code, c);
    if (ad_memento_validate(f->st, f->bus, sb, NULL, c, &err))
        fail_msg("validate: %s", err.msg);
}

static const json_t *check(const struct ad_skill_candidate *c, size_t i)
{
    return json_array_get(json_object_get(c->validation_result, "checks"), i);
}

static int vr_int(const struct ad_skill_candidate *c, const char *key)
{
    return (int)json_integer_value(json_object_get(c->validation_result, key));
}

static void test_validate_ok(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate c, got;
    struct ad_sandbox_result r;
    struct ad_notification *nv = NULL;
    struct ad_capability_count cnt;
    struct ad_err err = AD_ERR_INIT;
    json_t *ev = NULL, *in;
    size_t n;

    validated(f, code_ok, &c);
    assert_int_equal(c.status, AD_CAND_VALIDATED);
    assert_int_equal(vr_int(&c, "passed"), 2);
    assert_int_equal(vr_int(&c, "total"), 2);
    assert_string_equal(jstr(c.validation_result, "summary"), "passed 2 of 2 checks");
    assert_string_equal(jstr(check(&c, 0), "name"), "load");
    assert_true(json_is_true(json_object_get(check(&c, 0), "ok")));
    assert_string_equal(jstr(check(&c, 1), "name"), "example 1");
    assert_true(json_is_true(json_object_get(check(&c, 1), "ok")));
    assert_string_equal(jstr(check(&c, 1), "output"), "INV-2024-0042");
    assert_int_equal(strlen(c.validated_at), 24);

    /* Stored, with its notification, usage and event. */
    ad_skill_candidate_init(&got);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, c.id, &got, &err), 0);
    assert_int_equal(got.status, AD_CAND_VALIDATED);
    assert_true(json_equal(got.validation_result, c.validation_result));
    assert_string_equal(got.validated_at, c.validated_at);
    ad_skill_candidate_release(&got);
    n = notes_of(f, "skill_candidate_validated", &nv);
    assert_int_equal(n, 1);
    assert_string_equal(jstr(nv[0].payload, "candidate_id"), c.id);
    assert_string_equal(jstr(nv[0].payload, "status"), "validated");
    assert_string_equal(nv[0].agent_id, f->intern);
    assert_has(nv[0].message, c.id);
    ad_notification_list_free(nv, n);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->intern,
                                                     "auto_dev.memento_skills", NULL, &cnt,
                                                     &err), 0);
    assert_int_equal(cnt.uses, 1);
    assert_int_equal(cnt.successes, 1);
    assert_int_equal(events_on(f, "memento.candidate", &ev), 1);
    assert_string_equal(jstr(ev, "candidate_id"), c.id);
    assert_string_equal(jstr(ev, "status"), "validated");
    json_decref(ev);

    /* Trying it on another input records nothing. */
    in = json_pack("{s:s}", "text", "see INV-1999-0001 attached");
    assert_int_equal(ad_memento_try(sb, &c, in, NULL, &r, &err), 0);
    assert_int_equal(r.status, AD_SB_OK);
    assert_string_equal(json_string_value(r.output), "INV-1999-0001");
    ad_sandbox_result_clear(&r);
    json_decref(in);
    assert_int_equal(events_on(f, "memento.candidate", NULL), 1);
    ad_skill_candidate_release(&c);
}

/*
 * A memento job whose process died after it wrote its candidate: the rerun
 * of the same job validates that candidate and asks no model (llm NULL
 * here would fail any model call); another job with no model fails.
 */
static void test_generate_resumes_a_killed_job(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate c, out;
    struct ad_memento_opts o = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_candidate_filter filter = { 0 };
    struct ad_skill_candidate *v = NULL;
    size_t n = 0;
    json_t *payload;

    make_job_candidate(f, code_ok, "job-of-the-first-run", &c);
    payload = json_pack("{s:s, s:[s]}", "agent_id", f->intern, "episode_ids",
                        c.source_episode_id);
    assert_non_null(payload);
    o.tenant_id = f->tenant;
    o.job_id = "job-of-the-first-run";
    ad_skill_candidate_init(&out);
    if (ad_memento_generate(f->st, f->bus, sb, NULL, &o, payload, &out, &err))
        fail_msg("resume: %s", err.msg);
    assert_string_equal(out.id, c.id);
    assert_int_equal(out.status, AD_CAND_VALIDATED);
    assert_int_equal(out.review_status, AD_REVIEW_PENDING);
    ad_skill_candidate_release(&out);
    /* Run once more: the finished candidate is the answer, nothing new is written. */
    assert_int_equal(ad_memento_generate(f->st, f->bus, sb, NULL, &o, payload, &out, &err), 0);
    assert_string_equal(out.id, c.id);
    ad_skill_candidate_release(&out);
    filter.agent_id = f->intern;
    assert_int_equal(ad_store_candidate_list(f->st, f->tenant, &filter, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    ad_skill_candidate_list_free(v, n);
    /* A job that made nothing yet asks the gate first (closed here: auto-dev is off). */
    o.job_id = "another-job";
    assert_int_equal(ad_memento_generate(f->st, f->bus, sb, NULL, &o, payload, &out, &err),
                     AD_EPERM);
    assert_has(err.msg, "denied");
    ad_skill_candidate_release(&out);
    ad_skill_candidate_release(&c);
    json_decref(payload);
}

static void test_validate_failures(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate c;
    struct ad_capability_count cnt;
    struct ad_err err = AD_ERR_INIT;

    /* It does not load: only the load check, naming the SyntaxError. */
    validated(f, code_syntax, &c);
    assert_int_equal(c.status, AD_CAND_FAILED);
    assert_int_equal(vr_int(&c, "passed"), 0);
    assert_int_equal(vr_int(&c, "total"), 1);
    assert_string_equal(jstr(check(&c, 0), "name"), "load");
    assert_false(json_is_true(json_object_get(check(&c, 0), "ok")));
    assert_has(jstr(check(&c, 0), "error"), "SyntaxError");
    assert_has(jstr(c.validation_result, "summary"), "the code does not load: ");
    assert_has(jstr(c.validation_result, "summary"), "SyntaxError");
    ad_skill_candidate_release(&c);

    /* It loads and raises on the example. */
    validated(f, code_raises, &c);
    assert_int_equal(c.status, AD_CAND_FAILED);
    assert_int_equal(vr_int(&c, "passed"), 1);
    assert_int_equal(vr_int(&c, "total"), 2);
    assert_has(jstr(check(&c, 1), "error"), "LookupError");
    assert_has(jstr(c.validation_result, "summary"), "example 1 failed: ");
    assert_has(jstr(c.validation_result, "summary"), "LookupError");
    assert_has(jstr(c.validation_result, "summary"), "no idea where the id is");
    ad_skill_candidate_release(&c);

    /* It runs and gives the wrong output. */
    validated(f, code_wrong, &c);
    assert_int_equal(c.status, AD_CAND_FAILED);
    assert_int_equal(vr_int(&c, "passed"), 1);
    assert_int_equal(vr_int(&c, "total"), 2);
    assert_string_equal(jstr(check(&c, 1), "output"), "inv-2024-0042");
    assert_string_equal(jstr(c.validation_result, "summary"),
                        "example 1 failed: expected \"INV-2024-0042\", got \"inv-2024-0042\"");
    ad_skill_candidate_release(&c);

    /* No function at all. */
    validated(f, "x = 1\n", &c);
    assert_int_equal(c.status, AD_CAND_FAILED);
    assert_int_equal(vr_int(&c, "total"), 1);
    assert_string_equal(jstr(check(&c, 0), "name"), "function");
    assert_string_equal(jstr(c.validation_result, "summary"),
                        "the code defines no top-level function");
    ad_skill_candidate_release(&c);

    assert_int_equal(notes_of(f, "skill_candidate_failed", NULL), 4);
    assert_int_equal(notes_of(f, "skill_candidate_validated", NULL), 0);
    assert_int_equal(ad_store_capability_usage_count(f->st, f->tenant, f->intern,
                                                     "auto_dev.memento_skills", NULL, &cnt,
                                                     &err), 0);
    assert_int_equal(cnt.uses, 4);
    assert_int_equal(cnt.successes, 0);
    assert_int_equal(events_on(f, "memento.candidate", NULL), 4);
}

/* Without recorded inputs it can only load; without an expected output it must run. */
static void test_validate_partial_knowledge(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate c;
    struct ad_sandbox_result r;
    struct ad_err err = AD_ERR_INIT;
    json_t *in;

    make_candidate(f, code_ok, &c);
    json_object_set_new(c.failure_pattern, "examples", json_array());
    assert_int_equal(ad_memento_validate(f->st, f->bus, sb, NULL, &c, &err), 0);
    assert_int_equal(c.status, AD_CAND_VALIDATED);
    assert_int_equal(vr_int(&c, "passed"), 1);
    assert_int_equal(vr_int(&c, "total"), 1);
    assert_string_equal(jstr(c.validation_result, "summary"),
                        "loads; no recorded input to run it on, so only loaded");
    ad_skill_candidate_release(&c);

    make_candidate(f, code_wrong, &c);
    json_object_del(json_array_get(json_object_get(c.failure_pattern, "examples"), 0),
                    "expected");
    assert_int_equal(ad_memento_validate(f->st, f->bus, sb, NULL, &c, &err), 0);
    assert_int_equal(c.status, AD_CAND_VALIDATED);
    assert_int_equal(vr_int(&c, "passed"), 2);
    assert_string_equal(jstr(check(&c, 1), "output"), "inv-2024-0042");
    assert_null(json_object_get(check(&c, 1), "expected"));
    ad_skill_candidate_release(&c);

    /* An expected JSON null is a value: a function that returns something else fails. */
    make_candidate(f, code_wrong, &c);
    json_object_set_new(json_array_get(json_object_get(c.failure_pattern, "examples"), 0),
                        "expected", json_null());
    assert_int_equal(ad_memento_validate(f->st, f->bus, sb, NULL, &c, &err), 0);
    assert_int_equal(c.status, AD_CAND_FAILED);
    assert_true(json_is_null(json_object_get(check(&c, 1), "expected")));
    assert_has(jstr(c.validation_result, "summary"), "expected null, got \"inv-2024-0042\"");
    ad_skill_candidate_release(&c);

    /* Code without a function cannot be tried. */
    make_candidate(f, "x = 1\n", &c);
    in = json_pack("{s:s}", "text", "INV-2024-0042");
    assert_int_equal(ad_memento_try(sb, &c, in, NULL, &r, &err), AD_EINVAL);
    assert_has(err.msg, "no top-level function");
    json_decref(in);
    ad_skill_candidate_release(&c);
}

static void assert_status(struct fx *f, const char *id, enum ad_candidate_status want)
{
    struct ad_skill_candidate got;
    struct ad_err err = AD_ERR_INIT;

    ad_skill_candidate_init(&got);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, id, &got, &err), 0);
    if (got.status != want)
        fail_msg("candidate is %s, want %s", ad_candidate_status_name(got.status),
                 ad_candidate_status_name(want));
    ad_skill_candidate_release(&got);
}

static void test_approve(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate bad, good, again, got;
    struct ad_skill sk = { 0 };
    struct ad_skill_version v = { 0 };
    struct ad_err err = AD_ERR_INIT;
    json_t *ev = NULL;

    validated(f, code_wrong, &bad);
    validated(f, code_ok, &good);
    assert_int_equal(bad.status, AD_CAND_FAILED);
    assert_int_equal(good.status, AD_CAND_VALIDATED);

    assert_int_equal(ad_memento_approve(f->st, f->bus, f->tenant, bad.id, "alice", &sk, &v,
                                        &err), AD_ESTATE);
    assert_has(err.msg, "only a validated candidate can be approved");
    assert_status(f, bad.id, AD_CAND_FAILED);
    assert_int_equal(ad_store_tx_depth(f->st), 0);

    assert_int_equal(ad_memento_approve(f->st, f->bus, f->tenant, good.id, "alice", &sk, &v,
                                        &err), 0);
    assert_string_equal(sk.name, "extract_invoice_id");
    assert_string_equal(sk.entry_function, "extract_invoice_id");
    assert_string_equal(v.semver, "1.0.0");
    assert_int_equal(v.origin, AD_ORIGIN_MEMENTO);
    assert_string_equal(v.origin_id, good.id);
    assert_string_equal(v.code, code_ok);
    ad_skill_release(&sk);
    ad_skill_version_release(&v);
    assert_int_equal(ad_catalog_get(f->st, f->tenant, "extract_invoice_id", NULL, &sk, &v,
                                    &err), 0);
    assert_string_equal(v.semver, "1.0.0");
    assert_int_equal(v.origin, AD_ORIGIN_MEMENTO);
    assert_string_equal(sk.description, "Extract the invoice id from a text.");
    ad_skill_release(&sk);
    ad_skill_version_release(&v);
    ad_skill_candidate_init(&got);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, good.id, &got, &err), 0);
    assert_int_equal(got.status, AD_CAND_PROMOTED);
    assert_int_equal(got.review_status, AD_REVIEW_APPROVED);
    assert_string_equal(got.reviewed_by, "alice");
    assert_int_equal(strlen(got.promoted_at), 24);
    assert_string_equal(got.reviewed_at, got.promoted_at);
    ad_skill_candidate_release(&got);
    assert_int_equal(events_on(f, "memento.promoted", &ev), 1);
    assert_string_equal(jstr(ev, "candidate_id"), good.id);
    assert_string_equal(jstr(ev, "semver"), "1.0.0");
    json_decref(ev);

    /* Promoted is final. */
    assert_int_equal(ad_memento_approve(f->st, f->bus, f->tenant, good.id, "alice", NULL, NULL,
                                        &err), AD_ESTATE);

    /* Another validated candidate of the same name is the next major version. */
    validated(f, code_ok, &again);
    assert_int_equal(ad_memento_approve(f->st, f->bus, f->tenant, again.id, NULL, NULL, &v,
                                        &err), 0);
    assert_string_equal(v.semver, "2.0.0");
    assert_string_equal(v.origin_id, again.id);
    ad_skill_version_release(&v);
    ad_skill_candidate_init(&got);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, again.id, &got, &err), 0);
    assert_string_equal(got.reviewed_by, "unknown");
    ad_skill_candidate_release(&got);
    assert_int_equal(ad_catalog_get(f->st, f->tenant, "extract_invoice_id", NULL, &sk, &v,
                                    &err), 0);
    assert_string_equal(v.semver, "2.0.0");
    ad_skill_release(&sk);
    ad_skill_version_release(&v);

    ad_skill_candidate_release(&bad);
    ad_skill_candidate_release(&good);
    ad_skill_candidate_release(&again);
}

static void test_reject_and_regenerate(void **state)
{
    struct fx *f = *state;
    struct ad_skill_candidate bad, raises, good, pending, got;
    struct ad_err err = AD_ERR_INIT;
    struct ad_job j = { 0 };
    char job_id[AD_ID_SIZE];
    json_t *prev;

    validated(f, code_wrong, &bad);
    validated(f, code_raises, &raises);
    validated(f, code_ok, &good);
    make_candidate(f, code_ok, &pending);

    /* A rejection needs a reason. */
    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, bad.id, "bob", NULL, &err),
                     AD_EINVAL);
    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, bad.id, "bob", "", &err),
                     AD_EINVAL);
    assert_has(err.msg, "reason");
    assert_status(f, bad.id, AD_CAND_FAILED);

    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, bad.id, "bob",
                                       "lower-cases the id", &err), 0);
    ad_skill_candidate_init(&got);
    assert_int_equal(ad_store_candidate_get(f->st, f->tenant, bad.id, &got, &err), 0);
    assert_int_equal(got.status, AD_CAND_REJECTED);
    assert_int_equal(got.review_status, AD_REVIEW_REJECTED);
    assert_string_equal(got.reason, "lower-cases the id");
    assert_string_equal(got.reviewed_by, "bob");
    assert_int_equal(strlen(got.reviewed_at), 24);
    assert_string_equal(got.promoted_at, "");
    ad_skill_candidate_release(&got);
    assert_int_equal(events_on(f, "memento.rejected", NULL), 1);
    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, bad.id, "bob", "again", &err),
                     AD_ESTATE);
    assert_has(err.msg, "already rejected");
    assert_int_equal(events_on(f, "memento.rejected", NULL), 1);

    /* Regenerating a rejected one passes its reason on. */
    assert_int_equal(ad_memento_regenerate(f->st, f->tenant, bad.id, job_id, &err), 0);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, job_id, &j, &err), 0);
    assert_string_equal(j.kind, AD_MEMENTO_JOB);
    assert_string_equal(jstr(j.payload, "agent_id"), f->intern);
    assert_string_equal(jstr(j.payload, "task"), INVOICE_TASK);
    assert_string_equal(jstr(j.payload, "error_type"), "NoSkillError");
    assert_true(json_equal(json_object_get(j.payload, "episode_ids"),
                           json_object_get(bad.failure_pattern, "episode_ids")));
    prev = json_object_get(j.payload, "previous");
    assert_int_equal(json_array_size(prev), 1);
    assert_string_equal(jstr(json_array_get(prev, 0), "candidate_id"), bad.id);
    assert_string_equal(jstr(json_array_get(prev, 0), "status"), "rejected");
    assert_string_equal(jstr(json_array_get(prev, 0), "reason"), "lower-cases the id");
    ad_job_release(&j);

    /* A failed one passes its validation summary on. */
    assert_int_equal(ad_memento_regenerate(f->st, f->tenant, raises.id, job_id, &err), 0);
    assert_int_equal(ad_store_job_get(f->st, f->tenant, job_id, &j, &err), 0);
    prev = json_object_get(j.payload, "previous");
    assert_string_equal(jstr(json_array_get(prev, 0), "status"), "failed");
    assert_string_equal(jstr(json_array_get(prev, 0), "reason"),
                        jstr(raises.validation_result, "summary"));
    ad_job_release(&j);
    assert_int_equal(memento_jobs(f, NULL), 2);

    /* Validated and pending ones are not for regenerating. */
    assert_int_equal(ad_memento_regenerate(f->st, f->tenant, good.id, job_id, &err), AD_ESTATE);
    assert_string_equal(job_id, "");
    assert_int_equal(ad_memento_regenerate(f->st, f->tenant, pending.id, job_id, &err),
                     AD_ESTATE);
    assert_has(err.msg, "only a failed or rejected candidate");
    assert_int_equal(memento_jobs(f, NULL), 2);

    /* A promoted one cannot be rejected; a validated one can. */
    assert_int_equal(ad_memento_approve(f->st, f->bus, f->tenant, good.id, "ann", NULL, NULL,
                                        &err), 0);
    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, good.id, "bob", "late", &err),
                     AD_ESTATE);
    assert_status(f, good.id, AD_CAND_PROMOTED);
    assert_int_equal(ad_memento_regenerate(f->st, f->tenant, good.id, job_id, &err), AD_ESTATE);
    assert_int_equal(ad_memento_reject(f->st, f->bus, f->tenant, pending.id, "bob", "not now",
                                       &err), 0);
    assert_status(f, pending.id, AD_CAND_REJECTED);
    assert_int_equal(ad_store_tx_depth(f->st), 0);

    ad_skill_candidate_release(&bad);
    ad_skill_candidate_release(&raises);
    ad_skill_candidate_release(&good);
    ad_skill_candidate_release(&pending);
}

/* ---- the Memento engine: two workers, one job, a model that stalls ---------------- */

/*
 * The loopback model server (tests/llm/llmserver.py), started for the one
 * test that needs it.
 */
struct llm_server {
    pid_t pid;
    int port;
    char dir[64];
};

static void llm_server_start(struct llm_server *srv)
{
    char portfile[128], buf[32];
    FILE *fp;

    memset(srv, 0, sizeof(*srv));
    snprintf(srv->dir, sizeof(srv->dir), "/tmp/ad-test-learn-llm-XXXXXX");
    assert_non_null(mkdtemp(srv->dir));
    snprintf(portfile, sizeof(portfile), "%s/port", srv->dir);
    srv->pid = fork();
    assert_true(srv->pid >= 0);
    llm_server = srv;
    if (srv->pid == 0) {
        /* Neither of its outputs may hold our TAP output's pipe open. */
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execl("/usr/bin/python3", "python3", AD_TEST_SRCDIR "/tests/llm/llmserver.py",
              "--cases", AD_TEST_SRCDIR "/tests/llm/cases", "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400 && srv->port == 0; i++) {
        usleep(50000);
        fp = fopen(portfile, "r");
        if (fp && fgets(buf, sizeof(buf), fp))
            srv->port = (int)strtol(buf, NULL, 10);
        if (fp)
            fclose(fp);
    }
    unlink(portfile);
    assert_true(srv->port > 0);
}

/* llm_server is the running one, stopped by teardown too when a test fails half-way. */
static void llm_server_stop(struct llm_server *srv)
{
    if (!srv || srv->pid <= 0)
        return;
    kill(srv->pid, SIGTERM);
    waitpid(srv->pid, NULL, 0);
    srv->pid = 0;
    rmdir(srv->dir);
    llm_server = NULL;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return ad_buf_add(arg, p, size * n) ? 0 : size * n;
}

/* What the server's record says of a case (release it). */
static json_t *served(const struct llm_server *srv, const char *name)
{
    struct ad_buf body = AD_BUF_INIT;
    char url[160];
    CURL *h = curl_easy_init();
    json_t *all, *one;

    assert_non_null(h);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_results?case=%s", srv->port, name);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    all = json_loads(body.ptr, 0, NULL);
    ad_buf_release(&body);
    assert_non_null(all);
    one = json_incref(json_object_get(all, name));
    json_decref(all);
    return one ? one : json_object();
}

static int served_count(const struct llm_server *srv, const char *name)
{
    json_t *r = served(srv, name);
    int n = (int)json_integer_value(json_object_get(r, "consumed"));

    json_decref(r);
    return n;
}

/* The clock both workers' queues read; the main thread moves it while worker A waits. */
static _Atomic int64_t shared_now;

static int64_t shared_clock(void)
{
    return atomic_load(&shared_now);
}

/* One worker: its own store handle, bus, model and queue, as a worker process has. */
struct worker {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_llm *llm;
    struct ad_jobs *q;
    int ran, rc;
    struct ad_err err;
};

static int h_memento(void *ctx, const struct ad_job *job, struct ad_job_lease *lease,
                     struct ad_err *err)
{
    struct worker *w = ctx;
    struct ad_skill_candidate c;
    int rc;

    ad_skill_candidate_init(&c);
    rc = ad_memento_run_job(w->st, w->bus, sb, w->llm, job, lease, &c, err);
    ad_skill_candidate_release(&c);
    return rc;
}

static void worker_open(struct fx *f, struct worker *w, const char *name, int64_t lease_ms)
{
    struct ad_store_options so = { 0 };
    struct ad_jobs_options jo = { 0 };
    struct ad_llm_options lo = { 0 };

    memset(w, 0, sizeof(*w));
    so.busy_timeout_ms = 30000;
    assert_int_equal(ad_store_open(f->db.path, &so, &w->st, &w->err), 0);
    assert_int_equal(ad_bus_new(w->st, &w->bus, &w->err), 0);
    lo.store = w->st;
    lo.tenant_id = f->tenant;
    lo.max_retries = 0;
    assert_int_equal(ad_llm_new("openai:gpt-4o-mini", &lo, &w->llm, &w->err), 0);
    jo.worker = name;
    jo.lease_ms = lease_ms;
    jo.now_ms = shared_clock;
    assert_int_equal(ad_jobs_new(w->st, f->tenant, &jo, &w->q, &w->err), 0);
    assert_int_equal(ad_jobs_register(w->q, AD_MEMENTO_JOB, h_memento, w, &w->err), 0);
}

static void worker_close(struct worker *w)
{
    ad_jobs_free(w->q);
    ad_llm_free(w->llm);
    ad_bus_free(w->bus);
    ad_store_free(w->st);
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;

    w->rc = ad_jobs_run_one(w->q, NULL, &w->ran, &w->err);
    return NULL;
}

/* Two failures of the invoice task with different inputs and expected outputs. */
static json_t *invoice_failures(struct fx *f)
{
    static const char *const texts[] = { "Hello, invoice INV-2024-0042 attached.",
                                         "Reminder: INV-2024-0077 is due on Friday." };
    static const char *const ids[] = { "INV-2024-0042", "INV-2024-0077" };
    json_t *episode_ids = json_array();

    for (size_t i = 0; i < 2; i++) {
        json_t *in = json_pack("{s:s}", "text", texts[i]), *want = json_string(ids[i]);
        struct ep_spec e = { .agent = f->intern, .task = INVOICE_TASK, .trace = NO_SKILL,
                             .input = in, .expected = want, .score = NAN, .quiet = true };
        char id[AD_ID_SIZE];

        episode(f, &e, id);
        json_array_insert_new(episode_ids, 0, json_string(id));
        json_decref(in);
        json_decref(want);
    }
    return episode_ids;
}

/*
 * Worker A claims the job and asks the model, which stalls. Meanwhile A's
 * lease runs out (the shared clock moves past it) and worker B claims the
 * job, asks the model (answered at once), and writes and validates its
 * candidate. When A's answer comes, A has lost the job: it writes nothing.
 * One job, one candidate, one notification, two model calls.
 */
static void test_two_workers_one_candidate(void **state)
{
    struct fx *f = *state;
    struct ad_settings s;
    static struct llm_server srv;   /* static: teardown stops it after a failed assert */
    struct worker a, b;
    struct ad_candidate_filter cf = { 0 };
    struct ad_skill_candidate *v = NULL;
    struct ad_job job = { 0 };
    struct ad_err err = AD_ERR_INIT;
    const int64_t lease_ms = 60000;
    char url[160], job_id[AD_ID_SIZE];
    json_t *payload, *rec;
    pthread_t t;
    size_t n = 0;

    llm_server_start(&srv);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/case/memento_stall/v1", srv.port);
    setenv("OPENAI_BASE_URL", url, 1);
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    enable_all(f, true);
    s = get_settings(f);
    s.memento_synthesis = false;   /* the model's path: synthesis would answer at once */
    put_settings(f, &s);
    payload = json_pack("{s:s, s:o}", "agent_id", f->intern, "episode_ids", invoice_failures(f));
    atomic_store(&shared_now, ad_now_ms());
    worker_open(f, &a, "worker-a", lease_ms);
    worker_open(f, &b, "worker-b", lease_ms);
    assert_int_equal(ad_jobs_enqueue(a.q, AD_MEMENTO_JOB, payload, NULL, 0, job_id, NULL, &err),
                     0);

    ad_log_set_level(AD_LOG_ERROR);   /* A's "lost the lease" warning is expected */
    assert_int_equal(pthread_create(&t, NULL, worker_run, &a), 0);
    /* A is inside its model call once the server has its request. */
    for (int i = 0; i < 2000 && served_count(&srv, "memento_stall") < 1; i++)
        usleep(10000);
    if (served_count(&srv, "memento_stall") != 1) {
        pthread_join(t, NULL);   /* no assert may leave A running on a store torn down */
        fail_msg("worker a never asked the model: %s", a.err.msg);
    }
    atomic_fetch_add(&shared_now, lease_ms + 1);
    worker_run(&b);
    if (b.rc)
        fail_msg("worker b: %s", b.err.msg);
    assert_int_equal(b.ran, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    ad_log_set_level(AD_LOG_WARN);
    if (a.rc)
        fail_msg("worker a: %s", a.err.msg);
    assert_int_equal(a.ran, 1);

    /* One candidate for the job, B's, validated; one notification of it. */
    cf.agent_id = f->intern;
    assert_int_equal(ad_candidates_list(f->st, f->tenant, &cf, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ad_json_str(v[0].failure_pattern, "job_id"), job_id);
    assert_int_equal(v[0].status, AD_CAND_VALIDATED);
    ad_skill_candidate_list_free(v, n);
    assert_int_equal(notes_of(f, "skill_candidate_validated", NULL), 1);
    assert_int_equal(events_on(f, AD_TOPIC_MEMENTO_CANDIDATE, NULL), 1);
    assert_int_equal(ad_jobs_get(f->st, f->tenant, job_id, &job, &err), 0);
    assert_int_equal(job.status, AD_JOB_DONE);
    assert_int_equal(job.attempts, 2);
    ad_job_release(&job);
    /* Two model calls, each the documented request, and no third. */
    rec = served(&srv, "memento_stall");
    assert_int_equal(json_integer_value(json_object_get(rec, "consumed")), 2);
    assert_int_equal(json_array_size(json_object_get(rec, "mismatches")), 0);
    json_decref(rec);

    worker_close(&a);
    worker_close(&b);
    json_decref(payload);
    llm_server_stop(&srv);
}

/* ---- the Memento engine: inputs a candidate was not made from ------------------------ */

/* An episode of the intern on task with input {"text": text}; expected / output may be NULL. */
static void text_episode(struct fx *f, const char *task, bool success, const char *text,
                         const char *expected, const char *output, char id[AD_ID_SIZE])
{
    struct ad_episode ep;
    struct ad_err err = AD_ERR_INIT;

    ad_episode_init(&ep);
    snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", f->tenant);
    snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", f->intern);
    ep.task_description = strdup(task);
    ep.task_kind = strdup("extraction");
    ep.success = success;
    ep.error_trace = success ? NULL : strdup(NO_SKILL);
    ep.input = json_pack("{s:s}", "text", text);
    ep.expected = expected ? json_string(expected) : NULL;
    ep.output = output ? json_string(output) : NULL;
    if (ad_store_episode_insert(f->st, &ep, &err))
        fail_msg("episode: %s", err.msg);
    if (id)
        snprintf(id, AD_ID_SIZE, "%s", ep.id);
    ad_episode_release(&ep);
}

/* Runs a memento job for the two failures with the model playing the memento_second_word case. */
static void generate_second_word(struct fx *f, const struct llm_server *srv, const char *f1,
                                 const char *f2, struct ad_skill_candidate *out)
{
    struct ad_memento_opts o = { 0 };
    struct ad_llm_options lo = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_llm *llm = NULL;
    char url[160];
    json_t *payload = json_pack("{s:s, s:[s, s]}", "agent_id", f->intern, "episode_ids", f2, f1);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/case/memento_second_word/v1", srv->port);
    setenv("OPENAI_BASE_URL", url, 1);
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    lo.store = f->st;
    lo.tenant_id = f->tenant;
    assert_int_equal(ad_llm_new("openai:gpt-4o-mini", &lo, &llm, &err), 0);
    o.tenant_id = f->tenant;
    if (ad_memento_generate(f->st, f->bus, sb, llm, &o, payload, out, &err))
        fail_msg("generate: %s", err.msg);
    ad_llm_free(llm);
    json_decref(payload);
}

static const json_t *warning(const struct ad_skill_candidate *c, size_t i)
{
    return json_array_get(json_object_get(c->validation_result, "warnings"), i);
}

/*
 * Two failures that both put the invoice id second make "the second word"
 * fit. The agent's other inputs of the task catch it: a success (its output
 * is the expected value), a failure with no expected output (it must run).
 * Inputs it was made from, other tasks and other shapes are not held out.
 */
static void test_held_out_inputs(void **state)
{
    struct fx *f = *state;
    static struct llm_server srv;   /* static: teardown stops it after a failed assert */
    struct ad_skill_candidate c;
    struct ad_settings s;
    const json_t *held;
    char f1[AD_ID_SIZE], f2[AD_ID_SIZE], ok[AD_ID_SIZE], bare[AD_ID_SIZE];

    llm_server_start(&srv);
    enable_all(f, true);
    s = get_settings(f);
    s.memento_synthesis = false;
    put_settings(f, &s);
    /* Not held out: another task, another shape, the same input as a failure. */
    text_episode(f, "Count the words of this e-mail", true, "one two three", NULL, "3", NULL);
    {
        struct ad_episode ep;
        struct ad_err err = AD_ERR_INIT;

        ad_episode_init(&ep);
        snprintf(ep.tenant_id, sizeof(ep.tenant_id), "%s", f->tenant);
        snprintf(ep.agent_id, sizeof(ep.agent_id), "%s", f->intern);
        ep.task_description = strdup(INVOICE_TASK);
        ep.task_kind = strdup("extraction");
        ep.success = true;
        ep.input = json_pack("{s:s}", "body", "Invoice INV-2024-0001");
        ep.output = json_string("INV-2024-0001");
        assert_int_equal(ad_store_episode_insert(f->st, &ep, &err), 0);
        ad_episode_release(&ep);
    }
    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0042 attached.", NULL, NULL, NULL);
    /* Held out: a failure with nothing known but its input; a success with its output. */
    text_episode(f, INVOICE_TASK, false, "see INV-1", NULL, NULL, bare);
    text_episode(f, INVOICE_TASK, true, "Hello, invoice INV-2024-0099 is attached.", NULL,
                 "INV-2024-0099", ok);
    /* The two failures it is made from. */
    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0042 attached.", "INV-2024-0042", NULL,
                 f1);
    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0077 overdue.", "INV-2024-0077", NULL,
                 f2);

    ad_skill_candidate_init(&c);
    generate_second_word(f, &srv, f1, f2, &c);
    held = json_object_get(c.failure_pattern, "held_out");
    assert_int_equal(json_array_size(held), 2);
    /* Known outputs first. */
    assert_string_equal(jstr(json_array_get(held, 0), "episode_id"), ok);
    assert_string_equal(jstr(json_array_get(held, 0), "expected"), "INV-2024-0099");
    assert_string_equal(jstr(json_array_get(held, 1), "episode_id"), bare);
    assert_null(json_object_get(json_array_get(held, 1), "expected"));
    assert_int_equal(json_integer_value(json_object_get(c.failure_pattern, "made_from")), 2);
    /* The examples pass; the input it was not made from does not. */
    assert_int_equal(c.status, AD_CAND_FAILED);
    assert_int_equal(vr_int(&c, "total"), 5);
    assert_int_equal(vr_int(&c, "passed"), 4);
    assert_int_equal(vr_int(&c, "held_out"), 2);
    assert_string_equal(jstr(check(&c, 3), "name"), "held-out 1");
    assert_false(json_is_true(json_object_get(check(&c, 3), "ok")));
    assert_string_equal(jstr(check(&c, 4), "name"), "held-out 2");
    assert_true(json_is_true(json_object_get(check(&c, 4), "ok")));
    assert_string_equal(jstr(c.validation_result, "summary"),
                        "held-out 1 failed: expected \"INV-2024-0099\", got \"invoice\"");
    assert_has(json_string_value(warning(&c, 0)), "made from 2 examples, fewer than 3");
    assert_null(warning(&c, 1));
    ad_skill_candidate_release(&c);
    llm_server_stop(&srv);
}

/*
 * With no other input of the task the same candidate validates, and the
 * review says what that pass is worth: in the validation result and in the
 * reviewers' notification.
 */
static void test_few_examples_say_so(void **state)
{
    struct fx *f = *state;
    static struct llm_server srv;   /* static: teardown stops it after a failed assert */
    struct ad_skill_candidate c;
    struct ad_settings s;
    struct ad_notification *nv = NULL;
    char f1[AD_ID_SIZE], f2[AD_ID_SIZE];
    size_t n;

    llm_server_start(&srv);
    enable_all(f, true);
    s = get_settings(f);
    s.memento_synthesis = false;
    put_settings(f, &s);
    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0042 attached.", "INV-2024-0042", NULL,
                 f1);
    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0077 overdue.", "INV-2024-0077", NULL,
                 f2);
    ad_skill_candidate_init(&c);
    generate_second_word(f, &srv, f1, f2, &c);
    assert_int_equal(c.status, AD_CAND_VALIDATED);
    assert_int_equal(vr_int(&c, "held_out"), 0);
    assert_int_equal(json_array_size(json_object_get(c.failure_pattern, "held_out")), 0);
    assert_has(json_string_value(warning(&c, 0)), "made from 2 examples, fewer than 3");
    assert_has(json_string_value(warning(&c, 1)), "run on no input it was not made from");
    n = notes_of(f, "skill_candidate_validated", &nv);
    assert_int_equal(n, 1);
    assert_has(nv[0].message, "Caution: made from 2 examples, fewer than 3");
    assert_has(nv[0].message, "run on no input it was not made from");
    assert_has(nv[0].message, "Review it: autodev candidates show");
    ad_notification_list_free(nv, n);
    ad_skill_candidate_release(&c);
    llm_server_stop(&srv);
}

/* ---- the Memento engine: which failures a job retries ------------------------------ */

/* Runs a memento.generate job of payload with model spec (NULL: none); its return code. */
static int run_job(struct fx *f, const char *spec, json_t *payload, struct ad_err *err)
{
    struct ad_llm_options lo = { 0 };
    struct ad_skill_candidate c;
    struct ad_llm *llm = NULL;
    struct ad_job job = { 0 };
    int rc;

    if (spec)
        assert_int_equal(ad_llm_new(spec, &lo, &llm, err), 0);
    snprintf(job.tenant_id, sizeof(job.tenant_id), "%s", f->tenant);
    assert_int_equal(ad_id_new(job.id), 0);
    job.kind = (char *)AD_MEMENTO_JOB;
    job.payload = payload;
    ad_skill_candidate_init(&c);
    rc = ad_memento_run_job(f->st, f->bus, sb, llm, &job, NULL, &c, err);
    ad_skill_candidate_release(&c);
    ad_llm_free(llm);
    return rc;
}

/*
 * An error certain to repeat fails the job at once: the offline provider
 * cannot write a new function (it mutates code, and there is none), so
 * with synthesis off (or finding nothing) the job is permanent on its first
 * attempt and says why, instead of asking three times. A damaged payload
 * and a closed gate likewise.
 */
static void test_run_job_permanent_errors(void **state)
{
    struct fx *f = *state;
    struct ad_settings s;
    struct ad_err err = AD_ERR_INIT;
    char f1[AD_ID_SIZE], f2[AD_ID_SIZE];
    json_t *payload;

    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0042 attached.", "INV-2024-0042", NULL,
                 f1);
    text_episode(f, INVOICE_TASK, false, "Invoice INV-2024-0077 overdue.", "INV-2024-0077", NULL,
                 f2);
    payload = json_pack("{s:s, s:[s, s]}", "agent_id", f->intern, "episode_ids", f2, f1);
    /* The gate is closed (auto-dev off). */
    assert_int_equal(run_job(f, NULL, payload, &err), AD_JOB_PERMANENT);
    assert_has(err.msg, "denied");
    enable_all(f, true);
    s = get_settings(f);
    s.memento_synthesis = false;
    put_settings(f, &s);
    assert_int_equal(run_job(f, "offline", payload, &err), AD_JOB_PERMANENT);
    assert_has(err.msg, "synthesis by example is off");
    assert_has(err.msg, "the offline provider only mutates existing code");
    assert_int_equal(run_job(f, NULL, payload, &err), AD_JOB_PERMANENT);
    assert_has(err.msg, "no model is configured (set AUTODEV_LLM)");
    /* A damaged payload stays damaged. */
    json_object_set_new(payload, "episode_ids", json_string("nope"));
    assert_int_equal(run_job(f, "offline", payload, &err), AD_JOB_PERMANENT);
    assert_has(err.msg, "episode_ids");
    json_decref(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shingle_jaccard),
        cmocka_unit_test(test_suggest_name),
        cmocka_unit_test(test_entry),
        cmocka_unit_test(test_capability_names),
        cmocka_unit_test_setup_teardown(test_gate_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_toggles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate_daily_limit_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_maturity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readiness_new_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graduate_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graduate_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflection_queues_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflection_ignores_infrastructure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflection_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflection_threshold_and_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflection_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_analyse, setup, teardown),
        cmocka_unit_test(test_prompt),
        cmocka_unit_test_setup_teardown(test_validate_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_resumes_a_killed_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_partial_knowledge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_approve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_and_regenerate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_workers_one_candidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_out_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_few_examples_say_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_job_permanent_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
