/*
 * The AlphaEvolver job (alpha.h): one skill version in, mutants proposed,
 * evaluated side by side with the parent, decided with the noise in view,
 * scored, and the best winner queued for review or promoted.
 *
 * Steps, each written before the next starts:
 *   rows       the job's tool_mutations rows, if an earlier run made them
 *              (then no gate, no test set, no model call: they say it all)
 *   propose    the model (evolution_mutants requests in flight together,
 *              a goal prompt per trigger) or the offline operators; every
 *              mutant's patch risk; all rows inserted in one transaction
 *   evaluate   ad_alpha_evaluate on the undecided rows; a first winner is
 *              evaluated again and must win again
 *   fitness    a variant per side (parent and mutants), proxy + objectives
 *   decide     every row gets won/lost with its reason; the best winner is
 *              put to review, or promoted when the agent may do without
 *
 * Sections: small helpers / the goal prompt / proposing / evaluating /
 * fitness / deciding and promoting / the job.
 */
#include "compat.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/agent.h"
#include "autodev/alpha.h"
#include "autodev/bus.h"
#include "autodev/edit.h"
#include "autodev/evaluate.h"
#include "autodev/fitness.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/llm.h"
#include "autodev/log.h"
#include "autodev/propose.h"
#include "autodev/risk.h"
#include "autodev/sandbox.h"
#include "autodev/settings.h"
#include "autodev/skill.h"
#include "autodev/store.h"

#include "evolve_int.h"

#define PROMPT_INPUTS 3          /* recorded inputs shown to the model */
#define PROMPT_VALUE_MAX 1500    /* bytes of one of them */
#define MODEL_IN_FLIGHT 4        /* proposals asked of the model at once */
#define LEASE_RESERVE_MS 5000    /* kept back from a step for writing its result */
#define SKILL_PATH "skill.py"

struct run {
    struct ad_store *st;
    struct ad_bus *bus;
    struct ad_sandbox *sb;
    struct ad_llm *llm;
    const struct ad_alpha_opts *o;
    struct ad_settings s;
    struct ad_skill skill;
    struct ad_skill_version ver;
    char agent_id[AD_ID_SIZE];
    enum ad_alpha_trigger trigger;
    enum ad_alpha_goal goal;
    const json_t *payload;
    json_t *tests;                       /* the test set (owned) */
    struct ad_tool_mutation *m;          /* the job's rows, by mutant_index */
    size_t n;
};

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

/*
 * A step of the job, for an operator who asks (--log-level info); the
 * outcome is one line the runtime prints as a notice.
 */
#define say(r, ...) AD_LOG(AD_LOG_INFO, "alpha: " __VA_ARGS__)

static enum ad_alpha_goal goal_of(enum ad_alpha_trigger t)
{
    switch (t) {
    case AD_TRIGGER_TOKENS:
        return AD_GOAL_COST;
    case AD_TRIGGER_FAILURE:
        return AD_GOAL_RELIABILITY;
    default:
        return AD_GOAL_LATENCY;
    }
}

/* FNV-1a of s: the offline proposer's seed, so a rerun proposes the same mutants. */
static uint64_t seed_of(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Renews the lease before a long step: the time the step may take, in *budget_ms. */
static int lease_step(struct ad_job_lease *lease, int64_t *budget_ms, struct ad_err *err)
{
    int64_t left;
    int rc = ad_jobs_heartbeat(lease, err);

    *budget_ms = INT64_MAX;
    if (rc < 0)
        return rc;
    left = ad_job_lease_left_ms(lease);
    if (left == INT64_MAX)
        return 0;
    if (left <= LEASE_RESERVE_MS)
        return ad_error(err, AD_ETIMEOUT, "the job's lease has too little time left");
    *budget_ms = left - LEASE_RESERVE_MS;
    return 0;
}

/* ---- the goal prompt ------------------------------------------------------------- */

static const char system_prompt[] =
    "You improve one Python skill of an agent platform. The file is " SKILL_PATH ".\n"
    "Rules:\n"
    "- Behaviour must stay IDENTICAL: for every input return exactly what the code "
    "returns now (same values, same types: 1 is not 1.0), and raise where it raises.\n"
    "- Keep the entry function's name and signature.\n"
    "- Standard library only; no subprocess, os, socket, ctypes, importlib, eval, exec, "
    "file writes or network: a change that adds them is refused.\n"
    "- Answer with SEARCH/REPLACE blocks against " SKILL_PATH ", each in this form:\n"
    SKILL_PATH "\n<<<<<<< SEARCH\n(exact lines of the current code)\n=======\n"
    "(the new lines)\n>>>>>>> REPLACE\n"
    "  or with the whole new entry function in one ```python block.\n"
    "- No explanation outside the blocks is needed.\n";

static const char *goal_text(enum ad_alpha_goal g)
{
    switch (g) {
    case AD_GOAL_COST:
        return "It is costly: make it use less CPU time and memory per call.";
    case AD_GOAL_RELIABILITY:
        return "It fails on some inputs or some of the time: make it succeed where it can, "
               "without changing any result it already gets right.";
    default:
        return "It is slow: make it faster.";
    }
}

static int user_prompt(const struct run *r, int k, struct ad_buf *out, struct ad_err *err)
{
    const json_t *secs = json_object_get(r->payload, "execution_seconds");
    size_t i;
    json_t *t;
    int rc;

    rc = ad_buf_addf(out, "Skill %s, version %s, entry function %s.\nGoal: %s\n",
                       r->skill.name, r->ver.semver, r->skill.entry_function,
                       goal_text(r->goal));
    if (rc == 0 && json_is_number(secs))
        rc = ad_buf_addf(out, "The call that triggered this took %.3f s.\n",
                           json_number_value(secs));
    if (rc == 0)
        rc = ad_buf_addf(out, "This is proposal %d of %d asked at once: try a different "
                                "idea from the obvious one when k > 1 (k = %d).\n\n",
                           k + 1, r->s.evolution_mutants, k + 1);
    if (rc == 0)
        rc = ad_buf_addf(out, "Current %s:\n```python\n%s\n```\n", SKILL_PATH, r->ver.code);
    json_array_foreach(r->tests, i, t) {
        char *in;

        if (rc < 0 || i >= PROMPT_INPUTS)
            break;
        in = json_dumps(json_object_get(t, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
        if (!in)
            return oom(err);
        if (i == 0)
            rc = ad_buf_adds(out, "\nRecorded inputs it is tested on (some of them):\n");
        if (rc == 0)
            rc = ad_buf_addf(out, "- %.*s%s\n", PROMPT_VALUE_MAX, in,
                               strlen(in) > PROMPT_VALUE_MAX ? "..." : "");
        free(in);
    }
    return rc < 0 ? oom(err) : 0;
}

/* ---- proposing ------------------------------------------------------------------- */

/* A mutant proposed, before it is a row. */
struct proposal {
    char *code;
    char *edit;
    char *op;
};

static void proposals_free(struct proposal *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].code);
        free(p[i].edit);
        free(p[i].op);
    }
    free(p);
}

