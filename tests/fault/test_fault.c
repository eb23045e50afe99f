/*
 * Allocation-failure injection, SQLite's habit (its malloc*.test and
 * *fault.test, curl's torture mode, jq's inject_errors.c): each operation
 * runs once counting its allocations (K), then K more times with
 * allocation N refused, N = 1..K, so every allocation site is hit once.
 * Each case must end either in a clean error (AD_ENOMEM with a message:
 * memory is the only thing that fails here) with nothing half-built and
 * nothing half-written, or in a success whose result is the reference
 * one; never in a crash, an assertion or a leak (the suite runs under
 * ASan and UBSan).
 *
 * Sections:
 *   1. the injector    one counter behind malloc & co., jansson and SQLite
 *   2. the driver      one cmocka test per operation and mode, looping over N
 *   3. parsers         episode and settings JSON, SKILL.md, the edit formats
 *   4. edits on disk   ad_edit_apply_dir into a scratch directory
 *   5. the store       ad_episode_record with a bus whose handlers write
 *   6. main
 *
 * What the counter sees. Our own objects are linked statically with
 * -Wl,--wrap= for malloc, calloc, realloc, strdup, strndup and realpath
 * (see meson.build), so every call they make goes through __wrap_*.
 * Shared libraries are not wrapped; those that let a host route their
 * allocations go to the same counter: jansson (json_set_alloc_funcs) and
 * SQLite (SQLITE_CONFIG_MALLOC, set before the first sqlite3 call). Not
 * covered: libyaml has no allocator hook (yaml_malloc is plain malloc
 * inside libyaml.so), so the SKILL.md front matter parser and emitter never
 * fail here, everything around them does; pcre2 would need a general
 * context passed by each caller, and no operation here uses it; jansson's
 * loader is refused only its first allocation (see json_alloc: it cannot
 * survive the others); what SQLite serves from a connection's lookaside
 * buffer, made at open, cannot fail.
 *
 * Modes: "one-shot" refuses allocation N only and lets later ones succeed
 * (SQLite's persistent=0: a transient failure the code must survive);
 * "persistent" refuses every allocation from N on (memory stays short
 * while the error path runs).
 *
 * Output: "# <operation> (<mode>): K = ..." per test, then for a case that
 * goes wrong "# FAIL <operation> (<mode>): allocation N of K: rc ... :
 * <what>"; the loop goes on, so one run lists every bad N, and the test
 * fails naming the first. Leaks are counted per case (section 2).
 *
 * What the store guarantees when memory runs out, which section 5 checks
 * case by case (each was once a bug this test found):
 *   - a call fails with AD_ENOMEM and a message, never another code: a
 *     JSON column is never refused as invalid (migration 4 dropped the
 *     json_valid() CHECKs, whose SQLite 3.40 parser answers 0 when it
 *     cannot allocate), and a JSON column read that cannot allocate is
 *     AD_ENOMEM, not AD_ECORRUPT;
 *   - a failed record leaves nothing behind, and a successful one is whole
 *     and readable: every JSON text is written with ad_json_dumps, which
 *     fails where json_dumps() drops an object's key and succeeds;
 *   - when SQLite rolls the whole transaction back by itself (out of memory
 *     in a statement without a statement journal), the store knows: every
 *     later begin, write and commit of that transaction fails with the same
 *     code until its outermost level closes, so no savepoint starts a new
 *     transaction and no bus handler commits a notification about an
 *     episode that was rolled back;
 *   - a rollback needs no memory (its statements are prepared at open), and
 *     a transaction a rollback could not end anyway is ended by the next
 *     begin: the store that saw the failure records the next episode.
 *
 * Environment: AD_FAULT_ONLY=text runs the tests whose name holds text;
 * AD_FAULT_FULL=1 takes every N in persistent mode on the store as well;
 * AD_FAULT_TRACE=1 prints the stack of each refused allocation and the
 * library's log lines.
 */
#include "compat.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autodev/agent.h"
#include "autodev/buf.h"
#include "autodev/bus.h"
#include "autodev/edit.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

/* ---- 1. the injector ------------------------------------------------------ */

static struct {
    bool armed;              /* counting (and perhaps refusing) */
    unsigned long calls;     /* allocations seen while armed */
    unsigned long fail_at;   /* 0: refuse none */
    bool persistent;         /* refuse every allocation from fail_at on */
    unsigned long refused;   /* allocations refused while armed */
    int in_loader;           /* inside json_loadb / json_loads */
    unsigned long loader_calls;
} fi;

/* AD_FAULT_TRACE=1 prints the stack of every refused allocation (with AD_FAULT_ONLY). */
static bool trace_refusals;

extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

/* Counts one allocation; true when it must fail. */
static bool fi_refuse(void)
{
    if (!fi.armed)
        return false;
    fi.calls++;
    if (fi.fail_at == 0 || fi.calls < fi.fail_at || (fi.calls > fi.fail_at && !fi.persistent))
        return false;
    fi.refused++;
    if (trace_refusals && fi.refused == 1 && __sanitizer_print_stack_trace) {
        fprintf(stderr, "# allocation %lu refused here:\n", fi.calls);
        __sanitizer_print_stack_trace();
    }
    errno = ENOMEM;
    return true;
}

static void fi_arm(unsigned long fail_at, bool persistent)
{
    fi.calls = 0;
    fi.refused = 0;
    fi.fail_at = fail_at;
    fi.persistent = persistent;
    fi.armed = true;
}

static void fi_disarm(void)
{
    fi.armed = false;
}

/* The linker's names for the real functions and our wrappers (-Wl,--wrap=...). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
char *__real_realpath(const char *path, char *resolved);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
char *__wrap_realpath(const char *path, char *resolved);

void *__wrap_malloc(size_t n)
{
    return fi_refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fi_refuse() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fi_refuse() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fi_refuse() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fi_refuse() ? NULL : __real_strndup(s, n);
}

/* realpath(p, NULL) mallocs the result inside libc: it counts as an allocation. */
char *__wrap_realpath(const char *path, char *resolved)
{
    if (!resolved && fi_refuse())
        return NULL;
    return __real_realpath(path, resolved);
}

/*
 * jansson: json_* allocations go through the same counter, except inside
 * its loader. jansson's lexer ignores a failed growth of its token buffer
 * (load.c, lex_save(): jansson issue #362, open upstream) and then drops
 * the byte (a wrong value parsed as a success), copies past the end of the
 * token (a heap overflow: seen here as a segfault inside json_loadb) or
 * fails assert(c == d) in lex_unget_unsave, so no caller can survive a
 * failure there. The loader's first allocation
 * (its token buffer, in lex_init) fails cleanly and stands for the rest:
 * it is what makes ad_json_parse and its callers take their out-of-memory
 * path. Everything the loader allocates after it is neither counted nor
 * refused.
 */
