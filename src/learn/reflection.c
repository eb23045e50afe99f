/*
 * Reflection: from task.fail events to memento.generate jobs.
 *
 * Nothing is kept in memory between events: the window of recent failures
 * is a query (the agent's failed episodes, newest first, at most
 * reflection_window of them, none older than reflection_window_hours; only
 * their ids, descriptions and error types, the error type stored with the
 * episode when it was recorded), so every process that records episodes
 * reflects the same way and a restart forgets nothing.
 *
 * Only failures of the task count: one whose error type says the
 * infrastructure failed (ad_failure_is_infrastructure: the model, a cost
 * cap, the sandbox) shows no missing skill and is passed over.
 *
 * Two failures are similar when their error types are equal (both none
 * counts as equal) and the word-shingle Jaccard index of their task
 * descriptions reaches reflection_similarity_pct. When enough similar
 * failures meet, they form a failure pattern: a row of patterns.c. A
 * pattern is "open" while its memento.generate job is queued or running,
 * or while a candidate for those failures is pending, validating or
 * validated (waiting for review); an open pattern gets no second job.
 * Earlier attempts (failed or rejected candidates) are read from the
 * outcomes of closed patterns. No job payload is ever decoded here.
 *
 * The handler runs inside the transaction that records the episode, which
 * holds the write lock, so two failures recorded at once are judged one
 * after the other and the second sees the first's pattern.
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autodev/agent.h"
#include "autodev/bus.h"
#include "autodev/jobs.h"
#include "autodev/json.h"
#include "autodev/learn.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "learn_int.h"

#define SHINGLE_WORDS_MAX 2048   /* words of a description that count */
#define OPEN_SCAN_MAX 1000       /* open patterns / open candidates looked at */
#define CLOSED_SCAN_MAX 200      /* closed patterns looked at for earlier attempts */
#define PREVIOUS_MAX 3           /* earlier failed or rejected attempts passed on */

/* ---- shingles --------------------------------------------------------------- */

