/*
 * The test set of a skill version: the distinct inputs it was run on, from
 * its recorded executions and from the episodes that used it, with the
 * expected outputs the episodes carry. See autodev/evaluate.h for the
 * rules; the inputs become the cases its mutants are evaluated on.
 *
 * The store gives each kind newest first; the two lists are merged by id
 * (UUIDv7: time-ordered), and an index from the canonical text of each
 * input (a JSON object used as a hash table) finds the case an older
 * record of the same input adds to.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

#include "autodev/agent.h"
#include "autodev/evaluate.h"
#include "autodev/json.h"
#include "autodev/skill.h"
#include "autodev/store.h"

/* Of each kind, the newest this many records per input asked for (plus a few). */
#define SCAN_PER_INPUT 4
#define SCAN_EXTRA 16

/* One record, of either kind, as the merge sees it (all borrowed). */
struct rec {
    const char *id;
    bool episode;
    const json_t *input;       /* NULL: null */
    const json_t *expected;    /* NULL: unknown */
    const json_t *output;      /* what it gave when it succeeded, else NULL */
    bool success;
};

static struct rec from_execution(const struct ad_skill_execution *x)
{
    struct rec r = { x->id, false, x->input, NULL, NULL, x->success };

    if (x->success)
        r.output = x->output ? x->output : json_null();
    return r;
}

static struct rec from_episode(const struct ad_episode *e)
{
    struct rec r = { e->id, true, e->input, NULL, NULL, e->success };

    /* null counts as absent, as in the episode's JSON form (ad_episode_from_json). */
    if (e->expected && !json_is_null(e->expected))
        r.expected = e->expected;
    if (e->success)
        r.output = e->output ? e->output : json_null();
    return r;
}

/* Newer first: the larger id; at the same id (never in practice) the execution. */
static bool newer(const struct rec *a, const struct rec *b)
{
    int c = strcmp(a->id, b->id);

    return c > 0 || (c == 0 && !a->episode && b->episode);
}

static int set_source(json_t *c, const struct rec *r)
{
    if (json_object_set_new(c, "source", json_string(r->episode ? "episode" : "execution")) ||
        json_object_set_new(c, "source_id", json_string(r->id)))
        return AD_ENOMEM;
    return 0;
}

/* A new case for the newest record of its input. */
static json_t *new_case(const struct rec *r)
{
    json_t *c = json_object();

    if (!c || json_object_set_new(c, "input", r->input ? json_deep_copy(r->input)
                                                      : json_null()) ||
        (r->expected && json_object_set_new(c, "expected", json_deep_copy(r->expected))) ||
        (r->output && json_object_set_new(c, "parent_output", json_deep_copy(r->output))) ||
        set_source(c, r)) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* What an older record of the same input adds: an expected output, a recorded output. */
static int add_to_case(json_t *c, const struct rec *r)
{
    if (r->expected && !json_object_get(c, "expected")) {
        if (json_object_set_new(c, "expected", json_deep_copy(r->expected)) || set_source(c, r))
            return AD_ENOMEM;
    }
    if (r->output && !json_object_get(c, "parent_output") &&
        json_object_set_new(c, "parent_output", json_deep_copy(r->output)))
        return AD_ENOMEM;
    return 0;
}

/*
 * One record into the set: skipped when its input is too large, else a
 * new case (while fewer than max) or an addition to its input's case.
 */
static int take(const struct rec *r, json_t *set, json_t *index, int max, int *skipped)
{
    const json_t *in = r->input ? r->input : json_null();
    json_t *c;
    size_t size = ad_json_size(in);
    char *key;
    int rc = 0;

    if (size == 0)
        return AD_ENOMEM;
    if (size > AD_ALPHA_INPUT_MAX) {
        (*skipped)++;
        return 0;
    }
    key = ad_json_dumps_flags(in, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!key)
        return AD_ENOMEM;
    c = json_object_get(index, key);
    if (c) {
        rc = add_to_case(json_array_get(set, (size_t)json_integer_value(c)), r);
    } else if ((int)json_array_size(set) < max) {
        json_t *nc = new_case(r);

        if (!nc || json_object_set_new(index, key, json_integer((json_int_t)json_array_size(set))) ||
            json_array_append_new(set, nc))
            rc = AD_ENOMEM;
    }
    /* else: a new input past the cap; older records only add to cases already taken. */
    free(key);
    return rc;
}

static int merge(const struct ad_skill_execution *xs, size_t nx, const struct ad_episode *es,
                 size_t ne, int max, json_t *set, int *skipped)
{
    json_t *index = json_object();
    size_t i = 0, j = 0;
    int rc = index ? 0 : AD_ENOMEM;

    while (rc == 0 && (i < nx || j < ne)) {
        struct rec a = { 0 }, b = { 0 };

        if (i < nx)
            a = from_execution(&xs[i]);
        if (j < ne)
            b = from_episode(&es[j]);
        if (j >= ne || (i < nx && newer(&a, &b))) {
            rc = take(&a, set, index, max, skipped);
            i++;
        } else {
            rc = take(&b, set, index, max, skipped);
            j++;
        }
    }
    json_decref(index);
    return rc;
}

int ad_alpha_test_set(struct ad_store *st, const char *tenant_id, const char *skill_version_id,
                      int max_inputs, json_t **out, int *skipped, struct ad_err *err)
{
    struct ad_episode_filter f = AD_EPISODE_FILTER_INIT;
    struct ad_skill_execution *xs = NULL;
    struct ad_episode *es = NULL;
    size_t nx = 0, ne = 0;
    int scan, dropped = 0, rc;
    json_t *set = NULL;

    *out = NULL;
    if (skipped)
        *skipped = 0;
    if (!st || !tenant_id || !skill_version_id || !*skill_version_id)
        return ad_error(err, AD_EINVAL, "a test set needs a store, a tenant and a skill version");
    if (max_inputs < 1 || max_inputs > AD_ALPHA_CASES_MAX)
        return ad_error(err, AD_EINVAL, "max_inputs %d is out of range 1..%d", max_inputs,
                        AD_ALPHA_CASES_MAX);
    scan = max_inputs * SCAN_PER_INPUT + SCAN_EXTRA;
    rc = ad_skill_executions_list(st, tenant_id, skill_version_id, scan, &xs, &nx, err);
    if (rc == 0) {
        f.skill_version_id = skill_version_id;
        f.limit = scan;
        rc = ad_episodes_list(st, tenant_id, &f, &es, &ne, err);
    }
    if (rc < 0) {
        ad_error_prefix(err, "test set of skill version '%s'", skill_version_id);
        goto out;
    }
    set = json_array();
    rc = set ? merge(xs, nx, es, ne, max_inputs, set, &dropped) : AD_ENOMEM;
    if (rc < 0) {
        rc = ad_error(err, AD_ENOMEM, "out of memory building a test set");
        goto out;
    }
    *out = set;
    set = NULL;
    if (skipped)
        *skipped = dropped;
out:
    json_decref(set);
    ad_skill_execution_list_free(xs, nx);
    ad_episode_list_free(es, ne);
    return rc;
}
