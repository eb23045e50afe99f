/*
 * Evolution research runs, their archive and trace: releasing what the
 * store filled in, checks and the public calls. The policy lives in
 * src/learn/evolve*.c.
 */
#include "compat.h"

#include <math.h>
#include <string.h>

#include "autodev/store.h"

#include "store_backend.h"

#define TEXT_MAX (1u << 20)
#define CODE_MAX (4u << 20)

static const char *const run_states[] = { "running", "stopped", "done", "failed", NULL };
static const char *const program_statuses[] = { "elite", "retired", "rejected", "failed", NULL };
static const char *const trace_kinds[] = { "proposal", "prompt", "reply", "score", "decision",
                                           "migration", "reset", "generation", NULL };

void ad_evolve_run_release(struct ad_evolve_run *r)
{
    if (!r)
        return;
    json_decref(r->params);
    free(r->state);
    free(r->prng);
    free(r->reason);
    memset(r, 0, sizeof(*r));
}

void ad_evolve_run_list_free(struct ad_evolve_run *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        ad_evolve_run_release(&v[i]);
    free(v);
}

void ad_evolve_program_release(struct ad_evolve_program *p)
{
    if (!p)
        return;
    free(p->cell);
    free(p->code);
    free(p->code_hash);
    free(p->fingerprint);
    json_decref(p->features);
    json_decref(p->signals);
    free(p->status);
    memset(p, 0, sizeof(*p));
}

void ad_evolve_program_list_free(struct ad_evolve_program *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        ad_evolve_program_release(&v[i]);
    free(v);
}

void ad_evolve_trace_release(struct ad_evolve_trace *t)
{
    if (!t)
        return;
    free(t->kind);
    json_decref(t->data);
    memset(t, 0, sizeof(*t));
}

void ad_evolve_trace_list_free(struct ad_evolve_trace *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        ad_evolve_trace_release(&v[i]);
    free(v);
}

static int check_word(const char *field, const char *s, const char *const *words,
                      struct ad_err *err)
{
    if (!s)
        return ad_error(err, AD_EINVAL, "%s is required", field);
    for (size_t i = 0; words[i]; i++) {
        if (!strcmp(s, words[i]))
            return 0;
    }
    return ad_error(err, AD_EINVAL, "invalid %s '%s'", field, s);
}

static int check_hex(const char *field, const char *s, size_t max, struct ad_err *err)
{
    int rc = ad__check_text(field, s, max, 1, err);

    if (rc == 0 && strspn(s, "0123456789abcdef") != strlen(s))
        rc = ad_error(err, AD_EINVAL, "field '%s': expected lower-case hex digits", field);
    return rc;
}

/* ---- runs ---------------------------------------------------------------- */

static int check_run(const struct ad_evolve_run *r, char **params, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", r->tenant_id, err);

    *params = NULL;
    if (!rc)
        rc = ad__check_opt_id("agent id", r->agent_id, err);
    if (!rc)
        rc = ad__check_id("skill id", r->skill_id, err);
    if (!rc)
        rc = ad__check_id("skill version id", r->skill_version_id, err);
    if (!rc)
        rc = ad__check_opt_id("best program id", r->best_program_id, err);
    if (!rc)
        rc = check_word("state", r->state, run_states, err);
    if (!rc)
        rc = check_hex("prng", r->prng, 64, err);
    if (!rc)
        rc = ad__check_text("reason", r->reason, 4096, 0, err);
    if (!rc && (r->generation < 0 || r->evaluations < 0 || r->tokens < 0 || !isfinite(r->usd) ||
                r->usd < 0))
        rc = ad_error(err, AD_EINVAL, "evolution run: a negative counter");
    if (!rc && !r->params)
        rc = ad_error(err, AD_EINVAL, "missing field 'params'");
    if (!rc)
        rc = ad__json_text("params", r->params, 1 << JSON_OBJECT, params, err);
    return rc;
}

int ad_store_evolve_run_insert(struct ad_store *st, struct ad_evolve_run *r, struct ad_err *err)
{
    char *json[1];
    int rc, own;

    rc = check_run(r, &json[0], err);
    if (rc)
        return rc;
    rc = ad__new_id(r->id, err);
    if (!rc) {
        ad_time_now(r->created_at);
        memcpy(r->updated_at, r->created_at, sizeof(r->updated_at));
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->evolve->run_insert(st, r, (const char *const *)json, err), err);
    if (rc)
        r->id[0] = r->created_at[0] = r->updated_at[0] = '\0';
    free(json[0]);
    return rc;
}

int ad_store_evolve_run_update(struct ad_store *st, struct ad_evolve_run *r, struct ad_err *err)
{
    char *json[1];
    int rc, own;

    rc = ad__check_id("evolution run id", r->id, err);
    if (!rc)
        rc = check_run(r, &json[0], err);
    if (rc)
        return rc;
    ad_time_now(r->updated_at);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->evolve->run_update(st, r, (const char *const *)json, err), err);
    free(json[0]);
    return rc;
}

int ad_store_evolve_run_get(struct ad_store *st, const char *tenant_id, const char *id,
                            struct ad_evolve_run *out, struct ad_err *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc && (!id || !ad_id_valid(id)))
        rc = ad_error(err, AD_EINVAL, "invalid evolution run id '%s'", id ? id : "");
    if (rc)
        return rc;
    return st->ops->evolve->run_get(st, tenant_id, id, out, err);
}

int ad_store_evolve_run_list(struct ad_store *st, const char *tenant_id, int limit,
                             struct ad_evolve_run **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->evolve->run_list(st, tenant_id, limit, out, n, err);
}

/* ---- programs ------------------------------------------------------------- */

