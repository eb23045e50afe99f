#!/bin/sh
test_description='a run input that does not fit the skill schema is refused before the sandbox'
. "$(dirname "$0")/test-lib.sh"

cat >wc.py <<'EOF'
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())
EOF
cat >wc2.py <<'EOF'
def word_count(text: str, sep: str = " ") -> int:
    """Count the words in a text."""
    return len(text.split(sep))
EOF

# executions: how many skill.execution events the tenant has.
executions() {
    autodev events tail --topic skill.execution --limit 10000 --json | grep -c . || :
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add bot >/dev/null &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null
'

test_expect_success 'skill run: a wrong field is exit 2 naming it; nothing runs or is recorded' '
    test_expect_code 2 autodev skill run word_count --input "{\"txt\": \"a b\"}" >out 2>err &&
    test_one_error err "input of skill word_count: unknown field .txt. \(expected text\)$" &&
    test ! -s out &&
    test "$(executions)" = 0 &&
    test_expect_code 2 autodev skill run word_count --input "{\"text\": 3}" 2>err &&
    test_one_error err "field .text.: expected string, got an integer$" &&
    test_expect_code 2 autodev skill run word_count 2>err &&
    test_one_error err "missing field .text.$" &&
    test "$(executions)" = 0 &&
    autodev skill run word_count --input "\"one two\"" >out &&
    grep -Eq "^output +2$" out &&
    autodev skill run word_count --input "{\"text\": \"one two three\"}" >out &&
    grep -Eq "^output +3$" out &&
    test "$(executions)" = 2
'

test_expect_success 'skill run --agent and task run --skill: exit 2, no episode' '
    test_expect_code 2 autodev skill run word_count --agent bot --input "{\"txt\": 1}" 2>err &&
    test_one_error err "unknown field .txt." &&
    test_expect_code 2 autodev task run --agent bot --skill word_count --description d \
        --input "{\"txt\": 1}" 2>err &&
    test_one_error err "unknown field .txt." &&
    test "$(episode_count)" = 0
'

test_expect_success 'a matched skill that does not take the input does not match the task' '
    test_expect_code 1 autodev task run --agent bot --description "count the words" \
        --input "{\"txt\": \"a b\"}" >out 2>err &&
    grep -q "^skill     no matching skill$" out &&
    grep -q "NoSkillError: no catalog skill matches the task .count the words.; the best match, word_count, does not take this input: unknown field .txt. (expected text)" out &&
    test "$(episode_count)" = 1 &&
    autodev task run --agent bot --description "count the words" \
        --input "{\"text\": \"a b\"}" --expect 2 >out &&
    grep -q "^skill     word_count 1.0.0 (matched" out
'

test_expect_success 'each version is checked against its own signature' '
    autodev skill add wc2.py --name word_count --entry word_count >/dev/null &&
    autodev skill run word_count --input "{\"text\": \"a,b\", \"sep\": \",\"}" >out &&
    grep -Eq "^output +2$" out &&
    test_expect_code 2 autodev skill run word_count --version 1.0.0 \
        --input "{\"text\": \"a,b\", \"sep\": \",\"}" 2>err &&
    test_one_error err "unknown field .sep. \(expected text\)$"
'

test_done
