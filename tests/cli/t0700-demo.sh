#!/bin/sh
test_description='autodev demo'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'demo runs in a throw-away home and removes it' '
    autodev demo >out 2>err &&
    grep -Eq "^autodev: memento: candidate [0-9a-f-]{36} \(extract_invoice_id\) validated: passed 3 of 3 checks$" err &&
    grep -Eq "^autodev: alpha: [1-5] of 5 mutant\(s\) won; the best \([0-9a-f-]{36}\) waits for review: " err &&
    test_line_count err 2 &&
    grep -Eq "^  demo-supervised +SUPERVISED +4 episodes, 4 succeeded, 0 failed$" out &&
    grep -q "^  trigger: latency over 20 ms; 1 alpha.mutate job queued (one per skill version)$" out &&
    test "$(grep -c "^  mutant [1-5] (" out)" = 5 &&
    grep -Eq "^  mutant [1-5] \(delete\): won: same outputs; latency " out &&
    grep -q "^  approved (as a reviewer would): word_counts 1.1.0$" out &&
    grep -Eq "^  latency of the calls on the recorded inputs, median of the repeats: parent [0-9.]+ ms, new [0-9.]+ ms \([0-9.]+x\)$" out &&
    grep -q "^  run again: word_counts 1.1.0, output identical$" out &&
    grep -Eq "^  mutation.approved +1$" out &&
    grep -Eq "^  mutation.created +5$" out &&
    grep -Eq "^  demo-agent +INTERN +42 episodes, 27 succeeded, 15 failed$" out &&
    grep -Eq "^  demo-intern +INTERN +3 episodes, 1 succeeded, 2 failed$" out &&
    grep -q "^episodes: 49 (32 succeeded, 17 failed)$" out &&
    grep -Eq "^  demo.memento +1 +2$" out &&
    grep -Eq "^  csv.parse_invoice +3 +9$" out &&
    grep -Eq "^  demo.task +3 +3$" out &&
    grep -Eq "^  task.fail +17$" out &&
    grep -Eq "^  memento.pattern +10$" out &&
    grep -Eq "^  reflection: two similar failures; queued job memento.generate [0-9a-f-]{36}$" out &&
    grep -q "^  synthesized by example (no model, no tokens): _nth(r\"INV-\\\\d+-\\\\d+\", text, 0)$" out &&
    grep -Eq "^  the synthesizer wrote candidate [0-9a-f-]{36} \(extract_invoice_id\): validated, passed 3 of 3 checks$" out &&
    grep -q "^  approved (reviewer \"demo\"): extract_invoice_id 1.0.0 is in the catalog$" out &&
    grep -q "^  the same task on a new e-mail: succeeded with extract_invoice_id, output \"INV-2025-0103\"$" out &&
    grep -Eq "^  memento.promoted +1$" out &&
    grep -Eq "^  task.success +32$" out &&
    grep -Eq "^  skill.execution +8$" out &&
    grep -Eq "^  ok +Count the words in the release notes +word_count +7$" out &&
    grep -Eq "^  FAIL Extract the invoice id from this e-mail +\(no skill\) +NoSkillError: " out &&
    test "$(grep -c "^  FAIL .*(no skill)" out)" = 3 &&
    grep -Eq "^  done +3$" out &&
    ! grep -Eq "^  queued " out &&
    grep -Eq "^  20[0-9-]+T[0-9:.]+Z +demo.memento +NoSkillError: " out &&
    grep -Eq "^  enabled +true$" out &&
    grep -q "^autoresearch loop (no model; the offline mutator over the EVOLVE block of a bundled objective.py, 10 iterations):$" out &&
    test "$(grep -c "^  kept #[0-9]* [0-9a-f]\{12\}: loss [0-9.]* -> [0-9.]*  objective.py: number: " out)" = 3 &&
    grep -q "^  kept #3 [0-9a-f]\{12\}: loss 756 -> 664  objective.py: number: 4 -> 3 at line 3$" out &&
    grep -q "^  loss before 756, after 84: 3 kept of 10 iterations$" out &&
    grep -Eq "^  research.started +1$" out &&
    grep -Eq "^  research.iteration +10$" out &&
    grep -Eq "^  research.finished +1$" out &&
    test -z "$(ls "$TMPDIR")" &&
    test ! -e "$AUTODEV_HOME"
'

test_expect_success 'demo prints the same counts every time' '
    autodev demo >out2 &&
    grep -v -E "^  20[0-9][0-9]-|^  run [0-9]: |^  mutant [0-9] |^  latency of the calls|^  kept #" out |
        grep -v -e "last seq" -e "queued job" -e "wrote candidate" >a &&
    grep -v -E "^  20[0-9][0-9]-|^  run [0-9]: |^  mutant [0-9] |^  latency of the calls|^  kept #" out2 |
        grep -v -e "last seq" -e "queued job" -e "wrote candidate" >b &&
    test_cmp a b
'

test_expect_success 'demo --keep keeps the home and prints its path' '
    autodev demo --keep >out &&
    home=$(sed -n "s/^the demo home is //p" out) &&
    test -d "$home" &&
    case "$home" in "$TMPDIR"/autodev-demo-*) ;; *) exit 1 ;; esac &&
    autodev --home "$home" agent show demo-agent --json >agent &&
    test "$(json_get "j[\"episode_count\"]" <agent)" = 42 &&
    autodev --home "$home" skill list --json >skills &&
    test "$(json_get "sorted(s[\"name\"] for s in j)" <skills)" = "[\"extract_invoice_id\", \"order_total\", \"slugify\", \"word_count\", \"word_counts\"]" &&
    autodev --home "$home" episode list --failed --kind csv.parse_invoice --json >f &&
    test "$(json_get "len(j)" <f)" = 9 &&
    rm -rf "$home"
'

test_expect_success 'demo --json prints one document' '
    autodev demo --json >out &&
    test_line_count out 1 &&
    test "$(json_get "j[\"episodes\"][\"total\"]" <out)" = 49 &&
    test "$(json_get "j[\"events\"][\"by_topic\"][\"task.fail\"]" <out)" = 17 &&
    test "$(json_get "j[\"memento\"][\"agent\"]" <out)" = demo-intern &&
    test "$(json_get "len(j[\"memento\"][\"failures\"])" <out)" = 2 &&
    test "$(json_get "j[\"memento\"][\"llm\"]" <out)" = null &&
    test "$(json_get "j[\"memento\"][\"candidate\"][\"proposer\"]" <out)" = synth &&
    test "$(json_get "j[\"memento\"][\"candidate\"][\"status\"]" <out)" = validated &&
    test "$(json_get "j[\"memento\"][\"retry\"][\"output\"]" <out)" = INV-2025-0103 &&
    test "$(json_get "len(j[\"tasks\"])" <out)" = 6 &&
    test "$(json_get "[t[\"success\"] for t in j[\"tasks\"]]" <out)" = "[true, true, true, false, false, false]" &&
    test "$(json_get "j[\"jobs\"][\"by_status\"][\"done\"]" <out)" = 3 &&
    test "$(json_get "len(j[\"alpha\"][\"runs\"])" <out)" = 3 &&
    test "$(json_get "len(j[\"alpha\"][\"mutants\"])" <out)" = 5 &&
    test "$(json_get "j[\"alpha\"][\"approved\"][\"semver\"]" <out)" = 1.1.0 &&
    test "$(json_get "j[\"alpha\"][\"after\"][\"same_output\"]" <out)" = true &&
    test "$(json_get "j[\"alpha\"][\"approved\"][\"mutant_us\"] < j[\"alpha\"][\"approved\"][\"parent_us\"]" <out)" = true &&
    test "$(json_get "j[\"kept\"]" <out)" = false &&
    test "$(json_get "j[\"research\"][\"baseline\"]" <out)" = 756.0 &&
    test "$(json_get "j[\"research\"][\"best\"]" <out)" = 84.0 &&
    test "$(json_get "[k[\"seq\"] for k in j[\"research\"][\"kept\"]]" <out)" = "[3, 6, 10]" &&
    test "$(json_get "j[\"research\"][\"stopped_by\"]" <out)" = iterations &&
    test -z "$(ls "$TMPDIR")"
'

test_expect_success 'demo --home uses that home and keeps it' '
    autodev --home "$TRASH/mine" demo >out &&
    test -f "$TRASH/mine/autodev.db" &&
    grep -q "the demo home is $TRASH/mine" out &&
    autodev --home "$TRASH/mine" demo >out &&
    grep -q "^episodes: 97 (67 succeeded, 30 failed)$" out &&
    grep -q "^  trigger: latency over 20 ms; 1 alpha.mutate job queued (one per skill version)$" out &&
    grep -q "^  try 1: Extract the invoice id from this e-mail  ok$" out &&
    grep -q "^  loss before 756, after 84: 3 kept of 10 iterations$" out &&
    grep -Eq "^  failed +5$" out
'

test_expect_success 'demo ignores AUTODEV_DB for its throw-away home' '
    AUTODEV_DB="$TRASH/elsewhere.db" && export AUTODEV_DB &&
    autodev demo >out &&
    test ! -e "$TRASH/elsewhere.db"
'

test_done