/* Whether line (up to its end) starts "def name(" or "async def name(" at column 0. */
static bool defines(const char *line, const char *name)
{
    size_t n = strlen(name);

    if (!strncmp(line, "async def ", 10))
        line += 10;
    else if (!strncmp(line, "def ", 4))
        line += 4;
    else
        return false;
    while (*line == ' ')
        line++;
    return !strncmp(line, name, n) && (line[n] == '(' || line[n] == ' ');
}

/*
 * The span [*start, *end) of the top-level function name in code: its
 * decorators, its def line and every line after it that is indented, blank
 * or a comment. False when code defines no such function.
 */
static bool function_span(const char *code, const char *name, size_t *start, size_t *end)
{
    const char *p = code, *def = NULL;

    for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
        if (defines(p, name)) {
            def = p;
            break;
        }
    }
    if (!def)
        return false;
    /* Decorators right above it belong to it. */
    *start = (size_t)(def - code);
    while (*start > 0) {
        size_t b = *start - 1;

        while (b > 0 && code[b - 1] != '\n')
            b--;
        if (code[b] != '@')
            break;
        *start = b;
    }
    for (p = strchr(def, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *l = p + 1;

        if (*l != ' ' && *l != '\t' && *l != '\n' && *l != '\r' && *l != '#')
            break;
    }
    *end = p && p[1] ? (size_t)(p + 1 - code) : strlen(code);
    return true;
}

/*
 * A reply with no edit block but a whole function: the parent's function
 * of that name (entry) is replaced by it, with the module-level imports the
 * reply puts above it; the rest of the parent stays.
 */
static int apply_function(const char *code, const char *entry, const char *reply,
                          struct ad_buf *out, struct ad_err *err)
{
    struct ad_buf fn = AD_BUF_INIT;
    size_t start = 0, end = 0;
    int rc;

    fn.max = AD_SKILL_CODE_MAX;
    rc = ad_edit_extract_function(reply, strlen(reply), entry, 1, &fn, err);
    if (rc == 0 && !function_span(code, entry, &start, &end))
        rc = ad_error(err, AD_ENOTFOUND, "the parent defines no function %s to replace", entry);
    ad_buf_init(out, AD_SKILL_CODE_MAX);
    if (rc == 0 &&
        (ad_buf_add(out, code, start) < 0 || ad_buf_add(out, fn.ptr, fn.len) < 0 ||
         (fn.len && fn.ptr[fn.len - 1] != '\n' && ad_buf_addch(out, '\n') < 0) ||
         (end < strlen(code) && ad_buf_addch(out, '\n') < 0) || ad_buf_adds(out, code + end) < 0))
        rc = ad_error(err, AD_ETOOBIG, "the mutant would exceed %d bytes", AD_SKILL_CODE_MAX);
    if (rc < 0)
        ad_buf_release(out);
    ad_buf_release(&fn);
    return rc;
}

/*
 * Applies a reply to code: its SEARCH/REPLACE (or diff, or whole-file)
 * blocks, which must name SKILL_PATH or no file; or, with no block in it,
 * the whole entry function it holds.
 */
int ad__alpha_apply_reply(const char *code, const char *entry, const char *reply,
                          struct ad_buf *out, struct ad_err *err)
{
    struct ad_edit_set set = AD_EDIT_SET_INIT;
    struct ad_buf cur = AD_BUF_INIT;
    int rc = ad_edit_parse(reply, strlen(reply), &set, err);

    if (rc == AD_ENOTFOUND) {
        ad_err_clear(err);
        return apply_function(code, entry, reply, out, err);
    }

    if (rc == 0)
        rc = ad_buf_adds(&cur, code) < 0 ? oom(err) : 0;
    for (size_t i = 0; rc == 0 && i < set.n; i++) {
        const struct ad_edit_block *b = &set.v[i];
        struct ad_buf next = AD_BUF_INIT;
        enum ad_edit_match how;

        if (b->path && strcmp(b->path, SKILL_PATH) && strcmp(b->path, "./" SKILL_PATH)) {
            rc = ad_error(err, AD_EINVAL, "block %zu edits '%s', not %s", i + 1, b->path,
                          SKILL_PATH);
            break;
        }
        next.max = AD_SKILL_CODE_MAX;
        rc = ad_edit_apply_text(cur.ptr, cur.len, b, &next, &how, NULL, err);
        if (rc == 0) {
            ad_buf_release(&cur);
            cur = next;
        } else {
            ad_buf_release(&next);
        }
    }
    if (rc == 0) {
        *out = cur;
        cur = (struct ad_buf)AD_BUF_INIT;
    }
    ad_buf_release(&cur);
    ad_edit_set_release(&set);
    return rc;
}

/* Whether code already is the parent's or one of p[0..n). */
static bool seen(const struct run *r, const struct proposal *p, size_t n, const char *code)
{
    if (!strcmp(code, r->ver.code))
        return true;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(p[i].code, code))
            return true;
    }
    return false;
}

