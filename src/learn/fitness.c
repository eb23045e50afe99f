/*
 * Fitness: the reference FitnessService's formulas, and the owner API of
 * workflow_variants that applies them (fitness.h says what each stage
 * does to a score).
 *
 * Each evaluation reads the variant, computes, writes the score and the
 * signals, and emits variant.fitness, all in one transaction: a webhook
 * and a reviewer adjusting one variant at once are applied one after the
 * other, never one over the other.
 *
 * Sections: the formulas; checks of what callers send; the variant's
 * signals; the evaluations; reading.
 */
#include "compat.h"

#include <math.h>

#include "autodev/bus.h"
#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/settings.h"
#include "autodev/store.h"
#include "autodev/topics.h"

#include "learn_int.h"

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

static double clamp(double x, double lo, double hi)
{
    if (isnan(x))
        return lo;
    return x < lo ? lo : x > hi ? hi : x;
}

/*
 * A score as it is written: in [0, 1] and kept to 9 decimals, so that the
 * sums of the stages read as the reference's numbers (0.7 - 0.2 is 0.5,
 * not 0.49999999999999994) while no score a test or a reader can tell
 * apart is lost.
 */
static double score_of(double x)
{
    return round(clamp(x, 0.0, 1.0) * 1e9) / 1e9;
}

/* ---- the formulas ------------------------------------------------------------ */

double ad_fitness_blend(double builtin, const json_t *values, double *weight_sum)
{
    double num = clamp(builtin, 0.0, 1.0), den = 1.0;
    const char *name;
    json_t *e;

    json_object_foreach((json_t *)values, name, e) {
        const json_t *t = json_object_get(e, "value"), *w = json_object_get(e, "weight");

        (void)name;
        if (!json_is_number(t) || !json_is_number(w) || !(json_number_value(w) > 0) ||
            !isfinite(json_number_value(w)) || !isfinite(json_number_value(t)))
            continue;
        num += json_number_value(w) * clamp(json_number_value(t), 0.0, 1.0);
        den += json_number_value(w);
    }
    if (weight_sum)
        *weight_sum = den - 1.0;
    return clamp(num / den, 0.0, 1.0);
}

void ad_fitness_weights_from_settings(const struct ad_settings *s, struct ad_fitness_weights *out)
{
    out->performance = s->fitness_weight_performance / 100.0;
    out->accuracy = s->fitness_weight_accuracy / 100.0;
    out->cost = s->fitness_weight_cost / 100.0;
    out->satisfaction = s->fitness_weight_satisfaction / 100.0;
}

double ad_fitness_proxy(bool syntax_ok, bool execution_success, bool user_approved)
{
    double score = 0.0;

    if (syntax_ok)
        score += 0.2;
    if (execution_success)
        score += 0.3;
    if (user_approved)
        score += 0.5;
    return clamp(score, 0.0, 1.0);
}

/* A member as a number; missing or not a number is 0. */
static double num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_number(v) ? json_number_value(v) : 0.0;
}

double ad_fitness_multi(const struct ad_fitness_weights *w, const json_t *scores)
{
    double sum = w->performance + w->accuracy + w->cost + w->satisfaction;
    double acc;

    if (!(sum > 0))
        return 0.0;
    acc = w->performance * clamp(num(scores, "performance"), 0, 1) +
          w->accuracy * clamp(num(scores, "accuracy"), 0, 1) +
          w->cost * clamp(num(scores, "cost"), 0, 1) +
          w->satisfaction * clamp(num(scores, "satisfaction"), 0, 1);
    return clamp(acc / sum, 0, 1);
}

double ad_fitness_delayed_adjustment(const json_t *signals, const struct ad_settings *s)
{
    double adj = 0.0, value = num(signals, "conversion_value");

    if (json_is_true(json_object_get(signals, "invoice_created")))
        adj += 0.4;
    if (json_is_true(json_object_get(signals, "crm_conversion")))
        adj += 0.5;
    if (value > 0)
        adj += fmin(0.5, value / 1000.0);
    if (json_is_true(json_object_get(signals, "email_bounce")))
        adj -= s->fitness_penalty_email_bounce_pct / 100.0;
    if (json_is_true(json_object_get(signals, "error_signal")))
        adj -= s->fitness_penalty_error_signal_pct / 100.0;
    return adj;
}