static int check_program(const struct ad_evolve_program *p, char *json[2], struct ad_err *err)
{
    int rc = ad__check_id("tenant id", p->tenant_id, err);

    json[0] = json[1] = NULL;
    if (!rc)
        rc = ad__check_id("run id", p->run_id, err);
    if (!rc)
        rc = ad__check_opt_id("parent id", p->parent_id, err);
    if (!rc)
        rc = ad__check_text("code", p->code, CODE_MAX, 1, err);
    if (!rc)
        rc = check_hex("code_hash", p->code_hash, 128, err);
    if (!rc)
        rc = check_hex("fingerprint", p->fingerprint, 128, err);
    if (!rc)
        rc = ad__check_text("cell", p->cell, 256, 0, err);
    if (!rc)
        rc = check_word("status", p->status, program_statuses, err);
    if (!rc && (p->island < 0 || p->generation < 0 || p->slot < -1 || p->children < 0 ||
                p->stage < 0 || p->stage > 2))
        rc = ad_error(err, AD_EINVAL, "evolution program: island, generation, slot, children or "
                                      "stage out of range");
    if (!rc && isinf(p->fitness))
        rc = ad_error(err, AD_EINVAL, "evolution program: fitness is not finite");
    if (!rc)
        rc = ad__json_text("features", p->features, 1 << JSON_OBJECT, &json[0], err);
    if (!rc)
        rc = ad__json_text("signals", p->signals, 1 << JSON_OBJECT, &json[1], err);
    if (rc) {
        free(json[0]);
        json[0] = NULL;
    }
    return rc;
}

int ad_store_evolve_program_insert(struct ad_store *st, struct ad_evolve_program *p,
                                   struct ad_err *err)
{
    char *json[2];
    int rc, own;

    rc = check_program(p, json, err);
    if (rc)
        return rc;
    rc = ad__new_id(p->id, err);
    if (!rc) {
        ad_time_now(p->created_at);
        memcpy(p->updated_at, p->created_at, sizeof(p->updated_at));
        rc = ad__write_begin(st, &own, err);
    }
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->evolve->program_insert(st, p, (const char *const *)json, err),
                           err);
    if (rc)
        p->id[0] = p->created_at[0] = p->updated_at[0] = '\0';
    free(json[0]);
    free(json[1]);
    return rc;
}

int ad_store_evolve_program_update(struct ad_store *st, struct ad_evolve_program *p,
                                   struct ad_err *err)
{
    char *json[2];
    int rc, own;

    rc = ad__check_id("evolution program id", p->id, err);
    if (!rc)
        rc = check_program(p, json, err);
    if (rc)
        return rc;
    ad_time_now(p->updated_at);
    rc = ad__write_begin(st, &own, err);
    if (!rc)
        rc = ad__write_end(st, own,
                           st->ops->evolve->program_update(st, p, (const char *const *)json, err),
                           err);
    free(json[0]);
    free(json[1]);
    return rc;
}

int ad_store_evolve_program_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                                 struct ad_evolve_program **out, size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("run id", run_id, err);
    if (rc)
        return rc;
    return st->ops->evolve->program_list(st, tenant_id, run_id, out, n, err);
}

/* ---- trace ---------------------------------------------------------------- */

int ad_store_evolve_trace_append(struct ad_store *st, struct ad_evolve_trace *t,
                                 struct ad_err *err)
{
    char *json[1] = { NULL };
    int rc, own;

    rc = ad__check_id("tenant id", t->tenant_id, err);
    if (!rc)
        rc = ad__check_id("run id", t->run_id, err);
    if (!rc)
        rc = check_word("trace kind", t->kind, trace_kinds, err);
    if (!rc && (t->seq < 1 || t->generation < 0))
        rc = ad_error(err, AD_EINVAL, "evolution trace: seq or generation out of range");
    if (!rc && !t->data)
        rc = ad_error(err, AD_EINVAL, "missing field 'data'");
    if (!rc)
        rc = ad__json_text("data", t->data, 1 << JSON_OBJECT, &json[0], err);
    if (!rc && strlen(json[0]) > TEXT_MAX * 4)
        rc = ad_error(err, AD_ETOOBIG, "evolution trace: data over %u bytes", TEXT_MAX * 4);
    if (!rc)
        rc = ad__new_id(t->id, err);
    if (!rc) {
        ad_time_now(t->created_at);
        rc = ad__write_begin(st, &own, err);
        if (!rc)
            rc = ad__write_end(st, own,
                               st->ops->evolve->trace_append(st, t, (const char *const *)json,
                                                             err), err);
    }
    free(json[0]);
    return rc;
}

int ad_store_evolve_trace_list(struct ad_store *st, const char *tenant_id, const char *run_id,
                               int64_t after_seq, int limit, struct ad_evolve_trace **out,
                               size_t *n, struct ad_err *err)
{
    int rc;

    *out = NULL;
    *n = 0;
    rc = ad__check_id("tenant id", tenant_id, err);
    if (!rc)
        rc = ad__check_id("run id", run_id, err);
    if (!rc)
        rc = ad__resolve_limit(limit, &limit, err);
    if (rc)
        return rc;
    return st->ops->evolve->trace_list(st, tenant_id, run_id, after_seq, limit, out, n, err);
}

int ad_store_evolve_trace_last(struct ad_store *st, const char *tenant_id, const char *run_id,
                               int64_t *seq, struct ad_err *err)
{
    int rc = ad__check_id("tenant id", tenant_id, err);

    *seq = 0;
    if (!rc)
        rc = ad__check_id("run id", run_id, err);
    return rc ? rc : st->ops->evolve->trace_last(st, tenant_id, run_id, seq, err);
}