static int propose_model(struct run *r, struct proposal *p, size_t *np, struct ad_err *err)
{
    size_t want = (size_t)r->s.evolution_mutants;
    struct ad_llm_request *req = calloc(want, sizeof(*req));
    struct ad_llm_response *resp = calloc(want, sizeof(*resp));
    struct ad_llm_message *msgs = calloc(want * 2, sizeof(*msgs));
    struct ad_buf *user = calloc(want, sizeof(*user));
    struct ad_err *errs = calloc(want, sizeof(*errs));
    int *rcs = calloc(want, sizeof(*rcs));
    int64_t budget = INT64_MAX;
    int rc = 0, failed = 0;

    if (!req || !resp || !msgs || !user || !errs || !rcs)
        rc = oom(err);
    if (rc == 0)
        rc = lease_step(r->o->lease, &budget, err);
    for (size_t k = 0; rc == 0 && k < want; k++) {
        user[k] = (struct ad_buf)AD_BUF_INIT;
        rc = user_prompt(r, (int)k, &user[k], err);
        msgs[2 * k] = (struct ad_llm_message){ .role = AD_LLM_SYSTEM, .content = system_prompt };
        msgs[2 * k + 1] = (struct ad_llm_message){ .role = AD_LLM_USER, .content = user[k].ptr };
        req[k].messages = &msgs[2 * k];
        req[k].nmessages = 2;
        req[k].model = r->o->model;
        req[k].max_tokens = 4096;
        req[k].temperature = k == 0 ? 0.2 : 0.8;
        req[k].seed = (int64_t)k;
        req[k].purpose = "alpha";
        req[k].deadline_ms = budget == INT64_MAX ? 0 : budget;
    }
    if (rc == 0) {
        say(r, "asking the model for %zu proposals", want);
        ad_llm_complete_many(r->llm, req, want, MODEL_IN_FLIGHT, resp, rcs, errs);
    }
    for (size_t k = 0; rc == 0 && k < want; k++) {
        struct ad_buf code = AD_BUF_INIT;
        struct ad_err aerr = AD_ERR_INIT;

        if (rcs[k] < 0) {
            failed++;
            if (failed == 1)
                ad_error(err, rcs[k], "%s", errs[k].msg);
            say(r, "proposal %zu: the model failed: %s", k + 1, errs[k].msg);
            continue;
        }
        if (ad__alpha_apply_reply(r->ver.code, r->skill.entry_function,
                                  resp[k].text ? resp[k].text : "", &code, &aerr) < 0) {
            say(r, "proposal %zu: no usable edit: %s", k + 1, aerr.msg);
            ad_buf_release(&code);
            continue;
        }
        if (seen(r, p, *np, code.ptr)) {
            say(r, "proposal %zu: no change, or the same as another", k + 1);
            ad_buf_release(&code);
            continue;
        }
        p[*np].code = ad_buf_detach(&code, NULL);
        p[*np].edit = strdup(resp[k].text);
        p[*np].op = strdup("llm");
        if (!p[*np].code || !p[*np].edit || !p[*np].op) {
            (*np)++;
            rc = oom(err);
            break;
        }
        (*np)++;
    }
    /* Every call failed: the model's error is the job's (retried when it may heal). */
    if (rc == 0 && failed == (int)want)
        rc = err->code ? err->code : AD_EIO;
    else if (rc == 0)
        ad_err_clear(err);
    for (size_t k = 0; resp && k < want; k++)
        ad_llm_response_release(&resp[k]);
    for (size_t k = 0; user && k < want; k++)
        ad_buf_release(&user[k]);
    free(req);
    free(resp);
    free(msgs);
    free(user);
    free(errs);
    free(rcs);
    return rc;
}

/* The offline operators that can make code cheaper without a model. */
static unsigned offline_ops(enum ad_alpha_goal g)
{
    if (g == AD_GOAL_RELIABILITY)
        return AD_MUT_ALL;
    return AD_MUT_NUMBER | AD_MUT_DELETE | AD_MUT_COMPARE | AD_MUT_BOOL;
}

