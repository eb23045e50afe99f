#!/bin/sh
test_description='autodev skill: add, list, show, search, run, rollback, export, import'
. "$(dirname "$0")/test-lib.sh"

cat >wc.py <<'PY'
def word_count(text: str) -> int:
    """Count the words in a text."""
    if text == "boom":
        raise ValueError("cannot count boom")
    return len(text.split())
PY

# The second version: a different answer, so a run shows which code ran.
cat >wc2.py <<'PY'
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split()) + 100
PY

cat >rev.py <<'PY'
def reverse_text(text: str) -> str:
    return text[::-1]
PY

cat >stats.py <<'PY'
def text_stats(text: str) -> dict:
    """Statistics of a text: how many letters, and count of lines."""
    return {"letters": sum(c.isalpha() for c in text), "lines": text.count("\n") + 1}
PY

# skill_json NAME EXPR: EXPR over the JSON of 'autodev skill show NAME'.
skill_json() {
    autodev skill show "$1" --json | json_get "$2"
}

test_expect_success 'setup' '
    autodev init >/dev/null &&
    autodev agent add alice >/dev/null
'

test_expect_success 'skill add from a file prints the name, version and id' '
    autodev skill add wc.py --name word_count --entry word_count >out &&
    test_line_count out 1 &&
    grep -Eq "^added word_count 1\.0\.0 \([0-9a-f-]{36}\)$" out
'

test_expect_success 'skill add from standard input, with a description' '
    autodev skill add - --name reverse_text --entry reverse_text \
        --description "Reverse the characters of a text" <rev.py >out &&
    grep -q "^added reverse_text 1.0.0" out &&
    autodev skill add stats.py --name text_stats --entry text_stats --json >out &&
    test "$(json_get "j[\"skill\"][\"name\"]" <out)" = text_stats &&
    test "$(json_get "j[\"version\"][\"semver\"]" <out)" = 1.0.0 &&
    test "$(json_get "j[\"version\"][\"origin\"]" <out)" = manual
'

test_expect_success 'skill list shows each skill with version, status and description' '
    autodev skill list >out &&
    test_line_count out 4 &&
    head -n1 out | grep -Eq "^NAME +VERSION +STATUS +DESCRIPTION$" &&
    grep -Eq "^reverse_text +1\.0\.0 +active +Reverse the characters of a text$" out &&
    grep -Eq "^word_count +1\.0\.0 +active +Count the words in a text\.$" out &&
    autodev skill list --json >out &&
    json_get "[s[\"name\"] for s in j]" <out >names &&
    test "$(cat names)" = "[\"reverse_text\", \"text_stats\", \"word_count\"]" &&
    autodev skill list --limit 1 --json | json_get "len(j)" >n &&
    test "$(cat n)" = 1
'

test_expect_success 'skill show prints the fields, the derived schema, the versions and the code' '
    autodev skill show word_count >out &&
    grep -Eq "^name +word_count$" out &&
    grep -Eq "^entry +word_count$" out &&
    grep -Eq "^description +Count the words in a text\.$" out &&
    grep -q "\"text\"" out &&
    grep -Eq "^  \* 1\.0\.0 +manual" out &&
    grep -q "^code of 1.0.0:" out &&
    grep -q "^    def word_count(text: str) -> int:" out &&
    skill_json word_count "j[\"skill\"][\"input_schema\"][\"properties\"][\"text\"][\"type\"]" >t &&
    test "$(cat t)" = string &&
    skill_json word_count "j[\"version\"][\"code\"] == open(\"wc.py\").read()" >same &&
    test "$(cat same)" = true
'

test_expect_success 'skill search ranks a match in the name first' '
    autodev skill search count >out &&
    head -n1 out | grep -Eq "^ +SCORE +NAME +VERSION +STATUS +DESCRIPTION$" &&
    sed -n 2p out | grep -Eq "^ *[0-9.e+-]+ +word_count +1\.0\.0" &&
    grep -q text_stats out &&
    autodev skill search reverse --json >out &&
    test "$(json_get "j[0][\"name\"]" <out)" = reverse_text &&
    test "$(json_get "j[0][\"score\"] > 0" <out)" = true &&
    autodev skill search nothing matches this >out &&
    test ! -s out
'

test_expect_success 'skill run prints the status and the output' '
    autodev skill run word_count --input "{\"text\": \"one two three\"}" >out &&
    grep -Eq "^status +ok" out &&
    grep -Eq "^output +3$" out &&
    autodev skill run word_count --input "{\"text\": \"a b\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 2 &&
    test "$(json_get "j[\"success\"]" <out)" = true &&
    test "$(json_get "j[\"semver\"]" <out)" = 1.0.0 &&
    test "$(json_get "j[\"episode_id\"]" <out)" = null