static void *json_alloc(size_t n)
{
    if (fi.in_loader && fi.loader_calls++ > 0)
        return __real_malloc(n);
    return fi_refuse() ? NULL : __real_malloc(n);
}

json_t *__real_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t *__real_json_loads(const char *input, size_t flags, json_error_t *error);
json_t *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);
json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error);

json_t *__wrap_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
    json_t *v;

    fi.in_loader++;
    fi.loader_calls = 0;
    v = __real_json_loadb(buffer, buflen, flags, error);
    fi.in_loader--;
    return v;
}

json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error)
{
    json_t *v;

    fi.in_loader++;
    fi.loader_calls = 0;
    v = __real_json_loads(input, flags, error);
    fi.in_loader--;
    return v;
}

static void json_release(void *p)
{
    free(p);
}

/*
 * SQLite: plain malloc underneath, with no size header, so xSize asks the
 * allocator (malloc_usable_size, which ASan answers with the size asked).
 */
static void *sq_malloc(int n)
{
    return fi_refuse() ? NULL : __real_malloc((size_t)n);
}

static void sq_free(void *p)
{
    free(p);
}

static void *sq_realloc(void *p, int n)
{
    return fi_refuse() ? NULL : __real_realloc(p, (size_t)n);
}

static int sq_size(void *p)
{
    return p ? (int)malloc_usable_size(p) : 0;
}

static int sq_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sq_init(void *arg)
{
    return SQLITE_OK;
}

static void sq_shutdown(void *arg)
{
}

static void fi_install(void)
{
    static const sqlite3_mem_methods mem = {
        sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init, sq_shutdown, NULL,
    };

    json_set_alloc_funcs(json_alloc, json_release);
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK) {
        fprintf(stderr, "test_fault: sqlite3_config(SQLITE_CONFIG_MALLOC) refused\n");
        exit(1);
    }
}

/* ---- 2. the driver ---------------------------------------------------------- */

/*
 * One operation under test. setup builds the inputs and the reference
 * result once; before (optional) prepares each case without the injector
 * (a database, a directory); run is the operation, with the injector
 * armed; after checks the outcome of a case and releases what it made: it
 * returns NULL when the outcome is whole (rc 0 and the reference result,
 * or rc < 0 and nothing of it left), else what is wrong.
 */
struct fault_op {
    const char *name;
    void *(*setup)(void);
    void (*before)(void *s);
    int (*run)(void *s, struct ad_err *err);
    const char *(*after)(void *s, int rc, const struct ad_err *err);
    void (*teardown)(void *s);
};

struct fault_case {
    const struct fault_op *op;
    bool persistent;
    unsigned long stride;    /* every stride-th N (1: all); AD_FAULT_FULL=1 makes it 1 */
};

static char why_buf[1024];

static const char *why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *why(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
    va_end(ap);
    return why_buf;
}

static bool full_sweep;        /* AD_FAULT_FULL=1 */

/*
 * Leaks. LeakSanitizer's recoverable check costs about 0.1 s a call here,
 * too much for every case, so each case compares the bytes ASan counts as
 * allocated before and after it: every operation gives back all it takes
 * (the store and its second connection are closed at the end of a case),
 * so any difference is a leak, and the report names N. LeakSanitizer runs
 * at the end of each test (and at exit) for the stacks.
 */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static size_t heap_bytes(void)
{
    return __sanitizer_get_current_allocated_bytes ? __sanitizer_get_current_allocated_bytes()
                                                   : 0;
}

/* True the first time LeakSanitizer finds a leak; later checks would only repeat it. */
static bool lsan_leaked(void)
{
    static bool reported;

    if (reported || !__lsan_do_recoverable_leak_check)
        return false;
    reported = __lsan_do_recoverable_leak_check() != 0;
    return reported;
}

/* Checks rc and the outcome of one case; NULL when all is well. */
static const char *judge(const struct fault_op *op, void *s, int rc, const struct ad_err *err)
{
    static char out[sizeof(why_buf)], code[sizeof(why_buf)];
    const char *o, *c = NULL;

    o = op->after(s, rc, err);
    /* after() may have used why(); keep its answer apart. */
    if (o) {
        snprintf(out, sizeof(out), "%s", o);
        o = out;
    }
    if (rc > 0)
        c = why("returned %d, a positive code", rc);
    else if (rc < 0 && rc != AD_ENOMEM)
        c = why("returned %s (%s) where only memory can fail", ad_strerror(rc), err->msg);
    else if (rc < 0 && !err->msg[0])
        c = why("returned %s without a message", ad_strerror(rc));
    /*
     * A cold store's count varies by one from run to run (SQLite's own
     * allocations on a fresh connection; seen in non-sanitizer builds), so
     * the last N of a run may lie past what this run allocated: that case
     * refused nothing and proves nothing, but is no failure. Anything
     * further off means the harness is not injecting where it thinks.
     */
    else if (rc == 0 && fi.refused == 0 && fi.fail_at <= fi.calls + 2)
        c = NULL;
    else if (rc == 0 && fi.refused == 0)
        c = why("allocation N was never reached (the count changed)");
    if (c) {
        snprintf(code, sizeof(code), "%s", c);
        c = code;
    }
    if (c && o)
        return why("%s; and %s", code, out);
    return c ? c : o;
}

