#!/bin/sh
test_description='settings show and set'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup' '
    autodev init >/dev/null
'

test_expect_success 'settings show lists every key with its default' '
    autodev settings show >out &&
    printf "%-30s %s\n" KEY VALUE enabled false memento_skills true alpha_evolver true \
        background_evolution false max_mutations_per_day 10 \
        max_skill_candidates_per_day 5 llm_daily_token_cap 0 \
        llm_daily_cost_cap_cents 0 reflection_threshold 2 reflection_window 20 \
        reflection_window_hours 24 reflection_similarity_pct 50 \
        memento_synthesis true evolution_latency_ms 5000 evolution_tokens 5000 \
        evolution_on_failure true evolution_mutants 4 evolution_repeats 5 \
        evolution_min_gain_pct 10 evolution_noise_k 3 evolution_test_inputs 20 \
        evolution_background_skills 3 evolution_background_hours 24 \
        fitness_weight_performance 30 fitness_weight_accuracy 40 fitness_weight_cost 20 \
        fitness_weight_satisfaction 10 fitness_penalty_email_bounce_pct 20 \
        fitness_penalty_error_signal_pct 20 >expect &&
    test_cmp expect out
'

test_expect_success 'settings show --json' '
    autodev settings show --json >out &&
    test "$(json_get "j[\"enabled\"]" <out)" = false &&
    test "$(json_get "j[\"max_mutations_per_day\"]" <out)" = 10
'

test_expect_success 'settings set stores a value' '
    autodev settings set enabled true >out &&
    grep -q "^enabled = true$" out &&
    autodev settings set max_mutations_per_day 50 >/dev/null &&
    autodev settings show --json >out &&
    test "$(json_get "j[\"enabled\"]" <out)" = true &&
    test "$(json_get "j[\"max_mutations_per_day\"]" <out)" = 50 &&
    test "$(json_get "j[\"memento_skills\"]" <out)" = true
'

# refused KEY VALUE PATTERN: exit 2, one line matching PATTERN, nothing changed.
refused() {
    autodev settings show --json >before &&
    test_expect_code 2 autodev settings set "$1" "$2" >out 2>err &&
    test_one_error err "$3" &&
    test ! -s out &&
    autodev settings show --json >after &&
    test_cmp before after
}

test_expect_success 'an out-of-range value exits 2 naming the key' '
    refused max_mutations_per_day 51 "max_mutations_per_day" &&
    refused max_mutations_per_day 0 "max_mutations_per_day" &&
    refused max_skill_candidates_per_day 21 "max_skill_candidates_per_day"
'

test_expect_success 'a value of the wrong type exits 2 naming the key' '
    refused enabled maybe "enabled" &&
    refused max_mutations_per_day ten "max_mutations_per_day"
'

test_expect_success 'an unknown key exits 2 naming it' '
    refused turbo true "turbo"
'

test_expect_success 'the fitness weights may not all be 0' '
    autodev settings set fitness_weight_performance 0 >/dev/null &&
    autodev settings set fitness_weight_accuracy 0 >/dev/null &&
    autodev settings set fitness_weight_cost 0 >/dev/null &&
    refused fitness_weight_satisfaction 0 "fitness weights" &&
    autodev settings set fitness_weight_accuracy 40 >/dev/null &&
    autodev settings set fitness_weight_satisfaction 0 >out &&
    grep -q "^fitness_weight_satisfaction = 0$" out
'

test_expect_success 'settings set needs a key and a value' '
    test_expect_code 2 autodev settings set enabled 2>err &&
    test_one_error err "usage"
'

test_expect_success 'settings belong to one tenant' '
    autodev --tenant other settings set enabled false >/dev/null &&
    autodev --tenant other settings show --json >o &&
    test "$(json_get "j[\"max_mutations_per_day\"]" <o)" = 10 &&
    autodev settings show --json >d &&
    test "$(json_get "j[\"max_mutations_per_day\"]" <d)" = 50
'

test_expect_success 'settings show of an unknown tenant exits 2' '
    test_expect_code 2 autodev --tenant nobody settings show 2>err &&
    test_one_error err "unknown tenant .nobody."
'

test_done