double ad_fitness_business_value(const json_t *metrics)
{
    double r = num(metrics, "revenue_impact"), c = num(metrics, "cost_savings");
    double h = num(metrics, "time_savings_hours"), score = 0.0;

    if (r > 0)
        score += fmin(0.5, r / 10000.0);
    if (c > 0)
        score += fmin(0.3, c / 5000.0);
    if (h > 0)
        score += fmin(0.2, h / 100.0);
    return clamp(score, 0.0, 1.0);
}

double ad_fitness_satisfaction(const double *scores, size_t n)
{
    double sum = 0.0;

    if (n == 0)
        return 0.5;
    for (size_t i = 0; i < n; i++)
        sum += isnan(scores[i]) ? 0.0 : clamp(scores[i], -1.0, 1.0);
    return clamp((sum / (double)n + 1.0) / 2.0, 0.0, 1.0);
}

/* ---- checks of what callers send ---------------------------------------------- */

enum kind { K_BOOL, K_NUMBER, K_NONNEG, K_OBJECT };

struct known_key {
    const char *name;
    enum kind kind;
};

static const char *kind_text(enum kind k)
{
    switch (k) {
    case K_BOOL: return "true or false";
    case K_NUMBER: return "a finite number";
    case K_NONNEG: return "a finite number >= 0";
    default: return "an object";
    }
}

static bool kind_fits(enum kind k, const json_t *v)
{
    switch (k) {
    case K_BOOL: return json_is_boolean(v);
    case K_NUMBER: return json_is_number(v) && isfinite(json_number_value(v));
    case K_NONNEG:
        return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0;
    default: return json_is_object(v);
    }
}

/* obj is an object of known keys only, each of its kind; what names the object in messages. */
static int check_keys(const char *what, const json_t *obj, const struct known_key *keys,
                      size_t nkeys, struct ad_err *err)
{
    const char *name;
    json_t *v;

    if (!json_is_object(obj))
        return ad_error(err, AD_EINVAL, "%s: expected a JSON object", what);
    json_object_foreach((json_t *)obj, name, v) {
        size_t i;

        for (i = 0; i < nkeys && strcmp(keys[i].name, name) != 0; i++)
            ;
        if (i == nkeys)
            return ad_error(err, AD_EINVAL, "%s: unknown key '%.64s'", what, name);
        if (!kind_fits(keys[i].kind, v))
            return ad_error(err, AD_EINVAL, "%s: key '%s' must be %s", what, name,
                            kind_text(keys[i].kind));
    }
    return 0;
}

static const struct known_key delayed_keys[] = {
    { "invoice_created", K_BOOL }, { "crm_conversion", K_BOOL },
    { "conversion_success", K_BOOL }, { "conversion_value", K_NONNEG },
    { "email_bounce", K_BOOL }, { "error_signal", K_BOOL },
};

int ad_fitness_signals_check(const json_t *signals, struct ad_err *err)
{
    return check_keys("delayed signals", signals, delayed_keys, AD_ARRAY_SIZE(delayed_keys), err);
}

static const struct known_key proxy_keys[] = {
    { "syntax_error", K_BOOL }, { "execution_success", K_BOOL }, { "user_approved", K_BOOL },
    { "objectives", K_OBJECT },
};

static const struct known_key objective_keys[] = {
    { "performance", K_NUMBER }, { "accuracy", K_NUMBER }, { "cost", K_NUMBER },
    { "satisfaction", K_NUMBER },
};

static const struct known_key business_keys[] = {
    { "revenue_impact", K_NUMBER }, { "cost_savings", K_NUMBER },
    { "time_savings_hours", K_NUMBER },
};

/* ---- the variant's signals ---------------------------------------------------- */