static uint64_t fnv_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * 0x100000001b3ULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * The hashed word 2-shingles of s, sorted and unique, into *out (malloc'd);
 * a one-word text gives its word. Returns the count, or -1 on ENOMEM.
 */
static long shingles(const char *s, uint64_t **out)
{
    uint64_t words[SHINGLE_WORDS_MAX];
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t nw = 0, n = 0;
    uint64_t *v;

    /* Words as ad_text_word() splits them, hashed in the same pass. */
    while (*p && nw < SHINGLE_WORDS_MAX) {
        uint64_t h = 0xcbf29ce484222325ULL;

        if (!ad_text_word_byte(*p)) {
            p++;
            continue;
        }
        for (; ad_text_word_byte(*p); p++)
            h = fnv_byte(h, (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p));
        words[nw++] = h;
    }
    v = malloc((nw ? nw : 1) * sizeof(*v));
    if (!v)
        return -1;
    if (nw == 1)
        v[n++] = words[0];
    for (size_t i = 0; i + 1 < nw; i++)
        v[n++] = words[i] * 0x9e3779b97f4a7c15ULL ^ (words[i + 1] + 0x632be59bd9b4e019ULL);
    /* Task descriptions are short: insertion sort beats qsort's set-up there. */
    if (n > 64) {
        qsort(v, n, sizeof(*v), cmp_u64);
    } else {
        for (size_t i = 1; i < n; i++) {
            uint64_t x = v[i];
            size_t j = i;

            for (; j > 0 && v[j - 1] > x; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
    }
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || v[u - 1] != v[i])
            v[u++] = v[i];
    }
    *out = v;
    return (long)u;
}

static double jaccard_sets(const uint64_t *a, long na, const uint64_t *b, long nb)
{
    long i = 0, j = 0, both = 0;

    if (na == 0 && nb == 0)
        return 1.0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            both++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (double)both / (double)(na + nb - both);
}

double ad_shingle_jaccard(const char *a, const char *b)
{
    uint64_t *sa = NULL, *sb = NULL;
    long na = shingles(a, &sa), nb = na < 0 ? -1 : shingles(b, &sb);
    double j = na < 0 || nb < 0 ? 0.0 : jaccard_sets(sa, na, sb, nb);

    free(sa);
    free(sb);
    return j;
}

/* ---- the pattern -------------------------------------------------------------- */

struct pattern {
    const char *task;
    char error_type[AD_ERROR_TYPE_MAX + 1];   /* "" for none */
    uint64_t *sh;
    long nsh;
    double min_similarity;
};

static bool same_type(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* True when (task, error type) belongs to pattern p. */
static bool similar(const struct pattern *p, const char *task, const char *error_type)
{
    uint64_t *sh = NULL;
    long n;
    bool yes;

    if (!task || !same_type(p->error_type, error_type))
        return false;
    /* The same failing task again is the common case: equal texts are alike. */
    if (!strcmp(task, p->task))
        return true;
    n = shingles(task, &sh);
    yes = n >= 0 && jaccard_sets(p->sh, p->nsh, sh, n) >= p->min_similarity;
    free(sh);
    return yes;
}

/*
 * The agent's open pattern of p, into res: an open pattern whose job is
 * still queued or running (res->job_id), else a candidate of p's failures
 * waiting for validation or review (res->candidate_id). An open pattern
 * whose job ended without a candidate is closed on the way.
 */
static int find_open(struct ad_store *st, const char *tenant_id, const char *agent_id,
                     const struct pattern *p, struct ad_reflection_result *res,
                     struct ad_err *err)
{
    struct ad_pattern_filter pf = { 0 };
    struct ad_candidate_filter cf = { 0 };
    struct ad_failure_pattern *v = NULL;
    struct ad_skill_candidate *c = NULL;
    size_t n = 0, nc = 0;
    int rc;

    pf.agent_id = agent_id;
    pf.status_mask = 1u << AD_PATTERN_OPEN;
    pf.limit = OPEN_SCAN_MAX;
    /* Only patterns of this error type can be p's, and a lookup needs no JSON. */
    pf.by_error_type = true;
    pf.error_type = p->error_type[0] ? p->error_type : NULL;
    pf.light = true;
    rc = ad_store_pattern_list(st, tenant_id, &pf, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n && !res->job_id[0]; i++) {
        enum ad_job_status js = AD_JOB_DEAD;

        if (!similar(p, v[i].task, v[i].error_type))
            continue;
        rc = v[i].job_id[0] ? ad_jobs_status(st, tenant_id, v[i].job_id, &js, err)
                            : AD_ENOTFOUND;
        if (rc == AD_ENOTFOUND) {
            if (err)
                ad_err_clear(err);
            rc = 0;
        }
        if (rc == 0 && (js == AD_JOB_QUEUED || js == AD_JOB_RUNNING)) {
            memcpy(res->job_id, v[i].job_id, AD_ID_SIZE);
            snprintf(res->pattern_id, AD_ID_SIZE, "%s", v[i].id);
        } else if (rc == 0) {
            rc = ad__pattern_job_ended(st, &v[i], js, err);
        }
    }
    ad_failure_pattern_list_free(v, n);
    if (rc < 0 || res->job_id[0])
        return rc;

    cf.agent_id = agent_id;
    cf.status_mask = 1u << AD_CAND_PENDING | 1u << AD_CAND_VALIDATING | 1u << AD_CAND_VALIDATED;
    cf.limit = OPEN_SCAN_MAX;
    rc = ad_store_candidate_list(st, tenant_id, &cf, &c, &nc, err);
    for (size_t i = 0; rc == 0 && i < nc && !res->candidate_id[0]; i++) {
        const json_t *fp = c[i].failure_pattern;

        if (similar(p, ad_json_str(fp, "task"), ad_json_str(fp, "error_type"))) {
            memcpy(res->candidate_id, c[i].id, AD_ID_SIZE);
            if (ad_json_str(fp, "pattern_id"))
                snprintf(res->pattern_id, AD_ID_SIZE, "%s", ad_json_str(fp, "pattern_id"));
        }
    }
    ad_skill_candidate_list_free(c, nc);
    return rc;
}

/*
 * The earlier attempts at p: the outcomes of the agent's closed patterns of
 * the same failures whose candidate failed or was rejected, newest first,
 * appended to previous as {"candidate_id", "status", "reason", "proposer"}.
 */
static int earlier_attempts(struct ad_store *st, const char *tenant_id, const char *agent_id,
                            const struct pattern *p, json_t *previous, struct ad_err *err)
{
    struct ad_pattern_filter pf = { 0 };
    struct ad_failure_pattern *v = NULL;
    size_t n = 0;
    int rc;

    pf.agent_id = agent_id;
    pf.status_mask = 1u << AD_PATTERN_CLOSED;
    pf.limit = CLOSED_SCAN_MAX;
    pf.by_error_type = true;
    pf.error_type = p->error_type[0] ? p->error_type : NULL;
    rc = ad_store_pattern_list(st, tenant_id, &pf, &v, &n, err);
    for (size_t i = 0; rc == 0 && i < n && json_array_size(previous) < PREVIOUS_MAX; i++) {
        const char *status = ad_json_str(v[i].outcome, "status");

        if (!status || (strcmp(status, "failed") && strcmp(status, "rejected")) ||
            !similar(p, v[i].task, v[i].error_type))
            continue;
        if (json_array_append(previous, v[i].outcome) < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    ad_failure_pattern_list_free(v, n);
    return rc;
}

const char *ad_reflection_action_name(enum ad_reflection_action a)
{
    switch (a) {
    case AD_REFLECT_NONE:
        return "none";
    case AD_REFLECT_QUEUED:
        return "queued";
    case AD_REFLECT_OPEN:
        return "open";
    case AD_REFLECT_DENIED:
        return "denied";
    case AD_REFLECT_INFRASTRUCTURE:
        return "infrastructure";
    }
    return "none";
}

/* The failure reflected on: from the task.fail event, or read from the store. */
struct failure {
    const char *id;              /* the episode */
    const char *agent_id;
    const char *task;
    const char *error_type;      /* NULL or "" for none */
};

static int emit_pattern(struct ad_bus *bus, const char *tenant_id, const struct failure *ep,
                        const struct pattern *p, const struct ad_reflection_result *res,
                        const struct ad_gate_decision *d, struct ad_err *err)
{
    json_t *reasons = json_array();
    json_t *ev;
    int rc;

    if (!bus) {
        json_decref(reasons);
        return 0;
    }
    for (int i = 0; reasons && d && i < d->nreasons; i++)
        json_array_append_new(reasons, json_string(d->reasons[i]));
    ev = reasons ? json_pack("{s:s, s:s, s:s, s:s?, s:i, s:i, s:s, s:s?, s:s?, s:s?, s:o}",
                             "agent_id", ep->agent_id, "episode_id", ep->id, "task", p->task,
                             "error_type", p->error_type[0] ? p->error_type : NULL, "group",
                             res->group, "threshold", res->threshold, "decision",
                             ad_reflection_action_name(res->action), "job_id",
                             res->job_id[0] ? res->job_id : NULL, "candidate_id",
                             res->candidate_id[0] ? res->candidate_id : NULL, "pattern_id",
                             res->pattern_id[0] ? res->pattern_id : NULL, "reasons", reasons)
                 : NULL;
    rc = ev ? ad_bus_emit(bus, tenant_id, AD_TOPIC_MEMENTO_PATTERN, ev, NULL, err)
            : ad_error(err, AD_ENOMEM, "out of memory");
    json_decref(ev);
    return rc;
}

/*
 * A new pattern of ids, and its memento.generate job, queued under the
 * pattern's id as idempotency key (a retried transaction cannot queue it twice).
 */
static int open_pattern(struct ad_store *st, const char *tenant_id, const struct failure *ep,
                        const struct pattern *p, json_t *ids, json_t *previous,
                        struct ad_reflection_result *res, struct ad_err *err)
{
    const char *type = p->error_type[0] ? p->error_type : NULL;
    char key[AD_ID_SIZE + 16];
    json_t *payload = NULL;
    int rc;

    rc = ad__pattern_open(st, tenant_id, ep->agent_id, p->task, type, ids, res->pattern_id,
                          err);
    if (rc < 0)
        return rc;
    payload = json_pack("{s:s, s:s, s:s, s:s?, s:O, s:O}", "pattern_id", res->pattern_id,
                        "agent_id", ep->agent_id, "task", p->task, "error_type", type,
                        "episode_ids", ids, "previous", previous);
    if (!payload)
        return ad_error(err, AD_ENOMEM, "out of memory");
    snprintf(key, sizeof(key), "memento:%s", res->pattern_id);
    rc = ad__memento_enqueue(st, tenant_id, payload, key, res->job_id, NULL, err);
    if (rc == 0)
        rc = ad__pattern_set_job(st, tenant_id, res->pattern_id, res->job_id, err);
    json_decref(payload);
    return rc;
}

/* The agent's recent failures like ep, newest first, ep itself among them, into ids. */
static int similar_failures(struct ad_store *st, const char *tenant_id, const struct failure *ep,
                            const struct pattern *p, const struct ad_settings *s, json_t *ids,
                            struct ad_err *err)
{
    struct ad_episode_brief *win = NULL;
    char cutoff[AD_TIME_SIZE];
    size_t nwin = 0;
    bool self = false;
    int rc;

    ad_time_iso(ad_now_ms() - (int64_t)s->reflection_window_hours * 3600 * 1000, cutoff);
    /* Only failures of ep's type can be like it: their descriptions alone are read. */
    rc = ad_episodes_recent_failures(st, tenant_id, ep->agent_id, cutoff, s->reflection_window,
                                     true, p->error_type[0] ? p->error_type : NULL, &win, &nwin,
                                     err);
    for (size_t i = 0; rc == 0 && i < nwin; i++) {
        self |= !strcmp(win[i].id, ep->id);
        if (strcmp(win[i].id, ep->id) && !similar(p, win[i].task_description,
                                                  win[i].error_type))
            continue;
        if (json_array_append_new(ids, json_string(win[i].id)) < 0)
            rc = ad_error(err, AD_ENOMEM, "out of memory");
    }
    /* Reflecting again on an older failure: it still belongs to its own group. */
    if (rc == 0 && !self && json_array_insert_new(ids, 0, json_string(ep->id)) < 0)
        rc = ad_error(err, AD_ENOMEM, "out of memory");
    ad_episode_brief_list_free(win, nwin);
    return rc;
}

/* Reflects on failure ep (see ad_reflection_process). */
static int reflect(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                   const struct failure *ep, struct ad_reflection_result *res,
                   struct ad_err *err)
{
    struct ad_gate_decision d;
    struct ad_settings s;
    struct pattern p = { 0 };
    json_t *ids = NULL, *previous = NULL;
    int rc;

    memset(res, 0, sizeof(*res));
    /* The model, a cost cap or the sandbox failed, not the task: no skill is missing. */
    if (ad_failure_is_infrastructure(ep->error_type)) {
        res->action = AD_REFLECT_INFRASTRUCTURE;
        return 0;
    }
    rc = ad_settings_get(st, tenant_id, &s, err);
    if (rc < 0)
        goto out;
    res->threshold = s.reflection_threshold;
    p.task = ep->task;
    snprintf(p.error_type, sizeof(p.error_type), "%s", ep->error_type ? ep->error_type : "");
    p.min_similarity = s.reflection_similarity_pct / 100.0;
    p.nsh = shingles(p.task, &p.sh);
    ids = json_array();
    if (p.nsh < 0 || !ids) {
        rc = ad_error(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    rc = similar_failures(st, tenant_id, ep, &p, &s, ids, err);
    if (rc < 0)
        goto out;
    res->group = (int)json_array_size(ids);
    if (res->group < res->threshold)
        goto out;

    rc = find_open(st, tenant_id, ep->agent_id, &p, res, err);
    if (rc < 0)
        goto out;
    if (res->job_id[0] || res->candidate_id[0]) {
        res->action = AD_REFLECT_OPEN;
        rc = emit_pattern(bus, tenant_id, ep, &p, res, NULL, err);
        goto out;
    }
    rc = ad_gate_check(st, tenant_id, ep->agent_id, AD_CAP_MEMENTO, &d, err);
    if (rc < 0)
        goto out;
    if (!d.allowed) {
        res->action = AD_REFLECT_DENIED;
        rc = emit_pattern(bus, tenant_id, ep, &p, res, &d, err);
        goto out;
    }
    previous = json_array();
    rc = previous ? earlier_attempts(st, tenant_id, ep->agent_id, &p, previous, err)
                  : ad_error(err, AD_ENOMEM, "out of memory");
    if (rc == 0)
        rc = open_pattern(st, tenant_id, ep, &p, ids, previous, res, err);
    if (rc == 0) {
        res->action = AD_REFLECT_QUEUED;
        rc = emit_pattern(bus, tenant_id, ep, &p, res, NULL, err);
    }
out:
    json_decref(ids);
    json_decref(previous);
    free(p.sh);
    return rc;
}

int ad_reflection_process(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                          const char *episode_id, struct ad_reflection_result *res,
                          struct ad_err *err)
{
    struct ad_episode ep;
    struct failure fl;
    int rc;

    memset(res, 0, sizeof(*res));
    ad_episode_init(&ep);
    rc = ad_episodes_get(st, tenant_id, episode_id, &ep, err);
    if (rc == 0 && !ep.success) {
        fl = (struct failure){ ep.id, ep.agent_id, ep.task_description, ep.error_type };
        rc = reflect(st, bus, tenant_id, &fl, res, err);
    }
    ad_episode_release(&ep);
    return rc;
}

int ad_reflection_handle(struct ad_store *st, struct ad_bus *bus, const struct ad_bus_event *ev,
                         struct ad_err *err)
{
    struct ad_reflection_result res;
    struct failure fl = {
        ad_json_str(ev->payload, "episode_id"), ad_json_str(ev->payload, "agent_id"),
        ad_json_str(ev->payload, "task_description"), ad_json_str(ev->payload, "error_type"),
    };

    if (!fl.id || !ad_id_valid(fl.id))
        return ad_error(err, AD_EINVAL, "task.fail event without a valid episode_id");
    /* The event carries what reflection needs; an event that does not (written
     * by something else) is completed from the store. */
    if (!fl.agent_id || !ad_id_valid(fl.agent_id) || !fl.task)
        return ad_reflection_process(st, bus, ev->tenant_id, fl.id, &res, err);
    return reflect(st, bus, ev->tenant_id, &fl, &res, err);
}

static int on_task_fail(void *ctx, const struct ad_bus_event *ev, struct ad_err *err)
{
    struct ad_reflection *r = ctx;

    return ad_reflection_handle(r->st, r->bus, ev, err);
}

int ad_reflection_attach(struct ad_reflection *r, struct ad_store *st, struct ad_bus *bus,
                         struct ad_err *err)
{
    r->st = st;
    r->bus = bus;
    return ad_bus_subscribe(bus, AD_TOPIC_TASK_FAIL, "reflection", on_task_fail, r, err);
}
