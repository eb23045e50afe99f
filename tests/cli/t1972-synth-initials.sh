#!/bin/sh
test_description='synth: initials of capitalised words, of a value or a split part, and a first letter'
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
    cat >places.jsonl <<-\EOF &&
	{"input": {"school": "University of Pennsylvania", "city": "Phialdelphia, PA, USA"}, "output": "Phialdelphia, PA, USA"}
	{"input": {"school": "UCLA", "city": "Los Angeles, CA"}, "output": "Los Angeles, CA, USA"}
	{"input": {"school": "Cornell University", "city": "Ithaca, New York, USA"}, "output": "Ithaca, NY, USA"}
	EOF
    cat >states.jsonl <<-\EOF &&
	{"input": "New York", "output": "NY"}
	{"input": "Salt Lake City", "output": "SLC"}
	{"input": "Iowa", "output": "I"}
	EOF
    cat >mail.jsonl <<-\EOF
	{"input": {"last": "brown", "first": "traci"}, "output": "tbrown_acme.com"}
	{"input": {"last": "thomas", "first": "linda"}, "output": "lthomas_acme.com"}
	{"input": {"last": "ward", "first": "jack"}, "output": "jward_acme.com"}
	EOF
'

test_expect_success 'a state name shortened to its initials inside a comma-separated field' '
    autodev synth --examples places.jsonl --name place >place.py 2>err &&
    grep "re.sub(r\"(\[A-Z\])\[a-z\]+ \*\", r\"\\\\1\"" place.py &&
    check_py place.py place "{\"school\": \"UConn\", \"city\": \"Storrs, Rhode Island\"}" \
        "\"Storrs, RI, USA\"" &&
    check_py place.py place "{\"school\": \"Rice\", \"city\": \"Houston, TX\"}" "\"Houston, TX, USA\""
'

test_expect_success 'the initials of a whole value' '
    autodev synth --examples states.jsonl --name abbrev >abbrev.py 2>err &&
    check_py abbrev.py abbrev "\"North Dakota\"" "\"ND\"" &&
    check_py abbrev.py abbrev "\"New Mexico\"" "\"NM\""
'

test_expect_success 'a first letter before a surname' '
    autodev synth --examples mail.jsonl --name mail >mail.py 2>err &&
    grep "first\[:1\]" mail.py &&
    check_py mail.py mail "{\"last\": \"chang\", \"first\": \"tom\"}" "\"tchang_acme.com\"" &&
    check_py mail.py mail "{\"last\": \"x\", \"first\": \"\"}" "\"x_acme.com\""
'

test_done
