/*
 * Workspace settings: the "auto_dev" block of a tenant.
 *
 * One table describes every key (type, default, range), so validation, the
 * text form typed on a command line, and the JSON form all agree. The block
 * is stored as JSON in tenants.settings under "auto_dev"; other blocks in
 * that object are kept as they are.
 */
#include "compat.h"

#include <strings.h>

#include "autodev/json.h"
#include "autodev/settings.h"
#include "autodev/store.h"

#include "store_backend.h"

enum key_type { KEY_BOOL, KEY_INT };

struct key_def {
    const char *name;
    enum key_type type;
    size_t off;
    int def;           /* default: 0/1 for booleans */
    int min, max;      /* integers only */
};

#define S_OFF(m) offsetof(struct ad_settings, m)

static const struct key_def keys[] = {
    { "enabled", KEY_BOOL, S_OFF(enabled), 0, 0, 1 },
    { "memento_skills", KEY_BOOL, S_OFF(memento_skills), 1, 0, 1 },
    { "alpha_evolver", KEY_BOOL, S_OFF(alpha_evolver), 1, 0, 1 },
    { "background_evolution", KEY_BOOL, S_OFF(background_evolution), 0, 0, 1 },
    { "max_mutations_per_day", KEY_INT, S_OFF(max_mutations_per_day), 10, 1, 50 },
    { "max_skill_candidates_per_day", KEY_INT, S_OFF(max_skill_candidates_per_day), 5, 1, 20 },
    { "llm_daily_token_cap", KEY_INT, S_OFF(llm_daily_token_cap), 0, 0, 1000000000 },
    { "llm_daily_cost_cap_cents", KEY_INT, S_OFF(llm_daily_cost_cap_cents), 0, 0, 100000000 },
    { "reflection_threshold", KEY_INT, S_OFF(reflection_threshold), 2, 2, 50 },
    { "reflection_window", KEY_INT, S_OFF(reflection_window), 20, 2, 1000 },
    { "reflection_window_hours", KEY_INT, S_OFF(reflection_window_hours), 24, 1, 720 },
    { "reflection_similarity_pct", KEY_INT, S_OFF(reflection_similarity_pct), 50, 1, 100 },
    { "memento_synthesis", KEY_BOOL, S_OFF(memento_synthesis), 1, 0, 1 },
    { "evolution_latency_ms", KEY_INT, S_OFF(evolution_latency_ms), 5000, 1, 3600000 },
    { "evolution_tokens", KEY_INT, S_OFF(evolution_tokens), 5000, 1, 1000000000 },
    { "evolution_on_failure", KEY_BOOL, S_OFF(evolution_on_failure), 1, 0, 1 },
    { "evolution_mutants", KEY_INT, S_OFF(evolution_mutants), 4, 1, 16 },
    { "evolution_repeats", KEY_INT, S_OFF(evolution_repeats), 5, 3, 50 },
    { "evolution_min_gain_pct", KEY_INT, S_OFF(evolution_min_gain_pct), 10, 1, 90 },
    { "evolution_noise_k", KEY_INT, S_OFF(evolution_noise_k), 3, 1, 10 },
    { "evolution_test_inputs", KEY_INT, S_OFF(evolution_test_inputs), 20, 1, 200 },
    { "evolution_background_skills", KEY_INT, S_OFF(evolution_background_skills), 3, 1, 20 },
    { "evolution_background_hours", KEY_INT, S_OFF(evolution_background_hours), 24, 1, 720 },
    { "fitness_weight_performance", KEY_INT, S_OFF(fitness_weight_performance), 30, 0, 100 },
    { "fitness_weight_accuracy", KEY_INT, S_OFF(fitness_weight_accuracy), 40, 0, 100 },
    { "fitness_weight_cost", KEY_INT, S_OFF(fitness_weight_cost), 20, 0, 100 },
    { "fitness_weight_satisfaction", KEY_INT, S_OFF(fitness_weight_satisfaction), 10, 0, 100 },
    { "fitness_penalty_email_bounce_pct", KEY_INT, S_OFF(fitness_penalty_email_bounce_pct), 20,
      0, 100 },
    { "fitness_penalty_error_signal_pct", KEY_INT, S_OFF(fitness_penalty_error_signal_pct), 20,
      0, 100 },
};

