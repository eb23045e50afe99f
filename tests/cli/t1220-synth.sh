#!/bin/sh
test_description='synth: a Python function from input/output examples'
. "$(dirname "$0")/test-lib.sh"

# check_py FILE ENTRY INPUT WANT: loads the module FILE with Python, calls
# ENTRY on the JSON INPUT as the sandbox harness would (an object as keyword
# arguments, anything else as the one argument) and compares the result
# with the JSON WANT (1 == 1.0, as the synthesizer compares).
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

# The first line of ENTRY's docstring in the module FILE.
docstring() {
    /usr/bin/python3 -B -c 'import importlib.util, sys
spec = importlib.util.spec_from_file_location("synthesized", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
print(getattr(mod, sys.argv[2]).__doc__.strip().splitlines()[0])' "$@"
}

test_expect_success 'setup' '
    cat >invoices.jsonl <<-\EOF &&
	{"input": {"text": "Hello,\nplease find attached invoice INV-2024-0042 for March.\nRegards, Ann"}, "output": "INV-2024-0042"}
	{"input": {"text": "Dear team, payment for INV-2023-1187 is overdue since 2023-11-30."}, "output": "INV-2023-1187"}
	EOF
    cat >totals.jsonl <<-\EOF &&
	{"input": {"price": 10, "qty": 3}, "output": 30}
	{"input": {"price": 2.5, "qty": 4}, "output": 10}
	{"input": {"price": 7, "qty": 0}, "output": 0}
	EOF
    cat >clash.jsonl <<-\EOF &&
	{"input": "a1", "output": "1"}
	{"input": "b2", "output": "2"}
	{"input": "b2", "output": "3"}
	EOF
    cat >nofit.jsonl <<-\EOF
	{"input": "apple", "output": "zebra"}
	{"input": "pear", "output": "x9"}
	{"input": "kiwi", "output": "moon"}
	EOF
'

# ---- help and usage ----------------------------------------------------------

test_expect_success 'synth --help prints the usage and exits 0' '
    autodev synth --help >out 2>err &&
    test ! -s err &&
    grep -q "^usage: autodev synth --examples FILE" out &&
    grep -q -- "--name N" out &&
    grep -q -- "--description TEXT" out &&
    autodev help synth >out2 &&
    test_cmp out out2
'

test_expect_success 'synth without --examples, or with an argument, exits 2' '
    test_expect_code 2 autodev synth >out 2>err &&
    test_one_error err "needs --examples FILE" &&
    test ! -s out &&
    test_expect_code 2 autodev synth invoices.jsonl 2>err &&
    test_one_error err "takes no arguments, got .invoices.jsonl." &&
    test_expect_code 2 autodev synth --examples 2>err &&
    test_one_error err "option .--examples. requires a value"
'

# ---- bad input: one line, exit 2, the line named -----------------------------

test_expect_success 'a malformed line is named by its number (blank lines count)' '
    printf "%s\n\n%s\n" "{\"input\": 1, \"output\": 2}" "{\"input\": 1, \"output\": }" >bad.jsonl &&
    test_expect_code 2 autodev synth --examples bad.jsonl >out 2>err &&
    test_one_error err "bad.jsonl:3: not JSON: " &&
    test ! -s out
'

test_expect_success 'a line of NUL bytes is not blank but an error' '
    printf "{\"input\": 1, \"output\": 2}\n\0\0\n" >nul.jsonl &&
    test_expect_code 2 autodev synth --examples nul.jsonl 2>err &&
    test_one_error err "nul.jsonl:2: not JSON: "
'

test_expect_success 'a line without output, or without input, is named' '
    printf "%s\n%s\n" "{\"input\": 1, \"output\": 2}" "{\"input\": 3}" >m.jsonl &&
    test_expect_code 2 autodev synth --examples m.jsonl >out 2>err &&
    test_one_error err "m.jsonl:2: missing field .output." &&
    test ! -s out &&
    echo "{\"output\": 3}" >m.jsonl &&
    test_expect_code 2 autodev synth --examples m.jsonl 2>err &&
    test_one_error err "m.jsonl:1: missing field .input."
'

test_expect_success 'a line that is not an object, or has another key, is named' '
    echo "[1, 2]" >a.jsonl &&
    test_expect_code 2 autodev synth --examples a.jsonl 2>err &&
    test_one_error err "a.jsonl:1: expected an object" &&
    echo "{\"input\": 1, \"output\": 2, \"ouptut\": 3}" >k.jsonl &&
    test_expect_code 2 autodev synth --examples k.jsonl 2>err &&
    test_one_error err "k.jsonl:1: unknown field .ouptut." &&
    echo "{\"input\": 1, \"output\": 2, \"input\": 3}" >d.jsonl &&
    test_expect_code 2 autodev synth --examples d.jsonl 2>err &&
    test_one_error err "d.jsonl:1: not JSON: duplicate"
'

test_expect_success 'an empty file, or one of blank lines, has no examples' '
    : >empty.jsonl &&
    test_expect_code 2 autodev synth --examples empty.jsonl >out 2>err &&
    test_one_error err "empty.jsonl: no examples" &&
    test ! -s out &&
    printf "\n  \n\t\n" >blank.jsonl &&
    test_expect_code 2 autodev synth --examples blank.jsonl 2>err &&
    test_one_error err "blank.jsonl: no examples"
'

test_expect_success 'a file that does not exist, or is a directory, exits 2' '
    test_expect_code 2 autodev synth --examples nope.jsonl >out 2>err &&
    test_one_error err "cannot open .nope.jsonl." &&
    test ! -s out &&
    mkdir dir &&
    test_expect_code 2 autodev synth --examples dir 2>err &&
    test_one_error err "dir.: it is a directory"
'

test_expect_success 'a file over 16 MiB is refused, from a file or standard input' '
    /usr/bin/python3 -c "import json, sys
sys.stdout.write(json.dumps({\"input\": \"x\" * (17 << 20), \"output\": \"x\"}) + \"\n\")" >big.jsonl &&
    test_expect_code 2 autodev synth --examples big.jsonl >out 2>err &&
    test_one_error err "big.jsonl: larger than 16 MiB" &&
    test ! -s out &&
    test_expect_code 2 autodev synth --examples - <big.jsonl 2>err &&
    test_one_error err "<stdin>: larger than 16 MiB"
'

test_expect_success 'more than 200 examples are refused, naming the line' '
    /usr/bin/python3 -c "import json
for i in range(201):
    print(json.dumps({\"input\": i, \"output\": i}))" >many.jsonl &&
    test_expect_code 2 autodev synth --examples many.jsonl 2>err &&
    test_one_error err "many.jsonl:201: more than 200 examples"
'

test_expect_success 'errors on standard input name it <stdin>' '
    printf "%s\n" "{\"input\": 1, \"output\": 2}" "nope" |
        test_expect_code 2 autodev synth --examples - 2>err &&
    test_one_error err "<stdin>:2: not JSON: "
'

test_expect_success 'synth needs no home and no database' '
    autodev synth --examples invoices.jsonl >/dev/null 2>&1
    test_expect_code 2 autodev synth --examples bad.jsonl 2>/dev/null &&
    test ! -e "$AUTODEV_HOME" &&
    (unset AUTODEV_HOME && autodev synth --examples invoices.jsonl >/dev/null 2>&1
     test ! -e "$HOME/.local/share/autodev")
'

# ---- synthesis (these need the real synthesizer) -----------------------------

test_expect_success 'an invoice id from e-mails: the code runs and generalises' '
    autodev synth --examples invoices.jsonl --name extract_invoice >inv.py 2>err &&
    test_one_error err "synthesized extract_invoice from 2 examples in [0-9.]+ ms: ." &&
    /usr/bin/python3 -B -m py_compile inv.py &&
    check_py inv.py extract_invoice \
        "{\"text\": \"Hi Bob, INV-2025-0007 is attached (order 5521). Thanks!\"}" \
        "\"INV-2025-0007\"" &&
    check_py inv.py extract_invoice \
        "{\"text\": \"Dear team, payment for INV-2023-1187 is overdue since 2023-11-30.\"}" \
        "\"INV-2023-1187\""
'

test_expect_success 'the function is named transform by default; --description is its docstring' '
    autodev synth --examples invoices.jsonl --quiet >t.py &&
    check_py t.py transform "{\"text\": \"ref INV-1999-0001\"}" "\"INV-1999-0001\"" &&
    autodev synth --examples invoices.jsonl --name inv --quiet \
        --description "Find the invoice number of an e-mail." >d.py &&
    test "$(docstring d.py inv)" = "Find the invoice number of an e-mail."
'

test_expect_success 'numbers from two fields of JSON input' '
    autodev synth --examples totals.jsonl --name total --quiet >total.py &&
    check_py total.py total "{\"price\": 4, \"qty\": 5}" 20 &&
    check_py total.py total "{\"price\": 1.5, \"qty\": 2}" 3
'

test_expect_success '--quiet prints the same code and nothing on standard error' '
    autodev synth --examples invoices.jsonl >loud.py 2>loud.err &&
    autodev synth --examples invoices.jsonl --quiet >quiet.py 2>quiet.err &&
    test_cmp loud.py quiet.py &&
    test_line_count loud.err 1 &&
    test ! -s quiet.err
'

test_expect_success 'examples on standard input give the same code' '
    autodev synth --examples invoices.jsonl --quiet >file.py &&
    autodev synth --examples - --quiet <invoices.jsonl >stdin.py &&
    test_cmp file.py stdin.py
'

test_expect_success 'CRLF line ends give the same code' '
    sed "s/\$/\r/" invoices.jsonl >crlf.jsonl &&
    ! cmp -s invoices.jsonl crlf.jsonl &&
    autodev synth --examples invoices.jsonl --quiet >lf.py &&
    autodev synth --examples crlf.jsonl --quiet >crlf.py &&
    test_cmp lf.py crlf.py
'

test_expect_success '--json prints one object with the code and what was done' '
    autodev synth --examples invoices.jsonl --name extract_invoice --json >out 2>err &&
    test ! -s err &&
    test_line_count out 1 &&
    test "$(json_get "j[\"found\"]" <out)" = true &&
    test "$(json_get "j[\"entry\"]" <out)" = extract_invoice &&
    test "$(json_get "j[\"examples\"]" <out)" = 2 &&
    json_get "j[\"considered\"] >= 1 and isinstance(j[\"considered\"], int)" <out >v &&
    test "$(cat v)" = true &&
    json_get "isinstance(j[\"ms\"], (int, float)) and j[\"ms\"] >= 0" <out >v &&
    test "$(cat v)" = true &&
    json_get "len(j[\"summary\"]) > 0 and \"\\n\" not in j[\"summary\"]" <out >v &&
    test "$(cat v)" = true &&
    /usr/bin/python3 -c "import json, sys
c = json.load(sys.stdin)[\"code\"]
sys.stdout.write(c if c.endswith(\"\\n\") else c + \"\\n\")" <out >code.py &&
    autodev synth --examples invoices.jsonl --name extract_invoice --quiet >plain.py &&
    test_cmp plain.py code.py
'

test_expect_success 'equal inputs with different outputs: exit 1 naming both examples' '
    test_expect_code 1 autodev synth --examples clash.jsonl >out 2>err &&
    test ! -s out &&
    test_one_error err "no program fits: " &&
    grep -qw 2 err &&
    grep -qw 3 err &&
    test_expect_code 1 autodev synth --examples clash.jsonl --json >out 2>err &&
    test ! -s err &&
    test "$(json_get "j[\"found\"]" <out)" = false &&
    json_get "j[\"why\"]" <out >why &&
    grep -qw 2 why &&
    grep -qw 3 why
'

test_expect_success 'examples no program fits: exit 1, saying so' '
    test_expect_code 1 autodev synth --examples nofit.jsonl >out 2>err &&
    test ! -s out &&
    test_one_error err "no program fits: .+"
'

test_expect_success 'a --name that is not a Python identifier exits 2' '
    test_expect_code 2 autodev synth --examples invoices.jsonl --name 2bad-name >out 2>err &&
    test ! -s out &&
    test_one_error err "2bad-name" &&
    test_expect_code 2 autodev synth --examples invoices.jsonl --name "" 2>err &&
    test_line_count err 1
'

test_expect_success 'strings too long to search are said to be so, quickly' '
    /usr/bin/python3 -c "import json
for i in range(2):
    print(json.dumps({\"input\": {\"text\": \"word 123 \" * 40000 + \"INV-77%d\" % i},
                      \"output\": \"INV-77%d\" % i}))" >long.jsonl &&
    test_expect_code 1 autodev synth --examples long.jsonl >out 2>err &&
    test ! -s out &&
    test_one_error err "strings over 256 KiB are used whole, never searched"
'

# ---- issue 16: the module agrees with Python; the work is bounded ------------

# check_all FILE ENTRY EXAMPLES: every example of the JSON lines file holds in Python.
check_all() {
    while IFS= read -r line; do
        in=$(printf '%s' "$line" | json_get 'json.dumps(j["input"])') &&
        out=$(printf '%s' "$line" | json_get 'json.dumps(j["output"])') &&
        check_py "$1" "$2" "$in" "$out" || return 1
    done <"$3"
}

test_expect_success 'what PCRE2 called non-space (\x1c): no module that Python disagrees with' '
    cat >ws.jsonl <<-\EOF &&
	{"input": "ab\u001ccd ef", "output": "ab\u001ccd"}
	{"input": "x1\u001dy2z zz", "output": "x1\u001dy2z"}
	{"input": "q qq", "output": "q"}
	EOF
    if autodev synth --examples ws.jsonl --name f --no-check >ws.py 2>err
    then
        check_all ws.py f ws.jsonl
    else
        test_one_error err "no program fits: "
    fi
'

test_expect_success 'ints above 2**53 divide and average as in Python' '
    cat >div.jsonl <<-\EOF &&
	{"input": {"a": 9007199254740993, "b": 3}, "output": 3002399751580331.0}
	{"input": {"a": 10, "b": 4}, "output": 2.5}
	EOF
    autodev synth --examples div.jsonl --name f --quiet >div.py &&
    check_all div.py f div.jsonl &&
    cat >mean.jsonl <<-\EOF &&
	{"input": {"xs": [9007199254740993, 9007199254740993, 9007199254740993]}, "output": 9007199254740992.0}
	{"input": {"xs": [1, 2]}, "output": 1.5}
	EOF
    autodev synth --examples mean.jsonl --name f --quiet >mean.py &&
    check_all mean.py f mean.jsonl
'

test_expect_success 'upper() and title() beyond ASCII as Python does them' '
    cat >up.jsonl <<-\EOF &&
	{"input": {"name": "stra\u00dfe"}, "output": "STRASSE"}
	{"input": {"name": "\u00e9mile"}, "output": "\u00c9MILE"}
	EOF
    autodev synth --examples up.jsonl --name f --quiet >up.py &&
    check_all up.py f up.jsonl &&
    cat >ti.jsonl <<-\EOF &&
	{"input": {"name": "\u65e5\u672cabc def"}, "output": "\u65e5\u672cAbc Def"}
	{"input": {"name": "\u00e9lan vital"}, "output": "\u00c9lan Vital"}
	EOF
    autodev synth --examples ti.jsonl --name f --quiet >ti.py &&
    check_all ti.py f ti.jsonl
'

test_expect_success 'the module is run by Python before it is printed (--json: checks)' '
    autodev synth --examples invoices.jsonl --json >out &&
    test "$(json_get "j[\"checks\"]" <out)" = 1 &&
    json_get "isinstance(j[\"scanned\"], int) and j[\"scanned\"] > 0" <out >v &&
    test "$(cat v)" = true &&
    autodev synth --examples invoices.jsonl --json --no-check >out &&
    test "$(json_get "j[\"checks\"]" <out)" = 0
'

test_expect_success 'a Python that cannot run is an error naming it; --no-check needs none' '
    test_expect_code 1 autodev synth --examples invoices.jsonl --python /nonexistent/python3 \
        >out 2>err &&
    test ! -s out &&
    test_one_error err "cannot run ./nonexistent/python3." &&
    autodev synth --examples invoices.jsonl --python /nonexistent/python3 --no-check \
        --quiet >inv2.py &&
    check_all inv2.py transform invoices.jsonl &&
    test_expect_code 2 autodev synth --examples invoices.jsonl --python " " 2>err &&
    test_one_error err "--python needs a command"
'

test_expect_success 'synth --help states the budget' '
    autodev synth --help >help &&
    grep -q "at most 200000 candidate programs tried and 256" help &&
    grep -q "says budget reached" help &&
    grep -q -- "--no-check" help
'

test_expect_success 'two 250 KB e-mails: found, the bytes scanned a small multiple of theirs' '
    /usr/bin/python3 -c "import json
for i in range(2):
    body, k = [], 0
    while sum(map(len, body)) < 250 * 1024:
        body.append(\"Line %d of the thread, ref %d, QA%d notes. \" % (k, i * 100 + k, k))
        k += 1
    inv = \"INV-%d-%04d\" % (2020 + i, 17 * i + 3)
    print(json.dumps({\"input\": {\"text\": \"\".join(body) + \"\\nPlease pay %s by Friday.\\n\" % inv},
                      \"output\": inv}))" >huge.jsonl &&
    autodev synth --examples huge.jsonl --json >out &&
    test "$(json_get "j[\"found\"]" <out)" = true &&
    size=$(wc -c <huge.jsonl) &&
    json_get "j[\"scanned\"] <= 40 * $size" <out >v &&
    test "$(cat v)" = true
'

# ---- issue 16: Memento with failures too large to keep whole -----------------

# big_input N KB ID: a JSON object {"text": ...} of about KB KiB, the invoice id ID at its end.
big_input() {
    /usr/bin/python3 -c "import json, sys
n, kb, inv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body, k = [], 0
while sum(map(len, body)) < kb * 1024:
    body.append(\"Line %d of the thread, ref %d, QA%d notes. \" % (k, n * 100 + k, k))
    k += 1
print(json.dumps({\"text\": \"\".join(body) + \"\\nPlease pay %s by Friday.\\n\" % inv}))" "$@"
}

# fail_big AGENT N KB ID: the agent fails the invoice task on a KB KiB e-mail ending in ID.
fail_big() {
    big_input "$2" "$3" "$4" >"in$2.json" &&
    test_expect_code 1 autodev task run --agent "$1" \
        --description "Extract the invoice id from this long thread" \
        --input-file "in$2.json" --expect "\"$4\"" >/dev/null 2>&1
}

# pattern_of AGENT EXPR: EXPR over the failure pattern of the agent's newest candidate.
pattern_of() {
    autodev candidates list --agent "$1" --limit 1 --json | json_get "j[0][\"id\"]" >cid &&
    autodev candidates show "$(cat cid)" --json | json_get "$2"
}

test_expect_success 'memento: examples past what a pattern keeps are left out, and named' '
    autodev init >/dev/null &&
    autodev settings set enabled true >/dev/null &&
    autodev settings set max_skill_candidates_per_day 20 >/dev/null &&
    autodev agent add longmail --maturity INTERN >/dev/null &&
    fail_big longmail 1 60 INV-2024-0042 &&
    fail_big longmail 2 60 INV-2023-1187 &&
    autodev jobs run --until-idle 2>err &&
    autodev jobs list --kind memento.generate --json >jobs &&
    test "$(json_get "[x[\"status\"] for x in j]" <jobs)" = "[\"done\"]" &&
    test "$(pattern_of longmail "len(j[\"failure_pattern\"][\"examples\"])")" = 1 &&
    test "$(pattern_of longmail "len(j[\"failure_pattern\"][\"examples_clipped\"])")" = 1 &&
    pattern_of longmail "j[\"failure_pattern\"][\"examples_clipped\"][0][\"bytes\"] > 60000" >v &&
    test "$(cat v)" = true &&
    test "$(pattern_of longmail "j[\"status\"]")" = validated
'

test_expect_success 'memento: failures too large to keep fail the job at once, for good, saying why' '
    autodev agent add hugemail --maturity INTERN >/dev/null &&
    fail_big hugemail 3 200 INV-2024-0042 &&
    fail_big hugemail 4 200 INV-2023-1187 &&
    autodev jobs run --until-idle 2>err &&
    id=$(autodev agent show hugemail --json | json_get "j[\"id\"]") &&
    autodev jobs list --kind memento.generate --json >jobs &&
    json_get "[x for x in j if x[\"payload\"][\"agent_id\"] == \"$id\"][0]" <jobs >job &&
    test "$(json_get "j[\"status\"]" <job)" = failed &&
    test "$(json_get "j[\"attempts\"]" <job)" = 1 &&
    json_get "j[\"last_error\"]" <job >why &&
    grep -q "too large to keep" why
'

test_done