/* v's fitness_signals, made an object if it was none; NULL on ENOMEM. */
static json_t *signals_of(struct ad_workflow_variant *v)
{
    if (!json_is_object(v->fitness_signals)) {
        json_decref(v->fitness_signals);
        v->fitness_signals = json_object();
    }
    return v->fitness_signals;
}

/* signals[key] = value (a new reference, consumed); 0 or AD_ENOMEM. */
static int set_signal(struct ad_workflow_variant *v, const char *key, json_t *value,
                      struct ad_err *err)
{
    json_t *sig = signals_of(v);

    if (!sig || !value || json_object_set_new(sig, key, value) < 0) {
        if (!sig)
            json_decref(value);
        return oom(err);
    }
    return 0;
}

/*
 * The built-in score of v (the stages' own, before custom terms): kept in
 * signals.terms.builtin once terms were blended in, else the score itself
 * (NAN when never scored).
 */
static double builtin_of(const struct ad_workflow_variant *v)
{
    const json_t *b = json_object_get(json_object_get(v->fitness_signals, "terms"), "builtin");

    return json_is_number(b) ? json_number_value(b) : v->fitness_score;
}

/*
 * A stage's new built-in score b: the variant's score is b blended with
 * the terms' values last recorded (fitness.h's formula), b itself when
 * there are none; signals.terms keeps b and the blend.
 */
static int set_builtin(struct ad_workflow_variant *v, double b, struct ad_err *err)
{
    json_t *terms = json_object_get(v->fitness_signals, "terms");
    double score;

    b = score_of(b);
    if (!json_is_object(terms)) {
        v->fitness_score = b;
        return 0;
    }
    score = score_of(ad_fitness_blend(b, json_object_get(terms, "values"), NULL));
    if (json_object_set_new(terms, "builtin", json_real(b)) < 0 ||
        json_object_set_new(terms, "score", json_real(score)) < 0)
        return oom(err);
    v->fitness_score = score;
    return 0;
}

static void copy_time(char dst[AD_TIME_SIZE], const char *src)
{
    snprintf(dst, AD_TIME_SIZE, "%s", src);
}

