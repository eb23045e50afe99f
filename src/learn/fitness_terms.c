/*
 * Custom fitness terms: a workspace's own objectives, small Python
 * functions term(signals) -> float that the sandbox runs over a variant's
 * signals, weighted beside the built-in score (fitness.h has the formula).
 *
 * The code is the tenant's, so it is untrusted like a skill: it runs only
 * in the sandbox (no network, a deadline, memory, pids and output caps),
 * never in this process, and what comes back is checked here (a number,
 * finite, clamped to [0, 1]); anything else is an error recorded on the
 * variant, never a score. All of a tenant's terms share one run (one
 * interpreter start instead of one per term); a term in that run can see
 * the others' results, which gives it nothing: they are the same tenant's
 * code. When the shared run fails as a whole (a term hung, exited, printed
 * megabytes), each term runs again alone, so the failure lands on the term
 * that caused it and the others still count.
 *
 * Sections: the harness; checking and registering; running; applying.
 */
#include "compat.h"

#include <math.h>

#include <openssl/evp.h>

#include "autodev/fitness.h"
#include "autodev/json.h"
#include "autodev/log.h"
#include "autodev/sandbox.h"
#include "autodev/store.h"
#include "autodev/text.h"

#include "learn_int.h"

static int oom(struct ad_err *err)
{
    return ad_error(err, AD_ENOMEM, "out of memory");
}

/* ---- the harness ---------------------------------------------------------------- */

/*
 * The code the sandbox runs (its own harness calls one of these with the
 * input's keys as arguments). check_term compiles without executing
 * anything of the term; run_terms executes each term in a namespace of its
 * own, on its own copy of the signals, and turns whatever it does into a
 * value or an error text. BaseException: a term's SystemExit or
 * KeyboardInterrupt is its error too.
 */
static const char harness_py[] =
    "import json, math\n"
    "def _text(e):\n"
    "    m = str(e)\n"
    "    if len(m) > 300:\n"
    "        m = m[:300] + '...'\n"
    "    return type(e).__name__ + (': ' + m if m else '')\n"
    "def check_term(src):\n"
    "    import ast\n"
    "    try:\n"
    "        tree = ast.parse(src, 'term.py')\n"
    "        compile(tree, 'term.py', 'exec')\n"
    "    except SyntaxError as e:\n"
    "        return {'error': 'line %s: %s' % (e.lineno, e.msg)}\n"
    "    except BaseException as e:\n"
    "        return {'error': _text(e)}\n"
    "    for node in tree.body:\n"
    "        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))"
    " and node.name == 'term':\n"
    "            if isinstance(node, ast.AsyncFunctionDef):\n"
    "                return {'error': 'term must be a plain function, not async'}\n"
    "            a = node.args\n"
    "            if len(a.posonlyargs) + len(a.args) >= 1 or a.vararg:\n"
    "                return {'ok': True}\n"
    "            return {'error': 'term() must take one argument: the signals'}\n"
    "    return {'error': \"the code defines no top-level function 'term'"
    " (def term(signals): ...)\"}\n"
    "def run_terms(job):\n"
    "    sig = json.dumps(job.get('signals'))\n"
    "    out = {}\n"
    "    for name, src in job.get('terms', {}).items():\n"
    "        try:\n"
    "            g = {'__name__': 'term_' + name}\n"
    "            exec(compile(src, 'term_%s.py' % name, 'exec'), g)\n"
    "            fn = g.get('term')\n"
    "            if not callable(fn):\n"
    "                raise NameError('the code defines no function term(signals)')\n"
    "            v = fn(json.loads(sig))\n"
    "            if isinstance(v, bool) or not isinstance(v, (int, float)):\n"
    "                out[name] = {'error': 'TypeError: term returned %s, not a number'"
    " % type(v).__name__}\n"
    "            elif not math.isfinite(float(v)):\n"
    "                out[name] = {'error': 'ValueError: term returned %r, not a finite number'"
    " % (v,)}\n"
    "            else:\n"
    "                out[name] = {'value': float(v)}\n"
    "        except BaseException as e:\n"
    "            out[name] = {'error': _text(e)}\n"
    "    return out\n";

static void default_limits(const struct ad_sandbox_limits *in, struct ad_sandbox_limits *out)
{
    memset(out, 0, sizeof(*out));
    if (in)
        *out = *in;
    if (!out->wall_ms)
        out->wall_ms = AD_FITNESS_TERM_WALL_MS;
    if (!out->memory_bytes)
        out->memory_bytes = AD_FITNESS_TERM_MEMORY;
    if (!out->output_bytes)
        out->output_bytes = AD_FITNESS_TERM_OUTPUT;
    if (!out->pids)
        out->pids = 16;
}