static void run_fault(void **state)
{
    const struct fault_case *fc = *state;
    const struct fault_op *op = fc->op;
    const char *mode = fc->persistent ? "persistent" : "one-shot";
    unsigned long k, n, stride, first = 0, nbad = 0;
    struct ad_err err = AD_ERR_INIT;
    void *s = op->setup();
    const char *bad;
    size_t heap;
    int rc;

    assert_non_null(s);
    if (op->before)
        op->before(s);
    fi_arm(0, false);
    rc = op->run(s, &err);
    fi_disarm();
    k = fi.calls;
    if (rc != 0)
        fail_msg("%s: the run without faults failed: %s (%s)", op->name, ad_strerror(rc),
                 err.msg);
    bad = op->after(s, rc, &err);
    if (bad)
        fail_msg("%s: the run without faults is wrong: %s", op->name, bad);
    stride = full_sweep || fc->stride < 1 ? 1 : fc->stride;
    if (stride > 1)
        printf("# %s (%s): K = %lu allocations; N = 1, %lu, %lu, ...\n", op->name, mode, k,
               1 + stride, 1 + 2 * stride);
    else
        printf("# %s (%s): K = %lu allocations\n", op->name, mode, k);
    assert_true(k > 0);
    for (n = 1; n <= k; n += stride) {
        ad_err_clear(&err);
        heap = heap_bytes();
        if (op->before)
            op->before(s);
        fi_arm(n, fc->persistent);
        rc = op->run(s, &err);
        fi_disarm();
        bad = judge(op, s, rc, &err);
        if (heap_bytes() != heap)
            bad = why("%s%s%zd bytes more allocated after the case than before (a leak)",
                      bad ? bad : "", bad ? "; and " : "", (ssize_t)(heap_bytes() - heap));
        if (bad) {
            printf("# FAIL %s (%s): allocation %lu of %lu: rc %d (%s): %s\n", op->name, mode,
                   n, k, rc, err.msg, bad);
            if (!first)
                first = n;
            nbad++;
        }
    }
    op->teardown(s);
    fflush(stdout);
    if (lsan_leaked())
        fail_msg("%s (%s): LeakSanitizer found a leak (its report is above)", op->name, mode);
    if (nbad)
        fail_msg("%s (%s): %lu of %lu cases went wrong, the first at allocation %lu", op->name,
                 mode, nbad, k, first);
}

/* ---- 3. parsers ----------------------------------------------------------- */

/* An episode as users send it: every field, three segments, nested JSON. */
static const char episode_text[] =
    "{\"agent\": \"worker-1\", \"task_description\": \"Count the words in notes.txt\","
    " \"task_kind\": \"word_count\", \"success\": false,"
    " \"input\": {\"path\": \"notes.txt\", \"opts\": [1, 2.5, null, true, {\"deep\": [\"x\"]}]},"
    " \"expected\": {\"count\": 3}, \"output\": null,"
    " \"error_trace\": \"Traceback (most recent call last):\\n  File \\\"x.py\\\", line 3, in"
    " count\\nKeyError: 'path'\\n\","
    " \"tools_attempted\": [\"read_file\", \"count\"],"
    " \"context\": {\"session\": \"s-1\", \"attempt\": 2, \"tags\": [\"a\", \"b\"]},"
    " \"intervention\": false, \"constitutional_score\": 0.75, \"execution_seconds\": 1.25,"
    " \"token_usage\": 420,"
    " \"segments\": ["
    "  {\"kind\": \"thought\", \"content\": \"read the file first\", \"metadata\": {\"t\": 1}},"
    "  {\"kind\": \"tool_call\", \"content\": \"read_file(notes.txt)\","
    "   \"metadata\": {\"tool\": \"read_file\", \"args\": {\"path\": \"notes.txt\"}}},"
    "  {\"kind\": \"observation\", \"content\": \"KeyError: 'path'\", \"metadata\": null}]}";

struct episode_state {
    json_t *ref;             /* ad_episode_to_json of the episode parsed without faults */
    json_t *doc;
    struct ad_episode ep;
    const char *agent;
};

static int parse_episode(const char *text, json_t **doc, struct ad_episode *ep,
                         const char **agent, struct ad_err *err)
{
    int rc = ad_json_parse(text, strlen(text), 1 << 20, doc, err);

    ad_episode_init(ep);
    if (rc == 0)
        rc = ad_episode_from_json(*doc, ep, agent, err);
    return rc;
}

static void *episode_setup(void)
{
    struct episode_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(s);
    assert_int_equal(parse_episode(episode_text, &s->doc, &s->ep, &s->agent, &err), 0);
    s->ref = ad_episode_to_json(&s->ep);
    assert_non_null(s->ref);
    json_decref(s->doc);
    ad_episode_release(&s->ep);
    s->doc = NULL;
    return s;
}

static int episode_run(void *p, struct ad_err *err)
{
    struct episode_state *s = p;

    s->agent = NULL;
    return parse_episode(episode_text, &s->doc, &s->ep, &s->agent, err);
}

static bool episode_empty(const struct ad_episode *ep)
{
    return !ep->task_description && !ep->task_kind && !ep->input && !ep->expected &&
           !ep->output && !ep->error_trace && !ep->tools_attempted && !ep->context &&
           !ep->skill_version_id && !ep->segments && ep->nsegments == 0;
}

static const char *episode_after(void *p, int rc, const struct ad_err *err)
{
    struct episode_state *s = p;
    const char *bad = NULL;

    if (rc == 0) {
        json_t *got = ad_episode_to_json(&s->ep);

        if (!got || !json_equal(got, s->ref))
            bad = "succeeded with an episode unlike the reference";
        else if (!s->agent || strcmp(s->agent, "worker-1") != 0)
            bad = "succeeded without the agent name";
        json_decref(got);
    } else if (!episode_empty(&s->ep)) {
        bad = "failed but left fields of the episode filled";
    } else if (s->agent) {
        bad = "failed but left the agent name set";
    }
    json_decref(s->doc);
    s->doc = NULL;
    ad_episode_release(&s->ep);
    return bad;
}

static void episode_teardown(void *p)
{
    struct episode_state *s = p;

    json_decref(s->ref);
    free(s);
}

static const struct fault_op op_episode = {
    "ad_json_parse + ad_episode_from_json", episode_setup, NULL, episode_run, episode_after,
    episode_teardown,
};

/* Settings: every key, as a tenant's "auto_dev" block. */
static const char settings_text[] =
    "{\"enabled\": true, \"memento_skills\": false, \"alpha_evolver\": true,"
    " \"background_evolution\": true, \"max_mutations_per_day\": 20,"
    " \"max_skill_candidates_per_day\": 7, \"llm_daily_token_cap\": 100000,"
    " \"llm_daily_cost_cap_cents\": 250, \"reflection_threshold\": 3,"
    " \"reflection_window\": 40, \"reflection_window_hours\": 48,"
    " \"reflection_similarity_pct\": 60, \"memento_synthesis\": false}";

struct settings_state {
    struct ad_settings ref, got, defaults;
    json_t *doc;
};

static void *settings_setup(void)
{
    struct settings_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;
    json_t *doc = NULL;

    assert_non_null(s);
    ad_settings_defaults(&s->defaults);
    s->ref = s->defaults;
    assert_int_equal(ad_json_parse(settings_text, strlen(settings_text), 1 << 16, &doc, &err), 0);
    assert_int_equal(ad_settings_from_json(&s->ref, doc, &err), 0);
    assert_true(s->ref.enabled && s->ref.max_mutations_per_day == 20);
    json_decref(doc);
    return s;
}

