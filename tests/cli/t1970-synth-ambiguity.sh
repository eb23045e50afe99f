#!/bin/sh
test_description='synth: ambiguity said out loud (alternatives, a distinguishing input, answers)'
. "$(dirname "$0")/test-lib.sh"

# jq-free field access: prints the Python value of the expression E over the JSON on stdin.
pyget() {
    /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
print(json.dumps(eval(sys.argv[1], {"d": d})))' "$1"
}

test_expect_success 'setup' '
    cat >names.jsonl <<-\EOF &&
	{"input": "John Smith", "output": "John"}
	{"input": "Mary Jones", "output": "Mary"}
	EOF
    cat >names-probes.jsonl <<-\EOF &&
	"Bob Stone"
	"Ann-Marie Lee"
	EOF
    cat >totals.jsonl <<-\EOF &&
	{"input": {"price": 10, "qty": 3}, "output": 30}
	{"input": {"price": 2.5, "qty": 4}, "output": 10}
	{"input": {"price": 7, "qty": 5}, "output": 35}
	EOF
    cat >totals-probes.jsonl <<-\EOF
	{"price": 1, "qty": 9}
	{"price": 0.5, "qty": 2}
	EOF
'

test_expect_success 'an ambiguous set: --json gives the alternatives, the input and the answers' '
    autodev synth --examples names.jsonl --probes names-probes.jsonl --json >out.json &&
    test "$(pyget "d[\"found\"]" <out.json)" = true &&
    test "$(pyget "d[\"ambiguity\"][\"input\"]" <out.json)" = "\"Ann-Marie Lee\"" &&
    test "$(pyget "d[\"ambiguity\"][\"answer\"]" <out.json)" = "\"Ann\"" &&
    test "$(pyget "d[\"ambiguity\"][\"program\"] == d[\"summary\"]" <out.json)" = true &&
    test "$(pyget "d[\"ambiguity\"][\"from\"]" <out.json)" = "\"probe\"" &&
    test "$(pyget "len(d[\"ambiguity\"][\"alternatives\"]) == len(d[\"ambiguity\"][\"answers\"]) > 0" <out.json)" = true &&
    test "$(pyget "\"text.split(\\\" \\\")[0]\" in d[\"ambiguity\"][\"alternatives\"]" <out.json)" = true &&
    test "$(pyget "\"Ann-Marie\" in d[\"ambiguity\"][\"answers\"]" <out.json)" = true
'

test_expect_success 'text mode says it on standard error, the module alone on standard output' '
    autodev synth --examples names.jsonl --probes names-probes.jsonl >mod.py 2>err &&
    grep "ambiguous: .* fit.* the examples as well" err &&
    grep "on input \"Ann-Marie Lee\" it answers \"Ann-Marie\"" err &&
    ! grep ambiguous mod.py
'

test_expect_success 'a set the probes cannot split reports no ambiguity' '
    autodev synth --examples totals.jsonl --probes totals-probes.jsonl --json >out.json &&
    test "$(pyget "d[\"found\"]" <out.json)" = true &&
    test "$(pyget "d[\"ambiguity\"]" <out.json)" = null &&
    autodev synth --examples totals.jsonl --probes totals-probes.jsonl >mod.py 2>err &&
    ! grep ambiguous err
'

test_expect_success '--refuse-ties: no program where the examples cannot decide, the ambiguity kept' '
    cat >digit.jsonl <<-\EOF &&
	{"input": {"a": "x1", "b": "1"}, "output": true}
	{"input": {"a": "yz", "b": "q"}, "output": false}
	EOF
    printf "%s\n" "{\"a\": \"abc\", \"b\": \"bc\"}" >digit-probes.jsonl &&
    test_expect_code 1 autodev synth --examples digit.jsonl --probes digit-probes.jsonl \
        --refuse-ties --json >out.json &&
    test "$(pyget "d[\"found\"]" <out.json)" = false &&
    grep "cannot decide" out.json &&
    test "$(pyget "d[\"ambiguity\"][\"input\"]" <out.json)" = "{\"a\": \"abc\", \"b\": \"bc\"}" &&
    autodev synth --examples digit.jsonl --probes digit-probes.jsonl --json >out2.json &&
    test "$(pyget "d[\"found\"]" <out2.json)" = true
'

test_expect_success 'a bad probes line is named' '
    printf "%s\n" "\"ok\"" "{not json" >bad.jsonl &&
    test_expect_code 2 autodev synth --examples names.jsonl --probes bad.jsonl 2>err &&
    grep "bad.jsonl:2: not JSON" err
'

test_done