/* Runs entry of the harness with input (borrowed) into *res (clear it in any case). */
static int run_harness(struct ad_sandbox *sb, const char *entry, const json_t *input,
                       const struct ad_sandbox_limits *limits, struct ad_sandbox_result *res,
                       struct ad_err *err)
{
    struct ad_sandbox_spec spec;
    char *text = ad_json_dumps(input);
    int rc;

    memset(res, 0, sizeof(*res));
    if (!text)
        return oom(err);
    memset(&spec, 0, sizeof(spec));
    spec.code = harness_py;
    spec.entry = entry;
    spec.input_json = text;
    default_limits(limits, &spec.limits);
    rc = ad_sandbox_run(sb, &spec, res, err);
    free(text);
    return rc;
}

/* What a run that gave no usable result did, as one line of text. */
static void failure_text(const struct ad_sandbox_result *res, const struct ad_sandbox_limits *l,
                         char *out, size_t size)
{
    const char *type = ad_json_str(res->error, "type"), *msg = ad_json_str(res->error, "message");

    switch (res->status) {
    case AD_SB_TIMEOUT:
        snprintf(out, size, "timeout: the term ran past %lld ms and was killed",
                 (long long)l->wall_ms);
        break;
    case AD_SB_OUTPUT_LIMIT:
        snprintf(out, size, "output_limit: the term wrote more than %lld bytes and was killed",
                 (long long)l->output_bytes);
        break;
    case AD_SB_OOM:
        snprintf(out, size, "oom: the term used more than %lld MiB",
                 (long long)(l->memory_bytes >> 20));
        break;
    case AD_SB_CPU_LIMIT:
        snprintf(out, size, "cpu_limit: the term used its CPU time");
        break;
    case AD_SB_SIGNAL:
        snprintf(out, size, "signal: the term's process died of signal %d", res->signal);
        break;
    case AD_SB_OK:
        snprintf(out, size, "error: the term run gave no result for it");
        break;
    default:
        snprintf(out, size, "%s: %s%s%.300s", ad_sb_status_name(res->status),
                 type ? type : "the run failed", msg ? ": " : "", msg ? msg : "");
        break;
    }
}

/* ---- checking and registering ------------------------------------------------------ */

int ad_fitness_term_check(struct ad_sandbox *sb, const char *code, struct ad_err *err)
{
    struct ad_sandbox_result res;
    struct ad_sandbox_limits l;
    const char *why;
    json_t *input;
    size_t len = code ? strlen(code) : 0;
    int rc;

    if (len == 0)
        return ad_error(err, AD_EINVAL, "the term's code is empty");
    if (len > AD_FITNESS_TERM_CODE_MAX)
        return ad_error(err, AD_ETOOBIG, "the term's code is %zu bytes, more than %d", len,
                        AD_FITNESS_TERM_CODE_MAX);
    if (!ad_utf8_valid(code, len))
        return ad_error(err, AD_EINVAL, "the term's code is not valid UTF-8");
    if (!sb)
        return ad_error(err, AD_ESTATE, "no sandbox to check the term's code in");
    input = json_pack("{s:s}", "src", code);
    if (!input)
        return oom(err);
    default_limits(NULL, &l);
    rc = run_harness(sb, "check_term", input, &l, &res, err);
    json_decref(input);
    if (rc == 0 && res.status != AD_SB_OK) {
        char text[512];

        failure_text(&res, &l, text, sizeof(text));
        rc = ad_error(err, AD_EIO, "the term's code could not be checked in the sandbox: %s",
                      text);
    } else if (rc == 0 && !json_is_true(json_object_get(res.output, "ok"))) {
        why = ad_json_str(res.output, "error");
        rc = ad_error(err, AD_EINVAL, "the term's code is not a term: %.400s",
                      why ? why : "the check gave no answer");
    }
    ad_sandbox_result_clear(&res);
    return rc;
}

static void sha256_hex(const char *s, char out[AD_TOKEN_HASH_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    out[0] = '\0';
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) || n != 32)
        return;
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

int ad_fitness_terms_add(struct ad_store *st, struct ad_sandbox *sb, const char *tenant_id,
                         const char *name, const char *code, double weight,
                         struct ad_fitness_term *out, struct ad_err *err)
{
    struct ad_fitness_term t, *all = NULL;
    size_t n = 0;
    int rc;