static int settings_run(void *p, struct ad_err *err)
{
    struct settings_state *s = p;
    int rc;

    s->got = s->defaults;
    rc = ad_json_parse(settings_text, strlen(settings_text), 1 << 16, &s->doc, err);
    if (rc == 0)
        rc = ad_settings_from_json(&s->got, s->doc, err);
    return rc;
}

static const char *settings_after(void *p, int rc, const struct ad_err *err)
{
    struct settings_state *s = p;
    const struct ad_settings *want = rc == 0 ? &s->ref : &s->defaults;

    json_decref(s->doc);
    s->doc = NULL;
    if (memcmp(&s->got, want, sizeof(*want)) != 0)
        return rc == 0 ? "succeeded with other settings" : "failed but changed the settings";
    return NULL;
}

static const struct fault_op op_settings = {
    "ad_json_parse + ad_settings_from_json", settings_setup, NULL, settings_run,
    settings_after, free,
};

/* A full SKILL.md: every key of the specification, our metadata, a body. */
static const char skill_md[] =
    "---\n"
    "name: word-count\n"
    "description: \"Counts the words in a text: splits on white space, ignores punctuation.\"\n"
    "license: MIT\n"
    "compatibility: python 3.9 or newer\n"
    "allowed-tools: [read_file, \"write_file\"]\n"
    "metadata:\n"
    "  version: 1.2.0\n"
    "  entry: count_words\n"
    "  script: word_count.py\n"
    "  input-schema: '{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
    "\"lower\":{\"type\":\"boolean\",\"default\":false}},\"required\":[\"text\"],"
    "\"additionalProperties\":false}'\n"
    "  author: somebody\n"
    "---\n"
    "\n# word-count\n\nCounts words.\n\n## Usage\n\n```sh\n"
    "autodev skill run word_count --input '{\"text\":\"...\"}'\n```\n";

struct skill_state {
    struct ad_skill_bundle ref, got;
};

static void *skill_setup(void)
{
    struct skill_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(s);
    if (ad_skill_md_parse(skill_md, strlen(skill_md), &s->ref, &err) != 0)
        fail_msg("SKILL.md: %s", err.msg);
    assert_string_equal(s->ref.name, "word_count");
    assert_non_null(s->ref.input_schema);
    return s;
}

static int skill_run(void *p, struct ad_err *err)
{
    struct skill_state *s = p;

    return ad_skill_md_parse(skill_md, strlen(skill_md), &s->got, err);
}

static bool str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *skill_after(void *p, int rc, const struct ad_err *err)
{
    struct skill_state *s = p;
    static const struct ad_skill_bundle zero;
    const struct ad_skill_bundle *a = &s->got, *b = &s->ref;
    const char *bad = NULL;

    if (rc == 0 && (!str_same(a->name, b->name) || !str_same(a->description, b->description) ||
                    !str_same(a->semver, b->semver) || !str_same(a->entry, b->entry) ||
                    !str_same(a->script, b->script) || !str_same(a->code, b->code) ||
                    !str_same(a->body, b->body) || !a->input_schema ||
                    !json_equal(a->input_schema, b->input_schema)))
        bad = "succeeded with a bundle unlike the reference";
    if (rc != 0 && memcmp(a, &zero, sizeof(zero)) != 0)
        bad = "failed but left fields of the bundle filled";
    ad_skill_bundle_release(&s->got);
    return bad;
}

static void skill_teardown(void *p)
{
    struct skill_state *s = p;

    ad_skill_bundle_release(&s->ref);
    free(s);
}

static const struct fault_op op_skill_md = {
    "ad_skill_md_parse", skill_setup, NULL, skill_run, skill_after, skill_teardown,
};


/*
 * ad_skill_md_render of a bundle with code and no body: the front matter
 * (the input schema as JSON text) and the usage written from the schema
 * and the entry's signature. The output buffer holds text already, which
 * must be all that is left after a failure.
 */
static const char render_code[] =
    "import re\n"
    "\n"
    "\n"
    "def count_words(text: str, lower: bool = False, mode: str = \"plain\") -> int:\n"
    "    \"\"\"Counts the words in a text.\"\"\"\n"
    "    return len(re.findall(r\"\\w+\", text.lower() if lower else text))\n";

struct render_state {
    struct ad_skill_bundle b;
    struct ad_buf ref, got;
};

static void *render_setup(void)
{
    struct render_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(s);
    assert_int_equal(ad_skill_md_parse(skill_md, strlen(skill_md), &s->b, &err), 0);
    free(s->b.body);
    s->b.body = NULL;
    s->b.code = strdup(render_code);
    assert_non_null(s->b.code);
    /* An enum and a nullable type, so the usage spells both out. */
    assert_int_equal(json_object_set_new(json_object_get(s->b.input_schema, "properties"), "mode",
                                         json_pack("{s:[s,s], s:s}", "enum", "plain", "strict",
                                                   "description", "how to split")), 0);
    ad_buf_init(&s->ref, 1 << 20);
    ad_buf_init(&s->got, 1 << 20);
    assert_int_equal(ad_buf_adds(&s->ref, "kept\n"), 0);
    if (ad_skill_md_render(&s->b, &s->ref, &err) != 0)
        fail_msg("render: %s", err.msg);
    assert_non_null(strstr(s->ref.ptr, "input-schema: '{"));
    assert_non_null(strstr(s->ref.ptr, "## Input"));
    return s;
}

static void render_before(void *p)
{
    struct render_state *s = p;

    assert_int_equal(ad_buf_adds(&s->got, "kept\n"), 0);
}

static int render_run(void *p, struct ad_err *err)
{
    struct render_state *s = p;

    return ad_skill_md_render(&s->b, &s->got, err);
}

static const char *render_after(void *p, int rc, const struct ad_err *err)
{
    struct render_state *s = p;
    const char *bad = NULL;

    if (rc == 0 && strcmp(s->got.ptr, s->ref.ptr) != 0)
        bad = why("succeeded with another SKILL.md:\n%.1500s", s->got.ptr);
    if (rc != 0 && strcmp(s->got.ptr, "kept\n") != 0)
        bad = "failed but left text in the output";
    ad_buf_release(&s->got);
    return bad;
}

static void render_teardown(void *p)
{
    struct render_state *s = p;

    ad_skill_bundle_release(&s->b);
    ad_buf_release(&s->ref);
    ad_buf_release(&s->got);
    free(s);
}

