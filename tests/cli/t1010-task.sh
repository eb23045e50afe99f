#!/bin/sh
test_description='autodev task run: named and matched skills, expectations, failures'
. "$(dirname "$0")/test-lib.sh"

cat >wc.py <<'PY'
def word_count(text: str) -> int:
    """Count the words in a text."""
    if text == "boom":
        raise ValueError("cannot count boom")
    return len(text.split())
PY

cat >add.py <<'PY'
def add_numbers(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b
PY

cat >slow.py <<'PY'
import time
def nap(seconds: float = 30) -> str:
    """Sleep a while."""
    time.sleep(seconds)
    return "awake"
PY

# event_count TOPIC: how many events of TOPIC the outbox holds.
event_count() {
    autodev events tail --topic "$1" --limit 10000 --json | wc -l
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add alice >/dev/null &&
    autodev skill add wc.py --name word_count --entry word_count >/dev/null &&
    autodev skill add add.py --name add_numbers --entry add_numbers >/dev/null &&
    autodev skill add slow.py --name nap --entry nap >/dev/null
'

test_expect_success 'task run --skill runs that skill and records a successful episode' '
    autodev task run --agent alice --description "how long is this sentence" \
        --skill word_count --input "{\"text\": \"one two three\"}" >out &&
    grep -Eq "^task +succeeded$" out &&
    grep -Eq "^skill +word_count 1\.0\.0$" out &&
    grep -Eq "^output +3$" out &&
    id=$(sed -n "s/^episode *//p" out) &&
    autodev episode show "$id" --json >ep &&
    test "$(json_get "j[\"success\"]" <ep)" = true &&
    test "$(json_get "j[\"output\"]" <ep)" = 3 &&
    test "$(json_get "j[\"input\"]" <ep)" = "{\"text\": \"one two three\"}" &&
    test "$(json_get "j[\"skill_version_id\"] is not None" <ep)" = true &&
    test "$(event_count task.success)" = 1 &&
    test "$(event_count skill.execution)" = 1
'

test_expect_success 'without --skill the description picks the skill' '
    autodev task run --agent alice --description "count the words of a text" \
        --input "{\"text\": \"a b c d\"}" --kind text.count >out &&
    grep -Eq "^skill +word_count 1\.0\.0 \(matched by description, score [0-9.e+-]+\)$" out &&
    grep -Eq "^output +4$" out &&
    autodev task run --agent alice --description "please add two numbers" \
        --input "{\"a\": 2, \"b\": 3}" --json >out &&
    test "$(json_get "j[\"skill\"]" <out)" = add_numbers &&
    test "$(json_get "j[\"matched\"]" <out)" = true &&
    test "$(json_get "j[\"match_score\"] > 0" <out)" = true &&
    test "$(json_get "j[\"output\"]" <out)" = 5 &&
    test "$(json_get "j[\"success\"]" <out)" = true &&
    test "$(episode_count --kind text.count)" = 1
'

test_expect_success 'no matching skill: a failed episode with a clear trace, exit 1' '
    test_expect_code 1 autodev task run --agent alice \
        --description "translate a poem into French" >out 2>err &&
    grep -Eq "^task +failed$" out &&
    grep -Eq "^skill +no matching skill$" out &&
    test_one_error err "task failed \(episode [0-9a-f-]{36} recorded\)" &&
    id=$(sed -n "s/^episode *//p" out) &&
    autodev episode show "$id" --json >ep &&
    test "$(json_get "j[\"success\"]" <ep)" = false &&
    json_get "j[\"error_trace\"]" <ep | grep -qi "skill" &&
    test "$(event_count task.fail)" = 1
'

test_expect_success '--expect: equal output succeeds, another output fails' '
    autodev task run --agent alice --description "count words" --skill word_count \
        --input "{\"text\": \"x y\"}" --expect 2 --json >out &&
    test "$(json_get "j[\"success\"]" <out)" = true &&
    test "$(json_get "j[\"expected\"]" <out)" = 2 &&
    autodev task run --agent alice --description "add" --skill add_numbers \
        --input "{\"a\": 1, \"b\": 1}" --expect 2.0 >/dev/null &&
    test_expect_code 1 autodev task run --agent alice --description "count words" \
        --skill word_count --input "{\"text\": \"x y\"}" --expect 3 >out 2>err &&
    grep -Eq "^task +failed$" out &&
    grep -Eq "^output +2$" out &&
    test_one_error err "task failed" &&
    id=$(sed -n "s/^episode *//p" out) &&
    autodev episode show "$id" --json >ep &&
    test "$(json_get "j[\"expected\"]" <ep)" = 3 &&
    test "$(json_get "j[\"output\"]" <ep)" = 2 &&
    test "$(json_get "j[\"success\"]" <ep)" = false
'

test_expect_success 'a skill that raises fails the task with the exception' '
    test_expect_code 1 autodev task run --agent alice --description "count" \
        --skill word_count --input "{\"text\": \"boom\"}" --json >out 2>err &&
    test "$(json_get "j[\"success\"]" <out)" = false &&
    test "$(json_get "j[\"status\"]" <out)" = error &&
    json_get "j[\"error\"]" <out | grep -q "ValueError: cannot count boom" &&
    test_one_error err "ValueError: cannot count boom"
'

test_expect_success '--timeout stops a slow skill' '
    test_expect_code 1 autodev task run --agent alice --description "nap" --skill nap \
        --timeout 1 >out 2>err &&
    grep -Eq "^status +timeout$" out &&
    test_one_error err "task failed"
'

test_expect_success 'bad input exits 2 and records nothing' '
    before=$(episode_count) &&
    test_expect_code 2 autodev task run --agent nobody --description "count" 2>err &&
    test_one_error err "unknown agent .nobody." &&
    test_expect_code 2 autodev task run --agent alice --description "count" \
        --skill nosuch 2>err &&
    test_one_error err "unknown skill .nosuch." &&
    test_expect_code 2 autodev task run --agent alice --description "count" \
        --skill Word_Count 2>err &&
    test_one_error err "invalid skill name .Word_Count." &&
    test_expect_code 2 autodev task run --agent alice --description "count" \
        --skill word__count 2>err &&
    test_one_error err "invalid skill name" &&
    test_expect_code 2 autodev task run --agent alice --description "count" \
        --input "{\"text\"" 2>err &&
    test_one_error err "--input: invalid json" &&
    test_expect_code 2 autodev task run --agent alice --description "count" --expect "[1," \
        2>err &&
    test_one_error err "--expect: invalid json" &&
    test_expect_code 2 autodev task run --description "count" 2>err &&
    test_one_error err "needs --agent" &&
    test_expect_code 2 autodev task run --agent alice 2>err &&
    test_one_error err "needs --description" &&
    test_expect_code 2 autodev task run --agent alice --description x --timeout 99999 2>err &&
    test_one_error err "--timeout" &&
    test_expect_code 2 autodev task run --agent alice --description x extra 2>err &&
    test_one_error err "unexpected argument .extra." &&
    test_expect_code 2 autodev task fly 2>err &&
    test_one_error err "unknown task subcommand .fly." &&
    test "$(episode_count)" = "$before"
'

test_expect_success 'task --help documents the exit status' '
    autodev task --help >out &&
    grep -q "^usage: autodev task run --agent NAME" out &&
    grep -q "nothing is recorded" out
'

test_done