static const char *const key_names[] = {
    "enabled", "memento_skills", "alpha_evolver", "background_evolution",
    "max_mutations_per_day", "max_skill_candidates_per_day", "llm_daily_token_cap",
    "llm_daily_cost_cap_cents", "reflection_threshold", "reflection_window",
    "reflection_window_hours", "reflection_similarity_pct", "memento_synthesis",
    "evolution_latency_ms", "evolution_tokens", "evolution_on_failure", "evolution_mutants",
    "evolution_repeats", "evolution_min_gain_pct", "evolution_noise_k", "evolution_test_inputs",
    "evolution_background_skills", "evolution_background_hours", "fitness_weight_performance",
    "fitness_weight_accuracy", "fitness_weight_cost", "fitness_weight_satisfaction",
    "fitness_penalty_email_bounce_pct", "fitness_penalty_error_signal_pct", NULL,
};

_Static_assert(AD_ARRAY_SIZE(key_names) == AD_ARRAY_SIZE(keys) + 1,
               "every key of the table has its name in documentation order");

/* The block's name inside tenants.settings. */
#define BLOCK "auto_dev"

const char *const *ad_settings_keys(void)
{
    return key_names;
}

static const struct key_def *find_key(const char *name)
{
    size_t i;

    for (i = 0; name && i < AD_ARRAY_SIZE(keys); i++) {
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    }
    return NULL;
}

static bool *bool_at(struct ad_settings *s, const struct key_def *k)
{
    return (bool *)((char *)s + k->off);
}

static int *int_at(struct ad_settings *s, const struct key_def *k)
{
    return (int *)((char *)s + k->off);
}

void ad_settings_defaults(struct ad_settings *s)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < AD_ARRAY_SIZE(keys); i++) {
        if (keys[i].type == KEY_BOOL)
            *bool_at(s, &keys[i]) = keys[i].def != 0;
        else
            *int_at(s, &keys[i]) = keys[i].def;
    }
}

static int check_int(const struct key_def *k, long long v, struct ad_err *err)
{
    if (v < k->min || v > k->max)
        return ad_error(err, AD_EINVAL, "setting '%s': %lld is out of range %d..%d", k->name, v,
                        k->min, k->max);
    return 0;
}

/*
 * The rules across keys: the fitness weights are divided by their sum
 * (fitness.h), so at least one must be above 0.
 */
static int check_rules(const struct ad_settings *s, struct ad_err *err)
{
    if (s->fitness_weight_performance + s->fitness_weight_accuracy + s->fitness_weight_cost +
        s->fitness_weight_satisfaction <= 0)
        return ad_error(err, AD_EINVAL, "setting 'fitness_weight_*': the four fitness weights "
                        "(performance, accuracy, cost, satisfaction) must not all be 0");
    return 0;
}

int ad_settings_validate(const struct ad_settings *s, struct ad_err *err)
{
    size_t i;
    int rc;

    for (i = 0; i < AD_ARRAY_SIZE(keys); i++) {
        if (keys[i].type != KEY_INT)
            continue;
        rc = check_int(&keys[i], *int_at((struct ad_settings *)s, &keys[i]), err);
        if (rc)
            return rc;
    }
    return check_rules(s, err);
}

/* The spellings a person types for a boolean; anything else is refused. */
static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    size_t i;

    for (i = 0; i < AD_ARRAY_SIZE(yes); i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return AD_EINVAL;
}

