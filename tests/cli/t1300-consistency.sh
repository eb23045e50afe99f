#!/bin/sh
test_description='one way for every command: input files, lists, reals, headers, names, settings, completion, diagnostics, session transcripts'
. "$(dirname "$0")/test-lib.sh"

# A local command plays the model for agent run (no network, no key).
cat >model.sh <<'EOF'
#!/bin/sh
cat >/dev/null
printf 'The text has three words.'
EOF
chmod +x model.sh
cat >wc.py <<'EOF'
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
EOF
printf '%s\n' '{"input": {"text": "INV-1 due"}, "output": "INV-1"}' \
    '{"input": {"text": "see INV-22"}, "output": "INV-22"}' >ex.jsonl

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add bot >/dev/null &&
    autodev agent set-maturity bot INTERN >/dev/null &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    echo "{\"agent\": \"bot\", \"task_description\": \"t\", \"success\": true,
           \"execution_seconds\": 0.524, \"constitutional_score\": 0.3}" |
        autodev episode add >/dev/null &&
    autodev skill run word_count --agent bot --input "{\"text\": \"a b c\"}" >/dev/null &&
    autodev jobs enqueue store.check >/dev/null &&
    AUTODEV_LLM="exec:$TRASH/model.sh" autodev agent run bot "How many words in a b c?" \
        >/dev/null
'

# Every input file the user names: missing, or a directory, is exit 2 and one line.
test_expect_success 'a missing or unreadable input file is exit 2 in every command' '
    mkdir adir &&
    for f in missing.json adir; do
        test_expect_code 2 autodev episode add --file $f 2>err && test_one_error err "$f" &&
        test_expect_code 2 autodev episode add --batch --file $f 2>err &&
        test_one_error err "$f" &&
        test_expect_code 2 autodev skill add $f --name x --entry f 2>err &&
        test_one_error err "$f" &&
        test_expect_code 2 autodev skill add wc.py --name x --entry word_count --schema $f \
            2>err && test_one_error err "$f" &&
        test_expect_code 2 autodev skill run word_count --input-file $f 2>err &&
        test_one_error err "$f" &&
        test_expect_code 2 autodev task run --agent bot --description d --input-file $f \
            2>err && test_one_error err "$f" &&
        test_expect_code 2 autodev sandbox run --code $f --entry f 2>err &&
        test_one_error err "$f" &&
        test_expect_code 2 autodev edit apply --repo . --reply $f 2>err &&
        test_one_error err "$f" &&
        test_expect_code 2 autodev propose mutate $f 2>err && test_one_error err "$f" &&
        test_expect_code 2 autodev synth --examples $f 2>err && test_one_error err "$f" ||
        return 1
    done
'

test_expect_success 'every list prints one JSON array' '
    for cmd in "agent list" "episode list" "jobs list" "skill list" "skill search words" \
               "candidates list" "notifications" "notifications list" "agent sessions" \
               "llm usage" "events tail"; do
        autodev $cmd --json >out &&
        case $cmd in
        "events tail") test "$(json_get "type(j).__name__" <out 2>/dev/null)" != list ;;
        *) test "$(json_get "type(j).__name__" <out)" = list ;;
        esac || { echo "not an array: $cmd" >&2; return 1; }
    done &&
    test "$(autodev notifications --json | json_get "len(j) > 0")" = true
'

test_expect_success 'reals print in their shortest form that reads back the same' '
    autodev episode list --json >out &&
    grep -q "\"execution_seconds\":0.524," out &&
    grep -q "\"constitutional_score\":0.3," out &&
    ! grep -q 00000000000 out
'

# header PATTERN CMD...: the first line of CMD's text output matches PATTERN.
header() {
    pattern=$1
    shift
    autodev "$@" >out &&
    head -n1 out | grep -Eq "$pattern" || { echo "no header: $*" >&2; cat out >&2; return 1; }
}

test_expect_success 'every text listing opens with a header row' '
    header "^NAME +MATURITY +EPISODES +SUCCEEDED +FAILED$" agent list &&
    header "^ID +CREATED +OUTCOME +AGENT +KIND +TASK$" episode list &&
    header "^ID +STATUS +KIND +TRIES +UPDATED +NOTE$" jobs list &&
    header "^NAME +VERSION +STATUS +DESCRIPTION$" skill list &&
    header "^ +SCORE +NAME +VERSION +STATUS +DESCRIPTION$" skill search words &&
    header "^ID +CREATED +READ +TYPE +AGENT +TITLE$" notifications &&
    header "^ID +STATUS +TURNS +COST +UPDATED +AGENT +TASK$" agent sessions &&
    header "^KEY +VALUE$" settings list &&
    header "^PROVIDER +MODEL" llm usage