    memset(&t, 0, sizeof(t));
    if (!name || !ad_text_identifier(name, AD_FITNESS_TERM_NAME_MAX))
        return ad_error(err, AD_EINVAL, "invalid fitness term name '%.80s': expected a Python"
                        " identifier of at most %d characters", name ? name : "",
                        AD_FITNESS_TERM_NAME_MAX);
    if (!isfinite(weight) || !(weight > 0) || weight > AD_FITNESS_TERM_WEIGHT_MAX)
        return ad_error(err, AD_EINVAL, "invalid weight for fitness term '%s': expected a"
                        " number > 0 and <= %g", name, AD_FITNESS_TERM_WEIGHT_MAX);
    rc = ad_store_fitness_term_list(st, tenant_id, false, &all, &n, err);
    ad_fitness_term_list_free(all, n);
    if (rc == 0 && n >= AD_FITNESS_TERMS_MAX)
        rc = ad_error(err, AD_ELIMIT, "the workspace has %zu fitness terms, the most it may have",
                      n);
    if (rc == 0)
        rc = ad_fitness_term_check(sb, code, err);
    if (rc < 0)
        return rc;
    memcpy(t.tenant_id, tenant_id, AD_ID_SIZE);
    t.name = strdup(name);
    t.code = strdup(code);
    t.weight = weight;
    t.enabled = true;
    sha256_hex(code, t.code_sha);
    if (!t.name || !t.code)
        rc = oom(err);
    if (rc == 0)
        rc = ad_store_fitness_term_insert(st, &t, err);
    if (rc == 0 && out)
        *out = t;
    else
        ad_fitness_term_release(&t);
    return rc;
}

int ad_fitness_terms_list(struct ad_store *st, const char *tenant_id,
                          struct ad_fitness_term **out, size_t *n, struct ad_err *err)
{
    return ad_store_fitness_term_list(st, tenant_id, false, out, n, err);
}

int ad_fitness_terms_get(struct ad_store *st, const char *tenant_id, const char *name,
                         struct ad_fitness_term *out, struct ad_err *err)
{
    return ad_store_fitness_term_get(st, tenant_id, name, out, err);
}

int ad_fitness_terms_remove(struct ad_store *st, const char *tenant_id, const char *name,
                            struct ad_err *err)
{
    return ad_store_fitness_term_delete(st, tenant_id, name, err);
}

/* ---- running ----------------------------------------------------------------------- */

/* out[name] = {"error": text}; 0 or AD_ENOMEM. */
static int put_error(json_t *out, const char *name, const char *text, struct ad_err *err)
{
    json_t *e = json_pack("{s:s}", "error", text);

    if (!e || json_object_set_new(out, name, e) < 0)
        return oom(err);
    return 0;
}

/*
 * out[name] from what the run said about name (got: its member of the
 * run's output, may be NULL): a value clamped to [0, 1], or an error.
 */
static int put_result(json_t *out, const char *name, const json_t *got, struct ad_err *err)
{
    const json_t *v = json_object_get(got, "value");
    const char *e = ad_json_str(got, "error");
    double x;
    json_t *r;

    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        char text[400];

        snprintf(text, sizeof(text), "%.380s", e ? e : "the term run gave no value for it");
        return put_error(out, name, text, err);
    }
    x = json_number_value(v);
    r = json_pack("{s:f}", "value", x < 0 ? 0.0 : x > 1 ? 1.0 : x);
    if (r && (x < 0 || x > 1) && json_object_set_new(r, "clamped_from", json_real(x)) < 0) {
        json_decref(r);
        r = NULL;
    }
    if (!r || json_object_set_new(out, name, r) < 0)
        return oom(err);
    return 0;
}

/* One run of terms[0..n); *res is the sandbox's result (cleared by the caller). */
static int run_batch(struct ad_sandbox *sb, const struct ad_fitness_term *terms, size_t n,
                     const json_t *signals, const struct ad_sandbox_limits *l,
                     struct ad_sandbox_result *res, struct ad_err *err)
{
    json_t *src = json_object(), *job;
    int rc;

    for (size_t i = 0; src && i < n; i++) {
        if (json_object_set_new(src, terms[i].name, json_string(terms[i].code)) < 0) {
            json_decref(src);
            src = NULL;
        }
    }
    job = src ? json_pack("{s:{s:o, s:O}}", "job", "terms", src, "signals",
                          signals ? (json_t *)signals : json_null())
              : NULL;
    if (!job) {
        memset(res, 0, sizeof(*res));
        return oom(err);
    }
    rc = run_harness(sb, "run_terms", job, l, res, err);
    json_decref(job);
    return rc;
}

/* Whether a batch's result names every term (else each runs alone). */
static bool batch_ok(const struct ad_sandbox_result *res, const struct ad_fitness_term *terms,
                     size_t n)
{
    if (res->status != AD_SB_OK || !json_is_object(res->output))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!json_is_object(json_object_get(res->output, terms[i].name)))
            return false;
    }
    return true;
}

/* Runs term t alone; its result or error into out. */
static int run_alone(struct ad_sandbox *sb, const struct ad_fitness_term *t,
                     const json_t *signals, const struct ad_sandbox_limits *l, json_t *out,
                     struct ad_err *err)
{
    struct ad_sandbox_result res;
    struct ad_err serr = AD_ERR_INIT;
    char text[512];
    int rc = run_batch(sb, t, 1, signals, l, &res, &serr);