static int propose_offline(struct run *r, struct proposal *p, size_t *np, struct ad_err *err)
{
    struct ad_propose_opts po = { 0 };
    struct ad_mutant *mv = NULL;
    size_t nm = 0;
    int rc;

    po.seed = seed_of(r->o->job_id ? r->o->job_id : r->ver.id);
    po.count = r->s.evolution_mutants;
    po.ops = offline_ops(r->goal);
    po.path = SKILL_PATH;
    rc = ad_propose_mutants(r->ver.code, strlen(r->ver.code), &po, &mv, &nm, err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error_prefix(err, "the offline proposer found nothing to change in %s %s",
                             r->skill.name, r->ver.semver);
    for (size_t i = 0; rc == 0 && i < nm; i++) {
        if (seen(r, p, *np, mv[i].code))
            continue;
        p[*np].code = mv[i].code;
        p[*np].edit = mv[i].edit;
        p[*np].op = strdup(ad_mutation_op_name(mv[i].op));
        mv[i].code = mv[i].edit = NULL;
        (*np)++;
        if (!p[*np - 1].op)
            rc = oom(err);
    }
    ad_mutants_free(mv, nm);
    return rc;
}

/* Whether the chain can write code (a provider other than offline). */
static bool writes_code(const struct ad_llm *llm)
{
    for (size_t i = 0; llm && i < ad_llm_chain_len(llm); i++) {
        const char *e = ad_llm_chain_entry(llm, i);

        if (e && strncmp(e, "offline:", 8) != 0)
            return true;
    }
    return false;
}

/* The rows of the proposals: one transaction, all or (but for the daily limit) none. */
static int insert_rows(struct run *r, struct proposal *p, size_t np, struct ad_err *err)
{
    int depth0 = ad_store_tx_depth(r->st);
    int rc;

    r->m = calloc(np, sizeof(*r->m));
    if (!r->m)
        return oom(err);
    rc = ad_store_begin(r->st, err);
    if (rc == 0)
        rc = ad_jobs_lease_hold(r->o->lease, r->st, err);
    for (size_t i = 0; rc == 0 && i < np; i++) {
        struct ad_tool_mutation *m = &r->m[r->n];
        struct ad_risk risk = { 0 };

        ad_tool_mutation_init(m);
        rc = ad_risk_score(r->ver.code, p[i].code, &risk, err);
        if (rc < 0)
            break;
        memcpy(m->tenant_id, r->o->tenant_id, AD_ID_SIZE);
        m->tool_name = strdup(r->skill.name);
        m->mutated_code = strdup(p[i].code);
        m->status = AD_MSTAT_PENDING;
        memcpy(m->skill_id, r->skill.id, AD_ID_SIZE);
        memcpy(m->parent_skill_version_id, r->ver.id, AD_ID_SIZE);
        /* A version AlphaEvolver made has its mutation as the mutants' parent: lineage. */
        if (r->ver.origin == AD_ORIGIN_ALPHA && r->ver.origin_id && ad_id_valid(r->ver.origin_id))
            snprintf(m->parent_tool_id, sizeof(m->parent_tool_id), "%s", r->ver.origin_id);
        memcpy(m->agent_id, r->agent_id, AD_ID_SIZE);
        if (r->o->job_id)
            snprintf(m->job_id, sizeof(m->job_id), "%s", r->o->job_id);
        m->mutant_index = (int)r->n;
        m->trigger = strdup(ad_alpha_trigger_name(r->trigger));
        m->proposer = strdup(!strcmp(p[i].op, "llm") ? "llm" : "offline");
        m->mutation_operator = strdup(p[i].op);
        m->edit = p[i].edit ? strdup(p[i].edit) : NULL;
        m->test_set = json_incref(r->tests);
        m->risk_score = risk.score;
        m->risk = ad_risk_json(&risk);
        ad_risk_release(&risk);
        if (!m->tool_name || !m->mutated_code || !m->trigger || !m->proposer ||
            !m->mutation_operator || (p[i].edit && !m->edit) || !m->risk) {
            r->n++;
            rc = oom(err);
            break;
        }
        r->n++;
        rc = ad_mutations_create(r->st, r->bus, m, NULL, err);
        /* Today's mutations are made: keep those before, propose no more. */
        if (rc == AD_ELIMIT && i > 0) {
            say(r, "%s; kept %zu mutant(s)", err->msg, i);
            ad_tool_mutation_release(m);
            r->n--;
            ad_err_clear(err);
            rc = 0;
            break;
        }
    }
    if (rc == 0)
        rc = ad_store_commit(r->st, err);
    if (rc < 0 && ad_store_tx_depth(r->st) > depth0)
        ad_store_rollback(r->st);
    if (rc < 0) {
        ad_tool_mutation_list_free(r->m, r->n);
        r->m = NULL;
        r->n = 0;
    }
    return rc;
}

static int propose(struct run *r, struct ad_err *err)
{
    size_t want = (size_t)r->s.evolution_mutants, np = 0;
    struct proposal *p = calloc(want, sizeof(*p));
    bool model = writes_code(r->llm);
    int rc;

    if (!p)
        return oom(err);
    say(r, "proposing %zu mutant(s) of %s %s (%s, by %s)", want, r->skill.name, r->ver.semver,
        ad_alpha_goal_name(r->goal), model ? "the model" : "the offline operators");
    rc = model ? propose_model(r, p, &np, err) : propose_offline(r, p, &np, err);
    if (rc == 0 && np == 0)
        rc = ad_error(err, AD_ENOTFOUND, "no usable mutant of %s %s was proposed",
                      r->skill.name, r->ver.semver);
    if (rc == 0)
        rc = insert_rows(r, p, np, err);
    proposals_free(p, want);
    return rc;
}

/* ---- evaluating -------------------------------------------------------------------- */

struct side_pair {
    struct ad_eval_side parent;
    struct ad_eval_side *mut;     /* one per row evaluated */
    size_t *row;                  /* mut[i] is row r->m[row[i]] */
    size_t n;
};

static void pair_release(struct side_pair *sp)
{
    ad_eval_side_release(&sp->parent);
    for (size_t i = 0; i < sp->n; i++)
        ad_eval_side_release(&sp->mut[i]);
    free(sp->mut);
    free(sp->row);
    memset(sp, 0, sizeof(*sp));
}

struct progress_ctx {
    const struct run *r;
    int last_pct;
};

static void on_progress(void *ctx, int done, int total)
{
    struct progress_ctx *pc = ctx;
    int pct = total ? done * 100 / total : 100;

    if (pct / 25 != pc->last_pct / 25 || done == total) {
        say(pc->r, "evaluating: %d/%d runs", done, total);
        pc->last_pct = pct;
    }
}

/* Runs the parent and the rows rows[0..n) side by side, into sp. */
static int evaluate(struct run *r, const size_t *rows, size_t n, struct side_pair *sp,
                    struct ad_err *err)
{
    const char **codes = calloc(n ? n : 1, sizeof(*codes));
    struct ad_eval_opts eo = { 0 };
    struct progress_ctx pc = { r, -100 };
    int rc;

    memset(sp, 0, sizeof(*sp));
    sp->mut = calloc(n ? n : 1, sizeof(*sp->mut));
    sp->row = calloc(n ? n : 1, sizeof(*sp->row));
    if (!codes || !sp->mut || !sp->row) {
        free(codes);
        pair_release(sp);
        return oom(err);
    }
    for (size_t i = 0; i < n; i++) {
        codes[i] = r->m[rows[i]].mutated_code;
        sp->row[i] = rows[i];
    }
    sp->n = n;
    eo.repeats = r->s.evolution_repeats;
    eo.limits = r->o->limits;
    eo.lease = r->o->lease;
    eo.progress = on_progress;
    eo.progress_ctx = &pc;
    if (r->o->evaluate)
        rc = r->o->evaluate(r->o->evaluate_ctx, r->sb, r->skill.entry_function, r->ver.code,
                            codes, n, r->tests, &eo, &sp->parent, sp->mut, err);
    else
        rc = ad_alpha_evaluate(r->sb, r->skill.entry_function, r->ver.code, codes, n, r->tests,
                               &eo, &sp->parent, sp->mut, err);
    free(codes);
    if (rc < 0)
        pair_release(sp);
    return rc;
}

static enum ad_mutation_status status_of(const struct ad_eval_side *s)
{
    if (!s->syntax_ok)
        return AD_MSTAT_ERROR;
    if (s->execution_success && s->output_match_rate >= 1.0)
        return AD_MSTAT_PASSED;
    return AD_MSTAT_FAILED;
}

/* ---- fitness ----------------------------------------------------------------------- */

static double clamp01(double x)
{
    return isfinite(x) ? (x < 0 ? 0 : x > 1 ? 1 : x) : 0;
}

/* The objectives of a side against the parent's: 0.5 is "as good as the parent". */
static json_t *objectives(const struct ad_eval_side *p, const struct ad_eval_side *s)
{
    double perf = p->latency_median_us > 0 && isfinite(s->latency_median_us)
                      ? 0.5 + 0.5 * (p->latency_median_us - s->latency_median_us) /
                                  p->latency_median_us
                      : 0.5;
    double cost = p->cpu_median_ms > 0 && isfinite(s->cpu_median_ms)
                      ? 0.5 + 0.5 * (p->cpu_median_ms - s->cpu_median_ms) / p->cpu_median_ms
                      : 0.5;

    if (!s->execution_success)
        perf = cost = 0;
    return json_pack("{s:f, s:f, s:f, s:f}", "performance", clamp01(perf), "accuracy",
                     clamp01(s->output_match_rate), "cost", clamp01(cost), "satisfaction", 0.5);
}

static json_t *proxy_signals(const struct ad_eval_side *p, const struct ad_eval_side *s)
{
    json_t *o = objectives(p, s);

    if (!o)
        return NULL;
    return json_pack("{s:b, s:b, s:b, s:o}", "syntax_error", !s->syntax_ok, "execution_success",
                     s->execution_success, "user_approved", 0, "objectives", o);
}

/* The job's variant of a side (mutation_id "" for the parent's): found, or made. */
static int variant_of(struct run *r, const char *mutation_id, const char *parent_variant,
                      struct ad_workflow_variant *out, struct ad_err *err)
{
    struct ad_variant_filter f = { 0 };
    struct ad_workflow_variant *v = NULL;
    size_t n = 0;
    int rc;

    f.job_id = r->o->job_id;
    f.skill_version_id = r->ver.id;
    f.limit = 1000;
    rc = r->o->job_id ? ad_variants_list(r->st, r->o->tenant_id, &f, &v, &n, err) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!strcmp(v[i].tool_mutation_id, mutation_id)) {
            *out = v[i];
            ad_workflow_variant_init(&v[i]);
            ad_workflow_variant_list_free(v, n);
            return 0;
        }
    }
    ad_workflow_variant_list_free(v, n);
    if (rc < 0)
        return rc;
    ad_workflow_variant_init(out);
    memcpy(out->tenant_id, r->o->tenant_id, AD_ID_SIZE);
    snprintf(out->parent_variant_id, sizeof(out->parent_variant_id), "%s", parent_variant);
    memcpy(out->agent_id, r->agent_id, AD_ID_SIZE);
    snprintf(out->tool_mutation_id, sizeof(out->tool_mutation_id), "%s", mutation_id);
    memcpy(out->skill_version_id, r->ver.id, AD_ID_SIZE);
    if (r->o->job_id)
        snprintf(out->job_id, sizeof(out->job_id), "%s", r->o->job_id);
    out->workflow_definition =
        json_pack("{s:s, s:s, s:s, s:s}", "skill", r->skill.name, "entry",
                  r->skill.entry_function, "parent_version", r->ver.semver, "kind",
                  *mutation_id ? "mutant" : "parent");
    if (!out->workflow_definition)
        return oom(err);
    return ad_variants_create(r->st, out, err);
}