static json_t *score_json(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

/*
 * One evaluation's frame: the variant read, compute (fn fills v and
 * *result), the update and the variant.fitness event, in one transaction.
 */
typedef int eval_fn(struct ad_store *st, struct ad_workflow_variant *v, const void *arg,
                    double *result, struct ad_err *err);

static int emit_fitness(struct ad_bus *bus, const struct ad_workflow_variant *v,
                        const char *source, struct ad_err *err)
{
    json_t *ev;
    int rc;

    if (!bus)
        return 0;
    ev = json_pack("{s:s, s:o, s:s}", "variant_id", v->id, "fitness_score",
                   score_json(v->fitness_score), "source", source);
    rc = ev ? ad_bus_emit(bus, v->tenant_id, AD_TOPIC_VARIANT_FITNESS, ev, NULL, err) : oom(err);
    json_decref(ev);
    return rc;
}

static int rescore(struct ad_store *st, struct ad_bus *bus, struct ad_workflow_variant *v,
                   const char *source, struct ad_err *err)
{
    int rc = ad_store_variant_update(st, v, err);

    if (rc == 0)
        rc = emit_fitness(bus, v, source, err);
    return rc;
}

static int evaluate(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                    const char *variant_id, const char *source, eval_fn *fn, const void *arg,
                    double *out, struct ad_err *err)
{
    struct ad_workflow_variant v;
    int depth0 = ad_store_tx_depth(st);
    double result = NAN;
    int rc;

    ad_workflow_variant_init(&v);
    rc = ad_store_begin(st, err);
    if (rc < 0)
        return rc;
    rc = ad_store_variant_get(st, tenant_id, variant_id, &v, err);
    if (rc == 0)
        rc = fn(st, &v, arg, &result, err);
    if (rc == 0)
        rc = rescore(st, bus, &v, source, err);
    if (rc == 0)
        rc = ad_store_commit(st, err);
    if (rc < 0 && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (rc == 0 && out)
        *out = result;
    ad_workflow_variant_release(&v);
    return rc;
}

/* ---- the evaluations ----------------------------------------------------------- */

/* The proxy of a signals object (its members missing: false). */
static double proxy_of(const json_t *signals)
{
    return ad_fitness_proxy(!json_is_true(json_object_get(signals, "syntax_error")),
                            json_is_true(json_object_get(signals, "execution_success")),
                            json_is_true(json_object_get(signals, "user_approved")));
}

static int eval_proxy(struct ad_store *st, struct ad_workflow_variant *v, const void *arg,
                      double *result, struct ad_err *err)
{
    const json_t *signals = arg, *objectives = json_object_get(signals, "objectives");
    struct ad_fitness_weights w;
    struct ad_settings s;
    double proxy = proxy_of(signals), multi, score = proxy;
    char now[AD_TIME_SIZE];
    int rc = 0;

    if (objectives) {
        rc = ad_settings_get(st, v->tenant_id, &s, err);
        if (rc < 0)
            return rc;
        ad_fitness_weights_from_settings(&s, &w);
        multi = ad_fitness_multi(&w, objectives);
        score = 0.5 * proxy + 0.5 * multi;
        rc = set_signal(v, "objectives", json_deep_copy(objectives), err);
        if (rc == 0 && json_object_set_new(json_object_get(v->fitness_signals, "objectives"),
                                           "score", json_real(multi)) < 0)
            rc = oom(err);
    }
    if (rc == 0)
        rc = set_signal(v, "proxy",
                        json_pack("{s:b, s:b, s:b, s:f}", "syntax_error",
                                  json_is_true(json_object_get(signals, "syntax_error")),
                                  "execution_success",
                                  json_is_true(json_object_get(signals, "execution_success")),
                                  "user_approved",
                                  json_is_true(json_object_get(signals, "user_approved")),
                                  "score", proxy),
                        err);
    if (rc == 0)
        rc = set_builtin(v, score, err);
    if (rc < 0)
        return rc;
    v->evaluation_status = AD_VSTAT_EVALUATED;
    copy_time(v->last_evaluated_at, ad_time_now(now));
    *result = v->fitness_score;
    return 0;
}

int ad_fitness_evaluate_initial_proxy(struct ad_store *st, struct ad_bus *bus,
                                      const char *tenant_id, const char *variant_id,
                                      const json_t *signals, double *score_out,
                                      struct ad_err *err)
{
    int rc = check_keys("proxy signals", signals, proxy_keys, AD_ARRAY_SIZE(proxy_keys), err);

    if (rc == 0 && json_object_get(signals, "objectives"))
        rc = check_keys("objectives", json_object_get(signals, "objectives"), objective_keys,
                        AD_ARRAY_SIZE(objective_keys), err);
    if (rc < 0)
        return rc;
    return evaluate(st, bus, tenant_id, variant_id, "proxy", eval_proxy, signals, score_out,
                    err);
}

/* Appends {"at", "signals", "adjustment"} to signals.delayed[]. */
static int append_delayed(struct ad_workflow_variant *v, const json_t *signals, double adj,
                          const char *now, struct ad_err *err)
{
    json_t *sig = signals_of(v), *list, *entry;

    if (!sig)
        return oom(err);
    list = json_object_get(sig, "delayed");
    if (!json_is_array(list)) {
        if (json_object_set_new(sig, "delayed", json_array()) < 0)
            return oom(err);
        list = json_object_get(sig, "delayed");
    }
    entry = json_pack("{s:s, s:O, s:f}", "at", now, "signals", signals, "adjustment", adj);
    if (!entry || json_array_append_new(list, entry) < 0)
        return oom(err);
    return 0;
}

static int eval_delayed(struct ad_store *st, struct ad_workflow_variant *v, const void *arg,
                        double *result, struct ad_err *err)
{
    struct ad_settings s;
    char now[AD_TIME_SIZE];
    double adj, current = isnan(builtin_of(v)) ? 0.0 : builtin_of(v);
    int rc = ad_settings_get(st, v->tenant_id, &s, err);

    if (rc < 0)
        return rc;
    adj = ad_fitness_delayed_adjustment(arg, &s);
    ad_time_now(now);
    rc = append_delayed(v, arg, adj, now, err);
    if (rc == 0)
        rc = set_builtin(v, current + adj, err);
    if (rc < 0)
        return rc;
    copy_time(v->last_evaluated_at, now);
    *result = v->fitness_score;
    return 0;
}

int ad_fitness_evaluate_delayed(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                                const char *variant_id, const json_t *signals, double *score_out,
                                struct ad_err *err)
{
    int rc = ad_fitness_signals_check(signals, err);

    if (rc < 0)
        return rc;
    return evaluate(st, bus, tenant_id, variant_id, "delayed", eval_delayed, signals, score_out,
                    err);
}

static int eval_business(struct ad_store *st, struct ad_workflow_variant *v, const void *arg,
                         double *result, struct ad_err *err)
{
    double bv = ad_fitness_business_value(arg);
    double current = isnan(builtin_of(v)) ? 0.0 : builtin_of(v);
    char now[AD_TIME_SIZE];
    int rc = set_signal(v, "business_value",
                        json_pack("{s:f, s:O}", "score", bv, "metrics", (json_t *)arg), err);

    (void)st;
    if (rc == 0)
        rc = set_builtin(v, (current + bv) / 2.0, err);
    if (rc < 0)
        return rc;
    copy_time(v->last_evaluated_at, ad_time_now(now));
    *result = bv;
    return 0;
}

int ad_fitness_evaluate_business_value(struct ad_store *st, struct ad_bus *bus,
                                       const char *tenant_id, const char *variant_id,
                                       const json_t *metrics, double *bv_out,
                                       struct ad_err *err)
{
    int rc = check_keys("business metrics", metrics, business_keys,
                        AD_ARRAY_SIZE(business_keys), err);

    if (rc < 0)
        return rc;
    return evaluate(st, bus, tenant_id, variant_id, "business_value", eval_business, metrics,
                    bv_out, err);
}

struct feedback {
    const double *scores;
    size_t n;
};

static int eval_satisfaction(struct ad_store *st, struct ad_workflow_variant *v,
                             const void *arg, double *result, struct ad_err *err)
{
    const struct feedback *fb = arg;
    double score = ad_fitness_satisfaction(fb->scores, fb->n);
    int rc = set_signal(v, "user_satisfaction",
                        json_pack("{s:f, s:I}", "score", score, "feedback_count",
                                  (json_int_t)fb->n),
                        err);

    (void)st;
    if (rc < 0)
        return rc;
    *result = score;
    return 0;
}

int ad_fitness_evaluate_user_satisfaction(struct ad_store *st, struct ad_bus *bus,
                                          const char *tenant_id, const char *variant_id,
                                          const double *scores, size_t n, double *out,
                                          struct ad_err *err)
{
    struct feedback fb = { scores, n };

    if (n > 0 && !scores)
        return ad_error(err, AD_EINVAL, "feedback scores: missing");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(scores[i]))
            return ad_error(err, AD_EINVAL, "feedback score %zu is not a finite number", i + 1);
    }
    return evaluate(st, bus, tenant_id, variant_id, "user_satisfaction", eval_satisfaction, &fb,
                    out, err);
}

