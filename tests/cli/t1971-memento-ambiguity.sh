#!/bin/sh
test_description='Memento: a synthesized candidate that is ambiguous says so in review'
. "$(dirname "$0")/test-lib.sh"

unset AUTODEV_LLM OPENAI_API_KEY ANTHROPIC_API_KEY

TASK="Get the first name of this person"

# fail_name AGENT I: the agent fails the task on name I (1 or 2), no skill covering it.
fail_name() {
    case $2 in
    1) in='{"text": "John Smith"}' want='"John"' ;;
    *) in='{"text": "Mary Jones"}' want='"Mary"' ;;
    esac
    test_expect_code 1 autodev task run --agent "$1" --description "$TASK" --input "$in" \
        --expect "$want" >/dev/null 2>&1
}

# done_name AGENT NAME OUT: the agent did the task on NAME, answering OUT.
done_name() {
    echo "{\"agent\": \"$1\", \"task_description\": \"$TASK\", \"success\": true,
           \"input\": {\"text\": \"$2\"}, \"output\": \"$3\"}" | autodev episode add >/dev/null
}

cand() {
    autodev candidates list --agent "$1" --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/cid" &&
    autodev candidates show "$(cat "$TRASH/cid")" --json | json_get "$2"
}

test_expect_success 'setup: auto-dev on, synthesis on, no model' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set max_skill_candidates_per_day 20 >/dev/null &&
    autodev settings set memento_synthesis true >/dev/null
'

test_expect_success 'another recorded input splits two programs: the candidate says it is ambiguous' '
    autodev agent add amb --maturity INTERN >/dev/null &&
    done_name amb "Ann-Marie Lee" "Ann" &&
    fail_name amb 1 && fail_name amb 2 &&
    autodev jobs run --until-idle 2>err &&
    test "$(cand amb "j[\"status\"]")" = validated &&
    test "$(cand amb "j[\"failure_pattern\"][\"proposer\"]")" = synth &&
    test "$(cand amb "j[\"failure_pattern\"][\"synth_ambiguity\"][\"input\"][\"text\"]")" = "Ann-Marie Lee" &&
    test "$(cand amb "j[\"failure_pattern\"][\"synth_ambiguity\"][\"answer\"]")" = Ann &&
    cand amb "j[\"failure_pattern\"][\"synth_ambiguity\"][\"answers\"]" >answers &&
    grep -q "Ann-Marie" answers &&
    cand amb "[w for w in j[\"validation_result\"][\"warnings\"] if w.startswith(\"ambiguous\")][0]" >w &&
    grep -q "on {\"text\":\"Ann-Marie Lee\"} it answers \"Ann-Marie\" where this answers \"Ann\"" w &&
    autodev candidates show "$(cat "$TRASH/cid")" >out &&
    grep -q "^  caution ambiguous: .* fits the examples as well as" out &&
    autodev notifications --type skill_candidate_validated --json >n &&
    json_get "j[0][\"message\"]" <n | grep -q "ambiguous: .*Ann-Marie Lee"
'

test_expect_success 'no recorded input that splits them: no ambiguity caution' '
    autodev agent add plain --maturity INTERN >/dev/null &&
    done_name plain "Bob Stone" "Bob" &&
    fail_name plain 1 && fail_name plain 2 &&
    autodev jobs run --until-idle 2>err &&
    test "$(cand plain "j[\"status\"]")" = validated &&
    test "$(cand plain "j[\"failure_pattern\"].get(\"synth_ambiguity\")")" = null &&
    autodev candidates show "$(cat "$TRASH/cid")" >out &&
    ! grep -q "ambiguous" out
'

test_done