static const struct fault_op op_skill_render = {
    "ad_skill_md_render", render_setup, render_before, render_run, render_after,
    render_teardown,
};

/*
 * A reply that mixes every format: two SEARCH/REPLACE blocks (the second
 * matches only with another indentation), a new file from an empty
 * SEARCH, a unified diff with two hunks, and a fenced whole file.
 */
static const char edit_reply[] =
    "I'll make these changes.\n"
    "\n"
    "src/app.py\n"
    "```python\n"
    "<<<<<<< SEARCH\n"
    "def greet(name):\n"
    "    return \"hello \" + name\n"
    "=======\n"
    "def greet(name):\n"
    "    return f\"hello, {name}\"\n"
    ">>>>>>> REPLACE\n"
    "```\n"
    "\n"
    "Then, in the same file:\n"
    "\n"
    "src/app.py\n"
    "```python\n"
    "<<<<<<< SEARCH\n"
    "    x = 1\n"
    "    return x\n"
    "=======\n"
    "    x = 2\n"
    "    return x * 2\n"
    ">>>>>>> REPLACE\n"
    "```\n"
    "\n"
    "src/new_mod.py\n"
    "```python\n"
    "<<<<<<< SEARCH\n"
    "=======\n"
    "VALUE = 1\n"
    ">>>>>>> REPLACE\n"
    "```\n"
    "\n"
    "```diff\n"
    "--- a/lib/util.py\n"
    "+++ b/lib/util.py\n"
    "@@ -1,3 +1,3 @@\n"
    " import os\n"
    "-DEBUG = False\n"
    "+DEBUG = True\n"
    " \n"
    "@@ -10,2 +10,2 @@\n"
    " def helper():\n"
    "-    pass\n"
    "+    return 42\n"
    "```\n"
    "\n"
    "docs/notes.md\n"
    "```markdown\n"
    "# Notes\n"
    "\n"
    "The greeting has a comma now.\n"
    "```\n";

struct edit_parse_state {
    struct ad_edit_set ref, got;
};

static void *edit_parse_setup(void)
{
    struct edit_parse_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(s);
    if (ad_edit_parse(edit_reply, strlen(edit_reply), &s->ref, &err) != 0)
        fail_msg("edit reply: %s", err.msg);
    assert_int_equal(s->ref.n, 6);
    return s;
}

static int edit_parse_run(void *p, struct ad_err *err)
{
    struct edit_parse_state *s = p;

    return ad_edit_parse(edit_reply, strlen(edit_reply), &s->got, err);
}

static bool edit_sets_equal(const struct ad_edit_set *a, const struct ad_edit_set *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct ad_edit_block *x = &a->v[i], *y = &b->v[i];

        if (x->kind != y->kind || x->line != y->line || x->from_diff != y->from_diff ||
            !str_same(x->path, y->path) || !str_same(x->search, y->search) ||
            !str_same(x->replace, y->replace))
            return false;
    }
    return true;
}

static const char *edit_parse_after(void *p, int rc, const struct ad_err *err)
{
    struct edit_parse_state *s = p;
    const char *bad = NULL;

    if (rc == 0 && !edit_sets_equal(&s->got, &s->ref))
        bad = "succeeded with blocks unlike the reference";
    if (rc != 0 && (s->got.v || s->got.n))
        bad = "failed but left blocks in the set";
    ad_edit_set_release(&s->got);
    return bad;
}

static void edit_parse_teardown(void *p)
{
    struct edit_parse_state *s = p;

    ad_edit_set_release(&s->ref);
    free(s);
}

static const struct fault_op op_edit_parse = {
    "ad_edit_parse", edit_parse_setup, NULL, edit_parse_run, edit_parse_after,
    edit_parse_teardown,
};

/* ad_edit_extract_function (fences stripped first) appends to a buffer that holds text. */
static const char extract_text[] =
    "Here it is:\n"
    "```python\n"
    "import os\n"
    "from typing import (\n"
    "    List,\n"
    ")\n"
    "\n"
    "@cache\n"
    "def greet(name: str,\n"
    "          loud: bool = False) -> str:\n"
    "    \"\"\"Says hello.\n"
    "\n"
    "    def inner(): not a def\n"
    "    \"\"\"\n"
    "    return \"hello \" + name\n"
    "\n"
    "def other():\n"
    "    pass\n"
    "```\n";

struct extract_state {
    struct ad_buf ref, got;
};

static void *extract_setup(void)
{
    struct extract_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(s);
    ad_buf_init(&s->ref, 1 << 20);
    ad_buf_init(&s->got, 1 << 20);
    assert_int_equal(ad_buf_adds(&s->ref, "kept: "), 0);
    if (ad_edit_extract_function(extract_text, strlen(extract_text), "greet", 1, &s->ref,
                                 &err) != 0)
        fail_msg("extract: %s", err.msg);
    assert_non_null(strstr(s->ref.ptr, "from typing import"));
    return s;
}

static void extract_before(void *p)
{
    struct extract_state *s = p;

    assert_int_equal(ad_buf_adds(&s->got, "kept: "), 0);
}

static int extract_run(void *p, struct ad_err *err)
{
    struct extract_state *s = p;

    return ad_edit_extract_function(extract_text, strlen(extract_text), "greet", 1, &s->got,
                                    err);
}

static const char *extract_after(void *p, int rc, const struct ad_err *err)
{
    struct extract_state *s = p;

    const char *bad = NULL;

    if (rc == 0 && strcmp(s->got.ptr, s->ref.ptr) != 0)
        bad = "succeeded with another function";
    if (rc != 0 && strcmp(s->got.ptr, "kept: ") != 0)
        bad = "failed but changed the output buffer";
    ad_buf_release(&s->got);
    return bad;
}

static void extract_teardown(void *p)
{
    struct extract_state *s = p;

    ad_buf_release(&s->ref);
    ad_buf_release(&s->got);
    free(s);
}

static const struct fault_op op_extract = {
    "ad_edit_extract_function", extract_setup, extract_before, extract_run, extract_after,
    extract_teardown,
};

/* ---- 4. edits on disk -------------------------------------------------------- */

static const char app_py[] =
    "import sys\n"
    "\n"
    "\n"
    "def greet(name):\n"
    "    return \"hello \" + name\n"
    "\n"
    "\n"
    "class App:\n"
    "    def run(self):\n"
    "        x = 1\n"
    "        return x\n";

static const char util_py[] =
    "import os\n"
    "DEBUG = False\n"
    "\n"
    "\n"
    "def first():\n"
    "    return 1\n"
    "\n"
    "\n"
    "\n"
    "def helper():\n"
    "    pass\n";

