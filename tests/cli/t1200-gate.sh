#!/bin/sh
test_description='gate check, readiness and graduation, notifications, candidate review'
. "$(dirname "$0")/test-lib.sh"

# reasons FILE: the reason lines ("  - ...") of a gate check's output.
reasons() {
    grep -c "^  - " "$1"
}

# today's 00:00 UTC as the gate writes it.
day_start() {
    /usr/bin/python3 -c 'import datetime
print(datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT00:00:00.000Z"))'
}

# episodes AGENT N INTERVENTION SCORE: records N successful episodes.
episodes() {
    i=0
    while [ "$i" -lt "$2" ]; do
        i=$((i + 1))
        echo "{\"agent\": \"$1\", \"task_description\": \"chore $i\", \"success\": true," \
             "\"intervention\": $3, \"constitutional_score\": $4}"
    done | autodev episode add --batch >/dev/null
}

# unlocks AGENT: the capabilities of AGENT's unlock notifications, sorted, one a line.
unlocks() {
    autodev notifications --type auto_dev_capability_unlocked --json |
        /usr/bin/python3 -c 'import json, sys
caps = [n["payload"]["capability"] for n in json.load(sys.stdin)
        if n["agent"] == sys.argv[1]]
print("\n".join(sorted(caps)))' "$1"
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add stu >/dev/null &&
    autodev agent add ian --maturity INTERN >/dev/null &&
    autodev agent add sue --maturity SUPERVISED >/dev/null &&
    autodev agent add ada --maturity AUTONOMOUS >/dev/null &&
    autodev settings set enabled true >/dev/null
'

# ---- gate check --------------------------------------------------------------

test_expect_success 'a STUDENT is denied memento_skills for its maturity alone' '
    test_expect_code 1 autodev gate check stu memento_skills >out 2>err &&
    test ! -s err &&
    test "$(head -n1 out)" = denied &&
    test "$(reasons out)" = 1 &&
    grep "^  - " out | grep -q "STUDENT" &&
    grep "^  - " out | grep -q "INTERN" &&
    test "$(tail -n1 out)" = "maturity STUDENT; auto_dev.memento_skills needs INTERN+; daily limit 0 of 5 since $(day_start)" &&
    test_line_count out 3
'

test_expect_success 'an INTERN is allowed memento_skills once the workspace is enabled' '
    autodev gate check ian memento_skills >out &&
    test "$(head -n1 out)" = allowed &&
    test "$(reasons out)" = 0 &&
    test "$(tail -n1 out)" = "maturity INTERN; auto_dev.memento_skills needs INTERN+; daily limit 0 of 5 since $(day_start)" &&
    autodev gate check ian auto_dev.memento_skills >out2 &&
    test_cmp out out2
'

test_expect_success 'the master toggle off denies, naming the setting enabled' '
    autodev settings set enabled false >/dev/null &&
    test_expect_code 1 autodev gate check ian memento_skills >out &&
    autodev settings set enabled true >/dev/null &&
    test "$(head -n1 out)" = denied &&
    test "$(reasons out)" = 1 &&
    grep "^  - " out | grep -q "setting enabled is false" &&
    autodev gate check ian memento_skills >/dev/null
'

test_expect_success 'memento_skills off denies, naming the toggle' '
    autodev settings set memento_skills false >/dev/null &&
    test_expect_code 1 autodev gate check ian memento_skills >out &&
    autodev settings set memento_skills true >/dev/null &&
    test "$(reasons out)" = 1 &&
    grep "^  - " out | grep -q "setting memento_skills is false" &&
    ! grep -q "setting enabled" out
'

test_expect_success 'every unmet condition is listed together' '
    autodev settings set enabled false >/dev/null &&
    autodev settings set memento_skills false >/dev/null &&
    test_expect_code 1 autodev gate check stu memento_skills >out &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set memento_skills true >/dev/null &&
    test "$(head -n1 out)" = denied &&
    test "$(reasons out)" = 3 &&
    grep "^  - " out | grep -q "setting enabled is false" &&
    grep "^  - " out | grep -q "setting memento_skills is false" &&
    grep "^  - " out | grep -q "STUDENT" &&
    test_line_count out 5
'

test_expect_success 'alpha_evolver needs SUPERVISED: denied to an INTERN, allowed to a SUPERVISED' '
    test_expect_code 1 autodev gate check ian alpha_evolver >out &&
    test "$(reasons out)" = 1 &&
    grep "^  - " out | grep -q "INTERN" &&
    grep "^  - " out | grep -q "SUPERVISED" &&
    test "$(tail -n1 out)" = "maturity INTERN; auto_dev.alpha_evolver needs SUPERVISED+; daily limit 0 of 10 since $(day_start)" &&
    autodev gate check sue auto_dev.alpha_evolver >out &&
    test "$(head -n1 out)" = allowed &&
    autodev gate check ada alpha_evolver >/dev/null
'

test_expect_success 'background_evolution needs AUTONOMOUS and its own toggle (off by default)' '
    test_expect_code 1 autodev gate check ada background_evolution >out &&
    test "$(reasons out)" = 1 &&
    grep "^  - " out | grep -q "setting background_evolution is false" &&
    test_expect_code 1 autodev gate check sue background_evolution >out &&
    test "$(reasons out)" = 2 &&
    grep "^  - " out | grep -q "AUTONOMOUS" &&
    autodev settings set background_evolution true >/dev/null &&
    autodev gate check ada background_evolution >out &&
    test "$(head -n1 out)" = allowed &&
    test_expect_code 1 autodev gate check sue background_evolution >out &&
    test "$(reasons out)" = 1 &&
    autodev settings set background_evolution false >/dev/null
'

test_expect_success 'gate check --json prints the decision as one object' '
    autodev settings set max_skill_candidates_per_day 3 >/dev/null &&
    test_expect_code 1 autodev gate check stu memento_skills --json >out &&
    test_line_count out 1 &&
    test "$(json_get "j[\"agent\"]" <out)" = stu &&
    test "$(json_get "j[\"capability\"]" <out)" = auto_dev.memento_skills &&
    test "$(json_get "j[\"allowed\"]" <out)" = false &&
    test "$(json_get "len(j[\"reasons\"])" <out)" = 1 &&
    json_get "j[\"reasons\"][0]" <out | grep -q STUDENT &&
    test "$(json_get "j[\"maturity\"]" <out)" = STUDENT &&
    test "$(json_get "j[\"required_maturity\"]" <out)" = INTERN &&
    test "$(json_get "j[\"used_today\"]" <out)" = 0 &&
    test "$(json_get "j[\"daily_limit\"]" <out)" = 3 &&
    test "$(json_get "j[\"day_start\"]" <out)" = "$(day_start)" &&
    autodev gate check sue alpha_evolver --json >out &&
    test "$(json_get "j[\"allowed\"]" <out)" = true &&
    test "$(json_get "j[\"reasons\"]" <out)" = "[]" &&
    test "$(json_get "j[\"required_maturity\"]" <out)" = SUPERVISED &&
    test "$(json_get "j[\"daily_limit\"]" <out)" = 10 &&
    autodev settings set max_skill_candidates_per_day 5 >/dev/null
'

test_expect_success 'gate check refuses an unknown capability or agent with exit 2' '
    test_expect_code 2 autodev gate check ian memento >out 2>err &&
    test_one_error err "unknown capability .memento." &&
    test ! -s out &&
    test_expect_code 2 autodev gate check ian auto_dev.nothing 2>err &&
    test_one_error err "unknown capability" &&
    test_expect_code 2 autodev gate check nobody memento_skills 2>err &&
    test_one_error err "unknown agent .nobody." &&
    test_expect_code 2 autodev gate check ian 2>err &&
    test_one_error err "usage" &&
    test_expect_code 2 autodev gate frobnicate 2>err &&
    test_one_error err "unknown gate subcommand"
'

# ---- readiness and graduation ----------------------------------------------

test_expect_success 'a new agent has readiness 0 and every gap' '
    autodev agent add eve >/dev/null &&
    autodev agent readiness eve >out &&
    grep -Eq "^maturity +STUDENT -> INTERN$" out &&
    grep -Eq "^readiness +0\.0% \(not ready\)$" out &&
    grep -Eq "^episodes +0 +>= 10 +no +0\.000 +0\.40 +10 more episodes \(0 of 10\)$" out &&
    grep -Eq "^intervention_rate +- +< 50% +no +0\.000 +0\.30 +no episodes yet" out &&
    grep -Eq "^constitutional +- +> 0\.70 +no +0\.000 +0\.30 +no episode has a constitutional score" out &&
    autodev agent readiness eve --json >out &&
    test "$(json_get "j[\"score\"]" <out)" = 0.0 &&
    test "$(json_get "j[\"ready\"]" <out)" = false &&
    test "$(json_get "j[\"next\"]" <out)" = INTERN &&
    test "$(json_get "[c[\"met\"] for c in j[\"criteria\"]]" <out)" = "[false, false, false]" &&
    test "$(json_get "[c[\"gap\"] is not None for c in j[\"criteria\"]]" <out)" = "[true, true, true]"
'

test_expect_success 'readiness weighs episodes 0.4, interventions 0.3, constitutional 0.3' '
    episodes eve 5 true 0.35 &&
    episodes eve 1 false 0.35 &&
    autodev agent readiness eve --json >out &&
    test "$(json_get "j[\"episodes\"]" <out)" = 6 &&
    test "$(json_get "j[\"interventions\"]" <out)" = 5 &&
    test "$(json_get "round(j[\"score\"], 4)" <out)" = 0.49 &&
    autodev agent readiness eve >out &&
    grep -Eq "^readiness +49\.0% \(not ready\)$" out &&
    grep -Eq "^episodes +6 +>= 10 +no +0\.600 +0\.40 +4 more episodes \(6 of 10\)$" out &&
    grep -Eq "^intervention_rate +83\.3% +< 50% +no +0\.333 +0\.30 +intervention rate 83\.3% must fall below 50%$" out &&
    grep -Eq "^constitutional +0\.350 +> 0\.70 +no +0\.500 +0\.30 +constitutional score 0\.350 must exceed 0\.70$" out
'

test_expect_success 'graduate refuses an agent that is not ready, naming every gap' '
    episodes eve 4 false 1.0 &&
    autodev agent readiness eve >out &&
    grep -Eq "^readiness +96\.1% \(not ready\)$" out &&
    grep -Eq "^episodes +10 +>= 10 +yes +1\.000 +0\.40 +-$" out &&
    grep -Eq "^intervention_rate +50\.0% +< 50% +no +1\.000" out &&
    test_expect_code 1 autodev agent graduate eve >out 2>err &&
    test ! -s out &&
    test_one_error err "agent eve is not ready for INTERN: intervention rate 50\.0% must fall below 50%; constitutional score 0\.610 must exceed 0\.70$" &&
    autodev agent show eve --json >show &&
    test "$(json_get "j[\"maturity\"]" <show)" = STUDENT &&
    test "$(autodev notifications --json | json_get "len(j)")" = 0
'

test_expect_success 'graduate promotes STUDENT -> INTERN and notifies the memento_skills unlock' '
    episodes eve 4 false 1.0 &&
    autodev agent readiness eve >out &&
    grep -Eq "^readiness +100\.0% \(ready" out &&
    autodev agent graduate eve >out &&
    test "$(head -n1 out)" = "agent eve: STUDENT -> INTERN (readiness 100.0%)" &&
    grep -q "^unlocked 1 capability: auto_dev.memento_skills" out &&
    autodev agent show eve --json >show &&
    test "$(json_get "j[\"maturity\"]" <show)" = INTERN &&
    eve_id=$(json_get "j[\"id\"]" <show) &&
    autodev notifications --json >notes &&
    test "$(json_get "len(j)" <notes)" = 1 &&
    test "$(json_get "j[0][\"type\"]" <notes)" = auto_dev_capability_unlocked &&
    test "$(json_get "j[0][\"agent\"]" <notes)" = eve &&
    test "$(json_get "j[0][\"read\"]" <notes)" = false &&
    test "$(json_get "j[0][\"payload\"][\"agent_id\"]" <notes)" = "$eve_id" &&
    test "$(json_get "j[0][\"payload\"][\"capability\"]" <notes)" = auto_dev.memento_skills &&
    test "$(json_get "j[0][\"payload\"][\"action_required\"]" <notes)" = false &&
    json_get "j[0][\"payload\"][\"message\"]" <notes | grep -q "eve" &&
    autodev events tail --topic agent.maturity --json >ev &&
    test_line_count ev 1 &&
    json_get "j[\"payload\"][\"reason\"]" <ev | grep -q "readiness 100.0%"
'

test_expect_success 'graduate again without enough episodes exits 1 with the SUPERVISED gaps' '
    test_expect_code 1 autodev agent graduate eve >out 2>err &&
    test ! -s out &&
    test_one_error err "agent eve is not ready for SUPERVISED: 11 more episodes \(14 of 25\)" &&
    autodev agent show eve --json >show &&
    test "$(json_get "j[\"maturity\"]" <show)" = INTERN &&
    autodev agent readiness eve >out &&
    grep -Eq "^maturity +INTERN -> SUPERVISED$" out &&
    grep -Eq "^episodes +14 +>= 25 +no" out
'

test_expect_success 'an unlock with the capability switched off says what to enable' '
    autodev settings set enabled false >/dev/null &&
    autodev agent set-maturity eve SUPERVISED >out &&
    autodev settings set enabled true >/dev/null &&
    test "$(cat out)" = "agent eve: INTERN -> SUPERVISED (1 capability unlocked; see autodev notifications)" &&
    autodev notifications --json >notes &&
    test "$(json_get "len(j)" <notes)" = 2 &&
    json_get "j[0]" <notes >newest &&
    test "$(json_get "j[\"payload\"][\"capability\"]" <newest)" = auto_dev.alpha_evolver &&
    test "$(json_get "j[\"payload\"][\"action_required\"]" <newest)" = true &&
    json_get "j[\"message\"]" <newest | grep -q "autodev settings set enabled true" &&
    json_get "j[\"message\"]" <newest >msg &&
    grep -q "has graduated to use AlphaEvolver. Enable it to activate" msg &&
    ! grep -q "active" msg &&
    test "$(unlocks eve | tr "\n" " ")" = "auto_dev.alpha_evolver auto_dev.memento_skills "
'

test_expect_success 'set-maturity down unlocks nothing; a jump up unlocks every level passed' '
    autodev agent set-maturity eve STUDENT >out &&
    test "$(cat out)" = "agent eve: SUPERVISED -> STUDENT" &&
    test "$(autodev notifications --json | json_get "len(j)")" = 2 &&
    autodev agent set-maturity eve AUTONOMOUS --json >out &&
    test "$(json_get "j[\"maturity\"]" <out)" = AUTONOMOUS &&
    test "$(json_get "j[\"capabilities_unlocked\"]" <out)" = 3 &&
    test "$(autodev notifications --json | json_get "len(j)")" = 5 &&
    test "$(autodev notifications --type auto_dev_capability_unlocked --json | json_get "len(j)")" = 5 &&
    test_expect_code 1 autodev agent graduate eve 2>err &&
    test_one_error err "agent eve is already AUTONOMOUS, the top level"
'

test_expect_success 'agent readiness and graduate refuse bad input with exit 2' '
    test_expect_code 2 autodev agent readiness nobody 2>err &&
    test_one_error err "unknown agent .nobody." &&
    test_expect_code 2 autodev agent graduate 2>err &&
    test_one_error err "usage"
'

# ---- notifications ------------------------------------------------------------

test_expect_success 'notifications lists newest first with the message indented' '
    autodev notifications >out &&
    test "$(grep -c "^    " out)" = 5 &&
    test "$(grep -vc "^    " out)" = 6 &&
    head -n1 out | grep -Eq "^ID +CREATED +READ +TYPE +AGENT +TITLE$" &&
    sed -n 2p out | grep -Eq "^[0-9a-f-]{36}  [0-9T:.Z-]+  new   auto_dev_capability_unlocked  eve  [A-Za-z -]+ unlocked for eve$" &&
    autodev notifications list --limit 2 >out2 &&
    test_line_count out2 5 &&
    test "$(autodev notifications --type skill_candidate_failed | wc -l)" = 0
'

test_expect_success 'notifications read ID marks one; read --all marks the rest' '
    id=$(autodev notifications --json --limit 1 | json_get "j[0][\"id\"]") &&
    autodev notifications read "$id" >out &&
    test "$(cat out)" = "marked 1 notification read" &&
    test "$(autodev notifications --unread --json | json_get "len(j)")" = 4 &&
    autodev notifications read "$id" >out &&
    test "$(cat out)" = "marked 0 notifications read" &&
    autodev notifications read --all >out &&
    test "$(cat out)" = "marked 4 notifications read" &&
    autodev notifications --unread >out &&
    test ! -s out &&
    autodev notifications --json >out &&
    test "$(json_get "len([n for n in j if n[\"read\"]])" <out)" = 5 &&
    test "$(json_get "any(not n[\"read\"] for n in j)" <out)" = false &&
    autodev notifications read --all --json >out &&
    test "$(json_get "j[\"marked\"]" <out)" = 0
'

test_expect_success 'notifications refuse bad input with exit 2' '
    test_expect_code 2 autodev notifications read 2>err &&
    test_one_error err "usage" &&
    test_expect_code 2 autodev notifications read nope 2>err &&
    test_one_error err "invalid notification id .nope." &&
    test_expect_code 2 autodev notifications read 00000000-0000-7000-8000-000000000000 2>err &&
    test_one_error err "unknown notification" &&
    test_expect_code 2 autodev notifications --type "Bad Type" 2>err &&
    test_one_error err "invalid type" &&
    test_expect_code 2 autodev notifications --limit 0 2>err &&
    test_one_error err "invalid --limit"
'

# ---- candidates ---------------------------------------------------------------

test_expect_success 'candidates list on an empty store prints nothing' '
    autodev candidates list >out &&
    test ! -s out &&
    autodev candidates list --json >out &&
    test "$(cat out)" = "[]"
'

test_expect_success 'candidates refuse unknown ids and bad options with exit 2' '
    test_expect_code 2 autodev candidates show 00000000-0000-7000-8000-000000000000 >out 2>err &&
    test_one_error err "no candidate .00000000-0000-7000-8000-000000000000." &&
    test ! -s out &&
    test_expect_code 2 autodev candidates show nope 2>err &&
    test_one_error err "no candidate .nope." &&
    test_expect_code 2 autodev candidates approve 00000000-0000-7000-8000-000000000000 2>err &&
    test_one_error err "no candidate" &&
    test_expect_code 2 autodev candidates reject 00000000-0000-7000-8000-000000000000 2>err &&
    test_one_error err "needs --reason" &&
    test_expect_code 2 autodev candidates list --status great 2>err &&
    test_one_error err "invalid status .great." &&
    test_expect_code 2 autodev candidates list --agent nobody 2>err &&
    test_one_error err "unknown agent .nobody."
'

# A model: the exec provider runs this with the prompt on standard input.
# Invoices get a working function; temperatures one that always raises.
cat >model.sh <<'SH'
#!/bin/sh
prompt=$(cat)
case $prompt in
*celsius*)
    printf '%s\n' '```python' 'def celsius_to_fahrenheit(c: float) -> float:' \
        '    """Convert a temperature."""' '    raise RuntimeError("not written yet")' '```'
    ;;
*)
    printf '%s\n' 'Here it is:' '```python' 'import re' '' \
        'def extract_invoice_id(text: str) -> str:' \
        '    """Extract the invoice id from a text."""' \
        '    m = re.search(r"INV-[0-9]+", text)' '    if not m:' \
        '        raise ValueError("no invoice id in text")' '    return m.group(0)' '```'
    ;;
esac
SH
chmod +x model.sh

# fail AGENT TASK INPUT EXPECTED: records one failed episode with a ValueError.
fail() {
    printf '{"agent": "%s", "task_description": "%s", "success": false, "input": %s, ' \
        "$1" "$2" "$3" >episode.json &&
    printf '"expected": %s, "error_trace": "%s"}\n' "$4" \
        'Traceback (most recent call last):\nValueError: no skill for this' >>episode.json &&
    autodev episode add --file episode.json >/dev/null
}

# The exec model writes these candidates: synthesis by example is off here
# (t1210 and t1220 test it).
test_expect_success 'two similar failures of an INTERN become a validated candidate' '
    autodev settings set memento_synthesis false >/dev/null &&
    fail ian "extract the invoice id from the email" "{\"text\": \"Invoice INV-41 due\"}" "\"INV-41\"" &&
    fail ian "extract the invoice id from the email" "{\"text\": \"Invoice INV-42 due\"}" "\"INV-42\"" &&
    AUTODEV_LLM="exec:$TRASH/model.sh" autodev jobs run --until-idle >/dev/null 2>&1 &&
    autodev candidates list >out &&
    test_line_count out 2 &&
    head -n1 out | grep -Eq "^ID +STATUS +REVIEW +SKILL +AGENT +CREATED$" &&
    grep -Eq "^[0-9a-f-]{36}  validated +pending +extract_invoice_id +ian +[0-9T:.Z-]+$" out &&
    autodev candidates list --status validated --agent ian --json >out &&
    test "$(json_get "len(j)" <out)" = 1 &&
    test "$(json_get "j[0][\"skill_name\"]" <out)" = extract_invoice_id &&
    test "$(json_get "\"generated_code\" in j[0]" <out)" = false &&
    test "$(autodev candidates list --status failed | wc -l)" = 0 &&
    test "$(autodev candidates list --agent sue | wc -l)" = 0
'

test_expect_success 'candidates show prints the pattern, each check and the code' '
    id=$(autodev candidates list --json | json_get "j[0][\"id\"]") &&
    autodev candidates show "$id" >out &&
    grep -Eq "^skill +extract_invoice_id$" out &&
    grep -Eq "^description +Extract the invoice id from a text\.$" out &&
    grep -Eq "^status +validated$" out &&
    grep -Eq "^agent +ian$" out &&
    grep -Eq "^  task +extract the invoice id from the email$" out &&
    grep -Eq "^  error type +ValueError$" out &&
    grep -Eq "^  episodes +[0-9a-f-]{36}, [0-9a-f-]{36}$" out &&
    grep -Eq "^validation: passed 3 of 3 checks$" out &&
    test "$(grep -Ec "^  ok +(load|example [12])$" out)" = 3 &&
    grep -Eq "^    def extract_invoice_id\(text: str\) -> str:$" out &&
    autodev candidates show "$id" --json >j &&
    test "$(json_get "j[\"validation_result\"][\"passed\"]" <j)" = 3 &&
    test "$(json_get "len(j[\"failure_pattern\"][\"episode_ids\"])" <j)" = 2 &&
    json_get "j[\"generated_code\"]" <j | grep -q "^def extract_invoice_id"
'

test_expect_success 'candidates test runs the code in the sandbox; a raise exits 1' '
    id=$(autodev candidates list --json | json_get "j[0][\"id\"]") &&
    autodev candidates test "$id" --input "{\"text\": \"pay INV-7 now\"}" >out &&
    grep -Eq "^status +ok \([0-9]+ ms\)$" out &&
    grep -Eq "^output +\"INV-7\"$" out &&
    echo "{\"text\": \"nothing here\"}" >in.json &&
    test_expect_code 1 autodev candidates test "$id" --input-file in.json >out 2>err &&
    grep -Eq "^status +error" out &&
    grep -q "ValueError: no invoice id in text" out &&
    test_one_error err "candidate $id failed: ValueError: no invoice id in text" &&
    autodev candidates test "$id" --input "{\"text\": \"INV-9\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = INV-9 &&
    test "$(json_get "j[\"success\"]" <out)" = true &&
    test "$(autodev candidates show "$id" --json | json_get "j[\"status\"]")" = validated
'

test_expect_success 'approve promotes a validated candidate into the catalog at 1.0.0' '
    id=$(autodev candidates list --json | json_get "j[0][\"id\"]") &&
    test_expect_code 2 autodev candidates regenerate "$id" 2>err &&
    test_one_error err "only a failed or rejected candidate can be regenerated" &&
    autodev candidates approve "$id" --reviewer rita >out &&
    grep -Eq "^promoted extract_invoice_id 1\.0\.0 \(skill [0-9a-f-]{36}\)$" out &&
    autodev candidates show "$id" --json >j &&
    test "$(json_get "j[\"status\"]" <j)" = promoted &&
    test "$(json_get "j[\"review_status\"]" <j)" = approved &&
    test "$(json_get "j[\"reviewed_by\"]" <j)" = rita &&
    test "$(json_get "j[\"promoted_at\"] is not None" <j)" = true &&
    autodev skill show extract_invoice_id --json >s &&
    test "$(json_get "j[\"version\"][\"origin\"]" <s)" = memento &&
    test "$(json_get "j[\"version\"][\"semver\"]" <s)" = 1.0.0 &&
    test_expect_code 2 autodev candidates approve "$id" 2>err &&
    test_one_error err "is promoted; only a validated candidate can be approved" &&
    test_expect_code 2 autodev candidates reject "$id" --reason late 2>err &&
    test_one_error err "already promoted"
'

test_expect_success 'a failing function fails validation; it cannot be approved, only rejected or regenerated' '
    fail ian "convert the celsius reading to fahrenheit" "{\"c\": 100}" 212 &&
    fail ian "convert the celsius reading to fahrenheit" "{\"c\": 0}" 32 &&
    AUTODEV_LLM="exec:$TRASH/model.sh" autodev jobs run --until-idle >/dev/null 2>&1 &&
    autodev candidates list --status failed --json >out &&
    test "$(json_get "len(j)" <out)" = 1 &&
    id=$(json_get "j[0][\"id\"]" <out) &&
    autodev candidates show "$id" >out &&
    grep -Eq "^status +failed$" out &&
    grep -Eq "^validation: example 1 failed: RuntimeError: not written yet$" out &&
    grep -Eq "^  failed +example 1$" out &&
    grep -q "RuntimeError: not written yet" out &&
    test_expect_code 2 autodev candidates approve "$id" 2>err &&
    test_one_error err "is failed; only a validated candidate can be approved" &&
    autodev candidates regenerate "$id" >out &&
    grep -Eq "^queued memento\.generate job [0-9a-f-]{36}; run it with: autodev jobs run$" out &&
    job=$(sed -n "s/^queued memento.generate job \([0-9a-f-]*\);.*/\1/p" out) &&
    autodev jobs list --status queued --json >jobs &&
    test "$(json_get "[x[\"id\"] for x in j]" <jobs)" = "[\"$job\"]" &&
    test "$(json_get "j[0][\"payload\"][\"previous\"][0][\"candidate_id\"]" <jobs)" = "$id" &&
    autodev candidates reject "$id" --reason "raises on every input" >out &&
    test "$(cat out)" = "rejected celsius_to_fahrenheit (candidate $id)" &&
    autodev candidates show "$id" >out &&
    grep -Eq "^status +rejected$" out &&
    grep -Eq "^reason +raises on every input$" out &&
    grep -Eq "^review +rejected by [^ ]+ at " out
'

# The review answered them: approving, rejecting and regenerating read them.
test_expect_success 'candidate notifications reach the reviewers, and their review reads them' '
    autodev notifications --type skill_candidate_validated >out &&
    grep -q "Skill candidate extract_invoice_id is ready for review" out &&
    test "$(autodev notifications --type skill_candidate_failed --json | json_get "len(j)")" = 1 &&
    test "$(autodev notifications --unread --type skill_candidate_validated --json | json_get "len(j)")" = 0 &&
    test "$(autodev notifications --unread --type skill_candidate_failed --json | json_get "len(j)")" = 0
'

test_done