/* Scores the parent and every evaluated row; the deltas into delta[i] (per sp->mut[i]). */
static int score(struct run *r, const struct side_pair *sp, double *delta, struct ad_err *err)
{
    struct ad_workflow_variant pv;
    double parent_score = NAN;
    json_t *sig;
    int rc;

    rc = variant_of(r, "", "", &pv, err);
    if (rc < 0)
        return rc;
    sig = proxy_signals(&sp->parent, &sp->parent);
    rc = sig ? ad_fitness_evaluate_initial_proxy(r->st, r->bus, r->o->tenant_id, pv.id, sig,
                                                 &parent_score, err)
             : oom(err);
    json_decref(sig);
    /* The workspace's own fitness terms, weighted in (fitness.h); none: nothing changes. */
    if (rc == 0)
        rc = ad_fitness_terms_apply(r->st, r->bus, r->sb, r->o->tenant_id, pv.id, NULL,
                                    &parent_score, err);
    for (size_t i = 0; rc == 0 && i < sp->n; i++) {
        struct ad_workflow_variant mv;
        double s = NAN;

        rc = variant_of(r, r->m[sp->row[i]].id, pv.id, &mv, err);
        if (rc < 0)
            break;
        sig = proxy_signals(&sp->parent, &sp->mut[i]);
        rc = sig ? ad_fitness_evaluate_initial_proxy(r->st, r->bus, r->o->tenant_id, mv.id, sig,
                                                     &s, err)
                 : oom(err);
        json_decref(sig);
        if (rc == 0)
            rc = ad_fitness_terms_apply(r->st, r->bus, r->sb, r->o->tenant_id, mv.id, NULL, &s,
                                        err);
        delta[i] = s - parent_score;
        ad_workflow_variant_release(&mv);
    }
    ad_workflow_variant_release(&pv);
    return rc;
}

/* ---- deciding and promoting -------------------------------------------------------- */

static int set_str(char **dst, const char *s, struct ad_err *err)
{
    char *c = strdup(s);

    if (!c)
        return oom(err);
    free(*dst);
    *dst = c;
    return 0;
}

static void decide_opts(const struct run *r, struct ad_decide_opts *d)
{
    d->goal = r->goal;
    d->min_gain = r->s.evolution_min_gain_pct / 100.0;
    d->noise_k = r->s.evolution_noise_k;
}

/* The signals a row keeps: both sides of each evaluation it took part in. */
static int record_signals(struct ad_tool_mutation *m, const char *key,
                          const struct ad_eval_side *parent, const struct ad_eval_side *mut,
                          const struct ad_alpha_decision *d, struct ad_err *err)
{
    json_t *e = json_pack("{s:o, s:o, s:b, s:f, s:f, s:s}", "parent", ad_eval_side_json(parent),
                          "mutant", ad_eval_side_json(mut), "won", d->won, "gain",
                          isfinite(d->gain) ? d->gain : 0.0, "noise",
                          isfinite(d->noise) ? d->noise : 0.0, "reason", d->reason);

    if (!e)
        return oom(err);
    if (!m->proxy_signals)
        m->proxy_signals = json_object();
    if (!m->proxy_signals || json_object_set_new(m->proxy_signals, key, e) < 0)
        return oom(err);
    return 0;
}