    if (rc == AD_ENOMEM) {
        ad_sandbox_result_clear(&res);
        return oom(err);
    }
    if (rc < 0) {
        snprintf(text, sizeof(text), "sandbox_error: %.400s", serr.msg);
        rc = put_error(out, t->name, text, err);
    } else if (batch_ok(&res, t, 1)) {
        rc = put_result(out, t->name, json_object_get(res.output, t->name), err);
    } else {
        failure_text(&res, l, text, sizeof(text));
        rc = put_error(out, t->name, text, err);
    }
    ad_sandbox_result_clear(&res);
    return rc;
}

int ad_fitness_terms_run(struct ad_sandbox *sb, const struct ad_fitness_term *terms, size_t n,
                         const json_t *signals, const struct ad_sandbox_limits *limits,
                         json_t **out, struct ad_err *err)
{
    struct ad_sandbox_result res;
    struct ad_sandbox_limits l;
    struct ad_err serr = AD_ERR_INIT;
    json_t *o;
    int rc = 0;

    *out = NULL;
    if (n > 0 && (!terms || !sb))
        return ad_error(err, AD_EINVAL, "fitness terms: %s missing", sb ? "terms" : "sandbox");
    o = json_object();
    if (!o)
        return oom(err);
    default_limits(limits, &l);
    memset(&res, 0, sizeof(res));
    if (n > 0 && run_batch(sb, terms, n, signals, &l, &res, &serr) == AD_ENOMEM)
        rc = oom(err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (n > 1 && !batch_ok(&res, terms, n))
            rc = run_alone(sb, &terms[i], signals, &l, o, err);
        else if (batch_ok(&res, terms, n))
            rc = put_result(o, terms[i].name, json_object_get(res.output, terms[i].name), err);
        else {
            char text[512];

            if (serr.code < 0)
                snprintf(text, sizeof(text), "sandbox_error: %.400s", serr.msg);
            else
                failure_text(&res, &l, text, sizeof(text));
            rc = put_error(o, terms[i].name, text, err);
        }
    }
    ad_sandbox_result_clear(&res);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- applying ---------------------------------------------------------------------- */

/* The variant's signals as the terms see them: without their own past results. */
static json_t *signals_for_terms(const struct ad_workflow_variant *v)
{
    json_t *s = json_is_object(v->fitness_signals) ? json_deep_copy(v->fitness_signals)
                                                   : json_object();

    if (s)
        json_object_del(s, "terms");
    return s;
}

/* Adds each term's weight to its result; logs each failure. */
static int weigh(json_t *values, const struct ad_fitness_term *terms, size_t n,
                 const char *variant_id, struct ad_err *err)
{
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object_get(values, terms[i].name);
        const char *why = ad_json_str(e, "error");

        if (!e || json_object_set_new(e, "weight", json_real(terms[i].weight)) < 0)
            return oom(err);
        if (why)
            AD_LOG(AD_LOG_WARN, "fitness: term '%s' failed on variant %s, scored without it: %s",
                   terms[i].name, variant_id, why);
    }
    return 0;
}

int ad_fitness_terms_apply(struct ad_store *st, struct ad_bus *bus, struct ad_sandbox *sb,
                           const char *tenant_id, const char *variant_id,
                           const struct ad_sandbox_limits *limits, double *score_out,
                           struct ad_err *err)
{
    struct ad_workflow_variant v;
    struct ad_fitness_term *terms = NULL;
    json_t *signals = NULL, *values = NULL;
    size_t n = 0;
    int rc;

    ad_workflow_variant_init(&v);
    rc = ad_store_fitness_term_list(st, tenant_id, true, &terms, &n, err);
    if (rc == 0)
        rc = ad_store_variant_get(st, tenant_id, variant_id, &v, err);
    if (rc < 0)
        goto out;
    if (n == 0 && !json_object_get(v.fitness_signals, "terms")) {
        /* Nothing blended in and nothing to blend: the score stands as it is. */
        if (score_out)
            *score_out = v.fitness_score;
        goto out;
    }
    if (n > 0) {
        signals = signals_for_terms(&v);
        rc = signals ? ad_fitness_terms_run(sb, terms, n, signals, limits, &values, err)
                     : oom(err);
        if (rc == 0)
            rc = weigh(values, terms, n, variant_id, err);
        if (rc < 0)
            goto out;
    }
    rc = ad__variant_set_terms(st, bus, tenant_id, variant_id, values, score_out, err);
out:
    json_decref(signals);
    json_decref(values);
    ad_fitness_term_list_free(terms, n);
    ad_workflow_variant_release(&v);
    return rc;
}