'

test_expect_success 'listings name agents and skills, not their ids' '
    agent_id=$(autodev agent show bot --json | json_get "j[\"id\"]") &&
    autodev agent sessions >out &&
    sed -n 2p out | grep -Eq "^[0-9a-f-]{36}  done +1 +\\\$[0-9.]+ +[0-9T:.Z-]+ +bot +How many words" &&
    ! grep -q "$agent_id" out &&
    autodev agent sessions --json | json_get "j[0][\"agent\"]" >name &&
    test "$(cat name)" = bot &&
    eid=$(autodev episode list --kind skill.word_count --json | json_get "j[0][\"id\"]") &&
    autodev episode show "$eid" >out &&
    grep -Eq "^skill +word_count 1\.0\.0 \([0-9a-f-]{36}\)$" out
'

test_expect_success 'agent sessions --show prints the transcript, as text and JSON' '
    sid=$(autodev agent sessions bot --json | json_get "j[0][\"id\"]") &&
    autodev agent sessions bot --show "$sid" >out &&
    grep -Eq "^session +$sid$" out &&
    grep -Eq "^agent +bot$" out &&
    grep -q "^user:$" out &&
    grep -q "^    How many words in a b c?$" out &&
    grep -q "^\[1\] assistant:$" out &&
    grep -q "^    The text has three words\.$" out &&
    autodev agent sessions --show "$sid" --json >j &&
    test "$(json_get "j[\"id\"]" <j)" = "$sid" &&
    grep -q "^user (self-check):$" out &&
    grep -q "^assistant (self-check):$" out &&
    test "$(json_get "[m[\"role\"] for m in j[\"transcript\"]]" <j)" = \
        "[\"system\", \"user\", \"assistant\", \"user\", \"assistant\"]" &&
    test "$(json_get "[bool(m.get(\"self_check\")) for m in j[\"transcript\"]]" <j)" = \
        "[false, false, false, true, true]" &&
    test "$(json_get "j[\"transcript\"][2][\"content\"]" <j)" = "The text has three words." &&
    test_expect_code 2 autodev agent sessions --show 00000000-0000-7000-8000-000000000000 \
        2>err && test_one_error err "unknown session" &&
    test_expect_code 2 autodev agent sessions --show nope 2>err &&
    test_one_error err "invalid session id" &&
    autodev agent add other >/dev/null &&
    test_expect_code 2 autodev agent sessions other --show "$sid" 2>err &&
    test_one_error err "not agent other"
'

test_expect_success 'settings get KEY and settings list' '
    test "$(autodev settings get reflection_window)" = 20 &&
    test "$(autodev settings get enabled)" = false &&
    autodev settings get enabled --json >j &&
    test "$(json_get "j[\"value\"]" <j)" = false &&
    test_expect_code 2 autodev settings get turbo 2>err &&
    test_one_error err "unknown setting .turbo. \(the settings are enabled, " &&
    test_expect_code 2 autodev settings get 2>err && test_one_error err "usage" &&
    autodev settings list >a && autodev settings show >b && test_cmp a b &&
    grep -Eq "^memento_synthesis +true$" a
'

test_expect_success 'bash completion comes from the command table' '
    autodev completion bash >comp.bash &&
    bash -c ". ./comp.bash
        COMP_WORDS=(autodev ag); COMP_CWORD=1; _autodev; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(autodev --home x agent se); COMP_CWORD=4; _autodev; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(autodev settings g); COMP_CWORD=2; _autodev; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(autodev episode list --fa); COMP_CWORD=3; _autodev; echo \"\${COMPREPLY[*]}\"
        complete -p autodev" >out &&
    printf "%s\n" agent "set-maturity sessions" get --failed \
        "complete -o default -F _autodev autodev" >expect &&
    test_cmp expect out &&
    env -u HOME "$AUTODEV_BIN" completion bash >/dev/null &&
    test_expect_code 2 autodev completion zsh 2>err && test_one_error err "usage"
'

test_expect_success 'diagnostics carry the prefix and honour --log-level and AUTODEV_LOG' '
    autodev synth --examples ex.jsonl >code.py 2>err &&
    test_one_error err "synthesized transform from 2 examples" &&
    autodev --log-level error synth --examples ex.jsonl >code.py 2>err &&
    test ! -s err &&
    AUTODEV_LOG=error autodev synth --examples ex.jsonl >code.py 2>err &&
    test ! -s err &&
    test_expect_code 2 autodev --log-level error agent show nobody 2>err &&
    test_one_error err "unknown agent"
'

test_done