'

test_expect_success 'skill run --input-file reads the input from a file' '
    echo "{\"text\": \"x y z w\"}" >in.json &&
    autodev skill run word_count --input-file in.json --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 4
'

test_expect_success 'a skill that raises: exit 1, the error shown, the execution recorded' '
    test_expect_code 1 autodev skill run word_count --input "{\"text\": \"boom\"}" \
        >out 2>err &&
    test_one_error err "skill .word_count. 1\.0\.0 failed: ValueError: cannot count boom" &&
    grep -Eq "^status +error" out &&
    grep -q "ValueError: cannot count boom" out &&
    test_expect_code 1 autodev skill run word_count --input "{\"text\": \"boom\"}" --json \
        >out 2>err &&
    test "$(json_get "j[\"status\"]" <out)" = error &&
    json_get "j[\"execution_id\"]" <out >xid &&
    autodev events tail --topic skill.execution --limit 100 --json >ev &&
    grep -q "$(cat xid)" ev &&
    /usr/bin/python3 -c "import json, sys
xid = open(\"xid\").read().strip()
evs = [json.loads(l) for l in open(\"ev\")]
p = [e[\"payload\"] for e in evs if e[\"payload\"][\"execution_id\"] == xid][0]
assert p[\"success\"] is False and p[\"skill\"] == \"word_count\", p
assert \"ValueError\" in p[\"error\"], p
assert p[\"episode_id\"] is None, p"
'

test_expect_success 'malformed input is a usage error naming the problem; nothing runs' '
    autodev events tail --topic skill.execution --limit 1000 --json | wc -l >before &&
    test_expect_code 2 autodev skill run word_count --input "{\"text\":" >out 2>err &&
    test_one_error err "--input: invalid json" &&
    test ! -s out &&
    test_expect_code 2 autodev skill run word_count --input 1 --input-file in.json 2>err &&
    test_one_error err "not both" &&
    test_expect_code 2 autodev skill run word_count --input-file missing.json 2>err &&
    test_one_error err "missing.json" &&
    autodev events tail --topic skill.execution --limit 1000 --json | wc -l >after &&
    test_cmp before after
'

test_expect_success 'skill run --agent records an episode of that agent' '
    test "$(episode_count)" = 0 &&
    autodev skill run word_count --agent alice --input "{\"text\": \"a b c\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 3 &&
    json_get "j[\"episode_id\"]" <out >epid &&
    autodev episode list --agent alice --json >eps &&
    test "$(json_get "len(j)" <eps)" = 1 &&
    test "$(json_get "j[0][\"id\"]" <eps)" = "$(cat epid)" &&
    test "$(json_get "j[0][\"task_kind\"]" <eps)" = skill.word_count &&
    test "$(json_get "j[0][\"success\"]" <eps)" = true &&
    test_expect_code 2 autodev skill run word_count --agent nobody --input "{\"text\": \"a\"}" \
        2>err &&
    test_one_error err "unknown agent .nobody."
'

test_expect_success 'a second version becomes current; show keeps the lineage' '
    autodev skill add wc2.py --name word_count --entry word_count >out &&
    grep -q "^added word_count 1.1.0" out &&
    autodev skill show word_count >out &&
    grep -Eq "^  \* 1\.1\.0 +manual .*parent 1\.0\.0$" out &&
    grep -Eq "^    1\.0\.0 +manual .*first version$" out &&
    autodev skill run word_count --input "{\"text\": \"a b\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 102 &&
    autodev skill show word_count --version 1.0.0 >out &&
    grep -q "^code of 1.0.0:" out &&
    grep -q "raise ValueError" out
'

test_expect_success 'rollback makes an old version current; the history stays' '
    autodev skill rollback word_count --to 1.0.0 >out &&
    test "$(cat out)" = "word_count: current version is now 1.0.0 (was 1.1.0)" &&
    skill_json word_count "[(v[\"semver\"], v[\"current\"]) for v in j[\"versions\"]]" >v &&
    test "$(cat v)" = "[[\"1.0.0\", true], [\"1.1.0\", false]]" &&
    autodev skill list | grep -Eq "^word_count +1\.0\.0 " &&
    autodev skill run word_count --input "{\"text\": \"a b\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 2 &&
    autodev skill run word_count --version 1.1.0 --input "{\"text\": \"a b\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 102
'

test_expect_success 'versions: --major, an explicit --version, and one that exists' '
    autodev skill add wc.py --name word_count --entry word_count --major >out &&
    grep -q "^added word_count 2.0.0" out &&
    skill_json word_count "{v[\"semver\"]: v[\"parent_semver\"] for v in j[\"versions\"]}" >p &&
    grep -q "\"2.0.0\": \"1.0.0\"" p &&
    autodev skill add wc.py --name word_count --entry word_count --version 2.0.5 >out &&
    grep -q "^added word_count 2.0.5" out &&
    test_expect_code 2 autodev skill add wc.py --name word_count --entry word_count \
        --version 1.1.0 2>err &&
    test_one_error err "already has version 1\.1\.0" &&
    test_expect_code 2 autodev skill add wc.py --name word_count --entry word_count \
        --version 3.0.0 --major 2>err &&
    test_one_error err "exclude each other" &&
    autodev skill rollback word_count --to 1.0.0 >/dev/null
'

test_expect_success 'skill add --schema takes an input schema and checks it' '
    cat >schema.json <<-\EOF &&
	{"type": "object", "required": ["text"],
	 "properties": {"text": {"type": "string", "maxLength": 100}}}
	EOF
    autodev skill add rev.py --name reverse_short --entry reverse_text --schema schema.json \
        --description "Reverse a short text" >/dev/null &&
    skill_json reverse_short "j[\"skill\"][\"input_schema\"][\"properties\"][\"text\"]" >t &&
    test "$(cat t)" = "{\"type\": \"string\", \"maxLength\": 100}" &&
    echo "[1, 2]" >bad-schema.json &&
    test_expect_code 2 autodev skill add rev.py --name reverse_bad --entry reverse_text \
        --schema bad-schema.json 2>err &&
    test_one_error err "--schema .bad-schema.json." &&
    echo "{\"type\":" >broken.json &&
    test_expect_code 2 autodev skill add rev.py --name reverse_bad --entry reverse_text \
        --schema broken.json 2>err &&
    test_one_error err "--schema .broken.json.: invalid json" &&
    test_expect_code 2 autodev skill show reverse_bad 2>err
'

test_expect_success 'export writes an Agent Skills folder named with -' '
    autodev skill export word_count exported >out &&
    test "$(cat out)" = exported/word-count &&
    test -f exported/word-count/SKILL.md &&
    test_cmp wc.py exported/word-count/scripts/word_count.py &&
    grep -q "^name: word-count" exported/word-count/SKILL.md &&
    test_expect_code 2 autodev skill export word_count exported 2>err &&
    test_one_error err "--force" &&
    autodev skill export word_count exported --force --version 1.1.0 >/dev/null &&
    test_cmp wc2.py exported/word-count/scripts/word_count.py &&
    autodev skill export word_count exported --force >/dev/null
'

test_expect_success 'import into a fresh home round-trips the skill' '
    autodev --home "$TRASH/h2" init >/dev/null &&
    autodev --home "$TRASH/h2" skill import exported/word-count >out &&
    grep -Eq "^imported word_count 1\.0\.0 \(" out &&
    autodev --home "$TRASH/h2" skill show word_count --json >imp &&
    test "$(json_get "j[\"version\"][\"code\"] == open(\"wc.py\").read()" <imp)" = true &&
    test "$(json_get "j[\"version\"][\"origin\"]" <imp)" = import &&
    test "$(json_get "j[\"skill\"][\"description\"]" <imp)" = "Count the words in a text." &&
    test "$(json_get "j[\"skill\"][\"entry_function\"]" <imp)" = word_count &&
    autodev --home "$TRASH/h2" skill run word_count --input "{\"text\": \"p q\"}" --json >out &&
    test "$(json_get "j[\"output\"]" <out)" = 2 &&
    test_expect_code 2 autodev --home "$TRASH/h2" skill import exported/word-count 2>err &&
    test_one_error err "already has version 1\.0\.0"
'

test_expect_success 'import of a newer version of the bundle adds a version' '
    autodev skill export word_count newer --version 1.1.0 >/dev/null &&
    autodev --home "$TRASH/h2" skill import newer/word-count/ >out &&
    grep -q "^imported word_count 1.1.0" out &&
    autodev --home "$TRASH/h2" skill show word_count --json >imp &&
    test "$(json_get "[v[\"semver\"] for v in j[\"versions\"]]" <imp)" = "[\"1.0.0\", \"1.1.0\"]"
'

# bad_bundle DIR NAME DESCRIPTION: a bundle folder with that front matter.
bad_bundle() {
    mkdir -p "$1/scripts" &&
    cp wc.py "$1/scripts/word_count.py" &&
    {
        echo "---"
        echo "name: $2"
        [ -n "$3" ] && echo "description: $3"
        echo "metadata:"
        echo "  entry: word_count"
        echo "---"
        echo "Counts words."
    } >"$1/SKILL.md"
}

test_expect_success 'import of a bad SKILL.md fails clearly and adds nothing' '
    autodev --home "$TRASH/h3" init >/dev/null &&
    bad_bundle bad1/Word-Count Word-Count "Counts words" &&
    test_expect_code 2 autodev --home "$TRASH/h3" skill import bad1/Word-Count 2>err &&
    test_one_error err "cannot import .bad1/Word-Count.: .*Word-Count" &&
    bad_bundle bad2/word-count word-count "" &&
    test_expect_code 2 autodev --home "$TRASH/h3" skill import bad2/word-count 2>err &&
    test_one_error err "cannot import .bad2/word-count.: .*description" &&
    bad_bundle bad3/other-name word-count "Counts words" &&
    test_expect_code 2 autodev --home "$TRASH/h3" skill import bad3/other-name 2>err &&
    test_one_error err "cannot import .bad3/other-name.: .*word-count.*other-name" &&
    test_expect_code 2 autodev --home "$TRASH/h3" skill import nowhere 2>err &&
    test_one_error err "cannot import .nowhere." &&
    autodev --home "$TRASH/h3" skill list >out &&
    test ! -s out
'

test_expect_success 'bad names, unknown skills and missing options exit 2 with one line' '
    test_expect_code 2 autodev skill add wc.py --name Word_Count --entry word_count 2>err &&
    test_one_error err "invalid skill name .Word_Count." &&
    test_expect_code 2 autodev skill add wc.py --name word__count --entry word_count 2>err &&
    test_one_error err "invalid skill name .word__count." &&
    test_expect_code 2 autodev skill add wc.py --entry word_count 2>err &&
    test_one_error err "needs --name" &&
    test_expect_code 2 autodev skill add wc.py --name wc 2>err &&
    test_one_error err "needs --entry" &&
    test_expect_code 2 autodev skill add --name wc --entry word_count 2>err &&
    test_one_error err "usage: autodev skill add" &&
    test_expect_code 2 autodev skill add wc.py --name wc --entry nope 2>err &&
    test_one_error err "nope" &&
    test_expect_code 2 autodev skill add missing.py --name wc --entry word_count 2>err &&
    test_one_error err "cannot open .missing.py." &&
    test_expect_code 2 autodev skill add wc.py --name wc --entry word_count --version 1.0 2>err &&
    test_one_error err "invalid --version .1\.0." &&
    test_expect_code 2 autodev skill show nosuch 2>err &&
    test_one_error err "unknown skill .nosuch." &&
    test_expect_code 2 autodev skill show word_count --version 9.9.9 2>err &&
    test_one_error err "9\.9\.9" &&
    test_expect_code 2 autodev skill run nosuch --input 1 2>err &&
    test_one_error err "unknown skill .nosuch." &&
    test_expect_code 2 autodev skill run Bad 2>err &&
    test_one_error err "invalid skill name .Bad." &&
    test_expect_code 2 autodev skill rollback word_count 2>err &&
    test_one_error err "needs --to" &&
    test_expect_code 2 autodev skill rollback word_count --to 7.0.0 2>err &&
    test_one_error err "7\.0\.0" &&
    test_expect_code 2 autodev skill export nosuch out 2>err &&
    test_one_error err "unknown skill .nosuch." &&
    test_expect_code 2 autodev skill search 2>err &&
    test_one_error err "usage: autodev skill search" &&
    test_expect_code 2 autodev skill run word_count --timeout 0 2>err &&
    test_one_error err "--timeout" &&
    test_expect_code 2 autodev skill fly 2>err &&
    test_one_error err "unknown skill subcommand .fly." &&
    test "$(autodev skill list | wc -l)" = 5
'

test_expect_success 'skill --help documents every subcommand' '
    autodev skill --help >out &&
    for s in add list show run rollback search export import; do
        grep -q "autodev skill $s" out || { echo "no $s"; exit 1; }
    done &&
    autodev skill run --help >out2 &&
    test_cmp out out2
'

test_expect_success 'export gives a skill without a description one the format accepts' '
    printf "def bare(x: int) -> int:\n    return x + 1\n" >bare.py &&
    autodev skill add bare.py --name bare_inc --entry bare >/dev/null &&
    autodev skill export bare_inc bundles >out &&
    grep -q "^description: \"The bare_inc skill: calls bare.\"$" bundles/bare-inc/SKILL.md &&
    autodev --home "$TRASH/other" init >/dev/null &&
    autodev --home "$TRASH/other" skill import bundles/bare-inc >out &&
    autodev --home "$TRASH/other" skill run bare_inc --input "{\"x\": 41}" --json >out &&
    grep -q "42" out
'

test_done