static bool risk_below_high(const struct ad_tool_mutation *m)
{
    enum ad_risk_level l;
    const char *level = ad_json_str(m->risk, "level");

    return level && ad_risk_level_parse(level, &l) == 0 && l < AD_RISK_HIGH;
}

/* Whether the winner may skip the human: AUTONOMOUS, background_evolution, risk below HIGH. */
int ad__alpha_may_auto_promote(struct ad_store *st, const char *tenant_id, const char *agent_id,
                               bool background_evolution, const struct ad_tool_mutation *m,
                               bool *yes, struct ad_err *err)
{
    struct ad_agent a = { 0 };
    int rc = 0;

    *yes = false;
    if (!agent_id || !agent_id[0] || !background_evolution || !risk_below_high(m))
        return 0;
    rc = ad_agents_get(st, tenant_id, agent_id, &a, err);
    if (rc == 0)
        *yes = a.maturity == AD_AUTONOMOUS;
    ad_agent_release(&a);
    return rc;
}

static int may_auto_promote(struct run *r, const struct ad_tool_mutation *m, bool *yes,
                            struct ad_err *err)
{
    return ad__alpha_may_auto_promote(r->st, r->o->tenant_id, r->agent_id,
                                      r->s.background_evolution, m, yes, err);
}

/* A decision's reason without its leading "won: " or "lost: ". */
static const char *reason_text(const char *reason)
{
    if (!strncmp(reason, "won: ", 5))
        return reason + 5;
    if (!strncmp(reason, "lost: ", 6))
        return reason + 6;
    return reason;
}

/* Evaluates the undecided rows, decides each, scores them and saves. */
static int evaluate_and_decide(struct run *r, struct ad_alpha_result *res, struct ad_err *err)
{
    struct ad_decide_opts dopt;
    struct side_pair first = { 0 }, again = { 0 };
    struct ad_alpha_decision *dec = NULL;
    size_t *rows = calloc(r->n, sizeof(*rows)), *win = calloc(r->n, sizeof(*win));
    double *delta = calloc(r->n, sizeof(*delta));
    size_t nrows = 0, nwin = 0;
    int rc = 0;

    if (!rows || !win || !delta) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (r->m[i].decision == AD_DECISION_NONE)
            rows[nrows++] = i;
    }
    if (!nrows)
        goto out;
    decide_opts(r, &dopt);
    say(r, "evaluating the parent and %zu mutant(s) on %zu input(s), %d repeats, interleaved",
        nrows, json_array_size(r->tests), r->s.evolution_repeats);
    rc = evaluate(r, rows, nrows, &first, err);
    if (rc < 0)
        goto out;
    dec = calloc(nrows, sizeof(*dec));
    if (!dec) {
        rc = oom(err);
        goto out;
    }
    res->parent_latency_us = first.parent.latency_median_us;
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        struct ad_tool_mutation *m = &r->m[rows[i]];

        ad_alpha_decide(&first.parent, &first.mut[i], &dopt, &dec[i]);
        m->status = status_of(&first.mut[i]);
        rc = record_signals(m, "evaluation", &first.parent, &first.mut[i], &dec[i], err);
        if (dec[i].won)
            win[nwin++] = i;
    }
    /* A first win is a measurement; a second one is a result. */
    if (rc == 0 && nwin) {
        size_t *wrows = calloc(nwin, sizeof(*wrows));

        if (!wrows) {
            rc = oom(err);
            goto out;
        }
        for (size_t k = 0; k < nwin; k++)
            wrows[k] = rows[win[k]];
        say(r, "%zu mutant(s) won a first evaluation: evaluating them again", nwin);
        rc = evaluate(r, wrows, nwin, &again, err);
        free(wrows);
        for (size_t k = 0; rc == 0 && k < nwin; k++) {
            struct ad_alpha_decision d2;
            size_t i = win[k];
            struct ad_tool_mutation *m = &r->m[rows[i]];
            char first_reason[sizeof(dec[i].reason)];

            ad_alpha_decide(&again.parent, &again.mut[k], &dopt, &d2);
            rc = record_signals(m, "reevaluation", &again.parent, &again.mut[k], &d2, err);
            if (!d2.won) {
                memcpy(first_reason, dec[i].reason, sizeof(first_reason));
                dec[i].won = false;
                snprintf(dec[i].reason, sizeof(dec[i].reason),
                         "the gain did not reproduce: first %.1f%%, again %.1f%% (%.400s)",
                         100 * dec[i].gain, 100 * d2.gain, reason_text(d2.reason));
                m->status = status_of(&again.mut[k]);
            } else {
                /* The gain that counts is the smaller of the two. */
                if (d2.gain < dec[i].gain)
                    dec[i].gain = d2.gain;
            }
        }
    }
    if (rc == 0)
        rc = score(r, &first, delta, err);
    for (size_t i = 0; rc == 0 && i < nrows; i++) {
        struct ad_tool_mutation *m = &r->m[rows[i]];

        m->decision = dec[i].won ? AD_DECISION_WON : AD_DECISION_LOST;
        m->fitness_delta = delta[i];
        /* The decision column says won or lost; the reason says why. */
        rc = set_str(&m->decision_reason, reason_text(dec[i].reason), err);
        if (rc == 0 && json_object_set_new(m->proxy_signals, "gain",
                                           json_real(isfinite(dec[i].gain)
                                                         ? round(dec[i].gain * 1e4) / 1e4
                                                         : 0)) < 0)
            rc = oom(err);
        ad_time_iso(ad_now_ms(), m->evaluated_at);
    }
out:
    pair_release(&first);
    pair_release(&again);
    free(dec);
    free(rows);
    free(win);
    free(delta);
    return rc;
}

static double row_gain(const struct ad_tool_mutation *m)
{
    const json_t *g = json_object_get(m->proxy_signals, "gain");

    return json_is_number(g) ? json_number_value(g) : 0;
}