static int parse_int(const char *v, long long *out)
{
    char *end;

    /* strtoll alone would also take " 5" and "+5". */
    if (!((v[0] >= '0' && v[0] <= '9') || (v[0] == '-' && v[1] >= '0' && v[1] <= '9')))
        return AD_EINVAL;
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (*end || errno)
        return AD_EINVAL;
    return 0;
}

int ad_settings_set(struct ad_settings *s, const char *key, const char *value,
                    struct ad_err *err)
{
    const struct key_def *k = find_key(key);
    struct ad_settings tmp;
    long long n;
    bool b;

    if (!k)
        return ad_error(err, AD_EINVAL, "unknown setting '%s'", key ? key : "");
    if (!value)
        return ad_error(err, AD_EINVAL, "setting '%s': missing value", k->name);
    if (k->type == KEY_BOOL) {
        if (parse_bool(value, &b))
            return ad_error(err, AD_EINVAL, "setting '%s': expected true or false, got '%s'",
                            k->name, value);
        *bool_at(s, k) = b;
        return 0;
    }
    if (parse_int(value, &n))
        return ad_error(err, AD_EINVAL, "setting '%s': expected an integer %d..%d, got '%s'",
                        k->name, k->min, k->max, value);
    if (check_int(k, n, err))
        return AD_EINVAL;
    tmp = *s;
    *int_at(&tmp, k) = (int)n;
    if (check_rules(&tmp, err))
        return AD_EINVAL;
    *s = tmp;
    return 0;
}

static int apply_json_key(struct ad_settings *s, const struct key_def *k, const json_t *v,
                          struct ad_err *err)
{
    if (k->type == KEY_BOOL) {
        if (!json_is_boolean(v))
            return ad_error(err, AD_EINVAL, "setting '%s': expected boolean", k->name);
        *bool_at(s, k) = json_is_true(v);
        return 0;
    }
    if (!json_is_integer(v))
        return ad_error(err, AD_EINVAL, "setting '%s': expected integer %d..%d", k->name,
                        k->min, k->max);
    if (check_int(k, json_integer_value(v), err))
        return AD_EINVAL;
    *int_at(s, k) = (int)json_integer_value(v);
    return 0;
}

int ad_settings_from_json(struct ad_settings *s, const json_t *obj, struct ad_err *err)
{
    struct ad_settings tmp = *s;
    const char *name;
    json_t *v;
    int rc;

    if (!json_is_object(obj))
        return ad_error(err, AD_EINVAL, "settings: expected object");
    json_object_foreach((json_t *)obj, name, v) {
        const struct key_def *k = find_key(name);

        if (!k)
            return ad_error(err, AD_EINVAL, "unknown setting '%s'", name);
        rc = apply_json_key(&tmp, k, v, err);
        if (rc)
            return rc;
    }
    rc = check_rules(&tmp, err);
    if (rc)
        return rc;
    *s = tmp;
    return 0;
}

