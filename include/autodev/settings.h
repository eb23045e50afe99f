/*
 * Workspace settings: the "auto_dev" block of each tenant.
 *
 *   enabled                       bool  default false  master toggle
 *   memento_skills                bool  default true   needs INTERN
 *   alpha_evolver                 bool  default true   needs SUPERVISED
 *   background_evolution          bool  default false  needs AUTONOMOUS
 *   max_mutations_per_day         int   default 10     1..50
 *   max_skill_candidates_per_day  int   default 5      1..20
 *   llm_daily_token_cap           int   default 0      0..1e9   LLM tokens a day, 0: no cap
 *   llm_daily_cost_cap_cents      int   default 0      0..1e8   LLM spend a day in US cents, 0: no cap
 *   reflection_threshold          int   default 2      2..50    similar failures that make a pattern
 *   reflection_window             int   default 20     2..1000  an agent's recent failures compared
 *   reflection_window_hours       int   default 24     1..720   ... and how far back they go
 *   reflection_similarity_pct     int   default 50     1..100   word-shingle Jaccard, in percent
 *   memento_synthesis             bool  default true   try synthesis by example before a model
 *   evolution_latency_ms          int   default 5000   1..3600000  a slower skill run triggers evolution
 *   evolution_tokens              int   default 5000   1..1e9   ... one using more tokens
 *   evolution_on_failure          bool  default true   ... a failed one
 *   evolution_mutants             int   default 4      1..16    mutants proposed per job
 *   evolution_repeats             int   default 5      3..50    runs of parent and mutant per input
 *   evolution_min_gain_pct        int   default 10     1..90    the least gain of a winner, percent
 *   evolution_noise_k             int   default 3      1..10    ... and k x the noise (MAD)
 *   evolution_test_inputs         int   default 20     1..200   recorded inputs a mutant is judged on
 *   evolution_background_skills   int   default 3      1..20    most-used skills per AUTONOMOUS
 *                                                               agent per background run
 *   evolution_background_hours    int   default 24     1..720   period of the background schedule
 *   fitness_weight_performance    int   default 30     0..100   multi-objective weights, percent;
 *   fitness_weight_accuracy       int   default 40     0..100     not all 0 (they are divided by
 *   fitness_weight_cost           int   default 20     0..100     their sum)
 *   fitness_weight_satisfaction   int   default 10     0..100
 *   fitness_penalty_email_bounce_pct  int  default 20  0..100   what a delayed email_bounce costs
 *   fitness_penalty_error_signal_pct  int  default 20  0..100   ... and an error_signal
 *
 * Every write is validated; an invalid value is refused with a message that
 * names the key and the allowed range (or the rule broken), and nothing is
 * stored.
 */
#ifndef AUTODEV_SETTINGS_H
#define AUTODEV_SETTINGS_H

/* Module store, layer 1: a module of a lower layer may not include this header. */
#if defined(AD_LAYER) && AD_LAYER < 1
#error "autodev/settings.h belongs to module store (layer 1), above the module including it"
#endif

#include <jansson.h>
#include <stdbool.h>

#include "autodev/error.h"

struct ad_store;

struct ad_settings {
    bool enabled;
    bool memento_skills;
    bool alpha_evolver;
    bool background_evolution;
    int max_mutations_per_day;
    int max_skill_candidates_per_day;
    int llm_daily_token_cap;        /* 0: none */
    int llm_daily_cost_cap_cents;   /* 0: none */
    int reflection_threshold;
    int reflection_window;
    int reflection_window_hours;
    int reflection_similarity_pct;
    bool memento_synthesis;
    int evolution_latency_ms;
    int evolution_tokens;
    bool evolution_on_failure;
    int evolution_mutants;
    int evolution_repeats;
    int evolution_min_gain_pct;
    int evolution_noise_k;
    int evolution_test_inputs;
    int evolution_background_skills;
    int evolution_background_hours;
    int fitness_weight_performance;     /* percent */
    int fitness_weight_accuracy;
    int fitness_weight_cost;
    int fitness_weight_satisfaction;
    int fitness_penalty_email_bounce_pct;
    int fitness_penalty_error_signal_pct;
};

void ad_settings_defaults(struct ad_settings *s);
/* Checks ranges and the rules across keys. 0 or AD_EINVAL naming the key. */
int ad_settings_validate(const struct ad_settings *s, struct ad_err *err);
/*
 * Sets one key from its text form ("true"/"false", a decimal integer), as
 * typed on a command line. Unknown key or bad value (one that breaks a
 * rule across keys included): AD_EINVAL, *s unchanged.
 */
int ad_settings_set(struct ad_settings *s, const char *key, const char *value,
                    struct ad_err *err);
/*
 * Applies the keys present in obj over *s (missing keys keep their value).
 * Unknown keys, wrong types, out-of-range values and a result that breaks a
 * rule across keys: AD_EINVAL, *s unchanged.
 */
int ad_settings_from_json(struct ad_settings *s, const json_t *obj, struct ad_err *err);
/* New reference to {"enabled": ..., ...}; NULL on allocation failure. */
json_t *ad_settings_to_json(const struct ad_settings *s);
/* NULL-terminated list of the key names, in documentation order. */
const char *const *ad_settings_keys(void);

/*
 * The store's own API for the workspace settings (module store: the
 * settings live in the tenants row), read and written by every module and
 * face through these calls.
 */

/* A tenant's settings; defaults for keys never written. */
int ad_settings_get(struct ad_store *st, const char *tenant_id, struct ad_settings *out,
                    struct ad_err *err);
/* Validates, then stores the whole block. */
int ad_settings_put(struct ad_store *st, const char *tenant_id, const struct ad_settings *s,
                    struct ad_err *err);
/*
 * Sets one key (text form, as ad_settings_set) in the tenant's stored
 * settings: read, change and write in one transaction, so two updates of
 * different keys at once both land. *out (may be NULL) gets the result.
 * A bad key or value is AD_EINVAL and nothing is written.
 */
int ad_settings_update(struct ad_store *st, const char *tenant_id, const char *key,
                       const char *value, struct ad_settings *out, struct ad_err *err);

#endif