static double row_latency(const struct ad_tool_mutation *m, const char *side)
{
    const json_t *e = json_object_get(m->proxy_signals, "reevaluation");
    const json_t *v;

    if (!e)
        e = json_object_get(m->proxy_signals, "evaluation");
    v = json_object_get(json_object_get(e, side), "latency_median_us");
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Saves every row; the best winner goes to review (or is promoted). */
static int conclude(struct run *r, struct ad_alpha_result *res, struct ad_err *err)
{
    struct ad_tool_mutation *best = NULL;
    int rc = 0;

    for (size_t i = 0; i < r->n; i++) {
        struct ad_tool_mutation *m = &r->m[i];

        res->won += m->decision == AD_DECISION_WON;
        if (m->decision == AD_DECISION_WON &&
            (!best || row_gain(m) > row_gain(best) ||
             (row_gain(m) == row_gain(best) && m->risk_score < best->risk_score)))
            best = m;
    }
    /* Rows first decided now are saved; the best winner alone waits for a reviewer. */
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        struct ad_tool_mutation *m = &r->m[i];

        if (m == best && m->review_status == AD_REVIEW_NONE)
            m->review_status = AD_REVIEW_PENDING;
        else if (m->decision == AD_DECISION_WON && m->review_status == AD_REVIEW_NONE &&
                 best && !strstr(m->decision_reason ? m->decision_reason : "", "not put to")) {
            char why[sizeof(((struct ad_alpha_decision *)0)->reason) + 96];

            snprintf(why, sizeof(why), "%s; not put to review: mutant %d gained more",
                     m->decision_reason ? m->decision_reason : "", best->mutant_index + 1);
            rc = set_str(&m->decision_reason, why, err);
        }
        if (rc == 0)
            rc = ad_mutations_save(r->st, r->bus, m, r->o->lease, err);
    }
    if (rc < 0)
        return rc;
    if (r->n)
        res->parent_latency_us = row_latency(&r->m[0], "parent");
    res->best_latency_us = NAN;
    if (best) {
        bool autop = false;

        memcpy(res->best_id, best->id, AD_ID_SIZE);
        res->best_latency_us = row_latency(best, "mutant");
        rc = may_auto_promote(r, best, &autop, err);
        if (rc == 0 && autop && best->review_status == AD_REVIEW_PENDING) {
            struct ad_skill_version nv = { 0 };

            rc = ad_mutation_approve(r->st, r->bus, r->o->tenant_id, best->id, "autodev",
                                     "AUTONOMOUS agent with background_evolution: identical "
                                     "outputs, reproduced gain, risk below HIGH",
                                     true, &nv, err);
            if (rc == 0) {
                res->promoted = true;
                memcpy(res->promoted_semver, nv.semver, AD_SEMVER_SIZE);
                say(r, "promoted automatically as %s %s", r->skill.name, nv.semver);
            }
            ad_skill_version_release(&nv);
        }
    }
    return rc;
}

/* ---- the job ------------------------------------------------------------------------- */

/* The rows an earlier run of this job made, by mutant_index. */
static int load_rows(struct run *r, struct ad_err *err)
{
    struct ad_mutation_filter f = { 0 };

    if (!r->o->job_id)
        return 0;
    f.job_id = r->o->job_id;
    f.status = -1;
    f.review_status = -2;
    f.decision = -2;
    f.limit = 1000;
    return ad_mutations_list(r->st, r->o->tenant_id, &f, &r->m, &r->n, err);
}

static int load_version(struct run *r, const char *version_id, struct ad_err *err)
{
    int rc = ad_catalog_version_get(r->st, r->o->tenant_id, version_id, &r->ver, err);

    if (rc == 0)
        rc = ad_catalog_skill_get(r->st, r->o->tenant_id, r->ver.skill_id, &r->skill, err);
    if (rc == AD_ENOTFOUND)
        rc = ad_error_prefix(err, "alpha.mutate: skill version %s", version_id);
    return rc;
}

static int payload_parse(struct run *r, const json_t *payload, const char **version_id,
                         struct ad_err *err)
{
    const char *agent = ad_json_str(payload, "agent_id");
    const char *trigger = ad_json_str(payload, "trigger");

    if (!json_is_object(payload))
        return ad_error(err, AD_EINVAL, "alpha.mutate job: the payload is not an object");
    *version_id = ad_json_str(payload, "skill_version_id");
    if (!*version_id || !ad_id_valid(*version_id))
        return ad_error(err, AD_EINVAL, "alpha.mutate job: field 'skill_version_id': expected "
                                        "an id");
    if (agent && !ad_id_valid(agent))
        return ad_error(err, AD_EINVAL, "alpha.mutate job: field 'agent_id': expected an id");
    if (agent)
        snprintf(r->agent_id, sizeof(r->agent_id), "%s", agent);
    r->trigger = AD_TRIGGER_MANUAL;
    if (trigger && ad_alpha_trigger_parse(trigger, &r->trigger) < 0)
        return ad_error(err, AD_EINVAL, "alpha.mutate job: field 'trigger': unknown '%s'",
                        trigger);
    r->goal = goal_of(r->trigger);
    return 0;
}

/*
 * For speed and cost, the inputs the parent was recorded failing on are
 * left out: a mutant cannot match a failure, so any of them would make
 * every mutant lose. Those inputs are what a reliability job is for. When
 * the parent succeeded on none, all stay, and the evaluation says so.
 */
static int keep_parent_successes(struct run *r, struct ad_err *err)
{
    json_t *kept;
    size_t i;
    json_t *t;

    if (r->goal == AD_GOAL_RELIABILITY)
        return 0;
    kept = json_array();
    if (!kept)
        return oom(err);
    json_array_foreach(r->tests, i, t) {
        if (json_object_get(t, "parent_output") && json_array_append(kept, t) < 0) {
            json_decref(kept);
            return oom(err);
        }
    }
    if (json_array_size(kept) == 0 || json_array_size(kept) == json_array_size(r->tests)) {
        json_decref(kept);
        return 0;
    }
    say(r, "%zu input(s) the parent was recorded failing on left out",
        json_array_size(r->tests) - json_array_size(kept));
    json_decref(r->tests);
    r->tests = kept;
    return 0;
}