/*
 * A human approved the mutant v ran: the proxy's user_approved term (+0.5)
 * is added to the score, weighed as the proxy is in it (0.5 beside
 * objectives, else 1), so what delayed signals did to the score stays. A
 * variant never scored gets its proxy from what is known: it compiled and,
 * when ran_ok, ran.
 */
static int approve_proxy(struct ad_workflow_variant *v, bool ran_ok, json_t *proxy,
                         struct ad_err *err)
{
    bool objectives = json_is_object(json_object_get(v->fitness_signals, "objectives"));
    double weight = objectives ? 0.5 : 1.0, before, after, base;
    int bad = 0;

    if (!json_object_get(proxy, "execution_success"))
        bad |= json_object_set_new(proxy, "execution_success", json_boolean(ran_ok));
    if (!json_object_get(proxy, "syntax_error"))
        bad |= json_object_set_new(proxy, "syntax_error", json_false());
    before = proxy_of(proxy);
    bad |= json_object_set_new(proxy, "user_approved", json_true());
    after = proxy_of(proxy);
    bad |= json_object_set_new(proxy, "score", json_real(after));
    if (bad)
        return oom(err);
    base = isnan(builtin_of(v)) ? weight * before : builtin_of(v);
    return set_builtin(v, base + weight * (after - before), err);
}