static void write_text(const char *dir, const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int skip_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* Every file and folder under dir, sorted, with the files' modes and bytes. */
static void snapshot(const char *dir, const char *rel, struct ad_buf *out)
{
    struct dirent **names = NULL;
    char path[512];
    int n;

    snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
    n = scandir(path, &names, skip_dots, alphasort);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        char sub[512], full[600];
        struct stat st;

        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", names[i]->d_name);
        snprintf(full, sizeof(full), "%s/%s", dir, sub);
        assert_int_equal(lstat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            assert_int_equal(ad_buf_addf(out, "d %s\n", sub), 0);
            snapshot(dir, sub, out);
        } else {
            FILE *f = fopen(full, "r");
            char chunk[4096];
            size_t r;

            assert_non_null(f);
            assert_int_equal(ad_buf_addf(out, "f %s %o\n", sub, (unsigned)st.st_mode), 0);
            while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
                assert_int_equal(ad_buf_add(out, chunk, r), 0);
            fclose(f);
            assert_int_equal(ad_buf_adds(out, "\n"), 0);
        }
        free(names[i]);
    }
    free(names);
}

struct apply_state {
    char dir[64];
    struct ad_edit_set set;
    struct ad_edit_report rep;
    struct ad_buf before, after;   /* the tree before, and after a successful apply */
};

