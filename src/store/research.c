/*
 * Autoresearch's sessions and iterations: releasing what the store filled
 * in, checks and the public calls. The policy lives in src/research.
 */
#include "compat.h"

#include <math.h>
#include <string.h>

#include "autodev/store.h"

#include "store_backend.h"

#define TEXT_MAX (1u << 20)       /* a diff, a hypothesis: 1 MiB */
#define NAME_MAX_LEN 200

static const char *const directions[] = { "minimize", "maximize", NULL };
static const char *const statuses[] = { "pending", "running", "paused", "completed", "failed",
                                        "budget_exhausted", "stopped", NULL };
static const char *const decisions[] = { "pending", "kept", "reverted", "rejected_by_gate",
                                         "crashed", NULL };
static const char *const phases[] = { "edited", "ran", "decided", NULL };

void ad_research_session_release(struct ad_research_session *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->repo_path);
    free(s->metric_name);
    free(s->direction);
    free(s->status);
    json_decref(s->budget);
    json_decref(s->config);
    free(s->worktree);
    free(s->best_commit);
    json_decref(s->state);
    memset(s, 0, sizeof(*s));
}

void ad_research_session_list_free(struct ad_research_session *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_research_session_release(&v[i]);
    free(v);
}

void ad_research_iteration_release(struct ad_research_iteration *it)
{
    if (!it)
        return;
    free(it->hypothesis);
    free(it->diff);
    free(it->decision);
    json_decref(it->gate_results);
    free(it->commit_sha);
    free(it->phase);
    json_decref(it->detail);
    memset(it, 0, sizeof(*it));
}

void ad_research_iteration_list_free(struct ad_research_iteration *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        ad_research_iteration_release(&v[i]);
    free(v);
}

static int check_word(const char *field, const char *s, const char *const *words, int required,
                      struct ad_err *err)
{
    if (!s) {
        if (!required)
            return 0;
        return ad_error(err, AD_EINVAL, "%s is required", field);
    }
    for (size_t i = 0; words[i]; i++) {
        if (!strcmp(s, words[i]))
            return 0;
    }
    return ad_error(err, AD_EINVAL, "invalid %s '%s'", field, s);
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i]);
}

/* Checks the session's fields and makes the texts of budget, config and state. */
static int check_session(const struct ad_research_session *s, char *json[3], struct ad_err *err)
{
    int rc = ad__check_id("tenant id", s->tenant_id, err);

    json[0] = json[1] = json[2] = NULL;
    if (!rc)
        rc = ad__check_text("name", s->name, NAME_MAX_LEN, 1, err);
    if (!rc)
        rc = ad__check_text("repo path", s->repo_path, 4096, 1, err);
    if (!rc)
        rc = ad__check_text("metric name", s->metric_name, NAME_MAX_LEN, 1, err);
    if (!rc)
        rc = check_word("direction", s->direction, directions, 1, err);
    if (!rc)
        rc = check_word("status", s->status, statuses, 1, err);
    if (!rc)
        rc = ad__check_text("worktree", s->worktree, 4096, 0, err);
    if (!rc)
        rc = ad__check_text("best commit", s->best_commit, 64, 0, err);
    if (!rc)
        rc = ad__json_text("budget", s->budget, 1 << JSON_OBJECT, &json[0], err);
    if (!rc)
        rc = ad__json_text("config", s->config, 1 << JSON_OBJECT, &json[1], err);
    if (!rc)
        rc = ad__json_text("state", s->state, 1 << JSON_OBJECT, &json[2], err);
    if (rc)
        free_texts(json, 3);
    return rc;
}

int ad_store_research_session_insert(struct ad_store *st, struct ad_research_session *s,
                                     struct ad_err *err)
{
    char *json[3];
    int rc, own;

    rc = check_session(s, json, err);
    if (rc)
        return rc;
    rc = ad__new_id(s->id, err);
    if (!rc) {
        ad_time_now(s->created_at);
        memcpy(s->updated_at, s->created_at, sizeof(s->updated_at));
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->research->session_insert(st, s, (const char *const *)json,
                                                             err), err);
    if (rc)
        s->id[0] = s->created_at[0] = s->updated_at[0] = '\0';
    free_texts(json, 3);
    return rc;
}