int ad__variant_promote(struct ad_store *st, struct ad_bus *bus, struct ad_workflow_variant *v,
                        bool ran_ok, struct ad_err *err)
{
    json_t *sig = signals_of(v), *proxy;
    char now[AD_TIME_SIZE];
    int rc;

    if (!sig)
        return oom(err);
    proxy = json_object_get(sig, "proxy");
    if (!json_is_object(proxy)) {
        if (json_object_set_new(sig, "proxy", json_object()) < 0)
            return oom(err);
        proxy = json_object_get(sig, "proxy");
    }
    rc = approve_proxy(v, ran_ok, proxy, err);
    if (rc < 0)
        return rc;
    v->evaluation_status = AD_VSTAT_PROMOTED;
    copy_time(v->last_evaluated_at, ad_time_now(now));
    return rescore(st, bus, v, "proxy", err);
}

/* ---- custom terms: their values on the variant ---------------------------------- */

struct term_values {
    const json_t *values;   /* NULL: no enabled term (drop what was blended in) */
};

static int eval_terms(struct ad_store *st, struct ad_workflow_variant *v, const void *arg,
                      double *result, struct ad_err *err)
{
    const struct term_values *tv = arg;
    double b = builtin_of(v), wsum = 0.0, score;
    json_t *sig = signals_of(v), *terms;
    char now[AD_TIME_SIZE];
    int rc;

    (void)st;
    if (!sig)
        return oom(err);
    if (isnan(b))
        b = 0.0;
    if (!tv->values) {
        json_object_del(sig, "terms");
        v->fitness_score = score_of(b);
        *result = v->fitness_score;
        return 0;
    }
    score = score_of(ad_fitness_blend(b, tv->values, &wsum));
    terms = json_pack("{s:f, s:O, s:f, s:f, s:s}", "builtin", score_of(b), "values",
                      (json_t *)tv->values, "weight_sum", wsum, "score", score, "at",
                      ad_time_now(now));
    rc = set_signal(v, "terms", terms, err);
    if (rc < 0)
        return rc;
    v->fitness_score = score;
    copy_time(v->last_evaluated_at, now);
    *result = score;
    return 0;
}

int ad__variant_set_terms(struct ad_store *st, struct ad_bus *bus, const char *tenant_id,
                          const char *variant_id, const json_t *values, double *score_out,
                          struct ad_err *err)
{
    struct term_values tv = { values };

    return evaluate(st, bus, tenant_id, variant_id, "terms", eval_terms, &tv, score_out, err);
}

/* ---- reading ------------------------------------------------------------------- */

int ad_variants_create(struct ad_store *st, struct ad_workflow_variant *v, struct ad_err *err)
{
    return ad_store_variant_insert(st, v, err);
}

int ad_variants_get(struct ad_store *st, const char *tenant_id, const char *id,
                    struct ad_workflow_variant *out, struct ad_err *err)
{
    return ad_store_variant_get(st, tenant_id, id, out, err);
}

int ad_variants_list(struct ad_store *st, const char *tenant_id, const struct ad_variant_filter *f,
                     struct ad_workflow_variant **out, size_t *n, struct ad_err *err)
{
    return ad_store_variant_list(st, tenant_id, f, out, n, err);
}

int ad_fitness_top_variants(struct ad_store *st, const char *tenant_id, const char *agent_id,
                            int limit, struct ad_workflow_variant **out, size_t *n,
                            struct ad_err *err)
{
    return ad_store_variant_top(st, tenant_id, agent_id, limit, out, n, err);
}
