#!/bin/sh
test_description='synth: a conditional where no single program fits, per-item maps joined back, the ambiguity of a split'
. "$(dirname "$0")/test-lib.sh"

# check_py FILE ENTRY INPUT WANT: calls ENTRY of module FILE on the JSON INPUT
# (an object as keyword arguments) and compares the result with the JSON WANT.
check_py() {
    /usr/bin/python3 -B -c 'import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("synthesized", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
fn = getattr(mod, sys.argv[2])
arg = json.loads(sys.argv[3])
got = fn(**arg) if isinstance(arg, dict) else fn(arg)
want = json.loads(sys.argv[4])
if got != want:
    sys.exit("%s(%s) returned %r, expected %r" % (sys.argv[2], sys.argv[3], got, want))' "$@"
}

test_expect_success 'setup' '
    cat >names.jsonl <<-\EOF &&
	{"input": "Smith, John", "output": "John Smith"}
	{"input": "N/A", "output": "N/A"}
	{"input": "Doe, Jane", "output": "Jane Doe"}
	EOF
    cat >probes.jsonl <<-\EOF &&
	"Lee, Ann"
	"n/a x"
	"Kim Park"
	EOF
    cat >initials.jsonl <<-\EOF &&
	{"input": "john ronald tolkien", "output": "J.R.T."}
	{"input": "ada lovelace", "output": "A.L."}
	EOF
    cat >two.jsonl <<-\EOF
	{"input": "Smith, John", "output": "John Smith"}
	{"input": "N/A", "output": "N/A"}
	EOF
'

test_expect_success '"N/A" passes through, the names are turned around' '
    autodev synth --examples names.jsonl --name flip >flip.py 2>err &&
    grep " if \",\" in text else text" flip.py &&
    check_py flip.py flip "\"Lee, Ann\"" "\"Ann Lee\"" &&
    check_py flip.py flip "\"unknown\"" "\"unknown\""
'

test_expect_success 'with probes, another test that splits the examples alike is reported' '
    autodev synth --examples names.jsonl --probes probes.jsonl --json >out.json &&
    /usr/bin/python3 -c "import json, sys
a = json.load(open(\"out.json\"))[\"ambiguity\"]
assert a and any(\" if \" in x for x in a[\"alternatives\"]), a"
'

test_expect_success 'two examples split one and one: no conditional is made' '
    test_expect_code 1 autodev synth --examples two.jsonl >none.py 2>err &&
    grep "no program fits" err
'

test_expect_success 'every word by its first letter, upper case, joined with dots' '
    autodev synth --examples initials.jsonl --name initials >initials.py 2>err &&
    grep "\.join(w\[:1\]\.upper() for w in text\.split(\" \"))" initials.py &&
    check_py initials.py initials "\"grace brewster murray hopper\"" "\"G.B.M.H.\""
'

test_done
