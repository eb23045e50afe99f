#!/bin/sh
test_description="agent run: an AUTODEV_LLM entry carries its own context window (window=N:); an escalated turn is budgeted by the strong tier window"
. "$(dirname "$0")/test-lib.sh"

# The loopback server of tests/llm/ plays the model (cases loop2_fast
# and loop2_strong of t2000); each test checks what a case got and the session.
. "$AUTODEV_SRC/tests/cli/llm-lib.sh"

# tiered FAST STRONG SPEC CMD...: the loop with the chain SPEC, fast tier on case FAST
# (openai), strong on case STRONG (anthropic).
tiered() {
    f=$1 s=$2 spec=$3
    shift 3
    OPENAI_BASE_URL=$base/$f/v1 ANTHROPIC_BASE_URL=$base/$s \
        ANTHROPIC_API_KEY=sk-ant-test-0123456789 AUTODEV_LLM="$spec" "$@"
}

test_expect_success 'setup: an agent and a skill that always fails' '
    autodev init >/dev/null &&
    autodev agent add bot --maturity SUPERVISED >/dev/null &&
    cat >flaky.py <<-\EOF &&
	def flaky() -> str:
	    """Fails."""
	    raise ValueError("flaky is down")
	EOF
    autodev skill add flaky.py --name flaky --entry flaky >/dev/null
'

test_expect_success 'a malformed window mark is refused, naming the entry' '
    AUTODEV_LLM="window=10:openai:gpt-4o-mini" test_expect_code 2 \
        autodev agent run bot "x" 2>err &&
    test_one_error err "invalid window mark in .window=10:openai:gpt-4o-mini. \\(want window=TOKENS:, 64 to 10000000\\)" &&
    AUTODEV_LLM="fast:window=big:openai:gpt-4o-mini" test_expect_code 2 \
        autodev agent run bot "x" 2>err &&
    test_one_error err "invalid window mark"
'

test_expect_success 'each tier its window: the fast turns are budgeted by 64 tokens, the escalated one by 200000' '
    reset_llm &&
    tiered loop2_fast loop2_strong \
        "fast:window=64:openai:gpt-4o-mini,window=200000:strong:anthropic:claude-sonnet-4-5" \
        autodev agent run bot "What is the answer?" >out &&
    case_ok loop2_fast 3 &&
    case_ok loop2_strong 1 &&
    grep -q "this turn goes to the strong tier" out &&
    grep -q "the answer is 42" out &&
    test "$(grep -c "^warning: the context holds about [0-9]* of 64 tokens" out)" = 2 &&
    ! grep -q "of 200000 tokens" out &&
    last_session >s.json &&
    test "$(json_get "j[\"state\"][\"context_window\"]" <s.json)" = 64 &&
    test "$(json_get "j[\"state\"][\"context_window_strong\"]" <s.json)" = 200000
'

test_expect_success 'without window marks each tier has the window of its model' '
    reset_llm &&
    tiered loop2_fast loop2_strong "fast:openai:gpt-4o-mini,strong:anthropic:claude-sonnet-4-5" \
        autodev agent run bot "What is the answer?" >out &&
    case_ok loop2_fast 3 &&
    last_session >s.json &&
    test "$(json_get "j[\"state\"][\"context_window\"]" <s.json)" = 128000 &&
    test "$(json_get "j[\"state\"][\"context_window_strong\"]" <s.json)" = 200000
'

test_expect_success '--context-window sets the window of every tier' '
    reset_llm &&
    tiered loop2_fast loop2_strong \
        "fast:window=64:openai:gpt-4o-mini,strong:window=200000:anthropic:claude-sonnet-4-5" \
        autodev agent run bot "What is the answer?" --context-window 90000 >out &&
    case_ok loop2_fast 3 &&
    ! grep -q "^warning: the context holds" out &&
    last_session >s.json &&
    test "$(json_get "j[\"state\"][\"context_window\"]" <s.json)" = 90000 &&
    test "$(json_get "j[\"state\"][\"context_window_strong\"]" <s.json)" = 90000
'

test_done
