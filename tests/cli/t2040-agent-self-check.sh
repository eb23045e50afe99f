#!/bin/sh
test_description='agent run: done means checked by default (one self-check turn), --no-self-check, AUTODEV_AGENT_SELF_CHECK'
. "$(dirname "$0")/test-lib.sh"

# The loopback server of tests/llm/ plays the model (cases selfcheck_*);
# each test checks how many requests a case got and what they held.
. "$AUTODEV_SRC/tests/cli/llm-lib.sh"

# The newest episode, as JSON.
last_episode() {
    autodev episode list --limit 1 --json | json_get 'j[0]["id"]' >"$TRASH/eid" &&
    autodev episode show "$(cat "$TRASH/eid")" --json
}

test_expect_success 'setup: an agent and a skill' '
    autodev init >/dev/null &&
    autodev agent add bot --maturity SUPERVISED >/dev/null &&
    cat >wc.py <<-\EOF &&
	def word_count(text: str) -> int:
	    """Count the words in a text."""
	    return len(text.split())
	EOF
    autodev skill add wc.py --name word_count --entry word_count >/dev/null
'

test_expect_success 'by default an answer gets one self-check turn; the episode has the confidence' '
    reset_llm &&
    with_case selfcheck_default autodev agent run bot "How many words are in '\''a b c'\''?" >out &&
    case_ok selfcheck_default 2 &&
    request selfcheck_default 1 >req.json &&
    json_get "j[\"messages\"][3][\"content\"]" <req.json >prompt &&
    grep -q "^Self-check before the run ends. Compare your final answer with the task\." prompt &&
    grep -q "^self-check passed (confidence 0.70): three words$" out &&
    grep -q "^done: succeeded, answer after 1 turn, 220 tokens" out &&
    last_episode >ep.json &&
    test "$(json_get "j[\"context\"][\"confidence\"]" <ep.json)" = 0.7 &&
    test "$(json_get "j[\"context\"][\"self_check\"][\"pass\"]" <ep.json)" = true &&
    last_session >s.json &&
    test "$(json_get "j[\"state\"][\"self_check\"]" <s.json)" = true &&
    test "$(json_get "len(j[\"state\"][\"self_checks\"])" <s.json)" = 1
'

test_expect_success '--no-self-check: no self-check turn, no confidence' '
    reset_llm &&
    with_case selfcheck_default autodev agent run bot "How many words are in '\''a b c'\''?" \
        --no-self-check >out &&
    case_ok selfcheck_default 1 &&
    ! grep -q "self-check" out &&
    grep -q "^done: succeeded, answer after 1 turn, 110 tokens" out &&
    last_episode >ep.json &&
    test "$(json_get "\"confidence\" in j[\"context\"]" <ep.json)" = false &&
    last_session >s.json &&
    test "$(json_get "j[\"state\"][\"self_check\"]" <s.json)" = false
'

test_expect_success 'AUTODEV_AGENT_SELF_CHECK=off turns it off; --self-check turns it back on' '
    reset_llm &&
    AUTODEV_AGENT_SELF_CHECK=off with_case selfcheck_default autodev agent run bot \
        "How many words are in '\''a b c'\''?" >out &&
    case_ok selfcheck_default 1 &&
    ! grep -q "self-check" out &&
    reset_llm &&
    AUTODEV_AGENT_SELF_CHECK=OFF with_case selfcheck_default autodev agent run bot \
        "How many words are in '\''a b c'\''?" --self-check >out &&
    case_ok selfcheck_default 2 &&
    grep -q "^self-check passed" out &&
    reset_llm &&
    AUTODEV_AGENT_SELF_CHECK=on with_case selfcheck_default autodev agent run bot \
        "How many words are in '\''a b c'\''?" >out &&
    case_ok selfcheck_default 2
'

test_expect_success 'a bad AUTODEV_AGENT_SELF_CHECK, or --expect without the check, is exit 2' '
    before=$(episode_count) &&
    AUTODEV_AGENT_SELF_CHECK=maybe test_expect_code 2 autodev agent run bot "x" 2>err &&
    test_one_error err "invalid AUTODEV_AGENT_SELF_CHECK=.maybe.: want on or off" &&
    test_expect_code 2 autodev agent run bot "x" --no-self-check --expect 3 2>err &&
    test_one_error err "--expect is for the self-check: not with --no-self-check" &&
    AUTODEV_AGENT_SELF_CHECK=off test_expect_code 2 autodev agent run bot "x" --expect 3 \
        2>err &&
    test_one_error err "AUTODEV_AGENT_SELF_CHECK turns off" &&
    test "$(episode_count)" = "$before"
'

test_expect_success 'a run that opted out keeps it on resume' '
    reset_llm &&
    test_expect_code 1 with_case selfcheck_resume autodev agent run bot "Count a b c." \
        --no-self-check --max-turns 1 >out &&
    grep -q "^done: failed, max_turns after 1 turn" out &&
    sed -n "s/^session //p" out >sid &&
    with_case selfcheck_resume autodev agent run bot --resume "$(cat sid)" --max-turns 2 >out &&
    case_ok selfcheck_resume 2 &&
    ! grep -q "self-check" out &&
    grep -q "^done: succeeded, answer after 2 turns" out
'

test_expect_success 'a self-check reply with no verdict leaves the answer standing, unchecked' '
    cat >model.sh <<-\EOF &&
	#!/bin/sh
	cat >/dev/null
	printf "Three words, I am sure."
	EOF
    chmod +x model.sh &&
    AUTODEV_LLM="exec:$TRASH/model.sh" autodev agent run bot "How many words in a b c?" >out &&
    grep -q "^warning: the self-check reply held no verdict" out &&
    grep -q "^done: succeeded, answer after 1 turn" out &&
    last_episode >ep.json &&
    test "$(json_get "j[\"success\"]" <ep.json)" = true &&
    test "$(json_get "j[\"context\"][\"confidence\"]" <ep.json)" = null &&
    test "$(json_get "j[\"context\"][\"self_check\"][\"error\"]" <ep.json)" = \
        "the self-check reply held no verdict"
'

test_done