json_t *ad_settings_to_json(const struct ad_settings *s)
{
    json_t *o = json_object();
    size_t i;
    int bad = !o;

    for (i = 0; !bad && i < AD_ARRAY_SIZE(keys); i++) {
        const struct key_def *k = &keys[i];
        json_t *v;

        if (k->type == KEY_BOOL)
            v = json_boolean(*bool_at((struct ad_settings *)s, k));
        else
            v = json_integer(*int_at((struct ad_settings *)s, k));
        bad |= json_object_set_new(o, k->name, v);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- in the store ------------------------------------------------------- */

/*
 * The cached block when it is still current: same tenant, and no other
 * connection committed since it was read (*version gets the data version
 * now, or -1 when the backend cannot tell). A failed version read only
 * means reading the settings.
 */
static bool cached(struct ad_store *st, const char *tenant_id, int64_t *version,
                   struct ad_settings *out)
{
    struct ad_err e = AD_ERR_INIT;

    *version = -1;
    if (st->ops->data_version(st, version, &e) < 0) {
        *version = -1;
        return false;
    }
    if (!st->settings.valid || st->settings.version != *version ||
        strcmp(st->settings.tenant_id, tenant_id) != 0)
        return false;
    *out = st->settings.s;
    return true;
}

int ad_settings_get(struct ad_store *st, const char *tenant_id, struct ad_settings *out,
                    struct ad_err *err)
{
    json_t *all = NULL, *block;
    struct ad_settings s;
    int64_t version;
    int rc;

    if (!tenant_id || !ad_id_valid(tenant_id))
        return ad_error(err, AD_EINVAL, "invalid tenant id");
    if (cached(st, tenant_id, &version, out))
        return 0;
    rc = st->ops->tenants->settings_get(st, tenant_id, &all, err);
    if (rc)
        return rc;
    ad_settings_defaults(&s);
    block = json_object_get(all, BLOCK);
    if (block && !json_is_null(block)) {
        rc = ad_settings_from_json(&s, block, err);
        if (!rc)
            rc = ad_settings_validate(&s, err);
        /* Only a hand-edited database gets here: the store writes valid blocks. */
        if (rc)
            rc = ad_error(err, AD_ECORRUPT, "stored settings of tenant '%s' are invalid",
                          tenant_id);
    }
    json_decref(all);
    if (!rc)
        *out = s;
    if (!rc && version >= 0) {
        st->settings.valid = true;
        st->settings.version = version;
        snprintf(st->settings.tenant_id, sizeof(st->settings.tenant_id), "%s", tenant_id);
        st->settings.s = s;
    }
    return rc;
}

/* The whole object with the block replaced, as the compact text the row holds. */
static int merged_text(json_t *all, const struct ad_settings *s, char **text,
                       struct ad_err *err)
{
    json_t *block = ad_settings_to_json(s);

    *text = NULL;
    if (!block || json_object_set_new(all, BLOCK, block))
        return ad_error(err, AD_ENOMEM, "out of memory");
    *text = ad_json_dumps(all);    /* not json_dumps(): see ad__json_text_size */
    return *text ? 0 : ad_error(err, AD_ENOMEM, "out of memory");
}

int ad_settings_put(struct ad_store *st, const char *tenant_id, const struct ad_settings *s,
                    struct ad_err *err)
{
    json_t *all = NULL;
    char now[AD_TIME_SIZE], *text = NULL;
    int rc;

    if (!tenant_id || !ad_id_valid(tenant_id))
        return ad_error(err, AD_EINVAL, "invalid tenant id");
    if (st->flags & AD_STORE_READONLY)
        return ad_error(err, AD_EPERM, "the store is open read-only");
    /* Our own commits do not move the data version: forget the copy. */
    st->settings.valid = false;
    rc = ad_settings_validate(s, err);
    if (rc)
        return rc;
    /* Read-modify-write of the settings object, so other blocks survive. */
    rc = ad__level_begin(st, err);
    if (rc)
        return rc;
    rc = st->ops->tenants->settings_get(st, tenant_id, &all, err);
    if (!rc)
        rc = merged_text(all, s, &text, err);
    if (!rc)
        rc = st->ops->tenants->settings_put(st, tenant_id, text, ad_time_now(now), err);
    json_decref(all);
    free(text);
    return ad__level_end(st, rc, err);
}

int ad_settings_update(struct ad_store *st, const char *tenant_id, const char *key,
                       const char *value, struct ad_settings *out, struct ad_err *err)
{
    struct ad_settings s;
    int depth0 = ad_store_tx_depth(st);
    int rc = ad_store_begin(st, err);

    if (rc)
        return rc;
    rc = ad_settings_get(st, tenant_id, &s, err);
    if (!rc)
        rc = ad_settings_set(&s, key, value, err);
    if (!rc)
        rc = ad_settings_put(st, tenant_id, &s, err);
    if (!rc)
        rc = ad_store_commit(st, err);
    if (rc && ad_store_tx_depth(st) > depth0)
        ad_store_rollback(st);
    if (!rc && out)
        *out = s;
    return rc;
}