/*
 * A version nobody has run yet (one AlphaEvolver just promoted) is tested
 * on the inputs recorded for the nearest ancestor that has some: the
 * outputs are compared with the version's own, run now, so the inputs are
 * all that is borrowed.
 */
static int ancestors_inputs(struct run *r, int *skipped, struct ad_err *err)
{
    struct ad_skill_version *v = NULL;
    size_t n = 0;
    int rc = ad_catalog_ancestry(r->st, r->o->tenant_id, r->ver.id, &v, &n, err);

    for (size_t i = 1; rc == 0 && i < n && json_array_size(r->tests) == 0; i++) {
        json_decref(r->tests);
        r->tests = NULL;
        rc = ad_alpha_test_set(r->st, r->o->tenant_id, v[i].id, r->s.evolution_test_inputs,
                               &r->tests, skipped, err);
        if (rc == 0 && json_array_size(r->tests))
            say(r, "%s %s has no recorded input yet: the inputs of %s are used", r->skill.name,
                r->ver.semver, v[i].semver);
    }
    ad_skill_version_list_free(v, n);
    return rc;
}

/* The first run's work up to the rows: gate, version, test set, proposals. */
static int start(struct run *r, const char *version_id, struct ad_err *err)
{
    struct ad_gate_decision d;
    char why[1024];
    int skipped = 0;
    int rc;

    /* Fail closed: the gate is asked again now, not only when the job was queued. */
    if (r->agent_id[0]) {
        rc = ad_gate_check(r->st, r->o->tenant_id, r->agent_id, AD_CAP_ALPHA, &d, err);
        if (rc < 0)
            return rc;
        if (!d.allowed) {
            ad_gate_describe(&d, why, sizeof(why));
            return ad_error(err, d.used_today >= d.daily_limit && d.nreasons == 1 ? AD_ELIMIT
                                                                                    : AD_EPERM,
                            "alpha.mutate auto_dev.alpha_evolver %s", why);
        }
    }
    rc = load_version(r, version_id, err);
    if (rc < 0)
        return rc;
    if (strcmp(r->skill.current_version_id, r->ver.id))
        return ad_error(err, AD_ESTATE, "alpha.mutate: %s %s is no longer the skill's current "
                                        "version", r->skill.name, r->ver.semver);
    rc = ad_alpha_test_set(r->st, r->o->tenant_id, r->ver.id, r->s.evolution_test_inputs,
                           &r->tests, &skipped, err);
    if (rc == 0 && json_array_size(r->tests) == 0)
        rc = ancestors_inputs(r, &skipped, err);
    if (rc < 0)
        return rc;
    if (json_array_size(r->tests) == 0)
        return ad_error(err, AD_ENOTFOUND, "alpha.mutate: %s %s has no recorded input to test "
                                           "mutants on%s", r->skill.name, r->ver.semver,
                        skipped ? " (every one was too large)" : "");
    rc = keep_parent_successes(r, err);
    if (rc < 0)
        return rc;
    say(r, "test set: %zu recorded input(s)%s", json_array_size(r->tests),
        skipped ? " (some too large, skipped)" : "");
    return propose(r, err);
}

int ad_alpha_run(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                 struct ad_llm *llm, const struct ad_alpha_opts *o, const json_t *payload,
                 struct ad_alpha_result *out, struct ad_err *err)
{
    struct run r = { 0 };
    const char *version_id = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    out->parent_latency_us = out->best_latency_us = NAN;
    r.st = st;
    r.bus = bus;
    r.sb = sb;
    r.llm = llm;
    r.o = o;
    r.payload = payload;
    rc = payload_parse(&r, payload, &version_id, err);
    if (rc == 0)
        rc = ad_settings_get(st, o->tenant_id, &r.s, err);
    if (rc == 0)
        rc = load_rows(&r, err);
    if (rc == 0 && r.n) {
        /* A rerun: the rows hold the version and the test set; no gate, no model. */
        say(&r, "resuming: %zu mutant(s) already proposed", r.n);
        rc = load_version(&r, r.m[0].parent_skill_version_id, err);
        if (rc == 0) {
            r.tests = json_incref(r.m[0].test_set);
            if (!json_is_array(r.tests))
                rc = ad_error(err, AD_ECORRUPT, "mutation %s has no test set", r.m[0].id);
        }
    } else if (rc == 0) {
        rc = start(&r, version_id, err);
    }
    if (rc == 0)
        rc = evaluate_and_decide(&r, out, err);
    if (rc == 0)
        rc = conclude(&r, out, err);
    out->mutants = (int)r.n;
    if (rc == 0) {
        if (out->best_id[0])
            snprintf(out->summary, sizeof(out->summary),
                     "%d of %d mutant(s) won; the best (%s) %s: %.1f ms -> %.1f ms median",
                     out->won, out->mutants, out->best_id,
                     out->promoted ? "was promoted" : "waits for review",
                     out->parent_latency_us / 1000, out->best_latency_us / 1000);
        else
            snprintf(out->summary, sizeof(out->summary),
                     "none of %d mutant(s) won: the parent stays", out->mutants);
    }
    ad_tool_mutation_list_free(r.m, r.n);
    json_decref(r.tests);
    ad_skill_release(&r.skill);
    ad_skill_version_release(&r.ver);
    return rc;
}

/*
 * Whether a failed alpha job can succeed by running again; an error certain
 * to repeat fails it at once rather than spending attempts (and model
 * calls) on the same answer.
 */
int ad_alpha_job_outcome(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case AD_EPERM:       /* the gate said no, or every model breaker is open */
    case AD_ELIMIT:      /* today's mutations are made, or a daily model cap is reached */
    case AD_EINVAL:      /* a damaged payload, or a request the model refused */
    case AD_ENOTFOUND:   /* nothing to test on, nothing proposed, the version is gone */
    case AD_ESTATE:      /* the skill moved on to another version */
    case AD_ETOOBIG:
    case AD_ENOTSUP:
    case AD_EEXIST:
    case AD_ECORRUPT:
    case AD_EINTERNAL:
        return AD_JOB_PERMANENT;
    default:             /* time, the network, the disk, a locked database, memory */
        return rc;
    }
}