static void apply_before(void *p)
{
    struct apply_state *s = p;
    char path[128];

    rm_tree(s->dir);
    assert_int_equal(mkdir(s->dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/src", s->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/lib", s->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_text(s->dir, "src/app.py", app_py);
    write_text(s->dir, "lib/util.py", util_py);
}

static void *apply_setup(void)
{
    struct apply_state *s = calloc(1, sizeof(*s));
    struct ad_err err = AD_ERR_INIT;

    assert_non_null(s);
    snprintf(s->dir, sizeof(s->dir), "/tmp/ad-test-fault-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    ad_buf_init(&s->before, 1 << 20);
    ad_buf_init(&s->after, 1 << 20);
    if (ad_edit_parse(edit_reply, strlen(edit_reply), &s->set, &err) != 0)
        fail_msg("edit reply: %s", err.msg);
    apply_before(s);
    snapshot(s->dir, "", &s->before);
    if (ad_edit_apply_dir(s->dir, &s->set, NULL, 0, &s->rep, &err) != 0)
        fail_msg("applying the reply: %s", err.msg);
    ad_edit_report_release(&s->rep);
    snapshot(s->dir, "", &s->after);
    assert_non_null(strstr(s->after.ptr, "return x * 2"));
    assert_non_null(strstr(s->after.ptr, "d docs\n"));
    return s;
}

static int apply_run(void *p, struct ad_err *err)
{
    struct apply_state *s = p;

    return ad_edit_apply_dir(s->dir, &s->set, NULL, 0, &s->rep, err);
}

static const char *apply_after(void *p, int rc, const struct ad_err *err)
{
    struct apply_state *s = p;
    struct ad_buf now = AD_BUF_INIT;
    const char *bad = NULL;

    now.max = 1 << 20;
    snapshot(s->dir, "", &now);
    if (rc == 0 && strcmp(now.ptr, s->after.ptr) != 0)
        bad = "succeeded but the tree is not the reference result";
    if (rc != 0 && strcmp(now.ptr, s->before.ptr) != 0)
        bad = why("failed but the tree changed (half-written):\n%.600s", now.ptr);
    if (rc == 0 && s->rep.files_changed != 4)
        bad = why("succeeded but reports %zu files changed, not 4", s->rep.files_changed);
    ad_buf_release(&now);
    ad_edit_report_release(&s->rep);
    return bad;
}

static void apply_teardown(void *p)
{
    struct apply_state *s = p;

    rm_tree(s->dir);
    ad_edit_set_release(&s->set);
    ad_buf_release(&s->before);
    ad_buf_release(&s->after);
    free(s);
}

static const struct fault_op op_apply = {
    "ad_edit_apply_dir", apply_setup, apply_before, apply_run, apply_after, apply_teardown,
};

/* ---- 5. the store ------------------------------------------------------------ */

/*
 * ad_episode_record of an episode with three segments, on a bus with two
 * subscribers that each write a notification about the episode, so the
 * event append, the handlers' savepoints and a handler that fails are all
 * on the path. Only the public API of the store, the bus and the agent
 * module is used.
 *
 * Each case starts from a fresh copy of a small database that holds the
 * tenant and the agent, on a store opened for the case: "cold" records on
 * the fresh connection, so the statements are prepared inside the
 * operation; "warm" records one episode first, so they are cached. (A
 * fresh copy for each case is what keeps allocation N at the same site in
 * every case: with rows left by earlier cases, and ids that are random,
 * the B-trees split elsewhere and the count drifts by tens.) After the case
 * a second connection checks that the episode, its segments, the agent's
 * counters and the task.fail event are all there (rc 0) or all absent
 * (rc < 0), and that no notification names an episode that is not there;
 * then the store that saw the failure must record one more episode,
 * checked the same way, and PRAGMA integrity_check and foreign_key_check
 * must be clean (ad_store_check).
 */
struct store_state {
    char dir[64];
    char template[128];      /* the database with tenant and agent */
    char path[128];          /* the case's copy */
    char tenant[AD_ID_SIZE];
    char agent[AD_ID_SIZE];
    bool warm;
    struct ad_store *st;     /* the store under test */
    struct ad_bus *bus;
    struct ad_store *ro;     /* the second connection */
    struct ad_episode ep;
    int64_t episodes;        /* in the database */
    int64_t seq;             /* the last event seen */
};

static int notify(void *ctx, const struct ad_bus_event *ev, const char *type,
                  struct ad_err *err)
{
    struct store_state *s = ctx;
    struct ad_notification n = { 0 };
    const char *id = ad_json_str(ev->payload, "episode_id");
    int rc;

    snprintf(n.tenant_id, sizeof(n.tenant_id), "%s", ev->tenant_id);
    snprintf(n.agent_id, sizeof(n.agent_id), "%s", s->agent);
    n.type = (char *)type;
    n.title = (char *)"an episode failed";
    n.payload = json_pack("{s:s?, s:s}", "episode_id", id, "topic", ev->topic);
    if (!n.payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    rc = ad_store_notification_insert(s->st, &n, err);
    json_decref(n.payload);
    return rc;
}

static int on_fail(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    return notify(ctx, ev, "fault.on_fail", err);
}

static int on_any(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    return notify(ctx, ev, "fault.on_any", err);
}

static void open_store(const char *path, int flags, struct ad_store **st)
{
    struct ad_store_options opts = { .flags = flags };
    struct ad_err err = AD_ERR_INIT;

    if (ad_store_open(path, &opts, st, &err) != 0)
        fail_msg("opening %s: %s", path, err.msg);
}

static void remove_db(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char p[256];

    for (size_t i = 0; i < AD_ARRAY_SIZE(suffixes); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out;
    ssize_t r;

    assert_true(in >= 0);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(out >= 0);
    while ((r = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)r), r);
    assert_int_equal(r, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

/* The episode to record, parsed as users send it; the ids are this database's. */
static void make_episode(struct store_state *s)
{
    struct ad_err err = AD_ERR_INIT;
    const char *agent = NULL;
    json_t *doc = NULL;

    assert_int_equal(parse_episode(episode_text, &doc, &s->ep, &agent, &err), 0);
    json_decref(doc);
    snprintf(s->ep.tenant_id, sizeof(s->ep.tenant_id), "%s", s->tenant);
    snprintf(s->ep.agent_id, sizeof(s->ep.agent_id), "%s", s->agent);
}

static void *store_setup_mode(bool warm)
{
    struct store_state *s = calloc(1, sizeof(*s));
    struct ad_agent a = { 0 };
    struct ad_err err = AD_ERR_INIT;
    struct ad_store *st = NULL;

    assert_non_null(s);
    s->warm = warm;
    snprintf(s->dir, sizeof(s->dir), "/tmp/ad-test-fault-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->template, sizeof(s->template), "%s/template.db", s->dir);
    snprintf(s->path, sizeof(s->path), "%s/case.db", s->dir);
    open_store(s->template, AD_STORE_CREATE, &st);
    assert_int_equal(ad_store_tenant_ensure(st, "acme", s->tenant, &err), 0);
    snprintf(a.tenant_id, sizeof(a.tenant_id), "%s", s->tenant);
    a.name = (char *)"worker-1";
    a.maturity = AD_INTERN;
    assert_int_equal(ad_store_agent_insert(st, &a, &err), 0);
    snprintf(s->agent, sizeof(s->agent), "%s", a.id);
    ad_store_free(st);   /* the last connection: the WAL is folded into the file */
    return s;
}

static void *store_setup_cold(void)
{
    return store_setup_mode(false);
}

static void *store_setup_warm(void)
{
    return store_setup_mode(true);
}

static void close_writer(struct store_state *s)
{
    ad_bus_free(s->bus);
    ad_store_free(s->st);
    s->bus = NULL;
    s->st = NULL;
}

/* The store under test with its bus; warm, it records one episode first. */
static void open_writer(struct store_state *s)
{
    struct ad_err err = AD_ERR_INIT;

    open_store(s->path, 0, &s->st);
    assert_int_equal(ad_bus_new(s->st, &s->bus, &err), 0);
    assert_int_equal(ad_bus_subscribe(s->bus, AD_TOPIC_TASK_FAIL, "on_fail", on_fail, s, &err), 0);
    assert_int_equal(ad_bus_subscribe(s->bus, "*", "on_any", on_any, s, &err), 0);
    if (!s->warm)
        return;
    make_episode(s);
    assert_int_equal(ad_episode_record(s->st, s->bus, &s->ep, &err), 0);
    ad_episode_release(&s->ep);
    s->episodes++;
    assert_int_equal(ad_store_event_last_seq(s->ro, s->tenant, &s->seq, &err), 0);
}

static void store_before(void *p)
{
    struct store_state *s = p;

    remove_db(s->path);
    copy_file(s->template, s->path);
    open_store(s->path, AD_STORE_READONLY, &s->ro);
    s->episodes = 0;
    s->seq = 0;
    open_writer(s);
    make_episode(s);
}

static int store_run(void *p, struct ad_err *err)
{
    struct store_state *s = p;

    return ad_episode_record(s->st, s->bus, &s->ep, err);
}

/* A read-back failure (a JSON column that does not parse: a key lost while writing it). */
static const char *read_failed(const char *what, const struct ad_err *err)
{
    return why("%s: %s", what, err->msg);
}

/* The episode id, whole: three segments and its JSON fields. */
static const char *check_episode(struct store_state *s, const char *id)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_episode full;
    const char *bad = NULL;

    if (ad_store_episode_get(s->ro, s->tenant, id, &full, &err) != 0)
        return read_failed("the recorded episode cannot be read back", &err);
    if (full.nsegments != 3 || !full.error_trace || !full.context || !full.input ||
        !full.tools_attempted)
        bad = why("episode %s is not whole: %zu segments", id, full.nsegments);
    ad_episode_release(&full);
    return bad;
}

/*
 * The events since the last one seen: one task.fail naming id when id is
 * set, none otherwise.
 */
static const char *check_events(struct store_state *s, const char *id)
{
    struct ad_err err = AD_ERR_INIT;
    struct ad_event *evs = NULL;
    const char *bad = NULL;
    size_t n = 0;

    if (ad_store_event_list(s->ro, s->tenant, s->seq, NULL, 16, &evs, &n, &err) != 0)
        return read_failed("cannot read the events back", &err);
    if (n != (id ? 1 : 0))
        bad = why("%zu new events where %d was expected", n, id ? 1 : 0);
    else if (id && (strcmp(evs[0].topic, AD_TOPIC_TASK_FAIL) != 0 ||
                    !str_same(ad_json_str(evs[0].payload, "episode_id"), id)))
        bad = why("the new event is %s about %s", evs[0].topic,
                  ad_json_str(evs[0].payload, "episode_id"));
    if (n)
        s->seq = evs[n - 1].seq;
    ad_event_list_free(evs, n);
    return bad;
}

/*
 * No recent notification may name an episode that is not there (a handler's
 * savepoint that started a transaction of its own after SQLite rolled the
 * episode's back).
 */
static const char *check_notifications(struct store_state *s)
{
    struct ad_notification *ns = NULL;
    struct ad_err err = AD_ERR_INIT;
    const char *bad = NULL;
    size_t n = 0;

    if (ad_store_notification_list(s->ro, s->tenant, false, NULL, 8, &ns, &n, &err) != 0)
        return read_failed("cannot read the notifications back", &err);
    for (size_t i = 0; !bad && i < n; i++) {
        const char *about = ad_json_str(ns[i].payload, "episode_id");
        struct ad_episode ep;

        if (!about || ad_store_episode_get(s->ro, s->tenant, about, &ep, &err) != 0) {
            bad = why("notification '%s' names episode %s, which is not there", ns[i].type,
                      about ? about : "(none)");
        } else {
            ad_episode_release(&ep);
        }
    }
    ad_notification_list_free(ns, n);
    return bad;
}

/*
 * What the database holds after one more record, seen by the second
 * connection: id (NULL when the record failed) whole with its event,
 * nothing else new, and the counters at s->episodes.
 */
static const char *inspect(struct store_state *s, const char *id)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_err err = AD_ERR_INIT;
    struct ad_agent a = { 0 };
    const char *bad = NULL;
    int64_t count = -1;

    if (ad_store_episode_count(s->ro, s->tenant, &f, &count, &err) != 0 ||
        ad_store_agent_get(s->ro, s->tenant, s->agent, &a, &err) != 0)
        return read_failed("cannot read the database back", &err);
    if (count != s->episodes)
        bad = why("%" PRId64 " episodes where %" PRId64 " were expected", count, s->episodes);
    else if (a.episode_count != count || a.failure_count != count || a.success_count != 0)
        bad = why("agent counters %" PRId64 "/%" PRId64 "/%" PRId64 " for %" PRId64
                  " failed episodes", a.episode_count, a.success_count, a.failure_count, count);
    ad_agent_release(&a);
    if (!bad && id)
        bad = check_episode(s, id);
    if (!bad)
        bad = check_events(s, id);
    if (!bad)
        bad = check_notifications(s);
    return bad;
}

/* The store that saw the failure must record the next episode as usual. */
static const char *still_usable(struct store_state *s)
{
    struct ad_err err = AD_ERR_INIT;
    const char *bad = NULL;

    make_episode(s);
    if (ad_episode_record(s->st, s->bus, &s->ep, &err) != 0) {
        bad = why("the store cannot record an episode after the failure: %s", err.msg);
    } else {
        s->episodes++;
        bad = inspect(s, s->ep.id);
    }
    ad_episode_release(&s->ep);
    if (!bad && ad_store_check(s->ro, &err) != 0)
        bad = why("the database is not sound: %s", err.msg);
    return bad;
}

static const char *store_after(void *p, int rc, const struct ad_err *err)
{
    struct store_state *s = p;
    const char *bad = NULL;
    int depth = ad_store_tx_depth(s->st);

    if (depth != 0)
        bad = why("left %d transaction level(s) open", depth);
    if (!bad && rc != 0 && s->ep.id[0])
        bad = "failed but left the episode's id set";
    s->episodes += rc == 0;
    if (!bad)
        bad = inspect(s, rc == 0 ? s->ep.id : NULL);
    ad_episode_release(&s->ep);
    if (!bad)
        bad = still_usable(s);
    close_writer(s);
    ad_store_free(s->ro);
    s->ro = NULL;
    return bad;
}

static void store_teardown(void *p)
{
    struct store_state *s = p;

    remove_db(s->path);
    remove_db(s->template);
    rmdir(s->dir);
    free(s);
}

static const struct fault_op op_store_cold = {
    "ad_episode_record, cold store", store_setup_cold, store_before, store_run, store_after,
    store_teardown,
};

static const struct fault_op op_store_warm = {
    "ad_episode_record, warm store", store_setup_warm, store_before, store_run, store_after,
    store_teardown,
};

/* ---- 6. main ------------------------------------------------------------------ */

/* The library's warnings (a handler that failed, a rollback that failed): shown when tracing. */
static void quiet_log(void *ctx, enum ad_log_level level, const char *file, int line,
                      const char *msg)
{
    if (trace_refusals)
        fprintf(stderr, "# log %s:%d: %s\n", file, line, msg);
}

#define FAULT_TEST(label, op, persistent, stride)                                          \
    { label, run_fault, NULL, NULL, &(struct fault_case){ &(op), (persistent), (stride) } }

int main(void)
{
    /*
     * Persistent mode on the store takes every 5th N: a store case opens two
     * connections (about 8 ms under ASan), the one-shot sweep hits every
     * allocation site already, and the whole binary then stays near ten
     * seconds. AD_FAULT_FULL=1 takes every N.
     */
    const struct CMUnitTest tests[] = {
        FAULT_TEST("episode json, one-shot", op_episode, false, 1),
        FAULT_TEST("episode json, persistent", op_episode, true, 1),
        FAULT_TEST("settings json, one-shot", op_settings, false, 1),
        FAULT_TEST("settings json, persistent", op_settings, true, 1),
        FAULT_TEST("SKILL.md, one-shot", op_skill_md, false, 1),
        FAULT_TEST("SKILL.md, persistent", op_skill_md, true, 1),
        FAULT_TEST("SKILL.md render, one-shot", op_skill_render, false, 1),
        FAULT_TEST("SKILL.md render, persistent", op_skill_render, true, 1),
        FAULT_TEST("edit parse, one-shot", op_edit_parse, false, 1),
        FAULT_TEST("edit parse, persistent", op_edit_parse, true, 1),
        FAULT_TEST("edit extract function, one-shot", op_extract, false, 1),
        FAULT_TEST("edit extract function, persistent", op_extract, true, 1),
        FAULT_TEST("edit apply to a directory, one-shot", op_apply, false, 1),
        FAULT_TEST("edit apply to a directory, persistent", op_apply, true, 1),
        FAULT_TEST("episode record, cold store, one-shot", op_store_cold, false, 1),
        FAULT_TEST("episode record, cold store, persistent", op_store_cold, true, 5),
        FAULT_TEST("episode record, warm store, one-shot", op_store_warm, false, 1),
        FAULT_TEST("episode record, warm store, persistent", op_store_warm, true, 5),
    };
    struct CMUnitTest chosen[AD_ARRAY_SIZE(tests)];
    const char *e = getenv("AD_FAULT_FULL"), *only = getenv("AD_FAULT_ONLY");
    size_t n = 0;

    full_sweep = e && strcmp(e, "1") == 0;
    e = getenv("AD_FAULT_TRACE");
    trace_refusals = e && strcmp(e, "1") == 0;
    /* AD_FAULT_ONLY=text runs the tests whose name contains text (while debugging). */
    for (size_t i = 0; i < AD_ARRAY_SIZE(tests); i++)
        if (!only || strstr(tests[i].name, only))
            chosen[n++] = tests[i];
    fi_install();
    ad_log_set_sink(quiet_log, NULL);
    return _cmocka_run_group_tests("test_fault", chosen, n, NULL, NULL);
}