int ad_store_research_session_update(struct ad_store *st, struct ad_research_session *s,
                                     struct ad_err *err)
{
    char *json[3];
    int rc, own;

    rc = ad__check_id("research session id", s->id, err);
    if (!rc)
        rc = check_session(s, json, err);
    if (rc)
        return rc;
    ad_time_now(s->updated_at);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->research->session_update(st, s, (const char *const *)json,
                                                             err), err);
    free_texts(json, 3);
    return rc;
}

int ad_store_research_session_get(struct ad_store *st, const char *tenant_id, const char *id,
                                  struct ad_research_session *out, struct ad_err *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("research session id", id, err);
    if (rc)
        return rc;
    return st->ops->research->session_get(st, tenant_id, id, out, err);
}

int ad_store_research_session_list(struct ad_store *st, const char *tenant_id, int limit,
                                   struct ad_research_session **out, size_t *n,
                                   struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->research->session_list(st, tenant_id, limit, out, n, err);
}

static int check_iteration(const struct ad_research_iteration *it, char *json[2],
                           struct ad_err *err)
{
    int rc = ad__check_id("tenant id", it->tenant_id, err);

    json[0] = json[1] = NULL;
    if (!rc)
        rc = ad__check_id("research session id", it->session_id, err);
    if (!rc && it->seq < 0)
        rc = ad_error(err, AD_EINVAL, "invalid iteration seq %d", it->seq);
    if (!rc)
        rc = ad__check_text("hypothesis", it->hypothesis, TEXT_MAX, 0, err);
    if (!rc)
        rc = ad__check_text("diff", it->diff, TEXT_MAX, 0, err);
    if (!rc)
        rc = check_word("decision", it->decision, decisions, 1, err);
    if (!rc)
        rc = check_word("phase", it->phase, phases, 0, err);
    if (!rc)
        rc = ad__check_text("commit", it->commit_sha, 64, 0, err);
    if (!rc && isinf(it->metric))
        rc = ad_error(err, AD_EINVAL, "metric is not finite");
    if (!rc)
        rc = ad__json_text("gate results", it->gate_results, 1 << JSON_OBJECT, &json[0], err);
    if (!rc)
        rc = ad__json_text("detail", it->detail, 1 << JSON_OBJECT, &json[1], err);
    if (rc)
        free_texts(json, 2);
    return rc;
}

int ad_store_research_iteration_insert(struct ad_store *st, struct ad_research_iteration *it,
                                       struct ad_err *err)
{
    char *json[2];
    int rc, own;

    rc = check_iteration(it, json, err);
    if (rc)
        return rc;
    rc = ad__new_id(it->id, err);
    if (!rc) {
        ad_time_now(it->created_at);
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->research->iteration_insert(st, it,
                                                               (const char *const *)json, err),
                           err);
    if (rc)
        it->id[0] = it->created_at[0] = '\0';
    free_texts(json, 2);
    return rc;
}

int ad_store_research_iteration_update(struct ad_store *st,
                                       const struct ad_research_iteration *it,
                                       struct ad_err *err)
{
    char *json[2];
    int rc, own;

    rc = ad__check_id("research iteration id", it->id, err);
    if (!rc)
        rc = check_iteration(it, json, err);
    if (rc)
        return rc;
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->research->iteration_update(st, it,
                                                               (const char *const *)json, err),
                           err);
    free_texts(json, 2);
    return rc;
}

int ad_store_research_iteration_list(struct ad_store *st, const char *tenant_id,
                                     const char *session_id,
                                     struct ad_research_iteration **out, size_t *n,
                                     struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("research session id", session_id, err);
    if (rc)
        return rc;
    return st->ops->research->iteration_list(st, tenant_id, session_id, AD_LIST_MAX, out, n,
                                             err);
}
